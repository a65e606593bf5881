/* orders.c — orders: proposal from the traced contacts, bulk
 * confirmation, activation, ends, events, the case hook, and their API
 * and CLI.
 *
 * Design note.
 * - An order is one phase of a category's measure (control_int.h).  Its
 *   life: proposed -> active -> completed, or proposed/active ->
 *   cancelled.  Every change appends an order_events row, so the person's
 *   timeline is the events in time order.
 * - Proposal (control_propose) reads only table contacts (what tracing
 *   recorded when the case was added) and the policy: start = the venue
 *   exposure, or for a household member of the case the case's isolation
 *   time when it came before the contact was found (else, and for a
 *   household member of a close contact, the finding time); planned end
 *   = start + days.  A person who is a case, or already has a proposed or
 *   active order lasting at least as long, gets nothing, so proposing again
 *   is idempotent.
 * - Ends.  An active order ends as completed (end_reason released,
 *   released_early, became_case, upgraded, superseded) or cancelled.  A
 *   proposed order imposed nothing, so whatever the reason it ends as
 *   cancelled (end_reason keeps the reason): the health code reads only
 *   active and completed orders (facts.c).
 * - Activation gives a central order its room first (site_assign_order),
 *   then the test schedule (schedule_activate: its tasks go to the site's
 *   region when there is a stay) and the five responsible people.  The
 *   person's other active or proposed contact orders that end earlier are
 *   superseded by it (a proposed one too: it would only be confirmed by
 *   mistake afterwards) — except the order it follows (prev_order), which
 *   its caller ends with its own reason (released, upgraded).
 * - Writer discipline.  Every function of control_int.h runs in the
 *   caller's transaction.  HTTP handlers take store_writer_lock(), run one
 *   transaction (bulk confirmation: one per 500 orders, so scans keep
 *   committing), audit inside it (audit_append: a change and its record
 *   commit together), and tell the health code after the commit
 *   (control_changes_publish).
 * - Batches.  Proposal, the case hook and each transaction of a bulk
 *   confirmation run as a batch (batch_begin/batch_end, per thread): the
 *   activation path's statements are prepared once per batch
 *   (control_stmt) rather than about twenty times per order, home.c keeps
 *   the responsibles per grid and sites.c the open sites' free rooms for
 *   the batch, and the chunks of one confirmation share a run, so its
 *   queued orders raise one isolation-queue alert per county.  A
 *   person's other orders are found through orders_person (the unary +
 *   in those queries: without statistics the planner otherwise walks
 *   orders_status, every proposed order of the city, per order).
 * - Scope: an order is visible when its person's grid lies in the user's
 *   scope; anything else answers 404.  Persons are shown with the ID
 *   number masked unless the role may unmask and asks ?unmask=1 (audited
 *   as order.reveal / person.orders with "unmasked").
 */
#include "control/control_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "healthcode/healthcode.h"
#include "http/http.h"
#include "lib/strbuf.h"
#include "lib/util.h"
#include "registry/registry.h"
#include "store/store.h"
#include "tracing/tracing.h"

#include "lib/banned.h"

#define CONFIRM_CHUNK 500
#define CONFIRM_MAX_IDS 10000
#define REASON_MAX 500
#define ORDERS_BODY_MAX (256 * 1024)
#define SMALL_BODY 4096
#define LIST_MAX 500

static const char *const category_names[] = {"case", "close", "secondary", "arrival", "other"};

const char *order_category_name(enum order_category c)
{
	return (unsigned)c < FK_ARRAY_LEN(category_names) ? category_names[c] : "other";
}

bool order_category_parse(const char *s, enum order_category *out)
{
	for (size_t i = 0; s && i < FK_ARRAY_LEN(category_names); i++)
		if (!strcmp(s, category_names[i])) {
			*out = (enum order_category)i;
			return true;
		}
	return false;
}

/* ------------------------------------------------------------ batches */

/* Statements kept for the length of a batch (see the design note). */
#define BATCH_STMTS 96

static _Thread_local struct {
	sqlite3 *db;   /* NULL: no batch */
	int depth;     /* nested batch_begin calls */
	uint64_t id;   /* counts batches; 0 never names one */
	uint64_t run;  /* the run the batch belongs to */
	size_t n;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} q[BATCH_STMTS];
} batch; /* per thread: a batch is one thread's transaction on the writer */

/* A number never given before in this process (never 0). */
static uint64_t batch_next_id(void)
{
	static _Atomic uint64_t last;
	uint64_t id;
	while (!(id = ++last))
		;
	return id;
}

/* Opens a batch (nested calls count) of run `run` (0: a run of its own). */
static void batch_begin(sqlite3 *wdb, uint64_t run)
{
	if (batch.depth++ == 0) {
		batch.db = wdb;
		batch.id = batch_next_id();
		batch.run = run ? run : batch.id;
	}
}

static void batch_end(void)
{
	if (batch.depth <= 0 || --batch.depth > 0)
		return;
	for (size_t i = 0; i < batch.n; i++)
		sqlite3_finalize(batch.q[i].st);
	batch.n = 0;
	batch.db = NULL;
}

uint64_t control_batch_id(sqlite3 *wdb)
{
	return batch.db && batch.db == wdb ? batch.id : 0;
}

uint64_t control_batch_run(sqlite3 *wdb)
{
	return batch.db && batch.db == wdb ? batch.run : 0;
}

sqlite3_stmt *control_stmt(sqlite3 *wdb, const char *sql, struct fk_err *err)
{
	if (!batch.db || batch.db != wdb)
		return store_prepare(wdb, sql, err);
	for (size_t i = 0; i < batch.n; i++)
		if (batch.q[i].sql == sql) {
			/* in use further up the stack: a statement of its own */
			if (sqlite3_stmt_busy(batch.q[i].st))
				return store_prepare(wdb, sql, err);
			return batch.q[i].st;
		}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(wdb, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		fk_fail(err, FK_EDB, "database error: %s", sqlite3_errmsg(wdb));
		sqlite3_finalize(st);
		return NULL;
	}
	if (batch.n < BATCH_STMTS) {
		batch.q[batch.n].sql = sql;
		batch.q[batch.n].st = st;
		batch.n++;
	}
	return st;
}

void control_stmt_done(sqlite3_stmt *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < batch.n; i++)
		if (batch.q[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return;
		}
	sqlite3_finalize(st);
}

/* ------------------------------------------------------------ core */

static enum fk_status db_err(sqlite3 *db, struct fk_err *err, const char *what)
{
	return fk_fail(err, FK_EDB, "%s: %s", what, sqlite3_errmsg(db));
}

static void bind_opt(sqlite3_stmt *st, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

/* Runs a prepared statement that returns no rows and finalizes it. */
static enum fk_status step_final(sqlite3 *db, sqlite3_stmt *st, const char *what,
				 struct fk_err *err)
{
	enum fk_status s = FK_OK;
	if (sqlite3_step(st) != SQLITE_DONE)
		s = db_err(db, err, what);
	control_stmt_done(st);
	return s;
}

/* Ids returned by sql (one int64 parameter a, optional b, c) into a
 * malloc'd array. */
static enum fk_status ids_query(sqlite3 *db, const char *sql, int64_t a, int64_t b, int64_t c,
				int64_t **out, size_t *n, struct fk_err *err)
{
	sqlite3_stmt *st = control_stmt(db, sql, err);
	*out = NULL;
	*n = 0;
	if (!st)
		return FK_EDB;
	int np = sqlite3_bind_parameter_count(st);
	sqlite3_bind_int64(st, 1, a);
	if (np >= 2)
		sqlite3_bind_int64(st, 2, b);
	if (np >= 3)
		sqlite3_bind_int64(st, 3, c);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = fk_xrealloc(*out, cap * sizeof(**out));
		}
		(*out)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	control_stmt_done(st);
	if (rc != SQLITE_DONE) {
		free(*out);
		*out = NULL;
		*n = 0;
		return db_err(db, err, "reading orders");
	}
	return FK_OK;
}

enum fk_status order_event(sqlite3 *wdb, int64_t order_id, int64_t at, const char *kind,
			   const char *actor, const char *detail, struct fk_err *err)
{
	sqlite3_stmt *st = control_stmt(
		wdb, "INSERT INTO order_events(order_id, at, kind, actor, detail) VALUES(?,?,?,?,?)",
		err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, order_id);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, actor ? actor : "system", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, detail ? detail : "", -1, SQLITE_STATIC);
	return step_final(wdb, st, "recording an order event", err);
}

struct order_row {
	int64_t id, person_id, planned_end, start_at;
	enum order_kind kind;
	char status[16], category[16];
};

