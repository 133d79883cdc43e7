import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config/app-config.js';
import { REDIS, REDIS_BLOCKING } from '../redis/redis.module.js';
import { CONSUMER_GROUP, EventBusKeys } from './event-bus.keys.js';
import { DELETE_IDLE_CONSUMER, POP_DUE_RETRIES } from './event-bus.scripts.js';
import { sanitizeError } from './event-errors.js';
import { EventProcessor, type SettleOutcome } from './event-processor.service.js';
import { ensureConsumerGroup, isRedisReplyError, pairs, readGroupEntries, toEntries, type StreamEntry } from './event-stream.js';

const BACKOFF_BASE_MS = 200;
const BACKOFF_MAX_MS = 10_000;
/** While the loop keeps failing, repeat the error log every this many failures (the first one is always logged). */
const FAILURE_LOG_EVERY = 10;
/** Idle entries are looked for every CLAIM_IDLE_MS / CLAIM_CHECKS_PER_IDLE, but not more often than MIN_CLAIM_INTERVAL_MS. */
const CLAIM_CHECKS_PER_IDLE = 2;
const MIN_CLAIM_INTERVAL_MS = 100;
/** A consumer with nothing pending and no heartbeat for this many claim-idle periods is gone. */
const DEAD_CONSUMER_IDLE_FACTOR = 10;
/** How often stop() re-sends CLIENT UNBLOCK while waiting for the loop to end (covers a read sent just after). */
const UNBLOCK_RETRY_MS = 100;
/** A keep-alive re-claims own entries idle at least CLAIM_IDLE_MS / this, never ones another consumer just took. */
const KEEP_ALIVE_MIN_IDLE_DIVISOR = 4;
/** Share of SHUTDOWN_TIMEOUT_MS the loop may use to finish its in-flight batch. */
const SHUTDOWN_SHARE = 0.5;

/**
 * The consumer loop: reads new events with XREADGROUP ... BLOCK on the dedicated blocking connection,
 * redelivers failed events when their retry is due, and claims entries left pending by dead consumers.
 *
 * Retries: a failed event stays pending (not acked) and its stream id goes into the sorted set
 * `${prefix}:events:retry`, scored with the time it is due (EVENT_BUS_RETRY_DELAYS_MS). Any consumer pops
 * due ids atomically (Lua) and takes the entries over with XCLAIM. Entries whose retry record was lost (a crash
 * between the metadata write and the ZADD) are still pending and come back through the crash path.
 *
 * Crash safety: every consumer runs XAUTOCLAIM for entries idle longer than EVENT_BUS_CLAIM_IDLE_MS (the
 * owner died, or lost Redis for that long); claimed entries whose retry is not yet due are left for the retry
 * path. A poison event that keeps killing its process is sent to the DLQ once its attempts are used up.
 * A consumer working through a long batch keeps its entries' idle time low (XCLAIM JUSTID to itself), so
 * only a single handler running longer than EVENT_BUS_CLAIM_IDLE_MS can get its event processed twice.
 *
 * Consumer name: `<hostname>-<pid>-<6 hex>`; the random suffix keeps two apps in one process (tests) apart.
 * Each consumer joins the group explicitly at start (XGROUP CREATECONSUMER) and records a heartbeat in
 * `${prefix}:events:consumers` on every claim check; consumers with no pending entries whose heartbeat is
 * older than DEAD_CONSUMER_IDLE_FACTOR × CLAIM_IDLE_MS are removed from the group, so XINFO's consumer count
 * reflects live instances. (Redis 7.0 does not refresh a consumer's idle time while its reads time out, so
 * idle time alone cannot tell a quiet consumer from a dead one.)
 */
