/* import.c — `fangkong import regions|persons|venues FILE.csv`.
 *
 * Design note.
 *
 * Flow.  The file is memory-mapped and read by the bounded CSV reader
 * (lib/csv.h), which hands back raw bytes and the physical line of each
 * record.  The encoding is decided once per file (text_detect) and each
 * field is decoded to UTF-8 on its own, so one badly encoded row is
 * rejected ("invalid encoding") without losing its neighbours.  The header
 * row must name the columns exactly and in order; otherwise nothing is
 * imported (exit 1).
 *
 * Validate, then write.  A row is checked completely against in-memory
 * sets loaded at start (regions and their levels, grids, ID address codes,
 * households, keys already seen in this file) before any statement touches
 * the database, so a row is either written whole or rejected whole.  Every
 * rejected row goes to FILE.rejects.csv (line, field, reason, raw), and the
 * next rows are still read.
 *
 * Batches.  Valid rows are written in transactions of --batch rows
 * (default 10000) together with their audit rows; a kill at any moment
 * loses at most the open batch and never leaves a half row, because SQLite
 * commits a transaction atomically.
 *
 * Invariants.
 *   - A key (ID number, region code, venue code) is entered into `seen`
 *     only once its row has been accepted, so "duplicate key in file (first
 *     seen on line N)" always names the row that was imported.
 *   - The region map holds the db's regions plus accepted rows of this
 *     file: a parent must exist before its children ("earlier in the file").
 *   - Upserts compare fields: an identical row is counted unchanged and
 *     writes nothing, so re-importing a file changes neither the data nor
 *     the audit log.  A changed row is updated and audited once, naming
 *     the fields changed (ID numbers and phones masked, never in clear).
 *     Inserts are audited once per batch as a summary.
 *   - Every prepared statement is finalized in importer_release(), on every
 *     path.
 *
 * Speed.  Persons are the large file (millions of rows).  Lookups are
 * open-addressing hash maps; when the db held no persons at start, a new
 * row cannot already exist (duplicates in the file are rejected first), so
 * the per-row SELECT is skipped.  Reading, decoding and validating 1M rows
 * costs about 0.8 s; the rest is SQLite maintaining the persons indexes
 * (the random-order name index is half of it) and writing each batch to
 * the WAL, within about 10% of an INSERT ... SELECT of the same rows in
 * batches of the same size.  Measured on 2 shared CPUs: 1M rows in about
 * 10 s (about 100k rows/s wall, 115k rows/s of CPU); --batch 50000 about
 * 8 s.  A larger page cache and a longer WAL between checkpoints are set
 * for the import and restored afterwards.
 *
 * Memory.  `seen` holds every accepted key of the file and `households`
 * every household of the db: 100 to 150 bytes a key (a 32-byte slot at
 * most half full, plus the key), so about 150 MB for 1M persons.
 */
#include "registry/registry.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/access.h"
#include "checkins/checkins.h"
#include "testing/testing.h"
#include "lib/csv.h"
#include "lib/mapfile.h"
#include "lib/rejects.h"
#include "lib/strbuf.h"
#include "lib/textenc.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define IMPORT_MAX_COLS 6
#define IMPORT_MAX_FIELD 1024
#define IMPORT_MAX_RECORD 8192
#define IMPORT_DEFAULT_BATCH 10000
#define IMPORT_MAX_BATCH 1000000
#define VENUE_CODE_MAX 32
#define REASON_MAX 160
#define AUDIT_ORIGIN "cli"
#define IMPORT_CACHE_KIB (-262144) /* 256 MiB page cache while importing */
#define IMPORT_WAL_PAGES 16384     /* checkpoint every 64 MiB of WAL */

/* ---------------------------------------------------------------- maps */

/* String -> int64 map, open addressing with linear probing.  Keys are
 * copied into a pool owned by the map; strmap_release frees everything. */
struct strmap_ent {
	uint64_t hash;
	size_t off; /* into pool; SIZE_MAX = empty slot */
	size_t len;
	int64_t val;
};

struct strmap {
	struct strmap_ent *ents;
	size_t cap, n;
	char *pool;
	size_t pool_len, pool_cap;
};

static uint64_t strmap_hash(const char *k, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)k[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

static void strmap_alloc(struct strmap *m, size_t cap)
{
	m->ents = fk_xcalloc(cap, sizeof(*m->ents));
	for (size_t i = 0; i < cap; i++)
		m->ents[i].off = SIZE_MAX;
	m->cap = cap;
}

static void strmap_release(struct strmap *m)
{
	free(m->ents);
	free(m->pool);
	memset(m, 0, sizeof(*m));
}

static struct strmap_ent *strmap_slot(const struct strmap *m, const char *k, size_t n,
				      uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct strmap_ent *e = &m->ents[i];
		if (e->off == SIZE_MAX)
			return e;
		if (e->hash == h && e->len == n && !memcmp(m->pool + e->off, k, n))
			return e;
	}
}

static bool strmap_get(const struct strmap *m, const char *k, size_t n, int64_t *val)
{
	if (!m->cap)
		return false;
	struct strmap_ent *e = strmap_slot(m, k, n, strmap_hash(k, n));
	if (e->off == SIZE_MAX)
		return false;
	if (val)
		*val = e->val;
	return true;
}

static void strmap_grow(struct strmap *m)
{
	struct strmap old = *m;
	strmap_alloc(m, old.cap ? old.cap * 2 : 1024);
	for (size_t i = 0; i < old.cap; i++) {
		if (old.ents[i].off == SIZE_MAX)
			continue;
		struct strmap_ent *e =
			strmap_slot(m, old.pool + old.ents[i].off, old.ents[i].len, old.ents[i].hash);
		*e = old.ents[i];
	}
	free(old.ents);
}

