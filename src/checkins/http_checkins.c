/* http_checkins.c — scans and alerts over HTTP.
 *
 * Design note.
 * - POST /api/v1/scans validates everything on the handler's own reader
 *   (cached statements: no prepare per request), then hands the scan to
 *   the scan service (scan.c) and blocks until it is committed: the answer
 *   is sent only for a durable scan.  Who the scan is for depends on the
 *   role: a citizen scans for themself (their account's person) or for a
 *   companion 同行人员 (ID number and name, which must both match the
 *   registry: one 422 for either mismatch, so the endpoint cannot be used
 *   to look names up); a venue device 数字哨兵 or a checkpoint sends the ID
 *   number read from an ID card, for a venue inside its own scope.
 * - Order of checks: body shape (400), venue payload (403 when forged or
 *   altered, 422 when not a venue code or no such venue), person (422),
 *   temperature (422).  Nothing is written before all of them pass.
 * - Status of the result: 201 for a new scan, 200 for a retry with the
 *   same scan id (the first scan's time and result), 409 for a scan id
 *   reused for another venue or person, 503 + Retry-After when the queue is
 *   full or the commit failed (a retry with the same id is safe).
 * - Lookup caches.  Every scan reads its venue and its person, and in WAL
 *   mode each commit (one per scan batch, every few milliseconds) empties
 *   the readers' page caches, so those reads went to the file again.  Two
 *   bounded caches answer instead: venue code -> (id, name, region) and
 *   person (by ID number, or by id for a citizen's own scan) -> (id, name,
 *   grid).  Each is direct-mapped (FNV-1a of the key; a collision replaces
 *   the older entry) with LC_SHARDS mutexes over the slots; a hit copies
 *   the row and allocates nothing.  Only rows found are cached (a venue or
 *   person added meanwhile is seen at once); an entry serves LC_TTL
 *   seconds, so an import by another process that renames a venue or
 *   moves a person to another grid reaches scans within that time.  This
 *   server never writes venues or persons itself.
 * - The answer carries the person's code colour at the scan's time
 *   (healthcode_colour_now: the whole-city colours, or one person's
 *   evaluation on this thread's reader; no writer, no lock held here) with
 *   its label (红码) and short reason in zh-CN, so the venue staff see at
 *   once why a code is red or yellow.  A fever alert raised by this scan is
 *   a rule of the code from the scan's second on: the person's cached
 *   colour is dropped before it is read, so the same answer says yellow.
 * - GET /api/v1/alerts lists alerts of the caller's scope (region code
 *   prefix), newest first, persons masked; audited because it holds health
 *   data.
 * - POST /api/v1/alerts/{id}/clear ends an alert after follow-up (the
 *   fever rule of the code ends at cleared_at).  The alert is read, checked
 *   (scope: 404; cleared before: 409) and updated inside one transaction
 *   on the writer, with its audit record, so two clears cannot both win;
 *   then the person's cached colour is dropped.
 */
#include "checkins/checkins.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "checkins/scan_int.h"
#include "healthcode/healthcode.h"
#include "http/http.h"
#include "lib/util.h"
#include "policy/policy.h"
#include "store/store.h"

#include "lib/banned.h"

#define SCAN_BODY_MAX 2048
#define NAME_MAX_BYTES 128
#define ID_NUMBER_MAX 32
#define TEMP_MIN_DC 300 /* 30.0 degC: below, a thermometer fault */
#define TEMP_MAX_DC 450 /* 45.0 degC */
#define KIND_MAX 32
#define SCAN_REASON_MAX 256
/* shown with a green code when no rule gives a reason */
#define SCAN_REASON_GREEN "无异常记录"

static bool scan_id_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > SCAN_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

struct person_row {
	int64_t id;
	char name[NAME_MAX_BYTES];
	char grid[SCAN_REGION_MAX + 1];
};

static const char sql_person_by_idn[] = "SELECT id, name, grid_code FROM persons"
					" WHERE id_number=?";
