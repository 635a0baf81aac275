/*
 * The compare of two clusters over the API (docs/api.md, docs/sync/compare.md):
 *   POST /v1/compare          compare two clusters or namespaces (operator)
 *   POST /v1/compare/create   create in the right cluster what only the left has
 *                             (operator; a dry run unless "dryRun": false)
 *   POST /v1/compare/update   make chosen objects of the right cluster match the left
 *                             (admin: it overwrites; a dry run unless "dryRun": false)
 *
 * Clusters are named as hcr/kube_targets.h says: registered clusters (their
 * provider's short-lived credentials) or contexts of the server's
 * sync.kubeconfig. Each request opens its own two connections and runs on
 * its request thread; a compare of 20,000 objects a side takes seconds.
 *
 * A cluster's refusal (401, 403, 404 from its API server) is reported as
 * 422 with the cluster's words, never as hcr's own 401 or 403, which would
 * tell the caller that its hcr token is at fault. Writes are audit-logged
 * like every other POST (src/api.c), with the two clusters as the target.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "hcr/json.h"
#include "hcr/kube_compare.h"
#include "hcr/kube_targets.h"
#include "hcr/mem.h"

#define MAX_NAMES 4096

/* What a body names: the two clusters and the compare's options. */
typedef struct body {
	json_t *doc;
	const char *left, *right, *ns, *left_ns, *right_ns, *view;
	char **kinds, **objects;
	size_t nkinds, nobjects;
	bool diff, include_skipped, dry_run;
	long crd_timeout_s;
} body;

static void body_free(body *b)
{
	size_t i;

	for (i = 0; i < b->nkinds; i++)
		free(b->kinds[i]);
	for (i = 0; i < b->nobjects; i++)
		free(b->objects[i]);
	free(b->kinds);
	free(b->objects);
	json_decref(b->doc);
}

static int field_error(hcr_error *err, const char *field, const char *what)
{
	return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "field \"%s\": %s", field, what);
}

static int read_kinds(body *b, hcr_error *err)
{
	json_t *a = json_object_get(b->doc, "kinds"), *v;
	size_t i;

	if (!a || json_is_null(a))
		return HCR_OK;
	if (!json_is_array(a) || json_array_size(a) > MAX_NAMES)
		return field_error(err, "kinds", "must be a list of kind names (kubectl's)");
	b->kinds = hcr_calloc(json_array_size(a) + 1, sizeof(char *));
	json_array_foreach(a, i, v)
	{
		if (!json_is_string(v) || !json_string_length(v))
			return field_error(err, "kinds",
					   "must be a list of kind names (kubectl's)");
		b->kinds[b->nkinds++] = hcr_strdup(json_string_value(v));
	}
	return HCR_OK;
}

/* An object as a string, or {"kind", "group"?, "namespace"?, "name"} made into one. */
static int object_name(char **out, json_t *v, hcr_error *err)
{
	const char *kind, *group, *ns, *name;

	*out = NULL;
	if (json_is_string(v) && json_string_length(v)) {
		*out = hcr_strdup(json_string_value(v));
		return HCR_OK;
	}
	kind = json_string_value(json_object_get(v, "kind"));
	group = json_string_value(json_object_get(v, "group"));
	ns = json_string_value(json_object_get(v, "namespace"));
	name = json_string_value(json_object_get(v, "name"));
	if (!json_is_object(v) || !kind || !*kind || !name || !*name || strchr(kind, '/') ||
	    strchr(name, '/') || (ns && strchr(ns, '/')) || (group && strchr(group, '/')))
		return field_error(err, "objects",
				   "each must be \"KIND/NAMESPACE/NAME\", \"KIND/NAME\" or "
				   "{\"kind\", \"group\", \"namespace\", \"name\"}");
	*out = hcr_sprintf("%s%s%s/%s%s%s", kind, group && *group ? "." : "", group ? group : "",
			   ns && *ns ? ns : "", ns && *ns ? "/" : "", name);
	return HCR_OK;
}

static int read_objects(body *b, hcr_error *err)
{
	json_t *a = json_object_get(b->doc, "objects"), *v;
	size_t i;
	int rc;

	if (!a || json_is_null(a))
		return HCR_OK;
	if (!json_is_array(a) || json_array_size(a) > MAX_NAMES)
		return field_error(err, "objects", "must be a list of objects");
	b->objects = hcr_calloc(json_array_size(a) + 1, sizeof(char *));
	json_array_foreach(a, i, v)
	{
		rc = object_name(&b->objects[b->nobjects], v, err);
		if (rc != HCR_OK)
			return rc;
		b->nobjects++;
	}
	return HCR_OK;
}

