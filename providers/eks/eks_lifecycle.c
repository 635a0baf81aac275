/*
 * Whole clusters: create, destroy (and following a deletion to its end), list
 * the clusters of a region, and credentials for a cluster's Kubernetes API.
 *
 * EKS deletes a cluster only once it has no node groups left, and deleting a
 * node group takes minutes. So destroy deletes every node group and answers
 * with a "delete:" handle at once; each poll of that handle looks again, and
 * sends DeleteCluster as soon as the last node group is gone. DeleteCluster
 * is safe to repeat: a cluster already deleting answers 409, which is just
 * "still running".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eks_int.h"
#include "hcr/crypto.h"
#include "hcr/mem.h"

#define TOKEN_LIFETIME_S ((json_int_t)14 * 60) /* awscli's get-token: TOKEN_EXPIRATION_MINS = 14 */

static bool not_found(const eks_reply *r)
{
	return r->status == HCR_ENOTFOUND && strcmp(r->code, "ResourceNotFoundException") == 0;
}

static void handle_result(eks_job *j, hcr_eks_handle_kind kind)
{
	char *handle = hcr_eks_handle_format(kind, j->name, NULL);

	hcr_eks_result(j, json_pack("{s:s}", "handle", handle));
	free(handle);
}

/* ---- create ------------------------------------------------------------------------------- */

static void cluster_created(eks_job *j, eks_reply *r, intptr_t tag)
{
	(void)tag;
	if (r->status != HCR_OK) {
		hcr_eks_fail_reply(j, r);
		return;
	}
	if (!json_is_object(json_object_get(r->body, "cluster"))) {
		hcr_eks_unexpected(j, "CreateCluster", NULL, "\"cluster\" is missing");
		return;
	}
	handle_result(j, HCR_EKS_H_CREATE);
}

int hcr_eks_create(hcr_provider *p, const hcr_cluster_ref *c, json_t *config, const char *token,
		   hcr_provider_cb cb, void *payload)
{
	eks_request rq = {"CreateCluster", NULL, "POST", "/clusters", NULL, 0, NULL};
	json_t *body = NULL;
	hcr_error err;
	eks_job *j;
	int rc = hcr_eks_job_new(&j, p, c, "create", true, cb, payload, &err);

	if (rc != HCR_OK)
		return hcr_eks_not_started(rc, &err, "create");
	rc = hcr_eks_body_create_cluster(&body, j->name, config, token, &err);
	if (rc != HCR_OK) {
		hcr_eks_job_free(j);
		return hcr_eks_not_started(rc, &err, "create");
	}
	rq.body = body;
	hcr_eks_request(j, &rq, cluster_created, 0);
	json_decref(body);
	rc = hcr_eks_job_start(j, &err);
	return rc == HCR_EAGAIN ? rc : hcr_eks_not_started(rc, &err, "create");
}

/* ---- destroy, and polling a deletion ------------------------------------------------------ */

/* What a deletion still running answers: a handle (destroy) or a state (poll). */
static void still_running(eks_job *j)
{
	if (j->flag)
		hcr_eks_result(j, json_pack("{s:s}", "state", "running"));
	else
		handle_result(j, HCR_EKS_H_DELETE);
}

static void gone(eks_job *j)
{
	if (j->flag)
		hcr_eks_result(j, json_pack("{s:s}", "state", "succeeded"));
	else
		hcr_eks_result(j, json_pack("{s:b}", "done", 1));
}

static void cluster_deleted(eks_job *j, eks_reply *r, intptr_t tag)
{
	(void)tag;
	if (not_found(r))
		gone(j);
	else if (r->status == HCR_OK || r->status == HCR_ECONFLICT)
		still_running(j);
	else
		hcr_eks_fail_reply(j, r);
}

/* Once every node group was looked at: DeleteCluster when none is left. */
static void delete_cluster(eks_job *j)
{
	char *path;
	eks_request rq = {"DeleteCluster", NULL, "DELETE", NULL, NULL, 0, NULL};

	if (j->count > 0) {
		still_running(j);
		return;
	}
	rq.path = path = hcr_eks_cluster_path(j, NULL);
	hcr_eks_request(j, &rq, cluster_deleted, 0);
	free(path);
}

static void nodegroup_deleted(eks_job *j, eks_reply *r, intptr_t tag)
{
	(void)tag;
	/* Gone already, or busy (being deleted or updated): the next poll looks again. */
	if (r->status != HCR_OK && !not_found(r) && r->status != HCR_ECONFLICT)
		hcr_eks_fail_reply(j, r);
}

