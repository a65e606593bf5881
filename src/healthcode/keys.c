/* keys.c — the Ed25519 code-signing keys (table code_keys), the pseudonym
 * key, the server's key cache, and `fangkong keys`.
 *
 * Design note.
 * - Key ids are 1..65535, handed out as the highest kid + 1 inside a
 *   BEGIN IMMEDIATE transaction, so two processes never make the same one.
 *   The signing key is the newest key (highest kid) that is neither
 *   retired nor revoked.  Rotation retires every other usable key: a
 *   retired key signs no more but its tokens still verify until they
 *   expire.  A revoked key's tokens fail at once.  Keys are never deleted:
 *   a token's kid must keep naming the same key.
 * - A signing key is made on first use when none is usable (a fresh
 *   database, or after the signing key was revoked); doing it in the
 *   transaction that re-checks for a usable key makes racing processes
 *   agree on one key.
 * - The server's cache.  A snapshot (struct tk_keyset) is immutable and
 *   reference-counted: many MHD threads sign and verify with the snapshot
 *   they took under srv_mu, without holding it.  At most every
 *   TK_RELOAD_SECONDS one thread (srv_loading) re-reads code_keys on its
 *   own reader and swaps the new snapshot in; the others keep using the
 *   old one meanwhile, so a rotation or revocation made by the CLI reaches
 *   a running server within 5 s and no request waits for the reload.  The
 *   old snapshot is freed by the last thread that drops it.
 * - The pseudonym key (meta 'pseudonym_key', 64 hex digits) never changes
 *   once made: pseudonyms stay stable across key rotations.  The pseudonym
 *   is BLAKE2b (crypto_generichash, 16-byte output: libsodium's minimum)
 *   keyed with it, over the person id as 8 bytes big-endian, cut to its
 *   first 8 bytes.
 */
#include "healthcode/token_int.h"

#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access/access.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define PSEUDO_META "pseudonym_key"
#define CLI_ORIGIN "cli"
#define KEYS_JSON_MAX (1024 * 1024) /* bytes of a --keys file */

/* ---------------------------------------------------------------- key sets */

void tk_keys_free(struct tk_keyset *ks)
{
	if (!ks)
		return;
	if (ks->keys) {
		sodium_memzero(ks->keys, ks->n * sizeof(*ks->keys));
		free(ks->keys);
	}
	free(ks);
}

