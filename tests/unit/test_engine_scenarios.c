/*
 * The sync engine against the ways Rancher's hosted-cluster sync lost users'
 * changes. Each scenario is a table of steps (a user edit, a cloud
 * observation, a plan, an operation starting or finishing, a restart) replayed
 * against the engine, with assertions about what hcr does at each point.
 * docs/sync/engine.md has the table of scenarios with what Rancher did.
 *
 * JSON is written with single quotes; J() turns them into double quotes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/engine.h"
#include "hcr/fakecloud.h"
#include "hcr/json.h"
#include "testutil.h"

#define CAT (&hcr_fake_catalog)

typedef enum {
	END = 0,
	CREATE,     /* doc: the config hcr created the cluster with; t */
	EDIT,       /* doc: a merge patch; t */
	EDIT_FAILS, /* doc: a merge patch; text: the error message must contain it */
	OBSERVE,    /* doc: the cloud's document; t: when the observation started; flag: busy */
	PLAN,       /* doc: the expected plan, [[operation, pool, changes], ...] */
	START,      /* n: index in the last plan; text: the operation id; t */
	FINISH,     /* text: the operation id; flag: success; path: failure reason; t */
	RESTART,    /* hcr dies; the fieldset comes back as the store persists it */
	FIELD,      /* path; status; doc: desired (NULL: unmanaged) */
	GONE,       /* path: no such field any more */
	DESIRED,    /* doc: the desired document */
	EFFECTIVE,  /* doc: the effective document */
	EVENTS,     /* text: kind; path (NULL: any); n: how many the last step recorded */
	DRIFT,      /* path; status; text: reason contains it (or NULL); n: 0 = not in drift */
	SET_POLICY, /* n: the policy of later observations */
} step_kind;

typedef struct step {
	step_kind kind;
	hcr_field_status status;
	const char *doc;
	const char *text;
	const char *path;
	double t;
	int n;
	bool flag;
} step;

/* clang-format off */
#define S_CREATE(c, at)		{CREATE, .doc = (c), .t = (at)}
#define S_EDIT(p, at)		{EDIT, .doc = (p), .t = (at)}
#define S_EDIT_FAILS(p, at, m)	{EDIT_FAILS, .doc = (p), .t = (at), .text = (m)}
#define S_OBSERVE(d, at)	{OBSERVE, .doc = (d), .t = (at)}
#define S_OBSERVE_BUSY(d, at)	{OBSERVE, .doc = (d), .t = (at), .flag = true}
#define S_PLAN(p)		{PLAN, .doc = (p)}
#define S_START(i, id, at)	{START, .n = (i), .text = (id), .t = (at)}
#define S_FINISH(id, at)	{FINISH, .text = (id), .flag = true, .t = (at)}
#define S_FAIL(id, why, at)	{FINISH, .text = (id), .path = (why), .t = (at)}
#define S_RESTART		{.kind = RESTART}
#define S_FIELD(p, st, d)	{FIELD, .path = (p), .status = (st), .doc = (d)}
#define S_GONE(p)		{GONE, .path = (p)}
#define S_DESIRED(d)		{DESIRED, .doc = (d)}
#define S_EFFECTIVE(d)		{EFFECTIVE, .doc = (d)}
#define S_EVENTS(k, p, count)	{EVENTS, .text = (k), .path = (p), .n = (count)}
#define S_DRIFT(p, st, why)	{DRIFT, .path = (p), .status = (st), .text = (why), .n = 1}
#define S_NO_DRIFT(p)		{DRIFT, .path = (p), .n = 0}
#define S_POLICY(pol)		{SET_POLICY, .n = (pol)}
#define S_END			{.kind = END}
/* clang-format on */

/* ---- documents --------------------------------------------------------------------------- */

#define NG(name, size)                                                                        \
	"{'nodegroupName': '" name "', 'desiredSize': " #size ", 'instanceType': 'm5.large'," \
	" 'version': '1.29'}"
#define NG_V(name, size, v)                                                                   \
	"{'nodegroupName': '" name "', 'desiredSize': " #size ", 'instanceType': 'm5.large'," \
	" 'version': '" v "'}"
#define NG_LT(name, size, ltv)                                                                \
	"{'nodegroupName': '" name "', 'desiredSize': " #size ", 'instanceType': 'm5.large'," \
	" 'version': '1.29', 'launchTemplate': {'id': 'lt-1', 'version': " #ltv "}}"
#define CLUSTER(kv, tags, pools) \
	"{'kubernetesVersion': '" kv "', 'tags': {" tags "}, 'nodeGroups': [" pools "]}"

#define TWO_POOLS         CLUSTER("1.29", "'team': 'a'", NG("ng-a", 2) ", " NG("ng-b", 1))
#define ONE_POOL          CLUSTER("1.29", "'team': 'a'", NG("ng-a", 2))
#define ONE_POOL_AT(size) CLUSTER("1.29", "'team': 'a'", NG("ng-a", size))

/* ---- the runner -------------------------------------------------------------------------- */

typedef struct scenario {
	const char *name;
	hcr_policy policy;
	const step *steps;
} scenario;

