/* main.c — the command table.  Each command parses its own flags and
 * returns its exit code: 0 ok, 1 failure, 2 bad usage, 3 rows rejected. */
#include <stdio.h>
#include <string.h>

#include "access/access.h"
#include "checkins/checkins.h"
#include "control/control.h"
#include "healthcode/healthcode.h"
#include "http/http.h"
#include "policy/policy.h"
#include "registry/registry.h"
#include "testing/testing.h"
#include "tracing/tracing.h"

#include "lib/banned.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"init", cmd_init, "create a database and its first admin"},
	{"gen", cmd_gen, "generate a real city's tree with a synthetic population"},
	{"import", cmd_import, "import regions, persons, venues, check-ins, samples or results"},
	{"export", cmd_export, "export venue posters or a campaign's missing list"},
	{"campaign", cmd_campaign, "launch, list and close testing campaigns; add sampling sites"},
	{"plan-testing", cmd_plan_testing,
	 "tests, tubes, samplers, sites and lab capacity for a testing round"},
	{"case", cmd_case, "add a case (linked into transmission chains)"},
	{"orders", cmd_orders, "propose, confirm, list, extend or release control orders"},
	{"isolation", cmd_isolation, "isolation sites and their rooms"},
	{"responsible", cmd_responsible, "the five responsible people of a region (五包一)"},
	{"risk", cmd_risk, "designate, lower and list risk areas"},
	{"control", cmd_control, "run the control loop's tick (release, queue, checks, risk areas)"},
	{"trace", cmd_trace, "list a case's close and secondary contacts"},
	{"policy", cmd_policy, "check or show a policy file (a protocol edition)"},
	{"code", cmd_code, "a person's health code at a time, with its rules"},
	{"verify", cmd_verify, "verify a signed health-code token offline"},
	{"keys", cmd_keys, "list, rotate or revoke health-code signing keys"},
	{"serve", cmd_serve, "serve the web pages and the API"},
	{"user", cmd_user, "add or list users"},
	{"audit", cmd_audit, "verify the audit log's hash chain"},
};

static void usage(FILE *f)
{
	fputs("usage: fangkong COMMAND [OPTIONS]   (fangkong COMMAND --help)\n\ncommands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "fangkong: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
