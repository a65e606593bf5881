/* csv.c — bounded RFC 4180 reader (see csv.h for the contract).
 *
 * Design note.
 *
 * One pass, no per-record allocation: the reader owns one field buffer of
 * max_record + max_fields + 1 bytes (every field's content is at most its
 * raw bytes, plus one NUL per field), and the fields/lens arrays of
 * max_fields entries, all allocated in csv_reader_new().
 *
 * A record is scanned from its first byte with a goto state machine
 * (new_field -> unquoted | quoted -> after_close -> unquoted).  Plain bytes
 * are classified with a 256-entry table so the common case is one load and
 * one compare per byte.  The scan never looks further than max_record bytes
 * past the record's start (a line ending may sit just after that), so one
 * record costs O(max_record) at worst.
 *
 * Errors are latched, not returned at once: the first one is remembered
 * (kind, field, byte) and storing stops, but scanning goes on with the same
 * grammar to find where the bad record ends, so the next call starts at the
 * line after it.  When the end cannot be found — end of input inside quotes,
 * or max_record reached inside quotes — the quote is taken as never closed
 * and reading resumes at the next physical line after the record's first
 * line, so at most that one line is lost.  When max_record is reached
 * outside quotes, the rest of the current physical line is skipped.
 *
 * Invariants (checked by tests/fuzz/csv_check.h):
 *   - every call that does not return CSV_EOF advances pos;
 *   - row->line is 1 + the number of LF bytes before row->raw, and
 *     increases strictly from one record to the next;
 *   - row->raw lies inside the input and ends at a line ending or EOF;
 *   - on CSV_ROW, fields[i] is NUL-terminated, strlen(fields[i]) == lens[i]
 *     (NUL bytes in the input are an error), lens[i] <= max_field,
 *     nfields <= max_fields, raw_len <= max_record.
 *
 * Lines are counted by LF only.  A lone CR inside a field is data; CR LF
 * (and a CR as the very last byte of the input) ends a record.  Outside a
 * leading quote, a quote is an ordinary byte (`5'10"` reads as written).
 */
#include "lib/csv.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/util.h"

#include "lib/banned.h"

#define CSV_DEFAULT_MAX_FIELD 1024
#define CSV_DEFAULT_MAX_RECORD 8192
#define CSV_DEFAULT_MAX_FIELDS 64

struct csv_reader {
	const unsigned char *data;
	size_t len;
	size_t pos;    /* next byte to read */
	uint64_t line; /* physical line of data[pos] */
	struct csv_limits lim;
	char *buf;     /* field contents, max_record + max_fields + 1 bytes */
	char **fields; /* max_fields entries */
	size_t *lens;
};

enum csv_fault {
	FAULT_NONE = 0,
	FAULT_UNTERMINATED, /* end of input inside quotes */
	FAULT_OPEN_QUOTE,   /* max_record reached inside quotes */
	FAULT_STRAY,        /* byte after a closing quote */
	FAULT_FIELD_LONG,
	FAULT_RECORD_LONG,
	FAULT_TOO_MANY,
	FAULT_NUL,
};

/* Bytes that stop the plain-byte loops: 1 outside quotes, 2 inside. */
enum { STOP_PLAIN = 1, STOP_QUOTED = 2 };
static const unsigned char stop_class[256] = {
	['\0'] = STOP_PLAIN | STOP_QUOTED,
	['\n'] = STOP_PLAIN | STOP_QUOTED,
	['\r'] = STOP_PLAIN,
	[','] = STOP_PLAIN,
	['"'] = STOP_QUOTED,
};

struct csv_reader *csv_reader_new(const char *data, size_t len, const struct csv_limits *lim)
{
	struct csv_reader *r = fk_xcalloc(1, sizeof(*r));
	r->data = (const unsigned char *)data;
	r->len = len;
	r->line = 1;
	r->lim.max_field = lim && lim->max_field ? lim->max_field : CSV_DEFAULT_MAX_FIELD;
	r->lim.max_record = lim && lim->max_record ? lim->max_record : CSV_DEFAULT_MAX_RECORD;
	r->lim.max_fields = lim && lim->max_fields ? lim->max_fields : CSV_DEFAULT_MAX_FIELDS;
	if (r->lim.max_record > SIZE_MAX / 4 || r->lim.max_fields > SIZE_MAX / 4 / sizeof(char *)) {
		/* absurd limits: cap them instead of overflowing the sizes below */
		if (r->lim.max_record > SIZE_MAX / 4)
			r->lim.max_record = SIZE_MAX / 4;
		if (r->lim.max_fields > SIZE_MAX / 4 / sizeof(char *))
			r->lim.max_fields = SIZE_MAX / 4 / sizeof(char *);
	}
	r->buf = fk_xmalloc(r->lim.max_record + r->lim.max_fields + 1);
	r->fields = fk_xcalloc(r->lim.max_fields, sizeof(char *));
	r->lens = fk_xcalloc(r->lim.max_fields, sizeof(size_t));
	r->buf[0] = '\0';
	return r;
}

