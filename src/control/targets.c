/* targets.c — a case's milestones (team on site, core information,
 * report, isolation, outcome) and its four time targets.
 *
 * Design note.
 * - A target is due at the case's created_at + the policy's hours
 *   ([targets]: team_on_site_hours, core_info_hours, report_hours,
 *   contacts_controlled_hours of the policy in force when asked).  Its
 *   status is computed at every request from the stored times, never
 *   stored: met (done_at <= due_at), missed (done_at > due_at), overdue
 *   (not done and now > due_at), pending (not done, now <= due_at).
 * - The first three are done at the milestone the tracing team records
 *   (cases.team_on_site_at, core_info_at, reported_at).
 * - contacts_controlled is measured, not recorded.  Its contacts are the
 *   rows of table contacts for the case (degree 2 only when the policy
 *   identifies secondary contacts at all).  A contact found at f is
 *   controlled at the earliest of:
 *     . activated_at of an order of theirs (any case, status active or
 *       completed, activated at or before now) activated at or after f;
 *     . f, when such an order was activated before f and had not ended
 *       at f (the person was already under control when found);
 *     . max(f, created_at) of their own case (a case is under control).
 *   done_at = the latest of those when every contact is controlled, else
 *   NULL; a case with no contacts is done at its own created_at.
 * - Every answer is computed inside one read (the reader's statements, or
 *   the writer's transaction after a change), so the figures agree with
 *   each other.
 * - Milestones: a time may not be in the future nor more than 7 days
 *   before the case's created_at (a team may be on site before the case
 *   is confirmed in the system, not a week before).  A milestone given as
 *   null is cleared (a correction); isolated_at cannot be cleared (the
 *   infectious window ends there).  outcome_at defaults to now when an
 *   outcome other than under_treatment is given, and is cleared with
 *   under_treatment.  Every change is audited (case.milestones) in the
 *   same transaction: no audit record, no change.
 * - GET /api/v1/case-targets walks cases in scope newest first; with a
 *   status filter it scans at most LIST_SCAN cases per request, so a page
 *   may hold fewer than `limit` items while next_cursor is not null.
 */
#include "control/control_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "access/access.h"
#include "healthcode/healthcode.h"
#include "http/http.h"
#include "lib/util.h"
#include "registry/registry.h"
#include "store/store.h"
#include "tracing/tracing.h"

#include "lib/banned.h"

#define MILESTONE_BODY_MAX 4096
#define MILESTONE_LOOKBACK (7 * CONTROL_DAY)
#define LIST_SCAN 5000
#define KEY_MAX 64
#define GRID_MAX 24

enum target_status { TS_PENDING, TS_MET, TS_MISSED, TS_OVERDUE };
/* worst first when ranked: overdue > missed > pending > met */
static const char *const status_names[] = {
	[TS_PENDING] = "pending", [TS_MET] = "met", [TS_MISSED] = "missed",
	[TS_OVERDUE] = "overdue"};
static const int status_rank[] = {[TS_MET] = 0, [TS_PENDING] = 1, [TS_MISSED] = 2,
				  [TS_OVERDUE] = 3};

enum { T_TEAM, T_CORE, T_REPORT, T_CONTACTS, T_COUNT };
static const char *const target_names[T_COUNT] = {"team_on_site", "core_info", "report",
						  "contacts_controlled"};

struct target {
	int hours;
	int64_t due_at, done_at; /* done_at 0: not done */
	enum target_status status;
};

struct case_targets {
	int64_t case_id, created_at;
	char grid[GRID_MAX];
	struct target t[T_COUNT];
	int64_t contacts, controlled;
};

static const char *const CASE_SQL =
	"SELECT c.created_at, coalesce(c.team_on_site_at, 0), coalesce(c.core_info_at, 0),"
	" coalesce(c.reported_at, 0), p.grid_code FROM cases c JOIN persons p ON p.id = c.person_id"
	" WHERE c.id = ?1";

