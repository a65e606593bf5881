/* gen_moves.c — `fangkong gen --days N`: a city that moves.
 *
 * Design note.
 *
 * Input: the persons, households and venues already in the database (from
 * `gen` or imports).  Output: for each of the `days` days before end_day
 * (local midnights, +08:00), 3 to 7 check-ins per person, written in time
 * order through the bulk writer, so every insert appends to the checkins
 * B-tree.
 *
 * Model (tests/cli/test_gen_days.sh checks the marked properties).
 *   - Scans per person-day: 3..7 (weights 15/25/25/20/15, mean 5) [3..7].
 *   - Roles from age and occupation: workers have one fixed workplace of a
 *     kind matching the occupation (office, factory, school for teachers,
 *     hospital/clinic for medical staff, restaurants and shops for service
 *     and self-employed, a station for transport); pupils (6-17, students
 *     up to 22) a school, children under 6 a kindergarten when the city
 *     has one; couriers roam; farmers, the retired and the unemployed have
 *     no workplace.  On weekdays workers and pupils scan in at work or
 *     school in the morning.
 *   - residential_gate: a person whose home grid has a gate scans it
 *     leaving in the morning and coming back in the evening.
 *   - The other scans are activities with their hours: lunch and dinner
 *     at restaurants, shopping (supermarkets in the evening for workers,
 *     mornings and afternoons for others), markets early, errands
 *     (pharmacy, clinic, bank, hospital, gym...) in office hours, travel
 *     (stations) through the day.  Times within a window are triangular
 *     (a peak in the middle), so the day has its morning, lunch and
 *     evening peaks.
 *   - Popularity is heavy-tailed [top venue share]: within each kind the
 *     venues get a random rank and weight 1/(rank+1)^s (s 1.2 for
 *     stations, 1.0 for supermarkets, 0.5 for restaurants, which are many
 *     and visited twice a day, 0.8 otherwise).  At 1M persons the busiest
 *     venues are supermarkets, stations and markets with 20,000-55,000
 *     scans a day.  Places are mostly
 *     local: a venue is drawn by weight among those of the person's town
 *     (60%), county (30%) or the whole city (10%; stations 40%), moving up
 *     a level when the area has none of that kind.
 *   - Households go out together [co-scans]: on 30% of days a household of
 *     two or more has a joint outing (dinner on weekdays, shopping or lunch
 *     at weekends); each member with a free slot joins with 80%, scanning
 *     the same venue within 3 minutes of the first.
 *
 * Determinism.  Own PRNG (xoshiro256** seeded through splitmix64), never
 * rand().  Workplaces come from one stream of --seed; each (day,
 * household) has its own stream derived from (seed, day, household), so a
 * day is the same whatever is generated around it, and a day can be
 * generated on one thread while the previous one is written on another.
 *
 * Time order.  A day's scans are packed into 64-bit keys (second of the
 * day | venue rank | person rank, ranks in id order), radix-sorted, and
 * written in key order, which is (t, venue_id, person_id) order: the
 * table's key.  A person's scans never coincide (same venue, same
 * second): a clash moves the later one by a second.
 *
 * Speed.  Two threads: the next day is generated and sorted while the
 * current one is written (64 rows to an INSERT, bulk.c).  The writer is
 * the bottleneck; generating and sorting a 5M-scan day takes well under a
 * second.  Dense person ids (the usual case) are computed from the rank
 * instead of looked up, which missed the cache on every row.  Measured on
 * 2 shared CPUs: 1M persons x 14 days = 69.3M check-ins in 27.6 s (2.5M
 * rows/s, 475 MB resident); 200k x 7 days = 6.9M in about 4-7 s.
 */
#include "checkins/checkins.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkins/bulk_int.h"
#include "lib/rng.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define MOVES_MAX_DAYS 366
#define MOVES_BATCH 250000
#define MOVES_PER_DAY_MAX 7
#define DAY_SECONDS 86400
#define CST_OFFSET (8 * 3600)

/* ---- random numbers ---- */

/* A stream per (a, b, c): e.g. (seed, person, day). */
static void mrng_seed(struct fk_rng *r, uint64_t a, uint64_t b, uint64_t c)
{
	fk_rng_seed(r, a * 0xD1342543DE82EF95ull ^ fk_splitmix64(&b) ^ (c * 0x9E3779B97F4A7C15ull));
}

/* Triangular on [lo, lo + span): a peak in the middle. */
static inline int tri(struct fk_rng *r, int lo, int span)
{
	return lo + (int)((fk_rng_below(r, (uint32_t)span) + fk_rng_below(r, (uint32_t)span)) / 2);
}

static size_t pick_weighted(struct fk_rng *r, const unsigned *w, size_t n)
{
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += w[i];
	return fk_rng_pick(r, w, n, sum);
}

/* ---- venue kinds ---- */

