/*
 * The embedded PostgreSQL: when no database URL is configured, hcr initialises
 * a cluster under <data_dir>/postgres (initdb on first start), starts the
 * server as a child process listening only on a Unix socket in a private
 * directory, and stops it on shutdown (fast shutdown, waiting for exit).
 *
 * PostgreSQL refuses to run as root: when hcr runs as root, the server's
 * directories are owned by, and the server runs as, the `postgres` user.
 */
#ifndef HCR_PGEMBED_H
#define HCR_PGEMBED_H

#include <sys/types.h>

#include "hcr/error.h"

typedef struct hcr_pgembed hcr_pgembed;

/*
 * Finds the server binaries: `bin_dir` if given (it must contain initdb and
 * postgres), else `pg_config --bindir`, else the newest
 * /usr/lib/postgresql/<N>/bin. Writes the directory into `out` (of `size`).
 */
int hcr_pgembed_find_bindir(char *out, size_t size, const char *bin_dir, hcr_error *err);

/*
 * Initialises (if needed) and starts PostgreSQL under `dir`, then waits until
 * it accepts connections (up to 60 s). The database "hcr" exists afterwards.
 * A server already running on `dir` (a live postmaster.pid) fails with a
 * message naming its pid. *out is new; stop and free it with hcr_pgembed_stop.
 */
int hcr_pgembed_start(hcr_pgembed **out, const char *dir, const char *bin_dir, hcr_error *err);

/* libpq connection string for the running server (borrowed). */
const char *hcr_pgembed_conninfo(const hcr_pgembed *pg);

/* The server's process id. */
pid_t hcr_pgembed_pid(const hcr_pgembed *pg);

/*
 * Stops the server (SIGINT: fast shutdown; SIGQUIT after 30 s), waits for
 * it to exit, and frees `pg`. NULL is ignored.
 */
void hcr_pgembed_stop(hcr_pgembed *pg);

#endif
