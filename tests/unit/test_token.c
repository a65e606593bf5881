/* Suite "token": signed health-code tokens, keys, pseudonyms and QR codes.
 *
 * Independent of the code under test: the token text is decoded here by a
 * bit-by-bit base32 reader of this file (not token.c's), the signature is
 * checked with crypto_sign_verify_detached against the public key read
 * with a raw sqlite3 connection, the pseudonym recomputed from the meta
 * key with crypto_generichash, and the QR PNG decoded by zbarimg.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "healthcode/healthcode.h"
#include "healthcode/token_int.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define RAW 84
#define CHARS 135
#define PREFIX "FK1:C:"
#define T0 1654041600 /* 2022-06-01T08:00:00+08:00 */

static char dir[64], path[128];
static sqlite3 *db;

static void setup(void)
{
	struct fk_err err;
	cr_assert(sodium_init() >= 0);
	fk_strlcpy(dir, "/tmp/fk-token-XXXXXX", sizeof(dir));
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	cr_assert_eq(store_open(path, STORE_CREATE | STORE_MIGRATE, &db, &err), FK_OK, "%s",
		     err.msg);
}

static void teardown(void)
{
	char cmd[256];
	store_close(db);
	db = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

TestSuite(token, .init = setup, .fini = teardown);

/* ---- an independent base32 (RFC 4648, no padding), bit by bit ---- */

static void enc(const unsigned char *raw, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	memcpy(out, PREFIX, 6);
	for (int c = 0; c < CHARS; c++) {
		int v = 0;
		for (int b = 0; b < 5; b++) {
			int bit = c * 5 + b, byte = bit / 8;
			int set = byte < RAW ? (raw[byte] >> (7 - bit % 8)) & 1 : 0;
			v = v << 1 | set;
		}
		out[6 + c] = a[v];
	}
	out[6 + CHARS] = '\0';
}

static void dec(const char *tok, unsigned char *raw)
{
	cr_assert_eq(strlen(tok), 6 + CHARS, "token length %zu", strlen(tok));
	cr_assert(!strncmp(tok, PREFIX, 6));
	memset(raw, 0, RAW);
	for (int c = 0; c < CHARS; c++) {
		const char *p = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", tok[6 + c]);
		cr_assert(p && *p, "character %d '%c' is not base32", c, tok[6 + c]);
		int v = (int)(p - "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
		for (int b = 0; b < 5; b++) {
			int bit = c * 5 + b;
			if (bit < RAW * 8 && ((v >> (4 - b)) & 1))
				raw[bit / 8] |= (unsigned char)(0x80 >> (bit % 8));
		}
	}
}

/* the public key of kid through a raw connection */
static void raw_pk(unsigned kid, unsigned char pk[32])
{
	sqlite3 *raw = NULL;
	sqlite3_stmt *st = NULL;
	cr_assert_eq(sqlite3_open(path, &raw), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(raw, "SELECT public_key FROM code_keys WHERE kid=?", -1,
					&st, NULL),
		     SQLITE_OK);
	sqlite3_bind_int(st, 1, (int)kid);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "no key %u", kid);
	cr_assert_eq(sqlite3_column_bytes(st, 0), 32);
	memcpy(pk, sqlite3_column_blob(st, 0), 32);
	sqlite3_finalize(st);
	sqlite3_close(raw);
}

static void raw_exec(const char *sql)
{
	sqlite3 *raw = NULL;
	cr_assert_eq(sqlite3_open(path, &raw), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(raw));
	sqlite3_close(raw);
}

static uint64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void issue(int64_t pid, enum colour c, int64_t now, int minutes, char *out,
		  struct hc_token *t)
{
	struct fk_err err = {FK_OK, ""};
	cr_assert_eq(hc_token_issue(db, pid, c, now, minutes, out, t, &err), FK_OK, "%s",
		     err.msg);
}

static enum fk_status verify(const char *tok, int64_t now, struct hc_token *t,
			     struct fk_err *err)
{
	err->status = FK_OK;
	err->msg[0] = '\0';
	enum fk_status st = hc_token_verify(db, tok, now, t, err);
	if (st)
		cr_assert_neq(err->msg[0], '\0', "no message for status %d", st);
	return st;
}

Test(token, round_trip_matches_an_independent_reading)
{
	char tok[HC_TOKEN_MAX], hexkey[80];
	struct hc_token t, v;
	struct fk_err err;
	unsigned char raw[RAW], pk[32], pkey[32], h[16];
	issue(123456789, COLOUR_YELLOW, T0, 30, tok, &t);
	for (const char *p = tok; *p; p++) /* QR alphanumeric characters only */
		cr_assert(strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", *p), "'%c'", *p);
	dec(tok, raw);
	cr_assert_eq(raw[0], 1, "version");
	cr_assert_eq(be(raw + 1, 2), 1, "the first key is kid 1");
	cr_assert_eq(raw[11], COLOUR_YELLOW);
	cr_assert_eq(be(raw + 12, 4), T0);
	cr_assert_eq(be(raw + 16, 4), T0 + 30 * 60);
	raw_pk(1, pk);
	cr_assert_eq(crypto_sign_verify_detached(raw + 20, raw, 20, pk), 0,
		     "the signature does not hold under the stored public key");
	/* the pseudonym: BLAKE2b-128 keyed with meta's key over the id, first 8 bytes */
	cr_assert(store_meta_get(db, "pseudonym_key", hexkey, sizeof(hexkey)));
	cr_assert_eq(strlen(hexkey), 64);
	cr_assert_eq(sodium_hex2bin(pkey, 32, hexkey, 64, NULL, NULL, NULL), 0);
	unsigned char id[8] = {0, 0, 0, 0, 0x07, 0x5B, 0xCD, 0x15}; /* 123456789 */
	crypto_generichash(h, 16, id, 8, pkey, 32);
	cr_assert_arr_eq(raw + 3, h, 8, "pseudonym");
	cr_assert_arr_eq(t.pseudonym, h, 8);
	char hex[17];
	cr_assert_eq(hc_pseudonym(db, 123456789, hex, &err), FK_OK);
	char want[17];
	sodium_bin2hex(want, sizeof(want), h, 8);
	cr_assert_str_eq(hex, want);
	/* verifies, and reads back what was issued */
	cr_assert_eq(verify(tok, T0, &v, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(v.kid, 1);
	cr_assert_eq(v.colour, COLOUR_YELLOW);
	cr_assert_eq(v.issued, T0);
	cr_assert_eq(v.expires, T0 + 1800);
	cr_assert_arr_eq(v.pseudonym, h, 8);
	/* another person: another pseudonym; same person: the same */
	char tok2[HC_TOKEN_MAX];
	struct hc_token t2;
	issue(123456790, COLOUR_GREEN, T0, 30, tok2, &t2);
	cr_assert(memcmp(t2.pseudonym, t.pseudonym, 8) != 0);
	issue(123456789, COLOUR_RED, T0 + 5, 30, tok2, &t2);
	cr_assert_arr_eq(t2.pseudonym, t.pseudonym, 8);
	cr_assert_eq(store_query_int(db, "SELECT count(*) FROM code_keys", -1), 1,
		     "signing again made another key");
}

Test(token, every_single_bit_flip_fails)
{
	char tok[HC_TOKEN_MAX], bad[HC_TOKEN_MAX];
	unsigned char raw[RAW];
	struct hc_token t;
	struct fk_err err;
	issue(42, COLOUR_GREEN, T0, 60, tok, &t);
	dec(tok, raw);
	enc(raw, bad);
	cr_assert_str_eq(bad, tok, "the test's base32 does not agree with the token");
	for (int bit = 0; bit < RAW * 8; bit++) {
		raw[bit / 8] ^= (unsigned char)(0x80 >> (bit % 8));
		enc(raw, bad);
		enum fk_status st = verify(bad, T0, &t, &err);
		cr_assert_neq(st, FK_OK, "flipping bit %d still verifies", bit);
		if (bit < 8) /* the version byte */
			cr_assert_eq(st, FK_EINVAL, "bit %d: %s", bit, err.msg);
		else
			cr_assert_eq(st, FK_EFORBIDDEN, "bit %d: %d %s", bit, st, err.msg);
		if (bit >= 24 && bit < 8 * 8) {
			/* pseudonym bytes: a forgery under a known key */
			cr_assert(strstr(err.msg, "signature"), "bit %d: %s", bit, err.msg);
		}
		raw[bit / 8] ^= (unsigned char)(0x80 >> (bit % 8));
	}
	cr_assert_eq(verify(tok, T0, &t, &err), FK_OK, "the original no longer verifies");
}

Test(token, every_truncation_and_extension_fails)
{
	char tok[HC_TOKEN_MAX], cut[HC_TOKEN_MAX + 8];
	struct hc_token t;
	struct fk_err err;
	issue(7, COLOUR_RED, T0, 60, tok, &t);
	size_t n = strlen(tok);
	for (size_t len = 0; len < n; len++) {
		memcpy(cut, tok, len);
		cut[len] = '\0';
		cr_assert_eq(verify(cut, T0, &t, &err), FK_EINVAL, "%zu characters: %s", len,
			     err.msg);
	}
	snprintf(cut, sizeof(cut), "%sA", tok);
	cr_assert_eq(verify(cut, T0, &t, &err), FK_EINVAL, "one more character");
	snprintf(cut, sizeof(cut), "%s\n", tok);
	cr_assert_eq(verify(cut, T0, &t, &err), FK_EINVAL, "a trailing newline");
	snprintf(cut, sizeof(cut), " %s", tok);
	cr_assert_eq(verify(cut, T0, &t, &err), FK_EINVAL, "a leading space");
}

Test(token, base32_junk_is_malformed)
{
	char tok[HC_TOKEN_MAX], bad[HC_TOKEN_MAX];
	struct hc_token t;
	struct fk_err err;
	issue(7, COLOUR_GREEN, T0, 60, tok, &t);
	static const char junk[] = {'a', 'z', '0', '1', '8', '9', '=', ' ', '-', ':', '\x80'};
	for (size_t j = 0; j < sizeof(junk); j++)
		for (size_t pos = 6; pos < strlen(tok); pos += 17) {
			fk_strlcpy(bad, tok, sizeof(bad));
			bad[pos] = junk[j];
			cr_assert_eq(verify(bad, T0, &t, &err), FK_EINVAL, "'%c' at %zu: %s",
				     junk[j], pos, err.msg);
		}
	/* lower case of the whole token, and a wrong prefix */
	fk_strlcpy(bad, tok, sizeof(bad));
	for (char *p = bad + 6; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	cr_assert_eq(verify(bad, T0, &t, &err), FK_EINVAL);
	fk_strlcpy(bad, tok, sizeof(bad));
	bad[4] = 'V';
	cr_assert_eq(verify(bad, T0, &t, &err), FK_EINVAL);
	/* the last character carries 2 bits: its 3 spare bits must be zero */
	static const char *const b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	size_t last = strlen(tok) - 1;
	int v = (int)(strchr(b32, tok[last]) - b32);
	cr_assert_eq(v & 7, 0);
	for (int spare = 1; spare < 8; spare++) {
		fk_strlcpy(bad, tok, sizeof(bad));
		bad[last] = b32[v | spare];
		cr_assert_eq(verify(bad, T0, &t, &err), FK_EINVAL, "spare bits %d accepted", spare);
	}
	cr_assert_eq(verify("", T0, &t, &err), FK_EINVAL);
	cr_assert_eq(verify("FK1:C:", T0, &t, &err), FK_EINVAL);
}

Test(token, expired_at_exactly_expires)
{
	char tok[HC_TOKEN_MAX];
	struct hc_token t;
	struct fk_err err;
	issue(9, COLOUR_YELLOW, T0, 10, tok, &t);
	cr_assert_eq(verify(tok, T0, &t, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(verify(tok, T0 + 600 - 1, &t, &err), FK_OK, "%s", err.msg);
	memset(&t, 0, sizeof(t));
	cr_assert_eq(verify(tok, T0 + 600, &t, &err), FK_EFORBIDDEN);
	cr_assert(strstr(err.msg, "expired"), "%s", err.msg);
	cr_assert_eq(t.colour, COLOUR_YELLOW, "an expired token's contents are filled");
	cr_assert_eq(t.expires, T0 + 600);
	cr_assert_eq(verify(tok, T0 + 86400, &t, &err), FK_EFORBIDDEN);
	/* lifetimes out of range are refused */
	char out[HC_TOKEN_MAX];
	cr_assert_eq(hc_token_issue(db, 9, COLOUR_GREEN, T0, 0, out, &t, &err), FK_EINVAL);
	cr_assert_eq(hc_token_issue(db, 9, COLOUR_GREEN, T0, -5, out, &t, &err), FK_EINVAL);
	cr_assert_eq(hc_token_issue(db, 9, COLOUR_GREEN, (int64_t)UINT32_MAX, 1, out, &t, &err),
		     FK_EINVAL);
}

/* A token with the given kid signed by a key the database does not hold. */
static void foreign_token(unsigned kid, int version, char *out)
{
	unsigned char pk[32], sk[64], raw[RAW] = {0};
	crypto_sign_keypair(pk, sk);
	raw[0] = (unsigned char)version;
	raw[1] = (unsigned char)(kid >> 8);
	raw[2] = (unsigned char)kid;
	raw[11] = COLOUR_GREEN;
	raw[12] = (unsigned char)(T0 >> 24), raw[13] = (unsigned char)(T0 >> 16);
	raw[14] = (unsigned char)(T0 >> 8), raw[15] = (unsigned char)T0;
	raw[16] = 0xFF, raw[17] = 0xFF, raw[18] = 0xFF, raw[19] = 0x00;
	crypto_sign_detached(raw + 20, NULL, raw, 20, sk);
	enc(raw, out);
}

Test(token, unknown_and_foreign_keys_fail)
{
	char tok[HC_TOKEN_MAX], f[HC_TOKEN_MAX];
	struct hc_token t;
	struct fk_err err;
	issue(5, COLOUR_GREEN, T0, 60, tok, &t); /* makes kid 1 */
	foreign_token(99, 1, f);
	cr_assert_eq(verify(f, T0, &t, &err), FK_EFORBIDDEN);
	cr_assert(strstr(err.msg, "unknown key id 99"), "%s", err.msg);
	foreign_token(1, 1, f); /* kid 1 exists, but another key signed */
	cr_assert_eq(verify(f, T0, &t, &err), FK_EFORBIDDEN);
	cr_assert(strstr(err.msg, "signature"), "%s", err.msg);
	foreign_token(1, 2, f);
	cr_assert_eq(verify(f, T0, &t, &err), FK_EINVAL, "version 2 must be malformed");
	cr_assert(strstr(err.msg, "version"), "%s", err.msg);
}

Test(token, rotation_retires_and_revocation_fails_at_once)
{
	char old[HC_TOKEN_MAX], fresh[HC_TOKEN_MAX], after[HC_TOKEN_MAX];
	struct hc_token t;
	struct fk_err err = {FK_OK, ""};
	unsigned kid = 0;
	issue(5, COLOUR_GREEN, T0, 60, old, &t);
	cr_assert_eq(t.kid, 1);
	cr_assert_eq(tk_key_add(db, T0 + 1, true, "test", &kid, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(kid, 2);
	cr_assert_eq(store_query_int(db, "SELECT retired_at FROM code_keys WHERE kid=1", -1),
		     T0 + 1);
	issue(5, COLOUR_GREEN, T0 + 2, 60, fresh, &t);
	cr_assert_eq(t.kid, 2, "the new key signs");
	cr_assert_eq(verify(old, T0 + 3, &t, &err), FK_OK, "a retired key's token: %s", err.msg);
	cr_assert_eq(verify(fresh, T0 + 3, &t, &err), FK_OK, "%s", err.msg);
	/* revoke the retired key: its tokens fail, contents still shown */
	cr_assert_eq(tk_key_revoke(db, 1, T0 + 4, "test", &err), FK_OK, "%s", err.msg);
	memset(&t, 0, sizeof(t));
	cr_assert_eq(verify(old, T0 + 5, &t, &err), FK_EFORBIDDEN);
	cr_assert(strstr(err.msg, "revoked"), "%s", err.msg);
	cr_assert_eq(t.kid, 1);
	cr_assert_eq(verify(fresh, T0 + 5, &t, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(tk_key_revoke(db, 1, T0 + 6, "test", &err), FK_ECONFLICT);
	cr_assert_eq(tk_key_revoke(db, 77, T0 + 6, "test", &err), FK_ENOTFOUND);
	cr_assert_eq(store_query_int(db, "SELECT count(*) FROM audit_log WHERE action='keys.revoke'",
				     -1),
		     1, "the revocation is audited once");
	/* revoke the signing key: the next token is signed by a new key 3 */
	cr_assert_eq(tk_key_revoke(db, 2, T0 + 7, "test", &err), FK_OK, "%s", err.msg);
	cr_assert_eq(verify(fresh, T0 + 8, &t, &err), FK_EFORBIDDEN);
	issue(5, COLOUR_RED, T0 + 9, 60, after, &t);
	cr_assert_eq(t.kid, 3);
	cr_assert_eq(verify(after, T0 + 10, &t, &err), FK_OK, "%s", err.msg);
	/* a forged token under the revoked key says forged, not revoked */
	unsigned char raw[RAW];
	dec(old, raw);
	raw[11] = COLOUR_GREEN == raw[11] ? COLOUR_RED : COLOUR_GREEN;
	enc(raw, after);
	cr_assert_eq(verify(after, T0 + 10, &t, &err), FK_EFORBIDDEN);
	cr_assert(strstr(err.msg, "signature"), "%s", err.msg);
	/* revocation through a raw UPDATE is honoured too (the table decides) */
	raw_exec("UPDATE code_keys SET revoked_at = 1 WHERE kid = 3");
	issue(5, COLOUR_RED, T0 + 11, 60, after, &t);
	cr_assert_eq(t.kid, 4);
}

Test(token, read_only_database_verifies_but_cannot_make_keys)
{
	struct fk_err err = {FK_OK, ""};
	char tok[HC_TOKEN_MAX];
	struct hc_token t;
	sqlite3 *ro = NULL;
	cr_assert_eq(store_open(path, STORE_READONLY, &ro, &err), FK_OK, "%s", err.msg);
	cr_assert_neq(hc_token_issue(ro, 1, COLOUR_GREEN, T0, 5, tok, &t, &err), FK_OK,
		      "a read-only database made a key");
	issue(1, COLOUR_GREEN, T0, 5, tok, &t);
	cr_assert_eq(hc_token_verify(ro, tok, T0, &t, &err), FK_OK, "%s", err.msg);
	store_close(ro);
}

/* ---- QR codes ---- */

Test(token, qr_png_decodes_back_to_the_token)
{
	char tok[HC_TOKEN_MAX], png[200], cmd[300], got[512];
	struct hc_token t;
	struct fk_err err;
	struct strbuf sb = STRBUF_INIT;
	issue(31337, COLOUR_RED, T0, 60, tok, &t);
	cr_assert_eq(hc_qr_png(tok, 4, &sb, &err), FK_OK, "%s", err.msg);
	cr_assert_gt(sb.len, 8);
	cr_assert_arr_eq(sb.buf, "\x89PNG\r\n\x1a\n", 8);
	snprintf(png, sizeof(png), "%s/qr.png", dir);
	FILE *fp = fopen(png, "wb");
	cr_assert_not_null(fp);
	cr_assert_eq(fwrite(sb.buf, 1, sb.len, fp), sb.len);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), "zbarimg --raw -q '%s' 2>/dev/null", png);
	FILE *pp = popen(cmd, "r");
	cr_assert_not_null(pp);
	size_t n = fread(got, 1, sizeof(got) - 1, pp);
	got[n] = '\0';
	int rc = pclose(pp);
	cr_assert_eq(rc, 0, "zbarimg failed (%d): %s", rc, got);
	while (n && (got[n - 1] == '\n' || got[n - 1] == '\r'))
		got[--n] = '\0';
	cr_assert_str_eq(got, tok);
	/* bounds */
	cr_assert_eq(hc_qr_png(tok, 0, &sb, &err), FK_EINVAL);
	cr_assert_eq(hc_qr_png(tok, 33, &sb, &err), FK_EINVAL);
	cr_assert_eq(hc_qr_png("", 4, &sb, &err), FK_EINVAL);
	strbuf_release(&sb);
}

Test(token, qr_svg_has_the_modules_of_the_png)
{
	char tok[HC_TOKEN_MAX];
	struct hc_token t;
	struct fk_err err;
	struct strbuf svg = STRBUF_INIT;
	issue(1, COLOUR_GREEN, T0, 60, tok, &t);
	cr_assert_eq(hc_qr_svg(tok, &svg, &err), FK_OK, "%s", err.msg);
	cr_assert(fk_starts_with(svg.buf, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	cr_assert(strstr(svg.buf, "</svg>"));
	/* side = modules + 8 quiet; a token needs version 6 or 7 at level M
	 * (41 or 45 modules): 49 or 53 with the quiet zone */
	int side = 0;
	cr_assert_eq(sscanf(svg.buf, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d",
			    &side),
		     1);
	cr_assert(side == 49 || side == 53, "side %d", side);
	/* the dark area: sum of runs = dark modules; the quiet zone is empty */
	long dark = 0;
	for (const char *p = strstr(svg.buf, "d=\""); (p = strchr(p, 'M'));) {
		int x, y, run;
		cr_assert_eq(sscanf(p, "M%d %dh%d", &x, &y, &run), 3);
		cr_assert(x >= 4 && y >= 4 && x + run <= side - 4 && y < side - 4);
		dark += run;
		p++;
	}
	cr_assert_gt(dark, (side - 8) * (side - 8) / 4, "too few dark modules: %ld", dark);
	cr_assert_lt(dark, (side - 8) * (side - 8) * 3 / 4, "too many dark modules: %ld", dark);
	strbuf_release(&svg);
}
