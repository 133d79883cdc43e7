import { PrivateRedis } from '../support/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { createApproval } from './helpers.js';

// Its own file: the pino root logger is process-wide, so only the first app of a test process captures logs.
describe('decisions while Redis is down', () => {
  let redis: PrivateRedis;
  let t: TestApp;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    t = await startTestApp({ env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '500' } });
  });
  afterAll(async () => {
    // The test's own Redis client queues commands while disconnected: bring the server back before closing.
    await redis.start();
    await t.close();
    await redis.stop();
  });

  // Changes are announced on the bus after they commit and there is no outbox: with the bus down they are
  // refused (503) before anything is written, rather than committed with their event lost.
  it('refuses decisions and new items with a 503 and writes nothing; both work again once Redis is back', async () => {
    const { token: memberToken } = await t.token('outage', 'member');
    const { token } = await t.token('outage', 'admin');
    const item = await createApproval(t, memberToken, { confidenceScore: 30 });
    await redis.stop();

    const res = await t.request('POST', `/approvals/${item.id}/approve`, { token });
    expect(res.status).toBe(503);
    expect(res.body.message).toBe('Redis is unavailable; try again shortly');
    const stored = await t.pool.query(`SELECT status FROM approval_items WHERE id = $1`, [item.id]);
    expect(stored.rows[0].status).toBe('pending');
    const created = await t.request('POST', '/approvals', { token: memberToken, body: { type: 'x', title: 'y', confidenceScore: 90 } });
    expect(created.status).toBe(503);
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM approval_items`)).rows[0].n).toBe(1);
    expect(t.logs.text).not.toContain(token);

    await redis.start();
    await vi.waitFor(async () => expect((await t.request('POST', `/approvals/${item.id}/approve`, { token })).status).toBe(200), {
      timeout: 10_000,
      interval: 200,
    });
  });
});
