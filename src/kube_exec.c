/*
 * Exec credential plugins (users[].user.exec in a kubeconfig), as kubectl
 * runs them: the command with hcr's environment plus the plugin's env and
 * KUBERNETES_EXEC_INFO (an ExecCredential whose spec says interactive=false,
 * and the cluster when provideClusterInfo is set), stdin from /dev/null; the
 * ExecCredential it prints on stdout gives a token or a client certificate,
 * and maybe an expiry.
 *
 * The process is started with posix_spawn (safe in a threaded process: no
 * code of ours runs in the child), with every descriptor above stderr closed
 * and the signal dispositions reset (hcr ignores SIGPIPE; a plugin should
 * not inherit that). Both pipes are read with poll() until EOF or the time
 * limit, then the plugin is killed.
 *
 * Credentials are cached per process, keyed by a hash of the plugin's
 * configuration, so every connection to a cluster shares one token and a
 * plugin such as `aws eks get-token` runs once per token lifetime, not once
 * per connection. Nothing a plugin prints on stdout is ever quoted in an
 * error or a log line; stderr is (plugins explain their failures there).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hcr/crypto.h"
#include "hcr/json.h"
#include "hcr/log.h"
#include "kube_int.h"

extern char **environ;

#define EXEC_MAX_STDOUT    ((size_t)1024 * 1024)
#define EXEC_MAX_STDERR    900 /* what fits an hcr_error's detail */
#define EXEC_MAX_MARGIN_S  60
#define EXEC_INFO_VAR      "KUBERNETES_EXEC_INFO"
#define EXEC_DEFAULT_PATH  "/usr/local/bin:/usr/bin:/bin"
#define EXEC_DEFAULT_LIMIT 60000

/* ---- messages ------------------------------------------------------------------------ */

/* Sets `err`'s message: "exec plugin "cmd" of user "u" (kubeconfig "p") <what>". */
static int exec_fail(hcr_error *err, int status, const char *code, const hcr_kube_context *ctx,
		     const char *what)
{
	return hcr_error_set(err, status, code,
			     "exec plugin \"%s\" of user \"%s\" (kubeconfig "
			     "\"%s\") %s",
			     ctx->exec->command, ctx->user ? ctx->user : "?",
			     ctx->origin ? ctx->origin : "?", what);
}

/* ---- the command --------------------------------------------------------------------- */

/* The plugin's executable (new), or NULL when there is none. */
static char *find_command(const char *cmd)
{
	const char *path = getenv("PATH"), *p, *end;

	if (strchr(cmd, '/'))
		return access(cmd, X_OK) == 0 ? hcr_strdup(cmd) : NULL;
	if (!path || !*path)
		path = EXEC_DEFAULT_PATH;
	for (p = path; p; p = end ? end + 1 : NULL) {
		size_t n;
		char *full;

		end = strchr(p, ':');
		n = end ? (size_t)(end - p) : strlen(p);
		full = n ? hcr_sprintf("%.*s/%s", (int)n, p, cmd) : hcr_sprintf("./%s", cmd);
		if (access(full, X_OK) == 0)
			return full;
		free(full);
	}
	return NULL;
}

static json_t *cluster_info(const hcr_kube_context *ctx)
{
	json_t *c = json_pack("{s:s}", "server", ctx->server);

	if (ctx->tls_server_name)
		json_object_set_new(c, "tls-server-name", json_string(ctx->tls_server_name));
	if (ctx->insecure)
		json_object_set_new(c, "insecure-skip-tls-verify", json_true());
	if (ctx->ca_pem) {
		char *b64 = hcr_crypto_base64_encode(ctx->ca_pem, ctx->ca_len);

		json_object_set_new(c, "certificate-authority-data", json_string(b64));
		free(b64);
	}
	if (ctx->proxy_url)
		json_object_set_new(c, "proxy-url", json_string(ctx->proxy_url));
	return c;
}

/* KUBERNETES_EXEC_INFO as kubectl sets it. New string. */
static char *exec_info(const hcr_kube_context *ctx)
{
	json_t *spec = json_pack("{s:b}", "interactive", 0), *info;
	char *text, *var;

	if (ctx->exec->provide_cluster_info && ctx->server)
		json_object_set_new(spec, "cluster", cluster_info(ctx));
	info = json_pack("{s:s, s:s, s:o}", "kind", "ExecCredential", "apiVersion",
			 ctx->exec->api_version, "spec", spec);
	text = json_dumps(info, JSON_COMPACT);
	var = hcr_sprintf(EXEC_INFO_VAR "=%s", text);
	free(text);
	json_decref(info);
	return var;
}

