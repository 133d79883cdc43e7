import pg from 'pg';
import { runMigrations } from '../../src/db/migrate.js';
import { TEST_PG_URL, templateDatabase } from './env.js';

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: `${TEST_PG_URL}/postgres` });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Databases of this run, or (with `deadOnly`) of earlier runs whose process is gone. */
async function dropRunDatabases(admin: pg.Client, select: (runPid: number) => boolean): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>(
    `SELECT datname FROM pg_database WHERE datname LIKE 'hyvve\\_t\\_%' OR datname LIKE 'hyvve\\_tpl\\_%'`,
  );
  for (const { datname } of rows) {
    const runPid = Number(/^hyvve_(?:t|tpl)_(\d+)/.exec(datname)?.[1]);
    if (Number.isInteger(runPid) && select(runPid)) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  }
}

/**
 * Builds one migrated template database per run; every test file then gets its own copy
 * (CREATE DATABASE ... TEMPLATE), which takes milliseconds and keeps files from interfering.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const runId = String(process.pid);
  process.env.HYVVE_TEST_RUN_ID = runId;
  await withAdmin((admin) => dropRunDatabases(admin, (pid) => pid === process.pid || !alive(pid)));
  await runMigrations(`${TEST_PG_URL}/${templateDatabase(runId)}`);
  return () => withAdmin((admin) => dropRunDatabases(admin, (pid) => pid === process.pid));
}
