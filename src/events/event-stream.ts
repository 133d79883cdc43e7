import type { Redis } from 'ioredis';
import { EVENT_TYPE_PATTERN, type EventEnvelope } from './event-envelope.js';
import { CONSUMER_GROUP, type EventBusKeys } from './event-bus.keys.js';
import { EVENT_FIELD } from './event-publisher.service.js';

/** One stream entry as Redis returns it; `fields` is null when the entry was deleted while still pending. */
export interface StreamEntry {
  streamId: string;
  fields: string[] | null;
}

export const STREAM_ID_PATTERN = /^\d{1,20}-\d{1,20}$/;
const MAX_STREAM_ID_PART = 2n ** 64n - 1n;

/** `<ms>-<seq>` with both parts unsigned 64-bit, as Redis accepts them (20 digits alone can exceed that). */
export function isStreamId(value: string): boolean {
  if (!STREAM_ID_PATTERN.test(value)) return false;
  return value.split('-').every((part) => BigInt(part) <= MAX_STREAM_ID_PART);
}

/** XRANGE / XCLAIM / XAUTOCLAIM entry lists: `[[id, [field, value, ...]], ...]`. */
export function toEntries(raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((item) => {
    const [streamId, fields] = item as [string, string[] | null];
    return { streamId, fields: Array.isArray(fields) ? fields : null };
  });
}

/** XREADGROUP reply for a single stream: `[[key, entries]]`, or null on timeout. */
export function readGroupEntries(raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw) || raw.length === 0) return [];
  return toEntries((raw[0] as [string, unknown])[1]);
}

export function fieldValue(fields: string[] | null, name: string): string | undefined {
  if (!fields) return undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** A flat `[key, value, key, value]` reply (XINFO) as an object. */
export function pairs(raw: unknown): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  if (!Array.isArray(raw)) return result;
  for (let i = 0; i + 1 < raw.length; i += 2) result[String(raw[i])] = raw[i + 1];
  return result;
}

/** Stream ids start with the millisecond timestamp of the XADD (Redis server clock). */
export function streamIdMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

/**
 * The envelope stored in an entry, or undefined when the entry is not one the bus could have written
 * (the publisher validates every event, so this only guards against foreign writers and corruption).
 */
export function parseEnvelope(fields: string[] | null): EventEnvelope | undefined {
  const json = fieldValue(fields, EVENT_FIELD);
  if (json === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  const e = value as Partial<EventEnvelope>;
  if (
    typeof e !== 'object' ||
    e === null ||
    typeof e.id !== 'string' ||
    typeof e.type !== 'string' ||
    !EVENT_TYPE_PATTERN.test(e.type) ||
    typeof e.tenantId !== 'string' ||
    typeof e.source !== 'string' ||
    typeof e.data !== 'object' ||
    e.data === null
  ) {
    return undefined;
  }
  return e as EventEnvelope;
}

export function isRedisReplyError(error: unknown, code: string): boolean {
  return error instanceof Error && error.message.startsWith(code);
}

/**
 * Creates the consumer group at id 0 (so events published before the first consumer ever started are
 * processed) and the stream with it; an existing group is left as it is.
 */
export async function ensureConsumerGroup(redis: Redis, keys: EventBusKeys): Promise<void> {
  try {
    await redis.call('XGROUP', 'CREATE', keys.main, CONSUMER_GROUP, '0', 'MKSTREAM');
  } catch (error) {
    if (!isRedisReplyError(error, 'BUSYGROUP')) throw error;
  }
}
