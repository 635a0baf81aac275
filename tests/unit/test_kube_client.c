/*
 * Unit tests for the Kubernetes client (src/kube_client.c, kube_verbs.c,
 * kube_watch.c, kube_discovery.c, kube_status.c): Status bodies into
 * hcr_error, discovery tables from canned JSON and the names kubectl
 * accepts, and the verbs against a canned HTTP server (a thread on
 * 127.0.0.1 answering from a table of routes and logging every request):
 * pagination, retries, 401 renewal, watches split across chunks, 410.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hcr/crypto.h"
#include "hcr/kube.h"
#include "hcr/mem.h"
#include "testutil.h"

/* ---- the canned server --------------------------------------------------------------- */

#define MAX_ROUTES 16
#define MAX_LOG    32

struct route {
	const char *method;
	const char *path; /* prefix of the request's path (with query) */
	const char *auth; /* when set, only requests with this Authorization */
	int uses;         /* answers left; 0 = unlimited */
	int status;
	const char *headers; /* extra header lines, each ending in \r\n */
	const char *body;
	bool chunked; /* send the body as chunks of 7 bytes (a watch) */
	int hang_ms;  /* chunked: then keep the stream open this long before ending it */
};

struct logged {
	char method[16];
	char path[1024];
	char auth[256];
	char content_type[128];
	char host[128];
	char *body;
};

struct server {
	int fd, port;
	pthread_t thread;
	bool stop;
	pthread_mutex_t lock;
	struct route routes[MAX_ROUTES];
	int nroutes;
	struct logged log[MAX_LOG];
	int nlog;
};

static struct server srv;

static void send_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

static struct route *pick(const struct logged *req)
{
	int i;

	for (i = 0; i < srv.nroutes; i++) {
		struct route *r = &srv.routes[i];

		if (r->uses < 0 || strcmp(r->method, req->method) != 0 ||
		    strncmp(r->path, req->path, strlen(r->path)) != 0)
			continue;
		if (r->auth && strcmp(r->auth, req->auth) != 0)
			continue;
		if (r->uses > 0 && --r->uses == 0)
			r->uses = -1;
		return r;
	}
	return NULL;
}

static void answer(int fd, const struct route *r)
{
	static const char *const notfound = "{\"kind\":\"Status\",\"status\":\"Failure\","
					    "\"reason\":\"NotFound\",\"code\":404,\"message\":"
					    "\"the server could not find the requested resource\"}";
	const char *body = r ? r->body : notfound;
	char head[1024];
	size_t len = strlen(body), i;

	if (r && r->chunked) {
		snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%s"
			 "Transfer-Encoding: chunked\r\n\r\n",
			 r->status, r->headers ? r->headers : "");
		send_all(fd, head, strlen(head));
		for (i = 0; i < len; i += 7) {
			size_t n = len - i < 7 ? len - i : 7;

			snprintf(head, sizeof(head), "%zx\r\n", n);
			send_all(fd, head, strlen(head));
			send_all(fd, body + i, n);
			send_all(fd, "\r\n", 2);
			usleep(200);
		}
		for (i = 0;
		     i < (size_t)r->hang_ms / 50 && !__atomic_load_n(&srv.stop, __ATOMIC_SEQ_CST);
		     i++)
			usleep(50000);
		send_all(fd, "0\r\n\r\n", 5);
		return;
	}
	snprintf(head, sizeof(head),
		 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n\r\n",
		 r ? r->status : 404, r && r->headers ? r->headers : "", len);
	send_all(fd, head, strlen(head));
	send_all(fd, body, len);
}

static void header_value(char *out, size_t size, const char *head, const char *name)
{
	const char *p = strcasestr(head, name);
	size_t n;

	out[0] = '\0';
	if (!p)
		return;
	p += strlen(name);
	while (*p == ' ')
		p++;
	n = strcspn(p, "\r\n");
	snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), p);
}

/* Reads one request from `fd` into `req` (body new); false at EOF. */
static bool read_request(int fd, struct logged *req, char *buf, size_t *have, size_t size)
{
	char *end, cl[32];
	size_t head_len, body_len;

	while (!(end = memmem(buf, *have, "\r\n\r\n", 4))) {
		ssize_t n = recv(fd, buf + *have, size - *have - 1, 0);

		if (n < 0 && errno == EAGAIN && !srv.stop)
			continue;
		if (n <= 0)
			return false;
		*have += (size_t)n;
		buf[*have] = '\0';
	}
	head_len = (size_t)(end - buf) + 4;
	*end = '\0';
	memset(req, 0, sizeof(*req));
	sscanf(buf, "%15s %1023s", req->method, req->path);
	header_value(req->auth, sizeof(req->auth), buf, "\nAuthorization:");
	header_value(req->content_type, sizeof(req->content_type), buf, "\nContent-Type:");
	header_value(req->host, sizeof(req->host), buf, "\nHost:");
	header_value(cl, sizeof(cl), buf, "\nContent-Length:");
	body_len = (size_t)atol(cl);
	while (*have < head_len + body_len) {
		ssize_t n = recv(fd, buf + *have, size - *have - 1, 0);

		if (n <= 0)
			return false;
		*have += (size_t)n;
	}
	req->body = hcr_strndup(buf + head_len, body_len);
	*have -= head_len + body_len;
	memmove(buf, buf + head_len + body_len, *have);
	return true;
}

