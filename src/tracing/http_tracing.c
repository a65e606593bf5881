/* http_tracing.c — cases, contacts, trajectories and chains over HTTP.
 *
 * Design note.
 * - Scope: a case is visible when its person lives inside the user's scope
 *   (else 404, as the registry answers).  Its contacts may live anywhere:
 *   they are listed, but always masked (name 张*明, ID number, no phone);
 *   an identity is unmasked only through GET /api/v1/persons/{id}, which
 *   checks scope and audits the reveal.  A chain is visible when at least
 *   one of its cases is.
 * - Contacts are computed per request from the server's contact index
 *   (tracing_index()); nothing is cached here, so an answer always reflects
 *   every committed scan.  Lists walk the set, which the engine keeps
 *   sorted by (exposure, person id); the cursor is that key, so a page
 *   boundary stays put while new scans arrive: a contact whose exposure is
 *   the same in both requests is listed exactly once.  (One whose exposure
 *   moves before the cursor between pages, e.g. after an import of older
 *   check-ins, is not listed again by that walk; a fresh walk shows it.)
 * - Persons' grids come from the persons table, one primary-key lookup per
 *   contact with one prepared statement reused (store_reader_stmt): a case
 *   with 20,000 contacts costs 20,000 B-tree probes for the counts and for
 *   a grid filter, and only a page's worth otherwise.
 * - Counts sort one array of grid codes: grids are contiguous, and so are
 *   communities (a grid code extends its community's code), so one sort
 *   gives both.  Household contacts count under the venue "household".
 * - Every answer holding personal data (even masked) is audited with
 *   http_audit before it leaves; when the audit cannot be written the
 *   answer becomes 503.  Adding a case is audited by case_add itself.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healthcode/healthcode.h"
#include "http/http.h"
#include "lib/util.h"
#include "registry/registry.h"
#include "store/store.h"
#include "tracing/tracing.h"

#include "control/control.h"

#include "lib/banned.h"

#define CASE_BODY_MAX 4096
#define NAME_MASKED_MAX 64
#define GRID_CODE_MAX 24
#define REGION_NAME_MAX 256
#define KEY_MAX 64
#define HOUSEHOLD_VENUE "household"

/* ---------------- small helpers ---------------- */

static struct contact_index *index_or_503(struct http_req *req)
{
	struct contact_index *ix = tracing_index();
	if (!ix)
		http_error(req, 503, NULL, "the contact index is not loaded yet");
	return ix;
}

static void db_fail(struct http_req *req, sqlite3_stmt *st, const char *what)
{
	struct fk_err err;
	fk_fail(&err, FK_EDB, "%s: %s", what, sqlite3_errmsg(sqlite3_db_handle(st)));
	http_fail(req, FK_EDB, &err);
}

/* ,"key":"ISO time" or null when t is 0 (unknown) */
static void time_member(struct strbuf *o, const char *key, int64_t t)
{
	char ts[32];
	strbuf_addch(o, ',');
	strbuf_add_json_str(o, key);
	if (t)
		strbuf_addf(o, ":\"%s\"", fk_format_time(t, ts, sizeof(ts)));
	else
		strbuf_addstr(o, ":null");
}

static void code_name_json(struct strbuf *o, const char *code, const char *name)
{
	strbuf_addstr(o, "{\"code\":");
	strbuf_add_json_str(o, code);
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, name);
	strbuf_addch(o, '}');
}

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

/* ---------------- persons and venues by id ---------------- */

/* A person as listed here: masked, with the grid. */
struct person_brief {
	int64_t id;
	char name[NAME_MASKED_MAX];      /* masked */
	char id_number[32];              /* masked */
	char grid_code[GRID_CODE_MAX];
	char grid_name[REGION_NAME_MAX];
};

static const char *const PERSON_BRIEF_SQL =
	"SELECT p.name, p.id_number, p.grid_code, g.name FROM persons p"
	" JOIN regions g ON g.code = p.grid_code WHERE p.id = ?";
static const char *const PERSON_GRID_SQL = "SELECT grid_code FROM persons WHERE id = ?";
static const char *const VENUE_BY_ID_SQL =
	"SELECT v.code, v.name, v.kind, v.region_code, r.name FROM venue_keys k"
	" JOIN venues v ON v.code = k.code JOIN regions r ON r.code = v.region_code"
	" WHERE k.id = ?";
static const char *const REGION_NAME_SQL =
	"SELECT r.name, coalesce(u.name, '') FROM regions r"
	" LEFT JOIN regions u ON u.code = r.parent_code WHERE r.code = ?";

/* Fills *out for person id with st (PERSON_BRIEF_SQL, reused: reset here).
 * Returns SQLITE_ROW, SQLITE_DONE (no such person) or an error code. */
static int person_brief_get(sqlite3_stmt *st, int64_t id, struct person_brief *out)
{
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	memset(out, 0, sizeof(*out));
	out->id = id;
	if (rc != SQLITE_ROW)
		return rc;
	mask_name(http_col(st, 0), out->name, sizeof(out->name));
	mask_id_number(http_col(st, 1), out->id_number, sizeof(out->id_number));
	fk_strlcpy(out->grid_code, http_col(st, 2), sizeof(out->grid_code));
	fk_strlcpy(out->grid_name, http_col(st, 3), sizeof(out->grid_name));
	return rc;
}

static void person_brief_json(struct strbuf *o, const struct person_brief *pb)
{
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"name\":", pb->id);
	strbuf_add_json_str(o, pb->name);
	strbuf_addstr(o, ",\"id_number\":");
	strbuf_add_json_str(o, pb->id_number);
	strbuf_addstr(o, ",\"grid\":");
	code_name_json(o, pb->grid_code, pb->grid_name);
	strbuf_addch(o, '}');
}

/* Appends {"code","name"} (full: also kind, kind_label, region) of venue
 * id with st (VENUE_BY_ID_SQL, reset here); null if unknown. */
