import { Redis } from 'ioredis';
import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { buildEnvelope } from '../../src/events/event-envelope.js';
import { CONSUMER_GROUP, EventBusKeys } from '../../src/events/event-bus.keys.js';
import { apiEnv, log, type BenchContext } from '../lib/context.js';
import { load } from '../lib/load.js';
import { OUR_MAIN } from '../lib/paths.js';
import { ServerProcess, sleep } from '../lib/proc.js';
import { fmt, table } from '../lib/report.js';
import { scrapeOnce, scrapeWithProbes, seriesCount } from '../lib/scrape.js';
import { OPEN_APPROVALS, Seeder } from '../lib/seed.js';
import { createBenchDatabase } from '../lib/services.js';
import { median, percentile } from '../lib/stats.js';

const PREFIX = 'bench-scrape';
const SCRAPES = 50;
const CACHED_INTERVAL_MS = 100;
const REFRESH_INTERVAL_MS = 50;
const LOAD_SECONDS = 8;
const LOAD_SCRAPE_INTERVAL_MS = 100;
/** Scraping starts this long after the load does, and stops this long before it ends. */
const LOAD_MARGIN_MS = 1_000;
/** About a quarter of what the API serves on this 2-core machine with 30 connections (a loaded, not saturated, server). */
const MODERATE_RATE = 1_000;
const TARGET_MEDIAN_MS = 3;
const TARGET_P99_MS = 15;
const TARGET_SIZE_RATIO = 1.2;

interface DataState {
  label: string;
  approvals: number;
  stream: number;
  eventMetadata: number;
  /** Open approval items (a backlog); OPEN_APPROVALS when unset. Not part of the table-size comparison. */
  backlog?: number;
}

