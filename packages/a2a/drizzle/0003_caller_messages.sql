CREATE TABLE `a2a_caller_messages` (
	`caller` text NOT NULL,
	`message_id` text NOT NULL,
	`task_id` text NOT NULL,
	`digest` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`caller`, `message_id`)
);
