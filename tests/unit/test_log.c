/*
 * Unit tests for src/log.c: value quoting, level names, the level check, and
 * the shape of a written line (stderr is redirected to a temporary file).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hcr/log.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- capturing stderr ---------------------------------------------------------------- */

static FILE *capture_file;
static int saved_stderr = -1;

static void capture_start(void)
{
	fflush(stderr);
	capture_file = tmpfile();
	assert_non_null(capture_file);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fileno(capture_file), STDERR_FILENO) >= 0);
}

/* Stops capturing; returns what was written (a new string). */
static char *capture_stop(void)
{
	long n;
	char *s;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	saved_stderr = -1;
	n = ftell(capture_file);
	assert_true(n >= 0);
	s = calloc(1, (size_t)n + 1);
	rewind(capture_file);
	if (n > 0)
		assert_int_equal(fread(s, 1, (size_t)n, capture_file), (size_t)n);
	fclose(capture_file);
	capture_file = NULL;
	return s;
}

static void assert_matches(const char *s, const char *pattern)
{
	regex_t re;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&re, s, 0, NULL, 0) != 0) {
		regfree(&re);
		fail_msg("\"%s\" does not match /%s/", s, pattern);
	}
	regfree(&re);
}

#define TS "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "

static int reset_level(void **state)
{
	(void)state;
	/* A failed assertion while capturing leaves stderr redirected: put it back. */
	if (saved_stderr >= 0)
		free(capture_stop());
	hcr_log_set_level(HCR_LOG_INFO);
	hcr_log_set_request_id(NULL);
	return 0;
}

/* ---- quoting ------------------------------------------------------------------------- */

static void test_log__quote_escapes(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{"", "\"\""},
		{"hello world", "\"hello world\""},
		{"say \"hi\"", "\"say \\\"hi\\\"\""},
		{"C:\\dir", "\"C:\\\\dir\""},
		{"two\nlines", "\"two\\nlines\""},
		{"tab\there", "\"tab\\x09here\""},
		{"cr\r", "\"cr\\x0d\""},
		{"\x1b[31mred", "\"\\x1b[31mred\""},
		{"\x01", "\"\\x01\""},
		{"del\x7f", "\"del\\x7f\""},
		{"caf\xc3\xa9", "\"caf\xc3\xa9\""},
		{"k=v x=\"y\"", "\"k=v x=\\\"y\\\"\""},
	};
	char buf[128];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *r = hcr_log_quote(buf, sizeof(buf), cases[i].in);

		assert_ptr_equal(r, buf);
		if (strcmp(buf, cases[i].out) != 0)
			fail_msg("case %zu: got %s, want %s", i, buf, cases[i].out);
	}
	assert_string_equal(hcr_log_quote(buf, sizeof(buf), NULL), "\"\"");
}

static void test_log__quote_truncates_without_splitting_an_escape(void **state)
{
	const char *in = "a\"b\\c\nd\x01"
			 "efghijklmnopqrstuvwxyz";
	char full[256], buf[64];
	unsigned long size;

	(void)state;
	hcr_log_quote(full, sizeof(full), in);
	assert_string_equal(full, "\"a\\\"b\\\\c\\nd\\x01efghijklmnopqrstuvwxyz\"");
	for (size = 3; size <= sizeof(buf); size++) {
		size_t j, n, i;
		bool prefix = false;

		memset(buf, '#', sizeof(buf));
		hcr_log_quote(buf, size, in);
		n = strlen(buf);
		for (i = size; i < sizeof(buf); i++)
			if (buf[i] != '#')
				fail_msg("size %lu: wrote past the end", size);
		/* What fits is the quoting of a prefix of the input: no escape is cut in half. */
		for (j = 0; j <= strlen(in) && !prefix; j++) {
			char part[64], quoted[256];

			snprintf(part, sizeof(part), "%.*s", (int)j, in);
			hcr_log_quote(quoted, sizeof(quoted), part);
			prefix = strcmp(quoted, buf) == 0;
		}
		/* And it is not cut shorter than it has to be (an escape is at most 4 bytes). */
		if (n >= size || !prefix || (n + 6 < size && n < strlen(full)))
			fail_msg("size %lu: %s", size, buf);
	}
	/* A large enough buffer holds it all. */
	hcr_log_quote(buf, sizeof(buf), in);
	assert_string_equal(buf, full);
	/* Too small for even "": empty. */
	memset(buf, '#', sizeof(buf));
	hcr_log_quote(buf, 2, in);
	assert_string_equal(buf, "");
	assert_int_equal(buf[2], '#');
	hcr_log_quote(buf, 3, in);
	assert_string_equal(buf, "\"\"");
}

