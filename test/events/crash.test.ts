import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CONSUMER_GROUP } from '../../src/events/event-bus.keys.js';
import { EventPublisher } from '../../src/events/event-publisher.service.js';
import { EventSubscriptions } from '../../src/events/event-subscriptions.js';
import type { TestApp } from '../support/test-app.js';
import { FAST_BUS_ENV, input, keysOf, pendingCount, startEventsApp, statusCounts, waitUntil } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/holding-consumer.mjs', import.meta.url));
const BUILT_APP = fileURLToPath(new URL('../../dist/app.factory.js', import.meta.url));
const PUBLISHED = 25;
const CHILD_BATCH = 10;

/** Starts the fixture and resolves once it is consuming; `lines` collects what it prints. */
async function startHoldingConsumer(env: Record<string, string>): Promise<{ child: ChildProcess; lines: string[] }> {
  const child = spawn(process.execPath, [FIXTURE], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (lines.includes('ready')) {
        clearInterval(timer);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`holding consumer exited with ${child.exitCode}: ${stderr}`));
      }
    }, 20);
  });
  return { child, lines };
}

describe('crash safety', () => {
  let publisherApp: TestApp;
  let survivor: TestApp | undefined;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    if (!existsSync(BUILT_APP)) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    publisherApp = await startEventsApp({ noListen: true });
    await publisherApp.app.init();
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await survivor?.close();
    await publisherApp.close();
  });

  it('events held unacknowledged by a consumer killed with SIGKILL are claimed and processed by another consumer', async () => {
    const t = publisherApp;
    // Published before the child starts, so its first read takes a full batch.
    const published = await t.app.get(EventPublisher).publishBatch(
      Array.from({ length: PUBLISHED }, (_, i) => input('test.crash.created', 'tenant-crash', { i })),
    );
    const started = await startHoldingConsumer({
      NODE_ENV: 'test',
      LOG_LEVEL: 'error',
      DATABASE_URL: t.databaseUrl,
      REDIS_URL: t.config.env.REDIS_URL,
      EVENT_BUS_PREFIX: t.prefix,
      EVENT_BUS_CONSUMER_ENABLED: 'true',
      EVENT_BUS_BATCH_SIZE: String(CHILD_BATCH),
      EVENT_BUS_BLOCK_MS: '200',
      APPROVAL_ESCALATION_ENABLED: 'false',
      AI_PROVIDER_HEALTH_ENABLED: 'false',
    });
    child = started.child;

    // The child read a batch and is stuck in the first event's handler: the whole batch is pending on it.
    await waitUntil(() => expect(started.lines.some((l) => l.startsWith('holding '))).toBe(true));
    await waitUntil(async () => expect(await pendingCount(t)).toBe(CHILD_BATCH));
    const held = (await t.redis.call('XPENDING', keysOf(t).main, CONSUMER_GROUP)) as [number, string, string, [string, string][]];
    expect(held[3]).toHaveLength(1);
    expect(Number(held[3][0]![1])).toBe(CHILD_BATCH);

    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const seen = new Set<string>();
    survivor = await startEventsApp({
      databaseUrl: t.databaseUrl,
      prefix: t.prefix,
      noListen: true,
      env: { ...FAST_BUS_ENV, EVENT_BUS_CLAIM_IDLE_MS: '500' },
    });
    survivor.app.get(EventSubscriptions).subscribe('survivor', 'test.crash.*', (event) => {
      seen.add(event.id);
    });
    await survivor.app.init();

    await waitUntil(async () => {
      expect((await statusCounts(t)).COMPLETED).toBe(PUBLISHED);
      expect(await pendingCount(t)).toBe(0);
    }, 20_000);
    expect(await statusCounts(t)).toEqual({ COMPLETED: PUBLISHED });
    expect(published.every((e) => seen.has(e.id))).toBe(true);
    // The events the dead consumer held were delivered twice: its attempt counted, the survivor's completed them.
    const { rows } = await t.pool.query(`SELECT attempts, count(*)::int AS n FROM event_metadata GROUP BY attempts ORDER BY attempts`);
    expect(rows).toEqual([
      { attempts: 1, n: PUBLISHED - CHILD_BATCH },
      { attempts: 2, n: CHILD_BATCH },
    ]);
    // The dead consumer, with nothing pending any more and no heartbeat, is eventually removed from the group.
    await waitUntil(async () => {
      const consumers = (await t.redis.call('XINFO', 'CONSUMERS', keysOf(t).main, CONSUMER_GROUP)) as unknown[];
      expect(consumers).toHaveLength(1);
    }, 20_000);
  });
});
