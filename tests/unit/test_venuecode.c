/* Suite "venuecode": signed venue payloads and the venue key.
 *
 * Known answers come from outside the code under test: Python's hmac with
 * SHA-512 truncated to 10 bytes (libsodium's crypto_auth is the first 32
 * bytes of HMAC-SHA-512) and base64.b32encode:
 *   key = bytes(range(32))
 *   base64.b32encode(hmac.new(key, b"V:" + code, hashlib.sha512).digest()[:10])
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkins/checkins.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

static unsigned char key0[VENUE_KEY_BYTES];
static unsigned char key1[VENUE_KEY_BYTES];

static void keys(void)
{
	for (int i = 0; i < VENUE_KEY_BYTES; i++) {
		key0[i] = (unsigned char)i;
		key1[i] = (unsigned char)(i + 1);
	}
}

TestSuite(venuecode, .init = keys);

static enum fk_status check(const unsigned char *key, const char *payload, char *code,
			    size_t size)
{
	struct fk_err err = {FK_OK, ""};
	enum fk_status st = venue_payload_check(key, payload, code, size, &err);
	if (st)
		cr_assert_neq(err.msg[0], '\0', "no message for status %d", st);
	return st;
}

Test(venuecode, known_answers)
{
	char out[VENUE_PAYLOAD_MAX];
	cr_assert(venue_payload_make(key0, "V6109020010050001", out, sizeof(out)));
	cr_assert_str_eq(out, "FK1:V:V6109020010050001:7VTF3LFX4GTV2FY3");
	cr_assert(venue_payload_make(key0, "a-b_Z9", out, sizeof(out)));
	cr_assert_str_eq(out, "FK1:V:a-b_Z9:TPNNZJJW4L76IWDG");
	char code[VENUE_CODE_MAX + 1];
	cr_assert_eq(check(key0, "FK1:V:a-b_Z9:TPNNZJJW4L76IWDG", code, sizeof(code)), FK_OK);
	cr_assert_str_eq(code, "a-b_Z9");
}

Test(venuecode, round_trip)
{
	static const char *const codes[] = {
	    "V6109020010050001", "A", "z", "0", "-", "_", "shop-12_b",
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", /* VENUE_CODE_MAX */
	};
	for (size_t i = 0; i < FK_ARRAY_LEN(codes); i++) {
		char out[VENUE_PAYLOAD_MAX], code[VENUE_CODE_MAX + 1];
		cr_assert(venue_payload_make(key0, codes[i], out, sizeof(out)), "%s", codes[i]);
		cr_assert_eq(strlen(out), 6 + strlen(codes[i]) + 1 + 16, "%s", out);
		cr_assert_lt(strlen(out), (size_t)VENUE_PAYLOAD_MAX);
		memset(code, 'x', sizeof(code));
		cr_assert_eq(check(key0, out, code, sizeof(code)), FK_OK, "%s", out);
		cr_assert_str_eq(code, codes[i]);
		/* a buffer of exactly the code's size plus NUL is enough */
		cr_assert_eq(check(key0, out, code, strlen(codes[i]) + 1), FK_OK);
		/* one byte less is refused, and nothing is written past it */
		memset(code, 'x', sizeof(code));
		cr_assert_neq(check(key0, out, code, strlen(codes[i])), FK_OK);
		for (size_t k = strlen(codes[i]); k < sizeof(code); k++)
			cr_assert_eq(code[k], 'x');
	}
}

Test(venuecode, make_refuses)
{
	char out[VENUE_PAYLOAD_MAX];
	cr_assert_not(venue_payload_make(key0, "", out, sizeof(out)));
	cr_assert_not(venue_payload_make(key0, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", out,
	                                 sizeof(out))); /* 33 characters */
	static const char *const bad[] = {"A:B", "A B", "A/B", "..", "A.B", "场所", "A\nB"};
	for (size_t i = 0; i < FK_ARRAY_LEN(bad); i++)
		cr_assert_not(venue_payload_make(key0, bad[i], out, sizeof(out)), "'%s'", bad[i]);
	/* "FK1:V:AB:" + 16 + NUL = 26 bytes */
	memset(out, 'q', sizeof(out));
	cr_assert_not(venue_payload_make(key0, "AB", out, 25));
	cr_assert(venue_payload_make(key0, "AB", out, 26));
	cr_assert_eq(out[25], '\0');
	cr_assert_eq(out[26], 'q');
}

static bool b32_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7');
}

static bool code_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* Every payload one edit away (each byte replaced by each other byte value,
 * each byte deleted, a byte inserted at each position) fails: forged when
 * the result still has the payload's shape, malformed otherwise. */
