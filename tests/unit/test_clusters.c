/*
 * Unit tests for src/clusters.c: what a registration must contain for each
 * provider (hcr_cluster_parse), and the clusters table against a real
 * PostgreSQL (tests/unit/pgtest.h): insert with its first event, conflicts,
 * credentials, list pages, get by id or name, and forgetting a cluster.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "hcr/clusters.h"
#include "hcr/error.h"
#include "hcr/migrate.h"
#include "hcr/names.h"
#include "hcr/store.h"
#include "pgtest.h"
#include "testutil.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static pgtest pgt;
static hcr_store *pool;
static PGconn *conn; /* borrowed from the pool for the whole run */

static int group_setup(void **state)
{
	(void)state;
	return pgtest_start_store(&pgt, &pool, 1, &conn);
}

static int group_teardown(void **state)
{
	(void)state;
	pgtest_close_store(&pgt, &pool, &conn);
	return 0;
}

/* Every test starts with no clusters and the same four credentials. */
static int fresh_tables(void **state)
{
	(void)state;
	return pgtest_exec(
		&pgt, "SET client_min_messages = warning;"
		      "TRUNCATE clusters, credentials CASCADE;"
		      "INSERT INTO credentials (name, provider, metadata, sealed, key_id, "
		      "created_by) VALUES "
		      "('aws', 'eks', '{}', '\\x00', 'k', 'test'),"
		      "('aws-2', 'eks', '{}', '\\x00', 'k', 'test'),"
		      "('azure', 'aks', '{}', '\\x00', 'k', 'test'),"
		      "('gcp', 'gke', '{\"projectId\": \"cred-project\"}', '\\x00', 'k', 'test'),"
		      "('gcp-bare', 'gke', '{}', '\\x00', 'k', 'test')");
}

static json_t *doc(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);

	if (!v)
		fail_msg("bad test JSON %s: %s", text, jerr.text);
	return v;
}

#define sql_value(sql) test_sql_value(conn, (sql))

static void assert_sql(const char *sql, const char *want)
{
	char *v = sql_value(sql);

	if (want == NULL ? v != NULL : v == NULL || strcmp(v, want) != 0)
		fail_msg("%s: got %s, want %s", sql, v ? v : "NULL", want ? want : "NULL");
	free(v);
}

static const char *jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Parses and inserts `body`; returns the status, *out the new cluster (or NULL). */
static int register_cluster(const char *body, json_t **out, hcr_error *err)
{
	json_t *b = doc(body), *c = NULL;
	hcr_cluster_new nc;
	int rc;

	hcr_error_clear(err);
	rc = hcr_cluster_parse(&nc, b, err);
	if (rc == HCR_OK)
		rc = hcr_clusters_insert(conn, &nc, "token:tester", &c, err);
	json_decref(b);
	if (out)
		*out = c;
	else
		json_decref(c);
	return rc;
}

static void must_register(const char *body)
{
	hcr_error err;

	if (register_cluster(body, NULL, &err) != HCR_OK)
		fail_msg("%s: %s (%s)", body, err.message, err.detail);
}

/* ---- hcr_cluster_parse ---------------------------------------------------------------- */

static void test_clusters__parse_fills_defaults(void **state)
{
	json_t *body = doc("{\"name\": \"prod\", \"provider\": \"eks\", \"imported\": true, "
			   "\"credential\": \"aws\", \"region\": \"eu-west-1\"}");
	hcr_cluster_new c;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_cluster_parse(&c, body, &err), HCR_OK);
	assert_string_equal(c.name, "prod");
	assert_string_equal(c.provider, "eks");
	assert_true(c.imported);
	assert_string_equal(c.credential, "aws");
	assert_string_equal(c.region, "eu-west-1");
	/* The cloud name defaults to the name, the policy to adopt. */
	assert_string_equal(c.cloud_name, "prod");
	assert_string_equal(c.policy, "adopt");
	assert_null(c.location);
	assert_null(c.resource_group);
	assert_null(c.project);
	assert_null(c.config);
	json_decref(body);

	body = doc("{\"name\": \"new\", \"provider\": \"gke\", \"imported\": false, "
		   "\"credential\": \"gcp\", \"location\": \"europe-west1-b\", \"cloudName\": "
		   "\"cloud-new\", \"policy\": \"enforce\", \"project\": \"my-project-1\", "
		   "\"config\": {\"kubernetesVersion\": \"1.29\"}}");
	assert_int_equal(hcr_cluster_parse(&c, body, &err), HCR_OK);
	assert_false(c.imported);
	assert_string_equal(c.cloud_name, "cloud-new");
	assert_string_equal(c.policy, "enforce");
	assert_string_equal(c.location, "europe-west1-b");
	assert_string_equal(c.project, "my-project-1");
	assert_ptr_equal(c.config, json_object_get(body, "config"));
	json_decref(body);
}

