/* scan_int.h — the scan service's queue, between the HTTP handlers
 * (http_checkins.c) and the committer thread (scan.c); internal to
 * checkins/. */
#ifndef FK_CHECKINS_SCAN_INT_H
#define FK_CHECKINS_SCAN_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "checkins/checkins.h"
#include "lib/err.h"

#define SCAN_ID_MAX 64
#define SCAN_REGION_MAX 16

/* One validated scan on its way to the database.  The handler owns it (on
 * its stack) and fills the "in" part; scan_submit() fills the "out" part
 * before it returns. */
struct scan_job {
	/* in */
	int64_t user_id;
	char scan_id[SCAN_ID_MAX + 1];
	int64_t venue_id, person_id;
	int32_t temp_dc; /* TEMP_DC_NONE when not taken */
	int source;      /* enum checkin_source */
	char venue_code[VENUE_CODE_MAX + 1];
	char grid[SCAN_REGION_MAX + 1]; /* the person's grid: the alert's region */
	/* out */
	int64_t t;        /* the scan's time; for a retry, the first scan's */
	bool retry;       /* the scan id was seen before: nothing was written */
	bool fever_alert; /* a fever alert was raised (by this scan or the first) */
	/* private to scan.c */
	enum fk_status st;
	bool done;
	pthread_cond_t cv;
	struct scan_job *next;
};

/* Queues job, waits until the committer has committed it (or failed) and
 * returns its outcome:
 *   FK_OK        committed (job->retry: an earlier scan with that id was
 *                answered again, job->t is its time);
 *   FK_ECONFLICT the scan id was used before for another venue or person;
 *   FK_ETHROTTLE the queue is full (answer 503 + Retry-After);
 *   FK_EDB       the commit failed: nothing of the batch was written.
 * The time is taken here, at enqueue (fk_now()). */
enum fk_status scan_submit(struct scan_job *job, struct fk_err *err);

/* The venue key read when the service started; NULL when not running. */
const unsigned char *scan_venue_key(void);

#endif