static bool env_overridden(const char *entry, const hcr_kube_exec_config *x)
{
	size_t i, n = strcspn(entry, "=");

	if (strncmp(entry, EXEC_INFO_VAR "=", sizeof(EXEC_INFO_VAR)) == 0)
		return true;
	for (i = 0; i < x->nenv; i++)
		if (strncmp(entry, x->env[i], n + 1) == 0)
			return true;
	return false;
}

/* hcr's environment, then the plugin's env (which wins), then the exec info. */
static char **build_env(const hcr_kube_context *ctx, char **info)
{
	const hcr_kube_exec_config *x = ctx->exec;
	size_t n = 0, i, k = 0;
	char **envp;

	while (environ && environ[n])
		n++;
	envp = hcr_calloc(n + x->nenv + 2, sizeof(*envp));
	for (i = 0; i < n; i++)
		if (!env_overridden(environ[i], x))
			envp[k++] = environ[i];
	for (i = 0; i < x->nenv; i++)
		envp[k++] = x->env[i];
	*info = exec_info(ctx);
	envp[k] = *info;
	return envp;
}

/* ---- running it ---------------------------------------------------------------------- */

struct run {
	pid_t pid;
	int out, errfd;
	hcr_buf stdout_buf, stderr_buf;
	bool too_big, timed_out;
	int status;
};

static int spawn(struct run *run, const char *path, const hcr_kube_context *ctx)
{
	const hcr_kube_exec_config *x = ctx->exec;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	char **argv = hcr_calloc(x->nargs + 2, sizeof(*argv)), **envp, *info;
	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, rc;
	size_t i;

	argv[0] = (char *)path;
	for (i = 0; i < x->nargs; i++)
		argv[i + 1] = x->args[i];
	envp = build_env(ctx, &info);
	if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
		rc = errno;
		goto done;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&attr);
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	rc = posix_spawn(&run->pid, path, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
done:
	if (rc != 0) {
		if (outp[0] >= 0)
			close(outp[0]);
		if (errp[0] >= 0)
			close(errp[0]);
		outp[0] = errp[0] = -1;
	}
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[1] >= 0)
		close(errp[1]);
	run->out = outp[0];
	run->errfd = errp[0];
	hcr_kube_wipe_free(info);
	free(envp);
	free(argv);
	return rc;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads what `fd` has into `b` (bounded by `max`: more is counted, not kept). */
static bool drain(int fd, hcr_buf *b, size_t max, bool *too_big)
{
	char chunk[4096];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	if (b->len + (size_t)n > max) {
		*too_big = true;
		n = (ssize_t)(max - b->len);
	}
	if (n > 0)
		hcr_buf_append(b, chunk, (size_t)n);
	return true;
}

static void collect(struct run *run, long timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	bool err_big = false;

	while (run->out >= 0 || run->errfd >= 0) {
		struct pollfd p[2] = {{run->out, POLLIN, 0}, {run->errfd, POLLIN, 0}};
		long left = deadline - now_ms();
		int n;

		if (left <= 0) {
			run->timed_out = true;
			kill(run->pid, SIGKILL);
			break;
		}
		n = poll(p, 2, (int)(left > 1000 ? 1000 : left));
		if (n < 0 && errno != EINTR)
			break;
		if (p[0].revents &&
		    !drain(run->out, &run->stdout_buf, EXEC_MAX_STDOUT, &run->too_big)) {
			close(run->out);
			run->out = -1;
		}
		if (p[1].revents &&
		    !drain(run->errfd, &run->stderr_buf, EXEC_MAX_STDERR, &err_big)) {
			close(run->errfd);
			run->errfd = -1;
		}
	}
	if (run->out >= 0)
		close(run->out);
	if (run->errfd >= 0)
		close(run->errfd);
	while (waitpid(run->pid, &run->status, 0) < 0 && errno == EINTR)
		;
}

/* The plugin's stderr into err's detail (trimmed), or how it ended. */
static void detail_stderr(hcr_error *err, const struct run *run)
{
	size_t n = run->stderr_buf.len;

	while (n > 0 && (run->stderr_buf.data[n - 1] == '\n' || run->stderr_buf.data[n - 1] == ' '))
		n--;
	if (n > 0)
		hcr_error_detail(err, "stderr: %.*s", (int)n, run->stderr_buf.data);
}