static enum fk_status order_read(sqlite3 *db, int64_t id, struct order_row *r, struct fk_err *err)
{
	sqlite3_stmt *st = control_stmt(
		db, "SELECT person_id, kind, status, planned_end, start_at, category FROM orders WHERE id = ?",
		err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	enum fk_status s = FK_OK;
	int rc = sqlite3_step(st);
	memset(r, 0, sizeof(*r));
	if (rc == SQLITE_ROW) {
		r->id = id;
		r->person_id = sqlite3_column_int64(st, 0);
		r->kind = ORDER_CENTRAL;
		order_kind_parse((const char *)sqlite3_column_text(st, 1), &r->kind);
		fk_strlcpy(r->status, (const char *)sqlite3_column_text(st, 2), sizeof(r->status));
		r->planned_end = sqlite3_column_int64(st, 3);
		r->start_at = sqlite3_column_int64(st, 4);
		fk_strlcpy(r->category, (const char *)sqlite3_column_text(st, 5),
			   sizeof(r->category));
	} else if (rc == SQLITE_DONE) {
		s = fk_fail(err, FK_ENOTFOUND, "no order %" PRId64, id);
	} else {
		s = db_err(db, err, "reading an order");
	}
	control_stmt_done(st);
	return s;
}

enum fk_status order_end(sqlite3 *wdb, int64_t order_id, int64_t at, const char *reason,
			 const char *actor, const char *detail, struct control_changes *ch,
			 struct fk_err *err)
{
	struct order_row r;
	enum fk_status s = order_read(wdb, order_id, &r, err);
	if (s)
		return s;
	if (strcmp(r.status, "active") && strcmp(r.status, "proposed"))
		return fk_fail(err, FK_ECONFLICT, "order %" PRId64 " is %s", order_id, r.status);
	/* a proposed order never imposed anything: it is cancelled, whatever
	 * the reason (the health code reads active and completed orders) */
	bool cancel = !strcmp(reason, "cancelled") || !strcmp(r.status, "proposed");
	sqlite3_stmt *st = control_stmt(wdb,
					 "UPDATE orders SET status = ?, ended_at = ?, end_reason = ?"
					 " WHERE id = ?",
					 err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_text(st, 1, cancel ? "cancelled" : "completed", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, order_id);
	if ((s = step_final(wdb, st, "ending an order", err)) ||
	    (s = order_event(wdb, order_id, at, reason, actor, detail, err)) ||
	    (s = site_order_ended(wdb, order_id, at, err)))
		return s;
	st = control_stmt(wdb,
			   "UPDATE tasks SET status = 'cancelled', done_at = ?, done_by = ?,"
			   " note = CASE WHEN note = '' THEN ? ELSE note || ' / ' || ? END"
			   " WHERE order_id = ? AND status = 'open'",
			   err);
	if (!st)
		return FK_EDB;
	char note[64];
	snprintf(note, sizeof(note), "order ended: %s", reason);
	sqlite3_bind_int64(st, 1, at);
	sqlite3_bind_text(st, 2, actor ? actor : "system", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, note, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, note, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, order_id);
	if ((s = step_final(wdb, st, "cancelling an order's tasks", err)))
		return s;
	control_changes_add(ch, r.person_id);
	return FK_OK;
}

/* order_activate with the room's outcome for the bulk counts. */
static enum fk_status activate(sqlite3 *wdb, const struct policy *p, int64_t order_id,
			       int64_t now, const char *actor, struct assign_result *ar,
			       struct control_changes *ch, struct fk_err *err)
{
	struct order_row r;
	char detail[160];
	memset(ar, 0, sizeof(*ar));
	enum fk_status s = order_read(wdb, order_id, &r, err);
	if (s)
		return s;
	if (strcmp(r.status, "proposed"))
		return fk_fail(err, FK_ECONFLICT, "order %" PRId64 " is %s, not proposed", order_id,
			       r.status);
	sqlite3_stmt *st = control_stmt(wdb,
					 "UPDATE orders SET status = 'active', activated_at = ?,"
					 " activated_by = ? WHERE id = ?",
					 err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, actor ? actor : "system", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, order_id);
	if ((s = step_final(wdb, st, "activating an order", err)))
		return s;
	snprintf(detail, sizeof(detail), "%s", order_kind_label_zh(r.kind));
	if ((s = order_event(wdb, order_id, now, "activated", actor, detail, err)))
		return s;
	/* the room first, so the test tasks go to the site's region */
	if (r.kind == ORDER_CENTRAL &&
	    (s = site_assign_order(wdb, p, order_id, 0, now, actor, ar, err)))
		return s;
	if ((s = schedule_activate(wdb, order_id, now, err)) ||
	    (s = responsibles_assign(wdb, order_id, now, err)))
		return s;
	/* earlier-ending contact orders of the person give way (the unary +
	 * keeps the planner on orders_person: with status and planned_end
	 * indexable it walks orders_status, every proposed order of the city,
	 * for each order confirmed) */
	int64_t *ids = NULL;
	size_t n = 0;
	s = ids_query(wdb,
		      "SELECT id FROM orders WHERE person_id = ?1 AND id <> ?2"
		      " AND +status IN ('active', 'proposed')"
		      " AND category IN ('close', 'secondary', 'other') AND +planned_end < ?3"
		      " AND id IS NOT (SELECT prev_order FROM orders WHERE id = ?2)"
		      " ORDER BY id",
		      r.person_id, order_id, r.planned_end, &ids, &n, err);
	snprintf(detail, sizeof(detail), "superseded by order %" PRId64, order_id);
	for (size_t i = 0; !s && i < n; i++)
		s = order_end(wdb, ids[i], now, "superseded", actor, detail, ch, err);
	free(ids);
	if (!s)
		control_changes_add(ch, r.person_id);
	return s;
}

enum fk_status order_activate(sqlite3 *wdb, const struct policy *p, int64_t order_id,
			      int64_t now, const char *actor, struct control_changes *ch,
			      struct fk_err *err)
{
	struct assign_result ar;
	return activate(wdb, p, order_id, now, actor, &ar, ch, err);
}

enum fk_status order_insert(sqlite3 *wdb, const struct policy *p, const struct order_new *o,
			    int64_t now, const char *actor, int64_t *id,
			    struct control_changes *ch, struct fk_err *err)
{
	*id = 0;
	if (o->kind == ORDER_NONE || o->planned_end <= o->start_at)
		return fk_fail(err, FK_EINVAL, "an order needs a kind and an end after its start");
	sqlite3_stmt *st = control_stmt(
		wdb,
		"INSERT INTO orders(person_id, kind, category, case_id, status, start_at,"
		" planned_end, orig_end, created_at, created_by, phase, prev_order, link_person,"
		" policy_version) VALUES(?,?,?,?,'proposed',?,?,?,?,?,?,?,?,?)",
		err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, o->person_id);
	sqlite3_bind_text(st, 2, order_kind_name(o->kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, order_category_name(o->category), -1, SQLITE_STATIC);
	bind_opt(st, 4, o->case_id);
	sqlite3_bind_int64(st, 5, o->start_at);
	sqlite3_bind_int64(st, 6, o->planned_end);
	sqlite3_bind_int64(st, 7, o->planned_end);
	sqlite3_bind_int64(st, 8, now);
	sqlite3_bind_text(st, 9, actor ? actor : "system", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 10, o->phase == 2 ? 2 : 1);
	bind_opt(st, 11, o->prev_order);
	bind_opt(st, 12, o->link_person);
	sqlite3_bind_text(st, 13, p ? p->version : "", -1, SQLITE_STATIC);
	enum fk_status s = step_final(wdb, st, "inserting an order", err);
	if (s)
		return s;
	*id = sqlite3_last_insert_rowid(wdb);
	if ((s = schedule_create(wdb, *id, o->person_id, o->start_at, o->test_days, o->ntest_days,
				 err)))
		return s;
	if (!o->active) {
		char detail[160];
		snprintf(detail, sizeof(detail), "%s %s", order_category_name(o->category),
			 order_kind_label_zh(o->kind));
		return order_event(wdb, *id, now, "proposed", actor, detail, err);
	}
	return order_activate(wdb, p, *id, now, actor, ch, err);
}

static const struct policy_measure *measure_of(const struct policy *p, int degree)
{
	if (degree == 1)
		return &p->close;
	if (!p->secondary_contacts)
		return NULL;
	return &p->secondary;
}

static enum fk_status propose(sqlite3 *wdb, const struct policy *p, int64_t case_id,
			      int64_t now, const char *actor, size_t *proposed, size_t *skipped,
			      struct control_changes *ch, struct fk_err *err)
{
	size_t np = 0, ns = 0;
	enum fk_status s = FK_OK;
	sqlite3_stmt *st = NULL, *have = NULL;
	int64_t isolated = 0;
	{
		sqlite3_stmt *c = control_stmt(
			wdb, "SELECT coalesce(isolated_at, 0) FROM cases WHERE id = ?", err);
		if (!c)
			return FK_EDB;
		sqlite3_bind_int64(c, 1, case_id);
		int rc = sqlite3_step(c);
		if (rc == SQLITE_ROW)
			isolated = sqlite3_column_int64(c, 0);
		control_stmt_done(c);
		if (rc == SQLITE_DONE)
			return fk_fail(err, FK_ENOTFOUND, "no case %" PRId64, case_id);
		if (rc != SQLITE_ROW)
			return db_err(wdb, err, "reading a case");
	}
	st = control_stmt(wdb,
			   "SELECT person_id, degree, exposure_at, coalesce(via_person, 0), household,"
			   " found_at FROM contacts WHERE case_id = ? ORDER BY degree, exposure_at,"
			   " person_id",
			   err);
	/* + on status and planned_end: orders_person, not orders_status (see
	 * the supersede query in activate) */
	have = control_stmt(
		wdb,
		"SELECT EXISTS(SELECT 1 FROM cases WHERE person_id = ?1)"
		" OR EXISTS(SELECT 1 FROM orders WHERE person_id = ?1"
		"  AND +status IN ('proposed', 'active') AND +planned_end >= ?2)",
		err);
	if (!st || !have) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, case_id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t pid = sqlite3_column_int64(st, 0);
		int degree = sqlite3_column_int(st, 1);
		int64_t exposure = sqlite3_column_int64(st, 2);
		int64_t via = sqlite3_column_int64(st, 3);
		bool household = sqlite3_column_int(st, 4) != 0;
		int64_t found = sqlite3_column_int64(st, 5);
		const struct policy_measure *m = measure_of(p, degree);
		if (!m || m->kind == ORDER_NONE || m->days <= 0) {
			ns++;
			continue;
		}
		/* a household member is exposed until the case (degree 1) or the
		 * close contact it lives with (degree 2: taken into control when
		 * found) leaves home */
		int64_t start = exposure;
		if (household)
			start = degree == 1 && isolated && isolated < found ? isolated : found;
		int64_t end = start + (int64_t)m->days * CONTROL_DAY;
		if (end <= now) { /* already past */
			ns++;
			continue;
		}
		sqlite3_reset(have);
		sqlite3_bind_int64(have, 1, pid);
		sqlite3_bind_int64(have, 2, end);
		if (sqlite3_step(have) != SQLITE_ROW) {
			s = db_err(wdb, err, "reading a person's orders");
			goto out;
		}
		if (sqlite3_column_int(have, 0)) {
			ns++;
			continue;
		}
		struct order_new o = {
			.person_id = pid,
			.kind = m->kind,
			.category = degree == 1 ? CAT_CLOSE : CAT_SECONDARY,
			.case_id = case_id,
			.phase = 1,
			.link_person = degree == 2 ? via : 0,
			.start_at = start,
			.planned_end = end,
			.test_days = m->test_days,
			.ntest_days = m->ntest_days,
		};
		int64_t id;
		if ((s = order_insert(wdb, p, &o, now, actor, &id, ch, err)))
			goto out;
		np++;
	}
	if (rc != SQLITE_DONE)
		s = db_err(wdb, err, "reading contacts");
out:
	control_stmt_done(st);
	control_stmt_done(have);
	if (proposed)
		*proposed = np;
	if (skipped)
		*skipped = ns;
	return s;
}

enum fk_status control_propose(sqlite3 *wdb, const struct policy *p, int64_t case_id,
			       int64_t now, const char *actor, size_t *proposed, size_t *skipped,
			       struct control_changes *ch, struct fk_err *err)
{
	batch_begin(wdb, 0);
	enum fk_status s = propose(wdb, p, case_id, now, actor, proposed, skipped, ch, err);
	batch_end();
	return s;
}

/* The case hook's work in the caller's transaction. */
static enum fk_status case_added(sqlite3 *w, const struct policy *p, const struct case_rec *c,
				 int64_t now, const char *actor, size_t *proposed,
				 struct control_changes *ch, struct fk_err *err)
{
	int64_t *ids = NULL;
	size_t n = 0;
	char detail[96];
	/* (1) the person's own orders end: they became a case */
	enum fk_status s = ids_query(w,
				     "SELECT id FROM orders WHERE person_id = ?1"
				     " AND status IN ('proposed', 'active') ORDER BY id",
				     c->person_id, 0, 0, &ids, &n, err);
	snprintf(detail, sizeof(detail), "case %" PRId64, c->id);
	for (size_t i = 0; !s && i < n; i++)
		s = order_end(w, ids[i], c->created_at ? c->created_at : now, "became_case", actor,
			      detail, ch, err);
	free(ids);
	ids = NULL;
	if (s)
		return s;
	/* (2) secondary contacts through this person become close contacts */
	if (p->close.kind != ORDER_NONE && p->close.days > 0) {
		s = ids_query(w,
			      "SELECT id FROM orders WHERE link_person = ?1 AND category = 'secondary'"
			      " AND status IN ('proposed', 'active') ORDER BY id",
			      c->person_id, 0, 0, &ids, &n, err);
		for (size_t i = 0; !s && i < n; i++) {
			struct order_row r;
			int64_t nid;
			if ((s = order_read(w, ids[i], &r, err)))
				break;
			snprintf(detail, sizeof(detail), "case %" PRId64 ": now a close contact",
				 c->id);
			if ((s = order_end(w, ids[i], now, "upgraded", actor, detail, ch, err)))
				break;
			struct order_new o = {
				.person_id = r.person_id,
				.kind = p->close.kind,
				.category = CAT_CLOSE,
				.case_id = c->id,
				.phase = 1,
				.prev_order = ids[i],
				.start_at = r.start_at,
				.planned_end = r.start_at + (int64_t)p->close.days * CONTROL_DAY,
				.test_days = p->close.test_days,
				.ntest_days = p->close.ntest_days,
				.active = true,
			};
			s = order_insert(w, p, &o, now, actor, &nid, ch, err);
		}
		free(ids);
		if (s)
			return s;
	}
	/* (3) orders for the case's contacts */
	return control_propose(w, p, c->id, now, actor, proposed, NULL, ch, err);
}

enum fk_status control_case_added(sqlite3 *db, const struct case_rec *c, int64_t now,
				  bool server, const char *actor, size_t *proposed,
				  struct fk_err *err)
{
	struct control_changes ch = {0};
	const struct policy *p = policy_current();
	if (proposed)
		*proposed = 0;
	if (!p)
		return fk_fail(err, FK_EINVAL, "no policy in force");
	sqlite3 *w = server ? store_writer_lock() : db;
	enum fk_status s;
	if (!w)
		s = fk_fail(err, FK_EDB, "database unavailable");
	else if (!(s = store_begin(w, err))) {
		batch_begin(w, 0);
		s = case_added(w, p, c, now, actor, proposed, &ch, err);
		batch_end();
		if (!s)
			s = store_commit(w, err);
		if (s) {
			store_rollback(w);
			if (proposed)
				*proposed = 0;
		}
	}
	if (server)
		store_writer_unlock();
	if (!s)
		control_changes_publish(&ch);
	control_changes_release(&ch);
	return s;
}

/* ------------------------------------------------------------ JSON */

#define ORDER_SELECT                                                                            \
	"SELECT o.id, o.person_id, p.name, p.id_number, p.grid_code, coalesce(g.name, ''),"    \
	" o.kind, o.category, o.phase, coalesce(o.case_id, 0), coalesce(o.link_person, 0),"    \
	" coalesce(lp.name, ''), o.status, o.start_at, o.planned_end,"                         \
	" coalesce(o.orig_end, o.planned_end), o.ended_at, o.end_reason, o.activated_at,"      \
	" o.queued_at, o.policy_version, coalesce(o.prev_order, 0)"                            \
	" FROM orders o JOIN persons p ON p.id = o.person_id"                                  \
	" LEFT JOIN regions g ON g.code = p.grid_code"                                         \
	" LEFT JOIN persons lp ON lp.id = o.link_person "
enum { OC_ID, OC_PID, OC_NAME, OC_IDN, OC_GRID, OC_GNAME, OC_KIND, OC_CAT, OC_PHASE, OC_CASE,
       OC_LINK, OC_LNAME, OC_STATUS, OC_START, OC_PLANNED, OC_ORIG, OC_ENDED, OC_REASON,
       OC_ACTIVATED, OC_QUEUED, OC_PV, OC_PREV };

struct oj_opts {
	bool unmask;  /* full ID numbers and phones */
	bool full;    /* tests, responsibles, stay */
	bool events;  /* events */
	bool checks;  /* health checks (the timeline) */
	bool me;      /* the person's own view: actors as "staff"/"system" */
};

static const char *col(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	return s ? s : "";
}

/* ,"key":"time" or null when the column is NULL */
static void tcol(struct strbuf *o, const char *key, sqlite3_stmt *st, int i)
{
	char ts[40];
	strbuf_addf(o, ",\"%s\":", key);
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		strbuf_addstr(o, "null");
	else
		strbuf_addf(o, "\"%s\"", fk_format_time(sqlite3_column_int64(st, i), ts, sizeof(ts)));
}

static void idcol(struct strbuf *o, const char *key, int64_t v)
{
	if (v)
		strbuf_addf(o, ",\"%s\":%" PRId64, key, v);
	else
		strbuf_addf(o, ",\"%s\":null", key);
}

static void person_member(struct strbuf *o, int64_t id, const char *name, const char *idn,
			  const char *grid, const char *gname, bool unmask)
{
	char m[40];
	if (!unmask)
		mask_id_number(idn, m, sizeof(m));
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"name\":", id);
	strbuf_add_json_str(o, name);
	strbuf_addstr(o, ",\"id_number\":");
	strbuf_add_json_str(o, unmask ? idn : m);
	strbuf_addstr(o, ",\"grid\":{\"code\":");
	strbuf_add_json_str(o, grid);
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, gname);
	strbuf_addstr(o, "}}");
}

