/* http_registry.c — regions, persons, households and venues over HTTP.
 *
 * Scope is enforced here, in SQL: a user's subtree is the code range
 * [scope, scope || ':') (see access.h), intersected with any region the
 * request names.  Records outside it answer 404, never 403, so their
 * existence is not revealed.  Lists mask ID numbers and phones always; one
 * person's record is unmasked only for roles with PERM_UNMASK, and every
 * read of personal data is audited (person.search, person.read,
 * person.reveal, household.read).
 *
 * Paging cursors are the last sort key seen ("code", or "name\tid"),
 * base64url-encoded by http_cursor_encode so clients treat them as opaque.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "lib/util.h"
#include "registry/registry.h"
#include "store/store.h"

#include "lib/banned.h"

/* cursor keys hold a name (imports allow 1024 bytes) and an id */
#define KEY_MAX 1100

static const char *const level_names[] = {"", "省", "市", "区县", "乡镇街道", "社区村", "网格"};

#define VENUE_KIND_ROW(k, l) {k, l},
static const struct {
	const char *kind, *label;
} venue_kinds[] = {REGISTRY_VENUE_KINDS(VENUE_KIND_ROW)};

static const char *venue_kind_label(const char *kind)
{
	for (size_t i = 0; i < FK_ARRAY_LEN(venue_kinds); i++)
		if (!strcmp(venue_kinds[i].kind, kind))
			return venue_kinds[i].label;
	return kind;
}

/* Range [lo, hi) of codes visible to the user, narrowed to region when
 * given.  False (and 404 written) if region is outside the scope. */
static bool visible_range(struct http_req *req, const char *region, char *lo, size_t losz,
			  char *hi, size_t hisz)
{
	const char *scope = req->user->scope;
	if (region && *region) {
		if (!fk_all_digits(region, strlen(region)) || !region_level_of_len(strlen(region)) ||
		    !access_scope_contains(scope, region)) {
			http_error(req, 404, NULL, "no region '%s' in your scope", region);
			return false;
		}
		fk_strlcpy(lo, region, losz);
	} else {
		fk_strlcpy(lo, scope, losz);
	}
	access_scope_upper(lo, hi, hisz);
	return true;
}

/* ---------------- regions ---------------- */

#define REGION_SELECT                                                                          \
	"SELECT r.code, r.name, r.level, r.parent_code,"                                       \
	" (SELECT count(*) FROM regions c WHERE c.parent_code = r.code),"                       \
	" coalesce(s.population,0), coalesce(s.households,0), coalesce(s.venues,0),"           \
	" coalesce(s.grids,0)"                                                                  \
	" FROM regions r LEFT JOIN region_stats s ON s.code = r.code "

static void region_json(struct strbuf *o, sqlite3_stmt *st)
{
	int level = sqlite3_column_int(st, 2);
	strbuf_addstr(o, "{\"code\":");
	strbuf_add_json_str(o, http_col(st, 0));
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, http_col(st, 1));
	strbuf_addf(o, ",\"level\":%d,\"level_name\":", level);
	strbuf_add_json_str(o, level >= 1 && level <= 6 ? level_names[level] : "");
	strbuf_addstr(o, ",\"parent_code\":");
	if (sqlite3_column_type(st, 3) == SQLITE_NULL)
		strbuf_addstr(o, "null");
	else
		strbuf_add_json_str(o, http_col(st, 3));
	strbuf_addf(o,
		    ",\"children\":%" PRId64 ",\"population\":%" PRId64 ",\"households\":%" PRId64
		    ",\"venues\":%" PRId64 ",\"grids\":%" PRId64 "}",
		    (int64_t)sqlite3_column_int64(st, 4), (int64_t)sqlite3_column_int64(st, 5),
		    (int64_t)sqlite3_column_int64(st, 6), (int64_t)sqlite3_column_int64(st, 7),
		    (int64_t)sqlite3_column_int64(st, 8));
}