typedef struct run {
	const scenario *sc;
	size_t at;
	hcr_fieldset fs;
	hcr_policy policy;
	hcr_plan plan;
	json_t *events; /* what the last state-changing step recorded */
} run;

#define J(text) test_json(text)

#define FAIL(r, ...)                                                        \
	do {                                                                \
		char msg_[2048];                                            \
		snprintf(msg_, sizeof(msg_), __VA_ARGS__);                  \
		fail_msg("%s, step %zu: %s", (r)->sc->name, (r)->at, msg_); \
	} while (0)

static void check_json(run *r, const char *what, const json_t *got, const char *want)
{
	json_t *w;

	if (!want) {
		if (got)
			FAIL(r, "%s: expected nothing, got %s", what, hcr_json_dumps(got));
		return;
	}
	if (!got)
		FAIL(r, "%s: expected %s, got nothing", what, want);
	w = J(want);
	if (!json_equal(got, w))
		FAIL(r, "%s:\n  got  %s\n  want %s", what, hcr_json_dumps(got), hcr_json_dumps(w));
	json_decref(w);
}

static json_t *plan_summary(const hcr_plan *plan)
{
	json_t *out = json_array();

	for (size_t i = 0; i < plan->n; i++)
		json_array_append_new(out, json_pack("[ss?O]", plan->ops[i].operation,
						     plan->ops[i].pool, plan->ops[i].changes));
	return out;
}

static int count_events(json_t *events, const char *kind, const char *path)
{
	size_t i;
	json_t *e;
	int n = 0;

	json_array_foreach(events, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "kind")), kind) == 0 &&
		    (!path || strcmp(json_string_value(json_object_get(e, "path")), path) == 0))
			n++;
	}
	return n;
}

/* What a store that does not know `sent` gives back after a restart. */
static void restart(run *r)
{
	hcr_fieldset loaded;

	hcr_fieldset_copy(&loaded, &r->fs);
	for (size_t i = 0; i < loaded.n; i++) {
		json_decref(loaded.items[i].sent);
		loaded.items[i].sent = NULL;
	}
	hcr_fieldset_free(&r->fs);
	hcr_plan_free(&r->plan);
	r->fs = loaded;
}

static void do_edit(run *r, const step *s, bool should_fail)
{
	hcr_edit_opts o = {.cat = CAT, .exists = true, .now = s->t};
	json_t *patch = J(s->doc);
	hcr_error err;
	int rc;

	hcr_error_clear(&err);
	rc = hcr_engine_edit(&r->fs, &o, patch, r->events, &err);
	json_decref(patch);
	if (!should_fail && rc != HCR_OK)
		FAIL(r, "edit refused: %s", err.message);
	if (should_fail && rc != HCR_EINVALID)
		FAIL(r, "edit accepted, expected a refusal containing \"%s\"", s->text);
	if (should_fail && !strstr(err.message, s->text))
		FAIL(r, "refused with \"%s\", expected \"%s\"", err.message, s->text);
}

static void do_step(run *r, const step *s)
{
	hcr_error err;
	json_t *doc;
	hcr_field *f;

	switch (s->kind) {
	case CREATE:
		doc = J(s->doc);
		if (hcr_engine_init_created(&r->fs, CAT, doc, s->t, r->events, &err) != HCR_OK)
			FAIL(r, "init_created: %s", err.message);
		json_decref(doc);
		break;
	case EDIT:
	case EDIT_FAILS:
		do_edit(r, s, s->kind == EDIT_FAILS);
		break;
	case OBSERVE: {
		hcr_refresh_opts o = {.cat = CAT,
				      .policy = r->policy,
				      .busy = s->flag,
				      .observed_at = s->t,
				      .now = s->t + 1};

		doc = J(s->doc);
		if (hcr_engine_refresh(&r->fs, &o, doc, r->events, NULL, &err) != HCR_OK)
			FAIL(r, "refresh: %s", err.message);
		json_decref(doc);
		break;
	}
	case PLAN:
		hcr_plan_free(&r->plan);
		if (hcr_engine_plan(&r->fs, CAT, &r->plan, &err) != HCR_OK)
			FAIL(r, "plan: %s", err.message);
		doc = plan_summary(&r->plan);
		check_json(r, "plan", doc, s->doc);
		json_decref(doc);
		break;
	case START:
		if ((size_t)s->n >= r->plan.n)
			FAIL(r, "the plan has no operation %d", s->n);
		hcr_engine_op_started(&r->fs, &r->plan.ops[s->n], s->text, s->t, r->events);
		break;
	case FINISH:
		hcr_engine_op_finished(&r->fs, s->text, s->flag, s->path, s->t, r->events);
		break;
	case RESTART:
		restart(r);
		break;
	case FIELD:
		if (!(f = hcr_fieldset_get(&r->fs, s->path))) {
			FAIL(r, "no field %s", s->path);
			break;
		}
		if (f->status != s->status)
			FAIL(r, "%s is %s, expected %s", s->path, hcr_field_status_name(f->status),
			     hcr_field_status_name(s->status));
		if ((f->owner == HCR_OWNER_HCR) != (s->doc != NULL))
			FAIL(r, "%s is owned by %s", s->path, hcr_owner_name(f->owner));
		check_json(r, s->path, f->desired, s->doc);
		break;
	case GONE:
		if (hcr_fieldset_get(&r->fs, s->path))
			FAIL(r, "%s is still there", s->path);
		break;
	case DESIRED:
		doc = hcr_engine_desired(CAT, &r->fs);
		check_json(r, "desired", doc, s->doc);
		json_decref(doc);
		break;
	case EFFECTIVE:
		doc = hcr_engine_effective(CAT, &r->fs);
		check_json(r, "effective", doc, s->doc);
		json_decref(doc);
		break;
	case EVENTS: {
		int n = count_events(r->events, s->text, s->path);

		if (n != s->n)
			FAIL(r, "%d %s events for %s, expected %d; events: %s", n, s->text,
			     s->path ? s->path : "any path", s->n, hcr_json_dumps(r->events));
		break;
	}
	case DRIFT: {
		json_t *drift = hcr_engine_drift(CAT, &r->fs), *e, *hit = NULL;
		size_t i;

		json_array_foreach(drift, i, e)
		{
			if (strcmp(json_string_value(json_object_get(e, "path")), s->path) == 0)
				hit = e;
		}
		if (!s->n && hit)
			FAIL(r, "%s is in drift: %s", s->path, hcr_json_dumps(hit));
		if (s->n && !hit)
			FAIL(r, "%s is not in drift: %s", s->path, hcr_json_dumps(drift));
		if (hit && strcmp(json_string_value(json_object_get(hit, "state")),
				  hcr_field_status_name(s->status)) != 0)
			FAIL(r, "drift state of %s: %s", s->path, hcr_json_dumps(hit));
		if (hit && s->text &&
		    !strstr(json_string_value(json_object_get(hit, "reason")), s->text))
			FAIL(r, "drift reason of %s: %s", s->path, hcr_json_dumps(hit));
		json_decref(drift);
		break;
	}
	case SET_POLICY:
		r->policy = (hcr_policy)s->n;
		break;
	case END:
		break;
	}
}