static const char sql_person_by_id[] = "SELECT id, name, grid_code FROM persons WHERE id=?";
static const char sql_venue[] = "SELECT k.id, v.name, v.region_code FROM venue_keys k"
				" JOIN venues v ON v.code = k.code WHERE k.code=?";

/* ---------- lookup caches (see the design note) ---------- */

#define LC_TTL 5.0	   /* seconds an entry may answer */
#define LC_SHARDS 64	   /* power of two */
#define LC_KEY_MAX 40	   /* venue codes, ID numbers, "#" + person id */
#define VENUE_SLOTS 4096   /* power of two */
#define PERSON_SLOTS 65536 /* power of two */

struct venue_row {
	int64_t id;
	char name[256];
	char region[SCAN_REGION_MAX + 1];
};

/* One table: nslots slots of size bytes, each starting with struct
 * lc_head, followed by the row. */
struct lc_head {
	char key[LC_KEY_MAX + 1]; /* "" when empty */
	double filled;		  /* fk_mono() */
};

struct lc_table {
	unsigned char *slots;
	size_t nslots, size, row_off, row_size;
	pthread_mutex_t mu[LC_SHARDS];
};

struct venue_slot {
	struct lc_head h;
	struct venue_row row;
};

struct person_slot {
	struct lc_head h;
	struct person_row row;
};

static struct venue_slot venue_slots[VENUE_SLOTS];
static struct person_slot person_slots[PERSON_SLOTS];
static struct lc_table venue_cache = {.slots = (unsigned char *)venue_slots,
				      .nslots = VENUE_SLOTS,
				      .size = sizeof(struct venue_slot),
				      .row_off = offsetof(struct venue_slot, row),
				      .row_size = sizeof(struct venue_row)};
static struct lc_table person_cache = {.slots = (unsigned char *)person_slots,
				       .nslots = PERSON_SLOTS,
				       .size = sizeof(struct person_slot),
				       .row_off = offsetof(struct person_slot, row),
				       .row_size = sizeof(struct person_row)};
static pthread_once_t lc_once = PTHREAD_ONCE_INIT;

static void lc_init(void)
{
	for (size_t i = 0; i < LC_SHARDS; i++) {
		pthread_mutex_init(&venue_cache.mu[i], NULL);
		pthread_mutex_init(&person_cache.mu[i], NULL);
	}
}

/* The slot of key in t and its shard's mutex (locked on return); NULL
 * when key is too long to cache. */
static struct lc_head *lc_slot_lock(struct lc_table *t, const char *key, pthread_mutex_t **mu)
{
	uint64_t h = UINT64_C(14695981039346656037);
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++, n++)
		h = (h ^ *p) * UINT64_C(1099511628211);
	if (n > LC_KEY_MAX)
		return NULL;
	h ^= h >> 29;
	size_t i = (size_t)(h & (t->nslots - 1));
	pthread_once(&lc_once, lc_init);
	*mu = &t->mu[i & (LC_SHARDS - 1)];
	pthread_mutex_lock(*mu);
	return (struct lc_head *)(t->slots + i * t->size);
}

/* True and row filled (row_size bytes) when key has a fresh entry. */
static bool lc_get(struct lc_table *t, const char *key, void *row)
{
	pthread_mutex_t *mu;
	double now = fk_mono();
	struct lc_head *e = lc_slot_lock(t, key, &mu);
	if (!e)
		return false;
	bool hit = !strcmp(e->key, key) && now >= e->filled && now - e->filled < LC_TTL;
	if (hit)
		memcpy(row, (unsigned char *)e + t->row_off, t->row_size);
	pthread_mutex_unlock(mu);
	return hit;
}

static void lc_put(struct lc_table *t, const char *key, const void *row)
{
	pthread_mutex_t *mu;
	struct lc_head *e = lc_slot_lock(t, key, &mu);
	if (!e)
		return;
	fk_strlcpy(e->key, key, sizeof(e->key));
	e->filled = fk_mono();
	memcpy((unsigned char *)e + t->row_off, row, t->row_size);
	pthread_mutex_unlock(mu);
}

