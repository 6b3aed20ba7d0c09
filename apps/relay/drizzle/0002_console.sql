CREATE TABLE `console_audit` (
	`seq` integer PRIMARY KEY NOT NULL,
	`request_id` text NOT NULL,
	`response_id` text NOT NULL,
	`requester` text NOT NULL,
	`question` text NOT NULL,
	`action` text,
	`decision` text NOT NULL,
	`comment` text,
	`decided_by` text NOT NULL,
	`decided_at` integer NOT NULL,
	`arguments` text,
	`expired` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `console_audit_request_id_unique` ON `console_audit` (`request_id`);--> statement-breakpoint
CREATE INDEX `console_audit_decided_by_idx` ON `console_audit` (`decided_by`,`seq`);--> statement-breakpoint
CREATE INDEX `console_audit_requester_idx` ON `console_audit` (`requester`,`seq`);--> statement-breakpoint
CREATE TABLE `console_outbox` (
	`request_id` text PRIMARY KEY NOT NULL,
	`message` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `console_sessions` (
	`id_hash` text PRIMARY KEY NOT NULL,
	`agent_id` text NOT NULL,
	`admin` integer NOT NULL,
	`csrf_secret` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `console_sessions_expires_idx` ON `console_sessions` (`expires_at`);