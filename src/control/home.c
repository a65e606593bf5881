/* home.c — the five responsible people of an order ("五包一") and their
 * tasks, and the temperature and symptom checks under an order.
 *
 * Design note.
 * - Responsibles.  For each of the five roles an order takes the
 *   responsible registered at the deepest region above the person's grid
 *   (region codes nest by prefix at their natural lengths 2, 4, 6, 9, 12,
 *   15, so the candidates are the grid's six prefixes: six index probes on
 *   responsibles_region; smallest id on a tie).  A role nobody holds is
 *   recorded with responsible_id NULL ("unassigned").  responsibles_assign
 *   is idempotent: order_responsibles is replaced and tasks are unique by
 *   (kind, ref_id = order id, person) (tasks_once).  Home orders give one
 *   task per role (wubao_<role>), a central order one `transfer` task to
 *   its site's region (the person's grid while it waits for a room), all
 *   due contacts_controlled_hours after activation.
 * - Checks.  A local (+08:00) day has checks_per_day slots; slot number =
 *   local day * cpd + part of the day.  A check is recorded by staff
 *   (PERM_CHECKS, in scope by the person's grid or the site's region) or,
 *   for a home order, by the citizen or a member of their household.  The
 *   order is read, checked and written in one transaction on the writer
 *   with its audit record, so a check never lands on an order that ended
 *   meanwhile.  A temperature at or above the policy's fever threshold
 *   adds a fever alert (the health code's fever rule, as a fever at a scan
 *   does) and a "fever" event on the order; the person's code is refreshed
 *   after the commit.  A late check settles the slot's check_missed task.
 * - checks_tick.  Every ended slot is examined once: the end of the last
 *   slot examined is kept in meta (control.checks_done_until, written in
 *   the tick's transaction) and in memory.  A tick with nothing due (the
 *   current slot's start <= what was done) runs no query at all; after a
 *   tick that wrote, the next one re-reads the meta value once (a rolled
 *   back commit leaves the memory ahead of the database otherwise).  An
 *   ended slot is one INSERT OR IGNORE ... SELECT over the orders active
 *   during the whole slot (the active ones by orders_status, the completed
 *   ones whose planned end is not before the slot by the same index) with
 *   a NOT EXISTS probe on health_checks_order.  A completed order whose
 *   planned end was before the slot began is not asked for checks there.
 *   Catching up after a stop goes back at most CHECKS_CATCHUP slots' days;
 *   a first run (no meta) examines the last day's slots.
 */
#include "control/control_int.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "healthcode/healthcode.h"
#include "http/http.h"
#include "lib/csv.h"
#include "lib/rejects.h"
#include "lib/strbuf.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define LOCAL_OFFSET 28800   /* +08:00 */
#define CHECKS_CATCHUP_DAYS 31
#define CHECKS_META "control.checks_done_until"
#define TEMP_MIN_DC 300      /* 30.0 degC */
#define TEMP_MAX_DC 450      /* 45.0 degC */
#define NAME_MAX_BYTES 64
#define PHONE_MAX 20
#define SYMPTOMS_MAX 160
#define CHECK_BODY_MAX 2048
#define RESP_BODY_MAX 2048
#define REGION_MAX 16

/* ---------------- the five roles ---------------- */

static const struct {
	const char *name, *zh, *duty;
} wubao[] = {
	{"town_cadre", "乡镇干部", "统筹"},
	{"village_cadre", "村(社区)干部", "生活保障"},
	{"police", "民警", "安全管控"},
	{"doctor", "医生", "健康监测"},
	{"grid_worker", "网格员", "上门告知"},
};

static int wubao_index(const char *s)
{
	for (size_t i = 0; s && i < FK_ARRAY_LEN(wubao); i++)
		if (!strcmp(s, wubao[i].name))
			return (int)i;
	return -1;
}

static const char *const symptom_names[] = {
	"fever",   "cough",         "sore_throat", "fatigue",
	"loss_of_smell", "diarrhoea", "shortness_of_breath",
};

static bool symptom_valid(const char *s)
{
	for (size_t i = 0; i < FK_ARRAY_LEN(symptom_names); i++)
		if (!strcmp(s, symptom_names[i]))
			return true;
	return false;
}

static bool is_home_kind(const char *kind)
{
	return !strcmp(kind, "home_isolation") || !strcmp(kind, "home_monitoring");
}

/* ---------------- responsibles_assign ---------------- */

/* Binds the prefixes of grid at the natural code lengths to ?first.. (6
 * parameters; NULL for lengths beyond the code, the grid itself last). */
static void bind_prefixes(sqlite3_stmt *st, int first, const char *grid)
{
	static const int lens[] = {2, 4, 6, 9, 12};
	size_t n = strlen(grid);
	for (size_t i = 0; i < FK_ARRAY_LEN(lens); i++) {
		if ((size_t)lens[i] < n)
			sqlite3_bind_text(st, first + (int)i, grid, lens[i], SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(st, first + (int)i);
	}
	sqlite3_bind_text(st, first + (int)FK_ARRAY_LEN(lens), grid, -1, SQLITE_TRANSIENT);
}

/* Within a batch (control_batch_id) the responsibles found for a grid
 * are kept: nothing in a batch adds or removes responsibles, and a bulk
 * confirmation meets the same grids again and again (30,000 orders, a
 * few thousand grids).  Open addressing on the grid code; the table is
 * emptied when a new batch asks. */
#define RESP_CACHE_MIN 1024
static struct {
	uint64_t batch;
	size_t n, cap; /* cap: a power of two */
	struct resp_entry {
		char grid[REGION_MAX + 8];
		int64_t rid[FK_ARRAY_LEN(wubao)];
		bool used;
	} *v;
} resp_cache;

static uint64_t grid_hash(const char *g)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *g; g++)
		h = (h ^ (unsigned char)*g) * 1099511628211ULL;
	return h;
}

/* The batch's entry for grid (found or to fill: *hit says which); NULL
 * outside a batch. */
static struct resp_entry *resp_cache_slot(uint64_t bid, const char *grid, bool *hit)
{
	*hit = false;
	if (!bid)
		return NULL;
	if (resp_cache.batch != bid || !resp_cache.v) {
		if (!resp_cache.v) {
			resp_cache.cap = RESP_CACHE_MIN;
			resp_cache.v = fk_xcalloc(resp_cache.cap, sizeof(*resp_cache.v));
		} else {
			memset(resp_cache.v, 0, resp_cache.cap * sizeof(*resp_cache.v));
		}
		resp_cache.n = 0;
		resp_cache.batch = bid;
	}
	if (2 * (resp_cache.n + 1) > resp_cache.cap) { /* grow at half full */
		size_t ocap = resp_cache.cap;
		struct resp_entry *old = resp_cache.v;
		resp_cache.cap = ocap * 2;
		resp_cache.v = fk_xcalloc(resp_cache.cap, sizeof(*resp_cache.v));
		for (size_t i = 0; i < ocap; i++) {
			if (!old[i].used)
				continue;
			size_t j = grid_hash(old[i].grid) & (resp_cache.cap - 1);
			while (resp_cache.v[j].used)
				j = (j + 1) & (resp_cache.cap - 1);
			resp_cache.v[j] = old[i];
		}
		free(old);
	}
	size_t j = grid_hash(grid) & (resp_cache.cap - 1);
	while (resp_cache.v[j].used) {
		if (!strcmp(resp_cache.v[j].grid, grid)) {
			*hit = true;
			return &resp_cache.v[j];
		}
		j = (j + 1) & (resp_cache.cap - 1);
	}
	return &resp_cache.v[j];
}

/* Records e for grid (a slot from resp_cache_slot that missed). */
static void resp_cache_put(struct resp_entry *e, const char *grid)
{
	if (!e || !fk_strlcpy(e->grid, grid, sizeof(e->grid)))
		return; /* a grid code too long to key: not kept */
	e->used = true;
	resp_cache.n++;
}

