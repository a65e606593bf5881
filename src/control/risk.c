/* risk.c — risk areas: designation, automatic lowering per policy with
 * its countdown, the command's confirmation, the public list.
 *
 * Design note.
 * - A risk area is a chain of rows of table risk_areas for one region
 *   (down to a grid) or one building of a grid (households whose label
 *   starts with it).  The row with end_at NULL and level high or medium is
 *   the area in force; a change of level ends it (end_at) and starts the
 *   next row (prev_id).  Level low is never in force: a low row, with
 *   end_at = start_at, records the end of the area.
 * - Infection in an area (exact): a case whose person lives in the area
 *   (grid under region_code; with a building, the grid itself and the
 *   household label starting with it) with created_at >= the row's
 *   start_at (and < its end_at once it ended).  Countdown base =
 *   max(start_at, last such created_at).  Due (auto = 1 only):
 *     high:   medium at base + high_to_medium_days (policy with a medium
 *             level), else low at base + high_to_low_days (20 measures);
 *     medium, its prev row high: low at max(start_at +
 *             medium_to_low_after_high_days, last infection +
 *             medium_to_low_days);
 *     medium, designated so: low at base + medium_to_low_days (a policy
 *             without a medium level: base + high_to_low_days).
 *   A zero day count means the rule does not apply: no countdown.
 * - The tick lowers at exactly the due time (end_at = due, the next row
 *   starts at due), even when it runs later (a server that was down); it
 *   repeats until nothing is due, so high -> medium -> low in one late
 *   tick keeps both exact times.  Resuming automatic lowering (hold with
 *   auto true) whose due time passed while held lowers at the resume,
 *   never in the past: residents' codes of that time stay as shown.
 * - Cost.  Infections of many areas are matched in one scan of the cases
 *   created since the earliest start (each case's grid looks up the areas
 *   of its six region prefixes by binary search).  The tick remembers the
 *   earliest due time and a fingerprint of what could move it (the largest
 *   case and area ids, the count and automatic count of areas in force,
 *   the policy); while the fingerprint holds and no due time has come,
 *   a tick costs one indexed query.  The memo is the tick's alone (the
 *   caller holds the writer: the server's tick thread or a command).
 *   Known limit: a person moving house, or a case deleted, is not seen
 *   by the memo until the next area or case change.
 * - Scope.  Designation, confirmation and holds need the area's region in
 *   the user's scope (else 404); the history lists areas overlapping the
 *   scope.  The public list (no login) names regions and counts only.
 * - Audited in the change's transaction: risk.set, risk.confirm,
 *   risk.hold, and the tick's risk.lower (actor system).
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

#include "lib/banned.h"

#define RISK_REASON_MAX 500   /* characters */
#define RISK_BUILDING_MAX 31  /* bytes (hc_area.building) */
#define RISK_REGION_MAX 15    /* a grid code */
#define RISK_BODY_MAX 8192
#define RISK_PAGE_MAX 500
#define RISK_LOWER_ROUNDS 16  /* high -> medium -> low needs 2 */

/* ---- rows ---- */

struct risk_row {
	int64_t id;
	char region[RISK_REGION_MAX + 1];
	char building[RISK_BUILDING_MAX + 1];
	int level;      /* enum risk_level */
	int prev_level; /* -1: no previous row */
	int64_t start_at, end_at; /* end_at 0: none */
	int64_t prev_id, created_at, confirmed_at;
	bool autolow;
	char *reason, *created_by, *confirmed_by, *region_name;
	int region_level;
	int64_t last_inf; /* 0: none */
};

struct risk_rows {
	struct risk_row *v;
	size_t n, cap;
};

static void risk_row_release(struct risk_row *x)
{
	free(x->reason);
	free(x->created_by);
	free(x->confirmed_by);
	free(x->region_name);
}

static void risk_rows_release(struct risk_rows *r)
{
	for (size_t i = 0; i < r->n; i++)
		risk_row_release(&r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

#define RISK_SELECT                                                                             \
	"SELECT r.id, r.region_code, r.building, r.level, r.start_at, coalesce(r.end_at, 0),"   \
	" r.reason, r.auto, coalesce(r.prev_id, 0), r.created_at, r.created_by,"                \
	" coalesce(r.confirmed_at, 0), r.confirmed_by, coalesce(g.name, ''),"                   \
	" coalesce(g.level, 0), coalesce(pr.level, '')"                                         \
	" FROM risk_areas r LEFT JOIN regions g ON g.code = r.region_code"                     \
	" LEFT JOIN risk_areas pr ON pr.id = r.prev_id "

#define IN_FORCE "r.end_at IS NULL AND r.level != 'low'"

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

static int level_of(const char *s)
{
	enum risk_level l;
	return risk_level_parse(s, &l) ? (int)l : -1;
}

/* Steps st (bound by the caller) and appends every row.  FK_EDB. */
static enum fk_status rows_read(sqlite3_stmt *st, struct risk_rows *out, struct fk_err *err)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == out->cap) {
			out->cap = out->cap ? out->cap * 2 : 16;
			out->v = fk_xrealloc(out->v, out->cap * sizeof(*out->v));
		}
		struct risk_row *x = &out->v[out->n++];
		memset(x, 0, sizeof(*x));
		x->id = sqlite3_column_int64(st, 0);
		fk_strlcpy(x->region, col(st, 1), sizeof(x->region));
		fk_strlcpy(x->building, col(st, 2), sizeof(x->building));
		x->level = level_of(col(st, 3));
		if (x->level < 0)
			x->level = RISK_LOW;
		x->start_at = sqlite3_column_int64(st, 4);
		x->end_at = sqlite3_column_int64(st, 5);
		x->reason = fk_xstrdup(col(st, 6));
		x->autolow = sqlite3_column_int(st, 7) != 0;
		x->prev_id = sqlite3_column_int64(st, 8);
		x->created_at = sqlite3_column_int64(st, 9);
		x->created_by = fk_xstrdup(col(st, 10));
		x->confirmed_at = sqlite3_column_int64(st, 11);
		x->confirmed_by = fk_xstrdup(col(st, 12));
		x->region_name = fk_xstrdup(col(st, 13));
		x->region_level = sqlite3_column_int(st, 14);
		x->prev_level = level_of(col(st, 15));
	}
	if (rc != SQLITE_DONE)
		return fk_fail(err, FK_EDB, "reading risk areas: %s",
			       sqlite3_errmsg(sqlite3_db_handle(st)));
	return FK_OK;
}