/* Inserts k or overwrites its value. */
static void strmap_put(struct strmap *m, const char *k, size_t n, int64_t val)
{
	if ((m->n + 1) * 2 > m->cap)
		strmap_grow(m);
	uint64_t h = strmap_hash(k, n);
	struct strmap_ent *e = strmap_slot(m, k, n, h);
	if (e->off != SIZE_MAX) {
		e->val = val;
		return;
	}
	if (m->pool_len + n > m->pool_cap) {
		size_t cap = m->pool_cap ? m->pool_cap : 4096;
		while (cap < m->pool_len + n) {
			if (cap > SIZE_MAX / 2) {
				fputs("fangkong: out of memory\n", stderr);
				abort();
			}
			cap *= 2;
		}
		m->pool = fk_xrealloc(m->pool, cap);
		m->pool_cap = cap;
	}
	memcpy(m->pool + m->pool_len, k, n);
	e->hash = h;
	e->off = m->pool_len;
	e->len = n;
	e->val = val;
	m->pool_len += n;
	m->n++;
}

static bool strmap_gets(const struct strmap *m, const char *k, int64_t *val)
{
	return strmap_get(m, k, strlen(k), val);
}

static void strmap_puts(struct strmap *m, const char *k, int64_t val)
{
	strmap_put(m, k, strlen(k), val);
}

/* ------------------------------------------------------------ the kinds */

static const char *const region_cols[] = {"code", "name", "level", "parent_code"};
static const char *const person_cols[] = {"id_number", "name",      "phone",
					  "grid_code", "household", "occupation"};
static const char *const venue_cols[] = {"code", "name", "region_code", "kind"};

#define VENUE_KIND_NAME(kind, label) kind,
static const char *const venue_kinds[] = {REGISTRY_VENUE_KINDS(VENUE_KIND_NAME)};
#undef VENUE_KIND_NAME

struct kind_desc {
	const char *name;
	const char *const *cols;
	size_t ncols;
	const char *noun; /* audit action prefix and object prefix */
};

static const struct kind_desc kinds[] = {
	[IMPORT_REGIONS] = {"regions", region_cols, FK_ARRAY_LEN(region_cols), "region"},
	[IMPORT_PERSONS] = {"persons", person_cols, FK_ARRAY_LEN(person_cols), "person"},
	[IMPORT_VENUES] = {"venues", venue_cols, FK_ARRAY_LEN(venue_cols), "venue"},
};

/* Statements, all finalized in importer_release(). */
enum stmt_id {
	ST_REGION_GET,
	ST_REGION_INS,
	ST_REGION_UPD,
	ST_PERSON_GET,
	ST_PERSON_INS,
	ST_PERSON_UPD,
	ST_HOUSEHOLD_INS,
	ST_VENUE_GET,
	ST_VENUE_INS,
	ST_VENUE_UPD,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	[ST_REGION_GET] = "SELECT name, level, coalesce(parent_code,'') FROM regions WHERE code=?1",
	[ST_REGION_INS] = "INSERT INTO regions(code,name,level,parent_code,updated_at)"
			  " VALUES(?1,?2,?3,nullif(?4,''),?5)",
	[ST_REGION_UPD] = "UPDATE regions SET name=?2, level=?3, parent_code=nullif(?4,''),"
			  " updated_at=?5 WHERE code=?1",
	[ST_PERSON_GET] = "SELECT id, name, phone, grid_code, coalesce(household_id,0), occupation"
			  " FROM persons WHERE id_number=?1",
	[ST_PERSON_INS] = "INSERT INTO persons(id_number,name,phone,grid_code,household_id,"
			  "occupation,sex,birth_date,updated_at)"
			  " VALUES(?1,?2,?3,?4,nullif(?5,0),?6,?7,?8,?9)",
	[ST_PERSON_UPD] = "UPDATE persons SET name=?2, phone=?3, grid_code=?4,"
			  " household_id=nullif(?5,0), occupation=?6, updated_at=?7 WHERE id=?1",
	[ST_HOUSEHOLD_INS] = "INSERT INTO households(grid_code,label) VALUES(?1,?2)",
	[ST_VENUE_GET] = "SELECT name, region_code, kind FROM venues WHERE code=?1",
	[ST_VENUE_INS] = "INSERT INTO venues(code,name,region_code,kind,updated_at)"
			 " VALUES(?1,?2,?3,?4,?5)",
	[ST_VENUE_UPD] = "UPDATE venues SET name=?2, region_code=?3, kind=?4, updated_at=?5"
			 " WHERE code=?1",
};

/* A row that passed validation, ready to write.  Strings point into the
 * importer's field buffers or into this struct. */
struct valid_row {
	char key[32]; /* normalised: region code, ID number, venue code */
	const char *name;
	/* regions */
	int level;
	char parent[16];
	/* persons */
	const char *phone, *household, *occupation;
	char grid[16];
	int sex;
	char birth[11];
	/* venues */
	char region[16];
	const char *kind;
};

struct reject {
	const char *field; /* column name or "" */
	char reason[REASON_MAX];
};

struct importer {
	sqlite3 *db;
	enum import_kind kind;
	const struct kind_desc *kd;
	const char *path;
	const char *actor;
	enum text_encoding enc;
	int64_t now;
	uint64_t batch_size;
	struct import_report *rep;

	struct strbuf field[IMPORT_MAX_COLS]; /* decoded, trimmed fields */
	struct strbuf scratch;
	sqlite3_stmt *st[ST_COUNT];

	struct strmap seen;       /* key -> line of the accepted row */
	struct strmap regions;    /* code -> level (regions, venues) */
	struct strmap grids;      /* level-6 codes (persons) */
	struct strmap addr;       /* 6-digit ID address codes (persons) */
	struct strmap households; /* grid "\x1f" label -> id (persons) */
	bool had_persons;

	FILE *rej;

	bool in_tx;
	uint64_t committed; /* valid rows in committed batches */
	uint64_t batch_rows, batch_inserted, batch_first, batch_last;
};

