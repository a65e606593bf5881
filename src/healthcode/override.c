/* override.c — manual code overrides: a colour set by hand for named
 * persons, for a bounded time, by two health workers.
 *
 * Design note.  Zhengzhou (June 2022) turned 1,317 depositors' codes red
 * and nobody could say who did it.  So an override here:
 * - is requested by one health-role user (role_is_health) and has no
 *   effect until a second, different health-role user approves it (the
 *   table's CHECK refuses approved_by = requested_by as a last line);
 * - names a reason category from a fixed list (hc_override_categories)
 *   AND a non-empty free text: a category alone says too little, a text
 *   alone cannot be counted or reviewed;
 * - ends no later than policy override_max_days after now, checked when it
 *   is requested and again when it is approved (a request may wait);
 * - covering more than policy override_city_threshold persons needs an
 *   approver at city level (scope "" or a code of at most 4 digits);
 * - can be seen by every person it names, pending ones included, with who
 *   requested, approved, refused or revoked it (hc_person_overrides_json);
 * - is audited at every step (request, approve, refuse, revoke, and every
 *   read of its persons), inside the write transaction for changes.
 * Scope: a user sees (and may act on) an override only when every person
 * it names lies in the user's scope; otherwise it answers 404, like every
 * other out-of-scope record, so the existence of persons or overrides
 * outside the scope is never revealed.  A request naming a person outside
 * the requester's scope is refused with the same message as an unknown
 * ID number.
 * Effect: only approved overrides become facts (override_code_facts):
 * [approved_at, end_at), cut at closed_at when revoked.  The status shown
 * is the table's, except that an active override past its end shows as
 * "expired".
 */
#include "healthcode/healthcode.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healthcode/hc_int.h"
#include "http/http.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define OVR_MAX_PERSONS 5000       /* persons in one override */
#define OVR_BODY_MAX (256 * 1024)  /* 5,000 ID numbers fit */
#define OVR_REASON_MAX 1000        /* bytes of free text */
#define OVR_BULK_CHANGED 1000      /* above: healthcode_all_changed() */
#define OVR_PERSON_LIST_MAX 100    /* overrides shown to one person */
#define CITY_SCOPE_MAX 4           /* a city code has 4 digits */
#define DAY 86400
#define KEY_MAX 32

static const struct {
	const char *name, *zh;
} categories[] = {
	{"data_error", "数据错误"},
	{"identity_mismatch", "身份信息错误"},
	{"result_error", "检测结果录入错误"},
	{"isolation_completed_early", "已解除管控未同步"},
	{"medical_judgement", "医学判断"},
};

const char *const hc_override_categories[] = {
	"data_error", "identity_mismatch", "result_error", "isolation_completed_early",
	"medical_judgement",
};
const size_t hc_override_categories_len = FK_ARRAY_LEN(hc_override_categories);

bool hc_override_category_valid(const char *s)
{
	if (!s)
		return false;
	for (size_t i = 0; i < hc_override_categories_len; i++)
		if (!strcmp(s, hc_override_categories[i]))
			return true;
	return false;
}

static const char *category_zh(const char *name)
{
	for (size_t i = 0; i < FK_ARRAY_LEN(categories); i++)
		if (!strcmp(name, categories[i].name))
			return categories[i].zh;
	return name;
}

/* "data_error (数据错误), identity_mismatch (...)" for messages */
static void categories_text(struct strbuf *sb)
{
	for (size_t i = 0; i < FK_ARRAY_LEN(categories); i++)
		strbuf_addf(sb, "%s%s (%s)", i ? ", " : "", categories[i].name, categories[i].zh);
}

/* ---------------- facts ---------------- */

/* Approved overrides only: start = approved_at, end = end_at, or the
 * revocation when it came first. */
#define OVR_END                                                                                 \
	"CASE WHEN o.closed_at IS NOT NULL AND o.closed_at < o.end_at"                         \
	" THEN o.closed_at ELSE o.end_at END"
#define OVR_FACT_SQL                                                                            \
	"SELECT op.person_id, o.id, o.colour, o.approved_at,"                                  \
	" " OVR_END ", o.category"                                                             \
	" FROM overrides o JOIN override_persons op ON op.override_id = o.id"                  \
	" WHERE o.approved_at IS NOT NULL AND o.status IN ('active', 'revoked') "

static void override_fact(sqlite3_stmt *st, struct hc_fact *x)
{
	enum colour c = COLOUR_RED;
	colour_parse((const char *)sqlite3_column_text(st, 2), &c);
	x->ref = sqlite3_column_int64(st, 1);
	x->level = (uint8_t)c;
	x->start = sqlite3_column_int64(st, 3);
	x->end = sqlite3_column_int64(st, 4);
	const char *cat = (const char *)sqlite3_column_text(st, 5);
	fk_strlcpy(x->text, cat ? cat : "", sizeof(x->text));
}

enum fk_status override_code_facts(sqlite3 *db, struct hc_facts *f, struct fk_err *err)
{
	return hc_fill_rows(db, OVR_FACT_SQL "AND op.person_id = ?1", f->person_id,
			    FACT_OVERRIDE, override_fact, f, NULL, err);
}

