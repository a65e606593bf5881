/* Suite "index": the contact index against a brute-force scan of the same
 * check-ins, and a half-loaded index topped up with contact_index_add
 * (the live path) against a fully loaded one. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "store/store.h"
#include "tracing/tracing.h"

#include "lib/banned.h"

#define NPERS 300
#define NVEN 25
#define NSCAN 6000
#define T0 INT64_C(1700000000)
#define NOW (T0 + 4 * 86400)

static char dir[64], path[128];
static sqlite3 *db;
static struct ix_scan scans[NSCAN];
static uint64_t rng = 42;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void setup(void)
{
	struct fk_err err;
	fk_strlcpy(dir, "/tmp/fk-index-XXXXXX", sizeof(dir));
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	cr_assert_eq(store_open(path, STORE_CREATE, &db, &err), FK_OK, "%s", err.msg);
	sqlite3_stmt *ins = store_prepare(
		db, "INSERT OR IGNORE INTO checkins(t, venue_id, person_id) VALUES (?,?,?)", &err);
	cr_assert_not_null(ins);
	store_exec(db, "BEGIN", &err);
	for (int i = 0; i < NSCAN; i++) {
		/* a few crowded venues, times bunched so that windows overlap */
		uint32_t v = (uint32_t)(next() % 100 < 60 ? 1 + next() % 3 : 1 + next() % NVEN);
		scans[i].venue_id = v;
		scans[i].person_id = (uint32_t)(1 + next() % NPERS);
		scans[i].t = T0 + (int64_t)(next() % (3 * 86400 / 60)) * 60 + (int64_t)(next() % 3);
		sqlite3_bind_int64(ins, 1, scans[i].t);
		sqlite3_bind_int64(ins, 2, v);
		sqlite3_bind_int64(ins, 3, scans[i].person_id);
		cr_assert_eq(sqlite3_step(ins), SQLITE_DONE);
		sqlite3_reset(ins);
	}
	store_exec(db, "COMMIT", &err);
	sqlite3_finalize(ins);
}

