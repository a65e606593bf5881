/* import.c — `fangkong import checkins FILE.csv` (id_number,venue_code,time).
 *
 * Design note.
 *
 * Same contract as the registry importers (registry/import.c): the header
 * row must be exactly the columns; every valid row is kept; each rejected
 * row goes to FILE.rejects.csv with its physical line, field and reason and
 * the raw record (converted to UTF-8, invalid bytes as \xNN); exit 3 when
 * any row was rejected; committed batches survive a crash, the open one
 * leaves nothing; importing the same file twice changes nothing (the
 * checkins key makes a second copy of a row a no-op, counted "unchanged").
 *
 * Speed.  The file can hold tens of millions of rows, so the per-row path
 * allocates nothing and looks nothing up in SQLite:
 *   - the file is memory-mapped and read by the bounded CSV reader;
 *   - the three fields are pure ASCII when valid, so no decoding happens
 *     for them: only a field holding a byte >= 0x80 is decoded (to tell
 *     "invalid encoding" from a wrong value), whatever the file's encoding;
 *   - persons are an in-memory hash map from the 17-digit prefix of the ID
 *     number (the 18th character is derived from it) to persons.id, loaded
 *     once (16 bytes a slot, at most half full: ~64 MB for 2M persons);
 *     a row whose number is not in the map is then checked with
 *     idnum_parse() only to say why (length, characters, check digit,
 *     birth date, or unknown person);
 *   - venue codes are a second map (venue_keys);
 *   - times in the exact form 2022-01-10T08:30:00+08:00 are parsed by hand
 *     with the day number of the last date cached (a file is mostly in
 *     time order); any other form goes to fk_parse_time().
 *   - the person slot of the row ten rows ahead is prefetched (see
 *     prefetch_person()), and the map sits on transparent huge pages;
 *   - rows go through the bulk writer (bulk.c): prepared INSERT OR IGNORE
 *     statements of 64 rows into the time-ordered WITHOUT ROWID table
 *     (counts of inserted rows from sqlite3_changes()), IMPORT_BATCH rows
 *     a transaction, synchronous=FULL at each commit.
 *
 * Two threads.  The calling thread reads, validates and writes rejects;
 * valid rows go in chunks of 16384 through a ring of four chunks to a
 * writer thread that alone uses the database connection until it is
 * joined.  On two cores parsing overlaps with SQLite's inserts, which are
 * the larger half of the work.  If the writer fails, the reader stops at
 * its next chunk; if the reader fails, the writer commits what it was
 * given (whole, valid rows) and stops.
 *
 * Measured on 2 shared CPUs, 1M persons and 3,780 venues in the database,
 * files written by `gen --days` and dumped with the sqlite3 shell:
 * 10M rows (630 MB) in 6.7 s (1.48M rows/s, 6.3 s of CPU); 69.3M rows
 * (4.4 GB) in 60 s, and the same file again (nothing inserted) in 47 s.
 * PostgreSQL 15 on the same machine, 10M rows: COPY of the same CSV into
 * text/timestamptz columns plus indexes on (venue, time) and (person,
 * time) 49 s; COPY of pre-resolved integer ids plus the same two indexes
 * 15.5 s.
 *
 * Batches and audit.  The importer decides where batches end: the writer
 * is opened with an unbounded batch, and at every IMPORT_BATCH rows the
 * importer appends its audit row ("checkin.import", lines and rows
 * inserted) into the writer's open transaction and flushes, so a batch,
 * its checkin_batches row and its audit row commit together or not at all.
 *
 * Invariants.
 *   - A row reaches the writer only after all three fields are valid.
 *   - rep->rows = inserted + unchanged + rejected at every return; the
 *     reading thread counts rejected, the writing thread the others.
 *   - Every prepared statement and the writer are released on every path
 *     (importer_release()).
 */
#include "checkins/checkins.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/access.h"
#include "checkins/bulk_int.h"
#include "lib/csv.h"
#include "lib/mapfile.h"
#include "lib/rejects.h"
#include "lib/strbuf.h"
#include "lib/textenc.h"
#include "lib/util.h"
#include "registry/registry.h"
#include "store/store.h"

