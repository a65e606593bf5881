/* appeal.c — appeals against a colour (纠错, as in GB/T 38963).
 *
 * Design note.
 * - A citizen whose account speaks for a person files an appeal with a
 *   text.  The appeal keeps what the person saw when filing: the colour
 *   and the active rules (names, colours and reasons, as JSON) under the
 *   policy in force, with that policy's version.
 * - Owner: the health-role user (role_is_health, not disabled) whose scope
 *   contains the person's grid, the narrowest scope first (longest code),
 *   the lowest id on a tie; when there is none the appeal is unassigned
 *   (owner null) and shows as such to the command, which sees every
 *   appeal of its scope.  Due: filed + policy appeal_deadline_hours.
 *   Overdue: still open after its due time.
 * - At most APPEAL_OPEN_MAX open appeals per person (429): the path must
 *   stay usable for everyone, so one person cannot flood their owner.
 * - Decisions: upheld (the colour was right) or corrected (it was wrong
 *   and has been corrected), always with a text, by a health-role user
 *   with the person in scope.  The person sees the outcome, who owns the
 *   appeal and whether it is overdue (hc_person_appeals_json).  A citizen
 *   may withdraw their own open appeal.
 * - Scope: staff see an appeal when its person lives in their scope,
 *   masked (name, ID number); otherwise 404.  Every read of appeals is
 *   audited (http_audit, fail closed); every change is audited inside its
 *   write transaction.
 */
#include "healthcode/healthcode.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healthcode/hc_int.h"
#include "http/http.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define APPEAL_OPEN_MAX 3
#define APPEAL_TEXT_MAX 2000   /* bytes */
#define APPEAL_BODY_MAX 8192
#define APPEAL_PERSON_LIST_MAX 100
#define REASON_MAX 512
#define KEY_MAX 32

/* ---------------- the person's view ---------------- */

#define PERSON_APPEAL_SELECT                                                                    \
	"SELECT a.id, a.colour, a.text, a.filed_at, a.due_at, a.status, a.outcome,"            \
	" coalesce(ou.username, ''), coalesce(ou.role, ''), coalesce(a.decided_at, 0)"         \
	" FROM appeals a LEFT JOIN users ou ON ou.id = a.owner_id "

static void person_appeal_json(struct strbuf *o, sqlite3_stmt *st, int64_t now)
{
	const char *status = http_col(st, 5);
	int64_t due = sqlite3_column_int64(st, 4);
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"colour\":", (int64_t)sqlite3_column_int64(st, 0));
	strbuf_add_json_str(o, http_col(st, 1));
	strbuf_addstr(o, ",\"text\":");
	strbuf_add_json_str(o, http_col(st, 2));
	hc_time_member(o, "filed_at", sqlite3_column_int64(st, 3));
	hc_time_member(o, "due_at", due);
	strbuf_addstr(o, ",\"status\":");
	strbuf_add_json_str(o, status);
	strbuf_addstr(o, ",\"outcome\":");
	strbuf_add_json_str(o, http_col(st, 6));
	hc_user_member(o, "owner", http_col(st, 7), http_col(st, 8), false);
	hc_time_member(o, "decided_at", sqlite3_column_int64(st, 9));
	strbuf_addf(o, ",\"overdue\":%s}",
		    !strcmp(status, "open") && due < now ? "true" : "false");
}

enum fk_status hc_person_appeals_json(sqlite3 *db, int64_t person_id, struct strbuf *o,
				      struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(
		db, PERSON_APPEAL_SELECT "WHERE a.person_id = ?1 ORDER BY a.id DESC LIMIT ?2", err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, person_id);
	sqlite3_bind_int(st, 2, APPEAL_PERSON_LIST_MAX);
	int64_t now = fk_now();
	size_t mark = o->len;
	int rc, n = 0;
	enum fk_status s = FK_OK;
	strbuf_addstr(o, "\"appeals\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++)
			strbuf_addch(o, ',');
		person_appeal_json(o, st, now);
	}
	strbuf_addch(o, ']');
	if (rc != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "reading appeals: %s", sqlite3_errmsg(db));
		o->len = mark;
		o->buf[mark] = '\0';
	}
	sqlite3_finalize(st);
	return s;
}

