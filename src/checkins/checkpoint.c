/* checkpoint.c — arrivals at checkpoints 卡口: the decision for each
 * traveller (pass / test on arrival / isolate), its record, and the list.
 *
 * Design note.
 * - POST /api/v1/checkpoint/arrivals decides, in this order, and the first
 *   step that applies decides (its name is the answer's "rule"):
 *     a. code_red       the person's code is red now -> isolate;
 *     b. origin_high    the origin region lay in a high-risk area at some
 *                       time of [arrived - arrival_lookback_days, arrived]
 *                       -> isolate with the policy's [arrival_high]
 *                       measure; origin_medium likewise with
 *                       [arrival_medium] when the policy has a medium
 *                       level.  A measure of kind none or 0 days isolates
 *                       nobody: the check goes on;
 *     c. no_valid_test  no negative test sampled within
 *                       test_validity_hours before arrival, neither in the
 *                       person's test_results (resulted by now) nor as the
 *                       proof the traveller shows -> test_on_arrival;
 *     d. code_yellow    the code is yellow now -> test_on_arrival;
 *     e. checks_passed  -> pass.
 *   A traveller from a low-risk origin who is not isolated is also given
 *   the policy's follow-up (arrival_low_tests tests within
 *   arrival_low_within_days days).  Every number comes from the policy in
 *   force (policy_current(), read once per request), whose version the
 *   answer and the record carry.  The risk-area test is hc_areas_level,
 *   the same call the colour engine's arrival rule makes, so the decision
 *   and the code it causes cannot disagree about the origin.
 * - Who may be checked: a checkpoint's scope is the city or county it
 *   guards, but travellers come from anywhere and live anywhere in the
 *   city, so the only condition on the person is that they are registered
 *   (persons); an unregistered ID number is 422 with the number masked.
 * - Nothing is written before every check of the body passed.  The
 *   arrivals row (source 'checkpoint', decision, rule, recorded_by,
 *   policy_version) and its audit record are one transaction on the
 *   writer; after the commit healthcode_person_changed() makes the arrival
 *   rule part of the person's code at once.
 * - The decision reads on this thread's reader only (colour, risk areas,
 *   tests): the writer is held just for the insert and the audit record.
 * - GET /api/v1/arrivals lists arrivals of persons whose grid lies in the
 *   caller's scope, plus those the caller recorded (a checkpoint sees its
 *   own travellers, who may live in another county), newest first, paged
 *   by id, persons masked, audited.
 */
#include "checkins/checkins.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "healthcode/healthcode.h"
#include "http/http.h"
#include "lib/util.h"
#include "policy/policy.h"
#include "registry/registry.h"
#include "store/store.h"

#include "lib/banned.h"

#define ARRIVAL_BODY_MAX 4096
#define ID_NUMBER_LEN 18
#define ORIGIN_MAX 15 /* a grid: the longest region code */
/* arrived_at may lie this far ahead of the server's clock (device clocks) */
#define ARRIVAL_SKEW_SECONDS 300
/* ... and this far back: an arrival written up late from a paper log */
#define ARRIVAL_LATE_SECONDS (72 * 3600)
#define REASON_MAX 512
#define DAY_SECONDS INT64_C(86400)

enum decision { DECIDE_PASS = 0, DECIDE_TEST, DECIDE_ISOLATE };
static const char *const decision_names[] = {"pass", "test_on_arrival", "isolate"};
static const char *const decision_zh[] = {"通行", "落地检测", "隔离管控"};

/* What the traveller brought and who they are. */
struct arrival_in {
	int64_t person_id;
	char name[128], grid[SCOPE_MAX + 4];
	char id_number[ID_NUMBER_LEN + 1];
	char origin[ORIGIN_MAX + 1];
	int64_t arrived, now;
	bool proof;            /* a test proof was shown */
	int64_t proof_sampled; /* its sampling time */
};

