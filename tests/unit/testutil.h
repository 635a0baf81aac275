/*
 * Small helpers shared by the unit tests. Include after <cmocka.h>: failures
 * are reported with cmocka's fail_msg.
 */
#ifndef HCR_TESTUTIL_H
#define HCR_TESTUTIL_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/store.h"

/*
 * Parses JSON written with single quotes for readability in C strings
 * ("{'a': 1}"). Returns a new reference; fails the test on bad JSON.
 */
static inline json_t *test_json(const char *text)
{
	char *s = strdup(text);
	json_error_t jerr;
	json_t *v;

	for (char *p = s; *p; p++) {
		if (*p == '\'')
			*p = '"';
	}
	v = json_loads(s, JSON_DECODE_ANY, &jerr);
	if (!v)
		fail_msg("bad test JSON %s: %s", s, jerr.text);
	free(s);
	return v;
}

/* The single value `sql` returns on `conn` (a new string), or NULL for SQL NULL. */
static inline char *test_sql_value(PGconn *conn, const char *sql)
{
	PGresult *res = NULL;
	hcr_error err;
	char *v;

	if (hcr_store_query(conn, &res, sql, 0, NULL, &err) != HCR_OK)
		fail_msg("%s: %s: %s", sql, err.message, err.detail);
	assert_int_equal(PQntuples(res), 1);
	v = hcr_store_strdup(res, 0, 0);
	PQclear(res);
	return v;
}

#endif
