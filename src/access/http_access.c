/* http_access.c — /api/v1/sessions, /api/v1/me, /api/v1/me/password,
 * /api/v1/users.
 *
 * Design note.
 * - Login runs the argon2id check (tens of milliseconds, 64 MiB) on this
 *   thread's read-only connection; the single writer is taken only for
 *   the short session insert or the failure's audit record, so logins do
 *   not stall scans and other writes.
 * - Throttling is checked before any password work.  A refused login
 *   answers 429 with Retry-After; the header value lives in a thread-local
 *   buffer, which is valid because the dispatcher sends the response on
 *   the same thread right after the handler returns.
 * - Bodies are at most ACCESS_BODY_MAX bytes (route rows) and parsed with
 *   jansson, rejecting duplicate keys; strings with embedded NULs are
 *   refused.
 * - Users are listed and created only inside the admin's own scope.  A
 *   created user must change the password at first login (the admin knows
 *   it); until then the dispatcher allows only the routes flagged
 *   ROUTE_BEFORE_PASSWORD_CHANGE.
 * - A password change verifies the old password like a login: throttled
 *   per user name and address, argon2id on the reader, the writer taken
 *   only for the store step.
 */
#include "http/http.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define ACCESS_BODY_MAX 4096
#define GENERATED_PASSWORD_LEN 16
#define SCOPE_NAME_MAX 256

static _Thread_local char retry_buf[16];

/* Name of the region a scope stands for ("全部" for the whole system, the
 * code itself if the region is unknown). */
static void scope_name(sqlite3 *db, const char *scope, char *out, size_t size)
{
	if (!*scope) {
		fk_strlcpy(out, "全部", size);
		return;
	}
	fk_strlcpy(out, scope, size);
	sqlite3_stmt *q = store_prepare(db, "SELECT name FROM regions WHERE code=?", NULL);
	if (!q)
		return;
	sqlite3_bind_text(q, 1, scope, -1, SQLITE_STATIC);
	if (sqlite3_step(q) == SQLITE_ROW)
		fk_strlcpy(out, (const char *)sqlite3_column_text(q, 0), size);
	sqlite3_finalize(q);
}

static void add_field(struct strbuf *sb, const char *key, const char *value)
{
	strbuf_add_json_str(sb, key);
	strbuf_addch(sb, ':');
	strbuf_add_json_str(sb, value);
}

/* Appends "username","role","role_label","scope","scope_name" members. */
static void add_user_fields(struct strbuf *sb, const char *username, enum role role,
			    const char *scope, const char *sname)
{
	add_field(sb, "username", username);
	strbuf_addch(sb, ',');
	add_field(sb, "role", role_name(role));
	strbuf_addch(sb, ',');
	add_field(sb, "role_label", role_label_zh(role));
	strbuf_addch(sb, ',');
	add_field(sb, "scope", scope);
	strbuf_addch(sb, ',');
	add_field(sb, "scope_name", sname);
}

/* Reads member key as a string into *out (pointer into o).  Missing and
 * optional: *out = NULL, true.  Otherwise answers 400 and returns false. */
static bool member_str(struct http_req *req, json_t *o, const char *key, bool required,
		       const char **out)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (!required)
			return true;
		http_error(req, 400, NULL, "'%s' is required", key);
		return false;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		http_error(req, 400, NULL, "'%s' must be a string", key);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

/* ---------- sessions ---------- */

