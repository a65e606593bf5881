/* policy_db.c — which policy a database runs under, and the record of
 * every policy it ran under (table policies, meta 'policy_version'). */
#include "healthcode/healthcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

static enum fk_status from_db(sqlite3 *db, const char *version, struct policy *p,
			      char **text_out, struct fk_err *err)
{
	sqlite3_stmt *st = store_prepare(db, "SELECT text FROM policies WHERE version = ?1", err);
	if (!st)
		return FK_EDB;
	sqlite3_bind_text(st, 1, version, -1, SQLITE_STATIC);
	enum fk_status s;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *text = (const char *)sqlite3_column_text(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		char name[160];
		snprintf(name, sizeof(name), "policy %s (recorded in the database)", version);
		s = policy_parse(text, len, name, p, NULL, NULL, err);
		if (!s && text_out && !(*text_out = strdup(text)))
			s = fk_fail(err, FK_ENOMEM, "out of memory");
	} else {
		s = fk_fail(err, FK_ENOTFOUND, "policy %s is not recorded in the database", version);
	}
	sqlite3_finalize(st);
	return s;
}

enum fk_status hc_policy_select(sqlite3 *db, const char *arg, struct policy **out,
				char **text_out, struct fk_err *err)
{
	char path[4096], version[96];
	struct policy *p = calloc(1, sizeof(*p));
	enum fk_status s;
	*out = NULL;
	if (text_out)
		*text_out = NULL;
	if (!p)
		return fk_fail(err, FK_ENOMEM, "out of memory");
	if ((!arg || !*arg) && db && store_meta_get(db, "policy_version", version, sizeof(version))) {
		s = from_db(db, version, p, text_out, err);
	} else if (!policy_resolve(arg, path, sizeof(path))) {
		s = fk_fail(err, FK_EINVAL, "policy '%s': name too long", arg ? arg : "");
	} else {
		s = policy_load(path, p, text_out, NULL, NULL, err);
	}
	if (s) {
		free(p);
		if (text_out) {
			free(*text_out);
			*text_out = NULL;
		}
		return s;
	}
	*out = p;
	return FK_OK;
}

enum fk_status hc_policy_record(sqlite3 *wdb, const struct policy *p, const char *text,
				const char *action, const char *actor, const char *origin,
				struct fk_err *err)
{
	char prev[96] = "";
	store_meta_get(wdb, "policy_version", prev, sizeof(prev));
	enum fk_status s = store_begin(wdb, err);
	if (s)
		return s;
	sqlite3_stmt *st = store_prepare(wdb,
					 "INSERT OR IGNORE INTO policies(version, name, sha256, text,"
					 " first_used_at) VALUES(?1, ?2, ?3, ?4, ?5)",
					 err);
	if (!st) {
		s = FK_EDB;
		goto fail;
	}
	sqlite3_bind_text(st, 1, p->version, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, p->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, fk_now());
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		s = fk_fail(err, FK_EDB, "recording the policy: %s", sqlite3_errmsg(wdb));
		goto fail;
	}
	char detail[256];
	snprintf(detail, sizeof(detail), "from %s to %s", prev[0] ? prev : "(none)", p->version);
	if ((s = store_meta_set(wdb, "policy_version", p->version, err)) ||
	    (s = audit_append(wdb, actor, action, p->version, detail, origin, err)))
		goto fail;
	return store_commit(wdb, err);
fail:
	store_rollback(wdb);
	return s;
}
