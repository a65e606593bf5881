/* index.c — the in-memory spatio-temporal index of check-ins.
 *
 * Design note.
 * Two views of the same scans answer the two questions tracing asks: "who
 * was at venue v between t1 and t2" and "where was person p between t1 and
 * t2".  Times are stored as uint32 seconds since IX_EPOCH (2010-01-01; good
 * until 2146); person and venue ids are the database's integer ids.
 *
 *   base (built once by contact_index_load, then read-only):
 *     v_off[nv+1], v_ent[n]  per venue, entries {t, person} sorted by
 *                            (t, person): a CSR array, 8 bytes a scan;
 *     p_off[np+1], p_ent[n]  per person, positions into v_ent sorted by t:
 *                            4 bytes a scan.  A position's venue is found
 *                            by binary search in v_off.
 *   tails (live scans and imports after the load):
 *     vt[v], pt[p]           small sorted vectors, allocated on first use.
 *
 * Invariants: every scan is in exactly one venue list and one person list
 * (base or tail), never both; every list is sorted by t (venue lists by
 * (t, person), person lists by (t, venue)); no list holds a duplicate.
 *
 * Sharing: a pthread rwlock that prefers writers.  Queries hold the read
 * lock for a bounded unit of work (one case's scans, one close contact's
 * scans), so a writer (the scan committer) never waits behind a long
 * query; contact_index_add holds the write lock while it inserts.  The
 * base arrays never change after load, so readers need no other care.
 */
#include "tracing/tracing_int.h"

#include <inttypes.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "policy/policy.h"
#include "store/store.h"

#include "lib/banned.h"

void tracing_params_default(struct tracing_params *p)
{
	const struct policy *pol = policy_current();
	p->window_s = pol ? (int64_t)pol->window_minutes * 60 : 30 * 60;
	p->infectious_s = pol ? (int64_t)pol->infectious_days_before * 86400 : 2 * 86400;
	p->secondary = pol ? pol->secondary_contacts : true;
}

static uint32_t ix_time(int64_t t)
{
	if (t <= IX_EPOCH)
		return 0;
	if (t - IX_EPOCH >= (int64_t)UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)(t - IX_EPOCH);
}

int64_t ix_unix(uint32_t t)
{
	return (int64_t)t + IX_EPOCH;
}

/* ---- load ---- */

struct load_part {
	const char *path;
	int64_t from, to; /* inclusive */
	struct raw_scan *v;
	size_t n, cap;
	uint32_t max_v, max_p;
	uint64_t skipped;
	enum fk_status st;
	struct fk_err err;
	bool progress;
	uint64_t expect;
};

struct raw_scan {
	uint32_t t, v, p;
};

static void *load_part_run(void *arg)
{
	struct load_part *lp = arg;
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	lp->st = store_open(lp->path, STORE_READONLY, &db, &lp->err);
	if (lp->st)
		return NULL;
	q = store_prepare(db,
			  "SELECT t, venue_id, person_id FROM checkins WHERE t BETWEEN ?1 AND ?2"
			  " ORDER BY t, venue_id, person_id", /* ix_build relies on it */
			  &lp->err);
	if (!q) {
		lp->st = FK_EDB;
		goto out;
	}
	sqlite3_bind_int64(q, 1, lp->from);
	sqlite3_bind_int64(q, 2, lp->to);
	struct fk_progress pr;
	if (lp->progress)
		fk_progress_init(&pr, "loading check-ins", lp->expect);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t t = sqlite3_column_int64(q, 0);
		int64_t v = sqlite3_column_int64(q, 1);
		int64_t p = sqlite3_column_int64(q, 2);
		if (t <= IX_EPOCH || t - IX_EPOCH >= (int64_t)UINT32_MAX || v <= 0 ||
		    v >= (int64_t)UINT32_MAX || p <= 0 || p >= (int64_t)UINT32_MAX) {
			lp->skipped++;
			continue;
		}
		if (lp->n == lp->cap) {
			size_t nc = lp->cap ? lp->cap * 2 : 1 << 16;
			struct raw_scan *nv = realloc(lp->v, nc * sizeof(*nv));
			if (!nv) {
				lp->st = fk_fail(&lp->err, FK_ENOMEM, "out of memory loading check-ins");
				goto out;
			}
			lp->v = nv;
			lp->cap = nc;
		}
		struct raw_scan *r = &lp->v[lp->n++];
		r->t = (uint32_t)(t - IX_EPOCH);
		r->v = (uint32_t)v;
		r->p = (uint32_t)p;
		if (r->v > lp->max_v)
			lp->max_v = r->v;
		if (r->p > lp->max_p)
			lp->max_p = r->p;
		if (lp->progress && (lp->n & 0xfffff) == 0)
			fk_progress_update(&pr, lp->n);
	}
	if (rc != SQLITE_DONE)
		lp->st = fk_fail(&lp->err, FK_EDB, "cannot read check-ins: %s", sqlite3_errmsg(db));
	else if (lp->progress)
		fk_progress_done(&pr, lp->n);
