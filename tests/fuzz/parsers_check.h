/* parsers_check.h — properties of the small parsers, shared by the libFuzzer
 * entry point (tests/fuzz/fuzz_parsers.c) and the corpus replay in
 * tests/unit/test_parsers_fuzz.c.
 *
 * Design note.
 * - Input format: the first byte selects the parser ((byte - '0') mod
 *   PC_NPARSERS, see pc_parser_of(), so the ASCII digits '0'..'6' select
 *   0..7 and corpus files stay readable);
 *   the rest is the parser's input.  String parsers see it cut at the first
 *   NUL, as a C string would be; the text encodings see every byte.
 * - Each pc_verify_*() takes an input *and what the parser said about it*
 *   and compares that with an independent oracle written here (own grammar,
 *   own calendar arithmetic, own UTF-8 decoder, own MOD 11-2), so a test can
 *   hand it a deliberately wrong answer and watch it fail.  pc_check_*()
 *   run the real parser and call the verifier.
 * - Beyond the oracle, round trips: a parsed time formats with
 *   fk_format_time and parses back to the same instant; a normalised region
 *   code normalises to itself and its parent is its prefix; text_to_utf8
 *   output is valid UTF-8 (and GB18030 output converts back to the input
 *   bytes); a decoded cursor re-encodes to the same cursor, and every key
 *   encodes and decodes back; a venue payload is accepted exactly when it
 *   has the payload's shape and carries the HMAC computed here, and every
 *   input that is a venue code signs and checks back to itself; a policy
 *   text (every byte, NULs included) is either refused with at least one
 *   problem, reported in line order, each within the text's lines, the
 *   first one in err, or accepted with no problem, with every value within
 *   its documented bounds and consistent (test days inside their phase and
 *   increasing, kind none exactly when days is 0, ...), the version being
 *   name "@" the SHA-256 of the bytes computed here, and a second parse
 *   giving the same policy.
 * - Every check returns NULL if the properties held, else a static string
 *   naming the first one broken.  Nothing allocated outlives a call.
 */
#ifndef FK_TESTS_PARSERS_CHECK_H
#define FK_TESTS_PARSERS_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "checkins/checkins.h"
#include "http/http.h"
#include "lib/strbuf.h"
#include "lib/textenc.h"
#include "lib/util.h"
#include "policy/policy.h"
#include "registry/registry.h"

enum pc_parser {
	PC_TIME = 0,
	PC_I64,
	PC_IDNUM_PHONE,
	PC_REGION,
	PC_TEXT,
	PC_CURSOR,
	PC_VENUE,
	PC_POLICY,
	PC_NPARSERS,
};

/* The parser a first byte selects: '0' + k selects k. */
static inline enum pc_parser pc_parser_of(uint8_t first)
{
	return (enum pc_parser)((uint8_t)(first - '0') % PC_NPARSERS);
}

/* "today" for idnum_parse: 2024-06-01T00:00:00+08:00 */
#define PC_NOW ((int64_t)1717171200)

/* ---- independent helpers ---- */

static inline bool pc_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Value of n digits at s, or -1 if any is not a digit. */
static inline int pc_num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!pc_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static inline bool pc_leap(int y)
{
	return y % 400 == 0 || (y % 100 != 0 && y % 4 == 0);
}

static inline int pc_month_days(int y, int m)
{
	if (m == 2)
		return pc_leap(y) ? 29 : 28;
	return (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
}

static inline bool pc_date_ok(int y, int m, int d)
{
	return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= pc_month_days(y, m);
}

/* Days from 1970-01-01 by counting whole years and months (y >= 1). */
static inline int64_t pc_days(int y, int m, int d)
{
	int64_t p = y - 1;
	int64_t days = 365 * p + p / 4 - p / 100 + p / 400; /* 0001-01-01 .. y-01-01 */
	for (int i = 1; i < m; i++)
		days += pc_month_days(y, i);
	return days + d - 1 - 719162; /* 719162 = days 0001-01-01 .. 1970-01-01 */
}

/* ---- time (fk_parse_time / fk_format_time) ---- */

/* Oracle: "YYYY-MM-DD(T| )HH:MM:SS(Z|(+|-)HH:MM)", offset <= 14:59, a real
 * date, hour <= 23, minute and second <= 59.  True and *t if it is one. */
static inline bool pc_time_oracle(const char *s, int64_t *t)
{
	size_t n = strlen(s);
	if (n != 20 && n != 25)
		return false;
	int y = pc_num(s, 4), mo = pc_num(s + 5, 2), d = pc_num(s + 8, 2);
	int h = pc_num(s + 11, 2), mi = pc_num(s + 14, 2), se = pc_num(s + 17, 2);
	if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || se < 0 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != ' ') || s[13] != ':' || s[16] != ':')
		return false;
	int64_t off = 0;
	if (n == 20) {
		if (s[19] != 'Z')
			return false;
	} else {
		int oh = pc_num(s + 20, 2), om = pc_num(s + 23, 2);
		if ((s[19] != '+' && s[19] != '-') || oh < 0 || s[22] != ':' || om < 0 || oh > 14 ||
		    om > 59)
			return false;
		off = (s[19] == '-' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60);
	}
	if (!pc_date_ok(y, mo, d) || h > 23 || mi > 59 || se > 59)
		return false;
	*t = pc_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - off;
	/* the instant's year in China Standard Time must be 1..9999 */
	int64_t local_day = (*t + 8 * 3600) / 86400 - (*t + 8 * 3600 < 0 && (*t + 8 * 3600) % 86400);
	return local_day >= pc_days(1, 1, 1) && local_day < pc_days(10000, 1, 1);
}

