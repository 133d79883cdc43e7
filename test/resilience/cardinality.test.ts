import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '../support/database.js';
import { parseExposition, type Exposition } from '../support/exposition.js';
import { MAIN_JS, spawnApp, type SpawnedApp } from '../support/spawn-app.js';
import { blast, rawOnce } from './pipelined-client.js';
import { randomRequests } from './random-requests.js';

/**
 * 100,000 requests to random URLs with random methods against the built app must add no series to /metrics:
 * routes are labelled by template, unknown routes and methods collapse into one label value each. A warm-up
 * round first brings every (method label, route template, status) combination the traffic can reach into
 * existence; the big round must then add nothing. RSS growth over the big round is reported and bounded.
 */
const WARM_UP = 5_000;
const ATTACK = 100_000;
/** Generous: V8 grows its heap under load and keeps it; the point is "bounded", the bench measures the figure. */
const MAX_RSS_GROWTH_BYTES = 150 * 1024 * 1024;
/** What survives a full GC must not grow with the number of distinct URLs (a cache keyed by raw URL would). */
const MAX_RETAINED_HEAP_GROWTH_BYTES = 16 * 1024 * 1024;
const GC_ON_SIGNAL = fileURLToPath(new URL('./fixtures/gc-on-signal.cjs', import.meta.url));
const MIB = 2 ** 20;
const SEED = 0x5eed;

/** Every series as "name{labels}", minus the garbage collector's, which appear as V8 runs new kinds of GC. */
function seriesOf(exposition: Exposition): Set<string> {
  return new Set(
    exposition.samples
      .filter((s) => !s.name.startsWith('nodejs_gc_'))
      .map((s) => `${s.name}{${Object.entries(s.labels).sort().map(([k, v]) => `${k}=${v}`).join(',')}}`),
  );
}

describe('cardinality attack', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: SpawnedApp;
  beforeAll(async () => {
    if (!existsSync(MAIN_JS)) throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
    database = await createTestDatabase();
    // warn: the request log of 100,000 requests would only slow the test down; the metrics are what is tested.
    app = await spawnApp({
      DATABASE_URL: database.url,
      EVENT_BUS_PREFIX: `card${process.pid}`,
      LOG_LEVEL: 'warn',
      EVENT_BUS_CONSUMER_ENABLED: 'false',
      NODE_OPTIONS: `--expose-gc --require ${GC_ON_SIGNAL}`,
    });
  });
  afterAll(async () => {
    if (app && app.child.exitCode === null) {
      app.child.kill('SIGTERM');
      await app.exited;
    }
    await database?.drop();
  });

  const scrape = async () => parseExposition(await (await fetch(`${app.url}/metrics`)).text());
  /** Heap used after a full GC in the app (SIGUSR2, see fixtures/gc-on-signal.cjs). */
  const retainedHeap = async () => {
    app.child.kill('SIGUSR2');
    await new Promise((resolve) => setTimeout(resolve, 300));
    return (await scrape()).value('nodejs_heap_size_used_bytes')!;
  };

  it(`${ATTACK.toLocaleString('en')} requests to random URLs with random methods add no series; RSS stays bounded`, async () => {
    const { hostname, port } = new URL(app.url);
    const warm = await blast(hostname, Number(port), WARM_UP, randomRequests(SEED));
    expect(warm.answered).toBe(WARM_UP);
    // Methods the HTTP parser rejects never reach the app (400, connection closed) and add nothing either.
    for (const method of ['FOO', 'G3T', 'get', 'X'.repeat(40)]) expect(await rawOnce(hostname, Number(port), `${method} / HTTP/1.1\r\nHost: x\r\n\r\n`)).toMatch(/^HTTP\/1\.1 400/);

    const heapBefore = await retainedHeap();
    const before = await scrape();
    const seriesBefore = seriesOf(before);
    const rssBefore = before.value('process_resident_memory_bytes')!;

    const attack = await blast(hostname, Number(port), ATTACK, randomRequests(SEED + 1), { connections: 32, window: 16 });
    expect(attack.answered).toBe(ATTACK);
    expect([...attack.byStatus.keys()].every((status) => status >= 400 && status < 500)).toBe(true);

    const after = await scrape();
    const added = [...seriesOf(after)].filter((series) => !seriesBefore.has(series));
    expect(added).toEqual([]);
    // Everything the attack produced is in a handful of (method, route template, status) combinations.
    const httpSeries = after.series('http_requests_total');
    expect(httpSeries.length).toBeLessThan(150);
    expect(httpSeries.every((s) => !/[0-9a-f]{8}-|%|x{20}/.test(s.labels.route!))).toBe(true);
    const counted = httpSeries.reduce((sum, s) => sum + s.value, 0);
    expect(counted).toBeGreaterThanOrEqual(WARM_UP + ATTACK);

    const rssAfter = after.value('process_resident_memory_bytes')!;
    const heapAfter = await retainedHeap();
    const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;
    console.info(
      `cardinality: ${ATTACK} requests in ${Math.round(attack.ms)} ms (${Math.round(ATTACK / (attack.ms / 1000))}/s), ` +
        `statuses ${JSON.stringify(Object.fromEntries(attack.byStatus))}, ${httpSeries.length} http_requests_total series, ` +
        `RSS ${mib(rssBefore)} → ${mib(rssAfter)} (+${mib(rssAfter - rssBefore)}), heap after GC ${mib(heapBefore)} → ${mib(heapAfter)}`,
    );
    expect(rssAfter - rssBefore).toBeLessThan(MAX_RSS_GROWTH_BYTES);
    expect(heapAfter - heapBefore).toBeLessThan(MAX_RETAINED_HEAP_GROWTH_BYTES);
    expect((await fetch(`${app.url}/health/ready`)).status).toBe(200);
  }, 120_000);
});