/* Looks a person up by ID number (idn) or by id.  FK_ENOTFOUND when there
 * is none, FK_EDB on a database failure. */
static enum fk_status person_find(const char *idn, int64_t id, struct person_row *p,
				  struct fk_err *err)
{
	char key[LC_KEY_MAX + 1];
	if (idn)
		fk_strlcpy(key, idn, sizeof(key)); /* a longer one is not cached */
	else
		snprintf(key, sizeof(key), "#%" PRId64, id);
	if ((!idn || strlen(idn) <= LC_KEY_MAX) && lc_get(&person_cache, key, p))
		return FK_OK;
	sqlite3_stmt *q = store_reader_stmt(idn ? sql_person_by_idn : sql_person_by_id, err);
	if (!q)
		return FK_EDB;
	if (idn)
		sqlite3_bind_text(q, 1, idn, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(q, 1, id);
	enum fk_status st = FK_OK;
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		p->id = sqlite3_column_int64(q, 0);
		fk_strlcpy(p->name, (const char *)sqlite3_column_text(q, 1), sizeof(p->name));
		fk_strlcpy(p->grid, (const char *)sqlite3_column_text(q, 2), sizeof(p->grid));
		if (!idn || strlen(idn) <= LC_KEY_MAX)
			lc_put(&person_cache, key, p);
	} else if (rc == SQLITE_DONE) {
		st = fk_fail(err, FK_ENOTFOUND, "no such person");
	} else {
		st = fk_fail(err, FK_EDB, "cannot read persons: %s",
			     sqlite3_errmsg(sqlite3_db_handle(q)));
	}
	store_stmt_done(q);
	return st;
}

static enum fk_status venue_find(const char *code, struct venue_row *v, struct fk_err *err)
{
	if (lc_get(&venue_cache, code, v))
		return FK_OK;
	sqlite3_stmt *q = store_reader_stmt(sql_venue, err);
	if (!q)
		return FK_EDB;
	sqlite3_bind_text(q, 1, code, -1, SQLITE_STATIC);
	enum fk_status st = FK_OK;
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		v->id = sqlite3_column_int64(q, 0);
		fk_strlcpy(v->name, (const char *)sqlite3_column_text(q, 1), sizeof(v->name));
		fk_strlcpy(v->region, (const char *)sqlite3_column_text(q, 2), sizeof(v->region));
		lc_put(&venue_cache, code, v);
	} else if (rc == SQLITE_DONE) {
		st = fk_fail(err, FK_ENOTFOUND, "no such venue");
	} else {
		st = fk_fail(err, FK_EDB, "cannot read venues: %s",
			     sqlite3_errmsg(sqlite3_db_handle(q)));
	}
	store_stmt_done(q);
	return st;
}

/* Reads "temperature" into *dc (TEMP_DC_NONE when absent).  Answers 400
 * (not a number) or 422 (out of range) and returns false. */
static bool temperature_of(struct http_req *req, json_t *o, int32_t *dc)
{
	json_t *v = json_object_get(o, "temperature");
	*dc = TEMP_DC_NONE;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_number(v)) {
		http_error(req, 400, NULL, "'temperature' must be a number (degrees Celsius)");
		return false;
	}
	double c = json_number_value(v);
	/* 0.1 degC steps, rounded: 37.3 is stored as 373 whatever the float */
	if (!(c >= TEMP_MIN_DC / 10.0 - 0.05 && c <= TEMP_MAX_DC / 10.0 + 0.05)) {
		http_error(req, 422, NULL, "temperature %.1f is outside %d.0 to %d.0 degrees", c,
			   TEMP_MIN_DC / 10, TEMP_MAX_DC / 10);
		return false;
	}
	long r = lround(c * 10.0);
	if (r < TEMP_MIN_DC || r > TEMP_MAX_DC) {
		http_error(req, 422, NULL, "temperature %.1f is outside %d.0 to %d.0 degrees", c,
			   TEMP_MIN_DC / 10, TEMP_MAX_DC / 10);
		return false;
	}
	*dc = (int32_t)r;
	return true;
}