enum fk_status override_code_facts_all(sqlite3 *db, int64_t since, struct hc_bulk *b,
				       struct fk_err *err)
{
	return hc_fill_rows(db, OVR_FACT_SQL "AND " OVR_END " > ?1", since, FACT_OVERRIDE, override_fact,
			    NULL, b, err);
}

/* ---------------- one override as JSON ---------------- */

struct ovr {
	int64_t id;
	enum colour colour;
	char category[48];
	char reason[OVR_REASON_MAX + 1];
	int64_t end_at, persons;
	char status[12]; /* as shown: the table's, or "expired" */
	int64_t requested_by, requested_at, approved_by, approved_at, closed_by, closed_at;
	char req_user[USERNAME_MAX + 1], req_role[16];
	char appr_user[USERNAME_MAX + 1], appr_role[16];
	char closed_user[USERNAME_MAX + 1], closed_role[16];
	char policy_version[64];
};

#define OVR_SELECT                                                                              \
	"SELECT o.id, o.colour, o.category, o.reason, o.end_at, o.persons, o.status,"          \
	" o.requested_by, ru.username, ru.role, o.requested_at,"                               \
	" coalesce(o.approved_by, 0), coalesce(au.username, ''), coalesce(au.role, ''),"       \
	" coalesce(o.approved_at, 0), coalesce(o.closed_by, 0), coalesce(cu.username, ''),"    \
	" coalesce(cu.role, ''), coalesce(o.closed_at, 0), o.policy_version"                   \
	" FROM overrides o JOIN users ru ON ru.id = o.requested_by"                            \
	" LEFT JOIN users au ON au.id = o.approved_by"                                         \
	" LEFT JOIN users cu ON cu.id = o.closed_by "

/* Every person of o.id lies in [?lo, ?hi) (the user's scope). */
#define OVR_IN_SCOPE(lo, hi)                                                                    \
	" NOT EXISTS (SELECT 1 FROM override_persons sp JOIN persons pp ON pp.id = sp.person_id" \
	" WHERE sp.override_id = o.id AND (pp.grid_code < " lo " OR pp.grid_code >= " hi ")) "

static void ovr_from_row(sqlite3_stmt *st, int64_t now, struct ovr *v)
{
	memset(v, 0, sizeof(*v));
	v->id = sqlite3_column_int64(st, 0);
	v->colour = COLOUR_RED;
	colour_parse(http_col(st, 1), &v->colour);
	fk_strlcpy(v->category, http_col(st, 2), sizeof(v->category));
	fk_strlcpy(v->reason, http_col(st, 3), sizeof(v->reason));
	v->end_at = sqlite3_column_int64(st, 4);
	v->persons = sqlite3_column_int64(st, 5);
	fk_strlcpy(v->status, http_col(st, 6), sizeof(v->status));
	if (!strcmp(v->status, "active") && v->end_at <= now)
		fk_strlcpy(v->status, "expired", sizeof(v->status));
	v->requested_by = sqlite3_column_int64(st, 7);
	fk_strlcpy(v->req_user, http_col(st, 8), sizeof(v->req_user));
	fk_strlcpy(v->req_role, http_col(st, 9), sizeof(v->req_role));
	v->requested_at = sqlite3_column_int64(st, 10);
	v->approved_by = sqlite3_column_int64(st, 11);
	fk_strlcpy(v->appr_user, http_col(st, 12), sizeof(v->appr_user));
	fk_strlcpy(v->appr_role, http_col(st, 13), sizeof(v->appr_role));
	v->approved_at = sqlite3_column_int64(st, 14);
	v->closed_by = sqlite3_column_int64(st, 15);
	fk_strlcpy(v->closed_user, http_col(st, 16), sizeof(v->closed_user));
	fk_strlcpy(v->closed_role, http_col(st, 17), sizeof(v->closed_role));
	v->closed_at = sqlite3_column_int64(st, 18);
	fk_strlcpy(v->policy_version, http_col(st, 19), sizeof(v->policy_version));
}

void hc_time_member(struct strbuf *o, const char *key, int64_t t)
{
	char ts[32];
	strbuf_addch(o, ',');
	strbuf_add_json_str(o, key);
	if (t)
		strbuf_addf(o, ":\"%s\"", fk_format_time(t, ts, sizeof(ts)));
	else
		strbuf_addstr(o, ":null");
}

void hc_user_member(struct strbuf *o, const char *key, const char *username, const char *role,
		    bool with_role)
{
	enum role r;
	strbuf_addch(o, ',');
	strbuf_add_json_str(o, key);
	if (!*username) {
		strbuf_addstr(o, ":null");
		return;
	}
	strbuf_addstr(o, ":{\"username\":");
	strbuf_add_json_str(o, username);
	if (with_role) {
		strbuf_addstr(o, ",\"role\":");
		strbuf_add_json_str(o, role);
	}
	strbuf_addstr(o, ",\"role_zh\":");
	strbuf_add_json_str(o, role_parse(role, &r) ? role_label_zh(r) : role);
	strbuf_addch(o, '}');
}

