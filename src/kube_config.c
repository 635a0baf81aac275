/*
 * Kubeconfig files: loading (one file, a buffer, or $KUBECONFIG merged as
 * kubectl merges it) and resolving a context into an hcr_kube_context.
 *
 * The YAML is turned into JSON once (kube_util.c) and kept per entry, with
 * the file it came from: relative paths resolve against that file's
 * directory, and messages name that file. Loading checks only the file's
 * shape; resolving checks what one context needs, so a broken user entry
 * elsewhere in the file never stops a good context from working (kubectl
 * behaves the same).
 *
 * Every message names the kubeconfig and the context, cluster or user at
 * fault; none quotes a secret (token, password, key, exec env).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hcr/kube.h"
#include "kube_int.h"

/* The exec plugin's default time limit. */
#define EXEC_TIMEOUT_MS 60000
/* The list of contexts in a hint is cut after this many. */
#define HINT_CONTEXTS 12

struct kc_file {
	char *path; /* as given, for messages */
	char *dir;  /* where relative paths start */
};

struct kc_entry {
	char *name;
	json_t *body; /* the inner mapping (cluster:, user:, context:); never NULL */
	size_t file;  /* index into files */
};

struct kc_list {
	struct kc_entry *v;
	size_t n;
};

struct hcr_kubeconfig {
	struct kc_file *files;
	size_t nfiles;
	char *current;
	struct kc_list clusters, users, contexts;
};

/* ---- loading ------------------------------------------------------------------------- */

static char *dir_of(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	if (!slash)
		return hcr_strdup(".");
	if (slash == path)
		return hcr_strdup("/");
	return hcr_strndup(path, (size_t)(slash - path));
}

static const struct kc_entry *find(const struct kc_list *l, const char *name)
{
	size_t i;

	for (i = 0; name && i < l->n; i++)
		if (strcmp(l->v[i].name, name) == 0)
			return &l->v[i];
	return NULL;
}

static int shape_error(hcr_error *err, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int shape_error(hcr_error *err, const char *path, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "kubeconfig \"%s\": %s", path, what);
	hcr_error_hint(err, "compare it with `kubectl config view`; the format is documented at "
			    "https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/");
	return HCR_EINVALID;
}

/*
 * Adds the entries of list `key` ("clusters") whose inner mapping is `inner`
 * ("cluster"); a name already present (from an earlier file) is skipped.
 */
static int add_list(struct kc_list *l, json_t *root, const char *key, const char *inner,
		    size_t file, const char *path, hcr_error *err)
{
	json_t *arr = json_object_get(root, key), *it;
	size_t i;

	if (!arr || json_is_null(arr))
		return HCR_OK;
	if (!json_is_array(arr))
		return shape_error(err, path, "%s is not a list", key);
	json_array_foreach(arr, i, it)
	{
		json_t *name = json_object_get(it, "name"), *body = json_object_get(it, inner);

		if (!json_is_object(it) || !json_is_string(name) || !*json_string_value(name))
			return shape_error(err, path, "%s[%zu] has no name", key, i);
		if (body && !json_is_null(body) && !json_is_object(body))
			return shape_error(err, path, "%s[%zu] is not a mapping", key, i);
		if (find(l, json_string_value(name)))
			continue;
		l->v = hcr_realloc(l->v, (l->n + 1) * sizeof(*l->v));
		l->v[l->n].name = hcr_strdup(json_string_value(name));
		l->v[l->n].body = json_is_object(body) ? json_incref(body) : json_object();
		l->v[l->n].file = file;
		l->n++;
	}
	return HCR_OK;
}

