/*
 * Cluster registrations: checking what users submit against what each cloud
 * needs to find the cluster, and the clusters table (insert, list, get,
 * forget). Documents are built as JSON by PostgreSQL itself, so a list of many
 * clusters is one query and one parse.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hcr/clusters.h"
#include "hcr/engine.h"
#include "hcr/fields_store.h"
#include "hcr/json.h"
#include "hcr/mem.h"
#include "hcr/names.h"
#include "hcr/reconcile.h"
#include "store_sql.h"

static const char *const top_keys[] = {"name",      "provider", "imported", "credential",
				       "cloudName", "region",   "location", "resourceGroup",
				       "project",   "policy",   "config",   NULL};

/* A cloud-side name: 1..max characters from `extra` plus letters and digits. */
static bool cloud_chars(const char *s, size_t max, const char *extra, bool lower)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > max || !isalnum((unsigned char)s[0]))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (lower && isupper(c))
			return false;
		if (!isalnum(c) && !strchr(extra, c))
			return false;
	}
	return true;
}

static int bad(hcr_error *err, const char *field, const char *what, const char *hint)
{
	hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "field \"%s\" %s", field, what);
	if (hint)
		hcr_error_hint(err, "%s", hint);
	return HCR_EINVALID;
}

/*
 * Without "cloudName" the hcr name is the cloud's name too, so an error about it
 * names the field the user actually sent.
 */
#define CLOUD_NAME_FIELD(c) ((c)->cloud_name == (c)->name ? "name" : "cloudName")

static int check_location(const hcr_cluster_new *c, hcr_error *err)
{
	const char *p = c->provider;

	if (strcmp(p, "eks") == 0 || strcmp(p, "fake") == 0) {
		if (c->location || c->resource_group || c->project)
			return bad(err,
				   c->location         ? "location"
				   : c->resource_group ? "resourceGroup"
						       : "project",
				   "is not used by eks", "EKS clusters are found by \"region\"");
		if (!c->region)
			return bad(err, "region", "is required for eks", "for example eu-west-1");
		if (!cloud_chars(c->region, 32, "-", true) || !strchr(c->region, '-'))
			return bad(err, "region", "is not an AWS region", "for example eu-west-1");
		if (!cloud_chars(c->cloud_name, 100, "-_", false))
			return bad(err, CLOUD_NAME_FIELD(c), "is not a valid EKS cluster name",
				   "1 to 100 letters, digits, '-' and '_', starting with a "
				   "letter or digit");
	} else if (strcmp(p, "aks") == 0) {
		if (c->region || c->project)
			return bad(err, c->region ? "region" : "project", "is not used by aks",
				   "AKS clusters are found by \"resourceGroup\" (and \"location\" "
				   "when creating)");
		if (!c->resource_group)
			return bad(err, "resourceGroup", "is required for aks", NULL);
		if (!cloud_chars(c->resource_group, 90, "-_.()", false) ||
		    c->resource_group[strlen(c->resource_group) - 1] == '.')
			return bad(err, "resourceGroup", "is not a valid Azure resource group name",
				   "1 to 90 letters, digits, '-', '_', '.', '(' and ')', not "
				   "ending with '.'");
		if (!c->imported && !c->location)
			return bad(err, "location", "is required to create an aks cluster",
				   "an Azure region such as westeurope");
		if (c->location && !cloud_chars(c->location, 64, "", true))
			return bad(err, "location", "is not an Azure region",
				   "an Azure region such as westeurope");
		if (!cloud_chars(c->cloud_name, 63, "-_", false))
			return bad(err, CLOUD_NAME_FIELD(c), "is not a valid AKS cluster name",
				   "1 to 63 letters, digits, '-' and '_'");
	} else {
		if (c->region || c->resource_group)
			return bad(err, c->region ? "region" : "resourceGroup",
				   "is not used by gke",
				   "GKE clusters are found by \"location\" (a region or zone) and "
				   "\"project\"");
		if (!c->location)
			return bad(err, "location", "is required for gke",
				   "a region such as europe-west1 or a zone such as "
				   "europe-west1-b");
		if (!cloud_chars(c->location, 64, "-", true) || !strchr(c->location, '-'))
			return bad(err, "location", "is not a GCP region or zone",
				   "a region such as europe-west1 or a zone such as "
				   "europe-west1-b");
		if (c->project && !cloud_chars(c->project, 63, "-:.", true))
			return bad(err, "project", "is not a GCP project id", NULL);
		if (!cloud_chars(c->cloud_name, 40, "-", true) ||
		    !isalpha((unsigned char)c->cloud_name[0]))
			return bad(err, CLOUD_NAME_FIELD(c), "is not a valid GKE cluster name",
				   "1 to 40 lower-case letters, digits and '-', starting with a "
				   "letter");
	}
	return HCR_OK;
}