static void serve_connection(int fd)
{
	static char buf[1 << 20];
	struct timeval tv = {0, 100000};
	size_t have = 0;
	struct logged req;

	/* Wake up now and then, so that a test that failed half-way cannot hang the server. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (read_request(fd, &req, buf, &have, sizeof(buf))) {
		const struct route *r;

		pthread_mutex_lock(&srv.lock);
		r = pick(&req);
		if (srv.nlog < MAX_LOG)
			srv.log[srv.nlog++] = req;
		else
			free(req.body);
		pthread_mutex_unlock(&srv.lock);
		answer(fd, r);
	}
	close(fd);
}

static void *serve(void *arg)
{
	(void)arg;
	while (!srv.stop) {
		struct pollfd p = {srv.fd, POLLIN, 0};
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		if ((c = accept(srv.fd, NULL, NULL)) >= 0)
			serve_connection(c);
	}
	return NULL;
}

static void server_start(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.lock, NULL);
	srv.fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(srv.fd >= 0);
	assert_int_equal(bind(srv.fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(srv.fd, 8), 0);
	getsockname(srv.fd, (struct sockaddr *)&a, &len);
	srv.port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&srv.thread, NULL, serve, NULL), 0);
}

static void route(const char *method, const char *path, int uses, int status, const char *body)
{
	struct route *r = &srv.routes[srv.nroutes++];

	memset(r, 0, sizeof(*r));
	r->method = method;
	r->path = path;
	r->uses = uses;
	r->status = status;
	r->body = body;
}

/* Forgets the requests logged so far. */
static void log_reset(void)
{
	int i;

	pthread_mutex_lock(&srv.lock);
	for (i = 0; i < srv.nlog; i++)
		free(srv.log[i].body);
	srv.nlog = 0;
	pthread_mutex_unlock(&srv.lock);
}

static int server_stop(void **state)
{
	(void)state;
	srv.stop = true;
	pthread_join(srv.thread, NULL);
	close(srv.fd);
	log_reset();
	pthread_mutex_destroy(&srv.lock);
	hcr_kube_exec_cache_clear();
	return 0;
}

static int server_setup(void **state)
{
	(void)state;
	server_start();
	return 0;
}

/* A connection to the canned server as cluster "test", namespace `ns` (may be NULL). */
static hcr_kube *connect_test(const char *ns, const char *token)
{
	hcr_kube_context *c = hcr_calloc(1, sizeof(*c));
	hcr_kube_opts o = {.request_timeout_ms = 5000, .max_retry_wait_ms = 50};
	hcr_kube *k = NULL;
	hcr_error err;

	c->name = hcr_strdup("test");
	c->server = hcr_sprintf("http://127.0.0.1:%d", srv.port);
	c->namespace_name = hcr_strdup(ns);
	c->token = hcr_strdup(token);
	if (hcr_kube_open_context(&k, c, &o, &err) != HCR_OK)
		fail_msg("%s", err.message);
	return k;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

/* ---- discovery documents ------------------------------------------------------------- */

static const char *const CORE_V1 =
	"{'kind':'APIResourceList','groupVersion':'v1','resources':["
	"{'name':'pods','singularName':'pod','namespaced':true,'kind':'Pod','verbs':['create',"
	"'delete','deletecollection','get','list','patch','update','watch'],'shortNames':['po']},"
	"{'name':'pods/log','singularName':'','namespaced':true,'kind':'Pod','verbs':['get']},"
	"{'name':'configmaps','singularName':'configmap','namespaced':true,'kind':'ConfigMap',"
	"'verbs':['create','delete','get','list','patch','update','watch'],'shortNames':['cm']},"
	"{'name':'namespaces','singularName':'namespace','namespaced':false,'kind':'Namespace',"
	"'verbs':['create','delete','get','list','patch','update','watch'],'shortNames':['ns']},"
	"{'name':'events','singularName':'event','namespaced':true,'kind':'Event','verbs':["
	"'list'],'shortNames':['ev']}]}";

static const char *const APPS_V1 =
	"{'kind':'APIResourceList','groupVersion':'apps/v1','resources':["
	"{'name':'deployments','singularName':'deployment','namespaced':true,'kind':'Deployment',"
	"'verbs':['get','list','watch','create','update','patch','delete'],'shortNames':['deploy'],"
	"'categories':['all']},"
	"{'name':'deployments/scale','singularName':'','namespaced':true,'group':'autoscaling',"
	"'version':'v1','kind':'Scale','verbs':['get','patch','update']}]}";

static const char *const EVENTS_V1 =
	"{'kind':'APIResourceList','groupVersion':'events.k8s.io/v1','resources':["
	"{'name':'events','singularName':'event','namespaced':true,'kind':'Event','verbs':["
	"'list','watch'],'shortNames':['ev']}]}";

static const char *const BATCH_V1 =
	"{'kind':'APIResourceList','groupVersion':'batch/v1','resources':["
	"{'name':'cronjobs','singularName':'cronjob','namespaced':true,'kind':'CronJob','verbs':["
	"'list'],'shortNames':['cj']}]}";

static const char *const CRD_V1 =
	"{'kind':'APIResourceList','groupVersion':'example.com/v1alpha1','resources':["
	"{'name':'widgets','singularName':'','namespaced':false,'kind':'Widget','verbs':['list']}]"
	"}";

static hcr_kube_discovery *canned_table(void)
{
	static const struct {
		const char *group, *version, *const *doc;
	} docs[] = {{"", "v1", &CORE_V1},
		    {"apps", "v1", &APPS_V1},
		    {"events.k8s.io", "v1", &EVENTS_V1},
		    {"batch", "v1", &BATCH_V1},
		    {"example.com", "v1alpha1", &CRD_V1}};
	hcr_kube_discovery *d = hcr_kube_discovery_new();
	hcr_error err;
	size_t i;

	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_t *list = test_json(*docs[i].doc);

		assert_int_equal(
			hcr_kube_discovery_add(d, docs[i].group, docs[i].version, list, &err),
			HCR_OK);
		json_decref(list);
	}
	return d;
}

static void test_kube_client__discovery_table(void **state)
{
	hcr_kube_discovery *d = canned_table();
	const hcr_kube_resource *r, *all;
	hcr_error err;
	json_t *bad;
	size_t n;

	(void)state;
	all = hcr_kube_discovery_resources(d, &n);
	assert_int_equal(n, 8); /* subresources skipped */
	assert_string_equal(all[0].plural, "pods");
	r = hcr_kube_discovery_find_kind(d, "apps", "Deployment");
	assert_non_null(r);
	assert_string_equal(r->plural, "deployments");
	assert_string_equal(r->api_version, "apps/v1");
	assert_string_equal(r->singular, "deployment");
	assert_true(r->namespaced);
	assert_int_equal(r->nshort, 1);
	assert_string_equal(r->short_names[0], "deploy");
	assert_int_equal(r->verbs, HCR_KUBE_VERB_GET | HCR_KUBE_VERB_LIST | HCR_KUBE_VERB_WATCH |
					   HCR_KUBE_VERB_CREATE | HCR_KUBE_VERB_UPDATE |
					   HCR_KUBE_VERB_PATCH | HCR_KUBE_VERB_DELETE);
	r = hcr_kube_discovery_find_kind(d, "", "Namespace");
	assert_false(r->namespaced);
	assert_string_equal(r->api_version, "v1");
	assert_null(hcr_kube_discovery_find_kind(d, "", "Deployment"));
	assert_null(hcr_kube_discovery_find_kind(d, "autoscaling", "Scale"));
	r = hcr_kube_discovery_find_plural(d, "example.com", "widgets");
	assert_string_equal(r->kind, "Widget");
	assert_string_equal(r->singular, "");
	assert_int_equal(r->nshort, 0);

	bad = test_json("{'kind':'Status'}");
	assert_int_equal(hcr_kube_discovery_add(d, "x", "v1", bad, &err), HCR_EINVALID);
	assert_string_equal(err.message, "the discovery of x/v1 is not an APIResourceList");
	json_decref(bad);
	hcr_kube_discovery_free(d);
}

static void test_kube_client__resolve_names(void **state)
{
	static const struct {
		const char *name, *group, *plural; /* plural NULL: no match */
	} cases[] = {
		{"deploy", "apps", "deployments"},
		{"deployments", "apps", "deployments"},
		{"deployment", "apps", "deployments"},
		{"Deployment", "apps", "deployments"},
		{"DEPLOY", "apps", "deployments"},
		{"deployments.apps", "apps", "deployments"},
		{"deploy.apps", "apps", "deployments"},
		{"deployments.v1.apps", "apps", "deployments"},
		{"ConfigMap", "", "configmaps"},
		{"cm", "", "configmaps"},
		{"po", "", "pods"},
		{"ns", "", "namespaces"},
		{"events", "", "events"}, /* the core group comes first, as in kubectl */
		{"ev", "", "events"},
		{"events.events.k8s.io", "events.k8s.io", "events"},
		{"events.v1.events.k8s.io", "events.k8s.io", "events"},
		{"cronjobs.v1.batch", "batch", "cronjobs"},
		{"cj.batch", "batch", "cronjobs"},
		{"widget", "example.com", "widgets"}, /* no singularName: the kind matches */
		{"widgets.example.com", "example.com", "widgets"},
		{"Widget.example.com", "example.com", "widgets"},
		{"deployments.v2.apps", NULL, NULL},
		{"deployments.extensions", NULL, NULL},
		{"pods/log", NULL, NULL},
		{"scale", NULL, NULL},
		{"nope", NULL, NULL},
		{"", NULL, NULL},
	};
	hcr_kube_discovery *d = canned_table();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const hcr_kube_resource *r = hcr_kube_discovery_resolve(d, cases[i].name);

		if (!cases[i].plural && r)
			fail_msg("\"%s\" resolved to %s.%s", cases[i].name, r->plural, r->group);
		if (cases[i].plural &&
		    (!r || strcmp(r->plural, cases[i].plural) || strcmp(r->group, cases[i].group)))
			fail_msg("\"%s\" resolved to %s, want %s.%s", cases[i].name,
				 r ? r->plural : "nothing", cases[i].plural, cases[i].group);
	}
	hcr_kube_discovery_free(d);
}

