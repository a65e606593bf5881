/* Suite "rules": the colour engine (hc_evaluate) against its rule table.
 *
 * Expected answers come from the rule table in the header comment of
 * healthcode/healthcode.h and the fact fields of healthcode/facts.h, with
 * every number taken from the shipped policy files as loaded (close:
 * exposure + close.days days, and so on), so the same test checks each
 * edition's own numbers.  Nothing here is computed the way rules.c
 * computes it: each case writes its interval down from the table.
 *
 * Every rule, under each of policy/protocol-8.ini, protocol-9.ini and
 * protocol-9-20.ini, is probed at its boundary times: one second before
 * its start (absent; the colour changes next at start), at start (present
 * with its interval and colour; the next change no later than its end),
 * one second before its end (present) and at its end (absent).  Then the
 * interactions the table defines: order cover ending a close contact's
 * rule, the retest that ends a pool rule, periodic intervals, the arrival
 * look-back, residents by region prefix, overrides, most severe first.
 *
 * The unit binary runs from the repository root (tests/run.sh), so the
 * shipped files are read as policy/NAME.ini.
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healthcode/facts.h"
#include "healthcode/healthcode.h"
#include "policy/policy.h"
#include "tracing/tracing.h"

#include "lib/banned.h"

#define DAY INT64_C(86400)
#define HOUR INT64_C(3600)
/* 2022-06-01 00:00 +08:00 */
#define T0 INT64_C(1654012800)
/* boundary(): do not check hit.fact */
#define ANY_FACT (SIZE_MAX - 1)

/* grids and towns of 安康市 (region codes are prefixes of what they contain) */
#define GRID "610902001001001"
#define GRID_NEXT "610902001001002"
#define TOWN "610902001"
#define TOWN_NEXT "610902002"
#define FAR_GRID "610981001001001" /* another county: in none of the areas below */

static void load(const char *name, struct policy *p)
{
	char path[128];
	struct fk_err err = {0};
	snprintf(path, sizeof(path), "policy/%s.ini", name);
	memset(p, 0, sizeof(*p));
	enum fk_status st = policy_load(path, p, NULL, NULL, NULL, &err);
	cr_assert_eq(st, FK_OK, "cannot load shipped policy '%s': %s", path, err.msg);
	cr_assert_str_eq(p->name, name, "%s: name", path);
}

/* ---- fixtures: one person's facts and the risk areas, built by hand ---- */

struct fx {
	struct hc_facts f;
	struct hc_areas a;
};

static void fx_init(struct fx *x, const char *grid, const char *occupation)
{
	hc_facts_init(&x->f, 42);
	snprintf(x->f.grid, sizeof(x->f.grid), "%s", grid);
	snprintf(x->f.occupation, sizeof(x->f.occupation), "%s", occupation);
	memset(&x->a, 0, sizeof(x->a));
}

static void fx_release(struct fx *x)
{
	hc_facts_release(&x->f);
	hc_areas_release(&x->a);
}

static struct hc_fact *fact(struct fx *x, enum hc_fact_kind kind, int64_t start, int64_t end)
{
	struct hc_fact *f = hc_facts_add(&x->f, kind);
	cr_assert_not_null(f);
	f->start = start;
	f->end = end;
	f->ref = (int64_t)x->f.n;
	snprintf(f->text, sizeof(f->text), "fact %zu", x->f.n);
	return f;
}

static void test_fact(struct fx *x, enum test_result res, bool pooled, int64_t sampled,
		      int64_t resulted)
{
	struct hc_fact *t = fact(x, FACT_TEST, resulted, HC_NEVER);
	t->t0 = sampled;
	t->level = (uint8_t)res;
	t->flags = pooled ? FACT_POOLED : 0;
}

static void contact(struct fx *x, int degree, int64_t exposure, int64_t found)
{
	struct hc_fact *c = fact(x, FACT_CONTACT, found, HC_NEVER);
	c->level = (uint8_t)degree;
	c->t0 = exposure;
	c->t1 = degree == 2 ? 77 : 0;
}

static void order(struct fx *x, enum order_kind k, int64_t start, int64_t end)
{
	fact(x, FACT_ORDER, start, end)->level = (uint8_t)k;
}

static void arrival(struct fx *x, const char *origin, int64_t arrived)
{
	struct hc_fact *a = fact(x, FACT_ARRIVAL, arrived, HC_NEVER);
	snprintf(a->region, sizeof(a->region), "%s", origin);
}

static void override(struct fx *x, enum colour c, int64_t start, int64_t end)
{
	fact(x, FACT_OVERRIDE, start, end)->level = (uint8_t)c;
}

static const struct hc_area *area(struct fx *x, const char *region, enum risk_level l,
				  int64_t start, int64_t end)
{
	struct hc_areas *a = &x->a;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 4;
		struct hc_area *v = realloc(a->v, cap * sizeof(*v));
		cr_assert_not_null(v);
		a->v = v;
		a->cap = cap;
	}
	struct hc_area *r = &a->v[a->n++];
	memset(r, 0, sizeof(*r));
	r->id = 1000 + (int64_t)a->n;
	snprintf(r->region, sizeof(r->region), "%s", region);
	r->level = (uint8_t)l;
	r->start = start;
	r->end = end;
	return r;
}

/* ---- evaluation with the invariants every answer keeps ---- */

static const char *rel(int64_t t, char *buf, size_t size)
{
	if (t == INT64_MIN)
		snprintf(buf, size, "-inf");
	else if (t == HC_NEVER)
		snprintf(buf, size, "never");
	else {
		int64_t d = t - T0, s = d < 0 ? -d : d;
		snprintf(buf, size, "T0%c%" PRId64 "d%+" PRId64 "s", d < 0 ? '-' : '+', s / DAY,
			 (d < 0 ? -1 : 1) * (s % DAY));
	}
	return buf;
}

static enum colour cmax(enum colour a, enum colour b)
{
	return a > b ? a : b;
}

static void eval(const struct policy *p, const struct fx *x, int64_t at, struct hc_result *r,
		 const char *what)
{
	char b[40];
	memset(r, 0x5a, sizeof(*r));
	hc_evaluate(p, &x->f, &x->a, at, r);
	rel(at, b, sizeof(b));
	cr_expect_eq(r->at, at, "%s %s at %s: result.at", p->name, what, b);
	cr_assert_leq(r->nhits, (size_t)HC_MAX_HITS, "%s %s at %s: nhits", p->name, what, b);
	cr_expect_str_eq(r->policy_version, p->version, "%s %s at %s: policy_version", p->name,
			 what, b);
	/* colour = most severe active rule (green when none); hits most severe
	 * first; an override replaces the colour and is shown as such */
	enum colour computed = COLOUR_GREEN;
	int prev = COLOUR_RED + 1;
	for (size_t i = 0; i < r->nhits; i++) {
		const struct hc_hit *h = &r->hits[i];
		cr_expect_lt(h->rule, HC_RULE_COUNT, "%s %s at %s: hit %zu rule", p->name, what, b,
			     i);
		if (h->rule == HC_RULE_OVERRIDE)
			continue;
		cr_expect(h->start <= at && at < h->end,
			  "%s %s at %s: hit %zu (%s) is active at `at`", p->name, what, b, i,
			  hc_rule_name(h->rule));
		cr_expect_leq((int)h->colour, prev,
			      "%s %s at %s: hits most severe first (hit %zu %s %s)", p->name, what,
			      b, i, hc_rule_name(h->rule), colour_name(h->colour));
		prev = (int)h->colour;
		computed = cmax(computed, h->colour);
	}
	if (!r->truncated)
		cr_expect_eq(r->computed, computed, "%s %s at %s: computed %s, want %s", p->name,
			     what, b, colour_name(r->computed), colour_name(computed));
	else /* rules beyond the hits shown still count */
		cr_expect_geq(r->computed, computed, "%s %s at %s: computed %s below %s", p->name,
			      what, b, colour_name(r->computed), colour_name(computed));
	if (!r->overridden)
		cr_expect_eq(r->colour, r->computed, "%s %s at %s: colour without override",
			     p->name, what, b);
	cr_expect_gt(r->next_change, at, "%s %s at %s: next_change after `at`", p->name, what,
		     b);
}

