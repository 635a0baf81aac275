/*
 * Refresh: what the sync engine does with one observation of a cluster.
 *
 * Every observed value is recorded; then, unless the cloud or hcr is busy,
 * each managed field is decided as a three-way merge of desired (ours),
 * observed (theirs) and applied (the base: what hcr applied, or last saw the
 * cloud agree with). The order matters: pools are decided before their fields,
 * because a pool deleted outside hcr takes its fields with it.
 *
 * Two guards keep hcr from undoing its own work: an observation that started
 * before a field's last apply completed is stale for that field (the cloud can
 * report the old value for a while after accepting a change, eks-operator#752),
 * and a field carried by an operation in flight is only observed.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "hcr/mem.h"

static void record(hcr_field *f, const hcr_epath *pp, json_t *v, const hcr_refresh_opts *o,
		   json_t *events)
{
	bool managed = f->owner == HCR_OWNER_HCR && f->desired;
	bool first = f->observed_at <= 0 && !f->observed;
	const char *kind;

	if (o->observed_at < f->observed_at)
		return; /* an older observation than the one recorded */
	if (!hcr_engine_veq(NULL, f->observed, v) || (f->observed && !v)) {
		if (pp->exists && !managed && v)
			kind = "pool_external";
		else if (managed || first)
			kind = "observed_changed";
		else
			kind = "external_change";
		hcr_engine_event(events, kind, f->path, f->observed, v, NULL, NULL);
		hcr_engine_jset(&f->observed, v);
		f->observed_at = o->observed_at;
	} else if (first || (f->observed_at < f->applied_at && o->observed_at >= f->applied_at)) {
		/* A first look, or the same value confirmed by an observation newer than
		 * the last apply. */
		f->observed_at = o->observed_at;
	}
	/*
	 * Otherwise observed_at stays when the value was first seen: an unchanged
	 * cloud then rewrites no field row at all (the cluster row keeps the time
	 * of the latest observation).
	 */
}

/* The cloud's value becomes desired and applied. An absent leaf hands the field back. */
static void adopt(hcr_field *f, const hcr_epath *pp, const char *kind, const char *message,
		  const hcr_refresh_opts *o, json_t *events)
{
	const json_t *v = f->observed;

	hcr_engine_event(events, kind, f->path, f->desired, v, NULL, message);
	if (!v && !pp->key) {
		hcr_engine_release(f, o->now, NULL);
		return;
	}
	hcr_engine_jset(&f->desired, v ? v : json_null());
	hcr_engine_jset(&f->applied, v ? v : json_null());
	hcr_engine_sset(&f->applied_op, NULL);
	f->applied_at = f->observed_at;
	f->desired_at = o->now;
	hcr_engine_set_status(f, HCR_FS_IN_SYNC, NULL, o->now, events);
}

static void confirm(hcr_field *f, const hcr_refresh_opts *o, json_t *events)
{
	if (f->status == HCR_FS_APPLYING)
		hcr_engine_event(events, "applied", f->path, NULL, f->desired, f->applied_op,
				 "confirmed by observation");
	hcr_engine_set_status(f, HCR_FS_IN_SYNC, NULL, o->now, events);
	if (!f->applied || !hcr_engine_veq(NULL, f->applied, f->observed)) {
		hcr_engine_jset(&f->applied, f->observed ? f->observed : json_null());
		hcr_engine_sset(&f->applied_op, NULL);
		f->applied_at = f->observed_at;
	}
}

/* Hands a pool and all its fields back to the cloud. */
static void release_pool(hcr_fieldset *fs, const char *pool_path, const hcr_refresh_opts *o)
{
	for (size_t i = 0; i < fs->n; i++) {
		if (hcr_engine_path_under(fs->items[i].path, pool_path))
			hcr_engine_release(&fs->items[i], o->now, NULL);
	}
}

