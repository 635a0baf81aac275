/*
 * Configuration: defaults, the YAML file, HCR_* environment variables and
 * command-line flags, each overriding the one before.
 *
 * Each setting is one row of `settings`: its dotted YAML key, its environment
 * variable, how its value is checked and where it lives in hcr_config. The
 * file, the environment and hcr_config_set all end in apply(), so a bad value
 * reads the same wherever it came from; only the prefix naming the source
 * differs ("hcr.yaml:7: database.pool_size", "environment HCR_API_THREADS",
 * "--listen"). Loading the file or the environment works on a copy that is
 * swapped in on success, so a refused one leaves the caller's config alone.
 *
 * database.url may hold a password, and errors quote the offending value, so
 * every quoted value goes through mask_password first.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "hcr/config.h"
#include "hcr/error.h"
#include "hcr/log.h"
#include "hcr/mem.h"

/* A configuration file is a few hundred bytes; anything this large is a mistake. */
#define MAX_FILE_SIZE ((size_t)1024 * 1024)
/* Quoted values in errors are cut after this many characters. */
#define QUOTE_MAX 80

#define KIB 1024LL
#define MIB (1024LL * 1024)
#define GIB (1024LL * 1024 * 1024)

/* Size suffixes, largest first: the first that divides a size exactly prints it. */
static const struct {
	const char *suffix;
	long long mult;
} units[] = {{"GiB", GIB}, {"MiB", MIB}, {"KiB", KIB}, {"B", 1}, {"", 1}};

enum kind {
	K_LISTEN, /* host:port */
	K_PATH,   /* a non-empty string */
	K_URL,    /* libpq conninfo or URI */
	K_LEVEL,  /* log level name */
	K_INT,    /* int in [min, max] */
	K_SIZE,   /* size_t in [min, max], with optional KiB/MiB/GiB suffix */
	K_BOOL,   /* true / false (also yes / no, on / off, 1 / 0) */
};

struct setting {
	const char *key; /* dotted YAML key */
	const char *env; /* environment variable, or NULL */
	enum kind kind;
	bool nullable; /* null unsets it (string kinds only) */
	long long min, max;
	size_t offset; /* into hcr_config */
};

#define FIELD(f) offsetof(hcr_config, f)

