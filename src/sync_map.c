/*
 * A string-keyed hash table for config sync's per-source object tables, its
 * work queue and its caches: chained, doubling when it fills, FNV-1a hashes.
 * Keys are copied; values are owned by the table and released with the
 * function given at creation. Not thread-safe: callers hold their own lock.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/mem.h"
#include "sync_int.h"

struct entry {
	struct entry *next;
	uint64_t hash;
	void *value;
	char key[]; /* NUL-terminated */
};

struct hcr_sync_map {
	struct entry **slots;
	size_t nslots; /* a power of two */
	size_t count;
	void (*free_value)(void *);
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

hcr_sync_map *hcr_sync_map_new(void (*free_value)(void *))
{
	hcr_sync_map *m = hcr_calloc(1, sizeof(*m));

	m->nslots = 16;
	m->slots = hcr_calloc(m->nslots, sizeof(struct entry *));
	m->free_value = free_value;
	return m;
}

static void release(hcr_sync_map *m, struct entry *e)
{
	if (m->free_value && e->value)
		m->free_value(e->value);
	free(e);
}

void hcr_sync_map_free(hcr_sync_map *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nslots; i++) {
		struct entry *e = m->slots[i], *next;

		for (; e; e = next) {
			next = e->next;
			release(m, e);
		}
	}
	free(m->slots);
	free(m);
}

static struct entry **find(const hcr_sync_map *m, const char *key, uint64_t h)
{
	struct entry **p = &m->slots[h & (m->nslots - 1)];

	for (; *p; p = &(*p)->next)
		if ((*p)->hash == h && strcmp((*p)->key, key) == 0)
			return p;
	return p;
}

void *hcr_sync_map_get(const hcr_sync_map *m, const char *key)
{
	struct entry **p = find(m, key, fnv1a(key));

	return *p ? (*p)->value : NULL;
}

static void grow(hcr_sync_map *m)
{
	size_t n = m->nslots * 2, i;
	struct entry **slots = hcr_calloc(n, sizeof(struct entry *));

	for (i = 0; i < m->nslots; i++) {
		struct entry *e = m->slots[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = slots[e->hash & (n - 1)];
			slots[e->hash & (n - 1)] = e;
		}
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = n;
}

void hcr_sync_map_put(hcr_sync_map *m, const char *key, void *value)
{
	uint64_t h = fnv1a(key);
	struct entry **p = find(m, key, h), *e;
	size_t len;

	if (*p) {
		if ((*p)->value != value && m->free_value && (*p)->value)
			m->free_value((*p)->value);
		(*p)->value = value;
		return;
	}
	len = strlen(key);
	e = hcr_malloc(sizeof(*e) + len + 1);
	memcpy(e->key, key, len + 1);
	e->hash = h;
	e->value = value;
	e->next = NULL;
	*p = e;
	if (++m->count > m->nslots)
		grow(m);
}

void *hcr_sync_map_take(hcr_sync_map *m, const char *key)
{
	struct entry **p = find(m, key, fnv1a(key)), *e = *p;
	void *v;

	if (!e)
		return NULL;
	*p = e->next;
	v = e->value;
	free(e);
	m->count--;
	return v;
}

size_t hcr_sync_map_count(const hcr_sync_map *m)
{
	return m ? m->count : 0;
}

void hcr_sync_map_each(hcr_sync_map *m, bool (*cb)(const char *key, void *value, void *payload),
		       void *payload)
{
	size_t i;

	for (i = 0; i < m->nslots; i++) {
		struct entry **p = &m->slots[i];

		while (*p) {
			struct entry *e = *p;

			if (cb(e->key, e->value, payload)) {
				*p = e->next;
				m->count--;
				release(m, e);
			} else {
				p = &e->next;
			}
		}
	}
}
