/* control.h — the control loop: a case's time targets, orders for its
 * contacts (proposed per policy, confirmed in bulk), their test schedules,
 * isolation sites and rooms, the five responsible people, health checks,
 * release, and risk areas.
 *
 * The loop.  A case is added (tracing) -> control_case_added() ends the
 * person's own orders, upgrades the secondary contacts who came through
 * them, and proposes an order for every close and secondary contact the
 * tracing engine recorded -> the command confirms proposals in bulk
 * (activation: test schedule tasks, the five responsible people and their
 * tasks, a room for a central order or the queue) -> the health code reads
 * the orders (control_code_facts) -> control_tick(), run every second by
 * the server and by `fangkong control tick`, records test results against
 * the schedule, releases orders at their planned end (or extends them),
 * starts the second phase (home monitoring), turns missed checks into
 * tasks, assigns queued orders to rooms that came free and lowers risk
 * areas when their countdown ends.
 *
 * Times are Unix seconds; a day is 86,400 s and an order's day d is
 * [start_at + (d-1) days, start_at + d days).
 */
#ifndef FK_CONTROL_H
#define FK_CONTROL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "healthcode/facts.h"
#include "lib/err.h"

/* control_code_facts(_all) and control_risk_areas are declared in
 * healthcode/facts.h: FACT_ORDER rows of active and completed orders
 * (proposed and cancelled ones impose nothing), and every risk area. */

struct case_rec;
struct policy;

/* Persons whose facts changed (their codes must be recomputed), or all. */
struct control_changes {
	int64_t *persons;
	size_t n, cap;
	bool all;      /* a risk area changed: every resident */
	unsigned done; /* things the tick did (for logs and tests) */
};
void control_changes_add(struct control_changes *ch, int64_t person_id);
void control_changes_release(struct control_changes *ch);
/* In the server, tells the health code (healthcode_person_changed, or
 * healthcode_all_changed); outside it, nothing. */
void control_changes_publish(const struct control_changes *ch);

/* After a case was added and its contacts recorded (every path that adds
 * a case calls it: POST /api/v1/cases, a candidate's confirmation, `fangkong
 * case add`).  Ends the person's active and proposed orders (end_reason
 * became_case at the case's created_at), upgrades the secondary contacts
 * whose order names this person (link_person) to close contacts, and
 * proposes orders for the case's recorded contacts (control_propose).  In
 * the server (server true) it takes the writer itself; outside, db is the
 * only writer.  *proposed (may be NULL) receives the orders proposed. */
enum fk_status control_case_added(sqlite3 *db, const struct case_rec *c, int64_t now,
				  bool server, const char *actor, size_t *proposed,
				  struct fk_err *err);

/* Proposes an order (phase 1, status proposed) for every contact of case
 * case_id recorded in table contacts that has none yet, per policy p, in
 * the caller's transaction on wdb.  Idempotent.  Counts in *proposed and
 * *skipped (either may be NULL). */
enum fk_status control_propose(sqlite3 *wdb, const struct policy *p, int64_t case_id,
			       int64_t now, const char *actor, size_t *proposed, size_t *skipped,
			       struct control_changes *ch, struct fk_err *err);

/* One pass of the loop at `now` (see above), each part in its own
 * transaction on wdb (the caller holds the writer).  ch receives the
 * persons whose codes changed. */
enum fk_status control_tick(sqlite3 *wdb, int64_t now, struct control_changes *ch,
			    struct fk_err *err);

/* The server's tick thread (every second). */
enum fk_status control_server_start(struct fk_err *err);
void control_server_stop(void);

/* CLI */
int cmd_orders(int argc, char **argv);      /* fangkong orders ... */
int cmd_control(int argc, char **argv);     /* fangkong control tick ... */
int cmd_isolation(int argc, char **argv);   /* fangkong isolation ... */
int cmd_responsible(int argc, char **argv); /* fangkong responsible ... */
int cmd_risk(int argc, char **argv);        /* fangkong risk ... */

#endif
