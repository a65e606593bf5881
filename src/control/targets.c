/* targets.c — a case's milestones (team on site, core information,
 * report, outcome) and its time targets.  (Being written: placeholders.) */
#include "control/control_int.h"

#include "http/http.h"

#include "lib/banned.h"

const struct http_route targets_routes[] = {
	{NULL, NULL, NULL, 0, 0, 0},
};
const size_t targets_routes_len = 0;
