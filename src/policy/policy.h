/* policy.h — a control-protocol edition as data.
 *
 * Every number that varies by edition (protocol 8, protocol 9, the 20
 * measures of November 2022) lives in an INI file under policy/; the code
 * reads only struct policy.  A file is checked whole: an unknown section or
 * key, a bad value or a missing key is an error naming the file, the line
 * (the section's line for a missing key) and the reason, and a policy with
 * any error is never used.  docs/policy.md explains every key.
 *
 * Version.  policy->version is "<name>@<first 12 hex of SHA-256 of the
 * file's bytes>", so two different files never share a version and the
 * same file always has the same one.  Every code decision carries it.
 *
 * The server's policy.  policy_current() is the policy in force; a switch
 * (policy_set_current) installs a new one atomically.  Policies that were
 * current are never freed while the process runs (a switch is a rare,
 * audited admin action), so a pointer returned by policy_current() stays
 * valid for the caller's whole request.
 */
#ifndef FK_POLICY_H
#define FK_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* Code colours, least to most severe (max() is the combination rule). */
enum colour { COLOUR_GREEN = 0, COLOUR_YELLOW = 1, COLOUR_RED = 2 };
const char *colour_name(enum colour c);     /* "green" */
const char *colour_label_zh(enum colour c); /* "绿码" */
bool colour_parse(const char *s, enum colour *out);

/* Control measures an order can impose. */
enum order_kind {
	ORDER_NONE = 0,        /* nothing (a phase that does not exist) */
	ORDER_CENTRAL,         /* 集中隔离医学观察 */
	ORDER_HOME_ISOLATION,  /* 居家隔离医学观察 */
	ORDER_HOME_MONITORING, /* 居家健康监测 */
};
const char *order_kind_name(enum order_kind k);     /* "central", "home_isolation", ... "none" */
const char *order_kind_label_zh(enum order_kind k); /* "集中隔离医学观察" */
bool order_kind_parse(const char *s, enum order_kind *out);

enum risk_level { RISK_LOW = 0, RISK_MEDIUM = 1, RISK_HIGH = 2 };
const char *risk_level_name(enum risk_level l);     /* "low" */
const char *risk_level_label_zh(enum risk_level l); /* "低风险" */
bool risk_level_parse(const char *s, enum risk_level *out);

#define POLICY_MAX_TEST_DAYS 16
#define POLICY_MAX_OCCUPATIONS 12
#define POLICY_NAME_MAX 48

/* The measures for one category of person (close contact, secondary
 * contact, arrival from a high- or medium-risk area): a first phase of
 * `days` days of `kind` counted from the last exposure (or arrival), then
 * optionally `then_days` days of `then_kind`.  Test days are 1-based days
 * of their phase (day 1 = the first day). */
struct policy_measure {
	enum order_kind kind;
	int days;
	int test_days[POLICY_MAX_TEST_DAYS];
	int ntest_days;
	enum order_kind then_kind; /* ORDER_NONE: no second phase */
	int then_days;
	int then_test_days[POLICY_MAX_TEST_DAYS];
	int nthen_test_days;
};

struct policy_periodic {
	char occupation[24]; /* persons.occupation, e.g. "cold_chain" */
	int days;            /* a test at least every `days` days */
};

struct policy {
	/* [policy] */
	char name[POLICY_NAME_MAX + 1]; /* name = protocol-9 (letters, digits, . _ -) */
	char title[160];                /* title = 新型冠状病毒肺炎防控方案(第九版) */
	char effective[11];             /* effective = 2022-06-27 */
	char version[POLICY_NAME_MAX + 14]; /* computed: name@sha256[0..12) */
	char sha256[65];                    /* computed: hex of the file's bytes */

	/* [tracing] */
	int infectious_days_before; /* D: window starts D days before onset */
	int window_minutes;         /* W: same venue within W minutes */
	bool secondary_contacts;    /* identify secondary contacts at all */

	/* [close_contact], [secondary_contact], [arrival_high], [arrival_medium] */
	struct policy_measure close, secondary, arrival_high, arrival_medium;
	/* [secondary_contact] release_after_close_negatives: a secondary
	 * contact is released only once the linked close contact's first N
	 * tests are negative (0: no such condition) */
	int secondary_release_close_negatives;
	/* [isolation] */
	bool household_may_share_room;
	bool release_requires_negative; /* every required test negative */
	int release_recheck_hours; /* not releasable at the planned end: extended by N hours */
	int checks_per_day;        /* temperature and symptom checks a day under an order */
	int fever_dc;              /* fever_celsius: a check at or above it is fever (0.1 degC) */

