import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AppConfig } from '../config/app-config.js';

/** Shared connection for ordinary commands. */
export const REDIS = Symbol('REDIS');
/** Dedicated connection for blocking reads (XREADGROUP BLOCK), which would stall every other command. */
export const REDIS_BLOCKING = Symbol('REDIS_BLOCKING');

const MAX_RECONNECT_DELAY_MS = 2000;

/**
 * Commands fail at once while Redis is unreachable (no offline queue) instead of piling up and hanging
 * requests; the client keeps reconnecting in the background and recovers by itself.
 */
export async function createRedis(config: AppConfig, name: string, blocking = false): Promise<Redis> {
  const client = new Redis(config.env.REDIS_URL, {
    connectionName: `hyvve-api:${name}`,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // Blocking reads legitimately wait longer than any ordinary command.
    commandTimeout: blocking ? undefined : config.env.REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: config.env.REDIS_COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
  });
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash the process.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  await client.quit().catch(() => client.disconnect());
}

@Global()
@Module({
  providers: [
    { provide: REDIS, useFactory: (config: AppConfig) => createRedis(config, 'shared'), inject: [AppConfig] },
    {
      provide: REDIS_BLOCKING,
      useFactory: (config: AppConfig) => createRedis(config, 'blocking', true),
      inject: [AppConfig],
    },
  ],
  exports: [REDIS, REDIS_BLOCKING],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_BLOCKING) private readonly blocking: Redis,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([closeRedis(this.redis), closeRedis(this.blocking)]);
  }
}