@Injectable()
export class EventConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  readonly consumerName = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly logger = new Logger(EventConsumer.name);
  private readonly claimIntervalMs: number;
  private loop?: Promise<void>;
  private stopping = false;
  private readonly stopController = new AbortController();
  private groupReady = false;
  private ownPendingToRecover = false;
  private blockedInRead = false;
  private blockingClientId?: number;
  private nextRetryCheckAt = 0;
  private nextClaimAt = 0;
  private claimCursor = '0-0';
  /** The previous batch's recording step, still running while the next batch is handled (at most one). */
  private settling?: Promise<SettleOutcome>;

  constructor(
    private readonly keys: EventBusKeys,
    private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_BLOCKING) private readonly blocking: Redis,
    private readonly processor: EventProcessor,
  ) {
    this.claimIntervalMs = Math.max(MIN_CLAIM_INTERVAL_MS, Math.floor(config.env.EVENT_BUS_CLAIM_IDLE_MS / CLAIM_CHECKS_PER_IDLE));
  }

  /** The group is created by every instance (even publish-only ones) so stats and lag exist from the start. */
  async onApplicationBootstrap(): Promise<void> {
    const env = this.config.env;
    if (!env.EVENT_BUS_ENABLED) return;
    try {
      await ensureConsumerGroup(this.redis, this.keys);
    } catch (error) {
      this.logger.warn(`Could not create consumer group ${CONSUMER_GROUP} yet: ${sanitizeError(error).message}`);
    }
    if (!env.EVENT_BUS_CONSUMER_ENABLED) return;
    this.logger.log(`Event consumer ${this.consumerName} starting on ${this.keys.main} (group ${CONSUMER_GROUP})`);
    this.loop = this.run();
  }

  /** Earliest shutdown hook: stop reading, finish the in-flight batch, leave anything else pending (claimable). */
  async onModuleDestroy(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    this.stopping = true;
    this.stopController.abort();
    const deadline = Date.now() + this.config.env.SHUTDOWN_TIMEOUT_MS * SHUTDOWN_SHARE;
    let finished = false;
    void loop.then(() => (finished = true));
    while (!finished && Date.now() < deadline) {
      if (this.blockedInRead) await this.unblockRead();
      await Promise.race([loop, sleep(UNBLOCK_RETRY_MS)]);
    }
    if (!finished) {
      this.logger.warn(
        `Event consumer ${this.consumerName} did not finish its batch before shutdown; its unacknowledged events stay pending and will be claimed by another consumer`,
      );
      return;
    }
    await this.forgetSelf();
    this.loop = undefined;
    this.logger.log(`Event consumer ${this.consumerName} stopped`);
  }

  private async run(): Promise<void> {
    let failures = 0;
    try {
      failures = await this.runUntilStopped();
    } finally {
      await this.awaitSettling().catch((error: unknown) =>
        this.logger.warn(`The last batch could not be recorded before stopping; its events stay pending: ${sanitizeError(error).message}`),
      );
    }
    if (failures > 0) this.logger.warn(`Event consumer stopped while failing (${failures} failed attempt(s) in a row)`);
  }

  /** Returns the number of consecutive failures when it stopped. */
  private async runUntilStopped(): Promise<number> {
    let failures = 0;
    while (!this.stopping) {
      try {
        if (!this.groupReady) {
          await ensureConsumerGroup(this.redis, this.keys);
          await this.heartbeat();
          this.groupReady = true;
        }
        if (this.ownPendingToRecover) await this.recoverOwnPending();
        if (Date.now() >= this.nextRetryCheckAt) await this.redeliverDueRetries();
        if (Date.now() >= this.nextClaimAt) await this.claimIdleEntries();
        const entries = await this.readNew();
        if (entries.length > 0) await this.process(entries);
        if (failures > 0) {
          this.logger.log(`Event consumer recovered after ${failures} failed attempt(s)`);
          failures = 0;
        }
      } catch (error) {
        // Nothing may still be settling when the pending entries are re-read.
        await this.awaitSettling().catch(() => undefined);
        if (this.stopping) break;
        failures++;
        // Whatever was read before the failure is pending on this consumer: re-read it once things work again.
        this.ownPendingToRecover = true;
        this.blockingClientId = undefined;
        if (isRedisReplyError(error, 'NOGROUP')) this.groupReady = false;
        const delay = Math.min(BACKOFF_BASE_MS * 2 ** (failures - 1), BACKOFF_MAX_MS);
        if (failures === 1 || failures % FAILURE_LOG_EVERY === 0) {
          this.logger.error(
            `Event consumer failing (${failures} in a row): ${sanitizeError(error).message}; retrying in ${delay} ms (backoff up to ${BACKOFF_MAX_MS} ms)`,
          );
        }
        await sleep(delay, undefined, { signal: this.stopController.signal }).catch(() => undefined);
      }
    }
    return failures;
  }

  /** Handles a batch; its recording step overlaps with the next batch, and the previous one is awaited here. */
  private async process(entries: StreamEntry[]): Promise<void> {
    const { settled } = await this.processor.process(entries, { keepAlive: (ids) => this.keepAlive(ids) });
    const previous = this.settling;
    this.settling = settled;
    if (previous) this.applySettled(await previous);
  }

  /** XCLAIM to itself with JUSTID resets the entries' idle time without counting a delivery. */
  private async keepAlive(streamIds: string[]): Promise<void> {
    const minIdle = Math.floor(this.config.env.EVENT_BUS_CLAIM_IDLE_MS / KEEP_ALIVE_MIN_IDLE_DIVISOR);
    await this.redis.call('XCLAIM', this.keys.main, CONSUMER_GROUP, this.consumerName, minIdle, ...streamIds, 'JUSTID');
  }

  private async awaitSettling(): Promise<void> {
    const settling = this.settling;
    this.settling = undefined;
    if (settling) this.applySettled(await settling);
  }

  private applySettled(outcome: SettleOutcome): void {
    if (!outcome.ok) throw outcome.error;
    const { earliestRetryAt } = outcome.result;
    if (earliestRetryAt !== undefined && earliestRetryAt < this.nextRetryCheckAt) this.nextRetryCheckAt = earliestRetryAt;
  }

  private async readNew(): Promise<StreamEntry[]> {
    const env = this.config.env;
    if (this.settling) {
      // Busy stream: take the next batch without blocking while the previous one is recorded. Only when
      // there is nothing more, wait for that recording (it may schedule a retry the block must wake up for).
      const ready = readGroupEntries(
        await this.redis.call(
          'XREADGROUP', 'GROUP', CONSUMER_GROUP, this.consumerName,
          'COUNT', env.EVENT_BUS_BATCH_SIZE, 'STREAMS', this.keys.main, '>',
        ),
      );
      if (ready.length > 0) return ready;
      await this.awaitSettling();
    }
    const wakeAt = Math.min(this.nextRetryCheckAt, this.nextClaimAt);
    const blockMs = Math.max(1, Math.min(env.EVENT_BUS_BLOCK_MS, wakeAt - Date.now()));
    this.blockingClientId ??= Number(await this.blocking.call('CLIENT', 'ID'));
    if (this.stopping) return [];
    this.blockedInRead = true;
    try {
      const reply = await this.blocking.call(
        'XREADGROUP', 'GROUP', CONSUMER_GROUP, this.consumerName,
        'COUNT', env.EVENT_BUS_BATCH_SIZE, 'BLOCK', blockMs, 'STREAMS', this.keys.main, '>',
      );
      return readGroupEntries(reply);
    } finally {
      this.blockedInRead = false;
    }
  }

  /** Failed events whose delay has passed: popped from the retry set, taken over with XCLAIM, processed. */
  private async redeliverDueRetries(): Promise<void> {
    const now = Date.now();
    const batch = this.config.env.EVENT_BUS_BATCH_SIZE;
    const [due, nextScore] = (await this.redis.eval(POP_DUE_RETRIES, 1, this.keys.retry, now, batch)) as [string[], string?];
    const idle = now + this.config.env.EVENT_BUS_BLOCK_MS;
    // A full batch means more may be due: come back at once.
    this.nextRetryCheckAt = due.length === batch ? now : Math.min(nextScore === undefined ? idle : Number(nextScore), idle);
    if (due.length === 0) return;
    const entries = toEntries(await this.redis.call('XCLAIM', this.keys.main, CONSUMER_GROUP, this.consumerName, 0, ...due));
    if (entries.length > 0) await this.process(entries);
  }

  /** Crash recovery: takes over entries idle longer than EVENT_BUS_CLAIM_IDLE_MS, one page per call. */
  private async claimIdleEntries(): Promise<void> {
    const env = this.config.env;
    // Our previous batch may still be recording: its entries are pending and, on a slow machine, already idle
    // past the threshold. Let it settle first, or XAUTOCLAIM would hand them back to us for a second run.
    await this.awaitSettling();
    const [next, claimed, deleted] = (await this.redis.call(
      'XAUTOCLAIM', this.keys.main, CONSUMER_GROUP, this.consumerName,
      env.EVENT_BUS_CLAIM_IDLE_MS, this.claimCursor, 'COUNT', env.EVENT_BUS_BATCH_SIZE,
    )) as [string, unknown, string[]];
    this.claimCursor = next;
    if (next === '0-0') {
      this.nextClaimAt = Date.now() + this.claimIntervalMs;
      await this.heartbeat();
      await this.removeDeadConsumers();
    }
    if (deleted.length > 0) {
      this.logger.error(`${deleted.length} pending event(s) were trimmed from the main stream before they were processed (first: ${deleted[0]})`);
    }
    const entries = await this.withoutFutureRetries(toEntries(claimed));
    if (entries.length === 0) return;
    this.logger.warn(
      `Claimed ${entries.length} event(s) left pending for more than ${env.EVENT_BUS_CLAIM_IDLE_MS} ms by a stopped or stuck consumer`,
    );
    await this.process(entries);
  }

  /** After a failure, the entries this consumer had read but not settled (XREADGROUP from id 0). */
  private async recoverOwnPending(): Promise<void> {
    let cursor = '0';
    while (!this.stopping) {
      const entries = readGroupEntries(
        await this.redis.call(
          'XREADGROUP', 'GROUP', CONSUMER_GROUP, this.consumerName,
          'COUNT', this.config.env.EVENT_BUS_BATCH_SIZE, 'STREAMS', this.keys.main, cursor,
        ),
      );
      if (entries.length === 0) break;
      cursor = entries[entries.length - 1]!.streamId;
      const ready = await this.withoutFutureRetries(entries);
      if (ready.length > 0) await this.process(ready);
    }
    this.ownPendingToRecover = false;
  }

  /** Entries whose scheduled retry is still in the future stay pending until the retry path takes them. */
  private async withoutFutureRetries(entries: StreamEntry[]): Promise<StreamEntry[]> {
    if (entries.length === 0) return entries;
    const scores = (await this.redis.call('ZMSCORE', this.keys.retry, ...entries.map((e) => e.streamId))) as (string | null)[];
    const now = Date.now();
    return entries.filter((_, index) => scores[index] === null || Number(scores[index]) <= now);
  }

  /** Joins the group (again, if it was removed) and records that this consumer is alive. */
  private async heartbeat(): Promise<void> {
    const results = await this.redis
      .pipeline()
      .call('XGROUP', 'CREATECONSUMER', this.keys.main, CONSUMER_GROUP, this.consumerName)
      .zadd(this.keys.consumers, Date.now(), this.consumerName)
      .exec();
    for (const [error] of results ?? []) if (error) throw error;
  }

  private async removeDeadConsumers(): Promise<void> {
    const deadAfterMs = this.config.env.EVENT_BUS_CLAIM_IDLE_MS * DEAD_CONSUMER_IDLE_FACTOR;
    const staleBefore = Date.now() - deadAfterMs;
    const consumers = ((await this.redis.call('XINFO', 'CONSUMERS', this.keys.main, CONSUMER_GROUP)) as unknown[]).map(pairs);
    for (const consumer of consumers) {
      const name = String(consumer.name);
      if (name === this.consumerName || Number(consumer.pending) > 0 || Number(consumer.idle) < deadAfterMs) continue;
      if (await this.deleteConsumerIfIdle(name, staleBefore)) {
        this.logger.log(`Removed consumer ${name} from the group (no heartbeat for ${deadAfterMs} ms, nothing pending)`);
      }
    }
    // Heartbeats of consumers long gone from the group.
    await this.redis.zremrangebyscore(this.keys.consumers, '-inf', staleBefore - deadAfterMs);
  }

  private async deleteConsumerIfIdle(name: string, staleBefore: number): Promise<boolean> {
    return Number(await this.redis.eval(DELETE_IDLE_CONSUMER, 2, this.keys.main, this.keys.consumers, CONSUMER_GROUP, name, staleBefore)) === 1;
  }

  /** On a clean stop the consumer leaves the group unless it still holds pending entries (they stay claimable). */
  private async forgetSelf(): Promise<void> {
    await this.deleteConsumerIfIdle(this.consumerName, Date.now() + 1).catch((error: unknown) =>
      this.logger.warn(`Could not remove consumer ${this.consumerName} from the group: ${sanitizeError(error).message}`),
    );
  }

  /** CLIENT UNBLOCK makes the blocked XREADGROUP return as if it had timed out; nothing read is lost. */
  private async unblockRead(): Promise<void> {
    if (this.blockingClientId === undefined) return;
    await this.redis.call('CLIENT', 'UNBLOCK', this.blockingClientId).catch(() => undefined);
  }
}
