/*
 * Allocation wrappers that abort on failure (redis zmalloc, PostgreSQL palloc).
 *
 * Use them for small, internal allocations only. Sizes that outsiders control
 * (request bodies, cloud responses) must be bounded by the caller first and
 * fail with an error instead.
 */
#ifndef HCR_MEM_H
#define HCR_MEM_H

#include <stdarg.h>
#include <stddef.h>

void *hcr_malloc(size_t size);
void *hcr_calloc(size_t n, size_t size);
void *hcr_realloc(void *ptr, size_t size);
/* Returns a new copy of `s`; NULL when `s` is NULL. */
char *hcr_strdup(const char *s);
/* Returns a new copy of the first `n` bytes of `s`, NUL-terminated. */
char *hcr_strndup(const char *s, size_t n);
/* Returns a new formatted string. */
char *hcr_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *hcr_vsprintf(const char *fmt, va_list ap);

/* A growable byte buffer; `data` is always NUL-terminated. */
typedef struct hcr_buf {
	char *data;
	size_t len;
	size_t cap;
} hcr_buf;

void hcr_buf_append(hcr_buf *b, const void *data, size_t len);
void hcr_buf_puts(hcr_buf *b, const char *s);
void hcr_buf_printf(hcr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hcr_buf_free(hcr_buf *b);

#endif
