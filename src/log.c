/*
 * Structured log lines on stderr. One write(2)-sized fprintf per record, under
 * the stdio lock, so lines from the API's worker threads never interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "hcr/log.h"

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static volatile int current_level = HCR_LOG_INFO;
static _Thread_local char request_id[64];

bool hcr_log_level_parse(const char *name, hcr_log_level *out)
{
	int i;

	for (i = 0; i < 4; i++) {
		if (name && strcmp(name, level_names[i]) == 0) {
			*out = (hcr_log_level)i;
			return true;
		}
	}
	return false;
}

const char *hcr_log_level_name(hcr_log_level level)
{
	return level >= HCR_LOG_DEBUG && level <= HCR_LOG_ERROR ? level_names[level] : "?";
}

void hcr_log_set_level(hcr_log_level level)
{
	current_level = level;
}

bool hcr_log_enabled(hcr_log_level level)
{
	return (int)level >= current_level;
}

void hcr_log_set_request_id(const char *id)
{
	snprintf(request_id, sizeof(request_id), "%s", id ? id : "");
}

void hcr_log_write(hcr_log_level level, const char *sub, const char *fmt, ...)
{
	char msg[4096], quoted[4200], ts[32];
	struct timeval tv;
	struct tm tm;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

	/*
	 * The message's first word group up to " key=" is the human message; the
	 * rest are already key=value pairs. Split at the first " x=" so that the
	 * message is quoted and the fields are not.
	 */
	{
		char *fields = NULL, *p;

		for (p = msg; (p = strchr(p, ' ')) != NULL; p++) {
			char *eq = p + 1;

			while (*eq && *eq != ' ' && *eq != '=')
				eq++;
			if (*eq == '=' && eq > p + 1) {
				*p = '\0';
				fields = p + 1;
				break;
			}
		}
		hcr_log_quote(quoted, sizeof(quoted), msg);
		fprintf(stderr, "ts=%s.%03dZ level=%s sub=%s%s%s msg=%s%s%s\n", ts,
			(int)(tv.tv_usec / 1000), hcr_log_level_name(level), sub,
			request_id[0] ? " req=" : "", request_id, quoted, fields ? " " : "",
			fields ? fields : "");
	}
}

const char *hcr_log_quote(char *buf, unsigned long size, const char *s)
{
	unsigned long o = 0;

	if (size < 3) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (; s && *s && o + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			o += (unsigned long)snprintf(buf + o, size - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}
