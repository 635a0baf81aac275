/*
 * Cryptography on OpenSSL 3: random bytes, SHA-256, hex and base64, the master
 * key file, and AES-256-GCM sealing of secrets.
 *
 * Only the EVP interfaces are used. Buffers that held key material or
 * decrypted secrets are wiped with OPENSSL_cleanse before they are released,
 * and nothing here logs a key, a secret or a token.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "hcr/crypto.h"
#include "hcr/error.h"
#include "hcr/log.h"
#include "hcr/mem.h"

/*
 * OpenSSL's one-shot base64 functions take an int length. Longer inputs are
 * processed in chunks that are whole base64 groups (3 bytes in, 4 characters
 * out) and stay well under INT_MAX.
 */
#define B64_CHUNK_GROUPS ((size_t)1 << 28)

/* The largest master key file we read: 64 hex digits with generous whitespace. */
#define KEY_FILE_MAX 512

#define KEY_FILE_FORMAT "master key file \"%s\" must hold 32 bytes: raw, 64 hex digits or base64"
#define KEY_FILE_HINT   "create one with: head -c 32 /dev/urandom | base64 > %s; chmod 600 %s"

/* Moves OpenSSL's first queued error into `err`'s detail and empties the queue. */
static void openssl_detail(hcr_error *err)
{
	unsigned long e = ERR_get_error();
	char buf[256];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		hcr_error_detail(err, "%s", buf);
	}
	ERR_clear_error();
}

int hcr_crypto_random(void *buf, size_t len, hcr_error *err)
{
	unsigned char *p = buf;

	while (len > 0) {
		int n = len > INT_MAX ? INT_MAX : (int)len;

		if (RAND_bytes(p, n) != 1) {
			hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL,
				      "cannot generate random bytes");
			openssl_detail(err);
			return HCR_ERROR;
		}
		p += n;
		len -= (size_t)n;
	}
	return HCR_OK;
}

void hcr_crypto_hex(char *out, const void *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

void hcr_crypto_sha256_hex(char out[65], const void *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	/*
	 * SHA-256 on a default library context fails only when OpenSSL itself is
	 * broken (no default provider, out of memory). A wrong hash would silently
	 * break token lookups and key ids, so stop instead.
	 */
	if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32) {
		hcr_log_error("crypto", "SHA-256 failed in OpenSSL");
		abort();
	}
	hcr_crypto_hex(out, md, md_len);
}

char *hcr_crypto_base64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	unsigned char *out, *o;

	if (len / 3 >= (SIZE_MAX - 1) / 4 - 1) {
		hcr_log_error("crypto", "base64 input too large len=%zu", len);
		abort();
	}
	out = hcr_malloc((len + 2) / 3 * 4 + 1);
	o = out;
	*o = '\0';
	while (len > 0) {
		size_t n = len > 3 * B64_CHUNK_GROUPS ? 3 * B64_CHUNK_GROUPS : len;

		o += EVP_EncodeBlock(o, in, (int)n);
		in += n;
		len -= n;
	}
	return (char *)out;
}

/* The value of a standard base64 digit, or -1. */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Validation is done here rather than left to EVP_DecodeBlock, which skips
 * leading and trailing whitespace, cannot tell how much of its output was
 * padding, and only accepts whole groups of four. What is accepted:
 *
 *   - only the 64 digits, then at most two '=' at the very end;
 *   - with padding, a whole number of groups; without, a last group of 2 or 3
 *     digits (a lone digit cannot encode a byte);
 *   - the unused low bits of the last digit must be zero, so that every byte
 *     string has exactly one accepted encoding.
 */
