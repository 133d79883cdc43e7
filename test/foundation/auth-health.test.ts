import { startTestApp, type TestApp } from '../support/test-app.js';
import { PrivateRedis } from '../support/redis-server.js';

describe('auth and health', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('GET /me answers the workspace and role of a valid token', async () => {
    const { token, workspaceId } = await t.token('acme', 'admin');
    const res = await t.request('GET', '/me', { token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ workspace: { id: workspaceId, slug: 'acme' }, role: 'admin' });
  });

  it('rejects missing, malformed and unknown tokens with 401', async () => {
    expect((await t.request('GET', '/me')).status).toBe(401);
    const malformed = await t.request('GET', '/me', { headers: { authorization: 'Token abc' } });
    expect(malformed.status).toBe(401);
    expect(malformed.body.message).toMatch(/Malformed Authorization header/);
    const unknown = await t.request('GET', '/me', { token: 'hyv_notarealtoken' });
    expect(unknown.status).toBe(401);
    expect(unknown.body.message).toBe('Unknown or revoked token');
  });

  it('never stores the token in clear', async () => {
    const { token } = await t.token('acme', 'member');
    const rows = await t.pool.query('SELECT token_hash FROM api_tokens');
    expect(JSON.stringify(rows.rows)).not.toContain(token);
    expect(JSON.stringify(rows.rows)).not.toContain(token.slice(4));
  });

  it('answers unknown routes with a JSON 404 and malformed JSON with 400', async () => {
    const notFound = await t.request('GET', '/does/not/exist');
    expect(notFound.status).toBe(404);
    expect(notFound.body).toMatchObject({ statusCode: 404 });
    const bad = await t.request('POST', '/me', { body: '{"a":', token: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.statusCode).toBe(400);
    expect(JSON.stringify(bad.body)).not.toMatch(/at .*\.js/);
  });

  it('health endpoints are public and ready checks both dependencies', async () => {
    expect((await t.request('GET', '/health/live')).status).toBe(200);
    const ready = await t.request('GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.details).toMatchObject({ postgres: { status: 'up' }, redis: { status: 'up' } });
  });
});

describe('readiness when Redis stops', () => {
  let redis: PrivateRedis;
  let t: TestApp;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    t = await startTestApp({ env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '500' } });
  });
  afterAll(async () => {
    await t.close();
    await redis.stop();
  });

  it('turns 503 naming redis, and recovers after restart', async () => {
    expect((await t.request('GET', '/health/ready')).status).toBe(200);
    await redis.stop();
    const started = Date.now();
    const down = await t.request('GET', '/health/ready');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(down.status).toBe(503);
    expect(down.body.details.redis.status).toBe('down');
    expect(down.body.details.postgres.status).toBe('up');
    expect(down.body.details.redis.message).toBe('Redis did not answer');
    expect(JSON.stringify(down.body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|Failed query/);

    await redis.start();
    await vi.waitFor(async () => expect((await t.request('GET', '/health/ready')).status).toBe(200), {
      timeout: 10_000,
      interval: 200,
    });
  });
});
