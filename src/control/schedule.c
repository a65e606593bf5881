/* schedule.c — an order's test days, and release: at the planned end
 * with every required test negative the order completes (and its second
 * phase starts), else it is extended.
 *
 * Design note.
 *
 * Test days.  schedule_create writes one order_tests row per policy day d:
 * the window [start + (d-1) days, start + d days), required = 1.  At
 * activation (schedule_activate) a day whose window has already ended
 * becomes required = 0 (it can no longer be tested), and every required
 * day gets an `order_test` task (ref_id = the row, due at the window's
 * end, region = the site's region for a central order with a current
 * stay, else the person's grid).  Evidence already on file is recorded at
 * once.
 *
 * Recording a day.  day_read() is the one definition of what a day holds,
 * "known at now" (sampled_at <= now, resulted_at <= now): the first
 * sample in the window (samples or test_results), and the first valid
 * (not invalid) result sampled in the window from the two parts of
 * person_results, read directly (test_results, samples JOIN tubes; a
 * positive tube of several members is pool_positive).  A row with a sample
 * and no valid result keeps result NULL, gets sampled_at, and its task is
 * done (done_by "system"); a valid result fills sampled_at and result.  A
 * row with a result is never rewritten.
 *
 * Cheap ticks.  The tick runs every second.  Rows that might change are
 * found from what is new, never by reading every open row:
 *   - samples and test_results with an id above the last one seen (rowid
 *     probes; rows are appended, so new ids are higher);
 *   - tubes resulted at or after the previous tick's now (index
 *     tubes_result);
 *   - their persons' open rows of active orders (order_tests_person);
 *   - a round-robin pass over SWEEP_ROWS open rows a tick (index
 *     order_tests_open), which catches a tube reported with a time before
 *     the previous tick (an import of yesterday's results).
 * The watermarks live in this process (one state per connection).  The
 * first tick of a process, a clock moved backwards, or a failed tick reads
 * every open row of the active orders and evaluates every active order
 * past its end once.  An idle tick is a handful of index probes.
 *
 * Release.  An active order is evaluated when it reaches its planned end
 * (orders_status: status, planned_end), when one of its rows (or, for a
 * secondary order, a row of its linked close contact) was filled this tick
 * after its original end, and on a process's first tick.  Evaluation
 * re-reads every day with day_read (it does not trust the incremental
 * path).  Releasable (the contract's conditions a, b, c):
 *   (a) no positive result sampled at or after start_at, and no
 *       pool_positive one not followed by a negative single tube sampled
 *       after it (the health code's pool rule);
 *   (b) with release_requires_negative, every required day whose window
 *       starts before the base time is negative;
 *   (c) phase 1 of a secondary order with secondary_release_close_negatives
 *       N > 0: the first N required days of link_person's close order of
 *       the same case (phase 1, not cancelled; the earliest) are negative.
 * The base time is orig_end; after a manual extension (the order's last
 * "extended" event is not the system's) it is planned_end: a person kept
 * longer by hand is not released before then.  Released: ended_at = base
 * when every result used was known at base, else now; then phase 2
 * (then_kind of the category's measure) starts active at ended_at.  Not
 * releasable once now >= planned_end: planned_end = max(planned_end, now) +
 * release_recheck_hours, event "extended" naming the days missing, pending
 * or positive.
 *
 * At most EVAL_MAX orders are evaluated a tick (a bulk confirmation gives
 * thousands the same end): the rest are evaluated by the next ticks, and
 * since ended_at is the base time when the results were known by then, a
 * release a few seconds late still ends at the exact second.
 *
 * Invariants.
 *   - order_tests.result, once set, never changes; sampled_at only moves
 *     from NULL or a pending sample to the valid result's sample.
 *   - An active order past its base time is released or extended by the
 *     first tick that evaluates it; ended_at is never before orig_end
 *     (base) and never after now.
 *   - Every change to an order adds its person to ch.
 */
#include "control/control_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define EVAL_MAX 1000  /* orders evaluated a tick */
#define SWEEP_ROWS 64  /* open rows re-read a tick (catch-all) */
#define MAX_DAY 366    /* a test day beyond a year is a mistake */
#define DAY_RESULT 16

/* ---- small id sets ---- */

struct idset {
	int64_t *v;
	size_t n, cap;
};

static enum fk_status idset_add(struct idset *s, int64_t id, struct fk_err *err)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		int64_t *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return fk_fail(err, FK_ENOMEM, "out of memory in the release tick");
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = id;
	return FK_OK;
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void idset_unique(struct idset *s)
{
	if (s->n < 2)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_id);
	size_t k = 1;
	for (size_t i = 1; i < s->n; i++)
		if (s->v[i] != s->v[k - 1])
			s->v[k++] = s->v[i];
	s->n = k;
}

