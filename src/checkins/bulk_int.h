/* bulk_int.h — settings of a bulk check-in load; internal to checkins/
 * (import.c, gen_moves.c). */
#ifndef FK_CHECKINS_BULK_INT_H
#define FK_CHECKINS_BULK_INT_H

#include <sqlite3.h>
#include <stdint.h>

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

#endif
