/* Suite "plan": Dorfman's pooled testing, E(k,p) = 1/k + 1 - (1-p)^k.
 *
 * References, not computed by the code under test:
 * - Dorfman R. (1943), The detection of defective members of large
 *   populations, Ann. Math. Statist. 14(4): 436-440, table of optimal group
 *   sizes and relative costs: p = 1 % k 11 (cost 0.196), 2 % k 8 (0.274),
 *   5 % k 5 (0.426), 10 % k 4 (0.594);
 * - Hanel R., Thurner S. (2020), Boosting test-efficiency by pooled testing
 *   for SARS-CoV-2 — formula for optimal pool size, PLoS ONE 15(11):
 *   e0240652: p = 1 % k 11, 5.11 persons per test; p = 0.1 % k 32, 15.9;
 * - DOMAIN.md: pools of 10 stop paying at p ~ 20.6 %; pooling of any size
 *   stops paying above 1 - 3^(-1/3) ~ 30.7 % (pools of 3 are the last);
 * - seed 001: a county needing 13,000 single tests a day, or 130,000
 *   persons a day at 10-in-1.
 * A brute-force search written here (repeated multiplication, no pow, no
 * expm1) cross-checks every pool size over a grid of prevalences.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "testing/testing.h"

#include "lib/banned.h"

/* E(k,p) the long way: (1-p)^k by k multiplications. */
static double e_ref(int k, double p)
{
	if (k == 1)
		return 1.0;
	double q = 1.0;
	for (int i = 0; i < k; i++)
		q *= 1.0 - p;
	return 1.0 / k + 1.0 - q;
}

static int best_ref(double p, int kmax)
{
	int best = 1;
	for (int k = 2; k <= kmax; k++)
		if (e_ref(k, p) < e_ref(best, p))
			best = k;
	return best;
}

static const struct {
	double p;
	int k;
	double e, tol; /* published tests per person and its rounding */
} published[] = {
	{0.01, 11, 0.196, 0.0005},
	{0.02, 8, 0.274, 0.0005},
	{0.05, 5, 0.426, 0.0005},
	{0.10, 4, 0.594, 0.0005},
};

Test(plan, dorfman_published_optima)
{
	for (size_t i = 0; i < sizeof(published) / sizeof(published[0]); i++) {
		double p = published[i].p;
		cr_expect_eq(dorfman_best_pool(p, 64), published[i].k, "p = %g: best pool %d, want %d",
			     p, dorfman_best_pool(p, 64), published[i].k);
		double e = dorfman_tests_per_person(published[i].k, p);
		cr_expect(fabs(e - published[i].e) <= published[i].tol,
			  "p = %g, k = %d: E = %.6f, published %.3f", p, published[i].k, e,
			  published[i].e);
	}
}

Test(plan, hanel_thurner_persons_per_test)
{
	cr_expect_eq(dorfman_best_pool(0.01, 64), 11);
	double ppt = 1.0 / dorfman_tests_per_person(11, 0.01);
	cr_expect(fabs(ppt - 5.11) <= 0.005, "p = 1 %%: %.4f persons per test, published 5.11", ppt);
	cr_expect_eq(dorfman_best_pool(0.001, 64), 32);
	ppt = 1.0 / dorfman_tests_per_person(32, 0.001);
	cr_expect(fabs(ppt - 15.9) <= 0.05, "p = 0.1 %%: %.4f persons per test, published 15.9", ppt);
	/* the search is bounded: a kmax below the optimum answers kmax */
	cr_expect_eq(dorfman_best_pool(0.001, 20), 20);
	cr_expect_eq(dorfman_best_pool(0.001, 1), 1);
}

Test(plan, pool_of_ten_stops_paying_near_20_6_percent)
{
	cr_expect(dorfman_tests_per_person(10, 0.205) < 1.0);
	cr_expect(dorfman_tests_per_person(10, 0.207) > 1.0);
	/* pooling of any size: pools of 3 are the last to pay, up to 30.7 % */
	cr_expect_eq(dorfman_best_pool(0.30, 64), 3);
	cr_expect_eq(dorfman_best_pool(0.31, 64), 1);
	cr_expect(dorfman_tests_per_person(3, 0.306) < 1.0);
	cr_expect(dorfman_tests_per_person(3, 0.308) > 1.0);
}

Test(plan, single_tubes_and_edges)
{
	cr_expect_eq(dorfman_tests_per_person(1, 0.01), 1.0);
	cr_expect_eq(dorfman_tests_per_person(1, 0.5), 1.0);
	/* at negligible prevalence a pool of k costs 1/k tests a person, and
	 * the retests (k p) are not lost to rounding */
	double e = dorfman_tests_per_person(10, 1e-12);
	cr_expect(fabs((e - 0.1) / 1e-11 - 1.0) < 1e-3, "E(10, 1e-12) - 0.1 = %.6g, want 1e-11",
		  e - 0.1);
	/* ties go to the smaller pool; at p = 0 the largest pool wins */
	cr_expect_eq(dorfman_best_pool(0.0, 64), 64);
	cr_expect_eq(dorfman_best_pool(0.9, 64), 1);
}

Test(plan, brute_force_agrees)
{
	for (int i = 1; i <= 3000; i++) {
		double p = i * 0.0001; /* 0.01 % .. 30 % */
		for (int k = 1; k <= 64; k++) {
			double a = dorfman_tests_per_person(k, p), b = e_ref(k, p);
			cr_assert(fabs(a - b) <= 1e-12, "E(%d, %g) = %.15f, by hand %.15f", k, p, a, b);
		}
		cr_assert_eq(dorfman_best_pool(p, 64), best_ref(p, 64), "p = %g", p);
	}
}

Test(plan, seed_001_county)
{
	/* 13,000 tests a day at 10-in-1 and negligible prevalence cover
	 * 130,000 persons a day; single tubes cover 13,000 */
	double p = 1e-5;
	double persons10 = 13000.0 / dorfman_tests_per_person(10, p);
	cr_expect(fabs(persons10 - 130000.0) / 130000.0 < 0.002, "10-in-1: %.0f persons a day",
		  persons10);
	cr_expect_eq(13000.0 / dorfman_tests_per_person(1, p), 13000.0);
	/* and the other way: 130,000 persons a day need about 13,000 tests */
	double tests = 130000.0 * dorfman_tests_per_person(10, p);
	cr_expect(tests >= 13000.0 && tests < 13000.0 * 1.002, "%.1f tests a day", tests);
}
