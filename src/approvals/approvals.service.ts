import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { and, asc, desc, eq, getTableColumns, inArray, sql, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { DB, type Database } from '../db/db.module.js';
import { approvalItems, type ApprovalStatus } from '../db/schema.js';
import { decodeCursor, encodeCursor } from './approval-cursor.js';
import { ApprovalEventPublisher, type ApprovalEventAction } from './approval-event-publisher.js';
import { dueInSeconds, routeApproval } from './approval-routing.js';
import { ApprovalSettingsService } from './approval-settings.service.js';
import type { ApprovalItem, ApprovalPage, BulkDecisionResult, BulkItemResult } from './approval.types.js';
import type { CreateApprovalDto } from './dto/create-approval.dto.js';
import type { DecisionAction } from './dto/decision.dto.js';
import type { ListApprovalsQuery, SortField } from './dto/list-approvals.query.js';

export interface Decision {
  action: DecisionAction;
  notes?: string;
  reason?: string;
}

export interface CreateOptions {
  /** A fixed id, so re-delivering the same request event cannot create a second item. */
  id?: string;
  correlationId?: string;
  /** Whose token id the event carries; null when the request came from a system event. */
  userId?: string | null;
}

const DECIDED_STATUS: Record<DecisionAction, Extract<ApprovalStatus, 'approved' | 'rejected' | 'cancelled'>> = {
  approve: 'approved',
  reject: 'rejected',
  cancel: 'cancelled',
};

const OPEN = sql`${approvalItems.status} IN ('pending', 'escalated')`;

/** Full-precision, session-independent text of each sort key, for the cursor. */
const SORT_KEYS: Record<SortField, { column: PgColumn; text: SQL; cast: string }> = {
  createdAt: {
    column: approvalItems.createdAt,
    text: sql`to_char(${approvalItems.createdAt} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    cast: 'timestamptz',
  },
  dueAt: {
    column: approvalItems.dueAt,
    text: sql`to_char(${approvalItems.dueAt} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    cast: 'timestamptz',
  },
  confidenceScore: { column: approvalItems.confidenceScore, text: sql`${approvalItems.confidenceScore}::text`, cast: 'integer' },
};

function resolutionOf(decision: Decision): Record<string, unknown> {
  const status = DECIDED_STATUS[decision.action];
  return {
    decision: status,
    ...(decision.notes === undefined ? {} : { notes: decision.notes }),
    ...(decision.reason === undefined ? {} : { reason: decision.reason }),
  };
}

function conflictMessage(id: string, status: ApprovalStatus): string {
  return `Approval ${id} is already ${status}; only pending or escalated items can be decided`;
}

@Injectable()
export class ApprovalsService {
  constructor(
    @Inject(DB) private readonly db: Database,
    private readonly settings: ApprovalSettingsService,
    private readonly events: ApprovalEventPublisher,
  ) {}

  /**
   * Routes the item by the workspace's thresholds and stores it; due and resolution times come from the
   * database clock. Returns undefined when `options.id` already exists (a re-delivered request event).
   */
  async create(
    workspaceId: string,
    requestedBy: string,
    dto: CreateApprovalDto,
    options: CreateOptions = {},
  ): Promise<ApprovalItem | undefined> {
    await this.events.ensureAvailable();
    const settings = await this.settings.get(workspaceId);
    const route = routeApproval(dto.confidenceScore, settings);
    const priority = dto.priority ?? 'medium';
    const dueSeconds = dueInSeconds(priority, settings.approvalTimeoutHours);
    const autoApproved = route.status === 'auto_approved';

    const [item] = await this.db
      .insert(approvalItems)
      .values({
        id: options.id,
        workspaceId,
        type: dto.type,
        title: dto.title,
        description: dto.description,
        confidenceScore: dto.confidenceScore,
        confidenceFactors: dto.confidenceFactors,
        aiRecommendation: dto.aiRecommendation,
        status: route.status,
        reviewType: route.reviewType,
        priority,
        sourceModule: dto.sourceModule,
        sourceId: dto.sourceId,
        assignedToId: dto.assignedToId,
        previewData: dto.previewData,
        requestedBy,
        dueAt: sql`now() + make_interval(secs => ${dueSeconds}::double precision)`,
        resolvedAt: autoApproved ? sql`now()` : null,
        resolution: autoApproved
          ? { decision: 'auto_approved', confidenceScore: dto.confidenceScore, autoApproveThreshold: settings.autoApproveThreshold }
          : null,
      })
      .onConflictDoNothing({ target: approvalItems.id })
      .returning();
    if (!item) return undefined;

    const published: { action: ApprovalEventAction; item: ApprovalItem }[] = [{ action: 'created', item }];
    if (autoApproved) published.push({ action: 'auto_approved', item });
    await this.events.publish(published, {
      userId: options.userId === undefined ? requestedBy : options.userId,
      correlationId: options.correlationId,
    });
    return item;
  }

  async findOne(workspaceId: string, id: string): Promise<ApprovalItem> {
    const [item] = await this.db
      .select()
      .from(approvalItems)
      .where(and(eq(approvalItems.id, id), eq(approvalItems.workspaceId, workspaceId)));
    if (!item) throw new NotFoundException(`Approval ${id} not found`);
    return item;
  }

  /** Keyset pagination on (sort key, id): inserts between pages neither repeat nor skip existing items. */
  async list(workspaceId: string, query: ListApprovalsQuery): Promise<ApprovalPage> {
    const key = SORT_KEYS[query.sortBy];
    const column = key.column;
    const conditions: SQL[] = [eq(approvalItems.workspaceId, workspaceId)];
    if (query.status) conditions.push(eq(approvalItems.status, query.status));
    if (query.type) conditions.push(eq(approvalItems.type, query.type));
    if (query.priority) conditions.push(eq(approvalItems.priority, query.priority));
    if (query.assignedToId) conditions.push(eq(approvalItems.assignedToId, query.assignedToId));
    if (query.cursor) {
      const cursor = decodeCursor(query.cursor, query.sortBy, query.order);
      const after = sql`(${column}, ${approvalItems.id}) ${sql.raw(query.order === 'asc' ? '>' : '<')} (${cursor.value}::${sql.raw(key.cast)}, ${cursor.id}::uuid)`;
      conditions.push(after);
    }
    const direction = query.order === 'asc' ? asc : desc;
    const rows = await this.db
      .select({ ...getTableColumns(approvalItems), sortKey: key.text.mapWith(String) })
      .from(approvalItems)
      .where(and(...conditions))
      .orderBy(direction(column), direction(approvalItems.id))
      .limit(query.limit + 1);

    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const nextCursor =
      rows.length > query.limit && last
        ? encodeCursor({ sortBy: query.sortBy, order: query.order, value: last.sortKey, id: last.id })
        : null;
    return { items: page.map(({ sortKey: _sortKey, ...item }) => item), nextCursor };
  }

  /**
   * `actorId` is the caller's token id (there is no user table); it becomes resolvedById.
   * One conditional UPDATE decides the item: of any number of concurrent decisions exactly one matches
   * `status IN ('pending','escalated')`; the others see the committed row no longer matching and get 409.
   */
  async decide(workspaceId: string, id: string, decision: Decision, actorId: string): Promise<ApprovalItem> {
    await this.events.ensureAvailable();
    const [item] = await this.applyDecision(workspaceId, [id], decision, actorId);
    if (!item) {
      const [current] = await this.currentStatuses(workspaceId, [id]);
      if (!current) throw new NotFoundException(`Approval ${id} not found`);
      throw new ConflictException({
        statusCode: 409,
        error: 'Conflict',
        message: conflictMessage(id, current.status),
        status: current.status,
      });
    }
    await this.events.publish([{ action: DECIDED_STATUS[decision.action], item }], { userId: actorId });
    return item;
  }

  /** The same conditional UPDATE for many ids at once, with a result per id in the order given. */
  async decideMany(workspaceId: string, ids: string[], decision: Decision, actorId: string): Promise<BulkDecisionResult> {
    await this.events.ensureAvailable();
    const decided = await this.applyDecision(workspaceId, ids, decision, actorId);
    const byId = new Map(decided.map((item) => [item.id, item]));
    const undecided = ids.filter((id) => !byId.has(id));
    const current = new Map(
      (undecided.length ? await this.currentStatuses(workspaceId, undecided) : []).map((row) => [row.id, row.status]),
    );
    const results: BulkItemResult[] = ids.map((id) => {
      const item = byId.get(id);
      if (item) return { id, outcome: 'decided', statusCode: 200, status: item.status, item };
      const status = current.get(id);
      if (status) return { id, outcome: 'conflict', statusCode: 409, status, message: conflictMessage(id, status) };
      return { id, outcome: 'not_found', statusCode: 404, message: `Approval ${id} not found` };
    });
    await this.events.publish(
      decided.map((item) => ({ action: DECIDED_STATUS[decision.action], item })),
      { userId: actorId },
    );
    return { results, decided: decided.length, failed: ids.length - decided.length };
  }

  private applyDecision(workspaceId: string, ids: string[], decision: Decision, actorId: string): Promise<ApprovalItem[]> {
    return this.db
      .update(approvalItems)
      .set({
        status: DECIDED_STATUS[decision.action],
        resolvedAt: sql`now()`,
        resolvedById: actorId,
        resolution: resolutionOf(decision),
        updatedAt: sql`now()`,
      })
      .where(and(inArray(approvalItems.id, ids), eq(approvalItems.workspaceId, workspaceId), OPEN))
      .returning();
  }

  private currentStatuses(workspaceId: string, ids: string[]): Promise<{ id: string; status: ApprovalStatus }[]> {
    return this.db
      .select({ id: approvalItems.id, status: approvalItems.status })
      .from(approvalItems)
      .where(and(inArray(approvalItems.id, ids), eq(approvalItems.workspaceId, workspaceId)));
  }
}