unsigned char *hcr_crypto_base64_decode(const char *s, size_t *out_len)
{
	const unsigned char *in = (const unsigned char *)s;
	size_t n, pad = 0, digits, full, rem, i, total;
	unsigned char *out, *o;

	if (!s)
		return NULL;
	n = strlen(s);
	while (pad < n && pad < 2 && in[n - 1 - pad] == '=')
		pad++;
	digits = n - pad;
	for (i = 0; i < digits; i++)
		if (b64_value(in[i]) < 0)
			return NULL;
	rem = digits % 4;
	if (rem == 1 || (pad > 0 && n % 4 != 0))
		return NULL;
	if (rem == 2 && (b64_value(in[digits - 1]) & 0x0f) != 0)
		return NULL;
	if (rem == 3 && (b64_value(in[digits - 1]) & 0x03) != 0)
		return NULL;

	full = digits - rem;
	total = full / 4 * 3 + (rem ? rem - 1 : 0);
	out = hcr_malloc(total + 1);
	o = out;
	for (i = 0; i < full;) {
		size_t chunk = full - i > 4 * B64_CHUNK_GROUPS ? 4 * B64_CHUNK_GROUPS : full - i;

		if (EVP_DecodeBlock(o, in + i, (int)chunk) != (int)(chunk / 4 * 3))
			goto fail;
		o += chunk / 4 * 3;
		i += chunk;
	}
	if (rem) {
		/* The short last group, padded here so that EVP_DecodeBlock takes it. */
		unsigned char group[4] = {'=', '=', '=', '='}, bytes[3];

		memcpy(group, in + full, rem);
		if (EVP_DecodeBlock(bytes, group, 4) != 3)
			goto fail;
		memcpy(o, bytes, rem - 1);
		OPENSSL_cleanse(bytes, sizeof(bytes));
	}
	out[total] = '\0';
	*out_len = total;
	return out;

fail:
	/* Not reached for input that passed the checks above. */
	OPENSSL_cleanse(out, total + 1);
	free(out);
	return NULL;
}

void hcr_crypto_wipe(void *p, size_t len)
{
	if (p && len > 0)
		OPENSSL_cleanse(p, len);
}

/* --- master key file ------------------------------------------------------------------- */

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Turns a key file's contents into the key. `buf` has room for a NUL after
 * `len` bytes and is modified. Exactly 32 bytes are taken as they are: neither
 * text form can be that short, so there is no ambiguity.
 */
static int parse_key(unsigned char key[HCR_KEY_BYTES], unsigned char *buf, size_t len)
{
	size_t start = 0, end = len, i;
	unsigned char *decoded;
	size_t decoded_len = 0;
	int ok;

	if (len == HCR_KEY_BYTES) {
		memcpy(key, buf, HCR_KEY_BYTES);
		return 1;
	}
	while (start < end && is_space(buf[start]))
		start++;
	while (end > start && is_space(buf[end - 1]))
		end--;
	buf[end] = '\0';

	if (end - start == (size_t)2 * HCR_KEY_BYTES) {
		for (i = 0; i < HCR_KEY_BYTES; i++) {
			int hi = hex_value(buf[start + 2 * i]),
			    lo = hex_value(buf[start + 2 * i + 1]);

			if (hi < 0 || lo < 0)
				break;
			key[i] = (unsigned char)(hi << 4 | lo);
		}
		if (i == HCR_KEY_BYTES)
			return 1;
	}

	/* A NUL inside the text would end the string early and hide the rest. */
	if (memchr(buf + start, '\0', end - start) != NULL)
		return 0;
	decoded = hcr_crypto_base64_decode((const char *)buf + start, &decoded_len);
	ok = decoded != NULL && decoded_len == HCR_KEY_BYTES;
	if (ok)
		memcpy(key, decoded, HCR_KEY_BYTES);
	if (decoded) {
		hcr_crypto_wipe(decoded, decoded_len);
		free(decoded);
	}
	return ok;
}

static void set_key_id(hcr_master_key *key)
{
	char hash[65];

	hcr_crypto_sha256_hex(hash, key->key, HCR_KEY_BYTES);
	memcpy(key->id, hash, 16);
	key->id[16] = '\0';
}