/* ---- levels -------------------------------------------------------------------------- */

static void test_log__level_names(void **state)
{
	static const struct {
		const char *name;
		bool ok;
		hcr_log_level level;
	} cases[] = {
		{"debug", true, HCR_LOG_DEBUG},
		{"info", true, HCR_LOG_INFO},
		{"warn", true, HCR_LOG_WARN},
		{"error", true, HCR_LOG_ERROR},
		{"INFO", false, 0},
		{"warning", false, 0},
		{"", false, 0},
		{"inf", false, 0},
		{"info ", false, 0},
		{"trace", false, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		hcr_log_level l = (hcr_log_level)99;
		bool ok = hcr_log_level_parse(cases[i].name, &l);

		if (ok != cases[i].ok || (ok && l != cases[i].level) ||
		    (!ok && l != (hcr_log_level)99))
			fail_msg("\"%s\": got %d %d", cases[i].name, ok, (int)l);
		if (ok)
			assert_string_equal(hcr_log_level_name(l), cases[i].name);
	}
	{
		hcr_log_level l = HCR_LOG_WARN;

		assert_false(hcr_log_level_parse(NULL, &l));
		assert_int_equal(l, HCR_LOG_WARN);
	}
	assert_string_equal(hcr_log_level_name((hcr_log_level)4), "?");
	assert_string_equal(hcr_log_level_name((hcr_log_level)-1), "?");
}

static void test_log__enabled_by_level(void **state)
{
	static const struct {
		hcr_log_level set;
		bool debug, info, warn, error;
	} cases[] = {
		{HCR_LOG_DEBUG, true, true, true, true},
		{HCR_LOG_INFO, false, true, true, true},
		{HCR_LOG_WARN, false, false, true, true},
		{HCR_LOG_ERROR, false, false, false, true},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		hcr_log_set_level(cases[i].set);
		if (hcr_log_enabled(HCR_LOG_DEBUG) != cases[i].debug ||
		    hcr_log_enabled(HCR_LOG_INFO) != cases[i].info ||
		    hcr_log_enabled(HCR_LOG_WARN) != cases[i].warn ||
		    hcr_log_enabled(HCR_LOG_ERROR) != cases[i].error)
			fail_msg("level %s", hcr_log_level_name(cases[i].set));
	}
}

static int side_effects;

static int bump(void)
{
	return ++side_effects;
}

static void test_log__disabled_levels_write_and_format_nothing(void **state)
{
	char *out;

	(void)state;
	hcr_log_set_level(HCR_LOG_WARN);
	side_effects = 0;
	capture_start();
	hcr_log_debug("t", "debug n=%d", bump());
	hcr_log_info("t", "info n=%d", bump());
	hcr_log_warn("t", "warned n=%d", bump());
	hcr_log_set_level(HCR_LOG_ERROR);
	hcr_log_warn("t", "again n=%d", bump());
	/* Errors are always written. */
	hcr_log_error("t", "failed n=%d", bump());
	out = capture_stop();
	/* The arguments of a disabled line are not even evaluated. */
	assert_int_equal(side_effects, 2);
	assert_null(strstr(out, "debug"));
	assert_null(strstr(out, "msg=\"info\""));
	assert_null(strstr(out, "again"));
	assert_non_null(strstr(out, "level=warn sub=t msg=\"warned\" n=1\n"));
	assert_non_null(strstr(out, "level=error sub=t msg=\"failed\" n=2\n"));
	free(out);
}

/* ---- lines --------------------------------------------------------------------------- */

static void test_log__line_format(void **state)
{
	static const struct {
		hcr_log_level level;
		const char *sub;
		const char *msg;
		const char *pattern;
	} cases[] = {
		{HCR_LOG_INFO, "x", "hello world k=v",
		 TS "level=info sub=x msg=\"hello world\" k=v\n$"},
		{HCR_LOG_INFO, "api", "listening", TS "level=info sub=api msg=\"listening\"\n$"},
		{HCR_LOG_WARN, "store", "pool exhausted size=4 waited_ms=2000",
		 TS "level=warn sub=store msg=\"pool exhausted\" size=4 waited_ms=2000\n$"},
		{HCR_LOG_ERROR, "api", "say \"hi\" now",
		 TS "level=error sub=api msg=\"say "
		    "\\\\\"hi\\\\\" now\"\n$"},
		{HCR_LOG_DEBUG, "x", "two\nlines", TS "level=debug sub=x msg=\"two\\\\nlines\"\n$"},
		/* A space before '=' is not a field. */
		{HCR_LOG_INFO, "x", "a = b", TS "level=info sub=x msg=\"a = b\"\n$"},
		{HCR_LOG_INFO, "x", "", TS "level=info sub=x msg=\"\"\n$"},
	};
	size_t i;

	(void)state;
	hcr_log_set_level(HCR_LOG_DEBUG);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *out;

		capture_start();
		hcr_log_write(cases[i].level, cases[i].sub, "%s", cases[i].msg);
		out = capture_stop();
		assert_matches(out, cases[i].pattern);
		free(out);
	}
}

