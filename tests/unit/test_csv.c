/* Unit tests for the CSV reader (src/lib/csv.h).
 *
 * dump() renders everything the reader returns as one string so each test
 * states the exact outcome a user would see: for a record
 * "LINE [f1][f2]...\n", for an error "LINE ! message {raw} bad=K\n".
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/csv.h"
#include "lib/strbuf.h"

#include "../fuzz/csv_check.h"

#include "corpus.h"

#include "lib/banned.h"

/* Appends s[0..n) with NUL bytes shown as "\\0". */
static void add_visible(struct strbuf *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i])
			strbuf_addch(out, s[i]);
		else
			strbuf_addstr(out, "\\0");
	}
}

static char *dump_lim(const char *data, size_t len, const struct csv_limits *lim)
{
	struct strbuf out = STRBUF_INIT;
	struct csv_reader *r = csv_reader_new(data, len, lim);
	struct csv_row row;
	struct fk_err err;
	enum csv_result res;
	while ((res = csv_next(r, &row, &err)) != CSV_EOF) {
		strbuf_addf(&out, "%llu ", (unsigned long long)row.line);
		if (res == CSV_ERROR) {
			strbuf_addf(&out, "! %s {", err.msg);
			add_visible(&out, row.raw, row.raw_len);
			strbuf_addf(&out, "} bad=%d\n", row.bad_field);
			continue;
		}
		for (size_t i = 0; i < row.nfields; i++) {
			cr_assert_eq(strlen(row.fields[i]), row.lens[i]);
			strbuf_addch(&out, '[');
			strbuf_add(&out, row.fields[i], row.lens[i]);
			strbuf_addch(&out, ']');
		}
		strbuf_addch(&out, '\n');
	}
	csv_reader_free(r);
	return strbuf_detach(&out, NULL);
}

static char *dump(const char *data)
{
	return dump_lim(data, strlen(data), NULL);
}

#define EXPECT_DUMP(input, expected)                                                        \
	do {                                                                                \
		char *got_ = dump(input);                                                   \
		cr_assert_str_eq(got_, expected);                                           \
		free(got_);                                                                 \
	} while (0)

Test(csv, plain_records)
{
	EXPECT_DUMP("id,name\n1,wang\n2,li\n", "1 [id][name]\n2 [1][wang]\n3 [2][li]\n");
}

Test(csv, empty_input_is_eof_and_stays_eof)
{
	struct csv_reader *r = csv_reader_new("", 0, NULL);
	struct csv_row row;
	struct fk_err err;
	cr_assert_eq(csv_next(r, &row, &err), CSV_EOF);
	cr_assert_eq(csv_next(r, &row, &err), CSV_EOF);
	cr_assert_eq(csv_offset(r), 0);
	csv_reader_free(r);
	EXPECT_DUMP("\n\r\n\n", "");
}

Test(csv, empty_fields)
{
	EXPECT_DUMP(",,\na,\n,b\n", "1 [][][]\n2 [a][]\n3 [][b]\n");
}

Test(csv, quoted_fields_and_doubled_quotes)
{
	EXPECT_DUMP("\"a,b\",\"c\"\"d\",\"\",\"\"\"\"\n",
	            "1 [a,b][c\"d][][\"]\n");
	/* a quote inside an unquoted field is an ordinary byte */
	EXPECT_DUMP("5'10\",x\n", "1 [5'10\"][x]\n");
	/* spaces are data */
	EXPECT_DUMP(" a , b \n", "1 [ a ][ b ]\n");
}

Test(csv, embedded_newlines_keep_physical_line_numbers)
{
	const char *in = "id,note\n"
	                 "1,\"first line\nsecond line\"\n"
	                 "2,plain\n"
	                 "3,\"a\n\nb\n\"\n"
	                 "4,end\n";
	EXPECT_DUMP(in, "1 [id][note]\n"
	                "2 [1][first line\nsecond line]\n"
	                "4 [2][plain]\n"
	                "5 [3][a\n\nb\n]\n"
	                "9 [4][end]\n");
}

