/*
 * Unit tests for src/config.c: defaults, the YAML file (values, every class of
 * error with its line), environment variables, flags, size suffixes, password
 * masking in errors, and that deploy/hcr.example.yaml loads.
 *
 * Run from the repository root (the example file is read by relative path).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hcr/config.h"

#define NAME "t.yaml"

static int load(hcr_config *cfg, const char *yaml, hcr_error *err)
{
	return hcr_config_load_string(cfg, yaml, strlen(yaml), NAME, err);
}

static void assert_str_or_null(const char *got, const char *want)
{
	if (!want) {
		assert_null(got);
	} else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
}

static void assert_config_equal(const hcr_config *a, const hcr_config *b)
{
	assert_str_or_null(a->listen, b->listen);
	assert_str_or_null(a->data_dir, b->data_dir);
	assert_int_equal(a->log_level, b->log_level);
	assert_str_or_null(a->database_url, b->database_url);
	assert_int_equal(a->db_pool_size, b->db_pool_size);
	assert_int_equal(a->db_connect_timeout_s, b->db_connect_timeout_s);
	assert_str_or_null(a->pg_bin_dir, b->pg_bin_dir);
	assert_str_or_null(a->master_key_file, b->master_key_file);
	assert_int_equal(a->api_max_body_bytes, b->api_max_body_bytes);
	assert_int_equal(a->api_threads, b->api_threads);
	assert_int_equal(a->api_request_timeout_s, b->api_request_timeout_s);
	assert_str_or_null(a->tls_cert_file, b->tls_cert_file);
	assert_str_or_null(a->tls_key_file, b->tls_key_file);
	assert_int_equal(a->rec_interval_s, b->rec_interval_s);
	assert_int_equal(a->rec_rate_per_s, b->rec_rate_per_s);
	assert_int_equal(a->poll_interval_eks_s, b->poll_interval_eks_s);
	assert_str_or_null(a->fake_endpoint, b->fake_endpoint);
	assert_str_or_null(a->eks_endpoint, b->eks_endpoint);
	assert_str_or_null(a->eks_sts_endpoint, b->eks_sts_endpoint);
	assert_int_equal(a->eks_list_updates, b->eks_list_updates);
	assert_str_or_null(a->aks_endpoint, b->aks_endpoint);
	assert_str_or_null(a->aks_authority, b->aks_authority);
	assert_str_or_null(a->gke_endpoint, b->gke_endpoint);
	assert_str_or_null(a->gke_token_uri, b->gke_token_uri);
}

static void assert_config_is_default(const hcr_config *cfg)
{
	hcr_config def;

	hcr_config_defaults(&def);
	assert_config_equal(cfg, &def);
	hcr_config_free(&def);
}

static void test_config__defaults(void **state)
{
	hcr_config cfg;
	hcr_error err = {0};

	(void)state;
	hcr_config_defaults(&cfg);
	assert_string_equal(cfg.listen, "127.0.0.1:8080");
	assert_string_equal(cfg.data_dir, "./var");
	assert_int_equal(cfg.log_level, HCR_LOG_INFO);
	assert_null(cfg.database_url);
	assert_int_equal(cfg.db_pool_size, 4);
	assert_int_equal(cfg.db_connect_timeout_s, 5);
	assert_null(cfg.pg_bin_dir);
	assert_null(cfg.master_key_file);
	assert_int_equal(cfg.api_max_body_bytes, 1048576);
	assert_int_equal(cfg.api_threads, 64);
	assert_int_equal(cfg.api_request_timeout_s, 30);
	assert_null(cfg.tls_cert_file);
	assert_null(cfg.tls_key_file);
	assert_int_equal(hcr_config_validate(&cfg, &err), HCR_OK);
	hcr_config_free(&cfg);
	assert_null(cfg.listen);
	assert_null(cfg.data_dir);
}

static void test_config__full_file(void **state)
{
	static const char yaml[] = "# every setting\n"
				   "listen: \"[::1]:9090\"\n"
				   "data_dir: /srv/hcr\n"
				   "log:\n"
				   "  level: debug\n"
				   "database:\n"
				   "  url: \"postgres://hcr:pw@db1:5432/hcr?sslmode=require\"\n"
				   "  pool_size: 16\n"
				   "  connect_timeout_s: 300\n"
				   "  embedded:\n"
				   "    bin_dir: /usr/lib/postgresql/16/bin\n"
				   "security:\n"
				   "  master_key_file: /etc/hcr/master.key\n"
				   "api:\n"
				   "  max_body_bytes: 64MiB\n"
				   "  threads: 64\n"
				   "  request_timeout_s: 3600\n"
				   "  tls:\n"
				   "    cert_file: /etc/hcr/tls.crt\n"
				   "    key_file: '/etc/hcr/tls.key'\n";
	hcr_config cfg;
	hcr_error err = {0};

	(void)state;
	hcr_config_defaults(&cfg);
	assert_int_equal(load(&cfg, yaml, &err), HCR_OK);
	assert_string_equal(cfg.listen, "[::1]:9090");
	assert_string_equal(cfg.data_dir, "/srv/hcr");
	assert_int_equal(cfg.log_level, HCR_LOG_DEBUG);
	/* the stored URL keeps its password; only error messages mask it */
	assert_string_equal(cfg.database_url, "postgres://hcr:pw@db1:5432/hcr?sslmode=require");
	assert_int_equal(cfg.db_pool_size, 16);
	assert_int_equal(cfg.db_connect_timeout_s, 300);
	assert_string_equal(cfg.pg_bin_dir, "/usr/lib/postgresql/16/bin");
	assert_string_equal(cfg.master_key_file, "/etc/hcr/master.key");
	assert_int_equal(cfg.api_max_body_bytes, 64 * 1024 * 1024);
	assert_int_equal(cfg.api_threads, 64);
	assert_int_equal(cfg.api_request_timeout_s, 3600);
	assert_string_equal(cfg.tls_cert_file, "/etc/hcr/tls.crt");
	assert_string_equal(cfg.tls_key_file, "/etc/hcr/tls.key");
	assert_int_equal(hcr_config_validate(&cfg, &err), HCR_OK);
	hcr_config_free(&cfg);
}

