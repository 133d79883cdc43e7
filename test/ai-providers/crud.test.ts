import { randomUUID } from 'node:crypto';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { FakeProviders } from './fake-providers.js';
import { expectNoKeyAnywhere, expectNoKeyIn, tracked } from './secrets.js';

describe('AI provider configs: CRUD', () => {
  let fake: FakeProviders;
  let t: TestApp;
  const keys = new Set<string>();

  /** Every response goes through here, so no test can forget to check it for keys. */
  async function call(method: string, path: string, options: { token?: string; body?: unknown } = {}) {
    const res = await t.request(method, path, options);
    expectNoKeyIn(JSON.stringify(res.body ?? ''), keys, `the response to ${method} ${path}`);
    return res;
  }
  function newKey(): string {
    const key = fake.key('ok');
    keys.add(key);
    return key;
  }
  let n = 0;
  const workspace = () => `crud-${++n}-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    fake = await FakeProviders.start();
    t = tracked(await startTestApp({ env: fake.env }));
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });
  afterEach(async () => {
    await expectNoKeyAnywhere(t, keys);
  });

  it('creates, lists, reads, updates and deletes a config, showing only a hint of the key', async () => {
    const admin = await t.token(workspace(), 'admin');
    const apiKey = newKey();
    const created = await call('POST', '/ai-providers', { token: admin.token, body: { provider: 'openai', apiKey, defaultModel: 'gpt-4o' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      provider: 'openai',
      apiKeyHint: `…${apiKey.slice(-4)}`,
      defaultModel: 'gpt-4o',
      health: 'unchecked',
      isValid: false,
      lastValidatedAt: null,
      validationError: null,
      consecutiveFailures: 0,
      lastCheckLatencyMs: null,
    });
    expect(Object.keys(created.body)).not.toContain('apiKey');
    expect(Object.keys(created.body)).not.toContain('apiKeyEncrypted');
    const id = created.body.id as string;

    const list = await call('GET', '/ai-providers', { token: admin.token });
    expect(list.status).toBe(200);
    expect(list.body.items.map((c: { id: string }) => c.id)).toEqual([id]);
    expect((await call('GET', `/ai-providers/${id}`, { token: admin.token })).body).toMatchObject({ id, provider: 'openai' });

    const renamed = await call('PATCH', `/ai-providers/${id}`, { token: admin.token, body: { defaultModel: 'gpt-4o-mini' } });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ defaultModel: 'gpt-4o-mini', apiKeyHint: `…${apiKey.slice(-4)}` });
    const cleared = await call('PATCH', `/ai-providers/${id}`, { token: admin.token, body: { defaultModel: null } });
    expect(cleared.body.defaultModel).toBeNull();

    expect((await call('DELETE', `/ai-providers/${id}`, { token: admin.token })).status).toBe(204);
    expect((await call('GET', `/ai-providers/${id}`, { token: admin.token })).status).toBe(404);
    expect((await call('DELETE', `/ai-providers/${id}`, { token: admin.token })).status).toBe(404);
  });

  it('stores the key encrypted (versioned AES-GCM), never in clear or merely encoded', async () => {
    const owner = await t.token(workspace(), 'owner');
    const apiKey = newKey();
    const created = await call('POST', '/ai-providers', { token: owner.token, body: { provider: 'claude', apiKey } });
    const { rows } = await t.pool.query('SELECT api_key_encrypted, api_key_hint FROM ai_provider_configs WHERE id = $1', [created.body.id]);
    expect(rows[0].api_key_encrypted).toMatch(/^v1:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/);
    expect(rows[0].api_key_hint).toBe(`…${apiKey.slice(-4)}`);
    expectNoKeyIn(rows[0].api_key_encrypted, [apiKey], 'api_key_encrypted');
  });

  it('changing the key re-encrypts it and resets the health to unchecked', async () => {
    const admin = await t.token(workspace(), 'admin');
    const created = await call('POST', '/ai-providers', { token: admin.token, body: { provider: 'gemini', apiKey: newKey() } });
    const id = created.body.id as string;
    expect((await call('POST', `/ai-providers/${id}/test`, { token: admin.token })).body.healthy).toBe(true);
    const before = await t.pool.query('SELECT api_key_encrypted FROM ai_provider_configs WHERE id = $1', [id]);

    const replacement = newKey();
    const updated = await call('PATCH', `/ai-providers/${id}`, { token: admin.token, body: { apiKey: replacement } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ apiKeyHint: `…${replacement.slice(-4)}`, health: 'unchecked', isValid: false, lastValidatedAt: null });
    const after = await t.pool.query('SELECT api_key_encrypted FROM ai_provider_configs WHERE id = $1', [id]);
    expect(after.rows[0].api_key_encrypted).not.toBe(before.rows[0].api_key_encrypted);

    await call('POST', `/ai-providers/${id}/test`, { token: admin.token });
    expect(fake.requestsWith(replacement)).toHaveLength(1);
  });

  it('answers 409 to a second config for the same provider, also when the creates race', async () => {
    const admin = await t.token(workspace(), 'admin');
    expect((await call('POST', '/ai-providers', { token: admin.token, body: { provider: 'deepseek', apiKey: newKey() } })).status).toBe(201);
    const duplicate = await call('POST', '/ai-providers', { token: admin.token, body: { provider: 'deepseek', apiKey: newKey() } });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.message).toMatch(/already has a deepseek configuration/);

    const racer = await t.token(workspace(), 'admin');
    const results = await Promise.all(
      Array.from({ length: 6 }, () => call('POST', '/ai-providers', { token: racer.token, body: { provider: 'openrouter', apiKey: newKey() } })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    // Another workspace may have its own config for the same provider.
    const other = await t.token(workspace(), 'admin');
    expect((await call('POST', '/ai-providers', { token: other.token, body: { provider: 'openrouter', apiKey: newKey() } })).status).toBe(201);
  });

  it("answers 404 for another workspace's config, for every route", async () => {
    const owner = await t.token(workspace(), 'admin');
    const intruder = await t.token(workspace(), 'owner');
    const { body } = await call('POST', '/ai-providers', { token: owner.token, body: { provider: 'openai', apiKey: newKey() } });
    const path = `/ai-providers/${body.id}`;
    const requestsBefore = fake.requests.length;
    expect((await call('GET', path, { token: intruder.token })).status).toBe(404);
    expect((await call('PATCH', path, { token: intruder.token, body: { defaultModel: 'x' } })).status).toBe(404);
    expect((await call('PATCH', path, { token: intruder.token, body: { apiKey: newKey() } })).status).toBe(404);
    expect((await call('POST', `${path}/test`, { token: intruder.token })).status).toBe(404);
    expect((await call('DELETE', path, { token: intruder.token })).status).toBe(404);
    expect((await call('GET', '/ai-providers', { token: intruder.token })).body.items).toEqual([]);
    // Untouched.
    expect((await call('GET', path, { token: owner.token })).body.defaultModel).toBeNull();
    expect(fake.requests.length, 'the intruder made no provider call with the key').toBe(requestsBefore);
  });

  it('lets members read but not write or test (403)', async () => {
    const ws = workspace();
    const admin = await t.token(ws, 'admin');
    const member = await t.token(ws, 'member');
    const { body } = await call('POST', '/ai-providers', { token: admin.token, body: { provider: 'claude', apiKey: newKey() } });
    expect((await call('GET', '/ai-providers', { token: member.token })).body.items).toHaveLength(1);
    expect((await call('GET', `/ai-providers/${body.id}`, { token: member.token })).status).toBe(200);
    const writes = [
      call('POST', '/ai-providers', { token: member.token, body: { provider: 'openai', apiKey: newKey() } }),
      call('PATCH', `/ai-providers/${body.id}`, { token: member.token, body: { defaultModel: 'x' } }),
      call('DELETE', `/ai-providers/${body.id}`, { token: member.token }),
      call('POST', `/ai-providers/${body.id}/test`, { token: member.token }),
    ];
    for (const res of await Promise.all(writes)) expect(res.status).toBe(403);
    expect((await call('GET', '/ai-providers')).status).toBe(401);
  });

  it('rejects invalid input with 400 naming the field, without echoing the key', async () => {
    const admin = await t.token(workspace(), 'admin');
    const post = (body: unknown) => call('POST', '/ai-providers', { token: admin.token, body });
    const messages = async (body: unknown) => {
      const res = await post(body);
      expect(res.status).toBe(400);
      return (res.body.message as string[]).join(' | ');
    };
    const shortKey = 'sk-short-key-123';
    keys.add(shortKey);
    expect(await messages({ provider: 'mistral', apiKey: newKey() })).toMatch(/provider must be one of: claude, openai, gemini, deepseek, openrouter/);
    expect(await messages({ provider: 'openai', apiKey: shortKey })).toMatch(/apiKey must be longer than or equal to 20 characters/);
    expect(await messages({ provider: 'openai', apiKey: 'x'.repeat(501) })).toMatch(/apiKey must be shorter than or equal to 500 characters/);
    const spaced = `sk-with space ${'x'.repeat(20)}`;
    keys.add(spaced);
    expect(await messages({ provider: 'openai', apiKey: spaced })).toMatch(/apiKey must contain only printable ASCII/);
    expect(await messages({ provider: 'openai', apiKey: 12345678901234567890 })).toMatch(/apiKey must be a string/);
    expect(await messages({ provider: 'openai' })).toMatch(/apiKey/);
    expect(await messages({ provider: 'openai', apiKey: newKey(), defaultModel: 'bad model' })).toMatch(/defaultModel must be a model id/);
    expect(await messages({ provider: 'openai', apiKey: newKey(), workspaceId: randomUUID() })).toMatch(/property workspaceId should not exist/);

    const { body } = await post({ provider: 'openai', apiKey: newKey() });
    const patch = (payload: unknown) => call('PATCH', `/ai-providers/${body.id}`, { token: admin.token, body: payload });
    expect((await patch({ provider: 'claude' })).body.message).toContain('property provider should not exist');
    expect((await patch({ apiKey: null })).body.message.join(' ')).toMatch(/apiKey must be a string/);
    const empty = await patch({});
    expect(empty.status).toBe(400);
    expect(empty.body.message).toMatch(/send apiKey and\/or defaultModel/);
  });

  it('answers 400, never 500, to an id that is not a UUID, and 404 to an unknown one', async () => {
    const admin = await t.token(workspace(), 'admin');
    for (const [method, suffix] of [['GET', ''], ['PATCH', ''], ['DELETE', ''], ['POST', '/test']] as const) {
      const bad = await call(method, `/ai-providers/not-a-uuid${suffix}`, { token: admin.token, body: method === 'PATCH' ? { defaultModel: 'x' } : undefined });
      expect(bad.status, `${method} with a malformed id`).toBe(400);
      const unknown = await call(method, `/ai-providers/${randomUUID()}${suffix}`, { token: admin.token, body: method === 'PATCH' ? { defaultModel: 'x' } : undefined });
      expect(unknown.status, `${method} with an unknown id`).toBe(404);
    }
  });
});
