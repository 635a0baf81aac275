/*
 * The verbs on one resource type: get, create, update, patch, delete, and
 * the paginated list. Each builds the path from discovery's group, version
 * and plural (never guessed), sends JSON, and names the object it was about
 * ("Deployment web/api") when it fails.
 *
 * Bodies and answers may hold Secret data: the text of every body sent and
 * every page read is wiped once parsed.
 */
#include <stdlib.h>
#include <string.h>

#include "hcr/crypto.h"
#include "hcr/kube.h"
#include "kube_int.h"

/* ---- paths and names ----------------------------------------------------------------- */

/* /api/v1[/namespaces/ns]/plural[/name] (ns NULL: all namespaces, or cluster-scoped). */
void hcr_kube_collection_path(hcr_buf *b, const hcr_kube_resource *r, const char *ns)
{
	if (*r->group)
		hcr_buf_printf(b, "/apis/%s/%s", r->group, r->version);
	else
		hcr_buf_printf(b, "/api/%s", r->version);
	if (r->namespaced && ns && *ns) {
		hcr_buf_puts(b, "/namespaces/");
		hcr_kube_buf_escape(b, ns);
	}
	hcr_buf_printf(b, "/%s", r->plural);
}

static void object_path(hcr_buf *b, const hcr_kube_resource *r, const char *ns, const char *name)
{
	hcr_kube_collection_path(b, r, ns);
	hcr_buf_puts(b, "/");
	hcr_kube_buf_escape(b, name);
}

void hcr_kube_query(hcr_buf *b, const char *key, const char *value)
{
	if (!value || !*value)
		return;
	hcr_buf_printf(b, "%c%s=", strchr(b->data, '?') ? '&' : '?', key);
	hcr_kube_buf_escape(b, value);
}

static void write_query(hcr_buf *b, const hcr_kube_write_opts *o)
{
	if (o && o->dry_run)
		hcr_kube_query(b, "dryRun", "All");
	hcr_kube_query(b, "fieldManager", o && o->field_manager ? o->field_manager : "hcr");
}

static const char *meta_string(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), key));
}

/*
 * The namespace a request on `r` goes to: none for cluster-scoped types;
 * else `ns`, the object's, the context's, or "default" (kubectl's order).
 */
static const char *effective_ns(const hcr_kube *k, const hcr_kube_resource *r, const char *ns,
				json_t *obj)
{
	const char *own = obj ? meta_string(obj, "namespace") : NULL;

	if (!r->namespaced)
		return NULL;
	if (ns && *ns)
		return ns;
	if (own && *own)
		return own;
	if (hcr_kube_namespace(k))
		return hcr_kube_namespace(k);
	return "default";
}

/* "Deployment web/api", "Namespace prod". New string. */
static char *describe(const hcr_kube_resource *r, const char *ns, const char *name)
{
	return ns ? hcr_sprintf("%s %s/%s", r->kind, ns, name ? name : "(unnamed)")
		  : hcr_sprintf("%s %s", r->kind, name ? name : "(unnamed)");
}

static int bad_argument(hcr_error *err, const hcr_kube *k, const char *verb, const char *what)
{
	return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "cannot %s in cluster \"%s\": %s",
			     verb, hcr_kube_name(k), what);
}

/* ---- one object ---------------------------------------------------------------------- */

/* Sends `body` (borrowed; may be NULL) with `method` to `path`. */
static int send_json(json_t **out, hcr_kube *k, const char *method, const char *path, json_t *body,
		     const char *content_type, const char *verb, const char *what,
		     const hcr_kube_resource *r, const char *ns, hcr_error *err)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	kube_req req = {.method = method,
			.path = path,
			.body = text,
			.body_len = text ? strlen(text) : 0,
			.content_type = content_type};
	json_t *answer = NULL;
	int rc = hcr_kube_call(&answer, k, &req, verb, what, r, ns, err);

	if (text)
		hcr_kube_wipe_free(text);
	if (rc == HCR_OK && out)
		*out = answer;
	else
		hcr_kube_json_wipe_decref(answer);
	return rc;
}

int hcr_kube_get(json_t **out, hcr_kube *k, const hcr_kube_resource *r, const char *ns,
		 const char *name, hcr_error *err)
{
	const char *where = effective_ns(k, r, ns, NULL);
	char *what = describe(r, where, name);
	hcr_buf path = {0};
	int rc;

	*out = NULL;
	if (!name || !*name) {
		rc = bad_argument(err, k, "get", "no name given");
		goto done;
	}
	object_path(&path, r, where, name);
	rc = send_json(out, k, "GET", path.data, NULL, NULL, "get", what, r, where, err);
done:
	hcr_buf_free(&path);
	free(what);
	return rc;
}