static bool records(step_kind k)
{
	return k == CREATE || k == EDIT || k == EDIT_FAILS || k == OBSERVE || k == START ||
	       k == FINISH;
}

static void replay(const scenario *sc)
{
	run r = {.sc = sc, .policy = sc->policy};

	r.events = json_array();
	for (r.at = 0; sc->steps[r.at].kind != END; r.at++) {
		if (records(sc->steps[r.at].kind))
			json_array_clear(r.events);
		do_step(&r, &sc->steps[r.at]);
	}
	hcr_plan_free(&r.plan);
	hcr_fieldset_free(&r.fs);
	json_decref(r.events);
}

/* ---- scenarios --------------------------------------------------------------------------- */

/*
 * rancher#29023: a node group deleted in the console came back after an
 * unrelated edit made in Rancher within the refresh interval (the stale full
 * spec won). hcr adopts the deletion and still pushes the edit.
 */
static const step rancher_29023[] = {
	S_CREATE(TWO_POOLS, 1),
	S_OBSERVE(TWO_POOLS, 10),
	S_PLAN("[]"),
	/* ng-b is deleted in the console; a user, who still sees it, resizes ng-a. */
	S_EDIT("{'nodeGroups': [" NG("ng-a", 5) ", " NG("ng-b", 1) "]}", 55),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_PENDING, "5"),
	S_EVENTS("desired_set", "nodeGroups[ng-b]", 0),
	S_OBSERVE(ONE_POOL, 60),
	S_EVENTS("adopted", "nodeGroups[ng-b]", 1),
	S_GONE("nodeGroups[ng-b]"),
	S_GONE("nodeGroups[ng-b].desiredSize"),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_PENDING, "5"),
	S_PLAN("[['UpdateNodegroupConfig', 'ng-a', {'nodeGroups[ng-a].desiredSize': 5}]]"),
	S_START(0, "op-1", 61),
	S_FINISH("op-1", 70),
	S_OBSERVE(ONE_POOL_AT(5), 80),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_IN_SYNC, "5"),
	S_PLAN("[]"),
	S_DESIRED(CLUSTER("1.29", "'team': 'a'", NG("ng-a", 5))),
	/* A later unrelated edit does not bring it back either. */
	S_EDIT("{'tags': {'team': 'b'}}", 90),
	S_PLAN("[['TagResource', null, {'tags.team': 'b'}]]"),
	S_END,
};

/* rancher#28967: the deleted node group was recreated with no edit at all. */
static const step rancher_28967[] = {
	S_CREATE(TWO_POOLS, 1),
	S_OBSERVE(TWO_POOLS, 10),
	S_OBSERVE(ONE_POOL, 20),
	S_EVENTS("adopted", "nodeGroups[ng-b]", 1),
	S_PLAN("[]"),
	S_OBSERVE(ONE_POOL, 30),
	S_EVENTS("adopted", NULL, 0),
	S_PLAN("[]"),
	S_NO_DRIFT("nodeGroups[ng-b]"),
	S_DESIRED(ONE_POOL),
	S_END,
};