/* Decides whose scan this is (see the design note); fills p and *source.
 * Answers the error and returns false. */
static bool scan_person(struct http_req *req, const char *idn, const char *name,
			struct person_row *p, int *source)
{
	const struct user *u = req->user;
	struct fk_err err;
	enum fk_status st;
	if (idn && strlen(idn) > ID_NUMBER_MAX) {
		http_error(req, 422, NULL, "'id_number' is not an ID number");
		return false;
	}
	if (u->role == ROLE_CITIZEN) {
		if (!idn) {
			if (name) {
				http_error(req, 400, NULL, "'name' goes with 'id_number' (a companion)");
				return false;
			}
			if (!u->person_id) {
				http_error(req, 403, NULL, "this account is not bound to a person");
				return false;
			}
			*source = CHECKIN_SELF;
			st = person_find(NULL, u->person_id, p, &err);
		} else {
			if (!name) {
				http_error(req, 400, NULL,
					   "a companion needs 'name' as well as 'id_number'");
				return false;
			}
			*source = CHECKIN_COMPANION;
			st = person_find(idn, 0, p, &err);
			if (!st && strcmp(p->name, name))
				st = FK_ENOTFOUND;
			if (st == FK_ENOTFOUND) {
				/* one answer for unknown and mismatched: no name lookups */
				http_error(req, 422, NULL,
					   "the ID number and name do not match a registered person");
				return false;
			}
		}
	} else {
		if (!idn) {
			http_error(req, 400, NULL, "'id_number' is required (read from the ID card)");
			return false;
		}
		*source = CHECKIN_DEVICE;
		st = person_find(idn, 0, p, &err);
		if (!st && name && strcmp(p->name, name)) {
			http_error(req, 422, NULL,
				   "the ID number and name do not match a registered person");
			return false;
		}
	}
	if (st == FK_ENOTFOUND) {
		http_error(req, 422, NULL, "no registered person with that ID number");
		return false;
	}
	if (st) {
		http_fail(req, st, &err);
		return false;
	}
	return true;
}

static void add_member(struct strbuf *o, const char *key, const char *value)
{
	strbuf_add_json_str(o, key);
	strbuf_addch(o, ':');
	strbuf_add_json_str(o, value);
}

