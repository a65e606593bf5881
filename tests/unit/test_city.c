/* Suite "city": the whole-city colours (state.c, bulk facts read by each
 * provider's _all query, persons found by risk area and occupation) give
 * every person exactly the colour, top rule and next change that reading
 * that one person's facts gives (hc_person_code), on a generated city with
 * random facts of every kind, under each shipped policy, at several
 * times. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "healthcode/healthcode.h"
#include "lib/util.h"
#include "registry/registry.h"
#include "store/store.h"

#include "lib/banned.h"

#define NPERS 3000
#define NOW INT64_C(1700000000)
#define DAY 86400

static char dir[64], path[128];
static sqlite3 *db;
static uint64_t rng = 7;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int64_t rnd_time(void)
{
	/* within [NOW - 20 days, NOW + 2 days) */
	return NOW - 20 * DAY + (int64_t)(next() % (22 * DAY));
}

static void exec(const char *sql)
{
	struct fk_err err;
	cr_assert_eq(store_exec(db, sql, &err), FK_OK, "%s: %s", sql, err.msg);
}

static void insert(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void insert(const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	exec(sql);
}

static int64_t pick_person(void)
{
	return 1 + (int64_t)(next() % NPERS);
}

static void setup(void)
{
	struct fk_err err;
	fk_strlcpy(dir, "/tmp/fk-city-XXXXXX", sizeof(dir));
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	struct gen_options g = {
	    .db_path = path, .city = "6109", .persons = NPERS, .seed = 5, .quiet = true};
	cr_assert_eq(registry_gen(&g, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(store_open(path, STORE_MIGRATE, &db, &err), FK_OK, "%s", err.msg);
	exec("BEGIN");
	/* cases and their contacts */
	for (int i = 1; i <= 12; i++) {
		int64_t t = rnd_time();
		insert("INSERT OR IGNORE INTO cases(id, person_id, classification, onset_at, chain_id,"
		       " created_at, created_by, released_at) VALUES(%d, %lld, '%s', %lld, %d, %lld,"
		       " 't', %s)",
		       i, (long long)pick_person(), i % 3 ? "confirmed" : "asymptomatic",
		       (long long)(t - DAY), i, (long long)t,
		       i % 4 ? "NULL" : "1700100000");
	}
	for (int i = 0; i < 600; i++) {
		int64_t e = rnd_time();
		insert("INSERT OR IGNORE INTO contacts(person_id, case_id, degree, exposure_at,"
		       " household, found_at) SELECT %lld, id, %d, %lld, 0, %lld FROM cases"
		       " WHERE id = %d",
		       (long long)pick_person(), 1 + (int)(next() % 2), (long long)e,
		       (long long)(e + (int64_t)(next() % (3 * DAY))), 1 + (int)(next() % 12));
	}
	/* orders, some covering contacts, some ended */
	static const char *const kinds[] = {"central", "home_isolation", "home_monitoring"};
	static const char *const status[] = {"active", "completed", "cancelled", "proposed"};
	for (int i = 0; i < 200; i++) {
		int64_t s = rnd_time();
		insert("INSERT INTO orders(person_id, kind, status, start_at, planned_end, ended_at,"
		       " created_at, created_by) VALUES(%lld, '%s', '%s', %lld, %lld, %s, %lld, 't')",
		       (long long)pick_person(), kinds[next() % 3], status[next() % 4],
		       (long long)s, (long long)(s + 7 * DAY),
		       next() % 3 ? "NULL" : "1699900000", (long long)s);
	}
	/* test results: periodic persons and pooled positives with retests */
	for (int i = 0; i < 1500; i++) {
		int64_t s = rnd_time();
		static const char *const res[] = {"negative", "negative", "negative", "invalid",
						  "pool_positive", "positive"};
		insert("INSERT INTO test_results(person_id, sampled_at, resulted_at, result, pooled)"
		       " VALUES(%lld, %lld, %lld, '%s', %d)",
		       (long long)pick_person(), (long long)s, (long long)(s + 8 * 3600),
		       res[next() % 6], next() % 2 ? 10 : 1);
	}
	/* key-occupation persons get tests too, so every periodic case shows */
	exec("INSERT INTO test_results(person_id, sampled_at, resulted_at, result, pooled)"
	     " SELECT id, 1700000000 - (id % 9) * 86400, 1700000000 - (id % 9) * 86400 + 3600,"
	     " 'negative', 10 FROM persons WHERE occupation IN ('cold_chain', 'courier', 'medical')"
	     " AND id % 2 = 0");
	/* tubes and their members: results read through the view
	 * person_results (pooled positives, retests, periodic tests) */
	exec("INSERT INTO sites(id, code, name, region_code, capacity_per_hour, created_at,"
	     " created_by) SELECT 1, 'S1', 'site', min(code), 100, 0, 't' FROM regions");
	for (int i = 1; i <= 400; i++) {
		static const char *const tres[] = {"'negative'", "'negative'", "'positive'",
						   "'invalid'", "NULL"};
		int64_t s = rnd_time();
		int pool = next() % 3 ? 10 : 1;
		insert("INSERT INTO tubes(id, code, site_id, pool_size, opened_at, opened_by,"
		       " closed_at, result, resulted_at) VALUES(%d, 'T%d', 1, %d, %lld, 't', %lld,"
		       " %s, %lld)",
		       i, i, pool, (long long)s, (long long)s, tres[next() % 5],
		       (long long)(s + 8 * 3600));
		for (int k = 0; k < pool; k++)
			insert("INSERT OR IGNORE INTO samples(tube_id, person_id, round, expected,"
			       " grid_code, site_id, sampled_at, sampled_by) SELECT %d, id, 0, 0,"
			       " grid_code, 1, %lld, 't' FROM persons WHERE id = %lld",
			       i, (long long)s, (long long)pick_person());
	}
	/* key-occupation persons of odd id are tested in tubes */
	exec("INSERT INTO tubes(id, code, site_id, pool_size, opened_at, opened_by, closed_at,"
	     " result, resulted_at) VALUES(1000, 'K1', 1, 20, 0, 't', 0, 'negative', 0)");
	exec("INSERT INTO samples(tube_id, person_id, round, expected, grid_code, site_id,"
	     " sampled_at, sampled_by) SELECT 1000, id, 0, 0, grid_code, 1,"
	     " 1700000000 - (id % 7) * 86400, 't' FROM persons"
	     " WHERE occupation IN ('cold_chain', 'courier', 'medical') AND id % 2 = 1 LIMIT 20");
	exec("UPDATE tubes SET n = (SELECT count(*) FROM samples WHERE tube_id = tubes.id),"
	     " resulted_at = CASE WHEN result IS NULL THEN NULL ELSE"
	     "  (SELECT max(sampled_at) FROM samples WHERE tube_id = tubes.id) + 8 * 3600 END");
	/* fever alerts */
	for (int i = 0; i < 100; i++) {
		int64_t a = rnd_time();
		insert("INSERT INTO alerts(kind, person_id, region_code, at, detail, cleared_at)"
		       " SELECT 'fever', id, grid_code, %lld, '37.9', %s FROM persons WHERE id = %lld",
		       (long long)a, next() % 2 ? "NULL" : "1700050000", (long long)pick_person());
	}
	/* risk areas: a town, a grid, an ended one, a medium one */
	exec("INSERT INTO risk_areas(region_code, level, start_at, end_at, created_at, created_by)"
	     " SELECT substr(grid_code, 1, 9), 'high', 1699500000, NULL, 0, 't' FROM persons"
	     " WHERE id = 10");
	exec("INSERT INTO risk_areas(region_code, level, start_at, end_at, created_at, created_by)"
	     " SELECT grid_code, 'medium', 1699800000, 1700200000, 0, 't' FROM persons"
	     " WHERE id = 2000");
	exec("INSERT INTO risk_areas(region_code, level, start_at, end_at, created_at, created_by)"
	     " SELECT substr(grid_code, 1, 12), 'high', 1699000000, 1699400000, 0, 't'"
	     " FROM persons WHERE id = 1500");
	/* arrivals from those areas and from elsewhere */
	for (int i = 0; i < 150; i++) {
		int64_t a = rnd_time();
		insert("INSERT INTO arrivals(person_id, origin_code, arrived_at, recorded_by)"
		       " SELECT %lld, grid_code, %lld, 't' FROM persons WHERE id = %lld",
		       (long long)pick_person(), (long long)a,
		       (long long)(i % 3 == 0 ? 10 : i % 3 == 1 ? 2000 : pick_person()));
	}
	/* approved overrides */
	exec("INSERT INTO users(id, username, pwhash, role, scope, created_at, created_by)"
	     " VALUES(900, 'a', 'x', 'command', '', 0, 't'), (901, 'b', 'x', 'command', '', 0, 't')");
	for (int i = 1; i <= 20; i++) {
		int64_t s = rnd_time();
		insert("INSERT INTO overrides(id, colour, category, reason, end_at, persons, status,"
		       " requested_by, requested_at, approved_by, approved_at, policy_version)"
		       " VALUES(%d, '%s', 'data_error', 'r', %lld, 1, '%s', 900, %lld, 901, %lld, 'x')",
		       i, next() % 2 ? "green" : "red", (long long)(s + 3 * DAY),
		       next() % 3 ? "active" : "pending", (long long)s, (long long)s);
		insert("INSERT INTO override_persons(override_id, person_id) VALUES(%d, %lld)", i,
		       (long long)pick_person());
	}
	exec("COMMIT");
}

static void teardown(void)
{
	char cmd[128];
	store_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void compare(const char *policy_file, int64_t at)
{
	struct policy p;
	struct fk_err err;
	cr_assert_eq(policy_load(policy_file, &p, NULL, NULL, NULL, &err), FK_OK, "%s", err.msg);
	struct hc_city *c = NULL;
	struct hc_city_stats st;
	cr_assert_eq(hc_city_compute(db, &p, at, &c, &st, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(st.persons, NPERS);
	cr_assert_eq(st.green + st.yellow + st.red, NPERS);
	struct hc_result *r = malloc(sizeof(*r));
	cr_assert_not_null(r);
	uint64_t seen[3] = {0, 0, 0};
	for (int64_t id = 1; id <= NPERS; id++) {
		struct hc_facts f;
		struct hc_areas a;
		cr_assert_eq(hc_person_code(db, &p, id, at, &f, &a, r, &err), FK_OK, "%s", err.msg);
		enum hc_rule rule;
		int64_t next_change;
		enum colour colour = hc_city_colour(c, id, &rule, &next_change);
		cr_expect_eq(colour, r->colour, "%s at %lld: person %lld: city %d, single %d",
			     policy_file, (long long)at, (long long)id, colour, r->colour);
		cr_expect_eq(rule, r->nhits ? r->hits[0].rule : HC_RULE_COUNT,
			     "%s: person %lld: top rule", policy_file, (long long)id);
		cr_expect_eq(next_change, r->next_change, "%s: person %lld: next change %lld vs %lld",
			     policy_file, (long long)id, (long long)next_change,
			     (long long)r->next_change);
		seen[r->colour]++;
		hc_facts_release(&f);
		hc_areas_release(&a);
	}
	/* the counts agree, and the data exercises every colour */
	cr_expect_eq(seen[COLOUR_RED], st.red);
	cr_expect_eq(seen[COLOUR_YELLOW], st.yellow);
	cr_expect_gt(seen[COLOUR_RED], 0);
	cr_expect_gt(seen[COLOUR_YELLOW], 0);
	cr_expect_gt(seen[COLOUR_GREEN], 0);
	free(r);
	hc_city_free(c);
}

TestSuite(city, .init = setup, .fini = teardown, .timeout = 300);

Test(city, protocol_9_matches_single_person)
{
	compare("policy/protocol-9.ini", NOW - 5 * DAY);
	compare("policy/protocol-9.ini", NOW);
	compare("policy/protocol-9.ini", NOW + 4 * DAY);
}

Test(city, protocol_8_matches_single_person)
{
	compare("policy/protocol-8.ini", NOW);
	compare("policy/protocol-8.ini", NOW + 12 * DAY);
}

Test(city, twenty_measures_matches_single_person)
{
	compare("policy/protocol-9-20.ini", NOW);
	compare("policy/protocol-9-20.ini", NOW + 2 * DAY);
}

/* A switch from protocol 9 to the 20 measures logs exactly the persons
 * whose colour or top rule differ, with the new policy's version. */
Test(city, changes_are_logged_with_the_policy_version)
{
	struct policy p9, p20;
	struct fk_err err;
	struct hc_city *a = NULL, *b = NULL;
	struct hc_city_stats st;
	cr_assert_eq(policy_load("policy/protocol-9.ini", &p9, NULL, NULL, NULL, &err), FK_OK);
	cr_assert_eq(policy_load("policy/protocol-9-20.ini", &p20, NULL, NULL, NULL, &err), FK_OK);
	cr_assert_eq(hc_city_compute(db, &p9, NOW, &a, &st, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(hc_city_compute(db, &p20, NOW, &b, &st, &err), FK_OK, "%s", err.msg);
	uint64_t expect = 0;
	for (int64_t id = 1; id <= NPERS; id++) {
		enum hc_rule ra, rb;
		if (hc_city_colour(a, id, &ra, NULL) != hc_city_colour(b, id, &rb, NULL) || ra != rb)
			expect++;
	}
	cr_assert_gt(expect, 0);
	uint64_t n = 0;
	cr_assert_eq(hc_city_record_changes(db, a, b, &n, &err), FK_OK, "%s", err.msg);
	cr_expect_eq(n, expect);
	char sql[160];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM code_changes WHERE at = %lld AND policy_version = '%s'",
		 (long long)NOW, p20.version);
	cr_expect_eq(store_query_int(db, sql, -1), (int64_t)expect);
	hc_city_free(a);
	hc_city_free(b);
}
