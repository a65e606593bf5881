/* venuecode.c — signed venue payloads: "FK1:V:<venue code>:<signature>".
 *
 * Design note.
 * - Signature: the first VENUE_SIG_BYTES (10) bytes of crypto_auth
 *   (HMAC-SHA-512/256) of "V:<code>" under the 32-byte venue key, written
 *   as 16 characters of RFC 4648 base32 without padding (80 bits = 16 x 5,
 *   so no padding and no spare bits).  80 bits make a forgery by guessing
 *   hopeless for a scan endpoint (2^-80 per attempt).
 * - Grammar accepted by venue_payload_check, nothing else:
 *       "FK1:V:" code ":" sig
 *   code: 1..VENUE_CODE_MAX characters of [A-Za-z0-9_-] (the venue code
 *   alphabet of the importer); sig: exactly 16 of [A-Z2-7].  No spaces, no
 *   lower-case base32, no trailing bytes: a scanner hands over the QR
 *   text exactly, so every other byte string is "not a venue payload"
 *   (FK_EINVAL), and one with the right shape but the wrong signature is
 *   forged or altered (FK_EFORBIDDEN).  Parsing never reads past
 *   VENUE_PAYLOAD_MAX + 1 bytes of the input.
 * - The signature is compared in constant time (sodium_memcmp) on the
 *   decoded bytes; the error message never echoes input that failed the
 *   grammar, only a code that passed it.
 * - The key lives in meta 'venue_key' as 64 lower-case hex digits.  It is
 *   created with INSERT ... ON CONFLICT DO NOTHING and then read back, so
 *   two processes creating it at once agree on the one that was stored.
 */
#include "checkins/checkins.h"

#include <sodium.h>
#include <string.h>

#include "store/store.h"

#include "lib/banned.h"

#define VENUE_PREFIX "FK1:V:"
#define VENUE_PREFIX_LEN (sizeof(VENUE_PREFIX) - 1)
#define VENUE_SIG_BYTES 10
#define VENUE_SIG_CHARS 16 /* base32 of 10 bytes */
#define VENUE_KEY_META "venue_key"

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static bool venue_code_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       c == '-' || c == '_';
}

/* Value 0..31 of a base32 character, -1 if it is not one. */
static int b32_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/* 10 bytes -> 16 characters (no NUL). */
static void b32_encode(const unsigned char in[VENUE_SIG_BYTES], char out[VENUE_SIG_CHARS])
{
	for (int g = 0; g < 2; g++) { /* two groups of 5 bytes = 8 characters */
		uint64_t v = 0;
		for (int i = 0; i < 5; i++)
			v = v << 8 | in[g * 5 + i];
		for (int i = 0; i < 8; i++)
			out[g * 8 + i] = b32_alphabet[(v >> (35 - 5 * i)) & 31];
	}
}

/* 16 characters -> 10 bytes; false if any is not base32. */
static bool b32_decode(const char in[VENUE_SIG_CHARS], unsigned char out[VENUE_SIG_BYTES])
{
	for (int g = 0; g < 2; g++) {
		uint64_t v = 0;
		for (int i = 0; i < 8; i++) {
			int d = b32_value(in[g * 8 + i]);
			if (d < 0)
				return false;
			v = v << 5 | (uint64_t)d;
		}
		for (int i = 0; i < 5; i++)
			out[g * 5 + i] = (unsigned char)(v >> (32 - 8 * i));
	}
	return true;
}

/* The truncated MAC of "V:<code>" (code of len bytes). */
static void venue_sig(const unsigned char key[VENUE_KEY_BYTES], const char *code, size_t len,
		      unsigned char sig[VENUE_SIG_BYTES])
{
	unsigned char msg[2 + VENUE_CODE_MAX], mac[crypto_auth_BYTES];
	msg[0] = 'V';
	msg[1] = ':';
	memcpy(msg + 2, code, len);
	crypto_auth(mac, msg, 2 + len, key);
	memcpy(sig, mac, VENUE_SIG_BYTES);
	sodium_memzero(mac, sizeof(mac));
}

enum fk_status venue_key_get(sqlite3 *db, bool create, unsigned char key[VENUE_KEY_BYTES],
			     struct fk_err *err)
{
	return store_meta_key(db, VENUE_KEY_META, "venue key", VENUE_KEY_BYTES, create, key, err);
}

bool venue_payload_make(const unsigned char key[VENUE_KEY_BYTES], const char *code, char *out,
			size_t size)
{
	size_t len = strnlen(code, VENUE_CODE_MAX + 1);
	if (len == 0 || len > VENUE_CODE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!venue_code_char(code[i]))
			return false;
	size_t need = VENUE_PREFIX_LEN + len + 1 + VENUE_SIG_CHARS + 1;
	if (need > size)
		return false;
	unsigned char sig[VENUE_SIG_BYTES];
	venue_sig(key, code, len, sig);
	char *p = out;
	memcpy(p, VENUE_PREFIX, VENUE_PREFIX_LEN);
	p += VENUE_PREFIX_LEN;
	memcpy(p, code, len);
	p += len;
	*p++ = ':';
	b32_encode(sig, p);
	p[VENUE_SIG_CHARS] = '\0';
	return true;
}

enum fk_status venue_payload_check(const unsigned char key[VENUE_KEY_BYTES], const char *payload,
				   char *code, size_t size, struct fk_err *err)
{
	/* bounded: a payload longer than VENUE_PAYLOAD_MAX is not one */
	size_t n = strnlen(payload, VENUE_PAYLOAD_MAX + 1);
	if (n > VENUE_PAYLOAD_MAX)
		return fk_fail(err, FK_EINVAL, "not a venue code: longer than %d bytes",
			       VENUE_PAYLOAD_MAX);
	if (n < VENUE_PREFIX_LEN || memcmp(payload, VENUE_PREFIX, VENUE_PREFIX_LEN) != 0)
		return fk_fail(err, FK_EINVAL, "not a venue code: it does not start with '%s'",
			       VENUE_PREFIX);
	const char *c = payload + VENUE_PREFIX_LEN;
	size_t len = 0;
	while (c + len < payload + n && venue_code_char(c[len]))
		len++;
	if (len == 0 || len > VENUE_CODE_MAX)
		return fk_fail(err, FK_EINVAL, "not a venue code: the code must be 1 to %d letters,"
					       " digits, '-' or '_'",
			       VENUE_CODE_MAX);
	const char *s = c + len;
	if (s >= payload + n || *s != ':')
		return fk_fail(err, FK_EINVAL,
			       "not a venue code: no ':' and signature after the code");
	s++;
	unsigned char got[VENUE_SIG_BYTES], want[VENUE_SIG_BYTES];
	if ((size_t)(payload + n - s) != VENUE_SIG_CHARS || !b32_decode(s, got))
		return fk_fail(err, FK_EINVAL,
			       "not a venue code: the signature must be %d base32 characters",
			       VENUE_SIG_CHARS);
	venue_sig(key, c, len, want);
	int diff = sodium_memcmp(got, want, VENUE_SIG_BYTES);
	sodium_memzero(want, sizeof(want));
	if (diff != 0)
		return fk_fail(err, FK_EFORBIDDEN,
			       "venue code '%.*s' has a bad signature (forged or altered)",
			       (int)len, c);
	if (len + 1 > size)
		return fk_fail(err, FK_EINVAL, "venue code '%.*s' does not fit in %zu bytes",
			       (int)len, c, size);
	memcpy(code, c, len);
	code[len] = '\0';
	return FK_OK;
}
