/* Suite "parsers_fuzz": replays tests/fuzz/corpus/parsers through the
 * properties in tests/fuzz/parsers_check.h (the same checks the libFuzzer
 * target runs), and shows that those checks reject wrong answers.
 *
 * Reference values come from outside the code under test:
 *   11010519491231002X  the example number printed in GB 11643-1999
 *   2024-06-01T00:00:00+08:00 = 1717171200 (date -d ... +%s), day 19875
 *   2000-03-01T00:00:00Z      = 951868800, day 11017
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"

#include "../fuzz/parsers_check.h"

#include "corpus.h"

#include "lib/banned.h"

#ifndef FK_PARSERS_CORPUS
#define FK_PARSERS_CORPUS "tests/fuzz/corpus/parsers"
#endif

Test(parsers_fuzz, corpus_replays_clean)
{
	DIR *dir = opendir(FK_PARSERS_CORPUS);
	cr_assert_not_null(dir, "cannot open corpus '%s' (run from the repository root)",
	                   FK_PARSERS_CORPUS);
	int files = 0, per_parser[PC_NPARSERS] = {0};
	struct dirent *de;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		struct strbuf path = STRBUF_INIT;
		strbuf_addf(&path, "%s/%s", FK_PARSERS_CORPUS, de->d_name);
		size_t len;
		char *data = corpus_slurp(path.buf, &len);
		const char *bad = pc_check_input((const uint8_t *)data, len);
		cr_expect_null(bad, "corpus file '%s': %s", path.buf, bad ? bad : "");
		if (len)
			per_parser[pc_parser_of((uint8_t)data[0])]++;
		free(data);
		strbuf_release(&path);
		files++;
	}
	closedir(dir);
	cr_assert_geq(files, 20, "corpus '%s' holds only %d files", FK_PARSERS_CORPUS, files);
	for (int p = 0; p < PC_NPARSERS; p++)
		cr_expect_geq(per_parser[p], 3, "corpus has %d inputs for parser %d", per_parser[p],
		              p);
}

Test(parsers_fuzz, oracles_match_published_values)
{
	cr_assert_eq(pc_idnum_check("11010519491231002"), 'X');
	cr_assert_eq(pc_days(2024, 6, 1), 19875);
	cr_assert_eq(pc_days(2000, 3, 1), 11017);
	cr_assert_eq(pc_days(1970, 1, 1), 0);
	int64_t t = 0;
	cr_assert(pc_time_oracle("2024-06-01T00:00:00+08:00", &t));
	cr_assert_eq(t, 1717171200);
	cr_assert(pc_time_oracle("2000-03-01 00:00:00Z", &t));
	cr_assert_eq(t, 951868800);
	cr_assert_not(pc_time_oracle("2000-02-30T00:00:00Z", &t));
	size_t bad = 0;
	cr_assert_not(pc_utf8_oracle((const unsigned char *)"ab\xED\xA0\x80", 5, &bad));
	cr_assert_eq(bad, 2);
	cr_assert(pc_utf8_oracle((const unsigned char *)"\xF4\x8F\xBF\xBF", 4, &bad));
	cr_assert_not(pc_utf8_oracle((const unsigned char *)"\xF4\x90\x80\x80", 4, &bad));
	cr_assert_not(pc_utf8_oracle((const unsigned char *)"\xE0\x9F\xBF", 3, &bad));
}

/* Each verifier is handed a deliberately wrong answer and must say so. */
Test(parsers_fuzz, checkers_reject_wrong_answers)
{
	/* time: off by a second, and accepting a missing zone */
	cr_assert_str_eq(pc_verify_time("2024-06-01T00:00:00+08:00", true, 1717171201),
	                 "time: parsed to the wrong instant");
	cr_assert_str_eq(pc_verify_time("2024-06-01T00:00:00", true, 1717171200),
	                 "time: accepted a malformed time");
	cr_assert_null(pc_verify_time("2024-06-01T00:00:00+08:00", true, 1717171200));

	/* i64: leading '+' accepted, or the wrong value */
	cr_assert_str_eq(pc_verify_i64("+5", INT64_MIN, INT64_MAX, true, 5),
	                 "i64: accepted a string that is not a decimal in range");
	cr_assert_str_eq(pc_verify_i64("-17", INT64_MIN, INT64_MAX, true, 17),
	                 "i64: parsed to the wrong value");
	cr_assert_str_eq(pc_verify_i64("1001", 1, 1000, true, 1001),
	                 "i64: accepted a string that is not a decimal in range");

	/* idnum: a wrong check digit called OK; a good number with a wrong sex */
	struct idnum_info info = {"110105", 1949, 12, 31, 2};
	cr_assert_str_eq(pc_verify_idnum("110105194912310021", PC_NOW, IDNUM_OK, &info),
	                 "idnum: accepted an invalid number");
	cr_assert_null(pc_verify_idnum("11010519491231002X", PC_NOW, IDNUM_OK, &info));
	info.sex = 1;
	cr_assert_str_eq(pc_verify_idnum("11010519491231002X", PC_NOW, IDNUM_OK, &info),
	                 "idnum: sex does not follow the 17th digit");

	/* region: output that is not the input's prefix, and a write past size */
	char out[16];
	memset(out, '#', sizeof(out));
	memcpy(out, "6110", 5);
	cr_assert_str_eq(pc_verify_region("610900", 2, 8, true, out),
	                 "region: output is not a prefix of the input");
	memset(out, '#', sizeof(out));
	memcpy(out, "61", 3);
	out[3] = 'x';
	cr_assert_str_eq(pc_verify_region("61", 1, 3, true, out), "region: wrote past its buffer");

	/* utf8: a surrogate called valid; the wrong offset */
	cr_assert_str_eq(pc_verify_utf8("a\xED\xA0\x80", 4, true, 0),
	                 "utf8: accepted invalid UTF-8");
	cr_assert_str_eq(pc_verify_utf8("ab\xC0\x80", 4, false, 3),
	                 "utf8: wrong offset of the first invalid byte");

	/* cursor: a guard byte overwritten; a key that does not re-encode */
	char buf[8 + PC_GUARD];
	memset(buf, 0xA5, sizeof(buf));
	memcpy(buf, "abc", 4);
	buf[8] = 0;
	cr_assert_str_eq(pc_verify_cursor("YWJj", 8, true, buf),
	                 "cursor: decode wrote past its buffer");
	buf[8] = (char)0xA5;
	cr_assert_null(pc_verify_cursor("YWJj", 8, true, buf));
	memcpy(buf, "abd", 4);
	cr_assert_str_eq(pc_verify_cursor("YWJj", 8, true, buf),
	                 "cursor: decoded key does not re-encode to the same cursor");

	/* venue: a genuine payload refused, a forged one accepted, a bad code */
	static const char genuine[] = "FK1:V:V6109020010050001:7VTF3LFX4GTV2FY3";
	char code[VENUE_CODE_MAX + 1 + PC_GUARD];
	memset(code, 0xA5, sizeof(code));
	cr_assert_str_eq(pc_verify_venue(genuine, 20, FK_EFORBIDDEN, code),
	                 "venue: rejected a genuine payload");
	cr_assert_str_eq(pc_verify_venue("FK1:V:V6109020010050001:7VTF3LFX4GTV2FY4", 20, FK_OK,
	                                 code),
	                 "venue: a bad signature was not FK_EFORBIDDEN");
	cr_assert_str_eq(pc_verify_venue("FK1:V:V1:7VTF3LFX4GTV2FY", 20, FK_EFORBIDDEN, code),
	                 "venue: a malformed payload was not FK_EINVAL");
	memcpy(code, "V6109020010050002", 18);
	cr_assert_str_eq(pc_verify_venue(genuine, 20, FK_OK, code),
	                 "venue: the code returned is not the payload's");
	memcpy(code, "V6109020010050001", 18);
	cr_assert_null(pc_verify_venue(genuine, 20, FK_OK, code));
	code[20] = 0;
	cr_assert_str_eq(pc_verify_venue(genuine, 20, FK_OK, code),
	                 "venue: check wrote past the code buffer");
}