static enum fk_status tests_json(sqlite3 *db, struct strbuf *o, int64_t id, struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(db,
					 "SELECT day, window_start, window_end, required, sampled_at,"
					 " result FROM order_tests WHERE order_id = ? ORDER BY day",
					 err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	strbuf_addstr(o, ",\"tests\":[");
	int rc, n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		strbuf_addf(o, "%s{\"day\":%d", n++ ? "," : "", sqlite3_column_int(st, 0));
		tcol(o, "window_start", st, 1);
		tcol(o, "window_end", st, 2);
		strbuf_addf(o, ",\"required\":%s", sqlite3_column_int(st, 3) ? "true" : "false");
		tcol(o, "sampled_at", st, 4);
		strbuf_addstr(o, ",\"result\":");
		if (sqlite3_column_type(st, 5) == SQLITE_NULL)
			strbuf_addstr(o, "null");
		else
			strbuf_add_json_str(o, col(st, 5));
		strbuf_addch(o, '}');
	}
	strbuf_addch(o, ']');
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? FK_OK : db_err(db, err, "reading test days");
}

static enum fk_status responsibles_json(sqlite3 *db, struct strbuf *o, int64_t id, bool unmask,
					struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(
		db,
		"SELECT r.role, s.name, s.phone FROM order_responsibles r"
		" LEFT JOIN responsibles s ON s.id = r.responsible_id WHERE r.order_id = ?"
		" ORDER BY CASE r.role WHEN 'town_cadre' THEN 1 WHEN 'village_cadre' THEN 2"
		" WHEN 'police' THEN 3 WHEN 'doctor' THEN 4 WHEN 'grid_worker' THEN 5 ELSE 6 END",
		err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	strbuf_addstr(o, ",\"responsibles\":[");
	int rc, n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		strbuf_addf(o, "%s{\"role\":", n++ ? "," : "");
		strbuf_add_json_str(o, col(st, 0));
		if (sqlite3_column_type(st, 1) == SQLITE_NULL) {
			strbuf_addstr(o, ",\"name\":null,\"phone\":null}");
			continue;
		}
		strbuf_addstr(o, ",\"name\":");
		strbuf_add_json_str(o, col(st, 1));
		strbuf_addstr(o, ",\"phone\":");
		if (!*col(st, 2)) {
			strbuf_addstr(o, "null");
		} else {
			char m[40];
			mask_phone(col(st, 2), m, sizeof(m));
			strbuf_add_json_str(o, unmask ? col(st, 2) : m);
		}
		strbuf_addch(o, '}');
	}
	strbuf_addch(o, ']');
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? FK_OK : db_err(db, err, "reading responsibles");
}

