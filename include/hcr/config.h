/*
 * hcr's configuration: defaults, then a YAML file (--config), then environment
 * variables (HCR_*), then command-line flags, each overriding the one before.
 *
 * Every setting is documented in deploy/hcr.example.yaml. Unknown keys, wrong
 * types and bad values are refused with the file, the line and what was expected.
 */
#ifndef HCR_CONFIG_H
#define HCR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "hcr/error.h"
#include "hcr/log.h"

typedef struct hcr_config {
	/* listen: "host:port" the API listens on. Default "127.0.0.1:8080". */
	char *listen;
	/* data_dir: embedded PostgreSQL, admin token, generated master key. Default "./var". */
	char *data_dir;
	/* log.level */
	hcr_log_level log_level;

	/* database.url: a libpq connection string or URI; NULL = embedded PostgreSQL. */
	char *database_url;
	/* database.pool_size: connections the API keeps open (1..64). Default 4. */
	int db_pool_size;
	/* database.connect_timeout_s: seconds (1..300). Default 5. */
	int db_connect_timeout_s;
	/* database.embedded.bin_dir: PostgreSQL server binaries; NULL = look them up. */
	char *pg_bin_dir;

	/* security.master_key_file: AES-256 key for credentials; NULL = <data_dir>/master.key. */
	char *master_key_file;

	/* api.max_body_bytes: request bodies above this get 413 (1 KiB..64 MiB). Default 1 MiB. */
	size_t api_max_body_bytes;
	/* api.threads: HTTP worker threads (1..64). Default 4. */
	int api_threads;
	/* api.request_timeout_s: idle connection timeout (1..3600). Default 30. */
	int api_request_timeout_s;
	/* api.tls.cert_file, api.tls.key_file: PEM files; both or neither. */
	char *tls_cert_file;
	char *tls_key_file;
} hcr_config;

/* Fills `cfg` with defaults. Free with hcr_config_free. */
void hcr_config_defaults(hcr_config *cfg);

/*
 * Reads the YAML file at `path` over the current values of `cfg`.
 * Fails with HCR_EINVALID / "config" and a message of the form
 * "<path>:<line>: <key>: expected ..., got ..." for unknown keys, wrong
 * types and bad values; a file that cannot be read or is not YAML also fails.
 * On failure `cfg` is unchanged.
 */
int hcr_config_load_file(hcr_config *cfg, const char *path, hcr_error *err);

/*
 * Parses YAML text as if read from `name` (used by hcr_config_load_file and
 * the tests). Same errors as hcr_config_load_file.
 */
int hcr_config_load_string(hcr_config *cfg, const char *yaml, size_t len, const char *name,
			   hcr_error *err);

/*
 * Applies HCR_* environment variables, read through `getenv_fn` (getenv in
 * production; tests pass their own). Names: HCR_LISTEN, HCR_DATA_DIR,
 * HCR_LOG_LEVEL, HCR_DATABASE_URL, HCR_DATABASE_POOL_SIZE,
 * HCR_MASTER_KEY_FILE, HCR_TLS_CERT_FILE, HCR_TLS_KEY_FILE,
 * HCR_API_MAX_BODY_BYTES, HCR_API_THREADS. Bad values fail naming the variable.
 */
int hcr_config_apply_env(hcr_config *cfg, const char *(*getenv_fn)(const char *name),
			 hcr_error *err);

/*
 * Sets one setting by its dotted YAML key ("listen", "database.url", ...),
 * validating `value` as the file would. Used for command-line flags; `source`
 * names where the value came from in errors ("--listen").
 */
int hcr_config_set(hcr_config *cfg, const char *key, const char *value, const char *source,
		   hcr_error *err);

/* Checks settings that depend on each other (TLS cert and key together). */
int hcr_config_validate(const hcr_config *cfg, hcr_error *err);

void hcr_config_free(hcr_config *cfg);

#endif