/* ---------------- helpers (more in hc_int.h) ---------------- */

/* The member "text": required, not blank, at most APPEAL_TEXT_MAX bytes.
 * false after answering. */
static bool text_member(struct http_req *req, json_t *o, const char *what, const char **text)
{
	if (!http_member_str(req, o, "text", text))
		return false;
	if (!*text || hc_blank(*text)) {
		http_error(req, 422, NULL, "'text' is required: %s", what);
		return false;
	}
	if (strlen(*text) > APPEAL_TEXT_MAX) {
		http_error(req, 422, NULL, "'text' is longer than %d bytes", APPEAL_TEXT_MAX);
		return false;
	}
	return true;
}

static bool citizen_or_403(struct http_req *req)
{
	if (req->user->role == ROLE_CITIZEN && req->user->person_id)
		return true;
	http_error(req, 403, NULL, "only a citizen account bound to a person files appeals");
	return false;
}

static bool route_id(struct http_req *req, int64_t *id)
{
	if (fk_parse_i64(req->params[0], 1, INT64_MAX, id))
		return true;
	http_error(req, 404, NULL, "no appeal '%s' in your scope", req->params[0]);
	return false;
}

/* ---------------- filing ---------------- */

/* The colour now and the active rules as a JSON array; false after
 * answering. */
static bool current_code(struct http_req *req, const struct policy *p, int64_t person_id,
			 int64_t now, enum colour *colour, struct strbuf *rules)
{
	struct hc_facts f;
	struct hc_areas a;
	struct fk_err err;
	struct hc_result *r = fk_xmalloc(sizeof(*r));
	char zh[REASON_MAX], en[REASON_MAX];
	sqlite3 *db = http_reader(req);
	bool ok = false;

	hc_facts_init(&f, person_id);
	memset(&a, 0, sizeof(a));
	if (!db)
		goto done;
	enum fk_status s = hc_person_code(db, p, person_id, now, &f, &a, r, &err);
	if (s) {
		http_fail(req, s == FK_ENOTFOUND ? FK_EDB : s, &err);
		goto done;
	}
	*colour = r->colour;
	strbuf_addch(rules, '[');
	for (size_t i = 0; i < r->nhits; i++) {
		const struct hc_hit *h = &r->hits[i];
		hc_hit_reason(p, &f, h, zh, sizeof(zh), en, sizeof(en));
		strbuf_addf(rules, "%s{\"rule\":\"%s\",\"colour\":\"%s\",\"reason_zh\":", i ? "," : "",
			    hc_rule_name(h->rule), colour_name(h->colour));
		strbuf_add_json_str(rules, zh);
		strbuf_addstr(rules, ",\"reason_en\":");
		strbuf_add_json_str(rules, en);
		strbuf_addch(rules, '}');
	}
	strbuf_addch(rules, ']');
	ok = true;
done:
	hc_facts_release(&f);
	hc_areas_release(&a);
	free(r);
	return ok;
}

/* The owner of an appeal about a person living in grid: *owner 0 when
 * nobody's scope holds it.  false after answering. */
static bool appeal_owner(struct http_req *req, const char *grid, int64_t *owner,
			 char *name, size_t name_size)
{
	static const char *const sql =
		"SELECT id, username, role FROM users WHERE disabled = 0"
		" AND substr(?1, 1, length(scope)) = scope ORDER BY length(scope) DESC, id";
	struct fk_err err;
	enum role r;
	int rc;
	sqlite3_stmt *st = store_reader_stmt(sql, &err);
	*owner = 0;
	name[0] = '\0';
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return false;
	}
	sqlite3_bind_text(st, 1, grid, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (role_parse(http_col(st, 2), &r) && role_is_health(r)) {
			*owner = sqlite3_column_int64(st, 0);
			fk_strlcpy(name, http_col(st, 1), name_size);
			break;
		}
	}
	bool ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
	if (!ok)
		hc_db_fail(req, sqlite3_db_handle(st), "appeal owner");
	store_stmt_done(st);
	return ok;
}

struct filing {
	int64_t person_id, owner, filed, due;
	enum colour colour;
	const char *rules, *text, *owner_name, *policy_version;
};

