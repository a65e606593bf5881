/* facts.c — what the health code reads from check-ins: fever reported at
 * a scan (alerts of kind 'fever', until cleared) and arrivals (facts.h). */
#include "checkins/checkins.h"

#include "healthcode/facts.h"
#include "lib/util.h"

#include "lib/banned.h"

#define FEVER_SQL                                                                               \
	"SELECT person_id, id, at, coalesce(cleared_at, 0), detail FROM alerts"                \
	" WHERE kind = 'fever' AND person_id IS NOT NULL "
#define ARRIVAL_SQL "SELECT person_id, id, arrived_at, origin_code, source FROM arrivals "

static void fever_fact(sqlite3_stmt *st, struct hc_fact *x)
{
	x->ref = sqlite3_column_int64(st, 1);
	x->start = sqlite3_column_int64(st, 2);
	int64_t cleared = sqlite3_column_int64(st, 3);
	x->end = cleared ? cleared : HC_NEVER;
	const char *d = (const char *)sqlite3_column_text(st, 4);
	fk_strlcpy(x->text, d ? d : "", sizeof(x->text));
}

static void arrival_fact(sqlite3_stmt *st, struct hc_fact *x)
{
	x->ref = sqlite3_column_int64(st, 1);
	x->start = sqlite3_column_int64(st, 2);
	x->end = HC_NEVER;
	const char *o = (const char *)sqlite3_column_text(st, 3);
	const char *src = (const char *)sqlite3_column_text(st, 4);
	fk_strlcpy(x->region, o ? o : "", sizeof(x->region));
	fk_strlcpy(x->text, src ? src : "", sizeof(x->text));
}

enum fk_status checkins_code_facts(sqlite3 *db, struct hc_facts *f, struct fk_err *err)
{
	enum fk_status s = hc_fill_rows(db, FEVER_SQL "AND person_id = ?1", f->person_id,
					FACT_FEVER, fever_fact, f, NULL, err);
	if (!s)
		s = hc_fill_rows(db, ARRIVAL_SQL "WHERE person_id = ?1", f->person_id, FACT_ARRIVAL,
				 arrival_fact, f, NULL, err);
	return s;
}

enum fk_status checkins_code_facts_all(sqlite3 *db, int64_t since, struct hc_bulk *b,
				       struct fk_err *err)
{
	/* fevers not cleared before since; arrivals of the last 60 days (no
	 * policy keeps an arrival longer) */
	enum fk_status s = hc_fill_rows(db, FEVER_SQL "AND (cleared_at IS NULL OR cleared_at > ?1)",
					since, FACT_FEVER, fever_fact, NULL, b, err);
	if (!s)
		s = hc_fill_rows(db, ARRIVAL_SQL "WHERE arrived_at > ?1 - 60 * 86400", since,
				 FACT_ARRIVAL, arrival_fact, NULL, b, err);
	return s;
}
