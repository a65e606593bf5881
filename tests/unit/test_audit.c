/* Suite "audit": the hash-chained audit log.
 *
 * Each test appends rows through audit_append(), then tampers with the
 * file through a separate raw sqlite3 connection (dropping the
 * append-only triggers first, as an attacker with file access would) and
 * checks that audit_verify() names the first bad row exactly.  The chain
 * format is checked against a hash computed here from the documented
 * framing (access.h / audit.c), not by the code under test.
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

static char dir[64];
static char path[128];
static sqlite3 *db;  /* the store's connection */
static sqlite3 *raw; /* an independent connection: the tamperer */

static void append_ten(void)
{
	struct fk_err err;
	char actor[32], object[32];
	for (int i = 1; i <= 10; i++) {
		snprintf(actor, sizeof(actor), "u%d", i);
		snprintf(object, sizeof(object), "person:%d", 100 + i);
		cr_assert_eq(audit_append(db, actor, "person.read", object, "", "10.0.0.1", &err),
			     FK_OK, "%s", err.msg);
	}
}

static void setup(void)
{
	struct fk_err err;
	fk_strlcpy(dir, "/tmp/fk-audit-XXXXXX", sizeof(dir));
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	cr_assert_eq(store_open(path, STORE_CREATE, &db, &err), FK_OK, "%s", err.msg);
	setenv("FANGKONG_NOW", "2024-06-01T08:00:00+08:00", 1);
	append_ten();
	cr_assert_eq(sqlite3_open(path, &raw), SQLITE_OK);
}

static void teardown(void)
{
	char cmd[256];
	sqlite3_close(raw);
	store_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void tamper(const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(raw, sql, NULL, NULL, &msg);
	cr_assert_eq(rc, SQLITE_OK, "%s: %s", sql, msg ? msg : "");
	sqlite3_free(msg);
}

static void drop_triggers(void)
{
	tamper("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;");
}

static void assert_broken(const char *want)
{
	struct fk_err err = {0};
	int64_t rows = -1;
	cr_assert_eq(audit_verify(db, &rows, &err), FK_EINVAL, "verify passed; wanted: %s", want);
	cr_assert_str_eq(err.msg, want);
}

#define AUDIT_TEST(name) Test(audit, name, .init = setup, .fini = teardown)

AUDIT_TEST(intact_chain_verifies)
{
	struct fk_err err;
	int64_t rows = -1;
	cr_assert_eq(audit_verify(db, &rows, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(rows, 10);
	/* seqs dense from 1, each row chained to the one before */
	cr_assert_eq(store_query_int(raw, "SELECT count(*) FROM audit_log a JOIN audit_log b"
					  " ON b.seq = a.seq + 1 WHERE b.prev_hash = a.hash",
				     -1),
		     9);
	cr_assert_eq(store_query_int(raw, "SELECT min(seq)*100 + max(seq) FROM audit_log", -1),
		     110);
	cr_assert_eq(store_query_int(raw, "SELECT prev_hash = zeroblob(32) FROM audit_log"
					  " WHERE seq = 1",
				     -1),
		     1);
	/* the head names the last row */
	cr_assert_eq(store_query_int(raw, "SELECT (SELECT value FROM meta WHERE key='audit_head')"
					  " = '10:' || lower(hex(hash)) FROM audit_log WHERE seq=10",
				     -1),
		     1);
}

static void frame(crypto_generichash_state *h, const void *p, size_t n)
{
	unsigned char len[8];
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)((uint64_t)n >> (56 - 8 * i));
	crypto_generichash_update(h, len, 8);
	crypto_generichash_update(h, p, n);
}

static void frame_int(crypto_generichash_state *h, int64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)v >> (56 - 8 * i));
	frame(h, b, 8);
}

AUDIT_TEST(first_row_hash_matches_the_documented_format)
{
	unsigned char zero[32] = {0}, want[32];
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, 32);
	frame(&h, zero, 32);
	frame_int(&h, 1);
	frame_int(&h, 1717200000); /* 2024-06-01T08:00:00+08:00 */
	frame(&h, "u1", 2);
	frame(&h, "person.read", 11);
	frame(&h, "person:101", 10);
	frame(&h, "", 0);
	frame(&h, "10.0.0.1", 8);
	crypto_generichash_final(&h, want, 32);

	sqlite3_stmt *st = NULL;
	cr_assert_eq(sqlite3_prepare_v2(raw, "SELECT hash FROM audit_log WHERE seq=1", -1, &st, NULL),
		     SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_assert_eq(sqlite3_column_bytes(st, 0), 32);
	int same = memcmp(sqlite3_column_blob(st, 0), want, 32) == 0;
	sqlite3_finalize(st);
	cr_assert(same, "row 1 hash differs from BLAKE2b-256 over the framed fields");
}

