/* cli.c — fangkong code: a person's code at any time under any policy
 * (history and what-if), or every person's colour at once. */
#include "healthcode/healthcode.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "lib/strbuf.h"
#include "lib/util.h"
#include "registry/registry.h"
#include "store/store.h"

#include "lib/banned.h"

static void usage(FILE *f)
{
	fputs("usage: fangkong code --person ID_NUMBER [--at T] [--policy FILE|NAME] [--json]\n"
	      "                     [--db FILE]\n"
	      "       fangkong code --all [--at T] [--policy FILE|NAME] [--json] [--db FILE]\n"
	      "\n"
	      "Shows what a person's health code was, is or would be at time T (default now;\n"
	      "ISO 8601 with offset, e.g. 2022-06-01T10:00:00+08:00) under a policy (a file\n"
	      "or a shipped name such as protocol-9-20; default: the policy the database\n"
	      "runs under): the colour, every active rule with its reason, evidence, start\n"
	      "and end, and when it next changes.  The run is recorded in the audit log.\n"
	      "--all computes every person's colour, prints the counts and how long the\n"
	      "recompute took.\n",
	      f);
}

static void print_time(const char *label, int64_t t)
{
	char buf[40];
	if (t == INT64_MIN)
		printf("%s(before any record)", label);
	else if (t == HC_NEVER)
		printf("%s(open)", label);
	else
		printf("%s%s", label, fk_format_time(t, buf, sizeof(buf)));
}

static void print_text(const struct policy *p, const struct hc_facts *f, const struct hc_result *r,
		       const char *idnum, const char *name)
{
	char zh[256], en[256], ev[512], at[40];
	printf("%s %s at %s (policy %s)%s\n", colour_label_zh(r->colour), colour_name(r->colour),
	       fk_format_time(r->at, at, sizeof(at)), r->policy_version,
	       r->overridden ? " [manual override]" : "");
	printf("person %s %s, grid %s%s%s\n", idnum, name, f->grid, f->occupation[0] ? ", " : "",
	       f->occupation);
	if (r->overridden)
		printf("the rules alone give: %s\n", colour_name(r->computed));
	if (!r->nhits)
		printf("no rule is active: green\n");
	for (size_t i = 0; i < r->nhits; i++) {
		const struct hc_hit *h = &r->hits[i];
		hc_hit_reason(p, f, h, zh, sizeof(zh), en, sizeof(en));
		hc_hit_evidence(f, h, ev, sizeof(ev));
		printf("  %-9s %-6s ", hc_rule_name(h->rule), colour_name(h->colour));
		print_time("", h->start);
		print_time(" -> ", h->end);
		printf("\n            %s | %s\n            evidence: %s\n", zh, en, ev);
	}
	if (r->truncated)
		printf("  (more rules are active than shown)\n");
	print_time("next change: ", r->next_change);
	putchar('\n');
}

static int run_all(sqlite3 *db, const struct policy *p, int64_t at, bool json)
{
	struct hc_city *c = NULL;
	struct hc_city_stats st;
	struct fk_err err;
	if (hc_city_compute(db, p, at, &c, &st, &err)) {
		fprintf(stderr, "fangkong code: %s\n", err.msg);
		return 1;
	}
	hc_city_free(c);
	char buf[40];
	if (json) {
		printf("{\"at\":\"%s\",\"policy_version\":\"%s\",\"persons\":%llu,\"green\":%llu,"
		       "\"yellow\":%llu,\"red\":%llu,\"evaluated\":%llu,\"load_ms\":%.1f,"
		       "\"eval_ms\":%.1f}\n",
		       fk_format_time(at, buf, sizeof(buf)), p->version,
		       (unsigned long long)st.persons, (unsigned long long)st.green,
		       (unsigned long long)st.yellow, (unsigned long long)st.red,
		       (unsigned long long)st.with_facts, st.load_ms, st.eval_ms);
	} else {
		printf("at %s under %s\n", fk_format_time(at, buf, sizeof(buf)), p->version);
		printf("green %llu, yellow %llu, red %llu (of %llu persons)\n",
		       (unsigned long long)st.green, (unsigned long long)st.yellow,
		       (unsigned long long)st.red, (unsigned long long)st.persons);
		printf("recompute: %llu persons in %.1f ms (load %.1f ms, evaluate %.1f ms;"
		       " %llu with facts, areas or periodic tests)\n",
		       (unsigned long long)st.persons, st.load_ms + st.eval_ms, st.load_ms,
		       st.eval_ms, (unsigned long long)st.with_facts);
	}
	return 0;
}