enum vkind {
	VK_SUPERMARKET,
	VK_MARKET,
	VK_RESTAURANT,
	VK_SCHOOL,
	VK_KINDERGARTEN,
	VK_HOSPITAL,
	VK_CLINIC,
	VK_PHARMACY,
	VK_STATION,
	VK_HOTEL,
	VK_OFFICE,
	VK_FACTORY,
	VK_GATE,
	VK_BANK,
	VK_GYM,
	VK_OTHER,
	VK_COUNT
};

static const char *const vkind_names[VK_COUNT] = {
	"supermarket", "market", "restaurant", "school", "kindergarten", "hospital",
	"clinic",      "pharmacy", "station",  "hotel",  "office",       "factory",
	"residential_gate", "bank", "gym", "other",
};

/* Zipf exponent by kind, x10. */
static const unsigned vkind_zipf10[VK_COUNT] = {
	[VK_SUPERMARKET] = 10, [VK_MARKET] = 8,     [VK_RESTAURANT] = 5, [VK_SCHOOL] = 8,
	[VK_KINDERGARTEN] = 8, [VK_HOSPITAL] = 8,   [VK_CLINIC] = 8,     [VK_PHARMACY] = 8,
	[VK_STATION] = 12,     [VK_HOTEL] = 8,      [VK_OFFICE] = 8,     [VK_FACTORY] = 8,
	[VK_GATE] = 8,         [VK_BANK] = 8,       [VK_GYM] = 8,        [VK_OTHER] = 8,
};

static enum vkind vkind_of(const char *s)
{
	for (int k = 0; k < VK_COUNT; k++)
		if (!strcmp(s, vkind_names[k]))
			return (enum vkind)k;
	return VK_OTHER;
}

/* ---- the city in memory ---- */

enum level { LV_TOWN, LV_COUNTY, LV_CITY, LV_COUNT };

/* Venues of one kind grouped by area at one level: bucket b holds
 * idx[off[b] .. off[b+1]) with cumulative weights cum[] (same range). */
struct bucketed {
	uint32_t *off; /* nareas + 1 */
	uint32_t *idx;
	double *cum;
};

enum role { ROLE_FREE, ROLE_WORKER, ROLE_PUPIL, ROLE_ROAMER };

struct mperson {
	int32_t town, county;   /* area indices, -1 when unknown */
	int32_t work;           /* venue index, -1 for none */
	int32_t work_town, work_county;
	int32_t gate;           /* venue index, -1 for none */
	uint8_t role;
};

struct city {
	/* venues in id order */
	size_t nv;
	int64_t *vid;
	uint8_t *vkind;
	int32_t *vtown, *vcounty;
	/* persons in id order */
	size_t np;
	int64_t *pid;
	struct mperson *p;
	/* households: persons (ranks) grouped, group g = order[gstart[g] ..
	 * gstart[g+1]) */
	uint32_t *order;
	uint32_t *gstart;
	size_t ng;
	/* areas */
	size_t nlevel[LV_COUNT];
	struct bucketed b[VK_COUNT][LV_COUNT];
	bool has_kind[VK_COUNT];
	/* key packing */
	unsigned pbits, vbits;
};

static void city_release(struct city *c)
{
	free(c->vid);
	free(c->vkind);
	free(c->vtown);
	free(c->vcounty);
	free(c->pid);
	free(c->p);
	free(c->order);
	free(c->gstart);
	for (int k = 0; k < VK_COUNT; k++)
		for (int l = 0; l < LV_COUNT; l++) {
			free(c->b[k][l].off);
			free(c->b[k][l].idx);
			free(c->b[k][l].cum);
		}
	memset(c, 0, sizeof(*c));
}

/* Sorted region codes of one level, to map a code prefix to an index. */
struct codes {
	char (*code)[16];
	size_t n;
	size_t len;
};

static void codes_release(struct codes *cs)
{
	free(cs->code);
	cs->code = NULL;
}

static enum fk_status codes_load(sqlite3 *db, int level, size_t len, struct codes *cs,
				 struct fk_err *err)
{
	int64_t n = store_query_int(db, "SELECT count(*) FROM regions", 0);
	sqlite3_stmt *q = store_prepare(db, "SELECT code FROM regions WHERE level=?1 ORDER BY code",
					err);
	if (!q)
		return FK_EDB;
	sqlite3_bind_int(q, 1, level);
	cs->code = fk_xcalloc(n > 0 ? (size_t)n : 1, sizeof(*cs->code));
	cs->n = 0;
	cs->len = len;
	while (sqlite3_step(q) == SQLITE_ROW && cs->n < (size_t)n) {
		const char *s = (const char *)sqlite3_column_text(q, 0);
		if (s && strlen(s) == len)
			fk_strlcpy(cs->code[cs->n++], s, sizeof(cs->code[0]));
	}
	sqlite3_finalize(q);
	return FK_OK;
}