static void idset_release(struct idset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- statements ---- */

enum q {
	Q_TR_VALID,
	Q_TUBE_VALID,
	Q_FIRST_SAMPLE,
	Q_ROW_SET,
	Q_TASK_DONE,
	Q_POSITIVE,
	Q_ORDER,
	Q_LAST_EXT,
	Q_ROWS,
	Q_LINK_ORDER,
	Q_EXTEND,
	Q_PERSON_ROWS,
	Q_LINKED_ORDERS,
	Q_DUE,
	Q_COUNT
};

static const char *const q_sql[Q_COUNT] = {
	[Q_TR_VALID] = "SELECT sampled_at, resulted_at, result FROM test_results"
		       " WHERE person_id = ?1 AND sampled_at >= ?2 AND sampled_at < ?3"
		       " AND sampled_at <= ?4 AND resulted_at <= ?4 AND result <> 'invalid'"
		       " ORDER BY sampled_at, resulted_at LIMIT 1",
	[Q_TUBE_VALID] = "SELECT s.sampled_at, t.resulted_at,"
			 " CASE WHEN t.result = 'positive' AND t.n > 1 THEN 'pool_positive'"
			 " ELSE t.result END"
			 " FROM samples s JOIN tubes t ON t.id = s.tube_id"
			 " WHERE s.person_id = ?1 AND s.sampled_at >= ?2 AND s.sampled_at < ?3"
			 " AND s.sampled_at <= ?4 AND t.result IN ('negative', 'positive')"
			 " AND t.resulted_at <= ?4"
			 " ORDER BY s.sampled_at, t.resulted_at LIMIT 1",
	[Q_FIRST_SAMPLE] = "SELECT min(x) FROM ("
			   " SELECT min(sampled_at) AS x FROM samples WHERE person_id = ?1"
			   " AND sampled_at >= ?2 AND sampled_at < ?3 AND sampled_at <= ?4"
			   " UNION ALL"
			   " SELECT min(sampled_at) FROM test_results WHERE person_id = ?1"
			   " AND sampled_at >= ?2 AND sampled_at < ?3 AND sampled_at <= ?4)",
	[Q_ROW_SET] = "UPDATE order_tests SET sampled_at = ?2, result = ?3"
		      " WHERE id = ?1 AND result IS NULL"
		      " AND (sampled_at IS NOT ?2 OR result IS NOT ?3)",
	[Q_TASK_DONE] = "UPDATE tasks SET status = 'done', done_at = ?3, done_by = 'system'"
			" WHERE kind = 'order_test' AND ref_id = ?1 AND person_id = ?2"
			" AND status = 'open'",
	/* a single positive, or a pooled positive not followed by a negative
	 * single tube sampled after it (the health code's pool rule) */
	[Q_POSITIVE] = "SELECT 1 FROM ("
		       " SELECT sampled_at AS s, result = 'pool_positive' AS pooled"
		       " FROM test_results WHERE person_id = ?1 AND sampled_at >= ?2"
		       " AND sampled_at <= ?3 AND resulted_at <= ?3"
		       " AND result IN ('positive', 'pool_positive')"
		       " UNION ALL"
		       " SELECT s.sampled_at, t.n > 1 FROM samples s JOIN tubes t ON t.id = s.tube_id"
		       " WHERE s.person_id = ?1 AND s.sampled_at >= ?2 AND s.sampled_at <= ?3"
		       " AND t.result = 'positive' AND t.resulted_at <= ?3) x"
		       " WHERE NOT x.pooled OR NOT EXISTS ("
		       " SELECT 1 FROM test_results r WHERE r.person_id = ?1"
		       " AND r.result = 'negative' AND r.pooled <= 1 AND r.sampled_at > x.s"
		       " AND r.sampled_at <= ?3 AND r.resulted_at <= ?3"
		       " UNION ALL"
		       " SELECT 1 FROM samples s2 JOIN tubes t2 ON t2.id = s2.tube_id"
		       " WHERE s2.person_id = ?1 AND t2.n = 1 AND t2.result = 'negative'"
		       " AND s2.sampled_at > x.s AND s2.sampled_at <= ?3 AND t2.resulted_at <= ?3)"
		       " LIMIT 1",
	[Q_ORDER] = "SELECT person_id, kind, category, coalesce(case_id, 0), phase,"
		    " coalesce(link_person, 0), start_at, planned_end,"
		    " coalesce(orig_end, planned_end), status FROM orders WHERE id = ?1",
	[Q_LAST_EXT] = "SELECT actor FROM order_events WHERE order_id = ?1 AND kind = 'extended'"
		       " ORDER BY at DESC, id DESC LIMIT 1",
	[Q_ROWS] = "SELECT id, day, window_start, window_end, required, result"
		   " FROM order_tests WHERE order_id = ?1 ORDER BY day",
	/* + keeps the planner on orders_person: on orders_case it would read
	 * every close order of the case for each secondary order evaluated */
	[Q_LINK_ORDER] = "SELECT id FROM orders WHERE person_id = ?1 AND +category = 'close'"
			 " AND +case_id IS ?2 AND phase = 1 AND status <> 'cancelled'"
			 " ORDER BY id LIMIT 1",
	[Q_EXTEND] = "UPDATE orders SET planned_end = ?2 WHERE id = ?1 AND status = 'active'",
	[Q_PERSON_ROWS] = "SELECT ot.id, ot.order_id, ot.window_start, ot.window_end"
			  " FROM order_tests ot JOIN orders o ON o.id = ot.order_id"
			  " WHERE ot.person_id = ?1 AND ot.result IS NULL"
			  " AND ot.window_start <= ?2 AND o.status = 'active'",
	[Q_LINKED_ORDERS] = "SELECT id FROM orders WHERE link_person = ?1"
			    " AND category = 'secondary' AND status = 'active'"
			    " AND coalesce(orig_end, planned_end) <= ?2",
	[Q_DUE] = "SELECT id FROM orders WHERE status = 'active' AND planned_end <= ?1"
		  " ORDER BY planned_end, id LIMIT ?2",
};

struct sched {
	sqlite3 *db;
	const struct policy *p;
	int64_t now;
	struct control_changes *ch;
	sqlite3_stmt *q[Q_COUNT];
	struct idset filled_orders;  /* orders with a row filled this tick */
	struct idset filled_persons; /* their persons (for linked secondary orders) */
	int phase2_started;
};

static sqlite3_stmt *stmt(struct sched *s, enum q i, struct fk_err *err)
{
	if (!s->q[i])
		s->q[i] = control_stmt(s->db, q_sql[i], err);
	else
		sqlite3_reset(s->q[i]);
	if (s->q[i])
		sqlite3_clear_bindings(s->q[i]);
	return s->q[i];
}

static void sched_release(struct sched *s)
{
	for (size_t i = 0; i < Q_COUNT; i++)
		control_stmt_done(s->q[i]);
	idset_release(&s->filled_orders);
	idset_release(&s->filled_persons);
}

static enum fk_status step_done(struct sched *s, sqlite3_stmt *st, const char *what,
				struct fk_err *err)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return fk_fail(err, FK_EDB, "cannot %s: %s", what, sqlite3_errmsg(s->db));
	return FK_OK;
}

