import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { loadConfig } from '../../src/config/app-config.js';
import { createPool, PG_POOL } from '../../src/db/db.module.js';
import { EventPublisher } from '../../src/events/event-publisher.service.js';
import { createTestDatabase } from '../support/database.js';
import { TEST_PG_URL } from '../support/env.js';
import { parseExposition } from '../support/exposition.js';
import { PrivateRedis } from '../support/redis-server.js';
import { TcpProxy, type ProxyMode } from '../support/tcp-proxy.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { leaked, startTraffic, timed, trafficProblems, type TrafficRequest } from './helpers.js';

/**
 * PostgreSQL made unreachable through a TCP proxy (refused like a stopped server, then black-holed like a hung
 * network), then PostgreSQL and Redis both down, while traffic flows and the app keeps publishing events
 * internally. Readiness names the dependency, /metrics answers within 2 s with its collectors down, requests
 * fail fast with a clear 503, and everything (including the consumer's backlog) recovers without a restart.
 */
const TIMEOUTS = {
  DATABASE_CONNECT_TIMEOUT_MS: '500',
  DATABASE_STATEMENT_TIMEOUT_MS: '1000',
  REDIS_COMMAND_TIMEOUT_MS: '500',
  METRICS_COLLECT_INTERVAL_SECONDS: '0.2',
  METRICS_COLLECT_TIMEOUT_MS: '500',
};
const HANG_MS = 5_000;
const SCRAPE_LIMIT_MS = 2_000;
const PG_COLLECTORS = ['approvals', 'ai_providers', 'event_metadata'];
const BACKLOG = 50;
/** Connection attempts begun during the outage end (fail or time out) within the connect timeout. */
const SETTLE_MS = Number(TIMEOUTS.DATABASE_CONNECT_TIMEOUT_MS) + 200;