/* ?1 case, ?2 now, ?3 1 when secondary contacts count */
static const char *const CONTROLLED_SQL =
	"SELECT count(*), count(t), coalesce(max(t), 0) FROM ("
	" SELECT min(coalesce(ot, ct), coalesce(ct, ot)) AS t FROM ("
	"  SELECT (SELECT min(CASE WHEN o.activated_at >= k.found_at THEN o.activated_at"
	"                     ELSE k.found_at END) FROM orders o"
	"          WHERE o.person_id = k.person_id AND o.status IN ('active', 'completed')"
	"            AND o.activated_at IS NOT NULL AND o.activated_at <= ?2"
	"            AND (o.activated_at >= k.found_at OR o.ended_at IS NULL"
	"                 OR o.ended_at > k.found_at)) AS ot,"
	"         (SELECT max(c2.created_at, k.found_at) FROM cases c2"
	"          WHERE c2.person_id = k.person_id AND c2.created_at <= ?2) AS ct"
	"  FROM contacts k WHERE k.case_id = ?1 AND (k.degree = 1 OR ?3)))";

static void target_hours(const struct policy *p, int hours[T_COUNT])
{
	/* the shipped policies' values when none is in force (tests of parts) */
	hours[T_TEAM] = p ? p->team_on_site_hours : 2;
	hours[T_CORE] = p ? p->core_info_hours : 4;
	hours[T_REPORT] = p ? p->report_hours : 24;
	hours[T_CONTACTS] = p ? p->contacts_controlled_hours : 24;
}

static enum target_status status_of(int64_t due, int64_t done, int64_t now)
{
	if (done)
		return done <= due ? TS_MET : TS_MISSED;
	return now > due ? TS_OVERDUE : TS_PENDING;
}

/* Computes the targets of case case_id at now with case_st (CASE_SQL) and
 * cc_st (CONTROLLED_SQL), both reset here.  FK_ENOTFOUND when there is no
 * such case; FK_EDB with err on a database failure. */
static enum fk_status targets_compute(sqlite3_stmt *case_st, sqlite3_stmt *cc_st,
				      const struct policy *p, int64_t case_id, int64_t now,
				      struct case_targets *out, struct fk_err *err)
{
	int hours[T_COUNT];
	memset(out, 0, sizeof(*out));
	out->case_id = case_id;
	sqlite3_reset(case_st);
	sqlite3_bind_int64(case_st, 1, case_id);
	int rc = sqlite3_step(case_st);
	if (rc == SQLITE_DONE)
		return fk_fail(err, FK_ENOTFOUND, "no case %" PRId64, case_id);
	if (rc != SQLITE_ROW)
		return fk_fail(err, FK_EDB, "case targets: %s",
			       sqlite3_errmsg(sqlite3_db_handle(case_st)));
	out->created_at = sqlite3_column_int64(case_st, 0);
	out->t[T_TEAM].done_at = sqlite3_column_int64(case_st, 1);
	out->t[T_CORE].done_at = sqlite3_column_int64(case_st, 2);
	out->t[T_REPORT].done_at = sqlite3_column_int64(case_st, 3);
	fk_strlcpy(out->grid, http_col(case_st, 4), sizeof(out->grid));
	sqlite3_reset(case_st);

	sqlite3_reset(cc_st);
	sqlite3_bind_int64(cc_st, 1, case_id);
	sqlite3_bind_int64(cc_st, 2, now);
	sqlite3_bind_int(cc_st, 3, !p || p->secondary_contacts);
	if (sqlite3_step(cc_st) != SQLITE_ROW)
		return fk_fail(err, FK_EDB, "contacts under control: %s",
			       sqlite3_errmsg(sqlite3_db_handle(cc_st)));
	out->contacts = sqlite3_column_int64(cc_st, 0);
	out->controlled = sqlite3_column_int64(cc_st, 1);
	int64_t last = sqlite3_column_int64(cc_st, 2);
	sqlite3_reset(cc_st);
	if (out->contacts == 0)
		out->t[T_CONTACTS].done_at = out->created_at;
	else if (out->controlled == out->contacts)
		out->t[T_CONTACTS].done_at = last;

	target_hours(p, hours);
	for (int i = 0; i < T_COUNT; i++) {
		struct target *t = &out->t[i];
		t->hours = hours[i];
		t->due_at = out->created_at + (int64_t)hours[i] * 3600;
		t->status = status_of(t->due_at, t->done_at, now);
	}
	return FK_OK;
}

static enum target_status worst_of(const struct case_targets *ct)
{
	enum target_status w = TS_MET;
	for (int i = 0; i < T_COUNT; i++)
		if (status_rank[ct->t[i].status] > status_rank[w])
			w = ct->t[i].status;
	return w;
}

