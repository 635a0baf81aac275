/*
 * hcr's entry point: the command line, configuration layering, and the
 * start-up and shutdown order of a process's roles.
 *
 * Start-up: configuration -> data directory -> (embedded PostgreSQL) -> pool
 * -> migrations -> master key -> first admin token -> HTTP server. Shutdown
 * runs the same list backwards, so PostgreSQL stops last and cleanly.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hcr/api.h"
#include "hcr/cli.h"
#include "hcr/config.h"
#include "hcr/crypto.h"
#include "hcr/log.h"
#include "hcr/mem.h"
#include "hcr/migrate.h"
#include "hcr/pgembed.h"
#include "hcr/reconcile.h"
#include "hcr/store.h"
#include "hcr/sync.h"
#include "hcr/version.h"

static const char usage[] =
	"usage: hcr <command> [options]\n"
	"\n"
	"commands:\n"
	"  run       every role in one process (the REST API, the reconciler and the\n"
	"            sync worker);\n"
	"            starts an embedded PostgreSQL under --data-dir when no database\n"
	"            URL is set\n"
	"  serve     the REST API only\n"
	"  reconcile the reconciler only: polls clouds, pushes desired changes\n"
	"  sync      the sync worker only: config sync between clusters\n"
	"  migrate   apply database migrations and exit\n"
	"  version   print the version\n"
	"  help      this text\n"
	"  clusters, config, drift, events, discover, compare: the operator CLI\n"
	"            (hcr <command> --help)\n"
	"\n"
	"options (override the configuration file and HCR_* environment variables):\n"
	"  --config FILE            YAML configuration (see deploy/hcr.example.yaml)\n"
	"  --listen HOST:PORT       API address (default 127.0.0.1:8080)\n"
	"  --data-dir DIR           embedded database, admin token, master key (default ./var)\n"
	"  --database-url URL       PostgreSQL connection string (default: embedded)\n"
	"  --master-key-file FILE   AES-256 key for stored credentials\n"
	"  --log-level LEVEL        debug, info, warn or error\n";

static const struct {
	const char *flag;
	const char *key;
} flags[] = {
	{"--listen", "listen"},
	{"--data-dir", "data_dir"},
	{"--database-url", "database.url"},
	{"--master-key-file", "security.master_key_file"},
	{"--log-level", "log.level"},
};

static const char *env_get(const char *name)
{
	return getenv(name);
}

static void print_error(const hcr_error *err)
{
	fprintf(stderr, "hcr: %s\n", err->message);
	if (err->detail[0])
		fprintf(stderr, "  detail: %s\n", err->detail);
	if (err->hint[0])
		fprintf(stderr, "  hint: %s\n", err->hint);
}

/* Layers defaults, the file, the environment and the flags, in that order. */
static int load_config(hcr_config *cfg, int argc, char **argv, hcr_error *err)
{
	const char *config_file = getenv("HCR_CONFIG");
	int i, rc;
	size_t f;

	hcr_config_defaults(cfg);
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config_file = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			config_file = argv[i] + 9;
	}
	if (config_file && *config_file) {
		rc = hcr_config_load_file(cfg, config_file, err);
		if (rc != HCR_OK)
			return rc;
	}
	rc = hcr_config_apply_env(cfg, env_get, err);
	if (rc != HCR_OK)
		return rc;
	for (i = 2; i < argc && argv[i]; i++) {
		const char *arg = argv[i], *value = NULL;
		size_t len;

		if (strcmp(arg, "--config") == 0) {
			i++;
			continue;
		}
		if (strncmp(arg, "--config=", 9) == 0)
			continue;
		for (f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
			len = strlen(flags[f].flag);
			if (strncmp(arg, flags[f].flag, len) != 0)
				continue;
			if (arg[len] == '=')
				value = arg + len + 1;
			else if (arg[len] == '\0' && i + 1 < argc)
				value = argv[++i];
			else if (arg[len] == '\0')
				return hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
						     "option %s needs a value", flags[f].flag);
			else
				continue;
			rc = hcr_config_set(cfg, flags[f].key, value, flags[f].flag, err);
			if (rc != HCR_OK)
				return rc;
			break;
		}
		if (!value) {
			hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG, "unknown option \"%s\"",
				      arg);
			hcr_error_hint(err, "run \"hcr help\" for the options");
			return HCR_EINVALID;
		}
	}
	return hcr_config_validate(cfg, err);
}

