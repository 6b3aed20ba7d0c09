CREATE TABLE `a2a_events` (
	`task_id` text NOT NULL,
	`seq` integer NOT NULL,
	`event` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`task_id`, `seq`)
);
--> statement-breakpoint
CREATE TABLE `a2a_task_messages` (
	`message_id` text PRIMARY KEY NOT NULL,
	`task_id` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `a2a_tasks` (
	`id` text PRIMARY KEY NOT NULL,
	`caller` text NOT NULL,
	`agent` text NOT NULL,
	`context_id` text NOT NULL,
	`message_id` text NOT NULL,
	`state` text NOT NULL,
	`task` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `a2a_tasks_state` ON `a2a_tasks` (`state`);--> statement-breakpoint
CREATE INDEX `a2a_tasks_context` ON `a2a_tasks` (`caller`,`context_id`);--> statement-breakpoint
CREATE TABLE `a2a_tokens` (
	`name` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`agents` text,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `a2a_tokens_token_hash_unique` ON `a2a_tokens` (`token_hash`);