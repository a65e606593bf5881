/* util.h — small bounded helpers that know no domain: number parsing with
 * range checks, ISO 8601 times, allocation that aborts on failure, and a
 * terminal progress line.
 */
#ifndef FK_UTIL_H
#define FK_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define FK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Parse a whole decimal string into [min, max]; false on junk or overflow. */
bool fk_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Parse ISO 8601 "YYYY-MM-DDTHH:MM:SS(Z|±HH:MM)" (also a space for T) into
 * Unix seconds.  The offset is required: a time without a zone is ambiguous.
 * False on any other form, an impossible date, or an instant whose +08:00
 * year is outside 1..9999 (so that fk_format_time always round-trips). */
bool fk_parse_time(const char *s, int64_t *out);
/* Format t as "YYYY-MM-DDTHH:MM:SS+08:00" (China Standard Time), the form
 * users read; buf must hold 26 bytes. Returns buf. */
char *fk_format_time(int64_t t, char *buf, size_t size);
/* True if y-m-d is a real calendar date (proleptic Gregorian). */
bool fk_valid_date(int y, int m, int d);
/* Days since 1970-01-01 of a civil date (may be negative). */
int64_t fk_days_from_civil(int y, int m, int d);
/* Unix seconds now; $FANGKONG_NOW (ISO 8601 with offset, or Unix seconds)
 * overrides it for tests and what-if runs; "@FILE" reads that value from
 * FILE at every call (a clock a drill or a test moves while a server
 * runs; an unreadable or bad file means the real time). */
int64_t fk_now(void);
/* "what:login-user" naming who ran a command, for the audit log. */
void fk_cli_actor(const char *what, char *out, size_t size);
/* Monotonic seconds as double, for rates and latencies. */
double fk_mono(void);

/* Allocation that aborts with a message on failure (out of memory is not
 * recoverable for a CLI or a request worker here). */
void *fk_xmalloc(size_t n);
void *fk_xcalloc(size_t n, size_t size);
void *fk_xrealloc(void *p, size_t n);
char *fk_xstrdup(const char *s);
/* Bounded copy that always terminates; returns false if truncated. */
bool fk_strlcpy(char *dst, const char *src, size_t size);
bool fk_starts_with(const char *s, const char *prefix);
bool fk_all_digits(const char *s, size_t n);

/* Progress on a terminal: prints "label: done/total (pct) rate/s ETA" to
 * stderr at most a few times a second, only when stderr is a terminal or
 * FK_PROGRESS=1.  total may be 0 when unknown. */
struct fk_progress {
	const char *label;
	uint64_t total;
	double start, last;
	bool enabled;
};
void fk_progress_init(struct fk_progress *p, const char *label, uint64_t total);
void fk_progress_update(struct fk_progress *p, uint64_t done);
/* Prints the final line (always, if enabled) with the overall rate. */
void fk_progress_done(struct fk_progress *p, uint64_t done);

#endif
