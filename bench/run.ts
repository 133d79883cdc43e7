import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { log, PHASES, type BenchContext, type BenchOptions, type PhaseName } from './lib/context.js';
import { BUILD_DIR, REPO_ROOT } from './lib/paths.js';
import { Report } from './lib/report.js';
import { dropStaleBenchDatabases, startPrivateRedis, withAdmin, type PrivateRedis } from './lib/services.js';
import { commandRate } from './phases/command-rate.js';
import { eventBus } from './phases/event-bus.js';
import { httpOverhead } from './phases/http-overhead.js';
import { httpProfile } from './phases/http-profile.js';
import { junkMemory } from './phases/junk-memory.js';
import { scrapeCost } from './phases/scrape-cost.js';

const PHASE_RUNNERS: Record<PhaseName, (ctx: BenchContext) => Promise<void>> = {
  http: httpOverhead,
  profile: httpProfile,
  scrape: scrapeCost,
  commands: commandRate,
  events: eventBus,
  junk: junkMemory,
};

/**
 * Phases run one after the other, except that counting commands (which only counts) runs alongside the junk
 * traffic (which only reads memory and series): neither measures time, and overlapping them keeps the whole run
 * within its 10-minute budget with more rounds for the timing-sensitive HTTP comparison.
 */
const OVERLAPPING: PhaseName[] = ['commands', 'junk'];

function schedule(phases: PhaseName[]): PhaseName[][] {
  const groups: PhaseName[][] = [];
  const overlapping = phases.filter((p) => OVERLAPPING.includes(p));
  for (const phase of phases) {
    if (!OVERLAPPING.includes(phase)) groups.push([phase]);
    else if (phase === overlapping[0]) groups.push(overlapping);
  }
  return groups;
}

function parseOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      duration: { type: 'string' },
    },
  });
  const phases = values.only ? (values.only.split(',') as PhaseName[]) : [...PHASES];
  for (const phase of phases) if (!PHASES.includes(phase)) throw new Error(`unknown phase ${phase}; phases: ${PHASES.join(', ')}`);
  const quick = values.quick!;
  return {
    phases,
    quick,
    rounds: Number(values.rounds ?? (quick ? 2 : 9)),
    durationSeconds: Number(values.duration ?? (quick ? 2 : 3)),
    warmupSeconds: quick ? 0.5 : 1,
    connections: 30,
  };
}

function sh(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

function packageVersion(name: string): string {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
}

async function machineFacts(redis: PrivateRedis): Promise<string[]> {
  const cpuModel = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  const pgVersion = await withAdmin(async (admin) => (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version);
  const redisVersion = /redis_version:(\S+)/.exec(sh('redis-cli', ['-p', String(redis.port), 'INFO', 'server']))?.[1] ?? 'unknown';
  const commit = sh('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = sh('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--', 'src']) ? ' (src/ has uncommitted changes)' : '';
  return [
    `- CPU: ${cpuModel}, nproc ${availableParallelism()}, memory ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- Kernel: ${sh('uname', ['-r'])}; Node.js ${process.version}; PostgreSQL ${pgVersion}; Redis ${redisVersion} (private redis-server started by the bench)`,
    `- NestJS ${packageVersion('@nestjs/core')} (Express adapter), prom-client ${packageVersion('prom-client')}, autocannon ${packageVersion('autocannon')}, express-prom-bundle ${packageVersion('express-prom-bundle')}, @willsoto/nestjs-prometheus ${packageVersion('@willsoto/nestjs-prometheus')}`,
    `- Commit ${commit}${dirty}`,
    `- Load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  ];
}

async function main(): Promise<void> {
  const options = parseOptions();
  const started = Date.now();
  const startedAt = new Date();
  await dropStaleBenchDatabases();
  const redis = await startPrivateRedis();
  const report = new Report();
  const ctx: BenchContext = { options, redis, report, commands: [] };
  const facts = await machineFacts(redis);
  log(`phases: ${options.phases.join(', ')}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  // Each phase reports into its own Report, merged in PHASES order, so phases that overlap keep a stable order.
  const reports = new Map<PhaseName, Report>();
  const runPhase = async (phase: PhaseName) => {
    const phaseStarted = Date.now();
    log(`phase ${phase}`);
    const phaseReport = new Report();
    reports.set(phase, phaseReport);
    await PHASE_RUNNERS[phase]({ ...ctx, report: phaseReport });
    log(`phase ${phase} done in ${((Date.now() - phaseStarted) / 1000).toFixed(0)} s`);
  };
  try {
    for (const group of schedule(options.phases)) await Promise.all(group.map(runPhase));
  } finally {
    await redis.stop();
  }
  for (const phase of PHASES) {
    const phaseReport = reports.get(phase);
    if (phaseReport) report.append(phaseReport);
  }
  const elapsed = (Date.now() - started) / 1000;
  const argv = process.argv.slice(2).join(' ');
  const preamble = [
    `Run ${startedAt.toISOString()}, ${elapsed.toFixed(0)} s, phases: ${options.phases.join(', ')}${options.quick ? ' (quick mode: numbers are only a smoke test)' : ''}.`,
    'The machine is shared and noisy: compare the ratios, not the absolute numbers, between runs.',
    '',
    '### Machine',
    '',
    ...facts,
    `- Load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    '',
    '### Commands',
    '',
    '```sh',
    `npm run bench${argv ? ` -- ${argv}` : ''}    # = bash scripts/bench.sh: services, tsc -p bench/tsconfig.json, node bench/.tmp/bench/run.js`,
    ...ctx.commands,
    '```',
  ];
  const markdown = report.render('Benchmark results', preamble);
  const file = options.quick
    ? join(BUILD_DIR, 'results-quick.md')
    : join(REPO_ROOT, 'bench/results', `${startedAt.toISOString().slice(0, 10)}.md`);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, markdown);
  log(`results written to ${file} (${elapsed.toFixed(0)} s)`);
}

// Ctrl-C / kill: run the 'exit' handlers (they stop the servers started so far).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
