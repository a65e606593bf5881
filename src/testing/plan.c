/* plan.c — capacity planning for a testing round (Dorfman's model).
 *
 * Design note.  A round tests the N persons of a region (region_stats.
 * population) within H hours, at an expected prevalence p.  With pools of
 * k swabs per tube, Dorfman (1943) gives the expected tests per person
 *     E(k, p) = 1/k + 1 - (1 - p)^k          (k > 1;  E(1, p) = 1)
 * (every tube is tested once; every member of a positive tube is retested
 * alone).  Pooling pays while E < 1, i.e. while p < 1 - k^(-1/k) (20.6 %
 * for k = 10), and not at all above 1 - 3^(-1/3) = 30.7 %.  1 - (1 - p)^k
 * is computed as -expm1(k log1p(-p)) so that it stays exact for tiny p.
 *
 * The plan counts whole tubes: ceil(N/k) tubes, the last one holding the
 * remainder r = N mod k, so the expected positive tubes are
 * floor(N/k) (1-(1-p)^k) + (1-(1-p)^r) and the expected retests (persons
 * in positive pools) k floor(N/k) (1-(1-p)^k) + r (1-(1-p)^r); tests =
 * tubes + retests, which is N E(k, p) when k divides N.  A single tube
 * (k = 1) has no retest: its positive is a case candidate.  Expected
 * counts and every count of people or places are rounded up (a plan
 * provides for them).  Per-day figures scale the round to 24 hours.
 *
 * Sampling: sites sample open_hours a day, so the round has H·open/24
 * sampling hours and persons_per_hour = N / that.  A sampler swabs
 * swabs_per_hour persons an hour: samplers_at_once = ceil(persons_per_hour
 * / swabs_per_hour) booths work at once, each staffed through the opening
 * hours by ceil(open_hours / shift_hours) samplers in turn; a site
 * samples site_capacity persons an hour.  The defaults: pool 10 (the
 * national guide's "5混1或10混1", and the campaigns' default), open 15 h
 * (07:00-22:00, the default hours of `campaign site`); swabs per hour 60,
 * shifts of 6 h and 240 persons an hour per site are local choices, to be
 * replaced by the figures of the local sampling teams.
 *
 * The CLI and the API take the same parameters through one table
 * (plan_params) and print the same figures (plan_json), so their answers
 * and their messages cannot drift apart.
 */
#include "testing/testing_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "lib/strbuf.h"
#include "lib/util.h"
#include "registry/registry.h"
#include "store/store.h"

#include "lib/banned.h"

#define PLAN_POOL_MAX 64       /* largest pool --pool accepts and the best is sought in */
#define PLAN_HOURS_MAX 8784.0  /* a round of at most a (leap) year */
#define PLAN_REGION_NAME_MAX 1100 /* region names are imported up to 1024 bytes */

double dorfman_tests_per_person(int k, double p)
{
	if (k <= 1 || !(p == p))
		return 1.0;
	if (p <= 0)
		return 1.0 / k;
	if (p >= 1)
		return 1.0 / k + 1.0;
	/* 1 - (1-p)^k without cancellation for small p */
	return 1.0 / k - expm1((double)k * log1p(-p));
}

int dorfman_best_pool(double p, int kmax)
{
	int best = 1;
	double e = dorfman_tests_per_person(1, p);
	for (int k = 2; k <= kmax; k++) {
		double ek = dorfman_tests_per_person(k, p);
		if (ek < e) {
			e = ek;
			best = k;
		}
	}
	return best;
}

/* ---------------- parameters ---------------- */

struct plan_in {
	double hours;      /* length of the round */
	double prevalence; /* (0, 1) */
	int pool;
	double open_hours;  /* sites sample this many hours a day */
	double shift_hours; /* one sampler works this many hours a day */
	int64_t swabs_per_hour;
	int64_t site_capacity; /* persons an hour per site */
	int64_t lab_capacity;  /* tests a day available; 0 = not given */
};

static const struct plan_in plan_defaults = {
	.hours = 0,
	.prevalence = 0,
	.pool = 10,
	.open_hours = 15,
	.shift_hours = 6,
	.swabs_per_hour = 60,
	.site_capacity = 240,
	.lab_capacity = 0,
};