#include "lib/banned.h"

#define IMPORT_COLS 3
#define IMPORT_MAX_FIELD 256
#define IMPORT_MAX_RECORD 1024
#define IMPORT_BATCH 200000
#define REASON_MAX 160
#define AUDIT_ORIGIN "cli"
/* A device clock a little ahead is not an error; an hour ahead is. */
#define IMPORT_FUTURE_TOLERANCE 300
/* 2019-01-01T00:00:00+08:00: no venue-code scan is older. */
#define IMPORT_EARLIEST 1546272000

static const char *const cols[IMPORT_COLS] = {"id_number", "venue_code", "time"};

/* ---------------------------------------------------------------- maps */

/* 17-digit ID prefix -> persons.id.  Key and value share a slot (one
 * cache miss a lookup); keys are stored + 1 so 0 marks an empty slot. */
struct idslot {
	uint64_t key;
	int64_t val;
};

struct idmap {
	struct idslot *slot;
	size_t mask, n, bytes;
};

static size_t idmap_slot(const struct idmap *m, uint64_t key)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & m->mask;
}

/* The slots live in their own anonymous mapping, with transparent huge
 * pages asked for: a random lookup in 32 MB of 4 KiB pages misses the TLB
 * as well as the cache. */
static void idmap_init(struct idmap *m, size_t expect)
{
	size_t cap = 1024;
	while (cap < expect * 2)
		cap *= 2;
	m->bytes = cap * sizeof(*m->slot);
	void *p = mmap(NULL, m->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		fputs("fangkong: out of memory\n", stderr);
		abort();
	}
	madvise(p, m->bytes, MADV_HUGEPAGE);
	m->slot = p; /* zero-filled */
	m->mask = cap - 1;
	m->n = 0;
}

static void idmap_release(struct idmap *m)
{
	if (m->slot)
		munmap(m->slot, m->bytes);
	memset(m, 0, sizeof(*m));
}

/* The map is sized for every key before the first put. */
static void idmap_put(struct idmap *m, uint64_t key, int64_t val)
{
	uint64_t k = key + 1;
	size_t i = idmap_slot(m, k);
	while (m->slot[i].key && m->slot[i].key != k)
		i = (i + 1) & m->mask;
	if (!m->slot[i].key)
		m->n++;
	m->slot[i].key = k;
	m->slot[i].val = val;
}

static bool idmap_get(const struct idmap *m, uint64_t key, int64_t *val)
{
	uint64_t k = key + 1;
	size_t i = idmap_slot(m, k);
	while (m->slot[i].key) {
		if (m->slot[i].key == k) {
			*val = m->slot[i].val;
			return true;
		}
		i = (i + 1) & m->mask;
	}
	return false;
}

/* Venue code -> venue_keys.id.  Codes are at most VENUE_CODE_MAX bytes and
 * stored inline. */
struct code_ent {
	char code[VENUE_CODE_MAX];
	uint32_t len; /* 0 = empty slot */
	int64_t id;
};

struct codemap {
	struct code_ent *ents;
	size_t mask;
};

static uint64_t code_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h ^ (h >> 31);
}

static void codemap_init(struct codemap *m, size_t expect)
{
	size_t cap = 256;
	while (cap < expect * 2)
		cap *= 2;
	m->ents = fk_xcalloc(cap, sizeof(*m->ents));
	m->mask = cap - 1;
}

static void codemap_release(struct codemap *m)
{
	free(m->ents);
	m->ents = NULL;
}

static struct code_ent *codemap_slot(const struct codemap *m, const char *s, size_t n)
{
	size_t i = (size_t)code_hash(s, n) & m->mask;
	for (;; i = (i + 1) & m->mask) {
		struct code_ent *e = &m->ents[i];
		if (!e->len || (e->len == n && !memcmp(e->code, s, n)))
			return e;
	}
}

