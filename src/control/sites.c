/* sites.c — centralized isolation sites, rooms, staff, stays, the
 * assignment of a room, the queue, closed-loop transfer (pick-up,
 * arrival) and the isolation board; their API and `fangkong isolation`.
 *
 * Design note.
 * - A stay is a person in a room under a central order; it is current
 *   while left_at is NULL.  An order has at most one current stay
 *   (site_assign_order ends the old one on a move).  A room is "free"
 *   when its status is ready and it has no current stay; it "takes" a
 *   person when free, or, under a policy with household_may_share_room,
 *   when every current occupant is of the person's household and the
 *   occupants are fewer than its capacity ("一人一间" otherwise).
 * - Assignment (room 0): a room of the person's household (sharing
 *   policies only), else the nearest open site with a free room: the
 *   deepest common ancestor of the site's region and the person's grid
 *   (region codes nest by prefix at the lengths 2, 4, 6, 9, 12, 15), then
 *   the most free rooms, then the lowest id; in it the lowest free room
 *   by floor, then number (shorter first, so "99" before "100"), then
 *   id.  No room: the order is queued (orders.queued_at, kept from the
 *   first time), with an alert 'isolation_queue' and an event 'queued'
 *   the first time only; a bulk confirmation raises one alert per county
 *   for all its queued orders (see queue_alerts).  Every assignment
 *   clears queued_at, adds an event 'assigned', and moves the order's
 *   open transfer and test-day tasks to the site's region (the site's
 *   staff take the swabs).
 * - The tick (sites_tick) gives queued active central orders rooms,
 *   oldest queued first; without household sharing it stops at the first
 *   order left waiting (then no room is free anywhere).
 * - Rooms free by date: a room is free on local day D when ready and no
 *   current stay's planned_leave (the order's planned end, kept by
 *   site_order_moved) is after the start of D.
 * - Scope.  A user sees a site whose region lies in their scope or is an
 *   ancestor of it (a county site serves a town's users); changes to a
 *   site need its region inside the scope (403 when it is only visible).
 *   An order is in scope by its person's grid; a stay by its person's
 *   grid or its site's region.  The board of region R shows an order when
 *   its person's grid or its current stay's site lies under R.  Anything
 *   out of scope answers 404.
 * - Audited: isolation.site.add, isolation.rooms.add, isolation.room.status,
 *   isolation.staff.add, order.assign, stay.pickup, stay.arrive (in the
 *   change's transaction), and the reads that show persons:
 *   isolation.site.read, isolation.board.  Persons are masked unless the
 *   role has PERM_UNMASK and the request says ?unmask=1.
 */
#include "control/control_int.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "http/http.h"
#include "lib/strbuf.h"
#include "lib/util.h"
#include "registry/registry.h"
#include "store/store.h"

#include "lib/banned.h"

#define SITE_NAME_MAX 60      /* characters */
#define ADDRESS_MAX 200       /* characters */
#define FLOORS_MAX 99         /* rooms are numbered floor * 100 + i */
#define ROOMS_PER_FLOOR_MAX 99
#define ROOM_NUMBER_MAX 16
#define FLOOR_MIN (-5)
#define FLOOR_ROOM_MAX 200
#define ROOMS_ADD_MAX 2000
#define ROOMS_BODY_MAX (256 * 1024)
#define VEHICLE_MAX 32
#define STAFF_NAME_MAX 40
#define SUGGEST_MAX 5
#define BOARD_DAYS 7
#define LIST_MAX 500
#define REGION_MAX 16
#define KEY_MAX 64
#define LOCAL_OFFSET 28800 /* +08:00 */

static int64_t col64(sqlite3_stmt *st, int i)
{
	return (int64_t)sqlite3_column_int64(st, i);
}

static bool col_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL;
}

static void copy_col(sqlite3_stmt *st, int i, char *out, size_t size)
{
	fk_strlcpy(out, http_col(st, i), size);
}

/* ---- regions ---- */

static const size_t level_len[] = {0, 2, 4, 6, 9, 12, 15};

/* The level (1..6) of the deepest region holding both codes, 0 if none. */
static int common_level(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int best = 0;
	for (int l = 1; l <= 6; l++) {
		size_t n = level_len[l];
		if (n > la || n > lb || memcmp(a, b, n))
			break;
		best = l;
	}
	return best;
}

static int level_of(const char *code)
{
	return region_level_of_len(strlen(code));
}

/* A site's region is visible from scope: inside it, or an ancestor. */
static bool site_visible(const char *scope, const char *region)
{
	return access_scope_contains(scope, region) || fk_starts_with(scope, region);
}

/* SQL: the site region column c is visible from the text bound at n. */
#define VISIBLE(c, n)                                                                           \
	"((" c " >= ?" n " AND " c " < ?" n " || ':') OR substr(?" n ", 1, length(" c ")) = " c ")"
/* SQL: the column c lies under the text bound at n. */
#define UNDER(c, n) "(" c " >= ?" n " AND " c " < ?" n " || ':')"

/* SQL: the room r has a current stay. */
#define OCCUPIED(r) "EXISTS (SELECT 1 FROM stays x WHERE x.room_id = " r ".id AND x.left_at IS NULL)"
#define FREE(r) "(" r ".status = 'ready' AND NOT " OCCUPIED(r) ")"

/* ---- assignment ---- */

struct order_facts {
	int64_t id, person_id, household_id, planned_end, queued_at;
	char kind[24], status[16], grid[REGION_MAX + 1];
};

static enum fk_status order_facts_get(sqlite3 *db, int64_t id, struct order_facts *o,
				      struct fk_err *err)
{
	sqlite3_stmt *st = control_stmt(db,
					 "SELECT o.person_id, coalesce(p.household_id, 0), o.planned_end,"
					 " coalesce(o.queued_at, 0), o.kind, o.status, p.grid_code"
					 " FROM orders o JOIN persons p ON p.id = o.person_id"
					 " WHERE o.id = ?1",
					 err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	enum fk_status s = FK_OK;
	if (rc == SQLITE_ROW) {
		memset(o, 0, sizeof(*o));
		o->id = id;
		o->person_id = col64(st, 0);
		o->household_id = col64(st, 1);
		o->planned_end = col64(st, 2);
		o->queued_at = col64(st, 3);
		copy_col(st, 4, o->kind, sizeof(o->kind));
		copy_col(st, 5, o->status, sizeof(o->status));
		copy_col(st, 6, o->grid, sizeof(o->grid));
	} else if (rc == SQLITE_DONE) {
		s = fk_fail(err, FK_ENOTFOUND, "no order %" PRId64, id);
	} else {
		s = fk_fail(err, FK_EDB, "cannot read order %" PRId64 ": %s", id, sqlite3_errmsg(db));
	}
	control_stmt_done(st);
	return s;
}

/* Runs sql with the integer parameters v[0..n). */
static enum fk_status exec_ints(sqlite3 *db, const char *sql, const int64_t *v, int n,
				struct fk_err *err)
{
	sqlite3_stmt *st = control_stmt(db, sql, err);
	if (!st)
		return FK_EDB;
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(st, i + 1, v[i]);
	enum fk_status s = FK_OK;
	if (sqlite3_step(st) != SQLITE_DONE)
		s = fk_fail(err, FK_EDB, "cannot update stays: %s", sqlite3_errmsg(db));
	control_stmt_done(st);
	return s;
}

/* Reads one row of two integers; *found false when none. */
static enum fk_status query_2i(sqlite3 *db, const char *sql, const int64_t *v, int n,
			       int64_t *a, int64_t *b, bool *found, struct fk_err *err)
{
	sqlite3_stmt *st = control_stmt(db, sql, err);
	if (!st)
		return FK_EDB;
	for (int i = 0; i < n; i++)
		sqlite3_bind_int64(st, i + 1, v[i]);
	int rc = sqlite3_step(st);
	enum fk_status s = FK_OK;
	*found = rc == SQLITE_ROW;
	if (rc == SQLITE_ROW) {
		*a = col64(st, 0);
		if (b)
			*b = col64(st, 1);
	} else if (rc != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "cannot read rooms: %s", sqlite3_errmsg(db));
	}
	control_stmt_done(st);
	return s;
}

/* ?1 room, ?2 sharing allowed, ?3 household (0: none), ?4 person:
 * 1 when the room takes the person now (see the design note), 0 when
 * not; no row when no such room. */
static const char *const ROOM_TAKES_SQL =
	"SELECT r.status = 'ready' AND s.status = 'open' AND (NOT " OCCUPIED("r")
	" OR (?2 AND ?3 > 0"
	"  AND (SELECT count(*) FROM stays x WHERE x.room_id = r.id AND x.left_at IS NULL)"
	"   < r.capacity"
	"  AND NOT EXISTS (SELECT 1 FROM stays x JOIN persons q ON q.id = x.person_id"
	"   WHERE x.room_id = r.id AND x.left_at IS NULL"
	"   AND (coalesce(q.household_id, 0) <> ?3 OR q.id = ?4))))"
	" FROM iso_rooms r JOIN iso_sites s ON s.id = r.site_id WHERE r.id = ?1";

/* ?1 household, ?2 person, ?3 site (0: any): a room where a member of
 * the household stays that takes one more of them. */
static const char *const HOUSEHOLD_ROOM_SQL =
	"SELECT r.id, r.site_id FROM stays y JOIN persons q ON q.id = y.person_id"
	" JOIN iso_rooms r ON r.id = y.room_id JOIN iso_sites s ON s.id = r.site_id"
	" WHERE q.household_id = ?1 AND y.left_at IS NULL AND y.person_id <> ?2"
	" AND (?3 = 0 OR r.site_id = ?3) AND r.status = 'ready' AND s.status = 'open'"
	" AND (SELECT count(*) FROM stays x WHERE x.room_id = r.id AND x.left_at IS NULL)"
	"  < r.capacity"
	" AND NOT EXISTS (SELECT 1 FROM stays x JOIN persons z ON z.id = x.person_id"
	"  WHERE x.room_id = r.id AND x.left_at IS NULL AND coalesce(z.household_id, 0) <> ?1)"
	" ORDER BY r.floor, length(r.number), r.number, r.id LIMIT 1";

static const char *const FREE_ROOM_SQL =
	"SELECT r.id, r.site_id FROM iso_rooms r WHERE r.site_id = ?1 AND " FREE("r")
	" ORDER BY r.floor, length(r.number), r.number, r.id LIMIT 1";

/* Every open site with its free rooms. */
static const char *const OPEN_SITES_SQL =
	"SELECT s.id, s.region_code, s.name,"
	" (SELECT count(*) FROM iso_rooms r WHERE r.site_id = s.id AND " FREE("r") ")"
	" FROM iso_sites s WHERE s.status = 'open' ORDER BY s.id";

struct site_pick {
	int64_t id, free;
	int level;
	char region[REGION_MAX + 1], name[256];
};

static int site_pick_cmp(const void *pa, const void *pb)
{
	const struct site_pick *a = pa, *b = pb;
	if (a->level != b->level)
		return a->level > b->level ? -1 : 1;
	if (a->free != b->free)
		return a->free > b->free ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* The open sites with free rooms (visible from scope when scope is not
 * NULL), nearest to grid first.  *out (caller frees) and *n. */
static enum fk_status sites_by_distance(sqlite3 *db, const char *grid, const char *scope,
					struct site_pick **out, size_t *n, struct fk_err *err)
{
	sqlite3_stmt *st = control_stmt(db, OPEN_SITES_SQL, err);
	struct site_pick *v = NULL;
	size_t len = 0, cap = 0;
	int rc;
	*out = NULL;
	*n = 0;
	if (!st)
		return FK_EDB;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (col64(st, 3) <= 0 || (scope && !site_visible(scope, http_col(st, 1))))
			continue;
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			v = fk_xrealloc(v, cap * sizeof(*v));
		}
		struct site_pick *p = &v[len++];
		p->id = col64(st, 0);
		copy_col(st, 1, p->region, sizeof(p->region));
		copy_col(st, 2, p->name, sizeof(p->name));
		p->free = col64(st, 3);
		p->level = common_level(p->region, grid);
	}
	if (rc != SQLITE_DONE) {
		free(v);
		enum fk_status s = fk_fail(err, FK_EDB, "cannot read sites: %s", sqlite3_errmsg(db));
		control_stmt_done(st);
		return s;
	}
	control_stmt_done(st);
	if (len)
		qsort(v, len, sizeof(*v), site_pick_cmp);
	*out = v;
	*n = len;
	return FK_OK;
}

