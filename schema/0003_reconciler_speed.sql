-- 0003_reconciler_speed: keep the reconciler's queue small and its polls cheap.
--
-- Every poll updates its cluster's cluster_schedule row twice (claim, release),
-- and next_poll_at is indexed, so each poll leaves dead tuples and index entries
-- that the claim query must step over until they are vacuumed. Vacuum this
-- narrow table early and often instead of at the default 20 % of its size, and
-- leave room in each page for updated rows.
ALTER TABLE cluster_schedule SET (
	fillfactor = 70,
	autovacuum_vacuum_scale_factor = 0.01,
	autovacuum_vacuum_threshold = 500,
	autovacuum_vacuum_cost_delay = 0,
	autovacuum_analyze_scale_factor = 0.05
);

-- Whether, at its last save, every field of the cluster was in sync with
-- nothing in flight. A poll of a settled cluster whose cloud document has not
-- changed (same hash) and that nobody woke has nothing to decide, so it skips
-- loading the fields altogether.
ALTER TABLE clusters ADD COLUMN settled boolean NOT NULL DEFAULT false;