/* Appends region `code` as JSON; false if it does not exist. */
static bool region_one(const char *code, struct strbuf *o, struct fk_err *err,
		       bool *dberr)
{
	*dberr = false;
	sqlite3_stmt *st = store_reader_stmt(REGION_SELECT "WHERE r.code = ?", err);
	if (!st) {
		*dberr = true;
		return false;
	}
	sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	bool found = rc == SQLITE_ROW;
	if (found)
		region_json(o, st);
	else if (rc != SQLITE_DONE) {
		*dberr = true;
		fk_fail(err, FK_EDB, "region '%s': %s", code, sqlite3_errmsg(sqlite3_db_handle(st)));
	}
	store_stmt_done(st);
	return found;
}

/* Appends "key":[ancestors from the top] for a natural-length code. */
static void region_path_json(const char *code, const char *key, struct strbuf *o)
{
	struct fk_err err;
	strbuf_add_json_str(o, key);
	strbuf_addstr(o, ":[");
	sqlite3_stmt *st = store_reader_stmt("SELECT code, name, level FROM regions WHERE code = ?", &err);
	if (!st) {
		strbuf_addch(o, ']');
		return;
	}
	size_t len = strlen(code);
	bool first = true;
	for (int level = 1; level <= 6; level++) {
		size_t l = region_len_of_level(level);
		if (!l || l >= len)
			break;
		char pre[32];
		memcpy(pre, code, l);
		pre[l] = '\0';
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, pre, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_ROW)
			continue;
		strbuf_addstr(o, first ? "{\"code\":" : ",{\"code\":");
		first = false;
		strbuf_add_json_str(o, http_col(st, 0));
		strbuf_addstr(o, ",\"name\":");
		strbuf_add_json_str(o, http_col(st, 1));
		strbuf_addf(o, ",\"level\":%d}", sqlite3_column_int(st, 2));
	}
	store_stmt_done(st);
	strbuf_addch(o, ']');
}

static void next_cursor_json(struct strbuf *o, const char *key)
{
	strbuf_addstr(o, ",\"next_cursor\":");
	if (key && *key) {
		char c[KEY_MAX * 2]; /* base64 of at most KEY_MAX bytes */
		http_cursor_encode(key, c, sizeof(c));
		strbuf_add_json_str(o, c);
	} else {
		strbuf_addstr(o, "null");
	}
}

/* One page of a list: appends "items":[...] and ,"next_cursor":... for up
 * to limit rows of st, which the caller bound to fetch limit + 1 so that a
 * next page is known to exist.  row() appends one item and writes its sort
 * key (the cursor's content) into key.  Returns the number of items, or -1
 * after answering 500 on a database error. */
typedef void (*page_row_fn)(struct strbuf *o, sqlite3_stmt *st, char *key, size_t keysz,
			    void *ctx);

