/* session.c — logins, sessions and login throttling.
 *
 * Design note.
 * - A token is 32 random bytes shown to the client as 64 lower-case hex
 *   characters.  Only BLAKE2b-256 of those 64 characters is stored, so a
 *   copy of the database does not yield usable tokens.  Lookups accept
 *   nothing but 64 lower-case hex characters.
 * - A session lives SESSION_TTL_SECONDS.  Lookup rejects expired sessions
 *   and sessions of disabled users; expired rows are deleted at the next
 *   login (lookup runs on read-only connections and never writes).
 * - Unknown user, wrong password and disabled account answer the same
 *   FK_EAUTH after the same argon2id work (a dummy hash for unknown users),
 *   so neither the message nor the time tells which names exist.
 * - Throttling is in memory, per process: a fixed table of at most
 *   THROTTLE_SLOTS keys ("u:" username, "o:" client address), guarded by
 *   one mutex.  A key's window opens at its first failure and lasts
 *   THROTTLE_WINDOW seconds; THROTTLE_MAX failures for a user name, or
 *   THROTTLE_ORIGIN_MAX from one address (higher: offices and NAT share
 *   addresses), refuse further attempts until it closes.  When the table is
 *   full, expired slots are reused first, then counting slots whose window
 *   opened earliest, and slots that are refusing attempts only when nothing
 *   else is left.
 * - login_attempt_begin() checks and reserves in one step under the mutex:
 *   the attempt counts as a failure before the slow password check, so
 *   parallel guesses cannot all slip past the check.  A success clears the
 *   user's count and gives the address back only its own reservation, so
 *   one valid account cannot reset an address spraying guesses.
 */
#include "access/access.h"
#include "access/access_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define TOKEN_BYTES 32
#define TOKEN_HASH_BYTES 32

/* ---------- throttling ---------- */

#define THROTTLE_MAX 5
#define THROTTLE_ORIGIN_MAX 30
#define THROTTLE_WINDOW (15 * 60)
#define THROTTLE_SLOTS 4096
#define THROTTLE_KEY_MAX 80

struct throttle_slot {
	char key[THROTTLE_KEY_MAX];
	int64_t start; /* window opened at the first failure */
	int failures;
};

static pthread_mutex_t throttle_mu = PTHREAD_MUTEX_INITIALIZER;
static struct throttle_slot throttle[THROTTLE_SLOTS];
static size_t throttle_used;
static size_t throttle_hand; /* next eviction candidate when full */

static void throttle_key(char *out, size_t size, char kind, const char *s)
{
	snprintf(out, size, "%c:%s", kind, s ? s : "");
}

/* Caller holds throttle_mu. */
static struct throttle_slot *throttle_find(const char *key)
{
	for (size_t i = 0; i < throttle_used; i++)
		if (!strcmp(throttle[i].key, key))
			return &throttle[i];
	return NULL;
}

/* Caller holds throttle_mu.  Never NULL. */
static struct throttle_slot *throttle_slot_for(const char *key, int64_t now)
{
	struct throttle_slot *s = throttle_find(key);
	if (s)
		return s;
	if (throttle_used < THROTTLE_SLOTS) {
		s = &throttle[throttle_used++];
	} else {
		/* Evict by (class, window start): expired windows first, then
		 * counting ones, refused keys last so a flood of new keys cannot
		 * free a throttled user.  Ties go round-robin from a clock hand,
		 * so the newest key is not the next one out. */
		int best_class = 3;
		for (size_t k = 0; k < THROTTLE_SLOTS; k++) {
			struct throttle_slot *t = &throttle[(throttle_hand + k) % THROTTLE_SLOTS];
			int cls = now - t->start >= THROTTLE_WINDOW ? 0
				  : t->failures < THROTTLE_MAX	    ? 1
								    : 2;
			if (cls < best_class || (cls == best_class && t->start < s->start)) {
				s = t;
				best_class = cls;
			}
		}
		throttle_hand = (size_t)(s - throttle + 1) % THROTTLE_SLOTS;
	}
	fk_strlcpy(s->key, key, sizeof(s->key));
	s->start = now;
	s->failures = 0;
	return s;
}

/* Caller holds throttle_mu.  Seconds until key may try again, 0 if now. */
static int throttle_wait(const char *key, int64_t now)
{
	struct throttle_slot *s = throttle_find(key);
	int max = key[0] == 'o' ? THROTTLE_ORIGIN_MAX : THROTTLE_MAX;
	if (!s || s->failures < max)
		return 0;
	int64_t left = s->start + THROTTLE_WINDOW - now;
	return left > 0 ? (int)left : 0;
}

