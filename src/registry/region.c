/* region.c — region codes at their natural length.
 *
 * Level  1 province  2 digits    4 community/village 12 digits
 *        2 city      4 digits    5 ...
 * (see registry.h): 1->2, 2->4, 3->6, 4->9, 5->12, 6->15 (grid).
 * A code's parent is its prefix one level up, so a subtree is a prefix.
 * Zero segments are legal at natural length (东莞市's county-level code is
 * 441900, 金门县's town 350527000), so padding is only recognised when the
 * caller names the level.
 */
#include "registry/registry.h"

#include <string.h>

#include "lib/util.h"

#include "lib/banned.h"

static const size_t region_lens[7] = {0, 2, 4, 6, 9, 12, 15};

int region_level_of_len(size_t len)
{
	for (int l = 1; l <= 6; l++)
		if (region_lens[l] == len)
			return l;
	return 0;
}

size_t region_len_of_level(int level)
{
	return level >= 1 && level <= 6 ? region_lens[level] : 0;
}

static bool all_zero(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != '0')
			return false;
	return true;
}

/* Accepts, for level L with natural length n: the natural form; for L <= 5
 * the 12-digit zero-padded statistical form; for L <= 2 also the 6-digit
 * GB/T 2260 form (610000, 610900).  Writes the natural form into out
 * (size must exceed n).  False, out untouched, on anything else. */
bool region_code_normalize(const char *code, int level, char *out, size_t size)
{
	size_t n = region_len_of_level(level);
	if (!code || !n || size <= n)
		return false;
	size_t len = strlen(code);
	if (!len || !fk_all_digits(code, len))
		return false;
	bool ok = len == n || (level <= 5 && len == 12 && all_zero(code + n, 12 - n)) ||
	          (level <= 2 && len == 6 && all_zero(code + n, 6 - n));
	if (!ok)
		return false;
	memcpy(out, code, n);
	out[n] = '\0';
	return true;
}

/* False when code is not a natural-length code, is a province (no parent)
 * or out is too small. */
bool region_parent_code(const char *code, char *out, size_t size)
{
	if (!code)
		return false;
	size_t len = strlen(code);
	int level = region_level_of_len(len);
	if (level <= 1 || !fk_all_digits(code, len))
		return false;
	size_t pn = region_len_of_level(level - 1);
	if (size <= pn)
		return false;
	memcpy(out, code, pn);
	out[pn] = '\0';
	return true;
}