enum plan_key { P_HOURS, P_PREVALENCE, P_POOL, P_SWABS, P_SHIFT, P_OPEN, P_SITE, P_LAB };

static const struct plan_param {
	enum plan_key key;
	const char *flag, *query;
	bool required;
} plan_params[] = {
	{P_HOURS, "--hours", "hours", true},
	{P_PREVALENCE, "--prevalence", "prevalence", true},
	{P_POOL, "--pool", "pool", false},
	{P_SWABS, "--swabs-per-hour", "swabs_per_hour", false},
	{P_SHIFT, "--shift-hours", "shift_hours", false},
	{P_OPEN, "--open-hours", "open_hours", false},
	{P_SITE, "--site-capacity", "site_capacity", false},
	{P_LAB, "--lab-capacity", "lab_capacity", false},
};

/* A plain decimal ("12", "0.5", ".5"), with allow_pct an optional trailing
 * '%' (*pct set).  No sign, exponent or blank; at most 15 digits, so the
 * value is the exact digits divided once by a power of ten. */
static bool parse_decimal(const char *s, bool allow_pct, double *out, bool *pct)
{
	int64_t mant = 0;
	int digits = 0, frac = 0;
	bool dot = false;
	*pct = false;
	for (const char *c = s; *c; c++) {
		if (*c >= '0' && *c <= '9') {
			if (++digits > 15)
				return false;
			mant = mant * 10 + (*c - '0');
			frac += dot;
		} else if (*c == '.' && !dot) {
			dot = true;
		} else if (*c == '%' && allow_pct && c[1] == '\0') {
			*pct = true;
		} else {
			return false;
		}
	}
	if (!digits)
		return false;
	*out = (double)mant / pow(10.0, frac);
	return true;
}

/* Sets parameter key of in from text v; on bad input false with a message
 * naming the parameter (name: "--hours" or "hours") in msg. */
static bool plan_set(struct plan_in *in, enum plan_key key, const char *name, const char *v,
		     char *msg, size_t msgsz)
{
	double d;
	int64_t i;
	bool pct;
	switch (key) {
	case P_HOURS:
		if (parse_decimal(v, false, &d, &pct) && d > 0 && d <= PLAN_HOURS_MAX) {
			in->hours = d;
			return true;
		}
		snprintf(msg, msgsz, "%s '%s': give the hours of the round, more than 0, at most %.0f",
			 name, v, PLAN_HOURS_MAX);
		return false;
	case P_PREVALENCE:
		if (parse_decimal(v, true, &d, &pct)) {
			if (pct)
				d /= 100;
			if (d > 0 && d < 1) {
				in->prevalence = d;
				return true;
			}
		}
		snprintf(msg, msgsz,
			 "%s '%s': give the expected prevalence as a fraction in (0, 1) such as "
			 "0.01, or as a percent such as 1%%",
			 name, v);
		return false;
	case P_POOL:
		if (fk_parse_i64(v, 1, PLAN_POOL_MAX, &i)) {
			in->pool = (int)i;
			return true;
		}
		snprintf(msg, msgsz, "%s '%s': give the swabs per tube, 1 to %d", name, v,
			 PLAN_POOL_MAX);
		return false;
	case P_SWABS:
		if (fk_parse_i64(v, 1, 10000, &i)) {
			in->swabs_per_hour = i;
			return true;
		}
		snprintf(msg, msgsz, "%s '%s': give the persons one sampler swabs an hour, 1 to 10000",
			 name, v);
		return false;
	case P_SHIFT:
	case P_OPEN:
		if (parse_decimal(v, false, &d, &pct) && d > 0 && d <= 24) {
			*(key == P_SHIFT ? &in->shift_hours : &in->open_hours) = d;
			return true;
		}
		snprintf(msg, msgsz, "%s '%s': give hours a day, more than 0, at most 24", name, v);
		return false;
	case P_SITE:
		if (fk_parse_i64(v, 1, 1000000, &i)) {
			in->site_capacity = i;
			return true;
		}
		snprintf(msg, msgsz, "%s '%s': give the persons one site samples an hour, 1 to 1000000",
			 name, v);
		return false;
	case P_LAB:
		if (fk_parse_i64(v, 1, INT64_C(1000000000), &i)) {
			in->lab_capacity = i;
			return true;
		}
		snprintf(msg, msgsz, "%s '%s': give the tests the labs run a day, 1 to 1000000000",
			 name, v);
		return false;
	}
	snprintf(msg, msgsz, "%s: unknown parameter", name);
	return false;
}

