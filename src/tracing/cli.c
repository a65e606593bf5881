/* cli.c — fangkong case add, fangkong trace.
 *
 * The CLI works on the database file directly (an operator on the server):
 * it prints full identities and audits what it printed.  trace loads only
 * the part of the check-ins that can matter, [window start - 2W, now + W],
 * so it answers quickly without a running server.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access/access.h"
#include "healthcode/healthcode.h"
#include "lib/strbuf.h"
#include "lib/util.h"
#include "registry/registry.h"
#include "store/store.h"
#include "tracing/tracing.h"

#include "control/control.h"

#include "lib/banned.h"

/* The window, the infectious days and secondary contacts come from the
 * policy the database runs under (healthcode/policy_db.c). */
static bool use_policy(sqlite3 *db, const char *cmd, const char *arg)
{
	struct policy *pol;
	struct fk_err err;
	if (hc_policy_select(db, arg, &pol, NULL, &err)) {
		fprintf(stderr, "fangkong %s: %s\n", cmd, err.msg);
		return false;
	}
	policy_set_current(pol); /* kept until exit */
	return true;
}

static bool parse_time_flag(const char *cmd, const char *flag, const char *s, int64_t *out)
{
	if (!fk_parse_time(s, out)) {
		fprintf(stderr,
			"fangkong %s: %s '%s' is not a time (ISO 8601 with offset, e.g. "
			"2022-01-10T08:30:00+08:00)\n",
			cmd, flag, s);
		return false;
	}
	return true;
}

static void case_usage(FILE *f)
{
	fputs("usage: fangkong case add --person ID_NUMBER [--onset T] [--first-positive T]\n"
	      "                         [--isolated T] [--class confirmed|asymptomatic|suspected]\n"
	      "                         [--found TEXT] [--policy FILE|NAME] [--db FILE] [--json]\n"
	      "\n"
	      "Adds a case and links it into transmission chains: it becomes linked to every\n"
	      "earlier case it is a close or secondary contact of (and to earlier cases that\n"
	      "are its contacts).  T is ISO 8601 with an offset, e.g. 2022-01-10T08:30:00+08:00.\n"
	      "A case needs an onset time or, when asymptomatic, the first positive sampling\n"
	      "time; the infectious window starts the policy's infectious_days_before\n"
	      "before it and ends at isolation (or now).  The policy is the one the\n"
	      "database runs under unless --policy names another.\n",
	      f);
}

