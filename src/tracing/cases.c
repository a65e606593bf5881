/* cases.c — cases and transmission chains.
 *
 * Design note.  A chain is a connected set of cases; cases.chain_id is the
 * smallest case id in it.  Adding case N links it to earlier cases:
 *   E -> N when N is a close or secondary contact of E (E's contacts);
 *   N -> E when E is a contact of N but N is not one of E (N was found
 *   later but was the earlier source).
 * Only earlier cases whose infectious window ended at most LINK_LOOKBACK
 * before N's window began are considered (the longest incubation period).
 * All linked chains merge into the smallest chain id, in the same
 * transaction as the case row and its audit record.
 */
#include "tracing/tracing_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "lib/strbuf.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define LINK_LOOKBACK (14 * 86400)
#define CASE_COLUMNS                                                                               \
	"id, person_id, classification, coalesce(onset_at, 0), coalesce(first_positive_at, 0),"  \
	" coalesce(isolated_at, 0), chain_id, created_at, found_where"

static const char *const class_names[] = {
	[CASE_CONFIRMED] = "confirmed",
	[CASE_ASYMPTOMATIC] = "asymptomatic",
	[CASE_SUSPECTED] = "suspected",
};

const char *case_class_name(enum case_class c)
{
	return (unsigned)c < FK_ARRAY_LEN(class_names) ? class_names[c] : "confirmed";
}

bool case_class_parse(const char *s, enum case_class *out)
{
	for (size_t i = 0; s && i < FK_ARRAY_LEN(class_names); i++) {
		if (!strcmp(s, class_names[i])) {
			*out = (enum case_class)i;
			return true;
		}
	}
	return false;
}

static void case_from_row(sqlite3_stmt *q, struct case_rec *c)
{
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(q, 0);
	c->person_id = sqlite3_column_int64(q, 1);
	const char *cls = (const char *)sqlite3_column_text(q, 2);
	if (!case_class_parse(cls, &c->cls))
		c->cls = CASE_CONFIRMED;
	c->onset_at = sqlite3_column_int64(q, 3);
	c->first_positive_at = sqlite3_column_int64(q, 4);
	c->isolated_at = sqlite3_column_int64(q, 5);
	c->chain_id = sqlite3_column_int64(q, 6);
	c->created_at = sqlite3_column_int64(q, 7);
	const char *fw = (const char *)sqlite3_column_text(q, 8);
	fk_strlcpy(c->found_where, fw ? fw : "", sizeof(c->found_where));
}

static enum fk_status case_query(sqlite3 *db, const char *sql, int64_t key, struct case_rec *out,
				 struct fk_err *err)
{
	sqlite3_stmt *q = store_prepare(db, sql, err);
	if (!q)
		return FK_EDB;
	sqlite3_bind_int64(q, 1, key);
	enum fk_status st = FK_OK;
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		case_from_row(q, out);
	else if (rc == SQLITE_DONE)
		st = fk_fail(err, FK_ENOTFOUND, "no such case");
	else
		st = fk_fail(err, FK_EDB, "cannot read case: %s", sqlite3_errmsg(db));
	sqlite3_finalize(q);
	return st;
}

enum fk_status case_get(sqlite3 *db, int64_t case_id, struct case_rec *out, struct fk_err *err)
{
	return case_query(db, "SELECT " CASE_COLUMNS " FROM cases WHERE id = ?1", case_id, out, err);
}

enum fk_status case_get_by_person(sqlite3 *db, int64_t person_id, struct case_rec *out,
				  struct fk_err *err)
{
	return case_query(db, "SELECT " CASE_COLUMNS " FROM cases WHERE person_id = ?1", person_id,
			  out, err);
}

/* ---- links ---- */

struct link_list {
	struct chain_link *v;
	size_t n, cap;
};

static bool links_push(struct link_list *l, const struct chain_link *x)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 8;
		struct chain_link *nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return false;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = *x;
	return true;
}