Test(venuecode, every_single_alteration_rejected)
{
	char good[VENUE_PAYLOAD_MAX], alt[VENUE_PAYLOAD_MAX + 2], code[VENUE_CODE_MAX + 1];
	cr_assert(venue_payload_make(key0, "V6109020010050001", good, sizeof(good)));
	size_t n = strlen(good), sig_at = n - 16;
	int forged = 0, malformed = 0;
	for (size_t i = 0; i < n; i++) {
		for (int b = 1; b < 256; b++) {
			if (b == (unsigned char)good[i])
				continue;
			memcpy(alt, good, n + 1);
			alt[i] = (char)b;
			enum fk_status st = check(key0, alt, code, sizeof(code));
			cr_assert(st == FK_EFORBIDDEN || st == FK_EINVAL,
			          "'%s' (byte %zu = %d): status %d", alt, i, b, st);
			/* same shape, other content: must be called forged */
			bool shape = (i >= sig_at && b32_char((char)b)) ||
			             (i >= 6 && i < sig_at - 1 && code_char((char)b));
			if (shape)
				cr_assert_eq(st, FK_EFORBIDDEN, "'%s' not called forged", alt);
			forged += st == FK_EFORBIDDEN;
			malformed += st == FK_EINVAL;
		}
		/* deletion */
		memcpy(alt, good, i);
		memcpy(alt + i, good + i + 1, n - i);
		enum fk_status st = check(key0, alt, code, sizeof(code));
		cr_assert(st == FK_EFORBIDDEN || st == FK_EINVAL, "deleted %zu: %d", i, st);
	}
	/* insertion of a code or base32 character at every position */
	for (size_t i = 0; i <= n; i++) {
		memcpy(alt, good, i);
		alt[i] = 'A';
		memcpy(alt + i + 1, good + i, n - i + 1);
		enum fk_status st = check(key0, alt, code, sizeof(code));
		cr_assert(st == FK_EFORBIDDEN || st == FK_EINVAL, "'%s': %d", alt, st);
	}
	cr_assert_gt(forged, 0);
	cr_assert_gt(malformed, 0);
}

