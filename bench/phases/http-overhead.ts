import { apiEnv, log, PEER_ENV, type BenchContext } from '../lib/context.js';
import { load, measure, type Measurement } from '../lib/load.js';
import { OUR_MAIN, peerMain } from '../lib/paths.js';
import { ServerProcess } from '../lib/proc.js';
import { fmt, table } from '../lib/report.js';
import { createBenchDatabase } from '../lib/services.js';
import { median } from '../lib/stats.js';

const PATH = '/health/live';
const INITIAL_WARMUP_SECONDS = 3;
const TARGET_OVERHEAD = 0.02;

interface Arm {
  key: string;
  label: string;
  start: () => Promise<ServerProcess>;
}

type Round = Map<string, Measurement>;

/**
 * HTTP instrumentation overhead: every arm is its own server process, all started up front and loaded in
 * interleaved rounds (the starting arm rotates each round), each measurement preceded by a warm-up. Ratios are
 * taken within a round, then the median over rounds is reported, which cancels most of the machine's drift.
 */
export async function httpOverhead(ctx: BenchContext): Promise<void> {
  const { options } = ctx;
  const database = await createBenchDatabase('http');
  const ours = (enabled: boolean) =>
    apiEnv({
      DATABASE_URL: database.url,
      REDIS_URL: ctx.redis.url,
      EVENT_BUS_PREFIX: 'bench-http',
      METRICS_HTTP_ENABLED: String(enabled),
    });
  const arms: Arm[] = [
    { key: 'on', label: 'API, METRICS_HTTP_ENABLED=true', start: () => ServerProcess.start({ name: 'api-http-on', script: OUR_MAIN, env: ours(true) }) },
    { key: 'off', label: 'API, METRICS_HTTP_ENABLED=false', start: () => ServerProcess.start({ name: 'api-http-off', script: OUR_MAIN, env: ours(false) }) },
    { key: 'bundle', label: 'peer: express-prom-bundle', start: () => ServerProcess.start({ name: 'peer-prom-bundle', script: peerMain('prom-bundle'), env: PEER_ENV }) },
    { key: 'willsoto', label: 'peer: @willsoto + interceptor', start: () => ServerProcess.start({ name: 'peer-willsoto', script: peerMain('willsoto'), env: PEER_ENV }) },
    { key: 'bare', label: 'peer: bare NestJS', start: () => ServerProcess.start({ name: 'peer-bare', script: peerMain('bare'), env: PEER_ENV }) },
  ];
  ctx.commands.push(
    '# http: five servers, each its own process on 127.0.0.1 (API env: NODE_ENV=production LOG_LEVEL=warn, background jobs off)',
    'METRICS_HTTP_ENABLED=true  node bench/.tmp/src/main.js    # and =false, same build',
    'node bench/.tmp/bench/peers/prom-bundle.js; node bench/.tmp/bench/peers/willsoto.js; node bench/.tmp/bench/peers/bare.js',
    `# per arm and round, in process (autocannon API): warm-up, then measured (= autocannon -c ${options.connections} -d ${options.durationSeconds} http://127.0.0.1:<port>${PATH})`,
    '# CPU: /proc/<server pid>/stat utime+stime before and after the measured window',
  );
  const servers = new Map<string, ServerProcess>();
  const rounds: Round[] = [];
  try {
    for (const arm of arms) servers.set(arm.key, await arm.start());
    log(`http: ${arms.length} servers up; initial warm-up`);
    for (const arm of arms) {
      await load(servers.get(arm.key)!, { path: PATH, connections: options.connections, durationSeconds: Math.max(INITIAL_WARMUP_SECONDS, options.warmupSeconds) });
    }
    for (let r = 0; r < options.rounds; r++) {
      const round: Round = new Map();
      for (let i = 0; i < arms.length; i++) {
        const arm = arms[(r + i) % arms.length]!;
        const server = servers.get(arm.key)!;
        await load(server, { path: PATH, connections: options.connections, durationSeconds: options.warmupSeconds });
        round.set(arm.key, await measure(server, { path: PATH, connections: options.connections, durationSeconds: options.durationSeconds }));
      }
      rounds.push(round);
      const cpu = arms.map((a) => `${a.key} ${fmt.us(round.get(a.key)!.cpuPerRequestUs)}`).join(', ');
      log(`http: round ${r + 1}/${options.rounds}: CPU µs/request ${cpu}`);
    }
  } finally {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    await database.drop();
  }
  reportHttp(ctx, arms, rounds);
}

function ratioMedian(rounds: Round[], arm: string, base: string, pick: (m: Measurement) => number): number {
  return median(rounds.map((round) => pick(round.get(arm)!) / pick(round.get(base)!)));
}

function diffMedian(rounds: Round[], arm: string, base: string, pick: (m: Measurement) => number): number {
  return median(rounds.map((round) => pick(round.get(arm)!) - pick(round.get(base)!)));
}

