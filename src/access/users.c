/* users.c — accounts: creation (validated, hashed, audited) and lookup.
 *
 * A user row and its "user.create" audit record are written in one
 * transaction: the caller's if one is open, else our own.  Password hashing
 * (argon2id, slow on purpose) runs before that transaction starts.
 */
#include "access/access.h"

#include <stdio.h>
#include <string.h>

#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

/* 2..64 of [A-Za-z0-9._-], starting with a letter or digit: names are
 * typed on phones and read aloud, so no spaces, no look-alike Unicode. */
static bool username_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > USERNAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

static enum fk_status region_exists(sqlite3 *db, const char *code, bool *found,
				    struct fk_err *err)
{
	sqlite3_stmt *q = store_prepare(db, "SELECT 1 FROM regions WHERE code=?", err);
	if (!q)
		return FK_EDB;
	enum fk_status st = FK_OK;
	sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		*found = rc == SQLITE_ROW;
	else
		st = fk_fail(err, FK_EDB, "cannot read regions: %s", sqlite3_errmsg(db));
	sqlite3_finalize(q);
	return st;
}

enum fk_status user_create(sqlite3 *wdb, const char *username, const char *password,
			   enum role role, const char *scope, const char *created_by,
			   const char *origin, struct user *out, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	sqlite3_stmt *ins = NULL;
	char pwhash[crypto_pwhash_STRBYTES];
	char detail[128];
	bool own = false, found = false;

	if (!username || !username_valid(username))
		return fk_fail(err, FK_EINVAL,
			       "username '%s' is not valid: use 2 to %d letters, digits, '.', '_' "
			       "or '-', starting with a letter or digit",
			       username ? username : "", USERNAME_MAX);
	if ((unsigned)role >= ROLE_COUNT)
		return fk_fail(err, FK_EINVAL, "unknown role");
	if (!scope || strlen(scope) > SCOPE_MAX || !fk_all_digits(scope, strlen(scope)))
		return fk_fail(err, FK_EINVAL, "scope '%s' is not a region code", scope ? scope : "");
	if (!password_acceptable(password))
		return fk_fail(err, FK_EINVAL, "password is too weak: use at least 10 characters");
	if ((st = password_hash(password, pwhash, err)))
		return st;

	own = sqlite3_get_autocommit(wdb) != 0;
	if (own && (st = store_begin(wdb, err)))
		return st;
	if (*scope) {
		if ((st = region_exists(wdb, scope, &found, err)))
			goto rollback;
		if (!found) {
			st = fk_fail(err, FK_EINVAL, "scope region '%s' does not exist", scope);
			goto rollback;
		}
	}
	ins = store_prepare(wdb,
			    "INSERT INTO users(username, pwhash, role, scope, created_at, created_by)"
			    " VALUES(?,?,?,?,?,?)",
			    err);
	if (!ins) {
		st = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_text(ins, 1, username, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 2, pwhash, -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 3, role_name(role), -1, SQLITE_STATIC);
	sqlite3_bind_text(ins, 4, scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 5, fk_now());
	sqlite3_bind_text(ins, 6, created_by ? created_by : "-", -1, SQLITE_STATIC);
	int rc = sqlite3_step(ins);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		st = fk_fail(err, FK_ECONFLICT, "user '%s' already exists", username);
		goto rollback;
	}
	if (rc != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot create user '%s': %s", username,
			     sqlite3_errmsg(wdb));
		goto rollback;
	}
	int64_t id = sqlite3_last_insert_rowid(wdb);
	snprintf(detail, sizeof(detail), "role=%s scope=%s", role_name(role), scope);
	if ((st = audit_append(wdb, created_by ? created_by : "-", "user.create", username, detail,
			       origin, err)))
		goto rollback;
	if (own && (st = store_commit(wdb, err)))
		goto rollback;
	if (out) {
		out->id = id;
		fk_strlcpy(out->username, username, sizeof(out->username));
		out->role = role;
		fk_strlcpy(out->scope, scope, sizeof(out->scope));
	}
	goto done;
rollback:
	if (own)
		store_rollback(wdb);
done:
	sodium_memzero(pwhash, sizeof(pwhash));
	sqlite3_finalize(ins);
	return st;
}

enum fk_status user_get_by_name(sqlite3 *db, const char *username, struct user *out,
				struct fk_err *err)
{
	sqlite3_stmt *q = store_prepare(db, "SELECT id, username, role, scope FROM users"
					    " WHERE username=?",
					err);
	if (!q)
		return FK_EDB;
	enum fk_status st = FK_OK;
	sqlite3_bind_text(q, 1, username, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE) {
		st = fk_fail(err, FK_ENOTFOUND, "no user '%s'", username);
	} else if (rc != SQLITE_ROW) {
		st = fk_fail(err, FK_EDB, "cannot read users: %s", sqlite3_errmsg(db));
	} else if (!role_parse((const char *)sqlite3_column_text(q, 2), &out->role)) {
		st = fk_fail(err, FK_EDB, "user '%s' has an unknown role '%s'", username,
			     (const char *)sqlite3_column_text(q, 2));
	} else {
		out->id = sqlite3_column_int64(q, 0);
		fk_strlcpy(out->username, (const char *)sqlite3_column_text(q, 1),
			   sizeof(out->username));
		fk_strlcpy(out->scope, (const char *)sqlite3_column_text(q, 3), sizeof(out->scope));
	}
	sqlite3_finalize(q);
	return st;
}