int hcr_cluster_parse(hcr_cluster_new *out, json_t *body, hcr_error *err)
{
	json_t *imported;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = hcr_json_only_keys(body, top_keys, "", err)) ||
	    (rc = hcr_json_req_string(&out->name, body, "name", "name", err)) ||
	    (rc = hcr_name_check(out->name, "name", err)) ||
	    (rc = hcr_json_req_string(&out->provider, body, "provider", "provider", err)) ||
	    (rc = hcr_json_req_string(&out->credential, body, "credential", "credential", err)) ||
	    (rc = hcr_json_opt_string(&out->cloud_name, body, "cloudName", "cloudName", err)) ||
	    (rc = hcr_json_opt_string(&out->region, body, "region", "region", err)) ||
	    (rc = hcr_json_opt_string(&out->location, body, "location", "location", err)) ||
	    (rc = hcr_json_opt_string(&out->resource_group, body, "resourceGroup", "resourceGroup",
				      err)) ||
	    (rc = hcr_json_opt_string(&out->project, body, "project", "project", err)) ||
	    (rc = hcr_json_opt_string(&out->policy, body, "policy", "policy", err)))
		return rc;
	if (strcmp(out->provider, "eks") != 0 && strcmp(out->provider, "aks") != 0 &&
	    strcmp(out->provider, "gke") != 0 && strcmp(out->provider, "fake") != 0)
		return bad(err, "provider", "must be \"eks\", \"aks\" or \"gke\"", NULL);
	imported = json_object_get(body, "imported");
	if (!json_is_boolean(imported))
		return bad(err, "imported", "is required and must be true or false",
			   "true registers an existing cluster; false records a cluster for hcr "
			   "to create");
	out->imported = json_is_true(imported);
	if (!out->cloud_name)
		out->cloud_name = out->name;
	if (out->policy && strcmp(out->policy, "adopt") != 0 &&
	    strcmp(out->policy, "enforce") != 0 && strcmp(out->policy, "prefer_upstream") != 0)
		return bad(err, "policy", "must be \"adopt\", \"enforce\" or \"prefer_upstream\"",
			   NULL);
	if (!out->policy)
		out->policy = "adopt";
	rc = check_location(out, err);
	if (rc != HCR_OK)
		return rc;
	out->config = json_object_get(body, "config");
	if (json_is_null(out->config))
		out->config = NULL;
	if (out->imported && out->config)
		return bad(err, "config", "is not accepted when importing a cluster",
			   "registering never changes an imported cluster: register it without "
			   "\"config\"; hcr manages none of its fields until you set them");
	if (!out->imported) {
		if (!out->config)
			return bad(err, "config", "is required to create a cluster",
				   "give the desired configuration of the cluster to create");
		rc = hcr_cluster_config_check(out->provider, out->config, "config", err);
		if (rc != HCR_OK)
			return rc;
	}
	return HCR_OK;
}

/* ---- the table ------------------------------------------------------------------------ */

#define SUMMARY_JSON                                                                          \
	"jsonb_strip_nulls(jsonb_build_object('id', c.id, 'name', c.name, "                   \
	"'provider', c.provider, 'imported', c.imported, 'cloudName', c.cloud_name, "         \
	"'region', c.region, 'location', c.location, 'resourceGroup', c.resource_group, "     \
	"'project', c.project, 'credential', cr.name, 'policy', c.policy, 'state', c.state, " \
	"'busy', c.busy, 'version', c.version, 'createdBy', c.created_by, "                   \
	"'createdAt', " HCR_SQL_TS("c.created_at") ", 'updatedAt', " HCR_SQL_TS(              \
		"c.updated_at") "))"