static const struct hc_hit *hit_of(const struct hc_result *r, enum hc_rule rule)
{
	for (size_t i = 0; i < r->nhits; i++)
		if (r->hits[i].rule == rule)
			return &r->hits[i];
	return NULL;
}

/* The rule is absent at `at` and the colour is `base` (the colour the
 * fixture has without this rule). */
static void expect_absent(const struct policy *p, const struct fx *x, int64_t at,
			  enum hc_rule rule, enum colour base, const char *what)
{
	char b[40];
	struct hc_result r;
	eval(p, x, at, &r, what);
	rel(at, b, sizeof(b));
	cr_expect_null(hit_of(&r, rule), "%s %s at %s: rule '%s' must not be active", p->name,
		       what, b, hc_rule_name(rule));
	cr_expect_eq(r.colour, base, "%s %s at %s: colour %s, want %s", p->name, what, b,
		     colour_name(r.colour), colour_name(base));
}

/* The rule is active at `at` with interval [start, end) and colour c;
 * the result's colour is max(base, c).  Returns the result's next_change. */
static int64_t expect_active(const struct policy *p, const struct fx *x, int64_t at,
			     enum hc_rule rule, enum colour c, enum colour base, int64_t start,
			     int64_t end, size_t fact_ix, const char *what)
{
	char b[40], s1[40], s2[40], e1[40], e2[40];
	struct hc_result r;
	eval(p, x, at, &r, what);
	rel(at, b, sizeof(b));
	const struct hc_hit *h = hit_of(&r, rule);
	cr_expect_not_null(h, "%s %s at %s: rule '%s' must be active (colour %s, %zu hits)",
			   p->name, what, b, hc_rule_name(rule), colour_name(r.colour), r.nhits);
	if (h) {
		cr_expect(h->start == start && h->end == end,
			  "%s %s at %s: '%s' interval [%s, %s), want [%s, %s)", p->name, what, b,
			  hc_rule_name(rule), rel(h->start, s1, sizeof(s1)),
			  rel(h->end, e1, sizeof(e1)), rel(start, s2, sizeof(s2)),
			  rel(end, e2, sizeof(e2)));
		cr_expect_eq(h->colour, c, "%s %s at %s: '%s' colour %s, want %s", p->name, what,
			     b, hc_rule_name(rule), colour_name(h->colour), colour_name(c));
		if (fact_ix != ANY_FACT)
			cr_expect_eq(h->fact, fact_ix, "%s %s at %s: '%s' evidence fact %zu, want %zu",
				     p->name, what, b, hc_rule_name(rule), h->fact, fact_ix);
	}
	cr_expect_eq(r.colour, cmax(base, c), "%s %s at %s: colour %s, want %s", p->name, what,
		     b, colour_name(r.colour), colour_name(cmax(base, c)));
	return r.next_change;
}

/* The four boundary probes of one rule with interval [start, end) and
 * colour c, on a fixture whose colour without it is b_before at start - 1,
 * b_in from start to end - 1 and b_after at end. */
static void boundary3(const struct policy *p, const struct fx *x, enum hc_rule rule,
		      enum colour c, enum colour b_before, enum colour b_in, enum colour b_after,
		      int64_t start, int64_t end, size_t fact_ix, const char *what)
{
	char b[40], e[40];
	cr_assert_lt(start, end, "%s %s: the fixture gives an empty interval", p->name, what);
	if (start != INT64_MIN) {
		expect_absent(p, x, start - 1, rule, b_before, what);
		struct hc_result r;
		eval(p, x, start - 1, &r, what);
		if (cmax(b_in, c) != b_before)
			cr_expect_eq(r.next_change, start,
				     "%s %s at start-1: next_change %s, want the rule's start %s",
				     p->name, what, rel(r.next_change, b, sizeof(b)),
				     rel(start, e, sizeof(e)));
		else
			cr_expect_leq(r.next_change, start, "%s %s at start-1: next_change", p->name,
				      what);
		int64_t nc = expect_active(p, x, start, rule, c, b_in, start, end, fact_ix, what);
		cr_expect(nc > start && nc <= end,
			  "%s %s at start: next_change %s, want in (start, end = %s]", p->name, what,
			  rel(nc, b, sizeof(b)), rel(end, e, sizeof(e)));
	}
	if (end != HC_NEVER) {
		int64_t nc = expect_active(p, x, end - 1, rule, c, b_in, start, end, fact_ix, what);
		if (cmax(b_in, c) != b_after)
			cr_expect_eq(nc, end, "%s %s at end-1: next_change %s, want the rule's end %s",
				     p->name, what, rel(nc, b, sizeof(b)), rel(end, e, sizeof(e)));
		else
			cr_expect_leq(nc, end, "%s %s at end-1: next_change", p->name, what);
		expect_absent(p, x, end, rule, b_after, what);
	} else {
		expect_active(p, x, start + 400 * DAY, rule, c, b_in, start, end, fact_ix, what);
	}
}

static void boundary(const struct policy *p, const struct fx *x, enum hc_rule rule,
		     enum colour c, enum colour base, int64_t start, int64_t end, size_t fact_ix,
		     const char *what)
{
	boundary3(p, x, rule, c, base, base, base, start, end, fact_ix, what);
}

/* ---- every rule at its boundaries ---- */

static void rule_case(const struct policy *p)
{
	struct fx x;
	fx_init(&x, FAR_GRID, "");
	fact(&x, FACT_CASE, T0 + 5 * HOUR, T0 + 20 * DAY + 7)->level = CASE_CONFIRMED;
	x.f.v[0].t0 = T0 - 2 * DAY;
	boundary(p, &x, HC_RULE_CASE, p->colour_case, COLOUR_GREEN, T0 + 5 * HOUR,
		 T0 + 20 * DAY + 7, 0, "confirmed case");
	fx_release(&x);

	fx_init(&x, FAR_GRID, "");
	fact(&x, FACT_CASE, T0, HC_NEVER)->level = CASE_ASYMPTOMATIC;
	boundary(p, &x, HC_RULE_CASE, p->colour_case, COLOUR_GREEN, T0, HC_NEVER, 0,
		 "asymptomatic case under treatment");
	fx_release(&x);
}

