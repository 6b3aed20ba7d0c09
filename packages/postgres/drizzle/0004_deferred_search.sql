CREATE TABLE "agent_comm"."search_documents" (
	"message_seq" bigint PRIMARY KEY NOT NULL,
	"document" "tsvector" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "agent_comm"."search_pending" (
	"lo" bigint NOT NULL,
	"hi" bigint NOT NULL
);
--> statement-breakpoint
DROP INDEX "agent_comm"."messages_search_idx";--> statement-breakpoint
CREATE INDEX "search_documents_idx" ON "agent_comm"."search_documents" USING gin ("document");--> statement-breakpoint
-- Messages written before this migration are indexed by the first index pass, like any new send.
INSERT INTO "agent_comm"."search_pending" ("lo", "hi") SELECT min("seq"), max("seq") FROM "agent_comm"."messages" HAVING count(*) > 0;