static void time_or_null(struct strbuf *o, const char *key, int64_t t)
{
	char ts[32];
	strbuf_addf(o, ",\"%s\":", key);
	if (t)
		strbuf_addf(o, "\"%s\"", fk_format_time(t, ts, sizeof(ts)));
	else
		strbuf_addstr(o, "null");
}

static void targets_json(struct strbuf *o, const struct case_targets *ct, int64_t now)
{
	char ts[32];
	strbuf_addf(o, "{\"case_id\":%" PRId64 ",\"created_at\":\"%s\"", ct->case_id,
		    fk_format_time(ct->created_at, ts, sizeof(ts)));
	strbuf_addf(o, ",\"now\":\"%s\",\"status\":\"%s\",\"targets\":[",
		    fk_format_time(now, ts, sizeof(ts)), status_names[worst_of(ct)]);
	for (int i = 0; i < T_COUNT; i++) {
		const struct target *t = &ct->t[i];
		if (i)
			strbuf_addch(o, ',');
		strbuf_addf(o, "{\"name\":\"%s\",\"hours\":%d", target_names[i], t->hours);
		time_or_null(o, "due_at", t->due_at);
		time_or_null(o, "done_at", t->done_at);
		strbuf_addf(o, ",\"status\":\"%s\"", status_names[t->status]);
		if (t->done_at)
			strbuf_addf(o, ",\"seconds\":%" PRId64 ",\"seconds_left\":null",
				    t->done_at - ct->created_at);
		else
			strbuf_addf(o, ",\"seconds\":null,\"seconds_left\":%" PRId64,
				    t->due_at - now);
		if (i == T_CONTACTS)
			strbuf_addf(o, ",\"contacts\":%" PRId64 ",\"controlled\":%" PRId64,
				    ct->contacts, ct->controlled);
		strbuf_addch(o, '}');
	}
	strbuf_addstr(o, "]}");
}

/* The route's case id, or 0 after answering 404. */
static int64_t case_id_of(struct http_req *req)
{
	int64_t id;
	if (fk_parse_i64(req->params[0], 1, INT64_MAX, &id))
		return id;
	http_error(req, 404, NULL, "no case '%s' in your scope", req->params[0]);
	return 0;
}

/* ---------------- GET /api/v1/cases/{id}/targets ---------------- */

static void case_targets_get(struct http_req *req)
{
	struct case_targets ct;
	struct fk_err err;
	struct strbuf o = STRBUF_INIT;
	sqlite3_stmt *cs = NULL, *cc = NULL;
	char obj[40];
	int64_t id, now = fk_now();

	if (!(id = case_id_of(req)) || !http_reader(req))
		return;
	if (!(cs = store_reader_stmt(CASE_SQL, &err)) || !(cc = store_reader_stmt(CONTROLLED_SQL, &err))) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	enum fk_status s = targets_compute(cs, cc, policy_current(), id, now, &ct, &err);
	if (s == FK_ENOTFOUND || (!s && !access_scope_contains(req->user->scope, ct.grid))) {
		http_error(req, 404, NULL, "no case '%s' in your scope", req->params[0]);
		goto done;
	}
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}
	targets_json(&o, &ct, now);
	http_json(req, 200, o.buf);
	snprintf(obj, sizeof(obj), "case:%" PRId64, id);
	http_audit(req, "case.targets", obj, "");
done:
	store_stmt_done(cs);
	store_stmt_done(cc);
	strbuf_release(&o);
}

/* ---------------- POST /api/v1/cases/{id}/milestones ---------------- */

enum { M_TEAM, M_CORE, M_REPORT, M_ISOLATED, M_OUTCOME_AT, M_TIMES };
static const char *const milestone_keys[M_TIMES] = {"team_on_site_at", "core_info_at",
						    "reported_at", "isolated_at", "outcome_at"};
static const char *const outcomes[] = {"under_treatment", "recovered", "died", "transferred"};

struct milestones {
	bool given[M_TIMES];
	int64_t at[M_TIMES]; /* 0: cleared (given as null) */
	const char *outcome; /* NULL: not given */
};

/* Reads the body into *m; false after answering 400 (the message names
 * the member at fault). */
