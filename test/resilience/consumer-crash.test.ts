import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CONSUMER_GROUP } from '../../src/events/event-bus.keys.js';
import type { PublishEventInput } from '../../src/events/event-envelope.js';
import { EventPublisher } from '../../src/events/event-publisher.service.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * A consumer process (the built app with a slow handler) is killed with SIGKILL in the middle of a batch while
 * events keep being published; a second consumer process takes over. Every published event must end COMPLETED
 * or (the poison ones) DLQ: counted one by one, none lost, none left pending.
 */
const FIXTURE = fileURLToPath(new URL('./fixtures/slow-consumer.mjs', import.meta.url));
const BUILT_APP = fileURLToPath(new URL('../../dist/app.factory.js', import.meta.url));
const TOTAL = 1_000;
const PUBLISH_BATCH = 25;
const PUBLISH_PAUSE_MS = 15;
/** Every 20th event fails in every attempt and must end in the DLQ. */
const POISON_EVERY = 20;
const KILL_AFTER_HANDLED = 150;
const CHILD_BATCH = 20;

interface Consumer {
  child: ChildProcess;
  handled: Set<string>;
  exited: Promise<unknown>;
}

async function startConsumer(env: Record<string, string>): Promise<Consumer> {
  const child = spawn(process.execPath, [FIXTURE], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const handled = new Set<string>();
  let ready = false;
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'ready') ready = true;
    else if (line.startsWith('handled ')) handled.add(line.slice('handled '.length));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await vi.waitFor(() => {
    if (child.exitCode !== null) throw new Error(`consumer exited with ${child.exitCode}: ${stderr}`);
    expect(ready).toBe(true);
  }, { timeout: 20_000, interval: 20 });
  return { child, handled, exited };
}

describe('consumer crash under load', () => {
  let t: TestApp;
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    if (!existsSync(BUILT_APP)) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    t = await startTestApp({ noListen: true });
    t.pool.on('error', () => undefined);
    await t.app.init();
  });
  afterAll(async () => {
    for (const { child, exited } of consumers) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    await t.close();
  });

  it(`SIGKILL mid-batch, a new consumer takes over: all ${TOTAL} events end COMPLETED or DLQ`, async () => {
    const env = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'error',
      DATABASE_URL: t.databaseUrl,
      REDIS_URL: t.config.env.REDIS_URL,
      EVENT_BUS_PREFIX: t.prefix,
      EVENT_BUS_CONSUMER_ENABLED: 'true',
      EVENT_BUS_BATCH_SIZE: String(CHILD_BATCH),
      EVENT_BUS_BLOCK_MS: '200',
      EVENT_BUS_CLAIM_IDLE_MS: '1000',
      EVENT_BUS_RETRY_DELAYS_MS: '50,100',
      EVENT_BUS_MAX_RETRIES: '3',
      APPROVAL_ESCALATION_ENABLED: 'false',
      AI_PROVIDER_HEALTH_ENABLED: 'false',
      FIXTURE_HANDLER_MS: '5',
    };
    const first = await startConsumer(env);
    consumers.push(first);

    // Publish the whole load in small batches, in the background, while the consumers come and go.
    const publisher = t.app.get(EventPublisher);
    const published: { id: string; poison: boolean }[] = [];
    const publishing = (async () => {
      for (let start = 0; start < TOTAL; start += PUBLISH_BATCH) {
        const inputs: PublishEventInput[] = [];
        for (let i = start; i < Math.min(start + PUBLISH_BATCH, TOTAL); i++) {
          const poison = i % POISON_EVERY === POISON_EVERY - 1;
          inputs.push({ type: poison ? 'crashload.item.poison' : 'crashload.item.created', tenantId: 'tenant-crash-load', data: { i } });
        }
        const envelopes = await publisher.publishBatch(inputs);
        envelopes.forEach((e) => published.push({ id: e.id, poison: e.type === 'crashload.item.poison' }));
        await new Promise((resolve) => setTimeout(resolve, PUBLISH_PAUSE_MS));
      }
    })();

    // Mid-batch: the first consumer has handled a good share and holds unacknowledged entries right now.
    await vi.waitFor(() => expect(first.handled.size).toBeGreaterThanOrEqual(KILL_AFTER_HANDLED), { timeout: 20_000, interval: 10 });
    first.child.kill('SIGKILL');
    await first.exited;
    const [pendingAtKill] = (await t.redis.call('XPENDING', `${t.prefix}:events:main`, CONSUMER_GROUP)) as [number];
    expect(Number(pendingAtKill)).toBeGreaterThan(0);

    const second = await startConsumer(env);
    consumers.push(second);
    await publishing;
    expect(published).toHaveLength(TOTAL);

    await vi.waitFor(async () => {
      const { rows } = await t.pool.query(`SELECT status, count(*)::int AS n FROM event_metadata GROUP BY status ORDER BY status`);
      const poison = published.filter((e) => e.poison).length;
      expect(rows).toEqual([
        { status: 'COMPLETED', n: TOTAL - poison },
        { status: 'DLQ', n: poison },
      ]);
    }, { timeout: 60_000, interval: 250 });

    // One by one: each event has the status its kind calls for; nothing is left pending or scheduled.
    const { rows } = await t.pool.query(`SELECT event_id, status FROM event_metadata`);
    const status = new Map(rows.map((r: { event_id: string; status: string }) => [r.event_id, r.status]));
    for (const event of published) expect(status.get(event.id), event.id).toBe(event.poison ? 'DLQ' : 'COMPLETED');
    const [pending] = (await t.redis.call('XPENDING', `${t.prefix}:events:main`, CONSUMER_GROUP)) as [number];
    expect(Number(pending)).toBe(0);
    expect(await t.redis.zcard(`${t.prefix}:events:retry`)).toBe(0);
    expect(await t.redis.xlen(`${t.prefix}:events:dlq`)).toBe(published.filter((e) => e.poison).length);
    // Each good event's handler finished in one of the two processes (at least once; the killed one's last
    // batch ran again in the second).
    for (const event of published.filter((e) => !e.poison)) expect(first.handled.has(event.id) || second.handled.has(event.id), event.id).toBe(true);
    console.info(
      `consumer crash: killed after ${first.handled.size} handled with ${pendingAtKill} pending; ` +
        `the second consumer handled ${second.handled.size}; handled twice: ${[...first.handled].filter((id) => second.handled.has(id)).length}`,
    );
  }, 120_000);
});
