/* coverage.c — coverage per grid rolled up the region tree, the missing
 * list, and its .xlsx export.
 *
 * Design note.
 * - The coverage counters live in campaign_grids, one row per grid of the
 *   campaign's area, kept exact by the transactions that write samples and
 *   results (see store/schema.h).  Every figure of a node is the sum of
 *   the rows whose grid code has the node's code as prefix, so a parent
 *   equals the sum of its children whenever the region tree is a prefix
 *   tree (it is: codes have their natural length by level).
 * - One coverage answer is two range scans and arithmetic in memory: the
 *   regions of the asked subtree down to the asked depth (the regions
 *   primary key gives them in code order, which is a pre-order walk of the
 *   tree, so the JSON nesting follows from a stack of open nodes), and the
 *   campaign_grids rows of the campaign (primary key (campaign, grid)),
 *   each added to its ancestors found by binary search on the sorted
 *   nodes.  A 3,000,000-person city to its ~4,300 grids is ~6,400 nodes:
 *   no per-node query, no JSON library; strbuf only.
 * - Scope: a campaign is visible when its area and the user's scope
 *   overlap (one holds the other); the asked region must lie in both the
 *   area and the scope.  Anything else answers 404, as elsewhere.
 * - The missing list is computed from the base tables (persons of the
 *   grid in the frozen population, not exempt, with no round sample), so
 *   it names people; its total equals the grid's missing counter as long
 *   as nobody moved grid since the launch.
 * - Masking: the JSON list masks names, ID numbers and phones always; the
 *   .xlsx masks them unless unmask=1 is asked by a role with PERM_UNMASK
 *   (the CLI, run by whoever holds the database, may --unmask).  Every
 *   read of the list is audited with its count.
 * - The .xlsx is written with libxlsxwriter in constant-memory mode into a
 *   temporary file (the library has no memory target in this version),
 *   read back into the answer and removed.
 */
#include "testing/testing_int.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "access/access.h"
#include "http/http.h"
#include "lib/strbuf.h"
#include "lib/util.h"
#include "registry/registry.h"
#include "store/store.h"

#include "lib/banned.h"

#define MISSING_XLSX_MAX_GRIDS 500
#define REGION_CODE_MAX 16
#define XLSX_MIME "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

/* ------------------------------------------------------------ figures */

struct cov_figures {
	int64_t expected, exempt, sampled, sampled_expected, resulted, positive;
};

static void figures_add(struct cov_figures *a, const struct cov_figures *b)
{
	a->expected += b->expected;
	a->exempt += b->exempt;
	a->sampled += b->sampled;
	a->sampled_expected += b->sampled_expected;
	a->resulted += b->resulted;
	a->positive += b->positive;
}

static int64_t figures_missing(const struct cov_figures *f)
{
	return f->expected - f->sampled_expected;
}

static void figures_json(struct strbuf *o, const struct cov_figures *f)
{
	strbuf_addf(o,
		    "\"expected\":%" PRId64 ",\"exempt\":%" PRId64 ",\"sampled\":%" PRId64
		    ",\"resulted\":%" PRId64 ",\"positive\":%" PRId64 ",\"missing\":%" PRId64,
		    f->expected, f->exempt, f->sampled, f->resulted, f->positive,
		    figures_missing(f));
}

static void time_json(struct strbuf *o, int64_t t)
{
	char buf[32];
	strbuf_add_json_str(o, fk_format_time(t, buf, sizeof(buf)));
}

/* ------------------------------------------------------------ the tree */

struct cov_node {
	char code[REGION_CODE_MAX];
	size_t name_off; /* into cov_tree.names */
	int level;
	struct cov_figures f;
};

/* The nodes of one subtree, sorted by code (pre-order), names in one
 * buffer.  Released with cov_tree_release. */
struct cov_tree {
	struct cov_node *nodes;
	size_t n, alloc;
	struct strbuf names;
};

static void cov_tree_release(struct cov_tree *t)
{
	free(t->nodes);
	strbuf_release(&t->names);
	memset(t, 0, sizeof(*t));
}

static const char *node_name(const struct cov_tree *t, const struct cov_node *n)
{
	return t->names.buf + n->name_off;
}

/* Index of the node with code (a prefix of a grid code of length len),
 * or -1. */
static ptrdiff_t tree_find(const struct cov_tree *t, const char *code, size_t len)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *c = t->nodes[mid].code;
		int cmp = strncmp(c, code, len);
		if (!cmp && c[len])
			cmp = 1; /* longer code with the same prefix sorts after */
		if (!cmp)
			return (ptrdiff_t)mid;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Reads the regions of root's subtree down to max_level, then adds every
 * campaign_grids row of campaign cid to the nodes above it.  FK_ENOTFOUND
 * when root is not a region; FK_EDB. */
static enum fk_status cov_tree_build(sqlite3 *db, int64_t cid, const char *root, int max_level,
				     struct cov_tree *t, struct fk_err *err)
{
	enum fk_status s = FK_OK;
	sqlite3_stmt *st = NULL;
	char hi[REGION_CODE_MAX + 2];
	int rc;
	size_t rlen = strlen(root);