static void importer_release(struct importer *im)
{
	for (size_t i = 0; i < IMPORT_MAX_COLS; i++)
		strbuf_release(&im->field[i]);
	strbuf_release(&im->scratch);
	for (size_t i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(im->st[i]);
	strmap_release(&im->seen);
	strmap_release(&im->regions);
	strmap_release(&im->grids);
	strmap_release(&im->addr);
	strmap_release(&im->households);
	if (im->rej)
		fclose(im->rej);
	im->rej = NULL;
}

/* ------------------------------------------------------------- loading */

/* Runs sql (one or two columns: text key [, integer value]) into m. */
static enum fk_status load_map(struct importer *im, struct strmap *m, const char *sql,
			       struct fk_err *err)
{
	sqlite3_stmt *q = store_prepare(im->db, sql, err);
	if (!q)
		return FK_EDB;
	enum fk_status st = FK_OK;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(q, 0);
		int n = sqlite3_column_bytes(q, 0);
		if (!k)
			continue;
		int64_t v = sqlite3_column_count(q) > 1 ? sqlite3_column_int64(q, 1) : 1;
		strmap_put(m, k, (size_t)n, v);
	}
	if (rc != SQLITE_DONE)
		st = fk_fail(err, FK_EDB, "database error: %s", sqlite3_errmsg(im->db));
	sqlite3_finalize(q);
	return st;
}

static enum fk_status importer_load(struct importer *im, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	for (size_t i = 0; i < ST_COUNT; i++) {
		im->st[i] = store_prepare(im->db, stmt_sql[i], err);
		if (!im->st[i])
			return FK_EDB;
	}
	switch (im->kind) {
	case IMPORT_REGIONS:
	case IMPORT_VENUES:
		st = load_map(im, &im->regions, "SELECT code, level FROM regions", err);
		break;
	case IMPORT_PERSONS:
		st = load_map(im, &im->grids, "SELECT code FROM regions WHERE level=6", err);
		if (!st)
			st = load_map(im, &im->addr,
				      "SELECT code FROM address_codes"
				      " UNION SELECT code FROM regions WHERE level=3",
				      err);
		if (!st)
			st = load_map(im, &im->households,
				      "SELECT grid_code || char(31) || label, id FROM households", err);
		im->had_persons = store_query_int(im->db, "SELECT EXISTS(SELECT 1 FROM persons)", 1);
		break;
	}
	return st;
}

/* ------------------------------------------------------------- rejects */

static void trim(struct strbuf *sb)
{
	size_t a = 0, b = sb->len;
	while (a < b && (sb->buf[a] == ' ' || sb->buf[a] == '\t'))
		a++;
	while (b > a && (sb->buf[b - 1] == ' ' || sb->buf[b - 1] == '\t'))
		b--;
	if (a == 0 && b == sb->len)
		return;
	memmove(sb->buf, sb->buf + a, b - a);
	sb->len = b - a;
	sb->buf[sb->len] = '\0';
}


static enum fk_status write_reject(struct importer *im, uint64_t line, const char *field,
				   const char *reason, const char *raw, size_t raw_len,
				   struct fk_err *err)
{
	enum fk_status st = rejects_write(&im->rej, im->rep->rejects_path, im->enc, &im->scratch,
					  line, field, reason, raw, raw_len, err);
	if (st)
		return st;
	im->rep->rejected++;
	im->rep->rows++;
	return FK_OK;
}

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

/* ---------------------------------------------------------- validation */

/* Finds a region given a code in any accepted form, trying levels from
 * the deepest.  Returns its level (natural code in out) or 0; *format_ok
 * tells whether the code is a valid form at some level. */
static int find_region(const struct importer *im, const char *code, int prefer, char *out,
		       size_t size, bool *format_ok)
{
	int64_t lvl;
	*format_ok = false;
	if (prefer && region_code_normalize(code, prefer, out, size)) {
		*format_ok = true;
		if (strmap_gets(&im->regions, out, &lvl))
			return (int)lvl;
	}
	for (int l = 6; l >= 1; l--) {
		if (l == prefer || !region_code_normalize(code, l, out, size))
			continue;
		*format_ok = true;
		if (strmap_gets(&im->regions, out, &lvl))
			return (int)lvl;
	}
	return 0;
}

static bool check_dup(const struct importer *im, const char *key, const char *field,
		      struct reject *rj)
{
	int64_t first;
	if (strmap_gets(&im->seen, key, &first))
		return reject(rj, field, "duplicate key in file (first seen on line %" PRId64 ")",
			      first);
	return true;
}

static bool validate_region(struct importer *im, struct valid_row *v, struct reject *rj)
{
	const char *code = im->field[0].buf, *level = im->field[2].buf,
		   *parent = im->field[3].buf;
	int64_t lv;
	v->name = im->field[1].buf;
	if (!*code)
		return reject(rj, "code", "empty required field");
	if (!*v->name)
		return reject(rj, "name", "empty required field");
	if (!*level)
		return reject(rj, "level", "empty required field");
	if (!fk_parse_i64(level, 1, 6, &lv))
		return reject(rj, "level", "bad level (expected 1 to 6)");
	v->level = (int)lv;
	if (!region_code_normalize(code, v->level, v->key, sizeof(v->key)))
		return reject(rj, "code", "bad code format for level %d", v->level);
	v->parent[0] = '\0';
	if (v->level == 1) {
		if (*parent)
			return reject(rj, "parent_code", "a province has no parent region");
	} else {
		bool format_ok;
		if (!*parent)
			return reject(rj, "parent_code", "empty required field");
		int pl = find_region(im, parent, v->level - 1, v->parent, sizeof(v->parent),
				     &format_ok);
		if (!format_ok)
			return reject(rj, "parent_code", "bad code format");
		if (!pl)
			return reject(rj, "parent_code", "unknown parent region");
		if (pl != v->level - 1)
			return reject(rj, "parent_code", "parent region is not one level up");
		if (!fk_starts_with(v->key, v->parent))
			return reject(rj, "code", "code does not extend its parent code");
	}
	return check_dup(im, v->key, "code", rj);
}

