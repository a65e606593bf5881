/* token.c — signed health-code tokens: issue, verify, GET /api/v1/keys,
 * POST /api/v1/verify and `fangkong verify`.
 *
 * Design note.
 * - Token = "FK1:C:" + base32(payload || signature): payload 20 bytes
 *   big-endian (version 1, kid 2, pseudonym 8, colour 1, issued 4,
 *   expires 4), signature Ed25519 (crypto_sign_detached) over the 20
 *   payload bytes.  84 bytes are exactly TK_B32_CHARS (135) characters of
 *   RFC 4648 base32 without padding; the last character carries 2 bits
 *   and its 3 spare bits must be zero, so every token has one spelling
 *   (no two strings verify as the same token).  Upper-case letters,
 *   digits 2-7 and ':' only: a QR code holds it in alphanumeric mode.
 * - Grammar, nothing else accepted: the prefix, then exactly 135 base32
 *   characters.  Anything else (shorter = truncated, longer, lower case,
 *   spaces, padding) is malformed: FK_EINVAL.  The version byte must be 1.
 *   Input is never read past HC_TOKEN_MAX + 1 bytes and never echoed.
 * - Checks in order: format, key id known, signature, key not revoked,
 *   colour in range, not expired (valid while now < expires: at exactly
 *   expires it has expired).  A revoked key's token whose signature holds
 *   reports "revoked_key" (with its contents); a forged one reports
 *   "bad_signature" whatever its key.  *tok is filled whenever the
 *   signature held.
 * - Reasons are stable machine words shared with the web verifier:
 *   valid, malformed, unknown_key, bad_signature, revoked_key, expired.
 * - Keys: outside the server the database is read on each call; inside it
 *   (store_server_init done) the cached snapshot of keys.c signs and
 *   verifies, whatever db the caller passes.
 */
#include "healthcode/token_int.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/http.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define TK_PREFIX_LEN (sizeof(HC_TOKEN_PREFIX) - 1)
#define TK_VERSION 1
#define TK_RAW (HC_TOKEN_PAYLOAD + crypto_sign_BYTES) /* 84 */
#define TK_B32_CHARS ((TK_RAW * 8 + 4) / 5)           /* 135 */
#define TK_VERIFY_BODY_MAX 1024

_Static_assert(TK_PREFIX_LEN + TK_B32_CHARS < HC_TOKEN_MAX, "a token fits HC_TOKEN_MAX");

enum tk_reason {
	TK_VALID = 0,
	TK_MALFORMED,
	TK_UNKNOWN_KEY,
	TK_BAD_SIGNATURE,
	TK_REVOKED_KEY,
	TK_EXPIRED,
};
static const char *const tk_reason_names[] = {
	"valid", "malformed", "unknown_key", "bad_signature", "revoked_key", "expired",
};
static const char *const tk_reason_zh[] = {
	"有效", "格式错误", "未知密钥", "伪造(签名不符)", "密钥已吊销", "已过期",
};

/* ---------------------------------------------------------------- base32 */

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static int b32_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/* TK_RAW bytes -> TK_B32_CHARS characters (no NUL). */
static void b32_encode(const unsigned char *in, char *out)
{
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < TK_RAW; i++) {
		acc = (acc << 8 | in[i]) & 0xFFFFu;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32_alphabet[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[o++] = b32_alphabet[(acc << (5 - bits)) & 31];
}

/* TK_B32_CHARS characters -> TK_RAW bytes; false on a character outside
 * the alphabet or non-zero spare bits. */
static bool b32_decode(const char *in, unsigned char *out)
{
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < TK_B32_CHARS; i++) {
		int v = b32_value(in[i]);
		if (v < 0)
			return false;
		acc = (acc << 5 | (unsigned)v) & 0xFFFFu;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o < TK_RAW)
				out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o == TK_RAW && (acc & ((1u << bits) - 1)) == 0;
}

/* ---------------------------------------------------------------- payload */

