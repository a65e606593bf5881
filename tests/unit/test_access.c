/* Suite "access": roles and permissions, region scopes, passwords,
 * masking, login throttling, users and sessions (on a temporary database).
 *
 * Reference values are written out by hand from the contract in
 * access.h and the API document, not computed by the code under test.
 */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access/access.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

/* ---------- roles ---------- */

Test(access, role_names_labels_and_parse)
{
	static const char *names[ROLE_COUNT] = {"admin", "command",  "tracer", "isolation",
						"tester", "lab",      "grid",   "sentinel",
						"venue", "checkpoint", "citizen"};
	static const char *labels[ROLE_COUNT] = {"管理员", "指挥部", "流调溯源组", "转运隔离组",
						 "核酸检测组", "实验室", "网格员", "哨点",
						 "场所", "卡口", "市民"};
	for (int i = 0; i < ROLE_COUNT; i++) {
		enum role r = ROLE_COUNT;
		cr_assert_str_eq(role_name((enum role)i), names[i]);
		cr_assert_str_eq(role_label_zh((enum role)i), labels[i]);
		cr_assert(role_parse(names[i], &r), "%s", names[i]);
		cr_assert_eq(r, (enum role)i);
	}
	enum role r;
	cr_assert_not(role_parse("Admin", &r));
	cr_assert_not(role_parse("", &r));
	cr_assert_not(role_parse("grid ", &r));
	cr_assert_not(role_parse(NULL, &r));
	cr_assert_str_eq(role_name(ROLE_COUNT), "unknown");
}

Test(access, role_perms_exact)
{
	const unsigned health = PERM_READ_REGIONS | PERM_READ_PERSONS | PERM_READ_VENUES | PERM_UNMASK;
	const unsigned places = PERM_READ_REGIONS | PERM_READ_VENUES;
	cr_assert_eq(role_perms(ROLE_ADMIN), PERM_READ_REGIONS | PERM_MANAGE_USERS | PERM_READ_VENUES |
						     PERM_READ_AUDIT | PERM_POLICY);
	cr_assert_eq(role_perms(ROLE_ADMIN) & (PERM_READ_PERSONS | PERM_UNMASK | PERM_READ_CODES), 0u);
	const unsigned trace = PERM_TRACE | PERM_READ_ALERTS;
	const unsigned codes = PERM_READ_CODES | PERM_CODE_OVERRIDE;
	const unsigned tests = PERM_READ_TESTING;
	cr_assert_eq(role_perms(ROLE_COMMAND), health | trace | codes | PERM_CHECKPOINT |
						       PERM_CLEAR_ALERTS | tests |
						       PERM_MANAGE_TESTING | PERM_READ_CONTROL |
						       PERM_MANAGE_CONTROL | PERM_ISOLATION);
	cr_assert_eq(role_perms(ROLE_TRACER), health | trace | codes | tests | PERM_READ_CONTROL);
	cr_assert_eq(role_perms(ROLE_ISOLATION), health | codes | tests | PERM_READ_CONTROL |
							 PERM_ISOLATION | PERM_CHECKS);
	cr_assert_eq(role_perms(ROLE_TESTER), health | codes | tests | PERM_MANAGE_TESTING |
						      PERM_SAMPLE | PERM_RESULTS);
	cr_assert_eq(role_perms(ROLE_GRID),
		     health | PERM_READ_ALERTS | PERM_READ_CODES | PERM_CLEAR_ALERTS | tests |
			     PERM_READ_CONTROL | PERM_CHECKS);
	/* a lab posts results and sees no persons */
	cr_assert_eq(role_perms(ROLE_LAB), places | PERM_RESULTS);
	cr_assert_eq(role_perms(ROLE_SENTINEL), places);
	cr_assert_eq(role_perms(ROLE_VENUE), places | PERM_SCAN);
	cr_assert_eq(role_perms(ROLE_CHECKPOINT), places | PERM_SCAN | PERM_CHECKPOINT);
	/* health roles approve overrides and decide appeals; no one else */
	cr_assert(role_is_health(ROLE_COMMAND) && role_is_health(ROLE_TRACER) &&
		  role_is_health(ROLE_ISOLATION) && role_is_health(ROLE_TESTER));
	cr_assert(!role_is_health(ROLE_ADMIN) && !role_is_health(ROLE_GRID) &&
		  !role_is_health(ROLE_LAB) && !role_is_health(ROLE_VENUE) &&
		  !role_is_health(ROLE_CHECKPOINT) && !role_is_health(ROLE_CITIZEN) &&
		  !role_is_health(ROLE_COUNT));
	/* a citizen reaches only their own records, and scans venues */
	cr_assert_eq(role_perms(ROLE_CITIZEN), PERM_SCAN);
	cr_assert_eq(role_perms(ROLE_COUNT), 0u);
}

