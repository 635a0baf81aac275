/*
 * Unit tests for src/crypto.c: known SHA-256 and base64 vectors, AES-256-GCM
 * sealing (round trip, tampering, a vector made with Python's `cryptography`
 * for interoperability) and the master key file in each accepted format.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hcr/crypto.h"
#include "hcr/error.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The key 00 01 02 ... 1f, in the forms a key file may take. */
static const char test_key_hex[] = "000102030405060708090a0b0c0d0e0f"
				   "101112131415161718191a1b1c1d1e1f";
static const char test_key_b64[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
/* sha256(key)[:16], computed with Python's hashlib. */
static const char test_key_id[] = "630dcd2966c43366";

static void test_key_bytes(unsigned char key[HCR_KEY_BYTES])
{
	int i;

	for (i = 0; i < HCR_KEY_BYTES; i++)
		key[i] = (unsigned char)i;
}

static void test_key(hcr_master_key *k)
{
	memset(k, 0, sizeof(*k));
	test_key_bytes(k->key);
	strcpy(k->id, test_key_id);
}

static size_t unhex(unsigned char *out, const char *hex)
{
	size_t i, n = strlen(hex) / 2;

	for (i = 0; i < n; i++) {
		unsigned int b;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (unsigned char)b;
	}
	return n;
}

/* Writes `len` bytes to a new file under /tmp with `mode`; returns its path (free it). */
static char *write_temp(const void *data, size_t len, mode_t mode)
{
	char *path = strdup("/tmp/hcr-test-key-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
	return path;
}

static void remove_temp(char *path)
{
	unlink(path);
	free(path);
}

/* --- SHA-256, hex -------------------------------------------------------------------- */

static void test_crypto__sha256_known_vectors(void **state)
{
	/* FIPS 180-2 appendix B examples and the empty string. */
	static const struct {
		const char *in;
		const char *hex;
	} cases[] = {
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char out[65];

		hcr_crypto_sha256_hex(out, cases[i].in, strlen(cases[i].in));
		assert_string_equal(out, cases[i].hex);
	}
}

static void test_crypto__hex_is_lower_case(void **state)
{
	static const unsigned char data[] = {0x00, 0x7f, 0xab, 0xff};
	char out[2 * sizeof(data) + 1];

	(void)state;
	hcr_crypto_hex(out, data, sizeof(data));
	assert_string_equal(out, "007fabff");
	hcr_crypto_hex(out, data, 0);
	assert_string_equal(out, "");
}

/* --- base64 -------------------------------------------------------------------------- */

/* RFC 4648 section 10. */
static const struct {
	const char *plain;
	const char *b64;
} rfc4648[] = {
	{"", ""},
	{"f", "Zg=="},
	{"fo", "Zm8="},
	{"foo", "Zm9v"},
	{"foob", "Zm9vYg=="},
	{"fooba", "Zm9vYmE="},
	{"foobar", "Zm9vYmFy"},
};

static void test_crypto__base64_encode_rfc4648_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rfc4648); i++) {
		char *s = hcr_crypto_base64_encode(rfc4648[i].plain, strlen(rfc4648[i].plain));

		assert_non_null(s);
		assert_string_equal(s, rfc4648[i].b64);
		free(s);
	}
}

static void test_crypto__base64_decode_rfc4648_vectors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rfc4648); i++) {
		char unpadded[16];
		size_t len = 99;
		unsigned char *d = hcr_crypto_base64_decode(rfc4648[i].b64, &len);

		assert_non_null(d);
		assert_int_equal(len, strlen(rfc4648[i].plain));
		assert_memory_equal(d, rfc4648[i].plain, len);
		free(d);

		/* Padding is optional. */
		snprintf(unpadded, sizeof(unpadded), "%s", rfc4648[i].b64);
		unpadded[strcspn(unpadded, "=")] = '\0';
		len = 99;
		d = hcr_crypto_base64_decode(unpadded, &len);
		assert_non_null(d);
		assert_int_equal(len, strlen(rfc4648[i].plain));
		assert_memory_equal(d, rfc4648[i].plain, len);
		free(d);
	}
}