static int venue_json(struct strbuf *o, sqlite3_stmt *st, uint32_t venue_id, bool full)
{
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, venue_id);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		strbuf_addstr(o, "null");
		return rc;
	}
	strbuf_addstr(o, "{\"code\":");
	strbuf_add_json_str(o, http_col(st, 0));
	strbuf_addstr(o, ",\"name\":");
	strbuf_add_json_str(o, http_col(st, 1));
	if (full) {
		strbuf_addstr(o, ",\"kind\":");
		strbuf_add_json_str(o, http_col(st, 2));
		strbuf_addstr(o, ",\"kind_label\":");
		strbuf_add_json_str(o, venue_kind_label(http_col(st, 2)));
		strbuf_addstr(o, ",\"region\":");
		code_name_json(o, http_col(st, 3), http_col(st, 4));
	}
	strbuf_addch(o, '}');
	return rc;
}

/* ---------------- cases ---------------- */

/* A case's milestones and outcome (the control loop records them: POST
 * /api/v1/cases/{id}/milestones); times 0 when not recorded. */
struct case_milestones {
	int64_t team_on_site_at, core_info_at, reported_at, outcome_at;
	char outcome[24];
};

#define CASE_MILESTONE_COLUMNS                                                                  \
	"coalesce(c.team_on_site_at, 0), coalesce(c.core_info_at, 0),"                          \
	" coalesce(c.reported_at, 0), c.outcome, coalesce(c.outcome_at, 0)"
static const char *const CASE_MILESTONES_SQL =
	"SELECT " CASE_MILESTONE_COLUMNS " FROM cases c WHERE c.id = ?";

/* Reads the milestones from columns i.. of st (CASE_MILESTONE_COLUMNS). */
static void case_milestones_from(sqlite3_stmt *st, int i, struct case_milestones *m)
{
	m->team_on_site_at = sqlite3_column_int64(st, i);
	m->core_info_at = sqlite3_column_int64(st, i + 1);
	m->reported_at = sqlite3_column_int64(st, i + 2);
	fk_strlcpy(m->outcome, http_col(st, i + 3), sizeof(m->outcome));
	m->outcome_at = sqlite3_column_int64(st, i + 4);
}

/* Loads the milestones of case id; false after answering 500/503. */
static bool case_milestones_get(struct http_req *req, int64_t id, struct case_milestones *m)
{
	struct fk_err err;
	sqlite3_stmt *st = store_reader_stmt(CASE_MILESTONES_SQL, &err);
	memset(m, 0, sizeof(*m));
	fk_strlcpy(m->outcome, "under_treatment", sizeof(m->outcome));
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return false;
	}
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		case_milestones_from(st, 0, m);
	else if (rc != SQLITE_DONE)
		db_fail(req, st, "case milestones");
	store_stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

static void case_json(struct strbuf *o, const struct case_rec *c, const struct person_brief *pb,
		      const struct case_milestones *m, const struct tracing_params *p, int64_t now)
{
	int64_t from, to;
	case_window(c, p, now, &from, &to);
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"classification\":\"%s\",\"person\":", c->id,
		    case_class_name(c->cls));
	person_brief_json(o, pb);
	time_member(o, "onset_at", c->onset_at);
	time_member(o, "first_positive_at", c->first_positive_at);
	time_member(o, "isolated_at", c->isolated_at);
	strbuf_addstr(o, ",\"found_where\":");
	strbuf_add_json_str(o, c->found_where);
	strbuf_addf(o, ",\"chain_id\":%" PRId64, c->chain_id);
	time_member(o, "created_at", c->created_at);
	strbuf_addstr(o, ",\"outcome\":");
	strbuf_add_json_str(o, m->outcome);
	time_member(o, "outcome_at", m->outcome_at);
	time_member(o, "team_on_site_at", m->team_on_site_at);
	time_member(o, "core_info_at", m->core_info_at);
	time_member(o, "reported_at", m->reported_at);
	char ts[32];
	strbuf_addf(o, ",\"window\":{\"from\":\"%s\"", fk_format_time(from, ts, sizeof(ts)));
	strbuf_addf(o, ",\"to\":\"%s\"}", fk_format_time(to, ts, sizeof(ts)));
	strbuf_addch(o, '}');
}

/* Loads the case named by the route's {id} when its person is inside the
 * user's scope; else answers 404 (absent, malformed or out of scope alike)
 * or 500/503 and returns false. */
static bool case_in_scope(struct http_req *req, struct case_rec *c, struct person_brief *pb)
{
	struct fk_err err;
	const char *key = req->params[0];
	int64_t id;
	sqlite3 *db = http_reader(req);
	if (!db)
		return false;
	if (!fk_parse_i64(key, 1, INT64_MAX, &id)) {
		http_error(req, 404, NULL, "no case '%s' in your scope", key);
		return false;
	}
	enum fk_status s = case_get(db, id, c, &err);
	if (s == FK_ENOTFOUND) {
		http_error(req, 404, NULL, "no case '%s' in your scope", key);
		return false;
	}
	if (s) {
		http_fail(req, s, &err);
		return false;
	}
	sqlite3_stmt *st = store_reader_stmt(PERSON_BRIEF_SQL, &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return false;
	}
	int rc = person_brief_get(st, c->person_id, pb);
	bool ok = false;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		db_fail(req, st, "case person");
	else if (rc == SQLITE_ROW && access_scope_contains(req->user->scope, pb->grid_code))
		ok = true;
	else
		http_error(req, 404, NULL, "no case '%s' in your scope", key);
	store_stmt_done(st);
	return ok;
}

static bool member_time(struct http_req *req, json_t *o, const char *key, int64_t *out)
{
	const char *s;
	*out = 0;
	if (!http_member_str(req, o, key, &s))
		return false;
	if (s && !fk_parse_time(s, out)) {
		http_error(req, 400, NULL,
			   "'%s' is not an ISO 8601 time with offset (2022-01-10T08:30:00+08:00)",
			   key);
		return false;
	}
	return true;
}