static void session_post(struct http_req *req)
{
	json_t *o = http_body_object(req);
	const char *username, *password;
	struct user u;
	struct fk_err err;
	char token[TOKEN_HEX_LEN + 1], exp_s[32], sname[SCOPE_NAME_MAX];
	int64_t exp = 0;
	int wait = 0;
	sqlite3 *db, *w;
	enum fk_status st;

	if (!o)
		return;
	if (!member_str(req, o, "username", true, &username) ||
	    !member_str(req, o, "password", true, &password))
		goto done;
	if (login_attempt_begin(username, req->origin, fk_now(), &wait)) {
		snprintf(retry_buf, sizeof(retry_buf), "%d", wait);
		req->retry_after = retry_buf;
		http_error(req, 429, NULL, "too many failed logins; try again in %d seconds", wait);
		goto done;
	}
	if (!(db = http_reader(req)))
		goto done;
	st = credentials_check(db, username, password, &u, &err);
	if (st == FK_EAUTH) {
		/* the attempt was counted as a failure when it began */
		w = store_writer_lock();
		login_audit_failure(w, username, req->origin);
		store_writer_unlock();
		http_error(req, 401, NULL, "wrong username or password");
		goto done;
	}
	if (st) {
		http_fail(req, st, &err);
		goto done;
	}
	w = store_writer_lock();
	st = session_create(w, &u, req->origin, token, &exp, &err);
	store_writer_unlock();
	if (st) {
		http_fail(req, st, &err);
		goto done;
	}
	login_attempt_succeeded(username, req->origin);
	scope_name(db, u.scope, sname, sizeof(sname));
	strbuf_reset(&req->out);
	strbuf_addstr(&req->out, "{");
	add_field(&req->out, "token", token);
	strbuf_addch(&req->out, ',');
	add_field(&req->out, "expires_at", fk_format_time(exp, exp_s, sizeof(exp_s)));
	strbuf_addstr(&req->out, ",\"user\":{");
	add_user_fields(&req->out, u.username, u.role, u.scope, sname);
	strbuf_addf(&req->out, "},\"password_change_required\":%s}",
		    u.must_change_password ? "true" : "false");
	req->status = 201;
	req->content_type = "application/json; charset=utf-8";
	sodium_memzero(token, sizeof(token));
done:
	json_decref(o);
}

static void session_delete(struct http_req *req)
{
	struct fk_err err;
	sqlite3 *w = store_writer_lock();
	enum fk_status st = session_logout(w, req->token, req->origin, &err);
	store_writer_unlock();
	if (st) {
		http_fail(req, st, &err);
		return;
	}
	strbuf_reset(&req->out);
	req->status = 204;
}

static void me_get(struct http_req *req)
{
	const struct user *u = req->user;
	char sname[SCOPE_NAME_MAX];
	sqlite3 *db = http_reader(req);
	if (!db)
		return;
	scope_name(db, u->scope, sname, sizeof(sname));
	strbuf_reset(&req->out);
	strbuf_addch(&req->out, '{');
	add_user_fields(&req->out, u->username, u->role, u->scope, sname);
	strbuf_addf(&req->out, ",\"password_change_required\":%s}",
		    u->must_change_password ? "true" : "false");
	req->status = 200;
	req->content_type = "application/json; charset=utf-8";
}

static void me_password_post(struct http_req *req)
{
	json_t *o = http_body_object(req);
	const char *old_pw, *new_pw;
	char verified[crypto_pwhash_STRBYTES], fresh[crypto_pwhash_STRBYTES];
	const struct user *u = req->user;
	struct fk_err err;
	enum fk_status st;
	int wait = 0;
	sqlite3 *db, *w;

	if (!o)
		return;
	if (!member_str(req, o, "old_password", true, &old_pw) ||
	    !member_str(req, o, "new_password", true, &new_pw))
		goto done;
	if ((st = password_change_acceptable(old_pw, new_pw, &err))) {
		http_fail(req, st, &err);
		goto done;
	}
	/* a wrong old password counts as a failed login for this user name */
	if (login_attempt_begin(u->username, req->origin, fk_now(), &wait)) {
		snprintf(retry_buf, sizeof(retry_buf), "%d", wait);
		req->retry_after = retry_buf;
		http_error(req, 429, NULL, "too many wrong passwords; try again in %d seconds", wait);
		goto done;
	}
	if (!(db = http_reader(req)))
		goto done;
	st = user_password_check(db, u->id, old_pw, verified, &err);
	if (st == FK_EAUTH) {
		w = store_writer_lock();
		if (audit_append(w, u->username, "user.password_change_failed", u->username, "",
				 req->origin, &err))
			fprintf(stderr, "fangkong: cannot write audit record: %s\n", err.msg);
		store_writer_unlock();
		http_error(req, 401, "wrong_password", "the current password is wrong");
		goto done;
	}
	if (st) {
		http_fail(req, st, &err);
		goto done;
	}
	login_attempt_succeeded(u->username, req->origin);
	if ((st = password_hash(new_pw, fresh, &err))) {
		http_fail(req, st, &err);
		goto done;
	}
	w = store_writer_lock();
	st = user_password_store(w, u, verified, fresh, req->token, req->origin, &err);
	store_writer_unlock();
	if (st) {
		http_fail(req, st, &err);
		goto done;
	}
	strbuf_reset(&req->out);
	req->status = 204;
done:
	sodium_memzero(verified, sizeof(verified));
	sodium_memzero(fresh, sizeof(fresh));
	json_decref(o);
}

