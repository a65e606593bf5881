/* Suite "policy": policy files read and checked whole.
 *
 * Expected values of the shipped files come from the editions themselves
 * (DOMAIN.md "Core rules": protocol 8 14+7 days, tests 1,4,7,14 + 2,7;
 * protocol 9 7+3 days, tests 1,2,3,5,7 + 3, secondary 7 days home, tests
 * 1,4,7; the 20 measures 5+3, no secondary contacts, high and low only,
 * lifted after 5 days), not from the parser.  Bad texts are built here from
 * a small valid file of our own; the expected line of each problem is
 * counted in the text by the test (line_of), the reason is the exact
 * message.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/strbuf.h"
#include "lib/util.h"
#include "policy/policy.h"

#include "lib/banned.h"

static const char base[] = "; a small valid policy\n"
			   "[policy]\n"
			   "name = t-1.0_x\n"
			   "title = 测试\n"
			   "effective = 2024-02-29\n"
			   "[tracing]\n"
			   "infectious_days_before = 4\n"
			   "window_minutes = 30\n"
			   "secondary_contacts = yes\n"
			   "[close_contact]\n"
			   "kind = central\n"
			   "days = 7\n"
			   "test_days = 1, 2, 3, 5, 7\n"
			   "then_kind = home_monitoring\n"
			   "then_days = 3\n"
			   "then_test_days = 3\n"
			   "[secondary_contact]\n"
			   "kind = home_isolation\n"
			   "days = 7\n"
			   "test_days = 1,4,7\n"
			   "then_kind = none\n"
			   "then_days = 0\n"
			   "then_test_days =\n"
			   "release_after_close_negatives = 2\n"
			   "[arrival_high]\n"
			   "kind = central\n"
			   "days = 7\n"
			   "test_days = 1\n"
			   "then_kind = none\n"
			   "then_days = 0\n"
			   "then_test_days =\n"
			   "[arrival_medium]\n"
			   "kind = home_isolation\n"
			   "days = 7\n"
			   "test_days = 7\n"
			   "then_kind = none\n"
			   "then_days = 0\n"
			   "then_test_days =\n"
			   "[isolation]\n"
			   "household_may_share_room = false\n"
			   "release_requires_negative = true\n"
			   "release_recheck_hours = 24\n"
			   "checks_per_day = 2\n"
			   "fever_celsius = 37.3\n"
			   "[risk_area]\n"
			   "medium_level = yes\n"
			   "high_to_medium_days = 7\n"
			   "medium_to_low_after_high_days = 3\n"
			   "medium_to_low_days = 7\n"
			   "high_to_low_days = 0\n"
			   "[arrival]\n"
			   "lookback_days = 7\n"
			   "low_tests = 2\n"
			   "low_within_days = 3\n"
			   "[checkpoint]\n"
			   "test_validity_hours = 48\n"
			   "[periodic]\n"
			   "cold_chain = 2\n"
			   "courier = 3\n"
			   "[colours]\n"
			   "case = red\n"
			   "isolation = red\n"
			   "home_monitoring = yellow\n"
			   "close = red\n"
			   "secondary = yellow\n"
			   "fever = yellow\n"
			   "pool_positive = yellow\n"
			   "arrival_high = red\n"
			   "arrival_medium = yellow\n"
			   "periodic_overdue = yellow\n"
			   "resident_high = red\n"
			   "resident_medium = green\n"
			   "[code]\n"
			   "token_minutes = 5\n"
			   "override_max_days = 7\n"
			   "override_city_threshold = 50\n"
			   "appeal_deadline_hours = 24\n"
			   "[testing]\n"
			   "campaign_whole_days = 7\n"
			   "campaign_core_days = 3\n"
			   "campaign_designated_hours = 24\n"
			   "exempt_under_age_years = 3\n"
			   "retest_hours = 12\n"
			   "resample_hours = 24\n"
			   "[retention]\n"
			   "checkin_days = 28\n"
			   "[targets]\n"
			   "team_on_site_hours = 2\n"
			   "core_info_hours = 4\n"
			   "report_hours = 24\n"
			   "contacts_controlled_hours = 24\n";

/* ---- helpers ---- */

#define MAXD 64
struct diags {
	int n;
	int line[MAXD];
	char msg[MAXD][400];
	char file[64];
};

