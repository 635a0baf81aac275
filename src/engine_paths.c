/*
 * The sync engine's view of documents: paths and how they match the provider's
 * field catalog, flattening a cluster document into {path: value} and back,
 * version comparison, and the desired / observed / effective documents.
 *
 * Pools are keyed by name, never by position, so that a pool added or removed
 * in the cloud never shifts what hcr thinks another pool's fields are; map
 * fields are split key by key so that each tag or label has its own owner.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "hcr/mem.h"

/* ---- catalog ----------------------------------------------------------------------------- */

const hcr_field_spec *hcr_engine_spec_top(const hcr_catalog *cat, const char *name, size_t len)
{
	for (size_t i = 0; cat && i < cat->nspecs; i++) {
		const char *p = cat->specs[i].pattern;

		if (strncmp(p, name, len) == 0 && p[len] == '\0')
			return &cat->specs[i];
	}
	return NULL;
}

const hcr_field_spec *hcr_engine_spec_sub(const hcr_catalog *cat, const char *top, const char *sub,
					  size_t len)
{
	size_t tl = strlen(top);

	for (size_t i = 0; cat && i < cat->nspecs; i++) {
		const char *p = cat->specs[i].pattern;

		if (strncmp(p, top, tl) != 0 || strncmp(p + tl, "[].", 3) != 0)
			continue;
		if (strncmp(p + tl + 3, sub, len) == 0 && p[tl + 3 + len] == '\0')
			return &cat->specs[i];
	}
	return NULL;
}

bool hcr_engine_path_parse(hcr_epath *out, const hcr_catalog *cat, const char *path)
{
	size_t n = strcspn(path, ".[");
	const hcr_field_spec *ts = hcr_engine_spec_top(cat, path, n);

	memset(out, 0, sizeof(*out));
	if (ts && ts->kind == HCR_FK_POOLS && path[n] == '[') {
		const char *name = path + n + 1;
		const char *close = strchr(name, ']');
		const char *rest;
		size_t m;
		const hcr_field_spec *ss;

		if (!close || close == name || (close[1] != '\0' && close[1] != '.'))
			return false;
		out->top = hcr_strndup(path, n);
		out->pool = hcr_strndup(name, (size_t)(close - name));
		out->pools = ts;
		if (close[1] == '\0') {
			out->exists = true;
			out->spec = ts;
			return true;
		}
		rest = close + 2;
		m = strcspn(rest, ".");
		ss = hcr_engine_spec_sub(cat, out->top, rest, m);
		if (ss && ss->kind == HCR_FK_MAP && rest[m] == '.') {
			out->sub = hcr_strndup(rest, m);
			out->key = hcr_strdup(rest + m + 1);
			out->spec = ss;
		} else {
			out->sub = hcr_strdup(rest);
			out->spec = hcr_engine_spec_sub(cat, out->top, rest, strlen(rest));
		}
		return true;
	}
	if (ts && ts->kind == HCR_FK_MAP && path[n] == '.') {
		out->top = hcr_strndup(path, n);
		out->key = hcr_strdup(path + n + 1);
		out->spec = ts;
		return true;
	}
	out->top = hcr_strdup(path);
	out->spec = hcr_engine_spec_top(cat, path, strlen(path));
	return true;
}

void hcr_engine_path_free(hcr_epath *p)
{
	free(p->top);
	free(p->pool);
	free(p->sub);
	free(p->key);
	memset(p, 0, sizeof(*p));
}

const hcr_field_spec *hcr_catalog_find(const hcr_catalog *cat, const char *path)
{
	hcr_epath pp;
	const hcr_field_spec *spec;

	if (!hcr_engine_path_parse(&pp, cat, path))
		return NULL;
	spec = pp.spec;
	hcr_engine_path_free(&pp);
	return spec;
}

bool hcr_engine_path_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '.');
}

/* ---- values ------------------------------------------------------------------------------ */