#define FULL_JSON                                                                                \
	"(" SUMMARY_JSON " || jsonb_build_object('desired', c.desired, 'observed', c.observed, " \
	"'observedAt', " HCR_SQL_TS("c.observed_started_at") ", 'applied', c.applied, "          \
							     "'lastError', c.last_error))"

#define FROM_CLUSTERS "FROM clusters c JOIN credentials cr ON cr.id = c.credential_id "

static void conflict_message(const hcr_cluster_new *c, hcr_error *err)
{
	if (strstr(err->message, "clusters_name_key")) {
		hcr_error_set(err, HCR_ECONFLICT, HCR_ERR_CONFLICT, "cluster \"%s\" already exists",
			      c->name);
		hcr_error_hint(err, "choose another name");
	} else {
		hcr_error_set(err, HCR_ECONFLICT, HCR_ERR_CONFLICT,
			      "%s cluster \"%s\" is already registered with this credential",
			      c->provider, c->cloud_name);
		hcr_error_hint(err, "list clusters with GET /v1/clusters?provider=%s", c->provider);
	}
}

/* A created cluster manages every field it was created with. */
static int init_fields(PGconn *conn, const hcr_cluster_new *c, const char *id, const char *actor,
		       hcr_error *err)
{
	hcr_fieldset empty = {0}, fs = {0};
	json_t *events = json_array();
	struct timespec ts;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	rc = hcr_engine_init_created(&fs, c->cat, c->config,
				     (double)ts.tv_sec + (double)ts.tv_nsec / 1e9, events, err);
	if (rc == HCR_OK)
		rc = hcr_fields_save(conn, id, &empty, &fs, NULL, err);
	if (rc == HCR_OK)
		rc = hcr_events_append(conn, id, actor, events, err);
	hcr_fieldset_free(&fs);
	json_decref(events);
	return rc;
}

int hcr_clusters_insert(PGconn *conn, const hcr_cluster_new *c, const char *actor, json_t **out,
			hcr_error *err)
{
	PGresult *res = NULL;
	const char *params[14];
	char *desired = c->config ? hcr_json_dumps(c->config) : NULL;
	const char *cred_params[1] = {c->credential};
	const char *project = c->project;
	char *cred_project = NULL;
	int rc;

	*out = NULL;
	rc = hcr_store_begin(conn, err);
	if (rc != HCR_OK)
		goto done;
	rc = hcr_store_query(conn, &res,
			     "SELECT provider, metadata->>'projectId' FROM credentials "
			     "WHERE name = $1 FOR SHARE",
			     1, cred_params, err);
	if (rc != HCR_OK)
		goto done;
	if (PQntuples(res) != 1) {
		rc = bad(err, "credential", "names a credential that does not exist",
			 "create it first with POST /v1/credentials, or list them with GET "
			 "/v1/credentials");
		goto done;
	}
	if (strcmp(PQgetvalue(res, 0, 0), c->provider) != 0) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "field \"credential\": credential \"%s\" is for %s, not %s",
				   c->credential, PQgetvalue(res, 0, 0), c->provider);
		goto done;
	}
	cred_project = hcr_store_strdup(res, 0, 1);
	PQclear(res);
	res = NULL;
	if (strcmp(c->provider, "gke") == 0 && !project) {
		if (!cred_project) {
			rc = bad(err, "project", "is required: the credential names no project",
				 "set \"project\" to the GCP project id");
			goto done;
		}
		project = cred_project;
	}

	params[0] = c->name;
	params[1] = c->provider;
	params[2] = c->imported ? "true" : "false";
	params[3] = c->cloud_name;
	params[4] = c->region;
	params[5] = c->location;
	params[6] = c->resource_group;
	params[7] = project;
	params[8] = c->credential;
	params[9] = c->policy;
	params[10] = c->imported ? "registered" : "pending_create";
	params[11] = desired ? desired : "{}";
	params[12] = actor;
	params[13] = c->imported ? "registered" : "desired_set";
	rc = hcr_store_query(
		conn, &res,
		"WITH ins AS (INSERT INTO clusters (name, provider, imported, cloud_name, region, "
		"location, resource_group, project, credential_id, policy, state, desired, "
		"created_by) SELECT $1, $2, $3::boolean, $4, $5, $6, $7, $8, cr.id, $10, $11, "
		"$12::jsonb, $13 FROM credentials cr WHERE cr.name = $9 RETURNING *), "
		"e AS (INSERT INTO cluster_events (cluster_id, actor, kind, new_value, message) "
		"SELECT ins.id, $13, $14, CASE WHEN $14 = 'desired_set' THEN ins.desired END, "
		"CASE WHEN $14 = 'registered' THEN 'imported cluster registered; nothing is "
		"managed and nothing was written to the cloud' ELSE 'cluster recorded for "
		"creation' END FROM ins) "
		"SELECT " FULL_JSON
		", c.version FROM ins c JOIN credentials cr ON cr.id = c.credential_id",
		14, params, err);
	if (rc == HCR_ECONFLICT)
		conflict_message(c, err);
	if (rc != HCR_OK)
		goto done;
	*out = hcr_store_json_cell(res, 0, 0);
	if (!c->imported && c->cat) {
		rc = init_fields(conn, c, json_string_value(json_object_get(*out, "id")), actor,
				 err);
		if (rc != HCR_OK) {
			json_decref(*out);
			*out = NULL;
			goto done;
		}
	}
	rc = hcr_store_commit(conn, err);
	if (rc != HCR_OK) {
		json_decref(*out);
		*out = NULL;
	}
