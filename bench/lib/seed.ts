import pg from 'pg';
import type { Redis } from 'ioredis';

/**
 * Bulk seeding for the scrape-cost benchmark: INSERT ... SELECT generate_series for PostgreSQL, a server-side
 * loop (EVAL, in chunks) for the Redis stream, so a million rows or entries take seconds.
 */

/**
 * The first OPEN_APPROVALS rows are open (pending or escalated, due dates spread ±48 h around now, so about half
 * are overdue); every later row is closed history. A bigger table is then a longer history with the same working
 * queue, which is what "cost must not grow with table size" is about; a backlog is seeded separately.
 */
export const OPEN_APPROVALS = 500;
const APPROVALS_SQL = `
INSERT INTO approval_items (workspace_id, type, title, confidence_score, status, review_type, priority, requested_by, due_at, created_at, updated_at)
SELECT $1, 'content.post', 'Bench item ' || g, g % 101,
  CASE WHEN g <= $4 THEN (ARRAY['pending', 'escalated'])[1 + g % 2]
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

  /**
   * What autovacuum and the checkpointer would have done to a table that grew over time: statistics for the
   * planner, the visibility map for index-only scans, hint bits, pages written out; so the measurement after a
   * bulk insert does not pay for them.
   */
  private async settle(table: string): Promise<void> {
    await this.pool.query(`VACUUM (ANALYZE) ${table}`);
    // Write the bulk load's dirty pages now rather than while the next measurement runs.
    await this.pool.query('CHECKPOINT');
  }

  /** Grows approval_items to `total` rows. */
  async approvalsTo(total: number): Promise<void> {
    if (total <= this.approvals) return;
    this.workspaceId ??= (
      await this.pool.query<{ id: string }>(`INSERT INTO workspaces (slug, name) VALUES ('bench', 'Bench') RETURNING id`)
    ).rows[0]!.id;
    await this.pool.query(APPROVALS_SQL, [this.workspaceId, this.approvals + 1, total, OPEN_APPROVALS]);
    await this.settle('approval_items');
    this.approvals = total;
  }

  /** Reopens closed items until `open` items are pending (a backlog); the status counters follow by trigger. */
  async approvalBacklog(open: number): Promise<void> {
    await this.pool.query(
      `UPDATE approval_items SET status = 'pending' WHERE id IN (
         SELECT id FROM approval_items WHERE status NOT IN ('pending', 'escalated') LIMIT $1)`,
      [open - OPEN_APPROVALS],
    );
    await this.settle('approval_items');
  }

  /** Grows event_metadata to `total` rows; `spreadOver` is the table size the created_at spread is computed for. */
  async eventMetadataTo(total: number, spreadOver: number): Promise<void> {
    if (total <= this.eventMetadata) return;
    await this.pool.query(EVENT_METADATA_SQL, [this.eventMetadata + 1, total, spreadOver]);
    await this.settle('event_metadata');
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