static void collect(void *ctx, const char *file, int line, const char *msg)
{
	struct diags *d = ctx;
	cr_assert_lt(d->n, MAXD, "too many problems");
	fk_strlcpy(d->file, file, sizeof(d->file));
	d->line[d->n] = line;
	fk_strlcpy(d->msg[d->n], msg, sizeof(d->msg[0]));
	d->n++;
}

/* base with the first occurrence of `from` replaced by `to` (caller frees) */
static char *edit(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	cr_assert_not_null(at, "'%s' not in the text", from);
	struct strbuf sb = STRBUF_INIT;
	strbuf_add(&sb, text, (size_t)(at - text));
	strbuf_addstr(&sb, to);
	strbuf_addstr(&sb, at + strlen(from));
	return strbuf_detach(&sb, NULL);
}

/* 1-based line on which `needle` starts in text */
static int line_of(const char *text, const char *needle)
{
	const char *at = strstr(text, needle);
	cr_assert_not_null(at, "'%s' not in the text", needle);
	int line = 1;
	for (const char *p = text; p < at; p++)
		line += *p == '\n';
	return line;
}

static enum fk_status parse(const char *text, struct policy *p, struct diags *d,
			    struct fk_err *err)
{
	memset(d, 0, sizeof(*d));
	return policy_parse(text, strlen(text), "t.ini", p, collect, d, err);
}

/* text must give exactly one problem: at line, with message msg */
static void expect_one(const char *text, int line, const char *msg)
{
	struct policy p;
	struct diags d;
	struct fk_err err = {FK_OK, ""};
	enum fk_status st = parse(text, &p, &d, &err);
	cr_assert_eq(st, FK_EINVAL, "accepted a bad text (want '%s')", msg);
	cr_assert_eq(d.n, 1, "%d problems, want 1 (first: %d: %s)", d.n, d.line[0], d.msg[0]);
	cr_expect_eq(d.line[0], line, "line %d, want %d (%s)", d.line[0], line, d.msg[0]);
	cr_expect_str_eq(d.msg[0], msg);
	char want[600];
	if (line)
		snprintf(want, sizeof(want), "t.ini:%d: %s", line, msg);
	else
		snprintf(want, sizeof(want), "t.ini: %s", msg);
	cr_expect_str_eq(err.msg, want);
}

static void expect_edit(const char *from, const char *to, const char *at, const char *msg)
{
	char *text = edit(base, from, to);
	expect_one(text, line_of(text, at), msg);
	free(text);
}

static void expect_days(const struct policy_measure *m, const int *want, int n, bool then)
{
	const int *got = then ? m->then_test_days : m->test_days;
	int ngot = then ? m->nthen_test_days : m->ntest_days;
	cr_assert_eq(ngot, n, "%d test days, want %d", ngot, n);
	for (int i = 0; i < n; i++)
		cr_expect_eq(got[i], want[i], "test day %d is %d, want %d", i, got[i], want[i]);
}

static void load_shipped(const char *name, struct policy *p)
{
	char path[256];
	snprintf(path, sizeof(path), "policy/%s.ini", name);
	struct diags d = {0};
	struct fk_err err = {FK_OK, ""};
	enum fk_status st = policy_load(path, p, NULL, collect, &d, &err);
	cr_assert_eq(st, FK_OK, "%s: %s", path, err.msg);
	cr_assert_eq(d.n, 0);
	cr_assert_str_eq(p->name, name);
}

static int periodic_days(const struct policy *p, const char *occ)
{
	for (int i = 0; i < p->nperiodic; i++)
		if (!strcmp(p->periodic[i].occupation, occ))
			return p->periodic[i].days;
	return -1;
}

