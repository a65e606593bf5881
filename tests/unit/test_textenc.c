/* Unit tests for encoding detection and conversion (src/lib/textenc.h).
 *
 * Reference bytes come from the published tables, not from iconv: GB2312
 * row/cell (区位) codes plus 0xA0A0 give the GBK/GB18030 two-byte codes
 * (王 is 45-85 -> CD F5, 中 54-48 -> D6 D0, 国 25-90 -> B9 FA), and the
 * GB18030 four-byte table starts U+0080 at 81 30 81 30 and U+10000 at
 * 90 30 81 30.  UTF-8 limits are those of RFC 3629.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lib/csv.h"
#include "lib/strbuf.h"
#include "lib/textenc.h"

#include "lib/banned.h"

Test(textenc, names)
{
	cr_assert_str_eq(text_encoding_name(TEXT_UTF8), "utf-8");
	cr_assert_str_eq(text_encoding_name(TEXT_UTF8_BOM), "utf-8 with bom");
	cr_assert_str_eq(text_encoding_name(TEXT_GB18030), "gb18030");
}

Test(textenc, bom_is_detected_and_skipped)
{
	const char in[] = "\xEF\xBB\xBFid,name\n1,\xE7\x8E\x8B\n";
	size_t skip = 99;
	cr_assert_eq(text_detect(in, sizeof(in) - 1, &skip), TEXT_UTF8_BOM);
	cr_assert_eq(skip, 3);
	cr_assert_eq(memcmp(in + skip, "id,name", 7), 0);
	skip = 99;
	cr_assert_eq(text_detect("\xEF\xBB\xBF", 3, &skip), TEXT_UTF8_BOM);
	cr_assert_eq(skip, 3);
	/* two bytes of a BOM are not a BOM (they are one GB18030 character) */
	skip = 99;
	cr_assert_eq(text_detect("\xEF\xBB", 2, &skip), TEXT_GB18030);
	cr_assert_eq(skip, 0);
}

Test(textenc, plain_utf8_and_ascii)
{
	size_t skip = 99;
	cr_assert_eq(text_detect("id,name\n1,wang\n", 15, &skip), TEXT_UTF8);
	cr_assert_eq(skip, 0);
	cr_assert_eq(text_detect("", 0, &skip), TEXT_UTF8);
	const char *zh = "id,name\n1,王小明\n2,张伟\n";
	cr_assert_eq(text_detect(zh, strlen(zh), &skip), TEXT_UTF8);
	struct strbuf out = STRBUF_INIT;
	cr_assert(text_to_utf8(TEXT_UTF8, "王小明", strlen("王小明"), &out));
	cr_assert_str_eq(out.buf, "王小明");
	strbuf_release(&out);
}

Test(textenc, gb18030_known_bytes)
{
	struct strbuf gb = STRBUF_INIT;
	cr_assert(text_utf8_to_gb18030("王中国", strlen("王中国"), &gb));
	cr_assert_eq(gb.len, 6);
	cr_assert_eq(memcmp(gb.buf, "\xCD\xF5\xD6\xD0\xB9\xFA", 6), 0);
	strbuf_reset(&gb);
	/* U+0080 and U+10000: the first four-byte codes of their ranges */
	cr_assert(text_utf8_to_gb18030("\xC2\x80\xF0\x90\x80\x80", 6, &gb));
	cr_assert_eq(gb.len, 8);
	cr_assert_eq(memcmp(gb.buf, "\x81\x30\x81\x30\x90\x30\x81\x30", 8), 0);
	strbuf_release(&gb);

	struct strbuf out = STRBUF_INIT;
	cr_assert(text_to_utf8(TEXT_GB18030, "\xCD\xF5", 2, &out));
	cr_assert_str_eq(out.buf, "王");
	cr_assert(text_to_utf8(TEXT_GB18030, "\x81\x30\x81\x30", 4, &out));
	cr_assert_str_eq(out.buf, "王\xC2\x80");
	strbuf_release(&out);
}