/* ---- one day ---- */

struct day_fact {
	int64_t first_sample; /* 0: no sample in the window */
	int64_t sampled_at, resulted_at; /* of the first valid result */
	char result[DAY_RESULT];         /* "": none yet */
};

static bool text_col(sqlite3_stmt *st, int col, char *out, size_t size)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	return fk_strlcpy(out, t ? t : "", size);
}

/* What the person's samples and results say about [ws, we), known at now. */
static enum fk_status day_read(struct sched *s, int64_t person, int64_t ws, int64_t we,
			       struct day_fact *out, struct fk_err *err)
{
	memset(out, 0, sizeof(*out));
	static const enum q valid[] = {Q_TR_VALID, Q_TUBE_VALID};
	for (size_t i = 0; i < FK_ARRAY_LEN(valid); i++) {
		sqlite3_stmt *st = stmt(s, valid[i], err);
		if (!st)
			return FK_EDB;
		sqlite3_bind_int64(st, 1, person);
		sqlite3_bind_int64(st, 2, ws);
		sqlite3_bind_int64(st, 3, we);
		sqlite3_bind_int64(st, 4, s->now);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			int64_t sa = sqlite3_column_int64(st, 0), ra = sqlite3_column_int64(st, 1);
			if (!out->result[0] || sa < out->sampled_at ||
			    (sa == out->sampled_at && ra < out->resulted_at)) {
				out->sampled_at = sa;
				out->resulted_at = ra;
				text_col(st, 2, out->result, sizeof(out->result));
			}
		}
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return fk_fail(err, FK_EDB, "cannot read results: %s", sqlite3_errmsg(s->db));
	}
	sqlite3_stmt *st = stmt(s, Q_FIRST_SAMPLE, err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, person);
	sqlite3_bind_int64(st, 2, ws);
	sqlite3_bind_int64(st, 3, we);
	sqlite3_bind_int64(st, 4, s->now);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		out->first_sample = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fk_fail(err, FK_EDB, "cannot read samples: %s", sqlite3_errmsg(s->db));
	if (out->result[0] && (!out->first_sample || out->sampled_at < out->first_sample))
		out->first_sample = out->sampled_at;
	return FK_OK;
}

/* Records d on row `row` (result still NULL) and closes its task when a
 * sample exists.  *filled: the row got its result. */
static enum fk_status day_record(struct sched *s, int64_t row, int64_t person,
				 const struct day_fact *d, bool *filled, struct fk_err *err)
{
	*filled = false;
	if (!d->first_sample)
		return FK_OK;
	sqlite3_stmt *st = stmt(s, Q_ROW_SET, err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, row);
	sqlite3_bind_int64(st, 2, d->result[0] ? d->sampled_at : d->first_sample);
	if (d->result[0])
		sqlite3_bind_text(st, 3, d->result, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 3);
	enum fk_status e = step_done(s, st, "record a test day", err);
	if (e)
		return e;
	*filled = d->result[0] && sqlite3_changes(s->db) > 0;
	if (!(st = stmt(s, Q_TASK_DONE, err)))
		return FK_EDB;
	sqlite3_bind_int64(st, 1, row);
	sqlite3_bind_int64(st, 2, person);
	sqlite3_bind_int64(st, 3, s->now);
	return step_done(s, st, "close a test task", err);
}

/* Reads and records one open row; notes the order when it got a result. */
static enum fk_status row_fill(struct sched *s, int64_t row, int64_t order, int64_t person,
			       int64_t ws, int64_t we, struct fk_err *err)
{
	struct day_fact d;
	bool filled;
	enum fk_status e = day_read(s, person, ws, we, &d, err);
	if (!e)
		e = day_record(s, row, person, &d, &filled, err);
	if (!e && filled) {
		e = idset_add(&s->filled_orders, order, err);
		if (!e)
			e = idset_add(&s->filled_persons, person, err);
	}
	return e;
}

/* ---- rows to re-read ---- */

struct open_row {
	int64_t id, order, person, ws, we;
};

struct rowset {
	struct open_row *v;
	size_t n, cap;
};

static enum fk_status rows_collect(struct sched *s, sqlite3_stmt *st, int order_col,
				   int person_col, int ws_col, int we_col, int64_t person,
				   struct rowset *out, struct fk_err *err)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 64;
			struct open_row *v = realloc(out->v, cap * sizeof(*v));
			if (!v) {
				sqlite3_reset(st);
				return fk_fail(err, FK_ENOMEM, "out of memory in the release tick");
			}
			out->v = v;
			out->cap = cap;
		}
		struct open_row *r = &out->v[out->n++];
		r->id = sqlite3_column_int64(st, 0);
		r->order = sqlite3_column_int64(st, order_col);
		r->person = person_col >= 0 ? sqlite3_column_int64(st, person_col) : person;
		r->ws = sqlite3_column_int64(st, ws_col);
		r->we = sqlite3_column_int64(st, we_col);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fk_fail(err, FK_EDB, "cannot read test days: %s", sqlite3_errmsg(s->db));
	return FK_OK;
}