/* ---- Status errors ------------------------------------------------------------------- */

static void test_kube_client__status_errors(void **state)
{
	static const struct {
		long http;
		const char *body;
		int status;
		const char *code, *message, *detail, *hint;
	} cases[] = {
		{404,
		 "{'kind':'Status','status':'Failure','reason':'NotFound','code':404,'message':"
		 "'configmaps \\\"web\\\" not found','details':{'name':'web','kind':'configmaps'}}",
		 HCR_ENOTFOUND, HCR_ERR_NOT_FOUND,
		 "cannot get ConfigMap prod/web in cluster \"eu\": configmaps \"web\" not found",
		 "(reason NotFound, HTTP 404)", NULL},
		{404,
		 "{'kind':'Status','reason':'NotFound','code':404,'message':'namespaces "
		 "\\\"prod\\\" not "
		 "found','details':{'name':'prod','kind':'namespaces'}}",
		 HCR_ENOTFOUND, HCR_ERR_NOT_FOUND, "namespaces \"prod\" not found", NULL,
		 "create the namespace first"},
		{409,
		 "{'kind':'Status','reason':'AlreadyExists','code':409,'message':'configmaps "
		 "\\\"web\\\" "
		 "already exists'}",
		 HCR_ECONFLICT, HCR_ERR_CONFLICT, "already exists",
		 "(reason AlreadyExists, HTTP 409)", "update the existing object"},
		{409,
		 "{'kind':'Status','reason':'Conflict','code':409,'message':'Operation cannot be "
		 "fulfilled on configmaps \\\"web\\\": the object has been modified'}",
		 HCR_ECONFLICT, HCR_ERR_CONFLICT, "the object has been modified", NULL,
		 "current resourceVersion"},
		{422,
		 "{'kind':'Status','reason':'Invalid','code':422,'message':'ConfigMap \\\"Web\\\" "
		 "is "
		 "invalid: metadata.name: Invalid "
		 "value','details':{'name':'Web','kind':'ConfigMap',"
		 "'causes':[{'reason':'FieldValueInvalid','message':'Invalid value: \\\"Web\\\": a "
		 "lowercase RFC 1123 "
		 "subdomain','field':'metadata.name'},{'reason':'FieldValueRequired',"
		 "'message':'Required value','field':'data.x'}]}}",
		 HCR_EINVALID, HCR_ERR_INVALID, "is invalid",
		 "metadata.name: Invalid value: \"Web\": a lowercase RFC 1123 subdomain; data.x: "
		 "Required value (reason Invalid, HTTP 422)",
		 "fix the fields"},
		{403,
		 "{'kind':'Status','reason':'Forbidden','code':403,'message':'configmaps "
		 "\\\"web\\\" is "
		 "forbidden: User \\\"bob\\\" cannot get resource \\\"configmaps\\\" in API group "
		 "\\\"\\\" in the "
		 "namespace \\\"prod\\\"'}",
		 HCR_EDENIED, HCR_ERR_FORBIDDEN, "User \"bob\" cannot get",
		 "(reason Forbidden, HTTP 403)",
		 "grant the user of cluster \"eu\" 'get' on configmaps in namespace \"prod\""},
		{403,
		 "{'kind':'Status','reason':'Forbidden','code':403,'message':'configmaps "
		 "\\\"web\\\" is "
		 "forbidden: unable to create new content in namespace prod because it is being "
		 "terminated'}",
		 HCR_EDENIED, HCR_ERR_FORBIDDEN, "being terminated", NULL,
		 "the namespace is being deleted"},
		{401,
		 "{'kind':'Status','reason':'Unauthorized','code':401,'message':'Unauthorized'}",
		 HCR_EDENIED, HCR_ERR_UNAUTHORIZED, ": Unauthorized", NULL, "expired or are wrong"},
		{410,
		 "{'kind':'Status','reason':'Expired','code':410,'message':'too old resource "
		 "version: 1 (5)'}",
		 HCR_ECONFLICT, HCR_ERR_CONFLICT, "too old resource version", NULL, "list again"},
		{429,
		 "{'kind':'Status','reason':'TooManyRequests','code':429,'message':'Too many "
		 "requests, please try again later.'}",
		 HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE, "Too many requests", NULL, "throttling"},
		{503, "<html>Service Unavailable</html>", HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE,
		 "cannot get ConfigMap prod/web in cluster \"eu\": the server answered HTTP 503",
		 "(reason ServiceUnavailable, HTTP 503)", "retry later"},
		{502, NULL, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE, "the server answered HTTP 502",
		 "(reason none, HTTP 502)", "retry later"},
		{418, NULL, HCR_EINVALID, HCR_ERR_BAD_REQUEST, "the server answered HTTP 418", NULL,
		 NULL},
		{405,
		 "{'kind':'Status','reason':'MethodNotAllowed','code':405,'message':'the server "
		 "does not allow this method on the requested resource'}",
		 HCR_EINVALID, HCR_ERR_METHOD_NOT_ALLOWED, "does not allow this method", NULL,
		 NULL},
		{404,
		 "{'kind':'Status','reason':'NotFound','code':404,'message':'the server could not "
		 "find the requested resource'}",
		 HCR_ENOTFOUND, HCR_ERR_NOT_FOUND, "could not find", NULL, "rediscover"},
	};
	hcr_kube_discovery *d = canned_table();
	const hcr_kube_resource *cm = hcr_kube_discovery_find_kind(d, "", "ConfigMap");
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *body = NULL;
		hcr_error err;
		int rc;

		if (cases[i].body && cases[i].body[0] == '{')
			body = test_json(cases[i].body);
		rc = hcr_kube_status_error(&err, cases[i].http, body, "eu", "get",
					   "ConfigMap prod/web", cm, "prod");
		json_decref(body);
		if (rc != cases[i].status)
			fail_msg("case %zu: status %d, want %d", i, rc, cases[i].status);
		assert_string_equal(err.code, cases[i].code);
		assert_contains(err.message, "cannot get ConfigMap prod/web in cluster \"eu\": ");
		assert_contains(err.message, cases[i].message);
		if (cases[i].detail)
			assert_contains(err.detail, cases[i].detail);
		if (cases[i].hint)
			assert_contains(err.hint, cases[i].hint);
		else if (cases[i].http < 500 && cases[i].http != 410)
			assert_string_equal(err.hint, "");
	}
	hcr_kube_discovery_free(d);
}

