import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { ApprovalQueueStatsService } from '../approvals/approval-queue-stats.service.js';
import type { QueueMetrics } from '../approvals/approval.types.js';
import { APPROVAL_STATUSES } from '../db/schema.js';
import { MetricsService } from './metrics.service.js';

/** The approval queue across all workspaces, from PostgreSQL (no workspace labels: bounded cardinality). */
@Injectable()
export class ApprovalsCollector {
  constructor(metrics: MetricsService, stats: ApprovalQueueStatsService) {
    const snapshot = metrics.snapshotOf<QueueMetrics>({ name: 'approvals', fetch: () => stats.getQueueMetrics() });
    const registers = [metrics.registry];
    new Gauge({
      name: 'approval_queue_depth',
      help: 'Approval items by status (every status, zeros included).',
      labelNames: ['status'],
      registers,
      collect() {
        const s = snapshot.latest;
        if (!s) return;
        for (const status of APPROVAL_STATUSES) this.set({ status }, s.depthByStatus[status] ?? 0);
      },
    });
    new Gauge({
      name: 'approval_queue_oldest_pending_age_seconds',
      help: 'Age of the oldest item still waiting for a decision (pending or escalated); 0 when none waits.',
      registers,
      collect() {
        const s = snapshot.latest;
        if (!s) return;
        // Computed at scrape time from the stored creation time, so the age keeps growing between refreshes.
        this.set(s.oldestOpenCreatedAt ? Math.max(0, (Date.now() - s.oldestOpenCreatedAt.getTime()) / 1000) : 0);
      },
    });
    new Gauge({
      name: 'approval_queue_overdue',
      help: 'Items waiting for a decision (pending or escalated) past their due time.',
      registers,
      collect() {
        const s = snapshot.latest;
        if (s) this.set(s.overdue);
      },
    });
  }
}
