/* risk.c — risk areas: designation, automatic lowering per policy with
 * its countdown, the command's confirmation, the public list.  (Being
 * written: placeholders.) */
#include "control/control_int.h"

#include <stdio.h>

#include "http/http.h"

#include "lib/banned.h"

const struct http_route risk_routes[] = {
	{NULL, NULL, NULL, 0, 0, 0},
};
const size_t risk_routes_len = 0;

enum fk_status risk_tick(sqlite3 *wdb, int64_t now, struct control_changes *ch,
			 struct fk_err *err)
{
	(void)wdb, (void)now, (void)ch, (void)err;
	return FK_OK;
}

int cmd_risk(int argc, char **argv)
{
	(void)argc, (void)argv;
	fputs("fangkong risk: not built yet\n", stderr);
	return 1;
}
