import { randomUUID } from 'node:crypto';

/** `{module}.{entity}.{action}`: lowercase segments of letters, digits and underscores. */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;
export const EVENT_SCHEMA_VERSION = '1.0';
export const MAX_EVENT_DATA_BYTES = 64 * 1024;
const MAX_ID_LENGTH = 128;

export interface EventEnvelope<T extends Record<string, unknown> = Record<string, unknown>> {
  id: string;
  type: string;
  source: string;
  timestamp: string;
  correlationId: string;
  tenantId: string;
  userId: string | null;
  version: string;
  data: T;
  /** Set on events re-published by a replay: the id of the event this one replays. */
  replayOf?: string;
}

export interface PublishEventInput {
  type: string;
  data: Record<string, unknown>;
  tenantId: string;
  userId?: string | null;
  source?: string;
  correlationId?: string;
  /** Keep an existing id (DLQ retry re-publishes under the original id). */
  id?: string;
  timestamp?: string;
  replayOf?: string;
}

export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

function requireText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new InvalidEventError(`${field} must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
  return value;
}

/** Validates the input and fills in generated fields; a malformed event never reaches the stream. */
export function buildEnvelope(input: PublishEventInput): EventEnvelope {
  if (typeof input.type !== 'string' || !EVENT_TYPE_PATTERN.test(input.type) || input.type.length > MAX_ID_LENGTH) {
    throw new InvalidEventError('type must look like {module}.{entity}.{action}, e.g. approval.item.approved');
  }
  if (input.data === null || typeof input.data !== 'object' || Array.isArray(input.data)) {
    throw new InvalidEventError('data must be a JSON object');
  }
  let size: number;
  try {
    size = Buffer.byteLength(JSON.stringify(input.data));
  } catch {
    throw new InvalidEventError('data must be JSON-serialisable');
  }
  if (size > MAX_EVENT_DATA_BYTES) throw new InvalidEventError(`data must be at most ${MAX_EVENT_DATA_BYTES} bytes of JSON`);
  const timestamp = input.timestamp ?? new Date().toISOString();
  if (Number.isNaN(Date.parse(timestamp))) throw new InvalidEventError('timestamp must be an ISO 8601 date');

  return {
    id: input.id === undefined ? randomUUID() : requireText(input.id, 'id'),
    type: input.type,
    source: input.source === undefined ? 'platform' : requireText(input.source, 'source'),
    timestamp,
    correlationId: input.correlationId === undefined ? randomUUID() : requireText(input.correlationId, 'correlationId'),
    tenantId: requireText(input.tenantId, 'tenantId'),
    userId: input.userId == null ? null : requireText(input.userId, 'userId'),
    version: EVENT_SCHEMA_VERSION,
    data: input.data,
    ...(input.replayOf === undefined ? {} : { replayOf: requireText(input.replayOf, 'replayOf') }),
  };
}