static enum fk_status appeal_insert(sqlite3 *w, const struct http_req *req,
				    const struct filing *fl, int64_t *id, struct fk_err *err)
{
	sqlite3_stmt *st = NULL;
	struct strbuf detail = STRBUF_INIT;
	char obj[KEY_MAX], ts[32];
	enum fk_status s = store_begin(w, err);
	if (s)
		return s;
	if (!(st = store_prepare(w,
				 "SELECT count(*) FROM appeals WHERE person_id = ? AND status = 'open'",
				 err))) {
		s = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_int64(st, 1, fl->person_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		s = fk_fail(err, FK_EDB, "counting open appeals: %s", sqlite3_errmsg(w));
		goto rollback;
	}
	if (sqlite3_column_int64(st, 0) >= APPEAL_OPEN_MAX) {
		s = fk_fail(err, FK_ETHROTTLE,
			    "you have %d open appeals already: wait for an answer or withdraw one",
			    APPEAL_OPEN_MAX);
		goto rollback;
	}
	sqlite3_finalize(st);
	if (!(st = store_prepare(w,
				 "INSERT INTO appeals(person_id, colour, rules, text, filed_by, filed_at,"
				 " owner_id, due_at, status, policy_version)"
				 " VALUES(?, ?, ?, ?, ?, ?, ?, ?, 'open', ?)",
				 err))) {
		s = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_int64(st, 1, fl->person_id);
	sqlite3_bind_text(st, 2, colour_name(fl->colour), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, fl->rules, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, fl->text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, req->user->id);
	sqlite3_bind_int64(st, 6, fl->filed);
	if (fl->owner)
		sqlite3_bind_int64(st, 7, fl->owner);
	else
		sqlite3_bind_null(st, 7);
	sqlite3_bind_int64(st, 8, fl->due);
	sqlite3_bind_text(st, 9, fl->policy_version, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "cannot record the appeal: %s", sqlite3_errmsg(w));
		goto rollback;
	}
	*id = sqlite3_last_insert_rowid(w);
	snprintf(obj, sizeof(obj), "appeal:%" PRId64, *id);
	strbuf_addf(&detail, "person=%" PRId64 " colour=%s owner=%s due=%s", fl->person_id,
		    colour_name(fl->colour), fl->owner ? fl->owner_name : "unassigned",
		    fk_format_time(fl->due, ts, sizeof(ts)));
	if ((s = audit_append(w, req->user->username, "appeal.file", obj, detail.buf, req->origin,
			      err)))
		goto rollback;
	sqlite3_finalize(st);
	st = NULL;
	if ((s = store_commit(w, err)))
		goto rollback;
	strbuf_release(&detail);
	return FK_OK;
rollback:
	sqlite3_finalize(st);
	store_rollback(w);
	strbuf_release(&detail);
	return s;
}

/* Answers status with the person's view of appeal id. */
static void person_appeal_answer(struct http_req *req, int64_t id, int status)
{
	static const char *const sql = PERSON_APPEAL_SELECT "WHERE a.id = ?1 AND a.person_id = ?2";
	struct fk_err err;
	struct strbuf o = STRBUF_INIT;
	sqlite3_stmt *st;
	if (!http_reader(req))
		return;
	if (!(st = store_reader_stmt(sql, &err))) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, req->user->person_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		person_appeal_json(&o, st, fk_now());
		http_json(req, status, o.buf);
	} else if (rc == SQLITE_DONE) {
		http_error(req, 404, NULL, "no appeal %" PRId64 " of yours", id);
	} else {
		hc_db_fail(req, sqlite3_db_handle(st), "appeal");
	}
	store_stmt_done(st);
	strbuf_release(&o);
}

