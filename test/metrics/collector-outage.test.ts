import { EventPublisher } from '../../src/events/event-publisher.service.js';
import { createTestDatabase } from '../support/database.js';
import { parseExposition, type Exposition } from '../support/exposition.js';
import { PrivateRedis } from '../support/redis-server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const SCRAPE_BUDGET_MS = 2000;

async function timedScrape(t: TestApp): Promise<Exposition> {
  const started = Date.now();
  const res = await fetch(`${t.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  expect(res.status).toBe(200);
  expect(Date.now() - started).toBeLessThan(SCRAPE_BUDGET_MS);
  return parseExposition(text);
}

describe('/metrics while Redis and then PostgreSQL are unreachable', () => {
  let redis: PrivateRedis;
  let proxy: TcpProxy;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let t: TestApp;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    database = await createTestDatabase();
    const target = new URL(database.url);
    proxy = new TcpProxy(target.hostname, Number(target.port));
    await proxy.start();
    target.port = String(proxy.port);
    t = await startTestApp({
      databaseUrl: target.toString(),
      env: {
        REDIS_URL: redis.url,
        METRICS_COLLECT_INTERVAL_SECONDS: '0.2',
        METRICS_COLLECT_TIMEOUT_MS: '500',
        REDIS_COMMAND_TIMEOUT_MS: '500',
        DATABASE_CONNECT_TIMEOUT_MS: '1000',
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await proxy.stop();
    await redis.stop();
    await database.drop();
  });

  it('keeps answering with last known values and collector_up 0, then recovers', async () => {
    const { token } = await t.token('outage', 'admin');
    await t.app.get(EventPublisher).publishBatch([1, 2, 3].map((i) => ({ type: 'approval.item.created', data: { i }, tenantId: 'w' })));
    await t.request('POST', '/approvals', { token, body: { type: 'content', title: 't', confidenceScore: 10 } });
    await vi.waitFor(async () => {
      const m = await timedScrape(t);
      expect(m.value('event_bus_stream_length', { stream: 'main' })).toBe(4); // three published + approval.item.created
      expect(m.value('approval_queue_depth', { status: 'pending' })).toBe(1);
      for (const collector of ['event_bus', 'event_metadata', 'approvals', 'ai_providers']) {
        expect(m.value('metrics_collector_up', { collector })).toBe(1);
      }
    }, { timeout: 5000, interval: 100 });

    // Redis down: only the Redis-backed collector is affected.
    await redis.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await vi.waitFor(async () => expect((await timedScrape(t)).value('metrics_collector_up', { collector: 'event_bus' })).toBe(0), { timeout: 5000 });
    let m = await timedScrape(t);
    expect(m.value('event_bus_stream_length', { stream: 'main' })).toBe(4); // three published + approval.item.created
    expect(m.value('metrics_collector_up', { collector: 'approvals' })).toBe(1);
    const lastRedisSuccess = m.value('metrics_collector_last_success_timestamp_seconds', { collector: 'event_bus' })!;
    expect(lastRedisSuccess).toBeGreaterThan(0);

    await redis.start();
    await vi.waitFor(async () => {
      const after = await timedScrape(t);
      expect(after.value('metrics_collector_up', { collector: 'event_bus' })).toBe(1);
      expect(after.value('metrics_collector_last_success_timestamp_seconds', { collector: 'event_bus' })).toBeGreaterThan(lastRedisSuccess);
    }, { timeout: 10_000, interval: 200 });

    // PostgreSQL unreachable: connections hang (the worst case), every database-backed collector goes down.
    proxy.setMode('blackhole');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await vi.waitFor(async () => {
      const down = await timedScrape(t);
      for (const collector of ['event_metadata', 'approvals', 'ai_providers']) {
        expect(down.value('metrics_collector_up', { collector })).toBe(0);
      }
    }, { timeout: 8000, interval: 200 });
    m = await timedScrape(t);
    expect(m.value('approval_queue_depth', { status: 'pending' })).toBe(1);
    expect(m.value('metrics_collector_up', { collector: 'event_bus' })).toBe(1);
    for (let i = 0; i < 5; i++) await timedScrape(t);

    proxy.setMode('forward');
    await vi.waitFor(async () => {
      const after = await timedScrape(t);
      for (const collector of ['event_metadata', 'approvals', 'ai_providers']) {
        expect(after.value('metrics_collector_up', { collector })).toBe(1);
      }
    }, { timeout: 15_000, interval: 250 });
    expect(t.logs.text).toMatch(/refresh failing/);
    expect(t.logs.text).toMatch(/refresh recovered/);
  });
});
