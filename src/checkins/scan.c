/* scan.c — the scan service: group commit of scans posted over HTTP, and
 * the poller that brings the contact index up to date with check-ins other
 * processes wrote.
 *
 * Design note.
 * - Durability.  A scan is answered only after the transaction holding it
 *   has committed with synchronous=FULL (the WAL is fsync'ed at every
 *   commit), so a 201 means the row survives a crash or a power cut.
 * - Group commit.  HTTP handlers validate a scan on their own reader, then
 *   scan_submit() appends it to one queue (at most SCAN_QUEUE_MAX jobs;
 *   past that the caller answers 503 + Retry-After instead of queueing
 *   without bound) and waits on the job's condition variable.  The
 *   committer thread takes everything queued at once, and under the single
 *   writer (store_writer_lock) runs one BEGIN IMMEDIATE ... COMMIT for the
 *   whole batch: per job one INSERT OR IGNORE into scan_requests (the
 *   client's scan id: a retry finds the first row and answers it again; the
 *   same id for another venue or person is a conflict), one INSERT OR
 *   IGNORE into checkins and, at >= 37.3 degC, one fever alert for the
 *   person's grid.  While it commits, new scans queue up and form the next
 *   batch, so one fsync serves many scans and batches grow with the load.
 * - All or nothing.  If any statement or the COMMIT fails, the batch is
 *   rolled back and every job in it gets FK_EDB (the handler answers 503;
 *   the client retries with the same scan id, which is safe).  Conflicts
 *   (409) are per job and do not fail the batch.
 * - Order of effects: COMMIT, release the writer, add the new rows to the
 *   contact index (tracing_index(); skipped when tracing is not running),
 *   then wake the waiters.  So when a scan is answered it is both durable
 *   and visible to contact queries.
 * - Time is the server's, taken at enqueue (fk_now() in scan_submit).
 * - Statements on the writer are prepared once at start and used only
 *   under the writer lock; the batch's index rows go to a buffer sized for
 *   the largest batch: the hot path allocates nothing.
 * - The poller thread wakes every POLL_INTERVAL_S seconds and reads, on its
 *   own reader, checkin_batches rows newer than the last one seen; for each
 *   it adds the check-ins with t in [t_min, t_max] to the index, which skips
 *   rows already present.  The starting point is the newest batch the index
 *   load had seen (contact_index_loaded_batch), so a batch committed while
 *   the index was loading is replayed, never lost.  Polling runs on its own
 *   thread so a large import never delays the answer to a scan.
 * - A large backlog (more than RELOAD_ROWS rows pending, e.g. an import of
 *   millions of check-ins, possibly not in time order) is not replayed row
 *   by row into the index's sorted tails: the index is rebuilt from the
 *   database and swapped in (contact_index_reload), at most once every
 *   RELOAD_GAP_S seconds while the import goes on.
 */
#include "checkins/checkins.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkins/scan_int.h"
#include "lib/util.h"
#include "store/store.h"
#include "tracing/tracing.h"

#include "lib/banned.h"

#define SCAN_QUEUE_MAX 4096   /* queued scans; more answer 503 */
#define POLL_INTERVAL_S 1     /* seconds between checkin_batches polls */
#define POLL_CHUNK 65536      /* index rows added per contact_index_add call */
#define POLL_BATCHES_MAX 64   /* checkin_batches rows read per poll query */
#define POLL_BATCHES_MAX_S "64"
#define RELOAD_ROWS 500000    /* pending rows above which the index is rebuilt */
#define RELOAD_GAP_S 30       /* seconds between rebuilds */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t wake;      /* committer: work queued or stopping */
	pthread_cond_t poll_wake; /* poller: stopping */
	struct scan_job *head, *tail;
	size_t queued;
	bool running, stopping;
	pthread_t committer, poller;
	unsigned char key[VENUE_KEY_BYTES];
	int64_t last_batch; /* newest checkin_batches.id the index has (poller only) */
	/* writer statements (used under the writer lock only) */
	sqlite3_stmt *req_ins, *req_get, *ci_ins, *alert_get, *alert_ins;
	struct ix_scan ixbuf[SCAN_QUEUE_MAX];
	uint64_t batches, scans; /* committed so far (for a debugger or a profile) */
} svc = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.poll_wake = PTHREAD_COND_INITIALIZER,
};