/* what every shipped edition shares */
static void expect_common(const struct policy *p)
{
	cr_expect_eq(p->window_minutes, 30);
	cr_expect_eq(p->test_validity_hours, 48);
	cr_expect_eq(p->token_minutes, 5);
	cr_expect_eq(p->override_max_days, 7);
	cr_expect_eq(p->override_city_threshold, 50);
	cr_expect_eq(p->appeal_deadline_hours, 24);
	cr_expect_eq(p->campaign_whole_days, 7);
	cr_expect_eq(p->campaign_core_days, 3);
	cr_expect_eq(p->campaign_designated_hours, 24);
	cr_expect_eq(p->exempt_under_age_years, 3);
	cr_expect_eq(p->checkin_retention_days, 28);
	cr_expect_eq(p->nperiodic, 6);
	cr_expect_eq(periodic_days(p, "cold_chain"), 2);
	cr_expect_eq(periodic_days(p, "port"), 2);
	cr_expect_eq(periodic_days(p, "isolation_staff"), 1);
	cr_expect_eq(periodic_days(p, "medical"), 7);
	cr_expect_eq(periodic_days(p, "courier"), 3);
	cr_expect_eq(periodic_days(p, "transport"), 3);
	cr_expect_eq(p->colour_case, COLOUR_RED);
	cr_expect_eq(p->colour_isolation, COLOUR_RED);
	cr_expect_eq(p->colour_home_monitoring, COLOUR_YELLOW);
	cr_expect_eq(p->colour_close, COLOUR_RED);
	cr_expect_eq(p->colour_secondary, COLOUR_YELLOW);
	cr_expect_eq(p->colour_fever, COLOUR_YELLOW);
	cr_expect_eq(p->colour_pool_positive, COLOUR_YELLOW);
	cr_expect_eq(p->colour_arrival_high, COLOUR_RED);
	cr_expect_eq(p->colour_arrival_medium, COLOUR_YELLOW);
	cr_expect_eq(p->colour_periodic_overdue, COLOUR_YELLOW);
	cr_expect_eq(p->colour_resident_high, COLOUR_RED);
	cr_expect_eq(p->colour_resident_medium, COLOUR_YELLOW);
	cr_expect_eq(strlen(p->sha256), 64);
	char want[80];
	snprintf(want, sizeof(want), "%s@%.12s", p->name, p->sha256);
	cr_expect_str_eq(p->version, want);
}

/* ---- the shipped editions ---- */

Test(policy, protocol_9)
{
	struct policy p;
	load_shipped("protocol-9", &p);
	expect_common(&p);
	cr_expect_str_eq(p.effective, "2022-06-27");
	cr_expect_eq(p.infectious_days_before, 4);
	cr_expect(p.secondary_contacts);
	cr_expect_eq(p.close.kind, ORDER_CENTRAL);
	cr_expect_eq(p.close.days, 7);
	expect_days(&p.close, (int[]){1, 2, 3, 5, 7}, 5, false);
	cr_expect_eq(p.close.then_kind, ORDER_HOME_MONITORING);
	cr_expect_eq(p.close.then_days, 3);
	expect_days(&p.close, (int[]){3}, 1, true);
	cr_expect_eq(p.secondary.kind, ORDER_HOME_ISOLATION);
	cr_expect_eq(p.secondary.days, 7);
	expect_days(&p.secondary, (int[]){1, 4, 7}, 3, false);
	cr_expect_eq(p.secondary.then_kind, ORDER_NONE);
	cr_expect_eq(p.secondary.then_days, 0);
	cr_expect_eq(p.secondary_release_close_negatives, 2);
	cr_expect_eq(p.arrival_high.kind, ORDER_CENTRAL);
	cr_expect_eq(p.arrival_high.days, 7);
	expect_days(&p.arrival_high, (int[]){1, 2, 3, 5, 7}, 5, false);
	cr_expect_eq(p.arrival_medium.kind, ORDER_HOME_ISOLATION);
	cr_expect_eq(p.arrival_medium.days, 7);
	expect_days(&p.arrival_medium, (int[]){1, 4, 7}, 3, false);
	cr_expect(p.medium_level);
	cr_expect_eq(p.high_to_medium_days, 7);
	cr_expect_eq(p.medium_to_low_after_high_days, 3);
	cr_expect_eq(p.medium_to_low_days, 7);
	cr_expect_eq(p.high_to_low_days, 0);
	cr_expect_eq(p.arrival_lookback_days, 7);
	cr_expect_eq(p.arrival_low_tests, 2);
	cr_expect_eq(p.arrival_low_within_days, 3);
	cr_expect(p.release_requires_negative);
}

Test(policy, protocol_8)
{
	struct policy p;
	load_shipped("protocol-8", &p);
	expect_common(&p);
	cr_expect_eq(p.infectious_days_before, 2);
	cr_expect(p.secondary_contacts);
	cr_expect_eq(p.close.kind, ORDER_CENTRAL);
	cr_expect_eq(p.close.days, 14);
	expect_days(&p.close, (int[]){1, 4, 7, 14}, 4, false);
	cr_expect_eq(p.close.then_kind, ORDER_HOME_MONITORING);
	cr_expect_eq(p.close.then_days, 7);
	expect_days(&p.close, (int[]){2, 7}, 2, true);
	cr_expect_eq(p.secondary.kind, ORDER_CENTRAL);
	cr_expect_eq(p.secondary.days, 7);
	cr_expect(p.medium_level);
	cr_expect_eq(p.high_to_medium_days, 14);
	cr_expect_eq(p.medium_to_low_after_high_days, 14);
	cr_expect_eq(p.medium_to_low_days, 14);
	cr_expect_eq(p.arrival_high.kind, ORDER_CENTRAL);
	cr_expect_eq(p.arrival_high.days, 14);
}

