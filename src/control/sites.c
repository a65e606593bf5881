/* sites.c — centralized isolation sites, rooms, staff, stays, the
 * assignment of a room, the queue and closed-loop transfer, and the
 * isolation board.  (Being written: placeholders.) */
#include "control/control_int.h"

#include <stdio.h>

#include "http/http.h"

#include "lib/banned.h"

const struct http_route isolation_routes[] = {
	{NULL, NULL, NULL, 0, 0, 0},
};
const size_t isolation_routes_len = 0;

enum fk_status site_assign_order(sqlite3 *wdb, const struct policy *p, int64_t order_id,
				 int64_t room_id, int64_t now, const char *actor,
				 struct assign_result *out, struct fk_err *err)
{
	(void)wdb, (void)p, (void)order_id, (void)room_id, (void)now, (void)actor, (void)err;
	*out = (struct assign_result){0, 0, 0, true};
	return FK_OK;
}

enum fk_status site_order_ended(sqlite3 *wdb, int64_t order_id, int64_t at,
				struct fk_err *err)
{
	(void)wdb, (void)order_id, (void)at, (void)err;
	return FK_OK;
}

enum fk_status site_order_moved(sqlite3 *wdb, int64_t order_id, int64_t planned_end,
				struct fk_err *err)
{
	(void)wdb, (void)order_id, (void)planned_end, (void)err;
	return FK_OK;
}

enum fk_status sites_tick(sqlite3 *wdb, int64_t now, struct control_changes *ch,
			  struct fk_err *err)
{
	(void)wdb, (void)now, (void)ch, (void)err;
	return FK_OK;
}

int cmd_isolation(int argc, char **argv)
{
	(void)argc, (void)argv;
	fputs("fangkong isolation: not built yet\n", stderr);
	return 1;
}
