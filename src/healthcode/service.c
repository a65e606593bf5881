/* service.c — health codes in the server: the policy in force, every
 * person's colour kept current in memory, the citizen's code with a signed
 * token, a person's code for staff, and the policy switch.
 *
 * Design note.
 * - Colours.  A whole-city colour table (state.c) is computed at start and
 *   again, in a background thread, after anything that may change many
 *   colours (healthcode_all_changed: a policy switch, a risk area, a batch
 *   of results, a case with its contacts) and at least every minute; the
 *   new table is swapped in under a short write lock, so readers never
 *   wait for a recompute.  A reader trusts the table for a person only if
 *   nothing changed for them since the table's facts were read (a global
 *   sequence number: each change stamps the person, or everyone, with the
 *   next value; a table remembers the value read before its load) and the
 *   person's next change is still ahead; otherwise it evaluates that one
 *   person from the database, which is always exact.
 * - The citizen's code (GET /api/v1/me/code) is cached per person: the
 *   JSON with its signed token, valid until half the token's lifetime has
 *   passed, the colour may change, or a change concerns the person.  That
 *   keeps code display cheap under a surge: a hit is a lookup and a copy.
 */
#include "healthcode/healthcode.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access/access.h"
#include "http/http.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define RECOMPUTE_EVERY_S 60
#define SEQ_SLOTS (1u << 16) /* per-person change stamps, by id modulo */
#define CACHE_SLOTS (1u << 16)
#define CACHE_STRIPES 256

static pthread_rwlock_t city_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct hc_city *city;       /* under city_lock */
static uint64_t city_seq;          /* the sequence read before its load */
static _Atomic uint64_t seq = 1;   /* the change sequence */
static _Atomic uint64_t all_seq;   /* last change that concerned everyone */
/* last change that concerned a person, by id modulo SEQ_SLOTS: two
 * persons sharing a slot only cost each other a re-evaluation */
static _Atomic uint64_t person_seq[SEQ_SLOTS];

static pthread_t worker;
static bool worker_running;
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static bool wake_pending, stopping;

struct cached {
	int64_t person_id;
	uint64_t seq;      /* the sequence when it was built */
	int64_t valid_until;
	char *body;
	size_t len;
	char token[HC_TOKEN_MAX];
};
static struct cached cache[CACHE_SLOTS];
static pthread_mutex_t cache_locks[CACHE_STRIPES];

/* ---- change tracking ---- */

static uint64_t person_stamp(int64_t person_id)
{
	uint64_t a = all_seq, p = person_seq[(uint64_t)person_id % SEQ_SLOTS];
	return a > p ? a : p;
}

void healthcode_person_changed(int64_t person_id)
{
	person_seq[(uint64_t)person_id % SEQ_SLOTS] = ++seq;
}

void healthcode_all_changed(void)
{
	all_seq = ++seq;
	pthread_mutex_lock(&wake_lock);
	wake_pending = true;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&wake_lock);
}

uint64_t healthcode_generation(int64_t person_id)
{
	return person_stamp(person_id);
}

/* ---- the whole-city table ---- */

static enum fk_status recompute(struct fk_err *err)
{
	const struct policy *p = policy_current();
	sqlite3 *db = store_reader();
	if (!p || !db)
		return fk_fail(err, FK_EDB, "no policy or database for the recompute");
	uint64_t s0 = seq;
	struct hc_city *c = NULL;
	struct hc_city_stats st;
	enum fk_status s = hc_city_compute(db, p, fk_now(), &c, &st, err);
	if (s)
		return s;
	pthread_rwlock_wrlock(&city_lock);
	struct hc_city *old = city;
	city = c;
	city_seq = s0;
	pthread_rwlock_unlock(&city_lock);
	/* the log of colour changes, with the policy version that decided
	 * each (only this thread replaces the table, so c stays valid) */
	if (old) {
		uint64_t n = 0;
		sqlite3 *w = store_writer_lock();
		s = w ? hc_city_record_changes(w, old, c, &n, err)
		      : fk_fail(err, FK_EDB, "database unavailable");
		store_writer_unlock();
	}
	hc_city_free(old);
	return s;
}

static void *worker_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&wake_lock);
	while (!stopping) {
		if (!wake_pending) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += RECOMPUTE_EVERY_S;
			pthread_cond_timedwait(&wake, &wake_lock, &until);
			if (stopping)
				break;
		}
		wake_pending = false;
		pthread_mutex_unlock(&wake_lock);
		struct fk_err err;
		if (recompute(&err))
			fprintf(stderr, "fangkong serve: colour recompute: %s\n", err.msg);
		/* at most one recompute a second, however many changes come */
		struct timespec pause = {1, 0};
		nanosleep(&pause, NULL);
		pthread_mutex_lock(&wake_lock);
	}
	pthread_mutex_unlock(&wake_lock);
	store_reader_close();
	return NULL;
}