void csv_reader_free(struct csv_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r->fields);
	free(r->lens);
	free(r);
}

size_t csv_offset(const struct csv_reader *r)
{
	return r->pos;
}

/* Length of the line ending at d[p] (LF, CR LF, or CR as the last byte of
 * the input), 0 if there is none. */
static inline size_t eol_len(const unsigned char *d, size_t p, size_t n)
{
	if (p >= n)
		return 0;
	if (d[p] == '\n')
		return 1;
	if (d[p] == '\r') {
		if (p + 1 == n)
			return 1;
		if (d[p + 1] == '\n')
			return 2;
	}
	return 0;
}

static void report(struct fk_err *err, enum csv_fault fault, uint64_t line, size_t field,
                   unsigned ch, const struct csv_limits *lim)
{
	unsigned long long ln = (unsigned long long)line;
	switch (fault) {
	case FAULT_UNTERMINATED:
		fk_fail(err, FK_EINVAL, "line %llu: unterminated quote in field %zu", ln, field);
		break;
	case FAULT_OPEN_QUOTE:
		fk_fail(err, FK_EINVAL,
		        "line %llu: record longer than %zu bytes (quote in field %zu not closed)", ln,
		        lim->max_record, field);
		break;
	case FAULT_STRAY:
		if (ch >= 0x20 && ch < 0x7f)
			fk_fail(err, FK_EINVAL,
			        "line %llu: stray character '%c' after closing quote in field %zu", ln,
			        (char)ch, field);
		else
			fk_fail(err, FK_EINVAL,
			        "line %llu: stray byte 0x%02x after closing quote in field %zu", ln, ch,
			        field);
		break;
	case FAULT_FIELD_LONG:
		fk_fail(err, FK_EINVAL, "line %llu: field %zu longer than %zu bytes", ln, field,
		        lim->max_field);
		break;
	case FAULT_RECORD_LONG:
		fk_fail(err, FK_EINVAL, "line %llu: record longer than %zu bytes", ln, lim->max_record);
		break;
	case FAULT_TOO_MANY:
		fk_fail(err, FK_EINVAL, "line %llu: more than %zu fields", ln, lim->max_fields);
		break;
	case FAULT_NUL:
		fk_fail(err, FK_EINVAL, "line %llu: nul byte in field %zu", ln, field);
		break;
	case FAULT_NONE:
		break;
	}
}

/* Latch the first fault of the record and stop storing. */
#define LATCH(kind, fieldno, byte)                                                              \
	do {                                                                                    \
		if (!fault) {                                                                   \
			fault = (kind);                                                         \
			fault_field = (fieldno);                                                \
			fault_ch = (byte);                                                      \
		}                                                                               \
		keep = false;                                                                   \
	} while (0)

/* Store one content byte of field nf, or latch "field too long". */
#define PUT(c)                                                                                  \
	do {                                                                                    \
		if (keep) {                                                                     \
			if ((size_t)(out - fstart) == max_field)                                \
				LATCH(FAULT_FIELD_LONG, nf, 0);                                 \
			else                                                                    \
				*out++ = (char)(c);                                             \
		}                                                                               \
	} while (0)

enum csv_result csv_next(struct csv_reader *r, struct csv_row *row, struct fk_err *err)
{
	const unsigned char *d = r->data;
	const size_t n = r->len;
	const size_t max_fields = r->lim.max_fields;
	const size_t max_field = r->lim.max_field;
	size_t p = r->pos;
	uint64_t line = r->line;

	row->nfields = 0;
	row->fields = r->fields;
	row->lens = r->lens;
	row->bad_field = 0;

	/* Blank lines are not records. */
	for (;;) {
		size_t e = eol_len(d, p, n);
		if (!e)
			break;
		line += d[p + e - 1] == '\n';
		p += e;
	}
	if (p >= n) {
		r->pos = n;
		r->line = line;
		row->line = line;
		row->raw = (const char *)d + n;
		row->raw_len = 0;
		return CSV_EOF;
	}