static void ovr_common_json(struct strbuf *o, const struct ovr *v)
{
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"status\":", v->id);
	strbuf_add_json_str(o, v->status);
	strbuf_addf(o, ",\"colour\":\"%s\",\"colour_zh\":", colour_name(v->colour));
	strbuf_add_json_str(o, colour_label_zh(v->colour));
	strbuf_addstr(o, ",\"category\":");
	strbuf_add_json_str(o, v->category);
	strbuf_addstr(o, ",\"category_zh\":");
	strbuf_add_json_str(o, category_zh(v->category));
	strbuf_addstr(o, ",\"reason\":");
	strbuf_add_json_str(o, v->reason);
}

/* The staff view (no persons: GET one adds them). */
static void ovr_json(struct strbuf *o, const struct ovr *v)
{
	ovr_common_json(o, v);
	strbuf_addf(o, ",\"persons\":%" PRId64, v->persons);
	hc_time_member(o, "end_at", v->end_at);
	hc_user_member(o, "requested_by", v->req_user, v->req_role, true);
	hc_time_member(o, "requested_at", v->requested_at);
	hc_user_member(o, "approved_by", v->appr_user, v->appr_role, true);
	hc_time_member(o, "approved_at", v->approved_at);
	hc_user_member(o, "closed_by", v->closed_user, v->closed_role, true);
	hc_time_member(o, "closed_at", v->closed_at);
	strbuf_addstr(o, ",\"policy_version\":");
	strbuf_add_json_str(o, v->policy_version);
	strbuf_addch(o, '}');
}

/* The person's view: start is the approval (null until approved); end is
 * the requested end, or the revocation when that came first. */
static void ovr_person_json(struct strbuf *o, const struct ovr *v)
{
	int64_t end = v->end_at;
	if (!strcmp(v->status, "revoked") && v->closed_at && v->closed_at < end)
		end = v->closed_at;
	ovr_common_json(o, v);
	hc_time_member(o, "start", v->approved_at);
	hc_time_member(o, "end", end);
	hc_user_member(o, "requested_by", v->req_user, v->req_role, true);
	hc_time_member(o, "requested_at", v->requested_at);
	hc_user_member(o, "approved_by", v->appr_user, v->appr_role, true);
	hc_time_member(o, "approved_at", v->approved_at);
	hc_user_member(o, "closed_by", v->closed_user, v->closed_role, true);
	hc_time_member(o, "closed_at", v->closed_at);
	strbuf_addch(o, '}');
}

enum fk_status hc_person_overrides_json(sqlite3 *db, int64_t person_id, struct strbuf *o,
					struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(
		db,
		OVR_SELECT "JOIN override_persons op ON op.override_id = o.id"
			   " WHERE op.person_id = ?1 ORDER BY o.id DESC LIMIT ?2",
		err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, person_id);
	sqlite3_bind_int(st, 2, OVR_PERSON_LIST_MAX);
	int64_t now = fk_now();
	int rc, n = 0;
	size_t mark = o->len;
	enum fk_status s = FK_OK;
	struct ovr *v = malloc(sizeof(*v));
	if (!v) {
		sqlite3_finalize(st);
		return fk_fail(err, FK_ENOMEM, "out of memory listing overrides");
	}
	strbuf_addstr(o, "\"overrides\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ovr_from_row(st, now, v);
		if (n++)
			strbuf_addch(o, ',');
		ovr_person_json(o, v);
	}
	strbuf_addch(o, ']');
	if (rc != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "reading overrides: %s", sqlite3_errmsg(db));
		o->len = mark;
		o->buf[mark] = '\0';
	}
	free(v);
	sqlite3_finalize(st);
	return s;
}

/* ---------------- handlers: helpers ---------------- */

void hc_db_fail(struct http_req *req, sqlite3 *db, const char *what)
{
	struct fk_err err;
	fk_fail(&err, FK_EDB, "%s: %s", what, db ? sqlite3_errmsg(db) : "no connection");
	http_fail(req, FK_EDB, &err);
}

static bool city_level(const char *scope)
{
	return strlen(scope) <= CITY_SCOPE_MAX;
}

static const struct policy *policy_or_503(struct http_req *req)
{
	const struct policy *p = policy_current();
	if (!p)
		http_error(req, 503, NULL, "no policy is in force yet");
	return p;
}

static bool health_role_or_403(struct http_req *req, const char *what)
{
	if (role_is_health(req->user->role))
		return true;
	http_error(req, 403, NULL, "only health roles may %s overrides; %s (%s) may not",
		   what, role_name(req->user->role), role_label_zh(req->user->role));
	return false;
}

/* Loads the override of the route's {id} when every person it names is
 * in the user's scope; else answers 404 (or 5xx) and returns false. */