Test(csv, raw_bytes_and_offset)
{
	const char *in = "a,\"b\nc\"\r\nd\n";
	struct csv_reader *r = csv_reader_new(in, strlen(in), NULL);
	struct csv_row row;
	struct fk_err err;
	cr_assert_eq(csv_next(r, &row, &err), CSV_ROW);
	cr_assert_eq(row.raw, in);
	cr_assert_eq(row.raw_len, 7);
	cr_assert_eq(csv_offset(r), 9);
	cr_assert_eq(csv_next(r, &row, &err), CSV_ROW);
	cr_assert_eq(row.line, 3);
	cr_assert_eq(row.raw, in + 9);
	cr_assert_eq(row.raw_len, 1);
	cr_assert_eq(csv_offset(r), 11);
	cr_assert_eq(csv_next(r, &row, &err), CSV_EOF);
	csv_reader_free(r);
}

Test(csv, crlf_line_endings)
{
	EXPECT_DUMP("a,b\r\nc,d\r\n", "1 [a][b]\n2 [c][d]\n");
	EXPECT_DUMP("\"x\r\ny\",z\r\nnext\r\n", "1 [x\r\ny][z]\n3 [next]\n");
	/* a lone CR is data, not a line ending */
	EXPECT_DUMP("a\rb,c\n", "1 [a\rb][c]\n");
}

Test(csv, missing_final_newline)
{
	EXPECT_DUMP("a,b\nc,d", "1 [a][b]\n2 [c][d]\n");
	EXPECT_DUMP("a,\"b\"", "1 [a][b]\n");
	EXPECT_DUMP("a,b,", "1 [a][b][]\n");
	EXPECT_DUMP("a,b\r", "1 [a][b]\n");
}

Test(csv, blank_lines_are_skipped)
{
	EXPECT_DUMP("\n\na,b\n\r\n\nc\n\n", "3 [a][b]\n6 [c]\n");
	/* a quoted empty field is a record, not a blank line */
	EXPECT_DUMP("\"\"\n\nx\n", "1 []\n3 [x]\n");
}

Test(csv, unterminated_quote_resumes_at_next_line)
{
	const char *in = "h1,h2,h3\n"
	                 "1,a,b\n"
	                 "2,b,c\n"
	                 "3,c,d\n"
	                 "4,d,e\n"
	                 "5,e,f\n"
	                 "6,f,\"open\n"
	                 "7,g,h\n"
	                 "8,h,i\n";
	EXPECT_DUMP(in, "1 [h1][h2][h3]\n2 [1][a][b]\n3 [2][b][c]\n4 [3][c][d]\n"
	                "5 [4][d][e]\n6 [5][e][f]\n"
	                "7 ! line 7: unterminated quote in field 3 {6,f,\"open} bad=3\n"
	                "8 [7][g][h]\n9 [8][h][i]\n");
	/* on the last line, with CRLF */
	EXPECT_DUMP("a\r\n\"b\r\n", "1 [a]\n2 ! line 2: unterminated quote in field 1 {\"b} bad=1\n");
	/* an unclosed quote after a complete multi-line field: only line 1 goes */
	EXPECT_DUMP("\"x\ny\",\"z\nok\n", "1 ! line 1: unterminated quote in field 2 {\"x} bad=2\n"
	                                    "2 ! line 2: unterminated quote in field 2"
	                                    " {y\",\"z} bad=2\n"
	                                    "3 [ok]\n");
}

Test(csv, stray_character_after_closing_quote)
{
	EXPECT_DUMP("a,\"b\"c,d\ne,f\n",
	            "1 ! line 1: stray character 'c' after closing quote in field 2 {a,\"b\"c,d} bad=2\n"
	            "2 [e][f]\n");
	/* the bad record spans two lines: the next good one is on line 3 */
	EXPECT_DUMP("\"x\ny\"z,1\nok\n",
	            "1 ! line 1: stray character 'z' after closing quote in field 1 {\"x\ny\"z,1} bad=1\n"
	            "3 [ok]\n");
	EXPECT_DUMP("\"a\" ,b\nok\n",
	            "1 ! line 1: stray character ' ' after closing quote in field 1 {\"a\" ,b} bad=1\n"
	            "2 [ok]\n");
	EXPECT_DUMP("\"a\"\rb\nok\n",
	            "1 ! line 1: stray byte 0x0d after closing quote in field 1 {\"a\"\rb} bad=1\n"
	            "2 [ok]\n");
}

