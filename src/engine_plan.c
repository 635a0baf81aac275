/*
 * Push: grouping the fields that need a push into the provider's operations,
 * and the bookkeeping around an operation's start and end.
 *
 * One planned operation per (operation, pool): a single call carries every
 * field it can (rancher issues one mutation per pass). The plan is a pure
 * function of the fieldset, so planning twice without a change in between
 * gives the same operations; a field carried by an operation in flight is
 * never planned again until that operation has finished, even after a restart.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "hcr/mem.h"

/* Pool deletions run after everything else. */
#define DELETE_ORDER INT_MAX

typedef struct plan_b {
	hcr_plan *plan;
	size_t cap;
} plan_b;

static hcr_planned_op *op_for(plan_b *b, const char *operation, const char *pool, int order)
{
	hcr_plan *p = b->plan;
	hcr_planned_op *op;

	for (size_t i = 0; i < p->n; i++) {
		op = &p->ops[i];
		if (strcmp(op->operation, operation) == 0 &&
		    ((!op->pool && !pool) || (op->pool && pool && strcmp(op->pool, pool) == 0))) {
			if (order < op->order)
				op->order = order;
			return op;
		}
	}
	if (p->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 8;
		p->ops = hcr_realloc(p->ops, b->cap * sizeof(*p->ops));
	}
	op = &p->ops[p->n++];
	op->operation = hcr_strdup(operation);
	op->pool = hcr_strdup(pool);
	op->order = order;
	op->changes = json_object();
	return op;
}

static bool plannable(const hcr_field *f)
{
	return f->owner == HCR_OWNER_HCR && f->desired && !f->inflight_op &&
	       (f->status == HCR_FS_PENDING || f->status == HCR_FS_CONFLICT ||
		f->status == HCR_FS_FAILED);
}

static bool pool_in_cloud(const hcr_fieldset *fs, const hcr_epath *pp)
{
	char *pool_path = hcr_sprintf("%s[%s]", pp->top, pp->pool);
	const hcr_field *pf = hcr_fieldset_get(fs, pool_path);

	free(pool_path);
	return pf && hcr_engine_is_true(pf->observed);
}

static int plan_pool(plan_b *b, const hcr_fieldset *fs, const hcr_catalog *cat, const hcr_field *f,
		     const hcr_epath *pp, hcr_error *err)
{
	const hcr_field_spec *ps = pp->pools;
	bool create = hcr_engine_is_true(f->desired);
	const char *operation = create ? ps->create_operation : ps->delete_operation;
	hcr_planned_op *op;

	if (!operation)
		return hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				     "provider \"%s\" has no operation to %s \"%s\"",
				     cat->provider ? cat->provider : "?",
				     create ? "create" : "delete", f->path);
	op = op_for(b, operation, pp->pool, create ? ps->order : DELETE_ORDER);
	json_object_set_new(op->changes, f->path,
			    create ? hcr_engine_pool_object(fs, cat, f->path) : json_null());
	return HCR_OK;
}

/* Catalog order (deletions last), the cluster before pools, then pool and operation names. */
static int op_cmp(const void *a, const void *b)
{
	const hcr_planned_op *x = a, *y = b;
	int c;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	if (!x->pool != !y->pool)
		return x->pool ? 1 : -1;
	if (x->pool && (c = strcmp(x->pool, y->pool)) != 0)
		return c;
	return strcmp(x->operation, y->operation);
}

