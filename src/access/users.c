/* users.c — accounts: creation (validated, hashed, audited), lookup and
 * password changes by their owner.
 *
 * A user row and its "user.create" audit record are written in one
 * transaction: the caller's if one is open, else our own.  Password hashing
 * (argon2id, slow on purpose) runs before that transaction starts.
 *
 * A password someone else set (USER_MUST_CHANGE_PASSWORD) is known to them:
 * an admin who may not read health data could otherwise log in as the
 * tracer it created.  must_change_password stays 1 until the owner proves
 * the old password and sets a new one; the store step swaps the hash only
 * if it is still the one verified, so two changes racing cannot both win.
 */
#include "access/access.h"
#include "access/access_int.h"

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

/* The person an account will speak for, by ID number: *person_id and
 * grid (natural-length code) when found and inside within_scope. */
static enum fk_status person_for_account(sqlite3 *db, const char *id_number,
					 const char *within_scope, int64_t *person_id,
					 char *grid, size_t grid_size, struct fk_err *err)
{
	sqlite3_stmt *q =
		store_prepare(db, "SELECT id, grid_code FROM persons WHERE id_number=?", err);
	if (!q)
		return FK_EDB;
	enum fk_status st = FK_OK;
	char norm[24];
	fk_strlcpy(norm, id_number, sizeof(norm));
	for (char *c = norm; *c; c++)
		if (*c == 'x')
			*c = 'X'; /* ID numbers are stored with a capital X */
	sqlite3_bind_text(q, 1, norm, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*person_id = sqlite3_column_int64(q, 0);
		fk_strlcpy(grid, (const char *)sqlite3_column_text(q, 1), grid_size);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		st = fk_fail(err, FK_EDB, "cannot read persons: %s", sqlite3_errmsg(db));
	else if (rc == SQLITE_DONE || (within_scope && !access_scope_contains(within_scope, grid)))
		/* one message for unknown and out of scope: no probing */
		st = fk_fail(err, FK_EINVAL, "no registered person with that ID number%s",
			     within_scope && *within_scope ? " in your scope" : "");
	sqlite3_finalize(q);
	return st;
}

enum fk_status user_create(sqlite3 *wdb, const char *username, const char *password,
			   enum role role, const char *scope, unsigned flags,
			   const char *created_by, const char *origin, struct user *out,
			   struct fk_err *err)
{
	return user_create_person(wdb, username, password, role, scope, NULL, NULL, flags,
				  created_by, origin, out, err);
}

enum fk_status user_create_person(sqlite3 *wdb, const char *username, const char *password,
				  enum role role, const char *scope,
				  const char *person_id_number, const char *within_scope,
				  unsigned flags, const char *created_by, const char *origin,
				  struct user *out, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	sqlite3_stmt *ins = NULL;
	char pwhash[crypto_pwhash_STRBYTES];
	char detail[160], grid[SCOPE_MAX + 1] = "";
	bool own = false, found = false;
	int64_t person_id = 0;

	if (!username || !username_valid(username))
		return fk_fail(err, FK_EINVAL,
			       "username '%s' is not valid: use 2 to %d letters, digits, '.', '_' "
			       "or '-', starting with a letter or digit",
			       username ? username : "", USERNAME_MAX);
	if ((unsigned)role >= ROLE_COUNT)
		return fk_fail(err, FK_EINVAL, "unknown role");
	if (role == ROLE_CITIZEN && (!person_id_number || !*person_id_number))
		return fk_fail(err, FK_EINVAL,
			       "a citizen account must name the person it speaks for (ID number)");
	if (role != ROLE_CITIZEN && person_id_number)
		return fk_fail(err, FK_EINVAL,
			       "only citizen accounts are bound to a person; role '%s' is not",
			       role_name(role));
	if (role == ROLE_CITIZEN && !scope)
		scope = "";
	if (!scope || strlen(scope) > SCOPE_MAX || !fk_all_digits(scope, strlen(scope)))
		return fk_fail(err, FK_EINVAL, "scope '%s' is not a region code", scope ? scope : "");
	if (!password_acceptable(password))
		return fk_fail(err, FK_EINVAL, "password is too weak: use at least 10 characters");
	if ((st = password_hash(password, pwhash, err)))
		return st;

	own = sqlite3_get_autocommit(wdb) != 0;
	if (own && (st = store_begin(wdb, err)))
		return st;
	if (role == ROLE_CITIZEN) {
		if ((st = person_for_account(wdb, person_id_number, within_scope, &person_id, grid,
					     sizeof(grid), err)))
			goto rollback;
		if (*scope && strcmp(scope, grid)) {
			st = fk_fail(err, FK_EINVAL,
				     "a citizen's scope is the person's own grid '%s', not '%s'", grid,
				     scope);
			goto rollback;
		}
		scope = grid;
	}
	if (*scope) {
		if ((st = region_exists(wdb, scope, &found, err)))
			goto rollback;
		if (!found) {
			st = fk_fail(err, FK_EINVAL, "scope region '%s' does not exist", scope);
			goto rollback;
		}
	}
	ins = store_prepare(wdb,
			    "INSERT INTO users(username, pwhash, role, scope, created_at, created_by,"
			    " must_change_password, person_id) VALUES(?,?,?,?,?,?,?,?)",
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
	sqlite3_bind_int(ins, 7, (flags & USER_MUST_CHANGE_PASSWORD) ? 1 : 0);
	if (person_id)
		sqlite3_bind_int64(ins, 8, person_id);
	else
		sqlite3_bind_null(ins, 8);
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
	if (person_id)
		snprintf(detail, sizeof(detail), "role=%s scope=%s person=%lld", role_name(role),
			 scope, (long long)person_id);
	else
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
		out->must_change_password = (flags & USER_MUST_CHANGE_PASSWORD) != 0;
		out->person_id = person_id;
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

bool user_from_row(sqlite3_stmt *q, int must_change_col, int person_col, struct user *out)
{
	out->id = sqlite3_column_int64(q, 0);
	out->person_id = sqlite3_column_int64(q, person_col); /* NULL reads as 0 */
	fk_strlcpy(out->username, (const char *)sqlite3_column_text(q, 1), sizeof(out->username));
	fk_strlcpy(out->scope, (const char *)sqlite3_column_text(q, 3), sizeof(out->scope));
	out->must_change_password = sqlite3_column_int(q, must_change_col) != 0;
	return role_parse((const char *)sqlite3_column_text(q, 2), &out->role);
}

enum fk_status user_get_by_name(sqlite3 *db, const char *username, struct user *out,
				struct fk_err *err)
{
	sqlite3_stmt *q = store_prepare(db,
					"SELECT id, username, role, scope, must_change_password,"
					" person_id FROM users WHERE username=?",
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
	} else if (!user_from_row(q, 4, 5, out)) {
		st = fk_fail(err, FK_EDB, "user '%s' has an unknown role '%s'", username,
			     (const char *)sqlite3_column_text(q, 2));
	}
	sqlite3_finalize(q);
	return st;
}

/* ---------- password changes ---------- */

enum fk_status password_change_acceptable(const char *old_password, const char *new_password,
					  struct fk_err *err)
{
	if (!password_acceptable(new_password))
		return fk_fail(err, FK_EINVAL,
			       "new password is too weak: use at least 10 characters");
	if (old_password && !strcmp(old_password, new_password))
		return fk_fail(err, FK_EINVAL, "new password must differ from the old one");
	return FK_OK;
}

enum fk_status user_password_check(sqlite3 *db, int64_t user_id, const char *password,
				   char verified_hash[crypto_pwhash_STRBYTES],
				   struct fk_err *err)
{
	enum fk_status st = FK_OK;
	sqlite3_stmt *q = store_prepare(db, "SELECT pwhash FROM users WHERE id=? AND disabled=0",
					err);
	if (!q)
		return FK_EDB;
	sqlite3_bind_int64(q, 1, user_id);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(q, 0);
		if (h && password_verify(h, password) &&
		    fk_strlcpy(verified_hash, h, crypto_pwhash_STRBYTES))
			goto done;
		st = fk_fail(err, FK_EAUTH, "the current password is wrong");
	} else if (rc == SQLITE_DONE) {
		st = fk_fail(err, FK_EAUTH, "the current password is wrong");
	} else {
		st = fk_fail(err, FK_EDB, "cannot read users: %s", sqlite3_errmsg(db));
	}
done:
	sqlite3_finalize(q);
	return st;
}

enum fk_status user_password_store(sqlite3 *wdb, const struct user *u,
				   const char *verified_hash, const char *new_hash,
				   const char *keep_token, const char *origin, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	sqlite3_stmt *upd = NULL;
	char detail[64];
	int ended = 0;
	bool own = sqlite3_get_autocommit(wdb) != 0;

	if (own && (st = store_begin(wdb, err)))
		return st;
	upd = store_prepare(wdb,
			    "UPDATE users SET pwhash=?, must_change_password=0"
			    " WHERE id=? AND pwhash=? AND disabled=0",
			    err);
	if (!upd) {
		st = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_text(upd, 1, new_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(upd, 2, u->id);
	sqlite3_bind_text(upd, 3, verified_hash, -1, SQLITE_STATIC);
	if (sqlite3_step(upd) != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot change the password of '%s': %s", u->username,
			     sqlite3_errmsg(wdb));
		goto rollback;
	}
	if (sqlite3_changes(wdb) != 1) {
		st = fk_fail(err, FK_ECONFLICT,
			     "the password of '%s' was changed meanwhile; log in again", u->username);
		goto rollback;
	}
	if ((st = session_end_others(wdb, u->id, keep_token, &ended, err)))
		goto rollback;
	snprintf(detail, sizeof(detail), "other sessions ended=%d", ended);
	if ((st = audit_append(wdb, u->username, "user.password_change", u->username, detail,
			       origin, err)))
		goto rollback;
	if (own && (st = store_commit(wdb, err)))
		goto rollback;
	goto done;
rollback:
	if (own)
		store_rollback(wdb);
done:
	sqlite3_finalize(upd);
	return st;
}

enum fk_status user_password_change(sqlite3 *wdb, const struct user *u,
				    const char *old_password, const char *new_password,
				    const char *keep_token, const char *origin, struct fk_err *err)
{
	char verified[crypto_pwhash_STRBYTES], fresh[crypto_pwhash_STRBYTES];
	enum fk_status st;
	if (!(st = password_change_acceptable(old_password, new_password, err)) &&
	    !(st = user_password_check(wdb, u->id, old_password, verified, err)) &&
	    !(st = password_hash(new_password, fresh, err)))
		st = user_password_store(wdb, u, verified, fresh, keep_token, origin, err);
	sodium_memzero(verified, sizeof(verified));
	sodium_memzero(fresh, sizeof(fresh));
	return st;
}
