/*
 * The operator CLI: `hcr clusters`, `hcr config`, `hcr drift`, `hcr events`,
 * `hcr discover`, clients of a running hcr's REST API, and `hcr compare`,
 * which talks to Kubernetes clusters itself (docs/cli.md).
 *
 * The first two functions are what src/main.c calls. The rest is shared by
 * the CLI's own files (src/cli*.c) and their tests: the HTTP client, the
 * event-stream reader, the table printer and the merge-patch helpers. None of
 * it touches the server's modules; the CLI talks HTTP to hcr, and compare
 * talks to Kubernetes through the same client as the server.
 *
 * Exit codes: 0 done, 1 the request failed (the API's error, or hcr could not
 * be reached), 2 the command line was wrong (the subcommand's usage follows).
 * The API token is never printed, in any output or error.
 */
#ifndef HCR_CLI_H
#define HCR_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "hcr/error.h"
#include "hcr/mem.h"

/* Whether `cmd` (argv[1]) is a CLI command: clusters, config, drift, events, discover, compare. */
bool hcr_cli_handles(const char *cmd);

/* Runs a CLI command; `argv[1]` is the command. Returns the process exit code. */
int hcr_cli_main(int argc, char **argv);

/* ---- shared by src/cli*.c ---------------------------------------------------------------- */

#define HCR_CLI_EXIT_OK    0
#define HCR_CLI_EXIT_FAIL  1
#define HCR_CLI_EXIT_USAGE 2

typedef enum {
	HCR_CLI_TABLE = 0, /* aligned tables for people (the default) */
	HCR_CLI_JSON = 1,  /* the API's JSON, indented */
	HCR_CLI_YAML = 2,  /* the same document as YAML */
} hcr_cli_format;

/* Where the CLI sends its requests and how; filled from flags, environment and file. */
typedef struct hcr_cli {
	char *url;     /* base URL, no trailing '/'; owned */
	char *token;   /* NULL: no Authorization header; owned, never printed */
	char *ca_file; /* CA bundle for https (HCR_CA_FILE); owned, may be NULL */
	bool insecure; /* --insecure: skip TLS verification */
	hcr_cli_format format;
	const char *token_from; /* "--token", "HCR_TOKEN", a file path, or NULL */
} hcr_cli;

/* ---- HTTP (src/cli_http.c) --------------------------------------------------------------- */

/* One answer from hcr. */
typedef struct hcr_cli_resp {
	long status;       /* HTTP status; 0 when no answer came */
	hcr_buf body;      /* the raw body */
	json_t *json;      /* new reference: the parsed body, NULL when empty or not JSON */
	long long version; /* the ETag's version ("\"7\"" -> 7); -1 without an ETag */
} hcr_cli_resp;

/*
 * Sends `method path` (path starts with "/v1/..." and carries its query) with
 * `body` (borrowed, may be NULL) as JSON, and If-Match: "<if_match>" when
 * if_match >= 0. `out` is filled on every return that got an answer; release
 * it with hcr_cli_resp_free in all cases.
 * Returns HCR_OK for a 2xx answer. Otherwise `err` holds the API's error body
 * (code, message, detail, hint) and the status maps as in error.h:
 * HCR_ENOTFOUND, HCR_ECONFLICT (409, 412, 428), HCR_EINVALID, HCR_EDENIED,
 * HCR_EUPSTREAM (5xx, and hcr could not be reached: code "unreachable").
 */
int hcr_cli_request(const hcr_cli *cli, const char *method, const char *path, const json_t *body,
		    long long if_match, hcr_cli_resp *out, hcr_error *err);

void hcr_cli_resp_free(hcr_cli_resp *r);

/* Appends "?key=value" or "&key=value", the value percent-encoded; nothing when value is NULL. */
void hcr_cli_query(hcr_buf *path, const char *key, const char *value);

/* Appends `s` percent-encoded as one path segment. */
void hcr_cli_path_segment(hcr_buf *path, const char *s);

/* Prints "hcr: message" and the detail and hint lines to stderr. */
void hcr_cli_print_error(const hcr_error *err);

/* Makes SIGINT and SIGTERM set a flag instead of killing the process (watch loops). */
void hcr_cli_catch_signals(void);

/* Whether SIGINT or SIGTERM arrived since hcr_cli_catch_signals. */
bool hcr_cli_interrupted(void);

/* Seconds since an arbitrary start, monotonic. */
double hcr_cli_now(void);

/*
 * A Server-Sent Events stream (GET with Accept: text/event-stream), read a
 * little at a time so that a caller can do other work between reads.
 */
typedef struct hcr_cli_sse hcr_cli_sse;

/* Called once per event; `data` is borrowed and NULL when the data was not JSON. */
typedef void (*hcr_cli_sse_cb)(long long id, const char *event, json_t *data, void *payload);

/*
 * Starts reading `path` (with its query); Last-Event-ID is sent when
 * last_id > 0. Connecting happens in hcr_cli_sse_poll, so this cannot fail
 * for the network's reasons. `*out` is new; free it with hcr_cli_sse_free.
 */
void hcr_cli_sse_open(hcr_cli_sse **out, const hcr_cli *cli, const char *path, long long last_id,
		      hcr_cli_sse_cb cb, void *payload);

/*
 * Waits up to `timeout_ms` for data and calls the callback for each complete
 * event. Returns HCR_OK while the stream is open; when it ended (hcr went
 * away, an error answer, the connection dropped) returns an error status with
 * `err` filled. A stream that ended may be started again with
 * hcr_cli_sse_reopen, which resumes after the last event seen.
 */
