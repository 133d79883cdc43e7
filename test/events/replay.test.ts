import type { EventEnvelope } from '../../src/events/event-envelope.js';
import { EventPublisher } from '../../src/events/event-publisher.service.js';
import { parseEnvelope, toEntries } from '../../src/events/event-stream.js';
import type { TestApp } from '../support/test-app.js';
import { input, keysOf, startEventsApp, waitUntil } from './helpers.js';

describe('event replay', () => {
  let t: TestApp;
  let adminA: { token: string; workspaceId: string };
  let adminB: { token: string; workspaceId: string };
  const early: EventEnvelope[] = [];
  const late: EventEnvelope[] = [];
  let windowStart: string;
  let windowMiddle: string;

  beforeAll(async () => {
    t = await startEventsApp({ env: { EVENT_BUS_REPLAY_BATCH_SIZE: '3' } });
    adminA = await t.token('replay-a', 'admin');
    adminB = await t.token('replay-b', 'admin');
    const publisher = t.app.get(EventPublisher);
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    windowStart = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < 4; i++) {
      early.push(await publisher.publish({ ...input('test.replay.created', adminA.workspaceId, { i }), correlationId: `corr-${i}` }));
      await publisher.publish(input('test.replay.created', adminB.workspaceId, { i }));
    }
    for (let i = 0; i < 3; i++) early.push(await publisher.publish(input('test.replay.updated', adminA.workspaceId, { i })));
    await sleep(20);
    windowMiddle = new Date().toISOString();
    await sleep(20);
    for (let i = 0; i < 2; i++) late.push(await publisher.publish(input('test.replay.created', adminA.workspaceId, { late: i })));
  });
  afterAll(() => t.close());

  async function replay(token: string, body: unknown) {
    return t.request('POST', '/admin/events/replay', { token, body });
  }

  async function finished(token: string, jobId: string) {
    let job: any;
    await waitUntil(async () => {
      const res = await t.request('GET', `/admin/events/replay/${jobId}`, { token });
      expect(res.status).toBe(200);
      job = res.body;
      expect(job.status).toBe('COMPLETED');
    });
    return job;
  }

  async function replaysOf(ids: string[]): Promise<EventEnvelope[]> {
    const all = toEntries(await t.redis.call('XRANGE', keysOf(t).main, '-', '+')).map((e) => parseEnvelope(e.fields)!);
    return all.filter((e) => e.replayOf !== undefined && ids.includes(e.replayOf));
  }

  it("re-publishes the workspace's events of the window and types, in batches, as marked copies", async () => {
    const created = early.filter((e) => e.type === 'test.replay.created');
    const res = await replay(adminA.token, { startTime: windowStart, endTime: windowMiddle, eventTypes: ['test.replay.created'] });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'PENDING', eventsReplayed: 0, totalEvents: created.length, errors: 0 });
    const job = await finished(adminA.token, res.body.id);
    expect(job).toMatchObject({ id: res.body.id, eventsReplayed: 4, totalEvents: 4, errors: 0, errorMessage: null });
    expect(Date.parse(job.completedAt)).toBeGreaterThanOrEqual(Date.parse(job.startedAt));

    const copies = await replaysOf(created.map((e) => e.id));
    expect(copies).toHaveLength(4);
    for (const original of created) {
      const copy = copies.find((c) => c.replayOf === original.id)!;
      expect(copy.id).not.toBe(original.id);
      expect(copy).toMatchObject({
        type: original.type,
        source: 'replay',
        tenantId: adminA.workspaceId,
        correlationId: original.correlationId,
        timestamp: original.timestamp,
        data: original.data,
      });
    }
    const { rows } = await t.pool.query('SELECT count(*)::int AS n FROM event_metadata WHERE replay_of IS NOT NULL AND source = $1', ['replay']);
    expect(rows[0].n).toBe(4);
  });

  it('replays every type when none is given, but never replays replays', async () => {
    const res = await replay(adminA.token, { startTime: windowStart, endTime: new Date(Date.now() + 60_000).toISOString() });
    expect(res.status).toBe(202);
    const job = await finished(adminA.token, res.body.id);
    expect(job.eventsReplayed).toBe(early.length + late.length);
    expect(await replaysOf([...early, ...late].map((e) => e.id))).toHaveLength(4 + early.length + late.length);
  });

  it("is tenant-isolated: another workspace's job is 404, and a workspace with nothing to replay gets 0", async () => {
    const res = await replay(adminA.token, { startTime: windowStart, endTime: windowMiddle });
    const other = await t.request('GET', `/admin/events/replay/${res.body.id}`, { token: adminB.token });
    expect(other.status).toBe(404);
    await finished(adminA.token, res.body.id);
    expect((await t.request('GET', '/admin/events/replay/not-a-uuid', { token: adminA.token })).status).toBe(400);
    expect((await t.request('GET', '/admin/events/replay/00000000-0000-4000-8000-000000000000', { token: adminA.token })).status).toBe(404);

    const { token } = await t.token('replay-empty', 'owner');
    const empty = await replay(token, { startTime: windowStart, endTime: windowMiddle });
    expect((await finished(token, empty.body.id)).eventsReplayed).toBe(0);
  });

  it('validates the request and needs the admin role', async () => {
    const day = 24 * 3_600_000;
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const cases: [unknown, RegExp][] = [
      [{ startTime: 'yesterday', endTime: iso(now) }, /^startTime must be an ISO 8601 date/],
      [{ startTime: iso(now - day) }, /^endTime must be an ISO 8601 date/],
      [{ startTime: iso(now - 1000), endTime: iso(now - 2000) }, /^startTime must be before endTime/],
      [{ startTime: iso(now + day), endTime: iso(now + 2 * day) }, /^startTime must be in the past/],
      [{ startTime: iso(now - 40 * day), endTime: iso(now) }, /at most 31 days/],
      [{ startTime: iso(now - day), endTime: iso(now), eventTypes: 'test.replay.created' }, /^eventTypes must be an array/],
      [{ startTime: iso(now - day), endTime: iso(now), eventTypes: ['Bad'] }, /eventTypes must look like/],
      [{ startTime: iso(now - day), endTime: iso(now), eventTypes: Array.from({ length: 51 }, (_, i) => `a.b.c${i}`) }, /^eventTypes must contain no more than 50 elements/],
      [{ startTime: iso(now - day), endTime: iso(now), tenantId: adminB.workspaceId }, /tenantId should not exist/],
    ];
    for (const [body, message] of cases) {
      const res = await replay(adminA.token, body);
      expect(res.status, JSON.stringify(body).slice(0, 100)).toBe(400);
      const messages: string[] = Array.isArray(res.body.message) ? res.body.message : [res.body.message];
      expect(messages.some((m) => message.test(m)), JSON.stringify(messages)).toBe(true);
    }
    const { token } = await t.token('replay-a', 'member');
    expect((await replay(token, { startTime: windowStart, endTime: windowMiddle })).status).toBe(403);
  });
});
