/*
 * Unit tests for src/sync_copy.c, config sync's pure part: the names an
 * object asks for, label values, origin marks, the copy, the decision taken
 * for what a target holds, the deletion guard and server keys. Cases that
 * are data are tables.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/sync.h"
#include "testutil.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- names ---------------------------------------------------------------------------------- */

static const struct {
	const char *in;
	int rc;
	const char *want; /* joined with '|' */
} split_cases[] = {
	{"b", HCR_OK, "b"},
	{"b,c", HCR_OK, "b|c"},
	{" b , c ,, b ", HCR_OK, "b|c"},
	{"", HCR_OK, ""},
	{",,, ", HCR_OK, ""},
	{"context:b, cluster:prod", HCR_OK, "context:b|cluster:prod"},
	{"a\tb", HCR_EINVALID, ""},
};

static void joined(char *out, size_t size, const hcr_sync_names *n)
{
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < n->n; i++)
		o += (size_t)snprintf(out + o, size - o, "%s%s", i ? "|" : "", n->v[i]);
}

static void test_sync_copy__split_names(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(split_cases); i++) {
		hcr_sync_names n = {0};
		hcr_error err;
		char got[256];
		int rc = hcr_sync_split_names(&n, split_cases[i].in, &err);

		assert_int_equal(rc, split_cases[i].rc);
		if (rc == HCR_OK) {
			joined(got, sizeof(got), &n);
			assert_string_equal(got, split_cases[i].want);
		}
		hcr_sync_names_free(&n);
	}
}