enum fk_status case_links_find(sqlite3 *db, struct contact_index *ix,
			       const struct tracing_params *p, const struct case_rec *n,
			       int64_t now, struct chain_link **links, size_t *nlinks,
			       struct fk_err *err)
{
	struct link_list out = {0};
	*links = NULL;
	*nlinks = 0;
	if (!ix)
		return FK_OK;
	int64_t nfrom, nto;
	case_window(n, p, now, &nfrom, &nto);
	enum fk_status st = FK_OK;
	sqlite3_stmt *q = store_prepare(db, "SELECT " CASE_COLUMNS " FROM cases ORDER BY id", err);
	if (!q)
		return FK_EDB;
	int rc;
	while (!st && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct case_rec e;
		case_from_row(q, &e);
		if (e.person_id == n->person_id)
			continue;
		int64_t efrom, eto;
		case_window(&e, p, now, &efrom, &eto);
		/* both directions; when each is the other's contact, the case
		 * whose window started first is taken as the source */
		struct chain_link en = {0}, ne = {0};
		int d_en = 0, d_ne = 0;
		if (eto >= nfrom - LINK_LOOKBACK)
			st = tracing_contact_of(ix, db, &e, p, now, (uint32_t)n->person_id, &en.ev,
						&d_en, err);
		if (!st)
			st = tracing_contact_of(ix, db, n, p, now, (uint32_t)e.person_id, &ne.ev,
						&d_ne, err);
		bool use_en = d_en && (!d_ne || efrom <= nfrom);
		struct chain_link l = use_en ? en : ne;
		int deg = use_en ? d_en : d_ne;
		l.from_case = use_en ? e.id : 0;
		l.to_case = use_en ? 0 : e.id;
		if (!st && deg) {
			l.degree = deg;
			if (!links_push(&out, &l))
				st = fk_fail(err, FK_ENOMEM, "out of memory linking cases");
		}
	}
	if (!st && rc != SQLITE_DONE)
		st = fk_fail(err, FK_EDB, "cannot read cases: %s", sqlite3_errmsg(db));
	sqlite3_finalize(q);
	if (st) {
		free(out.v);
		return st;
	}
	*links = out.v;
	*nlinks = out.n;
	return FK_OK;
}

static enum fk_status store_links(sqlite3 *db, const struct case_rec *n,
				  const struct chain_link *lv, size_t ln, int64_t *chain,
				  struct fk_err *err)
{
	sqlite3_stmt *ins = store_prepare(db,
					  "INSERT OR REPLACE INTO case_links(from_case, to_case,"
					  " degree, household, venue_id, t_contact, t_source,"
					  " via_person, exposure_at) VALUES (?,?,?,?,?,?,?,?,?)",
					  err);
	sqlite3_stmt *ch = ins ? store_prepare(db, "SELECT chain_id FROM cases WHERE id = ?1", err)
			       : NULL;
	sqlite3_stmt *merge =
		ch ? store_prepare(db, "UPDATE cases SET chain_id = ?1 WHERE chain_id = ?2 OR id = ?3", err)
		   : NULL;
	enum fk_status st = FK_OK;
	if (!merge) {
		st = FK_EDB;
		goto out;
	}
	int64_t best = n->id;
	for (size_t i = 0; i < ln; i++) {
		struct chain_link lk = lv[i];
		const struct chain_link *l = &lk;
		if (!lk.from_case)
			lk.from_case = n->id;
		if (!lk.to_case)
			lk.to_case = n->id;
		bool hh = l->ev.kind == EVIDENCE_HOUSEHOLD;
		sqlite3_bind_int64(ins, 1, l->from_case);
		sqlite3_bind_int64(ins, 2, l->to_case);
		sqlite3_bind_int(ins, 3, l->degree);
		sqlite3_bind_int(ins, 4, hh);
		if (hh) {
			sqlite3_bind_null(ins, 5);
			sqlite3_bind_null(ins, 6);
			sqlite3_bind_null(ins, 7);
		} else {
			sqlite3_bind_int64(ins, 5, l->ev.venue_id);
			sqlite3_bind_int64(ins, 6, l->ev.t_contact);
			sqlite3_bind_int64(ins, 7, l->ev.t_source);
		}
		if (l->ev.via)
			sqlite3_bind_int64(ins, 8, l->ev.via);
		else
			sqlite3_bind_null(ins, 8);
		sqlite3_bind_int64(ins, 9, l->ev.exposure);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			st = fk_fail(err, FK_EDB, "cannot link cases: %s", sqlite3_errmsg(db));
			goto out;
		}
		sqlite3_reset(ins);
		int64_t other = l->from_case == n->id ? l->to_case : l->from_case;
		sqlite3_bind_int64(ch, 1, other);
		if (sqlite3_step(ch) == SQLITE_ROW) {
			int64_t c = sqlite3_column_int64(ch, 0);
			if (c > 0 && c < best)
				best = c;
		}
		sqlite3_reset(ch);
	}
	/* every chain touched (and the new case's own) becomes `best` */
	sqlite3_bind_int64(merge, 1, best);
	sqlite3_bind_int64(merge, 2, -1);
	sqlite3_bind_int64(merge, 3, n->id);
	if (sqlite3_step(merge) != SQLITE_DONE)
		st = fk_fail(err, FK_EDB, "cannot merge chains: %s", sqlite3_errmsg(db));
	sqlite3_reset(merge);
	for (size_t i = 0; !st && i < ln; i++) {
		const struct chain_link *l = &lv[i];
		int64_t other = l->from_case ? l->from_case : l->to_case;
		sqlite3_bind_int64(ch, 1, other);
		int64_t c = sqlite3_step(ch) == SQLITE_ROW ? sqlite3_column_int64(ch, 0) : 0;
		sqlite3_reset(ch);
		if (c && c != best) {
			sqlite3_bind_int64(merge, 1, best);
			sqlite3_bind_int64(merge, 2, c);
			sqlite3_bind_int64(merge, 3, -1);
			if (sqlite3_step(merge) != SQLITE_DONE)
				st = fk_fail(err, FK_EDB, "cannot merge chains: %s",
					     sqlite3_errmsg(db));
			sqlite3_reset(merge);
		}
	}
	*chain = best;
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(ch);
	sqlite3_finalize(merge);
	return st;
}