static int page_json(struct http_req *req, sqlite3_stmt *st, int limit, page_row_fn row,
		     void *ctx, struct strbuf *o)
{
	char last[KEY_MAX] = "";
	int n = 0, rc;
	strbuf_addstr(o, "\"items\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit)
			break;
		if (n++)
			strbuf_addch(o, ',');
		row(o, st, last, sizeof(last), ctx);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		struct fk_err err;
		fk_fail(&err, FK_EDB, "list: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
		http_fail(req, FK_EDB, &err);
		return -1;
	}
	strbuf_addch(o, ']');
	next_cursor_json(o, rc == SQLITE_ROW ? last : NULL);
	return n;
}

static void region_row(struct strbuf *o, sqlite3_stmt *st, char *key, size_t keysz,
                       void *ctx)
{
	(void)ctx;
	region_json(o, st);
	fk_strlcpy(key, http_col(st, 0), keysz);
}

static void regions_list(struct http_req *req)
{
	sqlite3 *db = http_reader(req);
	struct fk_err err;
	int limit;
	char after[KEY_MAX];
	struct strbuf o = STRBUF_INIT;
	sqlite3_stmt *st = NULL;
	const char *parent = http_query(req, "parent");
	const char *scope = req->user->scope;
	bool dberr = false;

	if (!db || !http_page_params(req, &limit, after, sizeof(after)))
		return;
	strbuf_addstr(&o, "{\"parent\":");
	if (parent) {
		if (!access_scope_contains(scope, parent) ||
		    !region_one(parent, &o, &err, &dberr)) {
			if (access_scope_contains(scope, parent) && dberr)
				http_fail(req, FK_EDB, &err);
			else
				http_error(req, 404, NULL, "no region '%s' in your scope", parent);
			goto done;
		}
		st = store_reader_stmt(REGION_SELECT "WHERE r.parent_code = ?1 AND r.code > ?2"
						     " ORDER BY r.code LIMIT ?3",
				   &err);
		if (st)
			sqlite3_bind_text(st, 1, parent, -1, SQLITE_STATIC);
	} else if (!*scope) {
		strbuf_addstr(&o, "null");
		st = store_reader_stmt(REGION_SELECT "WHERE r.parent_code IS NULL AND r.code > ?2"
						     " ORDER BY r.code LIMIT ?3",
				   &err);
	} else {
		strbuf_addstr(&o, "null");
		st = store_reader_stmt(REGION_SELECT "WHERE r.code = ?1 AND r.code > ?2"
						     " ORDER BY r.code LIMIT ?3",
				   &err);
		if (st)
			sqlite3_bind_text(st, 1, scope, -1, SQLITE_STATIC);
	}
	if (!st) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	sqlite3_bind_text(st, 2, after, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, limit + 1);
	strbuf_addch(&o, ',');
	if (page_json(req, st, limit, region_row, NULL, &o) < 0)
		goto done;
	strbuf_addch(&o, '}');
	http_json(req, 200, o.buf);
done:
	store_stmt_done(st);
	strbuf_release(&o);
}

static void region_get(struct http_req *req)
{
	sqlite3 *db = http_reader(req);
	const char *code = req->params[0];
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	bool dberr = false;
	if (!db)
		return;
	if (!access_scope_contains(req->user->scope, code) ||
	    !region_one(code, &o, &err, &dberr)) {
		if (dberr)
			http_fail(req, FK_EDB, &err);
		else
			http_error(req, 404, NULL, "no region '%s' in your scope", code);
		strbuf_release(&o);
		return;
	}
	o.len--; /* reopen the object to add the path */
	strbuf_addch(&o, ',');
	region_path_json(code, "path", &o);
	strbuf_addch(&o, '}');
	http_json(req, 200, o.buf);
	strbuf_release(&o);
}

/* ---------------- persons ---------------- */

#define PERSON_SELECT                                                                          \
	"SELECT p.id, p.name, p.id_number, p.phone, p.sex, p.birth_date, p.grid_code,"         \
	" g.name, p.household_id, p.occupation, h.label, c.name"                               \
	" FROM persons p JOIN regions g ON g.code = p.grid_code"                               \
	" LEFT JOIN regions c ON c.code = g.parent_code"                                       \
	" LEFT JOIN households h ON h.id = p.household_id "

static int age_of(const char *birth, int64_t now)
{
	int y, m, d;
	if (sscanf(birth, "%4d-%2d-%2d", &y, &m, &d) != 3)
		return -1;
	int64_t days = now / 86400;
	int64_t born = fk_days_from_civil(y, m, d);
	int age = (int)((days - born) / 365.2425);
	return age < 0 ? 0 : age;
}

static void person_json(struct strbuf *o, sqlite3_stmt *st, bool reveal, bool full)
{
	char idm[40], phm[40];
	const char *id = http_col(st, 2), *phone = http_col(st, 3);
	if (!reveal) {
		mask_id_number(id, idm, sizeof(idm));
		mask_phone(phone, phm, sizeof(phm));
		id = idm;
		phone = phm;
	}
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"name\":", (int64_t)sqlite3_column_int64(st, 0));
	strbuf_add_json_str(o, http_col(st, 1));
	strbuf_addstr(o, ",\"id_number\":");
	strbuf_add_json_str(o, id);
	strbuf_addstr(o, ",\"phone\":");
	strbuf_add_json_str(o, phone);
	strbuf_addf(o, ",\"sex\":\"%s\",\"age\":%d,\"grid_code\":",
		    sqlite3_column_int(st, 4) == 1 ? "男" : "女", age_of(http_col(st, 5), fk_now()));
	strbuf_add_json_str(o, http_col(st, 6));
	strbuf_addstr(o, ",\"grid_name\":");
	strbuf_add_json_str(o, http_col(st, 7));
	strbuf_addstr(o, ",\"community_name\":");
	strbuf_add_json_str(o, http_col(st, 11));
	strbuf_addstr(o, ",\"household_id\":");
	if (sqlite3_column_type(st, 8) == SQLITE_NULL)
		strbuf_addstr(o, "null");
	else
		strbuf_addf(o, "%" PRId64, (int64_t)sqlite3_column_int64(st, 8));
	strbuf_addstr(o, ",\"occupation\":");
	strbuf_add_json_str(o, http_col(st, 9));
	if (full) {
		strbuf_addstr(o, ",\"birth_date\":");
		strbuf_add_json_str(o, reveal ? http_col(st, 5) : "****-**-**");
		strbuf_addf(o, ",\"masked\":%s,\"household\":", reveal ? "false" : "true");
		if (sqlite3_column_type(st, 8) == SQLITE_NULL) {
			strbuf_addstr(o, "null");
		} else {
			strbuf_addf(o, "{\"id\":%" PRId64 ",\"label\":",
				    (int64_t)sqlite3_column_int64(st, 8));
			strbuf_add_json_str(o, http_col(st, 10));
			strbuf_addch(o, '}');
		}
	}
	strbuf_addch(o, '}');
}

