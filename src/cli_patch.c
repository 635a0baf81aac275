/*
 * JSON merge patches (RFC 7396) for `hcr config`: the patch between two
 * documents (`config edit`), and the patch that `path=value` assignments
 * describe (`config set`).
 *
 * Pools are the awkward part. The API keeps node pools in an array
 * (`nodeGroups`, `nodePools`), and a merge patch replaces an array whole, so
 * the list in a patch is the complete list of pools hcr is to manage. An
 * assignment to one pool (`nodeGroups[ng-a].desiredSize=5`) therefore starts
 * from the cluster's current desired list and changes one item of it; the
 * other pools go back to the server unchanged and stay as they were.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/cli.h"

json_t *hcr_cli_merge_diff(const json_t *from, const json_t *to)
{
	json_t *patch, *fv, *tv;
	const char *key;

	if (!json_is_object(from) || !json_is_object(to))
		return json_deep_copy(to);
	patch = json_object();
	json_object_foreach((json_t *)from, key, fv)
	{
		if (!json_object_get(to, key))
			json_object_set_new(patch, key, json_null());
	}
	json_object_foreach((json_t *)to, key, tv)
	{
		fv = json_object_get(from, key);
		if (fv && json_equal(fv, tv))
			continue;
		if (json_is_object(fv) && json_is_object(tv))
			json_object_set_new(patch, key, hcr_cli_merge_diff(fv, tv));
		else
			json_object_set_new(patch, key, json_deep_copy(tv));
	}
	return patch;
}

/* ---- path=value -------------------------------------------------------------------------- */

#define MAX_SEGMENTS 16

struct segment {
	char *key;
	char *pool; /* the name in key[name], or NULL */
};

struct assignment {
	struct segment seg[MAX_SEGMENTS];
	size_t n;
	const char *value; /* borrowed from the argument */
};

static void assignment_free(struct assignment *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		free(a->seg[i].key);
		free(a->seg[i].pool);
	}
}

static int bad(hcr_error *err, const char *arg, const char *why)
{
	return hcr_error_set(err, HCR_EINVALID, HCR_ERR_BAD_REQUEST,
			     "invalid assignment \"%s\": %s", arg, why);
}

/*
 * Reads up to an unescaped character of `stops` into `out`; returns the
 * position of that character (or of the end).
 */
static const char *read_part(const char *p, const char *stops, hcr_buf *out)
{
	out->len = 0;
	hcr_buf_append(out, "", 0);
	while (*p && !strchr(stops, *p)) {
		if (*p == '\\' && p[1])
			p++;
		hcr_buf_append(out, p, 1);
		p++;
	}
	return p;
}

/* path=value -> segments and value. */
static int parse_assignment(struct assignment *a, const char *arg, hcr_error *err)
{
	const char *p = arg;
	hcr_buf part = {0};
	int rc = HCR_OK;

	memset(a, 0, sizeof(*a));
	a->value = "";
	for (;;) {
		struct segment *s;

		if (a->n == MAX_SEGMENTS) {
			rc = bad(err, arg, "the path is too deep");
			break;
		}
		p = read_part(p, ".[=", &part);
		if (!part.len) {
			rc = bad(err, arg,
				 *p || p == arg ? "a path segment is empty"
						: "expected PATH=VALUE");
			break;
		}
		s = &a->seg[a->n++];
		s->key = hcr_strdup(part.data);
		if (*p == '[') {
			p = read_part(p + 1, "]", &part);
			if (*p != ']' || !part.len) {
				rc = bad(err, arg, "expected a pool name in [brackets]");
				break;
			}
			if (a->n > 1) {
				rc = bad(err, arg, "only the top-level pool list takes [name]");
				break;
			}
			s->pool = hcr_strdup(part.data);
			p++;
			if (*p && *p != '.' && *p != '=') {
				rc = bad(err, arg, "expected '.' or '=' after ']'");
				break;
			}
		}
		if (*p == '=') {
			a->value = p + 1;
			break;
		}
		if (*p != '.') {
			rc = bad(err, arg, "expected PATH=VALUE");
			break;
		}
		p++;
	}
	hcr_buf_free(&part);
	return rc;
}

/* The item of array `list` whose `key` member is `name`, and its index. */
static json_t *find_pool(const json_t *list, const char *key, const char *name, size_t *index)
{
	size_t i;
	json_t *item;

	json_array_foreach(list, i, item)
	{
		const char *v = hcr_cli_str(item, key);

		if (v && strcmp(v, name) == 0) {
			if (index)
				*index = i;
			return item;
		}
	}
	return NULL;
}

/* The member that names a pool: nodegroupName (EKS), name (AKS, GKE). */
static const char *pool_key(const char *list, const json_t *current, const json_t *desired)
{
	const json_t *docs[2] = {desired, current};
	size_t d, i;
	json_t *item;

	for (d = 0; d < 2; d++) {
		json_array_foreach(json_object_get(docs[d], list), i, item)
		{
			if (json_object_get(item, "nodegroupName"))
				return "nodegroupName";
			if (json_object_get(item, "name"))
				return "name";
		}
	}
	return strcmp(list, "nodeGroups") == 0 ? "nodegroupName" : "name";
}