/* Rows of RISK_SELECT + where (binding ?1 to id when id > 0). */
static enum fk_status rows_load(sqlite3 *db, const char *where, int64_t id,
				struct risk_rows *out, struct fk_err *err)
{
	struct strbuf q = STRBUF_INIT;
	strbuf_addstr(&q, RISK_SELECT);
	strbuf_addstr(&q, where);
	sqlite3_stmt *st = store_prepare(db, q.buf, err);
	strbuf_release(&q);
	if (!st)
		return FK_EDB;
	if (id > 0)
		sqlite3_bind_int64(st, 1, id);
	enum fk_status s = rows_read(st, out, err);
	sqlite3_finalize(st);
	return s;
}

/* Sorts row indexes by region (a merge sort: qsort has no context). */
static void sort_idx(size_t *ix, size_t *tmp, size_t n, const struct risk_rows *r)
{
	if (n < 2)
		return;
	size_t h = n / 2;
	sort_idx(ix, tmp, h, r);
	sort_idx(ix + h, tmp, n - h, r);
	size_t i = 0, j = h, k = 0;
	while (i < h && j < n)
		tmp[k++] = strcmp(r->v[ix[j]].region, r->v[ix[i]].region) < 0 ? ix[j++] : ix[i++];
	while (i < h)
		tmp[k++] = ix[i++];
	while (j < n)
		tmp[k++] = ix[j++];
	memcpy(ix, tmp, n * sizeof(*ix));
}

/* Fills last_inf of every row: one scan of the cases created since the
 * earliest start, each matched to the rows of its grid's prefixes. */
static enum fk_status rows_infections(sqlite3 *db, struct risk_rows *r, struct fk_err *err)
{
	if (!r->n)
		return FK_OK;
	enum fk_status s = FK_OK;
	int64_t from = INT64_MAX;
	size_t *ix = fk_xcalloc(r->n, sizeof(*ix)), *tmp = fk_xcalloc(r->n, sizeof(*tmp));
	for (size_t i = 0; i < r->n; i++) {
		ix[i] = i;
		r->v[i].last_inf = 0;
		if (r->v[i].start_at < from)
			from = r->v[i].start_at;
	}
	sort_idx(ix, tmp, r->n, r);
	sqlite3_stmt *st = store_prepare(
		db,
		"SELECT c.created_at, p.grid_code, coalesce(h.label, '') FROM cases c"
		" JOIN persons p ON p.id = c.person_id"
		" LEFT JOIN households h ON h.id = p.household_id WHERE c.created_at >= ?1",
		err);
	if (!st) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, from);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t t = sqlite3_column_int64(st, 0);
		const char *grid = col(st, 1), *label = col(st, 2);
		size_t glen = strlen(grid);
		for (int level = 1; level <= 6; level++) {
			size_t l = region_len_of_level(level);
			if (!l || l > glen || l > RISK_REGION_MAX)
				break;
			char pre[RISK_REGION_MAX + 1];
			memcpy(pre, grid, l);
			pre[l] = '\0';
			/* first row whose region is >= pre */
			size_t lo = 0, hi = r->n;
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				if (strcmp(r->v[ix[mid]].region, pre) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (; lo < r->n && !strcmp(r->v[ix[lo]].region, pre); lo++) {
				struct risk_row *x = &r->v[ix[lo]];
				if (t < x->start_at || (x->end_at && t >= x->end_at))
					continue;
				if (x->building[0] &&
				    (strcmp(grid, x->region) ||
				     strncmp(label, x->building, strlen(x->building))))
					continue;
				if (t > x->last_inf)
					x->last_inf = t;
			}
		}
	}
	if (rc != SQLITE_DONE)
		s = fk_fail(err, FK_EDB, "reading cases for risk areas: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
out:
	free(ix);
	free(tmp);
	return s;
}

/* The automatic lowering of an area in force: *due and *next (the level
 * it takes).  False when none applies (held, ended, or the policy has no
 * such rule). */
static bool row_due(const struct policy *p, const struct risk_row *x, int64_t *due, int *next)
{
	if (!p || !x->autolow || x->end_at || x->level == RISK_LOW)
		return false;
	int64_t base = x->last_inf > x->start_at ? x->last_inf : x->start_at;
	if (x->level == RISK_HIGH) {
		if (p->medium_level && p->high_to_medium_days > 0) {
			*next = RISK_MEDIUM;
			*due = base + (int64_t)p->high_to_medium_days * CONTROL_DAY;
			return true;
		}
		if (p->high_to_low_days > 0) {
			*next = RISK_LOW;
			*due = base + (int64_t)p->high_to_low_days * CONTROL_DAY;
			return true;
		}
		return false;
	}
	*next = RISK_LOW;
	if (x->prev_level == RISK_HIGH && p->medium_to_low_after_high_days > 0) {
		*due = x->start_at + (int64_t)p->medium_to_low_after_high_days * CONTROL_DAY;
		if (x->last_inf && p->medium_to_low_days > 0) {
			int64_t d = x->last_inf + (int64_t)p->medium_to_low_days * CONTROL_DAY;
			if (d > *due)
				*due = d;
		}
		return true;
	}
	if (p->medium_to_low_days > 0) {
		*due = base + (int64_t)p->medium_to_low_days * CONTROL_DAY;
		return true;
	}
	if (p->high_to_low_days > 0) {
		*due = base + (int64_t)p->high_to_low_days * CONTROL_DAY;
		return true;
	}
	return false;
}

/* ---- JSON ---- */

static void time_or_null(struct strbuf *o, const char *key, int64_t t)
{
	char ts[40];
	strbuf_addf(o, ",\"%s\":", key);
	if (t)
		strbuf_addf(o, "\"%s\"", fk_format_time(t, ts, sizeof(ts)));
	else
		strbuf_addstr(o, "null");
}

static void countdown_json(struct strbuf *o, const struct policy *p, const struct risk_row *x,
			   int64_t now)
{
	int64_t due;
	int next;
	strbuf_addstr(o, ",\"countdown\":");
	if (!row_due(p, x, &due, &next)) {
		strbuf_addstr(o, "null");
		return;
	}
	int64_t base = x->last_inf > x->start_at ? x->last_inf : x->start_at;
	int64_t quiet = now > base ? (now - base) / CONTROL_DAY : 0;
	char ts[40];
	strbuf_addf(o,
		    "{\"next_level\":\"%s\",\"due_at\":\"%s\",\"days_without_infection\":%" PRId64
		    ",\"seconds_left\":%" PRId64 "}",
		    risk_level_name((enum risk_level)next), fk_format_time(due, ts, sizeof(ts)), quiet,
		    due > now ? due - now : (int64_t)0);
}