Test(venuecode, truncated_and_extended_inputs)
{
	char good[VENUE_PAYLOAD_MAX], buf[VENUE_PAYLOAD_MAX + 64], code[VENUE_CODE_MAX + 1];
	cr_assert(venue_payload_make(key0, "V6109020010050001", good, sizeof(good)));
	size_t n = strlen(good);
	for (size_t len = 0; len < n; len++) {
		memcpy(buf, good, len);
		buf[len] = '\0';
		cr_assert_eq(check(key0, buf, code, sizeof(code)), FK_EINVAL, "prefix '%s'", buf);
	}
	static const char *const tails[] = {"\n", " ", "A", "=", "\r\n", ":"};
	for (size_t i = 0; i < FK_ARRAY_LEN(tails); i++) {
		snprintf(buf, sizeof(buf), "%s%s", good, tails[i]);
		cr_assert_eq(check(key0, buf, code, sizeof(code)), FK_EINVAL, "'%s'", buf);
	}
	/* lower-case base32 is not accepted */
	snprintf(buf, sizeof(buf), "%s", good);
	for (size_t i = n - 16; i < n; i++)
		if (buf[i] >= 'A' && buf[i] <= 'Z')
			buf[i] = (char)(buf[i] - 'A' + 'a');
	cr_assert_eq(check(key0, buf, code, sizeof(code)), FK_EINVAL);
	/* a code over VENUE_CODE_MAX with a well-formed tail */
	snprintf(buf, sizeof(buf), "FK1:V:%s:AAAAAAAAAAAAAAAA", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456");
	cr_assert_eq(check(key0, buf, code, sizeof(code)), FK_EINVAL);
	/* longer than VENUE_PAYLOAD_MAX, not NUL-terminated early */
	memset(buf, 'A', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	memcpy(buf, "FK1:V:", 6);
	cr_assert_eq(check(key0, buf, code, sizeof(code)), FK_EINVAL);
	cr_assert_eq(check(key0, "", code, sizeof(code)), FK_EINVAL);
	cr_assert_eq(check(key0, "https://example.com/FK1:V:A", code, sizeof(code)), FK_EINVAL);
}

Test(venuecode, other_key_fails)
{
	char out[VENUE_PAYLOAD_MAX], code[VENUE_CODE_MAX + 1];
	cr_assert(venue_payload_make(key0, "V6109020010050001", out, sizeof(out)));
	struct fk_err err = {FK_OK, ""};
	cr_assert_eq(venue_payload_check(key1, out, code, sizeof(code), &err), FK_EFORBIDDEN);
	cr_assert(strstr(err.msg, "'V6109020010050001'"), "message: %s", err.msg);
	cr_assert(strstr(err.msg, "signature"), "message: %s", err.msg);
	/* the signature covers the code: another code's signature does not fit */
	char other[VENUE_PAYLOAD_MAX], swapped[VENUE_PAYLOAD_MAX * 2];
	cr_assert(venue_payload_make(key0, "V6109020010050002", other, sizeof(other)));
	snprintf(swapped, sizeof(swapped), "FK1:V:V6109020010050001:%s",
	         other + strlen(other) - 16);
	cr_assert_eq(check(key0, swapped, code, sizeof(code)), FK_EFORBIDDEN);
}

/* ---- the key in meta ---- */

static char dir[64], path[128];

static sqlite3 *open_db(void)
{
	struct fk_err err;
	sqlite3 *db = NULL;
	cr_assert_eq(store_open(path, STORE_CREATE | STORE_MIGRATE, &db, &err), FK_OK, "%s",
	             err.msg);
	return db;
}

static void db_setup(void)
{
	keys();
	fk_strlcpy(dir, "/tmp/fk-venuecode-XXXXXX", sizeof(dir));
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
}

static void db_teardown(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* The meta value read by a raw sqlite3 connection, not the store. */
static void raw_meta(char *out, size_t size)
{
	sqlite3 *raw = NULL;
	sqlite3_stmt *st = NULL;
	out[0] = '\0';
	cr_assert_eq(sqlite3_open(path, &raw), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(raw, "SELECT value FROM meta WHERE key='venue_key'", -1,
	                                &st, NULL),
	             SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(raw);
}

Test(venuecode, key_created_once_and_reused, .init = db_setup, .fini = db_teardown)
{
	struct fk_err err = {FK_OK, ""};
	unsigned char k1[VENUE_KEY_BYTES], k2[VENUE_KEY_BYTES], k3[VENUE_KEY_BYTES];
	sqlite3 *db = open_db();
	cr_assert_eq(venue_key_get(db, false, k1, &err), FK_ENOTFOUND);
	char hex[128];
	raw_meta(hex, sizeof(hex));
	cr_assert_str_empty(hex, "asking without create wrote a key");

	cr_assert_eq(venue_key_get(db, true, k1, &err), FK_OK, "%s", err.msg);
	raw_meta(hex, sizeof(hex));
	cr_assert_eq(strlen(hex), 64, "meta holds '%s'", hex);
	char want[65];
	for (int i = 0; i < VENUE_KEY_BYTES; i++)
		snprintf(want + 2 * i, 3, "%02x", k1[i]);
	cr_assert_str_eq(hex, want, "meta is not the key in hex");
	unsigned char zero[VENUE_KEY_BYTES] = {0};
	cr_assert_neq(memcmp(k1, zero, sizeof(zero)), 0, "key is all zero");

	cr_assert_eq(venue_key_get(db, true, k2, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(memcmp(k1, k2, sizeof(k1)), 0, "a second call made another key");
	store_close(db);

	/* another connection (another process) reads the same key */
	db = open_db();
	cr_assert_eq(venue_key_get(db, false, k3, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(memcmp(k1, k3, sizeof(k1)), 0);
	char out[VENUE_PAYLOAD_MAX], code[VENUE_CODE_MAX + 1];
	cr_assert(venue_payload_make(k1, "V1", out, sizeof(out)));
	cr_assert_eq(check(k3, out, code, sizeof(code)), FK_OK);
	store_close(db);

	/* a fresh database gets a different key */
	db_teardown();
	db_setup();
	db = open_db();
	cr_assert_eq(venue_key_get(db, true, k2, &err), FK_OK, "%s", err.msg);
	cr_assert_neq(memcmp(k1, k2, sizeof(k1)), 0, "two databases share a key");
	cr_assert_eq(check(k2, out, code, sizeof(code)), FK_EFORBIDDEN);
	store_close(db);
}

Test(venuecode, damaged_key_is_an_error, .init = db_setup, .fini = db_teardown)
{
	struct fk_err err = {FK_OK, ""};
	unsigned char k[VENUE_KEY_BYTES];
	static const char *const bad[] = {
	    "00", "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00", ""};
	for (size_t i = 0; i < FK_ARRAY_LEN(bad); i++) {
		sqlite3 *db = open_db();
		cr_assert_eq(store_meta_set(db, "venue_key", bad[i], &err), FK_OK);
		cr_assert_eq(venue_key_get(db, true, k, &err), FK_EDB, "'%s' accepted", bad[i]);
		cr_assert(strstr(err.msg, "venue_key"), "message: %s", err.msg);
		store_close(db);
	}
	/* the good form is read as it stands */
	sqlite3 *db = open_db();
	cr_assert_eq(store_meta_set(db, "venue_key",
	                            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	                            &err),
	             FK_OK);
	cr_assert_eq(venue_key_get(db, false, k, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(memcmp(k, key0, sizeof(k)), 0);
	store_close(db);
}
