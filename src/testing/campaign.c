/* campaign.c — campaigns (launch with the population frozen, list, show,
 * close), sampling sites, and where a person stands in a campaign. */
#include "testing/testing_int.h"

#include <stdio.h>
#include <string.h>

#include "http/http.h"
#include "lib/util.h"
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
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return fk_fail(err, FK_EDB, "cannot read campaign lists: %s", sqlite3_errmsg(db));
	sqlite3_bind_int64(st, 1, cid);
	sqlite3_bind_int64(st, 2, person);
	int rc = sqlite3_step(st);
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

/* ---- routes and CLI: launch, list, show, close; sites ---- */

const struct http_route campaign_routes[] = {
	{NULL, NULL, NULL, 0, 0, 0},
};
const size_t campaign_routes_len = 0;

int cmd_campaign(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("fangkong campaign: not built yet\n", stderr);
	return 1;
}