static void case_post(struct http_req *req)
{
	json_t *o = NULL;
	const char *idn, *cls, *where, *source;
	struct case_rec c;
	struct person_brief pb;
	struct tracing_params p;
	struct fk_err err;
	struct strbuf out = STRBUF_INIT;
	sqlite3_stmt *st = NULL;
	struct contact_index *ix;
	char idm[40];

	memset(&c, 0, sizeof(c));
	tracing_params_default(&p);
	if (!(o = http_body_object(req)))
		goto done;
	if (!http_member_str(req, o, "id_number", &idn) || !http_member_str(req, o, "classification", &cls) ||
	    !http_member_str(req, o, "found_where", &where) ||
	    !http_member_str(req, o, "source", &source) ||
	    !member_time(req, o, "onset_at", &c.onset_at) ||
	    !member_time(req, o, "first_positive_at", &c.first_positive_at) ||
	    !member_time(req, o, "isolated_at", &c.isolated_at))
		goto done;
	if (!idn || !*idn) {
		http_error(req, 400, NULL, "'id_number' is required");
		goto done;
	}
	if (cls && !case_class_parse(cls, &c.cls)) {
		http_error(req, 422, NULL,
			   "'classification' must be confirmed, asymptomatic or suspected");
		goto done;
	}
	if (!cls)
		c.cls = CASE_CONFIRMED;
	/* "source" is another name for where the case was found */
	if (source && where && strcmp(source, where)) {
		http_error(req, 400, NULL, "'source' and 'found_where' differ: give one of them");
		goto done;
	}
	if (!where)
		where = source;
	if (where && !fk_strlcpy(c.found_where, where, sizeof(c.found_where))) {
		http_error(req, 422, NULL, "'found_where' is longer than %zu bytes",
			   sizeof(c.found_where) - 1);
		goto done;
	}
	if (!c.onset_at && !c.first_positive_at) {
		http_error(req, 422, NULL, "give 'onset_at' or 'first_positive_at'");
		goto done;
	}
	if (!http_reader(req) || !(ix = index_or_503(req)))
		goto done;
	mask_id_number(idn, idm, sizeof(idm));
	st = store_reader_stmt("SELECT id, grid_code FROM persons WHERE id_number = upper(?)", &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	sqlite3_bind_text(st, 1, idn, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_fail(req, st, "case person");
		goto done;
	}
	if (rc == SQLITE_DONE || !access_scope_contains(req->user->scope, http_col(st, 1))) {
		http_error(req, 422, NULL, "no person with ID number '%s' in your scope", idm);
		goto done;
	}
	c.person_id = sqlite3_column_int64(st, 0);
	store_stmt_done(st);
	st = NULL;

	int64_t now = fk_now();
	/* links are found on this thread's reader, so scans keep committing
	 * while they are computed; only the insert holds the writer */
	struct chain_link *links = NULL;
	size_t nlinks = 0;
	sqlite3 *rd = store_reader();
	enum fk_status s = rd ? case_links_find(rd, ix, &p, &c, now, &links, &nlinks, &err)
			      : fk_fail(&err, FK_EDB, "database unavailable");
	if (!s) {
		sqlite3 *w = store_writer_lock();
		s = w ? case_add(w, &p, &c, links, nlinks, req->user->username, req->origin, now,
				 &err)
		      : fk_fail(&err, FK_EDB, "database unavailable");
		store_writer_unlock();
	}
	free(links);
	if (s == FK_ENOTFOUND)
		s = fk_fail(&err, FK_EINVAL, "no person with ID number '%s'", idm);
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}
	/* the contacts as found now: orders and health codes start from them */
	size_t recorded = 0;
	healthcode_person_changed(c.person_id);
	if ((s = tracing_record_case_contacts(ix, rd, &c, &p, now, true, &recorded, &err))) {
		http_fail(req, s, &err);
		goto done;
	}
	/* the control loop: the person's own orders end, orders are proposed
	 * for the contacts */
	if ((s = control_case_added(rd, &c, now, true, req->user->username, NULL, &err))) {
		http_fail(req, s, &err);
		goto done;
	}
	if (!(st = store_reader_stmt(PERSON_BRIEF_SQL, &err))) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	rc = person_brief_get(st, c.person_id, &pb);
	if (rc != SQLITE_ROW) {
		db_fail(req, st, "case person");
		goto done;
	}
	struct case_milestones m;
	if (!case_milestones_get(req, c.id, &m))
		goto done;
	case_json(&out, &c, &pb, &m, &p, now);
	http_json(req, 201, out.buf);
done:
	store_stmt_done(st);
	strbuf_release(&out);
	json_decref(o);
}

#define CASE_LIST_SELECT                                                                        \
	"SELECT c.id, c.person_id, c.classification, coalesce(c.onset_at,0),"                  \
	" coalesce(c.first_positive_at,0), coalesce(c.isolated_at,0), c.found_where,"           \
	" c.chain_id, c.created_at, p.name, p.id_number, p.grid_code, g.name, "                \
	CASE_MILESTONE_COLUMNS " FROM cases c JOIN persons p ON p.id = c.person_id"            \
	" JOIN regions g ON g.code = p.grid_code "