static enum fk_status rows_fill(struct sched *s, const struct rowset *rs, struct fk_err *err)
{
	for (size_t i = 0; i < rs->n; i++) {
		const struct open_row *r = &rs->v[i];
		enum fk_status e = row_fill(s, r->id, r->order, r->person, r->ws, r->we, err);
		if (e)
			return e;
	}
	return FK_OK;
}

/* Per-connection progress of the incremental path (see the design note). */
static struct tick_state {
	sqlite3 *db;
	bool ready;
	int64_t sample_id, result_id; /* highest ids read */
	int64_t last_now;             /* the previous tick's now */
	int64_t sweep_ws, sweep_id;   /* round-robin cursor in order_tests_open */
} ts;

static int64_t max_id(sqlite3 *db, const char *table_sql)
{
	return store_query_int(db, table_sql, 0);
}

/* Every open row of the active orders (first tick of a process). */
static enum fk_status fill_all(struct sched *s, struct fk_err *err)
{
	struct rowset rs = {0};
	enum fk_status e = FK_OK;
	sqlite3_stmt *st = store_prepare(
		s->db,
		"SELECT ot.id, ot.order_id, ot.person_id, ot.window_start, ot.window_end"
		" FROM order_tests ot JOIN orders o ON o.id = ot.order_id"
		" WHERE ot.result IS NULL AND ot.window_start <= ?1 AND o.status = 'active'",
		err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, s->now);
	e = rows_collect(s, st, 1, 2, 3, 4, 0, &rs, err);
	sqlite3_finalize(st);
	if (!e)
		e = rows_fill(s, &rs, err);
	free(rs.v);
	return e;
}

/* Persons with open rows among those with new evidence. */
static enum fk_status new_evidence(struct sched *s, struct idset *persons, struct fk_err *err)
{
	int64_t smax = max_id(s->db, "SELECT max(id) FROM samples");
	int64_t rmax = max_id(s->db, "SELECT max(id) FROM test_results");
	if (smax < ts.sample_id || rmax < ts.result_id) {
		/* ids went back: another database at this address */
		ts.ready = false;
		return FK_OK;
	}
	struct {
		const char *sql;
		int64_t a, b;
		bool run;
	} src[] = {
		{"SELECT DISTINCT s.person_id FROM samples s WHERE s.id > ?1 AND s.id <= ?2"
		 " AND EXISTS (SELECT 1 FROM order_tests ot WHERE ot.person_id = s.person_id"
		 " AND ot.result IS NULL)",
		 ts.sample_id, smax, smax > ts.sample_id},
		{"SELECT DISTINCT r.person_id FROM test_results r WHERE r.id > ?1 AND r.id <= ?2"
		 " AND EXISTS (SELECT 1 FROM order_tests ot WHERE ot.person_id = r.person_id"
		 " AND ot.result IS NULL)",
		 ts.result_id, rmax, rmax > ts.result_id},
		{"SELECT DISTINCT s.person_id FROM tubes t JOIN samples s ON s.tube_id = t.id"
		 " WHERE t.result IN ('negative', 'positive') AND t.resulted_at >= ?1"
		 " AND t.resulted_at <= ?2"
		 " AND EXISTS (SELECT 1 FROM order_tests ot WHERE ot.person_id = s.person_id"
		 " AND ot.result IS NULL)",
		 ts.last_now, s->now, true},
	};
	for (size_t i = 0; i < FK_ARRAY_LEN(src); i++) {
		if (!src[i].run)
			continue;
		sqlite3_stmt *st = store_prepare(s->db, src[i].sql, err);
		if (!st)
			return FK_EDB;
		sqlite3_bind_int64(st, 1, src[i].a);
		sqlite3_bind_int64(st, 2, src[i].b);
		int rc;
		enum fk_status e = FK_OK;
		while (!e && (rc = sqlite3_step(st)) == SQLITE_ROW)
			e = idset_add(persons, sqlite3_column_int64(st, 0), err);
		if (!e && rc != SQLITE_DONE)
			e = fk_fail(err, FK_EDB, "cannot read new samples and results: %s",
				    sqlite3_errmsg(s->db));
		sqlite3_finalize(st);
		if (e)
			return e;
	}
	ts.sample_id = smax;
	ts.result_id = rmax;
	return FK_OK;
}

static enum fk_status fill_persons(struct sched *s, struct idset *persons, struct fk_err *err)
{
	idset_unique(persons);
	struct rowset rs = {0};
	enum fk_status e = FK_OK;
	for (size_t i = 0; !e && i < persons->n; i++) {
		sqlite3_stmt *st = stmt(s, Q_PERSON_ROWS, err);
		if (!st) {
			e = FK_EDB;
			break;
		}
		sqlite3_bind_int64(st, 1, persons->v[i]);
		sqlite3_bind_int64(st, 2, s->now);
		e = rows_collect(s, st, 1, -1, 2, 3, persons->v[i], &rs, err);
	}
	if (!e)
		e = rows_fill(s, &rs, err);
	free(rs.v);
	return e;
}

/* SWEEP_ROWS open rows from the cursor on: rows with a sample still
 * waiting for its result are re-read (a tube reported with an old time). */