static void test_clusters__parse_accepts_each_provider_location(void **state)
{
	static const char *const bodies[] = {
		"{\"name\": \"a\", \"provider\": \"eks\", \"imported\": true, \"credential\": "
		"\"c\", "
		"\"region\": \"us-gov-west-1\", \"cloudName\": \"My_Cluster-1\"}",
		"{\"name\": \"a\", \"provider\": \"aks\", \"imported\": true, \"credential\": "
		"\"c\", "
		"\"resourceGroup\": \"rg-(prod).1_x\"}",
		"{\"name\": \"a\", \"provider\": \"aks\", \"imported\": true, \"credential\": "
		"\"c\", "
		"\"resourceGroup\": \"rg\", \"location\": \"westeurope\"}",
		"{\"name\": \"a\", \"provider\": \"aks\", \"imported\": false, \"credential\": "
		"\"c\", "
		"\"resourceGroup\": \"rg\", \"location\": \"westeurope\", \"config\": {}}",
		"{\"name\": \"a\", \"provider\": \"gke\", \"imported\": true, \"credential\": "
		"\"c\", "
		"\"location\": \"europe-west1\"}",
		"{\"name\": \"a\", \"provider\": \"gke\", \"imported\": true, \"credential\": "
		"\"c\", "
		"\"location\": \"europe-west1-b\", \"project\": \"example.com:my-project\"}",
		/* null config on import is the same as none. */
		"{\"name\": \"a\", \"provider\": \"eks\", \"imported\": true, \"credential\": "
		"\"c\", "
		"\"region\": \"eu-west-1\", \"config\": null}",
		"{\"name\": \"a\", \"provider\": \"eks\", \"imported\": true, \"credential\": "
		"\"c\", "
		"\"region\": \"eu-west-1\", \"policy\": \"prefer_upstream\"}",
		"{\"name\": \"a\", \"provider\": \"eks\", \"imported\": true, \"credential\": "
		"\"c\", "
		"\"region\": \"eu-west-1\", \"policy\": null, \"project\": null}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bodies); i++) {
		json_t *body = doc(bodies[i]);
		hcr_cluster_new c;
		hcr_error err;

		hcr_error_clear(&err);
		if (hcr_cluster_parse(&c, body, &err) != HCR_OK)
			fail_msg("%s: %s", bodies[i], err.message);
		json_decref(body);
	}
}

