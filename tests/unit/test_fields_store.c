/*
 * Unit tests for src/fields_store.c against a real PostgreSQL
 * (tests/unit/pgtest.h): a fieldset saved and loaded again comes back the
 * same, with every kind of value (a JSON null value stays distinct from "no
 * value"); saving writes only the rows that changed, none at all when nothing
 * did; a field that disappears loses its row; events are stored as given.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "hcr/engine.h"
#include "hcr/error.h"
#include "hcr/fields_store.h"
#include "hcr/mem.h"
#include "hcr/migrate.h"
#include "hcr/store.h"
#include "pgtest.h"

#define OP_1 "6f1c2b8e-3d4a-4c5b-9e6f-7a8b9c0d1e2f"
#define OP_2 "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

/*
 * Times with an exact binary fraction and whole microseconds, so that they
 * survive timestamptz (microseconds) and extract(epoch ...) unchanged.
 */
#define T0 1795289850.0

static pgtest pgt;
static hcr_store *pool;
static PGconn *conn; /* borrowed from the pool for the whole run */
static char cluster_id[40];

static int group_setup(void **state)
{
	(void)state;
	return pgtest_start_store(&pgt, &pool, 2, &conn);
}

static int group_teardown(void **state)
{
	(void)state;
	pgtest_close_store(&pgt, &pool, &conn);
	return 0;
}

