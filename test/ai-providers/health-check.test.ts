import { randomUUID } from 'node:crypto';
import { AiProviderTelemetry, type HealthCheckOutcome } from '../../src/ai-providers/ai-provider.telemetry.js';
import { AI_PROVIDERS, type AiProvider } from '../../src/db/schema.js';
import { freePort } from '../support/redis-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { FakeProviders, type Behaviour } from './fake-providers.js';
import { expectNoKeyAnywhere, expectNoKeyIn, tracked } from './secrets.js';

const TIMEOUT_MS = 600;

interface StoredState {
  is_valid: boolean;
  last_validated_at: Date | null;
  validation_error: string | null;
  consecutive_failures: number;
  last_check_latency_ms: number | null;
  check_lease_until: Date | null;
}

/** Shared by the suites below: a workspace admin, config creation and checks, every response checked for keys. */
function harness(getApp: () => TestApp, keys: Set<string>) {
  let n = 0;
  const call = async (method: string, path: string, options: { token?: string; body?: unknown } = {}) => {
    const res = await getApp().request(method, path, options);
    expectNoKeyIn(JSON.stringify(res.body ?? ''), keys, `the response to ${method} ${path}`);
    return res;
  };
  return {
    call,
    async config(provider: AiProvider, apiKey: string) {
      keys.add(apiKey);
      const admin = await getApp().token(`health-${++n}-${randomUUID().slice(0, 8)}`, 'admin');
      const created = await call('POST', '/ai-providers', { token: admin.token, body: { provider, apiKey } });
      expect(created.status).toBe(201);
      const id = created.body.id as string;
      return {
        id,
        token: admin.token,
        workspaceId: admin.workspaceId,
        test: () => call('POST', `/ai-providers/${id}/test`, { token: admin.token }),
        get: () => call('GET', `/ai-providers/${id}`, { token: admin.token }),
        async stored(): Promise<StoredState> {
          const { rows } = await getApp().pool.query('SELECT * FROM ai_provider_configs WHERE id = $1', [id]);
          return rows[0];
        },
      };
    },
  };
}