enum fk_status responsibles_assign(sqlite3 *wdb, int64_t order_id, int64_t now,
				   struct fk_err *err)
{
	sqlite3_stmt *ord = NULL, *pick = NULL, *put = NULL, *task = NULL;
	enum fk_status st = FK_OK;
	char grid[REGION_MAX + 8], site[REGION_MAX + 8], kind[24], source[40];
	int64_t person, activated;
	bool arrived;
	const struct policy *p = policy_current();
	if (!p)
		return fk_fail(err, FK_EINVAL, "no policy is in force");

	ord = control_stmt(wdb,
			    "SELECT o.person_id, o.kind, p.grid_code, coalesce(o.activated_at, ?2),"
			    " coalesce((SELECT s.region_code FROM stays y"
			    "  JOIN iso_rooms r ON r.id = y.room_id JOIN iso_sites s ON s.id = r.site_id"
			    "  WHERE y.order_id = o.id ORDER BY y.id DESC LIMIT 1), ''),"
			    " EXISTS(SELECT 1 FROM stays y WHERE y.order_id = o.id"
			    "  AND y.arrived_at IS NOT NULL)"
			    " FROM orders o JOIN persons p ON p.id = o.person_id WHERE o.id = ?1",
			    err);
	if (!ord)
		return FK_EDB;
	sqlite3_bind_int64(ord, 1, order_id);
	sqlite3_bind_int64(ord, 2, now);
	int rc = sqlite3_step(ord);
	if (rc == SQLITE_DONE) {
		st = fk_fail(err, FK_ENOTFOUND, "no order %" PRId64, order_id);
		goto done;
	}
	if (rc != SQLITE_ROW) {
		st = fk_fail(err, FK_EDB, "cannot read order %" PRId64 ": %s", order_id,
			     sqlite3_errmsg(wdb));
		goto done;
	}
	person = sqlite3_column_int64(ord, 0);
	fk_strlcpy(kind, http_col(ord, 1), sizeof(kind));
	fk_strlcpy(grid, http_col(ord, 2), sizeof(grid));
	activated = sqlite3_column_int64(ord, 3);
	fk_strlcpy(site, http_col(ord, 4), sizeof(site));
	arrived = sqlite3_column_int(ord, 5) != 0;
	int64_t due = activated + (int64_t)p->contacts_controlled_hours * 3600;
	snprintf(source, sizeof(source), "order:%" PRId64, order_id);

