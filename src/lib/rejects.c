/* rejects.c — the rejects file of the importers (see rejects.h). */
#include "lib/rejects.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "lib/csv.h"
#include "lib/util.h"

#include "lib/banned.h"

static void add_escaped_byte(struct strbuf *out, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
	strbuf_add(out, e, 4);
}

void rejects_raw_utf8(enum text_encoding enc, const char *raw, size_t n, struct strbuf *out)
{
	if (text_to_utf8(enc, raw, n, out))
		return;
	if (enc != TEXT_GB18030) {
		size_t bad;
		while (n && !text_utf8_valid(raw, n, &bad)) {
			strbuf_add(out, raw, bad);
			add_escaped_byte(out, (unsigned char)raw[bad]);
			raw += bad + 1;
			n -= bad + 1;
		}
		strbuf_add(out, raw, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)raw[i];
		if (c < 0x80)
			strbuf_addch(out, c);
		else
			add_escaped_byte(out, c);
	}
}

enum fk_status rejects_write(FILE **f, const char *path, enum text_encoding enc,
			     struct strbuf *scratch, uint64_t line, const char *field,
			     const char *reason, const char *raw, size_t raw_len, struct fk_err *err)
{
	if (!*f) {
		*f = fopen(path, "w");
		if (!*f)
			return fk_fail(err, FK_EIO, "cannot write '%s': %s", path, strerror(errno));
		fputs("line,field,reason,raw\n", *f);
	}
	struct strbuf raw8 = STRBUF_INIT;
	strbuf_reset(scratch);
	rejects_raw_utf8(enc, raw, raw_len, &raw8);
	strbuf_addf(scratch, "%" PRIu64 ",", line);
	csv_write_field(scratch, field, strlen(field));
	strbuf_addch(scratch, ',');
	csv_write_field(scratch, reason, strlen(reason));
	strbuf_addch(scratch, ',');
	csv_write_field(scratch, raw8.buf, raw8.len);
	strbuf_addch(scratch, '\n');
	strbuf_release(&raw8);
	if (fwrite(scratch->buf, 1, scratch->len, *f) != scratch->len)
		return fk_fail(err, FK_EIO, "cannot write '%s': %s", path, strerror(errno));
	return FK_OK;
}

void rejects_csv_reason(const char *msg, char *out, size_t size)
{
	const char *m = msg, *p;
	struct strbuf sb = STRBUF_INIT;
	if (fk_starts_with(m, "line ") && (p = strstr(m, ": ")))
		m = p + 2;
	if (strstr(m, "unterminated quote") || strstr(m, "not closed")) {
		strbuf_addstr(&sb, "unterminated quote");
	} else if (fk_starts_with(m, "field ") && (p = strstr(m, " longer than "))) {
		strbuf_addstr(&sb, "field");
		strbuf_addstr(&sb, p);
	} else if (fk_starts_with(m, "record longer than ")) {
		strbuf_addstr(&sb, "line longer than ");
		strbuf_addstr(&sb, m + strlen("record longer than "));
	} else if (fk_starts_with(m, "more than ") && (p = strstr(m, " fields"))) {
		strbuf_addstr(&sb, "wrong column count (got ");
		strbuf_add(&sb, m, (size_t)(p + 7 - m));
		strbuf_addch(&sb, ')');
	} else if ((p = strstr(m, " in field "))) {
		strbuf_add(&sb, m, (size_t)(p - m));
	} else {
		strbuf_addstr(&sb, m);
	}
	fk_strlcpy(out, sb.buf, size);
	strbuf_release(&sb);
}