static void *log_from_thread(void *arg)
{
	(void)arg;
	hcr_log_info("worker", "from thread");
	return NULL;
}

static void test_log__request_id_appears_on_this_thread_only(void **state)
{
	pthread_t th;
	char *out;

	(void)state;
	hcr_log_set_request_id("4f2c9a");
	capture_start();
	hcr_log_info("api", "request done status=200");
	assert_int_equal(pthread_create(&th, NULL, log_from_thread, NULL), 0);
	pthread_join(th, NULL);
	hcr_log_set_request_id(NULL);
	hcr_log_info("api", "after");
	out = capture_stop();
	assert_matches(out, TS "level=info sub=api req=4f2c9a msg=\"request done\" status=200\n");
	/* Another thread's lines, and lines after clearing, carry no request id. */
	assert_matches(out, "\nts=[^ ]+ level=info sub=worker msg=\"from thread\"\n");
	assert_matches(out, "\nts=[^ ]+ level=info sub=api msg=\"after\"\n$");
	free(out);

	/* A long id is cut, never written past its buffer. */
	{
		char id[200];

		memset(id, 'r', sizeof(id) - 1);
		id[sizeof(id) - 1] = '\0';
		hcr_log_set_request_id(id);
		capture_start();
		hcr_log_info("api", "long");
		out = capture_stop();
		assert_matches(out, " req=r{63} msg=\"long\"\n$");
		free(out);
		hcr_log_set_request_id(NULL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_log__quote_escapes, reset_level),
		cmocka_unit_test_teardown(test_log__quote_truncates_without_splitting_an_escape,
					  reset_level),
		cmocka_unit_test_teardown(test_log__level_names, reset_level),
		cmocka_unit_test_teardown(test_log__enabled_by_level, reset_level),
		cmocka_unit_test_teardown(test_log__disabled_levels_write_and_format_nothing,
					  reset_level),
		cmocka_unit_test_teardown(test_log__line_format, reset_level),
		cmocka_unit_test_teardown(test_log__request_id_appears_on_this_thread_only,
					  reset_level),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
