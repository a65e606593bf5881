/* Suite "idnum": GB 11643-1999 ID numbers and mobile numbers.
 *
 * Reference numbers, computed by hand with weights
 * 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 and map 1 0 X 9 8 7 6 5 4 3 2
 * (sum mod 11 -> check):
 *   11010519491231002X  1*7+1*9+0+1*5+0+5*4+1*2+9*1+4*6+9*3+1*7+2*9+3*10
 *                       +1*5+0+0+2*2 = 167, 167 mod 11 = 2 -> X (female)
 *   610902200002290016  42+9+0+45+0+8+4+0+0+0+0+18+20+45+0+0+2 = 193,
 *                       193 mod 11 = 6 -> 6 (male, born on a leap day)
 *   61090219000229001X  ... = 200, 200 mod 11 = 2 -> X, but 1900-02-29
 *                       does not exist (1900 is not a leap year)
 *   610902202001020013  ... = 141, 141 mod 11 = 9 -> 3
 *   440524188001010014  ... = 195, 195 mod 11 = 8 -> 4, but born 1880
 */
#include <criterion/criterion.h>
#include <string.h>

#include "registry/registry.h"

#include "lib/banned.h"

/* 2024-06-01T00:00:00+08:00 */
#define NOW_2024 ((int64_t)1717171200)

Test(idnum, check_char_known)
{
	cr_assert_eq(idnum_check_char("11010519491231002"), 'X');
	cr_assert_eq(idnum_check_char("61090220000229001"), '6');
	cr_assert_eq(idnum_check_char("61090219000229001"), 'X');
	cr_assert_eq(idnum_check_char("61090220200102001"), '3');
	cr_assert_eq(idnum_check_char("44052418800101001"), '4');
}

Test(idnum, good_numbers_and_fields)
{
	struct idnum_info info;
	cr_assert_eq(idnum_parse("11010519491231002X", NOW_2024, &info), IDNUM_OK);
	cr_assert_str_eq(info.address, "110105");
	cr_assert_eq(info.year, 1949);
	cr_assert_eq(info.month, 12);
	cr_assert_eq(info.day, 31);
	cr_assert_eq(info.sex, 2);
	cr_assert_eq(idnum_parse("610902200002290016", NOW_2024, &info), IDNUM_OK);
	cr_assert_str_eq(info.address, "610902");
	cr_assert_eq(info.sex, 1);
	cr_assert_eq(idnum_parse("610902200002290016", NOW_2024, NULL), IDNUM_OK);
}

Test(idnum, lower_case_x)
{
	cr_assert_eq(idnum_parse("11010519491231002x", NOW_2024, NULL), IDNUM_OK);
}

Test(idnum, length)
{
	cr_assert_eq(idnum_parse("11010519491231002", NOW_2024, NULL), IDNUM_LENGTH);
	cr_assert_eq(idnum_parse("11010519491231002X0", NOW_2024, NULL), IDNUM_LENGTH);
	cr_assert_eq(idnum_parse("", NOW_2024, NULL), IDNUM_LENGTH);
	cr_assert_eq(idnum_parse(NULL, NOW_2024, NULL), IDNUM_LENGTH);
}

Test(idnum, chars)
{
	cr_assert_eq(idnum_parse("61090220000229001A", NOW_2024, NULL), IDNUM_CHARS);
	cr_assert_eq(idnum_parse("61090X200002290016", NOW_2024, NULL), IDNUM_CHARS);
	cr_assert_eq(idnum_parse("6109022000022900 6", NOW_2024, NULL), IDNUM_CHARS);
	cr_assert_eq(idnum_parse("-10902200002290016", NOW_2024, NULL), IDNUM_CHARS);
}

Test(idnum, check_digit)
{
	cr_assert_eq(idnum_parse("610902200002290017", NOW_2024, NULL), IDNUM_CHECK);
	cr_assert_eq(idnum_parse("110105194912310020", NOW_2024, NULL), IDNUM_CHECK);
	/* one transposition of two digits is caught */
	cr_assert_eq(idnum_parse("610902200002920016", NOW_2024, NULL), IDNUM_CHECK);
}

Test(idnum, birth_dates)
{
	cr_assert_eq(idnum_parse("61090219000229001X", NOW_2024, NULL), IDNUM_BIRTH);
	cr_assert_eq(idnum_parse("61090219000229001x", NOW_2024, NULL), IDNUM_BIRTH);
	cr_assert_eq(idnum_parse("440524188001010014", NOW_2024, NULL), IDNUM_BIRTH);
	/* born 2020-01-02: in the future on 2020-01-01 (CST), fine from the
	 * first second of 2020-01-02 in China (2020-01-01T16:00:00Z) */
	cr_assert_eq(idnum_parse("610902202001020013", 1577808000, NULL), IDNUM_BIRTH);
	cr_assert_eq(idnum_parse("610902202001020013", 1577894399, NULL), IDNUM_BIRTH);
	cr_assert_eq(idnum_parse("610902202001020013", 1577894400, NULL), IDNUM_OK);
}

Test(idnum, birth_month_and_day_ranges)
{
	char s[19] = "61090220001301001";
	s[17] = idnum_check_char(s); /* month 13 */
	s[18] = '\0';
	cr_assert_eq(idnum_parse(s, NOW_2024, NULL), IDNUM_BIRTH);
	memcpy(s, "61090220000431001", 17); /* April 31 */
	s[17] = idnum_check_char(s);
	cr_assert_eq(idnum_parse(s, NOW_2024, NULL), IDNUM_BIRTH);
	memcpy(s, "61090220000100001", 17); /* day 0 */
	s[17] = idnum_check_char(s);
	cr_assert_eq(idnum_parse(s, NOW_2024, NULL), IDNUM_BIRTH);
}

Test(idnum, error_texts)
{
	cr_assert_str_eq(idnum_error_text(IDNUM_CHECK), "bad check digit");
	cr_assert_str_eq(idnum_error_text(IDNUM_BIRTH), "impossible birth date");
	cr_assert_str_eq(idnum_error_text(IDNUM_OK), "ok");
	cr_assert(strlen(idnum_error_text(IDNUM_LENGTH)) > 0);
	cr_assert(strlen(idnum_error_text(IDNUM_CHARS)) > 0);
	cr_assert_neq(strcmp(idnum_error_text(IDNUM_LENGTH), idnum_error_text(IDNUM_CHARS)), 0);
}

Test(idnum, phones)
{
	cr_assert(phone_valid("13912345678"));
	cr_assert(phone_valid("19912345678"));
	cr_assert_not(phone_valid("12912345678"));
	cr_assert_not(phone_valid("23912345678"));
	cr_assert_not(phone_valid("1391234567"));
	cr_assert_not(phone_valid("139123456789"));
	cr_assert_not(phone_valid("1391234567a"));
	cr_assert_not(phone_valid(""));
	cr_assert_not(phone_valid(NULL));
}
