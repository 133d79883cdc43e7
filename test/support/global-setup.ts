import pg from 'pg';
import { runMigrations } from '../../src/db/migrate.js';
import { TEMPLATE_DB, TEST_PG_URL } from './env.js';

/**
 * Builds one migrated template database per run; every test file then gets its own copy
 * (CREATE DATABASE ... TEMPLATE), which takes milliseconds and keeps files from interfering.
 */
export default async function setup(): Promise<void> {
  const admin = new pg.Client({ connectionString: `${TEST_PG_URL}/postgres` });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
    // Databases left behind by an interrupted earlier run.
    const stale = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE 'hyvve_t\\_%'`);
    for (const row of stale.rows) await admin.query(`DROP DATABASE IF EXISTS "${row.datname}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  await runMigrations(`${TEST_PG_URL}/${TEMPLATE_DB}`);
}
