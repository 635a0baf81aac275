/*
 * Token buckets keyed by string (see include/hcr/ratelimit.h).
 *
 * Buckets sit in a chained hash table that doubles as it fills, and on a list
 * ordered by last use. Each take looks at the two least recently used buckets
 * and drops those that have refilled completely: such a bucket behaves exactly
 * like one created afresh, so dropping it changes nothing a caller can see,
 * and a steady stream of new keys cannot grow the table. The hard cap only
 * matters when more than max_buckets keys are busy at the same time.
 *
 * Overrides are few (one per account or cloud, from configuration), so they
 * are a plain array searched linearly when a bucket is created.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hcr/mem.h"
#include "hcr/ratelimit.h"

#define DEFAULT_RATE        10.0
#define DEFAULT_BURST       20.0
#define DEFAULT_MAX_BUCKETS 4096
#define INITIAL_SLOTS       16
#define SWEEP_PER_TAKE      2

struct bucket {
	struct bucket *chain;         /* next in the hash slot */
	struct bucket *older, *newer; /* the use-order list */
	uint64_t hash;
	double tokens;
	double last; /* when tokens was computed */
	double rate, burst;
	char key[];
};

struct override {
	char *key; /* without the '*' of a prefix */
	size_t len;
	int prefix;
	double rate, burst;
};

struct slot {
	struct bucket *head;
};

struct hcr_ratelimit {
	double rate, burst;
	size_t max_buckets;
	struct slot *slots;
	size_t nslots; /* a power of two */
	size_t count;
	struct bucket *oldest, *newest;
	struct override *overrides;
	size_t noverrides;
};

static uint64_t hash_key(const char *s)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static int check_limits(double rate, double burst, hcr_error *err)
{
	if (!isfinite(rate) || rate <= 0)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "rate limit must be a positive number of requests per second");
	if (!isfinite(burst) || burst < 1)
		return hcr_error_set(err, HCR_EINVALID, HCR_ERR_INVALID,
				     "rate limit burst must be at least 1");
	return HCR_OK;
}

int hcr_ratelimit_new(hcr_ratelimit **out, const hcr_ratelimit_opts *opts, hcr_error *err)
{
	hcr_ratelimit *rl;
	double rate = opts && opts->rate != 0 ? opts->rate : DEFAULT_RATE;
	double burst = opts && opts->burst != 0 ? opts->burst : DEFAULT_BURST;
	int rc;

	*out = NULL;
	rc = check_limits(rate, burst, err);
	if (rc != HCR_OK)
		return rc;
	rl = hcr_calloc(1, sizeof(*rl));
	rl->rate = rate;
	rl->burst = burst;
	rl->max_buckets = opts && opts->max_buckets ? opts->max_buckets : DEFAULT_MAX_BUCKETS;
	rl->nslots = INITIAL_SLOTS;
	rl->slots = hcr_calloc(rl->nslots, sizeof(struct slot));
	*out = rl;
	return HCR_OK;
}

void hcr_ratelimit_free(hcr_ratelimit *rl)
{
	struct bucket *b, *next;
	size_t i;

	if (!rl)
		return;
	for (b = rl->oldest; b; b = next) {
		next = b->newer;
		free(b);
	}
	for (i = 0; i < rl->noverrides; i++)
		free(rl->overrides[i].key);
	free(rl->overrides);
	free(rl->slots);
	free(rl);
}

/* The limits for `key`: an exact override, else the longest prefix, else the default. */
static void limits_for(const hcr_ratelimit *rl, const char *key, double *rate, double *burst)
{
	const struct override *best = NULL;
	size_t i;

	*rate = rl->rate;
	*burst = rl->burst;
	for (i = 0; i < rl->noverrides; i++) {
		const struct override *o = &rl->overrides[i];

		if (!o->prefix) {
			if (strcmp(o->key, key) == 0) {
				best = o;
				break;
			}
		} else if (strncmp(o->key, key, o->len) == 0 && (!best || o->len > best->len)) {
			best = o;
		}
	}
	if (best) {
		*rate = best->rate;
		*burst = best->burst;
	}
}

static void list_unlink(hcr_ratelimit *rl, struct bucket *b)
{
	if (rl->oldest == b)
		rl->oldest = b->newer;
	if (rl->newest == b)
		rl->newest = b->older;
	if (b->older)
		b->older->newer = b->newer;
	if (b->newer)
		b->newer->older = b->older;
	b->older = b->newer = NULL;
}

static void list_push_newest(hcr_ratelimit *rl, struct bucket *b)
{
	b->older = rl->newest;
	b->newer = NULL;
	if (rl->newest)
		rl->newest->newer = b;
	else
		rl->oldest = b;
	rl->newest = b;
}

static void bucket_remove(hcr_ratelimit *rl, struct bucket *b)
{
	struct bucket **p = &rl->slots[b->hash & (rl->nslots - 1)].head;

	while (*p != b)
		p = &(*p)->chain;
	*p = b->chain;
	list_unlink(rl, b);
	rl->count--;
	free(b);
}

static void grow(hcr_ratelimit *rl)
{
	size_t nslots = rl->nslots * 2, i;
	struct slot *slots = hcr_calloc(nslots, sizeof(struct slot));

	for (i = 0; i < rl->nslots; i++) {
		struct bucket *b = rl->slots[i].head, *next;

		for (; b; b = next) {
			next = b->chain;
			b->chain = slots[b->hash & (nslots - 1)].head;
			slots[b->hash & (nslots - 1)].head = b;
		}
	}
	free(rl->slots);
	rl->slots = slots;
	rl->nslots = nslots;
}