static void rule_order_isolation(const struct policy *p)
{
	struct fx x;
	fx_init(&x, FAR_GRID, "");
	int64_t end = T0 + 3 * HOUR + p->close.days * DAY;
	order(&x, ORDER_CENTRAL, T0 + 3 * HOUR, end);
	boundary(p, &x, HC_RULE_ORDER, p->colour_isolation, COLOUR_GREEN, T0 + 3 * HOUR, end, 0,
		 "central isolation order");
	fx_release(&x);

	fx_init(&x, FAR_GRID, "");
	order(&x, ORDER_HOME_ISOLATION, T0 + DAY, T0 + 8 * DAY);
	boundary(p, &x, HC_RULE_ORDER, p->colour_isolation, COLOUR_GREEN, T0 + DAY, T0 + 8 * DAY,
		 0, "home isolation order");
	fx_release(&x);
}

static void rule_order_monitoring(const struct policy *p)
{
	struct fx x;
	fx_init(&x, FAR_GRID, "");
	int days = p->close.then_days > 0 ? p->close.then_days : 3;
	order(&x, ORDER_HOME_MONITORING, T0 + DAY, T0 + DAY + days * DAY);
	boundary(p, &x, HC_RULE_ORDER, p->colour_home_monitoring, COLOUR_GREEN, T0 + DAY,
		 T0 + DAY + days * DAY, 0, "home monitoring order");
	fx_release(&x);
}

static void rule_close(const struct policy *p)
{
	struct fx x;
	cr_assert_gt(p->close.days, 1, "%s: close.days", p->name);
	int64_t exposure = T0, found = T0 + DAY + 7 * HOUR;
	int64_t end = exposure + p->close.days * DAY;
	fx_init(&x, FAR_GRID, "");
	contact(&x, 1, exposure, found);
	boundary(p, &x, HC_RULE_CLOSE, p->colour_close, COLOUR_GREEN, found, end, 0,
		 "close contact");
	fx_release(&x);

	/* found only once its days were over: no rule at all */
	fx_init(&x, FAR_GRID, "");
	contact(&x, 1, exposure, end);
	expect_absent(p, &x, end, HC_RULE_CLOSE, COLOUR_GREEN, "close contact found too late");
	expect_absent(p, &x, end + DAY, HC_RULE_CLOSE, COLOUR_GREEN,
		      "close contact found too late");
	fx_release(&x);
}

static void rule_secondary(const struct policy *p)
{
	struct fx x;
	int64_t exposure = T0, found = T0 + 2 * DAY + 1;
	fx_init(&x, FAR_GRID, "");
	contact(&x, 2, exposure, found);
	if (p->secondary_contacts) {
		cr_assert_gt(p->secondary.days, 2, "%s: secondary.days", p->name);
		boundary(p, &x, HC_RULE_SECONDARY, p->colour_secondary, COLOUR_GREEN, found,
			 exposure + p->secondary.days * DAY, 0, "secondary contact");
	} else {
		/* the policy does not identify secondary contacts: never a rule */
		int64_t at[] = {found - 1, found, found + 1, found + DAY, found + 20 * DAY};
		for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
			expect_absent(p, &x, at[i], HC_RULE_SECONDARY, COLOUR_GREEN,
				      "secondary contact (not identified)");
	}
	fx_release(&x);
}

static void rule_fever(const struct policy *p)
{
	struct fx x;
	fx_init(&x, FAR_GRID, "");
	fact(&x, FACT_FEVER, T0 + 5 * HOUR, T0 + 2 * DAY + 3 * HOUR);
	boundary(p, &x, HC_RULE_FEVER, p->colour_fever, COLOUR_GREEN, T0 + 5 * HOUR,
		 T0 + 2 * DAY + 3 * HOUR, 0, "fever cleared");
	fx_release(&x);

	fx_init(&x, FAR_GRID, "");
	fact(&x, FACT_FEVER, T0, HC_NEVER);
	boundary(p, &x, HC_RULE_FEVER, p->colour_fever, COLOUR_GREEN, T0, HC_NEVER, 0,
		 "fever not cleared");
	fx_release(&x);
}

static void rule_pool(const struct policy *p)
{
	struct fx x;
	fx_init(&x, FAR_GRID, "");
	test_fact(&x, TEST_POOL_POSITIVE, true, T0 + 8 * HOUR, T0 + 20 * HOUR);
	test_fact(&x, TEST_NEGATIVE, false, T0 + 22 * HOUR, T0 + 30 * HOUR);
	boundary(p, &x, HC_RULE_POOL, p->colour_pool_positive, COLOUR_GREEN, T0 + 20 * HOUR,
		 T0 + 30 * HOUR, 0, "pool positive, negative retest");
	fx_release(&x);

	fx_init(&x, FAR_GRID, "");
	test_fact(&x, TEST_POOL_POSITIVE, true, T0 + 8 * HOUR, T0 + 20 * HOUR);
	boundary(p, &x, HC_RULE_POOL, p->colour_pool_positive, COLOUR_GREEN, T0 + 20 * HOUR,
		 HC_NEVER, 0, "pool positive, no retest");
	fx_release(&x);
}

static void rule_arrival(const struct policy *p, enum risk_level l)
{
	struct fx x;
	const char *what = l == RISK_HIGH ? "arrival from a high-risk area"
					  : "arrival from a medium-risk area";
	int days = l == RISK_HIGH ? p->arrival_high.days : p->arrival_medium.days;
	enum colour c = l == RISK_HIGH ? p->colour_arrival_high : p->colour_arrival_medium;
	bool applies = days > 0 && (l == RISK_HIGH || p->medium_level);
	int64_t arrived = T0 + 2 * DAY + 5 * HOUR;
	fx_init(&x, FAR_GRID, "");
	area(&x, "610902", l, T0 - 20 * DAY, HC_NEVER);
	arrival(&x, TOWN, arrived);
	if (applies) {
		boundary(p, &x, HC_RULE_ARRIVAL, c, COLOUR_GREEN, arrived, arrived + days * DAY, 0,
			 what);
		struct hc_result r;
		eval(p, &x, arrived, &r, what);
		const struct hc_hit *h = hit_of(&r, HC_RULE_ARRIVAL);
		if (h)
			cr_expect(h->area && h->area->id == x.a.v[0].id,
				  "%s %s: the hit names the origin's risk area", p->name, what);
	} else {
		int64_t at[] = {arrived - 1, arrived, arrived + 1, arrived + 3 * DAY};
		for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
			expect_absent(p, &x, at[i], HC_RULE_ARRIVAL, COLOUR_GREEN, what);
	}
	fx_release(&x);
}