static enum fk_status stay_json(sqlite3 *db, struct strbuf *o, int64_t id, struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(
		db,
		"SELECT s.id, t.id, t.name, r.id, r.number, r.floor, s.pickup_at, s.vehicle,"
		" s.arrived_at, s.left_at, s.planned_leave FROM stays s"
		" JOIN iso_rooms r ON r.id = s.room_id JOIN iso_sites t ON t.id = r.site_id"
		" WHERE s.order_id = ? ORDER BY s.id DESC LIMIT 1",
		err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	strbuf_addstr(o, ",\"stay\":");
	if (rc == SQLITE_ROW) {
		strbuf_addf(o, "{\"id\":%" PRId64 ",\"site\":{\"id\":%" PRId64 ",\"name\":",
			    (int64_t)sqlite3_column_int64(st, 0), (int64_t)sqlite3_column_int64(st, 1));
		strbuf_add_json_str(o, col(st, 2));
		strbuf_addf(o, "},\"room\":{\"id\":%" PRId64 ",\"number\":",
			    (int64_t)sqlite3_column_int64(st, 3));
		strbuf_add_json_str(o, col(st, 4));
		strbuf_addf(o, ",\"floor\":%d}", sqlite3_column_int(st, 5));
		tcol(o, "pickup_at", st, 6);
		strbuf_addstr(o, ",\"vehicle\":");
		strbuf_add_json_str(o, col(st, 7));
		tcol(o, "arrived_at", st, 8);
		tcol(o, "left_at", st, 9);
		tcol(o, "planned_leave", st, 10);
		strbuf_addch(o, '}');
	} else {
		strbuf_addstr(o, "null");
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? FK_OK : db_err(db, err, "reading a stay");
}

static enum fk_status events_json(sqlite3 *db, struct strbuf *o, int64_t id, bool me,
				  struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(db,
					 "SELECT at, kind, actor, detail FROM order_events"
					 " WHERE order_id = ? ORDER BY at, id",
					 err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	strbuf_addstr(o, ",\"events\":[");
	int rc, n = 0;
	char ts[40];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		strbuf_addf(o, "%s{\"at\":\"%s\",\"kind\":", n++ ? "," : "",
			    fk_format_time(sqlite3_column_int64(st, 0), ts, sizeof(ts)));
		strbuf_add_json_str(o, col(st, 1));
		strbuf_addstr(o, ",\"actor\":");
		const char *actor = col(st, 2);
		if (me)
			actor = !strcmp(actor, "system") ? "system" : "staff";
		strbuf_add_json_str(o, actor);
		strbuf_addstr(o, ",\"detail\":");
		strbuf_add_json_str(o, col(st, 3));
		strbuf_addch(o, '}');
	}
	strbuf_addch(o, ']');
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? FK_OK : db_err(db, err, "reading order events");
}

/* symptoms as stored (a JSON array, or names separated by commas) -> array */
static void symptoms_json(struct strbuf *o, const char *s)
{
	if (*s == '[') {
		json_error_t je;
		json_t *a = json_loads(s, 0, &je);
		char *d = a && json_is_array(a) ? json_dumps(a, JSON_COMPACT) : NULL;
		strbuf_addstr(o, d ? d : "[]");
		free(d);
		json_decref(a);
		return;
	}
	strbuf_addch(o, '[');
	int n = 0;
	while (*s) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (len) {
			char w[64];
			if (len >= sizeof(w))
				len = sizeof(w) - 1;
			memcpy(w, s, len);
			w[len] = '\0';
			if (n++)
				strbuf_addch(o, ',');
			strbuf_add_json_str(o, w);
		}
		s += e ? (size_t)(e - s) + 1 : strlen(s);
	}
	strbuf_addch(o, ']');
}

static enum fk_status checks_json(sqlite3 *db, struct strbuf *o, int64_t id, struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(db,
					 "SELECT at, temp_dc, symptoms, by_role FROM health_checks"
					 " WHERE order_id = ? ORDER BY at, id",
					 err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	strbuf_addstr(o, ",\"checks\":[");
	int rc, n = 0;
	char ts[40];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		strbuf_addf(o, "%s{\"at\":\"%s\",\"temp_c\":", n++ ? "," : "",
			    fk_format_time(sqlite3_column_int64(st, 0), ts, sizeof(ts)));
		if (sqlite3_column_type(st, 1) == SQLITE_NULL) {
			strbuf_addstr(o, "null");
		} else {
			int dc = sqlite3_column_int(st, 1);
			strbuf_addf(o, "%d.%d", dc / 10, (dc < 0 ? -dc : dc) % 10);
		}
		strbuf_addstr(o, ",\"symptoms\":");
		symptoms_json(o, col(st, 2));
		strbuf_addstr(o, ",\"by_role\":");
		strbuf_add_json_str(o, col(st, 3));
		strbuf_addch(o, '}');
	}
	strbuf_addch(o, ']');
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? FK_OK : db_err(db, err, "reading health checks");
}

/* The order on st's row (ORDER_SELECT) as JSON; sub-objects read on db. */
static enum fk_status order_json(sqlite3 *db, struct strbuf *o, sqlite3_stmt *st,
				 const struct oj_opts *op, struct fk_err *err)
{
	int64_t id = sqlite3_column_int64(st, OC_ID);
	enum order_kind k = ORDER_CENTRAL;
	order_kind_parse(col(st, OC_KIND), &k);
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"person\":", id);
	person_member(o, sqlite3_column_int64(st, OC_PID), col(st, OC_NAME), col(st, OC_IDN),
		      col(st, OC_GRID), col(st, OC_GNAME), op->unmask);
	strbuf_addstr(o, ",\"kind\":");
	strbuf_add_json_str(o, col(st, OC_KIND));
	strbuf_addstr(o, ",\"kind_zh\":");
	strbuf_add_json_str(o, order_kind_label_zh(k));
	strbuf_addstr(o, ",\"category\":");
	strbuf_add_json_str(o, col(st, OC_CAT));
	strbuf_addf(o, ",\"phase\":%d", sqlite3_column_int(st, OC_PHASE));
	idcol(o, "case_id", sqlite3_column_int64(st, OC_CASE));
	int64_t link = sqlite3_column_int64(st, OC_LINK);
	if (link) {
		strbuf_addf(o, ",\"link_person\":{\"id\":%" PRId64 ",\"name\":", link);
		strbuf_add_json_str(o, col(st, OC_LNAME));
		strbuf_addch(o, '}');
	} else {
		strbuf_addstr(o, ",\"link_person\":null");
	}
	strbuf_addstr(o, ",\"status\":");
	strbuf_add_json_str(o, col(st, OC_STATUS));
	tcol(o, "start_at", st, OC_START);
	tcol(o, "planned_end", st, OC_PLANNED);
	tcol(o, "orig_end", st, OC_ORIG);
	tcol(o, "ended_at", st, OC_ENDED);
	strbuf_addstr(o, ",\"end_reason\":");
	strbuf_add_json_str(o, col(st, OC_REASON));
	tcol(o, "activated_at", st, OC_ACTIVATED);
	tcol(o, "queued_at", st, OC_QUEUED);
	strbuf_addstr(o, ",\"policy_version\":");
	strbuf_add_json_str(o, col(st, OC_PV));
	idcol(o, "prev_order", sqlite3_column_int64(st, OC_PREV));
	enum fk_status s = FK_OK;
	if (op->full && !(s = tests_json(db, o, id, err)) &&
	    !(s = responsibles_json(db, o, id, op->unmask || op->me, err)))
		s = stay_json(db, o, id, err);
	if (!s && op->events)
		s = events_json(db, o, id, op->me, err);
	if (!s && op->checks)
		s = checks_json(db, o, id, err);
	strbuf_addch(o, '}');
	return s;
}

/* One order as full JSON (events included), read on db. */
static enum fk_status order_full_json(sqlite3 *db, int64_t id, bool unmask, struct strbuf *o,
				      struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(db, ORDER_SELECT "WHERE o.id = ?", err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	enum fk_status s;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		struct oj_opts op = {.unmask = unmask, .full = true, .events = true};
		s = order_json(db, o, st, &op, err);
	} else if (rc == SQLITE_DONE) {
		s = fk_fail(err, FK_ENOTFOUND, "no order %" PRId64, id);
	} else {
		s = db_err(db, err, "reading an order");
	}
	sqlite3_finalize(st);
	return s;
}

/* ------------------------------------------------------------ HTTP */

static bool wants_unmask(struct http_req *req)
{
	const char *u = http_query(req, "unmask");
	return u && !strcmp(u, "1") && (role_perms(req->user->role) & PERM_UNMASK);
}