/* Within a batch (control_batch_id) of activations the open sites and
 * their free rooms are read once and kept: a room taken by the batch
 * counts down its site's free rooms, anything else that changes a stay
 * (a stay ended by a superseded order, a room given by hand) drops the
 * list, so the ranking is the one sites_by_distance would compute.  With
 * no room free anywhere, every further central order of the batch is
 * queued without a query. */
static struct {
	uint64_t batch; /* 0: nothing kept */
	struct site_pick *v;
	size_t n;
} site_cache;

static void site_cache_drop(void)
{
	site_cache.batch = 0;
}

/* sites_by_distance(grid, no scope) from the batch's list. */
static enum fk_status sites_nearest(sqlite3 *db, uint64_t bid, const char *grid,
				    struct site_pick **out, size_t *n, struct fk_err *err)
{
	if (!bid)
		return sites_by_distance(db, grid, NULL, out, n, err);
	if (site_cache.batch != bid) {
		sqlite3_stmt *st = control_stmt(db, OPEN_SITES_SQL, err);
		int rc;
		if (!st)
			return FK_EDB;
		site_cache.n = 0;
		size_t cap = 0;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (site_cache.n == cap) {
				cap = cap ? cap * 2 : 16;
				site_cache.v = fk_xrealloc(site_cache.v, cap * sizeof(*site_cache.v));
			}
			struct site_pick *p = &site_cache.v[site_cache.n++];
			p->id = col64(st, 0);
			copy_col(st, 1, p->region, sizeof(p->region));
			copy_col(st, 2, p->name, sizeof(p->name));
			p->free = col64(st, 3);
		}
		if (rc != SQLITE_DONE) {
			enum fk_status s =
				fk_fail(err, FK_EDB, "cannot read sites: %s", sqlite3_errmsg(db));
			control_stmt_done(st);
			return s;
		}
		control_stmt_done(st);
		site_cache.batch = bid;
	}
	struct site_pick *v = NULL;
	size_t len = 0;
	for (size_t i = 0; i < site_cache.n; i++) {
		if (site_cache.v[i].free <= 0)
			continue;
		if (!v)
			v = fk_xrealloc(NULL, site_cache.n * sizeof(*v));
		v[len] = site_cache.v[i];
		v[len].level = common_level(v[len].region, grid);
		len++;
	}
	if (len)
		qsort(v, len, sizeof(*v), site_pick_cmp);
	*out = v;
	*n = len;
	return FK_OK;
}

/* A free room of site_id was taken within batch bid. */
static void site_cache_took(uint64_t bid, int64_t site_id)
{
	if (!bid || site_cache.batch != bid)
		return;
	for (size_t i = 0; i < site_cache.n; i++)
		if (site_cache.v[i].id == site_id) {
			site_cache.v[i].free--;
			return;
		}
	site_cache_drop();
}

/* Records a stay of order o in room (of site), clears the queue, moves
 * the order's open tasks to the site's region, adds the event. */
static enum fk_status stay_insert(sqlite3 *w, const struct order_facts *o, int64_t room_id,
				  int64_t now, const char *actor, const char *event_prefix,
				  struct assign_result *out, struct fk_err *err)
{
	sqlite3_stmt *st = NULL;
	char region[REGION_MAX + 1] = "", detail[400];
	enum fk_status s = FK_OK;
	if (!(st = control_stmt(w,
				 "SELECT s.id, s.region_code, s.name, r.number FROM iso_rooms r"
				 " JOIN iso_sites s ON s.id = r.site_id WHERE r.id = ?1",
				 err)))
		return FK_EDB;
	sqlite3_bind_int64(st, 1, room_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		s = fk_fail(err, FK_EDB, "cannot read room %" PRId64 ": %s", room_id,
			    sqlite3_errmsg(w));
		goto out;
	}
	out->site_id = col64(st, 0);
	copy_col(st, 1, region, sizeof(region));
	snprintf(detail, sizeof(detail), "%s%s %s室", event_prefix, http_col(st, 2), http_col(st, 3));
	control_stmt_done(st);
	if (!(st = control_stmt(w,
				 "INSERT INTO stays(order_id, room_id, person_id, assigned_at,"
				 " assigned_by, planned_leave) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
				 err))) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, o->id);
	sqlite3_bind_int64(st, 2, room_id);
	sqlite3_bind_int64(st, 3, o->person_id);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_text(st, 5, actor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, o->planned_end);
	if (sqlite3_step(st) != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "cannot store the stay: %s", sqlite3_errmsg(w));
		goto out;
	}
	out->stay_id = sqlite3_last_insert_rowid(w);
	out->room_id = room_id;
	out->queued = false;
	control_stmt_done(st);
	if (!(st = control_stmt(w,
				 "UPDATE tasks SET region_code = ?2 WHERE order_id = ?1"
				 " AND status = 'open' AND kind IN ('transfer', 'order_test')",
				 err))) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, o->id);
	sqlite3_bind_text(st, 2, region, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "cannot move the order's tasks: %s", sqlite3_errmsg(w));
		goto out;
	}
	if ((s = exec_ints(w, "UPDATE orders SET queued_at = NULL WHERE id = ?1", &o->id, 1, err)))
		goto out;
	s = order_event(w, o->id, now, "assigned", actor, detail, err);
out:
	control_stmt_done(st);
	return s;
}

/* The isolation-queue alerts of the current run (control_batch_run: a
 * bulk confirmation, all its transactions; or one proposal or case):
 * one per county (the grid's first 6 digits).  Confirming a case's
 * orders with no room free would otherwise raise one alert per order
 * (thousands for one case); the command needs one per place and
 * confirmation that says how many wait.  The first queued order of a
 * county in the run raises the alert exactly as a single order does (its
 * person, grid and order); each further one rewrites that alert: no
 * single person, the deepest region holding all their grids, the count
 * and the first order.  Every order still gets its own 'queued' event
 * and queued_at. */
#define QUEUE_GROUP_LEN 6
static struct {
	uint64_t run;
	struct queue_group {
		char county[QUEUE_GROUP_LEN + 1], region[REGION_MAX + 1];
		int64_t alert_id, first_order;
		size_t count;
	} *v;
	size_t n, cap;
} queue_alerts;

/* The run's alert for o's county, rewritten for one more order; *done
 * false when o is the county's first (the caller inserts). */
static enum fk_status queue_alert_join(sqlite3 *w, uint64_t run, const struct order_facts *o,
				       const char *when, bool *done, struct fk_err *err)
{
	char county[QUEUE_GROUP_LEN + 1], detail[300];
	*done = false;
	if (queue_alerts.run != run) {
		queue_alerts.run = run;
		queue_alerts.n = 0;
	}
	fk_strlcpy(county, o->grid, sizeof(county));
	struct queue_group *g = NULL;
	for (size_t i = 0; i < queue_alerts.n && !g; i++)
		if (!strcmp(queue_alerts.v[i].county, county))
			g = &queue_alerts.v[i];
	if (!g)
		return FK_OK;
	g->count++;
	int l = common_level(g->region, o->grid);
	g->region[level_len[l] < sizeof(g->region) ? level_len[l] : sizeof(g->region) - 1] = '\0';
	snprintf(detail, sizeof(detail),
		 "%zu 个管控令等待集中隔离房间：开放的隔离点均无空房，自 %s 起排队"
		 "（首个：管控令 %" PRId64 "）",
		 g->count, when, g->first_order);
	sqlite3_stmt *st = control_stmt(w,
					"UPDATE alerts SET person_id = NULL, region_code = ?2,"
					" detail = ?3 WHERE id = ?1 AND cleared_at IS NULL",
					err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, g->alert_id);
	sqlite3_bind_text(st, 2, g->region, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, detail, -1, SQLITE_STATIC);
	enum fk_status s = FK_OK;
	if (sqlite3_step(st) != SQLITE_DONE)
		s = fk_fail(err, FK_EDB, "cannot update the queue alert: %s", sqlite3_errmsg(w));
	control_stmt_done(st);
	if (!s && sqlite3_changes(w) == 0) /* cleared meanwhile: a new alert */
		*g = queue_alerts.v[--queue_alerts.n];
	else
		*done = !s;
	return s;
}

/* The alert just inserted for o opens its county's group in the run. */
static void queue_alert_opened(uint64_t run, const struct order_facts *o, int64_t alert_id)
{
	if (!run || queue_alerts.run != run)
		return;
	if (queue_alerts.n == queue_alerts.cap) {
		queue_alerts.cap = queue_alerts.cap ? queue_alerts.cap * 2 : 8;
		queue_alerts.v = fk_xrealloc(queue_alerts.v, queue_alerts.cap * sizeof(*queue_alerts.v));
	}
	struct queue_group *g = &queue_alerts.v[queue_alerts.n++];
	memset(g, 0, sizeof(*g));
	fk_strlcpy(g->county, o->grid, sizeof(g->county));
	fk_strlcpy(g->region, o->grid, sizeof(g->region));
	g->alert_id = alert_id;
	g->first_order = o->id;
	g->count = 1;
}