/* `obj` with apiVersion and kind set: a new reference (a copy when they were missing). */
static json_t *typed(json_t *obj, const hcr_kube_resource *r)
{
	json_t *copy;

	if (json_object_get(obj, "apiVersion") && json_object_get(obj, "kind"))
		return json_incref(obj);
	copy = json_deep_copy(obj);
	if (!json_object_get(copy, "apiVersion"))
		json_object_set_new(copy, "apiVersion", json_string(r->api_version));
	if (!json_object_get(copy, "kind"))
		json_object_set_new(copy, "kind", json_string(r->kind));
	return copy;
}

int hcr_kube_create(json_t **out, hcr_kube *k, const hcr_kube_resource *r, const char *ns,
		    json_t *obj, const hcr_kube_write_opts *o, hcr_error *err)
{
	const char *where = effective_ns(k, r, ns, obj), *name = meta_string(obj, "name");
	char *what = describe(r, where, name ? name : meta_string(obj, "generateName"));
	hcr_buf path = {0};
	json_t *body;
	int rc;

	if (out)
		*out = NULL;
	if (!json_is_object(obj)) {
		rc = bad_argument(err, k, "create", "the object is not a JSON object");
		goto done;
	}
	hcr_kube_collection_path(&path, r, where);
	write_query(&path, o);
	body = typed(obj, r);
	rc = send_json(out, k, "POST", path.data, body, NULL, "create", what, r, where, err);
	json_decref(body);
done:
	hcr_buf_free(&path);
	free(what);
	return rc;
}

int hcr_kube_update(json_t **out, hcr_kube *k, const hcr_kube_resource *r, const char *ns,
		    json_t *obj, const hcr_kube_write_opts *o, hcr_error *err)
{
	const char *where = effective_ns(k, r, ns, obj), *name = meta_string(obj, "name");
	const char *rv = meta_string(obj, "resourceVersion");
	char *what = describe(r, where, name);
	hcr_buf path = {0};
	json_t *body;
	int rc;

	if (out)
		*out = NULL;
	if (!name || !*name || !rv || !*rv) {
		rc = bad_argument(err, k, "update",
				  "the object has no metadata.name or no "
				  "metadata.resourceVersion");
		hcr_error_hint(err, "read the object first: an update never overwrites blindly");
		goto done;
	}
	object_path(&path, r, where, name);
	write_query(&path, o);
	body = typed(obj, r);
	rc = send_json(out, k, "PUT", path.data, body, NULL, "update", what, r, where, err);
	json_decref(body);
done:
	hcr_buf_free(&path);
	free(what);
	return rc;
}

int hcr_kube_patch(json_t **out, hcr_kube *k, const hcr_kube_resource *r, const char *ns,
		   const char *name, json_t *patch, const hcr_kube_write_opts *o, hcr_error *err)
{
	const char *where = effective_ns(k, r, ns, NULL);
	char *what = describe(r, where, name);
	hcr_buf path = {0};
	int rc;

	if (out)
		*out = NULL;
	if (!name || !*name || !json_is_object(patch)) {
		rc = bad_argument(err, k, "patch", "no name, or a patch that is not an object");
		goto done;
	}
	object_path(&path, r, where, name);
	write_query(&path, o);
	rc = send_json(out, k, "PATCH", path.data, patch, "application/merge-patch+json", "patch",
		       what, r, where, err);
done:
	hcr_buf_free(&path);
	free(what);
	return rc;
}

static json_t *delete_options(const hcr_kube_delete_opts *o)
{
	json_t *body = json_pack("{s:s, s:s}", "kind", "DeleteOptions", "apiVersion", "v1");
	json_t *pre = json_object();

	if (!o)
		return body;
	if (o->uid)
		json_object_set_new(pre, "uid", json_string(o->uid));
	if (o->resource_version)
		json_object_set_new(pre, "resourceVersion", json_string(o->resource_version));
	if (json_object_size(pre))
		json_object_set(body, "preconditions", pre);
	if (o->propagation_policy)
		json_object_set_new(body, "propagationPolicy", json_string(o->propagation_policy));
	if (o->has_grace_period)
		json_object_set_new(body, "gracePeriodSeconds", json_integer(o->grace_period_s));
	if (o->dry_run)
		json_object_set_new(body, "dryRun", json_pack("[s]", "All"));
	json_decref(pre);
	return body;
}

