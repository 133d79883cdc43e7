import { SchedulerRegistry } from '@nestjs/schedule';
import { randomUUID } from 'node:crypto';
import { AiProviderHealthService } from '../../src/ai-providers/ai-provider-health.service.js';
import { AiProviderStatsService } from '../../src/ai-providers/ai-provider-stats.service.js';
import type { AiProvider } from '../../src/db/schema.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { FakeProviders } from './fake-providers.js';
import { capturedLogs, eventStreamText, expectNoKeyAnywhere, expectNoKeyIn, tracked } from './secrets.js';

const INTERVAL_SECONDS = 300;

let n = 0;
async function createConfig(t: TestApp, provider: AiProvider, apiKey: string): Promise<{ id: string; token: string }> {
  const admin = await t.token(`sched-${++n}-${randomUUID().slice(0, 8)}`, 'admin');
  const res = await t.request('POST', '/ai-providers', { token: admin.token, body: { provider, apiKey } });
  expect(res.status).toBe(201);
  return { id: res.body.id, token: admin.token };
}

const run = (t: TestApp) => t.app.get(AiProviderHealthService).runHealthChecks();

describe('periodic checks on several instances', () => {
  let fake: FakeProviders;
  let a: TestApp;
  let b: TestApp;
  const keys: string[] = [];
  const PROVIDERS: AiProvider[] = ['claude', 'openai', 'gemini', 'deepseek', 'openrouter'];

  beforeAll(async () => {
    fake = await FakeProviders.start();
    const env = { ...fake.env, AI_PROVIDER_HEALTH_CONCURRENCY: '2', AI_PROVIDER_HEALTH_INTERVAL_SECONDS: String(INTERVAL_SECONDS) };
    a = tracked(await startTestApp({ env }));
    b = tracked(await startTestApp({ env, databaseUrl: a.databaseUrl, prefix: a.prefix }));
    for (let i = 0; i < 10; i++) {
      const key = fake.key('ok');
      keys.push(key);
      await createConfig(a, PROVIDERS[i % PROVIDERS.length]!, key);
    }
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await fake?.close();
  });
  beforeEach(() => {
    fake.delayMs = 0;
    fake.maxInFlight = 0;
  });

  it('two instances running at once check every config exactly once', async () => {
    // Slow answers make the two runs overlap for their whole length.
    fake.delayMs = 100;
    const [first, second] = await Promise.all([run(a), run(b)]);
    expect(first.checked + second.checked).toBe(10);
    for (const key of keys) expect(fake.requestsWith(key), 'requests per key').toHaveLength(1);
    expect(fake.maxInFlight).toBeLessThanOrEqual(4);
    const { rows } = await a.pool.query('SELECT count(*)::int AS n FROM ai_provider_configs WHERE is_valid AND last_validated_at IS NOT NULL AND check_lease_until IS NULL');
    expect(rows[0].n).toBe(10);
    expectNoKeyIn(capturedLogs(), keys, 'the logs');
  });

  it('checks only configs that are due and not leased', async () => {
    await a.pool.query('UPDATE ai_provider_configs SET last_validated_at = now()');
    const before = fake.requests.length;
    expect(await run(a)).toEqual({ checked: 0, healthy: 0, unhealthy: 0 });
    expect(fake.requests.length).toBe(before);

    const { rows } = await a.pool.query<{ id: string }>('SELECT id FROM ai_provider_configs ORDER BY id LIMIT 3');
    const [overdue, recent, leased] = rows.map((r) => r.id);
    await a.pool.query(`UPDATE ai_provider_configs SET last_validated_at = now() - interval '${INTERVAL_SECONDS + 1} seconds' WHERE id = $1`, [overdue]);
    await a.pool.query(`UPDATE ai_provider_configs SET last_validated_at = now() - interval '${INTERVAL_SECONDS - 10} seconds' WHERE id = $1`, [recent]);
    await a.pool.query(`UPDATE ai_provider_configs SET last_validated_at = NULL, check_lease_until = now() + interval '1 hour' WHERE id = $1`, [leased]);
    expect(await run(b)).toEqual({ checked: 1, healthy: 1, unhealthy: 0 });
    const after = await a.pool.query('SELECT id, last_validated_at > now() - interval \'1 minute\' AS fresh FROM ai_provider_configs WHERE id = ANY($1)', [[overdue, recent, leased]]);
    const fresh = Object.fromEntries(after.rows.map((r) => [r.id, r.fresh]));
    expect(fresh).toEqual({ [overdue!]: true, [recent!]: false, [leased!]: null });
  });

  it('runs at most AI_PROVIDER_HEALTH_CONCURRENCY checks at a time', async () => {
    await a.pool.query('UPDATE ai_provider_configs SET last_validated_at = NULL, check_lease_until = NULL');
    fake.delayMs = 50;
    expect((await run(a)).checked).toBe(10);
    expect(fake.maxInFlight).toBeGreaterThanOrEqual(1);
    expect(fake.maxInFlight).toBeLessThanOrEqual(2);
  });
});