/* Merges the document `root` from `path` (messages) and `dir` (relative paths) into kc. */
static int merge(hcr_kubeconfig *kc, json_t *root, const char *path, const char *dir,
		 hcr_error *err)
{
	size_t file = kc->nfiles;
	json_t *cur;
	int rc;

	if (!json_is_object(root))
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "kubeconfig \"%s\" is not a YAML mapping", path);
	kc->files = hcr_realloc(kc->files, (kc->nfiles + 1) * sizeof(*kc->files));
	kc->files[file].path = hcr_strdup(path);
	kc->files[file].dir = hcr_strdup(dir);
	kc->nfiles++;
	if ((rc = add_list(&kc->clusters, root, "clusters", "cluster", file, path, err)) ||
	    (rc = add_list(&kc->users, root, "users", "user", file, path, err)) ||
	    (rc = add_list(&kc->contexts, root, "contexts", "context", file, path, err)))
		return rc;
	cur = json_object_get(root, "current-context");
	if (cur && !json_is_null(cur) && !json_is_string(cur))
		return shape_error(err, path, "current-context is not a string");
	if (!kc->current && json_is_string(cur) && *json_string_value(cur))
		kc->current = hcr_strdup(json_string_value(cur));
	return HCR_OK;
}

static int merge_text(hcr_kubeconfig *kc, const char *text, size_t len, const char *path,
		      const char *dir, hcr_error *err)
{
	char what[600];
	json_t *root;
	int rc;

	snprintf(what, sizeof(what), "kubeconfig \"%s\"", path);
	if ((rc = hcr_kube_yaml_to_json(&root, text, len, what, err)) != HCR_OK)
		return rc;
	rc = merge(kc, root, path, dir, err);
	hcr_kube_json_wipe_decref(root);
	return rc;
}

static int merge_file(hcr_kubeconfig *kc, const char *path, bool missing_ok, hcr_error *err)
{
	size_t len;
	char *text = hcr_kube_read_file(path, KUBE_MAX_FILE_BYTES, &len), *dir;
	int rc;

	if (!text) {
		if (missing_ok && errno == ENOENT)
			return HCR_OK;
		hcr_error_set(err, HCR_ERROR, HCR_ERR_CONFIG, "cannot read kubeconfig \"%s\"",
			      path);
		hcr_error_detail(err, "%s", errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
		hcr_error_hint(err, "check the path (or KUBECONFIG) and the file's permissions");
		return HCR_ERROR;
	}
	dir = dir_of(path);
	rc = merge_text(kc, text, len, path, dir, err);
	free(dir);
	hcr_kube_wipe_free_n(text, len);
	return rc;
}

int hcr_kubeconfig_load(hcr_kubeconfig **out, const char *path, hcr_error *err)
{
	hcr_kubeconfig *kc = hcr_calloc(1, sizeof(*kc));
	int rc = merge_file(kc, path, false, err);

	if (rc != HCR_OK) {
		hcr_kubeconfig_free(kc);
		kc = NULL;
	}
	*out = kc;
	return rc;
}

int hcr_kubeconfig_parse(hcr_kubeconfig **out, const char *text, size_t len, const char *origin,
			 const char *base_dir, hcr_error *err)
{
	hcr_kubeconfig *kc = hcr_calloc(1, sizeof(*kc));
	int rc = merge_text(kc, text, len, origin ? origin : "(text)", base_dir ? base_dir : ".",
			    err);

	if (rc != HCR_OK) {
		hcr_kubeconfig_free(kc);
		kc = NULL;
	}
	*out = kc;
	return rc;
}

static int load_list(hcr_kubeconfig *kc, const char *list, hcr_error *err)
{
	char *copy = hcr_strdup(list), *save = NULL, *p;
	int rc = HCR_OK;

	for (p = strtok_r(copy, ":", &save); p && rc == HCR_OK; p = strtok_r(NULL, ":", &save))
		rc = merge_file(kc, p, true, err);
	free(copy);
	if (rc == HCR_OK && kc->nfiles == 0) {
		hcr_error_set(err, HCR_ERROR, HCR_ERR_CONFIG, "no file of KUBECONFIG \"%s\" exists",
			      list);
		hcr_error_hint(err, "set KUBECONFIG to a kubeconfig file, or name one");
		rc = HCR_ERROR;
	}
	return rc;
}

int hcr_kubeconfig_load_default(hcr_kubeconfig **out, hcr_error *err)
{
	const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
	hcr_kubeconfig *kc;
	char *path;
	int rc;

	*out = NULL;
	if (!env || !*env) {
		if (!home || !*home)
			return hcr_error_set(err, HCR_ERROR, HCR_ERR_CONFIG,
					     "neither KUBECONFIG nor HOME is set");
		path = hcr_sprintf("%s/.kube/config", home);
		rc = hcr_kubeconfig_load(out, path, err);
		free(path);
		return rc;
	}
	kc = hcr_calloc(1, sizeof(*kc));
	if ((rc = load_list(kc, env, err)) != HCR_OK) {
		hcr_kubeconfig_free(kc);
		return rc;
	}
	*out = kc;
	return HCR_OK;
}

static void free_list(struct kc_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].name);
		hcr_kube_json_wipe_decref(l->v[i].body);
	}
	free(l->v);
}

