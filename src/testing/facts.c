/* facts.c — test results as health-code facts (facts.h). */
#include "testing/testing.h"

#include <stdio.h>
#include <string.h>

#include "lib/util.h"

#include "lib/banned.h"

#define TEST_SQL                                                                                \
	"SELECT person_id, ref, sampled_at, resulted_at, result, pooled, tube FROM person_results "

static void test_fact(sqlite3_stmt *st, struct hc_fact *x)
{
	static const char *const names[] = {"negative", "positive", "invalid", "pool_positive"};
	const char *r = (const char *)sqlite3_column_text(st, 4);
	x->ref = sqlite3_column_int64(st, 1);
	x->t0 = sqlite3_column_int64(st, 2);
	x->start = sqlite3_column_int64(st, 3);
	x->end = HC_NEVER;
	x->level = TEST_INVALID;
	for (unsigned i = 0; r && i < 4; i++)
		if (!strcmp(r, names[i]))
			x->level = (uint8_t)i;
	if (sqlite3_column_int(st, 5) > 1)
		x->flags |= FACT_POOLED;
	const char *tube = (const char *)sqlite3_column_text(st, 6);
	fk_strlcpy(x->text, tube ? tube : "", sizeof(x->text));
}

enum fk_status testing_code_facts(sqlite3 *db, struct hc_facts *f, struct fk_err *err)
{
	return hc_fill_rows(db, TEST_SQL "WHERE person_id = ?1 ORDER BY sampled_at", f->person_id,
			    FACT_TEST, test_fact, f, NULL, err);
}

/* The persons under watch for a pooled positive of the last 60 days:
 * recorded one by one, or members of a positive tube of several. */
#define WATCHED                                                                                 \
	"SELECT person_id FROM test_results"                                                    \
	" WHERE result = 'pool_positive' AND sampled_at > ?1 - 60 * 86400"                      \
	" UNION SELECT s.person_id FROM tubes t JOIN samples s ON s.tube_id = t.id"             \
	" WHERE t.result = 'positive' AND t.n > 1 AND t.resulted_at > ?1 - 60 * 86400"

/* The results of the last 60 days of the persons FROM and WHERE select
 * (FROM binds them as p): the two parts of the view person_results written
 * out, because a join with the compound view makes SQLite materialize all
 * of it (every sample of the city) for each query. */
#define RESULTS_OF(FROM, WHERE)                                                                 \
	"SELECT r.person_id, r.id, r.sampled_at, r.resulted_at, r.result, r.pooled, r.tube"    \
	" FROM " FROM " JOIN test_results r ON r.person_id = p.person_id"                       \
	" AND r.sampled_at > ?1 - 60 * 86400 " WHERE " UNION ALL"                               \
	" SELECT s.person_id, -s.id, s.sampled_at, t.resulted_at,"                              \
	"  CASE WHEN t.result = 'positive' AND t.n > 1 THEN 'pool_positive' ELSE t.result END," \
	"  t.n, t.code FROM " FROM " JOIN samples s ON s.person_id = p.person_id"               \
	" AND s.sampled_at > ?1 - 60 * 86400"                                                   \
	" JOIN tubes t ON t.id = s.tube_id AND t.result IS NOT NULL " WHERE

enum fk_status testing_code_facts_all(sqlite3 *db, int64_t since,
				      const char *const *occupations, size_t nocc,
				      struct hc_bulk *b, struct fk_err *err)
{
	/* the watched persons and every later result of theirs (a retest
	 * ends the watch) */
	enum fk_status s = hc_fill_rows(db,
					"WITH watched(person_id) AS (" WATCHED ") " RESULTS_OF(
						"watched p", ""),
					since, FACT_TEST, test_fact, NULL, b, err);
	/* periodic testing: the results of key occupations, skipping those
	 * just read */
	for (size_t i = 0; !s && i < nocc; i++) {
		char *sql = sqlite3_mprintf(
			"WITH watched(person_id) AS (" WATCHED "),"
			" key(person_id) AS (SELECT id FROM persons WHERE occupation = %Q"
			"  AND id NOT IN watched) " RESULTS_OF("key p", ""),
			occupations[i]);
		if (!sql)
			return fk_fail(err, FK_ENOMEM, "out of memory");
		s = hc_fill_rows(db, sql, since, FACT_TEST, test_fact, NULL, b, err);
		sqlite3_free(sql);
	}
	return s;
}
