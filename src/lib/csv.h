/* csv.h — a bounded RFC 4180 CSV reader over a byte buffer.
 *
 * Why not libcsv: importers must name the physical line of every rejected
 * record, enforce per-field and per-record limits before allocating, and
 * resynchronise after a malformed record so one bad row never loses the
 * rows after it.  This reader does exactly that and nothing more.
 *
 * Bytes are passed through untouched (no decoding): the structural bytes
 * ',', '"', CR and LF are ASCII and never occur inside a UTF-8 or GB18030
 * multi-byte character, so decoding is done per field afterwards
 * (textenc.h).
 *
 * Records end at LF or CRLF outside quotes.  A quoted field may hold commas,
 * doubled quotes and newlines.  Errors (CSV_ERROR): a quote that is never
 * closed (reported for the record's first line; reading then resumes at the
 * next physical line, so later rows are kept), a stray character after a
 * closing quote, a field longer than max_field, a record longer than
 * max_record bytes, more than max_fields fields, or a NUL byte (fields
 * are C strings).  After an error the reader resumes at the line after the
 * bad record.  Blank lines are skipped; they are not records.
 */
#ifndef FK_CSV_H
#define FK_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct csv_limits {
	size_t max_field;  /* bytes in one field, default 1024 */
	size_t max_record; /* bytes in one record (raw), default 8192 */
	size_t max_fields; /* fields in one record, default 64 */
};                         /* a zero member means its default */

enum csv_result {
	CSV_ROW = 0, /* a record was read into row */
	CSV_EOF,     /* no more input */
	CSV_ERROR,   /* a malformed record; err says what, row->line/raw where */
};

/* One record.  Fields and raw point into memory owned by the reader and are
 * valid until the next csv_next() or csv_reader_free(). Fields are
 * NUL-terminated with quotes removed. */
struct csv_row {
	size_t nfields;
	char **fields;
	size_t *lens;
	uint64_t line;   /* physical line (1-based) where the record starts */
	const char *raw; /* the record's raw bytes, without the line ending */
	size_t raw_len;
	int bad_field;   /* on CSV_ERROR: 1-based field at fault, 0 if none */
};

struct csv_reader;

/* Reads from data[0..len) which must outlive the reader.  lim may be NULL
 * for the defaults.  Never returns NULL (aborts on out of memory). */
struct csv_reader *csv_reader_new(const char *data, size_t len, const struct csv_limits *lim);
void csv_reader_free(struct csv_reader *r);
enum csv_result csv_next(struct csv_reader *r, struct csv_row *row, struct fk_err *err);
/* Bytes consumed so far, for progress. */
size_t csv_offset(const struct csv_reader *r);

/* Appends one field to sb, quoted when needed (for rejects files). */
struct strbuf;
void csv_write_field(struct strbuf *sb, const char *s, size_t len);

#endif
