/* rules.c — the colour engine: facts + policy + time -> colour, with every
 * active rule, its interval and its evidence (the rule table is in
 * healthcode.h).
 *
 * Design note.  hc_evaluate first turns every fact into the rule intervals
 * it causes over all time (rule_intervals), then keeps the ones active at
 * the asked time and derives the next moment anything could change from
 * all of them.  Computing whole intervals, not just "active now", is what
 * makes history ("what was the code at T") and the next change exact and
 * lets the whole-city recompute cache a colour until that moment.
 * Intervals are half open, [start, end): a rule is active at its start and
 * no longer at its end.
 */
#include "healthcode/healthcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "tracing/tracing.h"

#include "lib/banned.h"

#define DAY 86400

static const char *const rule_names[HC_RULE_COUNT] = {
	"case",    "order",  "close",    "secondary", "fever",
	"pool",    "arrival", "periodic", "resident",  "override",
};

const char *hc_rule_name(enum hc_rule r)
{
	return (unsigned)r < HC_RULE_COUNT ? rule_names[r] : "unknown";
}

/* All intervals of one person, over all time. */
struct intervals {
	struct hc_hit v[256];
	size_t n;
	bool truncated;
};

static void add(struct intervals *iv, enum hc_rule rule, enum colour c, int64_t start,
		int64_t end, size_t fact, const struct hc_area *area)
{
	if (end <= start)
		return;
	if (iv->n == FK_ARRAY_LEN(iv->v)) {
		iv->truncated = true;
		return;
	}
	iv->v[iv->n++] = (struct hc_hit){rule, c, start, end, fact, area};
}

static int64_t add_days(int64_t t, int days)
{
	if (t >= HC_NEVER - (int64_t)days * DAY)
		return HC_NEVER;
	return t + (int64_t)days * DAY;
}

/* The order cover of a contact found at s (healthcode.h). */
static int64_t order_cover(const struct hc_facts *f, int64_t s)
{
	int64_t cover = HC_NEVER;
	for (size_t i = 0; i < f->n; i++) {
		const struct hc_fact *o = &f->v[i];
		if (o->kind != FACT_ORDER || o->end <= s)
			continue;
		int64_t t = o->start > s ? o->start : s;
		if (t < cover)
			cover = t;
	}
	return cover;
}

static void contact_rule(const struct policy *p, const struct hc_facts *f, size_t i,
			 struct intervals *iv)
{
	const struct hc_fact *x = &f->v[i];
	bool close = x->level == 1;
	if (!close && !p->secondary_contacts)
		return;
	int days = close ? p->close.days : p->secondary.days;
	int64_t end = add_days(x->t0, days);
	int64_t cover = order_cover(f, x->start);
	if (cover < end)
		end = cover;
	add(iv, close ? HC_RULE_CLOSE : HC_RULE_SECONDARY,
	    close ? p->colour_close : p->colour_secondary, x->start, end, i, NULL);
}

static void pool_rule(const struct policy *p, const struct hc_facts *f, size_t i,
		      struct intervals *iv)
{
	const struct hc_fact *x = &f->v[i];
	int64_t end = HC_NEVER;
	for (size_t j = 0; j < f->n; j++) {
		const struct hc_fact *r = &f->v[j];
		if (r->kind == FACT_TEST && r->level == TEST_NEGATIVE && !(r->flags & FACT_POOLED) &&
		    r->t0 > x->t0 && r->start < end)
			end = r->start;
	}
	add(iv, HC_RULE_POOL, p->colour_pool_positive, x->start, end, i, NULL);
}

static void arrival_rule(const struct policy *p, const struct hc_facts *f,
			 const struct hc_areas *a, size_t i, struct intervals *iv)
{
	const struct hc_fact *x = &f->v[i];
	const struct hc_area *area = NULL;
	int64_t from = x->start - (int64_t)p->arrival_lookback_days * DAY;
	int level = hc_areas_level(a, x->region, from, x->start, &area);
	if (level == RISK_HIGH)
		add(iv, HC_RULE_ARRIVAL, p->colour_arrival_high, x->start,
		    add_days(x->start, p->arrival_high.days), i, area);
	else if (level == RISK_MEDIUM && p->medium_level)
		add(iv, HC_RULE_ARRIVAL, p->colour_arrival_medium, x->start,
		    add_days(x->start, p->arrival_medium.days), i, area);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void periodic_rules(const struct policy *p, const struct hc_facts *f,
			   struct intervals *iv)
{
	int days = 0;
	for (int k = 0; k < p->nperiodic; k++)
		if (!strcmp(p->periodic[k].occupation, f->occupation))
			days = p->periodic[k].days;
	if (days <= 0)
		return;
	/* sampling times of every test but invalid ones, sorted; the fact
	 * index of each, for the evidence */
	size_t n = 0;
	int64_t *t = malloc((f->n + 1) * sizeof(*t));
	if (!t)
		return;
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].kind == FACT_TEST && f->v[i].level != TEST_INVALID)
			t[n++] = f->v[i].t0;
	qsort(t, n, sizeof(*t), cmp_i64);
	add(iv, HC_RULE_PERIODIC, p->colour_periodic_overdue, INT64_MIN, n ? t[0] : HC_NEVER,
	    SIZE_MAX, NULL);
	for (size_t i = 0; i < n; i++) {
		/* overdue from t[i] + days until the next test (the fact is
		 * the test it is overdue after) */
		size_t fact = SIZE_MAX;
		for (size_t j = 0; j < f->n; j++)
			if (f->v[j].kind == FACT_TEST && f->v[j].level != TEST_INVALID &&
			    f->v[j].t0 == t[i])
				fact = j;
		add(iv, HC_RULE_PERIODIC, p->colour_periodic_overdue, add_days(t[i], days),
		    i + 1 < n ? t[i + 1] : HC_NEVER, fact, NULL);
	}
	free(t);
}

