/*
 * The Kubernetes API client of the sync worker and the CLI: kubeconfig files,
 * exec credential plugins, discovery, and the verbs (list, get, create,
 * update, patch, delete, watch) with Kubernetes' Status errors turned into
 * hcr_error. docs/sync/kube-client.md says what it supports and what not.
 *
 * The client is synchronous: every call blocks its thread until the answer
 * (or the timeout) arrives. One connection (hcr_kube) is used by one thread
 * at a time; any number of connections may be used at once from different
 * threads. libcurl's global state is initialised once per process by
 * hcr_kube_open (pthread_once; libcurl >= 7.84 makes curl_global_init itself
 * thread-safe too) and never cleaned up.
 *
 * Secrets (tokens, passwords, private keys, exec credentials) are never
 * logged nor put into an hcr_error, and are wiped when hcr frees them.
 *
 * Ownership: functions say whether a json_t they take or return is *new*,
 * *borrowed* or *stolen* (jansson's words); strings and structs returned
 * through `out` are new unless the comment says borrowed.
 */
#ifndef HCR_KUBE_H
#define HCR_KUBE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "hcr/error.h"

/* ---- kubeconfig ----------------------------------------------------------------------- */

typedef struct hcr_kubeconfig hcr_kubeconfig;

/*
 * Loads the kubeconfig file `path` (YAML or JSON). Only the file's shape is
 * checked here (mappings and lists where the format has them); what a context
 * needs (its cluster, user, files, base64) is checked by
 * hcr_kubeconfig_resolve, so a broken entry does not spoil the others.
 * Relative file paths in the file resolve against the file's directory.
 * Errors name the path. Free with hcr_kubeconfig_free.
 */
int hcr_kubeconfig_load(hcr_kubeconfig **out, const char *path, hcr_error *err);

/*
 * As hcr_kubeconfig_load, from `len` bytes of text. `origin` names the text in
 * messages (e.g. "kubeconfig from provider"; may be NULL); relative paths
 * resolve against `base_dir` (NULL: the current directory).
 */
int hcr_kubeconfig_parse(hcr_kubeconfig **out, const char *text, size_t len, const char *origin,
			 const char *base_dir, hcr_error *err);

/*
 * Loads what kubectl would: every file of $KUBECONFIG (a ':'-separated list;
 * missing files skipped; the first file to define a name wins, the first
 * current-context wins), or ~/.kube/config when KUBECONFIG is unset or empty.
 * Fails when no file can be read.
 */
int hcr_kubeconfig_load_default(hcr_kubeconfig **out, hcr_error *err);

/*
 * Frees and wipes. NULL is ignored. A loaded kubeconfig is never changed
 * afterwards: threads may resolve and open contexts of one kubeconfig at
 * the same time.
 */
void hcr_kubeconfig_free(hcr_kubeconfig *kc);

/* The file's path (the first file's when merged), borrowed. */
const char *hcr_kubeconfig_path(const hcr_kubeconfig *kc);
/* The current-context, borrowed; NULL when the file has none. */
const char *hcr_kubeconfig_current_context(const hcr_kubeconfig *kc);
/* The number of contexts, and the name of the i-th (borrowed), in file order. */
size_t hcr_kubeconfig_context_count(const hcr_kubeconfig *kc);
const char *hcr_kubeconfig_context_name(const hcr_kubeconfig *kc, size_t i);
/* Whether `kc` (may be NULL: false) has a context named `name`. */
bool hcr_kubeconfig_has_context(const hcr_kubeconfig *kc, const char *name);

/* One exec credential plugin, as configured (users[].user.exec). */
typedef struct hcr_kube_exec_config {
	char *api_version; /* client.authentication.k8s.io/v1 or /v1beta1 */
	char *command;     /* absolute when it had a '/'; else looked up on PATH */
	char **args;       /* nargs strings */
	size_t nargs;
	char **env; /* "NAME=value", nenv strings, added to hcr's environment */
	size_t nenv;
	char *install_hint;        /* may be NULL */
	bool provide_cluster_info; /* pass spec.cluster in KUBERNETES_EXEC_INFO */
	long timeout_ms;           /* the plugin is killed after this; default 60000 */
} hcr_kube_exec_config;

