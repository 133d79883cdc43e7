import { createServer, type Server } from 'node:http';
import { parseExposition, type Exposition } from '../support/exposition.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const FAST_COLLECTORS = { METRICS_COLLECT_INTERVAL_SECONDS: '0.1', METRICS_COLLECT_TIMEOUT_MS: '1000' };

async function scrape(t: TestApp): Promise<Exposition> {
  const res = await fetch(`${t.url}/metrics`);
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

describe('approval and AI provider metrics', () => {
  let t: TestApp;
  let provider: Server;
  let providerUrl: string;
  beforeAll(async () => {
    provider = createServer((req, res) => {
      const authorised = req.headers.authorization === 'Bearer sk-good-key-0123456789';
      res.writeHead(authorised ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(authorised ? { object: 'list', data: [{ id: 'm', object: 'model' }] } : { error: { message: 'bad key' } }));
    });
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    providerUrl = `http://127.0.0.1:${(provider.address() as { port: number }).port}`;
    t = await startTestApp({ env: { ...FAST_COLLECTORS, AI_PROVIDER_OPENAI_BASE_URL: providerUrl, AI_PROVIDER_DEEPSEEK_BASE_URL: providerUrl } });
  });
  afterAll(async () => {
    await t.close();
    await new Promise((resolve) => provider.close(resolve));
  });

  it('approval depth by status, oldest age and overdue equal the items created', async () => {
    const { token } = await t.token('approvals-ws', 'admin');
    const create = (confidenceScore: number, priority = 'medium') =>
      t.request('POST', '/approvals', { token, body: { type: 'content', title: 'x', confidenceScore, priority } });
    const auto = await create(95);
    const toApprove = await create(70);
    const toReject = await create(30);
    await create(65);
    await create(10, 'urgent');
    expect(auto.body.status).toBe('auto_approved');
    expect((await t.request('POST', `/approvals/${toApprove.body.id}/approve`, { token, body: {} })).status).toBe(200);
    expect((await t.request('POST', `/approvals/${toReject.body.id}/reject`, { token, body: { reason: 'no' } })).status).toBe(200);
    await t.pool.query(`UPDATE approval_items SET due_at = now() - interval '1 hour', created_at = now() - interval '2 hours' WHERE status = 'pending' AND priority = 'urgent'`);

    await vi.waitFor(async () => {
      const m = await scrape(t);
      expect(m.value('approval_queue_depth', { status: 'pending' })).toBe(2);
      expect(m.value('approval_queue_depth', { status: 'auto_approved' })).toBe(1);
      expect(m.value('approval_queue_depth', { status: 'approved' })).toBe(1);
      expect(m.value('approval_queue_depth', { status: 'rejected' })).toBe(1);
      expect(m.value('approval_queue_depth', { status: 'cancelled' })).toBe(0);
      expect(m.value('approval_queue_depth', { status: 'escalated' })).toBe(0);
      expect(m.value('approval_queue_overdue')).toBe(1);
      expect(m.value('approval_queue_oldest_pending_age_seconds')).toBeGreaterThanOrEqual(7200);
      expect(m.value('approval_queue_oldest_pending_age_seconds')).toBeLessThan(7300);
    }, { timeout: 5000, interval: 150 });
  });

  it('provider health, configs by status and check durations equal the checks made', async () => {
    const m0 = await scrape(t);
    for (const p of ['claude', 'openai', 'gemini', 'deepseek', 'openrouter']) {
      expect(Number.isNaN(m0.value('ai_provider_health', { provider: p }))).toBe(true);
      for (const status of ['healthy', 'unhealthy', 'unchecked']) expect(m0.value('ai_provider_configs', { provider: p, status })).toBe(0);
    }
    const a = await t.token('ws-a', 'admin');
    const b = await t.token('ws-b', 'admin');
    const c = await t.token('ws-c', 'admin');
    const good = await t.request('POST', '/ai-providers', { token: a.token, body: { provider: 'openai', apiKey: 'sk-good-key-0123456789' } });
    const bad = await t.request('POST', '/ai-providers', { token: b.token, body: { provider: 'openai', apiKey: 'sk-bad-key-01234567890' } });
    await t.request('POST', '/ai-providers', { token: c.token, body: { provider: 'openai', apiKey: 'sk-never-checked-0123456' } });
    const deep = await t.request('POST', '/ai-providers', { token: a.token, body: { provider: 'deepseek', apiKey: 'sk-bad-key-01234567890' } });
    for (const [token, id] of [[a.token, good.body.id], [b.token, bad.body.id], [a.token, deep.body.id]]) {
      expect((await t.request('POST', `/ai-providers/${id}/test`, { token })).status).toBeLessThan(300);
    }
    await vi.waitFor(async () => {
      const m = await scrape(t);
      expect(m.value('ai_provider_health', { provider: 'openai' })).toBe(0.5);
      expect(m.value('ai_provider_health', { provider: 'deepseek' })).toBe(0);
      expect(Number.isNaN(m.value('ai_provider_health', { provider: 'claude' }))).toBe(true);
      expect(m.value('ai_provider_configs', { provider: 'openai', status: 'healthy' })).toBe(1);
      expect(m.value('ai_provider_configs', { provider: 'openai', status: 'unhealthy' })).toBe(1);
      expect(m.value('ai_provider_configs', { provider: 'openai', status: 'unchecked' })).toBe(1);
      expect(m.value('ai_provider_last_check_timestamp_seconds', { provider: 'openai' })).toBeGreaterThan(Date.now() / 1000 - 60);
      expect(m.value('ai_provider_last_check_timestamp_seconds', { provider: 'gemini' })).toBe(0);
      expect(m.value('ai_provider_check_duration_seconds_count', { provider: 'openai', outcome: 'success' })).toBe(1);
      expect(m.value('ai_provider_check_duration_seconds_count', { provider: 'openai', outcome: 'unauthorized' })).toBe(1);
    }, { timeout: 5000, interval: 150 });
    const text = await (await fetch(`${t.url}/metrics`)).text();
    for (const secret of ['sk-good-key-0123456789', 'sk-bad-key-01234567890', a.workspaceId, good.body.id]) expect(text).not.toContain(secret);
  });
});