static bool milestones_parse(struct http_req *req, json_t *o, struct milestones *m)
{
	const char *key;
	json_t *v;
	size_t n = 0;
	memset(m, 0, sizeof(*m));
	json_object_foreach(o, key, v) {
		int k = -1;
		for (int i = 0; i < M_TIMES; i++)
			if (!strcmp(key, milestone_keys[i]))
				k = i;
		if (k < 0 && strcmp(key, "outcome")) {
			http_error(req, 400, NULL,
				   "unknown member '%.64s' (team_on_site_at, core_info_at,"
				   " reported_at, isolated_at, outcome, outcome_at)",
				   key);
			return false;
		}
		n++;
		if (k < 0) {
			bool ok = false;
			const char *s = json_string_value(v);
			for (size_t i = 0; s && i < FK_ARRAY_LEN(outcomes); i++)
				ok = ok || !strcmp(s, outcomes[i]);
			if (!ok) {
				http_error(req, 400, NULL,
					   "'outcome' must be under_treatment, recovered, died or"
					   " transferred");
				return false;
			}
			m->outcome = s;
			continue;
		}
		m->given[k] = true;
		if (json_is_null(v) && k == M_ISOLATED) {
			http_error(req, 400, NULL, "'isolated_at' cannot be cleared");
			return false;
		}
		if (json_is_null(v))
			continue;
		if (!json_is_string(v) || !fk_parse_time(json_string_value(v), &m->at[k])) {
			http_error(req, 400, NULL,
				   "'%s' is not an ISO 8601 time with offset"
				   " (2022-01-10T08:30:00+08:00)",
				   key);
			return false;
		}
	}
	if (!n) {
		http_error(req, 400, NULL,
			   "give at least one of team_on_site_at, core_info_at, reported_at,"
			   " isolated_at, outcome, outcome_at");
		return false;
	}
	return true;
}

/* Checks the times against the case's created_at and now; false after
 * answering 400. */
static bool milestones_check(struct http_req *req, const struct milestones *m, int64_t created,
			     int64_t now)
{
	char ts[32];
	for (int i = 0; i < M_TIMES; i++) {
		if (!m->given[i] || !m->at[i])
			continue;
		if (m->at[i] > now) {
			http_error(req, 400, NULL, "'%s' is in the future (now is %s)",
				   milestone_keys[i], fk_format_time(now, ts, sizeof(ts)));
			return false;
		}
		if (m->at[i] < created - MILESTONE_LOOKBACK) {
			http_error(req, 400, NULL,
				   "'%s' is more than 7 days before the case was confirmed (%s)",
				   milestone_keys[i], fk_format_time(created, ts, sizeof(ts)));
			return false;
		}
	}
	return true;
}

/* The isolation ends the case's infectious window: it may not come before
 * the window starts (tracing refuses such a case too).  False after
 * answering 400 (or 500). */
static bool isolation_in_window(struct http_req *req, int64_t id, int64_t at, int64_t now)
{
	struct case_rec c;
	struct tracing_params tp;
	struct fk_err err;
	int64_t from, to;
	char ts[32];
	sqlite3 *db = http_reader(req);
	if (!db)
		return false;
	enum fk_status s = case_get(db, id, &c, &err);
	if (s) {
		http_fail(req, s == FK_ENOTFOUND ? FK_EDB : s, &err);
		return false;
	}
	tracing_params_default(&tp);
	c.isolated_at = 0;
	case_window(&c, &tp, now, &from, &to);
	if (at >= from)
		return true;
	http_error(req, 400, NULL, "'isolated_at' is before the case's infectious window starts (%s)",
		   fk_format_time(from, ts, sizeof(ts)));
	return false;
}

static const char *const MILESTONE_UPDATE_SQL =
	"UPDATE cases SET"
	" team_on_site_at = CASE WHEN ?2 THEN ?3 ELSE team_on_site_at END,"
	" core_info_at = CASE WHEN ?4 THEN ?5 ELSE core_info_at END,"
	" reported_at = CASE WHEN ?6 THEN ?7 ELSE reported_at END,"
	" isolated_at = CASE WHEN ?8 THEN ?9 ELSE isolated_at END,"
	" outcome = coalesce(?10, outcome),"
	" outcome_at = CASE WHEN ?11 THEN ?12 ELSE outcome_at END,"
	/* discharged (recovered) or dead: the case's red code ends then */
	" released_at = CASE WHEN ?10 IS NULL THEN released_at"
	"  WHEN ?10 IN ('recovered', 'died') THEN CASE WHEN ?11 THEN ?12 ELSE outcome_at END"
	"  ELSE NULL END"
	" WHERE id = ?1";