/* The decision and everything it was made from. */
struct arrival_out {
	enum decision decision;
	const char *rule;
	char reason_zh[REASON_MAX], reason_en[REASON_MAX];
	enum colour colour;
	char colour_reason[256];
	int level;		    /* enum risk_level of the origin in the lookback */
	struct hc_area area;	    /* the area that gave it (area_found) */
	bool area_found;
	const struct policy_measure *measure; /* isolate by origin: its measure */
	bool test_known;	    /* the newest negative test before arrival */
	bool test_from_record;	    /* from test_results, else the proof */
	int64_t test_sampled;
	bool test_valid;
	bool follow_up;
};

static void add_member(struct strbuf *o, const char *key, const char *value)
{
	strbuf_add_json_str(o, key);
	strbuf_addch(o, ':');
	strbuf_add_json_str(o, value);
}

static void add_time(struct strbuf *o, const char *key, int64_t t)
{
	char buf[40];
	strbuf_add_json_str(o, key);
	strbuf_addch(o, ':');
	if (t == HC_NEVER || t == INT64_MIN)
		strbuf_addstr(o, "null");
	else
		strbuf_add_json_str(o, fk_format_time(t, buf, sizeof(buf)));
}

/* ---------- reading the body ---------- */

/* A region code of any province: all digits at a natural length (2, 4, 6,
 * 9, 12 or 15), or GB/T 2260 style padded with zeros to 6 or 12 digits,
 * which is cut to its natural length ("310100" -> "3101") so that it
 * matches risk areas the way the colour engine matches them. */
static bool origin_normalize(const char *s, char *out, size_t size)
{
	size_t n = strlen(s);
	if (!n || n > ORIGIN_MAX || !fk_all_digits(s, n) || !region_level_of_len(n))
		return false;
	if (!strncmp(s, "00", 2))
		return false; /* no province has code 00 */
	for (int level = 1; level <= 6; level++)
		if (region_code_normalize(s, level, out, size))
			return true;
	return false;
}

/* Reads and checks the body into in (except the person).  Answers 400 for
 * a wrong shape, 422 for a bad value, and returns false. */