static const char *rule_short_zh(enum hc_rule r)
{
	static const char *const zh[HC_RULE_COUNT] = {
		"确诊或感染者", "隔离管控中",       "密切接触者",   "次密接",
		"发热未排除",   "混管阳性待复核",   "来自中高风险区", "核酸检测逾期",
		"居住在中高风险区", "人工复核赋码",
	};
	return (unsigned)r < HC_RULE_COUNT ? zh[r] : "";
}

enum colour healthcode_colour_now(int64_t person_id, int64_t now, char *reason_zh,
				  size_t reason_size)
{
	enum hc_rule rule = HC_RULE_COUNT;
	int64_t next = HC_NEVER;
	enum colour c = COLOUR_GREEN;
	bool trusted = false;
	uint64_t stamp = person_stamp(person_id);
	pthread_rwlock_rdlock(&city_lock);
	if (city && stamp < city_seq) {
		c = hc_city_colour(city, person_id, &rule, &next);
		trusted = now < next;
	}
	pthread_rwlock_unlock(&city_lock);
	if (!trusted) {
		const struct policy *p = policy_current();
		sqlite3 *db = store_reader();
		struct hc_facts f;
		struct hc_areas a;
		struct hc_result *r = malloc(sizeof(*r));
		struct fk_err err;
		hc_facts_init(&f, person_id);
		memset(&a, 0, sizeof(a));
		if (p && db && r && !hc_person_code(db, p, person_id, now, &f, &a, r, &err)) {
			c = r->colour;
			rule = r->nhits ? r->hits[0].rule : HC_RULE_COUNT;
		} else {
			/* cannot tell: never answer green for want of data */
			c = COLOUR_YELLOW;
			rule = HC_RULE_COUNT;
			if (reason_size)
				snprintf(reason_zh, reason_size, "暂时无法核验,请稍后重试");
			reason_size = 0;
		}
		free(r);
		hc_facts_release(&f);
		hc_areas_release(&a);
	}
	if (reason_size)
		snprintf(reason_zh, reason_size, "%s", rule_short_zh(rule));
	return c;
}

enum fk_status healthcode_server_start(const char *policy_arg, struct fk_err *err)
{
	struct policy *p = NULL;
	char *text = NULL;
	enum fk_status s;
	for (unsigned i = 0; i < CACHE_STRIPES; i++)
		pthread_mutex_init(&cache_locks[i], NULL);
	sqlite3 *w = store_writer_lock();
	if (!w) {
		store_writer_unlock();
		return fk_fail(err, FK_EDB, "database unavailable");
	}
	s = hc_policy_select(w, policy_arg, &p, &text, err);
	if (!s) {
		char cur[96] = "";
		store_meta_get(w, "policy_version", cur, sizeof(cur));
		if (strcmp(cur, p->version))
			s = hc_policy_record(w, p, text, "policy.start", "serve", "server", err);
	}
	store_writer_unlock();
	free(text);
	if (s) {
		free(p);
		return s;
	}
	policy_set_current(p);
	if ((s = token_server_start(err)) || (s = recompute(err)))
		return s;
	if (pthread_create(&worker, NULL, worker_main, NULL))
		return fk_fail(err, FK_EIO, "cannot start the colour worker");
	worker_running = true;
	return FK_OK;
}

void healthcode_server_stop(void)
{
	if (worker_running) {
		pthread_mutex_lock(&wake_lock);
		stopping = true;
		pthread_cond_signal(&wake);
		pthread_mutex_unlock(&wake_lock);
		pthread_join(worker, NULL);
		worker_running = false;
	}
	token_server_stop();
	pthread_rwlock_wrlock(&city_lock);
	hc_city_free(city);
	city = NULL;
	pthread_rwlock_unlock(&city_lock);
	for (unsigned i = 0; i < CACHE_SLOTS; i++) {
		free(cache[i].body);
		cache[i].body = NULL;
	}
}

/* ---- HTTP ---- */

/* The person of {id}: a persons.id or an ID number, in the caller's scope
 * (out of scope is not found). */
