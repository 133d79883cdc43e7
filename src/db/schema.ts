import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

export const ROLES = ['owner', 'admin', 'member'] as const;
export const EVENT_STATUSES = ['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'DLQ'] as const;
export const APPROVAL_STATUSES = [
  'pending',
  'approved',
  'rejected',
  'auto_approved',
  'cancelled',
  'escalated',
] as const;
export const APPROVAL_PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const;
export const REVIEW_TYPES = ['auto', 'quick', 'full'] as const;
export const AI_PROVIDERS = ['claude', 'openai', 'gemini', 'deepseek', 'openrouter'] as const;
export const REPLAY_JOB_STATUSES = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED'] as const;

export type Role = (typeof ROLES)[number];
export type EventStatus = (typeof EVENT_STATUSES)[number];
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];
export type ApprovalPriority = (typeof APPROVAL_PRIORITIES)[number];
export type ReviewType = (typeof REVIEW_TYPES)[number];
export type AiProvider = (typeof AI_PROVIDERS)[number];
export type ReplayJobStatus = (typeof REPLAY_JOB_STATUSES)[number];

export const roleEnum = pgEnum('api_token_role', ROLES);
export const eventStatusEnum = pgEnum('event_status', EVENT_STATUSES);
export const approvalStatusEnum = pgEnum('approval_status', APPROVAL_STATUSES);
export const approvalPriorityEnum = pgEnum('approval_priority', APPROVAL_PRIORITIES);
export const reviewTypeEnum = pgEnum('approval_review_type', REVIEW_TYPES);
export const aiProviderEnum = pgEnum('ai_provider', AI_PROVIDERS);
export const replayJobStatusEnum = pgEnum('replay_job_status', REPLAY_JOB_STATUSES);

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();

export const workspaces = pgTable('workspaces', {
  id: uuid('id').primaryKey().defaultRandom(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

/** Only the SHA-256 of a token is stored; the token itself is shown once, at creation. */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    role: roleEnum('role').notNull(),
    name: text('name'),
    createdAt: createdAt(),
  },
  (t) => [index('api_tokens_workspace_idx').on(t.workspaceId)],
);

export const eventMetadata = pgTable(
  'event_metadata',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    eventId: text('event_id').notNull().unique(),
    streamId: text('stream_id').notNull(),
    type: text('type').notNull(),
    source: text('source').notNull(),
    tenantId: text('tenant_id').notNull(),
    correlationId: text('correlation_id'),
    status: eventStatusEnum('status').notNull().default('PENDING'),
    attempts: integer('attempts').notNull().default(0),
    /** Handlers that already succeeded for this event, so a retry does not run them again. */
    completedHandlers: text('completed_handlers').array().notNull().default(sql`'{}'::text[]`),
    replayOf: text('replay_of'),
    lastError: text('last_error'),
    processedAt: timestamp('processed_at', { withTimezone: true }),
    createdAt: createdAt(),
  },
  (t) => [
    index('event_metadata_tenant_created_idx').on(t.tenantId, t.createdAt),
    index('event_metadata_tenant_status_created_idx').on(t.tenantId, t.status, t.createdAt),
    index('event_metadata_type_status_idx').on(t.type, t.status),
    index('event_metadata_correlation_idx').on(t.correlationId),
    index('event_metadata_created_status_idx').on(t.createdAt, t.status),
  ],
);