/* ---------------- the plan ---------------- */

struct plan_pool {
	int size;
	double tests_per_person, persons_per_test;
	double pays_below; /* prevalence under which the pool saves tests; < 0: k = 1 */
	int64_t tubes, positive_tubes, retests, tests, tubes_per_day, tests_per_day;
};

struct plan {
	struct plan_in in;
	int64_t persons, persons_per_day, persons_per_hour, positives;
	struct plan_pool used, best, best_validated;
	int64_t samplers_at_once, shifts, samplers, sites;
	double lab_days;           /* days the labs need for the round at capacity */
	int64_t lab_shortfall;     /* tests a day beyond capacity */
};

/* Rounds a count up, forgiving the last bits of floating-point noise
 * (130000.00000000001 is 130000). */
static int64_t count_up(double x)
{
	if (x <= 0)
		return 0;
	double r = nearbyint(x);
	if (fabs(x - r) <= 1e-9 * fmax(1.0, x))
		return (int64_t)r;
	return (int64_t)ceil(x);
}

static void plan_pool_fill(struct plan_pool *o, int k, const struct plan *pl)
{
	double p = pl->in.prevalence, per_day = 24.0 / pl->in.hours;
	int64_t n = pl->persons, full = n / k, r = n % k;
	o->size = k;
	o->tests_per_person = dorfman_tests_per_person(k, p);
	o->persons_per_test = 1.0 / o->tests_per_person;
	o->pays_below = k > 1 ? 1.0 - pow((double)k, -1.0 / k) : -1;
	o->tubes = full + (r > 0);
	double qk = -expm1((double)k * log1p(-p)), qr = r ? -expm1((double)r * log1p(-p)) : 0;
	o->positive_tubes = count_up((double)full * qk + qr);
	o->retests = k > 1 ? count_up((double)k * (double)full * qk + (double)r * qr) : 0;
	o->tests = o->tubes + o->retests;
	o->tubes_per_day = count_up((double)o->tubes * per_day);
	o->tests_per_day = count_up((double)o->tests * per_day);
}

static const int validated_pools[] = {1, 5, 10, 20};

static void plan_compute(struct plan *pl)
{
	const struct plan_in *in = &pl->in;
	double n = (double)pl->persons;
	pl->persons_per_day = count_up(n * 24.0 / in->hours);
	pl->positives = count_up(n * in->prevalence);
	plan_pool_fill(&pl->used, in->pool, pl);
	plan_pool_fill(&pl->best, dorfman_best_pool(in->prevalence, PLAN_POOL_MAX), pl);
	int vk = 1;
	for (size_t i = 1; i < FK_ARRAY_LEN(validated_pools); i++)
		if (dorfman_tests_per_person(validated_pools[i], in->prevalence) <
		    dorfman_tests_per_person(vk, in->prevalence))
			vk = validated_pools[i];
	plan_pool_fill(&pl->best_validated, vk, pl);

	double per_hour = n / (in->hours * in->open_hours / 24.0);
	pl->persons_per_hour = count_up(per_hour);
	pl->samplers_at_once = count_up(per_hour / (double)in->swabs_per_hour);
	pl->shifts = count_up(in->open_hours / in->shift_hours);
	pl->samplers = pl->samplers_at_once * pl->shifts;
	pl->sites = count_up(per_hour / (double)in->site_capacity);
	pl->lab_days = 0;
	pl->lab_shortfall = 0;
	if (in->lab_capacity) {
		pl->lab_days = (double)pl->used.tests / (double)in->lab_capacity;
		if (pl->used.tests_per_day > in->lab_capacity)
			pl->lab_shortfall = pl->used.tests_per_day - in->lab_capacity;
	}
}

