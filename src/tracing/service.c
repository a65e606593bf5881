/* service.c — the contact index a running server keeps current.
 *
 * Loaded once before the server accepts connections; from then on it only
 * grows, through contact_index_add (the scan committer, the batch poller).
 * The pointer itself never changes while the server runs, so readers take
 * it without a lock and rely on the index's own rwlock.
 */
#include <stdio.h>

#include "lib/util.h"
#include "store/store.h"
#include "tracing/tracing.h"

#include "lib/banned.h"

static struct contact_index *server_index;

struct contact_index *tracing_index(void)
{
	return server_index;
}

enum fk_status tracing_server_start(struct fk_err *err)
{
	sqlite3 *db = NULL;
	enum fk_status st = store_open(store_server_path(), STORE_READONLY, &db, err);
	if (st)
		return st;
	double t0 = fk_mono();
	struct contact_index *ix = NULL;
	st = contact_index_load(db, INT64_MIN, INT64_MAX, true, &ix, err);
	store_close(db);
	if (st)
		return st;
	struct contact_index_stats s;
	contact_index_stats(ix, &s);
	printf("fangkong: contact index: %llu check-ins in %.1f s, %.1f MiB (%.1f bytes a check-in)\n",
	       (unsigned long long)s.scans, fk_mono() - t0, (double)s.bytes / (1 << 20),
	       s.scans ? (double)s.bytes / (double)s.scans : 0.0);
	fflush(stdout);
	server_index = ix;
	return FK_OK;
}

void tracing_server_stop(void)
{
	contact_index_free(server_index);
	server_index = NULL;
}