static bool arrival_body(struct http_req *req, json_t *o, struct arrival_in *in)
{
	static const char *const known[] = {"id_number", "origin_code", "arrived_at", "test"};
	const char *idn, *origin, *arrived, *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		size_t i = 0;
		while (i < FK_ARRAY_LEN(known) && strcmp(k, known[i]))
			i++;
		if (i == FK_ARRAY_LEN(known)) {
			http_error(req, 400, NULL,
				   "unknown member '%s' (id_number, origin_code, arrived_at, test)", k);
			return false;
		}
	}
	if (!http_member_str(req, o, "id_number", &idn) ||
	    !http_member_str(req, o, "origin_code", &origin) ||
	    !http_member_str(req, o, "arrived_at", &arrived))
		return false;
	if (!idn || !origin) {
		http_error(req, 400, NULL, "'%s' is required", !idn ? "id_number" : "origin_code");
		return false;
	}
	json_t *test = json_object_get(o, "test");
	if (test && !json_is_null(test) && !json_is_object(test)) {
		http_error(req, 400, NULL,
			   "'test' must be an object {\"sampled_at\": ISO time, \"result\": "
			   "\"negative\"}");
		return false;
	}

	/* values */
	if (strlen(idn) != ID_NUMBER_LEN) {
		http_error(req, 422, NULL, "'id_number' is not an ID number: %s",
			   idnum_error_text(IDNUM_LENGTH));
		return false;
	}
	fk_strlcpy(in->id_number, idn, sizeof(in->id_number));
	if (in->id_number[ID_NUMBER_LEN - 1] == 'x')
		in->id_number[ID_NUMBER_LEN - 1] = 'X';
	enum idnum_error ie = idnum_parse(in->id_number, in->now, NULL);
	if (ie != IDNUM_OK) {
		http_error(req, 422, NULL, "'id_number' is not an ID number: %s",
			   idnum_error_text(ie));
		return false;
	}
	if (!origin_normalize(origin, in->origin, sizeof(in->origin))) {
		http_error(req, 422, NULL,
			   "'origin_code' must be a region code: 2, 4, 6, 9, 12 or 15 digits "
			   "(got '%.20s')",
			   origin);
		return false;
	}
	in->arrived = in->now;
	if (arrived) {
		if (!fk_parse_time(arrived, &in->arrived)) {
			http_error(req, 422, NULL,
				   "'arrived_at' is not an ISO 8601 time with offset, such as "
				   "2022-06-01T08:30:00+08:00");
			return false;
		}
		if (in->arrived > in->now + ARRIVAL_SKEW_SECONDS) {
			http_error(req, 422, NULL, "'arrived_at' is in the future");
			return false;
		}
		if (in->arrived < in->now - ARRIVAL_LATE_SECONDS) {
			http_error(req, 422, NULL,
				   "'arrived_at' is more than %d hours ago: record arrivals as "
				   "they happen",
				   ARRIVAL_LATE_SECONDS / 3600);
			return false;
		}
	}
	if (test && json_is_object(test)) {
		const char *sampled, *result;
		json_object_foreach(test, k, v) {
			if (strcmp(k, "sampled_at") && strcmp(k, "result")) {
				http_error(req, 400, NULL,
					   "unknown member 'test.%s' (sampled_at, result)", k);
				return false;
			}
		}
		if (!http_member_str(req, test, "sampled_at", &sampled) ||
		    !http_member_str(req, test, "result", &result))
			return false;
		if (!sampled || !result) {
			http_error(req, 400, NULL, "'test.%s' is required with 'test'",
				   !sampled ? "sampled_at" : "result");
			return false;
		}
		if (strcmp(result, "negative")) {
			http_error(req, 422, NULL,
				   "'test.result' must be \"negative\": only a negative result is "
				   "proof (got '%.20s')",
				   result);
			return false;
		}
		if (!fk_parse_time(sampled, &in->proof_sampled)) {
			http_error(req, 422, NULL,
				   "'test.sampled_at' is not an ISO 8601 time with offset, such as "
				   "2022-06-01T08:30:00+08:00");
			return false;
		}
		if (in->proof_sampled > in->arrived) {
			http_error(req, 422, NULL,
				   "'test.sampled_at' is after the arrival: only a test sampled "
				   "before arrival is proof");
			return false;
		}
		in->proof = true;
	}
	return true;
}

/* ---------- the decision ---------- */

static const char sql_person[] = "SELECT id, name, grid_code FROM persons WHERE id_number = ?1";
/* the newest negative test sampled by `arrived` whose result is known now */
static const char sql_last_negative[] =
	"SELECT max(sampled_at) FROM test_results WHERE person_id = ?1"
	" AND result = 'negative' AND sampled_at <= ?2 AND resulted_at <= ?3";

/* Looks the person up; FK_ENOTFOUND when not registered. */
static enum fk_status arrival_person(struct arrival_in *in, struct fk_err *err)
{
	sqlite3_stmt *q = store_reader_stmt(sql_person, err);
	if (!q)
		return FK_EDB;
	sqlite3_bind_text(q, 1, in->id_number, -1, SQLITE_STATIC);
	enum fk_status st = FK_OK;
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		in->person_id = sqlite3_column_int64(q, 0);
		fk_strlcpy(in->name, http_col(q, 1), sizeof(in->name));
		fk_strlcpy(in->grid, http_col(q, 2), sizeof(in->grid));
	} else if (rc == SQLITE_DONE) {
		char idm[40];
		mask_id_number(in->id_number, idm, sizeof(idm));
		/* FK_EINVAL: a body naming nobody is 422, not 404 */
		st = fk_fail(err, FK_EINVAL, "no registered person with ID number %s", idm);
	} else {
		st = fk_fail(err, FK_EDB, "cannot read persons: %s",
			     sqlite3_errmsg(sqlite3_db_handle(q)));
	}
	store_stmt_done(q);
	return st;
}