static bool ovr_load(struct http_req *req, struct ovr *v)
{
	static const char *const sql =
		OVR_SELECT "WHERE o.id = ?1 AND" OVR_IN_SCOPE("?2", "?3");
	struct fk_err err;
	char hi[SCOPE_MAX + 2];
	int64_t id;
	const char *key = req->params[0];
	if (!fk_parse_i64(key, 1, INT64_MAX, &id)) {
		http_error(req, 404, NULL, "no override '%s' in your scope", key);
		return false;
	}
	if (!http_reader(req))
		return false;
	sqlite3_stmt *st = store_reader_stmt(sql, &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return false;
	}
	access_scope_upper(req->user->scope, hi, sizeof(hi));
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, req->user->scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hi, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	bool ok = false;
	if (rc == SQLITE_ROW) {
		ovr_from_row(st, fk_now(), v);
		ok = true;
	} else if (rc == SQLITE_DONE) {
		http_error(req, 404, NULL, "no override '%s' in your scope", key);
	} else {
		hc_db_fail(req, sqlite3_db_handle(st), "override");
	}
	store_stmt_done(st);
	return ok;
}

/* Reads the override back after a change and answers status with it. */
static void ovr_answer(struct http_req *req, int status)
{
	struct ovr *v = fk_xmalloc(sizeof(*v));
	struct strbuf o = STRBUF_INIT;
	if (ovr_load(req, v)) {
		ovr_json(&o, v);
		http_json(req, status, o.buf);
	}
	strbuf_release(&o);
	free(v);
}

/* The persons of override id (sorted ids) on db.  Caller frees *out. */
static enum fk_status ovr_person_ids(sqlite3 *db, int64_t id, int64_t **out, size_t *n,
				     struct fk_err *err)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = store_prepare(
		db, "SELECT person_id FROM override_persons WHERE override_id = ? ORDER BY person_id",
		err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_int64(st, 1, id);
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*out = fk_xrealloc(*out, cap * sizeof(**out));
		}
		(*out)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	enum fk_status s = FK_OK;
	if (rc != SQLITE_DONE)
		s = fk_fail(err, FK_EDB, "reading override persons: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return s;
}

static void ids_text(struct strbuf *sb, const int64_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		strbuf_addf(sb, "%s%" PRId64, i ? "," : "", ids[i]);
}

static void persons_changed(const int64_t *ids, size_t n)
{
	if (n > OVR_BULK_CHANGED) {
		healthcode_all_changed();
		return;
	}
	for (size_t i = 0; i < n; i++)
		healthcode_person_changed(ids[i]);
}

/* The optional body {"reason": "..."} of refuse and revoke.  false after
 * answering 400/422. */
static bool optional_reason(struct http_req *req, json_t **o, const char **reason)
{
	*o = NULL;
	*reason = NULL;
	if (!req->body || !req->body_len)
		return true;
	if (!(*o = http_body_object(req)) || !http_member_str(req, *o, "reason", reason))
		return false;
	if (*reason && strlen(*reason) > OVR_REASON_MAX) {
		http_error(req, 422, NULL, "'reason' is longer than %d bytes", OVR_REASON_MAX);
		return false;
	}
	return true;
}

/* ---------------- POST /api/v1/overrides ---------------- */

struct pick {
	int64_t person_id;
	size_t index; /* position in id_numbers */
};

static int cmp_pick(const void *a, const void *b)
{
	const struct pick *x = a, *y = b;
	if (x->person_id != y->person_id)
		return x->person_id < y->person_id ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

bool hc_status_param(struct http_req *req, const char *const *allowed, size_t n,
		     const char **out)
{
	const char *v = http_query(req, "status");
	struct strbuf names = STRBUF_INIT;
	*out = NULL;
	if (!v || !*v)
		return true;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(v, allowed[i])) {
			*out = allowed[i];
			return true;
		}
	}
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&names, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", allowed[i]);
	http_error(req, 400, NULL, "status must be %s", names.buf);
	strbuf_release(&names);
	return false;
}

bool hc_blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return false;
	return true;
}

/* Checks colour, category, reason and end_at; false after answering. */
static bool override_fields(struct http_req *req, json_t *o, const struct policy *p,
			    int64_t now, enum colour *colour, const char **category,
			    const char **reason, int64_t *end_at)
{
	const char *c, *e;
	struct strbuf cats = STRBUF_INIT;
	bool ok = false;
	if (!http_member_str(req, o, "colour", &c) || !http_member_str(req, o, "category", category) ||
	    !http_member_str(req, o, "reason", reason) || !http_member_str(req, o, "end_at", &e))
		goto done;
	categories_text(&cats);
	if (!c || !colour_parse(c, colour)) {
		http_error(req, 422, NULL, "'colour' must be green, yellow or red");
		goto done;
	}
	if (!*category || !**category) {
		http_error(req, 422, NULL, "'category' is required, one of: %s", cats.buf);
		goto done;
	}
	if (!hc_override_category_valid(*category)) {
		http_error(req, 422, NULL, "unknown category '%s'; one of: %s", *category, cats.buf);
		goto done;
	}
	if (!*reason || hc_blank(*reason)) {
		http_error(req, 422, NULL,
			   "'reason' is required: say in words why (the category alone is not enough)");
		goto done;
	}
	if (strlen(*reason) > OVR_REASON_MAX) {
		http_error(req, 422, NULL, "'reason' is longer than %d bytes", OVR_REASON_MAX);
		goto done;
	}
	if (!e) {
		http_error(req, 422, NULL, "'end_at' is required: an override ends within %d days",
			   p->override_max_days);
		goto done;
	}
	if (!fk_parse_time(e, end_at)) {
		http_error(req, 400, NULL,
			   "'end_at' is not an ISO 8601 time with offset (2022-01-10T08:30:00+08:00)");
		goto done;
	}
	if (*end_at <= now) {
		http_error(req, 422, NULL, "'end_at' must be in the future");
		goto done;
	}
	if (*end_at > now + (int64_t)p->override_max_days * DAY) {
		char ts[32];
		http_error(req, 422, NULL,
			   "'end_at' is beyond the maximum of %d days under %s (at the latest %s)",
			   p->override_max_days, p->name,
			   fk_format_time(now + (int64_t)p->override_max_days * DAY, ts, sizeof(ts)));
		goto done;
	}
	ok = true;
done:
	strbuf_release(&cats);
	return ok;
}