/* Up to 8 numeric components; "v1.30.2-gke.100" gives 1, 30, 2. */
static bool version_parse(const char *s, unsigned long *c, size_t *n)
{
	*n = 0;
	if (*s == 'v' || *s == 'V')
		s++;
	if (!isdigit((unsigned char)*s))
		return false;
	for (;;) {
		unsigned long v = 0;
		int digits = 0;

		while (isdigit((unsigned char)*s)) {
			if (++digits > 9)
				return false;
			v = v * 10 + (unsigned long)(*s++ - '0');
		}
		if (*n < 8)
			c[(*n)++] = v;
		if (s[0] != '.' || !isdigit((unsigned char)s[1]))
			return true;
		s++;
	}
}

bool hcr_version_compare(const char *a, const char *b, int *out)
{
	unsigned long ca[8], cb[8];
	size_t na, nb;

	if (!a || !b || !version_parse(a, ca, &na) || !version_parse(b, cb, &nb))
		return false;
	*out = 0;
	for (size_t i = 0; i < na || i < nb; i++) {
		unsigned long x = i < na ? ca[i] : 0;
		unsigned long y = i < nb ? cb[i] : 0;

		if (x != y) {
			*out = x < y ? -1 : 1;
			break;
		}
	}
	return true;
}

bool hcr_engine_veq(const hcr_field_spec *spec, const json_t *a, const json_t *b)
{
	int cmp;

	if (!a || json_is_null(a))
		return !b || json_is_null(b);
	if (!b || json_is_null(b))
		return false;
	if (spec && spec->irreversible && json_is_string(a) && json_is_string(b) &&
	    hcr_version_compare(json_string_value(a), json_string_value(b), &cmp))
		return cmp == 0;
	return json_equal(a, b);
}

bool hcr_engine_aeq(const hcr_field_spec *spec, const json_t *desired, const json_t *applied)
{
	return applied && hcr_engine_veq(spec, desired, applied);
}

bool hcr_engine_pushable(const hcr_field_spec *spec)
{
	if (!spec || spec->mutability != HCR_MUT_MUTABLE)
		return false;
	return spec->kind == HCR_FK_POOLS || spec->operation != NULL;
}

bool hcr_engine_diffed(const hcr_field_spec *spec)
{
	return spec && spec->mutability != HCR_MUT_CREATE_ONLY;
}

bool hcr_engine_is_true(const json_t *v)
{
	return json_is_true(v); /* false for NULL */
}

void hcr_engine_jset(json_t **slot, const json_t *v)
{
	json_t *copy = v ? json_deep_copy(v) : NULL;

	json_decref(*slot);
	*slot = copy;
}

void hcr_engine_sset(char **slot, const char *s)
{
	char *copy = hcr_strdup(s);

	free(*slot);
	*slot = copy;
}

/* ---- flatten ----------------------------------------------------------------------------- */

/* Names that would make a path ambiguous: member names may not hold '.', '[' or ']'. */
static int check_name(const char *name, const char *where, hcr_error *err)
{
	if (*name == '\0' || strpbrk(name, ".[]"))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "field name \"%s%s\" is not allowed", where, name);
	return HCR_OK;
}

static void flat_set(json_t *out, const char *path, json_t *v)
{
	json_object_set_new(out, path, json_deep_copy(v));
}

static int flatten_map(json_t *out, const char *prefix, json_t *map, hcr_error *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(map))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "field \"%s\" must be an object", prefix);
	json_object_foreach(map, k, v)
	{
		char *path;

		if (json_is_null(v))
			continue;
		path = hcr_sprintf("%s.%s", prefix, k);
		flat_set(out, path, v);
		free(path);
	}
	return HCR_OK;
}

static int flatten_item(json_t *out, const hcr_catalog *cat, const hcr_field_spec *ps,
			const char *top, const char *name, json_t *item, hcr_error *err)
{
	char *prefix = hcr_sprintf("%s[%s]", top, name);
	const char *k;
	json_t *v;
	int rc = HCR_OK;

	json_object_set_new(out, prefix, json_true());
	json_object_foreach(item, k, v)
	{
		const hcr_field_spec *ss;
		char *path;

		if (strcmp(k, ps->pool_key) == 0 || json_is_null(v))
			continue;
		if ((rc = check_name(k, prefix, err)) != HCR_OK)
			goto done;
		ss = hcr_engine_spec_sub(cat, top, k, strlen(k));
		path = hcr_sprintf("%s.%s", prefix, k);
		if (ss && ss->kind == HCR_FK_MAP)
			rc = flatten_map(out, path, v, err);
		else
			flat_set(out, path, v);
		free(path);
		if (rc != HCR_OK)
			goto done;
	}
done:
	free(prefix);
	return rc;
}