static void pool_json(struct strbuf *o, const char *key, const struct plan_pool *q)
{
	strbuf_addf(o, ",\"%s\":{\"size\":%d,\"tests_per_person\":%.6g,\"persons_per_test\":%.6g,"
		       "\"pays_below_prevalence\":",
		    key, q->size, q->tests_per_person, q->persons_per_test);
	if (q->pays_below < 0)
		strbuf_addstr(o, "null");
	else
		strbuf_addf(o, "%.6g", q->pays_below);
	strbuf_addf(o,
		    ",\"tubes\":%" PRId64 ",\"expected_positive_tubes\":%" PRId64
		    ",\"expected_retests\":%" PRId64 ",\"tests\":%" PRId64 ",\"tubes_per_day\":%" PRId64
		    ",\"tests_per_day\":%" PRId64 "}",
		    q->tubes, q->positive_tubes, q->retests, q->tests, q->tubes_per_day,
		    q->tests_per_day);
}

/* The plan as one JSON object (the API's answer and `--json`). */
static void plan_json(struct strbuf *o, const char *code, const char *name, const struct plan *pl)
{
	const struct plan_in *in = &pl->in;
	strbuf_addstr(o, "{\"region\":{\"code\":");
	strbuf_add_json_str(o, code);
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, name);
	strbuf_addf(o,
		    "},\"persons\":%" PRId64 ",\"hours\":%.6g,\"days\":%.6g,\"prevalence\":%.6g,"
		    "\"persons_per_day\":%" PRId64 ",\"expected_positives\":%" PRId64,
		    pl->persons, in->hours, in->hours / 24.0, in->prevalence, pl->persons_per_day,
		    pl->positives);
	pool_json(o, "pool", &pl->used);
	pool_json(o, "best_pool", &pl->best);
	pool_json(o, "best_validated_pool", &pl->best_validated);
	strbuf_addf(o,
		    ",\"sampling\":{\"open_hours\":%.6g,\"swabs_per_hour\":%" PRId64
		    ",\"shift_hours\":%.6g,\"site_capacity\":%" PRId64 ",\"persons_per_hour\":%" PRId64
		    ",\"samplers_at_once\":%" PRId64 ",\"samplers\":%" PRId64 ",\"sites\":%" PRId64 "}",
		    in->open_hours, in->swabs_per_hour, in->shift_hours, in->site_capacity,
		    pl->persons_per_hour, pl->samplers_at_once, pl->samplers, pl->sites);
	strbuf_addf(o, ",\"lab\":{\"tests_per_day\":%" PRId64 ",\"capacity_per_day\":",
		    pl->used.tests_per_day);
	if (in->lab_capacity)
		strbuf_addf(o, "%" PRId64 ",\"days_needed\":%.6g,\"shortfall_per_day\":%" PRId64 "}}",
			    in->lab_capacity, pl->lab_days, pl->lab_shortfall);
	else
		strbuf_addstr(o, "null,\"days_needed\":null,\"shortfall_per_day\":null}}");
}

/* ---------------- the region ---------------- */

/* Name and population of region code on db.  FK_ENOTFOUND when there is
 * no such region, FK_EDB on failure. */
static enum fk_status plan_region(sqlite3 *db, sqlite3_stmt *given, const char *code, char *name,
				  size_t namesz, int64_t *population, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	if (!testing_region_valid(code))
		return fk_fail(err, FK_ENOTFOUND, "no region '%s'", code);
	sqlite3_stmt *q = given;
	if (!q) {
		q = store_prepare(db,
				  "SELECT r.name, coalesce(s.population, 0) FROM regions r"
				  " LEFT JOIN region_stats s ON s.code = r.code WHERE r.code = ?1",
				  err);
		if (!q)
			return FK_EDB;
	}
	sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		fk_strlcpy(name, (const char *)sqlite3_column_text(q, 0), namesz);
		*population = sqlite3_column_int64(q, 1);
	} else if (rc == SQLITE_DONE) {
		st = fk_fail(err, FK_ENOTFOUND, "no region '%s'", code);
	} else {
		st = fk_fail(err, FK_EDB, "cannot read region '%s': %s", code,
			     sqlite3_errmsg(sqlite3_db_handle(q)));
	}
	if (given)
		store_stmt_done(q);
	else
		sqlite3_finalize(q);
	return st;
}

/* ---------------- HTTP ---------------- */