/* ctx: a strbuf collecting the listed person ids for the audit record */
static void person_row_key(struct strbuf *o, sqlite3_stmt *st, int keycol, char *key,
			   size_t keysz, void *ctx)
{
	struct strbuf *ids = ctx;
	person_json(o, st, false, false);
	strbuf_addf(ids, "%s%" PRId64, ids->len ? "," : "", (int64_t)sqlite3_column_int64(st, 0));
	snprintf(key, keysz, "%s\t%" PRId64, keycol >= 0 ? http_col(st, keycol) : "",
		 (int64_t)sqlite3_column_int64(st, 0));
}

static void person_row_by_name(struct strbuf *o, sqlite3_stmt *st, char *key, size_t keysz,
                               void *ctx)
{
	person_row_key(o, st, 1, key, keysz, ctx);
}

static void person_row_by_grid(struct strbuf *o, sqlite3_stmt *st, char *key, size_t keysz,
                               void *ctx)
{
	person_row_key(o, st, 6, key, keysz, ctx);
}

static void person_row_by_id(struct strbuf *o, sqlite3_stmt *st, char *key, size_t keysz,
                             void *ctx)
{
	person_row_key(o, st, -1, key, keysz, ctx);
}

static void persons_search(struct http_req *req)
{
	sqlite3 *db = http_reader(req);
	const char *region = http_query(req, "region");
	const char *name = http_query(req, "name");
	const char *idn = http_query(req, "id_number");
	char lo[32], hi[32], after[KEY_MAX];
	int limit;
	struct strbuf o = STRBUF_INIT, nhi = STRBUF_INIT, q = STRBUF_INIT, ids = STRBUF_INIT;
	sqlite3_stmt *st = NULL;
	struct fk_err err;

	if (!db || !http_page_params(req, &limit, after, sizeof(after)))
		return;
	if ((!region || !*region) && (!name || !*name) && (!idn || !*idn)) {
		http_error(req, 400, NULL, "give region, name (prefix) or id_number");
		return;
	}
	if ((name && strlen(name) > 64) || (idn && strlen(idn) > 32)) {
		http_error(req, 400, NULL, "name or id_number too long");
		return;
	}
	if (!visible_range(req, region, lo, sizeof(lo), hi, sizeof(hi)))
		return;

	/* the cursor is "sortkey\tid" */
	char akey[KEY_MAX] = "";
	int64_t aid = -1;
	if (after[0]) {
		char *tab = strrchr(after, '\t');
		if (!tab || !fk_parse_i64(tab + 1, 0, INT64_MAX, &aid)) {
			http_error(req, 400, NULL, "cursor is not valid");
			return;
		}
		*tab = '\0';
		fk_strlcpy(akey, after, sizeof(akey));
	}
	int mode; /* 0 id_number, 1 name, 2 region */
	if (idn && *idn) {
		mode = 0;
		st = store_reader_stmt(PERSON_SELECT
				   "WHERE p.id_number = upper(?1) AND p.grid_code >= ?2"
				   " AND p.grid_code < ?3 AND p.id > ?5 ORDER BY p.id LIMIT ?6",
				   &err);
	} else if (name && *name) {
		mode = 1;
		st = store_reader_stmt(PERSON_SELECT
				   "WHERE p.name >= ?1 AND p.name < ?4 AND p.grid_code >= ?2"
				   " AND p.grid_code < ?3 AND (p.name, p.id) > (?7, ?5)"
				   " ORDER BY p.name, p.id LIMIT ?6",
				   &err);
	} else {
		mode = 2;
		st = store_reader_stmt(PERSON_SELECT
				   "WHERE p.grid_code >= ?2 AND p.grid_code < ?3"
				   " AND (p.grid_code, p.id) > (?7, ?5)"
				   " ORDER BY p.grid_code, p.id LIMIT ?6",
				   &err);
	}
	if (!st) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	if (mode == 0)
		sqlite3_bind_text(st, 1, idn, -1, SQLITE_STATIC);
	if (mode == 1) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		strbuf_addstr(&nhi, name);
		strbuf_addch(&nhi, 0xff); /* sorts after every UTF-8 continuation */
		sqlite3_bind_text(st, 4, nhi.buf, (int)nhi.len, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, 2, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hi, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, aid);
	sqlite3_bind_int(st, 6, limit + 1);
	if (mode != 0)
		sqlite3_bind_text(st, 7, akey, -1, SQLITE_STATIC);

	strbuf_addch(&o, '{');
	page_row_fn row = mode == 1 ? person_row_by_name : mode == 2 ? person_row_by_grid : person_row_by_id;
	int n = page_json(req, st, limit, row, &ids, &o);
	if (n < 0)
		goto done;
	strbuf_addch(&o, '}');
	http_json(req, 200, o.buf);
	/* who was looked up, and by what: the ID number searched is kept
	 * masked, the persons listed by their internal ids */
	char idm[40] = "";
	if (idn)
		mask_id_number(idn, idm, sizeof(idm));
	strbuf_addf(&q, "region=%s name=%s id_number=%s", region ? region : "",
		    name ? name : "", idm);
	struct strbuf detail = STRBUF_INIT;
	strbuf_addf(&detail, "%d results: persons %s", n, ids.buf);
	http_audit(req, "person.search", q.buf, detail.buf);
	strbuf_release(&detail);
done:
	store_stmt_done(st);
	strbuf_release(&ids);
	strbuf_release(&o);
	strbuf_release(&nhi);
	strbuf_release(&q);
}