/* Files that change nothing. */
static void test_config__empty_files_keep_defaults(void **state)
{
	static const char *const cases[] = {
		"",
		"# only a comment\n\n",
		"---\n",
		"---\n...\n",
		"api:\n",
		"api:\n  # threads: 8\n  tls:\n",
		"database: ~\nlog: null\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hcr_config cfg;
		hcr_error err = {0};

		hcr_config_defaults(&cfg);
		if (load(&cfg, cases[i], &err) != HCR_OK)
			fail_msg("case %zu: %s", i, err.message);
		assert_config_is_default(&cfg);
		hcr_config_free(&cfg);
	}
}

static void test_config__null_input_is_empty(void **state)
{
	hcr_config cfg;
	hcr_error err = {0};

	(void)state;
	hcr_config_defaults(&cfg);
	assert_int_equal(hcr_config_load_string(&cfg, NULL, 0, NULL, &err), HCR_OK);
	assert_config_is_default(&cfg);
	/* without a name, errors say where as "<string>" */
	assert_int_equal(hcr_config_load_string(&cfg, "x: 1", 4, NULL, &err), HCR_EINVALID);
	assert_string_equal(err.message, "<string>:1: unknown setting \"x\"");
	/* only `len` bytes are read */
	assert_int_equal(hcr_config_load_string(&cfg, "api: {threads: 8}garbage", 17, NULL, &err),
			 HCR_OK);
	assert_int_equal(cfg.api_threads, 8);
	hcr_config_free(&cfg);
}

static void test_config__null_unsets_strings(void **state)
{
	static const char yaml[] = "database:\n"
				   "  url: ~\n"
				   "security:\n"
				   "  master_key_file: null\n"
				   "api:\n"
				   "  tls:\n"
				   "    cert_file: !!null whatever\n"
				   "    key_file:\n";
	hcr_config cfg;
	hcr_error err = {0};

	(void)state;
	hcr_config_defaults(&cfg);
	assert_int_equal(hcr_config_set(&cfg, "database.url", "host=db1", NULL, &err), HCR_OK);
	assert_int_equal(hcr_config_set(&cfg, "security.master_key_file", "/k", NULL, &err), 0);
	assert_int_equal(hcr_config_set(&cfg, "api.tls.cert_file", "/c", NULL, &err), HCR_OK);
	assert_int_equal(hcr_config_set(&cfg, "api.tls.key_file", "/k", NULL, &err), HCR_OK);
	assert_int_equal(load(&cfg, yaml, &err), HCR_OK);
	assert_config_is_default(&cfg);

	/* a quoted "null" is a string, not null */
	assert_int_equal(load(&cfg, "security:\n  master_key_file: \"null\"\n", &err), HCR_OK);
	assert_string_equal(cfg.master_key_file, "null");
	hcr_config_free(&cfg);
}

struct error_case {
	const char *yaml;
	const char *message; /* exact, with the line */
	const char *hint;    /* a substring of the hint, or NULL */
};