static bool validate_person(struct importer *im, struct valid_row *v, struct reject *rj)
{
	const char *id = im->field[0].buf, *grid = im->field[3].buf;
	struct idnum_info info;
	v->name = im->field[1].buf;
	v->phone = im->field[2].buf;
	v->household = im->field[4].buf;
	v->occupation = im->field[5].buf;
	if (!*id)
		return reject(rj, "id_number", "empty required field");
	switch (idnum_parse(id, im->now, &info)) {
	case IDNUM_OK:
		break;
	case IDNUM_LENGTH:
		return reject(rj, "id_number", "ID number is not 18 characters");
	case IDNUM_CHARS:
		return reject(rj, "id_number", "ID number is not 17 digits and a check character");
	case IDNUM_CHECK:
		return reject(rj, "id_number", "bad check digit");
	case IDNUM_BIRTH:
		return reject(rj, "id_number", "impossible birth date");
	}
	memcpy(v->key, id, 18);
	v->key[18] = '\0';
	if (v->key[17] == 'x')
		v->key[17] = 'X';
	if (!strmap_get(&im->addr, v->key, 6, NULL))
		return reject(rj, "id_number", "unknown address code");
	if (!*v->name)
		return reject(rj, "name", "empty required field");
	if (*v->phone && !phone_valid(v->phone))
		return reject(rj, "phone", "bad phone");
	if (!*grid)
		return reject(rj, "grid_code", "empty required field");
	if (!region_code_normalize(grid, 6, v->grid, sizeof(v->grid)))
		return reject(rj, "grid_code", "bad code format");
	if (!strmap_gets(&im->grids, v->grid, NULL))
		return reject(rj, "grid_code", "unknown grid");
	v->sex = info.sex;
	snprintf(v->birth, sizeof(v->birth), "%04d-%02d-%02d", info.year, info.month, info.day);
	return check_dup(im, v->key, "id_number", rj);
}

/* Venue codes: 1 to VENUE_CODE_MAX letters, digits, '-' or '_'. */
static bool venue_code_valid(const char *s)
{
	size_t n = strlen(s);
	if (!n || n > VENUE_CODE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

static bool validate_venue(struct importer *im, struct valid_row *v, struct reject *rj)
{
	const char *code = im->field[0].buf, *region = im->field[2].buf;
	bool format_ok;
	v->name = im->field[1].buf;
	v->kind = im->field[3].buf;
	if (!*code)
		return reject(rj, "code", "empty required field");
	if (!venue_code_valid(code))
		return reject(rj, "code", "bad code format");
	fk_strlcpy(v->key, code, sizeof(v->key));
	if (!*v->name)
		return reject(rj, "name", "empty required field");
	if (!*region)
		return reject(rj, "region_code", "empty required field");
	if (!find_region(im, region, 0, v->region, sizeof(v->region), &format_ok))
		return reject(rj, "region_code",
			      format_ok ? "unknown region" : "bad code format");
	if (!*v->kind)
		return reject(rj, "kind", "empty required field");
	bool known = false;
	for (size_t i = 0; i < FK_ARRAY_LEN(venue_kinds) && !known; i++)
		known = !strcmp(venue_kinds[i], v->kind);
	if (!known)
		return reject(rj, "kind", "unknown venue kind");
	return check_dup(im, v->key, "code", rj);
}

/* ------------------------------------------------------------- writing */

static enum fk_status step_done(struct importer *im, sqlite3_stmt *q, struct fk_err *err)
{
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return fk_fail(err, FK_EDB, "database error: %s", sqlite3_errmsg(im->db));
	return FK_OK;
}

static void bind_text(sqlite3_stmt *q, int i, const char *s)
{
	sqlite3_bind_text(q, i, s, -1, SQLITE_STATIC);
}

static bool col_eq(sqlite3_stmt *q, int i, const char *s)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	return !strcmp(t ? (const char *)t : "", s);
}

static void add_change(struct strbuf *sb, const char *what)
{
	strbuf_addstr(sb, sb->len ? ", " : "changed: ");
	strbuf_addstr(sb, what);
}

static enum fk_status audit_update(struct importer *im, const char *object, const char *detail,
				   struct fk_err *err)
{
	char action[32];
	snprintf(action, sizeof(action), "%s.update", im->kd->noun);
	return audit_append(im->db, im->actor, action, object, detail, AUDIT_ORIGIN, err);
}

/* Writes a region; *outcome: 0 unchanged, 1 inserted, 2 updated. */
static enum fk_status write_region(struct importer *im, const struct valid_row *v, int *outcome,
				   struct fk_err *err)
{
	sqlite3_stmt *get = im->st[ST_REGION_GET];
	struct strbuf detail = STRBUF_INIT;
	enum fk_status st = FK_OK;
	bind_text(get, 1, v->key);
	int rc = sqlite3_step(get);
	if (rc == SQLITE_ROW) {
		if (!col_eq(get, 0, v->name)) {
			add_change(&detail, "name '");
			strbuf_addstr(&detail, (const char *)sqlite3_column_text(get, 0));
			strbuf_addstr(&detail, "' -> '");
			strbuf_addstr(&detail, v->name);
			strbuf_addch(&detail, '\'');
		}
		if (sqlite3_column_int(get, 1) != v->level)
			add_change(&detail, "level");
		if (!col_eq(get, 2, v->parent))
			add_change(&detail, "parent_code");
	} else if (rc != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "database error: %s", sqlite3_errmsg(im->db));
	}
	sqlite3_reset(get);
	if (st)
		goto done;
	if (rc == SQLITE_ROW && !detail.len) {
		*outcome = 0;
		goto done;
	}
	sqlite3_stmt *w = im->st[rc == SQLITE_ROW ? ST_REGION_UPD : ST_REGION_INS];
	bind_text(w, 1, v->key);
	bind_text(w, 2, v->name);
	sqlite3_bind_int(w, 3, v->level);
	bind_text(w, 4, v->parent);
	sqlite3_bind_int64(w, 5, im->now);
	if ((st = step_done(im, w, err)))
		goto done;
	*outcome = rc == SQLITE_ROW ? 2 : 1;
	if (rc == SQLITE_ROW) {
		char obj[48];
		snprintf(obj, sizeof(obj), "region:%s", v->key);
		st = audit_update(im, obj, detail.buf, err);
	}
done:
	strbuf_release(&detail);
	return st;
}

