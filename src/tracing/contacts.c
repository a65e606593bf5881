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

#include "lib/strbuf.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

/* The accumulator's person -> entry map is an open-addressing hash sized
 * to the contacts found (a close set of thousands stays in cache; nothing
 * proportional to the city is zeroed per query). */
struct acc {
	uint32_t *hkey, *hval; /* person (0 = empty) -> index + 1 into v */
	uint32_t hcap, hn;     /* power of two; keys in use */
	struct contact *v;
	uint8_t *deg;
	size_t n, cap;
	bool oom;
};

static uint32_t acc_hash(uint32_t p, uint32_t mask)
{
	return (p * UINT32_C(2654435761)) & mask;
}

static bool acc_grow(struct acc *a)
{
	uint32_t nc = a->hcap ? a->hcap * 2 : 1024;
	if (nc < a->hcap)
		return false;
	uint32_t *nk = calloc(nc, sizeof(*nk)), *nv = malloc((size_t)nc * sizeof(*nv));
	if (!nk || !nv) {
		free(nk);
		free(nv);
		return false;
	}
	for (uint32_t i = 0; i < a->hcap; i++) {
		if (!a->hkey[i])
			continue;
		uint32_t j = acc_hash(a->hkey[i], nc - 1);
		while (nk[j])
			j = (j + 1) & (nc - 1);
		nk[j] = a->hkey[i];
		nv[j] = a->hval[i];
	}
	free(a->hkey);
	free(a->hval);
	a->hkey = nk;
	a->hval = nv;
	a->hcap = nc;
	return true;
}

/* The entry slot of person p (p > 0), created empty (0) when absent. */
static bool acc_slot(struct acc *a, uint32_t p, uint32_t **out)
{
	if ((a->hn + 1) * 2 > a->hcap && !acc_grow(a)) {
		a->oom = true;
		return false;
	}
	uint32_t mask = a->hcap - 1, j = acc_hash(p, mask);
	while (a->hkey[j] && a->hkey[j] != p)
		j = (j + 1) & mask;
	if (!a->hkey[j]) {
		a->hkey[j] = p;
		a->hval[j] = 0;
		a->hn++;
	}
	*out = &a->hval[j];
	return true;
}

