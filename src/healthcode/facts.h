/* facts.h — what the colour engine reads: records from the tracing,
 * testing, check-in and control domains, as facts.
 *
 * The health code owns no evidence.  Each domain fills facts from its own
 * tables through a function in its own header (tracing_code_facts,
 * checkins_code_facts, testing_code_facts, control_code_facts, and the
 * overrides here), for one person or, for a whole-city recompute, for
 * everybody.  The engine (healthcode.h) turns facts into rules under a
 * policy.  A fact is a record's own times; what a rule makes of them (a
 * close contact's 7 days, a test's validity) is the policy's.
 *
 * Times are Unix seconds.  HC_NEVER stands for "no end yet".
 */
#ifndef FK_HEALTHCODE_FACTS_H
#define FK_HEALTHCODE_FACTS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define HC_NEVER INT64_MAX

enum hc_fact_kind {
	/* a case (table cases).  start: recorded (created_at); end: released
	 * (HC_NEVER while under treatment); level: enum case_class; ref: case
	 * id; t0: onset or first positive sampling */
	FACT_CASE = 0,
	/* a control order (table orders).  start/end: the order's effective
	 * period (end: ended_at, else planned_end); level: enum order_kind;
	 * ref: order id */
	FACT_ORDER,
	/* a close (level 1) or secondary (level 2) contact of a case (table
	 * contacts).  start: when it was found; t0: exposure; ref: case id;
	 * t1: via person id (secondary) */
	FACT_CONTACT,
	/* fever reported (table alerts, kind 'fever').  start: reported;
	 * end: cleared (HC_NEVER); ref: alert id */
	FACT_FEVER,
	/* a test result of the person (table test_results).  t0: sampled;
	 * start: resulted; level: enum test_result; flags & FACT_POOLED: a
	 * pooled tube; ref: result id */
	FACT_TEST,
	/* an arrival (table arrivals).  start: arrived; region: origin code;
	 * ref: arrival id */
	FACT_ARRIVAL,
	/* a manual override (table overrides, approved).  start/end; level:
	 * enum colour; ref: override id */
	FACT_OVERRIDE,
	FACT_KIND_COUNT
};

enum test_result {
	TEST_NEGATIVE = 0,
	TEST_POSITIVE = 1,
	TEST_INVALID = 2,
	/* member of a pooled tube that tested positive: pending a single-tube
	 * retest */
	TEST_POOL_POSITIVE = 3,
};
const char *test_result_name(enum test_result r); /* "negative" ... */

enum { FACT_POOLED = 1 << 0 };

struct hc_fact {
	int64_t start, end;
	int64_t t0, t1;
	int64_t ref;
	uint8_t kind, level, flags;
	char region[16]; /* FACT_ARRIVAL: origin region code */
	char text[64];   /* a short evidence summary in the record's own words
			  * (venue name, tube code, category...), UTF-8 */
};

/* One person's facts. */
struct hc_facts {
	int64_t person_id;
	char grid[20];        /* the person's grid code */
	char occupation[24];  /* persons.occupation */
	char household[64];   /* the household's label (3号楼2单元501), "" when none */
	struct hc_fact *v;
	size_t n, cap;
};
void hc_facts_init(struct hc_facts *f, int64_t person_id);
void hc_facts_release(struct hc_facts *f);
/* Appends a zeroed fact of kind; NULL when memory runs out. */
struct hc_fact *hc_facts_add(struct hc_facts *f, enum hc_fact_kind kind);

/* A risk area (table risk_areas): global, not per person. */
struct hc_area {
	int64_t id;
	char region[16]; /* region code; every region under it is in the area */
	/* a building of the grid `region` ("3号楼"): then only the persons of
	 * that grid whose household label starts with it are in the area, and
	 * arrivals (which name a region, not a building) ignore it */
	char building[32];
	uint8_t level;   /* enum risk_level */
	int64_t start, end; /* end HC_NEVER while in force */
};
struct hc_areas {
	struct hc_area *v;
	size_t n, cap;
};
void hc_areas_release(struct hc_areas *a);
/* Whether a person of grid `grid` and household label `household` lives
 * in area x. */
bool hc_area_contains(const struct hc_area *x, const char *grid, const char *household);
/* The highest level of an area containing region (a prefix of it) in
 * force at some time in [from, to] (RISK_LOW when none); *area (may be
 * NULL) receives that area.  Building areas are not counted. */
int hc_areas_level(const struct hc_areas *a, const char *region, int64_t from, int64_t to,
		   const struct hc_area **area);

/* Facts of every person, for a whole-city recompute: rows of (person, fact). */
struct hc_bulk_fact {
	uint32_t person_id;
	struct hc_fact f;
};
struct hc_bulk {
	struct hc_bulk_fact *v;
	size_t n, cap;
};
void hc_bulk_release(struct hc_bulk *b);
struct hc_fact *hc_bulk_add(struct hc_bulk *b, uint32_t person_id, enum hc_fact_kind kind);

/* For providers: prepares sql on db, binds arg to ?1, and for each row
 * adds one fact of kind (to f, or when f is NULL to b for the person in
 * column 0) and lets fn fill it from the row. */
typedef void (*hc_row_fn)(sqlite3_stmt *st, struct hc_fact *x);
enum fk_status hc_fill_rows(sqlite3 *db, const char *sql, int64_t arg, enum hc_fact_kind kind,
			    hc_row_fn fn, struct hc_facts *f, struct hc_bulk *b,
			    struct fk_err *err);

/* ---- the providers (each defined by the domain that owns the table) ----
 * Each reads the person's records (or, _all, everyone's records that can
 * still matter at or after `since`: history older than that is not
 * loaded) on db and appends facts.  FK_ENOMEM or FK_EDB on failure. */
enum fk_status tracing_code_facts(sqlite3 *db, struct hc_facts *f, struct fk_err *err);
enum fk_status tracing_code_facts_all(sqlite3 *db, int64_t since, struct hc_bulk *b,
				      struct fk_err *err);
enum fk_status checkins_code_facts(sqlite3 *db, struct hc_facts *f, struct fk_err *err);
enum fk_status checkins_code_facts_all(sqlite3 *db, int64_t since, struct hc_bulk *b,
				       struct fk_err *err);
enum fk_status testing_code_facts(sqlite3 *db, struct hc_facts *f, struct fk_err *err);
/* _all: only results that can change a colour: pooled positives and the
 * later results of those persons, and every result of persons whose
 * occupation is one of occupations[0..nocc) (the policy's periodic
 * testing). */
enum fk_status testing_code_facts_all(sqlite3 *db, int64_t since,
				      const char *const *occupations, size_t nocc,
				      struct hc_bulk *b, struct fk_err *err);
enum fk_status control_code_facts(sqlite3 *db, struct hc_facts *f, struct fk_err *err);
enum fk_status control_code_facts_all(sqlite3 *db, int64_t since, struct hc_bulk *b,
				      struct fk_err *err);
enum fk_status control_risk_areas(sqlite3 *db, struct hc_areas *out, struct fk_err *err);
enum fk_status override_code_facts(sqlite3 *db, struct hc_facts *f, struct fk_err *err);
enum fk_status override_code_facts_all(sqlite3 *db, int64_t since, struct hc_bulk *b,
				       struct fk_err *err);

#endif
