/* http_checkins.c — scans and alerts over HTTP. */
#include "checkins/checkins.h"
#include "http/http.h"
#include "lib/util.h"

#include "lib/banned.h"

const struct http_route checkins_routes[] = {
	{NULL, NULL, NULL, 0, 0, 0},
};
const size_t checkins_routes_len = 0;
