/* result.c — lab results per tube and what they set off: member results,
 * retest and resample tasks, case candidates; the task and candidate
 * lists; `fangkong import results`.
 *
 * Design note.
 *
 * One write path.  result_apply() records one tube's result with every
 * effect, inside a transaction its caller opened on the writer: the API
 * (POST /api/v1/results, one tube or a batch, under store_writer_lock) and
 * the importer (thousands of tubes a transaction) both call it, so a
 * result posted and a result imported leave the same rows.  It reads the
 * tube by code (UNIQUE index), its members through samples_tube, and
 * decides before it writes anything: an unknown tube, a tube without a
 * sample, a second result that differs from the stored one, or a report
 * older than the tube's last sample is refused with nothing written; the
 * same result again is "unchanged" and writes nothing.  Otherwise, in the
 * caller's transaction:
 *   - the tube: result, resulted_at, lab, result_by; closed_at when open;
 *   - a retest or resample tube with a valid (negative or positive)
 *     result: each member's open retest and resample tasks are done
 *     (done_by "tube:CODE"); a resample task that follows a round tube of
 *     campaign C counts the member as resulted (and positive) in C, at the
 *     grid of their round sample: their round tube was invalid and counted
 *     nothing;
 *   - round samples (samples.round = 1), negative or positive: the
 *     campaign_grids row of (campaign, samples.grid_code) gains resulted
 *     (and positive) per member;
 *   - positive with n > 1: a retest task per member (region: the sample's
 *     grid; due: reported_at + retest_hours); the view person_results makes
 *     them pool_positive, which the health code shows yellow;
 *   - positive with n = 1: a pending case_candidates row;
 *   - invalid: a resample task per member (due + resample_hours).
 * Task closing runs before task creation, so an invalid resample keeps
 * the task it did not settle and adds a new one.  tasks_once (kind,
 * ref_id, person) and case_candidates' (tube, person) key make every
 * insert idempotent.
 *
 * Invariants.
 *   - A tube's result is written once; nothing of a refused or unchanged
 *     tube is written (all checks precede the first write).
 *   - campaign_grids.resulted counts each round member once: at their
 *     round tube's valid result, or, after an invalid one, at the first
 *     valid result of a retest/resample tube closing their resample task.
 *   - The per-tube path allocates nothing: members (at most POOL_MAX, the
 *     schema's bound on pool_size) live in a fixed array.
 *
 * The server calls healthcode_person_changed() for every member after the
 * commit; the importer runs beside no server cache.  Audit: "result.record"
 * per recorded tube (API), "result.import" per committed batch (CLI).
 */
#include "testing/testing_int.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "access/access.h"
#include "healthcode/healthcode.h"
#include "http/http.h"
#include "lib/csv.h"
#include "lib/mapfile.h"
#include "lib/rejects.h"
#include "lib/strbuf.h"
#include "lib/textenc.h"
#include "lib/util.h"
#include "policy/policy.h"
#include "store/store.h"
#include "tracing/tracing.h"

#include "control/control.h"

#include "lib/banned.h"

#define POOL_MAX 20        /* tubes.pool_size CHECK */
#define GRID_MAX 24        /* a grid code is 15 digits */
#define LAB_MAX 64         /* bytes */
#define BATCH_ITEMS_MAX 1000
#define RESULTS_BODY_MAX (256 * 1024)
#define SMALL_BODY_MAX 4096
#define REASON_MAX 200
#define NOTE_MAX 500
#define FUTURE_TOLERANCE 300 /* a lab clock a little ahead is not an error */
#define TASKS_AT_ONCE 16
#define SOURCE_MAX (5 + TUBE_CODE_MAX + 1)
#define DEFAULT_RETEST_HOURS 12
#define DEFAULT_RESAMPLE_HOURS 24
#define IMPORT_BATCH_DEFAULT 5000 /* tubes a transaction */
#define IMPORT_BATCH_MAX 1000000

enum tube_result { RESULT_NEGATIVE, RESULT_POSITIVE, RESULT_INVALID };
static const char *const result_names[] = {"negative", "positive", "invalid"};

static bool result_parse(const char *s, size_t n, enum tube_result *out)
{
	for (unsigned i = 0; i < FK_ARRAY_LEN(result_names); i++)
		if (strlen(result_names[i]) == n && !memcmp(s, result_names[i], n)) {
			*out = (enum tube_result)i;
			return true;
		}
	return false;
}

/* ------------------------------------------------------- the write path */

/* Prepared statements on one writer connection, reused for every tube. */
struct result_writer {
	sqlite3 *db;
	int64_t retest_s, resample_s;
	sqlite3_stmt *tube_get, *members, *tube_set, *grid_add, *task_add, *cand_add,
		*tasks_open, *task_done, *round_grid;
};

enum result_outcome_kind {
	RESULT_RECORDED,    /* 201 */
	RESULT_UNCHANGED,   /* 200: the same result was stored */
	RESULT_UNKNOWN,     /* 404 unknown_tube */
	RESULT_CONFLICT,    /* 409 result_conflict */
	RESULT_EMPTY,       /* 409 tube_empty */
	RESULT_TOO_EARLY,   /* 400: reported before the last sample */
};

struct result_effects {
	int results, retest_tasks, resample_tasks, candidates, tasks_done;
};

struct member {
	int64_t person_id, campaign_id, sampled_at;
	bool round;
	char grid[GRID_MAX];
};

struct result_outcome {
	enum result_outcome_kind kind;
	int64_t tube_id;
	int members;
	char stored[16];     /* RESULT_CONFLICT, RESULT_UNCHANGED: the stored result */
	int64_t last_sample; /* RESULT_TOO_EARLY */
	struct member m[POOL_MAX];
	struct result_effects fx;
};

static void result_writer_release(struct result_writer *w)
{
	sqlite3_stmt **all[] = {&w->tube_get,  &w->members,    &w->tube_set,
				&w->grid_add,  &w->task_add,   &w->cand_add,
				&w->tasks_open, &w->task_done, &w->round_grid};
	for (size_t i = 0; i < FK_ARRAY_LEN(all); i++) {
		sqlite3_finalize(*all[i]);
		*all[i] = NULL;
	}
}

/* Prepares w's statements on wdb with the policy's hours (0: defaults).
 * FK_EDB on failure (w released). */
static enum fk_status result_writer_init(struct result_writer *w, sqlite3 *wdb, int retest_hours,
					 int resample_hours, struct fk_err *err)
{
	memset(w, 0, sizeof(*w));
	w->db = wdb;
	w->retest_s = (int64_t)(retest_hours > 0 ? retest_hours : DEFAULT_RETEST_HOURS) * 3600;
	w->resample_s =
		(int64_t)(resample_hours > 0 ? resample_hours : DEFAULT_RESAMPLE_HOURS) * 3600;
	struct {
		sqlite3_stmt **st;
		const char *sql;
	} q[] = {
		{&w->tube_get, "SELECT id, n, coalesce(result, '') FROM tubes WHERE code = ?"},
		{&w->members, "SELECT person_id, coalesce(campaign_id, 0), sampled_at, round,"
			      " grid_code FROM samples WHERE tube_id = ?"},
		{&w->tube_set, "UPDATE tubes SET result = ?1, resulted_at = ?2, lab = ?3,"
			       " result_by = ?4, closed_at = coalesce(closed_at, ?2) WHERE id = ?5"},
		{&w->grid_add, "INSERT INTO campaign_grids(campaign_id, grid_code, expected, resulted,"
			       " positive) VALUES (?1, ?2, 0, ?3, ?4)"
			       " ON CONFLICT(campaign_id, grid_code) DO UPDATE SET"
			       " resulted = resulted + excluded.resulted,"
			       " positive = positive + excluded.positive"},
		{&w->task_add, "INSERT OR IGNORE INTO tasks(kind, person_id, region_code, due_at,"
			       " created_at, source, ref_id) VALUES (?, ?, ?, ?, ?, ?, ?)"},
		{&w->cand_add, "INSERT OR IGNORE INTO case_candidates(person_id, tube_id, sampled_at,"
			       " resulted_at) VALUES (?, ?, ?, ?)"},
		{&w->tasks_open,
		 "SELECT t.id, t.kind = 'resample' AND r.purpose = 'round',"
		 " coalesce(r.campaign_id, 0) FROM tasks t LEFT JOIN tubes r ON r.id = t.ref_id"
		 " WHERE t.person_id = ? AND t.status = 'open' AND t.kind IN ('retest', 'resample')"
		 " ORDER BY t.id LIMIT 16"}, /* TASKS_AT_ONCE */
		{&w->task_done, "UPDATE tasks SET status = 'done', done_at = ?, done_by = ?"
				" WHERE id = ? AND status = 'open'"},
		{&w->round_grid, "SELECT grid_code FROM samples"
				 " WHERE campaign_id = ? AND person_id = ? AND round = 1"},
	};
	for (size_t i = 0; i < FK_ARRAY_LEN(q); i++)
		if (!(*q[i].st = store_prepare(wdb, q[i].sql, err))) {
			result_writer_release(w);
			return FK_EDB;
		}
	return FK_OK;
}