/*
 * A context resolved into everything a connection needs: the cluster's
 * address and TLS settings and the user's credentials, with files read and
 * base64 decoded. Every field is owned by the struct; secret fields are wiped
 * by hcr_kube_context_free. Built by hcr_kubeconfig_resolve or by hand (tests,
 * hcr_kube_open_creds).
 */
typedef struct hcr_kube_context {
	char *name;           /* the display name: the context's name, used in every message */
	char *cluster;        /* the cluster entry's name; may be NULL */
	char *user;           /* the user entry's name; may be NULL */
	char *origin;         /* the kubeconfig path (or other origin) for messages; may be NULL */
	char *namespace_name; /* the context's namespace; NULL when none */

	char *server; /* https://host:port[/prefix], without a trailing '/' */
	char *ca_pem; /* CA bundle (PEM), NUL-terminated; NULL: the system's CAs */
	size_t ca_len;
	bool insecure;         /* insecure-skip-tls-verify */
	char *tls_server_name; /* name to verify the server's certificate against; may be NULL */
	char *proxy_url;       /* may be NULL */

	/* Credentials: secret, wiped when freed. */
	char *token;      /* bearer token (from token or tokenFile) */
	char *token_file; /* path, re-read when the server answers 401 */
	char *cert_pem;   /* client certificate and key (PEM), NUL-terminated */
	size_t cert_len;
	char *key_pem;
	size_t key_len;
	char *username; /* basic authentication */
	char *password;
	hcr_kube_exec_config *exec; /* may be NULL */
} hcr_kube_context;

/*
 * Resolves `context` (NULL: the current-context) of `kc`. *out is new; free it
 * with hcr_kube_context_free. Fails (HCR_EINVALID, or HCR_ERROR for files that
 * cannot be read) with a message naming the kubeconfig, the context and the
 * cluster or user at fault: a missing context, cluster or user, a server that
 * is not http(s), an unreadable certificate or token file, bad base64 or
 * PEM, a certificate without its key, an unsupported auth-provider or exec
 * apiVersion. The exec plugin is not run here.
 */
int hcr_kubeconfig_resolve(hcr_kube_context **out, const hcr_kubeconfig *kc, const char *context,
			   hcr_error *err);

/* Frees `c` and wipes its secrets. NULL is ignored. */
void hcr_kube_context_free(hcr_kube_context *c);

/* ---- exec credential plugins (src/kube_exec.c) ---------------------------------------- */

/* What an exec plugin returned (ExecCredential.status). Secret: clear it. */
typedef struct hcr_kube_exec_credential {
	char *token;    /* may be NULL when a certificate is given */
	char *cert_pem; /* clientCertificateData; NULL or with key_pem */
	size_t cert_len;
	char *key_pem;
	size_t key_len;
	time_t expires; /* expirationTimestamp; 0 when the plugin gave none */
} hcr_kube_exec_credential;

/*
 * Runs the plugin of `ctx->exec` (ctx gives the names for messages and the
 * cluster for KUBERNETES_EXEC_INFO) and parses its ExecCredential into *out
 * (new; clear with hcr_kube_exec_credential_clear, also after a failure).
 * The command runs with hcr's environment plus the plugin's env and
 * KUBERNETES_EXEC_INFO, stdin from /dev/null, stdout captured (the
 * credential), stderr captured (for the error's detail), and is killed after
 * timeout_ms. Failures: the command is not found (HCR_EINVALID, hint: the
 * installHint), exits non-zero or dies (HCR_EDENIED, its stderr in detail),
 * times out (HCR_EUPSTREAM), prints something that is not an ExecCredential
 * of the configured apiVersion with a token or a certificate and key
 * (HCR_ERROR; the output itself is never quoted).
 */
int hcr_kube_exec_run(hcr_kube_exec_credential *out, const hcr_kube_context *ctx, hcr_error *err);

/*
 * As hcr_kube_exec_run, through a process-wide cache keyed by the plugin's
 * configuration (command, args, env, apiVersion, and the cluster when
 * provideClusterInfo is set): the plugin runs again only when the cached
 * credential expires within a margin (a quarter of its lifetime, at most 60 s),
 * or after hcr_kube_exec_invalidate. Thread-safe; two threads needing the same
 * credential run the plugin once.
 */