	/* [risk_area] levels in use and automatic lowering */
	bool medium_level;          /* false: only high and low (20 measures) */
	int high_to_medium_days;    /* no new infection for N days: high -> medium (0: n/a) */
	int medium_to_low_after_high_days; /* then N more days -> low */
	int medium_to_low_days;     /* a medium area -> low after N days */
	int high_to_low_days;       /* high -> low directly (20 measures; 0: n/a) */

	/* [arrival] */
	int arrival_lookback_days;  /* stays in the last N days count */
	int arrival_low_tests;      /* from a low-risk area: N tests ... */
	int arrival_low_within_days; /* ... within N days of arrival */

	/* [checkpoint] */
	int test_validity_hours; /* a negative test counts for N hours */

	/* [periodic]: key occupations and their test intervals */
	struct policy_periodic periodic[POLICY_MAX_OCCUPATIONS];
	int nperiodic;

	/* [colours]: the colour each rule gives */
	enum colour colour_case, colour_isolation, colour_home_monitoring, colour_close,
		colour_secondary, colour_fever, colour_pool_positive, colour_arrival_high,
		colour_arrival_medium, colour_periodic_overdue, colour_resident_high,
		colour_resident_medium;

	/* [code] */
	int token_minutes;            /* signed token lifetime */
	int override_max_days;        /* an override ends within N days */
	int override_city_threshold;  /* more persons at once need a city-level approver */
	int appeal_deadline_hours;    /* an appeal is answered within N hours */

	/* [testing] (campaign defaults) */
	int campaign_whole_days;       /* whole-area campaign deadline */
	int campaign_core_days;        /* core-area campaign deadline */
	int campaign_designated_hours; /* designated-area campaign deadline */
	int exempt_under_age_years;    /* infants below this age are not expected */
	int retest_hours;   /* members of a positive pooled tube: single-tube retest within */
	int resample_hours; /* members of an invalid tube: resample within */

	/* [retention] */
	int checkin_retention_days;

	/* [targets]: a case's time targets, hours from its confirmation */
	int team_on_site_hours;        /* the tracing team on site */
	int core_info_hours;           /* core information gathered */
	int report_hours;              /* the report (流调报告) */
	int contacts_controlled_hours; /* every close and secondary contact under an order */
};

/* A problem found in a policy file: line 0 = the file as a whole. */
typedef void (*policy_diag_fn)(void *ctx, const char *file, int line, const char *msg);

/* Parses text (len bytes; need not be NUL-terminated) named `file` in
 * messages.  Calls diag (may be NULL) for every problem found, in line
 * order, and returns FK_EINVAL if there was any (err holds the first,
 * as "FILE:LINE: reason"); on FK_OK *out is complete, version included. */
enum fk_status policy_parse(const char *text, size_t len, const char *file, struct policy *out,
			    policy_diag_fn diag, void *ctx, struct fk_err *err);
/* Reads and parses path (FK_EIO when it cannot be read).  text_out, when
 * not NULL, receives the file's bytes (malloc'd, NUL-terminated). */
enum fk_status policy_load(const char *path, struct policy *out, char **text_out,
			   policy_diag_fn diag, void *ctx, struct fk_err *err);

/* The shipped policy directory: $FANGKONG_POLICY_DIR, else "policy"
 * beside the executable's directory (build/../policy), else "./policy". */
const char *policy_dir(void);
/* Resolves a --policy argument: a path to a file, or a shipped name such
 * as "protocol-9" (policy_dir()/NAME.ini).  NULL or "" means the default,
 * protocol-9.  out receives the path. */
bool policy_resolve(const char *arg, char *out, size_t size);

/* The server's policy (NULL before one is set). */
const struct policy *policy_current(void);
/* Takes ownership of p (malloc'd); it stays valid until exit. */
void policy_set_current(struct policy *p);

/* fangkong policy check FILE... | show FILE */
int cmd_policy(int argc, char **argv);

#endif
