import pg from 'pg';
import type { Redis } from 'ioredis';

/**
 * Bulk seeding for the scrape-cost benchmark: INSERT ... SELECT generate_series for PostgreSQL, a server-side
 * loop (EVAL, in chunks) for the Redis stream, so a million rows or entries take seconds.
 */

/** 1 % of approvals are open (pending or escalated), due dates spread ±48 h around now (about half overdue). */
const APPROVALS_SQL = `
INSERT INTO approval_items (workspace_id, type, title, confidence_score, status, review_type, priority, requested_by, due_at, created_at, updated_at)
SELECT $1, 'content.post', 'Bench item ' || g, g % 101,
  CASE WHEN g % 200 = 0 THEN 'pending' WHEN g % 200 = 1 THEN 'escalated'
       ELSE (ARRAY['approved', 'rejected', 'auto_approved', 'cancelled'])[1 + g % 4] END::approval_status,
  (ARRAY['auto', 'quick', 'full'])[1 + g % 3]::approval_review_type,
  (ARRAY['low', 'medium', 'high', 'urgent'])[1 + g % 4]::approval_priority,
  'bench', now() + ((g % 97) - 48) * interval '1 hour', now() - (g % 43200) * interval '1 minute', now()
FROM generate_series($2::int, $3::int) AS g`;

/**
 * EventMetadata rows created uniformly over the last 30 days (the main stream's default retention), so the
 * last hour holds 1/720 of them; mostly COMPLETED with some PENDING, FAILED and DLQ.
 */
const EVENT_METADATA_SQL = `
INSERT INTO event_metadata (event_id, stream_id, type, source, tenant_id, correlation_id, status, attempts, processed_at, created_at)
SELECT 'bench-' || g, (1700000000000 + g) || '-0',
  (ARRAY['approval.item.requested', 'approval.item.created', 'approval.item.approved', 'approval.item.rejected', 'ai.provider.health_changed'])[1 + g % 5],
  'platform', 'tenant-' || (g % 50), 'corr-' || g,
  CASE WHEN g % 1000 = 0 THEN 'DLQ' WHEN g % 500 = 1 THEN 'FAILED' WHEN g % 100 = 2 THEN 'PENDING' ELSE 'COMPLETED' END::event_status,
  1, now(), now() - (g::float8 / $3::int) * interval '30 days'
FROM generate_series($1::int, $2::int) AS g`;

export const EVENT_METADATA_SPREAD_DAYS = 30;

export class Seeder {
  approvals = 0;
  eventMetadata = 0;
  streamEntries = 0;
  private workspaceId?: string;

  constructor(
    private readonly pool: pg.Pool,
    private readonly redis: Redis,
    private readonly mainStream: string,
    private readonly consumerGroup: string,
  ) {}

  /** Grows approval_items to `total` rows. */
  async approvalsTo(total: number): Promise<void> {
    if (total <= this.approvals) return;
    this.workspaceId ??= (
      await this.pool.query<{ id: string }>(`INSERT INTO workspaces (slug, name) VALUES ('bench', 'Bench') RETURNING id`)
    ).rows[0]!.id;
    await this.pool.query(APPROVALS_SQL, [this.workspaceId, this.approvals + 1, total]);
    await this.pool.query('ANALYZE approval_items');
    this.approvals = total;
  }

  /** Grows event_metadata to `total` rows; `spreadOver` is the table size the created_at spread is computed for. */
  async eventMetadataTo(total: number, spreadOver: number): Promise<void> {
    if (total <= this.eventMetadata) return;
    await this.pool.query(EVENT_METADATA_SQL, [this.eventMetadata + 1, total, spreadOver]);
    await this.pool.query('ANALYZE event_metadata');
    this.eventMetadata = total;
  }

  /**
   * Grows the main stream to `total` entries of a realistic envelope, then puts the consumer group where a
   * healthy consumer would be: all but the newest 100 entries delivered, 10 of those delivered but not acked.
   */
  async streamTo(total: number, payload: string): Promise<void> {
    if (total <= this.streamEntries) return;
    const chunk = 50_000;
    for (let added = this.streamEntries; added < total; added += chunk) {
      const count = Math.min(chunk, total - added);
      await this.redis.eval(
        `for i = 1, tonumber(ARGV[1]) do redis.call('XADD', KEYS[1], '*', 'event', ARGV[2]) end return 1`,
        1,
        this.mainStream,
        count,
        payload,
      );
    }
    this.streamEntries = total;
    const undelivered = 100;
    const unacked = 10;
    const behind = (await this.redis.xrevrange(this.mainStream, '+', '-', 'COUNT', undelivered + 1)).at(-1)!;
    const deliveredId = behind[0];
    const entriesRead = String(total - undelivered);
    // Recreated each time, so the pending list holds only the `unacked` entries just before the group's position.
    await this.redis.call('XGROUP', 'DESTROY', this.mainStream, this.consumerGroup);
    const pendingFrom = (await this.redis.xrevrange(this.mainStream, deliveredId, '-', 'COUNT', unacked + 1)).at(-1)![0];
    await this.redis.call('XGROUP', 'CREATE', this.mainStream, this.consumerGroup, pendingFrom, 'ENTRIESREAD', String(total - undelivered - unacked));
    await this.redis.call('XREADGROUP', 'GROUP', this.consumerGroup, 'bench-consumer', 'COUNT', String(unacked), 'STREAMS', this.mainStream, '>');
    await this.redis.call('XGROUP', 'SETID', this.mainStream, this.consumerGroup, deliveredId, 'ENTRIESREAD', entriesRead);
  }
}
