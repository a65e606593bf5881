/* campaign.c — campaigns (launch with the population frozen, list, show,
 * close), sampling sites, and where a person stands in a campaign.
 *
 * Design note.
 * - Launch freezes the population in one transaction on the single writer
 *   (store_writer_lock in the server; the only connection in the CLI), so
 *   a sample can never see half a campaign:
 *     population_max_id = max(persons.id) at launch;
 *     campaign_targets   (targeted) the listed persons, each of whom must
 *                        exist and live in the area;
 *     campaign_exempt    'age': birth_date > cutoff, where cutoff is the
 *                        +08:00 date of starts_at with the year less
 *                        exempt_under_age_years, compared as text (so a
 *                        cutoff of 2021-02-29 still orders correctly);
 *                        'isolation': under an order of kind central or
 *                        home_isolation in force at starts_at (status
 *                        active or completed, start_at <= starts_at <
 *                        coalesce(ended_at, planned_end): the intervals the
 *                        health code reads); age wins when both apply;
 *     campaign_grids     a row for every grid (regions level 6) under the
 *                        area, even empty ones: expected = population of
 *                        the grid less its exempt, exempt.
 *   The population of a grid is one GROUP BY over persons (index
 *   persons_grid covers it); the age rows one pass over persons; the
 *   exempt per grid one GROUP BY over the campaign's exempt rows.  A
 *   whole-city launch over 3,000,000 persons and 4,290 grids costs about
 *   1.1 s of CPU (the writer is held that long).
 * - Invariant after launch: sum(expected) + sum(exempt) over a campaign's
 *   grids = its population; sum(exempt) = count(campaign_exempt rows).
 * - The counts of a campaign's JSON are sums of its campaign_grids rows
 *   (sample.c and result.c keep them); missing = expected -
 *   sampled_expected.
 * - Scope.  Launching needs the area inside the user's scope (a grid is a
 *   valid area: a designated area); a campaign is visible when its area
 *   overlaps the scope (the area inside the scope, or the scope inside the
 *   area); anything else answers 404.  Closing needs the area inside the
 *   scope (403 when it is only visible).  Sites are visible the same way.
 * - Audited: campaign.create, campaign.close, campaign.list and
 *   campaign.read (aggregates only), site.create.  Site lists hold no
 *   personal data and are not audited.
 */
#include "testing/testing_int.h"

#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "healthcode/healthcode.h"
#include "http/http.h"
#include "lib/strbuf.h"
#include "lib/util.h"
#include "policy/policy.h"
#include "registry/registry.h"
#include "store/store.h"

#include "lib/banned.h"

