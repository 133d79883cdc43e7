import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'drizzle-orm';
import { DB, type Database } from '../db/db.module.js';
import { AI_PROVIDERS, aiProviderConfigs, type AiProvider } from '../db/schema.js';

export interface ProviderHealthCounts {
  /** Checked, and the latest check succeeded. */
  healthy: number;
  /** Checked, and the latest check failed. */
  unhealthy: number;
  /** Never checked (new, or the key changed since the last check). */
  unchecked: number;
  /** The most recent check of any of the provider's configs. */
  lastCheckedAt: Date | null;
}

/** What getProviderMetrics answers: every provider, zeros included. */
export type ProviderMetrics = Record<AiProvider, ProviderHealthCounts>;

/** Read-only figures for the metrics module, across all workspaces. */
@Injectable()
export class AiProviderStatsService {
  constructor(@Inject(DB) private readonly db: Database) {}

  /** One aggregate query (a scan of a table with at most five rows per workspace); all providers present, zeros included. */
  async getProviderMetrics(): Promise<Record<AiProvider, ProviderHealthCounts>> {
    const { lastValidatedAt, isValid } = aiProviderConfigs;
    const checked = sql`${lastValidatedAt} IS NOT NULL`;
    const rows = await this.db
      .select({
        provider: aiProviderConfigs.provider,
        healthy: sql<number>`count(*) FILTER (WHERE ${checked} AND ${isValid})`.mapWith(Number),
        unhealthy: sql<number>`count(*) FILTER (WHERE ${checked} AND NOT ${isValid})`.mapWith(Number),
        unchecked: sql<number>`count(*) FILTER (WHERE ${lastValidatedAt} IS NULL)`.mapWith(Number),
        lastCheckedAt: sql<Date | null>`max(${lastValidatedAt})`.mapWith(lastValidatedAt),
      })
      .from(aiProviderConfigs)
      .groupBy(aiProviderConfigs.provider);
    const metrics = Object.fromEntries(
      AI_PROVIDERS.map((provider) => [provider, { healthy: 0, unhealthy: 0, unchecked: 0, lastCheckedAt: null }]),
    ) as ProviderMetrics;
    for (const { provider, ...figures } of rows) metrics[provider] = figures;
    return metrics;
  }
}
