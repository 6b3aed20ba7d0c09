CREATE TABLE "agent_comm"."idempotency_keys" (
	"sender" text NOT NULL,
	"key" text NOT NULL,
	"message_id" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	CONSTRAINT "idempotency_keys_sender_key_pk" PRIMARY KEY("sender","key")
);
--> statement-breakpoint
CREATE INDEX "idempotency_keys_expires_idx" ON "agent_comm"."idempotency_keys" USING btree ("expires_at");