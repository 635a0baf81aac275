/*
 * The GKE provider's operations: observe (one clusters.get), apply (a
 * clusters.get for the current state, then the one call the planned
 * operation needs, see gke_bodies.c), poll_operation (operations.get), list
 * and kube_credentials.
 *
 * Every mutation answers with an Operation; its name and location make the
 * handle. setResourceLabels carries the fingerprint of the labels it
 * replaces: when a label changed elsewhere between the read and the call,
 * GKE refuses it, and apply reads the cluster again and retries once.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gke_int.h"
#include "hcr/log.h"
#include "hcr/mem.h"

/* ---- observe ----------------------------------------------------------------------------- */

static void observed(gke_job *j, gke_reply *r)
{
	json_t *doc;
	hcr_error err;

	if (r->status == HCR_ENOTFOUND) {
		hcr_gke_result(j, json_pack("{s:b, s:b}", "exists", 0, "busy", 0));
		return;
	}
	if (r->status != HCR_OK) {
		hcr_gke_fail(j, r->status, &r->err);
		return;
	}
	if (hcr_gke_normalise(&doc, r->body, &err) != HCR_OK) {
		hcr_gke_fail(j, HCR_EUPSTREAM, &err);
		return;
	}
	hcr_gke_result(j, json_pack("{s:b, s:b, s:o}", "exists", 1, "busy", hcr_gke_busy(r->body),
				    "document", doc));
}

static void observe_step(gke_job *j)
{
	hcr_gke_get_cluster(j, observed);
}

int hcr_gke_observe(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb, void *payload)
{
	gke_job *j;
	hcr_error err;
	int rc = hcr_gke_job_new(&j, p, c, "observe", true, cb, payload, &err);

	if (rc == HCR_OK)
		rc = hcr_gke_job_start(j, observe_step, &err);
	if (rc != HCR_EAGAIN)
		hcr_log_warn("gke", "observe not started status=%s msg=%s", hcr_status_name(rc),
			     err.message);
	return rc;
}

/* ---- apply ------------------------------------------------------------------------------- */

void hcr_gke_operation_done(gke_job *j, gke_reply *r)
{
	const char *name = json_string_value(json_object_get(r->body, "name"));
	const char *loc = json_string_value(json_object_get(r->body, "location"));
	char *handle;

	if (r->status != HCR_OK) {
		hcr_gke_fail(j, r->status, &r->err);
		return;
	}
	if (!loc || !*loc)
		loc = json_string_value(json_object_get(r->body, "zone"));
	handle = hcr_gke_handle_format(loc && *loc ? loc : j->location, name);
	if (!handle) {
		hcr_gke_unexpected(j, "the answer is not an Operation with a valid name");
		return;
	}
	hcr_gke_result(j, json_pack("{s:s}", "handle", handle));
	free(handle);
}

static void apply_read(gke_job *j, gke_reply *r);

static void apply_sent(gke_job *j, gke_reply *r)
{
	if (r->status == HCR_EINVALID && hcr_gke_is_fingerprint_mismatch(&r->err) &&
	    j->retries++ < 1) {
		hcr_log_info("gke", "label fingerprint changed; reading again cluster=%s", j->name);
		hcr_gke_get_cluster(j, apply_read);
		return;
	}
	if (r->status == HCR_ENOTFOUND && j->operation &&
	    strcmp(j->operation, "DeleteNodePool") == 0) {
		hcr_gke_result(j, json_pack("{s:b}", "done", 1));
		return;
	}
	hcr_gke_operation_done(j, r);
}

static void apply_read(gke_job *j, gke_reply *r)
{
	hcr_gke_call call;
	hcr_error err;
	char *path;
	int rc;

	if (r->status != HCR_OK) {
		hcr_gke_fail(j, r->status, &r->err);
		return;
	}
	rc = hcr_gke_build_call(&call, j->operation, j->pool, j->changes, r->body, &err);
	if (rc != HCR_OK) {
		hcr_gke_fail(j, rc, &err);
		return;
	}
	if (call.none) {
		json_decref(call.body);
		hcr_gke_result(j, json_pack("{s:b}", "done", 1));
		return;
	}
	{
		char *seg = hcr_gke_seg(j->name);

		path = hcr_sprintf("/clusters/%s%s", seg, call.suffix);
		free(seg);
	}
	hcr_log_debug("gke", "apply operation=%s api=%s cluster=%s", j->operation, call.api,
		      j->name);
	hcr_gke_send(j, call.api, j->pool ? j->pool : NULL, call.method, path, call.body,
		     apply_sent);
	json_decref(call.body);
	free(path);
}

static void apply_step(gke_job *j)
{
	hcr_gke_get_cluster(j, apply_read);
}

int hcr_gke_apply(hcr_provider *p, const hcr_cluster_ref *c, const hcr_planned_op *op,
		  const char *token, hcr_provider_cb cb, void *payload)
{
	gke_job *j;
	hcr_error err;
	int rc;

	(void)token; /* GKE has no idempotency token; apply re-reads and skips what is done */
	if (!op || !op->operation)
		return HCR_EINVALID;
	rc = hcr_gke_job_new(&j, p, c, "apply", true, cb, payload, &err);
	if (rc != HCR_OK)
		return rc;
	j->operation = hcr_strdup(op->operation);
	j->pool = op->pool ? hcr_strdup(op->pool) : NULL;
	j->changes = json_incref(op->changes);
	rc = hcr_gke_job_start(j, apply_step, &err);
	if (rc != HCR_EAGAIN)
		hcr_log_warn("gke", "apply not started operation=%s status=%s msg=%s",
			     op->operation, hcr_status_name(rc), err.message);
	return rc;
}

