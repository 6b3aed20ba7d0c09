CREATE TABLE `deliveries` (
	`id` integer PRIMARY KEY NOT NULL,
	`message_seq` integer NOT NULL,
	`recipient` text NOT NULL,
	`status` text NOT NULL,
	`priority` integer NOT NULL,
	`attempt` integer DEFAULT 0 NOT NULL,
	`max_attempts` integer NOT NULL,
	`available_at` integer NOT NULL,
	`lease_until` integer,
	`receipt` text,
	`expires_at` integer NOT NULL,
	`last_error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`acked_at` integer,
	FOREIGN KEY (`message_seq`) REFERENCES `messages`(`seq`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `deliveries_message_recipient_unique` ON `deliveries` (`message_seq`,`recipient`);--> statement-breakpoint
CREATE INDEX `deliveries_claim_idx` ON `deliveries` (`recipient`,`priority`,`id`) WHERE status = 'queued';--> statement-breakpoint
CREATE INDEX `deliveries_lease_idx` ON `deliveries` (`recipient`,`available_at`) WHERE status = 'leased';--> statement-breakpoint
CREATE INDEX `deliveries_failed_idx` ON `deliveries` (`recipient`) WHERE status = 'failed';--> statement-breakpoint
CREATE TABLE `messages` (
	`seq` integer PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`from_agent` text NOT NULL,
	`to_agent` text NOT NULL,
	`subject` text NOT NULL,
	`body` text NOT NULL,
	`priority` integer NOT NULL,
	`conversation_id` text NOT NULL,
	`reply_to` text,
	`ttl_hours` real NOT NULL,
	`payload` text,
	`metadata` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_id_unique` ON `messages` (`id`);--> statement-breakpoint
CREATE INDEX `messages_conversation_idx` ON `messages` (`conversation_id`,`seq`);--> statement-breakpoint
CREATE TABLE `spool_state` (
	`key` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