bool testing_code_valid(const char *s, size_t max)
{
	size_t n = 0;
	if (!s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];
		if (n >= max || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
				  (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

bool testing_region_valid(const char *s)
{
	size_t n = strlen(s);
	return region_level_of_len(n) && fk_all_digits(s, n);
}

static void copy_col(sqlite3_stmt *st, int i, char *out, size_t size)
{
	const char *v = (const char *)sqlite3_column_text(st, i);
	fk_strlcpy(out, v ? v : "", size);
}

enum fk_status campaign_get(sqlite3 *db, int64_t id, struct campaign *out, struct fk_err *err)
{
	sqlite3_stmt *st = NULL;
	enum fk_status s = FK_OK;
	if (sqlite3_prepare_v2(db,
			       "SELECT id, name, kind, region_code, starts_at, deadline, pool_size,"
			       " status = 'open', population_max_id, exempt_under_age, occupations,"
			       " created_at, created_by, policy_version FROM campaigns WHERE id = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		s = fk_fail(err, FK_EDB, "cannot read campaigns: %s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		s = fk_fail(err, FK_ENOTFOUND, "no campaign %lld", (long long)id);
		goto out;
	}
	if (rc != SQLITE_ROW) {
		s = fk_fail(err, FK_EDB, "cannot read campaign %lld: %s", (long long)id,
			    sqlite3_errmsg(db));
		goto out;
	}
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	copy_col(st, 1, out->name, sizeof(out->name));
	copy_col(st, 2, out->kind, sizeof(out->kind));
	copy_col(st, 3, out->region_code, sizeof(out->region_code));
	out->starts_at = sqlite3_column_int64(st, 4);
	out->deadline = sqlite3_column_int64(st, 5);
	out->pool_size = sqlite3_column_int(st, 6);
	out->open = sqlite3_column_int(st, 7) != 0;
	out->population_max_id = sqlite3_column_int64(st, 8);
	out->exempt_under_age = sqlite3_column_int(st, 9);
	copy_col(st, 10, out->occupations, sizeof(out->occupations));
	out->created_at = sqlite3_column_int64(st, 11);
	copy_col(st, 12, out->created_by, sizeof(out->created_by));
	copy_col(st, 13, out->policy_version, sizeof(out->policy_version));
out:
	sqlite3_finalize(st);
	return s;
}

/* Whether occupation is one of the comma-separated list. */
static bool occupation_listed(const char *list, const char *occupation)
{
	size_t n = strlen(occupation);
	if (!n)
		return false;
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && !memcmp(p, occupation, n))
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

/* One row of sql (bound to c->id, person) exists. */
static enum fk_status row_exists(sqlite3 *db, const char *sql, int64_t cid, int64_t person,
				 bool *out, struct fk_err *err)
{
	/* on a server thread's reader (the sampling handlers, per scan) the
	 * statement is the thread's cached one: no parse per sample */
	bool cached = store_server_path() && db == store_reader();
	sqlite3_stmt *st = NULL;
	if (cached) {
		if (!(st = store_reader_stmt(sql, err)))
			return FK_EDB;
	} else if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		return fk_fail(err, FK_EDB, "cannot read campaign lists: %s", sqlite3_errmsg(db));
	}
	sqlite3_bind_int64(st, 1, cid);
	sqlite3_bind_int64(st, 2, person);
	int rc = sqlite3_step(st);
	if (cached)
		store_stmt_done(st);
	else
		sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return fk_fail(err, FK_EDB, "cannot read campaign lists: %s", sqlite3_errmsg(db));
	*out = rc == SQLITE_ROW;
	return FK_OK;
}

enum fk_status campaign_person_status(sqlite3 *db, const struct campaign *c, int64_t person_id,
				      const char *grid, const char *occupation,
				      bool *in_population, bool *expected, struct fk_err *err)
{
	bool listed = false, exempt = false;
	enum fk_status s;
	*in_population = *expected = false;
	if (!fk_starts_with(grid, c->region_code))
		return FK_OK;
	if (!strcmp(c->kind, "periodic") && !occupation_listed(c->occupations, occupation))
		return FK_OK;
	if (!strcmp(c->kind, "targeted")) {
		s = row_exists(db,
			       "SELECT 1 FROM campaign_targets WHERE campaign_id = ?1"
			       " AND person_id = ?2",
			       c->id, person_id, &listed, err);
		if (s || !listed)
			return s;
	}
	*in_population = true;
	if (person_id > c->population_max_id)
		return FK_OK;
	s = row_exists(db, "SELECT 1 FROM campaign_exempt WHERE campaign_id = ?1 AND person_id = ?2",
		       c->id, person_id, &exempt, err);
	if (!s)
		*expected = !exempt;
	return s;
}

/* Column i as int64_t (sqlite3_int64 is long long). */
static int64_t col64(sqlite3_stmt *st, int i)
{
	return (int64_t)sqlite3_column_int64(st, i);
}

/* ---- launch: shared by the API and the CLI ---- */

#define CAMPAIGN_BODY_MAX (4 * 1024 * 1024) /* 100,000 ID numbers fit */
#define SITE_BODY_MAX 4096
#define TARGETS_MAX 100000
#define SITE_NAME_MAX 120
#define SITE_CAPACITY_MAX 100000
#define OCCUPATION_MAX 23 /* struct policy_periodic.occupation */
#define REGION_CODE_MAX 16
#define KEY_MAX 64
#define SECONDS_PER_DAY 86400

static const struct {
	const char *kind, *label;
} kinds[] = {
	{"whole", "全员"},
	{"core", "核心区域"},
	{"designated", "划定区域"},
	{"periodic", "重点人群"},
	{"targeted", "定向"},
};

static const char *kind_label(const char *kind)
{
	for (size_t i = 0; i < FK_ARRAY_LEN(kinds); i++)
		if (!strcmp(kinds[i].kind, kind))
			return kinds[i].label;
	return NULL;
}

static bool pool_valid(int64_t n)
{
	return n == 1 || n == 5 || n == 10 || n == 20;
}

/* The policy's deadline for a campaign of kind starting at starts. */
static int64_t default_deadline(const struct policy *p, const char *kind, int64_t starts)
{
	if (!strcmp(kind, "core"))
		return starts + (int64_t)p->campaign_core_days * SECONDS_PER_DAY;
	if (!strcmp(kind, "designated"))
		return starts + (int64_t)p->campaign_designated_hours * 3600;
	return starts + (int64_t)p->campaign_whole_days * SECONDS_PER_DAY;
}

/* Characters of a UTF-8 string (continuation bytes not counted). */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* A campaign or site name: not blank, at most max characters, no control
 * characters. */
static bool name_valid(const char *s, size_t max)
{
	bool blank = true;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return false;
		if (*p != ' ')
			blank = false;
	}
	return !blank && utf8_chars(s) <= max && strlen(s) <= CAMPAIGN_NAME_MAX * 4;
}

/* Appends occupation name to the comma-separated list (duplicates are
 * dropped).  False when name is not 1..23 of [A-Za-z0-9_-] or the list
 * would exceed size. */
static bool occupation_add(char *list, size_t size, const char *name)
{
	if (!testing_code_valid(name, OCCUPATION_MAX))
		return false;
	if (occupation_listed(list, name))
		return true;
	size_t n = strlen(list), m = strlen(name);
	if (n + (n ? 1 : 0) + m + 1 > size)
		return false;
	if (n)
		list[n++] = ',';
	memcpy(list + n, name, m + 1);
	return true;
}

/* The policy's periodic occupations as a list. */
static void policy_occupations(const struct policy *p, char *list, size_t size)
{
	list[0] = '\0';
	for (int i = 0; i < p->nperiodic; i++)
		occupation_add(list, size, p->periodic[i].occupation);
}

struct launch {
	const char *name;
	const char *kind;
	const char *region;
	int64_t starts_at, deadline;
	int pool_size;
	char occupations[OCCUPATIONS_MAX + 1]; /* periodic */
	int exempt_under_age;
	const char *policy_version;
	const char *const *persons; /* targeted: ID numbers */
	size_t npersons;
};

struct launch_result {
	int64_t id;
	int64_t population, exempt_age, exempt_isolation;
	size_t bad_person; /* FK_EINVAL: index of the person refused, else SIZE_MAX */
};

/* ?1 campaign, ?2..?3 the area's code range, ?4 population_max_id, ?5 the
 * occupations as a JSON array, ?6 the age cutoff date, ?7 starts_at. */
static void population_where(struct strbuf *q, const char *kind)
{
	strbuf_addstr(q, " p.grid_code >= ?2 AND p.grid_code < ?3 AND p.id <= ?4");
	if (!strcmp(kind, "periodic"))
		strbuf_addstr(q, " AND p.occupation IN (SELECT value FROM json_each(?5))");
	else if (!strcmp(kind, "targeted"))
		strbuf_addstr(q, " AND p.id IN (SELECT person_id FROM campaign_targets"
				 " WHERE campaign_id = ?1)");
}

struct launch_binds {
	int64_t id, max_id, starts_at;
	const char *lo, *hi, *occupations_json, *cutoff;
};

/* Runs sql with the launch parameters bound (those it does not use are
 * ignored); *changes (may be NULL) receives the rows it changed. */
static enum fk_status launch_exec(sqlite3 *w, const char *sql, const struct launch_binds *b,
				  int64_t *changes, struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(w, sql, err);
	if (!st)
		return FK_EDB;
	int np = sqlite3_bind_parameter_count(st);
	if (np >= 1)
		sqlite3_bind_int64(st, 1, b->id);
	if (np >= 2)
		sqlite3_bind_text(st, 2, b->lo, -1, SQLITE_STATIC);
	if (np >= 3)
		sqlite3_bind_text(st, 3, b->hi, -1, SQLITE_STATIC);
	if (np >= 4)
		sqlite3_bind_int64(st, 4, b->max_id);
	if (np >= 5)
		sqlite3_bind_text(st, 5, b->occupations_json, -1, SQLITE_STATIC);
	if (np >= 6)
		sqlite3_bind_text(st, 6, b->cutoff, -1, SQLITE_STATIC);
	if (np >= 7)
		sqlite3_bind_int64(st, 7, b->starts_at);
	int rc = sqlite3_step(st);
	enum fk_status s = FK_OK;
	if (rc != SQLITE_DONE)
		s = fk_fail(err, FK_EDB, "cannot launch the campaign: %s", sqlite3_errmsg(w));
	else if (changes)
		*changes = sqlite3_changes64(w);
	sqlite3_finalize(st);
	return s;
}

/* The age cutoff: the +08:00 date of t with years less (as text). */
static void age_cutoff(int64_t t, int years, char *out, size_t size)
{
	char ts[32], y[5];
	int64_t year = 0;
	fk_format_time(t, ts, sizeof(ts));
	memcpy(y, ts, 4);
	y[4] = '\0';
	fk_parse_i64(y, 0, 9999, &year);
	year -= years;
	if (year < 0)
		year = 0;
	snprintf(out, size, "%04d-%.5s", (int)year, ts + 5);
}

/* Resolves and stores the targeted campaign's persons. */
static enum fk_status launch_targets(sqlite3 *w, const struct launch *l, int64_t cid,
				     const char *lo, const char *hi, struct launch_result *r,
				     struct fk_err *err)
{
	enum fk_status s = FK_OK;
	sqlite3_stmt *find = store_prepare(w,
					   "SELECT id FROM persons WHERE id_number = upper(?1)"
					   " AND grid_code >= ?2 AND grid_code < ?3",
					   err);
	sqlite3_stmt *add = find ? store_prepare(w,
						 "INSERT OR IGNORE INTO campaign_targets(campaign_id,"
						 " person_id) VALUES(?1, ?2)",
						 err)
				 : NULL;
	if (!find || !add) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_text(find, 2, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(find, 3, hi, -1, SQLITE_STATIC);
	sqlite3_bind_int64(add, 1, cid);
	for (size_t i = 0; i < l->npersons; i++) {
		sqlite3_reset(find);
		sqlite3_bind_text(find, 1, l->persons[i], -1, SQLITE_STATIC);
		int rc = sqlite3_step(find);
		if (rc == SQLITE_DONE) {
			r->bad_person = i;
			s = fk_fail(err, FK_EINVAL, "no person with ID number '%s' in the area",
				    l->persons[i]);
			goto out;
		}
		if (rc != SQLITE_ROW) {
			s = fk_fail(err, FK_EDB, "cannot look up persons: %s", sqlite3_errmsg(w));
			goto out;
		}
		sqlite3_reset(add);
		sqlite3_bind_int64(add, 2, col64(find, 0));
		if (sqlite3_step(add) != SQLITE_DONE) {
			s = fk_fail(err, FK_EDB, "cannot store the targets: %s", sqlite3_errmsg(w));
			goto out;
		}
	}
out:
	sqlite3_finalize(find);
	sqlite3_finalize(add);
	return s;
}

/* Launches campaign l in one transaction on w (the writer): the campaign
 * row, its targets, exempt persons and grid rows, and the audit record.
 * FK_ENOTFOUND when the region does not exist; FK_EINVAL when a targeted
 * person is unknown or lives outside the area (r->bad_person says which);
 * FK_EDB.  Nothing is written on failure. */
static enum fk_status launch_run(sqlite3 *w, const struct launch *l, const char *actor,
				 const char *origin, int64_t now, struct launch_result *r,
				 struct fk_err *err)
{
	struct strbuf q = STRBUF_INIT, occ = STRBUF_INIT, detail = STRBUF_INIT;
	sqlite3_stmt *st = NULL;
	char lo[REGION_CODE_MAX + 1], hi[REGION_CODE_MAX + 2], cutoff[16], obj[40];
	struct launch_binds b;
	enum fk_status s;
	bool began = false;

	memset(r, 0, sizeof(*r));
	r->bad_person = SIZE_MAX;
	if (!fk_strlcpy(lo, l->region, sizeof(lo)))
		return fk_fail(err, FK_ENOTFOUND, "no region '%s'", l->region);
	access_scope_upper(lo, hi, sizeof(hi));
	age_cutoff(l->starts_at, l->exempt_under_age, cutoff, sizeof(cutoff));
	strbuf_addch(&occ, '[');
	for (const char *p = l->occupations; *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char one[OCCUPATION_MAX + 1];
		snprintf(one, sizeof(one), "%.*s", (int)n, p);
		if (occ.len > 1)
			strbuf_addch(&occ, ',');
		strbuf_add_json_str(&occ, one);
		p = e ? e + 1 : p + n;
	}
	strbuf_addch(&occ, ']');

	if ((s = store_begin(w, err)))
		goto out;
	began = true;
	if (!(st = store_prepare(w, "SELECT 1 FROM regions WHERE code = ?1", err))) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_text(st, 1, l->region, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_ROW) {
		s = rc == SQLITE_DONE ? fk_fail(err, FK_ENOTFOUND, "no region '%s'", l->region)
				      : fk_fail(err, FK_EDB, "cannot read regions: %s",
						sqlite3_errmsg(w));
		goto out;
	}
	int64_t max_id = store_query_int(w, "SELECT coalesce(max(id), 0) FROM persons", 0);
	if (!(st = store_prepare(w,
				 "INSERT INTO campaigns(name, kind, region_code, starts_at, deadline,"
				 " pool_size, population_max_id, exempt_under_age, occupations,"
				 " created_at, created_by, policy_version)"
				 " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
				 err))) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_text(st, 1, l->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, l->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, l->region, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, l->starts_at);
	sqlite3_bind_int64(st, 5, l->deadline);
	sqlite3_bind_int(st, 6, l->pool_size);
	sqlite3_bind_int64(st, 7, max_id);
	sqlite3_bind_int(st, 8, l->exempt_under_age);
	sqlite3_bind_text(st, 9, l->occupations, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, now);
	sqlite3_bind_text(st, 11, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, l->policy_version ? l->policy_version : "", -1,
			  SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "cannot store the campaign: %s", sqlite3_errmsg(w));
		goto out;
	}
	r->id = sqlite3_last_insert_rowid(w);
	sqlite3_finalize(st);
	st = NULL;
	b = (struct launch_binds){r->id, max_id, l->starts_at, lo, hi, occ.buf, cutoff};

	if (!strcmp(l->kind, "targeted") && (s = launch_targets(w, l, r->id, lo, hi, r, err)))
		goto out;
	if (l->exempt_under_age > 0) {
		strbuf_addstr(&q, "INSERT INTO campaign_exempt(campaign_id, person_id, reason)"
				  " SELECT ?1, p.id, 'age' FROM persons p WHERE");
		population_where(&q, l->kind);
		strbuf_addstr(&q, " AND p.birth_date > ?6");
		if ((s = launch_exec(w, q.buf, &b, &r->exempt_age, err)))
			goto out;
	}
	strbuf_reset(&q);
	strbuf_addstr(&q, "INSERT OR IGNORE INTO campaign_exempt(campaign_id, person_id, reason)"
			  " SELECT DISTINCT ?1, p.id, 'isolation' FROM orders o"
			  " JOIN persons p ON p.id = o.person_id"
			  " WHERE o.kind IN ('central', 'home_isolation')"
			  " AND o.status IN ('active', 'completed') AND o.start_at <= ?7"
			  " AND coalesce(o.ended_at, o.planned_end) > ?7 AND");
	population_where(&q, l->kind);
	if ((s = launch_exec(w, q.buf, &b, &r->exempt_isolation, err)))
		goto out;
	/* every grid of the area, with its population less its exempt */
	strbuf_reset(&q);
	strbuf_addstr(&q, "INSERT INTO campaign_grids(campaign_id, grid_code, expected, exempt)"
			  " SELECT ?1, r.code, coalesce(n.c, 0) - coalesce(x.c, 0), coalesce(x.c, 0)"
			  " FROM regions r"
			  " LEFT JOIN (SELECT p.grid_code AS g, count(*) AS c FROM persons p WHERE");
	population_where(&q, l->kind);
	strbuf_addstr(&q, " GROUP BY p.grid_code) n ON n.g = r.code"
			  " LEFT JOIN (SELECT p.grid_code AS g, count(*) AS c FROM campaign_exempt e"
			  "  JOIN persons p ON p.id = e.person_id WHERE e.campaign_id = ?1"
			  "  GROUP BY p.grid_code) x ON x.g = r.code"
			  " WHERE r.level = 6 AND r.code >= ?2 AND r.code < ?3");
	if ((s = launch_exec(w, q.buf, &b, NULL, err)))
		goto out;
	if (!(st = store_prepare(w,
				 "SELECT coalesce(sum(expected + exempt), 0) FROM campaign_grids"
				 " WHERE campaign_id = ?1",
				 err))) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, r->id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		s = fk_fail(err, FK_EDB, "cannot count the population: %s", sqlite3_errmsg(w));
		goto out;
	}
	r->population = col64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	snprintf(obj, sizeof(obj), "campaign:%" PRId64, r->id);
	strbuf_addf(&detail,
		    "kind %s region %s population %" PRId64 " expected %" PRId64
		    " exempt %" PRId64 " (age %" PRId64 ", isolation %" PRId64 ")",
		    l->kind, l->region, r->population,
		    r->population - r->exempt_age - r->exempt_isolation,
		    r->exempt_age + r->exempt_isolation, r->exempt_age, r->exempt_isolation);
	if ((s = audit_append(w, actor, "campaign.create", obj, detail.buf, origin, err)))
		goto out;
	s = store_commit(w, err);
out:
	sqlite3_finalize(st);
	if (s && began)
		store_rollback(w);
	strbuf_release(&q);
	strbuf_release(&occ);
	strbuf_release(&detail);
	return s;
}

/* ---- campaign JSON ---- */

#define CAMPAIGN_SELECT                                                                         \
	"SELECT c.id, c.name, c.kind, c.region_code, coalesce(r.name, ''), c.starts_at,"        \
	" c.deadline, c.pool_size, c.status, c.occupations, c.created_at, c.created_by,"        \
	" c.policy_version, coalesce(sum(g.expected), 0), coalesce(sum(g.exempt), 0),"          \
	" coalesce(sum(g.sampled), 0), coalesce(sum(g.resulted), 0),"                           \
	" coalesce(sum(g.positive), 0), coalesce(sum(g.expected - g.sampled_expected), 0)"      \
	" FROM campaigns c LEFT JOIN regions r ON r.code = c.region_code"                       \
	" LEFT JOIN campaign_grids g ON g.campaign_id = c.id "

enum {
	CC_ID, CC_NAME, CC_KIND, CC_REGION, CC_REGION_NAME, CC_STARTS, CC_DEADLINE, CC_POOL,
	CC_STATUS, CC_OCCUPATIONS, CC_CREATED_AT, CC_CREATED_BY, CC_POLICY, CC_EXPECTED,
	CC_EXEMPT, CC_SAMPLED, CC_RESULTED, CC_POSITIVE, CC_MISSING,
};

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

static void time_json(struct strbuf *o, const char *key, int64_t t)
{
	char ts[32];
	strbuf_addf(o, ",\"%s\":\"%s\"", key, fk_format_time(t, ts, sizeof(ts)));
}

/* The campaign JSON of a CAMPAIGN_SELECT row. */
static void campaign_row_json(struct strbuf *o, sqlite3_stmt *st)
{
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"name\":", col64(st, CC_ID));
	strbuf_add_json_str(o, col(st, CC_NAME));
	strbuf_addstr(o, ",\"kind\":");
	strbuf_add_json_str(o, col(st, CC_KIND));
	strbuf_addstr(o, ",\"region\":{\"code\":");
	strbuf_add_json_str(o, col(st, CC_REGION));
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, col(st, CC_REGION_NAME));
	strbuf_addch(o, '}');
	time_json(o, "starts_at", col64(st, CC_STARTS));
	time_json(o, "deadline", col64(st, CC_DEADLINE));
	strbuf_addf(o, ",\"pool_size\":%d,\"status\":", sqlite3_column_int(st, CC_POOL));
	strbuf_add_json_str(o, col(st, CC_STATUS));
	strbuf_addstr(o, ",\"occupations\":[");
	const char *occ = col(st, CC_OCCUPATIONS);
	for (const char *p = occ; *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char one[OCCUPATION_MAX + 1];
		snprintf(one, sizeof(one), "%.*s", (int)n, p);
		if (p != occ)
			strbuf_addch(o, ',');
		strbuf_add_json_str(o, one);
		p = e ? e + 1 : p + n;
	}
	strbuf_addf(o,
		    "],\"expected\":%" PRId64 ",\"exempt\":%" PRId64 ",\"sampled\":%" PRId64
		    ",\"resulted\":%" PRId64 ",\"positive\":%" PRId64 ",\"missing\":%" PRId64,
		    col64(st, CC_EXPECTED), col64(st, CC_EXEMPT),
		    col64(st, CC_SAMPLED), col64(st, CC_RESULTED),
		    col64(st, CC_POSITIVE), col64(st, CC_MISSING));
	time_json(o, "created_at", col64(st, CC_CREATED_AT));
	strbuf_addstr(o, ",\"created_by\":");
	strbuf_add_json_str(o, col(st, CC_CREATED_BY));
	strbuf_addstr(o, ",\"policy_version\":");
	strbuf_add_json_str(o, col(st, CC_POLICY));
	strbuf_addch(o, '}');
}