static void cases_list(struct http_req *req)
{
	struct fk_err err;
	struct tracing_params p;
	struct strbuf o = STRBUF_INIT, ids = STRBUF_INIT;
	char after[KEY_MAX], lo[GRID_CODE_MAX], hi[GRID_CODE_MAX], last[KEY_MAX] = "";
	int limit, n = 0, rc;
	int64_t before = INT64_MAX, now = fk_now();
	sqlite3_stmt *st = NULL;

	tracing_params_default(&p);
	if (!http_reader(req) || !http_page_params(req, &limit, after, sizeof(after)))
		return;
	if (after[0] && !fk_parse_i64(after, 1, INT64_MAX, &before)) {
		http_error(req, 400, NULL, "cursor is not valid");
		return;
	}
	fk_strlcpy(lo, req->user->scope, sizeof(lo));
	access_scope_upper(lo, hi, sizeof(hi));
	st = store_reader_stmt(CASE_LIST_SELECT "WHERE p.grid_code >= ?1 AND p.grid_code < ?2"
						" AND c.id < ?3 ORDER BY c.id DESC LIMIT ?4",
			       &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, before);
	sqlite3_bind_int(st, 4, limit + 1);
	strbuf_addstr(&o, "{\"items\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit)
			break;
		struct case_rec c;
		struct person_brief pb;
		memset(&c, 0, sizeof(c));
		memset(&pb, 0, sizeof(pb));
		c.id = sqlite3_column_int64(st, 0);
		c.person_id = sqlite3_column_int64(st, 1);
		if (!case_class_parse(http_col(st, 2), &c.cls))
			c.cls = CASE_CONFIRMED;
		c.onset_at = sqlite3_column_int64(st, 3);
		c.first_positive_at = sqlite3_column_int64(st, 4);
		c.isolated_at = sqlite3_column_int64(st, 5);
		fk_strlcpy(c.found_where, http_col(st, 6), sizeof(c.found_where));
		c.chain_id = sqlite3_column_int64(st, 7);
		c.created_at = sqlite3_column_int64(st, 8);
		pb.id = c.person_id;
		mask_name(http_col(st, 9), pb.name, sizeof(pb.name));
		mask_id_number(http_col(st, 10), pb.id_number, sizeof(pb.id_number));
		fk_strlcpy(pb.grid_code, http_col(st, 11), sizeof(pb.grid_code));
		fk_strlcpy(pb.grid_name, http_col(st, 12), sizeof(pb.grid_name));
		struct case_milestones m;
		case_milestones_from(st, 13, &m);
		if (n++)
			strbuf_addch(&o, ',');
		case_json(&o, &c, &pb, &m, &p, now);
		strbuf_addf(&ids, "%s%" PRId64, ids.len ? "," : "", c.id);
		snprintf(last, sizeof(last), "%" PRId64, c.id);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		db_fail(req, st, "cases");
		goto done;
	}
	http_page_finish(req, &o, rc == SQLITE_ROW, last, "case.list", "cases", n, ids.buf);
done:
	store_stmt_done(st);
	strbuf_release(&o);
	strbuf_release(&ids);
}

/* Computes the contacts of c; on failure answers and returns false.
 * secondary may be NULL (close contacts only). */
static bool contacts_of(struct http_req *req, const struct case_rec *c,
			const struct tracing_params *p, int64_t now, struct contact_set *close,
			struct contact_set *secondary)
{
	struct fk_err err;
	struct contact_index *ix = index_or_503(req);
	sqlite3 *db = store_reader();
	memset(close, 0, sizeof(*close));
	if (secondary)
		memset(secondary, 0, sizeof(*secondary));
	if (!ix)
		return false;
	enum fk_status s = tracing_contacts(ix, db, c, p, now, close, secondary, &err);
	if (s) {
		contact_set_release(close);
		if (secondary)
			contact_set_release(secondary);
		http_fail(req, s == FK_EINVAL || s == FK_ENOTFOUND ? FK_EDB : s, &err);
		return false;
	}
	return true;
}

static void case_get_one(struct http_req *req)
{
	struct case_rec c;
	struct person_brief pb;
	struct tracing_params p;
	struct contact_set close, sec;
	struct strbuf o = STRBUF_INIT;
	char obj[40];
	int64_t now = fk_now();

	tracing_params_default(&p);
	struct case_milestones m;
	if (!case_in_scope(req, &c, &pb) || !case_milestones_get(req, c.id, &m) ||
	    !contacts_of(req, &c, &p, now, &close, &sec))
		return;
	case_json(&o, &c, &pb, &m, &p, now);
	o.len--;
	strbuf_addf(&o, ",\"contacts\":{\"close\":%zu,\"secondary\":%zu}}", close.n, sec.n);
	http_json(req, 200, o.buf);
	snprintf(obj, sizeof(obj), "case:%" PRId64, c.id);
	http_audit(req, "case.read", obj, "person masked, contact counts");
	contact_set_release(&close);
	contact_set_release(&sec);
	strbuf_release(&o);
}

/* ---------------- contacts ---------------- */

struct contact_filter {
	int degree;
	const char *grid;      /* region code prefix, or NULL */
	bool venue_given;
	bool household;        /* venue=household */
	uint32_t venue_id;
};

/* Reads degree, grid and venue from the query; answers 400/404 and
 * returns false when one is bad. */
