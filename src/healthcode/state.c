/* state.c — every person's colour at once.
 *
 * Design note.  Most people have no fact at all and are green until one
 * arrives, so the recompute never reads the 3,000,000 persons rows.  A
 * person's colour can depend on three things only: their own facts (read
 * in bulk from every provider, sorted by person), the risk areas their
 * grid lies in (the residents of each area are one range scan of
 * persons_grid), and their occupation when the policy tests it
 * periodically (persons_occupation).  The union of those persons is
 * evaluated with the same hc_evaluate as a single person, so the bulk and
 * the single answers cannot drift apart; everyone else is green with no
 * next change.  A bulk-fact person who is neither a resident of an area
 * nor of a key occupation gets an empty grid and occupation: neither can
 * matter for them.
 *
 * The result is one byte a person (colour and top rule) and the next time
 * the colour could change, indexed by person id.
 */
#include "healthcode/healthcode.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access/access.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

/* facts older than this cannot matter to any shipped policy (contacts,
 * arrivals, tests: 60 days; see the providers) */
#define HISTORY_S (60 * 86400)

struct hc_city {
	int64_t at;
	uint32_t max_id;
	uint8_t *code;     /* colour | (rule + 1) << 2; 0 = green, no rule */
	int64_t *next;     /* next change; 0 = never */
	char policy_version[64];
};

struct attr {
	char grid[20];
	char occupation[24];
	char household[64];
};

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int cmp_bulk(const void *a, const void *b)
{
	const struct hc_bulk_fact *x = a, *y = b;
	return (x->person_id > y->person_id) - (x->person_id < y->person_id);
}

/* Reads (id, grid, occupation, household label) rows of st into attrs, marking each. */
static enum fk_status read_attrs(sqlite3 *db, sqlite3_stmt *st, uint32_t max_id,
				 uint32_t *index, struct attr **attrs, size_t *nattrs,
				 size_t *cap, struct fk_err *err)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id <= 0 || id > max_id || index[id])
			continue;
		if (*nattrs == *cap) {
			size_t c = *cap ? *cap * 2 : 4096;
			struct attr *v = realloc(*attrs, c * sizeof(*v));
			if (!v)
				return fk_fail(err, FK_ENOMEM, "out of memory reading persons");
			*attrs = v;
			*cap = c;
		}
		struct attr *a = &(*attrs)[*nattrs];
		const char *g = (const char *)sqlite3_column_text(st, 1);
		const char *o = (const char *)sqlite3_column_text(st, 2);
		fk_strlcpy(a->grid, g ? g : "", sizeof(a->grid));
		fk_strlcpy(a->occupation, o ? o : "", sizeof(a->occupation));
		const char *h = (const char *)sqlite3_column_text(st, 3);
		fk_strlcpy(a->household, h ? h : "", sizeof(a->household));
		index[id] = (uint32_t)++*nattrs;
	}
	if (rc != SQLITE_DONE)
		return fk_fail(err, FK_EDB, "reading persons: %s", sqlite3_errmsg(db));
	return FK_OK;
}