Test(policy, protocol_9_20)
{
	struct policy p;
	load_shipped("protocol-9-20", &p);
	expect_common(&p);
	cr_expect_str_eq(p.effective, "2022-11-11");
	cr_expect_not(p.secondary_contacts);
	cr_expect_eq(p.close.kind, ORDER_CENTRAL);
	cr_expect_eq(p.close.days, 5);
	expect_days(&p.close, (int[]){1, 2, 3, 4, 5}, 5, false);
	cr_expect_eq(p.close.then_kind, ORDER_HOME_ISOLATION);
	cr_expect_eq(p.close.then_days, 3);
	expect_days(&p.close, (int[]){1, 3}, 2, true);
	cr_expect_eq(p.secondary.kind, ORDER_NONE);
	cr_expect_eq(p.secondary.days, 0);
	cr_expect_not(p.medium_level);
	cr_expect_eq(p.high_to_low_days, 5);
	cr_expect_eq(p.high_to_medium_days, 0);
	cr_expect_eq(p.arrival_high.kind, ORDER_HOME_ISOLATION);
	cr_expect_eq(p.arrival_high.days, 7);
}

Test(policy, shipped_versions_differ)
{
	struct policy a, b, c;
	load_shipped("protocol-8", &a);
	load_shipped("protocol-9", &b);
	load_shipped("protocol-9-20", &c);
	cr_expect_str_neq(a.sha256, b.sha256);
	cr_expect_str_neq(b.sha256, c.sha256);
}

/* ---- the small valid text ---- */

Test(policy, base_text_parses)
{
	struct policy p;
	struct diags d;
	struct fk_err err = {FK_OK, ""};
	cr_assert_eq(parse(base, &p, &d, &err), FK_OK, "%s", err.msg);
	cr_assert_eq(d.n, 0);
	cr_expect_str_eq(p.name, "t-1.0_x");
	cr_expect_str_eq(p.title, "测试");
	cr_expect_eq(p.arrival_medium.ntest_days, 1);
	cr_expect_eq(p.secondary.nthen_test_days, 0);
	cr_expect_not(p.household_may_share_room);
	cr_expect(p.release_requires_negative);
	cr_expect_eq(p.colour_resident_medium, COLOUR_GREEN);
	cr_expect_eq(p.nperiodic, 2);
	cr_expect_str_eq(p.periodic[1].occupation, "courier");
	cr_expect_eq(p.periodic[1].days, 3);
}

Test(policy, whitespace_comments_crlf_bom)
{
	char *a = edit(base, "window_minutes = 30\n", "   window_minutes=45   ; inline\r\n# hash\n");
	char *b = edit(a, "; a small", "\xEF\xBB\xBF; a small");
	struct policy p;
	struct diags d;
	struct fk_err err = {FK_OK, ""};
	cr_assert_eq(parse(b, &p, &d, &err), FK_OK, "%s", err.msg);
	cr_expect_eq(p.window_minutes, 45);
	free(a);
	free(b);
}

/* ---- every kind of problem, with its line and reason ---- */

Test(policy, unknown_section)
{
	expect_edit("[arrival]\n", "[arrivals]\n[arrival]\n", "[arrivals]",
		    "unknown section '[arrivals]' (sections: policy, tracing, close_contact, "
		    "secondary_contact, arrival_high, arrival_medium, isolation, risk_area, "
		    "arrival, checkpoint, periodic, colours, code, testing, retention, targets)");
}

Test(policy, unknown_key)
{
	expect_edit("low_tests = 2\n", "low_tests = 2\nlow_test = 2\n", "low_test =",
		    "unknown key 'low_test' in [arrival] (keys: lookback_days, low_tests, "
		    "low_within_days)");
}