static enum fk_status step_done(struct result_writer *w, sqlite3_stmt *st, const char *what,
				struct fk_err *err)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fk_fail(err, FK_EDB, "cannot %s: %s", what, sqlite3_errmsg(w->db));
	return FK_OK;
}

static enum fk_status grid_add(struct result_writer *w, int64_t campaign, const char *grid,
			       int resulted, int positive, struct fk_err *err)
{
	sqlite3_bind_int64(w->grid_add, 1, campaign);
	sqlite3_bind_text(w->grid_add, 2, grid, -1, SQLITE_STATIC);
	sqlite3_bind_int(w->grid_add, 3, resulted);
	sqlite3_bind_int(w->grid_add, 4, positive);
	return step_done(w, w->grid_add, "count the result in campaign_grids", err);
}

/* Reads the tube and its members into out and decides; writes nothing. */
static enum fk_status result_check(struct result_writer *w, const char *tube,
				   enum tube_result r, int64_t reported_at,
				   struct result_outcome *out, int64_t *n, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	int rc;
	sqlite3_bind_text(w->tube_get, 1, tube, -1, SQLITE_STATIC);
	rc = sqlite3_step(w->tube_get);
	if (rc == SQLITE_DONE) {
		out->kind = RESULT_UNKNOWN;
		goto reset_tube;
	}
	if (rc != SQLITE_ROW) {
		st = fk_fail(err, FK_EDB, "cannot read tube '%s': %s", tube, sqlite3_errmsg(w->db));
		goto reset_tube;
	}
	out->tube_id = sqlite3_column_int64(w->tube_get, 0);
	*n = sqlite3_column_int64(w->tube_get, 1);
	fk_strlcpy(out->stored, (const char *)sqlite3_column_text(w->tube_get, 2),
		   sizeof(out->stored));
	sqlite3_reset(w->tube_get);
	if (out->stored[0]) {
		/* a second result: its members are not read (a file imported
		 * again costs one index probe a row) */
		out->kind = !strcmp(out->stored, result_names[r]) ? RESULT_UNCHANGED
								  : RESULT_CONFLICT;
		out->members = (int)*n;
		return FK_OK;
	}

	sqlite3_bind_int64(w->members, 1, out->tube_id);
	while ((rc = sqlite3_step(w->members)) == SQLITE_ROW) {
		if (out->members == POOL_MAX) {
			st = fk_fail(err, FK_EDB, "tube '%s' holds more than %d samples", tube,
				     POOL_MAX);
			goto reset_members;
		}
		struct member *m = &out->m[out->members++];
		m->person_id = sqlite3_column_int64(w->members, 0);
		m->campaign_id = sqlite3_column_int64(w->members, 1);
		m->sampled_at = sqlite3_column_int64(w->members, 2);
		m->round = sqlite3_column_int(w->members, 3) == 1;
		const char *g = (const char *)sqlite3_column_text(w->members, 4);
		fk_strlcpy(m->grid, g ? g : "", sizeof(m->grid));
		if (m->sampled_at > out->last_sample)
			out->last_sample = m->sampled_at;
	}
	if (rc != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot read the samples of tube '%s': %s", tube,
			     sqlite3_errmsg(w->db));
		goto reset_members;
	}
	if (!out->members)
		out->kind = RESULT_EMPTY;
	else if (reported_at < out->last_sample)
		out->kind = RESULT_TOO_EARLY;
	else
		out->kind = RESULT_RECORDED;
reset_members:
	sqlite3_reset(w->members);
	return st;
reset_tube:
	sqlite3_reset(w->tube_get);
	return st;
}

/* Closes person's open retest and resample tasks (a valid result of a
 * retest/resample tube); a resample task after a round tube counts the
 * person as resulted in that campaign. */
static enum fk_status close_tasks(struct result_writer *w, const struct member *m,
				  enum tube_result r, int64_t reported_at, const char *source,
				  struct result_outcome *out, struct fk_err *err)
{
	struct {
		int64_t id, campaign;
		bool counts;
	} t[TASKS_AT_ONCE];
	enum fk_status st = FK_OK;
	for (;;) {
		int n = 0, rc;
		sqlite3_bind_int64(w->tasks_open, 1, m->person_id);
		while ((rc = sqlite3_step(w->tasks_open)) == SQLITE_ROW && n < TASKS_AT_ONCE) {
			t[n].id = sqlite3_column_int64(w->tasks_open, 0);
			t[n].counts = sqlite3_column_int(w->tasks_open, 1) == 1;
			t[n].campaign = sqlite3_column_int64(w->tasks_open, 2);
			n++;
		}
		sqlite3_reset(w->tasks_open);
		if (rc != SQLITE_DONE && rc != SQLITE_ROW)
			return fk_fail(err, FK_EDB, "cannot read tasks: %s", sqlite3_errmsg(w->db));
		for (int i = 0; i < n; i++) {
			sqlite3_bind_int64(w->task_done, 1, reported_at);
			sqlite3_bind_text(w->task_done, 2, source, -1, SQLITE_STATIC);
			sqlite3_bind_int64(w->task_done, 3, t[i].id);
			if ((st = step_done(w, w->task_done, "close a task", err)))
				return st;
			out->fx.tasks_done++;
			if (!t[i].counts || !t[i].campaign)
				continue;
			char grid[GRID_MAX] = "";
			sqlite3_bind_int64(w->round_grid, 1, t[i].campaign);
			sqlite3_bind_int64(w->round_grid, 2, m->person_id);
			rc = sqlite3_step(w->round_grid);
			if (rc == SQLITE_ROW)
				fk_strlcpy(grid, (const char *)sqlite3_column_text(w->round_grid, 0),
					   sizeof(grid));
			sqlite3_reset(w->round_grid);
			if (rc != SQLITE_ROW && rc != SQLITE_DONE)
				return fk_fail(err, FK_EDB, "cannot read a round sample: %s",
					       sqlite3_errmsg(w->db));
			if (rc == SQLITE_ROW &&
			    (st = grid_add(w, t[i].campaign, grid, 1, r == RESULT_POSITIVE, err)))
				return st;
		}
		if (n < TASKS_AT_ONCE)
			return FK_OK;
	}
}