	if (!(pick = control_stmt(wdb,
				   "SELECT id FROM responsibles WHERE role = ?1"
				   " AND region_code IN (?2, ?3, ?4, ?5, ?6, ?7)"
				   " ORDER BY length(region_code) DESC, id LIMIT 1",
				   err)) ||
	    !(put = control_stmt(wdb,
				  "INSERT OR REPLACE INTO order_responsibles(order_id, role,"
				  " responsible_id) VALUES (?1, ?2, ?3)",
				  err)) ||
	    !(task = control_stmt(wdb,
				   "INSERT OR IGNORE INTO tasks(kind, person_id, region_code, due_at,"
				   " created_at, source, ref_id, assignee_role, responsible_id,"
				   " order_id, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?7, ?10)",
				   err))) {
		st = FK_EDB;
		goto done;
	}
	bool home = is_home_kind(kind), hit;
	struct resp_entry *cached = resp_cache_slot(control_batch_id(wdb), grid, &hit);
	int64_t rids[FK_ARRAY_LEN(wubao)];
	for (size_t i = 0; i < FK_ARRAY_LEN(wubao); i++) {
		if (hit) {
			rids[i] = cached->rid[i];
			continue;
		}
		rids[i] = 0;
		sqlite3_reset(pick);
		sqlite3_bind_text(pick, 1, wubao[i].name, -1, SQLITE_STATIC);
		bind_prefixes(pick, 2, grid);
		rc = sqlite3_step(pick);
		if (rc == SQLITE_ROW)
			rids[i] = sqlite3_column_int64(pick, 0);
		else if (rc != SQLITE_DONE)
			goto db_fail;
	}
	if (cached && !hit) {
		memcpy(cached->rid, rids, sizeof(rids));
		resp_cache_put(cached, grid);
	}
	for (size_t i = 0; i < FK_ARRAY_LEN(wubao); i++) {
		int64_t rid = rids[i];
		sqlite3_reset(put);
		sqlite3_bind_int64(put, 1, order_id);
		sqlite3_bind_text(put, 2, wubao[i].name, -1, SQLITE_STATIC);
		if (rid)
			sqlite3_bind_int64(put, 3, rid);
		else
			sqlite3_bind_null(put, 3);
		if (sqlite3_step(put) != SQLITE_DONE)
			goto db_fail;
		if (!home)
			continue;
		char tkind[40];
		snprintf(tkind, sizeof(tkind), "wubao_%s", wubao[i].name);
		sqlite3_reset(task);
		sqlite3_bind_text(task, 1, tkind, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(task, 2, person);
		sqlite3_bind_text(task, 3, grid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(task, 4, due);
		sqlite3_bind_int64(task, 5, now);
		sqlite3_bind_text(task, 6, source, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(task, 7, order_id);
		sqlite3_bind_text(task, 8, wubao[i].name, -1, SQLITE_STATIC);
		if (rid)
			sqlite3_bind_int64(task, 9, rid);
		else
			sqlite3_bind_null(task, 9);
		sqlite3_bind_text(task, 10, wubao[i].duty, -1, SQLITE_STATIC);
		if (sqlite3_step(task) != SQLITE_DONE)
			goto db_fail;
	}
	if (!strcmp(kind, "central") && !arrived) {
		sqlite3_reset(task);
		sqlite3_clear_bindings(task);
		sqlite3_bind_text(task, 1, "transfer", -1, SQLITE_STATIC);
		sqlite3_bind_int64(task, 2, person);
		sqlite3_bind_text(task, 3, site[0] ? site : grid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(task, 4, due);
		sqlite3_bind_int64(task, 5, now);
		sqlite3_bind_text(task, 6, source, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(task, 7, order_id);
		sqlite3_bind_text(task, 8, "", -1, SQLITE_STATIC);
		sqlite3_bind_null(task, 9);
		sqlite3_bind_text(task, 10, "闭环转运", -1, SQLITE_STATIC);
		if (sqlite3_step(task) != SQLITE_DONE)
			goto db_fail;
	}
	goto done;
db_fail:
	st = fk_fail(err, FK_EDB, "cannot assign the responsibles of order %" PRId64 ": %s",
		     order_id, sqlite3_errmsg(wdb));
done:
	control_stmt_done(ord);
	control_stmt_done(pick);
	control_stmt_done(put);
	control_stmt_done(task);
	return st;
}

/* ---------------- slots ---------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t slot_start(int64_t slot, int cpd)
{
	int64_t d = floor_div(slot, cpd), k = slot - d * cpd;
	return d * CONTROL_DAY - LOCAL_OFFSET + k * CONTROL_DAY / cpd;
}

static int64_t slot_of(int64_t t, int cpd)
{
	int64_t d = floor_div(t + LOCAL_OFFSET, CONTROL_DAY);
	int64_t off = t + LOCAL_OFFSET - d * CONTROL_DAY;
	int64_t k = off * cpd / CONTROL_DAY;
	while (k + 1 < cpd && slot_start(d * cpd + k + 1, cpd) <= t)
		k++;
	while (k > 0 && slot_start(d * cpd + k, cpd) > t)
		k--;
	return d * cpd + k;
}

/* ---------------- checks_tick ---------------- */

static struct {
	int64_t done_until; /* end of the last slot examined */
	bool known;         /* done_until holds a value */
	bool verify;        /* re-read it from meta (the last write may be rolled back) */
} ck;

static const char sql_missed[] =
	"INSERT OR IGNORE INTO tasks(kind, person_id, region_code, due_at, created_at, source,"
	" ref_id, order_id, note)"
	" SELECT 'check_missed', o.person_id,"
	"  CASE WHEN o.kind = 'central' THEN coalesce((SELECT s.region_code FROM stays y"
	"   JOIN iso_rooms r ON r.id = y.room_id JOIN iso_sites s ON s.id = r.site_id"
	"   WHERE y.order_id = o.id ORDER BY y.id DESC LIMIT 1), p.grid_code)"
	"  ELSE p.grid_code END,"
	"  ?2 + 7200, ?4, 'order:' || o.id, ?3, o.id, ?5"
	" FROM orders o JOIN persons p ON p.id = o.person_id"
	" WHERE (o.status = 'active'"
	"   OR (o.status = 'completed' AND o.planned_end >= ?1 AND o.ended_at >= ?2))"
	"  AND o.activated_at <= ?1 AND o.start_at <= ?1"
	"  AND NOT EXISTS (SELECT 1 FROM health_checks h WHERE h.order_id = o.id AND h.slot = ?3)";

enum fk_status checks_tick(sqlite3 *wdb, int64_t now, struct control_changes *ch,
			   struct fk_err *err)
{
	const struct policy *p = policy_current();
	if (!p || p->checks_per_day <= 0)
		return FK_OK;
	int cpd = p->checks_per_day;
	int64_t cur = slot_of(now, cpd), cur_start = slot_start(cur, cpd);
	/* the common case: the slots that ended were examined already */
	if (ck.known && !ck.verify && ck.done_until >= cur_start)
		return FK_OK;
	char buf[32];
	int64_t until;
	if (store_meta_get(wdb, CHECKS_META, buf, sizeof(buf)) &&
	    fk_parse_i64(buf, INT64_MIN / 2, INT64_MAX / 2, &until)) {
		ck.done_until = until;
	} else {
		ck.done_until = cur_start - CONTROL_DAY; /* a first run: the last day */
	}
	ck.known = true;
	ck.verify = false;
	if (ck.done_until >= cur_start)
		return FK_OK; /* done, or the clock went back */
	int64_t from = ck.done_until;
	if (from < cur_start - (int64_t)CHECKS_CATCHUP_DAYS * CONTROL_DAY)
		from = cur_start - (int64_t)CHECKS_CATCHUP_DAYS * CONTROL_DAY;

	enum fk_status st = FK_OK;
	sqlite3_stmt *q = store_prepare(wdb, sql_missed, err);
	if (!q)
		return FK_EDB;
	for (int64_t s = slot_of(from, cpd); s < cur; s++) {
		int64_t s0 = slot_start(s, cpd), s1 = slot_start(s + 1, cpd);
		char note[96], t0[40], t1[40];
		fk_format_time(s0, t0, sizeof(t0));
		fk_format_time(s1, t1, sizeof(t1));
		/* "2022-06-15T08:00:00+08:00" -> note with the local date and hours */
		snprintf(note, sizeof(note), "未报体温和症状 %.10s %.5s-%.5s", t0, t0 + 11, t1 + 11);
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, s0);
		sqlite3_bind_int64(q, 2, s1);
		sqlite3_bind_int64(q, 3, s);
		sqlite3_bind_int64(q, 4, now);
		sqlite3_bind_text(q, 5, note, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(q) != SQLITE_DONE) {
			st = fk_fail(err, FK_EDB, "cannot record missed checks of slot %" PRId64 ": %s",
				     s, sqlite3_errmsg(wdb));
			goto done;
		}
		if (ch)
			ch->done += (unsigned)sqlite3_changes(wdb);
	}
	snprintf(buf, sizeof(buf), "%" PRId64, cur_start);
	if ((st = store_meta_set(wdb, CHECKS_META, buf, err)))
		goto done;
	ck.done_until = cur_start;
	ck.verify = true; /* confirmed by the next tick's read of meta */
done:
	sqlite3_finalize(q);
	if (st)
		ck.known = false;
	return st;
}

/* ---------------- recording a check ---------------- */

struct check_in {
	int64_t order_id;      /* staff: the order; 0 for /me (found here) */
	int64_t person_id;     /* /me: the person checked */
	int64_t self_person;   /* /me: the citizen's own person */
	int64_t at;            /* 0: now */
	int temp_dc;
	char symptoms[SYMPTOMS_MAX];
	const char *by_role;   /* staff: the role's name; /me: filled here */
	const struct user *user;
	const char *origin;
};

struct check_out {
	int64_t id, order_id, person_id, at, slot;
	bool fever;
	const char *by_role;
	int bad_at; /* 1: at in the future, 2: at before the order's start */
};

/* In one transaction on w: finds and checks the order (404 out of scope
 * or none, 409 not active), inserts the check, a fever alert and event,
 * settles the slot's missed-check task, audits.  FK_EINVAL with out->bad_at
 * set for a bad time. */
static enum fk_status check_tx(sqlite3 *w, const struct policy *p, struct check_in *in,
			       int64_t now, struct check_out *out, struct fk_err *err)
{
	sqlite3_stmt *q = NULL;
	char grid[REGION_MAX + 8], site[REGION_MAX + 8], status[16], kind[24], obj[40];
	struct strbuf detail = STRBUF_INIT;
	int64_t start_at;
	enum fk_status st = store_begin(w, err);
	if (st)
		return st;
	if (in->order_id) {
		q = store_prepare(w,
				  "SELECT o.person_id, o.status, o.start_at, o.kind, p.grid_code,"
				  " coalesce((SELECT s.region_code FROM stays y"
				  "  JOIN iso_rooms r ON r.id = y.room_id"
				  "  JOIN iso_sites s ON s.id = r.site_id WHERE y.order_id = o.id"
				  "  AND y.left_at IS NULL ORDER BY y.id DESC LIMIT 1), '')"
				  " FROM orders o JOIN persons p ON p.id = o.person_id WHERE o.id = ?1",
				  err);
		if (!q) {
			st = FK_EDB;
			goto rollback;
		}
		sqlite3_bind_int64(q, 1, in->order_id);
		int rc = sqlite3_step(q);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			st = fk_fail(err, FK_EDB, "cannot read order: %s", sqlite3_errmsg(w));
			goto rollback;
		}
		if (rc == SQLITE_DONE ||
		    (!access_scope_contains(in->user->scope, http_col(q, 4)) &&
		     !(*http_col(q, 5) && access_scope_contains(in->user->scope, http_col(q, 5))))) {
			st = fk_fail(err, FK_ENOTFOUND, "no order %" PRId64 " in your scope",
				     in->order_id);
			goto rollback;
		}
		out->person_id = sqlite3_column_int64(q, 0);
		fk_strlcpy(status, http_col(q, 1), sizeof(status));
		start_at = sqlite3_column_int64(q, 2);
		fk_strlcpy(kind, http_col(q, 3), sizeof(kind));
		fk_strlcpy(grid, http_col(q, 4), sizeof(grid));
		fk_strlcpy(site, http_col(q, 5), sizeof(site));
		out->order_id = in->order_id;
		out->by_role = in->by_role;
		if (strcmp(status, "active")) {
			st = fk_fail(err, FK_ECONFLICT, "order %" PRId64 " is %s, not active",
				     in->order_id, status);
			goto rollback;
		}
	} else {
		/* the citizen, or a member of their household, under a home order */
		q = store_prepare(w,
				  "SELECT o.id, o.start_at, p.grid_code FROM orders o"
				  " JOIN persons p ON p.id = o.person_id"
				  " WHERE o.person_id = ?1 AND o.status = 'active'"
				  " AND o.kind IN ('home_isolation', 'home_monitoring')"
				  " AND (?1 = ?2 OR EXISTS(SELECT 1 FROM persons me"
				  "  WHERE me.id = ?2 AND me.household_id IS NOT NULL"
				  "  AND me.household_id = p.household_id))"
				  " ORDER BY o.planned_end DESC, o.id DESC LIMIT 1",
				  err);
		if (!q) {
			st = FK_EDB;
			goto rollback;
		}
		sqlite3_bind_int64(q, 1, in->person_id);
		sqlite3_bind_int64(q, 2, in->self_person);
		int rc = sqlite3_step(q);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			st = fk_fail(err, FK_EDB, "cannot read orders: %s", sqlite3_errmsg(w));
			goto rollback;
		}
		if (rc == SQLITE_DONE) {
			st = fk_fail(err, FK_ENOTFOUND,
				     "no person %" PRId64 " of your household is under home isolation"
				     " or home health monitoring",
				     in->person_id);
			goto rollback;
		}
		out->order_id = sqlite3_column_int64(q, 0);
		start_at = sqlite3_column_int64(q, 1);
		fk_strlcpy(grid, http_col(q, 2), sizeof(grid));
		out->person_id = in->person_id;
		out->by_role = in->person_id == in->self_person ? "self" : "household";
	}
	sqlite3_finalize(q);
	q = NULL;
	out->at = in->at ? in->at : now;
	if (out->at > now) {
		out->bad_at = 1;
		st = fk_fail(err, FK_EINVAL, "'at' is in the future");
		goto rollback;
	}
	if (out->at < start_at) {
		char t[40];
		out->bad_at = 2;
		st = fk_fail(err, FK_EINVAL, "'at' is before the order's start (%s)",
			     fk_format_time(start_at, t, sizeof(t)));
		goto rollback;
	}
	out->slot = slot_of(out->at, p->checks_per_day > 0 ? p->checks_per_day : 1);
	out->fever = in->temp_dc >= p->fever_dc;
	if (!(q = store_prepare(w,
				"INSERT INTO health_checks(order_id, person_id, at, slot, temp_dc,"
				" symptoms, by_role, by_user, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
				err))) {
		st = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_int64(q, 1, out->order_id);
	sqlite3_bind_int64(q, 2, out->person_id);
	sqlite3_bind_int64(q, 3, out->at);
	sqlite3_bind_int64(q, 4, out->slot);
	sqlite3_bind_int(q, 5, in->temp_dc);
	sqlite3_bind_text(q, 6, in->symptoms, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, out->by_role, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 8, in->user->username, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 9, now);
	if (sqlite3_step(q) != SQLITE_DONE)
		goto db_fail;
	out->id = sqlite3_last_insert_rowid(w);
	sqlite3_finalize(q);
	q = NULL;
	/* a check after its slot ended settles the slot's missed-check task */
	if (!(q = store_prepare(w,
				"UPDATE tasks SET status = 'done', done_at = ?1, done_by = ?2"
				" WHERE kind = 'check_missed' AND ref_id = ?3 AND person_id = ?4"
				" AND order_id = ?5 AND status = 'open'",
				err))) {
		st = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_text(q, 2, in->user->username, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, out->slot);
	sqlite3_bind_int64(q, 4, out->person_id);
	sqlite3_bind_int64(q, 5, out->order_id);
	if (sqlite3_step(q) != SQLITE_DONE)
		goto db_fail;
	sqlite3_finalize(q);
	q = NULL;
	if (out->fever) {
		char text[96];
		snprintf(text, sizeof(text), "%d.%d°C 发热 (隔离观察中)", in->temp_dc / 10,
			 in->temp_dc % 10);
		if (!(q = store_prepare(w,
					"INSERT INTO alerts(kind, person_id, region_code, at, detail)"
					" VALUES ('fever', ?1, ?2, ?3, ?4)",
					err))) {
			st = FK_EDB;
			goto rollback;
		}
		sqlite3_bind_int64(q, 1, out->person_id);
		sqlite3_bind_text(q, 2, grid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, out->at);
		sqlite3_bind_text(q, 4, text, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(q) != SQLITE_DONE)
			goto db_fail;
		sqlite3_finalize(q);
		q = NULL;
		if ((st = order_event(w, out->order_id, out->at, "fever", in->user->username, text,
				      err)))
			goto rollback;
	}
	strbuf_addf(&detail, "person=%" PRId64 " temp=%d.%d symptoms=%s by=%s%s", out->person_id,
		    in->temp_dc / 10, in->temp_dc % 10, in->symptoms[0] ? in->symptoms : "-",
		    out->by_role, out->fever ? " fever" : "");
	snprintf(obj, sizeof(obj), "order:%" PRId64, out->order_id);
	if ((st = audit_append(w, in->user->username, "order.check", obj, detail.buf, in->origin,
			       err)))
		goto rollback;
	if ((st = store_commit(w, err)))
		goto rollback;
	strbuf_release(&detail);
	return FK_OK;
db_fail:
	st = fk_fail(err, FK_EDB, "cannot record the check: %s", sqlite3_errmsg(w));
rollback:
	sqlite3_finalize(q);
	store_rollback(w);
	strbuf_release(&detail);
	return st;
}

static void symptoms_json(struct strbuf *o, const char *csv)
{
	strbuf_addch(o, '[');
	const char *s = csv;
	bool first = true;
	while (*s) {
		const char *e = strchr(s, ',');
		size_t n = e ? (size_t)(e - s) : strlen(s);
		char one[40];
		if (n && n < sizeof(one)) {
			memcpy(one, s, n);
			one[n] = '\0';
			if (!first)
				strbuf_addch(o, ',');
			strbuf_add_json_str(o, one);
			first = false;
		}
		if (!e)
			break;
		s = e + 1;
	}
	strbuf_addch(o, ']');
}

static void temp_json(struct strbuf *o, int dc)
{
	strbuf_addf(o, "%d.%d", dc / 10, dc % 10);
}

/* Parses the members every check has: temp_c (required), symptoms, and,
 * when allowed, at; refuses any other member except extra (may be NULL).
 * false after answering 400. */
static bool check_body(struct http_req *req, json_t *o, bool allow_at, const char *extra,
		       struct check_in *in)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		if (strcmp(k, "temp_c") && strcmp(k, "symptoms") && !(allow_at && !strcmp(k, "at")) &&
		    !(extra && !strcmp(k, extra))) {
			http_error(req, 400, NULL, "unknown member '%s'", k);
			return false;
		}
	}
	v = json_object_get(o, "temp_c");
	if (!v || json_is_null(v)) {
		http_error(req, 400, NULL, "'temp_c' is required (degrees Celsius, e.g. 36.6)");
		return false;
	}
	if (!json_is_number(v)) {
		http_error(req, 400, NULL, "'temp_c' must be a number (degrees Celsius)");
		return false;
	}
	double t = json_number_value(v);
	if (!(t >= TEMP_MIN_DC / 10.0 && t <= TEMP_MAX_DC / 10.0)) {
		http_error(req, 400, NULL, "'temp_c' must be between %d.0 and %d.0", TEMP_MIN_DC / 10,
			   TEMP_MAX_DC / 10);
		return false;
	}
	in->temp_dc = (int)lround(t * 10.0);
	in->symptoms[0] = '\0';
	v = json_object_get(o, "symptoms");
	if (v && !json_is_null(v)) {
		size_t i;
		json_t *x;
		struct strbuf sb = STRBUF_INIT;
		if (!json_is_array(v)) {
			http_error(req, 400, NULL, "'symptoms' must be an array of symptom names");
			return false;
		}
		json_array_foreach(v, i, x) {
			const char *s = json_is_string(x) ? json_string_value(x) : NULL;
			if (!s || !symptom_valid(s)) {
				http_error(req, 400, NULL,
					   "'symptoms' [%zu] is not a symptom (fever, cough, sore_throat,"
					   " fatigue, loss_of_smell, diarrhoea, shortness_of_breath)",
					   i);
				strbuf_release(&sb);
				return false;
			}
			for (size_t j = 0; j < i; j++)
				if (!strcmp(json_string_value(json_array_get(v, j)), s)) {
					http_error(req, 400, NULL, "'symptoms' names '%s' twice", s);
					strbuf_release(&sb);
					return false;
				}
			if (sb.len)
				strbuf_addch(&sb, ',');
			strbuf_addstr(&sb, s);
		}
		fk_strlcpy(in->symptoms, sb.len ? sb.buf : "", sizeof(in->symptoms));
		strbuf_release(&sb);
	}
	in->at = 0;
	if (allow_at) {
		const char *at;
		if (!http_member_str(req, o, "at", &at))
			return false;
		if (at && !fk_parse_time(at, &in->at)) {
			http_error(req, 400, NULL,
				   "'at' must be an ISO 8601 time with offset, e.g. "
				   "2022-06-15T08:30:00+08:00");
			return false;
		}
	}
	return true;
}

static void check_answer(struct http_req *req, const struct check_in *in,
			 const struct check_out *out)
{
	char at[40];
	strbuf_reset(&req->out);
	strbuf_addf(&req->out,
		    "{\"id\":%" PRId64 ",\"order_id\":%" PRId64 ",\"person_id\":%" PRId64
		    ",\"at\":",
		    out->id, out->order_id, out->person_id);
	strbuf_add_json_str(&req->out, fk_format_time(out->at, at, sizeof(at)));
	strbuf_addf(&req->out, ",\"slot\":%" PRId64 ",\"temp_c\":", out->slot);
	temp_json(&req->out, in->temp_dc);
	strbuf_addstr(&req->out, ",\"symptoms\":");
	symptoms_json(&req->out, in->symptoms);
	strbuf_addf(&req->out, ",\"fever\":%s,\"by_role\":", out->fever ? "true" : "false");
	strbuf_add_json_str(&req->out, out->by_role);
	strbuf_addch(&req->out, '}');
	req->status = 201;
	req->content_type = "application/json; charset=utf-8";
}

static void check_run(struct http_req *req, struct check_in *in)
{
	struct check_out out;
	struct fk_err err = {FK_OK, ""};
	const struct policy *p = policy_current();
	memset(&out, 0, sizeof(out));
	if (!p) {
		http_error(req, 503, NULL, "no policy is in force yet");
		return;
	}
	sqlite3 *w = store_writer_lock();
	enum fk_status st = w ? check_tx(w, p, in, fk_now(), &out, &err)
			      : fk_fail(&err, FK_EDB, "database unavailable");
	store_writer_unlock();
	if (st == FK_EINVAL) {
		http_error(req, 400, NULL, "%s", err.msg);
		return;
	}
	if (st == FK_ECONFLICT) {
		http_error(req, 409, "not_active", "%s", err.msg);
		return;
	}
	if (st) {
		http_fail(req, st, &err);
		return;
	}
	if (out.fever)
		healthcode_person_changed(out.person_id);
	check_answer(req, in, &out);
}

/* POST /api/v1/orders/{id}/checks */
static void order_check_post(struct http_req *req)
{
	struct check_in in;
	json_t *o = NULL;
	memset(&in, 0, sizeof(in));
	if (!fk_parse_i64(req->params[0], 1, INT64_MAX, &in.order_id)) {
		http_error(req, 404, NULL, "no order '%s' in your scope", req->params[0]);
		return;
	}
	if (!(o = http_body_object(req)) || !check_body(req, o, true, NULL, &in))
		goto done;
	in.user = req->user;
	in.origin = req->origin;
	in.by_role = role_name(req->user->role);
	check_run(req, &in);
done:
	json_decref(o);
}

/* POST /api/v1/me/checks */
static void me_check_post(struct http_req *req)
{
	struct check_in in;
	json_t *o = NULL;
	memset(&in, 0, sizeof(in));
	if (req->user->role != ROLE_CITIZEN || !req->user->person_id) {
		http_error(req, 403, NULL, "only a citizen account bound to a person reports its own checks");
		return;
	}
	if (!(o = http_body_object(req)) || !check_body(req, o, false, "person_id", &in))
		goto done;
	in.self_person = in.person_id = req->user->person_id;
	json_t *v = json_object_get(o, "person_id");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 1) {
			http_error(req, 400, NULL, "'person_id' must be a person's id (a positive integer)");
			goto done;
		}
		in.person_id = (int64_t)json_integer_value(v);
	}
	in.user = req->user;
	in.origin = req->origin;
	check_run(req, &in);
done:
	json_decref(o);
}