/* Verifies what fk_parse_time said about s (ok, and t when ok). */
static inline const char *pc_verify_time(const char *s, bool ok, int64_t t)
{
	int64_t want = 0;
	bool want_ok = pc_time_oracle(s, &want);
	if (ok != want_ok)
		return ok ? "time: accepted a malformed time" : "time: rejected a well-formed time";
	if (!ok)
		return NULL;
	if (t != want)
		return "time: parsed to the wrong instant";
	char buf[32];
	memset(buf, 'Z', sizeof(buf));
	fk_format_time(t, buf, 26);
	if (buf[26] != 'Z' || buf[27] != 'Z')
		return "time: fk_format_time wrote past its 26 bytes";
	if (strlen(buf) != 25)
		return "time: formatted time is not 25 characters";
	if (strcmp(buf + 19, "+08:00") != 0)
		return "time: formatted time is not in +08:00";
	int64_t back = 0;
	if (!fk_parse_time(buf, &back))
		return "time: formatted time does not parse back";
	if (back != t)
		return "time: formatted time parses back to another instant";
	return NULL;
}

static inline const char *pc_check_time(const char *s)
{
	int64_t t = 0;
	bool ok = fk_parse_time(s, &t);
	return pc_verify_time(s, ok, t);
}

/* ---- integers (fk_parse_i64) ---- */

/* Oracle: an optional '-' then one or more digits, nothing else, in
 * [min, max]. */