static void rule_periodic(const struct policy *p)
{
	cr_assert_gt(p->nperiodic, 0, "%s: no key occupation in [periodic]", p->name);
	for (int i = 0; i < p->nperiodic; i++) {
		const char *occ = p->periodic[i].occupation;
		int64_t n = p->periodic[i].days * DAY;
		enum colour c = p->colour_periodic_overdue;
		char what[96];
		cr_assert_gt(n, 0, "%s: periodic %s days", p->name, occ);
		struct fx x;
		int64_t t1 = T0, t2 = T0 + n + 4 * DAY + 11;
		fx_init(&x, FAR_GRID, occ);
		test_fact(&x, TEST_NEGATIVE, false, t1, t1 + 9 * HOUR);
		test_fact(&x, TEST_NEGATIVE, false, t2, t2 + 9 * HOUR);
		/* before the first test: [INT64_MIN, t1) */
		snprintf(what, sizeof(what), "periodic %s before the first test", occ);
		int64_t nc = expect_active(p, &x, t1 - 1, HC_RULE_PERIODIC, c, COLOUR_GREEN,
					   INT64_MIN, t1, ANY_FACT, what);
		if (c > COLOUR_GREEN)
			cr_expect_eq(nc, t1, "%s %s: next_change at the first test", p->name, what);
		expect_absent(p, &x, t1, HC_RULE_PERIODIC, COLOUR_GREEN, what);
		/* overdue between the tests: [t1 + n, t2) */
		snprintf(what, sizeof(what), "periodic %s overdue between tests", occ);
		boundary(p, &x, HC_RULE_PERIODIC, c, COLOUR_GREEN, t1 + n, t2, ANY_FACT, what);
		/* after the last test: [t2 + n, never) */
		snprintf(what, sizeof(what), "periodic %s after the last test", occ);
		boundary(p, &x, HC_RULE_PERIODIC, c, COLOUR_GREEN, t2 + n, HC_NEVER, ANY_FACT,
			 what);
		fx_release(&x);
	}
}

static void rule_resident(const struct policy *p, enum risk_level l)
{
	struct fx x;
	const char *what = l == RISK_HIGH ? "resident of a high-risk town"
					  : "resident of a medium-risk town";
	enum colour c = l == RISK_HIGH ? p->colour_resident_high : p->colour_resident_medium;
	bool applies = l == RISK_HIGH || p->medium_level;
	int64_t s = T0 + DAY + 3, e = T0 + 9 * DAY + 5;
	fx_init(&x, GRID, "");
	area(&x, TOWN, l, s, e);
	if (applies) {
		boundary(p, &x, HC_RULE_RESIDENT, c, COLOUR_GREEN, s, e, ANY_FACT, what);
		struct hc_result r;
		eval(p, &x, s, &r, what);
		const struct hc_hit *h = hit_of(&r, HC_RULE_RESIDENT);
		if (h)
			cr_expect(h->area && h->area->id == x.a.v[0].id,
				  "%s %s: the hit names the risk area", p->name, what);
	} else {
		int64_t at[] = {s - 1, s, e - 1, e};
		for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
			expect_absent(p, &x, at[i], HC_RULE_RESIDENT, COLOUR_GREEN, what);
	}
	fx_release(&x);
}

/* An override alone gives its colour over the rules' green, and over a
 * case's red a green override decides while it lasts. */
static void rule_override(const struct policy *p)
{
	char b[40];
	struct fx x;
	struct hc_result r;
	int64_t s = T0 + DAY + 17, e = T0 + 3 * DAY + 1;

	/* over a case: green replaces red from s to e */
	fx_init(&x, FAR_GRID, "");
	fact(&x, FACT_CASE, T0, HC_NEVER)->level = CASE_CONFIRMED;
	override(&x, COLOUR_GREEN, s, e);
	const char *what = "green override over a case";
	int64_t probes[] = {s - 1, s, e - 1, e};
	for (size_t i = 0; i < 4; i++) {
		int64_t at = probes[i];
		bool on = at >= s && at < e;
		eval(p, &x, at, &r, what);
		rel(at, b, sizeof(b));
		cr_expect_eq(r.overridden, on, "%s %s at %s: overridden", p->name, what, b);
		cr_expect_eq(r.colour, on ? COLOUR_GREEN : p->colour_case,
			     "%s %s at %s: colour %s", p->name, what, b, colour_name(r.colour));
		cr_expect_eq(r.computed, p->colour_case, "%s %s at %s: computed %s", p->name, what,
			     b, colour_name(r.computed));
		cr_expect_not_null(hit_of(&r, HC_RULE_CASE), "%s %s at %s: the case is still shown",
				   p->name, what, b);
		const struct hc_hit *h = hit_of(&r, HC_RULE_OVERRIDE);
		if (on) {
			cr_expect_not_null(h, "%s %s at %s: the override is among the hits",
					   p->name, what, b);
			if (h)
				cr_expect(h->start == s && h->end == e && h->colour == COLOUR_GREEN &&
						  h->fact == 1,
					  "%s %s at %s: override hit [%" PRId64 ", %" PRId64 ") %s",
					  p->name, what, b, h->start - T0, h->end - T0,
					  colour_name(h->colour));
		} else {
			cr_expect_null(h, "%s %s at %s: no override hit", p->name, what, b);
		}
		if (at == s - 1)
			cr_expect_eq(r.next_change, s, "%s %s at s-1: next_change = override start",
				     p->name, what);
		if (at == s)
			cr_expect(r.next_change > s && r.next_change <= e,
				  "%s %s at s: next_change within the override", p->name, what);
		if (at == e - 1)
			cr_expect_eq(r.next_change, e, "%s %s at e-1: next_change = override end",
				     p->name, what);
	}
	fx_release(&x);

	/* alone: red over green rules */
	fx_init(&x, FAR_GRID, "");
	override(&x, COLOUR_RED, s, e);
	what = "red override alone";
	for (size_t i = 0; i < 4; i++) {
		int64_t at = probes[i];
		bool on = at >= s && at < e;
		eval(p, &x, at, &r, what);
		rel(at, b, sizeof(b));
		cr_expect_eq(r.overridden, on, "%s %s at %s: overridden", p->name, what, b);
		cr_expect_eq(r.colour, on ? COLOUR_RED : COLOUR_GREEN, "%s %s at %s: colour %s",
			     p->name, what, b, colour_name(r.colour));
		cr_expect_eq(r.computed, COLOUR_GREEN, "%s %s at %s: computed", p->name, what, b);
		cr_expect_eq(hit_of(&r, HC_RULE_OVERRIDE) != NULL, on,
			     "%s %s at %s: override among the hits iff active", p->name, what, b);
	}
	fx_release(&x);
}

