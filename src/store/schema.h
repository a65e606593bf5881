/* schema.h — numbered migrations; internal to store/. Append, never edit. */
#ifndef FK_STORE_SCHEMA_H
#define FK_STORE_SCHEMA_H

static const char *const store_migrations[] = {
	/* 1: registry, access, audit */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
	/* Region codes are stored at their natural length: province 2, city 4,
	 * county 6, town 9, community/village 12, grid 15 digits.  So a
	 * subtree is a code prefix: scope checks are range scans. */
	"CREATE TABLE regions("
	" code TEXT PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" level INTEGER NOT NULL CHECK(level BETWEEN 1 AND 6),"
	" parent_code TEXT REFERENCES regions(code),"
	" updated_at INTEGER NOT NULL DEFAULT 0"
	") WITHOUT ROWID;"
	"CREATE INDEX regions_parent ON regions(parent_code, code);"
	/* Roll-ups, rebuilt by registry_stats_refresh() after gen and import. */
	"CREATE TABLE region_stats("
	" code TEXT PRIMARY KEY REFERENCES regions(code) ON DELETE CASCADE,"
	" population INTEGER NOT NULL, households INTEGER NOT NULL,"
	" venues INTEGER NOT NULL, grids INTEGER NOT NULL) WITHOUT ROWID;"
	/* Valid ID-card address codes (6 digits), nationwide where known. */
	"CREATE TABLE address_codes(code TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE households("
	" id INTEGER PRIMARY KEY,"
	" grid_code TEXT NOT NULL REFERENCES regions(code),"
	" label TEXT NOT NULL,"
	" UNIQUE(grid_code, label));"
	"CREATE TABLE persons("
	" id INTEGER PRIMARY KEY,"
	" id_number TEXT NOT NULL UNIQUE,"
	" name TEXT NOT NULL,"
	" phone TEXT NOT NULL,"
	" grid_code TEXT NOT NULL REFERENCES regions(code),"
	" household_id INTEGER REFERENCES households(id),"
	" occupation TEXT NOT NULL DEFAULT '',"
	" sex INTEGER NOT NULL CHECK(sex IN (1,2)),"
	" birth_date TEXT NOT NULL,"
	" updated_at INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX persons_grid ON persons(grid_code, id);"
	"CREATE INDEX persons_name ON persons(name, id);"
	"CREATE INDEX persons_household ON persons(household_id);"
	"CREATE TABLE venues("
	" code TEXT PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" region_code TEXT NOT NULL REFERENCES regions(code),"
	" kind TEXT NOT NULL,"
	" updated_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	"CREATE INDEX venues_region ON venues(region_code, code);"
	/* scope: a region code (its subtree) or '' for the whole system. */
	"CREATE TABLE users("
	" id INTEGER PRIMARY KEY,"
	" username TEXT NOT NULL UNIQUE,"
	" pwhash TEXT NOT NULL,"
	" role TEXT NOT NULL,"
	" scope TEXT NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" created_by TEXT NOT NULL,"
	" disabled INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE sessions("
	" token_hash BLOB PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" created_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL,"
	" origin TEXT NOT NULL) WITHOUT ROWID;"
	/* Append-only, hash-chained: hash = H(prev_hash || row fields). */
	"CREATE TABLE audit_log("
	" seq INTEGER PRIMARY KEY,"
	" at INTEGER NOT NULL,"
	" actor TEXT NOT NULL,"
	" action TEXT NOT NULL,"
	" object TEXT NOT NULL,"
	" detail TEXT NOT NULL,"
	" origin TEXT NOT NULL,"
	" prev_hash BLOB NOT NULL,"
	" hash BLOB NOT NULL);"
	"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
	" BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
	"CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
	" BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",
	/* 2: a password set by someone else (an admin, the CLI) must be
	 * changed by its owner before the account can do anything else. */
	"ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;",
};

#endif
