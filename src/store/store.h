/* store.h — the SQLite store: open, migrations, transactions, and the
 * connection discipline of the server.
 *
 * Design note.  One database file in WAL mode with foreign keys on.  There
 * is exactly one writer path: in the server every change goes through the
 * connection returned by store_writer_lock() and is released with
 * store_writer_unlock(); the mutex serialises writers so SQLITE_BUSY never
 * reaches a user.  Readers use store_reader(), a read-only connection per
 * thread (thread-local, opened on first use, closed by store_reader_close()
 * at thread end or store_shutdown()); WAL lets them read while the writer
 * writes.  Command-line tools that are the only process writing may use the
 * connection from store_open() directly.
 *
 * Migrations are numbered; schema_version holds the highest applied.  A
 * database newer than this binary is refused rather than misread.
 */
#ifndef FK_STORE_H
#define FK_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

enum store_flags {
	STORE_CREATE = 1 << 0,   /* create the file and migrate if needed */
	STORE_READONLY = 1 << 1, /* open read-only (a reader) */
	STORE_MIGRATE = 1 << 2,  /* apply pending migrations on open */
};

/* Opens path.  On success *out is a connection the caller closes with
 * store_close(); on failure *out is NULL and err says why. */
enum fk_status store_open(const char *path, unsigned flags, sqlite3 **out, struct fk_err *err);
void store_close(sqlite3 *db);

/* The database path from --db, then $FANGKONG_DB, then ./fangkong.db. */
const char *store_default_path(const char *flag_value);

/* Schema version applied, or -1 on error. */
int store_schema_version(sqlite3 *db);
int store_latest_version(void);

enum fk_status store_exec(sqlite3 *db, const char *sql, struct fk_err *err);
enum fk_status store_begin(sqlite3 *db, struct fk_err *err);  /* BEGIN IMMEDIATE */
enum fk_status store_commit(sqlite3 *db, struct fk_err *err);
void store_rollback(sqlite3 *db);

/* Prepares sql; on failure returns NULL and fills err with the sqlite
 * message.  Caller finalizes. */
sqlite3_stmt *store_prepare(sqlite3 *db, const char *sql, struct fk_err *err);
/* Runs a query returning one integer (first column of first row); def if
 * no row. */
int64_t store_query_int(sqlite3 *db, const char *sql, int64_t def);

/* meta table: small key/value settings (city code, key ids...). */
enum fk_status store_meta_set(sqlite3 *db, const char *key, const char *value,
			      struct fk_err *err);
/* Copies the value into buf; false if absent. */
bool store_meta_get(sqlite3 *db, const char *key, char *buf, size_t size);
/* A secret of `bytes` random bytes (at most STORE_META_KEY_MAX) kept as
 * hex in meta[name].  store_meta_key_read: *found false when absent;
 * FK_EDB when the value is not 2 * bytes hex digits. */
#define STORE_META_KEY_MAX 64
enum fk_status store_meta_key_read(sqlite3 *db, const char *name, size_t bytes,
				   unsigned char *key, bool *found, struct fk_err *err);
/* Reads the secret; when absent and create, stores a fresh random one
 * (keeping the one another process may have stored first) and reads it
 * back; when absent and not create, FK_ENOTFOUND.  what names the secret
 * in messages ("no <what> in meta '<name>'"). */
enum fk_status store_meta_key(sqlite3 *db, const char *name, const char *what, size_t bytes,
			      bool create, unsigned char *key, struct fk_err *err);

/* --- server connection discipline --- */
/* Sets the path used by store_reader() and store_writer_lock(). */
enum fk_status store_server_init(const char *path, struct fk_err *err);
/* Read-only connection for the calling thread; NULL on failure. */
sqlite3 *store_reader(void);
void store_reader_close(void);
/* A prepared statement on the calling thread's reader, cached per thread
 * and keyed by the address of sql (pass string literals or other strings
 * that live as long as the thread).  Returns NULL and fills err on
 * failure.  Never finalize it: hand it back with store_stmt_done(), which
 * resets it and clears its bindings (NULL is accepted). */
sqlite3_stmt *store_reader_stmt(const char *sql, struct fk_err *err);
void store_stmt_done(sqlite3_stmt *st);
/* How long the server's writer waits for a lock another process holds
 * (an import) before a request fails with 503. */
#define STORE_WRITER_BUSY_MS 2000
/* The single writer; always pair with store_writer_unlock(). */
sqlite3 *store_writer_lock(void);
void store_writer_unlock(void);
void store_shutdown(void);
const char *store_server_path(void);

#endif