const struct tk_key *tk_keys_find(const struct tk_keyset *ks, unsigned kid)
{
	size_t lo = 0, hi = ks ? ks->n : 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ks->keys[mid].kid == kid)
			return &ks->keys[mid];
		if (ks->keys[mid].kid < kid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *tk_key_status(const struct tk_key *k)
{
	return k->revoked ? "revoked" : k->retired ? "retired" : "active";
}

static void keyset_pick_signer(struct tk_keyset *ks)
{
	ks->signer = -1;
	for (size_t i = ks->n; i-- > 0;)
		if (ks->keys[i].has_sk && !ks->keys[i].retired && !ks->keys[i].revoked) {
			ks->signer = (long)i;
			return;
		}
}

static int key_cmp(const void *a, const void *b)
{
	unsigned x = ((const struct tk_key *)a)->kid, y = ((const struct tk_key *)b)->kid;
	return x < y ? -1 : x > y;
}

enum fk_status tk_keys_load(sqlite3 *db, bool with_secrets, struct tk_keyset **out,
			    struct fk_err *err)
{
	enum fk_status st = FK_OK;
	struct tk_keyset *ks = fk_xcalloc(1, sizeof(*ks));
	size_t cap = 0;
	*out = NULL;
	sqlite3_stmt *q = store_prepare(db,
					"SELECT kid, public_key, secret_key, created_at, retired_at,"
					" revoked_at FROM code_keys ORDER BY kid",
					err);
	if (!q) {
		st = FK_EDB;
		goto fail;
	}
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (ks->n == cap) {
			cap = cap ? cap * 2 : 8;
			ks->keys = fk_xrealloc(ks->keys, cap * sizeof(*ks->keys));
		}
		struct tk_key *k = &ks->keys[ks->n];
		memset(k, 0, sizeof(*k));
		int64_t kid = sqlite3_column_int64(q, 0);
		if (kid < 1 || kid > TK_KID_MAX ||
		    sqlite3_column_bytes(q, 1) != crypto_sign_PUBLICKEYBYTES ||
		    (with_secrets && sqlite3_column_bytes(q, 2) != crypto_sign_SECRETKEYBYTES)) {
			st = fk_fail(err, FK_EDB, "code key %lld is damaged (wrong key length)",
				     (long long)kid);
			goto fail;
		}
		k->kid = (unsigned)kid;
		memcpy(k->pk, sqlite3_column_blob(q, 1), crypto_sign_PUBLICKEYBYTES);
		if (with_secrets) {
			memcpy(k->sk, sqlite3_column_blob(q, 2), crypto_sign_SECRETKEYBYTES);
			k->has_sk = true;
		}
		k->created_at = sqlite3_column_int64(q, 3);
		k->retired = sqlite3_column_type(q, 4) != SQLITE_NULL;
		k->retired_at = sqlite3_column_int64(q, 4);
		k->revoked = sqlite3_column_type(q, 5) != SQLITE_NULL;
		k->revoked_at = sqlite3_column_int64(q, 5);
		ks->n++;
	}
	if (rc != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot read the code keys: %s", sqlite3_errmsg(db));
		goto fail;
	}
	sqlite3_finalize(q);
	keyset_pick_signer(ks);
	*out = ks;
	return FK_OK;
fail:
	sqlite3_finalize(q);
	tk_keys_free(ks);
	return st;
}

/* ---------------------------------------------------------------- --keys FILE */

static bool json_time(json_t *o, const char *key, bool *set, int64_t *t)
{
	json_t *v = json_object_get(o, key);
	*set = false;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v) || !fk_parse_time(json_string_value(v), t))
		return false;
	*set = true;
	return true;
}

