import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { CONSUMER_GROUP, EventBusKeys } from '../../src/events/event-bus.keys.js';
import { apiEnv, log, type BenchContext } from '../lib/context.js';
import { benchScript, LOG_DIR, OUR_MAIN } from '../lib/paths.js';
import { ServerProcess, sleep } from '../lib/proc.js';
import { fmt, table } from '../lib/report.js';
import { scrapeOnce } from '../lib/scrape.js';
import { readOnSignal } from '../lib/signal-file.js';
import { Seeder } from '../lib/seed.js';
import { createBenchDatabase, startPrivateRedis, type BenchDatabase, type PrivateRedis } from '../lib/services.js';
import { sum } from '../lib/stats.js';

const PREFIX = 'bench-commands';
const WINDOW_SECONDS = 60;
const QUICK_WINDOW_SECONDS = 15;
const SEED_ROWS = 1_000;
/** Commands the harness itself sends to the private Redis (its INFO readings), left out of the counts. */
const HARNESS_COMMANDS = new Set(['info']);

interface Arm {
  label: string;
  /** Seconds between scrapes; undefined = no scrapes at all (what runs in the background). */
  intervalSeconds?: number;
  redis?: PrivateRedis;
  database?: BenchDatabase;
  server?: ServerProcess;
  countFile?: string;
  scrapes: number;
  pg: Record<string, number>;
  redisCommands: Record<string, number>;
}

function commandStats(info: string): Record<string, number> {
  const stats: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (!HARNESS_COMMANDS.has(match[1]!)) stats[match[1]!] = Number(match[2]);
  }
  return stats;
}

function pgCounts(arm: Arm): Promise<Record<string, number>> {
  return readOnSignal<Record<string, number>>(arm.server!, arm.countFile!);
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const d = value - (before[key] ?? 0);
    if (d > 0) result[key] = d;
  }
  return result;
}

/**
 * PostgreSQL and Redis commands the API issues per minute while being scraped at 1 s and 15 s (and not at
 * all), each arm with its own private redis-server (INFO commandstats deltas) and its own database (queries
 * counted in the process by a preloaded node-postgres hook), all arms running at the same time.
 */
export async function commandRate(ctx: BenchContext): Promise<void> {
  const windowSeconds = ctx.options.quick ? QUICK_WINDOW_SECONDS : WINDOW_SECONDS;
  const arms: Arm[] = [
    { label: 'scraped every 1 s', intervalSeconds: 1, scrapes: 0, pg: {}, redisCommands: {} },
    { label: 'scraped every 15 s', intervalSeconds: 15, scrapes: 0, pg: {}, redisCommands: {} },
    { label: 'not scraped', scrapes: 0, pg: {}, redisCommands: {} },
  ];
  ctx.commands.push(
    `# commands: three API processes, each: node --import bench/.tmp/bench/support/count-pg-queries.js bench/.tmp/src/main.js, own redis-server and database`,
    'redis-cli -p <private port> INFO commandstats   # before and after the window; PostgreSQL counts via SIGUSR2 → BENCH_PG_COUNT_FILE',
  );
  const keys = new EventBusKeys(PREFIX);
  try {
    await Promise.all(
      arms.map(async (arm, index) => {
        arm.redis = await startPrivateRedis();
        arm.database = await createBenchDatabase(`commands${index}`);
        const pool = new pg.Pool({ connectionString: arm.database.url, max: 1 });
        const redis = new Redis(arm.redis.url);
        const seeder = new Seeder(pool, redis, keys.main, CONSUMER_GROUP);
        await seeder.approvalsTo(SEED_ROWS);
        await seeder.eventMetadataTo(SEED_ROWS, SEED_ROWS);
        await seeder.streamTo(SEED_ROWS, '{"bench":true}');
        await pool.end();
        redis.disconnect();
        arm.countFile = join(LOG_DIR, `pg-queries-${index}.json`);
        rmSync(arm.countFile, { force: true });
        arm.server = await ServerProcess.start({
          name: `api-commands-${index}`,
          script: OUR_MAIN,
          nodeArgs: ['--import', benchScript('support/count-pg-queries.js')],
          env: apiEnv({ DATABASE_URL: arm.database.url, REDIS_URL: arm.redis.url, EVENT_BUS_PREFIX: PREFIX, BENCH_PG_COUNT_FILE: arm.countFile }),
        });
      }),
    );
    log(`commands: ${arms.length} API processes up; counting for ${windowSeconds} s`);
    const clients = arms.map((arm) => new Redis(arm.redis!.url));
    const pgBefore = await Promise.all(arms.map(pgCounts));
    const redisBefore = await Promise.all(clients.map(async (c) => commandStats(await c.info('commandstats'))));
    const started = performance.now();
    const windowMs = windowSeconds * 1000;
    await Promise.all(
      arms.map(async (arm) => {
        if (arm.intervalSeconds === undefined) return;
        for (let n = 0; n * arm.intervalSeconds * 1000 < windowMs; n++) {
          const wait = started + n * arm.intervalSeconds * 1000 - performance.now();
          if (wait > 0) await sleep(wait);
          await scrapeOnce(arm.server!.url, { gzip: true });
          arm.scrapes++;
        }
      }),
    );
    const rest = started + windowMs - performance.now();
    if (rest > 0) await sleep(rest);
    const pgAfter = await Promise.all(arms.map(pgCounts));
    const redisAfter = await Promise.all(clients.map(async (c) => commandStats(await c.info('commandstats'))));
    arms.forEach((arm, i) => {
      arm.pg = delta(pgAfter[i]!, pgBefore[i]!);
      arm.redisCommands = delta(redisAfter[i]!, redisBefore[i]!);
    });
    for (const client of clients) client.disconnect();
  } finally {
    await Promise.all(
      arms.map(async (arm) => {
        await arm.server?.stop();
        await arm.redis?.stop();
        await arm.database?.drop();
      }),
    );
  }
  reportCommands(ctx, arms, windowSeconds);
}