static void test_crypto__base64_decode_refuses_invalid(void **state)
{
	static const char *const cases[] = {
		"Zm9v YmFy",  /* embedded space */
		"Zm9v\nYmFy", /* embedded newline */
		" Zm9v",      /* leading space */
		"Zm9v\n",     /* trailing newline */
		"Zm9vYg=",    /* padding that does not complete the group */
		"Zm9vY",      /* a lone digit encodes no byte */
		"Zm9vY===",   /* three '=' */
		"Zm=9v",      /* '=' inside */
		"Zg=a",       /* digit after '=' */
		"=",          /* padding only */
		"====",       /* padding only */
		"Zh==",       /* non-zero unused bits: not the canonical "Zg==" */
		"Zm9=",       /* non-zero unused bits: not the canonical "Zm8=" */
		"Zm9-",       /* base64url digit */
		"Zm9_",       /* base64url digit */
		"Zm9v!",      /* punctuation */
		"\xc3\xa9QQ", /* non-ASCII */
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = 0;
		unsigned char *d = hcr_crypto_base64_decode(cases[i], &len);

		if (d)
			fail_msg("accepted invalid base64 case %zu: \"%s\"", i, cases[i]);
	}
	{
		size_t len = 0;

		assert_null(hcr_crypto_base64_decode(NULL, &len));
	}
}

static void test_crypto__base64_round_trips_every_length(void **state)
{
	unsigned char data[259];
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(data); n++)
		data[n] = (unsigned char)(n * 7 + 3);
	for (n = 0; n <= sizeof(data); n++) {
		char *s = hcr_crypto_base64_encode(data, n);
		unsigned char *d;
		size_t len = 0;

		assert_int_equal(strlen(s), (n + 2) / 3 * 4);
		d = hcr_crypto_base64_decode(s, &len);
		assert_non_null(d);
		assert_int_equal(len, n);
		assert_memory_equal(d, data, n);
		free(d);
		free(s);
	}
}

/* --- random, wipe -------------------------------------------------------------------- */

static void test_crypto__random_differs_between_calls(void **state)
{
	unsigned char a[32], b[32], zero[32] = {0};
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_crypto_random(a, sizeof(a), &err), HCR_OK);
	assert_int_equal(hcr_crypto_random(b, sizeof(b), &err), HCR_OK);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_int_equal(hcr_crypto_random(a, 0, &err), HCR_OK);
}

static void test_crypto__wipe_zeroes(void **state)
{
	unsigned char buf[40], zero[40] = {0};

	(void)state;
	memset(buf, 0xa5, sizeof(buf));
	hcr_crypto_wipe(buf, sizeof(buf));
	assert_memory_equal(buf, zero, sizeof(buf));
	hcr_crypto_wipe(NULL, 10);
}

/* --- seal / open --------------------------------------------------------------------- */

static void assert_cannot_decrypt(int rc, const hcr_error *err)
{
	assert_int_equal(rc, HCR_ERROR);
	assert_string_equal(err->code, HCR_ERR_INTERNAL);
	assert_string_equal(err->message, "secret cannot be decrypted");
	assert_non_null(strstr(err->hint, "master key"));
	assert_non_null(strstr(err->hint, "wrong or rotated"));
}

static void test_crypto__seal_open_round_trip(void **state)
{
	static const struct {
		const char *plain;
		const char *aad;
	} cases[] = {
		{"{\"secret\":\"s3cr3t\"}", "credential:prod:eks"},
		{"{\"secret\":\"s3cr3t\"}", NULL},
		{"", "credential:empty:gke"},
		{"", NULL},
		{"x", ""},
	};
	hcr_master_key key;
	size_t i;

	(void)state;
	test_key(&key);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t plain_len = strlen(cases[i].plain), sealed_len = 0, open_len = 99;
		unsigned char *sealed = NULL, *opened = NULL;
		hcr_error err;

		assert_int_equal(hcr_crypto_seal(&sealed, &sealed_len, &key, cases[i].plain,
						 plain_len, cases[i].aad, &err),
				 HCR_OK);
		assert_int_equal(sealed_len, HCR_NONCE_BYTES + plain_len + HCR_TAG_BYTES);
		assert_int_equal(hcr_crypto_open(&opened, &open_len, &key, sealed, sealed_len,
						 cases[i].aad, &err),
				 HCR_OK);
		assert_int_equal(open_len, plain_len);
		assert_memory_equal(opened, cases[i].plain, plain_len);
		assert_int_equal(opened[open_len], '\0');
		free(sealed);
		free(opened);
	}
}