/* GET /api/v1/orders/{id}/checks */
static void order_checks_get(struct http_req *req)
{
	struct fk_err err;
	struct strbuf o = STRBUF_INIT, ids = STRBUF_INIT;
	char after[64], last[64] = "", at[40];
	int limit, n = 0, rc;
	int64_t order_id, a_at = INT64_MIN, a_id = 0;
	sqlite3_stmt *st = NULL;
	const struct policy *p = policy_current();

	if (!fk_parse_i64(req->params[0], 1, INT64_MAX, &order_id)) {
		http_error(req, 404, NULL, "no order '%s' in your scope", req->params[0]);
		return;
	}
	if (!http_reader(req) || !http_page_params(req, &limit, after, sizeof(after)))
		return;
	if (limit > 500)
		limit = 500;
	if (after[0]) {
		char *colon = strchr(after, ':');
		if (!colon || (*colon = '\0', !fk_parse_i64(after, INT64_MIN, INT64_MAX, &a_at)) ||
		    !fk_parse_i64(colon + 1, 0, INT64_MAX, &a_id)) {
			http_error(req, 400, NULL, "cursor is not valid");
			return;
		}
	}
	st = store_reader_stmt("SELECT p.grid_code, coalesce((SELECT s.region_code FROM stays y"
			       "  JOIN iso_rooms r ON r.id = y.room_id"
			       "  JOIN iso_sites s ON s.id = r.site_id WHERE y.order_id = o.id"
			       "  ORDER BY y.id DESC LIMIT 1), '')"
			       " FROM orders o JOIN persons p ON p.id = o.person_id WHERE o.id = ?1",
			       &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	sqlite3_bind_int64(st, 1, order_id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW || (!access_scope_contains(req->user->scope, http_col(st, 0)) &&
				 !(*http_col(st, 1) &&
				   access_scope_contains(req->user->scope, http_col(st, 1))))) {
		store_stmt_done(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			fk_fail(&err, FK_EDB, "cannot read order: %s", sqlite3_errmsg(store_reader()));
			http_fail(req, FK_EDB, &err);
		} else {
			http_error(req, 404, NULL, "no order %" PRId64 " in your scope", order_id);
		}
		return;
	}
	store_stmt_done(st);
	st = store_reader_stmt("SELECT id, at, slot, temp_dc, symptoms, by_role, by_user"
			       " FROM health_checks WHERE order_id = ?1"
			       " AND (at > ?2 OR (at = ?2 AND id > ?3)) ORDER BY at, id LIMIT ?4",
			       &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	sqlite3_bind_int64(st, 1, order_id);
	sqlite3_bind_int64(st, 2, a_at);
	sqlite3_bind_int64(st, 3, a_id);
	sqlite3_bind_int(st, 4, limit + 1);
	strbuf_addstr(&o, "{\"items\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit)
			break;
		int64_t id = sqlite3_column_int64(st, 0), t = sqlite3_column_int64(st, 1);
		bool has_temp = sqlite3_column_type(st, 3) != SQLITE_NULL;
		int dc = sqlite3_column_int(st, 3);
		if (n++)
			strbuf_addch(&o, ',');
		strbuf_addf(&o, "{\"id\":%" PRId64 ",\"at\":", id);
		strbuf_add_json_str(&o, fk_format_time(t, at, sizeof(at)));
		strbuf_addf(&o, ",\"slot\":%" PRId64 ",\"temp_c\":", (int64_t)sqlite3_column_int64(st, 2));
		if (has_temp)
			temp_json(&o, dc);
		else
			strbuf_addstr(&o, "null");
		strbuf_addstr(&o, ",\"symptoms\":");
		symptoms_json(&o, http_col(st, 4));
		strbuf_addf(&o, ",\"fever\":%s,\"by_role\":",
			    has_temp && p && dc >= p->fever_dc ? "true" : "false");
		strbuf_add_json_str(&o, http_col(st, 5));
		strbuf_addstr(&o, ",\"by_user\":");
		strbuf_add_json_str(&o, http_col(st, 6));
		strbuf_addch(&o, '}');
		strbuf_addf(&ids, "%s%" PRId64, ids.len ? "," : "", id);
		snprintf(last, sizeof(last), "%" PRId64 ":%" PRId64, t, id);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		fk_fail(&err, FK_EDB, "cannot list checks: %s", sqlite3_errmsg(store_reader()));
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	http_page_finish(req, &o, rc == SQLITE_ROW, last, "order.checks", "checks", n, ids.buf);
done:
	store_stmt_done(st);
	strbuf_release(&o);
	strbuf_release(&ids);
}

/* ---------------- responsibles ---------------- */

struct resp_in {
	const char *region, *role, *name, *phone, *username;
};

static bool text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n < 1 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static bool phone_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 3 || n > PHONE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-'))
			return false;
	return true;
}

/* Checks in (FK_EINVAL naming the field) and inserts the responsible with
 * its audit record inside the caller's transaction on w.  scope: the
 * region must lie in it.  FK_ECONFLICT when the same name already holds
 * the role in the region. */
static enum fk_status responsible_insert(sqlite3 *w, const struct resp_in *in, const char *scope,
					 const char *actor, const char *origin, int64_t *id,
					 struct fk_err *err)
{
	sqlite3_stmt *q = NULL;
	enum fk_status st = FK_OK;
	char obj[40];
	struct strbuf detail = STRBUF_INIT;
	if (!in->region || !*in->region)
		return fk_fail(err, FK_EINVAL, "'region' is required (a region code)");
	if (strlen(in->region) > REGION_MAX || !fk_all_digits(in->region, strlen(in->region)) ||
	    !access_scope_contains(scope, in->region))
		return fk_fail(err, FK_EINVAL, "'region' '%s' is not a region in your scope",
			       in->region);
	if (!(q = store_prepare(w, "SELECT 1 FROM regions WHERE code = ?1", err)))
		return FK_EDB;
	sqlite3_bind_text(q, 1, in->region, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	q = NULL;
	if (rc != SQLITE_ROW)
		return fk_fail(err, FK_EINVAL, "'region' '%s' is not a region in your scope",
			       in->region);
	if (!in->role || wubao_index(in->role) < 0)
		return fk_fail(err, FK_EINVAL,
			       "'role' must be town_cadre, village_cadre, police, doctor or "
			       "grid_worker");
	if (!in->name || !text_ok(in->name, NAME_MAX_BYTES))
		return fk_fail(err, FK_EINVAL, "'name' is required (1 to %d bytes of text)",
			       NAME_MAX_BYTES);
	if (in->phone && *in->phone && !phone_ok(in->phone))
		return fk_fail(err, FK_EINVAL, "'phone' must be 3 to %d digits ('+' and '-' allowed)",
			       PHONE_MAX);
	if (in->username) {
		if (!text_ok(in->username, USERNAME_MAX))
			return fk_fail(err, FK_EINVAL, "'username' is not a user");
		if (!(q = store_prepare(w, "SELECT 1 FROM users WHERE username = ?1", err)))
			return FK_EDB;
		sqlite3_bind_text(q, 1, in->username, -1, SQLITE_STATIC);
		rc = sqlite3_step(q);
		sqlite3_finalize(q);
		q = NULL;
		if (rc != SQLITE_ROW)
			return fk_fail(err, FK_EINVAL, "'username' '%s' is not a user", in->username);
	}
	if (!(q = store_prepare(w,
				"INSERT INTO responsibles(region_code, role, name, phone, username)"
				" VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
				err)))
		return FK_EDB;
	sqlite3_bind_text(q, 1, in->region, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, in->role, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, in->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, in->phone ? in->phone : "", -1, SQLITE_STATIC);
	if (in->username)
		sqlite3_bind_text(q, 5, in->username, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 5);
	if (sqlite3_step(q) != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot add the responsible: %s", sqlite3_errmsg(w));
		goto done;
	}
	if (sqlite3_changes(w) != 1) {
		st = fk_fail(err, FK_ECONFLICT, "'%s' is already %s of region %s", in->name,
			     in->role, in->region);
		goto done;
	}
	*id = sqlite3_last_insert_rowid(w);
	strbuf_addf(&detail, "region=%s role=%s", in->region, in->role);
	snprintf(obj, sizeof(obj), "responsible:%" PRId64, *id);
	st = audit_append(w, actor, "responsible.add", obj, detail.buf, origin, err);
done:
	sqlite3_finalize(q);
	strbuf_release(&detail);
	return st;
}

#define RESP_SELECT                                                                             \
	"SELECT x.id, x.region_code, coalesce(g.name, ''), x.role, x.name, x.phone, x.username"  \
	" FROM responsibles x LEFT JOIN regions g ON g.code = x.region_code "

static void responsible_json(struct strbuf *o, sqlite3_stmt *st, bool reveal)
{
	char ph[48];
	int r = wubao_index(http_col(st, 3));
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"region\":{\"code\":", (int64_t)sqlite3_column_int64(st, 0));
	strbuf_add_json_str(o, http_col(st, 1));
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, http_col(st, 2));
	strbuf_addstr(o, "},\"role\":");
	strbuf_add_json_str(o, http_col(st, 3));
	strbuf_addstr(o, ",\"role_zh\":");
	strbuf_add_json_str(o, r >= 0 ? wubao[r].zh : "");
	strbuf_addstr(o, ",\"duty\":");
	strbuf_add_json_str(o, r >= 0 ? wubao[r].duty : "");
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, http_col(st, 4));
	strbuf_addstr(o, ",\"phone\":");
	if (reveal)
		strbuf_add_json_str(o, http_col(st, 5));
	else {
		mask_phone(http_col(st, 5), ph, sizeof(ph));
		strbuf_add_json_str(o, ph);
	}
	strbuf_addstr(o, ",\"username\":");
	if (sqlite3_column_type(st, 6) == SQLITE_NULL)
		strbuf_addstr(o, "null");
	else
		strbuf_add_json_str(o, http_col(st, 6));
	strbuf_addch(o, '}');
}

