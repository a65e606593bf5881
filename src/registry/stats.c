/* stats.c — region_stats: population, households, venues and grids per
 * region, rolled up the tree.
 *
 * Design note.  Invariants after registry_stats_refresh():
 *   - region_stats has exactly one row per region;
 *   - a region's figure = its own direct figure + the sum of its children's
 *     figures (children by parent_code), so for any region holding nothing
 *     directly (every non-grid region after gen) parent == sum of children;
 *   - "grids" counts the grids in a region's subtree, a grid counting
 *     itself, so the same sum rule holds for it.
 * Persons and households are held directly by the region named in their
 * grid_code (a grid after gen; whatever region an import named otherwise),
 * venues by their region_code.
 *
 * Cost: three GROUP BY scans (persons by the persons_grid index) give the
 * direct figures per region — a few thousand rows — and the roll-up is one
 * pass over the regions in C, deepest level first.  Everything happens in
 * one transaction (a savepoint when the caller already holds one), so
 * readers never see half-rebuilt figures.
 */
#include "registry/registry.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

struct stats_region {
	char *code;
	int parent; /* index, -1 for a root */
	int level;
	int64_t v[4]; /* population, households, venues, grids */
};

struct stats_tree {
	struct stats_region *r;
	size_t n, alloc;
};

static void stats_tree_release(struct stats_tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->r[i].code);
	free(t->r);
	t->r = NULL;
	t->n = t->alloc = 0;
}

/* Index of code in t (sorted by code, as ORDER BY code returns it: BINARY
 * collation is memcmp order); -1 if absent. */
static long stats_find(const struct stats_tree *t, const char *code)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->r[mid].code, code);
		if (!c)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static enum fk_status stats_load_regions(sqlite3 *db, struct stats_tree *t, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	char **parents = NULL;
	sqlite3_stmt *q =
	    store_prepare(db, "SELECT code, parent_code, level FROM regions ORDER BY code", err);
	if (!q)
		return FK_EDB;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (t->n == t->alloc) {
			t->alloc = t->alloc ? t->alloc * 2 : 1024;
			t->r = fk_xrealloc(t->r, t->alloc * sizeof(*t->r));
			parents = fk_xrealloc(parents, t->alloc * sizeof(*parents));
		}
		struct stats_region *r = &t->r[t->n];
		memset(r, 0, sizeof(*r));
		r->code = fk_xstrdup((const char *)sqlite3_column_text(q, 0));
		const unsigned char *p = sqlite3_column_text(q, 1);
		parents[t->n] = p ? fk_xstrdup((const char *)p) : NULL;
		r->level = sqlite3_column_int(q, 2);
		r->parent = -1;
		if (r->level == 6)
			r->v[3] = 1;
		t->n++;
	}
	if (rc != SQLITE_DONE)
		st = fk_fail(err, FK_EDB, "cannot read regions: %s", sqlite3_errmsg(db));
	for (size_t i = 0; i < t->n; i++) {
		if (parents[i]) {
			long pi = stats_find(t, parents[i]);
			t->r[i].parent = pi >= 0 && (size_t)pi != i ? (int)pi : -1;
			free(parents[i]);
		}
	}
	free(parents);
	sqlite3_finalize(q);
	return st;
}

/* Adds the counts of a "code, count" GROUP BY query to column col. */
static enum fk_status stats_add_direct(sqlite3 *db, struct stats_tree *t, const char *sql, int col,
                                       struct fk_err *err)
{
	enum fk_status st = FK_OK;
	sqlite3_stmt *q = store_prepare(db, sql, err);
	if (!q)
		return FK_EDB;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const unsigned char *code = sqlite3_column_text(q, 0);
		long i = code ? stats_find(t, (const char *)code) : -1;
		if (i >= 0)
			t->r[i].v[col] += sqlite3_column_int64(q, 1);
	}
	if (rc != SQLITE_DONE)
		st = fk_fail(err, FK_EDB, "cannot count for region_stats: %s", sqlite3_errmsg(db));
	sqlite3_finalize(q);
	return st;
}