static void resident_rules(const struct policy *p, const struct hc_facts *f,
			   const struct hc_areas *a, struct intervals *iv)
{
	for (size_t i = 0; a && i < a->n; i++) {
		const struct hc_area *x = &a->v[i];
		if (!hc_area_contains(x, f->grid, f->household))
			continue;
		if (x->level == RISK_HIGH)
			add(iv, HC_RULE_RESIDENT, p->colour_resident_high, x->start, x->end, SIZE_MAX,
			    x);
		else if (x->level == RISK_MEDIUM && p->medium_level)
			add(iv, HC_RULE_RESIDENT, p->colour_resident_medium, x->start, x->end,
			    SIZE_MAX, x);
	}
}

static void rule_intervals(const struct policy *p, const struct hc_facts *f,
			   const struct hc_areas *a, struct intervals *iv)
{
	iv->n = 0;
	iv->truncated = false;
	for (size_t i = 0; i < f->n; i++) {
		const struct hc_fact *x = &f->v[i];
		switch ((enum hc_fact_kind)x->kind) {
		case FACT_CASE:
			add(iv, HC_RULE_CASE, p->colour_case, x->start, x->end, i, NULL);
			break;
		case FACT_ORDER:
			add(iv, HC_RULE_ORDER,
			    x->level == ORDER_HOME_MONITORING ? p->colour_home_monitoring
							      : p->colour_isolation,
			    x->start, x->end, i, NULL);
			break;
		case FACT_CONTACT:
			contact_rule(p, f, i, iv);
			break;
		case FACT_FEVER:
			add(iv, HC_RULE_FEVER, p->colour_fever, x->start, x->end, i, NULL);
			break;
		case FACT_TEST:
			if (x->level == TEST_POOL_POSITIVE)
				pool_rule(p, f, i, iv);
			break;
		case FACT_ARRIVAL:
			arrival_rule(p, f, a, i, iv);
			break;
		case FACT_OVERRIDE:
			add(iv, HC_RULE_OVERRIDE, (enum colour)x->level, x->start, x->end, i, NULL);
			break;
		case FACT_KIND_COUNT:
			break;
		}
	}
	periodic_rules(p, f, iv);
	resident_rules(p, f, a, iv);
}

/* Most severe first; overrides first of all; then by start. */
static int cmp_hit(const void *a, const void *b)
{
	const struct hc_hit *x = a, *y = b;
	int ox = x->rule == HC_RULE_OVERRIDE, oy = y->rule == HC_RULE_OVERRIDE;
	if (ox != oy)
		return oy - ox;
	if (ox && x->start != y->start) /* the latest override decides */
		return x->start < y->start ? 1 : -1;
	if (x->colour != y->colour)
		return (int)y->colour - (int)x->colour;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (int)x->rule - (int)y->rule;
}

void hc_evaluate(const struct policy *p, const struct hc_facts *f, const struct hc_areas *a,
		 int64_t at, struct hc_result *out)
{
	struct intervals *iv = malloc(sizeof(*iv));
	memset(out, 0, sizeof(*out));
	out->at = at;
	out->next_change = HC_NEVER;
	fk_strlcpy(out->policy_version, p->version, sizeof(out->policy_version));
	if (!iv) {
		/* no memory: fail safe towards attention, never towards green */
		out->colour = out->computed = COLOUR_YELLOW;
		out->truncated = true;
		return;
	}
	rule_intervals(p, f, a, iv);
	enum colour computed = COLOUR_GREEN;
	size_t nactive = 0;
	for (size_t i = 0; i < iv->n; i++) {
		const struct hc_hit *h = &iv->v[i];
		if (h->start > at && h->start < out->next_change)
			out->next_change = h->start;
		if (h->start <= at && h->end > at) {
			if (h->end < out->next_change)
				out->next_change = h->end;
			if (h->rule != HC_RULE_OVERRIDE && h->colour > computed)
				computed = h->colour;
			iv->v[nactive++] = *h; /* i >= nactive: compacting in place */
		}
	}
	/* order all active rules before keeping the first HC_MAX_HITS, so an
	 * override or the most severe rule is never the one dropped */
	if (nactive)
		qsort(iv->v, nactive, sizeof(iv->v[0]), cmp_hit);
	out->nhits = nactive < HC_MAX_HITS ? nactive : HC_MAX_HITS;
	memcpy(out->hits, iv->v, out->nhits * sizeof(out->hits[0]));
	out->truncated = iv->truncated || nactive > HC_MAX_HITS;
	out->computed = computed;
	out->colour = computed;
	if (out->nhits && out->hits[0].rule == HC_RULE_OVERRIDE) {
		out->overridden = true;
		out->colour = out->hits[0].colour;
	}
	free(iv);
}