static void test_crypto__seal_binary_plaintext(void **state)
{
	unsigned char plain[1000], *sealed = NULL, *opened = NULL;
	size_t sealed_len = 0, open_len = 0, i;
	hcr_master_key key;
	hcr_error err;

	(void)state;
	test_key(&key);
	for (i = 0; i < sizeof(plain); i++)
		plain[i] = (unsigned char)(i * 31);
	assert_int_equal(
		hcr_crypto_seal(&sealed, &sealed_len, &key, plain, sizeof(plain), "a", &err),
		HCR_OK);
	/* The plaintext does not appear in the output. */
	assert_memory_not_equal(sealed + HCR_NONCE_BYTES, plain, sizeof(plain));
	assert_int_equal(hcr_crypto_open(&opened, &open_len, &key, sealed, sealed_len, "a", &err),
			 HCR_OK);
	assert_int_equal(open_len, sizeof(plain));
	assert_memory_equal(opened, plain, sizeof(plain));
	free(sealed);
	free(opened);
}

static void test_crypto__seal_twice_differs(void **state)
{
	static const char plain[] = "same plaintext";
	unsigned char *a = NULL, *b = NULL;
	size_t a_len = 0, b_len = 0;
	hcr_master_key key;
	hcr_error err;

	(void)state;
	test_key(&key);
	assert_int_equal(hcr_crypto_seal(&a, &a_len, &key, plain, strlen(plain), "x", &err),
			 HCR_OK);
	assert_int_equal(hcr_crypto_seal(&b, &b_len, &key, plain, strlen(plain), "x", &err),
			 HCR_OK);
	assert_int_equal(a_len, b_len);
	/* A fresh nonce each time, hence a different ciphertext and tag too. */
	assert_memory_not_equal(a, b, HCR_NONCE_BYTES);
	assert_memory_not_equal(a + HCR_NONCE_BYTES, b + HCR_NONCE_BYTES, a_len - HCR_NONCE_BYTES);
	free(a);
	free(b);
}

static void test_crypto__open_refuses_wrong_key(void **state)
{
	static const char plain[] = "secret";
	unsigned char *sealed = NULL, *opened = (unsigned char *)"sentinel";
	size_t sealed_len = 0, open_len = 99;
	hcr_master_key key, other;
	hcr_error err;

	(void)state;
	test_key(&key);
	test_key(&other);
	other.key[31] ^= 1;
	assert_int_equal(
		hcr_crypto_seal(&sealed, &sealed_len, &key, plain, strlen(plain), "a", &err),
		HCR_OK);
	assert_cannot_decrypt(
		hcr_crypto_open(&opened, &open_len, &other, sealed, sealed_len, "a", &err), &err);
	assert_null(opened);
	assert_int_equal(open_len, 0);
	free(sealed);
}

static void test_crypto__open_refuses_wrong_aad(void **state)
{
	static const struct {
		const char *seal_aad;
		const char *open_aad;
	} cases[] = {
		{"credential:prod:eks", "credential:prod:aks"},
		{"credential:prod:eks", "credential:prod2:eks"},
		{"credential:prod:eks", NULL},
		{NULL, "credential:prod:eks"},
		{"a", "A"},
	};
	static const char plain[] = "secret";
	hcr_master_key key;
	size_t i;

	(void)state;
	test_key(&key);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned char *sealed = NULL, *opened = NULL;
		size_t sealed_len = 0, open_len = 0;
		hcr_error err;

		assert_int_equal(hcr_crypto_seal(&sealed, &sealed_len, &key, plain, strlen(plain),
						 cases[i].seal_aad, &err),
				 HCR_OK);
		assert_cannot_decrypt(hcr_crypto_open(&opened, &open_len, &key, sealed, sealed_len,
						      cases[i].open_aad, &err),
				      &err);
		assert_null(opened);
		free(sealed);
	}
}