static int make_data_dir(const char *dir, hcr_error *err)
{
	/*
	 * Private to hcr's user; as root, others may traverse (not list) it, because
	 * the embedded PostgreSQL runs as the postgres user below it.
	 */
	if (mkdir(dir, geteuid() == 0 ? 0711 : 0700) == 0 || errno == EEXIST)
		return HCR_OK;
	hcr_error_set(err, HCR_ERROR, HCR_ERR_CONFIG, "cannot create data directory \"%s\"", dir);
	hcr_error_detail(err, "%s", strerror(errno));
	hcr_error_hint(err, "choose another directory with --data-dir");
	return HCR_ERROR;
}

/* Everything a running process holds, released in reverse order by teardown(). */
struct process {
	hcr_config cfg;
	hcr_pgembed *pg;
	hcr_store *store;
	hcr_master_key key;
	hcr_api *api;
	hcr_reconciler *rec;
	pthread_t rec_thread;
	bool rec_running;
	hcr_sync *sync;
	pthread_t sync_thread;
	bool sync_running;
};

static void *reconcile_thread(void *arg)
{
	hcr_reconciler_run(arg);
	return NULL;
}

/* Starts the reconciler on its own thread (its own libev loop). */
static int start_reconciler(struct process *p, hcr_error *err)
{
	const char *conninfo =
		p->cfg.database_url ? p->cfg.database_url : hcr_pgembed_conninfo(p->pg);
	int rc = hcr_reconciler_new(&p->rec, &p->cfg, conninfo, p->store, &p->key, err);

	if (rc != HCR_OK)
		return rc;
	if (pthread_create(&p->rec_thread, NULL, reconcile_thread, p->rec) != 0)
		return hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				     "cannot start the reconciler thread");
	p->rec_running = true;
	return HCR_OK;
}

static void *sync_thread(void *arg)
{
	hcr_sync_run(arg);
	return NULL;
}

/* Starts the sync worker on its own thread (it starts its own threads in turn). */
static int start_sync(struct process *p, hcr_error *err)
{
	int rc = hcr_sync_new(&p->sync, &p->cfg, p->store, &p->key, err);

	if (rc != HCR_OK)
		return rc;
	if (pthread_create(&p->sync_thread, NULL, sync_thread, p->sync) != 0)
		return hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				     "cannot start the sync worker thread");
	p->sync_running = true;
	return HCR_OK;
}

static void teardown(struct process *p)
{
	if (p->sync_running) {
		hcr_sync_stop(p->sync);
		pthread_join(p->sync_thread, NULL);
	}
	hcr_sync_free(p->sync);
	if (p->rec_running) {
		hcr_reconciler_stop(p->rec);
		pthread_join(p->rec_thread, NULL);
	}
	hcr_reconciler_free(p->rec);
	hcr_api_stop(p->api);
	hcr_store_close(p->store);
	if (p->pg) {
		hcr_log_info("main", "stopping embedded PostgreSQL");
		hcr_pgembed_stop(p->pg);
	}
	hcr_crypto_wipe(&p->key, sizeof(p->key));
	hcr_config_free(&p->cfg);
}

