/* sample.c — tubes, the sampling service (scanner API, group commit) and
 * `fangkong import samples`.
 *
 * Design note.
 * - One write path.  sample_apply() is the only code that binds a tube or
 *   puts a swab into one: it reads the tube, decides every refusal that
 *   depends on the order of writes (tube bound elsewhere, full, closed or
 *   resulted, campaign closed, the person's round sample in the campaign,
 *   out of the campaign's population) and then writes the sample, the
 *   tube's n (closed_at when n reaches pool_size), the campaign_grids
 *   counters of a round sample and site_hours.  The committer thread (for
 *   the HTTP API) and the importer both call it on their own connection
 *   inside their own transaction, so the two cannot disagree.
 * - Nothing is written before every check has passed: a refusal leaves
 *   the database exactly as it was, even for a tube bound on first use
 *   (the tube row is inserted after the checks, with the sample).
 * - Who is in the population (campaign_person_status) is frozen at launch
 *   (campaign_exempt, campaign_targets), so the caller computes it before
 *   the write: the HTTP handler on its own reader, the importer on its
 *   connection.  The caller names the campaign it computed it for; if the
 *   tube turns out to be bound to another one the sample is refused
 *   (tube_bound), never written with a wrong flag.
 * - Group commit, as scan.c: handlers validate the body and read the
 *   person, the tube, the site and the campaign on their reader, then
 *   sample_submit() queues the job and waits.  The committer takes all
 *   queued jobs, runs one BEGIN IMMEDIATE ... COMMIT for the batch under
 *   the single writer (synchronous=FULL: a 201 is on disk) and wakes the
 *   waiters.  A failed statement or COMMIT rolls the whole batch back and
 *   every job of it answers 503 (a retry is safe: the same tube and person
 *   again is answered as a retry, nothing is written twice).
 * - Backpressure: at most SAMPLE_QUEUE_MAX queued jobs, and none admitted
 *   while the batch being committed has taken more than SAMPLE_STALL_S
 *   (a stalled disk): such requests answer 503 + Retry-After at once
 *   instead of waiting without bound.
 * - Statements of the committer are prepared once at start and used under
 *   the writer lock only; a job lives on the handler's stack: the
 *   committer's path allocates nothing.  Handlers use the thread's cached
 *   reader statements; campaigns and sites are cached in small
 *   direct-mapped tables (sites never change once created; a campaign's
 *   open flag is re-read after CACHE_TTL seconds, and the committer checks
 *   it again anyway).
 * - Time is the server's, taken at enqueue.
 */
#include "testing/testing_int.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "access/access.h"
#include "http/http.h"
#include "lib/csv.h"
#include "lib/mapfile.h"
#include "lib/rejects.h"
#include "lib/strbuf.h"
#include "lib/textenc.h"
#include "lib/util.h"
#include "registry/registry.h"
#include "store/store.h"

#include "lib/banned.h"

#define SAMPLE_QUEUE_MAX 4096 /* queued jobs; more answer 503 */
#define SAMPLE_STALL_S 0.5    /* a batch committing longer: refuse new jobs */
#define SAMPLE_BODY_MAX 2048
#define ID_NUMBER_MAX 32
#define NAME_MAX_BYTES 128
#define REGION_MAX 16
#define MSG_MAX 200
#define BY_MAX 80
#define CACHE_TTL 1.0

/* ------------------------------------------------------------ the write */

enum purpose { PURPOSE_ROUND = 0, PURPOSE_RETEST, PURPOSE_RESAMPLE };
static const char *const purpose_names[] = {"round", "retest", "resample"};

static bool purpose_parse(const char *s, int *out)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(s, purpose_names[i])) {
			*out = i;
			return true;
		}
	return false;
}

enum refusal {
	REF_NONE = 0,
	REF_UNKNOWN_TUBE,
	REF_TUBE_BOUND,
	REF_TUBE_FULL,
	REF_TUBE_CLOSED,
	REF_ALREADY_SAMPLED,
	REF_OUT_OF_AREA,
	REF_CAMPAIGN_CLOSED,
};

static const char *const refusal_codes[] = {
	"",	     "unknown_tube",	"tube_bound",	  "tube_full",
	"tube_closed", "already_sampled", "out_of_area", "campaign_closed",
};

enum job_kind { JOB_SAMPLE = 0, JOB_BIND, JOB_CLOSE };

/* Which binding members the caller gave (checked against a bound tube). */
enum given { GIVEN_CAMPAIGN = 1 << 0, GIVEN_SITE = 1 << 1, GIVEN_POOL = 1 << 2,
	     GIVEN_PURPOSE = 1 << 3 };

struct sample_in {
	enum job_kind kind;
	char tube[TUBE_CODE_MAX + 1];
	/* the binding: used to bind an unknown tube (site_id != 0 needed),
	 * and the members in `given` must agree with a bound tube */
	int64_t campaign_id; /* 0: outside any campaign */
	int64_t site_id;
	int pool_size;
	int purpose;
	unsigned given;
	/* JOB_SAMPLE: the person and where they stand in campaign
	 * status_campaign (0: none) */
	int64_t person_id;
	char grid[REGION_MAX + 1];
	int64_t status_campaign;
	bool in_population, expected;
	int64_t t;
	char by[BY_MAX];
};

struct sample_out {
	enum refusal ref;
	const char *field; /* the input field at fault */
	char msg[MSG_MAX];
	bool retry; /* sample: the same (tube, person) was stored before;
		       bind: the same binding was there before;
		       close: the tube was closed before */
	int64_t sample_id, tube_id, sampled_at;
	int n, pool_size;
	bool closed, expected;
};

enum stmt_id {
	Q_TUBE_GET,
	Q_TUBE_INS,
	Q_SAME,
	Q_CAMP_OPEN,
	Q_ROUND_GET,
	Q_SAMPLE_INS,
	Q_TUBE_INC,
	Q_GRID_UPD,
	Q_HOUR_UPD,
	Q_TUBE_CLOSE,
	Q_COUNT
};

static const char *const stmt_sql[Q_COUNT] = {
	[Q_TUBE_GET] = "SELECT id, coalesce(campaign_id, 0), site_id, purpose, pool_size, n,"
		       " closed_at IS NOT NULL, result IS NOT NULL FROM tubes WHERE code = ?",
	[Q_TUBE_INS] = "INSERT INTO tubes(code, campaign_id, site_id, purpose, pool_size,"
		       " opened_at, opened_by) VALUES(?1, nullif(?2, 0), ?3, ?4, ?5, ?6, ?7)",
	[Q_SAME] = "SELECT s.id, s.sampled_at, s.expected, (SELECT count(*) FROM samples x"
		   " WHERE x.tube_id = s.tube_id AND x.id <= s.id)"
		   " FROM samples s WHERE s.tube_id = ? AND s.person_id = ?",
	[Q_CAMP_OPEN] = "SELECT status = 'open' FROM campaigns WHERE id = ?",
	[Q_ROUND_GET] = "SELECT s.sampled_at, t.code FROM samples s JOIN tubes t ON t.id = s.tube_id"
			" WHERE s.campaign_id = ? AND s.person_id = ? AND s.round = 1",
	[Q_SAMPLE_INS] = "INSERT INTO samples(tube_id, person_id, campaign_id, round, expected,"
			 " grid_code, site_id, sampled_at, sampled_by)"
			 " VALUES(?1, ?2, nullif(?3, 0), ?4, ?5, ?6, ?7, ?8, ?9)",
	[Q_TUBE_INC] = "UPDATE tubes SET n = n + 1, closed_at = CASE WHEN n + 1 >= pool_size"
		       " THEN coalesce(closed_at, ?2) ELSE closed_at END WHERE id = ?1",
	[Q_GRID_UPD] = "INSERT INTO campaign_grids(campaign_id, grid_code, expected, sampled,"
		       " sampled_expected) VALUES(?1, ?2, 0, 1, ?3)"
		       " ON CONFLICT(campaign_id, grid_code) DO UPDATE SET"
		       " sampled = sampled + 1, sampled_expected = sampled_expected + ?3",
	[Q_HOUR_UPD] = "INSERT INTO site_hours(campaign_id, site_id, hour, samples)"
		       " VALUES(?1, ?2, ?3, 1) ON CONFLICT(campaign_id, site_id, hour)"
		       " DO UPDATE SET samples = samples + 1",
	[Q_TUBE_CLOSE] = "UPDATE tubes SET closed_at = ?2 WHERE id = ?1 AND closed_at IS NULL",
};