static enum fk_status add_task(struct result_writer *w, const char *kind, const struct member *m,
			       int64_t due, int64_t now, const char *source, int64_t tube_id,
			       int *count, struct fk_err *err)
{
	sqlite3_bind_text(w->task_add, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(w->task_add, 2, m->person_id);
	sqlite3_bind_text(w->task_add, 3, m->grid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(w->task_add, 4, due);
	sqlite3_bind_int64(w->task_add, 5, now);
	sqlite3_bind_text(w->task_add, 6, source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(w->task_add, 7, tube_id);
	enum fk_status st = step_done(w, w->task_add, "add a task", err);
	if (!st)
		*count += sqlite3_changes(w->db);
	return st;
}

/* Records result r of tube (code) reported at reported_at by `by` (user or
 * actor) from lab, inside the caller's open transaction on w->db, with
 * every effect (design note).  Refusals and "unchanged" are in out->kind
 * with nothing written; the return is FK_EDB only when the database
 * fails (the caller rolls back). */
static enum fk_status result_apply(struct result_writer *w, const char *tube, enum tube_result r,
				   int64_t reported_at, const char *lab, const char *by,
				   int64_t now, struct result_outcome *out, struct fk_err *err)
{
	enum fk_status st;
	int64_t n = 0;
	char source[SOURCE_MAX];

	out->kind = RESULT_UNKNOWN;
	out->tube_id = 0;
	out->members = 0;
	out->stored[0] = '\0';
	out->last_sample = 0;
	memset(&out->fx, 0, sizeof(out->fx));
	if ((st = result_check(w, tube, r, reported_at, out, &n, err)) ||
	    out->kind != RESULT_RECORDED)
		return st;
	snprintf(source, sizeof(source), "tube:%s", tube);

	sqlite3_bind_text(w->tube_set, 1, result_names[r], -1, SQLITE_STATIC);
	sqlite3_bind_int64(w->tube_set, 2, reported_at);
	sqlite3_bind_text(w->tube_set, 3, lab, -1, SQLITE_STATIC);
	sqlite3_bind_text(w->tube_set, 4, by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(w->tube_set, 5, out->tube_id);
	if ((st = step_done(w, w->tube_set, "record the result", err)))
		return st;
	out->fx.results = out->members;

	/* a retest or resample settles the tasks it was taken for */
	for (int i = 0; r != RESULT_INVALID && i < out->members; i++)
		if (!out->m[i].round &&
		    (st = close_tasks(w, &out->m[i], r, reported_at, source, out, err)))
			return st;

	/* round members count in their campaign's grid, one row per grid */
	if (r != RESULT_INVALID) {
		bool done[POOL_MAX] = {false};
		for (int i = 0; i < out->members; i++) {
			const struct member *m = &out->m[i];
			if (done[i] || !m->round || !m->campaign_id)
				continue;
			int k = 0;
			for (int j = i; j < out->members; j++)
				if (!done[j] && out->m[j].round &&
				    out->m[j].campaign_id == m->campaign_id &&
				    !strcmp(out->m[j].grid, m->grid)) {
					done[j] = true;
					k++;
				}
			if ((st = grid_add(w, m->campaign_id, m->grid, k,
					   r == RESULT_POSITIVE ? k : 0, err)))
				return st;
		}
	}

	for (int i = 0; i < out->members; i++) {
		const struct member *m = &out->m[i];
		if (r == RESULT_POSITIVE && n > 1) {
			st = add_task(w, "retest", m, reported_at + w->retest_s, now, source,
				      out->tube_id, &out->fx.retest_tasks, err);
		} else if (r == RESULT_POSITIVE) {
			sqlite3_bind_int64(w->cand_add, 1, m->person_id);
			sqlite3_bind_int64(w->cand_add, 2, out->tube_id);
			sqlite3_bind_int64(w->cand_add, 3, m->sampled_at);
			sqlite3_bind_int64(w->cand_add, 4, reported_at);
			st = step_done(w, w->cand_add, "add a case candidate", err);
			if (!st)
				out->fx.candidates += sqlite3_changes(w->db);
		} else if (r == RESULT_INVALID) {
			st = add_task(w, "resample", m, reported_at + w->resample_s, now, source,
				      out->tube_id, &out->fx.resample_tasks, err);
		}
		if (st)
			return st;
	}
	return FK_OK;
}

/* ------------------------------------------------------------ HTTP */

static void db_fail(struct http_req *req, sqlite3 *db, const char *what)
{
	struct fk_err err;
	fk_fail(&err, FK_EDB, "%s: %s", what, db ? sqlite3_errmsg(db) : "no connection");
	http_fail(req, FK_EDB, &err);
}

static void time_member(struct strbuf *o, const char *key, int64_t t, bool known)
{
	char ts[32];
	strbuf_addch(o, ',');
	strbuf_add_json_str(o, key);
	if (known)
		strbuf_addf(o, ":\"%s\"", fk_format_time(t, ts, sizeof(ts)));
	else
		strbuf_addstr(o, ":null");
}

static void effects_json(struct strbuf *o, const struct result_effects *fx)
{
	strbuf_addf(o,
		    "\"effects\":{\"results\":%d,\"retest_tasks\":%d,\"resample_tasks\":%d,"
		    "\"candidates\":%d,\"tasks_done\":%d}",
		    fx->results, fx->retest_tasks, fx->resample_tasks, fx->candidates,
		    fx->tasks_done);
}

/* One result as posted, checked for form (not against the database). */
struct result_item {
	const char *tube; /* NULL when absent or not a string */
	enum tube_result result;
	int64_t reported_at;
	const char *lab;
};

/* Reads item o into it; false with a message in msg on a malformed one. */
static bool result_item_parse(json_t *o, int64_t now, struct result_item *it, char *msg,
			      size_t size)
{
	const char *names[] = {"tube", "result", "reported_at", "lab"};
	const char *v[4] = {NULL, NULL, NULL, NULL};
	memset(it, 0, sizeof(*it));
	it->lab = "";
	if (!json_is_object(o)) {
		snprintf(msg, size, "a result must be an object");
		return false;
	}
	for (size_t i = 0; i < FK_ARRAY_LEN(names); i++) {
		json_t *x = json_object_get(o, names[i]);
		if (!x || json_is_null(x))
			continue;
		if (!json_is_string(x) || strlen(json_string_value(x)) != json_string_length(x)) {
			snprintf(msg, size, "'%s' must be a string", names[i]);
			return false;
		}
		v[i] = json_string_value(x);
	}
	if (v[0] && testing_code_valid(v[0], TUBE_CODE_MAX))
		it->tube = v[0];
	if (!v[0]) {
		snprintf(msg, size, "'tube' is required");
		return false;
	}
	if (!it->tube) {
		snprintf(msg, size, "'tube' must be 1 to %d of A-Z a-z 0-9 _ -", TUBE_CODE_MAX);
		return false;
	}
	if (!v[1] || !result_parse(v[1], strlen(v[1]), &it->result)) {
		snprintf(msg, size, "'result' must be negative, positive or invalid");
		return false;
	}
	it->reported_at = now;
	if (v[2] && !fk_parse_time(v[2], &it->reported_at)) {
		snprintf(msg, size,
			 "'reported_at' is not an ISO 8601 time with offset (2022-01-10T08:30:00+08:00)");
		return false;
	}
	if (it->reported_at > now + FUTURE_TOLERANCE) {
		snprintf(msg, size, "'reported_at' is in the future");
		return false;
	}
	if (v[3]) {
		if (strlen(v[3]) > LAB_MAX) {
			snprintf(msg, size, "'lab' is longer than %d bytes", LAB_MAX);
			return false;
		}
		it->lab = v[3];
	}
	return true;
}

/* The answer for one item: HTTP status, error code and message. */
static int outcome_status(const struct result_outcome *oc, const char *tube,
			  const char **code, char *msg, size_t size)
{
	char ts[32];
	*code = NULL;
	switch (oc->kind) {
	case RESULT_RECORDED:
		return 201;
	case RESULT_UNCHANGED:
		return 200;
	case RESULT_UNKNOWN:
		*code = "unknown_tube";
		snprintf(msg, size, "no tube '%s'", tube);
		return 404;
	case RESULT_CONFLICT:
		*code = "result_conflict";
		snprintf(msg, size, "tube '%s' already has the result '%s'", tube, oc->stored);
		return 409;
	case RESULT_EMPTY:
		*code = "tube_empty";
		snprintf(msg, size, "tube '%s' holds no sample", tube);
		return 409;
	case RESULT_TOO_EARLY:
		*code = "bad_request";
		snprintf(msg, size, "'reported_at' is before the tube's last sample (%s)",
			 fk_format_time(oc->last_sample, ts, sizeof(ts)));
		return 400;
	}
	return 500;
}

static void outcome_body(struct strbuf *o, const char *tube, enum tube_result r,
			 const struct result_outcome *oc)
{
	strbuf_addstr(o, "\"tube\":");
	strbuf_add_json_str(o, tube);
	strbuf_addstr(o, ",\"result\":");
	strbuf_add_json_str(o, result_names[r]);
	strbuf_addf(o, ",\"members\":%d,", oc->members);
	effects_json(o, &oc->fx);
	if (oc->kind == RESULT_UNCHANGED)
		strbuf_addstr(o, ",\"unchanged\":true");
}

static enum fk_status audit_result(sqlite3 *w, struct http_req *req, const char *tube,
				   enum tube_result r, const struct result_outcome *oc,
				   struct fk_err *err)
{
	char object[48], detail[160];
	snprintf(object, sizeof(object), "tube:%s", tube);
	snprintf(detail, sizeof(detail),
		 "{\"result\":\"%s\",\"members\":%d,\"retest_tasks\":%d,\"resample_tasks\":%d,"
		 "\"candidates\":%d,\"tasks_done\":%d}",
		 result_names[r], oc->members, oc->fx.retest_tasks, oc->fx.resample_tasks,
		 oc->fx.candidates, oc->fx.tasks_done);
	return audit_append(w, req->user->username, "result.record", object, detail, req->origin,
			    err);
}

static void results_hours(int *retest, int *resample)
{
	const struct policy *p = policy_current();
	*retest = p ? p->retest_hours : 0;
	*resample = p ? p->resample_hours : 0;
}

/* POST /api/v1/results: one {"tube",...} or {"results":[...]}. */
static void results_post(struct http_req *req)
{
	json_t *o = NULL, *arr = NULL;
	struct fk_err err = {FK_OK, ""};
	struct strbuf out = STRBUF_INIT;
	struct result_writer w;
	struct result_item *items = NULL;
	struct result_outcome *oc = NULL;
	bool *valid = NULL;
	char (*msgs)[REASON_MAX] = NULL;
	size_t n = 1;
	int64_t now = fk_now();
	int retest_h, resample_h;
	enum fk_status st = FK_OK;
	bool writer_ready = false;

	memset(&w, 0, sizeof(w));
	if (!(o = http_body_object(req)))
		goto done;
	arr = json_object_get(o, "results");
	bool batch = arr != NULL;
	if (batch) {
		if (!json_is_array(arr) || !json_array_size(arr) ||
		    json_array_size(arr) > BATCH_ITEMS_MAX) {
			http_error(req, 400, NULL, "'results' must be an array of 1 to %d results",
				   BATCH_ITEMS_MAX);
			goto done;
		}
		n = json_array_size(arr);
	}
	items = fk_xcalloc(n, sizeof(*items));
	oc = fk_xcalloc(n, sizeof(*oc));
	valid = fk_xcalloc(n, sizeof(*valid));
	msgs = fk_xcalloc(n, sizeof(*msgs));
	for (size_t i = 0; i < n; i++) {
		valid[i] = result_item_parse(batch ? json_array_get(arr, i) : o, now, &items[i],
					     msgs[i], sizeof(msgs[i]));
		if (!batch && !valid[i]) {
			http_error(req, 400, NULL, "%s", msgs[i]);
			goto done;
		}
	}

	results_hours(&retest_h, &resample_h);
	sqlite3 *wdb = store_writer_lock();
	if (!wdb) {
		store_writer_unlock();
		http_error(req, 503, NULL, "database unavailable");
		goto done;
	}
	if ((st = result_writer_init(&w, wdb, retest_h, resample_h, &err)))
		goto unlock;
	writer_ready = true;
	if ((st = store_begin(wdb, &err)))
		goto unlock;
	for (size_t i = 0; i < n && !st; i++) {
		if (!valid[i])
			continue;
		st = result_apply(&w, items[i].tube, items[i].result, items[i].reported_at,
				  items[i].lab, req->user->username, now, &oc[i], &err);
		if (!st && oc[i].kind == RESULT_RECORDED)
			st = audit_result(wdb, req, items[i].tube, items[i].result, &oc[i], &err);
	}
	if (!st)
		st = store_commit(wdb, &err);
	if (st)
		store_rollback(wdb);
unlock:
	if (writer_ready)
		result_writer_release(&w);
	store_writer_unlock();
	if (st) {
		http_fail(req, st, &err);
		goto done;
	}
	/* the health code of every member of a recorded tube changes now */
	for (size_t i = 0; i < n; i++)
		if (valid[i] && oc[i].kind == RESULT_RECORDED)
			for (int k = 0; k < oc[i].members; k++)
				healthcode_person_changed(oc[i].m[k].person_id);

	if (!batch) {
		const char *code;
		char msg[REASON_MAX];
		int status = outcome_status(&oc[0], items[0].tube, &code, msg, sizeof(msg));
		if (status >= 400) {
			http_error(req, status, code, "%s", msg);
			goto done;
		}
		strbuf_addch(&out, '{');
		outcome_body(&out, items[0].tube, items[0].result, &oc[0]);
		strbuf_addch(&out, '}');
		http_json(req, status, out.buf);
		goto done;
	}
	int accepted = 0, refused = 0;
	strbuf_addstr(&out, "{\"items\":[");
	for (size_t i = 0; i < n; i++) {
		const char *code = "bad_request";
		char msg[REASON_MAX];
		int status = 400;
		if (i)
			strbuf_addch(&out, ',');
		if (valid[i])
			status = outcome_status(&oc[i], items[i].tube, &code, msg, sizeof(msg));
		else
			fk_strlcpy(msg, msgs[i], sizeof(msg));
		if (status < 400) {
			accepted++;
			strbuf_addch(&out, '{');
			outcome_body(&out, items[i].tube, items[i].result, &oc[i]);
			strbuf_addf(&out, ",\"status\":%d}", status);
			continue;
		}
		refused++;
		json_t *t = json_is_object(json_array_get(arr, i))
				    ? json_object_get(json_array_get(arr, i), "tube")
				    : NULL;
		strbuf_addstr(&out, "{\"tube\":");
		if (json_is_string(t) && strlen(json_string_value(t)) == json_string_length(t))
			strbuf_add_json_str(&out, json_string_value(t));
		else
			strbuf_addstr(&out, "null");
		strbuf_addf(&out, ",\"status\":%d,\"error\":{\"code\":", status);
		strbuf_add_json_str(&out, code ? code : "bad_request");
		strbuf_addstr(&out, ",\"message\":");
		strbuf_add_json_str(&out, msg);
		strbuf_addstr(&out, "}}");
	}
	strbuf_addf(&out, "],\"accepted\":%d,\"refused\":%d}", accepted, refused);
	http_json(req, 200, out.buf);
done:
	free(items);
	free(oc);
	free(valid);
	free(msgs);
	strbuf_release(&out);
	json_decref(o);
}

/* ---------------------------------------------------------- lists */

static int64_t col64(sqlite3_stmt *st, int i)
{
	return (int64_t)sqlite3_column_int64(st, i);
}

struct person_masked {
	char name[64], id_number[32];
};

static void person_json(struct strbuf *o, sqlite3_stmt *st, int id_col)
{
	struct person_masked pm;
	if (sqlite3_column_type(st, id_col) == SQLITE_NULL) {
		strbuf_addstr(o, "null");
		return;
	}
	mask_name(http_col(st, id_col + 1), pm.name, sizeof(pm.name));
	mask_id_number(http_col(st, id_col + 2), pm.id_number, sizeof(pm.id_number));
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"name\":", col64(st, id_col));
	strbuf_add_json_str(o, pm.name);
	strbuf_addstr(o, ",\"id_number\":");
	strbuf_add_json_str(o, pm.id_number);
	strbuf_addch(o, '}');
}

static void region_json(struct strbuf *o, const char *code, const char *name)
{
	strbuf_addstr(o, "{\"code\":");
	strbuf_add_json_str(o, code);
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, name);
	strbuf_addch(o, '}');
}

/* The code range [lo, hi) a list covers: the user's scope, narrowed to
 * region when that lies inside it (a scope inside region stays the
 * scope).  False after answering 404 (a region outside the scope) or 400. */
static bool list_range(struct http_req *req, char *lo, char *hi, size_t size)
{
	const char *region = http_query(req, "region");
	const char *scope = req->user->scope;
	if (region && (!*region || strlen(region) >= size || !fk_all_digits(region, strlen(region)))) {
		http_error(req, 400, NULL, "'region' must be a region code");
		return false;
	}
	if (!region || access_scope_contains(region, scope)) {
		fk_strlcpy(lo, scope, size);
	} else if (access_scope_contains(scope, region)) {
		fk_strlcpy(lo, region, size);
	} else {
		http_error(req, 404, NULL, "no region '%s' in your scope", region);
		return false;
	}
	access_scope_upper(lo, hi, size);
	return true;
}

/* "A:B" -> two integers (a paging cursor) */
static bool cursor_pair(const char *s, int64_t *a, int64_t *b)
{
	char buf[64];
	if (!fk_strlcpy(buf, s, sizeof(buf)))
		return false;
	char *colon = strchr(buf, ':');
	if (!colon)
		return false;
	*colon = '\0';
	return fk_parse_i64(buf, INT64_MIN, INT64_MAX, a) &&
	       fk_parse_i64(colon + 1, 0, INT64_MAX, b);
}

#define TASK_SELECT                                                                             \
	"SELECT t.id, t.kind, t.person_id, p.name, p.id_number, t.region_code,"                \
	" coalesce(r.name, ''), t.due_at, t.status, t.source, t.created_at, t.done_at"         \
	" FROM tasks t LEFT JOIN persons p ON p.id = t.person_id"                              \
	" LEFT JOIN regions r ON r.code = t.region_code "

static void task_json(struct strbuf *o, sqlite3_stmt *st, int64_t now)
{
	const char *status = http_col(st, 8);
	int64_t due = col64(st, 7);
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"kind\":", col64(st, 0));
	strbuf_add_json_str(o, http_col(st, 1));
	strbuf_addstr(o, ",\"person\":");
	person_json(o, st, 2);
	strbuf_addstr(o, ",\"region\":");
	region_json(o, http_col(st, 5), http_col(st, 6));
	time_member(o, "due_at", due, true);
	strbuf_addf(o, ",\"overdue\":%s,\"status\":",
		    !strcmp(status, "open") && due < now ? "true" : "false");
	strbuf_add_json_str(o, status);
	strbuf_addstr(o, ",\"source\":");
	strbuf_add_json_str(o, http_col(st, 9));
	time_member(o, "created_at", col64(st, 10), true);
	time_member(o, "done_at", col64(st, 11),
		    sqlite3_column_type(st, 11) != SQLITE_NULL);
	strbuf_addch(o, '}');
}

/* GET /api/v1/tasks?region=&kind=&status=  due first */
static void tasks_list(struct http_req *req)
{
	struct fk_err err;
	struct strbuf o = STRBUF_INIT, ids = STRBUF_INIT;
	char after[64], lo[24], hi[24], last[64] = "";
	int limit, n = 0, rc;
	int64_t due = INT64_MIN, id = 0, now = fk_now();
	sqlite3_stmt *st = NULL;
	const char *status = http_query(req, "status"), *kind = http_query(req, "kind");

	if (!http_reader(req) || !http_page_params(req, &limit, after, sizeof(after)) ||
	    !list_range(req, lo, hi, sizeof(lo)))
		return;
	if (!status)
		status = "open";
	if (strcmp(status, "open") && strcmp(status, "done") && strcmp(status, "cancelled")) {
		http_error(req, 400, NULL, "'status' must be open, done or cancelled");
		return;
	}
	if (kind && strlen(kind) > 32) {
		http_error(req, 400, NULL, "'kind' is longer than 32 bytes");
		return;
	}
	if (after[0] && !cursor_pair(after, &due, &id)) {
		http_error(req, 400, NULL, "cursor is not valid");
		return;
	}
	st = store_reader_stmt(TASK_SELECT
			       "WHERE t.region_code >= ?1 AND t.region_code < ?2 AND t.status = ?3"
			       " AND (?4 = '' OR t.kind = ?4)"
			       " AND (t.due_at > ?5 OR (t.due_at = ?5 AND t.id > ?6))"
			       " ORDER BY t.due_at, t.id LIMIT ?7",
			       &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, kind ? kind : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, due);
	sqlite3_bind_int64(st, 6, id);
	sqlite3_bind_int(st, 7, limit + 1);
	strbuf_addstr(&o, "{\"items\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit)
			break;
		if (n++)
			strbuf_addch(&o, ',');
		task_json(&o, st, now);
		strbuf_addf(&ids, "%s%" PRId64, ids.len ? "," : "", col64(st, 0));
		snprintf(last, sizeof(last), "%" PRId64 ":%" PRId64, col64(st, 7),
			 col64(st, 0));
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_fail(req, sqlite3_db_handle(st), "tasks");
		goto done;
	}
	http_page_finish(req, &o, rc == SQLITE_ROW, last, "task.list", "tasks", n, ids.buf);
done:
	store_stmt_done(st);
	strbuf_release(&o);
	strbuf_release(&ids);
}

/* The text member key of the body: required and 1..max bytes; false after
 * answering 400. */
static bool required_text(struct http_req *req, json_t *o, const char *key, size_t max,
			  const char **out)
{
	if (!http_member_str(req, o, key, out))
		return false;
	if (!*out || !**out) {
		http_error(req, 400, NULL, "'%s' is required", key);
		return false;
	}
	if (strlen(*out) > max) {
		http_error(req, 400, NULL, "'%s' is longer than %zu bytes", key, max);
		return false;
	}
	return true;
}

/* POST /api/v1/tasks/{id}/cancel {"reason"} */
static void task_cancel(struct http_req *req)
{
	json_t *o = NULL;
	const char *reason;
	struct fk_err err = {FK_OK, ""};
	struct strbuf out = STRBUF_INIT;
	sqlite3_stmt *st = NULL;
	int64_t id, now = fk_now();
	char region[24] = "", status[16] = "", obj[48];
	enum fk_status s = FK_OK;

	if (!fk_parse_i64(req->params[0], 1, INT64_MAX, &id)) {
		http_error(req, 404, NULL, "no task '%s' in your scope", req->params[0]);
		return;
	}
	if (!(o = http_body_object(req)) || !required_text(req, o, "reason", NOTE_MAX, &reason))
		goto done;
	sqlite3 *w = store_writer_lock();
	if (!w) {
		store_writer_unlock();
		http_error(req, 503, NULL, "database unavailable");
		goto done;
	}
	if ((s = store_begin(w, &err)))
		goto unlock;
	if (!(st = store_prepare(w, "SELECT region_code, status FROM tasks WHERE id = ?", &err))) {
		s = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		fk_strlcpy(region, http_col(st, 0), sizeof(region));
		fk_strlcpy(status, http_col(st, 1), sizeof(status));
	} else if (rc != SQLITE_DONE) {
		s = fk_fail(&err, FK_EDB, "cannot read task: %s", sqlite3_errmsg(w));
		goto rollback;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_DONE || !access_scope_contains(req->user->scope, region)) {
		s = fk_fail(&err, FK_ENOTFOUND, "no task '%s' in your scope", req->params[0]);
		goto rollback;
	}
	if (!strcmp(status, "done")) {
		s = fk_fail(&err, FK_ECONFLICT, "task %" PRId64 " is done", id);
		goto rollback;
	}
	if (!strcmp(status, "open")) {
		if (!(st = store_prepare(w,
					 "UPDATE tasks SET status = 'cancelled', done_at = ?,"
					 " done_by = ?, note = ? WHERE id = ?",
					 &err))) {
			s = FK_EDB;
			goto rollback;
		}
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_text(st, 2, req->user->username, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, id);
		if (sqlite3_step(st) != SQLITE_DONE) {
			s = fk_fail(&err, FK_EDB, "cannot cancel task: %s", sqlite3_errmsg(w));
			goto rollback;
		}
		sqlite3_finalize(st);
		st = NULL;
		snprintf(obj, sizeof(obj), "task:%" PRId64, id);
		if ((s = audit_append(w, req->user->username, "task.cancel", obj, reason,
				      req->origin, &err)))
			goto rollback;
	}
	if (!(st = store_prepare(w, TASK_SELECT "WHERE t.id = ?", &err))) {
		s = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		s = fk_fail(&err, FK_EDB, "cannot read task: %s", sqlite3_errmsg(w));
		goto rollback;
	}
	task_json(&out, st, now);
	s = store_commit(w, &err);
	if (!s)
		goto unlock;
rollback:
	store_rollback(w);
unlock:
	sqlite3_finalize(st);
	st = NULL;
	store_writer_unlock();
	if (s)
		http_fail(req, s, &err);
	else
		http_json(req, 200, out.buf);
done:
	strbuf_release(&out);
	json_decref(o);
}

/* ---------------------------------------------------------- candidates */

#define CAND_SELECT                                                                             \
	"SELECT c.id, c.person_id, p.name, p.id_number, p.grid_code, coalesce(g.name, ''),"    \
	" t.code, c.sampled_at, c.resulted_at, c.status, c.case_id, c.decided_at,"             \
	" c.decided_by, c.note FROM case_candidates c JOIN persons p ON p.id = c.person_id"    \
	" JOIN tubes t ON t.id = c.tube_id LEFT JOIN regions g ON g.code = p.grid_code "

static void candidate_json(struct strbuf *o, sqlite3_stmt *st)
{
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"person\":", col64(st, 0));
	person_json(o, st, 1);
	strbuf_addstr(o, ",\"region\":");
	region_json(o, http_col(st, 4), http_col(st, 5));
	strbuf_addstr(o, ",\"tube\":");
	strbuf_add_json_str(o, http_col(st, 6));
	time_member(o, "sampled_at", col64(st, 7), true);
	time_member(o, "resulted_at", col64(st, 8), true);
	strbuf_addstr(o, ",\"status\":");
	strbuf_add_json_str(o, http_col(st, 9));
	if (sqlite3_column_type(st, 10) == SQLITE_NULL)
		strbuf_addstr(o, ",\"case_id\":null");
	else
		strbuf_addf(o, ",\"case_id\":%" PRId64, col64(st, 10));
	time_member(o, "decided_at", col64(st, 11),
		    sqlite3_column_type(st, 11) != SQLITE_NULL);
	strbuf_addstr(o, ",\"decided_by\":");
	strbuf_add_json_str(o, http_col(st, 12));
	strbuf_addstr(o, ",\"note\":");
	strbuf_add_json_str(o, http_col(st, 13));
	strbuf_addch(o, '}');
}

