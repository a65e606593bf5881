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
 * - Session cache.  Every request of a server looks its session up, and in
 *   WAL mode each commit (a scan batch commits every few milliseconds)
 *   empties the readers' page caches, so the lookup re-reads pages.  A
 *   cache of SCACHE_SLOTS entries (token hash -> struct user, the
 *   session's expiry, when filled) answers instead.  Direct-mapped by the
 *   hash's first bytes (BLAKE2b: uniform), a collision replaces the older
 *   entry; SCACHE_SHARDS mutexes over the slots, so hits of different
 *   tokens rarely contend; a hit copies the entry and allocates nothing.
 *   An entry serves SCACHE_TTL seconds (monotonic clock) and never past
 *   the session's own expires_at.  Only lookups on the server's reader
 *   (db == store_reader()) use it: the CLI always reads the database.
 * - Invalidation in this process is immediate.  session_logout and
 *   session_end_others (password change) call scache_forget(user id),
 *   which under inval_mu bumps scache_gen and drops every entry of the
 *   user.  A lookup that missed remembers scache_gen before reading the
 *   database and inserts only if it is unchanged (checked under inval_mu),
 *   so a read that raced an invalidation never lands in the cache.  When
 *   the change commits after scache_forget (session_end_others inside the
 *   caller's transaction), the user is also marked pending: a read may
 *   still see the old rows, so nothing of that user is cached until a
 *   later miss has passed through the writer lock (every change in the
 *   server is made, and committed, under it), which proves that all
 *   transactions that marked it have ended; that miss settles the mark and
 *   the next one may fill.  More than SCACHE_PENDING marks at once set
 *   pending_all, settled the same way.  Changes made by another process
 *   (the CLI) reach the server within SCACHE_TTL (docs/operations.md).
 */
#include "access/access.h"
#include "access/access_int.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define TOKEN_BYTES 32
#define TOKEN_HASH_BYTES 32

#define SCACHE_SLOTS 8192 /* power of two */
#define SCACHE_SHARDS 64  /* power of two, divides SCACHE_SLOTS */
#define SCACHE_TTL 5.0    /* seconds an entry may answer */
#define SCACHE_PENDING 64

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

/* ---------- session cache (see the design note) ---------- */

struct scache_entry {
	unsigned char th[TOKEN_HASH_BYTES];
	bool used;
	double filled;      /* fk_mono() */
	int64_t expires_at; /* the session's, fk_now() scale */
	struct user user;
};

struct scache_pending {
	int64_t user_id;
	uint64_t gen; /* scache_gen after the mark */
};

static struct scache_entry scache[SCACHE_SLOTS];
static pthread_mutex_t scache_mu[SCACHE_SHARDS];
static pthread_once_t scache_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t inval_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t scache_gen;		/* under inval_mu */
static struct scache_pending pending[SCACHE_PENDING]; /* under inval_mu */
static size_t npending;
static uint64_t pending_all; /* 0, or the gen of an overflowing mark */

static void scache_init(void)
{
	for (size_t i = 0; i < SCACHE_SHARDS; i++)
		pthread_mutex_init(&scache_mu[i], NULL);
}

static size_t scache_slot(const unsigned char th[TOKEN_HASH_BYTES])
{
	uint64_t h;
	memcpy(&h, th, sizeof(h));
	return (size_t)(h & (SCACHE_SLOTS - 1));
}

static pthread_mutex_t *scache_lock_of(size_t slot)
{
	return &scache_mu[slot & (SCACHE_SHARDS - 1)];
}

/* True and *out filled when th has a live entry. */
static bool scache_get(const unsigned char th[TOKEN_HASH_BYTES], struct user *out)
{
	size_t slot = scache_slot(th);
	struct scache_entry *e = &scache[slot];
	bool hit = false;
	double mono = fk_mono();
	int64_t now = fk_now();
	pthread_once(&scache_once, scache_init);
	pthread_mutex_lock(scache_lock_of(slot));
	if (e->used && !memcmp(e->th, th, TOKEN_HASH_BYTES)) {
		if (mono - e->filled < SCACHE_TTL && mono >= e->filled && now < e->expires_at) {
			*out = e->user;
			hit = true;
		} else {
			e->used = false;
		}
	}
	pthread_mutex_unlock(scache_lock_of(slot));
	return hit;
}

static uint64_t scache_gen_now(void)
{
	pthread_mutex_lock(&inval_mu);
	uint64_t g = scache_gen;
	pthread_mutex_unlock(&inval_mu);
	return g;
}

/* Caller holds inval_mu. */
static bool scache_is_pending(int64_t user_id)
{
	if (pending_all)
		return true;
	for (size_t i = 0; i < npending; i++)
		if (pending[i].user_id == user_id)
			return true;
	return false;
}

/* Waits until every transaction that marked a user pending has ended
 * (they all hold the writer lock until they commit or roll back), then
 * clears those marks. */
static void scache_settle(void)
{
	(void)store_writer_lock();
	pthread_mutex_lock(&inval_mu);
	uint64_t g = scache_gen; /* marks up to g were made by earlier holders */
	pthread_mutex_unlock(&inval_mu);
	store_writer_unlock();
	pthread_mutex_lock(&inval_mu);
	size_t k = 0;
	for (size_t i = 0; i < npending; i++)
		if (pending[i].gen > g)
			pending[k++] = pending[i];
	npending = k;
	if (pending_all && pending_all <= g)
		pending_all = 0;
	pthread_mutex_unlock(&inval_mu);
}

/* Stores a lookup's result read after gen0 was current. */
static void scache_put(const unsigned char th[TOKEN_HASH_BYTES], const struct user *u,
		       int64_t expires_at, uint64_t gen0)
{
	bool settle = false;
	pthread_once(&scache_once, scache_init);
	pthread_mutex_lock(&inval_mu);
	if (scache_gen == gen0 && !scache_is_pending(u->id)) {
		size_t slot = scache_slot(th);
		struct scache_entry *e = &scache[slot];
		pthread_mutex_lock(scache_lock_of(slot));
		memcpy(e->th, th, TOKEN_HASH_BYTES);
		e->user = *u;
		e->expires_at = expires_at;
		e->filled = fk_mono();
		e->used = true;
		pthread_mutex_unlock(scache_lock_of(slot));
	} else {
		settle = scache_gen == gen0; /* pending: this read may be stale */
	}
	pthread_mutex_unlock(&inval_mu);
	if (settle)
		scache_settle();
}

/* Drops user_id's entries.  in_txn: the change is not committed yet (see
 * the design note). */
static void scache_forget(int64_t user_id, bool in_txn)
{
	pthread_once(&scache_once, scache_init);
	pthread_mutex_lock(&inval_mu);
	scache_gen++;
	if (in_txn) {
		size_t i;
		for (i = 0; i < npending && pending[i].user_id != user_id; i++)
			;
		if (i < npending) {
			pending[i].gen = scache_gen;
		} else if (npending < SCACHE_PENDING) {
			pending[npending].user_id = user_id;
			pending[npending].gen = scache_gen;
			npending++;
		} else {
			pending_all = scache_gen;
		}
	}
	for (size_t sh = 0; sh < SCACHE_SHARDS; sh++) {
		pthread_mutex_lock(&scache_mu[sh]);
		for (size_t i = sh; i < SCACHE_SLOTS; i += SCACHE_SHARDS)
			if (scache[i].used && scache[i].user.id == user_id)
				scache[i].used = false;
		pthread_mutex_unlock(&scache_mu[sh]);
	}
	pthread_mutex_unlock(&inval_mu);
}

void session_cache_forget_user(int64_t user_id)
{
	scache_forget(user_id, true);
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
	" u.must_change_password, u.person_id, s.expires_at FROM sessions s"
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
	 * reader ask the cache, then use the cached statement rather than
	 * compiling the join */
	bool cached = db && db == store_reader();
	if (cached && scache_get(th, out))
		return FK_OK;
	uint64_t gen0 = cached ? scache_gen_now() : 0;
	sqlite3_stmt *q = cached ? store_reader_stmt(sql_session_lookup, err)
				 : store_prepare(db, sql_session_lookup, err);
	if (!q)
		return FK_EDB;
	enum fk_status st = FK_OK;
	int64_t expires_at = 0;
	sqlite3_bind_blob(q, 1, th, sizeof(th), SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, fk_now());
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE) {
		st = fk_fail(err, FK_EAUTH, "session expired or unknown");
	} else if (rc != SQLITE_ROW) {
		st = fk_fail(err, FK_EDB, "cannot read sessions: %s", sqlite3_errmsg(db));
	} else if (!user_from_row(q, 4, 5, out)) {
		st = fk_fail(err, FK_EAUTH, "session expired or unknown");
	} else {
		expires_at = sqlite3_column_int64(q, 6);
	}
	if (cached)
		store_stmt_done(q);
	else
		sqlite3_finalize(q);
	if (cached && !st)
		scache_put(th, out, expires_at, gen0);
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
	/* outside a transaction the DELETE commits on its own: forget after
	 * it; inside the caller's, forget now and mark the user pending */
	bool in_txn = sqlite3_get_autocommit(wdb) == 0;
	if (in_txn)
		scache_forget(user_id, true);
	sqlite3_bind_int64(del, 1, user_id);
	sqlite3_bind_blob(del, 2, th, sizeof(th), SQLITE_STATIC);
	int rc = sqlite3_step(del);
	if (!in_txn)
		scache_forget(user_id, false);
	if (rc != SQLITE_DONE)
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
	int64_t user_id = 0;
	bool own = false;

	if (!token_valid(token))
		return fk_fail(err, FK_EAUTH, "session expired or unknown");
	token_hash(token, th);
	own = sqlite3_get_autocommit(wdb) != 0;
	if (own && (st = store_begin(wdb, err)))
		return st;
	who = store_prepare(wdb, "SELECT u.username, u.id FROM sessions s"
				 " JOIN users u ON u.id=s.user_id WHERE s.token_hash=?",
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
	user_id = sqlite3_column_int64(who, 1);
	if (!own)
		scache_forget(user_id, true); /* commits later, in the caller */
	sqlite3_bind_blob(del, 1, th, sizeof(th), SQLITE_STATIC);
	if (sqlite3_step(del) != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot end session: %s", sqlite3_errmsg(wdb));
		goto rollback;
	}
	if ((st = audit_append(wdb, username, "session.logout", username, "", origin, err)))
		goto rollback;
	if (own && (st = store_commit(wdb, err)))
		goto rollback;
	if (own)
		scache_forget(user_id, false);
	goto done;
rollback:
	if (own)
		store_rollback(wdb);
done:
	sqlite3_finalize(who);
	sqlite3_finalize(del);
	return st;
}