const unsigned char *scan_venue_key(void)
{
	return svc.running ? svc.key : NULL;
}

enum fk_status scan_submit(struct scan_job *job, struct fk_err *err)
{
	enum fk_status st;
	pthread_cond_init(&job->cv, NULL);
	pthread_mutex_lock(&svc.mu);
	if (!svc.running || svc.stopping) {
		pthread_mutex_unlock(&svc.mu);
		st = fk_fail(err, FK_EDB, "the scan service is not running");
		goto done;
	}
	if (svc.queued >= SCAN_QUEUE_MAX) {
		pthread_mutex_unlock(&svc.mu);
		st = fk_fail(err, FK_ETHROTTLE, "too many scans waiting; retry shortly");
		goto done;
	}
	job->t = fk_now();
	job->retry = false;
	job->fever_alert = false;
	job->st = FK_OK;
	job->done = false;
	job->next = NULL;
	if (svc.tail)
		svc.tail->next = job;
	else
		svc.head = job;
	svc.tail = job;
	svc.queued++;
	pthread_cond_signal(&svc.wake);
	while (!job->done)
		pthread_cond_wait(&job->cv, &svc.mu);
	pthread_mutex_unlock(&svc.mu);
	st = job->st;
	if (st == FK_ECONFLICT)
		fk_fail(err, st, "scan id '%s' was already used for another venue or person",
			job->scan_id);
	else if (st)
		fk_fail(err, st, "the scan could not be stored; retry with the same scan id");
done:
	pthread_cond_destroy(&job->cv);
	return st;
}

/* ---------- the committer ---------- */

static bool step_done(sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE;
}

/* Writes one job inside the open transaction.  False on a database error
 * (the batch must be rolled back); a conflict is the job's own outcome. */
static bool write_job(sqlite3 *w, struct scan_job *j, size_t *nix)
{
	sqlite3_stmt *q = svc.req_ins;
	sqlite3_bind_int64(q, 1, j->user_id);
	sqlite3_bind_text(q, 2, j->scan_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, j->t);
	sqlite3_bind_int64(q, 4, j->venue_id);
	sqlite3_bind_int64(q, 5, j->person_id);
	if (!step_done(q))
		return false;
	if (sqlite3_changes(w) == 0) {
		/* seen before: answer the first scan, or refuse a reused id */
		q = svc.req_get;
		sqlite3_bind_int64(q, 1, j->user_id);
		sqlite3_bind_text(q, 2, j->scan_id, -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_ROW) {
			sqlite3_reset(q);
			return false;
		}
		int64_t t0 = sqlite3_column_int64(q, 0), v0 = sqlite3_column_int64(q, 1),
			p0 = sqlite3_column_int64(q, 2);
		sqlite3_reset(q);
		if (v0 != j->venue_id || p0 != j->person_id) {
			j->st = FK_ECONFLICT;
			return true;
		}
		j->retry = true;
		j->t = t0;
		/* the first scan raised a fever alert iff there is one for this
		 * person at that second (another scan of the same second may
		 * have written the check-in row without a temperature) */
		q = svc.alert_get;
		sqlite3_bind_text(q, 1, j->grid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, t0);
		sqlite3_bind_int64(q, 3, p0);
		int rc = sqlite3_step(q);
		j->fever_alert = rc == SQLITE_ROW;
		sqlite3_reset(q);
		return rc == SQLITE_ROW || rc == SQLITE_DONE;
	}
	q = svc.ci_ins;
	sqlite3_bind_int64(q, 1, j->t);
	sqlite3_bind_int64(q, 2, j->venue_id);
	sqlite3_bind_int64(q, 3, j->person_id);
	if (j->temp_dc == TEMP_DC_NONE)
		sqlite3_bind_null(q, 4);
	else
		sqlite3_bind_int(q, 4, j->temp_dc);
	sqlite3_bind_int(q, 5, j->source);
	if (!step_done(q))
		return false;
	if (sqlite3_changes(w) == 1 && *nix < SCAN_QUEUE_MAX) {
		svc.ixbuf[*nix].t = j->t;
		svc.ixbuf[*nix].venue_id = (uint32_t)j->venue_id;
		svc.ixbuf[*nix].person_id = (uint32_t)j->person_id;
		(*nix)++;
	}
	if (j->temp_dc != TEMP_DC_NONE && j->temp_dc >= FEVER_DC) {
		char detail[VENUE_CODE_MAX + 96];
		snprintf(detail, sizeof(detail), "{\"venue\":\"%s\",\"temperature\":%d.%d}",
			 j->venue_code, j->temp_dc / 10, j->temp_dc % 10);
		q = svc.alert_ins;
		sqlite3_bind_int64(q, 1, j->person_id);
		sqlite3_bind_text(q, 2, j->grid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, j->t);
		sqlite3_bind_text(q, 4, detail, -1, SQLITE_TRANSIENT);
		if (!step_done(q))
			return false;
		j->fever_alert = true;
	}
	return true;
}