/* Index of the region whose code is the first len bytes of s, or -1. */
static int32_t codes_find(const struct codes *cs, const char *s, size_t slen)
{
	if (slen < cs->len)
		return -1;
	size_t lo = 0, hi = cs->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(cs->code[mid], s, cs->len);
		if (!c)
			return (int32_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static unsigned bits_for(size_t n)
{
	unsigned b = 1;
	while (b < 63 && ((size_t)1 << b) < n)
		b++;
	return b;
}

static double zipf_weight(unsigned rank, unsigned s10)
{
	return pow((double)(rank + 1), -(double)s10 / 10.0);
}

static enum fk_status load_venues(sqlite3 *db, struct city *c, const struct codes *towns,
				  const struct codes *counties, struct fk_err *err)
{
	int64_t n = store_query_int(db, "SELECT count(*) FROM venue_keys", 0);
	sqlite3_stmt *q = store_prepare(db,
					"SELECT k.id, v.region_code, v.kind FROM venue_keys k"
					" JOIN venues v ON v.code = k.code ORDER BY k.id",
					err);
	if (!q)
		return FK_EDB;
	size_t cap = n > 0 ? (size_t)n : 1;
	c->vid = fk_xcalloc(cap, sizeof(int64_t));
	c->vkind = fk_xcalloc(cap, 1);
	c->vtown = fk_xcalloc(cap, sizeof(int32_t));
	c->vcounty = fk_xcalloc(cap, sizeof(int32_t));
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && c->nv < cap) {
		const char *region = (const char *)sqlite3_column_text(q, 1);
		const char *kind = (const char *)sqlite3_column_text(q, 2);
		size_t rl = region ? strlen(region) : 0;
		size_t i = c->nv++;
		c->vid[i] = sqlite3_column_int64(q, 0);
		c->vkind[i] = (uint8_t)vkind_of(kind ? kind : "");
		c->vtown[i] = region ? codes_find(towns, region, rl) : -1;
		c->vcounty[i] = region ? codes_find(counties, region, rl) : -1;
	}
	enum fk_status st = FK_OK;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		st = fk_fail(err, FK_EDB, "cannot read venues: %s", sqlite3_errmsg(db));
	sqlite3_finalize(q);
	return st;
}

/* Builds the per-kind, per-level weighted buckets. */
static void build_buckets(struct city *c, uint64_t seed)
{
	struct fk_rng r;
	size_t nv = c->nv;
	uint32_t *perm = fk_xcalloc(nv ? nv : 1, sizeof(uint32_t));
	double *w = fk_xcalloc(nv ? nv : 1, sizeof(double));
	mrng_seed(&r, seed, 0x76656e7565ull, 0); /* "venue" */
	for (int k = 0; k < VK_COUNT; k++) {
		/* a random rank among the venues of the kind (Fisher-Yates) */
		size_t m = 0;
		for (size_t i = 0; i < nv; i++)
			if (c->vkind[i] == k)
				perm[m++] = (uint32_t)i;
		for (size_t i = m; i > 1; i--) {
			size_t j = fk_rng_below(&r, (uint32_t)i);
			uint32_t t = perm[i - 1];
			perm[i - 1] = perm[j];
			perm[j] = t;
		}
		for (size_t i = 0; i < m; i++) {
			w[perm[i]] = zipf_weight((unsigned)i, vkind_zipf10[k]);
		}
		c->has_kind[k] = m > 0;
		for (int l = 0; l < LV_COUNT; l++) {
			struct bucketed *b = &c->b[k][l];
			size_t na = c->nlevel[l];
			b->off = fk_xcalloc(na + 1, sizeof(uint32_t));
			b->idx = fk_xcalloc(m ? m : 1, sizeof(uint32_t));
			b->cum = fk_xcalloc(m ? m : 1, sizeof(double));
			for (size_t i = 0; i < nv; i++) {
				if (c->vkind[i] != k)
					continue;
				int32_t a = l == LV_TOWN ? c->vtown[i] : l == LV_COUNTY ? c->vcounty[i] : 0;
				if (a >= 0)
					b->off[a + 1]++;
			}
			for (size_t a = 0; a < na; a++)
				b->off[a + 1] += b->off[a];
			uint32_t *fill = fk_xcalloc(na ? na : 1, sizeof(uint32_t));
			for (size_t i = 0; i < nv; i++) {
				if (c->vkind[i] != k)
					continue;
				int32_t a = l == LV_TOWN ? c->vtown[i] : l == LV_COUNTY ? c->vcounty[i] : 0;
				if (a < 0)
					continue;
				uint32_t pos = b->off[a] + fill[a]++;
				b->idx[pos] = (uint32_t)i;
			}
			free(fill);
			for (size_t a = 0; a < na; a++) {
				double s = 0;
				for (uint32_t j = b->off[a]; j < b->off[a + 1]; j++) {
					s += w[b->idx[j]];
					b->cum[j] = s;
				}
			}
		}
	}
	free(perm);
	free(w);
}

/* A venue of kind k near area (town, county): level drawn with the given
 * probability of the town and of the county, moving up when the area has
 * none.  -1 if the city has no venue of the kind. */
static int32_t pick_venue(const struct city *c, struct fk_rng *r, enum vkind k, int32_t town,
			  int32_t county, double p_town, double p_county)
{
	if (!c->has_kind[k])
		return -1;
	double u = fk_rng_unit(r);
	int l = u < p_town ? LV_TOWN : u < p_town + p_county ? LV_COUNTY : LV_CITY;
	for (; l < LV_COUNT; l++) {
		int32_t a = l == LV_TOWN ? town : l == LV_COUNTY ? county : 0;
		if (a < 0)
			continue;
		const struct bucketed *b = &c->b[k][l];
		uint32_t lo = b->off[a], hi = b->off[a + 1];
		if (lo == hi)
			continue;
		/* the first venue whose cumulative weight passes x */
		double x = fk_rng_unit(r) * b->cum[hi - 1];
		hi--;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (b->cum[mid] > x)
				hi = mid;
			else
				lo = mid + 1;
		}
		return (int32_t)b->idx[lo];
	}
	return -1;
}

