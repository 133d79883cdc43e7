import { createServer, type Server } from 'node:http';
import type { Role } from '../../src/db/schema.js';
import { EventSubscriptions } from '../../src/events/event-subscriptions.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { hasMessage, leaked, tableChecksums } from './helpers.js';

/**
 * Two workspaces with data of every kind. Workspace A's most powerful token tries every route that takes an id
 * on workspace B's data (404, nothing changes); members try every admin route (403); and the secrets of both
 * workspaces are looked for in /metrics, in every log line and in every error body of the whole file.
 */
const ROLES: Role[] = ['owner', 'admin', 'member'];
const FAILING_TYPE = 'isolation.item.failed';
const KEYS = { a: 'sk-isolation-aaaa-0123456789abcdef', b: 'sk-isolation-bbbb-fedcba9876543210' };

interface Workspace {
  id: string;
  tokens: Record<Role, string>;
  tokenIds: string[];
  approvals: string[];
  providerId: string;
  dlqEventId: string;
  replayJobId: string;
}

describe('tenant isolation, roles and secrets', () => {
  let t: TestApp;
  let provider: Server;
  let providerRequests = 0;
  const errorBodies: string[] = [];
  const ws = {} as Record<'a' | 'b', Workspace>;

  /** t.request, keeping every 4xx/5xx body for the secrets scan. */
  async function call(method: string, path: string, token: string, body?: unknown) {
    const res = await t.request(method, path, { token, body });
    if (res.status >= 400) errorBodies.push(JSON.stringify(res.body));
    return res;
  }

  async function setUpWorkspace(slug: 'a' | 'b'): Promise<Workspace> {
    const tokens = {} as Record<Role, string>;
    const tokenIds: string[] = [];
    let id = '';
    for (const role of ROLES) {
      const created = await t.token(`isolation-${slug}`, role);
      tokens[role] = created.token;
      tokenIds.push(created.tokenId);
      id = created.workspaceId;
    }
    const approvals: string[] = [];
    for (const score of [20, 40, 70]) {
      const res = await call('POST', '/approvals', tokens.member, { type: 'isolation', title: `${slug} item`, confidenceScore: score });
      expect(res.status).toBe(201);
      approvals.push(res.body.id);
    }
    const config = await call('POST', '/ai-providers', tokens.admin, { provider: 'openai', apiKey: KEYS[slug] });
    expect(config.status).toBe(201);
    const published = await call('POST', '/events', tokens.member, { type: FAILING_TYPE, data: { slug } });
    expect(published.status).toBe(201);
    return { id, tokens, tokenIds, approvals, providerId: config.body.id, dlqEventId: published.body.id, replayJobId: '' };
  }

  beforeAll(async () => {
    // A provider that echoes the credential it was sent in its error body, as some real ones do.
    provider = createServer((req, res) => {
      providerRequests++;
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${req.headers.authorization}` } }));
    });
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    const providerUrl = `http://127.0.0.1:${(provider.address() as { port: number }).port}`;
    t = await startTestApp({
      env: {
        EVENT_BUS_CONSUMER_ENABLED: 'true',
        EVENT_BUS_BLOCK_MS: '100',
        EVENT_BUS_MAX_RETRIES: '1',
        AI_PROVIDER_OPENAI_BASE_URL: providerUrl,
        METRICS_COLLECT_INTERVAL_SECONDS: '0.1',
      },
    });
    t.app.get(EventSubscriptions).subscribe('isolation-always-fails', FAILING_TYPE, () => {
      throw new Error(`handler failed (Authorization: Bearer ${KEYS.a})`);
    });
    ws.a = await setUpWorkspace('a');
    ws.b = await setUpWorkspace('b');
    // Both failing events reach the DLQ.
    await vi.waitFor(
      async () => {
        for (const w of [ws.a, ws.b]) {
          const dlq = await call('GET', '/admin/events/dlq', w.tokens.admin);
          expect(dlq.body.items.map((i: { eventId: string }) => i.eventId)).toEqual([w.dlqEventId]);
        }
      },
      { timeout: 10_000, interval: 100 },
    );
    for (const w of [ws.a, ws.b]) {
      const replay = await call('POST', '/admin/events/replay', w.tokens.admin, {
        startTime: new Date(Date.now() - 60_000).toISOString(),
        endTime: new Date().toISOString(),
        eventTypes: ['approval.item.created'],
      });
      expect(replay.status).toBe(202);
      w.replayJobId = replay.body.id;
    }
    await vi.waitFor(
      async () => {
        for (const w of [ws.a, ws.b]) expect((await call('GET', `/admin/events/replay/${w.replayJobId}`, w.tokens.admin)).body.status).toBe('COMPLETED');
      },
      { timeout: 10_000, interval: 100 },
    );
    // ... and the consumer has settled every event the replays published.
    await vi.waitFor(
      async () => {
        const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM event_metadata WHERE status NOT IN ('COMPLETED', 'DLQ')`);
        expect(rows[0].n).toBe(0);
      },
      { timeout: 10_000, interval: 100 },
    );
  }, 60_000);

  afterAll(async () => {
    await t.close();
    await new Promise((resolve) => provider.close(resolve));
  });

  /** Everything stored for workspace B, in Redis and PostgreSQL. */
  async function stateOfB(): Promise<unknown> {
    const rows = await t.pool.query(
      `SELECT (SELECT json_agg(a ORDER BY a.id) FROM approval_items a WHERE a.workspace_id = $1) AS approvals,
              (SELECT json_agg(c ORDER BY c.id) FROM ai_provider_configs c WHERE c.workspace_id = $1) AS configs,
              (SELECT json_agg(s) FROM workspace_settings s WHERE s.workspace_id = $1) AS settings,
              (SELECT json_agg(r ORDER BY r.id) FROM replay_jobs r WHERE r.workspace_id = $1) AS replays,
              (SELECT json_agg(m ORDER BY m.event_id) FROM event_metadata m WHERE m.tenant_id = $1::text) AS events`,
      [ws.b.id],
    );
    const dlq = await t.redis.xrange(`${t.prefix}:events:dlq`, '-', '+');
    return { ...rows.rows[0], dlq };
  }

  /** Every route that takes an id, aimed at workspace B's data. */
  function routesOnB(): [string, string, unknown?][] {
    const [item] = ws.b.approvals;
    return [
      ['GET', `/approvals/${item}`],
      ['POST', `/approvals/${item}/approve`, { notes: 'not yours' }],
      ['POST', `/approvals/${item}/reject`, { reason: 'not yours' }],
      ['DELETE', `/approvals/${item}`],
      ['GET', `/ai-providers/${ws.b.providerId}`],
      ['PATCH', `/ai-providers/${ws.b.providerId}`, { apiKey: 'sk-isolation-stolen-0123456789' }],
      ['PATCH', `/ai-providers/${ws.b.providerId}`, { defaultModel: 'gpt-4o' }],
      ['DELETE', `/ai-providers/${ws.b.providerId}`],
      ['POST', `/ai-providers/${ws.b.providerId}/test`],
      ['POST', `/admin/events/dlq/${ws.b.dlqEventId}/retry`],
      ['DELETE', `/admin/events/dlq/${ws.b.dlqEventId}`],
      ['GET', `/admin/events/replay/${ws.b.replayJobId}`],
    ];
  }

  /** Every route that needs more than the member role, on workspace A's own data. */
  function adminRoutesOnA(): [string, string, unknown?][] {
    const [item] = ws.a.approvals;
    return [
      ['POST', `/approvals/${item}/approve`, {}],
      ['POST', `/approvals/${item}/reject`, { reason: 'no' }],
      ['DELETE', `/approvals/${item}`],
      ['POST', '/approvals/bulk', { ids: [item], action: 'approve' }],
      ['PUT', '/approvals/settings', { autoApproveThreshold: 99 }],
      ['POST', '/ai-providers', { provider: 'claude', apiKey: 'sk-ant-isolation-0123456789' }],
      ['PATCH', `/ai-providers/${ws.a.providerId}`, { defaultModel: 'x' }],
      ['DELETE', `/ai-providers/${ws.a.providerId}`],
      ['POST', `/ai-providers/${ws.a.providerId}/test`],
      ['GET', '/admin/events/dlq'],
      ['POST', `/admin/events/dlq/${ws.a.dlqEventId}/retry`],
      ['DELETE', `/admin/events/dlq/${ws.a.dlqEventId}`],
      ['POST', '/admin/events/replay', { startTime: new Date(Date.now() - 60_000).toISOString(), endTime: new Date().toISOString() }],
      ['GET', `/admin/events/replay/${ws.a.replayJobId}`],
      ['GET', '/admin/events/stats'],
    ];
  }

  it("workspace A's owner gets 404 for every route that takes an id of workspace B's, and nothing of B's changes", async () => {
    const before = await stateOfB();
    const mainLength = await t.redis.xlen(`${t.prefix}:events:main`);
    const requestsToProvider = providerRequests;
    for (const [method, path, body] of routesOnB()) {
      const res = await call(method, path, ws.a.tokens.owner, body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(hasMessage(res.body), `${method} ${path}`).toBe(true);
    }
    // Bulk decisions report B's ids as not found, one by one.
    const bulk = await call('POST', '/approvals/bulk', ws.a.tokens.owner, { ids: ws.b.approvals, action: 'approve' });
    expect(bulk.status).toBe(200);
    expect(bulk.body.results.map((r: { outcome: string }) => r.outcome)).toEqual(ws.b.approvals.map(() => 'not_found'));
    expect(bulk.body.decided).toBe(0);

    expect(await stateOfB()).toEqual(before);
    expect(await t.redis.xlen(`${t.prefix}:events:main`)).toBe(mainLength);
    expect(providerRequests).toBe(requestsToProvider);
  });

  it("lists, settings, stats and replays show and touch only the caller's own workspace", async () => {
    const before = await stateOfB();
    const approvals = await call('GET', '/approvals?limit=100', ws.a.tokens.member);
    expect(approvals.body.items.map((i: { id: string }) => i.id).sort()).toEqual([...ws.a.approvals].sort());
    const providers = await call('GET', '/ai-providers', ws.a.tokens.member);
    expect(providers.body.items.map((p: { id: string }) => p.id)).toEqual([ws.a.providerId]);
    const dlq = await call('GET', '/admin/events/dlq', ws.a.tokens.admin);
    expect(dlq.body.items.map((i: { eventId: string }) => i.eventId)).toEqual([ws.a.dlqEventId]);
    expect(dlq.body.items.every((i: { event: { tenantId: string } }) => i.event.tenantId === ws.a.id)).toBe(true);

    const settings = await call('PUT', '/approvals/settings', ws.a.tokens.owner, { autoApproveThreshold: 95 });
    expect(settings.status).toBe(200);
    expect(settings.body.workspaceId).toBe(ws.a.id);
    // The token decides the workspace: a workspace named in the body or the query is refused, not obeyed.
    expect((await call('POST', '/events', ws.a.tokens.member, { type: 'isolation.item.created', data: {}, tenantId: ws.b.id })).status).toBe(400);
    expect((await call('GET', '/approvals?workspaceId=another-workspace', ws.a.tokens.member)).status).toBe(400);

    // A's replay re-published A's events only; every replay on the stream carries its own workspace.
    const entries = await t.redis.xrange(`${t.prefix}:events:main`, '-', '+');
    const replays = entries
      .map(([, fields]) => JSON.parse(fields[fields.indexOf('event') + 1]!))
      .filter((e: { replayOf?: string }) => e.replayOf);
    expect(replays.length).toBeGreaterThanOrEqual(6);
    const originals = new Map(entries.map(([, fields]) => {
      const e = JSON.parse(fields[fields.indexOf('event') + 1]!);
      return [e.id, e.tenantId];
    }));
    for (const replay of replays) expect(originals.get(replay.replayOf)).toBe(replay.tenantId);

    const stats = await call('GET', '/admin/events/stats', ws.a.tokens.admin);
    expect(stats.status).toBe(200);
    expect(JSON.stringify(stats.body)).not.toContain(ws.b.id);
    expect(await stateOfB()).toEqual(before);
  });

  it('members get 403 from every admin route, admins from owner routes, and nothing changes', async () => {
    const before = await tableChecksums(t.pool);
    const dlqBefore = await t.redis.xlen(`${t.prefix}:events:dlq`);
    const [item] = ws.a.approvals;
    for (const [method, path, body] of adminRoutesOnA()) {
      const res = await call(method, path, ws.a.tokens.member, body);
      expect(res.status, `member ${method} ${path}`).toBe(403);
      expect(hasMessage(res.body)).toBe(true);
    }
    const owner = await call('PUT', '/approvals/settings', ws.a.tokens.admin, { autoApproveThreshold: 99 });
    expect(owner.status).toBe(403);
    // And a member's own reads still work.
    expect((await call('GET', `/approvals/${item}`, ws.a.tokens.member)).status).toBe(200);
    expect((await call('GET', `/ai-providers/${ws.a.providerId}`, ws.a.tokens.member)).status).toBe(200);

    expect(await tableChecksums(t.pool)).toEqual(before);
    expect(await t.redis.xlen(`${t.prefix}:events:dlq`)).toBe(dlqBefore);
  });

  it('no API key, token, token hash, ciphertext or workspace id appears in /metrics, the logs or any error body', async () => {
    // A check against the echoing provider, so an error that quotes the key goes through every path.
    const checked = await call('POST', `/ai-providers/${ws.a.providerId}/test`, ws.a.tokens.admin);
    expect(checked.status).toBe(200);
    expect(checked.body.healthy).toBe(false);
    // Requests that fail in every way (401, 403, 404, 400), some with credentials in odd places.
    const before = errorBodies.length;
    for (const [method, path, body] of routesOnB()) await call(method, path, ws.a.tokens.owner, body);
    for (const [method, path, body] of adminRoutesOnA()) await call(method, path, ws.a.tokens.member, body);
    await call('GET', '/me', `${ws.a.tokens.owner}x`);
    await call('GET', `/approvals/${ws.b.tokens.owner}`, ws.a.tokens.owner);
    await call('POST', '/ai-providers', ws.a.tokens.admin, { provider: 'gemini', apiKey: `${KEYS.b} with a space` });
    await call('PATCH', `/ai-providers/${ws.b.providerId}`, ws.a.tokens.admin, { apiKey: KEYS.b });

    const { rows: hashes } = await t.pool.query(`SELECT token_hash FROM api_tokens`);
    const { rows: ciphertexts } = await t.pool.query(`SELECT api_key_encrypted FROM ai_provider_configs`);
    const tokens = [ws.a, ws.b].flatMap((w) => Object.values(w.tokens));
    const secrets = [
      ...Object.values(KEYS),
      ...Object.values(KEYS).map((key) => key.slice(3, -4)), // a key without its prefix and hint
      ...tokens,
      ...tokens.map((token) => token.slice(4)), // without the hyv_ prefix
      ...hashes.map((r: { token_hash: string }) => r.token_hash),
      ...ciphertexts.map((r: { api_key_encrypted: string }) => r.api_key_encrypted.split(':').at(-1)!),
    ];
    const workspaceIds = [ws.a.id, ws.b.id];

    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain('http_requests_total');
    expect(leaked(metrics, [...secrets, ...workspaceIds, ...ws.a.tokenIds, ...ws.b.tokenIds])).toEqual([]);
    expect(errorBodies.length - before).toBeGreaterThanOrEqual(routesOnB().length + adminRoutesOnA().length + 4);
    expect(leaked(errorBodies.join('\n'), [...secrets, ...workspaceIds])).toEqual([]);
    expect(t.logs.lines.length).toBeGreaterThan(50);
    expect(leaked(t.logs.text, [...secrets, ...workspaceIds])).toEqual([]);
    // The stored outcome of the check and the DLQ entries keep no key either.
    const { rows } = await t.pool.query(`SELECT validation_error, last_error FROM ai_provider_configs, event_metadata`);
    const dlq = JSON.stringify(await t.redis.xrange(`${t.prefix}:events:dlq`, '-', '+'));
    expect(leaked(JSON.stringify(rows) + dlq, secrets)).toEqual([]);
  });
});
