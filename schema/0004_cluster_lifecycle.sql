-- 0004_cluster_lifecycle: clusters hcr creates and deletes in their cloud.
--
-- A cluster registered with "imported": false starts in pending_create; the
-- reconciler records a CreateCluster operation and moves it to creating in one
-- transaction before it calls the cloud, then to active when the cloud says
-- the cluster is ready. When the cloud refuses or fails the creation the
-- cluster stops in create_failed, where nothing polls it: the user reads why in
-- last_error and deletes it. DELETE on a cluster hcr created moves it to
-- deleting; the reconciler deletes it in the cloud (node pools first) and
-- removes the row once the cloud no longer knows it.
ALTER TABLE clusters DROP CONSTRAINT clusters_state_check;
ALTER TABLE clusters ADD CONSTRAINT clusters_state_check
	CHECK (state IN ('registered', 'pending_create', 'creating', 'create_failed', 'active',
	                 'updating', 'deleting', 'failed'));