/* ---- persons ---- */

static enum vkind work_kind(struct fk_rng *r, const char *occ, int age, enum role *role)
{
	*role = ROLE_WORKER;
	if (age < 6) {
		*role = ROLE_PUPIL;
		return VK_KINDERGARTEN;
	}
	if (age < 18 || (!strcmp(occ, "student") && age < 23)) {
		*role = ROLE_PUPIL;
		return VK_SCHOOL;
	}
	if (!strcmp(occ, "office"))
		return VK_OFFICE;
	if (!strcmp(occ, "teacher"))
		return VK_SCHOOL;
	if (!strcmp(occ, "medical"))
		return fk_rng_below(r, 10) < 6 ? VK_HOSPITAL : VK_CLINIC;
	if (!strcmp(occ, "isolation_staff"))
		return VK_HOSPITAL;
	if (!strcmp(occ, "worker") || !strcmp(occ, "construction") || !strcmp(occ, "port"))
		return VK_FACTORY;
	if (!strcmp(occ, "cold_chain"))
		return fk_rng_below(r, 2) ? VK_MARKET : VK_FACTORY;
	if (!strcmp(occ, "transport"))
		return VK_STATION;
	if (!strcmp(occ, "service")) {
		static const unsigned w[] = {40, 25, 15, 10, 10};
		static const enum vkind k[] = {VK_RESTAURANT, VK_SUPERMARKET, VK_HOTEL, VK_BANK,
					       VK_GYM};
		return k[pick_weighted(r, w, 5)];
	}
	if (!strcmp(occ, "self_employed")) {
		static const unsigned w[] = {40, 30, 20, 10};
		static const enum vkind k[] = {VK_RESTAURANT, VK_MARKET, VK_SUPERMARKET,
					       VK_PHARMACY};
		return k[pick_weighted(r, w, 4)];
	}
	if (!strcmp(occ, "courier")) {
		*role = ROLE_ROAMER;
		return VK_COUNT;
	}
	*role = ROLE_FREE;
	return VK_COUNT;
}

struct pload {
	uint32_t rank;
	int64_t household;
};