bool login_throttled(const char *username, const char *origin, int64_t now, int *retry_after)
{
	char ku[THROTTLE_KEY_MAX], ko[THROTTLE_KEY_MAX];
	throttle_key(ku, sizeof(ku), 'u', username);
	throttle_key(ko, sizeof(ko), 'o', origin);
	pthread_mutex_lock(&throttle_mu);
	int a = throttle_wait(ku, now), b = throttle_wait(ko, now);
	pthread_mutex_unlock(&throttle_mu);
	int wait = a > b ? a : b;
	if (retry_after)
		*retry_after = wait;
	return wait > 0;
}

static void throttle_fail(const char *key, int64_t now)
{
	struct throttle_slot *s = throttle_slot_for(key, now);
	if (now - s->start >= THROTTLE_WINDOW) {
		s->start = now;
		s->failures = 0;
	}
	s->failures++;
}

void login_record_failure(const char *username, const char *origin, int64_t now)
{
	char ku[THROTTLE_KEY_MAX], ko[THROTTLE_KEY_MAX];
	throttle_key(ku, sizeof(ku), 'u', username);
	throttle_key(ko, sizeof(ko), 'o', origin);
	pthread_mutex_lock(&throttle_mu);
	throttle_fail(ku, now);
	throttle_fail(ko, now);
	pthread_mutex_unlock(&throttle_mu);
}

static void throttle_clear(const char *key)
{
	struct throttle_slot *s = throttle_find(key);
	if (!s)
		return;
	*s = throttle[--throttle_used]; /* keep the used slots dense */
}

void login_record_success(const char *username, const char *origin)
{
	char ku[THROTTLE_KEY_MAX];
	(void)origin; /* an address's failures stand until its window closes */
	throttle_key(ku, sizeof(ku), 'u', username);
	pthread_mutex_lock(&throttle_mu);
	throttle_clear(ku);
	pthread_mutex_unlock(&throttle_mu);
}

bool login_attempt_begin(const char *username, const char *origin, int64_t now,
			 int *retry_after)
{
	char ku[THROTTLE_KEY_MAX], ko[THROTTLE_KEY_MAX];
	throttle_key(ku, sizeof(ku), 'u', username);
	throttle_key(ko, sizeof(ko), 'o', origin);
	pthread_mutex_lock(&throttle_mu);
	int a = throttle_wait(ku, now), b = throttle_wait(ko, now);
	if (!a && !b) {
		throttle_fail(ku, now);
		throttle_fail(ko, now);
	}
	pthread_mutex_unlock(&throttle_mu);
	int wait = a > b ? a : b;
	if (retry_after)
		*retry_after = wait;
	return wait > 0;
}

void login_attempt_succeeded(const char *username, const char *origin)
{
	char ku[THROTTLE_KEY_MAX], ko[THROTTLE_KEY_MAX];
	throttle_key(ku, sizeof(ku), 'u', username);
	throttle_key(ko, sizeof(ko), 'o', origin);
	pthread_mutex_lock(&throttle_mu);
	throttle_clear(ku);
	struct throttle_slot *s = throttle_find(ko);
	if (s && s->failures > 0)
		s->failures--; /* give back this attempt's reservation only */
	pthread_mutex_unlock(&throttle_mu);
}

void login_throttle_reset(void)
{
	pthread_mutex_lock(&throttle_mu);
	throttle_used = 0;
	throttle_hand = 0;
	pthread_mutex_unlock(&throttle_mu);
}

/* ---------- sessions ---------- */

static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[crypto_pwhash_STRBYTES];

static void dummy_make(void)
{
	char pw[24];
	password_random(pw, sizeof(pw), 20);
	if (password_hash(pw, dummy_hash, NULL) != FK_OK)
		dummy_hash[0] = '\0';
}

static bool token_valid(const char *t)
{
	if (!t || strlen(t) != TOKEN_HEX_LEN)
		return false;
	for (size_t i = 0; i < TOKEN_HEX_LEN; i++)
		if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
			return false;
	return true;
}

static void token_hash(const char *token, unsigned char out[TOKEN_HASH_BYTES])
{
	crypto_generichash(out, TOKEN_HASH_BYTES, (const unsigned char *)token, TOKEN_HEX_LEN,
			   NULL, 0);
}