/* The statements of one writing connection (committer or importer). */
struct sample_stmts {
	sqlite3 *db;
	sqlite3_stmt *q[Q_COUNT];
};

static void sample_stmts_release(struct sample_stmts *s)
{
	for (size_t i = 0; i < Q_COUNT; i++) {
		sqlite3_finalize(s->q[i]);
		s->q[i] = NULL;
	}
}

static enum fk_status sample_stmts_init(struct sample_stmts *s, sqlite3 *db, struct fk_err *err)
{
	s->db = db;
	for (size_t i = 0; i < Q_COUNT; i++)
		if (sqlite3_prepare_v3(db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i],
				       NULL) != SQLITE_OK) {
			fk_fail(err, FK_EDB, "cannot prepare the sample statements: %s",
				sqlite3_errmsg(db));
			sample_stmts_release(s);
			return FK_EDB;
		}
	return FK_OK;
}

struct tube_row {
	int64_t id, campaign_id, site_id;
	int purpose, pool_size, n;
	bool closed, resulted;
};

/* Reads tube code into t.  1 found, 0 none, -1 database error. */
static int tube_read(struct sample_stmts *s, const char *code, struct tube_row *t)
{
	sqlite3_stmt *q = s->q[Q_TUBE_GET];
	sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		t->id = sqlite3_column_int64(q, 0);
		t->campaign_id = sqlite3_column_int64(q, 1);
		t->site_id = sqlite3_column_int64(q, 2);
		const char *p = (const char *)sqlite3_column_text(q, 3);
		if (!p || !purpose_parse(p, &t->purpose))
			t->purpose = PURPOSE_ROUND;
		t->pool_size = sqlite3_column_int(q, 4);
		t->n = sqlite3_column_int(q, 5);
		t->closed = sqlite3_column_int(q, 6) != 0;
		t->resulted = sqlite3_column_int(q, 7) != 0;
	}
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static bool step_done(sqlite3_stmt *q)
{
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	return rc == SQLITE_DONE;
}