/* ---- opening ------------------------------------------------------------------------- */

static void test_kube_client__open_creds(void **state)
{
	const char *pem = "-----BEGIN CERTIFICATE-----\nQ0E=\n-----END CERTIFICATE-----\n";
	char *b64 = hcr_crypto_base64_encode(pem, strlen(pem));
	json_t *creds = json_pack("{s:s, s:s, s:s, s:i}", "server", "https://aks.example:443/",
				  "certificateAuthorityData", b64, "token", "t0k", "expiresAt", 1);
	hcr_kube *k = NULL;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_kube_open_creds(&k, "aks/prod", creds, NULL, &err), HCR_OK);
	assert_string_equal(hcr_kube_name(k), "aks/prod");
	assert_string_equal(hcr_kube_server(k), "https://aks.example:443");
	assert_null(hcr_kube_namespace(k));
	hcr_kube_close(k);

	json_object_set_new(creds, "certificateAuthorityData", json_string("bm90IHBlbQ=="));
	assert_int_equal(hcr_kube_open_creds(&k, "aks/prod", creds, NULL, &err), HCR_EINVALID);
	assert_null(k);
	assert_string_equal(err.message, "the Kubernetes credentials of cluster \"aks/prod\" have "
					 "a certificateAuthorityData that is not base64 PEM");
	json_object_set_new(creds, "server", json_string("aks.example"));
	assert_int_equal(hcr_kube_open_creds(&k, "aks/prod", creds, NULL, &err), HCR_EINVALID);
	assert_contains(err.message, "have no http(s) server");
	json_decref(creds);
	free(b64);
}

/* ---- over HTTP ----------------------------------------------------------------------- */

static void test_kube_client__discover_over_http(void **state)
{
	char *core = strdup(CORE_V1), *apps = strdup(APPS_V1), *p;
	const hcr_kube_resource *r;
	const hcr_kube_discovery_failure *f;
	hcr_kube *k;
	hcr_error err;
	size_t n;
	int i, metrics_calls = 0;

	(void)state;
	for (p = core; *p; p++)
		*p = *p == '\'' ? '"' : *p;
	for (p = apps; *p; p++)
		*p = *p == '\'' ? '"' : *p;
	route("GET", "/api/v1", 0, 200, core);
	route("GET", "/apis/apps/v1", 0, 200, apps);
	route("GET", "/apis/metrics.k8s.io/v1beta1", 0, 503,
	      "{\"kind\":\"Status\",\"reason\":\"ServiceUnavailable\",\"code\":503,"
	      "\"message\":\"the server is currently unable to handle the request\"}");
	route("GET", "/apis", 0, 200,
	      "{\"kind\":\"APIGroupList\",\"groups\":[{\"name\":\"apps\",\"versions\":[{"
	      "\"groupVersion\":\"apps/v1\",\"version\":\"v1\"}],\"preferredVersion\":{"
	      "\"groupVersion\":\"apps/v1\",\"version\":\"v1\"}},{\"name\":\"metrics.k8s.io\","
	      "\"versions\":[{\"groupVersion\":\"metrics.k8s.io/v1beta1\",\"version\":"
	      "\"v1beta1\"}]}]}");
	route("GET", "/api", 0, 200, "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"]}");
	k = connect_test(NULL, "tok");
	assert_int_equal(hcr_kube_resource_resolve(&r, k, "deploy", &err), HCR_OK);
	assert_string_equal(r->api_version, "apps/v1");
	assert_int_equal(hcr_kube_resource_by_kind(&r, k, "", "ConfigMap", &err), HCR_OK);
	assert_string_equal(r->plural, "configmaps");
	f = hcr_kube_discovery_failures(hcr_kube_discovery_get(k, &err), &n);
	assert_int_equal(n, 1);
	assert_string_equal(f[0].group_version, "metrics.k8s.io/v1beta1");
	assert_contains(f[0].error.message, "currently unable to handle the request");
	/* A miss on a fresh table does not rediscover; the failed group is in the detail. */
	assert_int_equal(hcr_kube_resource_resolve(&r, k, "nodes.metrics.k8s.io", &err),
			 HCR_ENOTFOUND);
	assert_string_equal(err.message, "cluster \"test\" has no resource type "
					 "\"nodes.metrics.k8s.io\"");
	assert_contains(err.detail, "discovery failed for metrics.k8s.io/v1beta1");
	assert_int_equal(hcr_kube_resource_by_kind(&r, k, "example.com", "Widget", &err),
			 HCR_ENOTFOUND);
	assert_contains(err.message, "does not serve kind Widget of group example.com");
	assert_contains(err.hint, "CustomResourceDefinition");
	for (i = 0; i < srv.nlog; i++) {
		assert_string_equal(srv.log[i].auth, "Bearer tok");
		if (strcmp(srv.log[i].path, "/apis/metrics.k8s.io/v1beta1") == 0)
			metrics_calls++;
	}
	assert_int_equal(metrics_calls, 1); /* no retries of a failing group */
	assert_int_equal(srv.nlog, 5);
	hcr_kube_close(k);
	free(core);
	free(apps);
}

static const hcr_kube_resource *resource(hcr_kube_discovery *d, const char *group, const char *kind)
{
	const hcr_kube_resource *r = hcr_kube_discovery_find_kind(d, group, kind);

	assert_non_null(r);
	return r;
}

struct collected {
	int n, stop_after;
	char names[8][32];
};

