import { Injectable } from '@nestjs/common';
import { Histogram } from 'prom-client';
import { AiProviderTelemetry, type AiProviderTelemetryListener, type HealthCheckOutcome } from '../ai-providers/ai-provider.telemetry.js';
import type { AiProvider } from '../db/schema.js';
import { MetricsService } from './metrics.service.js';
import { PROVIDER_CHECK_BUCKETS } from './metrics.types.js';

/** Provider health checks this process ran (on demand and periodic), from AiProviderTelemetry. */
@Injectable()
export class AiProviderChecksCollector implements AiProviderTelemetryListener {
  private readonly duration: Histogram<'provider' | 'outcome'>;

  constructor(metrics: MetricsService, telemetry: AiProviderTelemetry) {
    this.duration = new Histogram({
      name: 'ai_provider_check_duration_seconds',
      help: 'Duration of provider health checks run by this process, by provider and outcome.',
      labelNames: ['provider', 'outcome'],
      buckets: PROVIDER_CHECK_BUCKETS,
      registers: [metrics.registry],
    });
    telemetry.subscribe(this);
  }

  checked(provider: AiProvider, outcome: HealthCheckOutcome, durationSeconds: number): void {
    this.duration.observe({ provider, outcome }, durationSeconds);
  }
}
