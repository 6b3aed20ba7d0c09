CREATE TABLE "agent_comm"."relay_nonces" (
	"agent_id" text NOT NULL,
	"nonce" text NOT NULL,
	"timestamp" bigint NOT NULL,
	CONSTRAINT "relay_nonces_agent_id_nonce_pk" PRIMARY KEY("agent_id","nonce")
);
--> statement-breakpoint
CREATE TABLE "agent_comm"."relay_secrets" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "agent_comm"."relay_secrets_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"agent_id" text NOT NULL,
	"sealed" text NOT NULL,
	"created_at" bigint NOT NULL,
	"expires_at" bigint
);
--> statement-breakpoint
CREATE TABLE "agent_comm"."relay_secrets_key" (
	"id" integer PRIMARY KEY NOT NULL,
	"key_id" text NOT NULL,
	"check" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agent_comm"."relay_state" (
	"key" text PRIMARY KEY NOT NULL,
	"value" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "relay_nonces_timestamp_idx" ON "agent_comm"."relay_nonces" USING btree ("timestamp");--> statement-breakpoint
CREATE INDEX "relay_secrets_agent_idx" ON "agent_comm"."relay_secrets" USING btree ("agent_id");