/* metrics.c — Prometheus counters for the server.
 *
 * Design note: counters are plain arrays of _Atomic uint64 indexed by route
 * slot and status index, written by every worker thread with relaxed atomic
 * adds and read (not snapshotted atomically as a whole) by /metrics.  A
 * scrape may see one request counted in the total but not yet in a bucket;
 * Prometheus tolerates that.  Route names are set once before the server
 * starts and never change.
 */
#include "http/http_int.h"

#include <stdatomic.h>
#include <string.h>

#include "lib/util.h"

#include "lib/banned.h"

static const int statuses[] = {200, 201, 204, 304, 400, 401, 403, 404, 405,
			       409, 413, 415, 422, 429, 500, 503};
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))
static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				 0.1,   0.25,   0.5,   1,    2.5,   5};
#define NBUCKET (sizeof(buckets) / sizeof(buckets[0]))

static const char *const *names;
static size_t nnames;
static _Atomic uint64_t requests[METRICS_MAX_ROUTES][NSTATUS + 1];
static _Atomic uint64_t hist[NBUCKET + 1];
static _Atomic uint64_t hist_sum_us;
static _Atomic int64_t open_conns;

void metrics_init(const char *const *route_names, size_t n)
{
	names = route_names;
	nnames = n < METRICS_MAX_ROUTES ? n : METRICS_MAX_ROUTES;
}

void metrics_observe(size_t slot, int status, double seconds)
{
	size_t si = NSTATUS; /* "other" */
	for (size_t i = 0; i < NSTATUS; i++)
		if (statuses[i] == status)
			si = i;
	if (slot < nnames)
		atomic_fetch_add_explicit(&requests[slot][si], 1, memory_order_relaxed);
	size_t b = 0;
	while (b < NBUCKET && seconds > buckets[b])
		b++;
	atomic_fetch_add_explicit(&hist[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&hist_sum_us, (uint64_t)(seconds * 1e6), memory_order_relaxed);
}

int64_t metrics_open_connections(void)
{
	return atomic_load_explicit(&open_conns, memory_order_relaxed);
}

void metrics_conn_delta(int delta)
{
	atomic_fetch_add_explicit(&open_conns, delta, memory_order_relaxed);
}

void metrics_render(struct strbuf *out, int64_t persons, int64_t db_bytes)
{
	strbuf_addstr(out, "# HELP fangkong_http_requests_total HTTP requests by route and status.\n"
			   "# TYPE fangkong_http_requests_total counter\n");
	for (size_t r = 0; r < nnames; r++)
		for (size_t s = 0; s <= NSTATUS; s++) {
			uint64_t v = atomic_load_explicit(&requests[r][s], memory_order_relaxed);
			if (!v)
				continue;
			if (s < NSTATUS)
				strbuf_addf(out,
					    "fangkong_http_requests_total{route=\"%s\",status=\"%d\"} "
					    "%llu\n",
					    names[r], statuses[s], (unsigned long long)v);
			else
				strbuf_addf(out,
					    "fangkong_http_requests_total{route=\"%s\",status=\"other\"} "
					    "%llu\n",
					    names[r], (unsigned long long)v);
		}
	strbuf_addstr(out, "# HELP fangkong_http_request_duration_seconds Time to handle a request.\n"
			   "# TYPE fangkong_http_request_duration_seconds histogram\n");
	uint64_t cum = 0;
	for (size_t b = 0; b < NBUCKET; b++) {
		cum += atomic_load_explicit(&hist[b], memory_order_relaxed);
		strbuf_addf(out, "fangkong_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
			    buckets[b], (unsigned long long)cum);
	}
	cum += atomic_load_explicit(&hist[NBUCKET], memory_order_relaxed);
	uint64_t count = cum; /* +Inf bucket and _count agree by construction */
	strbuf_addf(out, "fangkong_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
		    (unsigned long long)count);
	strbuf_addf(out, "fangkong_http_request_duration_seconds_sum %.6f\n",
		    atomic_load_explicit(&hist_sum_us, memory_order_relaxed) / 1e6);
	strbuf_addf(out, "fangkong_http_request_duration_seconds_count %llu\n",
		    (unsigned long long)count);
	strbuf_addf(out,
		    "# HELP fangkong_http_open_connections Connections open now.\n"
		    "# TYPE fangkong_http_open_connections gauge\n"
		    "fangkong_http_open_connections %lld\n",
		    (long long)atomic_load_explicit(&open_conns, memory_order_relaxed));
	strbuf_addf(out,
		    "# HELP fangkong_persons Persons in the registry.\n"
		    "# TYPE fangkong_persons gauge\n"
		    "fangkong_persons %lld\n"
		    "# HELP fangkong_db_size_bytes Size of the database file and its WAL.\n"
		    "# TYPE fangkong_db_size_bytes gauge\n"
		    "fangkong_db_size_bytes %lld\n",
		    (long long)persons, (long long)db_bytes);
}