static void test_sync_copy__split_names_bounds(void **state)
{
	char list[64 * 4 + 16], longname[300];
	hcr_sync_names n = {0};
	hcr_error err;
	size_t i, o = 0;

	(void)state;
	for (i = 0; i <= HCR_SYNC_MAX_TARGETS; i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%zu", i ? "," : "", i);
	assert_int_equal(hcr_sync_split_names(&n, list, &err), HCR_EINVALID);
	assert_non_null(strstr(err.message, "more than 64"));
	hcr_sync_names_free(&n);

	memset(longname, 'x', 254);
	longname[254] = '\0';
	assert_int_equal(hcr_sync_split_names(&n, longname, &err), HCR_EINVALID);
	hcr_sync_names_free(&n);
}

static void test_sync_copy__wanted_reads_both_annotations(void **state)
{
	json_t *o = test_json("{'metadata':{'annotations':{'hcr.io/sync-clusters':'b, c',"
			      "'kubed.appscode.com/sync-contexts':'c,d'}}}");
	json_t *empty = test_json("{'metadata':{'annotations':{'hcr.io/sync-clusters':''}}}");
	json_t *none = test_json("{'metadata':{'annotations':{'other':'b'}}}");
	hcr_sync_names n = {0};
	hcr_error err;
	bool annotated;
	char got[64];

	(void)state;
	assert_int_equal(hcr_sync_wanted(&n, &annotated, o, &err), HCR_OK);
	joined(got, sizeof(got), &n);
	assert_string_equal(got, "b|c|d");
	assert_true(annotated);
	hcr_sync_names_free(&n);

	assert_int_equal(hcr_sync_wanted(&n, &annotated, empty, &err), HCR_OK);
	assert_true(annotated);
	assert_int_equal(n.n, 0);

	assert_int_equal(hcr_sync_wanted(&n, &annotated, none, &err), HCR_OK);
	assert_false(annotated);
	assert_int_equal(n.n, 0);
	json_decref(o);
	json_decref(empty);
	json_decref(none);
}

static void test_sync_copy__is_copy(void **state)
{
	static const struct {
		const char *obj;
		bool copy;
	} cases[] = {
		{"{'metadata':{'name':'x'}}", false},
		{"{'metadata':{'labels':{'hcr.io/origin-cluster':'a'}}}", true},
		{"{'metadata':{'labels':{'hcr.io/origin-name':'a'}}}", true},
		{"{'metadata':{'annotations':{'hcr.io/origin':'{}'}}}", true},
		{"{'metadata':{'labels':{'kubed.appscode.com/origin.cluster':'a'}}}", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *o = test_json(cases[i].obj);

		assert_int_equal(hcr_sync_is_copy(o), cases[i].copy);
		json_decref(o);
	}
}

/* ---- label values ---------------------------------------------------------------------------- */

static void test_sync_copy__label_value(void **state)
{
	static const struct {
		const char *in;
		const char *want; /* NULL: sanitised with a hash suffix, checked by shape */
	} cases[] = {
		{"a", "a"},
		{"prod-eu_1.x", "prod-eu_1.x"},
		{"", ""},
		{"arn:aws:eks:eu-west-1:123456789012:cluster/prod", NULL},
		{"kubernetes-admin@kind-kind", NULL},
		{"-leading", NULL},
		{"trailing.", NULL},
		{"x123456789x123456789x123456789x123456789x123456789x123456789x1234", NULL},
		{"::::", NULL},
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char out[64], again[64];
		size_t n;

		hcr_sync_label_value(out, cases[i].in);
		n = strlen(out);
		if (cases[i].want) {
			assert_string_equal(out, cases[i].want);
			continue;
		}
		assert_true(n > 0 && n <= 63);
		for (j = 0; j < n; j++)
			assert_non_null(
				strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "0123456789-_.",
				       out[j]));
		assert_true(isalnum((unsigned char)out[0]) && isalnum((unsigned char)out[n - 1]));
		hcr_sync_label_value(again, cases[i].in);
		assert_string_equal(out, again); /* stable */
	}
	{
		/* Two names that sanitise alike stay apart. */
		char x[64], y[64];

		hcr_sync_label_value(x, "team/a");
		hcr_sync_label_value(y, "team:a");
		assert_string_not_equal(x, y);
	}
}

/* ---- the copy -------------------------------------------------------------------------------- */

#define SOURCE_CM                                                                             \
	"{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'settings',"                \
	"'namespace':'app','uid':'u-1','resourceVersion':'7','generation':2,"                 \
	"'creationTimestamp':'2026-01-01T00:00:00Z','managedFields':[{'manager':'kubectl'}]," \
	"'ownerReferences':[{'apiVersion':'v1','kind':'Pod','name':'p','uid':'p1'}],"         \
	"'finalizers':['x/y'],'labels':{'team':'a'},'annotations':{"                          \
	"'hcr.io/sync-clusters':'b','kubed.appscode.com/sync-contexts':'c',"                  \
	"'kubed.appscode.com/sync':'','note':'kept',"                                         \
	"'kubectl.kubernetes.io/last-applied-configuration':'{}'}},"                          \
	"'data':{'mode':'blue','status':'a data key called status'}}"

static json_t *build(const char *src_text, const char *ns, char hash[65])
{
	json_t *src = test_json(src_text), *copy = NULL;
	hcr_error err;

	if (hcr_sync_copy_build(&copy, hash, src, "a", "0123456789abcdef", ns, &err) != HCR_OK)
		fail_msg("copy_build: %s", err.message);
	json_decref(src);
	return copy;
}

static void test_sync_copy__copy_carries_marks_and_no_sync_annotations(void **state)
{
	char hash[65];
	json_t *copy = build(SOURCE_CM, "apps", hash);
	json_t *meta = json_object_get(copy, "metadata");
	json_t *labels = json_object_get(meta, "labels");
	json_t *ann = json_object_get(meta, "annotations");
	json_t *want_data = test_json("{'mode':'blue','status':'a data key called status'}");
	hcr_sync_origin o;
	json_t *keep = NULL;
	static const char *const gone[] = {
		"uid",           "resourceVersion", "generation", "creationTimestamp",
		"managedFields", "ownerReferences", "finalizers"};
	size_t i;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(meta, "namespace")), "apps");
	assert_string_equal(json_string_value(json_object_get(meta, "name")), "settings");
	for (i = 0; i < ARRAY_SIZE(gone); i++)
		assert_null(json_object_get(meta, gone[i]));
	assert_null(json_object_get(ann, HCR_SYNC_ANNOTATION));
	assert_null(json_object_get(ann, HCR_SYNC_KUBED_ANNOTATION));
	assert_null(json_object_get(ann, "kubed.appscode.com/sync"));
	assert_null(json_object_get(ann, "kubectl.kubernetes.io/last-applied-configuration"));
	assert_string_equal(json_string_value(json_object_get(ann, "note")), "kept");
	assert_string_equal(json_string_value(json_object_get(labels, "team")), "a");
	assert_string_equal(json_string_value(json_object_get(labels, HCR_SYNC_LABEL_CLUSTER)),
			    "a");
	assert_string_equal(json_string_value(json_object_get(labels, HCR_SYNC_LABEL_NAMESPACE)),
			    "app");
	assert_string_equal(json_string_value(json_object_get(labels, HCR_SYNC_LABEL_NAME)),
			    "settings");
	assert_true(json_equal(json_object_get(copy, "data"), want_data));
	assert_true(hcr_sync_origin_read(&o, &keep, copy));
	assert_string_equal(o.cluster, "a");
	assert_string_equal(o.namespace, "app");
	assert_string_equal(o.name, "settings");
	assert_string_equal(o.uid, "u-1");
	assert_string_equal(o.server, "0123456789abcdef");
	assert_string_equal(o.hash, hash);
	assert_int_equal(strlen(hash), 64);
	/* A copy is a copy: it is never a source. */
	assert_true(hcr_sync_is_copy(copy));
	json_decref(keep);
	json_decref(want_data);
	json_decref(copy);
}

