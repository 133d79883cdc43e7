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
  private readonly snapshots: RefreshingSnapshot<unknown>[] = [];

  constructor(private readonly config: AppConfig) {
    // Unprefixed, so the standard Node.js dashboards (Grafana 11159) work unchanged.
    collectDefaultMetrics({ register: this.registry });
    this.selfMetrics = new CollectorSelfMetrics(this.registry);
  }

  /** Wraps a dependency-backed source in the shared refresh/timeout/last-known-value mechanism. */
  snapshotOf<T>(source: SnapshotSource<T>): RefreshingSnapshot<T> {
    const snapshot = new RefreshingSnapshot(
      source,
      {
        intervalMs: this.config.env.METRICS_COLLECT_INTERVAL_SECONDS * 1000,
        timeoutMs: this.config.env.METRICS_COLLECT_TIMEOUT_MS,
      },
      this.selfMetrics,
    );
    this.snapshots.push(snapshot);
    return snapshot;
  }

  /**
   * Stale snapshots are refreshed (concurrently, each bounded by its timeout) before anything is serialised,
   * so the gauges and the collectors' own up/duration metrics in one exposition describe the same refresh.
   */
  async render(): Promise<string> {
    await Promise.all(this.snapshots.map((snapshot) => snapshot.refreshIfStale()));
    return this.registry.metrics();
  }
}
