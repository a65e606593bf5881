/* checkpoint.c — arrivals at checkpoints (placeholder until it lands). */
#include "checkins/checkins.h"

#include "http/http.h"

#include "lib/banned.h"

const struct http_route checkpoint_routes[] = {{NULL, NULL, NULL, 0, 0, 0}};
const size_t checkpoint_routes_len = 0;