/* Reads the person grid of order id on db: FK_ENOTFOUND when absent or
 * outside the user's scope. */
static enum fk_status order_scope(sqlite3 *db, struct http_req *req, int64_t id,
				  struct order_row *r, struct fk_err *err)
{
	enum fk_status s = order_read(db, id, r, err);
	if (s == FK_ENOTFOUND)
		return fk_fail(err, FK_ENOTFOUND, "no order '%s' in your scope", req->params[0]);
	if (s)
		return s;
	char grid[32] = "";
	sqlite3_stmt *st = store_prepare(db, "SELECT grid_code FROM persons WHERE id = ?", err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, r->person_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		fk_strlcpy(grid, col(st, 0), sizeof(grid));
	sqlite3_finalize(st);
	if (!grid[0] || !access_scope_contains(req->user->scope, grid))
		return fk_fail(err, FK_ENOTFOUND, "no order '%s' in your scope", req->params[0]);
	return FK_OK;
}

static bool path_id(struct http_req *req, const char *what, int64_t *id)
{
	if (!fk_parse_i64(req->params[0], 1, INT64_MAX, id)) {
		http_error(req, 404, NULL, "no %s '%s' in your scope", what, req->params[0]);
		return false;
	}
	return true;
}

/* GET /api/v1/orders?status=&category=&case=&region=&kind=&queued=1 */
static void orders_list(struct http_req *req)
{
	struct fk_err err;
	struct strbuf o = STRBUF_INIT, ids = STRBUF_INIT;
	char after[64], lo[24], hi[24], last[32] = "";
	int limit, n = 0, rc;
	int64_t from = 0, case_id = 0;
	sqlite3_stmt *st = NULL;
	const char *status = http_query(req, "status"), *cat = http_query(req, "category");
	const char *kind = http_query(req, "kind"), *cs = http_query(req, "case");
	const char *queued = http_query(req, "queued"), *region = http_query(req, "region");
	enum order_category c;
	enum order_kind k;
	sqlite3 *db = http_reader(req);
	bool unmask = wants_unmask(req);

	if (!db || !http_page_params(req, &limit, after, sizeof(after)))
		return;
	if (limit > LIST_MAX) {
		http_error(req, 400, NULL, "'limit' must be from 1 to %d", LIST_MAX);
		return;
	}
	if (status && strcmp(status, "proposed") && strcmp(status, "active") &&
	    strcmp(status, "completed") && strcmp(status, "cancelled")) {
		http_error(req, 400, NULL, "'status' must be proposed, active, completed or cancelled");
		return;
	}
	if (cat && !order_category_parse(cat, &c)) {
		http_error(req, 400, NULL, "'category' must be case, close, secondary, arrival or other");
		return;
	}
	if (kind && (!order_kind_parse(kind, &k) || k == ORDER_NONE)) {
		http_error(req, 400, NULL, "'kind' must be central, home_isolation or home_monitoring");
		return;
	}
	if (cs && !fk_parse_i64(cs, 1, INT64_MAX, &case_id)) {
		http_error(req, 400, NULL, "'case' must be a case id");
		return;
	}
	if (queued && strcmp(queued, "1") && strcmp(queued, "0")) {
		http_error(req, 400, NULL, "'queued' must be 1 or 0");
		return;
	}
	if (region && (!*region || strlen(region) >= sizeof(lo) ||
		       !fk_all_digits(region, strlen(region)))) {
		http_error(req, 400, NULL, "'region' must be a region code");
		return;
	}
	if (!region || access_scope_contains(region, req->user->scope)) {
		fk_strlcpy(lo, req->user->scope, sizeof(lo));
	} else if (access_scope_contains(req->user->scope, region)) {
		fk_strlcpy(lo, region, sizeof(lo));
	} else {
		http_error(req, 404, NULL, "no region '%s' in your scope", region);
		return;
	}
	access_scope_upper(lo, hi, sizeof(hi));
	if (after[0] && !fk_parse_i64(after, 0, INT64_MAX, &from)) {
		http_error(req, 400, NULL, "cursor is not valid");
		return;
	}
	st = store_reader_stmt(ORDER_SELECT
			       "WHERE o.id > ?1 AND p.grid_code >= ?2 AND p.grid_code < ?3"
			       " AND (?4 = '' OR o.status = ?4) AND (?5 = '' OR o.category = ?5)"
			       " AND (?6 = '' OR o.kind = ?6) AND (?7 = 0 OR o.case_id = ?7)"
			       " AND (?8 = -1 OR (o.queued_at IS NOT NULL AND o.status = 'active'"
			       "  AND NOT EXISTS(SELECT 1 FROM stays s WHERE s.order_id = o.id"
			       "   AND s.left_at IS NULL)) = ?8)"
			       " ORDER BY o.id LIMIT ?9",
			       &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_text(st, 2, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hi, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, status ? status : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, cat ? cat : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, kind ? kind : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, case_id);
	sqlite3_bind_int(st, 8, queued ? queued[0] == '1' : -1);
	sqlite3_bind_int(st, 9, limit + 1);
	strbuf_addstr(&o, "{\"items\":[");
	struct oj_opts op = {.unmask = unmask};
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit)
			break;
		if (n++)
			strbuf_addch(&o, ',');
		order_json(db, &o, st, &op, &err);
		int64_t id = sqlite3_column_int64(st, OC_ID);
		strbuf_addf(&ids, "%s%" PRId64, ids.len ? "," : "", id);
		snprintf(last, sizeof(last), "%" PRId64, id);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_err(db, &err, "listing orders");
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	http_page_finish(req, &o, rc == SQLITE_ROW, last, unmask ? "order.list_unmasked" : "order.list",
			 "orders", n, ids.buf);
done:
	store_stmt_done(st);
	strbuf_release(&o);
	strbuf_release(&ids);
}

/* GET /api/v1/orders/{id} */
static void order_get(struct http_req *req)
{
	struct fk_err err;
	struct strbuf o = STRBUF_INIT;
	struct order_row r;
	int64_t id;
	sqlite3 *db = http_reader(req);
	bool unmask = wants_unmask(req);
	enum fk_status s;
	char obj[40];

	if (!db || !path_id(req, "order", &id))
		return;
	if ((s = order_scope(db, req, id, &r, &err)) ||
	    (s = order_full_json(db, id, unmask, &o, &err))) {
		http_fail(req, s, &err);
		goto done;
	}
	http_json(req, 200, o.buf);
	snprintf(obj, sizeof(obj), "order:%" PRId64, id);
	http_audit(req, unmask ? "order.reveal" : "order.read", obj,
		   unmask ? "id_number and phones shown unmasked" : "masked");
done:
	strbuf_release(&o);
}

/* The writer's transaction of a change: begin; fn; commit; unlock;
 * publish. */
struct change_ctx {
	struct http_req *req;
	int64_t id;
	const char *reason;
	int64_t until;
	const char *conflict; /* the 409 code when fn returned FK_ECONFLICT */
	size_t proposed, skipped;
};
typedef enum fk_status (*change_fn)(sqlite3 *w, const struct policy *p, struct change_ctx *c,
				    int64_t now, struct control_changes *ch, struct fk_err *err);

/* Runs fn in one transaction; answers the error and returns false, or
 * returns true with nothing answered. */
static bool run_change(struct http_req *req, change_fn fn, struct change_ctx *c)
{
	struct control_changes ch = {0};
	struct fk_err err = {FK_OK, ""};
	const struct policy *p = policy_current();
	int64_t now = fk_now();
	enum fk_status s;
	if (!p) {
		http_error(req, 503, NULL, "no policy in force");
		return false;
	}
	sqlite3 *w = store_writer_lock();
	if (!w)
		s = fk_fail(&err, FK_EDB, "database unavailable");
	else if (!(s = store_begin(w, &err))) {
		s = fn(w, p, c, now, &ch, &err);
		if (!s)
			s = store_commit(w, &err);
		if (s)
			store_rollback(w);
	}
	store_writer_unlock();
	if (!s)
		control_changes_publish(&ch);
	control_changes_release(&ch);
	if (s == FK_ECONFLICT && c->conflict)
		http_error(req, 409, c->conflict, "%s", err.msg);
	else if (s)
		http_fail(req, s, &err);
	return !s;
}

static enum fk_status audit_order(sqlite3 *w, struct http_req *req, const char *action, int64_t id,
				  const char *detail, struct fk_err *err)
{
	char obj[40];
	snprintf(obj, sizeof(obj), "order:%" PRId64, id);
	return audit_append(w, req->user->username, action, obj, detail, req->origin, err);
}

static enum fk_status do_cancel(sqlite3 *w, const struct policy *p, struct change_ctx *c,
				int64_t now, struct control_changes *ch, struct fk_err *err)
{
	(void)p;
	struct order_row r;
	enum fk_status s = order_scope(w, c->req, c->id, &r, err);
	if (s)
		return s;
	if (strcmp(r.status, "proposed") && strcmp(r.status, "active")) {
		c->conflict = "not_active";
		return fk_fail(err, FK_ECONFLICT, "order %" PRId64 " is %s", c->id, r.status);
	}
	if ((s = order_end(w, c->id, now, "cancelled", c->req->user->username, c->reason, ch, err)))
		return s;
	return audit_order(w, c->req, "order.cancel", c->id, c->reason, err);
}

static enum fk_status do_release(sqlite3 *w, const struct policy *p, struct change_ctx *c,
				 int64_t now, struct control_changes *ch, struct fk_err *err)
{
	(void)p;
	struct order_row r;
	enum fk_status s = order_scope(w, c->req, c->id, &r, err);
	if (s)
		return s;
	if (strcmp(r.status, "active")) {
		c->conflict = "not_active";
		return fk_fail(err, FK_ECONFLICT, "order %" PRId64 " is %s, not active", c->id,
			       r.status);
	}
	if ((s = order_end(w, c->id, now, "released_early", c->req->user->username, c->reason, ch,
			   err)))
		return s;
	return audit_order(w, c->req, "order.release", c->id, c->reason, err);
}

static enum fk_status do_extend(sqlite3 *w, const struct policy *p, struct change_ctx *c,
				int64_t now, struct control_changes *ch, struct fk_err *err)
{
	(void)p;
	struct order_row r;
	char detail[REASON_MAX + 80], ts[40];
	enum fk_status s = order_scope(w, c->req, c->id, &r, err);
	if (s)
		return s;
	if (strcmp(r.status, "active")) {
		c->conflict = "not_active";
		return fk_fail(err, FK_ECONFLICT, "order %" PRId64 " is %s, not active", c->id,
			       r.status);
	}
	if (c->until <= now || c->until <= r.start_at)
		return fk_fail(err, FK_EINVAL, "'until' must be after now and after the order's start");
	sqlite3_stmt *st = store_prepare(w, "UPDATE orders SET planned_end = ? WHERE id = ?", err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, c->until);
	sqlite3_bind_int64(st, 2, c->id);
	if ((s = step_final(w, st, "extending an order", err)))
		return s;
	snprintf(detail, sizeof(detail), "until %s: %s", fk_format_time(c->until, ts, sizeof(ts)),
		 c->reason);
	if ((s = order_event(w, c->id, now, "extended", c->req->user->username, detail, err)) ||
	    (s = site_order_moved(w, c->id, c->until, err)))
		return s;
	control_changes_add(ch, r.person_id);
	return audit_order(w, c->req, "order.extend", c->id, detail, err);
}

/* The body's "reason": required, 1..REASON_MAX bytes; false after 400. */
static bool body_reason(struct http_req *req, json_t *o, const char **out)
{
	if (!http_member_str(req, o, "reason", out))
		return false;
	if (!*out || !**out) {
		http_error(req, 400, NULL, "'reason' is required");
		return false;
	}
	if (strlen(*out) > REASON_MAX) {
		http_error(req, 400, NULL, "'reason' is longer than %d bytes", REASON_MAX);
		return false;
	}
	return true;
}

/* POST /api/v1/orders/{id}/cancel|extend|release */
static void order_action(struct http_req *req, change_fn fn, bool until)
{
	json_t *o = NULL;
	struct change_ctx c = {.req = req};
	struct strbuf out = STRBUF_INIT;
	struct fk_err err;
	if (!path_id(req, "order", &c.id) || !(o = http_body_object(req)) ||
	    !body_reason(req, o, &c.reason))
		goto done;
	if (until) {
		const char *u;
		if (!http_member_str(req, o, "until", &u))
			goto done;
		if (!u || !fk_parse_time(u, &c.until)) {
			http_error(req, 400, NULL,
				   "'until' must be an ISO 8601 time with offset"
				   " (2022-01-10T08:30:00+08:00)");
			goto done;
		}
	}
	if (!run_change(req, fn, &c))
		goto done;
	sqlite3 *db = http_reader(req);
	enum fk_status s;
	if (!db)
		goto done;
	if ((s = order_full_json(db, c.id, false, &out, &err))) {
		http_fail(req, s, &err);
		goto done;
	}
	http_json(req, 200, out.buf);
done:
	strbuf_release(&out);
	json_decref(o);
}

static void order_cancel(struct http_req *req)
{
	order_action(req, do_cancel, false);
}
static void order_extend(struct http_req *req)
{
	order_action(req, do_extend, true);
}
static void order_release(struct http_req *req)
{
	order_action(req, do_release, false);
}

/* Whether case id's person lies in the user's scope (FK_ENOTFOUND if not). */
static enum fk_status case_scope(sqlite3 *db, struct http_req *req, int64_t id, struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(db,
					 "SELECT p.grid_code FROM cases c JOIN persons p"
					 " ON p.id = c.person_id WHERE c.id = ?",
					 err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	enum fk_status s = FK_OK;
	if (rc == SQLITE_ROW && access_scope_contains(req->user->scope, col(st, 0)))
		s = FK_OK;
	else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		s = fk_fail(err, FK_ENOTFOUND, "no case %" PRId64 " in your scope", id);
	else
		s = db_err(db, err, "reading a case");
	sqlite3_finalize(st);
	return s;
}

static enum fk_status do_propose(sqlite3 *w, const struct policy *p, struct change_ctx *c,
				 int64_t now, struct control_changes *ch, struct fk_err *err)
{
	char obj[40], detail[80];
	enum fk_status s = case_scope(w, c->req, c->id, err);
	if (!s)
		s = control_propose(w, p, c->id, now, c->req->user->username, &c->proposed,
				    &c->skipped, ch, err);
	if (s)
		return s;
	snprintf(obj, sizeof(obj), "case:%" PRId64, c->id);
	snprintf(detail, sizeof(detail), "%zu proposed, %zu skipped", c->proposed, c->skipped);
	return audit_append(w, c->req->user->username, "order.propose", obj, detail,
			    c->req->origin, err);
}

/* A member holding a positive integer: *out 0 when absent; false after 400. */
static bool member_id(struct http_req *req, json_t *o, const char *key, int64_t *out)
{
	json_t *v = json_object_get(o, key);
	*out = 0;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		http_error(req, 400, NULL, "'%s' must be a positive integer id", key);
		return false;
	}
	*out = json_integer_value(v);
	return true;
}

/* POST /api/v1/orders/propose {"case_id"} */
static void orders_propose(struct http_req *req)
{
	json_t *o = NULL;
	struct change_ctx c = {.req = req};
	if (!(role_perms(req->user->role) & (PERM_MANAGE_CONTROL | PERM_TRACE))) {
		http_error(req, 403, NULL, "proposing orders needs the control or tracing permission");
		return;
	}
	if (!(o = http_body_object(req)) || !member_id(req, o, "case_id", &c.id))
		goto done;
	if (!c.id) {
		http_error(req, 400, NULL, "'case_id' is required");
		goto done;
	}
	if (!run_change(req, do_propose, &c))
		goto done;
	char body[96];
	snprintf(body, sizeof(body), "{\"proposed\":%zu,\"skipped\":%zu}", c.proposed, c.skipped);
	http_json(req, 200, body);
done:
	json_decref(o);
}

struct confirm_counts {
	size_t activated, assigned, queued, already;
	struct strbuf refused;
	size_t nrefused;
};

static void refuse(struct confirm_counts *k, int64_t id, const char *code)
{
	strbuf_addf(&k->refused, "%s{\"id\":%" PRId64 ",\"code\":\"%s\"}", k->nrefused++ ? "," : "",
		    id, code);
}

/* Confirms ids[0..n) (one transaction), counting into k.  scope: NULL for
 * no limit (CLI). */
static enum fk_status confirm_chunk(sqlite3 *w, const struct policy *p, const int64_t *ids,
				    size_t n, const char *scope, const char *actor,
				    const char *origin, int64_t now, struct confirm_counts *k,
				    struct control_changes *ch, struct fk_err *err)
{
	struct strbuf detail = STRBUF_INIT;
	sqlite3_stmt *st = store_prepare(w,
					 "SELECT o.status, p.grid_code FROM orders o JOIN persons p"
					 " ON p.id = o.person_id WHERE o.id = ?",
					 err);
	enum fk_status s = st ? FK_OK : FK_EDB;
	size_t done = 0;
	for (size_t i = 0; !s && i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, ids[i]);
		int rc = sqlite3_step(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			s = db_err(w, err, "reading an order");
			break;
		}
		if (rc == SQLITE_DONE) {
			refuse(k, ids[i], "not_found");
			continue;
		}
		if (scope && !access_scope_contains(scope, col(st, 1))) {
			refuse(k, ids[i], "out_of_scope");
			continue;
		}
		if (!strcmp(col(st, 0), "active")) {
			k->already++;
			continue;
		}
		if (strcmp(col(st, 0), "proposed")) {
			refuse(k, ids[i], "not_proposed");
			continue;
		}
		sqlite3_reset(st);
		struct assign_result ar;
		if ((s = activate(w, p, ids[i], now, actor, &ar, ch, err)))
			break;
		k->activated++;
		if (ar.stay_id)
			k->assigned++;
		else if (ar.queued)
			k->queued++;
		strbuf_addf(&detail, "%s%" PRId64, done++ ? "," : "", ids[i]);
	}
	sqlite3_finalize(st);
	if (!s && done) {
		struct strbuf d2 = STRBUF_INIT;
		strbuf_addf(&d2, "%zu activated: %s", done, detail.buf);
		s = audit_append(w, actor, "order.confirm", "orders", d2.buf, origin, err);
		strbuf_release(&d2);
	}
	strbuf_release(&detail);
	return s;
}