/* An empty database with one credential and one cluster, whose id goes to cluster_id. */
static int fresh_cluster(void **state)
{
	PGresult *res = NULL;
	hcr_error err;

	(void)state;
	if (pgtest_exec(&pgt, "TRUNCATE credentials, clusters, cluster_fields, cluster_events, "
			      "operations, cluster_schedule CASCADE") != 0)
		return -1;
	if (hcr_store_query(
		    conn, &res,
		    "WITH cr AS (INSERT INTO credentials (name, provider, metadata, sealed, "
		    "key_id, created_by) VALUES ('fake', 'fake', '{}', '\\x00', 'k', 'test') "
		    "RETURNING id) "
		    "INSERT INTO clusters (name, provider, imported, cloud_name, region, "
		    "credential_id, state, created_by) SELECT 'demo', 'fake', true, 'demo', "
		    "'eu-west-1', cr.id, 'registered', 'test' FROM cr RETURNING id",
		    0, NULL, &err) != HCR_OK) {
		pgtest_print_error("insert cluster", &err);
		return -1;
	}
	snprintf(cluster_id, sizeof(cluster_id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/* The first value of a one-row, one-column query, as a new string ("" for SQL NULL). */
static char *sql_value(const char *sql)
{
	PGresult *res = NULL;
	hcr_error err;
	const char *params[1] = {cluster_id};
	char *v;

	if (hcr_store_query(conn, &res, sql, 1, params, &err) != HCR_OK)
		fail_msg("%s: %s: %s", sql, err.message, err.detail);
	assert_int_equal(PQntuples(res), 1);
	v = hcr_strdup(PQgetisnull(res, 0, 0) ? "" : PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static int rows(void)
{
	char *v = sql_value("SELECT count(*) FROM cluster_fields WHERE cluster_id = $1::uuid");
	int n = atoi(v);

	free(v);
	return n;
}

/* Each row's path and row version (xmin), to see which rows a save rewrote. */
static char *row_versions(void)
{
	return sql_value("SELECT string_agg(path || '=' || xmin::text, ',' ORDER BY path) "
			 "FROM cluster_fields WHERE cluster_id = $1::uuid");
}

/* The row version of one path in a row_versions() string, as a new string. */
static char *version_of(const char *versions, const char *path)
{
	char key[128];
	const char *p, *end;

	snprintf(key, sizeof(key), "%s=", path);
	p = strstr(versions, key);
	assert_non_null(p);
	p += strlen(key);
	end = strchr(p, ',');
	return hcr_strndup(p, end ? (size_t)(end - p) : strlen(p));
}

static void set_str(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? hcr_strdup(v) : NULL;
}

static void set_json(json_t **slot, json_t *v)
{
	json_decref(*slot);
	*slot = v;
}

/* A fieldset with every kind of value and state the table holds. */
static void build(hcr_fieldset *fs)
{
	hcr_field *f;

	/* A string, managed, pending an upgrade; desired_at 0 stays "never". */
	f = hcr_fieldset_upsert(fs, "kubernetesVersion");
	f->owner = HCR_OWNER_HCR;
	f->desired = json_string("1.30");
	f->observed = json_string("1.29");
	f->observed_at = T0 + 0.5;
	f->applied = json_string("1.29");
	f->applied_op = hcr_strdup(OP_1);
	f->applied_at = T0 + 0.25;
	f->status = HCR_FS_PENDING;
	f->since = T0 + 0.75;

	/* A number inside a pool, with a desired time. */
	f = hcr_fieldset_upsert(fs, "nodeGroups[ng-a].desiredSize");
	f->owner = HCR_OWNER_HCR;
	f->desired = json_integer(4);
	f->desired_at = T0 + 0.125;
	f->observed = json_integer(3);
	f->observed_at = T0 + 0.5;
	f->applied = json_integer(3);
	f->applied_at = T0;
	f->status = HCR_FS_PENDING;
	f->since = T0 + 0.125;

	/* A non-integral number and a bool, observed only. */
	f = hcr_fieldset_upsert(fs, "nodeGroups[ng-a].diskRatio");
	f->observed = json_real(2.5);
	f->observed_at = T0 + 0.5;
	f->since = T0;
	f = hcr_fieldset_upsert(fs, "publicAccess");
	f->owner = HCR_OWNER_HCR;
	f->desired = json_false();
	f->observed = json_true();
	f->observed_at = T0 + 0.5;
	f->applied = json_true();
	f->applied_at = T0 + 0.5;
	f->status = HCR_FS_CONFLICT;
	f->reason = hcr_strdup("changed here and in the cloud");
	f->since = T0 + 0.25;

	/* An array and an object, external. */
	f = hcr_fieldset_upsert(fs, "subnets");
	f->observed = json_pack("[s, s]", "subnet-a", "subnet-b");
	f->observed_at = T0 + 0.5;
	f->since = T0;
	f = hcr_fieldset_upsert(fs, "launchTemplate");
	f->observed =
		json_pack("{s:s, s:i, s:{s:b}}", "id", "lt-1", "version", 3, "opts", "ebs", 1);
	f->observed_at = T0 + 0.5;
	f->since = T0;

	/*
	 * A managed absence in flight: desired and sent are the JSON value null
	 * (remove the key), applied is no value at all.
	 */
	f = hcr_fieldset_upsert(fs, "tags.old");
	f->owner = HCR_OWNER_HCR;
	f->desired = json_null();
	f->observed = json_string("x");
	f->observed_at = T0 + 0.5;
	f->inflight_op = hcr_strdup(OP_2);
	f->sent = json_null();
	f->status = HCR_FS_APPLYING;
	f->since = T0 + 0.75;

	/* A pool's existence, failed with the cloud's reason. */
	f = hcr_fieldset_upsert(fs, "nodeGroups[ng-b]");
	f->owner = HCR_OWNER_HCR;
	f->desired = json_true();
	f->status = HCR_FS_FAILED;
	f->reason = hcr_strdup("InvalidParameterException: subnet is full");
	f->since = T0 + 0.5;
}

/* Checks one value: both absent, or both present and equal (JSON null included). */
static void assert_value(const char *path, const char *what, const json_t *want, const json_t *got)
{
	if (!want || !got) {
		if (want != got)
			fail_msg("%s %s: want %s, got %s", path, what,
				 want ? "a value" : "no value", got ? "a value" : "no value");
		return;
	}
	if (!json_equal(want, got)) {
		char *a = json_dumps(want, JSON_ENCODE_ANY), *b = json_dumps(got, JSON_ENCODE_ANY);

		fail_msg("%s %s: want %s, got %s", path, what, a, b);
	}
}

static void assert_str(const char *path, const char *what, const char *want, const char *got)
{
	if (!want || !got) {
		if (want != got)
			fail_msg("%s %s: want %s, got %s", path, what, want ? want : "NULL",
				 got ? got : "NULL");
		return;
	}
	if (strcmp(want, got) != 0)
		fail_msg("%s %s: want %s, got %s", path, what, want, got);
}

static void assert_time(const char *path, const char *what, double want, double got)
{
	if (fabs(want - got) > 1e-7)
		fail_msg("%s %s: want %.6f, got %.6f", path, what, want, got);
}

static void assert_same_fieldset(const hcr_fieldset *want, const hcr_fieldset *got)
{
	size_t i;

	assert_int_equal(got->n, want->n);
	for (i = 0; i < want->n; i++) {
		const hcr_field *w = &want->items[i];
		const hcr_field *g = hcr_fieldset_get(got, w->path);

		if (!g) {
			fail_msg("%s: missing after load", w->path);
			return;
		}
		assert_int_equal(g->owner, w->owner);
		assert_value(w->path, "desired", w->desired, g->desired);
		assert_time(w->path, "desired_at", w->desired_at, g->desired_at);
		assert_value(w->path, "observed", w->observed, g->observed);
		assert_time(w->path, "observed_at", w->observed_at, g->observed_at);
		assert_value(w->path, "applied", w->applied, g->applied);
		assert_str(w->path, "applied_op", w->applied_op, g->applied_op);
		assert_time(w->path, "applied_at", w->applied_at, g->applied_at);
		assert_str(w->path, "inflight_op", w->inflight_op, g->inflight_op);
		assert_value(w->path, "sent", w->sent, g->sent);
		assert_int_equal(g->status, w->status);
		assert_str(w->path, "reason", w->reason, g->reason);
		assert_time(w->path, "since", w->since, g->since);
	}
}

static void load(hcr_fieldset *out)
{
	hcr_error err;

	if (hcr_fields_load(conn, cluster_id, out, &err) != HCR_OK)
		fail_msg("load: %s: %s", err.message, err.detail);
}

static int save(const hcr_fieldset *before, const hcr_fieldset *after)
{
	hcr_error err;
	int written = -1;

	if (hcr_fields_save(conn, cluster_id, before, after, &written, &err) != HCR_OK)
		fail_msg("save: %s: %s", err.message, err.detail);
	return written;
}

/* Saves the full fieldset over an empty one; the caller frees *fs. */
static void save_built(hcr_fieldset *fs)
{
	hcr_fieldset empty = {0};

	build(fs);
	assert_int_equal(save(&empty, fs), (int)fs->n);
	assert_int_equal(rows(), (int)fs->n);
}

/* Removes `path` from `fs`, keeping the rest sorted. */
static void drop_field(hcr_fieldset *fs, const char *path)
{
	hcr_field *f = hcr_fieldset_get(fs, path);
	size_t i;

	assert_non_null(f);
	i = (size_t)(f - fs->items);
	free(f->path);
	json_decref(f->desired);
	json_decref(f->observed);
	json_decref(f->applied);
	json_decref(f->sent);
	free(f->applied_op);
	free(f->inflight_op);
	free(f->reason);
	memmove(&fs->items[i], &fs->items[i + 1], (fs->n - i - 1) * sizeof(*fs->items));
	fs->n--;
}

static void test_fields_store__round_trip_keeps_every_kind_of_value(void **state)
{
	hcr_fieldset fs = {0}, loaded = {0};
	char *v;

	(void)state;
	save_built(&fs);
	load(&loaded);
	assert_same_fieldset(&fs, &loaded);
	/* Loaded back, nothing differs from what was saved. */
	assert_false(hcr_fieldset_differs(&fs, &loaded));

	/* In the table, a JSON null value is jsonb 'null' and "no value" is SQL NULL. */
	v = sql_value(
		"SELECT desired::text || '|' || coalesce(applied::text, 'SQL NULL') || '|' || "
		"sent::text || '|' || inflight_operation_id::text FROM cluster_fields "
		"WHERE cluster_id = $1::uuid AND path = 'tags.old'");
	assert_string_equal(v, "null|SQL NULL|null|" OP_2);
	free(v);
	v = sql_value("SELECT (desired IS NULL AND applied IS NULL AND sent IS NULL AND "
		      "owner = 'external')::text FROM cluster_fields "
		      "WHERE cluster_id = $1::uuid AND path = 'subnets'");
	assert_string_equal(v, "true");
	free(v);
	v = sql_value("SELECT state || '|' || state_reason FROM cluster_fields "
		      "WHERE cluster_id = $1::uuid AND path = 'nodeGroups[ng-b]'");
	assert_string_equal(v, "failed|InvalidParameterException: subnet is full");
	free(v);

	hcr_fieldset_free(&fs);
	hcr_fieldset_free(&loaded);
}

static void test_fields_store__unchanged_fieldset_writes_nothing(void **state)
{
	hcr_fieldset fs = {0}, a = {0}, b = {0}, copy = {0};
	char *before, *after;

	(void)state;
	save_built(&fs);
	before = row_versions();
	load(&a);
	load(&b);
	assert_false(hcr_fieldset_differs(&a, &b));
	assert_int_equal(save(&a, &b), 0);
	/* A clone is the same too, and so is the loaded set over the original one. */
	hcr_fieldset_clone(&copy, &a);
	assert_false(hcr_fieldset_differs(&a, &copy));
	assert_int_equal(save(&a, &copy), 0);
	assert_int_equal(save(&fs, &a), 0);
	after = row_versions();
	assert_string_equal(after, before);

	free(before);
	free(after);
	hcr_fieldset_free(&fs);
	hcr_fieldset_free(&a);
	hcr_fieldset_free(&b);
	hcr_fieldset_free(&copy);
}

static void test_fields_store__one_changed_field_writes_one_row(void **state)
{
	hcr_fieldset fs = {0}, before = {0}, after = {0}, loaded = {0};
	hcr_field *f;
	char *v1, *v2, *x1, *x2;
	size_t i;

	(void)state;
	save_built(&fs);
	v1 = row_versions();
	load(&before);
	hcr_fieldset_clone(&after, &before);
	/* The operation finished: applied, confirmed, nothing in flight. */
	f = hcr_fieldset_get(&after, "tags.old");
	assert_non_null(f);
	set_json(&f->applied, json_null());
	set_json(&f->observed, NULL);
	set_json(&f->sent, NULL);
	set_str(&f->applied_op, OP_2);
	set_str(&f->inflight_op, NULL);
	f->applied_at = T0 + 1.5;
	f->observed_at = T0 + 2.0;
	f->status = HCR_FS_IN_SYNC;
	f->since = T0 + 2.0;
	assert_true(hcr_fieldset_differs(&before, &after));
	assert_int_equal(save(&before, &after), 1);
	assert_int_equal(rows(), (int)fs.n);

	load(&loaded);
	assert_same_fieldset(&after, &loaded);
	/* Only that row was rewritten. */
	v2 = row_versions();
	for (i = 0; i < fs.n; i++) {
		const char *path = fs.items[i].path;

		x1 = version_of(v1, path);
		x2 = version_of(v2, path);
		if (strcmp(path, "tags.old") == 0)
			assert_string_not_equal(x1, x2);
		else
			assert_string_equal(x1, x2);
		free(x1);
		free(x2);
	}

	free(v1);
	free(v2);
	hcr_fieldset_free(&fs);
	hcr_fieldset_free(&before);
	hcr_fieldset_free(&after);
	hcr_fieldset_free(&loaded);
}

static void test_fields_store__each_member_counts_as_a_change(void **state)
{
	/* A change to any one member, and only to it, is one row written. */
	static const char *const members[] = {"owner",       "desired", "desired_at", "observed",
					      "observed_at", "applied", "applied_op", "applied_at",
					      "inflight_op", "sent",    "status",     "reason",
					      "since"};
	hcr_fieldset fs = {0};
	size_t m;

	(void)state;
	save_built(&fs);
	for (m = 0; m < sizeof(members) / sizeof(members[0]); m++) {
		hcr_fieldset before = {0}, after = {0};
		hcr_field *f;

		load(&before);
		hcr_fieldset_clone(&after, &before);
		f = hcr_fieldset_get(&after, "kubernetesVersion");
		if (strcmp(members[m], "owner") == 0)
			f->owner = HCR_OWNER_EXTERNAL;
		else if (strcmp(members[m], "desired") == 0)
			set_json(&f->desired, json_string("1.31"));
		else if (strcmp(members[m], "desired_at") == 0)
			f->desired_at = T0 + 3;
		else if (strcmp(members[m], "observed") == 0)
			set_json(&f->observed, json_null());
		else if (strcmp(members[m], "observed_at") == 0)
			f->observed_at = T0 + 3;
		else if (strcmp(members[m], "applied") == 0)
			set_json(&f->applied, NULL);
		else if (strcmp(members[m], "applied_op") == 0)
			set_str(&f->applied_op, OP_2);
		else if (strcmp(members[m], "applied_at") == 0)
			f->applied_at = T0 + 3;
		else if (strcmp(members[m], "inflight_op") == 0)
			set_str(&f->inflight_op, OP_1);
		else if (strcmp(members[m], "sent") == 0)
			set_json(&f->sent, json_string("1.30"));
		else if (strcmp(members[m], "status") == 0)
			f->status = HCR_FS_BLOCKED;
		else if (strcmp(members[m], "reason") == 0)
			set_str(&f->reason, "why not");
		else
			f->since = T0 + 3;
		if (!hcr_fieldset_differs(&before, &after))
			fail_msg("a change to %s is not seen", members[m]);
		if (save(&before, &after) != 1)
			fail_msg("a change to %s did not write exactly one row", members[m]);
		hcr_fieldset_free(&before);
		load(&before);
		assert_same_fieldset(&after, &before);
		hcr_fieldset_free(&before);
		hcr_fieldset_free(&after);
	}
	hcr_fieldset_free(&fs);
}

static void test_fields_store__removed_field_loses_its_row(void **state)
{
	hcr_fieldset fs = {0}, before = {0}, after = {0}, loaded = {0};
	char *v;

	(void)state;
	save_built(&fs);
	load(&before);
	hcr_fieldset_clone(&after, &before);
	drop_field(&after, "nodeGroups[ng-b]");
	assert_true(hcr_fieldset_differs(&before, &after));
	assert_int_equal(save(&before, &after), 1);
	assert_int_equal(rows(), (int)fs.n - 1);
	v = sql_value("SELECT count(*) FROM cluster_fields WHERE cluster_id = $1::uuid "
		      "AND path = 'nodeGroups[ng-b]'");
	assert_string_equal(v, "0");
	free(v);
	load(&loaded);
	assert_null(hcr_fieldset_get(&loaded, "nodeGroups[ng-b]"));
	assert_same_fieldset(&after, &loaded);

	/* A removal and a change together: two rows. */
	hcr_fieldset_free(&before);
	hcr_fieldset_free(&after);
	hcr_fieldset_clone(&before, &loaded);
	hcr_fieldset_clone(&after, &loaded);
	drop_field(&after, "subnets");
	hcr_fieldset_get(&after, "publicAccess")->status = HCR_FS_PENDING;
	assert_int_equal(save(&before, &after), 2);
	assert_int_equal(rows(), (int)fs.n - 2);

	hcr_fieldset_free(&fs);
	hcr_fieldset_free(&before);
	hcr_fieldset_free(&after);
	hcr_fieldset_free(&loaded);
}

static void test_fields_store__events_are_stored_as_given(void **state)
{
	json_t *events;
	hcr_error err;
	char *v;

	(void)state;
	events = json_pack(
		"[{s:s, s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:n}, {s:s, s:s, s:i, s:o, s:s}]",
		/* Everything set. */
		"kind", "op_succeeded", "path", "tags.team", "old", "payments", "new", "platform",
		"operation", OP_1, "message", "TagResource",
		/* A removal: the new value is JSON null; no old value, no operation. */
		"kind", "desired_set", "path", "tags.old", "new",
		/* Structured values. */
		"kind", "observed_changed", "path", "nodeGroups[ng-a].labels", "old", 1, "new",
		json_pack("{s:s}", "role", "web"), "message", "first sight");
	assert_int_equal(hcr_events_append(conn, cluster_id, "token:alice", events, &err), HCR_OK);
	json_decref(events);

	v = sql_value(
		"SELECT string_agg(concat_ws('|', actor, kind, coalesce(path, 'SQL NULL'), "
		"coalesce(old_value::text, 'SQL NULL'), coalesce(new_value::text, 'SQL NULL'), "
		"coalesce(operation_id::text, 'SQL NULL'), coalesce(message, 'SQL NULL')), "
		"E'\\n' ORDER BY id) FROM cluster_events WHERE cluster_id = $1::uuid");
	assert_string_equal(v, "token:alice|op_succeeded|tags.team|\"payments\"|\"platform\"|" OP_1
			       "|TagResource\n"
			       "token:alice|desired_set|tags.old|SQL NULL|null|SQL NULL|SQL NULL\n"
			       "token:alice|observed_changed|nodeGroups[ng-a].labels|1|"
			       "{\"role\": \"web\"}|SQL NULL|first sight");
	free(v);

	/* Nothing to append: no statement, no row. */
	events = json_array();
	assert_int_equal(hcr_events_append(conn, cluster_id, "reconciler", events, &err), HCR_OK);
	json_decref(events);
	assert_int_equal(hcr_events_append(conn, cluster_id, "reconciler", NULL, &err), HCR_OK);
	v = sql_value("SELECT count(*) FROM cluster_events WHERE cluster_id = $1::uuid");
	assert_string_equal(v, "3");
	free(v);
}

static void test_fields_store__bad_rows_fail_without_writing(void **state)
{
	/* An operation id that is not a UUID is refused by the table; nothing is written. */
	hcr_fieldset empty = {0}, fs = {0};
	hcr_error err;
	hcr_field *f;
	int written = -1;

	(void)state;
	f = hcr_fieldset_upsert(&fs, "kubernetesVersion");
	f->owner = HCR_OWNER_HCR;
	f->desired = json_string("1.30");
	f->inflight_op = hcr_strdup("not-a-uuid");
	f->since = T0;
	assert_int_not_equal(hcr_fields_save(conn, cluster_id, &empty, &fs, &written, &err),
			     HCR_OK);
	assert_int_equal(written, 0);
	assert_int_equal(rows(), 0);
	hcr_fieldset_free(&fs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_fields_store__round_trip_keeps_every_kind_of_value,
				       fresh_cluster),
		cmocka_unit_test_setup(test_fields_store__unchanged_fieldset_writes_nothing,
				       fresh_cluster),
		cmocka_unit_test_setup(test_fields_store__one_changed_field_writes_one_row,
				       fresh_cluster),
		cmocka_unit_test_setup(test_fields_store__each_member_counts_as_a_change,
				       fresh_cluster),
		cmocka_unit_test_setup(test_fields_store__removed_field_loses_its_row,
				       fresh_cluster),
		cmocka_unit_test_setup(test_fields_store__events_are_stored_as_given,
				       fresh_cluster),
		cmocka_unit_test_setup(test_fields_store__bad_rows_fail_without_writing,
				       fresh_cluster),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
