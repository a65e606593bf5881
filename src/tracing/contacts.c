/* contacts.c — close and secondary contacts of a case, with evidence.
 *
 * Design note.  The definitions are in tracing.h.  One accumulator maps a
 * person id to their best candidate so far (a dense slot array grown on
 * demand) and a degree: 0 for the case itself, 1 close, 2 secondary.  The
 * close set is complete before the secondary pass starts, so "not C and
 * not a close contact" is a slot test.  Better = earlier exposure, then the
 * smaller `via`, then venue evidence before household, then the earlier
 * source scan, then the smaller venue id: the choice of evidence is
 * deterministic.  The index's read lock is held for one person's scans at
 * a time (tracing.h), never across a database query.
 */
#include "tracing/tracing_int.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

struct acc {
	uint32_t *slot; /* person -> index + 1 into v */
	uint32_t slot_cap;
	struct contact *v;
	uint8_t *deg;
	size_t n, cap;
	bool oom;
};

static bool acc_slot(struct acc *a, uint32_t p, uint32_t **out)
{
	if (p >= a->slot_cap) {
		uint32_t nc = a->slot_cap ? a->slot_cap : 4096;
		while (nc <= p)
			nc = nc > UINT32_MAX / 2 ? UINT32_MAX : nc * 2;
		uint32_t *ns = realloc(a->slot, (size_t)nc * sizeof(*ns));
		if (!ns) {
			a->oom = true;
			return false;
		}
		memset(ns + a->slot_cap, 0, (size_t)(nc - a->slot_cap) * sizeof(*ns));
		a->slot = ns;
		a->slot_cap = nc;
	}
	*out = &a->slot[p];
	return true;
}

static bool better(const struct contact *x, const struct contact *y)
{
	if (x->exposure != y->exposure)
		return x->exposure < y->exposure;
	if (x->via != y->via)
		return x->via < y->via;
	if (x->kind != y->kind)
		return x->kind == EVIDENCE_VENUE;
	if (x->t_source != y->t_source)
		return x->t_source < y->t_source;
	return x->venue_id < y->venue_id;
}

static void offer(struct acc *a, uint8_t deg, const struct contact *c)
{
	uint32_t *s;
	if (a->oom || !acc_slot(a, c->person_id, &s))
		return;
	if (*s) {
		size_t i = *s - 1;
		if (a->deg[i] < deg)
			return; /* the case, or already a closer contact */
		if (better(c, &a->v[i]))
			a->v[i] = *c;
		return;
	}
	if (a->n == a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 256;
		struct contact *nv = realloc(a->v, nc * sizeof(*nv));
		uint8_t *nd = nv ? realloc(a->deg, nc) : NULL;
		if (!nv || !nd) {
			if (nv)
				a->v = nv;
			a->oom = true;
			return;
		}
		a->v = nv;
		a->deg = nd;
		a->cap = nc;
	}
	a->v[a->n] = *c;
	a->deg[a->n] = deg;
	a->n++;
	*s = (uint32_t)a->n;
}

struct venue_ctx {
	struct acc *a;
	uint8_t deg;
	uint32_t venue, via, self;
	int64_t source_t;
};

static void on_venue_scan(void *ctx, uint32_t person, int64_t t)
{
	struct venue_ctx *vc = ctx;
	if (person == vc->self)
		return;
	struct contact c = {.person_id = person,
			    .via = vc->via,
			    .exposure = t,
			    .kind = EVIDENCE_VENUE,
			    .venue_id = vc->venue,
			    .t_contact = t,
			    .t_source = vc->source_t};
	offer(vc->a, vc->deg, &c);
}

/* Offers everyone who scanned within W of one of src's scans in [from, to]. */
static enum fk_status colocated(struct contact_index *ix, struct acc *a, uint32_t src,
				int64_t from, int64_t to, int64_t w, uint8_t deg, uint32_t via)
{
	struct ix_scan *s = NULL;
	size_t n = 0;
	pthread_rwlock_rdlock(&ix->lock);
	enum fk_status st = ix_person_scans_locked(ix, src, from, to, &s, &n);
	for (size_t i = 0; !st && i < n; i++) {
		struct venue_ctx vc = {.a = a,
				       .deg = deg,
				       .venue = s[i].venue_id,
				       .via = via,
				       .self = src,
				       .source_t = s[i].t};
		ix_venue_range(ix, s[i].venue_id, s[i].t - w, s[i].t + w, on_venue_scan, &vc);
	}
	pthread_rwlock_unlock(&ix->lock);
	free(s);
	return st;
}

struct lookups {
	sqlite3_stmt *household, *isolated;
};

static enum fk_status household(struct lookups *lk, struct acc *a, uint32_t p, int64_t exposure,
				uint8_t deg, uint32_t via, struct fk_err *err)
{
	sqlite3_bind_int64(lk->household, 1, p);
	int rc;
	while ((rc = sqlite3_step(lk->household)) == SQLITE_ROW) {
		int64_t m = sqlite3_column_int64(lk->household, 0);
		if (m <= 0 || m >= (int64_t)UINT32_MAX)
			continue;
		struct contact c = {.person_id = (uint32_t)m,
				    .via = via,
				    .exposure = exposure,
				    .kind = EVIDENCE_HOUSEHOLD};
		offer(a, deg, &c);
	}
	sqlite3_reset(lk->household);
	if (rc != SQLITE_DONE)
		return fk_fail(err, FK_EDB, "cannot read household members: %s",
			       sqlite3_errmsg(sqlite3_db_handle(lk->household)));
	return FK_OK;
}

