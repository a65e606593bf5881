#include "store/store.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/schema.h"

#include "lib/banned.h"

int store_latest_version(void)
{
	return (int)FK_ARRAY_LEN(store_migrations);
}

const char *store_default_path(const char *flag_value)
{
	if (flag_value && *flag_value)
		return flag_value;
	const char *env = getenv("FANGKONG_DB");
	if (env && *env)
		return env;
	return "fangkong.db";
}

enum fk_status store_exec(sqlite3 *db, const char *sql, struct fk_err *err)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fk_fail(err, FK_EDB, "database error: %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return FK_EDB;
	}
	return FK_OK;
}

enum fk_status store_begin(sqlite3 *db, struct fk_err *err)
{
	return store_exec(db, "BEGIN IMMEDIATE", err);
}

enum fk_status store_commit(sqlite3 *db, struct fk_err *err)
{
	return store_exec(db, "COMMIT", err);
}

void store_rollback(sqlite3 *db)
{
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

sqlite3_stmt *store_prepare(sqlite3 *db, const char *sql, struct fk_err *err)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fk_fail(err, FK_EDB, "database error: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

int64_t store_query_int(sqlite3 *db, const char *sql, int64_t def)
{
	sqlite3_stmt *st = NULL;
	int64_t v = def;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int store_schema_version(sqlite3 *db)
{
	int has = (int)store_query_int(
		db, "SELECT count(*) FROM sqlite_master WHERE name='schema_version'", -1);
	if (has < 0)
		return -1;
	if (has == 0)
		return 0;
	return (int)store_query_int(db, "SELECT coalesce(max(version),0) FROM schema_version", -1);
}

static enum fk_status migrate(sqlite3 *db, const char *path, struct fk_err *err)
{
	enum fk_status st = store_begin(db, err);
	if (st)
		return st;
	st = store_exec(db,
			"CREATE TABLE IF NOT EXISTS schema_version("
			" version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
			err);
	if (st)
		goto rollback;
	int have = store_schema_version(db);
	int want = store_latest_version();
	if (have < 0) {
		st = fk_fail(err, FK_EDB, "cannot read schema version of '%s'", path);
		goto rollback;
	}
	if (have > want) {
		st = fk_fail(err, FK_EDB,
			     "database '%s' has schema version %d, newer than this fangkong (%d)",
			     path, have, want);
		goto rollback;
	}
	for (int v = have + 1; v <= want; v++) {
		st = store_exec(db, store_migrations[v - 1], err);
		if (st)
			goto rollback;
		char sql[128];
		snprintf(sql, sizeof(sql), "INSERT INTO schema_version VALUES(%d, %lld)", v,
			 (long long)fk_now());
		st = store_exec(db, sql, err);
		if (st)
			goto rollback;
	}
	return store_commit(db, err);
rollback:
	store_rollback(db);
	return st;
}

enum fk_status store_open(const char *path, unsigned flags, sqlite3 **out, struct fk_err *err)
{
	sqlite3 *db = NULL;
	enum fk_status st = FK_OK;
	int oflags = SQLITE_OPEN_NOMUTEX;
	if (flags & STORE_READONLY)
		oflags |= SQLITE_OPEN_READONLY;
	else
		oflags |= SQLITE_OPEN_READWRITE | ((flags & STORE_CREATE) ? SQLITE_OPEN_CREATE : 0);
	*out = NULL;
	if (sqlite3_open_v2(path, &db, oflags, NULL) != SQLITE_OK) {
		st = fk_fail(err, FK_EDB, "cannot open database '%s': %s", path,
			     db ? sqlite3_errmsg(db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(db, 10000);
	sqlite3_extended_result_codes(db, 1);
	if (!(flags & STORE_READONLY)) {
		st = store_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", err);
		if (st)
			goto fail;
	}
	st = store_exec(db, "PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536;"
			    "PRAGMA temp_store=MEMORY;", err);
	if (st)
		goto fail;
	if (flags & (STORE_CREATE | STORE_MIGRATE)) {
		st = migrate(db, path, err);
		if (st)
			goto fail;
	} else {
		int v = store_schema_version(db);
		if (v <= 0) {
			st = fk_fail(err, FK_EDB,
				     "'%s' is not a fangkong database (run 'fangkong init')", path);
			goto fail;
		}
		if (v > store_latest_version()) {
			st = fk_fail(err, FK_EDB,
				     "database '%s' has schema version %d, newer than this fangkong",
				     path, v);
			goto fail;
		}
	}
	*out = db;
	return FK_OK;
fail:
	sqlite3_close(db);
	return st;
}

void store_close(sqlite3 *db)
{
	sqlite3_close(db);
}

enum fk_status store_meta_set(sqlite3 *db, const char *key, const char *value,
			      struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(db, "INSERT INTO meta(key,value) VALUES(?,?) "
					     "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
					 err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	enum fk_status s = FK_OK;
	if (sqlite3_step(st) != SQLITE_DONE)
		s = fk_fail(err, FK_EDB, "cannot set '%s': %s", key, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return s;
}

bool store_meta_get(sqlite3 *db, const char *key, char *buf, size_t size)
{
	sqlite3_stmt *st = NULL;
	bool ok = false;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key=?", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			fk_strlcpy(buf, (const char *)sqlite3_column_text(st, 0), size);
			ok = true;
		}
	}
	sqlite3_finalize(st);
	return ok;
}

/* --- server connections --- */

static char *server_path;
static sqlite3 *writer;
static pthread_mutex_t writer_mu = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local sqlite3 *reader;
/* A key whose destructor closes a pool thread's reader when it exits. */
static pthread_key_t reader_key;
static pthread_once_t reader_key_once = PTHREAD_ONCE_INIT;

static void reader_thread_exit(void *unused)
{
	(void)unused;
	store_reader_close();
}

static void reader_key_make(void)
{
	pthread_key_create(&reader_key, reader_thread_exit);
}

enum fk_status store_server_init(const char *path, struct fk_err *err)
{
	/* Before SQLite initialises: connections are never shared between
	 * threads (one reader per thread, the writer behind writer_mu), so
	 * SQLite's own per-connection mutexes are unneeded, and its global
	 * memory-statistics mutex serialises every allocation of every
	 * thread.  Both are off.  (Fails harmlessly if SQLite is already
	 * initialised, e.g. in tests.) */
	sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	free(server_path);
	server_path = fk_xstrdup(path);
	pthread_once(&reader_key_once, reader_key_make);
	enum fk_status st = store_open(path, STORE_MIGRATE, &writer, err);
	/* the writer is shared by every request: an outside writer (an
	 * import) may hold the file for a while, but a request must not wait
	 * 10 s holding writer_mu; 2 s, then the request fails (503) */
	if (!st)
		sqlite3_busy_timeout(writer, STORE_WRITER_BUSY_MS);
	return st;
}

const char *store_server_path(void)
{
	return server_path;
}

sqlite3 *store_reader(void)
{
	if (!reader && server_path) {
		struct fk_err err;
		if (store_open(server_path, STORE_READONLY, &reader, &err) != FK_OK) {
			fprintf(stderr, "fangkong: %s\n", err.msg);
			return NULL;
		}
		pthread_setspecific(reader_key, &reader); /* non-NULL: run the destructor */
	}
	return reader;
}

#define STMT_CACHE_MAX 64
static _Thread_local struct {
	const char *sql;
	sqlite3_stmt *st;
} stmt_cache[STMT_CACHE_MAX];
static _Thread_local size_t stmt_cached;

sqlite3_stmt *store_reader_stmt(const char *sql, struct fk_err *err)
{
	sqlite3 *db = store_reader();
	if (!db) {
		fk_fail(err, FK_EDB, "database unavailable");
		return NULL;
	}
	for (size_t i = 0; i < stmt_cached; i++)
		if (stmt_cache[i].sql == sql)
			return stmt_cache[i].st;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		fk_fail(err, FK_EDB, "database error: %s", sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return NULL;
	}
	if (stmt_cached < STMT_CACHE_MAX) {
		stmt_cache[stmt_cached].sql = sql;
		stmt_cache[stmt_cached].st = st;
		stmt_cached++;
	}
	/* past the cap the statement is not cached; store_stmt_done finalizes it */
	return st;
}

void store_stmt_done(sqlite3_stmt *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < stmt_cached; i++)
		if (stmt_cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return;
		}
	sqlite3_finalize(st);
}

void store_reader_close(void)
{
	for (size_t i = 0; i < stmt_cached; i++)
		sqlite3_finalize(stmt_cache[i].st);
	stmt_cached = 0;
	sqlite3_close(reader);
	reader = NULL;
}

sqlite3 *store_writer_lock(void)
{
	pthread_mutex_lock(&writer_mu);
	return writer;
}

void store_writer_unlock(void)
{
	pthread_mutex_unlock(&writer_mu);
}

void store_shutdown(void)
{
	store_reader_close();
	pthread_mutex_lock(&writer_mu);
	sqlite3_close(writer);
	writer = NULL;
	pthread_mutex_unlock(&writer_mu);
	free(server_path);
	server_path = NULL;
}

enum fk_status store_meta_key_read(sqlite3 *db, const char *name, size_t bytes,
				   unsigned char *key, bool *found, struct fk_err *err)
{
	char hex[STORE_META_KEY_MAX * 2 + 2];
	size_t got = 0;
	enum fk_status st = FK_OK;
	if (bytes == 0 || bytes > STORE_META_KEY_MAX)
		return fk_fail(err, FK_EINVAL, "meta key '%s': %zu bytes is out of range", name,
			       bytes);
	*found = store_meta_get(db, name, hex, sizeof(hex));
	if (*found && (strlen(hex) != bytes * 2 ||
		       sodium_hex2bin(key, bytes, hex, bytes * 2, NULL, &got, NULL) != 0 ||
		       got != bytes))
		st = fk_fail(err, FK_EDB, "meta '%s' is not %zu hex digits", name, bytes * 2);
	sodium_memzero(hex, sizeof(hex));
	return st;
}

enum fk_status store_meta_key(sqlite3 *db, const char *name, const char *what, size_t bytes,
			      bool create, unsigned char *key, struct fk_err *err)
{
	unsigned char fresh[STORE_META_KEY_MAX];
	char hex[STORE_META_KEY_MAX * 2 + 1];
	sqlite3_stmt *ins = NULL;
	bool found = false;
	enum fk_status st = store_meta_key_read(db, name, bytes, key, &found, err);
	if (st || found)
		return st;
	if (!create)
		return fk_fail(err, FK_ENOTFOUND, "no %s in meta '%s'", what, name);
	if (sodium_init() < 0)
		return fk_fail(err, FK_EIO, "cannot initialise libsodium");
	randombytes_buf(fresh, bytes);
	sodium_bin2hex(hex, sizeof(hex), fresh, bytes);
	ins = store_prepare(db,
			    "INSERT INTO meta(key, value) VALUES(?1, ?2)"
			    " ON CONFLICT(key) DO NOTHING",
			    err);
	if (!ins) {
		st = FK_EDB;
		goto wipe;
	}
	sqlite3_bind_text(ins, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 2, hex, -1, SQLITE_STATIC);
	if (sqlite3_step(ins) != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot store the %s: %s", what, sqlite3_errmsg(db));
		goto wipe;
	}
	/* read back: another process may have stored its key first */
	st = store_meta_key_read(db, name, bytes, key, &found, err);
	if (!st && !found)
		st = fk_fail(err, FK_EDB, "%s vanished after it was stored", what);
wipe:
	sqlite3_finalize(ins);
	sodium_memzero(fresh, sizeof(fresh));
	sodium_memzero(hex, sizeof(hex));
	return st;
}
