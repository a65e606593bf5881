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

enum fk_status testing_code_facts_all(sqlite3 *db, int64_t since,
				      const char *const *occupations, size_t nocc,
				      struct hc_bulk *b, struct fk_err *err)
{
	/* pooled positives of the last 60 days (results recorded one by one,
	 * and members of positive tubes of several) and every later result of
	 * those persons (a retest ends the watch) */
	enum fk_status s = hc_fill_rows(
		db,
		"WITH watched(person_id) AS ("
		"  SELECT person_id FROM test_results"
		"  WHERE result = 'pool_positive' AND sampled_at > ?1 - 60 * 86400"
		"  UNION SELECT s.person_id FROM tubes t JOIN samples s ON s.tube_id = t.id"
		"  WHERE t.result = 'positive' AND t.n > 1 AND t.resulted_at > ?1 - 60 * 86400)"
		" SELECT r.person_id, r.ref, r.sampled_at, r.resulted_at, r.result, r.pooled, r.tube"
		" FROM watched w JOIN person_results r ON r.person_id = w.person_id"
		" WHERE r.sampled_at > ?1 - 60 * 86400",
		since, FACT_TEST, test_fact, NULL, b, err);
	/* periodic testing: the results of key occupations, skipping those
	 * just read */
	for (size_t i = 0; !s && i < nocc; i++) {
		char *sql = sqlite3_mprintf(
			"SELECT r.person_id, r.ref, r.sampled_at, r.resulted_at, r.result, r.pooled,"
			" r.tube FROM persons p JOIN person_results r"
			" ON r.person_id = p.id AND r.sampled_at > ?1 - 60 * 86400"
			" WHERE p.occupation = %Q AND p.id NOT IN ("
			"  SELECT person_id FROM test_results"
			"  WHERE result = 'pool_positive' AND sampled_at > ?1 - 60 * 86400"
			"  UNION SELECT s.person_id FROM tubes t JOIN samples s ON s.tube_id = t.id"
			"  WHERE t.result = 'positive' AND t.n > 1 AND t.resulted_at > ?1 - 60 * 86400)",
			occupations[i]);
		if (!sql)
			return fk_fail(err, FK_ENOMEM, "out of memory");
		s = hc_fill_rows(db, sql, since, FACT_TEST, test_fact, NULL, b, err);
		sqlite3_free(sql);
	}
	return s;
}