static bool contact_filter_parse(struct http_req *req, struct contact_filter *f, bool filters)
{
	const char *d = http_query(req, "degree");
	int64_t v = 1;
	memset(f, 0, sizeof(*f));
	if (d && !fk_parse_i64(d, 1, 2, &v)) {
		http_error(req, 400, NULL, "degree must be 1 (close) or 2 (secondary)");
		return false;
	}
	f->degree = (int)v;
	if (!filters)
		return true;
	const char *g = http_query(req, "grid");
	const char *venue = http_query(req, "venue");
	if (g && *g) {
		size_t gl = strlen(g);
		if (!fk_all_digits(g, gl) || !region_level_of_len(gl)) {
			http_error(req, 400, NULL, "grid must be a region code, not '%s'", g);
			return false;
		}
		f->grid = g;
	}
	if (venue && *venue) {
		f->venue_given = true;
		if (!strcmp(venue, HOUSEHOLD_VENUE)) {
			f->household = true;
			return true;
		}
		struct fk_err err;
		sqlite3_stmt *st =
			store_reader_stmt("SELECT id FROM venue_keys WHERE code = ?", &err);
		if (!st) {
			http_fail(req, FK_EDB, &err);
			return false;
		}
		sqlite3_bind_text(st, 1, venue, -1, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			f->venue_id = (uint32_t)sqlite3_column_int64(st, 0);
		else if (rc == SQLITE_DONE)
			http_error(req, 404, NULL, "no venue '%s'", venue);
		else
			db_fail(req, st, "venue");
		store_stmt_done(st);
		return rc == SQLITE_ROW;
	}
	return true;
}

/* The grid code of person id into out ("" if none); false on a database
 * error.  st: PERSON_GRID_SQL, reused. */
static bool person_grid(sqlite3_stmt *st, uint32_t id, char *out, size_t size)
{
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	out[0] = '\0';
	if (rc == SQLITE_ROW)
		fk_strlcpy(out, http_col(st, 0), size);
	return rc == SQLITE_ROW || rc == SQLITE_DONE;
}

static void contact_json(struct strbuf *o, const struct contact *k, const struct person_brief *pb,
			 const struct person_brief *via, sqlite3_stmt *vst)
{
	char ts[32];
	strbuf_addf(o, "{\"person_id\":%" PRIu32 ",\"name\":", k->person_id);
	strbuf_add_json_str(o, pb->name);
	strbuf_addstr(o, ",\"id_number\":");
	strbuf_add_json_str(o, pb->id_number);
	strbuf_addstr(o, ",\"grid\":");
	code_name_json(o, pb->grid_code, pb->grid_name);
	strbuf_addf(o, ",\"exposure\":\"%s\",\"evidence\":",
		    fk_format_time(k->exposure, ts, sizeof(ts)));
	if (k->kind == EVIDENCE_HOUSEHOLD) {
		strbuf_addstr(o, "{\"kind\":\"household\"}");
	} else {
		strbuf_addstr(o, "{\"kind\":\"venue\",\"venue\":");
		venue_json(o, vst, k->venue_id, false);
		strbuf_addf(o, ",\"contact_time\":\"%s\"",
			    fk_format_time(k->t_contact, ts, sizeof(ts)));
		strbuf_addf(o, ",\"case_time\":\"%s\"}", fk_format_time(k->t_source, ts, sizeof(ts)));
	}
	if (via) {
		strbuf_addf(o, ",\"via\":{\"person_id\":%" PRId64 ",\"name\":", via->id);
		strbuf_add_json_str(o, via->name);
		strbuf_addch(o, '}');
	}
	strbuf_addch(o, '}');
}

/* (exposure, person id) of k is after the cursor's key */
static bool after_key(const struct contact *k, int64_t exp, int64_t pid)
{
	return k->exposure > exp || (k->exposure == exp && (int64_t)k->person_id > pid);
}

static void contacts_list(struct http_req *req)
{
	struct case_rec c;
	struct person_brief pb, via;
	struct tracing_params p;
	struct contact_filter f;
	struct contact_set close = {0}, sec = {0};
	struct strbuf o = STRBUF_INIT, ids = STRBUF_INIT, detail = STRBUF_INIT;
	struct fk_err err;
	sqlite3_stmt *pst = NULL, *gst = NULL, *vst = NULL;
	char after[KEY_MAX], grid[GRID_CODE_MAX], obj[40];
	int limit, n = 0;
	int64_t aexp = INT64_MIN, apid = -1, now = fk_now();
	size_t total = 0;
	bool more = false;
	const struct contact *last = NULL;
	size_t i = 0;

	tracing_params_default(&p);
	if (!http_reader(req) || !http_page_params(req, &limit, after, sizeof(after)) ||
	    !contact_filter_parse(req, &f, true))
		return;
	if (after[0]) {
		char *tab = strchr(after, '\t');
		if (!tab || (*tab = '\0', !fk_parse_i64(after, INT64_MIN, INT64_MAX, &aexp)) ||
		    !fk_parse_i64(tab + 1, 0, UINT32_MAX, &apid)) {
			http_error(req, 400, NULL, "cursor is not valid");
			return;
		}
	}
	if (!case_in_scope(req, &c, &pb) ||
	    !contacts_of(req, &c, &p, now, &close, f.degree == 2 ? &sec : NULL))
		return;
	const struct contact_set *set = f.degree == 2 ? &sec : &close;
	if (!(pst = store_reader_stmt(PERSON_BRIEF_SQL, &err)) ||
	    !(gst = store_reader_stmt(PERSON_GRID_SQL, &err)) ||
	    !(vst = store_reader_stmt(VENUE_BY_ID_SQL, &err))) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	strbuf_addstr(&o, "{\"items\":[");
	for (; i < set->n; i++) {
		const struct contact *k = &set->v[i];
		if (f.venue_given && (f.household ? k->kind != EVIDENCE_HOUSEHOLD
						  : k->kind != EVIDENCE_VENUE ||
							    k->venue_id != f.venue_id))
			continue;
		if (f.grid) {
			if (!person_grid(gst, k->person_id, grid, sizeof(grid))) {
				db_fail(req, gst, "contact grid");
				goto done;
			}
			if (!fk_starts_with(grid, f.grid))
				continue;
		}
		total++;
		if (!after_key(k, aexp, apid))
			continue;
		if (n == limit) {
			more = true;
			if (!f.grid)
				break; /* total needs no lookups: finish it below */
			continue;
		}
		int rc = person_brief_get(pst, k->person_id, &pb);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			db_fail(req, pst, "contact");
			goto done;
		}
		bool has_via = f.degree == 2 && k->via;
		if (has_via && (rc = person_brief_get(pst, k->via, &via)) != SQLITE_ROW &&
		    rc != SQLITE_DONE) {
			db_fail(req, pst, "contact via");
			goto done;
		}
		if (n++)
			strbuf_addch(&o, ',');
		contact_json(&o, k, &pb, has_via ? &via : NULL, vst);
		strbuf_addf(&ids, "%s%" PRIu32, ids.len ? "," : "", k->person_id);
		last = k;
	}
	if (more && !f.grid) /* v[i] was counted: count the rest without lookups */
		for (i++; i < set->n; i++) {
			const struct contact *k = &set->v[i];
			if (!f.venue_given || (f.household ? k->kind == EVIDENCE_HOUSEHOLD
							   : k->kind == EVIDENCE_VENUE &&
								     k->venue_id == f.venue_id))
				total++;
		}
	strbuf_addf(&o, "],\"total\":%zu,\"next_cursor\":", total);
	if (more && last) {
		char key[KEY_MAX], cur[KEY_MAX * 2];
		snprintf(key, sizeof(key), "%" PRId64 "\t%" PRIu32, last->exposure, last->person_id);
		http_cursor_encode(key, cur, sizeof(cur));
		strbuf_add_json_str(&o, cur);
	} else {
		strbuf_addstr(&o, "null");
	}
	strbuf_addch(&o, '}');
	http_json(req, 200, o.buf);
	snprintf(obj, sizeof(obj), "case:%" PRId64, c.id);
	strbuf_addf(&detail, "degree=%d grid=%s venue=%s %d of %zu: persons %s", f.degree,
		    f.grid ? f.grid : "", f.household ? HOUSEHOLD_VENUE : "", n, total, ids.buf);
	if (f.venue_given && !f.household)
		strbuf_addf(&detail, " (venue id %" PRIu32 ")", f.venue_id);
	http_audit(req, "case.contacts", obj, detail.buf);
done:
	store_stmt_done(pst);
	store_stmt_done(gst);
	store_stmt_done(vst);
	contact_set_release(&close);
	contact_set_release(&sec);
	strbuf_release(&o);
	strbuf_release(&ids);
	strbuf_release(&detail);
}

