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

  it('the decision is committed and answered; the lost event is logged', async () => {
    const { token: memberToken } = await t.token('outage', 'member');
    const { token } = await t.token('outage', 'admin');
    const item = await createApproval(t, memberToken, { confidenceScore: 30 });
    await redis.stop();

    const res = await t.request('POST', `/approvals/${item.id}/approve`, { token });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('approved');
    const stored = await t.pool.query(`SELECT status FROM approval_items WHERE id = $1`, [item.id]);
    expect(stored.rows[0].status).toBe('approved');
    expect(t.logs.text).toMatch(new RegExp(`Approval event\\(s\\) lost, the change itself is committed \\[approved:${item.id}\\]`));
    expect(t.logs.text).not.toContain(token);
    expect((await t.request('POST', `/approvals/${item.id}/approve`, { token })).status).toBe(409);

    // Creation too: the item exists even though its events could not be published.
    const created = await t.request('POST', '/approvals', { token: memberToken, body: { type: 'x', title: 'y', confidenceScore: 90 } });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('auto_approved');
  });
});
