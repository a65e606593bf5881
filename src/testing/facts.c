/* facts.c — test results as health-code facts (facts.h). */
#include "testing/testing.h"

#include <stdio.h>
#include <string.h>

#include "lib/util.h"

#include "lib/banned.h"

#define TEST_SQL                                                                                \
	"SELECT person_id, id, sampled_at, resulted_at, result, pooled, tube FROM test_results "

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

enum fk_status testing_code_facts_all(sqlite3 *db, int64_t since, struct hc_bulk *b,
				      struct fk_err *err)
{
	/* results of the last 60 days: periodic intervals and pooled watches
	 * never reach further back */
	return hc_fill_rows(db, TEST_SQL "WHERE sampled_at > ?1 - 60 * 86400", since, FACT_TEST,
			    test_fact, NULL, b, err);
}
