/* csv_header.c — the header row check shared by the samples and results
 * importers: one place for the messages a wrong, empty or unreadable
 * header row gets. */
#include "testing/testing_int.h"

#include <inttypes.h>
#include <string.h>

#include "lib/csv.h"
#include "lib/rejects.h"
#include "lib/strbuf.h"

#include "lib/banned.h"

enum fk_status testing_csv_header(struct csv_reader *r, const char *path,
				  enum text_encoding enc, const char *const *cols, size_t ncols,
				  const char *what, struct fk_err *err)
{
	struct csv_row row;
	struct fk_err cerr = {FK_OK, ""};
	struct strbuf want = STRBUF_INIT, got = STRBUF_INIT;
	enum fk_status st = FK_OK;
	for (size_t i = 0; i < ncols; i++) {
		if (i)
			strbuf_addch(&want, ',');
		strbuf_addstr(&want, cols[i]);
	}
	enum csv_result res = csv_next(r, &row, &cerr);
	if (res == CSV_EOF) {
		st = fk_fail(err, FK_EINVAL, "'%s' is empty: expected the header row '%s'", path,
			     want.buf);
		goto out;
	}
	if (res == CSV_ERROR) {
		st = fk_fail(err, FK_EINVAL, "'%s' line %" PRIu64 ": bad header row: %s", path,
			     row.line, cerr.msg);
		goto out;
	}
	bool same = row.nfields == ncols;
	for (size_t i = 0; same && i < row.nfields; i++)
		same = row.lens[i] == strlen(cols[i]) && !memcmp(row.fields[i], cols[i], row.lens[i]);
	if (!same) {
		rejects_raw_utf8(enc, row.raw, row.raw_len < 200 ? row.raw_len : 200, &got);
		st = fk_fail(err, FK_EINVAL,
			     "'%s' line %" PRIu64 ": wrong header for %s: expected '%s', got '%s'",
			     path, row.line, what, want.buf, got.buf);
	}
out:
	strbuf_release(&want);
	strbuf_release(&got);
	return st;
}