/* Resolves id_numbers to persons in the user's scope; false after
 * answering.  *picks (sorted by person id) is the caller's to free. */
static bool override_persons(struct http_req *req, json_t *arr, struct pick **picks, size_t *n)
{
	struct fk_err err;
	char idm[40];
	size_t len = json_is_array(arr) ? json_array_size(arr) : 0;
	*picks = NULL;
	*n = 0;
	if (!arr || !json_is_array(arr) || !len) {
		http_error(req, 422, NULL, "'id_numbers' must be a non-empty array of ID numbers");
		return false;
	}
	if (len > OVR_MAX_PERSONS) {
		http_error(req, 422, NULL, "'id_numbers' names %zu persons; at most %d at once", len,
			   OVR_MAX_PERSONS);
		return false;
	}
	if (!http_reader(req))
		return false;
	sqlite3_stmt *st =
		store_reader_stmt("SELECT id, grid_code FROM persons WHERE id_number = upper(?)", &err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return false;
	}
	struct pick *v = fk_xcalloc(len, sizeof(*v));
	bool ok = false;
	for (size_t i = 0; i < len; i++) {
		json_t *x = json_array_get(arr, i);
		const char *s = json_string_value(x);
		if (!json_is_string(x) || strlen(s) != json_string_length(x) || !*s) {
			http_error(req, 422, NULL, "id_numbers[%zu] must be an ID number", i);
			goto done;
		}
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, s, -1, SQLITE_TRANSIENT);
		int rc = sqlite3_step(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			hc_db_fail(req, sqlite3_db_handle(st), "override person");
			goto done;
		}
		if (rc == SQLITE_DONE || !access_scope_contains(req->user->scope, http_col(st, 1))) {
			mask_id_number(s, idm, sizeof(idm));
			http_error(req, 422, NULL,
				   "id_numbers[%zu]: no person with ID number '%s' in your scope", i,
				   idm);
			goto done;
		}
		v[i].person_id = sqlite3_column_int64(st, 0);
		v[i].index = i;
	}
	qsort(v, len, sizeof(*v), cmp_pick);
	for (size_t i = 1; i < len; i++) {
		if (v[i].person_id == v[i - 1].person_id) {
			http_error(req, 422, NULL,
				   "id_numbers[%zu] names the same person as id_numbers[%zu]",
				   v[i].index, v[i - 1].index);
			goto done;
		}
	}
	ok = true;
done:
	store_stmt_done(st);
	if (ok) {
		*picks = v;
		*n = len;
	} else {
		free(v);
	}
	return ok;
}

static enum fk_status override_insert(sqlite3 *w, const struct http_req *req,
				      const struct policy *p, enum colour colour,
				      const char *category, const char *reason, int64_t end_at,
				      int64_t now, const struct pick *picks, size_t n, int64_t *id,
				      struct fk_err *err)
{
	sqlite3_stmt *st = NULL;
	struct strbuf detail = STRBUF_INIT;
	char obj[KEY_MAX], ts[32];
	enum fk_status s = store_begin(w, err);
	if (s)
		return s;
	st = store_prepare(w,
			   "INSERT INTO overrides(colour, category, reason, end_at, persons, status,"
			   " requested_by, requested_at, policy_version)"
			   " VALUES(?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
			   err);
	if (!st) {
		s = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_text(st, 1, colour_name(colour), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, category, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, end_at);
	sqlite3_bind_int64(st, 5, (int64_t)n);
	sqlite3_bind_int64(st, 6, req->user->id);
	sqlite3_bind_int64(st, 7, now);
	sqlite3_bind_text(st, 8, p->version, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "cannot record the override: %s", sqlite3_errmsg(w));
		goto rollback;
	}
	*id = sqlite3_last_insert_rowid(w);
	sqlite3_finalize(st);
	st = store_prepare(w, "INSERT INTO override_persons(override_id, person_id) VALUES(?, ?)",
			   err);
	if (!st) {
		s = FK_EDB;
		goto rollback;
	}
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, *id);
		sqlite3_bind_int64(st, 2, picks[i].person_id);
		if (sqlite3_step(st) != SQLITE_DONE) {
			s = fk_fail(err, FK_EDB, "cannot record the override's persons: %s",
				    sqlite3_errmsg(w));
			goto rollback;
		}
	}
	snprintf(obj, sizeof(obj), "override:%" PRId64, *id);
	strbuf_addf(&detail, "colour=%s category=%s end=%s persons=%zu:", colour_name(colour),
		    category, fk_format_time(end_at, ts, sizeof(ts)), n);
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&detail, "%s%" PRId64, i ? "," : " ", picks[i].person_id);
	if ((s = audit_append(w, req->user->username, "override.request", obj, detail.buf,
			      req->origin, err)))
		goto rollback;
	sqlite3_finalize(st);
	st = NULL;
	if ((s = store_commit(w, err)))
		goto rollback;
	strbuf_release(&detail);
	return FK_OK;