/* One record by the route's {param}: runs sql (one parameter: the id as an
 * integer when int_key, else the text) and returns the statement on its
 * row when the region code in column code_col lies in the caller's scope.
 * Otherwise answers 404 (absent, malformed or out of scope alike) or 500
 * and returns NULL.  The caller hands the statement back with
 * store_stmt_done(). */
static sqlite3_stmt *one_in_scope(struct http_req *req, const char *sql, const char *what,
				  int code_col, bool int_key)
{
	struct fk_err err;
	const char *key = req->params[0];
	int64_t id = 0;
	if (!http_reader(req))
		return NULL;
	if (int_key && !fk_parse_i64(key, 1, INT64_MAX, &id)) {
		http_error(req, 404, NULL, "no %s '%s' in your scope", what, key);
		return NULL;
	}
	sqlite3_stmt *st = store_reader_stmt(sql, &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return NULL;
	}
	if (int_key)
		sqlite3_bind_int64(st, 1, id);
	else
		sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		fk_fail(&err, FK_EDB, "%s: %s", what, sqlite3_errmsg(sqlite3_db_handle(st)));
		http_fail(req, FK_EDB, &err);
	} else if (rc == SQLITE_ROW && access_scope_contains(req->user->scope, http_col(st, code_col))) {
		return st;
	} else {
		http_error(req, 404, NULL, "no %s '%s' in your scope", what, key);
	}
	store_stmt_done(st);
	return NULL;
}