static void me_appeal_post(struct http_req *req)
{
	json_t *o = NULL;
	const char *text;
	struct strbuf rules = STRBUF_INIT;
	struct fk_err err;
	struct filing fl;
	char grid[SCOPE_MAX + 8], owner_name[USERNAME_MAX + 1];
	int64_t id = 0;
	const struct policy *p;
	sqlite3_stmt *st = NULL;

	memset(&fl, 0, sizeof(fl));
	if (!citizen_or_403(req))
		goto done;
	if (!(p = policy_current())) {
		http_error(req, 503, NULL, "no policy is in force yet");
		goto done;
	}
	if (!(o = http_body_object(req)) ||
	    !text_member(req, o, "say what is wrong with your code", &text))
		goto done;
	fl.person_id = req->user->person_id;
	fl.filed = fk_now();
	fl.due = fl.filed + (int64_t)p->appeal_deadline_hours * 3600;
	fl.text = text;
	fl.policy_version = p->version;
	if (!http_reader(req))
		goto done;
	if (!(st = store_reader_stmt("SELECT grid_code FROM persons WHERE id = ?", &err))) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	sqlite3_bind_int64(st, 1, fl.person_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		hc_db_fail(req, sqlite3_db_handle(st), "appeal person");
		goto done;
	}
	fk_strlcpy(grid, http_col(st, 0), sizeof(grid));
	store_stmt_done(st);
	st = NULL;
	if (!current_code(req, p, fl.person_id, fl.filed, &fl.colour, &rules) ||
	    !appeal_owner(req, grid, &fl.owner, owner_name, sizeof(owner_name)))
		goto done;
	fl.rules = rules.buf;
	fl.owner_name = owner_name;
	sqlite3 *w = store_writer_lock();
	enum fk_status s = w ? appeal_insert(w, req, &fl, &id, &err)
			     : fk_fail(&err, FK_EDB, "database unavailable");
	store_writer_unlock();
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}
	healthcode_person_changed(fl.person_id); /* the code page lists appeals */
	person_appeal_answer(req, id, 201);
done:
	store_stmt_done(st);
	strbuf_release(&rules);
	json_decref(o);
}

static void me_appeals_get(struct http_req *req)
{
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	char obj[KEY_MAX];
	sqlite3 *db;
	if (!citizen_or_403(req) || !(db = http_reader(req)))
		return;
	strbuf_addch(&o, '{');
	enum fk_status s = hc_person_appeals_json(db, req->user->person_id, &o, &err);
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}
	strbuf_addch(&o, '}');
	http_json(req, 200, o.buf);
	snprintf(obj, sizeof(obj), "person:%" PRId64, req->user->person_id);
	http_audit(req, "appeal.read_own", obj, "");
done:
	strbuf_release(&o);
}

/* ---------------- closing: decide, withdraw ---------------- */

/* Sets status (and outcome text) of open appeal id, audited as action,
 * in one transaction.  FK_ECONFLICT when it is no longer open. */
static enum fk_status appeal_close(sqlite3 *w, const struct http_req *req, int64_t id,
				   int64_t person_id, const char *status, const char *outcome,
				   const char *action, int64_t now, struct fk_err *err)
{
	struct strbuf detail = STRBUF_INIT;
	char obj[KEY_MAX];
	sqlite3_stmt *st = NULL;
	enum fk_status s = store_begin(w, err);
	if (s)
		return s;
	if (!(st = store_prepare(w,
				 "UPDATE appeals SET status = ?1, outcome = ?2, decided_by = ?3,"
				 " decided_at = ?4 WHERE id = ?5 AND status = 'open'",
				 err))) {
		s = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, outcome, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, req->user->id);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_int64(st, 5, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "cannot close appeal %" PRId64 ": %s", id,
			    sqlite3_errmsg(w));
		goto rollback;
	}
	if (sqlite3_changes(w) != 1) {
		s = fk_fail(err, FK_ECONFLICT, "appeal %" PRId64 " is no longer open", id);
		goto rollback;
	}
	snprintf(obj, sizeof(obj), "appeal:%" PRId64, id);
	strbuf_addf(&detail, "person=%" PRId64 " %s", person_id, status);
	if (*outcome)
		strbuf_addf(&detail, ": %s", outcome);
	if ((s = audit_append(w, req->user->username, action, obj, detail.buf, req->origin, err)))
		goto rollback;
	sqlite3_finalize(st);
	st = NULL;
	if ((s = store_commit(w, err)))
		goto rollback;
	strbuf_release(&detail);
	return FK_OK;