int hcr_kube_exec_get(hcr_kube_exec_credential *out, const hcr_kube_context *ctx, hcr_error *err);

/* Drops the cached credential of ctx's plugin (after the server refused it). */
void hcr_kube_exec_invalidate(const hcr_kube_context *ctx);

/* Drops and wipes every cached credential (tests; process exit). */
void hcr_kube_exec_cache_clear(void);

/* Wipes and frees the fields of `c` (not `c` itself). */
void hcr_kube_exec_credential_clear(hcr_kube_exec_credential *c);

/*
 * Parses an ExecCredential document of `len` bytes, as a plugin prints it,
 * checking its apiVersion against `api_version`. On failure `err` says what
 * is wrong without quoting the text. Exposed for tests.
 */
int hcr_kube_exec_parse(hcr_kube_exec_credential *out, const char *text, size_t len,
			const char *api_version, hcr_error *err);

/* ---- connections (src/kube_client.c) ------------------------------------------------- */

typedef struct hcr_kube hcr_kube;

typedef struct hcr_kube_opts {
	long connect_timeout_ms; /* default 10000 */
	long request_timeout_ms; /* whole request except watches; default 60000 */
	int max_retries; /* retries of a 429 / 503; default 3 (0 keeps the default; <0: none) */
	long max_retry_wait_ms;    /* longest Retry-After honoured; default 10000 */
	size_t max_response_bytes; /* one response (a list page); default 64 MiB */
	long list_page_size;       /* `limit` of list pages; default 500 */
	const char *user_agent;    /* default "hcr/<version>"; copied */
} hcr_kube_opts;

/*
 * Opens a connection to the cluster of `context` (NULL: current-context) of
 * `kc`. Resolves the context (see hcr_kubeconfig_resolve) and, when its user
 * has an exec plugin, obtains a credential from it (cached, see
 * hcr_kube_exec_get). No request is made. `opts` may be NULL. Close with
 * hcr_kube_close.
 */
int hcr_kube_open(hcr_kube **out, const hcr_kubeconfig *kc, const char *context,
		  const hcr_kube_opts *opts, hcr_error *err);

/*
 * Opens a connection from a provider's kube_credentials result (`creds`,
 * borrowed): {"server", "certificateAuthorityData" (base64 PEM, optional),
 * "token"}. `display_name` names the cluster in messages (e.g. "aks/prod-eu").
 */
int hcr_kube_open_creds(hcr_kube **out, const char *display_name, json_t *creds,
			const hcr_kube_opts *opts, hcr_error *err);

/* Opens a connection from a resolved context, which it *steals* (also on failure). */
int hcr_kube_open_context(hcr_kube **out, hcr_kube_context *ctx, const hcr_kube_opts *opts,
			  hcr_error *err);

/* Closes the connection and wipes its credentials. NULL is ignored. */
void hcr_kube_close(hcr_kube *k);

/* The display name (context or provider's name), borrowed. */
const char *hcr_kube_name(const hcr_kube *k);
/* The context's namespace, borrowed; NULL when it has none. */
const char *hcr_kube_namespace(const hcr_kube *k);
/* The API server's URL, borrowed. */
const char *hcr_kube_server(const hcr_kube *k);

/*
 * GETs `path` ("/version", "/apis/apps/v1", with its query if any) and
 * returns the JSON body in *out (new). Errors as for the verbs.
 */
int hcr_kube_get_path(json_t **out, hcr_kube *k, const char *path, hcr_error *err);

/* ---- discovery (src/kube_discovery.c) ------------------------------------------------ */

/* Verbs a resource supports (discovery's `verbs`), as bits. */
enum {
	HCR_KUBE_VERB_GET = 1 << 0,
	HCR_KUBE_VERB_LIST = 1 << 1,
	HCR_KUBE_VERB_WATCH = 1 << 2,
	HCR_KUBE_VERB_CREATE = 1 << 3,
	HCR_KUBE_VERB_UPDATE = 1 << 4,
	HCR_KUBE_VERB_PATCH = 1 << 5,
	HCR_KUBE_VERB_DELETE = 1 << 6,
	HCR_KUBE_VERB_DELETECOLLECTION = 1 << 7,
};