	memset(t, 0, sizeof(*t));
	strbuf_init(&t->names);
	access_scope_upper(root, hi, sizeof(hi));
	if (sqlite3_prepare_v2(db,
			       "SELECT code, name, level FROM regions WHERE code >= ?1 AND code < ?2"
			       " AND length(code) <= ?3 ORDER BY code",
			       -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)region_len_of_level(max_level));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *code = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		if (!code || strlen(code) >= REGION_CODE_MAX)
			continue;
		if (t->n == t->alloc) {
			t->alloc = t->alloc ? t->alloc * 2 : 1024;
			t->nodes = fk_xrealloc(t->nodes, t->alloc * sizeof(*t->nodes));
		}
		struct cov_node *nd = &t->nodes[t->n++];
		memset(nd, 0, sizeof(*nd));
		fk_strlcpy(nd->code, code, sizeof(nd->code));
		nd->level = sqlite3_column_int(st, 2);
		nd->name_off = t->names.len;
		strbuf_addstr(&t->names, name ? name : "");
		strbuf_addch(&t->names, '\0');
	}
	if (rc != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(st);
	st = NULL;
	if (!t->n || strcmp(t->nodes[0].code, root)) {
		s = fk_fail(err, FK_ENOTFOUND, "no region '%s'", root);
		goto out;
	}

	if (sqlite3_prepare_v2(db,
			       "SELECT grid_code, expected, exempt, sampled, sampled_expected,"
			       " resulted, positive FROM campaign_grids WHERE campaign_id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_int64(st, 1, cid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *g = (const char *)sqlite3_column_text(st, 0);
		struct cov_figures f = {
		    sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
		    sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4),
		    sqlite3_column_int64(st, 5), sqlite3_column_int64(st, 6),
		};
		if (!g || strncmp(g, root, rlen))
			continue;
		size_t glen = strlen(g);
		for (int level = t->nodes[0].level; level <= max_level; level++) {
			size_t len = region_len_of_level(level);
			if (!len || len > glen)
				break;
			ptrdiff_t k = tree_find(t, g, len);
			if (k >= 0)
				figures_add(&t->nodes[k].f, &f);
		}
	}
	if (rc != SQLITE_DONE)
		goto dberr;
	goto out;
dberr:
	s = fk_fail(err, FK_EDB, "cannot read coverage: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(st);
	if (s)
		cov_tree_release(t);
	return s;
}

static void node_open_json(struct strbuf *o, const struct cov_tree *t, const struct cov_node *nd)
{
	strbuf_addstr(o, "{\"code\":");
	strbuf_add_json_str(o, nd->code);
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, node_name(t, nd));
	strbuf_addf(o, ",\"level\":%d,", nd->level);
	figures_json(o, &nd->f);
	strbuf_addstr(o, ",\"children\":[");
}

/* The tree as nested JSON: nodes are in pre-order, so a node closes when
 * the next one is not below it. */
static void cov_tree_json(struct strbuf *o, const struct cov_tree *t)
{
	size_t stack[8];
	bool has_child[8];
	int sp = 0;
	for (size_t k = 0; k < t->n; k++) {
		const struct cov_node *nd = &t->nodes[k];
		while (sp > 0) {
			const char *top = t->nodes[stack[sp - 1]].code;
			if (fk_starts_with(nd->code, top) && strlen(nd->code) > strlen(top))
				break;
			strbuf_addstr(o, "]}");
			sp--;
		}
		if (sp == 0 && k > 0)
			break; /* only the root's subtree */
		if (sp > 0) {
			if (has_child[sp - 1])
				strbuf_addch(o, ',');
			has_child[sp - 1] = true;
		}
		if (sp == (int)FK_ARRAY_LEN(stack))
			continue; /* deeper than any region tree */
		node_open_json(o, t, nd);
		stack[sp] = k;
		has_child[sp] = false;
		sp++;
	}
	while (sp-- > 0)
		strbuf_addstr(o, "]}");
}

/* ------------------------------------------------------------ campaigns */

static void region_name_of(sqlite3 *db, const char *code, char *out, size_t size)
{
	sqlite3_stmt *st = NULL;
	out[0] = '\0';
	if (sqlite3_prepare_v2(db, "SELECT name FROM regions WHERE code = ?", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			fk_strlcpy(out, (const char *)sqlite3_column_text(st, 0), size);
	}
	sqlite3_finalize(st);
}

/* Whether the user's scope and area overlap (one holds the other). */
static bool campaign_visible(const char *scope, const char *area)
{
	return access_scope_contains(scope, area) || access_scope_contains(area, scope);
}

/* The route's campaign when it is visible to the user; else answers 404
 * (or 500) and returns false. */
static bool campaign_of_req(struct http_req *req, sqlite3 *db, struct campaign *c)
{
	struct fk_err err;
	int64_t id;
	if (!fk_parse_i64(req->params[0], 1, INT64_MAX, &id)) {
		http_error(req, 404, NULL, "no campaign '%.40s' in your scope", req->params[0]);
		return false;
	}
	enum fk_status s = campaign_get(db, id, c, &err);
	if (s == FK_ENOTFOUND || (!s && !campaign_visible(req->user->scope, c->region_code))) {
		http_error(req, 404, NULL, "no campaign %" PRId64 " in your scope", id);
		return false;
	}
	if (s) {
		http_fail(req, s, &err);
		return false;
	}
	return true;
}

/* The region a request is about: the one asked (it must lie in both the
 * campaign's area and the user's scope), else the area, or the scope when
 * that lies inside the area.  Answers 404 and returns false otherwise. */
static bool region_of_req(struct http_req *req, const struct campaign *c, const char *asked,
			  char *out, size_t size)
{
	const char *scope = req->user->scope;
	if (asked && *asked) {
		size_t len = strlen(asked);
		if (len >= size || !fk_all_digits(asked, len) || !region_level_of_len(len) ||
		    !access_scope_contains(scope, asked) ||
		    !access_scope_contains(c->region_code, asked)) {
			http_error(req, 404, NULL,
				   "no region '%.40s' in your scope and campaign %" PRId64 "'s area",
				   asked, c->id);
			return false;
		}
		fk_strlcpy(out, asked, size);
		return true;
	}
	fk_strlcpy(out, access_scope_contains(scope, c->region_code) ? c->region_code : scope,
		   size);
	return true;
}

/* ------------------------------------------------------------ coverage */

/* Samples in the 60 minutes before now, from hourly counts of the sites
 * in [lo, hi): the current hour's, plus the previous hour's share of the
 * window (an estimate: counts are kept per hour). */
static enum fk_status samples_last_hour(sqlite3 *db, int64_t cid, const char *lo, const char *hi,
					int64_t now, int64_t *out, struct fk_err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t h = now / 3600, cur = 0, prev = 0;
	int rc;
	*out = 0;
	if (sqlite3_prepare_v2(db,
			       "SELECT sh.hour, sum(sh.samples) FROM sites s JOIN site_hours sh"
			       " ON sh.campaign_id = ?1 AND sh.site_id = s.id AND sh.hour >= ?4"
			       " AND sh.hour <= ?5"
			       " WHERE s.region_code >= ?2 AND s.region_code < ?3 GROUP BY sh.hour",
			       -1, &st, NULL) != SQLITE_OK)
		return fk_fail(err, FK_EDB, "cannot read site hours: %s", sqlite3_errmsg(db));
	sqlite3_bind_int64(st, 1, cid);
	sqlite3_bind_text(st, 2, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hi, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, h - 1);
	sqlite3_bind_int64(st, 5, h);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 0) == h)
			cur = sqlite3_column_int64(st, 1);
		else
			prev = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fk_fail(err, FK_EDB, "cannot read site hours: %s", sqlite3_errmsg(db));
	int64_t into = now - h * 3600; /* seconds of the current hour gone */
	*out = cur + (prev * (3600 - into) + 1800) / 3600;
	return FK_OK;
}

