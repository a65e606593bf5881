/* cli.c — fangkong init, fangkong user add|list, fangkong audit verify.
 *
 * Exit codes: 0 ok, 1 failure, 2 bad usage or a bad value (unknown role,
 * missing region, weak password, bad user name).
 *
 * init writes the first admin's password to DB.admin-password through a
 * temporary file made by mkstemp (O_CREAT|O_EXCL, mode 0600) in the same
 * directory, then renamed over the target: the password is never readable
 * by others, not even for a moment, and an existing file or a symlink
 * planted at that name is replaced, never written through.  The admin row
 * is committed only after the file is safely written, so a failed init can
 * simply be run again.
 */
#include "access/access.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/strbuf.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define INIT_PASSWORD_LEN 16
#define CLI_ACTOR "cli"
#define CLI_ORIGIN "cli"

static int exit_of(enum fk_status st)
{
	return st == FK_OK ? 0 : st == FK_EINVAL ? 2 : 1;
}

/* Reports a getopt_long error for cmd (optstring starts with ':'). */
static int bad_option(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];
	if (c == ':')
		fprintf(stderr, "fangkong %s: option '%s' needs a value\n", cmd, arg);
	else
		fprintf(stderr, "fangkong %s: unknown option '%s'\n", cmd, arg);
	fprintf(stderr, "try 'fangkong %s --help'\n", cmd);
	return 2;
}

static int extra_args(const char *cmd, int argc, char **argv)
{
	if (optind < argc) {
		fprintf(stderr, "fangkong %s: unexpected argument '%s'\n", cmd, argv[optind]);
		return 2;
	}
	return 0;
}

/* Parses the only flags of a command that takes just --db and --help.
 * Returns -1 to go on (*path set to the database), else the exit code. */
static int parse_db_only(const char *cmd, void (*usage)(FILE *), int argc, char **argv,
			 const char **path)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dbflag = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dbflag = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return bad_option(cmd, c, argv);
		}
	}
	if (extra_args(cmd, argc, argv))
		return 2;
	*path = store_default_path(dbflag);
	return -1;
}

/* ---------- init ---------- */

static void init_usage(FILE *f)
{
	fputs("usage: fangkong init [--db FILE]\n"
	      "Creates the database (or migrates an existing one).  When it has no users,\n"
	      "creates the user 'admin' with a random password, prints the password once\n"
	      "and writes it to FILE.admin-password (mode 0600).  Only whoever ran init\n"
	      "sees it, so the admin is not forced to change it (users added later are).\n",
	      f);
}

/* Writes text to path with mode 0600 via a temporary file and rename. */
static enum fk_status write_secret_file(const char *path, const char *text, struct fk_err *err)
{
	enum fk_status st = FK_OK;
	struct strbuf tmp = STRBUF_INIT;
	int fd = -1;
	size_t len = strlen(text), off = 0;

	strbuf_addf(&tmp, "%s.XXXXXX", path);
	fd = mkstemp(tmp.buf);
	if (fd < 0) {
		st = fk_fail(err, FK_EIO, "cannot create '%s': %s", tmp.buf, strerror(errno));
		goto done;
	}
	if (fchmod(fd, 0600) != 0) {
		st = fk_fail(err, FK_EIO, "cannot set mode of '%s': %s", tmp.buf, strerror(errno));
		goto unlink;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			st = fk_fail(err, FK_EIO, "cannot write '%s': %s", tmp.buf, strerror(errno));
			goto unlink;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		st = fk_fail(err, FK_EIO, "cannot write '%s': %s", tmp.buf, strerror(errno));
		goto unlink;
	}
	if (close(fd) != 0) {
		fd = -1;
		st = fk_fail(err, FK_EIO, "cannot write '%s': %s", tmp.buf, strerror(errno));
		goto unlink;
	}
	fd = -1;
	if (rename(tmp.buf, path) != 0) {
		st = fk_fail(err, FK_EIO, "cannot write '%s': %s", path, strerror(errno));
		goto unlink;
	}
	goto done;
unlink:
	if (fd >= 0)
		close(fd);
	fd = -1;
	unlink(tmp.buf);
done:
	if (fd >= 0)
		close(fd);
	strbuf_release(&tmp);
	return st;
}

