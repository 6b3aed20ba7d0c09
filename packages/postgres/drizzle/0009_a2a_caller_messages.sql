CREATE TABLE "agent_comm"."a2a_caller_messages" (
	"caller" text NOT NULL,
	"message_id" text NOT NULL,
	"task_id" text NOT NULL,
	"digest" text NOT NULL,
	"created_at" bigint NOT NULL,
	CONSTRAINT "a2a_caller_messages_caller_message_id_pk" PRIMARY KEY("caller","message_id")
);