static void test_clusters__parse_refuses_with_the_field_named(void **state)
{
#define EKS "\"name\": \"prod\", \"provider\": \"eks\", \"credential\": \"aws\", "
#define AKS "\"name\": \"prod\", \"provider\": \"aks\", \"credential\": \"azure\", "
#define GKE "\"name\": \"prod\", \"provider\": \"gke\", \"credential\": \"gcp\", "
#define IMP "\"imported\": true, "
#define CRE "\"imported\": false, "
#define C101                                                                                       \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaa"
	static const struct {
		const char *body;
		const char *message;
	} cases[] = {
		/* Common fields. */
		{"{" EKS IMP "\"region\": \"eu-west-1\", \"regoin\": 1}",
		 "unknown field \"regoin\""},
		{"{\"provider\": \"eks\", \"credential\": \"aws\", " IMP
		 "\"region\": \"eu-west-1\"}",
		 "field \"name\" is required"},
		{"{\"name\": \"Prod\", \"provider\": \"eks\", \"credential\": \"aws\", " IMP
		 "\"region\": \"eu-west-1\"}",
		 "field \"name\" is not a valid name"},
		{"{\"name\": \"prod\", \"credential\": \"aws\", " IMP "\"region\": \"eu-west-1\"}",
		 "field \"provider\" is required"},
		{"{\"name\": \"prod\", \"provider\": \"oke\", \"credential\": \"x\", "
		 "\"imported\": true}",
		 "field \"provider\" must be \"eks\", \"aks\" or \"gke\""},
		{"{\"name\": \"prod\", \"provider\": \"eks\", " IMP "\"region\": \"eu-west-1\"}",
		 "field \"credential\" is required"},
		{"{" EKS "\"region\": \"eu-west-1\"}",
		 "field \"imported\" is required and must be true or false"},
		{"{" EKS "\"imported\": \"true\", \"region\": \"eu-west-1\"}",
		 "field \"imported\" is required and must be true or false"},
		{"{" EKS IMP "\"region\": \"eu-west-1\", \"policy\": \"yolo\"}",
		 "field \"policy\" must be \"adopt\", \"enforce\" or \"prefer_upstream\""},
		{"{" EKS IMP "\"region\": 1}", "field \"region\" must be a string"},
		{"{" EKS IMP "\"region\": \"eu-west-1\", \"cloudName\": 5}",
		 "field \"cloudName\" must be a string"},
		/* eks: found by region. */
		{"{" EKS "\"imported\": true}", "field \"region\" is required for eks"},
		{"{" EKS IMP "\"region\": \"eu-west-1\", \"location\": \"x\"}",
		 "field \"location\" is not used by eks"},
		{"{" EKS IMP "\"region\": \"eu-west-1\", \"resourceGroup\": \"x\"}",
		 "field \"resourceGroup\" is not used by eks"},
		{"{" EKS IMP "\"region\": \"eu-west-1\", \"project\": \"x\"}",
		 "field \"project\" is not used by eks"},
		{"{" EKS IMP "\"region\": \"EU-WEST-1\"}", "field \"region\" is not an AWS region"},
		{"{" EKS IMP "\"region\": \"euwest1\"}", "field \"region\" is not an AWS region"},
		{"{" EKS IMP "\"region\": \"eu west-1\"}", "field \"region\" is not an AWS region"},
		{"{" EKS IMP "\"region\": \"-eu-west-1\"}",
		 "field \"region\" is not an AWS region"},
		{"{" EKS IMP "\"region\": \"eu-west-1\", \"cloudName\": \"my cluster\"}",
		 "field \"cloudName\" is not a valid EKS cluster name"},
		{"{" EKS IMP "\"region\": \"eu-west-1\", \"cloudName\": \"\"}",
		 "field \"cloudName\" is not a valid EKS cluster name"},
		{"{" EKS IMP "\"region\": \"eu-west-1\", \"cloudName\": \"" C101 "\"}",
		 "field \"cloudName\" is not a valid EKS cluster name"},
		/* aks: found by resource group; location needed to create. */
		{"{" AKS "\"imported\": true}", "field \"resourceGroup\" is required for aks"},
		{"{" AKS IMP "\"resourceGroup\": \"rg\", \"region\": \"westeurope\"}",
		 "field \"region\" is not used by aks"},
		{"{" AKS IMP "\"resourceGroup\": \"rg\", \"project\": \"p\"}",
		 "field \"project\" is not used by aks"},
		{"{" AKS IMP "\"resourceGroup\": \"rg.\"}",
		 "field \"resourceGroup\" is not a valid Azure resource group name"},
		{"{" AKS IMP "\"resourceGroup\": \"rg/x\"}",
		 "field \"resourceGroup\" is not a valid Azure resource group name"},
		{"{" AKS IMP "\"resourceGroup\": \"" C101 "\"}",
		 "field \"resourceGroup\" is not a valid Azure resource group name"},
		{"{" AKS CRE "\"resourceGroup\": \"rg\", \"config\": {}}",
		 "field \"location\" is required to create an aks cluster"},
		{"{" AKS IMP "\"resourceGroup\": \"rg\", \"location\": \"West Europe\"}",
		 "field \"location\" is not an Azure region"},
		{"{" AKS IMP "\"resourceGroup\": \"rg\", \"location\": \"WestEurope\"}",
		 "field \"location\" is not an Azure region"},
		{"{" AKS IMP "\"resourceGroup\": \"rg\", \"cloudName\": \"a.b\"}",
		 "field \"cloudName\" is not a valid AKS cluster name"},
		/* gke: found by location and project. */
		{"{" GKE "\"imported\": true}", "field \"location\" is required for gke"},
		{"{" GKE IMP "\"location\": \"europe-west1\", \"region\": \"europe-west1\"}",
		 "field \"region\" is not used by gke"},
		{"{" GKE IMP "\"location\": \"europe-west1\", \"resourceGroup\": \"rg\"}",
		 "field \"resourceGroup\" is not used by gke"},
		{"{" GKE IMP "\"location\": \"europe\"}",
		 "field \"location\" is not a GCP region or zone"},
		{"{" GKE IMP "\"location\": \"Europe-West1\"}",
		 "field \"location\" is not a GCP region or zone"},
		{"{" GKE IMP "\"location\": \"europe-west1\", \"project\": \"My_Project\"}",
		 "field \"project\" is not a GCP project id"},
		{"{" GKE IMP "\"location\": \"europe-west1\", \"cloudName\": \"1prod\"}",
		 "field \"cloudName\" is not a valid GKE cluster name"},
		{"{" GKE IMP "\"location\": \"europe-west1\", \"cloudName\": \"Prod\"}",
		 "field \"cloudName\" is not a valid GKE cluster name"},
		{"{" GKE IMP "\"location\": \"europe-west1\", \"cloudName\": \"prod_1\"}",
		 "field \"cloudName\" is not a valid GKE cluster name"},
		/* Without cloudName the name is the cloud name, and must suit the cloud. */
		{"{\"name\": \"prod.eu\", \"provider\": \"gke\", \"credential\": \"gcp\", " IMP
		 "\"location\": \"europe-west1\"}",
		 "field \"name\" is not a valid GKE cluster name"},
		/* config: refused on import, required and checked on create. */
		{"{" EKS IMP "\"region\": \"eu-west-1\", \"config\": {}}",
		 "field \"config\" is not accepted when importing a cluster"},
		{"{" EKS IMP
		 "\"region\": \"eu-west-1\", \"config\": {\"kubernetesVersion\": \"1.29\"}}",
		 "field \"config\" is not accepted when importing a cluster"},
		{"{" EKS CRE "\"region\": \"eu-west-1\"}",
		 "field \"config\" is required to create a cluster"},
		{"{" EKS CRE "\"region\": \"eu-west-1\", \"config\": null}",
		 "field \"config\" is required to create a cluster"},
		{"{" EKS CRE "\"region\": \"eu-west-1\", \"config\": []}",
		 "field \"config\" must be an object"},
		{"{" EKS CRE "\"region\": \"eu-west-1\", \"config\": {\"nodePools\": []}}",
		 "unknown field \"config.nodePools\" for provider eks"},
		{"{" GKE CRE "\"location\": \"europe-west1\", \"config\": {\"zone\": \"x\"}}",
		 "field \"config.zone\" belongs at the top level"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *body = doc(cases[i].body);
		hcr_cluster_new c;
		hcr_error err;
		int rc;

		hcr_error_clear(&err);
		rc = hcr_cluster_parse(&c, body, &err);
		if (rc != HCR_EINVALID || strcmp(err.code, "invalid") != 0 ||
		    strcmp(err.message, cases[i].message) != 0)
			fail_msg("case %zu %s: got %d %s \"%s\", want \"%s\"", i, cases[i].body, rc,
				 err.code, err.message, cases[i].message);
		json_decref(body);
	}
#undef EKS
#undef AKS
#undef GKE
#undef IMP
#undef CRE
#undef C101
}

static void test_clusters__parse_hints_at_what_to_do(void **state)
{
	json_t *body = doc("{\"name\": \"prod\", \"provider\": \"eks\", \"imported\": true, "
			   "\"credential\": \"aws\", \"region\": \"eu-west-1\", \"config\": {}}");
	hcr_cluster_new c;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_cluster_parse(&c, body, &err), HCR_EINVALID);
	assert_non_null(strstr(err.hint, "registering never changes an imported cluster"));
	json_decref(body);
	body = doc("{\"name\": \"prod\", \"provider\": \"eks\", \"imported\": true, "
		   "\"credential\": \"aws\"}");
	assert_int_equal(hcr_cluster_parse(&c, body, &err), HCR_EINVALID);
	assert_string_equal(err.hint, "for example eu-west-1");
	json_decref(body);
}