/* Queues order o (first time: queued_at, alert, event). */
static enum fk_status order_queue(sqlite3 *w, const struct order_facts *o, int64_t now,
				  const char *actor, struct fk_err *err)
{
	char when[32], detail[300];
	sqlite3_stmt *st = NULL;
	enum fk_status s;
	bool joined = false;
	if (o->queued_at)
		return FK_OK;
	int64_t v[2] = {o->id, now};
	if ((s = exec_ints(w, "UPDATE orders SET queued_at = ?2 WHERE id = ?1", v, 2, err)))
		return s;
	uint64_t run = control_batch_run(w);
	fk_format_time(now, when, sizeof(when));
	if (run && (s = queue_alert_join(w, run, o, when, &joined, err)))
		return s;
	if (joined)
		return order_event(w, o->id, now, "queued", actor, "无空房，排队等待隔离房间", err);
	snprintf(detail, sizeof(detail),
		 "管控令 %" PRId64 " 等待集中隔离房间：开放的隔离点均无空房，自 %s 起排队", o->id,
		 when);
	if (!(st = control_stmt(w,
				 "INSERT INTO alerts(kind, person_id, region_code, at, detail)"
				 " VALUES('isolation_queue', ?1, ?2, ?3, ?4)",
				 err)))
		return FK_EDB;
	sqlite3_bind_int64(st, 1, o->person_id);
	sqlite3_bind_text(st, 2, o->grid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_text(st, 4, detail, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		s = fk_fail(err, FK_EDB, "cannot store the queue alert: %s", sqlite3_errmsg(w));
	control_stmt_done(st);
	if (s)
		return s;
	queue_alert_opened(run, o, sqlite3_last_insert_rowid(w));
	return order_event(w, o->id, now, "queued", actor, "无空房，排队等待隔离房间", err);
}

enum fk_status site_assign_order(sqlite3 *wdb, const struct policy *p, int64_t order_id,
				 int64_t room_id, int64_t now, const char *actor,
				 struct assign_result *out, struct fk_err *err)
{
	struct order_facts o;
	struct site_pick *sites = NULL;
	size_t nsites = 0;
	int64_t cur_stay = 0, cur_room = 0, room = 0, site = 0;
	bool found = false, share = p && p->household_may_share_room;
	enum fk_status s;

	memset(out, 0, sizeof(*out));
	if ((s = order_facts_get(wdb, order_id, &o, err)))
		return s;
	if (strcmp(o.kind, "central"))
		return fk_fail(err, FK_EINVAL, "order %" PRId64 " is not a central isolation order",
			       order_id);
	if (strcmp(o.status, "active") && strcmp(o.status, "proposed"))
		return fk_fail(err, FK_EINVAL, "order %" PRId64 " has ended", order_id);
	if ((s = query_2i(wdb, "SELECT id, room_id FROM stays WHERE order_id = ?1 AND left_at IS NULL"
			       " ORDER BY id DESC LIMIT 1",
			  &order_id, 1, &cur_stay, &cur_room, &found, err)))
		return s;
	if (found && (!room_id || room_id == cur_room)) {
		/* already in a room: nothing to do */
		int64_t v[1] = {cur_room};
		out->stay_id = cur_stay;
		out->room_id = cur_room;
		return query_2i(wdb, "SELECT site_id, 0 FROM iso_rooms WHERE id = ?1", v, 1,
				&out->site_id, NULL, &found, err);
	}
	if (room_id) {
		int64_t v[4] = {room_id, share, o.household_id, o.person_id}, takes = 0;
		if ((s = query_2i(wdb, ROOM_TAKES_SQL, v, 4, &takes, NULL, &found, err)))
			return s;
		if (!found)
			return fk_fail(err, FK_ENOTFOUND, "no room %" PRId64, room_id);
		if (!takes)
			return fk_fail(err, FK_ECONFLICT,
				       "room %" PRId64 " is not free (occupied, not ready, or its"
				       " site is closed)",
				       room_id);
		if (cur_stay) {
			int64_t w2[2] = {cur_stay, now};
			if ((s = exec_ints(wdb, "UPDATE stays SET left_at = ?2 WHERE id = ?1", w2, 2,
					   err)))
				return s;
		}
		site_cache_drop();
		return stay_insert(wdb, &o, room_id, now, actor, cur_stay ? "转入 " : "", out, err);
	}
	if (share && o.household_id) {
		int64_t v[3] = {o.household_id, o.person_id, 0};
		if ((s = query_2i(wdb, HOUSEHOLD_ROOM_SQL, v, 3, &room, &site, &found, err)))
			return s;
		if (found)
			return stay_insert(wdb, &o, room, now, actor, "", out, err);
	}
	uint64_t bid = control_batch_id(wdb);
	if ((s = sites_nearest(wdb, bid, o.grid, &sites, &nsites, err)))
		return s;
	if (nsites) {
		int64_t v[1] = {sites[0].id};
		s = query_2i(wdb, FREE_ROOM_SQL, v, 1, &room, &site, &found, err);
		free(sites);
		if (s)
			return s;
		if (found) {
			if ((s = stay_insert(wdb, &o, room, now, actor, "", out, err)))
				return s;
			site_cache_took(bid, site);
			return FK_OK;
		}
		site_cache_drop();
		sites = NULL;
	}
	free(sites);
	out->queued = true;
	return order_queue(wdb, &o, now, actor, err);
}

enum fk_status site_order_ended(sqlite3 *wdb, int64_t order_id, int64_t at,
				struct fk_err *err)
{
	int64_t v[2] = {order_id, at};
	enum fk_status s = exec_ints(wdb,
				     "UPDATE stays SET left_at = max(?2, assigned_at)"
				     " WHERE order_id = ?1 AND left_at IS NULL",
				     v, 2, err);
	if (!s && sqlite3_changes(wdb) > 0)
		site_cache_drop(); /* a room came free */
	if (!s)
		s = exec_ints(wdb, "UPDATE orders SET queued_at = NULL WHERE id = ?1", v, 1, err);
	return s;
}

enum fk_status site_order_moved(sqlite3 *wdb, int64_t order_id, int64_t planned_end,
				struct fk_err *err)
{
	int64_t v[2] = {order_id, planned_end};
	return exec_ints(wdb, "UPDATE stays SET planned_leave = ?2 WHERE order_id = ?1"
			      " AND left_at IS NULL",
			 v, 2, err);
}

enum fk_status sites_tick(sqlite3 *wdb, int64_t now, struct control_changes *ch,
			  struct fk_err *err)
{
	const struct policy *p = policy_current();
	bool share = p && p->household_may_share_room;
	/* every second: is anyone queued (orders_queued), and is any room
	 * free at all?  Only then read the queue, oldest first, a batch at a
	 * time. */
	if (!store_query_int(wdb,
			     "SELECT EXISTS (SELECT 1 FROM orders WHERE queued_at IS NOT NULL"
			     " AND status = 'active' AND kind = 'central')",
			     0))
		return FK_OK;
	if (!share &&
	    !store_query_int(wdb,
			     "SELECT EXISTS (SELECT 1 FROM iso_rooms r JOIN iso_sites s"
			     " ON s.id = r.site_id WHERE s.status = 'open' AND " FREE("r") ")",
			     0))
		return FK_OK;
	sqlite3_stmt *st = store_prepare(wdb,
					 "SELECT id FROM orders"
					 " WHERE queued_at IS NOT NULL AND status = 'active'"
					 " AND kind = 'central' ORDER BY queued_at, id LIMIT 500",
					 err);
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	enum fk_status s = FK_OK;
	int rc;
	if (!st)
		return FK_EDB;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			ids = fk_xrealloc(ids, cap * sizeof(*ids));
		}
		ids[n++] = col64(st, 0);
	}
	if (rc != SQLITE_DONE)
		s = fk_fail(err, FK_EDB, "cannot read the queue: %s", sqlite3_errmsg(wdb));
	sqlite3_finalize(st);
	for (size_t i = 0; !s && i < n; i++) {
		struct assign_result r;
		s = site_assign_order(wdb, p, ids[i], 0, now, "system", &r, err);
		if (s)
			break;
		if (r.queued && !share)
			break; /* no room is free anywhere: the rest wait too */
		if (!r.queued && ch)
			ch->done++;
	}
	free(ids);
	return s;
}

/* ---- validation ---- */

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* Not blank, 1..max characters, no control characters. */
static bool text_valid(const char *s, size_t max, bool may_be_empty)
{
	bool blank = true;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return false;
		if (*p != ' ')
			blank = false;
	}
	if (blank)
		return may_be_empty && !*s;
	return utf8_chars(s) <= max && strlen(s) <= max * 4;
}

static bool room_number_valid(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++) {
		char c = s[n];
		if (n >= ROOM_NUMBER_MAX || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
					      (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return n > 0;
}

static bool region_code_valid(const char *s)
{
	size_t n = strlen(s);
	return region_level_of_len(n) && fk_all_digits(s, n);
}

static const char *const staff_roles[] = {"manager",  "doctor",  "nurse",    "security",
					  "cleaner",  "driver",  "logistics", "psychologist"};

static bool staff_role_valid(const char *s)
{
	for (size_t i = 0; i < FK_ARRAY_LEN(staff_roles); i++)
		if (!strcmp(s, staff_roles[i]))
			return true;
	return false;
}

/* ---- sites: shared by the API and the CLI ---- */

struct site_in {
	const char *name, *region, *address;
	int floors, per_floor;
	bool bathroom;
};

/* Adds site in with its rooms (floor f room i numbered f*100+i) in one
 * transaction on w, audited.  FK_ENOTFOUND: no such region;
 * FK_ECONFLICT: the name is taken. */
static enum fk_status site_add(sqlite3 *w, const struct site_in *in, const char *actor,
			       const char *origin, int64_t now, int64_t *id, struct fk_err *err)
{
	sqlite3_stmt *st = NULL;
	char obj[40], detail[80];
	enum fk_status s = store_begin(w, err);
	int rc;
	if (s)
		return s;
	if (!(st = store_prepare(w, "SELECT 1 FROM regions WHERE code = ?1", err))) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_text(st, 1, in->region, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		s = rc == SQLITE_DONE ? fk_fail(err, FK_ENOTFOUND, "no region '%s'", in->region)
				      : fk_fail(err, FK_EDB, "cannot read regions: %s",
						sqlite3_errmsg(w));
		goto out;
	}
	sqlite3_finalize(st);
	if (!(st = store_prepare(w, "SELECT id FROM iso_sites WHERE name = ?1", err))) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_text(st, 1, in->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		s = fk_fail(err, FK_ECONFLICT, "an isolation site named '%s' exists (id %" PRId64 ")",
			    in->name, col64(st, 0));
		goto out;
	}
	sqlite3_finalize(st);
	if (!(st = store_prepare(w,
				 "INSERT INTO iso_sites(name, region_code, address, created_at,"
				 " created_by) VALUES(?1, ?2, ?3, ?4, ?5)",
				 err))) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_text(st, 1, in->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, in->region, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, in->address ? in->address : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	sqlite3_bind_text(st, 5, actor, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "cannot store the site: %s", sqlite3_errmsg(w));
		goto out;
	}
	*id = sqlite3_last_insert_rowid(w);
	sqlite3_finalize(st);
	if (!(st = store_prepare(w,
				 "INSERT INTO iso_rooms(site_id, number, floor, bathroom)"
				 " VALUES(?1, ?2, ?3, ?4)",
				 err))) {
		s = FK_EDB;
		goto out;
	}
	for (int f = 1; f <= in->floors; f++) {
		for (int i = 1; i <= in->per_floor; i++) {
			char num[16];
			snprintf(num, sizeof(num), "%d", f * 100 + i);
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, *id);
			sqlite3_bind_text(st, 2, num, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int(st, 3, f);
			sqlite3_bind_int(st, 4, in->bathroom);
			if (sqlite3_step(st) != SQLITE_DONE) {
				s = fk_fail(err, FK_EDB, "cannot store room %s: %s", num,
					    sqlite3_errmsg(w));
				goto out;
			}
		}
	}
	snprintf(obj, sizeof(obj), "iso_site:%" PRId64, *id);
	snprintf(detail, sizeof(detail), "%s, %d rooms", in->region, in->floors * in->per_floor);
	if ((s = audit_append(w, actor, "isolation.site.add", obj, detail, origin, err)))
		goto out;
	s = store_commit(w, err);
out:
	sqlite3_finalize(st);
	if (s)
		store_rollback(w);
	return s;
}

#define SITE_SELECT                                                                             \
	"SELECT s.id, s.name, s.region_code, coalesce(g.name, ''), s.address, s.status,"       \
	" (SELECT count(*) FROM iso_rooms r WHERE r.site_id = s.id),"                           \
	" (SELECT count(*) FROM iso_rooms r WHERE r.site_id = s.id AND r.status = 'ready'),"   \
	" (SELECT count(*) FROM iso_rooms r WHERE r.site_id = s.id AND " OCCUPIED("r") "),"    \
	" (SELECT count(*) FROM iso_rooms r WHERE r.site_id = s.id AND " FREE("r") ")"         \
	" FROM iso_sites s LEFT JOIN regions g ON g.code = s.region_code "

enum { SC_ID, SC_NAME, SC_REGION, SC_REGION_NAME, SC_ADDRESS, SC_STATUS, SC_ROOMS, SC_READY,
       SC_OCCUPIED, SC_FREE };

/* The site JSON of a SITE_SELECT row, without the closing brace; the
 * count of rooms only when count_rooms (the full JSON has "rooms" as the
 * array of rooms instead). */
static void site_row_json(struct strbuf *o, sqlite3_stmt *st, bool count_rooms)
{
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"name\":", col64(st, SC_ID));
	strbuf_add_json_str(o, http_col(st, SC_NAME));
	strbuf_addstr(o, ",\"region\":{\"code\":");
	strbuf_add_json_str(o, http_col(st, SC_REGION));
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, http_col(st, SC_REGION_NAME));
	strbuf_addstr(o, "},\"address\":");
	strbuf_add_json_str(o, http_col(st, SC_ADDRESS));
	strbuf_addstr(o, ",\"status\":");
	strbuf_add_json_str(o, http_col(st, SC_STATUS));
	if (count_rooms)
		strbuf_addf(o, ",\"rooms\":%" PRId64, col64(st, SC_ROOMS));
	strbuf_addf(o, ",\"ready\":%" PRId64 ",\"occupied\":%" PRId64 ",\"free\":%" PRId64,
		    col64(st, SC_READY), col64(st, SC_OCCUPIED), col64(st, SC_FREE));
}

static void time_or_null(struct strbuf *o, const char *key, sqlite3_stmt *st, int i)
{
	char ts[32];
	strbuf_addf(o, ",\"%s\":", key);
	if (col_null(st, i))
		strbuf_addstr(o, "null");
	else
		strbuf_addf(o, "\"%s\"", fk_format_time(col64(st, i), ts, sizeof(ts)));
}

/* A person from columns i.. (id, name, id_number, phone, grid, grid name). */
static void person_cols_json(struct strbuf *o, sqlite3_stmt *st, int i, bool reveal)
{
	char idm[40], phm[40];
	const char *idn = http_col(st, i + 2), *phone = http_col(st, i + 3);
	if (!reveal) {
		mask_id_number(idn, idm, sizeof(idm));
		mask_phone(phone, phm, sizeof(phm));
		idn = idm;
		phone = phm;
	}
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"name\":", col64(st, i));
	strbuf_add_json_str(o, http_col(st, i + 1));
	strbuf_addstr(o, ",\"id_number\":");
	strbuf_add_json_str(o, idn);
	strbuf_addstr(o, ",\"phone\":");
	strbuf_add_json_str(o, phone);
	strbuf_addstr(o, ",\"grid\":{\"code\":");
	strbuf_add_json_str(o, http_col(st, i + 4));
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, http_col(st, i + 5));
	strbuf_addstr(o, "}}");
}

