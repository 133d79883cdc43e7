import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { and, asc, inArray, lt, sql } from 'drizzle-orm';
import { describeError } from '../common/describe-error.js';
import { AppConfig } from '../config/app-config.js';
import { DB, type Database } from '../db/db.module.js';
import { approvalItems } from '../db/schema.js';
import { ApprovalEventPublisher } from './approval-event-publisher.js';
import { ESCALATION_BATCH_SIZE, ESCALATION_INTERVAL_NAME } from './approval.constants.js';
import type { ApprovalItem } from './approval.types.js';

const MS_PER_SECOND = 1000;
/** A literal, not a parameter, so the planner can use the partial index on open items' due_at. */
const PENDING = sql`${approvalItems.status} = 'pending'`;

/**
 * Moves pending items past their due time to `escalated`. Safe with any number of API instances running it at
 * once: each batch is one UPDATE whose subquery locks its rows with SKIP LOCKED and whose outer WHERE re-checks
 * `status = 'pending'` on the latest row version, so an item is escalated, and its event published, exactly once.
 */
@Injectable()
export class ApprovalEscalationService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ApprovalEscalationService.name);
  private running?: Promise<unknown>;

  constructor(
    @Inject(DB) private readonly db: Database,
    private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    private readonly events: ApprovalEventPublisher,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.env.APPROVAL_ESCALATION_ENABLED) return;
    const periodMs = this.config.env.APPROVAL_ESCALATION_INTERVAL_SECONDS * MS_PER_SECOND;
    this.scheduler.addInterval(ESCALATION_INTERVAL_NAME, setInterval(() => this.runScheduled(), periodMs));
  }

  /** Stops the timer and lets a run in progress finish while the database is still open. */
  async onModuleDestroy(): Promise<void> {
    if (this.scheduler.doesExist('interval', ESCALATION_INTERVAL_NAME)) this.scheduler.deleteInterval(ESCALATION_INTERVAL_NAME);
    await this.running;
  }

  /**
   * Escalates every pending item with due_at < `now` (the database clock when absent; `now` also becomes their
   * escalatedAt) and returns them. Publishes one approval.item.escalated per item, after each batch commits.
   */
  async escalateOverdue(now?: Date): Promise<ApprovalItem[]> {
    // With the bus down the run fails here and the items stay pending; the next run escalates and announces them.
    await this.events.ensureAvailable();
    const clock = now ? sql`${now.toISOString()}::timestamptz` : sql`now()`;
    const escalated: ApprovalItem[] = [];
    for (;;) {
      const due = this.db
        .select({ id: approvalItems.id })
        .from(approvalItems)
        .where(and(PENDING, lt(approvalItems.dueAt, clock)))
        .orderBy(asc(approvalItems.dueAt))
        .limit(ESCALATION_BATCH_SIZE)
        .for('update', { skipLocked: true });
      const batch = await this.db
        .update(approvalItems)
        .set({ status: 'escalated', escalatedAt: clock, updatedAt: sql`now()` })
        .where(and(inArray(approvalItems.id, due), PENDING))
        .returning();
      escalated.push(...batch);
      await this.events.publish(
        batch.map((item) => ({ action: 'escalated' as const, item })),
        { userId: null },
      );
      if (batch.length < ESCALATION_BATCH_SIZE) return escalated;
    }
  }

  private runScheduled(): void {
    // A slow run is never overlapped by the next tick of this instance.
    if (this.running) return;
    this.running = this.escalateOverdue()
      .then((items) => {
        if (items.length) this.logger.log(`Escalated ${items.length} overdue approval item(s)`);
      })
      .catch((error: unknown) => this.logger.error(`Escalation run failed: ${describeError(error)}`))
      .finally(() => {
        this.running = undefined;
      });
  }
}
