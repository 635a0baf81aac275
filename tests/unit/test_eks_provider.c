/*
 * Unit tests for the EKS provider as the reconciler uses it: its operations
 * table over HTTP, against a scripted EKS started inside the test
 * (libmicrohttpd on 127.0.0.1, a thread per connection). Each test lists the
 * answers EKS gives (method, path, part of the query, status, error type,
 * body); the server records every request it gets, so the tests check both
 * what the provider reports and what it sent: the calls in their order, the
 * signed headers, bodies, idempotency tokens, paging, the fan-out bound, and
 * that refused calls send nothing and never call back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <jansson.h>
#include <microhttpd.h>

#include "hcr/config.h"
#include "hcr/http.h"
#include "hcr/json.h"
#include "hcr/mem.h"
#include "hcr/provider.h"
#include "hcr/provider_eks.h"
#include "testutil.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_ROUTES    64
#define MAX_RECORDS   512

/* ---- the scripted EKS ------------------------------------------------------------------ */

struct route {
	char method[8];
	char path[256];
	char query[256]; /* a substring of the request's query; "" matches any */
	int status;
	char errtype[64];
	char *body;
	int delay_ms;
	int hits;
};

struct record {
	char method[8];
	char path[300];
	char query[600];
	char auth[300];
	char date[32];
	char host[64];
	char ctype[64];
	char token[64];
	char *body;
};

static struct MHD_Daemon *daemon_;
static unsigned short port_;
static pthread_mutex_t lock_ = PTHREAD_MUTEX_INITIALIZER;
static struct route routes_[MAX_ROUTES];
static size_t nroutes_;
static struct record records_[MAX_RECORDS];
static size_t nrecords_;
static atomic_int active_, max_active_;

/* Adds an answer; `body` is written with single quotes. */
static void route(const char *method, const char *path, const char *query, int status,
		  const char *errtype, const char *body)
{
	struct route *r = &routes_[nroutes_++];
	char *b = hcr_strdup(body ? body : "");

	assert_true(nroutes_ <= MAX_ROUTES);
	for (char *p = b; *p; p++)
		if (*p == '\'')
			*p = '"';
	snprintf(r->method, sizeof(r->method), "%s", method);
	snprintf(r->path, sizeof(r->path), "%s", path);
	snprintf(r->query, sizeof(r->query), "%s", query ? query : "");
	snprintf(r->errtype, sizeof(r->errtype), "%s", errtype ? errtype : "");
	r->status = status;
	r->body = b;
	r->delay_ms = 0;
	r->hits = 0;
}

static void script_clear(void)
{
	size_t i;

	pthread_mutex_lock(&lock_);
	for (i = 0; i < nroutes_; i++)
		free(routes_[i].body);
	for (i = 0; i < nrecords_; i++)
		free(records_[i].body);
	nroutes_ = nrecords_ = 0;
	atomic_store(&max_active_, 0);
	pthread_mutex_unlock(&lock_);
}

struct req_ctx {
	hcr_buf body;
	hcr_buf query;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	hcr_buf *q = cls;

	(void)kind;
	hcr_buf_printf(q, "%s%s=%s", q->len ? "&" : "", key, value ? value : "");
	return MHD_YES;
}

static void copy_header(char *out, size_t size, struct MHD_Connection *c, const char *name)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

	snprintf(out, size, "%s", v ? v : "");
}