static void test_sync_copy__hash_follows_content_not_target(void **state)
{
	char h1[65], h2[65], h3[65], h4[65], h5[65];
	json_t *c1 = build(SOURCE_CM, "app", h1);
	json_t *c2 = build(SOURCE_CM, "elsewhere", h2);
	json_t *c3 = build("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'settings',"
			   "'namespace':'app','labels':{'team':'a'},'annotations':{'note':'kept',"
			   "'hcr.io/sync-clusters':'x,y,z'}},"
			   "'data':{'mode':'blue','status':'a data key called status'}}",
			   "app", h3);
	json_t *c4 = build("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'settings',"
			   "'namespace':'app','labels':{'team':'a'},'annotations':{'note':'kept'}},"
			   "'data':{'mode':'green','status':'a data key called status'}}",
			   "app", h4);
	json_t *c5 = build("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'settings',"
			   "'namespace':'app','labels':{'team':'b'},'annotations':{'note':'kept'}},"
			   "'data':{'mode':'blue','status':'a data key called status'}}",
			   "app", h5);

	(void)state;
	assert_string_equal(h1, h2);     /* the target namespace is not content */
	assert_string_equal(h1, h3);     /* nor the target list, uid or resourceVersion */
	assert_string_not_equal(h1, h4); /* data is */
	assert_string_not_equal(h1, h5); /* and labels */
	json_decref(c1);
	json_decref(c2);
	json_decref(c3);
	json_decref(c4);
	json_decref(c5);
}

static void test_sync_copy__secret_copy(void **state)
{
	char hash[65];
	json_t *copy =
		build("{'apiVersion':'v1','kind':'Secret','type':'kubernetes.io/tls',"
		      "'metadata':{'name':'tls','namespace':'app','annotations':{"
		      "'kubectl.kubernetes.io/last-applied-configuration':'{\\\"data\\\":1}',"
		      "'hcr.io/sync-clusters':'b'}},"
		      "'data':{'tls.crt':'Y3J0','tls.key':'a2V5'},'immutable':true}",
		      "app", hash);
	json_t *ann = json_object_get(json_object_get(copy, "metadata"), "annotations");

	(void)state;
	assert_string_equal(json_string_value(json_object_get(copy, "type")), "kubernetes.io/tls");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(copy, "data"), "tls.key")),
		"a2V5");
	assert_true(json_is_true(json_object_get(copy, "immutable")));
	assert_null(json_object_get(ann, "kubectl.kubernetes.io/last-applied-configuration"));
	json_decref(copy);
}

