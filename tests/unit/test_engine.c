/*
 * Unit tests for the sync engine (src/engine*.c), rule by rule: paths and the
 * catalog, flatten/unflatten, versions, the effective document, each refresh
 * branch under each policy, the stale-observation guard, edits (merge patch,
 * release, refusals that leave everything unchanged), plan grouping and
 * order, operation start and end, and the drift report. The fake EKS-like
 * catalog (providers/fake) supplies the fields.
 *
 * JSON in this file is written with single quotes; J() turns them into double
 * quotes, so no value here may contain an apostrophe.
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

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CAT           (&hcr_fake_catalog)

/* ---- helpers ----------------------------------------------------------------------------- */

#define J(text) test_json(text)

/* Asserts `got` equals the JSON `want` (single-quoted); NULL `got` equals "absent". */
static void assert_json(const json_t *got, const char *want)
{
	json_t *w;
	char *g;

	if (!want) {
		if (got)
			fail_msg("expected nothing, got %s", hcr_json_dumps(got));
		return;
	}
	if (!got)
		fail_msg("expected %s, got nothing", want);
	w = J(want);
	if (!json_equal(got, w)) {
		g = hcr_json_dumps(got);
		fail_msg("got  %s\nwant %s", g, hcr_json_dumps(w));
	}
	json_decref(w);
}

static void observe(hcr_fieldset *fs, hcr_policy policy, const char *doc, double at, bool busy,
		    json_t *events)
{
	hcr_refresh_opts o = {
		.cat = CAT, .policy = policy, .busy = busy, .observed_at = at, .now = at + 1};
	json_t *d = J(doc);
	hcr_error err;

	assert_int_equal(hcr_engine_refresh(fs, &o, d, events, NULL, &err), HCR_OK);
	json_decref(d);
}

static int edit(hcr_fieldset *fs, bool exists, const char *patch, double now, json_t *events,
		hcr_error *err)
{
	hcr_edit_opts o = {.cat = CAT, .exists = exists, .now = now};
	json_t *p = J(patch);
	int rc;

	hcr_error_clear(err);
	rc = hcr_engine_edit(fs, &o, p, events, err);
	json_decref(p);
	return rc;
}

static void edit_ok(hcr_fieldset *fs, const char *patch, double now, json_t *events)
{
	hcr_error err;
	int rc = edit(fs, true, patch, now, events, &err);

	if (rc != HCR_OK)
		fail_msg("edit %s refused: %s", patch, err.message);
}

/* The plan as [[operation, pool or null, changes], ...]. */
static json_t *plan_summary(const hcr_fieldset *fs)
{
	hcr_plan plan;
	hcr_error err;
	json_t *out = json_array();

	assert_int_equal(hcr_engine_plan(fs, CAT, &plan, &err), HCR_OK);
	for (size_t i = 0; i < plan.n; i++)
		json_array_append_new(out, json_pack("[ss?O]", plan.ops[i].operation,
						     plan.ops[i].pool, plan.ops[i].changes));
	hcr_plan_free(&plan);
	return out;
}

static void assert_plan(const hcr_fieldset *fs, const char *want)
{
	json_t *p = plan_summary(fs);

	assert_json(p, want);
	json_decref(p);
}

static int nevents(json_t *events, const char *kind, const char *path)
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

static hcr_field *field(const hcr_fieldset *fs, const char *path)
{
	hcr_field *f = hcr_fieldset_get(fs, path);

	if (!f)
		fail_msg("no field %s", path);
	return f;
}

/* Expects the field's status and desired value (NULL: unmanaged). */
static void expect(const hcr_fieldset *fs, const char *path, hcr_field_status st,
		   const char *desired)
{
	hcr_field *f = field(fs, path);

	if (f->status != st)
		fail_msg("%s: status %s, want %s", path, hcr_field_status_name(f->status),
			 hcr_field_status_name(st));
	assert_json(f->desired, desired);
	assert_int_equal(f->owner, desired ? HCR_OWNER_HCR : HCR_OWNER_EXTERNAL);
}

/* Everything a fieldset holds, for "unchanged" assertions. */
static json_t *snapshot(const hcr_fieldset *fs)
{
	json_t *out = json_object();

	for (size_t i = 0; i < fs->n; i++) {
		const hcr_field *f = &fs->items[i];

		json_object_set_new(out, f->path,
				    json_pack("{si sO? sO? sO? sO? ss? ss? si ss? sf sf sf}",
					      "owner", f->owner, "desired", f->desired, "observed",
					      f->observed, "applied", f->applied, "sent", f->sent,
					      "applied_op", f->applied_op, "inflight_op",
					      f->inflight_op, "status", f->status, "reason",
					      f->reason, "observed_at", f->observed_at,
					      "applied_at", f->applied_at, "since", f->since));
	}
	return out;
}

#define BASE_CONFIG                                                                          \
	"{'kubernetesVersion': '1.29', 'publicAccess': true, 'tags': {'team': 'a'},"         \
	" 'subnets': ['s1', 's2'], 'kmsKey': 'k1', 'nodeGroups': [{'nodegroupName': 'ng-a'," \
	" 'desiredSize': 2, 'minSize': 1, 'maxSize': 3, 'instanceType': 'm5.large',"         \
	" 'labels': {'env': 'prod'}, 'version': '1.29'}]}"

/* A created cluster whose first observation (at t=10) matched its config. */
static void created(hcr_fieldset *fs)
{
	json_t *config = J(BASE_CONFIG);
	hcr_error err;

	memset(fs, 0, sizeof(*fs));
	assert_int_equal(hcr_engine_init_created(fs, CAT, config, 1, NULL, &err), HCR_OK);
	json_decref(config);
	observe(fs, HCR_POLICY_ADOPT, BASE_CONFIG, 10, false, NULL);
}

/* The base cluster observed with `kv` and `size` for ng-a. */
static char *base_observed(const char *kv, int size, const char *extra_tags)
{
	char *s;

	if (asprintf(&s,
		     "{'kubernetesVersion': '%s', 'publicAccess': true, 'tags': {'team': 'a'%s},"
		     " 'subnets': ['s1', 's2'], 'kmsKey': 'k1', 'nodeGroups': [{'nodegroupName': "
		     "'ng-a', 'desiredSize': %d, 'minSize': 1, 'maxSize': 3, 'instanceType': "
		     "'m5.large', 'labels': {'env': 'prod'}, 'version': '1.29'}]}",
		     kv, extra_tags ? extra_tags : "", size) < 0)
		fail();
	return s;
}

/* ---- catalog, paths, documents ----------------------------------------------------------- */

static void test_engine__catalog_find_matches_pools_and_map_keys(void **state)
{
	static const struct {
		const char *path;
		const char *pattern; /* NULL: no spec */
	} cases[] = {
		{"kubernetesVersion", "kubernetesVersion"},
		{"tags.team", "tags"},
		{"tags.kubernetes.io/role", "tags"},
		{"nodeGroups[ng-a]", "nodeGroups"},
		{"nodeGroups[ng.b]", "nodeGroups"},
		{"nodeGroups[ng-a].desiredSize", "nodeGroups[].desiredSize"},
		{"nodeGroups[ng-a].labels.env", "nodeGroups[].labels"},
		{"nodeGroups[ng-a].launchTemplate", "nodeGroups[].launchTemplate"},
		{"nodeGroups[ng-a].unknown", NULL},
		{"nodeGroups[ng-a", NULL},
		{"nodeGroups[]", NULL},
		{"displayName", NULL},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const hcr_field_spec *s = hcr_catalog_find(CAT, cases[i].path);

		if (!cases[i].pattern) {
			if (s)
				fail_msg("%s matched %s", cases[i].path, s->pattern);
			continue;
		}
		if (!s) {
			fail_msg("%s matched nothing", cases[i].path);
			continue;
		}
		assert_string_equal(s->pattern, cases[i].pattern);
	}
}

