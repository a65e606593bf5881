/* trace_bench.c — times the contact engine on a generated city (make bench).
 *
 *   trace-bench --db FILE [--cases N] [--reps R] [--seed S] [--close-only] [--json]
 *
 * Loads the contact index from the database the way the server does, then
 * picks N cases (default 20) deterministically from --seed and times
 * tracing_contacts for each: the close set alone (secondary = NULL), and
 * the close and secondary sets together.  Each is run R times (default 5);
 * a case's figure is the median of its runs, and the summary gives the
 * median and p95 (nearest rank) over the cases.  --close-only skips the
 * secondary sets (for profiling the close path).
 *
 * The cases live in memory only (struct case_rec): nothing is written to
 * the database.  Case k is a person drawn from the seed among those with a
 * check-in in the case's window; the onset is on the middle day of the data
 * (at least two days after the first day, so the whole infectious window
 * lies inside the generated days) at a drawn hour between 10:00 and 20:00
 * (+08:00); the case is isolated at onset and traced at that moment, so the
 * window is [onset - D, onset] and "now" = onset.
 *
 * Each set is summarised as (size, sum of exposure times, sum of person
 * ids), which the bench script compares with the reference SQL's answer for
 * the same case: the engine's sets are not printed.  --json prints one
 * object for the script; otherwise a table for people.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/util.h"
#include "store/store.h"
#include "tracing/tracing.h"

#include "lib/banned.h"

#define MAX_CASES 1000
#define MAX_REPS 100
#define DAY 86400
#define CST (8 * 3600)

struct set_sum {
	uint64_t n, sum_exposure, sum_person;
};

struct bench_case {
	struct case_rec c;
	int64_t from, to, now;
	struct set_sum close, secondary;
	double close_s, both_s; /* medians over the repetitions */
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static int64_t local_midnight(int64_t t)
{
	int64_t d = (t + CST) / DAY;
	if ((t + CST) % DAY < 0)
		d--;
	return d * DAY - CST;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Nearest rank: the smallest value with at least q of the values at or below it. */
static double quantile(double *v, size_t n, double q)
{
	qsort(v, n, sizeof(*v), cmp_double);
	size_t k = (size_t)(q * (double)n + 0.999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

static void summarise(const struct contact_set *s, struct set_sum *out)
{
	out->n = s->n;
	out->sum_exposure = 0;
	out->sum_person = 0;
	for (size_t i = 0; i < s->n; i++) {
		out->sum_exposure += (uint64_t)s->v[i].exposure;
		out->sum_person += s->v[i].person_id;
	}
}

static void usage(FILE *f)
{
	fputs("usage: trace-bench --db FILE [--cases N] [--reps R] [--seed S] [--close-only]\n"
	      "                   [--json]\n",
	      f);
}

static bool arg_i64(int argc, char **argv, int *i, const char *name, int64_t lo, int64_t hi,
		    int64_t *out, bool *bad)
{
	if (strcmp(argv[*i], name) != 0)
		return false;
	if (*i + 1 >= argc || !fk_parse_i64(argv[*i + 1], lo, hi, out)) {
		fprintf(stderr, "trace-bench: %s needs a number in %" PRId64 "..%" PRId64 "\n",
			name, lo, hi);
		*bad = true;
	}
	(*i)++;
	return true;
}

/* Draws the cases: onset on the middle day, persons with a check-in in the window. */
static enum fk_status pick_cases(struct contact_index *ix, sqlite3 *db,
				 const struct tracing_params *p, uint64_t seed, struct bench_case *bc,
				 size_t ncases, int64_t *first_day, int *ndays, struct fk_err *err)
{
	int64_t tmin = store_query_int(db, "SELECT min(t) FROM checkins", 0);
	int64_t tmax = store_query_int(db, "SELECT max(t) FROM checkins", 0);
	if (tmin <= 0 || tmax < tmin)
		return fk_fail(err, FK_ENOTFOUND, "the database holds no check-ins");
	int64_t d0 = local_midnight(tmin);
	int days = (int)((local_midnight(tmax) - d0) / DAY) + 1;
	int64_t back = (p->infectious_s + DAY - 1) / DAY;
	int onset_day = days / 2;
	if (onset_day < back)
		onset_day = (int)back;
	if (onset_day > days - 1)
		onset_day = days - 1;
	*first_day = d0;
	*ndays = days;
	struct contact_index_stats s;
	contact_index_stats(ix, &s);
	if (s.persons < 2)
		return fk_fail(err, FK_ENOTFOUND, "the index holds no persons");
	uint64_t rng = seed;
	size_t got = 0;
	for (uint64_t tries = 0; got < ncases && tries < 10000000; tries++) {
		uint32_t person = (uint32_t)(1 + splitmix64(&rng) % (s.persons - 1));
		int64_t onset = d0 + (int64_t)onset_day * DAY + 10 * 3600 +
				(int64_t)(splitmix64(&rng) % (10 * 3600));
		bool dup = false;
		for (size_t k = 0; k < got; k++)
			dup |= bc[k].c.person_id == person;
		if (dup)
			continue;
		struct case_rec c = {.id = (int64_t)got + 1,
				     .person_id = person,
				     .cls = CASE_CONFIRMED,
				     .onset_at = onset,
				     .isolated_at = onset};
		int64_t from, to;
		case_window(&c, p, onset, &from, &to);
		struct ix_scan *v = NULL;
		size_t n = 0;
		enum fk_status st = contact_index_person_scans(ix, person, from, to, &v, &n);
		free(v);
		if (st)
			return fk_fail(err, st, "cannot read the scans of person %u", person);
		if (n == 0)
			continue;
		bc[got].c = c;
		bc[got].from = from;
		bc[got].to = to;
		bc[got].now = onset;
		got++;
	}
	if (got < ncases)
		return fk_fail(err, FK_ENOTFOUND, "found only %zu persons with check-ins for cases",
			       got);
	return FK_OK;
}

/* Runs one case reps times for one kind; *secs = the median. */
static enum fk_status time_case(struct contact_index *ix, sqlite3 *db,
				const struct tracing_params *p, struct bench_case *b, bool both,
				int reps, double *secs, struct fk_err *err)
{
	double t[MAX_REPS];
	for (int r = 0; r < reps; r++) {
		struct contact_set close = {0}, secondary = {0};
		double t0 = fk_mono();
		enum fk_status st = tracing_contacts(ix, db, &b->c, p, b->now, &close,
						     both ? &secondary : NULL, err);
		t[r] = fk_mono() - t0;
		if (st)
			return st;
		struct set_sum cs, ss;
		summarise(&close, &cs);
		summarise(&secondary, &ss);
		contact_set_release(&close);
		contact_set_release(&secondary);
		if (r == 0 && !both)
			b->close = cs;
		if (r == 0 && both)
			b->secondary = ss;
		if (cs.n != b->close.n || cs.sum_exposure != b->close.sum_exposure)
			return fk_fail(err, FK_EINVAL, "case %lld: close set differs between runs",
				       (long long)b->c.id);
	}
	*secs = median(t, (size_t)reps);
	return FK_OK;
}

static void print_json(const struct contact_index_stats *s, double load_s, int64_t first_day,
		       int ndays, const struct tracing_params *p, const struct bench_case *bc,
		       size_t ncases, int reps, const double sum[4])
{
	printf("{\"load_s\":%.3f,\"scans\":%" PRIu64 ",\"bytes\":%" PRIu64
	       ",\"bytes_per_scan\":%.2f,\"first_day\":%" PRId64 ",\"days\":%d,"
	       "\"window_s\":%" PRId64 ",\"infectious_s\":%" PRId64 ",\"reps\":%d,",
	       load_s, s->scans, s->bytes, s->scans ? (double)s->bytes / (double)s->scans : 0.0,
	       first_day, ndays, p->window_s, p->infectious_s, reps);
	printf("\"close_median_s\":%.6f,\"close_p95_s\":%.6f,"
	       "\"both_median_s\":%.6f,\"both_p95_s\":%.6f,\"cases\":[",
	       sum[0], sum[1], sum[2], sum[3]);
	for (size_t k = 0; k < ncases; k++) {
		const struct bench_case *b = &bc[k];
		printf("%s{\"no\":%lld,\"person_id\":%lld,\"from\":%" PRId64 ",\"to\":%" PRId64
		       ",\"now\":%" PRId64 ",\"close_s\":%.6f,\"both_s\":%.6f,"
		       "\"close\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64 "],"
		       "\"secondary\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64 "]}",
		       k ? "," : "", (long long)b->c.id, (long long)b->c.person_id, b->from, b->to,
		       b->now, b->close_s, b->both_s, b->close.n, b->close.sum_exposure,
		       b->close.sum_person, b->secondary.n, b->secondary.sum_exposure,
		       b->secondary.sum_person);
	}
	printf("]}\n");
}