/* End of a close contact's counted check-ins: their isolation, or now. */
static int64_t isolation_end(struct lookups *lk, uint32_t p, int64_t now)
{
	int64_t end = now;
	sqlite3_bind_int64(lk->isolated, 1, p);
	if (sqlite3_step(lk->isolated) == SQLITE_ROW) {
		int64_t t = sqlite3_column_int64(lk->isolated, 0);
		if (t > 0 && t < end)
			end = t;
	}
	sqlite3_reset(lk->isolated);
	return end;
}

static int contact_cmp(const void *x, const void *y)
{
	const struct contact *a = x, *b = y;
	if (a->exposure != b->exposure)
		return a->exposure < b->exposure ? -1 : 1;
	return a->person_id < b->person_id ? -1 : a->person_id > b->person_id;
}

static enum fk_status extract(const struct acc *a, uint8_t deg, struct contact_set *out,
			      struct fk_err *err)
{
	size_t k = 0;
	for (size_t i = 0; i < a->n; i++)
		k += a->deg[i] == deg;
	out->v = malloc((k ? k : 1) * sizeof(*out->v));
	out->n = 0;
	if (!out->v)
		return fk_fail(err, FK_ENOMEM, "out of memory listing contacts");
	for (size_t i = 0; i < a->n; i++)
		if (a->deg[i] == deg)
			out->v[out->n++] = a->v[i];
	qsort(out->v, out->n, sizeof(*out->v), contact_cmp);
	return FK_OK;
}

void contact_set_release(struct contact_set *s)
{
	if (!s)
		return;
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

void case_window(const struct case_rec *c, const struct tracing_params *p, int64_t now,
		 int64_t *from, int64_t *to)
{
	int64_t start = c->onset_at ? c->onset_at : c->first_positive_at;
	*from = start - p->infectious_s;
	*to = c->isolated_at && c->isolated_at < now ? c->isolated_at : now;
}

enum fk_status tracing_contacts(struct contact_index *ix, sqlite3 *db, const struct case_rec *c,
				const struct tracing_params *p, int64_t now,
				struct contact_set *close, struct contact_set *secondary,
				struct fk_err *err)
{
	struct acc a = {0};
	struct lookups lk = {0};
	enum fk_status st = FK_OK;
	close->v = NULL;
	close->n = 0;
	if (secondary) {
		secondary->v = NULL;
		secondary->n = 0;
	}
	if (c->person_id <= 0 || c->person_id >= (int64_t)UINT32_MAX)
		return fk_fail(err, FK_EINVAL, "case %lld has no valid person", (long long)c->id);
	uint32_t self = (uint32_t)c->person_id;
	lk.household = store_prepare(db,
				     "SELECT m.id FROM persons p JOIN persons m"
				     " ON m.household_id = p.household_id"
				     " WHERE p.id = ?1 AND m.id <> ?1",
				     err);
	lk.isolated = lk.household ? store_prepare(db,
						   "SELECT isolated_at FROM cases"
						   " WHERE person_id = ?1 AND isolated_at IS NOT NULL",
						   err)
				   : NULL;
	if (!lk.household || !lk.isolated) {
		st = FK_EDB;
		goto out;
	}
	struct contact me = {.person_id = self};
	offer(&a, 0, &me);

	int64_t ws, we;
	case_window(c, p, now, &ws, &we);
	if (we >= ws) {
		st = colocated(ix, &a, self, ws, we, p->window_s, 1, 0);
		if (!st)
			st = household(&lk, &a, self, ws, 1, 0, err);
	}
	if (!st && secondary && p->secondary) {
		size_t nclose = a.n;
		for (size_t i = 0; i < nclose && !st && !a.oom; i++) {
			if (a.deg[i] != 1)
				continue;
			uint32_t pp = a.v[i].person_id;
			int64_t from = a.v[i].exposure, to = isolation_end(&lk, pp, now);
			if (to >= from)
				st = colocated(ix, &a, pp, from, to, p->window_s, 2, pp);
			if (!st)
				st = household(&lk, &a, pp, from, 2, pp, err);
		}
	}
	if (st == FK_ENOMEM || a.oom) {
		st = fk_fail(err, FK_ENOMEM, "out of memory tracing contacts");
		goto out;
	}
	if (st)
		goto out;
	st = extract(&a, 1, close, err);
	if (!st && secondary)
		st = extract(&a, 2, secondary, err);
	if (st) {
		contact_set_release(close);
		contact_set_release(secondary);
	}
out:
	sqlite3_finalize(lk.household);
	sqlite3_finalize(lk.isolated);
	free(a.slot);
	free(a.v);
	free(a.deg);
	return st;
}