/* Household id for (grid, label), created if absent; 0 for no label. */
static enum fk_status household_id(struct importer *im, const char *grid, const char *label,
				   int64_t *id, struct fk_err *err)
{
	*id = 0;
	if (!*label)
		return FK_OK;
	struct strbuf *k = &im->scratch;
	strbuf_reset(k);
	strbuf_addstr(k, grid);
	strbuf_addch(k, 0x1f);
	strbuf_addstr(k, label);
	if (strmap_get(&im->households, k->buf, k->len, id))
		return FK_OK;
	sqlite3_stmt *q = im->st[ST_HOUSEHOLD_INS];
	bind_text(q, 1, grid);
	bind_text(q, 2, label);
	enum fk_status st = step_done(im, q, err);
	if (st)
		return st;
	*id = sqlite3_last_insert_rowid(im->db);
	strmap_put(&im->households, k->buf, k->len, *id);
	return FK_OK;
}

static enum fk_status write_person(struct importer *im, const struct valid_row *v, int *outcome,
				   struct fk_err *err)
{
	enum fk_status st;
	int64_t hh, pid = 0;
	int rc = SQLITE_DONE;
	struct strbuf detail = STRBUF_INIT;
	if ((st = household_id(im, v->grid, v->household, &hh, err)))
		return st;
	if (im->had_persons) {
		sqlite3_stmt *get = im->st[ST_PERSON_GET];
		bind_text(get, 1, v->key);
		rc = sqlite3_step(get);
		if (rc == SQLITE_ROW) {
			pid = sqlite3_column_int64(get, 0);
			if (!col_eq(get, 1, v->name))
				add_change(&detail, "name");
			if (!col_eq(get, 2, v->phone)) {
				char a[32], b[32];
				const unsigned char *old = sqlite3_column_text(get, 2);
				mask_phone(old ? (const char *)old : "", a, sizeof(a));
				mask_phone(v->phone, b, sizeof(b));
				add_change(&detail, "phone ");
				strbuf_addf(&detail, "%s -> %s", *a ? a : "(none)", *b ? b : "(none)");
			}
			if (!col_eq(get, 3, v->grid)) {
				add_change(&detail, "grid_code ");
				strbuf_addf(&detail, "%s -> %s", sqlite3_column_text(get, 3),
					    v->grid);
			}
			if (sqlite3_column_int64(get, 4) != hh)
				add_change(&detail, "household");
			if (!col_eq(get, 5, v->occupation))
				add_change(&detail, "occupation");
		} else if (rc != SQLITE_DONE) {
			st = fk_fail(err, FK_EDB, "database error: %s", sqlite3_errmsg(im->db));
		}
		sqlite3_reset(get);
		if (st)
			goto done;
		if (rc == SQLITE_ROW && !detail.len) {
			*outcome = 0;
			goto done;
		}
	}
	if (rc == SQLITE_ROW) {
		sqlite3_stmt *u = im->st[ST_PERSON_UPD];
		sqlite3_bind_int64(u, 1, pid);
		bind_text(u, 2, v->name);
		bind_text(u, 3, v->phone);
		bind_text(u, 4, v->grid);
		sqlite3_bind_int64(u, 5, hh);
		bind_text(u, 6, v->occupation);
		sqlite3_bind_int64(u, 7, im->now);
		if ((st = step_done(im, u, err)))
			goto done;
		char obj[40];
		snprintf(obj, sizeof(obj), "person:%" PRId64, pid);
		*outcome = 2;
		st = audit_update(im, obj, detail.buf, err);
		goto done;
	}
	sqlite3_stmt *q = im->st[ST_PERSON_INS];
	bind_text(q, 1, v->key);
	bind_text(q, 2, v->name);
	bind_text(q, 3, v->phone);
	bind_text(q, 4, v->grid);
	sqlite3_bind_int64(q, 5, hh);
	bind_text(q, 6, v->occupation);
	sqlite3_bind_int(q, 7, v->sex);
	bind_text(q, 8, v->birth);
	sqlite3_bind_int64(q, 9, im->now);
	if ((st = step_done(im, q, err)))
		goto done;
	*outcome = 1;
done:
	strbuf_release(&detail);
	return st;
}

static enum fk_status write_venue(struct importer *im, const struct valid_row *v, int *outcome,
				  struct fk_err *err)
{
	sqlite3_stmt *get = im->st[ST_VENUE_GET];
	struct strbuf detail = STRBUF_INIT;
	enum fk_status st = FK_OK;
	bind_text(get, 1, v->key);
	int rc = sqlite3_step(get);
	if (rc == SQLITE_ROW) {
		if (!col_eq(get, 0, v->name))
			add_change(&detail, "name");
		if (!col_eq(get, 1, v->region)) {
			add_change(&detail, "region_code ");
			strbuf_addf(&detail, "%s -> %s", sqlite3_column_text(get, 1), v->region);
		}
		if (!col_eq(get, 2, v->kind)) {
			add_change(&detail, "kind ");
			strbuf_addf(&detail, "%s -> %s", sqlite3_column_text(get, 2), v->kind);
		}
	} else if (rc != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "database error: %s", sqlite3_errmsg(im->db));
	}
	sqlite3_reset(get);
	if (st)
		goto done;
	if (rc == SQLITE_ROW && !detail.len) {
		*outcome = 0;
		goto done;
	}
	sqlite3_stmt *w = im->st[rc == SQLITE_ROW ? ST_VENUE_UPD : ST_VENUE_INS];
	bind_text(w, 1, v->key);
	bind_text(w, 2, v->name);
	bind_text(w, 3, v->region);
	bind_text(w, 4, v->kind);
	sqlite3_bind_int64(w, 5, im->now);
	if ((st = step_done(im, w, err)))
		goto done;
	*outcome = rc == SQLITE_ROW ? 2 : 1;
	if (rc == SQLITE_ROW) {
		char obj[48];
		snprintf(obj, sizeof(obj), "venue:%s", v->key);
		st = audit_update(im, obj, detail.buf, err);
	}
done:
	strbuf_release(&detail);
	return st;
}

/* ------------------------------------------------------------- batches */

