/* policy.c — reading and checking policy files, and `fangkong policy`.
 *
 * Design note.
 * - One table (keys[]) names every section and key, the struct policy
 *   member it fills, its kind of value and its bounds.  Parsing, the
 *   missing-key check, `policy show` (text and JSON) and the list of keys
 *   in "unknown key" messages all walk that table, so a key cannot be read
 *   without also being required and shown.  [periodic] is the one section
 *   whose keys are data (occupation names); it is handled beside the table.
 * - inih splits "key = value" (whitespace, inline "; comments").  It is fed
 *   by our own reader over the text buffer, one physical line per call, so
 *   the reader always knows the line number of the pair the handler is
 *   given (libinih is built without INI_HANDLER_LINENO).  The reader also
 *   judges each line itself: blank and comment lines reach inih as empty
 *   lines; a section header is parsed here (inih's section argument is not
 *   used); leading whitespace is dropped so inih never treats a line as a
 *   continuation (a repeated key must be a visible duplicate); an over-long
 *   line or a NUL byte is an error here, never a silent split; a key line
 *   for which inih never calls the handler (no '=' or ':') is reported
 *   when the next line is read.
 * - Every problem is collected with its line, then all are sorted by line
 *   (stable: several problems of one line keep their order) and reported.
 *   Line 0 means the file as a whole (a missing section).  Cross-key checks
 *   (test days within the phase, kind none iff days 0, risk-level lifting
 *   consistent with medium_level, ...) run only on keys that parsed, so
 *   one bad value gives one message, not a cascade.
 * - No defaults: every key of every section must be present.  A policy
 *   with any problem is not returned (FK_EINVAL).
 * - version = name "@" first 12 hex digits of SHA-256 of the file's bytes.
 */
#include "policy/policy.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "lib/textenc.h"
#include "lib/util.h"

#include "lib/banned.h"

#define POLICY_FILE_MAX (1 << 20) /* a policy file is a page of text */
#define DAYS_MAX 60               /* any phase, lifting or test interval */

enum vtype {
	V_INT,    /* int in [min, max] */
	V_BOOL,   /* yes | no | true | false */
	V_DATE,   /* YYYY-MM-DD, a real date */
	V_NAME,   /* [A-Za-z0-9._-], 1..POLICY_NAME_MAX */
	V_TEXT,   /* UTF-8, 1..sizeof-1 bytes */
	V_KIND,   /* enum order_kind */
	V_DAYS,   /* comma list of increasing days, count at off2 */
	V_COLOUR, /* enum colour */
	V_DECI,   /* a number with at most one decimal, stored in tenths */
};

struct keydef {
	const char *section;
	const char *key;
	enum vtype type;
	size_t off, off2; /* member; V_DAYS: the count member */
	int min, max;     /* V_INT bounds; V_DAYS: bounds of one day */
	size_t size;      /* V_NAME / V_TEXT: buffer size */
};

#define P(m) offsetof(struct policy, m)
#define KINT(s, k, m, lo, hi) {s, k, V_INT, P(m), 0, lo, hi, 0}
#define KBOOL(s, k, m) {s, k, V_BOOL, P(m), 0, 0, 0, 0}
#define KDECI(s, k, m, lo, hi) {s, k, V_DECI, P(m), 0, lo, hi, 0}
#define KCOL(k, m) {"colours", k, V_COLOUR, P(m), 0, 0, 0, 0}
#define MEASURE(s, m)                                                                            \
	{s, "kind", V_KIND, P(m.kind), 0, 0, 0, 0}, KINT(s, "days", m.days, 0, DAYS_MAX),       \
		{s, "test_days", V_DAYS, P(m.test_days), P(m.ntest_days), 1, DAYS_MAX, 0},      \
		{s, "then_kind", V_KIND, P(m.then_kind), 0, 0, 0, 0},                           \
		KINT(s, "then_days", m.then_days, 0, DAYS_MAX),                                 \
		{s, "then_test_days", V_DAYS, P(m.then_test_days), P(m.nthen_test_days), 1,     \
		 DAYS_MAX, 0}

