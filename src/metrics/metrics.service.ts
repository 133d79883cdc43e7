import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { AppConfig } from '../config/app-config.js';
import { CollectorSelfMetrics } from './collector-self-metrics.js';
import type { SnapshotSource } from './metrics.types.js';
import { RefreshingSnapshot } from './refreshing-snapshot.js';

/**
 * Owns this application's Registry. Nothing here touches prom-client's global registry, so two applications
 * in one process (tests) never collide with "already registered".
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly selfMetrics: CollectorSelfMetrics;

  constructor(private readonly config: AppConfig) {
    // Unprefixed, so the standard Node.js dashboards (Grafana 11159) work unchanged.
    collectDefaultMetrics({ register: this.registry });
    this.selfMetrics = new CollectorSelfMetrics(this.registry);
  }

  /** Wraps a dependency-backed source in the shared refresh/timeout/last-known-value mechanism. */
  snapshotOf<T>(source: SnapshotSource<T>): RefreshingSnapshot<T> {
    return new RefreshingSnapshot(
      source,
      {
        intervalMs: this.config.env.METRICS_COLLECT_INTERVAL_SECONDS * 1000,
        timeoutMs: this.config.env.METRICS_COLLECT_TIMEOUT_MS,
      },
      this.selfMetrics,
    );
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
