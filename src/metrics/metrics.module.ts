import { Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { AiProvidersModule } from '../ai-providers/ai-providers.module.js';
import { ApprovalsModule } from '../approvals/approvals.module.js';
import { AppConfig } from '../config/app-config.js';
import { AiProviderChecksCollector } from './ai-provider-checks.collector.js';
import { AiProvidersCollector } from './ai-providers.collector.js';
import { ApprovalsCollector } from './approvals.collector.js';
import { ConnectionsCollector } from './connections.collector.js';
import { EventActivityCollector } from './event-activity.collector.js';
import { EventBusCollector } from './event-bus.collector.js';
import { EventMetadataCollector } from './event-metadata.collector.js';
import { MetricsEndpoint } from './metrics-endpoint.js';
import { MetricsPortServer } from './metrics-port.server.js';
import { MetricsController } from './metrics.controller.js';
import { HttpMetricsInterceptor } from './metrics.interceptor.js';
import { MetricsService } from './metrics.service.js';

@Module({})
export class MetricsModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: MetricsModule,
      imports: [ApprovalsModule, AiProvidersModule],
      controllers: config.env.METRICS_PORT === undefined ? [MetricsController] : [],
      providers: [
        MetricsService,
        MetricsEndpoint,
        MetricsPortServer,
        HttpMetricsInterceptor,
        ConnectionsCollector,
        EventActivityCollector,
        EventBusCollector,
        EventMetadataCollector,
        ApprovalsCollector,
        AiProvidersCollector,
        AiProviderChecksCollector,
      ],
      exports: [MetricsService],
    };
  }

  /**
   * Hooks request timing and connection counting into the HTTP server (called by createApp).
   */
  static instrument(app: INestApplication): void {
    const server = app.getHttpServer();
    const http = app.get(HttpMetricsInterceptor);
    if (http.enabled) http.attach(server);
    app.get(ConnectionsCollector).attach(server);
  }
}