rollback:
	sqlite3_finalize(st);
	store_rollback(w);
	strbuf_release(&detail);
	return s;
}

static void override_post(struct http_req *req)
{
	json_t *o = NULL;
	struct pick *picks = NULL;
	size_t n = 0;
	enum colour colour;
	const char *category, *reason;
	int64_t end_at, id = 0, now = fk_now();
	struct fk_err err;
	const struct policy *p;

	if (!health_role_or_403(req, "request") || !(p = policy_or_503(req)) ||
	    !(o = http_body_object(req)))
		goto done;
	if (!override_fields(req, o, p, now, &colour, &category, &reason, &end_at) ||
	    !override_persons(req, json_object_get(o, "id_numbers"), &picks, &n))
		goto done;
	sqlite3 *w = store_writer_lock();
	enum fk_status s = w ? override_insert(w, req, p, colour, category, reason, end_at, now,
					       picks, n, &id, &err)
			     : fk_fail(&err, FK_EDB, "database unavailable");
	store_writer_unlock();
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}
	/* a pending override changes no colour, but the persons see it */
	if (n > OVR_BULK_CHANGED) {
		healthcode_all_changed();
	} else {
		for (size_t i = 0; i < n; i++)
			healthcode_person_changed(picks[i].person_id);
	}
	char key[KEY_MAX];
	snprintf(key, sizeof(key), "%" PRId64, id);
	req->params[0] = key;
	ovr_answer(req, 201);
	req->params[0] = NULL;
done:
	free(picks);
	json_decref(o);
}

/* ---------------- approve, refuse, revoke ---------------- */

enum ovr_action { ACT_APPROVE, ACT_REFUSE, ACT_REVOKE };

/* The change itself, on the writer, with the audit record inside the
 * transaction.  The WHERE repeats the state checks, so two approvers
 * racing cannot both win. */
static enum fk_status ovr_change(sqlite3 *w, const struct http_req *req, const struct ovr *v,
				 enum ovr_action act, const char *reason, int64_t now,
				 int64_t **ids, size_t *nids, struct fk_err *err)
{
	static const char *const sql[] = {
		[ACT_APPROVE] = "UPDATE overrides SET status = 'active', approved_by = ?1,"
				" approved_at = ?2 WHERE id = ?3 AND status = 'pending'"
				" AND requested_by <> ?1",
		[ACT_REFUSE] = "UPDATE overrides SET status = 'refused', closed_by = ?1,"
			       " closed_at = ?2 WHERE id = ?3 AND status = 'pending'"
			       " AND requested_by <> ?1",
		[ACT_REVOKE] = "UPDATE overrides SET status = 'revoked', closed_by = ?1,"
			       " closed_at = ?2 WHERE id = ?3 AND (status = 'pending'"
			       " OR (status = 'active' AND end_at > ?2))",
	};
	static const char *const action[] = {
		[ACT_APPROVE] = "override.approve",
		[ACT_REFUSE] = "override.refuse",
		[ACT_REVOKE] = "override.revoke",
	};
	struct strbuf detail = STRBUF_INIT;
	char obj[KEY_MAX], ts[32];
	sqlite3_stmt *st = NULL;
	enum fk_status s = store_begin(w, err);
	if (s)
		return s;
	if (!(st = store_prepare(w, sql[act], err))) {
		s = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_int64(st, 1, req->user->id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, v->id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "cannot change override %" PRId64 ": %s", v->id,
			    sqlite3_errmsg(w));
		goto rollback;
	}
	if (sqlite3_changes(w) != 1) {
		s = fk_fail(err, FK_ECONFLICT, "override %" PRId64 " changed meanwhile; reload it",
			    v->id);
		goto rollback;
	}
	if ((s = ovr_person_ids(w, v->id, ids, nids, err)))
		goto rollback;
	snprintf(obj, sizeof(obj), "override:%" PRId64, v->id);
	strbuf_addf(&detail, "colour=%s category=%s end=%s requested_by=%s", colour_name(v->colour),
		    v->category, fk_format_time(v->end_at, ts, sizeof(ts)), v->req_user);
	if (act != ACT_APPROVE && reason && *reason)
		strbuf_addf(&detail, " reason=%s", reason);
	strbuf_addf(&detail, " persons=%zu: ", *nids);
	ids_text(&detail, *ids, *nids);
	if ((s = audit_append(w, req->user->username, action[act], obj, detail.buf, req->origin,
			      err)))
		goto rollback;
	sqlite3_finalize(st);
	st = NULL;
	if ((s = store_commit(w, err)))
		goto rollback;
	strbuf_release(&detail);
	return FK_OK;
rollback:
	sqlite3_finalize(st);
	store_rollback(w);
	strbuf_release(&detail);
	free(*ids);
	*ids = NULL;
	*nids = 0;
	return s;
}