int hcr_cli_sse_poll(hcr_cli_sse *s, int timeout_ms, hcr_error *err);

void hcr_cli_sse_reopen(hcr_cli_sse *s);

/* The id of the last event read (or the one given to open). */
long long hcr_cli_sse_last_id(const hcr_cli_sse *s);

void hcr_cli_sse_free(hcr_cli_sse *s);

/* ---- output (src/cli_output.c) ----------------------------------------------------------- */

/* A table printed with aligned columns, two spaces apart, headers in capitals. */
typedef struct hcr_cli_table hcr_cli_table;

/* A table with `ncols` columns named by `heads` (borrowed; must outlive the table). */
hcr_cli_table *hcr_cli_table_new(size_t ncols, const char *const *heads);

/*
 * Column `col` is shown at most `max` characters wide ("..." marks a cut; 0:
 * no limit) and at least `min` wide (so that rows streamed later line up).
 */
void hcr_cli_table_width(hcr_cli_table *t, size_t col, size_t min, size_t max);

/* Adds a row; the cells are copied, NULL shows as "-", control characters as '?'. */
void hcr_cli_table_add(hcr_cli_table *t, const char *const *cells);

size_t hcr_cli_table_rows(const hcr_cli_table *t);

/* Prints the header and every row, and fixes the column widths for hcr_cli_table_stream. */
void hcr_cli_table_print(hcr_cli_table *t, FILE *f);

/* Prints one more row in the widths hcr_cli_table_print chose (for --follow). */
void hcr_cli_table_stream(const hcr_cli_table *t, const char *const *cells, FILE *f);

void hcr_cli_table_free(hcr_cli_table *t);

/*
 * A JSON value as a table cell: a string as itself (the empty string as ""),
 * null or a missing value (NULL) as "-", anything else as compact JSON.
 * Returns a new string.
 */
char *hcr_cli_value_text(const json_t *v);

/* A string member of `obj` (borrowed), or NULL when missing or not a string. */
const char *hcr_cli_str(const json_t *obj, const char *key);

/*
 * How long ago `when` was, as "45s", "12m", "3h" or "5d": `when` is an RFC
 * 3339 string or a number of seconds since the epoch; "-" for anything else.
 * Writes into `buf`.
 */
const char *hcr_cli_age(const json_t *when, time_t now, char *buf, size_t size);

/* Replaces control characters (C0, DEL, C1) with '?'; returns a new string. */
char *hcr_cli_clean(const char *s);

/* Prints `doc` (borrowed) in the chosen format: indented JSON, or YAML. */
void hcr_cli_print_doc(hcr_cli_format format, const json_t *doc, FILE *f);

/* ---- merge patches (src/cli_patch.c) ----------------------------------------------------- */

/*
 * The RFC 7396 merge patch that turns `from` into `to` (both borrowed):
 * changed and new members with their new value, members that `to` lacks as
 * null, objects compared member by member, anything else (arrays included)
 * replaced whole. Returns a new reference: an empty object when nothing
 * changed; `to` itself (copied) when either side is not an object.
 */
json_t *hcr_cli_merge_diff(const json_t *from, const json_t *to);

/*
 * Adds one `path=value` assignment of `hcr config set` to `patch` (borrowed,
 * an object). `path` is dotted (`tags.team`, `kubernetesVersion`); a pool is
 * picked by name with brackets (`nodeGroups[ng-a].desiredSize`), and a
 * backslash escapes the next character (`tags.kubernetes\.io/role`). `value`
 * is taken as JSON when it parses as JSON, else as a string; it stays a string
 * when the field's value in `current` (the cluster's effective document) is a
 * string, so `kubernetesVersion=1.30` sends "1.30". A pool assignment starts
 * from the list in `desired` (the pools hcr manages), since a pool list in a
 * merge patch replaces the whole list. `current` and `desired` are borrowed
 * and may be NULL.
 * Fails with HCR_EINVALID (a usage error) for a malformed assignment or one
 * that contradicts an earlier one.
 */
int hcr_cli_patch_assign(json_t *patch, const char *assignment, const json_t *current,
			 const json_t *desired, hcr_error *err);

/* ---- commands ---------------------------------------------------------------------------- */

/* Each returns an exit code; argv[0] is the command's name ("clusters", ...). */
int hcr_cli_clusters(hcr_cli *cli, int argc, char **argv);
int hcr_cli_config(hcr_cli *cli, int argc, char **argv);
int hcr_cli_drift(hcr_cli *cli, int argc, char **argv);
int hcr_cli_events(hcr_cli *cli, int argc, char **argv);
int hcr_cli_discover(hcr_cli *cli, int argc, char **argv);
/*
 * `hcr compare` runs its engine in the CLI (hcr/kube_compare.h) and talks
 * HTTP to hcr only for the credentials of registered clusters. Its exit
 * codes are diff's: 0 same, 1 different (or a write failed), 2 trouble.
 */
int hcr_cli_compare(hcr_cli *cli, int argc, char **argv);

/* Prints "hcr: <message>", a blank line and `usage` to stderr; returns HCR_CLI_EXIT_USAGE. */
int hcr_cli_usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Matches argv[*i] against option `name` ("--limit"): "--limit V" (advancing
 * *i) or "--limit=V". Returns 1 with *value set, 0 when it is another
 * argument, -1 when the value is missing.
 */
int hcr_cli_option(int argc, char **argv, int *i, const char *name, const char **value);

/*
 * Prints an error from hcr_cli_request and returns the exit code for it
 * (always HCR_CLI_EXIT_FAIL).
 */
int hcr_cli_fail(const hcr_error *err);

#endif