static inline bool pc_i64_oracle(const char *s, int64_t min, int64_t max, int64_t *out)
{
	bool neg = s[0] == '-';
	const char *p = s + neg;
	if (!*p)
		return false;
	/* accumulate as a negative number: its range is the wider one */
	int64_t v = 0;
	for (; *p; p++) {
		if (!pc_digit(*p))
			return false;
		int dv = *p - '0';
		if (v < (INT64_MIN + dv) / 10)
			return false;
		v = v * 10 - dv;
	}
	if (!neg) {
		if (v == INT64_MIN)
			return false;
		v = -v;
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

static inline const char *pc_verify_i64(const char *s, int64_t min, int64_t max, bool ok, int64_t v)
{
	int64_t want = 0;
	bool want_ok = pc_i64_oracle(s, min, max, &want);
	if (ok != want_ok)
		return ok ? "i64: accepted a string that is not a decimal in range"
		          : "i64: rejected a decimal in range";
	if (ok && v != want)
		return "i64: parsed to the wrong value";
	return NULL;
}

static inline const char *pc_check_i64(const char *s)
{
	static const int64_t ranges[][2] = {
	    {INT64_MIN, INT64_MAX}, {1, 1000}, {-5, 5}, {0, INT64_MAX}, {INT64_MIN, -1},
	};
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		int64_t v = 12345;
		bool ok = fk_parse_i64(s, ranges[i][0], ranges[i][1], &v);
		const char *bad = pc_verify_i64(s, ranges[i][0], ranges[i][1], ok, v);
		if (bad)
			return bad;
		if (!ok && v != 12345)
			return "i64: wrote the output on failure";
	}
	return NULL;
}

/* ---- ID numbers and phones ---- */

/* MOD 11-2 (ISO 7064) from its definition: weight of position i (1-based,
 * counted from the right, check char at 1) is 2^(i-1) mod 11; the check
 * value c makes sum + c == 1 (mod 11); 10 is written X. */
static inline char pc_idnum_check(const char *first17)
{
	int sum = 0;
	for (int i = 0; i < 17; i++) {
		int w = 1;
		for (int k = 0; k < 17 - i; k++)
			w = w * 2 % 11;
		sum += (first17[i] - '0') * w;
	}
	int c = ((1 - sum) % 11 + 11) % 11;
	return c == 10 ? 'X' : (char)('0' + c);
}

static inline enum idnum_error pc_idnum_oracle(const char *s, int64_t now)
{
	if (strlen(s) != 18)
		return IDNUM_LENGTH;
	for (int i = 0; i < 17; i++)
		if (!pc_digit(s[i]))
			return IDNUM_CHARS;
	char last = s[17] == 'x' ? 'X' : s[17];
	if (!pc_digit(last) && last != 'X')
		return IDNUM_CHARS;
	if (pc_idnum_check(s) != last)
		return IDNUM_CHECK;
	int y = pc_num(s + 6, 4), m = pc_num(s + 10, 2), d = pc_num(s + 12, 2);
	if (y < 1900 || !pc_date_ok(y, m, d))
		return IDNUM_BIRTH;
	/* today in China (UTC+8), floor division */
	int64_t local = now + 8 * 3600;
	int64_t today = local / 86400 - (local % 86400 < 0);
	if (pc_days(y, m, d) > today)
		return IDNUM_BIRTH;
	return IDNUM_OK;
}

static inline const char *pc_verify_idnum(const char *s, int64_t now, enum idnum_error e,
                                          const struct idnum_info *info)
{
	enum idnum_error want = pc_idnum_oracle(s, now);
	if (e != want)
		return e == IDNUM_OK ? "idnum: accepted an invalid number"
		                     : "idnum: wrong verdict (or rejected a valid number)";
	if (e != IDNUM_OK)
		return NULL;
	int y = pc_num(s + 6, 4), m = pc_num(s + 10, 2), d = pc_num(s + 12, 2);
	if (strlen(info->address) != 6 || memcmp(info->address, s, 6) != 0)
		return "idnum: address is not the first 6 digits";
	if (info->year != y || info->month != m || info->day != d)
		return "idnum: birth date is not digits 7..14";
	if (!pc_date_ok(info->year, info->month, info->day))
		return "idnum: birth date is not a real date";
	if (info->sex != ((s[16] - '0') % 2 ? 1 : 2))
		return "idnum: sex does not follow the 17th digit";
	char last = s[17] == 'x' ? 'X' : s[17];
	if (idnum_check_char(s) != last)
		return "idnum: check character does not recompute";
	return NULL;
}

static inline bool pc_phone_oracle(const char *s)
{
	if (strlen(s) != 11 || s[0] != '1' || s[1] < '3' || s[1] > '9')
		return false;
	for (int i = 0; i < 11; i++)
		if (!pc_digit(s[i]))
			return false;
	return true;
}

static inline const char *pc_check_idnum_phone(const char *s)
{
	struct idnum_info info;
	memset(&info, 0x5A, sizeof(info));
	enum idnum_error e = idnum_parse(s, PC_NOW, &info);
	const char *bad = pc_verify_idnum(s, PC_NOW, e, &info);
	if (bad)
		return bad;
	if (idnum_parse(s, PC_NOW, NULL) != e)
		return "idnum: verdict depends on whether info is asked for";
	if (e == IDNUM_OK || e == IDNUM_BIRTH) {
		/* the date test moves with now: born today is fine, tomorrow not */
		int y = pc_num(s + 6, 4), m = pc_num(s + 10, 2), d = pc_num(s + 12, 2);
		if (y >= 1900 && pc_date_ok(y, m, d)) {
			int64_t born = pc_days(y, m, d) * 86400 - 8 * 3600; /* 00:00 CST */
			if (idnum_parse(s, born, NULL) != IDNUM_OK)
				return "idnum: rejected on the day of birth";
			if (idnum_parse(s, born - 1, NULL) != IDNUM_BIRTH)
				return "idnum: accepted the second before the day of birth";
		}
	}
	if (phone_valid(s) != pc_phone_oracle(s))
		return "phone: verdict differs from 1[3-9] + 9 digits";
	return NULL;
}

/* ---- region codes ---- */

static const size_t pc_region_lens[7] = {0, 2, 4, 6, 9, 12, 15};

static inline bool pc_all(const char *s, size_t n, bool (*pred)(char))
{
	for (size_t i = 0; i < n; i++)
		if (!pred(s[i]))
			return false;
	return true;
}

static inline bool pc_zero(char c)
{
	return c == '0';
}

static inline bool pc_region_oracle(const char *code, int level)
{
	size_t n = pc_region_lens[level], len = strlen(code);
	if (!len || !pc_all(code, len, pc_digit))
		return false;
	if (len == n)
		return true;
	if (level <= 5 && len == 12)
		return pc_all(code + n, 12 - n, pc_zero);
	if (level <= 2 && len == 6)
		return pc_all(code + n, 6 - n, pc_zero);
	return false;
}

/* Verifies region_code_normalize(code, level, out, size) == ok; out must
 * have been filled with '#' before the call, size+1 bytes of it. */
static inline const char *pc_verify_region(const char *code, int level, size_t size, bool ok,
                                           const char *out)
{
	size_t n = pc_region_lens[level];
	bool want = size > n && pc_region_oracle(code, level);
	if (ok != want)
		return ok ? "region: accepted a code that is not valid for the level"
		          : "region: rejected a valid code";
	if (out[size] != '#')
		return "region: wrote past its buffer";
	if (!ok)
		return NULL;
	if (strlen(out) != n || !pc_all(out, n, pc_digit))
		return "region: output is not the level's length in digits";
	if (memcmp(out, code, n) != 0)
		return "region: output is not a prefix of the input";
	if (region_level_of_len(strlen(out)) != level || region_len_of_level(level) != n)
		return "region: level and length disagree";
	return NULL;
}

static inline const char *pc_check_region(const char *code)
{
	char out[40], again[40], parent[40];
	for (int level = 0; level <= 7; level++) {
		if (level < 1 || level > 6) {
			memset(out, '#', sizeof(out));
			if (region_code_normalize(code, level, out, sizeof(out) - 1))
				return "region: accepted an impossible level";
			if (out[0] != '#')
				return "region: touched out on failure";
			continue;
		}
		size_t n = pc_region_lens[level];
		const size_t sizes[] = {sizeof(out) - 1, n + 1, n};
		for (size_t k = 0; k < 3; k++) {
			memset(out, '#', sizeof(out));
			bool ok = region_code_normalize(code, level, out, sizes[k]);
			const char *bad = pc_verify_region(code, level, sizes[k], ok, out);
			if (bad)
				return bad;
			if (!ok) {
				for (size_t i = 0; i < sizeof(out); i++)
					if (out[i] != '#')
						return "region: touched out on failure";
				continue;
			}
			if (!region_code_normalize(out, level, again, sizeof(again)) ||
			    strcmp(again, out) != 0)
				return "region: normalised code does not normalise to itself";
			memset(parent, '#', sizeof(parent));
			bool pok = region_parent_code(out, parent, sizeof(parent));
			if (level == 1) {
				if (pok)
					return "region: a province has a parent";
				continue;
			}
			if (!pok)
				return "region: a normalised code below province has no parent";
			if (strlen(parent) != pc_region_lens[level - 1] ||
			    memcmp(parent, out, strlen(parent)) != 0)
				return "region: parent is not the prefix one level up";
			if (!region_code_normalize(parent, level - 1, again, sizeof(again)) ||
			    strcmp(again, parent) != 0)
				return "region: parent is not a valid code one level up";
		}
	}
	/* the parent of the raw input: natural lengths 4..15 only */
	size_t len = strlen(code);
	int lv = 0;
	for (int l = 1; l <= 6; l++)
		if (pc_region_lens[l] == len)
			lv = l;
	bool want = lv >= 2 && pc_all(code, len, pc_digit);
	memset(parent, '#', sizeof(parent));
	bool pok = region_parent_code(code, parent, sizeof(parent));
	if (pok != want)
		return pok ? "region: parent of a code that is not natural-length digits"
		           : "region: no parent for a natural-length code";
	if (pok &&
	    (strlen(parent) != pc_region_lens[lv - 1] || memcmp(parent, code, strlen(parent)) != 0))
		return "region: parent of the input is not its prefix one level up";
	if (want) {
		memset(parent, '#', sizeof(parent));
		size_t pn = pc_region_lens[lv - 1];
		if (region_parent_code(code, parent, pn))
			return "region: parent written into a buffer without room for the NUL";
		if (parent[0] != '#')
			return "region: touched out on failure";
	}
	return NULL;
}

/* ---- text encodings ---- */

/* Independent strict UTF-8 decoder: decodes each sequence to a code point,
 * then rejects overlongs (by the minimum value for the length), surrogates
 * and values above U+10FFFF.  True if valid; else *bad is the offset of the
 * first byte of the first bad sequence. */
static inline bool pc_utf8_oracle(const unsigned char *s, size_t n, size_t *bad)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		size_t len;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			len = 2, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4, cp = c & 0x07, min = 0x10000;
		} else {
			*bad = i;
			return false;
		}
		if (n - i < len) {
			*bad = i;
			return false;
		}
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xC0) != 0x80) {
				*bad = i;
				return false;
			}
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
			*bad = i;
			return false;
		}
		i += len;
	}
	return true;
}