/* One resource type as the server describes it. All strings owned by the table. */
typedef struct hcr_kube_resource {
	const char *group;       /* "" for the core group */
	const char *version;     /* the group's preferred version */
	const char *api_version; /* "v1", "apps/v1" */
	const char *kind;        /* "Deployment" */
	const char *plural;      /* "deployments": the name in URLs, from the server */
	const char *singular;    /* "deployment"; may be "" (older servers) */
	bool namespaced;
	unsigned verbs;                 /* HCR_KUBE_VERB_* */
	const char *const *short_names; /* nshort strings: "deploy" */
	size_t nshort;
} hcr_kube_resource;

typedef struct hcr_kube_discovery hcr_kube_discovery;

/* A group/version whose discovery failed (reported, the rest is usable). */
typedef struct hcr_kube_discovery_failure {
	const char *group_version; /* "metrics.k8s.io/v1beta1" */
	hcr_error error;
} hcr_kube_discovery_failure;

/*
 * (Re)discovers the server's resources: GET /api, /api/v1, /apis and each
 * group's preferred version. A group/version that fails (an aggregated API
 * answering 503, say) is logged and listed by hcr_kube_discovery_failures;
 * the call fails only when /api or /apis fail. Resource pointers from an
 * earlier discovery stay valid until hcr_kube_close. Call it again after
 * creating a CRD; lookups that miss rediscover by themselves (see below).
 */
int hcr_kube_discover(hcr_kube *k, hcr_error *err);

/*
 * The current table, discovering first when there is none; NULL after a
 * failure (in `err`). Borrowed: valid until hcr_kube_close.
 */
const hcr_kube_discovery *hcr_kube_discovery_get(hcr_kube *k, hcr_error *err);

/*
 * Looks up a resource on the connection's table (discovering when needed).
 * A miss rediscovers once (if the table is older than 2 seconds: a CRD may
 * have been created) before failing with HCR_ENOTFOUND naming the cluster and
 * what was asked, and the failed group/versions in `detail` when there are any.
 * *out is borrowed, valid until hcr_kube_close.
 *
 *   by_kind: `group` ("" core, "apps") and `kind` ("Deployment"), exact
 *   resolve: a name as kubectl takes it on its command line: a plural,
 *            singular, kind or short name, case-insensitive, optionally
 *            followed by ".group" or ".version.group" ("deploy",
 *            "deployments.apps", "ConfigMap", "cronjobs.v1.batch"). Short
 *            names are tried first, then plural, singular and kind; among
 *            groups, the server's order decides (the core group first), as
 *            kubectl does.
 */
int hcr_kube_resource_by_kind(const hcr_kube_resource **out, hcr_kube *k, const char *group,
			      const char *kind, hcr_error *err);
int hcr_kube_resource_resolve(const hcr_kube_resource **out, hcr_kube *k, const char *name,
			      hcr_error *err);

/* The discovery table alone, without a connection (built from canned JSON in tests). */
hcr_kube_discovery *hcr_kube_discovery_new(void);
void hcr_kube_discovery_free(hcr_kube_discovery *d);
/*
 * Adds a group/version's APIResourceList (`list`, borrowed) in server order.
 * Subresources ("deployments/scale") are skipped. HCR_EINVALID when `list` is
 * not an APIResourceList.
 */
int hcr_kube_discovery_add(hcr_kube_discovery *d, const char *group, const char *version,
			   json_t *list, hcr_error *err);
/* Records a group/version that could not be discovered (`error` is copied). */
void hcr_kube_discovery_add_failure(hcr_kube_discovery *d, const char *group_version,
				    const hcr_error *error);
/* Resources in server order (borrowed), and failures. */
const hcr_kube_resource *hcr_kube_discovery_resources(const hcr_kube_discovery *d, size_t *n);
const hcr_kube_discovery_failure *hcr_kube_discovery_failures(const hcr_kube_discovery *d,
							      size_t *n);
