/*
 * Config sync's pure part: which clusters an object asks for, what a copy
 * looks like and how it is marked, whether a live object is ours and up to
 * date, and the deletion guard. No I/O; see hcr/sync.h for the contract and
 * docs/sync/config-sync.md for why each rule is there.
 *
 * Loops are broken structurally, not by timing: a copy never carries the
 * annotations that asked for it, and an object with any origin mark is never
 * a source. Ownership is read from the marks alone, and only a complete set
 * of marks counts: a lookalike is somebody else's object.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hcr/crypto.h"
#include "hcr/json.h"
#include "hcr/kube_norm.h"
#include "hcr/mem.h"
#include "hcr/sync.h"

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"
#define MAX_NAME     253

/* Annotations of the source that a copy must not carry. */
static const char *const dropped_annotations[] = {
	HCR_SYNC_ANNOTATION,
	HCR_SYNC_KUBED_ANNOTATION,
	"kubed.appscode.com/sync", /* Kubed's in-cluster sync: a copy would spread further */
	HCR_SYNC_ORIGIN_ANNOTATION,
	LAST_APPLIED,
	NULL,
};

static const char *const origin_labels[] = {
	HCR_SYNC_LABEL_CLUSTER,
	HCR_SYNC_LABEL_NAMESPACE,
	HCR_SYNC_LABEL_NAME,
	NULL,
};

/* The members of a ConfigMap or Secret that a copy takes over besides metadata. */
static const char *const payload_members[] = {"data", "binaryData", "type", "immutable", NULL};

/* ---- names ------------------------------------------------------------------------------ */

void hcr_sync_names_free(hcr_sync_names *names)
{
	size_t i;

	if (!names)
		return;
	for (i = 0; i < names->n; i++)
		free(names->v[i]);
	free(names->v);
	names->v = NULL;
	names->n = 0;
}

bool hcr_sync_names_has(const hcr_sync_names *names, const char *name)
{
	size_t i;

	for (i = 0; names && i < names->n; i++)
		if (strcmp(names->v[i], name) == 0)
			return true;
	return false;
}

void hcr_sync_names_add(hcr_sync_names *names, const char *name)
{
	if (hcr_sync_names_has(names, name))
		return;
	names->v = hcr_realloc(names->v, (names->n + 1) * sizeof(*names->v));
	names->v[names->n++] = hcr_strdup(name);
}

int hcr_sync_split_names(hcr_sync_names *out, const char *list, hcr_error *err)
{
	const char *p = list ? list : "";

	while (*p) {
		const char *start, *end;
		size_t len, i;
		char *name;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
		len = (size_t)(end - start);
		if (len == 0)
			continue;
		if (len > MAX_NAME)
			return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
					     "a cluster name of %zu bytes is too long (at most %d)",
					     len, MAX_NAME);
		for (i = 0; i < len; i++)
			if (iscntrl((unsigned char)start[i]))
				return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
						     "a cluster name has a control character");
		name = hcr_strndup(start, len);
		if (!hcr_sync_names_has(out, name) && out->n >= HCR_SYNC_MAX_TARGETS) {
			free(name);
			hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				      "more than %d cluster names", HCR_SYNC_MAX_TARGETS);
			hcr_error_hint(err, "name at most %d clusters in one annotation",
				       HCR_SYNC_MAX_TARGETS);
			return HCR_EINVALID;
		}
		hcr_sync_names_add(out, name);
		free(name);
	}
	return HCR_OK;
}

static json_t *meta_map(const json_t *obj, const char *which)
{
	json_t *m = json_object_get(json_object_get(obj, "metadata"), which);

	return json_is_object(m) ? m : NULL;
}

int hcr_sync_wanted(hcr_sync_names *out, bool *annotated, const json_t *obj, hcr_error *err)
{
	static const char *const keys[] = {HCR_SYNC_ANNOTATION, HCR_SYNC_KUBED_ANNOTATION};
	json_t *ann = meta_map(obj, "annotations");
	size_t i;
	int rc = HCR_OK;

	*annotated = false;
	for (i = 0; i < 2 && rc == HCR_OK; i++) {
		json_t *v = json_object_get(ann, keys[i]);

		if (!v)
			continue;
		*annotated = true;
		if (json_is_string(v))
			rc = hcr_sync_split_names(out, json_string_value(v), err);
	}
	return rc;
}

