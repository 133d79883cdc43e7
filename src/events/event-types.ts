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

/** The one known type clients publish: asking for an approval. */
const CLIENT_EVENT_TYPES: ReadonlySet<string> = new Set<KnownEventType>(['approval.item.requested']);

/**
 * Types only the platform itself publishes: they announce facts (an approval was decided, a provider's health
 * changed) that handlers act on, so clients of POST /events may not forge them.
 */
export const PLATFORM_ONLY_EVENT_TYPES: ReadonlySet<string> = new Set(
  KNOWN_EVENT_TYPES.filter((type) => !CLIENT_EVENT_TYPES.has(type)),
);

export const OTHER_EVENT_TYPE = 'other';

const KNOWN = new Set<string>(KNOWN_EVENT_TYPES);

export function eventTypeLabel(type: string): string {
  return KNOWN.has(type) ? type : OTHER_EVENT_TYPE;
}