/* One row per class of error; each asserts the exact message, line included. */
static const struct error_case error_cases[] = {
	/* unknown keys, with the valid keys at that level in the hint */
	{"listn: x\n", NAME ":1: unknown setting \"listn\"",
	 "valid settings at the top level: listen, data_dir, log, database, security, api"},
	{"api:\n  threads: 2\n  thread: 3\n", NAME ":3: unknown setting \"api.thread\"",
	 "valid settings under \"api\": max_body_bytes, threads, request_timeout_s, tls"},
	{"api:\n  tls:\n    cert: a\n", NAME ":3: unknown setting \"api.tls.cert\"",
	 "valid settings under \"api.tls\": cert_file, key_file"},
	{"database.url: x\n", NAME ":1: unknown setting \"database.url\"", "nested mappings"},
	{"log:\n  level: info\n  format: json\n", NAME ":3: unknown setting \"log.format\"",
	 "under \"log\": level"},
	/* bad values */
	{"database:\n  pool_size: lots\n",
	 NAME ":2: database.pool_size: expected an integer from 1 to 64, got \"lots\"", NULL},
	{"\n\ndatabase:\n  url: host=x\n  pool_size: 65\n",
	 NAME ":5: database.pool_size: expected an integer from 1 to 64, got \"65\"", NULL},
	{"database:\n  connect_timeout_s: 0\n",
	 NAME ":2: database.connect_timeout_s: expected an integer from 1 to 300, got \"0\"", NULL},
	{"api:\n  threads: -1\n",
	 NAME ":2: api.threads: expected an integer from 1 to 1024, got \"-1\"", NULL},
	{"api:\n  threads: 4.0\n",
	 NAME ":2: api.threads: expected an integer from 1 to 1024, got \"4.0\"", NULL},
	{"api:\n  threads: 99999999999999999999999\n",
	 NAME
	 ":2: api.threads: expected an integer from 1 to 1024, got \"99999999999999999999999\"",
	 NULL},
	{"api:\n  request_timeout_s: 3601\n",
	 NAME ":2: api.request_timeout_s: expected an integer from 1 to 3600, got \"3601\"", NULL},
	{"api:\n  max_body_bytes: 1MB\n",
	 NAME ":2: api.max_body_bytes: expected a size from 1KiB to 64MiB, got \"1MB\"",
	 "KiB, MiB or GiB suffix"},
	{"log:\n  level: verbose\n",
	 NAME ":2: log.level: expected one of debug, info, warn, error, got \"verbose\"", NULL},
	{"listen: localhost\n",
	 NAME ":1: listen: expected host:port with a port from 1 to 65535, got \"localhost\"",
	 NULL},
	{"data_dir: \"\"\n", NAME ":1: data_dir: expected a path, got \"\"", NULL},
	{"data_dir: \"a\\0b\"\n", NAME ":1: data_dir: expected a path, got \"a\"", NULL},
	{"database:\n  url: mydb\n",
	 NAME ":2: database.url: expected a libpq connection string or postgres:// URI or null, "
	      "got \"mydb\"",
	 NULL},
	/* null where a number is expected */
	{"api:\n  threads: ~\n",
	 NAME ":2: api.threads: expected an integer from 1 to 1024, got null", NULL},
	{"database:\n  pool_size:\n",
	 NAME ":2: database.pool_size: expected an integer from 1 to 64, "
	      "got null",
	 NULL},
	{"listen: null\n",
	 NAME ":1: listen: expected host:port with a port from 1 to 65535, got null", NULL},
	/* a mapping or sequence where a scalar is expected, and the reverse */
	{"listen:\n  host: 0.0.0.0\n  port: 80\n",
	 NAME ":1: listen: expected host:port with a port from 1 to 65535, got a mapping", NULL},
	{"api:\n  tls:\n    cert_file: [a, b]\n",
	 NAME ":3: api.tls.cert_file: expected a path or null, got a sequence", NULL},
	{"api: 8\n", NAME ":1: api: expected a mapping, got \"8\"", NULL},
	{"log:\n  - level\n", NAME ":1: log: expected a mapping, got a sequence", NULL},
	{"database:\n  embedded: yes\n",
	 NAME ":2: database.embedded: expected a mapping, got \"yes\"", NULL},
	/* duplicate keys, at the top and nested */
	{"listen: a:1\ndata_dir: x\nlisten: b:2\n", NAME ":3: duplicate setting \"listen\"", NULL},
	{"api:\n  threads: 2\napi:\n  threads: 3\n", NAME ":3: duplicate setting \"api\"", NULL},
	{"api:\n  tls:\n    key_file: a\n    key_file: a\n",
	 NAME ":4: duplicate setting \"api.tls.key_file\"", NULL},
	/* keys that are not names */
	{"\"api\\0x\": 1\n", NAME ":1: unknown setting \"api\"", "at the top level"},
	{"? [a]\n: 1\n", NAME ":1: expected a setting name, got a sequence", NULL},
	/* the top level */
	{"- listen\n- data_dir\n",
	 NAME ":1: expected a mapping of settings at the top level, got "
	      "a sequence",
	 NULL},
	{"just text\n",
	 NAME ":1: expected a mapping of settings at the top level, got \"just text\"", NULL},
	{"listen: 1.2.3.4:80\n---\napi: {}\n", NAME ":3: expected one YAML document, got another",
	 NULL},
	/* YAML syntax, with libyaml's own text */
	{"api:\n  threads: 4\n threads: 5\n", NAME ":3: invalid YAML: did not find expected key",
	 NULL},
	{"log: [debug\ndata_dir: x\n", NAME ":2: invalid YAML: did not find expected ',' or ']'",
	 NULL},
	{"listen: a\n  b: c\n",
	 NAME ":2: invalid YAML: mapping values are not allowed in this context", NULL},
	{"listen: 1.2.3.4:80\n\tdata_dir: x\n",
	 NAME ":2: invalid YAML: found a tab character that violates indentation", NULL},
	{"data_dir: *dir\n", NAME ":1: invalid YAML: found undefined alias", NULL},
	{"log:\n  level: info\ndata_dir: \"unterminated\n",
	 NAME ":4: invalid YAML: found unexpected end of stream", NULL},
	{"listen: 1.2.3.4:80\ndata_dir: \xff\n",
	 NAME ":2: invalid YAML: invalid leading UTF-8 octet", NULL},
};