static int collect_item(json_t *item, void *payload)
{
	struct collected *c = payload;
	const char *name =
		json_string_value(json_object_get(json_object_get(item, "metadata"), "name"));

	assert_string_equal(json_string_value(json_object_get(item, "kind")), "ConfigMap");
	assert_string_equal(json_string_value(json_object_get(item, "apiVersion")), "v1");
	snprintf(c->names[c->n++ % 8], 32, "%s", name);
	return c->stop_after && c->n >= c->stop_after;
}

static void test_kube_client__list_pages(void **state)
{
	hcr_kube_discovery *d = canned_table();
	hcr_kube_list_opts lo = {
		.ns = "web", .label_selector = "app=a,tier in (x)", .page_size = 2};
	struct collected c = {0};
	hcr_kube *k;
	hcr_error err;
	char *rv = NULL;

	(void)state;
	route("GET", "/api/v1/namespaces/web/configmaps?limit=2&continue=tok%2B1", 1, 200,
	      "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"41\"},"
	      "\"items\":[{\"metadata\":{\"name\":\"c\"}}]}");
	route("GET", "/api/v1/namespaces/web/configmaps?limit=2", 0, 200,
	      "{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"40\",\"continue\":"
	      "\"tok+1\"},\"items\":[{\"metadata\":{\"name\":\"a\"}},{\"metadata\":{\"name\":"
	      "\"b\"}}]}");
	k = connect_test(NULL, NULL);
	assert_int_equal(
		hcr_kube_list(k, resource(d, "", "ConfigMap"), &lo, collect_item, &c, &rv, &err),
		HCR_OK);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.names[0], "a");
	assert_string_equal(c.names[2], "c");
	assert_string_equal(rv, "41");
	free(rv);
	assert_int_equal(srv.nlog, 2);
	assert_string_equal(srv.log[0].path, "/api/v1/namespaces/web/configmaps?limit=2&"
					     "labelSelector=app%3Da%2Ctier%20in%20%28x%29");
	assert_string_equal(srv.log[1].path, "/api/v1/namespaces/web/configmaps?limit=2&continue="
					     "tok%2B1&labelSelector=app%3Da%2Ctier%20in%20%28x%29");
	assert_string_equal(srv.log[0].auth, "");

	/* The callback stops after the first object: no second page. */
	log_reset();
	memset(&c, 0, sizeof(c));
	c.stop_after = 1;
	lo.label_selector = NULL;
	assert_int_equal(
		hcr_kube_list(k, resource(d, "", "ConfigMap"), &lo, collect_item, &c, NULL, &err),
		HCR_OK);
	assert_int_equal(c.n, 1);
	assert_int_equal(srv.nlog, 1);
	hcr_kube_close(k);
	hcr_kube_discovery_free(d);
}

static void test_kube_client__list_all_namespaces_and_gone(void **state)
{
	hcr_kube_discovery *d = canned_table();
	struct collected c = {0};
	hcr_kube *k;
	hcr_error err;
	char *rv = NULL;

	(void)state;
	route("GET", "/apis/apps/v1/deployments?limit=500&continue=x", 1, 410,
	      "{\"kind\":\"Status\",\"reason\":\"Expired\",\"code\":410,\"message\":\"The provided "
	      "continue parameter is too old\"}");
	route("GET", "/apis/apps/v1/deployments?limit=500", 1, 200,
	      "{\"metadata\":{\"resourceVersion\":\"7\",\"continue\":\"x\"},\"items\":[]}");
	k = connect_test("team", NULL);
	/* The context's namespace does not narrow a list: NULL means all namespaces. */
	assert_int_equal(hcr_kube_list(k, resource(d, "apps", "Deployment"), NULL, collect_item, &c,
				       &rv, &err),
			 HCR_ECONFLICT);
	assert_null(rv);
	assert_string_equal(err.message,
			    "cannot list deployments.apps in all namespaces in cluster "
			    "\"test\": The provided continue parameter is too old");
	assert_contains(err.hint, "list again");
	hcr_kube_close(k);
	hcr_kube_discovery_free(d);
}

static void test_kube_client__get_and_namespaces(void **state)
{
	hcr_kube_discovery *d = canned_table();
	hcr_kube *k;
	hcr_error err;
	json_t *obj = NULL;

	(void)state;
	route("GET", "/api/v1/namespaces/team/configmaps/present", 0, 200,
	      "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"present\"},\"data\":{\"k\":\"v\"}"
	      "}");
	route("GET", "/api/v1/namespaces/prod", 0, 200, "{\"kind\":\"Namespace\"}");
	route("GET", "/api/v1/namespaces/team/configmaps/missing", 0, 404,
	      "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"code\":404,\"message\":\"configmaps "
	      "\\\"missing\\\" not found\",\"details\":{\"name\":\"missing\",\"kind\":"
	      "\"configmaps\"}}");
	k = connect_test("team", NULL);
	assert_int_equal(hcr_kube_get(&obj, k, resource(d, "", "ConfigMap"), NULL, "present", &err),
			 HCR_OK);
	assert_string_equal(json_string_value(json_object_get(json_object_get(obj, "data"), "k")),
			    "v");
	json_decref(obj);
	/* Cluster-scoped: the namespace is ignored. */
	assert_int_equal(hcr_kube_get(&obj, k, resource(d, "", "Namespace"), "team", "prod", &err),
			 HCR_OK);
	json_decref(obj);
	assert_int_equal(hcr_kube_get(&obj, k, resource(d, "", "ConfigMap"), NULL, "missing", &err),
			 HCR_ENOTFOUND);
	assert_null(obj);
	assert_string_equal(err.message, "cannot get ConfigMap team/missing in cluster \"test\": "
					 "configmaps \"missing\" not found");
	hcr_kube_close(k);

	/* No namespace anywhere: "default", as kubectl. */
	log_reset();
	k = connect_test(NULL, NULL);
	assert_int_equal(hcr_kube_get(&obj, k, resource(d, "", "ConfigMap"), NULL, "x", &err),
			 HCR_ENOTFOUND);
	assert_string_equal(srv.log[0].path, "/api/v1/namespaces/default/configmaps/x");
	hcr_kube_close(k);
	hcr_kube_discovery_free(d);
}