/* Adds every region's totals into its parent, deepest level first, so a
 * parent is complete before it is added to its own parent. */
static void stats_roll_up(struct stats_tree *t)
{
	for (int level = 6; level >= 1; level--)
		for (size_t i = 0; i < t->n; i++) {
			struct stats_region *r = &t->r[i];
			if (r->level != level || r->parent < 0)
				continue;
			for (int k = 0; k < 4; k++)
				t->r[r->parent].v[k] += r->v[k];
		}
}

static enum fk_status stats_write(sqlite3 *db, const struct stats_tree *t, struct fk_err *err)
{
	enum fk_status st = store_exec(db, "DELETE FROM region_stats", err);
	if (st)
		return st;
	sqlite3_stmt *ins =
	    store_prepare(db,
	                  "INSERT INTO region_stats(code, population, households, venues, grids)"
	                  " VALUES(?1, ?2, ?3, ?4, ?5)",
	                  err);
	if (!ins)
		return FK_EDB;
	for (size_t i = 0; i < t->n; i++) {
		const struct stats_region *r = &t->r[i];
		sqlite3_bind_text(ins, 1, r->code, -1, SQLITE_STATIC);
		for (int k = 0; k < 4; k++)
			sqlite3_bind_int64(ins, 2 + k, r->v[k]);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			st = fk_fail(err, FK_EDB, "cannot write region_stats for '%s': %s", r->code,
			             sqlite3_errmsg(db));
			goto finalize;
		}
		sqlite3_reset(ins);
	}
finalize:
	sqlite3_finalize(ins);
	return st;
}

/* Returns FK_OK, or FK_EDB with err set (nothing changed then). */
enum fk_status registry_stats_refresh(sqlite3 *db, struct fk_err *err)
{
	struct stats_tree t = {0};
	bool outer = sqlite3_get_autocommit(db);
	enum fk_status st =
	    store_exec(db, outer ? "BEGIN IMMEDIATE" : "SAVEPOINT region_stats", err);
	if (st)
		return st;
	st = stats_load_regions(db, &t, err);
	if (!st)
		st = stats_add_direct(
		    db, &t, "SELECT grid_code, count(*) FROM persons GROUP BY grid_code", 0, err);
	if (!st)
		st = stats_add_direct(
		    db, &t, "SELECT h.grid_code, count(*) FROM households h"
		    " WHERE EXISTS (SELECT 1 FROM persons p WHERE p.household_id = h.id)"
		    " GROUP BY h.grid_code", 1,
		    err);
	if (!st)
		st = stats_add_direct(
		    db, &t, "SELECT region_code, count(*) FROM venues GROUP BY region_code", 2,
		    err);
	if (st)
		goto rollback;
	stats_roll_up(&t);
	st = stats_write(db, &t, err);
	if (st)
		goto rollback;
	st = store_exec(db, outer ? "COMMIT" : "RELEASE region_stats", err);
	if (st)
		goto rollback;
	stats_tree_release(&t);
	return FK_OK;
rollback:
	if (outer)
		store_rollback(db);
	else
		sqlite3_exec(db, "ROLLBACK TO region_stats; RELEASE region_stats", NULL, NULL,
		             NULL);
	stats_tree_release(&t);
	return st;
}

int64_t registry_person_id(sqlite3 *db, const char *id_number)
{
	char norm[24];
	if (!fk_strlcpy(norm, id_number, sizeof(norm)))
		return 0;
	for (char *p = norm; *p; p++)
		if (*p == 'x')
			*p = 'X';
	sqlite3_stmt *q = store_prepare(db, "SELECT id FROM persons WHERE id_number = ?1", NULL);
	if (!q)
		return -1;
	sqlite3_bind_text(q, 1, norm, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(q);
	int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : rc == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(q);
	return id;
}