static void test_engine__flatten_and_unflatten_round_trip(void **state)
{
	static const struct {
		const char *doc;
		const char *flat;
	} cases[] = {
		{"{}", "{}"},
		{"{'kubernetesVersion': '1.30', 'subnets': ['a', 'b'], 'displayName': 'x'}",
		 "{'kubernetesVersion': '1.30', 'subnets': ['a', 'b'], 'displayName': 'x'}"},
		{"{'tags': {'team': 'a', 'kubernetes.io/role': 'x'}}",
		 "{'tags.team': 'a', 'tags.kubernetes.io/role': 'x'}"},
		{"{'nodeGroups': [{'nodegroupName': 'ng-a', 'desiredSize': 2, 'labels': {'env': "
		 "'prod'}, 'launchTemplate': {'id': 'lt-1', 'version': 3}}, {'nodegroupName': "
		 "'ng-b'}]}",
		 "{'nodeGroups[ng-a]': true, 'nodeGroups[ng-a].desiredSize': 2,"
		 " 'nodeGroups[ng-a].labels.env': 'prod',"
		 " 'nodeGroups[ng-a].launchTemplate': {'id': 'lt-1', 'version': 3},"
		 " 'nodeGroups[ng-b]': true}"},
		{"{'nodeGroups': []}", "{}"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *doc = J(cases[i].doc), *flat = NULL, *back;
		hcr_error err;

		assert_int_equal(hcr_engine_flatten(&flat, CAT, doc, &err), HCR_OK);
		assert_json(flat, cases[i].flat);
		back = hcr_engine_unflatten(CAT, flat);
		if (strcmp(cases[i].doc, "{'nodeGroups': []}") == 0)
			assert_json(back, "{}");
		else
			assert_json(back, cases[i].doc);
		json_decref(back);
		json_decref(flat);
		json_decref(doc);
	}
}

static void test_engine__unflatten_orders_pools_by_name(void **state)
{
	json_t *flat = J("{'nodeGroups[zz]': true, 'nodeGroups[aa].desiredSize': 1,"
			 " 'nodeGroups[mm]': true}");
	json_t *doc = hcr_engine_unflatten(CAT, flat);

	(void)state;
	assert_json(doc, "{'nodeGroups': [{'nodegroupName': 'aa', 'desiredSize': 1},"
			 " {'nodegroupName': 'mm'}, {'nodegroupName': 'zz'}]}");
	json_decref(doc);
	json_decref(flat);
}

static void test_engine__flatten_refuses_ambiguous_documents(void **state)
{
	static const struct {
		const char *doc;
		const char *message;
	} cases[] = {
		{"{'nodeGroups': [{'desiredSize': 2}]}",
		 "item 0 of \"nodeGroups\" has no \"nodegroupName\""},
		{"{'nodeGroups': [{'nodegroupName': 'a'}, {'nodegroupName': 'a'}]}",
		 "two items of \"nodeGroups\" are named \"a\""},
		{"{'nodeGroups': {'nodegroupName': 'a'}}", "field \"nodeGroups\" must be an array"},
		{"{'nodeGroups': [3]}", "items of \"nodeGroups\" must be objects"},
		{"{'nodeGroups': [{'nodegroupName': 'a]b'}]}",
		 "pool name \"a]b\" in \"nodeGroups\" may not contain ']'"},
		{"{'tags': ['a']}", "field \"tags\" must be an object"},
		{"{'nodeGroups': [{'nodegroupName': 'a', 'labels': 'x'}]}",
		 "field \"nodeGroups[a].labels\" must be an object"},
		{"{'a.b': 1}", "field name \"a.b\" is not allowed"},
		{"[]", "a cluster document must be a JSON object"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *doc = J(cases[i].doc), *flat = (json_t *)1;
		hcr_error err;

		hcr_error_clear(&err);
		assert_int_equal(hcr_engine_flatten(&flat, CAT, doc, &err), HCR_EINVALID);
		assert_null(flat);
		assert_string_equal(err.message, cases[i].message);
		json_decref(doc);
	}
}

static void test_engine__version_compare(void **state)
{
	static const struct {
		const char *a, *b;
		bool ok;
		int cmp;
	} cases[] = {
		{"1.29", "1.30", true, -1},         {"1.30", "1.29", true, 1},
		{"1.30", "1.30", true, 0},          {"1.30", "1.30.2", true, -1},
		{"1.30.2", "1.30", true, 1},        {"1.30", "1.30.0", true, 0},
		{"1.9", "1.10", true, -1},          {"1.30-eks-abc", "1.30", true, 0},
		{"1.30-eks-abc", "1.31", true, -1}, {"1.30.2-gke.1000", "1.30.10-gke.1", true, -1},
		{"v1.30", "1.30", true, 0},         {"2", "1.99", true, 1},
		{"latest", "1.30", false, 0},       {"1.30", "", false, 0},
		{"1.1234567890", "1.1", false, 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int cmp = 42;
		bool ok = hcr_version_compare(cases[i].a, cases[i].b, &cmp);

		if (ok != cases[i].ok || (ok && cmp != cases[i].cmp))
			fail_msg("%s vs %s: ok %d cmp %d", cases[i].a, cases[i].b, ok, cmp);
	}
}

static void test_engine__fieldset_is_sorted_and_copies_deeply(void **state)
{
	hcr_fieldset fs = {0}, copy;
	const char *paths[] = {"tags.b", "kubernetesVersion", "nodeGroups[a]", "tags.a",
			       "nodeGroups[a].desiredSize"};
	json_t *a, *b;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
		hcr_fieldset_upsert(&fs, paths[i])->desired = json_integer((json_int_t)i);
	assert_ptr_equal(hcr_fieldset_upsert(&fs, "tags.a"), hcr_fieldset_get(&fs, "tags.a"));
	assert_int_equal(fs.n, 5);
	for (size_t i = 1; i < fs.n; i++)
		assert_true(strcmp(fs.items[i - 1].path, fs.items[i].path) < 0);
	assert_null(hcr_fieldset_get(&fs, "tags.c"));
	hcr_fieldset_copy(&copy, &fs);
	a = snapshot(&fs);
	b = snapshot(&copy);
	assert_true(json_equal(a, b));
	assert_ptr_not_equal(copy.items[0].desired, fs.items[0].desired);
	json_decref(a);
	json_decref(b);
	hcr_fieldset_free(&copy);
	hcr_fieldset_free(&fs);
}

static void test_engine__names_parse_back(void **state)
{
	(void)state;
	for (int s = HCR_FS_IN_SYNC; s <= HCR_FS_BLOCKED; s++) {
		hcr_field_status out;

		assert_true(hcr_field_status_parse(hcr_field_status_name(s), &out));
		assert_int_equal(out, s);
	}
	for (int p = HCR_POLICY_ADOPT; p <= HCR_POLICY_PREFER_UPSTREAM; p++) {
		hcr_policy out;

		assert_true(hcr_policy_parse(hcr_policy_name(p), &out));
		assert_int_equal(out, p);
	}
	for (int o = HCR_OWNER_EXTERNAL; o <= HCR_OWNER_HCR; o++) {
		hcr_owner out;

		assert_true(hcr_owner_parse(hcr_owner_name(o), &out));
		assert_int_equal(out, o);
	}
	assert_string_equal(hcr_field_status_name(HCR_FS_IN_SYNC), "in_sync");
	assert_string_equal(hcr_policy_name(HCR_POLICY_PREFER_UPSTREAM), "prefer_upstream");
	{
		hcr_policy p;

		assert_false(hcr_policy_parse("yolo", &p));
		assert_false(hcr_policy_parse(NULL, &p));
	}
}

/* ---- import and create ------------------------------------------------------------------- */

static void test_engine__import_starts_unmanaged_and_plans_nothing(void **state)
{
	hcr_fieldset fs = {0};
	json_t *ev = json_array(), *drift, *desired;

	(void)state;
	observe(&fs, HCR_POLICY_ENFORCE, BASE_CONFIG, 10, false, ev);
	for (size_t i = 0; i < fs.n; i++) {
		assert_int_equal(fs.items[i].owner, HCR_OWNER_EXTERNAL);
		assert_null(fs.items[i].desired);
		assert_int_equal(fs.items[i].status, HCR_FS_IN_SYNC);
	}
	assert_int_equal(nevents(ev, "pool_external", "nodeGroups[ng-a]"), 1);
	assert_int_equal(nevents(ev, "external_change", NULL), 0);
	assert_plan(&fs, "[]");
	drift = hcr_engine_drift(CAT, &fs);
	assert_json(drift, "[]");
	desired = hcr_engine_desired(CAT, &fs);
	assert_json(desired, "{}");
	/* A second observation with a change: an external change, still nothing planned. */
	json_array_clear(ev);
	observe(&fs, HCR_POLICY_ENFORCE,
		"{'kubernetesVersion': '1.30', 'nodeGroups': [{'nodegroupName': 'ng-a'}]}", 20,
		false, ev);
	assert_int_equal(nevents(ev, "external_change", "kubernetesVersion"), 1);
	assert_int_equal(nevents(ev, "pool_external", NULL), 0);
	assert_plan(&fs, "[]");
	/* Fields gone from the cloud and unmanaged are forgotten. */
	assert_null(hcr_fieldset_get(&fs, "tags.team"));
	json_decref(desired);
	json_decref(drift);
	json_decref(ev);
	hcr_fieldset_free(&fs);
}

static void test_engine__init_created_manages_every_field(void **state)
{
	hcr_fieldset fs = {0};
	json_t *config = J(BASE_CONFIG), *ev = json_array(), *desired;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_engine_init_created(&fs, CAT, config, 1, ev, &err), HCR_OK);
	for (size_t i = 0; i < fs.n; i++)
		assert_int_equal(fs.items[i].owner, HCR_OWNER_HCR);
	expect(&fs, "kubernetesVersion", HCR_FS_APPLYING, "'1.29'");
	expect(&fs, "tags.team", HCR_FS_APPLYING, "'a'");
	expect(&fs, "kmsKey", HCR_FS_IN_SYNC, "'k1'");
	expect(&fs, "nodeGroups[ng-a]", HCR_FS_PENDING, "true");
	expect(&fs, "nodeGroups[ng-a].labels.env", HCR_FS_PENDING, "'prod'");
	assert_null(field(&fs, "nodeGroups[ng-a]")->applied);
	assert_int_equal(nevents(ev, "desired_set", NULL), (int)fs.n);
	desired = hcr_engine_desired(CAT, &fs);
	assert_true(json_equal(desired, config));
	/* The first observation confirms everything: nothing to push. */
	json_array_clear(ev);
	observe(&fs, HCR_POLICY_ADOPT, BASE_CONFIG, 10, false, ev);
	for (size_t i = 0; i < fs.n; i++)
		assert_int_equal(fs.items[i].status, HCR_FS_IN_SYNC);
	assert_int_equal(nevents(ev, "applied", "kubernetesVersion"), 1);
	assert_json(field(&fs, "nodeGroups[ng-a]")->applied, "true");
	assert_plan(&fs, "[]");
	json_decref(desired);
	json_decref(config);
	json_decref(ev);
	hcr_fieldset_free(&fs);
}

static void test_engine__init_created_pools_missing_at_first_sight_are_created(void **state)
{
	hcr_fieldset fs = {0};
	json_t *config = J(BASE_CONFIG);
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_engine_init_created(&fs, CAT, config, 1, NULL, &err), HCR_OK);
	observe(&fs, HCR_POLICY_ADOPT,
		"{'kubernetesVersion': '1.29', 'publicAccess': true, 'tags': {'team': 'a'},"
		" 'subnets': ['s1', 's2'], 'kmsKey': 'k1'}",
		10, false, NULL);
	assert_plan(&fs, "[['CreateNodegroup', 'ng-a', {'nodeGroups[ng-a]': {'nodegroupName': "
			 "'ng-a', 'desiredSize': 2, 'minSize': 1, 'maxSize': 3, 'instanceType': "
			 "'m5.large', 'labels': {'env': 'prod'}, 'version': '1.29'}}]]");
	json_decref(config);
	hcr_fieldset_free(&fs);
}

/* ---- effective --------------------------------------------------------------------------- */

static void test_engine__effective_overlays_managed_desired_on_observed(void **state)
{
	hcr_fieldset fs = {0};
	json_t *eff, *obs;

	(void)state;
	observe(&fs, HCR_POLICY_ADOPT,
		"{'kubernetesVersion': '1.29', 'tags': {'team': 'a', 'old': 'x'},"
		" 'nodeGroups': [{'nodegroupName': 'ng-a', 'desiredSize': 2},"
		" {'nodegroupName': 'ng-b', 'desiredSize': 1}]}",
		10, false, NULL);
	edit_ok(&fs,
		"{'kubernetesVersion': '1.30', 'tags': {'old': null, 'new': 'y'},"
		" 'nodeGroups': [{'nodegroupName': 'ng-a', 'desiredSize': 5},"
		" {'nodegroupName': 'ng-b', 'desiredSize': 1}, {'nodegroupName': 'ng-c', "
		"'desiredSize': 1}]}",
		11, NULL);
	eff = hcr_engine_effective(CAT, &fs);
	assert_json(eff, "{'kubernetesVersion': '1.30', 'tags': {'team': 'a', 'new': 'y'},"
			 " 'nodeGroups': [{'nodegroupName': 'ng-a', 'desiredSize': 5},"
			 " {'nodegroupName': 'ng-b', 'desiredSize': 1},"
			 " {'nodegroupName': 'ng-c', 'desiredSize': 1}]}");
	obs = hcr_engine_observed(CAT, &fs);
	assert_json(obs, "{'kubernetesVersion': '1.29', 'tags': {'team': 'a', 'old': 'x'},"
			 " 'nodeGroups': [{'nodegroupName': 'ng-a', 'desiredSize': 2},"
			 " {'nodegroupName': 'ng-b', 'desiredSize': 1}]}");
	json_decref(eff);
	json_decref(obs);
	hcr_fieldset_free(&fs);
}

static void test_engine__effective_leaves_out_pools_being_deleted(void **state)
{
	hcr_fieldset fs;
	json_t *eff, *desired;

	(void)state;
	created(&fs);
	edit_ok(&fs, "{'nodeGroups': []}", 20, NULL);
	expect(&fs, "nodeGroups[ng-a]", HCR_FS_PENDING, "null");
	eff = hcr_engine_effective(CAT, &fs);
	assert_null(json_object_get(eff, "nodeGroups"));
	desired = hcr_engine_desired(CAT, &fs);
	assert_null(json_object_get(desired, "nodeGroups"));
	json_decref(eff);
	json_decref(desired);
	hcr_fieldset_free(&fs);
}

/* ---- refresh ----------------------------------------------------------------------------- */

static void test_engine__refresh_busy_only_records(void **state)
{
	hcr_fieldset fs;
	json_t *ev = json_array(), *before, *after;
	char *obs = base_observed("1.30", 7, NULL);

	(void)state;
	created(&fs);
	before = hcr_engine_desired(CAT, &fs);
	observe(&fs, HCR_POLICY_ADOPT, obs, 20, true, ev);
	after = hcr_engine_desired(CAT, &fs);
	assert_true(json_equal(before, after));
	assert_json(field(&fs, "kubernetesVersion")->observed, "'1.30'");
	assert_true(field(&fs, "kubernetesVersion")->observed_at == 20);
	assert_int_equal(nevents(ev, "observed_changed", "kubernetesVersion"), 1);
	assert_int_equal(nevents(ev, "adopted", NULL), 0);
	assert_int_equal(nevents(ev, "downgrade_adopted", NULL), 0);
	expect(&fs, "nodeGroups[ng-a].desiredSize", HCR_FS_IN_SYNC, "2");
	free(obs);
	json_decref(before);
	json_decref(after);
	json_decref(ev);
	hcr_fieldset_free(&fs);
}

/*
 * A managed field nobody edited here moves in the cloud (desired == applied):
 * adopt and prefer_upstream adopt it, enforce pushes it back.
 */
static void test_engine__refresh_external_change_per_policy(void **state)
{
	static const struct {
		hcr_policy policy;
		hcr_field_status status;
		const char *desired;
		const char *event;
		const char *plan;
	} cases[] = {
		{HCR_POLICY_ADOPT, HCR_FS_IN_SYNC, "7", "adopted", "[]"},
		{HCR_POLICY_PREFER_UPSTREAM, HCR_FS_IN_SYNC, "7", "adopted", "[]"},
		{HCR_POLICY_ENFORCE, HCR_FS_PENDING, "2", "pending",
		 "[['UpdateNodegroupConfig', 'ng-a', {'nodeGroups[ng-a].desiredSize': 2}]]"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		hcr_fieldset fs;
		json_t *ev = json_array();
		char *obs = base_observed("1.29", 7, NULL);

		created(&fs);
		observe(&fs, cases[i].policy, obs, 20, false, ev);
		expect(&fs, "nodeGroups[ng-a].desiredSize", cases[i].status, cases[i].desired);
		assert_int_equal(nevents(ev, cases[i].event, "nodeGroups[ng-a].desiredSize"), 1);
		assert_int_equal(nevents(ev, "observed_changed", "nodeGroups[ng-a].desiredSize"),
				 1);
		assert_int_equal(nevents(ev, "conflict", NULL), 0);
		assert_plan(&fs, cases[i].plan);
		if (cases[i].policy != HCR_POLICY_ENFORCE)
			assert_json(field(&fs, "nodeGroups[ng-a].desiredSize")->applied, "7");
		free(obs);
		json_decref(ev);
		hcr_fieldset_free(&fs);
	}
}

/*
 * A local edit not yet applied (desired != applied): pending; when the cloud
 * also moved away from applied, a conflict that the local edit wins unless the
 * policy is prefer_upstream.
 */
static void test_engine__refresh_local_edit_and_conflict_per_policy(void **state)
{
	static const struct {
		const char *desired; /* after the refresh */
		hcr_policy policy;
		int cloud;               /* ng-a desiredSize in the cloud */
		hcr_field_status status; /* after the refresh */
		int conflicts;
	} cases[] = {
		{"5", HCR_POLICY_ADOPT, 2, HCR_FS_PENDING, 0},
		{"5", HCR_POLICY_ENFORCE, 2, HCR_FS_PENDING, 0},
		{"5", HCR_POLICY_PREFER_UPSTREAM, 2, HCR_FS_PENDING, 0},
		{"5", HCR_POLICY_ADOPT, 7, HCR_FS_CONFLICT, 1},
		{"5", HCR_POLICY_ENFORCE, 7, HCR_FS_CONFLICT, 1},
		{"7", HCR_POLICY_PREFER_UPSTREAM, 7, HCR_FS_IN_SYNC, 1},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		hcr_fieldset fs;
		json_t *ev = json_array();
		char *obs = base_observed("1.29", cases[i].cloud, NULL);

		created(&fs);
		edit_ok(&fs, "{'nodeGroups': [{'nodegroupName': 'ng-a', 'desiredSize': 5}]}", 15,
			NULL);
		expect(&fs, "nodeGroups[ng-a].desiredSize", HCR_FS_PENDING, "5");
		observe(&fs, cases[i].policy, obs, 20, false, ev);
		expect(&fs, "nodeGroups[ng-a].desiredSize", cases[i].status, cases[i].desired);
		assert_int_equal(nevents(ev, "conflict", "nodeGroups[ng-a].desiredSize"),
				 cases[i].conflicts);
		if (cases[i].status == HCR_FS_IN_SYNC)
			assert_plan(&fs, "[]");
		else
			assert_plan(&fs, "[['UpdateNodegroupConfig', 'ng-a', "
					 "{'nodeGroups[ng-a].desiredSize': 5}]]");
		/* A conflict is recorded once, not on every poll. */
		json_array_clear(ev);
		observe(&fs, cases[i].policy, obs, 30, false, ev);
		assert_int_equal(nevents(ev, "conflict", NULL), 0);
		free(obs);
		json_decref(ev);
		hcr_fieldset_free(&fs);
	}
}

/* Applies the plan's only operation as `op_id`, finishing at `done`. */
static void apply_one(hcr_fieldset *fs, const char *op_id, double start, double done, bool success,
		      json_t *ev)
{
	hcr_plan plan;
	hcr_error err;

	assert_int_equal(hcr_engine_plan(fs, CAT, &plan, &err), HCR_OK);
	assert_int_equal(plan.n, 1);
	hcr_engine_op_started(fs, &plan.ops[0], op_id, start, ev);
	hcr_plan_free(&plan);
	hcr_engine_op_finished(fs, op_id, success, success ? NULL : "Throttling: slow down", done,
			       ev);
}

/* An observation that started before the apply completed never undoes it. */
static void test_engine__refresh_stale_observation_never_reverts(void **state)
{
	static const hcr_policy policies[] = {HCR_POLICY_ADOPT, HCR_POLICY_ENFORCE,
					      HCR_POLICY_PREFER_UPSTREAM};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(policies); i++) {
		hcr_fieldset fs;
		json_t *ev = json_array();
		char *old = base_observed("1.29", 2, NULL),
		     *cloud_moved = base_observed("1.29", 9, NULL);
		char *now = base_observed("1.29", 5, NULL);
		hcr_field *f;

		created(&fs);
		edit_ok(&fs, "{'nodeGroups': [{'nodegroupName': 'ng-a', 'desiredSize': 5}]}", 15,
			NULL);
		apply_one(&fs, "op-1", 16, 100, true, ev);
		f = field(&fs, "nodeGroups[ng-a].desiredSize");
		assert_int_equal(f->status, HCR_FS_APPLYING);
		assert_json(f->applied, "5");
		assert_true(f->applied_at == 100);
		/* Stale: started at 95, the cloud still says 2 (or anything else). */
		json_array_clear(ev);
		observe(&fs, policies[i], old, 95, false, ev);
		expect(&fs, "nodeGroups[ng-a].desiredSize", HCR_FS_APPLYING, "5");
		observe(&fs, policies[i], cloud_moved, 99, false, ev);
		expect(&fs, "nodeGroups[ng-a].desiredSize", HCR_FS_APPLYING, "5");
		assert_int_equal(nevents(ev, "adopted", NULL), 0);
		assert_int_equal(nevents(ev, "conflict", NULL), 0);
		assert_int_equal(nevents(ev, "pending", NULL), 0);
		assert_plan(&fs, "[]");
		/* Fresh: started after the apply completed and shows the value. */
		observe(&fs, policies[i], now, 101, false, ev);
		expect(&fs, "nodeGroups[ng-a].desiredSize", HCR_FS_IN_SYNC, "5");
		assert_int_equal(nevents(ev, "applied", "nodeGroups[ng-a].desiredSize"), 1);
		free(old);
		free(cloud_moved);
		free(now);
		json_decref(ev);
		hcr_fieldset_free(&fs);
	}
}

static void test_engine__refresh_ignores_an_older_observation(void **state)
{
	hcr_fieldset fs;
	char *newer = base_observed("1.29", 4, NULL), *older = base_observed("1.29", 3, NULL);
	hcr_field *f;

	(void)state;
	created(&fs);
	observe(&fs, HCR_POLICY_ADOPT, newer, 50, true, NULL);
	observe(&fs, HCR_POLICY_ADOPT, older, 40, false, NULL);
	f = field(&fs, "nodeGroups[ng-a].desiredSize");
	assert_json(f->observed, "4");
	assert_true(f->observed_at == 50);
	expect(&fs, "nodeGroups[ng-a].desiredSize", HCR_FS_IN_SYNC, "4");
	free(newer);
	free(older);
	hcr_fieldset_free(&fs);
}

/* The cloud ahead on a version: adopted under every policy, even over a pending edit. */
static void test_engine__refresh_irreversible_cloud_ahead_is_adopted(void **state)
{
	static const struct {
		hcr_policy policy;
		const char *edit; /* NULL: none */
		const char *cloud;
	} cases[] = {
		{HCR_POLICY_ADOPT, NULL, "1.30"},
		{HCR_POLICY_ENFORCE, NULL, "1.30"},
		{HCR_POLICY_PREFER_UPSTREAM, NULL, "1.30"},
		{HCR_POLICY_ENFORCE, "{'kubernetesVersion': '1.30'}", "1.31"},
		{HCR_POLICY_ENFORCE, NULL, "1.29.5-eks-1234"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		hcr_fieldset fs;
		json_t *ev = json_array();
		char *obs = base_observed(cases[i].cloud, 2, NULL);
		char want[64];

		created(&fs);
		if (cases[i].edit)
			edit_ok(&fs, cases[i].edit, 15, NULL);
		observe(&fs, cases[i].policy, obs, 20, false, ev);
		snprintf(want, sizeof(want), "'%s'", cases[i].cloud);
		expect(&fs, "kubernetesVersion", HCR_FS_IN_SYNC, want);
		assert_int_equal(nevents(ev, "downgrade_adopted", "kubernetesVersion"), 1);
		assert_plan(&fs, "[]");
		free(obs);
		json_decref(ev);
		hcr_fieldset_free(&fs);
	}
}

/* Versions equal by number ("1.29" and "1.29-eks-abc") are in sync. */
static void test_engine__refresh_versions_compare_by_number(void **state)
{
	hcr_fieldset fs;
	char *obs = base_observed("1.29-eks-abc", 2, NULL);
	json_t *ev = json_array(), *drift;

	(void)state;
	created(&fs);
	observe(&fs, HCR_POLICY_ENFORCE, obs, 20, false, ev);
	expect(&fs, "kubernetesVersion", HCR_FS_IN_SYNC, "'1.29'");
	assert_int_equal(nevents(ev, "downgrade_adopted", NULL), 0);
	drift = hcr_engine_drift(CAT, &fs);
	assert_json(drift, "[]");
	json_decref(drift);
	free(obs);
	json_decref(ev);
	hcr_fieldset_free(&fs);
}

static void test_engine__refresh_failed_stays_failed_and_is_retried(void **state)
{
	hcr_fieldset fs;
	json_t *ev = json_array();
	char *obs = base_observed("1.29", 2, NULL), *done = base_observed("1.29", 5, NULL);
	hcr_field *f;

	(void)state;
	created(&fs);
	edit_ok(&fs, "{'nodeGroups': [{'nodegroupName': 'ng-a', 'desiredSize': 5}]}", 15, NULL);
	apply_one(&fs, "op-1", 16, 17, false, ev);
	f = field(&fs, "nodeGroups[ng-a].desiredSize");
	assert_int_equal(f->status, HCR_FS_FAILED);
	assert_string_equal(f->reason, "Throttling: slow down");
	assert_null(f->inflight_op);
	assert_json(f->applied, "2");
	assert_int_equal(nevents(ev, "failed", "nodeGroups[ng-a].desiredSize"), 1);
	/* Every policy keeps it failed; the plan retries it. */
	observe(&fs, HCR_POLICY_ADOPT, obs, 20, false, NULL);
	expect(&fs, "nodeGroups[ng-a].desiredSize", HCR_FS_FAILED, "5");
	assert_plan(&fs,
		    "[['UpdateNodegroupConfig', 'ng-a', {'nodeGroups[ng-a].desiredSize': 5}]]");
	/* A new edit resets it to pending. */
	edit_ok(&fs, "{'nodeGroups': [{'nodegroupName': 'ng-a', 'desiredSize': 6}]}", 21, NULL);
	expect(&fs, "nodeGroups[ng-a].desiredSize", HCR_FS_PENDING, "6");
	assert_null(field(&fs, "nodeGroups[ng-a].desiredSize")->reason);
	/* Failed again, then the cloud shows the value after all: in sync. */
	apply_one(&fs, "op-2", 22, 23, false, NULL);
	edit_ok(&fs, "{'nodeGroups': [{'nodegroupName': 'ng-a', 'desiredSize': 5}]}", 24, NULL);
	apply_one(&fs, "op-3", 25, 26, false, NULL);
	observe(&fs, HCR_POLICY_ADOPT, done, 30, false, NULL);
	expect(&fs, "nodeGroups[ng-a].desiredSize", HCR_FS_IN_SYNC, "5");
	free(obs);
	free(done);
	json_decref(ev);
	hcr_fieldset_free(&fs);
}

/* A managed immutable field the cloud reports differently: adopted, or blocked under enforce. */
static void test_engine__refresh_immutable_is_blocked_not_pushed(void **state)
{
	static const struct {
		hcr_policy policy;
		hcr_field_status status;
		const char *desired;
	} cases[] = {
		{HCR_POLICY_ADOPT, HCR_FS_IN_SYNC, "['s1', 's3']"},
		{HCR_POLICY_ENFORCE, HCR_FS_BLOCKED, "['s1', 's2']"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		hcr_fieldset fs;
		json_t *ev = json_array();

		created(&fs);
		observe(&fs, cases[i].policy,
			"{'kubernetesVersion': '1.29', 'publicAccess': true, 'tags': {'team': 'a'},"
			" 'subnets': ['s1', 's3'], 'kmsKey': 'k2', 'nodeGroups': "
			"[{'nodegroupName': "
			"'ng-a', 'desiredSize': 2, 'minSize': 1, 'maxSize': 3, 'instanceType': "
			"'m5.large', 'labels': {'env': 'prod'}, 'version': '1.29'}]}",
			20, false, ev);
		expect(&fs, "subnets", cases[i].status, cases[i].desired);
		if (cases[i].status == HCR_FS_BLOCKED) {
			assert_non_null(field(&fs, "subnets")->reason);
			assert_int_equal(nevents(ev, "blocked", "subnets"), 1);
		}
		/* Create-only: never compared after creation. */
		expect(&fs, "kmsKey", HCR_FS_IN_SYNC, "'k1'");
		assert_plan(&fs, "[]");
		json_decref(ev);
		hcr_fieldset_free(&fs);
	}
}

/* A managed map key removed in the cloud: adopted as removed (adopt), re-added (enforce). */
static void test_engine__refresh_map_key_removed_in_cloud(void **state)
{
	static const struct {
		hcr_policy policy;
		hcr_field_status status;
		const char *desired;
		const char *plan;
	} cases[] = {
		{HCR_POLICY_ADOPT, HCR_FS_IN_SYNC, "null", "[]"},
		{HCR_POLICY_ENFORCE, HCR_FS_PENDING, "'a'",
		 "[['TagResource', null, {'tags.team': 'a'}]]"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		hcr_fieldset fs;

		created(&fs);
		observe(&fs, cases[i].policy,
			"{'kubernetesVersion': '1.29', 'publicAccess': true, 'tags': {},"
			" 'subnets': ['s1', 's2'], 'kmsKey': 'k1', 'nodeGroups': "
			"[{'nodegroupName': "
			"'ng-a', 'desiredSize': 2, 'minSize': 1, 'maxSize': 3, 'instanceType': "
			"'m5.large', 'labels': {'env': 'prod'}, 'version': '1.29'}]}",
			20, false, NULL);
		expect(&fs, "tags.team", cases[i].status, cases[i].desired);
		assert_plan(&fs, cases[i].plan);
		hcr_fieldset_free(&fs);
	}
}

/* ---- edits ------------------------------------------------------------------------------- */

static void test_engine__edit_value_manages_and_null_releases(void **state)
{
	hcr_fieldset fs = {0};
	json_t *ev = json_array();
	hcr_field *f;

	(void)state;
	observe(&fs, HCR_POLICY_ADOPT, BASE_CONFIG, 10, false, NULL);
	edit_ok(&fs, "{'publicAccess': false, 'kubernetesVersion': '1.29'}", 11, ev);
	expect(&fs, "publicAccess", HCR_FS_PENDING, "false");
	/* Same value as the cloud: managed and in sync, with the cloud value as base. */
	expect(&fs, "kubernetesVersion", HCR_FS_IN_SYNC, "'1.29'");
	assert_json(field(&fs, "kubernetesVersion")->applied, "'1.29'");
	assert_int_equal(nevents(ev, "desired_set", NULL), 2);
	assert_int_equal(nevents(ev, "pending", "publicAccess"), 1);
	assert_plan(&fs, "[['UpdateEndpointAccess', null, {'publicAccess': false}]]");
	json_array_clear(ev);
	edit_ok(&fs, "{'publicAccess': null}", 12, ev);
	f = field(&fs, "publicAccess");
	expect(&fs, "publicAccess", HCR_FS_IN_SYNC, NULL);
	assert_null(f->applied);
	assert_int_equal(nevents(ev, "released", "publicAccess"), 1);
	assert_plan(&fs, "[]");
	/* Setting the same value again records nothing. */
	json_array_clear(ev);
	edit_ok(&fs, "{'kubernetesVersion': '1.29'}", 13, ev);
	assert_int_equal(json_array_size(ev), 0);
	json_decref(ev);
	hcr_fieldset_free(&fs);
}

static void test_engine__edit_map_key_null_removes_and_map_null_releases(void **state)
{
	hcr_fieldset fs = {0};
	json_t *ev = json_array();

	(void)state;
	observe(&fs, HCR_POLICY_ADOPT, "{'tags': {'team': 'a', 'old': 'x', 'keep': 'k'}}", 10,
		false, NULL);
	edit_ok(&fs, "{'tags': {'old': null, 'team': 'b', 'ghost': null}}", 11, ev);
	expect(&fs, "tags.old", HCR_FS_PENDING, "null");
	expect(&fs, "tags.team", HCR_FS_PENDING, "'b'");
	expect(&fs, "tags.ghost", HCR_FS_IN_SYNC, "null"); /* nothing to remove */
	expect(&fs, "tags.keep", HCR_FS_IN_SYNC, NULL);    /* untouched: still external */
	assert_plan(&fs, "[['TagResource', null, {'tags.old': null, 'tags.team': 'b'}]]");
	json_array_clear(ev);
	edit_ok(&fs, "{'tags': null}", 12, ev);
	expect(&fs, "tags.old", HCR_FS_IN_SYNC, NULL);
	expect(&fs, "tags.team", HCR_FS_IN_SYNC, NULL);
	assert_int_equal(nevents(ev, "released", NULL), 3);
	assert_plan(&fs, "[]");
	json_decref(ev);
	hcr_fieldset_free(&fs);
}

static void test_engine__edit_merges_objects_into_leaf_values(void **state)
{
	hcr_fieldset fs = {0};
	hcr_error err;

	(void)state;
	observe(&fs, HCR_POLICY_ADOPT,
		"{'nodeGroups': [{'nodegroupName': 'ng-a', 'launchTemplate': {'id': 'lt-1', "
		"'version': 2}}]}",
		10, false, NULL);
	edit_ok(&fs,
		"{'nodeGroups': [{'nodegroupName': 'ng-a', 'launchTemplate': {'id': 'lt-1', "
		"'version': 3}}]}",
		11, NULL);
	expect(&fs, "nodeGroups[ng-a].launchTemplate", HCR_FS_PENDING,
	       "{'id': 'lt-1', 'version': 3}");
	/* Uncatalogued fields can be set before the cluster exists; merging is RFC 7396. */
	assert_int_equal(
		edit(&fs, false, "{'displayName': {'a': 1, 'b': {'c': 2}}}", 12, NULL, &err),
		HCR_OK);
	assert_int_equal(
		edit(&fs, false, "{'displayName': {'b': {'c': null, 'd': 3}}}", 13, NULL, &err),
		HCR_OK);
	assert_json(field(&fs, "displayName")->desired, "{'a': 1, 'b': {'d': 3}}");
	hcr_fieldset_free(&fs);
}

/* Refused edits name the path and leave the fieldset and the events untouched. */
static void test_engine__edit_refusals_change_nothing(void **state)
{
	static const struct {
		const char *patch;
		const char *message;
		const char *hint; /* substring, or NULL */
	} cases[] = {
		{"{'subnets': ['s9']}",
		 "field \"subnets\" cannot be changed once the cluster exists",
		 "create a new cluster"},
		{"{'kmsKey': 'k2'}", "field \"kmsKey\" can only be set when the cluster is created",
		 NULL},
		{"{'displayName': 'x'}",
		 "field \"displayName\" cannot be changed: provider \"fake\" has no operation for "
		 "it",
		 NULL},
		{"{'kubernetesVersion': '1.28'}",
		 "field \"kubernetesVersion\" cannot go down from \"1.29\" to \"1.28\"",
		 "ask for \"1.29\" or later"},
		{"{'nodeGroups': [{'nodegroupName': 'ng-a', 'version': '1.28'}]}",
		 "field \"nodeGroups[ng-a].version\" cannot go down from \"1.29\" to \"1.28\"",
		 NULL},
		{"{'nodeGroups': [{'nodegroupName': 'ng-a', 'instanceType': 'm5.xlarge'}]}",
		 "field \"nodeGroups[ng-a].instanceType\" cannot be changed once the pool exists",
		 "create a new pool"},
		/* Valid changes before the refusal are not kept either. */
		{"{'publicAccess': false, 'tags': {'x': 'y'}, 'subnets': ['s9']}",
		 "field \"subnets\" cannot be changed once the cluster exists", NULL},
		{"{'nodeGroups': [{'nodegroupName': 'a]'}]}",
		 "pool name \"a]\" in \"nodeGroups\" may not contain ']'", NULL},
		{"{'tags': 'x'}", "field \"tags\" must be an object", NULL},
		{"{'a[0]': 1}", "field name \"a[0]\" is not allowed", NULL},
		{"[]", "a patch must be a JSON object", NULL},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		hcr_fieldset fs;
		json_t *ev = json_array(), *before, *after;
		hcr_error err;

		created(&fs);
		before = snapshot(&fs);
		assert_int_equal(edit(&fs, true, cases[i].patch, 20, ev, &err), HCR_EINVALID);
		assert_string_equal(err.code, "invalid");
		assert_string_equal(err.message, cases[i].message);
		if (cases[i].hint && !strstr(err.hint, cases[i].hint))
			fail_msg("hint \"%s\" lacks \"%s\"", err.hint, cases[i].hint);
		after = snapshot(&fs);
		assert_true(json_equal(before, after));
		assert_int_equal(json_array_size(ev), 0);
		json_decref(before);
		json_decref(after);
		json_decref(ev);
		hcr_fieldset_free(&fs);
	}
}

static void test_engine__edit_accepts_what_is_not_a_change(void **state)
{
	static const char *const patches[] = {
		/* Same values as the cloud. */
		"{'subnets': ['s1', 's2'], 'kmsKey': 'k1'}",
		"{'nodeGroups': [{'nodegroupName': 'ng-a', 'instanceType': 'm5.large'}]}",
		/* Immutable fields of a pool that does not exist yet. */
		"{'nodeGroups': [{'nodegroupName': 'ng-a'}, {'nodegroupName': 'ng-b', "
		"'instanceType': 'c5.large', 'diskSize': 50}]}",
		/* Versions going up. */
		"{'kubernetesVersion': '1.30', 'nodeGroups': [{'nodegroupName': 'ng-a', 'version': "
		"'1.30'}]}",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(patches); i++) {
		hcr_fieldset fs;

		created(&fs);
		edit_ok(&fs, patches[i], 20, NULL);
		hcr_fieldset_free(&fs);
	}
}

static void test_engine__edit_before_the_cluster_exists_changes_anything(void **state)
{
	hcr_fieldset fs = {0};
	json_t *config = J(BASE_CONFIG);
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_engine_init_created(&fs, CAT, config, 1, NULL, &err), HCR_OK);
	assert_int_equal(edit(&fs, false, "{'subnets': ['s9'], 'kmsKey': 'k2'}", 2, NULL, &err),
			 HCR_OK);
	expect(&fs, "subnets", HCR_FS_PENDING, "['s9']");
	json_decref(config);
	hcr_fieldset_free(&fs);
}

/* A pending upgrade never sent may be lowered again; one applied may not. */
static void test_engine__edit_lowering_an_unsent_upgrade(void **state)
{
	hcr_fieldset fs;
	hcr_error err;

	(void)state;
	created(&fs);
	edit_ok(&fs, "{'kubernetesVersion': '1.31'}", 20, NULL);
	edit_ok(&fs, "{'kubernetesVersion': '1.30'}", 21, NULL);
	expect(&fs, "kubernetesVersion", HCR_FS_PENDING, "'1.30'");
	apply_one(&fs, "op-1", 22, 23, true, NULL);
	assert_int_equal(edit(&fs, true, "{'kubernetesVersion': '1.29'}", 24, NULL, &err),
			 HCR_EINVALID);
	assert_string_equal(err.detail, "hcr has applied the higher version");
	hcr_fieldset_free(&fs);
}

static void test_engine__edit_pool_list_deletes_only_what_hcr_applied(void **state)
{
	hcr_fieldset fs;
	json_t *ev = json_array();

	(void)state;
	created(&fs);
	/* ng-x appears in the cloud: external. */
	observe(&fs, HCR_POLICY_ADOPT,
		"{'kubernetesVersion': '1.29', 'publicAccess': true, 'tags': {'team': 'a'},"
		" 'subnets': ['s1', 's2'], 'kmsKey': 'k1', 'nodeGroups': [{'nodegroupName': 'ng-a',"
		" 'desiredSize': 2, 'minSize': 1, 'maxSize': 3, 'instanceType': 'm5.large',"
		" 'labels': {'env': 'prod'}, 'version': '1.29'}, {'nodegroupName': 'ng-x',"
		" 'desiredSize': 4}]}",
		20, false, ev);
	assert_int_equal(nevents(ev, "pool_external", "nodeGroups[ng-x]"), 1);
	json_array_clear(ev);
	/* A list with only a new pool ng-n: ng-a (applied by hcr) is deleted, ng-x stays. */
	edit_ok(&fs, "{'nodeGroups': [{'nodegroupName': 'ng-n', 'desiredSize': 1}]}", 21, ev);
	expect(&fs, "nodeGroups[ng-a]", HCR_FS_PENDING, "null");
	expect(&fs, "nodeGroups[ng-a].desiredSize", HCR_FS_IN_SYNC, NULL);
	expect(&fs, "nodeGroups[ng-x]", HCR_FS_IN_SYNC, NULL);
	expect(&fs, "nodeGroups[ng-n]", HCR_FS_PENDING, "true");
	assert_int_equal(nevents(ev, "desired_set", "nodeGroups[ng-a]"), 1);
	assert_plan(&fs, "[['CreateNodegroup', 'ng-n', {'nodeGroups[ng-n]': {'nodegroupName': "
			 "'ng-n', 'desiredSize': 1}}], ['DeleteNodegroup', 'ng-a', "
			 "{'nodeGroups[ng-a]': null}]]");
	/* Dropping ng-n again before it was created: forgotten, nothing to delete. */
	edit_ok(&fs, "{'nodeGroups': []}", 22, NULL);
	expect(&fs, "nodeGroups[ng-n]", HCR_FS_IN_SYNC, NULL);
	assert_plan(&fs, "[['DeleteNodegroup', 'ng-a', {'nodeGroups[ng-a]': null}]]");
	/* Listing ng-a again cancels its deletion. */
	edit_ok(&fs, "{'nodeGroups': [{'nodegroupName': 'ng-a', 'desiredSize': 2}]}", 23, NULL);
	expect(&fs, "nodeGroups[ng-a]", HCR_FS_IN_SYNC, "true");
	assert_plan(&fs, "[]");
	json_decref(ev);
	hcr_fieldset_free(&fs);
}

static void test_engine__edit_pool_list_claims_only_changed_values(void **state)
{
	hcr_fieldset fs = {0};

	(void)state;
	observe(&fs, HCR_POLICY_ADOPT,
		"{'nodeGroups': [{'nodegroupName': 'ng-a', 'desiredSize': 2, 'labels': {'env': "
		"'prod', 'team': 'a'}, 'launchTemplate': {'id': 'lt-1', 'version': 2}}]}",
		10, false, NULL);
	/* The whole pool echoed back with one change. */
	edit_ok(&fs,
		"{'nodeGroups': [{'nodegroupName': 'ng-a', 'desiredSize': 3, 'labels': {'env': "
		"'prod', 'team': 'a'}, 'launchTemplate': {'id': 'lt-1', 'version': 2}}]}",
		11, NULL);
	expect(&fs, "nodeGroups[ng-a].desiredSize", HCR_FS_PENDING, "3");
	expect(&fs, "nodeGroups[ng-a].launchTemplate", HCR_FS_IN_SYNC, NULL);
	expect(&fs, "nodeGroups[ng-a].labels.env", HCR_FS_IN_SYNC, NULL);
	expect(&fs, "nodeGroups[ng-a]", HCR_FS_IN_SYNC, NULL);
	/* Managed keys missing from a listed map are removed; missing leaves are released. */
	edit_ok(&fs,
		"{'nodeGroups': [{'nodegroupName': 'ng-a', 'labels': {'env': 'dev', 'team': "
		"'a'}}]}",
		12, NULL);
	expect(&fs, "nodeGroups[ng-a].desiredSize", HCR_FS_IN_SYNC, NULL);
	expect(&fs, "nodeGroups[ng-a].labels.env", HCR_FS_PENDING, "'dev'");
	edit_ok(&fs, "{'nodeGroups': [{'nodegroupName': 'ng-a', 'labels': {'team': 'a'}}]}", 13,
		NULL);
	expect(&fs, "nodeGroups[ng-a].labels.env", HCR_FS_PENDING, "null");
	assert_plan(&fs, "[['UpdateNodegroupConfig', 'ng-a', {'nodeGroups[ng-a].labels.env': "
			 "null}]]");
	/* A list without the labels map releases its keys. */
	edit_ok(&fs, "{'nodeGroups': [{'nodegroupName': 'ng-a'}]}", 14, NULL);
	expect(&fs, "nodeGroups[ng-a].labels.env", HCR_FS_IN_SYNC, NULL);
	/* External pool: the empty list deletes nothing. */
	edit_ok(&fs, "{'nodeGroups': []}", 15, NULL);
	assert_plan(&fs, "[]");
	/* And null releases the lot. */
	edit_ok(&fs, "{'nodeGroups': [{'nodegroupName': 'ng-a', 'desiredSize': 9}]}", 16, NULL);
	edit_ok(&fs, "{'nodeGroups': null}", 17, NULL);
	expect(&fs, "nodeGroups[ng-a].desiredSize", HCR_FS_IN_SYNC, NULL);
	assert_plan(&fs, "[]");
	hcr_fieldset_free(&fs);
}

/* Fields hcr manages inside a pool it does not manage follow the pool. */
static void test_engine__managed_fields_of_external_pools(void **state)
{
	hcr_fieldset fs = {0};
	json_t *ev = json_array(), *drift;
	const char *two = "{'nodeGroups': [{'nodegroupName': 'ng-x', 'desiredSize': 2},"
			  " {'nodegroupName': 'ng-y', 'desiredSize': 2}]}";

	(void)state;
	observe(&fs, HCR_POLICY_ENFORCE, two, 10, false, NULL);
	edit_ok(&fs,
		"{'nodeGroups': [{'nodegroupName': 'ng-x', 'desiredSize': 3},"
		" {'nodegroupName': 'ng-y', 'desiredSize': 4}]}",
		11, NULL);
	expect(&fs, "nodeGroups[ng-x]", HCR_FS_IN_SYNC, NULL);
	expect(&fs, "nodeGroups[ng-x].desiredSize", HCR_FS_PENDING, "3");
	/* Left out of the list: its managed fields are released, the pool is not deleted. */
	edit_ok(&fs, "{'nodeGroups': [{'nodegroupName': 'ng-y', 'desiredSize': 4}]}", 12, ev);
	expect(&fs, "nodeGroups[ng-x].desiredSize", HCR_FS_IN_SYNC, NULL);
	assert_int_equal(nevents(ev, "released", "nodeGroups[ng-x].desiredSize"), 1);
	assert_plan(&fs,
		    "[['UpdateNodegroupConfig', 'ng-y', {'nodeGroups[ng-y].desiredSize': 4}]]");
	/* Deleted in the console: what hcr managed in it goes too, nothing stays pending. */
	json_array_clear(ev);
	observe(&fs, HCR_POLICY_ENFORCE,
		"{'nodeGroups': [{'nodegroupName': 'ng-x', 'desiredSize': 2}]}", 20, false, ev);
	assert_int_equal(nevents(ev, "adopted", "nodeGroups[ng-y].desiredSize"), 1);
	assert_null(hcr_fieldset_get(&fs, "nodeGroups[ng-y].desiredSize"));
	assert_plan(&fs, "[]");
	drift = hcr_engine_drift(CAT, &fs);
	assert_json(drift, "[]");
	json_decref(drift);
	json_decref(ev);
	hcr_fieldset_free(&fs);
}

/*
 * Taking over a field of an imported cluster: the value seen at the edit is the
 * base, so a cloud change before the push is a conflict that prefer_upstream
 * gives to the cloud.
 */
static void test_engine__taking_over_a_field_keeps_the_seen_value_as_base(void **state)
{
	static const struct {
		hcr_policy policy;
		hcr_field_status status;
		const char *desired;
	} cases[] = {
		{HCR_POLICY_ADOPT, HCR_FS_CONFLICT, "5"},
		{HCR_POLICY_PREFER_UPSTREAM, HCR_FS_IN_SYNC, "7"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		hcr_fieldset fs = {0};
		json_t *ev = json_array();

		observe(&fs, cases[i].policy,
			"{'nodeGroups': [{'nodegroupName': 'ng-x', 'desiredSize': 2}]}", 10, false,
			NULL);
		edit_ok(&fs, "{'nodeGroups': [{'nodegroupName': 'ng-x', 'desiredSize': 5}]}", 11,
			NULL);
		assert_json(field(&fs, "nodeGroups[ng-x].desiredSize")->applied, "2");
		observe(&fs, cases[i].policy,
			"{'nodeGroups': [{'nodegroupName': 'ng-x', 'desiredSize': 7}]}", 20, false,
			ev);
		expect(&fs, "nodeGroups[ng-x].desiredSize", cases[i].status, cases[i].desired);
		assert_int_equal(nevents(ev, "conflict", "nodeGroups[ng-x].desiredSize"), 1);
		json_decref(ev);
		hcr_fieldset_free(&fs);
	}
}

/* ---- plan and operations ----------------------------------------------------------------- */

static void test_engine__plan_groups_by_operation_and_pool_in_order(void **state)
{
	hcr_fieldset fs;

	(void)state;
	created(&fs);
	edit_ok(&fs,
		"{'tags': {'team': 'b', 'cost': 'c1'}, 'kubernetesVersion': '1.30',"
		" 'publicAccessSources': ['10.0.0.0/8'], 'publicAccess': false,"
		" 'loggingTypes': ['api'],"
		" 'nodeGroups': [{'nodegroupName': 'ng-a', 'desiredSize': 3, 'maxSize': 5,"
		" 'labels': {'env': 'prod', 'tier': 'web'}, 'version': '1.30'},"
		" {'nodegroupName': 'ng-b', 'desiredSize': 1, 'instanceType': 'c5.large'}]}",
		20, NULL);
	assert_plan(&fs,
		    "[['UpdateClusterVersion', null, {'kubernetesVersion': '1.30'}],"
		    " ['UpdateEndpointAccess', null, {'publicAccess': false,"
		    "  'publicAccessSources': ['10.0.0.0/8']}],"
		    " ['UpdateLogging', null, {'loggingTypes': ['api']}],"
		    " ['TagResource', null, {'tags.team': 'b', 'tags.cost': 'c1'}],"
		    " ['CreateNodegroup', 'ng-b', {'nodeGroups[ng-b]': {'nodegroupName': 'ng-b',"
		    "  'desiredSize': 1, 'instanceType': 'c5.large'}}],"
		    " ['UpdateNodegroupConfig', 'ng-a', {'nodeGroups[ng-a].desiredSize': 3,"
		    "  'nodeGroups[ng-a].maxSize': 5, 'nodeGroups[ng-a].labels.tier': 'web'}],"
		    " ['UpdateNodegroupVersion', 'ng-a', {'nodeGroups[ng-a].version': '1.30'}]]");
	/* The plan is a function of the state: the same twice. */
	{
		json_t *a = plan_summary(&fs), *b = plan_summary(&fs);

		assert_true(json_equal(a, b));
		json_decref(a);
		json_decref(b);
	}
	hcr_fieldset_free(&fs);
}

static void test_engine__plan_puts_pool_deletion_last(void **state)
{
	hcr_fieldset fs;

	(void)state;
	created(&fs);
	edit_ok(&fs,
		"{'tags': {'z': 'z'}, 'nodeGroups': [{'nodegroupName': 'ng-b', 'desiredSize': 1}]}",
		20, NULL);
	assert_plan(&fs, "[['TagResource', null, {'tags.z': 'z'}],"
			 " ['CreateNodegroup', 'ng-b', {'nodeGroups[ng-b]': {'nodegroupName': "
			 "'ng-b', 'desiredSize': 1}}],"
			 " ['DeleteNodegroup', 'ng-a', {'nodeGroups[ng-a]': null}]]");
	hcr_fieldset_free(&fs);
}

static void test_engine__plan_leaves_out_applying_blocked_and_in_flight(void **state)
{
	hcr_fieldset fs;
	hcr_plan plan;
	hcr_error err;

	(void)state;
	created(&fs);
	edit_ok(&fs, "{'kubernetesVersion': '1.30', 'publicAccess': false}", 20, NULL);
	assert_int_equal(hcr_engine_plan(&fs, CAT, &plan, &err), HCR_OK);
	assert_int_equal(plan.n, 2);
	hcr_engine_op_started(&fs, &plan.ops[0], "op-1", 21, NULL);
	hcr_plan_free(&plan);
	assert_plan(&fs, "[['UpdateEndpointAccess', null, {'publicAccess': false}]]");
	/* Blocked fields are not planned. */
	field(&fs, "publicAccess")->status = HCR_FS_BLOCKED;
	assert_plan(&fs, "[]");
	hcr_fieldset_free(&fs);
}

static void test_engine__op_started_and_finished(void **state)
{
	hcr_fieldset fs;
	json_t *ev = json_array();
	hcr_plan plan;
	hcr_error err;
	hcr_field *f;

	(void)state;
	created(&fs);
	edit_ok(&fs,
		"{'nodeGroups': [{'nodegroupName': 'ng-a'}, {'nodegroupName': 'ng-b', "
		"'desiredSize': 1, 'labels': {'x': 'y'}}]}",
		20, NULL);
	assert_int_equal(hcr_engine_plan(&fs, CAT, &plan, &err), HCR_OK);
	assert_int_equal(plan.n, 1);
	assert_string_equal(plan.ops[0].operation, "CreateNodegroup");
	hcr_engine_op_started(&fs, &plan.ops[0], "op-1", 21, ev);
	hcr_plan_free(&plan);
	/* The create carries the pool and every field of it. */
	for (const char *const *p =
		     (const char *const[]){"nodeGroups[ng-b]", "nodeGroups[ng-b].desiredSize",
					   "nodeGroups[ng-b].labels.x", NULL};
	     *p; p++) {
		f = field(&fs, *p);
		assert_int_equal(f->status, HCR_FS_APPLYING);
		assert_string_equal(f->inflight_op, "op-1");
	}
	assert_json(field(&fs, "nodeGroups[ng-b]")->sent, "true");
	assert_int_equal(nevents(ev, "applying", "nodeGroups[ng-b]"), 1);
	assert_plan(&fs, "[]");
	/* Unknown op ids change nothing. */
	hcr_engine_op_finished(&fs, "op-x", true, NULL, 30, NULL);
	assert_string_equal(field(&fs, "nodeGroups[ng-b]")->inflight_op, "op-1");
	hcr_engine_op_finished(&fs, "op-1", true, NULL, 30, ev);
	f = field(&fs, "nodeGroups[ng-b].desiredSize");
	assert_int_equal(f->status, HCR_FS_APPLYING);
	assert_null(f->inflight_op);
	assert_null(f->sent);
	assert_json(f->applied, "1");
	assert_string_equal(f->applied_op, "op-1");
	assert_true(f->applied_at == 30);
	assert_int_equal(nevents(ev, "op_succeeded", "nodeGroups[ng-b]"), 1);
	/* Confirmed by a fresh observation. */
	json_array_clear(ev);
	observe(&fs, HCR_POLICY_ADOPT,
		"{'kubernetesVersion': '1.29', 'publicAccess': true, 'tags': {'team': 'a'},"
		" 'subnets': ['s1', 's2'], 'kmsKey': 'k1', 'nodeGroups': [{'nodegroupName': 'ng-a',"
		" 'desiredSize': 2, 'minSize': 1, 'maxSize': 3, 'instanceType': 'm5.large',"
		" 'labels': {'env': 'prod'}, 'version': '1.29'}, {'nodegroupName': 'ng-b',"
		" 'desiredSize': 1, 'labels': {'x': 'y'}}]}",
		31, false, ev);
	expect(&fs, "nodeGroups[ng-b]", HCR_FS_IN_SYNC, "true");
	expect(&fs, "nodeGroups[ng-b].labels.x", HCR_FS_IN_SYNC, "'y'");
	assert_int_equal(nevents(ev, "applied", NULL), 3);
	assert_int_equal(nevents(ev, "pool_external", NULL), 0);
	json_decref(ev);
	hcr_fieldset_free(&fs);
}

static void test_engine__drift_reports_managed_fields_out_of_sync(void **state)
{
	hcr_fieldset fs;
	json_t *drift;
	char *obs = base_observed("1.29", 2, ", 'ext': 'e'");

	(void)state;
	created(&fs);
	edit_ok(&fs, "{'kubernetesVersion': '1.30'}", 19, NULL);
	apply_one(&fs, "op-1", 21, 22, false, NULL); /* UpdateClusterVersion fails */
	edit_ok(&fs, "{'publicAccess': false}", 20, NULL);
	observe(&fs, HCR_POLICY_ADOPT, obs, 30, false, NULL);
	drift = hcr_engine_drift(CAT, &fs);
	assert_int_equal(json_array_size(drift), 2);
	assert_json(json_array_get(drift, 0),
		    "{'path': 'kubernetesVersion', 'state': 'failed', 'reason': 'Throttling: slow "
		    "down', 'since': 22.0, 'desired': '1.30', 'observed': '1.29', 'applied': "
		    "'1.29'}");
	assert_json(json_array_get(drift, 1),
		    "{'path': 'publicAccess', 'state': 'pending', 'reason': null, 'since': 20.0,"
		    " 'desired': false, 'observed': true, 'applied': true}");
	json_decref(drift);
	free(obs);
	hcr_fieldset_free(&fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engine__catalog_find_matches_pools_and_map_keys),
		cmocka_unit_test(test_engine__flatten_and_unflatten_round_trip),
		cmocka_unit_test(test_engine__unflatten_orders_pools_by_name),
		cmocka_unit_test(test_engine__flatten_refuses_ambiguous_documents),
		cmocka_unit_test(test_engine__version_compare),
		cmocka_unit_test(test_engine__fieldset_is_sorted_and_copies_deeply),
		cmocka_unit_test(test_engine__names_parse_back),
		cmocka_unit_test(test_engine__import_starts_unmanaged_and_plans_nothing),
		cmocka_unit_test(test_engine__init_created_manages_every_field),
		cmocka_unit_test(
			test_engine__init_created_pools_missing_at_first_sight_are_created),
		cmocka_unit_test(test_engine__effective_overlays_managed_desired_on_observed),
		cmocka_unit_test(test_engine__effective_leaves_out_pools_being_deleted),
		cmocka_unit_test(test_engine__refresh_busy_only_records),
		cmocka_unit_test(test_engine__refresh_external_change_per_policy),
		cmocka_unit_test(test_engine__refresh_local_edit_and_conflict_per_policy),
		cmocka_unit_test(test_engine__refresh_stale_observation_never_reverts),
		cmocka_unit_test(test_engine__refresh_ignores_an_older_observation),
		cmocka_unit_test(test_engine__refresh_irreversible_cloud_ahead_is_adopted),
		cmocka_unit_test(test_engine__refresh_versions_compare_by_number),
		cmocka_unit_test(test_engine__refresh_failed_stays_failed_and_is_retried),
		cmocka_unit_test(test_engine__refresh_immutable_is_blocked_not_pushed),
		cmocka_unit_test(test_engine__refresh_map_key_removed_in_cloud),
		cmocka_unit_test(test_engine__edit_value_manages_and_null_releases),
		cmocka_unit_test(test_engine__edit_map_key_null_removes_and_map_null_releases),
		cmocka_unit_test(test_engine__edit_merges_objects_into_leaf_values),
		cmocka_unit_test(test_engine__edit_refusals_change_nothing),
		cmocka_unit_test(test_engine__edit_accepts_what_is_not_a_change),
		cmocka_unit_test(test_engine__edit_before_the_cluster_exists_changes_anything),
		cmocka_unit_test(test_engine__edit_lowering_an_unsent_upgrade),
		cmocka_unit_test(test_engine__edit_pool_list_deletes_only_what_hcr_applied),
		cmocka_unit_test(test_engine__edit_pool_list_claims_only_changed_values),
		cmocka_unit_test(test_engine__managed_fields_of_external_pools),
		cmocka_unit_test(test_engine__taking_over_a_field_keeps_the_seen_value_as_base),
		cmocka_unit_test(test_engine__plan_groups_by_operation_and_pool_in_order),
		cmocka_unit_test(test_engine__plan_puts_pool_deletion_last),
		cmocka_unit_test(test_engine__plan_leaves_out_applying_blocked_and_in_flight),
		cmocka_unit_test(test_engine__op_started_and_finished),
		cmocka_unit_test(test_engine__drift_reports_managed_fields_out_of_sync),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