static int64_t person_param(struct http_req *req)
{
	const char *id = req->params[0];
	struct fk_err err;
	bool numeric = *id && strlen(id) <= 12 && strspn(id, "0123456789") == strlen(id);
	sqlite3_stmt *st = store_reader_stmt(
		numeric ? "SELECT id, grid_code FROM persons WHERE id = ?1"
			: "SELECT id, grid_code FROM persons WHERE id_number = upper(?1)",
		&err);
	if (!st) {
		http_fail(req, FK_EDB, &err);
		return -1;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int64_t pid = 0;
	if (sqlite3_step(st) == SQLITE_ROW && access_scope_contains(req->user->scope, http_col(st, 1)))
		pid = sqlite3_column_int64(st, 0);
	store_stmt_done(st);
	if (!pid) {
		http_error(req, 404, NULL, "no person '%s' in your scope", id);
		return -1;
	}
	return pid;
}

static bool person_brief(int64_t pid, struct strbuf *o)
{
	struct fk_err err;
	sqlite3_stmt *st = store_reader_stmt(
		"SELECT p.name, p.id_number, p.grid_code, coalesce(g.name, '') FROM persons p"
		" LEFT JOIN regions g ON g.code = p.grid_code WHERE p.id = ?1",
		&err);
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, pid);
	bool ok = sqlite3_step(st) == SQLITE_ROW;
	if (ok) {
		char name[256], idm[40];
		mask_name(http_col(st, 0), name, sizeof(name));
		mask_id_number(http_col(st, 1), idm, sizeof(idm));
		strbuf_addstr(o, "\"person\":{\"name\":");
		strbuf_add_json_str(o, name);
		strbuf_addstr(o, ",\"id_number\":");
		strbuf_add_json_str(o, idm);
		strbuf_addstr(o, ",\"grid_code\":");
		strbuf_add_json_str(o, http_col(st, 2));
		strbuf_addstr(o, ",\"grid_name\":");
		strbuf_add_json_str(o, http_col(st, 3));
		strbuf_addstr(o, "},");
	}
	store_stmt_done(st);
	return ok;
}

static void tests_json(int64_t pid, struct strbuf *o)
{
	struct fk_err err;
	char a[40], b[40];
	strbuf_addstr(o, "\"tests\":[");
	sqlite3_stmt *st = store_reader_stmt(
		"SELECT sampled_at, resulted_at, result, pooled FROM person_results"
		" WHERE person_id = ?1 ORDER BY sampled_at DESC LIMIT 10",
		&err);
	if (st) {
		sqlite3_bind_int64(st, 1, pid);
		for (int n = 0; sqlite3_step(st) == SQLITE_ROW; n++) {
			strbuf_addstr(o, n ? ",{\"sampled_at\":" : "{\"sampled_at\":");
			strbuf_add_json_str(o, fk_format_time(sqlite3_column_int64(st, 0), a, sizeof(a)));
			strbuf_addstr(o, ",\"resulted_at\":");
			strbuf_add_json_str(o, fk_format_time(sqlite3_column_int64(st, 1), b, sizeof(b)));
			strbuf_addstr(o, ",\"result\":");
			strbuf_add_json_str(o, http_col(st, 2));
			strbuf_addf(o, ",\"pooled\":%d}", sqlite3_column_int(st, 3));
		}
	}
	store_stmt_done(st);
	strbuf_addch(o, ']');
}

/* Builds the whole code answer for pid at now into o; with a token when
 * tok is not NULL.  *valid_until receives how long it may be reused. */
static enum fk_status code_body(struct http_req *req, int64_t pid, int64_t now, bool token,
				struct strbuf *o, char tok[HC_TOKEN_MAX], int64_t *valid_until,
				struct fk_err *err)
{
	const struct policy *p = policy_current();
	sqlite3 *db = store_reader();
	struct hc_facts f;
	struct hc_areas a;
	struct hc_result *r = malloc(sizeof(*r));
	enum fk_status s;
	hc_facts_init(&f, pid);
	memset(&a, 0, sizeof(a));
	(void)req;
	if (!p || !db || !r) {
		s = fk_fail(err, FK_EDB, "database unavailable");
		goto out;
	}
	if ((s = hc_person_code(db, p, pid, now, &f, &a, r, err)))
		goto out;
	strbuf_addch(o, '{');
	if (!person_brief(pid, o)) {
		s = fk_fail(err, FK_EDB, "reading the person");
		goto out;
	}
	hc_result_json(p, &f, r, o);
	*valid_until = r->next_change;
	if (token) {
		struct hc_token t;
		char buf[40];
		if ((s = hc_token_issue(db, pid, r->colour, now, p->token_minutes, tok, &t, err)))
			goto out;
		strbuf_addstr(o, ",\"token\":");
		strbuf_add_json_str(o, tok);
		strbuf_addstr(o, ",\"token_issued\":");
		strbuf_add_json_str(o, fk_format_time(t.issued, buf, sizeof(buf)));
		strbuf_addstr(o, ",\"token_expires\":");
		strbuf_add_json_str(o, fk_format_time(t.expires, buf, sizeof(buf)));
		int64_t half = t.issued + (t.expires - t.issued) / 2;
		if (half < *valid_until)
			*valid_until = half;
	}
	strbuf_addch(o, ',');
	tests_json(pid, o);
	strbuf_addch(o, ',');
	if ((s = hc_person_overrides_json(db, pid, o, err)))
		goto out;
	strbuf_addch(o, ',');
	if ((s = hc_person_appeals_json(db, pid, o, err)))
		goto out;
	strbuf_addch(o, '}');
out:
	free(r);
	hc_facts_release(&f);
	hc_areas_release(&a);
	return s;
}