/* ---------- scopes ---------- */

Test(access, scope_contains_prefix_edges)
{
	cr_assert(access_scope_contains("", "6109"));
	cr_assert(access_scope_contains("", "610902001001001"));
	cr_assert(access_scope_contains("", ""));
	cr_assert(access_scope_contains("6109", "6109"));
	cr_assert(access_scope_contains("6109", "610902"));
	cr_assert(access_scope_contains("6109", "61090"));
	cr_assert(access_scope_contains("6109", "610902001001001"));
	cr_assert_not(access_scope_contains("61090", "6109"));
	cr_assert_not(access_scope_contains("6109", "610"));
	cr_assert_not(access_scope_contains("6109", "6110"));
	cr_assert_not(access_scope_contains("6109", "61"));
	cr_assert_not(access_scope_contains("6109", ""));
	cr_assert_not(access_scope_contains("610902", "610903001"));
	cr_assert_not(access_scope_contains("610902001", "610902002001"));
	cr_assert_not(access_scope_contains("6109", NULL));
}

Test(access, scope_upper_bound)
{
	char hi[32];
	access_scope_upper("6109", hi, sizeof(hi));
	cr_assert_str_eq(hi, "6109:");
	access_scope_upper("", hi, sizeof(hi));
	cr_assert_str_eq(hi, ":");
	/* every code in the subtree sorts inside [scope, upper) */
	access_scope_upper("6109", hi, sizeof(hi));
	cr_assert_lt(strcmp("610999999999999", hi), 0);
	cr_assert_gt(strcmp("6110", hi), 0);
}

/* ---------- passwords ---------- */

Test(access, password_argon2id_round_trip)
{
	char h1[crypto_pwhash_STRBYTES], h2[crypto_pwhash_STRBYTES];
	struct fk_err err;
	cr_assert_eq(password_hash("correct horse battery", h1, &err), FK_OK);
	cr_assert_eq(password_hash("correct horse battery", h2, &err), FK_OK);
	cr_assert(fk_starts_with(h1, "$argon2id$"), "%s", h1);
	cr_assert_str_neq(h1, h2, "same password must hash differently (salt)");
	cr_assert(password_verify(h1, "correct horse battery"));
	cr_assert(password_verify(h2, "correct horse battery"));
	cr_assert_not(password_verify(h1, "correct horse batterY"));
	cr_assert_not(password_verify(h1, ""));
	cr_assert_not(password_verify("not a hash", "correct horse battery"));
}

Test(access, password_random_and_policy)
{
	char a[17], b[17];
	password_random(a, sizeof(a), 16);
	password_random(b, sizeof(b), 16);
	cr_assert_eq(strlen(a), 16u);
	cr_assert_str_neq(a, b);
	for (const char *p = a; *p; p++)
		cr_assert(strchr("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", *p),
			  "ambiguous or odd character '%c' in '%s'", *p, a);
	char small[5];
	password_random(small, sizeof(small), 16);
	cr_assert_eq(strlen(small), 4u);

	cr_assert_not(password_acceptable("123456789"));
	cr_assert(password_acceptable("1234567890"));
	cr_assert_not(password_acceptable("防控防控防控防控防")); /* 9 characters, 27 bytes */
	cr_assert(password_acceptable("防控防控防控防控防控"));
	cr_assert_not(password_acceptable(NULL));
}

/* ---------- masking ---------- */