/* The same under enforce: hcr recreates the pool it manages, with its whole config. */
static const step rancher_28967_enforce[] = {
	S_CREATE(TWO_POOLS, 1),
	S_OBSERVE(TWO_POOLS, 10),
	S_OBSERVE(ONE_POOL, 20),
	S_EVENTS("adopted", NULL, 0),
	S_FIELD("nodeGroups[ng-b]", HCR_FS_PENDING, "true"),
	S_PLAN("[['CreateNodegroup', 'ng-b', {'nodeGroups[ng-b]': " NG("ng-b", 1) "}]]"),
	S_DRIFT("nodeGroups[ng-b]", HCR_FS_PENDING, "enforce"),
	S_END,
};

/*
 * eks-operator#752: EKS says ACTIVE (with the old version) for a while after
 * accepting an update, and the refresher copied that back into the spec.
 */
static const step eks_operator_752[] = {
	S_CREATE(ONE_POOL, 1),
	S_OBSERVE(ONE_POOL, 10),
	S_EDIT("{'kubernetesVersion': '1.30'}", 20),
	S_PLAN("[['UpdateClusterVersion', null, {'kubernetesVersion': '1.30'}]]"),
	S_START(0, "upd-1", 21),
	S_FIELD("kubernetesVersion", HCR_FS_APPLYING, "'1.30'"),
	/* The cloud is updating: only recorded. */
	S_OBSERVE_BUSY(ONE_POOL, 30),
	/* ACTIVE with the old version while the update is still in flight. */
	S_OBSERVE(ONE_POOL, 40),
	S_FIELD("kubernetesVersion", HCR_FS_APPLYING, "'1.30'"),
	S_EVENTS("adopted", NULL, 0),
	S_PLAN("[]"),
	S_FINISH("upd-1", 100),
	/* Started at 95, before the update completed: stale, still the old version. */
	S_OBSERVE(ONE_POOL, 95),
	S_FIELD("kubernetesVersion", HCR_FS_APPLYING, "'1.30'"),
	S_EVENTS("adopted", NULL, 0),
	S_EVENTS("conflict", NULL, 0),
	S_PLAN("[]"),
	S_DRIFT("kubernetesVersion", HCR_FS_APPLYING, NULL),
	S_OBSERVE(CLUSTER("1.30", "'team': 'a'", NG("ng-a", 2)), 110),
	S_FIELD("kubernetesVersion", HCR_FS_IN_SYNC, "'1.30'"),
	S_EVENTS("applied", "kubernetesVersion", 1),
	S_NO_DRIFT("kubernetesVersion"),
	S_END,
};

/*
 * rancher#31909, eks-operator#276: a Kubernetes upgrade made in the console;
 * Rancher tried to "upgrade" back down and stayed Updating. Even under enforce
 * hcr adopts the newer version and refuses a downgrade edit.
 */
static const step rancher_31909[] = {
	S_CREATE(ONE_POOL, 1),
	S_OBSERVE(ONE_POOL, 10),
	S_OBSERVE(CLUSTER("1.30", "'team': 'a'", NG_V("ng-a", 2, "1.30")), 20),
	S_EVENTS("downgrade_adopted", "kubernetesVersion", 1),
	S_EVENTS("downgrade_adopted", "nodeGroups[ng-a].version", 1),
	S_FIELD("kubernetesVersion", HCR_FS_IN_SYNC, "'1.30'"),
	S_FIELD("nodeGroups[ng-a].version", HCR_FS_IN_SYNC, "'1.30'"),
	S_PLAN("[]"),
	S_OBSERVE(CLUSTER("1.30", "'team': 'a'", NG_V("ng-a", 2, "1.30")), 30),
	S_PLAN("[]"),
	S_EDIT_FAILS("{'kubernetesVersion': '1.29'}", 40,
		     "field \"kubernetesVersion\" cannot go down from \"1.30\" to \"1.29\""),
	S_EDIT_FAILS("{'nodeGroups': [" NG_V("ng-a", 2, "1.29") "]}", 41,
		     "field \"nodeGroups[ng-a].version\" cannot go down from \"1.30\" to \"1.29\""),
	S_FIELD("kubernetesVersion", HCR_FS_IN_SYNC, "'1.30'"),
	S_EDIT("{'kubernetesVersion': '1.31'}", 42),
	S_PLAN("[['UpdateClusterVersion', null, {'kubernetesVersion': '1.31'}]]"),
	S_END,
};

/* gke-operator#702: the same with GKE-style versions ("1.30.5-gke.100"). */
static const step gke_operator_702[] = {
	S_CREATE(CLUSTER("1.30", "", NG_V("pool-1", 3, "1.30")), 1),
	S_OBSERVE(CLUSTER("1.30.2-gke.1000", "", NG_V("pool-1", 3, "1.30.2-gke.1000")), 10),
	S_FIELD("kubernetesVersion", HCR_FS_IN_SYNC, "'1.30.2-gke.1000'"),
	S_OBSERVE(CLUSTER("1.30.5-gke.100", "", NG_V("pool-1", 3, "1.30.5-gke.100")), 20),
	S_EVENTS("downgrade_adopted", "kubernetesVersion", 1),
	S_FIELD("kubernetesVersion", HCR_FS_IN_SYNC, "'1.30.5-gke.100'"),
	S_FIELD("nodeGroups[pool-1].version", HCR_FS_IN_SYNC, "'1.30.5-gke.100'"),
	S_PLAN("[]"),
	S_EDIT_FAILS("{'kubernetesVersion': '1.30.2-gke.1000'}", 30,
		     "cannot go down from \"1.30.5-gke.100\" to \"1.30.2-gke.1000\""),
	S_END,
};