done:
	if (rc != HCR_OK)
		hcr_store_rollback(conn);
	PQclear(res);
	free(desired);
	free(cred_project);
	return rc;
}

int hcr_clusters_list(PGconn *conn, const hcr_cluster_filter *f, json_t **out, hcr_error *err)
{
	PGresult *res = NULL;
	char limit[16];
	const char *params[4];
	int rc, n;
	json_t *items;

	*out = NULL;
	/* One extra row tells whether there is a next page. */
	snprintf(limit, sizeof(limit), "%d", f->limit + 1);
	params[0] = f->provider;
	params[1] = f->name_prefix;
	params[2] = f->after;
	params[3] = limit;
	rc = hcr_store_query(conn, &res,
			     "SELECT " SUMMARY_JSON ", c.name " FROM_CLUSTERS
			     "WHERE ($1::text IS NULL OR c.provider = $1) "
			     "AND ($2::text IS NULL OR starts_with(c.name, $2)) "
			     "AND ($3::text IS NULL OR c.name > $3) "
			     "ORDER BY c.name LIMIT $4::int",
			     4, params, err);
	if (rc != HCR_OK)
		return rc;
	n = PQntuples(res);
	items = hcr_store_json_rows(res, 0, f->limit);
	*out = json_pack("{s:o, s:o}", "items", items, "nextCursor",
			 n > f->limit ? json_string(PQgetvalue(res, f->limit - 1, 1))
				      : json_null());
	PQclear(res);
	return HCR_OK;
}

static int cluster_not_found(hcr_error *err, const char *id_or_name)
{
	hcr_error_set(err, HCR_ENOTFOUND, HCR_ERR_NOT_FOUND, "cluster \"%s\" does not exist",
		      id_or_name);
	hcr_error_hint(err, "list clusters with GET /v1/clusters");
	return HCR_ENOTFOUND;
}

