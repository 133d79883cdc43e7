import type { Type } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { drizzle } from 'drizzle-orm/node-postgres';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createApp } from '../../src/app.factory.js';
import { TokensService } from '../../src/auth/tokens.service.js';
import { loadConfig, type AppConfig } from '../../src/config/app-config.js';
import type { Database } from '../../src/db/db.module.js';
import * as schema from '../../src/db/schema.js';
import type { Role } from '../../src/db/schema.js';
import { createTestDatabase } from './database.js';
import { TEST_REDIS_URL } from './env.js';

/** Log lines written during the test, for assertions such as "no secret was logged". */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    callback();
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

/**
 * nestjs-pino builds one pino-http logger per process (the first app's), and Nest's static Logger follows the
 * last app that called useLogger, so the logs of every app in a test process land in one place. Each TestApp's
 * `logs` is therefore this process-wide capture: scans for secrets cover every app, and a test that looks for
 * a specific line should use text unique to it.
 */
const processLogs = new LogCapture();

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  /** http://127.0.0.1:<port> */
  url: string;
  /** Direct database access for arranging and checking state. */
  db: Database;
  pool: pg.Pool;
  redis: Redis;
  /** Every log line of every app started in this test process (see processLogs). */
  logs: LogCapture;
  prefix: string;
  databaseUrl: string;
  /** Creates a token (and the workspace when needed) and returns it with its principal. */
  token(workspace: string, role: Role): Promise<{ token: string; workspaceId: string; tokenId: string }>;
  /** fetch() against the app with an optional bearer token; JSON bodies are serialised. */
  request(method: string, path: string, options?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /** Environment overrides (strings, as in process.env). */
  env?: Record<string, string>;
  /** Reuse an existing database instead of creating one (e.g. to restart an app on the same data). */
  databaseUrl?: string;
  /** Reuse a Redis key prefix (e.g. to restart an app on the same streams). */
  prefix?: string;
  /** Do not call listen(). */
  noListen?: boolean;
  /** Extra Nest modules (e.g. a controller whose routes fail on purpose). */
  extraModules?: Type[];
}

/**
 * Starts the real application on an ephemeral port, against its own PostgreSQL database and its own Redis
 * key prefix, with logs captured in memory. Background jobs are off unless the test turns them on.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = options.databaseUrl ? undefined : await createTestDatabase();
  const databaseUrl = options.databaseUrl ?? database!.url;
  const prefix = options.prefix ?? `t${randomBytes(5).toString('hex')}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    EVENT_BUS_PREFIX: prefix,
    LOG_LEVEL: 'info',
    EVENT_BUS_CONSUMER_ENABLED: 'false',
    APPROVAL_ESCALATION_ENABLED: 'false',
    AI_PROVIDER_HEALTH_ENABLED: 'false',
    ...options.env,
  });
  const logs = processLogs;
  const app = await createApp(config, { logDestination: logs, extraModules: options.extraModules });
  if (!options.noListen) await app.listen(0, '127.0.0.1');
  const address = options.noListen ? undefined : (app.getHttpServer().address() as AddressInfo);
  const url = address ? `http://127.0.0.1:${address.port}` : '';

  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  // Dropping the database at close() terminates idle clients; without a listener that would crash the file.
  pool.on('error', () => undefined);
  const db = drizzle(pool, { schema });
  const redis = new Redis(config.env.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2 });
  redis.on('error', () => undefined);
  const tokens = new TokensService(db);

  return {
    app,
    config,
    url,
    db,
    pool,
    redis,
    logs,
    prefix,
    databaseUrl,
    async token(workspace, role) {
      const { token, principal } = await tokens.create(workspace, role);
      return { token, workspaceId: principal.workspaceId, tokenId: principal.tokenId };
    },
    async request(method, path, { token, body, headers = {} } = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      if (token) (init.headers as Record<string, string>).authorization = `Bearer ${token}`;
      if (body !== undefined) {
        (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
        init.body = typeof body === 'string' ? body : JSON.stringify(body);
      }
      const response = await fetch(url + path, init);
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // Not JSON (e.g. /metrics): keep the text.
      }
      return { status: response.status, body: parsed, headers: response.headers };
    },
    async close() {
      await app.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      if (!options.prefix) {
        const keys = await redis.keys(`${prefix}:*`).catch(() => [] as string[]);
        if (keys.length) await redis.del(...keys).catch(() => undefined);
      }
      redis.disconnect();
      await database?.drop().catch(() => undefined);
    },
  };
}