static int flatten_pools(json_t *out, const hcr_catalog *cat, const hcr_field_spec *ps,
			 const char *top, json_t *list, hcr_error *err)
{
	size_t i;
	json_t *item;

	if (!json_is_array(list))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "field \"%s\" must be an array", top);
	json_array_foreach(list, i, item)
	{
		const char *name = json_string_value(json_object_get(item, ps->pool_key));
		char *prefix;
		bool dup;
		int rc;

		if (!json_is_object(item))
			return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
					     "items of \"%s\" must be objects", top);
		if (!name || !*name)
			return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
					     "item %zu of \"%s\" has no \"%s\"", i, top,
					     ps->pool_key);
		if (strchr(name, ']'))
			return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
					     "pool name \"%s\" in \"%s\" may not contain ']'", name,
					     top);
		prefix = hcr_sprintf("%s[%s]", top, name);
		dup = json_object_get(out, prefix) != NULL;
		free(prefix);
		if (dup)
			return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
					     "two items of \"%s\" are named \"%s\"", top, name);
		if ((rc = flatten_item(out, cat, ps, top, name, item, err)) != HCR_OK)
			return rc;
	}
	return HCR_OK;
}

int hcr_engine_flatten(json_t **out, const hcr_catalog *cat, json_t *doc, hcr_error *err)
{
	json_t *flat = json_object();
	const char *k;
	json_t *v;
	int rc = HCR_OK;

	*out = NULL;
	if (!json_is_object(doc)) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				   "a cluster document must be a JSON object");
		goto done;
	}
	json_object_foreach(doc, k, v)
	{
		const hcr_field_spec *ts = hcr_engine_spec_top(cat, k, strlen(k));

		if (json_is_null(v))
			continue;
		if ((rc = check_name(k, "", err)) != HCR_OK)
			goto done;
		if (ts && ts->kind == HCR_FK_MAP)
			rc = flatten_map(flat, k, v, err);
		else if (ts && ts->kind == HCR_FK_POOLS)
			rc = flatten_pools(flat, cat, ts, k, v, err);
		else
			flat_set(flat, k, v);
		if (rc != HCR_OK)
			goto done;
	}
	*out = flat;
	flat = NULL;
done:
	json_decref(flat);
	return rc;
}

/* ---- unflatten --------------------------------------------------------------------------- */