static void test_crypto__open_refuses_any_flipped_byte(void **state)
{
	static const char plain[] = "a secret of some length";
	unsigned char *sealed = NULL;
	size_t sealed_len = 0, i;
	hcr_master_key key;
	hcr_error err;

	(void)state;
	test_key(&key);
	assert_int_equal(
		hcr_crypto_seal(&sealed, &sealed_len, &key, plain, strlen(plain), "a", &err),
		HCR_OK);
	/* Every position: the nonce, the ciphertext and the tag. */
	for (i = 0; i < sealed_len; i++) {
		unsigned char *opened = NULL;
		size_t open_len = 0;

		sealed[i] ^= 0x01;
		assert_cannot_decrypt(
			hcr_crypto_open(&opened, &open_len, &key, sealed, sealed_len, "a", &err),
			&err);
		assert_null(opened);
		sealed[i] ^= 0x01;
	}
	free(sealed);
}

static void test_crypto__open_refuses_truncated(void **state)
{
	static const char plain[] = "secret";
	unsigned char *sealed = NULL;
	size_t sealed_len = 0;
	const size_t lengths[] = {0,
				  1,
				  HCR_NONCE_BYTES,
				  HCR_NONCE_BYTES + HCR_TAG_BYTES - 1,
				  HCR_NONCE_BYTES + HCR_TAG_BYTES,
				  sizeof(plain) - 1 + 27};
	hcr_master_key key;
	hcr_error err;
	size_t i;

	(void)state;
	test_key(&key);
	assert_int_equal(
		hcr_crypto_seal(&sealed, &sealed_len, &key, plain, strlen(plain), "a", &err),
		HCR_OK);
	for (i = 0; i < ARRAY_SIZE(lengths); i++) {
		unsigned char *opened = NULL;
		size_t open_len = 0;

		assert_true(lengths[i] < sealed_len);
		assert_cannot_decrypt(
			hcr_crypto_open(&opened, &open_len, &key, sealed, lengths[i], "a", &err),
			&err);
		assert_null(opened);
	}
	free(sealed);
}

/*
 * Made once with Python's `cryptography`:
 *   AESGCM(bytes(range(32))).encrypt(bytes.fromhex("cafebabefacedbaddecaf888"),
 *       b'{"access_key_id":"AKIAEXAMPLE","secret":"s3cr3t"}', b"credential:prod-aws:eks")
 * with the nonce prepended. Opening it proves the layout and the AAD handling
 * match a second, independent implementation of AES-256-GCM.
 */
static const char python_sealed_hex[] =
	"cafebabefacedbaddecaf888"
	"f181c145c91f3c68196038a42474ed1d3702811a96582f2c0f92543dfbab49ddde35a234a4a06b5804"
	"281b0b40b0544724e5893192b88529e66f02ecb018be2309";
static const char python_plain[] = "{\"access_key_id\":\"AKIAEXAMPLE\",\"secret\":\"s3cr3t\"}";
static const char python_aad[] = "credential:prod-aws:eks";

static void test_crypto__open_decrypts_python_vector(void **state)
{
	unsigned char sealed[sizeof(python_sealed_hex) / 2], *opened = NULL;
	size_t sealed_len, open_len = 0;
	hcr_master_key key;
	hcr_error err;

	(void)state;
	test_key(&key);
	sealed_len = unhex(sealed, python_sealed_hex);
	assert_int_equal(sealed_len, 77);
	assert_int_equal(
		hcr_crypto_open(&opened, &open_len, &key, sealed, sealed_len, python_aad, &err),
		HCR_OK);
	assert_int_equal(open_len, strlen(python_plain));
	assert_string_equal((const char *)opened, python_plain);
	free(opened);

	assert_cannot_decrypt(hcr_crypto_open(&opened, &open_len, &key, sealed, sealed_len,
					      "credential:prod-aws:aks", &err),
			      &err);
}