int hcr_engine_plan(const hcr_fieldset *fs, const hcr_catalog *cat, hcr_plan *out, hcr_error *err)
{
	plan_b b = {.plan = out};
	int rc = HCR_OK;

	out->ops = NULL;
	out->n = 0;
	for (size_t i = 0; i < fs->n && rc == HCR_OK; i++) {
		const hcr_field *f = &fs->items[i];
		const hcr_field_spec *spec;
		hcr_epath pp;

		if (!plannable(f) || !hcr_engine_path_parse(&pp, cat, f->path))
			continue;
		spec = pp.spec;
		if (pp.exists) {
			rc = plan_pool(&b, fs, cat, f, &pp, err);
		} else if ((!pp.pool || pool_in_cloud(fs, &pp)) && hcr_engine_pushable(spec)) {
			/* Fields of a pool not yet in the cloud go with its create. */
			hcr_planned_op *op = op_for(&b, spec->operation, pp.pool, spec->order);

			json_object_set_new(op->changes, f->path, json_deep_copy(f->desired));
		}
		hcr_engine_path_free(&pp);
	}
	if (rc != HCR_OK) {
		hcr_plan_free(out);
		return rc;
	}
	if (out->n > 1)
		qsort(out->ops, out->n, sizeof(*out->ops), op_cmp);
	return HCR_OK;
}

void hcr_plan_free(hcr_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->n; i++) {
		free(plan->ops[i].operation);
		free(plan->ops[i].pool);
		json_decref(plan->ops[i].changes);
	}
	free(plan->ops);
	plan->ops = NULL;
	plan->n = 0;
}

static void start_field(hcr_field *f, const json_t *sent, const hcr_planned_op *op,
			const char *op_id, double now, json_t *events)
{
	hcr_engine_sset(&f->inflight_op, op_id);
	hcr_engine_jset(&f->sent, sent);
	if (f->status != HCR_FS_APPLYING)
		f->since = now;
	f->status = HCR_FS_APPLYING;
	hcr_engine_sset(&f->reason, NULL);
	hcr_engine_event(events, "applying", f->path, f->applied, sent, op_id, op->operation);
}

void hcr_engine_op_started(hcr_fieldset *fs, const hcr_planned_op *op, const char *op_id,
			   double now, json_t *events)
{
	const char *path;
	json_t *v;

	json_object_foreach(op->changes, path, v)
	{
		hcr_field *f = hcr_fieldset_get(fs, path);
		size_t n = strlen(path);

		if (!f)
			continue;
		if (path[n - 1] != ']' || json_is_null(v)) {
			start_field(f, v, op, op_id, now, events);
			continue;
		}
		/* A pool create carries the pool and every managed field of it. */
		start_field(f, json_true(), op, op_id, now, events);
		for (size_t i = 0; i < fs->n; i++) {
			hcr_field *g = &fs->items[i];

			if (g != f && hcr_engine_path_under(g->path, path) &&
			    g->owner == HCR_OWNER_HCR && g->desired && !g->inflight_op)
				start_field(g, g->desired, op, op_id, now, NULL);
		}
	}
}

void hcr_engine_op_finished(hcr_fieldset *fs, const char *op_id, bool success, const char *reason,
			    double completed_at, json_t *events)
{
	for (size_t i = 0; i < fs->n; i++) {
		hcr_field *f = &fs->items[i];
		/* A fieldset restored without `sent` takes desired as what was sent. */
		json_t *sent;
		bool edited;

		if (!f->inflight_op || !op_id || strcmp(f->inflight_op, op_id) != 0)
			continue;
		sent = f->sent ? f->sent : f->desired;
		edited = f->desired && !json_equal(f->desired, sent ? sent : json_null());
		if (success && f->desired) {
			hcr_engine_event(events, "op_succeeded", f->path, f->applied, sent, op_id,
					 NULL);
			hcr_engine_jset(&f->applied, sent ? sent : json_null());
			hcr_engine_sset(&f->applied_op, op_id);
			f->applied_at = completed_at;
		}
		hcr_engine_sset(&f->inflight_op, NULL);
		hcr_engine_jset(&f->sent, NULL);
		if (!f->desired)
			hcr_engine_set_status(f, HCR_FS_IN_SYNC, NULL, completed_at, events);
		else if (edited)
			hcr_engine_set_status(f, HCR_FS_PENDING, "edited while an operation ran",
					      completed_at, events);
		else if (success)
			hcr_engine_set_status(f, HCR_FS_APPLYING, NULL, completed_at, events);
		else
			hcr_engine_set_status(f, HCR_FS_FAILED,
					      reason ? reason : "operation failed", completed_at,
					      events);
	}
}
