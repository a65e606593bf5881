/* Suite "override": the override facts the colour engine reads, and what a
 * person is shown.
 *
 * Overrides in every state are written with plain SQL; the expected facts
 * are written out here from the rule in facts.h / override.c (approved
 * ones only; [approved_at, end_at), cut at closed_at when revoked), not
 * computed by the code under test.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "healthcode/healthcode.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

static char dir[64];
static char path[128];
static sqlite3 *db;

static void exec(const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, msg ? msg : "");
	sqlite3_free(msg);
}

static void setup(void)
{
	struct fk_err err;
	fk_strlcpy(dir, "/tmp/fk-ovr-XXXXXX", sizeof(dir));
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	cr_assert_eq(store_open(path, STORE_CREATE, &db, &err), FK_OK, "%s", err.msg);
	/* FANGKONG_NOW = 4000 s after the epoch */
	setenv("FANGKONG_NOW", "4000", 1);
	exec("INSERT INTO regions(code, name, level, parent_code) VALUES('61', 'P', 1, NULL);"
	     "INSERT INTO persons(id, id_number, name, phone, grid_code, sex, birth_date)"
	     " VALUES(1, '610902199001011234', '张三', '13900000001', '61', 1, '1990-01-01'),"
	     " (2, '610902199001021235', '李四', '13900000002', '61', 2, '1990-01-02');"
	     "INSERT INTO users(id, username, pwhash, role, scope, created_at, created_by)"
	     " VALUES(1, 'req', 'x', 'tracer', '61', 0, 't'), (2, 'appr', 'x', 'tester', '61', 0, 't');"
	     /* id, colour, category, status, approved_at, end_at, closed_at */
	     "INSERT INTO overrides(id, colour, category, reason, end_at, persons, status,"
	     " requested_by, requested_at, approved_by, approved_at, closed_by, closed_at,"
	     " policy_version) VALUES"
	     " (1, 'red', 'medical_judgement', 'r1', 5000, 2, 'active', 1, 900, 2, 1000, NULL, NULL, 'v'),"
	     " (2, 'yellow', 'data_error', 'r2', 6000, 1, 'pending', 1, 900, NULL, NULL, NULL, NULL, 'v'),"
	     " (3, 'yellow', 'data_error', 'r3', 6000, 1, 'refused', 1, 900, NULL, NULL, 2, 950, 'v'),"
	     " (4, 'green', 'result_error', 'r4', 9000, 1, 'revoked', 1, 1900, 2, 2000, 2, 3000, 'v'),"
	     " (5, 'red', 'data_error', 'r5', 9000, 1, 'revoked', 1, 1400, NULL, NULL, 1, 1500, 'v'),"
	     " (6, 'yellow', 'identity_mismatch', 'r6', 500, 1, 'active', 1, 50, 2, 100, NULL, NULL, 'v'),"
	     " (7, 'green', 'isolation_completed_early', 'r7', 8000, 1, 'active', 1, 3900, 2, 4000, NULL, NULL, 'v');"
	     "INSERT INTO override_persons VALUES(1, 1), (1, 2), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1), (7, 2);");
}