/* Verifies text_utf8_valid(s, n, &bad) == ok (bad only read when !ok). */
static inline const char *pc_verify_utf8(const char *s, size_t n, bool ok, size_t bad)
{
	size_t want_bad = 0;
	bool want = pc_utf8_oracle((const unsigned char *)s, n, &want_bad);
	if (ok != want)
		return ok ? "utf8: accepted invalid UTF-8" : "utf8: rejected valid UTF-8";
	if (!ok && bad != want_bad)
		return "utf8: wrong offset of the first invalid byte";
	return NULL;
}

static inline bool pc_ascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

#define PC_PREFIX "prefix:"

static inline const char *pc_check_text(const char *s, size_t n)
{
	size_t bad = (size_t)-1;
	bool valid = text_utf8_valid(s, n, &bad);
	const char *res = pc_verify_utf8(s, n, valid, bad);
	if (res)
		return res;
	if (text_utf8_valid(s, n, NULL) != valid)
		return "utf8: verdict depends on whether bad is asked for";
	/* every prefix up to the first bad byte is valid */
	if (!valid && !text_utf8_valid(s, bad, NULL))
		return "utf8: the bytes before the first invalid one are not valid";

	size_t skip = 99;
	enum text_encoding enc = text_detect(s, n, &skip);
	bool bom = n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0;
	if (bom != (enc == TEXT_UTF8_BOM) || skip != (bom ? 3u : 0u))
		return "detect: BOM and skip disagree";
	if (enc != TEXT_UTF8 && enc != TEXT_UTF8_BOM && enc != TEXT_GB18030)
		return "detect: unknown encoding";
	if (valid && enc == TEXT_GB18030)
		return "detect: valid UTF-8 detected as GB18030";
	if (text_detect(s, n, NULL) != enc)
		return "detect: verdict depends on whether skip is asked for";

	static const enum text_encoding encs[] = {TEXT_UTF8, TEXT_UTF8_BOM, TEXT_GB18030};
	for (size_t e = 0; e < 3; e++) {
		struct strbuf out = STRBUF_INIT;
		strbuf_addstr(&out, PC_PREFIX);
		size_t plen = out.len;
		bool ok = text_to_utf8(encs[e], s, n, &out);
		const char *bad_prop = NULL;
		if (out.len < plen || memcmp(out.buf, PC_PREFIX, plen) != 0)
			bad_prop = "to_utf8: changed what out held before";
		else if (!ok && out.len != plen)
			bad_prop = "to_utf8: out changed on failure";
		else if (out.buf[out.len] != '\0')
			bad_prop = "to_utf8: out not NUL-terminated";
		else if (ok && !text_utf8_valid(out.buf + plen, out.len - plen, NULL))
			bad_prop = "to_utf8: output is not valid UTF-8";
		else if (pc_ascii(s, n) &&
		         (!ok || out.len - plen != n || memcmp(out.buf + plen, s, n) != 0))
			bad_prop = "to_utf8: ASCII not copied as is";
		else if (encs[e] != TEXT_GB18030 &&
		         (ok != valid ||
		          (ok && (out.len - plen != n || memcmp(out.buf + plen, s, n) != 0))))
			bad_prop = "to_utf8: UTF-8 input not passed through exactly when valid";
		else if (encs[e] == TEXT_GB18030 && ok) {
			struct strbuf back = STRBUF_INIT;
			if (!text_utf8_to_gb18030(out.buf + plen, out.len - plen, &back))
				bad_prop = "to_utf8: GB18030 output does not convert back";
			else if (back.len != n || memcmp(back.buf, s, n) != 0)
				bad_prop = "to_utf8: GB18030 output converts back to other bytes";
			strbuf_release(&back);
		}
		strbuf_release(&out);
		if (bad_prop)
			return bad_prop;
	}
	return NULL;
}