enum fk_status credentials_check(sqlite3 *db, const char *username, const char *password,
				 struct user *out, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	sqlite3_stmt *q = NULL;
	char *hash = NULL;
	bool disabled = false, role_ok = false;

	pthread_once(&dummy_once, dummy_make);
	if (!username || !password || strlen(username) > USERNAME_MAX) {
		password_verify(dummy_hash, password ? password : "");
		return fk_fail(err, FK_EAUTH, "wrong username or password");
	}
	q = store_prepare(db, "SELECT id, username, role, scope, pwhash, disabled,"
			      " must_change_password, person_id FROM users WHERE username=?",
			  err);
	if (!q)
		return FK_EDB;
	sqlite3_bind_text(q, 1, username, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		role_ok = user_from_row(q, 6, 7, out);
		hash = fk_xstrdup((const char *)sqlite3_column_text(q, 4));
		disabled = sqlite3_column_int(q, 5) != 0;
	} else if (rc != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot read users: %s", sqlite3_errmsg(db));
		goto done;
	}
	bool ok = password_verify(hash ? hash : dummy_hash, password);
	if (!hash || !ok || disabled || !role_ok)
		st = fk_fail(err, FK_EAUTH, "wrong username or password");
done:
	free(hash);
	sqlite3_finalize(q);
	return st;
}

enum fk_status session_create(sqlite3 *wdb, const struct user *user, const char *origin,
			      char token_out[TOKEN_HEX_LEN + 1], int64_t *expires_at,
			      struct fk_err *err)
{
	enum fk_status st = FK_OK;
	sqlite3_stmt *purge = NULL, *ins = NULL;
	unsigned char raw[TOKEN_BYTES], th[TOKEN_HASH_BYTES];
	char token[TOKEN_HEX_LEN + 1];
	int64_t now = fk_now(), exp = now + SESSION_TTL_SECONDS;
	bool own = sqlite3_get_autocommit(wdb) != 0;

	pthread_once(&dummy_once, dummy_make); /* initialises libsodium once */
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(token, sizeof(token), raw, sizeof(raw));
	token_hash(token, th);

