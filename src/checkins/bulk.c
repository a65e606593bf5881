/* bulk.c — the bulk check-in writer used by `fangkong import checkins` and
 * `fangkong gen --days`.
 *
 * Design note.
 *
 * Prepared INSERT OR IGNORE statements with static binds; no allocation
 * per row.  checkin_writer_add() runs a one-row statement and answers
 * whether the row was new (scans need that); checkin_writer_add_many()
 * (bulk_int.h, for import and gen, which need only counts) buffers rows
 * and runs a 64-row statement, which costs a third of the CPU a row: the
 * per-statement work (step, reset, opening the cursor) was most of it.
 * checkins is WITHOUT ROWID keyed (t, venue_id, person_id), so rows given
 * in time order append to the right edge of one B-tree (the fastest insert
 * SQLite has), and a row already present is a no-op that sqlite3_changes()
 * reports as 0 — this is what makes imports idempotent.
 *
 * Batches.  The writer opens a transaction on the first row and commits
 * after `batch` rows.  The commit carries one checkin_batches row (time
 * range and count of the rows this batch inserted; none when it inserted
 * nothing) in the same transaction, so a running server that polls
 * checkin_batches sees either the rows and their batch row, or neither.
 * The caller may put other statements into the open transaction (an audit
 * row) before checkin_writer_flush(); they commit together.
 *
 * Invariants.
 *   - in_tx is true exactly when a transaction opened by the writer is
 *     open; rows/inserted/t_min/t_max describe that transaction only.
 *   - After a failed step or commit the transaction is rolled back and
 *     the writer is back to "no transaction": nothing half-written.
 *   - Rows buffered by add_many (npend) always belong to the open
 *     transaction and are written, in order, before anything else
 *     touches the table through this writer (add, drain, flush).
 *   - total_inserted counts rows inserted in committed batches plus the
 *     open one; a rollback takes the open batch's rows off again.
 */
#include "checkins/checkins.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkins/bulk_int.h"
#include "lib/strbuf.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define WRITER_DEFAULT_BATCH 100000
#define BULK_CACHE_KIB (-262144) /* 256 MiB page cache while loading */
#define BULK_WAL_PAGES 32768     /* checkpoint every 128 MiB of WAL */

#define MULTI_ROWS 64 /* rows per multi-row INSERT (bulk_int.h) */

struct checkin_writer {
	sqlite3 *db;
	sqlite3_stmt *ins, *batch_ins;
	sqlite3_stmt *ins_multi; /* MULTI_ROWS rows; prepared on first use */
	struct checkin pend[MULTI_ROWS];
	size_t npend;
	uint64_t total_inserted;
	size_t batch;
	bool in_tx;
	size_t rows;       /* rows added in the open transaction */
	uint64_t inserted; /* of which inserted */
	int64_t t_min, t_max;
};

enum fk_status checkin_writer_open(sqlite3 *db, size_t batch, struct checkin_writer **out,
				   struct fk_err *err)
{
	struct checkin_writer *w = fk_xcalloc(1, sizeof(*w));
	*out = NULL;
	w->db = db;
	w->batch = batch ? batch : WRITER_DEFAULT_BATCH;
	w->ins = store_prepare(db,
			       "INSERT OR IGNORE INTO checkins(t, venue_id, person_id, temp_dc, source)"
			       " VALUES(?1, ?2, ?3, ?4, ?5)",
			       err);
	if (w->ins)
		w->batch_ins = store_prepare(db,
					     "INSERT INTO checkin_batches(t_min, t_max, rows, at)"
					     " VALUES(?1, ?2, ?3, ?4)",
					     err);
	if (!w->batch_ins) {
		checkin_writer_free(w);
		return FK_EDB;
	}
	*out = w;
	return FK_OK;
}

static void writer_abort(struct checkin_writer *w)
{
	if (w->in_tx)
		store_rollback(w->db);
	w->total_inserted -= w->inserted;
	w->in_tx = false;
	w->rows = 0;
	w->inserted = 0;
	w->npend = 0;
}

static void note_range(struct checkin_writer *w, int64_t t, bool first)
{
	if (first || t < w->t_min)
		w->t_min = t;
	if (first || t > w->t_max)
		w->t_max = t;
}

static void bind_row(sqlite3_stmt *q, int base, const struct checkin *c)
{
	sqlite3_bind_int64(q, base + 1, c->t);
	sqlite3_bind_int64(q, base + 2, c->venue_id);
	sqlite3_bind_int64(q, base + 3, c->person_id);
	if (c->temp_dc == TEMP_DC_NONE)
		sqlite3_bind_null(q, base + 4);
	else
		sqlite3_bind_int(q, base + 4, c->temp_dc);
	sqlite3_bind_int(q, base + 5, c->source);
}

/* Inserts the first n pending rows one by one (the tail of a batch). */
static enum fk_status insert_single(struct checkin_writer *w, size_t n, struct fk_err *err)
{
	for (size_t i = 0; i < n; i++) {
		bind_row(w->ins, 0, &w->pend[i]);
		int rc = sqlite3_step(w->ins);
		sqlite3_reset(w->ins);
		if (rc != SQLITE_DONE) {
			enum fk_status st = fk_fail(err, FK_EDB, "cannot insert a check-in: %s",
						    sqlite3_errmsg(w->db));
			writer_abort(w);
			return st;
		}
		w->inserted += (uint64_t)sqlite3_changes(w->db);
		w->total_inserted += (uint64_t)sqlite3_changes(w->db);
	}
	return FK_OK;
}