/* ---- paging cursors ---- */

#define PC_GUARD 16

static inline bool pc_b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || pc_digit(c) || c == '-' ||
	       c == '_';
}

/* Verifies http_cursor_decode(cursor, buf, size) == ok, where buf holds
 * size + PC_GUARD bytes that were all 0xA5 before the call. */
static inline const char *pc_verify_cursor(const char *cursor, size_t size, bool ok,
                                           const char *buf)
{
	for (size_t i = size; i < size + PC_GUARD; i++)
		if ((unsigned char)buf[i] != 0xA5)
			return "cursor: decode wrote past its buffer";
	if (!ok)
		return NULL;
	size_t n = strnlen(buf, size);
	if (n == 0 || n == size)
		return "cursor: decoded key empty or not terminated inside the buffer";
	size_t clen = strlen(cursor);
	if (clen == 0 || !pc_all(cursor, clen, pc_b64url_char))
		return "cursor: accepted characters outside base64url";
	if (clen % 4 == 1 || n != clen * 3 / 4)
		return "cursor: decoded length does not match the cursor length";
	char enc[256];
	if (clen + 1 > sizeof(enc))
		return NULL; /* too long to re-encode here; the length check stands */
	http_cursor_encode(buf, enc, sizeof(enc));
	if (strcmp(enc, cursor) != 0)
		return "cursor: decoded key does not re-encode to the same cursor";
	return NULL;
}

static inline const char *pc_check_cursor(const char *cursor)
{
	static const size_t sizes[] = {0, 1, 2, 3, 5, 17, 64, 200};
	char prev[200];
	bool prev_ok = false;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t size = sizes[k];
		char *buf = malloc(size + PC_GUARD);
		if (!buf)
			return "cursor: out of memory";
		memset(buf, 0xA5, size + PC_GUARD);
		bool ok = http_cursor_decode(cursor, buf, size);
		const char *bad = pc_verify_cursor(cursor, size, ok, buf);
		if (!bad && prev_ok && (!ok || strcmp(buf, prev) != 0))
			bad = "cursor: a larger buffer changed the verdict or the key";
		if (!bad && ok)
			memcpy(prev, buf, strlen(buf) + 1);
		prev_ok = prev_ok || ok;
		free(buf);
		if (bad)
			return bad;
	}
	/* encode -> decode: any non-empty key (as a C string) comes back */
	size_t n = strlen(cursor);
	if (n == 0 || n > 150)
		return NULL;
	char enc[256], dec[160];
	http_cursor_encode(cursor, enc, sizeof(enc));
	if (!http_cursor_decode(enc, dec, n + 1) || strcmp(dec, cursor) != 0)
		return "cursor: an encoded key does not decode back";
	if (http_cursor_decode(enc, dec, n))
		return "cursor: decoded a key into a buffer without room for it";
	size_t need = (n * 4 + 2) / 3 + 1;
	memset(enc, 'q', sizeof(enc));
	http_cursor_encode(cursor, enc, need - 1);
	if (enc[0] != '\0')
		return "cursor: encode into a too small buffer is not the empty string";
	for (size_t i = 1; i < sizeof(enc); i++)
		if (enc[i] != 'q')
			return "cursor: encode wrote into a too small buffer";
	return NULL;
}

/* ---- venue payloads (venue_payload_check / venue_payload_make) ---- */

/* The fuzzer's venue key: bytes 0, 1, ..., 31. */
static inline void pc_venue_key(unsigned char key[VENUE_KEY_BYTES])
{
	for (int i = 0; i < VENUE_KEY_BYTES; i++)
		key[i] = (unsigned char)i;
}

static inline bool pc_venue_code_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || pc_digit(c) || c == '-' ||
	       c == '_';
}

/* Oracle of the shape "FK1:V:" code ":" sig, code 1..VENUE_CODE_MAX code
 * characters, sig 16 of [A-Z2-7]; *code_len set when it has it. */
static inline bool pc_venue_shape(const char *s, size_t *code_len)
{
	size_t n = strlen(s);
	if (n < 6 + 1 + 1 + 16 || memcmp(s, "FK1:V:", 6) != 0 || s[n - 17] != ':')
		return false;
	size_t len = n - 6 - 17;
	if (len < 1 || len > VENUE_CODE_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!pc_venue_code_char(s[6 + i]))
			return false;
	for (size_t i = n - 16; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '2' && s[i] <= '7')))
			return false;
	*code_len = len;
	return true;
}

/* The signature of a code of len bytes, computed here from the definition:
 * crypto_auth of "V:" code, first 10 bytes, RFC 4648 base32 bit by bit. */