/* ---------------- counts ---------------- */

struct count_row {
	char code[GRID_CODE_MAX];
	size_t count;
};

static int by_code(const void *a, const void *b)
{
	return strcmp(((const struct count_row *)a)->code, ((const struct count_row *)b)->code);
}

static int by_count_desc(const void *a, const void *b)
{
	const struct count_row *x = a, *y = b;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return strcmp(x->code, y->code);
}

static int by_venue(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Groups sorted rows v[0..n) by the first plen bytes of their code (all
 * of it when plen is 0) into out (count desc); returns the group count. */
static size_t group_codes(const struct count_row *v, size_t n, size_t plen, struct count_row *out)
{
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		char code[GRID_CODE_MAX];
		fk_strlcpy(code, v[i].code, sizeof(code));
		if (plen && strlen(code) > plen)
			code[plen] = '\0';
		if (m && !strcmp(out[m - 1].code, code)) {
			out[m - 1].count++;
			continue;
		}
		fk_strlcpy(out[m].code, code, sizeof(out[m].code));
		out[m++].count = 1;
	}
	qsort(out, m, sizeof(*out), by_count_desc);
	return m;
}

/* Appends "key":[{code,name,parent_name,count}...] naming the regions
 * (grids of different communities share names like 第1网格, so the parent
 * is named too); false on a database error (answered). */
static bool region_counts_json(struct http_req *req, struct strbuf *o, const char *key,
			       const struct count_row *v, size_t n)
{
	struct fk_err err;
	sqlite3_stmt *st = store_reader_stmt(REGION_NAME_SQL, &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return false;
	}
	strbuf_addf(o, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, v[i].code, -1, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			db_fail(req, st, "region");
			store_stmt_done(st);
			return false;
		}
		if (i)
			strbuf_addch(o, ',');
		strbuf_addstr(o, "{\"code\":");
		strbuf_add_json_str(o, v[i].code);
		strbuf_addstr(o, ",\"name\":");
		strbuf_add_json_str(o, rc == SQLITE_ROW ? http_col(st, 0) : "");
		strbuf_addstr(o, ",\"parent_name\":");
		strbuf_add_json_str(o, rc == SQLITE_ROW ? http_col(st, 1) : "");
		strbuf_addf(o, ",\"count\":%zu}", v[i].count);
	}
	strbuf_addch(o, ']');
	store_stmt_done(st);
	return true;
}

struct venue_count {
	uint32_t id;
	size_t count;
};

/* Appends ,"by_venue":[...] for the venue evidence of set (household
 * contacts under the code "household"); false on a database error. */
static bool venue_counts_json(struct http_req *req, struct strbuf *o, const struct contact_set *set)
{
	struct fk_err err;
	uint32_t *ids = fk_xmalloc((set->n ? set->n : 1) * sizeof(*ids));
	struct venue_count *g = fk_xmalloc((set->n + 1) * sizeof(*g));
	size_t nv = 0, ng = 0, household = 0;
	bool ok = false;
	sqlite3_stmt *st = NULL;

	for (size_t i = 0; i < set->n; i++) {
		if (set->v[i].kind == EVIDENCE_HOUSEHOLD)
			household++;
		else
			ids[nv++] = set->v[i].venue_id;
	}
	qsort(ids, nv, sizeof(*ids), by_venue);
	for (size_t i = 0; i < nv; i++) {
		if (ng && g[ng - 1].id == ids[i]) {
			g[ng - 1].count++;
			continue;
		}
		g[ng].id = ids[i];
		g[ng++].count = 1;
	}
	/* count desc, then venue id (the codes' order at import) */
	for (size_t i = 1; i < ng; i++)
		for (size_t j = i; j > 0 && g[j].count > g[j - 1].count; j--) {
			struct venue_count t = g[j];
			g[j] = g[j - 1];
			g[j - 1] = t;
		}
	if (!(st = store_reader_stmt(VENUE_BY_ID_SQL, &err))) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	strbuf_addstr(o, ",\"by_venue\":[");
	bool hh_done = household == 0, first = true;
	for (size_t i = 0; i <= ng; i++) {
		if (!hh_done && (i == ng || g[i].count < household)) {
			strbuf_addf(o, "%s{\"code\":\"%s\",\"name\":\"同住\",\"count\":%zu}",
				    first ? "" : ",", HOUSEHOLD_VENUE, household);
			first = false;
			hh_done = true;
		}
		if (i == ng)
			break;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, g[i].id);
		int rc = sqlite3_step(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			db_fail(req, st, "venue");
			goto done;
		}
		strbuf_addstr(o, first ? "{\"code\":" : ",{\"code\":");
		first = false;
		strbuf_add_json_str(o, rc == SQLITE_ROW ? http_col(st, 0) : "");
		strbuf_addstr(o, ",\"name\":");
		strbuf_add_json_str(o, rc == SQLITE_ROW ? http_col(st, 1) : "");
		strbuf_addf(o, ",\"count\":%zu}", g[i].count);
	}
	strbuf_addch(o, ']');
	ok = true;