void hcr_kubeconfig_free(hcr_kubeconfig *kc)
{
	size_t i;

	if (!kc)
		return;
	for (i = 0; i < kc->nfiles; i++) {
		free(kc->files[i].path);
		free(kc->files[i].dir);
	}
	free(kc->files);
	free(kc->current);
	free_list(&kc->clusters);
	free_list(&kc->users);
	free_list(&kc->contexts);
	free(kc);
}

const char *hcr_kubeconfig_path(const hcr_kubeconfig *kc)
{
	return kc->nfiles ? kc->files[0].path : NULL;
}

const char *hcr_kubeconfig_current_context(const hcr_kubeconfig *kc)
{
	return kc->current;
}

size_t hcr_kubeconfig_context_count(const hcr_kubeconfig *kc)
{
	return kc->contexts.n;
}

const char *hcr_kubeconfig_context_name(const hcr_kubeconfig *kc, size_t i)
{
	return i < kc->contexts.n ? kc->contexts.v[i].name : NULL;
}

bool hcr_kubeconfig_has_context(const hcr_kubeconfig *kc, const char *name)
{
	size_t i, n = kc && name ? hcr_kubeconfig_context_count(kc) : 0;

	for (i = 0; i < n; i++)
		if (strcmp(hcr_kubeconfig_context_name(kc, i), name) == 0)
			return true;
	return false;
}

/* ---- resolving: the pieces ----------------------------------------------------------- */

/* What a resolution works on: the kubeconfig, the context, and where errors point. */
struct res {
	const hcr_kubeconfig *kc;
	hcr_kube_context *c;
	const char *context; /* its name, for messages */
	const char *path;    /* of the entry being read */
	const char *dir;
	hcr_error *err;
};

static void at_entry(struct res *r, const struct kc_entry *e)
{
	r->path = r->kc->files[e->file].path;
	r->dir = r->kc->files[e->file].dir;
}

/* Fails naming the kubeconfig, `who` ("cluster \"c\"") and what is wrong. */
static int fail(struct res *r, int status, const char *code, const char *who, const char *what)
{
	return hcr_error_set(r->err, status, code, "kubeconfig \"%s\": %s %s", r->path, who, what);
}

/* Reads an optional string `key` of `body`; non-strings fail. */
static int opt_string(struct res *r, const char **out, json_t *body, const char *key,
		      const char *who)
{
	json_t *v = json_object_get(body, key);
	char what[128];

	*out = NULL;
	if (!v || json_is_null(v))
		return HCR_OK;
	if (!json_is_string(v)) {
		snprintf(what, sizeof(what), "has a value for %s that is not a string", key);
		return fail(r, HCR_EINVALID, HCR_ERR_INVALID, who, what);
	}
	*out = *json_string_value(v) ? json_string_value(v) : NULL;
	return HCR_OK;
}

/* Reads an optional YAML 1.1 boolean (as Go's YAML reader accepts them). */
static int opt_bool(struct res *r, bool *out, json_t *body, const char *key, const char *who)
{
	static const char *const yes[] = {"true", "yes", "on", "y"}, *const no[] = {"false", "no",
										    "off", "n"};
	const char *s;
	char what[128];
	size_t i;
	int rc = opt_string(r, &s, body, key, who);

	*out = false;
	if (rc != HCR_OK || !s)
		return rc;
	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return HCR_OK;
		}
		if (strcasecmp(s, no[i]) == 0)
			return HCR_OK;
	}
	snprintf(what, sizeof(what), "has a value for %s that is neither true nor false", key);
	return fail(r, HCR_EINVALID, HCR_ERR_INVALID, who, what);
}

