import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { apiEnv, log, type BenchContext } from '../lib/context.js';
import { load, measure } from '../lib/load.js';
import { BUILD_DIR, OUR_MAIN } from '../lib/paths.js';
import { ServerProcess } from '../lib/proc.js';
import { analyseProfile, type FunctionCost } from '../lib/profile.js';
import { fmt, table } from '../lib/report.js';
import { createBenchDatabase } from '../lib/services.js';

const PROFILE_DIR = join(BUILD_DIR, 'profiles');
/** Sampling every 100 µs: a request costs a few hundred µs, the instrumentation a few µs. */
const SAMPLE_INTERVAL_US = 100;
const WARMUP_SECONDS = 2;
const LOAD_SECONDS = 8;
const QUICK_LOAD_SECONDS = 3;
const TOP = 12;
/** The HTTP instrumentation's own frames (compiled src/metrics/metrics.interceptor.ts). */
const isInstrumentation = (frame: string) => frame.includes('src/metrics/metrics.interceptor.js');
/** The Express router's next(): where the middleware hands the request to the rest of the app. */
const isHandOver = (frame: string) => frame.startsWith('next router/');

/**
 * Where the API's per-request CPU goes, with the HTTP instrumentation on, from a V8 CPU profile taken under
 * load: the instrumentation's share of busy CPU time (its functions and everything they call) is a far steadier
 * estimate of its cost than an on/off A/B on a noisy machine, and shows which calls inside it cost what.
 */
export async function httpProfile(ctx: BenchContext): Promise<void> {
  const { options } = ctx;
  ctx.commands.push(`node --cpu-prof --cpu-prof-dir=bench/.tmp/profiles --cpu-prof-interval=${SAMPLE_INTERVAL_US} bench/.tmp/src/main.js   # profile phase, under autocannon -c ${options.connections}`);
  rmSync(PROFILE_DIR, { recursive: true, force: true });
  mkdirSync(PROFILE_DIR, { recursive: true });
  const database = await createBenchDatabase('profile');
  let requests = 0;
  let cpuPerRequestUs = Number.NaN;
  try {
    const server = await ServerProcess.start({
      name: 'api-profile',
      script: OUR_MAIN,
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-interval=${SAMPLE_INTERVAL_US}`],
      env: apiEnv({ DATABASE_URL: database.url, REDIS_URL: ctx.redis.url, EVENT_BUS_PREFIX: 'bench-profile' }),
    });
    try {
      await load(server, { path: '/health/live', connections: options.connections, durationSeconds: WARMUP_SECONDS });
      const m = await measure(server, { path: '/health/live', connections: options.connections, durationSeconds: options.quick ? QUICK_LOAD_SECONDS : LOAD_SECONDS });
      requests = m.requests;
      cpuPerRequestUs = m.cpuPerRequestUs;
    } finally {
      await server.stop();
    }
  } finally {
    await database.drop();
  }
  const file = readdirSync(PROFILE_DIR).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no CPU profile written to ${PROFILE_DIR}`);
  const summary = analyseProfile(join(PROFILE_DIR, file), isInstrumentation, isHandOver);
  const share = summary.focusMs / summary.busyMs;
  log(`profile: instrumentation ${fmt.pct(1 + share)} of busy CPU`);
  const rows = (costs: FunctionCost[], key: 'totalMs' | 'selfMs') =>
    costs
      .sort((a, b) => b[key] - a[key])
      .slice(0, TOP)
      .map((c) => [`\`${c.name}\``, fmt.ms(c[key]), `${((c[key] / summary.busyMs) * 100).toFixed(2)} %`]);
  const ours = summary.functions.filter((f) => isInstrumentation(f.name));
  ctx.report.section(
    'Where the API\'s per-request CPU goes (CPU profile, instrumentation on)',
    `\`node --cpu-prof --cpu-prof-interval=${SAMPLE_INTERVAL_US}\` on the API under ${options.connections} connections to /health/live ` +
      `(${fmt.int(requests)} requests in the measured window; ${fmt.us(cpuPerRequestUs)} µs CPU/request while profiling). Shares are of the busy ` +
      `(non-idle) sampled time of the main thread from the first to the last sample inside the instrumentation. Profile: bench/.tmp/profiles/${file}.`,
    `**HTTP instrumentation (functions of src/metrics/metrics.interceptor.ts and everything they call, except the rest of the chain the middleware hands over to with next()): ${fmt.ms(summary.focusMs)} ms of ` +
      `${fmt.ms(summary.busyMs)} ms = ${(share * 100).toFixed(2)} % of busy CPU, ≈ ${fmt.us((summary.focusMs * 1000) / requests)} µs per request.**`,
    table(['Instrumentation function', 'inclusive ms', 'share of busy CPU'], rows(ours, 'totalMs')),
    '**Leaf frames inside the instrumentation** (where its time is actually spent)',
    table(['Leaf frame', 'ms', 'share of busy CPU'], rows(summary.focusLeaves, 'totalMs')),
    '**Top frames by self time, whole request path** (for scale: what the rest of the per-request CPU is)',
    table(['Frame', 'self ms', 'share of busy CPU'], rows(summary.functions, 'selfMs')),
  );
  ctx.report.headline('HTTP instrumentation share of busy CPU (CPU profile)', `${(share * 100).toFixed(2)} % (≈ ${fmt.us((summary.focusMs * 1000) / requests)} µs/request)`, '≤ 2 %', share <= 0.02);
}