static enum fk_status sweep(struct sched *s, struct fk_err *err)
{
	struct rowset rs = {0};
	sqlite3_stmt *st = store_prepare(
		s->db,
		"SELECT ot.id, ot.order_id, ot.person_id, ot.window_start, ot.window_end,"
		" ot.sampled_at IS NOT NULL AND o.status = 'active'"
		" FROM order_tests ot JOIN orders o ON o.id = ot.order_id"
		" WHERE ot.result IS NULL AND ot.window_start <= ?1"
		" AND (ot.window_start, ot.id) > (?2, ?3)"
		" ORDER BY ot.window_start, ot.id LIMIT ?4",
		err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, s->now);
	sqlite3_bind_int64(st, 2, ts.sweep_ws);
	sqlite3_bind_int64(st, 3, ts.sweep_id);
	sqlite3_bind_int(st, 4, SWEEP_ROWS);
	int rc, seen = 0;
	enum fk_status e = FK_OK;
	while (!e && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		seen++;
		ts.sweep_ws = sqlite3_column_int64(st, 3);
		ts.sweep_id = sqlite3_column_int64(st, 0);
		if (!sqlite3_column_int(st, 5))
			continue;
		if (rs.n == rs.cap) {
			size_t cap = rs.cap ? rs.cap * 2 : SWEEP_ROWS;
			struct open_row *v = realloc(rs.v, cap * sizeof(*v));
			if (!v) {
				e = fk_fail(err, FK_ENOMEM, "out of memory in the release tick");
				break;
			}
			rs.v = v;
			rs.cap = cap;
		}
		struct open_row *r = &rs.v[rs.n++];
		r->id = sqlite3_column_int64(st, 0);
		r->order = sqlite3_column_int64(st, 1);
		r->person = sqlite3_column_int64(st, 2);
		r->ws = sqlite3_column_int64(st, 3);
		r->we = sqlite3_column_int64(st, 4);
	}
	if (!e && rc != SQLITE_DONE)
		e = fk_fail(err, FK_EDB, "cannot read test days: %s", sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	if (!e && seen < SWEEP_ROWS)
		ts.sweep_ws = ts.sweep_id = INT64_MIN; /* wrap around */
	if (!e)
		e = rows_fill(s, &rs, err);
	free(rs.v);
	return e;
}

/* ---- release ---- */

struct order_row {
	int64_t id, person, case_id, link_person, start, planned_end, orig_end;
	int phase;
	enum order_kind kind;
	enum order_category category;
	char status[16];
};

static enum fk_status order_read(struct sched *s, int64_t id, struct order_row *o, bool *found,
				 struct fk_err *err)
{
	sqlite3_stmt *st = stmt(s, Q_ORDER, err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	if (*found) {
		char buf[32];
		memset(o, 0, sizeof(*o));
		o->id = id;
		o->person = sqlite3_column_int64(st, 0);
		o->kind = ORDER_NONE;
		text_col(st, 1, buf, sizeof(buf));
		order_kind_parse(buf, &o->kind);
		o->category = CAT_OTHER;
		text_col(st, 2, buf, sizeof(buf));
		order_category_parse(buf, &o->category);
		o->case_id = sqlite3_column_int64(st, 3);
		o->phase = sqlite3_column_int(st, 4);
		o->link_person = sqlite3_column_int64(st, 5);
		o->start = sqlite3_column_int64(st, 6);
		o->planned_end = sqlite3_column_int64(st, 7);
		o->orig_end = sqlite3_column_int64(st, 8);
		text_col(st, 9, o->status, sizeof(o->status));
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fk_fail(err, FK_EDB, "cannot read order %lld: %s", (long long)id,
			       sqlite3_errmsg(s->db));
	return FK_OK;
}

/* The time release is measured from: orig_end, or planned_end after a
 * manual extension (the last "extended" event is not the system's). */
static enum fk_status release_base(struct sched *s, const struct order_row *o, int64_t *base,
				   struct fk_err *err)
{
	*base = o->orig_end;
	sqlite3_stmt *st = stmt(s, Q_LAST_EXT, err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, o->id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *actor = (const char *)sqlite3_column_text(st, 0);
		if (actor && strcmp(actor, "system"))
			*base = o->planned_end;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fk_fail(err, FK_EDB, "cannot read order events: %s", sqlite3_errmsg(s->db));
	return FK_OK;
}

/* What stands between an order and its release. */
struct verdict {
	bool positive;     /* (a) failed */
	bool link_failed;  /* (c) failed */
	int link_n;
	int64_t known_at;  /* the latest resulted_at among the results used */
	struct strbuf missing, pending, not_negative; /* day lists "3,5" */
};

static void day_list_add(struct strbuf *sb, int day)
{
	if (sb->len)
		strbuf_addch(sb, ',');
	strbuf_addf(sb, "%d", day);
}

static bool verdict_ok(const struct verdict *v)
{
	return !v->positive && !v->link_failed && !v->missing.len && !v->pending.len &&
	       !v->not_negative.len;
}

/* Reads the order's days (recording the open ones) and checks (b) into v;
 * when link_n > 0 only the first link_n required days count and nothing
 * is recorded (another person's order). */
static enum fk_status days_check(struct sched *s, int64_t order_id, int64_t person,
				 int64_t before, int link_n, bool record, struct verdict *v,
				 bool *all_negative, struct fk_err *err)
{
	struct day {
		int64_t id, ws, we;
		int day;
		bool required, open;
	} *days = NULL;
	size_t n = 0, cap = 0;
	enum fk_status e = FK_OK;
	sqlite3_stmt *st = stmt(s, Q_ROWS, err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, order_id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct day *nd = realloc(days, cap * sizeof(*nd));
			if (!nd) {
				e = fk_fail(err, FK_ENOMEM, "out of memory in the release tick");
				break;
			}
			days = nd;
		}
		struct day *d = &days[n++];
		d->id = sqlite3_column_int64(st, 0);
		d->day = sqlite3_column_int(st, 1);
		d->ws = sqlite3_column_int64(st, 2);
		d->we = sqlite3_column_int64(st, 3);
		d->required = sqlite3_column_int(st, 4) != 0;
		d->open = sqlite3_column_type(st, 5) == SQLITE_NULL;
	}
	sqlite3_reset(st);
	if (!e && rc != SQLITE_DONE)
		e = fk_fail(err, FK_EDB, "cannot read test days: %s", sqlite3_errmsg(s->db));
	*all_negative = true;
	int counted = 0;
	for (size_t i = 0; !e && i < n; i++) {
		struct day *d = &days[i];
		if (d->ws > s->now)
			continue;
		if (link_n > 0 && (!d->required || counted >= link_n))
			continue;
		struct day_fact f;
		if ((e = day_read(s, person, d->ws, d->we, &f, err)))
			break;
		if (record && d->open) {
			bool filled;
			if ((e = day_record(s, d->id, person, &f, &filled, err)))
				break;
		}
		if (!d->required || d->ws >= before)
			continue;
		counted++;
		if (!strcmp(f.result, "negative")) {
			if (f.resulted_at > v->known_at)
				v->known_at = f.resulted_at;
			continue;
		}
		*all_negative = false;
		if (link_n > 0)
			continue;
		if (f.result[0])
			day_list_add(&v->not_negative, d->day);
		else if (f.first_sample)
			day_list_add(&v->pending, d->day);
		else
			day_list_add(&v->missing, d->day);
	}
	/* link: days not yet begun count as not negative */
	if (!e && link_n > 0) {
		int later = 0;
		for (size_t i = 0; i < n; i++)
			if (days[i].required && days[i].ws > s->now)
				later++;
		if (counted < link_n && later > 0)
			*all_negative = false;
	}
	free(days);
	return e;
}

static enum fk_status positive_since(struct sched *s, int64_t person, int64_t since, bool *yes,
				     struct fk_err *err)
{
	sqlite3_stmt *st = stmt(s, Q_POSITIVE, err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, person);
	sqlite3_bind_int64(st, 2, since);
	sqlite3_bind_int64(st, 3, s->now);
	int rc = sqlite3_step(st);
	*yes = rc == SQLITE_ROW;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fk_fail(err, FK_EDB, "cannot read results: %s", sqlite3_errmsg(s->db));
	return FK_OK;
}

/* (c): the linked close contact's first N required days negative. */
static enum fk_status link_check(struct sched *s, const struct order_row *o, struct verdict *v,
				 struct fk_err *err)
{
	int n = s->p->secondary_release_close_negatives;
	if (o->category != CAT_SECONDARY || o->phase != 1 || n <= 0 || !o->link_person)
		return FK_OK;
	sqlite3_stmt *st = stmt(s, Q_LINK_ORDER, err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, o->link_person);
	if (o->case_id)
		sqlite3_bind_int64(st, 2, o->case_id);
	else
		sqlite3_bind_null(st, 2);
	int rc = sqlite3_step(st);
	int64_t link_order = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fk_fail(err, FK_EDB, "cannot read the linked order: %s",
			       sqlite3_errmsg(s->db));
	if (!link_order)
		return FK_OK; /* no such order: the condition holds */
	bool ok;
	enum fk_status e =
		days_check(s, link_order, o->link_person, INT64_MAX, n, false, v, &ok, err);
	if (!e && !ok) {
		v->link_failed = true;
		v->link_n = n;
	}
	return e;
}

static const struct policy_measure *measure_of(const struct policy *p, const struct order_row *o)
{
	switch (o->category) {
	case CAT_CLOSE:
		return &p->close;
	case CAT_SECONDARY:
		return &p->secondary;
	case CAT_ARRIVAL:
		return o->kind == p->arrival_high.kind ? &p->arrival_high : &p->arrival_medium;
	case CAT_CASE:
	case CAT_OTHER:
		break;
	}
	return NULL;
}

static enum fk_status start_phase2(struct sched *s, const struct order_row *o, int64_t at,
				   struct fk_err *err)
{
	const struct policy_measure *m = measure_of(s->p, o);
	if (o->phase != 1 || !m || m->then_kind == ORDER_NONE || m->then_days <= 0)
		return FK_OK;
	struct order_new n = {
		.person_id = o->person,
		.kind = m->then_kind,
		.category = o->category,
		.case_id = o->case_id,
		.phase = 2,
		.prev_order = o->id,
		.link_person = o->link_person,
		.start_at = at,
		.planned_end = at + (int64_t)m->then_days * CONTROL_DAY,
		.test_days = m->then_test_days,
		.ntest_days = m->nthen_test_days,
		.active = true,
	};
	int64_t id = 0;
	enum fk_status e = order_insert(s->db, s->p, &n, s->now, "system", &id, s->ch, err);
	if (!e) {
		s->phase2_started++;
		control_changes_add(s->ch, o->person);
	}
	return e;
}

static void verdict_detail(const struct verdict *v, struct strbuf *sb)
{
	if (v->missing.len)
		strbuf_addf(sb, "第%s天未检测; ", v->missing.buf);
	if (v->pending.len)
		strbuf_addf(sb, "第%s天结果未出; ", v->pending.buf);
	if (v->not_negative.len)
		strbuf_addf(sb, "第%s天结果非阴性; ", v->not_negative.buf);
	if (v->positive)
		strbuf_addstr(sb, "管控期间检出阳性; ");
	if (v->link_failed)
		strbuf_addf(sb, "关联密接者前%d次检测未全部阴性; ", v->link_n);
	if (sb->len >= 2 && !strcmp(sb->buf + sb->len - 2, "; ")) {
		sb->len -= 2;
		sb->buf[sb->len] = '\0';
	}
}

/* Releases, extends or leaves one active order. */
static enum fk_status evaluate(struct sched *s, int64_t order_id, struct fk_err *err)
{
	struct order_row o;
	bool found;
	enum fk_status e = order_read(s, order_id, &o, &found, err);
	if (e || !found || strcmp(o.status, "active"))
		return e;
	int64_t base;
	if ((e = release_base(s, &o, &base, err)))
		return e;
	if (s->now < base)
		return FK_OK;
	struct verdict v = {0};
	strbuf_init(&v.missing);
	strbuf_init(&v.pending);
	strbuf_init(&v.not_negative);
	struct strbuf detail;
	strbuf_init(&detail);
	bool all_negative;
	e = days_check(s, o.id, o.person, base, 0, true, &v, &all_negative, err);
	if (!e && !s->p->release_requires_negative) {
		strbuf_reset(&v.missing);
		strbuf_reset(&v.pending);
		strbuf_reset(&v.not_negative);
	}
	if (!e)
		e = positive_since(s, o.person, o.start, &v.positive, err);
	if (!e)
		e = link_check(s, &o, &v, err);
	if (e)
		goto out;
	if (verdict_ok(&v)) {
		int64_t at = v.known_at <= base ? base : s->now;
		strbuf_addstr(&detail, at == base ? "到期解除" : "延期后解除");
		if (s->p->release_requires_negative)
			strbuf_addstr(&detail, ", 所需核酸检测均为阴性");
		if ((e = order_end(s->db, o.id, at, "released", "system", detail.buf, s->ch, err)))
			goto out;
		control_changes_add(s->ch, o.person);
		e = start_phase2(s, &o, at, err);
	} else if (s->now >= o.planned_end) {
		int64_t from = o.planned_end > s->now ? o.planned_end : s->now;
		int64_t until = from + (int64_t)s->p->release_recheck_hours * 3600;
		char when[40];
		strbuf_addf(&detail, "未满足解除条件, 延长至%s: ",
			    fk_format_time(until, when, sizeof(when)));
		verdict_detail(&v, &detail);
		sqlite3_stmt *st = stmt(s, Q_EXTEND, err);
		if (!st) {
			e = FK_EDB;
			goto out;
		}
		sqlite3_bind_int64(st, 1, o.id);
		sqlite3_bind_int64(st, 2, until);
		if ((e = step_done(s, st, "extend an order", err)) ||
		    (e = order_event(s->db, o.id, s->now, "extended", "system", detail.buf, err)) ||
		    (e = site_order_moved(s->db, o.id, until, err)))
			goto out;
		control_changes_add(s->ch, o.person);
	}
out:
	strbuf_release(&v.missing);
	strbuf_release(&v.pending);
	strbuf_release(&v.not_negative);
	strbuf_release(&detail);
	return e;
}

static enum fk_status collect_ids(struct sched *s, sqlite3_stmt *st, struct idset *out,
				  struct fk_err *err)
{
	int rc;
	enum fk_status e = FK_OK;
	while (!e && (rc = sqlite3_step(st)) == SQLITE_ROW)
		e = idset_add(out, sqlite3_column_int64(st, 0), err);
	sqlite3_reset(st);
	if (!e && rc != SQLITE_DONE)
		e = fk_fail(err, FK_EDB, "cannot read orders: %s", sqlite3_errmsg(s->db));
	return e;
}

/* Orders to evaluate: due by planned_end, with a row filled this tick
 * (theirs or their linked close contact's), or every active order past its
 * original end on a first tick. */
static enum fk_status release_pass(struct sched *s, bool everything, struct fk_err *err)
{
	struct idset ids = {0};
	enum fk_status e = FK_OK;
	sqlite3_stmt *st = stmt(s, Q_DUE, err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, s->now);
	sqlite3_bind_int(st, 2, EVAL_MAX);
	e = collect_ids(s, st, &ids, err);
	for (size_t i = 0; !e && i < s->filled_orders.n; i++)
		e = idset_add(&ids, s->filled_orders.v[i], err);
	idset_unique(&s->filled_persons);
	for (size_t i = 0; !e && i < s->filled_persons.n; i++) {
		if (!(st = stmt(s, Q_LINKED_ORDERS, err))) {
			e = FK_EDB;
			break;
		}
		sqlite3_bind_int64(st, 1, s->filled_persons.v[i]);
		sqlite3_bind_int64(st, 2, s->now);
		e = collect_ids(s, st, &ids, err);
	}
	if (!e && everything) {
		sqlite3_stmt *all = store_prepare(
			s->db,
			"SELECT id FROM orders WHERE status = 'active' AND planned_end > ?1"
			" AND coalesce(orig_end, planned_end) <= ?1",
			err);
		if (!all)
			e = FK_EDB;
		else {
			sqlite3_bind_int64(all, 1, s->now);
			e = collect_ids(s, all, &ids, err);
			sqlite3_finalize(all);
		}
	}
	s->filled_orders.n = s->filled_persons.n = 0;
	idset_unique(&ids);
	for (size_t i = 0; !e && i < ids.n && i < EVAL_MAX; i++)
		e = evaluate(s, ids.v[i], err);
	idset_release(&ids);
	return e;
}

/* ---- the interface ---- */

enum fk_status schedule_create(sqlite3 *wdb, int64_t order_id, int64_t person_id,
			       int64_t start, const int *days, int n, struct fk_err *err)
{
	if (n < 0 || (n > 0 && !days))
		return fk_fail(err, FK_EINVAL, "bad test day list for order %lld",
			       (long long)order_id);
	sqlite3_stmt *st = control_stmt(
		wdb,
		"INSERT OR IGNORE INTO order_tests(order_id, person_id, day, window_start,"
		" window_end, required) VALUES (?1, ?2, ?3, ?4, ?5, 1)",
		err);
	if (!st)
		return FK_EDB;
	enum fk_status e = FK_OK;
	for (int i = 0; i < n; i++) {
		if (days[i] < 1 || days[i] > MAX_DAY) {
			e = fk_fail(err, FK_EINVAL, "test day %d of order %lld is not in 1..%d",
				    days[i], (long long)order_id, MAX_DAY);
			break;
		}
		sqlite3_bind_int64(st, 1, order_id);
		sqlite3_bind_int64(st, 2, person_id);
		sqlite3_bind_int(st, 3, days[i]);
		sqlite3_bind_int64(st, 4, start + (int64_t)(days[i] - 1) * CONTROL_DAY);
		sqlite3_bind_int64(st, 5, start + (int64_t)days[i] * CONTROL_DAY);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			e = fk_fail(err, FK_EDB, "cannot add test days of order %lld: %s",
				    (long long)order_id, sqlite3_errmsg(wdb));
			break;
		}
	}
	control_stmt_done(st);
	return e;
}

enum fk_status schedule_activate(sqlite3 *wdb, int64_t order_id, int64_t now,
				 struct fk_err *err)
{
	enum fk_status e = FK_OK;
	char region[64] = "";
	struct sched s = {.db = wdb, .now = now};
	sqlite3_stmt *st = control_stmt(
		wdb,
		"SELECT coalesce((SELECT si.region_code FROM stays y"
		"  JOIN iso_rooms r ON r.id = y.room_id JOIN iso_sites si ON si.id = r.site_id"
		"  WHERE y.order_id = o.id AND y.left_at IS NULL ORDER BY y.id DESC LIMIT 1),"
		" p.grid_code) FROM orders o JOIN persons p ON p.id = o.person_id WHERE o.id = ?1",
		err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, order_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		text_col(st, 0, region, sizeof(region));
	control_stmt_done(st);
	if (rc == SQLITE_DONE)
		return fk_fail(err, FK_ENOTFOUND, "order %lld not found", (long long)order_id);
	if (rc != SQLITE_ROW)
		return fk_fail(err, FK_EDB, "cannot read order %lld: %s", (long long)order_id,
			       sqlite3_errmsg(wdb));
	static const char *const sql[] = {
		"UPDATE order_tests SET required = (window_end > ?2) WHERE order_id = ?1",
		"INSERT OR IGNORE INTO tasks(kind, person_id, region_code, due_at, created_at,"
		" source, ref_id, order_id, note)"
		" SELECT 'order_test', person_id, ?3, window_end, ?2, 'order:' || order_id, id,"
		" order_id, '第' || day || '天核酸检测'"
		" FROM order_tests WHERE order_id = ?1 AND required = 1",
	};
	for (size_t i = 0; i < FK_ARRAY_LEN(sql); i++) {
		if (!(st = control_stmt(wdb, sql[i], err)))
			return FK_EDB;
		sqlite3_bind_int64(st, 1, order_id);
		sqlite3_bind_int64(st, 2, now);
		if (sqlite3_bind_parameter_count(st) >= 3)
			sqlite3_bind_text(st, 3, region, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(st);
		control_stmt_done(st);
		if (rc != SQLITE_DONE)
			return fk_fail(err, FK_EDB, "cannot schedule the tests of order %lld: %s",
				       (long long)order_id, sqlite3_errmsg(wdb));
	}
	/* evidence already on file (a test taken before the order was confirmed) */
	struct rowset rs = {0};
	st = control_stmt(wdb,
			   "SELECT id, order_id, person_id, window_start, window_end"
			   " FROM order_tests WHERE order_id = ?1 AND result IS NULL"
			   " AND window_start <= ?2",
			   err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, order_id);
	sqlite3_bind_int64(st, 2, now);
	e = rows_collect(&s, st, 1, 2, 3, 4, 0, &rs, err);
	control_stmt_done(st);
	if (!e)
		e = rows_fill(&s, &rs, err);
	free(rs.v);
	sched_release(&s);
	return e;
}

enum fk_status schedule_tick(sqlite3 *wdb, int64_t now, struct control_changes *ch,
			     struct fk_err *err)
{
	const struct policy *p = policy_current();
	if (!p)
		return fk_fail(err, FK_EINVAL, "no policy in force");
	struct sched s = {.db = wdb, .p = p, .now = now, .ch = ch};
	struct idset persons = {0};
	enum fk_status e = FK_OK;
	if (ts.db != wdb || now < ts.last_now)
		ts.ready = false;
	bool first = !ts.ready;
	if (first) {
		memset(&ts, 0, sizeof(ts));
		ts.db = wdb;
		ts.sweep_ws = ts.sweep_id = INT64_MIN;
		ts.sample_id = max_id(wdb, "SELECT max(id) FROM samples");
		ts.result_id = max_id(wdb, "SELECT max(id) FROM test_results");
		e = fill_all(&s, err);
	} else {
		e = new_evidence(&s, &persons, err);
		if (!e && !ts.ready) { /* another database: start over next tick */
			idset_release(&persons);
			sched_release(&s);
			return FK_OK;
		}
		if (!e)
			e = fill_persons(&s, &persons, err);
		if (!e)
			e = sweep(&s, err);
	}
	/* a second phase may itself be due (a tick long after the end) */
	for (int pass = 0; !e && pass < 4; pass++) {
		int started = s.phase2_started;
		e = release_pass(&s, first && pass == 0, err);
		if (s.phase2_started == started)
			break;
	}
	idset_release(&persons);
	sched_release(&s);
	if (e) {
		ts.ready = false; /* rolled back: read everything again next tick */
		return e;
	}
	ts.ready = true;
	ts.last_now = now;
	return FK_OK;
}
