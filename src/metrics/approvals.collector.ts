import { Injectable } from '@nestjs/common';
import { ApprovalQueueStatsService } from '../approvals/approval-queue-stats.service.js';
import type { QueueMetrics } from '../approvals/approval.types.js';
import { APPROVAL_STATUSES } from '../db/schema.js';
import { MetricsService } from './metrics.service.js';
import { snapshotGauge } from './snapshot-metrics.js';

/** The approval queue across all workspaces, from PostgreSQL (no workspace labels: bounded cardinality). */
@Injectable()
export class ApprovalsCollector {
  constructor(metrics: MetricsService, stats: ApprovalQueueStatsService) {
    const snapshot = metrics.snapshotOf<QueueMetrics>({ name: 'approvals', fetch: () => stats.getQueueMetrics() });
    const registry = metrics.registry;
    snapshotGauge(snapshot, registry, {
      name: 'approval_queue_depth',
      help: 'Approval items by status (every status, zeros included).',
      labelNames: ['status'],
    }, (s, sample) => {
      for (const status of APPROVAL_STATUSES) sample(s.depthByStatus[status] ?? 0, { status });
    });
    snapshotGauge(snapshot, registry, {
      name: 'approval_queue_oldest_pending_age_seconds',
      help: 'Age of the oldest item still waiting for a decision (pending or escalated); 0 when none waits.',
    }, (s, sample) =>
      // Computed at scrape time from the stored creation time, so the age keeps growing between refreshes.
      sample(s.oldestOpenCreatedAt ? Math.max(0, (Date.now() - s.oldestOpenCreatedAt.getTime()) / 1000) : 0),
    );
    snapshotGauge(snapshot, registry, {
      name: 'approval_queue_overdue',
      help: 'Items waiting for a decision (pending or escalated) past their due time.',
    }, (s, sample) => sample(s.overdue));
  }
}