static void plan_get(struct http_req *req)
{
	struct plan pl = {.in = plan_defaults};
	struct fk_err err;
	struct strbuf o = STRBUF_INIT;
	char msg[256], name[PLAN_REGION_NAME_MAX];
	const char *region = http_query(req, "region");

	if (!region || !*region)
		region = req->user->scope;
	if (!*region) {
		http_error(req, 400, NULL, "'region' is required: the region code to plan for");
		return;
	}
	for (size_t i = 0; i < FK_ARRAY_LEN(plan_params); i++) {
		const struct plan_param *pp = &plan_params[i];
		const char *v = http_query(req, pp->query);
		if (!v) {
			if (pp->required) {
				http_error(req, 400, NULL, "'%s' is required", pp->query);
				return;
			}
			continue;
		}
		if (!plan_set(&pl.in, pp->key, pp->query, v, msg, sizeof(msg))) {
			http_error(req, 400, NULL, "%s", msg);
			return;
		}
	}
	if (!access_scope_contains(req->user->scope, region)) {
		http_error(req, 404, NULL, "no region '%s' in your scope", region);
		return;
	}
	if (!http_reader(req))
		return;
	sqlite3_stmt *q = store_reader_stmt("SELECT r.name, coalesce(s.population, 0) FROM regions r"
					    " LEFT JOIN region_stats s ON s.code = r.code"
					    " WHERE r.code = ?1",
					    &err);
	if (!q) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	enum fk_status st = plan_region(NULL, q, region, name, sizeof(name), &pl.persons, &err);
	if (st == FK_ENOTFOUND) {
		http_error(req, 404, NULL, "no region '%s' in your scope", region);
		return;
	}
	if (st) {
		http_fail(req, st, &err);
		return;
	}
	plan_compute(&pl);
	plan_json(&o, region, name, &pl);
	http_json(req, 200, o.buf);
	strbuf_release(&o);
}

const struct http_route plan_routes[] = {
	{"GET", "/api/v1/plan-testing", plan_get, ROUTE_OPTIONAL, PERM_READ_TESTING, 0},
};
const size_t plan_routes_len = FK_ARRAY_LEN(plan_routes);

/* ---------------- CLI ---------------- */

static void usage(FILE *f)
{
	fputs("usage: fangkong plan-testing --region CODE --hours H --prevalence P [--pool K]\n"
	      "                             [--swabs-per-hour N] [--shift-hours H]\n"
	      "                             [--open-hours H] [--site-capacity N]\n"
	      "                             [--lab-capacity N] [--json] [--db FILE]\n"
	      "\n"
	      "Plans a testing round of every person of a region (its population in the\n"
	      "registry) within H hours: persons a day, tubes, expected retests, tests a\n"
	      "day (the lab capacity needed), samplers and sampling sites, for the pool\n"
	      "size used and for the pool that needs the fewest tests under Dorfman's\n"
	      "model E(k,p) = 1/k + 1 - (1-p)^k (sought in 1..64, and among the\n"
	      "validated sizes 1, 5, 10 and 20).  Expected counts are rounded up.\n"
	      "\n"
	      "  --region CODE         region code (its whole subtree is tested)\n"
	      "  --hours H             hours to finish the round in, e.g. 24, 72, 168\n"
	      "  --prevalence P        expected share of positives: a fraction in (0, 1)\n"
	      "                        such as 0.001, or a percent such as 0.1%\n"
	      "  --pool K              swabs per tube, 1..64 (default 10: the national\n"
	      "                        guide's 10-in-1, the campaigns' default)\n"
	      "  --swabs-per-hour N    persons one sampler swabs an hour (default 60,\n"
	      "                        local choice)\n"
	      "  --shift-hours H       hours one sampler works a day (default 6, local\n"
	      "                        choice)\n"
	      "  --open-hours H        hours a day the sites sample (default 15: 07:00 to\n"
	      "                        22:00, the default hours of `campaign site`)\n"
	      "  --site-capacity N     persons one site samples an hour (default 240,\n"
	      "                        local choice)\n"
	      "  --lab-capacity N      tests the labs can run a day: adds the days they\n"
	      "                        need and the shortfall a day\n"
	      "  --json                one JSON object (the API's answer)\n",
	      f);
}

/* Display width of UTF-8 text: East Asian characters take two columns. */
static int text_width(const char *s)
{
	int w = 0;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if ((*c & 0xC0) == 0x80)
			continue;
		w += *c >= 0xE1 ? 2 : 1; /* lead bytes of U+1000 and above */
	}
	return w;
}