static void bind_opt_time(sqlite3_stmt *st, int i, bool given, int64_t t)
{
	sqlite3_bind_int(st, i, given);
	if (given && t)
		sqlite3_bind_int64(st, i + 1, t);
	else
		sqlite3_bind_null(st, i + 1);
}

/* Applies m to case id in one transaction on w with its audit record and
 * computes the targets after it into *ct.  FK_ENOTFOUND when the case is
 * gone; FK_EINVAL when outcome_at is given for a case under treatment. */
static enum fk_status milestones_tx(sqlite3 *w, struct http_req *req, int64_t id,
				    const struct milestones *m, int64_t now,
				    struct case_targets *ct, struct fk_err *err)
{
	sqlite3_stmt *up = NULL, *cs = NULL, *cc = NULL;
	struct strbuf detail = STRBUF_INIT;
	char obj[40], ts[32];
	bool oat_given = m->given[M_OUTCOME_AT];
	int64_t oat = m->at[M_OUTCOME_AT];
	enum fk_status s = store_begin(w, err);
	if (s)
		goto out;
	if (m->outcome) {
		/* a final outcome has a time (now unless given); under
		 * treatment has none */
		oat_given = true;
		if (!strcmp(m->outcome, "under_treatment"))
			oat = 0;
		else if (!oat)
			oat = now;
	} else if (oat_given) {
		sqlite3_stmt *q = store_prepare(
			w, "SELECT outcome = 'under_treatment' FROM cases WHERE id = ?1", err);
		if (!q) {
			s = FK_EDB;
			goto rollback;
		}
		sqlite3_bind_int64(q, 1, id);
		int under = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int(q, 0) : 0;
		sqlite3_finalize(q);
		if (under) {
			s = fk_fail(err, FK_EINVAL,
				    "'outcome_at' needs an 'outcome' (the case is under treatment)");
			goto rollback;
		}
		if (!oat) {
			s = fk_fail(err, FK_EINVAL, "'outcome_at' cannot be cleared without"
						    " 'outcome' under_treatment");
			goto rollback;
		}
	}
	if (!(up = store_prepare(w, MILESTONE_UPDATE_SQL, err))) {
		s = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_int64(up, 1, id);
	bind_opt_time(up, 2, m->given[M_TEAM], m->at[M_TEAM]);
	bind_opt_time(up, 4, m->given[M_CORE], m->at[M_CORE]);
	bind_opt_time(up, 6, m->given[M_REPORT], m->at[M_REPORT]);
	bind_opt_time(up, 8, m->given[M_ISOLATED], m->at[M_ISOLATED]);
	if (m->outcome)
		sqlite3_bind_text(up, 10, m->outcome, -1, SQLITE_STATIC);
	bind_opt_time(up, 11, oat_given, oat);
	if (sqlite3_step(up) != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "cannot record milestones: %s", sqlite3_errmsg(w));
		goto rollback;
	}
	if (sqlite3_changes(w) != 1) {
		s = fk_fail(err, FK_ENOTFOUND, "no case %" PRId64, id);
		goto rollback;
	}
	/* the detail names each change: {"team_on_site_at":"...",...} */
	strbuf_addch(&detail, '{');
	for (int i = 0; i < M_TIMES; i++) {
		bool g = i == M_OUTCOME_AT ? oat_given : m->given[i];
		int64_t t = i == M_OUTCOME_AT ? oat : m->at[i];
		if (!g)
			continue;
		strbuf_addf(&detail, "%s\"%s\":", detail.len > 1 ? "," : "", milestone_keys[i]);
		if (t)
			strbuf_addf(&detail, "\"%s\"", fk_format_time(t, ts, sizeof(ts)));
		else
			strbuf_addstr(&detail, "null");
	}
	if (m->outcome) {
		strbuf_addf(&detail, "%s\"outcome\":", detail.len > 1 ? "," : "");
		strbuf_add_json_str(&detail, m->outcome);
	}
	strbuf_addch(&detail, '}');
	snprintf(obj, sizeof(obj), "case:%" PRId64, id);
	if ((s = audit_append(w, req->user->username, "case.milestones", obj, detail.buf,
			      req->origin, err)))
		goto rollback;
	if (!(cs = store_prepare(w, CASE_SQL, err)) || !(cc = store_prepare(w, CONTROLLED_SQL, err))) {
		s = FK_EDB;
		goto rollback;
	}
	if ((s = targets_compute(cs, cc, policy_current(), id, now, ct, err)))
		goto rollback;
	if ((s = store_commit(w, err)))
		goto rollback;
	goto out;
rollback:
	store_rollback(w);
out:
	sqlite3_finalize(up);
	sqlite3_finalize(cs);
	sqlite3_finalize(cc);
	strbuf_release(&detail);
	return s;
}