#define PERSON_COLS "p.id, p.name, p.id_number, p.phone, p.grid_code, coalesce(pg.name, '')"
#define PERSON_JOIN " LEFT JOIN regions pg ON pg.code = p.grid_code"

#define ROOM_SELECT                                                                             \
	"SELECT r.id, r.number, r.floor, r.bathroom, r.capacity, r.status, x.order_id,"        \
	" x.planned_leave, " PERSON_COLS " FROM iso_rooms r"                                    \
	" LEFT JOIN stays x ON x.room_id = r.id AND x.left_at IS NULL"                          \
	" LEFT JOIN persons p ON p.id = x.person_id" PERSON_JOIN " "

/* Appends the rooms of a ROOM_SELECT statement (rows grouped by room)
 * as a JSON array, or the first room only as an object (one). */
static enum fk_status rooms_json(struct strbuf *o, sqlite3_stmt *st, bool reveal, bool one,
				 struct fk_err *err)
{
	int64_t last = 0;
	int rc, n = 0;
	char ts[32];
	if (!one)
		strbuf_addch(o, '[');
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = col64(st, 0);
		if (id != last) {
			if (last)
				strbuf_addstr(o, "]}");
			if (last && one)
				break;
			if (n++)
				strbuf_addch(o, ',');
			last = id;
			strbuf_addf(o, "{\"id\":%" PRId64 ",\"number\":", id);
			strbuf_add_json_str(o, http_col(st, 1));
			strbuf_addf(o, ",\"floor\":%d,\"bathroom\":%s,\"capacity\":%d,\"status\":",
				    sqlite3_column_int(st, 2),
				    sqlite3_column_int(st, 3) ? "true" : "false",
				    sqlite3_column_int(st, 4));
			strbuf_add_json_str(o, http_col(st, 5));
			strbuf_addstr(o, ",\"occupants\":[");
			if (col_null(st, 6))
				continue;
		} else {
			strbuf_addch(o, ',');
		}
		strbuf_addf(o, "{\"order_id\":%" PRId64 ",\"person\":", col64(st, 6));
		person_cols_json(o, st, 8, reveal);
		strbuf_addf(o, ",\"planned_leave\":\"%s\"}",
			    fk_format_time(col64(st, 7), ts, sizeof(ts)));
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fk_fail(err, FK_EDB, "cannot read rooms: %s",
			       sqlite3_errmsg(sqlite3_db_handle(st)));
	if (last && rc != SQLITE_ROW)
		strbuf_addstr(o, "]}");
	if (!one)
		strbuf_addch(o, ']');
	return FK_OK;
}

/* The full JSON of site id: the site, its rooms with their occupants and
 * its staff.  region (may be NULL) receives the site's region.
 * FK_ENOTFOUND, FK_EDB. */
static enum fk_status site_full_json(struct strbuf *o, sqlite3 *db, int64_t id, bool reveal,
				     char *region, size_t region_size, struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(db, SITE_SELECT "WHERE s.id = ?1", err);
	enum fk_status s = FK_OK;
	int rc;
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		s = rc == SQLITE_DONE ? fk_fail(err, FK_ENOTFOUND, "no isolation site %" PRId64, id)
				      : fk_fail(err, FK_EDB, "cannot read sites: %s",
						sqlite3_errmsg(db));
		goto out;
	}
	site_row_json(o, st, false);
	if (region)
		copy_col(st, SC_REGION, region, region_size);
	sqlite3_finalize(st);
	if (!(st = store_prepare(db,
				 ROOM_SELECT "WHERE r.site_id = ?1"
					     " ORDER BY r.floor, length(r.number), r.number, r.id, x.id",
				 err))) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	strbuf_addstr(o, ",\"rooms\":");
	if ((s = rooms_json(o, st, reveal, false, err)))
		goto out;
	sqlite3_finalize(st);
	if (!(st = store_prepare(db,
				 "SELECT id, name, role, phone, coalesce(username, '') FROM iso_staff"
				 " WHERE site_id = ?1 ORDER BY id",
				 err))) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	strbuf_addstr(o, ",\"staff\":[");
	for (int n = 0; (rc = sqlite3_step(st)) == SQLITE_ROW; n++) {
		char phm[40];
		const char *phone = http_col(st, 3);
		if (!reveal && *phone) {
			mask_phone(phone, phm, sizeof(phm));
			phone = phm;
		}
		strbuf_addf(o, "%s{\"id\":%" PRId64 ",\"name\":", n ? "," : "", col64(st, 0));
		strbuf_add_json_str(o, http_col(st, 1));
		strbuf_addstr(o, ",\"role\":");
		strbuf_add_json_str(o, http_col(st, 2));
		strbuf_addstr(o, ",\"phone\":");
		strbuf_add_json_str(o, phone);
		strbuf_addstr(o, ",\"username\":");
		if (*http_col(st, 4))
			strbuf_add_json_str(o, http_col(st, 4));
		else
			strbuf_addstr(o, "null");
		strbuf_addch(o, '}');
	}
	if (rc != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "cannot read staff: %s", sqlite3_errmsg(db));
		goto out;
	}
	strbuf_addstr(o, "]}");
out:
	sqlite3_finalize(st);
	return s;
}

/* ---- stays ---- */

#define STAY_SELECT                                                                             \
	"SELECT x.id, x.order_id, " PERSON_COLS ", s.id, s.name, r.id, r.number, r.floor,"     \
	" x.assigned_at, x.planned_leave, x.pickup_at, x.vehicle, x.arrived_at, x.left_at,"    \
	" s.region_code FROM stays x JOIN persons p ON p.id = x.person_id" PERSON_JOIN          \
	" JOIN iso_rooms r ON r.id = x.room_id JOIN iso_sites s ON s.id = r.site_id "

enum { XC_ID, XC_ORDER, XC_PERSON, XC_SITE = XC_PERSON + 6, XC_SITE_NAME, XC_ROOM, XC_NUMBER,
       XC_FLOOR, XC_ASSIGNED, XC_LEAVE, XC_PICKUP, XC_VEHICLE, XC_ARRIVED, XC_LEFT,
       XC_SITE_REGION };

static void stay_row_json(struct strbuf *o, sqlite3_stmt *st, bool reveal)
{
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"order_id\":%" PRId64 ",\"person\":",
		    col64(st, XC_ID), col64(st, XC_ORDER));
	person_cols_json(o, st, XC_PERSON, reveal);
	strbuf_addf(o, ",\"site\":{\"id\":%" PRId64 ",\"name\":", col64(st, XC_SITE));
	strbuf_add_json_str(o, http_col(st, XC_SITE_NAME));
	strbuf_addf(o, "},\"room\":{\"id\":%" PRId64 ",\"number\":", col64(st, XC_ROOM));
	strbuf_add_json_str(o, http_col(st, XC_NUMBER));
	strbuf_addf(o, ",\"floor\":%d}", sqlite3_column_int(st, XC_FLOOR));
	time_or_null(o, "assigned_at", st, XC_ASSIGNED);
	time_or_null(o, "planned_leave", st, XC_LEAVE);
	time_or_null(o, "pickup_at", st, XC_PICKUP);
	strbuf_addstr(o, ",\"vehicle\":");
	strbuf_add_json_str(o, http_col(st, XC_VEHICLE));
	time_or_null(o, "arrived_at", st, XC_ARRIVED);
	time_or_null(o, "left_at", st, XC_LEFT);
	strbuf_addch(o, '}');
}

