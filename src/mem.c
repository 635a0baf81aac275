/*
 * Allocation wrappers that abort on failure, and a growable buffer.
 *
 * Running out of memory for a small internal allocation is not something hcr
 * can recover from in any useful way; aborting with a message is clearer than
 * a NULL dereference later.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/mem.h"

static void oom(size_t size)
{
	fprintf(stderr, "hcr: out of memory allocating %zu bytes\n", size);
	abort();
}

void *hcr_malloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		oom(size);
	return p;
}

void *hcr_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		oom(n * size);
	return p;
}

void *hcr_realloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		oom(size);
	return p;
}

char *hcr_strdup(const char *s)
{
	return s ? hcr_strndup(s, strlen(s)) : NULL;
}

char *hcr_strndup(const char *s, size_t n)
{
	char *p = hcr_malloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *hcr_vsprintf(const char *fmt, va_list ap)
{
	va_list copy;
	int n;
	char *p;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		oom(0);
	p = hcr_malloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *hcr_sprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = hcr_vsprintf(fmt, ap);
	va_end(ap);
	return p;
}

void hcr_buf_append(hcr_buf *b, const void *data, size_t len)
{
	if (len > SIZE_MAX - b->len - 1)
		oom(SIZE_MAX);
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + len + 1)
			cap = cap > SIZE_MAX / 2 ? b->len + len + 1 : cap * 2;
		b->data = hcr_realloc(b->data, cap);
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void hcr_buf_puts(hcr_buf *b, const char *s)
{
	hcr_buf_append(b, s, strlen(s));
}

void hcr_buf_printf(hcr_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = hcr_vsprintf(fmt, ap);
	va_end(ap);
	hcr_buf_puts(b, s);
	free(s);
}

void hcr_buf_free(hcr_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