Test(csv, nul_byte_is_an_error)
{
	const char in[] = "a,b\nc,x\0y\n\"p\0\",q\nok\n";
	char *got = dump_lim(in, sizeof(in) - 1, NULL);
	cr_assert_str_eq(got, "1 [a][b]\n"
	                      "2 ! line 2: nul byte in field 2 {c,x\\0y} bad=2\n"
	                      "3 ! line 3: nul byte in field 1 {\"p\\0\",q} bad=1\n"
	                      "4 [ok]\n");
	free(got);
}

/* A record "prefix" + field of n bytes of 'x' + "\n" + "next\n". */
static char *with_field(const char *prefix, size_t n, const char *suffix)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, prefix);
	for (size_t i = 0; i < n; i++)
		strbuf_addch(&sb, 'x');
	strbuf_addstr(&sb, suffix);
	return strbuf_detach(&sb, NULL);
}

static void expect_one(const char *in, enum csv_result want, const char *msg, int bad_field,
                       uint64_t next_line, const char *next_field)
{
	struct csv_reader *r = csv_reader_new(in, strlen(in), NULL);
	struct csv_row row;
	struct fk_err err = {0};
	enum csv_result res;
	while ((res = csv_next(r, &row, &err)) == CSV_ROW && row.line < 9)
		;
	cr_assert_eq(res, want, "result %d, want %d (%s)", res, want, err.msg);
	if (want == CSV_ERROR) {
		cr_assert_str_eq(err.msg, msg);
		cr_assert_eq(err.status, FK_EINVAL);
		cr_assert_eq(row.bad_field, bad_field);
	}
	cr_assert_eq(csv_next(r, &row, &err), CSV_ROW);
	cr_assert_eq(row.line, next_line);
	cr_assert_str_eq(row.fields[0], next_field);
	csv_reader_free(r);
}

#define EIGHT_ROWS "1\n2\n3\n4\n5\n6\n7\n8\n"

Test(csv, field_length_limit)
{
	char *ok = with_field(EIGHT_ROWS "a,", 1024, ",b\nnext\n");
	expect_one(ok, CSV_ROW, NULL, 0, 10, "next");
	free(ok);
	char *bad = with_field(EIGHT_ROWS "a,", 1025, ",b\nnext\n");
	expect_one(bad, CSV_ERROR, "line 9: field 2 longer than 1024 bytes", 2, 10, "next");
	free(bad);
	/* quoted, doubled quotes count once, and the field spans lines */
	char *q = with_field(EIGHT_ROWS "a,\"\"\"\n", 1022, "\"\nnext\n");
	expect_one(q, CSV_ROW, NULL, 0, 11, "next");
	free(q);
	char *qbad = with_field(EIGHT_ROWS "a,\"\"\"\n", 1023, "\"\nnext\n");
	expect_one(qbad, CSV_ERROR, "line 9: field 2 longer than 1024 bytes", 2, 11, "next");
	free(qbad);
}

Test(csv, record_length_limit)
{
	/* 8 fields of 1023 bytes + 7 commas + 1 more field: 8192 exactly */
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, EIGHT_ROWS);
	for (int f = 0; f < 8; f++) {
		for (int i = 0; i < 1023; i++)
			strbuf_addch(&sb, 'y');
		strbuf_addch(&sb, ',');
	}
	strbuf_addch(&sb, 'z'); /* 8 * 1024 + 1 = 8193 */
	size_t mark = sb.len;
	strbuf_addstr(&sb, "\r\nnext\n");
	expect_one(sb.buf, CSV_ERROR, "line 9: record longer than 8192 bytes", 0, 10, "next");
	/* drop the 'z': 8192 bytes with a trailing empty field is accepted */
	memmove(sb.buf + mark - 1, sb.buf + mark, sb.len - mark + 1);
	sb.len--;
	expect_one(sb.buf, CSV_ROW, NULL, 0, 10, "next");
	strbuf_release(&sb);
}

