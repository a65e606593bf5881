#include "lib/util.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/banned.h"

bool fk_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	if (!s || !*s)
		return false;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v < min || v > max)
		return false;
	/* strtoll skips leading white space and accepts '+'; we do not */
	if (s[0] != '-' && (s[0] < '0' || s[0] > '9'))
		return false;
	*out = v;
	return true;
}

bool fk_valid_date(int y, int m, int d)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
		return false;
	int n = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		n = 29;
	return d <= n;
}

/* Howard Hinnant's days_from_civil. */
int64_t fk_days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool fk_parse_time(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 1;
	size_t n = strlen(s);
	if (n < 20)
		return false;
	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') || !digits(s + 11, 2, &h) ||
	    s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
		return false;
	const char *z = s + 19;
	if (*z == 'Z' && z[1] == '\0') {
		/* UTC */
	} else if ((*z == '+' || *z == '-') && strlen(z) == 6 && digits(z + 1, 2, &oh) &&
		   z[3] == ':' && digits(z + 4, 2, &om)) {
		sign = *z == '-' ? -1 : 1;
		if (oh > 14 || om > 59)
			return false;
	} else {
		return false;
	}
	if (!fk_valid_date(y, mo, d) || h > 23 || mi > 59 || se > 59)
		return false;
	int64_t t = fk_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	t -= sign * (oh * 3600 + om * 60);
	/* only instants whose China Standard Time year is 1..9999, so every
	 * parsed time formats (fk_format_time) and parses back unchanged */
	if (t + 8 * 3600 < fk_days_from_civil(1, 1, 1) * 86400 ||
	    t + 8 * 3600 >= fk_days_from_civil(10000, 1, 1) * 86400)
		return false;
	*out = t;
	return true;
}

char *fk_format_time(int64_t t, char *buf, size_t size)
{
	int64_t local = t + 8 * 3600;
	int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
	int64_t sec = local - days * 86400;
	int y, m, d;
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d+08:00", y, m, d, (int)(sec / 3600),
		 (int)(sec / 60 % 60), (int)(sec % 60));
	return buf;
}

/* FANGKONG_NOW=@FILE: the time is the first line of FILE, read at every
 * call, so a drill (or a test) can move a running server's clock. */
static const char *now_from_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return buf;
}

int64_t fk_now(void)
{
	const char *fake = getenv("FANGKONG_NOW");
	char buf[64];
	int64_t t;
	if (fake && fake[0] == '@')
		fake = now_from_file(fake + 1, buf, sizeof(buf));
	if (fake && (fk_parse_time(fake, &t) || fk_parse_i64(fake, 0, INT64_C(253402300799), &t)))
		return t;
	return (int64_t)time(NULL);
}

double fk_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void oom(void)
{
	fputs("fangkong: out of memory\n", stderr);
	abort();
}

void *fk_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *fk_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *fk_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom();
	return q;
}

char *fk_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = fk_xmalloc(n);
	memcpy(p, s, n);
	return p;
}

bool fk_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);
	if (size == 0)
		return n == 0;
	size_t c = n < size - 1 ? n : size - 1;
	memcpy(dst, src, c);
	dst[c] = '\0';
	return c == n;
}

bool fk_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool fk_all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

void fk_progress_init(struct fk_progress *p, const char *label, uint64_t total)
{
	const char *force = getenv("FK_PROGRESS");
	p->label = label;
	p->total = total;
	p->start = p->last = fk_mono();
	p->enabled = isatty(STDERR_FILENO) || (force && strcmp(force, "1") == 0);
}

static void progress_print(struct fk_progress *p, uint64_t done, bool final)
{
	double now = fk_mono(), el = now - p->start;
	double rate = el > 0 ? done / el : 0;
	char tail[64] = "";
	if (p->total && !final && rate > 0 && done <= p->total)
		snprintf(tail, sizeof(tail), " ETA %.0fs", (p->total - done) / rate);
	if (p->total)
		fprintf(stderr, "\r%s: %llu/%llu (%.1f%%) %.0f/s%s%s", p->label,
			(unsigned long long)done, (unsigned long long)p->total,
			100.0 * done / p->total, rate, tail, final ? "\n" : "   ");
	else
		fprintf(stderr, "\r%s: %llu %.0f/s%s", p->label, (unsigned long long)done, rate,
			final ? "\n" : "   ");
}

void fk_progress_update(struct fk_progress *p, uint64_t done)
{
	if (!p->enabled)
		return;
	double now = fk_mono();
	if (now - p->last < 0.25)
		return;
	p->last = now;
	progress_print(p, done, false);
}

void fk_progress_done(struct fk_progress *p, uint64_t done)
{
	if (p->enabled)
		progress_print(p, done, true);
}

void fk_cli_actor(const char *what, char *out, size_t size)
{
	const char *u = getenv("USER");
	if (!u || !*u) {
		struct passwd *pw = getpwuid(getuid());
		u = pw ? pw->pw_name : "unknown";
	}
	snprintf(out, size, "%s:%s", what, u);
}
