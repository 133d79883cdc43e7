import { Inject, Injectable, Logger } from '@nestjs/common';
import { sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { AppConfig } from '../config/app-config.js';
import { DB, type Database } from '../db/db.module.js';
import { eventMetadata, type EventStatus } from '../db/schema.js';
import { REDIS } from '../redis/redis.module.js';
import type { EventEnvelope } from './event-envelope.js';
import { CONSUMER_GROUP, EventBusKeys } from './event-bus.keys.js';
import { EventBusTelemetry, type ProcessingOutcome } from './event-bus.telemetry.js';
import { EventDlqService, type DeadLetter } from './event-dlq.service.js';
import { MAX_ERROR_MESSAGE_LENGTH, sanitizeError, type SanitizedError } from './event-errors.js';
import { EventSubscriptions, type Subscription } from './event-subscriptions.js';
import { fieldValue, parseEnvelope, type StreamEntry } from './event-stream.js';
import { EVENT_FIELD } from './event-publisher.service.js';

/** Type label for telemetry of entries that hold no valid envelope. */
const MALFORMED_TYPE = 'unknown';

interface ParsedEntry {
  streamId: string;
  envelope: EventEnvelope;
  json: string;
}

interface MetadataState {
  attempts: number;
  completedHandlers: string[];
}

type Outcome = {
  entry: ParsedEntry;
  attempts: number;
  completedHandlers: string[];
  seconds: number;
} & ({ kind: 'success' } | { kind: 'retry'; error: SanitizedError; dueAt: number } | { kind: 'dead'; error: SanitizedError });

export interface ProcessResult {
  /** Earliest due time (ms) of a retry this batch scheduled, so the consumer wakes up for it. */
  earliestRetryAt?: number;
}

/** How a batch's last step ended; never a rejected promise, so it can wait unobserved. */
export type SettleOutcome = { ok: true; result: ProcessResult } | { ok: false; error: unknown };

export interface ProcessOptions {
  /**
   * Resets the idle time of entries still owned by this consumer. Called during a long batch so other
   * consumers do not take its not-yet-finished entries for abandoned ones (EVENT_BUS_CLAIM_IDLE_MS).
   */
  keepAlive?: (streamIds: string[]) => Promise<void>;
}

/** Keep-alive every CLAIM_IDLE_MS / KEEP_ALIVE_DIVISOR while a batch is being handled. */
const KEEP_ALIVE_DIVISOR = 3;

export interface HandledBatch {
  /** Resolves once the outcomes are recorded and the entries acknowledged, scheduled for retry or dead-lettered. */
  settled: Promise<SettleOutcome>;
}

const STATUS_OF: Record<Outcome['kind'], EventStatus> = { success: 'COMPLETED', retry: 'FAILED', dead: 'DLQ' };
const TELEMETRY_OF: Record<Outcome['kind'], ProcessingOutcome> = {
  success: 'success',
  retry: 'retried',
  dead: 'dead_lettered',
};

/**
 * Processes a batch of stream entries the consumer owns. The database work is batched: one upsert marks
 * the whole batch PROCESSING (creating rows the publisher could not write) and bumps attempts, one update
 * records every outcome, and one pipeline acknowledges the successes and schedules the retries. Handlers run
 * one event after the other, in stream order, each event's handlers in registration order.
 *
 * Order of effects per event: metadata outcome first, then Redis (XACK / retry / DLQ). A crash in between
 * leaves the entry pending, so it is redelivered; handlers recorded in completedHandlers are then skipped.
 *
 * `process` returns once the handlers have run; the recording step is returned as `settled`, so the consumer
 * can read and start the next batch while the outcomes are being committed (both are mostly waiting on
 * PostgreSQL's WAL flush).
 */
@Injectable()
export class EventProcessor {
  private readonly logger = new Logger(EventProcessor.name);

  constructor(
    private readonly keys: EventBusKeys,
    private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(DB) private readonly db: Database,
    private readonly subscriptions: EventSubscriptions,
    private readonly telemetry: EventBusTelemetry,
    private readonly dlq: EventDlqService,
  ) {}

  async process(entries: StreamEntry[], options: ProcessOptions = {}): Promise<HandledBatch> {
    const parsed: ParsedEntry[] = [];
    const malformed: StreamEntry[] = [];
    const deleted: string[] = [];
    for (const entry of entries) {
      if (entry.fields === null) {
        deleted.push(entry.streamId);
        continue;
      }
      const envelope = parseEnvelope(entry.fields);
      if (envelope) parsed.push({ streamId: entry.streamId, envelope, json: fieldValue(entry.fields, EVENT_FIELD)! });
      else malformed.push(entry);
    }
    if (deleted.length > 0) await this.dropDeleted(deleted);
    if (malformed.length > 0) await this.deadLetterMalformed(malformed);

    // An event id occurring twice must see the first occurrence's outcome: waves are settled one by one.
    const waves = distinctEventWaves(parsed);
    let earliestRetryAt: number | undefined;
    for (let i = 0; i < waves.length; i++) {
      const outcomes = await this.handleWave(waves[i]!, options);
      const finishing = this.finishWave(outcomes).then((dueAt) => {
        if (dueAt !== undefined && (earliestRetryAt === undefined || dueAt < earliestRetryAt)) earliestRetryAt = dueAt;
      });
      if (i < waves.length - 1) await finishing;
      else {
        const settled = finishing.then(
          (): SettleOutcome => ({ ok: true, result: { earliestRetryAt } }),
          (error: unknown): SettleOutcome => ({ ok: false, error }),
        );
        return { settled };
      }
    }
    return { settled: Promise.resolve({ ok: true, result: { earliestRetryAt } }) };
  }

  private async handleWave(entries: ParsedEntry[], { keepAlive }: ProcessOptions): Promise<Outcome[]> {
    const states = await this.markProcessing(entries);
    const outcomes: Outcome[] = [];
    const keepAliveMs = this.config.env.EVENT_BUS_CLAIM_IDLE_MS / KEEP_ALIVE_DIVISOR;
    let lastKeepAlive = performance.now();
    for (const entry of entries) {
      outcomes.push(await this.handle(entry, states.get(entry.envelope.id)!));
      if (keepAlive && performance.now() - lastKeepAlive > keepAliveMs) {
        await keepAlive(entries.map((e) => e.streamId));
        lastKeepAlive = performance.now();
      }
    }
    return outcomes;
  }

  private async finishWave(outcomes: Outcome[]): Promise<number | undefined> {
    await this.recordOutcomes(outcomes);
    await this.settle(outcomes);

    let earliestRetryAt: number | undefined;
    for (const outcome of outcomes) {
      this.telemetry.processed(outcome.entry.envelope.type, TELEMETRY_OF[outcome.kind], outcome.seconds);
      if (outcome.kind === 'retry') {
        if (earliestRetryAt === undefined || outcome.dueAt < earliestRetryAt) earliestRetryAt = outcome.dueAt;
        this.logger.warn(
          `Event ${outcome.entry.envelope.id} (${outcome.entry.envelope.type}) failed attempt ${outcome.attempts}; ` +
            `retrying in ${outcome.dueAt - Date.now()} ms: ${outcome.error.message}`,
        );
      }
    }
    return earliestRetryAt;
  }

  /**
   * PROCESSING once per delivery, attempts + 1; creates the row if the publisher's insert did not happen.
   * Committed without waiting for the WAL flush (synchronous_commit off for this transaction only): a
   * PostgreSQL crash can lose the latest of these marks, which then show their previous status while the
   * entries stay pending and are redelivered. Outcomes (COMPLETED / FAILED / DLQ) are committed durably
   * before anything is acknowledged. This halves the fsyncs per batch, the consumer's main cost.
   */
  private async markProcessing(entries: ParsedEntry[]): Promise<Map<string, MetadataState>> {
    const targets = JSON.stringify(entries.map((e) => ({ event_id: e.envelope.id, stream_id: e.streamId })));
    const states = new Map<string, MetadataState>();
    await this.db.transaction(async (tx) => {
      await tx.execute(sql`SET LOCAL synchronous_commit = off`);
      const { rows } = await tx.execute<{ event_id: string; attempts: number; completed_handlers: string[] }>(sql`
        UPDATE event_metadata AS m
        SET status = 'PROCESSING', attempts = m.attempts + 1, stream_id = v.stream_id
        FROM jsonb_to_recordset(${targets}::jsonb) AS v(event_id text, stream_id text)
        WHERE m.event_id = v.event_id
        RETURNING m.event_id, m.attempts, m.completed_handlers`);
      for (const row of rows) states.set(row.event_id, { attempts: row.attempts, completedHandlers: row.completed_handlers });
      const missing = entries.filter((e) => !states.has(e.envelope.id));
      if (missing.length === 0) return;
      // Rows the publisher could not write (its insert failed after XADD); a concurrent late insert wins the race harmlessly.
      const inserted = await tx
        .insert(eventMetadata)
        .values(
          missing.map(({ streamId, envelope }) => ({
            eventId: envelope.id,
            streamId,
            type: envelope.type,
            source: envelope.source,
            tenantId: envelope.tenantId,
            correlationId: envelope.correlationId,
            replayOf: envelope.replayOf,
            status: 'PROCESSING' as const,
            attempts: 1,
          })),
        )
        .onConflictDoUpdate({
          target: eventMetadata.eventId,
          set: { status: 'PROCESSING', attempts: sql`${eventMetadata.attempts} + 1`, streamId: sql`excluded.stream_id` },
        })
        .returning({ eventId: eventMetadata.eventId, attempts: eventMetadata.attempts, completedHandlers: eventMetadata.completedHandlers });
      for (const row of inserted) states.set(row.eventId, row);
    });
    return states;
  }

  private async handle(entry: ParsedEntry, state: MetadataState): Promise<Outcome> {
    const started = performance.now();
    const { envelope } = entry;
    const completed = new Set(state.completedHandlers);
    const pending = this.subscriptions.matching(envelope.type).filter((s) => !completed.has(s.name));
    const base = { entry, attempts: state.attempts };
    const limit = this.attemptLimit(pending);

    if (state.attempts > limit) {
      // Only reachable when earlier deliveries never recorded a result: the process died while handling it.
      const error = {
        message: `No attempts left: ${state.attempts - 1} earlier attempt(s) of at most ${limit} ended without a result (the process handling the event stopped)`,
        stack: '',
      };
      return { ...base, completedHandlers: [...completed], seconds: 0, kind: 'dead', error };
    }

    const failures: { subscription: Subscription; error: unknown }[] = [];
    for (const subscription of pending) {
      try {
        await subscription.handler(envelope);
        completed.add(subscription.name);
      } catch (error) {
        failures.push({ subscription, error });
      }
    }
    const outcome = { ...base, completedHandlers: [...completed], seconds: (performance.now() - started) / 1000 };
    if (failures.length === 0) return { ...outcome, kind: 'success' };

    const error = describeFailures(failures);
    const failedLimit = this.attemptLimit(failures.map((f) => f.subscription));
    if (state.attempts >= failedLimit) return { ...outcome, kind: 'dead', error };
    return { ...outcome, kind: 'retry', error, dueAt: Date.now() + this.retryDelay(state.attempts) };
  }

  /**
   * Attempts an event gets: the largest maxRetries among the handlers still to succeed (so no handler is cut
   * short by a stricter neighbour), EVENT_BUS_MAX_RETRIES for handlers that set none.
   */
  private attemptLimit(subscriptions: Subscription[]): number {
    const fallback = this.config.env.EVENT_BUS_MAX_RETRIES;
    return subscriptions.reduce((max, s) => Math.max(max, s.maxRetries ?? fallback), subscriptions.length ? 0 : fallback);
  }

  /** Delay after attempt n: EVENT_BUS_RETRY_DELAYS_MS[n-1], the last value repeating. */
  private retryDelay(attempts: number): number {
    const delays = this.config.env.EVENT_BUS_RETRY_DELAYS_MS;
    return delays[Math.min(attempts - 1, delays.length - 1)]!;
  }

  private async recordOutcomes(outcomes: Outcome[]): Promise<void> {
    const rows = outcomes.map((o) => ({
      event_id: o.entry.envelope.id,
      status: STATUS_OF[o.kind],
      handlers: o.completedHandlers,
      error: o.kind === 'success' ? null : o.error.message,
    }));
    await this.db.execute(sql`
      UPDATE event_metadata AS m
      SET status = v.status::event_status,
          completed_handlers = v.handlers,
          last_error = COALESCE(v.error, m.last_error),
          processed_at = CASE WHEN v.status IN ('COMPLETED', 'DLQ') THEN now() ELSE m.processed_at END
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS v(event_id text, status text, handlers text[], error text)
      WHERE m.event_id = v.event_id`);
  }

  private async settle(outcomes: Outcome[]): Promise<void> {
    const acked: string[] = [];
    const retries: (string | number)[] = [];
    const dead: DeadLetter[] = [];
    for (const o of outcomes) {
      if (o.kind === 'success') acked.push(o.entry.streamId);
      else if (o.kind === 'retry') retries.push(o.dueAt, o.entry.streamId);
      else dead.push(this.deadLetter(o.entry, o.error, o.attempts));
    }
    if (acked.length > 0 || retries.length > 0) {
      const pipeline = this.redis.pipeline();
      if (acked.length > 0) {
        pipeline.xack(this.keys.main, CONSUMER_GROUP, ...acked);
        // A success can come from a claim that raced with a scheduled retry; the retry is then moot.
        pipeline.zrem(this.keys.retry, ...acked);
      }
      if (retries.length > 0) pipeline.zadd(this.keys.retry, ...retries);
      for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
    }
    await this.dlq.moveToDlq(dead);
  }

  private deadLetter(entry: ParsedEntry, error: SanitizedError, attempts: number): DeadLetter {
    const { envelope } = entry;
    return {
      streamId: entry.streamId,
      eventId: envelope.id,
      tenantId: envelope.tenantId,
      type: envelope.type,
      eventJson: entry.json,
      error,
      attempts,
    };
  }

  private async dropDeleted(streamIds: string[]): Promise<void> {
    await this.redis.xack(this.keys.main, CONSUMER_GROUP, ...streamIds);
    this.logger.error(
      `${streamIds.length} pending event(s) were trimmed from the main stream before they were processed and cannot be delivered ` +
        `(first: ${streamIds[0]}); raise EVENT_BUS_MAIN_MAXLEN if this repeats`,
    );
  }

  private async deadLetterMalformed(entries: StreamEntry[]): Promise<void> {
    await this.dlq.moveToDlq(
      entries.map((entry) => ({
        streamId: entry.streamId,
        eventId: `malformed-${entry.streamId}`,
        tenantId: '',
        type: MALFORMED_TYPE,
        eventJson: fieldValue(entry.fields, EVENT_FIELD) ?? JSON.stringify(entry.fields),
        error: { message: 'Malformed stream entry: no valid event envelope in its "event" field', stack: '' },
        attempts: 1,
      })),
    );
    for (let i = 0; i < entries.length; i++) this.telemetry.processed(MALFORMED_TYPE, 'dead_lettered', 0);
  }
}

/** The batch split so that no event id occurs twice in one upsert (ON CONFLICT cannot touch a row twice). */
function distinctEventWaves(entries: ParsedEntry[]): ParsedEntry[][] {
  const seen = new Map<string, number>();
  const waves: ParsedEntry[][] = [];
  for (const entry of entries) {
    const wave = seen.get(entry.envelope.id) ?? 0;
    seen.set(entry.envelope.id, wave + 1);
    (waves[wave] ??= []).push(entry);
  }
  return waves;
}

function describeFailures(failures: { subscription: Subscription; error: unknown }[]): SanitizedError {
  const sanitized = failures.map((f) => ({ name: f.subscription.name, ...sanitizeError(f.error) }));
  const message = sanitized.map((s) => `${s.name}: ${s.message}`).join('; ');
  return {
    message: message.length > MAX_ERROR_MESSAGE_LENGTH ? `${message.slice(0, MAX_ERROR_MESSAGE_LENGTH - 1)}…` : message,
    stack: sanitized[0]!.stack,
  };
}