static char *resolve_path(const struct res *r, const char *p)
{
	return p[0] == '/' ? hcr_strdup(p) : hcr_sprintf("%s/%s", r->dir, p);
}

/* Reads file `key` = `rel` of `who` into *out (secret). */
static int read_named_file(struct res *r, char **out, size_t *len, const char *key, const char *rel,
			   const char *who)
{
	char *path = resolve_path(r, rel);

	*out = hcr_kube_read_file(path, KUBE_MAX_FILE_BYTES, len);
	if (!*out) {
		hcr_error_set(r->err, HCR_ERROR, HCR_ERR_CONFIG,
			      "kubeconfig \"%s\": cannot read %s \"%s\" of %s", r->path, key, path,
			      who);
		hcr_error_detail(r->err, "%s",
				 errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
		hcr_error_hint(r->err,
			       "fix the path; relative paths are read from the "
			       "kubeconfig's directory (%s)",
			       r->dir);
	}
	free(path);
	return *out ? HCR_OK : HCR_ERROR;
}

/*
 * Reads PEM material given as `file_key` (a path) or `data_key` (base64):
 * data wins, as in kubectl. `kind` ("certificate", "private key") for messages.
 */
static int read_pem(struct res *r, char **out, size_t *len, json_t *body, const char *file_key,
		    const char *data_key, const char *who)
{
	const char *file, *data;
	char what[160];
	bool bad = false;
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = opt_string(r, &file, body, file_key, who)) ||
	    (rc = opt_string(r, &data, body, data_key, who)))
		return rc;
	if (data) {
		*out = hcr_kube_pem_from_base64(data, len, &bad);
		if (bad) {
			snprintf(what, sizeof(what), "has a %s that is not valid base64", data_key);
			rc = fail(r, HCR_EINVALID, HCR_ERR_INVALID, who, what);
			hcr_error_hint(r->err,
				       "%s must be the base64 of a PEM file (base64 -w0 "
				       "FILE)",
				       data_key);
			return rc;
		}
	} else if (file && (rc = read_named_file(r, out, len, file_key, file, who)) != HCR_OK) {
		return rc;
	}
	if (*out && !hcr_kube_is_pem(*out, *len)) {
		snprintf(what, sizeof(what), "has a %s that is not PEM",
			 data ? data_key : file_key);
		rc = fail(r, HCR_EINVALID, HCR_ERR_INVALID, who, what);
		hcr_error_hint(r->err, "hcr reads PEM (-----BEGIN ...); convert DER with openssl");
		return rc;
	}
	return HCR_OK;
}

/* ---- resolving: the cluster ---------------------------------------------------------- */

static int check_server(struct res *r, const char *server, const char *who)
{
	if (!server) {
		fail(r, HCR_EINVALID, HCR_ERR_INVALID, who, "has no server");
		hcr_error_hint(r->err, "set clusters[].cluster.server to the API server's URL");
		return HCR_EINVALID;
	}
	if (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0) {
		fail(r, HCR_EINVALID, HCR_ERR_INVALID, who, "has a server that is not http(s)");
		hcr_error_detail(r->err, "server: %.200s", server);
		return HCR_EINVALID;
	}
	return HCR_OK;
}

static int resolve_cluster(struct res *r, const struct kc_entry *e)
{
	hcr_kube_context *c = r->c;
	const char *server, *sni, *proxy;
	char who[300];
	size_t n;
	int rc;

	at_entry(r, e);
	snprintf(who, sizeof(who), "cluster \"%s\" (context \"%s\")", e->name, r->context);
	if ((rc = opt_string(r, &server, e->body, "server", who)) ||
	    (rc = check_server(r, server, who)) ||
	    (rc = opt_bool(r, &c->insecure, e->body, "insecure-skip-tls-verify", who)) ||
	    (rc = opt_string(r, &sni, e->body, "tls-server-name", who)) ||
	    (rc = opt_string(r, &proxy, e->body, "proxy-url", who)) ||
	    (rc = read_pem(r, &c->ca_pem, &c->ca_len, e->body, "certificate-authority",
			   "certificate-authority-data", who)))
		return rc;
	if (c->insecure && c->ca_pem) {
		rc = fail(r, HCR_EINVALID, HCR_ERR_INVALID, who,
			  "has both a certificate authority and insecure-skip-tls-verify");
		hcr_error_hint(r->err, "remove one of them (kubectl refuses this too)");
		return rc;
	}
	n = strlen(server);
	while (n > 0 && server[n - 1] == '/')
		n--;
	c->server = hcr_strndup(server, n);
	c->tls_server_name = hcr_strdup(sni);
	c->proxy_url = hcr_strdup(proxy);
	return HCR_OK;
}

