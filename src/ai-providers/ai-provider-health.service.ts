import {
  ConflictException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  ServiceUnavailableException,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { and, eq, inArray, isNull, lt, lte, or, sql } from 'drizzle-orm';
import { describeError } from '../common/describe-error.js';
import { AppConfig } from '../config/app-config.js';
import { DB, type Database } from '../db/db.module.js';
import { aiProviderConfigs } from '../db/schema.js';
import { EventPublisher } from '../events/event-publisher.service.js';
import { AiProviderTelemetry, type HealthCheckOutcome } from './ai-provider.telemetry.js';
import { apiKeyContext } from './ai-provider.view.js';
import { ApiKeyCipher, ApiKeyDecryptionError } from './api-key-cipher.js';
import { ProbeInterruptedError, probeProvider, probeUrl, type ProbeResult } from './provider-probe.js';

export const HEALTH_CHANGED_EVENT = 'ai.provider.health_changed';
const EVENT_SOURCE = 'ai-providers';
const INTERVAL_NAME = 'ai-provider-health';
/**
 * How often the scheduler looks for due configs. Each config is checked once its last check is
 * AI_PROVIDER_HEALTH_INTERVAL_SECONDS old; looking at most every 30 s means a new config waits at most that
 * long for its first check, a due one is at most that late, and checks spread out instead of bunching.
 */
const MAX_TICK_SECONDS = 30;
/** A lease outlives the longest possible check (the HTTP timeout) by this much: decryption and two queries. */
const LEASE_MARGIN_MS = 30_000;

export interface HealthCheckResult {
  healthy: boolean;
  outcome: HealthCheckOutcome;
  latencyMs: number;
  /** Sanitised: outcome, HTTP status, our own wording and at most a provider error code. */
  error?: string;
  checkedAt: Date;
}

export interface HealthRunSummary {
  checked: number;
  healthy: number;
  unhealthy: number;
}

/** The columns a check needs, read when its lease is taken. */
const CLAIM_COLUMNS = {
  id: aiProviderConfigs.id,
  workspaceId: aiProviderConfigs.workspaceId,
  provider: aiProviderConfigs.provider,
  apiKeyEncrypted: aiProviderConfigs.apiKeyEncrypted,
  isValid: aiProviderConfigs.isValid,
  lastValidatedAt: aiProviderConfigs.lastValidatedAt,
};
type ClaimedConfig = Pick<typeof aiProviderConfigs.$inferSelect, keyof typeof CLAIM_COLUMNS>;

type RecordedCheck = HealthCheckResult & { recorded: boolean };

/**
 * Checks that each config's key works, on demand and periodically, and records the result on the row.
 *
 * Several API instances may run this at once. A check first takes a lease on its row
 * (`check_lease_until`, claimed with FOR UPDATE SKIP LOCKED), so no config is checked by two instances at
 * once, and the periodic run only claims configs whose last check is older than the interval. The result is
 * written only if the row still holds the key that was checked, so a key replaced mid-check never inherits
 * the old key's health.
 */
@Injectable()
export class AiProviderHealthService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(AiProviderHealthService.name);
  private readonly stopping = new AbortController();
  /** Every check and run in progress, so shutdown can wait for them to release their leases. */
  private readonly inProgress = new Set<Promise<unknown>>();
  private runsInProgress = 0;
  private readonly leaseMs: number;

  constructor(
    private readonly config: AppConfig,
    @Inject(DB) private readonly db: Database,
    private readonly cipher: ApiKeyCipher,
    private readonly events: EventPublisher,
    private readonly telemetry: AiProviderTelemetry,
    private readonly scheduler: SchedulerRegistry,
  ) {
    this.leaseMs = config.env.AI_PROVIDER_HEALTH_TIMEOUT_MS + LEASE_MARGIN_MS;
  }

  onApplicationBootstrap(): void {
    if (!this.config.env.AI_PROVIDER_HEALTH_ENABLED) return;
    const tickSeconds = Math.min(this.config.env.AI_PROVIDER_HEALTH_INTERVAL_SECONDS, MAX_TICK_SECONDS);
    this.scheduler.addInterval(INTERVAL_NAME, setInterval(() => this.tick(), tickSeconds * 1000));
  }

  /** Stops scheduling, cuts in-flight provider requests short (their leases are released) and waits for runs to end. */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) this.scheduler.deleteInterval(INTERVAL_NAME);
    this.stopping.abort();
    await Promise.allSettled([...this.inProgress]);
  }

  /**
   * Checks every config that is due (never checked, or last checked at least AI_PROVIDER_HEALTH_INTERVAL_SECONDS
   * ago) and not leased by another instance, with AI_PROVIDER_HEALTH_CONCURRENCY checks at a time. Each worker
   * claims one config at a time, so a lease is only held while its check actually runs.
   */
  runHealthChecks(): Promise<HealthRunSummary> {
    this.runsInProgress++;
    return this.track(this.runOnce()).finally(() => this.runsInProgress--);
  }

  /** POST /ai-providers/:id/test: checks now, whether due or not, and records the result. */
  async checkNow(workspaceId: string, id: string): Promise<HealthCheckResult> {
    const [claimed] = await this.db
      .update(aiProviderConfigs)
      .set({ checkLeaseUntil: this.leaseEnd() })
      .where(and(eq(aiProviderConfigs.id, id), eq(aiProviderConfigs.workspaceId, workspaceId), this.notLeased()))
      .returning(CLAIM_COLUMNS);
    if (!claimed) {
      const [exists] = await this.db
        .select({ id: aiProviderConfigs.id })
        .from(aiProviderConfigs)
        .where(and(eq(aiProviderConfigs.id, id), eq(aiProviderConfigs.workspaceId, workspaceId)));
      if (!exists) throw new NotFoundException('AI provider configuration not found');
      throw new ConflictException('A health check of this configuration is already running; try again in a few seconds');
    }
    let result: RecordedCheck;
    try {
      result = await this.track(this.check(claimed));
    } catch (error) {
      if (error instanceof ProbeInterruptedError) throw new ServiceUnavailableException('The service is shutting down; try again');
      throw error;
    }
    if (!result.recorded) {
      throw new ConflictException('The API key was changed or the configuration deleted during the check; test again');
    }
    const { recorded: _, ...answer } = result;
    return answer;
  }

  private tick(): void {
    // A run still going (slow providers, or many configs) simply continues; never two in one process.
    if (this.runsInProgress > 0) return;
    this.runHealthChecks().then(
      (summary) => {
        if (summary.checked > 0) this.logger.debug(`checked ${summary.checked} AI provider config(s), ${summary.unhealthy} unhealthy`);
      },
      (error: unknown) => this.logger.warn(`AI provider health run failed: ${describeError(error)}`),
    );
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inProgress.add(work);
    const forget = () => this.inProgress.delete(work);
    work.then(forget, forget);
    return work;
  }

  private async runOnce(): Promise<HealthRunSummary> {
    const summary: HealthRunSummary = { checked: 0, healthy: 0, unhealthy: 0 };
    const worker = async () => {
      while (!this.stopping.signal.aborted) {
        const claimed = await this.claimDue();
        if (!claimed) return;
        let result: RecordedCheck;
        try {
          result = await this.check(claimed);
        } catch (error) {
          if (error instanceof ProbeInterruptedError) return;
          throw error;
        }
        if (!result.recorded) continue;
        summary.checked++;
        if (result.healthy) summary.healthy++;
        else summary.unhealthy++;
      }
    };
    const workers = await Promise.allSettled(
      Array.from({ length: this.config.env.AI_PROVIDER_HEALTH_CONCURRENCY }, () => worker()),
    );
    const failed = workers.find((w): w is PromiseRejectedResult => w.status === 'rejected');
    if (failed) throw failed.reason;
    return summary;
  }

  /** Leases the most overdue config nobody else is checking; rows locked by another claimer are skipped, not waited for. */
  private async claimDue(): Promise<ClaimedConfig | undefined> {
    const lastCheck = aiProviderConfigs.lastValidatedAt;
    const dueBefore = sql`now() - (${this.config.env.AI_PROVIDER_HEALTH_INTERVAL_SECONDS}::int * interval '1 second')`;
    const next = this.db
      .select({ id: aiProviderConfigs.id })
      .from(aiProviderConfigs)
      .where(and(or(isNull(lastCheck), lte(lastCheck, dueBefore)), this.notLeased()))
      .orderBy(sql`${lastCheck} ASC NULLS FIRST`)
      .limit(1)
      .for('update', { skipLocked: true });
    const [claimed] = await this.db
      .update(aiProviderConfigs)
      .set({ checkLeaseUntil: this.leaseEnd() })
      .where(inArray(aiProviderConfigs.id, next))
      .returning(CLAIM_COLUMNS);
    return claimed;
  }

  /** Runs one check on a leased config and records it; throws only ProbeInterruptedError or a database error. */
  private async check(config: ClaimedConfig): Promise<RecordedCheck> {
    const started = performance.now();
    let probe: ProbeResult;
    try {
      const apiKey = await this.cipher.decrypt(config.apiKeyEncrypted, apiKeyContext(config.workspaceId, config.provider));
      probe = await probeProvider(config.provider, apiKey, {
        url: probeUrl(this.config.env, config.provider),
        timeoutMs: this.config.env.AI_PROVIDER_HEALTH_TIMEOUT_MS,
        stop: this.stopping.signal,
      });
    } catch (error) {
      if (error instanceof ProbeInterruptedError) {
        await this.releaseLease(config).catch(() => undefined);
        throw error;
      }
      if (!(error instanceof ApiKeyDecryptionError)) {
        this.logger.error(`AI provider check of config ${config.id} failed unexpectedly: ${(error as Error)?.name ?? 'Error'}`);
      }
      const reason = error instanceof ApiKeyDecryptionError ? error.message : 'internal error during the check';
      probe = { outcome: 'error', error: reason, latencyMs: Math.round(performance.now() - started) };
    }
    this.telemetry.checked(config.provider, probe.outcome, probe.latencyMs / 1000);

    const healthy = probe.outcome === 'success';
    const error = healthy ? undefined : `${probe.outcome}: ${probe.error}`;
    const [row] = await this.db
      .update(aiProviderConfigs)
      .set({
        isValid: healthy,
        lastValidatedAt: sql`now()`,
        validationError: error ?? null,
        consecutiveFailures: healthy ? 0 : sql`${aiProviderConfigs.consecutiveFailures} + 1`,
        lastCheckLatencyMs: probe.latencyMs,
        checkLeaseUntil: null,
      })
      .where(and(eq(aiProviderConfigs.id, config.id), eq(aiProviderConfigs.apiKeyEncrypted, config.apiKeyEncrypted)))
      .returning({ lastValidatedAt: aiProviderConfigs.lastValidatedAt, consecutiveFailures: aiProviderConfigs.consecutiveFailures });

    const result = { healthy, outcome: probe.outcome, latencyMs: probe.latencyMs, ...(error ? { error } : {}) };
    if (!row) return { ...result, checkedAt: new Date(), recorded: false };

    // "Never checked" is a state of its own: the first result is always announced (previousHealthy: null).
    const previousHealthy = config.lastValidatedAt === null ? null : config.isValid;
    if (previousHealthy !== healthy) {
      this.logHealthChange(config, healthy, previousHealthy, error, row.consecutiveFailures);
      await this.announce(config, healthy, previousHealthy, probe.outcome, error);
    }
    return { ...result, checkedAt: row.lastValidatedAt!, recorded: true };
  }

  private logHealthChange(config: ClaimedConfig, healthy: boolean, previous: boolean | null, error: string | undefined, failures: number): void {
    // No workspace id in logs (they identify tenants to whoever reads the logs); the config id leads to it.
    const subject = `AI provider config ${config.id} (${config.provider})`;
    if (healthy) this.logger.log(`${subject} is healthy${previous === false ? ' again' : ''}`);
    else this.logger.warn(`${subject} is unhealthy (${failures} consecutive failure(s)): ${error}`);
  }

  /** The state is already stored; a bus outage loses the announcement, not the result, so it only logs. */
  private async announce(
    config: ClaimedConfig,
    healthy: boolean,
    previousHealthy: boolean | null,
    outcome: HealthCheckOutcome,
    error: string | undefined,
  ): Promise<void> {
    const data: Record<string, unknown> = { configId: config.id, provider: config.provider, healthy, previousHealthy, outcome };
    if (error) data.error = error;
    try {
      await this.events.publish({ type: HEALTH_CHANGED_EVENT, source: EVENT_SOURCE, tenantId: config.workspaceId, data });
    } catch (failure) {
      this.logger.warn(`could not publish ${HEALTH_CHANGED_EVENT} for config ${config.id}: ${describeError(failure)}`);
    }
  }

  private releaseLease(config: { id: string; apiKeyEncrypted: string }): Promise<unknown> {
    return this.db
      .update(aiProviderConfigs)
      .set({ checkLeaseUntil: null })
      .where(and(eq(aiProviderConfigs.id, config.id), eq(aiProviderConfigs.apiKeyEncrypted, config.apiKeyEncrypted)));
  }

  private leaseEnd() {
    return sql`now() + (${this.leaseMs}::int * interval '1 millisecond')`;
  }

  private notLeased() {
    return or(isNull(aiProviderConfigs.checkLeaseUntil), lt(aiProviderConfigs.checkLeaseUntil, sql`now()`));
  }
}
