import { Inject, Injectable } from '@nestjs/common';
import { and, lt, sql } from 'drizzle-orm';
import { DB, type Database } from '../db/db.module.js';
import { APPROVAL_STATUSES, approvalItems, approvalStatusCounts, type ApprovalStatus } from '../db/schema.js';
import type { QueueMetrics } from './approval.types.js';

/** A literal, not parameters, so the planner matches the partial indexes' predicate. */
const OPEN = sql`${approvalItems.status} IN ('pending', 'escalated')`;

/**
 * The operators' view of the queue across all workspaces, for /metrics. Each value is one cheap query:
 * - depth: sums of the trigger-maintained approval_status_counts (at most 6 × 16 rows, whatever the queue size);
 * - oldest open item: min(created_at) from the partial index approval_items_open_created_idx;
 * - overdue (pending or escalated with due_at < now): a count on the partial index approval_items_open_due_idx.
 */
@Injectable()
export class ApprovalQueueStatsService {
  constructor(@Inject(DB) private readonly db: Database) {}

  async getQueueMetrics(now?: Date): Promise<QueueMetrics> {
    const cutoff = now ? sql`${now.toISOString()}::timestamptz` : sql`now()`;
    const [depth, [oldest], [overdue]] = await Promise.all([
      this.db
        .select({ status: approvalStatusCounts.status, count: sql`sum(${approvalStatusCounts.count})`.mapWith(Number) })
        .from(approvalStatusCounts)
        .groupBy(approvalStatusCounts.status),
      this.db
        .select({ createdAt: sql`min(${approvalItems.createdAt})`.mapWith(approvalItems.createdAt) })
        .from(approvalItems)
        .where(OPEN),
      this.db
        .select({ count: sql`count(*)`.mapWith(Number) })
        .from(approvalItems)
        .where(and(OPEN, lt(approvalItems.dueAt, cutoff))),
    ]);

    const depthByStatus = Object.fromEntries(APPROVAL_STATUSES.map((status) => [status, 0])) as Record<ApprovalStatus, number>;
    for (const row of depth) depthByStatus[row.status] = row.count;
    return {
      depthByStatus,
      oldestOpenCreatedAt: (oldest?.createdAt as Date | null | undefined) ?? null,
      overdue: overdue?.count ?? 0,
    };
  }
}
