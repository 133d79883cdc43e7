/**
 * Event types the platform publishes or handles, declared in code. Metrics label events by type only when the
 * type is in this list (anything else is "other"), so callers of POST /events cannot create new series.
 */
export const KNOWN_EVENT_TYPES = [
  'approval.item.requested',
  'approval.item.created',
  'approval.item.approved',
  'approval.item.rejected',
  'approval.item.auto_approved',
  'approval.item.cancelled',
  'approval.item.escalated',
  'ai.provider.health_changed',
] as const;

export type KnownEventType = (typeof KNOWN_EVENT_TYPES)[number];

export const OTHER_EVENT_TYPE = 'other';

const KNOWN = new Set<string>(KNOWN_EVENT_TYPES);

export function eventTypeLabel(type: string): string {
  return KNOWN.has(type) ? type : OTHER_EVENT_TYPE;
}