/* The selector byte reaches each parser: a bad answer from a known-good
 * input never appears, and a known-good input of each kind passes. */
Test(parsers_fuzz, dispatch_by_first_byte)
{
	static const char *const good[] = {
	    "02024-06-01T00:00:00+08:00", "1-9223372036854775808",
	    "211010519491231002X",        "3610900000000",
	    "4\xE4\xB8\xAD\xD6\xD0",      "5YWJj",
	    "6FK1:V:V6109020010050001:7VTF3LFX4GTV2FY3",
	    "7[policy]\nname = p\n",
	};
	for (size_t i = 0; i < FK_ARRAY_LEN(good); i++) {
		cr_assert_eq(pc_parser_of((uint8_t)good[i][0]), (int)i);
		const char *bad = pc_check_input((const uint8_t *)good[i], strlen(good[i]));
		cr_expect_null(bad, "'%s': %s", good[i], bad ? bad : "");
	}
	cr_assert_null(pc_check_input((const uint8_t *)"", 0));
}

/* The policy corpus holds accepted files too, so the value checks run on
 * real policies, not only on refusals. */
Test(parsers_fuzz, policy_corpus_has_accepted_files)
{
	static const char *const names[] = {"policy_protocol_9.bin", "policy_shown_9_20.bin",
					    "policy_bom_crlf.bin"};
	for (size_t i = 0; i < FK_ARRAY_LEN(names); i++) {
		struct strbuf path = STRBUF_INIT;
		strbuf_addf(&path, "%s/%s", FK_PARSERS_CORPUS, names[i]);
		size_t len;
		char *data = corpus_slurp(path.buf, &len);
		cr_assert_eq(pc_parser_of((uint8_t)data[0]), PC_POLICY);
		struct policy *p = malloc(sizeof(*p));
		struct fk_err err = {FK_OK, ""};
		cr_expect_eq(policy_parse(data + 1, len - 1, "t.ini", p, NULL, NULL, &err), FK_OK,
			     "%s: %s", names[i], err.msg);
		cr_expect_null(pc_policy_values(p), "%s", names[i]);
		free(p);
		free(data);
		strbuf_release(&path);
	}
}