/* ---- insert --------------------------------------------------------------------------- */

static void test_clusters__insert_import_returns_the_cluster_and_writes_an_event(void **state)
{
	json_t *c = NULL;
	hcr_error err;
	char sql[256];

	(void)state;
	assert_int_equal(
		register_cluster("{\"name\": \"prod\", \"provider\": \"eks\", "
				 "\"imported\": true, \"credential\": \"aws\", "
				 "\"region\": \"eu-west-1\", \"cloudName\": \"prod-cloud\"}",
				 &c, &err),
		HCR_OK);
	assert_non_null(c);
	assert_true(hcr_uuid_valid(jstr(c, "id")));
	assert_string_equal(jstr(c, "name"), "prod");
	assert_string_equal(jstr(c, "provider"), "eks");
	assert_true(json_is_true(json_object_get(c, "imported")));
	assert_string_equal(jstr(c, "cloudName"), "prod-cloud");
	assert_string_equal(jstr(c, "region"), "eu-west-1");
	assert_string_equal(jstr(c, "credential"), "aws");
	assert_string_equal(jstr(c, "policy"), "adopt");
	assert_string_equal(jstr(c, "state"), "registered");
	assert_string_equal(jstr(c, "createdBy"), "token:tester");
	assert_true(json_is_false(json_object_get(c, "busy")));
	assert_int_equal(json_integer_value(json_object_get(c, "version")), 1);
	assert_non_null(jstr(c, "createdAt"));
	/* Nothing is managed: the desired document is empty. */
	assert_true(json_is_object(json_object_get(c, "desired")));
	assert_int_equal(json_object_size(json_object_get(c, "desired")), 0);
	/* Unused location parts are left out. */
	assert_null(json_object_get(c, "location"));
	assert_null(json_object_get(c, "resourceGroup"));

	snprintf(sql, sizeof(sql),
		 "SELECT count(*)::text || ' ' || min(kind) || ' ' || min(actor) "
		 "FROM cluster_events WHERE cluster_id = '%s'",
		 jstr(c, "id"));
	assert_sql(sql, "1 registered token:tester");
	snprintf(sql, sizeof(sql),
		 "SELECT message FROM cluster_events WHERE cluster_id = '%s' "
		 "AND message LIKE '%%nothing was written to the cloud%%'",
		 jstr(c, "id"));
	free(sql_value(sql));
	json_decref(c);
}

static void test_clusters__insert_create_records_the_desired_config(void **state)
{
	json_t *c = NULL, *want = doc("{\"kubernetesVersion\": \"1.29\", \"nodeGroups\": "
				      "[{\"nodegroupName\": \"ng-a\", \"desiredSize\": 2}]}");
	hcr_error err;
	char sql[256];
	char *ev;
	json_t *got;

	(void)state;
	assert_int_equal(
		register_cluster("{\"name\": \"new\", \"provider\": \"eks\", \"imported\": false, "
				 "\"credential\": \"aws\", \"region\": \"eu-west-1\", "
				 "\"policy\": \"enforce\", \"config\": {\"kubernetesVersion\": "
				 "\"1.29\", \"nodeGroups\": [{\"nodegroupName\": \"ng-a\", "
				 "\"desiredSize\": 2}]}}",
				 &c, &err),
		HCR_OK);
	assert_string_equal(jstr(c, "state"), "pending_create");
	assert_string_equal(jstr(c, "policy"), "enforce");
	assert_true(json_is_false(json_object_get(c, "imported")));
	assert_true(json_equal(json_object_get(c, "desired"), want));

	snprintf(
		sql, sizeof(sql),
		"SELECT kind || ' ' || new_value::text FROM cluster_events WHERE cluster_id = '%s'",
		jstr(c, "id"));
	ev = sql_value(sql);
	assert_memory_equal(ev, "desired_set ", 12);
	got = doc(ev + 12);
	assert_true(json_equal(got, want));
	json_decref(got);
	free(ev);
	json_decref(c);
	json_decref(want);
}