	if (own && (st = store_begin(wdb, err)))
		goto done;
	purge = store_prepare(wdb, "DELETE FROM sessions WHERE expires_at <= ?", err);
	ins = purge ? store_prepare(wdb, "INSERT INTO sessions(token_hash, user_id, created_at,"
					 " expires_at, origin) VALUES(?,?,?,?,?)",
				    err)
		    : NULL;
	if (!ins) {
		st = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_int64(purge, 1, now);
	if (sqlite3_step(purge) != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot purge sessions: %s", sqlite3_errmsg(wdb));
		goto rollback;
	}
	sqlite3_bind_blob(ins, 1, th, sizeof(th), SQLITE_STATIC);
	sqlite3_bind_int64(ins, 2, user->id);
	sqlite3_bind_int64(ins, 3, now);
	sqlite3_bind_int64(ins, 4, exp);
	sqlite3_bind_text(ins, 5, origin ? origin : "-", -1, SQLITE_STATIC);
	if (sqlite3_step(ins) != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot create session: %s", sqlite3_errmsg(wdb));
		goto rollback;
	}
	if ((st = audit_append(wdb, user->username, "session.login", user->username, "", origin,
			       err)))
		goto rollback;
	if (own && (st = store_commit(wdb, err)))
		goto rollback;
	memcpy(token_out, token, sizeof(token));
	if (expires_at)
		*expires_at = exp;
	goto done;
rollback:
	if (own)
		store_rollback(wdb);
done:
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(token, sizeof(token));
	sqlite3_finalize(purge);
	sqlite3_finalize(ins);
	return st;
}

/* Audit object for a failed login: the name as typed when it could be a
 * user name, never arbitrary bytes. */
static const char *failed_name(const char *username)
{
	if (!username || !*username || strlen(username) > USERNAME_MAX)
		return "(invalid username)";
	for (const char *p = username; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "(invalid username)";
	return username;
}

void login_audit_failure(sqlite3 *wdb, const char *username, const char *origin)
{
	struct fk_err err;
	if (audit_append(wdb, "-", "session.login_failed", failed_name(username), "", origin,
			 &err))
		fprintf(stderr, "fangkong: cannot write audit record: %s\n", err.msg);
}

enum fk_status session_login(sqlite3 *wdb, const char *username, const char *password,
			     const char *origin, char token_out[TOKEN_HEX_LEN + 1],
			     int64_t *expires_at, struct user *user, struct fk_err *err)
{
	struct user u;
	enum fk_status st = credentials_check(wdb, username, password, &u, err);
	if (st == FK_EAUTH) {
		login_audit_failure(wdb, username, origin);
		return st;
	}
	if (st)
		return st;
	if ((st = session_create(wdb, &u, origin, token_out, expires_at, err)))
		return st;
	if (user)
		*user = u;
	return FK_OK;
}

static const char sql_session_lookup[] =
	"SELECT u.id, u.username, u.role, u.scope,"
	" u.must_change_password, u.person_id FROM sessions s"
	" JOIN users u ON u.id = s.user_id"
	" WHERE s.token_hash=? AND s.expires_at > ? AND u.disabled=0";

enum fk_status session_lookup(sqlite3 *db, const char *token, struct user *out,
			      struct fk_err *err)
{
	unsigned char th[TOKEN_HASH_BYTES];
	if (!token_valid(token))
		return fk_fail(err, FK_EAUTH, "session expired or unknown");
	token_hash(token, th);
	/* every request of a server looks its session up: on the thread's
	 * reader use its cached statement rather than compiling the join */
	bool cached = db && db == store_reader();
	sqlite3_stmt *q = cached ? store_reader_stmt(sql_session_lookup, err)
				 : store_prepare(db, sql_session_lookup, err);
	if (!q)
		return FK_EDB;
	enum fk_status st = FK_OK;
	sqlite3_bind_blob(q, 1, th, sizeof(th), SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, fk_now());
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE) {
		st = fk_fail(err, FK_EAUTH, "session expired or unknown");
	} else if (rc != SQLITE_ROW) {
		st = fk_fail(err, FK_EDB, "cannot read sessions: %s", sqlite3_errmsg(db));
	} else if (!user_from_row(q, 4, 5, out)) {
		st = fk_fail(err, FK_EAUTH, "session expired or unknown");
	}
	if (cached)
		store_stmt_done(q);
	else
		sqlite3_finalize(q);
	return st;
}

enum fk_status session_end_others(sqlite3 *wdb, int64_t user_id, const char *keep_token,
				  int *ended, struct fk_err *err)
{
	unsigned char th[TOKEN_HASH_BYTES];
	/* an invalid keep_token matches no row: every session ends */
	memset(th, 0, sizeof(th));
	if (keep_token && token_valid(keep_token))
		token_hash(keep_token, th);
	sqlite3_stmt *del =
		store_prepare(wdb, "DELETE FROM sessions WHERE user_id=? AND token_hash<>?", err);
	if (!del)
		return FK_EDB;
	enum fk_status st = FK_OK;
	sqlite3_bind_int64(del, 1, user_id);
	sqlite3_bind_blob(del, 2, th, sizeof(th), SQLITE_STATIC);
	if (sqlite3_step(del) != SQLITE_DONE)
		st = fk_fail(err, FK_EDB, "cannot end sessions: %s", sqlite3_errmsg(wdb));
	else if (ended)
		*ended = sqlite3_changes(wdb);
	sqlite3_finalize(del);
	return st;
}

enum fk_status session_logout(sqlite3 *wdb, const char *token, const char *origin,
			      struct fk_err *err)
{
	enum fk_status st = FK_OK;
	sqlite3_stmt *who = NULL, *del = NULL;
	unsigned char th[TOKEN_HASH_BYTES];
	char username[USERNAME_MAX + 1];
	bool own = false;

	if (!token_valid(token))
		return fk_fail(err, FK_EAUTH, "session expired or unknown");
	token_hash(token, th);
	own = sqlite3_get_autocommit(wdb) != 0;
	if (own && (st = store_begin(wdb, err)))
		return st;
	who = store_prepare(wdb, "SELECT u.username FROM sessions s JOIN users u ON u.id=s.user_id"
				 " WHERE s.token_hash=?",
			    err);
	del = who ? store_prepare(wdb, "DELETE FROM sessions WHERE token_hash=?", err) : NULL;
	if (!del) {
		st = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_blob(who, 1, th, sizeof(th), SQLITE_STATIC);
	int rc = sqlite3_step(who);
	if (rc == SQLITE_DONE) {
		st = fk_fail(err, FK_EAUTH, "session expired or unknown");
		goto rollback;
	}
	if (rc != SQLITE_ROW) {
		st = fk_fail(err, FK_EDB, "cannot read sessions: %s", sqlite3_errmsg(wdb));
		goto rollback;
	}
	fk_strlcpy(username, (const char *)sqlite3_column_text(who, 0), sizeof(username));
	sqlite3_bind_blob(del, 1, th, sizeof(th), SQLITE_STATIC);
	if (sqlite3_step(del) != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot end session: %s", sqlite3_errmsg(wdb));
		goto rollback;
	}
	if ((st = audit_append(wdb, username, "session.logout", username, "", origin, err)))
		goto rollback;
	if (own && (st = store_commit(wdb, err)))
		goto rollback;
	goto done;
rollback:
	if (own)
		store_rollback(wdb);
done:
	sqlite3_finalize(who);
	sqlite3_finalize(del);
	return st;
}