Test(policy, duplicate_key_and_section)
{
	char want[200];
	char *text = edit(base, "fever = yellow\n", "fever = yellow\nfever = red\n");
	snprintf(want, sizeof(want), "duplicate key 'fever' in [colours] (first at line %d)",
		 line_of(text, "fever = yellow"));
	expect_one(text, line_of(text, "fever = red"), want);
	free(text);
	text = edit(base, "[checkpoint]\n", "[checkpoint]\n[checkpoint]\n");
	snprintf(want, sizeof(want), "duplicate section '[checkpoint]' (first at line %d)",
		 line_of(text, "[checkpoint]"));
	expect_one(text, line_of(text, "[checkpoint]") + 1, want);
	free(text);
	text = edit(base, "courier = 3\n", "courier = 3\ncourier = 4\n");
	snprintf(want, sizeof(want), "duplicate key 'courier' in [periodic] (first at line %d)",
		 line_of(text, "courier = 3"));
	expect_one(text, line_of(text, "courier = 4"), want);
	free(text);
}

Test(policy, bad_values)
{
	expect_edit("window_minutes = 30", "window_minutes = 0", "window_minutes",
		    "bad value '0' for window_minutes in [tracing]: an integer from 1 to 1440");
	expect_edit("window_minutes = 30", "window_minutes = 1441", "window_minutes",
		    "bad value '1441' for window_minutes in [tracing]: an integer from 1 to 1440");
	expect_edit("days = 7", "days = -1", "days = -1",
		    "bad value '-1' for days in [close_contact]: an integer from 0 to 60");
	expect_edit("days = 7", "days = 7x", "days = 7x",
		    "bad value '7x' for days in [close_contact]: an integer from 0 to 60");
	expect_edit("secondary_contacts = yes", "secondary_contacts = Y", "secondary_contacts",
		    "bad value 'Y' for secondary_contacts in [tracing]: yes, no, true or false");
	expect_edit("kind = central", "kind = hotel", "kind = hotel",
		    "bad value 'hotel' for kind in [close_contact]: central, home_isolation, "
		    "home_monitoring or none");
	expect_edit("fever = yellow", "fever = amber", "fever = amber",
		    "bad value 'amber' for fever in [colours]: green, yellow or red");
	expect_edit("effective = 2024-02-29", "effective = 2023-02-29", "effective",
		    "bad value '2023-02-29' for effective in [policy]: a real date YYYY-MM-DD");
	expect_edit("name = t-1.0_x", "name = t/1", "name",
		    "bad value 't/1' for name in [policy]: 1 to 48 characters of A-Z a-z 0-9 . _ "
		    "-");
	expect_edit("token_minutes = 5", "token_minutes = 120", "token_minutes",
		    "bad value '120' for token_minutes in [code]: an integer from 1 to 60");
	expect_edit("test_days = 1,4,7", "test_days = 1,,7", "test_days = 1,,7",
		    "bad value '1,,7' for test_days in [secondary_contact]: a comma-separated "
		    "list of at most 16 day numbers from 1 to 60 (may be empty)");
	expect_edit("test_days = 1,4,7", "test_days = 0,4,7", "test_days = 0",
		    "bad value '0,4,7' for test_days in [secondary_contact]: a comma-separated "
		    "list of at most 16 day numbers from 1 to 60 (may be empty)");
	expect_edit("cold_chain = 2", "cold_chain = 0", "cold_chain",
		    "bad value '0' for cold_chain in [periodic]: an integer from 1 to 60 (days "
		    "between tests)");
	expect_edit("cold_chain = 2", "Cold-Chain = 2", "Cold-Chain",
		    "bad occupation 'Cold-Chain' in [periodic]: 1 to 23 characters of a-z and _ "
		    "(as in persons.occupation)");
	expect_edit("title = 测试", "title =", "title",
		    "bad value '' for title in [policy]: 1 to 159 bytes of UTF-8 text");
	expect_edit("title = 测试", "title = \xff\xfe", "title",
		    "bad value '\xff\xfe' for title in [policy]: 1 to 159 bytes of UTF-8 text");
}

Test(policy, missing_key_at_section_line)
{
	expect_edit("campaign_core_days = 3\n", "", "[testing]",
		    "missing key 'campaign_core_days' in [testing]");
}

Test(policy, missing_section_is_line_0)
{
	char *text = edit(base, "[retention]\ncheckin_days = 28\n", "");
	expect_one(text, 0, "missing section [retention]");
	free(text);
}