static const char *const CAMPAIGN_ONE_SQL = CAMPAIGN_SELECT "WHERE c.id = ?1 GROUP BY c.id";

enum fk_status campaign_json(struct strbuf *o, sqlite3 *db, int64_t id, char *region,
			     size_t region_size, struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(db, CAMPAIGN_ONE_SQL, err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	enum fk_status s = FK_OK;
	if (rc == SQLITE_ROW) {
		campaign_row_json(o, st);
		if (region)
			fk_strlcpy(region, col(st, CC_REGION), region_size);
	} else if (rc == SQLITE_DONE) {
		s = fk_fail(err, FK_ENOTFOUND, "no campaign %" PRId64, id);
	} else {
		s = fk_fail(err, FK_EDB, "cannot read campaign %" PRId64 ": %s", id,
			    sqlite3_errmsg(db));
	}
	sqlite3_finalize(st);
	return s;
}

/* Closes campaign id (nothing when already closed).  *closed_now tells
 * whether this call closed it.  FK_ENOTFOUND, FK_EDB. */
static enum fk_status campaign_close_run(sqlite3 *w, int64_t id, const char *actor,
					 const char *origin, int64_t now, bool *closed_now,
					 struct fk_err *err)
{
	sqlite3_stmt *st = NULL;
	char obj[40];
	enum fk_status s = store_begin(w, err);
	*closed_now = false;
	if (s)
		return s;
	if (!(st = store_prepare(w,
				 "UPDATE campaigns SET status = 'closed', closed_at = ?2"
				 " WHERE id = ?1 AND status = 'open'",
				 err))) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "cannot close campaign %" PRId64 ": %s", id,
			    sqlite3_errmsg(w));
		goto out;
	}
	*closed_now = sqlite3_changes(w) > 0;
	if (!*closed_now) {
		/* already closed, or no such campaign */
		sqlite3_finalize(st);
		if (!(st = store_prepare(w, "SELECT 1 FROM campaigns WHERE id = ?1", err))) {
			s = FK_EDB;
			goto out;
		}
		sqlite3_bind_int64(st, 1, id);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			s = fk_fail(err, FK_ENOTFOUND, "no campaign %" PRId64, id);
		else if (rc != SQLITE_ROW)
			s = fk_fail(err, FK_EDB, "cannot read campaigns: %s", sqlite3_errmsg(w));
		goto out;
	}
	snprintf(obj, sizeof(obj), "campaign:%" PRId64, id);
	if ((s = audit_append(w, actor, "campaign.close", obj, "", origin, err)))
		goto out;
	s = store_commit(w, err);
