/*
 * The AKS operations: observe (one GET of the managed cluster), apply (GET,
 * change, write with If-Match, tracked to its end) and poll_operation. The
 * bodies are built in aks_bodies.c, the document in aks_document.c; here are
 * the calls and their order.
 *
 * A write answered 412 (the cluster or pool changed between our GET and our
 * PUT, typically in the portal) is read again and retried once with the new
 * eTag; a second 412 fails the call as busy (HCR_ECONFLICT) and the
 * reconciler sends it again later.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aks_int.h"
#include "hcr/log.h"
#include "hcr/mem.h"

#define AKS_412_RETRIES 1

/* ---- observe --------------------------------------------------------------------------- */

static void observed(aks_job *j, aks_reply *r)
{
	json_t *doc;
	hcr_error err;

	if (r->status == HCR_ENOTFOUND && (strcasecmp(r->code, "ResourceNotFound") == 0 ||
					   strcasecmp(r->code, "ResourceGroupNotFound") == 0 ||
					   strcasecmp(r->code, "NotFound") == 0)) {
		hcr_aks_result(j, json_pack("{s:b, s:b}", "exists", 0, "busy", 0));
		return;
	}
	if (r->status != HCR_OK) {
		hcr_aks_fail_reply(j, r);
		return;
	}
	if (!r->body) {
		hcr_aks_unexpected(j, "an empty managed cluster");
		return;
	}
	if (hcr_aks_normalise(&doc, r->body, &err) != HCR_OK) {
		hcr_aks_fail(j, HCR_EUPSTREAM, &err);
		return;
	}
	hcr_aks_result(j, json_pack("{s:b, s:b, s:o}", "exists", 1, "busy", hcr_aks_busy(r->body),
				    "document", doc));
}

static void observe_step(aks_job *j)
{
	char *path = hcr_aks_path(j, NULL);

	hcr_aks_send(j, "GetManagedCluster", "GET", path, NULL, NULL, NULL, observed);
	free(path);
}

int hcr_aks_observe(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb, void *payload)
{
	aks_job *j;
	hcr_error err;
	int rc = hcr_aks_job_new(&j, p, c, "observe", true, cb, payload, &err);

	if (rc != HCR_OK)
		return rc;
	return hcr_aks_job_start(j, observe_step, &err);
}

/* ---- tracking writes ------------------------------------------------------------------- */

void hcr_aks_track(aks_job *j, aks_reply *r, bool deleting)
{
	json_t *props = json_object_get(r->body, "properties");
	const char *state = json_string_value(json_object_get(props, "provisioningState"));
	char *h;

	if (r->status == HCR_ENOTFOUND && deleting) {
		hcr_aks_result(j, json_pack("{s:b}", "done", 1));
		return;
	}
	if (r->status != HCR_OK) {
		hcr_aks_fail_reply(j, r);
		return;
	}
	if (!r->async && !r->location &&
	    ((state && strcasecmp(state, "Succeeded") == 0) || r->http == 204)) {
		hcr_aks_result(j, json_pack("{s:b}", "done", 1));
		return;
	}
	h = hcr_aks_handle_make(j->ap->endpoint, r->async, r->location, j->pool, deleting);
	hcr_log_debug("aks", "operation started cluster=%s op=%s handle=%.80s", j->name,
		      j->opname ? j->opname : "-", h);
	hcr_aks_result(j, json_pack("{s:s}", "handle", h));
	free(h);
}

static void tracked(aks_job *j, aks_reply *r)
{
	hcr_aks_track(j, r, false);
}

static void tracked_delete(aks_job *j, aks_reply *r)
{
	hcr_aks_track(j, r, true);
}

/* ---- apply: the cluster ---------------------------------------------------------------- */

static void cluster_got(aks_job *j, aks_reply *r);
static void pool_got(aks_job *j, aks_reply *r);

static void get_cluster(aks_job *j)
{
	char *path = hcr_aks_path(j, NULL);

	hcr_aks_send(j, "GetManagedCluster", "GET", path, NULL, NULL, NULL, cluster_got);
	free(path);
}

static void get_pool(aks_job *j)
{
	char *suffix = hcr_sprintf("/agentPools/%s", j->pool), *path = hcr_aks_path(j, suffix);

	hcr_aks_send(j, "GetAgentPool", "GET", path, NULL, NULL, NULL, pool_got);
	free(suffix);
	free(path);
}

/* 412: read again and write once more; else the write's reply is tracked. */
static void written(aks_job *j, aks_reply *r)
{
	if (r->http == 412 && j->retries < AKS_412_RETRIES) {
		j->retries++;
		hcr_log_info("aks", "stale eTag, reading again cluster=%s op=%s", j->name,
			     j->opname);
		if (j->pool && strcmp(j->opname, "UpdateAgentPool") == 0)
			get_pool(j);
		else
			get_cluster(j);
		return;
	}
	hcr_aks_track(j, r, false);
}

