/*
 * Cryptography on OpenSSL: random bytes, SHA-256, base64, and AES-256-GCM
 * sealing of secrets under a master key read from a file.
 */
#ifndef HCR_CRYPTO_H
#define HCR_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "hcr/error.h"

#define HCR_KEY_BYTES   32
#define HCR_NONCE_BYTES 12
#define HCR_TAG_BYTES   16

typedef struct hcr_master_key {
	unsigned char key[HCR_KEY_BYTES];
	/* Key id: first 16 hex digits of SHA-256(key), stored beside each secret for rotation. */
	char id[17];
} hcr_master_key;

/* Fills `buf` with `len` cryptographically secure random bytes. */
int hcr_crypto_random(void *buf, size_t len, hcr_error *err);

/* SHA-256 of `data`, as 64 lower-case hex digits into `out` (65 bytes). */
void hcr_crypto_sha256_hex(char out[65], const void *data, size_t len);

/* Lower-case hex of `len` bytes into `out` (2*len+1 bytes). */
void hcr_crypto_hex(char *out, const void *data, size_t len);

/* Standard base64 (with padding). Returns a new NUL-terminated string. */
char *hcr_crypto_base64_encode(const void *data, size_t len);
/*
 * Decodes standard base64 (padding optional, whitespace refused). Returns a new
 * buffer and its length in *out_len, or NULL if `s` is not valid base64.
 */
unsigned char *hcr_crypto_base64_decode(const char *s, size_t *out_len);

/*
 * Reads the master key from `path`: 32 raw bytes, or 64 hex digits, or the
 * base64 of 32 bytes (surrounding whitespace ignored). Fails with a message
 * naming the file and what it must contain. A file readable by group or
 * others is logged as a warning.
 */
int hcr_master_key_load(hcr_master_key *out, const char *path, hcr_error *err);

/*
 * Loads `path` if it exists; otherwise creates it (mode 0600, base64 of 32
 * random bytes) and loads it. `*created` tells which happened (may be NULL).
 */
int hcr_master_key_load_or_create(hcr_master_key *out, const char *path, int *created,
				  hcr_error *err);

/*
 * Seals `plain` with AES-256-GCM under `key` with a fresh random nonce.
 * `aad` (may be NULL) is authenticated, not encrypted: bind the ciphertext to
 * its row (e.g. "credential:<name>:<provider>") so rows cannot be swapped.
 * The output is one new buffer: nonce (12) || ciphertext || tag (16), of
 * *out_len bytes.
 */
int hcr_crypto_seal(unsigned char **out, size_t *out_len, const hcr_master_key *key,
		    const void *plain, size_t plain_len, const char *aad, hcr_error *err);

/*
 * Opens what hcr_crypto_seal produced. On success *out is a new buffer of
 * *out_len bytes followed by a NUL (so JSON text can be parsed directly).
 * A wrong key, wrong `aad` or tampered input fails with HCR_ERROR.
 */
int hcr_crypto_open(unsigned char **out, size_t *out_len, const hcr_master_key *key,
		    const void *sealed, size_t sealed_len, const char *aad, hcr_error *err);

/* Overwrites `len` bytes at `p` in a way the compiler does not remove. */
void hcr_crypto_wipe(void *p, size_t len);

#endif