/* ------------------------------------------------------------- importer */

struct importer {
	sqlite3 *db;
	const char *path, *actor;
	enum text_encoding enc;
	int64_t now;
	struct checkin_import_report *rep;

	struct idmap persons;
	struct codemap venues;
	struct checkin_writer *w;

	struct strbuf dec[IMPORT_COLS]; /* decoded non-ASCII fields */
	struct strbuf scratch;
	FILE *rej;

	/* time parsing: the day number of the last YYYY-MM-DD seen */
	uint32_t last_ymd;
	int64_t last_days;

	/* the open batch */
	uint64_t batch_rows, batch_inserted, batch_first, batch_last;
	uint64_t inserted_before; /* writer's inserted count at the batch start */
	uint64_t committed; /* rows (valid) in committed batches */
};

struct reject {
	const char *field;
	char reason[REASON_MAX];
};

static bool reject(struct reject *rj, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool reject(struct reject *rj, const char *field, const char *fmt, ...)
{
	va_list ap;
	rj->field = field;
	va_start(ap, fmt);
	vsnprintf(rj->reason, sizeof(rj->reason), fmt, ap);
	va_end(ap);
	return false;
}

static void importer_release(struct importer *im)
{
	checkin_writer_free(im->w);
	im->w = NULL;
	idmap_release(&im->persons);
	codemap_release(&im->venues);
	for (size_t i = 0; i < IMPORT_COLS; i++)
		strbuf_release(&im->dec[i]);
	strbuf_release(&im->scratch);
	if (im->rej)
		fclose(im->rej);
	im->rej = NULL;
}

static enum fk_status load_persons(struct importer *im, struct fk_err *err)
{
	int64_t n = store_query_int(im->db, "SELECT count(*) FROM persons", 0);
	sqlite3_stmt *q = store_prepare(im->db, "SELECT id, id_number FROM persons", err);
	if (!q)
		return FK_EDB;
	idmap_init(&im->persons, n > 0 ? (size_t)n : 0);
	enum fk_status st = FK_OK;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(q, 1);
		if (!s || sqlite3_column_bytes(q, 1) != 18 || !fk_all_digits(s, 17))
			continue; /* cannot match a valid number */
		uint64_t k = 0;
		for (int i = 0; i < 17; i++)
			k = k * 10 + (uint64_t)(s[i] - '0');
		if (im->persons.n * 2 + 2 > im->persons.mask)
			break; /* more rows than counted: a concurrent writer */
		idmap_put(&im->persons, k, sqlite3_column_int64(q, 0));
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		st = fk_fail(err, FK_EDB, "cannot read persons: %s", sqlite3_errmsg(im->db));
	sqlite3_finalize(q);
	return st;
}

static enum fk_status load_venues(struct importer *im, struct fk_err *err)
{
	int64_t n = store_query_int(im->db, "SELECT count(*) FROM venue_keys", 0);
	sqlite3_stmt *q = store_prepare(im->db, "SELECT id, code FROM venue_keys", err);
	if (!q)
		return FK_EDB;
	codemap_init(&im->venues, n > 0 ? (size_t)n : 0);
	size_t cap = im->venues.mask + 1, used = 0;
	enum fk_status st = FK_OK;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(q, 1);
		int len = sqlite3_column_bytes(q, 1);
		if (!s || len <= 0 || len > VENUE_CODE_MAX)
			continue;
		if ((used + 1) * 2 > cap)
			break;
		struct code_ent *e = codemap_slot(&im->venues, s, (size_t)len);
		if (!e->len) {
			memcpy(e->code, s, (size_t)len);
			e->len = (uint32_t)len;
			used++;
		}
		e->id = sqlite3_column_int64(q, 0);
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		st = fk_fail(err, FK_EDB, "cannot read venues: %s", sqlite3_errmsg(im->db));
	sqlite3_finalize(q);
	return st;
}

/* ------------------------------------------------------------- rejects */


static enum fk_status write_reject(struct importer *im, uint64_t line, const char *field,
				   const char *reason, const char *raw, size_t raw_len,
				   struct fk_err *err)
{
	enum fk_status st = rejects_write(&im->rej, im->rep->rejects_path, im->enc, &im->scratch,
					  line, field, reason, raw, raw_len, err);
	if (st)
		return st;
	im->rep->rejected++;
	return FK_OK;
}

/* ---------------------------------------------------------- validation */

/* Trims spaces and tabs of field i in place and, when it holds a byte >=
 * 0x80, decodes it from the file's encoding into im->dec[i] (the value is
 * then wrong anyway, but the reason must say what is wrong with it).
 * False on bytes invalid in the encoding. */
static bool field_text(struct importer *im, size_t i, char *s, size_t n, const char **out,
		       size_t *out_len)
{
	bool ascii = true;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)s[k] >= 0x80) {
			ascii = false;
			break;
		}
	if (ascii) {
		*out = s;
		*out_len = n;
		return true;
	}
	struct strbuf *d = &im->dec[i];
	strbuf_reset(d);
	if (!text_to_utf8(im->enc, s, n, d) || memchr(d->buf, '\0', d->len))
		return false;
	*out = d->buf;
	*out_len = d->len;
	return true;
}