/* ---------- users ---------- */

static void users_get(struct http_req *req)
{
	int limit, n = 0, rc;
	char after[USERNAME_MAX + 1], hi[SCOPE_MAX + 2], cursor[128];
	char last[USERNAME_MAX + 1] = "";
	struct strbuf items = STRBUF_INIT;
	sqlite3_stmt *q = NULL;
	struct fk_err err;
	sqlite3 *db;
	bool more = false;

	if (!http_page_params(req, &limit, after, sizeof(after)))
		return;
	if (!(db = http_reader(req)))
		return;
	access_scope_upper(req->user->scope, hi, sizeof(hi));
	q = store_prepare(db,
			  "SELECT u.username, u.role, u.scope, r.name, u.created_at, u.created_by,"
			  " u.disabled FROM users u LEFT JOIN regions r ON r.code = u.scope"
			  " WHERE u.scope >= ?1 AND u.scope < ?2 AND u.username > ?3"
			  " ORDER BY u.username LIMIT ?4",
			  &err);
	if (!q) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	sqlite3_bind_text(q, 1, req->user->scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, hi, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, after, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 4, limit + 1);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == limit) {
			more = true;
			break;
		}
		const char *name = (const char *)sqlite3_column_text(q, 0);
		const char *role_s = (const char *)sqlite3_column_text(q, 1);
		const char *scope = (const char *)sqlite3_column_text(q, 2);
		const char *rname = (const char *)sqlite3_column_text(q, 3);
		enum role role = ROLE_COUNT;
		char at[32];
		bool known = role_parse(role_s, &role);
		if (n++)
			strbuf_addch(&items, ',');
		strbuf_addch(&items, '{');
		add_field(&items, "username", name);
		strbuf_addch(&items, ',');
		add_field(&items, "role", role_s);
		strbuf_addch(&items, ',');
		add_field(&items, "role_label", known ? role_label_zh(role) : "");
		strbuf_addch(&items, ',');
		add_field(&items, "scope", scope);
		strbuf_addch(&items, ',');
		add_field(&items, "scope_name", !*scope ? "全部" : rname ? rname : scope);
		strbuf_addch(&items, ',');
		add_field(&items, "created_at",
			  fk_format_time(sqlite3_column_int64(q, 4), at, sizeof(at)));
		strbuf_addch(&items, ',');
		add_field(&items, "created_by", (const char *)sqlite3_column_text(q, 5));
		strbuf_addf(&items, ",\"disabled\":%s}", sqlite3_column_int(q, 6) ? "true" : "false");
		fk_strlcpy(last, name, sizeof(last));
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		fk_fail(&err, FK_EDB, "cannot list users: %s", sqlite3_errmsg(db));
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	strbuf_reset(&req->out);
	strbuf_addstr(&req->out, "{\"items\":[");
	strbuf_add(&req->out, items.buf, items.len);
	strbuf_addstr(&req->out, "],\"next_cursor\":");
	if (more) {
		http_cursor_encode(last, cursor, sizeof(cursor));
		strbuf_add_json_str(&req->out, cursor);
	} else {
		strbuf_addstr(&req->out, "null");
	}
	strbuf_addch(&req->out, '}');
	req->status = 200;
	req->content_type = "application/json; charset=utf-8";
done:
	sqlite3_finalize(q);
	strbuf_release(&items);
}

static bool region_known(sqlite3 *db, const char *code)
{
	sqlite3_stmt *q = store_prepare(db, "SELECT 1 FROM regions WHERE code=?", NULL);
	bool found = false;
	if (!q)
		return false;
	sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
	found = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	return found;
}