/* Lookups on a table: NULL when nothing matches (see hcr_kube_resource_resolve). */
const hcr_kube_resource *hcr_kube_discovery_find_kind(const hcr_kube_discovery *d,
						      const char *group, const char *kind);
const hcr_kube_resource *hcr_kube_discovery_find_plural(const hcr_kube_discovery *d,
							const char *group, const char *plural);
const hcr_kube_resource *hcr_kube_discovery_resolve(const hcr_kube_discovery *d, const char *name);

/* ---- verbs (src/kube_verbs.c, src/kube_watch.c) -------------------------------------- */

/*
 * Namespaces: for a namespaced resource, `ns` NULL means the object's
 * metadata.namespace (writes), else the context's namespace, else "default"
 * (as kubectl does). For cluster-scoped resources `ns` is ignored.
 *
 * Errors: a Kubernetes Status becomes an hcr_error whose message names the
 * verb, the object ("Deployment web/api") and the cluster, followed by the
 * API's own message; `detail` has the reason and HTTP status and, for
 * Invalid, every cause (field: message); `hint` says what to do where hcr
 * can tell. Statuses: NotFound -> HCR_ENOTFOUND; AlreadyExists, Conflict,
 * Gone (410) -> HCR_ECONFLICT; Invalid, BadRequest and other 4xx ->
 * HCR_EINVALID; Unauthorized, Forbidden -> HCR_EDENIED; 429, 5xx and transport
 * failures -> HCR_EUPSTREAM. 429 and 503 are retried (max_retries, honouring
 * Retry-After up to max_retry_wait_ms) before they are reported, except a 503
 * without Retry-After on a write (a proxy may have passed the write on); a
 * 401 with an exec plugin or a tokenFile gets a fresh credential and one more
 * try. Transport failures are never retried here.
 */

typedef struct hcr_kube_write_opts {
	bool dry_run;              /* ?dryRun=All: the server checks, stores nothing */
	const char *field_manager; /* ?fieldManager=; default "hcr" */
} hcr_kube_write_opts;

typedef struct hcr_kube_delete_opts {
	bool dry_run;
	const char *uid;                /* preconditions.uid; may be NULL */
	const char *resource_version;   /* preconditions.resourceVersion; may be NULL */
	const char *propagation_policy; /* "Foreground", "Background", "Orphan"; may be NULL */
	bool has_grace_period;          /* else the object's own grace period */
	long grace_period_s;            /* 0: delete at once */
} hcr_kube_delete_opts;

/* GET one object. *out: new. */
int hcr_kube_get(json_t **out, hcr_kube *k, const hcr_kube_resource *r, const char *ns,
		 const char *name, hcr_error *err);

/*
 * POST `obj` (borrowed; apiVersion and kind are filled in when missing, on a
 * copy). *out: new, the object as stored (or as it would be, with dry_run);
 * `out` may be NULL.
 */
int hcr_kube_create(json_t **out, hcr_kube *k, const hcr_kube_resource *r, const char *ns,
		    json_t *obj, const hcr_kube_write_opts *o, hcr_error *err);

/*
 * PUT `obj` (borrowed) at its metadata.name. metadata.resourceVersion must be
 * set (HCR_EINVALID otherwise): an update never overwrites blindly. A stale
 * resourceVersion fails with HCR_ECONFLICT.
 */
int hcr_kube_update(json_t **out, hcr_kube *k, const hcr_kube_resource *r, const char *ns,
		    json_t *obj, const hcr_kube_write_opts *o, hcr_error *err);

/* PATCH `name` with a JSON merge patch (RFC 7386; `patch` borrowed). */
int hcr_kube_patch(json_t **out, hcr_kube *k, const hcr_kube_resource *r, const char *ns,
		   const char *name, json_t *patch, const hcr_kube_write_opts *o, hcr_error *err);

/*
 * DELETE `name`. `o` may be NULL. *out (may be NULL): new, what the server
 * answered (the object while finalizers run, or a Status).
 */
int hcr_kube_delete(json_t **out, hcr_kube *k, const hcr_kube_resource *r, const char *ns,
		    const char *name, const hcr_kube_delete_opts *o, hcr_error *err);

