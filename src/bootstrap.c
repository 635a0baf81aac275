/*
 * The first admin token. A fresh installation has no token, and every API
 * endpoint but the health checks needs one; so at start, when no active admin
 * token exists, hcr makes one and writes it to a file only its user can read.
 * An advisory lock makes concurrent starts against one database create one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hcr/api.h"
#include "hcr/log.h"
#include "hcr/mem.h"
#include "hcr/tokens.h"

/* pg_advisory_xact_lock key for bootstrapping ("hcr-boot" in ASCII). */
#define BOOTSTRAP_LOCK "7526473413424459636"

static int write_token_file(const char *path, const char *token, hcr_error *err)
{
	char *tmp = hcr_sprintf("%s.tmp", path);
	int fd, rc = HCR_OK;
	size_t len = strlen(token);

	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, token, len) != (ssize_t)len || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0) {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				   "cannot write the admin token to \"%s\"", path);
		hcr_error_detail(err, "%s", strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	if (rc == HCR_OK && rename(tmp, path) != 0) {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				   "cannot write the admin token to \"%s\"", path);
		hcr_error_detail(err, "%s", strerror(errno));
	}
	if (rc != HCR_OK)
		unlink(tmp);
	free(tmp);
	return rc;
}

int hcr_api_bootstrap_admin(hcr_store *store, const char *token_file, int *created, hcr_error *err)
{
	PGconn *conn = NULL;
	json_t *tok = NULL;
	int rc, admins = 0;

	*created = 0;
	rc = hcr_store_acquire(store, &conn, err);
	if (rc != HCR_OK)
		return rc;
	rc = hcr_store_begin(conn, err);
	if (rc == HCR_OK)
		rc = hcr_store_query(conn, NULL, "SELECT pg_advisory_xact_lock(" BOOTSTRAP_LOCK ")",
				     0, NULL, err);
	if (rc == HCR_OK)
		rc = hcr_tokens_count_admins(conn, &admins, err);
	if (rc != HCR_OK || admins > 0)
		goto done;
	rc = hcr_tokens_create(conn, "bootstrap-admin", HCR_ROLE_ADMIN, 0, "hcr", &tok, err);
	if (rc != HCR_OK)
		goto done;
	/* The file is written before the commit: a token nobody can read is never stored. */
	rc = write_token_file(token_file, json_string_value(json_object_get(tok, "token")), err);
	if (rc != HCR_OK)
		goto done;
	rc = hcr_store_commit(conn, err);
	if (rc == HCR_OK)
		*created = 1;
done:
	if (rc != HCR_OK || admins > 0)
		hcr_store_rollback(conn);
	json_decref(tok);
	hcr_store_release(store, conn);
	return rc;
}