enum fk_status tk_keys_from_json(const char *path, struct tk_keyset **out, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	json_error_t jerr;
	struct tk_keyset *ks = NULL;
	*out = NULL;
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return fk_fail(err, FK_EIO, "cannot open '%s'", path);
	char *buf = fk_xmalloc(KEYS_JSON_MAX + 1);
	size_t len = fread(buf, 1, KEYS_JSON_MAX + 1, fp);
	fclose(fp);
	json_t *root = NULL;
	if (len > KEYS_JSON_MAX) {
		st = fk_fail(err, FK_EINVAL, "'%s' is larger than %d bytes", path, KEYS_JSON_MAX);
		goto done;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *arr = root ? json_object_get(root, "keys") : NULL;
	if (!root || !json_is_array(arr)) {
		st = fk_fail(err, FK_EINVAL,
			     "'%s' is not the JSON of GET /api/v1/keys (no \"keys\" array)", path);
		goto done;
	}
	ks = fk_xcalloc(1, sizeof(*ks));
	size_t n = json_array_size(arr);
	ks->keys = fk_xcalloc(n ? n : 1, sizeof(*ks->keys));
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(arr, i);
		json_t *kid = json_object_get(o, "kid"), *pk = json_object_get(o, "public_key");
		json_t *alg = json_object_get(o, "alg"), *status = json_object_get(o, "status");
		struct tk_key *k = &ks->keys[ks->n];
		size_t got = 0;
		bool set;
		if (!json_is_integer(kid) || json_integer_value(kid) < 1 ||
		    json_integer_value(kid) > TK_KID_MAX || !json_is_string(pk) ||
		    !json_is_string(alg) || strcmp(json_string_value(alg), "Ed25519") ||
		    !json_is_string(status)) {
			st = fk_fail(err, FK_EINVAL, "'%s': key %zu lacks kid, alg Ed25519, public_key or status",
				     path, i + 1);
			goto done;
		}
		k->kid = (unsigned)json_integer_value(kid);
		if (sodium_base642bin(k->pk, sizeof(k->pk), json_string_value(pk),
				      json_string_length(pk), NULL, &got, NULL,
				      sodium_base64_VARIANT_ORIGINAL) ||
		    got != sizeof(k->pk)) {
			st = fk_fail(err, FK_EINVAL, "'%s': key %u: public_key is not 32 bytes of base64",
				     path, k->kid);
			goto done;
		}
		const char *s = json_string_value(status);
		k->revoked = !strcmp(s, "revoked");
		k->retired = !strcmp(s, "retired");
		if (!k->revoked && !k->retired && strcmp(s, "active")) {
			st = fk_fail(err, FK_EINVAL, "'%s': key %u: unknown status '%s'", path, k->kid,
				     s);
			goto done;
		}
		if (!json_time(o, "created_at", &set, &k->created_at) ||
		    !json_time(o, "retired_at", &set, &k->retired_at) ||
		    !json_time(o, "revoked_at", &set, &k->revoked_at)) {
			st = fk_fail(err, FK_EINVAL, "'%s': key %u: a time is not ISO 8601", path,
				     k->kid);
			goto done;
		}
		ks->n++;
	}
	qsort(ks->keys, ks->n, sizeof(*ks->keys), key_cmp);
	for (size_t i = 1; i < ks->n; i++)
		if (ks->keys[i].kid == ks->keys[i - 1].kid) {
			st = fk_fail(err, FK_EINVAL, "'%s': key %u is listed twice", path,
				     ks->keys[i].kid);
			goto done;
		}
	ks->signer = -1;
	*out = ks;
	ks = NULL;
done:
	tk_keys_free(ks);
	json_decref(root);
	free(buf);
	return st;
}

/* ---------------------------------------------------------------- writes */

/* Begins a transaction unless the caller holds one; *own says which. */
static enum fk_status tx_begin(sqlite3 *wdb, bool *own, struct fk_err *err)
{
	*own = sqlite3_get_autocommit(wdb) != 0;
	return *own ? store_begin(wdb, err) : FK_OK;
}

static enum fk_status tx_end(sqlite3 *wdb, bool own, enum fk_status st, struct fk_err *err)
{
	if (!own)
		return st;
	if (st) {
		store_rollback(wdb);
		return st;
	}
	return store_commit(wdb, err);
}

static enum fk_status step_done(sqlite3 *db, sqlite3_stmt *st, const char *what,
				struct fk_err *err)
{
	if (sqlite3_step(st) != SQLITE_DONE)
		return fk_fail(err, FK_EDB, "cannot %s: %s", what, sqlite3_errmsg(db));
	return FK_OK;
}