static void teardown(void)
{
	char cmd[256];
	store_close(db);
	unsetenv("FANGKONG_NOW");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

TestSuite(override, .init = setup, .fini = teardown);

Test(override, categories_are_a_fixed_list)
{
	static const char *const want[] = {"data_error", "identity_mismatch", "result_error",
					   "isolation_completed_early", "medical_judgement"};
	cr_assert_eq(hc_override_categories_len, FK_ARRAY_LEN(want));
	for (size_t i = 0; i < FK_ARRAY_LEN(want); i++) {
		cr_assert_str_eq(hc_override_categories[i], want[i]);
		cr_assert(hc_override_category_valid(want[i]));
	}
	cr_assert_not(hc_override_category_valid(NULL));
	cr_assert_not(hc_override_category_valid(""));
	cr_assert_not(hc_override_category_valid("Data_Error"));
	cr_assert_not(hc_override_category_valid("data_error "));
	cr_assert_not(hc_override_category_valid("political"));
}

struct want_fact {
	int64_t ref, start, end;
	enum colour level;
	const char *text;
};

static void check_person(int64_t pid, const struct want_fact *w, size_t n)
{
	struct hc_facts f;
	struct fk_err err;
	hc_facts_init(&f, pid);
	cr_assert_eq(override_code_facts(db, &f, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(f.n, n, "person %lld: %zu facts, want %zu", (long long)pid, f.n, n);
	for (size_t i = 0; i < n; i++) {
		const struct hc_fact *x = NULL;
		for (size_t j = 0; j < f.n; j++)
			if (f.v[j].ref == w[i].ref)
				x = &f.v[j];
		cr_assert_not_null(x, "no fact for override %lld", (long long)w[i].ref);
		cr_assert_eq(x->kind, FACT_OVERRIDE);
		cr_assert_eq(x->start, w[i].start, "override %lld start", (long long)w[i].ref);
		cr_assert_eq(x->end, w[i].end, "override %lld end", (long long)w[i].ref);
		cr_assert_eq(x->level, (uint8_t)w[i].level);
		cr_assert_str_eq(x->text, w[i].text);
	}
	hc_facts_release(&f);
}

Test(override, only_approved_overrides_are_facts)
{
	/* 1 active; 4 revoked at 3000 (before its end); 6 ended at 500; 2
	 * pending, 3 refused and 5 revoked before approval are no facts */
	const struct want_fact p1[] = {
		{1, 1000, 5000, COLOUR_RED, "medical_judgement"},
		{4, 2000, 3000, COLOUR_GREEN, "result_error"},
		{6, 100, 500, COLOUR_YELLOW, "identity_mismatch"},
	};
	const struct want_fact p2[] = {
		{1, 1000, 5000, COLOUR_RED, "medical_judgement"},
		{7, 4000, 8000, COLOUR_GREEN, "isolation_completed_early"},
	};
	check_person(1, p1, FK_ARRAY_LEN(p1));
	check_person(2, p2, FK_ARRAY_LEN(p2));
}

Test(override, all_facts_since)
{
	struct hc_bulk b = {0};
	struct fk_err err;
	/* ending after 2500: 1 (both persons), 4 (3000), 7 (8000); not 6 */
	cr_assert_eq(override_code_facts_all(db, 2500, &b, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(b.n, 4);
	int seen[8][3] = {{0}};
	for (size_t i = 0; i < b.n; i++) {
		cr_assert_lt(b.v[i].f.ref, 8);
		cr_assert_lt(b.v[i].person_id, 3);
		seen[b.v[i].f.ref][b.v[i].person_id]++;
	}
	cr_assert(seen[1][1] == 1 && seen[1][2] == 1 && seen[4][1] == 1 && seen[7][2] == 1);
	hc_bulk_release(&b);
	/* exactly at an end: not loaded (the fact is over) */
	cr_assert_eq(override_code_facts_all(db, 3000, &b, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(b.n, 3);
	hc_bulk_release(&b);
}

Test(override, the_person_sees_every_override_with_names)
{
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	json_error_t jerr;
	strbuf_addch(&o, '{');
	cr_assert_eq(hc_person_overrides_json(db, 1, &o, &err), FK_OK, "%s", err.msg);
	strbuf_addch(&o, '}');
	json_t *j = json_loads(o.buf, 0, &jerr);
	cr_assert_not_null(j, "%s: %s", jerr.text, o.buf);
	json_t *a = json_object_get(j, "overrides");
	cr_assert_eq(json_array_size(a), 6, "%s", o.buf);
	/* newest first; statuses as shown at 4000: 6 is past its end */
	static const char *const status[] = {"expired", "revoked", "revoked", "refused", "pending",
					     "active"};
	for (size_t i = 0; i < 6; i++) {
		json_t *x = json_array_get(a, i);
		int64_t id = json_integer_value(json_object_get(x, "id"));
		cr_assert_eq(id, 6 - (int64_t)i);
		cr_assert_str_eq(json_string_value(json_object_get(x, "status")), status[i],
				 "id %lld", (long long)id);
		cr_assert_str_eq(
			json_string_value(json_object_get(json_object_get(x, "requested_by"), "username")),
			"req");
	}
	json_t *four = json_array_get(a, 2);
	cr_assert_str_eq(json_string_value(json_object_get(four, "start")), "1970-01-01T08:33:20+08:00");
	cr_assert_str_eq(json_string_value(json_object_get(four, "end")), "1970-01-01T08:50:00+08:00");
	cr_assert_str_eq(
		json_string_value(json_object_get(json_object_get(four, "approved_by"), "role_zh")),
		"核酸检测组");
	cr_assert_str_eq(json_string_value(json_object_get(four, "category_zh")), "检测结果录入错误");
	json_t *two = json_array_get(a, 4);
	cr_assert(json_is_null(json_object_get(two, "approved_by")));
	cr_assert(json_is_null(json_object_get(two, "start")));
	json_decref(j);
	strbuf_release(&o);
}

Test(override, the_table_refuses_the_requester_as_approver)
{
	int rc = sqlite3_exec(db, "UPDATE overrides SET approved_by = 1, status = 'active',"
				  " approved_at = 1000 WHERE id = 2",
			      NULL, NULL, NULL);
	cr_assert_eq(rc & 0xff, SQLITE_CONSTRAINT);
}
