/*
 * The sync engine's state and the user's side of it: the fieldset, events and
 * status transitions, edits (merge patches and created clusters) and the
 * drift report. Refresh lives in engine_refresh.c, the plan and operation
 * bookkeeping in engine_plan.c, paths and documents in engine_paths.c;
 * docs/sync/engine.md explains the rules.
 *
 * Edits work on a copy of the fieldset and replace it only when every field
 * of the patch was accepted, so a refused patch leaves nothing half-applied.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "hcr/json.h"
#include "hcr/mem.h"

/* ---- fieldset ---------------------------------------------------------------------------- */

static void field_free(hcr_field *f)
{
	free(f->path);
	json_decref(f->desired);
	json_decref(f->observed);
	json_decref(f->applied);
	json_decref(f->sent);
	free(f->applied_op);
	free(f->inflight_op);
	free(f->reason);
	memset(f, 0, sizeof(*f));
}

void hcr_fieldset_free(hcr_fieldset *fs)
{
	if (!fs)
		return;
	for (size_t i = 0; i < fs->n; i++)
		field_free(&fs->items[i]);
	free(fs->items);
	memset(fs, 0, sizeof(*fs));
}

/* The index of `path`, or where it would be inserted (with *found false). */
static size_t find(const hcr_fieldset *fs, const char *path, bool *found)
{
	size_t lo = 0, hi = fs->n;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(fs->items[mid].path, path);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

hcr_field *hcr_fieldset_get(const hcr_fieldset *fs, const char *path)
{
	bool found;
	size_t i = find(fs, path, &found);

	return found ? &fs->items[i] : NULL;
}

hcr_field *hcr_fieldset_upsert(hcr_fieldset *fs, const char *path)
{
	bool found;
	size_t i = find(fs, path, &found);

	if (found)
		return &fs->items[i];
	if (fs->n == fs->cap) {
		fs->cap = fs->cap ? fs->cap * 2 : 16;
		fs->items = hcr_realloc(fs->items, fs->cap * sizeof(*fs->items));
	}
	memmove(&fs->items[i + 1], &fs->items[i], (fs->n - i) * sizeof(*fs->items));
	memset(&fs->items[i], 0, sizeof(fs->items[i]));
	fs->items[i].path = hcr_strdup(path);
	fs->n++;
	return &fs->items[i];
}

void hcr_fieldset_copy(hcr_fieldset *out, const hcr_fieldset *src)
{
	memset(out, 0, sizeof(*out));
	if (src->n == 0)
		return;
	out->items = hcr_calloc(src->n, sizeof(*out->items));
	out->n = out->cap = src->n;
	for (size_t i = 0; i < src->n; i++) {
		const hcr_field *s = &src->items[i];
		hcr_field *d = &out->items[i];

		*d = *s;
		d->path = hcr_strdup(s->path);
		d->desired = s->desired ? json_deep_copy(s->desired) : NULL;
		d->observed = s->observed ? json_deep_copy(s->observed) : NULL;
		d->applied = s->applied ? json_deep_copy(s->applied) : NULL;
		d->sent = s->sent ? json_deep_copy(s->sent) : NULL;
		d->applied_op = hcr_strdup(s->applied_op);
		d->inflight_op = hcr_strdup(s->inflight_op);
		d->reason = hcr_strdup(s->reason);
	}
}

/* ---- names ------------------------------------------------------------------------------- */

static const char *const status_names[] = {"in_sync", "pending",  "applying",
					   "failed",  "conflict", "blocked"};
static const char *const policy_names[] = {"adopt", "enforce", "prefer_upstream"};
static const char *const owner_names[] = {"external", "hcr"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool name_index(const char *const *names, size_t n, const char *name, int *out)
{
	for (size_t i = 0; name && i < n; i++) {
		if (strcmp(names[i], name) == 0) {
			*out = (int)i;
			return true;
		}
	}
	return false;
}

const char *hcr_field_status_name(hcr_field_status s)
{
	return (size_t)s < NELEM(status_names) ? status_names[s] : "unknown";
}

bool hcr_field_status_parse(const char *name, hcr_field_status *out)
{
	int i;

	if (!name_index(status_names, NELEM(status_names), name, &i))
		return false;
	*out = (hcr_field_status)i;
	return true;
}

const char *hcr_owner_name(hcr_owner o)
{
	return (size_t)o < NELEM(owner_names) ? owner_names[o] : "unknown";
}

bool hcr_owner_parse(const char *name, hcr_owner *out)
{
	int i;

	if (!name_index(owner_names, NELEM(owner_names), name, &i))
		return false;
	*out = (hcr_owner)i;
	return true;
}

const char *hcr_policy_name(hcr_policy p)
{
	return (size_t)p < NELEM(policy_names) ? policy_names[p] : "unknown";
}

bool hcr_policy_parse(const char *name, hcr_policy *out)
{
	int i;

	if (!name_index(policy_names, NELEM(policy_names), name, &i))
		return false;
	*out = (hcr_policy)i;
	return true;
}

/* ---- events and transitions -------------------------------------------------------------- */

static json_t *copy_or_null(const json_t *v)
{
	return v ? json_deep_copy(v) : json_null();
}

void hcr_engine_event(json_t *events, const char *kind, const char *path, const json_t *old,
		      const json_t *nv, const char *operation, const char *message)
{
	json_t *e;

	if (!events)
		return;
	e = json_object();
	json_object_set_new(e, "kind", json_string(kind));
	json_object_set_new(e, "path", path ? json_string(path) : json_null());
	json_object_set_new(e, "old", copy_or_null(old));
	json_object_set_new(e, "new", copy_or_null(nv));
	json_object_set_new(e, "operation", operation ? json_string(operation) : json_null());
	json_object_set_new(e, "message", message ? json_string(message) : json_null());
	json_array_append_new(events, e);
}

static bool str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

void hcr_engine_set_status(hcr_field *f, hcr_field_status st, const char *reason, double now,
			   json_t *events)
{
	if (f->status == st && str_same(f->reason, reason))
		return;
	if (f->status != st)
		f->since = now;
	f->status = st;
	hcr_engine_sset(&f->reason, reason);
	if (st == HCR_FS_PENDING || st == HCR_FS_APPLYING || st == HCR_FS_FAILED ||
	    st == HCR_FS_BLOCKED)
		hcr_engine_event(events, hcr_field_status_name(st), f->path, NULL, f->desired,
				 f->inflight_op, reason);
}

void hcr_engine_release(hcr_field *f, double now, json_t *events)
{
	if (f->owner == HCR_OWNER_HCR || f->desired)
		hcr_engine_event(events, "released", f->path, f->desired, NULL, NULL, NULL);
	f->owner = HCR_OWNER_EXTERNAL;
	hcr_engine_jset(&f->desired, NULL);
	f->desired_at = now;
	/* A base kept from the managed days would make a later claim look applied. */
	hcr_engine_jset(&f->applied, NULL);
	hcr_engine_sset(&f->applied_op, NULL);
	f->applied_at = 0;
	hcr_engine_set_status(f, f->inflight_op ? HCR_FS_APPLYING : HCR_FS_IN_SYNC, NULL, now,
			      NULL);
}

/* ---- edits ------------------------------------------------------------------------------- */

typedef struct edit_ctx {
	hcr_fieldset *fs; /* the working copy */
	const hcr_edit_opts *o;
	json_t *events; /* collected here, handed over on success */
	hcr_error *err;
} edit_ctx;

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of `obj` in sorted order (borrowed; free the array only). */
static const char **sorted_keys(json_t *obj, size_t *n)
{
	const char **keys = hcr_calloc(json_object_size(obj) + 1, sizeof(*keys));
	const char *k;
	json_t *v;

	*n = 0;
	json_object_foreach(obj, k, v)
	{
		keys[(*n)++] = k;
	}
	qsort(keys, *n, sizeof(*keys), name_cmp);
	return keys;
}

static bool pool_observed(const hcr_fieldset *fs, const hcr_epath *pp)
{
	char *pool_path;
	const hcr_field *pf;

	if (!pp->pool)
		return false;
	pool_path = hcr_sprintf("%s[%s]", pp->top, pp->pool);
	pf = hcr_fieldset_get(fs, pool_path);
	free(pool_path);
	return pf && hcr_engine_is_true(pf->observed);
}

static const json_t *effective_of(const hcr_field *f)
{
	if (!f)
		return NULL;
	return f->owner == HCR_OWNER_HCR && f->desired ? f->desired : f->observed;
}

/* Refuses changes the cloud cannot make to what already exists. */
static int check_mutable(edit_ctx *c, const hcr_epath *pp, const char *path, const json_t *value)
{
	const hcr_field_spec *spec = pp->spec;
	const char *what = pp->pool ? "pool" : "cluster";
	const hcr_field *f = hcr_fieldset_get(c->fs, path);
	char *cur, *want;

	if (pp->exists || !c->o->exists || (pp->pool && !pool_observed(c->fs, pp)))
		return HCR_OK;
	if (hcr_engine_pushable(spec) || hcr_engine_veq(spec, effective_of(f), value))
		return HCR_OK;
	if (spec && spec->mutability == HCR_MUT_IMMUTABLE) {
		hcr_error_set(c->err, HCR_EINVALID, HCR_ERR_INVALID,
			      "field \"%s\" cannot be changed once the %s exists", path, what);
		hcr_error_hint(c->err, "create a new %s with the new value", what);
	} else if (spec && spec->mutability == HCR_MUT_CREATE_ONLY) {
		hcr_error_set(c->err, HCR_EINVALID, HCR_ERR_INVALID,
			      "field \"%s\" can only be set when the %s is created", path, what);
		hcr_error_hint(c->err, "create a new %s with the new value", what);
	} else {
		hcr_error_set(
			c->err, HCR_EINVALID, HCR_ERR_INVALID,
			"field \"%s\" cannot be changed: provider \"%s\" has no operation for it",
			path, c->o->cat && c->o->cat->provider ? c->o->cat->provider : "?");
	}
	cur = hcr_json_dumps(effective_of(f) ? effective_of(f) : json_null());
	want = hcr_json_dumps(value);
	hcr_error_detail(c->err, "current value %s, requested %s", cur, want);
	free(cur);
	free(want);
	return HCR_EINVALID;
}

/*
 * Refuses a version lower than what the cloud has, what hcr applied, or what
 * an operation is carrying now. A pending upgrade never sent may be lowered.
 */
static int check_irreversible(edit_ctx *c, const hcr_epath *pp, const char *path,
			      const json_t *value)
{
	const hcr_field *f = hcr_fieldset_get(c->fs, path);
	const json_t *refs[3];
	const char *want = json_string_value(value);

	if (!pp->spec || !pp->spec->irreversible || !want || !f)
		return HCR_OK;
	refs[0] = f->observed;
	refs[1] = f->applied;
	refs[2] = f->inflight_op ? f->sent : NULL;
	for (size_t i = 0; i < NELEM(refs); i++) {
		const char *have = json_string_value(refs[i]);
		int cmp;

		if (!have || !hcr_version_compare(want, have, &cmp) || cmp >= 0)
			continue;
		hcr_error_set(c->err, HCR_EINVALID, HCR_ERR_INVALID,
			      "field \"%s\" cannot go down from \"%s\" to \"%s\"", path, have,
			      want);
		hcr_error_detail(c->err, "%s",
				 i == 0   ? "the cloud runs the higher version"
				 : i == 1 ? "hcr has applied the higher version"
					  : "an operation is applying the higher version");
		hcr_error_hint(c->err, "versions only move forward; ask for \"%s\" or later", have);
		return HCR_EINVALID;
	}
	return HCR_OK;
}

/* Agrees with a fresh observation: its value becomes the base for later changes. */
static void agree(hcr_field *f)
{
	if (f->applied && hcr_engine_veq(NULL, f->applied, f->observed))
		return;
	hcr_engine_jset(&f->applied, f->observed ? f->observed : json_null());
	hcr_engine_sset(&f->applied_op, NULL);
	f->applied_at = f->observed_at;
}

/* Makes `path` managed with `value` (borrowed; JSON null = managed absence). */
static int set_desired(edit_ctx *c, const char *path, const json_t *value)
{
	hcr_epath pp;
	hcr_field *f;
	json_t *old;
	int rc;

	if (!hcr_engine_path_parse(&pp, c->o->cat, path))
		return hcr_error_set(c->err, HCR_EINVALID, HCR_ERR_INVALID,
				     "field \"%s\" is not a valid path", path);
	f = hcr_fieldset_get(c->fs, path);
	if (f && f->owner == HCR_OWNER_HCR && f->desired && json_equal(f->desired, value)) {
		rc = HCR_OK;
		goto done;
	}
	if ((rc = check_mutable(c, &pp, path, value)) != HCR_OK ||
	    (rc = check_irreversible(c, &pp, path, value)) != HCR_OK)
		goto done;
	f = hcr_fieldset_upsert(c->fs, path);
	old = f->desired;
	f->desired = json_deep_copy(value);
	f->owner = HCR_OWNER_HCR;
	f->desired_at = c->o->now;
	hcr_engine_event(c->events, "desired_set", path, old, value, NULL, NULL);
	json_decref(old);
	if (f->inflight_op) {
		/* op_finished sees desired != sent and leaves it pending. */
	} else if (hcr_engine_veq(pp.spec, f->desired, f->observed) &&
		   f->observed_at >= f->applied_at) {
		hcr_engine_set_status(f, HCR_FS_IN_SYNC, NULL, c->o->now, c->events);
		agree(f);
	} else {
		hcr_engine_set_status(f, HCR_FS_PENDING, NULL, c->o->now, c->events);
		/*
		 * Taking over a field from the cloud: the value the user saw is the
		 * base, so a cloud change before the push is a conflict.
		 */
		if (!f->applied && f->observed && !pp.exists) {
			hcr_engine_jset(&f->applied, f->observed);
			f->applied_at = f->observed_at;
		}
	}
done:
	hcr_engine_path_free(&pp);
	return rc;
}

static void release_path(edit_ctx *c, const char *path)
{
	hcr_field *f = hcr_fieldset_get(c->fs, path);

	if (f && (f->owner == HCR_OWNER_HCR || f->desired))
		hcr_engine_release(f, c->o->now, c->events);
}

/* Paths of managed fields for which `pick` holds, copied (the fieldset may move). */
static json_t *managed_paths(const hcr_fieldset *fs, bool (*pick)(const char *path, void *arg),
			     void *arg)
{
	json_t *out = json_array();

	for (size_t i = 0; i < fs->n; i++) {
		const hcr_field *f = &fs->items[i];

		if ((f->owner == HCR_OWNER_HCR || f->desired) && pick(f->path, arg))
			json_array_append_new(out, json_string(f->path));
	}
	return out;
}

static bool pick_prefix(const char *path, void *arg)
{
	return strncmp(path, (const char *)arg, strlen((const char *)arg)) == 0;
}

static bool pick_under(const char *path, void *arg)
{
	return hcr_engine_path_under(path, (const char *)arg);
}

static void release_picked(edit_ctx *c, bool (*pick)(const char *, void *), void *arg)
{
	json_t *paths = managed_paths(c->fs, pick, arg);
	size_t i;
	json_t *p;

	json_array_foreach(paths, i, p)
	{
		release_path(c, json_string_value(p));
	}
	json_decref(paths);
}

/* RFC 7396 merge of `patch` into `target` (stolen); a new reference. */
static json_t *merge_patch(json_t *target, json_t *patch)
{
	const char *k;
	json_t *v;

	if (!json_is_object(patch)) {
		json_decref(target);
		return json_deep_copy(patch);
	}
	if (!json_is_object(target)) {
		json_decref(target);
		target = json_object();
	}
	json_object_foreach(patch, k, v)
	{
		if (json_is_null(v))
			json_object_del(target, k);
		else
			json_object_set_new(
				target, k, merge_patch(json_incref(json_object_get(target, k)), v));
	}
	return target;
}

static int edit_leaf(edit_ctx *c, const char *path, json_t *v)
{
	const json_t *base;
	json_t *value;
	int rc;

	if (json_is_null(v)) {
		release_path(c, path);
		return HCR_OK;
	}
	if (strpbrk(path, ".[]"))
		return hcr_error_set(c->err, HCR_EINVALID, HCR_ERR_INVALID,
				     "field name \"%s\" is not allowed", path);
	base = effective_of(hcr_fieldset_get(c->fs, path));
	value = json_is_object(v) ? merge_patch(base ? json_deep_copy(base) : NULL, v)
				  : json_incref(v);
	rc = set_desired(c, path, value);
	json_decref(value);
	return rc;
}

static int edit_map(edit_ctx *c, const char *top, json_t *v)
{
	char *prefix = hcr_sprintf("%s.", top);
	const char **keys = NULL;
	size_t n;
	int rc = HCR_OK;

	if (json_is_null(v)) {
		release_picked(c, pick_prefix, prefix);
		goto done;
	}
	if (!json_is_object(v)) {
		rc = hcr_error_set(c->err, HCR_EINVALID, HCR_ERR_INVALID,
				   "field \"%s\" must be an object", top);
		goto done;
	}
	keys = sorted_keys(v, &n);
	for (size_t i = 0; i < n && rc == HCR_OK; i++) {
		char *path = hcr_sprintf("%s%s", prefix, keys[i]);

		/* JSON null: remove the key (a managed absence). */
		rc = set_desired(c, path, json_object_get(v, keys[i]));
		free(path);
	}
done:
	free(keys);
	free(prefix);
	return rc;
}

/* A managed pool the new list leaves out: delete what hcr applied, forget the rest. */
static int drop_pool(edit_ctx *c, const char *pool_path)
{
	hcr_field *pf = hcr_fieldset_get(c->fs, pool_path);
	json_t *subs;
	size_t i;
	json_t *p;
	int rc = HCR_OK;

	subs = managed_paths(c->fs, pick_under, (void *)pool_path);
	json_array_foreach(subs, i, p)
	{
		if (strcmp(json_string_value(p), pool_path) != 0)
			release_path(c, json_string_value(p));
	}
	json_decref(subs);
	if (!pf || !pf->desired || json_is_null(pf->desired))
		return HCR_OK;
	if (hcr_engine_is_true(pf->applied) || pf->inflight_op)
		rc = set_desired(c, pool_path, json_null());
	else
		release_path(c, pool_path);
	return rc;
}

/* Whether `item` holds the map member `sub` (so missing managed keys are removals). */
static bool item_has_map(json_t *item, const char *sub)
{
	return sub && json_is_object(json_object_get(item, sub));
}

static int keep_pool(edit_ctx *c, const char *pool_path, json_t *flat, json_t *item)
{
	hcr_field *pf = hcr_fieldset_get(c->fs, pool_path);
	bool in_cloud = pf && hcr_engine_is_true(pf->observed);
	const char **keys = NULL;
	json_t *old;
	size_t n, i;
	json_t *p;
	int rc = HCR_OK;

	/* An external pool in the list stays external: listing it is not taking it over. */
	if (!in_cloud || (pf->owner == HCR_OWNER_HCR && pf->desired))
		rc = set_desired(c, pool_path, json_true());
	keys = sorted_keys(flat, &n);
	for (i = 0; i < n && rc == HCR_OK; i++) {
		json_t *v = json_object_get(flat, keys[i]);
		const hcr_field *f;
		hcr_epath pp;

		if (strcmp(keys[i], pool_path) == 0 || !hcr_engine_path_under(keys[i], pool_path))
			continue;
		f = hcr_fieldset_get(c->fs, keys[i]);
		if (in_cloud && !(f && f->owner == HCR_OWNER_HCR && f->desired)) {
			bool same = false;

			if (hcr_engine_path_parse(&pp, c->o->cat, keys[i])) {
				same = f && hcr_engine_veq(pp.spec, f->observed, v);
				hcr_engine_path_free(&pp);
			}
			if (same)
				continue;
		}
		rc = set_desired(c, keys[i], v);
	}
	free(keys);
	if (rc != HCR_OK)
		return rc;
	old = managed_paths(c->fs, pick_under, (void *)pool_path);
	json_array_foreach(old, i, p)
	{
		const char *path = json_string_value(p);
		const hcr_field *f = hcr_fieldset_get(c->fs, path);
		hcr_epath pp;

		if (strcmp(path, pool_path) == 0 || json_object_get(flat, path) || !f->desired ||
		    !hcr_engine_path_parse(&pp, c->o->cat, path))
			continue;
		if (pp.key && item_has_map(item, pp.sub))
			rc = json_is_null(f->desired) ? HCR_OK : set_desired(c, path, json_null());
		else
			release_path(c, path);
		hcr_engine_path_free(&pp);
		if (rc != HCR_OK)
			break;
	}
	json_decref(old);
	return rc;
}

static json_t *find_item(json_t *list, const char *key, const char *name)
{
	size_t i;
	json_t *item;

	json_array_foreach(list, i, item)
	{
		if (str_same(json_string_value(json_object_get(item, key)), name))
			return item;
	}
	return NULL;
}

static int edit_pools(edit_ctx *c, const hcr_field_spec *ps, const char *top, json_t *v)
{
	char *prefix = hcr_sprintf("%s[", top);
	json_t *wrap = NULL, *flat = NULL, *managed = NULL;
	size_t i;
	json_t *p;
	int rc = HCR_OK;

	if (json_is_null(v)) {
		release_picked(c, pick_prefix, prefix);
		goto done;
	}
	wrap = json_pack("{sO}", top, v);
	if ((rc = hcr_engine_flatten(&flat, c->o->cat, wrap, c->err)) != HCR_OK)
		goto done;
	/* Pools with managed fields that the list leaves out. */
	managed = managed_paths(c->fs, pick_prefix, prefix);
	json_array_foreach(managed, i, p)
	{
		const char *path = json_string_value(p);
		char *pool_path = hcr_strndup(path, strcspn(path, "]") + 1);

		if (!json_object_get(flat, pool_path))
			rc = drop_pool(c, pool_path);
		free(pool_path);
		if (rc != HCR_OK)
			goto done;
	}
	json_array_foreach(v, i, p)
	{
		const char *name = json_string_value(json_object_get(p, ps->pool_key));
		char *pool_path = hcr_sprintf("%s[%s]", top, name);

		rc = keep_pool(c, pool_path, flat, find_item(v, ps->pool_key, name));
		free(pool_path);
		if (rc != HCR_OK)
			goto done;
	}
done:
	json_decref(managed);
	json_decref(flat);
	json_decref(wrap);
	free(prefix);
	return rc;
}

int hcr_engine_edit(hcr_fieldset *fs, const hcr_edit_opts *o, json_t *patch, json_t *events,
		    hcr_error *err)
{
	edit_ctx c = {.o = o, .err = err};
	hcr_fieldset work;
	const char **keys = NULL;
	size_t n;
	int rc = HCR_OK;

	if (!json_is_object(patch))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "a patch must be a JSON object");
	hcr_fieldset_copy(&work, fs);
	c.fs = &work;
	c.events = json_array();
	keys = sorted_keys(patch, &n);
	for (size_t i = 0; i < n && rc == HCR_OK; i++) {
		const hcr_field_spec *ts = hcr_engine_spec_top(o->cat, keys[i], strlen(keys[i]));
		json_t *v = json_object_get(patch, keys[i]);

		if (ts && ts->kind == HCR_FK_MAP)
			rc = edit_map(&c, keys[i], v);
		else if (ts && ts->kind == HCR_FK_POOLS)
			rc = edit_pools(&c, ts, keys[i], v);
		else
			rc = edit_leaf(&c, keys[i], v);
	}
	if (rc != HCR_OK)
		goto done;
	hcr_fieldset_free(fs);
	*fs = work;
	memset(&work, 0, sizeof(work));
	if (events)
		json_array_extend(events, c.events);
done:
	free(keys);
	hcr_fieldset_free(&work);
	json_decref(c.events);
	return rc;
}

int hcr_engine_init_created(hcr_fieldset *fs, const hcr_catalog *cat, json_t *config, double now,
			    json_t *events, hcr_error *err)
{
	json_t *flat = NULL;
	const char **keys = NULL;
	size_t n;
	int rc;

	if ((rc = hcr_engine_flatten(&flat, cat, config, err)) != HCR_OK)
		return rc;
	keys = sorted_keys(flat, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_object_get(flat, keys[i]);
		hcr_field *f = hcr_fieldset_upsert(fs, keys[i]);
		hcr_epath pp;
		bool pool = hcr_engine_path_parse(&pp, cat, keys[i]) && pp.pool;
		const hcr_field_spec *spec = pp.spec;

		hcr_engine_path_free(&pp);
		hcr_engine_event(events, "desired_set", keys[i], f->desired, v, NULL,
				 "cluster created");
		hcr_engine_jset(&f->desired, v);
		f->owner = HCR_OWNER_HCR;
		f->desired_at = now;
		f->since = now;
		if (pool) {
			f->status = HCR_FS_PENDING;
		} else if (!hcr_engine_diffed(spec)) {
			f->status = HCR_FS_IN_SYNC;
		} else {
			hcr_engine_jset(&f->applied, v);
			hcr_engine_sset(&f->applied_op, NULL);
			f->applied_at = now;
			f->status = HCR_FS_APPLYING;
		}
	}
	free(keys);
	json_decref(flat);
	return HCR_OK;
}

/* ---- drift ------------------------------------------------------------------------------- */

json_t *hcr_engine_drift(const hcr_catalog *cat, const hcr_fieldset *fs)
{
	json_t *out = json_array();

	for (size_t i = 0; i < fs->n; i++) {
		const hcr_field *f = &fs->items[i];
		const hcr_field_spec *spec;

		if (f->owner != HCR_OWNER_HCR || !f->desired)
			continue;
		spec = hcr_catalog_find(cat, f->path);
		if (f->status == HCR_FS_IN_SYNC &&
		    (!hcr_engine_diffed(spec) || hcr_engine_veq(spec, f->desired, f->observed)))
			continue;
		json_array_append_new(
			out,
			json_pack("{ss ss so? sf so so so}", "path", f->path, "state",
				  hcr_field_status_name(f->status), "reason",
				  f->reason ? json_string(f->reason) : json_null(), "since",
				  f->since, "desired", copy_or_null(f->desired), "observed",
				  copy_or_null(f->observed), "applied", copy_or_null(f->applied)));
	}
	return out;
}