static void acc_release(struct acc *a)
{
	free(a->hkey);
	free(a->hval);
	free(a->v);
	free(a->deg);
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
	if (a->oom || !c->person_id || !acc_slot(a, c->person_id, &s))
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

/* ---- the secondary pass: one sweep per venue ----
 * Every close contact P contributes sources (venue, c, P): its scans in
 * [P's exposure, P's end].  A scan (t, q) at venue v is a secondary
 * candidate when some source at v has |t - c| <= W; its exposure is t
 * whatever the source, and `via` is the smallest P among the sources
 * covering t (with that P's earliest such c as evidence).  Sorting the
 * sources by (venue, c) makes the covering sources of an increasing t a
 * sliding window, so each venue's list is walked once over the union of
 * the windows instead of once per source, and a monotonic deque gives the
 * smallest P of the window.  Same result as offering every (source, scan)
 * pair, which is what the close pass does. */
struct src {
	uint32_t venue, via;
	int64_t c;
};

struct srcs {
	struct src *v;
	size_t n, cap;
};

static int src_cmp(const void *x, const void *y)
{
	const struct src *a = x, *b = y;
	if (a->venue != b->venue)
		return a->venue < b->venue ? -1 : 1;
	if (a->c != b->c)
		return a->c < b->c ? -1 : 1;
	return a->via < b->via ? -1 : a->via > b->via;
}

static enum fk_status srcs_add(struct contact_index *ix, struct srcs *s, uint32_t p, int64_t from,
			       int64_t to)
{
	struct ix_scan *sc = NULL;
	size_t n = 0;
	pthread_rwlock_rdlock(&ix->lock);
	enum fk_status st = ix_person_scans_locked(ix, p, from, to, &sc, &n);
	pthread_rwlock_unlock(&ix->lock);
	if (st)
		return st;
	if (n > SIZE_MAX / sizeof(*s->v) - s->n) {
		free(sc);
		return FK_ENOMEM;
	}
	if (s->n + n > s->cap) {
		size_t nc = s->cap ? s->cap : 1024;
		while (nc < s->n + n)
			nc *= 2;
		struct src *nv = realloc(s->v, nc * sizeof(*nv));
		if (!nv) {
			free(sc);
			return FK_ENOMEM;
		}
		s->v = nv;
		s->cap = nc;
	}
	for (size_t i = 0; i < n; i++)
		s->v[s->n++] = (struct src){.venue = sc[i].venue_id, .via = p, .c = sc[i].t};
	free(sc);
	return FK_OK;
}

static size_t vent_from(const struct ix_vent *e, size_t lo, size_t n, int64_t t)
{
	uint32_t t0 = t <= IX_EPOCH ? 0 : (uint32_t)(t - IX_EPOCH);
	size_t hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e[mid].t < t0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Walks one time-sorted venue list against the sources g[0..ng). */
static void sweep(struct acc *a, const struct ix_vent *e, size_t n, const struct src *g, size_t ng,
		  int64_t w, size_t *dq)
{
	size_t head = 0, tail = 0, hi = 0;
	size_t i = vent_from(e, 0, n, g[0].c - w);
	while (i < n) {
		int64_t t = ix_unix(e[i].t);
		while (hi < ng && g[hi].c <= t + w) {
			while (tail > head && g[dq[tail - 1]].via > g[hi].via)
				tail--;
			dq[tail++] = hi++;
		}
		while (tail > head && g[dq[head]].c < t - w)
			head++;
		if (tail == head) {
			if (hi == ng)
				break;
			i = vent_from(e, i + 1, n, g[hi].c - w); /* skip to the next window */
			continue;
		}
		const struct src *s = &g[dq[head]];
		struct contact c = {.person_id = e[i].person,
				    .via = s->via,
				    .exposure = t,
				    .kind = EVIDENCE_VENUE,
				    .venue_id = s->venue,
				    .t_contact = t,
				    .t_source = s->c};
		offer(a, 2, &c);
		i++;
	}
}

static enum fk_status secondary_sweep(struct contact_index *ix, struct acc *a, struct srcs *s,
				      int64_t w)
{
	if (!s->n)
		return FK_OK;
	qsort(s->v, s->n, sizeof(*s->v), src_cmp);
	size_t *dq = malloc(s->n * sizeof(*dq));
	if (!dq)
		return FK_ENOMEM;
	for (size_t g0 = 0, g1; g0 < s->n && !a->oom; g0 = g1) {
		for (g1 = g0 + 1; g1 < s->n && s->v[g1].venue == s->v[g0].venue; g1++)
			;
		const struct ix_vent *base, *tl;
		size_t nb, nt;
		pthread_rwlock_rdlock(&ix->lock);
		ix_venue_lists(ix, s->v[g0].venue, &base, &nb, &tl, &nt);
		if (nb)
			sweep(a, base, nb, s->v + g0, g1 - g0, w, dq);
		if (nt)
			sweep(a, tl, nt, s->v + g0, g1 - g0, w, dq);
		pthread_rwlock_unlock(&ix->lock);
	}
	free(dq);
	return FK_OK;
}

/* Household members of every person in src[0..n) (one query: the ids go
 * in as a JSON array), offered with that person's exposure. */
static enum fk_status households(sqlite3 *db, struct acc *a, const struct contact *src, size_t n,
				 uint8_t deg, bool as_via, struct fk_err *err)
{
	if (!n)
		return FK_OK;
	struct strbuf ids;
	strbuf_init(&ids);
	strbuf_addch(&ids, '[');
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&ids, "%s%u", i ? "," : "", src[i].person_id);
	strbuf_addch(&ids, ']');
	enum fk_status st = FK_OK;
	sqlite3_stmt *q = store_prepare(db,
					"SELECT j.key, m.id FROM json_each(?1) j"
					" JOIN persons p ON p.id = j.value"
					" JOIN persons m ON m.household_id = p.household_id"
					" WHERE m.id <> p.id",
					err);
	if (!q) {
		strbuf_release(&ids);
		return FK_EDB;
	}
	sqlite3_bind_text(q, 1, ids.buf, (int)ids.len, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t k = sqlite3_column_int64(q, 0), m = sqlite3_column_int64(q, 1);
		if (k < 0 || (size_t)k >= n || m <= 0 || m >= (int64_t)UINT32_MAX)
			continue;
		struct contact c = {.person_id = (uint32_t)m,
				    .via = as_via ? src[k].person_id : 0,
				    .exposure = src[k].exposure,
				    .kind = EVIDENCE_HOUSEHOLD};
		offer(a, deg, &c);
	}
	if (rc != SQLITE_DONE)
		st = fk_fail(err, FK_EDB, "cannot read household members: %s", sqlite3_errmsg(db));
	sqlite3_finalize(q);
	strbuf_release(&ids);
	return st;
}

/* Isolation times of the persons that have one (cases), sorted by person. */
struct isolations {
	struct iso {
		uint32_t person;
		int64_t at;
	} *v;
	size_t n;
};

static int iso_cmp(const void *x, const void *y)
{
	const struct iso *a = x, *b = y;
	return a->person < b->person ? -1 : a->person > b->person;
}

static enum fk_status isolations_load(sqlite3 *db, struct isolations *out, struct fk_err *err)
{
	out->v = NULL;
	out->n = 0;
	size_t cap = 0;
	sqlite3_stmt *q = store_prepare(db,
					"SELECT person_id, isolated_at FROM cases"
					" WHERE isolated_at IS NOT NULL",
					err);
	if (!q)
		return FK_EDB;
	enum fk_status st = FK_OK;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t p = sqlite3_column_int64(q, 0);
		if (p <= 0 || p >= (int64_t)UINT32_MAX)
			continue;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 64;
			struct iso *nv = realloc(out->v, cap * sizeof(*nv));
			if (!nv) {
				st = fk_fail(err, FK_ENOMEM, "out of memory reading isolations");
				break;
			}
			out->v = nv;
		}
		out->v[out->n].person = (uint32_t)p;
		out->v[out->n].at = sqlite3_column_int64(q, 1);
		out->n++;
	}
	if (!st && rc != SQLITE_DONE)
		st = fk_fail(err, FK_EDB, "cannot read isolations: %s", sqlite3_errmsg(db));
	sqlite3_finalize(q);
	if (!st && out->n)
		qsort(out->v, out->n, sizeof(*out->v), iso_cmp);
	return st;
}

