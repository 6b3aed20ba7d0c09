CREATE TABLE `a2a_push_configs` (
	`task_id` text NOT NULL,
	`id` text NOT NULL,
	`config` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`task_id`, `id`)
);
--> statement-breakpoint
CREATE TABLE `a2a_push_outbox` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`task_id` text NOT NULL,
	`config_id` text NOT NULL,
	`seq` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_at` integer NOT NULL,
	`last_error` text,
	`done_at` integer
);
--> statement-breakpoint
CREATE INDEX `a2a_push_outbox_due` ON `a2a_push_outbox` (`done_at`,`next_at`);