Test(access, mask_exact)
{
	char out[32];
	mask_id_number("61090219900101123X", out, sizeof(out));
	cr_assert_str_eq(out, "610902********123X");
	mask_id_number("61090219900101123x", out, sizeof(out));
	cr_assert_str_eq(out, "610902********123X");
	mask_id_number("610902199001011234", out, sizeof(out));
	cr_assert_str_eq(out, "610902********1234");
	mask_id_number("1234567890", out, sizeof(out)); /* too short to keep anything */
	cr_assert_str_eq(out, "**********");
	mask_id_number("", out, sizeof(out));
	cr_assert_str_eq(out, "");
	mask_phone("13912345678", out, sizeof(out));
	cr_assert_str_eq(out, "139****5678");
	mask_phone("1391234", out, sizeof(out));
	cr_assert_str_eq(out, "*******");
	char tiny[8];
	mask_id_number("61090219900101123X", tiny, sizeof(tiny));
	cr_assert_str_eq(tiny, "*******");
}

/* ---------- throttling ---------- */

#define T0 ((int64_t)1717200000)

Test(access, throttle_after_five_failures_and_reset_on_success)
{
	int wait = -1;
	login_throttle_reset();
	for (int i = 0; i < 4; i++)
		login_record_failure("wang", "10.0.0.1", T0 + i);
	cr_assert_not(login_throttled("wang", "10.0.0.1", T0 + 4, &wait));
	cr_assert_eq(wait, 0);
	login_record_failure("wang", "10.0.0.1", T0 + 4);
	cr_assert(login_throttled("wang", "10.0.0.1", T0 + 5, &wait));
	cr_assert_eq(wait, 900 - 5); /* the window opened at T0 */
	/* the user is refused from any address ... */
	cr_assert(login_throttled("wang", "10.9.9.9", T0 + 5, &wait));
	/* ... but 5 failures from an address do not lock its other users out */
	cr_assert_not(login_throttled("li", "10.0.0.1", T0 + 5, &wait));
	cr_assert_not(login_throttled("li", "10.9.9.9", T0 + 5, &wait));
	/* the window closes 15 minutes after the first failure */
	cr_assert(login_throttled("wang", "10.9.9.9", T0 + 899, &wait));
	cr_assert_eq(wait, 1);
	cr_assert_not(login_throttled("wang", "10.9.9.9", T0 + 900, &wait));

	login_record_success("wang", "10.0.0.1");
	cr_assert_not(login_throttled("wang", "10.0.0.1", T0 + 6, &wait));
	cr_assert_eq(wait, 0);
	/* counting starts again from zero */
	for (int i = 0; i < 4; i++)
		login_record_failure("wang", "10.0.0.1", T0 + 10 + i);
	cr_assert_not(login_throttled("wang", "10.0.0.1", T0 + 20, &wait));
}

Test(access, throttle_address_after_thirty_failures_for_any_user)
{
	int wait;
	char name[32];
	login_throttle_reset();
	for (int i = 0; i < 29; i++) {
		snprintf(name, sizeof(name), "spray%d", i);
		login_record_failure(name, "10.3.3.3", T0 + i);
	}
	cr_assert_not(login_throttled("li", "10.3.3.3", T0 + 30, &wait));
	login_record_failure("spray29", "10.3.3.3", T0 + 30);
	cr_assert(login_throttled("li", "10.3.3.3", T0 + 31, &wait));
	cr_assert_eq(wait, 900 - 31);
	/* a valid login from the address does not reset the address */
	login_record_success("li", "10.3.3.3");
	cr_assert(login_throttled("li", "10.3.3.3", T0 + 32, &wait));
}

Test(access, throttle_reservation_stops_parallel_guesses)
{
	int wait, admitted = 0;
	login_throttle_reset();
	/* 40 attempts begin before any finishes: only 5 may go on */
	for (int i = 0; i < 40; i++)
		if (!login_attempt_begin("c1", "10.4.4.4", T0, &wait))
			admitted++;
	cr_assert_eq(admitted, 5);
	/* a success returns only its own reservation to the address */
	login_throttle_reset();
	for (int i = 0; i < 3; i++)
		cr_assert_not(login_attempt_begin("x", "10.5.5.5", T0, &wait));
	login_attempt_succeeded("x", "10.5.5.5");
	cr_assert_not(login_attempt_begin("y", "10.5.5.5", T0, &wait));
}

