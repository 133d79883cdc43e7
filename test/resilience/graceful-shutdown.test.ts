import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { CONSUMER_GROUP } from '../../src/events/event-bus.keys.js';
import { EventPublisher } from '../../src/events/event-publisher.service.js';
import { MAIN_JS, spawnApp, type SpawnedApp } from '../support/spawn-app.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * SIGTERM to the built API (dist/main.js) while it consumes a backlog of approval.item.requested events (its
 * own subscriber turns each into an approval item) and while HTTP requests are in flight. The requests must
 * complete, the process must exit 0, and every event the consumer did not finish must still be claimable:
 * a second consumer then completes them all, and every request event made exactly one approval item.
 */
const REQUESTS = 500;
const SLOW_REQUESTS = 4;
/** The slow requests' bodies are finished this long after SIGTERM. */
const BODY_DELAY_MS = 300;

/** POST /approvals whose body arrives in two parts, the second after `delayMs`: in flight across the signal. */
function slowCreate(url: string, token: string, delayMs: number): Promise<{ status: number; body: string }> {
  const body = JSON.stringify({ type: 'shutdown.inflight', title: 'sent across SIGTERM', confidenceScore: 50 });
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/approvals`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      },
    );
    req.on('error', reject);
    req.write(body.slice(0, 10));
    setTimeout(() => req.end(body.slice(10)), delayMs);
  });
}

describe('graceful shutdown under load', () => {
  let t: TestApp;
  let app: SpawnedApp | undefined;
  let survivor: TestApp | undefined;

  beforeAll(async () => {
    if (!existsSync(MAIN_JS)) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    // The test's publisher and database (no consumer of its own).
    t = await startTestApp({ noListen: true });
    t.pool.on('error', () => undefined);
    await t.app.init();
  });
  afterAll(async () => {
    if (app && app.child.exitCode === null && app.child.signalCode === null) app.child.kill('SIGKILL');
    await survivor?.close();
    await t.close();
  });

  it('SIGTERM with requests and events in flight: requests complete, exit 0, nothing lost', async () => {
    const { token, workspaceId } = await t.token('shutdown-load', 'member');
    app = await spawnApp({
      DATABASE_URL: t.databaseUrl,
      EVENT_BUS_PREFIX: t.prefix,
      LOG_LEVEL: 'warn',
      EVENT_BUS_CONSUMER_ENABLED: 'true',
      EVENT_BUS_BATCH_SIZE: '50',
      EVENT_BUS_BLOCK_MS: '200',
      APPROVAL_ESCALATION_ENABLED: 'false',
      AI_PROVIDER_HEALTH_ENABLED: 'false',
      SHUTDOWN_TIMEOUT_MS: '15000',
    });
    const published = await t.app.get(EventPublisher).publishBatch(
      Array.from({ length: REQUESTS }, (_, i) => ({
        type: 'approval.item.requested',
        tenantId: workspaceId,
        source: 'shutdown-test',
        data: { type: 'shutdown.load', title: `request ${i}`, confidenceScore: i % 100 },
      })),
    );
    const countItems = async (type: string) =>
      Number((await t.pool.query(`SELECT count(*) FROM approval_items WHERE type = $1`, [type])).rows[0].count);

    // The consumer is busy with the backlog when the signal comes.
    await vi.waitFor(async () => expect(await countItems('shutdown.load')).toBeGreaterThan(50), { timeout: 20_000, interval: 20 });
    const inFlight = Array.from({ length: SLOW_REQUESTS }, () => slowCreate(app!.url, token, BODY_DELAY_MS));
    const reads = Array.from({ length: SLOW_REQUESTS }, () => fetch(`${app!.url}/approvals?limit=100`, { headers: { authorization: `Bearer ${token}` } }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    app.child.kill('SIGTERM');

    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => a.status)).toEqual(Array(SLOW_REQUESTS).fill(201));
    expect((await Promise.all(reads)).map((r) => r.status)).toEqual(Array(SLOW_REQUESTS).fill(200));
    expect(await app.exited).toEqual({ code: 0, signal: null });
    expect(await countItems('shutdown.inflight')).toBe(SLOW_REQUESTS);

    // What the stopped consumer did not finish is still in the group: acknowledged entries are done, the rest
    // are pending (claimable) or not yet delivered. Nothing is in between.
    const doneBefore = await countItems('shutdown.load');
    expect(doneBefore).toBeLessThan(REQUESTS);
    const [pending] = (await t.redis.call('XPENDING', `${t.prefix}:events:main`, CONSUMER_GROUP)) as [number];
    const { rows: processing } = await t.pool.query(`SELECT count(*)::int AS n FROM event_metadata WHERE status = 'PROCESSING'`);
    expect(processing[0].n).toBeLessThanOrEqual(Number(pending));

    // A second consumer (claiming quickly) finishes the backlog: one approval item per request event.
    survivor = await startTestApp({
      databaseUrl: t.databaseUrl,
      prefix: t.prefix,
      noListen: true,
      env: { EVENT_BUS_CONSUMER_ENABLED: 'true', EVENT_BUS_BLOCK_MS: '200', EVENT_BUS_CLAIM_IDLE_MS: '500', EVENT_BUS_BATCH_SIZE: '100' },
    });
    survivor.pool.on('error', () => undefined);
    await survivor.app.init();
    await vi.waitFor(async () => {
      const { rows } = await t.pool.query(
        `SELECT status, count(*)::int AS n FROM event_metadata WHERE event_id = ANY($1) GROUP BY status`,
        [published.map((e) => e.id)],
      );
      expect(rows).toEqual([{ status: 'COMPLETED', n: REQUESTS }]);
    }, { timeout: 60_000, interval: 250 });
    expect(await countItems('shutdown.load')).toBe(REQUESTS);
    const { rows: duplicates } = await t.pool.query(`SELECT title FROM approval_items WHERE type = 'shutdown.load' GROUP BY title HAVING count(*) > 1`);
    expect(duplicates).toEqual([]);
    console.info(`graceful shutdown: ${doneBefore} of ${REQUESTS} requests done before exit, ${pending} pending at exit; all completed afterwards`);
  }, 120_000);
});
