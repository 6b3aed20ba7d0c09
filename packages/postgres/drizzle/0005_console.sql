CREATE TABLE "agent_comm"."console_audit" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "agent_comm"."console_audit_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"request_id" text NOT NULL,
	"response_id" text NOT NULL,
	"requester" text NOT NULL,
	"question" text NOT NULL,
	"action" text,
	"decision" text NOT NULL,
	"comment" text,
	"decided_by" text NOT NULL,
	"decided_at" bigint NOT NULL,
	"arguments" text,
	"expired" boolean NOT NULL,
	CONSTRAINT "console_audit_request_id_unique" UNIQUE("request_id")
);
--> statement-breakpoint
CREATE TABLE "agent_comm"."console_outbox" (
	"request_id" text PRIMARY KEY NOT NULL,
	"message" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agent_comm"."console_sessions" (
	"id_hash" text PRIMARY KEY NOT NULL,
	"agent_id" text NOT NULL,
	"admin" boolean NOT NULL,
	"csrf_secret" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "console_audit_decided_by_idx" ON "agent_comm"."console_audit" USING btree ("decided_by","seq");--> statement-breakpoint
CREATE INDEX "console_audit_requester_idx" ON "agent_comm"."console_audit" USING btree ("requester","seq");--> statement-breakpoint
CREATE INDEX "console_sessions_expires_idx" ON "agent_comm"."console_sessions" USING btree ("expires_at");