describe('a wrong master key', () => {
  let fake: FakeProviders;
  let right: TestApp;
  let wrong: TestApp;
  beforeAll(async () => {
    fake = await FakeProviders.start();
    right = tracked(await startTestApp({ env: fake.env }));
    wrong = tracked(await startTestApp({
      env: { ...fake.env, ENCRYPTION_MASTER_KEY: 'a-different-master-key-of-at-least-32-characters' },
      databaseUrl: right.databaseUrl,
      prefix: right.prefix,
    }));
  });
  afterAll(async () => {
    await wrong?.close();
    await right?.close();
    await fake?.close();
  });

  it('marks the config unhealthy with a clear "cannot decrypt" error, sends nothing and does not crash', async () => {
    const apiKey = fake.key('ok');
    const config = await createConfig(right, 'openai', apiKey);
    const error = 'error: cannot decrypt the stored API key (wrong ENCRYPTION_MASTER_KEY or corrupted value)';

    expect(await run(wrong)).toEqual({ checked: 1, healthy: 0, unhealthy: 1 });
    const { rows } = await right.pool.query('SELECT is_valid, validation_error, consecutive_failures, check_lease_until FROM ai_provider_configs WHERE id = $1', [config.id]);
    expect(rows[0]).toEqual({ is_valid: false, validation_error: error, consecutive_failures: 1, check_lease_until: null });
    expect(fake.requestsWith(apiKey)).toHaveLength(0);

    // The same through the API of the misconfigured instance: an answer, not a 500.
    const tested = await wrong.request('POST', `/ai-providers/${config.id}/test`, { token: config.token });
    expect(tested.status).toBe(200);
    expect(tested.body).toMatchObject({ healthy: false, outcome: 'error', error });
    const logs = capturedLogs();
    expect(logs).toContain('cannot decrypt the stored API key');

    // The instance with the right key still decrypts it.
    expect((await right.request('POST', `/ai-providers/${config.id}/test`, { token: config.token })).body.healthy).toBe(true);
    expect(await eventStreamText(right)).toContain('cannot decrypt the stored API key');
    await expectNoKeyAnywhere(right, [apiKey]);
    expectNoKeyIn(logs, [apiKey], 'the logs');
  });
});