static enum fk_status stay_json(struct strbuf *o, sqlite3 *db, int64_t id, bool reveal,
				struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(db, STAY_SELECT "WHERE x.id = ?1", err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	enum fk_status s = FK_OK;
	if (rc == SQLITE_ROW)
		stay_row_json(o, st, reveal);
	else
		s = rc == SQLITE_DONE ? fk_fail(err, FK_ENOTFOUND, "no stay %" PRId64, id)
				      : fk_fail(err, FK_EDB, "cannot read stays: %s",
						sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return s;
}

/* ---- HTTP ---- */

/* ?unmask=1 with PERM_UNMASK; false after answering 400. */
static bool reveal_of(struct http_req *req, bool *reveal)
{
	const char *um = http_query(req, "unmask");
	*reveal = false;
	if (um && strcmp(um, "0") && strcmp(um, "1")) {
		http_error(req, 400, NULL, "unmask must be 0 or 1");
		return false;
	}
	*reveal = um && !strcmp(um, "1") && (role_perms(req->user->role) & PERM_UNMASK);
	return true;
}

static bool path_id(struct http_req *req, const char *what, int64_t *id)
{
	if (fk_parse_i64(req->params[0], 1, INT64_MAX, id))
		return true;
	http_error(req, 404, NULL, "no %s '%s'", what, req->params[0]);
	return false;
}

static bool body_required(struct http_req *req, const char *key, const char *v)
{
	if (v && *v)
		return true;
	http_error(req, 400, NULL, "'%s' is required", key);
	return false;
}

static bool body_bool(struct http_req *req, json_t *o, const char *key, bool *out)
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

/* An optional "at": not in the future; false after answering 400. */
static bool body_at(struct http_req *req, json_t *o, int64_t now, int64_t *out)
{
	const char *s;
	*out = now;
	if (!http_member_str(req, o, "at", &s))
		return false;
	if (!s)
		return true;
	if (!fk_parse_time(s, out)) {
		http_error(req, 400, NULL,
			   "'at' is not an ISO 8601 time with offset (2022-01-10T08:30:00+08:00)");
		return false;
	}
	if (*out > now) {
		http_error(req, 400, NULL, "'at' is in the future");
		return false;
	}
	return true;
}

/* Loads site id's region, visible to the user; false after answering 404. */
static bool site_of_req(struct http_req *req, sqlite3 *db, int64_t id, char *region,
			size_t size)
{
	int64_t v[1] = {id};
	sqlite3_stmt *st;
	struct fk_err err;
	if (!(st = store_prepare(db, "SELECT region_code FROM iso_sites WHERE id = ?1", &err))) {
		http_fail(req, FK_EDB, &err);
		return false;
	}
	sqlite3_bind_int64(st, 1, v[0]);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		copy_col(st, 0, region, size);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW && site_visible(req->user->scope, region))
		return true;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		http_error(req, 500, NULL, "cannot read sites");
	else
		http_error(req, 404, NULL, "no isolation site %" PRId64 " in your scope", id);
	return false;
}

/* A change to a site needs its region inside the scope. */
static bool site_changeable(struct http_req *req, int64_t id, const char *region)
{
	if (access_scope_contains(req->user->scope, region))
		return true;
	http_error(req, 403, NULL, "isolation site %" PRId64 " lies in '%s', wider than your scope",
		   id, region);
	return false;
}

static void site_post(struct http_req *req)
{
	json_t *o = NULL;
	struct site_in in = {0};
	struct strbuf out = STRBUF_INIT;
	struct fk_err err;
	int64_t floors = 0, per = 0, id = 0;
	bool fg, pg;

	in.bathroom = true;
	if (!(o = http_body_object(req)))
		goto done;
	if (!http_member_str(req, o, "name", &in.name) ||
	    !http_member_str(req, o, "region", &in.region) ||
	    !http_member_str(req, o, "address", &in.address) ||
	    !http_member_int(req, o, "floors", 1, FLOORS_MAX, &floors, &fg) ||
	    !http_member_int(req, o, "rooms_per_floor", 1, ROOMS_PER_FLOOR_MAX, &per, &pg) ||
	    !body_bool(req, o, "bathroom", &in.bathroom))
		goto done;
	if (!body_required(req, "name", in.name) || !body_required(req, "region", in.region))
		goto done;
	if (!text_valid(in.name, SITE_NAME_MAX, false)) {
		http_error(req, 400, NULL,
			   "'name' must be 1 to %d characters without control characters",
			   SITE_NAME_MAX);
		goto done;
	}
	if (!region_code_valid(in.region)) {
		http_error(req, 400, NULL, "'region' must be a region code, not '%s'", in.region);
		goto done;
	}
	if (in.address && !text_valid(in.address, ADDRESS_MAX, true)) {
		http_error(req, 400, NULL,
			   "'address' must be at most %d characters without control characters",
			   ADDRESS_MAX);
		goto done;
	}
	if (fg != pg) {
		http_error(req, 400, NULL, "'%s' needs '%s' too", fg ? "floors" : "rooms_per_floor",
			   fg ? "rooms_per_floor" : "floors");
		goto done;
	}
	in.floors = (int)floors;
	in.per_floor = (int)per;
	if (!access_scope_contains(req->user->scope, in.region)) {
		http_error(req, 404, NULL, "no region '%s' in your scope", in.region);
		goto done;
	}
	sqlite3 *w = store_writer_lock();
	enum fk_status s = w ? site_add(w, &in, req->user->username, req->origin, fk_now(), &id, &err)
			     : fk_fail(&err, FK_EDB, "database unavailable");
	if (!s)
		s = site_full_json(&out, w, id, false, NULL, 0, &err);
	store_writer_unlock();
	if (s == FK_ENOTFOUND)
		http_error(req, 404, NULL, "no region '%s' in your scope", in.region);
	else if (s == FK_ECONFLICT)
		http_error(req, 409, "site_exists", "%s", err.msg);
	else if (s)
		http_fail(req, s, &err);
	else
		http_json(req, 201, out.buf);
done:
	strbuf_release(&out);
	json_decref(o);
}

static const char *const SITE_LIST_SQL =
	SITE_SELECT "WHERE s.id > ?1 AND " VISIBLE("s.region_code", "2")
		    " AND (?3 IS NULL OR " VISIBLE("s.region_code", "3") ")"
		    " ORDER BY s.id LIMIT ?4";

/* limit (max LIST_MAX) and an integer cursor; false after answering. */
static bool page_of(struct http_req *req, int *limit, int64_t *after)
{
	char key[KEY_MAX];
	*after = 0;
	if (!http_page_params(req, limit, key, sizeof(key)))
		return false;
	if (*limit > LIST_MAX) {
		http_error(req, 400, NULL, "limit must be from 1 to %d", LIST_MAX);
		return false;
	}
	if (key[0] && !fk_parse_i64(key, 0, INT64_MAX, after)) {
		http_error(req, 400, NULL, "cursor is not valid");
		return false;
	}
	return true;
}

static void sites_list(struct http_req *req)
{
	const char *region = http_query(req, "region");
	char last[KEY_MAX] = "";
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	sqlite3_stmt *st = NULL;
	int64_t after;
	int limit, n = 0, rc;

	if (!http_reader(req) || !page_of(req, &limit, &after))
		return;
	if (region && *region && !region_code_valid(region)) {
		http_error(req, 400, NULL, "region must be a region code, not '%s'", region);
		return;
	}
	if (!(st = store_reader_stmt(SITE_LIST_SQL, &err))) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_text(st, 2, req->user->scope, -1, SQLITE_STATIC);
	if (region && *region)
		sqlite3_bind_text(st, 3, region, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, limit + 1);
	strbuf_addstr(&o, "{\"items\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit)
			break;
		if (n++)
			strbuf_addch(&o, ',');
		site_row_json(&o, st, true);
		strbuf_addch(&o, '}');
		snprintf(last, sizeof(last), "%" PRId64, col64(st, SC_ID));
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		fk_fail(&err, FK_EDB, "isolation sites: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	/* counts only, no personal data: not audited */
	http_page_close(&o, rc == SQLITE_ROW, last);
	http_json(req, 200, o.buf);
done:
	store_stmt_done(st);
	strbuf_release(&o);
}

static void site_get(struct http_req *req)
{
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	char region[REGION_MAX + 1], obj[40];
	int64_t id;
	bool reveal;
	sqlite3 *db;
	if (!path_id(req, "isolation site", &id) || !reveal_of(req, &reveal) ||
	    !(db = http_reader(req)) || !site_of_req(req, db, id, region, sizeof(region)))
		goto done;
	enum fk_status s = site_full_json(&o, db, id, reveal, NULL, 0, &err);
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}
	http_json(req, 200, o.buf);
	snprintf(obj, sizeof(obj), "iso_site:%" PRId64, id);
	http_audit(req, "isolation.site.read", obj,
		   reveal ? "occupants shown unmasked" : "occupants masked");
done:
	strbuf_release(&o);
}

struct room_in {
	const char *number;
	int64_t floor, capacity;
	bool bathroom;
};

static void rooms_post(struct http_req *req)
{
	json_t *o = NULL, *arr, *v;
	struct room_in *rooms = NULL;
	struct strbuf out = STRBUF_INIT;
	struct fk_err err;
	char region[REGION_MAX + 1], obj[40], detail[64];
	sqlite3_stmt *st = NULL;
	sqlite3 *w = NULL;
	int64_t id;
	size_t n, i;
	enum fk_status s = FK_OK;

	if (!path_id(req, "isolation site", &id) || !(o = http_body_object(req)))
		goto done;
	arr = json_object_get(o, "rooms");
	if (!json_is_array(arr) || !(n = json_array_size(arr)) || n > ROOMS_ADD_MAX) {
		http_error(req, 400, NULL, "'rooms' must be an array of 1 to %d rooms",
			   ROOMS_ADD_MAX);
		goto done;
	}
	rooms = fk_xcalloc(n, sizeof(*rooms));
	json_array_foreach(arr, i, v)
	{
		struct room_in *r = &rooms[i];
		bool given;
		char key[48];
		r->bathroom = true;
		r->capacity = 1;
		if (!json_is_object(v)) {
			http_error(req, 400, NULL, "'rooms[%zu]' must be an object", i);
			goto done;
		}
		snprintf(key, sizeof(key), "rooms[%zu].number", i);
		json_t *num = json_object_get(v, "number");
		if (!json_is_string(num) || !room_number_valid(json_string_value(num))) {
			http_error(req, 400, NULL, "'%s' must be 1 to %d letters, digits or -", key,
				   ROOM_NUMBER_MAX);
			goto done;
		}
		r->number = json_string_value(num);
		snprintf(key, sizeof(key), "rooms[%zu].floor", i);
		if (!http_member_int(req, v, "floor", FLOOR_MIN, FLOOR_ROOM_MAX, &r->floor, &given))
			goto done;
		if (!given) {
			http_error(req, 400, NULL, "'%s' is required", key);
			goto done;
		}
		if (!http_member_int(req, v, "capacity", 1, 8, &r->capacity, &given) ||
		    !body_bool(req, v, "bathroom", &r->bathroom))
			goto done;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(rooms[j].number, r->number)) {
				http_error(req, 400, NULL, "'rooms[%zu].number' repeats '%s'", i,
					   r->number);
				goto done;
			}
		}
	}
	sqlite3 *db = http_reader(req);
	if (!db || !site_of_req(req, db, id, region, sizeof(region)) ||
	    !site_changeable(req, id, region))
		goto done;
	if (!(w = store_writer_lock())) {
		s = fk_fail(&err, FK_EDB, "database unavailable");
		goto fail;
	}
	if ((s = store_begin(w, &err)))
		goto fail;
	if (!(st = store_prepare(w,
				 "INSERT INTO iso_rooms(site_id, number, floor, bathroom, capacity)"
				 " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
				 &err))) {
		s = FK_EDB;
		goto fail;
	}
	for (i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, rooms[i].number, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, rooms[i].floor);
		sqlite3_bind_int(st, 4, rooms[i].bathroom);
		sqlite3_bind_int64(st, 5, rooms[i].capacity);
		if (sqlite3_step(st) != SQLITE_DONE) {
			s = fk_fail(&err, FK_EDB, "cannot store room '%s': %s", rooms[i].number,
				    sqlite3_errmsg(w));
			goto fail;
		}
		if (!sqlite3_changes(w)) {
			s = fk_fail(&err, FK_ECONFLICT, "site %" PRId64 " already has a room '%s'",
				    id, rooms[i].number);
			goto fail;
		}
	}
	snprintf(obj, sizeof(obj), "iso_site:%" PRId64, id);
	snprintf(detail, sizeof(detail), "%zu rooms", n);
	if ((s = audit_append(w, req->user->username, "isolation.rooms.add", obj, detail,
			      req->origin, &err)) ||
	    (s = store_commit(w, &err)))
		goto fail;
	strbuf_addf(&out, "{\"added\":%zu}", n);
	http_json(req, 201, out.buf);
fail:
	if (s) {
		if (w)
			store_rollback(w);
		if (s == FK_ECONFLICT)
			http_error(req, 409, "room_exists", "%s", err.msg);
		else
			http_fail(req, s, &err);
	}
	sqlite3_finalize(st);
	if (w)
		store_writer_unlock();
done:
	free(rooms);
	strbuf_release(&out);
	json_decref(o);
}

/* The JSON of room id (with its site and occupants). */
static enum fk_status room_json(struct strbuf *o, sqlite3 *db, int64_t id, struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(db, ROOM_SELECT "WHERE r.id = ?1 ORDER BY x.id", err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	size_t mark = o->len;
	enum fk_status s = rooms_json(o, st, false, true, err);
	sqlite3_finalize(st);
	if (s)
		return s;
	if (o->len == mark)
		return fk_fail(err, FK_ENOTFOUND, "no room %" PRId64, id);
	/* add the site before the closing brace */
	o->len--;
	o->buf[o->len] = '\0';
	st = store_prepare(db,
			   "SELECT s.id, s.name FROM iso_rooms r JOIN iso_sites s ON s.id = r.site_id"
			   " WHERE r.id = ?1",
			   err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		strbuf_addf(o, ",\"site\":{\"id\":%" PRId64 ",\"name\":", col64(st, 0));
		strbuf_add_json_str(o, http_col(st, 1));
		strbuf_addch(o, '}');
	}
	strbuf_addch(o, '}');
	sqlite3_finalize(st);
	return FK_OK;
}

static void room_post(struct http_req *req)
{
	json_t *o = NULL;
	const char *status;
	struct strbuf out = STRBUF_INIT;
	struct fk_err err;
	char region[REGION_MAX + 1], obj[40];
	int64_t id, site = 0;
	bool found;
	sqlite3 *db;

	if (!path_id(req, "room", &id) || !(o = http_body_object(req)) ||
	    !http_member_str(req, o, "status", &status) || !body_required(req, "status", status))
		goto done;
	if (strcmp(status, "ready") && strcmp(status, "cleaning") &&
	    strcmp(status, "out_of_service")) {
		http_error(req, 400, NULL, "'status' must be ready, cleaning or out_of_service");
		goto done;
	}
	if (!(db = http_reader(req)))
		goto done;
	if (query_2i(db, "SELECT site_id, 0 FROM iso_rooms WHERE id = ?1", &id, 1, &site, NULL,
		     &found, &err)) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	if (!found) {
		http_error(req, 404, NULL, "no room %" PRId64 " in your scope", id);
		goto done;
	}
	if (!site_of_req(req, db, site, region, sizeof(region)) ||
	    !site_changeable(req, site, region))
		goto done;
	sqlite3 *w = store_writer_lock();
	enum fk_status s = w ? store_begin(w, &err) : fk_fail(&err, FK_EDB, "database unavailable");
	if (!s) {
		sqlite3_stmt *st = store_prepare(w, "UPDATE iso_rooms SET status = ?2 WHERE id = ?1",
						 &err);
		if (!st)
			s = FK_EDB;
		if (st) {
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE)
				s = fk_fail(&err, FK_EDB, "cannot update room: %s", sqlite3_errmsg(w));
			sqlite3_finalize(st);
		}
		snprintf(obj, sizeof(obj), "iso_room:%" PRId64, id);
		if (!s)
			s = audit_append(w, req->user->username, "isolation.room.status", obj, status,
					 req->origin, &err);
		if (!s)
			s = store_commit(w, &err);
		if (s)
			store_rollback(w);
		if (!s)
			s = room_json(&out, w, id, &err);
	}
	store_writer_unlock();
	if (s)
		http_fail(req, s, &err);
	else
		http_json(req, 200, out.buf);
done:
	strbuf_release(&out);
	json_decref(o);
}