done:
	store_stmt_done(st);
	free(ids);
	free(g);
	return ok;
}

static void contact_counts(struct http_req *req)
{
	struct case_rec c;
	struct person_brief pb;
	struct tracing_params p;
	struct contact_filter f;
	struct contact_set close = {0}, sec = {0};
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	struct count_row *rows = NULL, *groups = NULL;
	sqlite3_stmt *gst = NULL;
	char obj[40], detail[64];
	int64_t now = fk_now();

	tracing_params_default(&p);
	if (!http_reader(req) || !contact_filter_parse(req, &f, false) ||
	    !case_in_scope(req, &c, &pb) ||
	    !contacts_of(req, &c, &p, now, &close, f.degree == 2 ? &sec : NULL))
		return;
	const struct contact_set *set = f.degree == 2 ? &sec : &close;
	rows = fk_xmalloc((set->n + 1) * sizeof(*rows));
	groups = fk_xmalloc((set->n + 1) * sizeof(*groups));
	if (!(gst = store_reader_stmt(PERSON_GRID_SQL, &err))) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	for (size_t i = 0; i < set->n; i++) {
		if (!person_grid(gst, set->v[i].person_id, rows[i].code, sizeof(rows[i].code))) {
			db_fail(req, gst, "contact grid");
			goto done;
		}
		rows[i].count = 1;
	}
	store_stmt_done(gst);
	gst = NULL;
	qsort(rows, set->n, sizeof(*rows), by_code);
	strbuf_addf(&o, "{\"degree\":%d,\"total\":%zu", f.degree, set->n);
	size_t m = group_codes(rows, set->n, 0, groups);
	if (!region_counts_json(req, &o, "by_grid", groups, m))
		goto done;
	m = group_codes(rows, set->n, region_len_of_level(5), groups);
	if (!region_counts_json(req, &o, "by_community", groups, m) ||
	    !venue_counts_json(req, &o, set))
		goto done;
	strbuf_addch(&o, '}');
	http_json(req, 200, o.buf);
	snprintf(obj, sizeof(obj), "case:%" PRId64, c.id);
	snprintf(detail, sizeof(detail), "degree=%d total=%zu, counts only", f.degree, set->n);
	http_audit(req, "case.contact_counts", obj, detail);
done:
	store_stmt_done(gst);
	free(rows);
	free(groups);
	contact_set_release(&close);
	contact_set_release(&sec);
	strbuf_release(&o);
}

/* ---------------- trajectory ---------------- */

static void case_trajectory(struct http_req *req)
{
	struct case_rec c;
	struct person_brief pb;
	struct tracing_params p;
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	struct ix_scan *scans = NULL;
	size_t n = 0;
	sqlite3_stmt *vst = NULL;
	struct contact_index *ix;
	char obj[40], detail[64], ts[32];
	int64_t from, to, now = fk_now();

	tracing_params_default(&p);
	if (!case_in_scope(req, &c, &pb) || !(ix = index_or_503(req)))
		return;
	case_window(&c, &p, now, &from, &to);
	enum fk_status s = contact_index_person_scans(ix, (uint32_t)c.person_id, from, to, &scans, &n);
	if (s) {
		fk_fail(&err, s, "scans of person %" PRId64 ": %s", c.person_id, fk_status_name(s));
		http_fail(req, s, &err);
		goto done;
	}
	if (!(vst = store_reader_stmt(VENUE_BY_ID_SQL, &err))) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	strbuf_addf(&o, "{\"case_id\":%" PRId64 ",\"person\":", c.id);
	person_brief_json(&o, &pb);
	strbuf_addf(&o, ",\"window\":{\"from\":\"%s\"", fk_format_time(from, ts, sizeof(ts)));
	strbuf_addf(&o, ",\"to\":\"%s\"},\"items\":[", fk_format_time(to, ts, sizeof(ts)));
	for (size_t i = 0; i < n; i++) {
		strbuf_addf(&o, "%s{\"time\":\"%s\",\"venue\":", i ? "," : "",
			    fk_format_time(scans[i].t, ts, sizeof(ts)));
		int rc = venue_json(&o, vst, scans[i].venue_id, true);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			db_fail(req, vst, "venue");
			goto done;
		}
		strbuf_addch(&o, '}');
	}
	strbuf_addch(&o, ']');
	strbuf_addch(&o, '}');
	http_json(req, 200, o.buf);
	snprintf(obj, sizeof(obj), "case:%" PRId64, c.id);
	snprintf(detail, sizeof(detail), "%zu check-ins", n);
	http_audit(req, "case.trajectory", obj, detail);
done:
	store_stmt_done(vst);
	free(scans);
	strbuf_release(&o);
}

/* ---------------- chains ---------------- */