static const struct setting settings[] = {
	{"listen", "HCR_LISTEN", K_LISTEN, false, 0, 0, FIELD(listen)},
	{"data_dir", "HCR_DATA_DIR", K_PATH, false, 0, 0, FIELD(data_dir)},
	{"log.level", "HCR_LOG_LEVEL", K_LEVEL, false, 0, 0, FIELD(log_level)},
	{"database.url", "HCR_DATABASE_URL", K_URL, true, 0, 0, FIELD(database_url)},
	{"database.pool_size", "HCR_DATABASE_POOL_SIZE", K_INT, false, 1, 64, FIELD(db_pool_size)},
	{"database.connect_timeout_s", NULL, K_INT, false, 1, 300, FIELD(db_connect_timeout_s)},
	{"database.embedded.bin_dir", NULL, K_PATH, true, 0, 0, FIELD(pg_bin_dir)},
	{"security.master_key_file", "HCR_MASTER_KEY_FILE", K_PATH, true, 0, 0,
	 FIELD(master_key_file)},
	{"api.max_body_bytes", "HCR_API_MAX_BODY_BYTES", K_SIZE, false, KIB, 64 * MIB,
	 FIELD(api_max_body_bytes)},
	{"api.threads", "HCR_API_THREADS", K_INT, false, 1, 1024, FIELD(api_threads)},
	{"api.request_timeout_s", NULL, K_INT, false, 1, 3600, FIELD(api_request_timeout_s)},
	{"api.tls.cert_file", "HCR_TLS_CERT_FILE", K_PATH, true, 0, 0, FIELD(tls_cert_file)},
	{"api.tls.key_file", "HCR_TLS_KEY_FILE", K_PATH, true, 0, 0, FIELD(tls_key_file)},
	{"reconcile.interval_s", "HCR_RECONCILE_INTERVAL_S", K_INT, false, 5, 86400,
	 FIELD(rec_interval_s)},
	{"reconcile.jitter_percent", NULL, K_INT, false, 0, 50, FIELD(rec_jitter_percent)},
	{"reconcile.batch_size", NULL, K_INT, false, 1, 10000, FIELD(rec_batch_size)},
	{"reconcile.concurrency", "HCR_RECONCILE_CONCURRENCY", K_INT, false, 1, 100000,
	 FIELD(rec_concurrency)},
	{"reconcile.lease_s", "HCR_RECONCILE_LEASE_S", K_INT, false, 10, 3600, FIELD(rec_lease_s)},
	{"reconcile.op_poll_ms", "HCR_RECONCILE_OP_POLL_MS", K_INT, false, 50, 600000,
	 FIELD(rec_op_poll_ms)},
	{"reconcile.request_timeout_ms", NULL, K_INT, false, 100, 600000,
	 FIELD(rec_request_timeout_ms)},
	{"reconcile.rate_per_s", "HCR_RECONCILE_RATE_PER_S", K_INT, false, 1, 100000,
	 FIELD(rec_rate_per_s)},
	{"reconcile.burst", NULL, K_INT, false, 1, 1000000, FIELD(rec_burst)},
	{"reconcile.backoff_max_s", NULL, K_INT, false, 1, 86400, FIELD(rec_backoff_max_s)},
	{"providers.eks.poll_interval_s", "HCR_EKS_POLL_INTERVAL_S", K_INT, false, 0, 86400,
	 FIELD(poll_interval_eks_s)},
	{"providers.aks.poll_interval_s", "HCR_AKS_POLL_INTERVAL_S", K_INT, false, 0, 86400,
	 FIELD(poll_interval_aks_s)},
	{"providers.gke.poll_interval_s", "HCR_GKE_POLL_INTERVAL_S", K_INT, false, 0, 86400,
	 FIELD(poll_interval_gke_s)},
	{"providers.fake.poll_interval_s", "HCR_FAKE_POLL_INTERVAL_S", K_INT, false, 0, 86400,
	 FIELD(poll_interval_fake_s)},
	{"providers.fake.endpoint", "HCR_FAKE_ENDPOINT", K_PATH, true, 0, 0, FIELD(fake_endpoint)},
	{"providers.eks.endpoint", "HCR_EKS_ENDPOINT", K_PATH, true, 0, 0, FIELD(eks_endpoint)},
	{"providers.eks.sts_endpoint", "HCR_EKS_STS_ENDPOINT", K_PATH, true, 0, 0,
	 FIELD(eks_sts_endpoint)},
	{"providers.eks.list_updates", "HCR_EKS_LIST_UPDATES", K_BOOL, false, 0, 0,
	 FIELD(eks_list_updates)},
	{"providers.aks.endpoint", "HCR_AKS_ENDPOINT", K_PATH, true, 0, 0, FIELD(aks_endpoint)},
	{"providers.aks.authority", "HCR_AKS_AUTHORITY", K_PATH, true, 0, 0, FIELD(aks_authority)},
	{"providers.gke.endpoint", "HCR_GKE_ENDPOINT", K_PATH, true, 0, 0, FIELD(gke_endpoint)},
	{"providers.gke.token_uri", "HCR_GKE_TOKEN_URI", K_PATH, true, 0, 0, FIELD(gke_token_uri)},
	{"sync.kubeconfig", "HCR_SYNC_KUBECONFIG", K_PATH, true, 0, 0, FIELD(sync_kubeconfig)},
	{"sync.resync_s", "HCR_SYNC_RESYNC_S", K_INT, false, 5, 86400, FIELD(sync_resync_s)},
	{"sync.create_namespaces", "HCR_SYNC_CREATE_NAMESPACES", K_BOOL, false, 0, 0,
	 FIELD(sync_create_namespaces)},
	{"sync.request_timeout_ms", NULL, K_INT, false, 100, 600000,
	 FIELD(sync_request_timeout_ms)},
	{"sync.sources", "HCR_SYNC_SOURCES", K_PATH, true, 0, 0, FIELD(sync_sources)},
	{"sync.max_delete_percent", "HCR_SYNC_MAX_DELETE_PERCENT", K_INT, false, 0, 100,
	 FIELD(sync_max_delete_percent)},
};

#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

/* YAML 1.1's and environment variables' usual spellings of a boolean. */
static bool parse_bool(const char *v, long long *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = 0;
			return true;
		}
	}
	return false;
}

static bool is_string_kind(enum kind k)
{
	return k == K_LISTEN || k == K_PATH || k == K_URL;
}