static void teardown(void)
{
	char cmd[128];
	store_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* Brute force over the raw list: best exposure per person for sources
 * (src, from, to), skipping persons marked in `skip`. */
static void brute(uint32_t src, int64_t from, int64_t to, int64_t w, const bool *skip,
		  int64_t *best)
{
	for (int i = 0; i < NSCAN; i++) {
		const struct ix_scan *c = &scans[i];
		if (c->person_id != src || c->t < from || c->t > to)
			continue;
		for (int j = 0; j < NSCAN; j++) {
			const struct ix_scan *o = &scans[j];
			if (o->venue_id != c->venue_id || o->person_id == src || skip[o->person_id])
				continue;
			int64_t d = o->t > c->t ? o->t - c->t : c->t - o->t;
			if (d <= w && (!best[o->person_id] || o->t < best[o->person_id]))
				best[o->person_id] = o->t;
		}
	}
}

TestSuite(index, .init = setup, .fini = teardown);

Test(index, contacts_match_brute_force)
{
	struct fk_err err;
	struct contact_index *ix = NULL;
	cr_assert_eq(contact_index_load(db, INT64_MIN, INT64_MAX, false, &ix, &err), FK_OK, "%s",
		     err.msg);
	struct tracing_params p;
	tracing_params_default(&p);
	for (uint32_t who = 1; who <= 40; who++) {
		struct case_rec c = {.id = who, .person_id = who, .onset_at = T0 + 86400 + who * 997};
		if (who % 3 == 0)
			c.isolated_at = c.onset_at + 3600 * (int64_t)who;
		struct contact_set cl, se;
		cr_assert_eq(tracing_contacts(ix, db, &c, &p, NOW, &cl, &se, &err), FK_OK, "%s",
			     err.msg);
		int64_t ws, we;
		case_window(&c, &p, NOW, &ws, &we);
		static int64_t b1[NPERS + 1], b2[NPERS + 1];
		static bool skip[NPERS + 1];
		memset(b1, 0, sizeof(b1));
		memset(b2, 0, sizeof(b2));
		memset(skip, 0, sizeof(skip));
		skip[who] = true;
		brute(who, ws, we, p.window_s, skip, b1);
		size_t n1 = 0;
		for (int q = 1; q <= NPERS; q++)
			if (b1[q]) {
				n1++;
				skip[q] = true;
			}
		cr_assert_eq(cl.n, n1, "case %u: %zu close contacts, brute force %zu", who, cl.n, n1);
		for (size_t i = 0; i < cl.n; i++)
			cr_assert_eq(cl.v[i].exposure, b1[cl.v[i].person_id], "case %u person %u", who,
				     cl.v[i].person_id);
		for (int q = 1; q <= NPERS; q++)
			if (b1[q])
				brute((uint32_t)q, b1[q], NOW, p.window_s, skip, b2);
		size_t n2 = 0;
		for (int q = 1; q <= NPERS; q++)
			n2 += b2[q] != 0;
		cr_assert_eq(se.n, n2, "case %u: %zu secondary, brute force %zu", who, se.n, n2);
		for (size_t i = 0; i < se.n; i++) {
			cr_assert_eq(se.v[i].exposure, b2[se.v[i].person_id]);
			cr_assert(b1[se.v[i].via], "via %u is not a close contact", se.v[i].via);
		}
		contact_set_release(&cl);
		contact_set_release(&se);
	}
	contact_index_free(ix);
}

Test(index, live_adds_equal_a_full_load)
{
	struct fk_err err;
	struct contact_index *full = NULL, *half = NULL;
	cr_assert_eq(contact_index_load(db, INT64_MIN, INT64_MAX, false, &full, &err), FK_OK);
	cr_assert_eq(contact_index_load(db, INT64_MIN, T0 + 86400, false, &half, &err), FK_OK);
	/* the rest arrives out of order and with repeats, as imports do */
	for (int i = NSCAN - 1; i >= 0; i--)
		cr_assert_eq(contact_index_add(half, &scans[i], 1), FK_OK);
	cr_assert_eq(contact_index_add(half, scans, NSCAN), FK_OK);
	struct contact_index_stats a, b;
	contact_index_stats(full, &a);
	contact_index_stats(half, &b);
	cr_assert_eq(a.scans, b.scans, "full %llu, topped up %llu", (unsigned long long)a.scans,
		     (unsigned long long)b.scans);
	for (int i = 0; i < NSCAN; i++)
		cr_assert(contact_index_has(half, &scans[i]));
	struct ix_scan absent = scans[0];
	absent.venue_id = NVEN + 5;
	cr_assert_not(contact_index_has(full, &absent));
	for (uint32_t q = 1; q <= NPERS; q++) {
		struct ix_scan *x = NULL, *y = NULL;
		size_t nx = 0, ny = 0;
		cr_assert_eq(contact_index_person_scans(full, q, INT64_MIN, INT64_MAX, &x, &nx), FK_OK);
		cr_assert_eq(contact_index_person_scans(half, q, INT64_MIN, INT64_MAX, &y, &ny), FK_OK);
		cr_assert_eq(nx, ny, "person %u", q);
		for (size_t i = 0; i < nx; i++) {
			cr_assert_eq(x[i].t, y[i].t);
			cr_assert_eq(x[i].venue_id, y[i].venue_id);
			if (i)
				cr_assert_geq(x[i].t, x[i - 1].t, "person %u scans out of order", q);
		}
		free(x);
		free(y);
	}
	struct tracing_params p;
	tracing_params_default(&p);
	for (uint32_t who = 1; who <= 30; who++) {
		struct case_rec c = {.id = who, .person_id = who, .first_positive_at = T0 + 2 * 86400};
		struct contact_set c1, s1, c2, s2;
		cr_assert_eq(tracing_contacts(full, db, &c, &p, NOW, &c1, &s1, &err), FK_OK);
		cr_assert_eq(tracing_contacts(half, db, &c, &p, NOW, &c2, &s2, &err), FK_OK);
		cr_assert_eq(c1.n, c2.n);
		cr_assert_eq(s1.n, s2.n);
		cr_assert_eq(memcmp(c1.v, c2.v, c1.n * sizeof(*c1.v)), 0, "case %u close", who);
		cr_assert_eq(memcmp(s1.v, s2.v, s1.n * sizeof(*s1.v)), 0, "case %u secondary", who);
		contact_set_release(&c1);
		contact_set_release(&s1);
		contact_set_release(&c2);
		contact_set_release(&s2);
	}
	contact_index_free(full);
	contact_index_free(half);
}

Test(index, window_edges)
{
	struct fk_err err;
	/* venue 99: case 500 at the window's first and last second; others at
	 * exactly W and W + 1 s */
	const int64_t s0 = T0 + 86400 - 2 * 86400 + 86400; /* window start for onset T0+2d */
	struct case_rec c = {.id = 1, .person_id = 500, .onset_at = s0 + 2 * 86400,
			     .isolated_at = s0 + 10000};
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO checkins(t, venue_id, person_id) VALUES"
		 " (%lld, 99, 500), (%lld, 99, 501), (%lld, 99, 502),"
		 " (%lld, 99, 500), (%lld, 99, 503), (%lld, 99, 504),"
		 " (%lld, 98, 500), (%lld, 98, 505)",
		 (long long)s0, (long long)(s0 - 1800), (long long)(s0 - 1801),
		 (long long)(s0 + 10000), (long long)(s0 + 11800), (long long)(s0 + 11801),
		 (long long)(s0 - 1), (long long)(s0 - 1));
	cr_assert_eq(store_exec(db, sql, &err), FK_OK, "%s", err.msg);
	struct contact_index *ix = NULL;
	cr_assert_eq(contact_index_load(db, INT64_MIN, INT64_MAX, false, &ix, &err), FK_OK);
	struct tracing_params p;
	tracing_params_default(&p);
	struct contact_set cl, se;
	cr_assert_eq(tracing_contacts(ix, db, &c, &p, NOW, &cl, &se, &err), FK_OK);
	bool seen[8] = {0};
	for (size_t i = 0; i < cl.n; i++)
		if (cl.v[i].person_id >= 500 && cl.v[i].person_id < 508)
			seen[cl.v[i].person_id - 500] = true;
	cr_assert(seen[1], "exactly W before the first second is inside");
	cr_assert_not(seen[2], "W + 1 s is outside");
	cr_assert(seen[3], "exactly W after the last second is inside");
	cr_assert_not(seen[4], "W + 1 s after is outside");
	cr_assert_not(seen[5], "a case scan one second before the window does not count");
	contact_set_release(&cl);
	contact_set_release(&se);
	contact_index_free(ix);
}