/* ---- poll_operation ---------------------------------------------------------------------- */

static void polled(gke_job *j, gke_reply *r)
{
	json_t *out;
	hcr_error err;

	if (r->status != HCR_OK) {
		hcr_gke_fail(j, r->status, &r->err);
		return;
	}
	if (hcr_gke_poll_result(&out, r->body, &err) != HCR_OK) {
		hcr_gke_fail(j, HCR_EUPSTREAM, &err);
		return;
	}
	hcr_gke_result(j, out);
}

static void poll_step(gke_job *j)
{
	char *path = hcr_sprintf("/operations/%s", j->operation);

	hcr_gke_send(j, "operations.get", j->operation, "GET", path, NULL, polled);
	free(path);
}

int hcr_gke_poll_operation(hcr_provider *p, const hcr_cluster_ref *c, const char *handle,
			   hcr_provider_cb cb, void *payload)
{
	char loc[64], name[256];
	hcr_cluster_ref ref;
	gke_job *j;
	hcr_error err;
	int rc;

	if (!c || hcr_gke_handle_parse(loc, name, handle, &err) != HCR_OK)
		return HCR_EINVALID;
	ref = *c;
	ref.location = loc; /* the operation's own location */
	rc = hcr_gke_job_new(&j, p, &ref, "poll_operation", true, cb, payload, &err);
	if (rc != HCR_OK)
		return rc;
	j->operation = hcr_strdup(name);
	return hcr_gke_job_start(j, poll_step, &err);
}

/* ---- list -------------------------------------------------------------------------------- */

static void listed(gke_job *j, gke_reply *r)
{
	json_t *clusters, *cl, *out;
	size_t i;

	if (r->status != HCR_OK) {
		hcr_gke_fail(j, r->status, &r->err);
		return;
	}
	clusters = json_object_get(r->body, "clusters");
	if (clusters && !json_is_array(clusters)) {
		hcr_gke_unexpected(j, "\"clusters\" is not an array");
		return;
	}
	out = json_array();
	json_array_foreach(clusters, i, cl)
	{
		const char *name = json_string_value(json_object_get(cl, "name"));
		const char *loc = json_string_value(json_object_get(cl, "location"));
		json_t *item;

		if (!name)
			continue;
		item = json_pack("{s:s, s:s, s:s}", "cloudName", name, "location",
				 loc ? loc : j->location, "project", j->project);
		if (json_is_string(json_object_get(cl, "status")))
			json_object_set(item, "status", json_object_get(cl, "status"));
		if (json_is_string(json_object_get(cl, "currentMasterVersion")))
			json_object_set(item, "version",
					json_object_get(cl, "currentMasterVersion"));
		json_array_append_new(out, item);
	}
	hcr_gke_result(j, json_pack("{s:o}", "clusters", out));
}

static void list_step(gke_job *j)
{
	hcr_gke_send(j, "clusters.list", j->location, "GET", "/clusters", NULL, listed);
}

int hcr_gke_list_clusters(hcr_provider *p, const hcr_cluster_ref *scope, hcr_provider_cb cb,
			  void *payload)
{
	hcr_cluster_ref ref;
	gke_job *j;
	hcr_error err;
	int rc;

	if (!scope)
		return HCR_EINVALID;
	ref = *scope;
	if (!ref.location || !*ref.location)
		ref.location = "-";
	rc = hcr_gke_job_new(&j, p, &ref, "list", false, cb, payload, &err);
	if (rc != HCR_OK)
		return rc;
	return hcr_gke_job_start(j, list_step, &err);
}

/* ---- kube_credentials -------------------------------------------------------------------- */

static void credentials_read(gke_job *j, gke_reply *r)
{
	const char *endpoint, *ca;
	json_t *out;

	if (r->status != HCR_OK) {
		hcr_gke_fail(j, r->status, &r->err);
		return;
	}
	endpoint = json_string_value(json_object_get(r->body, "endpoint"));
	ca = json_string_value(
		json_object_get(json_object_get(r->body, "masterAuth"), "clusterCaCertificate"));
	if (!endpoint || !*endpoint) {
		hcr_gke_unexpected(j, "the cluster has no endpoint yet");
		return;
	}
	out = json_pack("{s:s+, s:s, s:I}", "server", "https://", endpoint, "token", j->access,
			"expiresAt", (json_int_t)j->access_expires);
	if (ca && *ca)
		json_object_set_new(out, "certificateAuthorityData", json_string(ca));
	hcr_gke_result(j, out);
}

static void credentials_step(gke_job *j)
{
	hcr_gke_get_cluster(j, credentials_read);
}

int hcr_gke_kube_credentials(hcr_provider *p, const hcr_cluster_ref *c, hcr_provider_cb cb,
			     void *payload)
{
	gke_job *j;
	hcr_error err;
	int rc = hcr_gke_job_new(&j, p, c, "kube_credentials", true, cb, payload, &err);

	if (rc != HCR_OK)
		return rc;
	return hcr_gke_job_start(j, credentials_step, &err);
}