Test(access, throttle_failures_in_separate_windows_do_not_add_up)
{
	int wait;
	login_throttle_reset();
	for (int i = 0; i < 4; i++)
		login_record_failure("zhao", "10.0.0.2", T0 + i);
	/* a fifth failure after the window: a new window with one failure */
	login_record_failure("zhao", "10.0.0.2", T0 + 1000);
	cr_assert_not(login_throttled("zhao", "10.0.0.2", T0 + 1001, &wait));
}

Test(access, throttle_table_is_bounded)
{
	int wait;
	char name[32], origin[32];
	login_throttle_reset();
	for (int i = 0; i < 5; i++)
		login_record_failure("target", "10.1.1.1", T0);
	/* flood the table with 10000 other keys, all newer */
	for (int i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		snprintf(origin, sizeof(origin), "10.2.%d.%d", i / 256, i % 256);
		login_record_failure(name, origin, T0 + 1);
	}
	/* a flood of new keys does not free a refused user ... */
	cr_assert(login_throttled("target", "10.3.0.1", T0 + 3, &wait));
	/* ... and the newest keys still count */
	for (int i = 0; i < 4; i++)
		login_record_failure("user9999", "10.2.39.15", T0 + 2);
	cr_assert(login_throttled("user9999", "10.3.0.0", T0 + 3, &wait));
	cr_assert_eq(wait, 900 - 2);
}

/* ---------- users and sessions on a database ---------- */

static char dir[64];
static char path[128];
static sqlite3 *db;