static inline void pc_venue_sig(const unsigned char key[VENUE_KEY_BYTES], const char *code,
                                size_t len, char out[17])
{
	unsigned char msg[2 + VENUE_CODE_MAX], mac[crypto_auth_BYTES];
	msg[0] = 'V';
	msg[1] = ':';
	memcpy(msg + 2, code, len);
	crypto_auth(mac, msg, 2 + len, key);
	for (int i = 0; i < 16; i++) {
		int v = 0;
		for (int b = 0; b < 5; b++) {
			int bit = i * 5 + b;
			v = v << 1 | (mac[bit / 8] >> (7 - bit % 8) & 1);
		}
		out[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[v];
	}
	out[16] = '\0';
}

/* Verifies what venue_payload_check said about s: status st, and code
 * (size bytes, followed by PC_GUARD bytes that were 0xA5) when FK_OK. */
static inline const char *pc_verify_venue(const char *s, size_t size, enum fk_status st,
                                          const char *code)
{
	unsigned char key[VENUE_KEY_BYTES];
	pc_venue_key(key);
	for (size_t i = size; i < size + PC_GUARD; i++)
		if ((unsigned char)code[i] != 0xA5)
			return "venue: check wrote past the code buffer";
	size_t len = 0;
	if (!pc_venue_shape(s, &len))
		return st == FK_EINVAL ? NULL : "venue: a malformed payload was not FK_EINVAL";
	char sig[17];
	pc_venue_sig(key, s + 6, len, sig);
	bool genuine = !strcmp(s + 6 + len + 1, sig);
	if (!genuine)
		return st == FK_EFORBIDDEN ? NULL : "venue: a bad signature was not FK_EFORBIDDEN";
	if (size <= len)
		return st != FK_OK ? NULL : "venue: accepted a code too long for the buffer";
	if (st != FK_OK)
		return "venue: rejected a genuine payload";
	if (strnlen(code, size) != len || memcmp(code, s + 6, len) != 0)
		return "venue: the code returned is not the payload's";
	return NULL;
}

static inline const char *pc_check_venue(const char *s)
{
	unsigned char key[VENUE_KEY_BYTES];
	pc_venue_key(key);
	static const size_t sizes[] = {0, 1, 8, VENUE_CODE_MAX + 1};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		char code[VENUE_CODE_MAX + 1 + PC_GUARD];
		memset(code, 0xA5, sizeof(code));
		struct fk_err err = {FK_OK, ""};
		enum fk_status st = venue_payload_check(key, s, code, sizes[k], &err);
		const char *bad = pc_verify_venue(s, sizes[k], st, code);
		if (bad)
			return bad;
		if (st != FK_OK && (!err.msg[0] || strnlen(err.msg, FK_ERR_MAX) == FK_ERR_MAX))
			return "venue: a refusal without a terminated message";
	}
	/* the input as a venue code: signs exactly when it is one, and checks back */
	size_t n = strlen(s);
	bool is_code = n >= 1 && n <= VENUE_CODE_MAX;
	for (size_t i = 0; i < n && is_code; i++)
		is_code = pc_venue_code_char(s[i]);
	char payload[VENUE_PAYLOAD_MAX + PC_GUARD];
	memset(payload, 0xA5, sizeof(payload));
	bool made = venue_payload_make(key, s, payload, VENUE_PAYLOAD_MAX);
	for (size_t i = VENUE_PAYLOAD_MAX; i < sizeof(payload); i++)
		if ((unsigned char)payload[i] != 0xA5)
			return "venue: make wrote past its buffer";
	if (made != is_code)
		return made ? "venue: signed something that is not a venue code"
		            : "venue: refused to sign a venue code";
	if (!made)
		return NULL;
	char sig[17], back[VENUE_CODE_MAX + 1];
	pc_venue_sig(key, s, n, sig);
	if (strncmp(payload, "FK1:V:", 6) != 0 || strncmp(payload + 6, s, n) != 0 ||
	    payload[6 + n] != ':' || strcmp(payload + 7 + n, sig) != 0)
		return "venue: made payload differs from FK1:V:<code>:<HMAC>";
	struct fk_err err = {FK_OK, ""};
	if (venue_payload_check(key, payload, back, sizeof(back), &err) != FK_OK ||
	    strcmp(back, s) != 0)
		return "venue: a made payload does not check back to its code";
	return NULL;
}

/* ---- policy files (policy_parse) ---- */

struct pc_policy_diags {
	int n, last_line, max_line;
	bool out_of_order, bad_line, empty_msg;
	char first[FK_ERR_MAX];
};

static inline void pc_policy_diag(void *ctx, const char *file, int line, const char *msg)
{
	struct pc_policy_diags *d = ctx;
	if (d->n == 0 && line)
		snprintf(d->first, sizeof(d->first), "%s:%d: %s", file, line, msg);
	else if (d->n == 0)
		snprintf(d->first, sizeof(d->first), "%s: %s", file, msg);
	if (line < d->last_line)
		d->out_of_order = true;
	if (line < 0 || line > d->max_line)
		d->bad_line = true;
	if (!msg || !*msg)
		d->empty_msg = true;
	d->last_line = line;
	d->n++;
}

static inline bool pc_days_ok(const int *days, int n, int phase)
{
	if (n < 0 || n > POLICY_MAX_TEST_DAYS)
		return false;
	for (int i = 0; i < n; i++)
		if (days[i] < 1 || days[i] > phase || (i && days[i] <= days[i - 1]))
			return false;
	return true;
}