/* --- master key file ----------------------------------------------------------------- */

static void assert_is_test_key(const hcr_master_key *k)
{
	unsigned char expect[HCR_KEY_BYTES];

	test_key_bytes(expect);
	assert_memory_equal(k->key, expect, HCR_KEY_BYTES);
	assert_string_equal(k->id, test_key_id);
}

static void test_crypto__master_key_accepts_each_format(void **state)
{
	static char raw[HCR_KEY_BYTES], hex_upper[65], b64_unpadded[64];
	static char hex_nl[80], b64_nl[80], b64_spaced[80], hex_crlf[80];
	const struct {
		const char *name;
		const char *data;
		size_t len;
	} cases[] = {
		{"raw", raw, sizeof(raw)},
		{"hex", test_key_hex, 64},
		{"hex newline", hex_nl, 65},
		{"hex upper case", hex_upper, 64},
		{"hex crlf", hex_crlf, 66},
		{"base64", test_key_b64, 44},
		{"base64 newline", b64_nl, 45},
		{"base64 spaced", b64_spaced, 0},
		{"base64 unpadded", b64_unpadded, 43},
	};
	size_t i;

	(void)state;
	test_key_bytes((unsigned char *)raw);
	for (i = 0; i < 64; i++)
		hex_upper[i] = (char)toupper((unsigned char)test_key_hex[i]);
	snprintf(hex_nl, sizeof(hex_nl), "%s\n", test_key_hex);
	snprintf(hex_crlf, sizeof(hex_crlf), "%s\r\n", test_key_hex);
	snprintf(b64_nl, sizeof(b64_nl), "%s\n", test_key_b64);
	snprintf(b64_spaced, sizeof(b64_spaced), "  \t%s \n\n", test_key_b64);
	snprintf(b64_unpadded, sizeof(b64_unpadded), "%.43s", test_key_b64);

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].data);
		char *path = write_temp(cases[i].data, len, 0600);
		hcr_master_key k;
		hcr_error err;
		int rc = hcr_master_key_load(&k, path, &err);

		if (rc != HCR_OK)
			fail_msg("format \"%s\" refused: %s", cases[i].name, err.message);
		assert_is_test_key(&k);
		remove_temp(path);
	}
}

static void test_crypto__master_key_refuses_bad_contents(void **state)
{
	static char raw31[31], raw33[33], big[600], b64_31[64], nul_inside[80];
	const struct {
		const char *name;
		const char *data;
		size_t len;
	} cases[] = {
		{"empty", "", 0},
		{"newline", "\n", 1},
		{"words", "not a key\n", 10},
		{"31 raw bytes", raw31, sizeof(raw31)},
		{"33 raw bytes", raw33, sizeof(raw33)},
		{"63 hex digits", test_key_hex, 63},
		{"65 hex digits",
		 "0000000000000000000000000000000000000000000000000000000000000000"
		 "0",
		 65},
		{"hex with a non-digit",
		 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g", 0},
		{"hex with a space",
		 "00010203040506070809 a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", 0},
		{"base64 of 31 bytes", b64_31, 0},
		{"base64 with a newline inside",
		 "AAECAwQFBgcICQoLDA0ODxAR\nEhMUFRYXGBkaGxwdHh8=", 0},
		{"base64 with a NUL inside", nul_inside, 46},
		{"too long", big, sizeof(big)},
	};
	size_t i;

	(void)state;
	memset(raw31, 'k', sizeof(raw31));
	memset(raw33, 'k', sizeof(raw33));
	memset(big, ' ', sizeof(big));
	memcpy(big, test_key_b64, strlen(test_key_b64));
	{
		unsigned char bytes[31];
		char *s;

		memset(bytes, 7, sizeof(bytes));
		s = hcr_crypto_base64_encode(bytes, sizeof(bytes));
		snprintf(b64_31, sizeof(b64_31), "%s\n", s);
		free(s);
	}
	memcpy(nul_inside, test_key_b64, 44);
	nul_inside[44] = '\0';
	nul_inside[45] = 'A';

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].data);
		char *path = write_temp(cases[i].data, len, 0600);
		char expect[512];
		hcr_master_key k;
		hcr_error err;
		int rc;

		memset(&k, 0x55, sizeof(k));
		rc = hcr_master_key_load(&k, path, &err);
		if (rc != HCR_EINVALID)
			fail_msg("bad contents \"%s\" gave %d, not HCR_EINVALID", cases[i].name,
				 rc);
		snprintf(expect, sizeof(expect),
			 "master key file \"%s\" must hold 32 bytes: raw, 64 hex digits or base64",
			 path);
		assert_string_equal(err.code, HCR_ERR_CONFIG);
		assert_string_equal(err.message, expect);
		assert_non_null(strstr(err.hint, "head -c 32 /dev/urandom | base64 >"));
		assert_non_null(strstr(err.hint, path));
		assert_non_null(strstr(err.hint, "chmod 600"));
		/* Nothing of a half-parsed key is left behind. */
		assert_int_equal(k.key[0], 0);
		assert_int_equal(k.id[0], '\0');
		remove_temp(path);
	}
}

