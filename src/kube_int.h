/*
 * What the src/kube_*.c files share and nobody else needs: secret wiping,
 * file reading, YAML to JSON, and the connection's internals.
 */
#ifndef HCR_KUBE_INT_H
#define HCR_KUBE_INT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "hcr/error.h"
#include "hcr/kube.h"
#include "hcr/mem.h"

/* Files a kubeconfig names (certificates, keys, tokens) are bounded. */
#define KUBE_MAX_FILE_BYTES ((size_t)1024 * 1024)

/* Wipes NUL-terminated `s` and frees it. NULL is ignored. */
void hcr_kube_wipe_free(char *s);
/* Wipes `len` bytes at `p` and frees it. NULL is ignored. */
void hcr_kube_wipe_free_n(void *p, size_t len);
/* Wipes every string value held in `v` (recursively), then json_decref. */
void hcr_kube_json_wipe_decref(json_t *v);

/*
 * Reads at most `max` bytes of `path` into a new NUL-terminated buffer; sets
 * *len. NULL on failure with errno set (EFBIG when larger than max).
 */
char *hcr_kube_read_file(const char *path, size_t max, size_t *len);

/*
 * Parses YAML (or JSON) text into JSON: mappings become objects, sequences
 * arrays and scalars strings (no type guessing: "true" stays a string). An
 * empty document becomes an empty object. Aliases are followed, bounded.
 * On failure `err` says "<what> is not YAML" with the line in detail, never
 * quoting the text. *out is new; release it with hcr_kube_json_wipe_decref.
 */
int hcr_kube_yaml_to_json(json_t **out, const char *text, size_t len, const char *what,
			  hcr_error *err);

/* The base64 of PEM text, decoded and checked; whitespace is ignored. NULL on failure. */
char *hcr_kube_pem_from_base64(const char *b64, size_t *len, bool *bad_base64);
/* True when `pem` holds a PEM block ("-----BEGIN "). */
bool hcr_kube_is_pem(const char *pem, size_t len);

/* Deep copy of an exec config (new). */
hcr_kube_exec_config *hcr_kube_exec_config_dup(const hcr_kube_exec_config *x);
void hcr_kube_exec_config_free(hcr_kube_exec_config *x);

/* ---- the connection ------------------------------------------------------------------ */

struct kube_tables; /* kube_discovery.c: every table discovered, kept until close */

struct hcr_kube {
	hcr_kube_context *ctx;
	hcr_kube_opts opts;
	char *user_agent;
	CURL *curl;
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *auth_header; /* "Authorization: ..." (secret, wiped) */
	hcr_kube_exec_credential exec;  /* the credential in use, from the plugin */
	char *tls_url_host;             /* tls-server-name: host to put in URLs */
	struct curl_slist *connect_to;  /* tls-server-name: where that host really is */
	hcr_kube_discovery *disco;      /* current table, or NULL */
	hcr_kube_discovery **old_disco; /* earlier tables: pointers into them stay valid */
	size_t nold;
	time_t disco_at;
};

/* One HTTP exchange. */
typedef struct kube_req {
	const char *method;
	const char *path; /* with its query */
	const char *body; /* may be NULL */
	size_t body_len;
	const char *content_type; /* default application/json */
	/* Streaming: when set, the body goes to this callback instead of being collected. */
	size_t (*sink)(char *data, size_t len, void *payload);
	void *sink_payload;
	long timeout_ms; /* 0: the connection's request timeout; <0: none */
	bool no_retry;   /* a 429 / 503 is reported at once */
	/* May be NULL: asked often (at least once a second); true aborts the transfer. */
	bool (*cancelled)(void *arg);
	void *cancel_arg;
} kube_req;

typedef struct kube_resp {
	long status; /* HTTP status */
	hcr_buf body;
	long retry_after_s; /* -1 when absent */
} kube_resp;

/*
 * Performs `req` with authentication, retries (429/503) and a fresh
 * credential after a 401 (exec plugin, tokenFile). HCR_OK whenever an HTTP
 * answer arrived (any status: the caller reads resp->status); HCR_EUPSTREAM
 * with `err` naming the cluster on a transport failure. Free resp->body.
 */
int hcr_kube_perform(hcr_kube *k, const kube_req *req, kube_resp *resp, hcr_error *err);

/*
 * A request whose answer is JSON: fills *out (new; may be NULL) on a 2xx;
 * otherwise turns the answer into `err` (hcr_kube_status_error with `verb`,
 * `what`, `r`, `ns`).
 */
int hcr_kube_call(json_t **out, hcr_kube *k, const kube_req *req, const char *verb,
		  const char *what, const hcr_kube_resource *r, const char *ns, hcr_error *err);

/* Sets err for a transport failure (curl code `cc`) on `k`. */
int hcr_kube_transport_error(hcr_kube *k, CURLcode cc, hcr_error *err);

/* "deployments.apps in namespace \"web\"" (ns NULL: all namespaces). New string. */
char *hcr_kube_describe_collection(const hcr_kube_resource *r, const char *ns);

/* The collection's path, /apis/g/v[/namespaces/ns]/plural, into `b`. */
void hcr_kube_collection_path(hcr_buf *b, const hcr_kube_resource *r, const char *ns);

/* Appends ?key=value or &key=value (escaped) to `b`; nothing when value is NULL or "". */
void hcr_kube_query(hcr_buf *b, const char *key, const char *value);

/* URL-escapes `s` into `b`. */
void hcr_kube_buf_escape(hcr_buf *b, const char *s);

#endif