Test(csv, record_limit_inside_quotes_resumes_at_next_line)
{
	struct csv_limits lim = {100, 20, 8};
	const char *in = "a,\"open\nb,c\nd,e\nf,g\nh,i\n";
	char *got = dump_lim(in, strlen(in), &lim);
	cr_assert_str_eq(got,
	                 "1 ! line 1: record longer than 20 bytes (quote in field 2 not closed) {a,\"open} bad=2\n"
	                 "2 [b][c]\n3 [d][e]\n4 [f][g]\n5 [h][i]\n");
	free(got);
	/* a record exactly at the limit whose line ending sits just past it */
	const char *edge = "\"0123456789012345678\"\nok";
	got = dump_lim(edge, strlen(edge), &lim);
	cr_assert_str_eq(got, "1 ! line 1: record longer than 20 bytes (quote in field 1 not closed)"
	                      " {\"0123456789012345678\"} bad=1\n2 [ok]\n");
	free(got);
	const char *fits = "\"012345678901234567\"\nok";
	got = dump_lim(fits, strlen(fits), &lim);
	cr_assert_str_eq(got, "1 [012345678901234567]\n2 [ok]\n");
	free(got);
}

Test(csv, field_count_limit)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_addstr(&sb, EIGHT_ROWS);
	for (int i = 1; i < 64; i++)
		strbuf_addstr(&sb, "f,");
	strbuf_addstr(&sb, "f\nnext\n");
	expect_one(sb.buf, CSV_ROW, NULL, 0, 10, "next");
	strbuf_reset(&sb);
	strbuf_addstr(&sb, EIGHT_ROWS);
	for (int i = 1; i < 65; i++)
		strbuf_addstr(&sb, "f,");
	strbuf_addstr(&sb, "\"f\nstill the same record\"\nnext\n");
	expect_one(sb.buf, CSV_ERROR, "line 9: more than 64 fields", 65, 11, "next");
	strbuf_release(&sb);
}

Test(csv, custom_limits)
{
	struct csv_limits lim = {3, 12, 2};
	const char *in = "abc,de\nabcd\na,b,c\n\"ab\"\"\"\n0123456789,12\nok\n";
	char *got = dump_lim(in, strlen(in), &lim);
	cr_assert_str_eq(got, "1 [abc][de]\n"
	                      "2 ! line 2: field 1 longer than 3 bytes {abcd} bad=1\n"
	                      "3 ! line 3: more than 2 fields {a,b,c} bad=3\n"
	                      "4 [ab\"]\n"
	                      "5 ! line 5: field 1 longer than 3 bytes {0123456789,12} bad=1\n"
	                      "6 [ok]\n");
	free(got);
	const char *longrec = "ab,cd\nab,cdef,gh,ijklmnop\nok\n";
	struct csv_limits lim2 = {3, 12, 8};
	got = dump_lim(longrec, strlen(longrec), &lim2);
	cr_assert_str_eq(got, "1 [ab][cd]\n"
	                      "2 ! line 2: field 2 longer than 3 bytes {ab,cdef,gh,ijklmnop} bad=2\n"
	                      "3 [ok]\n");
	free(got);
	struct csv_limits lim3 = {10, 12, 8};
	got = dump_lim(longrec, strlen(longrec), &lim3);
	cr_assert_str_eq(got, "1 [ab][cd]\n"
	                      "2 ! line 2: record longer than 12 bytes {ab,cdef,gh,ijklmnop} bad=0\n"
	                      "3 [ok]\n");
	free(got);
}

static char *written(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	csv_write_field(&sb, s, strlen(s));
	return strbuf_detach(&sb, NULL);
}

#define EXPECT_WRITTEN(in, out)                                                             \
	do {                                                                                \
		char *w_ = written(in);                                                     \
		cr_assert_str_eq(w_, out);                                                  \
		free(w_);                                                                   \
	} while (0)