static enum fk_status batch_end(struct importer *im, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	if (!im->in_tx)
		return FK_OK;
	if (im->batch_inserted) {
		char action[32], detail[96];
		snprintf(action, sizeof(action), "%s.import", im->kd->noun);
		snprintf(detail, sizeof(detail), "batch lines %" PRIu64 "-%" PRIu64 ": %" PRIu64
			 " inserted", im->batch_first, im->batch_last, im->batch_inserted);
		st = audit_append(im->db, im->actor, action, im->path, detail, AUDIT_ORIGIN, err);
	}
	if (!st)
		st = store_commit(im->db, err);
	if (st)
		store_rollback(im->db);
	else
		im->committed += im->batch_rows;
	im->in_tx = false;
	im->batch_rows = im->batch_inserted = 0;
	return st;
}

static enum fk_status accept_row(struct importer *im, const struct valid_row *v, uint64_t line,
				 struct fk_err *err)
{
	enum fk_status st;
	int outcome = 0;
	if (!im->in_tx) {
		if ((st = store_begin(im->db, err)))
			return st;
		im->in_tx = true;
		im->batch_first = line;
	}
	switch (im->kind) {
	case IMPORT_REGIONS:
		st = write_region(im, v, &outcome, err);
		break;
	case IMPORT_PERSONS:
		st = write_person(im, v, &outcome, err);
		break;
	case IMPORT_VENUES:
		st = write_venue(im, v, &outcome, err);
		break;
	default:
		st = fk_fail(err, FK_EINVAL, "unknown import kind");
	}
	if (st)
		return st;
	strmap_puts(&im->seen, v->key, (int64_t)line);
	if (im->kind == IMPORT_REGIONS)
		strmap_puts(&im->regions, v->key, v->level);
	im->rep->rows++;
	if (outcome == 1) {
		im->rep->inserted++;
		im->batch_inserted++;
	} else if (outcome == 2) {
		im->rep->updated++;
	} else {
		im->rep->unchanged++;
	}
	im->batch_last = line;
	if (++im->batch_rows >= im->batch_size)
		return batch_end(im, err);
	return FK_OK;
}

/* ---------------------------------------------------------------- rows */

/* Decodes and trims the fields of row into im->field.  False (rj set) on a
 * field that is invalid in the file's encoding. */
static bool decode_fields(struct importer *im, const struct csv_row *row, struct reject *rj)
{
	for (size_t i = 0; i < row->nfields; i++) {
		struct strbuf *f = &im->field[i];
		strbuf_reset(f);
		if (!text_to_utf8(im->enc, row->fields[i], row->lens[i], f))
			return reject(rj, im->kd->cols[i], "invalid encoding");
		if (memchr(f->buf, '\0', f->len))
			return reject(rj, im->kd->cols[i], "invalid encoding");
		trim(f);
	}
	return true;
}

static enum fk_status import_row(struct importer *im, const struct csv_row *row,
				 struct fk_err *err)
{
	struct reject rj = {"", ""};
	struct valid_row v;
	bool ok;
	memset(&v, 0, sizeof(v));
	if (row->nfields != im->kd->ncols)
		ok = reject(&rj, "", "wrong column count (expected %zu, got %zu)", im->kd->ncols,
			    row->nfields);
	else
		ok = decode_fields(im, row, &rj);
	if (ok) {
		switch (im->kind) {
		case IMPORT_REGIONS:
			ok = validate_region(im, &v, &rj);
			break;
		case IMPORT_PERSONS:
			ok = validate_person(im, &v, &rj);
			break;
		case IMPORT_VENUES:
			ok = validate_venue(im, &v, &rj);
			break;
		}
	}
	if (!ok)
		return write_reject(im, row->line, rj.field, rj.reason, row->raw, row->raw_len, err);
	return accept_row(im, &v, row->line, err);
}

static void join_cols(const struct kind_desc *kd, struct strbuf *sb)
{
	for (size_t i = 0; i < kd->ncols; i++) {
		if (i)
			strbuf_addch(sb, ',');
		strbuf_addstr(sb, kd->cols[i]);
	}
}

/* The header must name the kind's columns exactly, in order. */
static enum fk_status check_header(struct importer *im, struct csv_reader *r, struct fk_err *err)
{
	struct csv_row row;
	struct fk_err cerr = {FK_OK, ""};
	struct strbuf want = STRBUF_INIT, got = STRBUF_INIT;
	enum fk_status st = FK_OK;
	join_cols(im->kd, &want);
	enum csv_result res = csv_next(r, &row, &cerr);
	if (res == CSV_EOF) {
		st = fk_fail(err, FK_EINVAL, "'%s' is empty: expected the header row '%s'", im->path,
			     want.buf);
		goto done;
	}
	if (res == CSV_ERROR) {
		st = fk_fail(err, FK_EINVAL, "'%s' line %" PRIu64 ": bad header row: %s", im->path,
			     row.line, cerr.msg);
		goto done;
	}
	bool same = row.nfields == im->kd->ncols;
	for (size_t i = 0; same && i < row.nfields; i++)
		same = row.lens[i] == strlen(im->kd->cols[i]) &&
		       !memcmp(row.fields[i], im->kd->cols[i], row.lens[i]);
	if (!same) {
		rejects_raw_utf8(im->enc, row.raw, row.raw_len < 200 ? row.raw_len : 200, &got);
		st = fk_fail(err, FK_EINVAL,
			     "'%s' line %" PRIu64 ": wrong header for %s: expected '%s', got '%s'",
			     im->path, row.line, im->kd->name, want.buf, got.buf);
	}
done:
	strbuf_release(&want);
	strbuf_release(&got);
	return st;
}

static enum fk_status import_records(struct importer *im, const char *data, size_t len,
				     struct fk_err *err)
{
	struct csv_limits lim = {IMPORT_MAX_FIELD, IMPORT_MAX_RECORD, 64};
	struct csv_reader *r = csv_reader_new(data, len, &lim);
	struct fk_progress prog;
	struct csv_row row;
	char label[48];
	enum fk_status st;
	uint64_t n = 0;

