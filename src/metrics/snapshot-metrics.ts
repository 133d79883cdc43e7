import { Counter, Gauge, type LabelValues, type Registry } from 'prom-client';
import type { RefreshingSnapshot } from './refreshing-snapshot.js';

export interface SnapshotMetricConfig<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

/** Writes one sample: the value, with labels when the metric has any. */
export type SampleWriter<L extends string> = (value: number, labels?: LabelValues<L>) => void;

/**
 * A gauge whose samples are written from the collector's latest snapshot at scrape time (no I/O). Until the
 * first successful fetch it has no samples: a made-up zero would look like a real reading.
 */
export function snapshotGauge<T, L extends string = never>(
  snapshot: RefreshingSnapshot<T>,
  registry: Registry,
  config: SnapshotMetricConfig<L>,
  write: (latest: T, sample: SampleWriter<L>) => void,
): void {
  new Gauge<L>({
    ...metricOptions(config, registry),
    collect() {
      const latest = snapshot.latest;
      if (latest !== undefined) write(latest, (value, labels) => (labels ? this.set(labels, value) : this.set(value)));
    },
  });
}

/**
 * A counter whose value is a total kept elsewhere (e.g. Redis entries-added), copied from the latest snapshot
 * at scrape time; it only resets when the source's total does.
 */
export function snapshotCounter<T, L extends string = never>(
  snapshot: RefreshingSnapshot<T>,
  registry: Registry,
  config: SnapshotMetricConfig<L>,
  write: (latest: T, sample: SampleWriter<L>) => void,
): void {
  new Counter<L>({
    ...metricOptions(config, registry),
    collect() {
      const latest = snapshot.latest;
      if (latest === undefined) return;
      this.reset();
      write(latest, (value, labels) => (labels ? this.inc(labels, value) : this.inc(value)));
    },
  });
}

function metricOptions<L extends string>(config: SnapshotMetricConfig<L>, registry: Registry) {
  return { ...config, labelNames: config.labelNames ?? [], registers: [registry] };
}
