ALTER TABLE "agent_comm"."deliveries" DROP CONSTRAINT "deliveries_message_seq_messages_seq_fk";