Test(policy, test_days_within_phase_and_increasing)
{
	expect_edit("test_days = 1, 2, 3, 5, 7", "test_days = 1, 2, 3, 5, 8", "test_days = 1, 2",
		    "test_days in [close_contact]: test day 8 is outside 1..days (7)");
	expect_edit("test_days = 1, 2, 3, 5, 7", "test_days = 1, 3, 2", "test_days = 1, 3",
		    "test_days in [close_contact]: test days must increase (2 after 3)");
	expect_edit("test_days = 1, 2, 3, 5, 7", "test_days = 1, 1", "test_days = 1, 1",
		    "test_days in [close_contact]: test days must increase (1 after 1)");
	expect_edit("then_test_days = 3", "then_test_days = 4", "then_test_days = 4",
		    "then_test_days in [close_contact]: test day 4 is outside 1..then_days (3)");
}

Test(policy, phases_consistent)
{
	expect_edit("then_days = 3\nthen_test_days = 3", "then_days = 0\nthen_test_days =",
		    "then_days = 0",
		    "then_days in [close_contact]: then_days is 0 exactly when then_kind is none "
		    "(then_kind = home_monitoring, then_days = 0)");
	expect_edit("kind = central\ndays = 7\ntest_days = 1\n",
		    "kind = none\ndays = 7\ntest_days = 1\n", "days = 7\ntest_days = 1\n",
		    "days in [arrival_high]: days is 0 exactly when kind is none (kind = none, "
		    "days = 7)");
	/* then_kind with no first phase */
	char *a = edit(base, "kind = home_isolation\ndays = 7\ntest_days = 7\nthen_kind = none\n"
			     "then_days = 0\nthen_test_days =\n",
		       "kind = none\ndays = 0\ntest_days =\nthen_kind = central\nthen_days = 1\n"
		       "then_test_days =\n");
	expect_one(a, line_of(a, "then_kind = central"),
		   "then_kind in [arrival_medium]: a second phase needs a first (kind is none)");
	free(a);
}

Test(policy, cross_section_rules)
{
	expect_edit("secondary_contacts = yes", "secondary_contacts = no", "kind = home_isolation",
		    "kind in [secondary_contact]: must be none when [tracing] secondary_contacts "
		    "= no");
	expect_edit("release_after_close_negatives = 2", "release_after_close_negatives = 6",
		    "release_after",
		    "release_after_close_negatives in [secondary_contact]: 6 is more than the "
		    "close contact's 5 test days");
	expect_edit("high_to_low_days = 0", "high_to_low_days = 5", "high_to_low_days",
		    "high_to_low_days in [risk_area]: must be 0 when medium_level = yes");
	/* medium_level = no: the three medium liftings must be 0, high -> low set */
	char *text = edit(base, "medium_level = yes", "medium_level = no");
	struct policy p;
	struct diags d;
	struct fk_err err = {FK_OK, ""};
	cr_assert_eq(parse(text, &p, &d, &err), FK_EINVAL);
	cr_assert_eq(d.n, 4);
	cr_expect_str_eq(d.msg[0],
			 "high_to_medium_days in [risk_area]: must be 0 when medium_level = no");
	cr_expect_eq(d.line[0], line_of(text, "high_to_medium_days"));
	cr_expect_str_eq(d.msg[1], "medium_to_low_after_high_days in [risk_area]: must be 0 "
				   "when medium_level = no");
	cr_expect_str_eq(d.msg[2],
			 "medium_to_low_days in [risk_area]: must be 0 when medium_level = no");
	cr_expect_str_eq(d.msg[3], "high_to_low_days in [risk_area]: must be at least 1 when "
				   "medium_level = no");
	cr_expect_eq(d.line[3], line_of(text, "high_to_low_days"));
	free(text);
	expect_edit("low_within_days = 3", "low_within_days = 0", "low_within_days",
		    "low_within_days in [arrival]: must be at least 1 when low_tests > 0");
}