static void nodegroup_described(eks_job *j, eks_reply *r, intptr_t tag)
{
	json_t *ng = json_object_get(r->body, "nodegroup");
	const char *name = json_string_value(json_array_get(j->names, (size_t)tag));
	const char *status = json_string_value(json_object_get(ng, "status"));
	char *seg, *path, *target;
	eks_request rq = {"DeleteNodegroup", NULL, "DELETE", NULL, NULL, 0, NULL};

	if (not_found(r))
		return;
	if (r->status != HCR_OK) {
		hcr_eks_fail_reply(j, r);
		return;
	}
	if (!status || !name) {
		hcr_eks_unexpected(j, "DescribeNodegroup", NULL, "the node group has no status");
		return;
	}
	j->count++;
	if (strcmp(status, "DELETING") == 0)
		return;
	if (strcmp(status, "DELETE_FAILED") == 0 && j->flag) {
		json_t *issue =
			json_array_get(json_object_get(json_object_get(ng, "health"), "issues"), 0);
		const char *msg = json_string_value(json_object_get(issue, "message"));

		hcr_eks_result(j, json_pack("{s:s, s:{s:s, s:s}}", "state", "failed", "error",
					    "code", "NodegroupDeleteFailed", "message",
					    msg ? msg : "EKS could not delete a node group"));
		j->next = NULL;
		return;
	}
	seg = hcr_eks_seg(name);
	rq.path = path = hcr_sprintf("/clusters/%s/node-groups/%s", j->enc, seg);
	rq.target = target = hcr_sprintf("%s/%s", j->name, name);
	hcr_eks_request(j, &rq, nodegroup_deleted, 0);
	free(seg);
	free(path);
	free(target);
}

static void nodegroup_listed(eks_job *j, const char *name)
{
	if (!hcr_eks_valid_name(name)) {
		hcr_eks_unexpected(j, "ListNodegroups", NULL, "a node group name is not valid");
		return;
	}
	json_array_append_new(j->names, json_string(name));
	hcr_eks_describe_nodegroup(j, name, nodegroup_described,
				   (intptr_t)json_array_size(j->names) - 1);
}

static void delete_described(eks_job *j, eks_reply *r, intptr_t tag)
{
	const char *status;

	(void)tag;
	if (not_found(r)) {
		gone(j);
		return;
	}
	if (!hcr_eks_take_cluster(j, r))
		return;
	status = json_string_value(json_object_get(j->cluster, "status"));
	if (status && strcmp(status, "DELETING") == 0) {
		still_running(j);
		return;
	}
	json_decref(j->names);
	j->names = json_array();
	j->count = 0;
	hcr_eks_list(j, 0, "ListNodegroups", hcr_eks_cluster_path(j, "/node-groups"), "nodegroups",
		     nodegroup_listed);
	j->next = delete_cluster;
}

void hcr_eks_delete_step(eks_job *j)
{
	hcr_eks_describe_cluster(j, delete_described);
}

int hcr_eks_destroy(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb, void *payload)
{
	hcr_error err;
	eks_job *j;
	int rc = hcr_eks_job_new(&j, p, c, "destroy", true, cb, payload, &err);

	if (rc != HCR_OK)
		return hcr_eks_not_started(rc, &err, "destroy");
	hcr_eks_delete_step(j);
	rc = hcr_eks_job_start(j, &err);
	return rc == HCR_EAGAIN ? rc : hcr_eks_not_started(rc, &err, "destroy");
}

/* ---- list --------------------------------------------------------------------------------- */

static void listed_cluster(eks_job *j, eks_reply *r, intptr_t tag)
{
	json_t *cluster = json_object_get(r->body, "cluster"), *item;
	const char *name = json_string_value(json_array_get(j->names, (size_t)tag));
	const char *status = json_string_value(json_object_get(cluster, "status"));
	const char *version = json_string_value(json_object_get(cluster, "version"));

	if (not_found(r))
		return; /* deleted since the list */
	if (r->status != HCR_OK) {
		hcr_eks_fail_reply(j, r);
		return;
	}
	if (!json_is_object(cluster)) {
		hcr_eks_unexpected(j, "DescribeCluster", name, "\"cluster\" is missing");
		return;
	}
	item = json_pack("{s:s, s:s}", "cloudName", name, "region", j->region);
	if (status)
		json_object_set_new(item, "status", json_string(status));
	if (version)
		json_object_set_new(item, "version", json_string(version));
	json_array_append_new(j->extra, item);
}

