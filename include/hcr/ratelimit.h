/*
 * Token buckets keyed by a string, to keep hcr under each cloud's API rate
 * limits. A key names what the cloud limits, usually an account and a region:
 * "eks:<credential-id>:eu-west-1".
 *
 * A bucket holds up to `burst` tokens and refills at `rate` tokens per second;
 * each call costs one token. Buckets are created on first use, with the
 * limiter's default rate and burst or with an override set for the key.
 *
 * The limiter is pure: the caller passes the time (seconds on a monotonic
 * clock, such as ev_now), so tests need no sleeping. It takes no locks: use
 * one limiter from one thread (the event loop's).
 *
 * Memory is bounded. A bucket idle long enough to have refilled completely is
 * indistinguishable from a new one and is dropped as the limiter goes; past
 * `max_buckets` the least recently used bucket is dropped even if it was not
 * full, which can only let a caller through a little early, never block it.
 */
#ifndef HCR_RATELIMIT_H
#define HCR_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>

#include "hcr/error.h"

typedef struct hcr_ratelimit hcr_ratelimit;

typedef struct hcr_ratelimit_opts {
	double rate;        /* tokens per second for keys without an override; default 10 */
	double burst;       /* bucket size, at least 1; default 20 */
	size_t max_buckets; /* buckets kept at most; default 4096 */
} hcr_ratelimit_opts;

/*
 * Creates a limiter. `opts` may be NULL for the defaults; a zero field takes
 * its default. Fails with HCR_EINVALID for a rate that is not a positive
 * finite number or a burst below 1.
 */
int hcr_ratelimit_new(hcr_ratelimit **out, const hcr_ratelimit_opts *opts, hcr_error *err);

/* Frees the limiter and its buckets. NULL is ignored. */
void hcr_ratelimit_free(hcr_ratelimit *rl);

/*
 * Sets the rate and burst for `key` (copied), replacing an earlier override
 * for the same key. A key ending in '*' is a prefix: "eks:*" covers every key
 * that starts with "eks:". An exact key wins over a prefix, and a longer
 * prefix over a shorter one. A bucket that already exists takes the new
 * limits at once, keeping its tokens (capped at the new burst).
 *
 * Overrides are configuration: they are never evicted. Fails with
 * HCR_EINVALID like hcr_ratelimit_new.
 */
int hcr_ratelimit_set(hcr_ratelimit *rl, const char *key, double rate, double burst,
		      hcr_error *err);

/*
 * Books one token from `key`'s bucket at time `now` (seconds) and returns how
 * many seconds the caller must wait before using it (0: now). Unlike
 * hcr_ratelimit_take the booking always succeeds: an empty bucket goes into
 * debt, so callers that arrive together are spaced 1/rate apart instead of
 * all waking at the same moment. The caller must not book again after waiting.
 */
double hcr_ratelimit_reserve(hcr_ratelimit *rl, const char *key, double now);

/*
 * Takes one token from `key`'s bucket at time `now` (seconds). Returns true
 * if a token was taken, and sets *wait_s to 0. Returns false if the bucket is
 * empty, and sets *wait_s to the seconds until a token will be there. A call
 * at now + *wait_s then succeeds (unless someone else took it first).
 * `wait_s` may be NULL. A time earlier than the bucket's last use counts as
 * no time passed.
 */
bool hcr_ratelimit_take(hcr_ratelimit *rl, const char *key, double now, double *wait_s);

/* Buckets held now (for tests and metrics). */
size_t hcr_ratelimit_buckets(const hcr_ratelimit *rl);

#endif
