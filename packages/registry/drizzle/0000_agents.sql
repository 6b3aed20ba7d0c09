CREATE TABLE `agent_capabilities` (
	`agent_id` text NOT NULL,
	`capability` text NOT NULL,
	`position` integer NOT NULL,
	PRIMARY KEY(`agent_id`, `capability`),
	FOREIGN KEY (`agent_id`) REFERENCES `agents`(`agent_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `agent_capabilities_capability_idx` ON `agent_capabilities` (`capability`,`agent_id`);--> statement-breakpoint
CREATE TABLE `agents` (
	`agent_id` text PRIMARY KEY NOT NULL,
	`device` text NOT NULL,
	`transport` text NOT NULL,
	`relay_url` text,
	`inbox_dir` text,
	`metadata` text NOT NULL,
	`registered_at` integer NOT NULL,
	`last_seen` integer NOT NULL,
	`offline_at` integer
);
