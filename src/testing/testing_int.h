/* testing_int.h — shared inside testing/ only. */
#ifndef FK_TESTING_INT_H
#define FK_TESTING_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/textenc.h"
#include "testing/testing.h"

#define CAMPAIGN_NAME_MAX 120
#define TUBE_CODE_MAX 32  /* barcode: 1..32 of [A-Za-z0-9_-] */
#define SITE_CODE_MAX 32  /* same alphabet */
#define OCCUPATIONS_MAX 255

/* A campaigns row. */
struct campaign {
	int64_t id;
	char name[CAMPAIGN_NAME_MAX * 4 + 1]; /* UTF-8 */
	char kind[16];        /* whole, core, designated, periodic, targeted */
	char region_code[16]; /* the area: this region's subtree */
	int64_t starts_at, deadline;
	int pool_size; /* 1, 5, 10 or 20 */
	bool open;
	int64_t population_max_id;
	int exempt_under_age;
	char occupations[OCCUPATIONS_MAX + 1]; /* periodic: comma-separated */
	int64_t created_at;
	char created_by[80];
	char policy_version[96];
};

/* Reads campaign id.  FK_ENOTFOUND when there is none, FK_EDB. */
enum fk_status campaign_get(sqlite3 *db, int64_t id, struct campaign *out, struct fk_err *err);

/* Appends to o campaign id's JSON, the object GET /api/v1/campaigns/{id}
 * answers (counts summed over its campaign_grids), and copies its area to
 * region when that is not NULL.  Every answer that shows a campaign writes
 * it here.  Reads db (any connection).  FK_ENOTFOUND, FK_EDB. */
struct strbuf;
enum fk_status campaign_json(struct strbuf *o, sqlite3 *db, int64_t id, char *region,
			     size_t region_size, struct fk_err *err);

/* Where a person stands in campaign c: *in_population when their grid lies
 * in c's area and, for a periodic campaign, their occupation is one of
 * c's, for a targeted one, they are listed in campaign_targets; *expected
 * when also counted at launch (id <= population_max_id) and not exempt
 * (campaign_exempt).  Reads db (any connection).  FK_EDB on failure. */
enum fk_status campaign_person_status(sqlite3 *db, const struct campaign *c, int64_t person_id,
				      const char *grid, const char *occupation,
				      bool *in_population, bool *expected, struct fk_err *err);

/* A tube or site code: 1..max characters of [A-Za-z0-9_-]. */
bool testing_code_valid(const char *s, size_t max);

/* A region code: digits, of the length of one of the six levels. */
bool testing_region_valid(const char *s);

/* Reads the header row of a samples or results file (what: "samples",
 * "results") and checks it is exactly cols.  FK_EINVAL, with the message
 * for an empty file, an unreadable or a wrong header row. */
struct csv_reader;
enum fk_status testing_csv_header(struct csv_reader *r, const char *path,
				  enum text_encoding enc, const char *const *cols, size_t ncols,
				  const char *what, struct fk_err *err);

#endif
