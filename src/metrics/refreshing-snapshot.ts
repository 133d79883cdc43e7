import { Logger } from '@nestjs/common';
import { describeError } from '../common/describe-error.js';
import type { CollectorSelfMetrics } from './collector-self-metrics.js';
import type { SnapshotSource } from './metrics.types.js';

export interface RefreshPolicy {
  intervalMs: number;
  timeoutMs: number;
}

class RefreshTimeout extends Error {
  constructor(ms: number) {
    super(`refresh took longer than ${ms} ms`);
  }
}

/**
 * The one mechanism behind every collector that talks to Redis or PostgreSQL: it fetches a snapshot at most
 * once per interval however often /metrics is scraped, shares one wait between concurrent scrapes, bounds that
 * wait by the timeout, and keeps the last known snapshot when a fetch fails or times out. A fetch that outlives
 * its timeout is not repeated while it is still running (the drivers have their own timeouts), so an outage
 * cannot pile up queries.
 */
export class RefreshingSnapshot<T> {
  private readonly logger: Logger;
  private snapshot: T | undefined;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  /** The scrapes' shared, bounded wait for the current refresh. */
  private waiting: Promise<void> | undefined;
  /** The source's fetch itself, which may outlive a wait that timed out. */
  private fetching: Promise<T> | undefined;
  private healthy: boolean | undefined;

  constructor(
    private readonly source: SnapshotSource<T>,
    private readonly policy: RefreshPolicy,
    private readonly self: CollectorSelfMetrics,
    private readonly now: () => number = Date.now,
  ) {
    this.logger = new Logger(`MetricsCollector:${source.name}`);
  }

  /** The last snapshot fetched successfully (undefined until the first success). */
  get latest(): T | undefined {
    return this.snapshot;
  }

  /** Refreshes when the snapshot is older than the interval, waiting at most the timeout; never rejects. */
  async refreshIfStale(): Promise<void> {
    if (this.now() - this.attemptedAt < this.policy.intervalMs) return;
    this.waiting ??= this.refresh().finally(() => {
      this.waiting = undefined;
    });
    await this.waiting;
  }

  private async refresh(): Promise<void> {
    const started = this.now();
    if (!this.fetching) {
      const fetching = this.source.fetch().finally(() => {
        this.fetching = undefined;
      });
      fetching.catch(() => undefined); // a late failure nobody waits for any more is not an unhandled rejection
      this.fetching = fetching;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RefreshTimeout(this.policy.timeoutMs)), this.policy.timeoutMs);
    });
    try {
      this.snapshot = await Promise.race([this.fetching, timeout]);
      const finished = this.now();
      this.self.succeeded(this.source.name, (finished - started) / 1000, finished);
      this.markHealthy(true);
    } catch (error) {
      this.self.failed(this.source.name, (this.now() - started) / 1000);
      this.markHealthy(false, error);
    } finally {
      clearTimeout(timer);
      // Failed attempts count too: a dead dependency is retried once per interval, not on every scrape.
      this.attemptedAt = this.now();
    }
  }

  private markHealthy(healthy: boolean, error?: unknown): void {
    if (this.healthy === healthy) return;
    const first = this.healthy === undefined;
    this.healthy = healthy;
    if (!healthy) this.logger.warn(`refresh failing, serving last known values: ${describeError(error)}`);
    else if (!first) this.logger.log('refresh recovered');
  }
}
