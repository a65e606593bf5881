/* Suite "region": natural-length region codes, padding, levels, parents. */
#include <criterion/criterion.h>
#include <string.h>

#include "registry/registry.h"

#include "lib/banned.h"

Test(region, levels_and_lengths)
{
	const size_t lens[] = {2, 4, 6, 9, 12, 15};
	for (int l = 1; l <= 6; l++) {
		cr_assert_eq(region_len_of_level(l), lens[l - 1]);
		cr_assert_eq(region_level_of_len(lens[l - 1]), l);
	}
	cr_assert_eq(region_len_of_level(0), 0);
	cr_assert_eq(region_len_of_level(7), 0);
	cr_assert_eq(region_level_of_len(0), 0);
	cr_assert_eq(region_level_of_len(3), 0);
	cr_assert_eq(region_level_of_len(18), 0);
}

Test(region, normalize_natural)
{
	char out[16];
	cr_assert(region_code_normalize("61", 1, out, sizeof(out)));
	cr_assert_str_eq(out, "61");
	cr_assert(region_code_normalize("6109", 2, out, sizeof(out)));
	cr_assert_str_eq(out, "6109");
	cr_assert(region_code_normalize("610902", 3, out, sizeof(out)));
	cr_assert_str_eq(out, "610902");
	cr_assert(region_code_normalize("610902001", 4, out, sizeof(out)));
	cr_assert_str_eq(out, "610902001");
	cr_assert(region_code_normalize("610902001001", 5, out, sizeof(out)));
	cr_assert_str_eq(out, "610902001001");
	cr_assert(region_code_normalize("610902001001001", 6, out, sizeof(out)));
	cr_assert_str_eq(out, "610902001001001");
	/* real codes with a zero segment stay as they are (东莞市) */
	cr_assert(region_code_normalize("441900", 3, out, sizeof(out)));
	cr_assert_str_eq(out, "441900");
}

Test(region, normalize_padded)
{
	char out[16];
	cr_assert(region_code_normalize("610000000000", 1, out, sizeof(out)));
	cr_assert_str_eq(out, "61");
	cr_assert(region_code_normalize("610900000000", 2, out, sizeof(out)));
	cr_assert_str_eq(out, "6109");
	cr_assert(region_code_normalize("610902000000", 3, out, sizeof(out)));
	cr_assert_str_eq(out, "610902");
	cr_assert(region_code_normalize("610902001000", 4, out, sizeof(out)));
	cr_assert_str_eq(out, "610902001");
	cr_assert(region_code_normalize("610000", 1, out, sizeof(out)));
	cr_assert_str_eq(out, "61");
	cr_assert(region_code_normalize("610900", 2, out, sizeof(out)));
	cr_assert_str_eq(out, "6109");
}

Test(region, normalize_rejects)
{
	char out[16] = "unchanged";
	cr_assert_not(region_code_normalize("610902001000", 3, out, sizeof(out)));
	cr_assert_not(region_code_normalize("61090", 3, out, sizeof(out)));
	cr_assert_not(region_code_normalize("61a902", 3, out, sizeof(out)));
	cr_assert_not(region_code_normalize("", 1, out, sizeof(out)));
	cr_assert_not(region_code_normalize(NULL, 1, out, sizeof(out)));
	cr_assert_not(region_code_normalize("610902", 0, out, sizeof(out)));
	cr_assert_not(region_code_normalize("610902", 7, out, sizeof(out)));
	/* grids have no padded form */
	cr_assert_not(region_code_normalize("610902001001", 6, out, sizeof(out)));
	cr_assert_not(region_code_normalize("610902001001001000", 6, out, sizeof(out)));
	/* 6-digit padding only for province and city */
	cr_assert_not(region_code_normalize("610900", 4, out, sizeof(out)));
	cr_assert_not(region_code_normalize("610100", 1, out, sizeof(out)));
	/* the output buffer must hold the code and its NUL */
	cr_assert_not(region_code_normalize("610902", 3, out, 6));
	cr_assert_str_eq(out, "unchanged");
	cr_assert(region_code_normalize("610902", 3, out, 7));
}

Test(region, parents)
{
	char out[16];
	cr_assert(region_parent_code("610902001001001", out, sizeof(out)));
	cr_assert_str_eq(out, "610902001001");
	cr_assert(region_parent_code("610902001001", out, sizeof(out)));
	cr_assert_str_eq(out, "610902001");
	cr_assert(region_parent_code("610902001", out, sizeof(out)));
	cr_assert_str_eq(out, "610902");
	cr_assert(region_parent_code("610902", out, sizeof(out)));
	cr_assert_str_eq(out, "6109");
	cr_assert(region_parent_code("6109", out, sizeof(out)));
	cr_assert_str_eq(out, "61");
	cr_assert_not(region_parent_code("61", out, sizeof(out)));
	cr_assert_not(region_parent_code("61090", out, sizeof(out)));
	cr_assert_not(region_parent_code("6109a2", out, sizeof(out)));
	cr_assert_not(region_parent_code(NULL, out, sizeof(out)));
	cr_assert_not(region_parent_code("610902", out, 4));
}