static void test_crypto__master_key_missing_file(void **state)
{
	static const char path[] = "/tmp/hcr-test-no-such-key-file";
	hcr_master_key k;
	hcr_error err;

	(void)state;
	unlink(path);
	assert_int_equal(hcr_master_key_load(&k, path, &err), HCR_ENOTFOUND);
	assert_string_equal(err.code, HCR_ERR_CONFIG);
	assert_string_equal(err.message,
			    "cannot open master key file \"/tmp/hcr-test-no-such-key-file\"");
	assert_string_equal(err.detail, strerror(ENOENT));
	assert_non_null(strstr(err.hint, "head -c 32 /dev/urandom"));
}

static void test_crypto__master_key_refuses_directory(void **state)
{
	hcr_master_key k;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_master_key_load(&k, "/tmp", &err), HCR_EINVALID);
	assert_string_equal(err.message, "master key file \"/tmp\" is not a regular file");
}

/* Runs a load with stderr sent to a file; returns what was written (free it). */
static char *load_capturing_stderr(const char *path, int *rc)
{
	char log_path[] = "/tmp/hcr-test-log-XXXXXX";
	int log_fd = mkstemp(log_path), saved;
	hcr_master_key k;
	hcr_error err;
	char *text;
	off_t size;

	assert_true(log_fd >= 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(log_fd, STDERR_FILENO) >= 0);
	*rc = hcr_master_key_load(&k, path, &err);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);

	size = lseek(log_fd, 0, SEEK_END);
	assert_true(size >= 0);
	text = calloc(1, (size_t)size + 1);
	assert_non_null(text);
	assert_int_equal(pread(log_fd, text, (size_t)size, 0), size);
	close(log_fd);
	unlink(log_path);
	return text;
}

static void test_crypto__master_key_warns_when_readable_by_others(void **state)
{
	static const struct {
		mode_t mode;
		const char *warning; /* NULL: no warning */
	} cases[] = {
		{0600, NULL},        {0400, NULL},        {0640, "mode=0640"},
		{0604, "mode=0604"}, {0644, "mode=0644"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char *path = write_temp(test_key_b64, strlen(test_key_b64), cases[i].mode);
		int rc;
		char *log = load_capturing_stderr(path, &rc);

		/* The file is still loaded. */
		assert_int_equal(rc, HCR_OK);
		if (cases[i].warning) {
			assert_non_null(strstr(log, "readable by others"));
			assert_non_null(strstr(log, cases[i].warning));
			assert_non_null(strstr(log, path));
		} else {
			assert_string_equal(log, "");
		}
		/* Never the key itself. */
		assert_null(strstr(log, "AAECAwQFBgcICQoLDA0ODxAR"));
		free(log);
		remove_temp(path);
	}
}

static void test_crypto__key_id_is_stable(void **state)
{
	char *path = write_temp(test_key_hex, 64, 0600);
	hcr_master_key a, b, other;
	char *other_path;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_master_key_load(&a, path, &err), HCR_OK);
	assert_int_equal(hcr_master_key_load(&b, path, &err), HCR_OK);
	assert_string_equal(a.id, test_key_id);
	assert_string_equal(a.id, b.id);
	assert_int_equal(strlen(a.id), 16);

	other_path = write_temp("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
				64, 0600);
	assert_int_equal(hcr_master_key_load(&other, other_path, &err), HCR_OK);
	assert_string_not_equal(other.id, a.id);
	remove_temp(other_path);
	remove_temp(path);
}