/* ---- resolving: the user ------------------------------------------------------------- */

static int exec_strings(struct res *r, char ***out, size_t *n, json_t *list, bool env,
			const char *who)
{
	json_t *it;
	size_t i;

	if (!list || json_is_null(list))
		return HCR_OK;
	if (!json_is_array(list))
		return fail(r, HCR_EINVALID, HCR_ERR_INVALID, who,
			    env ? "has an exec env that is not a list"
				: "has exec args that are not a list");
	*out = hcr_calloc(json_array_size(list) + 1, sizeof(**out));
	json_array_foreach(list, i, it)
	{
		json_t *name = json_object_get(it, "name"), *value = json_object_get(it, "value");

		if (!env && json_is_string(it)) {
			(*out)[(*n)++] = hcr_strdup(json_string_value(it));
		} else if (env && json_is_string(name) && *json_string_value(name) &&
			   !strchr(json_string_value(name), '=') &&
			   (json_is_string(value) || json_is_null(value) || !value)) {
			(*out)[(*n)++] =
				hcr_sprintf("%s=%s", json_string_value(name),
					    json_is_string(value) ? json_string_value(value) : "");
		} else {
			return fail(r, HCR_EINVALID, HCR_ERR_INVALID, who,
				    env ? "has an exec env entry without a name (or not name/value)"
					: "has an exec argument that is not a string");
		}
	}
	return HCR_OK;
}

static bool exec_version_ok(const char *v)
{
	return v && (strcmp(v, "client.authentication.k8s.io/v1") == 0 ||
		     strcmp(v, "client.authentication.k8s.io/v1beta1") == 0);
}

static int resolve_exec(struct res *r, json_t *exec, const char *who)
{
	hcr_kube_exec_config *x = hcr_calloc(1, sizeof(*x));
	const char *api, *cmd, *hint;
	int rc;

	r->c->exec = x;
	x->timeout_ms = EXEC_TIMEOUT_MS;
	if (!json_is_object(exec))
		return fail(r, HCR_EINVALID, HCR_ERR_INVALID, who,
			    "has an exec that is not a mapping");
	if ((rc = opt_string(r, &api, exec, "apiVersion", who)) ||
	    (rc = opt_string(r, &cmd, exec, "command", who)) ||
	    (rc = opt_string(r, &hint, exec, "installHint", who)) ||
	    (rc = opt_bool(r, &x->provide_cluster_info, exec, "provideClusterInfo", who)) ||
	    (rc = exec_strings(r, &x->args, &x->nargs, json_object_get(exec, "args"), false,
			       who)) ||
	    (rc = exec_strings(r, &x->env, &x->nenv, json_object_get(exec, "env"), true, who)))
		return rc;
	if (!cmd)
		return fail(r, HCR_EINVALID, HCR_ERR_INVALID, who, "has an exec without a command");
	if (!exec_version_ok(api)) {
		rc = fail(r, HCR_EINVALID, HCR_ERR_INVALID, who,
			  api ? "has an exec apiVersion hcr does not support"
			      : "has an exec without an apiVersion");
		hcr_error_detail(r->err, "apiVersion: %.100s", api ? api : "(none)");
		hcr_error_hint(r->err, "use client.authentication.k8s.io/v1 (or v1beta1)");
		return rc;
	}
	x->api_version = hcr_strdup(api);
	/* As kubectl: a command with a '/' is a path (relative to the kubeconfig), else PATH's. */
	x->command = strchr(cmd, '/') ? resolve_path(r, cmd) : hcr_strdup(cmd);
	x->install_hint = hcr_strdup(hint);
	return HCR_OK;
}