static void test_sync_copy__only_configmaps_and_secrets(void **state)
{
	json_t *d = test_json("{'apiVersion':'apps/v1','kind':'Deployment','metadata':{"
			      "'name':'web','namespace':'app'}}");
	json_t *unnamed = test_json("{'apiVersion':'v1','kind':'ConfigMap','metadata':{}}");
	json_t *out = NULL;
	hcr_error err;
	char hash[65];

	(void)state;
	assert_int_equal(hcr_sync_copy_build(&out, hash, d, "a", NULL, "app", &err), HCR_EINVALID);
	assert_null(out);
	assert_int_equal(hcr_sync_copy_build(&out, hash, unnamed, "a", NULL, "app", &err),
			 HCR_EINVALID);
	json_decref(d);
	json_decref(unnamed);
}

/* ---- origin marks ---------------------------------------------------------------------------- */

static void test_sync_copy__origin_needs_every_mark(void **state)
{
	static const struct {
		const char *obj;
		bool ours;
	} cases[] = {
		{"{'metadata':{'labels':{'hcr.io/origin-cluster':'a'},'annotations':{"
		 "'hcr.io/"
		 "origin':'{\\\"cluster\\\":\\\"a\\\",\\\"namespace\\\":\\\"n\\\",\\\"name\\\":"
		 "\\\"x\\\"}'}}}",
		 true},
		/* the label without the annotation */
		{"{'metadata':{'labels':{'hcr.io/origin-cluster':'a'}}}", false},
		/* the annotation without the label */
		{"{'metadata':{'annotations':{"
		 "'hcr.io/"
		 "origin':'{\\\"cluster\\\":\\\"a\\\",\\\"namespace\\\":\\\"n\\\",\\\"name\\\":"
		 "\\\"x\\\"}'}}}",
		 false},
		/* the label names another cluster */
		{"{'metadata':{'labels':{'hcr.io/origin-cluster':'b'},'annotations':{"
		 "'hcr.io/"
		 "origin':'{\\\"cluster\\\":\\\"a\\\",\\\"namespace\\\":\\\"n\\\",\\\"name\\\":"
		 "\\\"x\\\"}'}}}",
		 false},
		/* not JSON, or not all of cluster, namespace and name */
		{"{'metadata':{'labels':{'hcr.io/origin-cluster':'a'},'annotations':{"
		 "'hcr.io/origin':'a/n/x'}}}",
		 false},
		{"{'metadata':{'labels':{'hcr.io/origin-cluster':'a'},'annotations':{"
		 "'hcr.io/origin':'{\\\"cluster\\\":\\\"a\\\",\\\"name\\\":\\\"x\\\"}'}}}",
		 false},
		{"{'metadata':{'labels':{'hcr.io/origin-cluster':'a'},'annotations':{"
		 "'hcr.io/origin':'[]'}}}",
		 false},
		{"{'metadata':[]}", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *o = test_json(cases[i].obj), *keep = NULL;
		hcr_sync_origin origin;

		assert_int_equal(hcr_sync_origin_read(&origin, &keep, o), cases[i].ours);
		assert_true(cases[i].ours ? keep != NULL : keep == NULL);
		json_decref(keep);
		json_decref(o);
	}
}

/* ---- decisions ------------------------------------------------------------------------------- */

/* The desired copy of SOURCE_CM in "app", as the target would store it. */
static json_t *live_copy(void)
{
	char hash[65];
	json_t *c = build(SOURCE_CM, "app", hash);
	json_t *meta = json_object_get(c, "metadata");

	json_object_set_new(meta, "uid", json_string("t-9"));
	json_object_set_new(meta, "resourceVersion", json_string("100"));
	return c;
}

static void test_sync_copy__decide(void **state)
{
	char hash[65];
	json_t *desired = build(SOURCE_CM, "app", hash), *live;
	json_t *changed;

	(void)state;
	assert_int_equal(hcr_sync_decide(desired, NULL), HCR_SYNC_CREATE);

	live = live_copy();
	assert_int_equal(hcr_sync_decide(desired, live), HCR_SYNC_UNCHANGED);
	/* Extra labels that tools added in the target: left alone. */
	json_object_set_new(json_object_get(json_object_get(live, "metadata"), "labels"),
			    "added-by", json_string("a-webhook"));
	assert_int_equal(hcr_sync_decide(desired, live), HCR_SYNC_UNCHANGED);
	/* The copy's data was edited in the target: put back. */
	json_object_set_new(json_object_get(live, "data"), "mode", json_string("edited"));
	assert_int_equal(hcr_sync_decide(desired, live), HCR_SYNC_UPDATE);
	json_decref(live);

	/* The source changed. */
	changed =
		build("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'settings',"
		      "'namespace':'app','uid':'u-1','labels':{'team':'a'}},'data':{'mode':'red'}}",
		      "app", hash);
	live = live_copy();
	assert_int_equal(hcr_sync_decide(changed, live), HCR_SYNC_UPDATE);
	/* ... and the copy is immutable: replaced. */
	json_object_set_new(live, "immutable", json_true());
	assert_int_equal(hcr_sync_decide(changed, live), HCR_SYNC_RECREATE);
	json_decref(live);
	json_decref(changed);

	/* Marks naming another API server (a repointed context): rewritten. */
	live = live_copy();
	{
		json_t *ann = json_object_get(json_object_get(live, "metadata"), "annotations");
		json_t *o = json_loads(
			json_string_value(json_object_get(ann, HCR_SYNC_ORIGIN_ANNOTATION)), 0,
			NULL);
		char *text;

		json_object_set_new(o, "server", json_string("ffffffffffffffff"));
		text = json_dumps(o, JSON_COMPACT);
		json_object_set_new(ann, HCR_SYNC_ORIGIN_ANNOTATION, json_string(text));
		free(text);
		json_decref(o);
	}
	assert_int_equal(hcr_sync_decide(desired, live), HCR_SYNC_UPDATE);
	json_decref(live);

	/* Recreated source (new uid, same cluster, namespace and name): ours, updated. */
	changed =
		build("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'settings',"
		      "'namespace':'app','uid':'u-2','labels':{'team':'a'},'annotations':{"
		      "'note':'kept'}},'data':{'mode':'blue','status':'a data key called status'}}",
		      "app", hash);
	live = live_copy();
	assert_int_equal(hcr_sync_decide(changed, live), HCR_SYNC_UPDATE);
	json_decref(live);
	json_decref(changed);
	json_decref(desired);
}

static void test_sync_copy__decide_never_touches_others(void **state)
{
	char hash[65];
	json_t *desired = build(SOURCE_CM, "app", hash);
	json_t *foreign = test_json("{'apiVersion':'v1','kind':'ConfigMap','metadata':{"
				    "'name':'settings','namespace':'app'},'data':{'mode':'blue'}}");
	json_t *kubed = test_json("{'apiVersion':'v1','kind':'ConfigMap','metadata':{"
				  "'name':'settings','namespace':'app','labels':{"
				  "'kubed.appscode.com/origin.cluster':'a'}},'data':{}}");
	json_t *other, *ann;

	(void)state;
	assert_int_equal(hcr_sync_decide(desired, foreign), HCR_SYNC_FOREIGN);
	assert_int_equal(hcr_sync_decide(desired, kubed), HCR_SYNC_FOREIGN);
	/* The copy of another source object (another namespace, another uid). */
	other = build("{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'settings',"
		      "'namespace':'web','uid':'u-7'},'data':{'mode':'blue'}}",
		      "app", hash);
	assert_int_equal(hcr_sync_decide(desired, other), HCR_SYNC_OTHER_SOURCE);
	/* A desired object without marks is refused too (never overwrite blindly). */
	ann = json_object_get(json_object_get(desired, "metadata"), "annotations");
	json_object_del(ann, HCR_SYNC_ORIGIN_ANNOTATION);
	assert_int_equal(hcr_sync_decide(desired, other), HCR_SYNC_FOREIGN);
	json_decref(other);
	json_decref(foreign);
	json_decref(kubed);
	json_decref(desired);
}

static void test_sync_copy__origin_is_for_deletion(void **state)
{
	static const struct {
		const char *cluster, *server, *ns, *name, *uid;
		bool is;
	} cases[] = {
		{"a", "0123456789abcdef", "app", "settings", NULL, true},
		{"a", "0123456789abcdef", "app", "settings", "u-1", true},
		{"x", "ffffffffffffffff", "web", "other", "u-1", true}, /* the same object by uid */
		{"a", "ffffffffffffffff", "app", "settings", NULL, false}, /* another server */
		{"a", NULL, "app", "settings", NULL, false},
		{"a", "0123456789abcdef", "web", "settings", NULL, false},
		{"a", "0123456789abcdef", "app", "other", "u-2", false},
		{"b", "0123456789abcdef", "app", "settings", NULL, false},
	};
	char hash[65];
	json_t *copy = build(SOURCE_CM, "apps", hash), *keep = NULL;
	hcr_sync_origin o;
	size_t i;

	(void)state;
	assert_true(hcr_sync_origin_read(&o, &keep, copy));
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(hcr_sync_origin_is(&o, cases[i].cluster, cases[i].server,
						    cases[i].ns, cases[i].name, cases[i].uid),
				 cases[i].is);
	json_decref(keep);
	json_decref(copy);
}

static void test_sync_copy__server_id(void **state)
{
	char a[17], b[17], c[17];

	(void)state;
	hcr_sync_server_id(a, "https://API.example.com/");
	hcr_sync_server_id(b, "https://api.example.com:443");
	hcr_sync_server_id(c, "https://api.example.com:6443");
	assert_int_equal(strlen(a), 16);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
}

/* ---- the guard and server keys -------------------------------------------------------------- */

static void test_sync_copy__guard(void **state)
{
	static const struct {
		size_t deletes, copies;
		int percent;
		bool allowed;
	} cases[] = {
		{0, 0, 50, true},      {0, 100, 0, true},  {1, 1, 50, true},
		{9, 9, 50, true}, /* below HCR_SYNC_GUARD_MIN */
		{10, 10, 50, false},   {10, 20, 50, true}, {11, 20, 50, false},
		{12, 12, 100, true},   {1, 100, 0, false}, {1000, 1000, 99, false},
		{990, 1000, 99, true},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(
			hcr_sync_guard_allows(cases[i].deletes, cases[i].copies, cases[i].percent),
			cases[i].allowed);
}

static void test_sync_copy__server_key(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"https://10.0.0.1:6443", "https://10.0.0.1:6443"},
		{"https://API.Example.com", "https://api.example.com:443"},
		{"https://api.example.com:443/", "https://api.example.com:443"},
		{"HTTP://127.0.0.1", "http://127.0.0.1:80"},
		{"https://rancher.example.com/k8s/clusters/c-1",
		 "https://rancher.example.com:443/k8s/clusters/c-1"},
		{"https://[::1]:6443", "https://[::1]:6443"},
		{"https://[::1]", "https://[::1]:443"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *k = hcr_sync_server_key(cases[i].in);

		assert_string_equal(k, cases[i].want);
		free(k);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sync_copy__split_names),
		cmocka_unit_test(test_sync_copy__split_names_bounds),
		cmocka_unit_test(test_sync_copy__wanted_reads_both_annotations),
		cmocka_unit_test(test_sync_copy__is_copy),
		cmocka_unit_test(test_sync_copy__label_value),
		cmocka_unit_test(test_sync_copy__copy_carries_marks_and_no_sync_annotations),
		cmocka_unit_test(test_sync_copy__hash_follows_content_not_target),
		cmocka_unit_test(test_sync_copy__secret_copy),
		cmocka_unit_test(test_sync_copy__only_configmaps_and_secrets),
		cmocka_unit_test(test_sync_copy__origin_needs_every_mark),
		cmocka_unit_test(test_sync_copy__decide),
		cmocka_unit_test(test_sync_copy__decide_never_touches_others),
		cmocka_unit_test(test_sync_copy__origin_is_for_deletion),
		cmocka_unit_test(test_sync_copy__server_id),
		cmocka_unit_test(test_sync_copy__guard),
		cmocka_unit_test(test_sync_copy__server_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
