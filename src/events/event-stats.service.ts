import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { DB, type Database } from '../db/db.module.js';
import { EVENT_STATUSES, type EventStatus } from '../db/schema.js';
import { REDIS } from '../redis/redis.module.js';
import { CONSUMER_GROUP, EventBusKeys } from './event-bus.keys.js';
import { pairs, streamIdMs } from './event-stream.js';

export interface StreamStats {
  mainStream: { name: string; length: number; firstEntryId: string | null; lastEntryId: string | null; entriesAdded: number };
  /** `trimmed`: entries dropped because the DLQ reached EVENT_BUS_DLQ_MAXLEN (counted since the DLQ existed). */
  dlq: { name: string; length: number; entriesAdded: number; trimmed: number };
  /**
   * `lag`: Redis's own count of entries not yet delivered to the group (null when Redis cannot tell, e.g.
   * after deletions in the undelivered range). `lagSeconds`: age of the oldest event the group has not
   * finished (pending or not yet delivered), 0 when caught up.
   */
  consumerGroup: { name: string; consumers: number; pending: number; lag: number | null; lagSeconds: number };
}

export interface EventStats extends StreamStats {
  /** Events published (EventMetadata rows created) in the last hour / 24 hours. */
  throughput: { lastHour: number; last24h: number };
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Numbers about the bus for the admin API and the metrics module. Stream and group figures come from Redis
 * only (XINFO plus two O(log n) lookups, never a scan) and describe the whole deployment; the counts from
 * EventMetadata can be scoped to one workspace.
 */
@Injectable()
export class EventStatsService {
  constructor(
    private readonly keys: EventBusKeys,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(DB) private readonly db: Database,
  ) {}

  async getStreamStats(): Promise<StreamStats> {
    const { main, dlq, dlqTrimmed } = this.keys;
    const results = await this.redis
      .pipeline()
      .call('TIME')
      .call('XINFO', 'STREAM', main)
      .call('XINFO', 'GROUPS', main)
      .call('XINFO', 'STREAM', dlq)
      .get(dlqTrimmed)
      .call('XPENDING', main, CONSUMER_GROUP)
      .exec();
    // A missing stream or group answers with an error reply (no such key / NOGROUP): that means zeros.
    const reply = (index: number): unknown => {
      const [error, value] = results![index]!;
      if (!error) return value;
      if (/no such key|NOGROUP/i.test(error.message)) return undefined;
      throw error;
    };
    const [seconds, micros] = reply(0) as [string, string];
    const nowMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const stream = pairs(reply(1));
    const group = ((reply(2) as unknown[] | undefined) ?? []).map(pairs).find((g) => g.name === CONSUMER_GROUP);
    const dlqInfo = pairs(reply(3));
    const pendingSummary = reply(5) as [number, string | null, string | null, unknown] | undefined;

    let lagSeconds = 0;
    if (group) {
      const oldest: number[] = [];
      if (pendingSummary && pendingSummary[1]) oldest.push(streamIdMs(pendingSummary[1]));
      const [firstUndelivered] = (await this.redis.call(
        'XRANGE', main, `(${String(group['last-delivered-id'])}`, '+', 'COUNT', 1,
      )) as [string, unknown][];
      if (firstUndelivered) oldest.push(streamIdMs(firstUndelivered[0]));
      if (oldest.length > 0) lagSeconds = Math.max(0, nowMs - Math.min(...oldest)) / 1000;
    }

    return {
      mainStream: {
        name: main,
        length: Number(stream.length ?? 0),
        firstEntryId: entryId(stream['first-entry']),
        lastEntryId: entryId(stream['last-entry']),
        entriesAdded: Number(stream['entries-added'] ?? 0),
      },
      dlq: {
        name: dlq,
        length: Number(dlqInfo.length ?? 0),
        entriesAdded: Number(dlqInfo['entries-added'] ?? 0),
        trimmed: Number(reply(4) ?? 0),
      },
      consumerGroup: {
        name: CONSUMER_GROUP,
        consumers: Number(group?.consumers ?? 0),
        pending: Number(group?.pending ?? 0),
        lag: group ? (group.lag === null || group.lag === undefined ? null : Number(group.lag)) : 0,
        lagSeconds,
      },
    };
  }

  /** One GROUP BY over EventMetadata rows created in the window; every status is present (0 if none). */
  async countRecentByStatus(windowMs: number, tenantId?: string): Promise<Record<EventStatus, number>> {
    const tenant = tenantId === undefined ? sql`` : sql`AND tenant_id = ${tenantId}`;
    const { rows } = await this.db.execute<{ status: EventStatus; count: string }>(sql`
      SELECT status, count(*) AS count FROM event_metadata
      WHERE created_at >= now() - make_interval(secs => ${windowMs / 1000}) ${tenant}
      GROUP BY status`);
    const counts = Object.fromEntries(EVENT_STATUSES.map((status) => [status, 0])) as Record<EventStatus, number>;
    for (const row of rows) counts[row.status] = Number(row.count);
    return counts;
  }

  async getStats(tenantId?: string): Promise<EventStats> {
    const tenant = tenantId === undefined ? sql`` : sql`AND tenant_id = ${tenantId}`;
    const [streams, { rows }] = await Promise.all([
      this.getStreamStats(),
      this.db.execute<{ last_hour: string; last_24h: string }>(sql`
        SELECT count(*) FILTER (WHERE created_at >= now() - make_interval(secs => ${HOUR_MS / 1000})) AS last_hour,
               count(*) AS last_24h
        FROM event_metadata
        WHERE created_at >= now() - make_interval(secs => ${DAY_MS / 1000}) ${tenant}`),
    ]);
    return { ...streams, throughput: { lastHour: Number(rows[0]?.last_hour ?? 0), last24h: Number(rows[0]?.last_24h ?? 0) } };
  }
}

/** XINFO STREAM's first-entry / last-entry: `[id, fields]`, or nil for an empty stream. */
function entryId(entry: unknown): string | null {
  return Array.isArray(entry) && typeof entry[0] === 'string' ? entry[0] : null;
}