const cpu = (m: Measurement) => m.cpuPerRequestUs;
const rps = (m: Measurement) => m.requestsPerSecond;
const p50 = (m: Measurement) => m.latencyP50Ms;
const p99 = (m: Measurement) => m.latencyP99Ms;

function reportHttp(ctx: BenchContext, arms: Arm[], rounds: Round[]): void {
  const { options, report } = ctx;
  const absolute = table(
    ['Arm', 'req/s', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'errors'],
    arms.map((arm) => {
      const all = rounds.map((round) => round.get(arm.key)!);
      return [arm.label, fmt.int(median(all.map(rps))), fmt.ms(median(all.map(p50))), fmt.ms(median(all.map(p99))), fmt.us(median(all.map(cpu))), all.reduce((n, m) => n + m.errors, 0)];
    }),
  );
  const vsBare = table(
    ['Arm', 'req/s ratio', 'p50 ratio', 'p99 ratio', 'CPU/req ratio', 'CPU/req added (µs)'],
    arms
      .filter((arm) => arm.key !== 'bare')
      .map((arm) => [arm.label, fmt.ratio(ratioMedian(rounds, arm.key, 'bare', rps)), fmt.ratio(ratioMedian(rounds, arm.key, 'bare', p50)), fmt.ratio(ratioMedian(rounds, arm.key, 'bare', p99)), fmt.ratio(ratioMedian(rounds, arm.key, 'bare', cpu)), fmt.us(diffMedian(rounds, arm.key, 'bare', cpu))]),
  );
  const oursCpu = ratioMedian(rounds, 'on', 'off', cpu);
  const oursAddedUs = diffMedian(rounds, 'on', 'off', cpu);
  const oursVsOff = table(
    ['Comparison', 'req/s ratio', 'p50 ratio', 'p99 ratio', 'CPU/req ratio', 'CPU/req added (µs)'],
    [['API on vs API off (same build)', fmt.ratio(ratioMedian(rounds, 'on', 'off', rps)), fmt.ratio(ratioMedian(rounds, 'on', 'off', p50)), fmt.ratio(ratioMedian(rounds, 'on', 'off', p99)), fmt.ratio(oursCpu), fmt.us(oursAddedUs)]],
  );
  const perRound = table(
    ['Round', ...arms.map((a) => a.key), 'on/off', 'bundle/bare', 'willsoto/bare'],
    rounds.map((round, index) => {
      const c = (key: string) => round.get(key)!.cpuPerRequestUs;
      return [index + 1, ...arms.map((a) => fmt.us(c(a.key))), fmt.ratio(c('on') / c('off')), fmt.ratio(c('bundle') / c('bare')), fmt.ratio(c('willsoto') / c('bare'))];
    }),
  );
  const bundleAdded = diffMedian(rounds, 'bundle', 'bare', cpu);
  const willsotoAdded = diffMedian(rounds, 'willsoto', 'bare', cpu);
  report.section(
    'HTTP instrumentation overhead',
    `Route \`GET /health/live\` (public, no I/O), ${options.connections} connections, ${options.rounds} interleaved rounds, ` +
      `${options.warmupSeconds} s warm-up + ${options.durationSeconds} s measured per arm and round. Server CPU per request = ` +
      'utime+stime delta of the server process (/proc/<pid>/stat, all threads) over the measured window / 2xx responses. ' +
      'Ratios are medians of per-round ratios (each arm against the reference measured in the same round).',
    'The API carries request logging (nestjs-pino, LOG_LEVEL=warn; the probe route is never logged), a global auth guard, ' +
      'validation pipe and exception filter, so its own instrumentation is judged against the same build with ' +
      '`METRICS_HTTP_ENABLED=false`; the peers are judged against the bare peer. Both API arms export the same default ' +
      'process metrics; the peers use their libraries\' default metrics too.',
    '**API: instrumentation on vs off**',
    oursVsOff,
    '**Against the bare NestJS app (same round)**',
    vsBare,
    '**Medians of absolute values** (not comparable between runs)',
    absolute,
    '**Server CPU µs/request per round**',
    perRound,
  );
  report.headline('HTTP instrumentation: server CPU/request, on vs off', `${fmt.pct(oursCpu)} (${fmt.us(oursAddedUs)} µs)`, '≤ +2 %', oursCpu <= 1 + TARGET_OVERHEAD);
  report.headline(
    'HTTP instrumentation: added µs vs peers\' added µs over bare',
    `ours ${fmt.us(oursAddedUs)} µs; express-prom-bundle ${fmt.us(bundleAdded)} µs (${fmt.pct(ratioMedian(rounds, 'bundle', 'bare', cpu))}); @willsoto ${fmt.us(willsotoAdded)} µs (${fmt.pct(ratioMedian(rounds, 'willsoto', 'bare', cpu))})`,
    'less than each peer',
    oursAddedUs < bundleAdded && oursAddedUs < willsotoAdded,
  );
}
