import 'reflect-metadata';
import { drizzle } from 'drizzle-orm/node-postgres';
import { parseArgs } from 'node:util';
import { TokensService } from './auth/tokens.service.js';
import { ConfigError, loadConfig } from './config/app-config.js';
import { createPool } from './db/db.module.js';
import { runMigrations } from './db/migrate.js';
import * as schema from './db/schema.js';
import { ROLES, type Role } from './db/schema.js';

const USAGE = `Usage:
  node dist/cli.js token create --workspace <slug> --role <owner|admin|member> [--name <label>]
  node dist/cli.js db migrate`;

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

class UsageError extends Error {}

async function createToken(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { workspace: { type: 'string' }, role: { type: 'string' }, name: { type: 'string' } },
  });
  if (!values.workspace || !SLUG.test(values.workspace)) {
    throw new UsageError('--workspace must be a slug: lowercase letters, digits and dashes, at most 63 characters');
  }
  if (!values.role || !(ROLES as readonly string[]).includes(values.role)) {
    throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
  }
  const pool = createPool(loadConfig(process.env));
  try {
    const tokens = new TokensService(drizzle(pool, { schema }));
    const { token } = await tokens.create(values.workspace, values.role as Role, values.name);
    // Only the token on stdout, so scripts can capture it with $(...).
    process.stdout.write(`${token}\n`);
  } finally {
    await pool.end();
  }
}

async function main(argv: string[]): Promise<void> {
  const [group, command, ...rest] = argv;
  if (group === 'token' && command === 'create') return createToken(rest);
  if (group === 'db' && command === 'migrate') {
    await runMigrations(loadConfig(process.env).env.DATABASE_URL);
    process.stderr.write('Migrations applied\n');
    return;
  }
  throw new UsageError(`Unknown command: ${argv.join(' ') || '(none)'}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) process.stderr.write(`${error.message}\n${USAGE}\n`);
  else if (error instanceof ConfigError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