function reportCommands(ctx: BenchContext, arms: Arm[], windowSeconds: number): void {
  const perMinute = (count: number) => (count * 60) / windowSeconds;
  const breakdown = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort((a, b) => b[1] - a[1])
      .map(([name, count]) => `${name} ×${count}`)
      .join('; ') || '—';
  ctx.report.section(
    'Database and Redis commands per minute',
    `Three API processes at once, each with its own private redis-server and its own database (seeded with ${SEED_ROWS.toLocaleString('en-US')} approvals, ` +
      `stream entries and EventMetadata rows), default METRICS_COLLECT_INTERVAL_SECONDS=5, counted over ${windowSeconds} s. ` +
      'Redis: `INFO commandstats` deltas on the private server (the harness\'s own INFO calls excluded). PostgreSQL: every query through ' +
      'node-postgres counted inside the API process by a preloaded hook (bench/support/count-pg-queries.ts); the shared server has no ' +
      'pg_stat_statements and pg_stat_database counters are flushed lazily.',
    table(
      ['Arm', 'scrapes', 'PostgreSQL queries/min', 'Redis commands/min', 'PostgreSQL statements (count in window)', 'Redis commands (count in window)'],
      arms.map((arm) => [arm.label, arm.scrapes, fmt.int(perMinute(sum(Object.values(arm.pg)))), fmt.int(perMinute(sum(Object.values(arm.redisCommands)))), breakdown(arm.pg), breakdown(arm.redisCommands)]),
    ),
  );
  const [fast, slow] = arms;
  const total = (arm: Arm) => perMinute(sum(Object.values(arm.pg)) + sum(Object.values(arm.redisCommands)));
  ctx.report.headline(
    'Commands/min at scrape interval 1 s vs 15 s (PostgreSQL + Redis)',
    `${fmt.int(total(fast!))} vs ${fmt.int(total(slow!))} (PG ${fmt.int(perMinute(sum(Object.values(fast!.pg))))} vs ${fmt.int(perMinute(sum(Object.values(slow!.pg))))}, Redis ${fmt.int(perMinute(sum(Object.values(fast!.redisCommands))))} vs ${fmt.int(perMinute(sum(Object.values(slow!.redisCommands))))})`,
    'bounded by the collect interval, not the scrape rate',
    undefined,
  );
}