static const char *etag_of(aks_reply *r)
{
	const char *e = json_string_value(json_object_get(r->body, "eTag"));

	return r->etag && *r->etag ? r->etag : e;
}

static void refuse(aks_job *j, const char *path, const char *message)
{
	hcr_error err;

	hcr_error_set(&err, HCR_EINVALID, HCR_ERR_INVALID, "%s %s", path, message);
	hcr_error_detail(&err, "InvalidChange: %s %s", path, message);
	hcr_aks_fail(j, HCR_EINVALID, &err);
}

static void cluster_got(aks_job *j, aks_reply *r)
{
	json_t *body = NULL;
	hcr_error err;
	int rc;
	char *path;

	if (r->status != HCR_OK) {
		hcr_aks_fail_reply(j, r);
		return;
	}
	if (!json_is_object(r->body)) {
		hcr_aks_unexpected(j, "an empty managed cluster");
		return;
	}
	path = hcr_aks_path(j, NULL);
	if (strcmp(j->opname, "UpdateTags") == 0) {
		if (hcr_aks_body_tags(&body, json_object_get(r->body, "tags"), j->changes, &err)) {
			hcr_aks_fail(j, HCR_EINVALID, &err);
		} else {
			hcr_aks_send(j, "PatchManagedClusterTags", "PATCH", path, body, NULL, NULL,
				     tracked);
		}
	} else if (strcmp(j->opname, "DeleteAgentPool") == 0) {
		char where[160];

		snprintf(where, sizeof(where), "nodePools[%s]", j->pool);
		if (hcr_aks_last_system_pool(r->body, j->pool)) {
			refuse(j, where, "is the cluster's last System pool: AKS needs one");
		} else {
			char *suffix = hcr_sprintf("/agentPools/%s", j->pool);

			free(path);
			path = hcr_aks_path(j, suffix);
			free(suffix);
			hcr_aks_send(j, "DeleteAgentPool", "DELETE", path, NULL, NULL, NULL,
				     tracked_delete);
		}
	} else if ((rc = hcr_aks_body_cluster_put(&body, r->body, j->changes, &err)) != HCR_OK) {
		hcr_aks_fail(j, rc, &err);
	} else {
		hcr_aks_send(j, "PutManagedCluster", "PUT", path, body, etag_of(r), NULL, written);
	}
	json_decref(body);
	free(path);
}

/* ---- apply: pools ---------------------------------------------------------------------- */

static void pool_got(aks_job *j, aks_reply *r)
{
	json_t *body = NULL;
	hcr_error err;
	int rc;
	char *suffix, *path;

	if (r->status != HCR_OK) {
		hcr_aks_fail_reply(j, r);
		return;
	}
	if ((rc = hcr_aks_body_pool_put(&body, r->body, j->pool, j->changes, &err)) != HCR_OK) {
		hcr_aks_fail(j, rc, &err);
		return;
	}
	suffix = hcr_sprintf("/agentPools/%s", j->pool);
	path = hcr_aks_path(j, suffix);
	hcr_aks_send(j, "PutAgentPool", "PUT", path, body, etag_of(r), NULL, written);
	json_decref(body);
	free(suffix);
	free(path);
}

/* A create answered 412: the pool exists (an earlier attempt reached ARM); follow it. */
static void created(aks_job *j, aks_reply *r)
{
	if (r->http == 412) {
		char *h = hcr_sprintf("res:%s", j->pool);

		hcr_aks_result(j, json_pack("{s:s}", "handle", h));
		free(h);
		return;
	}
	hcr_aks_track(j, r, false);
}

static void create_pool(aks_job *j)
{
	char *key = hcr_sprintf("nodePools[%s]", j->pool), *suffix, *path;
	json_t *body = NULL;
	hcr_error err;

	if (hcr_aks_body_pool_create(&body, j->pool, json_object_get(j->changes, key), &err)) {
		hcr_aks_fail(j, HCR_EINVALID, &err);
		free(key);
		return;
	}
	suffix = hcr_sprintf("/agentPools/%s", j->pool);
	path = hcr_aks_path(j, suffix);
	hcr_aks_send(j, "PutAgentPool", "PUT", path, body, NULL, "*", created);
	json_decref(body);
	free(key);
	free(suffix);
	free(path);
}

