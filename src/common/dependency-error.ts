import { ServiceUnavailableException } from '@nestjs/common';

export type Dependency = 'postgres' | 'redis';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);
// SQLSTATE classes 08 (connection exception) and 57P0x (operator intervention: server shutting down).
const PG_UNAVAILABLE = /^(08|57P0)/;
const PG_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end/i;
const REDIS_MESSAGES = /enableOfflineQueue|Connection is closed|Command timed out|Reached the max retries per request|Connection in subscriber mode|ioredis/i;

/** Walks the cause chain (drizzle wraps driver errors) and says which dependency failed, if any. */
export function unavailableDependency(error: unknown): Dependency | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth++) {
    const e = current as { name?: string; code?: string; message?: string; cause?: unknown };
    const message = e.message ?? '';
    if (e.name === 'MaxRetriesPerRequestError' || REDIS_MESSAGES.test(message)) return 'redis';
    if ((e.code && PG_UNAVAILABLE.test(e.code)) || PG_MESSAGES.test(message)) return 'postgres';
    if (e.code && NETWORK_CODES.has(e.code)) return /redis/i.test(message) ? 'redis' : 'postgres';
    current = e.cause;
  }
  return undefined;
}

export function dependencyUnavailable(dependency: Dependency): ServiceUnavailableException {
  return new ServiceUnavailableException(`${dependency === 'postgres' ? 'PostgreSQL' : 'Redis'} is unavailable; try again shortly`);
}