out:
	sqlite3_finalize(st);
	if (s || !*closed_now)
		store_rollback(w);
	return s;
}

/* ---- sites ---- */

struct site_in {
	const char *code, *name, *region;
	int capacity, opens, closes; /* minutes after local midnight */
};

/* "HH:MM" in 00:00..24:00 -> minutes. */
static bool hhmm_parse(const char *s, int *out)
{
	if (strlen(s) != 5 || s[2] != ':' || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[3]) ||
	    !isdigit((unsigned char)s[4]))
		return false;
	int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 24 || m > 59 || h * 60 + m > 1440)
		return false;
	*out = h * 60 + m;
	return true;
}

#define SITE_SELECT                                                                             \
	"SELECT s.id, s.code, s.name, s.region_code, coalesce(r.name, ''), s.capacity_per_hour,"\
	" s.opens, s.closes FROM sites s LEFT JOIN regions r ON r.code = s.region_code "

static void site_json(struct strbuf *o, sqlite3_stmt *st)
{
	int opens = sqlite3_column_int(st, 6), closes = sqlite3_column_int(st, 7);
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"code\":", col64(st, 0));
	strbuf_add_json_str(o, col(st, 1));
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, col(st, 2));
	strbuf_addstr(o, ",\"region\":{\"code\":");
	strbuf_add_json_str(o, col(st, 3));
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, col(st, 4));
	strbuf_addf(o,
		    "},\"capacity_per_hour\":%d,\"opens\":\"%02d:%02d\",\"closes\":\"%02d:%02d\"}",
		    sqlite3_column_int(st, 5), opens / 60, opens % 60, closes / 60, closes % 60);
}

/* Binds in's code, name, region, capacity, opens and closes to ?1..?6:
 * the comparison and the insert must read the same six values. */
static void site_bind(sqlite3_stmt *st, const struct site_in *in)
{
	sqlite3_bind_text(st, 1, in->code, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, in->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, in->region, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, in->capacity);
	sqlite3_bind_int(st, 5, in->opens);
	sqlite3_bind_int(st, 6, in->closes);
}

/* Adds site in (or finds it unchanged) on the writer w, and writes its
 * JSON to o.  *created: a new row.  FK_ENOTFOUND when the region does not
 * exist; FK_ECONFLICT when the code is taken with other values; FK_EDB. */
static enum fk_status site_put(sqlite3 *w, const struct site_in *in, const char *actor,
			       const char *origin, int64_t now, bool *created, struct strbuf *o,
			       struct fk_err *err)
{
	sqlite3_stmt *st = NULL;
	char obj[SITE_CODE_MAX + 8];
	enum fk_status s = store_begin(w, err);
	int rc;
	*created = false;
	if (s)
		return s;
	if (!(st = store_prepare(w, "SELECT 1 FROM regions WHERE code = ?1", err))) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_text(st, 1, in->region, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		s = rc == SQLITE_DONE ? fk_fail(err, FK_ENOTFOUND, "no region '%s'", in->region)
				      : fk_fail(err, FK_EDB, "cannot read regions: %s",
						sqlite3_errmsg(w));
		goto out;
	}
	sqlite3_finalize(st);
	if (!(st = store_prepare(w,
				 "SELECT name = ?2 AND region_code = ?3 AND capacity_per_hour = ?4"
				 " AND opens = ?5 AND closes = ?6 FROM sites WHERE code = ?1",
				 err))) {
		s = FK_EDB;
		goto out;
	}
	site_bind(st, in);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (!sqlite3_column_int(st, 0)) {
			s = fk_fail(err, FK_ECONFLICT,
				    "site '%s' exists with other values (name, region, capacity or"
				    " hours)",
				    in->code);
			goto out;
		}
		goto read;
	}
	if (rc != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "cannot read sites: %s", sqlite3_errmsg(w));
		goto out;
	}
	sqlite3_finalize(st);
	if (!(st = store_prepare(w,
				 "INSERT INTO sites(code, name, region_code, capacity_per_hour, opens,"
				 " closes, created_at, created_by) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
				 err))) {
		s = FK_EDB;
		goto out;
	}
	site_bind(st, in);
	sqlite3_bind_int64(st, 7, now);
	sqlite3_bind_text(st, 8, actor, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "cannot store site '%s': %s", in->code, sqlite3_errmsg(w));
		goto out;
	}
	*created = true;
	snprintf(obj, sizeof(obj), "site:%s", in->code);
	if ((s = audit_append(w, actor, "site.create", obj, in->region, origin, err)))
		goto out;
read:
	sqlite3_finalize(st);
	if (!(st = store_prepare(w, SITE_SELECT "WHERE s.code = ?1", err))) {
		s = FK_EDB;
		goto out;
	}
	sqlite3_bind_text(st, 1, in->code, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		s = fk_fail(err, FK_EDB, "cannot read site '%s': %s", in->code, sqlite3_errmsg(w));
		goto out;
	}
	site_json(o, st);
	if (*created)
		s = store_commit(w, err);
out:
	sqlite3_finalize(st);
	if (s || !*created)
		store_rollback(w);
	return s;
}

/* ---- HTTP ---- */

/* The area overlaps the scope: one holds the other. */
static bool area_visible(const char *scope, const char *area)
{
	return access_scope_contains(scope, area) || fk_starts_with(scope, area);
}

/* ?1.. as in the list: the area overlaps the text bound at n. */
#define OVERLAPS(n)                                                                             \
	"((c.region_code >= ?" n " AND c.region_code < ?" n " || ':')"                         \
	" OR substr(?" n ", 1, length(c.region_code)) = c.region_code)"

static bool body_time(struct http_req *req, json_t *o, const char *key, int64_t *out,
		      bool *given)
{
	const char *s;
	*given = false;
	if (!http_member_str(req, o, key, &s))
		return false;
	if (s && !fk_parse_time(s, out)) {
		http_error(req, 400, NULL,
			   "'%s' is not an ISO 8601 time with offset (2022-01-10T08:30:00+08:00)",
			   key);
		return false;
	}
	*given = s != NULL;
	return true;
}

static bool body_required(struct http_req *req, const char *key, const char *v)
{
	if (v && *v)
		return true;
	http_error(req, 400, NULL, "'%s' is required", key);
	return false;
}

/* The region of a request: in the user's scope, else 404 (an unknown
 * region answers the same). */
static bool region_in_scope(struct http_req *req, const char *region)
{
	if (testing_region_valid(region) && access_scope_contains(req->user->scope, region))
		return true;
	http_error(req, 404, NULL, "no region '%s' in your scope", region);
	return false;
}

/* The optional ?region= of a list: empty or a region code; false after
 * answering 400. */
static bool query_region_ok(struct http_req *req, const char *region)
{
	if (!region || !*region || testing_region_valid(region))
		return true;
	http_error(req, 400, NULL, "region must be a region code, not '%s'", region);
	return false;
}

