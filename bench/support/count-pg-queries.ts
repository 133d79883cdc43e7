/**
 * Preloaded into an API process (node --import) by the command-rate benchmark: counts every query sent to
 * PostgreSQL through node-postgres (Pool.query and drizzle both end in Client.prototype.query), by statement
 * text, and writes the counts to BENCH_PG_COUNT_FILE when the process receives SIGUSR2. The shared server
 * has no pg_stat_statements, and pg_stat_database counters are flushed lazily (up to seconds late), so
 * counting at the client is the exact way.
 */
import { writeFileSync } from 'node:fs';
import pg from 'pg';

const counts = new Map<string, number>();
const STATEMENT_PREVIEW_CHARS = 80;
const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;

function statementOf(config: unknown): string {
  const text = typeof config === 'string' ? config : ((config as { text?: string } | undefined)?.text ?? '?');
  return text.replace(/\s+/g, ' ').trim().slice(0, STATEMENT_PREVIEW_CHARS);
}

(pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }).query = function (this: pg.Client, ...args: unknown[]) {
  const statement = statementOf(args[0]);
  counts.set(statement, (counts.get(statement) ?? 0) + 1);
  return original.apply(this, args);
};

process.on('SIGUSR2', () => {
  const file = process.env.BENCH_PG_COUNT_FILE;
  if (file) writeFileSync(file, JSON.stringify(Object.fromEntries(counts)));
});