static void test_crypto__load_or_create_creates_then_loads(void **state)
{
	char dir[] = "/tmp/hcr-test-dir-XXXXXX", path[64], content[128];
	hcr_master_key first, second, loaded;
	struct stat st;
	int created = -1, fd;
	ssize_t n;
	hcr_error err;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/master.key", dir);

	assert_int_equal(hcr_master_key_load_or_create(&first, path, &created, &err), HCR_OK);
	assert_int_equal(created, 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* base64 of 32 bytes and a newline. */
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, content, sizeof(content) - 1);
	close(fd);
	assert_int_equal(n, 45);
	content[n] = '\0';
	assert_int_equal(content[44], '\n');
	assert_int_equal(content[43], '=');

	assert_int_equal(hcr_master_key_load_or_create(&second, path, &created, &err), HCR_OK);
	assert_int_equal(created, 0);
	assert_memory_equal(first.key, second.key, HCR_KEY_BYTES);
	assert_string_equal(first.id, second.id);

	assert_int_equal(hcr_master_key_load(&loaded, path, &err), HCR_OK);
	assert_memory_equal(first.key, loaded.key, HCR_KEY_BYTES);
	assert_string_equal(first.id, loaded.id);

	/* `created` may be NULL. */
	assert_int_equal(hcr_master_key_load_or_create(&second, path, NULL, &err), HCR_OK);

	unlink(path);
	rmdir(dir);
}

/*
 * Several processes starting at once on a fresh directory: every one must end
 * up with the same key, exactly one must have created it, and none may see a
 * half-written file.
 */
static void test_crypto__load_or_create_concurrent_processes_agree(void **state)
{
	enum { PROCS = 8, ROUNDS = 25, RECORD = 48 };
	int round;

	(void)state;
	for (round = 0; round < ROUNDS; round++) {
		char dir[] = "/tmp/hcr-test-dir-XXXXXX", path[64], first_id[17] = "";
		int go[2], results[2], i, created_total = 0;

		assert_non_null(mkdtemp(dir));
		snprintf(path, sizeof(path), "%s/master.key", dir);
		assert_int_equal(pipe(go), 0);
		assert_int_equal(pipe(results), 0);
		for (i = 0; i < PROCS; i++) {
			pid_t pid = fork();

			assert_true(pid >= 0);
			if (pid == 0) {
				char record[RECORD] = {0}, c;
				hcr_master_key k;
				hcr_error err;
				int created = -1, rc;

				close(go[1]);
				/* Blocks until the parent closes its end: all start together. */
				(void)read(go[0], &c, 1);
				rc = hcr_master_key_load_or_create(&k, path, &created, &err);
				snprintf(record, sizeof(record), "%d %d %.32s", rc, created,
					 rc == HCR_OK ? k.id : err.message);
				_exit(write(results[1], record, sizeof(record)) == RECORD ? 0 : 1);
			}
		}
		close(go[0]);
		close(go[1]);
		close(results[1]);
		for (i = 0; i < PROCS; i++) {
			char record[RECORD], id[40];
			int rc, created;

			assert_int_equal(read(results[0], record, sizeof(record)), RECORD);
			record[RECORD - 1] = '\0';
			if (sscanf(record, "%d %d %39s", &rc, &created, id) != 3 || rc != HCR_OK)
				fail_msg("round %d: a process failed: %s", round, record);
			created_total += created;
			if (first_id[0] == '\0')
				snprintf(first_id, sizeof(first_id), "%.16s", id);
			assert_string_equal(id, first_id);
		}
		for (i = 0; i < PROCS; i++) {
			int status;

			assert_true(wait(&status) > 0);
			assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		}
		close(results[0]);
		assert_int_equal(created_total, 1);
		unlink(path);
		assert_int_equal(rmdir(dir), 0);
	}
}