static void chain_get(struct http_req *req)
{
	struct fk_err err;
	struct strbuf o = STRBUF_INIT;
	sqlite3_stmt *st = NULL, *pst = NULL, *vst = NULL;
	int64_t id;
	int n = 0, rc;
	bool visible = false;
	char obj[40], detail[64], ts[32];

	if (!http_reader(req))
		return;
	if (!fk_parse_i64(req->params[0], 1, INT64_MAX, &id)) {
		http_error(req, 404, NULL, "no chain '%s' in your scope", req->params[0]);
		return;
	}
	if (!(st = store_reader_stmt(CASE_LIST_SELECT "WHERE c.chain_id = ? ORDER BY c.id", &err)) ||
	    !(pst = store_reader_stmt(PERSON_BRIEF_SQL, &err)) ||
	    !(vst = store_reader_stmt(VENUE_BY_ID_SQL, &err))) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	sqlite3_bind_int64(st, 1, id);
	strbuf_addf(&o, "{\"id\":%" PRId64 ",\"nodes\":[", id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char name[NAME_MASKED_MAX];
		if (access_scope_contains(req->user->scope, http_col(st, 11)))
			visible = true;
		mask_name(http_col(st, 9), name, sizeof(name));
		strbuf_addf(&o, "%s{\"case_id\":%" PRId64 ",\"person\":{\"id\":%" PRId64 ",\"name\":",
			    n++ ? "," : "", (int64_t)sqlite3_column_int64(st, 0),
			    (int64_t)sqlite3_column_int64(st, 1));
		strbuf_add_json_str(&o, name);
		strbuf_addstr(&o, "},\"classification\":");
		strbuf_add_json_str(&o, http_col(st, 2));
		time_member(&o, "onset_at", sqlite3_column_int64(st, 3));
		time_member(&o, "first_positive_at", sqlite3_column_int64(st, 4));
		strbuf_addstr(&o, ",\"grid\":");
		code_name_json(&o, http_col(st, 11), http_col(st, 12));
		strbuf_addch(&o, '}');
	}
	if (rc != SQLITE_DONE) {
		db_fail(req, st, "chain");
		goto done;
	}
	if (!visible) {
		http_error(req, 404, NULL, "no chain '%s' in your scope", req->params[0]);
		goto done;
	}
	store_stmt_done(st);
	st = store_reader_stmt("SELECT l.from_case, l.to_case, l.degree, l.household,"
			       " coalesce(l.venue_id,0), coalesce(l.t_contact,0),"
			       " coalesce(l.t_source,0), coalesce(l.via_person,0), l.exposure_at"
			       " FROM case_links l JOIN cases c ON c.id = l.to_case"
			       " WHERE c.chain_id = ? ORDER BY l.to_case, l.from_case",
			       &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	sqlite3_bind_int64(st, 1, id);
	strbuf_addstr(&o, "],\"edges\":[");
	int ne = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		bool household = sqlite3_column_int(st, 3) != 0;
		int64_t via = sqlite3_column_int64(st, 7);
		strbuf_addf(&o,
			    "%s{\"from_case\":%" PRId64 ",\"to_case\":%" PRId64
			    ",\"degree\":%d,\"kind\":\"%s\",\"venue\":",
			    ne++ ? "," : "", (int64_t)sqlite3_column_int64(st, 0),
			    (int64_t)sqlite3_column_int64(st, 1), sqlite3_column_int(st, 2),
			    household ? "household" : "venue");
		int vrc = SQLITE_DONE;
		if (household)
			strbuf_addstr(&o, "null");
		else
			vrc = venue_json(&o, vst, (uint32_t)sqlite3_column_int64(st, 4), false);
		if (vrc != SQLITE_ROW && vrc != SQLITE_DONE) {
			db_fail(req, vst, "venue");
			goto done;
		}
		time_member(&o, "t_contact", household ? 0 : sqlite3_column_int64(st, 5));
		time_member(&o, "t_source", household ? 0 : sqlite3_column_int64(st, 6));
		strbuf_addstr(&o, ",\"via\":");
		if (via) {
			struct person_brief vb;
			int prc = person_brief_get(pst, via, &vb);
			if (prc != SQLITE_ROW && prc != SQLITE_DONE) {
				db_fail(req, pst, "via");
				goto done;
			}
			strbuf_addf(&o, "{\"person_id\":%" PRId64 ",\"name\":", via);
			strbuf_add_json_str(&o, vb.name);
			strbuf_addch(&o, '}');
		} else {
			strbuf_addstr(&o, "null");
		}
		strbuf_addf(&o, ",\"exposure\":\"%s\"}",
			    fk_format_time(sqlite3_column_int64(st, 8), ts, sizeof(ts)));
	}
	if (rc != SQLITE_DONE) {
		db_fail(req, st, "chain links");
		goto done;
	}
	strbuf_addstr(&o, "]}");
	http_json(req, 200, o.buf);
	snprintf(obj, sizeof(obj), "chain:%" PRId64, id);
	snprintf(detail, sizeof(detail), "%d cases, %d links, persons masked", n, ne);
	http_audit(req, "chain.read", obj, detail);
done:
	store_stmt_done(st);
	store_stmt_done(pst);
	store_stmt_done(vst);
	strbuf_release(&o);
}

const struct http_route tracing_routes[] = {
	{"POST", "/api/v1/cases", case_post, ROUTE_JSON_BODY, PERM_TRACE, CASE_BODY_MAX},
	{"GET", "/api/v1/cases", cases_list, 0, PERM_TRACE, 0},
	{"GET", "/api/v1/cases/{id}", case_get_one, 0, PERM_TRACE, 0},
	{"GET", "/api/v1/cases/{id}/contacts", contacts_list, 0, PERM_TRACE, 0},
	{"GET", "/api/v1/cases/{id}/contacts/counts", contact_counts, 0, PERM_TRACE, 0},
	{"GET", "/api/v1/cases/{id}/trajectory", case_trajectory, 0, PERM_TRACE, 0},
	{"GET", "/api/v1/chains/{id}", chain_get, 0, PERM_TRACE, 0},
};
const size_t tracing_routes_len = FK_ARRAY_LEN(tracing_routes);