int hcr_aks_apply(hcr_provider *p, const hcr_cluster_ref *c, const hcr_planned_op *op,
		  const char *token, hcr_provider_cb cb, void *payload)
{
	static const char *const cluster_ops[] = {"UpdateCluster", "UpdateTags", NULL};
	static const char *const pool_ops[] = {"UpdateAgentPool", "CreateAgentPool",
					       "DeleteAgentPool", NULL};
	aks_step_fn step = NULL;
	aks_job *j;
	hcr_error err;
	int rc;
	size_t i;

	if (!op || !op->operation || !json_is_object(op->changes))
		return HCR_EINVALID;
	for (i = 0; cluster_ops[i]; i++)
		if (strcmp(op->operation, cluster_ops[i]) == 0)
			step = get_cluster;
	for (i = 0; pool_ops[i]; i++)
		if (strcmp(op->operation, pool_ops[i]) == 0) {
			if (!hcr_aks_valid_pool_name(op->pool)) {
				hcr_log_warn("aks", "not an agent pool name op=%s", op->operation);
				return HCR_EINVALID;
			}
			step = i == 0 ? get_pool : i == 1 ? create_pool : get_cluster;
		}
	if (!step) {
		hcr_log_warn("aks", "unknown operation op=%s", op->operation);
		return HCR_EINVALID;
	}
	if ((rc = hcr_aks_job_new(&j, p, c, "apply", true, cb, payload, &err)) != HCR_OK) {
		hcr_log_warn("aks", "apply not started: %s", err.message);
		return rc;
	}
	j->changes = json_incref(op->changes);
	j->opname = hcr_strdup(op->operation);
	j->pool = op->pool && step != get_cluster ? hcr_strdup(op->pool)
		  : op->pool                      ? hcr_strdup(op->pool)
						  : NULL;
	j->token = token ? hcr_strdup(token) : NULL;
	return hcr_aks_job_start(j, step, &err);
}

/* ---- poll_operation -------------------------------------------------------------------- */

static void status_read(aks_job *j, aks_reply *r)
{
	json_t *out = NULL;
	hcr_error err;

	if (r->status != HCR_OK) {
		hcr_aks_fail_reply(j, r);
		return;
	}
	if (hcr_aks_poll_status(&out, r->body, &err) != HCR_OK) {
		hcr_aks_unexpected(j, "%s", err.message);
		return;
	}
	hcr_aks_result(j, out);
}

static void location_read(aks_job *j, aks_reply *r)
{
	if (r->status == HCR_OK) {
		hcr_aks_result(
			j, json_pack("{s:s}", "state", r->http == 202 ? "running" : "succeeded"));
	} else if (r->status == HCR_EUPSTREAM && r->code[0] == '\0') {
		hcr_aks_fail_reply(j, r);
	} else {
		const char *colon = strchr(r->err.detail, ':');

		hcr_aks_result(j, json_pack("{s:s, s:{s:s, s:s}}", "state", "failed", "error",
					    "code", r->code[0] ? r->code : "Failed", "message",
					    colon ? colon + 2 : r->err.detail));
	}
}

static void resource_read(aks_job *j, aks_reply *r)
{
	json_t *out = NULL;
	hcr_error err;
	bool deleting = j->retries == 1;

	if (r->status == HCR_ENOTFOUND) {
		hcr_aks_poll_resource(&out, NULL, deleting, &err);
		hcr_aks_result(j, out);
		return;
	}
	if (r->status != HCR_OK) {
		hcr_aks_fail_reply(j, r);
		return;
	}
	if (hcr_aks_poll_resource(&out, r->body, deleting, &err) != HCR_OK) {
		hcr_aks_unexpected(j, "%s", err.message);
		return;
	}
	hcr_aks_result(j, out);
}

static void poll_step(aks_job *j)
{
	char *path;

	if (strncmp(j->opname, "aop:", 4) == 0) {
		hcr_aks_send(j, "GetOperationStatus", "GET", j->opname + 4, NULL, NULL, NULL,
			     status_read);
	} else if (strncmp(j->opname, "loc:", 4) == 0) {
		hcr_aks_send(j, "GetOperationResult", "GET", j->opname + 4, NULL, NULL, NULL,
			     location_read);
	} else {
		char *suffix = j->pool ? hcr_sprintf("/agentPools/%s", j->pool) : NULL;

		path = hcr_aks_path(j, suffix);
		hcr_aks_send(j, j->pool ? "GetAgentPool" : "GetManagedCluster", "GET", path, NULL,
			     NULL, NULL, resource_read);
		free(suffix);
		free(path);
	}
}

int hcr_aks_poll_operation(hcr_provider *p, const hcr_cluster_ref *c, const char *handle,
			   hcr_provider_cb cb, void *payload)
{
	hcr_aks_handle h;
	aks_job *j;
	hcr_error err;
	int rc;

	if ((rc = hcr_aks_handle_parse(&h, handle, &err)) != HCR_OK) {
		hcr_log_warn("aks", "poll not started: %s", err.message);
		return rc;
	}
	if ((rc = hcr_aks_job_new(&j, p, c, "poll", true, cb, payload, &err)) != HCR_OK) {
		hcr_log_warn("aks", "poll not started: %s", err.message);
		return rc;
	}
	j->opname = hcr_strdup(handle);
	if ((h.kind == HCR_AKS_H_RES || h.kind == HCR_AKS_H_DEL) && h.arg[0])
		j->pool = hcr_strdup(h.arg);
	j->retries = h.kind == HCR_AKS_H_DEL;
	return hcr_aks_job_start(j, poll_step, &err);
}