Test(textenc, gb18030_file_detected_and_converted_per_field)
{
	static const char *names[] = {"王小明", "张伟", "李娜", "欧阳娜娜", "刘德华"};
	struct strbuf utf8 = STRBUF_INIT;
	strbuf_addstr(&utf8, "id_number,name,occupation\r\n");
	for (size_t i = 0; i < 5; i++)
		strbuf_addf(&utf8, "11010119900307%04zu,%s,教师\r\n", i, names[i]);
	struct strbuf gb = STRBUF_INIT;
	cr_assert(text_utf8_to_gb18030(utf8.buf, utf8.len, &gb));
	cr_assert_neq(gb.len, utf8.len);
	/* 王 as its table bytes somewhere in the file */
	cr_assert_not_null(memmem(gb.buf, gb.len, "\xCD\xF5\xD0\xA1\xC3\xF7", 6), "王小明");

	size_t skip = 99;
	cr_assert_eq(text_detect(gb.buf, gb.len, &skip), TEXT_GB18030);
	cr_assert_eq(skip, 0);

	struct csv_reader *r = csv_reader_new(gb.buf, gb.len, NULL);
	struct csv_row row;
	struct fk_err err;
	struct strbuf field = STRBUF_INIT;
	cr_assert_eq(csv_next(r, &row, &err), CSV_ROW);
	for (size_t i = 0; i < 5; i++) {
		cr_assert_eq(csv_next(r, &row, &err), CSV_ROW);
		cr_assert_eq(row.nfields, 3);
		strbuf_reset(&field);
		cr_assert(text_to_utf8(TEXT_GB18030, row.fields[1], row.lens[1], &field));
		cr_assert_str_eq(field.buf, names[i]);
		strbuf_reset(&field);
		cr_assert(text_to_utf8(TEXT_GB18030, row.fields[2], row.lens[2], &field));
		cr_assert_str_eq(field.buf, "教师");
		strbuf_reset(&field);
		cr_assert(text_to_utf8(TEXT_GB18030, row.fields[0], row.lens[0], &field));
		cr_assert_eq(field.len, 18);
	}
	cr_assert_eq(csv_next(r, &row, &err), CSV_EOF);
	csv_reader_free(r);
	strbuf_release(&field);
	strbuf_release(&gb);
	strbuf_release(&utf8);
}

Test(textenc, invalid_gb18030_leaves_output_unchanged)
{
	struct strbuf out = STRBUF_INIT;
	strbuf_addstr(&out, "keep");
	cr_assert_not(text_to_utf8(TEXT_GB18030, "\xCD", 1, &out));      /* truncated */
	cr_assert_not(text_to_utf8(TEXT_GB18030, "a\x80", 2, &out));     /* 0x80 alone */
	cr_assert_not(text_to_utf8(TEXT_GB18030, "\xFF\xA1", 2, &out));  /* FF lead */
	cr_assert_not(text_to_utf8(TEXT_GB18030, "\x81\x30\x81", 3, &out));
	cr_assert_not(text_to_utf8(TEXT_GB18030, "\xCD\x20", 2, &out));  /* bad trail */
	cr_assert_str_eq(out.buf, "keep");
	cr_assert_eq(out.len, 4);
	/* UTF-8 that is not representable is still valid; bad UTF-8 is refused */
	cr_assert_not(text_utf8_to_gb18030("\xC0\xAF", 2, &out));
	cr_assert_str_eq(out.buf, "keep");
	strbuf_release(&out);
}

Test(textenc, utf8_file_with_one_bad_byte_stays_utf8)
{
	struct strbuf f = STRBUF_INIT;
	strbuf_addstr(&f, "id,name\n");
	for (int i = 0; i < 150; i++) {
		if (i == 70)
			strbuf_addstr(&f, "70,\xCD\xF5\n"); /* a GB18030 name pasted in */
		else
			strbuf_addf(&f, "%d,王%d\n", i, i);
	}
	cr_assert_eq(text_detect(f.buf, f.len, NULL), TEXT_UTF8);

	struct csv_reader *r = csv_reader_new(f.buf, f.len, NULL);
	struct csv_row row;
	struct fk_err err;
	struct strbuf field = STRBUF_INIT;
	int good = 0;
	uint64_t bad_line = 0;
	while (csv_next(r, &row, &err) == CSV_ROW) {
		strbuf_reset(&field);
		if (text_to_utf8(TEXT_UTF8, row.fields[1], row.lens[1], &field))
			good++;
		else
			bad_line = row.line;
	}
	cr_assert_eq(good, 150);
	cr_assert_eq(bad_line, 72);
	csv_reader_free(r);
	strbuf_release(&field);

	/* Under 1% of lines bad keeps UTF-8; exactly 1% does not.  "é" (C3 A9)
	 * is valid in both encodings, CD F5 only in GB18030. */
	for (int total = 100; total <= 101; total++) {
		strbuf_reset(&f);
		strbuf_addstr(&f, "caf\xC3\xA9\n\xCD\xF5\n");
		for (int i = 2; i < total; i++)
			strbuf_addstr(&f, "ascii\n");
		cr_assert_eq(text_detect(f.buf, f.len, NULL), total == 100 ? TEXT_GB18030 : TEXT_UTF8,
		             "%d lines", total);
	}
	/* mixed damage: the encoding with fewer bad lines wins */
	strbuf_reset(&f);
	for (int i = 0; i < 49; i++)
		strbuf_addstr(&f, "王\n");
	strbuf_addstr(&f, "\xE7\x8E\n");
	cr_assert_eq(text_detect(f.buf, f.len, NULL), TEXT_UTF8);
	strbuf_release(&f);
}