rollback:
	sqlite3_finalize(st);
	store_rollback(w);
	strbuf_release(&detail);
	return s;
}

static void me_appeal_withdraw(struct http_req *req)
{
	struct fk_err err;
	int64_t id;
	sqlite3_stmt *st;
	if (!citizen_or_403(req) || !route_id(req, &id) || !http_reader(req))
		return;
	if (!(st = store_reader_stmt("SELECT status FROM appeals WHERE id = ? AND person_id = ?",
				     &err))) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, req->user->person_id);
	int rc = sqlite3_step(st);
	char status[16] = "";
	if (rc == SQLITE_ROW)
		fk_strlcpy(status, http_col(st, 0), sizeof(status));
	store_stmt_done(st);
	if (rc == SQLITE_DONE) {
		http_error(req, 404, NULL, "no appeal %" PRId64 " of yours", id);
		return;
	}
	if (rc != SQLITE_ROW) {
		hc_db_fail(req, store_reader(), "appeal");
		return;
	}
	if (strcmp(status, "open")) {
		http_error(req, 409, NULL, "appeal %" PRId64 " is %s, no longer open", id, status);
		return;
	}
	sqlite3 *w = store_writer_lock();
	enum fk_status s = w ? appeal_close(w, req, id, req->user->person_id, "withdrawn", "",
					    "appeal.withdraw", fk_now(), &err)
			     : fk_fail(&err, FK_EDB, "database unavailable");
	store_writer_unlock();
	if (s) {
		http_fail(req, s, &err);
		return;
	}
	healthcode_person_changed(req->user->person_id);
	person_appeal_answer(req, id, 200);
}

/* ---------------- staff: list, read, decide ---------------- */

#define STAFF_APPEAL_SELECT                                                                     \
	"SELECT a.id, a.person_id, p.name, p.id_number, p.grid_code, g.name, a.colour,"        \
	" a.rules, a.text, a.filed_at, a.due_at, a.status, a.outcome,"                         \
	" coalesce(ou.username, ''), coalesce(ou.role, ''), coalesce(du.username, ''),"        \
	" coalesce(du.role, ''), coalesce(a.decided_at, 0), a.policy_version"                  \
	" FROM appeals a JOIN persons p ON p.id = a.person_id"                                 \
	" JOIN regions g ON g.code = p.grid_code"                                              \
	" LEFT JOIN users ou ON ou.id = a.owner_id LEFT JOIN users du ON du.id = a.decided_by "

static void staff_appeal_json(struct strbuf *o, sqlite3_stmt *st, int64_t now)
{
	char m[256];
	enum colour c = COLOUR_GREEN;
	const char *status = http_col(st, 11);
	int64_t due = sqlite3_column_int64(st, 10);
	colour_parse(http_col(st, 6), &c);
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"person\":{\"name\":", (int64_t)sqlite3_column_int64(st, 0));
	mask_name(http_col(st, 2), m, sizeof(m));
	strbuf_add_json_str(o, m);
	strbuf_addstr(o, ",\"id_number\":");
	mask_id_number(http_col(st, 3), m, sizeof(m));
	strbuf_add_json_str(o, m);
	strbuf_addstr(o, ",\"grid\":{\"code\":");
	strbuf_add_json_str(o, http_col(st, 4));
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, http_col(st, 5));
	strbuf_addstr(o, "}},\"colour\":");
	strbuf_add_json_str(o, colour_name(c));
	strbuf_addstr(o, ",\"colour_zh\":");
	strbuf_add_json_str(o, colour_label_zh(c));
	/* rules: the JSON array written when the appeal was filed */
	const char *rules = http_col(st, 7);
	strbuf_addstr(o, ",\"rules\":");
	strbuf_addstr(o, *rules == '[' ? rules : "[]");
	strbuf_addstr(o, ",\"text\":");
	strbuf_add_json_str(o, http_col(st, 8));
	hc_time_member(o, "filed_at", sqlite3_column_int64(st, 9));
	hc_time_member(o, "due_at", due);
	strbuf_addstr(o, ",\"status\":");
	strbuf_add_json_str(o, status);
	strbuf_addstr(o, ",\"outcome\":");
	strbuf_add_json_str(o, http_col(st, 12));
	hc_user_member(o, "owner", http_col(st, 13), http_col(st, 14), true);
	hc_user_member(o, "decided_by", http_col(st, 15), http_col(st, 16), true);
	hc_time_member(o, "decided_at", sqlite3_column_int64(st, 17));
	strbuf_addf(o, ",\"overdue\":%s,\"policy_version\":",
		    !strcmp(status, "open") && due < now ? "true" : "false");
	strbuf_add_json_str(o, http_col(st, 18));
	strbuf_addch(o, '}');
}