/* POST /api/v1/responsibles */
static void responsible_post(struct http_req *req)
{
	struct resp_in in;
	struct fk_err err = {FK_OK, ""};
	json_t *o = NULL;
	int64_t id = 0;
	const char *k;
	json_t *v;
	memset(&in, 0, sizeof(in));
	if (!(o = http_body_object(req)))
		return;
	json_object_foreach(o, k, v) {
		if (strcmp(k, "region") && strcmp(k, "role") && strcmp(k, "name") &&
		    strcmp(k, "phone") && strcmp(k, "username")) {
			http_error(req, 400, NULL, "unknown member '%s'", k);
			goto done;
		}
	}
	if (!http_member_str(req, o, "region", &in.region) ||
	    !http_member_str(req, o, "role", &in.role) ||
	    !http_member_str(req, o, "name", &in.name) ||
	    !http_member_str(req, o, "phone", &in.phone) ||
	    !http_member_str(req, o, "username", &in.username))
		goto done;
	sqlite3 *w = store_writer_lock();
	enum fk_status st = w ? store_begin(w, &err) : fk_fail(&err, FK_EDB, "database unavailable");
	if (!st)
		st = responsible_insert(w, &in, req->user->scope, req->user->username, req->origin,
					&id, &err);
	if (!st)
		st = store_commit(w, &err);
	if (st && w)
		store_rollback(w);
	store_writer_unlock();
	if (st == FK_EINVAL) {
		http_error(req, 400, NULL, "%s", err.msg);
		goto done;
	}
	if (st == FK_ECONFLICT) {
		http_error(req, 409, "duplicate", "%s", err.msg);
		goto done;
	}
	if (st) {
		http_fail(req, st, &err);
		goto done;
	}
	sqlite3_stmt *q = store_reader_stmt(RESP_SELECT "WHERE x.id = ?1", &err);
	if (!q) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	sqlite3_bind_int64(q, 1, id);
	if (sqlite3_step(q) != SQLITE_ROW) {
		store_stmt_done(q);
		fk_fail(&err, FK_EDB, "cannot read responsible %" PRId64, id);
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	strbuf_reset(&req->out);
	responsible_json(&req->out, q, false);
	store_stmt_done(q);
	req->status = 201;
	req->content_type = "application/json; charset=utf-8";
done:
	json_decref(o);
}

/* GET /api/v1/responsibles?region=&role=&unmask=1 */
static void responsibles_get(struct http_req *req)
{
	struct fk_err err;
	struct strbuf o = STRBUF_INIT, ids = STRBUF_INIT;
	char after[32], lo[REGION_MAX + 2], hi[REGION_MAX + 4], last[32] = "";
	int limit, n = 0, rc;
	int64_t after_id = 0;
	const char *region = http_query(req, "region"), *role = http_query(req, "role");
	const char *unmask = http_query(req, "unmask");
	bool reveal = unmask && !strcmp(unmask, "1");

	if (unmask && strcmp(unmask, "1") && strcmp(unmask, "0")) {
		http_error(req, 400, NULL, "'unmask' must be 1 or 0");
		return;
	}
	if (reveal && !(role_perms(req->user->role) & PERM_UNMASK)) {
		http_error(req, 403, NULL, "your role may not see phone numbers unmasked");
		return;
	}
	if (role && wubao_index(role) < 0) {
		http_error(req, 400, NULL,
			   "'role' must be town_cadre, village_cadre, police, doctor or grid_worker");
		return;
	}
	if (region && (!*region || strlen(region) > REGION_MAX ||
		       !fk_all_digits(region, strlen(region)))) {
		http_error(req, 400, NULL, "'region' must be a region code");
		return;
	}
	if (region && !access_scope_contains(req->user->scope, region)) {
		http_error(req, 404, NULL, "no region '%s' in your scope", region);
		return;
	}
	if (!http_reader(req) || !http_page_params(req, &limit, after, sizeof(after)))
		return;
	if (limit > 500)
		limit = 500;
	if (after[0] && !fk_parse_i64(after, 0, INT64_MAX, &after_id)) {
		http_error(req, 400, NULL, "cursor is not valid");
		return;
	}
	fk_strlcpy(lo, region ? region : req->user->scope, sizeof(lo));
	access_scope_upper(lo, hi, sizeof(hi));
	sqlite3_stmt *st = store_reader_stmt(RESP_SELECT
					     "WHERE x.region_code >= ?1 AND x.region_code < ?2"
					     " AND (?3 IS NULL OR x.role = ?3) AND x.id > ?4"
					     " ORDER BY x.id LIMIT ?5",
					     &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
	if (role)
		sqlite3_bind_text(st, 3, role, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int64(st, 4, after_id);
	sqlite3_bind_int(st, 5, limit + 1);
	strbuf_addstr(&o, "{\"items\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit)
			break;
		if (n++)
			strbuf_addch(&o, ',');
		responsible_json(&o, st, reveal);
		strbuf_addf(&ids, "%s%" PRId64, ids.len ? "," : "", (int64_t)sqlite3_column_int64(st, 0));
		snprintf(last, sizeof(last), "%" PRId64, (int64_t)sqlite3_column_int64(st, 0));
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		fk_fail(&err, FK_EDB, "cannot list responsibles: %s",
			sqlite3_errmsg(store_reader()));
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	http_page_finish(req, &o, rc == SQLITE_ROW, last,
			 reveal ? "responsible.reveal" : "responsible.list", "responsibles", n,
			 ids.buf);
done:
	store_stmt_done(st);
	strbuf_release(&o);
	strbuf_release(&ids);
}

const struct http_route home_routes[] = {
	{"POST", "/api/v1/responsibles", responsible_post, ROUTE_JSON_BODY, PERM_MANAGE_CONTROL,
	 RESP_BODY_MAX},
	{"GET", "/api/v1/responsibles", responsibles_get, 0, PERM_READ_CONTROL, 0},
	{"POST", "/api/v1/orders/{id}/checks", order_check_post, ROUTE_JSON_BODY, PERM_CHECKS,
	 CHECK_BODY_MAX},
	{"GET", "/api/v1/orders/{id}/checks", order_checks_get, 0, PERM_READ_CONTROL, 0},
	{"POST", "/api/v1/me/checks", me_check_post, ROUTE_JSON_BODY, 0, CHECK_BODY_MAX},
};
const size_t home_routes_len = FK_ARRAY_LEN(home_routes);

/* ---------------- fangkong responsible ---------------- */

static void usage(FILE *f)
{
	fputs("usage: fangkong responsible add --region CODE --role ROLE --name NAME\n"
	      "                              [--phone P] [--username U] [--db FILE]\n"
	      "       fangkong responsible list [--region CODE] [--json] [--db FILE]\n"
	      "       fangkong responsible import FILE.csv [--db FILE]\n"
	      "\n"
	      "The five responsible people of a region (五包一).  ROLE: town_cadre (乡镇干部,\n"
	      "统筹), village_cadre (村(社区)干部, 生活保障), police (民警, 安全管控), doctor\n"
	      "(医生, 健康监测), grid_worker (网格员, 上门告知).  An order takes, for each\n"
	      "role, the one registered at the deepest region above the person's grid.\n"
	      "import reads a CSV with the header region_code,role,name,phone; rejected\n"
	      "rows go to FILE.csv.rejects.csv (exit 3).  Importing the same file again\n"
	      "adds nothing.\n",
	      f);
}

static int resp_list(sqlite3 *db, const char *region, bool json)
{
	char hi[REGION_MAX + 4];
	struct fk_err err;
	const char *lo = region ? region : "";
	access_scope_upper(lo, hi, sizeof(hi));
	sqlite3_stmt *st = store_prepare(db,
					 RESP_SELECT "WHERE x.region_code >= ?1 AND x.region_code < ?2"
						     " ORDER BY x.region_code, x.role, x.id",
					 &err);
	if (!st) {
		fprintf(stderr, "fangkong responsible list: %s\n", err.msg);
		return 1;
	}
	sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
	struct strbuf o = STRBUF_INIT;
	int n = 0, rc;
	if (json)
		strbuf_addch(&o, '[');
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (json) {
			if (n)
				strbuf_addch(&o, ',');
			responsible_json(&o, st, false);
		} else {
			char ph[48];
			mask_phone(http_col(st, 5), ph, sizeof(ph));
			strbuf_addf(&o, "%" PRId64 "\t%s\t%s\t%s\t%s\t%s\n", (int64_t)sqlite3_column_int64(st, 0),
				    http_col(st, 1), http_col(st, 2), http_col(st, 3), http_col(st, 4),
				    ph);
		}
		n++;
	}
	if (json)
		strbuf_addstr(&o, "]\n");
	int ret = 0;
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "fangkong responsible list: %s\n", sqlite3_errmsg(db));
		ret = 1;
	} else {
		fputs(o.buf ? o.buf : "", stdout);
	}
	sqlite3_finalize(st);
	strbuf_release(&o);
	return ret;
}

static int resp_add(sqlite3 *db, const struct resp_in *in)
{
	struct fk_err err = {FK_OK, ""};
	char actor[128];
	int64_t id = 0;
	fk_cli_actor("cli", actor, sizeof(actor));
	enum fk_status st = store_begin(db, &err);
	if (!st)
		st = responsible_insert(db, in, "", actor, "cli", &id, &err);
	if (!st)
		st = store_commit(db, &err);
	if (st) {
		store_rollback(db);
		fprintf(stderr, "fangkong responsible add: %s\n", err.msg);
		return st == FK_EINVAL || st == FK_ECONFLICT ? 2 : 1;
	}
	printf("responsible %" PRId64 ": %s %s of %s\n", id, in->name, in->role, in->region);
	return 0;
}

static int resp_import(sqlite3 *db, const char *path)
{
	struct fk_err err = {FK_OK, ""};
	char actor[128], rpath[4096];
	FILE *f = NULL, *rej = NULL;
	char *data = NULL;
	struct csv_reader *r = NULL;
	struct strbuf scratch = STRBUF_INIT;
	long added = 0, same = 0, rejected = 0;
	int ret = 1;
	size_t len = 0;
	bool began = false;

	fk_cli_actor("cli", actor, sizeof(actor));
	if ((size_t)snprintf(rpath, sizeof(rpath), "%s.rejects.csv", path) >= sizeof(rpath)) {
		fprintf(stderr, "fangkong responsible import: path too long\n");
		return 2;
	}
	if (!(f = fopen(path, "rb"))) {
		fprintf(stderr, "fangkong responsible import: cannot open '%s': %s\n", path,
			strerror(errno));
		return 1;
	}
	struct stat sb;
	if (fstat(fileno(f), &sb) || sb.st_size > 64L * 1024 * 1024) {
		fprintf(stderr, "fangkong responsible import: '%s' is not a file under 64 MiB\n",
			path);
		goto done;
	}
	data = fk_xmalloc((size_t)sb.st_size + 1);
	len = fread(data, 1, (size_t)sb.st_size, f);
	data[len] = '\0';
	size_t skip = len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3) ? 3 : 0; /* BOM */
	r = csv_reader_new(data + skip, len - skip, NULL);
	if (unlink(rpath) && errno != ENOENT) {
		fprintf(stderr, "fangkong responsible import: cannot remove stale '%s'\n", rpath);
		goto done;
	}
	struct csv_row row;
	enum csv_result cr = csv_next(r, &row, &err);
	if (cr != CSV_ROW || row.nfields != 4 || strcmp(row.fields[0], "region_code") ||
	    strcmp(row.fields[1], "role") || strcmp(row.fields[2], "name") ||
	    strcmp(row.fields[3], "phone")) {
		fprintf(stderr, "fangkong responsible import: '%s' must begin with the header "
				"region_code,role,name,phone\n",
			path);
		ret = 2;
		goto done;
	}
	if (store_begin(db, &err)) {
		fprintf(stderr, "fangkong responsible import: %s\n", err.msg);
		goto done;
	}
	began = true;
	while ((cr = csv_next(r, &row, &err)) != CSV_EOF) {
		const char *field = "", *reason = NULL;
		char why[FK_ERR_MAX];
		if (cr == CSV_ERROR) {
			rejects_csv_reason(err.msg, why, sizeof(why));
			reason = why;
		} else if (row.nfields != 4) {
			reason = "expected 4 fields: region_code,role,name,phone";
		} else {
			struct resp_in in = {row.fields[0], row.fields[1], row.fields[2],
					     row.fields[3], NULL};
			int64_t id;
			enum fk_status st = responsible_insert(db, &in, "", actor, "cli", &id, &err);
			if (st == FK_ECONFLICT) {
				same++;
				continue;
			}
			if (st == FK_EINVAL) {
				/* the message begins with the field's name in quotes */
				static const char *const names[] = {"region", "role", "name", "phone"};
				static const char *const cols[] = {"region_code", "role", "name",
								   "phone"};
				for (size_t i = 0; i < 4; i++)
					if (!strncmp(err.msg + 1, names[i], strlen(names[i])) &&
					    err.msg[1 + strlen(names[i])] == '\'')
						field = cols[i];
				fk_strlcpy(why, err.msg, sizeof(why));
				reason = why;
			} else if (st) {
				fprintf(stderr, "fangkong responsible import: %s\n", err.msg);
				goto done;
			} else {
				added++;
				continue;
			}
		}
		rejected++;
		if (rejects_write(&rej, rpath, TEXT_UTF8, &scratch, row.line, field, reason,
				  row.raw, row.raw_len, &err)) {
			fprintf(stderr, "fangkong responsible import: %s\n", err.msg);
			goto done;
		}
	}
	if (store_commit(db, &err)) {
		fprintf(stderr, "fangkong responsible import: %s\n", err.msg);
		goto done;
	}
	began = false;
	printf("responsibles: %ld added, %ld already there, %ld rejected%s%s\n", added, same,
	       rejected, rejected ? " -> " : "", rejected ? rpath : "");
	ret = rejected ? 3 : 0;
done:
	if (began)
		store_rollback(db);
	if (rej)
		fclose(rej);
	csv_reader_free(r);
	free(data);
	if (f)
		fclose(f);
	strbuf_release(&scratch);
	return ret;
}