describe('AI provider health checks against fake providers', () => {
  let fake: FakeProviders;
  let t: TestApp;
  const keys = new Set<string>();
  const h = harness(() => t, keys);
  const checks: { provider: AiProvider; outcome: HealthCheckOutcome; durationSeconds: number }[] = [];

  beforeAll(async () => {
    fake = await FakeProviders.start();
    t = tracked(await startTestApp({ env: { ...fake.env, AI_PROVIDER_HEALTH_TIMEOUT_MS: String(TIMEOUT_MS) } }));
    t.app.get(AiProviderTelemetry).subscribe({ checked: (provider, outcome, durationSeconds) => checks.push({ provider, outcome, durationSeconds }) });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });
  afterEach(async () => {
    await expectNoKeyAnywhere(t, keys);
  });

  const keyInUrl = (key: string) => fake.requests.some((r) => r.url.includes(key));

  it.each(AI_PROVIDERS)('%s: a working key is healthy, with its latency recorded', async (provider) => {
    const apiKey = fake.key('ok');
    const config = await h.config(provider, apiKey);
    const res = await config.test();
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ healthy: true, outcome: 'success', latencyMs: expect.any(Number), checkedAt: expect.any(String) });
    const stored = await config.stored();
    expect(stored).toMatchObject({ is_valid: true, validation_error: null, consecutive_failures: 0, check_lease_until: null });
    expect(stored.last_validated_at).toBeInstanceOf(Date);
    expect(stored.last_check_latency_ms).toBe(res.body.latencyMs);
    expect((await config.get()).body).toMatchObject({ health: 'healthy', isValid: true, lastCheckLatencyMs: res.body.latencyMs });
    // One request, to this provider's endpoint, with the key in a header and never in the URL.
    expect(fake.requestsWith(apiKey)).toEqual([expect.objectContaining({ provider, key: apiKey })]);
    expect(keyInUrl(apiKey)).toBe(false);
    expect(checks).toContainEqual({ provider, outcome: 'success', durationSeconds: res.body.latencyMs / 1000 });
  });

  const rejections: Record<AiProvider, string> = {
    claude: 'unauthorized: HTTP 401: the provider rejected the API key (authentication_error)',
    openai: 'unauthorized: HTTP 401: the provider rejected the API key (invalid_api_key)',
    gemini: 'unauthorized: HTTP 400: the provider rejected the API key (API_KEY_INVALID)',
    deepseek: 'unauthorized: HTTP 401: the provider rejected the API key (invalid_request_error)',
    openrouter: 'unauthorized: HTTP 401: the provider rejected the API key',
  };
  it.each(AI_PROVIDERS)('%s: a rejected key is unauthorized; failures are counted until a success resets them', async (provider) => {
    // A key the fake does not know is rejected as the real provider would (OpenAI and DeepSeek echo it back).
    const apiKey = `sk-test-${randomUUID().replaceAll('-', '')}`;
    const config = await h.config(provider, apiKey);
    const first = await config.test();
    expect(first.body).toEqual({ healthy: false, outcome: 'unauthorized', latencyMs: expect.any(Number), error: rejections[provider], checkedAt: expect.any(String) });
    expect(await config.stored()).toMatchObject({ is_valid: false, validation_error: rejections[provider], consecutive_failures: 1 });
    await config.test();
    expect((await config.stored()).consecutive_failures).toBe(2);
    expect((await config.get()).body).toMatchObject({ health: 'unhealthy', consecutiveFailures: 2, validationError: rejections[provider] });

    fake.set(apiKey, 'ok');
    expect((await config.test()).body.healthy).toBe(true);
    expect(await config.stored()).toMatchObject({ is_valid: true, validation_error: null, consecutive_failures: 0 });
  });

  it('a provider that never answers times out after AI_PROVIDER_HEALTH_TIMEOUT_MS', async () => {
    const config = await h.config('claude', fake.key('hang'));
    const res = await config.test();
    expect(res.body).toMatchObject({ healthy: false, outcome: 'timeout', error: `timeout: no answer within ${TIMEOUT_MS} ms` });
    expect(res.body.latencyMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(await config.stored()).toMatchObject({ is_valid: false, consecutive_failures: 1, validation_error: `timeout: no answer within ${TIMEOUT_MS} ms`, check_lease_until: null });
  });

  const malformed: [AiProvider, Behaviour, string][] = [
    ['openai', 'not_json', 'bad_response: HTTP 200: body is not JSON'],
    ['gemini', 'not_json', 'bad_response: HTTP 200: body is not JSON'],
    ['openai', 'wrong_shape', 'bad_response: HTTP 200: JSON without the expected "data" list'],
    ['gemini', 'wrong_shape', 'bad_response: HTTP 200: JSON without the expected "models" list'],
    ['openrouter', 'wrong_shape', 'bad_response: HTTP 200: JSON without the expected "data" object'],
    ['deepseek', 'server_error', 'bad_response: HTTP 503: unexpected status (overloaded_error)'],
    ['deepseek', 'huge', 'bad_response: HTTP 200: body larger than 1048576 bytes'],
  ];
  it.each(malformed)('%s: a %s answer is a bad_response', async (provider, behaviour, error) => {
    const config = await h.config(provider, fake.key(behaviour));
    expect((await config.test()).body).toMatchObject({ healthy: false, outcome: 'bad_response', error });
    expect(await config.stored()).toMatchObject({ is_valid: false, validation_error: error, consecutive_failures: 1 });
  });

  it.each(['claude', 'gemini', 'openai'] as const)('%s: a redirect is not followed, so the key never leaves for another address', async (provider) => {
    const apiKey = fake.key('redirect');
    const config = await h.config(provider, apiKey);
    expect((await config.test()).body).toMatchObject({ healthy: false, outcome: 'bad_response', error: 'bad_response: HTTP 302: redirect not followed' });
    expect(fake.requests.filter((r) => r.provider === 'redirected')).toEqual([]);
  });

  it('publishes ai.provider.health_changed on the first result and on every change, never on a repeat', async () => {
    const apiKey = fake.key('ok');
    const config = await h.config('deepseek', apiKey);
    await config.test(); // never checked -> healthy
    await config.test(); // healthy -> healthy: nothing
    fake.set(apiKey, 'server_error');
    await config.test(); // healthy -> unhealthy
    await config.test(); // unhealthy -> unhealthy: nothing
    fake.set(apiKey, 'ok');
    await config.test(); // unhealthy -> healthy

    const entries = await t.redis.xrange(`${t.prefix}:events:main`, '-', '+');
    const events = entries
      .map(([, fields]) => JSON.parse(fields[1]!))
      .filter((e) => e.type === 'ai.provider.health_changed' && e.data.configId === config.id);
    expect(events.map((e) => e.data)).toEqual([
      { configId: config.id, provider: 'deepseek', healthy: true, previousHealthy: null, outcome: 'success' },
      {
        configId: config.id,
        provider: 'deepseek',
        healthy: false,
        previousHealthy: true,
        outcome: 'bad_response',
        error: 'bad_response: HTTP 503: unexpected status (overloaded_error)',
      },
      { configId: config.id, provider: 'deepseek', healthy: true, previousHealthy: false, outcome: 'success' },
    ]);
    expect(events.every((e) => e.tenantId === config.workspaceId && e.source === 'ai-providers')).toBe(true);
  });

  it('answers 409 while a check of the same config is running', async () => {
    const config = await h.config('gemini', fake.key('hang'));
    const first = config.test();
    await vi.waitFor(async () => expect((await config.stored()).check_lease_until).not.toBeNull());
    const second = await config.test();
    expect(second.status).toBe(409);
    expect(second.body.message).toMatch(/already running/);
    expect((await first).body.outcome).toBe('timeout');
    expect((await config.test()).body.outcome).toBe('timeout');
  });

  it('does not record the old key\'s result when the key is replaced during the check', async () => {
    const config = await h.config('openai', fake.key('hang'));
    const running = config.test();
    await vi.waitFor(async () => expect((await config.stored()).check_lease_until).not.toBeNull());
    const replacement = fake.key('ok');
    keys.add(replacement);
    expect((await h.call('PATCH', `/ai-providers/${config.id}`, { token: config.token, body: { apiKey: replacement } })).status).toBe(200);
    const stale = await running;
    expect(stale.status).toBe(409);
    expect(stale.body.message).toMatch(/key was changed/);
    expect(await config.stored()).toMatchObject({ is_valid: false, last_validated_at: null, validation_error: null, consecutive_failures: 0 });
    expect((await config.test()).body.healthy).toBe(true);
  });
});

describe('AI provider health checks when the provider is unreachable', () => {
  let t: TestApp;
  const keys = new Set<string>();
  const h = harness(() => t, keys);

  beforeAll(async () => {
    // A port nothing listens on: every connection is refused.
    const closed = `http://127.0.0.1:${await freePort()}`;
    t = tracked(await startTestApp({ env: { AI_PROVIDER_OPENAI_BASE_URL: closed, AI_PROVIDER_OPENROUTER_BASE_URL: `${closed}/api` } }));
  });
  afterAll(() => t?.close());

  it.each(['openai', 'openrouter'] as const)('%s: connection refused is unreachable', async (provider) => {
    const config = await h.config(provider, `sk-test-${randomUUID().replaceAll('-', '')}`);
    const res = await config.test();
    expect(res.body).toMatchObject({ healthy: false, outcome: 'unreachable', error: 'unreachable: cannot connect: connection refused (ECONNREFUSED)' });
    expect(await config.stored()).toMatchObject({ is_valid: false, consecutive_failures: 1, validation_error: 'unreachable: cannot connect: connection refused (ECONNREFUSED)' });
    await expectNoKeyAnywhere(t, keys);
  });
});