/* Confirms ids in transactions of CONFIRM_CHUNK. */
static enum fk_status confirm_ids(sqlite3 *db, bool server, const struct policy *p,
				  const int64_t *ids, size_t n, const char *scope,
				  const char *actor, const char *origin, int64_t now,
				  struct confirm_counts *k, struct fk_err *err)
{
	enum fk_status s = FK_OK;
	uint64_t run = batch_next_id(); /* the chunks' batches share a run */
	for (size_t off = 0; !s && off < n; off += CONFIRM_CHUNK) {
		size_t m = n - off < CONFIRM_CHUNK ? n - off : CONFIRM_CHUNK;
		struct control_changes ch = {0};
		struct confirm_counts save = *k;
		size_t rlen = k->refused.len;
		sqlite3 *w = server ? store_writer_lock() : db;
		if (!w)
			s = fk_fail(err, FK_EDB, "database unavailable");
		else if (!(s = store_begin(w, err))) {
			batch_begin(w, run);
			s = confirm_chunk(w, p, ids + off, m, scope, actor, origin, now, k, &ch, err);
			batch_end();
			if (!s)
				s = store_commit(w, err);
			if (s) {
				store_rollback(w);
				save.refused = k->refused;
				*k = save;
				k->refused.len = rlen;
				if (k->refused.buf)
					k->refused.buf[rlen] = '\0';
			}
		}
		if (server)
			store_writer_unlock();
		if (!s)
			control_changes_publish(&ch);
		control_changes_release(&ch);
	}
	return s;
}