static inline bool two_digits(const char *s, int *v)
{
	unsigned a = (unsigned char)s[0] - '0', b = (unsigned char)s[1] - '0';
	if (a > 9 || b > 9)
		return false;
	*v = (int)(a * 10 + b);
	return true;
}

/* The exact form YYYY-MM-DDTHH:MM:SS+HH:MM by hand, else fk_parse_time. */
static bool parse_time(struct importer *im, const char *s, size_t n, int64_t *out)
{
	int y1, y2, mo, d, h, mi, se, oh, om;
	if (n == 25 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' &&
	    s[16] == ':' && (s[19] == '+' || s[19] == '-') && s[22] == ':' && two_digits(s, &y1) &&
	    two_digits(s + 2, &y2) && two_digits(s + 5, &mo) && two_digits(s + 8, &d) &&
	    two_digits(s + 11, &h) && two_digits(s + 14, &mi) && two_digits(s + 17, &se) &&
	    two_digits(s + 20, &oh) && two_digits(s + 23, &om)) {
		if (h > 23 || mi > 59 || se > 59 || oh > 14 || om > 59)
			return false;
		int y = y1 * 100 + y2;
		uint32_t ymd = (uint32_t)(y * 10000 + mo * 100 + d);
		if (ymd != im->last_ymd) {
			if (!fk_valid_date(y, mo, d))
				return false;
			im->last_ymd = ymd;
			im->last_days = fk_days_from_civil(y, mo, d);
		}
		int off = oh * 3600 + om * 60;
		*out = im->last_days * 86400 + h * 3600 + mi * 60 + se - (s[19] == '-' ? -off : off);
		return true;
	}
	return fk_parse_time(s, out);
}

static bool validate_person(struct importer *im, const char *s, size_t n, int64_t *pid,
			    struct reject *rj)
{
	if (!n)
		return reject(rj, "id_number", "empty required field");
	if (n == 18) {
		uint64_t k = 0;
		size_t i = 0;
		for (; i < 17; i++) {
			unsigned c = (unsigned char)s[i] - '0';
			if (c > 9)
				break;
			k = k * 10 + c;
		}
		char last = s[17] == 'x' ? 'X' : s[17];
		if (i == 17 && idmap_get(&im->persons, k, pid) && idnum_check_char(s) == last)
			return true;
	}
	switch (idnum_parse(s, im->now, NULL)) {
	case IDNUM_OK:
		return reject(rj, "id_number", "unknown person");
	case IDNUM_LENGTH:
		return reject(rj, "id_number", "ID number is not 18 characters");
	case IDNUM_CHARS:
		return reject(rj, "id_number", "ID number is not 17 digits and a check character");
	case IDNUM_CHECK:
		return reject(rj, "id_number", "bad check digit");
	case IDNUM_BIRTH:
		return reject(rj, "id_number", "impossible birth date");
	}
	return reject(rj, "id_number", "unknown person");
}

