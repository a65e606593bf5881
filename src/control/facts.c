/* facts.c — control orders and risk areas as health-code facts. */
#include "control/control.h"

#include <stdlib.h>

#include "lib/util.h"
#include "policy/policy.h"
#include "store/store.h"

#include "lib/banned.h"

#define ORDER_SQL                                                                               \
	"SELECT person_id, id, kind, start_at, coalesce(ended_at, planned_end), category"      \
	" FROM orders WHERE status IN ('active', 'completed') "

static void order_fact(sqlite3_stmt *st, struct hc_fact *x)
{
	enum order_kind k = ORDER_CENTRAL;
	order_kind_parse((const char *)sqlite3_column_text(st, 2), &k);
	x->ref = sqlite3_column_int64(st, 1);
	x->level = (uint8_t)k;
	x->start = sqlite3_column_int64(st, 3);
	x->end = sqlite3_column_int64(st, 4);
	const char *cat = (const char *)sqlite3_column_text(st, 5);
	fk_strlcpy(x->text, cat ? cat : "", sizeof(x->text));
}

enum fk_status control_code_facts(sqlite3 *db, struct hc_facts *f, struct fk_err *err)
{
	return hc_fill_rows(db, ORDER_SQL "AND person_id = ?1", f->person_id, FACT_ORDER,
			    order_fact, f, NULL, err);
}

enum fk_status control_code_facts_all(sqlite3 *db, int64_t since, struct hc_bulk *b,
				      struct fk_err *err)
{
	return hc_fill_rows(db, ORDER_SQL "AND coalesce(ended_at, planned_end) > ?1", since,
			    FACT_ORDER, order_fact, NULL, b, err);
}

enum fk_status control_risk_areas(sqlite3 *db, struct hc_areas *out, struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(
		db, "SELECT id, region_code, level, start_at, coalesce(end_at, 0), building"
		    " FROM risk_areas",
		err);
	if (!st)
		return FK_EDB;
	enum fk_status s = FK_OK;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 16;
			struct hc_area *v = realloc(out->v, cap * sizeof(*v));
			if (!v) {
				s = fk_fail(err, FK_ENOMEM, "out of memory reading risk areas");
				break;
			}
			out->v = v;
			out->cap = cap;
		}
		struct hc_area *a = &out->v[out->n++];
		enum risk_level l = RISK_LOW;
		risk_level_parse((const char *)sqlite3_column_text(st, 2), &l);
		a->id = sqlite3_column_int64(st, 0);
		const char *code = (const char *)sqlite3_column_text(st, 1);
		fk_strlcpy(a->region, code ? code : "", sizeof(a->region));
		a->level = (uint8_t)l;
		a->start = sqlite3_column_int64(st, 3);
		int64_t end = sqlite3_column_int64(st, 4);
		a->end = end ? end : HC_NEVER;
		const char *b = (const char *)sqlite3_column_text(st, 5);
		fk_strlcpy(a->building, b ? b : "", sizeof(a->building));
	}
	if (!s && rc != SQLITE_DONE)
		s = fk_fail(err, FK_EDB, "reading risk areas: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return s;
}