#define EDITION_TESTS(fn)                                                                      \
	Test(rules, fn##_protocol_8)                                                           \
	{                                                                                      \
		struct policy p;                                                               \
		load("protocol-8", &p);                                                        \
		fn(&p);                                                                        \
	}                                                                                      \
	Test(rules, fn##_protocol_9)                                                           \
	{                                                                                      \
		struct policy p;                                                               \
		load("protocol-9", &p);                                                        \
		fn(&p);                                                                        \
	}                                                                                      \
	Test(rules, fn##_protocol_9_20)                                                        \
	{                                                                                      \
		struct policy p;                                                               \
		load("protocol-9-20", &p);                                                     \
		fn(&p);                                                                        \
	}

static void rule_arrival_high(const struct policy *p)
{
	rule_arrival(p, RISK_HIGH);
}
static void rule_arrival_medium(const struct policy *p)
{
	rule_arrival(p, RISK_MEDIUM);
}
static void rule_resident_high(const struct policy *p)
{
	rule_resident(p, RISK_HIGH);
}
static void rule_resident_medium(const struct policy *p)
{
	rule_resident(p, RISK_MEDIUM);
}

EDITION_TESTS(rule_case)
EDITION_TESTS(rule_order_isolation)
EDITION_TESTS(rule_order_monitoring)
EDITION_TESTS(rule_close)
EDITION_TESTS(rule_secondary)
EDITION_TESTS(rule_fever)
EDITION_TESTS(rule_pool)
EDITION_TESTS(rule_arrival_high)
EDITION_TESTS(rule_arrival_medium)
EDITION_TESTS(rule_periodic)
EDITION_TESTS(rule_resident_high)
EDITION_TESTS(rule_resident_medium)
EDITION_TESTS(rule_override)

/* ---- interactions ---- */

/* Order cover: a close contact's rule ends when an order covers them. */
static void close_and_orders(const struct policy *p)
{
	struct fx x;
	int64_t exposure = T0, found = T0 + DAY, natural = exposure + p->close.days * DAY;
	cr_assert_gt(natural, T0 + 2 * DAY, "%s: close.days", p->name);

	/* an order starting after the contact was found ends the rule at its start */
	fx_init(&x, FAR_GRID, "");
	contact(&x, 1, exposure, found);
	order(&x, ORDER_CENTRAL, T0 + 2 * DAY, T0 + 2 * DAY + p->close.days * DAY);
	boundary3(p, &x, HC_RULE_CLOSE, p->colour_close, COLOUR_GREEN, COLOUR_GREEN,
		  p->colour_isolation, found, T0 + 2 * DAY, 0, "close contact, then an order");
	expect_active(p, &x, T0 + 2 * DAY, HC_RULE_ORDER, p->colour_isolation, COLOUR_GREEN,
		      T0 + 2 * DAY, T0 + 2 * DAY + p->close.days * DAY, 1,
		      "close contact, then an order");
	fx_release(&x);

	/* of two later orders the earliest start ends it, whatever their order */
	fx_init(&x, FAR_GRID, "");
	order(&x, ORDER_HOME_ISOLATION, T0 + 2 * DAY + 5 * HOUR, T0 + 9 * DAY);
	contact(&x, 1, exposure, found);
	order(&x, ORDER_CENTRAL, T0 + 2 * DAY, T0 + 2 * DAY + 3 * HOUR);
	boundary3(p, &x, HC_RULE_CLOSE, p->colour_close, COLOUR_GREEN, COLOUR_GREEN,
		  p->colour_isolation, found, T0 + 2 * DAY, 1, "close contact, two later orders");
	fx_release(&x);

	/* an order already covering when found: no close rule at all */
	fx_init(&x, FAR_GRID, "");
	order(&x, ORDER_CENTRAL, T0 + 12 * HOUR, T0 + 12 * HOUR + p->close.days * DAY);
	contact(&x, 1, exposure, found);
	{
		int64_t at[] = {found - 1, found, found + 1, found + DAY, natural - 1};
		for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
			expect_absent(p, &x, at[i], HC_RULE_CLOSE, p->colour_isolation,
				      "close contact found under an order");
	}
	fx_release(&x);

	/* an order that ended before the contact was found covers nothing */
	fx_init(&x, FAR_GRID, "");
	order(&x, ORDER_CENTRAL, T0 - 5 * DAY, T0 + 12 * HOUR);
	contact(&x, 1, exposure, found);
	boundary(p, &x, HC_RULE_CLOSE, p->colour_close, COLOUR_GREEN, found, natural, 1,
		 "close contact after an ended order");
	fx_release(&x);

	/* an order ending exactly when the contact is found (o.end > s fails) */
	fx_init(&x, FAR_GRID, "");
	order(&x, ORDER_CENTRAL, T0 - 5 * DAY, found);
	contact(&x, 1, exposure, found);
	boundary3(p, &x, HC_RULE_CLOSE, p->colour_close, p->colour_isolation, COLOUR_GREEN,
		  COLOUR_GREEN, found, natural, 1, "close contact found as an order ends");
	fx_release(&x);

	/* an order starting after the close days are over does not shorten them */
	fx_init(&x, FAR_GRID, "");
	contact(&x, 1, exposure, found);
	order(&x, ORDER_CENTRAL, natural + DAY, natural + 8 * DAY);
	boundary(p, &x, HC_RULE_CLOSE, p->colour_close, COLOUR_GREEN, found, natural, 0,
		 "close contact, order after its days");
	fx_release(&x);

	/* the same cover for a secondary contact, when the policy has them */
	if (p->secondary_contacts) {
		fx_init(&x, FAR_GRID, "");
		contact(&x, 2, exposure, found);
		order(&x, ORDER_HOME_ISOLATION, T0 + 2 * DAY, T0 + 9 * DAY);
		boundary3(p, &x, HC_RULE_SECONDARY, p->colour_secondary, COLOUR_GREEN,
			  COLOUR_GREEN, p->colour_isolation, found, T0 + 2 * DAY, 0,
			  "secondary contact, then an order");
		fx_release(&x);
	}
}
EDITION_TESTS(close_and_orders)

/* "the person's orders": the table makes no exception for home monitoring */
static void close_cover_home_monitoring(const struct policy *p)
{
	struct fx x;
	int64_t exposure = T0, found = T0 + DAY;
	fx_init(&x, FAR_GRID, "");
	contact(&x, 1, exposure, found);
	order(&x, ORDER_HOME_MONITORING, T0 + 2 * DAY, T0 + 5 * DAY);
	boundary3(p, &x, HC_RULE_CLOSE, p->colour_close, COLOUR_GREEN, COLOUR_GREEN,
		  p->colour_home_monitoring, found, T0 + 2 * DAY, 0,
		  "close contact, then a home monitoring order");
	fx_release(&x);
}
EDITION_TESTS(close_cover_home_monitoring)

/* A pool rule ends at the result of a negative single-tube retest sampled
 * after the pooled sample, and at nothing else. */
static void pool_retests(const struct policy *p)
{
	struct fx x;
	enum colour c = p->colour_pool_positive;
	int64_t ps = T0 + 8 * HOUR, pr = T0 + 20 * HOUR;
	struct {
		enum test_result res;
		bool pooled;
		int64_t sampled;
		const char *what;
	} other[] = {
		{TEST_NEGATIVE, true, T0 + 22 * HOUR, "a pooled negative sampled after"},
		{TEST_NEGATIVE, false, T0 + 2 * HOUR, "a single negative sampled before"},
		{TEST_NEGATIVE, false, ps, "a single negative sampled with it"},
		{TEST_INVALID, false, T0 + 22 * HOUR, "an invalid single retest"},
		{TEST_POSITIVE, false, T0 + 22 * HOUR, "a positive single retest"},
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		char what[96];
		snprintf(what, sizeof(what), "pool positive, then %s", other[i].what);
		fx_init(&x, FAR_GRID, "");
		test_fact(&x, TEST_POOL_POSITIVE, true, ps, pr);
		test_fact(&x, other[i].res, other[i].pooled, other[i].sampled, T0 + 30 * HOUR);
		/* the first pool rule stays open-ended */
		expect_active(p, &x, T0 + 30 * HOUR, HC_RULE_POOL, c, COLOUR_GREEN, pr, HC_NEVER, 0,
			      what);
		expect_active(p, &x, T0 + 40 * DAY, HC_RULE_POOL, c, COLOUR_GREEN, pr, HC_NEVER, 0,
			      what);
		fx_release(&x);
	}

	/* a pooled negative, then a single negative retest: the retest ends it */
	fx_init(&x, FAR_GRID, "");
	test_fact(&x, TEST_NEGATIVE, false, T0 + 2 * HOUR, T0 + 21 * HOUR);
	test_fact(&x, TEST_POOL_POSITIVE, true, ps, pr);
	test_fact(&x, TEST_NEGATIVE, true, T0 + 22 * HOUR, T0 + 26 * HOUR);
	test_fact(&x, TEST_NEGATIVE, false, T0 + 23 * HOUR, T0 + 33 * HOUR);
	boundary(p, &x, HC_RULE_POOL, c, COLOUR_GREEN, pr, T0 + 33 * HOUR, 1,
		 "pool positive, pooled negative, single negative retest");
	fx_release(&x);
}
EDITION_TESTS(pool_retests)

/* Periodic tests: never tested means overdue since always; an invalid test
 * does not count; any other test does, pooled or not. */
static void periodic_details(const struct policy *p)
{
	cr_assert_gt(p->nperiodic, 0, "%s: no key occupation in [periodic]", p->name);
	const char *occ = p->periodic[0].occupation;
	int64_t n = p->periodic[0].days * DAY;
	enum colour c = p->colour_periodic_overdue;
	struct fx x;

	fx_init(&x, FAR_GRID, occ);
	expect_active(p, &x, T0, HC_RULE_PERIODIC, c, COLOUR_GREEN, INT64_MIN, HC_NEVER,
		      SIZE_MAX, "periodic, never tested");
	fx_release(&x);

	fx_init(&x, FAR_GRID, occ);
	test_fact(&x, TEST_INVALID, false, T0 - HOUR, T0);
	expect_active(p, &x, T0 + HOUR, HC_RULE_PERIODIC, c, COLOUR_GREEN, INT64_MIN, HC_NEVER,
		      SIZE_MAX, "periodic, only an invalid test");
	fx_release(&x);

	/* an invalid test inside an overdue interval neither ends nor splits it */
	int64_t t1 = T0, t2 = T0 + n + 6 * DAY;
	fx_init(&x, FAR_GRID, occ);
	test_fact(&x, TEST_NEGATIVE, false, t1, t1 + HOUR);
	test_fact(&x, TEST_INVALID, false, t1 + n + 2 * DAY, t1 + n + 2 * DAY + HOUR);
	test_fact(&x, TEST_NEGATIVE, false, t2, t2 + HOUR);
	boundary(p, &x, HC_RULE_PERIODIC, c, COLOUR_GREEN, t1 + n, t2, ANY_FACT,
		 "periodic, an invalid test while overdue");
	expect_active(p, &x, t1 + n + 2 * DAY + 2 * HOUR, HC_RULE_PERIODIC, c, COLOUR_GREEN,
		      t1 + n, t2, ANY_FACT, "periodic, just after the invalid test");
	fx_release(&x);

	/* a pooled negative counts as a test */
	fx_init(&x, FAR_GRID, occ);
	test_fact(&x, TEST_NEGATIVE, true, t1, t1 + HOUR);
	expect_absent(p, &x, t1 + n - 1, HC_RULE_PERIODIC, COLOUR_GREEN,
		      "periodic, a pooled negative");
	expect_active(p, &x, t1 + n, HC_RULE_PERIODIC, c, COLOUR_GREEN, t1 + n, HC_NEVER,
		      ANY_FACT, "periodic, a pooled negative");
	fx_release(&x);

	/* tests closer than the interval: never overdue between them */
	fx_init(&x, FAR_GRID, occ);
	test_fact(&x, TEST_NEGATIVE, false, t1, t1 + HOUR);
	test_fact(&x, TEST_NEGATIVE, false, t1 + n - 1, t1 + n + HOUR);
	expect_absent(p, &x, t1 + n, HC_RULE_PERIODIC, COLOUR_GREEN, "periodic, tests in time");
	boundary(p, &x, HC_RULE_PERIODIC, c, COLOUR_GREEN, t1 + 2 * n - 1, HC_NEVER, ANY_FACT,
		 "periodic, tests in time");
	fx_release(&x);

	/* an occupation not in [periodic]: never */
	fx_init(&x, FAR_GRID, "not_a_key_occupation");
	expect_absent(p, &x, T0, HC_RULE_PERIODIC, COLOUR_GREEN, "periodic, other occupation");
	fx_release(&x);
}
EDITION_TESTS(periodic_details)

/* Arrival look-back: the origin counts when it was a high-risk area at
 * some time in [arrived - d(lookback), arrived]. */
static void arrival_lookback(const struct policy *p)
{
	if (p->arrival_high.days <= 0) {
		cr_log_warn("%s: arrival_high.days is 0, no arrival rule to probe", p->name);
		return;
	}
	int64_t arrived = T0 + 10 * DAY + 5 * HOUR;
	int64_t from = arrived - p->arrival_lookback_days * DAY;
	int64_t end = arrived + p->arrival_high.days * DAY;
	enum colour c = p->colour_arrival_high;
	struct fx x;
	cr_assert_gt(p->arrival_lookback_days, 0, "%s: arrival_lookback_days", p->name);

	fx_init(&x, FAR_GRID, "");
	area(&x, "610902", RISK_HIGH, T0 - 30 * DAY, from + 1);
	arrival(&x, TOWN, arrived);
	boundary(p, &x, HC_RULE_ARRIVAL, c, COLOUR_GREEN, arrived, end, 0,
		 "arrival, origin ended within the look-back");
	fx_release(&x);

	fx_init(&x, FAR_GRID, "");
	area(&x, "610902", RISK_HIGH, T0 - 30 * DAY, from);
	arrival(&x, TOWN, arrived);
	expect_absent(p, &x, arrived, HC_RULE_ARRIVAL, COLOUR_GREEN,
		      "arrival, origin ended before the look-back");
	expect_absent(p, &x, arrived + DAY, HC_RULE_ARRIVAL, COLOUR_GREEN,
		      "arrival, origin ended before the look-back");
	fx_release(&x);

	fx_init(&x, FAR_GRID, "");
	area(&x, TOWN, RISK_HIGH, arrived, HC_NEVER);
	arrival(&x, TOWN "001", arrived);
	boundary(p, &x, HC_RULE_ARRIVAL, c, COLOUR_GREEN, arrived, end, 0,
		 "arrival, origin became high-risk as they arrived");
	fx_release(&x);

	fx_init(&x, FAR_GRID, "");
	area(&x, TOWN, RISK_HIGH, arrived + 1, HC_NEVER);
	arrival(&x, TOWN, arrived);
	expect_absent(p, &x, arrived + HOUR, HC_RULE_ARRIVAL, COLOUR_GREEN,
		      "arrival, origin became high-risk after they left");
	fx_release(&x);

	/* another town of the same county is not the area */
	fx_init(&x, FAR_GRID, "");
	area(&x, TOWN_NEXT, RISK_HIGH, T0, HC_NEVER);
	arrival(&x, TOWN, arrived);
	expect_absent(p, &x, arrived, HC_RULE_ARRIVAL, COLOUR_GREEN,
		      "arrival from the next town");
	fx_release(&x);

	/* medium and high areas over the origin: the high one decides */
	if (p->medium_level) {
		fx_init(&x, FAR_GRID, "");
		area(&x, "610902", RISK_MEDIUM, T0 - 30 * DAY, HC_NEVER);
		area(&x, TOWN, RISK_HIGH, T0 - 30 * DAY, HC_NEVER);
		arrival(&x, TOWN "001", arrived);
		expect_active(p, &x, arrived, HC_RULE_ARRIVAL, c, COLOUR_GREEN, arrived, end, 0,
			      "arrival, high and medium areas");
		fx_release(&x);
	}
}
EDITION_TESTS(arrival_lookback)

/* Residents by region prefix. */
static void resident_prefix(const struct policy *p)
{
	struct fx x;
	enum colour c = p->colour_resident_high;
	int64_t s = T0 + DAY, e = T0 + 6 * DAY;

	/* a grid inside a high-risk town */
	fx_init(&x, GRID, "");
	area(&x, TOWN, RISK_HIGH, s, e);
	boundary(p, &x, HC_RULE_RESIDENT, c, COLOUR_GREEN, s, e, ANY_FACT,
		 "grid inside a high-risk town");
	fx_release(&x);

	/* the neighbouring grid of a high-risk grid is not in it */
	fx_init(&x, GRID_NEXT, "");
	area(&x, GRID, RISK_HIGH, s, e);
	expect_absent(p, &x, s, HC_RULE_RESIDENT, COLOUR_GREEN, "neighbouring grid");
	expect_absent(p, &x, e - 1, HC_RULE_RESIDENT, COLOUR_GREEN, "neighbouring grid");
	fx_release(&x);

	/* the high-risk grid itself */
	fx_init(&x, GRID, "");
	area(&x, GRID, RISK_HIGH, s, e);
	boundary(p, &x, HC_RULE_RESIDENT, c, COLOUR_GREEN, s, e, ANY_FACT, "high-risk grid");
	fx_release(&x);

	/* a grid of the next town */
	fx_init(&x, GRID, "");
	area(&x, TOWN_NEXT, RISK_HIGH, s, e);
	expect_absent(p, &x, s, HC_RULE_RESIDENT, COLOUR_GREEN, "grid of another town");
	fx_release(&x);

	/* the town lowered to low: no rule while low */
	fx_init(&x, GRID, "");
	area(&x, TOWN, RISK_HIGH, s, e);
	area(&x, TOWN, RISK_LOW, e, HC_NEVER);
	expect_absent(p, &x, e, HC_RULE_RESIDENT, COLOUR_GREEN, "town lowered to low");
	expect_absent(p, &x, e + 30 * DAY, HC_RULE_RESIDENT, COLOUR_GREEN, "town lowered to low");
	fx_release(&x);
}
EDITION_TESTS(resident_prefix)

/* Of two overlapping overrides, the one with the later start decides,
 * whatever their colours and their order among the facts. */
static void overrides_overlapping(const struct policy *p)
{
	struct fx x;
	struct hc_result r;
	for (int swap = 0; swap < 2; swap++) {
		const char *what = swap ? "two overrides (earlier first)" : "two overrides (later first)";
		fx_init(&x, FAR_GRID, "");
		fact(&x, FACT_CASE, T0 - DAY, HC_NEVER)->level = CASE_CONFIRMED;
		if (!swap)
			override(&x, COLOUR_GREEN, T0 + 2 * DAY, T0 + 4 * DAY); /* later, inside */
		override(&x, COLOUR_YELLOW, T0, T0 + 5 * DAY);                  /* earlier, longer */
		if (swap)
			override(&x, COLOUR_GREEN, T0 + 2 * DAY, T0 + 4 * DAY);
		struct {
			int64_t at;
			enum colour want;
			bool overridden;
		} probes[] = {
			{T0 - 1, p->colour_case, false},
			{T0, COLOUR_YELLOW, true},
			{T0 + 2 * DAY - 1, COLOUR_YELLOW, true},
			{T0 + 2 * DAY, COLOUR_GREEN, true},
			{T0 + 4 * DAY - 1, COLOUR_GREEN, true},
			{T0 + 4 * DAY, COLOUR_YELLOW, true},
			{T0 + 5 * DAY - 1, COLOUR_YELLOW, true},
			{T0 + 5 * DAY, p->colour_case, false},
		};
		for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
			char b[40];
			eval(p, &x, probes[i].at, &r, what);
			rel(probes[i].at, b, sizeof(b));
			cr_expect_eq(r.colour, probes[i].want, "%s %s at %s: colour %s, want %s",
				     p->name, what, b, colour_name(r.colour),
				     colour_name(probes[i].want));
			cr_expect_eq(r.overridden, probes[i].overridden, "%s %s at %s: overridden",
				     p->name, what, b);
			cr_expect_eq(r.computed, p->colour_case, "%s %s at %s: computed", p->name,
				     what, b);
		}
		fx_release(&x);
	}

	/* a later red override over an earlier green one: red decides */
	fx_init(&x, FAR_GRID, "");
	override(&x, COLOUR_GREEN, T0, T0 + 5 * DAY);
	override(&x, COLOUR_RED, T0 + DAY, T0 + 2 * DAY);
	eval(p, &x, T0 + DAY, &r, "green then red override");
	cr_expect_eq(r.colour, COLOUR_RED, "%s: a later red override decides", p->name);
	eval(p, &x, T0 + 2 * DAY, &r, "green then red override");
	cr_expect_eq(r.colour, COLOUR_GREEN, "%s: the green override again after the red",
		     p->name);
	fx_release(&x);
}
EDITION_TESTS(overrides_overlapping)

/* Colour = the most severe active rule; hits most severe first whatever
 * the order of the facts. */
static void most_severe_first(const struct policy *p)
{
	struct fx x;
	struct hc_result r;
	fx_init(&x, GRID, "");
	fact(&x, FACT_FEVER, T0, HC_NEVER);
	test_fact(&x, TEST_POOL_POSITIVE, true, T0 - DAY, T0 - HOUR);
	fact(&x, FACT_CASE, T0 + HOUR, HC_NEVER)->level = CASE_CONFIRMED;
	area(&x, TOWN, RISK_HIGH, T0 - DAY, HC_NEVER);
	eval(p, &x, T0 + 2 * HOUR, &r, "fever, pool, case, resident");
	enum colour want = cmax(cmax(p->colour_fever, p->colour_pool_positive),
				cmax(p->colour_case, p->colour_resident_high));
	cr_expect_eq(r.colour, want, "%s: colour %s, want %s", p->name, colour_name(r.colour),
		     colour_name(want));
	cr_expect_eq(r.nhits, 4, "%s: 4 rules active, got %zu", p->name, r.nhits);
	cr_expect(r.nhits > 0 && r.hits[0].colour == want, "%s: the first hit is the most severe",
		  p->name);
	enum hc_rule rules[] = {HC_RULE_FEVER, HC_RULE_POOL, HC_RULE_CASE, HC_RULE_RESIDENT};
	for (size_t i = 0; i < 4; i++)
		cr_expect_not_null(hit_of(&r, rules[i]), "%s: '%s' active", p->name,
				   hc_rule_name(rules[i]));
	/* before the case: the yellow rules (and the resident rule) only */
	eval(p, &x, T0 + HOUR - 1, &r, "fever, pool, resident");
	want = cmax(cmax(p->colour_fever, p->colour_pool_positive), p->colour_resident_high);
	cr_expect_eq(r.colour, want, "%s before the case: colour %s, want %s", p->name,
		     colour_name(r.colour), colour_name(want));
	fx_release(&x);
}
EDITION_TESTS(most_severe_first)

/* ---- the editions differ where the protocols differ ---- */

Test(rules, editions_differ)
{
	struct policy p8, p9, p20;
	load("protocol-8", &p8);
	load("protocol-9", &p9);
	load("protocol-9-20", &p20);
	cr_expect_eq(p8.close.days, 14, "protocol 8: 14 days for close contacts");
	cr_expect_eq(p9.close.days, 7, "protocol 9: 7 days for close contacts");
	cr_expect_eq(p20.close.days, 5, "20 measures: 5 days for close contacts");
	cr_expect(p8.secondary_contacts && p9.secondary_contacts,
		  "protocols 8 and 9 identify secondary contacts");
	cr_expect(!p20.secondary_contacts, "the 20 measures identify no secondary contacts");
	cr_expect(p9.medium_level && !p20.medium_level,
		  "protocol 9 has medium-risk areas, the 20 measures do not");
	cr_expect_str_neq(p8.version, p9.version);
	cr_expect_str_neq(p9.version, p20.version);

	/* the same close contact on its sixth and eighth day */
	struct fx x;
	struct hc_result r;
	fx_init(&x, FAR_GRID, "");
	contact(&x, 1, T0, T0 + DAY);
	const struct policy *ps[] = {&p8, &p9, &p20};
	for (size_t i = 0; i < 3; i++) {
		eval(ps[i], &x, T0 + 5 * DAY + HOUR, &r, "close contact on day 6");
		cr_expect_eq(hit_of(&r, HC_RULE_CLOSE) != NULL, ps[i]->close.days > 5,
			     "%s: close contact on day 6", ps[i]->name);
		eval(ps[i], &x, T0 + 7 * DAY + HOUR, &r, "close contact on day 8");
		cr_expect_eq(hit_of(&r, HC_RULE_CLOSE) != NULL, ps[i]->close.days > 7,
			     "%s: close contact on day 8", ps[i]->name);
	}
	eval(&p8, &x, T0 + 5 * DAY + HOUR, &r, "day 6");
	cr_expect_eq(r.colour, p8.colour_close);
	eval(&p9, &x, T0 + 7 * DAY + HOUR, &r, "day 8");
	cr_expect_eq(r.colour, COLOUR_GREEN, "protocol 9: a close contact green on day 8");
	eval(&p20, &x, T0 + 5 * DAY, &r, "day 6");
	cr_expect_eq(r.colour, COLOUR_GREEN, "20 measures: a close contact green on day 6");
	fx_release(&x);

	/* the same secondary contact: yellow under protocol 9, nothing under the 20 */
	fx_init(&x, FAR_GRID, "");
	contact(&x, 2, T0, T0 + DAY);
	eval(&p9, &x, T0 + 2 * DAY, &r, "secondary contact");
	cr_expect_not_null(hit_of(&r, HC_RULE_SECONDARY), "protocol 9: secondary rule");
	cr_expect_eq(r.colour, p9.colour_secondary);
	cr_expect_eq(p9.colour_secondary, COLOUR_YELLOW, "protocol 9: secondary contacts yellow");
	eval(&p20, &x, T0 + 2 * DAY, &r, "secondary contact");
	cr_expect_null(hit_of(&r, HC_RULE_SECONDARY), "20 measures: no secondary rule");
	cr_expect_eq(r.colour, COLOUR_GREEN, "20 measures: a secondary contact is green");
	fx_release(&x);

	/* medium areas: rules under protocol 9, none under the 20 measures */
	fx_init(&x, GRID, "");
	area(&x, TOWN, RISK_MEDIUM, T0, HC_NEVER);
	arrival(&x, TOWN_NEXT, T0 + DAY); /* not from the area: only the resident rule */
	eval(&p9, &x, T0 + DAY, &r, "medium-risk resident");
	cr_expect_not_null(hit_of(&r, HC_RULE_RESIDENT), "protocol 9: medium resident rule");
	eval(&p20, &x, T0 + DAY, &r, "medium-risk resident");
	cr_expect_null(hit_of(&r, HC_RULE_RESIDENT), "20 measures: no medium resident rule");
	fx_release(&x);
	fx_init(&x, FAR_GRID, "");
	area(&x, TOWN, RISK_MEDIUM, T0, HC_NEVER);
	arrival(&x, TOWN, T0 + DAY);
	eval(&p20, &x, T0 + DAY, &r, "arrival from a medium-risk area");
	cr_expect_null(hit_of(&r, HC_RULE_ARRIVAL), "20 measures: no medium arrival rule");
	if (p9.arrival_medium.days > 0) {
		eval(&p9, &x, T0 + DAY, &r, "arrival from a medium-risk area");
		cr_expect_not_null(hit_of(&r, HC_RULE_ARRIVAL), "protocol 9: medium arrival rule");
	}
	fx_release(&x);
}

/* More rules active than HC_MAX_HITS: the colour still counts every rule,
 * the override still decides, and what is shown is the most severe. */
static void many_rules(const struct policy *p)
{
	struct fx x;
	struct hc_result r;
	fx_init(&x, FAR_GRID, "");
	for (int i = 0; i < HC_MAX_HITS + 8; i++)
		fact(&x, FACT_FEVER, T0 + i, HC_NEVER);
	fact(&x, FACT_CASE, T0 + HOUR, HC_NEVER)->level = CASE_CONFIRMED;
	override(&x, COLOUR_GREEN, T0 + 2 * HOUR, T0 + DAY);
	eval(p, &x, T0 + 3 * HOUR, &r, "40 fevers, a case, an override");
	cr_expect(r.truncated, "%s: truncated", p->name);
	cr_expect_eq(r.nhits, (size_t)HC_MAX_HITS, "%s: nhits %zu", p->name, r.nhits);
	cr_expect_eq(r.computed, p->colour_case, "%s: computed from every rule", p->name);
	cr_expect(r.overridden && r.colour == COLOUR_GREEN,
		  "%s: the override decides however many rules are active (colour %s)", p->name,
		  colour_name(r.colour));
	cr_expect_not_null(hit_of(&r, HC_RULE_CASE), "%s: the most severe rule is shown",
			   p->name);
	fx_release(&x);
}
EDITION_TESTS(many_rules)