static void campaign_post(struct http_req *req)
{
	json_t *o = NULL, *v;
	const char *name, *kind, *region;
	const char **persons = NULL;
	struct launch l;
	struct launch_result r;
	struct strbuf out = STRBUF_INIT;
	struct fk_err err;
	int64_t pool = 10;
	bool given, starts_given, deadline_given;
	const struct policy *pol = policy_current();

	memset(&l, 0, sizeof(l));
	if (!(o = http_body_object(req)))
		goto done;
	if (!http_member_str(req, o, "name", &name) || !http_member_str(req, o, "kind", &kind) ||
	    !http_member_str(req, o, "region", &region) ||
	    !body_time(req, o, "starts_at", &l.starts_at, &starts_given) ||
	    !body_time(req, o, "deadline", &l.deadline, &deadline_given) ||
	    !http_member_int(req, o, "pool_size", 1, 20, &pool, &given))
		goto done;
	if (!body_required(req, "name", name) || !body_required(req, "kind", kind) ||
	    !body_required(req, "region", region))
		goto done;
	if (!name_valid(name, CAMPAIGN_NAME_MAX)) {
		http_error(req, 400, NULL,
			   "'name' must be 1 to %d characters without control characters",
			   CAMPAIGN_NAME_MAX);
		goto done;
	}
	if (!kind_label(kind)) {
		http_error(req, 400, NULL,
			   "'kind' must be whole, core, designated, periodic or targeted");
		goto done;
	}
	if (!pool_valid(pool)) {
		http_error(req, 400, NULL, "'pool_size' must be 1, 5, 10 or 20");
		goto done;
	}
	if (!pol) {
		http_error(req, 503, NULL, "no policy in force");
		goto done;
	}
	if (!starts_given)
		l.starts_at = fk_now();
	if (!deadline_given)
		l.deadline = default_deadline(pol, kind, l.starts_at);
	if (l.deadline <= l.starts_at) {
		http_error(req, 400, NULL, "'deadline' must be after 'starts_at'");
		goto done;
	}
	v = json_object_get(o, "occupations");
	if (v && !json_is_null(v)) {
		size_t i;
		json_t *e;
		if (strcmp(kind, "periodic")) {
			http_error(req, 400, NULL, "'occupations' is for periodic campaigns only");
			goto done;
		}
		if (!json_is_array(v) || !json_array_size(v)) {
			http_error(req, 400, NULL, "'occupations' must be a non-empty array of names");
			goto done;
		}
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) ||
			    !occupation_add(l.occupations, sizeof(l.occupations), json_string_value(e))) {
				http_error(req, 400, NULL,
					   "'occupations[%zu]' must be a name of 1 to %d letters, digits,"
					   " _ or - (%d bytes for the whole list)",
					   i, OCCUPATION_MAX, OCCUPATIONS_MAX);
				goto done;
			}
		}
	} else if (!strcmp(kind, "periodic")) {
		policy_occupations(pol, l.occupations, sizeof(l.occupations));
	}
	v = json_object_get(o, "persons");
	if (v && !json_is_null(v)) {
		size_t i;
		json_t *e;
		if (strcmp(kind, "targeted")) {
			http_error(req, 400, NULL, "'persons' is for targeted campaigns only");
			goto done;
		}
		if (!json_is_array(v)) {
			http_error(req, 400, NULL, "'persons' must be an array of ID numbers");
			goto done;
		}
		if (json_array_size(v) > TARGETS_MAX) {
			http_error(req, 400, NULL, "'persons' holds more than %d ID numbers",
				   TARGETS_MAX);
			goto done;
		}
		persons = fk_xcalloc(json_array_size(v) + 1, sizeof(*persons));
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) || json_string_length(e) < 1 ||
			    json_string_length(e) > 32 ||
			    strlen(json_string_value(e)) != json_string_length(e)) {
				http_error(req, 400, NULL, "'persons[%zu]' must be an ID number", i);
				goto done;
			}
			persons[i] = json_string_value(e);
		}
		l.persons = persons;
		l.npersons = json_array_size(v);
	}
	if (!strcmp(kind, "targeted") && !l.npersons) {
		http_error(req, 400, NULL, "'persons' is required for a targeted campaign");
		goto done;
	}
	if (!region_in_scope(req, region))
		goto done;
	l.name = name;
	l.kind = kind;
	l.region = region;
	l.pool_size = (int)pool;
	l.exempt_under_age = pol->exempt_under_age_years;
	l.policy_version = pol->version;

	sqlite3 *w = store_writer_lock();
	enum fk_status s = w ? launch_run(w, &l, req->user->username, req->origin, fk_now(), &r,
					  &err)
			     : fk_fail(&err, FK_EDB, "database unavailable");
	if (!s)
		s = campaign_json(&out, w, r.id, NULL, 0, &err);
	store_writer_unlock();
	if (s == FK_ENOTFOUND) {
		http_error(req, 404, NULL, "no region '%s' in your scope", region);
	} else if (s == FK_EINVAL && r.bad_person < l.npersons) {
		char idm[40];
		mask_id_number(l.persons[r.bad_person], idm, sizeof(idm));
		http_error(req, 400, NULL, "'persons[%zu]': no person with ID number '%s' in '%s'",
			   r.bad_person, idm, region);
	} else if (s) {
		http_fail(req, s, &err);
	} else {
		http_json(req, 201, out.buf);
	}
done:
	free(persons);
	strbuf_release(&out);
	json_decref(o);
}

/* The {id} of the path; false after answering 404. */
static bool path_id(struct http_req *req, int64_t *id)
{
	if (fk_parse_i64(req->params[0], 1, INT64_MAX, id))
		return true;
	http_error(req, 404, NULL, "no campaign '%s'", req->params[0]);
	return false;
}

static const char *const CAMPAIGN_LIST_SQL =
	CAMPAIGN_SELECT "WHERE c.id < ?1 AND (?2 IS NULL OR c.status = ?2) AND " OVERLAPS("3")
			" AND (?4 IS NULL OR " OVERLAPS("4") ") GROUP BY c.id ORDER BY c.id DESC"
			" LIMIT ?5";