function states(quick: boolean): DataState[] {
  const k = 1_000;
  const big = quick ? 50_000 : 1_000_000;
  const mid = quick ? 10_000 : 100_000;
  const name = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1_000}k`);
  return [
    { label: `${name(k)} approvals (${OPEN_APPROVALS} open), ${name(k)} stream entries, ${name(k)} EventMetadata`, approvals: k, stream: k, eventMetadata: k },
    { label: `${name(mid)} approvals`, approvals: mid, stream: k, eventMetadata: k },
    { label: `${name(big)} approvals`, approvals: big, stream: k, eventMetadata: k },
    { label: `${name(big)} approvals + ${name(big)} stream entries`, approvals: big, stream: big, eventMetadata: k },
    { label: `${name(big)} approvals + ${name(big)} stream entries + ${name(big)} EventMetadata`, approvals: big, stream: big, eventMetadata: big },
    { label: `backlog: as above with ${name(big / 100)} open approvals (1 %)`, approvals: big, stream: big, eventMetadata: big, backlog: big / 100 },
  ];
}

interface Row {
  label: string;
  mode: string;
  times: number[];
  /** GET /health/live right after each scrape, same connection (see scrapeWithProbes). */
  probes?: number[];
}

const PROBE = { probePath: '/health/live' };
/** Median over pairs of (scrape − the probe right after it): the scrape's own cost. */
const excess = (row: Row) => (row.probes ? median(row.times.map((t, i) => t - row.probes![i]!)) : Number.NaN);

/**
 * Cost of GET /metrics, scraped like Prometheus does (one keep-alive connection, Accept-Encoding: gzip):
 * idle, under HTTP load, and as the approvals table, the main stream and EventMetadata grow. Two API processes
 * watch the same data: one with the default collect interval (most scrapes are served from the last snapshot),
 * one with METRICS_COLLECT_INTERVAL_SECONDS=0.001 so every scrape pays for a full refresh of every collector,
 * which is where table or stream size would show.
 */
export async function scrapeCost(ctx: BenchContext): Promise<void> {
  const { options } = ctx;
  const database = await createBenchDatabase('scrape');
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  const redis = new Redis(ctx.redis.url);
  const keys = new EventBusKeys(PREFIX);
  const seeder = new Seeder(pool, redis, keys.main, CONSUMER_GROUP);
  const payload = JSON.stringify(
    buildEnvelope({ type: 'approval.item.approved', tenantId: '3f2b8c1e-2a4d-4c6b-9e1f-0a1b2c3d4e5f', userId: 'user-1', data: { approvalId: '7d1e2f3a-4b5c-4d6e-8f9a-0b1c2d3e4f5a', decision: 'approved', confidence: 92 } }),
  );
  const env = (interval?: string) =>
    apiEnv({ DATABASE_URL: database.url, REDIS_URL: ctx.redis.url, EVENT_BUS_PREFIX: PREFIX, ...(interval ? { METRICS_COLLECT_INTERVAL_SECONDS: interval } : {}) });
  ctx.commands.push(
    '# scrape: two API processes on one seeded database; the second with METRICS_COLLECT_INTERVAL_SECONDS=0.001',
    "curl -s -H 'Accept-Encoding: gzip' http://127.0.0.1:<port>/metrics -o /dev/null   # what each timed scrape does (node http, keep-alive)",
    `# under load: autocannon -c ${options.connections} -d ${LOAD_SECONDS} [-R ${MODERATE_RATE}] http://127.0.0.1:<port>/health/live (worker thread) while scraping every ${LOAD_SCRAPE_INTERVAL_MS} ms`,
  );
  const rows: Row[] = [];
  const seeding: string[] = [];
  let cached: ServerProcess | undefined;
  let refreshing: ServerProcess | undefined;
  let lastBody = '';
  let lastBytes = 0;
  let plainBytes = 0;
  const all = states(options.quick);
  const bigState = all.at(-2)!;
  try {
    cached = await ServerProcess.start({ name: 'api-scrape-cached', script: OUR_MAIN, env: env() });
    refreshing = await ServerProcess.start({ name: 'api-scrape-refresh', script: OUR_MAIN, env: env('0.001') });
    for (const [index, state] of all.entries()) {
      const started = performance.now();
      await seeder.approvalsTo(state.approvals);
      await seeder.streamTo(state.stream, payload);
      // created_at spread computed for the largest table, so the newest rows (the last hour) are alike in every state.
      await seeder.eventMetadataTo(state.eventMetadata, bigState.eventMetadata);
      if (state.backlog) await seeder.approvalBacklog(state.backlog);
      const seconds = (performance.now() - started) / 1000;
      seeding.push(`${state.label}: ${seconds.toFixed(1)} s`);
      log(`scrape: seeded "${state.label}" in ${seconds.toFixed(1)} s`);
      // Let each process take a snapshot of the new data before timing.
      await scrapeOnce(cached.url, { gzip: true });
      await scrapeOnce(refreshing.url, { gzip: true });
      await sleep(500);
      if (index === 0) {
        const plain = await scrapeWithProbes(cached.url, SCRAPES, CACHED_INTERVAL_MS, { gzip: false, ...PROBE });
        rows.push({ label: 'idle', mode: 'default interval, no gzip', times: plain.times, probes: plain.probes });
        plainBytes = plain.last.bytes;
      }
      const fromSnapshot = await scrapeWithProbes(cached.url, SCRAPES, CACHED_INTERVAL_MS, { gzip: true, ...PROBE });
      rows.push({ label: index === 0 ? `idle: ${state.label}` : state.label, mode: 'default interval (5 s)', times: fromSnapshot.times, probes: fromSnapshot.probes });
      const refreshed = await scrapeWithProbes(refreshing.url, SCRAPES, REFRESH_INTERVAL_MS, { gzip: true, ...PROBE });
      rows.push({ label: index === 0 ? `idle: ${state.label}` : state.label, mode: 'refresh on every scrape', times: refreshed.times, probes: refreshed.probes });
      lastBody = refreshed.last.body;
      lastBytes = refreshed.last.bytes;
      if (index === 0) {
        rows.push(await underLoad(cached, options.connections, MODERATE_RATE));
        rows.push(await underLoad(cached, options.connections));
      }
      log(`scrape: "${state.label}": median ${fmt.ms(median(fromSnapshot.times))} ms (snapshot), ${fmt.ms(median(refreshed.times))} ms (refresh)`);
    }
  } finally {
    await Promise.all([cached?.stop(), refreshing?.stop()]);
    await pool.end();
    await redis.del(keys.main, keys.dlq).catch(() => undefined);
    redis.disconnect();
    await database.drop();
  }
  reportScrape(ctx, rows, all, seeding, { series: seriesCount(lastBody), gzipBytes: lastBytes, plainBytes });
}

/**
 * Scrapes while autocannon loads /health/live from a worker thread (so this thread's timings are not delayed
 * by the load generator). `rate` = a fixed request rate (a loaded but not saturated server); without it the
 * connections send as fast as the server answers, so the server's event loop is always busy and every
 * request, the scrape included, queues behind the others — the probe route's own latency is shown for scale.
 */
async function underLoad(server: ServerProcess, connections: number, rate?: number): Promise<Row> {
  const loading = load(server, { path: '/health/live', connections, durationSeconds: LOAD_SECONDS, inWorker: true, ...(rate ? { overallRate: rate } : {}) });
  await sleep(LOAD_MARGIN_MS);
  const count = Math.floor((LOAD_SECONDS * 1000 - 2 * LOAD_MARGIN_MS) / LOAD_SCRAPE_INTERVAL_MS);
  const { times, probes } = await scrapeWithProbes(server.url, count, LOAD_SCRAPE_INTERVAL_MS, { gzip: true, ...PROBE });
  const result = await loading;
  const kind = rate ? `${fmt.int(rate)} req/s fixed rate` : 'saturating';
  return {
    label: `under HTTP load, ${kind} (${connections} connections on /health/live, ${fmt.int(result.requests.average)} req/s served; probe route p50 ${fmt.ms(result.latency.p50)} ms, p99 ${fmt.ms(result.latency.p99)} ms)`,
    mode: 'default interval (5 s)',
    times,
    probes,
  };
}