typedef struct hcr_kube_list_opts {
	const char *ns;             /* NULL or "": all namespaces (unlike the other verbs) */
	const char *label_selector; /* may be NULL */
	const char *field_selector; /* may be NULL */
	long page_size;             /* 0: the connection's list_page_size */
} hcr_kube_list_opts;

/*
 * Called once per listed object (`item` borrowed, valid during the call; its
 * apiVersion and kind are set, which list responses leave out). Return 0 to
 * go on, anything else to stop the list (hcr_kube_list then returns HCR_OK).
 */
typedef int (*hcr_kube_item_cb)(json_t *item, void *payload);

/*
 * Lists `r` page by page (limit / continue), calling `cb` for each object:
 * only one page is held at a time. `o` may be NULL. *resource_version (may be
 * NULL) receives the list's resourceVersion (new string), to start a watch
 * from. A continue token that expired fails with HCR_ECONFLICT (list again).
 */
int hcr_kube_list(hcr_kube *k, const hcr_kube_resource *r, const hcr_kube_list_opts *o,
		  hcr_kube_item_cb cb, void *payload, char **resource_version, hcr_error *err);

typedef enum {
	HCR_KUBE_ADDED,
	HCR_KUBE_MODIFIED,
	HCR_KUBE_DELETED,
	HCR_KUBE_BOOKMARK, /* only metadata.resourceVersion is meaningful */
} hcr_kube_event_type;

/*
 * Called once per event (`object` borrowed), from inside the transfer: it
 * must not use the same connection (another one is fine). Return non-zero to
 * end the watch.
 */
typedef int (*hcr_kube_event_cb)(hcr_kube_event_type type, json_t *object, void *payload);

typedef struct hcr_kube_watch_opts {
	const char *ns;               /* NULL or "": all namespaces */
	const char *label_selector;   /* may be NULL */
	const char *field_selector;   /* may be NULL */
	const char *resource_version; /* from a list or an earlier watch; NULL: "now" */
	long timeout_s;               /* the server ends the watch after this; default 300 */
	bool no_bookmarks;            /* do not ask for BOOKMARK events */
	/*
	 * May be NULL. Asked often while the watch is open (at least once a
	 * second, even when no event arrives; called on the watching thread):
	 * true ends the watch at once, as HCR_OK (a worker that is stopping need
	 * not wait for the server's timeoutSeconds).
	 */
	bool (*cancelled)(void *arg);
	void *cancel_arg;
} hcr_kube_watch_opts;

/* What a watch ended with. */
typedef struct hcr_kube_watch_end {
	char *resource_version; /* the last seen (object or bookmark); new, may be NULL */
	bool expired;           /* 410 Gone: list again, then watch from the list's version */
	size_t events;          /* events delivered */
} hcr_kube_watch_end;

/*
 * Watches `r` (?watch=1), parsing the stream of JSON events as it arrives and
 * calling `cb` for each. Returns HCR_OK when the server ends the watch
 * (timeout_s) or `cb` stops it; then watch again from end->resource_version.
 * An expired resourceVersion (HTTP 410 or an ERROR event with code 410)
 * returns HCR_ECONFLICT with end->expired set. Other ERROR events and
 * failures return as the verbs do. `end` may be NULL; free its string with
 * free().
 */
int hcr_kube_watch(hcr_kube *k, const hcr_kube_resource *r, const hcr_kube_watch_opts *o,
		   hcr_kube_event_cb cb, void *payload, hcr_kube_watch_end *end, hcr_error *err);

/* ---- errors (src/kube_status.c) ------------------------------------------------------- */

/*
 * Fills `err` from a Kubernetes answer: HTTP `http_status` and `body` (a
 * Status or anything else; borrowed, may be NULL). `cluster` is the display name, `verb` ("get", "list", "create"...), `what`
 * the object ("Deployment web/api", "secrets in namespace \"x\""). `r` and `ns`
 * (may be NULL) feed the Forbidden hint. Returns the hcr status. Exposed for
 * tests.
 */
int hcr_kube_status_error(hcr_error *err, long http_status, json_t *body, const char *cluster,
			  const char *verb, const char *what, const hcr_kube_resource *r,
			  const char *ns);

#endif