static void test_clusters__insert_conflicts_say_which(void **state)
{
	json_t *c = NULL;
	hcr_error err;

	(void)state;
	must_register("{\"name\": \"prod\", \"provider\": \"eks\", \"imported\": true, "
		      "\"credential\": \"aws\", \"region\": \"eu-west-1\"}");

	/* The same name. */
	assert_int_equal(register_cluster("{\"name\": \"prod\", \"provider\": \"aks\", "
					  "\"imported\": true, \"credential\": \"azure\", "
					  "\"resourceGroup\": \"rg\"}",
					  &c, &err),
			 HCR_ECONFLICT);
	assert_null(c);
	assert_string_equal(err.code, "conflict");
	assert_string_equal(err.message, "cluster \"prod\" already exists");
	assert_string_equal(err.hint, "choose another name");

	/* Another name for the same cloud cluster. */
	assert_int_equal(register_cluster("{\"name\": \"prod-again\", \"provider\": \"eks\", "
					  "\"imported\": true, \"credential\": \"aws\", "
					  "\"region\": \"eu-west-1\", \"cloudName\": \"prod\"}",
					  &c, &err),
			 HCR_ECONFLICT);
	assert_null(c);
	assert_string_equal(err.code, "conflict");
	assert_string_equal(err.message,
			    "eks cluster \"prod\" is already registered with this credential");
	assert_string_equal(err.hint, "list clusters with GET /v1/clusters?provider=eks");

	/* Neither left a row or an event behind. */
	assert_sql("SELECT count(*) FROM clusters", "1");
	assert_sql("SELECT count(*) FROM cluster_events", "1");

	/* The same cloud name elsewhere is another cluster. */
	must_register(
		"{\"name\": \"prod-us\", \"provider\": \"eks\", \"imported\": true, "
		"\"credential\": \"aws\", \"region\": \"us-east-1\", \"cloudName\": \"prod\"}");
	must_register("{\"name\": \"prod-acct2\", \"provider\": \"eks\", \"imported\": true, "
		      "\"credential\": \"aws-2\", \"region\": \"eu-west-1\", \"cloudName\": "
		      "\"prod\"}");
	/* Unset location parts still collide (aks without location). */
	must_register(
		"{\"name\": \"az1\", \"provider\": \"aks\", \"imported\": true, "
		"\"credential\": \"azure\", \"resourceGroup\": \"rg\", \"cloudName\": \"k\"}");
	assert_int_equal(register_cluster("{\"name\": \"az2\", \"provider\": \"aks\", "
					  "\"imported\": true, \"credential\": \"azure\", "
					  "\"resourceGroup\": \"rg\", \"cloudName\": \"k\"}",
					  NULL, &err),
			 HCR_ECONFLICT);
	assert_string_equal(err.message,
			    "aks cluster \"k\" is already registered with this credential");
}

static void test_clusters__insert_checks_the_credential(void **state)
{
	json_t *c = NULL;
	hcr_error err;

	(void)state;
	assert_int_equal(register_cluster("{\"name\": \"prod\", \"provider\": \"eks\", "
					  "\"imported\": true, \"credential\": \"nope\", "
					  "\"region\": \"eu-west-1\"}",
					  &c, &err),
			 HCR_EINVALID);
	assert_null(c);
	assert_string_equal(err.code, "invalid");
	assert_string_equal(err.message,
			    "field \"credential\" names a credential that does not exist");
	assert_non_null(strstr(err.hint, "POST /v1/credentials"));

	assert_int_equal(register_cluster("{\"name\": \"prod\", \"provider\": \"eks\", "
					  "\"imported\": true, \"credential\": \"azure\", "
					  "\"region\": \"eu-west-1\"}",
					  &c, &err),
			 HCR_EINVALID);
	assert_null(c);
	assert_string_equal(err.code, "invalid");
	assert_string_equal(err.message,
			    "field \"credential\": credential \"azure\" is for aks, not eks");
	assert_sql("SELECT count(*) FROM clusters", "0");
	assert_sql("SELECT count(*) FROM cluster_events", "0");
}

static void test_clusters__gke_project_comes_from_the_credential(void **state)
{
	json_t *c = NULL;
	hcr_error err;

	(void)state;
	assert_int_equal(register_cluster("{\"name\": \"g1\", \"provider\": \"gke\", "
					  "\"imported\": true, \"credential\": \"gcp\", "
					  "\"location\": \"europe-west1\"}",
					  &c, &err),
			 HCR_OK);
	assert_string_equal(jstr(c, "project"), "cred-project");
	json_decref(c);
	assert_sql("SELECT project FROM clusters WHERE name = 'g1'", "cred-project");

	/* A given project wins. */
	assert_int_equal(
		register_cluster("{\"name\": \"g2\", \"provider\": \"gke\", "
				 "\"imported\": true, \"credential\": \"gcp\", "
				 "\"location\": \"europe-west1\", \"project\": \"other-1\"}",
				 &c, &err),
		HCR_OK);
	assert_string_equal(jstr(c, "project"), "other-1");
	json_decref(c);

	/* No project anywhere. */
	assert_int_equal(register_cluster("{\"name\": \"g3\", \"provider\": \"gke\", "
					  "\"imported\": true, \"credential\": \"gcp-bare\", "
					  "\"location\": \"europe-west1\"}",
					  &c, &err),
			 HCR_EINVALID);
	assert_null(c);
	assert_string_equal(err.message,
			    "field \"project\" is required: the credential names no project");
	assert_sql("SELECT count(*) FROM clusters WHERE name = 'g3'", "0");

	/* The project is part of the cloud identity. */
	assert_int_equal(register_cluster("{\"name\": \"g4\", \"provider\": \"gke\", "
					  "\"imported\": true, \"credential\": \"gcp\", "
					  "\"location\": \"europe-west1\", \"cloudName\": \"g1\", "
					  "\"project\": \"cred-project\"}",
					  NULL, &err),
			 HCR_ECONFLICT);
	assert_string_equal(err.message,
			    "gke cluster \"g1\" is already registered with this credential");
}

/* ---- list ---------------------------------------------------------------------------- */

static void register_fleet(void)
{
	static const char *const bodies[] = {
		"{\"name\": \"b-eks\", \"provider\": \"eks\", \"imported\": true, \"credential\": "
		"\"aws\", \"region\": \"eu-west-1\"}",
		"{\"name\": \"a-aks\", \"provider\": \"aks\", \"imported\": true, \"credential\": "
		"\"azure\", \"resourceGroup\": \"rg\"}",
		"{\"name\": \"e-gke\", \"provider\": \"gke\", \"imported\": true, \"credential\": "
		"\"gcp\", \"location\": \"europe-west1\"}",
		"{\"name\": \"c-eks\", \"provider\": \"eks\", \"imported\": false, \"credential\": "
		"\"aws\", \"region\": \"eu-west-1\", \"config\": {\"kubernetesVersion\": "
		"\"1.29\"}}",
		"{\"name\": \"d-eks\", \"provider\": \"eks\", \"imported\": true, \"credential\": "
		"\"aws\", \"region\": \"us-east-1\"}",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bodies); i++)
		must_register(bodies[i]);
}