static void users_post(struct http_req *req)
{
	json_t *o = http_body_object(req);
	const char *username, *role_s, *scope, *password, *person;
	char generated[GENERATED_PASSWORD_LEN + 1] = "", sname[SCOPE_NAME_MAX];
	enum role role;
	struct user u;
	struct fk_err err;
	sqlite3 *db, *w;

	if (!o)
		return;
	if (!member_str(req, o, "username", true, &username) ||
	    !member_str(req, o, "role", true, &role_s) ||
	    !member_str(req, o, "scope", false, &scope) ||
	    !member_str(req, o, "person", false, &person) ||
	    !member_str(req, o, "password", false, &password))
		goto done;
	if (!role_parse(role_s, &role)) {
		http_error(req, 422, NULL, "unknown role '%s'", role_s);
		goto done;
	}
	/* a citizen account speaks for one person, whose grid is its scope */
	if (role == ROLE_CITIZEN && !person) {
		http_error(req, 422, NULL,
			   "a citizen account must name its person ('person': ID number)");
		goto done;
	}
	if (role != ROLE_CITIZEN && person) {
		http_error(req, 422, NULL, "'person' is only for citizen accounts");
		goto done;
	}
	if (!scope && role != ROLE_CITIZEN) {
		http_error(req, 400, NULL, "'scope' is required");
		goto done;
	}
	if (scope && (!*scope || strlen(scope) > SCOPE_MAX || !fk_all_digits(scope, strlen(scope)))) {
		http_error(req, 422, NULL, "scope '%s' is not a region code", scope);
		goto done;
	}
	if (scope && !access_scope_contains(req->user->scope, scope)) {
		http_error(req, 422, NULL, "scope '%s' is outside your own scope", scope);
		goto done;
	}
	if (!(db = http_reader(req)))
		goto done;
	if (scope && !region_known(db, scope)) {
		http_error(req, 422, NULL, "scope region '%s' does not exist", scope);
		goto done;
	}
	if (password && !password_acceptable(password)) {
		http_error(req, 422, NULL, "password is too weak: use at least 10 characters");
		goto done;
	}
	if (!password) {
		password_random(generated, sizeof(generated), GENERATED_PASSWORD_LEN);
		password = generated;
	}
	w = store_writer_lock();
	enum fk_status st = user_create_person(w, username, password, role, scope, person,
					       req->user->scope, USER_MUST_CHANGE_PASSWORD,
					       req->user->username, req->origin, &u, &err);
	store_writer_unlock();
	if (st) {
		http_fail(req, st, &err);
		goto done;
	}
	scope_name(db, u.scope, sname, sizeof(sname));
	strbuf_reset(&req->out);
	strbuf_addch(&req->out, '{');
	add_user_fields(&req->out, u.username, u.role, u.scope, sname);
	if (*generated) {
		strbuf_addch(&req->out, ',');
		add_field(&req->out, "password", generated);
	}
	strbuf_addch(&req->out, '}');
	req->status = 201;
	req->content_type = "application/json; charset=utf-8";
done:
	sodium_memzero(generated, sizeof(generated));
	json_decref(o);
}

const struct http_route access_routes[] = {
	{"POST", "/api/v1/sessions", session_post, ROUTE_PUBLIC | ROUTE_JSON_BODY, 0,
	 ACCESS_BODY_MAX},
	{"DELETE", "/api/v1/sessions/current", session_delete, ROUTE_BEFORE_PASSWORD_CHANGE, 0, 0},
	{"GET", "/api/v1/me", me_get, ROUTE_BEFORE_PASSWORD_CHANGE, 0, 0},
	{"POST", "/api/v1/me/password", me_password_post,
	 ROUTE_BEFORE_PASSWORD_CHANGE | ROUTE_JSON_BODY, 0, ACCESS_BODY_MAX},
	{"GET", "/api/v1/users", users_get, 0, PERM_MANAGE_USERS, 0},
	{"POST", "/api/v1/users", users_post, ROUTE_JSON_BODY, PERM_MANAGE_USERS, ACCESS_BODY_MAX},
};
const size_t access_routes_len = FK_ARRAY_LEN(access_routes);