static json_t *child_object(json_t *parent, const char *key)
{
	json_t *o = json_object_get(parent, key);

	if (!json_is_object(o)) {
		o = json_object();
		json_object_set_new(parent, key, o);
	}
	return o;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* {top: {name: item}} into doc[top] = [item...] sorted by name. */
static void pools_to_arrays(json_t *doc, json_t *pools)
{
	const char *top;
	json_t *byname;

	json_object_foreach(pools, top, byname)
	{
		size_t n = json_object_size(byname), i = 0;
		const char **names = hcr_calloc(n ? n : 1, sizeof(*names));
		json_t *arr = json_array();
		const char *name;
		json_t *item;

		json_object_foreach(byname, name, item)
		{
			names[i++] = name;
		}
		qsort(names, n, sizeof(*names), name_cmp);
		for (i = 0; i < n; i++)
			json_array_append(arr, json_object_get(byname, names[i]));
		json_object_set_new(doc, top, arr);
		free(names);
	}
}

json_t *hcr_engine_unflatten(const hcr_catalog *cat, json_t *flat)
{
	json_t *doc = json_object();
	json_t *pools = json_object();
	const char *path;
	json_t *v;

	json_object_foreach(flat, path, v)
	{
		hcr_epath pp;

		if (!hcr_engine_path_parse(&pp, cat, path)) {
			json_object_set_new(doc, path, json_deep_copy(v));
			continue;
		}
		if (pp.pool) {
			json_t *item = json_object_get(child_object(pools, pp.top), pp.pool);

			if (!item) {
				item = json_pack("{ss}", pp.pools->pool_key, pp.pool);
				json_object_set_new(json_object_get(pools, pp.top), pp.pool, item);
			}
			if (pp.key)
				json_object_set_new(child_object(item, pp.sub), pp.key,
						    json_deep_copy(v));
			else if (!pp.exists)
				json_object_set_new(item, pp.sub, json_deep_copy(v));
		} else if (pp.key) {
			json_object_set_new(child_object(doc, pp.top), pp.key, json_deep_copy(v));
		} else {
			json_object_set_new(doc, pp.top, json_deep_copy(v));
		}
		hcr_engine_path_free(&pp);
	}
	pools_to_arrays(doc, pools);
	json_decref(pools);
	return doc;
}

/* ---- documents --------------------------------------------------------------------------- */

static bool managed(const hcr_field *f)
{
	return f->owner == HCR_OWNER_HCR && f->desired;
}

json_t *hcr_engine_desired(const hcr_catalog *cat, const hcr_fieldset *fs)
{
	json_t *flat = json_object();
	json_t *doc;

	for (size_t i = 0; i < fs->n; i++) {
		const hcr_field *f = &fs->items[i];

		/* JSON null is a managed absence (a tag to remove, a pool to delete). */
		if (managed(f) && !json_is_null(f->desired))
			json_object_set(flat, f->path, f->desired);
	}
	doc = hcr_engine_unflatten(cat, flat);
	json_decref(flat);
	return doc;
}

json_t *hcr_engine_observed(const hcr_catalog *cat, const hcr_fieldset *fs)
{
	json_t *flat = json_object();
	json_t *doc;

	for (size_t i = 0; i < fs->n; i++) {
		const hcr_field *f = &fs->items[i];

		if (f->observed && !json_is_null(f->observed))
			json_object_set(flat, f->path, f->observed);
	}
	doc = hcr_engine_unflatten(cat, flat);
	json_decref(flat);
	return doc;
}

static const json_t *effective_value(const hcr_field *f)
{
	const json_t *v = managed(f) ? f->desired : f->observed;

	return v && !json_is_null(v) ? v : NULL;
}

json_t *hcr_engine_effective(const hcr_catalog *cat, const hcr_fieldset *fs)
{
	json_t *flat = json_object();
	json_t *gone = json_object(); /* pools that will not exist: their fields are left out */
	json_t *doc;
	size_t i;

	for (i = 0; i < fs->n; i++) {
		hcr_epath pp;

		if (!hcr_engine_path_parse(&pp, cat, fs->items[i].path))
			continue;
		if (pp.exists && !effective_value(&fs->items[i]))
			json_object_set_new(gone, fs->items[i].path, json_true());
		hcr_engine_path_free(&pp);
	}
	for (i = 0; i < fs->n; i++) {
		const hcr_field *f = &fs->items[i];
		const json_t *v = effective_value(f);
		size_t n = strcspn(f->path, "]");

		if (!v)
			continue;
		if (f->path[n] == ']') {
			char *pool = hcr_strndup(f->path, n + 1);
			bool skip = json_object_get(gone, pool) != NULL;

			free(pool);
			if (skip)
				continue;
		}
		json_object_set(flat, f->path, (json_t *)v);
	}
	doc = hcr_engine_unflatten(cat, flat);
	json_decref(flat);
	json_decref(gone);
	return doc;
}

json_t *hcr_engine_pool_object(const hcr_fieldset *fs, const hcr_catalog *cat,
			       const char *pool_path)
{
	json_t *flat = json_object();
	json_t *doc, *item = NULL;
	const char *k;
	json_t *arr;

	json_object_set_new(flat, pool_path, json_true());
	for (size_t i = 0; i < fs->n; i++) {
		const hcr_field *f = &fs->items[i];

		if (strcmp(f->path, pool_path) != 0 && hcr_engine_path_under(f->path, pool_path) &&
		    managed(f) && !json_is_null(f->desired))
			json_object_set(flat, f->path, f->desired);
	}
	doc = hcr_engine_unflatten(cat, flat);
	json_object_foreach(doc, k, arr)
	{
		if (json_is_array(arr) && json_array_size(arr) == 1)
			item = json_incref(json_array_get(arr, 0));
	}
	json_decref(doc);
	json_decref(flat);
	return item ? item : json_object();
}
