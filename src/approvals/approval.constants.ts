import type { ApprovalPriority, ApprovalStatus } from '../db/schema.js';

/** The only statuses a person can still decide, and the ones that make up the open queue. */
export const OPEN_STATUSES = ['pending', 'escalated'] as const satisfies readonly ApprovalStatus[];

/**
 * Due time per priority for a workspace on the default approval timeout. A workspace's `approvalTimeoutHours`
 * scales every priority by timeout / REFERENCE_TIMEOUT_HOURS, so the defaults give exactly these hours.
 */
export const PRIORITY_DUE_HOURS: Record<ApprovalPriority, number> = { urgent: 4, high: 24, medium: 48, low: 72 };
export const REFERENCE_TIMEOUT_HOURS = 48;
export const SECONDS_PER_HOUR = 3600;

/** previewData is rendered by the UI, not processed: anything bigger belongs in the source module. */
export const MAX_PREVIEW_DATA_BYTES = 32 * 1024;
export const MAX_CONFIDENCE_FACTORS = 20;
export const WEIGHT_SUM_TOLERANCE = 0.01;
export const MAX_TEXT_LENGTH = 10_000;
export const MAX_TITLE_LENGTH = 500;
export const MAX_NAME_LENGTH = 128;
/** Notes and reasons travel in event payloads, which the bus caps at 64 KiB. */
export const MAX_DECISION_TEXT_LENGTH = 2000;
/** A year: a longer timeout means the item is effectively never escalated. */
export const MAX_APPROVAL_TIMEOUT_HOURS = 24 * 365;

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;
export const MAX_BULK_IDS = 100;

/** Items escalated per UPDATE, so one run never holds thousands of row locks at once. */
export const ESCALATION_BATCH_SIZE = 500;
export const ESCALATION_INTERVAL_NAME = 'approval-escalation';

/** `source` of every event this module publishes. */
export const APPROVALS_EVENT_SOURCE = 'approvals';
export const APPROVAL_REQUESTED_EVENT = 'approval.item.requested';
export const APPROVAL_REQUESTED_SUBSCRIPTION = 'approvals.create-requested-item';
