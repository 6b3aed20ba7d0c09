CREATE TABLE "agent_comm"."agent_capabilities" (
	"agent_id" text NOT NULL,
	"capability" text NOT NULL,
	"position" integer NOT NULL,
	CONSTRAINT "agent_capabilities_agent_id_capability_pk" PRIMARY KEY("agent_id","capability")
);
--> statement-breakpoint
CREATE TABLE "agent_comm"."agents" (
	"agent_id" text PRIMARY KEY NOT NULL,
	"device" text NOT NULL,
	"transport" text NOT NULL,
	"relay_url" text,
	"inbox_dir" text,
	"metadata" text NOT NULL,
	"registered_at" bigint NOT NULL,
	"last_seen" bigint NOT NULL,
	"offline_at" bigint
);
--> statement-breakpoint
ALTER TABLE "agent_comm"."agent_capabilities" ADD CONSTRAINT "agent_capabilities_agent_id_agents_agent_id_fk" FOREIGN KEY ("agent_id") REFERENCES "agent_comm"."agents"("agent_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agent_capabilities_capability_idx" ON "agent_comm"."agent_capabilities" USING btree ("capability","agent_id");