AUDIT_TEST(triggers_refuse_update_and_delete)
{
	char *msg = NULL;
	cr_assert_neq(sqlite3_exec(raw, "UPDATE audit_log SET actor='x' WHERE seq=3", NULL, NULL,
				   &msg),
		      SQLITE_OK);
	cr_assert_str_eq(msg, "audit_log is append-only");
	sqlite3_free(msg);
	msg = NULL;
	cr_assert_neq(sqlite3_exec(raw, "DELETE FROM audit_log WHERE seq=3", NULL, NULL, &msg),
		      SQLITE_OK);
	cr_assert_str_eq(msg, "audit_log is append-only");
	sqlite3_free(msg);
	struct fk_err err;
	int64_t rows;
	cr_assert_eq(audit_verify(db, &rows, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(rows, 10);
}

AUDIT_TEST(altered_field_is_named)
{
	drop_triggers();
	tamper("UPDATE audit_log SET object='person:999' WHERE seq=4");
	assert_broken("audit row 4 was altered (hash mismatch)");
}

AUDIT_TEST(bytes_moved_between_fields_are_detected)
{
	/* "u7" + "person.read" == "u7p" + "erson.read": framing tells them apart */
	drop_triggers();
	tamper("UPDATE audit_log SET actor='u7p', action='erson.read' WHERE seq=7");
	assert_broken("audit row 7 was altered (hash mismatch)");
}

AUDIT_TEST(altered_time_is_detected)
{
	drop_triggers();
	tamper("UPDATE audit_log SET at = at - 86400 WHERE seq=2");
	assert_broken("audit row 2 was altered (hash mismatch)");
}

/* Recomputes row seq's hash from its stored fields (the forger's move). */
static void rehash_row(int64_t seq)
{
	sqlite3_stmt *st = NULL, *up = NULL;
	unsigned char h[32];
	crypto_generichash_state gs;
	cr_assert_eq(sqlite3_prepare_v2(raw,
					"SELECT prev_hash, seq, at, actor, action, object, detail,"
					" origin FROM audit_log WHERE seq=?",
					-1, &st, NULL),
		     SQLITE_OK);
	sqlite3_bind_int64(st, 1, seq);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	crypto_generichash_init(&gs, NULL, 0, 32);
	frame(&gs, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
	frame_int(&gs, sqlite3_column_int64(st, 1));
	frame_int(&gs, sqlite3_column_int64(st, 2));
	for (int i = 3; i < 8; i++)
		frame(&gs, sqlite3_column_text(st, i), (size_t)sqlite3_column_bytes(st, i));
	crypto_generichash_final(&gs, h, 32);
	sqlite3_finalize(st);
	cr_assert_eq(sqlite3_prepare_v2(raw, "UPDATE audit_log SET hash=? WHERE seq=?", -1, &up,
					NULL),
		     SQLITE_OK);
	sqlite3_bind_blob(up, 1, h, 32, SQLITE_STATIC);
	sqlite3_bind_int64(up, 2, seq);
	cr_assert_eq(sqlite3_step(up), SQLITE_DONE);
	sqlite3_finalize(up);
}

AUDIT_TEST(altered_row_with_recomputed_hash_breaks_the_next_link)
{
	drop_triggers();
	tamper("UPDATE audit_log SET actor='someone-else' WHERE seq=5");
	rehash_row(5);
	assert_broken("audit row 6 does not follow row 5 (prev_hash mismatch): a row was "
		      "inserted, or row 5 was altered");
}

AUDIT_TEST(rewritten_last_row_is_caught_by_the_head)
{
	drop_triggers();
	tamper("UPDATE audit_log SET object='person:1' WHERE seq=10");
	rehash_row(10);
	assert_broken("audit row 10 does not match the head's hash: it was replaced");
}

AUDIT_TEST(deleted_middle_row_is_named)
{
	drop_triggers();
	tamper("DELETE FROM audit_log WHERE seq=5");
	assert_broken("audit rows between 4 and 6 are missing (deleted)");
}

AUDIT_TEST(deleted_rows_renumbered_break_the_chain)
{
	/* delete row 5 and shift 6..10 down to close the gap */
	drop_triggers();
	tamper("DELETE FROM audit_log WHERE seq=5; UPDATE audit_log SET seq=seq-1 WHERE seq>5;");
	/* row 5 is now the old row 6: its stored seq is part of its hash and
	 * its prev_hash points at the deleted row */
	assert_broken("audit row 5 does not follow row 4 (prev_hash mismatch): a row was "
		      "inserted, or row 4 was altered");
}

AUDIT_TEST(deleted_first_row_is_named)
{
	drop_triggers();
	tamper("DELETE FROM audit_log WHERE seq=1");
	assert_broken("audit rows before 2 are missing (deleted)");
}

AUDIT_TEST(forged_row_at_the_end_is_named)
{
	drop_triggers();
	tamper("INSERT INTO audit_log VALUES(11, 1717200000, 'admin', 'user.create', 'mallory',"
	       " '', 'cli', zeroblob(32), randomblob(32))");
	assert_broken("audit row 11 does not follow row 10 (prev_hash mismatch): a row was "
		      "inserted, or row 10 was altered");
}

AUDIT_TEST(forged_row_with_copied_prev_hash_is_named)
{
	drop_triggers();
	tamper("INSERT INTO audit_log SELECT 11, at, 'admin', 'user.create', 'mallory', '',"
	       " 'cli', hash, randomblob(32) FROM audit_log WHERE seq=10");
	assert_broken("audit row 11 was altered (hash mismatch)");
}

AUDIT_TEST(forged_row_before_the_first_is_named)
{
	tamper("INSERT INTO audit_log VALUES(0, 1717200000, 'admin', 'x', 'y', '', 'cli',"
	       " zeroblob(32), randomblob(32))");
	assert_broken("audit row 0 is out of sequence (expected row 1): it was inserted");
}

AUDIT_TEST(truncated_tail_is_caught_by_the_head)
{
	drop_triggers();
	tamper("DELETE FROM audit_log WHERE seq > 8");
	assert_broken("audit log ends at row 8 but its head says 10: rows were deleted");
}

AUDIT_TEST(emptied_log_is_caught_by_the_head)
{
	drop_triggers();
	tamper("DELETE FROM audit_log");
	assert_broken("audit log ends at row 0 but its head says 10: rows were deleted");
}

AUDIT_TEST(deleted_head_is_caught)
{
	tamper("DELETE FROM meta WHERE key='audit_head'");
	assert_broken("audit log has 10 rows but no head record: the head was deleted");
}

AUDIT_TEST(append_joins_the_callers_transaction)
{
	struct fk_err err;
	int64_t rows;
	cr_assert_eq(store_begin(db, &err), FK_OK);
	cr_assert_eq(audit_append(db, "a", "b", "c", "d", "e", &err), FK_OK, "%s", err.msg);
	cr_assert_eq(audit_append(db, "a", "b", "c", "d", "e", &err), FK_OK, "%s", err.msg);
	cr_assert_eq(store_query_int(db, "SELECT max(seq) FROM audit_log", -1), 12);
	store_rollback(db);
	/* rolled back with the caller's work: rows and head both */
	cr_assert_eq(store_query_int(raw, "SELECT max(seq) FROM audit_log", -1), 10);
	cr_assert_eq(audit_verify(db, &rows, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(rows, 10);
	/* and in autocommit mode it commits by itself */
	cr_assert_eq(audit_append(db, "a", "b", "c", "d", "e", &err), FK_OK, "%s", err.msg);
	cr_assert_eq(sqlite3_get_autocommit(db), 1);
	cr_assert_eq(store_query_int(raw, "SELECT max(seq) FROM audit_log", -1), 11);
	cr_assert_eq(audit_verify(db, &rows, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(rows, 11);
}

Test(audit, empty_log_verifies)
{
	char d[64], p[128], cmd[256];
	sqlite3 *e;
	struct fk_err err;
	int64_t rows = -1;
	fk_strlcpy(d, "/tmp/fk-audit-XXXXXX", sizeof(d));
	cr_assert_not_null(mkdtemp(d));
	snprintf(p, sizeof(p), "%s/e.db", d);
	cr_assert_eq(store_open(p, STORE_CREATE, &e, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(audit_verify(e, &rows, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(rows, 0);
	store_close(e);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	cr_assert_eq(system(cmd), 0);
}
