CREATE TABLE `relay_nonces` (
	`timestamp` integer NOT NULL,
	`agent_id` text NOT NULL,
	`nonce` text NOT NULL,
	PRIMARY KEY(`timestamp`, `agent_id`, `nonce`)
) WITHOUT ROWID;