enum fk_status tk_key_add(sqlite3 *wdb, int64_t now, bool rotate, const char *actor,
			  unsigned *kid, struct fk_err *err)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	sqlite3_stmt *ins = NULL, *ret = NULL;
	bool own;
	char detail[64];
	enum fk_status st = tx_begin(wdb, &own, err);
	if (st)
		return st;
	if (!rotate) {
		int64_t usable = store_query_int(wdb,
						 "SELECT max(kid) FROM code_keys WHERE retired_at IS NULL"
						 " AND revoked_at IS NULL",
						 0);
		if (usable > 0) { /* another process made one meanwhile */
			*kid = (unsigned)usable;
			goto end;
		}
	}
	int64_t next = store_query_int(wdb, "SELECT coalesce(max(kid), 0) + 1 FROM code_keys", -1);
	if (next < 1 || next > TK_KID_MAX) {
		st = fk_fail(err, FK_ECONFLICT, "every key id up to %u is used", TK_KID_MAX);
		goto end;
	}
	if (sodium_init() < 0) {
		st = fk_fail(err, FK_EIO, "cannot initialise libsodium");
		goto end;
	}
	crypto_sign_keypair(pk, sk);
	ins = store_prepare(wdb,
			    "INSERT INTO code_keys(kid, public_key, secret_key, created_at)"
			    " VALUES(?1, ?2, ?3, ?4)",
			    err);
	if (!ins) {
		st = FK_EDB;
		goto end;
	}
	sqlite3_bind_int64(ins, 1, next);
	sqlite3_bind_blob(ins, 2, pk, sizeof(pk), SQLITE_STATIC);
	sqlite3_bind_blob(ins, 3, sk, sizeof(sk), SQLITE_STATIC);
	sqlite3_bind_int64(ins, 4, now);
	st = step_done(wdb, ins, "store a code key", err);
	if (st)
		goto end;
	if (rotate) {
		ret = store_prepare(wdb,
				    "UPDATE code_keys SET retired_at = ?1 WHERE kid <> ?2"
				    " AND retired_at IS NULL AND revoked_at IS NULL",
				    err);
		if (!ret) {
			st = FK_EDB;
			goto end;
		}
		sqlite3_bind_int64(ret, 1, now);
		sqlite3_bind_int64(ret, 2, next);
		st = step_done(wdb, ret, "retire the previous code key", err);
		if (st)
			goto end;
	}
	*kid = (unsigned)next;
	snprintf(detail, sizeof(detail), "kid=%u", *kid);
	st = audit_append(wdb, actor, rotate ? "keys.rotate" : "keys.create", "code_keys", detail,
			  CLI_ORIGIN, err);
end:
	sqlite3_finalize(ins);
	sqlite3_finalize(ret);
	sodium_memzero(sk, sizeof(sk));
	return tx_end(wdb, own, st, err);
}