static int read_body(hcr_req *req, body *b, const char *const *keys, hcr_error *err)
{
	json_t *t;
	int rc;

	b->dry_run = true;
	b->crd_timeout_s = 60;
	rc = hcr_api_body_object(req, &b->doc, err);
	if (rc != HCR_OK)
		return rc;
	if ((rc = hcr_json_only_keys(b->doc, keys, "", err)) ||
	    (rc = hcr_json_req_string(&b->left, b->doc, "left", "left", err)) ||
	    (rc = hcr_json_req_string(&b->right, b->doc, "right", "right", err)) ||
	    (rc = hcr_json_opt_string(&b->ns, b->doc, "namespace", "namespace", err)) ||
	    (rc = hcr_json_opt_string(&b->left_ns, b->doc, "leftNamespace", "leftNamespace",
				      err)) ||
	    (rc = hcr_json_opt_string(&b->right_ns, b->doc, "rightNamespace", "rightNamespace",
				      err)) ||
	    (rc = hcr_json_opt_string(&b->view, b->doc, "view", "view", err)) ||
	    (rc = hcr_json_opt_bool(&b->diff, b->doc, "diff", "diff", err)) ||
	    (rc = hcr_json_opt_bool(&b->include_skipped, b->doc, "includeSkipped", "includeSkipped",
				    err)) ||
	    (rc = hcr_json_opt_bool(&b->dry_run, b->doc, "dryRun", "dryRun", err)) ||
	    (rc = read_kinds(b, err)) || (rc = read_objects(b, err)))
		return rc;
	t = json_object_get(b->doc, "crdTimeoutSeconds");
	if (t && !json_is_null(t)) {
		if (!json_is_integer(t) || json_integer_value(t) < 1 ||
		    json_integer_value(t) > 3600)
			return field_error(err, "crdTimeoutSeconds", "must be 1 to 3600");
		b->crd_timeout_s = (long)json_integer_value(t);
	}
	if (!b->left_ns != !b->right_ns)
		return field_error(err, b->left_ns ? "rightNamespace" : "leftNamespace",
				   "leftNamespace and rightNamespace go together");
	if (b->ns && b->left_ns)
		return field_error(err, "namespace",
				   "give namespace, or leftNamespace and rightNamespace, not both");
	snprintf(req->target, sizeof(req->target), "compare:%s..%s", b->left, b->right);
	return HCR_OK;
}

/* A cluster's refusal as 422 with its words; hcr's own 401/403/404 mean something else. */
static int cluster_error(int rc, hcr_error *err)
{
	if (strcmp(err->code, HCR_ERR_UNAVAILABLE) == 0 ||
	    strcmp(err->code, HCR_ERR_INTERNAL) == 0 || strcmp(err->code, HCR_ERR_CONFLICT) == 0 ||
	    strcmp(err->code, HCR_ERR_INVALID) == 0)
		return rc;
	snprintf(err->code, sizeof(err->code), "%s", HCR_ERR_INVALID);
	return HCR_EINVALID;
}

/* Opens both clusters: registered clusters, or contexts of sync.kubeconfig. */
static int open_both(hcr_req *req, const body *b, hcr_kube **left, hcr_kube **right, hcr_error *err)
{
	const hcr_config *cfg = req->api->cfg;
	hcr_kube_opts opts = {.request_timeout_ms = cfg->sync_request_timeout_ms};
	hcr_kube_targets t = {
		.cfg = cfg, .store = req->api->store, .key = req->api->key, .opts = &opts};
	hcr_kubeconfig *kc = NULL;
	int rc = HCR_OK;

	*left = *right = NULL;
	if (cfg->sync_kubeconfig) {
		rc = hcr_kubeconfig_load(&kc, cfg->sync_kubeconfig, err);
		if (rc != HCR_OK) {
			hcr_error_hint(err, "the server's sync.kubeconfig (HCR_SYNC_KUBECONFIG) "
					    "cannot be read; fix it and restart hcr");
			snprintf(err->code, sizeof(err->code), "%s", HCR_ERR_UNAVAILABLE);
			return HCR_EUPSTREAM;
		}
		t.kubeconfig = kc;
	}
	rc = hcr_kube_target_open(left, &t, b->left, err);
	if (rc == HCR_OK)
		rc = hcr_kube_target_open(right, &t, b->right, err);
	hcr_kubeconfig_free(kc);
	if (rc == HCR_ENOTFOUND) {
		char msg[sizeof(err->message)], hint[sizeof(err->hint)];

		snprintf(msg, sizeof(msg), "%s", err->message);
		snprintf(hint, sizeof(hint), "%s", err->hint);
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "field \"%s\": %.400s",
			      *left ? "right" : "left", msg);
		if (!cfg->sync_kubeconfig)
			hcr_error_hint(err, "name a registered cluster; contexts need the "
					    "server's sync.kubeconfig");
		else
			hcr_error_hint(err, "%.300s", hint);
		rc = HCR_EINVALID;
	} else if (rc != HCR_OK) {
		rc = cluster_error(rc, err);
	}
	if (rc != HCR_OK) {
		hcr_kube_close(*left);
		hcr_kube_close(*right);
		*left = *right = NULL;
	}
	return rc;
}