static void scan_post(struct http_req *req)
{
	const unsigned char *key = scan_venue_key();
	const char *scan_id, *payload, *idn, *name;
	char code[VENUE_CODE_MAX + 1], at[40], masked[256], idbuf[ID_NUMBER_MAX + 1];
	char reason[SCAN_REASON_MAX];
	enum colour colour;
	struct person_row p;
	struct venue_row v;
	struct scan_job job;
	struct fk_err err;
	json_t *o = NULL;
	enum fk_status st;

	if (!key) {
		http_error(req, 503, NULL, "scans are not being accepted right now");
		return;
	}
	if (!(o = http_body_object(req)))
		return;
	if (!http_member_str(req, o, "scan_id", &scan_id) || !http_member_str(req, o, "venue", &payload) ||
	    !http_member_str(req, o, "id_number", &idn) || !http_member_str(req, o, "name", &name))
		goto done;
	if (!scan_id || !payload) {
		http_error(req, 400, NULL, "'%s' is required", !scan_id ? "scan_id" : "venue");
		goto done;
	}
	if (!scan_id_valid(scan_id)) {
		http_error(req, 422, NULL,
			   "'scan_id' must be 1 to %d letters, digits, '-' or '_'", SCAN_ID_MAX);
		goto done;
	}
	memset(&job, 0, sizeof(job));
	if (!temperature_of(req, o, &job.temp_dc))
		goto done;

	/* the venue: signed payload, then the registry, then the scope */
	st = venue_payload_check(key, payload, code, sizeof(code), &err);
	if (st == FK_EFORBIDDEN) {
		http_error(req, 403, "forged_venue_code", "%s", err.msg);
		goto done;
	}
	if (st) {
		http_error(req, 422, NULL, "%s", err.msg);
		goto done;
	}
	st = venue_find(code, &v, &err);
	if (!st && (req->user->role == ROLE_VENUE || req->user->role == ROLE_CHECKPOINT) &&
	    !access_scope_contains(req->user->scope, v.region))
		st = FK_ENOTFOUND; /* outside the device's scope: as if unknown */
	if (st == FK_ENOTFOUND) {
		http_error(req, 422, NULL, "no venue '%s'%s", code,
			   req->user->role == ROLE_CITIZEN ? "" : " in your scope");
		goto done;
	}
	if (st) {
		http_fail(req, st, &err);
		goto done;
	}
	if (idn) {
		/* the check character may be typed as a lower-case x */
		if (!fk_strlcpy(idbuf, idn, sizeof(idbuf))) {
			http_error(req, 422, NULL, "'id_number' is not an ID number");
			goto done;
		}
		size_t n = strlen(idbuf);
		if (n && idbuf[n - 1] == 'x')
			idbuf[n - 1] = 'X';
		idn = idbuf;
	}
	if (!scan_person(req, idn, name, &p, &job.source))
		goto done;

	job.user_id = req->user->id;
	fk_strlcpy(job.scan_id, scan_id, sizeof(job.scan_id));
	job.venue_id = v.id;
	job.person_id = p.id;
	fk_strlcpy(job.venue_code, code, sizeof(job.venue_code));
	fk_strlcpy(job.grid, p.grid, sizeof(job.grid));
	st = scan_submit(&job, &err);
	if (st == FK_ECONFLICT) {
		http_error(req, 409, NULL, "%s", err.msg);
		goto done;
	}
	if (st) {
		req->retry_after = "1";
		http_error(req, 503, NULL, "%s", err.msg);
		goto done;
	}

	/* a fever alert this scan raised is a rule of the person's code from
	 * this second on: drop their cached colour before reading it */
	if (job.fever_alert && !job.retry)
		healthcode_person_changed(p.id);
	colour = healthcode_colour_now(p.id, job.t, reason, sizeof(reason));
	if (!reason[0])
		fk_strlcpy(reason, colour == COLOUR_GREEN ? SCAN_REASON_GREEN : colour_label_zh(colour),
			   sizeof(reason));
	mask_name(p.name, masked, sizeof(masked));
	fk_format_time(job.t, at, sizeof(at));
	strbuf_reset(&req->out);
	strbuf_addch(&req->out, '{');
	add_member(&req->out, "scan_id", scan_id);
	strbuf_addch(&req->out, ',');
	add_member(&req->out, "time", at);
	strbuf_addstr(&req->out, ",\"venue\":{");
	add_member(&req->out, "code", code);
	strbuf_addch(&req->out, ',');
	add_member(&req->out, "name", v.name);
	strbuf_addstr(&req->out, "},\"person\":{");
	add_member(&req->out, "name", masked);
	strbuf_addstr(&req->out, "},");
	add_member(&req->out, "colour", colour_name(colour));
	strbuf_addch(&req->out, ',');
	add_member(&req->out, "colour_zh", colour_label_zh(colour));
	strbuf_addch(&req->out, ',');
	add_member(&req->out, "reason", reason);
	strbuf_addf(&req->out, ",\"fever_alert\":%s}", job.fever_alert ? "true" : "false");
	req->status = job.retry ? 200 : 201;
	req->content_type = "application/json; charset=utf-8";
done:
	json_decref(o);
}

/* ---------- alerts ---------- */

static bool kind_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > KIND_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
			return false;
	return true;
}

static const char sql_alerts[] =
	"SELECT a.id, a.kind, a.at, a.region_code, coalesce(r.name, ''), a.detail,"
	" coalesce(p.name, ''), coalesce(p.id_number, ''), a.cleared_at"
	" FROM alerts a LEFT JOIN persons p ON p.id = a.person_id"
	" LEFT JOIN regions r ON r.code = a.region_code"
	" WHERE a.region_code >= ?1 AND a.region_code < ?2 AND (?3 IS NULL OR a.kind = ?3)"
	" AND a.id < ?4 ORDER BY a.id DESC LIMIT ?5";