static bool validate_row(struct importer *im, const struct csv_row *row, struct checkin *c,
			 struct reject *rj)
{
	const char *f[IMPORT_COLS];
	size_t len[IMPORT_COLS];
	if (row->nfields != IMPORT_COLS)
		return reject(rj, "", "wrong column count (expected %d, got %zu)", IMPORT_COLS,
			      row->nfields);
	for (size_t i = 0; i < IMPORT_COLS; i++)
		if (!field_text(im, i, row->fields[i], row->lens[i], &f[i], &len[i]))
			return reject(rj, cols[i], "invalid encoding");
	if (!validate_person(im, f[0], len[0], &c->person_id, rj))
		return false;
	if (!len[1])
		return reject(rj, "venue_code", "empty required field");
	struct code_ent *e = len[1] <= VENUE_CODE_MAX ? codemap_slot(&im->venues, f[1], len[1]) : NULL;
	if (!e || !e->len)
		return reject(rj, "venue_code", "unknown venue");
	c->venue_id = e->id;
	if (!len[2])
		return reject(rj, "time", "empty required field");
	if (!parse_time(im, f[2], len[2], &c->t))
		return reject(rj, "time",
			      "bad time (expected ISO 8601 with offset, e.g. 2022-01-10T08:30:00+08:00)");
	if (c->t > im->now + IMPORT_FUTURE_TOLERANCE)
		return reject(rj, "time", "time is in the future");
	if (c->t < IMPORT_EARLIEST)
		return reject(rj, "time", "time is before 2019");
	c->temp_dc = TEMP_DC_NONE;
	c->source = CHECKIN_IMPORT;
	return true;
}

/* ------------------------------------------------- the writer thread */

/* Valid rows travel from the reading thread to the writing thread in
 * chunks, through a ring of PIPE_CHUNKS: the reader fills chunk prod % N
 * while the writer empties chunk cons % N (cons <= prod <= cons + N). */
#define PIPE_CHUNK_ROWS 16384
#define PIPE_CHUNKS 4

struct vrow {
	struct checkin c;
	uint64_t line;
};

struct chunk {
	size_t n;
	struct vrow row[PIPE_CHUNK_ROWS];
};

struct pipe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct chunk *chunk[PIPE_CHUNKS];
	uint64_t prod, cons; /* chunks published, chunks written */
	bool eof;            /* the reader published its last chunk */
	bool failed;         /* the writer stopped on an error (wst, werr) */
	enum fk_status wst;
	struct fk_err werr;
	struct importer *im;
};

static enum fk_status batch_end(struct importer *im, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	if (!im->batch_rows)
		return FK_OK;
	if ((st = checkin_writer_drain(im->w, err)))
		return st;
	uint64_t ins = checkin_writer_inserted(im->w);
	im->batch_inserted = ins - im->inserted_before;
	if (im->batch_inserted) {
		char detail[96];
		snprintf(detail, sizeof(detail),
			 "batch lines %" PRIu64 "-%" PRIu64 ": %" PRIu64 " inserted", im->batch_first,
			 im->batch_last, im->batch_inserted);
		st = audit_append(im->db, im->actor, "checkin.import", im->path, detail,
				  AUDIT_ORIGIN, err);
	}
	if (!st)
		st = checkin_writer_flush(im->w, err);
	if (!st) {
		im->committed += im->batch_rows;
		im->rep->inserted += im->batch_inserted;
		im->rep->unchanged += im->batch_rows - im->batch_inserted;
		im->inserted_before = ins;
	}
	im->batch_rows = im->batch_inserted = 0;
	return st;
}