static const struct keydef keys[] = {
	{"policy", "name", V_NAME, P(name), 0, 0, 0, sizeof(((struct policy *)0)->name)},
	{"policy", "title", V_TEXT, P(title), 0, 0, 0, sizeof(((struct policy *)0)->title)},
	{"policy", "effective", V_DATE, P(effective), 0, 0, 0,
	 sizeof(((struct policy *)0)->effective)},
	KINT("tracing", "infectious_days_before", infectious_days_before, 0, 14),
	KINT("tracing", "window_minutes", window_minutes, 1, 1440),
	KBOOL("tracing", "secondary_contacts", secondary_contacts),
	MEASURE("close_contact", close),
	MEASURE("secondary_contact", secondary),
	KINT("secondary_contact", "release_after_close_negatives",
	     secondary_release_close_negatives, 0, POLICY_MAX_TEST_DAYS),
	MEASURE("arrival_high", arrival_high),
	MEASURE("arrival_medium", arrival_medium),
	KBOOL("isolation", "household_may_share_room", household_may_share_room),
	KBOOL("isolation", "release_requires_negative", release_requires_negative),
	KINT("isolation", "release_recheck_hours", release_recheck_hours, 1, 168),
	KINT("isolation", "checks_per_day", checks_per_day, 1, 4),
	KDECI("isolation", "fever_celsius", fever_dc, 370, 400),
	KBOOL("risk_area", "medium_level", medium_level),
	KINT("risk_area", "high_to_medium_days", high_to_medium_days, 0, DAYS_MAX),
	KINT("risk_area", "medium_to_low_after_high_days", medium_to_low_after_high_days, 0,
	     DAYS_MAX),
	KINT("risk_area", "medium_to_low_days", medium_to_low_days, 0, DAYS_MAX),
	KINT("risk_area", "high_to_low_days", high_to_low_days, 0, DAYS_MAX),
	KINT("arrival", "lookback_days", arrival_lookback_days, 1, DAYS_MAX),
	KINT("arrival", "low_tests", arrival_low_tests, 0, 10),
	KINT("arrival", "low_within_days", arrival_low_within_days, 0, DAYS_MAX),
	KINT("checkpoint", "test_validity_hours", test_validity_hours, 1, 720),
	/* [periodic] sits here in section order; its keys are occupations */
	KCOL("case", colour_case),
	KCOL("isolation", colour_isolation),
	KCOL("home_monitoring", colour_home_monitoring),
	KCOL("close", colour_close),
	KCOL("secondary", colour_secondary),
	KCOL("fever", colour_fever),
	KCOL("pool_positive", colour_pool_positive),
	KCOL("arrival_high", colour_arrival_high),
	KCOL("arrival_medium", colour_arrival_medium),
	KCOL("periodic_overdue", colour_periodic_overdue),
	KCOL("resident_high", colour_resident_high),
	KCOL("resident_medium", colour_resident_medium),
	KINT("code", "token_minutes", token_minutes, 1, 60),
	KINT("code", "override_max_days", override_max_days, 1, DAYS_MAX),
	KINT("code", "override_city_threshold", override_city_threshold, 1, 1000000),
	KINT("code", "appeal_deadline_hours", appeal_deadline_hours, 1, 720),
	KINT("testing", "campaign_whole_days", campaign_whole_days, 1, DAYS_MAX),
	KINT("testing", "campaign_core_days", campaign_core_days, 1, DAYS_MAX),
	KINT("testing", "campaign_designated_hours", campaign_designated_hours, 1, 720),
	KINT("testing", "exempt_under_age_years", exempt_under_age_years, 0, 18),
	KINT("testing", "retest_hours", retest_hours, 1, 720),
	KINT("testing", "resample_hours", resample_hours, 1, 720),
	KINT("retention", "checkin_days", checkin_retention_days, 1, 3650),
	KINT("targets", "team_on_site_hours", team_on_site_hours, 1, 168),
	KINT("targets", "core_info_hours", core_info_hours, 1, 168),
	KINT("targets", "report_hours", report_hours, 1, 168),
	KINT("targets", "contacts_controlled_hours", contacts_controlled_hours, 1, 168),
};
#define NKEYS FK_ARRAY_LEN(keys)

static const char *const sections[] = {
	"policy",     "tracing",    "close_contact", "secondary_contact", "arrival_high",
	"arrival_medium", "isolation", "risk_area",   "arrival",           "checkpoint",
	"periodic",   "colours",    "code",          "testing",           "retention",
	"targets",
};
#define NSECTIONS FK_ARRAY_LEN(sections)
#define SEC_PERIODIC 10
#define PERIODIC_DAYS_MAX DAYS_MAX

/* ---- collected problems ---- */

struct diag {
	int line;
	size_t seq; /* order of discovery: ties keep it */
	char *msg;
};

struct pstate {
	const char *text;
	size_t len, pos;
	int line;
	const char *file;
	struct policy *p;
	int section;         /* index into sections[]; -1 unknown; -2 none yet */
	int section_line[NSECTIONS];
	int key_line[NKEYS]; /* 0: not seen */
	bool key_ok[NKEYS];  /* seen and its value parsed */
	int periodic_line[POLICY_MAX_OCCUPATIONS];
	bool pending;        /* a key line inih has not yet handed over */
	int pending_line;
	bool too_many_periodic;
	struct diag *diags;
	size_t ndiags, cap;
};

