import { Injectable } from '@nestjs/common';
import { AiProviderStatsService, type ProviderMetrics } from '../ai-providers/ai-provider-stats.service.js';
import { AI_PROVIDERS } from '../db/schema.js';
import { MetricsService } from './metrics.service.js';
import { snapshotGauge } from './snapshot-metrics.js';

const CONFIG_STATUSES = ['healthy', 'unhealthy', 'unchecked'] as const;

/** Provider health across all workspaces, from PostgreSQL; labelled by provider only (never workspace or config). */
@Injectable()
export class AiProvidersCollector {
  constructor(metrics: MetricsService, stats: AiProviderStatsService) {
    const snapshot = metrics.snapshotOf<ProviderMetrics>({ name: 'ai_providers', fetch: () => stats.getProviderMetrics() });
    const registry = metrics.registry;
    snapshotGauge(snapshot, registry, {
      name: 'ai_provider_health',
      help: "Share of the provider's checked configs whose latest check succeeded (1 all healthy, 0 all failing = outage, NaN none checked).",
      labelNames: ['provider'],
    }, (s, sample) => {
      for (const provider of AI_PROVIDERS) {
        const { healthy, unhealthy } = s[provider];
        sample(healthy + unhealthy === 0 ? Number.NaN : healthy / (healthy + unhealthy), { provider });
      }
    });
    snapshotGauge(snapshot, registry, {
      name: 'ai_provider_configs',
      help: 'Provider configurations by the result of their latest check (healthy, unhealthy, unchecked), zeros included.',
      labelNames: ['provider', 'status'],
    }, (s, sample) => {
      for (const provider of AI_PROVIDERS) {
        for (const status of CONFIG_STATUSES) sample(s[provider][status], { provider, status });
      }
    });
    snapshotGauge(snapshot, registry, {
      name: 'ai_provider_last_check_timestamp_seconds',
      help: 'Unix time of the most recent health check of any config of the provider (0 = never checked).',
      labelNames: ['provider'],
    }, (s, sample) => {
      for (const provider of AI_PROVIDERS) sample((s[provider].lastCheckedAt?.getTime() ?? 0) / 1000, { provider });
    });
  }
}
