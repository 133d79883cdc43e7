/** Where the test suite finds its servers; the bootstrap (scripts/test.sh) makes sure they run. */
export const TEST_PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Each test run (one vitest invocation) has an id, set by the global setup, that names its template database
 * and every database its tests create, so runs on one machine never drop each other's databases.
 */
export function testRunId(): string {
  const id = process.env.HYVVE_TEST_RUN_ID;
  if (!id) throw new Error('HYVVE_TEST_RUN_ID is not set: run the tests through vitest (test/support/global-setup.ts)');
  return id;
}

export const templateDatabase = (runId: string) => `hyvve_tpl_${runId}`;
export const TEST_DATABASE_PREFIX = 'hyvve_t_';