/* End of a close contact's counted check-ins: their isolation, or now.
 * (Isolation orders, when they exist, will end it too.) */
static int64_t isolation_end(const struct isolations *is, uint32_t p, int64_t now)
{
	struct iso key = {.person = p};
	const struct iso *hit = is->n ? bsearch(&key, is->v, is->n, sizeof(key), iso_cmp) : NULL;
	return hit && hit->at > 0 && hit->at < now ? hit->at : now;
}

static int contact_cmp(const void *x, const void *y)
{
	const struct contact *a = x, *b = y;
	if (a->exposure != b->exposure)
		return a->exposure < b->exposure ? -1 : 1;
	return a->person_id < b->person_id ? -1 : a->person_id > b->person_id;
}

/* Sorts s[0..n) by (exposure, person id): an LSD radix sort of 64-bit
 * keys (exposure offset << 32 | person) over the bytes that differ, which
 * for a set of a few days' exposures is 4-5 passes; qsort when the
 * exposures span more than 2^32 seconds. */
static bool sort_contacts(struct contact *s, size_t n)
{
	if (n < 2)
		return true;
	int64_t lo = s[0].exposure, hi = s[0].exposure;
	for (size_t i = 1; i < n; i++) {
		lo = s[i].exposure < lo ? s[i].exposure : lo;
		hi = s[i].exposure > hi ? s[i].exposure : hi;
	}
	if (hi - lo >= (int64_t)UINT32_MAX || n > UINT32_MAX) {
		qsort(s, n, sizeof(*s), contact_cmp);
		return true;
	}
	struct kv {
		uint64_t k;
		uint32_t i;
	} *a = malloc(n * sizeof(*a)), *b = malloc(n * sizeof(*b));
	struct contact *tmp = malloc(n * sizeof(*tmp));
	if (!a || !b || !tmp) {
		free(a);
		free(b);
		free(tmp);
		return false;
	}
	uint64_t diff = 0;
	for (size_t i = 0; i < n; i++) {
		a[i].k = (uint64_t)(s[i].exposure - lo) << 32 | s[i].person_id;
		a[i].i = (uint32_t)i;
		diff |= a[i].k ^ a[0].k;
	}
	for (int byte = 0; byte < 8; byte++) {
		int sh = byte * 8;
		if (!((diff >> sh) & 0xff))
			continue; /* every key has the same byte here */
		size_t cnt[257] = {0};
		for (size_t i = 0; i < n; i++)
			cnt[((a[i].k >> sh) & 0xff) + 1]++;
		for (int d = 0; d < 256; d++)
			cnt[d + 1] += cnt[d];
		for (size_t i = 0; i < n; i++)
			b[cnt[(a[i].k >> sh) & 0xff]++] = a[i];
		struct kv *t = a;
		a = b;
		b = t;
	}
	for (size_t i = 0; i < n; i++)
		tmp[i] = s[a[i].i];
	memcpy(s, tmp, n * sizeof(*s));
	free(a);
	free(b);
	free(tmp);
	return true;
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
	if (!sort_contacts(out->v, out->n)) {
		free(out->v);
		out->v = NULL;
		out->n = 0;
		return fk_fail(err, FK_ENOMEM, "out of memory sorting contacts");
	}
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
	struct isolations iso = {0};
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
	if (secondary && p->secondary) { /* only the secondary pass needs them */
		st = isolations_load(db, &iso, err);
		if (st)
			goto out;
	}
	struct contact me = {.person_id = self};
	offer(&a, 0, &me);

	int64_t ws, we;
	case_window(c, p, now, &ws, &we);
	if (we >= ws) {
		st = colocated(ix, &a, self, ws, we, p->window_s, 1, 0);
	}
	if (!st) {
		/* household: exposure = the window start, whatever the window */
		struct contact me_at = {.person_id = self, .exposure = ws};
		st = households(db, &a, &me_at, 1, 1, false, err);
	}
	if (!st && secondary && p->secondary) {
		size_t nclose = a.n;
		struct contact_set cl = {0};
		struct srcs srcs = {0};
		st = a.oom ? FK_ENOMEM : extract(&a, 1, &cl, err);
		for (size_t i = 0; i < nclose && !st; i++) {
			if (a.deg[i] != 1)
				continue;
			uint32_t pp = a.v[i].person_id;
			int64_t from = a.v[i].exposure, to = isolation_end(&iso, pp, now);
			if (to >= from)
				st = srcs_add(ix, &srcs, pp, from, to);
		}
		if (!st)
			st = secondary_sweep(ix, &a, &srcs, p->window_s);
		free(srcs.v);
		if (!st && !a.oom)
			st = households(db, &a, cl.v, cl.n, 2, true, err);
		contact_set_release(&cl);
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
	free(iso.v);
	acc_release(&a);
	return st;
}

/* ---- one person against one case (chains) ----
 * Whether `person` is a close or secondary contact of case c, with the
 * evidence tracing_contacts would give, without computing the whole
 * secondary set: c's close set, then the person's own scans against the
 * close contacts' counted intervals, then the person's household. */

static int by_person(const void *x, const void *y)
{
	const struct contact *a = x, *b = y;
	return a->person_id < b->person_id ? -1 : a->person_id > b->person_id;
}

struct probe_ctx {
	const struct contact *close; /* sorted by person */
	size_t n;
	const struct isolations *iso;
	int64_t now, t; /* the person's scan */
	uint32_t venue;
	struct contact best;
	bool found;
};

static void consider(struct probe_ctx *pc, const struct contact *cand)
{
	if (!pc->found || better(cand, &pc->best)) {
		pc->best = *cand;
		pc->found = true;
	}
}

static void on_probe_scan(void *ctx, uint32_t person, int64_t c)
{
	struct probe_ctx *pc = ctx;
	struct contact key = {.person_id = person};
	const struct contact *p = bsearch(&key, pc->close, pc->n, sizeof(key), by_person);
	if (!p || c < p->exposure || c > isolation_end(pc->iso, person, pc->now))
		return;
	struct contact cand = {.person_id = 0,
			       .via = person,
			       .exposure = pc->t,
			       .kind = EVIDENCE_VENUE,
			       .venue_id = pc->venue,
			       .t_contact = pc->t,
			       .t_source = c};
	consider(pc, &cand);
}

enum fk_status tracing_contact_of(struct contact_index *ix, sqlite3 *db, const struct case_rec *c,
				  const struct tracing_params *p, int64_t now, uint32_t person,
				  struct contact *out, int *degree, struct fk_err *err)
{
	struct contact_set cl = {0};
	struct isolations iso = {0};
	struct ix_scan *sc = NULL;
	size_t nsc = 0;
	*degree = 0;
	if ((int64_t)person == c->person_id)
		return FK_OK;
	enum fk_status st = tracing_contacts(ix, db, c, p, now, &cl, NULL, err);
	if (st)
		return st;
	for (size_t i = 0; i < cl.n; i++) {
		if (cl.v[i].person_id == person) {
			*out = cl.v[i];
			*degree = 1;
			goto out;
		}
	}
	if (!p->secondary || !cl.n)
		goto out;
	st = isolations_load(db, &iso, err);
	if (st)
		goto out;
	int64_t first = cl.v[0].exposure; /* sorted by exposure */
	qsort(cl.v, cl.n, sizeof(*cl.v), by_person);
	struct probe_ctx pc = {.close = cl.v, .n = cl.n, .iso = &iso, .now = now};
	pthread_rwlock_rdlock(&ix->lock);
	st = ix_person_scans_locked(ix, person, first - p->window_s, now + p->window_s, &sc, &nsc);
	for (size_t i = 0; !st && i < nsc; i++) {
		pc.t = sc[i].t;
		pc.venue = sc[i].venue_id;
		ix_venue_range(ix, sc[i].venue_id, sc[i].t - p->window_s, sc[i].t + p->window_s,
			       on_probe_scan, &pc);
	}
	pthread_rwlock_unlock(&ix->lock);
	if (st) {
		st = fk_fail(err, FK_ENOMEM, "out of memory tracing contacts");
		goto out;
	}
	/* the person's household members among the close contacts */
	struct acc a = {0};
	struct contact me = {.person_id = person};
	st = households(db, &a, &me, 1, 1, false, err);
	for (size_t i = 0; !st && i < a.n; i++) {
		struct contact key = {.person_id = a.v[i].person_id};
		const struct contact *hp = bsearch(&key, cl.v, cl.n, sizeof(key), by_person);
		if (hp) {
			struct contact cand = {.via = hp->person_id,
					       .exposure = hp->exposure,
					       .kind = EVIDENCE_HOUSEHOLD};
			consider(&pc, &cand);
		}
	}
	acc_release(&a);
	if (!st && pc.found) {
		*out = pc.best;
		out->person_id = person;
		*degree = 2;
	}
out:
	free(sc);
	free(iso.v);
	contact_set_release(&cl);
	return st;
}