static inline bool pc_measure_ok(const struct policy_measure *m)
{
	return (unsigned)m->kind <= ORDER_HOME_MONITORING &&
	       (unsigned)m->then_kind <= ORDER_HOME_MONITORING && m->days >= 0 && m->days <= 60 &&
	       m->then_days >= 0 && m->then_days <= 60 &&
	       (m->kind == ORDER_NONE) == (m->days == 0) &&
	       (m->then_kind == ORDER_NONE) == (m->then_days == 0) &&
	       !(m->kind == ORDER_NONE && m->then_kind != ORDER_NONE) &&
	       pc_days_ok(m->test_days, m->ntest_days, m->days) &&
	       pc_days_ok(m->then_test_days, m->nthen_test_days, m->then_days);
}

/* The documented bounds and consistency of an accepted policy (docs/policy.md). */
static inline const char *pc_policy_values(const struct policy *p)
{
	size_t n = strnlen(p->name, sizeof(p->name));
	if (n < 1 || n > POLICY_NAME_MAX)
		return "policy: accepted a bad name";
	for (size_t i = 0; i < n; i++) {
		char c = p->name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || pc_digit(c) || c == '.' ||
		      c == '_' || c == '-'))
			return "policy: accepted a bad name";
	}
	if (strnlen(p->title, sizeof(p->title)) == 0 || strnlen(p->title, sizeof(p->title)) ==
								 sizeof(p->title))
		return "policy: accepted a bad title";
	const char *e = p->effective;
	if (strnlen(e, sizeof(p->effective)) != 10 || e[4] != '-' || e[7] != '-' ||
	    !pc_date_ok(pc_num(e, 4), pc_num(e + 5, 2), pc_num(e + 8, 2)))
		return "policy: accepted a date that is not a real YYYY-MM-DD";
	if (p->infectious_days_before < 0 || p->infectious_days_before > 14 ||
	    p->window_minutes < 1 || p->window_minutes > 1440)
		return "policy: accepted tracing values out of bounds";
	if (!pc_measure_ok(&p->close) || !pc_measure_ok(&p->secondary) ||
	    !pc_measure_ok(&p->arrival_high) || !pc_measure_ok(&p->arrival_medium))
		return "policy: accepted an inconsistent measure";
	if (p->secondary_contacts == (p->secondary.kind == ORDER_NONE))
		return "policy: secondary measure disagrees with secondary_contacts";
	if (p->secondary_release_close_negatives < 0 ||
	    p->secondary_release_close_negatives > p->close.ntest_days)
		return "policy: release_after_close_negatives out of bounds";
	bool med = p->medium_level;
	if ((p->high_to_medium_days > 0) != med || (p->medium_to_low_after_high_days > 0) != med ||
	    (p->medium_to_low_days > 0) != med || (p->high_to_low_days > 0) == med ||
	    p->high_to_medium_days > 60 || p->medium_to_low_after_high_days > 60 ||
	    p->medium_to_low_days > 60 || p->high_to_low_days > 60 || p->high_to_medium_days < 0 ||
	    p->medium_to_low_after_high_days < 0 || p->medium_to_low_days < 0 ||
	    p->high_to_low_days < 0)
		return "policy: risk-area lifting inconsistent with medium_level";
	if (p->arrival_lookback_days < 1 || p->arrival_lookback_days > 60 ||
	    p->arrival_low_tests < 0 || p->arrival_low_tests > 10 ||
	    p->arrival_low_within_days < 0 || p->arrival_low_within_days > 60 ||
	    (p->arrival_low_tests > 0 && p->arrival_low_within_days < 1))
		return "policy: arrival values out of bounds";
	if (p->test_validity_hours < 1 || p->test_validity_hours > 720)
		return "policy: test_validity_hours out of bounds";
	if (p->nperiodic < 0 || p->nperiodic > POLICY_MAX_OCCUPATIONS)
		return "policy: too many occupations";
	for (int i = 0; i < p->nperiodic; i++) {
		const char *o = p->periodic[i].occupation;
		size_t len = strnlen(o, sizeof(p->periodic[i].occupation));
		if (len < 1 || len >= sizeof(p->periodic[i].occupation) || p->periodic[i].days < 1 ||
		    p->periodic[i].days > 60)
			return "policy: accepted a bad occupation";
		for (size_t k = 0; k < len; k++)
			if (!((o[k] >= 'a' && o[k] <= 'z') || o[k] == '_'))
				return "policy: accepted a bad occupation";
		for (int j = 0; j < i; j++)
			if (!strcmp(o, p->periodic[j].occupation))
				return "policy: accepted a duplicate occupation";
	}
	const enum colour cs[] = {p->colour_case,          p->colour_isolation,
				  p->colour_home_monitoring, p->colour_close,
				  p->colour_secondary,     p->colour_fever,
				  p->colour_pool_positive, p->colour_arrival_high,
				  p->colour_arrival_medium, p->colour_periodic_overdue,
				  p->colour_resident_high, p->colour_resident_medium};
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
		if ((unsigned)cs[i] > COLOUR_RED)
			return "policy: accepted a bad colour";
	if (p->token_minutes < 1 || p->token_minutes > 60 || p->override_max_days < 1 ||
	    p->override_max_days > 60 || p->override_city_threshold < 1 ||
	    p->appeal_deadline_hours < 1 || p->appeal_deadline_hours > 720)
		return "policy: code values out of bounds";
	if (p->campaign_whole_days < 1 || p->campaign_core_days < 1 ||
	    p->campaign_designated_hours < 1 || p->exempt_under_age_years < 0 ||
	    p->exempt_under_age_years > 18 || p->checkin_retention_days < 1 ||
	    p->retest_hours < 1 || p->retest_hours > 720 || p->resample_hours < 1 ||
	    p->resample_hours > 720)
		return "policy: testing or retention values out of bounds";
	if (p->release_recheck_hours < 1 || p->release_recheck_hours > 168 ||
	    p->checks_per_day < 1 || p->checks_per_day > 4 || p->fever_dc < 370 ||
	    p->fever_dc > 400)
		return "policy: isolation values out of bounds";
	if (p->team_on_site_hours < 1 || p->team_on_site_hours > 168 || p->core_info_hours < 1 ||
	    p->core_info_hours > 168 || p->report_hours < 1 || p->report_hours > 168 ||
	    p->contacts_controlled_hours < 1 || p->contacts_controlled_hours > 168)
		return "policy: targets out of bounds";
	return NULL;
}

