/* audit.c — the append-only, hash-chained audit log.
 *
 * Design note.
 * - Row n stores prev_hash = hash of row n-1 (32 zero bytes for row 1) and
 *   hash = BLAKE2b-256 over, in order, prev_hash, seq, at, actor, action,
 *   object, detail, origin.  Every field is framed as an 8-byte big-endian
 *   length followed by its bytes; seq and at are 8-byte big-endian two's
 *   complement.  Framing makes the encoding injective: moving bytes from
 *   one field to the next changes the hash.
 * - seq is max(seq)+1 computed inside the writer's transaction, so seqs are
 *   dense: 1, 2, 3, ...  A gap means deleted rows.
 * - The chain alone cannot see its tail cut off, so every append also
 *   writes the head ("SEQ:HASHHEX") to meta 'audit_head' in the same
 *   transaction.  Verify compares the last row with the head.
 * - Triggers in the schema refuse UPDATE and DELETE; the chain is what
 *   catches someone who drops the triggers or edits the file.  The chain is
 *   unkeyed: it proves the log was not changed by anyone who did not also
 *   recompute every later hash and the head.
 * - An append onto a damaged chain (a last row whose hash is not 32 bytes)
 *   is refused: it fails closed rather than hide the damage.
 */
#include "access/access.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define AUDIT_HASH_BYTES 32
#define AUDIT_HEAD_KEY "audit_head"
#define AUDIT_HEAD_MAX (24 + 1 + 2 * AUDIT_HASH_BYTES + 1)

