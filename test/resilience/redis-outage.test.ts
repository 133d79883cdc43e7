import { parseExposition } from '../support/exposition.js';
import { PrivateRedis } from '../support/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { leaked, startTraffic, tableChecksums, timed, trafficProblems, type TrafficRequest } from './helpers.js';

/**
 * A private redis-server is killed while mixed traffic flows, then started again (empty, as after losing a
 * Redis without persistence). The API must keep answering — fast, with a clear 503 for what needs Redis,
 * normally for what does not — write nothing half-way, and recover without a restart.
 */
const TIMEOUTS = {
  REDIS_COMMAND_TIMEOUT_MS: '500',
  DATABASE_CONNECT_TIMEOUT_MS: '500',
  METRICS_COLLECT_INTERVAL_SECONDS: '0.2',
  METRICS_COLLECT_TIMEOUT_MS: '500',
};
/** A request "hangs" beyond this: an order of magnitude above the timeouts configured above. */
const HANG_MS = 5_000;
const SCRAPE_LIMIT_MS = 2_000;

describe('Redis outage under traffic', () => {
  let redis: PrivateRedis;
  let t: TestApp;
  let member: { token: string; workspaceId: string };
  let admin: string;
  let traffic: ReturnType<typeof startTraffic> | undefined;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    t = await startTestApp({
      env: { ...TIMEOUTS, REDIS_URL: redis.url, EVENT_BUS_CONSUMER_ENABLED: 'true', EVENT_BUS_BLOCK_MS: '200', EVENT_BUS_CLAIM_IDLE_MS: '2000' },
    });
    member = await t.token('redis-outage', 'member');
    admin = (await t.token('redis-outage', 'admin')).token;
  });
  afterAll(async () => {
    await traffic?.stop();
    // The test's own Redis client waits for its server: bring it back before closing.
    await redis.start().catch(() => undefined);
    await t.close();
    await redis.stop();
  });

  const scrape = async () => {
    const { value: response, ms } = await timed(() => fetch(`${t.url}/metrics`));
    return { status: response.status, ms, metrics: parseExposition(await response.text()) };
  };
  const eventCount = async () => Number((await t.pool.query(`SELECT count(*) FROM event_metadata`)).rows[0].count);

  it('answers 503 fast for what needs Redis, writes nothing half-way, serves the rest, and recovers by itself', async () => {
    let publishing = true;
    const mix = (i: number): TrafficRequest =>
      [
        { method: 'GET', path: '/me', token: member.token },
        { method: 'GET', path: '/approvals?limit=5', token: member.token },
        publishing
          ? { method: 'POST', path: '/events', token: member.token, body: { type: 'outage.traffic.created', data: { i } } }
          : { method: 'GET', path: '/me', token: member.token },
        { method: 'GET', path: '/health/ready' },
        { method: 'GET', path: '/metrics' },
        { method: 'GET', path: '/admin/events/stats', token: admin },
      ][i % 6]!;
    const waiting = (await t.request('POST', '/approvals', { token: member.token, body: { type: 'outage', title: 'before', confidenceScore: 10 } })).body;
    expect(waiting.status).toBe('pending');
    traffic = startTraffic(t.url, mix);
    traffic.setPhase('up');
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Everything published so far is consumed before the server (and its data) goes away.
    publishing = false;
    await vi.waitFor(async () => {
      const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM event_metadata WHERE status <> 'COMPLETED'`);
      expect(rows[0].n).toBe(0);
    }, { timeout: 10_000, interval: 100 });

    traffic.setPhase('down');
    await redis.stop();
    publishing = true;

    // Readiness names Redis, quickly; PostgreSQL stays up.
    const ready = await timed(() => t.request('GET', '/health/ready'));
    expect(ready.ms).toBeLessThan(HANG_MS);
    expect(ready.value.status).toBe(503);
    expect(ready.value.body.details).toMatchObject({ redis: { status: 'down' }, postgres: { status: 'up' } });

    // /metrics keeps answering within 2 s; the Redis-backed collector says it is down, the others are up.
    await vi.waitFor(async () => {
      const { status, ms, metrics } = await scrape();
      expect(status).toBe(200);
      expect(ms).toBeLessThan(SCRAPE_LIMIT_MS);
      expect(metrics.value('metrics_collector_up', { collector: 'event_bus' })).toBe(0);
    }, { timeout: 5_000, interval: 200 });
    const { metrics } = await scrape();
    for (const collector of ['approvals', 'ai_providers', 'event_metadata']) expect(metrics.value('metrics_collector_up', { collector })).toBe(1);

    // Publishing fails with a clear error and writes nothing: no EventMetadata row appears.
    const events = await eventCount();
    const published = await timed(() => t.request('POST', '/events', { token: member.token, body: { type: 'outage.single.created', data: {} } }));
    expect(published.ms).toBeLessThan(HANG_MS);
    expect(published.value.status).toBe(503);
    expect(published.value.body.message).toBe('Redis is unavailable; try again shortly');
    expect(await eventCount()).toBe(events);

    // Approvals announce every change on the bus: with the bus down they refuse (503) instead of committing a
    // change whose event would be lost.
    const before = await tableChecksums(t.pool);
    const created = await t.request('POST', '/approvals', { token: member.token, body: { type: 'outage', title: 'during', confidenceScore: 90 } });
    expect(created.status).toBe(503);
    expect(created.body.message).toBe('Redis is unavailable; try again shortly');
    const approved = await t.request('POST', `/approvals/${waiting.id}/approve`, { token: admin, body: {} });
    expect(approved.status).toBe(503);
    const bulk = await t.request('POST', '/approvals/bulk', { token: admin, body: { ids: [waiting.id], action: 'cancel' } });
    expect(bulk.status).toBe(503);
    expect(await tableChecksums(t.pool)).toEqual(before);

    // What does not need Redis keeps working.
    expect((await t.request('GET', '/me', { token: member.token })).status).toBe(200);
    expect((await t.request('GET', '/approvals', { token: member.token })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    traffic.setPhase('recovering');
    await redis.start();
    await vi.waitFor(async () => expect((await t.request('GET', '/health/ready')).status).toBe(200), { timeout: 15_000, interval: 200 });
    traffic.setPhase('recovered');
    const after = await t.request('POST', '/events', { token: member.token, body: { type: 'outage.after.created', data: {} } });
    expect(after.status).toBe(201);
    const item = await t.request('POST', '/approvals', { token: member.token, body: { type: 'outage', title: 'after', confidenceScore: 90 } });
    expect(item.status).toBe(201);
    expect((await t.request('POST', `/approvals/${waiting.id}/approve`, { token: admin, body: {} })).status).toBe(200);
    // The consumer recovered too (it re-creates its group on the empty server) and processes new events.
    await vi.waitFor(async () => {
      const { rows } = await t.pool.query(`SELECT status FROM event_metadata WHERE event_id = $1`, [after.body.id]);
      expect(rows[0]?.status).toBe('COMPLETED');
    }, { timeout: 15_000, interval: 100 });
    await vi.waitFor(async () => expect((await scrape()).metrics.value('metrics_collector_up', { collector: 'event_bus' })).toBe(1), { timeout: 5_000, interval: 200 });
    await new Promise((resolve) => setTimeout(resolve, 300));

    const { within } = traffic;
    const samples = await traffic.stop();
    traffic = undefined;
    expect(trafficProblems(samples, HANG_MS)).toEqual([]);
    const down = within('down');
    expect(down.length).toBeGreaterThan(20);
    // During the outage: publishing and the bus's admin figures 503, identity and reads 200.
    expect(new Set(down.filter((s) => s.path === '/events').map((s) => s.status))).toEqual(new Set([503]));
    expect(new Set(down.filter((s) => s.path === '/me').map((s) => s.status))).toEqual(new Set([200]));
    expect(new Set(down.filter((s) => s.path.startsWith('/approvals')).map((s) => s.status))).toEqual(new Set([200]));
    expect(new Set(down.filter((s) => s.path === '/metrics').map((s) => s.status))).toEqual(new Set([200]));
    const recovered = within('recovered');
    expect(recovered.every((s) => s.status < 400)).toBe(true);

    // Nothing about the outage leaked tokens or workspace ids into the logs.
    expect(leaked(t.logs.text, [member.token, admin, member.workspaceId])).toEqual([]);
  }, 60_000);
});
