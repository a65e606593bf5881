/* http_int.h — internal to http/: metrics shared by server.c and metrics.c. */
#ifndef FK_HTTP_INT_H
#define FK_HTTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/strbuf.h"

/* Route slots: one per route table row, plus static files and unmatched. */
#define METRICS_MAX_ROUTES 256

void metrics_init(const char *const *route_names, size_t n);
/* slot: route index; status: HTTP status; seconds: handling time. */
void metrics_observe(size_t slot, int status, double seconds);
void metrics_conn_delta(int delta);
/* Connections open now. */
int64_t metrics_open_connections(void);
/* Appends Prometheus text exposition to out. */
void metrics_render(struct strbuf *out, int64_t persons, int64_t db_bytes);

#endif
