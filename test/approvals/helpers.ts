import type { EventEnvelope } from '../../src/events/event-envelope.js';
import type { TestApp } from '../support/test-app.js';

/** Every envelope on the app's main stream, oldest first (each entry holds its JSON in field `event`). */
export async function streamEvents(t: TestApp, type?: string): Promise<EventEnvelope[]> {
  const entries = await t.redis.xrange(`${t.prefix}:events:main`, '-', '+');
  const events = entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('event') + 1]!) as EventEnvelope);
  return type ? events.filter((e) => e.type === type) : events;
}

export function eventsFor(events: EventEnvelope[], approvalId: string): EventEnvelope[] {
  return events.filter((e) => e.data.approvalId === approvalId);
}

export function approvalBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'content.publish', title: 'Publish the launch post', confidenceScore: 70, ...overrides };
}

/** Creates an item over HTTP and returns it; fails the test unless the API answered 201. */
export async function createApproval(t: TestApp, token: string, overrides: Record<string, unknown> = {}): Promise<any> {
  const res = await t.request('POST', '/approvals', { token, body: approvalBody(overrides) });
  if (res.status !== 201) throw new Error(`POST /approvals answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Inserts `count` pending items straight into the table (for volumes HTTP would make slow). */
export async function insertPending(
  t: TestApp,
  workspaceId: string,
  count: number,
  dueAt: string,
): Promise<string[]> {
  const result = await t.pool.query<{ id: string }>(
    `INSERT INTO approval_items (workspace_id, type, title, confidence_score, status, review_type, requested_by, due_at)
     SELECT $1, 'seed', 'seeded item ' || g, 50, 'pending', 'full', 'seed', $2::timestamptz
     FROM generate_series(1, $3::int) g RETURNING id`,
    [workspaceId, dueAt, count],
  );
  return result.rows.map((row) => row.id);
}

export const HOUR_MS = 3_600_000;