static int resolve_token(struct res *r, json_t *body, const char *who)
{
	const char *token, *file;
	size_t len;
	int rc;

	if ((rc = opt_string(r, &token, body, "token", who)) ||
	    (rc = opt_string(r, &file, body, "tokenFile", who)))
		return rc;
	if (token) {
		r->c->token = hcr_strdup(token);
	} else if (file) {
		r->c->token_file = resolve_path(r, file);
		if ((rc = read_named_file(r, &r->c->token, &len, "tokenFile", file, who)))
			return rc;
		/* Trailing newlines are the editor's, not the token's. */
		while (len > 0 && (r->c->token[len - 1] == '\n' || r->c->token[len - 1] == '\r'))
			r->c->token[--len] = '\0';
	}
	return HCR_OK;
}

static int check_methods(struct res *r, const struct kc_entry *e, const char *who)
{
	hcr_kube_context *c = r->c;
	json_t *ap = json_object_get(e->body, "auth-provider");
	bool token = c->token || c->token_file, basic = c->username || c->password;
	int rc;

	if (ap && !json_is_null(ap)) {
		rc = fail(r, HCR_EINVALID, HCR_ERR_INVALID, who,
			  "uses an auth-provider, which hcr does not support");
		hcr_error_detail(r->err, "auth-provider: %.60s",
				 json_is_string(json_object_get(ap, "name"))
					 ? json_string_value(json_object_get(ap, "name"))
					 : "(unnamed)");
		hcr_error_hint(r->err, "use an exec plugin instead (gke-gcloud-auth-plugin, "
				       "kubelogin, aws eks get-token)");
		return rc;
	}
	if ((token && basic) || (c->exec && (token || basic))) {
		rc = fail(r, HCR_EINVALID, HCR_ERR_INVALID, who,
			  "has more than one authentication method");
		hcr_error_detail(r->err, "%s%s%s", token ? "token" : "",
				 basic ? (token ? ", username/password" : "username/password") : "",
				 c->exec ? ", exec" : "");
		hcr_error_hint(r->err, "keep one of them (kubectl refuses this too)");
		return rc;
	}
	if (!c->cert_pem != !c->key_pem) {
		rc = fail(r, HCR_EINVALID, HCR_ERR_INVALID, who,
			  c->cert_pem ? "has a client certificate but no client key"
				      : "has a client key but no client certificate");
		hcr_error_hint(r->err, "set both client-certificate(-data) and client-key(-data)");
		return rc;
	}
	return HCR_OK;
}

static int resolve_user(struct res *r, const struct kc_entry *e)
{
	hcr_kube_context *c = r->c;
	const char *username, *password;
	json_t *exec = json_object_get(e->body, "exec");
	char who[300];
	int rc;

	at_entry(r, e);
	snprintf(who, sizeof(who), "user \"%s\" (context \"%s\")", e->name, r->context);
	if ((rc = resolve_token(r, e->body, who)) ||
	    (rc = read_pem(r, &c->cert_pem, &c->cert_len, e->body, "client-certificate",
			   "client-certificate-data", who)) ||
	    (rc = read_pem(r, &c->key_pem, &c->key_len, e->body, "client-key", "client-key-data",
			   who)) ||
	    (rc = opt_string(r, &username, e->body, "username", who)) ||
	    (rc = opt_string(r, &password, e->body, "password", who)))
		return rc;
	c->username = hcr_strdup(username);
	c->password = hcr_strdup(password);
	if (exec && !json_is_null(exec) && (rc = resolve_exec(r, exec, who)) != HCR_OK)
		return rc;
	return check_methods(r, e, who);
}

/* ---- resolving: the context ---------------------------------------------------------- */

static void hint_contexts(struct res *r)
{
	const struct kc_list *l = &r->kc->contexts;
	hcr_buf b = {0};
	size_t i;

	if (l->n == 0) {
		hcr_error_hint(r->err, "the kubeconfig has no contexts");
		return;
	}
	for (i = 0; i < l->n && i < HINT_CONTEXTS; i++)
		hcr_buf_printf(&b, "%s%s", i ? ", " : "", l->v[i].name);
	if (l->n > HINT_CONTEXTS)
		hcr_buf_printf(&b, " and %zu more", l->n - HINT_CONTEXTS);
	hcr_error_hint(r->err, "name one of its contexts: %s", b.data);
	hcr_buf_free(&b);
}