static enum fk_status load_attrs(sqlite3 *db, const struct policy *p, const struct hc_areas *areas,
				 int64_t since, uint32_t max_id, uint32_t *index,
				 struct attr **attrs, size_t *nattrs, struct fk_err *err)
{
	size_t cap = 0;
	enum fk_status s = FK_OK;
	sqlite3_stmt *st = store_prepare(db,
					 "SELECT p.id, p.grid_code, p.occupation, h.label"
					 " FROM persons p LEFT JOIN households h ON h.id = p.household_id"
					 " WHERE p.grid_code >= ?1 AND p.grid_code < ?2",
					 err);
	if (!st)
		return FK_EDB;
	for (size_t i = 0; !s && i < areas->n; i++) {
		const struct hc_area *a = &areas->v[i];
		if (a->level == RISK_LOW || a->end <= since || !a->region[0])
			continue;
		char hi[24];
		access_scope_upper(a->region, hi, sizeof(hi));
		sqlite3_bind_text(st, 1, a->region, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
		s = read_attrs(db, st, max_id, index, attrs, nattrs, &cap, err);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (s)
		return s;
	st = store_prepare(db,
			   "SELECT p.id, p.grid_code, p.occupation, h.label FROM persons p"
			   " LEFT JOIN households h ON h.id = p.household_id WHERE p.occupation = ?1",
			   err);
	if (!st)
		return FK_EDB;
	for (int k = 0; !s && k < p->nperiodic; k++) {
		sqlite3_bind_text(st, 1, p->periodic[k].occupation, -1, SQLITE_STATIC);
		s = read_attrs(db, st, max_id, index, attrs, nattrs, &cap, err);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return s;
}

static void city_set(struct hc_city *c, uint32_t id, const struct hc_result *r)
{
	uint8_t rule = 0;
	if (r->nhits)
		rule = (uint8_t)(r->hits[0].rule + 1);
	c->code[id] = (uint8_t)(r->colour | rule << 2);
	c->next[id] = r->next_change == HC_NEVER ? 0 : r->next_change;
}

enum fk_status hc_city_compute(sqlite3 *db, const struct policy *p, int64_t at,
			       struct hc_city **out, struct hc_city_stats *stats,
			       struct fk_err *err)
{
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(stats, 0, sizeof(*stats));
	*out = NULL;
	struct hc_bulk b = {0};
	struct hc_areas areas = {0};
	struct hc_facts f;
	struct attr *attrs = NULL;
	size_t nattrs = 0;
	uint32_t *index = NULL;
	struct hc_result *r = malloc(sizeof(*r));
	struct hc_city *c = calloc(1, sizeof(*c));
	const char *occ[POLICY_MAX_OCCUPATIONS];
	enum fk_status s = FK_OK;

	hc_facts_init(&f, 0);
	if (!r || !c) {
		s = fk_fail(err, FK_ENOMEM, "out of memory");
		goto out;
	}
	int64_t max_id = store_query_int(db, "SELECT coalesce(max(id), 0) FROM persons", -1);
	if (max_id < 0 || max_id >= UINT32_MAX) {
		s = fk_fail(err, FK_EDB, "cannot read the persons' ids");
		goto out;
	}
	c->at = at;
	c->max_id = (uint32_t)max_id;
	fk_strlcpy(c->policy_version, p->version, sizeof(c->policy_version));
	c->code = calloc((size_t)max_id + 1, 1);
	c->next = calloc((size_t)max_id + 1, sizeof(*c->next));
	index = calloc((size_t)max_id + 1, sizeof(*index));
	if (!c->code || !c->next || !index) {
		s = fk_fail(err, FK_ENOMEM, "out of memory for %lld persons", (long long)max_id);
		goto out;
	}
	int64_t since = at - HISTORY_S;
	for (int k = 0; k < p->nperiodic; k++)
		occ[k] = p->periodic[k].occupation;
	s = control_risk_areas(db, &areas, err);
	if (!s)
		s = tracing_code_facts_all(db, since, &b, err);
	if (!s)
		s = control_code_facts_all(db, since, &b, err);
	if (!s)
		s = checkins_code_facts_all(db, since, &b, err);
	if (!s)
		s = testing_code_facts_all(db, since, occ, (size_t)p->nperiodic, &b, err);
	if (!s)
		s = override_code_facts_all(db, since, &b, err);
	if (!s)
		s = load_attrs(db, p, &areas, since, c->max_id, index, &attrs, &nattrs, err);
	if (s)
		goto out;
	stats->load_ms = ms_since(&t0);
	if (b.n)
		qsort(b.v, b.n, sizeof(*b.v), cmp_bulk);

	/* persons with facts, in id order, then everyone else with attributes */
	size_t i = 0;
	while (i < b.n) {
		uint32_t id = b.v[i].person_id;
		size_t j = i;
		f.n = 0;
		for (; j < b.n && b.v[j].person_id == id; j++) {
			struct hc_fact *x = hc_facts_add(&f, FACT_CASE);
			if (!x) {
				s = fk_fail(err, FK_ENOMEM, "out of memory");
				goto out;
			}
			*x = b.v[j].f;
		}
		i = j;
		if (!id || id > c->max_id)
			continue;
		f.person_id = id;
		f.grid[0] = f.occupation[0] = f.household[0] = 0;
		if (index[id]) {
			memcpy(f.grid, attrs[index[id] - 1].grid, sizeof(f.grid));
			memcpy(f.occupation, attrs[index[id] - 1].occupation, sizeof(f.occupation));
			memcpy(f.household, attrs[index[id] - 1].household, sizeof(f.household));
			index[id] = 0; /* done */
		}
		hc_evaluate(p, &f, &areas, at, r);
		city_set(c, id, r);
		stats->with_facts++;
	}
	f.n = 0;
	for (uint32_t id = 1; id <= c->max_id; id++) {
		if (!index[id])
			continue;
		f.person_id = id;
		memcpy(f.grid, attrs[index[id] - 1].grid, sizeof(f.grid));
		memcpy(f.occupation, attrs[index[id] - 1].occupation, sizeof(f.occupation));
		memcpy(f.household, attrs[index[id] - 1].household, sizeof(f.household));
		hc_evaluate(p, &f, &areas, at, r);
		city_set(c, id, r);
		stats->with_facts++;
	}
	for (uint32_t id = 1; id <= c->max_id; id++) {
		int colour = c->code[id] & 3;
		if (colour == COLOUR_RED)
			stats->red++;
		else if (colour == COLOUR_YELLOW)
			stats->yellow++;
	}
	stats->eval_ms = ms_since(&t0) - stats->load_ms;
	/* not timed: a count over the persons table */
	stats->persons = (uint64_t)store_query_int(db, "SELECT count(*) FROM persons", 0);
	stats->green = stats->persons - stats->red - stats->yellow;
	*out = c;
	c = NULL;
out:
	hc_city_free(c);
	hc_facts_release(&f);
	hc_bulk_release(&b);
	hc_areas_release(&areas);
	free(attrs);
	free(index);
	free(r);
	return s;
}

void hc_city_free(struct hc_city *c)
{
	if (!c)
		return;
	free(c->code);
	free(c->next);
	free(c);
}

enum colour hc_city_colour(const struct hc_city *c, int64_t person_id, enum hc_rule *rule,
			   int64_t *next_change)
{
	uint8_t v = 0;
	int64_t next = 0;
	if (c && person_id > 0 && person_id <= c->max_id) {
		v = c->code[person_id];
		next = c->next[person_id];
	}
	if (rule)
		*rule = (v >> 2) ? (enum hc_rule)((v >> 2) - 1) : HC_RULE_COUNT;
	if (next_change)
		*next_change = next ? next : HC_NEVER;
	return (enum colour)(v & 3);
}

enum fk_status hc_city_record_changes(sqlite3 *wdb, const struct hc_city *prev,
				      const struct hc_city *c, uint64_t *n, struct fk_err *err)
{
	*n = 0;
	enum fk_status s = store_begin(wdb, err);
	if (s)
		return s;
	sqlite3_stmt *st = store_prepare(wdb,
					 "INSERT OR REPLACE INTO code_changes(person_id, at, colour, rule,"
					 " policy_version) VALUES(?1, ?2, ?3, ?4, ?5)",
					 err);
	if (!st) {
		store_rollback(wdb);
		return FK_EDB;
	}
	for (uint32_t id = 1; id <= c->max_id; id++) {
		uint8_t was = prev && id <= prev->max_id ? prev->code[id] : 0;
		if (was == c->code[id])
			continue;
		enum hc_rule rule;
		enum colour colour = hc_city_colour(c, id, &rule, NULL);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, c->at);
		sqlite3_bind_text(st, 3, colour_name(colour), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, rule == HC_RULE_COUNT ? "" : hc_rule_name(rule), -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 5, c->policy_version, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			s = fk_fail(err, FK_EDB, "recording code changes: %s", sqlite3_errmsg(wdb));
			break;
		}
		sqlite3_reset(st);
		++*n;
	}
	sqlite3_finalize(st);
	if (s) {
		store_rollback(wdb);
		return s;
	}
	return store_commit(wdb, err);
}
