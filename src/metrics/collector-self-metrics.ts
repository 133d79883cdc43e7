import { Gauge, type Registry } from 'prom-client';
import { COLLECTOR_NAMES, type CollectorName } from './metrics.types.js';

/** The health of each dependency-backed collector, so a failing refresh is a metric rather than a failed scrape. */
export class CollectorSelfMetrics {
  private readonly up: Gauge<'collector'>;
  private readonly duration: Gauge<'collector'>;
  private readonly lastSuccess: Gauge<'collector'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.up = new Gauge({
      name: 'metrics_collector_up',
      help: '1 when the collector\'s last refresh succeeded within its timeout, 0 otherwise (values shown are then the last known).',
      labelNames: ['collector'],
      registers,
    });
    this.duration = new Gauge({
      name: 'metrics_collector_duration_seconds',
      help: 'Duration of the collector\'s last refresh (the timeout when it timed out).',
      labelNames: ['collector'],
      registers,
    });
    this.lastSuccess = new Gauge({
      name: 'metrics_collector_last_success_timestamp_seconds',
      help: 'Unix time of the collector\'s last successful refresh (0 = never).',
      labelNames: ['collector'],
      registers,
    });
    for (const collector of COLLECTOR_NAMES) {
      this.up.set({ collector }, 0);
      this.duration.set({ collector }, 0);
      this.lastSuccess.set({ collector }, 0);
    }
  }

  succeeded(collector: CollectorName, seconds: number, at: number): void {
    this.up.set({ collector }, 1);
    this.duration.set({ collector }, seconds);
    this.lastSuccess.set({ collector }, at / 1000);
  }

  failed(collector: CollectorName, seconds: number): void {
    this.up.set({ collector }, 0);
    this.duration.set({ collector }, seconds);
  }
}