/* The names of a page's items, comma-separated, and its cursor ("-" when null). */
static void page(const hcr_cluster_filter *f, char *names, size_t size, char *cursor, size_t csize)
{
	json_t *out = NULL, *item;
	hcr_error err;
	size_t i;

	if (hcr_clusters_list(conn, f, &out, &err) != HCR_OK)
		fail_msg("list: %s: %s", err.message, err.detail);
	names[0] = '\0';
	json_array_foreach(json_object_get(out, "items"), i, item)
	{
		if (json_object_get(item, "desired") || json_object_get(item, "observed"))
			fail_msg("list items are summaries, without documents");
		snprintf(names + strlen(names), size - strlen(names), "%s%s", i ? "," : "",
			 jstr(item, "name"));
	}
	if (!json_is_null(json_object_get(out, "nextCursor")) &&
	    !json_is_string(json_object_get(out, "nextCursor")))
		fail_msg("nextCursor must be a string or null");
	snprintf(cursor, csize, "%s",
		 json_is_null(json_object_get(out, "nextCursor")) ? "-" : jstr(out, "nextCursor"));
	json_decref(out);
}

static void test_clusters__list_pages_by_name(void **state)
{
	hcr_cluster_filter f = {.limit = 2};
	char names[256], cursor[80];

	(void)state;
	register_fleet();
	page(&f, names, sizeof(names), cursor, sizeof(cursor));
	assert_string_equal(names, "a-aks,b-eks");
	assert_string_equal(cursor, "b-eks");
	f.after = "b-eks";
	page(&f, names, sizeof(names), cursor, sizeof(cursor));
	assert_string_equal(names, "c-eks,d-eks");
	assert_string_equal(cursor, "d-eks");
	f.after = "d-eks";
	page(&f, names, sizeof(names), cursor, sizeof(cursor));
	assert_string_equal(names, "e-gke");
	assert_string_equal(cursor, "-");

	/* A page that ends exactly at the last cluster has no next page. */
	f.after = NULL;
	f.limit = 5;
	page(&f, names, sizeof(names), cursor, sizeof(cursor));
	assert_string_equal(names, "a-aks,b-eks,c-eks,d-eks,e-gke");
	assert_string_equal(cursor, "-");
	f.limit = 500;
	page(&f, names, sizeof(names), cursor, sizeof(cursor));
	assert_string_equal(cursor, "-");
	f.limit = 1;
	page(&f, names, sizeof(names), cursor, sizeof(cursor));
	assert_string_equal(names, "a-aks");
	assert_string_equal(cursor, "a-aks");
	/* A cursor past the end: an empty page. */
	f.after = "z";
	page(&f, names, sizeof(names), cursor, sizeof(cursor));
	assert_string_equal(names, "");
	assert_string_equal(cursor, "-");
}

static void test_clusters__list_filters(void **state)
{
	hcr_cluster_filter f = {.limit = 10};
	char names[256], cursor[80];
	json_t *out = NULL;
	hcr_error err;

	(void)state;
	register_fleet();
	f.provider = "eks";
	page(&f, names, sizeof(names), cursor, sizeof(cursor));
	assert_string_equal(names, "b-eks,c-eks,d-eks");
	assert_string_equal(cursor, "-");
	f.limit = 2;
	page(&f, names, sizeof(names), cursor, sizeof(cursor));
	assert_string_equal(names, "b-eks,c-eks");
	assert_string_equal(cursor, "c-eks");
	f.after = cursor;
	page(&f, names, sizeof(names), cursor, sizeof(cursor));
	assert_string_equal(names, "d-eks");

	f = (hcr_cluster_filter){.limit = 10, .provider = "gke"};
	page(&f, names, sizeof(names), cursor, sizeof(cursor));
	assert_string_equal(names, "e-gke");
	f = (hcr_cluster_filter){.limit = 10, .name_prefix = "c-"};
	page(&f, names, sizeof(names), cursor, sizeof(cursor));
	assert_string_equal(names, "c-eks");
	f = (hcr_cluster_filter){.limit = 10, .name_prefix = "c-", .provider = "aks"};
	page(&f, names, sizeof(names), cursor, sizeof(cursor));
	assert_string_equal(names, "");
	/* The prefix is literal text, not a pattern. */
	f = (hcr_cluster_filter){.limit = 10, .name_prefix = "%"};
	page(&f, names, sizeof(names), cursor, sizeof(cursor));
	assert_string_equal(names, "");
	f = (hcr_cluster_filter){.limit = 10, .name_prefix = "_-"};
	page(&f, names, sizeof(names), cursor, sizeof(cursor));
	assert_string_equal(names, "");

	/* A summary carries what a listing shows. */
	f = (hcr_cluster_filter){.limit = 1, .name_prefix = "e-"};
	assert_int_equal(hcr_clusters_list(conn, &f, &out, &err), HCR_OK);
	{
		json_t *item = json_array_get(json_object_get(out, "items"), 0);

		assert_string_equal(jstr(item, "provider"), "gke");
		assert_string_equal(jstr(item, "credential"), "gcp");
		assert_string_equal(jstr(item, "location"), "europe-west1");
		assert_string_equal(jstr(item, "project"), "cred-project");
		assert_string_equal(jstr(item, "state"), "registered");
		assert_true(hcr_uuid_valid(jstr(item, "id")));
	}
	json_decref(out);
}