static void add_diag(struct pstate *st, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_diag(struct pstate *st, int line, const char *fmt, ...)
{
	if (st->ndiags == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 16;
		st->diags = fk_xrealloc(st->diags, st->cap * sizeof(*st->diags));
	}
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	st->diags[st->ndiags].line = line;
	st->diags[st->ndiags].seq = st->ndiags;
	st->diags[st->ndiags].msg = strbuf_detach(&sb, NULL);
	st->ndiags++;
}

static int diag_cmp(const void *a, const void *b)
{
	const struct diag *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* ---- values ---- */

static const char *type_allowed(const struct keydef *k, char *buf, size_t size)
{
	switch (k->type) {
	case V_INT:
		snprintf(buf, size, "an integer from %d to %d", k->min, k->max);
		return buf;
	case V_BOOL:
		return "yes, no, true or false";
	case V_DATE:
		return "a real date YYYY-MM-DD";
	case V_NAME:
		snprintf(buf, size, "1 to %d characters of A-Z a-z 0-9 . _ -", POLICY_NAME_MAX);
		return buf;
	case V_TEXT:
		snprintf(buf, size, "1 to %zu bytes of UTF-8 text", k->size - 1);
		return buf;
	case V_KIND:
		return "central, home_isolation, home_monitoring or none";
	case V_DAYS:
		snprintf(buf, size,
			 "a comma-separated list of at most %d day numbers from %d to %d (may be "
			 "empty)",
			 POLICY_MAX_TEST_DAYS, k->min, k->max);
		return buf;
	case V_COLOUR:
		return "green, yellow or red";
	case V_DECI:
		snprintf(buf, size, "a number with at most one decimal from %d.%d to %d.%d",
			 k->min / 10, k->min % 10, k->max / 10, k->max % 10);
		return buf;
	}
	return "?";
}

static bool name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static bool parse_int(const char *v, int min, int max, int *out)
{
	int64_t x;
	if (!fk_parse_i64(v, min, max, &x))
		return false;
	*out = (int)x;
	return true;
}

static bool parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false"))
		*out = false;
	else
		return false;
	return true;
}

static bool parse_date(const char *v)
{
	if (strlen(v) != 10 || v[4] != '-' || v[7] != '-' || !fk_all_digits(v, 4) ||
	    !fk_all_digits(v + 5, 2) || !fk_all_digits(v + 8, 2))
		return false;
	int y = (v[0] - '0') * 1000 + (v[1] - '0') * 100 + (v[2] - '0') * 10 + (v[3] - '0');
	int m = (v[5] - '0') * 10 + (v[6] - '0'), d = (v[8] - '0') * 10 + (v[9] - '0');
	return y >= 1 && fk_valid_date(y, m, d);
}

/* "1, 2,3" -> days; each in [min, max]; at most POLICY_MAX_TEST_DAYS.  The
 * order is checked later (with the phase length), so it is kept as is. */
static bool parse_days(const char *v, int min, int max, int *days, int *n)
{
	*n = 0;
	const char *p = v;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return true;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char tok[16];
		while (len && (p[0] == ' ' || p[0] == '\t'))
			p++, len--;
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (!len || len >= sizeof(tok) || *n >= POLICY_MAX_TEST_DAYS)
			return false;
		memcpy(tok, p, len);
		tok[len] = '\0';
		if (!parse_int(tok, min, max, &days[*n]))
			return false;
		(*n)++;
		if (!comma)
			return true;
		p = comma + 1;
	}
}

/* "37.3" or "37" -> 373 tenths, in [min, max] tenths. */
static bool parse_deci(const char *v, int min, int max, int *out)
{
	const char *dot = strchr(v, '.');
	size_t ilen = dot ? (size_t)(dot - v) : strlen(v);
	if (!ilen || ilen > 4 || !fk_all_digits(v, ilen))
		return false;
	int x = 0;
	for (size_t i = 0; i < ilen; i++)
		x = x * 10 + (v[i] - '0');
	x *= 10;
	if (dot) {
		if (strlen(dot + 1) != 1 || !fk_all_digits(dot + 1, 1))
			return false;
		x += dot[1] - '0';
	}
	if (x < min || x > max)
		return false;
	*out = x;
	return true;
}

/* Stores value v of key k into p; false if it is not an allowed value. */
static bool set_value(const struct keydef *k, const char *v, struct policy *p)
{
	char *base = (char *)p;
	switch (k->type) {
	case V_INT:
		return parse_int(v, k->min, k->max, (int *)(base + k->off));
	case V_BOOL:
		return parse_bool(v, (bool *)(base + k->off));
	case V_DATE:
		if (!parse_date(v))
			return false;
		return fk_strlcpy(base + k->off, v, k->size);
	case V_NAME: {
		size_t n = strlen(v);
		if (n < 1 || n > POLICY_NAME_MAX || n >= k->size)
			return false;
		for (size_t i = 0; i < n; i++)
			if (!name_char(v[i]))
				return false;
		return fk_strlcpy(base + k->off, v, k->size);
	}
	case V_TEXT: {
		size_t n = strlen(v), bad;
		if (n < 1 || n >= k->size || !text_utf8_valid(v, n, &bad))
			return false;
		return fk_strlcpy(base + k->off, v, k->size);
	}
	case V_KIND:
		return order_kind_parse(v, (enum order_kind *)(base + k->off));
	case V_DAYS:
		return parse_days(v, k->min, k->max, (int *)(base + k->off), (int *)(base + k->off2));
	case V_COLOUR:
		return colour_parse(v, (enum colour *)(base + k->off));
	case V_DECI:
		return parse_deci(v, k->min, k->max, (int *)(base + k->off));
	}
	return false;
}