/* Reads at most `size` bytes; *len == size means the file may be longer. */
static int read_up_to(int fd, unsigned char *buf, size_t size, size_t *len)
{
	*len = 0;
	while (*len < size) {
		ssize_t n = read(fd, buf + *len, size - *len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

int hcr_master_key_load(hcr_master_key *out, const char *path, hcr_error *err)
{
	unsigned char buf[KEY_FILE_MAX + 2];
	size_t len = 0;
	struct stat st;
	int fd, rc;

	memset(out, 0, sizeof(*out));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		rc = hcr_error_set(err, e == ENOENT ? HCR_ENOTFOUND : HCR_ERROR, HCR_ERR_CONFIG,
				   "cannot open master key file \"%s\"", path);
		hcr_error_detail(err, "%s", strerror(e));
		if (e == ENOENT)
			hcr_error_hint(err, KEY_FILE_HINT, path, path);
		else if (e == EACCES)
			hcr_error_hint(err, "make the file readable by the user hcr runs as");
		goto done;
	}
	if (fstat(fd, &st) != 0) {
		int e = errno;

		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_CONFIG,
				   "cannot read master key file \"%s\"", path);
		hcr_error_detail(err, "%s", strerror(e));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG,
				   "master key file \"%s\" is not a regular file", path);
		goto done;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		char quoted[1024];

		hcr_log_warn("crypto", "master key file is readable by others path=%s mode=%04o",
			     hcr_log_quote(quoted, sizeof(quoted), path),
			     (unsigned int)(st.st_mode & 07777));
	}
	/* One byte more than allowed tells an oversized file apart; one more for the NUL. */
	if (read_up_to(fd, buf, KEY_FILE_MAX + 1, &len) != 0) {
		int e = errno;

		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_CONFIG,
				   "cannot read master key file \"%s\"", path);
		hcr_error_detail(err, "%s", strerror(e));
		goto done;
	}
	if (len > KEY_FILE_MAX || !parse_key(out->key, buf, len)) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_CONFIG, KEY_FILE_FORMAT, path);
		hcr_error_hint(err, KEY_FILE_HINT, path, path);
		goto done;
	}
	set_key_id(out);
	rc = HCR_OK;

done:
	if (fd >= 0)
		close(fd);
	hcr_crypto_wipe(buf, sizeof(buf));
	if (rc != HCR_OK)
		OPENSSL_cleanse(out, sizeof(*out));
	return rc;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Makes the new file's directory entry durable: losing the key after secrets
 * were sealed under it would lose the secrets. Best effort, as some file
 * systems refuse fsync on a directory.
 */
