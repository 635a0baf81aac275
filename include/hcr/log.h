/*
 * Structured logging: one line per record on stderr,
 *
 *   ts=2026-11-21T18:52:21.123Z level=info sub=api req=4f2c... msg="listening" addr=127.0.0.1:8080
 *
 * The level is checked before anything is formatted. Callers pass extra
 * key=value pairs already formatted in the message's tail with hcr_log's
 * printf-style format, e.g.
 *
 *   hcr_log_info("store", "connected pool_size=%d", n);
 *
 * Values that may contain spaces or quotes should be wrapped with
 * hcr_log_quote. Never log credentials, tokens, signatures or Secret data.
 */
#ifndef HCR_LOG_H
#define HCR_LOG_H

#include <stdbool.h>

typedef enum {
	HCR_LOG_DEBUG = 0,
	HCR_LOG_INFO = 1,
	HCR_LOG_WARN = 2,
	HCR_LOG_ERROR = 3,
} hcr_log_level;

/* Parses "debug", "info", "warn" or "error". Returns false if unknown. */
bool hcr_log_level_parse(const char *name, hcr_log_level *out);
const char *hcr_log_level_name(hcr_log_level level);

void hcr_log_set_level(hcr_log_level level);
bool hcr_log_enabled(hcr_log_level level);

/*
 * Sets the request id attached to this thread's log lines (NULL clears it).
 * The string is copied.
 */
void hcr_log_set_request_id(const char *id);

void hcr_log_write(hcr_log_level level, const char *sub, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define hcr_log_debug(sub, ...)                                         \
	do {                                                            \
		if (hcr_log_enabled(HCR_LOG_DEBUG))                     \
			hcr_log_write(HCR_LOG_DEBUG, sub, __VA_ARGS__); \
	} while (0)
#define hcr_log_info(sub, ...)                                         \
	do {                                                           \
		if (hcr_log_enabled(HCR_LOG_INFO))                     \
			hcr_log_write(HCR_LOG_INFO, sub, __VA_ARGS__); \
	} while (0)
#define hcr_log_warn(sub, ...)                                         \
	do {                                                           \
		if (hcr_log_enabled(HCR_LOG_WARN))                     \
			hcr_log_write(HCR_LOG_WARN, sub, __VA_ARGS__); \
	} while (0)
#define hcr_log_error(sub, ...) hcr_log_write(HCR_LOG_ERROR, sub, __VA_ARGS__)

/*
 * Quotes `s` for a log value into `buf` (of `size` bytes): wrapped in double
 * quotes, with quotes, backslashes and control characters escaped, truncated
 * to fit. Returns `buf`.
 */
const char *hcr_log_quote(char *buf, unsigned long size, const char *s);

#endif
