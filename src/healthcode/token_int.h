/* token_int.h — the code-signing keys shared by token.c (tokens, routes,
 * fangkong verify) and keys.c (the key table, the server's key cache,
 * fangkong keys).  Used only inside src/healthcode. */
#ifndef FK_TOKEN_INT_H
#define FK_TOKEN_INT_H

#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "healthcode/healthcode.h"
#include "lib/err.h"
#include "lib/strbuf.h"

#define TK_PSEUDO_KEY_BYTES 32
#define TK_KID_MAX 65535u
#define TK_MAX_MINUTES 527040 /* a token lives at most 366 days */

struct tk_key {
	unsigned kid;
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	bool has_sk; /* false for keys read from GET /api/v1/keys */
	bool retired, revoked;
	int64_t created_at, retired_at, revoked_at; /* meaningful when the flag is set */
};

/* A snapshot of the keys, ascending kid.  Immutable once built; the
 * server hands out references (tk_server_keys / tk_keys_put). */
struct tk_keyset {
	size_t n;
	struct tk_key *keys;
	long signer; /* index of the signing key (newest neither retired nor revoked), -1 */
	int refs;    /* server snapshots only */
};

/* Reads every key of code_keys (secrets only when with_secrets).  *out is
 * the caller's (tk_keys_free). */
enum fk_status tk_keys_load(sqlite3 *db, bool with_secrets, struct tk_keyset **out,
			    struct fk_err *err);
/* Reads the JSON of GET /api/v1/keys from path (public keys only). */
enum fk_status tk_keys_from_json(const char *path, struct tk_keyset **out, struct fk_err *err);
void tk_keys_free(struct tk_keyset *ks); /* NULL accepted; wipes the secrets */
const struct tk_key *tk_keys_find(const struct tk_keyset *ks, unsigned kid);
const char *tk_key_status(const struct tk_key *k); /* "active" | "retired" | "revoked" */
/* The body of GET /api/v1/keys: {"keys":[...],"token_prefix","max_age"}. */
void tk_keys_json(struct strbuf *o, const struct tk_keyset *ks);

/* Adds a key (kid = highest + 1) in its own transaction or the caller's.
 * rotate: every other usable key becomes retired, audited as
 * "keys.rotate"; otherwise the key is made only when no usable key
 * exists (two processes racing make one), audited as "keys.create".
 * *kid receives the new (or the existing usable) key id. */
enum fk_status tk_key_add(sqlite3 *wdb, int64_t now, bool rotate, const char *actor,
			  unsigned *kid, struct fk_err *err);
/* Revokes kid: FK_ENOTFOUND unknown, FK_ECONFLICT already revoked.
 * Audited as "keys.revoke". */
enum fk_status tk_key_revoke(sqlite3 *wdb, unsigned kid, int64_t now, const char *actor,
			     struct fk_err *err);

/* The pseudonym key (meta 'pseudonym_key'), created when absent and
 * create is set (needs a writable db). */
enum fk_status tk_pseudo_key(sqlite3 *db, bool create, unsigned char key[TK_PSEUDO_KEY_BYTES],
			     struct fk_err *err);
/* The 8-byte pseudonym of person_id under key. */
void tk_pseudonym(const unsigned char key[TK_PSEUDO_KEY_BYTES], int64_t person_id,
		  unsigned char out[8]);

/* ---- the server's cache (keys.c) ---- */
/* True inside `fangkong serve` (store_server_init was called). */
bool tk_in_server(void);
/* A reference to the current snapshot (re-read from code_keys at most
 * every TK_RELOAD_SECONDS; a signing key is created when none is usable).
 * NULL with err on failure.  Release with tk_keys_put(). */
#define TK_RELOAD_SECONDS 5.0
struct tk_keyset *tk_server_keys(struct fk_err *err);
void tk_keys_put(struct tk_keyset *ks);
enum fk_status tk_server_pseudo_key(unsigned char key[TK_PSEUDO_KEY_BYTES], struct fk_err *err);

#endif
