/*
 * Kubernetes objects shown to people: a YAML rendering (libyaml's emitter)
 * and a unified diff of two renderings (libgit2's diff of two buffers, which
 * needs no repository).
 *
 * YAML because that is what kubectl diff and every Kubernetes user reads, and
 * because a multi-line string (a config file in a ConfigMap) becomes a literal
 * block whose changed line shows as one changed line, where JSON would show
 * one long escaped line. Keys are sorted so that a rendering depends only on
 * the object, not on the order a server sent its keys in.
 *
 * The diff algorithm is not ours: libgit2 wraps git's xdiff (Myers with the
 * indent heuristic), well kept and fast. Only the output is formatted here,
 * as `diff -u` would: `---`/`+++` with our labels, `@@` hunks without git's
 * function context, no `diff --git` or `index` lines.
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>
#include <yaml.h>

#include "hcr/kube_norm.h"
#include "hcr/mem.h"

#define MAX_DEPTH 1000
#define MAX_TEXT  ((size_t)16 << 20)

/* ---- YAML rendering ---------------------------------------------------------------------- */

typedef struct render {
	yaml_emitter_t em;
	hcr_buf *buf;
	bool too_big;
	bool too_deep;
} render;

typedef struct member {
	const char *key;
	size_t len;
	json_t *value;
} member;

static int write_out(void *data, unsigned char *buffer, size_t size)
{
	render *r = data;

	if (size > MAX_TEXT - r->buf->len) {
		r->too_big = true;
		return 0;
	}
	hcr_buf_append(r->buf, buffer, size);
	return 1;
}

/*
 * Whether a string would read back as another type if written plain (YAML 1.1
 * as kubectl's parser reads it, and 1.2): null and boolean words, numbers and
 * what looks like one. Such strings are double-quoted, as kubectl writes
 * "8080" and "true"; a few harmless strings that merely start like a number
 * ("1.2.3") are quoted too.
 */
static bool reads_as_other_type(const char *s, size_t len)
{
	static const char *const words[] = {
		"",      "~",     "null", "Null", "NULL", "true", "True", "TRUE", "false",
		"False", "FALSE", "yes",  "Yes",  "YES",  "no",   "No",   "NO",   "on",
		"On",    "ON",    "off",  "Off",  "OFF",  "y",    "Y",    "n",    "N",
		".inf",  ".Inf",  ".INF", ".nan", ".NaN", ".NAN", "<<",   "=",    NULL,
	};

	for (const char *const *w = words; *w; w++) {
		if (strlen(*w) == len && memcmp(*w, s, len) == 0)
			return true;
	}
	if (s[0] >= '0' && s[0] <= '9')
		return true;
	return len > 1 && (s[0] == '+' || s[0] == '-' || s[0] == '.') &&
	       ((s[1] >= '0' && s[1] <= '9') || s[1] == '.');
}

static bool emit_scalar(render *r, const char *s, size_t len, int plain_implicit,
			yaml_scalar_style_t style)
{
	yaml_event_t ev;

	if (len > MAX_TEXT || len > INT_MAX) {
		r->too_big = true;
		return false;
	}
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)s, (int)len,
					  plain_implicit, 1, style))
		return false;
	return yaml_emitter_emit(&r->em, &ev) != 0;
}

static bool emit_string(render *r, const char *s, size_t len, bool is_key)
{
	if (reads_as_other_type(s, len))
		return emit_scalar(r, s, len, 0, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
	/* libyaml falls back to a quoted style where a literal block cannot hold the text. */
	if (!is_key && memchr(s, '\n', len))
		return emit_scalar(r, s, len, 1, YAML_LITERAL_SCALAR_STYLE);
	return emit_scalar(r, s, len, 1, YAML_ANY_SCALAR_STYLE);
}

/* The shortest of %.15g..%.17g that reads back as the same double, always with a '.' or 'e'. */
static bool emit_real(render *r, double d)
{
	char buf[40];

	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (!strpbrk(buf, ".eEn"))
		strcat(buf, ".0");
	return emit_scalar(r, buf, strlen(buf), 1, YAML_PLAIN_SCALAR_STYLE);
}

static int member_cmp(const void *a, const void *b)
{
	const member *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);

	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

static bool emit_value(render *r, json_t *v, int depth);

static bool emit_mapping(render *r, json_t *obj, int depth)
{
	size_t n = json_object_size(obj), i = 0;
	member *m = hcr_calloc(n ? n : 1, sizeof(*m));
	yaml_event_t ev;
	const char *key;
	size_t klen;
	json_t *v;
	bool ok;

	json_object_keylen_foreach(obj, key, klen, v)
	{
		m[i++] = (member){key, klen, v};
	}
	qsort(m, n, sizeof(*m), member_cmp);
	ok = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) &&
	     yaml_emitter_emit(&r->em, &ev);
	for (i = 0; ok && i < n; i++)
		ok = emit_string(r, m[i].key, m[i].len, true) &&
		     emit_value(r, m[i].value, depth + 1);
	ok = ok && yaml_mapping_end_event_initialize(&ev) && yaml_emitter_emit(&r->em, &ev);
	free(m);
	return ok;
}