static void person_get(struct http_req *req)
{
	struct strbuf o = STRBUF_INIT;
	sqlite3_stmt *st = one_in_scope(req, PERSON_SELECT "WHERE p.id = ?", "person", 6, true);
	if (!st)
		return;
	int64_t id = sqlite3_column_int64(st, 0);
	bool reveal = (role_perms(req->user->role) & PERM_UNMASK) != 0;
	person_json(&o, st, reveal, true);
	o.len--;
	strbuf_addch(&o, ',');
	region_path_json(http_col(st, 6), "region_path", &o);
	strbuf_addch(&o, '}');
	http_json(req, 200, o.buf);
	char obj[40];
	snprintf(obj, sizeof(obj), "person:%" PRId64, id);
	http_audit(req, reveal ? "person.reveal" : "person.read", obj,
		   reveal ? "id_number and phone shown unmasked" : "masked");
	store_stmt_done(st);
	strbuf_release(&o);
}

/* ---------------- households ---------------- */

static void household_get(struct http_req *req)
{
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	sqlite3_stmt *st = one_in_scope(req,
					"SELECT h.id, h.label, h.grid_code, g.name FROM households h"
					" JOIN regions g ON g.code = h.grid_code WHERE h.id = ?",
					"household", 2, true);
	if (!st)
		return;
	int64_t id = sqlite3_column_int64(st, 0);
	strbuf_addf(&o, "{\"id\":%" PRId64 ",\"label\":", id);
	strbuf_add_json_str(&o, http_col(st, 1));
	strbuf_addstr(&o, ",\"grid_code\":");
	strbuf_add_json_str(&o, http_col(st, 2));
	strbuf_addstr(&o, ",\"grid_name\":");
	strbuf_add_json_str(&o, http_col(st, 3));
	strbuf_addstr(&o, ",\"members\":[");
	store_stmt_done(st);
	st = store_reader_stmt(PERSON_SELECT "WHERE p.household_id = ? ORDER BY p.birth_date",
			   &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	sqlite3_bind_int64(st, 1, id);
	int n = 0, rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++)
			strbuf_addch(&o, ',');
		person_json(&o, st, false, false);
	}
	if (rc != SQLITE_DONE) {
		fk_fail(&err, FK_EDB, "household members: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	strbuf_addstr(&o, "]}");
	http_json(req, 200, o.buf);
	char obj[40];
	snprintf(obj, sizeof(obj), "household:%" PRId64, id);
	http_audit(req, "household.read", obj, "members masked");
done:
	store_stmt_done(st);
	strbuf_release(&o);
}

static void household_row(struct strbuf *o, sqlite3_stmt *st, char *key, size_t keysz,
                          void *ctx)
{
	(void)ctx;
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"label\":", (int64_t)sqlite3_column_int64(st, 0));
	strbuf_add_json_str(o, http_col(st, 1));
	strbuf_addstr(o, ",\"grid_code\":");
	strbuf_add_json_str(o, http_col(st, 2));
	strbuf_addstr(o, ",\"grid_name\":");
	strbuf_add_json_str(o, http_col(st, 3));
	strbuf_addf(o, ",\"members\":%d}", sqlite3_column_int(st, 4));
	fk_strlcpy(key, http_col(st, 0), keysz);
}

static void households_list(struct http_req *req)
{
	sqlite3 *db = http_reader(req);
	const char *region = http_query(req, "region");
	char lo[32], hi[32], after[KEY_MAX];
	int limit;
	int64_t aid = 0;
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	sqlite3_stmt *st = NULL;
	if (!db || !http_page_params(req, &limit, after, sizeof(after)))
		return;
	if (!region || !*region) {
		http_error(req, 400, NULL, "give region (a grid or any region above it)");
		return;
	}
	if (after[0] && !fk_parse_i64(after, 1, INT64_MAX, &aid)) {
		http_error(req, 400, NULL, "cursor is not valid");
		return;
	}
	if (!visible_range(req, region, lo, sizeof(lo), hi, sizeof(hi)))
		return;
	st = store_reader_stmt("SELECT h.id, h.label, h.grid_code, g.name,"
			   " (SELECT count(*) FROM persons p WHERE p.household_id = h.id)"
			   " FROM households h JOIN regions g ON g.code = h.grid_code"
			   " WHERE h.grid_code >= ?1 AND h.grid_code < ?2 AND h.id > ?3"
			   " ORDER BY h.id LIMIT ?4",
			   &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, aid);
	sqlite3_bind_int(st, 4, limit + 1);
	strbuf_addch(&o, '{');
	if (page_json(req, st, limit, household_row, NULL, &o) < 0)
		goto done;
	strbuf_addch(&o, '}');
	http_json(req, 200, o.buf);
	http_audit(req, "household.list", region, "labels and member counts");
done:
	store_stmt_done(st);
	strbuf_release(&o);
}