static void test_crypto__load_or_create_loads_existing(void **state)
{
	char *path = write_temp(test_key_hex, 64, 0600);
	hcr_master_key k;
	int created = -1;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_master_key_load_or_create(&k, path, &created, &err), HCR_OK);
	assert_int_equal(created, 0);
	assert_is_test_key(&k);
	remove_temp(path);
}

static void test_crypto__load_or_create_refuses_existing_bad_file(void **state)
{
	char *path = write_temp("garbage\n", 8, 0600);
	hcr_master_key k;
	int created = -1;
	hcr_error err;

	(void)state;
	assert_int_equal(hcr_master_key_load_or_create(&k, path, &created, &err), HCR_EINVALID);
	assert_int_equal(created, 0);
	assert_non_null(strstr(err.message, "must hold 32 bytes"));
	remove_temp(path);
}

static void test_crypto__load_or_create_needs_parent_dir(void **state)
{
	char dir[] = "/tmp/hcr-test-dir-XXXXXX", path[80], expect[160];
	hcr_master_key k;
	int created = -1;
	hcr_error err;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing/master.key", dir);
	assert_int_equal(hcr_master_key_load_or_create(&k, path, &created, &err), HCR_ERROR);
	assert_int_equal(created, 0);
	snprintf(expect, sizeof(expect), "cannot create master key file \"%s\"", path);
	assert_string_equal(err.code, HCR_ERR_CONFIG);
	assert_string_equal(err.message, expect);
	assert_string_equal(err.detail, strerror(ENOENT));
	assert_non_null(strstr(err.hint, "/missing"));
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crypto__sha256_known_vectors),
		cmocka_unit_test(test_crypto__hex_is_lower_case),
		cmocka_unit_test(test_crypto__base64_encode_rfc4648_vectors),
		cmocka_unit_test(test_crypto__base64_decode_rfc4648_vectors),
		cmocka_unit_test(test_crypto__base64_decode_refuses_invalid),
		cmocka_unit_test(test_crypto__base64_round_trips_every_length),
		cmocka_unit_test(test_crypto__random_differs_between_calls),
		cmocka_unit_test(test_crypto__wipe_zeroes),
		cmocka_unit_test(test_crypto__seal_open_round_trip),
		cmocka_unit_test(test_crypto__seal_binary_plaintext),
		cmocka_unit_test(test_crypto__seal_twice_differs),
		cmocka_unit_test(test_crypto__open_refuses_wrong_key),
		cmocka_unit_test(test_crypto__open_refuses_wrong_aad),
		cmocka_unit_test(test_crypto__open_refuses_any_flipped_byte),
		cmocka_unit_test(test_crypto__open_refuses_truncated),
		cmocka_unit_test(test_crypto__open_decrypts_python_vector),
		cmocka_unit_test(test_crypto__master_key_accepts_each_format),
		cmocka_unit_test(test_crypto__master_key_refuses_bad_contents),
		cmocka_unit_test(test_crypto__master_key_missing_file),
		cmocka_unit_test(test_crypto__master_key_refuses_directory),
		cmocka_unit_test(test_crypto__master_key_warns_when_readable_by_others),
		cmocka_unit_test(test_crypto__key_id_is_stable),
		cmocka_unit_test(test_crypto__load_or_create_creates_then_loads),
		cmocka_unit_test(test_crypto__load_or_create_concurrent_processes_agree),
		cmocka_unit_test(test_crypto__load_or_create_loads_existing),
		cmocka_unit_test(test_crypto__load_or_create_refuses_existing_bad_file),
		cmocka_unit_test(test_crypto__load_or_create_needs_parent_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
