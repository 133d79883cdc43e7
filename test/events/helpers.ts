import { randomUUID } from 'node:crypto';
import { CONSUMER_GROUP } from '../../src/events/event-bus.keys.js';
import { EventBusKeys } from '../../src/events/event-bus.keys.js';
import type { PublishEventInput } from '../../src/events/event-envelope.js';
import { startTestApp, type TestApp, type TestAppOptions } from '../support/test-app.js';

/** Settings that make retries and claims happen within a test's patience. */
export const FAST_BUS_ENV = {
  EVENT_BUS_CONSUMER_ENABLED: 'true',
  EVENT_BUS_BLOCK_MS: '200',
  EVENT_BUS_RETRY_DELAYS_MS: '50,100,150',
  EVENT_BUS_CLAIM_IDLE_MS: '2000',
  EVENT_BUS_MAX_RETRIES: '3',
  EVENT_BUS_BATCH_SIZE: '100',
};

export function keysOf(t: TestApp): EventBusKeys {
  return new EventBusKeys(t.prefix);
}

export function input(type: string, tenantId: string, data: Record<string, unknown> = {}): PublishEventInput {
  return { type, tenantId, data: { nonce: randomUUID(), ...data } };
}

export async function statusCounts(t: TestApp, where = 'true'): Promise<Record<string, number>> {
  const { rows } = await t.pool.query(`SELECT status, count(*)::int AS n FROM event_metadata WHERE ${where} GROUP BY status`);
  return Object.fromEntries(rows.map((r: { status: string; n: number }) => [r.status, r.n]));
}

export async function metadataOf(t: TestApp, eventId: string) {
  const { rows } = await t.pool.query(
    'SELECT status, attempts, completed_handlers, last_error, replay_of, stream_id FROM event_metadata WHERE event_id = $1',
    [eventId],
  );
  return rows[0] as
    | { status: string; attempts: number; completed_handlers: string[]; last_error: string | null; replay_of: string | null; stream_id: string }
    | undefined;
}

/** Pending entries of the group on the main stream (0 when the group does not exist). */
export async function pendingCount(t: TestApp): Promise<number> {
  const summary = (await t.redis.call('XPENDING', keysOf(t).main, CONSUMER_GROUP).catch(() => [0])) as [number];
  return Number(summary[0]);
}

export function waitUntil(assertion: () => Promise<void> | void, timeout = 15_000): Promise<void> {
  return vi.waitFor(assertion, { timeout, interval: 50 });
}

/**
 * startTestApp, plus an error listener on the test's own pool: dropping the database at close terminates
 * its idle connections, which would otherwise surface as an unhandled error.
 */
export async function startEventsApp(options: TestAppOptions = {}): Promise<TestApp> {
  const t = await startTestApp(options);
  t.pool.on('error', () => undefined);
  return t;
}
