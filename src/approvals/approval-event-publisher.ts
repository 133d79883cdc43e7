import { Injectable, Logger } from '@nestjs/common';
import type { PublishEventInput } from '../events/event-envelope.js';
import { EventPublisher } from '../events/event-publisher.service.js';
import type { ApprovalItem } from './approval.types.js';
import { APPROVALS_EVENT_SOURCE } from './approval.constants.js';

export type ApprovalEventAction = 'created' | 'auto_approved' | 'approved' | 'rejected' | 'cancelled' | 'escalated';

export interface ApprovalEventContext {
  /** Who caused the change: the token id of the caller, or null for the system (escalation). */
  userId: string | null;
  correlationId?: string;
}

/** The event payload: enough to act on without reading the item, never previewData or factor details. */
function eventData(item: ApprovalItem): Record<string, unknown> {
  return {
    approvalId: item.id,
    type: item.type,
    title: item.title,
    status: item.status,
    reviewType: item.reviewType,
    priority: item.priority,
    confidenceScore: item.confidenceScore,
    sourceModule: item.sourceModule,
    sourceId: item.sourceId,
    requestedBy: item.requestedBy,
    assignedToId: item.assignedToId,
    dueAt: item.dueAt.toISOString(),
    escalatedAt: item.escalatedAt?.toISOString() ?? null,
    resolvedAt: item.resolvedAt?.toISOString() ?? null,
    resolvedById: item.resolvedById,
    resolution: item.resolution ?? null,
  };
}

/**
 * Publishes approval transitions after the change is committed. There is no outbox, so every change first
 * checks that the bus answers (ensureAvailable): during a Redis outage changes are refused with a 503 and
 * nothing is written. If Redis fails in the moment between that check and the publish, the change stands (it
 * is already committed) and the lost event is logged with the item ids, never thrown.
 */
@Injectable()
export class ApprovalEventPublisher {
  private readonly logger = new Logger(ApprovalEventPublisher.name);

  constructor(private readonly publisher: EventPublisher) {}

  /** Throws (→ 503) unless the bus answers now; call before writing a change this class will announce. */
  ensureAvailable(): Promise<void> {
    return this.publisher.ensureAvailable();
  }

  async publish(events: { action: ApprovalEventAction; item: ApprovalItem }[], context: ApprovalEventContext): Promise<void> {
    if (events.length === 0) return;
    const inputs: PublishEventInput[] = events.map(({ action, item }) => ({
      type: `approval.item.${action}`,
      data: eventData(item),
      tenantId: item.workspaceId,
      userId: context.userId,
      source: APPROVALS_EVENT_SOURCE,
      correlationId: context.correlationId,
    }));
    try {
      await this.publisher.publishBatch(inputs);
    } catch (error) {
      const lost = events.map(({ action, item }) => `${action}:${item.id}`).join(', ');
      this.logger.error(`Approval event(s) lost, the change itself is committed [${lost}]: ${(error as Error).message}`);
    }
  }
}