export const replayJobs = pgTable(
  'replay_jobs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    status: replayJobStatusEnum('status').notNull().default('PENDING'),
    startTime: timestamp('start_time', { withTimezone: true }).notNull(),
    endTime: timestamp('end_time', { withTimezone: true }).notNull(),
    eventTypes: text('event_types').array(),
    totalEvents: integer('total_events').notNull().default(0),
    eventsReplayed: integer('events_replayed').notNull().default(0),
    errors: integer('errors').notNull().default(0),
    errorMessage: text('error_message'),
    createdAt: createdAt(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [index('replay_jobs_workspace_idx').on(t.workspaceId, t.createdAt)],
);

export const workspaceSettings = pgTable(
  'workspace_settings',
  {
    workspaceId: uuid('workspace_id')
      .primaryKey()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    autoApproveThreshold: integer('auto_approve_threshold').notNull().default(85),
    quickReviewThreshold: integer('quick_review_threshold').notNull().default(60),
    approvalTimeoutHours: integer('approval_timeout_hours').notNull().default(48),
    updatedAt: updatedAt(),
  },
  (t) => [
    check(
      'workspace_settings_thresholds_check',
      sql`0 <= ${t.quickReviewThreshold} AND ${t.quickReviewThreshold} <= ${t.autoApproveThreshold} AND ${t.autoApproveThreshold} <= 100`,
    ),
    check('workspace_settings_timeout_check', sql`${t.approvalTimeoutHours} > 0`),
  ],
);

export const approvalItems = pgTable(
  'approval_items',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    title: text('title').notNull(),
    description: text('description'),
    confidenceScore: integer('confidence_score').notNull(),
    confidenceFactors: jsonb('confidence_factors'),
    aiRecommendation: text('ai_recommendation'),
    status: approvalStatusEnum('status').notNull().default('pending'),
    reviewType: reviewTypeEnum('review_type').notNull(),
    priority: approvalPriorityEnum('priority').notNull().default('medium'),
    sourceModule: text('source_module'),
    sourceId: text('source_id'),
    previewData: jsonb('preview_data'),
    requestedBy: text('requested_by').notNull(),
    assignedToId: text('assigned_to_id'),
    escalatedToId: text('escalated_to_id'),
    dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
    escalatedAt: timestamp('escalated_at', { withTimezone: true }),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    resolvedById: text('resolved_by_id'),
    resolution: jsonb('resolution'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check('approval_items_confidence_check', sql`${t.confidenceScore} BETWEEN 0 AND 100`),
    index('approval_items_workspace_created_idx').on(t.workspaceId, t.createdAt, t.id),
    index('approval_items_workspace_status_idx').on(t.workspaceId, t.status),
    index('approval_items_status_idx').on(t.status),
    // Serve the escalation job and the open-queue metrics (oldest open, overdue) without touching closed rows.
    index('approval_items_open_due_idx')
      .on(t.dueAt)
      .where(sql`${t.status} IN ('pending', 'escalated')`),
    index('approval_items_open_created_idx')
      .on(t.createdAt)
      .where(sql`${t.status} IN ('pending', 'escalated')`),
  ],
);

/**
 * Exact number of approval items per status, so the queue-depth metric never counts a million rows. Kept up to
 * date by statement-level triggers on approval_items (migration 0002), in the same transaction as the change.
 * Each change lands in one of several slots so concurrent writers rarely wait on one row; a status's count is
 * the sum of its slots (a single slot may go negative).
 */
export const approvalStatusCounts = pgTable(
  'approval_status_counts',
  {
    status: approvalStatusEnum('status').notNull(),
    slot: smallint('slot').notNull(),
    count: bigint('count', { mode: 'number' }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.status, t.slot] })],
);

export const aiProviderConfigs = pgTable(
  'ai_provider_configs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: uuid('workspace_id')
      .notNull()
      .references(() => workspaces.id, { onDelete: 'cascade' }),
    provider: aiProviderEnum('provider').notNull(),
    apiKeyEncrypted: text('api_key_encrypted').notNull(),
    apiKeyHint: text('api_key_hint').notNull(),
    defaultModel: text('default_model'),
    isValid: boolean('is_valid').notNull().default(false),
    lastValidatedAt: timestamp('last_validated_at', { withTimezone: true }),
    validationError: text('validation_error'),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    lastCheckLatencyMs: integer('last_check_latency_ms'),
    /** A health check in progress holds this lease, so two instances never check one config at once. */
    checkLeaseUntil: timestamp('check_lease_until', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('ai_provider_configs_workspace_provider_key').on(t.workspaceId, t.provider),
    index('ai_provider_configs_provider_idx').on(t.provider, t.isValid),
    index('ai_provider_configs_due_idx').on(t.lastValidatedAt),
  ],
);