static void decide_pool(hcr_fieldset *fs, hcr_field *f, const hcr_refresh_opts *o, json_t *events)
{
	bool in_cloud = hcr_engine_is_true(f->observed);

	if (!f->desired) {
		hcr_engine_set_status(f, HCR_FS_IN_SYNC, NULL, o->now, events);
		return;
	}
	if (hcr_engine_is_true(f->desired)) {
		if (in_cloud) {
			confirm(f, o, events);
		} else if (f->status == HCR_FS_FAILED) {
			/* a failed create is retried by the plan */
		} else if (hcr_engine_is_true(f->applied) && o->policy != HCR_POLICY_ENFORCE) {
			/* rancher#28967, #29023: a deletion made outside hcr is kept. */
			hcr_engine_event(events, "adopted", f->path, f->desired, NULL, NULL,
					 "pool deleted outside hcr; not recreated");
			release_pool(fs, f->path, o);
		} else {
			hcr_engine_set_status(f, HCR_FS_PENDING,
					      hcr_engine_is_true(f->applied)
						      ? "deleted outside hcr; recreated (enforce)"
						      : NULL,
					      o->now, events);
		}
		return;
	}
	/* desired JSON null: hcr is to delete the pool */
	if (in_cloud) {
		if (f->status != HCR_FS_FAILED)
			hcr_engine_set_status(f, HCR_FS_PENDING, NULL, o->now, events);
		return;
	}
	if (f->status == HCR_FS_APPLYING)
		hcr_engine_event(events, "applied", f->path, NULL, NULL, f->applied_op,
				 "pool deletion confirmed by observation");
	release_pool(fs, f->path, o);
}

static void decide_conflict_or_pending(hcr_field *f, const hcr_epath *pp, const hcr_refresh_opts *o,
				       json_t *events)
{
	const hcr_field_spec *spec = pp->spec;
	bool conflict = f->applied && !hcr_engine_veq(spec, f->observed, f->applied);
	char *reason = NULL;

	if (conflict && o->policy == HCR_POLICY_PREFER_UPSTREAM) {
		hcr_engine_event(events, "conflict", f->path, f->desired, f->observed, NULL,
				 "edited here and changed in the cloud; the cloud wins "
				 "(prefer_upstream)");
		adopt(f, pp, "adopted", "prefer_upstream", o, events);
		return;
	}
	if (!hcr_engine_pushable(spec)) {
		hcr_engine_set_status(f, HCR_FS_BLOCKED,
				      spec && spec->mutability == HCR_MUT_IMMUTABLE
					      ? "immutable: cannot be changed once it exists"
					      : "no operation changes this field",
				      o->now, events);
		return;
	}
	if (!conflict) {
		hcr_engine_set_status(f, HCR_FS_PENDING, NULL, o->now, events);
		return;
	}
	if (f->status != HCR_FS_CONFLICT)
		hcr_engine_event(events, "conflict", f->path, f->desired, f->observed, NULL,
				 "edited here and changed in the cloud since the last apply; "
				 "the local edit wins");
	reason = hcr_sprintf("changed in the cloud since hcr applied it; the local edit wins");
	hcr_engine_set_status(f, HCR_FS_CONFLICT, reason, o->now, events);
	free(reason);
}