static char **string_field(hcr_config *cfg, const struct setting *s)
{
	return (char **)(void *)((char *)cfg + s->offset);
}

static const struct setting *find_setting(const char *key)
{
	size_t i;

	for (i = 0; i < N_SETTINGS; i++)
		if (strcmp(settings[i].key, key) == 0)
			return &settings[i];
	return NULL;
}

/*
 * If `key` lies under `path` ("" = the top level), sets `name`/`len` to its
 * next component: child_of("api.tls.cert_file", "api") gives "tls".
 */
static bool child_of(const char *key, const char *path, const char **name, size_t *len)
{
	size_t plen = strlen(path);
	const char *dot;

	if (plen) {
		if (strncmp(key, path, plen) != 0 || key[plen] != '.')
			return false;
		key += plen + 1;
	}
	dot = strchr(key, '.');
	*name = key;
	*len = dot ? (size_t)(dot - key) : strlen(key);
	return true;
}

static bool is_section(const char *path)
{
	const char *name;
	size_t i, len;

	for (i = 0; i < N_SETTINGS; i++)
		if (child_of(settings[i].key, path, &name, &len))
			return true;
	return false;
}

/* The names valid directly under `path`, comma-separated, in table order. */
static void list_children(hcr_buf *b, const char *path)
{
	const char *name, *prev;
	size_t i, j, len, plen;
	bool seen;

	for (i = 0; i < N_SETTINGS; i++) {
		if (!child_of(settings[i].key, path, &name, &len))
			continue;
		seen = false;
		for (j = 0; j < i && !seen; j++)
			seen = child_of(settings[j].key, path, &prev, &plen) && plen == len &&
			       memcmp(prev, name, len) == 0;
		if (seen)
			continue;
		if (b->len)
			hcr_buf_puts(b, ", ");
		hcr_buf_append(b, name, len);
	}
}

static bool is_password_at(const char *p, const char *start)
{
	if (strncasecmp(p, "password", 8) != 0)
		return false;
	if (p > start && !isspace((unsigned char)p[-1]) && p[-1] != '?' && p[-1] != '&')
		return false;
	p += 8;
	while (isspace((unsigned char)*p))
		p++;
	return *p == '=';
}

/*
 * Returns a copy of `v` with passwords replaced by "***": the part between the
 * first ':' of the user info and the last '@' ("postgres://u:***@h/db"), and
 * the value of every password=... ("password=***"). It errs on the side of
 * hiding too much, since it also runs on values that did not parse.
 */
static char *mask_password(const char *v)
{
	const char *at = strrchr(v, '@'), *sep = strstr(v, "://"), *colon = NULL, *p;
	hcr_buf b = {0};

	if (at) {
		const char *begin = sep && sep < at ? sep + 3 : v;

		colon = memchr(begin, ':', (size_t)(at - begin));
	}
	hcr_buf_puts(&b, "");
	for (p = v; *p;) {
		if (colon && p == colon + 1) {
			/* The password runs to the last '@', which is copied next; an empty
			 * password ("u:@h") is masked too, and the loop moves on from '@'. */
			hcr_buf_puts(&b, "***@");
			p = at + 1;
			colon = NULL;
		} else if (is_password_at(p, v)) {
			while (*p != '=')
				hcr_buf_append(&b, p++, 1);
			hcr_buf_append(&b, p++, 1);
			while (isspace((unsigned char)*p))
				hcr_buf_append(&b, p++, 1);
			hcr_buf_puts(&b, "***");
			if (*p == '\'') {
				for (p++; *p && *p != '\''; p++)
					if (*p == '\\' && p[1])
						p++;
				if (*p)
					p++;
			} else {
				while (*p && !isspace((unsigned char)*p) && *p != '&')
					p++;
			}
		} else {
			hcr_buf_append(&b, p++, 1);
		}
	}
	return b.data;
}

