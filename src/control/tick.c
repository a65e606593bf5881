/* tick.c — the control loop's clock: control_tick runs each part (test
 * results and release, rooms for the queue, missed checks, risk areas) in
 * its own transaction; the server runs it every second on its writer, and
 * `fangkong control tick` runs it once.
 *
 * Each part first asks whether anything is due (an indexed query), so a
 * tick with nothing to do costs a few index probes.  A part that fails is
 * rolled back and reported; the others still run, and the next tick
 * retries it.  When another process holds the database's write lock (an
 * import), the server's tick does not wait for it (requests would queue
 * behind the writer meanwhile): the pass stops and the next second
 * catches up.
 */
#include "control/control_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "healthcode/healthcode.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

void control_changes_add(struct control_changes *ch, int64_t person_id)
{
	if (!ch)
		return;
	if (ch->n == ch->cap) {
		size_t cap = ch->cap ? ch->cap * 2 : 64;
		int64_t *v = realloc(ch->persons, cap * sizeof(*v));
		if (!v) {
			ch->all = true; /* cannot list them: recompute everyone */
			return;
		}
		ch->persons = v;
		ch->cap = cap;
	}
	ch->persons[ch->n++] = person_id;
}

void control_changes_release(struct control_changes *ch)
{
	free(ch->persons);
	memset(ch, 0, sizeof(*ch));
}

static bool in_server;

void control_changes_publish(const struct control_changes *ch)
{
	if (!in_server)
		return;
	if (ch->all) {
		healthcode_all_changed();
		return;
	}
	for (size_t i = 0; i < ch->n; i++)
		healthcode_person_changed(ch->persons[i]);
}

typedef enum fk_status (*tick_part)(sqlite3 *wdb, int64_t now, struct control_changes *ch,
				    struct fk_err *err);

static const struct {
	const char *name;
	tick_part fn;
} parts[] = {
	{"release", schedule_tick},
	{"rooms", sites_tick},
	{"checks", checks_tick},
	{"risk areas", risk_tick},
};

enum fk_status control_tick(sqlite3 *wdb, int64_t now, struct control_changes *ch,
			    struct fk_err *err)
{
	enum fk_status first = FK_OK;
	for (size_t i = 0; i < FK_ARRAY_LEN(parts); i++) {
		struct fk_err e = {FK_OK, ""};
		size_t mark = ch->n;
		enum fk_status s = store_begin(wdb, &e);
		if (s && sqlite3_errcode(wdb) == SQLITE_BUSY)
			break; /* another process writes: this pass waits for the next */
		if (!s)
			s = parts[i].fn(wdb, now, ch, &e);
		if (!s)
			s = store_commit(wdb, &e);
		if (s) {
			store_rollback(wdb);
			ch->n = mark; /* nothing of this part happened */
			if (!first) {
				first = s;
				fk_fail(err, s, "%s: %s", parts[i].name, e.msg);
			}
		}
	}
	return first;
}

/* ---- the server's thread ---- */

static pthread_t tick_thread;
static pthread_mutex_t tick_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tick_cv = PTHREAD_COND_INITIALIZER;
static bool tick_running, tick_stop;

static void *tick_main(void *arg)
{
	(void)arg;
	char last[256] = "";
	pthread_mutex_lock(&tick_mu);
	while (!tick_stop) {
		pthread_mutex_unlock(&tick_mu);
		struct control_changes ch = {0};
		struct fk_err err = {FK_OK, ""};
		/* the tick never waits for a lock another process holds (an
		 * import): requests queue behind the writer meanwhile.  It skips
		 * the second instead, and the next one catches up. */
		sqlite3 *w = store_writer_lock();
		sqlite3_busy_timeout(w, 0);
		enum fk_status s = control_tick(w, fk_now(), &ch, &err);
		sqlite3_busy_timeout(w, STORE_WRITER_BUSY_MS);
		store_writer_unlock();
		control_changes_publish(&ch);
		control_changes_release(&ch);
		/* a failing part is reported once, not every second */
		if (s && strcmp(last, err.msg))
			fprintf(stderr, "fangkong serve: control tick: %s\n", err.msg);
		fk_strlcpy(last, s ? err.msg : "", sizeof(last));
		pthread_mutex_lock(&tick_mu);
		if (tick_stop)
			break;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&tick_cv, &tick_mu, &until);
	}
	pthread_mutex_unlock(&tick_mu);
	return NULL;
}