/* GET /api/v1/candidates?status=pending|confirmed|dismissed (oldest first) */
static void candidates_list(struct http_req *req)
{
	struct fk_err err;
	struct strbuf o = STRBUF_INIT, ids = STRBUF_INIT;
	char after[64], lo[24], hi[24], last[32] = "";
	int limit, n = 0, rc;
	int64_t from = 0;
	sqlite3_stmt *st = NULL;
	const char *status = http_query(req, "status");

	if (!http_reader(req) || !http_page_params(req, &limit, after, sizeof(after)) ||
	    !list_range(req, lo, hi, sizeof(lo)))
		return;
	if (!status)
		status = "pending";
	if (strcmp(status, "pending") && strcmp(status, "confirmed") &&
	    strcmp(status, "dismissed")) {
		http_error(req, 400, NULL, "'status' must be pending, confirmed or dismissed");
		return;
	}
	if (after[0] && !fk_parse_i64(after, 0, INT64_MAX, &from)) {
		http_error(req, 400, NULL, "cursor is not valid");
		return;
	}
	st = store_reader_stmt(CAND_SELECT "WHERE c.status = ?1 AND c.id > ?2"
					   " AND p.grid_code >= ?3 AND p.grid_code < ?4"
					   " ORDER BY c.id LIMIT ?5",
			       &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_text(st, 3, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, hi, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, limit + 1);
	strbuf_addstr(&o, "{\"items\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit)
			break;
		if (n++)
			strbuf_addch(&o, ',');
		candidate_json(&o, st);
		strbuf_addf(&ids, "%s%" PRId64, ids.len ? "," : "", col64(st, 0));
		snprintf(last, sizeof(last), "%" PRId64, col64(st, 0));
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_fail(req, sqlite3_db_handle(st), "candidates");
		goto done;
	}
	http_page_finish(req, &o, rc == SQLITE_ROW, last, "candidate.list", "candidates", n,
			 ids.buf);
done:
	store_stmt_done(st);
	strbuf_release(&o);
	strbuf_release(&ids);
}

struct candidate {
	int64_t id, person_id, sampled_at, case_id;
	char status[16], tube[TUBE_CODE_MAX + 1];
};

/* Reads candidate id when its person lies in the user's scope; else
 * FK_ENOTFOUND.  db: a reader or the writer. */
static enum fk_status candidate_get(sqlite3 *db, struct http_req *req, int64_t id,
				    struct candidate *c, struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(
		db,
		"SELECT c.person_id, c.sampled_at, c.status, coalesce(c.case_id, 0), t.code,"
		" p.grid_code FROM case_candidates c JOIN persons p ON p.id = c.person_id"
		" JOIN tubes t ON t.id = c.tube_id WHERE c.id = ?",
		err);
	if (!st)
		return FK_EDB;
	enum fk_status s = FK_OK;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && access_scope_contains(req->user->scope, http_col(st, 5))) {
		c->id = id;
		c->person_id = col64(st, 0);
		c->sampled_at = col64(st, 1);
		fk_strlcpy(c->status, http_col(st, 2), sizeof(c->status));
		c->case_id = col64(st, 3);
		fk_strlcpy(c->tube, http_col(st, 4), sizeof(c->tube));
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		s = fk_fail(err, FK_ENOTFOUND, "no candidate '%s' in your scope", req->params[0]);
	} else {
		s = fk_fail(err, FK_EDB, "cannot read candidate: %s", sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return s;
}

static enum fk_status candidate_not_pending(const struct candidate *c, struct fk_err *err)
{
	if (!strcmp(c->status, "confirmed"))
		return fk_fail(err, FK_ECONFLICT, "candidate %" PRId64 " is already case %" PRId64,
			       c->id, c->case_id);
	return fk_fail(err, FK_ECONFLICT, "candidate %" PRId64 " is %s", c->id, c->status);
}

/* Sets candidate c's decision inside the caller's transaction on w and
 * audits it. */
static enum fk_status candidate_decide(sqlite3 *w, struct http_req *req, const struct candidate *c,
				       const char *status, int64_t case_id, const char *note,
				       int64_t now, struct fk_err *err)
{
	char obj[48], detail[NOTE_MAX + 64];
	sqlite3_stmt *st = store_prepare(w,
					 "UPDATE case_candidates SET status = ?, case_id = ?,"
					 " decided_at = ?, decided_by = ?, note = ? WHERE id = ?",
					 err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	if (case_id)
		sqlite3_bind_int64(st, 2, case_id);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_text(st, 4, req->user->username, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, note, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, c->id);
	enum fk_status s = FK_OK;
	if (sqlite3_step(st) != SQLITE_DONE)
		s = fk_fail(err, FK_EDB, "cannot update candidate: %s", sqlite3_errmsg(w));
	sqlite3_finalize(st);
	if (s)
		return s;
	snprintf(obj, sizeof(obj), "candidate:%" PRId64, c->id);
	if (case_id)
		snprintf(detail, sizeof(detail), "tube %s: case %" PRId64, c->tube, case_id);
	else
		snprintf(detail, sizeof(detail), "tube %s: %s", c->tube, note);
	return audit_append(w, req->user->username,
			    case_id ? "candidate.confirm" : "candidate.dismiss", obj, detail,
			    req->origin, err);
}

/* The candidate as JSON, read on db. */
static enum fk_status candidate_read_json(sqlite3 *db, int64_t id, struct strbuf *o,
					  struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(db, CAND_SELECT "WHERE c.id = ?", err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	enum fk_status s = FK_OK;
	if (sqlite3_step(st) == SQLITE_ROW)
		candidate_json(o, st);
	else
		s = fk_fail(err, FK_EDB, "cannot read candidate: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return s;
}

/* POST /api/v1/candidates/{id}/confirm {"class","onset"?,"found_where"?}:
 * the case is added the way POST /api/v1/cases adds one — links found on a
 * reader, case_add under the writer, contacts recorded, the health code
 * told — with first_positive_at the sample's time. */
static void candidate_confirm(struct http_req *req)
{
	json_t *o = NULL;
	const char *cls, *onset, *where;
	struct fk_err err = {FK_OK, ""};
	struct strbuf out = STRBUF_INIT;
	struct candidate cand;
	struct case_rec c;
	struct tracing_params p;
	struct chain_link *links = NULL;
	size_t nlinks = 0, recorded = 0;
	int64_t id, now = fk_now();
	enum fk_status s;
	sqlite3 *rd;
	struct contact_index *ix;

	memset(&c, 0, sizeof(c));
	memset(&cand, 0, sizeof(cand));
	tracing_params_default(&p);
	if (!fk_parse_i64(req->params[0], 1, INT64_MAX, &id)) {
		http_error(req, 404, NULL, "no candidate '%s' in your scope", req->params[0]);
		return;
	}
	if (!(o = http_body_object(req)) || !http_member_str(req, o, "class", &cls) ||
	    !http_member_str(req, o, "onset", &onset) ||
	    !http_member_str(req, o, "found_where", &where))
		goto done;
	if (!cls || !case_class_parse(cls, &c.cls) || c.cls == CASE_SUSPECTED) {
		http_error(req, 400, NULL, "'class' must be confirmed or asymptomatic");
		goto done;
	}
	if (onset && !fk_parse_time(onset, &c.onset_at)) {
		http_error(req, 400, NULL,
			   "'onset' is not an ISO 8601 time with offset (2022-01-10T08:30:00+08:00)");
		goto done;
	}
	if (!(rd = http_reader(req)))
		goto done;
	if ((s = candidate_get(rd, req, id, &cand, &err)) ||
	    (strcmp(cand.status, "pending") && (s = candidate_not_pending(&cand, &err)))) {
		http_fail(req, s, &err);
		goto done;
	}
	if (where) {
		if (!fk_strlcpy(c.found_where, where, sizeof(c.found_where))) {
			http_error(req, 400, NULL, "'found_where' is longer than %zu bytes",
				   sizeof(c.found_where) - 1);
			goto done;
		}
	} else {
		snprintf(c.found_where, sizeof(c.found_where), "核酸检测 单管阳性 %s", cand.tube);
	}
	if (!(ix = tracing_index())) {
		http_error(req, 503, NULL, "the contact index is not loaded yet");
		goto done;
	}
	c.person_id = cand.person_id;
	c.first_positive_at = cand.sampled_at;
	/* links on the reader, so scans keep committing meanwhile */
	if ((s = case_links_find(rd, ix, &p, &c, now, &links, &nlinks, &err))) {
		http_fail(req, s, &err);
		goto done;
	}
	sqlite3 *w = store_writer_lock();
	if (!w)
		s = fk_fail(&err, FK_EDB, "database unavailable");
	else if (!(s = candidate_get(w, req, id, &cand, &err)) && strcmp(cand.status, "pending"))
		s = candidate_not_pending(&cand, &err);
	if (!s)
		s = case_add(w, &p, &c, links, nlinks, req->user->username, req->origin, now, &err);
	if (!s) {
		/* the case is committed; the candidate follows it at once */
		if (!(s = store_begin(w, &err))) {
			s = candidate_decide(w, req, &cand, "confirmed", c.id, "", now, &err);
			if (!s)
				s = store_commit(w, &err);
			if (s)
				store_rollback(w);
		}
	}
	store_writer_unlock();
	if (s == FK_ECONFLICT && c.id == 0 && !strcmp(cand.status, "pending"))
		fk_fail(&err, FK_ECONFLICT, "the person of candidate %" PRId64 " is already a case",
			id);
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}
	healthcode_person_changed(c.person_id);
	if ((s = tracing_record_case_contacts(ix, rd, &c, &p, now, true, &recorded, &err))) {
		http_fail(req, s, &err);
		goto done;
	}
	if ((s = control_case_added(rd, &c, now, true, req->user->username, NULL, &err))) {
		http_fail(req, s, &err);
		goto done;
	}
	strbuf_addstr(&out, "{\"candidate\":");
	if ((s = candidate_read_json(rd, id, &out, &err))) {
		http_fail(req, s, &err);
		goto done;
	}
	strbuf_addf(&out,
		    ",\"case\":{\"id\":%" PRId64 ",\"classification\":\"%s\",\"chain_id\":%" PRId64
		    ",\"contacts_recorded\":%zu}}",
		    c.id, case_class_name(c.cls), c.chain_id, recorded);
	http_json(req, 201, out.buf);
done:
	free(links);
	strbuf_release(&out);
	json_decref(o);
}

/* POST /api/v1/candidates/{id}/dismiss {"reason"} */
static void candidate_dismiss(struct http_req *req)
{
	json_t *o = NULL;
	const char *reason;
	struct fk_err err = {FK_OK, ""};
	struct strbuf out = STRBUF_INIT;
	struct candidate cand;
	int64_t id, now = fk_now();
	enum fk_status s;

	if (!fk_parse_i64(req->params[0], 1, INT64_MAX, &id)) {
		http_error(req, 404, NULL, "no candidate '%s' in your scope", req->params[0]);
		return;
	}
	if (!(o = http_body_object(req)) || !required_text(req, o, "reason", NOTE_MAX, &reason))
		goto done;
	sqlite3 *w = store_writer_lock();
	if (!w) {
		s = fk_fail(&err, FK_EDB, "database unavailable");
		goto unlock;
	}
	if ((s = store_begin(w, &err)))
		goto unlock;
	if (!(s = candidate_get(w, req, id, &cand, &err))) {
		if (!strcmp(cand.status, "pending"))
			s = candidate_decide(w, req, &cand, "dismissed", 0, reason, now, &err);
		else if (strcmp(cand.status, "dismissed"))
			s = candidate_not_pending(&cand, &err);
	}
	if (!s)
		s = candidate_read_json(w, id, &out, &err);
	if (!s)
		s = store_commit(w, &err);
	if (s)
		store_rollback(w);
unlock:
	store_writer_unlock();
	if (s)
		http_fail(req, s, &err);
	else
		http_json(req, 200, out.buf);
done:
	strbuf_release(&out);
	json_decref(o);
}

const struct http_route result_routes[] = {
	{"POST", "/api/v1/results", results_post, ROUTE_JSON_BODY, PERM_RESULTS, RESULTS_BODY_MAX},
	{"GET", "/api/v1/tasks", tasks_list, 0, PERM_READ_TESTING, 0},
	{"POST", "/api/v1/tasks/{id}/cancel", task_cancel, ROUTE_JSON_BODY, PERM_MANAGE_TESTING,
	 SMALL_BODY_MAX},
	{"GET", "/api/v1/candidates", candidates_list, 0, PERM_TRACE, 0},
	{"POST", "/api/v1/candidates/{id}/confirm", candidate_confirm, ROUTE_JSON_BODY, PERM_TRACE,
	 SMALL_BODY_MAX},
	{"POST", "/api/v1/candidates/{id}/dismiss", candidate_dismiss, ROUTE_JSON_BODY, PERM_TRACE,
	 SMALL_BODY_MAX},
};
const size_t result_routes_len = FK_ARRAY_LEN(result_routes);

/* ------------------------------------------------------------ import */

struct import_report {
	uint64_t rows, recorded, unchanged, rejected, members;
	char rejects_path[4096];
	const char *encoding;
};

struct importer {
	sqlite3 *db;
	const char *path, *lab, *actor;
	enum text_encoding enc;
	int64_t now;
	uint64_t batch;
	struct result_writer w;
	struct result_outcome oc;
	struct import_report *rep;
	struct strbuf scratch;
	FILE *rej;
	/* the open batch */
	uint64_t batch_rows, batch_recorded, batch_first, batch_last;
	bool in_tx;
	uint64_t committed;
};

static const char *const import_cols[] = {"tube", "result", "reported_at"};
#define IMPORT_COLS 3

static enum fk_status import_reject(struct importer *im, const struct csv_row *row,
				    const char *field, const char *reason, struct fk_err *err)
{
	enum fk_status st = rejects_write(&im->rej, im->rep->rejects_path, im->enc, &im->scratch,
					  row->line, field, reason, row->raw, row->raw_len, err);
	if (!st)
		im->rep->rejected++;
	return st;
}

/* Commits the open batch with its audit row. */
static enum fk_status import_commit(struct importer *im, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	if (!im->in_tx)
		return FK_OK;
	if (im->batch_recorded) {
		char detail[128];
		snprintf(detail, sizeof(detail),
			 "batch lines %" PRIu64 "-%" PRIu64 ": %" PRIu64 " tubes recorded",
			 im->batch_first, im->batch_last, im->batch_recorded);
		st = audit_append(im->db, im->actor, "result.import", im->path, detail, "cli", err);
	}
	if (!st)
		st = store_commit(im->db, err);
	if (st)
		return st;
	im->in_tx = false;
	im->committed += im->batch_rows;
	im->batch_rows = im->batch_recorded = 0;
	return FK_OK;
}

static void trim(char **s, size_t *n)
{
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*s)[--*n] = '\0';
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
}

static enum fk_status import_row(struct importer *im, const struct csv_row *row,
				 struct fk_err *err)
{
	enum tube_result r;
	int64_t at;
	char *f[IMPORT_COLS];
	size_t len[IMPORT_COLS];
	char reason[REASON_MAX], ts[32];
	enum fk_status st;

	if (row->nfields != IMPORT_COLS) {
		snprintf(reason, sizeof(reason), "wrong column count (expected %d, got %zu)",
			 IMPORT_COLS, row->nfields);
		return import_reject(im, row, "", reason, err);
	}
	for (size_t i = 0; i < IMPORT_COLS; i++) {
		f[i] = row->fields[i];
		len[i] = row->lens[i];
		trim(&f[i], &len[i]);
	}
	if (!len[0])
		return import_reject(im, row, "tube", "empty required field", err);
	if (!testing_code_valid(f[0], TUBE_CODE_MAX))
		return import_reject(im, row, "tube",
				     "not a tube code (1 to 32 of A-Z a-z 0-9 _ -)", err);
	if (!len[1])
		return import_reject(im, row, "result", "empty required field", err);
	if (!result_parse(f[1], len[1], &r))
		return import_reject(im, row, "result", "must be negative, positive or invalid",
				     err);
	if (!len[2])
		return import_reject(im, row, "reported_at", "empty required field", err);
	if (!fk_parse_time(f[2], &at))
		return import_reject(
			im, row, "reported_at",
			"bad time (expected ISO 8601 with offset, e.g. 2022-01-10T08:30:00+08:00)",
			err);
	if (at > im->now + FUTURE_TOLERANCE)
		return import_reject(im, row, "reported_at", "time is in the future", err);

	if (!im->in_tx) {
		if ((st = store_begin(im->db, err)))
			return st;
		im->in_tx = true;
		im->batch_first = row->line;
	}
	if ((st = result_apply(&im->w, f[0], r, at, im->lab, im->actor, im->now, &im->oc, err)))
		return st;
	switch (im->oc.kind) {
	case RESULT_RECORDED:
		im->rep->recorded++;
		im->rep->members += (uint64_t)im->oc.members;
		im->batch_recorded++;
		break;
	case RESULT_UNCHANGED:
		im->rep->unchanged++;
		break;
	case RESULT_UNKNOWN:
		return import_reject(im, row, "tube", "unknown tube", err);
	case RESULT_EMPTY:
		return import_reject(im, row, "tube", "tube holds no sample", err);
	case RESULT_CONFLICT:
		snprintf(reason, sizeof(reason), "conflicting result: the tube already has '%s'",
			 im->oc.stored);
		return import_reject(im, row, "result", reason, err);
	case RESULT_TOO_EARLY:
		snprintf(reason, sizeof(reason), "before the tube's last sample (%s)",
			 fk_format_time(im->oc.last_sample, ts, sizeof(ts)));
		return import_reject(im, row, "reported_at", reason, err);
	}
	im->batch_last = row->line;
	if (++im->batch_rows >= im->batch)
		return import_commit(im, err);
	return FK_OK;
}

static enum fk_status import_header(struct importer *im, struct csv_reader *r, struct fk_err *err)
{
	return testing_csv_header(r, im->path, im->enc, import_cols, IMPORT_COLS, "results", err);
}

static enum fk_status import_records(struct importer *im, const char *data, size_t len,
				     struct fk_err *err)
{
	struct csv_limits lim = {256, 1024, 16};
	struct csv_reader *r = csv_reader_new(data, len, &lim);
	struct fk_progress prog;
	struct csv_row row;
	enum fk_status st;
	uint64_t n = 0;

	if ((st = import_header(im, r, err)))
		goto out;
	if (unlink(im->rep->rejects_path) && errno != ENOENT) {
		st = fk_fail(err, FK_EIO, "cannot remove stale '%s': %s", im->rep->rejects_path,
			     strerror(errno));
		goto out;
	}
	fk_progress_init(&prog, "import results", 0);
	for (;;) {
		struct fk_err cerr = {FK_OK, ""};
		enum csv_result res = csv_next(r, &row, &cerr);
		if (res == CSV_EOF)
			break;
		if (res == CSV_ERROR) {
			const char *field = row.bad_field > 0 && row.bad_field <= IMPORT_COLS
						    ? import_cols[row.bad_field - 1]
						    : "";
			char reason[REASON_MAX];
			rejects_csv_reason(cerr.msg, reason, sizeof(reason));
			st = rejects_write(&im->rej, im->rep->rejects_path, im->enc, &im->scratch,
					   row.line, field, reason, row.raw, row.raw_len, err);
			if (!st)
				im->rep->rejected++;
		} else {
			st = import_row(im, &row, err);
		}
		if (st)
			goto out;
		if ((++n & 16383) == 0 && prog.enabled) {
			size_t off = csv_offset(r);
			prog.total = off ? (uint64_t)((double)n * len / off) : 0;
			fk_progress_update(&prog, n);
		}
	}
	st = import_commit(im, err);
	prog.total = n;
	fk_progress_done(&prog, n);
out:
	csv_reader_free(r);
	return st;
}

/* Imports path into db (the only writer): every valid row recorded with
 * result_apply, im->batch tubes a transaction.  FK_EREJECTED when rows
 * were rejected; other failures keep the committed batches. */
static enum fk_status results_import(struct importer *im, struct fk_err *err)
{
	struct fk_mapfile fm = {.data = "", .map = MAP_FAILED, .fd = -1};
	enum fk_status st;
	size_t skip = 0;
	struct import_report *rep = im->rep;
	int64_t cache = store_query_int(im->db, "PRAGMA cache_size", -2000);
	int64_t sync = store_query_int(im->db, "PRAGMA synchronous", 1);
	char pragma[96];

	if ((size_t)snprintf(rep->rejects_path, sizeof(rep->rejects_path), "%s.rejects.csv",
			     im->path) >= sizeof(rep->rejects_path))
		return fk_fail(err, FK_EINVAL, "file name too long: '%s'", im->path);
	if ((st = fk_mapfile_open(&fm, im->path, err)))
		goto unmap;
	im->enc = text_detect(fm.data, fm.len, &skip);
	rep->encoding = text_encoding_name(im->enc);
	/* a large page cache (the tubes' code index, samples_tube and the
	 * tasks indexes are hit at random); every committed batch on disk */
	if ((st = store_exec(im->db, "PRAGMA cache_size=-262144; PRAGMA synchronous=FULL", err)))
		goto unmap;
	st = import_records(im, fm.data + skip, fm.len - skip, err);
	if (im->in_tx) {
		store_rollback(im->db);
		im->in_tx = false;
	}
	if (im->rej && fclose(im->rej) && !st)
		st = fk_fail(err, FK_EIO, "cannot write '%s': %s", rep->rejects_path,
			     strerror(errno));
	im->rej = NULL;
	rep->rows = rep->recorded + rep->unchanged + rep->rejected;
	if (st) {
		size_t n = strlen(err->msg);
		if (im->committed)
			snprintf(err->msg + n, sizeof(err->msg) - n,
				 " (%" PRIu64 " rows in committed batches are kept)", im->committed);
	} else if (rep->rejected) {
		st = fk_fail(err, FK_EREJECTED, "%" PRIu64 " rows rejected, see '%s'",
			     rep->rejected, rep->rejects_path);
	}
	snprintf(pragma, sizeof(pragma), "PRAGMA cache_size=%lld; PRAGMA synchronous=%lld",
		 (long long)cache, (long long)sync);
	store_exec(im->db, pragma, NULL);
unmap:
	fk_mapfile_close(&fm);
	return st;
}

static void import_usage(FILE *f)
{
	fputs("usage: fangkong import results FILE.csv [--lab NAME] [--policy FILE|NAME]\n"
	      "                               [--db FILE] [--batch N]\n"
	      "\n"
	      "Columns (header row required): tube,result,reported_at\n"
	      "  result       negative, positive or invalid\n"
	      "  reported_at  ISO 8601 with offset (2022-01-10T08:30:00+08:00)\n"
	      "\n"
	      "Each tube's result is recorded with its effects: every member's result,\n"
	      "campaign coverage, a retest task per member of a positive pooled tube, a\n"
	      "case candidate for a positive single tube, a resample task per member of\n"
	      "an invalid tube, and the tasks a retest or resample settles.  A tube that\n"
	      "is unknown, holds no sample, already has another result, or was reported\n"
	      "before its last sample is rejected (FILE.csv.rejects.csv: line, field,\n"
	      "reason); the same result again is unchanged.\n"
	      "\n"
	      "  --lab NAME      the laboratory (at most 64 bytes)\n"
	      "  --policy F|N    policy for the task deadlines (retest_hours,\n"
	      "                  resample_hours); default: the one the database runs under\n"
	      "  --db FILE       database (default $FANGKONG_DB, then ./fangkong.db)\n"
	      "  --batch N       tubes per transaction (default 5000)\n"
	      "\n"
	      "exit: 0 ok, 1 failure, 2 bad usage, 3 rows rejected\n",
	      f);
}

int import_results_cli(int argc, char **argv)
{
	const char *db_flag = NULL, *policy_arg = NULL, *lab = "", *path = NULL;
	int64_t batch = IMPORT_BATCH_DEFAULT;
	struct fk_err err = {FK_OK, ""};
	struct import_report rep;
	struct importer im;
	struct policy *pol = NULL;
	sqlite3 *db = NULL;
	char actor[80];
	int rc = 1;
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},	  {"lab", required_argument, NULL, 'l'},
		{"policy", required_argument, NULL, 'P'}, {"batch", required_argument, NULL, 'b'},
		{"help", no_argument, NULL, 'h'},	  {NULL, 0, NULL, 0},
	};

	memset(&rep, 0, sizeof(rep));
	memset(&im, 0, sizeof(im));
	/* argv[0] "import", argv[1] "results" */
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	for (int c; (c = getopt_long(argc, argv, ":h", opts, NULL)) != -1;) {
		switch (c) {
		case 'd': db_flag = optarg; break;
		case 'l': lab = optarg; break;
		case 'P': policy_arg = optarg; break;
		case 'b':
			if (!fk_parse_i64(optarg, 1, IMPORT_BATCH_MAX, &batch)) {
				fprintf(stderr,
					"fangkong import results: --batch must be 1 to %d, got '%s'\n",
					IMPORT_BATCH_MAX, optarg);
				return 2;
			}
			break;
		case 'h': import_usage(stdout); return 0;
		case ':':
			fprintf(stderr, "fangkong import results: '%s' needs a value\n",
				argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "fangkong import results: unknown option '%s'\n",
				argv[optind - 1]);
			import_usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		import_usage(stderr);
		return 2;
	}
	path = argv[optind];
	if (strlen(lab) > LAB_MAX) {
		fprintf(stderr, "fangkong import results: --lab is longer than %d bytes\n", LAB_MAX);
		return 2;
	}
	if (access(path, R_OK)) {
		fprintf(stderr, "fangkong import results: cannot open '%s': %s\n", path,
			strerror(errno));
		return 1;
	}
	if (store_open(store_default_path(db_flag), STORE_MIGRATE, &db, &err)) {
		fprintf(stderr, "fangkong import results: %s\n", err.msg);
		return 1;
	}
	if (hc_policy_select(db, policy_arg, &pol, NULL, &err)) {
		fprintf(stderr, "fangkong import results: %s\n", err.msg);
		goto close;
	}
	fk_cli_actor("import", actor, sizeof(actor));
	im.db = db;
	im.path = path;
	im.lab = lab;
	im.actor = actor;
	im.now = fk_now();
	im.batch = (uint64_t)batch;
	im.rep = &rep;
	rep.encoding = text_encoding_name(TEXT_UTF8);
	strbuf_init(&im.scratch);
	if (result_writer_init(&im.w, db, pol->retest_hours, pol->resample_hours, &err)) {
		fprintf(stderr, "fangkong import results: %s\n", err.msg);
		goto release;
	}
	double t0 = fk_mono();
	enum fk_status st = results_import(&im, &err);
	double secs = fk_mono() - t0;
	if (st != FK_OK && st != FK_EREJECTED) {
		fprintf(stderr, "fangkong import results: %s\n", err.msg);
		goto release;
	}
	fprintf(stderr,
		"imported %s (%s): %" PRIu64 " rows, %" PRIu64 " recorded (%" PRIu64
		" members), %" PRIu64 " unchanged, %" PRIu64 " rejected%s%s; %.2f s, %.0f rows/s\n",
		path, rep.encoding, rep.rows, rep.recorded, rep.members, rep.unchanged, rep.rejected,
		rep.rejected ? " -> " : "", rep.rejected ? rep.rejects_path : "", secs,
		secs > 0 ? (double)rep.rows / secs : 0.0);
	rc = st == FK_OK ? 0 : 3;
release:
	result_writer_release(&im.w);
	strbuf_release(&im.scratch);
	free(pol);
close:
	store_close(db);
	return rc;
}