	snprintf(label, sizeof(label), "import %s", im->kd->name);
	if ((st = check_header(im, r, err)))
		goto free_reader;
	if (unlink(im->rep->rejects_path) && errno != ENOENT) {
		st = fk_fail(err, FK_EIO, "cannot remove stale '%s': %s", im->rep->rejects_path,
			     strerror(errno));
		goto free_reader;
	}
	fk_progress_init(&prog, label, 0);
	for (;;) {
		struct fk_err cerr = {FK_OK, ""};
		enum csv_result res = csv_next(r, &row, &cerr);
		if (res == CSV_EOF)
			break;
		if (res == CSV_ERROR) {
			const char *field = row.bad_field > 0 && (size_t)row.bad_field <= im->kd->ncols
						    ? im->kd->cols[row.bad_field - 1]
						    : "";
			char reason[REASON_MAX];
			rejects_csv_reason(cerr.msg, reason, sizeof(reason));
			st = write_reject(im, row.line, field, reason, row.raw, row.raw_len, err);
		} else if (row.nfields == 1 && row.lens[0] == 0) {
			continue; /* blank line */
		} else {
			st = import_row(im, &row, err);
		}
		if (st)
			goto rollback;
		if ((++n & 4095) == 0 && prog.enabled) {
			/* rows and rows/s; total estimated from the bytes read, so
			 * the percentage is the share of the file consumed */
			size_t off = csv_offset(r);
			prog.total = off ? (uint64_t)((double)n * len / off) : 0;
			fk_progress_update(&prog, n);
		}
	}
	if ((st = batch_end(im, err)))
		goto free_reader;
	prog.total = n;
	fk_progress_done(&prog, n);
	goto free_reader;
rollback:
	store_rollback(im->db);
	im->in_tx = false;
free_reader:
	csv_reader_free(r);
	return st;
}

/* registry_import() with a batch size (rows per transaction). */
static enum fk_status import_file(sqlite3 *db, enum import_kind kind, const char *path,
				  const char *actor, uint64_t batch, struct import_report *rep,
				  struct fk_err *err)
{
	struct importer im;
	enum fk_status st = FK_OK;
	struct fk_mapfile fm = {.data = "", .map = MAP_FAILED, .fd = -1};
	size_t skip = 0;
	bool tuned = false;
	int64_t cache_was = 0, ckpt_was = 0;
	char pragma[128];

	memset(&im, 0, sizeof(im));
	memset(rep, 0, sizeof(*rep));
	if ((unsigned)kind > IMPORT_VENUES)
		return fk_fail(err, FK_EINVAL, "unknown import kind");
	for (size_t i = 0; i < IMPORT_MAX_COLS; i++)
		strbuf_init(&im.field[i]);
	strbuf_init(&im.scratch);
	im.db = db;
	im.kind = kind;
	im.kd = &kinds[kind];
	im.path = path;
	im.actor = actor;
	im.now = fk_now();
	im.batch_size = batch ? batch : IMPORT_DEFAULT_BATCH;
	im.rep = rep;
	if ((size_t)snprintf(rep->rejects_path, sizeof(rep->rejects_path), "%s.rejects.csv",
			     path) >= sizeof(rep->rejects_path)) {
		st = fk_fail(err, FK_EINVAL, "file name too long: '%s'", path);
		goto release;
	}

	if ((st = fk_mapfile_open(&fm, path, err)))
		goto close_fd;
	im.enc = text_detect(fm.data, fm.len, &skip);
	rep->encoding = text_encoding_name(im.enc);

	/* A bulk writer: a larger page cache keeps the persons indexes in
	 * memory, and a longer WAL between checkpoints writes each hot index
	 * page back once per checkpoint rather than once per batch.  Both are
	 * restored for the caller's connection. */
	cache_was = store_query_int(db, "PRAGMA cache_size", -65536);
	ckpt_was = store_query_int(db, "PRAGMA wal_autocheckpoint", 1000);
	snprintf(pragma, sizeof(pragma), "PRAGMA cache_size=%d; PRAGMA wal_autocheckpoint=%d",
		 IMPORT_CACHE_KIB, IMPORT_WAL_PAGES);
	if ((st = store_exec(db, pragma, err)))
		goto unmap;
	tuned = true;
	if ((st = importer_load(&im, err)))
		goto unmap;
	st = import_records(&im, fm.data + skip, fm.len - skip, err);
	if (im.rej && fclose(im.rej) && !st)
		st = fk_fail(err, FK_EIO, "cannot write '%s': %s", rep->rejects_path,
			     strerror(errno));
	im.rej = NULL;
	if (st) {
		size_t n = strlen(err->msg);
		if (im.committed)
			snprintf(err->msg + n, sizeof(err->msg) - n,
				 " (%" PRIu64 " rows in committed batches are kept)", im.committed);
		goto unmap;
	}
	if ((st = registry_stats_refresh(db, err)))
		goto unmap;
	if (rep->rejected)
		st = fk_fail(err, FK_EREJECTED, "%" PRIu64 " rows rejected, see '%s'",
			     rep->rejected, rep->rejects_path);
unmap:
	if (tuned) {
		snprintf(pragma, sizeof(pragma),
			 "PRAGMA cache_size=%" PRId64 "; PRAGMA wal_autocheckpoint=%" PRId64,
			 cache_was, ckpt_was);
		sqlite3_exec(db, pragma, NULL, NULL, NULL);
	}
close_fd:
	fk_mapfile_close(&fm);
release:
	importer_release(&im);
	return st;
}

enum fk_status registry_import(sqlite3 *db, enum import_kind kind, const char *path,
			       const char *actor, struct import_report *rep, struct fk_err *err)
{
	return import_file(db, kind, path, actor, IMPORT_DEFAULT_BATCH, rep, err);
}

/* ----------------------------------------------------------------- CLI */