static void sync_parent(const char *path)
{
	char *copy = hcr_strdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

static int create_failed(hcr_error *err, const char *path, int e)
{
	char *parent;

	hcr_error_set(err, HCR_ERROR, HCR_ERR_CONFIG, "cannot create master key file \"%s\"", path);
	hcr_error_detail(err, "%s", strerror(e));
	if (e == ENOENT) {
		parent = hcr_strdup(path);
		hcr_error_hint(err, "create the directory \"%s\" first", dirname(parent));
		free(parent);
	} else if (e == EACCES) {
		hcr_error_hint(err,
			       "let the user hcr runs as write to the directory; or " KEY_FILE_HINT,
			       path, path);
	} else if (e == EPERM || e == EOPNOTSUPP || e == ENOSYS) {
		hcr_error_hint(err, "the file system must support hard links; or " KEY_FILE_HINT,
			       path, path);
	}
	return HCR_ERROR;
}

/*
 * Creates `path`, which must not exist yet, holding a new random key, and puts
 * the key into `key`. Returns HCR_ECONFLICT, leaving `err` alone, when the
 * file exists.
 *
 * The key is written to a temporary file beside `path` (created O_EXCL, mode
 * 0600, by mkostemp) and then linked into place. link(2) fails with EEXIST if
 * `path` exists, exactly like O_CREAT|O_EXCL, but the key file appears whole:
 * a process starting at the same moment never reads a half-written key, and a
 * crash never leaves an empty key file behind.
 */
static int create_key_file(const char *path, unsigned char key[HCR_KEY_BYTES], hcr_error *err)
{
	char *tmp, *text = NULL, *b64;
	int fd, rc, e;

	tmp = hcr_sprintf("%s.tmp-XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = create_failed(err, path, errno);
		free(tmp);
		tmp = NULL;
		goto done;
	}

	rc = hcr_crypto_random(key, HCR_KEY_BYTES, err);
	if (rc != HCR_OK)
		goto done;
	b64 = hcr_crypto_base64_encode(key, HCR_KEY_BYTES);
	text = hcr_sprintf("%s\n", b64);
	hcr_crypto_wipe(b64, strlen(b64));
	free(b64);

	if (write_all(fd, text, strlen(text)) != 0 || fsync(fd) != 0) {
		e = errno;
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_CONFIG,
				   "cannot write master key file \"%s\"", path);
		hcr_error_detail(err, "%s", strerror(e));
		goto done;
	}
	e = close(fd) != 0 ? errno : 0;
	fd = -1;
	if (e != 0) {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_CONFIG,
				   "cannot write master key file \"%s\"", path);
		hcr_error_detail(err, "%s", strerror(e));
		goto done;
	}
	if (link(tmp, path) != 0) {
		e = errno;
		rc = e == EEXIST ? HCR_ECONFLICT : create_failed(err, path, e);
		goto done;
	}
	sync_parent(path);
	rc = HCR_OK;

done:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	if (text) {
		hcr_crypto_wipe(text, strlen(text));
		free(text);
	}
	return rc;
}

int hcr_master_key_load_or_create(hcr_master_key *out, const char *path, int *created,
				  hcr_error *err)
{
	int rc;

	if (created)
		*created = 0;
	memset(out, 0, sizeof(*out));

	/*
	 * Creating first, rather than checking and then creating, leaves no
	 * window in which two processes both create a key: the loser finds the
	 * file exists and loads the winner's.
	 */
	rc = create_key_file(path, out->key, err);
	if (rc == HCR_ECONFLICT)
		return hcr_master_key_load(out, path, err);
	if (rc != HCR_OK) {
		OPENSSL_cleanse(out, sizeof(*out));
		return rc;
	}
	set_key_id(out);
	if (created)
		*created = 1;
	return HCR_OK;
}

/* --- AES-256-GCM ----------------------------------------------------------------------- */

#define SEAL_OVERHEAD (HCR_NONCE_BYTES + HCR_TAG_BYTES)

/* Feeds `aad` to a started GCM context. */
static int gcm_aad(EVP_CIPHER_CTX *ctx, const char *aad, int encrypt)
{
	size_t len = aad ? strlen(aad) : 0;
	int outl = 0;

	if (len == 0)
		return 1;
	if (len > INT_MAX)
		return 0;
	if (encrypt)
		return EVP_EncryptUpdate(ctx, NULL, &outl, (const unsigned char *)aad, (int)len);
	return EVP_DecryptUpdate(ctx, NULL, &outl, (const unsigned char *)aad, (int)len);
}