static void ovr_act(struct http_req *req, enum ovr_action act)
{
	static const char *const verb[] = {
		[ACT_APPROVE] = "approve", [ACT_REFUSE] = "refuse", [ACT_REVOKE] = "revoke"};
	struct ovr *v = fk_xmalloc(sizeof(*v));
	json_t *body = NULL;
	const char *reason = NULL;
	int64_t *ids = NULL, now = fk_now();
	size_t nids = 0;
	struct fk_err err;
	const struct policy *p;

	if (!health_role_or_403(req, verb[act]) || !(p = policy_or_503(req)) ||
	    !optional_reason(req, &body, &reason) || !ovr_load(req, v))
		goto done;
	if (act == ACT_REVOKE) {
		if (strcmp(v->status, "pending") && strcmp(v->status, "active")) {
			http_error(req, 409, NULL, "override %" PRId64 " is %s: nothing to revoke",
				   v->id, v->status);
			goto done;
		}
	} else if (strcmp(v->status, "pending")) {
		http_error(req, 409, NULL, "override %" PRId64 " is %s, not pending", v->id,
			   v->status);
		goto done;
	}
	if (act != ACT_REVOKE && v->requested_by == req->user->id) {
		http_error(req, 403, NULL,
			   "you requested override %" PRId64 ": a second health-role user must %s it%s",
			   v->id, verb[act], act == ACT_REFUSE ? " (or revoke your request)" : "");
		goto done;
	}
	if (act == ACT_APPROVE) {
		if (v->persons > p->override_city_threshold && !city_level(req->user->scope)) {
			http_error(req, 403, NULL,
				   "override %" PRId64 " covers %" PRId64
				   " persons, more than %d under %s: a city-level approver must approve it",
				   v->id, v->persons, p->override_city_threshold, p->name);
			goto done;
		}
		if (v->end_at <= now) {
			http_error(req, 409, NULL,
				   "override %" PRId64 " would have ended already; request a new one",
				   v->id);
			goto done;
		}
		if (v->end_at > now + (int64_t)p->override_max_days * DAY) {
			char ts[32];
			http_error(req, 422, NULL,
				   "override %" PRId64 " ends %s, beyond the maximum of %d days under %s;"
				   " request a new one",
				   v->id, fk_format_time(v->end_at, ts, sizeof(ts)),
				   p->override_max_days, p->name);
			goto done;
		}
	}
	sqlite3 *w = store_writer_lock();
	enum fk_status s = w ? ovr_change(w, req, v, act, reason, now, &ids, &nids, &err)
			     : fk_fail(&err, FK_EDB, "database unavailable");
	store_writer_unlock();
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}
	/* approve and a revoke of an active one change colours; every step
	 * changes what the persons are shown */
	persons_changed(ids, nids);
	ovr_answer(req, 200);
done:
	free(ids);
	free(v);
	json_decref(body);
}

static void override_approve(struct http_req *req)
{
	ovr_act(req, ACT_APPROVE);
}

static void override_refuse(struct http_req *req)
{
	ovr_act(req, ACT_REFUSE);
}

static void override_revoke(struct http_req *req)
{
	ovr_act(req, ACT_REVOKE);
}

/* ---------------- reads ---------------- */

static void override_get(struct http_req *req)
{
	static const char *const psql =
		"SELECT p.name, p.id_number, p.grid_code, g.name FROM override_persons op"
		" JOIN persons p ON p.id = op.person_id JOIN regions g ON g.code = p.grid_code"
		" WHERE op.override_id = ? ORDER BY p.id";
	struct ovr *v = fk_xmalloc(sizeof(*v));
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	sqlite3_stmt *st = NULL;
	char obj[KEY_MAX], m[256];
	int rc, n = 0;

	if (!ovr_load(req, v))
		goto done;
	if (!(st = store_reader_stmt(psql, &err))) {
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	ovr_json(&o, v);
	o.len--; /* reopen the object */
	strbuf_addstr(&o, ",\"person_list\":[");
	sqlite3_bind_int64(st, 1, v->id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++)
			strbuf_addch(&o, ',');
		mask_name(http_col(st, 0), m, sizeof(m));
		strbuf_addstr(&o, "{\"name\":");
		strbuf_add_json_str(&o, m);
		mask_id_number(http_col(st, 1), m, sizeof(m));
		strbuf_addstr(&o, ",\"id_number\":");
		strbuf_add_json_str(&o, m);
		strbuf_addstr(&o, ",\"grid\":{\"code\":");
		strbuf_add_json_str(&o, http_col(st, 2));
		strbuf_addstr(&o, ",\"name\":");
		strbuf_add_json_str(&o, http_col(st, 3));
		strbuf_addstr(&o, "}}");
	}
	if (rc != SQLITE_DONE) {
		hc_db_fail(req, sqlite3_db_handle(st), "override persons");
		goto done;
	}
	strbuf_addstr(&o, "]}");
	http_json(req, 200, o.buf);
	snprintf(obj, sizeof(obj), "override:%" PRId64, v->id);
	http_audit(req, "override.read", obj, "persons masked");
done:
	store_stmt_done(st);
	strbuf_release(&o);
	free(v);
}