/* Commits the jobs of list in one transaction and fills their outcomes. */
static void commit_batch(struct scan_job *list)
{
	size_t nix = 0;
	struct fk_err err;
	bool ok = true;
	sqlite3 *w = store_writer_lock();
	if (store_begin(w, &err)) {
		fprintf(stderr, "fangkong: scans: %s\n", err.msg);
		ok = false;
	}
	for (struct scan_job *j = list; ok && j; j = j->next)
		if (!write_job(w, j, &nix)) {
			fprintf(stderr, "fangkong: scans: cannot write scan '%s': %s\n", j->scan_id,
				sqlite3_errmsg(w));
			ok = false;
		}
	if (ok && store_commit(w, &err)) {
		fprintf(stderr, "fangkong: scans: %s\n", err.msg);
		ok = false;
	}
	if (!ok)
		store_rollback(w);
	store_writer_unlock();
	if (!ok) {
		for (struct scan_job *j = list; j; j = j->next) {
			j->st = FK_EDB;
			j->retry = false;
			j->fever_alert = false;
		}
		return;
	}
	struct contact_index *ix = tracing_index();
	if (ix && nix && contact_index_add(ix, svc.ixbuf, nix))
		fprintf(stderr, "fangkong: scans: the contact index is out of memory; %zu scans "
				"are stored but not indexed until the next start\n",
			nix);
}

static void *committer_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&svc.mu);
	for (;;) {
		while (!svc.head && !svc.stopping)
			pthread_cond_wait(&svc.wake, &svc.mu);
		if (!svc.head)
			break; /* stopping with nothing queued */
		struct scan_job *batch = svc.head;
		size_t n = svc.queued;
		svc.head = svc.tail = NULL;
		svc.queued = 0;
		pthread_mutex_unlock(&svc.mu);

		commit_batch(batch);

		pthread_mutex_lock(&svc.mu);
		svc.batches++;
		svc.scans += n;
		/* the waiters need svc.mu to see done: the list stays valid while
		 * we hold it */
		for (struct scan_job *j = batch; j; j = j->next) {
			j->done = true;
			pthread_cond_signal(&j->cv);
		}
	}
	pthread_mutex_unlock(&svc.mu);
	return NULL;
}

/* ---------- the poller ---------- */

/* RELOAD_ROWS, or $FANGKONG_RELOAD_ROWS (operations tuning; tests). */
static int64_t reload_rows(void)
{
	const char *e = getenv("FANGKONG_RELOAD_ROWS");
	int64_t v;
	return e && fk_parse_i64(e, 1, INT64_MAX, &v) ? v : RELOAD_ROWS;
}

static const char sql_backlog[] = "SELECT coalesce(sum(rows), 0) FROM checkin_batches"
				  " WHERE id > ?";
static const char sql_batches[] = "SELECT id, t_min, t_max FROM checkin_batches"
				  " WHERE id > ? ORDER BY id LIMIT " POLL_BATCHES_MAX_S;
static const char sql_batch_rows[] = "SELECT t, venue_id, person_id FROM checkins"
				     " WHERE t BETWEEN ? AND ?";