/* The full area JSON (the command's view). */
static void area_json(struct strbuf *o, const struct policy *p, const struct risk_row *x,
		      int64_t now)
{
	char ts[40];
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"region\":{\"code\":", x->id);
	strbuf_add_json_str(o, x->region);
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, x->region_name);
	strbuf_addf(o, ",\"level\":%d},\"building\":", x->region_level);
	strbuf_add_json_str(o, x->building);
	strbuf_addf(o, ",\"level\":\"%s\",\"start_at\":\"%s\"",
		    risk_level_name((enum risk_level)x->level),
		    fk_format_time(x->start_at, ts, sizeof(ts)));
	time_or_null(o, "end_at", x->end_at);
	strbuf_addstr(o, ",\"reason\":");
	strbuf_add_json_str(o, x->reason);
	strbuf_addf(o, ",\"auto\":%s,\"prev_id\":", x->autolow ? "true" : "false");
	if (x->prev_id)
		strbuf_addf(o, "%" PRId64, x->prev_id);
	else
		strbuf_addstr(o, "null");
	strbuf_addstr(o, ",\"created_by\":");
	strbuf_add_json_str(o, x->created_by);
	time_or_null(o, "confirmed_at", x->confirmed_at);
	strbuf_addstr(o, ",\"confirmed_by\":");
	strbuf_add_json_str(o, x->confirmed_by);
	time_or_null(o, "last_infection_at", x->last_inf);
	countdown_json(o, p, x, now);
	strbuf_addch(o, '}');
}

/* Reads area id (with its infections) and appends its JSON.  FK_ENOTFOUND,
 * FK_EDB.  *region (may be NULL) receives its region code. */
static enum fk_status area_json_by_id(sqlite3 *db, const struct policy *p, int64_t id,
				      int64_t now, struct strbuf *o, char *region, size_t rsize,
				      struct fk_err *err)
{
	struct risk_rows r = {0};
	enum fk_status s = rows_load(db, "WHERE r.id = ?1", id, &r, err);
	if (!s && !r.n)
		s = fk_fail(err, FK_ENOTFOUND, "no risk area %" PRId64, id);
	if (!s)
		s = rows_infections(db, &r, err);
	if (!s) {
		if (o)
			area_json(o, p, &r.v[0], now);
		if (region)
			fk_strlcpy(region, r.v[0].region, rsize);
	}
	risk_rows_release(&r);
	return s;
}

/* ---- changes (in the caller's transaction on the writer) ---- */

static enum fk_status step_done(sqlite3 *w, sqlite3_stmt *st, const char *what,
				struct fk_err *err)
{
	enum fk_status s = FK_OK;
	if (sqlite3_step(st) != SQLITE_DONE)
		s = fk_fail(err, FK_EDB, "%s: %s", what, sqlite3_errmsg(w));
	sqlite3_finalize(st);
	return s;
}

/* Ends row id at `at` (it must still be open).  FK_ECONFLICT when it is
 * not. */
static enum fk_status row_end(sqlite3 *w, int64_t id, int64_t at, struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(
		w, "UPDATE risk_areas SET end_at = ?2 WHERE id = ?1 AND end_at IS NULL", err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, at);
	enum fk_status s = step_done(w, st, "ending a risk area", err);
	if (!s && sqlite3_changes(w) != 1)
		s = fk_fail(err, FK_ECONFLICT, "risk area %" PRId64 " already ended", id);
	return s;
}

struct row_new {
	const char *region, *building, *reason, *by;
	int level;
	int64_t start, prev_id, now;
	bool autolow, confirmed;
};

