/* control_int.h — what the control files call of each other.
 *
 * Owners: orders.c (orders, their events, activation, ends, the case
 * hook), schedule.c (test days, release, extension, the second phase),
 * tick.c (the tick: order of the parts, the server thread, `fangkong
 * control`), sites.c (isolation sites, rooms, stays, the queue), home.c
 * (the five responsible people, health checks), risk.c (risk areas),
 * targets.c (a case's milestones and time targets).
 *
 * Every function taking `wdb` runs inside the caller's transaction on the
 * writer and never commits; `now` is the time of the change.
 */
#ifndef FK_CONTROL_INT_H
#define FK_CONTROL_INT_H

#include "control/control.h"
#include "policy/policy.h"

#define CONTROL_DAY 86400

/* ---- orders.c ---- */
enum order_category { CAT_CASE, CAT_CLOSE, CAT_SECONDARY, CAT_ARRIVAL, CAT_OTHER };
const char *order_category_name(enum order_category c); /* "close" */
bool order_category_parse(const char *s, enum order_category *out);

/* A new order: status proposed (activate later) or active. */
struct order_new {
	int64_t person_id;
	enum order_kind kind;
	enum order_category category;
	int64_t case_id;     /* 0: none */
	int phase;           /* 1 or 2 */
	int64_t prev_order;  /* 0: none */
	int64_t link_person; /* 0: none */
	int64_t start_at, planned_end;
	const int *test_days; /* 1-based days of this phase (schedule_create) */
	int ntest_days;
	bool active;          /* insert as active (activated at now by actor) */
};
/* Inserts the order, its test days (schedule_create) and a "proposed" or
 * "activated" event; an active one is then activated (order_activate's
 * effects).  *id receives its id. */
enum fk_status order_insert(sqlite3 *wdb, const struct policy *p, const struct order_new *o,
			    int64_t now, const char *actor, int64_t *id,
			    struct control_changes *ch, struct fk_err *err);
/* proposed -> active: schedule_activate, responsibles_assign, and for a
 * central order site_assign_order (nearest free room, else the queue);
 * the person's other active orders of the contact categories whose
 * planned end is earlier end as superseded.  FK_ECONFLICT when the order
 * is not proposed. */
enum fk_status order_activate(sqlite3 *wdb, const struct policy *p, int64_t order_id,
			      int64_t now, const char *actor, struct control_changes *ch,
			      struct fk_err *err);
/* Ends an active or proposed order at `at`: status completed (released,
 * released_early, became_case, upgraded, superseded) or cancelled
 * (cancelled), ended_at, end_reason, an event with detail; closes the
 * stay (site_order_ended) and cancels the order's open tasks. */
enum fk_status order_end(sqlite3 *wdb, int64_t order_id, int64_t at, const char *reason,
			 const char *actor, const char *detail, struct control_changes *ch,
			 struct fk_err *err);
/* Appends an event to the order's timeline. */
enum fk_status order_event(sqlite3 *wdb, int64_t order_id, int64_t at, const char *kind,
			   const char *actor, const char *detail, struct fk_err *err);

/* Batches.  control_propose, the case hook and each transaction of a
 * bulk confirmation run as one batch: meanwhile control_stmt keeps the
 * statements prepared for the batch's connection (outside a batch, or
 * for another connection, it prepares one that control_stmt_done
 * finalizes), and the control files may keep what the batch cannot
 * change under them, tagged with control_batch_id (0 outside a batch;
 * each batch a new number). */
sqlite3_stmt *control_stmt(sqlite3 *wdb, const char *sql, struct fk_err *err);
void control_stmt_done(sqlite3_stmt *st);
uint64_t control_batch_id(sqlite3 *wdb);
/* The transactions of one bulk confirmation share a run number (a lone
 * batch is its own run); 0 outside a batch.  What a run keeps must be
 * true whatever other transactions did between its batches. */
uint64_t control_batch_run(sqlite3 *wdb);

/* ---- schedule.c ---- */
/* Inserts order_tests rows for days[0..n) of an order starting at start. */
enum fk_status schedule_create(sqlite3 *wdb, int64_t order_id, int64_t person_id,
			       int64_t start, const int *days, int n, struct fk_err *err);
/* At activation: marks each test day required when its window ends after
 * now, and adds an order_test task per required day (region: the site's
 * region for a central order with a room, else the person's grid; due at
 * the window's end). */
enum fk_status schedule_activate(sqlite3 *wdb, int64_t order_id, int64_t now,
				 struct fk_err *err);
/* The tick's part: results against test days, release or extension at the
 * planned end, the second phase. */
enum fk_status schedule_tick(sqlite3 *wdb, int64_t now, struct control_changes *ch,
			     struct fk_err *err);

/* ---- sites.c ---- */
struct assign_result {
	int64_t stay_id, room_id, site_id; /* 0 when queued */
	bool queued;
};
/* Gives a central order a room: room_id, or when 0 the nearest open site
 * (deepest common region with the person's grid, then most free rooms,
 * then lowest id) with a free ready room (lowest floor, then number); a
 * household member's room when the policy lets households share.  None
 * free: the order is queued (orders.queued_at) with an alert.
 * FK_ECONFLICT when room_id is given and not free. */
enum fk_status site_assign_order(sqlite3 *wdb, const struct policy *p, int64_t order_id,
				 int64_t room_id, int64_t now, const char *actor,
				 struct assign_result *out, struct fk_err *err);
/* The order ended (or moved to home monitoring): its current stay leaves at `at`. */
enum fk_status site_order_ended(sqlite3 *wdb, int64_t order_id, int64_t at,
				struct fk_err *err);
/* The order's planned end moved: the stay's planned_leave follows. */
enum fk_status site_order_moved(sqlite3 *wdb, int64_t order_id, int64_t planned_end,
				struct fk_err *err);
/* The tick's part: queued orders get rooms that came free, oldest first. */
enum fk_status sites_tick(sqlite3 *wdb, int64_t now, struct control_changes *ch,
			  struct fk_err *err);

/* ---- home.c ---- */
/* For each of the five roles, the responsible registered at the deepest
 * region above the order's person's grid (order_responsibles), and their
 * tasks. */
enum fk_status responsibles_assign(sqlite3 *wdb, int64_t order_id, int64_t now,
				   struct fk_err *err);
/* The tick's part: a check slot that ended without a check under an
 * active order becomes a check_missed task. */
enum fk_status checks_tick(sqlite3 *wdb, int64_t now, struct control_changes *ch,
			   struct fk_err *err);

/* ---- risk.c ---- */
/* The tick's part: risk areas whose countdown ended are lowered. */
enum fk_status risk_tick(sqlite3 *wdb, int64_t now, struct control_changes *ch,
			 struct fk_err *err);

#endif
