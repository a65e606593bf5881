/* http_tracing.c — cases, contacts, trajectories and chains over HTTP. */
#include "http/http.h"
#include "lib/util.h"
#include "tracing/tracing.h"

#include "lib/banned.h"

const struct http_route tracing_routes[] = {
	{NULL, NULL, NULL, 0, 0, 0},
};
const size_t tracing_routes_len = 0;