static struct bucket *lookup(const hcr_ratelimit *rl, const char *key, uint64_t hash)
{
	struct bucket *b = rl->slots[hash & (rl->nslots - 1)].head;

	for (; b; b = b->chain)
		if (b->hash == hash && strcmp(b->key, key) == 0)
			return b;
	return NULL;
}

static struct bucket *insert(hcr_ratelimit *rl, const char *key, uint64_t hash, double now)
{
	size_t len = strlen(key);
	struct bucket *b;

	if (rl->count >= rl->max_buckets && rl->oldest)
		bucket_remove(rl, rl->oldest);
	if (rl->count >= rl->nslots && rl->nslots <= SIZE_MAX / 2 / sizeof(struct slot))
		grow(rl);
	b = hcr_malloc(sizeof(*b) + len + 1);
	memcpy(b->key, key, len + 1);
	b->hash = hash;
	limits_for(rl, key, &b->rate, &b->burst);
	b->tokens = b->burst;
	b->last = now;
	b->chain = rl->slots[hash & (rl->nslots - 1)].head;
	rl->slots[hash & (rl->nslots - 1)].head = b;
	list_push_newest(rl, b);
	rl->count++;
	return b;
}

static void refill(struct bucket *b, double now)
{
	if (now <= b->last)
		return;
	b->tokens += (now - b->last) * b->rate;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
	b->last = now;
}

/*
 * Seconds from `now` until `b` holds a whole token. The estimate is nudged up
 * (by about one unit in the last place, without libm) until refilling at that
 * moment really gives 1.0 in floating point, so that a caller who comes back
 * exactly then is let through.
 */
static double wait_for_token(const struct bucket *b, double now)
{
	double base = now > b->last ? now : b->last;
	double when = base + (1.0 - b->tokens) / b->rate;
	int i;

	for (i = 0; i < 64 && b->tokens + (when - b->last) * b->rate < 1.0; i++) {
		double mag = when < 0 ? -when : when;

		when += (mag > 1.0 ? mag : 1.0) * DBL_EPSILON;
	}
	return when - now;
}

/* Drops the least recently used buckets that have refilled completely. */
static void sweep(hcr_ratelimit *rl, const struct bucket *keep, double now)
{
	struct bucket *b = rl->oldest, *next;
	int i;

	for (i = 0; i < SWEEP_PER_TAKE && b && b != keep; i++, b = next) {
		next = b->newer;
		if (now <= b->last || b->tokens + (now - b->last) * b->rate < b->burst)
			break;
		bucket_remove(rl, b);
	}
}

/* `key`'s bucket, refilled to `now` and marked most recently used (created if new). */
static struct bucket *touch(hcr_ratelimit *rl, const char *key, double now)
{
	uint64_t hash = hash_key(key);
	struct bucket *b = lookup(rl, key, hash);

	if (!b)
		return insert(rl, key, hash, now);
	refill(b, now);
	list_unlink(rl, b);
	list_push_newest(rl, b);
	return b;
}

bool hcr_ratelimit_take(hcr_ratelimit *rl, const char *key, double now, double *wait_s)
{
	struct bucket *b = touch(rl, key, now);
	bool ok;

	ok = b->tokens >= 1.0;
	if (ok)
		b->tokens -= 1.0;
	if (wait_s)
		*wait_s = ok ? 0.0 : wait_for_token(b, now);
	sweep(rl, b, now);
	return ok;
}

double hcr_ratelimit_reserve(hcr_ratelimit *rl, const char *key, double now)
{
	struct bucket *b = touch(rl, key, now);

	/*
	 * The token is taken now even when the bucket is empty: the balance goes
	 * negative and refills like any other, so each later caller is booked one
	 * slot further out and waiters never go through together.
	 */
	b->tokens -= 1.0;
	sweep(rl, b, now);
	return b->tokens >= 0 ? 0.0 : -b->tokens / b->rate;
}

int hcr_ratelimit_set(hcr_ratelimit *rl, const char *key, double rate, double burst, hcr_error *err)
{
	size_t len = strlen(key), i;
	int prefix = len > 0 && key[len - 1] == '*';
	struct override *o = NULL;
	struct bucket *b;
	int rc;

	rc = check_limits(rate, burst, err);
	if (rc != HCR_OK)
		return rc;
	if (prefix)
		len--;
	for (i = 0; i < rl->noverrides && !o; i++)
		if (rl->overrides[i].prefix == prefix && rl->overrides[i].len == len &&
		    strncmp(rl->overrides[i].key, key, len) == 0)
			o = &rl->overrides[i];
	if (!o) {
		rl->overrides =
			hcr_realloc(rl->overrides, (rl->noverrides + 1) * sizeof(*rl->overrides));
		o = &rl->overrides[rl->noverrides++];
		o->key = hcr_strndup(key, len);
		o->len = len;
		o->prefix = prefix;
	}
	o->rate = rate;
	o->burst = burst;

	/* Existing buckets follow at once; a new prefix may cover many of them. */
	for (b = rl->oldest; b; b = b->newer) {
		limits_for(rl, b->key, &b->rate, &b->burst);
		if (b->tokens > b->burst)
			b->tokens = b->burst;
	}
	return HCR_OK;
}

size_t hcr_ratelimit_buckets(const hcr_ratelimit *rl)
{
	return rl->count;
}
