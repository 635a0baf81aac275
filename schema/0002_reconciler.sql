-- 0002_reconciler: what the reconciler needs beyond the first schema.
--
-- The "fake" provider is a test provider behind the same interface as the
-- clouds (the API accepts it only when the server enables it). Fields carry the
-- operation in flight, so a restarted reconciler knows what it was doing.
-- Operations carry the pool they target, the changes they send, and a
-- cloud-side handle; their id doubles as the idempotency token sent to the cloud.

ALTER TABLE credentials DROP CONSTRAINT credentials_provider_check;
ALTER TABLE credentials ADD CONSTRAINT credentials_provider_check
	CHECK (provider IN ('eks', 'aks', 'gke', 'fake'));
ALTER TABLE clusters DROP CONSTRAINT clusters_provider_check;
ALTER TABLE clusters ADD CONSTRAINT clusters_provider_check
	CHECK (provider IN ('eks', 'aks', 'gke', 'fake'));

ALTER TABLE cluster_fields ADD COLUMN inflight_operation_id uuid;
-- The value the operation in flight carries (an edit during it must not look applied).
ALTER TABLE cluster_fields ADD COLUMN sent jsonb;

ALTER TABLE operations ADD COLUMN pool text;
ALTER TABLE operations ADD COLUMN changes jsonb NOT NULL DEFAULT '{}';
ALTER TABLE operations ADD COLUMN op_order integer NOT NULL DEFAULT 0;

CREATE INDEX cluster_events_at ON cluster_events (at);

-- Scheduling and leases live beside clusters, not in them: a poll that finds
-- nothing new rewrites only this narrow row, never the cluster's documents.
CREATE TABLE cluster_schedule (
	cluster_id       uuid PRIMARY KEY REFERENCES clusters (id) ON DELETE CASCADE,
	next_poll_at     timestamptz NOT NULL DEFAULT now(),
	-- Set by edits and refresh requests: poll again as soon as the current work ends.
	wake             boolean NOT NULL DEFAULT false,
	lease_owner      text,
	lease_expires_at timestamptz,
	failure_count    integer NOT NULL DEFAULT 0,
	last_polled_at   timestamptz
);
CREATE INDEX cluster_schedule_due ON cluster_schedule (next_poll_at);

INSERT INTO cluster_schedule (cluster_id, next_poll_at, failure_count)
	SELECT id, next_poll_at, failure_count FROM clusters;

ALTER TABLE clusters DROP COLUMN next_poll_at;
ALTER TABLE clusters DROP COLUMN lease_owner;
ALTER TABLE clusters DROP COLUMN lease_expires_at;
ALTER TABLE clusters DROP COLUMN failure_count;

CREATE FUNCTION hcr_schedule_new_cluster() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO cluster_schedule (cluster_id) VALUES (NEW.id);
	RETURN NEW;
END
$$;
CREATE TRIGGER clusters_schedule AFTER INSERT ON clusters
	FOR EACH ROW EXECUTE FUNCTION hcr_schedule_new_cluster();