static int pload_cmp(const void *a, const void *b)
{
	const struct pload *x = a, *y = b;
	if (x->household != y->household)
		return x->household < y->household ? -1 : 1;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

static enum fk_status load_persons(sqlite3 *db, struct city *c, const struct codes *towns,
				   const struct codes *counties, uint64_t seed, int ref_year,
				   struct fk_err *err)
{
	int64_t n = store_query_int(db, "SELECT count(*) FROM persons", 0);
	size_t cap = n > 0 ? (size_t)n : 1;
	sqlite3_stmt *q = store_prepare(db,
					"SELECT id, grid_code, coalesce(household_id, 0), occupation,"
					" birth_date FROM persons ORDER BY id",
					err);
	if (!q)
		return FK_EDB;
	size_t ng = 0, gates = 0;
	for (size_t i = 0; i < c->nv; i++)
		gates += c->vkind[i] == VK_GATE;
	/* gates by grid code: (code, venue index) sorted */
	struct gate_ent {
		char grid[16];
		int32_t v;
	} *gate = fk_xcalloc(gates ? gates : 1, sizeof(*gate));
	sqlite3_stmt *gq = store_prepare(db,
					 "SELECT k.id, v.region_code FROM venues v JOIN venue_keys k"
					 " ON k.code = v.code WHERE v.kind = 'residential_gate'"
					 " ORDER BY v.region_code, k.id",
					 err);
	if (!gq) {
		sqlite3_finalize(q);
		free(gate);
		return FK_EDB;
	}
	while (sqlite3_step(gq) == SQLITE_ROW && ng < gates) {
		int64_t id = sqlite3_column_int64(gq, 0);
		const char *g = (const char *)sqlite3_column_text(gq, 1);
		/* venue index by id (ids ascending in c->vid) */
		size_t lo = 0, hi = c->nv;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (c->vid[mid] < id)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < c->nv && c->vid[lo] == id && g) {
			if (ng && !strcmp(gate[ng - 1].grid, g))
				continue; /* one gate per grid: the first */
			fk_strlcpy(gate[ng].grid, g, sizeof(gate[ng].grid));
			gate[ng++].v = (int32_t)lo;
		}
	}
	sqlite3_finalize(gq);

	c->pid = fk_xcalloc(cap, sizeof(int64_t));
	c->p = fk_xcalloc(cap, sizeof(struct mperson));
	struct pload *pl = fk_xcalloc(cap, sizeof(struct pload));
	struct fk_rng r;
	mrng_seed(&r, seed, 0x776f726bull, 0); /* "work" */
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && c->np < cap) {
		size_t i = c->np++;
		struct mperson *p = &c->p[i];
		const char *grid = (const char *)sqlite3_column_text(q, 1);
		const char *occ = (const char *)sqlite3_column_text(q, 3);
		const char *birth = (const char *)sqlite3_column_text(q, 4);
		size_t gl = grid ? strlen(grid) : 0;
		c->pid[i] = sqlite3_column_int64(q, 0);
		pl[i].rank = (uint32_t)i;
		pl[i].household = sqlite3_column_int64(q, 2);
		if (!pl[i].household)
			pl[i].household = -(int64_t)i - 1; /* alone */
		p->town = grid ? codes_find(towns, grid, gl) : -1;
		p->county = grid ? codes_find(counties, grid, gl) : -1;
		p->gate = -1;
		if (grid && ng) {
			size_t lo = 0, hi = ng;
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				int cmp = strcmp(gate[mid].grid, grid);
				if (!cmp) {
					p->gate = gate[mid].v;
					break;
				}
				if (cmp < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
		}
		int age = 40;
		int64_t by;
		char ybuf[5];
		if (birth && strlen(birth) >= 4) {
			memcpy(ybuf, birth, 4);
			ybuf[4] = '\0';
			if (fk_parse_i64(ybuf, 1800, 9999, &by))
				age = ref_year - (int)by;
		}
		enum role role;
		enum vkind wk = work_kind(&r, occ ? occ : "", age, &role);
		p->work = -1;
		if (wk < VK_COUNT)
			p->work = pick_venue(c, &r, wk, p->town, p->county, 0.6, 0.3);
		if (p->work < 0 && (role == ROLE_WORKER || role == ROLE_PUPIL))
			role = ROLE_FREE;
		p->work_town = p->work >= 0 ? c->vtown[p->work] : p->town;
		p->work_county = p->work >= 0 ? c->vcounty[p->work] : p->county;
		p->role = (uint8_t)role;
	}
	enum fk_status st = FK_OK;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		st = fk_fail(err, FK_EDB, "cannot read persons: %s", sqlite3_errmsg(db));
	sqlite3_finalize(q);
	free(gate);
	if (!st) {
		qsort(pl, c->np, sizeof(*pl), pload_cmp);
		c->order = fk_xcalloc(c->np ? c->np : 1, sizeof(uint32_t));
		c->gstart = fk_xcalloc(c->np + 1, sizeof(uint32_t));
		for (size_t i = 0; i < c->np; i++) {
			c->order[i] = pl[i].rank;
			if (!i || pl[i].household != pl[i - 1].household)
				c->gstart[c->ng++] = (uint32_t)i;
		}
		c->gstart[c->ng] = (uint32_t)c->np;
	}
	free(pl);
	return st;
}

/* ---- one day ---- */

enum act {
	ACT_GATE_OUT,
	ACT_WORK,
	ACT_GATE_IN,
	ACT_LUNCH,
	ACT_DINNER,
	ACT_SHOP,
	ACT_MARKET,
	ACT_ERRAND,
	ACT_TRAVEL,
	ACT_COUNT
};

#define FLEX_FIRST ACT_LUNCH
#define NFLEX (ACT_COUNT - FLEX_FIRST)

/* Weights of the free activities (lunch, dinner, shop, market, errand,
 * travel) by situation. */
static const unsigned flex_weekday_worker[NFLEX] = {40, 22, 22, 4, 9, 3};
static const unsigned flex_free[NFLEX] = {18, 18, 28, 18, 15, 3};
static const unsigned flex_pupil[NFLEX] = {25, 25, 25, 8, 10, 7};
static const unsigned flex_roamer[NFLEX] = {20, 10, 30, 10, 27, 3};

static const unsigned scans_weights[5] = {15, 25, 25, 20, 15}; /* 3..7 */

#define H(h, m) ((h) * 3600 + (m) * 60)

struct day_ctx {
	const struct city *c;
	uint64_t seed;
	int64_t day;  /* local day number (days since 1970-01-01, +08:00) */
	bool weekend;
	uint64_t *keys, *tmp;
	size_t n;
	unsigned pshift;
};