Test(textenc, mostly_ascii_gb18030_without_utf8_text)
{
	/* no valid multi-byte UTF-8 at all: a few GB18030 lines decide it */
	struct strbuf f = STRBUF_INIT;
	for (int i = 0; i < 300; i++)
		strbuf_addf(&f, "%d,zhang\n", i);
	strbuf_addstr(&f, "300,\xCD\xF5\n");
	cr_assert_eq(text_detect(f.buf, f.len, NULL), TEXT_GB18030);
	strbuf_release(&f);
}

static void expect_bad(const char *s, size_t n, size_t at)
{
	size_t bad = 999;
	cr_assert_not(text_utf8_valid(s, n, &bad), "accepted %zu bytes at %zu", n, at);
	cr_assert_eq(bad, at);
}

Test(textenc, utf8_accepts_every_boundary)
{
	static const char *ok[] = {
		"\x7F", "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF",
		"\xEE\x80\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_assert(text_utf8_valid(ok[i], strlen(ok[i]), NULL), "case %zu", i);
	cr_assert(text_utf8_valid("a\0b", 3, NULL));
	cr_assert(text_utf8_valid("", 0, NULL));
}

Test(textenc, utf8_rejects_overlongs_surrogates_and_out_of_range)
{
	expect_bad("\xC0\xAF", 2, 0);
	expect_bad("ab\xC1\xBF", 4, 2);
	expect_bad("\xE0\x80\xAF", 3, 0);
	expect_bad("\xE0\x9F\xBF", 3, 0);
	expect_bad("\xF0\x80\x80\xAF", 4, 0);
	expect_bad("\xF0\x8F\xBF\xBF", 4, 0);
	expect_bad("x\xED\xA0\x80", 4, 1);     /* U+D800 */
	expect_bad("\xED\xBF\xBF", 3, 0);      /* U+DFFF */
	expect_bad("\xF4\x90\x80\x80", 4, 0);  /* U+110000 */
	expect_bad("\xF5\x80\x80\x80", 4, 0);
	expect_bad("\xFF", 1, 0);
	expect_bad("abcdefghij\x80", 11, 10);  /* lone continuation after the fast path */
}

Test(textenc, utf8_rejects_truncated_sequences)
{
	expect_bad("\xE7\x8E", 2, 0);            /* 王 cut short at the end */
	expect_bad("\xE7\x8E" "a", 3, 0);        /* and followed by ASCII */
	expect_bad("ok\xF0\x9F\x98", 5, 2);
	expect_bad("\xC3", 1, 0);
	expect_bad("\xC3\xC3\xA9", 3, 0);
	struct strbuf out = STRBUF_INIT;
	cr_assert_not(text_to_utf8(TEXT_UTF8, "\xE7\x8E", 2, &out));
	cr_assert_not(text_to_utf8(TEXT_UTF8_BOM, "\xE7\x8E", 2, &out));
	cr_assert_eq(out.len, 0);
	strbuf_release(&out);
}

static void *convert_many(void *arg)
{
	(void)arg;
	struct strbuf out = STRBUF_INIT;
	for (int i = 0; i < 500; i++) {
		strbuf_reset(&out);
		if (!text_to_utf8(TEXT_GB18030, "\xCD\xF5\xD6\xD0\xB9\xFA", 6, &out) ||
		    strcmp(out.buf, "王中国") != 0) {
			strbuf_release(&out);
			return (void *)1;
		}
	}
	strbuf_release(&out);
	return NULL;
}

Test(textenc, conversion_is_thread_safe)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, convert_many, NULL), 0);
	for (int i = 0; i < 4; i++) {
		void *rc = (void *)2;
		cr_assert_eq(pthread_join(t[i], &rc), 0);
		cr_assert_null(rc, "thread %d converted wrongly", i);
	}
}