static int section_index(const char *name)
{
	for (size_t i = 0; i < NSECTIONS; i++)
		if (!strcmp(sections[i], name))
			return (int)i;
	return -1;
}

static int key_index(const char *section, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].section, section) && !strcmp(keys[i].key, key))
			return (int)i;
	return -1;
}

static void key_list(const char *section, struct strbuf *out)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].section, section)) {
			if (out->len)
				strbuf_addstr(out, ", ");
			strbuf_addstr(out, keys[i].key);
		}
}

/* Text fit for a message: at most 40 bytes, control bytes as '?'. */
static const char *quoted(const char *s, char buf[48])
{
	size_t n = 0;
	for (; s[n] && n < 40; n++)
		buf[n] = (unsigned char)s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n];
	if (s[n]) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* ---- the reader and the handler ---- */

static void finish_pending(struct pstate *st)
{
	if (st->pending)
		add_diag(st, st->pending_line,
			 "expected 'key = value', a '[section]' or a '; comment'");
	st->pending = false;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void section_header(struct pstate *st, const char *s, size_t n)
{
	const char *close = memchr(s, ']', n);
	if (!close) {
		add_diag(st, st->line, "section header without ']'");
		st->section = -1;
		return;
	}
	for (const char *t = close + 1; t < s + n; t++) {
		if (*t == ';' || *t == '#')
			break;
		if (!blank(*t)) {
			add_diag(st, st->line, "text after the section header");
			break;
		}
	}
	const char *a = s + 1, *b = close;
	while (a < b && blank(*a))
		a++;
	while (b > a && blank(b[-1]))
		b--;
	char name[48];
	size_t len = (size_t)(b - a);
	if (len >= sizeof(name)) {
		add_diag(st, st->line, "unknown section (a name longer than %zu bytes)",
			 sizeof(name) - 1);
		st->section = -1;
		return;
	}
	memcpy(name, a, len);
	name[len] = '\0';
	int i = section_index(name);
	char q[48];
	if (i < 0) {
		struct strbuf all = STRBUF_INIT;
		for (size_t k = 0; k < NSECTIONS; k++)
			strbuf_addf(&all, "%s%s", k ? ", " : "", sections[k]);
		add_diag(st, st->line, "unknown section '[%s]' (sections: %s)", quoted(name, q),
			 all.buf);
		strbuf_release(&all);
		st->section = -1;
		return;
	}
	if (st->section_line[i])
		add_diag(st, st->line, "duplicate section '[%s]' (first at line %d)", name,
			 st->section_line[i]);
	else
		st->section_line[i] = st->line;
	st->section = i;
}

/* fgets-like: hands inih one physical line (judged and trimmed here). */
static char *policy_reader(char *str, int num, void *stream)
{
	struct pstate *st = stream;
	finish_pending(st);
	if (st->pos >= st->len || num < 3)
		return NULL;
	const char *s = st->text + st->pos;
	size_t rest = st->len - st->pos;
	const char *nl = memchr(s, '\n', rest);
	size_t n = nl ? (size_t)(nl - s) : rest;
	st->pos += nl ? n + 1 : n;
	st->line++;
	str[0] = '\n';
	str[1] = '\0';
	if (st->line == 1 && n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
		s += 3, n -= 3;
	while (n && blank(s[n - 1]))
		n--;
	while (n && blank(*s))
		s++, n--;
	if (!n || *s == ';' || *s == '#')
		return str;
	if (memchr(s, '\0', n)) {
		add_diag(st, st->line, "a NUL byte in the line");
		return str;
	}
	if (*s == '[') {
		section_header(st, s, n);
		return str;
	}
	if (n + 2 > (size_t)num) {
		add_diag(st, st->line, "line longer than %d bytes", num - 2);
		return str;
	}
	memcpy(str, s, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	st->pending = true;
	st->pending_line = st->line;
	return str;
}

static void periodic_key(struct pstate *st, const char *name, const char *value)
{
	char q[48];
	size_t n = strlen(name);
	bool ok = n >= 1 && n < sizeof(st->p->periodic[0].occupation);
	for (size_t i = 0; ok && i < n; i++)
		ok = (name[i] >= 'a' && name[i] <= 'z') || name[i] == '_';
	if (!ok) {
		add_diag(st, st->line,
			 "bad occupation '%s' in [periodic]: 1 to %zu characters of a-z and _ (as "
			 "in persons.occupation)",
			 quoted(name, q), sizeof(st->p->periodic[0].occupation) - 1);
		return;
	}
	for (int i = 0; i < st->p->nperiodic; i++)
		if (!strcmp(st->p->periodic[i].occupation, name)) {
			add_diag(st, st->line, "duplicate key '%s' in [periodic] (first at line %d)",
				 name, st->periodic_line[i]);
			return;
		}
	if (st->p->nperiodic == POLICY_MAX_OCCUPATIONS) {
		if (!st->too_many_periodic)
			add_diag(st, st->line, "more than %d occupations in [periodic]",
				 POLICY_MAX_OCCUPATIONS);
		st->too_many_periodic = true;
		return;
	}
	int days;
	if (!parse_int(value, 1, PERIODIC_DAYS_MAX, &days)) {
		add_diag(st, st->line,
			 "bad value '%s' for %s in [periodic]: an integer from 1 to %d (days "
			 "between tests)",
			 quoted(value, q), name, PERIODIC_DAYS_MAX);
		return;
	}
	struct policy_periodic *pp = &st->p->periodic[st->p->nperiodic];
	fk_strlcpy(pp->occupation, name, sizeof(pp->occupation));
	pp->days = days;
	st->periodic_line[st->p->nperiodic++] = st->line;
}

static int policy_handler(void *user, const char *section, const char *name, const char *value)
{
	struct pstate *st = user;
	(void)section; /* ours, from the reader, is the one used */
	st->pending = false;
	char q[48], buf[96];
	if (st->section == -2) {
		add_diag(st, st->line, "key '%s' outside any section", quoted(name, q));
		return 1;
	}
	if (st->section == -1)
		return 1; /* its section was already reported */
	const char *sec = sections[st->section];
	if (st->section == SEC_PERIODIC) {
		periodic_key(st, name, value);
		return 1;
	}
	int i = key_index(sec, name);
	if (i < 0) {
		struct strbuf all = STRBUF_INIT;
		key_list(sec, &all);
		add_diag(st, st->line, "unknown key '%s' in [%s] (keys: %s)", quoted(name, q), sec,
			 all.buf);
		strbuf_release(&all);
		return 1;
	}
	if (st->key_line[i]) {
		add_diag(st, st->line, "duplicate key '%s' in [%s] (first at line %d)", name, sec,
			 st->key_line[i]);
		return 1;
	}
	st->key_line[i] = st->line;
	if (!set_value(&keys[i], value, st->p)) {
		add_diag(st, st->line, "bad value '%s' for %s in [%s]: %s", quoted(value, q), name,
			 sec, type_allowed(&keys[i], buf, sizeof(buf)));
		return 1;
	}
	st->key_ok[i] = true;
	return 1;
}

/* ---- checks across keys ---- */

static int kidx(const char *section, const char *key)
{
	int i = key_index(section, key);
	if (i < 0)
		abort(); /* a typo in this file's own table */
	return i;
}

static bool ok2(struct pstate *st, const char *section, const char *a, const char *b)
{
	return st->key_ok[kidx(section, a)] && (!b || st->key_ok[kidx(section, b)]);
}

static int kline(struct pstate *st, const char *section, const char *key)
{
	return st->key_line[kidx(section, key)];
}

static void check_days(struct pstate *st, const char *sec, const char *list_key,
		       const char *days_key, const int *days, int n, int phase)
{
	if (!ok2(st, sec, list_key, days_key))
		return;
	int line = kline(st, sec, list_key);
	for (int i = 0; i < n; i++) {
		if (days[i] > phase) {
			add_diag(st, line, "%s in [%s]: test day %d is outside 1..%s (%d)", list_key,
				 sec, days[i], days_key, phase);
			return;
		}
		if (i && days[i] <= days[i - 1]) {
			add_diag(st, line, "%s in [%s]: test days must increase (%d after %d)",
				 list_key, sec, days[i], days[i - 1]);
			return;
		}
	}
}

static void check_measure(struct pstate *st, const char *sec, const struct policy_measure *m)
{
	if (ok2(st, sec, "kind", "days") && (m->kind == ORDER_NONE) != (m->days == 0))
		add_diag(st, kline(st, sec, "days"),
			 "days in [%s]: days is 0 exactly when kind is none (kind = %s, days = %d)",
			 sec, order_kind_name(m->kind), m->days);
	if (ok2(st, sec, "then_kind", "then_days") &&
	    (m->then_kind == ORDER_NONE) != (m->then_days == 0))
		add_diag(st, kline(st, sec, "then_days"),
			 "then_days in [%s]: then_days is 0 exactly when then_kind is none "
			 "(then_kind = %s, then_days = %d)",
			 sec, order_kind_name(m->then_kind), m->then_days);
	if (ok2(st, sec, "kind", "then_kind") && m->kind == ORDER_NONE &&
	    m->then_kind != ORDER_NONE)
		add_diag(st, kline(st, sec, "then_kind"),
			 "then_kind in [%s]: a second phase needs a first (kind is none)", sec);
	check_days(st, sec, "test_days", "days", m->test_days, m->ntest_days, m->days);
	check_days(st, sec, "then_test_days", "then_days", m->then_test_days, m->nthen_test_days,
		   m->then_days);
}

static void check_zero(struct pstate *st, const char *key, int v, bool want_zero, const char *why)
{
	if (!ok2(st, "risk_area", key, "medium_level") || (v == 0) == want_zero)
		return;
	add_diag(st, kline(st, "risk_area", key), "%s in [risk_area]: must be %s %s", key,
		 want_zero ? "0" : "at least 1", why);
}

static void check_across(struct pstate *st)
{
	const struct policy *p = st->p;
	check_measure(st, "close_contact", &p->close);
	check_measure(st, "secondary_contact", &p->secondary);
	check_measure(st, "arrival_high", &p->arrival_high);
	check_measure(st, "arrival_medium", &p->arrival_medium);

	if (st->key_ok[kidx("tracing", "secondary_contacts")] &&
	    ok2(st, "secondary_contact", "kind", NULL) &&
	    p->secondary_contacts == (p->secondary.kind == ORDER_NONE))
		add_diag(st, kline(st, "secondary_contact", "kind"),
			 "kind in [secondary_contact]: must %sbe none when [tracing] "
			 "secondary_contacts = %s",
			 p->secondary_contacts ? "not " : "", p->secondary_contacts ? "yes" : "no");
	if (ok2(st, "secondary_contact", "release_after_close_negatives", NULL) &&
	    st->key_ok[kidx("close_contact", "test_days")] &&
	    p->secondary_release_close_negatives > p->close.ntest_days)
		add_diag(st, kline(st, "secondary_contact", "release_after_close_negatives"),
			 "release_after_close_negatives in [secondary_contact]: %d is more than the "
			 "close contact's %d test days",
			 p->secondary_release_close_negatives, p->close.ntest_days);

	bool med = p->medium_level;
	const char *why = med ? "when medium_level = yes" : "when medium_level = no";
	check_zero(st, "high_to_medium_days", p->high_to_medium_days, !med, why);
	check_zero(st, "medium_to_low_after_high_days", p->medium_to_low_after_high_days, !med,
		   why);
	check_zero(st, "medium_to_low_days", p->medium_to_low_days, !med, why);
	check_zero(st, "high_to_low_days", p->high_to_low_days, med, why);

	if (ok2(st, "arrival", "low_tests", "low_within_days") && p->arrival_low_tests > 0 &&
	    p->arrival_low_within_days == 0)
		add_diag(st, kline(st, "arrival", "low_within_days"),
			 "low_within_days in [arrival]: must be at least 1 when low_tests > 0");
}

static void check_missing(struct pstate *st)
{
	for (size_t s = 0; s < NSECTIONS; s++) {
		if (!st->section_line[s]) {
			add_diag(st, 0, "missing section [%s]", sections[s]);
			continue;
		}
		for (size_t i = 0; i < NKEYS; i++)
			if (!strcmp(keys[i].section, sections[s]) && !st->key_line[i])
				add_diag(st, st->section_line[s], "missing key '%s' in [%s]",
					 keys[i].key, sections[s]);
	}
}

static void hex_sha256(const char *text, size_t len, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)text, len);
	for (size_t i = 0; i < sizeof(h); i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

enum fk_status policy_parse(const char *text, size_t len, const char *file, struct policy *out,
			    policy_diag_fn diag, void *ctx, struct fk_err *err)
{
	enum fk_status rc = FK_OK;
	struct pstate st;
	memset(&st, 0, sizeof(st));
	memset(out, 0, sizeof(*out));
	st.text = text;
	st.len = len;
	st.file = file;
	st.p = out;
	st.section = -2;

	int r = ini_parse_stream(policy_reader, &st, policy_handler, &st);
	finish_pending(&st);
	if (r < 0 && !st.ndiags)
		add_diag(&st, 0, "cannot be parsed (inih error %d)", r);
	check_missing(&st);
	check_across(&st);

	if (st.ndiags) {
		qsort(st.diags, st.ndiags, sizeof(*st.diags), diag_cmp);
		for (size_t i = 0; i < st.ndiags; i++)
			if (diag)
				diag(ctx, file, st.diags[i].line, st.diags[i].msg);
		if (st.diags[0].line)
			rc = fk_fail(err, FK_EINVAL, "%s:%d: %s", file, st.diags[0].line,
				     st.diags[0].msg);
		else
			rc = fk_fail(err, FK_EINVAL, "%s: %s", file, st.diags[0].msg);
		goto out_diags;
	}
	if (sodium_init() < 0) {
		rc = fk_fail(err, FK_EIO, "%s: libsodium cannot be initialised", file);
		goto out_diags;
	}
	hex_sha256(text, len, out->sha256);
	snprintf(out->version, sizeof(out->version), "%s@%.12s", out->name, out->sha256);

out_diags:
	for (size_t i = 0; i < st.ndiags; i++)
		free(st.diags[i].msg);
	free(st.diags);
	return rc;
}

enum fk_status policy_load(const char *path, struct policy *out, char **text_out,
			   policy_diag_fn diag, void *ctx, struct fk_err *err)
{
	enum fk_status rc;
	struct strbuf sb = STRBUF_INIT;
	if (text_out)
		*text_out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return fk_fail(err, FK_EIO, "cannot read policy '%s': %s", path, strerror(errno));
	char chunk[8192];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (sb.len + got > POLICY_FILE_MAX) {
			rc = fk_fail(err, FK_EINVAL, "policy '%s' is larger than %d bytes", path,
				     POLICY_FILE_MAX);
			goto out_file;
		}
		strbuf_add(&sb, chunk, got);
	}
	if (ferror(f)) {
		rc = fk_fail(err, FK_EIO, "cannot read policy '%s': %s", path, strerror(errno));
		goto out_file;
	}
	rc = policy_parse(sb.buf, sb.len, path, out, diag, ctx, err);
	if (text_out)
		*text_out = strbuf_detach(&sb, NULL);
out_file:
	fclose(f);
	strbuf_release(&sb);
	return rc;
}

/* ---- where policies live ---- */

static bool is_dir(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

const char *policy_dir(void)
{
	static _Thread_local char dir[PATH_MAX];
	const char *env = getenv("FANGKONG_POLICY_DIR");
	if (env && *env && fk_strlcpy(dir, env, sizeof(dir)))
		return dir;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			int w = snprintf(dir, sizeof(dir), "%s/../policy", exe);
			if (w > 0 && (size_t)w < sizeof(dir) && is_dir(dir))
				return dir;
		}
	}
	fk_strlcpy(dir, "./policy", sizeof(dir));
	return dir;
}

bool policy_resolve(const char *arg, char *out, size_t size)
{
	if (!arg || !*arg)
		arg = "protocol-9";
	size_t n = strlen(arg);
	int w;
	if (strchr(arg, '/') || (n >= 4 && !strcmp(arg + n - 4, ".ini")))
		w = snprintf(out, size, "%s", arg);
	else
		w = snprintf(out, size, "%s/%s.ini", policy_dir(), arg);
	return w > 0 && (size_t)w < size;
}

static struct policy *current;

const struct policy *policy_current(void)
{
	return __atomic_load_n(&current, __ATOMIC_ACQUIRE);
}

void policy_set_current(struct policy *p)
{
	/* the old one is kept: readers may still hold it (see policy.h) */
	__atomic_store_n(&current, p, __ATOMIC_RELEASE);
}

/* ---- fangkong policy ---- */

static void usage(FILE *f)
{
	fputs("usage: fangkong policy check FILE...\n"
	      "       fangkong policy show FILE|NAME [--json]\n"
	      "\n"
	      "A policy file holds every number that varies by protocol edition (see\n"
	      "docs/policy.md).  NAME is a shipped policy: protocol-8, protocol-9,\n"
	      "protocol-9-20 (from $FANGKONG_POLICY_DIR or the policy/ directory).\n"
	      "\n"
	      "  check   validates each file: prints 'FILE: ok, version V' or every problem\n"
	      "          as FILE:LINE: reason; exit 0 all good, 1 any problem, 2 bad usage\n"
	      "  show    prints every effective value (as a policy file, or --json: an\n"
	      "          object of sections)\n",
	      f);
}

/* ctx: an int counting the problems printed */
static void print_diag(void *ctx, const char *file, int line, const char *msg)
{
	++*(int *)ctx;
	if (line)
		fprintf(stderr, "%s:%d: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}

static int policy_check_cmd(int argc, char **argv)
{
	int bad = 0;
	for (int i = 0; i < argc; i++) {
		struct policy *p = fk_xmalloc(sizeof(*p));
		struct fk_err err = {FK_OK, ""};
		int printed = 0;
		enum fk_status st = policy_load(argv[i], p, NULL, print_diag, &printed, &err);
		if (st == FK_OK)
			printf("%s: ok, version %s\n", argv[i], p->version);
		else {
			if (!printed) /* unreadable or too large */
				fprintf(stderr, "fangkong policy check: %s\n", err.msg);
			bad = 1;
		}
		free(p);
	}
	return bad;
}

static void add_days(struct strbuf *sb, const int *days, int n, bool json)
{
	if (json)
		strbuf_addch(sb, '[');
	for (int i = 0; i < n; i++)
		strbuf_addf(sb, "%s%d", i ? "," : "", days[i]);
	if (json)
		strbuf_addch(sb, ']');
}

static void add_value(struct strbuf *sb, const struct keydef *k, const struct policy *p, bool json)
{
	const char *base = (const char *)p;
	switch (k->type) {
	case V_INT:
		strbuf_addf(sb, "%d", *(const int *)(base + k->off));
		break;
	case V_BOOL:
		if (json)
			strbuf_addstr(sb, *(const bool *)(base + k->off) ? "true" : "false");
		else
			strbuf_addstr(sb, *(const bool *)(base + k->off) ? "yes" : "no");
		break;
	case V_DATE:
	case V_NAME:
	case V_TEXT:
		if (json)
			strbuf_add_json_str(sb, base + k->off);
		else
			strbuf_addstr(sb, base + k->off);
		break;
	case V_KIND: {
		const char *s = order_kind_name(*(const enum order_kind *)(base + k->off));
		if (json)
			strbuf_add_json_str(sb, s);
		else
			strbuf_addstr(sb, s);
		break;
	}
	case V_DAYS:
		add_days(sb, (const int *)(base + k->off), *(const int *)(base + k->off2), json);
		break;
	case V_COLOUR: {
		const char *s = colour_name(*(const enum colour *)(base + k->off));
		if (json)
			strbuf_add_json_str(sb, s);
		else
			strbuf_addstr(sb, s);
		break;
	}
	case V_DECI: {
		int x = *(const int *)(base + k->off);
		strbuf_addf(sb, "%d.%d", x / 10, x % 10);
		break;
	}
	}
}

/* Every effective value, as a policy file (which checks clean and gives the
 * same values) or as JSON: {"file":..., "version":..., "sha256":...,
 * "<section>": {"<key>": value, ...}, ...}. */
static void policy_show(struct strbuf *sb, const struct policy *p, const char *path, bool json)
{
	if (json) {
		strbuf_addstr(sb, "{\"file\":");
		strbuf_add_json_str(sb, path);
		strbuf_addstr(sb, ",\"version\":");
		strbuf_add_json_str(sb, p->version);
		strbuf_addstr(sb, ",\"sha256\":");
		strbuf_add_json_str(sb, p->sha256);
	} else {
		strbuf_addf(sb, "; %s\n; version %s\n; sha256 %s\n", path, p->version, p->sha256);
	}
	for (size_t s = 0; s < NSECTIONS; s++) {
		if (json) {
			strbuf_addstr(sb, ",");
			strbuf_add_json_str(sb, sections[s]);
			strbuf_addstr(sb, ":{");
		} else {
			strbuf_addf(sb, "\n[%s]\n", sections[s]);
		}
		int n = 0;
		if (s == SEC_PERIODIC)
			for (int i = 0; i < p->nperiodic; i++, n++) {
				if (json) {
					strbuf_addstr(sb, n ? "," : "");
					strbuf_add_json_str(sb, p->periodic[i].occupation);
					strbuf_addf(sb, ":%d", p->periodic[i].days);
				} else {
					strbuf_addf(sb, "%s = %d\n", p->periodic[i].occupation,
						    p->periodic[i].days);
				}
			}
		for (size_t i = 0; i < NKEYS; i++) {
			if (strcmp(keys[i].section, sections[s]))
				continue;
			if (json) {
				strbuf_addstr(sb, n ? "," : "");
				strbuf_add_json_str(sb, keys[i].key);
				strbuf_addch(sb, ':');
			} else {
				strbuf_addf(sb, "%s = ", keys[i].key);
			}
			add_value(sb, &keys[i], p, json);
			if (!json)
				strbuf_addch(sb, '\n');
			n++;
		}
		if (json)
			strbuf_addch(sb, '}');
	}
	if (json)
		strbuf_addstr(sb, "}\n");
}

static int policy_show_cmd(int argc, char **argv)
{
	const char *arg = NULL;
	bool json = false;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "fangkong policy show: unknown option '%s'\n", argv[i]);
			return 2;
		} else if (arg) {
			fputs("fangkong policy show: one FILE or NAME only\n", stderr);
			return 2;
		} else
			arg = argv[i];
	}
	if (!arg) {
		usage(stderr);
		return 2;
	}
	char path[PATH_MAX];
	if (!policy_resolve(arg, path, sizeof(path))) {
		fprintf(stderr, "fangkong policy show: path too long\n");
		return 2;
	}
	int rc = 1;
	struct policy *p = fk_xmalloc(sizeof(*p));
	struct fk_err err = {FK_OK, ""};
	int printed = 0;
	enum fk_status st = policy_load(path, p, NULL, print_diag, &printed, &err);
	if (st != FK_OK) {
		if (!printed)
			fprintf(stderr, "fangkong policy show: %s\n", err.msg);
		goto out;
	}
	struct strbuf sb = STRBUF_INIT;
	policy_show(&sb, p, path, json);
	fwrite(sb.buf, 1, sb.len, stdout);
	strbuf_release(&sb);
	rc = 0;
out:
	free(p);
	return rc;
}

int cmd_policy(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	bool check = !strcmp(argv[1], "check"), show = !strcmp(argv[1], "show");
	if (!check && !show) {
		fprintf(stderr, "fangkong policy: unknown subcommand '%s' (check or show)\n",
			argv[1]);
		return 2;
	}
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
	if (check) {
		if (argc < 3) {
			usage(stderr);
			return 2;
		}
		for (int i = 2; i < argc; i++)
			if (argv[i][0] == '-' && argv[i][1]) {
				fprintf(stderr, "fangkong policy check: unknown option '%s'\n",
					argv[i]);
				return 2;
			}
		return policy_check_cmd(argc - 2, argv + 2);
	}
	return policy_show_cmd(argc - 2, argv + 2);
}
