import type { ApprovalPriority, ApprovalStatus, ReviewType } from '../db/schema.js';
import { PRIORITY_DUE_HOURS, REFERENCE_TIMEOUT_HOURS, SECONDS_PER_HOUR } from './approval.constants.js';

export interface RoutingThresholds {
  autoApproveThreshold: number;
  quickReviewThreshold: number;
}

export interface Route {
  status: Extract<ApprovalStatus, 'auto_approved' | 'pending'>;
  reviewType: ReviewType;
}

/**
 * The one routing rule, used by HTTP creation and by the approval.item.requested handler alike. Both bounds
 * are inclusive: a score equal to the auto-approve threshold is auto-approved, one equal to the quick-review
 * threshold gets a quick review.
 */
export function routeApproval(confidenceScore: number, thresholds: RoutingThresholds): Route {
  if (confidenceScore >= thresholds.autoApproveThreshold) return { status: 'auto_approved', reviewType: 'auto' };
  if (confidenceScore >= thresholds.quickReviewThreshold) return { status: 'pending', reviewType: 'quick' };
  return { status: 'pending', reviewType: 'full' };
}

/** Seconds from creation to due: the priority's hours, scaled by the workspace's approval timeout. */
export function dueInSeconds(priority: ApprovalPriority, approvalTimeoutHours: number): number {
  return Math.round((PRIORITY_DUE_HOURS[priority] * approvalTimeoutHours * SECONDS_PER_HOUR) / REFERENCE_TIMEOUT_HOURS);
}