static void campaigns_list(struct http_req *req)
{
	const char *status = http_query(req, "status"), *region = http_query(req, "region");
	char after[KEY_MAX], last[KEY_MAX] = "";
	struct strbuf o = STRBUF_INIT, ids = STRBUF_INIT;
	struct fk_err err;
	sqlite3_stmt *st = NULL;
	int64_t before = INT64_MAX;
	int limit, n = 0, rc;

	if (!http_reader(req) || !http_page_params(req, &limit, after, sizeof(after)))
		return;
	if (after[0] && !fk_parse_i64(after, 1, INT64_MAX, &before)) {
		http_error(req, 400, NULL, "cursor is not valid");
		return;
	}
	if (status && *status && strcmp(status, "open") && strcmp(status, "closed")) {
		http_error(req, 400, NULL, "status must be open or closed");
		return;
	}
	if (!query_region_ok(req, region))
		return;
	if (!(st = store_reader_stmt(CAMPAIGN_LIST_SQL, &err))) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	sqlite3_bind_int64(st, 1, before);
	if (status && *status)
		sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, req->user->scope, -1, SQLITE_STATIC);
	if (region && *region)
		sqlite3_bind_text(st, 4, region, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, limit + 1);
	strbuf_addstr(&o, "{\"items\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit)
			break;
		if (n++)
			strbuf_addch(&o, ',');
		campaign_row_json(&o, st);
		int64_t id = col64(st, CC_ID);
		strbuf_addf(&ids, "%s%" PRId64, ids.len ? "," : "", id);
		snprintf(last, sizeof(last), "%" PRId64, id);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		fk_fail(&err, FK_EDB, "campaigns: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	http_page_finish(req, &o, rc == SQLITE_ROW, last, "campaign.list", "campaigns", n, ids.buf);
done:
	store_stmt_done(st);
	strbuf_release(&o);
	strbuf_release(&ids);
}

/* Reads the path's campaign visible to the user into *o; false after
 * answering (404 when missing or not visible). */
static bool visible_campaign(struct http_req *req, int64_t *id, struct strbuf *o, char *area,
			     size_t area_size)
{
	struct fk_err err;
	sqlite3 *db;
	if (!path_id(req, id) || !(db = http_reader(req)))
		return false;
	enum fk_status s = campaign_json(o, db, *id, area, area_size, &err);
	if (s == FK_ENOTFOUND || (!s && !area_visible(req->user->scope, area))) {
		http_error(req, 404, NULL, "no campaign %" PRId64 " in your scope", *id);
		return false;
	}
	if (s) {
		http_fail(req, s, &err);
		return false;
	}
	return true;
}

static void campaign_get_one(struct http_req *req)
{
	struct strbuf o = STRBUF_INIT;
	char area[REGION_CODE_MAX + 1], obj[40];
	int64_t id;
	if (visible_campaign(req, &id, &o, area, sizeof(area))) {
		http_json(req, 200, o.buf);
		snprintf(obj, sizeof(obj), "campaign:%" PRId64, id);
		http_audit(req, "campaign.read", obj, "aggregates");
	}
	strbuf_release(&o);
}

static void campaign_close(struct http_req *req)
{
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	char area[REGION_CODE_MAX + 1];
	int64_t id;
	bool closed_now;
	if (!visible_campaign(req, &id, &o, area, sizeof(area)))
		goto done;
	if (!access_scope_contains(req->user->scope, area)) {
		http_error(req, 403, NULL, "campaign %" PRId64 " covers '%s', wider than your scope",
			   id, area);
		goto done;
	}
	strbuf_reset(&o);
	sqlite3 *w = store_writer_lock();
	enum fk_status s = w ? campaign_close_run(w, id, req->user->username, req->origin,
						  fk_now(), &closed_now, &err)
			     : fk_fail(&err, FK_EDB, "database unavailable");
	if (!s)
		s = campaign_json(&o, w, id, NULL, 0, &err);
	store_writer_unlock();
	if (s)
		http_fail(req, s, &err);
	else
		http_json(req, 200, o.buf);
done:
	strbuf_release(&o);
}

static void site_post(struct http_req *req)
{
	json_t *o = NULL;
	const char *opens = NULL, *closes = NULL;
	struct site_in in;
	struct strbuf out = STRBUF_INIT;
	struct fk_err err;
	int64_t cap = 0;
	bool given, created = false;

	memset(&in, 0, sizeof(in));
	if (!(o = http_body_object(req)))
		goto done;
	if (!http_member_str(req, o, "code", &in.code) || !http_member_str(req, o, "name", &in.name) ||
	    !http_member_str(req, o, "region", &in.region) ||
	    !http_member_str(req, o, "opens", &opens) || !http_member_str(req, o, "closes", &closes) ||
	    !http_member_int(req, o, "capacity_per_hour", 1, SITE_CAPACITY_MAX, &cap, &given))
		goto done;
	if (!body_required(req, "code", in.code) || !body_required(req, "name", in.name) ||
	    !body_required(req, "region", in.region))
		goto done;
	if (!given) {
		http_error(req, 400, NULL, "'capacity_per_hour' is required");
		goto done;
	}
	if (!testing_code_valid(in.code, SITE_CODE_MAX)) {
		http_error(req, 400, NULL, "'code' must be 1 to %d letters, digits, _ or -",
			   SITE_CODE_MAX);
		goto done;
	}
	if (!name_valid(in.name, SITE_NAME_MAX)) {
		http_error(req, 400, NULL,
			   "'name' must be 1 to %d characters without control characters",
			   SITE_NAME_MAX);
		goto done;
	}
	in.opens = 420;
	in.closes = 1320;
	if (opens && !hhmm_parse(opens, &in.opens)) {
		http_error(req, 400, NULL, "'opens' must be HH:MM from 00:00 to 24:00");
		goto done;
	}
	if (closes && !hhmm_parse(closes, &in.closes)) {
		http_error(req, 400, NULL, "'closes' must be HH:MM from 00:00 to 24:00");
		goto done;
	}
	if (in.closes <= in.opens) {
		http_error(req, 400, NULL, "'closes' must be after 'opens'");
		goto done;
	}
	in.capacity = (int)cap;
	if (!region_in_scope(req, in.region))
		goto done;
	sqlite3 *w = store_writer_lock();
	enum fk_status s = w ? site_put(w, &in, req->user->username, req->origin, fk_now(),
					&created, &out, &err)
			     : fk_fail(&err, FK_EDB, "database unavailable");
	store_writer_unlock();
	if (s == FK_ENOTFOUND)
		http_error(req, 404, NULL, "no region '%s' in your scope", in.region);
	else if (s == FK_ECONFLICT)
		http_error(req, 409, "site_exists", "%s", err.msg);
	else if (s)
		http_fail(req, s, &err);
	else
		http_json(req, created ? 201 : 200, out.buf);
done:
	strbuf_release(&out);
	json_decref(o);
}

static const char *const SITE_LIST_SQL =
	SITE_SELECT "WHERE s.code > ?1 AND ((s.region_code >= ?2 AND s.region_code < ?2 || ':')"
		    " OR substr(?2, 1, length(s.region_code)) = s.region_code)"
		    " AND (?3 IS NULL OR (s.region_code >= ?3 AND s.region_code < ?3 || ':')"
		    " OR substr(?3, 1, length(s.region_code)) = s.region_code)"
		    " ORDER BY s.code LIMIT ?4";

static void sites_list(struct http_req *req)
{
	const char *region = http_query(req, "region");
	char after[KEY_MAX], last[KEY_MAX] = "";
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	sqlite3_stmt *st = NULL;
	int limit, n = 0, rc;

	if (!(role_perms(req->user->role) & (PERM_READ_TESTING | PERM_SAMPLE))) {
		http_error(req, 403, NULL, "your role may not read sampling sites");
		return;
	}
	if (!http_reader(req) || !http_page_params(req, &limit, after, sizeof(after)))
		return;
	if (!query_region_ok(req, region))
		return;
	if (!(st = store_reader_stmt(SITE_LIST_SQL, &err))) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	sqlite3_bind_text(st, 1, after, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->user->scope, -1, SQLITE_STATIC);
	if (region && *region)
		sqlite3_bind_text(st, 3, region, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, limit + 1);
	strbuf_addstr(&o, "{\"items\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit)
			break;
		if (n++)
			strbuf_addch(&o, ',');
		site_json(&o, st);
		fk_strlcpy(last, col(st, 1), sizeof(last));
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		fk_fail(&err, FK_EDB, "sites: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	/* sites hold no personal data: not audited */
	http_page_close(&o, rc == SQLITE_ROW, last);
	http_json(req, 200, o.buf);
done:
	store_stmt_done(st);
	strbuf_release(&o);
}

const struct http_route campaign_routes[] = {
	{"POST", "/api/v1/campaigns", campaign_post, ROUTE_JSON_BODY, PERM_MANAGE_TESTING,
	 CAMPAIGN_BODY_MAX},
	{"GET", "/api/v1/campaigns", campaigns_list, 0, PERM_READ_TESTING, 0},
	{"GET", "/api/v1/campaigns/{id}", campaign_get_one, 0, PERM_READ_TESTING, 0},
	{"POST", "/api/v1/campaigns/{id}/close", campaign_close, 0, PERM_MANAGE_TESTING, 0},
	{"POST", "/api/v1/sites", site_post, ROUTE_JSON_BODY, PERM_MANAGE_TESTING, SITE_BODY_MAX},
	{"GET", "/api/v1/sites", sites_list, 0, 0, 0},
};
const size_t campaign_routes_len = FK_ARRAY_LEN(campaign_routes);

/* ---- CLI ---- */

static void campaign_usage(FILE *f)
{
	fputs("usage: fangkong campaign create --region CODE --kind KIND [--name NAME]\n"
	      "                                [--starts T] [--deadline T] [--pool N]\n"
	      "                                [--occupations a,b] [--persons FILE]\n"
	      "                                [--policy FILE|NAME] [--db FILE] [--json]\n"
	      "       fangkong campaign list [--db FILE] [--json]\n"
	      "       fangkong campaign show ID [--db FILE] [--json]\n"
	      "       fangkong campaign close ID [--db FILE]\n"
	      "       fangkong campaign site --code C --name N --region CODE --capacity N\n"
	      "                              [--opens HH:MM] [--closes HH:MM] [--db FILE]\n"
	      "\n"
	      "create launches a nucleic-acid testing campaign over the region's subtree\n"
	      "(any region, down to one grid) and freezes its expected population: the\n"
	      "persons living there now (periodic: with one of the occupations; targeted:\n"
	      "those listed in --persons, one ID number a line), less infants under the\n"
	      "policy's exempt_under_age_years at the start and persons under central or\n"
	      "home isolation then.  KIND is whole, core, designated, periodic or\n"
	      "targeted.  T is ISO 8601 with an offset (2022-01-10T08:00:00+08:00); the\n"
	      "start defaults to now, the deadline to the policy's (whole, periodic and\n"
	      "targeted: campaign_whole_days; core: campaign_core_days; designated:\n"
	      "campaign_designated_hours).  --pool is 1, 5, 10 (default) or 20.  The\n"
	      "policy is the one the database runs under unless --policy names another.\n"
	      "create prints the id and the expected and exempt totals.\n"
	      "\n"
	      "list and show print campaigns with their counts (sums over their grids);\n"
	      "close stops a campaign taking samples (its tubes still take results).\n"
	      "site adds a sampling site (opening hours default 07:00-22:00); the same\n"
	      "site again changes nothing, the same code with other values is refused.\n"
	      "\n"
	      "Exit status: 0 done, 2 bad usage or input, 1 other failure.\n",
	      f);
}

static bool cli_time(const char *flag, const char *s, int64_t *out)
{
	if (fk_parse_time(s, out))
		return true;
	fprintf(stderr,
		"fangkong campaign: %s '%s' is not a time (ISO 8601 with offset, e.g."
		" 2022-01-10T08:00:00+08:00)\n",
		flag, s);
	return false;
}

static bool cli_open(const char *dbflag, sqlite3 **db)
{
	struct fk_err err;
	if (store_open(store_default_path(dbflag), STORE_MIGRATE, db, &err)) {
		fprintf(stderr, "fangkong campaign: %s\n", err.msg);
		return false;
	}
	return true;
}

/* The ID numbers of a --persons file: one a line, blank lines skipped,
 * surrounding blanks and a UTF-8 BOM dropped.  *lines receives each one's
 * line number.  Returns 0, 1 (cannot read) or 2 (bad file). */
static int read_persons(const char *path, char ***out, size_t **lines, size_t *n)
{
	FILE *f = fopen(path, "r");
	char buf[256];
	size_t cap = 0, line = 0;
	int rc = 0;
	*out = NULL;
	*lines = NULL;
	*n = 0;
	if (!f) {
		fprintf(stderr, "fangkong campaign create: cannot read --persons '%s'\n", path);
		return 1;
	}
	while (fgets(buf, sizeof(buf), f)) {
		line++;
		size_t len = strlen(buf);
		if (len == sizeof(buf) - 1 && buf[len - 1] != '\n') {
			fprintf(stderr, "fangkong campaign create: --persons '%s' line %zu is too long\n",
				path, line);
			rc = 2;
			break;
		}
		char *s = buf;
		if (line == 1 && !memcmp(s, "\xEF\xBB\xBF", 3))
			s += 3;
		while (*s == ' ' || *s == '\t')
			s++;
		len = strlen(s);
		while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' ||
			       s[len - 1] == '\t'))
			s[--len] = '\0';
		if (!len)
			continue;
		if (*n == TARGETS_MAX) {
			fprintf(stderr,
				"fangkong campaign create: --persons '%s' holds more than %d ID"
				" numbers\n",
				path, TARGETS_MAX);
			rc = 2;
			break;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 256;
			*out = fk_xrealloc(*out, cap * sizeof(**out));
			*lines = fk_xrealloc(*lines, cap * sizeof(**lines));
		}
		(*lines)[*n] = line;
		(*out)[(*n)++] = fk_xstrdup(s);
	}
	if (!rc && ferror(f)) {
		fprintf(stderr, "fangkong campaign create: cannot read --persons '%s'\n", path);
		rc = 1;
	}
	fclose(f);
	if (!rc && !*n) {
		fprintf(stderr, "fangkong campaign create: --persons '%s' lists nobody\n", path);
		rc = 2;
	}
	return rc;
}

static void print_campaign_text(sqlite3_stmt *st)
{
	char a[32], b[32];
	printf("campaign %" PRId64 ": %s\n", col64(st, CC_ID), col(st, CC_NAME));
	printf("  kind      %s (%s)\n", col(st, CC_KIND), kind_label(col(st, CC_KIND)) ?
		kind_label(col(st, CC_KIND)) : "");
	printf("  region    %s %s\n", col(st, CC_REGION), col(st, CC_REGION_NAME));
	printf("  period    %s to %s\n", fk_format_time(col64(st, CC_STARTS), a,
							 sizeof(a)),
	       fk_format_time(col64(st, CC_DEADLINE), b, sizeof(b)));
	printf("  pool      %d\n", sqlite3_column_int(st, CC_POOL));
	printf("  status    %s\n", col(st, CC_STATUS));
	if (*col(st, CC_OCCUPATIONS))
		printf("  occupations %s\n", col(st, CC_OCCUPATIONS));
	printf("  expected  %" PRId64 "\n  exempt    %" PRId64 "\n  sampled   %" PRId64
	       "\n  resulted  %" PRId64 "\n  positive  %" PRId64 "\n  missing   %" PRId64 "\n",
	       col64(st, CC_EXPECTED), col64(st, CC_EXEMPT),
	       col64(st, CC_SAMPLED), col64(st, CC_RESULTED),
	       col64(st, CC_POSITIVE), col64(st, CC_MISSING));
	printf("  created   %s by %s\n", fk_format_time(col64(st, CC_CREATED_AT),
							a, sizeof(a)),
	       col(st, CC_CREATED_BY));
	printf("  policy    %s\n", col(st, CC_POLICY));
}

static int cli_create(int argc, char **argv)
{
	const char *dbflag = NULL, *region = NULL, *kind = NULL, *name = NULL, *policy = NULL;
	const char *occupations = NULL, *persons_path = NULL;
	char **persons = NULL, namebuf[CAMPAIGN_NAME_MAX * 4 + 1], actor[96];
	size_t *lines = NULL, npersons = 0;
	int64_t starts = 0, deadline = 0, pool = 10;
	bool starts_given = false, deadline_given = false, json = false;
	struct policy *pol = NULL;
	struct launch l;
	struct launch_result r;
	struct fk_err err;
	struct strbuf out = STRBUF_INIT;
	sqlite3 *db = NULL;
	int rc = 2, ch;
	static const struct option opts[] = {
		{"region", required_argument, NULL, 'r'},
		{"kind", required_argument, NULL, 'k'},
		{"name", required_argument, NULL, 'n'},
		{"starts", required_argument, NULL, 's'},
		{"deadline", required_argument, NULL, 'e'},
		{"pool", required_argument, NULL, 'p'},
		{"occupations", required_argument, NULL, 'o'},
		{"persons", required_argument, NULL, 'P'},
		{"policy", required_argument, NULL, 'y'},
		{"db", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(&l, 0, sizeof(l));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'r': region = optarg; break;
		case 'k': kind = optarg; break;
		case 'n': name = optarg; break;
		case 's':
			if (!cli_time("--starts", optarg, &starts))
				goto out;
			starts_given = true;
			break;
		case 'e':
			if (!cli_time("--deadline", optarg, &deadline))
				goto out;
			deadline_given = true;
			break;
		case 'p':
			if (!fk_parse_i64(optarg, 1, 20, &pool) || !pool_valid(pool)) {
				fprintf(stderr, "fangkong campaign create: --pool '%s' is not 1, 5, 10"
						" or 20\n",
					optarg);
				goto out;
			}
			break;
		case 'o': occupations = optarg; break;
		case 'P': persons_path = optarg; break;
		case 'y': policy = optarg; break;
		case 'd': dbflag = optarg; break;
		case 'j': json = true; break;
		case 'h': campaign_usage(stdout); rc = 0; goto out;
		default: campaign_usage(stderr); goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fangkong campaign create: unexpected argument '%s'\n", argv[optind]);
		goto out;
	}
	if (!region || !*region) {
		fputs("fangkong campaign create: --region CODE is required\n", stderr);
		goto out;
	}
	if (!kind || !*kind) {
		fputs("fangkong campaign create: --kind is required (whole, core, designated,"
		      " periodic or targeted)\n",
		      stderr);
		goto out;
	}
	if (!kind_label(kind)) {
		fprintf(stderr, "fangkong campaign create: --kind '%s' is not whole, core,"
				" designated, periodic or targeted\n",
			kind);
		goto out;
	}
	if (name && !name_valid(name, CAMPAIGN_NAME_MAX)) {
		fprintf(stderr, "fangkong campaign create: --name must be 1 to %d characters"
				" without control characters\n",
			CAMPAIGN_NAME_MAX);
		goto out;
	}
	if (occupations) {
		if (strcmp(kind, "periodic")) {
			fputs("fangkong campaign create: --occupations is for --kind periodic only\n",
			      stderr);
			goto out;
		}
		char one[OCCUPATIONS_MAX + 2];
		for (const char *p = occupations;;) {
			const char *e = strchr(p, ',');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			if (n >= sizeof(one))
				n = sizeof(one) - 1;
			memcpy(one, p, n);
			one[n] = '\0';
			if (!occupation_add(l.occupations, sizeof(l.occupations), one)) {
				fprintf(stderr,
					"fangkong campaign create: --occupations: '%s' is not an"
					" occupation (1 to %d letters, digits, _ or -; %d bytes in all)\n",
					one, OCCUPATION_MAX, OCCUPATIONS_MAX);
				goto out;
			}
			if (!e)
				break;
			p = e + 1;
		}
	}
	if (persons_path && strcmp(kind, "targeted")) {
		fputs("fangkong campaign create: --persons is for --kind targeted only\n", stderr);
		goto out;
	}
	if (!persons_path && !strcmp(kind, "targeted")) {
		fputs("fangkong campaign create: --kind targeted needs --persons FILE\n", stderr);
		goto out;
	}
	if (persons_path && (rc = read_persons(persons_path, &persons, &lines, &npersons))) 
		goto out;
	rc = 2;
	if (!testing_region_valid(region)) {
		fprintf(stderr, "fangkong campaign create: --region '%s' is not a region code\n",
			region);
		goto out;
	}
	if (sodium_init() < 0) {
		rc = 1;
		goto out;
	}
	rc = 1;
	if (!cli_open(dbflag, &db))
		goto out;
	if (hc_policy_select(db, policy, &pol, NULL, &err)) {
		fprintf(stderr, "fangkong campaign create: %s\n", err.msg);
		goto out;
	}
	if (!starts_given)
		starts = fk_now();
	if (!deadline_given)
		deadline = default_deadline(pol, kind, starts);
	if (deadline <= starts) {
		fputs("fangkong campaign create: --deadline must be after the start\n", stderr);
		rc = 2;
		goto out;
	}
	if (!strcmp(kind, "periodic") && !occupations)
		policy_occupations(pol, l.occupations, sizeof(l.occupations));
	if (!name) {
		char day[32], rname[200] = "";
		sqlite3_stmt *st = store_prepare(db, "SELECT name FROM regions WHERE code = ?1", &err);
		if (st) {
			sqlite3_bind_text(st, 1, region, -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW)
				fk_strlcpy(rname, col(st, 0), sizeof(rname));
			sqlite3_finalize(st);
		}
		fk_format_time(starts, day, sizeof(day));
		snprintf(namebuf, sizeof(namebuf), "%s%s核酸检测 %.10s", rname, kind_label(kind), day);
		name = namebuf;
	}
	l.name = name;
	l.kind = kind;
	l.region = region;
	l.starts_at = starts;
	l.deadline = deadline;
	l.pool_size = (int)pool;
	l.exempt_under_age = pol->exempt_under_age_years;
	l.policy_version = pol->version;
	l.persons = (const char *const *)persons;
	l.npersons = npersons;
	fk_cli_actor("cli", actor, sizeof(actor));
	enum fk_status s = launch_run(db, &l, actor, "cli", fk_now(), &r, &err);
	if (s == FK_ENOTFOUND) {
		fprintf(stderr, "fangkong campaign create: --region '%s': no such region\n", region);
		rc = 2;
		goto out;
	}
	if (s == FK_EINVAL && r.bad_person < npersons) {
		fprintf(stderr,
			"fangkong campaign create: --persons '%s' line %zu: no person with ID"
			" number '%s' in region %s\n",
			persons_path, lines[r.bad_person], persons[r.bad_person], region);
		rc = 2;
		goto out;
	}
	if (s) {
		fprintf(stderr, "fangkong campaign create: %s\n", err.msg);
		goto out;
	}
	if (json) {
		if (campaign_json(&out, db, r.id, NULL, 0, &err)) {
			fprintf(stderr, "fangkong campaign create: %s\n", err.msg);
			goto out;
		}
		printf("%s\n", out.buf);
	} else {
		printf("campaign %" PRId64 " created: expected %" PRId64 ", exempt %" PRId64
		       " (age %" PRId64 ", isolation %" PRId64 ")\n",
		       r.id, r.population - r.exempt_age - r.exempt_isolation,
		       r.exempt_age + r.exempt_isolation, r.exempt_age, r.exempt_isolation);
	}
	rc = 0;
out:
	for (size_t i = 0; i < npersons; i++)
		free(persons[i]);
	free(persons);
	free(lines);
	free(pol);
	strbuf_release(&out);
	store_close(db);
	return rc;
}

/* list, show and close: [ID] [--db FILE] [--json] */
static int cli_simple(int argc, char **argv, const char *cmd, bool want_id, bool json_ok)
{
	const char *dbflag = NULL;
	bool json = false;
	int64_t id = 0;
	int ch, rc = 2;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct fk_err err;
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': dbflag = optarg; break;
		case 'j':
			if (!json_ok) {
				fprintf(stderr, "fangkong campaign %s: --json is not an option here\n",
					cmd);
				return 2;
			}
			json = true;
			break;
		case 'h': campaign_usage(stdout); return 0;
		default: campaign_usage(stderr); return 2;
		}
	}
	if (want_id) {
		if (optind >= argc) {
			fprintf(stderr, "fangkong campaign %s: give the campaign ID\n", cmd);
			return 2;
		}
		if (!fk_parse_i64(argv[optind], 1, INT64_MAX, &id)) {
			fprintf(stderr, "fangkong campaign %s: '%s' is not a campaign ID\n", cmd,
				argv[optind]);
			return 2;
		}
		optind++;
	}
	if (optind < argc) {
		fprintf(stderr, "fangkong campaign %s: unexpected argument '%s'\n", cmd, argv[optind]);
		return 2;
	}
	if (sodium_init() < 0 || !cli_open(dbflag, &db))
		return 1;
	rc = 1;
	if (!strcmp(cmd, "close")) {
		char actor[96];
		bool closed_now;
		fk_cli_actor("cli", actor, sizeof(actor));
		enum fk_status s = campaign_close_run(db, id, actor, "cli", fk_now(), &closed_now,
						      &err);
		if (s) {
			fprintf(stderr, "fangkong campaign close: %s\n", err.msg);
			goto out;
		}
		printf(closed_now ? "campaign %" PRId64 " closed\n"
				  : "campaign %" PRId64 " was already closed\n",
		       id);
		rc = 0;
		goto out;
	}
	if (!(st = store_prepare(db,
				 want_id ? CAMPAIGN_SELECT "WHERE c.id = ?1 GROUP BY c.id"
					 : CAMPAIGN_SELECT "GROUP BY c.id ORDER BY c.id DESC",
				 &err))) {
		fprintf(stderr, "fangkong campaign %s: %s\n", cmd, err.msg);
		goto out;
	}
	if (want_id)
		sqlite3_bind_int64(st, 1, id);
	int r, n = 0;
	struct strbuf o = STRBUF_INIT;
	if (json && !want_id)
		strbuf_addch(&o, '[');
	if (!json && !want_id)
		printf("%-5s %-6s %-10s %-15s %-25s %-25s %9s %9s %9s  %s\n", "ID", "STATUS", "KIND",
		       "REGION", "STARTS", "DEADLINE", "EXPECTED", "SAMPLED", "MISSING", "NAME");
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (json) {
			if (n)
				strbuf_addch(&o, ',');
			campaign_row_json(&o, st);
		} else if (want_id) {
			print_campaign_text(st);
		} else {
			char a[32], b[32];
			printf("%-5" PRId64 " %-6s %-10s %-15s %-25s %-25s %9" PRId64 " %9" PRId64
			       " %9" PRId64 "  %s\n",
			       col64(st, CC_ID), col(st, CC_STATUS), col(st, CC_KIND),
			       col(st, CC_REGION),
			       fk_format_time(col64(st, CC_STARTS), a, sizeof(a)),
			       fk_format_time(col64(st, CC_DEADLINE), b, sizeof(b)),
			       col64(st, CC_EXPECTED),
			       col64(st, CC_SAMPLED),
			       col64(st, CC_MISSING), col(st, CC_NAME));
		}
		n++;
	}
	if (json && !want_id)
		strbuf_addch(&o, ']');
	if (r != SQLITE_DONE) {
		fprintf(stderr, "fangkong campaign %s: cannot read campaigns: %s\n", cmd,
			sqlite3_errmsg(db));
	} else if (want_id && !n) {
		fprintf(stderr, "fangkong campaign %s: no campaign %" PRId64 "\n", cmd, id);
	} else {
		if (json)
			printf("%s\n", o.buf);
		rc = 0;
	}
	strbuf_release(&o);