/* The newest negative test before arrival: from the record, else from
 * the proof, and whether it is within the policy's validity. */
static enum fk_status arrival_test(const struct policy *p, const struct arrival_in *in,
				   struct arrival_out *out, struct fk_err *err)
{
	sqlite3_stmt *q = store_reader_stmt(sql_last_negative, err);
	if (!q)
		return FK_EDB;
	sqlite3_bind_int64(q, 1, in->person_id);
	sqlite3_bind_int64(q, 2, in->arrived);
	sqlite3_bind_int64(q, 3, in->now);
	int rc = sqlite3_step(q);
	if (rc != SQLITE_ROW) {
		enum fk_status st = fk_fail(err, FK_EDB, "cannot read test results: %s",
					    sqlite3_errmsg(sqlite3_db_handle(q)));
		store_stmt_done(q);
		return st;
	}
	if (sqlite3_column_type(q, 0) != SQLITE_NULL) {
		out->test_known = out->test_from_record = true;
		out->test_sampled = sqlite3_column_int64(q, 0);
	}
	store_stmt_done(q);
	/* the proof counts when it is newer than any record */
	if (in->proof && (!out->test_known || in->proof_sampled > out->test_sampled)) {
		out->test_known = true;
		out->test_from_record = false;
		out->test_sampled = in->proof_sampled;
	}
	int64_t from = in->arrived - (int64_t)p->test_validity_hours * 3600;
	out->test_valid = out->test_known && out->test_sampled >= from &&
			  out->test_sampled <= in->arrived;
	return FK_OK;
}

/* Fills out->decision, rule and reasons from the facts gathered. */
static void arrival_decide(const struct policy *p, const struct arrival_in *in,
			   struct arrival_out *out)
{
	const char *area = out->area_found ? out->area.region : in->origin;
	out->measure = NULL;
	if (out->colour == COLOUR_RED) {
		out->decision = DECIDE_ISOLATE;
		out->rule = "code_red";
		snprintf(out->reason_zh, REASON_MAX, "红码(%s)：就地管控，移交转运隔离",
			 out->colour_reason);
		snprintf(out->reason_en, REASON_MAX,
			 "the health code is red: hold and hand over for isolation");
		return;
	}
	const struct policy_measure *m = NULL;
	const char *lvl_zh = NULL, *lvl_en = NULL;
	if (out->level == RISK_HIGH) {
		m = &p->arrival_high;
		lvl_zh = "高风险区";
		lvl_en = "high-risk";
	} else if (out->level == RISK_MEDIUM && p->medium_level) {
		m = &p->arrival_medium;
		lvl_zh = "中风险区";
		lvl_en = "medium-risk";
	}
	if (m && m->kind != ORDER_NONE && m->days > 0) {
		out->decision = DECIDE_ISOLATE;
		out->rule = out->level == RISK_HIGH ? "origin_high" : "origin_medium";
		out->measure = m;
		snprintf(out->reason_zh, REASON_MAX, "%d天内到过%s(%s)：%s%d天",
			 p->arrival_lookback_days, lvl_zh, area, order_kind_label_zh(m->kind),
			 m->days);
		snprintf(out->reason_en, REASON_MAX,
			 "stayed in %s area %s within %d days before arrival: %s for %d days",
			 lvl_en, area, p->arrival_lookback_days, order_kind_name(m->kind),
			 m->days);
		return;
	}
	/* a low-risk origin (a medium one counts as low under a policy
	 * without the medium level) brings the follow-up tests */
	out->follow_up = p->arrival_low_tests > 0 &&
			 (out->level == RISK_LOW || (out->level == RISK_MEDIUM && !p->medium_level));
	if (!out->test_valid) {
		out->decision = DECIDE_TEST;
		out->rule = "no_valid_test";
		snprintf(out->reason_zh, REASON_MAX, "无抵达前%d小时内核酸阴性证明：落地检测",
			 p->test_validity_hours);
		snprintf(out->reason_en, REASON_MAX,
			 "no negative test sampled within %d hours before arrival: test on "
			 "arrival",
			 p->test_validity_hours);
	} else if (out->colour == COLOUR_YELLOW) {
		out->decision = DECIDE_TEST;
		out->rule = "code_yellow";
		snprintf(out->reason_zh, REASON_MAX, "黄码(%s)：落地检测", out->colour_reason);
		snprintf(out->reason_en, REASON_MAX, "the health code is yellow: test on arrival");
	} else {
		out->decision = DECIDE_PASS;
		out->rule = "checks_passed";
		snprintf(out->reason_zh, REASON_MAX, "绿码，持抵达前%d小时内核酸阴性证明",
			 p->test_validity_hours);
		snprintf(out->reason_en, REASON_MAX,
			 "green code and a negative test sampled within %d hours before arrival",
			 p->test_validity_hours);
	}
	if (out->follow_up) {
		size_t n = strlen(out->reason_zh), e = strlen(out->reason_en);
		snprintf(out->reason_zh + n, REASON_MAX - n, "；抵达后%d天内完成%d次核酸检测",
			 p->arrival_low_within_days, p->arrival_low_tests);
		snprintf(out->reason_en + e, REASON_MAX - e, "; then %d tests within %d days",
			 p->arrival_low_tests, p->arrival_low_within_days);
	}
}

