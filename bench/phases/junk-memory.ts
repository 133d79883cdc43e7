import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { apiEnv, log, PEER_ENV, type BenchContext } from '../lib/context.js';
import { load } from '../lib/load.js';
import { benchScript, LOG_DIR, OUR_MAIN, peerMain } from '../lib/paths.js';
import { ServerProcess, sleep } from '../lib/proc.js';
import { fmt, table } from '../lib/report.js';
import { scrapeOnce, seriesCount } from '../lib/scrape.js';
import { createBenchDatabase } from '../lib/services.js';
import { readOnSignal } from '../lib/signal-file.js';

const JUNK_REQUESTS = 100_000;
const QUICK_JUNK_REQUESTS = 10_000;
/** The peer gets the reference's 20,000 junk URLs: its series grow with every URL and scrapes get slow. */
const PEER_JUNK_REQUESTS = 20_000;
const WARMUP_REQUESTS = 5_000;
const SETTLE_MS = 1_000;
const MIB = 1024 * 1024;
const RSS_TARGET_BYTES = 10 * MIB;

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
/** Random lowercase words: libraries that "normalise" paths replace ids, hex and numbers, but not words. */
function word(length: number): string {
  let text = '';
  for (const byte of randomBytes(length)) text += LETTERS[byte % LETTERS.length];
  return text;
}

const junkRequests = [
  {
    setupRequest: (req: { path?: string }) => {
      req.path = `/${word(8)}/${word(6)}?q=${word(4)}`;
      return req;
    },
  },
];

interface Memory {
  rss: number;
  heapUsed: number;
}

interface Reading {
  series: number;
  scrapeMs: number;
  /** VmRSS as it is, with whatever garbage V8 has not collected yet. */
  rss: number;
  /** After two forced full GCs (preload bench/support/gc-on-signal.ts). */
  afterGc: Memory;
}

interface JunkResult {
  label: string;
  requests: number;
  statuses: string;
  before: Reading;
  after: Reading;
}

async function reading(server: ServerProcess, gcFile: string): Promise<Reading> {
  await sleep(SETTLE_MS);
  const rss = server.rssBytes();
  const scrape = await scrapeOnce(server.url);
  const afterGc = await readOnSignal<Memory>(server, gcFile);
  return { series: seriesCount(scrape.body), scrapeMs: scrape.ms, rss, afterGc: { rss: server.rssBytes(), heapUsed: afterGc.heapUsed } };
}

async function junk(name: string, label: string, script: string, env: Record<string, string>, amount: number, connections: number): Promise<JunkResult> {
  const gcFile = join(LOG_DIR, `${name}-gc.json`);
  rmSync(gcFile, { force: true });
  const server = await ServerProcess.start({
    name,
    script,
    nodeArgs: ['--expose-gc', '--import', benchScript('support/gc-on-signal.js')],
    env: { ...env, BENCH_GC_FILE: gcFile },
  });
  try {
    // Warm-up: valid traffic plus some junk, so lazily created state (JIT, the one "unmatched" series, buffers)
    // exists before the "before" reading.
    await load(server, { path: '/health/live', connections, amount: WARMUP_REQUESTS });
    await load(server, { path: '/', connections, amount: WARMUP_REQUESTS, requests: junkRequests });
    const before = await reading(server, gcFile);
    const result = await load(server, { path: '/', connections, amount, requests: junkRequests });
    const after = await reading(server, gcFile);
    const statuses = Object.entries(result.statusCodeStats)
      .map(([code, { count }]) => `${code}×${count}`)
      .join(' ');
    return { label, requests: amount, statuses, before, after };
  } finally {
    await server.stop();
  }
}

/**
 * Memory and series under random unknown URLs (a cardinality attack): the API with its HTTP instrumentation, the
 * same build without it (the control: what the rest of the app does with the same traffic), and
 * express-prom-bundle.
 */