static void test_config__file_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *c = &error_cases[i];
		hcr_config cfg;
		hcr_error err = {0};
		int rc;

		hcr_config_defaults(&cfg);
		rc = load(&cfg, c->yaml, &err);
		if (rc != HCR_EINVALID || strcmp(err.message, c->message) != 0)
			fail_msg("case %zu: rc %d, message\n  got  %s\n  want %s", i, rc,
				 err.message, c->message);
		assert_string_equal(err.code, HCR_ERR_CONFIG);
		if (c->hint && !strstr(err.hint, c->hint))
			fail_msg("case %zu: hint \"%s\" lacks \"%s\"", i, err.hint, c->hint);
		assert_config_is_default(&cfg);
		hcr_config_free(&cfg);
	}
}

static void test_config__duplicate_names_first_line(void **state)
{
	hcr_config cfg;
	hcr_error err = {0};

	(void)state;
	hcr_config_defaults(&cfg);
	assert_int_equal(load(&cfg, "\nlog:\n  level: warn\nlog:\n  level: info\n", &err),
			 HCR_EINVALID);
	assert_string_equal(err.message, NAME ":4: duplicate setting \"log\"");
	assert_string_equal(err.detail, "first set at line 2");
	hcr_config_free(&cfg);
}

static void test_config__listen_forms(void **state)
{
	static const struct {
		const char *value;
		int ok;
	} cases[] = {
		{"127.0.0.1:8080", 1},
		{"0.0.0.0:1", 1},
		{"[::1]:65535", 1},
		{"[::]:443", 1},
		{"[2001:db8::1]:8080", 1},
		{"localhost:8080", 1},
		{"hcr-1.internal.example.com:80", 1},
		{"localhost", 0},
		{"localhost:", 0},
		{":8080", 0},
		{"127.0.0.1:0", 0},
		{"127.0.0.1:65536", 0},
		{"127.0.0.1:80a", 0},
		{"256.1.1.1:80", 0},
		{"::1:8080", 0},
		{"[::1]8080", 0},
		{"[::1:8080", 0},
		{"[zz::1]:80", 0},
		{"-bad.example:80", 0},
		{"under_score:80", 0},
		{"a..b:80", 0},
		{"host name:80", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hcr_config cfg;
		hcr_error err = {0};
		int rc;

		hcr_config_defaults(&cfg);
		rc = hcr_config_set(&cfg, "listen", cases[i].value, "--listen", &err);
		if (cases[i].ok && rc != HCR_OK)
			fail_msg("\"%s\" refused: %s", cases[i].value, err.message);
		if (!cases[i].ok && rc != HCR_EINVALID)
			fail_msg("\"%s\" accepted", cases[i].value);
		if (cases[i].ok) {
			assert_string_equal(cfg.listen, cases[i].value);
		} else {
			assert_string_equal(cfg.listen, "127.0.0.1:8080");
			assert_non_null(strstr(err.message, "--listen: expected host:port"));
			assert_true(err.detail[0] != '\0');
		}
		hcr_config_free(&cfg);
	}
}

static void test_config__size_suffixes(void **state)
{
	static const struct {
		const char *value;
		size_t bytes; /* 0 = refused */
	} cases[] = {
		{"1024", 1024},
		{"1048576", 1048576},
		{"1KiB", 1024},
		{"512KiB", 524288},
		{"512 KiB", 524288},
		{"1MiB", 1048576},
		{"2mib", 2097152},
		{"64MiB", 67108864},
		{"67108864B", 67108864},
		{"1023", 0},
		{"1023B", 0},
		{"65MiB", 0},
		{"1GiB", 0},
		{"1MB", 0},
		{"1 M", 0},
		{"MiB", 0},
		{"1.5MiB", 0},
		{"-1KiB", 0},
		{"1KiB ", 0},
		{"99999999999999GiB", 0},
		{"9223372036854775807KiB", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hcr_config cfg;
		hcr_error err = {0};
		int rc;

		hcr_config_defaults(&cfg);
		rc = hcr_config_set(&cfg, "api.max_body_bytes", cases[i].value, NULL, &err);
		if (cases[i].bytes) {
			if (rc != HCR_OK)
				fail_msg("\"%s\" refused: %s", cases[i].value, err.message);
			assert_int_equal(cfg.api_max_body_bytes, cases[i].bytes);
		} else {
			if (rc != HCR_EINVALID)
				fail_msg("\"%s\" accepted", cases[i].value);
			assert_int_equal(cfg.api_max_body_bytes, 1048576);
			assert_non_null(strstr(err.message, "api.max_body_bytes: expected a size "
							    "from 1KiB to 64MiB, got"));
		}
		hcr_config_free(&cfg);
	}
}

static void test_config__booleans(void **state)
{
	static const struct {
		const char *value;
		int want; /* 1 true, 0 false, -1 refused */
	} cases[] = {
		{"true", 1},  {"True", 1},  {"yes", 1}, {"on", 1},     {"1", 1},
		{"false", 0}, {"FALSE", 0}, {"no", 0},  {"off", 0},    {"0", 0},
		{"", -1},     {"2", -1},    {"y", -1},  {"truee", -1}, {" true", -1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hcr_config cfg;
		hcr_error err = {0};
		int rc;

		hcr_config_defaults(&cfg);
		assert_true(cfg.eks_list_updates);
		if (cases[i].want == 1)
			cfg.eks_list_updates = false;
		rc = hcr_config_set(&cfg, "providers.eks.list_updates", cases[i].value, NULL, &err);
		if (cases[i].want >= 0) {
			if (rc != HCR_OK)
				fail_msg("\"%s\" refused: %s", cases[i].value, err.message);
			assert_int_equal(cfg.eks_list_updates, cases[i].want == 1);
		} else {
			if (rc != HCR_EINVALID)
				fail_msg("\"%s\" accepted", cases[i].value);
			assert_true(cfg.eks_list_updates);
			assert_non_null(strstr(err.message, "providers.eks.list_updates: expected "
							    "true or false, got"));
		}
		hcr_config_free(&cfg);
	}
}

static void test_config__unchanged_on_failure(void **state)
{
	/* sets several things, then fails on the last line */
	static const char yaml[] = "listen: 0.0.0.0:9999\n"
				   "data_dir: /elsewhere\n"
				   "database:\n"
				   "  url: host=other\n"
				   "api:\n"
				   "  tls:\n"
				   "    cert_file: ~\n"
				   "  threads: 100000\n";
	hcr_config cfg, before;
	hcr_error err = {0};
	const char *listen_ptr;

	(void)state;
	hcr_config_defaults(&cfg);
	assert_int_equal(load(&cfg, "listen: 10.0.0.1:80\napi:\n  tls:\n    cert_file: /c\n", &err),
			 HCR_OK);
	hcr_config_defaults(&before);
	assert_int_equal(hcr_config_set(&before, "listen", "10.0.0.1:80", NULL, &err), HCR_OK);
	assert_int_equal(hcr_config_set(&before, "api.tls.cert_file", "/c", NULL, &err), HCR_OK);
	listen_ptr = cfg.listen;

	assert_int_equal(load(&cfg, yaml, &err), HCR_EINVALID);
	assert_string_equal(err.message, NAME
			    ":8: api.threads: expected an integer from 1 to 1024, got \"100000\"");
	assert_config_equal(&cfg, &before);
	assert_ptr_equal(cfg.listen, listen_ptr);

	/* a syntax error after good settings changes nothing either */
	assert_int_equal(load(&cfg, "listen: 0.0.0.0:1\ndata_dir: [\n", &err), HCR_EINVALID);
	assert_config_equal(&cfg, &before);
	hcr_config_free(&before);
	hcr_config_free(&cfg);
}

static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
	size_t i;

	for (i = 0; fake_env && fake_env[i]; i += 2)
		if (strcmp(fake_env[i], name) == 0)
			return fake_env[i + 1];
	return NULL;
}

static void test_config__env_overrides(void **state)
{
	static const char *const env[] = {
		"HCR_LISTEN",
		"0.0.0.0:80",
		"HCR_DATA_DIR",
		"/data",
		"HCR_LOG_LEVEL",
		"error",
		"HCR_DATABASE_URL",
		"postgresql:///hcr",
		"HCR_DATABASE_POOL_SIZE",
		"8",
		"HCR_MASTER_KEY_FILE",
		"/run/secrets/key",
		"HCR_TLS_CERT_FILE",
		"/tls/crt",
		"HCR_TLS_KEY_FILE",
		"/tls/key",
		"HCR_API_MAX_BODY_BYTES",
		"2MiB",
		"HCR_API_THREADS",
		"16",
		"HCR_UNRELATED",
		"x",
		NULL,
	};
	hcr_config cfg;
	hcr_error err = {0};

	(void)state;
	hcr_config_defaults(&cfg);
	assert_int_equal(load(&cfg, "listen: 1.1.1.1:1\napi:\n  threads: 2\n", &err), HCR_OK);
	fake_env = env;
	assert_int_equal(hcr_config_apply_env(&cfg, fake_getenv, &err), HCR_OK);
	assert_string_equal(cfg.listen, "0.0.0.0:80");
	assert_string_equal(cfg.data_dir, "/data");
	assert_int_equal(cfg.log_level, HCR_LOG_ERROR);
	assert_string_equal(cfg.database_url, "postgresql:///hcr");
	assert_int_equal(cfg.db_pool_size, 8);
	assert_string_equal(cfg.master_key_file, "/run/secrets/key");
	assert_string_equal(cfg.tls_cert_file, "/tls/crt");
	assert_string_equal(cfg.tls_key_file, "/tls/key");
	assert_int_equal(cfg.api_max_body_bytes, 2 * 1024 * 1024);
	assert_int_equal(cfg.api_threads, 16);
	/* settings without a variable keep their values */
	assert_int_equal(cfg.db_connect_timeout_s, 5);
	assert_int_equal(cfg.api_request_timeout_s, 30);
	hcr_config_free(&cfg);
}

static void test_config__env_empty_is_unset(void **state)
{
	static const char *const env[] = {"HCR_LISTEN", "", "HCR_API_THREADS", "", NULL};
	hcr_config cfg;
	hcr_error err = {0};

	(void)state;
	hcr_config_defaults(&cfg);
	fake_env = env;
	assert_int_equal(hcr_config_apply_env(&cfg, fake_getenv, &err), HCR_OK);
	assert_config_is_default(&cfg);
	fake_env = NULL;
	assert_int_equal(hcr_config_apply_env(&cfg, fake_getenv, &err), HCR_OK);
	assert_config_is_default(&cfg);
	hcr_config_free(&cfg);
}

static void test_config__env_errors_name_the_variable(void **state)
{
	static const struct {
		const char *name, *value, *message;
	} cases[] = {
		{"HCR_API_THREADS", "x",
		 "environment HCR_API_THREADS: expected an integer from 1 to 1024, got \"x\""},
		{"HCR_DATABASE_POOL_SIZE", "0",
		 "environment HCR_DATABASE_POOL_SIZE: expected an integer from 1 to 64, got \"0\""},
		{"HCR_LOG_LEVEL", "INFO",
		 "environment HCR_LOG_LEVEL: expected one of debug, info, warn, error, got "
		 "\"INFO\""},
		{"HCR_LISTEN", "8080",
		 "environment HCR_LISTEN: expected host:port with a port from 1 to 65535, got "
		 "\"8080\""},
		{"HCR_API_MAX_BODY_BYTES", "100",
		 "environment HCR_API_MAX_BODY_BYTES: expected a size from 1KiB to 64MiB, got "
		 "\"100\""},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* a good variable first: it must not stick when a later one fails */
		const char *env[] = {"HCR_DATA_DIR", "/changed", cases[i].name, cases[i].value,
				     NULL};
		hcr_config cfg;
		hcr_error err = {0};

		hcr_config_defaults(&cfg);
		fake_env = env;
		assert_int_equal(hcr_config_apply_env(&cfg, fake_getenv, &err), HCR_EINVALID);
		assert_string_equal(err.message, cases[i].message);
		assert_string_equal(err.code, HCR_ERR_CONFIG);
		assert_config_is_default(&cfg);
		hcr_config_free(&cfg);
	}
	fake_env = NULL;
}

static void test_config__set_from_flags(void **state)
{
	hcr_config cfg;
	hcr_error err = {0};

	(void)state;
	hcr_config_defaults(&cfg);
	assert_int_equal(hcr_config_set(&cfg, "listen", "[::]:8443", "--listen", &err), HCR_OK);
	assert_int_equal(hcr_config_set(&cfg, "data_dir", "/d", "--data-dir", &err), HCR_OK);
	assert_int_equal(hcr_config_set(&cfg, "database.url", "host=db dbname=hcr user='a b'",
					"--database-url", &err),
			 HCR_OK);
	assert_int_equal(
		hcr_config_set(&cfg, "security.master_key_file", "/k", "--master-key-file", &err),
		HCR_OK);
	assert_int_equal(hcr_config_set(&cfg, "log.level", "warn", "--log-level", &err), HCR_OK);
	assert_int_equal(hcr_config_set(&cfg, "database.connect_timeout_s", "17", NULL, &err),
			 HCR_OK);
	assert_string_equal(cfg.listen, "[::]:8443");
	assert_string_equal(cfg.data_dir, "/d");
	assert_string_equal(cfg.database_url, "host=db dbname=hcr user='a b'");
	assert_string_equal(cfg.master_key_file, "/k");
	assert_int_equal(cfg.log_level, HCR_LOG_WARN);
	assert_int_equal(cfg.db_connect_timeout_s, 17);

	/* a NULL value unsets a string setting whose default is null */
	assert_int_equal(hcr_config_set(&cfg, "database.url", NULL, "--database-url", &err), 0);
	assert_null(cfg.database_url);

	/* errors name the flag and leave the setting alone */
	assert_int_equal(hcr_config_set(&cfg, "log.level", "loud", "--log-level", &err),
			 HCR_EINVALID);
	assert_string_equal(err.message,
			    "--log-level: expected one of debug, info, warn, error, got \"loud\"");
	assert_int_equal(cfg.log_level, HCR_LOG_WARN);
	assert_int_equal(hcr_config_set(&cfg, "data_dir", "", "--data-dir", &err), HCR_EINVALID);
	assert_string_equal(err.message, "--data-dir: expected a path, got \"\"");
	assert_string_equal(cfg.data_dir, "/d");
	assert_int_equal(hcr_config_set(&cfg, "api.threads", NULL, NULL, &err), HCR_EINVALID);
	assert_string_equal(err.message,
			    "api.threads: expected an integer from 1 to 1024, got null");

	/* unknown keys, including groups, are refused with the list of settings */
	assert_int_equal(hcr_config_set(&cfg, "api", "x", "--api", &err), HCR_EINVALID);
	assert_string_equal(err.message, "--api: unknown setting \"api\"");
	assert_non_null(strstr(err.hint, "api.threads"));
	assert_int_equal(hcr_config_set(&cfg, "api.thread", "1", NULL, &err), HCR_EINVALID);
	assert_string_equal(err.message, "unknown setting \"api.thread\"");
	assert_string_equal(err.code, HCR_ERR_CONFIG);
	hcr_config_free(&cfg);
}

/* Invalid database URLs are quoted in errors with the password masked. */
static void test_config__masks_passwords(void **state)
{
	static const struct {
		const char *value, *shown;
	} cases[] = {
		{"postgress://hcr:s3cret@db1/hcr", "\"postgress://hcr:***@db1/hcr\""},
		{"hcr:s3cret@db1/hcr", "\"hcr:***@db1/hcr\""},
		{"postgresql:/hcr:s3cret@db1", "\"postgresql:***@db1\""},
		{"pg://hcr:s3c:r@t@db1/hcr", "\"pg://hcr:***@db1/hcr\""},
		{"host=db1 password=s3cret dbname", "\"host=db1 password=*** dbname\""},
		{"host=db1 password = 's3 cr\\'et' x", "\"host=db1 password = *** x\""},
		{"host=db1 PASSWORD=s3cret user", "\"host=db1 PASSWORD=*** user\""},
		{"pg://db1/hcr?user=a&password=s3cret&x", "\"pg://db1/hcr?user=a&password=***&x\""},
		{"no secrets here", "\"no secrets here\""},
		/* An empty password right before the last '@' (found by fuzzing: it looped). */
		{"pg://u:@db1/hcr", "\"pg://u:***@db1/hcr\""},
		{"i@nr/:@ /", "\"i@nr/:***@ /\""},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *env[] = {"HCR_DATABASE_URL", cases[i].value, NULL};
		char *yaml, want[512];
		hcr_config cfg;
		hcr_error err = {0};

		hcr_config_defaults(&cfg);
		assert_int_equal(hcr_config_set(&cfg, "database.url", cases[i].value,
						"--database-url", &err),
				 HCR_EINVALID);
		snprintf(want, sizeof(want),
			 "--database-url: expected a libpq connection string or postgres:// URI or "
			 "null, got %s",
			 cases[i].shown);
		assert_string_equal(err.message, want);
		assert_null(strstr(err.message, "s3"));
		assert_null(strstr(err.detail, "s3"));

		fake_env = env;
		assert_int_equal(hcr_config_apply_env(&cfg, fake_getenv, &err), HCR_EINVALID);
		assert_null(strstr(err.message, "s3"));
		assert_non_null(strstr(err.message, "environment HCR_DATABASE_URL: "));
		fake_env = NULL;

		/* also when the URL is put where a group of settings belongs */
		yaml = malloc(strlen(cases[i].value) + 64);
		assert_non_null(yaml);
		sprintf(yaml, "database: '%s'\n", cases[i].value);
		if (!strchr(cases[i].value, '\'')) {
			assert_int_equal(load(&cfg, yaml, &err), HCR_EINVALID);
			snprintf(want, sizeof(want),
				 NAME ":1: database: expected a mapping, got %s", cases[i].shown);
			assert_string_equal(err.message, want);
		}
		free(yaml);
		assert_null(cfg.database_url);
		hcr_config_free(&cfg);
	}
}

static void test_config__long_values_are_cut(void **state)
{
	char value[300];
	hcr_config cfg;
	hcr_error err = {0};

	(void)state;
	memset(value, 'x', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	hcr_config_defaults(&cfg);
	assert_int_equal(hcr_config_set(&cfg, "log.level", value, "--log-level", &err),
			 HCR_EINVALID);
	assert_non_null(strstr(err.message, "xxx\"..."));
	assert_true(strlen(err.message) < 200);
	assert_int_equal(hcr_config_set(&cfg, "log.level", "a\"b\n", "--log-level", &err),
			 HCR_EINVALID);
	assert_non_null(strstr(err.message, "got \"a\\\"b\\n\""));
	hcr_config_free(&cfg);
}

static void test_config__validate_tls_pair(void **state)
{
	static const struct {
		const char *cert, *key, *message;
	} cases[] = {
		{NULL, NULL, NULL},
		{"/c", "/k", NULL},
		{"/c", NULL, "api.tls.cert_file is set but api.tls.key_file is not"},
		{NULL, "/k", "api.tls.key_file is set but api.tls.cert_file is not"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hcr_config cfg;
		hcr_error err = {0};

		hcr_config_defaults(&cfg);
		assert_int_equal(
			hcr_config_set(&cfg, "api.tls.cert_file", cases[i].cert, NULL, &err),
			HCR_OK);
		assert_int_equal(hcr_config_set(&cfg, "api.tls.key_file", cases[i].key, NULL, &err),
				 HCR_OK);
		if (!cases[i].message) {
			assert_int_equal(hcr_config_validate(&cfg, &err), HCR_OK);
		} else {
			assert_int_equal(hcr_config_validate(&cfg, &err), HCR_EINVALID);
			assert_string_equal(err.message, cases[i].message);
			assert_string_equal(err.code, HCR_ERR_CONFIG);
			assert_non_null(strstr(err.hint, "both"));
		}
		hcr_config_free(&cfg);
	}
}

static void test_config__load_file(void **state)
{
	char path[] = "/tmp/hcr-test-config-XXXXXX";
	static const char yaml[] = "api:\n  threads: 8\n  request_timeout_s: nope\n";
	hcr_config cfg;
	hcr_error err = {0};
	char *want;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(yaml, f);
	fclose(f);

	hcr_config_defaults(&cfg);
	assert_int_equal(hcr_config_load_file(&cfg, path, &err), HCR_EINVALID);
	want = malloc(strlen(path) + 128);
	assert_non_null(want);
	sprintf(want,
		"%s:3: api.request_timeout_s: expected an integer from 1 to 3600, got \"nope\"",
		path);
	assert_string_equal(err.message, want);
	free(want);
	assert_config_is_default(&cfg);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("api:\n  threads: 8\n", f);
	fclose(f);
	assert_int_equal(hcr_config_load_file(&cfg, path, &err), HCR_OK);
	assert_int_equal(cfg.api_threads, 8);
	unlink(path);
	hcr_config_free(&cfg);
}

static void test_config__unreadable_file(void **state)
{
	static const struct {
		const char *path, *message;
	} cases[] = {
		{"tests/unit/no-such-config.yaml", "could not open configuration file "
						   "\"tests/unit/no-such-config.yaml\": No such "
						   "file or directory"},
		{"tests/unit", "could not read configuration file \"tests/unit\": Is a directory"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hcr_config cfg;
		hcr_error err = {0};

		hcr_config_defaults(&cfg);
		assert_int_equal(hcr_config_load_file(&cfg, cases[i].path, &err), HCR_EINVALID);
		assert_string_equal(err.message, cases[i].message);
		assert_string_equal(err.code, HCR_ERR_CONFIG);
		assert_config_is_default(&cfg);
		hcr_config_free(&cfg);
	}
}

/* The example documents every setting at its default, so loading it changes nothing. */
static void test_config__example_file_loads(void **state)
{
	hcr_config cfg;
	hcr_error err = {0};

	(void)state;
	hcr_config_defaults(&cfg);
	if (hcr_config_load_file(&cfg, "deploy/hcr.example.yaml", &err) != HCR_OK)
		fail_msg("%s (%s)", err.message, err.hint);
	assert_config_is_default(&cfg);
	assert_int_equal(hcr_config_validate(&cfg, &err), HCR_OK);
	hcr_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config__defaults),
		cmocka_unit_test(test_config__full_file),
		cmocka_unit_test(test_config__empty_files_keep_defaults),
		cmocka_unit_test(test_config__null_input_is_empty),
		cmocka_unit_test(test_config__null_unsets_strings),
		cmocka_unit_test(test_config__file_errors),
		cmocka_unit_test(test_config__duplicate_names_first_line),
		cmocka_unit_test(test_config__listen_forms),
		cmocka_unit_test(test_config__size_suffixes),
		cmocka_unit_test(test_config__booleans),
		cmocka_unit_test(test_config__unchanged_on_failure),
		cmocka_unit_test(test_config__env_overrides),
		cmocka_unit_test(test_config__env_empty_is_unset),
		cmocka_unit_test(test_config__env_errors_name_the_variable),
		cmocka_unit_test(test_config__set_from_flags),
		cmocka_unit_test(test_config__masks_passwords),
		cmocka_unit_test(test_config__long_values_are_cut),
		cmocka_unit_test(test_config__validate_tls_pair),
		cmocka_unit_test(test_config__load_file),
		cmocka_unit_test(test_config__unreadable_file),
		cmocka_unit_test(test_config__example_file_loads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