static void alerts_get(struct http_req *req)
{
	const char *kind = http_query(req, "kind");
	char after[32], hi[SCOPE_MAX + 2], key[32], idm[40], nm[256], at[40], audit[96];
	struct strbuf items = STRBUF_INIT;
	struct fk_err err;
	int limit, n = 0, rc;
	int64_t after_id = INT64_MAX, last = 0;
	bool more = false;

	if (kind && !kind_valid(kind)) {
		http_error(req, 400, NULL, "kind must be an alert kind such as 'fever'");
		return;
	}
	if (!http_page_params(req, &limit, after, sizeof(after)))
		return;
	if (*after && !fk_parse_i64(after, 1, INT64_MAX, &after_id)) {
		http_error(req, 400, NULL, "cursor is not valid");
		return;
	}
	sqlite3_stmt *q = store_reader_stmt(sql_alerts, &err);
	if (!q) {
		http_error(req, 503, NULL, "database unavailable");
		return;
	}
	access_scope_upper(req->user->scope, hi, sizeof(hi));
	sqlite3_bind_text(q, 1, req->user->scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, hi, -1, SQLITE_STATIC);
	if (kind)
		sqlite3_bind_text(q, 3, kind, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 3);
	sqlite3_bind_int64(q, 4, after_id);
	sqlite3_bind_int(q, 5, limit + 1);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == limit) {
			more = true;
			break;
		}
		last = sqlite3_column_int64(q, 0);
		const char *detail = http_col(q, 5);
		mask_name(http_col(q, 6), nm, sizeof(nm));
		mask_id_number(http_col(q, 7), idm, sizeof(idm));
		if (n++)
			strbuf_addch(&items, ',');
		strbuf_addf(&items, "{\"id\":%" PRId64 ",", last);
		add_member(&items, "kind", http_col(q, 1));
		strbuf_addch(&items, ',');
		add_member(&items, "at", fk_format_time(sqlite3_column_int64(q, 2), at, sizeof(at)));
		strbuf_addch(&items, ',');
		add_member(&items, "region_code", http_col(q, 3));
		strbuf_addch(&items, ',');
		add_member(&items, "region_name", http_col(q, 4));
		strbuf_addstr(&items, ",\"person\":{");
		add_member(&items, "name", nm);
		strbuf_addch(&items, ',');
		add_member(&items, "id_number", idm);
		/* detail is a JSON object the server wrote itself */
		strbuf_addstr(&items, "},\"detail\":");
		if (detail[0] == '{')
			strbuf_addstr(&items, detail);
		else
			strbuf_add_json_str(&items, detail);
		strbuf_addstr(&items, ",\"cleared_at\":");
		if (sqlite3_column_type(q, 8) == SQLITE_NULL)
			strbuf_addstr(&items, "null");
		else
			strbuf_add_json_str(&items, fk_format_time(sqlite3_column_int64(q, 8), at,
								   sizeof(at)));
		strbuf_addch(&items, '}');
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		fk_fail(&err, FK_EDB, "cannot list alerts: %s", sqlite3_errmsg(sqlite3_db_handle(q)));
		store_stmt_done(q);
		http_fail(req, FK_EDB, &err);
		goto done;
	}
	store_stmt_done(q);
	strbuf_reset(&req->out);
	strbuf_addstr(&req->out, "{\"items\":[");
	strbuf_add(&req->out, items.buf, items.len);
	snprintf(key, sizeof(key), "%" PRId64, last);
	http_page_close(&req->out, more, key);
	req->status = 200;
	req->content_type = "application/json; charset=utf-8";
	snprintf(audit, sizeof(audit), "kind=%s listed=%d", kind ? kind : "*", n);
	http_audit(req, "alerts.read", *req->user->scope ? req->user->scope : "*", audit);
