-- Written by hand (drizzle-kit does not model a table's storage parameters); the schema snapshot is unchanged.
-- Every claim and every ack writes a new version of a delivery row (its status is in the partial indexes'
-- predicates, so neither update can be HOT), and each old version stays in the claim and lease indexes
-- until VACUUM: a claim walks them. PostgreSQL's default waits for dead rows to reach 20 % of the table,
-- which for a queue keeping its acked history is a long walk; vacuum (and analyze) after 1 % instead.
ALTER TABLE "agent_comm"."deliveries" SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.02);