out:
	sqlite3_finalize(q);
	store_close(db);
	return NULL;
}

static bool grow_ptrs(void ***arr, uint32_t *cap, uint32_t need)
{
	if (need <= *cap)
		return true;
	uint32_t nc = *cap ? *cap : 1024;
	while (nc < need)
		nc = nc > UINT32_MAX / 2 ? need : nc * 2;
	void **na = realloc(*arr, (size_t)nc * sizeof(void *));
	if (!na)
		return false;
	memset(na + *cap, 0, (size_t)(nc - *cap) * sizeof(void *));
	*arr = na;
	*cap = nc;
	return true;
}

static enum fk_status ix_alloc(struct contact_index **out, struct fk_err *err)
{
	struct contact_index *ix = calloc(1, sizeof(*ix));
	if (!ix)
		return fk_fail(err, FK_ENOMEM, "out of memory");
	pthread_rwlockattr_t a;
	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&ix->lock, &a);
	pthread_rwlockattr_destroy(&a);
	*out = ix;
	return FK_OK;
}

/* Builds the CSR base from rows in (t, venue, person) order. */
static enum fk_status ix_build(struct contact_index *ix, const struct raw_scan *r, size_t n,
			       uint32_t max_v, uint32_t max_p, struct fk_err *err)
{
	if (n > UINT32_MAX - 1)
		return fk_fail(err, FK_ETOOBIG, "too many check-ins for one index (%zu)", n);
	ix->nv = max_v + 1;
	ix->np = max_p + 1;
	ix->n = n;
	ix->v_off = calloc((size_t)ix->nv + 1, sizeof(uint32_t));
	ix->p_off = calloc((size_t)ix->np + 1, sizeof(uint32_t));
	ix->v_ent = malloc((n ? n : 1) * sizeof(struct ix_vent));
	ix->p_ent = malloc((n ? n : 1) * sizeof(uint32_t));
	if (!ix->v_off || !ix->p_off || !ix->v_ent || !ix->p_ent)
		return fk_fail(err, FK_ENOMEM, "out of memory building the contact index");
	for (size_t i = 0; i < n; i++) {
		ix->v_off[r[i].v + 1]++;
		ix->p_off[r[i].p + 1]++;
	}
	for (uint32_t i = 0; i < ix->nv; i++)
		ix->v_off[i + 1] += ix->v_off[i];
	for (uint32_t i = 0; i < ix->np; i++)
		ix->p_off[i + 1] += ix->p_off[i];
	uint32_t *vfill = malloc((size_t)ix->nv * sizeof(uint32_t));
	uint32_t *pfill = malloc((size_t)ix->np * sizeof(uint32_t));
	if (!vfill || !pfill) {
		free(vfill);
		free(pfill);
		return fk_fail(err, FK_ENOMEM, "out of memory building the contact index");
	}
	memcpy(vfill, ix->v_off, (size_t)ix->nv * sizeof(uint32_t));
	memcpy(pfill, ix->p_off, (size_t)ix->np * sizeof(uint32_t));
	/* rows come in (t, venue, person) order, so each list fills sorted */
	for (size_t i = 0; i < n; i++) {
		uint32_t pos = vfill[r[i].v]++;
		ix->v_ent[pos].t = r[i].t;
		ix->v_ent[pos].person = r[i].p;
		ix->p_ent[pfill[r[i].p]++] = pos;
	}
	free(vfill);
	free(pfill);
	if (!grow_ptrs((void ***)&ix->vt, &ix->vt_cap, ix->nv) ||
	    !grow_ptrs((void ***)&ix->pt, &ix->pt_cap, ix->np))
		return fk_fail(err, FK_ENOMEM, "out of memory building the contact index");
	return FK_OK;
}