/* The citizen's cached answer: copies it into o (and the token) when
 * still good. */
static bool cache_get(int64_t pid, int64_t now, struct strbuf *o, char tok[HC_TOKEN_MAX])
{
	unsigned slot = (unsigned)((uint64_t)pid % CACHE_SLOTS);
	pthread_mutex_t *m = &cache_locks[slot % CACHE_STRIPES];
	uint64_t stamp = person_stamp(pid);
	bool hit = false;
	pthread_mutex_lock(m);
	struct cached *c = &cache[slot];
	if (c->body && c->person_id == pid && stamp < c->seq && now < c->valid_until) {
		strbuf_add(o, c->body, c->len);
		memcpy(tok, c->token, HC_TOKEN_MAX);
		hit = true;
	}
	pthread_mutex_unlock(m);
	return hit;
}

static void cache_put(int64_t pid, uint64_t seq0, int64_t valid_until, const struct strbuf *o,
		      const char tok[HC_TOKEN_MAX])
{
	unsigned slot = (unsigned)((uint64_t)pid % CACHE_SLOTS);
	pthread_mutex_t *m = &cache_locks[slot % CACHE_STRIPES];
	char *copy = malloc(o->len + 1);
	if (!copy)
		return;
	memcpy(copy, o->buf, o->len + 1);
	pthread_mutex_lock(m);
	struct cached *c = &cache[slot];
	char *old = c->body;
	c->person_id = pid;
	c->seq = seq0;
	c->valid_until = valid_until;
	c->body = copy;
	c->len = o->len;
	memcpy(c->token, tok, HC_TOKEN_MAX);
	pthread_mutex_unlock(m);
	free(old);
}

/* The citizen's code and token (cached), for me/code and its QR. */
static bool my_code(struct http_req *req, struct strbuf *o, char tok[HC_TOKEN_MAX])
{
	const struct user *u = req->user;
	if (u->role != ROLE_CITIZEN || !u->person_id) {
		http_error(req, 403, NULL, "only a citizen account bound to a person has a health code");
		return false;
	}
	int64_t now = fk_now();
	if (cache_get(u->person_id, now, o, tok))
		return true;
	uint64_t seq0 = seq + 1; /* a change stamped after this point invalidates it */
	int64_t valid_until = HC_NEVER;
	struct fk_err err;
	if (!http_reader(req))
		return false;
	enum fk_status s = code_body(req, u->person_id, now, true, o, tok, &valid_until, &err);
	if (s) {
		http_fail(req, s, &err);
		return false;
	}
	cache_put(u->person_id, seq0, valid_until, o, tok);
	return true;
}

static void me_code(struct http_req *req)
{
	struct strbuf o = STRBUF_INIT;
	char tok[HC_TOKEN_MAX];
	if (my_code(req, &o, tok))
		http_json(req, 200, o.buf);
	strbuf_release(&o);
}

static void me_code_qr(struct http_req *req)
{
	struct strbuf o = STRBUF_INIT, png = STRBUF_INIT;
	char tok[HC_TOKEN_MAX];
	struct fk_err err;
	if (my_code(req, &o, tok)) {
		if (hc_qr_png(tok, 8, &png, &err)) {
			http_fail(req, FK_EIO, &err);
		} else {
			req->status = 200;
			strbuf_reset(&req->out);
			strbuf_add(&req->out, png.buf, png.len);
			req->content_type = "image/png";
		}
	}
	strbuf_release(&o);
	strbuf_release(&png);
}