static void print_table(const struct contact_index_stats *s, double load_s, int ndays,
			const struct bench_case *bc, size_t ncases, int reps, const double sum[4])
{
	printf("index: %" PRIu64 " check-ins loaded in %.2f s, %.1f MiB, %.2f bytes a check-in\n",
	       s->scans, load_s, (double)s->bytes / (1 << 20),
	       s->scans ? (double)s->bytes / (double)s->scans : 0.0);
	printf("%zu cases over %d days, median of %d runs each\n", ncases, ndays, reps);
	printf("%4s %9s %9s %10s %10s %12s\n", "case", "person", "close", "secondary", "close ms",
	       "close+2nd ms");
	for (size_t k = 0; k < ncases; k++)
		printf("%4lld %9lld %9" PRIu64 " %10" PRIu64 " %10.2f %12.2f\n",
		       (long long)bc[k].c.id, (long long)bc[k].c.person_id, bc[k].close.n,
		       bc[k].secondary.n, bc[k].close_s * 1e3, bc[k].both_s * 1e3);
	printf("close:           median %.2f ms, p95 %.2f ms\n", sum[0] * 1e3, sum[1] * 1e3);
	printf("close+secondary: median %.2f ms, p95 %.2f ms\n", sum[2] * 1e3, sum[3] * 1e3);
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int64_t ncases = 20, reps = 5, seed = 1;
	bool json = false, close_only = false, bad = false;
	for (int i = 1; i < argc && !bad; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "--close-only"))
			close_only = true;
		else if (arg_i64(argc, argv, &i, "--cases", 1, MAX_CASES, &ncases, &bad) ||
			 arg_i64(argc, argv, &i, "--reps", 1, MAX_REPS, &reps, &bad) ||
			 arg_i64(argc, argv, &i, "--seed", 0, INT64_MAX, &seed, &bad))
			continue;
		else {
			usage(stderr);
			return 2;
		}
	}
	if (bad || !path) {
		usage(stderr);
		return 2;
	}
	int rc = 1;
	struct fk_err err = {0};
	sqlite3 *db = NULL;
	struct contact_index *ix = NULL;
	struct bench_case *bc = calloc((size_t)ncases, sizeof(*bc));
	double *cl = calloc((size_t)ncases, sizeof(double));
	double *bo = calloc((size_t)ncases, sizeof(double));
	if (!bc || !cl || !bo) {
		fprintf(stderr, "trace-bench: out of memory\n");
		goto out_free;
	}
	if (store_open(path, STORE_READONLY, &db, &err))
		goto out_err;
	double t0 = fk_mono();
	if (contact_index_load(db, INT64_MIN, INT64_MAX, false, &ix, &err))
		goto out_err;
	double load_s = fk_mono() - t0;
	struct contact_index_stats s;
	contact_index_stats(ix, &s);
	struct tracing_params p;
	tracing_params_default(&p);
	int64_t first_day = 0;
	int ndays = 0;
	if (pick_cases(ix, db, &p, (uint64_t)seed, bc, (size_t)ncases, &first_day, &ndays, &err))
		goto out_err;
	for (int64_t k = 0; k < ncases; k++) {
		if (time_case(ix, db, &p, &bc[k], false, (int)reps, &bc[k].close_s, &err) ||
		    (!close_only &&
		     time_case(ix, db, &p, &bc[k], true, (int)reps, &bc[k].both_s, &err)))
			goto out_err;
		cl[k] = bc[k].close_s;
		bo[k] = bc[k].both_s;
	}
	double sum[4];
	sum[0] = median(cl, (size_t)ncases);
	sum[1] = quantile(cl, (size_t)ncases, 0.95);
	sum[2] = median(bo, (size_t)ncases);
	sum[3] = quantile(bo, (size_t)ncases, 0.95);
	if (json)
		print_json(&s, load_s, first_day, ndays, &p, bc, (size_t)ncases, (int)reps, sum);
	else
		print_table(&s, load_s, ndays, bc, (size_t)ncases, (int)reps, sum);
	rc = 0;
	goto out_free;
out_err:
	fprintf(stderr, "trace-bench: %s\n", err.msg);
out_free:
	contact_index_free(ix);
	store_close(db);
	free(bc);
	free(cl);
	free(bo);
	return rc;
}