int cmd_code(int argc, char **argv)
{
	const char *person = NULL, *atflag = NULL, *polflag = NULL, *dbflag = NULL;
	bool json = false, all = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has = i + 1 < argc;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--all")) {
			all = true;
		} else if (has && !strcmp(a, "--person")) {
			person = argv[++i];
		} else if (has && !strcmp(a, "--at")) {
			atflag = argv[++i];
		} else if (has && !strcmp(a, "--policy")) {
			polflag = argv[++i];
		} else if (has && !strcmp(a, "--db")) {
			dbflag = argv[++i];
		} else {
			fprintf(stderr, "fangkong code: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (!!person == all) {
		fputs("fangkong code: give --person ID_NUMBER or --all\n", stderr);
		usage(stderr);
		return 2;
	}
	int64_t at = fk_now();
	if (atflag && !fk_parse_time(atflag, &at)) {
		fprintf(stderr,
			"fangkong code: --at '%s' is not a time (ISO 8601 with offset, e.g. "
			"2022-06-01T10:00:00+08:00)\n",
			atflag);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	sqlite3 *db = NULL;
	struct policy *p = NULL;
	struct fk_err err;
	struct hc_facts f;
	struct hc_areas areas = {0};
	struct hc_result *r = NULL;
	struct strbuf out = STRBUF_INIT;
	int rc = 1;
	hc_facts_init(&f, 0);
	if (store_open(store_default_path(dbflag), STORE_MIGRATE, &db, &err)) {
		fprintf(stderr, "fangkong code: %s\n", err.msg);
		return 1;
	}
	if (hc_policy_select(db, polflag, &p, NULL, &err)) {
		fprintf(stderr, "fangkong code: %s\n", err.msg);
		rc = polflag ? 2 : 1;
		goto out;
	}
	if (all) {
		rc = run_all(db, p, at, json);
		goto out;
	}
	int64_t pid = registry_person_id(db, person);
	if (pid <= 0) {
		fprintf(stderr, "fangkong code: %s '%s'\n",
			pid ? "cannot look up person" : "no person with ID number", person);
		rc = pid ? 1 : 2;
		goto out;
	}
	if (!(r = malloc(sizeof(*r)))) {
		fputs("fangkong code: out of memory\n", stderr);
		goto out;
	}
	if (hc_person_code(db, p, pid, at, &f, &areas, r, &err)) {
		fprintf(stderr, "fangkong code: %s\n", err.msg);
		goto out;
	}
	char actor[96], detail[160], atbuf[40];
	fk_cli_actor("cli", actor, sizeof(actor));
	snprintf(detail, sizeof(detail), "at %s under %s: %s",
		 fk_format_time(at, atbuf, sizeof(atbuf)), p->version, colour_name(r->colour));
	if (audit_append(db, actor, "code.read", person, detail, "cli", &err)) {
		fprintf(stderr, "fangkong code: cannot write the audit record: %s\n", err.msg);
		goto out;
	}
	char name[128] = "", idnum[32] = "";
	sqlite3_stmt *q = store_prepare(db, "SELECT name, id_number FROM persons WHERE id = ?1", NULL);
	if (q) {
		sqlite3_bind_int64(q, 1, pid);
		if (sqlite3_step(q) == SQLITE_ROW) {
			fk_strlcpy(name, (const char *)sqlite3_column_text(q, 0), sizeof(name));
			fk_strlcpy(idnum, (const char *)sqlite3_column_text(q, 1), sizeof(idnum));
		}
		sqlite3_finalize(q);
	}
	if (json) {
		strbuf_addstr(&out, "{\"person\":{\"id_number\":");
		strbuf_add_json_str(&out, idnum);
		strbuf_addstr(&out, ",\"name\":");
		strbuf_add_json_str(&out, name);
		strbuf_addstr(&out, ",\"grid\":");
		strbuf_add_json_str(&out, f.grid);
		strbuf_addstr(&out, "},");
		hc_result_json(p, &f, r, &out);
		strbuf_addstr(&out, "}\n");
		fputs(out.buf, stdout);
	} else {
		print_text(p, &f, r, idnum, name);
	}
	rc = 0;
out:
	strbuf_release(&out);
	free(r);
	hc_facts_release(&f);
	hc_areas_release(&areas);
	free(p);
	store_close(db);
	return rc;
}