/* Data directory, database (embedded or not), pool and migrations. */
static int open_database(struct process *p, hcr_error *err)
{
	const char *conninfo = p->cfg.database_url;
	PGconn *conn = NULL;
	int rc, applied = 0;

	rc = make_data_dir(p->cfg.data_dir, err);
	if (rc != HCR_OK)
		return rc;
	if (!conninfo) {
		char *dir = hcr_sprintf("%s/postgres", p->cfg.data_dir);

		hcr_log_info("main", "starting embedded PostgreSQL dir=%s", dir);
		rc = hcr_pgembed_start(&p->pg, dir, p->cfg.pg_bin_dir, err);
		free(dir);
		if (rc != HCR_OK)
			return rc;
		conninfo = hcr_pgembed_conninfo(p->pg);
	}
	rc = hcr_store_open(&p->store, conninfo, p->cfg.db_pool_size, p->cfg.db_connect_timeout_s,
			    err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_store_acquire(p->store, &conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_migrate_run(conn, &applied, err);
	hcr_store_release(p->store, conn);
	if (rc == HCR_OK)
		hcr_log_info("main", "schema is current version=%d applied=%d",
			     hcr_migrate_latest(), applied);
	return rc;
}

static int load_key(struct process *p, hcr_error *err)
{
	char *path;
	int created = 0, rc;

	if (p->cfg.master_key_file)
		return hcr_master_key_load(&p->key, p->cfg.master_key_file, err);
	path = hcr_sprintf("%s/master.key", p->cfg.data_dir);
	rc = hcr_master_key_load_or_create(&p->key, path, &created, err);
	if (rc == HCR_OK && created)
		hcr_log_info("main", "generated a master key for stored credentials path=%s", path);
	free(path);
	return rc;
}

static int serve(int argc, char **argv)
{
	struct process p;
	hcr_error err;
	sigset_t stop;
	char *token_file = NULL;
	int rc, created = 0, sig = 0;

	memset(&p, 0, sizeof(p));
	hcr_error_clear(&err);
	/*
	 * Block the stop signals in every thread (libmicrohttpd's included) and
	 * take them with sigwait below; children restore their mask before exec.
	 */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = load_config(&p.cfg, argc, argv, &err);
	if (rc != HCR_OK)
		goto done;
	hcr_log_set_level(p.cfg.log_level);
	hcr_log_info("main", "starting hcr version=%s command=%s", hcr_version(), argv[1]);
	rc = open_database(&p, &err);
	if (rc != HCR_OK)
		goto done;
	rc = load_key(&p, &err);
	if (rc != HCR_OK)
		goto done;
	if (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "serve") == 0) {
		token_file = hcr_sprintf("%s/admin-token", p.cfg.data_dir);
		rc = hcr_api_bootstrap_admin(p.store, token_file, &created, &err);
		if (rc != HCR_OK)
			goto done;
		rc = hcr_api_start(&p.api, &p.cfg, p.store, &p.key, &err);
		if (rc != HCR_OK)
			goto done;
	}
	if (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "reconcile") == 0) {
		rc = start_reconciler(&p, &err);
		if (rc != HCR_OK)
			goto done;
	}
	if (strcmp(argv[1], "run") == 0 || strcmp(argv[1], "sync") == 0) {
		rc = start_sync(&p, &err);
		if (rc != HCR_OK)
			goto done;
	}
	if (!p.api) {
		fprintf(stderr, "hcr %s is %s; stop with Ctrl-C\n", hcr_version(),
			p.rec ? "reconciling" : "syncing");
		goto wait;
	}

	fprintf(stderr, "hcr %s is serving on %s://%s\n", hcr_version(),
		p.cfg.tls_cert_file ? "https" : "http", p.cfg.listen);
	if (created)
		fprintf(stderr, "hcr: created the first admin API token in %s (mode 0600)\n",
			token_file);
	else if (token_file && access(token_file, F_OK) == 0)
		fprintf(stderr, "hcr: the admin API token created on first start is in %s\n",
			token_file);
	fprintf(stderr, "hcr: stop with Ctrl-C\n");

wait:
	while (sigwait(&stop, &sig) != 0)
		;
	hcr_log_info("main", "shutting down signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
done:
	if (rc != HCR_OK)
		print_error(&err);
	teardown(&p);
	free(token_file);
	if (rc == HCR_OK)
		hcr_log_info("main", "stopped");
	return rc == HCR_OK ? 0 : 1;
}

static int migrate(int argc, char **argv)
{
	struct process p;
	hcr_error err;
	int rc;

	memset(&p, 0, sizeof(p));
	hcr_error_clear(&err);
	rc = load_config(&p.cfg, argc, argv, &err);
	if (rc == HCR_OK) {
		hcr_log_set_level(p.cfg.log_level);
		rc = open_database(&p, &err);
	}
	if (rc != HCR_OK)
		print_error(&err);
	else
		printf("schema is at version %d\n", hcr_migrate_latest());
	teardown(&p);
	return rc == HCR_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "help";

	if (strcmp(cmd, "run") == 0 || strcmp(cmd, "serve") == 0 || strcmp(cmd, "reconcile") == 0 ||
	    strcmp(cmd, "sync") == 0)
		return serve(argc, argv);
	if (strcmp(cmd, "migrate") == 0)
		return migrate(argc, argv);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("hcr %s\n", hcr_version());
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (hcr_cli_handles(cmd))
		return hcr_cli_main(argc, argv);
	fprintf(stderr, "hcr: unknown command \"%s\"\n\n%s", cmd, usage);
	return 2;
}