function reportScrape(
  ctx: BenchContext,
  rows: Row[],
  all: DataState[],
  seeding: string[],
  size: { series: number; gzipBytes: number; plainBytes: number },
): void {
  const baseline = (mode: string) => rows.find((r) => r.mode === mode)!;
  const ratio = (row: Row) => median(row.times) / median(baseline(row.mode).times);
  const excessRatio = (row: Row) => excess(row) / excess(baseline(row.mode));
  ctx.report.section(
    'Scrape cost',
    'GET /metrics over one keep-alive connection with `Accept-Encoding: gzip` (as Prometheus scrapes), timed from request to last body byte, ' +
      `${SCRAPES} scrapes per row (${CACHED_INTERVAL_MS} ms apart; ${REFRESH_INTERVAL_MS} ms for "refresh on every scrape"). ` +
      '"default interval" = METRICS_COLLECT_INTERVAL_SECONDS=5 (scrapes are served from the last snapshot; one in ~50 waits for a refresh); ' +
      '"refresh on every scrape" = a second API process with METRICS_COLLECT_INTERVAL_SECONDS=0.001, so every scrape waits for every collector\'s ' +
      'PostgreSQL and Redis queries — the worst case, where data size would show. Data grows cumulatively (each row adds to the previous one).',
    `Seeding: approval_items has ${OPEN_APPROVALS} open items (pending/escalated, due dates ±48 h around now, about half overdue) in every state, ` +
      'the rest is closed history (a bigger table = a longer history, same working queue); the last row reopens items into a 1 % backlog ' +
      '(the overdue count then reads more index entries: that cost follows the backlog, not the table). Main stream entries are real envelopes (' +
      'consumer group 100 entries behind, 10 pending); EventMetadata created_at spread as if 1M rows covered 30 days, so the newest rows ' +
      '(the last hour, which `event_bus_recent_events` counts) look alike in every state and the larger states add history. ' +
      `Seeding times: ${seeding.join('; ')}.`,
    'Each timed scrape is followed by a GET /health/live over the same connection ("probe"): a trivial request at the same moment. ' +
      '"scrape − probe" (median over the pairs) is the scrape\'s own cost with the round trip and most of the shared machine\'s noise ' +
      'removed; when raw medians move between rows but "scrape − probe" does not, the machine moved, not the scrape.',
    table(
      ['Data / condition', 'Mode', 'median ms', 'p99 ms', 'max ms', 'probe median ms', 'scrape − probe ms', 'median vs first row of its mode', 'scrape − probe vs first row'],
      rows.map((row) => [
        row.label,
        row.mode,
        fmt.ms(median(row.times)),
        fmt.ms(percentile(row.times, 99)),
        fmt.ms(Math.max(...row.times)),
        row.probes ? fmt.ms(median(row.probes)) : '—',
        fmt.ms(excess(row)),
        fmt.ratio(ratio(row)),
        row.probes ? fmt.ratio(excessRatio(row)) : '—',
      ]),
    ),
    `At the largest state: ${fmt.int(size.series)} series, ${fmt.int(size.gzipBytes)} bytes gzipped (${fmt.int(size.plainBytes)} bytes plain text at the first state).`,
  );
  for (const load of rows.filter((r) => r.label.startsWith('under HTTP load'))) {
    const loadMedian = median(load.times);
    const loadP99 = percentile(load.times, 99);
    ctx.report.headline(
      `/metrics ${load.label.slice(0, load.label.indexOf(' ('))}: median, p99 (probe route median, p99)`,
      `${fmt.ms(loadMedian)} ms, ${fmt.ms(loadP99)} ms (${fmt.ms(median(load.probes!))} ms, ${fmt.ms(percentile(load.probes!, 99))} ms)`,
      `≤ ${TARGET_MEDIAN_MS} ms, ≤ ${TARGET_P99_MS} ms`,
      loadMedian <= TARGET_MEDIAN_MS && loadP99 <= TARGET_P99_MS,
    );
  }
  const big = all.at(-2)!;
  for (const mode of ['default interval (5 s)', 'refresh on every scrape']) {
    const sized = rows.filter((r) => r.mode === mode && !r.label.startsWith('under') && !r.label.startsWith('backlog'));
    const worst = Math.max(...sized.map(ratio));
    const worstExcess = Math.max(...sized.map(excessRatio));
    ctx.report.headline(
      `/metrics median up to ${big.label} vs 1k, ${mode} (worst row): raw; scrape − probe`,
      `${fmt.ratio(worst)}×; ${fmt.ratio(worstExcess)}×`,
      `≤ ${TARGET_SIZE_RATIO}×`,
      worst <= TARGET_SIZE_RATIO,
    );
  }
}
