-- Edited after drizzle-kit generate: IF NOT EXISTS, and the DO block at the end. Versions before this
-- migration made the A2A tables by hand (PostgresA2AStore, recorded in __agent_comm_a2a_migrations) with
-- the same names and columns: such a database keeps its tables and rows, and its constraints take the
-- names drizzle gives them, so it ends up as a database made by this migration.
CREATE TABLE IF NOT EXISTS "agent_comm"."a2a_events" (
	"task_id" text NOT NULL,
	"seq" integer NOT NULL,
	"event" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "a2a_events_task_id_seq_pk" PRIMARY KEY("task_id","seq")
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "agent_comm"."a2a_push_configs" (
	"task_id" text NOT NULL,
	"id" text NOT NULL,
	"config" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "a2a_push_configs_task_id_id_pk" PRIMARY KEY("task_id","id")
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "agent_comm"."a2a_push_outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"task_id" text NOT NULL,
	"config_id" text NOT NULL,
	"seq" integer NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_at" bigint NOT NULL,
	"last_error" text,
	"done_at" bigint
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "agent_comm"."a2a_signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"alg" text NOT NULL,
	"public_jwk" text NOT NULL,
	"sealed_private_jwk" text NOT NULL,
	"created_at" bigint NOT NULL,
	"retired_at" bigint,
	"expires_at" bigint
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "agent_comm"."a2a_task_messages" (
	"message_id" text PRIMARY KEY NOT NULL,
	"task_id" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "agent_comm"."a2a_tasks" (
	"id" text PRIMARY KEY NOT NULL,
	"caller" text NOT NULL,
	"agent" text NOT NULL,
	"context_id" text NOT NULL,
	"message_id" text NOT NULL,
	"state" text NOT NULL,
	"task" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"position" bigserial NOT NULL
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "agent_comm"."a2a_tokens" (
	"name" text PRIMARY KEY NOT NULL,
	"token_hash" text NOT NULL,
	"agents" text,
	"created_at" bigint NOT NULL,
	"revoked_at" bigint,
	CONSTRAINT "a2a_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "a2a_push_outbox_due" ON "agent_comm"."a2a_push_outbox" USING btree ("done_at","next_at");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "a2a_signing_keys_retired" ON "agent_comm"."a2a_signing_keys" USING btree ("retired_at");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "a2a_tasks_state" ON "agent_comm"."a2a_tasks" USING btree ("state");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "a2a_tasks_context" ON "agent_comm"."a2a_tasks" USING btree ("caller","context_id");--> statement-breakpoint
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'a2a_events_pkey' AND conrelid = '"agent_comm"."a2a_events"'::regclass) THEN
    ALTER TABLE "agent_comm"."a2a_events" RENAME CONSTRAINT "a2a_events_pkey" TO "a2a_events_task_id_seq_pk";
  END IF;
  IF EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'a2a_push_configs_pkey' AND conrelid = '"agent_comm"."a2a_push_configs"'::regclass) THEN
    ALTER TABLE "agent_comm"."a2a_push_configs" RENAME CONSTRAINT "a2a_push_configs_pkey" TO "a2a_push_configs_task_id_id_pk";
  END IF;
  IF EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'a2a_tokens_token_hash_key' AND conrelid = '"agent_comm"."a2a_tokens"'::regclass) THEN
    ALTER TABLE "agent_comm"."a2a_tokens" RENAME CONSTRAINT "a2a_tokens_token_hash_key" TO "a2a_tokens_token_hash_unique";
  END IF;
END $$;--> statement-breakpoint
DROP TABLE IF EXISTS "agent_comm"."__agent_comm_a2a_migrations";