describe('the schedule', () => {
  let fake: FakeProviders;
  let t: TestApp;
  beforeAll(async () => {
    fake = await FakeProviders.start();
    t = tracked(await startTestApp({ env: { ...fake.env, AI_PROVIDER_HEALTH_ENABLED: 'true', AI_PROVIDER_HEALTH_INTERVAL_SECONDS: '1' } }));
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('checks every config again once its last check is AI_PROVIDER_HEALTH_INTERVAL_SECONDS old', async () => {
    expect(t.app.get(SchedulerRegistry).doesExist('interval', 'ai-provider-health')).toBe(true);
    const good = fake.key('ok');
    const bad = fake.key('server_error');
    const healthy = await createConfig(t, 'claude', good);
    const unhealthy = await createConfig(t, 'gemini', bad);
    await vi.waitFor(
      () => {
        expect(fake.requestsWith(good).length).toBeGreaterThanOrEqual(2);
        expect(fake.requestsWith(bad).length).toBeGreaterThanOrEqual(2);
      },
      { timeout: 10_000, interval: 100 },
    );
    const { rows } = await t.pool.query('SELECT id, is_valid, consecutive_failures FROM ai_provider_configs ORDER BY provider');
    expect(rows.find((r) => r.id === healthy.id)).toMatchObject({ is_valid: true, consecutive_failures: 0 });
    expect(rows.find((r) => r.id === unhealthy.id)!.consecutive_failures).toBeGreaterThanOrEqual(2);
  });
});

describe('getProviderMetrics', () => {
  let fake: FakeProviders;
  let t: TestApp;
  beforeAll(async () => {
    fake = await FakeProviders.start();
    t = tracked(await startTestApp({ env: fake.env }));
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('counts healthy, unhealthy and never-checked configs per provider, zeros included', async () => {
    const stats = t.app.get(AiProviderStatsService);
    const zero = { healthy: 0, unhealthy: 0, unchecked: 0, lastCheckedAt: null };
    expect(await stats.getProviderMetrics()).toEqual({ claude: zero, openai: zero, gemini: zero, deepseek: zero, openrouter: zero });

    await createConfig(t, 'claude', fake.key('ok'));
    await createConfig(t, 'claude', fake.key('ok'));
    await createConfig(t, 'claude', fake.key('not_json'));
    await createConfig(t, 'openai', fake.key('ok'));
    expect(await run(t)).toMatchObject({ checked: 4 });
    await createConfig(t, 'gemini', fake.key('ok'));

    const { rows } = await t.pool.query("SELECT provider, max(last_validated_at) AS last FROM ai_provider_configs GROUP BY provider");
    const last = Object.fromEntries(rows.map((r) => [r.provider, r.last]));
    expect(await stats.getProviderMetrics()).toEqual({
      claude: { healthy: 2, unhealthy: 1, unchecked: 0, lastCheckedAt: last.claude },
      openai: { healthy: 1, unhealthy: 0, unchecked: 0, lastCheckedAt: last.openai },
      gemini: { healthy: 0, unhealthy: 0, unchecked: 1, lastCheckedAt: null },
      deepseek: zero,
      openrouter: zero,
    });
    expect(last.claude).toBeInstanceOf(Date);
  });
});

describe('shutdown', () => {
  let fake: FakeProviders;
  let t: TestApp;
  beforeAll(async () => {
    fake = await FakeProviders.start();
    // Far beyond the test timeout: the test only ends in time if shutdown cuts the checks short.
    t = tracked(await startTestApp({ env: { ...fake.env, AI_PROVIDER_HEALTH_TIMEOUT_MS: '120000' } }));
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('interrupts running checks, releases their leases and records nothing', async () => {
    const periodicKey = fake.key('hang');
    const onDemandKey = fake.key('hang');
    const periodic = await createConfig(t, 'openai', periodicKey);
    const running = run(t);
    await vi.waitFor(() => expect(fake.requestsWith(periodicKey)).toHaveLength(1));
    const onDemand = await createConfig(t, 'claude', onDemandKey);
    const tested = t.request('POST', `/ai-providers/${onDemand.id}/test`, { token: onDemand.token });
    await vi.waitFor(() => expect(fake.requestsWith(onDemandKey)).toHaveLength(1));

    await t.app.close();
    expect(await running).toEqual({ checked: 0, healthy: 0, unhealthy: 0 });
    expect((await tested).status).toBe(503);
    const { rows } = await t.pool.query('SELECT last_validated_at, check_lease_until, consecutive_failures FROM ai_provider_configs WHERE id = ANY($1)', [[periodic.id, onDemand.id]]);
    expect(rows).toEqual([
      { last_validated_at: null, check_lease_until: null, consecutive_failures: 0 },
      { last_validated_at: null, check_lease_until: null, consecutive_failures: 0 },
    ]);
  });
});