/* Adds the check-ins of batches newer than svc.last_batch to ix. */
static enum fk_status poll_once(struct contact_index *ix, struct ix_scan *buf,
				struct fk_err *err)
{
	int64_t ids[POLL_BATCHES_MAX], lo[POLL_BATCHES_MAX], hi[POLL_BATCHES_MAX];
	size_t nb = 0;
	int rc;
	sqlite3_stmt *q = store_reader_stmt(sql_backlog, err);
	if (!q)
		return FK_EDB;
	sqlite3_bind_int64(q, 1, svc.last_batch);
	int64_t backlog = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	store_stmt_done(q);
	if (backlog > reload_rows()) {
		static double last_reload = -1e9;
		if (fk_mono() - last_reload < RELOAD_GAP_S)
			return FK_OK; /* the import goes on: take it in at the next rebuild */
		double t0 = fk_mono();
		last_reload = t0;
		sqlite3 *rd = store_reader();
		enum fk_status st = rd ? contact_index_reload(ix, rd, err)
				       : fk_fail(err, FK_EDB, "database unavailable");
		if (st)
			return st;
		if (contact_index_loaded_batch(ix) > svc.last_batch)
			svc.last_batch = contact_index_loaded_batch(ix);
		fprintf(stderr, "fangkong: contact index rebuilt for %lld imported check-ins in %.1f s\n",
			(long long)backlog, fk_mono() - t0);
		return FK_OK;
	}
	q = store_reader_stmt(sql_batches, err);
	if (!q)
		return FK_EDB;
	sqlite3_bind_int64(q, 1, svc.last_batch);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && nb < POLL_BATCHES_MAX) {
		ids[nb] = sqlite3_column_int64(q, 0);
		lo[nb] = sqlite3_column_int64(q, 1);
		hi[nb] = sqlite3_column_int64(q, 2);
		nb++;
	}
	store_stmt_done(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fk_fail(err, FK_EDB, "cannot read checkin_batches");
	for (size_t b = 0; b < nb; b++) {
		size_t n = 0;
		q = store_reader_stmt(sql_batch_rows, err);
		if (!q)
			return FK_EDB;
		sqlite3_bind_int64(q, 1, lo[b]);
		sqlite3_bind_int64(q, 2, hi[b]);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			buf[n].t = sqlite3_column_int64(q, 0);
			buf[n].venue_id = (uint32_t)sqlite3_column_int64(q, 1);
			buf[n].person_id = (uint32_t)sqlite3_column_int64(q, 2);
			if (++n == POLL_CHUNK) {
				contact_index_add(ix, buf, n);
				n = 0;
			}
		}
		store_stmt_done(q);
		if (rc != SQLITE_DONE)
			return fk_fail(err, FK_EDB, "cannot read the check-ins of batch %lld",
				       (long long)ids[b]);
		if (n && contact_index_add(ix, buf, n))
			return fk_fail(err, FK_ENOMEM, "the contact index is out of memory");
		svc.last_batch = ids[b];
	}
	return FK_OK;
}

static void *poller_main(void *unused)
{
	(void)unused;
	struct ix_scan *buf = fk_xmalloc(POLL_CHUNK * sizeof(*buf));
	struct fk_err err;
	pthread_mutex_lock(&svc.mu);
	while (!svc.stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += POLL_INTERVAL_S;
		while (!svc.stopping &&
		       pthread_cond_timedwait(&svc.poll_wake, &svc.mu, &until) != ETIMEDOUT)
			;
		if (svc.stopping)
			break;
		pthread_mutex_unlock(&svc.mu);
		struct contact_index *ix = tracing_index();
		if (ix && poll_once(ix, buf, &err))
			fprintf(stderr, "fangkong: scans: index catch-up: %s\n", err.msg);
		pthread_mutex_lock(&svc.mu);
	}
	pthread_mutex_unlock(&svc.mu);
	store_reader_close();
	free(buf);
	return NULL;
}

/* ---------- start and stop ---------- */

static void finalize_statements(void)
{
	sqlite3_finalize(svc.req_ins);
	sqlite3_finalize(svc.req_get);
	sqlite3_finalize(svc.ci_ins);
	sqlite3_finalize(svc.alert_get);
	sqlite3_finalize(svc.alert_ins);
	svc.req_ins = svc.req_get = svc.ci_ins = svc.alert_get = svc.alert_ins = NULL;
}