static void staff_post(struct http_req *req)
{
	json_t *o = NULL;
	const char *name, *role, *phone, *username;
	struct strbuf out = STRBUF_INIT;
	struct fk_err err;
	char region[REGION_MAX + 1], obj[40], phm[40];
	int64_t id, sid = 0;
	sqlite3 *db;

	if (!path_id(req, "isolation site", &id) || !(o = http_body_object(req)))
		goto done;
	if (!http_member_str(req, o, "name", &name) || !http_member_str(req, o, "role", &role) ||
	    !http_member_str(req, o, "phone", &phone) ||
	    !http_member_str(req, o, "username", &username) || !body_required(req, "name", name) ||
	    !body_required(req, "role", role))
		goto done;
	if (!text_valid(name, STAFF_NAME_MAX, false)) {
		http_error(req, 400, NULL,
			   "'name' must be 1 to %d characters without control characters",
			   STAFF_NAME_MAX);
		goto done;
	}
	if (!staff_role_valid(role)) {
		http_error(req, 400, NULL,
			   "'role' must be manager, doctor, nurse, security, cleaner, driver,"
			   " logistics or psychologist");
		goto done;
	}
	if (phone && *phone && !phone_valid(phone)) {
		http_error(req, 400, NULL, "'phone' must be a mainland mobile number (11 digits)");
		goto done;
	}
	if (!(db = http_reader(req)))
		goto done;
	if (username && *username) {
		struct user u;
		if (strlen(username) > USERNAME_MAX || user_get_by_name(db, username, &u, &err)) {
			http_error(req, 400, NULL, "'username' names no user");
			goto done;
		}
	}
	if (!site_of_req(req, db, id, region, sizeof(region)) || !site_changeable(req, id, region))
		goto done;
	sqlite3 *w = store_writer_lock();
	enum fk_status s = w ? store_begin(w, &err) : fk_fail(&err, FK_EDB, "database unavailable");
	if (!s) {
		sqlite3_stmt *st = store_prepare(w,
						 "INSERT INTO iso_staff(site_id, name, role, phone,"
						 " username) VALUES(?1, ?2, ?3, ?4, ?5)",
						 &err);
		if (!st)
			s = FK_EDB;
		if (st) {
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, role, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, phone ? phone : "", -1, SQLITE_STATIC);
			if (username && *username)
				sqlite3_bind_text(st, 5, username, -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE)
				s = fk_fail(&err, FK_EDB, "cannot store staff: %s", sqlite3_errmsg(w));
			sid = sqlite3_last_insert_rowid(w);
			sqlite3_finalize(st);
		}
		snprintf(obj, sizeof(obj), "iso_site:%" PRId64, id);
		if (!s)
			s = audit_append(w, req->user->username, "isolation.staff.add", obj, role,
					 req->origin, &err);
		if (!s)
			s = store_commit(w, &err);
		if (s)
			store_rollback(w);
	}
	store_writer_unlock();
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}
	phm[0] = '\0';
	if (phone && *phone)
		mask_phone(phone, phm, sizeof(phm));
	strbuf_addf(&out, "{\"id\":%" PRId64 ",\"site_id\":%" PRId64 ",\"name\":", sid, id);
	strbuf_add_json_str(&out, name);
	strbuf_addstr(&out, ",\"role\":");
	strbuf_add_json_str(&out, role);
	strbuf_addstr(&out, ",\"phone\":");
	strbuf_add_json_str(&out, phm);
	strbuf_addstr(&out, ",\"username\":");
	if (username && *username)
		strbuf_add_json_str(&out, username);
	else
		strbuf_addstr(&out, "null");
	strbuf_addch(&out, '}');
	http_json(req, 201, out.buf);
done:
	strbuf_release(&out);
	json_decref(o);
}

/* The path's order in the user's scope (by its person's grid); false
 * after answering 404. */
static bool order_of_req(struct http_req *req, sqlite3 *db, struct order_facts *o)
{
	struct fk_err err;
	int64_t id;
	if (!path_id(req, "order", &id))
		return false;
	enum fk_status s = order_facts_get(db, id, o, &err);
	if (s == FK_ENOTFOUND || (!s && !access_scope_contains(req->user->scope, o->grid))) {
		http_error(req, 404, NULL, "no order %" PRId64 " in your scope", id);
		return false;
	}
	if (s) {
		http_fail(req, s, &err);
		return false;
	}
	return true;
}

static void order_suggest(struct http_req *req)
{
	struct order_facts o;
	struct site_pick *sites = NULL;
	struct strbuf out = STRBUF_INIT;
	struct fk_err err;
	size_t n = 0, shown = 0;
	const struct policy *p = policy_current();
	bool share = p && p->household_may_share_room;
	sqlite3 *db = http_reader(req);
	sqlite3_stmt *st = NULL;

	if (!db || !order_of_req(req, db, &o))
		goto done;
	if (strcmp(o.kind, "central")) {
		http_error(req, 409, "not_central", "order %" PRId64 " is not central isolation",
			   o.id);
		goto done;
	}
	if (sites_by_distance(db, o.grid, req->user->scope, &sites, &n, &err)) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	int glevel = level_of(o.grid);
	strbuf_addstr(&out, "{\"sites\":[");
	for (size_t i = 0; i < n && shown < SUGGEST_MAX; i++) {
		int64_t room = 0, site = 0, v[3] = {o.household_id, o.person_id, sites[i].id};
		bool found = false;
		if (share && o.household_id &&
		    query_2i(db, HOUSEHOLD_ROOM_SQL, v, 3, &room, &site, &found, &err)) {
			http_fail(req, FK_EDB, &err);
			goto done;
		}
		if (!found && query_2i(db, FREE_ROOM_SQL, &sites[i].id, 1, &room, &site, &found,
				       &err)) {
			http_fail(req, FK_EDB, &err);
			goto done;
		}
		if (!found)
			continue;
		if (!(st = store_prepare(db, "SELECT number, floor FROM iso_rooms WHERE id = ?1",
					 &err))) {
			http_fail(req, FK_EDB, &err);
			goto done;
		}
		sqlite3_bind_int64(st, 1, room);
		if (sqlite3_step(st) != SQLITE_ROW) {
			sqlite3_finalize(st);
			st = NULL;
			continue;
		}
		strbuf_addf(&out, "%s{\"site\":{\"id\":%" PRId64 ",\"name\":", shown++ ? "," : "",
			    sites[i].id);
		strbuf_add_json_str(&out, sites[i].name);
		strbuf_addstr(&out, ",\"region\":");
		strbuf_add_json_str(&out, sites[i].region);
		strbuf_addf(&out,
			    "},\"free\":%" PRId64 ",\"distance\":%d,\"room\":{\"id\":%" PRId64
			    ",\"number\":",
			    sites[i].free, glevel - sites[i].level, room);
		strbuf_add_json_str(&out, http_col(st, 0));
		strbuf_addf(&out, ",\"floor\":%d}}", sqlite3_column_int(st, 1));
		sqlite3_finalize(st);
		st = NULL;
	}
	strbuf_addstr(&out, "]}");
	http_json(req, 200, out.buf);
done:
	sqlite3_finalize(st);
	free(sites);
	strbuf_release(&out);
}

static void order_assign(struct http_req *req)
{
	json_t *o = NULL;
	struct order_facts of;
	struct strbuf out = STRBUF_INIT;
	struct fk_err err;
	struct assign_result r = {0, 0, 0, false};
	char obj[40], detail[64], region[REGION_MAX + 1];
	int64_t room = 0, site = 0;
	bool given, found;
	sqlite3 *db = http_reader(req);

	if (!db || !order_of_req(req, db, &of))
		goto done;
	if (req->body && req->body_len) {
		if (!(o = http_body_object(req)) ||
		    !http_member_int(req, o, "room_id", 1, INT64_MAX, &room, &given))
			goto done;
	}
	if (strcmp(of.kind, "central")) {
		http_error(req, 409, "not_central", "order %" PRId64 " is not central isolation",
			   of.id);
		goto done;
	}
	if (strcmp(of.status, "active")) {
		http_error(req, 409, "not_active", "order %" PRId64 " is %s, not active", of.id,
			   of.status);
		goto done;
	}
	if (room) {
		if (query_2i(db, "SELECT site_id, 0 FROM iso_rooms WHERE id = ?1", &room, 1, &site,
			     NULL, &found, &err)) {
			http_fail(req, FK_EDB, &err);
			goto done;
		}
		if (!found) {
			http_error(req, 404, NULL, "no room %" PRId64 " in your scope", room);
			goto done;
		}
		if (!site_of_req(req, db, site, region, sizeof(region)))
			goto done;
	}
	sqlite3 *w = store_writer_lock();
	enum fk_status s = w ? store_begin(w, &err) : fk_fail(&err, FK_EDB, "database unavailable");
	if (!s) {
		s = site_assign_order(w, policy_current(), of.id, room, fk_now(),
				      req->user->username, &r, &err);
		snprintf(obj, sizeof(obj), "order:%" PRId64, of.id);
		if (r.queued)
			snprintf(detail, sizeof(detail), "queued");
		else
			snprintf(detail, sizeof(detail), "stay %" PRId64 " room %" PRId64, r.stay_id,
				 r.room_id);
		if (!s)
			s = audit_append(w, req->user->username, "order.assign", obj, detail,
					 req->origin, &err);
		if (!s)
			s = store_commit(w, &err);
		if (s)
			store_rollback(w);
		if (!s && !r.queued) {
			strbuf_addstr(&out, "{\"stay\":");
			s = stay_json(&out, w, r.stay_id, false, &err);
			strbuf_addch(&out, '}');
		}
	}
	store_writer_unlock();
	if (s == FK_ECONFLICT)
		http_error(req, 409, "room_not_free", "%s", err.msg);
	else if (s == FK_ENOTFOUND)
		http_error(req, 404, NULL, "%s", err.msg);
	else if (s)
		http_fail(req, s, &err);
	else if (r.queued)
		http_json(req, 200, "{\"queued\":true}");
	else
		http_json(req, 200, out.buf);
done:
	strbuf_release(&out);
	json_decref(o);
}

struct stay_facts {
	int64_t id, order_id, assigned_at, pickup_at;
	bool has_pickup, arrived, left;
};

/* The path's stay, in scope by its person's grid or its site's region;
 * false after answering 404. */
static bool stay_of_req(struct http_req *req, sqlite3 *db, struct stay_facts *x)
{
	struct fk_err err;
	sqlite3_stmt *st = NULL;
	if (!path_id(req, "stay", &x->id))
		return false;
	if (!(st = store_prepare(db,
				 "SELECT x.order_id, x.assigned_at, x.pickup_at, x.arrived_at IS NOT NULL,"
				 " x.left_at IS NOT NULL, p.grid_code, s.region_code FROM stays x"
				 " JOIN persons p ON p.id = x.person_id JOIN iso_rooms r ON r.id = x.room_id"
				 " JOIN iso_sites s ON s.id = r.site_id WHERE x.id = ?1",
				 &err))) {
		http_fail(req, FK_EDB, &err);
		return false;
	}
	sqlite3_bind_int64(st, 1, x->id);
	bool ok = sqlite3_step(st) == SQLITE_ROW &&
		  (access_scope_contains(req->user->scope, http_col(st, 5)) ||
		   access_scope_contains(req->user->scope, http_col(st, 6)));
	if (ok) {
		x->order_id = col64(st, 0);
		x->assigned_at = col64(st, 1);
		x->has_pickup = !col_null(st, 2);
		x->pickup_at = col64(st, 2);
		x->arrived = sqlite3_column_int(st, 3);
		x->left = sqlite3_column_int(st, 4);
	}
	sqlite3_finalize(st);
	if (!ok)
		http_error(req, 404, NULL, "no stay %" PRId64 " in your scope", x->id);
	return ok;
}

