ALTER TABLE `messages` ADD `idempotency_key` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `idempotency_expires_at` integer;--> statement-breakpoint
CREATE UNIQUE INDEX `messages_idempotency_key_unique` ON `messages` (`from_agent`,`idempotency_key`) WHERE idempotency_key IS NOT NULL;--> statement-breakpoint
-- Hand-written: each key moves onto the row of the message it stored (one per message), and leaves the
-- table; keys whose message is gone, or whose message takes another key, stay in the table and still hold.
UPDATE `messages` SET `idempotency_key` = k.`key`, `idempotency_expires_at` = k.`expires_at`
  FROM `idempotency_keys` k WHERE k.`message_id` = `messages`.`id` AND k.`sender` = `messages`.`from_agent`;--> statement-breakpoint
DELETE FROM `idempotency_keys` WHERE EXISTS (SELECT 1 FROM `messages` m
  WHERE m.`from_agent` = `idempotency_keys`.`sender` AND m.`idempotency_key` = `idempotency_keys`.`key`);