export async function junkMemory(ctx: BenchContext): Promise<void> {
  const { options } = ctx;
  ctx.commands.push(`# junk: node --expose-gc --import bench/.tmp/bench/support/gc-on-signal.js <server>; autocannon -c ${options.connections} -a <n> with a random path per request (autocannon API setupRequest); VmRSS from /proc/<pid>/status`);
  const database = await createBenchDatabase('junk');
  const amount = options.quick ? QUICK_JUNK_REQUESTS : JUNK_REQUESTS;
  const api = (enabled: boolean) =>
    apiEnv({ DATABASE_URL: database.url, REDIS_URL: ctx.redis.url, EVENT_BUS_PREFIX: 'bench-junk', METRICS_HTTP_ENABLED: String(enabled) });
  const results: JunkResult[] = [];
  try {
    results.push(await junk('api-junk-on', 'API, METRICS_HTTP_ENABLED=true', OUR_MAIN, api(true), amount, options.connections));
    results.push(await junk('api-junk-off', 'API, METRICS_HTTP_ENABLED=false (control)', OUR_MAIN, api(false), amount, options.connections));
    const peerAmount = options.quick ? QUICK_JUNK_REQUESTS / 5 : PEER_JUNK_REQUESTS;
    results.push(await junk('peer-prom-bundle-junk', 'peer: express-prom-bundle', peerMain('prom-bundle'), PEER_ENV, peerAmount, options.connections));
  } finally {
    await database.drop();
  }
  const [on, off] = results as [JunkResult, JunkResult];
  log(`junk: API series ${on.before.series} → ${on.after.series}`);
  const growth = (r: JunkResult) => r.after.afterGc.rss - r.before.afterGc.rss;
  ctx.report.section(
    'Memory and series under junk traffic',
    `Random unknown URLs (\`/<8 letters>/<6 letters>?q=<4 letters>\`), ${options.connections} connections. Before the "before" reading each server ` +
      `served ${WARMUP_REQUESTS.toLocaleString('en-US')} valid and ${WARMUP_REQUESTS.toLocaleString('en-US')} junk requests (warm-up). Each reading: ` +
      `${SETTLE_MS} ms rest, VmRSS, one GET /metrics (series = sample lines, and its time), then two forced full GCs in the server ` +
      '(SIGUSR2 to a preload run with --expose-gc) and VmRSS and V8 heap used again. Raw RSS mostly shows how far V8 grew its heap since ' +
      'its last major GC (it varies by tens of MiB from one moment to the next, with or without instrumentation); after a forced GC it ' +
      'shows what is retained. The API with METRICS_HTTP_ENABLED=false is the control.',
    table(
      ['Server', 'junk requests', 'statuses', 'series before → after', 'new series', 'RSS MiB before → after (raw)', 'RSS MiB before → after (after GC)', 'RSS growth after GC MiB', 'heap used after GC MiB before → after', 'scrape ms before → after'],
      results.map((r) => [
        r.label,
        fmt.int(r.requests),
        r.statuses,
        `${fmt.int(r.before.series)} → ${fmt.int(r.after.series)}`,
        fmt.int(r.after.series - r.before.series),
        `${fmt.mib(r.before.rss)} → ${fmt.mib(r.after.rss)}`,
        `${fmt.mib(r.before.afterGc.rss)} → ${fmt.mib(r.after.afterGc.rss)}`,
        fmt.mib(growth(r)),
        `${fmt.mib(r.before.afterGc.heapUsed)} → ${fmt.mib(r.after.afterGc.heapUsed)}`,
        `${fmt.ms(r.before.scrapeMs)} → ${fmt.ms(r.after.scrapeMs)}`,
      ]),
    ),
  );
  const newSeries = on.after.series - on.before.series;
  ctx.report.headline(
    `Junk traffic (${fmt.int(on.requests)} random URLs): RSS growth after GC (control without instrumentation), new series`,
    `${fmt.mib(growth(on))} MiB (control ${fmt.mib(growth(off))} MiB), ${newSeries} new series`,
    '≤ 10 MiB, 0 new series',
    growth(on) <= RSS_TARGET_BYTES && newSeries === 0,
  );
}