static enum fk_status write_chunk(struct importer *im, const struct chunk *ch, struct fk_err *err)
{
	enum fk_status st;
	for (size_t i = 0; i < ch->n; i++) {
		const struct vrow *v = &ch->row[i];
		if ((st = checkin_writer_add_many(im->w, &v->c, err)))
			return st;
		if (!im->batch_rows)
			im->batch_first = v->line;
		im->batch_last = v->line;
		if (++im->batch_rows >= IMPORT_BATCH && (st = batch_end(im, err)))
			return st;
	}
	return FK_OK;
}

static void *writer_main(void *arg)
{
	struct pipe *pp = arg;
	enum fk_status st = FK_OK;
	struct fk_err err = {FK_OK, ""};
	for (;;) {
		pthread_mutex_lock(&pp->mu);
		while (pp->cons == pp->prod && !pp->eof)
			pthread_cond_wait(&pp->cv, &pp->mu);
		bool done = pp->cons == pp->prod;
		pthread_mutex_unlock(&pp->mu);
		if (done)
			break;
		st = write_chunk(pp->im, pp->chunk[pp->cons % PIPE_CHUNKS], &err);
		if (st)
			break;
		pthread_mutex_lock(&pp->mu);
		pp->cons++;
		pthread_cond_broadcast(&pp->cv);
		pthread_mutex_unlock(&pp->mu);
	}
	if (!st)
		st = batch_end(pp->im, &err);
	if (st) {
		pthread_mutex_lock(&pp->mu);
		pp->failed = true;
		pp->wst = st;
		pp->werr = err;
		pthread_cond_broadcast(&pp->cv);
		pthread_mutex_unlock(&pp->mu);
	}
	return NULL;
}

/* Hands the reader's current chunk to the writer and waits for a free
 * one; false when the writer has failed. */
static bool pipe_publish(struct pipe *pp, bool last)
{
	pthread_mutex_lock(&pp->mu);
	pp->prod++;
	pp->eof = last;
	pthread_cond_broadcast(&pp->cv);
	while (!last && !pp->failed && pp->prod - pp->cons >= PIPE_CHUNKS)
		pthread_cond_wait(&pp->cv, &pp->mu);
	bool ok = !pp->failed;
	pthread_mutex_unlock(&pp->mu);
	if (ok && !last)
		pp->chunk[pp->prod % PIPE_CHUNKS]->n = 0;
	return ok;
}

/* ----------------------------------------------------------- reading */

static enum fk_status import_row(struct importer *im, struct pipe *pp, const struct csv_row *row,
				 struct fk_err *err)
{
	struct reject rj = {"", ""};
	struct chunk *ch = pp->chunk[pp->prod % PIPE_CHUNKS];
	struct vrow *v = &ch->row[ch->n];
	if (!validate_row(im, row, &v->c, &rj))
		return write_reject(im, row->line, rj.field, rj.reason, row->raw, row->raw_len, err);
	v->line = row->line;
	if (++ch->n == PIPE_CHUNK_ROWS && !pipe_publish(pp, false))
		return FK_EDB; /* the writer's error is reported */
	return FK_OK;
}

static enum fk_status check_header(struct importer *im, struct csv_reader *r, struct fk_err *err)
{
	static const char want[] = "id_number,venue_code,time";
	struct csv_row row;
	struct fk_err cerr = {FK_OK, ""};
	struct strbuf got = STRBUF_INIT;
	enum fk_status st = FK_OK;
	enum csv_result res = csv_next(r, &row, &cerr);
	if (res == CSV_EOF)
		return fk_fail(err, FK_EINVAL, "'%s' is empty: expected the header row '%s'",
			       im->path, want);
	if (res == CSV_ERROR)
		return fk_fail(err, FK_EINVAL, "'%s' line %" PRIu64 ": bad header row: %s",
			       im->path, row.line, cerr.msg);
	bool same = row.nfields == IMPORT_COLS;
	for (size_t i = 0; same && i < row.nfields; i++)
		same = row.lens[i] == strlen(cols[i]) && !memcmp(row.fields[i], cols[i], row.lens[i]);
	if (!same) {
		rejects_raw_utf8(im->enc, row.raw, row.raw_len < 200 ? row.raw_len : 200, &got);
		st = fk_fail(err, FK_EINVAL,
			     "'%s' line %" PRIu64 ": wrong header for checkins: expected '%s', got '%s'",
			     im->path, row.line, want, got.buf);
	}
	strbuf_release(&got);
	return st;
}