static inline void emit(struct day_ctx *d, uint32_t person, int32_t venue, int sec,
			uint64_t *mine, int *nmine)
{
	uint64_t vp = ((uint64_t)(uint32_t)venue << d->pshift) | person;
	unsigned shift = d->c->vbits + d->c->pbits;
	int step = 1;
	if (sec < 0)
		sec = 0;
	if (sec >= DAY_SECONDS)
		sec = DAY_SECONDS - 1;
	/* a clash moves the scan a second later (earlier at the day's end);
	 * a person has at most MOVES_PER_DAY_MAX scans, so this ends */
	for (;;) {
		uint64_t key = ((uint64_t)sec << shift) | vp;
		bool clash = false;
		for (int i = 0; i < *nmine; i++)
			clash |= mine[i] == key;
		if (!clash) {
			mine[(*nmine)++] = key;
			d->keys[d->n++] = key;
			return;
		}
		if (sec + step >= DAY_SECONDS)
			step = -1;
		sec += step;
	}
}

static int act_time(struct fk_rng *r, enum act a, enum role role, bool weekday)
{
	bool busy = weekday && (role == ROLE_WORKER || role == ROLE_PUPIL);
	switch (a) {
	case ACT_GATE_OUT:
		return busy ? tri(r, H(6, 20), 130 * 60) : tri(r, H(7, 30), 180 * 60);
	case ACT_WORK:
		return role == ROLE_PUPIL ? H(7, 15) + (int)fk_rng_below(r, 45 * 60)
					  : tri(r, H(7, 30), 90 * 60);
	case ACT_GATE_IN:
		if (role == ROLE_PUPIL && weekday)
			return H(16, 30) + (int)fk_rng_below(r, 90 * 60);
		return busy ? tri(r, H(17, 30), 210 * 60) : tri(r, H(16, 0), 240 * 60);
	case ACT_LUNCH:
		return tri(r, H(11, 20), 110 * 60);
	case ACT_DINNER:
		return tri(r, H(17, 40), 170 * 60);
	case ACT_SHOP:
		if (busy)
			return tri(r, H(17, 30), 180 * 60);
		return fk_rng_below(r, 2) ? tri(r, H(8, 30), 180 * 60) : tri(r, H(14, 30), 300 * 60);
	case ACT_MARKET:
		return tri(r, H(6, 30), 240 * 60);
	case ACT_ERRAND:
		return H(9, 0) + (int)fk_rng_below(r, 8 * 3600);
	case ACT_TRAVEL:
	case ACT_COUNT:
		break;
	}
	return H(6, 30) + (int)fk_rng_below(r, 13 * 3600 + 1800);
}

/* The venue for a free activity near (town, county); falls back to a
 * supermarket, a restaurant, then any venue, so a person always gets the
 * scans drawn. */
static int32_t act_venue(const struct city *c, struct fk_rng *r, enum act a, int32_t town,
			 int32_t county)
{
	static const unsigned errand_w[] = {25, 20, 20, 10, 10, 5, 5, 5};
	static const enum vkind errand_k[] = {VK_PHARMACY, VK_CLINIC, VK_BANK,   VK_HOSPITAL,
					      VK_GYM,      VK_HOTEL,  VK_OFFICE, VK_OTHER};
	int32_t v = -1;
	switch (a) {
	case ACT_LUNCH:
	case ACT_DINNER:
		v = pick_venue(c, r, VK_RESTAURANT, town, county, 0.6, 0.3);
		break;
	case ACT_SHOP:
		v = pick_venue(c, r, VK_SUPERMARKET, town, county, 0.6, 0.3);
		break;
	case ACT_MARKET:
		v = pick_venue(c, r, VK_MARKET, town, county, 0.6, 0.3);
		break;
	case ACT_ERRAND:
		v = pick_venue(c, r, errand_k[pick_weighted(r, errand_w, 8)], town, county, 0.6,
			       0.3);
		break;
	case ACT_TRAVEL:
		v = pick_venue(c, r, VK_STATION, town, county, 0.3, 0.3);
		break;
	default:
		break;
	}
	if (v < 0)
		v = pick_venue(c, r, VK_SUPERMARKET, town, county, 0.6, 0.3);
	if (v < 0)
		v = pick_venue(c, r, VK_RESTAURANT, town, county, 0.6, 0.3);
	if (v < 0)
		v = (int32_t)fk_rng_below(r, (uint32_t)c->nv);
	return v;
}