static bool emit_sequence(render *r, json_t *arr, int depth)
{
	yaml_event_t ev;
	json_t *v;
	size_t i;

	if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE) ||
	    !yaml_emitter_emit(&r->em, &ev))
		return false;
	json_array_foreach(arr, i, v)
	{
		if (!emit_value(r, v, depth + 1))
			return false;
	}
	return yaml_sequence_end_event_initialize(&ev) && yaml_emitter_emit(&r->em, &ev);
}

static bool emit_value(render *r, json_t *v, int depth)
{
	char buf[32];

	if (depth > MAX_DEPTH) {
		r->too_deep = true;
		return false;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return emit_mapping(r, v, depth);
	case JSON_ARRAY:
		return emit_sequence(r, v, depth);
	case JSON_STRING:
		return emit_string(r, json_string_value(v), json_string_length(v), false);
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return emit_scalar(r, buf, strlen(buf), 1, YAML_PLAIN_SCALAR_STYLE);
	case JSON_REAL:
		return emit_real(r, json_real_value(v));
	case JSON_TRUE:
		return emit_scalar(r, "true", 4, 1, YAML_PLAIN_SCALAR_STYLE);
	case JSON_FALSE:
		return emit_scalar(r, "false", 5, 1, YAML_PLAIN_SCALAR_STYLE);
	case JSON_NULL:
	default:
		return emit_scalar(r, "null", 4, 1, YAML_PLAIN_SCALAR_STYLE);
	}
}

/* Appends the YAML rendering of `v` (as it is: no masking) to `out`. */
static int render_yaml(hcr_buf *out, json_t *v, hcr_error *err)
{
	render r = {.buf = out};
	yaml_event_t ev;
	bool ok;

	if (!yaml_emitter_initialize(&r.em))
		return hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				     "cannot start the yaml emitter");
	yaml_emitter_set_output(&r.em, write_out, &r);
	yaml_emitter_set_unicode(&r.em, 1);
	yaml_emitter_set_indent(&r.em, 2);
	yaml_emitter_set_width(&r.em, -1);
	ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
	     yaml_emitter_emit(&r.em, &ev) &&
	     yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
	     yaml_emitter_emit(&r.em, &ev) && emit_value(&r, v, 0) &&
	     yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&r.em, &ev) &&
	     yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&r.em, &ev) &&
	     yaml_emitter_flush(&r.em);
	if (!ok) {
		if (r.too_big)
			hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				      "object renders to more than 16 MiB of yaml");
		else if (r.too_deep)
			hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				      "object is nested more than %d levels deep", MAX_DEPTH);
		else {
			hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				      "cannot render object as yaml");
			hcr_error_detail(err, "%s", r.em.problem ? r.em.problem : "unknown");
		}
	}
	yaml_emitter_delete(&r.em);
	return ok ? HCR_OK : HCR_EINVALID;
}

int hcr_kube_render(char **out, const json_t *obj, hcr_error *err)
{
	hcr_buf b = {0};
	json_t *copy;
	int rc;

	*out = NULL;
	if (!obj)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID, "no object to render");
	copy = json_deep_copy(obj);
	if (!copy)
		return hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				     "cannot copy object to render");
	hcr_kube_mask_secret(copy);
	rc = render_yaml(&b, copy, err);
	json_decref(copy);
	if (rc != HCR_OK) {
		hcr_buf_free(&b);
		return rc;
	}
	*out = b.data ? b.data : hcr_strdup("");
	return HCR_OK;
}

/* ---- unified diff ------------------------------------------------------------------------ */

static pthread_once_t git_once = PTHREAD_ONCE_INIT;
static int git_init_rc;

/*
 * libgit2 keeps process-wide state (allocator, thread-local errors); it is
 * set up once and never torn down. Its first call also loads the system CA
 * bundle for its TLS streams, a one-time cost of a few milliseconds.
 */
static void git_init(void)
{
	git_init_rc = git_libgit2_init();
}

static int git_failed(hcr_error *err, const char *what)
{
	const git_error *e = git_error_last();

	hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "%s", what);
	hcr_error_detail(err, "libgit2: %s", e && e->message ? e->message : "unknown error");
	return HCR_ERROR;
}