Test(index, one_person_probe_equals_the_full_sets)
{
	struct fk_err err;
	struct contact_index *ix = NULL;
	cr_assert_eq(contact_index_load(db, INT64_MIN, INT64_MAX, false, &ix, &err), FK_OK);
	struct tracing_params p;
	tracing_params_default(&p);
	for (uint32_t who = 1; who <= 12; who++) {
		struct case_rec c = {.id = who, .person_id = who, .onset_at = T0 + 86400 + who * 3001};
		struct contact_set cl, se;
		cr_assert_eq(tracing_contacts(ix, db, &c, &p, NOW, &cl, &se, &err), FK_OK);
		static int deg[NPERS + 1];
		static const struct contact *rec[NPERS + 1];
		memset(deg, 0, sizeof(deg));
		for (size_t i = 0; i < cl.n; i++) {
			deg[cl.v[i].person_id] = 1;
			rec[cl.v[i].person_id] = &cl.v[i];
		}
		for (size_t i = 0; i < se.n; i++) {
			deg[se.v[i].person_id] = 2;
			rec[se.v[i].person_id] = &se.v[i];
		}
		for (uint32_t q = 1; q <= NPERS; q++) {
			struct contact got;
			int d = -1;
			cr_assert_eq(tracing_contact_of(ix, db, &c, &p, NOW, q, &got, &d, &err), FK_OK);
			cr_assert_eq(d, deg[q], "case %u person %u: degree %d, full sets say %d", who, q,
				     d, deg[q]);
			if (d) {
				cr_assert_eq(got.exposure, rec[q]->exposure, "case %u person %u", who, q);
				cr_assert_eq(got.via, rec[q]->via, "case %u person %u via", who, q);
				cr_assert_eq(got.t_source, rec[q]->t_source);
			}
		}
		contact_set_release(&cl);
		contact_set_release(&se);
	}
	contact_index_free(ix);
}

Test(index, reload_takes_in_the_database_and_keeps_live_scans)
{
	struct fk_err err;
	struct contact_index *full = NULL, *ix = NULL;
	cr_assert_eq(contact_index_load(db, INT64_MIN, INT64_MAX, false, &full, &err), FK_OK);
	cr_assert_eq(contact_index_load(db, INT64_MIN, T0 + 86400, false, &ix, &err), FK_OK);
	/* a live scan the database snapshot does not have */
	struct ix_scan live = {.t = T0 + 3 * 86400 + 17, .venue_id = NVEN + 9, .person_id = 7};
	cr_assert_eq(contact_index_add(ix, &live, 1), FK_OK);
	cr_assert_eq(contact_index_reload(ix, db, &err), FK_OK, "%s", err.msg);
	struct contact_index_stats a, b;
	contact_index_stats(full, &a);
	contact_index_stats(ix, &b);
	cr_assert_eq(b.scans, a.scans + 1);
	cr_assert_eq(contact_index_tail_scans(ix), 1);
	cr_assert(contact_index_has(ix, &live));
	for (int i = 0; i < NSCAN; i++)
		cr_assert(contact_index_has(ix, &scans[i]));
	contact_index_free(full);
	contact_index_free(ix);
}