static int find_context(struct res *r, const struct kc_entry **out, const char *name)
{
	r->path = hcr_kubeconfig_path(r->kc);
	if (!name) {
		hcr_error_set(r->err, HCR_EINVALID, HCR_ERR_INVALID,
			      "kubeconfig \"%s\" has no current-context", r->path);
		hint_contexts(r);
		return HCR_EINVALID;
	}
	if (!(*out = find(&r->kc->contexts, name))) {
		hcr_error_set(r->err, HCR_EINVALID, HCR_ERR_INVALID,
			      "kubeconfig \"%s\": context \"%s\" does not exist", r->path, name);
		hint_contexts(r);
		return HCR_EINVALID;
	}
	return HCR_OK;
}

/* The cluster or user (`key`) a context names, which must exist when named. */
static int context_ref(struct res *r, const struct kc_entry **out, const struct kc_entry *ctx,
		       const char *key, const struct kc_list *l, bool required)
{
	json_t *v = json_object_get(ctx->body, key);
	const char *name = json_is_string(v) && *json_string_value(v) ? json_string_value(v) : NULL;

	*out = NULL;
	at_entry(r, ctx);
	if (!name && !required)
		return HCR_OK;
	if (!name) {
		hcr_error_set(r->err, HCR_EINVALID, HCR_ERR_INVALID,
			      "kubeconfig \"%s\": context \"%s\" names no %s", r->path, ctx->name,
			      key);
		return HCR_EINVALID;
	}
	if (!(*out = find(l, name))) {
		hcr_error_set(r->err, HCR_EINVALID, HCR_ERR_INVALID,
			      "kubeconfig \"%s\": %s \"%s\" of context \"%s\" does not exist",
			      r->path, key, name, ctx->name);
		hcr_error_hint(r->err, "add the %s to the kubeconfig's %ss, or fix the context",
			       key, key);
		return HCR_EINVALID;
	}
	return HCR_OK;
}

int hcr_kubeconfig_resolve(hcr_kube_context **out, const hcr_kubeconfig *kc, const char *context,
			   hcr_error *err)
{
	struct res r = {kc, NULL, NULL, NULL, NULL, err};
	const struct kc_entry *ctx, *cluster, *user;
	const char *ns = NULL;
	char who[300];
	int rc;

	*out = NULL;
	if ((rc = find_context(&r, &ctx, context ? context : kc->current)) ||
	    (rc = context_ref(&r, &cluster, ctx, "cluster", &kc->clusters, true)) ||
	    (rc = context_ref(&r, &user, ctx, "user", &kc->users, false)))
		return rc;
	r.context = ctx->name;
	r.c = hcr_calloc(1, sizeof(*r.c));
	r.c->name = hcr_strdup(ctx->name);
	r.c->origin = hcr_strdup(r.path);
	r.c->cluster = hcr_strdup(cluster->name);
	r.c->user = user ? hcr_strdup(user->name) : NULL;
	snprintf(who, sizeof(who), "context \"%s\"", ctx->name);
	if ((rc = opt_string(&r, &ns, ctx->body, "namespace", who)) ||
	    (rc = resolve_cluster(&r, cluster)) || (user && (rc = resolve_user(&r, user)))) {
		hcr_kube_context_free(r.c);
		return rc;
	}
	r.c->namespace_name = hcr_strdup(ns);
	*out = r.c;
	return HCR_OK;
}

void hcr_kube_context_free(hcr_kube_context *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->cluster);
	free(c->user);
	free(c->origin);
	free(c->namespace_name);
	free(c->server);
	free(c->ca_pem);
	free(c->tls_server_name);
	hcr_kube_wipe_free(c->proxy_url); /* may carry user:password */
	hcr_kube_wipe_free(c->token);
	free(c->token_file);
	hcr_kube_wipe_free_n(c->cert_pem, c->cert_len);
	hcr_kube_wipe_free_n(c->key_pem, c->key_len);
	hcr_kube_wipe_free(c->username);
	hcr_kube_wipe_free(c->password);
	hcr_kube_exec_config_free(c->exec);
	free(c);
}