int cmd_init(int argc, char **argv)
{
	const char *path;
	int rc = 1;
	sqlite3 *db = NULL;
	struct fk_err err;
	struct strbuf file = STRBUF_INIT, text = STRBUF_INIT;
	char pw[INIT_PASSWORD_LEN + 1];

	int parsed = parse_db_only("init", init_usage, argc, argv, &path);
	if (parsed >= 0)
		return parsed;
	if (store_open(path, STORE_CREATE, &db, &err)) {
		fprintf(stderr, "fangkong init: %s\n", err.msg);
		return 1;
	}
	int64_t users = store_query_int(db, "SELECT count(*) FROM users", -1);
	if (users < 0) {
		fprintf(stderr, "fangkong init: cannot read users of '%s'\n", path);
		goto done;
	}
	if (users > 0) {
		fprintf(stderr,
			"fangkong init: database '%s' is up to date and already has %lld user(s); "
			"nothing changed\n",
			path, (long long)users);
		rc = 0;
		goto done;
	}
	password_random(pw, sizeof(pw), INIT_PASSWORD_LEN);
	strbuf_addf(&file, "%s.admin-password", path);
	strbuf_addf(&text, "username admin\npassword %s\n", pw);
	if (store_begin(db, &err) ||
	    user_create(db, "admin", pw, ROLE_ADMIN, "", 0, CLI_ACTOR, CLI_ORIGIN, NULL, &err) ||
	    write_secret_file(file.buf, text.buf, &err) || store_commit(db, &err)) {
		store_rollback(db);
		fprintf(stderr, "fangkong init: %s\n", err.msg);
		goto done;
	}
	printf("admin password: %s\n", pw);
	fprintf(stderr,
		"fangkong init: created '%s' with user 'admin'; the password is also in '%s' "
		"(mode 0600)\n",
		path, file.buf);
	rc = 0;
done:
	sodium_memzero(pw, sizeof(pw));
	if (text.alloc)
		sodium_memzero(text.buf, text.alloc);
	strbuf_release(&text);
	strbuf_release(&file);
	store_close(db);
	return rc;
}

/* ---------- user ---------- */

static void user_usage(FILE *f)
{
	fputs("usage: fangkong user add --username NAME --role ROLE --scope CODE\n"
	      "                         [--password PASSWORD] [--db FILE]\n"
	      "       fangkong user add --username NAME --role citizen --person ID_NUMBER\n"
	      "                         [--password PASSWORD] [--db FILE]\n"
	      "       fangkong user list [--db FILE]\n"
	      "Roles: admin command tracer isolation tester lab grid sentinel venue checkpoint\n"
	      "citizen.\n"
	      "The scope is a region code (the user sees its subtree), '' for everything.\n"
	      "A citizen account speaks for one registered person (--person, their ID\n"
	      "number) and may only scan venue codes; its scope is that person's grid.\n"
	      "Without --password a random one is generated and printed once.  Either way\n"
	      "the new user must change it at first login: whoever ran this command knows it.\n",
	      f);
}

static void roles_list(FILE *f)
{
	for (int i = 0; i < ROLE_COUNT; i++)
		fprintf(f, "%s%s", i ? ", " : "", role_name((enum role)i));
}

static int user_add(int argc, char **argv)
{
	static const struct option opts[] = {
		{"username", required_argument, NULL, 'u'}, {"role", required_argument, NULL, 'r'},
		{"scope", required_argument, NULL, 's'},    {"password", required_argument, NULL, 'p'},
		{"db", required_argument, NULL, 'd'},       {"help", no_argument, NULL, 'h'},
		{"person", required_argument, NULL, 'P'},   {NULL, 0, NULL, 0},
	};
	const char *dbflag = NULL, *username = NULL, *rolename = NULL, *scope = NULL,
		   *password = NULL, *person = NULL;
	char generated[INIT_PASSWORD_LEN + 1] = "";
	enum role role;
	int c, rc;
	sqlite3 *db = NULL;
	struct fk_err err;
	struct user u;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'u': username = optarg; break;
		case 'r': rolename = optarg; break;
		case 's': scope = optarg; break;
		case 'p': password = optarg; break;
		case 'P': person = optarg; break;
		case 'd': dbflag = optarg; break;
		case 'h': user_usage(stdout); return 0;
		default: return bad_option("user add", c, argv);
		}
	}
	if (extra_args("user add", argc, argv))
		return 2;
	if (!username || !rolename) {
		fprintf(stderr, "fangkong user add: --username and --role are required\n");
		return 2;
	}
	if (!role_parse(rolename, &role)) {
		fprintf(stderr, "fangkong user add: unknown role '%s' (one of: ", rolename);
		roles_list(stderr);
		fputs(")\n", stderr);
		return 2;
	}
	if (role == ROLE_CITIZEN && !person) {
		fprintf(stderr, "fangkong user add: a citizen account needs --person ID_NUMBER\n");
		return 2;
	}
	if (role != ROLE_CITIZEN && person) {
		fprintf(stderr, "fangkong user add: --person is only for --role citizen\n");
		return 2;
	}
	if (role != ROLE_CITIZEN && !scope) {
		fprintf(stderr, "fangkong user add: --scope is required\n");
		return 2;
	}
	if (!password) {
		password_random(generated, sizeof(generated), INIT_PASSWORD_LEN);
		password = generated;
	}
	const char *path = store_default_path(dbflag);
	if (store_open(path, 0, &db, &err)) {
		fprintf(stderr, "fangkong user add: %s\n", err.msg);
		return 1;
	}
	enum fk_status st =
		user_create_person(db, username, password, role, scope, person, NULL,
				   USER_MUST_CHANGE_PASSWORD, CLI_ACTOR, CLI_ORIGIN, &u, &err);
	if (st) {
		fprintf(stderr, "fangkong user add: %s\n", err.msg);
		rc = exit_of(st);
		goto done;
	}
	fprintf(stderr, "fangkong user add: created user '%s' (role %s, scope '%s')\n", u.username,
		role_name(u.role), u.scope);
	if (*generated)
		printf("password: %s\n", generated);
	rc = 0;