/* Appends `s` in double quotes, escaped, cut after QUOTE_MAX characters. */
static void quote(hcr_buf *b, const char *s)
{
	size_t n;

	hcr_buf_puts(b, "\"");
	for (n = 0; n < QUOTE_MAX && s[n]; n++) {
		unsigned char c = (unsigned char)s[n];

		if (c == '"' || c == '\\')
			hcr_buf_printf(b, "\\%c", c);
		else if (c == '\n')
			hcr_buf_puts(b, "\\n");
		else if (c == '\t')
			hcr_buf_puts(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			hcr_buf_printf(b, "\\x%02x", c);
		else
			hcr_buf_append(b, &s[n], 1);
	}
	hcr_buf_puts(b, s[n] ? "\"..." : "\"");
}

/* "null" for NULL, else the value masked and quoted. Free the result. */
static char *describe_value(const char *v)
{
	hcr_buf b = {0};
	char *masked;

	if (!v)
		return hcr_strdup("null");
	masked = mask_password(v);
	quote(&b, masked);
	free(masked);
	return b.data;
}

static void append_size(hcr_buf *b, long long n)
{
	size_t i = 0;

	while (n % units[i].mult != 0)
		i++;
	hcr_buf_printf(b, "%lld%s", n / units[i].mult, units[i].suffix);
}

/*
 * Fails with "<where>: expected <what s accepts>, got <v, quoted>" (v NULL =
 * null, or `got` describes it already) and `why` as the detail.
 */
static int bad_value(hcr_error *err, const char *where, const struct setting *s, const char *v,
		     const char *got, const char *why)
{
	static const char *const what[] = {
		[K_LISTEN] = "host:port with a port from 1 to 65535",
		[K_PATH] = "a path",
		[K_URL] = "a libpq connection string or postgres:// URI",
		[K_LEVEL] = "one of debug, info, warn, error",
		[K_BOOL] = "true or false",
	};
	hcr_buf b = {0};
	char *quoted = got ? NULL : describe_value(v);

	hcr_buf_printf(&b, "%s: expected ", where);
	if (s->kind == K_INT) {
		hcr_buf_printf(&b, "an integer from %lld to %lld", s->min, s->max);
	} else if (s->kind == K_SIZE) {
		hcr_buf_puts(&b, "a size from ");
		append_size(&b, s->min);
		hcr_buf_puts(&b, " to ");
		append_size(&b, s->max);
	} else {
		hcr_buf_puts(&b, what[s->kind]);
	}
	hcr_buf_printf(&b, "%s, got %s", s->nullable ? " or null" : "", got ? got : quoted);
	hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG, "%s", b.data);
	if (why)
		hcr_error_detail(err, "%s", why);
	if (s->kind == K_SIZE)
		hcr_error_hint(err, "write a number of bytes, or a number with a KiB, MiB or GiB "
				    "suffix, like 512KiB");
	hcr_buf_free(&b);
	free(quoted);
	return HCR_EINVALID;
}

/* Decimal digits only; false on anything else or overflow. */
static bool parse_uint(const char **sp, long long *out)
{
	const char *s = *sp;
	long long n = 0;

	if (!isdigit((unsigned char)*s))
		return false;
	for (; isdigit((unsigned char)*s); s++) {
		if (n > (LLONG_MAX - (*s - '0')) / 10)
			return false;
		n = n * 10 + (*s - '0');
	}
	*sp = s;
	*out = n;
	return true;
}

static bool parse_int(const char *s, long long *out)
{
	return parse_uint(&s, out) && *s == '\0';
}

/* A number of bytes, or a number with a B, KiB, MiB or GiB suffix (any case). */
static bool parse_size(const char *s, long long *out)
{
	long long n;
	size_t i;

	if (!parse_uint(&s, &n))
		return false;
	while (*s == ' ')
		s++;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(s, units[i].suffix) == 0 && n <= LLONG_MAX / units[i].mult) {
			*out = n * units[i].mult;
			return true;
		}
	}
	return false;
}

/* An IPv4 address, or a DNS name of letters, digits and hyphens. */
static bool check_host(const char *h)
{
	struct in_addr a4;
	size_t label = 0;
	const char *p;

	if (strspn(h, "0123456789.") == strlen(h))
		return inet_pton(AF_INET, h, &a4) == 1;
	if (strlen(h) > 253)
		return false;
	for (p = h;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63 || p[-1] == '-')
				return false;
			if (*p == '\0')
				return true;
			label = 0;
		} else if (isalnum((unsigned char)*p) || (*p == '-' && label > 0)) {
			label++;
		} else {
			return false;
		}
	}
}