/*
 * eks-operator#469, rancher#54594: a launch template version owned by
 * Terraform was rolled back once the node group had been edited in Rancher.
 * In hcr the field is unmanaged: never pushed, even when the UI echoes the
 * whole node group back with another change, even under enforce.
 */
#define LT_CLUSTER(size, ltv) CLUSTER("1.29", "'team': 'a'", NG_LT("ng-a", size, ltv))
static const step eks_operator_469[] = {
	S_POLICY(HCR_POLICY_ENFORCE),
	S_CREATE(ONE_POOL, 1),
	S_OBSERVE(LT_CLUSTER(2, 1), 10),
	S_FIELD("nodeGroups[ng-a].launchTemplate", HCR_FS_IN_SYNC, NULL),
	/* Terraform moves the launch template to version 2. */
	S_OBSERVE(LT_CLUSTER(2, 2), 20),
	S_EVENTS("external_change", "nodeGroups[ng-a].launchTemplate", 1),
	S_PLAN("[]"),
	/* A user resizes ng-a; the UI sends the whole node group as it sees it. */
	S_EDIT("{'nodeGroups': [" NG_LT("ng-a", 4, 2) "]}", 30),
	S_FIELD("nodeGroups[ng-a].launchTemplate", HCR_FS_IN_SYNC, NULL),
	S_PLAN("[['UpdateNodegroupConfig', 'ng-a', {'nodeGroups[ng-a].desiredSize': 4}]]"),
	S_START(0, "op-1", 31),
	S_FINISH("op-1", 35),
	/* Terraform moves it again. */
	S_OBSERVE(LT_CLUSTER(4, 3), 40),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_IN_SYNC, "4"),
	S_FIELD("nodeGroups[ng-a].launchTemplate", HCR_FS_IN_SYNC, NULL),
	S_PLAN("[]"),
	/* A list without the launch template leaves it to Terraform as well. */
	S_EDIT("{'nodeGroups': [" NG("ng-a", 4) "]}", 50),
	S_OBSERVE(LT_CLUSTER(4, 4), 60),
	S_PLAN("[]"),
	S_EFFECTIVE(LT_CLUSTER(4, 4)),
	S_END,
};

/* gke-operator#190: a script scales a pool; hcr adopts the size (adopt). */
static const step gke_operator_190[] = {
	S_CREATE(ONE_POOL_AT(0), 1),
	S_OBSERVE(ONE_POOL_AT(0), 10),
	S_OBSERVE(ONE_POOL_AT(1), 20),
	S_EVENTS("adopted", "nodeGroups[ng-a].desiredSize", 1),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_IN_SYNC, "1"),
	S_PLAN("[]"),
	S_OBSERVE(ONE_POOL_AT(0), 30),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_IN_SYNC, "0"),
	S_PLAN("[]"),
	S_END,
};

/* ... and pushes it back only under enforce. */
static const step gke_operator_190_enforce[] = {
	S_CREATE(ONE_POOL_AT(0), 1),
	S_OBSERVE(ONE_POOL_AT(0), 10),
	S_OBSERVE(ONE_POOL_AT(1), 20),
	S_EVENTS("adopted", NULL, 0),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_PENDING, "0"),
	S_PLAN("[['UpdateNodegroupConfig', 'ng-a', {'nodeGroups[ng-a].desiredSize': 0}]]"),
	S_END,
};

/*
 * rancher#37608: Azure policy re-adds a tag the user removed; Rancher stayed
 * Updating, fighting it forever. Under adopt hcr removes it once, sees it come
 * back and adopts it: no plan churn afterwards.
 */
#define TAGGED   CLUSTER("1.29", "'team': 'a', 'policy': 'x'", NG("ng-a", 2))
#define UNTAGGED CLUSTER("1.29", "'team': 'a'", NG("ng-a", 2))
static const step rancher_37608[] = {
	S_CREATE(TAGGED, 1),
	S_OBSERVE(TAGGED, 10),
	S_EDIT("{'tags': {'policy': null}}", 20),
	S_PLAN("[['TagResource', null, {'tags.policy': null}]]"),
	S_START(0, "op-1", 21),
	S_FINISH("op-1", 22),
	/* The policy has put it back by the time hcr looks. */
	S_OBSERVE(TAGGED, 30),
	S_EVENTS("adopted", "tags.policy", 1),
	S_FIELD("tags.policy", HCR_FS_IN_SYNC, "'x'"),
	S_PLAN("[]"),
	S_OBSERVE(TAGGED, 40),
	S_PLAN("[]"),
	S_OBSERVE(UNTAGGED, 50),
	S_PLAN("[]"),
	S_OBSERVE(TAGGED, 60),
	S_PLAN("[]"),
	S_OBSERVE(TAGGED, 70),
	S_EVENTS("adopted", NULL, 0),
	S_PLAN("[]"),
	S_END,
};

