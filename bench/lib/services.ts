import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { runMigrations } from '../../src/db/migrate.js';
import { PrivateRedis } from '../../test/support/redis-server.js';

export type { PrivateRedis };

const privateRedises = new Set<PrivateRedis>();
process.once('exit', () => {
  // stop() sends SIGKILL synchronously before its first await, which is all an exit handler can do.
  for (const redis of privateRedises) void redis.stop();
});

/** A private redis-server (nothing else writes to it), stopped at exit even if the run fails. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const redis = await PrivateRedis.start();
  privateRedises.add(redis);
  return redis;
}

/** PostgreSQL server the benchmarks create their own databases on (the same one the tests use). */
export const BENCH_PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432';
/** Prefix of every database the benchmarks create; leftovers of an interrupted run are dropped at start. */
const DB_PREFIX = 'hyvve_bench_';

export async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: `${BENCH_PG_URL}/postgres` });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database of the benchmark's own, so seeding and counting never touch anyone else's. */
export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  const name = `${DB_PREFIX}${label}_${randomBytes(3).toString('hex')}`;
  const url = `${BENCH_PG_URL}/${name}`;
  await runMigrations(url);
  return {
    name,
    url,
    drop: () => withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

export async function dropStaleBenchDatabases(): Promise<void> {
  await withAdmin(async (admin) => {
    const stale = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE '${DB_PREFIX}%'`);
    for (const { datname } of stale.rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  });
}