static void print_cell(const char *text, int width, bool right)
{
	int pad = width - text_width(text);
	if (pad < 0)
		pad = 0;
	if (right)
		printf("%*s%s", pad, "", text);
	else
		printf("%s%*s", text, pad, "");
}

/* n with thousands separators. */
static const char *grouped(int64_t n, char *buf, size_t size)
{
	char raw[32];
	snprintf(raw, sizeof(raw), "%" PRId64, n);
	size_t len = strlen(raw), j = 0, lead = raw[0] == '-';
	for (size_t i = 0; i < len && j + 2 < size; i++) {
		if (i > lead && (len - i) % 3 == 0)
			buf[j++] = ',';
		buf[j++] = raw[i];
	}
	buf[j] = '\0';
	return buf;
}

#define LABEL_W 50
#define COL_W 20

static void row_text(const char *label, const char *a, const char *b, const char *c)
{
	printf("  ");
	print_cell(label, LABEL_W, false);
	print_cell(a, COL_W, true);
	if (b) {
		print_cell(b, COL_W, true);
		print_cell(c, COL_W, true);
	}
	putchar('\n');
}

static void row_int(const char *label, int64_t v)
{
	char buf[40];
	row_text(label, grouped(v, buf, sizeof(buf)), NULL, NULL);
}

enum pool_field { F_SIZE, F_TPP, F_PPT, F_PAYS, F_TUBES, F_POS, F_RETESTS, F_TESTS, F_TUBES_DAY,
		  F_TESTS_DAY };

static void pool_cell(const struct plan_pool *q, enum pool_field f, char *buf, size_t size)
{
	char g[40];
	int64_t v = 0;
	switch (f) {
	case F_SIZE:
		snprintf(buf, size, "%d", q->size);
		return;
	case F_TPP:
		snprintf(buf, size, "%.4f", q->tests_per_person);
		return;
	case F_PPT:
		snprintf(buf, size, "%.2f", q->persons_per_test);
		return;
	case F_PAYS:
		if (q->pays_below < 0)
			snprintf(buf, size, "-");
		else
			snprintf(buf, size, "%.1f%%", q->pays_below * 100);
		return;
	case F_TUBES: v = q->tubes; break;
	case F_POS: v = q->positive_tubes; break;
	case F_RETESTS: v = q->retests; break;
	case F_TESTS: v = q->tests; break;
	case F_TUBES_DAY: v = q->tubes_per_day; break;
	case F_TESTS_DAY: v = q->tests_per_day; break;
	}
	snprintf(buf, size, "%s", grouped(v, g, sizeof(g)));
}

