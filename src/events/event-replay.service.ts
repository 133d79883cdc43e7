import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  type OnModuleDestroy,
} from '@nestjs/common';
import { and, count, eq, gte, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../config/app-config.js';
import { DB, type Database } from '../db/db.module.js';
import { eventMetadata, replayJobs, type ReplayJobStatus } from '../db/schema.js';
import { REDIS } from '../redis/redis.module.js';
import { buildEnvelope, type PublishEventInput } from './event-envelope.js';
import { EventBusKeys } from './event-bus.keys.js';
import { sanitizeError } from './event-errors.js';
import { EventPublisher } from './event-publisher.service.js';
import { parseEnvelope, streamIdMs, toEntries } from './event-stream.js';

export const REPLAY_SOURCE = 'replay';
/** The main stream keeps about 30 days; a longer window could only find what is still there anyway. */
export const MAX_REPLAY_WINDOW_DAYS = 31;
const MAX_REPLAY_WINDOW_MS = MAX_REPLAY_WINDOW_DAYS * 24 * 3_600_000;
const PUBLISH_ATTEMPTS = 3;
const PUBLISH_RETRY_BASE_MS = 500;

export interface ReplayRequest {
  startTime: Date;
  endTime: Date;
  eventTypes?: string[];
}

export interface ReplayJobView {
  id: string;
  status: ReplayJobStatus;
  eventsReplayed: number;
  totalEvents: number;
  errors: number;
  startedAt: string | null;
  completedAt: string | null;
  errorMessage: string | null;
}

class ReplayInterrupted extends Error {}

/**
 * Re-publishes a workspace's events from a time window of the main stream. Reads XRANGE in batches of
 * EVENT_BUS_REPLAY_BATCH_SIZE from stream ids derived from the window (ids start with the ms timestamp of
 * the XADD), keeps only the workspace's events of the requested types, and publishes copies with new ids,
 * source "replay", `replayOf` = the original id, and the original correlation id, timestamp and data. Memory
 * holds one batch at a time.
 *
 * - Replays are never replayed again, and the window ends at the request time, so a replay cannot feed itself.
 * - Events already trimmed from the main stream (older than its retention) cannot be replayed.
 * - `totalEvents` starts as an estimate from EventMetadata and is set to the exact number found at the end.
 * - One replay per workspace at a time in each API process (409 otherwise). A replay interrupted by shutdown
 *   ends FAILED, saying how far it got; one running in a process that was killed stays RUNNING.
 * - If publishing a batch fails half-way and is retried, some events of that batch can be replayed twice.
 */
@Injectable()
export class EventReplayService implements OnModuleDestroy {
  private readonly logger = new Logger(EventReplayService.name);
  private readonly running = new Map<string, Promise<void>>();
  private stopping = false;

  constructor(
    private readonly keys: EventBusKeys,
    private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(DB) private readonly db: Database,
    private readonly publisher: EventPublisher,
  ) {}

  async start(workspaceId: string, request: ReplayRequest): Promise<ReplayJobView> {
    const now = Date.now();
    const startMs = request.startTime.getTime();
    const endMs = Math.min(request.endTime.getTime(), now);
    if (request.startTime.getTime() >= request.endTime.getTime()) throw new BadRequestException('startTime must be before endTime');
    if (startMs >= now) throw new BadRequestException('startTime must be in the past');
    if (endMs - startMs > MAX_REPLAY_WINDOW_MS) {
      throw new BadRequestException(`the window from startTime to endTime must be at most ${MAX_REPLAY_WINDOW_DAYS} days`);
    }
    if (this.running.has(workspaceId)) throw new ConflictException('A replay is already running for this workspace; wait for it to finish');
    const types = request.eventTypes?.length ? [...new Set(request.eventTypes)] : undefined;
    // Reserved before the first await, so two concurrent requests cannot both start.
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    this.running.set(workspaceId, done);
    void done.then(() => this.running.get(workspaceId) === done && this.running.delete(workspaceId));
    try {
      const job = await this.createJob(workspaceId, startMs, endMs, types);
      void this.run(job.id, workspaceId, startMs, endMs, types).finally(release);
      return toView(job);
    } catch (error) {
      release();
      throw error;
    }
  }

  private async createJob(workspaceId: string, startMs: number, endMs: number, types?: string[]) {
    const [estimate] = await this.db
      .select({ n: count() })
      .from(eventMetadata)
      .where(
        and(
          eq(eventMetadata.tenantId, workspaceId),
          gte(eventMetadata.createdAt, new Date(startMs)),
          lt(eventMetadata.createdAt, new Date(endMs)),
          isNull(eventMetadata.replayOf),
          types ? inArray(eventMetadata.type, types) : undefined,
        ),
      );
    const [job] = await this.db
      .insert(replayJobs)
      .values({
        workspaceId,
        startTime: new Date(startMs),
        endTime: new Date(endMs),
        eventTypes: types ?? null,
        totalEvents: estimate?.n ?? 0,
      })
      .returning();
    return job!;
  }

  async get(workspaceId: string, jobId: string): Promise<ReplayJobView> {
    const [job] = await this.db
      .select()
      .from(replayJobs)
      .where(and(eq(replayJobs.id, jobId), eq(replayJobs.workspaceId, workspaceId)));
    if (!job) throw new NotFoundException(`Replay job ${jobId} not found`);
    return toView(job);
  }

  /** Running replays stop after their current batch. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled(this.running.values());
  }

  private async run(jobId: string, workspaceId: string, startMs: number, endMs: number, types?: string[]): Promise<void> {
    const wanted = types ? new Set(types) : undefined;
    const batchSize = this.config.env.EVENT_BUS_REPLAY_BATCH_SIZE;
    const job = eq(replayJobs.id, jobId);
    // Stream ids of the window [start, end): an id with only a ms part means "-0" as start and "-max" as end.
    let from = String(startMs);
    const to = String(endMs - 1);
    let replayed = 0;
    let errors = 0;
    let lastId: string | undefined;
    try {
      await this.db.update(replayJobs).set({ status: 'RUNNING', startedAt: new Date() }).where(job);
      for (;;) {
        if (this.stopping) throw new ReplayInterrupted();
        const entries = toEntries(await this.redis.call('XRANGE', this.keys.main, from, to, 'COUNT', batchSize));
        if (entries.length === 0) break;
        const inputs: PublishEventInput[] = [];
        for (const entry of entries) {
          const event = parseEnvelope(entry.fields);
          if (!event || event.tenantId !== workspaceId || event.replayOf !== undefined) continue;
          if (wanted && !wanted.has(event.type)) continue;
          const input: PublishEventInput = {
            type: event.type,
            data: event.data,
            tenantId: event.tenantId,
            userId: event.userId,
            source: REPLAY_SOURCE,
            correlationId: event.correlationId,
            timestamp: event.timestamp,
            replayOf: event.id,
          };
          try {
            buildEnvelope(input);
            inputs.push(input);
          } catch {
            errors++;
          }
        }
        if (inputs.length > 0) {
          await this.publishWithRetry(inputs);
          replayed += inputs.length;
        }
        lastId = entries[entries.length - 1]!.streamId;
        from = `(${lastId}`;
        await this.db
          .update(replayJobs)
          .set({ eventsReplayed: replayed, errors, totalEvents: sql`GREATEST(${replayJobs.totalEvents}, ${replayed + errors})` })
          .where(job);
        if (entries.length < batchSize) break;
      }
      await this.db
        .update(replayJobs)
        .set({ status: 'COMPLETED', eventsReplayed: replayed, errors, totalEvents: replayed + errors, completedAt: new Date() })
        .where(job);
      this.logger.log(`Replay ${jobId} completed: ${replayed} event(s) replayed, ${errors} error(s)`);
    } catch (error) {
      const reached = lastId ? ` Events up to ${new Date(streamIdMs(lastId)).toISOString()} (stream id ${lastId}) were replayed.` : '';
      const errorMessage =
        error instanceof ReplayInterrupted
          ? `Interrupted by shutdown.${reached}`
          : `${sanitizeError(error).message}.${reached}`;
      this.logger.warn(`Replay ${jobId} failed: ${errorMessage}`);
      await this.db
        .update(replayJobs)
        .set({ status: 'FAILED', eventsReplayed: replayed, errors, errorMessage, completedAt: new Date() })
        .where(job)
        .catch((updateError: unknown) =>
          this.logger.error(`Could not record the failure of replay ${jobId}: ${sanitizeError(updateError).message}`),
        );
    }
  }

  private async publishWithRetry(inputs: PublishEventInput[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.publisher.publishBatch(inputs);
        return;
      } catch (error) {
        if (attempt >= PUBLISH_ATTEMPTS || this.stopping) throw error;
        await sleep(PUBLISH_RETRY_BASE_MS * attempt);
      }
    }
  }
}

function toView(job: typeof replayJobs.$inferSelect): ReplayJobView {
  return {
    id: job.id,
    status: job.status,
    eventsReplayed: job.eventsReplayed,
    totalEvents: job.totalEvents,
    errors: job.errors,
    startedAt: job.startedAt?.toISOString() ?? null,
    completedAt: job.completedAt?.toISOString() ?? null,
    errorMessage: job.errorMessage,
  };
}
