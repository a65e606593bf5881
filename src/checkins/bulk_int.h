/* bulk_int.h — settings of a bulk check-in load; internal to checkins/
 * (import.c, gen_moves.c). */
#ifndef FK_CHECKINS_BULK_INT_H
#define FK_CHECKINS_BULK_INT_H

#include <sqlite3.h>
#include <stdint.h>

#include "checkins/checkins.h"
#include "lib/err.h"

/* Connection settings before a bulk load, restored afterwards. */
struct bulk_pragmas {
	int64_t cache_size, wal_autocheckpoint, synchronous;
	int saved;
};

/* Sets the connection up for appending millions of rows: a larger page
 * cache, fewer (bigger) checkpoints, and synchronous=FULL so every
 * committed batch is on disk when its commit returns (a kill or a power
 * cut loses at most the open batch).  bulk_restore() puts the previous
 * values back; it is a no-op if bulk_tune() failed. */
enum fk_status bulk_tune(sqlite3 *db, struct bulk_pragmas *saved, struct fk_err *err);
void bulk_restore(sqlite3 *db, struct bulk_pragmas *saved);

/* Like checkin_writer_add() without telling which rows were inserted:
 * rows are buffered and written 64 to an INSERT statement (a third less
 * CPU a row), so a failure may surface on a later call or at the flush.
 * The batch's checkin_batches row then covers the time range of every
 * row given (a superset of those inserted).  Do not mix with
 * checkin_writer_add() in one batch unless the order does not matter:
 * add() writes the pending rows first. */
enum fk_status checkin_writer_add_many(struct checkin_writer *w, const struct checkin *c,
				       struct fk_err *err);
/* Writes the rows buffered by checkin_writer_add_many() into the open
 * transaction (no commit), so checkin_writer_inserted() counts them. */
enum fk_status checkin_writer_drain(struct checkin_writer *w, struct fk_err *err);
/* Rows inserted by this writer so far (committed or in the open batch). */
uint64_t checkin_writer_inserted(const struct checkin_writer *w);

#endif