struct cov_pending {
	int64_t retest, resample, overdue, candidates;
};

/* Open retest and resample tasks following from the campaign's tubes, and
 * pending case candidates of its tubes, in [lo, hi). */
static enum fk_status pending_of(sqlite3 *db, int64_t cid, const char *lo, const char *hi,
				 int64_t now, struct cov_pending *p, struct fk_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;
	memset(p, 0, sizeof(*p));
	if (sqlite3_prepare_v2(db,
			       "SELECT t.kind, count(*), sum(t.due_at < ?4) FROM tasks t"
			       " JOIN tubes u ON u.id = t.ref_id"
			       " WHERE t.region_code >= ?2 AND t.region_code < ?3"
			       " AND t.status = 'open' AND t.kind IN ('retest', 'resample')"
			       " AND u.campaign_id = ?1 GROUP BY t.kind",
			       -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_int64(st, 1, cid);
	sqlite3_bind_text(st, 2, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hi, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *kind = http_col(st, 0);
		int64_t n = sqlite3_column_int64(st, 1);
		if (!strcmp(kind, "retest"))
			p->retest = n;
		else
			p->resample = n;
		p->overdue += sqlite3_column_int64(st, 2);
	}
	if (rc != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db,
			       "SELECT count(*) FROM case_candidates k JOIN tubes u ON u.id = k.tube_id"
			       " JOIN samples s ON s.tube_id = k.tube_id AND s.person_id = k.person_id"
			       " WHERE k.status = 'pending' AND u.campaign_id = ?1"
			       " AND s.grid_code >= ?2 AND s.grid_code < ?3",
			       -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_int64(st, 1, cid);
	sqlite3_bind_text(st, 2, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hi, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto dberr;
	p->candidates = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return FK_OK;
dberr:
	sqlite3_finalize(st);
	return fk_fail(err, FK_EDB, "cannot read pending work: %s", sqlite3_errmsg(db));
}

static double ratio(int64_t a, int64_t b, double if_zero)
{
	if (b <= 0)
		return if_zero;
	double r = (double)a / (double)b;
	return r < 0 ? 0 : r > 1 ? 1 : r;
}

static void coverage_get(struct http_req *req)
{
	sqlite3 *db = http_reader(req);
	struct campaign c;
	struct cov_tree t = {0};
	struct cov_pending pend;
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	char root[REGION_CODE_MAX], hi[REGION_CODE_MAX + 2];
	const char *depth_s = http_query(req, "depth");
	int64_t depth = 1, now = fk_now(), last_hour = 0;
	enum fk_status s;

	if (!db || !campaign_of_req(req, db, &c))
		return;
	if (depth_s && *depth_s) {
		if (!strcmp(depth_s, "all"))
			depth = 6;
		else if (!fk_parse_i64(depth_s, 0, 5, &depth)) {
			http_error(req, 400, NULL, "depth must be 0 to 5 or 'all'");
			return;
		}
	}
	if (!region_of_req(req, &c, http_query(req, "region"), root, sizeof(root)))
		return;
	int max_level = region_level_of_len(strlen(root)) + (int)depth;
	if (max_level > 6)
		max_level = 6;
	s = cov_tree_build(db, c.id, root, max_level, &t, &err);
	if (s == FK_ENOTFOUND) {
		http_error(req, 404, NULL, "no region '%s' in your scope", root);
		return;
	}
	access_scope_upper(root, hi, sizeof(hi));
	if (!s)
		s = samples_last_hour(db, c.id, root, hi, now, &last_hour, &err);
	if (!s)
		s = pending_of(db, c.id, root, hi, now, &pend, &err);
	if (!s) {
		strbuf_addstr(&o, "{\"campaign\":");
		s = campaign_json(&o, db, c.id, NULL, 0, &err);
	}
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}

	const struct cov_figures *rf = &t.nodes[0].f;
	int64_t missing = figures_missing(rf);
	double elapsed = ratio(now - c.starts_at, c.deadline - c.starts_at, 1);
	if (now < c.starts_at)
		elapsed = 0;
	double sampled = ratio(rf->sampled_expected, rf->expected, 1);
	strbuf_addstr(&o, ",\"as_of\":");
	time_json(&o, now);
	strbuf_addf(&o,
		    ",\"progress\":{\"time_elapsed\":%.4f,\"sampled\":%.4f,\"resulted\":%.4f,"
		    "\"on_track\":%s,\"samples_last_hour\":%" PRId64 ",\"projected_end\":",
		    elapsed, sampled, ratio(rf->resulted, rf->sampled, 0),
		    missing <= 0 || sampled >= elapsed ? "true" : "false", last_hour);
	if (missing > 0 && last_hour > 0)
		time_json(&o, now + (int64_t)((double)missing / (double)last_hour * 3600.0));
	else
		strbuf_addstr(&o, "null");
	strbuf_addf(&o,
		    "},\"pending\":{\"retest_tasks\":%" PRId64 ",\"resample_tasks\":%" PRId64
		    ",\"overdue_tasks\":%" PRId64 ",\"candidates\":%" PRId64 "},\"tree\":",
		    pend.retest, pend.resample, pend.overdue, pend.candidates);
	cov_tree_json(&o, &t);
	strbuf_addch(&o, '}');
	http_json(req, 200, o.buf);
	{
		char obj[64], detail[96];
		snprintf(obj, sizeof(obj), "campaign:%" PRId64 " region:%s", c.id, root);
		snprintf(detail, sizeof(detail), "%zu regions to level %d", t.n, max_level);
		http_audit(req, "coverage.read", obj, detail);
	}
done:
	cov_tree_release(&t);
	strbuf_release(&o);
}

/* ------------------------------------------------------------ sites */

static void campaign_sites(struct http_req *req)
{
	sqlite3 *db = http_reader(req);
	struct campaign c;
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	sqlite3_stmt *st = NULL, *hs = NULL;
	char root[REGION_CODE_MAX], hi[REGION_CODE_MAX + 2];
	int64_t now = fk_now(), h = now / 3600;
	int rc, n = 0;

	if (!db || !campaign_of_req(req, db, &c) ||
	    !region_of_req(req, &c, http_query(req, "region"), root, sizeof(root)))
		return;
	access_scope_upper(root, hi, sizeof(hi));
	if (sqlite3_prepare_v2(db,
			       "SELECT s.id, s.code, s.name, s.region_code, coalesce(r.name, ''),"
			       " s.capacity_per_hour,"
			       " (SELECT sum(samples) FROM site_hours sh WHERE sh.campaign_id = ?1"
			       "  AND sh.site_id = s.id)"
			       " FROM sites s LEFT JOIN regions r ON r.code = s.region_code"
			       " WHERE s.region_code >= ?2 AND s.region_code < ?3"
			       " AND EXISTS (SELECT 1 FROM site_hours sh WHERE sh.campaign_id = ?1"
			       "  AND sh.site_id = s.id)"
			       " ORDER BY s.code",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT hour, samples FROM site_hours WHERE campaign_id = ?1"
			       " AND site_id = ?2 AND hour > ?3 AND hour <= ?4 ORDER BY hour",
			       -1, &hs, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_int64(st, 1, c.id);
	sqlite3_bind_text(st, 2, root, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hi, -1, SQLITE_STATIC);
	strbuf_addstr(&o, "{\"items\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t by_hour[24] = {0};
		int64_t site = sqlite3_column_int64(st, 0);
		sqlite3_reset(hs);
		sqlite3_bind_int64(hs, 1, c.id);
		sqlite3_bind_int64(hs, 2, site);
		sqlite3_bind_int64(hs, 3, h - 24);
		sqlite3_bind_int64(hs, 4, h);
		int hrc;
		while ((hrc = sqlite3_step(hs)) == SQLITE_ROW) {
			int64_t k = sqlite3_column_int64(hs, 0) - (h - 23);
			if (k >= 0 && k < 24)
				by_hour[k] = sqlite3_column_int64(hs, 1);
		}
		if (hrc != SQLITE_DONE)
			goto dberr;
		int64_t into = now - h * 3600;
		int64_t last = by_hour[23] + (by_hour[22] * (3600 - into) + 1800) / 3600;
		if (n++)
			strbuf_addch(&o, ',');
		strbuf_addstr(&o, "{\"code\":");
		strbuf_add_json_str(&o, http_col(st, 1));
		strbuf_addstr(&o, ",\"name\":");
		strbuf_add_json_str(&o, http_col(st, 2));
		strbuf_addstr(&o, ",\"region\":{\"code\":");
		strbuf_add_json_str(&o, http_col(st, 3));
		strbuf_addstr(&o, ",\"name\":");
		strbuf_add_json_str(&o, http_col(st, 4));
		strbuf_addf(&o,
			    "},\"capacity_per_hour\":%" PRId64 ",\"samples\":%" PRId64
			    ",\"last_hour\":%" PRId64 ",\"hours\":[",
			    (int64_t)sqlite3_column_int64(st, 5), (int64_t)sqlite3_column_int64(st, 6),
			    last);
		for (int k = 0; k < 24; k++) {
			strbuf_addstr(&o, k ? ",{\"hour\":" : "{\"hour\":");
			time_json(&o, (h - 23 + k) * 3600);
			strbuf_addf(&o, ",\"samples\":%" PRId64 "}", by_hour[k]);
		}
		strbuf_addstr(&o, "]}");
	}
	if (rc != SQLITE_DONE)
		goto dberr;
	strbuf_addstr(&o, "]}");
	http_json(req, 200, o.buf);
	goto done;
dberr:
	fk_fail(&err, FK_EDB, "cannot read sites: %s", sqlite3_errmsg(db));
	http_fail(req, FK_EDB, &err);
done:
	sqlite3_finalize(st);
	sqlite3_finalize(hs);
	strbuf_release(&o);
}

/* ------------------------------------------------------------ missing */

/* Persons of [?2, ?3) in campaign ?1's expected population with no round
 * sample: counted at launch (id <= ?4), not exempt, with a listed
 * occupation when ?5 is not NULL (periodic), listed when ?6 (targeted). */
#define MISSING_FROM                                                                             \
	" FROM persons p"                                                                        \
	" WHERE p.grid_code >= ?2 AND p.grid_code < ?3 AND p.id <= ?4"                           \
	" AND NOT EXISTS (SELECT 1 FROM campaign_exempt e WHERE e.campaign_id = ?1"             \
	"  AND e.person_id = p.id)"                                                              \
	" AND NOT EXISTS (SELECT 1 FROM samples s WHERE s.campaign_id = ?1"                      \
	"  AND s.person_id = p.id AND s.round = 1)"                                              \
	" AND (?5 IS NULL OR (p.occupation <> ''"                                                \
	"  AND instr(',' || ?5 || ',', ',' || p.occupation || ',') > 0))"                       \
	" AND (?6 = 0 OR EXISTS (SELECT 1 FROM campaign_targets t WHERE t.campaign_id = ?1"     \
	"  AND t.person_id = p.id))"

#define MISSING_SELECT                                                                           \
	"SELECT p.id, p.name, p.id_number, p.phone,"                                             \
	" (SELECT label FROM households h WHERE h.id = p.household_id), p.occupation,"          \
	" p.grid_code" MISSING_FROM

static void missing_bind(sqlite3_stmt *st, const struct campaign *c, const char *lo,
			 const char *hi)
{
	sqlite3_bind_int64(st, 1, c->id);
	sqlite3_bind_text(st, 2, lo, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, hi, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, c->population_max_id);
	if (!strcmp(c->kind, "periodic"))
		sqlite3_bind_text(st, 5, c->occupations, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_int(st, 6, !strcmp(c->kind, "targeted"));
}

static void campaign_missing(struct http_req *req)
{
	sqlite3 *db = http_reader(req);
	struct campaign c;
	struct strbuf o = STRBUF_INIT, ids = STRBUF_INIT;
	struct fk_err err;
	sqlite3_stmt *st = NULL;
	char hi[REGION_CODE_MAX + 2], after[64], grid[REGION_CODE_MAX];
	const char *g = http_query(req, "grid");
	int limit, n = 0, rc;
	int64_t aid = 0, total = 0, last = 0;

	if (!db || !campaign_of_req(req, db, &c) ||
	    !http_page_params(req, &limit, after, sizeof(after)))
		return;
	if (after[0] && !fk_parse_i64(after, 1, INT64_MAX, &aid)) {
		http_error(req, 400, NULL, "cursor is not valid");
		return;
	}
	if (!g || !*g) {
		/* a grid worker's own grid */
		if (strlen(req->user->scope) != region_len_of_level(6)) {
			http_error(req, 400, NULL, "give grid (a grid code)");
			return;
		}
		g = req->user->scope;
	}
	if (strlen(g) != region_len_of_level(6) || !fk_all_digits(g, strlen(g))) {
		http_error(req, 400, NULL, "grid must be a grid code (15 digits)");
		return;
	}
	if (!region_of_req(req, &c, g, grid, sizeof(grid)))
		return;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM regions WHERE code = ?1 AND level = 6", -1, &st,
			       NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_text(st, 1, grid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (rc == SQLITE_DONE) {
		http_error(req, 404, NULL, "no grid '%s' in your scope", grid);
		return;
	}
	if (rc != SQLITE_ROW)
		goto dberr;
	access_scope_upper(grid, hi, sizeof(hi));

	if (sqlite3_prepare_v2(db, "SELECT count(*)" MISSING_FROM, -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	missing_bind(st, &c, grid, hi);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto dberr;
	total = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;

	if (sqlite3_prepare_v2(db, MISSING_SELECT " AND p.id > ?7 ORDER BY p.id LIMIT ?8", -1, &st,
			       NULL) != SQLITE_OK)
		goto dberr;
	missing_bind(st, &c, grid, hi);
	sqlite3_bind_int64(st, 7, aid);
	sqlite3_bind_int(st, 8, limit + 1);
	strbuf_addf(&o, "{\"total\":%" PRId64 ",\"items\":[", total);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit)
			break;
		char nm[256], idm[40], phm[40];
		last = sqlite3_column_int64(st, 0);
		mask_name(http_col(st, 1), nm, sizeof(nm));
		mask_id_number(http_col(st, 2), idm, sizeof(idm));
		mask_phone(http_col(st, 3), phm, sizeof(phm));
		strbuf_addf(&o, "%s{\"person\":{\"id\":%" PRId64 ",\"name\":", n ? "," : "", last);
		strbuf_add_json_str(&o, nm);
		strbuf_addstr(&o, ",\"id_number\":");
		strbuf_add_json_str(&o, idm);
		strbuf_addstr(&o, ",\"phone\":");
		strbuf_add_json_str(&o, phm);
		strbuf_addstr(&o, "},\"household\":");
		strbuf_add_json_str(&o, http_col(st, 4));
		strbuf_addstr(&o, ",\"occupation\":");
		strbuf_add_json_str(&o, http_col(st, 5));
		strbuf_addch(&o, '}');
		strbuf_addf(&ids, "%s%" PRId64, n ? "," : "", last);
		n++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		goto dberr;
	{
		char key[32], obj[64];
		struct strbuf detail = STRBUF_INIT;
		snprintf(key, sizeof(key), "%" PRId64, last);
		http_page_close(&o, rc == SQLITE_ROW, key);
		http_json(req, 200, o.buf);
		snprintf(obj, sizeof(obj), "campaign:%" PRId64 " grid:%s", c.id, grid);
		strbuf_addf(&detail, "%d of %" PRId64 " missing persons, masked: %s", n, total,
			    ids.buf);
		http_audit(req, "missing.read", obj, detail.buf);
		strbuf_release(&detail);
	}
	goto done;
dberr:
	fk_fail(&err, FK_EDB, "cannot read the missing list: %s", sqlite3_errmsg(db));
	http_fail(req, FK_EDB, &err);
done:
	sqlite3_finalize(st);
	strbuf_release(&o);
	strbuf_release(&ids);
}

/* ------------------------------------------------------------ xlsx */

struct xlsx_job {
	sqlite3 *db;
	const struct campaign *c;
	const char *region;
	bool unmask;
	int max_grids; /* 0: no limit */
	const char *path;
	int64_t now;
	/* out */
	int64_t persons;
	int grids;
};

static const char *const xlsx_columns[] = {"序号", "姓名", "证件号码", "电话", "户", "职业"};
static const double xlsx_widths[] = {6, 12, 22, 15, 24, 14};

/* Starts the sheet of grid g: title row, header row. */
static lxw_worksheet *xlsx_sheet(lxw_workbook *wb, const struct xlsx_job *job, const char *g,
				 lxw_format *title, lxw_format *head)
{
	char gname[1100] = "", cname[1100] = "", community[REGION_CODE_MAX], when[32];
	lxw_worksheet *ws = workbook_add_worksheet(wb, g);
	if (!ws)
		return NULL;
	region_name_of(job->db, g, gname, sizeof(gname));
	if (region_parent_code(g, community, sizeof(community)))
		region_name_of(job->db, community, cname, sizeof(cname));
	struct strbuf t = STRBUF_INIT;
	strbuf_addf(&t, "%s（第%" PRId64 "号）未采样人员  %s%s（%s）  截至 %s", job->c->name,
		    job->c->id, cname, gname, g, fk_format_time(job->now, when, sizeof(when)));
	for (lxw_col_t k = 0; k < FK_ARRAY_LEN(xlsx_widths); k++)
		worksheet_set_column(ws, k, k, xlsx_widths[k], NULL);
	worksheet_write_string(ws, 0, 0, t.buf, title);
	strbuf_release(&t);
	for (lxw_col_t k = 0; k < FK_ARRAY_LEN(xlsx_columns); k++)
		worksheet_write_string(ws, 1, k, xlsx_columns[k], head);
	return ws;
}

/* Writes job->path: one sheet per grid of job->region with at least one
 * missing person.  FK_ETOOBIG when more than job->max_grids grids would
 * have a sheet (nothing useful is left in the file), FK_EDB, FK_EIO. */
static enum fk_status missing_xlsx_write(struct xlsx_job *job, struct fk_err *err)
{
	enum fk_status s = FK_OK;
	sqlite3_stmt *st = NULL;
	lxw_workbook_options opt = {.constant_memory = LXW_TRUE, .tmpdir = NULL};
	lxw_workbook *wb = workbook_new_opt(job->path, &opt);
	lxw_worksheet *ws = NULL;
	char hi[REGION_CODE_MAX + 2], grid[REGION_CODE_MAX] = "";
	lxw_row_t row = 0;
	int rc;

	job->persons = 0;
	job->grids = 0;
	if (!wb)
		return fk_fail(err, FK_EIO, "cannot create '%s'", job->path);
	lxw_format *title = workbook_add_format(wb);
	format_set_bold(title);
	lxw_format *head = workbook_add_format(wb);
	format_set_bold(head);
	format_set_bg_color(head, 0xDDEBF7);
	format_set_border(head, LXW_BORDER_THIN);
	access_scope_upper(job->region, hi, sizeof(hi));
	if (sqlite3_prepare_v2(job->db, MISSING_SELECT " ORDER BY p.grid_code, p.id", -1, &st,
			       NULL) != SQLITE_OK) {
		s = fk_fail(err, FK_EDB, "cannot read the missing list: %s",
			    sqlite3_errmsg(job->db));
		goto out;
	}
	missing_bind(st, job->c, job->region, hi);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *g = http_col(st, 6);
		if (!ws || strcmp(g, grid)) {
			if (job->max_grids && job->grids == job->max_grids) {
				s = fk_fail(err, FK_ETOOBIG,
					    "more than %d grids of '%s' have missing persons;"
					    " ask for a smaller region",
					    job->max_grids, job->region);
				goto out;
			}
			fk_strlcpy(grid, g, sizeof(grid));
			ws = xlsx_sheet(wb, job, grid, title, head);
			if (!ws) {
				s = fk_fail(err, FK_EIO, "cannot add the sheet of grid '%s'", grid);
				goto out;
			}
			job->grids++;
			row = 2;
		}
		const char *name = http_col(st, 1), *idn = http_col(st, 2), *phone = http_col(st, 3);
		char nm[256], idm[40], phm[40];
		if (!job->unmask) {
			mask_name(name, nm, sizeof(nm));
			mask_id_number(idn, idm, sizeof(idm));
			mask_phone(phone, phm, sizeof(phm));
			name = nm;
			idn = idm;
			phone = phm;
		}
		worksheet_write_number(ws, row, 0, (double)(row - 1), NULL);
		worksheet_write_string(ws, row, 1, name, NULL);
		worksheet_write_string(ws, row, 2, idn, NULL);
		worksheet_write_string(ws, row, 3, phone, NULL);
		worksheet_write_string(ws, row, 4, http_col(st, 4), NULL);
		worksheet_write_string(ws, row, 5, http_col(st, 5), NULL);
		row++;
		job->persons++;
	}
	if (rc != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "cannot read the missing list: %s",
			    sqlite3_errmsg(job->db));
		goto out;
	}
	if (!ws) {
		/* a workbook needs a sheet: say that nobody is missing */
		ws = workbook_add_worksheet(wb, "无");
		if (ws)
			worksheet_write_string(ws, 0, 0, "没有未采样人员", title);
	}
out:
	sqlite3_finalize(st);
	lxw_error le = workbook_close(wb);
	if (!s && le != LXW_NO_ERROR)
		s = fk_fail(err, FK_EIO, "cannot write '%s': %s", job->path, lxw_strerror(le));
	return s;
}

static enum fk_status file_read_all(const char *path, struct strbuf *out, struct fk_err *err)
{
	FILE *f = fopen(path, "rb");
	char buf[65536];
	size_t n;
	if (!f)
		return fk_fail(err, FK_EIO, "cannot read '%s': %s", path, strerror(errno));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(out, buf, n);
	bool bad = ferror(f);
	fclose(f);
	return bad ? fk_fail(err, FK_EIO, "cannot read '%s'", path) : FK_OK;
}

static void missing_xlsx(struct http_req *req)
{
	sqlite3 *db = http_reader(req);
	struct campaign c;
	struct fk_err err;
	char root[REGION_CODE_MAX], path[256];
	const char *um = http_query(req, "unmask");
	struct strbuf body = STRBUF_INIT;
	enum fk_status s;

	if (!db || !campaign_of_req(req, db, &c) ||
	    !region_of_req(req, &c, http_query(req, "region"), root, sizeof(root)))
		return;
	if (um && strcmp(um, "0") && strcmp(um, "1")) {
		http_error(req, 400, NULL, "unmask must be 0 or 1");
		return;
	}
	{
		char name[8];
		region_name_of(db, root, name, sizeof(name));
		if (!name[0]) {
			http_error(req, 404, NULL, "no region '%s' in your scope", root);
			return;
		}
	}
	const char *tmp = getenv("TMPDIR");
	snprintf(path, sizeof(path), "%s/fangkong-missing-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0) {
		fk_fail(&err, FK_EIO, "cannot create a temporary file: %s", strerror(errno));
		http_fail(req, FK_EIO, &err);
		return;
	}
	close(fd);
	/* the counters say at once what the list would find after a long scan */
	{
		sqlite3_stmt *q = NULL;
		char hi[REGION_CODE_MAX + 2];
		int64_t grids = -1;
		access_scope_upper(root, hi, sizeof(hi));
		if (sqlite3_prepare_v2(db,
				       "SELECT count(*) FROM campaign_grids WHERE campaign_id = ?1"
				       " AND grid_code >= ?2 AND grid_code < ?3"
				       " AND expected > sampled_expected",
				       -1, &q, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(q, 1, c.id);
			sqlite3_bind_text(q, 2, root, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 3, hi, -1, SQLITE_STATIC);
			if (sqlite3_step(q) == SQLITE_ROW)
				grids = sqlite3_column_int64(q, 0);
		}
		sqlite3_finalize(q);
		if (grids > MISSING_XLSX_MAX_GRIDS) {
			unlink(path);
			http_error(req, 400, NULL,
				   "%" PRId64 " grids of '%s' have missing persons, more than %d;"
				   " ask for a smaller region",
				   grids, root, MISSING_XLSX_MAX_GRIDS);
			return;
		}
	}
	struct xlsx_job job = {
	    .db = db,
	    .c = &c,
	    .region = root,
	    .unmask = um && !strcmp(um, "1") && (role_perms(req->user->role) & PERM_UNMASK),
	    .max_grids = MISSING_XLSX_MAX_GRIDS,
	    .path = path,
	    .now = fk_now(),
	};
	s = missing_xlsx_write(&job, &err);
	if (!s)
		s = file_read_all(path, &body, &err);
	unlink(path);
	if (s == FK_ETOOBIG) {
		http_error(req, 400, NULL, "%s", err.msg);
		goto done;
	}
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}
	strbuf_release(&req->out);
	req->out = body;
	strbuf_init(&body);
	req->status = 200;
	req->content_type = XLSX_MIME;
	{
		char obj[64], detail[128];
		snprintf(obj, sizeof(obj), "campaign:%" PRId64 " region:%s", c.id, root);
		snprintf(detail, sizeof(detail), "%" PRId64 " missing persons in %d grids, %s",
			 job.persons, job.grids, job.unmask ? "unmasked" : "masked");
		http_audit(req, job.unmask ? "missing.export_unmasked" : "missing.export", obj,
			   detail);
	}
done:
	strbuf_release(&body);
}

const struct http_route coverage_routes[] = {
	{"GET", "/api/v1/campaigns/{id}/coverage", coverage_get, 0, PERM_READ_TESTING, 0},
	{"GET", "/api/v1/campaigns/{id}/sites", campaign_sites, ROUTE_OPTIONAL, PERM_READ_TESTING,
	 0},
	{"GET", "/api/v1/campaigns/{id}/missing", campaign_missing, 0, PERM_READ_TESTING, 0},
	{"GET", "/api/v1/campaigns/{id}/missing.xlsx", missing_xlsx, ROUTE_OPTIONAL,
	 PERM_READ_TESTING, 0},
};
const size_t coverage_routes_len = FK_ARRAY_LEN(coverage_routes);

/* ------------------------------------------------------------ CLI */

static void export_missing_usage(FILE *f)
{
	fputs("usage: fangkong export missing --campaign ID --region CODE --out FILE.xlsx\n"
	      "                               [--unmask] [--db FILE]\n"
	      "\n"
	      "Writes the campaign's missing list (persons of the expected population not\n"
	      "yet sampled) for the region's subtree: one sheet per grid with at least one\n"
	      "missing person, named by the grid code, a title row with the campaign and\n"
	      "the grid, then 序号 姓名 证件号码 电话 户 职业.  Names, ID numbers and phones\n"
	      "are masked unless --unmask is given.  The export is audited.\n"
	      "\n"
	      "  --campaign ID  the campaign\n"
	      "  --region CODE  a region inside the campaign's area (grid up to the area)\n"
	      "  --out FILE     the .xlsx to write (replaced if it exists)\n"
	      "  --unmask       full names, ID numbers and phones\n"
	      "  --db FILE      database (default $FANGKONG_DB, then ./fangkong.db)\n"
	      "\n"
	      "exit: 0 ok, 1 failure, 2 bad usage (unknown campaign or region, missing flag)\n",
	      f);
}

int export_missing(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"campaign", required_argument, NULL, 'c'}, {"region", required_argument, NULL, 'r'},
	    {"out", required_argument, NULL, 'o'},      {"unmask", no_argument, NULL, 'u'},
	    {"db", required_argument, NULL, 'd'},       {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *cmd = "fangkong export missing";
	const char *cid_s = NULL, *region = NULL, *out = NULL, *dbflag = NULL;
	bool unmask = false;
	struct fk_err err = {FK_OK, ""};
	struct campaign c;
	sqlite3 *db = NULL;
	int64_t cid;
	int ch, rc = 1;
	enum fk_status s;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cid_s = optarg; break;
		case 'r': region = optarg; break;
		case 'o': out = optarg; break;
		case 'u': unmask = true; break;
		case 'd': dbflag = optarg; break;
		case 'h': export_missing_usage(stdout); return 0;
		case ':':
			fprintf(stderr, "%s: option '%s' needs a value\n", cmd, argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "%s: unknown option '%s'\ntry '%s --help'\n", cmd,
				argv[optind - 1], cmd);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", cmd, argv[optind]);
		return 2;
	}
	if (!cid_s || !region || !out || !*out) {
		fprintf(stderr, "%s: %s is required\n", cmd,
			!cid_s ? "--campaign ID" : !region ? "--region CODE" : "--out FILE.xlsx");
		export_missing_usage(stderr);
		return 2;
	}
	if (!fk_parse_i64(cid_s, 1, INT64_MAX, &cid)) {
		fprintf(stderr, "%s: --campaign '%.40s' is not a campaign id\n", cmd, cid_s);
		return 2;
	}
	if (!testing_region_valid(region)) {
		fprintf(stderr, "%s: --region '%.40s' is not a region code\n", cmd, region);
		return 2;
	}
	const char *path = store_default_path(dbflag);
	if (store_open(path, STORE_MIGRATE, &db, &err)) {
		fprintf(stderr, "%s: %s\n", cmd, err.msg);
		return 1;
	}
	s = campaign_get(db, cid, &c, &err);
	if (s) {
		fprintf(stderr, "%s: %s\n", cmd, err.msg);
		rc = s == FK_ENOTFOUND ? 2 : 1;
		goto close_db;
	}
	char rname[1100];
	region_name_of(db, region, rname, sizeof(rname));
	if (!rname[0] || !access_scope_contains(c.region_code, region)) {
		fprintf(stderr, "%s: region '%s' is not in campaign %" PRId64 "'s area '%s'\n", cmd,
			region, cid, c.region_code);
		rc = 2;
		goto close_db;
	}
	struct xlsx_job job = {
	    .db = db,
	    .c = &c,
	    .region = region,
	    .unmask = unmask,
	    .max_grids = 0,
	    .path = out,
	    .now = fk_now(),
	};
	s = missing_xlsx_write(&job, &err);
	if (s) {
		fprintf(stderr, "%s: %s\n", cmd, err.msg);
		unlink(out);
		goto close_db;
	}
	char actor[128], obj[64], detail[160];
	fk_cli_actor("cli", actor, sizeof(actor));
	snprintf(obj, sizeof(obj), "campaign:%" PRId64 " region:%s", cid, region);
	snprintf(detail, sizeof(detail), "%" PRId64 " missing persons in %d grids, %s -> %s",
		 job.persons, job.grids, unmask ? "unmasked" : "masked", "xlsx");
	if (audit_append(db, actor, unmask ? "missing.export_unmasked" : "missing.export", obj,
			 detail, "cli", &err)) {
		fprintf(stderr, "%s: %s; the file is removed\n", cmd, err.msg);
		unlink(out);
		goto close_db;
	}
	printf("missing list: %" PRId64 " persons in %d grids of %s %s -> %s (%s)\n", job.persons,
	       job.grids, region, rname, out, unmask ? "unmasked" : "masked");
	rc = 0;
close_db:
	store_close(db);
	return rc;
}