/* Answers with appeal id when its person is in the user's scope (else
 * 404); *person_id and status (16 bytes) receive its person and status
 * when not NULL.  Returns false after answering with an error. */
static bool staff_appeal(struct http_req *req, int64_t id, int status_code, int64_t *person_id,
			 char *status)
{
	static const char *const sql =
		STAFF_APPEAL_SELECT "WHERE a.id = ?1 AND p.grid_code >= ?2 AND p.grid_code < ?3";
	struct fk_err err;
	struct strbuf o = STRBUF_INIT;
	char hi[SCOPE_MAX + 2];
	sqlite3_stmt *st;
	bool ok = false;
	if (!http_reader(req))
		return false;
	if (!(st = store_reader_stmt(sql, &err))) {
		http_fail(req, FK_EDB, &err);
		return false;
	}
	access_scope_upper(req->user->scope, hi, sizeof(hi));
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, req->user->scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hi, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		staff_appeal_json(&o, st, fk_now());
		http_json(req, status_code, o.buf);
		if (person_id)
			*person_id = sqlite3_column_int64(st, 1);
		if (status)
			fk_strlcpy(status, http_col(st, 11), 16);
		ok = true;
	} else if (rc == SQLITE_DONE) {
		http_error(req, 404, NULL, "no appeal %" PRId64 " in your scope", id);
	} else {
		hc_db_fail(req, sqlite3_db_handle(st), "appeal");
	}
	store_stmt_done(st);
	strbuf_release(&o);
	return ok;
}

static void appeal_get(struct http_req *req)
{
	int64_t id, person_id;
	char obj[KEY_MAX], detail[64];
	if (!route_id(req, &id) || !staff_appeal(req, id, 200, &person_id, NULL))
		return;
	snprintf(obj, sizeof(obj), "appeal:%" PRId64, id);
	snprintf(detail, sizeof(detail), "person=%" PRId64 " masked", person_id);
	http_audit(req, "appeal.read", obj, detail);
}

static void appeal_decide(struct http_req *req)
{
	json_t *o = NULL;
	const char *outcome, *text;
	char status[16];
	int64_t id, person_id;
	struct fk_err err;

	if (!role_is_health(req->user->role)) {
		http_error(req, 403, NULL, "only health roles decide appeals; %s (%s) may not",
			   role_name(req->user->role), role_label_zh(req->user->role));
		return;
	}
	if (!route_id(req, &id) || !(o = http_body_object(req)) ||
	    !http_member_str(req, o, "outcome", &outcome))
		goto done;
	if (!outcome || (strcmp(outcome, "upheld") && strcmp(outcome, "corrected"))) {
		http_error(req, 422, NULL,
			   "'outcome' must be upheld (the colour was right) or corrected"
			   " (it was wrong and has been corrected)");
		goto done;
	}
	if (!text_member(req, o, "say what was checked and what was done", &text))
		goto done;
	/* scope and state, read first (answers 404 itself) */
	if (!staff_appeal(req, id, 200, &person_id, status))
		goto done;
	if (strcmp(status, "open")) {
		http_error(req, 409, NULL, "appeal %" PRId64 " is %s, no longer open", id, status);
		goto done;
	}
	sqlite3 *w = store_writer_lock();
	enum fk_status s = w ? appeal_close(w, req, id, person_id, outcome, text, "appeal.decide",
					    fk_now(), &err)
			     : fk_fail(&err, FK_EDB, "database unavailable");
	store_writer_unlock();
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}
	healthcode_person_changed(person_id);
	staff_appeal(req, id, 200, NULL, NULL);
done:
	json_decref(o);
}