/* Pick-up (vehicle) or arrival of a stay. */
static void stay_transfer(struct http_req *req, bool arrive)
{
	json_t *o = NULL;
	const char *vehicle = NULL;
	struct stay_facts x;
	struct strbuf out = STRBUF_INIT;
	struct fk_err err;
	char obj[40], ts[32], detail[128];
	int64_t now = fk_now(), at = now;
	sqlite3 *db = http_reader(req);
	sqlite3_stmt *st = NULL;

	if (!db || !stay_of_req(req, db, &x))
		goto done;
	if (req->body && req->body_len) {
		if (!(o = http_body_object(req)))
			goto done;
	} else if (!arrive) {
		http_error(req, 400, NULL, "'vehicle' is required");
		goto done;
	}
	if (o && (!body_at(req, o, now, &at) ||
		  (!arrive && !http_member_str(req, o, "vehicle", &vehicle))))
		goto done;
	if (!o)
		at = now;
	if (!arrive && (!body_required(req, "vehicle", vehicle)))
		goto done;
	if (!arrive && !text_valid(vehicle, VEHICLE_MAX, false)) {
		http_error(req, 400, NULL,
			   "'vehicle' must be 1 to %d characters without control characters",
			   VEHICLE_MAX);
		goto done;
	}
	if (x.left) {
		http_error(req, 409, "stay_ended", "stay %" PRId64 " has ended", x.id);
		goto done;
	}
	if (x.arrived) {
		http_error(req, 409, "already_arrived", "stay %" PRId64 " has arrived", x.id);
		goto done;
	}
	if (arrive && !x.has_pickup) {
		http_error(req, 409, "not_picked_up",
			   "stay %" PRId64 " has no pick-up recorded (closed-loop transfer)", x.id);
		goto done;
	}
	int64_t floor_at = arrive ? x.pickup_at : x.assigned_at;
	if (at < floor_at) {
		http_error(req, 400, NULL, "'at' is before the %s (%s)",
			   arrive ? "pick-up" : "assignment",
			   fk_format_time(floor_at, ts, sizeof(ts)));
		goto done;
	}
	sqlite3 *w = store_writer_lock();
	enum fk_status s = w ? store_begin(w, &err) : fk_fail(&err, FK_EDB, "database unavailable");
	if (!s) {
		st = store_prepare(w,
				   arrive ? "UPDATE stays SET arrived_at = ?2 WHERE id = ?1"
					  : "UPDATE stays SET pickup_at = ?2, vehicle = ?3 WHERE id = ?1",
				   &err);
		if (!st)
			s = FK_EDB;
		if (st) {
			sqlite3_bind_int64(st, 1, x.id);
			sqlite3_bind_int64(st, 2, at);
			if (!arrive)
				sqlite3_bind_text(st, 3, vehicle, -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE)
				s = fk_fail(&err, FK_EDB, "cannot update the stay: %s",
					    sqlite3_errmsg(w));
			sqlite3_finalize(st);
			st = NULL;
		}
		if (!s && arrive) {
			st = store_prepare(w,
					   "UPDATE tasks SET status = 'done', done_at = ?2, done_by = ?3"
					   " WHERE order_id = ?1 AND kind = 'transfer' AND status = 'open'",
					   &err);
			if (!st)
				s = FK_EDB;
			if (st) {
				sqlite3_bind_int64(st, 1, x.order_id);
				sqlite3_bind_int64(st, 2, at);
				sqlite3_bind_text(st, 3, req->user->username, -1, SQLITE_STATIC);
				if (sqlite3_step(st) != SQLITE_DONE)
					s = fk_fail(&err, FK_EDB, "cannot close the transfer task: %s",
						    sqlite3_errmsg(w));
				sqlite3_finalize(st);
				st = NULL;
			}
		}
		if (arrive)
			snprintf(detail, sizeof(detail), "到达隔离点");
		else
			snprintf(detail, sizeof(detail), "转运车辆 %s 接人", vehicle);
		if (!s)
			s = order_event(w, x.order_id, at, arrive ? "arrived" : "pickup",
					req->user->username, detail, &err);
		snprintf(obj, sizeof(obj), "stay:%" PRId64, x.id);
		if (!s)
			s = audit_append(w, req->user->username, arrive ? "stay.arrive" : "stay.pickup",
					 obj, fk_format_time(at, ts, sizeof(ts)), req->origin, &err);
		if (!s)
			s = store_commit(w, &err);
		if (s)
			store_rollback(w);
		if (!s)
			s = stay_json(&out, w, x.id, false, &err);
	}
	store_writer_unlock();
	if (s)
		http_fail(req, s, &err);
	else
		http_json(req, 200, out.buf);
done:
	strbuf_release(&out);
	json_decref(o);
}

static void stay_pickup(struct http_req *req)
{
	stay_transfer(req, false);
}

static void stay_arrive(struct http_req *req)
{
	stay_transfer(req, true);
}

/* ---- the board ---- */

/* ?1 region R, ?2 day start, ?3 day end: the orders on R's board. */
#define ON_BOARD                                                                                \
	"(" UNDER("p.grid_code", "1") " OR EXISTS (SELECT 1 FROM stays bx"                      \
	" JOIN iso_rooms br ON br.id = bx.room_id JOIN iso_sites bs ON bs.id = br.site_id"      \
	" WHERE bx.order_id = o.id AND bx.left_at IS NULL AND " UNDER("bs.region_code", "1") "))"

#define CUR_SITE_JOIN                                                                           \
	" LEFT JOIN stays cx ON cx.order_id = o.id AND cx.left_at IS NULL"                      \
	" LEFT JOIN iso_rooms cr ON cr.id = cx.room_id LEFT JOIN iso_sites cs ON cs.id = cr.site_id"

#define FREE_ON(n)                                                                              \
	", coalesce(sum(r.status = 'ready' AND NOT EXISTS (SELECT 1 FROM stays x"               \
	" WHERE x.room_id = r.id AND x.left_at IS NULL AND x.planned_leave > ?" n ")), 0)"

/* ?1 region, ?2..?8 the starts of the seven days */
static const char *const BOARD_SITES_SQL =
	"SELECT s.id, s.name, count(r.id), coalesce(sum(" OCCUPIED("r") "), 0),"
	" coalesce(sum(" FREE("r") "), 0)"
	FREE_ON("2") FREE_ON("3") FREE_ON("4") FREE_ON("5") FREE_ON("6") FREE_ON("7") FREE_ON("8")
	" FROM iso_sites s LEFT JOIN iso_rooms r ON r.site_id = s.id"
	" WHERE " VISIBLE("s.region_code", "1") " GROUP BY s.id ORDER BY s.id";

static const char *const BOARD_TESTS_SQL =
	"SELECT t.order_id, " PERSON_COLS ", t.day, t.window_end, cs.id, cs.name"
	" FROM order_tests t JOIN orders o ON o.id = t.order_id"
	" JOIN persons p ON p.id = o.person_id" PERSON_JOIN CUR_SITE_JOIN
	" WHERE t.result IS NULL AND t.window_start < ?3 AND t.window_end > ?2"
	" AND o.status = 'active' AND t.required = 1 AND t.sampled_at IS NULL"
	" AND NOT EXISTS (SELECT 1 FROM samples m WHERE m.person_id = o.person_id"
	"  AND m.sampled_at >= t.window_start AND m.sampled_at < t.window_end)"
	" AND NOT EXISTS (SELECT 1 FROM test_results m WHERE m.person_id = o.person_id"
	"  AND m.sampled_at >= t.window_start AND m.sampled_at < t.window_end)"
	" AND " ON_BOARD " ORDER BY t.window_end, t.order_id";

static const char *const BOARD_RELEASES_SQL =
	"SELECT o.id, " PERSON_COLS ", o.planned_end,"
	" (SELECT group_concat(day) FROM (SELECT day FROM order_tests t WHERE t.order_id = o.id"
	"  AND t.required = 1 AND coalesce(t.result, '') <> 'negative' ORDER BY day)),"
	/* the two parts of person_results, each by its per-person index (a
	 * join with the compound view scans every sample of the city) */
	" (EXISTS (SELECT 1 FROM test_results m WHERE m.person_id = o.person_id"
	"   AND m.sampled_at >= o.start_at AND m.result IN ('positive', 'pool_positive'))"
	"  OR EXISTS (SELECT 1 FROM samples m JOIN tubes u ON u.id = m.tube_id"
	"   WHERE m.person_id = o.person_id AND m.sampled_at >= o.start_at"
	"   AND u.result = 'positive'))"
	" FROM orders o JOIN persons p ON p.id = o.person_id" PERSON_JOIN
	" WHERE o.status = 'active' AND o.planned_end >= ?2 AND o.planned_end < ?3"
	" AND " ON_BOARD " ORDER BY o.planned_end, o.id";

static const char *const BOARD_QUEUE_SQL =
	"SELECT o.id, " PERSON_COLS ", o.queued_at FROM orders o"
	" JOIN persons p ON p.id = o.person_id" PERSON_JOIN
	" WHERE o.status = 'active' AND o.kind = 'central' AND o.queued_at IS NOT NULL"
	" AND " ON_BOARD " ORDER BY o.queued_at, o.id";

static const char *const BOARD_TOTALS_SQL =
	"SELECT coalesce(sum(o.status = 'active'), 0),"
	" coalesce(sum(o.status = 'active' AND o.kind = 'central'), 0),"
	" coalesce(sum(o.status = 'active' AND o.kind <> 'central'), 0),"
	" coalesce(sum(o.status = 'active' AND o.kind = 'central' AND o.queued_at IS NOT NULL), 0),"
	" coalesce(sum(o.status = 'proposed'), 0)"
	" FROM orders o JOIN persons p ON p.id = o.person_id"
	" WHERE o.status IN ('active', 'proposed') AND " ON_BOARD "";

/* "YYYY-MM-DD" -> Unix days; false when not a date. */
static bool date_parse(const char *s, int64_t *days)
{
	int y, m, d;
	char tail;
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || !fk_valid_date(y, m, d))
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	*days = fk_days_from_civil(y, m, d);
	return true;
}

static void date_of_day(int64_t day, char *out, size_t size)
{
	char ts[32];
	fk_format_time(day * 86400 - LOCAL_OFFSET, ts, sizeof(ts));
	snprintf(out, size, "%.10s", ts);
}

static sqlite3_stmt *board_stmt(const char *sql, const char *region, int64_t start,
				struct fk_err *err)
{
	sqlite3_stmt *st = store_reader_stmt(sql, err);
	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, region, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, start);
	sqlite3_bind_int64(st, 3, start + CONTROL_DAY);
	return st;
}