static void fill_compare_opts(hcr_cmp_opts *co, const body *b)
{
	co->namespace_name = b->ns;
	co->left_namespace = b->left_ns;
	co->right_namespace = b->right_ns;
	co->kinds = (const char *const *)b->kinds;
	co->nkinds = b->nkinds;
	co->diff = b->diff;
	co->include_skipped = b->include_skipped;
}

int hcr_api_compare(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	static const char *const keys[] = {"left",           "right", "namespace", "leftNamespace",
					   "rightNamespace", "kinds", "view",      "diff",
					   "includeSkipped", NULL};
	body b = {0};
	hcr_cmp_opts co = {0};
	hcr_cmp_result *res = NULL;
	hcr_kube *left = NULL, *right = NULL;
	int rc;

	rc = read_body(req, &b, keys, err);
	if (rc != HCR_OK)
		goto done;
	if (b.view && !hcr_cmp_view_parse(&co.view, b.view)) {
		rc = field_error(err, "view",
				 "must be all, matching, non-matching, left, right or different");
		goto done;
	}
	rc = open_both(req, &b, &left, &right, err);
	if (rc != HCR_OK)
		goto done;
	fill_compare_opts(&co, &b);
	rc = hcr_cmp_run(&res, left, right, &co, err);
	if (rc != HCR_OK) {
		rc = cluster_error(rc, err);
		goto done;
	}
	hcr_api_reply(resp, 200, hcr_cmp_result_json(res));
done:
	hcr_cmp_result_free(res);
	hcr_kube_close(left);
	hcr_kube_close(right);
	body_free(&b);
	return rc;
}

static int write_objects(hcr_req *req, hcr_resp *resp, hcr_cmp_write_mode mode, hcr_error *err)
{
	static const char *const keys[] = {
		"left",  "right",   "namespace", "leftNamespace",     "rightNamespace",
		"kinds", "objects", "dryRun",    "crdTimeoutSeconds", NULL};
	body b = {0};
	hcr_cmp_opts co = {0};
	hcr_cmp_write_opts wo = {.mode = mode};
	hcr_cmp_result *cmp = NULL;
	hcr_kube *left = NULL, *right = NULL;
	json_t *report = NULL;
	int rc;

	rc = read_body(req, &b, keys, err);
	if (rc != HCR_OK)
		goto done;
	if (mode == HCR_CMP_UPDATE && !b.nobjects) {
		rc = field_error(err, "objects",
				 "an update needs the objects to update, named one by one");
		goto done;
	}
	rc = open_both(req, &b, &left, &right, err);
	if (rc != HCR_OK)
		goto done;
	if (!b.nobjects) { /* every left-only object: a compare finds them */
		fill_compare_opts(&co, &b);
		rc = hcr_cmp_run(&cmp, left, right, &co, err);
		if (rc != HCR_OK) {
			rc = cluster_error(rc, err);
			goto done;
		}
	}
	wo.dry_run = b.dry_run;
	wo.select = (const char *const *)b.objects;
	wo.nselect = b.nobjects;
	wo.compare = cmp;
	wo.namespace_name = b.ns;
	wo.left_namespace = b.left_ns;
	wo.right_namespace = b.right_ns;
	wo.crd_timeout_ms = b.crd_timeout_s * 1000;
	rc = hcr_cmp_write(&report, left, right, &wo, err);
	if (rc != HCR_OK) {
		rc = cluster_error(rc, err);
		goto done;
	}
	hcr_api_reply(resp, 200, report);
done:
	hcr_cmp_result_free(cmp);
	hcr_kube_close(left);
	hcr_kube_close(right);
	body_free(&b);
	return rc;
}

int hcr_api_compare_create(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	return write_objects(req, resp, HCR_CMP_CREATE, err);
}

int hcr_api_compare_update(hcr_req *req, hcr_resp *resp, hcr_error *err)
{
	return write_objects(req, resp, HCR_CMP_UPDATE, err);
}