/* Under enforce hcr pushes the removal back at most once per refresh, with a stable plan. */
static const step rancher_37608_enforce[] = {
	S_CREATE(TAGGED, 1),
	S_OBSERVE(TAGGED, 10),
	S_EDIT("{'tags': {'policy': null}}", 20),
	S_PLAN("[['TagResource', null, {'tags.policy': null}]]"),
	S_START(0, "op-1", 21),
	S_FINISH("op-1", 22),
	S_OBSERVE(TAGGED, 30),
	S_FIELD("tags.policy", HCR_FS_PENDING, "null"),
	S_PLAN("[['TagResource', null, {'tags.policy': null}]]"),
	/* Refreshing again without pushing gives the same single operation. */
	S_OBSERVE(TAGGED, 40),
	S_PLAN("[['TagResource', null, {'tags.policy': null}]]"),
	S_START(0, "op-2", 41),
	/* While it runs, nothing more is planned. */
	S_OBSERVE(TAGGED, 42),
	S_PLAN("[]"),
	S_FINISH("op-2", 43),
	S_PLAN("[]"),
	S_OBSERVE(UNTAGGED, 50),
	S_FIELD("tags.policy", HCR_FS_IN_SYNC, "null"),
	S_PLAN("[]"),
	S_OBSERVE(TAGGED, 60),
	S_PLAN("[['TagResource', null, {'tags.policy': null}]]"),
	S_END,
};

/*
 * rancher/dashboard#17948: a stale config made the operator delete pools that
 * had been created in Azure. A pool hcr never applied is never deleted, even
 * when the desired pool list leaves it out, even under enforce.
 */
#define WITH_CONSOLE_POOL CLUSTER("1.29", "'team': 'a'", NG("ng-a", 2) ", " NG("ng-console", 3))
static const step dashboard_17948[] = {
	S_POLICY(HCR_POLICY_ENFORCE),
	S_CREATE(ONE_POOL, 1),
	S_OBSERVE(ONE_POOL, 10),
	S_OBSERVE(WITH_CONSOLE_POOL, 20),
	S_EVENTS("pool_external", "nodeGroups[ng-console]", 1),
	S_FIELD("nodeGroups[ng-console]", HCR_FS_IN_SYNC, NULL),
	S_PLAN("[]"),
	/* A stale pool list that does not know ng-console. */
	S_EDIT("{'nodeGroups': [" NG("ng-a", 3) "]}", 30),
	S_FIELD("nodeGroups[ng-console]", HCR_FS_IN_SYNC, NULL),
	S_PLAN("[['UpdateNodegroupConfig', 'ng-a', {'nodeGroups[ng-a].desiredSize': 3}]]"),
	S_EDIT("{'nodeGroups': []}", 31),
	S_PLAN("[['DeleteNodegroup', 'ng-a', {'nodeGroups[ng-a]': null}]]"),
	S_OBSERVE(WITH_CONSOLE_POOL, 40),
	S_PLAN("[['DeleteNodegroup', 'ng-a', {'nodeGroups[ng-a]': null}]]"),
	S_EFFECTIVE(CLUSTER("1.29", "'team': 'a'", NG("ng-console", 3))),
	S_END,
};

/*
 * rancher#36128: importing through the client or Terraform rewrote the
 * config. An imported cluster's refreshes never plan anything, whatever the
 * policy and whatever changes in the cloud.
 */
static const step rancher_36128[] = {
	S_POLICY(HCR_POLICY_ENFORCE),
	S_OBSERVE(TWO_POOLS, 10),
	S_EVENTS("pool_external", NULL, 2),
	S_PLAN("[]"),
	S_DESIRED("{}"),
	S_OBSERVE(CLUSTER("1.30", "'team': 'b'", NG("ng-a", 7)), 20),
	S_EVENTS("external_change", "kubernetesVersion", 1),
	S_PLAN("[]"),
	S_OBSERVE(WITH_CONSOLE_POOL, 30),
	S_PLAN("[]"),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_IN_SYNC, NULL),
	S_NO_DRIFT("nodeGroups[ng-a].desiredSize"),
	S_DESIRED("{}"),
	S_EFFECTIVE(WITH_CONSOLE_POOL),
	S_END,
};

/*
 * rancher#30141: setting a value back within one interval did nothing, since
 * the diff was taken against the cloud. hcr diffs intent against intent.
 */
