/*
 * Clusters: validation of registrations and the clusters table.
 *
 * POST /v1/clusters takes
 *   {"name", "provider", "imported", "credential", "cloudName"?, "policy"?,
 *    "region" (eks) | "resourceGroup" + "location" (aks) | "location" + "project"? (gke),
 *    "config"? (only when imported is false: the desired configuration, in the
 *               provider's Rancher-compatible field names)}
 *
 * An imported cluster starts with nothing managed and registering it writes
 * nothing to the cloud, so "config" is refused on import. A cluster to create
 * starts with every field of its config managed.
 */
#ifndef HCR_CLUSTERS_H
#define HCR_CLUSTERS_H

#include <jansson.h>
#include <stdbool.h>

#include "hcr/store.h"

typedef struct hcr_cluster_new {
	const char *name; /* borrowed from the request body */
	const char *provider;
	bool imported;
	const char *credential;
	const char *cloud_name;
	const char *region;
	const char *location;
	const char *resource_group;
	const char *project;
	const char *policy;
	json_t *config; /* borrowed; NULL when imported */
	/* The provider's field catalog, or NULL when the provider is not built in. */
	const struct hcr_catalog *cat;
} hcr_cluster_new;

/*
 * Validates a registration; fields of *out borrow from `body`, which must
 * outlive it. Errors name the field (HCR_EINVALID).
 */
int hcr_cluster_parse(hcr_cluster_new *out, json_t *body, hcr_error *err);

/*
 * Checks a desired configuration document for `provider`: an object whose keys
 * are the provider's fields with the right JSON types, node pools keyed by a
 * unique name. `path` prefixes field names in errors ("config").
 */
int hcr_cluster_config_check(const char *provider, json_t *config, const char *path,
			     hcr_error *err);

/*
 * Inserts the cluster and its first event in one transaction. A cluster to
 * create, with a catalog, also gets its per-field state: every field of its
 * config managed. Fails with
 * HCR_EINVALID when the credential does not exist or is for another provider,
 * HCR_ECONFLICT when the name is taken or the cloud cluster is already
 * registered. *out: the new cluster as JSON (new reference).
 */
int hcr_clusters_insert(PGconn *conn, const hcr_cluster_new *c, const char *actor, json_t **out,
			hcr_error *err);

typedef struct hcr_cluster_filter {
	const char *provider;    /* NULL: all */
	const char *name_prefix; /* NULL: all */
	const char *after;       /* cursor: names strictly after this one */
	int limit;               /* 1..500 */
} hcr_cluster_filter;

/*
 * One page of clusters by name, as summaries (no documents). *out: new object
 * {"items": [...], "nextCursor": "<name>" or null}.
 */
int hcr_clusters_list(PGconn *conn, const hcr_cluster_filter *f, json_t **out, hcr_error *err);

/*
 * One cluster by id (a UUID) or name, with its desired, observed and applied
 * documents. *out: new object; *version: its version (the ETag).
 */
int hcr_clusters_get(PGconn *conn, const char *id_or_name, json_t **out, long long *version,
		     hcr_error *err);

/*
 * Deletes a cluster. `if_match` (-1: none, 0: any) must equal its version
 * (HCR_ECONFLICT / "precondition_failed" otherwise). An imported cluster, a
 * created one not yet sent to its cloud, or any cluster with `retain` is
 * forgotten at once (a cluster hcr created keeps running). A cluster hcr
 * created in its cloud moves to state "deleting" and *deleting is set: the
 * reconciler deletes it in the cloud and then forgets it (asking again is
 * harmless). `name_out` (of `name_size`) receives its name for the audit log.
 */
int hcr_clusters_delete(PGconn *conn, const char *id_or_name, long long if_match, bool retain,
			char *name_out, size_t name_size, bool *deleting, hcr_error *err);

/*
 * Inside the caller's transaction: schedules the cluster's next poll now and
 * wakes the reconcilers (NOTIFY), so a change is acted on within a second.
 */
int hcr_clusters_wake(PGconn *conn, const char *id, hcr_error *err);

#endif
