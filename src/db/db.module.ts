import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { AppConfig } from '../config/app-config.js';
import { ResilientPool } from './resilient-pool.js';
import * as schema from './schema.js';

export type Database = NodePgDatabase<typeof schema>;
export const DB = Symbol('DB');
export const PG_POOL = Symbol('PG_POOL');

export function createPool(config: AppConfig): pg.Pool {
  const pool = new ResilientPool({
    connectionString: config.env.DATABASE_URL,
    max: config.env.DATABASE_POOL_MAX,
    connectionTimeoutMillis: config.env.DATABASE_CONNECT_TIMEOUT_MS,
    statement_timeout: config.env.DATABASE_STATEMENT_TIMEOUT_MS,
    // A query must never hang on a dead server: the client-side limit backs up statement_timeout.
    query_timeout: config.env.DATABASE_STATEMENT_TIMEOUT_MS + 1000,
    application_name: 'hyvve-api',
  });
  // An idle client losing its server emits 'error' on the pool; without a listener that crashes the process.
  pool.on('error', () => undefined);
  return pool;
}

@Global()
@Module({
  providers: [
    { provide: PG_POOL, useFactory: createPool, inject: [AppConfig] },
    { provide: DB, useFactory: (pool: pg.Pool) => drizzle(pool, { schema }), inject: [PG_POOL] },
  ],
  exports: [DB, PG_POOL],
})
export class DbModule implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  /** Runs after the HTTP server has drained, so in-flight requests still had their database. */
  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