bool hcr_sync_is_copy(const json_t *obj)
{
	json_t *labels = meta_map(obj, "labels");
	size_t i;

	for (i = 0; origin_labels[i]; i++)
		if (json_object_get(labels, origin_labels[i]))
			return true;
	return json_object_get(meta_map(obj, "annotations"), HCR_SYNC_ORIGIN_ANNOTATION) != NULL;
}

/* ---- label values ------------------------------------------------------------------------ */

static bool label_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

static bool is_label_value(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0)
		return true;
	if (n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (i = 0; i < n; i++)
		if (!label_char(s[i]) || (unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

void hcr_sync_label_value(char out[64], const char *s)
{
	char hex[65], part[51];
	size_t i, n = 0, start = 0;

	if (is_label_value(s)) {
		strcpy(out, s); /* at most 63 bytes */
		return;
	}
	for (i = 0; s[i] && n < 50; i++)
		if (label_char(s[i]) && (unsigned char)s[i] < 0x80)
			part[n++] = s[i];
	part[n] = '\0';
	while (start < n && !isalnum((unsigned char)part[start]))
		start++;
	while (n > start && !isalnum((unsigned char)part[n - 1]))
		part[--n] = '\0';
	hcr_crypto_sha256_hex(hex, s, strlen(s));
	/* At most 50 + 1 + 12 = 63 bytes. */
	if (n > start)
		snprintf(out, 64, "%.50s-%.12s", part + start, hex);
	else
		snprintf(out, 64, "%.12s", hex);
}

/* ---- origin marks ------------------------------------------------------------------------ */

static const char *str_member(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

bool hcr_sync_origin_read(hcr_sync_origin *out, json_t **keep, const json_t *obj)
{
	const char *text = str_member(meta_map(obj, "annotations"), HCR_SYNC_ORIGIN_ANNOTATION);
	const char *label = str_member(meta_map(obj, "labels"), HCR_SYNC_LABEL_CLUSTER);
	char want[64];
	json_t *o;

	memset(out, 0, sizeof(*out));
	*keep = NULL;
	if (!text || !label)
		return false;
	o = json_loads(text, 0, NULL);
	out->cluster = str_member(o, "cluster");
	out->namespace = str_member(o, "namespace");
	out->name = str_member(o, "name");
	out->uid = str_member(o, "uid");
	out->server = str_member(o, "server");
	out->hash = str_member(o, "hash");
	if (!json_is_object(o) || !out->cluster || !out->namespace || !out->name) {
		json_decref(o);
		memset(out, 0, sizeof(*out));
		return false;
	}
	hcr_sync_label_value(want, out->cluster);
	if (strcmp(want, label) != 0) {
		json_decref(o);
		memset(out, 0, sizeof(*out));
		return false;
	}
	*keep = o;
	return true;
}

/* ---- the copy ---------------------------------------------------------------------------- */

/*
 * What the content hash covers: the copied payload and metadata, without the
 * namespace and the marks (which differ per target and are hcr's own).
 */
static json_t *hash_view(const json_t *obj, bool with_metadata)
{
	json_t *v = json_object(), *meta = json_object(), *labels, *ann, *val;
	size_t i;

	json_object_set(v, "kind", json_object_get(obj, "kind"));
	json_object_set(v, "apiVersion", json_object_get(obj, "apiVersion"));
	for (i = 0; payload_members[i]; i++) {
		val = json_object_get(obj, payload_members[i]);
		if (val && !json_is_null(val))
			json_object_set(v, payload_members[i], val);
	}
	/* An unset type is Opaque to the server: compare them as equal. */
	if (!json_object_get(v, "type") && json_is_string(json_object_get(obj, "kind")) &&
	    strcmp(json_string_value(json_object_get(obj, "kind")), "Secret") == 0)
		json_object_set_new(v, "type", json_string("Opaque"));
	if (json_is_false(json_object_get(v, "immutable")))
		json_object_del(v, "immutable");
	if (with_metadata) {
		labels = json_deep_copy(meta_map(obj, "labels"));
		ann = json_deep_copy(meta_map(obj, "annotations"));
		for (i = 0; origin_labels[i]; i++)
			json_object_del(labels, origin_labels[i]);
		for (i = 0; dropped_annotations[i]; i++)
			json_object_del(ann, dropped_annotations[i]);
		if (labels && json_object_size(labels))
			json_object_set(meta, "labels", labels);
		if (ann && json_object_size(ann))
			json_object_set(meta, "annotations", ann);
		json_decref(labels);
		json_decref(ann);
		json_object_set(meta, "name",
				json_object_get(json_object_get(obj, "metadata"), "name"));
	}
	json_object_set_new(v, "metadata", meta);
	return v;
}

static void hash_of(char out[65], const json_t *obj, bool with_metadata)
{
	json_t *v = hash_view(obj, with_metadata);
	hcr_error ignored;

	if (hcr_kube_content_hash(out, v, 0, &ignored) != HCR_OK)
		out[0] = '\0';
	json_decref(v);
}

static bool is_kind(const json_t *obj, const char *kind)
{
	const char *k = str_member(obj, "kind");

	return k && strcmp(k, kind) == 0;
}

int hcr_sync_copy_build(json_t **out, char hash[65], const json_t *src, const char *cluster,
			const char *server_id, const char *ns, hcr_error *err)
{
	const json_t *meta = json_object_get(src, "metadata");
	const char *name = str_member(meta, "name"), *src_ns = str_member(meta, "namespace");
	const char *uid = str_member(meta, "uid");
	json_t *copy = NULL, *cmeta, *labels, *ann, *origin;
	char value[64], *text;
	size_t i;
	int rc;

	*out = NULL;
	hash[0] = '\0';
	if (!is_kind(src, "ConfigMap") && !is_kind(src, "Secret"))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "only ConfigMaps and Secrets are synced");
	if (!name || !*name || !src_ns)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "the object has no name or namespace");
	copy = json_object();
	json_object_set(copy, "apiVersion", json_object_get(src, "apiVersion"));
	json_object_set(copy, "kind", json_object_get(src, "kind"));
	json_object_set_new(copy, "metadata", json_deep_copy(meta));
	for (i = 0; payload_members[i]; i++) {
		json_t *v = json_object_get(src, payload_members[i]);

		if (v && !json_is_null(v))
			json_object_set_new(copy, payload_members[i], json_deep_copy(v));
	}
	if (json_object_get(src, "stringData"))
		json_object_set_new(copy, "stringData",
				    json_deep_copy(json_object_get(src, "stringData")));
	rc = hcr_kube_prepare_create(copy, 0, err);
	if (rc != HCR_OK) {
		json_decref(copy);
		return rc;
	}
	cmeta = json_object_get(copy, "metadata");
	json_object_set_new(cmeta, "namespace", json_string(ns));
	ann = json_object_get(cmeta, "annotations");
	for (i = 0; json_is_object(ann) && dropped_annotations[i]; i++)
		json_object_del(ann, dropped_annotations[i]);
	hash_of(hash, copy, true);

	labels = json_object_get(cmeta, "labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(cmeta, "labels", labels);
	}
	hcr_sync_label_value(value, cluster);
	json_object_set_new(labels, HCR_SYNC_LABEL_CLUSTER, json_string(value));
	hcr_sync_label_value(value, src_ns);
	json_object_set_new(labels, HCR_SYNC_LABEL_NAMESPACE, json_string(value));
	hcr_sync_label_value(value, name);
	json_object_set_new(labels, HCR_SYNC_LABEL_NAME, json_string(value));

	if (!json_is_object(ann)) {
		ann = json_object();
		json_object_set_new(cmeta, "annotations", ann);
	}
	origin = json_pack("{s:s, s:s*, s:s, s:s, s:s*, s:s}", "cluster", cluster, "server",
			   server_id, "namespace", src_ns, "name", name, "uid", uid, "hash", hash);
	text = hcr_json_dumps(origin);
	json_object_set_new(ann, HCR_SYNC_ORIGIN_ANNOTATION, json_string(text));
	free(text);
	json_decref(origin);
	*out = copy;
	return HCR_OK;
}

/* ---- decisions --------------------------------------------------------------------------- */

bool hcr_sync_origin_is(const hcr_sync_origin *o, const char *cluster, const char *server_id,
			const char *ns, const char *name, const char *uid)
{
	if (uid && o->uid && strcmp(uid, o->uid) == 0)
		return true;
	return server_id && o->server && strcmp(o->server, server_id) == 0 &&
	       strcmp(o->cluster, cluster) == 0 && strcmp(o->namespace, ns) == 0 &&
	       strcmp(o->name, name) == 0;
}

void hcr_sync_server_id(char out[17], const char *url)
{
	char *key = hcr_sync_server_key(url), hex[65];

	hcr_crypto_sha256_hex(hex, key, strlen(key));
	memcpy(out, hex, 16);
	out[16] = '\0';
	free(key);
}

static bool same_opt(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_source(const hcr_sync_origin *want, const hcr_sync_origin *have)
{
	if (want->uid && have->uid && strcmp(want->uid, have->uid) == 0)
		return true;
	return strcmp(want->cluster, have->cluster) == 0 &&
	       strcmp(want->namespace, have->namespace) == 0 && strcmp(want->name, have->name) == 0;
}

hcr_sync_action hcr_sync_decide(const json_t *desired, const json_t *live)
{
	hcr_sync_origin want, have;
	json_t *keep_want = NULL, *keep_have = NULL;
	char d_live[65], d_want[65];
	hcr_sync_action a;

	if (!live)
		return HCR_SYNC_CREATE;
	if (!hcr_sync_origin_read(&have, &keep_have, live))
		return HCR_SYNC_FOREIGN;
	if (!hcr_sync_origin_read(&want, &keep_want, desired)) {
		/* Not from hcr_sync_copy_build: refuse to touch anything. */
		json_decref(keep_have);
		return HCR_SYNC_FOREIGN;
	}
	if (!same_source(&want, &have)) {
		a = HCR_SYNC_OTHER_SOURCE;
		goto done;
	}
	hash_of(d_live, live, false);
	hash_of(d_want, desired, false);
	/* Up to date: same content, and marks that name the source as it is now. */
	if (have.hash && want.hash && strcmp(have.hash, want.hash) == 0 &&
	    strcmp(d_live, d_want) == 0 && strcmp(have.cluster, want.cluster) == 0 &&
	    same_opt(have.server, want.server) &&
	    (!want.uid || (have.uid && strcmp(want.uid, have.uid) == 0))) {
		a = HCR_SYNC_UNCHANGED;
		goto done;
	}
	a = HCR_SYNC_UPDATE;
	if (json_is_true(json_object_get(live, "immutable")))
		a = HCR_SYNC_RECREATE;
	else if (is_kind(live, "Secret")) {
		const char *lt = str_member(live, "type"), *dt = str_member(desired, "type");

		if (strcmp(lt ? lt : "Opaque", dt ? dt : "Opaque") != 0)
			a = HCR_SYNC_RECREATE;
	}
done:
	json_decref(keep_want);
	json_decref(keep_have);
	return a;
}

const char *hcr_sync_action_name(hcr_sync_action a)
{
	switch (a) {
	case HCR_SYNC_CREATE:
		return "create";
	case HCR_SYNC_UNCHANGED:
		return "unchanged";
	case HCR_SYNC_UPDATE:
		return "update";
	case HCR_SYNC_RECREATE:
		return "recreate";
	case HCR_SYNC_FOREIGN:
		return "foreign";
	case HCR_SYNC_OTHER_SOURCE:
		return "other source";
	}
	return "?";
}

bool hcr_sync_guard_allows(size_t deletes, size_t copies, int max_percent)
{
	if (deletes == 0 || max_percent >= 100)
		return true;
	if (max_percent <= 0)
		return false;
	if (deletes < HCR_SYNC_GUARD_MIN)
		return true;
	/* deletes <= copies * max% / 100, without overflow for any realistic count */
	return (unsigned long long)deletes * 100ULL <=
	       (unsigned long long)copies * (unsigned long long)max_percent;
}

char *hcr_sync_server_key(const char *url)
{
	const char *p = strstr(url, "://"), *host, *end, *path;
	hcr_buf b = {0};
	size_t i;
	bool https, has_port = false;

	if (!p)
		return hcr_strdup(url);
	https = (size_t)(p - url) == 5 && strncasecmp(url, "https", 5) == 0;
	host = p + 3;
	end = host + strcspn(host, "/?#");
	path = end;
	for (i = 0; i < (size_t)(p - url); i++)
		hcr_buf_append(&b, (char[]){(char)tolower((unsigned char)url[i])}, 1);
	hcr_buf_puts(&b, "://");
	for (p = host; p < end; p++) {
		if (*p == ':' && !memchr(p, ']', (size_t)(end - p)))
			has_port = true;
		hcr_buf_append(&b, (char[]){(char)tolower((unsigned char)*p)}, 1);
	}
	if (!has_port)
		hcr_buf_puts(&b, https ? ":443" : ":80");
	hcr_buf_puts(&b, path);
	while (b.len > 0 && b.data[b.len - 1] == '/')
		b.data[--b.len] = '\0';
	return b.data ? b.data : hcr_strdup("");
}