/* A hint only: the person map is too big for the caches, so a lookup is
 * a miss to memory.  A few rows ahead of the reader, the ID number that
 * starts a line is hashed and its slot prefetched; by the time that row
 * is validated the slot is in cache.  Anything unusual there (quotes,
 * spaces, short lines) just skips the hint. */
#define PREFETCH_AHEAD 640 /* bytes: about ten rows */

static inline void prefetch_person(const struct importer *im, const char *data, size_t len,
				   size_t off)
{
	size_t p = off + PREFETCH_AHEAD;
	if (p >= len)
		return;
	const char *nl = memchr(data + p, '\n', len - p < 128 ? len - p : 128);
	if (!nl || (size_t)(nl + 1 - data) + 17 > len)
		return;
	uint64_t k = 0;
	for (int i = 1; i <= 17; i++) {
		unsigned c = (unsigned char)nl[i] - '0';
		if (c > 9)
			return;
		k = k * 10 + c;
	}
	const struct idslot *slot = &im->persons.slot[idmap_slot(&im->persons, k + 1)];
#if defined(__x86_64__) || defined(__i386__)
	/* GCC 12 -O2 dropped __builtin_prefetch here with the whole path */
	__asm__ volatile("prefetcht0 %0" : : "m"(*slot));
#else
	__builtin_prefetch(slot);
#endif
}

static enum fk_status read_records(struct importer *im, struct pipe *pp, struct csv_reader *r,
				   const char *data, size_t len, struct fk_err *err)
{
	struct fk_progress prog;
	struct csv_row row;
	enum fk_status st = FK_OK;
	uint64_t n = 0;
	fk_progress_init(&prog, "import checkins", 0);
	for (;;) {
		struct fk_err cerr = {FK_OK, ""};
		prefetch_person(im, data, len, csv_offset(r));
		enum csv_result res = csv_next(r, &row, &cerr);
		if (res == CSV_EOF)
			break;
		if (res == CSV_ERROR) {
			const char *field = row.bad_field > 0 && row.bad_field <= IMPORT_COLS
						    ? cols[row.bad_field - 1]
						    : "";
			char reason[REASON_MAX];
			rejects_csv_reason(cerr.msg, reason, sizeof(reason));
			st = write_reject(im, row.line, field, reason, row.raw, row.raw_len, err);
		} else if (row.nfields == 1 && row.lens[0] == 0) {
			continue;
		} else {
			st = import_row(im, pp, &row, err);
		}
		if (st)
			return st;
		if ((++n & 65535) == 0 && prog.enabled) {
			size_t off = csv_offset(r);
			prog.total = off ? (uint64_t)((double)n * len / off) : 0;
			fk_progress_update(&prog, n);
		}
	}
	prog.total = n;
	fk_progress_done(&prog, n);
	return FK_OK;
}

/* Reads and validates on this thread, writes on a second one: on two
 * cores the SQLite inserts and the parsing overlap. */
static enum fk_status import_records(struct importer *im, const char *data, size_t len,
				     struct fk_err *err)
{
	struct csv_limits lim = {IMPORT_MAX_FIELD, IMPORT_MAX_RECORD, 16};
	struct csv_reader *r = csv_reader_new(data, len, &lim);
	struct pipe pp;
	pthread_t th;
	enum fk_status st;