static int judge(const struct run *run, const hcr_kube_context *ctx, long timeout_ms,
		 hcr_error *err)
{
	char what[96];

	if (run->timed_out) {
		snprintf(what, sizeof(what), "did not finish within %ld ms", timeout_ms);
		exec_fail(err, HCR_EUPSTREAM, HCR_ERR_UNAVAILABLE, ctx, what);
		detail_stderr(err, run);
		hcr_error_hint(err,
			       "run the plugin by hand to see what it waits for (a login "
			       "prompt cannot be answered: hcr runs plugins non-interactively)");
		return HCR_EUPSTREAM;
	}
	if (!WIFEXITED(run->status) || WEXITSTATUS(run->status) != 0) {
		if (WIFEXITED(run->status))
			snprintf(what, sizeof(what), "exited with status %d",
				 WEXITSTATUS(run->status));
		else
			snprintf(what, sizeof(what), "was killed by signal %d",
				 WIFSIGNALED(run->status) ? WTERMSIG(run->status) : 0);
		exec_fail(err, HCR_EDENIED, HCR_ERR_UNAUTHORIZED, ctx, what);
		detail_stderr(err, run);
		hcr_error_hint(err, "run the command by hand as the user hcr runs as; it may need "
				    "a login or credentials of its own");
		return HCR_EDENIED;
	}
	if (run->too_big) {
		exec_fail(err, HCR_ERROR, HCR_ERR_INTERNAL, ctx, "printed more than 1 MiB");
		return HCR_ERROR;
	}
	return HCR_OK;
}

static int not_found(const hcr_kube_context *ctx, hcr_error *err)
{
	const hcr_kube_exec_config *x = ctx->exec;

	exec_fail(err, HCR_EINVALID, HCR_ERR_INVALID, ctx, "was not found");
	if (strchr(x->command, '/'))
		hcr_error_detail(err, "%s is not an executable file", x->command);
	else
		hcr_error_detail(err, "no executable \"%s\" on PATH", x->command);
	if (x->install_hint)
		hcr_error_hint(err, "%s", x->install_hint);
	else
		hcr_error_hint(err, "install it, or put it on the PATH of the hcr process");
	return HCR_EINVALID;
}

int hcr_kube_exec_run(hcr_kube_exec_credential *out, const hcr_kube_context *ctx, hcr_error *err)
{
	struct run run = {.pid = -1, .out = -1, .errfd = -1};
	long limit = ctx->exec->timeout_ms > 0 ? ctx->exec->timeout_ms : EXEC_DEFAULT_LIMIT;
	char *path = find_command(ctx->exec->command);
	int rc, e;

	memset(out, 0, sizeof(*out));
	if (!path)
		return not_found(ctx, err);
	if ((e = spawn(&run, path, ctx)) != 0) {
		free(path);
		if (e == ENOENT || e == EACCES || e == ENOEXEC)
			return not_found(ctx, err);
		exec_fail(err, HCR_ERROR, HCR_ERR_INTERNAL, ctx, "could not be started");
		hcr_error_detail(err, "%s", strerror(e));
		return HCR_ERROR;
	}
	free(path);
	collect(&run, limit);
	if ((rc = judge(&run, ctx, limit, err)) == HCR_OK) {
		rc = hcr_kube_exec_parse(out, run.stdout_buf.data ? run.stdout_buf.data : "",
					 run.stdout_buf.len, ctx->exec->api_version, err);
		if (rc != HCR_OK && err) {
			char msg[sizeof(err->message)], detail[sizeof(err->detail)];

			/* Put the plugin's name in front of the parser's message. */
			snprintf(msg, sizeof(msg), "%s", err->message);
			snprintf(detail, sizeof(detail), "%s", err->detail);
			exec_fail(err, rc, HCR_ERR_INTERNAL, ctx, msg);
			hcr_error_detail(err, "%s", detail);
			hcr_error_hint(err, "the plugin's output is not shown (it may hold a "
					    "credential); run it by hand to see it");
		}
	}
	hcr_crypto_wipe(run.stdout_buf.data, run.stdout_buf.len);
	hcr_buf_free(&run.stdout_buf);
	hcr_buf_free(&run.stderr_buf);
	return rc;
}

/* ---- the ExecCredential -------------------------------------------------------------- */