/* NULL if `v` is a good host:port, else what is wrong with it. */
static const char *check_listen(const char *v)
{
	unsigned char addr[sizeof(struct in6_addr)];
	bool v6 = v[0] == '[';
	const char *end = v6 ? strchr(v, ']') : strrchr(v, ':');
	char host[256];
	long long port;
	size_t len;

	if (!end || (v6 && end[1] != ':'))
		return v6 ? "write an IPv6 address in brackets followed by the port, like "
			    "[::1]:8080"
			  : "the port is missing";
	len = (size_t)(end - v) - v6;
	if (len == 0 || len >= sizeof(host))
		return "the host is missing or too long";
	memcpy(host, v + v6, len);
	host[len] = '\0';
	if (v6 && inet_pton(AF_INET6, host, addr) != 1)
		return "the host is not a valid IPv6 address";
	if (!v6 && strchr(host, ':'))
		return "write an IPv6 address in brackets, like [::1]:8080";
	if (!v6 && !check_host(host))
		return "the host is not a valid IPv4 address or host name";
	if (!parse_int(end + 1 + v6, &port) || port < 1 || port > 65535)
		return "the port must be a number from 1 to 65535";
	return NULL;
}

/*
 * A light check of libpq's "keyword = value ..." syntax, to catch values that
 * are plainly not connection strings; libpq checks the keywords on connect.
 */
static bool check_conninfo(const char *p)
{
	int pairs = 0;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			return pairs > 0;
		if (!isalpha((unsigned char)*p) && *p != '_')
			return false;
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		while (isspace((unsigned char)*p))
			p++;
		if (*p++ != '=')
			return false;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\'') {
			for (p++; *p && *p != '\''; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p++ != '\'')
				return false;
		} else {
			while (*p && !isspace((unsigned char)*p))
				p++;
		}
		pairs++;
	}
}

static bool check_url(const char *v)
{
	if (strncmp(v, "postgresql://", 13) == 0 || strncmp(v, "postgres://", 11) == 0)
		return true;
	return check_conninfo(v);
}

/*
 * Checks `v` (`len` bytes; NULL = null) for setting `s` and stores it in `cfg`.
 * `cfg` is only changed when the value is good.
 */
static int apply(hcr_config *cfg, const struct setting *s, const char *v, size_t len,
		 const char *where, hcr_error *err)
{
	void *field = (char *)cfg + s->offset;
	const char *why = NULL;
	hcr_log_level level = HCR_LOG_INFO;
	long long n = 0;
	bool ok = false;

	if (!v)
		ok = s->nullable;
	else if (strlen(v) != len)
		why = "the value contains a NUL character";
	else if (s->kind == K_LISTEN)
		ok = (why = check_listen(v)) == NULL;
	else if (s->kind == K_PATH)
		ok = *v != '\0';
	else if (s->kind == K_URL)
		ok = check_url(v);
	else if (s->kind == K_LEVEL)
		ok = hcr_log_level_parse(v, &level);
	else if (s->kind == K_INT)
		ok = parse_int(v, &n) && n >= s->min && n <= s->max;
	else if (s->kind == K_SIZE)
		ok = parse_size(v, &n) && n >= s->min && n <= s->max;
	else if (s->kind == K_BOOL)
		ok = parse_bool(v, &n);
	if (!ok && s->kind == K_URL && v && !why)
		why = "use key=value pairs (host=db1 dbname=hcr) or a URI "
		      "(postgres://user@db1/hcr)";
	if (!ok)
		return bad_value(err, where, s, v, NULL, why);

	if (is_string_kind(s->kind)) {
		free(*(char **)field);
		*(char **)field = hcr_strdup(v);
	} else if (s->kind == K_LEVEL) {
		*(hcr_log_level *)field = level;
	} else if (s->kind == K_INT) {
		*(int *)field = (int)n;
	} else if (s->kind == K_BOOL) {
		*(bool *)field = n != 0;
	} else {
		*(size_t *)field = (size_t)n;
	}
	return HCR_OK;
}

static void config_copy(hcr_config *out, const hcr_config *in)
{
	size_t i;

	*out = *in;
	for (i = 0; i < N_SETTINGS; i++) {
		if (is_string_kind(settings[i].kind)) {
			char **field = string_field(out, &settings[i]);

			*field = hcr_strdup(*field);
		}
	}
}