/* POST /api/v1/orders/confirm {"ids":[..]} | {"case_id","category"?} */
static void orders_confirm(struct http_req *req)
{
	json_t *o = NULL;
	int64_t *ids = NULL, case_id = 0;
	size_t n = 0;
	struct fk_err err = {FK_OK, ""};
	struct confirm_counts k;
	struct strbuf out = STRBUF_INIT;
	const char *cat;
	enum order_category c = CAT_CLOSE;
	enum fk_status s;
	const struct policy *p = policy_current();
	sqlite3 *db = http_reader(req);

	memset(&k, 0, sizeof(k));
	strbuf_init(&k.refused);
	if (!db)
		goto done;
	if (!p) {
		http_error(req, 503, NULL, "no policy in force");
		goto done;
	}
	if (!(o = http_body_object(req)) || !member_id(req, o, "case_id", &case_id) ||
	    !http_member_str(req, o, "category", &cat))
		goto done;
	json_t *a = json_object_get(o, "ids");
	if (a && json_is_null(a))
		a = NULL;
	if (!a == !case_id) {
		http_error(req, 400, NULL, "give either 'ids' or 'case_id'");
		goto done;
	}
	if (cat && (!case_id || !order_category_parse(cat, &c))) {
		http_error(req, 400, NULL, "'category' must be close, secondary, case, arrival or other,"
					   " with 'case_id'");
		goto done;
	}
	if (a) {
		if (!json_is_array(a)) {
			http_error(req, 400, NULL, "'ids' must be an array of order ids");
			goto done;
		}
		if (json_array_size(a) > CONFIRM_MAX_IDS) {
			http_error(req, 400, NULL, "'ids' holds more than %d ids", CONFIRM_MAX_IDS);
			goto done;
		}
		n = json_array_size(a);
		ids = fk_xmalloc((n ? n : 1) * sizeof(*ids));
		for (size_t i = 0; i < n; i++) {
			json_t *v = json_array_get(a, i);
			if (!json_is_integer(v) || json_integer_value(v) < 1) {
				http_error(req, 400, NULL, "'ids' must be an array of order ids");
				goto done;
			}
			ids[i] = json_integer_value(v);
		}
	} else {
		if ((s = case_scope(db, req, case_id, &err))) {
			http_fail(req, s, &err);
			goto done;
		}
		{
			sqlite3_stmt *st = store_prepare(db,
							 "SELECT id FROM orders WHERE case_id = ?1"
							 " AND status = 'proposed'"
							 " AND (?2 = '' OR category = ?2) ORDER BY id",
							 &err);
			if (!st) {
				http_fail(req, FK_EDB, &err);
				goto done;
			}
			sqlite3_bind_int64(st, 1, case_id);
			sqlite3_bind_text(st, 2, cat ? order_category_name(c) : "", -1,
					  SQLITE_STATIC);
			size_t cap = 0;
			while (sqlite3_step(st) == SQLITE_ROW) {
				if (n == cap) {
					cap = cap ? cap * 2 : 16;
					ids = fk_xrealloc(ids, cap * sizeof(*ids));
				}
				ids[n++] = sqlite3_column_int64(st, 0);
			}
			sqlite3_finalize(st);
		}
	}
	s = confirm_ids(NULL, true, p, ids, n, req->user->scope, req->user->username, req->origin,
			fk_now(), &k, &err);
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}
	strbuf_addf(&out,
		    "{\"activated\":%zu,\"assigned\":%zu,\"queued\":%zu,\"already\":%zu,"
		    "\"refused\":[%s]}",
		    k.activated, k.assigned, k.queued, k.already, k.refused.buf ? k.refused.buf : "");
	http_json(req, 200, out.buf);
done:
	free(ids);
	strbuf_release(&k.refused);
	strbuf_release(&out);
	json_decref(o);
}

/* The timeline of person pid: {"person","orders","cases"}, on db. */
static enum fk_status timeline_json(sqlite3 *db, int64_t pid, bool unmask, bool me,
				    struct strbuf *o, int *norders, struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(db,
					 "SELECT p.name, p.id_number, p.grid_code, coalesce(g.name, '')"
					 " FROM persons p LEFT JOIN regions g ON g.code = p.grid_code"
					 " WHERE p.id = ?",
					 err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, pid);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return rc == SQLITE_DONE ? fk_fail(err, FK_ENOTFOUND, "no person %" PRId64, pid)
					 : db_err(db, err, "reading a person");
	}
	strbuf_addstr(o, "{\"person\":");
	person_member(o, pid, col(st, 0), col(st, 1), col(st, 2), col(st, 3), unmask);
	sqlite3_finalize(st);
	if (!(st = store_prepare(db, ORDER_SELECT "WHERE o.person_id = ? ORDER BY o.start_at, o.id",
				 err)))
		return FK_EDB;
	sqlite3_bind_int64(st, 1, pid);
	strbuf_addstr(o, ",\"orders\":[");
	struct oj_opts op = {.unmask = unmask, .full = true, .events = true, .checks = true, .me = me};
	enum fk_status s = FK_OK;
	int n = 0;
	while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++)
			strbuf_addch(o, ',');
		s = order_json(db, o, st, &op, err);
	}
	sqlite3_finalize(st);
	*norders = n;
	if (s)
		return s;
	if (rc != SQLITE_DONE)
		return db_err(db, err, "reading orders");
	if (!(st = store_prepare(db,
				 "SELECT id, created_at, classification FROM cases WHERE person_id = ?"
				 " ORDER BY id",
				 err)))
		return FK_EDB;
	sqlite3_bind_int64(st, 1, pid);
	strbuf_addstr(o, "],\"cases\":[");
	n = 0;
	char ts[40];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		strbuf_addf(o, "%s{\"id\":%" PRId64 ",\"created_at\":\"%s\",\"classification\":",
			    n++ ? "," : "", (int64_t)sqlite3_column_int64(st, 0),
			    fk_format_time(sqlite3_column_int64(st, 1), ts, sizeof(ts)));
		strbuf_add_json_str(o, col(st, 2));
		strbuf_addch(o, '}');
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_err(db, err, "reading cases");
	strbuf_addstr(o, "]}");
	return FK_OK;
}