out:
	sqlite3_finalize(st);
	store_close(db);
	return rc;
}

static int cli_site(int argc, char **argv)
{
	const char *dbflag = NULL;
	struct site_in in;
	struct strbuf out = STRBUF_INIT;
	struct fk_err err;
	sqlite3 *db = NULL;
	int64_t cap = 0;
	bool created, json = false;
	int ch, rc = 2;
	char actor[96];
	static const struct option opts[] = {
		{"code", required_argument, NULL, 'c'},
		{"name", required_argument, NULL, 'n'},
		{"region", required_argument, NULL, 'r'},
		{"capacity", required_argument, NULL, 'k'},
		{"opens", required_argument, NULL, 'o'},
		{"closes", required_argument, NULL, 'x'},
		{"db", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	memset(&in, 0, sizeof(in));
	in.opens = 420;
	in.closes = 1320;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': in.code = optarg; break;
		case 'n': in.name = optarg; break;
		case 'r': in.region = optarg; break;
		case 'k':
			if (!fk_parse_i64(optarg, 1, SITE_CAPACITY_MAX, &cap)) {
				fprintf(stderr, "fangkong campaign site: --capacity '%s' is not a number"
						" from 1 to %d\n",
					optarg, SITE_CAPACITY_MAX);
				return 2;
			}
			break;
		case 'o':
			if (!hhmm_parse(optarg, &in.opens)) {
				fprintf(stderr, "fangkong campaign site: --opens '%s' is not HH:MM"
						" (00:00 to 24:00)\n",
					optarg);
				return 2;
			}
			break;
		case 'x':
			if (!hhmm_parse(optarg, &in.closes)) {
				fprintf(stderr, "fangkong campaign site: --closes '%s' is not HH:MM"
						" (00:00 to 24:00)\n",
					optarg);
				return 2;
			}
			break;
		case 'd': dbflag = optarg; break;
		case 'j': json = true; break;
		case 'h': campaign_usage(stdout); return 0;
		default: campaign_usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fangkong campaign site: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	static const char *const need[] = {"--code", "--name", "--region", "--capacity"};
	const char *have[] = {in.code, in.name, in.region, cap ? "" : NULL};
	for (size_t i = 0; i < FK_ARRAY_LEN(need); i++) {
		if (!have[i]) {
			fprintf(stderr, "fangkong campaign site: %s is required\n", need[i]);
			return 2;
		}
	}
	if (!testing_code_valid(in.code, SITE_CODE_MAX)) {
		fprintf(stderr, "fangkong campaign site: --code '%s' is not 1 to %d letters, digits,"
				" _ or -\n",
			in.code, SITE_CODE_MAX);
		return 2;
	}
	if (!name_valid(in.name, SITE_NAME_MAX)) {
		fprintf(stderr, "fangkong campaign site: --name must be 1 to %d characters without"
				" control characters\n",
			SITE_NAME_MAX);
		return 2;
	}
	if (!testing_region_valid(in.region)) {
		fprintf(stderr, "fangkong campaign site: --region '%s' is not a region code\n",
			in.region);
		return 2;
	}
	if (in.closes <= in.opens) {
		fputs("fangkong campaign site: --closes must be after --opens\n", stderr);
		return 2;
	}
	in.capacity = (int)cap;
	if (sodium_init() < 0 || !cli_open(dbflag, &db))
		return 1;
	fk_cli_actor("cli", actor, sizeof(actor));
	enum fk_status s = site_put(db, &in, actor, "cli", fk_now(), &created, &out, &err);
	if (s == FK_ENOTFOUND) {
		fprintf(stderr, "fangkong campaign site: --region '%s': no such region\n", in.region);
		goto out;
	}
	rc = 1;
	if (s) {
		fprintf(stderr, "fangkong campaign site: %s\n", err.msg);
		goto out;
	}
	if (json)
		printf("%s\n", out.buf);
	else
		printf("site %s %s\n", in.code, created ? "added" : "unchanged (already there)");
	rc = 0;
out:
	strbuf_release(&out);
	store_close(db);
	return rc;
}

int cmd_campaign(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		campaign_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	argc--;
	argv++;
	if (!strcmp(sub, "create"))
		return cli_create(argc, argv);
	if (!strcmp(sub, "list"))
		return cli_simple(argc, argv, "list", false, true);
	if (!strcmp(sub, "show"))
		return cli_simple(argc, argv, "show", true, true);
	if (!strcmp(sub, "close"))
		return cli_simple(argc, argv, "close", true, false);
	if (!strcmp(sub, "site"))
		return cli_site(argc, argv);
	fprintf(stderr,
		"fangkong campaign: unknown subcommand '%s' (create, list, show, close or site)\n",
		sub);
	return 2;
}