static enum fk_status case_validate(sqlite3 *db, const struct case_rec *c,
				    const struct tracing_params *p, int64_t now, struct fk_err *err)
{
	if (!c->onset_at && !c->first_positive_at)
		return fk_fail(err, FK_EINVAL, "a case needs an onset time or a first positive sampling time");
	const int64_t slack = 300; /* clocks of reporting devices differ */
	if (c->onset_at > now + slack)
		return fk_fail(err, FK_EINVAL, "onset time is in the future");
	if (c->first_positive_at > now + slack)
		return fk_fail(err, FK_EINVAL, "first positive sampling time is in the future");
	if (c->isolated_at > now + slack)
		return fk_fail(err, FK_EINVAL, "isolation time is in the future");
	int64_t from, to;
	case_window(c, p, now, &from, &to);
	if (c->isolated_at && c->isolated_at < from)
		return fk_fail(err, FK_EINVAL,
			       "isolation time is before the infectious window starts");
	int64_t n = -1;
	sqlite3_stmt *q = store_prepare(db, "SELECT count(*) FROM persons WHERE id = ?1", err);
	if (!q)
		return FK_EDB;
	sqlite3_bind_int64(q, 1, c->person_id);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (n < 0)
		return fk_fail(err, FK_EDB, "cannot read persons: %s", sqlite3_errmsg(db));
	if (n == 0)
		return fk_fail(err, FK_ENOTFOUND, "no such person");
	struct case_rec old;
	struct fk_err e2;
	enum fk_status st = case_get_by_person(db, c->person_id, &old, &e2);
	if (st == FK_OK)
		return fk_fail(err, FK_ECONFLICT, "this person already is case %lld", (long long)old.id);
	if (st != FK_ENOTFOUND) {
		*err = e2;
		return st;
	}
	return FK_OK;
}

static void bind_time(sqlite3_stmt *q, int i, int64_t t)
{
	if (t)
		sqlite3_bind_int64(q, i, t);
	else
		sqlite3_bind_null(q, i);
}

enum fk_status case_add(sqlite3 *wdb, const struct tracing_params *p, struct case_rec *c,
			const struct chain_link *links, size_t nlinks, const char *actor,
			const char *origin, int64_t now, struct fk_err *err)
{
	sqlite3_stmt *ins = NULL;
	struct strbuf detail;
	strbuf_init(&detail);
	enum fk_status st = case_validate(wdb, c, p, now, err);
	if (st)
		return st;
	st = store_begin(wdb, err);
	if (st)
		return st;
	ins = store_prepare(wdb,
			    "INSERT INTO cases(person_id, classification, onset_at,"
			    " first_positive_at, isolated_at, found_where, chain_id, created_at,"
			    " created_by) VALUES (?,?,?,?,?,?,0,?,?)",
			    err);
	if (!ins) {
		st = FK_EDB;
		goto fail;
	}
	sqlite3_bind_int64(ins, 1, c->person_id);
	sqlite3_bind_text(ins, 2, case_class_name(c->cls), -1, SQLITE_STATIC);
	bind_time(ins, 3, c->onset_at);
	bind_time(ins, 4, c->first_positive_at);
	bind_time(ins, 5, c->isolated_at);
	sqlite3_bind_text(ins, 6, c->found_where, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 7, now);
	sqlite3_bind_text(ins, 8, actor, -1, SQLITE_STATIC);
	if (sqlite3_step(ins) != SQLITE_DONE) {
		st = fk_fail(err, FK_EDB, "cannot add case: %s", sqlite3_errmsg(wdb));
		goto fail;
	}
	c->id = sqlite3_last_insert_rowid(wdb);
	c->created_at = now;
	c->chain_id = c->id;
	st = store_links(wdb, c, links, nlinks, &c->chain_id, err);
	if (st)
		goto fail;
	char object[32];
	snprintf(object, sizeof(object), "case:%lld", (long long)c->id);
	strbuf_addf(&detail, "{\"person_id\":%lld,\"classification\":\"%s\",\"chain\":%lld,\"links\":%zu}",
		    (long long)c->person_id, case_class_name(c->cls), (long long)c->chain_id,
		    nlinks);
	st = audit_append(wdb, actor, "case.add", object, detail.buf, origin, err);
	if (st)
		goto fail;
	st = store_commit(wdb, err);
	if (st)
		goto fail;
	sqlite3_finalize(ins);
	strbuf_release(&detail);
	return FK_OK;
fail:
	sqlite3_finalize(ins);
	store_rollback(wdb);
	strbuf_release(&detail);
	c->id = 0;
	return st;
}