/* ---- get ----------------------------------------------------------------------------- */

static void test_clusters__get_by_id_or_name(void **state)
{
	json_t *c = NULL, *by_name = NULL, *by_id = NULL;
	long long version = 0;
	hcr_error err;

	(void)state;
	assert_int_equal(
		register_cluster("{\"name\": \"prod\", \"provider\": \"aks\", "
				 "\"imported\": false, \"credential\": \"azure\", "
				 "\"resourceGroup\": \"rg\", \"location\": \"westeurope\", "
				 "\"config\": {\"dnsPrefix\": \"p\"}}",
				 &c, &err),
		HCR_OK);
	assert_int_equal(hcr_clusters_get(conn, "prod", &by_name, &version, &err), HCR_OK);
	assert_int_equal(version, 1);
	assert_string_equal(jstr(by_name, "id"), jstr(c, "id"));
	assert_string_equal(jstr(by_name, "location"), "westeurope");
	assert_string_equal(jstr(by_name, "resourceGroup"), "rg");
	assert_string_equal(jstr(json_object_get(by_name, "desired"), "dnsPrefix"), "p");
	/* Never observed yet. */
	assert_true(json_is_null(json_object_get(by_name, "observed")));

	version = 0;
	assert_int_equal(hcr_clusters_get(conn, jstr(c, "id"), &by_id, &version, &err), HCR_OK);
	assert_int_equal(version, 1);
	assert_true(json_equal(by_id, by_name));

	/* The version follows the row. */
	assert_int_equal(pgtest_exec(&pgt, "UPDATE clusters SET version = 7 WHERE name = 'prod'"),
			 0);
	json_decref(by_id);
	assert_int_equal(hcr_clusters_get(conn, "prod", &by_id, &version, &err), HCR_OK);
	assert_int_equal(version, 7);
	assert_int_equal(json_integer_value(json_object_get(by_id, "version")), 7);
	json_decref(by_id);
	/* version may be NULL. */
	assert_int_equal(hcr_clusters_get(conn, "prod", &by_id, NULL, &err), HCR_OK);
	json_decref(by_id);

	json_decref(by_name);
	json_decref(c);
}

static void test_clusters__get_missing(void **state)
{
	static const char *const missing[] = {"nope", "00000000-0000-0000-0000-000000000000",
					      "PROD"};
	size_t i;

	(void)state;
	must_register("{\"name\": \"prod\", \"provider\": \"eks\", \"imported\": true, "
		      "\"credential\": \"aws\", \"region\": \"eu-west-1\"}");
	for (i = 0; i < ARRAY_SIZE(missing); i++) {
		json_t *out = (json_t *)0x1;
		char want[128];
		hcr_error err;

		assert_int_equal(hcr_clusters_get(conn, missing[i], &out, NULL, &err),
				 HCR_ENOTFOUND);
		assert_null(out);
		assert_string_equal(err.code, "not_found");
		snprintf(want, sizeof(want), "cluster \"%s\" does not exist", missing[i]);
		assert_string_equal(err.message, want);
	}
}

/*
 * A name may have the shape of a UUID (names allow digits, a-f and '-'). Such a
 * cluster must either be refused at registration or be found by its name.
 */
static void test_clusters__uuid_shaped_name_is_refused_or_found(void **state)
{
	const char *name = "12345678-1234-1234-1234-123456789abc";
	json_t *body = doc("{\"name\": \"12345678-1234-1234-1234-123456789abc\", \"provider\": "
			   "\"eks\", \"imported\": true, \"credential\": \"aws\", \"region\": "
			   "\"eu-west-1\"}");
	json_t *c = NULL, *got = NULL;
	hcr_cluster_new nc;
	hcr_error err;
	char name_out[80];
	bool deleting = false;
	int rc;

	(void)state;
	if (hcr_cluster_parse(&nc, body, &err) != HCR_OK) {
		json_decref(body);
		assert_string_equal(err.code, "invalid");
		return;
	}
	assert_int_equal(hcr_clusters_insert(conn, &nc, "t", &c, &err), HCR_OK);
	json_decref(body);
	rc = hcr_clusters_get(conn, name, &got, NULL, &err);
	if (rc == HCR_OK && strcmp(jstr(got, "id"), jstr(c, "id")) != 0)
		rc = HCR_ERROR;
	json_decref(got);
	json_decref(c);
	if (rc != HCR_OK)
		fail_msg("registered cluster \"%s\" cannot be read by its name: %s", name,
			 err.message);
	assert_int_equal(hcr_clusters_delete(conn, name, -1, false, name_out, sizeof(name_out),
					     &deleting, &err),
			 HCR_OK);
}

/* ---- delete -------------------------------------------------------------------------- */