/* The case's person's code follows its outcome at once. */
static void case_person_changed(int64_t case_id)
{
	struct fk_err err;
	sqlite3_stmt *st = store_reader_stmt("SELECT person_id FROM cases WHERE id = ?1", &err);
	if (!st)
		return;
	sqlite3_bind_int64(st, 1, case_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		healthcode_person_changed(sqlite3_column_int64(st, 0));
	store_stmt_done(st);
}

static void case_milestones_post(struct http_req *req)
{
	struct milestones m;
	struct case_targets ct;
	struct fk_err err;
	struct strbuf o = STRBUF_INIT;
	sqlite3_stmt *cs = NULL, *cc = NULL;
	json_t *body = NULL;
	int64_t id, now = fk_now();

	if (!(id = case_id_of(req)) || !http_reader(req))
		return;
	/* the case first: out of scope is 404 whatever the body says */
	if (!(cs = store_reader_stmt(CASE_SQL, &err)) || !(cc = store_reader_stmt(CONTROLLED_SQL, &err))) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	enum fk_status s = targets_compute(cs, cc, policy_current(), id, now, &ct, &err);
	store_stmt_done(cs);
	store_stmt_done(cc);
	cs = cc = NULL;
	if (s == FK_ENOTFOUND || (!s && !access_scope_contains(req->user->scope, ct.grid))) {
		http_error(req, 404, NULL, "no case '%s' in your scope", req->params[0]);
		goto done;
	}
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}
	if (!(body = http_body_object(req)) || !milestones_parse(req, body, &m) ||
	    !milestones_check(req, &m, ct.created_at, now) ||
	    (m.given[M_ISOLATED] && !isolation_in_window(req, id, m.at[M_ISOLATED], now)))
		goto done;
	sqlite3 *w = store_writer_lock();
	s = w ? milestones_tx(w, req, id, &m, now, &ct, &err)
	      : fk_fail(&err, FK_EDB, "database unavailable");
	store_writer_unlock();
	if (s == FK_EINVAL) {
		http_error(req, 400, NULL, "%s", err.msg);
		goto done;
	}
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}
	if (m.outcome) /* released (recovered, died) or back under treatment */
		case_person_changed(id);
	targets_json(&o, &ct, now);
	http_json(req, 200, o.buf);
done:
	json_decref(body);
	strbuf_release(&o);
}

/* ---------------- GET /api/v1/case-targets ---------------- */

static const char *const LIST_SQL =
	"SELECT c.id, p.name, p.id_number, p.grid_code, g.name, c.outcome FROM cases c"
	" JOIN persons p ON p.id = c.person_id JOIN regions g ON g.code = p.grid_code"
	" WHERE p.grid_code >= ?1 AND p.grid_code < ?2 AND p.grid_code >= ?3 AND p.grid_code < ?4"
	" AND c.id < ?5 ORDER BY c.id DESC";

static bool status_parse(const char *s, enum target_status *out)
{
	for (size_t i = 0; i < FK_ARRAY_LEN(status_names); i++) {
		if (!strcmp(s, status_names[i])) {
			*out = (enum target_status)i;
			return true;
		}
	}
	return false;
}

static void list_item_json(struct strbuf *o, sqlite3_stmt *st, const struct case_targets *ct)
{
	char name[64], idm[40], ts[32];
	mask_name(http_col(st, 1), name, sizeof(name));
	mask_id_number(http_col(st, 2), idm, sizeof(idm));
	strbuf_addf(o, "{\"case_id\":%" PRId64 ",\"person\":{\"id_number\":", ct->case_id);
	strbuf_add_json_str(o, idm);
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, name);
	strbuf_addstr(o, ",\"grid\":{\"code\":");
	strbuf_add_json_str(o, http_col(st, 3));
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, http_col(st, 4));
	strbuf_addf(o, "}},\"created_at\":\"%s\",\"outcome\":",
		    fk_format_time(ct->created_at, ts, sizeof(ts)));
	strbuf_add_json_str(o, http_col(st, 5));
	strbuf_addf(o, ",\"status\":\"%s\",\"targets\":{", status_names[worst_of(ct)]);
	for (int i = 0; i < T_COUNT; i++)
		strbuf_addf(o, "%s\"%s\":\"%s\"", i ? "," : "", target_names[i],
			    status_names[ct->t[i].status]);
	strbuf_addf(o, "},\"contacts\":%" PRId64 ",\"controlled\":%" PRId64 "}", ct->contacts,
		    ct->controlled);
}