static bool refuse(struct sample_out *o, enum refusal r, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool refuse(struct sample_out *o, enum refusal r, const char *field, const char *fmt, ...)
{
	va_list ap;
	o->ref = r;
	o->field = field;
	va_start(ap, fmt);
	vsnprintf(o->msg, sizeof(o->msg), fmt, ap);
	va_end(ap);
	return true;
}

/* Whether campaign id is open: 1 open, 0 closed or gone, -1 error. */
static int campaign_open_now(struct sample_stmts *s, int64_t id)
{
	sqlite3_stmt *q = s->q[Q_CAMP_OPEN];
	sqlite3_bind_int64(q, 1, id);
	int rc = sqlite3_step(q);
	int open = rc == SQLITE_ROW ? sqlite3_column_int(q, 0) != 0 : 0;
	sqlite3_reset(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? open : -1;
}

/* The binding member of in that disagrees with the bound tube t, or NULL. */
static const char *binding_differs(const struct sample_in *in, const struct tube_row *t)
{
	if ((in->given & GIVEN_CAMPAIGN) && in->campaign_id != t->campaign_id)
		return "campaign";
	if ((in->given & GIVEN_SITE) && in->site_id != t->site_id)
		return "site";
	if ((in->given & GIVEN_POOL) && in->pool_size != t->pool_size)
		return "pool_size";
	if ((in->given & GIVEN_PURPOSE) && in->purpose != t->purpose)
		return "purpose";
	return NULL;
}

static void fmt_campaign(int64_t id, char *buf, size_t size)
{
	if (id)
		snprintf(buf, size, "campaign %" PRId64, id);
	else
		snprintf(buf, size, "no campaign");
}

/* Binds, closes or samples (in->kind) inside the caller's open transaction
 * on s->db.  Fills out: out->ref is REF_NONE when done (out->retry when
 * nothing needed writing), else the refusal with its field and message, and
 * nothing was written.  False on a database error (the caller rolls the
 * transaction back). */
static bool sample_apply(struct sample_stmts *s, const struct sample_in *in, struct sample_out *out)
{
	struct tube_row t;
	bool bound;
	char a[48], b[48];
	memset(out, 0, sizeof(*out));
	int rc = tube_read(s, in->tube, &t);
	if (rc < 0)
		return false;
	bound = rc == 1;
	if (!bound) {
		if (in->kind == JOB_CLOSE || !in->site_id)
			return refuse(out, REF_UNKNOWN_TUBE, "tube",
				      "tube '%s' is not bound; give its site (and campaign) to bind it",
				      in->tube);
		memset(&t, 0, sizeof(t));
		t.campaign_id = in->campaign_id;
		t.site_id = in->site_id;
		t.pool_size = in->pool_size;
		t.purpose = in->purpose;
	} else if (in->kind != JOB_CLOSE) {
		const char *f = binding_differs(in, &t);
		if (f) {
			fmt_campaign(t.campaign_id, a, sizeof(a));
			return refuse(out, REF_TUBE_BOUND, f,
				      "tube '%s' is bound already (%s, pool of %d, %s); a tube is used"
				      " once: bind a new tube",
				      in->tube, a, t.pool_size, purpose_names[t.purpose]);
		}
	}
	out->tube_id = t.id;
	out->pool_size = t.pool_size;
	out->n = t.n;
	out->closed = t.closed || t.resulted;

	if (in->kind == JOB_CLOSE) {
		sqlite3_stmt *q = s->q[Q_TUBE_CLOSE];
		sqlite3_bind_int64(q, 1, t.id);
		sqlite3_bind_int64(q, 2, in->t);
		if (!step_done(q))
			return false;
		out->retry = sqlite3_changes(s->db) == 0;
		out->closed = true;
		return true;
	}
	if (in->kind == JOB_SAMPLE) {
		if (bound) {
			/* the same swab again (a retry after a timeout): answer it */
			sqlite3_stmt *q = s->q[Q_SAME];
			sqlite3_bind_int64(q, 1, t.id);
			sqlite3_bind_int64(q, 2, in->person_id);
			rc = sqlite3_step(q);
			if (rc == SQLITE_ROW) {
				out->retry = true;
				out->sample_id = sqlite3_column_int64(q, 0);
				out->sampled_at = sqlite3_column_int64(q, 1);
				out->expected = sqlite3_column_int(q, 2) != 0;
				out->n = sqlite3_column_int(q, 3);
			}
			sqlite3_reset(q);
			if (rc != SQLITE_ROW && rc != SQLITE_DONE)
				return false;
			if (rc == SQLITE_ROW)
				return true;
		}
		if (t.campaign_id != in->status_campaign) {
			fmt_campaign(t.campaign_id, a, sizeof(a));
			fmt_campaign(in->status_campaign, b, sizeof(b));
			return refuse(out, REF_TUBE_BOUND, "tube",
				      "tube '%s' is bound to %s, not %s", in->tube, a, b);
		}
	} else if (bound) {
		out->retry = true; /* the same binding again */
		return true;
	}
	if (t.campaign_id) {
		rc = campaign_open_now(s, t.campaign_id);
		if (rc < 0)
			return false;
		if (!rc)
			return refuse(out, REF_CAMPAIGN_CLOSED, "campaign",
				      "campaign %" PRId64 " is closed: it takes no new samples",
				      t.campaign_id);
	}
	if (in->kind == JOB_SAMPLE) {
		bool round = t.purpose == PURPOSE_ROUND;
		if (t.resulted)
			return refuse(out, REF_TUBE_CLOSED, "tube",
				      "tube '%s' has a result; a tube is used once: bind a new tube",
				      in->tube);
		if (t.n >= t.pool_size)
			return refuse(out, REF_TUBE_FULL, "tube",
				      "tube '%s' is full: it holds %d of %d samples; bind a new tube",
				      in->tube, t.n, t.pool_size);
		if (t.closed)
			return refuse(out, REF_TUBE_CLOSED, "tube",
				      "tube '%s' is closed; a tube is used once: bind a new tube",
				      in->tube);
		if (round && t.campaign_id && !in->in_population)
			return refuse(out, REF_OUT_OF_AREA, "id_number",
				      "the person is not in the population of campaign %" PRId64,
				      t.campaign_id);
		if (round && t.campaign_id) {
			sqlite3_stmt *q = s->q[Q_ROUND_GET];
			sqlite3_bind_int64(q, 1, t.campaign_id);
			sqlite3_bind_int64(q, 2, in->person_id);
			rc = sqlite3_step(q);
			if (rc == SQLITE_ROW) {
				fk_format_time(sqlite3_column_int64(q, 0), a, sizeof(a));
				const char *code = (const char *)sqlite3_column_text(q, 1);
				refuse(out, REF_ALREADY_SAMPLED, "id_number",
				       "the person was sampled in campaign %" PRId64
				       " at %s into tube '%s'",
				       t.campaign_id, a, code ? code : "");
			}
			sqlite3_reset(q);
			if (rc != SQLITE_ROW && rc != SQLITE_DONE)
				return false;
			if (rc == SQLITE_ROW)
				return true;
		}
	}
	/* every check passed: write */
	if (!bound) {
		sqlite3_stmt *q = s->q[Q_TUBE_INS];
		sqlite3_bind_text(q, 1, in->tube, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, t.campaign_id);
		sqlite3_bind_int64(q, 3, t.site_id);
		sqlite3_bind_text(q, 4, purpose_names[t.purpose], -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 5, t.pool_size);
		sqlite3_bind_int64(q, 6, in->t);
		sqlite3_bind_text(q, 7, in->by, -1, SQLITE_STATIC);
		if (!step_done(q))
			return false;
		t.id = out->tube_id = sqlite3_last_insert_rowid(s->db);
	}
	if (in->kind == JOB_BIND)
		return true;

	bool round = t.purpose == PURPOSE_ROUND;
	bool expected = t.campaign_id && in->expected;
	sqlite3_stmt *q = s->q[Q_SAMPLE_INS];
	sqlite3_bind_int64(q, 1, t.id);
	sqlite3_bind_int64(q, 2, in->person_id);
	sqlite3_bind_int64(q, 3, t.campaign_id);
	sqlite3_bind_int(q, 4, round);
	sqlite3_bind_int(q, 5, expected);
	sqlite3_bind_text(q, 6, in->grid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 7, t.site_id);
	sqlite3_bind_int64(q, 8, in->t);
	sqlite3_bind_text(q, 9, in->by, -1, SQLITE_STATIC);
	if (!step_done(q))
		return false;
	out->sample_id = sqlite3_last_insert_rowid(s->db);
	q = s->q[Q_TUBE_INC];
	sqlite3_bind_int64(q, 1, t.id);
	sqlite3_bind_int64(q, 2, in->t);
	if (!step_done(q))
		return false;
	if (round && t.campaign_id) {
		q = s->q[Q_GRID_UPD];
		sqlite3_bind_int64(q, 1, t.campaign_id);
		sqlite3_bind_text(q, 2, in->grid, -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 3, expected);
		if (!step_done(q))
			return false;
	}
	q = s->q[Q_HOUR_UPD];
	sqlite3_bind_int64(q, 1, t.campaign_id);
	sqlite3_bind_int64(q, 2, t.site_id);
	sqlite3_bind_int64(q, 3, in->t / 3600);
	if (!step_done(q))
		return false;
	out->n = t.n + 1;
	out->closed = out->n >= t.pool_size;
	out->sampled_at = in->t;
	out->expected = expected;
	return true;
}

/* ------------------------------------------------------- the committer */

struct sample_job {
	struct sample_in in;
	struct sample_out out;
	/* private to the queue */
	enum fk_status st;
	bool done;
	pthread_cond_t cv;
	struct sample_job *next;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t wake;
	struct sample_job *head, *tail;
	size_t queued;
	bool running, stopping, busy;
	double batch_started;
	pthread_t committer;
	struct sample_stmts w; /* on the writer; used under the writer lock only */
	uint64_t batches, jobs;
} svc = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

/* Queues job (time taken here), waits for its commit.  FK_OK (job->out
 * holds the outcome, a refusal included), FK_ETHROTTLE (queue full or the
 * committer stalled: nothing queued), FK_EDB (the batch failed: nothing of
 * it was written). */
static enum fk_status sample_submit(struct sample_job *job, struct fk_err *err)
{
	enum fk_status st;
	pthread_cond_init(&job->cv, NULL);
	pthread_mutex_lock(&svc.mu);
	if (!svc.running || svc.stopping) {
		pthread_mutex_unlock(&svc.mu);
		st = fk_fail(err, FK_EDB, "the sampling service is not running");
		goto done;
	}
	if (svc.queued >= SAMPLE_QUEUE_MAX ||
	    (svc.busy && fk_mono() - svc.batch_started > SAMPLE_STALL_S)) {
		pthread_mutex_unlock(&svc.mu);
		st = fk_fail(err, FK_ETHROTTLE, "too many samples waiting; retry shortly");
		goto done;
	}
	job->in.t = fk_now();
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
	if (st)
		fk_fail(err, st, "the sample could not be stored; retry the same request");
done:
	pthread_cond_destroy(&job->cv);
	return st;
}

static void commit_batch(struct sample_job *list)
{
	struct fk_err err;
	bool ok = true;
	sqlite3 *w = store_writer_lock();
	if (store_begin(w, &err)) {
		fprintf(stderr, "fangkong: samples: %s\n", err.msg);
		ok = false;
	}
	for (struct sample_job *j = list; ok && j; j = j->next)
		if (!sample_apply(&svc.w, &j->in, &j->out)) {
			fprintf(stderr, "fangkong: samples: cannot write tube '%s': %s\n", j->in.tube,
				sqlite3_errmsg(w));
			ok = false;
		}
	if (ok && store_commit(w, &err)) {
		fprintf(stderr, "fangkong: samples: %s\n", err.msg);
		ok = false;
	}
	if (!ok)
		store_rollback(w);
	store_writer_unlock();
	if (!ok)
		for (struct sample_job *j = list; j; j = j->next)
			j->st = FK_EDB;
}

static void *committer_main(void *unused)
{
	(void)unused;
	pthread_mutex_lock(&svc.mu);
	for (;;) {
		while (!svc.head && !svc.stopping)
			pthread_cond_wait(&svc.wake, &svc.mu);
		if (!svc.head)
			break;
		struct sample_job *batch = svc.head;
		size_t n = svc.queued;
		svc.head = svc.tail = NULL;
		svc.queued = 0;
		svc.busy = true;
		svc.batch_started = fk_mono();
		pthread_mutex_unlock(&svc.mu);

		commit_batch(batch);

		pthread_mutex_lock(&svc.mu);
		svc.busy = false;
		svc.batches++;
		svc.jobs += n;
		for (struct sample_job *j = batch, *next; j; j = next) {
			next = j->next; /* j may be gone once its waiter runs */
			j->done = true;
			pthread_cond_signal(&j->cv);
		}
	}
	pthread_mutex_unlock(&svc.mu);
	return NULL;
}

enum fk_status testing_server_start(struct fk_err *err)
{
	enum fk_status st = FK_OK;
	if (svc.running)
		return FK_OK;
	sqlite3 *w = store_writer_lock();
	if (!w) {
		store_writer_unlock();
		return fk_fail(err, FK_EDB, "the store is not open");
	}
	/* every commit on the writer reaches the disk before it returns */
	if (!(st = store_exec(w, "PRAGMA synchronous=FULL", err)))
		st = sample_stmts_init(&svc.w, w, err);
	store_writer_unlock();
	if (st)
		return st;
	svc.stopping = false;
	svc.running = true;
	if (pthread_create(&svc.committer, NULL, committer_main, NULL)) {
		svc.running = false;
		(void)store_writer_lock();
		sample_stmts_release(&svc.w);
		store_writer_unlock();
		return fk_fail(err, FK_EIO, "cannot start the sample committer thread");
	}
	return FK_OK;
}

void testing_server_stop(void)
{
	if (!svc.running)
		return;
	pthread_mutex_lock(&svc.mu);
	svc.stopping = true; /* the committer drains the queue first */
	pthread_cond_signal(&svc.wake);
	pthread_mutex_unlock(&svc.mu);
	pthread_join(svc.committer, NULL);
	(void)store_writer_lock();
	sample_stmts_release(&svc.w);
	store_writer_unlock();
	pthread_mutex_lock(&svc.mu);
	svc.running = false;
	pthread_mutex_unlock(&svc.mu);
}

/* --------------------------------------------------------- read caches */

#define SITE_SLOTS 256     /* power of two */
#define CAMPAIGN_SLOTS 64  /* power of two */

struct site_row {
	int64_t id;
	char code[SITE_CODE_MAX + 1];
	char region[REGION_MAX + 1];
};

static struct {
	pthread_mutex_t mu;
	struct site_row by_code[SITE_SLOTS];
	struct site_row by_id[SITE_SLOTS];
	struct {
		struct campaign c;
		double filled; /* 0: empty */
	} campaigns[CAMPAIGN_SLOTS];
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static size_t hash_str(const char *s)
{
	uint64_t h = UINT64_C(14695981039346656037);
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return (size_t)(h ^ (h >> 29));
}

static const char sql_site_by_code[] = "SELECT id, code, region_code FROM sites WHERE code = ?";
static const char sql_site_by_id[] = "SELECT id, code, region_code FROM sites WHERE id = ?";

/* A site by code (code != NULL) or id on the thread's reader.
 * FK_ENOTFOUND, FK_EDB. */
static enum fk_status site_find(const char *code, int64_t id, struct site_row *out,
				struct fk_err *err)
{
	size_t slot = code ? hash_str(code) & (SITE_SLOTS - 1) : (size_t)id & (SITE_SLOTS - 1);
	bool hit;
	pthread_mutex_lock(&cache.mu);
	const struct site_row *e = code ? &cache.by_code[slot] : &cache.by_id[slot];
	hit = e->id && (code ? !strcmp(e->code, code) : e->id == id);
	if (hit)
		*out = *e;
	pthread_mutex_unlock(&cache.mu);
	if (hit)
		return FK_OK;
	sqlite3_stmt *q = store_reader_stmt(code ? sql_site_by_code : sql_site_by_id, err);
	if (!q)
		return FK_EDB;
	if (code)
		sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(q, 1, id);
	enum fk_status st = FK_OK;
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(q, 0);
		fk_strlcpy(out->code, http_col(q, 1), sizeof(out->code));
		fk_strlcpy(out->region, http_col(q, 2), sizeof(out->region));
		pthread_mutex_lock(&cache.mu);
		cache.by_code[hash_str(out->code) & (SITE_SLOTS - 1)] = *out;
		cache.by_id[(size_t)out->id & (SITE_SLOTS - 1)] = *out;
		pthread_mutex_unlock(&cache.mu);
	} else if (rc == SQLITE_DONE) {
		st = fk_fail(err, FK_ENOTFOUND, "no site");
	} else {
		st = fk_fail(err, FK_EDB, "cannot read sites: %s",
			     sqlite3_errmsg(sqlite3_db_handle(q)));
	}
	store_stmt_done(q);
	return st;
}

/* Campaign id from the cache (its open flag at most CACHE_TTL old) or the
 * reader.  FK_ENOTFOUND, FK_EDB. */
static enum fk_status campaign_find(sqlite3 *db, int64_t id, struct campaign *out,
				    struct fk_err *err)
{
	size_t slot = (size_t)id & (CAMPAIGN_SLOTS - 1);
	double now = fk_mono();
	bool hit;
	pthread_mutex_lock(&cache.mu);
	hit = cache.campaigns[slot].filled > 0 && cache.campaigns[slot].c.id == id &&
	      (!cache.campaigns[slot].c.open || now - cache.campaigns[slot].filled < CACHE_TTL);
	if (hit)
		*out = cache.campaigns[slot].c;
	pthread_mutex_unlock(&cache.mu);
	if (hit)
		return FK_OK;
	enum fk_status st = campaign_get(db, id, out, err);
	if (st)
		return st;
	pthread_mutex_lock(&cache.mu);
	cache.campaigns[slot].c = *out;
	cache.campaigns[slot].filled = now > 0 ? now : 1e-9;
	pthread_mutex_unlock(&cache.mu);
	return FK_OK;
}

/* ------------------------------------------------------------ handlers */

struct person_row {
	int64_t id;
	char name[NAME_MAX_BYTES];
	char grid[REGION_MAX + 1];
	char occupation[64];
};

static const char sql_person[] = "SELECT id, name, grid_code, occupation FROM persons"
				 " WHERE id_number = ?";
static const char sql_tube[] =
	"SELECT t.id, coalesce(t.campaign_id, 0), t.site_id, t.purpose, t.pool_size, t.n,"
	" t.opened_at, t.closed_at, t.result, t.resulted_at, t.lab, s.code, s.region_code"
	" FROM tubes t JOIN sites s ON s.id = t.site_id WHERE t.code = ?";

struct tube_view {
	struct tube_row r;
	int64_t opened_at, closed_at, resulted_at; /* 0: null */
	char result[16], lab[72];
	char site[SITE_CODE_MAX + 1], region[REGION_MAX + 1];
};

/* Tube code on the thread's reader: 1 found, 0 none, -1 error (err). */
static int tube_view_read(const char *code, struct tube_view *v, struct fk_err *err)
{
	sqlite3_stmt *q = store_reader_stmt(sql_tube, err);
	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		memset(v, 0, sizeof(*v));
		v->r.id = sqlite3_column_int64(q, 0);
		v->r.campaign_id = sqlite3_column_int64(q, 1);
		v->r.site_id = sqlite3_column_int64(q, 2);
		if (!purpose_parse(http_col(q, 3), &v->r.purpose))
			v->r.purpose = PURPOSE_ROUND;
		v->r.pool_size = sqlite3_column_int(q, 4);
		v->r.n = sqlite3_column_int(q, 5);
		v->opened_at = sqlite3_column_int64(q, 6);
		v->closed_at = sqlite3_column_int64(q, 7);
		fk_strlcpy(v->result, http_col(q, 8), sizeof(v->result));
		v->resulted_at = sqlite3_column_int64(q, 9);
		fk_strlcpy(v->lab, http_col(q, 10), sizeof(v->lab));
		fk_strlcpy(v->site, http_col(q, 11), sizeof(v->site));
		fk_strlcpy(v->region, http_col(q, 12), sizeof(v->region));
		v->r.closed = sqlite3_column_type(q, 7) != SQLITE_NULL;
		v->r.resulted = v->result[0] != '\0';
	} else if (rc != SQLITE_DONE) {
		fk_fail(err, FK_EDB, "cannot read tubes: %s", sqlite3_errmsg(sqlite3_db_handle(q)));
	}
	store_stmt_done(q);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static void add_time_or_null(struct strbuf *o, const char *key, int64_t t, bool set)
{
	char at[40];
	strbuf_addf(o, ",\"%s\":", key);
	if (set)
		strbuf_add_json_str(o, fk_format_time(t, at, sizeof(at)));
	else
		strbuf_addstr(o, "null");
}

static void tube_json(struct strbuf *o, const char *code, const struct tube_view *v)
{
	char at[40];
	strbuf_reset(o);
	strbuf_addstr(o, "{\"tube\":");
	strbuf_add_json_str(o, code);
	if (v->r.campaign_id)
		strbuf_addf(o, ",\"campaign\":%" PRId64, v->r.campaign_id);
	else
		strbuf_addstr(o, ",\"campaign\":null");
	strbuf_addstr(o, ",\"site\":");
	strbuf_add_json_str(o, v->site);
	strbuf_addf(o, ",\"purpose\":\"%s\",\"pool_size\":%d,\"n\":%d,\"opened_at\":",
		    purpose_names[v->r.purpose], v->r.pool_size, v->r.n);
	strbuf_add_json_str(o, fk_format_time(v->opened_at, at, sizeof(at)));
	add_time_or_null(o, "closed_at", v->closed_at, v->r.closed);
	strbuf_addstr(o, ",\"result\":");
	if (v->result[0])
		strbuf_add_json_str(o, v->result);
	else
		strbuf_addstr(o, "null");
	add_time_or_null(o, "resulted_at", v->resulted_at, v->resulted_at != 0);
	strbuf_addstr(o, ",\"lab\":");
	strbuf_add_json_str(o, v->lab);
	strbuf_addch(o, '}');
}

/* Answers the tube's JSON with status. */
static void tube_answer(struct http_req *req, int status, const char *code)
{
	struct tube_view v;
	struct fk_err err;
	int rc = tube_view_read(code, &v, &err);
	if (rc < 0) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	if (rc == 0) {
		http_error(req, 404, "unknown_tube", "no tube '%s'", code);
		return;
	}
	tube_json(&req->out, code, &v);
	req->status = status;
	req->content_type = "application/json; charset=utf-8";
}

/* The tube code of member key: required, 1..TUBE_CODE_MAX of [A-Za-z0-9_-]. */
static bool member_code(struct http_req *req, json_t *o, const char *key, size_t max,
			bool required, const char **out)
{
	if (!http_member_str(req, o, key, out))
		return false;
	if (!*out) {
		if (required)
			http_error(req, 400, NULL, "'%s' is required", key);
		return !required;
	}
	if (!testing_code_valid(*out, max)) {
		http_error(req, 400, NULL, "'%s' must be 1 to %zu letters, digits, '-' or '_'", key,
			   max);
		return false;
	}
	return true;
}

/* The binding members of a POST /tubes or /samples body: fills in
 * (campaign_id, site_id, pool_size, purpose, given).  Looks up the site
 * and the campaign (404 not_found when unknown or the site out of scope)
 * and applies the defaults (pool: the campaign's, else 1; purpose round).
 * *c receives the campaign when there is one.  False after answering. */
static bool binding_of(struct http_req *req, json_t *o, sqlite3 *db, struct sample_in *in,
		       struct campaign *c, const char **site_code)
{
	int64_t cid = 0, pool = 0;
	bool has_c, has_p;
	const char *purpose;
	struct fk_err err;
	enum fk_status st;
	if (!http_member_int(req, o, "campaign", 1, INT64_MAX, &cid, &has_c) ||
	    !http_member_int(req, o, "pool_size", 1, 20, &pool, &has_p) ||
	    !member_code(req, o, "site", SITE_CODE_MAX, false, site_code) ||
	    !http_member_str(req, o, "purpose", &purpose))
		return false;
	if (purpose && !purpose_parse(purpose, &in->purpose)) {
		http_error(req, 400, NULL, "'purpose' must be round, retest or resample");
		return false;
	}
	in->given = (has_c ? GIVEN_CAMPAIGN : 0) | (has_p ? GIVEN_POOL : 0) |
		    (*site_code ? GIVEN_SITE : 0) | (purpose ? GIVEN_PURPOSE : 0);
	if (*site_code) {
		struct site_row site;
		st = site_find(*site_code, 0, &site, &err);
		if (!st && !access_scope_contains(req->user->scope, site.region))
			st = FK_ENOTFOUND;
		if (st == FK_ENOTFOUND) {
			http_error(req, 404, NULL, "no site '%s' in your scope", *site_code);
			return false;
		}
		if (st) {
			http_fail(req, st, &err);
			return false;
		}
		in->site_id = site.id;
	}
	if (has_c) {
		st = campaign_find(db, cid, c, &err);
		if (st == FK_ENOTFOUND) {
			http_error(req, 404, NULL, "no campaign %" PRId64, cid);
			return false;
		}
		if (st) {
			http_fail(req, st, &err);
			return false;
		}
		in->campaign_id = cid;
	}
	in->pool_size = has_p ? (int)pool : has_c ? c->pool_size : 1;
	return true;
}

static void answer_refusal(struct http_req *req, const struct sample_out *out)
{
	int status = out->ref == REF_UNKNOWN_TUBE ? 404 : 409;
	http_error(req, status, refusal_codes[out->ref], "%s", out->msg);
}

/* Submits job and answers a refusal or a failure; true when committed. */
static bool submit_or_answer(struct http_req *req, struct sample_job *job)
{
	struct fk_err err;
	enum fk_status st = sample_submit(job, &err);
	if (st) {
		req->retry_after = "1";
		http_error(req, 503, NULL, "%s", err.msg);
		return false;
	}
	if (job->out.ref) {
		answer_refusal(req, &job->out);
		return false;
	}
	return true;
}

static void set_by(struct sample_in *in, const struct user *u)
{
	fk_strlcpy(in->by, u->username, sizeof(in->by));
}

/* POST /api/v1/tubes */
static void tube_post(struct http_req *req)
{
	const char *code, *site_code = NULL;
	struct campaign c;
	struct sample_job job;
	json_t *o = NULL;
	sqlite3 *db = http_reader(req);
	if (!db || !(o = http_body_object(req)))
		goto done;
	memset(&job, 0, sizeof(job));
	memset(&c, 0, sizeof(c));
	job.in.kind = JOB_BIND;
	if (!member_code(req, o, "tube", TUBE_CODE_MAX, true, &code) ||
	    !binding_of(req, o, db, &job.in, &c, &site_code))
		goto done;
	if (!site_code) {
		http_error(req, 400, NULL, "'site' is required");
		goto done;
	}
	/* binding a tube states all of it: absent members are their defaults */
	job.in.given = GIVEN_CAMPAIGN | GIVEN_SITE | GIVEN_POOL | GIVEN_PURPOSE;
	if (job.in.campaign_id && !c.open) {
		http_error(req, 409, "campaign_closed",
			   "campaign %" PRId64 " is closed: it takes no new samples", c.id);
		goto done;
	}
	fk_strlcpy(job.in.tube, code, sizeof(job.in.tube));
	set_by(&job.in, req->user);
	if (submit_or_answer(req, &job))
		tube_answer(req, job.out.retry ? 200 : 201, code);
done:
	json_decref(o);
}

static enum fk_status person_find(const char *idn, struct person_row *p, struct fk_err *err)
{
	sqlite3_stmt *q = store_reader_stmt(sql_person, err);
	if (!q)
		return FK_EDB;
	sqlite3_bind_text(q, 1, idn, -1, SQLITE_STATIC);
	enum fk_status st = FK_OK;
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		p->id = sqlite3_column_int64(q, 0);
		fk_strlcpy(p->name, http_col(q, 1), sizeof(p->name));
		fk_strlcpy(p->grid, http_col(q, 2), sizeof(p->grid));
		fk_strlcpy(p->occupation, http_col(q, 3), sizeof(p->occupation));
	} else if (rc == SQLITE_DONE) {
		st = fk_fail(err, FK_ENOTFOUND, "no person with that ID number");
	} else {
		st = fk_fail(err, FK_EDB, "cannot read persons: %s",
			     sqlite3_errmsg(sqlite3_db_handle(q)));
	}
	store_stmt_done(q);
	return st;
}

/* POST /api/v1/samples */
static void sample_post(struct http_req *req)
{
	const char *code, *idn, *site_code = NULL;
	char idbuf[ID_NUMBER_MAX + 1], masked[256], at[40];
	struct campaign c;
	struct person_row p;
	struct tube_view tv;
	struct sample_job job;
	struct fk_err err;
	enum fk_status st;
	json_t *o = NULL;
	sqlite3 *db = http_reader(req);
	if (!db || !(o = http_body_object(req)))
		goto done;
	memset(&job, 0, sizeof(job));
	memset(&c, 0, sizeof(c)); /* c.id 0: no campaign read yet */
	job.in.kind = JOB_SAMPLE;
	if (!member_code(req, o, "tube", TUBE_CODE_MAX, true, &code) ||
	    !http_member_str(req, o, "id_number", &idn))
		goto done;
	if (!idn) {
		http_error(req, 400, NULL, "'id_number' is required");
		goto done;
	}
	if (!*idn || !fk_strlcpy(idbuf, idn, sizeof(idbuf))) {
		http_error(req, 400, NULL, "'id_number' is not an ID number");
		goto done;
	}
	size_t n = strlen(idbuf);
	if (idbuf[n - 1] == 'x') /* the check character typed in lower case */
		idbuf[n - 1] = 'X';
	if (!binding_of(req, o, db, &job.in, &c, &site_code))
		goto done;
	st = person_find(idbuf, &p, &err);
	if (st == FK_ENOTFOUND) {
		/* masked, as every other answer and log line that names one */
		char shown[ID_NUMBER_MAX + 1];
		mask_id_number(idbuf, shown, sizeof(shown));
		http_error(req, 404, "unknown_person", "no person with ID number '%s'", shown);
		goto done;
	}
	if (st) {
		http_fail(req, st, &err);
		goto done;
	}
	int rc = tube_view_read(code, &tv, &err);
	if (rc < 0) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	if (rc == 1 && !access_scope_contains(req->user->scope, tv.region))
		rc = 0; /* another scope's tube: as if unknown */
	if (rc == 0 && !site_code) {
		http_error(req, 404, "unknown_tube",
			   "tube '%s' is not bound; give 'site' (and 'campaign') to bind it", code);
		goto done;
	}
	/* the campaign the tube is (or will be) bound to */
	int64_t cid = rc == 1 ? tv.r.campaign_id : job.in.campaign_id;
	if (cid && cid != c.id) {
		st = campaign_find(db, cid, &c, &err);
		if (st) {
			http_fail(req, st == FK_ENOTFOUND ? FK_EDB : st, &err);
			goto done;
		}
	}
	if (cid && !c.open) {
		http_error(req, 409, "campaign_closed",
			   "campaign %" PRId64 " is closed: it takes no new samples", cid);
		goto done;
	}
	if (cid && campaign_person_status(db, &c, p.id, p.grid, p.occupation,
					  &job.in.in_population, &job.in.expected, &err)) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	job.in.status_campaign = cid;
	job.in.person_id = p.id;
	fk_strlcpy(job.in.grid, p.grid, sizeof(job.in.grid));
	fk_strlcpy(job.in.tube, code, sizeof(job.in.tube));
	set_by(&job.in, req->user);
	if (!submit_or_answer(req, &job))
		goto done;

	mask_name(p.name, masked, sizeof(masked));
	strbuf_reset(&req->out);
	strbuf_addf(&req->out, "{\"sample\":%" PRId64 ",\"tube\":", job.out.sample_id);
	strbuf_add_json_str(&req->out, code);
	strbuf_addf(&req->out, ",\"n\":%d,\"pool_size\":%d,\"closed\":%s,\"sampled_at\":",
		    job.out.n, job.out.pool_size, job.out.closed ? "true" : "false");
	strbuf_add_json_str(&req->out, fk_format_time(job.out.sampled_at, at, sizeof(at)));
	strbuf_addf(&req->out, ",\"expected\":%s,\"retry\":%s,\"person\":{\"id\":%" PRId64
			       ",\"name\":",
		    job.out.expected ? "true" : "false", job.out.retry ? "true" : "false", p.id);
	strbuf_add_json_str(&req->out, masked);
	strbuf_addstr(&req->out, "}}");
	req->status = job.out.retry ? 200 : 201;
	req->content_type = "application/json; charset=utf-8";
done:
	json_decref(o);
}

/* The tube of the path, in the user's scope: false after answering 404. */
static bool path_tube(struct http_req *req, struct tube_view *v)
{
	struct fk_err err;
	const char *code = req->params[0];
	if (!testing_code_valid(code, TUBE_CODE_MAX)) {
		http_error(req, 404, "unknown_tube", "no tube '%s'", code);
		return false;
	}
	int rc = tube_view_read(code, v, &err);
	if (rc < 0) {
		http_fail(req, FK_EDB, &err);
		return false;
	}
	if (rc == 0 || !access_scope_contains(req->user->scope, v->region)) {
		http_error(req, 404, "unknown_tube", "no tube '%s'", code);
		return false;
	}
	return true;
}

/* POST /api/v1/tubes/{code}/close */
static void tube_close(struct http_req *req)
{
	struct tube_view v;
	struct sample_job job;
	if (!http_reader(req) || !path_tube(req, &v))
		return;
	memset(&job, 0, sizeof(job));
	job.in.kind = JOB_CLOSE;
	fk_strlcpy(job.in.tube, req->params[0], sizeof(job.in.tube));
	set_by(&job.in, req->user);
	if (!submit_or_answer(req, &job))
		return;
	tube_answer(req, 200, req->params[0]);
	if (req->status == 200 && !job.out.retry)
		http_audit(req, "tube.close", req->params[0], "");
}

/* GET /api/v1/tubes/{code} */
static void tube_get(struct http_req *req)
{
	struct tube_view v;
	if (!(role_perms(req->user->role) & (PERM_SAMPLE | PERM_RESULTS | PERM_READ_TESTING))) {
		http_error(req, 403, NULL, "your role may not read tubes");
		return;
	}
	if (!http_reader(req) || !path_tube(req, &v))
		return;
	tube_json(&req->out, req->params[0], &v);
	req->status = 200;
	req->content_type = "application/json; charset=utf-8";
}

const struct http_route sample_routes[] = {
	{"POST", "/api/v1/samples", sample_post, ROUTE_JSON_BODY, PERM_SAMPLE, SAMPLE_BODY_MAX},
	{"POST", "/api/v1/tubes", tube_post, ROUTE_JSON_BODY, PERM_SAMPLE, SAMPLE_BODY_MAX},
	{"POST", "/api/v1/tubes/{code}/close", tube_close, 0, PERM_SAMPLE, SAMPLE_BODY_MAX},
	{"GET", "/api/v1/tubes/{code}", tube_get, 0, 0, 0},
};
const size_t sample_routes_len = FK_ARRAY_LEN(sample_routes);

/* ------------------------------------------------------------ importer */
/*
 * `fangkong import samples FILE.csv [--campaign ID] [--db FILE]`:
 * tube,id_number,site,sampled_at,pool_size.  The contract of the other
 * importers (registry/import.c): exact header, every valid row kept, each
 * rejected row in FILE.rejects.csv with its line, field and reason, exit
 * 3 when any was rejected, batches of IMPORT_BATCH rows a transaction
 * (with their "sample.import" audit record), idempotent.  Each row goes
 * through sample_apply(), as a sample posted to the API does: the first
 * row of a tube binds it (site, pool_size, and the campaign: --campaign,
 * else the open campaign whose area holds the person's grid and whose
 * [starts_at, deadline] holds sampled_at, the latest started); a row equal
 * to a stored sample is unchanged; refusals are rejected rows with the
 * API's code at the head of the reason.
 */

#define IMPORT_COLS 5
#define IMPORT_BATCH 10000
#define IMPORT_MAX_FIELD 256
#define IMPORT_MAX_RECORD 2048
#define IMPORT_FUTURE_TOLERANCE 300
#define IMPORT_CAMPAIGNS 32 /* campaigns kept read */
#define REASON_MAX 240

static const char *const import_cols[IMPORT_COLS] = {"tube", "id_number", "site", "sampled_at",
						     "pool_size"};

enum { IQ_PERSON, IQ_SITE, IQ_INFER, IQ_COUNT };
static const char *const import_sql[IQ_COUNT] = {
	[IQ_PERSON] = "SELECT id, grid_code, occupation FROM persons WHERE id_number = ?",
	[IQ_SITE] = "SELECT id FROM sites WHERE code = ?",
	[IQ_INFER] = "SELECT id FROM campaigns WHERE status = 'open'"
		     " AND substr(?1, 1, length(region_code)) = region_code"
		     " AND starts_at <= ?2 AND deadline >= ?2"
		     " ORDER BY starts_at DESC, id DESC LIMIT 1",
};

struct sample_import_report {
	uint64_t rows, inserted, unchanged, rejected;
	const char *encoding;
	char rejects_path[4096 + 16];
};

struct importer {
	sqlite3 *db;
	const char *path;
	const char *actor;
	enum text_encoding enc;
	int64_t now;
	int64_t campaign_opt; /* --campaign, 0 when not given */
	struct sample_import_report *rep;
	struct sample_stmts s;
	sqlite3_stmt *q[IQ_COUNT];
	struct campaign camps[IMPORT_CAMPAIGNS];
	size_t ncamps, next_camp;
	struct strbuf field[IMPORT_COLS];
	struct strbuf scratch;
	FILE *rej;
	bool in_tx;
	uint64_t committed, batch_rows, batch_inserted, batch_first, batch_last;
};

struct reject {
	const char *field;
	char reason[REASON_MAX];
};

static bool reject(struct reject *rj, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool reject(struct reject *rj, const char *field, const char *fmt, ...)
{
	va_list ap;
	rj->field = field;
	va_start(ap, fmt);
	vsnprintf(rj->reason, sizeof(rj->reason), fmt, ap);
	va_end(ap);
	return false;
}

static void importer_release(struct importer *im)
{
	sample_stmts_release(&im->s);
	for (size_t i = 0; i < IQ_COUNT; i++) {
		sqlite3_finalize(im->q[i]);
		im->q[i] = NULL;
	}
	for (size_t i = 0; i < IMPORT_COLS; i++)
		strbuf_release(&im->field[i]);
	strbuf_release(&im->scratch);
	if (im->rej)
		fclose(im->rej);
	im->rej = NULL;
}

/* Campaign id, read once per import.  FK_ENOTFOUND, FK_EDB. */
static enum fk_status import_campaign(struct importer *im, int64_t id, const struct campaign **out,
				      struct fk_err *err)
{
	for (size_t i = 0; i < im->ncamps; i++)
		if (im->camps[i].id == id) {
			*out = &im->camps[i];
			return FK_OK;
		}
	size_t slot = im->ncamps < IMPORT_CAMPAIGNS ? im->ncamps++
						    : im->next_camp++ % IMPORT_CAMPAIGNS;
	enum fk_status st = campaign_get(im->db, id, &im->camps[slot], err);
	if (st) {
		im->camps[slot].id = 0;
		return st;
	}
	*out = &im->camps[slot];
	return FK_OK;
}

static enum fk_status import_write_reject(struct importer *im, uint64_t line, const char *field,
					  const char *reason, const char *raw, size_t raw_len,
					  struct fk_err *err)
{
	enum fk_status st = rejects_write(&im->rej, im->rep->rejects_path, im->enc, &im->scratch,
					  line, field, reason, raw, raw_len, err);
	if (st)
		return st;
	im->rep->rejected++;
	im->rep->rows++;
	return FK_OK;
}

static enum fk_status import_batch_end(struct importer *im, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	if (!im->in_tx)
		return FK_OK;
	if (im->batch_inserted) {
		char detail[128];
		snprintf(detail, sizeof(detail),
			 "batch lines %" PRIu64 "-%" PRIu64 ": %" PRIu64 " samples inserted",
			 im->batch_first, im->batch_last, im->batch_inserted);
		st = audit_append(im->db, im->actor, "sample.import", im->path, detail, "cli", err);
	}
	if (!st)
		st = store_commit(im->db, err);
	if (st)
		store_rollback(im->db);
	else
		im->committed += im->batch_rows;
	im->in_tx = false;
	im->batch_rows = im->batch_inserted = 0;
	return st;
}

static void trim_sb(struct strbuf *sb)
{
	size_t a = 0, b = sb->len;
	while (a < b && (sb->buf[a] == ' ' || sb->buf[a] == '\t'))
		a++;
	while (b > a && (sb->buf[b - 1] == ' ' || sb->buf[b - 1] == '\t'))
		b--;
	memmove(sb->buf, sb->buf + a, b - a);
	sb->len = b - a;
	sb->buf[sb->len] = '\0';
}

/* Validates a decoded row into in (a sample job); false with rj set. */
static bool import_validate(struct importer *im, struct sample_in *in, struct reject *rj,
			    struct fk_err *err, enum fk_status *st)
{
	const char *tube = im->field[0].buf, *site = im->field[2].buf;
	const char *when = im->field[3].buf, *pool = im->field[4].buf;
	char idn[ID_NUMBER_MAX + 1];
	int64_t t, ps;
	int rc;
	*st = FK_OK;
	memset(in, 0, sizeof(*in));
	in->kind = JOB_SAMPLE;
	if (!testing_code_valid(tube, TUBE_CODE_MAX))
		return reject(rj, "tube", "not a tube code (1 to %d letters, digits, '-' or '_')",
			      TUBE_CODE_MAX);
	if (!fk_strlcpy(idn, im->field[1].buf, sizeof(idn)) || !idn[0])
		return reject(rj, "id_number", "not an ID number");
	size_t n = strlen(idn);
	if (idn[n - 1] == 'x')
		idn[n - 1] = 'X';
	enum idnum_error ie = idnum_parse(idn, im->now, NULL);
	if (ie != IDNUM_OK)
		return reject(rj, "id_number", "%s", idnum_error_text(ie));
	if (!testing_code_valid(site, SITE_CODE_MAX))
		return reject(rj, "site", "not a site code (1 to %d letters, digits, '-' or '_')",
			      SITE_CODE_MAX);
	if (!fk_parse_time(when, &t))
		return reject(rj, "sampled_at",
			      "not a time like 2022-01-10T08:30:00+08:00 (ISO 8601 with offset)");
	if (t > im->now + IMPORT_FUTURE_TOLERANCE)
		return reject(rj, "sampled_at", "in the future");
	if (!fk_parse_i64(pool, 1, 20, &ps))
		return reject(rj, "pool_size", "not a pool size from 1 to 20");

	/* the person */
	sqlite3_stmt *q = im->q[IQ_PERSON];
	char occupation[64] = "";
	sqlite3_bind_text(q, 1, idn, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		in->person_id = sqlite3_column_int64(q, 0);
		fk_strlcpy(in->grid, http_col(q, 1), sizeof(in->grid));
		fk_strlcpy(occupation, http_col(q, 2), sizeof(occupation));
	}
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto db_error;
	if (rc == SQLITE_DONE)
		return reject(rj, "id_number", "unknown_person: no person with this ID number");
	/* the site */
	q = im->q[IQ_SITE];
	sqlite3_bind_text(q, 1, site, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		in->site_id = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto db_error;
	if (rc == SQLITE_DONE)
		return reject(rj, "site", "no site '%s'", site);

	/* the campaign: the bound tube's, else --campaign, else inferred */
	struct tube_row tr;
	rc = tube_read(&im->s, tube, &tr);
	if (rc < 0)
		goto db_error;
	int64_t cid = 0;
	if (rc == 1) {
		cid = tr.campaign_id;
	} else if (im->campaign_opt) {
		cid = im->campaign_opt;
	} else {
		q = im->q[IQ_INFER];
		sqlite3_bind_text(q, 1, in->grid, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 2, t);
		rc = sqlite3_step(q);
		if (rc == SQLITE_ROW)
			cid = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			goto db_error;
	}
	if (im->campaign_opt && cid != im->campaign_opt) {
		char a[48];
		fmt_campaign(cid, a, sizeof(a));
		return reject(rj, "tube", "tube_bound: tube '%s' is bound to %s, not campaign %" PRId64,
			      tube, a, im->campaign_opt);
	}
	if (cid) {
		const struct campaign *c;
		if ((*st = import_campaign(im, cid, &c, err)))
			return false;
		if (campaign_person_status(im->db, c, in->person_id, in->grid, occupation,
					   &in->in_population, &in->expected, err)) {
			*st = FK_EDB;
			return false;
		}
	}
	fk_strlcpy(in->tube, tube, sizeof(in->tube));
	in->campaign_id = cid;
	in->status_campaign = cid;
	in->pool_size = (int)ps;
	in->purpose = PURPOSE_ROUND;
	in->given = GIVEN_SITE | GIVEN_POOL;
	in->t = t;
	fk_strlcpy(in->by, im->actor, sizeof(in->by));
	return true;
db_error:
	*st = fk_fail(err, FK_EDB, "cannot read the database: %s", sqlite3_errmsg(im->db));
	return false;
}

static enum fk_status import_row(struct importer *im, const struct csv_row *row,
				 struct fk_err *err)
{
	struct reject rj = {"", ""};
	struct sample_in in;
	struct sample_out out;
	enum fk_status st = FK_OK;
	bool ok = true;
	if (row->nfields != IMPORT_COLS) {
		ok = reject(&rj, "", "wrong column count (expected %d, got %zu)", IMPORT_COLS,
			    row->nfields);
	} else {
		for (size_t i = 0; ok && i < IMPORT_COLS; i++) {
			struct strbuf *f = &im->field[i];
			strbuf_reset(f);
			if (!text_to_utf8(im->enc, row->fields[i], row->lens[i], f) ||
			    memchr(f->buf, '\0', f->len))
				ok = reject(&rj, import_cols[i], "invalid encoding");
			else
				trim_sb(f);
		}
	}
	if (ok && !im->in_tx) {
		if ((st = store_begin(im->db, err)))
			return st;
		im->in_tx = true;
		im->batch_first = row->line;
	}
	if (ok) {
		ok = import_validate(im, &in, &rj, err, &st);
		if (st)
			return st;
	}
	if (ok) {
		if (!sample_apply(&im->s, &in, &out))
			return fk_fail(err, FK_EDB, "cannot write line %" PRIu64 ": %s", row->line,
				       sqlite3_errmsg(im->db));
		if (out.ref) {
			const char *field = out.field;
			if (!strcmp(field, "campaign") || !strcmp(field, "purpose"))
				field = "tube";
			ok = reject(&rj, field, "%s: %s", refusal_codes[out.ref], out.msg);
		} else if (out.retry && out.sampled_at != in.t) {
			char a[40];
			ok = reject(&rj, "sampled_at",
				    "already_sampled: the person is in tube '%s' already, sampled at %s",
				    in.tube, fk_format_time(out.sampled_at, a, sizeof(a)));
		}
	}
	if (!ok)
		return import_write_reject(im, row->line, rj.field, rj.reason, row->raw,
					   row->raw_len, err);
	im->rep->rows++;
	if (out.retry) {
		im->rep->unchanged++;
	} else {
		im->rep->inserted++;
		im->batch_inserted++;
	}
	im->batch_last = row->line;
	if (++im->batch_rows >= IMPORT_BATCH)
		return import_batch_end(im, err);
	return FK_OK;
}

static enum fk_status import_header(struct importer *im, struct csv_reader *r, struct fk_err *err)
{
	return testing_csv_header(r, im->path, im->enc, import_cols, IMPORT_COLS, "samples", err);
}

static enum fk_status import_records(struct importer *im, const char *data, size_t len,
				     struct fk_err *err)
{
	struct csv_limits lim = {IMPORT_MAX_FIELD, IMPORT_MAX_RECORD, 64};
	struct csv_reader *r = csv_reader_new(data, len, &lim);
	struct fk_progress prog;
	struct csv_row row;
	enum fk_status st;
	uint64_t n = 0;

	if ((st = import_header(im, r, err)))
		goto free_reader;
	if (unlink(im->rep->rejects_path) && errno != ENOENT) {
		st = fk_fail(err, FK_EIO, "cannot remove stale '%s': %s", im->rep->rejects_path,
			     strerror(errno));
		goto free_reader;
	}
	fk_progress_init(&prog, "import samples", 0);
	for (;;) {
		struct fk_err cerr = {FK_OK, ""};
		enum csv_result res = csv_next(r, &row, &cerr);
		if (res == CSV_EOF)
			break;
		if (res == CSV_ERROR) {
			const char *field = row.bad_field > 0 && row.bad_field <= IMPORT_COLS
						    ? import_cols[row.bad_field - 1]
						    : "";
			char reason[REASON_MAX];
			rejects_csv_reason(cerr.msg, reason, sizeof(reason));
			st = import_write_reject(im, row.line, field, reason, row.raw, row.raw_len,
						 err);
		} else if (row.nfields == 1 && row.lens[0] == 0) {
			continue; /* blank line */
		} else {
			st = import_row(im, &row, err);
		}
		if (st)
			goto rollback;
		if ((++n & 1023) == 0 && prog.enabled) {
			size_t off = csv_offset(r);
			prog.total = off ? (uint64_t)((double)n * len / off) : 0;
			fk_progress_update(&prog, n);
		}
	}
	if ((st = import_batch_end(im, err)))
		goto free_reader;
	prog.total = n;
	fk_progress_done(&prog, n);
	goto free_reader;
rollback:
	if (im->in_tx)
		store_rollback(im->db);
	im->in_tx = false;
free_reader:
	csv_reader_free(r);
	return st;
}

static enum fk_status samples_import(sqlite3 *db, const char *path, int64_t campaign,
				     const char *actor, struct sample_import_report *rep,
				     struct fk_err *err)
{
	struct importer im;
	struct fk_mapfile fm = {.data = "", .map = MAP_FAILED, .fd = -1};
	enum fk_status st = FK_OK;
	size_t skip = 0;

	memset(&im, 0, sizeof(im));
	memset(rep, 0, sizeof(*rep));
	for (size_t i = 0; i < IMPORT_COLS; i++)
		strbuf_init(&im.field[i]);
	strbuf_init(&im.scratch);
	im.db = db;
	im.path = path;
	im.actor = actor;
	im.now = fk_now();
	im.campaign_opt = campaign;
	im.rep = rep;
	rep->encoding = "";
	if ((size_t)snprintf(rep->rejects_path, sizeof(rep->rejects_path), "%s.rejects.csv",
			     path) >= sizeof(rep->rejects_path)) {
		st = fk_fail(err, FK_EINVAL, "file name too long: '%s'", path);
		goto release;
	}
	if ((st = store_exec(db, "PRAGMA synchronous=FULL", err)) ||
	    (st = sample_stmts_init(&im.s, db, err)))
		goto release;
	for (size_t i = 0; i < IQ_COUNT; i++)
		if (!(im.q[i] = store_prepare(db, import_sql[i], err))) {
			st = FK_EDB;
			goto release;
		}
	if (campaign) {
		const struct campaign *c;
		if ((st = import_campaign(&im, campaign, &c, err)))
			goto release;
	}
	if ((st = fk_mapfile_open(&fm, path, err)))
		goto unmap;
	im.enc = text_detect(fm.data, fm.len, &skip);
	rep->encoding = text_encoding_name(im.enc);
	st = import_records(&im, fm.data + skip, fm.len - skip, err);
	if (im.rej && fclose(im.rej) && !st)
		st = fk_fail(err, FK_EIO, "cannot write '%s': %s", rep->rejects_path,
			     strerror(errno));
	im.rej = NULL;
	if (st) {
		size_t n = strlen(err->msg);
		if (im.committed)
			snprintf(err->msg + n, sizeof(err->msg) - n,
				 " (%" PRIu64 " rows in committed batches are kept)", im.committed);
		goto unmap;
	}
	if (rep->rejected)
		st = fk_fail(err, FK_EREJECTED, "%" PRIu64 " rows rejected, see '%s'", rep->rejected,
			     rep->rejects_path);
unmap:
	fk_mapfile_close(&fm);
release:
	importer_release(&im);
	return st;
}

static void import_samples_usage(FILE *f)
{
	fputs("usage: fangkong import samples FILE.csv [--campaign ID] [--db FILE]\n"
	      "\n"
	      "Columns (header row required): tube,id_number,site,sampled_at,pool_size\n"
	      "  sampled_at  ISO 8601 with offset, e.g. 2022-01-10T08:30:00+08:00\n"
	      "  pool_size   1 to 20\n"
	      "\n"
	      "The first row of a tube binds it: its site, pool size and campaign (the\n"
	      "--campaign given, else the open campaign whose area holds the person's\n"
	      "grid and whose start and deadline hold sampled_at, the latest started;\n"
	      "else none).  Later rows of the tube must name the same site and pool size;\n"
	      "a tube closes when it holds pool_size samples.  The rules of the API\n"
	      "apply: a person sampled once per campaign round, tubes not over their pool\n"
	      "size, persons within the campaign's population, no samples into a closed\n"
	      "campaign.  Each refused row goes with its line, field and reason to\n"
	      "FILE.csv.rejects.csv; a row equal to a stored sample is unchanged, so\n"
	      "importing the same file twice changes nothing.\n"
	      "\n"
	      "  --campaign ID  bind new tubes to campaign ID (and refuse tubes bound\n"
	      "                 to another)\n"
	      "  --db FILE      database (default $FANGKONG_DB, then ./fangkong.db)\n"
	      "\n"
	      "exit: 0 ok, 1 failure, 2 bad usage, 3 rows rejected\n",
	      f);
}

int import_samples_cli(int argc, char **argv)
{
	const char *db_flag = NULL, *path = NULL;
	int64_t campaign = 0;
	sqlite3 *db = NULL;
	struct fk_err err = {FK_OK, ""};
	struct sample_import_report rep;
	char actor[80];
	int rc;

	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			import_samples_usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--db") || !strcmp(a, "--campaign")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "fangkong import samples: '%s' needs a value\n", a);
				return 2;
			}
			val = argv[++i];
		} else if (fk_starts_with(a, "--db=") || fk_starts_with(a, "--campaign=")) {
			val = strchr(a, '=') + 1;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "fangkong import samples: unknown option '%s'\n", a);
			import_samples_usage(stderr);
			return 2;
		} else if (!path) {
			path = a;
			continue;
		} else {
			fprintf(stderr, "fangkong import samples: unexpected argument '%s'\n", a);
			return 2;
		}
		if (fk_starts_with(a, "--db")) {
			db_flag = val;
		} else if (!fk_parse_i64(val, 1, INT64_MAX, &campaign)) {
			fprintf(stderr, "fangkong import samples: --campaign must be a campaign id, got '%s'\n",
				val);
			return 2;
		}
	}
	if (!path) {
		import_samples_usage(stderr);
		return 2;
	}
	if (access(path, R_OK)) {
		fprintf(stderr, "fangkong import samples: cannot open '%s': %s\n", path,
			strerror(errno));
		return 1;
	}
	if (store_open(store_default_path(db_flag), STORE_MIGRATE, &db, &err)) {
		fprintf(stderr, "fangkong import samples: %s\n", err.msg);
		return 1;
	}
	fk_cli_actor("import", actor, sizeof(actor));
	enum fk_status st = samples_import(db, path, campaign, actor, &rep, &err);
	if (st == FK_OK || st == FK_EREJECTED) {
		fprintf(stderr,
			"imported %s (%s): %" PRIu64 " rows, %" PRIu64 " inserted, %" PRIu64
			" unchanged, %" PRIu64 " rejected%s%s\n",
			path, rep.encoding, rep.rows, rep.inserted, rep.unchanged, rep.rejected,
			rep.rejected ? " -> " : "", rep.rejected ? rep.rejects_path : "");
		rc = st == FK_OK ? 0 : 3;
	} else {
		fprintf(stderr, "fangkong import samples: %s\n", err.msg);
		rc = st == FK_ENOTFOUND ? 2 : 1;
	}
	store_close(db);
	return rc;
}
