import { randomBytes } from 'node:crypto';
import { apiEnv, log, PEER_ENV, type BenchContext } from '../lib/context.js';
import { load } from '../lib/load.js';
import { OUR_MAIN, peerMain } from '../lib/paths.js';
import { ServerProcess, sleep } from '../lib/proc.js';
import { fmt, table } from '../lib/report.js';
import { scrapeOnce, seriesCount } from '../lib/scrape.js';
import { createBenchDatabase } from '../lib/services.js';

const JUNK_REQUESTS = 100_000;
const QUICK_JUNK_REQUESTS = 10_000;
/** The peer gets the reference's 20,000 junk URLs: its series grow with every URL and scrapes get slow. */
const PEER_JUNK_REQUESTS = 20_000;
const WARMUP_REQUESTS = 5_000;
const SETTLE_MS = 1_000;
const RSS_TARGET_BYTES = 10 * 1024 * 1024;

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

interface JunkResult {
  label: string;
  requests: number;
  seriesBefore: number;
  seriesAfter: number;
  rssBefore: number;
  rssAfter: number;
  scrapeMsBefore: number;
  scrapeMsAfter: number;
  statuses: string;
}

async function junk(server: ServerProcess, label: string, amount: number, connections: number): Promise<JunkResult> {
  // Warm-up: valid traffic plus some junk, so lazily created state (JIT, the one "unmatched" series, buffers)
  // exists before the "before" reading.
  await load(server, { path: '/health/live', connections, amount: WARMUP_REQUESTS });
  await load(server, { path: '/', connections, amount: WARMUP_REQUESTS, requests: junkRequests });
  await sleep(SETTLE_MS);
  const before = await scrapeOnce(server.url);
  const rssBefore = server.rssBytes();
  const result = await load(server, { path: '/', connections, amount, requests: junkRequests });
  await sleep(SETTLE_MS);
  const rssAfter = server.rssBytes();
  const after = await scrapeOnce(server.url);
  return {
    label,
    requests: amount,
    seriesBefore: seriesCount(before.body),
    seriesAfter: seriesCount(after.body),
    rssBefore,
    rssAfter,
    scrapeMsBefore: before.ms,
    scrapeMsAfter: after.ms,
    statuses: Object.entries(result.statusCodeStats)
      .map(([code, { count }]) => `${code}×${count}`)
      .join(' '),
  };
}

/** Memory and series under random unknown URLs (a cardinality attack): the API against express-prom-bundle. */
export async function junkMemory(ctx: BenchContext): Promise<void> {
  const { options } = ctx;
  const database = await createBenchDatabase('junk');
  const results: JunkResult[] = [];
  try {
    const api = await ServerProcess.start({
      name: 'api-junk',
      script: OUR_MAIN,
      env: apiEnv({ DATABASE_URL: database.url, REDIS_URL: ctx.redis.url, EVENT_BUS_PREFIX: 'bench-junk' }),
    });
    const firstScrape = await scrapeOnce(api.url);
    try {
      results.push(await junk(api, 'API (METRICS_HTTP_ENABLED=true)', options.quick ? QUICK_JUNK_REQUESTS : JUNK_REQUESTS, options.connections));
    } finally {
      await api.stop();
    }
    log(`junk: API series ${results[0]!.seriesBefore} → ${results[0]!.seriesAfter} (before any traffic: ${seriesCount(firstScrape.body)})`);
    const peer = await ServerProcess.start({ name: 'peer-prom-bundle-junk', script: peerMain('prom-bundle'), env: PEER_ENV });
    try {
      results.push(await junk(peer, 'peer: express-prom-bundle', options.quick ? QUICK_JUNK_REQUESTS / 5 : PEER_JUNK_REQUESTS, options.connections));
    } finally {
      await peer.stop();
    }
  } finally {
    await database.drop();
  }
  const api = results[0]!;
  ctx.report.section(
    'Memory and series under junk traffic',
    `Random unknown URLs (\`/<8 letters>/<6 letters>?q=<4 letters>\`), ${options.connections} connections. Before the "before" reading each server ` +
      `served ${WARMUP_REQUESTS.toLocaleString('en-US')} valid and ${WARMUP_REQUESTS.toLocaleString('en-US')} junk requests (warm-up), then rested ${SETTLE_MS} ms. ` +
      'RSS from /proc/<pid>/status (VmRSS); series = sample lines of /metrics; scrape time = one GET /metrics after the traffic.',
    table(
      ['Server', 'junk requests', 'statuses', 'series before', 'series after', 'new series', 'RSS before MiB', 'RSS after MiB', 'RSS growth MiB', 'scrape ms before', 'scrape ms after'],
      results.map((r) => [r.label, fmt.int(r.requests), r.statuses, fmt.int(r.seriesBefore), fmt.int(r.seriesAfter), fmt.int(r.seriesAfter - r.seriesBefore), fmt.mib(r.rssBefore), fmt.mib(r.rssAfter), fmt.mib(r.rssAfter - r.rssBefore), fmt.ms(r.scrapeMsBefore), fmt.ms(r.scrapeMsAfter)]),
    ),
  );
  const growth = api.rssAfter - api.rssBefore;
  const newSeries = api.seriesAfter - api.seriesBefore;
  ctx.report.headline(
    `Junk traffic (${fmt.int(api.requests)} random URLs): RSS growth, new series`,
    `${fmt.mib(growth)} MiB, ${newSeries} new series`,
    '≤ 10 MiB, 0 new series',
    growth <= RSS_TARGET_BYTES && newSeries === 0,
  );
}