static void overrides_list(struct http_req *req)
{
	static const char *const sql =
		OVR_SELECT "WHERE o.id < ?4 AND" OVR_IN_SCOPE("?1", "?2")
			   "AND (?3 IS NULL OR (CASE WHEN o.status = 'active' AND o.end_at <= ?5"
			   " THEN 'expired' ELSE o.status END) = ?3)"
			   " ORDER BY o.id DESC LIMIT ?6";
	static const char *const statuses[] = {"pending", "active", "expired", "refused",
					       "revoked"};
	struct ovr *v = NULL;
	struct strbuf o = STRBUF_INIT, ids = STRBUF_INIT;
	struct fk_err err;
	sqlite3_stmt *st = NULL;
	char after[KEY_MAX], hi[SCOPE_MAX + 2], last[KEY_MAX] = "";
	int limit, n = 0, rc;
	int64_t before = INT64_MAX, now = fk_now();
	const char *status;

	if (!http_reader(req) || !http_page_params(req, &limit, after, sizeof(after)))
		return;
	if (after[0] && !fk_parse_i64(after, 1, INT64_MAX, &before)) {
		http_error(req, 400, NULL, "cursor is not valid");
		return;
	}
	if (!hc_status_param(req, statuses, FK_ARRAY_LEN(statuses), &status))
		return;
	if (!(st = store_reader_stmt(sql, &err))) {
		http_fail(req, FK_EDB, &err);
		return;
	}
	access_scope_upper(req->user->scope, hi, sizeof(hi));
	sqlite3_bind_text(st, 1, req->user->scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
	if (status)
		sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, before);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int(st, 6, limit + 1);
	v = fk_xmalloc(sizeof(*v));
	strbuf_addstr(&o, "{\"items\":[");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit)
			break;
		ovr_from_row(st, now, v);
		if (n++)
			strbuf_addch(&o, ',');
		ovr_json(&o, v);
		strbuf_addf(&ids, "%s%" PRId64, ids.len ? "," : "", v->id);
		snprintf(last, sizeof(last), "%" PRId64, v->id);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		hc_db_fail(req, sqlite3_db_handle(st), "overrides");
		goto done;
	}
	http_page_finish(req, &o, rc == SQLITE_ROW, last, "override.list", "overrides", n, ids.buf);
done:
	store_stmt_done(st);
	free(v);
	strbuf_release(&o);
	strbuf_release(&ids);
}

/* GET /api/v1/me/overrides: the overrides about the citizen's person. */
static void me_overrides(struct http_req *req)
{
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	char obj[KEY_MAX];
	sqlite3 *db;
	if (req->user->role != ROLE_CITIZEN || !req->user->person_id) {
		http_error(req, 403, NULL, "only a citizen account bound to a person has overrides");
		return;
	}
	if (!(db = http_reader(req)))
		return;
	strbuf_addch(&o, '{');
	enum fk_status s = hc_person_overrides_json(db, req->user->person_id, &o, &err);
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}
	strbuf_addch(&o, '}');
	http_json(req, 200, o.buf);
	snprintf(obj, sizeof(obj), "person:%" PRId64, req->user->person_id);
	http_audit(req, "override.read_own", obj, "");
done:
	strbuf_release(&o);
}

const struct http_route override_routes[] = {
	{"POST", "/api/v1/overrides", override_post, ROUTE_JSON_BODY, PERM_CODE_OVERRIDE,
	 OVR_BODY_MAX},
	{"GET", "/api/v1/overrides", overrides_list, 0, PERM_CODE_OVERRIDE, 0},
	{"GET", "/api/v1/overrides/{id}", override_get, 0, PERM_CODE_OVERRIDE, 0},
	{"POST", "/api/v1/overrides/{id}/approve", override_approve, 0, PERM_CODE_OVERRIDE, 0},
	{"POST", "/api/v1/overrides/{id}/refuse", override_refuse, 0, PERM_CODE_OVERRIDE, 0},
	{"POST", "/api/v1/overrides/{id}/revoke", override_revoke, 0, PERM_CODE_OVERRIDE, 0},
	{"GET", "/api/v1/me/overrides", me_overrides, 0, 0, 0},
};
const size_t override_routes_len = FK_ARRAY_LEN(override_routes);