int hcr_clusters_get(PGconn *conn, const char *id_or_name, json_t **out, long long *version,
		     hcr_error *err)
{
	PGresult *res = NULL;
	const char *params[1] = {id_or_name};
	int rc;

	*out = NULL;
	rc = hcr_store_query(
		conn, &res,
		hcr_uuid_valid(id_or_name)
			? "SELECT " FULL_JSON ", c.version " FROM_CLUSTERS "WHERE c.id = $1::uuid"
			: "SELECT " FULL_JSON ", c.version " FROM_CLUSTERS "WHERE c.name = $1",
		1, params, err);
	if (rc != HCR_OK)
		return rc;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return cluster_not_found(err, id_or_name);
	}
	*out = hcr_store_json_cell(res, 0, 0);
	if (version)
		*version = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	return HCR_OK;
}

int hcr_clusters_wake(PGconn *conn, const char *id, hcr_error *err)
{
	const char *params[1] = {id};
	int rc;

	rc = hcr_store_query(conn, NULL,
			     "UPDATE cluster_schedule SET wake = true, next_poll_at = now() "
			     "WHERE cluster_id = $1::uuid",
			     1, params, err);
	/*
	 * Not settled any more: a poll under way when this edit arrives loses its
	 * save to the new version and releases the cluster with wake cleared, so the
	 * next poll must not take the "nothing changed" shortcut.
	 */
	if (rc == HCR_OK)
		rc = hcr_store_query(conn, NULL,
				     "UPDATE clusters SET settled = false WHERE id = $1::uuid", 1,
				     params, err);
	if (rc == HCR_OK)
		rc = hcr_store_query(conn, NULL, "SELECT pg_notify('" HCR_NOTIFY_CHANNEL "', $1)",
				     1, params, err);
	return rc;
}

int hcr_clusters_delete(PGconn *conn, const char *id_or_name, long long if_match, bool retain,
			char *name_out, size_t name_size, bool *deleting, hcr_error *err)
{
	PGresult *res = NULL;
	const char *params[1] = {id_or_name};
	long long version;
	bool imported;
	const char *state;
	int rc;

	rc = hcr_store_begin(conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_store_query(conn, &res,
			     hcr_uuid_valid(id_or_name)
				     ? "SELECT id, name, version, imported, state FROM clusters "
				       "WHERE id = $1::uuid FOR UPDATE"
				     : "SELECT id, name, version, imported, state FROM clusters "
				       "WHERE name = $1 FOR UPDATE",
			     1, params, err);
	if (rc != HCR_OK)
		goto done;
	if (PQntuples(res) != 1) {
		rc = cluster_not_found(err, id_or_name);
		goto done;
	}
	snprintf(name_out, name_size, "%s", PQgetvalue(res, 0, 1));
	version = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	imported = PQgetvalue(res, 0, 3)[0] == 't';
	state = PQgetvalue(res, 0, 4);
	if (if_match > 0 && if_match != version) {
		rc = hcr_error_set(
			err, HCR_ECONFLICT, HCR_ERR_PRECONDITION,
			"cluster \"%s\" has changed: version %lld, If-Match asked for %lld",
			name_out, version, if_match);
		hcr_error_hint(err, "GET the cluster again and retry with its current ETag");
		goto done;
	}
	*deleting = false;
	if (!imported && strcmp(state, "pending_create") != 0 && !retain) {
		/*
		 * hcr created it: it is deleted in its cloud by the reconciler, which
		 * removes the row when the cloud no longer knows the cluster.
		 */
		const char *id[1] = {PQgetvalue(res, 0, 0)};
		PGresult *upd = NULL;

		*deleting = true;
		rc = hcr_store_query(
			conn, &upd,
			"UPDATE clusters SET state = 'deleting', updated_at = now(), "
			"version = version + 1 WHERE id = $1::uuid AND state <> 'deleting'",
			1, id, err);
		PQclear(upd);
		if (rc == HCR_OK)
			rc = hcr_clusters_wake(conn, id[0], err);
	} else {
		const char *id[1] = {PQgetvalue(res, 0, 0)};
		PGresult *del = NULL;

		rc = hcr_store_query(conn, &del, "DELETE FROM clusters WHERE id = $1::uuid", 1, id,
				     err);
		PQclear(del);
	}
	if (rc == HCR_OK)
		rc = hcr_store_commit(conn, err);
done:
	if (rc != HCR_OK)
		hcr_store_rollback(conn);
	PQclear(res);
	return rc;
}
