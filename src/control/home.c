/* home.c — the five responsible people of an order ("五包一") and their
 * tasks, and the twice-daily temperature and symptom checks.  (Being
 * written: placeholders.) */
#include "control/control_int.h"

#include <stdio.h>

#include "http/http.h"

#include "lib/banned.h"

const struct http_route home_routes[] = {
	{NULL, NULL, NULL, 0, 0, 0},
};
const size_t home_routes_len = 0;

enum fk_status responsibles_assign(sqlite3 *wdb, int64_t order_id, int64_t now,
				   struct fk_err *err)
{
	(void)wdb, (void)order_id, (void)now, (void)err;
	return FK_OK;
}

enum fk_status checks_tick(sqlite3 *wdb, int64_t now, struct control_changes *ch,
			   struct fk_err *err)
{
	(void)wdb, (void)now, (void)ch, (void)err;
	return FK_OK;
}

int cmd_responsible(int argc, char **argv)
{
	(void)argc, (void)argv;
	fputs("fangkong responsible: not built yet\n", stderr);
	return 1;
}