static void test_kube_client__writes(void **state)
{
	hcr_kube_discovery *d = canned_table();
	const hcr_kube_resource *cm = resource(d, "", "ConfigMap");
	hcr_kube_write_opts dry = {.dry_run = true};
	hcr_kube_delete_opts del = {.uid = "u-1",
				    .resource_version = "9",
				    .propagation_policy = "Foreground",
				    .has_grace_period = true,
				    .grace_period_s = 0};
	json_t *obj = test_json("{'metadata':{'name':'web','namespace':'prod'},'data':{'a':'1'}}");
	json_t *patch = test_json("{'data':{'a':null}}"), *out = NULL, *sent;
	hcr_kube *k;
	hcr_error err;

	(void)state;
	route("POST", "/api/v1/namespaces/prod/configmaps?dryRun=All&fieldManager=hcr", 1, 201,
	      "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"web\",\"uid\":\"u-1\"}}");
	route("POST", "/api/v1/namespaces/prod/configmaps?fieldManager=hcr", 1, 409,
	      "{\"kind\":\"Status\",\"reason\":\"AlreadyExists\",\"code\":409,\"message\":"
	      "\"configmaps \\\"web\\\" already exists\"}");
	route("PUT", "/api/v1/namespaces/prod/configmaps/web?fieldManager=mgr", 1, 200, "{}");
	route("PATCH", "/api/v1/namespaces/prod/configmaps/web?fieldManager=hcr", 1, 200, "{}");
	route("DELETE", "/api/v1/namespaces/prod/configmaps/web", 1, 200,
	      "{\"kind\":\"Status\",\"status\":\"Success\"}");
	k = connect_test(NULL, NULL);

	assert_int_equal(hcr_kube_create(&out, k, cm, NULL, obj, &dry, &err), HCR_OK);
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(out, "metadata"), "uid")), "u-1");
	json_decref(out);
	sent = test_json(srv.log[0].body);
	/* apiVersion and kind are filled in, on a copy. */
	assert_string_equal(json_string_value(json_object_get(sent, "apiVersion")), "v1");
	assert_string_equal(json_string_value(json_object_get(sent, "kind")), "ConfigMap");
	assert_null(json_object_get(obj, "kind"));
	assert_string_equal(srv.log[0].content_type, "application/json");
	json_decref(sent);

	assert_int_equal(hcr_kube_create(NULL, k, cm, NULL, obj, NULL, &err), HCR_ECONFLICT);
	assert_string_equal(err.message, "cannot create ConfigMap prod/web in cluster \"test\": "
					 "configmaps \"web\" already exists");

	/* An update needs the resourceVersion it was read at: nothing is sent without. */
	assert_int_equal(hcr_kube_update(NULL, k, cm, NULL, obj, NULL, &err), HCR_EINVALID);
	assert_contains(err.message, "no metadata.name or no metadata.resourceVersion");
	assert_int_equal(srv.nlog, 2);
	json_object_set_new(json_object_get(obj, "metadata"), "resourceVersion", json_string("9"));
	dry.dry_run = false;
	dry.field_manager = "mgr";
	assert_int_equal(hcr_kube_update(NULL, k, cm, NULL, obj, &dry, &err), HCR_OK);
	assert_string_equal(srv.log[2].method, "PUT");

	assert_int_equal(hcr_kube_patch(NULL, k, cm, "prod", "web", patch, NULL, &err), HCR_OK);
	assert_string_equal(srv.log[3].content_type, "application/merge-patch+json");
	assert_string_equal(srv.log[3].body, "{\"data\":{\"a\":null}}");

	assert_int_equal(hcr_kube_delete(&out, k, cm, "prod", "web", &del, &err), HCR_OK);
	json_decref(out);
	sent = test_json(srv.log[4].body);
	assert_string_equal(json_string_value(json_object_get(sent, "propagationPolicy")),
			    "Foreground");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(sent, "preconditions"), "uid")),
		"u-1");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(sent, "preconditions"), "resourceVersion")),
			    "9");
	assert_int_equal(json_integer_value(json_object_get(sent, "gracePeriodSeconds")), 0);
	assert_null(json_object_get(sent, "dryRun"));
	json_decref(sent);
	hcr_kube_close(k);
	json_decref(obj);
	json_decref(patch);
	hcr_kube_discovery_free(d);
}

static void test_kube_client__retries(void **state)
{
	hcr_kube_discovery *d = canned_table();
	struct route *r;
	hcr_kube *k;
	hcr_error err;
	json_t *out = NULL, *obj;

	(void)state;
	route("GET", "/version", 2, 429, "{\"kind\":\"Status\",\"reason\":\"TooManyRequests\"}");
	r = &srv.routes[srv.nroutes - 1];
	r->headers = "Retry-After: 0\r\n";
	route("GET", "/version", 1, 200, "{\"gitVersion\":\"v1.32.4\"}");
	route("GET", "/healthz", 0, 503, "{}");
	k = connect_test(NULL, NULL);
	assert_int_equal(hcr_kube_get_path(&out, k, "/version", &err), HCR_OK);
	assert_string_equal(json_string_value(json_object_get(out, "gitVersion")), "v1.32.4");
	json_decref(out);
	assert_int_equal(srv.nlog, 3);
	/* 503 without Retry-After: three retries (waits capped at 50 ms here), then the error. */
	assert_int_equal(hcr_kube_get_path(&out, k, "/healthz", &err), HCR_EUPSTREAM);
	assert_int_equal(srv.nlog, 7);
	assert_string_equal(err.message, "cannot get /healthz in cluster \"test\": the server "
					 "answered HTTP 503");
	/* A write answered 503 without Retry-After may have been applied: no retry. */
	obj = test_json("{'metadata':{'name':'x'}}");
	route("POST", "/api/v1/namespaces/default/configmaps", 0, 503, "{}");
	assert_int_equal(hcr_kube_create(NULL, k, hcr_kube_discovery_find_kind(d, "", "ConfigMap"),
					 NULL, obj, NULL, &err),
			 HCR_EUPSTREAM);
	assert_int_equal(srv.nlog, 8);
	json_decref(obj);
	hcr_kube_discovery_free(d);
	hcr_kube_close(k);
}

static void test_kube_client__token_file_renewed_after_401(void **state)
{
	char path[] = "/tmp/hcr-kube-token-XXXXXX";
	int fd = mkstemp(path);
	hcr_kube_context *c = hcr_calloc(1, sizeof(*c));
	hcr_kube *k = NULL;
	hcr_error err;
	json_t *out = NULL;
	struct route *r;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "new-token\n", 10), 10);
	close(fd);
	route("GET", "/version", 0, 200, "{}");
	r = &srv.routes[srv.nroutes - 1];
	r->auth = "Bearer new-token";
	route("GET", "/version", 0, 401,
	      "{\"kind\":\"Status\",\"reason\":\"Unauthorized\",\"code\":401,\"message\":"
	      "\"Unauthorized\"}");
	c->name = hcr_strdup("test");
	c->server = hcr_sprintf("http://127.0.0.1:%d", srv.port);
	c->token = hcr_strdup("old-token"); /* as read when the connection opened */
	c->token_file = hcr_strdup(path);
	assert_int_equal(hcr_kube_open_context(&k, c, NULL, &err), HCR_OK);
	assert_int_equal(hcr_kube_get_path(&out, k, "/version", &err), HCR_OK);
	json_decref(out);
	assert_int_equal(srv.nlog, 2);
	assert_string_equal(srv.log[0].auth, "Bearer old-token");
	assert_string_equal(srv.log[1].auth, "Bearer new-token");
	hcr_kube_close(k);
	unlink(path);

	/* A static token refused: no retry, a hint. */
	k = connect_test(NULL, "stale");
	assert_int_equal(hcr_kube_get_path(&out, k, "/version", &err), HCR_EDENIED);
	assert_int_equal(srv.nlog, 3);
	assert_string_equal(err.code, HCR_ERR_UNAUTHORIZED);
	assert_contains(err.hint, "credentials of cluster \"test\" were refused");
	assert_null(strstr(err.message, "stale"));
	hcr_kube_close(k);
}