enum fk_status tk_key_revoke(sqlite3 *wdb, unsigned kid, int64_t now, const char *actor,
			     struct fk_err *err)
{
	sqlite3_stmt *up = NULL;
	bool own;
	char detail[64];
	enum fk_status st = tx_begin(wdb, &own, err);
	if (st)
		return st;
	up = store_prepare(wdb,
			   "UPDATE code_keys SET revoked_at = ?1, revoked_by = ?2"
			   " WHERE kid = ?3 AND revoked_at IS NULL",
			   err);
	if (!up) {
		st = FK_EDB;
		goto end;
	}
	sqlite3_bind_int64(up, 1, now);
	sqlite3_bind_text(up, 2, actor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(up, 3, kid);
	st = step_done(wdb, up, "revoke the code key", err);
	if (st)
		goto end;
	if (sqlite3_changes(wdb) == 0) {
		char q[96];
		snprintf(q, sizeof(q), "SELECT count(*) FROM code_keys WHERE kid = %u", kid);
		st = store_query_int(wdb, q, 0)
			     ? fk_fail(err, FK_ECONFLICT, "key %u is already revoked", kid)
			     : fk_fail(err, FK_ENOTFOUND, "no key %u", kid);
		goto end;
	}
	snprintf(detail, sizeof(detail), "kid=%u", kid);
	st = audit_append(wdb, actor, "keys.revoke", "code_keys", detail, CLI_ORIGIN, err);
end:
	sqlite3_finalize(up);
	return tx_end(wdb, own, st, err);
}

/* ---------------------------------------------------------------- pseudonyms */

enum fk_status tk_pseudo_key(sqlite3 *db, bool create, unsigned char key[TK_PSEUDO_KEY_BYTES],
			     struct fk_err *err)
{
	return store_meta_key(db, PSEUDO_META, "pseudonym key", TK_PSEUDO_KEY_BYTES, create, key,
			      err);
}

void tk_pseudonym(const unsigned char key[TK_PSEUDO_KEY_BYTES], int64_t person_id,
		  unsigned char out[8])
{
	unsigned char msg[8], h[crypto_generichash_BYTES_MIN];
	uint64_t v = (uint64_t)person_id;
	for (int i = 7; i >= 0; i--, v >>= 8)
		msg[i] = (unsigned char)v;
	crypto_generichash(h, sizeof(h), msg, sizeof(msg), key, TK_PSEUDO_KEY_BYTES);
	memcpy(out, h, 8);
}

/* ---------------------------------------------------------------- server cache */

static pthread_mutex_t srv_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tk_keyset *srv_set; /* current snapshot, one reference held here */
static double srv_next;           /* fk_mono() of the next reload */
static bool srv_loading;          /* a thread is reloading */
static bool srv_have_pseudo;
static unsigned char srv_pseudo[TK_PSEUDO_KEY_BYTES];

bool tk_in_server(void)
{
	return store_server_path() != NULL;
}

/* Reads a fresh snapshot; makes a signing key first when none is usable. */
static enum fk_status server_read(struct tk_keyset **out, struct fk_err *err)
{
	sqlite3 *r = store_reader();
	if (!r)
		return fk_fail(err, FK_EDB, "no database reader");
	enum fk_status st = tk_keys_load(r, true, out, err);
	if (st || (*out)->signer >= 0)
		return st;
	tk_keys_free(*out);
	*out = NULL;
	unsigned kid;
	sqlite3 *w = store_writer_lock();
	st = w ? tk_key_add(w, fk_now(), false, "server", &kid, err)
	       : fk_fail(err, FK_EDB, "no database writer");
	store_writer_unlock();
	if (st)
		return st;
	return tk_keys_load(r, true, out, err);
}

struct tk_keyset *tk_server_keys(struct fk_err *err)
{
	struct tk_keyset *ks, *fresh = NULL, *old = NULL;
	pthread_mutex_lock(&srv_mu);
	ks = srv_set;
	if (ks && (srv_loading || fk_mono() < srv_next)) {
		ks->refs++;
		pthread_mutex_unlock(&srv_mu);
		return ks;
	}
	/* the first use (every thread that comes reads; the first to finish
	 * wins), or a reload (one thread; the others keep the old snapshot).
	 * No lock is held while reading: making a key takes the writer. */
	bool first = ks == NULL;
	if (!first)
		srv_loading = true;
	pthread_mutex_unlock(&srv_mu);

	struct fk_err lerr;
	enum fk_status st = server_read(&fresh, &lerr);
	if (st && first && err)
		*err = lerr;
	else if (st)
		fprintf(stderr, "fangkong: code keys not reloaded: %s\n", lerr.msg);