static sqlite3_stmt *prepare_kept(sqlite3 *w, const char *sql, struct fk_err *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v3(w, sql, -1, SQLITE_PREPARE_PERSISTENT, &q, NULL) != SQLITE_OK) {
		fk_fail(err, FK_EDB, "cannot prepare the scan statements: %s", sqlite3_errmsg(w));
		sqlite3_finalize(q);
		return NULL;
	}
	return q;
}

enum fk_status scan_service_start(struct fk_err *err)
{
	enum fk_status st = FK_OK;
	if (svc.running)
		return FK_OK;
	sqlite3 *w = store_writer_lock();
	if (!w) {
		store_writer_unlock();
		return fk_fail(err, FK_EDB, "the store is not open");
	}
	if ((st = venue_key_get(w, true, svc.key, err)))
		goto unlock;
	/* every commit on the writer reaches the disk before it returns */
	if ((st = store_exec(w, "PRAGMA synchronous=FULL", err)))
		goto unlock;
	if (!(svc.req_ins = prepare_kept(w,
					 "INSERT OR IGNORE INTO scan_requests(user_id, scan_id, t,"
					 " venue_id, person_id) VALUES(?,?,?,?,?)",
					 err)) ||
	    !(svc.req_get = prepare_kept(w,
					 "SELECT t, venue_id, person_id FROM scan_requests"
					 " WHERE user_id=? AND scan_id=?",
					 err)) ||
	    !(svc.ci_ins = prepare_kept(w,
					"INSERT OR IGNORE INTO checkins(t, venue_id, person_id,"
					" temp_dc, source) VALUES(?,?,?,?,?)",
					err)) ||
	    !(svc.alert_get = prepare_kept(w,
					 "SELECT 1 FROM alerts WHERE region_code=? AND at=?"
					 " AND kind='fever' AND person_id=?",
					 err)) ||
	    !(svc.alert_ins = prepare_kept(w,
					   "INSERT INTO alerts(kind, person_id, region_code, at,"
					   " detail) VALUES('fever',?,?,?,?)",
					   err))) {
		st = FK_EDB;
		goto unlock;
	}
	/* the poller starts after the newest batch the index load saw */
	struct contact_index *ix = tracing_index();
	svc.last_batch = ix ? contact_index_loaded_batch(ix)
			    : store_query_int(w, "SELECT coalesce(max(id), 0) FROM checkin_batches", 0);
unlock:
	store_writer_unlock();
	if (st)
		goto fail;
	svc.stopping = false;
	svc.running = true;
	if (pthread_create(&svc.committer, NULL, committer_main, NULL)) {
		svc.running = false;
		st = fk_fail(err, FK_EIO, "cannot start the scan committer thread");
		goto fail;
	}
	if (pthread_create(&svc.poller, NULL, poller_main, NULL)) {
		pthread_mutex_lock(&svc.mu);
		svc.stopping = true;
		pthread_cond_signal(&svc.wake);
		pthread_mutex_unlock(&svc.mu);
		pthread_join(svc.committer, NULL);
		svc.running = false;
		st = fk_fail(err, FK_EIO, "cannot start the check-in poller thread");
		goto fail;
	}
	return FK_OK;
fail:
	w = store_writer_lock();
	finalize_statements();
	store_writer_unlock();
	sodium_memzero(svc.key, sizeof(svc.key));
	return st;
}

void scan_service_stop(void)
{
	if (!svc.running)
		return;
	pthread_mutex_lock(&svc.mu);
	svc.stopping = true; /* the committer drains the queue first */
	pthread_cond_signal(&svc.wake);
	pthread_cond_signal(&svc.poll_wake);
	pthread_mutex_unlock(&svc.mu);
	pthread_join(svc.committer, NULL);
	pthread_join(svc.poller, NULL);
	(void)store_writer_lock();
	finalize_statements();
	store_writer_unlock();
	pthread_mutex_lock(&svc.mu);
	svc.running = false;
	pthread_mutex_unlock(&svc.mu);
	sodium_memzero(svc.key, sizeof(svc.key));
}
