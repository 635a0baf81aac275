/*
 * What the CLI prints: aligned tables for people, JSON or YAML for scripts,
 * and the small conversions tables need (a value as a cell, a time as an age).
 *
 * Everything that came from the server goes through hcr_cli_clean before it
 * reaches a terminal, so a cluster's tag value cannot carry escape sequences
 * into the operator's terminal. Widths count UTF-8 characters, not bytes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "hcr/cli.h"

struct hcr_cli_table {
	size_t ncols;
	const char *const *heads;
	size_t *min, *max, *width;
	char **cells; /* nrows * ncols, row-major */
	size_t nrows, cap;
};

/* ---- text -------------------------------------------------------------------------------- */

char *hcr_cli_clean(const char *s)
{
	char *out = hcr_strdup(s ? s : "");
	unsigned char *p = (unsigned char *)out;

	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			*p = '?';
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* U+0080..U+009F: C1 controls, which some terminals obey. */
			p[0] = '?';
			p[1] = '?';
			p++;
		}
	}
	return out;
}

/* Characters in a UTF-8 string (bytes that do not continue a sequence). */
static size_t text_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Cuts `s` (owned, returned) to `max` characters, the last three being "...". */
static char *cut(char *s, size_t max)
{
	size_t n = 0, i;

	if (!max || text_width(s) <= max || max < 4)
		return s;
	for (i = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && n++ == max - 3)
			break;
	}
	s = hcr_realloc(s, i + 4);
	memcpy(s + i, "...", 4);
	return s;
}

const char *hcr_cli_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

char *hcr_cli_value_text(const json_t *v)
{
	if (!v || json_is_null(v))
		return hcr_strdup("-");
	if (json_is_string(v))
		return hcr_strdup(json_string_length(v) ? json_string_value(v) : "\"\"");
	return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* RFC 3339 (as hcr writes it: 2026-11-21T19:07:09.882Z, or with an offset) to epoch seconds. */
static bool parse_time(const char *s, time_t *out)
{
	struct tm tm;
	const char *p;
	int oh = 0, om = 0;
	long off = 0;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return false;
	if (*p == '.')
		p += 1 + strspn(p + 1, "0123456789");
	if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2)
		off = (*p == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
	else if (*p != 'Z' && *p != 'z')
		return false;
	*out = timegm(&tm) - off;
	return true;
}

const char *hcr_cli_age(const json_t *when, time_t now, char *buf, size_t size)
{
	time_t t;
	double secs;

	if (json_is_string(when) && parse_time(json_string_value(when), &t))
		secs = difftime(now, t);
	else if (json_is_number(when))
		secs = difftime(now, (time_t)json_number_value(when));
	else
		return snprintf(buf, size, "-"), buf;
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		snprintf(buf, size, "%ds", (int)secs);
	else if (secs < 2 * 3600)
		snprintf(buf, size, "%dm", (int)(secs / 60));
	else if (secs < 2 * 86400)
		snprintf(buf, size, "%dh", (int)(secs / 3600));
	else
		snprintf(buf, size, "%dd", (int)(secs / 86400));
	return buf;
}

/* ---- tables ------------------------------------------------------------------------------ */

hcr_cli_table *hcr_cli_table_new(size_t ncols, const char *const *heads)
{
	hcr_cli_table *t = hcr_calloc(1, sizeof(*t));

	t->ncols = ncols;
	t->heads = heads;
	t->min = hcr_calloc(ncols, sizeof(size_t));
	t->max = hcr_calloc(ncols, sizeof(size_t));
	t->width = hcr_calloc(ncols, sizeof(size_t));
	return t;
}

void hcr_cli_table_width(hcr_cli_table *t, size_t col, size_t min, size_t max)
{
	if (col < t->ncols) {
		t->min[col] = min;
		t->max[col] = max;
	}
}

static char *cell_text(const hcr_cli_table *t, size_t col, const char *s)
{
	return cut(hcr_cli_clean(s ? s : "-"), t->max[col]);
}

void hcr_cli_table_add(hcr_cli_table *t, const char *const *cells)
{
	size_t c;

	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cells = hcr_realloc(t->cells, t->cap * t->ncols * sizeof(char *));
	}
	for (c = 0; c < t->ncols; c++)
		t->cells[t->nrows * t->ncols + c] = cell_text(t, c, cells[c]);
	t->nrows++;
}

size_t hcr_cli_table_rows(const hcr_cli_table *t)
{
	return t->nrows;
}

