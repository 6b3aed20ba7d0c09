CREATE TABLE `idempotency_keys` (
	`sender` text NOT NULL,
	`key` text NOT NULL,
	`message_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `idempotency_keys_sender_key_unique` ON `idempotency_keys` (`sender`,`key`);--> statement-breakpoint
CREATE INDEX `idempotency_keys_expires_idx` ON `idempotency_keys` (`expires_at`);