int hcr_kube_delete(json_t **out, hcr_kube *k, const hcr_kube_resource *r, const char *ns,
		    const char *name, const hcr_kube_delete_opts *o, hcr_error *err)
{
	const char *where = effective_ns(k, r, ns, NULL);
	char *what = describe(r, where, name);
	hcr_buf path = {0};
	json_t *body = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (!name || !*name) {
		rc = bad_argument(err, k, "delete", "no name given");
		goto done;
	}
	object_path(&path, r, where, name);
	if (o && o->dry_run)
		hcr_kube_query(&path, "dryRun", "All");
	body = delete_options(o);
	rc = send_json(out, k, "DELETE", path.data, body, NULL, "delete", what, r, where, err);
done:
	json_decref(body);
	hcr_buf_free(&path);
	free(what);
	return rc;
}

/* ---- list ---------------------------------------------------------------------------- */

/* "deployments.apps in namespace \"web\"", "... in all namespaces". New string. */
char *hcr_kube_describe_collection(const hcr_kube_resource *r, const char *ns)
{
	const char *dot = *r->group ? "." : "";

	if (!r->namespaced)
		return hcr_sprintf("%s%s%s", r->plural, dot, r->group);
	if (ns && *ns)
		return hcr_sprintf("%s%s%s in namespace \"%s\"", r->plural, dot, r->group, ns);
	return hcr_sprintf("%s%s%s in all namespaces", r->plural, dot, r->group);
}

/* Gives each item of `page` to cb; *stop when cb asks. */
static void deliver_items(json_t *page, const hcr_kube_resource *r, hcr_kube_item_cb cb,
			  void *payload, bool *stop)
{
	json_t *items = json_object_get(page, "items"), *it;
	size_t i;

	json_array_foreach(items, i, it)
	{
		if (!json_is_object(it))
			continue;
		/* List answers leave them out of each item; callers want whole objects. */
		if (!json_object_get(it, "apiVersion"))
			json_object_set_new(it, "apiVersion", json_string(r->api_version));
		if (!json_object_get(it, "kind"))
			json_object_set_new(it, "kind", json_string(r->kind));
		if (cb(it, payload) != 0) {
			*stop = true;
			return;
		}
	}
}

static void page_path(hcr_buf *b, const hcr_kube_resource *r, const hcr_kube_list_opts *o,
		      long limit, const char *cont)
{
	char n[32];

	hcr_kube_collection_path(b, r, o ? o->ns : NULL);
	snprintf(n, sizeof(n), "%ld", limit);
	hcr_kube_query(b, "limit", n);
	hcr_kube_query(b, "continue", cont);
	if (o) {
		hcr_kube_query(b, "labelSelector", o->label_selector);
		hcr_kube_query(b, "fieldSelector", o->field_selector);
	}
}

int hcr_kube_list(hcr_kube *k, const hcr_kube_resource *r, const hcr_kube_list_opts *o,
		  hcr_kube_item_cb cb, void *payload, char **resource_version, hcr_error *err)
{
	long limit = o && o->page_size > 0 ? o->page_size : k->opts.list_page_size;
	char *what = hcr_kube_describe_collection(r, o ? o->ns : NULL), *cont = NULL;
	bool stop = false;
	int rc;

	if (resource_version)
		*resource_version = NULL;
	do {
		hcr_buf path = {0};
		kube_req req = {.method = "GET"};
		json_t *page = NULL;
		const char *next;

		page_path(&path, r, o, limit, cont);
		req.path = path.data;
		rc = hcr_kube_call(&page, k, &req, "list", what, r, o ? o->ns : NULL, err);
		hcr_buf_free(&path);
		free(cont);
		cont = NULL;
		if (rc != HCR_OK)
			break;
		if (resource_version) {
			free(*resource_version);
			*resource_version = hcr_strdup(meta_string(page, "resourceVersion"));
		}
		deliver_items(page, r, cb, payload, &stop);
		next = meta_string(page, "continue");
		if (next && *next && !stop)
			cont = hcr_strdup(next);
		hcr_kube_json_wipe_decref(page);
	} while (cont);
	if (rc != HCR_OK && resource_version) {
		free(*resource_version);
		*resource_version = NULL;
	}
	free(what);
	return rc;
}