static void case_targets_list(struct http_req *req)
{
	const char *status = http_query(req, "status"), *region = http_query(req, "region");
	char after[KEY_MAX], last[KEY_MAX] = "", lo[GRID_MAX], hi[GRID_MAX], rlo[GRID_MAX],
					     rhi[GRID_MAX];
	struct strbuf o = STRBUF_INIT, ids = STRBUF_INIT;
	struct fk_err err;
	sqlite3_stmt *st = NULL, *cs = NULL, *cc = NULL;
	enum target_status want = TS_PENDING;
	bool filter = status && *status;
	int64_t before = INT64_MAX, now = fk_now();
	int limit, n = 0, scanned = 0, rc;
	bool more = false;

	if (!http_reader(req) || !http_page_params(req, &limit, after, sizeof(after)))
		return;
	if (limit > 500)
		limit = 500;
	if (after[0] && !fk_parse_i64(after, 1, INT64_MAX, &before)) {
		http_error(req, 400, NULL, "cursor is not valid");
		return;
	}
	if (filter && !status_parse(status, &want)) {
		http_error(req, 400, NULL, "status must be met, missed, pending or overdue");
		return;
	}
	if (region && *region &&
	    (strlen(region) >= sizeof(rlo) || !fk_all_digits(region, strlen(region)) ||
	     !region_level_of_len(strlen(region)))) {
		http_error(req, 400, NULL, "region must be a region code, not '%.32s'", region);
		return;
	}
	fk_strlcpy(lo, req->user->scope, sizeof(lo));
	access_scope_upper(lo, hi, sizeof(hi));
	fk_strlcpy(rlo, region && *region ? region : "", sizeof(rlo));
	access_scope_upper(rlo, rhi, sizeof(rhi));
	if (!(st = store_reader_stmt(LIST_SQL, &err)) || !(cs = store_reader_stmt(CASE_SQL, &err)) ||
	    !(cc = store_reader_stmt(CONTROLLED_SQL, &err))) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rlo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, rhi, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, before);
	strbuf_addstr(&o, "{\"items\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (n == limit || scanned == LIST_SCAN) {
			more = true;
			break;
		}
		scanned++;
		struct case_targets ct;
		enum fk_status s = targets_compute(cs, cc, policy_current(), id, now, &ct, &err);
		if (s) {
			http_fail(req, s == FK_ENOTFOUND ? FK_EDB : s, &err);
			goto done;
		}
		snprintf(last, sizeof(last), "%" PRId64, id);
		bool match = !filter;
		for (int i = 0; !match && i < T_COUNT; i++)
			match = ct.t[i].status == want;
		if (!match)
			continue;
		if (n++)
			strbuf_addch(&o, ',');
		list_item_json(&o, st, &ct);
		strbuf_addf(&ids, "%s%" PRId64, ids.len ? "," : "", id);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		fk_fail(&err, FK_EDB, "case targets: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	http_page_finish(req, &o, more, last, "case.targets.list", "cases", n, ids.buf);
done:
	store_stmt_done(st);
	store_stmt_done(cs);
	store_stmt_done(cc);
	strbuf_release(&o);
	strbuf_release(&ids);
}

const struct http_route targets_routes[] = {
	{"POST", "/api/v1/cases/{id}/milestones", case_milestones_post, ROUTE_JSON_BODY, PERM_TRACE,
	 MILESTONE_BODY_MAX},
	{"GET", "/api/v1/cases/{id}/targets", case_targets_get, 0, PERM_TRACE, 0},
	{"GET", "/api/v1/case-targets", case_targets_list, 0, PERM_TRACE, 0},
};
const size_t targets_routes_len = FK_ARRAY_LEN(targets_routes);
