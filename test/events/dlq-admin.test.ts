import type { EventEnvelope } from '../../src/events/event-envelope.js';
import { EventPublisher } from '../../src/events/event-publisher.service.js';
import { EventSubscriptions } from '../../src/events/event-subscriptions.js';
import { fieldValue, toEntries } from '../../src/events/event-stream.js';
import type { TestApp } from '../support/test-app.js';
import { FAST_BUS_ENV, input, keysOf, metadataOf, pendingCount, startEventsApp, waitUntil } from './helpers.js';

describe('DLQ admin API', () => {
  let t: TestApp;
  let adminA: string;
  let adminB: string;
  let memberA: string;
  const eventsA: EventEnvelope[] = [];
  const eventsB: EventEnvelope[] = [];
  const healed = new Set<string>();

  beforeAll(async () => {
    t = await startEventsApp({ env: FAST_BUS_ENV });
    const a = await t.token('dlq-a', 'admin');
    const b = await t.token('dlq-b', 'owner');
    adminA = a.token;
    adminB = b.token;
    memberA = (await t.token('dlq-a', 'member')).token;
    t.app.get(EventSubscriptions).subscribe('fragile', 'test.dlq.*', (event) => {
      if (!healed.has(event.id)) throw new Error(`cannot handle ${event.id}`);
    }, { maxRetries: 1 });
    const publisher = t.app.get(EventPublisher);
    for (let i = 0; i < 5; i++) eventsA.push(await publisher.publish(input('test.dlq.created', a.workspaceId, { i })));
    for (let i = 0; i < 2; i++) eventsB.push(await publisher.publish(input('test.dlq.created', b.workspaceId, { i })));
    await waitUntil(async () => {
      expect(await t.redis.call('XLEN', keysOf(t).dlq)).toBe(7);
      expect(await pendingCount(t)).toBe(0);
    });
  });
  afterAll(() => t.close());

  async function listAll(token: string, limit: number): Promise<{ pages: number; ids: string[] }> {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await t.request('GET', `/admin/events/dlq?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, { token });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(limit);
      ids.push(...res.body.items.map((item: { eventId: string }) => item.eventId));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    return { pages, ids };
  }

  it('lists only the caller workspace entries, newest first, in pages', async () => {
    const first = await t.request('GET', '/admin/events/dlq?limit=2', { token: adminA });
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toMatch(/^\d+-\d+$/);
    const item = first.body.items[0];
    expect(item).toMatchObject({ eventId: eventsA[4]!.id, type: 'test.dlq.created', attempts: 1 });
    expect(item.error).toContain(`fragile: Error: cannot handle ${eventsA[4]!.id}`);
    expect(item.event).toMatchObject({ id: eventsA[4]!.id, correlationId: eventsA[4]!.correlationId, data: eventsA[4]!.data });
    expect(Number.isNaN(Date.parse(item.movedAt))).toBe(false);

    const a = await listAll(adminA, 2);
    expect(a.ids).toEqual(eventsA.map((e) => e.id).reverse());
    expect(a.pages).toBe(3);
    const b = await listAll(adminB, 20);
    expect(b.ids).toEqual(eventsB.map((e) => e.id).reverse());
  });

  it('validates the query and needs the admin role', async () => {
    for (const query of ['limit=0', 'limit=101', 'limit=abc', 'cursor=nope', 'other=1']) {
      const res = await t.request('GET', `/admin/events/dlq?${query}`, { token: adminA });
      expect(res.status, query).toBe(400);
    }
    expect((await t.request('GET', '/admin/events/dlq', { token: memberA })).status).toBe(403);
    expect((await t.request('POST', `/admin/events/dlq/${eventsA[0]!.id}/retry`, { token: memberA })).status).toBe(403);
    expect((await t.request('GET', '/admin/events/dlq')).status).toBe(401);
  });

  it("answers 404 for another workspace's or an unknown event, and 400 for a malformed id", async () => {
    const foreign = eventsB[0]!.id;
    expect((await t.request('POST', `/admin/events/dlq/${foreign}/retry`, { token: adminA })).status).toBe(404);
    expect((await t.request('DELETE', `/admin/events/dlq/${foreign}`, { token: adminA })).status).toBe(404);
    expect((await t.request('POST', '/admin/events/dlq/no-such-event/retry', { token: adminA })).status).toBe(404);
    expect((await t.request('DELETE', '/admin/events/dlq/no-such-event', { token: adminA })).status).toBe(404);
    const malformed = await t.request('POST', `/admin/events/dlq/${encodeURIComponent('bad id')}/retry`, { token: adminA });
    expect(malformed.status).toBe(400);
    expect(malformed.body.message[0]).toMatch(/^eventId/);
    const tooLong = await t.request('DELETE', `/admin/events/dlq/${'x'.repeat(200)}`, { token: adminA });
    expect(tooLong.status).toBe(400);
    // Nothing changed for the owner of the event.
    expect((await listAll(adminB, 20)).ids).toHaveLength(2);
  });

  it('retries an event under its original id and correlation id, with a fresh set of attempts', async () => {
    const event = eventsA[1]!;
    healed.add(event.id);
    const res = await t.request('POST', `/admin/events/dlq/${event.id}/retry`, { token: adminA });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ eventId: event.id, status: 'requeued' });

    await waitUntil(async () => {
      expect((await metadataOf(t, event.id))?.status).toBe('COMPLETED');
      expect(await pendingCount(t)).toBe(0);
    });
    const row = (await metadataOf(t, event.id))!;
    expect(row.attempts).toBe(1);
    expect(row.stream_id).toBe(res.body.streamId);
    const [entry] = toEntries(await t.redis.call('XRANGE', keysOf(t).main, res.body.streamId, res.body.streamId));
    expect(JSON.parse(fieldValue(entry!.fields, 'event')!)).toEqual(event);
    expect((await listAll(adminA, 100)).ids).not.toContain(event.id);
    expect(await t.redis.hget(keysOf(t).dlqIndex, event.id)).toBeNull();
    expect((await t.request('POST', `/admin/events/dlq/${event.id}/retry`, { token: adminA })).status).toBe(404);
  });

  it('a retried event that fails again goes back to the DLQ after its attempts', async () => {
    const event = eventsA[2]!;
    expect((await t.request('POST', `/admin/events/dlq/${event.id}/retry`, { token: adminA })).status).toBe(202);
    await waitUntil(async () => {
      expect(await t.redis.hget(keysOf(t).dlqIndex, event.id)).not.toBeNull();
      expect((await metadataOf(t, event.id))?.status).toBe('DLQ');
    });
    expect((await metadataOf(t, event.id))!.attempts).toBe(1);
    expect((await listAll(adminA, 100)).ids[0]).toBe(event.id);
  });

  it('deletes an entry; its metadata keeps status DLQ', async () => {
    const event = eventsA[0]!;
    const res = await t.request('DELETE', `/admin/events/dlq/${event.id}`, { token: adminA });
    expect(res.status).toBe(204);
    expect((await listAll(adminA, 100)).ids).not.toContain(event.id);
    expect((await metadataOf(t, event.id))!.status).toBe('DLQ');
    expect((await t.request('DELETE', `/admin/events/dlq/${event.id}`, { token: adminA })).status).toBe(404);
  });
});