	const size_t start = p;
	const uint64_t start_line = line;
	/* Raw bytes may occupy [start, lim); a line ending may begin at lim. */
	const size_t lim = n - start > r->lim.max_record ? start + r->lim.max_record : n;
	size_t first_lf = SIZE_MAX; /* first LF inside the record (in quotes) */
	size_t raw_end = start;
	enum csv_fault fault = FAULT_NONE;
	size_t fault_field = 0;
	unsigned fault_ch = 0;
	bool keep = true;
	bool resume_after_first_line = false;
	char *out = r->buf;
	char *fstart = out;
	size_t nf = 0;
	size_t e;
	unsigned char c;

new_field:
	if (nf == max_fields)
		LATCH(FAULT_TOO_MANY, nf + 1, 0);
	nf++;
	fstart = out;
	if (p < lim && d[p] == '"') {
		p++;
		goto quoted;
	}

unquoted:
	for (;;) {
		while (p < lim && !(stop_class[d[p]] & STOP_PLAIN)) {
			PUT(d[p]);
			p++;
		}
		if (p >= lim)
			break;
		c = d[p];
		if (c == ',') {
			p++;
			goto end_field;
		}
		if ((e = eol_len(d, p, n)) != 0)
			goto end_record;
		if (c == '\0')
			LATCH(FAULT_NUL, nf, 0);
		PUT(c); /* a lone CR */
		p++;
	}
	/* p == lim: end of input, a line ending just past the limit, or too long */
	if (p == n) {
		e = 0;
		goto end_record;
	}
	if ((e = eol_len(d, p, n)) != 0)
		goto end_record;
	LATCH(FAULT_RECORD_LONG, 0, 0);
	{
		const unsigned char *lf = memchr(d + p, '\n', n - p);
		p = lf ? (size_t)(lf - d) : n;
		raw_end = p;
		if (lf) {
			if (raw_end > start && d[raw_end - 1] == '\r')
				raw_end--;
			p++;
			line++;
		}
	}
	goto finish;

quoted:
	for (;;) {
		while (p < lim && !(stop_class[d[p]] & STOP_QUOTED)) {
			PUT(d[p]);
			p++;
		}
		if (p >= lim)
			break;
		c = d[p];
		if (c == '"') {
			if (p + 1 < lim && d[p + 1] == '"') {
				PUT('"');
				p += 2;
				continue;
			}
			if (p + 1 == lim && lim < n && d[p + 1] == '"')
				break; /* the doubled quote straddles the limit */
			p++;
			goto after_close;
		}
		if (c == '\n') {
			if (first_lf == SIZE_MAX)
				first_lf = p;
			line++;
		} else {
			LATCH(FAULT_NUL, nf, 0);
		}
		PUT(c);
		p++;
	}
	/* The quote did not close within the input or within max_record. */
	LATCH(p >= n ? FAULT_UNTERMINATED : FAULT_OPEN_QUOTE, nf, 0);
	resume_after_first_line = true;
	goto finish;

after_close:
	if (p == n || eol_len(d, p, n) || (p < lim && d[p] == ','))
		goto unquoted;
	if (p < lim) {
		LATCH(FAULT_STRAY, nf, d[p]);
	}
	goto unquoted; /* at lim the unquoted tail reports the record too long */

end_field:
	if (keep) {
		r->fields[nf - 1] = fstart;
		r->lens[nf - 1] = (size_t)(out - fstart);
		*out++ = '\0';
	}
	goto new_field;

end_record:
	/* d[p] starts a line ending of e bytes (0 at end of input) */
	raw_end = p;
	if (keep) {
		r->fields[nf - 1] = fstart;
		r->lens[nf - 1] = (size_t)(out - fstart);
		*out = '\0';
	}
	if (e) {
		line += d[p + e - 1] == '\n';
		p += e;
	}

finish:
	if (resume_after_first_line) {
		/* Lose only the record's first physical line. */
		if (first_lf == SIZE_MAX) {
			const unsigned char *lf = memchr(d + start, '\n', n - start);
			first_lf = lf ? (size_t)(lf - d) : n;
		}
		raw_end = first_lf;
		if (first_lf < n) {
			p = first_lf + 1;
			if (raw_end > start && d[raw_end - 1] == '\r')
				raw_end--;
			line = start_line + 1;
		} else {
			p = n;
			line = start_line;
		}
	}
	r->pos = p;
	r->line = line;
	row->line = start_line;
	row->raw = (const char *)d + start;
	row->raw_len = raw_end - start;
	if (fault) {
		row->bad_field = fault_field > (size_t)INT32_MAX ? INT32_MAX : (int)fault_field;
		report(err, fault, start_line, fault_field, fault_ch, &r->lim);
		return CSV_ERROR;
	}
	row->nfields = nf;
	return CSV_ROW;
}

void csv_write_field(struct strbuf *sb, const char *s, size_t len)
{
	bool quote = len > 0 && (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' ||
	                         s[len - 1] == '\t');
	for (size_t i = 0; i < len && !quote; i++) {
		char c = s[i];
		quote = c == ',' || c == '"' || c == '\r' || c == '\n';
	}
	if (!quote) {
		strbuf_add(sb, s, len);
		return;
	}
	strbuf_grow(sb, len + 2);
	strbuf_addch(sb, '"');
	const char *run = s;
	for (const char *q; (q = memchr(run, '"', len - (size_t)(run - s))) != NULL; run = q + 1) {
		strbuf_add(sb, run, (size_t)(q - run) + 1);
		strbuf_addch(sb, '"');
	}
	strbuf_add(sb, run, len - (size_t)(run - s));
	strbuf_addch(sb, '"');
}