static const step rancher_30141[] = {
	S_CREATE(ONE_POOL_AT(3), 1),
	S_OBSERVE(ONE_POOL_AT(3), 10),
	S_EDIT("{'nodeGroups': [" NG("ng-a", 5) "]}", 20),
	S_EDIT("{'nodeGroups': [" NG("ng-a", 3) "]}", 21),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_IN_SYNC, "3"),
	S_PLAN("[]"),
	S_OBSERVE(ONE_POOL_AT(3), 30),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_IN_SYNC, "3"),
	S_PLAN("[]"),
	/* Set back after the push but before the cloud confirmed it. */
	S_EDIT("{'nodeGroups': [" NG("ng-a", 5) "]}", 40),
	S_PLAN("[['UpdateNodegroupConfig', 'ng-a', {'nodeGroups[ng-a].desiredSize': 5}]]"),
	S_START(0, "op-1", 41),
	S_FINISH("op-1", 50),
	S_OBSERVE(ONE_POOL_AT(3), 45), /* stale */
	S_EDIT("{'nodeGroups': [" NG("ng-a", 3) "]}", 55),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_PENDING, "3"),
	S_PLAN("[['UpdateNodegroupConfig', 'ng-a', {'nodeGroups[ng-a].desiredSize': 3}]]"),
	S_OBSERVE(ONE_POOL_AT(5), 60),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_PENDING, "3"),
	S_EVENTS("conflict", NULL, 0),
	S_EVENTS("adopted", NULL, 0),
	S_PLAN("[['UpdateNodegroupConfig', 'ng-a', {'nodeGroups[ng-a].desiredSize': 3}]]"),
	S_END,
};

/* Two edits within one poll: both are pushed, the second value of a field wins. */
static const step two_edits_in_one_poll[] = {
	S_CREATE(ONE_POOL, 1),
	S_OBSERVE(ONE_POOL, 10),
	S_EDIT("{'nodeGroups': [" NG("ng-a", 5) "]}", 20),
	S_EDIT("{'nodeGroups': [{'nodegroupName': 'ng-a', 'desiredSize': 7, 'maxSize': 9}],"
	       " 'tags': {'cost': 'c'}}",
	       21),
	S_OBSERVE(ONE_POOL, 30),
	S_PLAN("[['TagResource', null, {'tags.cost': 'c'}],"
	       " ['UpdateNodegroupConfig', 'ng-a', {'nodeGroups[ng-a].desiredSize': 7,"
	       "  'nodeGroups[ng-a].maxSize': 9}]]"),
	S_END,
};

/* An edit while an operation carries the field: pushed after it, never overwritten. */
static const step edit_during_operation[] = {
	S_CREATE(ONE_POOL, 1),
	S_OBSERVE(ONE_POOL, 10),
	S_EDIT("{'nodeGroups': [" NG("ng-a", 5) "]}", 20),
	S_PLAN("[['UpdateNodegroupConfig', 'ng-a', {'nodeGroups[ng-a].desiredSize': 5}]]"),
	S_START(0, "op-1", 21),
	S_EDIT("{'nodeGroups': [" NG("ng-a", 7) "]}", 22),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_APPLYING, "7"),
	S_PLAN("[]"),
	S_FINISH("op-1", 30),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_PENDING, "7"),
	S_EVENTS("op_succeeded", "nodeGroups[ng-a].desiredSize", 1),
	S_OBSERVE(ONE_POOL_AT(5), 31),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_PENDING, "7"),
	S_EVENTS("adopted", NULL, 0),
	S_EVENTS("conflict", NULL, 0),
	S_PLAN("[['UpdateNodegroupConfig', 'ng-a', {'nodeGroups[ng-a].desiredSize': 7}]]"),
	S_START(0, "op-2", 32),
	S_FINISH("op-2", 40),
	S_OBSERVE(ONE_POOL_AT(7), 41),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_IN_SYNC, "7"),
	S_PLAN("[]"),
	S_END,
};

/* A failed operation: failed with the cloud's reason, shown in drift, retried. */
static const step operation_failure[] = {
	S_CREATE(ONE_POOL, 1),
	S_OBSERVE(ONE_POOL, 10),
	S_EDIT("{'kubernetesVersion': '1.30'}", 20),
	S_PLAN("[['UpdateClusterVersion', null, {'kubernetesVersion': '1.30'}]]"),
	S_START(0, "op-1", 21),
	S_FAIL("op-1", "InvalidParameterException: unsupported Kubernetes version", 25),
	S_FIELD("kubernetesVersion", HCR_FS_FAILED, "'1.30'"),
	S_EVENTS("failed", "kubernetesVersion", 1),
	S_DRIFT("kubernetesVersion", HCR_FS_FAILED, "InvalidParameterException"),
	S_OBSERVE(ONE_POOL, 30),
	S_FIELD("kubernetesVersion", HCR_FS_FAILED, "'1.30'"),
	S_EVENTS("adopted", NULL, 0),
	S_PLAN("[['UpdateClusterVersion', null, {'kubernetesVersion': '1.30'}]]"),
	S_START(0, "op-2", 40),
	S_FINISH("op-2", 50),
	S_OBSERVE(CLUSTER("1.30", "'team': 'a'", NG("ng-a", 2)), 60),
	S_FIELD("kubernetesVersion", HCR_FS_IN_SYNC, "'1.30'"),
	S_NO_DRIFT("kubernetesVersion"),
	S_END,
};

/*
 * hcr dies after recording "operation started" and before recording its end.
 * From the persisted fieldset the engine does not plan the change again while
 * the operation is in flight, and the recovered operation id completes it.
 */