int cmd_responsible(int argc, char **argv)
{
	const char *dbflag = NULL, *region = NULL, *file = NULL;
	struct resp_in in;
	bool json = false;
	memset(&in, 0, sizeof(in));
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		usage(stdout);
		return 0;
	}
	if (strcmp(sub, "add") && strcmp(sub, "list") && strcmp(sub, "import")) {
		fprintf(stderr, "fangkong responsible: unknown subcommand '%s'\n", sub);
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
		} else if (has && !strcmp(a, "--region")) {
			region = in.region = argv[++i];
		} else if (has && !strcmp(a, "--role") && !strcmp(sub, "add")) {
			in.role = argv[++i];
		} else if (has && !strcmp(a, "--name") && !strcmp(sub, "add")) {
			in.name = argv[++i];
		} else if (has && !strcmp(a, "--phone") && !strcmp(sub, "add")) {
			in.phone = argv[++i];
		} else if (has && !strcmp(a, "--username") && !strcmp(sub, "add")) {
			in.username = argv[++i];
		} else if (!strcmp(a, "--json") && !strcmp(sub, "list")) {
			json = true;
		} else if (a[0] != '-' && !strcmp(sub, "import") && !file) {
			file = a;
		} else {
			fprintf(stderr, "fangkong responsible %s: unknown or incomplete option '%s'\n",
				sub, a);
			usage(stderr);
			return 2;
		}
	}
	if (!strcmp(sub, "add") && (!in.region || !in.role || !in.name)) {
		fprintf(stderr, "fangkong responsible add: --region, --role and --name are required\n");
		return 2;
	}
	if (!strcmp(sub, "import") && !file) {
		fprintf(stderr, "fangkong responsible import: name the CSV file\n");
		return 2;
	}
	struct fk_err err = {FK_OK, ""};
	sqlite3 *db = NULL;
	if (store_open(store_default_path(dbflag), 0, &db, &err)) {
		fprintf(stderr, "fangkong responsible: %s\n", err.msg);
		return 1;
	}
	int ret;
	if (!strcmp(sub, "add"))
		ret = resp_add(db, &in);
	else if (!strcmp(sub, "list"))
		ret = resp_list(db, region, json);
	else
		ret = resp_import(db, file);
	store_close(db);
	return ret;
}