static void put_be(unsigned char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void payload_parse(const unsigned char *raw, struct hc_token *tok)
{
	tok->kid = (unsigned)get_be(raw + 1, 2);
	memcpy(tok->pseudonym, raw + 3, 8);
	tok->colour = (enum colour)raw[11];
	tok->issued = (int64_t)get_be(raw + 12, 4);
	tok->expires = (int64_t)get_be(raw + 16, 4);
}

static enum fk_status tk_sign(const struct tk_key *k, const unsigned char pseudo[8],
			      enum colour colour, int64_t now, int minutes, char *out,
			      struct hc_token *tok, struct fk_err *err)
{
	unsigned char raw[TK_RAW];
	int64_t expires = now + (int64_t)minutes * 60;
	if (minutes < 1 || minutes > TK_MAX_MINUTES)
		return fk_fail(err, FK_EINVAL, "token lifetime %d minutes is not 1..%d", minutes,
			       TK_MAX_MINUTES);
	if (now < 0 || expires > (int64_t)UINT32_MAX)
		return fk_fail(err, FK_EINVAL, "time %lld cannot be written in a token",
			       (long long)now);
	if ((unsigned)colour > COLOUR_RED)
		return fk_fail(err, FK_EINVAL, "no colour %d", (int)colour);
	raw[0] = TK_VERSION;
	put_be(raw + 1, k->kid, 2);
	memcpy(raw + 3, pseudo, 8);
	raw[11] = (unsigned char)colour;
	put_be(raw + 12, (uint64_t)now, 4);
	put_be(raw + 16, (uint64_t)expires, 4);
	crypto_sign_detached(raw + HC_TOKEN_PAYLOAD, NULL, raw, HC_TOKEN_PAYLOAD, k->sk);
	memcpy(out, HC_TOKEN_PREFIX, TK_PREFIX_LEN);
	b32_encode(raw, out + TK_PREFIX_LEN);
	out[TK_PREFIX_LEN + TK_B32_CHARS] = '\0';
	if (tok)
		payload_parse(raw, tok);
	return FK_OK;
}

/* Verifies token against ks at now.  *sig_ok tells whether *tok was
 * filled from a payload whose signature held. */
static enum tk_reason tk_check(const struct tk_keyset *ks, const char *token, int64_t now,
			       struct hc_token *tok, bool *sig_ok, struct fk_err *err)
{
	unsigned char raw[TK_RAW];
	char t1[32];
	*sig_ok = false;
	size_t n = strnlen(token, HC_TOKEN_MAX + 1);
	if (n < TK_PREFIX_LEN || memcmp(token, HC_TOKEN_PREFIX, TK_PREFIX_LEN)) {
		fk_fail(err, FK_EINVAL, "not a code token: it does not start with %s",
			HC_TOKEN_PREFIX);
		return TK_MALFORMED;
	}
	if (n > TK_PREFIX_LEN + TK_B32_CHARS) {
		fk_fail(err, FK_EINVAL, "not a code token: more than %d characters after %s",
			(int)TK_B32_CHARS, HC_TOKEN_PREFIX);
		return TK_MALFORMED;
	}
	if (n < TK_PREFIX_LEN + TK_B32_CHARS) {
		fk_fail(err, FK_EINVAL, "not a code token: %zu characters after %s, not %d (truncated)",
			n - TK_PREFIX_LEN, HC_TOKEN_PREFIX, (int)TK_B32_CHARS);
		return TK_MALFORMED;
	}
	if (!b32_decode(token + TK_PREFIX_LEN, raw)) {
		fk_fail(err, FK_EINVAL, "not a code token: bad base32");
		return TK_MALFORMED;
	}
	if (raw[0] != TK_VERSION) {
		fk_fail(err, FK_EINVAL, "not a code token: version %u, not %d", raw[0], TK_VERSION);
		return TK_MALFORMED;
	}
	struct hc_token t;
	payload_parse(raw, &t);
	const struct tk_key *k = tk_keys_find(ks, t.kid);
	if (!k) {
		fk_fail(err, FK_EFORBIDDEN, "unknown key id %u", t.kid);
		return TK_UNKNOWN_KEY;
	}
	if (crypto_sign_verify_detached(raw + HC_TOKEN_PAYLOAD, raw, HC_TOKEN_PAYLOAD, k->pk)) {
		fk_fail(err, FK_EFORBIDDEN, "bad signature: forged or altered");
		return TK_BAD_SIGNATURE;
	}
	if ((unsigned)t.colour > COLOUR_RED) { /* signed by us: cannot happen */
		fk_fail(err, FK_EINVAL, "not a code token: colour %d", (int)t.colour);
		return TK_MALFORMED;
	}
	*sig_ok = true;
	if (tok)
		*tok = t;
	if (k->revoked) {
		fk_fail(err, FK_EFORBIDDEN, "key %u was revoked", k->kid);
		return TK_REVOKED_KEY;
	}
	if (now >= t.expires) {
		fk_fail(err, FK_EFORBIDDEN, "expired at %s", fk_format_time(t.expires, t1, sizeof(t1)));
		return TK_EXPIRED;
	}
	return TK_VALID;
}

/* ---------------------------------------------------------------- public API */

enum fk_status hc_token_issue(sqlite3 *db, int64_t person_id, enum colour colour, int64_t now,
			      int minutes, char out[HC_TOKEN_MAX], struct hc_token *tok,
			      struct fk_err *err)
{
	unsigned char pkey[TK_PSEUDO_KEY_BYTES], pseudo[8];
	struct tk_keyset *ks = NULL;
	enum fk_status st;
	out[0] = '\0';
	if (sodium_init() < 0)
		return fk_fail(err, FK_EIO, "cannot initialise libsodium");
	if (tk_in_server()) {
		st = tk_server_pseudo_key(pkey, err);
		if (st)
			goto done;
		ks = tk_server_keys(err);
		if (!ks) {
			st = FK_EDB;
			goto done;
		}
	} else {
		st = tk_pseudo_key(db, true, pkey, err);
		if (st)
			goto done;
		st = tk_keys_load(db, true, &ks, err);
		if (!st && ks->signer < 0) {
			unsigned kid;
			tk_keys_free(ks);
			ks = NULL;
			st = tk_key_add(db, now, false, "cli", &kid, err);
			if (!st)
				st = tk_keys_load(db, true, &ks, err);
			if (!st && ks->signer < 0)
				st = fk_fail(err, FK_EDB, "no usable code key after making one");
		}
		if (st)
			goto done;
	}
	if (ks->signer < 0) {
		st = fk_fail(err, FK_EDB, "no usable code-signing key");
		goto done;
	}
	tk_pseudonym(pkey, person_id, pseudo);
	st = tk_sign(&ks->keys[ks->signer], pseudo, colour, now, minutes, out, tok, err);
done:
	if (tk_in_server())
		tk_keys_put(ks);
	else
		tk_keys_free(ks);
	sodium_memzero(pkey, sizeof(pkey));
	return st;
}

/* The keys to verify against: the server's snapshot, or db's.  *shared
 * says which release applies. */
static struct tk_keyset *verify_keys(sqlite3 *db, bool *shared, struct fk_err *err)
{
	struct tk_keyset *ks = NULL;
	*shared = tk_in_server();
	if (*shared)
		return tk_server_keys(err);
	if (!db) {
		fk_fail(err, FK_EINVAL, "no database to read the keys from");
		return NULL;
	}
	return tk_keys_load(db, false, &ks, err) ? NULL : ks;
}

static void keys_release(struct tk_keyset *ks, bool shared)
{
	if (shared)
		tk_keys_put(ks);
	else
		tk_keys_free(ks);
}

enum fk_status hc_token_verify(sqlite3 *db, const char *token, int64_t now, struct hc_token *tok,
			       struct fk_err *err)
{
	bool shared, sig_ok;
	if (sodium_init() < 0)
		return fk_fail(err, FK_EIO, "cannot initialise libsodium");
	struct tk_keyset *ks = verify_keys(db, &shared, err);
	if (!ks)
		return err ? err->status : FK_EDB;
	struct fk_err lerr = {FK_OK, ""};
	enum tk_reason r = tk_check(ks, token, now, tok, &sig_ok, &lerr);
	keys_release(ks, shared);
	if (r == TK_VALID)
		return FK_OK;
	if (err)
		*err = lerr;
	return lerr.status;
}

enum fk_status hc_pseudonym(sqlite3 *db, int64_t person_id, char out[17], struct fk_err *err)
{
	unsigned char key[TK_PSEUDO_KEY_BYTES], p[8];
	out[0] = '\0';
	if (sodium_init() < 0)
		return fk_fail(err, FK_EIO, "cannot initialise libsodium");
	enum fk_status st =
		tk_in_server() ? tk_server_pseudo_key(key, err) : tk_pseudo_key(db, true, key, err);
	if (!st) {
		tk_pseudonym(key, person_id, p);
		sodium_bin2hex(out, 17, p, sizeof(p));
	}
	sodium_memzero(key, sizeof(key));
	return st;
}

/* ---------------------------------------------------------------- JSON */

static void add_time(struct strbuf *o, const char *key, bool set, int64_t t)
{
	char b[32];
	strbuf_addf(o, ",\"%s\":", key);
	if (set)
		strbuf_add_json_str(o, fk_format_time(t, b, sizeof(b)));
	else
		strbuf_addstr(o, "null");
}

/* {"valid", "reason", "reason_zh", "message", and when the signature
 * held: "colour", "colour_zh", "issued", "expires", "kid", "pseudonym"} */
static void result_json(struct strbuf *o, enum tk_reason r, const char *msg, bool sig_ok,
			const struct hc_token *t)
{
	strbuf_addf(o, "{\"valid\":%s,\"reason\":\"%s\",\"reason_zh\":",
		    r == TK_VALID ? "true" : "false", tk_reason_names[r]);
	strbuf_add_json_str(o, tk_reason_zh[r]);
	strbuf_addstr(o, ",\"message\":");
	strbuf_add_json_str(o, r == TK_VALID ? "" : msg);
	if (sig_ok) {
		char hex[17];
		sodium_bin2hex(hex, sizeof(hex), t->pseudonym, sizeof(t->pseudonym));
		strbuf_addf(o, ",\"colour\":\"%s\",\"colour_zh\":", colour_name(t->colour));
		strbuf_add_json_str(o, colour_label_zh(t->colour));
		add_time(o, "issued", true, t->issued);
		add_time(o, "expires", true, t->expires);
		strbuf_addf(o, ",\"kid\":%u,\"pseudonym\":\"%s\"", t->kid, hex);
	}
	strbuf_addch(o, '}');
}

void tk_keys_json(struct strbuf *o, const struct tk_keyset *ks)
{
	strbuf_addstr(o, "{\"keys\":[");
	for (size_t i = 0; i < ks->n; i++) {
		const struct tk_key *k = &ks->keys[i];
		char b64[sodium_base64_ENCODED_LEN(crypto_sign_PUBLICKEYBYTES,
						   sodium_base64_VARIANT_ORIGINAL)];
		sodium_bin2base64(b64, sizeof(b64), k->pk, sizeof(k->pk),
				  sodium_base64_VARIANT_ORIGINAL);
		strbuf_addf(o, "%s{\"kid\":%u,\"alg\":\"Ed25519\",\"public_key\":\"%s\",\"status\":\"%s\"",
			    i ? "," : "", k->kid, b64, tk_key_status(k));
		add_time(o, "created_at", true, k->created_at);
		add_time(o, "retired_at", k->retired, k->retired_at);
		add_time(o, "revoked_at", k->revoked, k->revoked_at);
		strbuf_addch(o, '}');
	}
	strbuf_addf(o, "],\"token_prefix\":\"%s\",\"max_age\":%d}", HC_TOKEN_PREFIX,
		    (int)TK_RELOAD_SECONDS);
}

/* ---------------------------------------------------------------- routes */

static void keys_get(struct http_req *req)
{
	struct fk_err err = {FK_OK, ""};
	struct tk_keyset *ks = tk_server_keys(&err);
	if (!ks) {
		http_error(req, 503, NULL, "code keys unavailable: %s", err.msg);
		return;
	}
	strbuf_reset(&req->out);
	tk_keys_json(&req->out, ks);
	tk_keys_put(ks);
	req->status = 200;
	req->content_type = "application/json; charset=utf-8";
	/* public and the same for everyone: verifiers may keep it a while
	 * (a revocation reaches them within that time) */
	req->cache_control = "public, max-age=5";
}

static void verify_post(struct http_req *req)
{
	const char *token;
	json_t *o = http_body_object(req);
	if (!o)
		return;
	if (!http_member_str(req, o, "token", &token))
		goto done;
	if (!token) {
		http_error(req, 400, NULL, "'token' is required");
		goto done;
	}
	struct fk_err err = {FK_OK, ""};
	struct tk_keyset *ks = tk_server_keys(&err);
	if (!ks) {
		http_error(req, 503, NULL, "code keys unavailable: %s", err.msg);
		goto done;
	}
	struct hc_token t;
	bool sig_ok;
	enum tk_reason r = tk_check(ks, token, fk_now(), &t, &sig_ok, &err);
	tk_keys_put(ks);
	strbuf_reset(&req->out);
	result_json(&req->out, r, err.msg, sig_ok, &t);
	req->status = 200;
	req->content_type = "application/json; charset=utf-8";
done:
	json_decref(o);
}

const struct http_route token_routes[] = {
	{"GET", "/api/v1/keys", keys_get, ROUTE_PUBLIC, 0, 0},
	{"POST", "/api/v1/verify", verify_post, ROUTE_PUBLIC | ROUTE_JSON_BODY, 0,
	 TK_VERIFY_BODY_MAX},
};
const size_t token_routes_len = sizeof(token_routes) / sizeof(token_routes[0]);

/* ---------------------------------------------------------------- fangkong verify */

static void verify_usage(FILE *fp)
{
	fputs("usage: fangkong verify TOKEN [--db FILE | --keys FILE] [--at T] [--json]\n"
	      "Verifies a signed health-code token (FK1:C:...) with the public keys only:\n"
	      "those of the database, or with --keys FILE those saved from GET /api/v1/keys\n"
	      "(no database needed).  Prints the colour, issued, expires, key id and\n"
	      "pseudonym, then VALID or INVALID and the reason; --at T (ISO 8601 with an\n"
	      "offset) checks expiry at T instead of now.\n"
	      "Reasons: malformed, unknown_key, bad_signature, revoked_key, expired.\n"
	      "Exit: 0 valid, 1 invalid, 2 bad usage.\n",
	      fp);
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'}, {"keys", required_argument, NULL, 'k'},
		{"at", required_argument, NULL, 'a'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},     {NULL, 0, NULL, 0},
	};
	const char *dbflag = NULL, *keysfile = NULL, *at_s = NULL;
	bool json = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dbflag = optarg; break;
		case 'k': keysfile = optarg; break;
		case 'a': at_s = optarg; break;
		case 'j': json = true; break;
		case 'h': verify_usage(stdout); return 0;
		case ':':
			fprintf(stderr, "fangkong verify: option '%s' needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "fangkong verify: unknown option '%s'\n", argv[optind - 1]);
			verify_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs("fangkong verify: TOKEN is required\n", stderr);
		verify_usage(stderr);
		return 2;
	}
	const char *token = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "fangkong verify: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (dbflag && keysfile) {
		fputs("fangkong verify: --db and --keys exclude each other\n", stderr);
		return 2;
	}
	int64_t now = fk_now();
	if (at_s && !fk_parse_time(at_s, &now)) {
		fprintf(stderr, "fangkong verify: --at '%s' is not ISO 8601 with an offset\n", at_s);
		return 2;
	}
	if (sodium_init() < 0) {
		fputs("fangkong verify: cannot initialise libsodium\n", stderr);
		return 1;
	}
	struct fk_err err = {FK_OK, ""};
	struct tk_keyset *ks = NULL;
	if (keysfile) {
		if (tk_keys_from_json(keysfile, &ks, &err)) {
			fprintf(stderr, "fangkong verify: %s\n", err.msg);
			return 2;
		}
	} else {
		const char *path = store_default_path(dbflag);
		sqlite3 *db = NULL;
		if (access(path, F_OK) != 0) {
			fprintf(stderr, "fangkong verify: database '%s' does not exist"
					" (or give --keys FILE)\n",
				path);
			return 2;
		}
		if (store_open(path, STORE_READONLY, &db, &err) ||
		    tk_keys_load(db, false, &ks, &err)) {
			fprintf(stderr, "fangkong verify: %s\n", err.msg);
			store_close(db);
			return 2;
		}
		store_close(db);
	}
	struct hc_token t;
	bool sig_ok;
	enum tk_reason r = tk_check(ks, token, now, &t, &sig_ok, &err);
	tk_keys_free(ks);
	if (json) {
		struct strbuf o = STRBUF_INIT;
		result_json(&o, r, err.msg, sig_ok, &t);
		puts(o.buf);
		strbuf_release(&o);
	} else {
		if (sig_ok) {
			char t1[32], t2[32], hex[17];
			sodium_bin2hex(hex, sizeof(hex), t.pseudonym, sizeof(t.pseudonym));
			printf("colour:    %s (%s)\nissued:    %s\nexpires:   %s\nkid:       %u\n"
			       "pseudonym: %s\n",
			       colour_name(t.colour), colour_label_zh(t.colour),
			       fk_format_time(t.issued, t1, sizeof(t1)),
			       fk_format_time(t.expires, t2, sizeof(t2)), t.kid, hex);
		}
		if (r == TK_VALID)
			puts("VALID");
		else
			printf("INVALID %s: %s\n", tk_reason_names[r], err.msg);
	}
	return r == TK_VALID ? 0 : 1;
}
