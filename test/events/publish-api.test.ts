import { fieldValue, toEntries } from '../../src/events/event-stream.js';
import { PrivateRedis } from '../support/redis-server.js';
import type { TestApp } from '../support/test-app.js';
import { keysOf, metadataOf, startEventsApp } from './helpers.js';

describe('POST /events', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startEventsApp();
  });
  afterAll(() => t.close());

  it('publishes into the caller workspace, from the token, and answers 201 with the envelope basics', async () => {
    const { token, workspaceId, tokenId } = await t.token('acme', 'member');
    const res = await t.request('POST', '/events', {
      token,
      body: { type: 'crm.contact.created', data: { name: 'Ada' }, correlationId: 'corr-1' },
    });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['correlationId', 'id', 'timestamp', 'type']);
    expect(res.body).toMatchObject({ type: 'crm.contact.created', correlationId: 'corr-1' });

    const [entry] = toEntries(await t.redis.call('XRANGE', keysOf(t).main, '-', '+'));
    expect(JSON.parse(fieldValue(entry!.fields, 'event')!)).toMatchObject({
      id: res.body.id,
      tenantId: workspaceId,
      userId: tokenId,
      source: 'api',
      data: { name: 'Ada' },
      timestamp: res.body.timestamp,
    });
    expect(await metadataOf(t, res.body.id)).toMatchObject({ status: 'PENDING', attempts: 0 });

    const generated = await t.request('POST', '/events', { token, body: { type: 'crm.contact.updated', data: {} } });
    expect(generated.status).toBe(201);
    expect(generated.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('rejects malformed events with 400 naming the field, and never takes the tenant from the body', async () => {
    const { token } = await t.token('acme', 'member');
    const cases: [unknown, RegExp][] = [
      [{ type: 'NotAType', data: {} }, /^type must look like/],
      [{ type: 'crm.contact.created', data: [1, 2] }, /^data must be a JSON object/],
      [{ type: 'crm.contact.created' }, /^data must be a JSON object/],
      [{ type: 'crm.contact.created', data: {}, correlationId: 'has space' }, /^correlationId/],
      [{ type: 'crm.contact.created', data: {}, tenantId: 'someone-else' }, /tenantId should not exist/],
      [{ type: 'crm.contact.created', data: { blob: 'x'.repeat(70 * 1024) } }, /^data must be at most 65536 bytes/],
      [{ type: 'approval.item.approved', data: {} }, /^type approval.item.approved is published by the platform only/],
      [{ type: 'ai.provider.health_changed', data: {} }, /is published by the platform only/],
    ];
    for (const [body, message] of cases) {
      const res = await t.request('POST', '/events', { token, body });
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.message.some((m: string) => message.test(m)), JSON.stringify(res.body.message)).toBe(true);
    }
    expect(await t.redis.call('XLEN', keysOf(t).main)).toBe(2);
  });

  it('needs a token', async () => {
    expect((await t.request('POST', '/events', { body: { type: 'crm.contact.created', data: {} } })).status).toBe(401);
  });
});

describe('POST /events while Redis is down', () => {
  let redis: PrivateRedis;
  let redisStopped = false;
  let t: TestApp;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    t = await startEventsApp({ env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '500' } });
  });
  afterAll(async () => {
    await t.close();
    // PrivateRedis.stop() waits for an exit that already happened if called twice.
    if (!redisStopped) await redis.stop();
  });

  it('answers 503 with a clear message and writes no metadata', async () => {
    const { token } = await t.token('acme', 'member');
    await redis.stop();
    redisStopped = true;
    const res = await t.request('POST', '/events', { token, body: { type: 'crm.contact.created', data: {} } });
    expect(res.status).toBe(503);
    expect(res.body.message).toBe('Redis is unavailable; try again shortly');
    const { rows } = await t.pool.query('SELECT count(*)::int AS n FROM event_metadata');
    expect(rows[0].n).toBe(0);
  });
});