	memset(&pp, 0, sizeof(pp));
	pp.im = im;
	if ((st = check_header(im, r, err)))
		goto free_reader;
	if (unlink(im->rep->rejects_path) && errno != ENOENT) {
		st = fk_fail(err, FK_EIO, "cannot remove stale '%s': %s", im->rep->rejects_path,
			     strerror(errno));
		goto free_reader;
	}
	for (size_t i = 0; i < PIPE_CHUNKS; i++)
		pp.chunk[i] = fk_xmalloc(sizeof(struct chunk));
	pp.chunk[0]->n = 0;
	pthread_mutex_init(&pp.mu, NULL);
	pthread_cond_init(&pp.cv, NULL);
	if (pthread_create(&th, NULL, writer_main, &pp)) {
		st = fk_fail(err, FK_EIO, "cannot start the writer thread");
		goto free_pipe;
	}
	st = read_records(im, &pp, r, data, len, err);
	if (st) {
		/* stop the writer: nothing more comes; the open batch is
		 * rolled back by the caller */
		pthread_mutex_lock(&pp.mu);
		pp.eof = true;
		pthread_cond_broadcast(&pp.cv);
		pthread_mutex_unlock(&pp.mu);
	} else {
		pipe_publish(&pp, true);
	}
	pthread_join(th, NULL);
	if (pp.failed) {
		st = pp.wst;
		*err = pp.werr;
	}
free_pipe:
	pthread_cond_destroy(&pp.cv);
	pthread_mutex_destroy(&pp.mu);
	for (size_t i = 0; i < PIPE_CHUNKS; i++)
		free(pp.chunk[i]);
free_reader:
	csv_reader_free(r);
	return st;
}

enum fk_status checkins_import(sqlite3 *db, const char *path, const char *actor,
			       struct checkin_import_report *rep, struct fk_err *err)
{
	struct importer im;
	struct bulk_pragmas saved;
	enum fk_status st = FK_OK;
	struct fk_mapfile fm = {.data = "", .map = MAP_FAILED, .fd = -1};
	size_t skip = 0;

	memset(&im, 0, sizeof(im));
	memset(&saved, 0, sizeof(saved));
	memset(rep, 0, sizeof(*rep));
	rep->encoding = text_encoding_name(TEXT_UTF8);
	for (size_t i = 0; i < IMPORT_COLS; i++)
		strbuf_init(&im.dec[i]);
	strbuf_init(&im.scratch);
	im.db = db;
	im.path = path;
	im.actor = actor;
	im.now = fk_now();
	im.rep = rep;
	if ((size_t)snprintf(rep->rejects_path, sizeof(rep->rejects_path), "%s.rejects.csv",
			     path) >= sizeof(rep->rejects_path)) {
		st = fk_fail(err, FK_EINVAL, "file name too long: '%s'", path);
		goto release;
	}
	if ((st = fk_mapfile_open(&fm, path, err)))
		goto unmap;
	im.enc = text_detect(fm.data, fm.len, &skip);
	rep->encoding = text_encoding_name(im.enc);

	if ((st = bulk_tune(db, &saved, err)))
		goto unmap;
	if ((st = load_persons(&im, err)) || (st = load_venues(&im, err)))
		goto restore;
	if ((st = checkin_writer_open(db, SIZE_MAX, &im.w, err)))
		goto restore;
	st = import_records(&im, fm.data + skip, fm.len - skip, err);
	rep->rows = rep->inserted + rep->unchanged + rep->rejected;
	if (im.rej && fclose(im.rej) && !st)
		st = fk_fail(err, FK_EIO, "cannot write '%s': %s", rep->rejects_path,
			     strerror(errno));
	im.rej = NULL;
	if (st) {
		size_t n = strlen(err->msg);
		if (im.committed)
			snprintf(err->msg + n, sizeof(err->msg) - n,
				 " (%" PRIu64 " rows in committed batches are kept)", im.committed);
		goto restore;
	}
	if (rep->rejected)
		st = fk_fail(err, FK_EREJECTED, "%" PRIu64 " rows rejected, see '%s'", rep->rejected,
			     rep->rejects_path);
restore:
	checkin_writer_free(im.w); /* rolls back an open batch */
	im.w = NULL;
	bulk_restore(db, &saved);
unmap:
	fk_mapfile_close(&fm);
release:
	importer_release(&im);
	return st;
}
