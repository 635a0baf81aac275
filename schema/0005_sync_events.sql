-- 0005_sync_events: events of config sync (hcr sync) in the one event history.
--
-- Config sync copies ConfigMaps and Secrets between clusters that are either
-- registered in hcr or only contexts of the sync worker's kubeconfig. An event
-- about a registered cluster keeps pointing at it (cluster_id, deleted with
-- it); an event about a kubeconfig context has no row to point at, so it names
-- the context instead. Every event names exactly one of the two.
-- docs/sync/config-sync.md lists the kinds (sync.created, sync.failed, ...).

ALTER TABLE cluster_events ALTER COLUMN cluster_id DROP NOT NULL;
ALTER TABLE cluster_events ADD COLUMN context text;
ALTER TABLE cluster_events ADD CONSTRAINT cluster_events_subject
	CHECK ((cluster_id IS NULL) <> (context IS NULL));

CREATE INDEX cluster_events_context ON cluster_events (context, id) WHERE context IS NOT NULL;
