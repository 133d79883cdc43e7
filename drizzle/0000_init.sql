CREATE TYPE "public"."ai_provider" AS ENUM('claude', 'openai', 'gemini', 'deepseek', 'openrouter');--> statement-breakpoint
CREATE TYPE "public"."approval_priority" AS ENUM('low', 'medium', 'high', 'urgent');--> statement-breakpoint
CREATE TYPE "public"."approval_status" AS ENUM('pending', 'approved', 'rejected', 'auto_approved', 'cancelled', 'escalated');--> statement-breakpoint
CREATE TYPE "public"."event_status" AS ENUM('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'DLQ');--> statement-breakpoint
CREATE TYPE "public"."replay_job_status" AS ENUM('PENDING', 'RUNNING', 'COMPLETED', 'FAILED');--> statement-breakpoint
CREATE TYPE "public"."approval_review_type" AS ENUM('auto', 'quick', 'full');--> statement-breakpoint
CREATE TYPE "public"."api_token_role" AS ENUM('owner', 'admin', 'member');--> statement-breakpoint
CREATE TABLE "ai_provider_configs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"provider" "ai_provider" NOT NULL,
	"api_key_encrypted" text NOT NULL,
	"api_key_hint" text NOT NULL,
	"default_model" text,
	"is_valid" boolean DEFAULT false NOT NULL,
	"last_validated_at" timestamp with time zone,
	"validation_error" text,
	"consecutive_failures" integer DEFAULT 0 NOT NULL,
	"last_check_latency_ms" integer,
	"check_lease_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "api_tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"token_hash" text NOT NULL,
	"role" "api_token_role" NOT NULL,
	"name" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "api_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "approval_items" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"type" text NOT NULL,
	"title" text NOT NULL,
	"description" text,
	"confidence_score" integer NOT NULL,
	"confidence_factors" jsonb,
	"ai_recommendation" text,
	"status" "approval_status" DEFAULT 'pending' NOT NULL,
	"review_type" "approval_review_type" NOT NULL,
	"priority" "approval_priority" DEFAULT 'medium' NOT NULL,
	"source_module" text,
	"source_id" text,
	"preview_data" jsonb,
	"requested_by" text NOT NULL,
	"assigned_to_id" text,
	"escalated_to_id" text,
	"due_at" timestamp with time zone NOT NULL,
	"escalated_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"resolved_by_id" text,
	"resolution" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "approval_items_confidence_check" CHECK ("approval_items"."confidence_score" BETWEEN 0 AND 100)
);
--> statement-breakpoint
CREATE TABLE "event_metadata" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"event_id" text NOT NULL,
	"stream_id" text NOT NULL,
	"type" text NOT NULL,
	"source" text NOT NULL,
	"tenant_id" text NOT NULL,
	"correlation_id" text,
	"status" "event_status" DEFAULT 'PENDING' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"completed_handlers" text[] DEFAULT '{}'::text[] NOT NULL,
	"replay_of" text,
	"last_error" text,
	"processed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "event_metadata_event_id_unique" UNIQUE("event_id")
);
--> statement-breakpoint
CREATE TABLE "replay_jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"status" "replay_job_status" DEFAULT 'PENDING' NOT NULL,
	"start_time" timestamp with time zone NOT NULL,
	"end_time" timestamp with time zone NOT NULL,
	"event_types" text[],
	"total_events" integer DEFAULT 0 NOT NULL,
	"events_replayed" integer DEFAULT 0 NOT NULL,
	"errors" integer DEFAULT 0 NOT NULL,
	"error_message" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "workspace_settings" (
	"workspace_id" uuid PRIMARY KEY NOT NULL,
	"auto_approve_threshold" integer DEFAULT 85 NOT NULL,
	"quick_review_threshold" integer DEFAULT 60 NOT NULL,
	"approval_timeout_hours" integer DEFAULT 48 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workspace_settings_thresholds_check" CHECK (0 <= "workspace_settings"."quick_review_threshold" AND "workspace_settings"."quick_review_threshold" <= "workspace_settings"."auto_approve_threshold" AND "workspace_settings"."auto_approve_threshold" <= 100),
	CONSTRAINT "workspace_settings_timeout_check" CHECK ("workspace_settings"."approval_timeout_hours" > 0)
);
--> statement-breakpoint
CREATE TABLE "workspaces" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workspaces_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
ALTER TABLE "ai_provider_configs" ADD CONSTRAINT "ai_provider_configs_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "approval_items" ADD CONSTRAINT "approval_items_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "replay_jobs" ADD CONSTRAINT "replay_jobs_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workspace_settings" ADD CONSTRAINT "workspace_settings_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "ai_provider_configs_workspace_provider_key" ON "ai_provider_configs" USING btree ("workspace_id","provider");--> statement-breakpoint
CREATE INDEX "ai_provider_configs_provider_idx" ON "ai_provider_configs" USING btree ("provider","is_valid");--> statement-breakpoint
CREATE INDEX "ai_provider_configs_due_idx" ON "ai_provider_configs" USING btree ("last_validated_at");--> statement-breakpoint
CREATE INDEX "api_tokens_workspace_idx" ON "api_tokens" USING btree ("workspace_id");--> statement-breakpoint
CREATE INDEX "approval_items_workspace_created_idx" ON "approval_items" USING btree ("workspace_id","created_at","id");--> statement-breakpoint
CREATE INDEX "approval_items_workspace_status_idx" ON "approval_items" USING btree ("workspace_id","status");--> statement-breakpoint
CREATE INDEX "approval_items_status_idx" ON "approval_items" USING btree ("status");--> statement-breakpoint
CREATE INDEX "approval_items_open_due_idx" ON "approval_items" USING btree ("due_at") WHERE "approval_items"."status" IN ('pending', 'escalated');--> statement-breakpoint
CREATE INDEX "approval_items_open_created_idx" ON "approval_items" USING btree ("created_at") WHERE "approval_items"."status" IN ('pending', 'escalated');--> statement-breakpoint
CREATE INDEX "event_metadata_tenant_created_idx" ON "event_metadata" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE INDEX "event_metadata_tenant_status_created_idx" ON "event_metadata" USING btree ("tenant_id","status","created_at");--> statement-breakpoint
CREATE INDEX "event_metadata_type_status_idx" ON "event_metadata" USING btree ("type","status");--> statement-breakpoint
CREATE INDEX "event_metadata_correlation_idx" ON "event_metadata" USING btree ("correlation_id");--> statement-breakpoint
CREATE INDEX "event_metadata_created_status_idx" ON "event_metadata" USING btree ("created_at","status");--> statement-breakpoint
CREATE INDEX "replay_jobs_workspace_idx" ON "replay_jobs" USING btree ("workspace_id","created_at");