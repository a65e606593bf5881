/* rejects.h — the rejects file every importer writes beside its input:
 * FILE.rejects.csv with the header line,field,reason,raw, one row per
 * rejected input row, always valid UTF-8 whatever the input's encoding. */
#ifndef FK_LIB_REJECTS_H
#define FK_LIB_REJECTS_H

#include <stdint.h>
#include <stdio.h>

#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/textenc.h"

/* Appends one row to *f, opening path (and writing the header) on first
 * use.  raw is the input row in encoding enc: converted to UTF-8, with
 * bytes invalid there (for GB18030 input: every non-ASCII byte of a row
 * that does not convert) written as \xNN.  scratch is the caller's buffer
 * (reset here).  FK_EIO when the file cannot be opened or written.  The
 * caller closes *f. */
enum fk_status rejects_write(FILE **f, const char *path, enum text_encoding enc,
			     struct strbuf *scratch, uint64_t line, const char *field,
			     const char *reason, const char *raw, size_t raw_len, struct fk_err *err);

/* raw (in encoding enc) as UTF-8 for a message or the rejects file, bytes
 * invalid in enc written as \xNN. */
void rejects_raw_utf8(enum text_encoding enc, const char *raw, size_t n, struct strbuf *out);

/* The reason for a row the CSV reader refused, from its message (which
 * names the line and field, given separately in the rejects file). */
void rejects_csv_reason(const char *msg, char *out, size_t size);

#endif