static void print_row(const hcr_cli_table *t, char *const *cells, FILE *f)
{
	size_t c, w;

	for (c = 0; c < t->ncols; c++) {
		fputs(cells[c], f);
		if (c + 1 == t->ncols)
			break;
		/* A streamed cell wider than its column pushes the rest right, never overlaps. */
		w = text_width(cells[c]);
		fprintf(f, "%*s", (int)(w < t->width[c] ? t->width[c] - w + 2 : 2), "");
	}
	fputc('\n', f);
}

void hcr_cli_table_print(hcr_cli_table *t, FILE *f)
{
	size_t r, c;

	for (c = 0; c < t->ncols; c++) {
		t->width[c] = text_width(t->heads[c]);
		if (t->width[c] < t->min[c])
			t->width[c] = t->min[c];
		for (r = 0; r < t->nrows; r++) {
			size_t w = text_width(t->cells[r * t->ncols + c]);

			if (w > t->width[c])
				t->width[c] = w;
		}
	}
	print_row(t, (char *const *)t->heads, f);
	for (r = 0; r < t->nrows; r++)
		print_row(t, t->cells + r * t->ncols, f);
}

void hcr_cli_table_stream(const hcr_cli_table *t, const char *const *cells, FILE *f)
{
	char **row = hcr_calloc(t->ncols, sizeof(char *));
	size_t c;

	for (c = 0; c < t->ncols; c++)
		row[c] = cell_text(t, c, cells[c]);
	print_row(t, row, f);
	for (c = 0; c < t->ncols; c++)
		free(row[c]);
	free(row);
}

void hcr_cli_table_free(hcr_cli_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->min);
	free(t->max);
	free(t->width);
	free(t);
}

/* ---- JSON and YAML ----------------------------------------------------------------------- */

/* Whether a YAML reader would take the plain scalar `s` for something other than a string. */
static bool yaml_needs_quotes(const char *s)
{
	static const char *const special[] = {"null", "~",   "true", "false", "yes", "no",
					      "on",   "off", "y",    "n",     NULL};
	char lower[8];
	size_t i;

	if (!*s || isdigit((unsigned char)*s) || strchr("-+.", *s))
		return true;
	if (strlen(s) >= sizeof(lower))
		return false;
	for (i = 0; s[i]; i++)
		lower[i] = (char)tolower((unsigned char)s[i]);
	lower[i] = '\0';
	for (i = 0; special[i]; i++)
		if (strcmp(lower, special[i]) == 0)
			return true;
	return false;
}

static void emit(yaml_emitter_t *e, yaml_event_t *ev)
{
	/* The emitter owns the event from here, whether it succeeds or not. */
	yaml_emitter_emit(e, ev);
}

static void emit_scalar(yaml_emitter_t *e, const char *text, bool is_string)
{
	yaml_event_t ev;
	int plain = !is_string || !yaml_needs_quotes(text);

	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text), plain,
				     1, YAML_ANY_SCALAR_STYLE);
	emit(e, &ev);
}

static void emit_value(yaml_emitter_t *e, const json_t *v)
{
	yaml_event_t ev;
	const char *key;
	const json_t *item;
	size_t i;
	char *text;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		emit(e, &ev);
		json_object_foreach((json_t *)v, key, item)
		{
			emit_scalar(e, key, true);
			emit_value(e, item);
		}
		yaml_mapping_end_event_initialize(&ev);
		emit(e, &ev);
		break;
	case JSON_ARRAY:
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
		emit(e, &ev);
		json_array_foreach(v, i, item)
		{
			emit_value(e, item);
		}
		yaml_sequence_end_event_initialize(&ev);
		emit(e, &ev);
		break;
	case JSON_STRING:
		emit_scalar(e, json_string_value(v), true);
		break;
	case JSON_NULL:
		emit_scalar(e, "null", false);
		break;
	default:
		text = json_dumps(v, JSON_ENCODE_ANY);
		emit_scalar(e, text ? text : "null", false);
		free(text);
	}
}

static void print_yaml(const json_t *doc, FILE *f)
{
	yaml_emitter_t e;
	yaml_event_t ev;

	yaml_emitter_initialize(&e);
	yaml_emitter_set_output_file(&e, f);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, -1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	emit(&e, &ev);
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	emit(&e, &ev);
	emit_value(&e, doc);
	yaml_document_end_event_initialize(&ev, 1);
	emit(&e, &ev);
	yaml_stream_end_event_initialize(&ev);
	emit(&e, &ev);
	yaml_emitter_flush(&e);
	yaml_emitter_delete(&e);
}

void hcr_cli_print_doc(hcr_cli_format format, const json_t *doc, FILE *f)
{
	if (format == HCR_CLI_YAML) {
		print_yaml(doc, f);
		return;
	}
	json_dumpf(doc, f, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', f);
}