static void gen_household(struct day_ctx *d, size_t g)
{
	const struct city *c = d->c;
	uint32_t first = c->gstart[g], end = c->gstart[g + 1];
	bool weekday = !d->weekend;
	struct fk_rng r;
	mrng_seed(&r, d->seed, (uint64_t)d->day, (uint64_t)c->order[first] + 1);

	/* the joint outing of the day, if any */
	int32_t joint_v = -1;
	int joint_t = 0;
	if (end - first >= 2 && fk_rng_below(&r, 100) < 30) {
		const struct mperson *h = &c->p[c->order[first]];
		enum act a = weekday ? ACT_DINNER : fk_rng_below(&r, 2) ? ACT_SHOP : ACT_LUNCH;
		joint_v = act_venue(c, &r, a, h->town, h->county);
		joint_t = act_time(&r, a, ROLE_FREE, weekday);
	}
	for (uint32_t m = first; m < end; m++) {
		uint32_t rank = c->order[m];
		const struct mperson *p = &c->p[rank];
		enum role role = (enum role)p->role;
		uint64_t mine[MOVES_PER_DAY_MAX + 2] = {0};
		int nmine = 0;
		int n = 3 + (int)pick_weighted(&r, scans_weights, 5);
		bool busy = weekday && (role == ROLE_WORKER || role == ROLE_PUPIL);
		/* fixed scans */
		if (p->gate >= 0)
			emit(d, rank, p->gate, act_time(&r, ACT_GATE_OUT, role, weekday), mine, &nmine);
		if (busy)
			emit(d, rank, p->work, act_time(&r, ACT_WORK, role, weekday), mine, &nmine);
		if (p->gate >= 0 && nmine < n)
			emit(d, rank, p->gate, act_time(&r, ACT_GATE_IN, role, weekday), mine, &nmine);
		if (joint_v >= 0 && nmine < n && fk_rng_below(&r, 100) < 80)
			emit(d, rank, joint_v, joint_t + (int)fk_rng_below(&r, 180), mine, &nmine);
		const unsigned *w = role == ROLE_ROAMER ? flex_roamer
				    : busy		? flex_weekday_worker
				    : role == ROLE_PUPIL ? flex_pupil
							 : flex_free;
		while (nmine < n) {
			enum act a = (enum act)(FLEX_FIRST + pick_weighted(&r, w, NFLEX));
			/* lunch near work on working days */
			bool at_work = busy && a == ACT_LUNCH;
			int32_t v = act_venue(c, &r, a, at_work ? p->work_town : p->town,
					      at_work ? p->work_county : p->county);
			emit(d, rank, v, act_time(&r, a, role, weekday), mine, &nmine);
		}
	}
}

/* LSD radix sort of keys[0..n) on the low `bits` bits, 16 bits a pass. */
static void radix_sort(uint64_t *keys, uint64_t *tmp, size_t n, unsigned bits)
{
	size_t *count = fk_xcalloc(65536, sizeof(size_t));
	uint64_t *src = keys, *dst = tmp;
	for (unsigned shift = 0; shift < bits; shift += 16) {
		memset(count, 0, 65536 * sizeof(size_t));
		for (size_t i = 0; i < n; i++)
			count[(src[i] >> shift) & 0xFFFF]++;
		size_t sum = 0;
		for (size_t i = 0; i < 65536; i++) {
			size_t t = count[i];
			count[i] = sum;
			sum += t;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i] >> shift) & 0xFFFF]++] = src[i];
		uint64_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != keys)
		memcpy(keys, src, n * sizeof(uint64_t));
	free(count);
}

static void *gen_day(void *arg)
{
	struct day_ctx *d = arg;
	d->n = 0;
	for (size_t g = 0; g < d->c->ng; g++)
		gen_household(d, g);
	radix_sort(d->keys, d->tmp, d->n, 17 + d->c->vbits + d->c->pbits);
	return NULL;
}

/* ---- driver ---- */

static int64_t local_midnight(int64_t t)
{
	int64_t l = t + CST_OFFSET;
	int64_t days = l >= 0 ? l / DAY_SECONDS : (l - DAY_SECONDS + 1) / DAY_SECONDS;
	return days * DAY_SECONDS - CST_OFFSET;
}

static enum fk_status write_day(struct checkin_writer *w, const struct day_ctx *d,
				struct fk_progress *prog, uint64_t *written, struct fk_err *err)
{
	const struct city *c = d->c;
	unsigned shift = c->vbits + c->pbits;
	uint64_t pmask = ((uint64_t)1 << c->pbits) - 1, vmask = ((uint64_t)1 << c->vbits) - 1;
	int64_t start = d->day * DAY_SECONDS - CST_OFFSET;
	struct checkin ck = {0, 0, 0, TEMP_DC_NONE, CHECKIN_IMPORT};
	/* persons are in random order within a second: a rank -> id lookup
	 * misses the cache every time, so dense ids are computed instead */
	bool dense = c->np && c->pid[c->np - 1] - c->pid[0] == (int64_t)c->np - 1;
	for (size_t i = 0; i < d->n; i++) {
		uint64_t k = d->keys[i];
		ck.t = start + (int64_t)(k >> shift);
		ck.venue_id = c->vid[(k >> c->pbits) & vmask];
		if (dense) {
			ck.person_id = c->pid[0] + (int64_t)(k & pmask);
		} else {
			if (i + 16 < d->n)
				__builtin_prefetch(&c->pid[d->keys[i + 16] & pmask]);
			ck.person_id = c->pid[k & pmask];
		}
		enum fk_status st = checkin_writer_add_many(w, &ck, err);
		if (st)
			return st;
		if ((i & 65535) == 65535 && prog->enabled)
			fk_progress_update(prog, checkin_writer_inserted(w));
	}
	enum fk_status st = checkin_writer_flush(w, err);
	*written = checkin_writer_inserted(w);
	return st;
}