int hcr_crypto_seal(unsigned char **out, size_t *out_len, const hcr_master_key *key,
		    const void *plain, size_t plain_len, const char *aad, hcr_error *err)
{
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char *buf = NULL, *ct;
	int outl = 0, finl = 0, rc;

	*out = NULL;
	*out_len = 0;
	if (plain_len > INT_MAX - SEAL_OVERHEAD || (aad && strlen(aad) > INT_MAX)) {
		rc = hcr_error_set(err, HCR_EINVALID, HCR_ERR_TOO_LARGE,
				   "secret is too large to encrypt");
		goto done;
	}
	buf = hcr_malloc(plain_len + SEAL_OVERHEAD);
	ct = buf + HCR_NONCE_BYTES;
	rc = hcr_crypto_random(buf, HCR_NONCE_BYTES, err);
	if (rc != HCR_OK)
		goto done;

	ctx = EVP_CIPHER_CTX_new();
	if (!ctx || EVP_EncryptInit_ex2(ctx, EVP_aes_256_gcm(), key->key, buf, NULL) != 1 ||
	    gcm_aad(ctx, aad, 1) != 1 ||
	    (plain_len > 0 && EVP_EncryptUpdate(ctx, ct, &outl, plain, (int)plain_len) != 1) ||
	    EVP_EncryptFinal_ex(ctx, ct + outl, &finl) != 1 ||
	    (size_t)outl + (size_t)finl != plain_len ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, HCR_TAG_BYTES, ct + plain_len) != 1) {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "cannot encrypt secret");
		openssl_detail(err);
		goto done;
	}
	*out = buf;
	*out_len = plain_len + SEAL_OVERHEAD;
	buf = NULL;
	rc = HCR_OK;

done:
	EVP_CIPHER_CTX_free(ctx);
	free(buf);
	return rc;
}

static int cannot_decrypt(hcr_error *err, const char *detail)
{
	hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "secret cannot be decrypted");
	hcr_error_detail(err, "%s", detail);
	hcr_error_hint(err, "the master key may be wrong or rotated: start hcr with the key file "
			    "whose key id is stored with the secret, or store the secret again");
	return HCR_ERROR;
}

int hcr_crypto_open(unsigned char **out, size_t *out_len, const hcr_master_key *key,
		    const void *sealed, size_t sealed_len, const char *aad, hcr_error *err)
{
	const unsigned char *in = sealed;
	EVP_CIPHER_CTX *ctx = NULL;
	unsigned char tag[HCR_TAG_BYTES];
	unsigned char *buf = NULL;
	size_t ct_len = 0;
	int outl = 0, finl = 0, rc;

	*out = NULL;
	*out_len = 0;
	if (sealed_len < SEAL_OVERHEAD) {
		rc = cannot_decrypt(err, "sealed data is shorter than a nonce and a tag");
		goto done;
	}
	ct_len = sealed_len - SEAL_OVERHEAD;
	if (ct_len > INT_MAX || (aad && strlen(aad) > INT_MAX)) {
		rc = cannot_decrypt(err, "sealed data is too large");
		goto done;
	}
	buf = hcr_malloc(ct_len + 1);
	memcpy(tag, in + HCR_NONCE_BYTES + ct_len, HCR_TAG_BYTES);

	ctx = EVP_CIPHER_CTX_new();
	if (!ctx || EVP_DecryptInit_ex2(ctx, EVP_aes_256_gcm(), key->key, in, NULL) != 1 ||
	    gcm_aad(ctx, aad, 0) != 1 ||
	    (ct_len > 0 &&
	     EVP_DecryptUpdate(ctx, buf, &outl, in + HCR_NONCE_BYTES, (int)ct_len) != 1) ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, HCR_TAG_BYTES, tag) != 1) {
		rc = hcr_error_set(err, HCR_ERROR, HCR_ERR_INTERNAL, "cannot decrypt secret");
		openssl_detail(err);
		goto done;
	}
	if (EVP_DecryptFinal_ex(ctx, buf + outl, &finl) != 1 ||
	    (size_t)outl + (size_t)finl != ct_len) {
		ERR_clear_error();
		rc = cannot_decrypt(err, "the authentication tag does not match");
		goto done;
	}
	buf[ct_len] = '\0';
	*out = buf;
	*out_len = ct_len;
	buf = NULL;
	rc = HCR_OK;

done:
	EVP_CIPHER_CTX_free(ctx);
	if (buf) {
		/* Unauthenticated plaintext must not linger in freed memory. */
		hcr_crypto_wipe(buf, ct_len + 1);
		free(buf);
	}
	return rc;
}
