ALTER TABLE `messages` ADD `held_until` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `held_max_attempts` integer;--> statement-breakpoint
CREATE INDEX `messages_held_idx` ON `messages` (`held_until`) WHERE held_until IS NOT NULL;