static void board_get(struct http_req *req)
{
	const char *region = http_query(req, "region"), *date = http_query(req, "date");
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	sqlite3_stmt *st = NULL;
	int64_t now = fk_now(), day, start;
	char ds[16], ts[32];
	bool reveal;
	int rc, n;
	const struct policy *p = policy_current();
	bool need_negative = !p || p->release_requires_negative;

	if (!reveal_of(req, &reveal) || !http_reader(req))
		return;
	if (!region || !*region) {
		region = req->user->scope;
	} else if (!region_code_valid(region)) {
		http_error(req, 400, NULL, "region must be a region code, not '%s'", region);
		return;
	} else if (!access_scope_contains(req->user->scope, region)) {
		http_error(req, 404, NULL, "no region '%s' in your scope", region);
		return;
	}
	if (date && *date) {
		if (!date_parse(date, &day)) {
			http_error(req, 400, NULL, "date must be YYYY-MM-DD, not '%s'", date);
			return;
		}
	} else {
		day = (now + LOCAL_OFFSET) / CONTROL_DAY;
	}
	start = day * CONTROL_DAY - LOCAL_OFFSET;
	date_of_day(day, ds, sizeof(ds));
	strbuf_addstr(&o, "{\"date\":");
	strbuf_add_json_str(&o, ds);

	/* sites */
	if (!(st = store_reader_stmt(BOARD_SITES_SQL, &err)))
		goto fail;
	sqlite3_bind_text(st, 1, region, -1, SQLITE_STATIC);
	for (int i = 0; i < BOARD_DAYS; i++)
		sqlite3_bind_int64(st, 2 + i, start + (int64_t)i * CONTROL_DAY);
	strbuf_addstr(&o, ",\"sites\":[");
	for (n = 0; (rc = sqlite3_step(st)) == SQLITE_ROW; n++) {
		strbuf_addf(&o, "%s{\"id\":%" PRId64 ",\"name\":", n ? "," : "", col64(st, 0));
		strbuf_add_json_str(&o, http_col(st, 1));
		strbuf_addf(&o,
			    ",\"rooms\":%" PRId64 ",\"occupied\":%" PRId64 ",\"free\":%" PRId64
			    ",\"free_by_date\":[",
			    col64(st, 2), col64(st, 3), col64(st, 4));
		for (int i = 0; i < BOARD_DAYS; i++) {
			char d[16];
			date_of_day(day + i, d, sizeof(d));
			strbuf_addf(&o, "%s{\"date\":\"%s\",\"free\":%" PRId64 "}", i ? "," : "", d,
				    col64(st, 5 + i));
		}
		strbuf_addstr(&o, "]}");
	}
	if (rc != SQLITE_DONE)
		goto step_fail;
	store_stmt_done(st);

	/* tests due */
	if (!(st = board_stmt(BOARD_TESTS_SQL, region, start, &err)))
		goto fail;
	strbuf_addstr(&o, "],\"tests_due\":[");
	for (n = 0; (rc = sqlite3_step(st)) == SQLITE_ROW; n++) {
		strbuf_addf(&o, "%s{\"order_id\":%" PRId64 ",\"person\":", n ? "," : "",
			    col64(st, 0));
		person_cols_json(&o, st, 1, reveal);
		strbuf_addf(&o, ",\"day\":%d,\"window_end\":\"%s\",\"site\":",
			    sqlite3_column_int(st, 7), fk_format_time(col64(st, 8), ts, sizeof(ts)));
		if (col_null(st, 9)) {
			strbuf_addstr(&o, "null");
		} else {
			strbuf_addf(&o, "{\"id\":%" PRId64 ",\"name\":", col64(st, 9));
			strbuf_add_json_str(&o, http_col(st, 10));
			strbuf_addch(&o, '}');
		}
		strbuf_addstr(&o, ",\"grid\":");
		strbuf_add_json_str(&o, http_col(st, 5));
		strbuf_addch(&o, '}');
	}
	if (rc != SQLITE_DONE)
		goto step_fail;
	store_stmt_done(st);

	/* releases due */
	if (!(st = board_stmt(BOARD_RELEASES_SQL, region, start, &err)))
		goto fail;
	strbuf_addstr(&o, "],\"releases_due\":[");
	for (n = 0; (rc = sqlite3_step(st)) == SQLITE_ROW; n++) {
		const char *missing = http_col(st, 8);
		bool positive = sqlite3_column_int(st, 9);
		strbuf_addf(&o, "%s{\"order_id\":%" PRId64 ",\"person\":", n ? "," : "",
			    col64(st, 0));
		person_cols_json(&o, st, 1, reveal);
		strbuf_addf(&o, ",\"planned_end\":\"%s\",\"releasable\":%s,\"missing\":[%s]}",
			    fk_format_time(col64(st, 7), ts, sizeof(ts)),
			    !positive && (!need_negative || !*missing) ? "true" : "false", missing);
	}
	if (rc != SQLITE_DONE)
		goto step_fail;
	store_stmt_done(st);

	/* the queue */
	if (!(st = board_stmt(BOARD_QUEUE_SQL, region, start, &err)))
		goto fail;
	strbuf_addstr(&o, "],\"queue\":[");
	for (n = 0; (rc = sqlite3_step(st)) == SQLITE_ROW; n++) {
		int64_t q = col64(st, 7);
		strbuf_addf(&o, "%s{\"order_id\":%" PRId64 ",\"person\":", n ? "," : "",
			    col64(st, 0));
		person_cols_json(&o, st, 1, reveal);
		strbuf_addf(&o, ",\"queued_at\":\"%s\",\"waiting_s\":%" PRId64 "}",
			    fk_format_time(q, ts, sizeof(ts)), now > q ? now - q : 0);
	}
	if (rc != SQLITE_DONE)
		goto step_fail;
	store_stmt_done(st);

	/* totals */
	if (!(st = board_stmt(BOARD_TOTALS_SQL, region, start, &err)))
		goto fail;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		goto step_fail;
	strbuf_addf(&o,
		    "],\"totals\":{\"active\":%" PRId64 ",\"central\":%" PRId64 ",\"home\":%" PRId64
		    ",\"queued\":%" PRId64 ",\"proposed\":%" PRId64 "}}",
		    col64(st, 0), col64(st, 1), col64(st, 2), col64(st, 3), col64(st, 4));
	store_stmt_done(st);
	st = NULL;
	http_json(req, 200, o.buf);
	http_audit(req, "isolation.board", *region ? region : "all",
		   reveal ? "persons shown unmasked" : "persons masked");
	goto done;
step_fail:
	fk_fail(&err, FK_EDB, "isolation board: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
fail:
	http_fail(req, FK_EDB, &err);
done:
	store_stmt_done(st);
	strbuf_release(&o);
}

const struct http_route isolation_routes[] = {
	{"POST", "/api/v1/isolation/sites", site_post, ROUTE_JSON_BODY, PERM_ISOLATION, 0},
	{"GET", "/api/v1/isolation/sites", sites_list, 0, PERM_READ_CONTROL, 0},
	{"GET", "/api/v1/isolation/sites/{id}", site_get, 0, PERM_READ_CONTROL, 0},
	{"POST", "/api/v1/isolation/sites/{id}/rooms", rooms_post, ROUTE_JSON_BODY,
	 PERM_ISOLATION, ROOMS_BODY_MAX},
	{"POST", "/api/v1/isolation/rooms/{id}", room_post, ROUTE_JSON_BODY, PERM_ISOLATION, 0},
	{"POST", "/api/v1/isolation/sites/{id}/staff", staff_post, ROUTE_JSON_BODY,
	 PERM_ISOLATION, 0},
	{"GET", "/api/v1/orders/{id}/suggest", order_suggest, 0, PERM_READ_CONTROL, 0},
	{"POST", "/api/v1/orders/{id}/assign", order_assign, 0, PERM_ISOLATION, 0},
	{"POST", "/api/v1/stays/{id}/pickup", stay_pickup, ROUTE_JSON_BODY, PERM_ISOLATION, 0},
	{"POST", "/api/v1/stays/{id}/arrive", stay_arrive, 0, PERM_ISOLATION, 0},
	{"GET", "/api/v1/isolation/board", board_get, ROUTE_OPTIONAL, PERM_READ_CONTROL, 0},
};
const size_t isolation_routes_len = FK_ARRAY_LEN(isolation_routes);

/* ---- CLI ---- */

static void usage(FILE *f)
{
	fputs("usage: fangkong isolation add-site --name N --region CODE --floors F\n"
	      "                                   --rooms-per-floor K [--address A]\n"
	      "                                   [--no-bathroom] [--db FILE] [--json]\n"
	      "       fangkong isolation list [--db FILE] [--json]\n"
	      "\n"
	      "add-site adds a centralized isolation site in region CODE (any level) with\n"
	      "F floors of K rooms each, numbered floor * 100 + i (101, 102, ... 1K), one\n"
	      "person a room, with their own bathroom unless --no-bathroom.  F and K are\n"
	      "1 to 99; site names are unique.  It prints the new site's id.\n"
	      "list prints every site with its rooms, ready, occupied and free rooms (a\n"
	      "free room is ready with nobody in it).\n"
	      "\n"
	      "Exit status: 0 done, 2 bad usage or input (unknown region), 1 other failure\n"
	      "(a site of that name exists).\n",
	      f);
}

static bool cli_open(const char *dbflag, sqlite3 **db)
{
	struct fk_err err;
	if (store_open(store_default_path(dbflag), STORE_MIGRATE, db, &err)) {
		fprintf(stderr, "fangkong isolation: %s\n", err.msg);
		return false;
	}
	return true;
}

static int cli_add_site(int argc, char **argv)
{
	const char *dbflag = NULL;
	struct site_in in = {0};
	struct strbuf out = STRBUF_INIT;
	struct fk_err err;
	sqlite3 *db = NULL;
	int64_t floors = 0, per = 0, id = 0;
	bool json = false;
	int ch, rc = 2;
	char actor[96];
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},
		{"region", required_argument, NULL, 'r'},
		{"floors", required_argument, NULL, 'f'},
		{"rooms-per-floor", required_argument, NULL, 'k'},
		{"address", required_argument, NULL, 'a'},
		{"no-bathroom", no_argument, NULL, 'b'},
		{"db", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	in.bathroom = true;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': in.name = optarg; break;
		case 'r': in.region = optarg; break;
		case 'f':
			if (!fk_parse_i64(optarg, 1, FLOORS_MAX, &floors)) {
				fprintf(stderr, "fangkong isolation add-site: --floors '%s' is not a"
						" number from 1 to %d\n",
					optarg, FLOORS_MAX);
				return 2;
			}
			break;
		case 'k':
			if (!fk_parse_i64(optarg, 1, ROOMS_PER_FLOOR_MAX, &per)) {
				fprintf(stderr, "fangkong isolation add-site: --rooms-per-floor '%s' is"
						" not a number from 1 to %d\n",
					optarg, ROOMS_PER_FLOOR_MAX);
				return 2;
			}
			break;
		case 'a': in.address = optarg; break;
		case 'b': in.bathroom = false; break;
		case 'd': dbflag = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fangkong isolation add-site: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	static const char *const need[] = {"--name", "--region", "--floors", "--rooms-per-floor"};
	const char *have[] = {in.name, in.region, floors ? "" : NULL, per ? "" : NULL};
	for (size_t i = 0; i < FK_ARRAY_LEN(need); i++) {
		if (!have[i]) {
			fprintf(stderr, "fangkong isolation add-site: %s is required\n", need[i]);
			return 2;
		}
	}
	if (!text_valid(in.name, SITE_NAME_MAX, false)) {
		fprintf(stderr, "fangkong isolation add-site: --name must be 1 to %d characters"
				" without control characters\n",
			SITE_NAME_MAX);
		return 2;
	}
	if (!region_code_valid(in.region)) {
		fprintf(stderr, "fangkong isolation add-site: --region '%s' is not a region code\n",
			in.region);
		return 2;
	}
	if (in.address && !text_valid(in.address, ADDRESS_MAX, true)) {
		fprintf(stderr, "fangkong isolation add-site: --address must be at most %d"
				" characters without control characters\n",
			ADDRESS_MAX);
		return 2;
	}
	in.floors = (int)floors;
	in.per_floor = (int)per;
	if (sodium_init() < 0 || !cli_open(dbflag, &db))
		return 1;
	fk_cli_actor("cli", actor, sizeof(actor));
	enum fk_status s = site_add(db, &in, actor, "cli", fk_now(), &id, &err);
	if (s == FK_ENOTFOUND) {
		fprintf(stderr, "fangkong isolation add-site: --region '%s': no such region\n",
			in.region);
		goto out;
	}
	rc = 1;
	if (!s && json)
		s = site_full_json(&out, db, id, false, NULL, 0, &err);
	if (s) {
		fprintf(stderr, "fangkong isolation add-site: %s\n", err.msg);
		goto out;
	}
	if (json)
		printf("%s\n", out.buf);
	else
		printf("isolation site %" PRId64 " added: %s, %d rooms\n", id, in.name,
		       in.floors * in.per_floor);
	rc = 0;
out:
	strbuf_release(&out);
	store_close(db);
	return rc;
}

static int cli_list(int argc, char **argv)
{
	const char *dbflag = NULL;
	struct fk_err err;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	bool json = false;
	int ch, rc = 1, n = 0;
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': dbflag = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fangkong isolation list: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!cli_open(dbflag, &db))
		return 1;
	if (!(st = store_prepare(db, SITE_SELECT "ORDER BY s.id", &err))) {
		fprintf(stderr, "fangkong isolation list: %s\n", err.msg);
		goto out;
	}
	if (json)
		fputs("[", stdout);
	else
		printf("%-6s %-24s %-16s %-7s %6s %6s %8s %6s\n", "id", "name", "region", "status",
		       "rooms", "ready", "occupied", "free");
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (json) {
			struct strbuf o = STRBUF_INIT;
			site_row_json(&o, st, true);
			strbuf_addch(&o, '}');
			printf("%s%s", n ? "," : "", o.buf);
			strbuf_release(&o);
		} else {
			printf("%-6" PRId64 " %-24s %-16s %-7s %6" PRId64 " %6" PRId64 " %8" PRId64
			       " %6" PRId64 "\n",
			       col64(st, SC_ID), http_col(st, SC_NAME), http_col(st, SC_REGION),
			       http_col(st, SC_STATUS), col64(st, SC_ROOMS), col64(st, SC_READY),
			       col64(st, SC_OCCUPIED), col64(st, SC_FREE));
		}
		n++;
	}
	if (step != SQLITE_DONE) {
		fprintf(stderr, "fangkong isolation list: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	if (json)
		fputs("]\n", stdout);
	rc = 0;
out:
	sqlite3_finalize(st);
	store_close(db);
	return rc;
}

int cmd_isolation(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	argc--;
	argv++;
	if (!strcmp(sub, "add-site"))
		return cli_add_site(argc, argv);
	if (!strcmp(sub, "list"))
		return cli_list(argc, argv);
	fprintf(stderr, "fangkong isolation: unknown subcommand '%s' (add-site or list)\n", sub);
	return 2;
}
