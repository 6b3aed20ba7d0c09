CREATE SCHEMA "agent_comm";
--> statement-breakpoint
CREATE TABLE "agent_comm"."deliveries" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "agent_comm"."deliveries_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"message_seq" bigint NOT NULL,
	"recipient" text NOT NULL,
	"status" text NOT NULL,
	"priority" smallint NOT NULL,
	"attempt" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer NOT NULL,
	"available_at" bigint NOT NULL,
	"lease_until" bigint,
	"receipt" text,
	"expires_at" bigint NOT NULL,
	"last_error" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"acked_at" bigint
);
--> statement-breakpoint
CREATE TABLE "agent_comm"."messages" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "agent_comm"."messages_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"id" text NOT NULL,
	"from_agent" text NOT NULL,
	"to_agent" text NOT NULL,
	"subject" text NOT NULL,
	"body" text NOT NULL,
	"priority" smallint NOT NULL,
	"conversation_id" text NOT NULL,
	"reply_to" text,
	"ttl_hours" double precision NOT NULL,
	"payload" text,
	"metadata" text,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"held_until" bigint,
	"held_max_attempts" integer
);
--> statement-breakpoint
ALTER TABLE "agent_comm"."deliveries" ADD CONSTRAINT "deliveries_message_seq_messages_seq_fk" FOREIGN KEY ("message_seq") REFERENCES "agent_comm"."messages"("seq") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "deliveries_message_recipient_unique" ON "agent_comm"."deliveries" USING btree ("message_seq","recipient");--> statement-breakpoint
CREATE INDEX "deliveries_claim_idx" ON "agent_comm"."deliveries" USING btree ("recipient","priority","id") WHERE status = 'queued';--> statement-breakpoint
CREATE INDEX "deliveries_lease_idx" ON "agent_comm"."deliveries" USING btree ("recipient","available_at") WHERE status = 'leased';--> statement-breakpoint
CREATE INDEX "deliveries_failed_idx" ON "agent_comm"."deliveries" USING btree ("recipient") WHERE status = 'failed';--> statement-breakpoint
CREATE UNIQUE INDEX "messages_id_unique" ON "agent_comm"."messages" USING btree ("id");--> statement-breakpoint
CREATE INDEX "messages_conversation_idx" ON "agent_comm"."messages" USING btree ("conversation_id","seq");--> statement-breakpoint
CREATE INDEX "messages_held_idx" ON "agent_comm"."messages" USING btree ("held_until") WHERE held_until IS NOT NULL;--> statement-breakpoint
CREATE INDEX "messages_search_idx" ON "agent_comm"."messages" USING gin (to_tsvector('simple', left(subject || ' ' || body, 131072)));