enum fk_status contact_index_load(sqlite3 *db, int64_t t_from, int64_t t_to, bool progress,
				  struct contact_index **out, struct fk_err *err)
{
	*out = NULL;
	struct contact_index *ix = NULL;
	enum fk_status st = ix_alloc(&ix, err);
	if (st)
		return st;
	ix->loaded_batch = store_query_int(db, "SELECT coalesce(max(id), 0) FROM checkin_batches", 0);
	const char *path = sqlite3_db_filename(db, "main");
	int64_t lo = store_query_int(db, "SELECT coalesce(min(t), 0) FROM checkins", 0);
	int64_t hi = store_query_int(db, "SELECT coalesce(max(t), 0) FROM checkins", 0);
	if (lo < t_from)
		lo = t_from;
	if (hi > t_to)
		hi = t_to;
	struct load_part parts[2];
	memset(parts, 0, sizeof(parts));
	size_t nparts = 0;
	if (lo <= hi && path && *path) {
		/* two readers, each a half of the time range, share the work */
		int64_t mid = lo + (hi - lo) / 2;
		parts[0] = (struct load_part){.path = path, .from = lo, .to = mid, .progress = false};
		parts[1] = (struct load_part){.path = path, .from = mid + 1, .to = hi};
		nparts = hi > lo ? 2 : 1;
		if (nparts == 1)
			parts[0].to = hi;
		if (progress) {
			parts[nparts - 1].progress = true;
			parts[nparts - 1].expect =
				(uint64_t)store_query_int(db, "SELECT count(*) FROM checkin_batches", 0) > 0
					? (uint64_t)store_query_int(
						  db, "SELECT coalesce(sum(rows), 0) FROM checkin_batches",
						  0) / nparts
					: 0;
		}
		pthread_t th;
		bool threaded = nparts == 2 && pthread_create(&th, NULL, load_part_run, &parts[0]) == 0;
		if (!threaded && nparts == 2)
			load_part_run(&parts[0]);
		load_part_run(&parts[nparts - 1]);
		if (threaded)
			pthread_join(th, NULL);
		for (size_t i = 0; i < nparts; i++) {
			if (parts[i].st) {
				st = parts[i].st;
				*err = parts[i].err;
				goto fail;
			}
		}
	}
	size_t n = 0;
	uint32_t max_v = 0, max_p = 0;
	for (size_t i = 0; i < nparts; i++) {
		n += parts[i].n;
		max_v = parts[i].max_v > max_v ? parts[i].max_v : max_v;
		max_p = parts[i].max_p > max_p ? parts[i].max_p : max_p;
		ix->skipped += parts[i].skipped;
	}
	struct raw_scan *all = NULL;
	if (nparts == 2 && parts[0].n && parts[1].n) {
		/* concatenate: part 0 precedes part 1 in time */
		all = realloc(parts[0].v, n * sizeof(*all));
		if (!all) {
			st = fk_fail(err, FK_ENOMEM, "out of memory loading check-ins");
			goto fail;
		}
		parts[0].v = all;
		memcpy(all + parts[0].n, parts[1].v, parts[1].n * sizeof(*all));
	} else if (nparts) {
		all = parts[0].n ? parts[0].v : parts[nparts - 1].v;
	}
	st = ix_build(ix, all, n, max_v, max_p, err);
	if (st)
		goto fail;
	for (size_t i = 0; i < nparts; i++)
		free(parts[i].v);
	*out = ix;
	return FK_OK;
fail:
	for (size_t i = 0; i < nparts; i++)
		free(parts[i].v);
	contact_index_free(ix);
	return st;
}

void contact_index_free(struct contact_index *ix)
{
	if (!ix)
		return;
	for (uint32_t i = 0; i < ix->vt_cap; i++)
		if (ix->vt[i]) {
			free(ix->vt[i]->e);
			free(ix->vt[i]);
		}
	for (uint32_t i = 0; i < ix->pt_cap; i++)
		if (ix->pt[i]) {
			free(ix->pt[i]->e);
			free(ix->pt[i]);
		}
	free(ix->vt);
	free(ix->pt);
	free(ix->v_off);
	free(ix->p_off);
	free(ix->v_ent);
	free(ix->p_ent);
	pthread_rwlock_destroy(&ix->lock);
	free(ix);
}

int64_t contact_index_loaded_batch(const struct contact_index *ix)
{
	return ix->loaded_batch;
}

