import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config.js';
import { DB, type Database } from '../db/db.module.js';
import { eventMetadata } from '../db/schema.js';
import { REDIS } from '../redis/redis.module.js';
import { buildEnvelope, type EventEnvelope, type PublishEventInput } from './event-envelope.js';
import { EventBusKeys } from './event-bus.keys.js';
import { EventBusTelemetry } from './event-bus.telemetry.js';
import { sanitizeError } from './event-errors.js';

/** The stream entry's only field: the whole envelope as JSON. */
export const EVENT_FIELD = 'event';

/**
 * Publishing order: XADD first, then the EventMetadata row. The stream is the source of truth for delivery:
 * if the metadata insert fails after XADD, the event is still delivered and the consumer creates the missing
 * row when it processes the event. If XADD fails, nothing was written and the caller gets the error.
 */
@Injectable()
export class EventPublisher {
  private readonly logger = new Logger(EventPublisher.name);

  constructor(
    private readonly keys: EventBusKeys,
    private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(DB) private readonly db: Database,
    private readonly telemetry: EventBusTelemetry,
  ) {}

  /**
   * Resolves when Redis answers a PING now, and fails like a publish would (the exception filter makes it a
   * 503) when it does not. For callers that must not commit a change they cannot announce: checking first turns
   * an outage into a refused change instead of a committed change with a lost event. Only Redis failing in the
   * moment between the check and the publish can still lose one (the caller logs it).
   */
  async ensureAvailable(): Promise<void> {
    await this.redis.ping();
  }

  async publish(input: PublishEventInput): Promise<EventEnvelope> {
    const [published] = await this.publishBatch([input]);
    return published!;
  }

  /** Validates every event first (all or nothing), then one pipeline of XADDs and one metadata insert. */
  async publishBatch(inputs: PublishEventInput[]): Promise<EventEnvelope[]> {
    if (inputs.length === 0) return [];
    const envelopes = inputs.map(buildEnvelope);
    const maxLen = String(this.config.env.EVENT_BUS_MAIN_MAXLEN);
    const pipeline = this.redis.pipeline();
    for (const envelope of envelopes) {
      pipeline.xadd(this.keys.main, 'MAXLEN', '~', maxLen, '*', EVENT_FIELD, JSON.stringify(envelope));
    }
    const results = await pipeline.exec();
    const streamIds: string[] = [];
    results?.forEach(([error, id], index) => {
      if (error) throw new Error(`XADD failed for event ${envelopes[index]!.id}: ${error.message}`);
      streamIds.push(id as string);
    });

    try {
      await this.db
        .insert(eventMetadata)
        .values(
          envelopes.map((envelope, index) => ({
            eventId: envelope.id,
            streamId: streamIds[index]!,
            type: envelope.type,
            source: envelope.source,
            tenantId: envelope.tenantId,
            correlationId: envelope.correlationId,
            replayOf: envelope.replayOf,
          })),
        )
        .onConflictDoNothing({ target: eventMetadata.eventId });
    } catch (error) {
      this.logger.warn(
        `EventMetadata insert failed after XADD for ${envelopes.length} event(s); the consumer will create the rows: ${sanitizeError(error).message}`,
      );
    }
    for (const envelope of envelopes) this.telemetry.published(envelope.type);
    return envelopes;
  }
}