	pthread_mutex_lock(&srv_mu);
	if (!first)
		srv_loading = false;
	if (!st && (!first || !srv_set)) {
		fresh->refs = 1;
		old = srv_set;
		srv_set = fresh;
		fresh = NULL;
		if (old && --old->refs > 0)
			old = NULL;
		srv_next = fk_mono() + TK_RELOAD_SECONDS;
	} else if (!first) {
		srv_next = fk_mono() + TK_RELOAD_SECONDS; /* retry later, not on every request */
	}
	ks = srv_set;
	if (ks)
		ks->refs++;
	pthread_mutex_unlock(&srv_mu);
	tk_keys_free(old);
	tk_keys_free(fresh);
	return ks;
}

void tk_keys_put(struct tk_keyset *ks)
{
	if (!ks)
		return;
	pthread_mutex_lock(&srv_mu);
	bool last = --ks->refs == 0;
	pthread_mutex_unlock(&srv_mu);
	if (last)
		tk_keys_free(ks);
}

enum fk_status tk_server_pseudo_key(unsigned char key[TK_PSEUDO_KEY_BYTES], struct fk_err *err)
{
	enum fk_status st = FK_OK;
	pthread_mutex_lock(&srv_mu);
	bool have = srv_have_pseudo;
	if (have)
		memcpy(key, srv_pseudo, TK_PSEUDO_KEY_BYTES);
	pthread_mutex_unlock(&srv_mu);
	if (have)
		return FK_OK;
	/* outside srv_mu (making the key takes the writer); the key, once
	 * stored, never changes, so racing threads read the same one */
	sqlite3 *r = store_reader();
	bool found = false;
	st = r ? store_meta_key_read(r, PSEUDO_META, TK_PSEUDO_KEY_BYTES, key, &found, err) : fk_fail(err, FK_EDB, "no database reader");
	if (!st && !found) {
		sqlite3 *w = store_writer_lock();
		st = w ? tk_pseudo_key(w, true, key, err) : fk_fail(err, FK_EDB, "no database writer");
		store_writer_unlock();
	}
	if (st)
		return st;
	pthread_mutex_lock(&srv_mu);
	memcpy(srv_pseudo, key, TK_PSEUDO_KEY_BYTES);
	srv_have_pseudo = true;
	pthread_mutex_unlock(&srv_mu);
	return FK_OK;
}

enum fk_status token_server_start(struct fk_err *err)
{
	unsigned char key[TK_PSEUDO_KEY_BYTES];
	struct fk_err lerr = {FK_OK, ""};
	struct tk_keyset *ks = tk_server_keys(&lerr);
	if (!ks) {
		if (err)
			*err = lerr;
		return lerr.status ? lerr.status : FK_EDB;
	}
	tk_keys_put(ks);
	enum fk_status st = tk_server_pseudo_key(key, err);
	sodium_memzero(key, sizeof(key));
	return st;
}

void token_server_stop(void)
{
	pthread_mutex_lock(&srv_mu);
	struct tk_keyset *ks = srv_set;
	srv_set = NULL;
	bool last = ks && --ks->refs == 0;
	srv_have_pseudo = false;
	sodium_memzero(srv_pseudo, sizeof(srv_pseudo));
	pthread_mutex_unlock(&srv_mu);
	if (last)
		tk_keys_free(ks);
}

/* ---------------------------------------------------------------- fangkong keys */

static void keys_usage(FILE *fp)
{
	fputs("usage: fangkong keys list [--json] [--db FILE]\n"
	      "       fangkong keys rotate [--db FILE]\n"
	      "       fangkong keys revoke KID [--db FILE]\n"
	      "       fangkong keys sign --person ID_NUMBER --colour green|yellow|red\n"
	      "                          [--minutes N] [--at T] [--db FILE]\n"
	      "Ed25519 keys that sign health-code tokens (FK1:C:...).\n"
	      "  list     kid, created, status (active|retired|revoked), public key (base64);\n"
	      "           --json: the JSON of GET /api/v1/keys (for fangkong verify --keys)\n"
	      "  rotate   a new signing key; the previous one retires (its tokens still verify)\n"
	      "  revoke   KID's tokens fail verification at once (audited)\n"
	      "  sign     issue a token for a person (for operators and tests); minutes default\n"
	      "           to the default policy's token_minutes (1440 when it cannot be read),\n"
	      "           T (ISO 8601 with offset) to now\n"
	      "A running server picks up rotate and revoke within 5 seconds.\n"
	      "Exit: 0 ok, 1 failure, 2 bad usage or unknown key or person.\n",
	      fp);
}

static int keys_exit(enum fk_status st)
{
	return st == FK_OK ? 0 : (st == FK_EINVAL || st == FK_ENOTFOUND) ? 2 : 1;
}

static int keys_list(sqlite3 *db, bool json)
{
	struct fk_err err;
	struct tk_keyset *ks = NULL;
	if (tk_keys_load(db, false, &ks, &err)) {
		fprintf(stderr, "fangkong keys: %s\n", err.msg);
		return 1;
	}
	if (json) {
		struct strbuf o = STRBUF_INIT;
		tk_keys_json(&o, ks);
		puts(o.buf);
		strbuf_release(&o);
		tk_keys_free(ks);
		return 0;
	}
	printf("%-5s  %-25s  %-8s  %s\n", "kid", "created", "status", "public key");
	for (size_t i = 0; i < ks->n; i++) {
		const struct tk_key *k = &ks->keys[i];
		char t[32], b64[sodium_base64_ENCODED_LEN(crypto_sign_PUBLICKEYBYTES,
							  sodium_base64_VARIANT_ORIGINAL)];
		sodium_bin2base64(b64, sizeof(b64), k->pk, sizeof(k->pk),
				  sodium_base64_VARIANT_ORIGINAL);
		printf("%-5u  %-25s  %-8s  %s\n", k->kid, fk_format_time(k->created_at, t, sizeof(t)),
		       tk_key_status(k), b64);
	}
	if (ks->n == 0)
		fputs("(no keys yet: the first token signed makes one)\n", stderr);
	tk_keys_free(ks);
	return 0;
}

static int keys_sign(sqlite3 *db, const char *idnum, const char *colour_s, const char *minutes_s,
		     const char *at_s)
{
	struct fk_err err;
	enum colour colour;
	int64_t at = fk_now(), minutes = 0;
	if (!idnum || !colour_s) {
		fputs("fangkong keys sign: --person ID_NUMBER and --colour are required\n", stderr);
		return 2;
	}
	if (!colour_parse(colour_s, &colour)) {
		fprintf(stderr, "fangkong keys sign: --colour '%s' is not green, yellow or red\n",
			colour_s);
		return 2;
	}
	if (minutes_s && !fk_parse_i64(minutes_s, 1, TK_MAX_MINUTES, &minutes)) {
		fprintf(stderr, "fangkong keys sign: --minutes '%s' is not 1..%d\n", minutes_s,
			TK_MAX_MINUTES);
		return 2;
	}
	if (at_s && !fk_parse_time(at_s, &at)) {
		fprintf(stderr, "fangkong keys sign: --at '%s' is not ISO 8601 with an offset\n",
			at_s);
		return 2;
	}
	if (!minutes_s) {
		char path[4096];
		struct policy *p = fk_xcalloc(1, sizeof(*p));
		minutes = 1440;
		if (policy_resolve(NULL, path, sizeof(path)) &&
		    policy_load(path, p, NULL, NULL, NULL, &err) == FK_OK && p->token_minutes > 0)
			minutes = p->token_minutes;
		free(p);
	}
	sqlite3_stmt *q = store_prepare(db, "SELECT id FROM persons WHERE id_number = ?1", &err);
	if (!q) {
		fprintf(stderr, "fangkong keys sign: %s\n", err.msg);
		return 1;
	}
	sqlite3_bind_text(q, 1, idnum, -1, SQLITE_STATIC);
	int64_t pid = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
	sqlite3_finalize(q);
	if (pid < 0) {
		fprintf(stderr, "fangkong keys sign: no person with ID number '%s'\n", idnum);
		return 2;
	}
	char tok[HC_TOKEN_MAX];
	struct hc_token t;
	enum fk_status st = hc_token_issue(db, pid, colour, at, (int)minutes, tok, &t, &err);
	if (st) {
		fprintf(stderr, "fangkong keys sign: %s\n", err.msg);
		return keys_exit(st);
	}
	char detail[96];
	snprintf(detail, sizeof(detail), "kid=%u colour=%s minutes=%lld", t.kid, colour_name(colour),
		 (long long)minutes);
	if (audit_append(db, "cli", "keys.sign", idnum, detail, CLI_ORIGIN, &err)) {
		fprintf(stderr, "fangkong keys sign: %s\n", err.msg);
		return 1;
	}
	puts(tok);
	return 0;
}

int cmd_keys(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},      {"person", required_argument, NULL, 'p'},
		{"colour", required_argument, NULL, 'c'},  {"color", required_argument, NULL, 'c'},
		{"minutes", required_argument, NULL, 'm'}, {"at", required_argument, NULL, 'a'},
		{"json", no_argument, NULL, 'j'},          {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dbflag = NULL, *person = NULL, *colour = NULL, *minutes = NULL, *at = NULL;
	bool json = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dbflag = optarg; break;
		case 'j': json = true; break;
		case 'p': person = optarg; break;
		case 'c': colour = optarg; break;
		case 'm': minutes = optarg; break;
		case 'a': at = optarg; break;
		case 'h': keys_usage(stdout); return 0;
		case ':':
			fprintf(stderr, "fangkong keys: option '%s' needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "fangkong keys: unknown option '%s'\n", argv[optind - 1]);
			keys_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		fputs("fangkong keys: a subcommand (list, rotate, revoke, sign) is required\n", stderr);
		keys_usage(stderr);
		return 2;
	}
	const char *sub = argv[optind++];
	bool is_list = !strcmp(sub, "list"), is_rotate = !strcmp(sub, "rotate");
	bool is_revoke = !strcmp(sub, "revoke"), is_sign = !strcmp(sub, "sign");
	if (!is_list && !is_rotate && !is_revoke && !is_sign) {
		fprintf(stderr, "fangkong keys: unknown subcommand '%s'\n", sub);
		keys_usage(stderr);
		return 2;
	}
	int64_t kid = 0;
	if (is_revoke) {
		if (optind >= argc) {
			fputs("fangkong keys revoke: KID is required\n", stderr);
			return 2;
		}
		if (!fk_parse_i64(argv[optind], 1, TK_KID_MAX, &kid)) {
			fprintf(stderr, "fangkong keys revoke: '%s' is not a key id (1..%u)\n",
				argv[optind], TK_KID_MAX);
			return 2;
		}
		optind++;
	}
	if (optind < argc) {
		fprintf(stderr, "fangkong keys: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (json && !is_list) {
		fprintf(stderr, "fangkong keys %s: --json belongs to list\n", sub);
		return 2;
	}
	if (!is_sign && (person || colour || minutes || at)) {
		fprintf(stderr, "fangkong keys %s: --person, --colour, --minutes and --at belong to sign\n",
			sub);
		return 2;
	}
	const char *path = store_default_path(dbflag);
	if (access(path, F_OK) != 0) {
		fprintf(stderr, "fangkong keys: database '%s' does not exist (run 'fangkong init')\n",
			path);
		return 2;
	}
	if (sodium_init() < 0) {
		fputs("fangkong keys: cannot initialise libsodium\n", stderr);
		return 1;
	}
	struct fk_err err;
	sqlite3 *db = NULL;
	if (store_open(path, is_list ? STORE_READONLY : STORE_MIGRATE, &db, &err)) {
		fprintf(stderr, "fangkong keys: %s\n", err.msg);
		return 1;
	}
	int rc = 0;
	if (is_list) {
		rc = keys_list(db, json);
	} else if (is_sign) {
		rc = keys_sign(db, person, colour, minutes, at);
	} else if (is_rotate) {
		unsigned nk = 0;
		enum fk_status st = tk_key_add(db, fk_now(), true, "cli", &nk, &err);
		if (st)
			fprintf(stderr, "fangkong keys rotate: %s\n", err.msg);
		else
			printf("key %u now signs; earlier keys are retired (their tokens still verify)\n",
			       nk);
		rc = keys_exit(st);
	} else {
		enum fk_status st = tk_key_revoke(db, (unsigned)kid, fk_now(), "cli", &err);
		if (st)
			fprintf(stderr, "fangkong keys revoke: %s\n", err.msg);
		else
			printf("key %lld revoked: its tokens no longer verify\n", (long long)kid);
		rc = keys_exit(st);
	}
	store_close(db);
	return rc;
}