/* ---- lookups (callers hold the lock) ---- */

/* Venue of a base position: the v with v_off[v] <= pos < v_off[v+1]. */
uint32_t ix_venue_of(const struct contact_index *ix, uint32_t pos)
{
	uint32_t lo = 0, hi = ix->nv; /* v_off[lo] <= pos < v_off[hi] */
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ix->v_off[mid] <= pos)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* First index in e[0..n) with t >= t0. */
static size_t vent_lower(const struct ix_vent *e, size_t n, uint32_t t0)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e[mid].t < t0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void ix_venue_range(const struct contact_index *ix, uint32_t v, int64_t from, int64_t to,
		    void (*fn)(void *ctx, uint32_t person, int64_t t), void *ctx)
{
	if (to < from)
		return;
	uint32_t a = ix_time(from), b = ix_time(to);
	if (v < ix->nv) {
		const struct ix_vent *e = ix->v_ent + ix->v_off[v];
		size_t n = ix->v_off[v + 1] - ix->v_off[v];
		for (size_t i = vent_lower(e, n, a); i < n && e[i].t <= b; i++)
			fn(ctx, e[i].person, ix_unix(e[i].t));
	}
	if (v < ix->vt_cap && ix->vt[v]) {
		const struct ix_vtail *tl = ix->vt[v];
		for (size_t i = vent_lower(tl->e, tl->n, a); i < tl->n && tl->e[i].t <= b; i++)
			fn(ctx, tl->e[i].person, ix_unix(tl->e[i].t));
	}
}

void ix_venue_lists(const struct contact_index *ix, uint32_t v, const struct ix_vent **base,
		    size_t *nbase, const struct ix_vent **tail, size_t *ntail)
{
	*base = *tail = NULL;
	*nbase = *ntail = 0;
	if (v < ix->nv) {
		*base = ix->v_ent + ix->v_off[v];
		*nbase = ix->v_off[v + 1] - ix->v_off[v];
	}
	if (v < ix->vt_cap && ix->vt[v]) {
		*tail = ix->vt[v]->e;
		*ntail = ix->vt[v]->n;
	}
}