static const step crash_between_started_and_recorded[] = {
	S_CREATE(ONE_POOL, 1),
	S_OBSERVE(ONE_POOL, 10),
	S_EDIT("{'nodeGroups': [" NG("ng-a", 5) "], 'tags': {'team': 'b'}}", 20),
	S_PLAN("[['TagResource', null, {'tags.team': 'b'}],"
	       " ['UpdateNodegroupConfig', 'ng-a', {'nodeGroups[ng-a].desiredSize': 5}]]"),
	S_START(1, "op-1", 21),
	S_RESTART,
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_APPLYING, "5"),
	S_PLAN("[['TagResource', null, {'tags.team': 'b'}]]"),
	S_OBSERVE(ONE_POOL, 30),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_APPLYING, "5"),
	S_PLAN("[['TagResource', null, {'tags.team': 'b'}]]"),
	S_FINISH("op-1", 40),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_APPLYING, "5"),
	S_EVENTS("op_succeeded", "nodeGroups[ng-a].desiredSize", 1),
	S_OBSERVE(ONE_POOL_AT(5), 41),
	S_FIELD("nodeGroups[ng-a].desiredSize", HCR_FS_IN_SYNC, "5"),
	S_PLAN("[['TagResource', null, {'tags.team': 'b'}]]"),
	S_END,
};

#define SCENARIO(fn, steps, pol)                                  \
	static void test_engine_scenarios__##fn(void **state)     \
	{                                                         \
		static const scenario sc = {#fn, (pol), (steps)}; \
		(void)state;                                      \
		replay(&sc);                                      \
	}

SCENARIO(rancher_29023, rancher_29023, HCR_POLICY_ADOPT)
SCENARIO(rancher_28967, rancher_28967, HCR_POLICY_ADOPT)
SCENARIO(rancher_28967_prefer_upstream, rancher_28967, HCR_POLICY_PREFER_UPSTREAM)
SCENARIO(rancher_28967_enforce, rancher_28967_enforce, HCR_POLICY_ENFORCE)
SCENARIO(eks_operator_752, eks_operator_752, HCR_POLICY_ADOPT)
SCENARIO(eks_operator_752_enforce, eks_operator_752, HCR_POLICY_ENFORCE)
SCENARIO(rancher_31909_eks_operator_276, rancher_31909, HCR_POLICY_ENFORCE)
SCENARIO(gke_operator_702, gke_operator_702, HCR_POLICY_ADOPT)
SCENARIO(eks_operator_469_rancher_54594, eks_operator_469, HCR_POLICY_ADOPT)
SCENARIO(gke_operator_190, gke_operator_190, HCR_POLICY_ADOPT)
SCENARIO(gke_operator_190_enforce, gke_operator_190_enforce, HCR_POLICY_ENFORCE)
SCENARIO(rancher_37608, rancher_37608, HCR_POLICY_ADOPT)
SCENARIO(rancher_37608_enforce, rancher_37608_enforce, HCR_POLICY_ENFORCE)
SCENARIO(dashboard_17948, dashboard_17948, HCR_POLICY_ENFORCE)
SCENARIO(rancher_36128, rancher_36128, HCR_POLICY_ENFORCE)
SCENARIO(rancher_30141, rancher_30141, HCR_POLICY_ADOPT)
SCENARIO(two_edits_in_one_poll, two_edits_in_one_poll, HCR_POLICY_ADOPT)
SCENARIO(edit_during_operation, edit_during_operation, HCR_POLICY_ADOPT)
SCENARIO(edit_during_operation_enforce, edit_during_operation, HCR_POLICY_ENFORCE)
SCENARIO(operation_failure, operation_failure, HCR_POLICY_ADOPT)
SCENARIO(crash_between_started_and_recorded, crash_between_started_and_recorded, HCR_POLICY_ADOPT)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engine_scenarios__rancher_29023),
		cmocka_unit_test(test_engine_scenarios__rancher_28967),
		cmocka_unit_test(test_engine_scenarios__rancher_28967_prefer_upstream),
		cmocka_unit_test(test_engine_scenarios__rancher_28967_enforce),
		cmocka_unit_test(test_engine_scenarios__eks_operator_752),
		cmocka_unit_test(test_engine_scenarios__eks_operator_752_enforce),
		cmocka_unit_test(test_engine_scenarios__rancher_31909_eks_operator_276),
		cmocka_unit_test(test_engine_scenarios__gke_operator_702),
		cmocka_unit_test(test_engine_scenarios__eks_operator_469_rancher_54594),
		cmocka_unit_test(test_engine_scenarios__gke_operator_190),
		cmocka_unit_test(test_engine_scenarios__gke_operator_190_enforce),
		cmocka_unit_test(test_engine_scenarios__rancher_37608),
		cmocka_unit_test(test_engine_scenarios__rancher_37608_enforce),
		cmocka_unit_test(test_engine_scenarios__dashboard_17948),
		cmocka_unit_test(test_engine_scenarios__rancher_36128),
		cmocka_unit_test(test_engine_scenarios__rancher_30141),
		cmocka_unit_test(test_engine_scenarios__two_edits_in_one_poll),
		cmocka_unit_test(test_engine_scenarios__edit_during_operation),
		cmocka_unit_test(test_engine_scenarios__edit_during_operation_enforce),
		cmocka_unit_test(test_engine_scenarios__operation_failure),
		cmocka_unit_test(test_engine_scenarios__crash_between_started_and_recorded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