/* GET /api/v1/persons/{id}/orders */
static void person_orders(struct http_req *req)
{
	struct fk_err err;
	struct strbuf o = STRBUF_INIT;
	int64_t pid;
	int n = 0;
	char grid[32] = "", obj[40], detail[64];
	sqlite3 *db = http_reader(req);
	bool unmask = wants_unmask(req);
	enum fk_status s;

	if (!db || !path_id(req, "person", &pid))
		return;
	sqlite3_stmt *st = store_prepare(db, "SELECT grid_code FROM persons WHERE id = ?", &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	sqlite3_bind_int64(st, 1, pid);
	if (sqlite3_step(st) == SQLITE_ROW)
		fk_strlcpy(grid, col(st, 0), sizeof(grid));
	sqlite3_finalize(st);
	if (!grid[0] || !access_scope_contains(req->user->scope, grid)) {
		http_error(req, 404, NULL, "no person '%s' in your scope", req->params[0]);
		return;
	}
	if ((s = timeline_json(db, pid, unmask, false, &o, &n, &err))) {
		http_fail(req, s, &err);
		goto done;
	}
	http_json(req, 200, o.buf);
	snprintf(obj, sizeof(obj), "person:%" PRId64, pid);
	snprintf(detail, sizeof(detail), "%d orders, %s", n, unmask ? "unmasked" : "masked");
	http_audit(req, "person.orders", obj, detail);
done:
	strbuf_release(&o);
}

/* GET /api/v1/me/orders */
static void me_orders(struct http_req *req)
{
	struct fk_err err;
	struct strbuf o = STRBUF_INIT;
	int n = 0;
	char obj[40], detail[32];
	sqlite3 *db = http_reader(req);
	enum fk_status s;

	if (!db)
		return;
	if (!req->user->person_id) {
		http_error(req, 404, NULL, "this account speaks for no person");
		return;
	}
	if ((s = timeline_json(db, req->user->person_id, true, true, &o, &n, &err))) {
		http_fail(req, s, &err);
		goto done;
	}
	http_json(req, 200, o.buf);
	snprintf(obj, sizeof(obj), "person:%" PRId64, req->user->person_id);
	snprintf(detail, sizeof(detail), "own, %d orders", n);
	http_audit(req, "me.orders", obj, detail);
done:
	strbuf_release(&o);
}

const struct http_route order_routes[] = {
	{"GET", "/api/v1/orders", orders_list, 0, PERM_READ_CONTROL, 0},
	{"POST", "/api/v1/orders/propose", orders_propose, ROUTE_JSON_BODY, 0, SMALL_BODY},
	{"POST", "/api/v1/orders/confirm", orders_confirm, ROUTE_JSON_BODY, PERM_MANAGE_CONTROL,
	 ORDERS_BODY_MAX},
	{"GET", "/api/v1/orders/{id}", order_get, 0, PERM_READ_CONTROL, 0},
	{"POST", "/api/v1/orders/{id}/cancel", order_cancel, ROUTE_JSON_BODY, PERM_MANAGE_CONTROL,
	 SMALL_BODY},
	{"POST", "/api/v1/orders/{id}/extend", order_extend, ROUTE_JSON_BODY, PERM_MANAGE_CONTROL,
	 SMALL_BODY},
	{"POST", "/api/v1/orders/{id}/release", order_release, ROUTE_JSON_BODY,
	 PERM_MANAGE_CONTROL, SMALL_BODY},
	{"GET", "/api/v1/persons/{id}/orders", person_orders, 0, PERM_READ_CONTROL, 0},
	{"GET", "/api/v1/me/orders", me_orders, 0, 0, 0},
};
const size_t order_routes_len = FK_ARRAY_LEN(order_routes);

/* ------------------------------------------------------------ CLI */

static void usage(FILE *f)
{
	fputs("usage: fangkong orders propose --case ID_NUMBER [--db FILE] [--policy FILE|NAME]\n"
	      "       fangkong orders confirm (--case ID_NUMBER [--category close|secondary] |\n"
	      "                                --all-proposed) [--db FILE] [--policy FILE|NAME]\n"
	      "       fangkong orders list [--status S] [--json] [--db FILE]\n"
	      "\n"
	      "propose: proposes an order per policy for every close and secondary contact\n"
	      "recorded for the case of the person with this ID number (idempotent).\n"
	      "confirm: activates proposed orders (the case's, or all of them): test\n"
	      "schedule, responsible people, a room for central isolation or the queue.\n"
	      "list: orders with status S (proposed, active, completed, cancelled; default\n"
	      "all), full identities.  The policy is the one the database runs under\n"
	      "unless --policy names another.\n",
	      f);
}

static int cli_list(sqlite3 *db, const char *status, bool json)
{
	struct fk_err err;
	struct strbuf o = STRBUF_INIT;
	sqlite3_stmt *st = store_prepare(db, ORDER_SELECT "WHERE (?1 = '' OR o.status = ?1) ORDER BY o.id",
					 &err);
	if (!st) {
		fprintf(stderr, "fangkong orders list: %s\n", err.msg);
		return 1;
	}
	sqlite3_bind_text(st, 1, status ? status : "", -1, SQLITE_STATIC);
	int rc, n = 0;
	struct oj_opts op = {.unmask = true};
	if (json)
		strbuf_addstr(&o, "{\"items\":[");
	else
		printf("id\tid_number\tname\tcategory\tkind\tstatus\tstart_at\tplanned_end\tcase\n");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (json) {
			if (n)
				strbuf_addch(&o, ',');
			order_json(db, &o, st, &op, &err);
		} else {
			char a[40], b[40];
			printf("%" PRId64 "\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%" PRId64 "\n",
			       (int64_t)sqlite3_column_int64(st, OC_ID), col(st, OC_IDN),
			       col(st, OC_NAME), col(st, OC_CAT), col(st, OC_KIND), col(st, OC_STATUS),
			       fk_format_time(sqlite3_column_int64(st, OC_START), a, sizeof(a)),
			       fk_format_time(sqlite3_column_int64(st, OC_PLANNED), b, sizeof(b)),
			       (int64_t)sqlite3_column_int64(st, OC_CASE));
		}
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "fangkong orders list: %s\n", sqlite3_errmsg(db));
		strbuf_release(&o);
		return 1;
	}
	if (json) {
		strbuf_addstr(&o, "]}");
		puts(o.buf);
	}
	strbuf_release(&o);
	return 0;
}

int cmd_orders(int argc, char **argv)
{
	const char *dbflag = NULL, *policy = NULL, *person = NULL, *category = NULL, *status = NULL;
	bool json = false, all = false;
	enum order_category cat = CAT_CLOSE;
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		usage(stdout);
		return 0;
	}
	if (strcmp(sub, "propose") && strcmp(sub, "confirm") && strcmp(sub, "list")) {
		fprintf(stderr, "fangkong orders: unknown subcommand '%s'\n", sub);
		usage(stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		bool has = i + 1 < argc;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (has && !strcmp(a, "--db")) {
			dbflag = argv[++i];
		} else if (has && !strcmp(a, "--policy")) {
			policy = argv[++i];
		} else if (has && !strcmp(a, "--case")) {
			person = argv[++i];
		} else if (has && !strcmp(a, "--category")) {
			category = argv[++i];
		} else if (has && !strcmp(a, "--status")) {
			status = argv[++i];
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--all-proposed")) {
			all = true;
		} else {
			fprintf(stderr, "fangkong orders %s: unknown or incomplete option '%s'\n", sub, a);
			usage(stderr);
			return 2;
		}
	}
	bool list = !strcmp(sub, "list"), propose = !strcmp(sub, "propose");
	if ((list && (person || category || all)) || (propose && (!person || category || all)) ||
	    (!list && !propose && (!person == !all || (category && !person)))) {
		fprintf(stderr, "fangkong orders %s: options do not fit this subcommand\n", sub);
		usage(stderr);
		return 2;
	}
	if (category && (!order_category_parse(category, &cat) ||
			 (cat != CAT_CLOSE && cat != CAT_SECONDARY))) {
		fprintf(stderr, "fangkong orders confirm: --category must be close or secondary\n");
		return 2;
	}
	if (status && strcmp(status, "proposed") && strcmp(status, "active") &&
	    strcmp(status, "completed") && strcmp(status, "cancelled")) {
		fprintf(stderr, "fangkong orders list: --status must be proposed, active, completed"
				" or cancelled\n");
		return 2;
	}
	struct fk_err err = {FK_OK, ""};
	sqlite3 *db = NULL;
	int rc = 1;
	int64_t *ids = NULL;
	size_t n = 0;
	if (store_open(store_default_path(dbflag), 0, &db, &err)) {
		fprintf(stderr, "fangkong orders %s: %s\n", sub, err.msg);
		return 1;
	}
	if (list) {
		rc = cli_list(db, status, json);
		goto out;
	}
	struct policy *pol = NULL;
	if (hc_policy_select(db, policy, &pol, NULL, &err)) {
		fprintf(stderr, "fangkong orders %s: %s\n", sub, err.msg);
		rc = policy ? 2 : 1;
		goto out;
	}
	policy_set_current(pol); /* kept until exit */
	char actor[128];
	fk_cli_actor("cli", actor, sizeof(actor));
	int64_t now = fk_now();
	struct case_rec c;
	memset(&c, 0, sizeof(c));
	if (person) {
		int64_t pid = registry_person_id(db, person);
		if (pid <= 0) {
			fprintf(stderr, "fangkong orders %s: %s '%s'\n", sub,
				pid ? "cannot look up person" : "no person with ID number", person);
			goto out;
		}
		enum fk_status s = case_get_by_person(db, pid, &c, &err);
		if (s) {
			fprintf(stderr, "fangkong orders %s: %s\n", sub,
				s == FK_ENOTFOUND ? "that person is not a case" : err.msg);
			goto out;
		}
	}
	if (propose) {
		struct control_changes ch = {0};
		size_t np = 0, ns = 0;
		enum fk_status s = store_begin(db, &err);
		if (!s) {
			s = control_propose(db, pol, c.id, now, actor, &np, &ns, &ch, &err);
			if (!s) {
				char obj[40], detail[80];
				snprintf(obj, sizeof(obj), "case:%" PRId64, c.id);
				snprintf(detail, sizeof(detail), "%zu proposed, %zu skipped", np, ns);
				s = audit_append(db, actor, "order.propose", obj, detail, "cli", &err);
			}
			if (!s)
				s = store_commit(db, &err);
			if (s)
				store_rollback(db);
		}
		control_changes_release(&ch);
		if (s) {
			fprintf(stderr, "fangkong orders propose: %s\n", err.msg);
			goto out;
		}
		if (json)
			printf("{\"case_id\":%" PRId64 ",\"proposed\":%zu,\"skipped\":%zu}\n", c.id,
			       np, ns);
		else
			printf("case %" PRId64 ": %zu orders proposed, %zu contacts skipped\n", c.id,
			       np, ns);
		rc = 0;
		goto out;
	}
	/* confirm */
	{
		sqlite3_stmt *st = store_prepare(
			db,
			"SELECT id FROM orders WHERE status = 'proposed' AND (?1 = 0 OR case_id = ?1)"
			" AND (?2 = '' OR category = ?2) ORDER BY id",
			&err);
		if (!st) {
			fprintf(stderr, "fangkong orders confirm: %s\n", err.msg);
			goto out;
		}
		sqlite3_bind_int64(st, 1, c.id);
		sqlite3_bind_text(st, 2, category ? order_category_name(cat) : "", -1,
				  SQLITE_STATIC);
		size_t cap = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				ids = fk_xrealloc(ids, cap * sizeof(*ids));
			}
			ids[n++] = sqlite3_column_int64(st, 0);
		}
		sqlite3_finalize(st);
		struct confirm_counts k;
		memset(&k, 0, sizeof(k));
		strbuf_init(&k.refused);
		enum fk_status s =
			confirm_ids(db, false, pol, ids, n, NULL, actor, "cli", now, &k, &err);
		if (s) {
			fprintf(stderr, "fangkong orders confirm: %s\n", err.msg);
		} else {
			if (json)
				printf("{\"activated\":%zu,\"assigned\":%zu,\"queued\":%zu}\n",
				       k.activated, k.assigned, k.queued);
			else
				printf("%zu orders activated: %zu assigned a room, %zu queued\n",
				       k.activated, k.assigned, k.queued);
			rc = 0;
		}
		strbuf_release(&k.refused);
	}
out:
	free(ids);
	store_close(db);
	return rc;
}
