import type { ApprovalStatus, approvalItems, workspaceSettings } from '../db/schema.js';

export type ApprovalItem = typeof approvalItems.$inferSelect;
export type ApprovalSettings = typeof workspaceSettings.$inferSelect;

export interface ApprovalPage {
  items: ApprovalItem[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

export type BulkOutcome = 'decided' | 'conflict' | 'not_found';

export interface BulkItemResult {
  id: string;
  outcome: BulkOutcome;
  /** HTTP status the same decision on this item alone would have answered. */
  statusCode: 200 | 404 | 409;
  /** The item's status after the request (absent when not found). */
  status?: ApprovalStatus;
  item?: ApprovalItem;
  message?: string;
}

export interface BulkDecisionResult {
  results: BulkItemResult[];
  decided: number;
  failed: number;
}

export interface QueueMetrics {
  depthByStatus: Record<ApprovalStatus, number>;
  oldestOpenCreatedAt: Date | null;
  overdue: number;
}
