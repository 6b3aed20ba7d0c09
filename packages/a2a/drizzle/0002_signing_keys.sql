CREATE TABLE `a2a_signing_keys` (
	`kid` text PRIMARY KEY NOT NULL,
	`alg` text NOT NULL,
	`public_jwk` text NOT NULL,
	`sealed_private_jwk` text NOT NULL,
	`created_at` integer NOT NULL,
	`retired_at` integer,
	`expires_at` integer
);
--> statement-breakpoint
CREATE INDEX `a2a_signing_keys_retired` ON `a2a_signing_keys` (`retired_at`);