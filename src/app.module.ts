import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import type { DestinationStream } from 'pino';
import { AiProvidersModule } from './ai-providers/ai-providers.module.js';
import { ApprovalsModule } from './approvals/approvals.module.js';
import { AuthModule } from './auth/auth.module.js';
import { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { DbModule } from './db/db.module.js';
import { EventsModule } from './events/events.module.js';
import { HealthModule } from './health/health.module.js';
import { LoggingModule } from './logging/logging.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { RedisModule } from './redis/redis.module.js';

export interface AppModuleOptions {
  /** Where logs go; stdout when absent. Tests pass a stream to inspect what was logged. */
  logDestination?: DestinationStream;
  /** Extra modules mounted beside the product's (tests use this for routes that fail or stall on purpose). */
  extraModules?: Type[];
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(config, options.logDestination),
        ScheduleModule.forRoot(),
        DbModule,
        RedisModule,
        AuthModule,
        HealthModule,
        EventsModule,
        ApprovalsModule,
        AiProvidersModule,
        MetricsModule.forRoot(config),
        ...(options.extraModules ?? []),
      ],
    };
  }
}