static void test_kube_client__exec_renewed_after_401(void **state)
{
	char dir[] = "/tmp/hcr-kube-plugin-XXXXXX", *script, *counter, *cmd;
	hcr_kube_context *c = hcr_calloc(1, sizeof(*c));
	hcr_kube_exec_config *x = hcr_calloc(1, sizeof(*x));
	hcr_kube *k = NULL;
	hcr_error err;
	json_t *out = NULL;
	struct route *r;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	script = hcr_sprintf("%s/plugin", dir);
	counter = hcr_sprintf("%s/n", dir);
	f = fopen(script, "w");
	fprintf(f,
		"#!/bin/sh\nn=$(cat %s 2>/dev/null || echo 0)\necho $((n + 1)) > %s\n"
		"echo '{\"kind\":\"ExecCredential\",\"apiVersion\":"
		"\"client.authentication.k8s.io/v1\",\"status\":{\"token\":\"run-'$n'\"}}'\n",
		counter, counter);
	fclose(f);
	chmod(script, 0755);
	route("GET", "/version", 0, 200, "{}");
	r = &srv.routes[srv.nroutes - 1];
	r->auth = "Bearer run-1";
	route("GET", "/version", 0, 401, "{\"kind\":\"Status\",\"reason\":\"Unauthorized\"}");
	c->name = hcr_strdup("test");
	c->user = hcr_strdup("u");
	c->server = hcr_sprintf("http://127.0.0.1:%d", srv.port);
	c->exec = x;
	x->api_version = hcr_strdup("client.authentication.k8s.io/v1");
	x->command = script;
	x->args = hcr_calloc(1, sizeof(char *));
	x->env = hcr_calloc(1, sizeof(char *));
	assert_int_equal(hcr_kube_open_context(&k, c, NULL, &err), HCR_OK);
	assert_int_equal(hcr_kube_get_path(&out, k, "/version", &err), HCR_OK);
	json_decref(out);
	assert_int_equal(srv.nlog, 2);
	assert_string_equal(srv.log[0].auth, "Bearer run-0");
	assert_string_equal(srv.log[1].auth, "Bearer run-1");
	hcr_kube_close(k);
	cmd = hcr_sprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(counter);
}

static void test_kube_client__basic_auth_and_server_name(void **state)
{
	hcr_kube_context *c = hcr_calloc(1, sizeof(*c));
	hcr_kube *k = NULL;
	hcr_error err;
	json_t *out = NULL;
	char host[64];

	(void)state;
	route("GET", "/version", 0, 200, "{}");
	c->name = hcr_strdup("test");
	c->server = hcr_sprintf("http://127.0.0.1:%d/prefix/", srv.port);
	c->server[strlen(c->server) - 1] = '\0';
	c->username = hcr_strdup("admin");
	c->password = hcr_strdup("pw");
	c->tls_server_name = hcr_strdup("api.internal");
	assert_int_equal(hcr_kube_open_context(&k, c, NULL, &err), HCR_OK);
	route("GET", "/prefix/version", 0, 200, "{}");
	assert_int_equal(hcr_kube_get_path(&out, k, "/version", &err), HCR_OK);
	json_decref(out);
	assert_string_equal(srv.log[0].path, "/prefix/version");
	assert_string_equal(srv.log[0].auth, "Basic YWRtaW46cHc=");
	/* tls-server-name: the request names that host; it connects to the real one. */
	snprintf(host, sizeof(host), "api.internal:%d", srv.port);
	assert_string_equal(srv.log[0].host, host);
	hcr_kube_close(k);
}

/* ---- watch --------------------------------------------------------------------------- */

struct events {
	int n, stop_after;
	hcr_kube_event_type types[8];
	char names[8][16];
};

static int on_event(hcr_kube_event_type type, json_t *obj, void *payload)
{
	struct events *e = payload;
	const char *name =
		json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));

	e->types[e->n % 8] = type;
	snprintf(e->names[e->n % 8], 16, "%s", name ? name : "");
	e->n++;
	return e->stop_after && e->n >= e->stop_after;
}

#define EV(type, name, rv)                                                                 \
	"{\"type\":\"" type "\",\"object\":{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\"," \
	"\"metadata\":{\"name\":\"" name "\",\"resourceVersion\":\"" rv "\"}}}\n"

static void test_kube_client__watch(void **state)
{
	hcr_kube_discovery *d = canned_table();
	hcr_kube_watch_opts wo = {.ns = "web", .resource_version = "10", .timeout_s = 5};
	hcr_kube_watch_end end;
	struct events e = {0};
	struct route *r;
	hcr_kube *k;
	hcr_error err;

	(void)state;
	route("GET", "/api/v1/namespaces/web/configmaps?watch=1", 1, 200,
	      EV("ADDED", "a", "11")
		      EV("MODIFIED", "a", "12") "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":"
						"\"ConfigMap\",\"metadata\":{"
						"\"resourceVersion\":\"15\"}}}\n" EV("DELETED", "a",
										     "16"));
	r = &srv.routes[srv.nroutes - 1];
	r->chunked = true;
	k = connect_test(NULL, NULL);
	assert_int_equal(
		hcr_kube_watch(k, resource(d, "", "ConfigMap"), &wo, on_event, &e, &end, &err),
		HCR_OK);
	assert_string_equal(srv.log[0].path, "/api/v1/namespaces/web/configmaps?watch=1&"
					     "allowWatchBookmarks=true&timeoutSeconds=5&"
					     "resourceVersion=10");
	assert_int_equal(e.n, 4);
	assert_int_equal(e.types[0], HCR_KUBE_ADDED);
	assert_int_equal(e.types[1], HCR_KUBE_MODIFIED);
	assert_int_equal(e.types[2], HCR_KUBE_BOOKMARK);
	assert_int_equal(e.types[3], HCR_KUBE_DELETED);
	assert_string_equal(e.names[3], "a");
	assert_int_equal(end.events, 4);
	assert_false(end.expired);
	assert_string_equal(end.resource_version, "16");
	free(end.resource_version);

	/* The callback ends it after the first event. */
	route("GET", "/api/v1/namespaces/web/configmaps?watch=1", 1, 200,
	      EV("ADDED", "a", "11") EV("ADDED", "b", "12"));
	srv.routes[srv.nroutes - 1].chunked = true;
	memset(&e, 0, sizeof(e));
	e.stop_after = 1;
	assert_int_equal(
		hcr_kube_watch(k, resource(d, "", "ConfigMap"), &wo, on_event, &e, &end, &err),
		HCR_OK);
	assert_int_equal(e.n, 1);
	assert_string_equal(end.resource_version, "11");
	free(end.resource_version);
	hcr_kube_close(k);
	hcr_kube_discovery_free(d);
}