Test(csv, write_field_quotes_only_when_needed)
{
	EXPECT_WRITTEN("plain", "plain");
	EXPECT_WRITTEN("", "");
	EXPECT_WRITTEN("王小明", "王小明");
	EXPECT_WRITTEN("a,b", "\"a,b\"");
	EXPECT_WRITTEN("say \"hi\"", "\"say \"\"hi\"\"\"");
	EXPECT_WRITTEN("\"", "\"\"\"\"");
	EXPECT_WRITTEN("x\ny", "\"x\ny\"");
	EXPECT_WRITTEN("x\rz", "\"x\rz\"");
	EXPECT_WRITTEN(" lead", "\" lead\"");
	EXPECT_WRITTEN("trail ", "\"trail \"");
	EXPECT_WRITTEN("in side", "in side");
}

Test(csv, write_field_round_trip)
{
	static const char *fields[] = {
		"plain", "", "a,b", "\"", "\"\"", "say \"hi\"", "x\ny", "x\r\ny", "x\r",
		" lead", "trail ", "王小明", "a\"b,c\nd", "line 7: unterminated quote in field 3",
	};
	size_t nf = sizeof(fields) / sizeof(fields[0]);
	struct strbuf sb = STRBUF_INIT;
	for (int rec = 0; rec < 3; rec++) {
		for (size_t i = 0; i < nf; i++) {
			if (i)
				strbuf_addch(&sb, ',');
			csv_write_field(&sb, fields[i], strlen(fields[i]));
		}
		strbuf_addstr(&sb, rec == 1 ? "\r\n" : "\n");
	}
	struct csv_reader *r = csv_reader_new(sb.buf, sb.len, NULL);
	struct csv_row row;
	struct fk_err err;
	uint64_t want_line[] = {1, 5, 9}; /* each record holds 3 LFs in quotes */
	for (int rec = 0; rec < 3; rec++) {
		cr_assert_eq(csv_next(r, &row, &err), CSV_ROW, "record %d: %s", rec, err.msg);
		cr_assert_eq(row.line, want_line[rec]);
		cr_assert_eq(row.nfields, nf);
		for (size_t i = 0; i < nf; i++)
			cr_assert_str_eq(row.fields[i], fields[i], "record %d field %zu", rec, i);
	}
	cr_assert_eq(csv_next(r, &row, &err), CSV_EOF);
	cr_assert_eq(csv_offset(r), sb.len);
	csv_reader_free(r);
	strbuf_release(&sb);
}

Test(csv, invariant_check_catches_a_broken_reader_output)
{
	/* The checker must be able to fail: a hand-made row that lies. */
	char f0[] = "ab";
	char *fields[] = {f0};
	size_t lens[] = {3};
	struct csv_row row = {1, fields, lens, 1, "ab", 2, 0};
	cr_assert_not_null(csv_check_round_trip(&row, 1024, 64));
	cr_assert_null(csv_check_all("a,b\n\"c\nd\",e\n", 12));
}

#ifndef FK_CSV_CORPUS
#define FK_CSV_CORPUS "tests/fuzz/corpus/csv"
#endif

Test(csv, fuzz_corpus_replays_clean)
{
	DIR *dir = opendir(FK_CSV_CORPUS);
	cr_assert_not_null(dir, "cannot open corpus '%s' (run from the repository root)",
	                   FK_CSV_CORPUS);
	int files = 0;
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		struct strbuf path = STRBUF_INIT;
		strbuf_addf(&path, "%s/%s", FK_CSV_CORPUS, de->d_name);
		size_t len;
		char *data = corpus_slurp(path.buf, &len);
		const char *bad = csv_check_all(data, len);
		cr_expect_null(bad, "corpus file '%s': %s", path.buf, bad ? bad : "");
		free(data);
		strbuf_release(&path);
		files++;
	}
	closedir(dir);
	cr_assert_geq(files, 10, "corpus '%s' holds only %d files", FK_CSV_CORPUS, files);
}