static void decide_field(hcr_fieldset *fs, hcr_field *f, const hcr_epath *pp,
			 const hcr_refresh_opts *o, json_t *events)
{
	const hcr_field_spec *spec = pp->spec;
	int cmp;

	if (!f->desired) {
		hcr_engine_set_status(f, HCR_FS_IN_SYNC, NULL, o->now, events);
		return;
	}
	if (pp->pool) {
		char *pool_path = hcr_sprintf("%s[%s]", pp->top, pp->pool);
		const hcr_field *pf = hcr_fieldset_get(fs, pool_path);

		free(pool_path);
		if (!pf || !hcr_engine_is_true(pf->observed)) {
			if (pf && hcr_engine_is_true(pf->desired)) {
				/* Not in the cloud yet: the field goes with the pool's create. */
				if (f->status == HCR_FS_IN_SYNC)
					hcr_engine_set_status(f, HCR_FS_PENDING, NULL, o->now,
							      NULL);
				return;
			}
			/* A pool hcr does not manage is gone: so is what hcr managed in it. */
			hcr_engine_event(events, "adopted", f->path, f->desired, NULL, NULL,
					 "pool deleted outside hcr");
			hcr_engine_release(f, o->now, NULL);
			return;
		}
	}
	if (!hcr_engine_diffed(spec)) {
		hcr_engine_set_status(f, HCR_FS_IN_SYNC, NULL, o->now, events);
		return;
	}
	if (hcr_engine_veq(spec, f->desired, f->observed)) {
		confirm(f, o, events);
		return;
	}
	if (f->status == HCR_FS_FAILED)
		return; /* retried by the plan until the cloud shows it or a user edits it */
	if (spec && spec->irreversible && json_is_string(f->observed) &&
	    json_is_string(f->desired) &&
	    hcr_version_compare(json_string_value(f->observed), json_string_value(f->desired),
				&cmp) &&
	    cmp > 0) {
		adopt(f, pp, "downgrade_adopted",
		      "the cloud is ahead and cannot go back; its version was adopted", o, events);
		return;
	}
	if (!hcr_engine_aeq(spec, f->desired, f->applied)) {
		decide_conflict_or_pending(f, pp, o, events);
		return;
	}
	/* desired == applied: the cloud moved and nobody edited here. */
	if (o->policy != HCR_POLICY_ENFORCE) {
		adopt(f, pp, "adopted", "changed outside hcr", o, events);
		return;
	}
	if (!hcr_engine_pushable(spec))
		decide_conflict_or_pending(f, pp, o, events);
	else
		hcr_engine_set_status(f, HCR_FS_PENDING,
				      "changed outside hcr; pushed back (enforce)", o->now, events);
}

/* Whether a field is left alone this time: in flight, or the observation is stale for it. */
static bool hands_off(const hcr_field *f)
{
	return f->inflight_op || f->observed_at < f->applied_at;
}

static void decide(hcr_fieldset *fs, const hcr_refresh_opts *o, bool pools, json_t *events)
{
	for (size_t i = 0; i < fs->n; i++) {
		hcr_field *f = &fs->items[i];
		hcr_epath pp;

		if (hands_off(f) || !hcr_engine_path_parse(&pp, o->cat, f->path))
			continue;
		if (pools && pp.exists)
			decide_pool(fs, f, o, events);
		else if (!pools && !pp.exists)
			decide_field(fs, f, &pp, o, events);
		hcr_engine_path_free(&pp);
	}
}

/* Drops fields that carry nothing: unmanaged, absent in the cloud, nothing in flight. */
static void prune(hcr_fieldset *fs)
{
	size_t w = 0;

	for (size_t r = 0; r < fs->n; r++) {
		hcr_field *f = &fs->items[r];

		if (f->owner == HCR_OWNER_EXTERNAL && !f->desired && !f->observed &&
		    !f->inflight_op) {
			free(f->path);
			json_decref(f->applied);
			json_decref(f->sent);
			free(f->applied_op);
			free(f->reason);
			continue;
		}
		if (w != r)
			fs->items[w] = *f;
		w++;
	}
	fs->n = w;
}

int hcr_engine_refresh(hcr_fieldset *fs, const hcr_refresh_opts *o, json_t *observed_doc,
		       json_t *events, bool *pending, hcr_error *err)
{
	json_t *obs = NULL;
	const char *path;
	json_t *v;
	int rc;

	if (pending)
		*pending = false;
	if ((rc = hcr_engine_flatten(&obs, o->cat, observed_doc, err)) != HCR_OK)
		return rc;
	json_object_foreach(obs, path, v)
	{
		hcr_fieldset_upsert(fs, path);
	}
	for (size_t i = 0; i < fs->n; i++) {
		hcr_epath pp;

		if (!hcr_engine_path_parse(&pp, o->cat, fs->items[i].path))
			continue;
		record(&fs->items[i], &pp, json_object_get(obs, fs->items[i].path), o, events);
		hcr_engine_path_free(&pp);
	}
	if (!o->busy) {
		decide(fs, o, true, events);
		decide(fs, o, false, events);
	}
	prune(fs);
	if (pending) {
		hcr_plan plan;

		if (hcr_engine_plan(fs, o->cat, &plan, NULL) == HCR_OK) {
			*pending = plan.n > 0;
			hcr_plan_free(&plan);
		}
	}
	json_decref(obs);
	return HCR_OK;
}