static enum fk_status row_insert(sqlite3 *w, const struct row_new *n, int64_t *id,
				 struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(
		w,
		"INSERT INTO risk_areas(region_code, level, start_at, end_at, reason, created_at,"
		" created_by, building, prev_id, auto, confirmed_at, confirmed_by)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
		err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_text(st, 1, n->region, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, risk_level_name((enum risk_level)n->level), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, n->start);
	if (n->level == RISK_LOW)
		sqlite3_bind_int64(st, 4, n->start);
	sqlite3_bind_text(st, 5, n->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, n->now);
	sqlite3_bind_text(st, 7, n->by, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, n->building, -1, SQLITE_STATIC);
	if (n->prev_id)
		sqlite3_bind_int64(st, 9, n->prev_id);
	sqlite3_bind_int(st, 10, n->autolow ? 1 : 0);
	if (n->confirmed) {
		sqlite3_bind_int64(st, 11, n->now);
		sqlite3_bind_text(st, 12, n->by, -1, SQLITE_STATIC);
	} else {
		sqlite3_bind_text(st, 12, "", -1, SQLITE_STATIC);
	}
	enum fk_status s = step_done(w, st, "recording a risk area", err);
	if (!s)
		*id = sqlite3_last_insert_rowid(w);
	return s;
}

/* Lowers area x to `next` at `at` by the system. */
static enum fk_status row_lower(sqlite3 *w, const struct risk_row *x, int next, int64_t at,
				int64_t now, int64_t *id, struct fk_err *err)
{
	char reason[160], obj[40], detail[160];
	const struct policy *p = policy_current();
	enum fk_status s = row_end(w, x->id, at, err);
	if (s)
		return s;
	snprintf(reason, sizeof(reason), "自动调整: %s -> %s (%s)",
		 risk_level_label_zh((enum risk_level)x->level),
		 risk_level_label_zh((enum risk_level)next), p ? p->version : "");
	struct row_new n = {x->region, x->building, reason, "system", next, at, x->id, now,
			    true, false};
	if ((s = row_insert(w, &n, id, err)))
		return s;
	snprintf(obj, sizeof(obj), "risk_area:%" PRId64, *id);
	snprintf(detail, sizeof(detail), "region=%s building=%s %s->%s prev=%" PRId64, x->region,
		 x->building, risk_level_name((enum risk_level)x->level),
		 risk_level_name((enum risk_level)next), x->id);
	return audit_append(w, "system", "risk.lower", obj, detail, "tick", err);
}

/* ---- the tick ---- */

struct tick_memo {
	sqlite3 *db;
	const struct policy *p;
	int64_t max_case, max_area, in_force, autos;
	int64_t next_due; /* INT64_MAX: nothing due ever */
	bool valid;
};
static struct tick_memo memo;

static enum fk_status fingerprint(sqlite3 *w, struct tick_memo *m, struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(
		w,
		"SELECT (SELECT coalesce(max(id), 0) FROM cases),"
		" (SELECT coalesce(max(id), 0) FROM risk_areas),"
		" count(*), coalesce(sum(auto), 0) FROM risk_areas WHERE end_at IS NULL",
		err);
	if (!st)
		return FK_EDB;
	enum fk_status s = FK_OK;
	if (sqlite3_step(st) == SQLITE_ROW) {
		m->max_case = sqlite3_column_int64(st, 0);
		m->max_area = sqlite3_column_int64(st, 1);
		m->in_force = sqlite3_column_int64(st, 2);
		m->autos = sqlite3_column_int64(st, 3);
	} else {
		s = fk_fail(err, FK_EDB, "risk areas: %s", sqlite3_errmsg(w));
	}
	sqlite3_finalize(st);
	return s;
}

static bool memo_same(const struct tick_memo *a, const struct tick_memo *b)
{
	return a->valid && a->db == b->db && a->p == b->p && a->max_case == b->max_case &&
	       a->max_area == b->max_area && a->in_force == b->in_force && a->autos == b->autos;
}

/* Lowers every area in force whose due time is <= until, at that time
 * (or at `at_least` when later); only area only_id and the rows that
 * follow it when only_id is not 0.  *next_due receives the earliest due
 * time left.  *lowered counts the new rows. */
static enum fk_status lower_due(sqlite3 *w, const struct policy *p, int64_t until,
				int64_t at_least, int64_t now, int64_t only_id, int64_t *next_due,
				size_t *lowered, struct fk_err *err)
{
	enum fk_status s = FK_OK;
	*next_due = INT64_MAX;
	for (int round = 0; round < RISK_LOWER_ROUNDS; round++) {
		struct risk_rows r = {0};
		size_t done = 0;
		int64_t earliest = INT64_MAX;
		s = rows_load(w, "WHERE " IN_FORCE, 0, &r, err);
		if (!s)
			s = rows_infections(w, &r, err);
		for (size_t i = 0; !s && i < r.n; i++) {
			int64_t due, id;
			int next;
			if (!row_due(p, &r.v[i], &due, &next))
				continue;
			if (due > until || (only_id && r.v[i].id != only_id)) {
				if (due < earliest)
					earliest = due;
				continue;
			}
			s = row_lower(w, &r.v[i], next, due > at_least ? due : at_least, now, &id, err);
			done++;
			if (only_id)
				only_id = id; /* then the row that follows it */
		}
		risk_rows_release(&r);
		if (s)
			return s;
		*lowered += done;
		*next_due = earliest;
		if (!done)
			break;
	}
	return s;
}

enum fk_status risk_tick(sqlite3 *wdb, int64_t now, struct control_changes *ch,
			 struct fk_err *err)
{
	const struct policy *p = policy_current();
	struct tick_memo m = {.db = wdb, .p = p, .valid = true};
	enum fk_status s;
	if (!p)
		return FK_OK;
	if ((s = fingerprint(wdb, &m, err)))
		return s;
	if (memo_same(&memo, &m) && now < memo.next_due)
		return FK_OK;
	memo.valid = false;
	size_t lowered = 0;
	s = lower_due(wdb, p, now, INT64_MIN, now, 0, &m.next_due, &lowered, err);
	if (s)
		return s;
	if (lowered) {
		ch->all = true;
		ch->done += (unsigned)lowered;
		if ((s = fingerprint(wdb, &m, err)))
			return s;
	}
	/* should the caller roll back, the database's fingerprint differs
	 * from the memo's (rows were added), so the next tick recomputes */
	memo = m;
	return FK_OK;
}

/* ---- designation ---- */

struct risk_in {
	const char *region, *building, *reason;
	int level;
	int64_t start; /* 0: now */
	bool autolow;
};

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static bool text_clean(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* Checks the fields that need no database; FK_EINVAL naming the field. */
static enum fk_status risk_in_check(const struct policy *p, const struct risk_in *in,
				    int64_t now, struct fk_err *err)
{
	size_t rl = in->region ? strlen(in->region) : 0;
	if (!rl)
		return fk_fail(err, FK_EINVAL, "'region' is required");
	if (!fk_all_digits(in->region, rl) || !region_level_of_len(rl))
		return fk_fail(err, FK_EINVAL, "'region' must be a region code, not '%s'",
			       in->region);
	if (in->building && (strlen(in->building) > RISK_BUILDING_MAX || !text_clean(in->building)))
		return fk_fail(err, FK_EINVAL,
			       "'building' must be 1 to %d bytes without control characters",
			       RISK_BUILDING_MAX);
	if (in->level < 0)
		return fk_fail(err, FK_EINVAL, "'level' must be high, medium or low");
	if (in->level == RISK_MEDIUM && p && !p->medium_level)
		return fk_fail(err, FK_EINVAL,
			       "'level': the policy in force (%s) has no medium level", p->version);
	if (!in->reason || !*in->reason)
		return fk_fail(err, FK_EINVAL, "'reason' is required");
	if (utf8_chars(in->reason) > RISK_REASON_MAX || !text_clean(in->reason))
		return fk_fail(err, FK_EINVAL,
			       "'reason' must be 1 to %d characters without control characters",
			       RISK_REASON_MAX);
	if (in->start > now)
		return fk_fail(err, FK_EINVAL, "'start_at' is in the future");
	return FK_OK;
}

/* Designates (or lowers to low) in one transaction of its own on w.
 * *id: the new row; *created: false when level low ended an area.
 * FK_EINVAL (message names the field), FK_ENOTFOUND (low: no area in
 * force), FK_EDB. */
static enum fk_status risk_set_run(sqlite3 *w, const struct risk_in *in,
				   const char *actor, const char *origin, int64_t now, int64_t *id,
				   struct fk_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *building = in->building ? in->building : "";
	int64_t start = in->start ? in->start : now, prev = 0, prev_start = 0;
	char obj[40], detail[256];
	int rc;
	enum fk_status s = store_begin(w, err);
	if (s)
		return s;
	if (!(st = store_prepare(w, "SELECT level FROM regions WHERE code = ?1", err))) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_text(st, 1, in->region, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		s = fk_fail(err, FK_EINVAL, "'region': no region '%s'", in->region);
		goto out;
	} else if (rc != SQLITE_ROW) {
		s = fk_fail(err, FK_EDB, "regions: %s", sqlite3_errmsg(w));
		goto out;
	}
	if (*building && sqlite3_column_int(st, 0) != 6) {
		s = fk_fail(err, FK_EINVAL, "'building' is only for a grid, and '%s' is not one",
			    in->region);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (*building) {
		if (!(st = store_prepare(w,
					 "SELECT 1 FROM households WHERE grid_code = ?1"
					 " AND substr(label, 1, length(?2)) = ?2 LIMIT 1",
					 err))) {
			s = FK_EDB;
			goto out;
		}
		sqlite3_bind_text(st, 1, in->region, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, building, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE) {
			s = fk_fail(err, FK_EINVAL,
				    "'building': no household of grid '%s' has a label starting with"
				    " '%s'",
				    in->region, building);
			goto out;
		} else if (rc != SQLITE_ROW) {
			s = fk_fail(err, FK_EDB, "households: %s", sqlite3_errmsg(w));
			goto out;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (!(st = store_prepare(w,
				 "SELECT r.id, r.start_at FROM risk_areas r WHERE " IN_FORCE
				 " AND r.region_code = ?1 AND r.building = ?2"
				 " ORDER BY r.id DESC LIMIT 1",
				 err))) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_text(st, 1, in->region, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, building, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		prev = sqlite3_column_int64(st, 0);
		prev_start = sqlite3_column_int64(st, 1);
	} else if (rc != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "risk areas: %s", sqlite3_errmsg(w));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (in->level == RISK_LOW && !prev) {
		s = fk_fail(err, FK_ENOTFOUND, "no risk area in force for '%s'%s%s", in->region,
			    *building ? " building " : "", building);
		goto out;
	}
	if (prev && start < prev_start) {
		s = fk_fail(err, FK_EINVAL,
			    "'start_at' is before the start of the area in force (risk area %" PRId64
			    ")",
			    prev);
		goto out;
	}
	if (prev && (s = row_end(w, prev, start, err)))
		goto out;
	struct row_new n = {in->region, building, in->reason, actor, in->level, start, prev, now,
			    in->level != RISK_LOW && in->autolow, true};
	if ((s = row_insert(w, &n, id, err)))
		goto out;
	snprintf(obj, sizeof(obj), "risk_area:%" PRId64, *id);
	snprintf(detail, sizeof(detail), "region=%s building=%s level=%s auto=%d prev=%" PRId64,
		 in->region, building, risk_level_name((enum risk_level)in->level), n.autolow, prev);
	if ((s = audit_append(w, actor, "risk.set", obj, detail, origin, err)))
		goto out;
	s = store_commit(w, err);
out:
	sqlite3_finalize(st);
	if (s)
		store_rollback(w);
	return s;
}

/* ---- HTTP ---- */

static bool path_id(struct http_req *req, int64_t *id)
{
	if (fk_parse_i64(req->params[0], 1, INT64_MAX, id))
		return true;
	http_error(req, 404, NULL, "no risk area '%s'", req->params[0]);
	return false;
}

static void fail_400(struct http_req *req, enum fk_status s, const struct fk_err *err)
{
	if (s == FK_EINVAL)
		http_error(req, 400, NULL, "%s", err->msg);
	else if (s == FK_ECONFLICT)
		http_error(req, 409, "not_in_force", "%s", err->msg);
	else
		http_fail(req, s, err);
}

static bool member_bool(struct http_req *req, json_t *o, const char *key, bool *out)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return true;
	if (!json_is_boolean(v)) {
		http_error(req, 400, NULL, "'%s' must be true or false", key);
		return false;
	}
	*out = json_is_true(v);
	return true;
}

static void risk_post(struct http_req *req)
{
	json_t *o = NULL;
	const char *level = NULL, *start = NULL;
	struct risk_in in = {0};
	struct strbuf out = STRBUF_INIT;
	struct fk_err err = {FK_OK, ""};
	const struct policy *p = policy_current();
	int64_t now = fk_now(), id = 0;
	in.autolow = true;

	if (!(o = http_body_object(req)))
		goto done;
	if (!http_member_str(req, o, "region", &in.region) ||
	    !http_member_str(req, o, "building", &in.building) ||
	    !http_member_str(req, o, "level", &level) ||
	    !http_member_str(req, o, "start_at", &start) ||
	    !http_member_str(req, o, "reason", &in.reason) || !member_bool(req, o, "auto", &in.autolow))
		goto done;
	if (in.building && !*in.building)
		in.building = NULL;
	in.level = level ? level_of(level) : -1;
	if (!level) {
		http_error(req, 400, NULL, "'level' is required");
		goto done;
	}
	if (start && !fk_parse_time(start, &in.start)) {
		http_error(req, 400, NULL,
			   "'start_at' is not an ISO 8601 time with offset (2022-01-10T08:30:00+08:00)");
		goto done;
	}
	if (start && in.start <= 0) {
		http_error(req, 400, NULL, "'start_at' is out of range");
		goto done;
	}
	enum fk_status s = risk_in_check(p, &in, now, &err);
	if (s) {
		fail_400(req, s, &err);
		goto done;
	}
	if (!access_scope_contains(req->user->scope, in.region)) {
		http_error(req, 404, NULL, "no region '%s' in your scope", in.region);
		goto done;
	}
	sqlite3 *w = store_writer_lock();
	s = w ? risk_set_run(w, &in, req->user->username, req->origin, now, &id, &err)
	      : fk_fail(&err, FK_EDB, "database unavailable");
	if (!s)
		s = area_json_by_id(w, p, id, now, &out, NULL, 0, &err);
	store_writer_unlock();
	if (s) {
		fail_400(req, s, &err);
		goto done;
	}
	healthcode_all_changed();
	http_json(req, in.level == RISK_LOW ? 200 : 201, out.buf);
done:
	strbuf_release(&out);
	json_decref(o);
}

/* Reads the path's area in the user's scope: its region; false after
 * answering 404. */
static bool area_in_scope(struct http_req *req, sqlite3 *db, int64_t *id)
{
	char region[RISK_REGION_MAX + 1];
	struct fk_err err;
	if (!path_id(req, id))
		return false;
	enum fk_status s = area_json_by_id(db, NULL, *id, 0, NULL, region, sizeof(region), &err);
	if (s == FK_ENOTFOUND || (!s && !access_scope_contains(req->user->scope, region))) {
		http_error(req, 404, NULL, "no risk area %" PRId64 " in your scope", *id);
		return false;
	}
	if (s) {
		http_fail(req, s, &err);
		return false;
	}
	return true;
}

static void risk_confirm(struct http_req *req)
{
	struct strbuf out = STRBUF_INIT;
	struct fk_err err = {FK_OK, ""};
	int64_t id, now = fk_now();
	char obj[40];
	sqlite3_stmt *st = NULL;
	sqlite3 *w = store_writer_lock();
	if (!w) {
		http_error(req, 503, NULL, "database unavailable");
		goto done;
	}
	if (!area_in_scope(req, w, &id))
		goto done;
	enum fk_status s = store_begin(w, &err);
	if (s)
		goto fail;
	if (!(st = store_prepare(w,
				 "UPDATE risk_areas SET confirmed_at = ?2, confirmed_by = ?3"
				 " WHERE id = ?1 AND confirmed_at IS NULL",
				 &err))) {
		s = FK_EDB;
		goto fail;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, req->user->username, -1, SQLITE_STATIC);
	s = step_done(w, st, "confirming a risk area", &err);
	st = NULL;
	snprintf(obj, sizeof(obj), "risk_area:%" PRId64, id);
	if (!s && sqlite3_changes(w) == 1)
		s = audit_append(w, req->user->username, "risk.confirm", obj, "", req->origin, &err);
	if (!s)
		s = store_commit(w, &err);
	if (s)
		store_rollback(w);
	if (!s)
		s = area_json_by_id(w, policy_current(), id, now, &out, NULL, 0, &err);
fail:
	if (s)
		http_fail(req, s, &err);
	else
		http_json(req, 200, out.buf);
done:
	store_writer_unlock();
	strbuf_release(&out);
}

static void risk_hold(struct http_req *req)
{
	json_t *o = NULL, *v;
	const char *reason = NULL;
	struct strbuf out = STRBUF_INIT;
	struct fk_err err = {FK_OK, ""};
	const struct policy *p = policy_current();
	int64_t id, now = fk_now();
	char obj[40], detail[RISK_REASON_MAX * 4 + 32];
	sqlite3_stmt *st = NULL;
	bool autolow = false, changed = false;
	sqlite3 *w = NULL;

	if (!(o = http_body_object(req)) || !http_member_str(req, o, "reason", &reason))
		goto done;
	v = json_object_get(o, "auto");
	if (!v || !json_is_boolean(v)) {
		http_error(req, 400, NULL, "'auto' is required: true or false");
		goto done;
	}
	autolow = json_is_true(v);
	if (!reason || !*reason) {
		http_error(req, 400, NULL, "'reason' is required");
		goto done;
	}
	if (utf8_chars(reason) > RISK_REASON_MAX || !text_clean(reason)) {
		http_error(req, 400, NULL,
			   "'reason' must be 1 to %d characters without control characters",
			   RISK_REASON_MAX);
		goto done;
	}
	if (!(w = store_writer_lock())) {
		http_error(req, 503, NULL, "database unavailable");
		goto done;
	}
	if (!area_in_scope(req, w, &id))
		goto done;
	enum fk_status s = store_begin(w, &err);
	if (s)
		goto fail;
	if (!(st = store_prepare(w,
				 "UPDATE risk_areas SET auto = ?2 WHERE id = ?1 AND end_at IS NULL"
				 " AND level != 'low'",
				 &err))) {
		s = FK_EDB;
		goto fail;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, autolow);
	s = step_done(w, st, "holding a risk area", &err);
	st = NULL;
	if (!s && sqlite3_changes(w) != 1)
		s = fk_fail(&err, FK_ECONFLICT, "risk area %" PRId64 " is not in force", id);
	snprintf(obj, sizeof(obj), "risk_area:%" PRId64, id);
	snprintf(detail, sizeof(detail), "auto=%d reason=%s", autolow, reason);
	if (!s)
		s = audit_append(w, req->user->username, "risk.hold", obj, detail, req->origin, &err);
	if (!s && autolow) {
		/* a due time passed while held: lowered now, not in the past */
		int64_t next_due;
		size_t lowered = 0;
		s = lower_due(w, p, now, now, now, id, &next_due, &lowered, &err);
	}
	if (!s)
		s = store_commit(w, &err);
	if (s)
		store_rollback(w);
	changed = !s;
	if (!s)
		s = area_json_by_id(w, p, id, now, &out, NULL, 0, &err);
fail:
	if (s) {
		fail_400(req, s, &err);
	} else {
		http_json(req, 200, out.buf);
	}
done:
	if (w)
		store_writer_unlock();
	if (changed)
		healthcode_all_changed();
	strbuf_release(&out);
	json_decref(o);
}

static void risk_history(struct http_req *req)
{
	char after[32], last[32] = "";
	const char *unc = http_query(req, "unconfirmed");
	struct strbuf o = STRBUF_INIT;
	struct risk_rows r = {0};
	struct fk_err err = {FK_OK, ""};
	int64_t before = INT64_MAX, now = fk_now();
	int limit;
	sqlite3 *db;

	if (!(db = http_reader(req)) || !http_page_params(req, &limit, after, sizeof(after)))
		return;
	if (limit > RISK_PAGE_MAX) {
		http_error(req, 400, NULL, "limit must be 1 to %d", RISK_PAGE_MAX);
		return;
	}
	if (after[0] && !fk_parse_i64(after, 1, INT64_MAX, &before)) {
		http_error(req, 400, NULL, "cursor is not valid");
		return;
	}
	if (unc && *unc && strcmp(unc, "1") && strcmp(unc, "0")) {
		http_error(req, 400, NULL, "unconfirmed must be 1 or 0");
		return;
	}
	bool only_unc = unc && !strcmp(unc, "1");
	sqlite3_stmt *st = store_prepare(
		db,
		RISK_SELECT "WHERE r.id < ?1 AND (?2 = 0 OR r.confirmed_at IS NULL)"
			    " AND ((r.region_code >= ?3 AND r.region_code < ?3 || ':')"
			    " OR substr(?3, 1, length(r.region_code)) = r.region_code)"
			    " ORDER BY r.id DESC LIMIT ?4",
		&err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int(st, 2, only_unc);
	sqlite3_bind_text(st, 3, req->user->scope, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, limit + 1);
	enum fk_status s = rows_read(st, &r, &err);
	sqlite3_finalize(st);
	bool more = r.n > (size_t)limit;
	if (more)
		risk_row_release(&r.v[--r.n]);
	if (!s)
		s = rows_infections(db, &r, &err);
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}
	strbuf_addstr(&o, "{\"items\":[");
	for (size_t i = 0; i < r.n; i++) {
		if (i)
			strbuf_addch(&o, ',');
		area_json(&o, policy_current(), &r.v[i], now);
		snprintf(last, sizeof(last), "%" PRId64, r.v[i].id);
	}
	http_page_close(&o, more, last);
	http_json(req, 200, o.buf);
done:
	risk_rows_release(&r);
	strbuf_release(&o);
}

/* Region path names ("陕西省安康市汉滨区...") and the county (level 3)
 * of code, from its prefixes. */
static void region_path(sqlite3_stmt *st, const char *code, struct strbuf *path,
			char *county, size_t csize, char *cname, size_t cnsize)
{
	size_t len = strlen(code);
	county[0] = cname[0] = '\0';
	for (int level = 1; level <= 6; level++) {
		size_t l = region_len_of_level(level);
		if (!l || l > len)
			break;
		char pre[RISK_REGION_MAX + 1];
		memcpy(pre, code, l);
		pre[l] = '\0';
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, pre, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_ROW)
			continue;
		strbuf_addstr(path, col(st, 0));
		if (level == 3) {
			fk_strlcpy(county, pre, csize);
			fk_strlcpy(cname, col(st, 0), cnsize);
		}
	}
}

static int cmp_public(const void *a, const void *b)
{
	const struct risk_row *x = a, *y = b;
	if (x->level != y->level)
		return y->level - x->level;
	int c = strcmp(x->region, y->region);
	if (c)
		return c;
	c = strcmp(x->building, y->building);
	if (c)
		return c;
	return (x->id > y->id) - (x->id < y->id);
}

/* The published list: areas in force, no personal data. */
static enum fk_status public_json(sqlite3 *db, const struct policy *p, int64_t now,
				  struct strbuf *o, struct fk_err *err)
{
	struct risk_rows r = {0};
	struct strbuf path = STRBUF_INIT;
	sqlite3_stmt *st = NULL;
	char ts[40], county[RISK_REGION_MAX + 1], cname[256];
	size_t nhigh = 0, nmed = 0;
	enum fk_status s = rows_load(db, "WHERE " IN_FORCE, 0, &r, err);
	if (!s)
		s = rows_infections(db, &r, err);
	if (!s && !(st = store_prepare(db, "SELECT name FROM regions WHERE code = ?1", err)))
		s = FK_EDB;
	if (s)
		goto out;
	if (r.n > 1)
		qsort(r.v, r.n, sizeof(*r.v), cmp_public);
	strbuf_addf(o, "{\"as_of\":\"%s\",\"policy\":{\"version\":",
		    fk_format_time(now, ts, sizeof(ts)));
	strbuf_add_json_str(o, p ? p->version : "");
	strbuf_addstr(o, ",\"title\":");
	strbuf_add_json_str(o, p ? p->title : "");
	strbuf_addf(o, ",\"medium_level\":%s},\"items\":[", p && !p->medium_level ? "false" : "true");
	for (size_t i = 0; i < r.n; i++) {
		const struct risk_row *x = &r.v[i];
		nhigh += x->level == RISK_HIGH;
		nmed += x->level == RISK_MEDIUM;
		strbuf_reset(&path);
		region_path(st, x->region, &path, county, sizeof(county), cname, sizeof(cname));
		strbuf_addf(o, "%s{\"id\":%" PRId64 ",\"region\":{\"code\":", i ? "," : "", x->id);
		strbuf_add_json_str(o, x->region);
		strbuf_addstr(o, ",\"name\":");
		strbuf_add_json_str(o, x->region_name);
		strbuf_addf(o, ",\"level\":%d,\"path\":", x->region_level);
		strbuf_add_json_str(o, path.buf);
		strbuf_addstr(o, ",\"county\":");
		if (county[0]) {
			strbuf_addstr(o, "{\"code\":");
			strbuf_add_json_str(o, county);
			strbuf_addstr(o, ",\"name\":");
			strbuf_add_json_str(o, cname);
			strbuf_addch(o, '}');
		} else {
			strbuf_addstr(o, "null");
		}
		strbuf_addstr(o, "},\"building\":");
		strbuf_add_json_str(o, x->building);
		strbuf_addf(o, ",\"level\":\"%s\",\"start_at\":\"%s\"",
			    risk_level_name((enum risk_level)x->level),
			    fk_format_time(x->start_at, ts, sizeof(ts)));
		countdown_json(o, p, x, now);
		strbuf_addch(o, '}');
	}
	strbuf_addf(o, "],\"next_cursor\":null,\"counts\":{\"high\":%zu,\"medium\":%zu}}", nhigh,
		    nmed);
out:
	sqlite3_finalize(st);
	strbuf_release(&path);
	risk_rows_release(&r);
	return s;
}

static void risk_public(struct http_req *req)
{
	struct strbuf o = STRBUF_INIT;
	struct fk_err err = {FK_OK, ""};
	sqlite3 *db = http_reader(req);
	if (!db)
		return;
	enum fk_status s = public_json(db, policy_current(), fk_now(), &o, &err);
	if (s) {
		http_fail(req, s, &err);
	} else {
		req->cache_control = "public, max-age=15";
		http_json(req, 200, o.buf);
	}
	strbuf_release(&o);
}

const struct http_route risk_routes[] = {
	{"GET", "/api/v1/risk-areas", risk_public, ROUTE_PUBLIC, 0, 0},
	{"POST", "/api/v1/risk-areas", risk_post, ROUTE_JSON_BODY, PERM_MANAGE_CONTROL,
	 RISK_BODY_MAX},
	{"GET", "/api/v1/risk-areas/history", risk_history, 0, PERM_READ_CONTROL, 0},
	{"POST", "/api/v1/risk-areas/{id}/confirm", risk_confirm, 0, PERM_MANAGE_CONTROL, 0},
	{"POST", "/api/v1/risk-areas/{id}/hold", risk_hold, ROUTE_JSON_BODY, PERM_MANAGE_CONTROL,
	 RISK_BODY_MAX},
};
const size_t risk_routes_len = FK_ARRAY_LEN(risk_routes);

/* ---- CLI ---- */

static void usage(FILE *f)
{
	fputs("usage: fangkong risk set --region CODE [--building B] --level high|medium|low\n"
	      "                         [--start TIME] --reason R [--manual]\n"
	      "                         [--db FILE] [--policy FILE|NAME]\n"
	      "       fangkong risk list [--all] [--json] [--db FILE] [--policy FILE|NAME]\n"
	      "\n"
	      "set designates a region (any level down to a grid) or a building of a grid\n"
	      "(households whose label starts with B, e.g. 3号楼) a high- or medium-risk\n"
	      "area from TIME (default now; ISO 8601 with offset).  An area already in force\n"
	      "for the same region and building ends at TIME and the new level follows it;\n"
	      "level low ends the area.  The area is lowered automatically as the policy\n"
	      "says (protocol 9: high -> medium after 7 days without a new infection, low 3\n"
	      "days later; medium -> low after 7) unless --manual.  A running server\n"
	      "refreshes residents' codes within a minute (at once through the API).\n"
	      "\n"
	      "list prints the areas in force with their countdown (--all: every row,\n"
	      "newest first).  The policy is the one the database runs under unless\n"
	      "--policy names another.\n"
	      "\n"
	      "Exit status: 0 done, 2 bad usage or input, 1 other failure.\n",
	      f);
}

static int cli_open(const char *dbflag, const char *policy, sqlite3 **db, struct policy **pol)
{
	struct fk_err err = {FK_OK, ""};
	if (store_open(store_default_path(dbflag), STORE_MIGRATE, db, &err)) {
		fprintf(stderr, "fangkong risk: %s\n", err.msg);
		return 1;
	}
	if (hc_policy_select(*db, policy, pol, NULL, &err)) {
		fprintf(stderr, "fangkong risk: %s\n", err.msg);
		store_close(*db);
		*db = NULL;
		return policy ? 2 : 1;
	}
	return 0;
}

static void print_row(const struct policy *p, const struct risk_row *x)
{
	char ts[40], due_s[40];
	int64_t due;
	int next;
	printf("%" PRId64 "\t%s\t%s%s%s\t%s\t%s\t%s", x->id, risk_level_label_zh((enum risk_level)x->level),
	       x->region, x->building[0] ? " " : "", x->building, x->region_name,
	       fk_format_time(x->start_at, ts, sizeof(ts)),
	       x->end_at ? fk_format_time(x->end_at, due_s, sizeof(due_s)) : "in force");
	if (row_due(p, x, &due, &next))
		printf("\t-> %s at %s", risk_level_name((enum risk_level)next),
		       fk_format_time(due, due_s, sizeof(due_s)));
	else
		printf("\t%s", x->end_at || x->level == RISK_LOW ? "-" : "held");
	printf("\t%s\n", x->confirmed_at ? "confirmed" : "awaiting confirmation");
}

static int cli_list(int argc, char **argv)
{
	const char *dbflag = NULL, *policy = NULL;
	bool json = false, all = false;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		bool has = i + 1 < argc;
		if (!strcmp(a, "--json"))
			json = true;
		else if (!strcmp(a, "--all"))
			all = true;
		else if (has && !strcmp(a, "--db"))
			dbflag = argv[++i];
		else if (has && !strcmp(a, "--policy"))
			policy = argv[++i];
		else {
			fprintf(stderr, "fangkong risk list: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	sqlite3 *db = NULL;
	struct policy *pol = NULL;
	int rc = cli_open(dbflag, policy, &db, &pol);
	if (rc)
		return rc;
	struct risk_rows r = {0};
	struct fk_err err = {FK_OK, ""};
	int64_t now = fk_now();
	enum fk_status s = rows_load(db, all ? "ORDER BY r.id DESC" : "WHERE " IN_FORCE " ORDER BY r.id",
				     0, &r, &err);
	if (!s)
		s = rows_infections(db, &r, &err);
	if (s) {
		fprintf(stderr, "fangkong risk list: %s\n", err.msg);
		rc = 1;
	} else if (json) {
		struct strbuf o = STRBUF_INIT;
		strbuf_addstr(&o, "{\"items\":[");
		for (size_t i = 0; i < r.n; i++) {
			if (i)
				strbuf_addch(&o, ',');
			area_json(&o, pol, &r.v[i], now);
		}
		strbuf_addstr(&o, "]}\n");
		fputs(o.buf, stdout);
		strbuf_release(&o);
	} else {
		for (size_t i = 0; i < r.n; i++)
			print_row(pol, &r.v[i]);
		if (!r.n)
			puts(all ? "no risk areas" : "no risk areas in force");
	}
	risk_rows_release(&r);
	free(pol);
	store_close(db);
	return rc;
}

static int cli_set(int argc, char **argv)
{
	const char *dbflag = NULL, *policy = NULL, *level = NULL, *start = NULL;
	struct risk_in in = {0};
	in.autolow = true;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		bool has = i + 1 < argc;
		if (has && !strcmp(a, "--region"))
			in.region = argv[++i];
		else if (has && !strcmp(a, "--building"))
			in.building = argv[++i];
		else if (has && !strcmp(a, "--level"))
			level = argv[++i];
		else if (has && !strcmp(a, "--start"))
			start = argv[++i];
		else if (has && !strcmp(a, "--reason"))
			in.reason = argv[++i];
		else if (!strcmp(a, "--manual"))
			in.autolow = false;
		else if (has && !strcmp(a, "--db"))
			dbflag = argv[++i];
		else if (has && !strcmp(a, "--policy"))
			policy = argv[++i];
		else {
			fprintf(stderr, "fangkong risk set: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (!in.region || !level || !in.reason) {
		fputs("fangkong risk set: --region, --level and --reason are required\n", stderr);
		usage(stderr);
		return 2;
	}
	if (in.building && !*in.building)
		in.building = NULL;
	in.level = level_of(level);
	if (start && (!fk_parse_time(start, &in.start) || in.start <= 0)) {
		fprintf(stderr,
			"fangkong risk set: --start '%s' is not a time (ISO 8601 with offset, e.g. "
			"2022-01-10T08:30:00+08:00)\n",
			start);
		return 2;
	}
	sqlite3 *db = NULL;
	struct policy *pol = NULL;
	int rc = cli_open(dbflag, policy, &db, &pol);
	if (rc)
		return rc;
	struct fk_err err = {FK_OK, ""};
	char actor[128];
	int64_t now = fk_now(), id = 0;
	fk_cli_actor("cli", actor, sizeof(actor));
	enum fk_status s = risk_in_check(pol, &in, now, &err);
	if (!s)
		s = risk_set_run(db, &in, actor, "cli", now, &id, &err);
	if (s) {
		fprintf(stderr, "fangkong risk set: %s\n", err.msg);
		rc = s == FK_EINVAL || s == FK_ENOTFOUND ? 2 : 1;
	} else {
		struct risk_rows r = {0};
		if (!rows_load(db, "WHERE r.id = ?1", id, &r, &err) &&
		    !rows_infections(db, &r, &err) && r.n)
			print_row(pol, &r.v[0]);
		risk_rows_release(&r);
	}
	free(pol);
	store_close(db);
	return rc;
}

int cmd_risk(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
	if (argc >= 2 && !strcmp(argv[1], "set"))
		return cli_set(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return cli_list(argc, argv);
	usage(stderr);
	return 2;
}