/* Replaces *cfg with *copy when rc is HCR_OK, else drops the copy. */
static int swap_in(hcr_config *cfg, hcr_config *copy, int rc)
{
	if (rc == HCR_OK) {
		hcr_config_free(cfg);
		*cfg = *copy;
	} else {
		hcr_config_free(copy);
	}
	return rc;
}

void hcr_config_defaults(hcr_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->listen = hcr_strdup("127.0.0.1:8080");
	cfg->data_dir = hcr_strdup("./var");
	cfg->log_level = HCR_LOG_INFO;
	cfg->db_pool_size = 4;
	cfg->db_connect_timeout_s = 5;
	cfg->api_max_body_bytes = (size_t)MIB;
	cfg->api_threads = 64;
	cfg->api_request_timeout_s = 30;
	cfg->rec_interval_s = 300;
	cfg->rec_jitter_percent = 10;
	cfg->rec_batch_size = 200;
	cfg->rec_concurrency = 500;
	cfg->rec_lease_s = 120;
	cfg->rec_op_poll_ms = 10000;
	cfg->rec_request_timeout_ms = 30000;
	cfg->rec_rate_per_s = 20;
	cfg->rec_burst = 40;
	cfg->rec_backoff_max_s = 600;
	cfg->eks_list_updates = true;
	cfg->sync_resync_s = 300;
	cfg->sync_request_timeout_ms = 60000;
	cfg->sync_max_delete_percent = 50;
}

void hcr_config_free(hcr_config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < N_SETTINGS; i++) {
		if (is_string_kind(settings[i].kind)) {
			char **field = string_field(cfg, &settings[i]);

			free(*field);
			*field = NULL;
		}
	}
}

/* --- the YAML file ------------------------------------------------------------------------ */

struct loader {
	const char *name;
	yaml_document_t *doc;
	hcr_config *cfg;
	hcr_error *err;
};

static bool is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	const char *v = (const char *)n->data.scalar.value;
	size_t i;

	if (n->type != YAML_SCALAR_NODE)
		return false;
	if (n->tag && strcmp((const char *)n->tag, YAML_NULL_TAG) == 0)
		return true;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(v, nulls[i]) == 0)
			return true;
	return false;
}

/* "a mapping", "a sequence", "null" or the quoted scalar. Free the result. */
static char *describe_node(const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return hcr_strdup("a mapping");
	if (n->type == YAML_SEQUENCE_NODE)
		return hcr_strdup("a sequence");
	return describe_value(is_null(n) ? NULL : (const char *)n->data.scalar.value);
}

