import { Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { and, eq, sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config.js';
import { DB, type Database } from '../db/db.module.js';
import { eventMetadata } from '../db/schema.js';
import { REDIS } from '../redis/redis.module.js';
import type { EventEnvelope } from './event-envelope.js';
import { CONSUMER_GROUP, EventBusKeys } from './event-bus.keys.js';
import { DELETE_FROM_DLQ, MOVE_TO_DLQ, REQUEUE_FROM_DLQ } from './event-bus.scripts.js';
import { EventBusTelemetry } from './event-bus.telemetry.js';
import { sanitizeError, type SanitizedError } from './event-errors.js';
import { fieldValue, parseEnvelope, toEntries, type StreamEntry } from './event-stream.js';

/** Entries read per XREVRANGE while looking for one workspace's DLQ entries. */
export const DLQ_SCAN_CHUNK = 200;
/**
 * At most this many DLQ entries are examined per list request, whatever the mix of workspaces in the DLQ; a
 * page can therefore hold fewer than `limit` items while `nextCursor` is still set.
 */
export const DLQ_MAX_SCANNED_PER_PAGE = 5000;
const OLDEST_STREAM_ID = '0-0';

export interface DeadLetter {
  streamId: string;
  eventId: string;
  tenantId: string;
  type: string;
  /** The main-stream entry's `event` field, kept verbatim. */
  eventJson: string;
  error: SanitizedError;
  attempts: number;
}

export interface DlqEntryView {
  eventId: string;
  dlqId: string;
  type: string;
  error: string;
  stack: string;
  attempts: number;
  movedAt: string;
  event: EventEnvelope;
}

export interface DlqPage {
  items: DlqEntryView[];
  /** Pass as `cursor` for the next (older) page; null when the DLQ has nothing older. */
  nextCursor: string | null;
}

/**
 * The dead-letter stream: events whose handlers kept failing. One stream for all workspaces; every admin
 * action checks the entry's tenant against the caller's workspace and answers 404 for anyone else's.
 */
@Injectable()
export class EventDlqService {
  private readonly logger = new Logger(EventDlqService.name);

  constructor(
    private readonly keys: EventBusKeys,
    private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(DB) private readonly db: Database,
    private readonly telemetry: EventBusTelemetry,
  ) {}

  /**
   * Appends each event to the DLQ and acknowledges it on the main stream (atomically per event). When the DLQ
   * is full its oldest entries are trimmed: logged and counted in `${prefix}:events:dlq:trimmed`.
   */
  async moveToDlq(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const keys = this.keys;
    const movedAt = new Date().toISOString();
    const pipeline = this.redis.pipeline();
    for (const letter of letters) {
      pipeline.eval(
        MOVE_TO_DLQ,
        5,
        keys.main,
        keys.dlq,
        keys.dlqIndex,
        keys.dlqTrimmed,
        keys.retry,
        CONSUMER_GROUP,
        letter.streamId,
        this.config.env.EVENT_BUS_DLQ_MAXLEN,
        letter.eventId,
        letter.tenantId,
        letter.type,
        letter.eventJson,
        letter.error.message,
        letter.error.stack,
        letter.attempts,
        movedAt,
      );
    }
    const results = (await pipeline.exec()) ?? [];
    let trimmed = 0;
    results.forEach(([error, reply], index) => {
      if (error) throw new Error(`Moving event ${letters[index]!.eventId} to the DLQ failed: ${error.message}`);
      trimmed += Number((reply as [string, number])[1]);
    });
    for (const letter of letters) {
      this.logger.warn(
        `Event ${letter.eventId} (${letter.type}) moved to the DLQ after ${letter.attempts} attempt(s): ${letter.error.message}`,
      );
    }
    if (trimmed > 0) {
      this.logger.error(
        `DLQ is full (EVENT_BUS_DLQ_MAXLEN=${this.config.env.EVENT_BUS_DLQ_MAXLEN}): trimmed its ${trimmed} oldest entr${trimmed === 1 ? 'y' : 'ies'}; ` +
          `those events can no longer be retried from the DLQ (EventMetadata keeps their status DLQ)`,
      );
    }
  }

  /** Newest first; scans at most DLQ_MAX_SCANNED_PER_PAGE entries per call. */
  async list(tenantId: string, limit: number, cursor?: string): Promise<DlqPage> {
    const items: DlqEntryView[] = [];
    // Nothing is older than the smallest id (and Redis rejects the exclusive range "(0-0").
    if (cursor === OLDEST_STREAM_ID) return { items, nextCursor: null };
    let end = cursor ? `(${cursor}` : '+';
    let scanned = 0;
    while (scanned < DLQ_MAX_SCANNED_PER_PAGE) {
      const count = Math.min(DLQ_SCAN_CHUNK, DLQ_MAX_SCANNED_PER_PAGE - scanned);
      const chunk = toEntries(await this.redis.call('XREVRANGE', this.keys.dlq, end, '-', 'COUNT', count));
      for (const entry of chunk) {
        scanned++;
        if (fieldValue(entry.fields, 'tenantId') !== tenantId) continue;
        const view = toView(entry);
        if (view) items.push(view);
        if (items.length === limit) return { items, nextCursor: entry.streamId };
      }
      if (chunk.length < count) return { items, nextCursor: null };
      end = `(${chunk[chunk.length - 1]!.streamId}`;
    }
    return { items, nextCursor: end.slice(1) };
  }

  /**
   * Re-publishes the event under its original id and correlation id (same envelope). Its metadata goes back to
   * PENDING with attempts 0 before the event is visible to consumers, so it gets a full set of attempts;
   * `completedHandlers` is kept, so handlers that already succeeded for it are not run again.
   */
  async retry(tenantId: string, eventId: string): Promise<{ eventId: string; streamId: string }> {
    const entry = await this.find(tenantId, eventId);
    const envelope = parseEnvelope(entry.fields);
    const eventJson = fieldValue(entry.fields, 'event');
    if (!envelope || eventJson === undefined) throw notFound(eventId);
    const previousAttempts = Number(fieldValue(entry.fields, 'attempts') ?? 0);
    const row = and(eq(eventMetadata.eventId, eventId), eq(eventMetadata.tenantId, tenantId));
    await this.db.update(eventMetadata).set({ status: 'PENDING', attempts: 0 }).where(row);

    let streamId: string | null;
    try {
      streamId = (await this.redis.eval(
        REQUEUE_FROM_DLQ,
        3,
        this.keys.main,
        this.keys.dlq,
        this.keys.dlqIndex,
        entry.streamId,
        eventId,
        this.config.env.EVENT_BUS_MAIN_MAXLEN,
        eventJson,
      )) as string | null;
    } catch (error) {
      await this.restoreDlqStatus(eventId, tenantId, previousAttempts);
      throw error;
    }
    if (!streamId) {
      // Someone retried or deleted it meanwhile. If it was deleted, the row must say DLQ again; if it was
      // retried, the consumer overwrites the status when it processes the event anyway.
      await this.restoreDlqStatus(eventId, tenantId, previousAttempts);
      throw notFound(eventId);
    }
    this.telemetry.published(envelope.type);
    this.logger.log(`Event ${eventId} (${envelope.type}) re-published from the DLQ as ${streamId}`);
    return { eventId, streamId };
  }

  /** Discards the DLQ entry; the EventMetadata row stays, with status DLQ, as the record of what happened. */
  async remove(tenantId: string, eventId: string): Promise<void> {
    const entry = await this.find(tenantId, eventId);
    const removed = Number(await this.redis.eval(DELETE_FROM_DLQ, 2, this.keys.dlq, this.keys.dlqIndex, entry.streamId, eventId));
    if (!removed) throw notFound(eventId);
    this.logger.log(`Event ${eventId} deleted from the DLQ`);
  }

  /** One HGET and one XRANGE of a single id: never a scan. */
  private async find(tenantId: string, eventId: string): Promise<StreamEntry> {
    const dlqId = await this.redis.hget(this.keys.dlqIndex, eventId);
    if (!dlqId) throw notFound(eventId);
    const [entry] = toEntries(await this.redis.call('XRANGE', this.keys.dlq, dlqId, dlqId));
    if (!entry || fieldValue(entry.fields, 'tenantId') !== tenantId) throw notFound(eventId);
    return entry;
  }

  private async restoreDlqStatus(eventId: string, tenantId: string, attempts: number): Promise<void> {
    await this.db
      .update(eventMetadata)
      .set({ status: 'DLQ', attempts })
      .where(and(eq(eventMetadata.eventId, eventId), eq(eventMetadata.tenantId, tenantId), sql`${eventMetadata.status} = 'PENDING'`))
      .catch((error: unknown) =>
        this.logger.warn(`Could not restore DLQ status of event ${eventId}: ${sanitizeError(error).message}`),
      );
  }
}

function toView(entry: StreamEntry): DlqEntryView | undefined {
  const event = parseEnvelope(entry.fields);
  if (!event) return undefined;
  return {
    eventId: event.id,
    dlqId: entry.streamId,
    type: event.type,
    error: fieldValue(entry.fields, 'error') ?? '',
    stack: fieldValue(entry.fields, 'stack') ?? '',
    attempts: Number(fieldValue(entry.fields, 'attempts') ?? 0),
    movedAt: fieldValue(entry.fields, 'movedAt') ?? '',
    event,
  };
}

function notFound(eventId: string): NotFoundException {
  return new NotFoundException(`Event ${eventId} is not in this workspace's DLQ`);
}