static bool flag_param(struct http_req *req, const char *name, bool *out)
{
	const char *v = http_query(req, name);
	*out = false;
	if (!v || !*v || !strcmp(v, "0"))
		return true;
	if (!strcmp(v, "1")) {
		*out = true;
		return true;
	}
	http_error(req, 400, NULL, "%s must be 0 or 1", name);
	return false;
}

static void appeals_list(struct http_req *req)
{
	static const char *const sql =
		STAFF_APPEAL_SELECT
		"WHERE p.grid_code >= ?1 AND p.grid_code < ?2 AND a.id < ?3"
		" AND (?4 IS NULL OR a.status = ?4)"
		" AND (?5 = 0 OR (a.status = 'open' AND a.due_at < ?6))"
		" AND (?7 = 0 OR a.owner_id = ?7) AND (?8 = 0 OR a.owner_id IS NULL)"
		" ORDER BY a.id DESC LIMIT ?9";
	static const char *const statuses[] = {"open", "upheld", "corrected", "withdrawn"};
	struct strbuf o = STRBUF_INIT, ids = STRBUF_INIT;
	struct fk_err err;
	sqlite3_stmt *st = NULL;
	char after[KEY_MAX], hi[SCOPE_MAX + 2], last[KEY_MAX] = "";
	int limit, n = 0, rc;
	int64_t before = INT64_MAX, now = fk_now();
	bool overdue, mine, unassigned;
	const char *status;

	if (!http_reader(req) || !http_page_params(req, &limit, after, sizeof(after)) ||
	    !flag_param(req, "overdue", &overdue) || !flag_param(req, "mine", &mine) ||
	    !flag_param(req, "unassigned", &unassigned))
		return;
	if (after[0] && !fk_parse_i64(after, 1, INT64_MAX, &before)) {
		http_error(req, 400, NULL, "cursor is not valid");
		return;
	}
	if (!hc_status_param(req, statuses, FK_ARRAY_LEN(statuses), &status))
		return;
	if (!(st = store_reader_stmt(sql, &err))) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	access_scope_upper(req->user->scope, hi, sizeof(hi));
	sqlite3_bind_text(st, 1, req->user->scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, before);
	if (status)
		sqlite3_bind_text(st, 4, status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, overdue);
	sqlite3_bind_int64(st, 6, now);
	sqlite3_bind_int64(st, 7, mine ? req->user->id : 0);
	sqlite3_bind_int(st, 8, unassigned);
	sqlite3_bind_int(st, 9, limit + 1);
	strbuf_addstr(&o, "{\"items\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit)
			break;
		if (n++)
			strbuf_addch(&o, ',');
		staff_appeal_json(&o, st, now);
		int64_t id = sqlite3_column_int64(st, 0);
		strbuf_addf(&ids, "%s%" PRId64, ids.len ? "," : "", id);
		snprintf(last, sizeof(last), "%" PRId64, id);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		hc_db_fail(req, sqlite3_db_handle(st), "appeals");
		goto done;
	}
	http_page_finish(req, &o, rc == SQLITE_ROW, last, "appeal.list", "appeals", n, ids.buf);
done:
	store_stmt_done(st);
	strbuf_release(&o);
	strbuf_release(&ids);
}

const struct http_route appeal_routes[] = {
	{"POST", "/api/v1/me/appeals", me_appeal_post, ROUTE_JSON_BODY, 0, APPEAL_BODY_MAX},
	{"GET", "/api/v1/me/appeals", me_appeals_get, 0, 0, 0},
	{"POST", "/api/v1/me/appeals/{id}/withdraw", me_appeal_withdraw, 0, 0, 0},
	{"GET", "/api/v1/appeals", appeals_list, 0, PERM_CODE_OVERRIDE, 0},
	{"GET", "/api/v1/appeals/{id}", appeal_get, 0, PERM_CODE_OVERRIDE, 0},
	{"POST", "/api/v1/appeals/{id}/decide", appeal_decide, ROUTE_JSON_BODY,
	 PERM_CODE_OVERRIDE, APPEAL_BODY_MAX},
};
const size_t appeal_routes_len = FK_ARRAY_LEN(appeal_routes);
