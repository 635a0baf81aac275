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
	/* database.pool_size: connections the process keeps open, shared by the API and the reconciler (1..64). Default 4. */
	int db_pool_size;
	/* database.connect_timeout_s: seconds (1..300). Default 5. */
	int db_connect_timeout_s;
	/* database.embedded.bin_dir: PostgreSQL server binaries; NULL = look them up. */
	char *pg_bin_dir;

	/* security.master_key_file: AES-256 key for credentials; NULL = <data_dir>/master.key. */
	char *master_key_file;

	/* api.max_body_bytes: request bodies above this get 413 (1 KiB..64 MiB). Default 1 MiB. */
	size_t api_max_body_bytes;
	/* api.threads: connections served at once, each on its own thread (1..1024). Default 64. */
	int api_threads;
	/* api.request_timeout_s: idle connection timeout (1..3600). Default 30. */
	int api_request_timeout_s;
	/* api.tls.cert_file, api.tls.key_file: PEM files; both or neither. */
	char *tls_cert_file;
	char *tls_key_file;

	/* reconcile.*: the refresher and pusher (see deploy/hcr.example.yaml). */
	int rec_interval_s;         /* default poll interval (5..86400), default 300 */
	int rec_jitter_percent;     /* +- spread of each interval (0..50), default 10 */
	int rec_batch_size;         /* clusters claimed per database round trip, default 200 */
	int rec_concurrency;        /* clusters worked on at once, default 500 */
	int rec_lease_s;            /* how long a claim lasts without renewal, default 120 */
	int rec_op_poll_ms;         /* how often an operation in flight is polled, default 10000 */
	int rec_request_timeout_ms; /* every cloud request, default 30000 */
	int rec_rate_per_s;         /* cloud calls per second per account and region, default 20 */
	int rec_burst;              /* bucket size for that rate, default 40 */
	int rec_backoff_max_s;      /* ceiling of the back-off for failing clusters, default 600 */
	/* providers.<name>.poll_interval_s: 0 = reconcile.interval_s */
	int poll_interval_eks_s, poll_interval_aks_s, poll_interval_gke_s, poll_interval_fake_s;
	/* providers.fake.endpoint: enables the test provider "fake" at this URL; NULL = off */
	char *fake_endpoint;
	/*
	 * providers.eks.endpoint: the EKS API's base URL instead of
	 * https://eks.<region>.amazonaws.com ("{region}" in it is replaced); NULL = AWS.
	 * providers.eks.sts_endpoint: the same for STS (EKS Kubernetes tokens).
	 * providers.eks.list_updates: also ask ListUpdates whether an update is in
	 * progress (default true; off for EKS-compatible endpoints without it).
	 */
	char *eks_endpoint, *eks_sts_endpoint;
	bool eks_list_updates;
	/*
	 * providers.aks.endpoint: Azure Resource Manager's base URL; NULL =
	 * https://management.azure.com. providers.aks.authority: Azure AD's; NULL =
	 * https://login.microsoftonline.com (sovereign clouds and tests set both).
	 */
	char *aks_endpoint, *aks_authority;
	/*
	 * providers.gke.endpoint: the container API's base URL; NULL =
	 * https://container.googleapis.com. providers.gke.token_uri: where service-
	 * account JWTs are exchanged; NULL = the key's own token_uri.
	 */
	char *gke_endpoint, *gke_token_uri;

	/*
	 * sync.*: the sibling worker (hcr sync) and the compare.
	 * sync.kubeconfig: a kubeconfig whose contexts can be named as clusters
	 * (besides registered clusters); NULL = none.
	 * sync.resync_s: full resync of config sync besides its watches (5..86400), default 300.
	 * sync.create_namespaces: config sync may create a missing target namespace; default false.
	 * sync.request_timeout_ms: every Kubernetes API request but watches, default 60000.
	 * sync.sources: the clusters config sync reads annotated objects from: a
	 * comma-separated list of names and the words "contexts" (every context of
	 * sync.kubeconfig), "clusters" (every registered cluster with Kubernetes
	 * credentials), "all" and "none"; NULL = "contexts".
	 * sync.max_delete_percent: the most copies of one source a list may prune in one
	 * pass, in percent (0..100; 0: lists never delete, 100: no limit), default 50.
	 */
	char *sync_kubeconfig;
	int sync_resync_s;
	bool sync_create_namespaces;
	int sync_request_timeout_ms;
	char *sync_sources;
	int sync_max_delete_percent;
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
 * production; tests pass their own). The names are listed with each setting
 * in deploy/hcr.example.yaml and docs/configuration.md. Bad values fail naming
 * the variable.
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