Test(policy, bad_lines)
{
	expect_edit("[isolation]\n", "[isolation]\njust words\n", "just words",
		    "expected 'key = value', a '[section]' or a '; comment'");
	expect_edit("[isolation]\n", "[isolation] x\n", "[isolation]",
		    "text after the section header");
	/* a broken header loses its section too: two problems, line 0 first */
	char *h = edit(base, "[isolation]\n", "[isolation\n");
	struct policy hp;
	struct diags hd;
	struct fk_err herr = {FK_OK, ""};
	cr_assert_eq(parse(h, &hp, &hd, &herr), FK_EINVAL);
	cr_assert_eq(hd.n, 2);
	cr_expect_eq(hd.line[0], 0);
	cr_expect_str_eq(hd.msg[0], "missing section [isolation]");
	cr_expect_eq(hd.line[1], line_of(h, "[isolation"));
	cr_expect_str_eq(hd.msg[1], "section header without ']'");
	free(h);
	expect_edit("; a small valid policy\n", "stray = 1\n", "stray",
		    "key 'stray' outside any section");
	char line[400];
	memset(line, 'x', sizeof(line));
	memcpy(line, "; ", 2);
	line[sizeof(line) - 1] = '\0';
	/* a long comment is fine; a long key line is not */
	char *a = edit(base, "; a small valid policy", line);
	struct policy p;
	struct diags d;
	struct fk_err err = {FK_OK, ""};
	cr_expect_eq(parse(a, &p, &d, &err), FK_OK, "%s", err.msg);
	free(a);
	memcpy(line, "c=", 2);
	a = edit(base, "courier = 3\n", line);
	char *b = edit(a, "xxxxx[colours]", "xxxxx\n[colours]");
	cr_assert_eq(parse(b, &p, &d, &err), FK_EINVAL);
	cr_assert_geq(d.n, 1);
	cr_expect_eq(d.line[0], line_of(b, "c=xx"));
	cr_expect(fk_starts_with(d.msg[0], "line longer than "), "%s", d.msg[0]);
	free(a);
	free(b);
}

Test(policy, nul_byte_is_an_error)
{
	struct policy p;
	struct diags d;
	struct fk_err err = {FK_OK, ""};
	size_t n = strlen(base);
	char *text = fk_xstrdup(base);
	char *at = strstr(text, "days = 7\n");
	at[5] = '\0'; /* "days \0 7" */
	memset(&d, 0, sizeof(d));
	cr_assert_eq(policy_parse(text, n, "t.ini", &p, collect, &d, &err), FK_EINVAL);
	cr_assert_eq(d.n, 2, "%d: %s", d.n, d.msg[0]);
	cr_expect_str_eq(d.msg[0], "missing key 'days' in [close_contact]");
	cr_expect_str_eq(d.msg[1], "a NUL byte in the line");
	cr_expect_eq(d.line[1], line_of(base, "days = 7"));
	free(text);
}

/* Several problems: all reported, sorted by line, the first in err. */
Test(policy, all_problems_in_line_order)
{
	char *a = edit(base, "checkin_days = 28\n", "checkin_days = 0\n");
	char *b = edit(a, "[policy]\n", "[policy]\nversion = 3\n");
	char *c = edit(b, "token_minutes = 5\n", "");
	struct policy p;
	struct diags d;
	struct fk_err err = {FK_OK, ""};
	cr_assert_eq(parse(c, &p, &d, &err), FK_EINVAL);
	cr_assert_eq(d.n, 3);
	cr_expect_eq(d.line[0], 3);
	cr_expect_str_eq(d.msg[0], "unknown key 'version' in [policy] (keys: name, title, effective)");
	cr_expect_eq(d.line[1], line_of(c, "[code]"));
	cr_expect_str_eq(d.msg[1], "missing key 'token_minutes' in [code]");
	cr_expect_eq(d.line[2], line_of(c, "checkin_days"));
	cr_expect_str_eq(d.msg[2],
			 "bad value '0' for checkin_days in [retention]: an integer from 1 to 3650");
	cr_expect_str_eq(d.file, "t.ini");
	cr_expect_str_eq(err.msg,
			 "t.ini:3: unknown key 'version' in [policy] (keys: name, title, effective)");
	free(a);
	free(b);
	free(c);
}

Test(policy, too_many_occupations)
{
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < POLICY_MAX_OCCUPATIONS - 1; i++)
		strbuf_addf(&sb, "occ_%c = 5\n", 'a' + i);
	char *a = edit(base, "courier = 3\n", sb.buf);
	struct policy p;
	struct diags d;
	struct fk_err err = {FK_OK, ""};
	cr_assert_eq(parse(a, &p, &d, &err), FK_OK, "%s", err.msg); /* 12 exactly */
	cr_expect_eq(p.nperiodic, POLICY_MAX_OCCUPATIONS);
	free(a);
	strbuf_addstr(&sb, "one_more = 5\n");
	a = edit(base, "courier = 3\n", sb.buf);
	expect_one(a, line_of(a, "one_more"), "more than 12 occupations in [periodic]");
	free(a);
	strbuf_release(&sb);
}