/* "--- label": control characters (a newline would forge a diff line) show as '?'. */
static void put_label(hcr_buf *o, const char *prefix, const char *label)
{
	hcr_buf_puts(o, prefix);
	for (const unsigned char *p = (const unsigned char *)label; *p; p++) {
		char c = (*p < 0x20 || *p == 0x7f) ? '?' : (char)*p;

		hcr_buf_append(o, &c, 1);
	}
	hcr_buf_puts(o, "\n");
}

/* One side of a hunk header as diff -u writes it: "-3,7", or "-3" for one line. */
static void put_range(hcr_buf *o, char sign, int start, int lines)
{
	if (lines == 1)
		hcr_buf_printf(o, "%c%d", sign, start);
	else
		hcr_buf_printf(o, "%c%d,%d", sign, start, lines);
}

static void put_line(hcr_buf *o, const git_diff_line *line)
{
	char origin = line->origin;

	if (origin == GIT_DIFF_LINE_CONTEXT_EOFNL || origin == GIT_DIFF_LINE_ADD_EOFNL ||
	    origin == GIT_DIFF_LINE_DEL_EOFNL) {
		if (o->len > 0 && o->data[o->len - 1] != '\n')
			hcr_buf_puts(o, "\n");
		hcr_buf_puts(o, "\\ No newline at end of file\n");
		return;
	}
	hcr_buf_append(o, &origin, 1);
	hcr_buf_append(o, line->content, line->content_len);
}

static int unified(char **out, const hcr_buf *a, const hcr_buf *b, const char *la, const char *lb,
		   hcr_error *err)
{
	git_diff_options opts;
	git_patch *patch = NULL;
	hcr_buf o = {0};
	int rc = HCR_OK;

	pthread_once(&git_once, git_init);
	if (git_init_rc < 0)
		return git_failed(err, "cannot initialise the diff library");
	if (git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION) < 0)
		return git_failed(err, "cannot initialise the diff options");
	opts.flags = GIT_DIFF_FORCE_TEXT | GIT_DIFF_INDENT_HEURISTIC;
	opts.context_lines = 3;
	opts.interhunk_lines = 0;
	if (git_patch_from_buffers(&patch, a->data ? a->data : "", a->len, "left",
				   b->data ? b->data : "", b->len, "right", &opts) < 0) {
		rc = git_failed(err, "cannot diff the two objects");
		goto done;
	}
	put_label(&o, "--- ", la);
	put_label(&o, "+++ ", lb);
	for (size_t h = 0; h < git_patch_num_hunks(patch); h++) {
		const git_diff_hunk *hunk;
		size_t nlines;

		if (git_patch_get_hunk(&hunk, &nlines, patch, h) < 0) {
			rc = git_failed(err, "cannot read a diff hunk");
			goto done;
		}
		hcr_buf_puts(&o, "@@ ");
		put_range(&o, '-', hunk->old_start, hunk->old_lines);
		hcr_buf_puts(&o, " ");
		put_range(&o, '+', hunk->new_start, hunk->new_lines);
		hcr_buf_puts(&o, " @@\n");
		for (size_t i = 0; i < nlines; i++) {
			const git_diff_line *line;

			if (git_patch_get_line_in_hunk(&line, patch, h, i) < 0) {
				rc = git_failed(err, "cannot read a diff line");
				goto done;
			}
			put_line(&o, line);
		}
	}
	*out = o.data;
	o.data = NULL;
done:
	git_patch_free(patch);
	hcr_buf_free(&o);
	return rc;
}

int hcr_kube_diff(char **out, const json_t *left, const json_t *right, const char *left_label,
		  const char *right_label, unsigned int flags, hcr_error *err)
{
	json_t *l = NULL, *r = NULL;
	hcr_buf lt = {0}, rt = {0};
	int rc = HCR_OK;

	*out = NULL;
	if ((left && !(l = json_deep_copy(left))) || (right && !(r = json_deep_copy(right)))) {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "cannot copy objects to diff");
		goto done;
	}
	hcr_kube_normalise(l, flags);
	hcr_kube_normalise(r, flags);
	hcr_kube_mask_secret_pair(l, r);
	if (l && (rc = render_yaml(&lt, l, err)) != HCR_OK)
		goto done;
	if (r && (rc = render_yaml(&rt, r, err)) != HCR_OK)
		goto done;
	if (lt.len == rt.len && (lt.len == 0 || memcmp(lt.data, rt.data, lt.len) == 0)) {
		*out = hcr_strdup("");
		goto done;
	}
	rc = unified(out, &lt, &rt, left_label ? left_label : "left",
		     right_label ? right_label : "right", err);
done:
	json_decref(l);
	json_decref(r);
	hcr_buf_free(&lt);
	hcr_buf_free(&rt);
	return rc;
}