/* The policy verifier is handed wrong answers and must say so. */
Test(parsers_fuzz, policy_checker_rejects_wrong_answers)
{
	static const char text[] = "[policy]\n";
	struct pc_policy_diags d;
	memset(&d, 0, sizeof(d));
	struct fk_err err = {FK_OK, ""};
	struct policy *p = calloc(1, sizeof(*p));
	cr_assert_str_eq(pc_verify_policy(text, 9, FK_EINVAL, &d, &err, p),
			 "policy: refused a text without saying why");
	d.n = 2;
	cr_assert_str_eq(pc_verify_policy(text, 9, FK_OK, &d, &err, p),
			 "policy: accepted a text with problems");
	d.out_of_order = true;
	cr_assert_str_eq(pc_verify_policy(text, 9, FK_EINVAL, &d, &err, p),
			 "policy: problems not in line order");
	d.out_of_order = false;
	snprintf(d.first, sizeof(d.first), "t.ini:1: x");
	snprintf(err.msg, sizeof(err.msg), "t.ini:2: y");
	cr_assert_str_eq(pc_verify_policy(text, 9, FK_EINVAL, &d, &err, p),
			 "policy: err is not the first problem");
	/* an accepted policy with a version that is not the bytes' hash */
	size_t len;
	struct strbuf path = STRBUF_INIT;
	strbuf_addf(&path, "%s/policy_shown_9_20.bin", FK_PARSERS_CORPUS);
	char *data = corpus_slurp(path.buf, &len);
	cr_assert_eq(policy_parse(data + 1, len - 1, "t.ini", p, NULL, NULL, &err), FK_OK);
	memset(&d, 0, sizeof(d));
	cr_assert_null(pc_verify_policy(data + 1, len - 1, FK_OK, &d, &err, p));
	p->version[strlen(p->version) - 1] ^= 1;
	cr_assert_str_eq(pc_verify_policy(data + 1, len - 1, FK_OK, &d, &err, p),
			 "policy: version is not name@first 12 hex of the hash");
	p->version[strlen(p->version) - 1] ^= 1;
	p->close.test_days[0] = 9;
	cr_assert_str_eq(pc_verify_policy(data + 1, len - 1, FK_OK, &d, &err, p),
			 "policy: accepted an inconsistent measure");
	free(data);
	free(p);
	strbuf_release(&path);
}