static void cluster_listed(eks_job *j, const char *name)
{
	char *seg, *path;
	eks_request rq = {"DescribeCluster", name, "GET", NULL, NULL, 0, NULL};

	if (!hcr_eks_valid_name(name)) {
		hcr_eks_unexpected(j, "ListClusters", "", "a cluster name is not valid");
		return;
	}
	json_array_append_new(j->names, json_string(name));
	seg = hcr_eks_seg(name);
	rq.path = path = hcr_sprintf("/clusters/%s", seg);
	hcr_eks_request(j, &rq, listed_cluster, (intptr_t)json_array_size(j->names) - 1);
	free(seg);
	free(path);
}

static int by_name(const void *a, const void *b)
{
	json_t *const *x = a, *const *y = b;

	return strcmp(json_string_value(json_object_get(*x, "cloudName")),
		      json_string_value(json_object_get(*y, "cloudName")));
}

static void list_done(eks_job *j)
{
	size_t i, n = json_array_size(j->extra);
	json_t **items = hcr_calloc(n + 1, sizeof(json_t *)), *out = json_array();

	for (i = 0; i < n; i++)
		items[i] = json_array_get(j->extra, i);
	qsort(items, n, sizeof(json_t *), by_name);
	for (i = 0; i < n; i++)
		json_array_append(out, items[i]);
	free(items);
	hcr_eks_result(j, json_pack("{s:o}", "clusters", out));
}

int hcr_eks_list_clusters(hcr_provider *p, const hcr_cluster_ref *scope, hcr_provider_cb cb,
			  void *payload)
{
	hcr_error err;
	eks_job *j;
	int rc = hcr_eks_job_new(&j, p, scope, "list", false, cb, payload, &err);

	if (rc != HCR_OK)
		return hcr_eks_not_started(rc, &err, "list");
	j->names = json_array();
	j->extra = json_array();
	hcr_eks_list(j, 0, "ListClusters", hcr_strdup("/clusters"), "clusters", cluster_listed);
	j->next = list_done;
	rc = hcr_eks_job_start(j, &err);
	return rc == HCR_EAGAIN ? rc : hcr_eks_not_started(rc, &err, "list");
}

/* ---- kube_credentials --------------------------------------------------------------------- */

static void kube_described(eks_job *j, eks_reply *r, intptr_t tag)
{
	const char *server, *ca, *status;
	char *sts, *token = NULL;
	time_t now = time(NULL);
	hcr_error err;
	json_t *out;
	int rc;

	(void)tag;
	if (!hcr_eks_take_cluster(j, r))
		return;
	server = json_string_value(json_object_get(j->cluster, "endpoint"));
	ca = json_string_value(
		json_object_get(json_object_get(j->cluster, "certificateAuthority"), "data"));
	status = json_string_value(json_object_get(j->cluster, "status"));
	if (!server ||
	    (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)) {
		hcr_error_set(&err, HCR_ECONFLICT, HCR_ERR_CONFLICT,
			      "cluster \"%s\" has no Kubernetes API endpoint yet", j->name);
		hcr_error_detail(&err, "status %s", status ? status : "unknown");
		hcr_eks_fail(j, HCR_ECONFLICT, &err);
		return;
	}
	sts = hcr_eks_base_url(j->ep->sts_endpoint, "sts", j->region);
	rc = hcr_sigv4_eks_token(&token, sts, j->name, &j->creds, j->region, now, &err);
	free(sts);
	if (rc != HCR_OK) {
		hcr_eks_fail(j, rc, &err);
		return;
	}
	out = json_pack("{s:s, s:s, s:I}", "server", server, "token", token, "expiresAt",
			(json_int_t)now + TOKEN_LIFETIME_S);
	if (ca && *ca)
		json_object_set_new(out, "certificateAuthorityData", json_string(ca));
	hcr_crypto_wipe(token, strlen(token));
	free(token);
	hcr_eks_result(j, out);
}

int hcr_eks_kube_credentials(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb,
			     void *payload)
{
	hcr_error err;
	eks_job *j;
	int rc = hcr_eks_job_new(&j, p, c, "kube_credentials", true, cb, payload, &err);

	if (rc != HCR_OK)
		return hcr_eks_not_started(rc, &err, "kube_credentials");
	hcr_eks_describe_cluster(j, kube_described);
	rc = hcr_eks_job_start(j, &err);
	return rc == HCR_EAGAIN ? rc : hcr_eks_not_started(rc, &err, "kube_credentials");
}