/* Verifies what policy_parse said about text (st, the diagnostics d, err,
 * and p when FK_OK). */
static inline const char *pc_verify_policy(const char *text, size_t len, enum fk_status st,
					   const struct pc_policy_diags *d,
					   const struct fk_err *err, const struct policy *p)
{
	if (st != FK_OK && st != FK_EINVAL)
		return "policy: a status other than ok or invalid";
	if ((st == FK_OK) != (d->n == 0))
		return st == FK_OK ? "policy: accepted a text with problems"
				   : "policy: refused a text without saying why";
	if (d->out_of_order)
		return "policy: problems not in line order";
	if (d->bad_line)
		return "policy: a problem on a line the text does not have";
	if (d->empty_msg)
		return "policy: a problem without a reason";
	if (st != FK_OK)
		return strcmp(err->msg, d->first) ? "policy: err is not the first problem" : NULL;
	const char *bad = pc_policy_values(p);
	if (bad)
		return bad;
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)text, len);
	char hex[65];
	for (size_t i = 0; i < sizeof(h); i++) {
		hex[2 * i] = "0123456789abcdef"[h[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[h[i] & 15];
	}
	hex[64] = '\0';
	if (strcmp(p->sha256, hex))
		return "policy: sha256 is not the hash of the bytes";
	char want[POLICY_NAME_MAX + 14];
	snprintf(want, sizeof(want), "%s@%.12s", p->name, hex);
	if (strcmp(p->version, want))
		return "policy: version is not name@first 12 hex of the hash";
	return NULL;
}

static inline const char *pc_check_policy(const char *text, size_t len)
{
	int lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	struct policy *p = malloc(sizeof(*p)), *again = malloc(sizeof(*again));
	const char *bad = "out of memory";
	if (!p || !again)
		goto out;
	struct pc_policy_diags d;
	memset(&d, 0, sizeof(d));
	d.max_line = lines;
	struct fk_err err = {FK_OK, ""};
	enum fk_status st = policy_parse(text, len, "t.ini", p, pc_policy_diag, &d, &err);
	bad = pc_verify_policy(text, len, st, &d, &err, p);
	if (bad || st != FK_OK)
		goto out;
	struct fk_err err2 = {FK_OK, ""};
	if (policy_parse(text, len, "t.ini", again, NULL, NULL, &err2) != FK_OK)
		bad = "policy: a second parse refused what the first accepted";
	else if (memcmp(p, again, sizeof(*p)) != 0)
		bad = "policy: a second parse gave another policy";
out:
	free(p);
	free(again);
	return bad;
}

/* ---- dispatch ---- */

/* Runs the parser selected by data[0] on data[1..len); NULL if every
 * property held. */
static inline const char *pc_check_input(const uint8_t *data, size_t len)
{
	if (len == 0)
		return NULL;
	const char *rest = (const char *)data + 1;
	size_t n = len - 1;
	enum pc_parser which = pc_parser_of(data[0]);
	if (which == PC_POLICY) {
		/* exact-size copy: the parser must not read past len */
		char *copy = malloc(n ? n : 1);
		if (!copy)
			return "out of memory";
		memcpy(copy, rest, n);
		const char *bad = pc_check_policy(copy, n);
		free(copy);
		return bad;
	}
	if (which == PC_TEXT) {
		/* exact-size copy so ASan sees reads past the end */
		char *copy = malloc(n ? n : 1);
		if (!copy)
			return "out of memory";
		memcpy(copy, rest, n);
		const char *bad = pc_check_text(copy, n);
		free(copy);
		return bad;
	}
	char *s = malloc(n + 1);
	if (!s)
		return "out of memory";
	memcpy(s, rest, n);
	s[n] = '\0';
	const char *bad = NULL;
	switch (which) {
	case PC_TIME:
		bad = pc_check_time(s);
		break;
	case PC_I64:
		bad = pc_check_i64(s);
		break;
	case PC_IDNUM_PHONE:
		bad = pc_check_idnum_phone(s);
		break;
	case PC_REGION:
		bad = pc_check_region(s);
		break;
	case PC_CURSOR:
		bad = pc_check_cursor(s);
		break;
	case PC_VENUE:
		bad = pc_check_venue(s);
		break;
	case PC_TEXT:
	case PC_POLICY:
	case PC_NPARSERS:
		break;
	}
	free(s);
	return bad;
}

#endif