static int line_of(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

static int unknown_key(struct loader *ld, int line, const char *path, const char *full, bool dotted)
{
	hcr_buf b = {0};

	hcr_error_set(ld->err, HCR_EINVALID, HCR_ERR_CONFIG, "%s:%d: unknown setting \"%s\"",
		      ld->name, line, full);
	list_children(&b, path);
	if (dotted)
		hcr_error_hint(ld->err,
			       "write nested settings as nested mappings, not dotted keys; "
			       "valid settings here: %s",
			       b.data);
	else if (*path)
		hcr_error_hint(ld->err, "valid settings under \"%s\": %s", path, b.data);
	else
		hcr_error_hint(ld->err, "valid settings at the top level: %s", b.data);
	hcr_buf_free(&b);
	return HCR_EINVALID;
}

/* The value of setting `s` (key `full`, on `line`). */
static int load_value(struct loader *ld, const struct setting *s, const yaml_node_t *v, int line,
		      const char *full)
{
	char *where = hcr_sprintf("%s:%d: %s", ld->name, line, full);
	char *got;
	int rc;

	if (v->type != YAML_SCALAR_NODE) {
		got = describe_node(v);
		rc = bad_value(ld->err, where, s, NULL, got, NULL);
		free(got);
	} else if (is_null(v)) {
		rc = apply(ld->cfg, s, NULL, 0, where, ld->err);
	} else {
		rc = apply(ld->cfg, s, (const char *)v->data.scalar.value, v->data.scalar.length,
			   where, ld->err);
	}
	free(where);
	return rc;
}

/* Finds an earlier key of `map` equal to `k` (libyaml itself accepts duplicates). */
static const yaml_node_t *earlier_key(struct loader *ld, const yaml_node_t *map,
				      const yaml_node_pair_t *pair, const yaml_node_t *k)
{
	const yaml_node_pair_t *p;

	for (p = map->data.mapping.pairs.start; p < pair; p++) {
		const yaml_node_t *o = yaml_document_get_node(ld->doc, p->key);

		if (o && o->type == YAML_SCALAR_NODE &&
		    o->data.scalar.length == k->data.scalar.length &&
		    memcmp(o->data.scalar.value, k->data.scalar.value, k->data.scalar.length) == 0)
			return o;
	}
	return NULL;
}

static int load_mapping(struct loader *ld, const yaml_node_t *map, const char *path)
{
	const yaml_node_pair_t *pair;
	int rc = HCR_OK;

	for (pair = map->data.mapping.pairs.start;
	     rc == HCR_OK && pair < map->data.mapping.pairs.top; pair++) {
		const yaml_node_t *k = yaml_document_get_node(ld->doc, pair->key);
		const yaml_node_t *v = yaml_document_get_node(ld->doc, pair->value);
		const yaml_node_t *first;
		const struct setting *s;
		const char *name;
		char *full, *got;
		int line;

		if (!k || !v)
			continue;
		line = line_of(k);
		if (k->type != YAML_SCALAR_NODE || is_null(k)) {
			got = describe_node(k);
			rc = hcr_error_set(ld->err, HCR_EINVALID, HCR_ERR_CONFIG,
					   "%s:%d: expected a setting name, got %s", ld->name, line,
					   got);
			free(got);
			break;
		}
		name = (const char *)k->data.scalar.value;
		full = *path ? hcr_sprintf("%s.%s", path, name) : hcr_strdup(name);
		first = earlier_key(ld, map, pair, k);
		if (first) {
			rc = hcr_error_set(ld->err, HCR_EINVALID, HCR_ERR_CONFIG,
					   "%s:%d: duplicate setting \"%s\"", ld->name, line, full);
			hcr_error_detail(ld->err, "first set at line %d", line_of(first));
		} else if (strchr(name, '.') || strlen(name) != k->data.scalar.length) {
			rc = unknown_key(ld, line, path, full, strchr(name, '.') != NULL);
		} else if ((s = find_setting(full)) != NULL) {
			rc = load_value(ld, s, v, line, full);
		} else if (!is_section(full)) {
			rc = unknown_key(ld, line, path, full, false);
		} else if (v->type == YAML_MAPPING_NODE) {
			rc = load_mapping(ld, v, full);
		} else if (!is_null(v)) { /* null: an empty group, its settings commented out */
			got = describe_node(v);
			rc = hcr_error_set(ld->err, HCR_EINVALID, HCR_ERR_CONFIG,
					   "%s:%d: %s: expected a mapping, got %s", ld->name, line,
					   full, got);
			free(got);
		}
		free(full);
	}
	return rc;
}

/* Like hcr_malloc: libyaml running out of memory is not worth recovering from. */
static void yaml_oom(const char *name)
{
	fprintf(stderr, "hcr: out of memory parsing %s\n", name);
	abort();
}

static int syntax_error(const yaml_parser_t *p, const char *name, const char *yaml, size_t len,
			hcr_error *err)
{
	size_t line = p->problem_mark.line + 1, i;

	if (p->error == YAML_MEMORY_ERROR)
		yaml_oom(name);
	if (p->error == YAML_READER_ERROR) {
		/* The reader reports a byte offset, not a mark. */
		for (line = 1, i = 0; i < p->problem_offset && i < len; i++)
			line += yaml[i] == '\n';
	}
	hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG, "%s:%zu: invalid YAML: %s", name, line,
		      p->problem ? p->problem : "unknown error");
	if (p->context)
		hcr_error_detail(err, "%s at line %zu", p->context, p->context_mark.line + 1);
	return HCR_EINVALID;
}

