/* tracing_int.h — internals shared by the files of src/tracing only. */
#ifndef FK_TRACING_INT_H
#define FK_TRACING_INT_H

#include <pthread.h>

#include "tracing/tracing.h"

#define IX_EPOCH INT64_C(1262304000) /* 2010-01-01T00:00:00Z */

struct ix_vent {
	uint32_t t; /* seconds since IX_EPOCH */
	uint32_t person;
};
struct ix_pent {
	uint32_t t;
	uint32_t venue;
};
struct ix_vtail {
	uint32_t n, cap;
	struct ix_vent *e;
};
struct ix_ptail {
	uint32_t n, cap;
	struct ix_pent *e;
};

struct contact_index {
	pthread_rwlock_t lock;
	/* base, read-only after load (see index.c) */
	uint32_t nv, np; /* ids below these have base lists */
	size_t n;
	uint32_t *v_off, *p_off, *p_ent;
	struct ix_vent *v_ent;
	/* tails, written under the write lock */
	struct ix_vtail **vt;
	struct ix_ptail **pt;
	uint32_t vt_cap, pt_cap;
	uint64_t tail_n;
	uint64_t skipped; /* rows outside the index's time range at load */
	int64_t loaded_batch;
};

int64_t ix_unix(uint32_t t);
uint32_t ix_venue_of(const struct contact_index *ix, uint32_t pos);
/* Calls fn for every scan at venue v with t in [from, to] (lock held). */
void ix_venue_range(const struct contact_index *ix, uint32_t v, int64_t from, int64_t to,
		    void (*fn)(void *ctx, uint32_t person, int64_t t), void *ctx);
/* The two time-sorted lists of venue v (base and tail; lock held). */
void ix_venue_lists(const struct contact_index *ix, uint32_t v, const struct ix_vent **base,
		    size_t *nbase, const struct ix_vent **tail, size_t *ntail);
/* contact_index_person_scans without taking the lock; FK_ENOMEM. */
enum fk_status ix_person_scans_locked(const struct contact_index *ix, uint32_t p, int64_t from,
				      int64_t to, struct ix_scan **out, size_t *nout);

#endif