/* RFC 3339 ("2026-01-02T15:04:05Z", with fractions or an offset) to epoch seconds. */
static bool parse_rfc3339(const char *s, time_t *out)
{
	struct tm tm;
	const char *p;
	long off = 0;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%d", &tm);
	if (!p || (*p != 'T' && *p != 't' && *p != ' '))
		return false;
	p = strptime(p + 1, "%H:%M:%S", &tm);
	if (!p)
		return false;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		off = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int h, m;

		if (sscanf(p + 1, "%2d:%2d", &h, &m) != 2 || h > 23 || m > 59)
			return false;
		off = (h * 3600L + m * 60L) * (*p == '-' ? -1 : 1);
	} else {
		return false;
	}
	*out = timegm(&tm) - off;
	return true;
}

static int parse_error(hcr_error *err, const char *what)
{
	return hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "returned %s", what);
}

static int parse_status(hcr_kube_exec_credential *out, json_t *status, hcr_error *err)
{
	json_t *tok = json_object_get(status, "token"), *exp;
	json_t *cert = json_object_get(status, "clientCertificateData");
	json_t *key = json_object_get(status, "clientKeyData");
	bool has_cert = json_is_string(cert) && json_string_length(cert) > 0;
	bool has_key = json_is_string(key) && json_string_length(key) > 0;

	if (!json_is_object(status))
		return parse_error(err, "an ExecCredential without a status");
	if (has_cert != has_key)
		return parse_error(err, "only a client certificate or key, not both");
	if (has_cert && (!hcr_kube_is_pem(json_string_value(cert), json_string_length(cert)) ||
			 !hcr_kube_is_pem(json_string_value(key), json_string_length(key))))
		return parse_error(err, "a client certificate or key that is not PEM");
	if (!(json_is_string(tok) && json_string_length(tok) > 0) && !has_cert)
		return parse_error(err, "neither a token nor a client certificate and key");
	exp = json_object_get(status, "expirationTimestamp");
	if (exp && !json_is_null(exp) &&
	    (!json_is_string(exp) || !parse_rfc3339(json_string_value(exp), &out->expires)))
		return parse_error(err, "an expirationTimestamp that is not RFC 3339");
	if (json_is_string(tok) && json_string_length(tok) > 0)
		out->token = hcr_strdup(json_string_value(tok));
	if (has_cert) {
		out->cert_len = json_string_length(cert);
		out->cert_pem = hcr_strndup(json_string_value(cert), out->cert_len);
		out->key_len = json_string_length(key);
		out->key_pem = hcr_strndup(json_string_value(key), out->key_len);
	}
	return HCR_OK;
}

int hcr_kube_exec_parse(hcr_kube_exec_credential *out, const char *text, size_t len,
			const char *api_version, hcr_error *err)
{
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr), *v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(doc)) {
		rc = parse_error(err, "output that is not an ExecCredential JSON object");
		if (!doc)
			hcr_error_detail(err, "line %d column %d", jerr.line, jerr.column);
		hcr_kube_json_wipe_decref(doc);
		return rc;
	}
	v = json_object_get(doc, "kind");
	if (!json_is_string(v) || strcmp(json_string_value(v), "ExecCredential") != 0) {
		rc = parse_error(err, "JSON whose kind is not ExecCredential");
	} else if (!json_is_string((v = json_object_get(doc, "apiVersion"))) ||
		   strcmp(json_string_value(v), api_version) != 0) {
		rc = parse_error(err, "an ExecCredential of another apiVersion");
		hcr_error_detail(err, "configured %s, returned %.80s", api_version,
				 json_is_string(v) ? json_string_value(v) : "(none)");
	} else {
		rc = parse_status(out, json_object_get(doc, "status"), err);
	}
	if (rc != HCR_OK)
		hcr_kube_exec_credential_clear(out);
	hcr_kube_json_wipe_decref(doc);
	return rc;
}

void hcr_kube_exec_credential_clear(hcr_kube_exec_credential *c)
{
	if (!c)
		return;
	hcr_kube_wipe_free(c->token);
	hcr_kube_wipe_free_n(c->cert_pem, c->cert_len);
	hcr_kube_wipe_free_n(c->key_pem, c->key_len);
	memset(c, 0, sizeof(*c));
}