int hcr_config_load_string(hcr_config *cfg, const char *yaml, size_t len, const char *name,
			   hcr_error *err)
{
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	bool have_doc = false, have_extra = false;
	const yaml_node_t *root, *more;
	struct loader ld;
	hcr_config copy;
	char *got;
	int rc = HCR_OK;

	if (!name)
		name = "<string>";
	if (!yaml) {
		yaml = "";
		len = 0;
	}
	config_copy(&copy, cfg);
	if (!yaml_parser_initialize(&parser))
		yaml_oom(name);
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);

	if (!yaml_parser_load(&parser, &doc)) {
		rc = syntax_error(&parser, name, yaml, len, err);
		goto done;
	}
	have_doc = true;
	root = yaml_document_get_root_node(&doc);
	if (!root)
		goto done; /* empty or only comments: all defaults */

	if (!yaml_parser_load(&parser, &extra)) {
		rc = syntax_error(&parser, name, yaml, len, err);
		goto done;
	}
	have_extra = true;
	more = yaml_document_get_root_node(&extra);
	if (more) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
				   "%s:%d: expected one YAML document, got another", name,
				   line_of(more));
		hcr_error_hint(err, "remove the \"---\" line and merge the documents");
		goto done;
	}

	if (root->type != YAML_MAPPING_NODE) {
		if (is_null(root))
			goto done; /* "---" alone */
		got = describe_node(root);
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
				   "%s:%d: expected a mapping of settings at the top level, got %s",
				   name, line_of(root), got);
		free(got);
		goto done;
	}
	ld = (struct loader){name, &doc, &copy, err};
	rc = load_mapping(&ld, root, "");

done:
	if (have_extra)
		yaml_document_delete(&extra);
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return swap_in(cfg, &copy, rc);
}

int hcr_config_load_file(hcr_config *cfg, const char *path, hcr_error *err)
{
	hcr_buf buf = {0};
	char chunk[8192];
	FILE *f;
	size_t n;
	int rc;

	f = fopen(path, "rb");
	if (!f) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
				   "could not open configuration file \"%s\": %s", path,
				   strerror(errno));
		goto done;
	}
	hcr_buf_puts(&buf, "");
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf.len + n > MAX_FILE_SIZE) {
			rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
					   "configuration file \"%s\" is larger than 1MiB", path);
			goto done;
		}
		hcr_buf_append(&buf, chunk, n);
	}
	if (ferror(f)) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
				   "could not read configuration file \"%s\": %s", path,
				   strerror(errno));
		goto done;
	}
	rc = hcr_config_load_string(cfg, buf.data, buf.len, path, err);

done:
	if (f)
		fclose(f);
	hcr_buf_free(&buf);
	return rc;
}

/* --- environment and flags ---------------------------------------------------------------- */

static const char *real_getenv(const char *name)
{
	return getenv(name);
}

int hcr_config_apply_env(hcr_config *cfg, const char *(*getenv_fn)(const char *name),
			 hcr_error *err)
{
	hcr_config copy;
	size_t i;
	int rc = HCR_OK;

	if (!getenv_fn)
		getenv_fn = real_getenv;
	config_copy(&copy, cfg);
	for (i = 0; rc == HCR_OK && i < N_SETTINGS; i++) {
		const struct setting *s = &settings[i];
		const char *v;
		char *where;

		if (!s->env)
			continue;
		v = getenv_fn(s->env);
		if (!v || !*v)
			continue;
		where = hcr_sprintf("environment %s", s->env);
		rc = apply(&copy, s, v, strlen(v), where, err);
		free(where);
	}
	return swap_in(cfg, &copy, rc);
}

int hcr_config_set(hcr_config *cfg, const char *key, const char *value, const char *source,
		   hcr_error *err)
{
	const struct setting *s = key ? find_setting(key) : NULL;
	hcr_buf b = {0};
	size_t i;

	if (!s) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG, "%s%sunknown setting \"%s\"",
			      source ? source : "", source ? ": " : "", key ? key : "");
		for (i = 0; i < N_SETTINGS; i++)
			hcr_buf_printf(&b, "%s%s", i ? ", " : "", settings[i].key);
		hcr_error_hint(err, "valid settings: %s", b.data);
		hcr_buf_free(&b);
		return HCR_EINVALID;
	}
	return apply(cfg, s, value, value ? strlen(value) : 0, source ? source : key, err);
}

int hcr_config_validate(const hcr_config *cfg, hcr_error *err)
{
	if (!cfg->tls_cert_file != !cfg->tls_key_file) {
		hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG, "%s is set but %s is not",
			      cfg->tls_cert_file ? "api.tls.cert_file" : "api.tls.key_file",
			      cfg->tls_cert_file ? "api.tls.key_file" : "api.tls.cert_file");
		hcr_error_hint(err, "set both to serve HTTPS, or neither to serve plain HTTP");
		return HCR_EINVALID;
	}
	return HCR_OK;
}
