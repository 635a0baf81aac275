-- 0001_init: hcr's first schema.
--
-- Clusters carry the three documents of the sync model (docs/architecture.md):
-- desired (what users asked for; absent or null = unmanaged), observed (the
-- cloud's normalised document and when that observation started) and applied
-- (what hcr last applied successfully). Per-leaf-field state, ownership and
-- drift state live in cluster_fields, one row per leaf path. Every change to
-- any of them is an append-only row in cluster_events. Cloud operations are
-- persisted before they are started, so a restarted reconciler resumes
-- tracking them and never issues the same change twice.

CREATE TABLE credentials (
	id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name        text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$'),
	provider    text NOT NULL CHECK (provider IN ('eks', 'aks', 'gke')),
	-- Non-secret identifiers shown to operators (key id suffix, tenant, project, ...).
	metadata    jsonb NOT NULL DEFAULT '{}',
	-- AES-256-GCM: nonce || ciphertext || tag, under the master key named by key_id.
	sealed      bytea NOT NULL,
	key_id      text NOT NULL,
	created_by  text NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE clusters (
	id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name          text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$'),
	provider      text NOT NULL CHECK (provider IN ('eks', 'aks', 'gke')),
	imported      boolean NOT NULL,
	-- Where the cluster lives in its cloud; which of these are set depends on the provider.
	cloud_name     text NOT NULL,
	region         text,
	location       text,
	resource_group text,
	project        text,
	credential_id uuid NOT NULL REFERENCES credentials (id) ON DELETE RESTRICT,
	policy        text NOT NULL DEFAULT 'adopt'
	              CHECK (policy IN ('adopt', 'enforce', 'prefer_upstream')),
	-- registered: imported, not yet observed; pending_create: created, cloud call not yet made;
	-- creating / active / updating / deleting / failed: lifecycle driven by the reconciler.
	state         text NOT NULL
	              CHECK (state IN ('registered', 'pending_create', 'creating', 'active',
	                               'updating', 'deleting', 'failed')),
	desired       jsonb NOT NULL DEFAULT '{}',
	observed      jsonb,
	observed_hash text,
	observed_started_at timestamptz,
	applied       jsonb NOT NULL DEFAULT '{}',
	busy          boolean NOT NULL DEFAULT false,
	-- Optimistic concurrency: bumped on every change to the row; the API's ETag.
	version       bigint NOT NULL DEFAULT 1,
	-- Reconciler scheduling and row leases (several reconcilers share one database).
	next_poll_at  timestamptz NOT NULL DEFAULT now(),
	lease_owner   text,
	lease_expires_at timestamptz,
	failure_count integer NOT NULL DEFAULT 0,
	last_error    jsonb,
	created_by    text NOT NULL,
	created_at    timestamptz NOT NULL DEFAULT now(),
	updated_at    timestamptz NOT NULL DEFAULT now(),
	-- One row per cloud cluster: NULLS NOT DISTINCT so that unset location parts still collide.
	CONSTRAINT clusters_cloud_identity UNIQUE NULLS NOT DISTINCT
		(provider, credential_id, cloud_name, region, location, resource_group, project)
);
CREATE INDEX clusters_provider_name ON clusters (provider, name);
CREATE INDEX clusters_due ON clusters (next_poll_at) WHERE state <> 'deleting';
CREATE INDEX clusters_credential ON clusters (credential_id);

-- Per-leaf-field state: path is e.g. 'kubernetesVersion', 'tags.team', 'nodeGroups[ng-a].desiredSize'.
CREATE TABLE cluster_fields (
	cluster_id     uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
	path           text NOT NULL,
	owner          text NOT NULL DEFAULT 'external' CHECK (owner IN ('hcr', 'external')),
	desired        jsonb,
	desired_at     timestamptz,
	observed       jsonb,
	observed_started_at timestamptz,
	applied        jsonb,
	applied_operation_id uuid,
	applied_at     timestamptz,
	-- Drift state of a managed field.
	state          text NOT NULL DEFAULT 'in_sync'
	               CHECK (state IN ('in_sync', 'pending', 'applying', 'failed', 'conflict', 'blocked')),
	state_reason   text,
	state_since    timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (cluster_id, path)
);
CREATE INDEX cluster_fields_drift ON cluster_fields (state) WHERE state <> 'in_sync';

-- Cloud operations, recorded as 'planned' before the cloud call is made.
CREATE TABLE operations (
	id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	cluster_id    uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
	kind          text NOT NULL,
	paths         text[] NOT NULL DEFAULT '{}',
	request       jsonb NOT NULL DEFAULT '{}',
	-- The cloud's handle: EKS update id, Azure async-operation URL, GKE operation name.
	handle        text,
	state         text NOT NULL DEFAULT 'planned'
	              CHECK (state IN ('planned', 'started', 'succeeded', 'failed', 'cancelled')),
	attempt       integer NOT NULL DEFAULT 1,
	error_code    text,
	error_message text,
	created_at    timestamptz NOT NULL DEFAULT now(),
	started_at    timestamptz,
	completed_at  timestamptz
);
CREATE INDEX operations_open ON operations (cluster_id) WHERE state IN ('planned', 'started');

-- Append-only history of every change to desired, observed, applied or owner.
CREATE TABLE cluster_events (
	id           bigserial PRIMARY KEY,
	cluster_id   uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
	at           timestamptz NOT NULL DEFAULT now(),
	actor        text NOT NULL,
	kind         text NOT NULL,
	path         text,
	old_value    jsonb,
	new_value    jsonb,
	operation_id uuid,
	message      text
);
CREATE INDEX cluster_events_cluster ON cluster_events (cluster_id, id);

CREATE TABLE api_tokens (
	id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	role         text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
	-- SHA-256 of the token, hex. The token itself is shown once and never stored.
	token_hash   text NOT NULL UNIQUE,
	created_by   text NOT NULL,
	created_at   timestamptz NOT NULL DEFAULT now(),
	expires_at   timestamptz,
	last_used_at timestamptz,
	revoked_at   timestamptz
);

-- Every mutating API request: who, what, when, outcome. Never request bodies.
CREATE TABLE audit_log (
	id          bigserial PRIMARY KEY,
	at          timestamptz NOT NULL DEFAULT now(),
	request_id  text NOT NULL,
	token_id    uuid,
	actor       text NOT NULL,
	role        text,
	method      text NOT NULL,
	path        text NOT NULL,
	target      text,
	status      integer NOT NULL,
	outcome     text NOT NULL,
	remote_addr text
);
CREATE INDEX audit_log_at ON audit_log (at);