enum fk_status control_server_start(struct fk_err *err)
{
	in_server = true;
	tick_stop = false;
	int rc = pthread_create(&tick_thread, NULL, tick_main, NULL);
	if (rc)
		return fk_fail(err, FK_EIO, "starting the control tick: %s", strerror(rc));
	tick_running = true;
	return FK_OK;
}

void control_server_stop(void)
{
	if (!tick_running)
		return;
	pthread_mutex_lock(&tick_mu);
	tick_stop = true;
	pthread_cond_signal(&tick_cv);
	pthread_mutex_unlock(&tick_mu);
	pthread_join(tick_thread, NULL);
	tick_running = false;
	in_server = false;
}

/* ---- fangkong control tick ---- */

static void usage(FILE *f)
{
	fputs("usage: fangkong control tick [--at TIME] [--db FILE] [--policy FILE|NAME]\n"
	      "\n"
	      "Runs one pass of the control loop at TIME (default now; ISO 8601 with offset):\n"
	      "records test results against orders' test days, releases orders at their\n"
	      "planned end with every required test negative (or extends them), starts the\n"
	      "home-monitoring phase, gives queued orders rooms that came free, turns missed\n"
	      "health checks into tasks and lowers risk areas whose countdown ended.  A\n"
	      "running server does this every second by itself.  The policy is the one the\n"
	      "database runs under unless --policy names another.\n",
	      f);
}

int cmd_control(int argc, char **argv)
{
	const char *dbflag = NULL, *policy = NULL, *at_s = NULL;
	if (argc < 2 || strcmp(argv[1], "tick")) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			usage(stdout);
			return 0;
		}
		usage(stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		bool has = i + 1 < argc;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (has && !strcmp(a, "--db")) {
			dbflag = argv[++i];
		} else if (has && !strcmp(a, "--policy")) {
			policy = argv[++i];
		} else if (has && !strcmp(a, "--at")) {
			at_s = argv[++i];
		} else {
			fprintf(stderr, "fangkong control tick: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	int64_t now = fk_now();
	if (at_s && !fk_parse_time(at_s, &now)) {
		fprintf(stderr,
			"fangkong control tick: --at '%s' is not a time (ISO 8601 with offset, e.g. "
			"2022-01-10T08:30:00+08:00)\n",
			at_s);
		return 2;
	}
	struct fk_err err = {FK_OK, ""};
	sqlite3 *db = NULL;
	if (store_open(store_default_path(dbflag), 0, &db, &err)) {
		fprintf(stderr, "fangkong control tick: %s\n", err.msg);
		return 1;
	}
	struct policy *pol = NULL;
	if (hc_policy_select(db, policy, &pol, NULL, &err)) {
		fprintf(stderr, "fangkong control tick: %s\n", err.msg);
		store_close(db);
		return policy ? 2 : 1;
	}
	policy_set_current(pol); /* kept until exit */
	struct control_changes ch = {0};
	enum fk_status s = control_tick(db, now, &ch, &err);
	char when[40];
	if (s)
		fprintf(stderr, "fangkong control tick: %s\n", err.msg);
	else
		printf("control tick at %s: %zu persons' orders changed%s\n",
		       fk_format_time(now, when, sizeof(when)), ch.n,
		       ch.all ? ", risk areas changed" : "");
	control_changes_release(&ch);
	store_close(db);
	return s ? 1 : 0;
}
