/* checkins.h — venue codes (signed QR payloads and printable posters),
 * scans over HTTP with group commit, bulk check-in writing (import, gen),
 * fever alerts.
 *
 * Venue payload.  A venue's QR code carries
 *     FK1:V:<venue code>:<signature>
 * where the signature is the first 10 bytes of HMAC-SHA-512/256 (libsodium
 * crypto_auth) of "V:<venue code>" under the server's venue key, written as
 * 16 characters of RFC 4648 base32 (A-Z, 2-7).  The whole payload uses only
 * QR alphanumeric characters, so the code stays small and robust.  The key
 * (32 random bytes) lives in meta 'venue_key' as hex and is created on first
 * use; a forged or altered venue code fails the check at scan time.
 *
 * Check-ins are rows of table checkins (store/schema.h), keyed (t,
 * venue_id, person_id): the same scan twice is one row.
 */
#ifndef FK_CHECKINS_H
#define FK_CHECKINS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* ---- venue payloads (venuecode.c) ---- */
#define VENUE_KEY_BYTES 32
#define VENUE_PAYLOAD_MAX 96
#define VENUE_CODE_MAX 32

/* Reads the venue key from meta into key; creates and stores one when
 * absent and create is true (db must then be writable).  FK_ENOTFOUND when
 * absent and !create. */
enum fk_status venue_key_get(sqlite3 *db, bool create, unsigned char key[VENUE_KEY_BYTES],
			     struct fk_err *err);
/* Writes the payload for code into out (NUL-terminated, at most
 * VENUE_PAYLOAD_MAX bytes); false if code is empty or too long. */
bool venue_payload_make(const unsigned char key[VENUE_KEY_BYTES], const char *code, char *out,
			size_t size);
/* Checks payload: FK_EINVAL when it is not a venue payload at all,
 * FK_EFORBIDDEN when the signature does not match (forged or altered);
 * on FK_OK code holds the venue code. */
enum fk_status venue_payload_check(const unsigned char key[VENUE_KEY_BYTES], const char *payload,
				   char *code, size_t size, struct fk_err *err);

/* ---- one check-in ---- */
enum checkin_source {
	CHECKIN_IMPORT = 0,    /* imported file or generated city */
	CHECKIN_SELF = 1,      /* citizen scanned the venue code with their phone */
	CHECKIN_DEVICE = 2,    /* venue device read the ID card (数字哨兵) */
	CHECKIN_COMPANION = 3, /* scanned by a citizen for a companion (同行人员) */
};

#define TEMP_DC_NONE INT32_MIN
#define FEVER_DC 373 /* 37.3 degC */

struct checkin {
	int64_t t;          /* Unix seconds */
	int64_t venue_id;   /* venue_keys.id */
	int64_t person_id;  /* persons.id */
	int32_t temp_dc;    /* 0.1 degC, or TEMP_DC_NONE */
	int source;         /* enum checkin_source */
};

/* ---- bulk writing (bulk.c), for import and gen ----
 * The caller holds the only write access to db (a CLI process, or the
 * server's writer lock).  Rows are inserted in transactions of `batch`
 * rows; each commit also records one checkin_batches row with the batch's
 * time range, so a running server picks the rows up. */
struct checkin_writer;
/* batch: rows per transaction (0 = 100,000).  Caller frees with
 * checkin_writer_free(). */
enum fk_status checkin_writer_open(sqlite3 *db, size_t batch, struct checkin_writer **out,
				   struct fk_err *err);
/* Adds one row (commits when the batch is full); *inserted (may be NULL)
 * is false when the row was already there. */
enum fk_status checkin_writer_add(struct checkin_writer *w, const struct checkin *c,
				  bool *inserted, struct fk_err *err);
/* Commits the open batch, if any. */
enum fk_status checkin_writer_flush(struct checkin_writer *w, struct fk_err *err);
/* Rolls back an uncommitted batch and frees; NULL accepted. */
void checkin_writer_free(struct checkin_writer *w);

/* ---- import (import.c): `fangkong import checkins FILE.csv` ----
 * Columns id_number,venue_code,time.  Rejects to FILE.rejects.csv like the
 * registry importers.  FK_EREJECTED when any row was rejected. */
struct checkin_import_report {
	uint64_t rows, inserted, unchanged, rejected;
	const char *encoding;
	char rejects_path[4096];
};
enum fk_status checkins_import(sqlite3 *db, const char *path, const char *actor,
			       struct checkin_import_report *rep, struct fk_err *err);

/* ---- a city that moves (gen_moves.c): `fangkong gen --days N` ----
 * Writes days x persons x (3..7) check-ins for the persons and venues in
 * db, for the `days` days ending the day before `end_day` (Unix seconds of
 * a local midnight), deterministic in seed. */
struct moves_options {
	int days;
	uint64_t seed;
	int64_t end_day;
	bool quiet;
};
enum fk_status checkins_gen(sqlite3 *db, const struct moves_options *opt, uint64_t *written,
			    struct fk_err *err);

/* ---- posters (poster.c): `fangkong export venue-posters` ---- */
int cmd_export(int argc, char **argv);

/* ---- server side (scan.c) ----
 * The scan service owns a committer thread: handlers queue validated scans,
 * the thread commits everything queued in one transaction on the writer
 * (group commit, synchronous=FULL), adds the rows to the contact index and
 * only then wakes the handlers, so an answer is sent only for a durable
 * scan.  Also polls checkin_batches for rows written by other processes. */
enum fk_status scan_service_start(struct fk_err *err);
void scan_service_stop(void);

#endif