static void import_usage(FILE *f)
{
	fputs("usage: fangkong import KIND FILE.csv [--db FILE] [--batch N]\n"
	      "\n"
	      "KIND and columns (header row required, exactly these names in order):\n"
	      "  regions  code,name,level,parent_code\n"
	      "  persons  id_number,name,phone,grid_code,household,occupation\n"
	      "  venues   code,name,region_code,kind\n"
	      "  checkins id_number,venue_code,time (time ISO 8601 with offset)\n"
	      "  samples  tube,id_number,site,sampled_at,pool_size\n"
	      "           (fangkong import samples --help for its options)\n"
	      "  results  tube,result,reported_at (result: negative, positive, invalid)\n"
	      "           (fangkong import results --help)\n"
	      "\n"
	      "Files may be UTF-8 (with or without BOM) or GB18030.  Valid rows are kept;\n"
	      "each rejected row is written with its line, field and reason to\n"
	      "FILE.csv.rejects.csv.  Importing the same file twice changes nothing.\n"
	      "\n"
	      "  --db FILE   database (default $FANGKONG_DB, then ./fangkong.db)\n"
	      "  --batch N   rows per transaction (default 10000; checkins always 200000)\n"
	      "\n"
	      "exit: 0 ok, 1 failure, 2 bad usage, 3 rows rejected\n",
	      f);
}

static void os_user(char *out, size_t size)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	if (!getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) && res && res->pw_name) {
		fk_strlcpy(out, res->pw_name, size);
		return;
	}
	const char *u = getenv("USER");
	snprintf(out, size, "%s", u && *u ? u : "unknown");
}

/* `import checkins`: the importer lives with the check-ins (checkins.h). */
static int import_checkins_cli(sqlite3 *db, const char *path, const char *actor)
{
	struct checkin_import_report rep;
	struct fk_err err = {FK_OK, ""};
	enum fk_status st = checkins_import(db, path, actor, &rep, &err);
	if (st != FK_OK && st != FK_EREJECTED) {
		fprintf(stderr, "fangkong import: %s\n", err.msg);
		return 1;
	}
	fprintf(stderr,
		"imported %s (%s): %" PRIu64 " rows, %" PRIu64 " inserted, %" PRIu64
		" unchanged, %" PRIu64 " rejected%s%s\n",
		path, rep.encoding, rep.rows, rep.inserted, rep.unchanged, rep.rejected,
		rep.rejected ? " -> " : "", rep.rejected ? rep.rejects_path : "");
	return st == FK_OK ? 0 : 3;
}

int cmd_import(int argc, char **argv)
{
	const char *db_flag = NULL, *kind_s = NULL, *path = NULL;
	int64_t batch = IMPORT_DEFAULT_BATCH;
	enum import_kind kind = IMPORT_REGIONS;
	sqlite3 *db = NULL;
	struct fk_err err = {FK_OK, ""};
	struct import_report rep;
	char user[64], actor[80];
	int rc = 1;

	/* samples and results: the testing domain's importers, own options */
	if (argc > 1 && !strcmp(argv[1], "samples"))
		return import_samples_cli(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "results"))
		return import_results_cli(argc, argv);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			import_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--db") || !strcmp(a, "--batch")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "fangkong import: '%s' needs a value\n", a);
				return 2;
			}
			const char *val = argv[++i];
			if (!strcmp(a, "--db")) {
				db_flag = val;
			} else if (!fk_parse_i64(val, 1, IMPORT_MAX_BATCH, &batch)) {
				fprintf(stderr,
					"fangkong import: --batch must be 1 to %d, got '%s'\n",
					IMPORT_MAX_BATCH, val);
				return 2;
			}
		} else if (fk_starts_with(a, "--db=")) {
			db_flag = a + 5;
		} else if (fk_starts_with(a, "--batch=")) {
			if (!fk_parse_i64(a + 8, 1, IMPORT_MAX_BATCH, &batch)) {
				fprintf(stderr,
					"fangkong import: --batch must be 1 to %d, got '%s'\n",
					IMPORT_MAX_BATCH, a + 8);
				return 2;
			}
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "fangkong import: unknown option '%s'\n", a);
			import_usage(stderr);
			return 2;
		} else if (!kind_s) {
			kind_s = a;
		} else if (!path) {
			path = a;
		} else {
			fprintf(stderr, "fangkong import: unexpected argument '%s'\n", a);
			return 2;
		}
	}
	if (!kind_s || !path) {
		import_usage(stderr);
		return 2;
	}
	bool checkins = !strcmp(kind_s, "checkins");
	bool known = checkins;
	for (size_t k = 0; k < FK_ARRAY_LEN(kinds) && !known; k++)
		if (!strcmp(kind_s, kinds[k].name)) {
			kind = (enum import_kind)k;
			known = true;
		}
	if (!known) {
		fprintf(stderr, "fangkong import: unknown kind '%s' (regions, persons, venues,"
			" checkins, samples, results)\n",
			kind_s);
		return 2;
	}
	if (access(path, R_OK)) {
		fprintf(stderr, "fangkong import: cannot open '%s': %s\n", path, strerror(errno));
		return 1;
	}
	const char *db_path = store_default_path(db_flag);
	if (store_open(db_path, STORE_MIGRATE, &db, &err)) {
		fprintf(stderr, "fangkong import: %s\n", err.msg);
		return 1;
	}
	os_user(user, sizeof(user));
	snprintf(actor, sizeof(actor), "import:%s", user);
	if (checkins) {
		rc = import_checkins_cli(db, path, actor);
		store_close(db);
		return rc;
	}
	enum fk_status st = import_file(db, kind, path, actor, (uint64_t)batch, &rep, &err);
	if (st == FK_OK || st == FK_EREJECTED) {
		fprintf(stderr,
			"imported %s (%s): %" PRIu64 " rows, %" PRIu64 " inserted, %" PRIu64
			" updated, %" PRIu64 " unchanged, %" PRIu64 " rejected%s%s\n",
			path, rep.encoding, rep.rows, rep.inserted, rep.updated,
			rep.unchanged, rep.rejected, rep.rejected ? " -> " : "",
			rep.rejected ? rep.rejects_path : "");
		rc = st == FK_OK ? 0 : 3;
	} else {
		fprintf(stderr, "fangkong import: %s\n", err.msg);
		rc = 1;
	}
	store_close(db);
	return rc;
}
