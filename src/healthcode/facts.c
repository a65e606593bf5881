/* facts.c — the containers of facts.h and the risk-area lookup. */
#include "healthcode/facts.h"

#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "store/store.h"

#include "lib/banned.h"

static const char *const test_result_names[] = {"negative", "positive", "invalid",
						"pool_positive"};

const char *test_result_name(enum test_result r)
{
	return (unsigned)r <= TEST_POOL_POSITIVE ? test_result_names[r] : "unknown";
}

void hc_facts_init(struct hc_facts *f, int64_t person_id)
{
	memset(f, 0, sizeof(*f));
	f->person_id = person_id;
}

void hc_facts_release(struct hc_facts *f)
{
	free(f->v);
	f->v = NULL;
	f->n = f->cap = 0;
}

struct hc_fact *hc_facts_add(struct hc_facts *f, enum hc_fact_kind kind)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct hc_fact *v = realloc(f->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		f->v = v;
		f->cap = cap;
	}
	struct hc_fact *x = &f->v[f->n++];
	memset(x, 0, sizeof(*x));
	x->kind = (uint8_t)kind;
	x->end = HC_NEVER;
	return x;
}

void hc_areas_release(struct hc_areas *a)
{
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

bool hc_area_contains(const struct hc_area *x, const char *grid, const char *household)
{
	size_t len = strlen(x->region);
	if (!len || strncmp(grid, x->region, len))
		return false;
	if (!x->building[0])
		return true;
	return !strcmp(grid, x->region) &&
	       !strncmp(household, x->building, strlen(x->building));
}

int hc_areas_level(const struct hc_areas *a, const char *region, int64_t from, int64_t to,
		   const struct hc_area **area)
{
	int best = RISK_LOW;
	const struct hc_area *found = NULL;
	for (size_t i = 0; a && i < a->n; i++) {
		const struct hc_area *x = &a->v[i];
		size_t len = strlen(x->region);
		if (!len || x->building[0] || strncmp(region, x->region, len))
			continue;
		/* in force at some time of [from, to]: start <= to && end > from */
		if (x->start > to || x->end <= from)
			continue;
		if (x->level > best || (x->level == best && found && x->start > found->start)) {
			best = x->level;
			found = x;
		}
	}
	if (area)
		*area = found;
	return best;
}

void hc_bulk_release(struct hc_bulk *b)
{
	free(b->v);
	b->v = NULL;
	b->n = b->cap = 0;
}

struct hc_fact *hc_bulk_add(struct hc_bulk *b, uint32_t person_id, enum hc_fact_kind kind)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		struct hc_bulk_fact *v = realloc(b->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		b->v = v;
		b->cap = cap;
	}
	struct hc_bulk_fact *x = &b->v[b->n++];
	memset(x, 0, sizeof(*x));
	x->person_id = person_id;
	x->f.kind = (uint8_t)kind;
	x->f.end = HC_NEVER;
	return &x->f;
}

enum fk_status hc_fill_rows(sqlite3 *db, const char *sql, int64_t arg, enum hc_fact_kind kind,
			    hc_row_fn fn, struct hc_facts *f, struct hc_bulk *b,
			    struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(db, sql, err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, arg);
	enum fk_status s = FK_OK;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hc_fact *x =
			f ? hc_facts_add(f, kind)
			  : hc_bulk_add(b, (uint32_t)sqlite3_column_int64(st, 0), kind);
		if (!x) {
			s = fk_fail(err, FK_ENOMEM, "out of memory reading facts");
			break;
		}
		fn(st, x);
	}
	if (!s && rc != SQLITE_DONE)
		s = fk_fail(err, FK_EDB, "reading facts: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return s;
}
