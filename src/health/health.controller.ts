import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { Public } from '../auth/auth.decorators.js';
import { AppConfig } from '../config/app-config.js';
import { DB, type Database } from '../db/db.module.js';
import { REDIS } from '../redis/redis.module.js';

@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly config: AppConfig,
    @Inject(DB) private readonly db: Database,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  /** 503 names the failing dependency (`details.postgres` / `details.redis` with status "down"). */
  @Get('ready')
  @HealthCheck()
  ready() {
    const timeoutMs = this.config.env.REDIS_COMMAND_TIMEOUT_MS;
    return this.health.check([
      () => this.indicators.check('postgres').attempt(answers('PostgreSQL', () => this.db.execute(sql`SELECT 1`))).withTimeout(timeoutMs),
      () => this.indicators.check('redis').attempt(answers('Redis', () => this.redis.ping())).withTimeout(timeoutMs),
    ]);
  }
}

/** The endpoint is public: say which dependency failed, never the driver's text (queries, addresses). */
function answers(dependency: string, probe: () => Promise<unknown>): () => Promise<void> {
  return async () => {
    try {
      await probe();
    } catch {
      throw new Error(`${dependency} did not answer`);
    }
  };
}