static enum MHD_Result answer(struct MHD_Connection *c, const struct route *r)
{
	const char *body = r ? r->body : "{\"message\":\"the test has no answer for this\"}";
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (!r)
		MHD_add_response_header(resp, "x-amzn-ErrorType", "TestHasNoRoute");
	else if (r->errtype[0])
		MHD_add_response_header(resp, "x-amzn-ErrorType", r->errtype);
	ret = MHD_queue_response(c, r ? (unsigned)r->status : 500U, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct req_ctx *ctx = *con_cls;
	struct record *rec = NULL;
	struct route *match = NULL, copy;
	int now, max;
	size_t i;

	(void)cls;
	(void)version;
	if (!ctx) {
		*con_cls = hcr_calloc(1, sizeof(*ctx));
		return MHD_YES;
	}
	if (*upload_size) {
		hcr_buf_append(&ctx->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &ctx->query);
	pthread_mutex_lock(&lock_);
	if (nrecords_ < MAX_RECORDS) {
		rec = &records_[nrecords_++];
		snprintf(rec->method, sizeof(rec->method), "%s", method);
		snprintf(rec->path, sizeof(rec->path), "%s", url);
		snprintf(rec->query, sizeof(rec->query), "%s",
			 ctx->query.data ? ctx->query.data : "");
		copy_header(rec->auth, sizeof(rec->auth), c, "Authorization");
		copy_header(rec->date, sizeof(rec->date), c, "X-Amz-Date");
		copy_header(rec->host, sizeof(rec->host), c, "Host");
		copy_header(rec->ctype, sizeof(rec->ctype), c, "Content-Type");
		copy_header(rec->token, sizeof(rec->token), c, "X-Amz-Security-Token");
		rec->body = hcr_strndup(ctx->body.data ? ctx->body.data : "", ctx->body.len);
	}
	for (i = 0; i < nroutes_ && !match; i++) {
		struct route *r = &routes_[i];

		if (strcmp(r->method, method) == 0 && strcmp(r->path, url) == 0 &&
		    (!r->query[0] || (ctx->query.data && strstr(ctx->query.data, r->query))))
			match = r;
	}
	if (match) {
		match->hits++;
		copy = *match;
		copy.body = hcr_strdup(match->body);
	}
	pthread_mutex_unlock(&lock_);
	now = atomic_fetch_add(&active_, 1) + 1;
	max = atomic_load(&max_active_);
	while (now > max && !atomic_compare_exchange_weak(&max_active_, &max, now))
		;
	if (match && copy.delay_ms)
		usleep((useconds_t)copy.delay_ms * 1000);
	atomic_fetch_sub(&active_, 1);
	{
		enum MHD_Result ret = answer(c, match ? &copy : NULL);

		if (match)
			free(copy.body);
		return ret;
	}
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req_ctx *ctx = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (ctx) {
		hcr_buf_free(&ctx->body);
		hcr_buf_free(&ctx->query);
		free(ctx);
		*con_cls = NULL;
	}
}

static int server_start(void **state)
{
	struct sockaddr_in sin;
	const union MHD_DaemonInfo *info;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
					   MHD_USE_POLL | MHD_USE_ERROR_LOG,
				   0, NULL, NULL, handler, NULL, MHD_OPTION_SOCK_ADDR, &sin,
				   MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
				   MHD_OPTION_CONNECTION_TIMEOUT, 30U, MHD_OPTION_END);
	if (!daemon_)
		return -1;
	info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
	port_ = info ? info->port : 0;
	return port_ ? 0 : -1;
}

static int server_stop(void **state)
{
	(void)state;
	MHD_stop_daemon(daemon_);
	script_clear();
	return 0;
}

/* ---- the provider under test ----------------------------------------------------------- */

struct fixture {
	struct ev_loop *loop;
	hcr_http *http;
	hcr_config cfg;
	hcr_provider *p;
	json_t *secret;
	hcr_cluster_ref ref;
};

static struct fixture f_;

static void provider_new(const char *endpoint, bool list_updates)
{
	hcr_provider_config pc = {0};
	hcr_error err;

	if (f_.p)
		hcr_eks_provider_ops.free_instance(f_.p);
	free(f_.cfg.eks_endpoint);
	f_.cfg.eks_endpoint =
		endpoint ? hcr_strdup(endpoint) : hcr_sprintf("http://127.0.0.1:%u", port_);
	f_.cfg.eks_list_updates = list_updates;
	pc.http = f_.http;
	pc.timeout_ms = 5000;
	pc.settings = &f_.cfg;
	if (hcr_eks_provider_ops.create_instance(&f_.p, &pc, &err) != HCR_OK)
		fail_msg("create_instance: %s", err.message);
}

static int setup(void **state)
{
	hcr_error err;

	(void)state;
	memset(&f_, 0, sizeof(f_));
	script_clear();
	f_.loop = ev_loop_new(0);
	if (hcr_http_new(&f_.http, f_.loop, NULL, &err) != HCR_OK)
		return -1;
	hcr_config_defaults(&f_.cfg);
	provider_new(NULL, true);
	f_.secret = json_pack("{s:s, s:s}", "accessKeyId", "AKIDEXAMPLE", "secretAccessKey",
			      "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
	f_.ref.id = "00000000-0000-0000-0000-000000000001";
	f_.ref.name = "demo";
	f_.ref.region = "us-east-1";
	f_.ref.secret = f_.secret;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	hcr_eks_provider_ops.free_instance(f_.p);
	hcr_http_free(f_.http);
	ev_loop_destroy(f_.loop);
	hcr_config_free(&f_.cfg);
	json_decref(f_.secret);
	memset(&f_, 0, sizeof(f_));
	return 0;
}

struct outcome {
	int calls;
	int status;
	json_t *result;
	hcr_error err;
};

static void done_cb(int status, json_t *result, const hcr_error *err, void *payload)
{
	struct outcome *o = payload;

	o->calls++;
	o->status = status;
	o->result = result ? json_deep_copy(result) : NULL;
	o->err = *err;
}

static void tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

/* Runs the loop until the callback came (or 10 s), then checks it came once. */
static void wait_for(struct outcome *o)
{
	double deadline = ev_time() + 10;
	ev_timer watchdog;

	ev_timer_init(&watchdog, tick, 0.05, 0.05);
	ev_timer_start(f_.loop, &watchdog);
	while (!o->calls && ev_time() < deadline)
		ev_run(f_.loop, EVRUN_ONCE);
	ev_timer_stop(f_.loop, &watchdog);
	if (o->calls != 1)
		fail_msg("the callback ran %d times", o->calls);
}

/* Starts `rc` (an operation's return), waits, and returns the result (owned by `o`). */
static json_t *finish(struct outcome *o, int rc, int want_status)
{
	if (rc != HCR_EAGAIN)
		fail_msg("the operation did not start: %d", rc);
	wait_for(o);
	if (o->status != want_status)
		fail_msg("status %d, want %d: %s / %s", o->status, want_status, o->err.message,
			 o->err.detail);
	return o->result;
}

static void outcome_free(struct outcome *o)
{
	json_decref(o->result);
	memset(o, 0, sizeof(*o));
}

static void assert_json(const json_t *got, const char *want)
{
	json_t *w = test_json(want);

	if (!got || !json_equal(got, w))
		fail_msg("got  %s\nwant %s", got ? hcr_json_dumps(got) : "nothing",
			 hcr_json_dumps(w));
	json_decref(w);
}

/* The requests the server got, as "METHOD path?query" lines. */
static char *calls(void)
{
	hcr_buf b = {0};
	size_t i;

	pthread_mutex_lock(&lock_);
	for (i = 0; i < nrecords_; i++)
		hcr_buf_printf(&b, "%s %s%s%s\n", records_[i].method, records_[i].path,
			       records_[i].query[0] ? "?" : "", records_[i].query);
	pthread_mutex_unlock(&lock_);
	if (!b.data)
		hcr_buf_puts(&b, "");
	return b.data;
}

static void assert_calls(const char *want)
{
	char *got = calls();

	if (strcmp(got, want) != 0)
		fail_msg("calls:\n%s\nwant:\n%s", got, want);
	free(got);
}

static size_t count_calls(const char *prefix)
{
	char *all = calls(), *p;
	size_t n = 0;

	for (p = all; (p = strstr(p, prefix)) != NULL; p++)
		n++;
	free(all);
	return n;
}

static const struct record *record_of(const char *method, const char *path)
{
	for (size_t i = 0; i < nrecords_; i++)
		if (strcmp(records_[i].method, method) == 0 && strcmp(records_[i].path, path) == 0)
			return &records_[i];
	fail_msg("no %s %s was sent", method, path);
	return NULL;
}

static void assert_body(const char *method, const char *path, const char *want)
{
	const struct record *r = record_of(method, path);
	json_t *got = json_loads(r->body, 0, NULL);

	assert_json(got, want);
	assert_string_equal(r->ctype, "application/json");
	json_decref(got);
}

#define CLUSTER                                                                                  \
	"{'cluster': {'name': 'demo', 'arn': 'arn:aws:eks:us-east-1:123456789012:cluster/demo'," \
	" 'status': 'ACTIVE', 'version': '1.30', 'endpoint': 'https://abc.eks.amazonaws.com',"   \
	" 'certificateAuthority': {'data': 'Q0E='}, 'tags': {'team': 'pay'},"                    \
	" 'resourcesVpcConfig': {'subnetIds': ['s-1', 's-2'], 'endpointPublicAccess': true}}}"
#define NODEGROUP(name, status)                                                            \
	"{'nodegroup': {'nodegroupName': '" name "', 'status': '" status "',"              \
	" 'nodegroupArn': 'arn:aws:eks:us-east-1:123456789012:nodegroup/demo/" name "/u'," \
	" 'scalingConfig': {'minSize': 1, 'maxSize': 4, 'desiredSize': 2},"                \
	" 'labels': {'env': 'dev'}}}"
#define RNF(what) "{'clusterName': null, 'nodegroupName': null, 'message': 'No " what " found.'}"

/* ---- observe ------------------------------------------------------------------------------ */

static void test_eks_provider__observe(void **state)
{
	struct outcome o = {0};
	json_t *r;
	const struct record *rec;
	char host[64];

	(void)state;
	route("GET", "/clusters/demo", NULL, 200, NULL, CLUSTER);
	route("GET", "/clusters/demo/node-groups", "nextToken=p2", 200, NULL,
	      "{'nodegroups': ['ng-c', 'ng-gone', 'ng-old']}");
	route("GET", "/clusters/demo/node-groups", NULL, 200, NULL,
	      "{'nodegroups': ['ng-b', 'ng-a'], 'nextToken': 'p2'}");
	route("GET", "/clusters/demo/node-groups/ng-a", NULL, 200, NULL,
	      NODEGROUP("ng-a", "ACTIVE"));
	route("GET", "/clusters/demo/node-groups/ng-b", NULL, 200, NULL,
	      NODEGROUP("ng-b", "ACTIVE"));
	route("GET", "/clusters/demo/node-groups/ng-c", NULL, 200, NULL,
	      NODEGROUP("ng-c", "ACTIVE"));
	route("GET", "/clusters/demo/node-groups/ng-old", NULL, 200, NULL,
	      NODEGROUP("ng-old", "DELETING"));
	route("GET", "/clusters/demo/node-groups/ng-gone", NULL, 404, "ResourceNotFoundException",
	      RNF("node group"));
	route("GET", "/clusters/demo/updates", NULL, 200, NULL, "{'updateIds': []}");
	r = finish(&o, hcr_eks_provider_ops.observe(f_.p, &f_.ref, done_cb, &o), HCR_OK);
	assert_true(json_is_true(json_object_get(r, "exists")));
	/* ng-old is being deleted: busy, and left out of the document. */
	assert_true(json_is_true(json_object_get(r, "busy")));
	assert_json(json_object_get(r, "document"),
		    "{'kubernetesVersion': '1.30', 'tags': {'team': 'pay'}, 'publicAccess': true,"
		    " 'subnets': ['s-1', 's-2'], 'secretsEncryption': false, 'nodeGroups': ["
		    " {'nodegroupName': 'ng-a', 'desiredSize': 2, 'minSize': 1, 'maxSize': 4,"
		    "  'labels': {'env': 'dev'}, 'taints': [], 'tags': {},"
		    "  'requestSpotInstances': false},"
		    " {'nodegroupName': 'ng-b', 'desiredSize': 2, 'minSize': 1, 'maxSize': 4,"
		    "  'labels': {'env': 'dev'}, 'taints': [], 'tags': {},"
		    "  'requestSpotInstances': false},"
		    " {'nodegroupName': 'ng-c', 'desiredSize': 2, 'minSize': 1, 'maxSize': 4,"
		    "  'labels': {'env': 'dev'}, 'taints': [], 'tags': {},"
		    "  'requestSpotInstances': false}]}");
	assert_int_equal(count_calls("GET /clusters/demo/node-groups?maxResults=100"), 2);
	assert_int_equal(count_calls("nextToken=p2"), 1);
	assert_int_equal(count_calls("GET /clusters/demo/updates?maxResults=100"), 1);
	assert_int_equal(count_calls("GET /clusters/demo/node-groups/"), 5);
	/* Every request is signed for eks in the cluster's region, with the signer's headers. */
	rec = record_of("GET", "/clusters/demo");
	snprintf(host, sizeof(host), "127.0.0.1:%u", port_);
	assert_string_equal(rec->host, host);
	assert_true(strncmp(rec->auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 40) == 0);
	assert_non_null(strstr(rec->auth, "/us-east-1/eks/aws4_request, "
					  "SignedHeaders=host;x-amz-date, Signature="));
	assert_int_equal(strlen(rec->date), 16);
	assert_string_equal(rec->token, "");
	assert_string_equal(rec->ctype, "");
	outcome_free(&o);
}

static void test_eks_provider__observe_updates_cached(void **state)
{
	struct outcome o = {0};
	json_t *r;

	(void)state;
	route("GET", "/clusters/demo", NULL, 200, NULL, CLUSTER);
	route("GET", "/clusters/demo/node-groups", NULL, 200, NULL, "{'nodegroups': []}");
	route("GET", "/clusters/demo/updates", NULL, 200, NULL,
	      "{'updateIds': ['u-done', 'u-failed', 'u-running']}");
	route("GET", "/clusters/demo/updates/u-done", NULL, 200, NULL,
	      "{'update': {'id': 'u-done', 'status': 'Successful'}}");
	route("GET", "/clusters/demo/updates/u-failed", NULL, 200, NULL,
	      "{'update': {'id': 'u-failed', 'status': 'Failed'}}");
	route("GET", "/clusters/demo/updates/u-running", NULL, 200, NULL,
	      "{'update': {'id': 'u-running', 'status': 'InProgress'}}");
	/* EKS still says ACTIVE, but an update is in progress. */
	r = finish(&o, hcr_eks_provider_ops.observe(f_.p, &f_.ref, done_cb, &o), HCR_OK);
	assert_true(json_is_true(json_object_get(r, "busy")));
	outcome_free(&o);
	assert_int_equal(count_calls("GET /clusters/demo/updates/"), 3);
	/* The next poll describes only the update that was not finished. */
	r = finish(&o, hcr_eks_provider_ops.observe(f_.p, &f_.ref, done_cb, &o), HCR_OK);
	assert_true(json_is_true(json_object_get(r, "busy")));
	outcome_free(&o);
	assert_int_equal(count_calls("GET /clusters/demo/updates/u-done"), 1);
	assert_int_equal(count_calls("GET /clusters/demo/updates/u-failed"), 1);
	assert_int_equal(count_calls("GET /clusters/demo/updates/u-running"), 2);
	/* Once it finished, a poll is DescribeCluster, ListNodegroups and ListUpdates only. */
	pthread_mutex_lock(&lock_);
	free(routes_[5].body);
	routes_[5].body = hcr_strdup("{\"update\": {\"id\": \"u-running\", \"status\": "
				     "\"Successful\"}}");
	pthread_mutex_unlock(&lock_);
	r = finish(&o, hcr_eks_provider_ops.observe(f_.p, &f_.ref, done_cb, &o), HCR_OK);
	assert_false(json_is_true(json_object_get(r, "busy")));
	outcome_free(&o);
	script_clear();
	route("GET", "/clusters/demo", NULL, 200, NULL, CLUSTER);
	route("GET", "/clusters/demo/node-groups", NULL, 200, NULL, "{'nodegroups': []}");
	route("GET", "/clusters/demo/updates", NULL, 200, NULL,
	      "{'updateIds': ['u-done', 'u-failed', 'u-running']}");
	r = finish(&o, hcr_eks_provider_ops.observe(f_.p, &f_.ref, done_cb, &o), HCR_OK);
	assert_false(json_is_true(json_object_get(r, "busy")));
	assert_int_equal(count_calls("GET "), 3);
	outcome_free(&o);
}

static void test_eks_provider__observe_without_list_updates(void **state)
{
	struct outcome o = {0};

	(void)state;
	provider_new(NULL, false);
	route("GET", "/clusters/demo", NULL, 200, NULL, CLUSTER);
	route("GET", "/clusters/demo/node-groups", NULL, 200, NULL, "{'nodegroups': []}");
	finish(&o, hcr_eks_provider_ops.observe(f_.p, &f_.ref, done_cb, &o), HCR_OK);
	assert_false(json_is_true(json_object_get(o.result, "busy")));
	assert_calls("GET /clusters/demo\nGET /clusters/demo/node-groups?maxResults=100\n");
	outcome_free(&o);
}

static void test_eks_provider__observe_not_found(void **state)
{
	struct outcome o = {0};

	(void)state;
	route("GET", "/clusters/demo", NULL, 404, "ResourceNotFoundException", RNF("cluster"));
	finish(&o, hcr_eks_provider_ops.observe(f_.p, &f_.ref, done_cb, &o), HCR_OK);
	assert_json(o.result, "{'exists': false, 'busy': false}");
	outcome_free(&o);
	/* A 404 that is not EKS's own never says the cluster is gone. */
	script_clear();
	route("GET", "/clusters/demo", NULL, 404, NULL, "<html>Not Found</html>");
	finish(&o, hcr_eks_provider_ops.observe(f_.p, &f_.ref, done_cb, &o), HCR_EINVALID);
	assert_null(o.result);
	assert_non_null(strstr(o.err.message, "does not implement DescribeCluster"));
	outcome_free(&o);
}

static void test_eks_provider__observe_failures(void **state)
{
	static const struct {
		const char *op, *path, *errtype, *body;
		int http, status;
		const char *message;
	} cases[] = {
		{"DescribeCluster", "/clusters/demo", NULL, "{'cluster': 'x'}", 200, HCR_EUPSTREAM,
		 "unexpected response from EKS for DescribeCluster demo"},
		{"DescribeCluster", "/clusters/demo", NULL, "<html>", 200, HCR_EUPSTREAM,
		 "unexpected response from EKS for DescribeCluster demo"},
		{"DescribeCluster", "/clusters/demo", "ThrottlingException", "{}", 400,
		 HCR_EUPSTREAM, "EKS throttled DescribeCluster demo"},
		{"ListNodegroups", "/clusters/demo/node-groups", NULL, "{}", 500, HCR_EUPSTREAM,
		 "with HTTP 500"},
		{"ListNodegroups", "/clusters/demo/node-groups", NULL, "{'nodegroups': [1]}", 200,
		 HCR_EUPSTREAM, "unexpected response from EKS for ListNodegroups demo"},
		{"ListNodegroups", "/clusters/demo/node-groups", NULL,
		 "{'nodegroups': [], 'nextToken': 'same'}", 200, HCR_EUPSTREAM,
		 "unexpected response from EKS for ListNodegroups demo"},
		{"DescribeNodegroup", "/clusters/demo/node-groups/ng-a", "AccessDeniedException",
		 "{'message': 'no'}", 403, HCR_EDENIED, "EKS refused the credential"},
		{"DescribeNodegroup", "/clusters/demo/node-groups/ng-a", NULL,
		 "{'nodegroup': {'nodegroupName': 'ng-a', 'scalingConfig': {'desiredSize': 'x'}}}",
		 200, HCR_EUPSTREAM, "unexpected response from EKS for DescribeCluster demo"},
		{"ListUpdates", "/clusters/demo/updates", NULL, "<html>404</html>", 404,
		 HCR_EINVALID, "does not implement ListUpdates"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct outcome o = {0};

		script_clear();
		route("GET", cases[i].path, NULL, cases[i].http, cases[i].errtype, cases[i].body);
		route("GET", "/clusters/demo", NULL, 200, NULL, CLUSTER);
		route("GET", "/clusters/demo/node-groups", NULL, 200, NULL,
		      "{'nodegroups': ['ng-a']}");
		route("GET", "/clusters/demo/node-groups/ng-a", NULL, 200, NULL,
		      NODEGROUP("ng-a", "ACTIVE"));
		route("GET", "/clusters/demo/updates", NULL, 200, NULL, "{'updateIds': []}");
		finish(&o, hcr_eks_provider_ops.observe(f_.p, &f_.ref, done_cb, &o),
		       cases[i].status);
		if (!strstr(o.err.message, cases[i].message))
			fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, o.err.message,
				 cases[i].message);
		assert_null(o.result);
		outcome_free(&o);
	}
}

/* At most EKS_FANOUT (8) requests at once, and more than one. */
static void test_eks_provider__fan_out_is_bounded(void **state)
{
	struct outcome o = {0};
	hcr_buf list = {0};
	char path[64], body[300];
	int i;

	(void)state;
	route("GET", "/clusters/demo", NULL, 200, NULL, CLUSTER);
	route("GET", "/clusters/demo/updates", NULL, 200, NULL, "{'updateIds': []}");
	hcr_buf_puts(&list, "{'nodegroups': [");
	for (i = 0; i < 30; i++) {
		snprintf(path, sizeof(path), "/clusters/demo/node-groups/ng-%02d", i);
		snprintf(body, sizeof(body), "{'nodegroup': {'nodegroupName': 'ng-%02d'}}", i);
		route("GET", path, NULL, 200, NULL, body);
		routes_[nroutes_ - 1].delay_ms = 30;
		hcr_buf_printf(&list, "%s'ng-%02d'", i ? ", " : "", i);
	}
	hcr_buf_puts(&list, "]}");
	route("GET", "/clusters/demo/node-groups", NULL, 200, NULL, list.data);
	hcr_buf_free(&list);
	finish(&o, hcr_eks_provider_ops.observe(f_.p, &f_.ref, done_cb, &o), HCR_OK);
	assert_int_equal(json_array_size(json_object_get(json_object_get(o.result, "document"),
							 "nodeGroups")),
			 30);
	assert_true(atomic_load(&max_active_) <= 8);
	assert_true(atomic_load(&max_active_) >= 2);
	outcome_free(&o);
}

/* ---- apply -------------------------------------------------------------------------------- */

static int apply(struct outcome *o, const char *operation, const char *pool, const char *changes)
{
	hcr_planned_op op = {0};
	int rc;

	op.operation = (char *)operation;
	op.pool = (char *)pool;
	op.changes = test_json(changes);
	rc = hcr_eks_provider_ops.apply(f_.p, &f_.ref, &op, "op-1", done_cb, o);
	json_decref(op.changes);
	return rc;
}

static void test_eks_provider__apply_tags(void **state)
{
	struct outcome o = {0};
	const struct record *r;

	(void)state;
	route("GET", "/clusters/demo", NULL, 200, NULL, CLUSTER);
	route("POST", "/tags/arn:aws:eks:us-east-1:123456789012:cluster/demo", NULL, 200, NULL,
	      "{}");
	route("DELETE", "/tags/arn:aws:eks:us-east-1:123456789012:cluster/demo", NULL, 200, NULL,
	      "{}");
	finish(&o,
	       apply(&o, "TagResource", NULL,
		     "{'tags.owner': 'me', 'tags.a': null, 'tags.b': null}"),
	       HCR_OK);
	assert_json(o.result, "{'done': true}");
	assert_body("POST", "/tags/arn:aws:eks:us-east-1:123456789012:cluster/demo",
		    "{'tags': {'owner': 'me'}}");
	r = record_of("DELETE", "/tags/arn:aws:eks:us-east-1:123456789012:cluster/demo");
	assert_string_equal(r->query, "tagKeys=a&tagKeys=b");
	assert_string_equal(r->ctype, "");
	outcome_free(&o);

	/* Node group tags go to the node group's ARN. */
	script_clear();
	route("GET", "/clusters/demo/node-groups/ng-a", NULL, 200, NULL,
	      NODEGROUP("ng-a", "ACTIVE"));
	route("POST", "/tags/arn:aws:eks:us-east-1:123456789012:nodegroup/demo/ng-a/u", NULL, 200,
	      NULL, "{}");
	finish(&o, apply(&o, "TagNodegroup", "ng-a", "{'nodeGroups[ng-a].tags.x': 'y'}"), HCR_OK);
	assert_calls("GET /clusters/demo/node-groups/ng-a\n"
		     "POST /tags/arn:aws:eks:us-east-1:123456789012:nodegroup/demo/ng-a/u\n");
	outcome_free(&o);
}

static void test_eks_provider__apply_updates(void **state)
{
	struct outcome o = {0};

	(void)state;
	route("POST", "/clusters/demo/updates", NULL, 200, NULL,
	      "{'update': {'id': 'u-1', 'status': 'InProgress', 'type': 'VersionUpdate'}}");
	finish(&o, apply(&o, "UpdateClusterVersion", NULL, "{'kubernetesVersion': '1.31'}"),
	       HCR_OK);
	assert_json(o.result, "{'handle': 'update::u-1'}");
	assert_body("POST", "/clusters/demo/updates",
		    "{'version': '1.31', 'clientRequestToken': 'op-1'}");
	assert_non_null(strstr(record_of("POST", "/clusters/demo/updates")->auth,
			       "SignedHeaders=content-type;host;x-amz-date"));
	outcome_free(&o);

	/* Scaling: DescribeNodegroup first, then all three sizes. */
	script_clear();
	route("GET", "/clusters/demo/node-groups/ng-a", NULL, 200, NULL,
	      NODEGROUP("ng-a", "ACTIVE"));
	route("POST", "/clusters/demo/node-groups/ng-a/update-config", NULL, 200, NULL,
	      "{'update': {'id': 'u-2', 'status': 'InProgress'}}");
	finish(&o,
	       apply(&o, "UpdateNodegroupConfig", "ng-a",
		     "{'nodeGroups[ng-a].desiredSize': 3, 'nodeGroups[ng-a].labels.env': null}"),
	       HCR_OK);
	assert_json(o.result, "{'handle': 'update:ng-a:u-2'}");
	assert_body("POST", "/clusters/demo/node-groups/ng-a/update-config",
		    "{'scalingConfig': {'desiredSize': 3, 'minSize': 1, 'maxSize': 4},"
		    " 'labels': {'removeLabels': ['env']}, 'clientRequestToken': 'op-1'}");
	outcome_free(&o);

	/* Nothing left to change: done without an update call. */
	script_clear();
	route("GET", "/clusters/demo/node-groups/ng-a", NULL, 200, NULL,
	      NODEGROUP("ng-a", "ACTIVE"));
	finish(&o, apply(&o, "UpdateNodegroupConfig", "ng-a", "{'nodeGroups[ng-a].maxSize': 4}"),
	       HCR_OK);
	assert_json(o.result, "{'done': true}");
	assert_calls("GET /clusters/demo/node-groups/ng-a\n");
	outcome_free(&o);

	/* EKS finished at once (moto), or sent no update at all (moto's UpdateClusterConfig). */
	script_clear();
	route("GET", "/clusters/demo", NULL, 200, NULL, CLUSTER);
	route("POST", "/clusters/demo/update-config", NULL, 200, NULL,
	      "{'update': {'id': 'u-3', 'status': 'Successful'}}");
	finish(&o, apply(&o, "UpdateLogging", NULL, "{'loggingTypes': ['api']}"), HCR_OK);
	assert_json(o.result, "{'done': true}");
	outcome_free(&o);
	script_clear();
	route("GET", "/clusters/demo", NULL, 200, NULL, CLUSTER);
	route("POST", "/clusters/demo/update-config", NULL, 200, NULL, "");
	finish(&o,
	       apply(&o, "UpdateEndpointAccess", NULL,
		     "{'privateAccess': true, 'publicAccess': true}"),
	       HCR_OK);
	assert_json(o.result, "{'done': true}");
	/* EKS has public access already: only the private flag is sent. */
	assert_body("POST", "/clusters/demo/update-config",
		    "{'resourcesVpcConfig': {'endpointPrivateAccess': true},"
		    " 'clientRequestToken': 'op-1'}");
	outcome_free(&o);

	/* EKS has it all already: no UpdateClusterConfig, which EKS would refuse. */
	script_clear();
	route("GET", "/clusters/demo", NULL, 200, NULL,
	      "{'cluster': {'name': 'demo', 'logging': {'clusterLogging': [{'types': ['audit',"
	      " 'api'], 'enabled': true}]}}}");
	finish(&o, apply(&o, "UpdateLogging", NULL, "{'loggingTypes': ['api', 'audit']}"), HCR_OK);
	assert_json(o.result, "{'done': true}");
	assert_calls("GET /clusters/demo\n");
	outcome_free(&o);

	/* Node group version and launch template. */
	script_clear();
	route("POST", "/clusters/demo/node-groups/ng-a/update-version", NULL, 200, NULL,
	      "{'update': {'id': 'u-4', 'status': 'InProgress'}}");
	finish(&o,
	       apply(&o, "UpdateNodegroupVersion", "ng-a",
		     "{'nodeGroups[ng-a].launchTemplate': {'id': 'lt-1', 'name': 'x', 'version': "
		     "3}}"),
	       HCR_OK);
	assert_json(o.result, "{'handle': 'update:ng-a:u-4'}");
	assert_body(
		"POST", "/clusters/demo/node-groups/ng-a/update-version",
		"{'launchTemplate': {'id': 'lt-1', 'version': '3'}, 'clientRequestToken': 'op-1'}");
	outcome_free(&o);
}

static void test_eks_provider__apply_failures(void **state)
{
	struct outcome o = {0};

	(void)state;
	route("POST", "/clusters/demo/updates", NULL, 409, "ResourceInUseException",
	      "{'message': 'Cannot VersionUpdate because cluster demo currently has update u in "
	      "progress'}");
	finish(&o, apply(&o, "UpdateClusterVersion", NULL, "{'kubernetesVersion': '1.31'}"),
	       HCR_ECONFLICT);
	assert_string_equal(o.err.detail, "ResourceInUseException: Cannot VersionUpdate because "
					  "cluster demo currently has update u in progress");
	outcome_free(&o);
	script_clear();
	route("GET", "/clusters/demo", NULL, 200, NULL,
	      "{'cluster': {'name': 'demo', 'logging': {'clusterLogging': [{'types': ['api'],"
	      " 'enabled': true}]}}}");
	route("POST", "/clusters/demo/update-config", NULL, 400, "InvalidParameterException",
	      "{'message': 'No changes needed for the logging config provided'}");
	finish(&o, apply(&o, "UpdateLogging", NULL, "{'loggingTypes': []}"), HCR_EINVALID);
	assert_string_equal(o.err.detail, "InvalidParameterException: No changes needed for the "
					  "logging config provided");
	outcome_free(&o);
	script_clear();
	route("POST", "/clusters/demo/updates", NULL, 200, NULL, "{'update': {'id': 'a b'}}");
	finish(&o, apply(&o, "UpdateClusterVersion", NULL, "{'kubernetesVersion': '1.31'}"),
	       HCR_EUPSTREAM);
	outcome_free(&o);
}

/* Refusals: nothing is sent and the callback never runs. */
static void test_eks_provider__refused_before_any_call(void **state)
{
	static const struct {
		const char *operation, *pool, *changes;
		int status;
	} cases[] = {
		{"CreateNodegroup", "ng-a", "{'nodeGroups[ng-a]': {'desiredSize': 1}}",
		 HCR_EINVALID},
		{"CreateNodegroup", "ng-a", "{'nodeGroups[ng-b]': {'nodeRole': 'r'}}",
		 HCR_EINVALID},
		{"DeleteNodegroup", "ng-a", "{'nodeGroups[ng-a]': true}", HCR_EINVALID},
		{"UpdateClusterVersion", NULL, "{'kubernetesVersion': 130}", HCR_EINVALID},
		{"UpdateNodegroupConfig", "ng-a", "{'nodeGroups[ng-a].minSize': 'x'}",
		 HCR_EINVALID},
		{"UpdateNodegroupConfig", NULL, "{}", HCR_EINVALID},
		{"TagResource", NULL, "{'tags.a': 1}", HCR_EINVALID},
		{"RebootCluster", NULL, "{}", HCR_EINVALID},
	};
	struct outcome o = {0};
	json_t *no_keys;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc = apply(&o, cases[i].operation, cases[i].pool, cases[i].changes);

		if (rc != cases[i].status)
			fail_msg("case %zu: %d", i, rc);
	}
	/* No credential, no region, a bad name. */
	no_keys = json_pack("{s:s}", "accessKeyId", "AKIDEXAMPLE");
	f_.ref.secret = no_keys;
	assert_int_equal(hcr_eks_provider_ops.observe(f_.p, &f_.ref, done_cb, &o), HCR_EDENIED);
	assert_int_equal(apply(&o, "TagResource", NULL, "{'tags.a': 'b'}"), HCR_EDENIED);
	f_.ref.secret = f_.secret;
	f_.ref.region = NULL;
	assert_int_equal(hcr_eks_provider_ops.observe(f_.p, &f_.ref, done_cb, &o), HCR_EINVALID);
	f_.ref.region = "us-east-1/../x";
	assert_int_equal(hcr_eks_provider_ops.list(f_.p, &f_.ref, done_cb, &o), HCR_EINVALID);
	f_.ref.region = "us-east-1";
	f_.ref.cloud_name = "a/b";
	assert_int_equal(hcr_eks_provider_ops.destroy(f_.p, &f_.ref, done_cb, &o), HCR_EINVALID);
	f_.ref.cloud_name = NULL;
	assert_int_equal(hcr_eks_provider_ops.poll_operation(f_.p, &f_.ref, "op-77", done_cb, &o),
			 HCR_EINVALID);
	assert_int_equal(hcr_eks_provider_ops.create(f_.p, &f_.ref, NULL, "t", done_cb, &o),
			 HCR_EINVALID);
	json_decref(no_keys);
	ev_run(f_.loop, EVRUN_NOWAIT);
	assert_int_equal(o.calls, 0);
	assert_calls("");
}

static void test_eks_provider__create_and_delete_nodegroup(void **state)
{
	struct outcome o = {0};

	(void)state;
	route("GET", "/clusters/demo", NULL, 200, NULL, CLUSTER);
	route("POST", "/clusters/demo/node-groups", NULL, 200, NULL, NODEGROUP("ng-n", "CREATING"));
	finish(&o,
	       apply(&o, "CreateNodegroup", "ng-n",
		     "{'nodeGroups[ng-n]': {'nodegroupName': 'ng-n', 'nodeRole': 'arn:role',"
		     " 'desiredSize': 1, 'labels': {'a': 'b'}}}"),
	       HCR_OK);
	assert_json(o.result, "{'handle': 'ngcreate:ng-n'}");
	assert_body("POST", "/clusters/demo/node-groups",
		    "{'nodegroupName': 'ng-n', 'nodeRole': 'arn:role', 'subnets': ['s-1', 's-2'],"
		    " 'scalingConfig': {'desiredSize': 1}, 'labels': {'a': 'b'},"
		    " 'clientRequestToken': 'op-1'}");
	outcome_free(&o);

	script_clear();
	route("DELETE", "/clusters/demo/node-groups/ng-n", NULL, 200, NULL,
	      NODEGROUP("ng-n", "DELETING"));
	finish(&o, apply(&o, "DeleteNodegroup", "ng-n", "{'nodeGroups[ng-n]': null}"), HCR_OK);
	assert_json(o.result, "{'handle': 'ngdelete:ng-n'}");
	outcome_free(&o);
	script_clear();
	route("DELETE", "/clusters/demo/node-groups/ng-n", NULL, 404, "ResourceNotFoundException",
	      RNF("node group"));
	finish(&o, apply(&o, "DeleteNodegroup", "ng-n", "{'nodeGroups[ng-n]': null}"), HCR_OK);
	assert_json(o.result, "{'done': true}");
	outcome_free(&o);
}

/* ---- poll_operation ----------------------------------------------------------------------- */

static void test_eks_provider__poll(void **state)
{
	static const struct {
		const char *handle, *path, *query;
		int http;
		const char *errtype, *body, *want;
		int status;
	} cases[] = {
		{"update::u-1", "/clusters/demo/updates/u-1", NULL, 200, NULL,
		 "{'update': {'id': 'u-1', 'status': 'InProgress'}}", "{'state': 'running'}",
		 HCR_OK},
		{"update:ng-a:u-2", "/clusters/demo/updates/u-2", "nodegroupName=ng-a", 200, NULL,
		 "{'update': {'id': 'u-2', 'status': 'Failed', 'errors': [{'errorCode':"
		 " 'NodeCreationFailure', 'errorMessage': 'no nodes'}]}}",
		 "{'state': 'failed', 'error': {'code': 'NodeCreationFailure', 'message': 'no "
		 "nodes'}}",
		 HCR_OK},
		{"update::u-3", "/clusters/demo/updates/u-3", NULL, 404,
		 "ResourceNotFoundException", RNF("update"), NULL, HCR_ENOTFOUND},
		{"ngcreate:ng-a", "/clusters/demo/node-groups/ng-a", NULL, 200, NULL,
		 NODEGROUP("ng-a", "ACTIVE"), "{'state': 'succeeded'}", HCR_OK},
		{"ngdelete:ng-a", "/clusters/demo/node-groups/ng-a", NULL, 200, NULL,
		 NODEGROUP("ng-a", "DELETING"), "{'state': 'running'}", HCR_OK},
		{"ngdelete:ng-b", "/clusters/demo/node-groups/ng-b", NULL, 404,
		 "ResourceNotFoundException", RNF("node group"), "{'state': 'succeeded'}", HCR_OK},
		{"create:other", "/clusters/other", NULL, 200, NULL,
		 "{'cluster': {'name': 'other', 'status': 'CREATING'}}", "{'state': 'running'}",
		 HCR_OK},
		{"create:other", "/clusters/other", NULL, 200, NULL,
		 "{'cluster': {'name': 'other', 'status': 'FAILED'}}",
		 "{'state': 'failed', 'error': {'code': 'ClusterFailed', 'message': 'the cluster "
		 "entered FAILED'}}",
		 HCR_OK},
		{"delete:demo", "/clusters/demo", NULL, 404, "ResourceNotFoundException",
		 RNF("cluster"), "{'state': 'succeeded'}", HCR_OK},
		{"delete:demo", "/clusters/demo", NULL, 200, NULL,
		 "{'cluster': {'name': 'demo', 'status': 'DELETING'}}", "{'state': 'running'}",
		 HCR_OK},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct outcome o = {0};

		script_clear();
		route("GET", cases[i].path, NULL, cases[i].http, cases[i].errtype, cases[i].body);
		finish(&o,
		       hcr_eks_provider_ops.poll_operation(f_.p, &f_.ref, cases[i].handle, done_cb,
							   &o),
		       cases[i].status);
		if (cases[i].want)
			assert_json(o.result, cases[i].want);
		if (cases[i].query)
			assert_string_equal(record_of("GET", cases[i].path)->query, cases[i].query);
		outcome_free(&o);
	}
}

/* ---- destroy, create, list, kube_credentials ---------------------------------------------- */

static void test_eks_provider__destroy(void **state)
{
	struct outcome o = {0};

	(void)state;
	route("GET", "/clusters/demo", NULL, 200, NULL, CLUSTER);
	route("GET", "/clusters/demo/node-groups", NULL, 200, NULL,
	      "{'nodegroups': ['ng-a', 'ng-b']}");
	route("GET", "/clusters/demo/node-groups/ng-a", NULL, 200, NULL,
	      NODEGROUP("ng-a", "ACTIVE"));
	route("GET", "/clusters/demo/node-groups/ng-b", NULL, 200, NULL,
	      NODEGROUP("ng-b", "DELETING"));
	route("DELETE", "/clusters/demo/node-groups/ng-a", NULL, 200, NULL,
	      NODEGROUP("ng-a", "DELETING"));
	finish(&o, hcr_eks_provider_ops.destroy(f_.p, &f_.ref, done_cb, &o), HCR_OK);
	assert_json(o.result, "{'handle': 'delete:demo'}");
	/* ng-b was being deleted already; the cluster waits for both. */
	assert_int_equal(count_calls("DELETE "), 1);
	assert_int_equal(count_calls("DELETE /clusters/demo/node-groups/ng-a"), 1);
	outcome_free(&o);

	/* The last node group is gone: the poll sends DeleteCluster; EKS is busy: running. */
	script_clear();
	route("GET", "/clusters/demo", NULL, 200, NULL, CLUSTER);
	route("GET", "/clusters/demo/node-groups", NULL, 200, NULL, "{'nodegroups': []}");
	route("DELETE", "/clusters/demo", NULL, 409, "ResourceInUseException",
	      "{'message': 'Cluster has nodegroups attached'}");
	finish(&o, hcr_eks_provider_ops.poll_operation(f_.p, &f_.ref, "delete:demo", done_cb, &o),
	       HCR_OK);
	assert_json(o.result, "{'state': 'running'}");
	assert_int_equal(count_calls("DELETE /clusters/demo"), 1);
	outcome_free(&o);

	/* A cluster already gone is done at once. */
	script_clear();
	route("GET", "/clusters/demo", NULL, 404, "ResourceNotFoundException", RNF("cluster"));
	finish(&o, hcr_eks_provider_ops.destroy(f_.p, &f_.ref, done_cb, &o), HCR_OK);
	assert_json(o.result, "{'done': true}");
	outcome_free(&o);
}

static void test_eks_provider__create(void **state)
{
	struct outcome o = {0};
	json_t *config = test_json("{'kubernetesVersion': '1.31', 'serviceRole': 'arn:role',"
				   " 'subnets': ['s-1', 's-2'], 'tags': {'a': 'b'},"
				   " 'nodeGroups': [{'nodegroupName': 'ng-a'}]}");

	(void)state;
	f_.ref.cloud_name = "new-one";
	route("POST", "/clusters", NULL, 200, NULL,
	      "{'cluster': {'name': 'new-one', 'status': 'CREATING'}}");
	finish(&o, hcr_eks_provider_ops.create(f_.p, &f_.ref, config, "op-9", done_cb, &o), HCR_OK);
	assert_json(o.result, "{'handle': 'create:new-one'}");
	assert_body("POST", "/clusters",
		    "{'name': 'new-one', 'version': '1.31', 'roleArn': 'arn:role',"
		    " 'resourcesVpcConfig': {'subnetIds': ['s-1', 's-2']}, 'tags': {'a': 'b'},"
		    " 'clientRequestToken': 'op-9'}");
	outcome_free(&o);
	script_clear();
	route("POST", "/clusters", NULL, 409, "ResourceInUseException",
	      "{'message': 'Cluster already exists with name: new-one'}");
	finish(&o, hcr_eks_provider_ops.create(f_.p, &f_.ref, config, "op-9", done_cb, &o),
	       HCR_ECONFLICT);
	outcome_free(&o);
	json_decref(config);
}

static void test_eks_provider__list(void **state)
{
	struct outcome o = {0};

	(void)state;
	route("GET", "/clusters", "nextToken=n2", 200, NULL, "{'clusters': ['b', 'gone']}");
	route("GET", "/clusters", NULL, 200, NULL, "{'clusters': ['c', 'a'], 'nextToken': 'n2'}");
	route("GET", "/clusters/a", NULL, 200, NULL,
	      "{'cluster': {'name': 'a', 'status': 'ACTIVE', 'version': '1.30'}}");
	route("GET", "/clusters/b", NULL, 200, NULL,
	      "{'cluster': {'name': 'b', 'status': 'CREATING'}}");
	route("GET", "/clusters/c", NULL, 200, NULL,
	      "{'cluster': {'name': 'c', 'status': 'ACTIVE', 'version': '1.29'}}");
	route("GET", "/clusters/gone", NULL, 404, "ResourceNotFoundException", RNF("cluster"));
	f_.ref.name = NULL;
	finish(&o, hcr_eks_provider_ops.list(f_.p, &f_.ref, done_cb, &o), HCR_OK);
	assert_json(o.result,
		    "{'clusters': [{'cloudName': 'a', 'region': 'us-east-1', 'status': 'ACTIVE',"
		    " 'version': '1.30'}, {'cloudName': 'b', 'region': 'us-east-1',"
		    " 'status': 'CREATING'}, {'cloudName': 'c', 'region': 'us-east-1',"
		    " 'status': 'ACTIVE', 'version': '1.29'}]}");
	outcome_free(&o);
}

static void test_eks_provider__kube_credentials(void **state)
{
	struct outcome o = {0};
	json_t *r;
	long long now = (long long)time(NULL), at;

	(void)state;
	route("GET", "/clusters/demo", NULL, 200, NULL, CLUSTER);
	r = finish(&o, hcr_eks_provider_ops.kube_credentials(f_.p, &f_.ref, done_cb, &o), HCR_OK);
	assert_string_equal(json_string_value(json_object_get(r, "server")),
			    "https://abc.eks.amazonaws.com");
	assert_string_equal(json_string_value(json_object_get(r, "certificateAuthorityData")),
			    "Q0E=");
	assert_true(strncmp(json_string_value(json_object_get(r, "token")), "k8s-aws-v1.", 11) ==
		    0);
	at = (long long)json_integer_value(json_object_get(r, "expiresAt"));
	assert_true(at >= now + 14 * 60 && at <= now + 14 * 60 + 5);
	outcome_free(&o);
	/* No endpoint yet (CREATING): busy, try later. */
	script_clear();
	route("GET", "/clusters/demo", NULL, 200, NULL, "{'cluster': {'status': 'CREATING'}}");
	finish(&o, hcr_eks_provider_ops.kube_credentials(f_.p, &f_.ref, done_cb, &o),
	       HCR_ECONFLICT);
	outcome_free(&o);
}

/* ---- endpoints, session tokens, transport ------------------------------------------------- */

static void test_eks_provider__endpoint_template_and_session_token(void **state)
{
	struct outcome o = {0};
	char *tmpl = hcr_sprintf("http://127.0.0.1:%u/eks/{region}/", port_);
	const struct record *r;
	hcr_provider_config pc = {0};
	hcr_provider *bad = NULL;
	hcr_error err;

	(void)state;
	provider_new(tmpl, false);
	free(tmpl);
	json_object_set_new(f_.secret, "sessionToken", json_string("SESSION"));
	f_.ref.region = "eu-west-1";
	route("GET", "/eks/eu-west-1/clusters/demo", NULL, 404, "ResourceNotFoundException",
	      RNF("cluster"));
	finish(&o, hcr_eks_provider_ops.observe(f_.p, &f_.ref, done_cb, &o), HCR_OK);
	r = record_of("GET", "/eks/eu-west-1/clusters/demo");
	assert_string_equal(r->token, "SESSION");
	assert_non_null(strstr(r->auth, "/eu-west-1/eks/aws4_request"));
	assert_non_null(strstr(r->auth, "SignedHeaders=host;x-amz-date;x-amz-security-token"));
	outcome_free(&o);

	/* Endpoints that are not http(s) URLs are refused when the instance is made. */
	free(f_.cfg.eks_endpoint);
	f_.cfg.eks_endpoint = hcr_strdup("ftp://x");
	pc.http = f_.http;
	pc.settings = &f_.cfg;
	assert_int_equal(hcr_eks_provider_ops.create_instance(&bad, &pc, &err), HCR_EINVALID);
	assert_null(bad);
	assert_non_null(strstr(err.message, "providers.eks.endpoint"));
	free(f_.cfg.eks_endpoint);
	f_.cfg.eks_endpoint = hcr_strdup("http://user@host");
	assert_int_equal(hcr_eks_provider_ops.create_instance(&bad, &pc, &err), HCR_EINVALID);
}

static void test_eks_provider__transport_failure(void **state)
{
	struct outcome o = {0};
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char *url;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	url = hcr_sprintf("http://127.0.0.1:%u", ntohs(sin.sin_port));
	provider_new(url, true);
	free(url);
	finish(&o, hcr_eks_provider_ops.observe(f_.p, &f_.ref, done_cb, &o), HCR_EUPSTREAM);
	assert_non_null(
		strstr(o.err.message, "the request to EKS for DescribeCluster demo failed"));
	outcome_free(&o);
}

/* The registry knows it, and the table is complete. */
static void test_eks_provider__table(void **state)
{
	const hcr_provider_ops *ops = hcr_provider_lookup("eks");

	(void)state;
	assert_ptr_equal(ops, &hcr_eks_provider_ops);
	assert_int_equal(ops->abi, HCR_PROVIDER_ABI);
	assert_ptr_equal(ops->catalog, &hcr_eks_catalog);
	assert_non_null(ops->observe);
	assert_non_null(ops->apply);
	assert_non_null(ops->poll_operation);
	assert_non_null(ops->create);
	assert_non_null(ops->destroy);
	assert_non_null(ops->list);
	assert_non_null(ops->kube_credentials);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_eks_provider__observe),
		T(test_eks_provider__observe_updates_cached),
		T(test_eks_provider__observe_without_list_updates),
		T(test_eks_provider__observe_not_found),
		T(test_eks_provider__observe_failures),
		T(test_eks_provider__fan_out_is_bounded),
		T(test_eks_provider__apply_tags),
		T(test_eks_provider__apply_updates),
		T(test_eks_provider__apply_failures),
		T(test_eks_provider__refused_before_any_call),
		T(test_eks_provider__create_and_delete_nodegroup),
		T(test_eks_provider__poll),
		T(test_eks_provider__destroy),
		T(test_eks_provider__create),
		T(test_eks_provider__list),
		T(test_eks_provider__kube_credentials),
		T(test_eks_provider__endpoint_template_and_session_token),
		T(test_eks_provider__transport_failure),
		T(test_eks_provider__table),
	};

	return cmocka_run_group_tests(tests, server_start, server_stop);
}
