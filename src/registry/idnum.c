/* idnum.c — resident ID numbers (GB 11643-1999) and mobile numbers.
 *
 * An ID number is 18 characters: a 6-digit address code, an 8-digit birth
 * date YYYYMMDD, a 3-digit sequence whose last digit gives the sex (odd
 * male, even female) and a check character computed with ISO 7064
 * MOD 11-2 over the first 17 digits.  idnum_parse() checks, in this order,
 * length, characters, check character, birth date, and reports the first
 * failure, so a typo in the date that also breaks the check digit is
 * reported as a bad check digit (the user retypes the number either way).
 */
#include "registry/registry.h"

#include <string.h>

#include "lib/util.h"

#include "lib/banned.h"

/* Weights are 2^(17-i) mod 11 for position i = 0..16. */
static const int idnum_weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
static const char idnum_check_map[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};

/* Contract: first17 holds at least 17 ASCII digits (not checked here: the
 * callers have validated them).  Returns '0'..'9' or 'X'. */
char idnum_check_char(const char *first17)
{
	int sum = 0;
	for (int i = 0; i < 17; i++)
		sum += (first17[i] - '0') * idnum_weights[i];
	return idnum_check_map[sum % 11];
}

static int digits_value(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* Days since 1970-01-01 of "today" in China Standard Time (UTC+8, no DST):
 * a birth date is a civil date in China. */
static int64_t cst_today(int64_t now)
{
	int64_t t = now + 8 * 3600;
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

enum idnum_error idnum_parse(const char *s, int64_t now, struct idnum_info *info)
{
	if (!s || strlen(s) != 18)
		return IDNUM_LENGTH;
	if (!fk_all_digits(s, 17))
		return IDNUM_CHARS;
	char last = s[17];
	if (last == 'x')
		last = 'X';
	if (!(last >= '0' && last <= '9') && last != 'X')
		return IDNUM_CHARS;
	if (idnum_check_char(s) != last)
		return IDNUM_CHECK;
	int y = digits_value(s + 6, 4), m = digits_value(s + 10, 2), d = digits_value(s + 12, 2);
	if (y < 1900 || !fk_valid_date(y, m, d) || fk_days_from_civil(y, m, d) > cst_today(now))
		return IDNUM_BIRTH;
	if (info) {
		memcpy(info->address, s, 6);
		info->address[6] = '\0';
		info->year = y;
		info->month = m;
		info->day = d;
		info->sex = ((s[16] - '0') % 2) ? 1 : 2;
	}
	return IDNUM_OK;
}

const char *idnum_error_text(enum idnum_error e)
{
	switch (e) {
	case IDNUM_OK:
		return "ok";
	case IDNUM_LENGTH:
		return "id number must be 18 characters";
	case IDNUM_CHARS:
		return "id number must be 17 digits and a digit or X";
	case IDNUM_CHECK:
		return "bad check digit";
	case IDNUM_BIRTH:
		return "impossible birth date";
	}
	return "invalid id number";
}

bool phone_valid(const char *s)
{
	return s && strlen(s) == 11 && fk_all_digits(s, 11) && s[0] == '1' && s[1] >= '3' &&
	       s[1] <= '9';
}