/* Gathers the colour, the origin's level and the tests on this thread's
 * reader, then decides. */
static enum fk_status arrival_evaluate(sqlite3 *db, const struct policy *p,
				       const struct arrival_in *in, struct arrival_out *out,
				       struct fk_err *err)
{
	struct hc_areas areas = {0};
	const struct hc_area *found = NULL;
	memset(out, 0, sizeof(*out));
	out->colour = healthcode_colour_now(in->person_id, in->now, out->colour_reason,
					    sizeof(out->colour_reason));
	if (!out->colour_reason[0])
		fk_strlcpy(out->colour_reason, colour_label_zh(out->colour),
			   sizeof(out->colour_reason));
	enum fk_status st = control_risk_areas(db, &areas, err);
	if (st)
		goto done;
	out->level = hc_areas_level(&areas, in->origin,
				    in->arrived - (int64_t)p->arrival_lookback_days * DAY_SECONDS,
				    in->arrived, &found);
	if (found) {
		out->area = *found;
		out->area_found = true;
	}
	if ((st = arrival_test(p, in, out, err)))
		goto done;
	arrival_decide(p, in, out);
done:
	hc_areas_release(&areas);
	return st;
}

/* Inserts the arrivals row and its audit record in one transaction. */
static enum fk_status arrival_record(sqlite3 *w, const struct policy *p,
				     const struct arrival_in *in, const struct arrival_out *out,
				     const struct user *u, const char *origin, int64_t *id,
				     struct fk_err *err)
{
	struct strbuf detail = STRBUF_INIT;
	char obj[40];
	sqlite3_stmt *q = NULL;
	enum fk_status st = store_begin(w, err);
	if (st)
		return st;
	q = store_prepare(w,
			  "INSERT INTO arrivals(person_id, origin_code, arrived_at, source,"
			  " decision, rule, recorded_by, policy_version)"
			  " VALUES(?1, ?2, ?3, 'checkpoint', ?4, ?5, ?6, ?7)",
			  err);
	if (!q) {
		st = FK_EDB;
		goto rollback;
	}
	sqlite3_bind_int64(q, 1, in->person_id);
	sqlite3_bind_text(q, 2, in->origin, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, in->arrived);
	sqlite3_bind_text(q, 4, decision_names[out->decision], -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, out->rule, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, u->username, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, p->version, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot record the arrival: %s", sqlite3_errmsg(w));
		goto rollback;
	}
	*id = sqlite3_last_insert_rowid(w);
	sqlite3_finalize(q);
	q = NULL;
	strbuf_addf(&detail, "{\"person\":%" PRId64 ",\"origin\":\"%s\",\"arrived_at\":%" PRId64
			     ",\"decision\":\"%s\",\"rule\":\"%s\",\"test\":\"%s\","
			     "\"colour\":\"%s\",\"policy_version\":",
		    in->person_id, in->origin, in->arrived, decision_names[out->decision],
		    out->rule,
		    !out->test_known ? "none" : out->test_from_record ? "record" : "proof",
		    colour_name(out->colour));
	strbuf_add_json_str(&detail, p->version);
	strbuf_addch(&detail, '}');
	snprintf(obj, sizeof(obj), "arrival:%" PRId64, *id);
	if ((st = audit_append(w, u->username, "arrival.record", obj, detail.buf, origin, err)))
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

static void arrival_json(struct strbuf *o, const struct policy *p, const struct arrival_in *in,
			 const struct arrival_out *out, int64_t id)
{
	char nm[256], idm[40];
	mask_name(in->name, nm, sizeof(nm));
	mask_id_number(in->id_number, idm, sizeof(idm));
	strbuf_addf(o, "{\"id\":%" PRId64 ",\"person\":{", id);
	add_member(o, "name", nm);
	strbuf_addch(o, ',');
	add_member(o, "id_number", idm);
	strbuf_addstr(o, "},");
	add_time(o, "arrived_at", in->arrived);
	strbuf_addstr(o, ",\"origin\":{");
	add_member(o, "code", in->origin);
	strbuf_addch(o, ',');
	add_member(o, "level", risk_level_name((enum risk_level)out->level));
	strbuf_addch(o, ',');
	add_member(o, "level_zh", risk_level_label_zh((enum risk_level)out->level));
	strbuf_addstr(o, ",\"area\":");
	if (out->area_found) {
		strbuf_addf(o, "{\"id\":%" PRId64 ",", out->area.id);
		add_member(o, "region_code", out->area.region);
		strbuf_addch(o, ',');
		add_member(o, "level", risk_level_name((enum risk_level)out->area.level));
		strbuf_addch(o, ',');
		add_time(o, "start_at", out->area.start);
		strbuf_addch(o, ',');
		add_time(o, "end_at", out->area.end);
		strbuf_addch(o, '}');
	} else {
		strbuf_addstr(o, "null");
	}
	strbuf_addstr(o, "},\"code\":{");
	add_member(o, "colour", colour_name(out->colour));
	strbuf_addch(o, ',');
	add_member(o, "colour_zh", colour_label_zh(out->colour));
	strbuf_addch(o, ',');
	add_member(o, "reason", out->colour_reason);
	strbuf_addstr(o, "},\"test\":");
	if (out->test_known) {
		strbuf_addch(o, '{');
		add_member(o, "source", out->test_from_record ? "record" : "proof");
		strbuf_addch(o, ',');
		add_time(o, "sampled_at", out->test_sampled);
		strbuf_addf(o, ",\"valid\":%s}", out->test_valid ? "true" : "false");
	} else {
		strbuf_addstr(o, "null");
	}
	strbuf_addch(o, ',');
	add_member(o, "decision", decision_names[out->decision]);
	strbuf_addch(o, ',');
	add_member(o, "decision_zh", decision_zh[out->decision]);
	strbuf_addch(o, ',');
	add_member(o, "rule", out->rule);
	strbuf_addch(o, ',');
	add_member(o, "reason_zh", out->reason_zh);
	strbuf_addch(o, ',');
	add_member(o, "reason_en", out->reason_en);
	strbuf_addstr(o, ",\"measure\":");
	if (out->measure) {
		const struct policy_measure *m = out->measure;
		int64_t end = in->arrived + (int64_t)m->days * DAY_SECONDS;
		strbuf_addch(o, '{');
		add_member(o, "kind", order_kind_name(m->kind));
		strbuf_addch(o, ',');
		add_member(o, "kind_zh", order_kind_label_zh(m->kind));
		strbuf_addf(o, ",\"days\":%d,", m->days);
		add_time(o, "ends_at", end);
		strbuf_addstr(o, ",\"then\":");
		if (m->then_kind != ORDER_NONE && m->then_days > 0) {
			strbuf_addch(o, '{');
			add_member(o, "kind", order_kind_name(m->then_kind));
			strbuf_addch(o, ',');
			add_member(o, "kind_zh", order_kind_label_zh(m->then_kind));
			strbuf_addf(o, ",\"days\":%d,", m->then_days);
			add_time(o, "ends_at", end + (int64_t)m->then_days * DAY_SECONDS);
			strbuf_addch(o, '}');
		} else {
			strbuf_addstr(o, "null");
		}
		strbuf_addch(o, '}');
	} else {
		strbuf_addstr(o, "null");
	}
	strbuf_addstr(o, ",\"follow_up\":");
	if (out->follow_up) {
		strbuf_addf(o, "{\"tests\":%d,\"within_days\":%d,", p->arrival_low_tests,
			    p->arrival_low_within_days);
		add_time(o, "by", in->arrived + (int64_t)p->arrival_low_within_days * DAY_SECONDS);
		strbuf_addch(o, '}');
	} else {
		strbuf_addstr(o, "null");
	}
	strbuf_addch(o, ',');
	add_member(o, "policy_version", p->version);
	strbuf_addch(o, '}');
}

static void arrival_post(struct http_req *req)
{
	const struct policy *p = policy_current();
	struct arrival_in in;
	struct arrival_out out;
	struct fk_err err;
	json_t *o = NULL;
	sqlite3 *db;
	int64_t id = 0;
	enum fk_status st;

	if (!p) {
		req->retry_after = "5";
		http_error(req, 503, NULL, "no policy is in force: arrivals cannot be decided");
		return;
	}
	memset(&in, 0, sizeof(in));
	in.now = fk_now();
	if (!(o = http_body_object(req)) || !arrival_body(req, o, &in))
		goto done;
	if (!(db = http_reader(req)))
		goto done;
	/* any registered person: see the design note */
	if ((st = arrival_person(&in, &err)) || (st = arrival_evaluate(db, p, &in, &out, &err))) {
		http_fail(req, st, &err);
		goto done;
	}
	sqlite3 *w = store_writer_lock();
	st = w ? arrival_record(w, p, &in, &out, req->user, req->origin, &id, &err)
	       : fk_fail(&err, FK_EDB, "database unavailable");
	store_writer_unlock();
	if (st) {
		http_fail(req, st, &err);
		goto done;
	}
	/* the arrival rule applies to the person's code from now on */
	healthcode_person_changed(in.person_id);
	strbuf_reset(&req->out);
	arrival_json(&req->out, p, &in, &out, id);
	req->status = 201;
	req->content_type = "application/json; charset=utf-8";
done:
	json_decref(o);
}

/* ---------- the list ---------- */

static const char sql_arrivals[] =
	"SELECT a.id, p.name, p.id_number, p.grid_code, a.origin_code, a.arrived_at, a.source,"
	" a.decision, a.rule, a.recorded_by, a.policy_version"
	" FROM arrivals a JOIN persons p ON p.id = a.person_id"
	" WHERE a.id < ?4 AND ((p.grid_code >= ?1 AND p.grid_code < ?2) OR a.recorded_by = ?6)"
	" AND (?3 IS NULL OR a.decision = ?3)"
	" ORDER BY a.id DESC LIMIT ?5";

static void arrivals_get(struct http_req *req)
{
	const char *decision = http_query(req, "decision");
	char after[32], hi[SCOPE_MAX + 2], key[32], idm[40], nm[256], audit[96];
	struct strbuf items = STRBUF_INIT;
	struct fk_err err;
	int limit, n = 0, rc;
	int64_t after_id = INT64_MAX, last = 0;
	bool more = false;

	if (!(role_perms(req->user->role) & (PERM_CHECKPOINT | PERM_READ_CODES))) {
		http_error(req, 403, NULL, "role '%s' may not do this", role_name(req->user->role));
		return;
	}
	if (decision && strcmp(decision, "pass") && strcmp(decision, "test_on_arrival") &&
	    strcmp(decision, "isolate")) {
		http_error(req, 400, NULL, "decision must be pass, test_on_arrival or isolate");
		return;
	}
	if (!http_page_params(req, &limit, after, sizeof(after)))
		return;
	if (*after && !fk_parse_i64(after, 1, INT64_MAX, &after_id)) {
		http_error(req, 400, NULL, "cursor is not valid");
		return;
	}
	sqlite3_stmt *q = store_reader_stmt(sql_arrivals, &err);
	if (!q) {
		http_error(req, 503, NULL, "database unavailable");
		return;
	}
	access_scope_upper(req->user->scope, hi, sizeof(hi));
	sqlite3_bind_text(q, 1, req->user->scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, hi, -1, SQLITE_STATIC);
	if (decision)
		sqlite3_bind_text(q, 3, decision, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, 3);
	sqlite3_bind_int64(q, 4, after_id);
	sqlite3_bind_int(q, 5, limit + 1);
	sqlite3_bind_text(q, 6, req->user->username, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == limit) {
			more = true;
			break;
		}
		last = sqlite3_column_int64(q, 0);
		mask_name(http_col(q, 1), nm, sizeof(nm));
		mask_id_number(http_col(q, 2), idm, sizeof(idm));
		if (n++)
			strbuf_addch(&items, ',');
		strbuf_addf(&items, "{\"id\":%" PRId64 ",\"person\":{", last);
		add_member(&items, "name", nm);
		strbuf_addch(&items, ',');
		add_member(&items, "id_number", idm);
		strbuf_addch(&items, ',');
		add_member(&items, "grid_code", http_col(q, 3));
		strbuf_addstr(&items, "},");
		add_member(&items, "origin_code", http_col(q, 4));
		strbuf_addch(&items, ',');
		add_time(&items, "arrived_at", sqlite3_column_int64(q, 5));
		strbuf_addch(&items, ',');
		add_member(&items, "source", http_col(q, 6));
		strbuf_addch(&items, ',');
		add_member(&items, "decision", http_col(q, 7));
		strbuf_addch(&items, ',');
		add_member(&items, "rule", http_col(q, 8));
		strbuf_addch(&items, ',');
		add_member(&items, "recorded_by", http_col(q, 9));
		strbuf_addch(&items, ',');
		add_member(&items, "policy_version", http_col(q, 10));
		strbuf_addch(&items, '}');
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		fk_fail(&err, FK_EDB, "cannot list arrivals: %s",
			sqlite3_errmsg(sqlite3_db_handle(q)));
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
	snprintf(audit, sizeof(audit), "decision=%s listed=%d", decision ? decision : "*", n);
	http_audit(req, "arrivals.read", *req->user->scope ? req->user->scope : "*", audit);
done:
	strbuf_release(&items);
}

const struct http_route checkpoint_routes[] = {
	{"POST", "/api/v1/checkpoint/arrivals", arrival_post, ROUTE_JSON_BODY, PERM_CHECKPOINT,
	 ARRIVAL_BODY_MAX},
	/* PERM_CHECKPOINT or PERM_READ_CODES: checked by the handler */
	{"GET", "/api/v1/arrivals", arrivals_get, 0, 0, 0},
};
const size_t checkpoint_routes_len = FK_ARRAY_LEN(checkpoint_routes);