static void db_setup(void)
{
	struct fk_err err;
	fk_strlcpy(dir, "/tmp/fk-access-XXXXXX", sizeof(dir));
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	cr_assert_eq(store_open(path, STORE_CREATE, &db, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(store_exec(db,
				"INSERT INTO regions(code,name,level,parent_code) VALUES"
				"('6109','安康市',2,NULL),('610902','汉滨区',3,'6109')",
				&err),
		     FK_OK, "%s", err.msg);
	unsetenv("FANGKONG_NOW");
	login_throttle_reset();
}

static void db_teardown(void)
{
	char cmd[256];
	store_close(db);
	db = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static char *query_text(const char *sql)
{
	sqlite3_stmt *st = NULL;
	char *out = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		out = fk_xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out ? out : fk_xstrdup("(null)");
}

static void assert_query(const char *sql, const char *want)
{
	char *got = query_text(sql);
	cr_assert_str_eq(got, want, "%s", sql);
	free(got);
}

#define PW "pass-word-123"
#define MUST_CHANGE USER_MUST_CHANGE_PASSWORD

Test(access, user_create_rules, .init = db_setup, .fini = db_teardown)
{
	struct fk_err err;
	struct user u;
	cr_assert_eq(user_create(db, "wang.grid", PW, ROLE_GRID, "610902", MUST_CHANGE, "admin", "cli", &u, &err),
		     FK_OK, "%s", err.msg);
	cr_assert_str_eq(u.username, "wang.grid");
	cr_assert_eq(u.role, ROLE_GRID);
	cr_assert_str_eq(u.scope, "610902");
	cr_assert_gt(u.id, 0);

	cr_assert_eq(user_create(db, "wang.grid", PW, ROLE_LAB, "6109", MUST_CHANGE, "admin", "cli", NULL, &err),
		     FK_ECONFLICT);
	cr_assert_str_eq(err.msg, "user 'wang.grid' already exists");
	cr_assert_eq(user_create(db, "li", "short", ROLE_LAB, "6109", MUST_CHANGE, "admin", "cli", NULL, &err),
		     FK_EINVAL);
	cr_assert_eq(user_create(db, "li", PW, ROLE_LAB, "610999", MUST_CHANGE, "admin", "cli", NULL, &err),
		     FK_EINVAL);
	cr_assert_str_eq(err.msg, "scope region '610999' does not exist");
	cr_assert_eq(user_create(db, "li", PW, ROLE_LAB, "61x9", MUST_CHANGE, "admin", "cli", NULL, &err),
		     FK_EINVAL);
	cr_assert_eq(user_create(db, "li wang", PW, ROLE_LAB, "6109", MUST_CHANGE, "admin", "cli", NULL, &err),
		     FK_EINVAL);
	cr_assert_eq(user_create(db, ".li", PW, ROLE_LAB, "6109", MUST_CHANGE, "admin", "cli", NULL, &err),
		     FK_EINVAL);
	cr_assert_eq(user_create(db, "li", PW, ROLE_COUNT, "6109", MUST_CHANGE, "admin", "cli", NULL, &err),
		     FK_EINVAL);

	/* only the first creation reached the table and the audit log */
	assert_query("SELECT group_concat(username||':'||role||':'||scope||':'||created_by)"
		     " FROM users",
		     "wang.grid:grid:610902:admin");
	assert_query("SELECT group_concat(actor||'|'||action||'|'||object||'|'||detail, ';')"
		     " FROM audit_log",
		     "admin|user.create|wang.grid|role=grid scope=610902");
	/* the password is stored as argon2id, never in clear */
	assert_query("SELECT substr(pwhash,1,10) FROM users", "$argon2id$");

	struct user g;
	cr_assert_eq(user_get_by_name(db, "wang.grid", &g, &err), FK_OK);
	cr_assert_eq(g.id, u.id);
	cr_assert_eq(user_get_by_name(db, "nobody", &g, &err), FK_ENOTFOUND);
}

Test(access, session_login_lookup_logout, .init = db_setup, .fini = db_teardown)
{
	struct fk_err err;
	struct user u, got;
	char token[TOKEN_HEX_LEN + 1], other[TOKEN_HEX_LEN + 1];
	int64_t exp = 0;
	cr_assert_eq(user_create(db, "chen", PW, ROLE_TRACER, "6109", MUST_CHANGE, "admin", "cli", NULL, &err),
		     FK_OK);

	setenv("FANGKONG_NOW", "2024-06-01T08:00:00+08:00", 1);
	cr_assert_eq(session_login(db, "chen", PW, "10.0.0.7", token, &exp, &u, &err), FK_OK,
		     "%s", err.msg);
	cr_assert_eq(strlen(token), 64u);
	for (const char *p = token; *p; p++)
		cr_assert(strchr("0123456789abcdef", *p), "%s", token);
	cr_assert_eq(exp, (int64_t)1717200000 + 12 * 3600); /* 2024-06-01T08:00+08:00 + 12 h */
	cr_assert_str_eq(u.username, "chen");
	cr_assert_eq(u.role, ROLE_TRACER);

	/* only a 32-byte hash of the token is stored */
	assert_query("SELECT count(*) FROM sessions", "1");
	assert_query("SELECT length(token_hash) FROM sessions", "32");
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sessions WHERE token_hash=x'%.64s'"
				   " OR token_hash='%s'", token, token);
	assert_query(sql, "0");

	cr_assert_eq(session_lookup(db, token, &got, &err), FK_OK, "%s", err.msg);
	cr_assert_str_eq(got.username, "chen");
	cr_assert_str_eq(got.scope, "6109");
	cr_assert_eq(got.role, ROLE_TRACER);

	/* malformed and unknown tokens */
	cr_assert_eq(session_lookup(db, "", &got, &err), FK_EAUTH);
	cr_assert_eq(session_lookup(db, "abc", &got, &err), FK_EAUTH);
	memcpy(other, token, sizeof(other));
	other[0] = other[0] == 'a' ? 'b' : 'a';
	cr_assert_eq(session_lookup(db, other, &got, &err), FK_EAUTH);
	for (char *p = other; *p; p++)
		*p = (char)(*p >= 'a' ? *p - 32 : *p); /* upper case is not our token */
	cr_assert_eq(session_lookup(db, other, &got, &err), FK_EAUTH);

	/* expiry: valid until 12 hours after login, not one second more */
	setenv("FANGKONG_NOW", "2024-06-01T19:59:59+08:00", 1);
	cr_assert_eq(session_lookup(db, token, &got, &err), FK_OK);
	setenv("FANGKONG_NOW", "2024-06-01T20:00:00+08:00", 1);
	cr_assert_eq(session_lookup(db, token, &got, &err), FK_EAUTH);
	cr_assert_str_eq(err.msg, "session expired or unknown");

	/* logout ends the session; a second logout is refused */
	setenv("FANGKONG_NOW", "2024-06-01T09:00:00+08:00", 1);
	cr_assert_eq(session_lookup(db, token, &got, &err), FK_OK);
	cr_assert_eq(session_logout(db, token, "10.0.0.7", &err), FK_OK, "%s", err.msg);
	cr_assert_eq(session_lookup(db, token, &got, &err), FK_EAUTH);
	cr_assert_eq(session_logout(db, token, "10.0.0.7", &err), FK_EAUTH);
	assert_query("SELECT count(*) FROM sessions", "0");

	assert_query("SELECT group_concat(actor||'|'||action||'|'||object||'|'||origin, ';')"
		     " FROM (SELECT * FROM audit_log ORDER BY seq)",
		     "admin|user.create|chen|cli;chen|session.login|chen|10.0.0.7;"
		     "chen|session.logout|chen|10.0.0.7");
	int64_t rows;
	cr_assert_eq(audit_verify(db, &rows, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(rows, 3);
}

Test(access, login_failures_same_answer_and_audited, .init = db_setup, .fini = db_teardown)
{
	struct fk_err err;
	struct user u;
	char token[TOKEN_HEX_LEN + 1];
	int64_t exp;
	cr_assert_eq(user_create(db, "zhou", PW, ROLE_LAB, "6109", MUST_CHANGE, "admin", "cli", NULL, &err),
		     FK_OK);
	cr_assert_eq(session_login(db, "zhou", "wrong-password", "10.0.0.8", token, &exp, &u, &err),
		     FK_EAUTH);
	cr_assert_str_eq(err.msg, "wrong username or password");
	cr_assert_eq(session_login(db, "nobody", PW, "10.0.0.8", token, &exp, &u, &err), FK_EAUTH);
	cr_assert_str_eq(err.msg, "wrong username or password");

	/* a disabled account can neither log in nor keep using its session */
	cr_assert_eq(session_login(db, "zhou", PW, "10.0.0.8", token, &exp, &u, &err), FK_OK);
	cr_assert_eq(store_exec(db, "UPDATE users SET disabled=1 WHERE username='zhou'", &err),
		     FK_OK);
	cr_assert_eq(session_lookup(db, token, &u, &err), FK_EAUTH);
	cr_assert_eq(session_login(db, "zhou", PW, "10.0.0.8", token, &exp, &u, &err), FK_EAUTH);
	cr_assert_str_eq(err.msg, "wrong username or password");

	assert_query("SELECT group_concat(actor||'|'||action||'|'||object, ';')"
		     " FROM (SELECT * FROM audit_log ORDER BY seq)",
		     "admin|user.create|zhou;-|session.login_failed|zhou;"
		     "-|session.login_failed|nobody;zhou|session.login|zhou;"
		     "-|session.login_failed|zhou");
}

Test(access, expired_sessions_are_purged_at_next_login, .init = db_setup, .fini = db_teardown)
{
	struct fk_err err;
	struct user u;
	char t1[TOKEN_HEX_LEN + 1], t2[TOKEN_HEX_LEN + 1];
	int64_t exp;
	cr_assert_eq(user_create(db, "sun", PW, ROLE_GRID, "610902", MUST_CHANGE, "admin", "cli", NULL, &err),
		     FK_OK);
	setenv("FANGKONG_NOW", "2024-06-01T08:00:00+08:00", 1);
	cr_assert_eq(session_login(db, "sun", PW, "-", t1, &exp, &u, &err), FK_OK);
	setenv("FANGKONG_NOW", "2024-06-02T08:00:00+08:00", 1);
	cr_assert_eq(session_login(db, "sun", PW, "-", t2, &exp, &u, &err), FK_OK);
	assert_query("SELECT count(*) FROM sessions", "1");
	cr_assert_str_neq(t1, t2);
	cr_assert_eq(session_lookup(db, t2, &u, &err), FK_OK);
}

Test(access, initial_password_must_be_changed_by_its_owner, .init = db_setup,
     .fini = db_teardown)
{
	struct fk_err err;
	struct user u, got;
	char t1[TOKEN_HEX_LEN + 1], t2[TOKEN_HEX_LEN + 1];
	int64_t exp;
	const char *fresh = "owner-chosen-42";

	/* set by user_create when asked, not otherwise */
	cr_assert_eq(user_create(db, "han", PW, ROLE_TRACER, "6109", MUST_CHANGE, "admin", "cli",
				 &u, &err),
		     FK_OK, "%s", err.msg);
	cr_assert(u.must_change_password);
	cr_assert_eq(user_create(db, "boss", PW, ROLE_ADMIN, "", 0, "cli", "cli", &got, &err),
		     FK_OK, "%s", err.msg);
	cr_assert_not(got.must_change_password);
	assert_query("SELECT group_concat(username||'='||must_change_password) FROM"
		     " (SELECT * FROM users ORDER BY username)",
		     "boss=0,han=1");

	/* sessions carry the flag */
	cr_assert_eq(session_login(db, "han", PW, "10.0.0.9", t1, &exp, &got, &err), FK_OK);
	cr_assert(got.must_change_password);
	cr_assert_eq(session_login(db, "han", PW, "10.0.0.9", t2, &exp, &got, &err), FK_OK);
	cr_assert_eq(session_lookup(db, t2, &got, &err), FK_OK);
	cr_assert(got.must_change_password);

	/* weak, unchanged and wrong-old changes are refused and change nothing */
	cr_assert_eq(user_password_change(db, &u, PW, "short", t2, "10.0.0.9", &err), FK_EINVAL);
	cr_assert_str_eq(err.msg, "new password is too weak: use at least 10 characters");
	cr_assert_eq(user_password_change(db, &u, PW, PW, t2, "10.0.0.9", &err), FK_EINVAL);
	cr_assert_str_eq(err.msg, "new password must differ from the old one");
	cr_assert_eq(user_password_change(db, &u, "not-the-old-one", fresh, t2, "10.0.0.9", &err),
		     FK_EAUTH);
	assert_query("SELECT must_change_password FROM users WHERE username='han'", "1");

	/* the change clears the flag, keeps this session, ends the other one */
	cr_assert_eq(user_password_change(db, &u, PW, fresh, t2, "10.0.0.9", &err), FK_OK, "%s",
		     err.msg);
	assert_query("SELECT must_change_password FROM users WHERE username='han'", "0");
	cr_assert_eq(session_lookup(db, t2, &got, &err), FK_OK);
	cr_assert_not(got.must_change_password);
	cr_assert_eq(session_lookup(db, t1, &got, &err), FK_EAUTH);
	struct user seen;
	cr_assert_eq(user_get_by_name(db, "han", &seen, &err), FK_OK);
	cr_assert_not(seen.must_change_password);
	/* only the new password logs in */
	cr_assert_eq(session_login(db, "han", PW, "10.0.0.9", t1, &exp, &got, &err), FK_EAUTH);
	cr_assert_eq(session_login(db, "han", fresh, "10.0.0.9", t1, &exp, &got, &err), FK_OK);
	cr_assert_not(got.must_change_password);
	assert_query("SELECT detail FROM audit_log WHERE action='user.password_change'"
		     " AND actor='han' AND object='han'",
		     "other sessions ended=1");

	/* a change verified against a hash that is gone meanwhile loses */
	char stale[crypto_pwhash_STRBYTES], h[crypto_pwhash_STRBYTES];
	cr_assert_eq(user_password_check(db, u.id, fresh, stale, &err), FK_OK);
	cr_assert_eq(user_password_change(db, &u, fresh, "third-password-3", NULL, "-", &err),
		     FK_OK);
	assert_query("SELECT count(*) FROM sessions s JOIN users u ON u.id=s.user_id"
		     " WHERE u.username='han'",
		     "0");
	cr_assert_eq(password_hash("fourth-password-4", h, &err), FK_OK);
	cr_assert_eq(user_password_store(db, &u, stale, h, NULL, "-", &err), FK_ECONFLICT);
	int64_t rows;
	cr_assert_eq(audit_verify(db, &rows, &err), FK_OK, "%s", err.msg);
}
