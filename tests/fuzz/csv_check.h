/* csv_check.h — invariants of the CSV reader, shared by the libFuzzer entry
 * point (tests/fuzz/fuzz_csv.c) and the corpus replay in tests/unit.
 *
 * csv_check() reads data[0..len) to the end under the given limits (NULL:
 * defaults) and returns NULL if every invariant held, otherwise a static
 * string naming the first one broken.  It also re-writes each good record
 * with csv_write_field() and reads it back, which must give the same fields.
 * Allocates nothing that outlives the call.
 */
#ifndef FK_TESTS_CSV_CHECK_H
#define FK_TESTS_CSV_CHECK_H

#include <stdint.h>
#include <string.h>

#include "lib/csv.h"
#include "lib/err.h"
#include "lib/strbuf.h"

/* Reads back one record written by csv_write_field; NULL if identical. */
static inline const char *csv_check_round_trip(const struct csv_row *row, size_t max_field,
                                               size_t max_fields)
{
	if (row->nfields == 1 && row->lens[0] == 0)
		return NULL; /* a lone empty field is written as a blank line */
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < row->nfields; i++) {
		if (i)
			strbuf_addch(&sb, ',');
		csv_write_field(&sb, row->fields[i], row->lens[i]);
	}
	strbuf_addch(&sb, '\n');
	struct csv_limits lim = {max_field, sb.len + 1, max_fields};
	struct csv_reader *r = csv_reader_new(sb.buf, sb.len, &lim);
	struct csv_row back;
	struct fk_err err = {0};
	const char *bad = NULL;
	enum csv_result res = csv_next(r, &back, &err);
	if (res != CSV_ROW)
		bad = "written record does not read back as a record";
	else if (back.nfields != row->nfields)
		bad = "written record reads back with another field count";
	for (size_t i = 0; !bad && i < row->nfields; i++) {
		if (back.lens[i] != row->lens[i] ||
		    memcmp(back.fields[i], row->fields[i], row->lens[i]) != 0)
			bad = "written field reads back different";
	}
	if (!bad && csv_next(r, &back, &err) != CSV_EOF)
		bad = "written record reads back as more than one record";
	csv_reader_free(r);
	strbuf_release(&sb);
	return bad;
}

static inline const char *csv_check(const char *data, size_t len, const struct csv_limits *lim)
{
	struct csv_limits eff = {1024, 8192, 64};
	if (lim) {
		if (lim->max_field)
			eff.max_field = lim->max_field;
		if (lim->max_record)
			eff.max_record = lim->max_record;
		if (lim->max_fields)
			eff.max_fields = lim->max_fields;
	}
	struct csv_reader *r = csv_reader_new(data, len, lim);
	struct csv_row row;
	struct fk_err err;
	const char *bad = NULL;
	uint64_t prev_line = 0;
	size_t prev_off = 0;
	const char *counted = data; /* LFs in data[0..counted) number lfs */
	uint64_t lfs = 0;
	for (;;) {
		memset(&err, 0, sizeof(err));
		enum csv_result res = csv_next(r, &row, &err);
		size_t off = csv_offset(r);
		if (off > len) {
			bad = "offset beyond the input";
			break;
		}
		if (res == CSV_EOF) {
			if (off != len)
				bad = "eof before the end of the input";
			else if (csv_next(r, &row, &err) != CSV_EOF)
				bad = "eof not sticky";
			break;
		}
		if (res != CSV_ROW && res != CSV_ERROR) {
			bad = "unknown result";
			break;
		}
		if (off <= prev_off) {
			bad = "a record did not advance the offset";
			break;
		}
		prev_off = off;
		if (row.line <= prev_line) {
			bad = "line numbers do not increase";
			break;
		}
		prev_line = row.line;
		if (row.raw < counted || row.raw > data + len || row.raw_len > len ||
		    (size_t)(row.raw - data) + row.raw_len > len) {
			bad = "raw bytes outside the input or before the previous record";
			break;
		}
		if ((size_t)(row.raw + row.raw_len - data) > off) {
			bad = "raw bytes beyond the offset";
			break;
		}
		for (const char *p = counted; p < row.raw; p++)
			lfs += *p == '\n';
		counted = row.raw;
		if (row.line != lfs + 1) {
			bad = "line number is not 1 + the LFs before the record";
			break;
		}
		const char *end = row.raw + row.raw_len;
		size_t rest = len - (size_t)(end - data);
		if (!(rest == 0 || end[0] == '\n' ||
		      (end[0] == '\r' && (rest == 1 || end[1] == '\n')))) {
			bad = "raw bytes do not end at a line ending";
			break;
		}
		if (rest > 0 && end[0] == '\n' && row.raw_len > 0 && end[-1] == '\r') {
			bad = "raw bytes keep the CR of a CR LF";
			break;
		}
		if (res == CSV_ERROR) {
			if (err.status != FK_EINVAL || strncmp(err.msg, "line ", 5) != 0) {
				bad = "error without a status or a 'line N:' message";
				break;
			}
			if (row.bad_field < 0 || (size_t)row.bad_field > eff.max_fields + 1) {
				bad = "bad_field out of range";
				break;
			}
			continue;
		}
		if (row.raw_len > eff.max_record) {
			bad = "record longer than max_record";
			break;
		}
		if (row.nfields == 0 || row.nfields > eff.max_fields) {
			bad = "field count out of range";
			break;
		}
		for (size_t i = 0; !bad && i < row.nfields; i++) {
			if (strlen(row.fields[i]) != row.lens[i])
				bad = "field length differs from strlen";
			else if (row.lens[i] > eff.max_field)
				bad = "field longer than max_field";
			else if (row.lens[i] > row.raw_len)
				bad = "field longer than the raw record";
		}
		if (!bad)
			bad = csv_check_round_trip(&row, eff.max_field, eff.max_fields);
		if (bad)
			break;
	}
	csv_reader_free(r);
	return bad;
}

/* Runs csv_check with the default limits and with tiny ones. */
static inline const char *csv_check_all(const char *data, size_t len)
{
	static const struct csv_limits tiny = {8, 32, 4};
	const char *bad = csv_check(data, len, NULL);
	if (!bad)
		bad = csv_check(data, len, &tiny);
	return bad;
}

#endif