static void print_plan(const char *code, const char *name, const struct plan *pl)
{
	static const struct {
		enum pool_field f;
		const char *label;
	} rows[] = {
		{F_SIZE, "每管人数 pool size"},
		{F_TPP, "人均检测 tests per person E(k,p)"},
		{F_PPT, "每检人数 persons per test 1/E"},
		{F_PAYS, "混检省检测 pays below prevalence"},
		{F_TUBES, "采样管 tubes"},
		{F_POS, "预计阳性管 expected positive tubes"},
		{F_RETESTS, "预计复检 expected retests"},
		{F_TESTS, "检测总数 tests"},
		{F_TUBES_DAY, "日均采样管 tubes per day"},
		{F_TESTS_DAY, "日均检测 tests per day (lab)"},
	};
	const struct plan_in *in = &pl->in;
	char a[48], b[48], c[48];
	printf("核酸检测能力测算 testing capacity plan: %s %s\n", code, name);
	row_int("人口 persons", pl->persons);
	snprintf(a, sizeof(a), "%g h (%.4g d)", in->hours, in->hours / 24);
	row_text("时限 round", a, NULL, NULL);
	snprintf(a, sizeof(a), "%.4g%%", in->prevalence * 100);
	row_text("预计阳性率 prevalence", a, NULL, NULL);
	row_int("预计阳性人数 expected positives", pl->positives);
	row_int("日均采样人数 persons per day", pl->persons_per_day);
	putchar('\n');
	row_text("混检 pooling", "采用 used", "最优 best", "可用最优 1/5/10/20");
	for (size_t i = 0; i < FK_ARRAY_LEN(rows); i++) {
		pool_cell(&pl->used, rows[i].f, a, sizeof(a));
		pool_cell(&pl->best, rows[i].f, b, sizeof(b));
		pool_cell(&pl->best_validated, rows[i].f, c, sizeof(c));
		row_text(rows[i].label, a, b, c);
	}
	putchar('\n');
	printf("采样 sampling (pool %d)\n", in->pool);
	snprintf(a, sizeof(a), "%g h", in->open_hours);
	row_text("每日开放 open hours a day (--open-hours)", a, NULL, NULL);
	row_int("每人每小时采样 swabs per hour (--swabs-per-hour)", in->swabs_per_hour);
	snprintf(a, sizeof(a), "%g h", in->shift_hours);
	row_text("每班时长 shift (--shift-hours)", a, NULL, NULL);
	row_int("采样点每小时 site capacity (--site-capacity)", in->site_capacity);
	row_int("开放时每小时人数 persons per hour", pl->persons_per_hour);
	row_int("同时在岗采样人员 samplers at once", pl->samplers_at_once);
	row_int("采样人员 samplers (all shifts)", pl->samplers);
	row_int("采样点 sampling sites", pl->sites);
	putchar('\n');
	printf("实验室 lab (pool %d)\n", in->pool);
	row_int("日均检测能力需求 tests per day needed", pl->used.tests_per_day);
	if (in->lab_capacity) {
		row_int("现有日检测能力 capacity per day", in->lab_capacity);
		snprintf(a, sizeof(a), "%.2f", pl->lab_days);
		row_text("完成需天数 days the labs need", a, NULL, NULL);
		row_int("每日缺口 shortfall per day", pl->lab_shortfall);
	}
}

int cmd_plan_testing(int argc, char **argv)
{
	const char *region = NULL, *dbflag = NULL;
	const char *given[FK_ARRAY_LEN(plan_params)] = {0};
	bool json = false;
	struct plan pl = {.in = plan_defaults};
	char msg[256], name[PLAN_REGION_NAME_MAX];
	struct fk_err err;
	sqlite3 *db = NULL;
	int rc = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has = i + 1 < argc, known = false;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--json")) {
			json = true;
			continue;
		}
		if (has && !strcmp(a, "--region")) {
			region = argv[++i];
			continue;
		}
		if (has && !strcmp(a, "--db")) {
			dbflag = argv[++i];
			continue;
		}
		for (size_t j = 0; j < FK_ARRAY_LEN(plan_params) && has; j++)
			if (!strcmp(a, plan_params[j].flag)) {
				given[j] = argv[++i];
				known = true;
				break;
			}
		if (!known) {
			fprintf(stderr, "fangkong plan-testing: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (!region || !*region) {
		fputs("fangkong plan-testing: --region CODE is required\n", stderr);
		usage(stderr);
		return 2;
	}
	for (size_t j = 0; j < FK_ARRAY_LEN(plan_params); j++) {
		const struct plan_param *pp = &plan_params[j];
		if (!given[j]) {
			if (pp->required) {
				fprintf(stderr, "fangkong plan-testing: %s is required\n", pp->flag);
				usage(stderr);
				return 2;
			}
			continue;
		}
		if (!plan_set(&pl.in, pp->key, pp->flag, given[j], msg, sizeof(msg))) {
			fprintf(stderr, "fangkong plan-testing: %s\n", msg);
			return 2;
		}
	}
	if (store_open(store_default_path(dbflag), STORE_MIGRATE, &db, &err)) {
		fprintf(stderr, "fangkong plan-testing: %s\n", err.msg);
		return 1;
	}
	enum fk_status st = plan_region(db, NULL, region, name, sizeof(name), &pl.persons, &err);
	if (st) {
		fprintf(stderr, "fangkong plan-testing: --region: %s\n", err.msg);
		rc = st == FK_ENOTFOUND ? 2 : 1;
		goto out;
	}
	plan_compute(&pl);
	if (json) {
		struct strbuf o = STRBUF_INIT;
		plan_json(&o, region, name, &pl);
		puts(o.buf);
		strbuf_release(&o);
	} else {
		print_plan(region, name, &pl);
	}
	rc = 0;
out:
	store_close(db);
	return rc;
}
