/* schedule.c — an order's test days, and release: at the planned end
 * with every required test negative the order completes (and its second
 * phase starts), else it is extended.  (Being written: placeholders.) */
#include "control/control_int.h"

#include "lib/banned.h"

enum fk_status schedule_create(sqlite3 *wdb, int64_t order_id, int64_t person_id,
			       int64_t start, const int *days, int n, struct fk_err *err)
{
	(void)wdb, (void)order_id, (void)person_id, (void)start, (void)days, (void)n, (void)err;
	return FK_OK;
}

enum fk_status schedule_activate(sqlite3 *wdb, int64_t order_id, int64_t now,
				 struct fk_err *err)
{
	(void)wdb, (void)order_id, (void)now, (void)err;
	return FK_OK;
}

enum fk_status schedule_tick(sqlite3 *wdb, int64_t now, struct control_changes *ch,
			     struct fk_err *err)
{
	(void)wdb, (void)now, (void)ch, (void)err;
	return FK_OK;
}
