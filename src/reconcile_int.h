/*
 * Internal contract of the reconciler's files: src/reconcile.c (the loop,
 * claiming, leases, LISTEN) and src/reconcile_work.c (one cluster's poll).
 */
#ifndef HCR_RECONCILE_INT_H
#define HCR_RECONCILE_INT_H

#include <ev.h>
#include <stdbool.h>

#include "hcr/engine.h"
#include "hcr/http.h"
#include "hcr/mem.h"
#include "hcr/provider.h"
#include "hcr/ratelimit.h"
#include "hcr/reconcile.h"

struct provider_slot {
	const hcr_provider_ops *ops;
	hcr_provider *inst;
};

struct work;

struct hcr_reconciler {
	const hcr_config *cfg;
	hcr_store *store;
	const hcr_master_key *key;
	char *conninfo;
	struct ev_loop *loop;
	hcr_http *http;
	hcr_ratelimit *rl;
	struct provider_slot providers[4];
	size_t nproviders;
	char *served; /* PostgreSQL array literal of provider names: "{fake}" */
	PGconn *listen;
	ev_io listen_io;
	bool listen_active;
	ev_timer tick;      /* fed to claim now */
	ev_timer heartbeat; /* every second: claim, reopen LISTEN */
	ev_async stop;
	bool stopping;
	bool kicked;
	bool backlog;
	double leases_renewed;
	/* loop time of the last lease renewal */ /* the last claim was cut short by room or batch size: more may be due */
	char owner[128];
	int inflight;
	struct work *works;
	unsigned long long polls, notifies, throttled;
	struct cred_cache *creds; /* opened credentials, kept briefly */
};

/* An opened credential, reused by the polls of every cluster that uses it. */
struct cred_cache {
	struct cred_cache *next;
	char id[40];
	double updated; /* the credential row's updated_at when it was opened */
	double opened;  /* loop time it was opened */
	json_t *secret;
};

/* One claimed cluster. */
struct work {
	hcr_reconciler *r;
	struct work *next, *prev;
	char id[40];
	char name[72];
	char provider[8];
	char cloud_name[128];
	char region[64];
	char location[64];
	char resource_group[96];
	char project[72];
	char credential[72];
	char credential_id[40];
	double credential_updated; /* credentials.updated_at: invalidates the cache */
	char state[20];
	char rl_key[512];
	hcr_policy policy;
	bool imported;
	bool settled;       /* clusters.settled as claimed */
	bool woken;         /* an edit or a refresh request woke it */
	bool fields_loaded; /* fs and before hold the fields */
	int failures;
	long long version;
	json_t *desired_doc; /* clusters.desired as claimed */
	char *observed_hash;
	json_t *secret;
	hcr_cluster_ref ref;
	const struct provider_slot *prov;
	hcr_fieldset before; /* as loaded or last saved */
	hcr_fieldset fs;     /* working copy */
	json_t *events;      /* engine events not yet saved */
	/* The operation in flight for this cluster, if any. */
	char op_id[40];
	char op_state[16];
	char *op_handle;
	char *op_operation;
	char *op_pool;
	json_t *op_changes;
	int op_order;
	double observed_at;
	bool failed;
	char *error_text;
	double delay_s;       /* < 0: the normal interval */
	double retry_after_s; /* the cloud's Retry-After: the next poll waits at least this */
	ev_timer wait;
	void (*resume)(struct work *w);
};

/* src/reconcile.c */
void hcr_reconciler_kick(hcr_reconciler *r);
void hcr_work_finish(struct work *w);
void hcr_work_fail(struct work *w, const hcr_error *err);
void hcr_work_retry_after(struct work *w, const json_t *result);
void hcr_work_call(struct work *w, void (*step)(struct work *w));

/* A statement that must commit together with a save (an operation's record). */
struct hcr_stmt {
	const char *sql;
	int nparams;
	const char *const *params;
};

/* src/reconcile_work.c */
void hcr_work_start(struct work *w);
double hcr_work_now(void);
void hcr_work_observe(struct work *w);
/* Asks the cloud how the operation in flight is doing. */
void hcr_work_poll_op(struct work *w);
/*
 * Writes fields, events and the cluster row's changes in one transaction, with
 * `extra` (may be NULL) in it; see the definition.
 */
int hcr_work_save_with(struct work *w, json_t *observed, const char *hash, const char *state,
		       const struct hcr_stmt *extra, hcr_error *err);
/* Runs one statement about the cluster's operation ($1 = op id, then p2, p3). */
void hcr_work_op_update(struct work *w, const char *sql, const char *p2, const char *p3);
void hcr_work_op_clear(struct work *w);
/* Ends the poll after a failed save (quietly when an edit won the race). */
void hcr_work_save_failed(struct work *w, const hcr_error *err);

/* src/reconcile_life.c: clusters hcr creates and deletes */
void hcr_work_create(struct work *w);
void hcr_work_delete(struct work *w);
/* Ends a CreateCluster / DeleteCluster operation; false when the op is neither. */
bool hcr_work_lifecycle_done(struct work *w, bool success, const char *reason);
int hcr_reconcile_providers_init(hcr_reconciler *r, hcr_buf *served, hcr_error *err);
void hcr_reconcile_providers_free(hcr_reconciler *r);
void hcr_reconcile_creds_free(hcr_reconciler *r);

#endif
