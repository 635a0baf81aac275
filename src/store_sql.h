/*
 * SQL fragments shared by the store's domain files.
 */
#ifndef HCR_STORE_SQL_H
#define HCR_STORE_SQL_H

/* An RFC 3339 UTC timestamp with milliseconds, as text, from a timestamptz expression. */
#define HCR_SQL_TS(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

#endif