/*
 * The value text as JSON when it is JSON, else as a string. It stays a string
 * when the field holds a string now (`stringly`), and when it is a number that
 * would not print back the same ("1.30" is a version, not 1.3).
 */
static json_t *parse_value(const char *text, bool stringly)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	char *back;
	bool keep;

	if (!v)
		return json_string(text);
	if (json_is_null(v) || json_is_string(v))
		return v;
	keep = !stringly;
	if (keep && json_is_real(v)) {
		back = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
		keep = back && strcmp(back, text) == 0;
		free(back);
	}
	if (keep)
		return v;
	json_decref(v);
	return json_string(text);
}

/* Follows segments [from, to) through objects in `doc`; NULL when any is missing. */
static const json_t *lookup(const json_t *doc, const struct assignment *a, size_t from, size_t to)
{
	size_t i;

	for (i = from; doc && i < to; i++)
		doc = json_object_get(doc, a->seg[i].key);
	return doc;
}

/*
 * Whether the field at segments [from, n) of `doc` holds a string, or is a new
 * key of a map whose values are all strings (tags, labels).
 */
static bool stringly(const json_t *doc, const struct assignment *a, size_t from)
{
	const json_t *v = lookup(doc, a, from, a->n), *parent, *item;
	const char *key;

	if (v)
		return json_is_string(v);
	parent = lookup(doc, a, from, a->n - 1);
	if (!json_is_object(parent) || !json_object_size(parent))
		return false;
	json_object_foreach((json_t *)parent, key, item)
	{
		if (!json_is_string(item))
			return false;
	}
	return true;
}

/*
 * Sets segments [from, n) of `a` inside `obj` as a merge patch would: objects
 * are created on the way, null deletes when `null_deletes`.
 */
static int set_path(json_t *obj, const struct assignment *a, size_t from, bool string_field,
		    bool null_deletes, const char *arg, hcr_error *err)
{
	size_t i;
	json_t *v;
	const char *last = a->seg[a->n - 1].key;

	for (i = from; i + 1 < a->n; i++) {
		json_t *child = json_object_get(obj, a->seg[i].key);

		if (!child) {
			child = json_object();
			json_object_set_new(obj, a->seg[i].key, child);
		} else if (!json_is_object(child)) {
			return bad(err, arg, "it contradicts an earlier assignment");
		}
		obj = child;
	}
	if (!null_deletes && json_object_get(obj, last))
		return bad(err, arg, "the path is given twice");
	v = parse_value(a->value, string_field);
	if (null_deletes && json_is_null(v)) {
		json_object_del(obj, last);
		json_decref(v);
	} else {
		json_object_set_new(obj, last, v);
	}
	return HCR_OK;
}

/* nodeGroups[ng-a]... = value: one item of the complete pool list. */
static int assign_pool(json_t *patch, const struct assignment *a, const json_t *current,
		       const json_t *desired, const char *arg, hcr_error *err)
{
	const char *list_name = a->seg[0].key, *name = a->seg[0].pool;
	const char *key = pool_key(list_name, current, desired);
	json_t *list = json_object_get(patch, list_name), *item, *v;
	const json_t *base = json_object_get(desired, list_name);
	const json_t *now_item = find_pool(json_object_get(current, list_name), key, name, NULL);
	size_t index = 0;

	if (!list) {
		list = json_is_array(base) ? json_deep_copy(base) : json_array();
		json_object_set_new(patch, list_name, list);
	} else if (!json_is_array(list)) {
		return bad(err, arg, "it contradicts an earlier assignment");
	}
	item = find_pool(list, key, name, &index);
	if (a->n > 1) {
		if (!item) {
			item = json_pack("{s:s}", key, name);
			json_array_append_new(list, item);
		}
		return set_path(item, a, 1, stringly(now_item, a, 1), true, arg, err);
	}
	v = parse_value(a->value, false);
	if (json_is_null(v)) {
		if (item)
			json_array_remove(list, index);
		json_decref(v);
		return HCR_OK;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		return bad(err, arg, "a pool is a JSON object");
	}
	json_object_set_new(v, key, json_string(name));
	if (item)
		json_array_set_new(list, index, v);
	else
		json_array_append_new(list, v);
	return HCR_OK;
}

int hcr_cli_patch_assign(json_t *patch, const char *arg, const json_t *current,
			 const json_t *desired, hcr_error *err)
{
	struct assignment a;
	const json_t *now_top;
	int rc;

	rc = parse_assignment(&a, arg, err);
	if (rc != HCR_OK)
		goto done;
	now_top = json_object_get(current, a.seg[0].key);
	if (a.seg[0].pool && now_top && !json_is_array(now_top)) {
		rc = bad(err, arg, "only a pool list takes [name]");
		goto done;
	}
	if (a.seg[0].pool)
		rc = assign_pool(patch, &a, current, desired, arg, err);
	else
		rc = set_path(patch, &a, 0, stringly(current, &a, 0), false, arg, err);
done:
	assignment_free(&a);
	return rc;
}