enum fk_status checkins_gen(sqlite3 *db, const struct moves_options *opt, uint64_t *written,
			    struct fk_err *err)
{
	struct city c;
	struct codes towns = {0}, counties = {0};
	struct bulk_pragmas saved;
	struct checkin_writer *w = NULL;
	struct day_ctx dc[2];
	struct fk_progress prog;
	enum fk_status st;
	uint64_t total = 0;
	pthread_t th;
	bool running = false;

	memset(&c, 0, sizeof(c));
	memset(&saved, 0, sizeof(saved));
	memset(dc, 0, sizeof(dc));
	memset(&prog, 0, sizeof(prog));
	if (written)
		*written = 0;
	if (opt->days < 1 || opt->days > MOVES_MAX_DAYS)
		return fk_fail(err, FK_EINVAL, "days must be 1..%d", MOVES_MAX_DAYS);
	int64_t end = opt->end_day ? local_midnight(opt->end_day) : local_midnight(fk_now());
	if (store_query_int(db, "SELECT EXISTS(SELECT 1 FROM checkins)", 1))
		return fk_fail(err, FK_ECONFLICT,
			       "the database already holds check-ins; gen --days fills an empty"
			       " checkins table");
	double t0 = fk_mono();
	if ((st = codes_load(db, 4, 9, &towns, err)) || (st = codes_load(db, 3, 6, &counties, err)))
		goto release;
	c.nlevel[LV_TOWN] = towns.n;
	c.nlevel[LV_COUNTY] = counties.n;
	c.nlevel[LV_CITY] = 1;
	if ((st = load_venues(db, &c, &towns, &counties, err)))
		goto release;
	if (!c.nv) {
		st = fk_fail(err, FK_EINVAL, "the database has no venues to scan");
		goto release;
	}
	build_buckets(&c, opt->seed);
	{
		/* ages are counted at the civil year of end_day */
		char when[32];
		int64_t y = 2022;
		fk_format_time(end, when, sizeof(when));
		when[4] = '\0';
		if (!fk_parse_i64(when, 1, 9999, &y))
			y = 2022;
		if ((st = load_persons(db, &c, &towns, &counties, opt->seed, (int)y, err)))
			goto release;
	}
	if (!c.np) {
		st = fk_fail(err, FK_EINVAL, "the database has no persons to move");
		goto release;
	}
	c.pbits = bits_for(c.np);
	c.vbits = bits_for(c.nv);
	if (17 + c.pbits + c.vbits > 64) {
		st = fk_fail(err, FK_EINVAL, "too many persons and venues (%zu, %zu) to generate moves",
			     c.np, c.nv);
		goto release;
	}
	if (!opt->quiet)
		fprintf(stderr, "moves: %zu persons, %zu venues loaded in %.1f s\n", c.np, c.nv,
			fk_mono() - t0);
	for (int i = 0; i < 2; i++) {
		dc[i].c = &c;
		dc[i].seed = opt->seed;
		dc[i].pshift = c.pbits;
		dc[i].keys = fk_xcalloc(c.np * MOVES_PER_DAY_MAX + 1, sizeof(uint64_t));
		dc[i].tmp = fk_xcalloc(c.np * MOVES_PER_DAY_MAX + 1, sizeof(uint64_t));
	}
	if ((st = bulk_tune(db, &saved, err)))
		goto release;
	if ((st = checkin_writer_open(db, MOVES_BATCH, &w, err)))
		goto restore;
	if (!opt->quiet)
		fk_progress_init(&prog, "check-ins", (uint64_t)c.np * 5 * (uint64_t)opt->days);
	int64_t first_day = (end + CST_OFFSET) / DAY_SECONDS - opt->days;
	/* day i is generated into dc[i % 2]; day i + 1 on a second thread
	 * while day i is written */
	for (int i = 0; i < opt->days && !st; i++) {
		struct day_ctx *cur = &dc[i % 2];
		if (i == 0) {
			cur->day = first_day;
			cur->weekend = (cur->day + 3) % 7 >= 5; /* 1970-01-01 was a Thursday */
			gen_day(cur);
		} else if (running) {
			pthread_join(th, NULL);
			running = false;
		}
		if (i + 1 < opt->days) {
			struct day_ctx *next = &dc[(i + 1) % 2];
			next->day = first_day + i + 1;
			next->weekend = (next->day + 3) % 7 >= 5;
			if (pthread_create(&th, NULL, gen_day, next) == 0)
				running = true;
			else
				gen_day(next);
		}
		st = write_day(w, cur, &prog, &total, err);
	}
	if (running)
		pthread_join(th, NULL);
	if (!opt->quiet)
		fk_progress_done(&prog, total);
	if (!st && !opt->quiet)
		fprintf(stderr, "moves: %llu check-ins over %d days in %.1f s\n",
			(unsigned long long)total, opt->days, fk_mono() - t0);
	if (written)
		*written = total;
restore:
	checkin_writer_free(w);
	bulk_restore(db, &saved);
release:
	for (int i = 0; i < 2; i++) {
		free(dc[i].keys);
		free(dc[i].tmp);
	}
	codes_release(&towns);
	codes_release(&counties);
	city_release(&c);
	return st;
}