int cmd_case(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		case_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "add")) {
		fprintf(stderr, "fangkong case: unknown subcommand '%s' (only 'add')\n", argv[1]);
		return 2;
	}
	const char *dbflag = NULL, *person = NULL, *policy = NULL;
	struct case_rec c;
	memset(&c, 0, sizeof(c));
	bool json = false;
	static const struct option opts[] = {
		{"person", required_argument, NULL, 'p'},
		{"onset", required_argument, NULL, 'o'},
		{"first-positive", required_argument, NULL, 'f'},
		{"isolated", required_argument, NULL, 'i'},
		{"class", required_argument, NULL, 'c'},
		{"found", required_argument, NULL, 'w'},
		{"policy", required_argument, NULL, 'P'},
		{"db", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	optind = 1;
	int ch;
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': person = optarg; break;
		case 'P': policy = optarg; break;
		case 'o':
			if (!parse_time_flag("case add", "--onset", optarg, &c.onset_at))
				return 2;
			break;
		case 'f':
			if (!parse_time_flag("case add", "--first-positive", optarg,
					     &c.first_positive_at))
				return 2;
			break;
		case 'i':
			if (!parse_time_flag("case add", "--isolated", optarg, &c.isolated_at))
				return 2;
			break;
		case 'c':
			if (!case_class_parse(optarg, &c.cls)) {
				fprintf(stderr,
					"fangkong case add: --class '%s' is not confirmed, "
					"asymptomatic or suspected\n",
					optarg);
				return 2;
			}
			break;
		case 'w':
			if (strlen(optarg) >= sizeof(c.found_where)) {
				fprintf(stderr, "fangkong case add: --found is longer than %zu bytes\n",
					sizeof(c.found_where) - 1);
				return 2;
			}
			fk_strlcpy(c.found_where, optarg, sizeof(c.found_where));
			break;
		case 'd': dbflag = optarg; break;
		case 'j': json = true; break;
		case 'h': case_usage(stdout); return 0;
		default: case_usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fangkong case add: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!person) {
		fputs("fangkong case add: --person ID_NUMBER is required\n", stderr);
		return 2;
	}
	if (!c.onset_at && !c.first_positive_at) {
		fputs("fangkong case add: give --onset or --first-positive\n", stderr);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	const char *path = store_default_path(dbflag);
	sqlite3 *db = NULL;
	struct fk_err err;
	struct contact_index *ix = NULL;
	int rc = 1;
	if (store_open(path, STORE_MIGRATE, &db, &err)) {
		fprintf(stderr, "fangkong case add: %s\n", err.msg);
		return 1;
	}
	if (!use_policy(db, "case add", policy)) {
		store_close(db);
		return 1;
	}
	int64_t pid = registry_person_id(db, person);
	if (pid <= 0) {
		fprintf(stderr, "fangkong case add: %s '%s'\n",
			pid ? "cannot look up person" : "no person with ID number", person);
		goto out;
	}
	c.person_id = pid;
	struct tracing_params p;
	tracing_params_default(&p);
	/* only the check-ins that can link it: from the earliest window of any
	 * case (this one included) less 2W, to now + W */
	int64_t now = fk_now(), ws, we;
	case_window(&c, &p, now, &ws, &we);
	int64_t oldest = store_query_int(db,
					 "SELECT coalesce(min(coalesce(onset_at, first_positive_at)), 0)"
					 " FROM cases",
					 0);
	if (oldest && oldest - p.infectious_s < ws)
		ws = oldest - p.infectious_s;
	struct chain_link *links = NULL;
	size_t nlinks = 0;
	if (contact_index_load(db, ws - 2 * p.window_s, now + p.window_s, isatty(2), &ix, &err) ||
	    case_links_find(db, ix, &p, &c, now, &links, &nlinks, &err)) {
		fprintf(stderr, "fangkong case add: %s\n", err.msg);
		goto out;
	}
	char actor[96];
	fk_cli_actor("cli", actor, sizeof(actor));
	enum fk_status st = case_add(db, &p, &c, links, nlinks, actor, "cli", now, &err);
	free(links);
	if (st) {
		fprintf(stderr, "fangkong case add: %s\n", err.msg);
		rc = st == FK_EINVAL || st == FK_ECONFLICT ? 2 : 1;
		goto out;
	}
	size_t recorded = 0;
	if (tracing_record_case_contacts(ix, db, &c, &p, now, false, &recorded, &err)) {
		fprintf(stderr, "fangkong case add: case %lld added, but its contacts were not"
				" recorded: %s\n", (long long)c.id, err.msg);
		goto out;
	}
	size_t proposed = 0;
	if (control_case_added(db, &c, now, false, actor, &proposed, &err)) {
		fprintf(stderr, "fangkong case add: case %lld added and its contacts recorded, but"
				" orders were not proposed: %s\n", (long long)c.id, err.msg);
		goto out;
	}
	if (json)
		printf("{\"id\":%lld,\"chain_id\":%lld,\"contacts\":%zu,\"orders_proposed\":%zu}\n",
		       (long long)c.id, (long long)c.chain_id, recorded, proposed);
	else
		printf("case %lld added (chain %lld), %zu contacts recorded, %zu orders proposed\n",
		       (long long)c.id, (long long)c.chain_id, recorded, proposed);
	rc = 0;
out:
	contact_index_free(ix);
	store_close(db);
	return rc;
}

/* ---- trace ---- */

static void trace_usage(FILE *f)
{
	fputs("usage: fangkong trace --case ID_NUMBER [--degree 1|2] [--json|--csv] [--db FILE]\n"
	      "                      [--policy FILE|NAME]\n"
	      "\n"
	      "Lists the close contacts (degree 1) and secondary contacts (degree 2, the\n"
	      "default shows both) of the case whose person has this ID number, with the\n"
	      "exposure time and the evidence: the venue and both scan times, or the\n"
	      "shared household.  Secondary contacts name the close contact they came\n"
	      "through.  Full identities are printed; the run is recorded in the audit log.\n",
	      f);
}

struct trace_out {
	sqlite3_stmt *person, *venue;
	enum { OUT_TEXT, OUT_JSON, OUT_CSV } fmt;
	struct strbuf sb;
};

static void lookup_person(struct trace_out *o, uint32_t id, char *idnum, size_t isz, char *name,
			  size_t nsz)
{
	idnum[0] = name[0] = '\0';
	sqlite3_bind_int64(o->person, 1, id);
	if (sqlite3_step(o->person) == SQLITE_ROW) {
		const char *a = (const char *)sqlite3_column_text(o->person, 0);
		const char *b = (const char *)sqlite3_column_text(o->person, 1);
		fk_strlcpy(idnum, a ? a : "", isz);
		fk_strlcpy(name, b ? b : "", nsz);
	}
	sqlite3_reset(o->person);
}

static void lookup_venue(struct trace_out *o, uint32_t id, char *code, size_t size)
{
	code[0] = '\0';
	sqlite3_bind_int64(o->venue, 1, id);
	if (sqlite3_step(o->venue) == SQLITE_ROW) {
		const char *a = (const char *)sqlite3_column_text(o->venue, 0);
		fk_strlcpy(code, a ? a : "", size);
	}
	sqlite3_reset(o->venue);
}

static void csv_field(struct strbuf *sb, const char *s)
{
	bool quote = strpbrk(s, ",\"\r\n") != NULL;
	if (!quote) {
		strbuf_addstr(sb, s);
		return;
	}
	strbuf_addch(sb, '"');
	for (; *s; s++) {
		if (*s == '"')
			strbuf_addch(sb, '"');
		strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '"');
}

static void emit_contact(struct trace_out *o, int degree, const struct contact *c, bool first)
{
	char idnum[32], name[128], via_id[32], via_name[128], venue[64];
	char te[40], tc[40], ts[40];
	lookup_person(o, c->person_id, idnum, sizeof(idnum), name, sizeof(name));
	via_id[0] = '\0';
	if (c->via)
		lookup_person(o, c->via, via_id, sizeof(via_id), via_name, sizeof(via_name));
	bool hh = c->kind == EVIDENCE_HOUSEHOLD;
	venue[0] = '\0';
	if (!hh)
		lookup_venue(o, c->venue_id, venue, sizeof(venue));
	fk_format_time(c->exposure, te, sizeof(te));
	tc[0] = ts[0] = '\0';
	if (!hh) {
		fk_format_time(c->t_contact, tc, sizeof(tc));
		fk_format_time(c->t_source, ts, sizeof(ts));
	}
	struct strbuf *sb = &o->sb;
	switch (o->fmt) {
	case OUT_JSON:
		strbuf_addstr(sb, first ? "\n" : ",\n");
		strbuf_addstr(sb, "{\"id_number\":");
		strbuf_add_json_str(sb, idnum);
		strbuf_addstr(sb, ",\"name\":");
		strbuf_add_json_str(sb, name);
		strbuf_addf(sb, ",\"exposure\":\"%s\",\"exposure_unix\":%lld,\"kind\":\"%s\"", te,
			    (long long)c->exposure, hh ? "household" : "venue");
		if (hh) {
			strbuf_addstr(sb, ",\"venue\":null,\"contact_time\":null,\"source_time\":null,"
					  "\"contact_time_unix\":null,\"source_time_unix\":null");
		} else {
			strbuf_addstr(sb, ",\"venue\":");
			strbuf_add_json_str(sb, venue);
			strbuf_addf(sb,
				    ",\"contact_time\":\"%s\",\"source_time\":\"%s\","
				    "\"contact_time_unix\":%lld,\"source_time_unix\":%lld",
				    tc, ts, (long long)c->t_contact, (long long)c->t_source);
		}
		if (degree == 2) {
			strbuf_addstr(sb, ",\"via\":");
			strbuf_add_json_str(sb, via_id);
		}
		strbuf_addch(sb, '}');
		break;
	case OUT_CSV:
		strbuf_addf(sb, "%d,%s,", degree, idnum);
		csv_field(sb, name);
		strbuf_addf(sb, ",%s,%s,%s,%s,%s,%s\n", te, hh ? "household" : "venue", venue, tc, ts,
			    via_id);
		break;
	case OUT_TEXT:
		strbuf_addf(sb, "%s  %-18s %-12s %s", te, idnum, name,
			    hh ? "同住 household" : venue);
		if (!hh)
			strbuf_addf(sb, "  contact %s  source %s", tc, ts);
		if (degree == 2)
			strbuf_addf(sb, "  via %s", via_id);
		strbuf_addch(sb, '\n');
		break;
	}
	fwrite(sb->buf, 1, sb->len, stdout);
	strbuf_reset(sb);
}

static void emit_set(struct trace_out *o, int degree, const struct contact_set *s)
{
	if (o->fmt == OUT_JSON)
		printf(",\"%s\":[", degree == 1 ? "close" : "secondary");
	else if (o->fmt == OUT_TEXT)
		printf("%s contacts: %zu\n", degree == 1 ? "close" : "secondary", s->n);
	for (size_t i = 0; i < s->n; i++)
		emit_contact(o, degree, &s->v[i], i == 0);
	if (o->fmt == OUT_JSON)
		fputs(s->n ? "\n]" : "]", stdout);
}

int cmd_trace(int argc, char **argv)
{
	const char *dbflag = NULL, *idnum = NULL, *policy = NULL;
	int64_t degree = 2;
	struct trace_out o = {.fmt = OUT_TEXT};
	static const struct option opts[] = {
		{"case", required_argument, NULL, 'c'}, {"degree", required_argument, NULL, 'g'},
		{"json", no_argument, NULL, 'j'},       {"csv", no_argument, NULL, 'v'},
		{"db", required_argument, NULL, 'd'},   {"help", no_argument, NULL, 'h'},
		{"policy", required_argument, NULL, 'P'}, {NULL, 0, NULL, 0},
	};
	optind = 1;
	int ch;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': idnum = optarg; break;
		case 'P': policy = optarg; break;
		case 'g':
			if (!fk_parse_i64(optarg, 1, 2, &degree)) {
				fprintf(stderr, "fangkong trace: --degree must be 1 or 2\n");
				return 2;
			}
			break;
		case 'j': o.fmt = OUT_JSON; break;
		case 'v': o.fmt = OUT_CSV; break;
		case 'd': dbflag = optarg; break;
		case 'h': trace_usage(stdout); return 0;
		default: trace_usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fangkong trace: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!idnum) {
		fputs("fangkong trace: --case ID_NUMBER is required\n", stderr);
		trace_usage(stderr);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	const char *path = store_default_path(dbflag);
	sqlite3 *db = NULL;
	struct fk_err err;
	struct contact_index *ix = NULL;
	struct contact_set close = {0}, sec = {0};
	int rc = 1;
	strbuf_init(&o.sb);
	if (access(path, F_OK) != 0) {
		fprintf(stderr, "fangkong trace: database '%s' does not exist\n", path);
		return 1;
	}
	if (store_open(path, STORE_MIGRATE, &db, &err)) {
		fprintf(stderr, "fangkong trace: %s\n", err.msg);
		return 1;
	}
	if (!use_policy(db, "trace", policy)) {
		store_close(db);
		return 1;
	}
	int64_t pid = registry_person_id(db, idnum);
	struct case_rec c;
	if (pid <= 0) {
		fprintf(stderr, "fangkong trace: %s '%s'\n",
			pid ? "cannot look up person" : "no person with ID number", idnum);
		goto out;
	}
	if (case_get_by_person(db, pid, &c, &err)) {
		fprintf(stderr, "fangkong trace: the person with ID number '%s' is not a case\n",
			idnum);
		goto out;
	}
	struct tracing_params p;
	tracing_params_default(&p);
	int64_t now = fk_now(), ws, we;
	case_window(&c, &p, now, &ws, &we);
	if (contact_index_load(db, ws - 2 * p.window_s, now + p.window_s, isatty(2), &ix, &err) ||
	    tracing_contacts(ix, db, &c, &p, now, &close, degree == 2 ? &sec : NULL, &err)) {
		fprintf(stderr, "fangkong trace: %s\n", err.msg);
		goto out;
	}
	o.person = store_prepare(db, "SELECT id_number, name FROM persons WHERE id = ?1", &err);
	o.venue = o.person ? store_prepare(db, "SELECT code FROM venue_keys WHERE id = ?1", &err)
			   : NULL;
	if (!o.venue) {
		fprintf(stderr, "fangkong trace: %s\n", err.msg);
		goto out;
	}
	char actor[96], object[32], detail[128];
	fk_cli_actor("cli", actor, sizeof(actor));
	snprintf(object, sizeof(object), "case:%lld", (long long)c.id);
	snprintf(detail, sizeof(detail), "{\"close\":%zu,\"secondary\":%zu}", close.n, sec.n);
	if (audit_append(db, actor, "case.trace", object, detail, "cli", &err)) {
		fprintf(stderr, "fangkong trace: %s (nothing printed)\n", err.msg);
		goto out;
	}
	char a[40], b[40];
	fk_format_time(ws, a, sizeof(a));
	fk_format_time(we, b, sizeof(b));
	if (o.fmt == OUT_JSON) {
		printf("{\"case\":{\"id\":%lld,\"id_number\":", (long long)c.id);
		strbuf_add_json_str(&o.sb, idnum);
		fwrite(o.sb.buf, 1, o.sb.len, stdout);
		strbuf_reset(&o.sb);
		printf(",\"chain_id\":%lld,\"window_from\":\"%s\",\"window_to\":\"%s\","
		       "\"window_from_unix\":%lld,\"window_to_unix\":%lld}",
		       (long long)c.chain_id, a, b, (long long)ws, (long long)we);
	} else if (o.fmt == OUT_CSV) {
		puts("degree,id_number,name,exposure,kind,venue,contact_time,source_time,via");
	} else {
		printf("case %lld (chain %lld), infectious window %s .. %s\n", (long long)c.id,
		       (long long)c.chain_id, a, b);
	}
	emit_set(&o, 1, &close);
	if (degree == 2)
		emit_set(&o, 2, &sec);
	if (o.fmt == OUT_JSON)
		puts("}");
	rc = 0;
out:
	sqlite3_finalize(o.person);
	sqlite3_finalize(o.venue);
	strbuf_release(&o.sb);
	contact_set_release(&close);
	contact_set_release(&sec);
	contact_index_free(ix);
	store_close(db);
	return rc;
}