static void put_u64(unsigned char b[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		b[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static void hash_field(crypto_generichash_state *h, const void *data, size_t len)
{
	unsigned char n[8];
	put_u64(n, (uint64_t)len);
	crypto_generichash_update(h, n, sizeof(n));
	if (len)
		crypto_generichash_update(h, data, len);
}

static void hash_int(crypto_generichash_state *h, int64_t v)
{
	unsigned char b[8];
	put_u64(b, (uint64_t)v);
	hash_field(h, b, sizeof(b));
}

struct audit_row {
	int64_t seq, at;
	const char *text[5]; /* actor, action, object, detail, origin */
	size_t len[5];
	const unsigned char *prev;
	size_t prev_len;
};

static void audit_row_hash(const struct audit_row *r, unsigned char out[AUDIT_HASH_BYTES])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, AUDIT_HASH_BYTES);
	hash_field(&h, r->prev, r->prev_len);
	hash_int(&h, r->seq);
	hash_int(&h, r->at);
	for (int i = 0; i < 5; i++)
		hash_field(&h, r->text[i], r->len[i]);
	crypto_generichash_final(&h, out, AUDIT_HASH_BYTES);
}

static void head_format(int64_t seq, const unsigned char hash[AUDIT_HASH_BYTES], char *out,
			size_t size)
{
	char hex[2 * AUDIT_HASH_BYTES + 1];
	sodium_bin2hex(hex, sizeof(hex), hash, AUDIT_HASH_BYTES);
	snprintf(out, size, "%" PRId64 ":%s", seq, hex);
}

/* Parses "SEQ:HEX"; false if malformed. */
static bool head_parse(const char *s, int64_t *seq, unsigned char hash[AUDIT_HASH_BYTES])
{
	const char *colon = strchr(s, ':');
	char num[24];
	size_t n = colon ? (size_t)(colon - s) : 0;
	if (!colon || n == 0 || n >= sizeof(num))
		return false;
	memcpy(num, s, n);
	num[n] = '\0';
	if (!fk_parse_i64(num, 0, INT64_MAX, seq))
		return false;
	size_t got = 0;
	const char *end = NULL;
	if (sodium_hex2bin(hash, AUDIT_HASH_BYTES, colon + 1, strlen(colon + 1), NULL, &got, &end) ||
	    got != AUDIT_HASH_BYTES || *end)
		return false;
	return true;
}

static const char *nz(const char *s)
{
	return s ? s : "";
}

enum fk_status audit_append(sqlite3 *wdb, const char *actor, const char *action,
			    const char *object, const char *detail, const char *origin,
			    struct fk_err *err)
{
	enum fk_status st = FK_OK;
	sqlite3_stmt *last = NULL, *ins = NULL;
	bool own = sqlite3_get_autocommit(wdb) != 0;
	unsigned char prev[AUDIT_HASH_BYTES] = {0}, hash[AUDIT_HASH_BYTES];
	struct audit_row row = {0};
	char head[AUDIT_HEAD_MAX];

	if (own && (st = store_begin(wdb, err)))
		return st;
	last = store_prepare(wdb, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", err);
	if (!last) {
		st = FK_EDB;
		goto rollback;
	}
	int rc = sqlite3_step(last);
	row.seq = 1;
	if (rc == SQLITE_ROW) {
		int64_t s = sqlite3_column_int64(last, 0);
		const void *h = sqlite3_column_blob(last, 1);
		if (sqlite3_column_bytes(last, 1) != AUDIT_HASH_BYTES || !h) {
			st = fk_fail(err, FK_EDB,
				     "audit row %" PRId64 " is damaged; run 'fangkong audit verify'", s);
			goto rollback;
		}
		memcpy(prev, h, AUDIT_HASH_BYTES);
		row.seq = s + 1;
	} else if (rc != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot read the audit log: %s", sqlite3_errmsg(wdb));
		goto rollback;
	}

	row.at = fk_now();
	const char *text[5] = {nz(actor), nz(action), nz(object), nz(detail), nz(origin)};
	for (int i = 0; i < 5; i++) {
		row.text[i] = text[i];
		row.len[i] = strlen(text[i]);
	}
	row.prev = prev;
	row.prev_len = AUDIT_HASH_BYTES;
	audit_row_hash(&row, hash);

	ins = store_prepare(wdb,
			    "INSERT INTO audit_log(seq, at, actor, action, object, detail, origin,"
			    " prev_hash, hash) VALUES(?,?,?,?,?,?,?,?,?)",
			    err);
	if (!ins) {
		st = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_int64(ins, 1, row.seq);
	sqlite3_bind_int64(ins, 2, row.at);
	for (int i = 0; i < 5; i++)
		sqlite3_bind_text(ins, 3 + i, text[i], (int)row.len[i], SQLITE_STATIC);
	sqlite3_bind_blob(ins, 8, prev, AUDIT_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(ins, 9, hash, AUDIT_HASH_BYTES, SQLITE_STATIC);
	if (sqlite3_step(ins) != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot append to the audit log: %s", sqlite3_errmsg(wdb));
		goto rollback;
	}
	head_format(row.seq, hash, head, sizeof(head));
	if ((st = store_meta_set(wdb, AUDIT_HEAD_KEY, head, err)))
		goto rollback;
	if (own && (st = store_commit(wdb, err)))
		goto rollback;
	goto done;
rollback:
	if (own)
		store_rollback(wdb);
done:
	sqlite3_finalize(last);
	sqlite3_finalize(ins);
	return st;
}

/* Checks one row against the chain so far.  *expect_seq and prev advance
 * on success. */
static enum fk_status verify_row(sqlite3_stmt *q, int64_t *expect_seq,
				 unsigned char prev[AUDIT_HASH_BYTES], struct fk_err *err)
{
	struct audit_row row;
	row.seq = sqlite3_column_int64(q, 0);
	row.at = sqlite3_column_int64(q, 1);
	for (int i = 0; i < 5; i++) {
		const unsigned char *t = sqlite3_column_text(q, 2 + i);
		row.text[i] = t ? (const char *)t : "";
		row.len[i] = t ? (size_t)sqlite3_column_bytes(q, 2 + i) : 0;
	}
	row.prev = sqlite3_column_blob(q, 7);
	row.prev_len = (size_t)sqlite3_column_bytes(q, 7);
	const unsigned char *stored = sqlite3_column_blob(q, 8);
	size_t stored_len = (size_t)sqlite3_column_bytes(q, 8);

	if (row.seq < *expect_seq)
		return fk_fail(err, FK_EINVAL,
			       "audit row %" PRId64 " is out of sequence (expected row %" PRId64
			       "): it was inserted",
			       row.seq, *expect_seq);
	if (row.seq > *expect_seq) {
		if (*expect_seq == 1)
			return fk_fail(err, FK_EINVAL,
				       "audit rows before %" PRId64 " are missing (deleted)", row.seq);
		return fk_fail(err, FK_EINVAL,
			       "audit rows between %" PRId64 " and %" PRId64
			       " are missing (deleted)",
			       *expect_seq - 1, row.seq);
	}
	if (row.prev_len != AUDIT_HASH_BYTES || !row.prev ||
	    sodium_memcmp(row.prev, prev, AUDIT_HASH_BYTES) != 0) {
		if (row.seq == 1)
			return fk_fail(err, FK_EINVAL,
				       "audit row 1 does not start the chain (prev_hash mismatch): "
				       "it was altered or inserted");
		return fk_fail(err, FK_EINVAL,
			       "audit row %" PRId64 " does not follow row %" PRId64
			       " (prev_hash mismatch): a row was inserted, or row %" PRId64
			       " was altered",
			       row.seq, row.seq - 1, row.seq - 1);
	}
	unsigned char h[AUDIT_HASH_BYTES];
	audit_row_hash(&row, h);
	if (stored_len != AUDIT_HASH_BYTES || !stored ||
	    sodium_memcmp(stored, h, AUDIT_HASH_BYTES) != 0)
		return fk_fail(err, FK_EINVAL, "audit row %" PRId64 " was altered (hash mismatch)",
			       row.seq);
	memcpy(prev, h, AUDIT_HASH_BYTES);
	(*expect_seq)++;
	return FK_OK;
}

static enum fk_status verify_head(sqlite3 *db, int64_t last_seq,
				  const unsigned char last_hash[AUDIT_HASH_BYTES],
				  struct fk_err *err)
{
	char buf[AUDIT_HEAD_MAX + 16];
	int64_t head_seq;
	unsigned char head_hash[AUDIT_HASH_BYTES];
	if (!store_meta_get(db, AUDIT_HEAD_KEY, buf, sizeof(buf))) {
		if (last_seq == 0)
			return FK_OK; /* a new, empty log */
		return fk_fail(err, FK_EINVAL,
			       "audit log has %" PRId64 " rows but no head record: the head was deleted",
			       last_seq);
	}
	if (!head_parse(buf, &head_seq, head_hash))
		return fk_fail(err, FK_EINVAL, "audit head record '%s' is malformed: it was altered",
			       buf);
	if (last_seq < head_seq)
		return fk_fail(err, FK_EINVAL,
			       "audit log ends at row %" PRId64 " but its head says %" PRId64
			       ": rows were deleted",
			       last_seq, head_seq);
	if (last_seq > head_seq)
		return fk_fail(err, FK_EINVAL,
			       "audit log ends at row %" PRId64 " but its head says %" PRId64
			       ": rows were inserted",
			       last_seq, head_seq);
	if (sodium_memcmp(last_hash, head_hash, AUDIT_HASH_BYTES) != 0)
		return fk_fail(err, FK_EINVAL,
			       "audit row %" PRId64 " does not match the head's hash: it was replaced",
			       last_seq);
	return FK_OK;
}

enum fk_status audit_verify(sqlite3 *db, int64_t *rows, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	sqlite3_stmt *q = NULL;
	bool own = sqlite3_get_autocommit(db) != 0;
	int64_t expect = 1, n = 0;
	unsigned char prev[AUDIT_HASH_BYTES] = {0};
	int rc;

	*rows = 0;
	/* one read transaction: the rows and the head are one snapshot */
	if (own && (st = store_exec(db, "BEGIN", err)))
		return st;
	q = store_prepare(db,
			  "SELECT seq, at, actor, action, object, detail, origin, prev_hash, hash"
			  " FROM audit_log ORDER BY seq",
			  err);
	if (!q) {
		st = FK_EDB;
		goto done;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if ((st = verify_row(q, &expect, prev, err)))
			goto done;
		n++;
		*rows = n;
	}
	if (rc != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot read the audit log: %s", sqlite3_errmsg(db));
		goto done;
	}
	st = verify_head(db, expect - 1, prev, err);
done:
	sqlite3_finalize(q);
	if (own)
		store_rollback(db); /* ends the read transaction */
	return st;
}