/* First index in the person's base positions with t >= t0. */
static size_t pbase_lower(const struct contact_index *ix, const uint32_t *pe, size_t n, uint32_t t0)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix->v_ent[pe[mid]].t < t0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t pent_lower(const struct ix_pent *e, size_t n, uint32_t t0)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (e[mid].t < t0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

enum fk_status ix_person_scans_locked(const struct contact_index *ix, uint32_t p, int64_t from,
				      int64_t to, struct ix_scan **out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (to < from)
		return FK_OK;
	uint32_t a = ix_time(from), b = ix_time(to);
	const uint32_t *pe = NULL;
	size_t bn = 0, bi = 0;
	if (p < ix->np) {
		pe = ix->p_ent + ix->p_off[p];
		bn = ix->p_off[p + 1] - ix->p_off[p];
		bi = pbase_lower(ix, pe, bn, a);
	}
	const struct ix_ptail *tl = p < ix->pt_cap ? ix->pt[p] : NULL;
	size_t tn = tl ? tl->n : 0, ti = tl ? pent_lower(tl->e, tl->n, a) : 0;
	size_t cap = (bn - bi) + (tn - ti);
	if (!cap)
		return FK_OK;
	struct ix_scan *v = malloc(cap * sizeof(*v));
	if (!v)
		return FK_ENOMEM;
	size_t k = 0;
	/* merge base and tail, both sorted by t */
	while (true) {
		bool hb = bi < bn && ix->v_ent[pe[bi]].t <= b;
		bool ht = ti < tn && tl->e[ti].t <= b;
		if (!hb && !ht)
			break;
		if (hb && (!ht || ix->v_ent[pe[bi]].t <= tl->e[ti].t)) {
			v[k].t = ix_unix(ix->v_ent[pe[bi]].t);
			v[k].venue_id = ix_venue_of(ix, pe[bi]);
			v[k].person_id = p;
			bi++;
		} else {
			v[k].t = ix_unix(tl->e[ti].t);
			v[k].venue_id = tl->e[ti].venue;
			v[k].person_id = p;
			ti++;
		}
		k++;
	}
	*out = v;
	*nout = k;
	return FK_OK;
}

enum fk_status contact_index_person_scans(struct contact_index *ix, uint32_t person_id,
					  int64_t from, int64_t to, struct ix_scan **out,
					  size_t *n)
{
	pthread_rwlock_rdlock(&ix->lock);
	enum fk_status st = ix_person_scans_locked(ix, person_id, from, to, out, n);
	pthread_rwlock_unlock(&ix->lock);
	return st;
}

static bool has_locked(const struct contact_index *ix, const struct ix_scan *s)
{
	if (s->t <= IX_EPOCH || s->t - IX_EPOCH >= (int64_t)UINT32_MAX)
		return false;
	uint32_t t = (uint32_t)(s->t - IX_EPOCH), p = s->person_id;
	if (p < ix->np) {
		const uint32_t *pe = ix->p_ent + ix->p_off[p];
		size_t n = ix->p_off[p + 1] - ix->p_off[p];
		for (size_t i = pbase_lower(ix, pe, n, t); i < n && ix->v_ent[pe[i]].t == t; i++)
			if (ix_venue_of(ix, pe[i]) == s->venue_id)
				return true;
	}
	const struct ix_ptail *tl = p < ix->pt_cap ? ix->pt[p] : NULL;
	if (tl)
		for (size_t i = pent_lower(tl->e, tl->n, t); i < tl->n && tl->e[i].t == t; i++)
			if (tl->e[i].venue == s->venue_id)
				return true;
	return false;
}

bool contact_index_has(struct contact_index *ix, const struct ix_scan *s)
{
	pthread_rwlock_rdlock(&ix->lock);
	bool r = has_locked(ix, s);
	pthread_rwlock_unlock(&ix->lock);
	return r;
}

/* ---- adding ---- */

static bool vtail_insert(struct ix_vtail *tl, uint32_t t, uint32_t person)
{
	if (tl->n == tl->cap) {
		uint32_t nc = tl->cap ? tl->cap * 2 : 4;
		struct ix_vent *ne = realloc(tl->e, (size_t)nc * sizeof(*ne));
		if (!ne)
			return false;
		tl->e = ne;
		tl->cap = nc;
	}
	/* live scans arrive in time order: usually an append */
	size_t i = tl->n;
	while (i > 0 && (tl->e[i - 1].t > t || (tl->e[i - 1].t == t && tl->e[i - 1].person > person)))
		i--;
	memmove(tl->e + i + 1, tl->e + i, (tl->n - i) * sizeof(*tl->e));
	tl->e[i].t = t;
	tl->e[i].person = person;
	tl->n++;
	return true;
}

static bool ptail_insert(struct ix_ptail *tl, uint32_t t, uint32_t venue)
{
	if (tl->n == tl->cap) {
		uint32_t nc = tl->cap ? tl->cap * 2 : 4;
		struct ix_pent *ne = realloc(tl->e, (size_t)nc * sizeof(*ne));
		if (!ne)
			return false;
		tl->e = ne;
		tl->cap = nc;
	}
	size_t i = tl->n;
	while (i > 0 && (tl->e[i - 1].t > t || (tl->e[i - 1].t == t && tl->e[i - 1].venue > venue)))
		i--;
	memmove(tl->e + i + 1, tl->e + i, (tl->n - i) * sizeof(*tl->e));
	tl->e[i].t = t;
	tl->e[i].venue = venue;
	tl->n++;
	return true;
}

/* Adds one scan (write lock held or index private). */
static enum fk_status add_one(struct contact_index *ix, const struct ix_scan *c)
{
	if (c->t <= IX_EPOCH || c->t - IX_EPOCH >= (int64_t)UINT32_MAX || !c->venue_id ||
	    !c->person_id || c->venue_id == UINT32_MAX || c->person_id == UINT32_MAX ||
	    has_locked(ix, c))
		return FK_OK;
	if (!grow_ptrs((void ***)&ix->vt, &ix->vt_cap, c->venue_id + 1) ||
	    !grow_ptrs((void ***)&ix->pt, &ix->pt_cap, c->person_id + 1))
		return FK_ENOMEM;
	struct ix_vtail **vt = &ix->vt[c->venue_id];
	struct ix_ptail **pt = &ix->pt[c->person_id];
	if (!*vt)
		*vt = calloc(1, sizeof(**vt));
	if (!*pt)
		*pt = calloc(1, sizeof(**pt));
	uint32_t t = (uint32_t)(c->t - IX_EPOCH);
	if (!*vt || !*pt || !vtail_insert(*vt, t, c->person_id))
		return FK_ENOMEM;
	if (!ptail_insert(*pt, t, c->venue_id)) {
		/* keep the two views equal: undo the venue half */
		struct ix_vtail *vl = *vt;
		for (size_t k = 0; k < vl->n; k++)
			if (vl->e[k].t == t && vl->e[k].person == c->person_id) {
				memmove(vl->e + k, vl->e + k + 1, (vl->n - k - 1) * sizeof(*vl->e));
				vl->n--;
				break;
			}
		return FK_ENOMEM;
	}
	ix->tail_n++;
	return FK_OK;
}

enum fk_status contact_index_add(struct contact_index *ix, const struct ix_scan *s, size_t n)
{
	enum fk_status st = FK_OK;
	pthread_rwlock_wrlock(&ix->lock);
	for (size_t i = 0; i < n && !st; i++)
		st = add_one(ix, &s[i]);
	pthread_rwlock_unlock(&ix->lock);
	return st;
}

uint64_t contact_index_tail_scans(struct contact_index *ix)
{
	pthread_rwlock_rdlock(&ix->lock);
	uint64_t n = ix->tail_n;
	pthread_rwlock_unlock(&ix->lock);
	return n;
}

enum fk_status contact_index_reload(struct contact_index *ix, sqlite3 *db, struct fk_err *err)
{
	struct contact_index *nx = NULL;
	enum fk_status st = contact_index_load(db, INT64_MIN, INT64_MAX, false, &nx, err);
	if (st)
		return st;
	pthread_rwlock_wrlock(&ix->lock);
	/* scans added while the new base loaded live in the old tails: carry
	 * every tail entry over (the ones the new base holds are skipped) */
	for (uint32_t v = 0; v < ix->vt_cap && !st; v++) {
		const struct ix_vtail *tl = ix->vt[v];
		for (uint32_t i = 0; tl && i < tl->n && !st; i++) {
			struct ix_scan sc = {.t = ix_unix(tl->e[i].t), .venue_id = v,
					     .person_id = tl->e[i].person};
			st = add_one(nx, &sc);
		}
	}
	if (st) {
		pthread_rwlock_unlock(&ix->lock);
		contact_index_free(nx);
		return fk_fail(err, FK_ENOMEM, "out of memory rebuilding the contact index");
	}
	/* swap everything after the lock (never copy a lock others wait on);
	 * nx then holds the old parts */
	_Static_assert(offsetof(struct contact_index, lock) == 0, "the lock comes first");
	const size_t off = offsetof(struct contact_index, nv);
	unsigned char tmp[sizeof(struct contact_index)];
	memcpy(tmp, (unsigned char *)ix + off, sizeof(*ix) - off);
	memcpy((unsigned char *)ix + off, (unsigned char *)nx + off, sizeof(*ix) - off);
	memcpy((unsigned char *)nx + off, tmp, sizeof(*ix) - off);
	pthread_rwlock_unlock(&ix->lock);
	contact_index_free(nx);
	return FK_OK;
}

void contact_index_stats(struct contact_index *ix, struct contact_index_stats *out)
{
	pthread_rwlock_rdlock(&ix->lock);
	uint64_t b = sizeof(*ix);
	b += ((uint64_t)ix->nv + 1 + ix->np + 1) * sizeof(uint32_t);
	b += (uint64_t)ix->n * (sizeof(struct ix_vent) + sizeof(uint32_t));
	b += ((uint64_t)ix->vt_cap + ix->pt_cap) * sizeof(void *);
	for (uint32_t i = 0; i < ix->vt_cap; i++)
		if (ix->vt[i])
			b += sizeof(*ix->vt[i]) + (uint64_t)ix->vt[i]->cap * sizeof(struct ix_vent);
	for (uint32_t i = 0; i < ix->pt_cap; i++)
		if (ix->pt[i])
			b += sizeof(*ix->pt[i]) + (uint64_t)ix->pt[i]->cap * sizeof(struct ix_pent);
	out->scans = ix->n + ix->tail_n;
	out->bytes = b;
	out->persons = ix->pt_cap > ix->np ? ix->pt_cap : ix->np;
	out->venues = ix->vt_cap > ix->nv ? ix->vt_cap : ix->nv;
	pthread_rwlock_unlock(&ix->lock);
}