/* ---------------- venues ---------------- */

#define VENUE_SELECT                                                                           \
	"SELECT v.code, v.name, v.region_code, r.name, v.kind FROM venues v"                   \
	" JOIN regions r ON r.code = v.region_code "

static void venue_json(struct strbuf *o, sqlite3_stmt *st)
{
	strbuf_addstr(o, "{\"code\":");
	strbuf_add_json_str(o, http_col(st, 0));
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, http_col(st, 1));
	strbuf_addstr(o, ",\"region_code\":");
	strbuf_add_json_str(o, http_col(st, 2));
	strbuf_addstr(o, ",\"region_name\":");
	strbuf_add_json_str(o, http_col(st, 3));
	strbuf_addstr(o, ",\"kind\":");
	strbuf_add_json_str(o, http_col(st, 4));
	strbuf_addstr(o, ",\"kind_label\":");
	strbuf_add_json_str(o, venue_kind_label(http_col(st, 4)));
	strbuf_addch(o, '}');
}

static void venue_row(struct strbuf *o, sqlite3_stmt *st, char *key, size_t keysz,
                      void *ctx)
{
	(void)ctx;
	venue_json(o, st);
	fk_strlcpy(key, http_col(st, 0), keysz);
}

static void venues_list(struct http_req *req)
{
	sqlite3 *db = http_reader(req);
	const char *region = http_query(req, "region");
	const char *kind = http_query(req, "kind");
	char lo[32], hi[32], after[KEY_MAX];
	int limit;
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	sqlite3_stmt *st = NULL;
	if (!db || !http_page_params(req, &limit, after, sizeof(after)))
		return;
	if (kind && *kind && !strcmp(venue_kind_label(kind), kind)) {
		http_error(req, 400, NULL, "unknown venue kind '%s'", kind);
		return;
	}
	if (!visible_range(req, region, lo, sizeof(lo), hi, sizeof(hi)))
		return;
	st = store_reader_stmt(VENUE_SELECT
			   "WHERE v.region_code >= ?1 AND v.region_code < ?2 AND v.code > ?3"
			   " AND (?4 = '' OR v.kind = ?4) ORDER BY v.code LIMIT ?5",
			   &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, after, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, kind ? kind : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, limit + 1);
	strbuf_addch(&o, '{');
	if (page_json(req, st, limit, venue_row, NULL, &o) < 0)
		goto done;
	strbuf_addch(&o, '}');
	http_json(req, 200, o.buf);
done:
	store_stmt_done(st);
	strbuf_release(&o);
}

static void venue_get(struct http_req *req)
{
	struct strbuf o = STRBUF_INIT;
	sqlite3_stmt *st = one_in_scope(req, VENUE_SELECT "WHERE v.code = ?", "venue", 2, false);
	if (!st)
		return;
	venue_json(&o, st);
	http_json(req, 200, o.buf);
	store_stmt_done(st);
	strbuf_release(&o);
}

const struct http_route registry_routes[] = {
	{"GET", "/api/v1/regions", regions_list, 0, PERM_READ_REGIONS, 0},
	{"GET", "/api/v1/regions/{code}", region_get, 0, PERM_READ_REGIONS, 0},
	{"GET", "/api/v1/persons", persons_search, 0, PERM_READ_PERSONS, 0},
	{"GET", "/api/v1/persons/{id}", person_get, 0, PERM_READ_PERSONS, 0},
	{"GET", "/api/v1/households", households_list, 0, PERM_READ_PERSONS, 0},
	{"GET", "/api/v1/households/{id}", household_get, 0, PERM_READ_PERSONS, 0},
	{"GET", "/api/v1/venues", venues_list, 0, PERM_READ_VENUES, 0},
	{"GET", "/api/v1/venues/{code}", venue_get, 0, PERM_READ_VENUES, 0},
};
const size_t registry_routes_len = FK_ARRAY_LEN(registry_routes);