static void copy_credential(hcr_kube_exec_credential *to, const hcr_kube_exec_credential *from)
{
	memset(to, 0, sizeof(*to));
	to->token = hcr_strdup(from->token);
	if (from->cert_pem) {
		to->cert_pem = hcr_strndup(from->cert_pem, from->cert_len);
		to->cert_len = from->cert_len;
		to->key_pem = hcr_strndup(from->key_pem, from->key_len);
		to->key_len = from->key_len;
	}
	to->expires = from->expires;
}

/* ---- the cache ----------------------------------------------------------------------- */

struct cache_entry {
	char key[65];
	pthread_mutex_t lock; /* held while the plugin runs: others wait for its answer */
	hcr_kube_exec_credential cred;
	bool have;
	time_t obtained;
	struct cache_entry *next;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry *cache;

static void cache_key(char out[65], const hcr_kube_context *ctx)
{
	const hcr_kube_exec_config *x = ctx->exec;
	hcr_buf b = {0};
	size_t i;

	hcr_buf_printf(&b, "%s\x1f%s", x->api_version, x->command);
	for (i = 0; i < x->nargs; i++)
		hcr_buf_printf(&b,
			       "\x1f"
			       "a%s",
			       x->args[i]);
	for (i = 0; i < x->nenv; i++)
		hcr_buf_printf(&b,
			       "\x1f"
			       "e%s",
			       x->env[i]);
	if (x->provide_cluster_info)
		hcr_buf_printf(&b,
			       "\x1f"
			       "c%s\x1f%s\x1f%d\x1f%s",
			       ctx->server ? ctx->server : "",
			       ctx->tls_server_name ? ctx->tls_server_name : "", ctx->insecure,
			       ctx->ca_pem ? ctx->ca_pem : "");
	hcr_crypto_sha256_hex(out, b.data, b.len);
	hcr_crypto_wipe(b.data, b.len);
	hcr_buf_free(&b);
}

static struct cache_entry *cache_entry(const hcr_kube_context *ctx, bool create)
{
	struct cache_entry *e;
	char key[65];

	cache_key(key, ctx);
	pthread_mutex_lock(&cache_lock);
	for (e = cache; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			break;
	if (!e && create) {
		e = hcr_calloc(1, sizeof(*e));
		memcpy(e->key, key, sizeof(e->key));
		pthread_mutex_init(&e->lock, NULL);
		e->next = cache;
		cache = e;
	}
	pthread_mutex_unlock(&cache_lock);
	return e;
}

/* Whether the cached credential is still good at `now`. */
static bool fresh(const struct cache_entry *e, time_t now)
{
	time_t margin;

	if (!e->have)
		return false;
	if (e->cred.expires == 0)
		return true;
	margin = (e->cred.expires - e->obtained) / 4;
	if (margin > EXEC_MAX_MARGIN_S)
		margin = EXEC_MAX_MARGIN_S;
	if (margin < 0)
		margin = 0;
	return now < e->cred.expires - margin;
}

int hcr_kube_exec_get(hcr_kube_exec_credential *out, const hcr_kube_context *ctx, hcr_error *err)
{
	struct cache_entry *e = cache_entry(ctx, true);
	int rc = HCR_OK;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&e->lock);
	if (!fresh(e, time(NULL))) {
		hcr_kube_exec_credential cred;

		hcr_log_debug("kube", "running exec plugin context=%s user=%s",
			      ctx->name ? ctx->name : "?", ctx->user ? ctx->user : "?");
		rc = hcr_kube_exec_run(&cred, ctx, err);
		if (rc == HCR_OK) {
			hcr_kube_exec_credential_clear(&e->cred);
			e->cred = cred;
			e->have = true;
			e->obtained = time(NULL);
		}
	}
	if (rc == HCR_OK)
		copy_credential(out, &e->cred);
	pthread_mutex_unlock(&e->lock);
	return rc;
}

void hcr_kube_exec_invalidate(const hcr_kube_context *ctx)
{
	struct cache_entry *e = cache_entry(ctx, false);

	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	hcr_kube_exec_credential_clear(&e->cred);
	e->have = false;
	pthread_mutex_unlock(&e->lock);
}

void hcr_kube_exec_cache_clear(void)
{
	struct cache_entry *e, *next;

	pthread_mutex_lock(&cache_lock);
	for (e = cache; e; e = next) {
		next = e->next;
		hcr_kube_exec_credential_clear(&e->cred);
		pthread_mutex_destroy(&e->lock);
		free(e);
	}
	cache = NULL;
	pthread_mutex_unlock(&cache_lock);
}