/* ---- versions ---- */

Test(policy, version_follows_the_bytes)
{
	struct policy p1, p2;
	struct diags d;
	struct fk_err err = {FK_OK, ""};
	cr_assert_eq(parse(base, &p1, &d, &err), FK_OK);
	char *text = fk_xstrdup(base);
	text[2] = 'A'; /* "; a small" -> "; A small": a comment, same values */
	cr_assert_eq(parse(text, &p2, &d, &err), FK_OK);
	cr_expect_str_neq(p1.version, p2.version);
	cr_expect_str_neq(p1.sha256, p2.sha256);
	cr_expect(fk_starts_with(p1.version, "t-1.0_x@"));
	cr_expect_eq(strlen(p1.version), strlen("t-1.0_x@") + 12);
	cr_expect_eq(p1.window_minutes, p2.window_minutes);
	/* the same bytes again: the same version */
	cr_assert_eq(parse(base, &p2, &d, &err), FK_OK);
	cr_expect_str_eq(p1.version, p2.version);
	free(text);
}

/* The hash itself is checked against sha256sum in tests/cli/test_policy.sh. */
Test(policy, version_is_sha256_prefix)
{
	struct policy p;
	struct diags d;
	struct fk_err err = {FK_OK, ""};
	cr_assert_eq(parse(base, &p, &d, &err), FK_OK);
	for (int i = 0; i < 64; i++)
		cr_expect((p.sha256[i] >= '0' && p.sha256[i] <= '9') ||
			  (p.sha256[i] >= 'a' && p.sha256[i] <= 'f'));
	cr_expect_eq(strncmp(strchr(p.version, '@') + 1, p.sha256, 12), 0);
}

/* ---- loading and resolving ---- */

Test(policy, load_missing_file)
{
	struct policy p;
	struct fk_err err = {FK_OK, ""};
	char *text = (char *)1;
	cr_assert_eq(policy_load("/nonexistent/p.ini", &p, &text, NULL, NULL, &err), FK_EIO);
	cr_expect_null(text);
	cr_expect_str_eq(err.msg, "cannot read policy '/nonexistent/p.ini': No such file or "
				  "directory");
}

Test(policy, load_returns_text)
{
	struct policy p;
	struct fk_err err = {FK_OK, ""};
	char *text = NULL;
	cr_assert_eq(policy_load("policy/protocol-9.ini", &p, &text, NULL, NULL, &err), FK_OK,
		     "%s", err.msg);
	cr_assert_not_null(text);
	cr_expect(strstr(text, "[close_contact]") != NULL);
	free(text);
}

Test(policy, resolve)
{
	char out[256];
	setenv("FANGKONG_POLICY_DIR", "/srv/pol", 1);
	cr_expect_str_eq(policy_dir(), "/srv/pol");
	cr_assert(policy_resolve("protocol-8", out, sizeof(out)));
	cr_expect_str_eq(out, "/srv/pol/protocol-8.ini");
	cr_assert(policy_resolve(NULL, out, sizeof(out)));
	cr_expect_str_eq(out, "/srv/pol/protocol-9.ini");
	cr_assert(policy_resolve("", out, sizeof(out)));
	cr_expect_str_eq(out, "/srv/pol/protocol-9.ini");
	cr_assert(policy_resolve("mine.ini", out, sizeof(out)));
	cr_expect_str_eq(out, "mine.ini");
	cr_assert(policy_resolve("a/b", out, sizeof(out)));
	cr_expect_str_eq(out, "a/b");
	cr_expect_not(policy_resolve("protocol-9", out, 10));
	unsetenv("FANGKONG_POLICY_DIR");
	cr_expect(fk_starts_with(policy_dir(), "/") || !strcmp(policy_dir(), "./policy"));
}

Test(policy, current_switches)
{
	struct policy *a = fk_xcalloc(1, sizeof(*a)), *b = fk_xcalloc(1, sizeof(*b));
	fk_strlcpy(a->name, "a", sizeof(a->name));
	fk_strlcpy(b->name, "b", sizeof(b->name));
	policy_set_current(a);
	cr_expect_eq(policy_current(), a);
	policy_set_current(b);
	cr_expect_eq(policy_current(), b);
	/* a stays valid: policies that were current are never freed */
	cr_expect_str_eq(a->name, "a");
	policy_set_current(NULL);
	free(a);
	free(b);
}