static void person_code(struct http_req *req)
{
	struct strbuf o = STRBUF_INIT;
	struct fk_err err;
	int64_t at = fk_now(), until;
	const char *atq = http_query(req, "at");
	char tok[HC_TOKEN_MAX];
	sqlite3 *db = http_reader(req);
	if (!db)
		return;
	if (atq && !fk_parse_time(atq, &at)) {
		http_error(req, 400, NULL, "'at' must be a time (ISO 8601 with offset)");
		return;
	}
	int64_t pid = person_param(req);
	if (pid < 0)
		return;
	enum fk_status s = code_body(req, pid, at, false, &o, tok, &until, &err);
	if (s) {
		http_fail(req, s, &err);
	} else {
		http_json(req, 200, o.buf);
		char obj[40];
		snprintf(obj, sizeof(obj), "person:%" PRId64, pid);
		http_audit(req, "code.read", obj, atq ? atq : "now");
	}
	strbuf_release(&o);
}

static void policy_json(const struct policy *p, struct strbuf *o)
{
	strbuf_addstr(o, "{\"name\":");
	strbuf_add_json_str(o, p->name);
	strbuf_addstr(o, ",\"title\":");
	strbuf_add_json_str(o, p->title);
	strbuf_addstr(o, ",\"effective\":");
	strbuf_add_json_str(o, p->effective);
	strbuf_addstr(o, ",\"version\":");
	strbuf_add_json_str(o, p->version);
	strbuf_addf(o,
		    ",\"window_minutes\":%d,\"infectious_days_before\":%d,"
		    "\"secondary_contacts\":%s,\"close_days\":%d,\"token_minutes\":%d,"
		    "\"available\":[\"protocol-8\",\"protocol-9\",\"protocol-9-20\"]}",
		    p->window_minutes, p->infectious_days_before,
		    p->secondary_contacts ? "true" : "false", p->close.days, p->token_minutes);
}

static void policy_get(struct http_req *req)
{
	struct strbuf o = STRBUF_INIT;
	const struct policy *p = policy_current();
	if (!p) {
		http_error(req, 503, NULL, "no policy loaded");
		return;
	}
	policy_json(p, &o);
	http_json(req, 200, o.buf);
	strbuf_release(&o);
}

static void policy_put(struct http_req *req)
{
	json_t *body = http_body_object(req);
	const char *name;
	struct policy *p = NULL;
	char *text = NULL;
	struct fk_err err;
	struct strbuf o = STRBUF_INIT;
	if (!body || !http_member_str(req, body, "name", &name))
		goto done;
	if (!name || !*name || strlen(name) > POLICY_NAME_MAX ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
		    strlen(name)) {
		http_error(req, 400, NULL,
			   "'name' must name a shipped policy (letters, digits, '-', '_')");
		goto done;
	}
	enum fk_status s = hc_policy_select(NULL, name, &p, &text, &err);
	if (s == FK_EIO || s == FK_ENOTFOUND) {
		http_error(req, 422, NULL, "no shipped policy named '%s'", name);
		goto done;
	}
	if (s) {
		http_error(req, 422, NULL, "%s", err.msg);
		goto done;
	}
	sqlite3 *w = store_writer_lock();
	s = w ? hc_policy_record(w, p, text, "policy.switch", req->user->username, req->origin,
				 &err)
	      : fk_fail(&err, FK_EDB, "database unavailable");
	if (!s)
		policy_set_current(p); /* before the writer is free: no later write sees the old one */
	store_writer_unlock();
	if (s) {
		http_fail(req, s, &err);
		goto done;
	}
	const struct policy *cur = p;
	p = NULL; /* owned by the policy store now */
	healthcode_all_changed();
	policy_json(cur, &o);
	http_json(req, 200, o.buf);
done:
	free(p);
	free(text);
	strbuf_release(&o);
	json_decref(body);
}

const struct http_route healthcode_routes[] = {
	{"GET", "/api/v1/me/code", me_code, 0, 0, 0},
	{"GET", "/api/v1/me/code/qr.png", me_code_qr, 0, 0, 0},
	{"GET", "/api/v1/persons/{id}/code", person_code, 0, PERM_READ_CODES, 0},
	{"GET", "/api/v1/policy", policy_get, 0, 0, 0},
	{"PUT", "/api/v1/policy", policy_put, ROUTE_JSON_BODY, PERM_POLICY, 1024},
};
const size_t healthcode_routes_len = FK_ARRAY_LEN(healthcode_routes);