done:
	sodium_memzero(generated, sizeof(generated));
	store_close(db);
	return rc;
}

static int user_list(int argc, char **argv)
{
	const char *path;
	int rc = 1;
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	struct fk_err err;

	int parsed = parse_db_only("user list", user_usage, argc, argv, &path);
	if (parsed >= 0)
		return parsed;
	if (store_open(path, STORE_READONLY, &db, &err)) {
		fprintf(stderr, "fangkong user list: %s\n", err.msg);
		return 1;
	}
	q = store_prepare(db, "SELECT username, role, scope, created_at, created_by, disabled,"
			      " must_change_password FROM users ORDER BY username",
			  &err);
	if (!q) {
		fprintf(stderr, "fangkong user list: %s\n", err.msg);
		goto done;
	}
	printf("username\trole\tscope\tcreated_at\tcreated_by\tdisabled\tmust_change_password\n");
	int step;
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		char at[32];
		fk_format_time(sqlite3_column_int64(q, 3), at, sizeof(at));
		printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", (const char *)sqlite3_column_text(q, 0),
		       (const char *)sqlite3_column_text(q, 1), (const char *)sqlite3_column_text(q, 2),
		       at, (const char *)sqlite3_column_text(q, 4),
		       sqlite3_column_int(q, 5) ? "yes" : "no",
		       sqlite3_column_int(q, 6) ? "yes" : "no");
	}
	if (step != SQLITE_DONE) {
		fprintf(stderr, "fangkong user list: cannot read users: %s\n", sqlite3_errmsg(db));
		goto done;
	}
	rc = 0;
done:
	sqlite3_finalize(q);
	store_close(db);
	return rc;
}

int cmd_user(int argc, char **argv)
{
	if (argc < 2) {
		user_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		user_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "add"))
		return user_add(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return user_list(argc - 1, argv + 1);
	fprintf(stderr, "fangkong user: unknown subcommand '%s' (add, list)\n", argv[1]);
	return 2;
}

/* ---------- audit ---------- */

static void audit_usage(FILE *f)
{
	fputs("usage: fangkong audit verify [--db FILE]\n"
	      "Re-computes the audit log's hash chain.  Exit 0 if intact; exit 1 naming\n"
	      "the first row that was altered, inserted or deleted.\n",
	      f);
}

int cmd_audit(int argc, char **argv)
{
	const char *path;
	int rc = 1;
	sqlite3 *db = NULL;
	struct fk_err err;
	int64_t rows = 0;

	if (argc < 2) {
		audit_usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		audit_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "verify")) {
		fprintf(stderr, "fangkong audit: unknown subcommand '%s' (verify)\n", argv[1]);
		return 2;
	}
	argc--;
	argv++;
	int parsed = parse_db_only("audit verify", audit_usage, argc, argv, &path);
	if (parsed >= 0)
		return parsed;
	if (store_open(path, STORE_READONLY, &db, &err)) {
		fprintf(stderr, "fangkong audit verify: %s\n", err.msg);
		return 1;
	}
	enum fk_status st = audit_verify(db, &rows, &err);
	if (st) {
		fprintf(stderr, "fangkong audit verify: %s\n", err.msg);
		goto done;
	}
	printf("audit log intact: %lld rows\n", (long long)rows);
	rc = 0;
done:
	store_close(db);
	return rc;
}