static void test_clusters__delete_checks_if_match(void **state)
{
	char name[80] = "";
	bool deleting = false;
	json_t *c = NULL;
	hcr_error err;

	(void)state;
	assert_int_equal(register_cluster("{\"name\": \"prod\", \"provider\": \"eks\", "
					  "\"imported\": true, \"credential\": \"aws\", "
					  "\"region\": \"eu-west-1\"}",
					  &c, &err),
			 HCR_OK);
	assert_int_equal(pgtest_exec(&pgt, "UPDATE clusters SET version = 3"), 0);

	assert_int_equal(
		hcr_clusters_delete(conn, "prod", 2, false, name, sizeof(name), &deleting, &err),
		HCR_ECONFLICT);
	assert_string_equal(err.code, "precondition_failed");
	assert_int_equal(hcr_error_http_status(&err), 412);
	assert_string_equal(err.message,
			    "cluster \"prod\" has changed: version 3, If-Match asked for 2");
	assert_sql("SELECT count(*) FROM clusters", "1");

	/* The right version, by id. */
	assert_int_equal(hcr_clusters_delete(conn, jstr(c, "id"), 3, false, name, sizeof(name),
					     &deleting, &err),
			 HCR_OK);
	assert_string_equal(name, "prod");
	assert_sql("SELECT count(*) FROM clusters", "0");
	/* Its history goes with it. */
	assert_sql("SELECT count(*) FROM cluster_events", "0");
	json_decref(c);

	/* Gone: not found, by name or id. */
	assert_int_equal(
		hcr_clusters_delete(conn, "prod", -1, false, name, sizeof(name), &deleting, &err),
		HCR_ENOTFOUND);
	assert_string_equal(err.message, "cluster \"prod\" does not exist");
	assert_int_equal(hcr_clusters_delete(conn, "00000000-0000-0000-0000-000000000000", -1,
					     false, name, sizeof(name), &deleting, &err),
			 HCR_ENOTFOUND);
}

static void test_clusters__delete_created_cluster_depends_on_its_state(void **state)
{
	char name[80] = "";
	bool deleting = false;
	hcr_error err;

	(void)state;
	must_register("{\"name\": \"pending\", \"provider\": \"eks\", \"imported\": false, "
		      "\"credential\": \"aws\", \"region\": \"eu-west-1\", \"config\": {}}");
	must_register("{\"name\": \"live\", \"provider\": \"eks\", \"imported\": false, "
		      "\"credential\": \"aws\", \"region\": \"eu-west-2\", \"config\": {}}");
	must_register("{\"name\": \"imp\", \"provider\": \"eks\", \"imported\": true, "
		      "\"credential\": \"aws\", \"region\": \"eu-west-3\"}");
	assert_int_equal(pgtest_exec(&pgt, "UPDATE clusters SET state = 'active' "
					   "WHERE name IN ('live', 'imp')"),
			 0);

	/* Not yet created in its cloud: simply forgotten. */
	assert_int_equal(hcr_clusters_delete(conn, "pending", -1, false, name, sizeof(name),
					     &deleting, &err),
			 HCR_OK);
	assert_string_equal(name, "pending");

	/* Exists in its cloud: handed to the reconciler to delete there, and the
	 * reconciler is woken; asking again changes nothing. */
	assert_int_equal(
		hcr_clusters_delete(conn, "live", -1, false, name, sizeof(name), &deleting, &err),
		HCR_OK);
	assert_true(deleting);
	assert_sql("SELECT state FROM clusters WHERE name = 'live'", "deleting");
	assert_sql("SELECT s.wake FROM cluster_schedule s JOIN clusters c ON c.id = s.cluster_id "
		   "WHERE c.name = 'live'",
		   "t");
	assert_sql("SELECT version FROM clusters WHERE name = 'live'", "2");
	assert_int_equal(
		hcr_clusters_delete(conn, "live", -1, false, name, sizeof(name), &deleting, &err),
		HCR_OK);
	assert_true(deleting);
	assert_sql("SELECT version FROM clusters WHERE name = 'live'", "2");
	/* retain: forget it and leave it running in its cloud. */
	assert_int_equal(
		hcr_clusters_delete(conn, "live", -1, true, name, sizeof(name), &deleting, &err),
		HCR_OK);
	assert_false(deleting);
	assert_string_equal(name, "live");

	/* An imported cluster is always just forgotten. */
	assert_int_equal(
		hcr_clusters_delete(conn, "imp", -1, false, name, sizeof(name), &deleting, &err),
		HCR_OK);
	assert_sql("SELECT count(*) FROM clusters", "0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clusters__parse_fills_defaults),
		cmocka_unit_test(test_clusters__parse_accepts_each_provider_location),
		cmocka_unit_test(test_clusters__parse_refuses_with_the_field_named),
		cmocka_unit_test(test_clusters__parse_hints_at_what_to_do),
		cmocka_unit_test_setup(
			test_clusters__insert_import_returns_the_cluster_and_writes_an_event,
			fresh_tables),
		cmocka_unit_test_setup(test_clusters__insert_create_records_the_desired_config,
				       fresh_tables),
		cmocka_unit_test_setup(test_clusters__insert_conflicts_say_which, fresh_tables),
		cmocka_unit_test_setup(test_clusters__insert_checks_the_credential, fresh_tables),
		cmocka_unit_test_setup(test_clusters__gke_project_comes_from_the_credential,
				       fresh_tables),
		cmocka_unit_test_setup(test_clusters__list_pages_by_name, fresh_tables),
		cmocka_unit_test_setup(test_clusters__list_filters, fresh_tables),
		cmocka_unit_test_setup(test_clusters__get_by_id_or_name, fresh_tables),
		cmocka_unit_test_setup(test_clusters__get_missing, fresh_tables),
		cmocka_unit_test_setup(test_clusters__uuid_shaped_name_is_refused_or_found,
				       fresh_tables),
		cmocka_unit_test_setup(test_clusters__delete_checks_if_match, fresh_tables),
		cmocka_unit_test_setup(test_clusters__delete_created_cluster_depends_on_its_state,
				       fresh_tables),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