struct cancel {
	int asked;
	struct timespec at; /* answer true from this time on */
};

static bool cancel_after(void *arg)
{
	struct cancel *c = arg;
	struct timespec now;

	c->asked++;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > c->at.tv_sec ||
	       (now.tv_sec == c->at.tv_sec && now.tv_nsec >= c->at.tv_nsec);
}

/* A quiet watch ends when its owner cancels it, not at the server's timeout. */
static void test_kube_client__watch_cancelled(void **state)
{
	hcr_kube_discovery *d = canned_table();
	struct cancel c = {0};
	hcr_kube_watch_opts wo = {
		.ns = "web", .timeout_s = 30, .cancelled = cancel_after, .cancel_arg = &c};
	hcr_kube_watch_end end;
	struct events e = {0};
	struct timespec t0, t1;
	hcr_kube *k;
	hcr_error err;
	double secs;

	(void)state;
	route("GET", "/api/v1/namespaces/web/configmaps?watch=1", 1, 200, EV("ADDED", "a", "11"));
	srv.routes[srv.nroutes - 1].chunked = true;
	srv.routes[srv.nroutes - 1].hang_ms = 20000;
	k = connect_test(NULL, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c.at = t0;
	c.at.tv_sec += 2; /* the event arrives first; then the stream stays quiet */
	assert_int_equal(
		hcr_kube_watch(k, resource(d, "", "ConfigMap"), &wo, on_event, &e, &end, &err),
		HCR_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_int_equal(e.n, 1);
	assert_string_equal(end.resource_version, "11");
	assert_true(c.asked >= 2);
	assert_true(secs >= 1.9 && secs < 10.0); /* not the 20 s the server would hold it */
	free(end.resource_version);
	hcr_kube_close(k);
	hcr_kube_discovery_free(d);
}

static void test_kube_client__watch_expired(void **state)
{
	hcr_kube_discovery *d = canned_table();
	hcr_kube_watch_opts wo = {.resource_version = "1", .no_bookmarks = true};
	hcr_kube_watch_end end;
	struct events e = {0};
	hcr_kube *k;
	hcr_error err;

	(void)state;
	/* An ERROR event with a 410 Status in the stream. */
	route("GET", "/api/v1/configmaps?watch=1&timeoutSeconds=300&resourceVersion=1", 1, 200,
	      EV("ADDED", "a", "5") "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
				    "\"apiVersion\":\"v1\",\"status\":\"Failure\",\"message\":"
				    "\"too old resource version: 1 (20)\",\"reason\":\"Expired\","
				    "\"code\":410}}\n" EV("ADDED", "never", "6"));
	srv.routes[srv.nroutes - 1].chunked = true;
	/* And a plain 410 answer. */
	route("GET", "/api/v1/configmaps?watch=1", 1, 410,
	      "{\"kind\":\"Status\",\"reason\":\"Gone\",\"code\":410,\"message\":\"gone\"}");
	route("GET", "/api/v1/configmaps?watch=1", 1, 403,
	      "{\"kind\":\"Status\",\"reason\":\"Forbidden\",\"code\":403,\"message\":\"configmaps "
	      "is forbidden: User \\\"bob\\\" cannot watch resource \\\"configmaps\\\"\"}");
	k = connect_test(NULL, NULL);
	assert_int_equal(
		hcr_kube_watch(k, resource(d, "", "ConfigMap"), &wo, on_event, &e, &end, &err),
		HCR_ECONFLICT);
	assert_true(end.expired);
	assert_int_equal(e.n, 1);
	assert_int_equal(end.events, 1);
	assert_string_equal(end.resource_version, "5");
	free(end.resource_version);
	assert_string_equal(err.message, "cannot watch configmaps in all namespaces in cluster "
					 "\"test\": too old resource version: 1 (20)");
	assert_contains(err.hint, "list again");

	assert_int_equal(
		hcr_kube_watch(k, resource(d, "", "ConfigMap"), &wo, on_event, &e, &end, &err),
		HCR_ECONFLICT);
	assert_true(end.expired);
	assert_null(end.resource_version);

	assert_int_equal(
		hcr_kube_watch(k, resource(d, "", "ConfigMap"), &wo, on_event, &e, &end, &err),
		HCR_EDENIED);
	assert_false(end.expired);
	assert_contains(err.hint, "'watch' on configmaps in all namespaces");
	hcr_kube_close(k);
	hcr_kube_discovery_free(d);
}

static void test_kube_client__connection_refused(void **state)
{
	hcr_kube_context *c = hcr_calloc(1, sizeof(*c));
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	hcr_kube *k = NULL;
	hcr_error err;
	json_t *out = NULL;
	char *want;

	(void)state;
	/* A port that was just free: nobody listens there. */
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	close(fd);
	c->name = hcr_strdup("gone");
	c->server = hcr_sprintf("http://127.0.0.1:%d", ntohs(a.sin_port));
	assert_int_equal(hcr_kube_open_context(&k, c, NULL, &err), HCR_OK);
	assert_int_equal(hcr_kube_get_path(&out, k, "/version", &err), HCR_EUPSTREAM);
	want = hcr_sprintf("cannot connect to cluster \"gone\" (http://127.0.0.1:%d)",
			   ntohs(a.sin_port));
	assert_string_equal(err.message, want);
	assert_contains(err.hint, "reachable");
	assert_true(err.detail[0] != '\0');
	free(want);
	hcr_kube_close(k);
}

/* Each test gets a fresh server (routes and log). */
#define T(f) cmocka_unit_test_setup_teardown(f, server_setup, server_stop)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kube_client__discovery_table),
		cmocka_unit_test(test_kube_client__resolve_names),
		cmocka_unit_test(test_kube_client__status_errors),
		cmocka_unit_test(test_kube_client__open_creds),
		T(test_kube_client__discover_over_http),
		T(test_kube_client__list_pages),
		T(test_kube_client__list_all_namespaces_and_gone),
		T(test_kube_client__get_and_namespaces),
		T(test_kube_client__writes),
		T(test_kube_client__retries),
		T(test_kube_client__token_file_renewed_after_401),
		T(test_kube_client__exec_renewed_after_401),
		T(test_kube_client__basic_auth_and_server_name),
		T(test_kube_client__watch),
		T(test_kube_client__watch_cancelled),
		T(test_kube_client__watch_expired),
		T(test_kube_client__connection_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