describe('PostgreSQL (and Redis) outage under traffic', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let proxy: TcpProxy;
  let redis: PrivateRedis;
  let direct: pg.Pool;
  let t: TestApp;
  let member: { token: string; workspaceId: string };
  let traffic: ReturnType<typeof startTraffic> | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    const { hostname, port } = new URL(TEST_PG_URL);
    proxy = new TcpProxy(hostname, Number(port));
    await proxy.start();
    redis = await PrivateRedis.start();
    const proxied = new URL(database.url);
    proxied.port = String(proxy.port);
    t = await startTestApp({
      databaseUrl: proxied.toString(),
      env: { ...TIMEOUTS, REDIS_URL: redis.url, EVENT_BUS_CONSUMER_ENABLED: 'true', EVENT_BUS_BLOCK_MS: '200' },
    });
    // The test's own view of the database, around the proxy.
    direct = new pg.Pool({ connectionString: database.url, max: 2 });
    member = await t.token('pg-outage', 'member');
  });
  afterAll(async () => {
    await traffic?.stop();
    proxy.setMode('forward');
    await redis.start().catch(() => undefined);
    await t.close();
    await direct.end();
    await proxy.stop();
    await redis.stop();
    await database.drop();
  });

  const scrape = async () => {
    const { value: response, ms } = await timed(() => fetch(`${t.url}/metrics`));
    return { status: response.status, ms, metrics: parseExposition(await response.text()) };
  };
  const collectorsUp = async () => {
    const { metrics } = await scrape();
    return Object.fromEntries(['event_bus', ...PG_COLLECTORS].map((c) => [c, metrics.value('metrics_collector_up', { collector: c })]));
  };
  const expectCollectors = (down: string[]) =>
    vi.waitFor(async () => {
      const { status, ms } = await scrape();
      expect(status).toBe(200);
      expect(ms).toBeLessThan(SCRAPE_LIMIT_MS);
      const up = await collectorsUp();
      for (const [collector, value] of Object.entries(up)) expect(value, collector).toBe(down.includes(collector) ? 0 : 1);
    }, { timeout: 8_000, interval: 200 });

  /** Checks made in each outage phase: readiness, metrics, a fast clear 503 for API calls. */
  async function expectPostgresDown(redisDown: boolean): Promise<void> {
    const ready = await timed(() => t.request('GET', '/health/ready'));
    expect(ready.ms).toBeLessThan(HANG_MS);
    expect(ready.value.status).toBe(503);
    expect(ready.value.body.details.postgres.status).toBe('down');
    expect(ready.value.body.details.redis.status).toBe(redisDown ? 'down' : 'up');
    await expectCollectors(redisDown ? ['event_bus', ...PG_COLLECTORS] : PG_COLLECTORS);

    // Every authenticated route needs the database (the token is looked up there): a fast, clear 503.
    for (const [method, path, body] of [
      ['GET', '/approvals'],
      ['POST', '/approvals', { type: 'x', title: 'y', confidenceScore: 50 }],
      ['POST', '/events', { type: 'pgoutage.api.created', data: {} }],
    ] as [string, string, unknown?][]) {
      const res = await timed(() => t.request(method, path, { token: member.token, body }));
      expect(res.ms, `${method} ${path}`).toBeLessThan(HANG_MS);
      expect(res.value.status, `${method} ${path}`).toBe(503);
      expect(res.value.body.message).toBe('PostgreSQL is unavailable; try again shortly');
    }
    expect((await t.request('GET', '/health/live')).status).toBe(200);
  }

  const expectCompleted = (eventIds: string[]) =>
    vi.waitFor(async () => {
      const { rows } = await direct.query(`SELECT status, count(*)::int AS n FROM event_metadata WHERE event_id = ANY($1) GROUP BY status`, [eventIds]);
      expect(rows).toEqual([{ status: 'COMPLETED', n: eventIds.length }]);
    }, { timeout: 20_000, interval: 200 });

  /** Events published inside the app while the database is away: XADD works, the metadata row comes later. */
  async function publishBacklog(tag: string): Promise<string[]> {
    const inputs = Array.from({ length: BACKLOG }, (_, i) => ({ type: 'pgoutage.backlog.created', tenantId: member.workspaceId, data: { tag, i } }));
    const published = await t.app.get(EventPublisher).publishBatch(inputs);
    return published.map((event) => event.id);
  }

  it('refused, then black-holed, then together with Redis: fast 503s, metrics within 2 s, full recovery, no lost event', async () => {
    const mix = (i: number): TrafficRequest =>
      [
        { method: 'GET', path: '/me', token: member.token },
        { method: 'GET', path: '/approvals?limit=5', token: member.token },
        { method: 'POST', path: '/events', token: member.token, body: { type: 'pgoutage.traffic.created', data: { i } } },
        { method: 'GET', path: '/health/ready' },
        { method: 'GET', path: '/metrics' },
      ][i % 5]!;
    traffic = startTraffic(t.url, mix);
    traffic.setPhase('up');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const backlog: string[] = [];

    for (const mode of ['refuse', 'blackhole'] as ProxyMode[]) {
      // Requests that start while the switch happens belong to no phase.
      traffic.setPhase(`${mode}: switching`);
      proxy.setMode(mode);
      traffic.setPhase(mode);
      await expectPostgresDown(false);
      backlog.push(...(await publishBacklog(mode)));
      traffic.setPhase(`${mode}: recovering`);
      proxy.setMode('forward');
      await vi.waitFor(async () => expect((await t.request('GET', '/health/ready')).status).toBe(200), { timeout: 15_000, interval: 200 });
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      traffic.setPhase(`${mode}: recovered`);
      await expectCollectors([]);
      // Every event published while the database was away is processed once it is back: none lost.
      await expectCompleted(backlog);
    }

    traffic.setPhase('both: switching');
    proxy.setMode('refuse');
    await redis.stop();
    traffic.setPhase('both');
    await expectPostgresDown(true);
    traffic.setPhase('both: recovering');
    await redis.start();
    proxy.setMode('forward');
    await vi.waitFor(async () => expect((await t.request('GET', '/health/ready')).status).toBe(200), { timeout: 15_000, interval: 200 });
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    traffic.setPhase('both: recovered');
    await expectCollectors([]);
    const after = await t.request('POST', '/events', { token: member.token, body: { type: 'pgoutage.after.created', data: {} } });
    expect(after.status).toBe(201);
    await expectCompleted([after.body.id]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { within } = traffic;
    const samples = await traffic.stop();
    traffic = undefined;

    // Nothing leaked from the pool while connections died under it: once quiet, every client is idle again.
    const appPool = t.app.get(PG_POOL) as pg.Pool;
    await vi.waitFor(() => expect({ checkedOut: appPool.totalCount - appPool.idleCount, waiting: appPool.waitingCount }).toEqual({ checkedOut: 0, waiting: 0 }), {
      timeout: 10_000,
      interval: 100,
    });

    expect(trafficProblems(samples, HANG_MS)).toEqual([]);
    for (const phase of ['refuse', 'blackhole', 'both']) {
      const during = within(phase).filter((s) => s.path !== '/metrics' && s.path !== '/health/ready');
      expect(during.length, phase).toBeGreaterThan(0);
      expect(during.filter((s) => s.status !== 503).map((s) => `${s.method} ${s.path} → ${s.status} ${Math.round(s.ms)}ms`), phase).toEqual([]);
      expect(within(phase).filter((s) => s.path === '/metrics').every((s) => s.status === 200), phase).toBe(true);
    }
    for (const phase of ['refuse: recovered', 'blackhole: recovered', 'both: recovered']) {
      expect(within(phase).filter((s) => s.status >= 400).map((s) => `${s.method} ${s.path} → ${s.status} ${s.text.slice(0, 120)}`), phase).toEqual([]);
    }
    // No query parameter (workspace ids, event ids) or token reached the logs through the outage errors.
    expect(leaked(t.logs.text, [member.token, member.workspaceId])).toEqual([]);
  }, 120_000);
  it('a transaction whose connection dies between checkout and BEGIN gives its client back (drizzle-orm#6241)', async () => {
    const proxied = new URL(database.url);
    proxied.port = String(proxy.port);
    const pool = createPool(loadConfig({ DATABASE_URL: proxied.toString(), DATABASE_POOL_MAX: '1', DATABASE_CONNECT_TIMEOUT_MS: '500' }));
    const db = drizzle(pool);
    try {
      await db.execute(sql`SELECT 1`);
      // The only connection dies the moment the transaction has checked it out, before BEGIN is sent.
      const kill = () => proxy.setMode('refuse');
      pool.once('acquire', kill);
      await expect(db.transaction((tx) => tx.execute(sql`SELECT 1`))).rejects.toThrow();
      proxy.setMode('forward');
      // With the client leaked, the pool (max 1) would have nothing to give: connect would time out.
      expect(pool.totalCount - pool.idleCount).toBe(0);
      await expect(db.transaction((tx) => tx.execute(sql`SELECT 1 AS ok`))).resolves.toMatchObject({ rows: [{ ok: 1 }] });
    } finally {
      proxy.setMode('forward');
      await pool.end();
    }
  });
});