done:
	strbuf_release(&items);
}

/* ---------- clearing an alert ---------- */

#define CLEAR_BODY_MAX 4096
#define NOTE_MAX 1000 /* bytes of the follow-up note */

struct alert_row {
	int64_t id, person_id, at, cleared_at;
	char kind[KIND_MAX + 1], region[SCOPE_MAX + 4], cleared_by[USERNAME_MAX + 1];
	char name[NAME_MAX_BYTES], id_number[ID_NUMBER_MAX + 1];
};

/* Clears alert a->id on the writer w in one transaction: reads it (404
 * outside scope, 409 when cleared before), sets cleared_at/cleared_by
 * and appends the audit record.  Fills a.  FK_ENOTFOUND, FK_ECONFLICT,
 * FK_EDB (err says which). */
static enum fk_status alert_clear_tx(sqlite3 *w, const struct user *u, const char *note,
				     const char *origin, int64_t now, struct alert_row *a,
				     struct fk_err *err)
{
	sqlite3_stmt *q = NULL;
	struct strbuf detail = STRBUF_INIT;
	char obj[40];
	enum fk_status st = store_begin(w, err);
	if (st)
		return st;
	q = store_prepare(w,
			  "SELECT a.kind, a.region_code, coalesce(a.person_id, 0), a.at,"
			  " a.cleared_at, coalesce(a.cleared_by, ''), coalesce(p.name, ''),"
			  " coalesce(p.id_number, '') FROM alerts a"
			  " LEFT JOIN persons p ON p.id = a.person_id WHERE a.id = ?1",
			  err);
	if (!q) {
		st = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_int64(q, 1, a->id);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE ||
	    (rc == SQLITE_ROW && !access_scope_contains(u->scope, http_col(q, 1)))) {
		st = fk_fail(err, FK_ENOTFOUND, "no alert %" PRId64 " in your scope", a->id);
		goto rollback;
	}
	if (rc != SQLITE_ROW) {
		st = fk_fail(err, FK_EDB, "cannot read alert: %s", sqlite3_errmsg(w));
		goto rollback;
	}
	fk_strlcpy(a->kind, http_col(q, 0), sizeof(a->kind));
	fk_strlcpy(a->region, http_col(q, 1), sizeof(a->region));
	a->person_id = sqlite3_column_int64(q, 2);
	a->at = sqlite3_column_int64(q, 3);
	fk_strlcpy(a->name, http_col(q, 6), sizeof(a->name));
	fk_strlcpy(a->id_number, http_col(q, 7), sizeof(a->id_number));
	if (sqlite3_column_type(q, 4) != SQLITE_NULL) {
		char t[40];
		fk_format_time(sqlite3_column_int64(q, 4), t, sizeof(t));
		st = fk_fail(err, FK_ECONFLICT, "alert %" PRId64 " was cleared at %s by '%s'",
			     a->id, t, http_col(q, 5));
		goto rollback;
	}
	sqlite3_finalize(q);
	/* an alert is never cleared before it was raised */
	a->cleared_at = now > a->at ? now : a->at;
	fk_strlcpy(a->cleared_by, u->username, sizeof(a->cleared_by));
	q = store_prepare(w,
			  "UPDATE alerts SET cleared_at = ?2, cleared_by = ?3"
			  " WHERE id = ?1 AND cleared_at IS NULL",
			  err);
	if (!q) {
		st = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_int64(q, 1, a->id);
	sqlite3_bind_int64(q, 2, a->cleared_at);
	sqlite3_bind_text(q, 3, u->username, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE || sqlite3_changes(w) != 1) {
		st = fk_fail(err, FK_EDB, "cannot clear alert: %s", sqlite3_errmsg(w));
		goto rollback;
	}
	sqlite3_finalize(q);
	q = NULL;
	strbuf_addf(&detail, "{\"kind\":");
	strbuf_add_json_str(&detail, a->kind);
	strbuf_addf(&detail, ",\"person\":%" PRId64 ",\"note\":", a->person_id);
	strbuf_add_json_str(&detail, note ? note : "");
	strbuf_addch(&detail, '}');
	snprintf(obj, sizeof(obj), "alert:%" PRId64, a->id);
	if ((st = audit_append(w, u->username, "alert.clear", obj, detail.buf, origin, err)))
		goto rollback;
	if ((st = store_commit(w, err)))
		goto rollback;
	strbuf_release(&detail);
	return FK_OK;
rollback:
	sqlite3_finalize(q);
	store_rollback(w);
	strbuf_release(&detail);
	return st;
}

static void alert_clear(struct http_req *req)
{
	const char *note = NULL;
	char at[40], cat[40], nm[256], idm[40];
	struct alert_row a;
	struct fk_err err;
	json_t *o = NULL;
	enum fk_status st;

	memset(&a, 0, sizeof(a));
	if (!fk_parse_i64(req->params[0], 1, INT64_MAX, &a.id)) {
		http_error(req, 404, NULL, "no alert '%s' in your scope", req->params[0]);
		return;
	}
	/* the body is optional: nothing, or {"note": "..."} */
	if (req->body && req->body_len) {
		if (!(o = http_body_object(req)) || !http_member_str(req, o, "note", &note))
			goto done;
		const char *k;
		json_t *v;
		json_object_foreach(o, k, v) {
			if (strcmp(k, "note")) {
				http_error(req, 400, NULL, "unknown member '%s' (only 'note')", k);
				goto done;
			}
		}
		if (note && strlen(note) > NOTE_MAX) {
			http_error(req, 422, NULL, "'note' is longer than %d bytes", NOTE_MAX);
			goto done;
		}
	}
	sqlite3 *w = store_writer_lock();
	st = w ? alert_clear_tx(w, req->user, note, req->origin, fk_now(), &a, &err)
	       : fk_fail(&err, FK_EDB, "database unavailable");
	store_writer_unlock();
	if (st) {
		http_fail(req, st, &err);
		goto done;
	}
	if (a.person_id)
		healthcode_person_changed(a.person_id);
	mask_name(a.name, nm, sizeof(nm));
	mask_id_number(a.id_number, idm, sizeof(idm));
	strbuf_reset(&req->out);
	strbuf_addf(&req->out, "{\"id\":%" PRId64 ",", a.id);
	add_member(&req->out, "kind", a.kind);
	strbuf_addch(&req->out, ',');
	add_member(&req->out, "at", fk_format_time(a.at, at, sizeof(at)));
	strbuf_addch(&req->out, ',');
	add_member(&req->out, "region_code", a.region);
	strbuf_addstr(&req->out, ",\"person\":{");
	add_member(&req->out, "name", nm);
	strbuf_addch(&req->out, ',');
	add_member(&req->out, "id_number", idm);
	strbuf_addstr(&req->out, "},");
	add_member(&req->out, "cleared_at", fk_format_time(a.cleared_at, cat, sizeof(cat)));
	strbuf_addch(&req->out, ',');
	add_member(&req->out, "cleared_by", a.cleared_by);
	strbuf_addstr(&req->out, ",\"note\":");
	if (note)
		strbuf_add_json_str(&req->out, note);
	else
		strbuf_addstr(&req->out, "null");
	strbuf_addch(&req->out, '}');
	req->status = 200;
	req->content_type = "application/json; charset=utf-8";
done:
	json_decref(o);
}

const struct http_route checkins_routes[] = {
	{"POST", "/api/v1/scans", scan_post, ROUTE_JSON_BODY, PERM_SCAN, SCAN_BODY_MAX},
	{"GET", "/api/v1/alerts", alerts_get, 0, PERM_READ_ALERTS, 0},
	{"POST", "/api/v1/alerts/{id}/clear", alert_clear, 0, PERM_CLEAR_ALERTS, CLEAR_BODY_MAX},
};
const size_t checkins_routes_len = FK_ARRAY_LEN(checkins_routes);