static enum fk_status drain_pending(struct checkin_writer *w, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	if (!w->npend)
		return FK_OK;
	if (w->npend < MULTI_ROWS) {
		st = insert_single(w, w->npend, err);
		w->npend = 0;
		return st;
	}
	sqlite3_stmt *q = w->ins_multi;
	for (size_t i = 0; i < MULTI_ROWS; i++)
		bind_row(q, (int)i * 5, &w->pend[i]);
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	w->npend = 0;
	if (rc != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot insert check-ins: %s", sqlite3_errmsg(w->db));
		writer_abort(w);
		return st;
	}
	w->inserted += (uint64_t)sqlite3_changes(w->db);
	w->total_inserted += (uint64_t)sqlite3_changes(w->db);
	return FK_OK;
}

enum fk_status checkin_writer_add_many(struct checkin_writer *w, const struct checkin *c,
				       struct fk_err *err)
{
	enum fk_status st;
	if (!w->ins_multi) {
		struct strbuf sql = STRBUF_INIT;
		strbuf_addstr(&sql, "INSERT OR IGNORE INTO checkins(t, venue_id, person_id, temp_dc,"
				    " source) VALUES");
		for (int i = 0; i < MULTI_ROWS; i++)
			strbuf_addstr(&sql, i ? ",(?,?,?,?,?)" : "(?,?,?,?,?)");
		w->ins_multi = store_prepare(w->db, sql.buf, err);
		strbuf_release(&sql);
		if (!w->ins_multi)
			return FK_EDB;
	}
	if (!w->in_tx) {
		if ((st = store_begin(w->db, err)))
			return st;
		w->in_tx = true;
	}
	/* the range of every row given: a superset of the rows inserted */
	note_range(w, c->t, !w->rows);
	w->pend[w->npend++] = *c;
	if (w->npend == MULTI_ROWS && (st = drain_pending(w, err)))
		return st;
	if (++w->rows >= w->batch)
		return checkin_writer_flush(w, err);
	return FK_OK;
}

enum fk_status checkin_writer_drain(struct checkin_writer *w, struct fk_err *err)
{
	return drain_pending(w, err);
}

uint64_t checkin_writer_inserted(const struct checkin_writer *w)
{
	return w->total_inserted;
}

static enum fk_status drain_pending(struct checkin_writer *w, struct fk_err *err);

enum fk_status checkin_writer_flush(struct checkin_writer *w, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	if (!w->in_tx)
		return FK_OK;
	if ((st = drain_pending(w, err)))
		return st;
	if (w->inserted) {
		sqlite3_stmt *q = w->batch_ins;
		sqlite3_bind_int64(q, 1, w->t_min);
		sqlite3_bind_int64(q, 2, w->t_max);
		sqlite3_bind_int64(q, 3, (int64_t)w->inserted);
		sqlite3_bind_int64(q, 4, fk_now());
		int rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc != SQLITE_DONE)
			st = fk_fail(err, FK_EDB, "cannot record a check-in batch: %s",
				     sqlite3_errmsg(w->db));
	}
	if (!st)
		st = store_commit(w->db, err);
	if (st) {
		writer_abort(w);
		return st;
	}
	w->in_tx = false;
	w->rows = 0;
	w->inserted = 0;
	return FK_OK;
}

enum fk_status checkin_writer_add(struct checkin_writer *w, const struct checkin *c,
				  bool *inserted, struct fk_err *err)
{
	enum fk_status st;
	sqlite3_stmt *q = w->ins;
	if (!w->in_tx) {
		if ((st = store_begin(w->db, err)))
			return st;
		w->in_tx = true;
	}
	if ((st = drain_pending(w, err))) /* keep the order of the rows given */
		return st;
	bind_row(q, 0, c);
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot insert a check-in: %s", sqlite3_errmsg(w->db));
		writer_abort(w);
		return st;
	}
	bool ins = sqlite3_changes(w->db) > 0;
	if (ins) {
		note_range(w, c->t, !w->inserted);
		w->inserted++;
		w->total_inserted++;
	}
	if (inserted)
		*inserted = ins;
	if (++w->rows >= w->batch)
		return checkin_writer_flush(w, err);
	return FK_OK;
}

void checkin_writer_free(struct checkin_writer *w)
{
	if (!w)
		return;
	writer_abort(w);
	sqlite3_finalize(w->ins);
	sqlite3_finalize(w->ins_multi);
	sqlite3_finalize(w->batch_ins);
	free(w);
}

/* ---- connection settings for a bulk load (bulk_int.h) ---- */

enum fk_status bulk_tune(sqlite3 *db, struct bulk_pragmas *saved, struct fk_err *err)
{
	char sql[160];
	memset(saved, 0, sizeof(*saved));
	saved->cache_size = store_query_int(db, "PRAGMA cache_size", -65536);
	saved->wal_autocheckpoint = store_query_int(db, "PRAGMA wal_autocheckpoint", 1000);
	saved->synchronous = store_query_int(db, "PRAGMA synchronous", 1);
	snprintf(sql, sizeof(sql),
		 "PRAGMA cache_size=%d; PRAGMA wal_autocheckpoint=%d; PRAGMA synchronous=FULL",
		 BULK_CACHE_KIB, BULK_WAL_PAGES);
	enum fk_status st = store_exec(db, sql, err);
	if (st)
		bulk_restore(db, saved);
	else
		saved->saved = 1;
	return st;
}

void bulk_restore(sqlite3 *db, struct bulk_pragmas *saved)
{
	char sql[200];
	if (!saved->saved && saved->cache_size == 0)
		return;
	snprintf(sql, sizeof(sql),
		 "PRAGMA cache_size=%lld; PRAGMA wal_autocheckpoint=%lld; PRAGMA synchronous=%lld",
		 (long long)saved->cache_size, (long long)saved->wal_autocheckpoint,
		 (long long)saved->synchronous);
	sqlite3_exec(db, sql, NULL, NULL, NULL);
	saved->saved = 0;
	saved->cache_size = 0;
}
