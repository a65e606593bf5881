/* facts.c — what the health code reads from tracing: the person's case
 * and the contacts recorded for each case (facts.h), and the writer of
 * those contact records.
 *
 * Contacts are recorded when a case is added (and again when it is
 * traced anew): a row per (person, case) keeps the earliest exposure, the
 * closest degree and the time it was first found, so a later run never
 * moves the moment a code turned.
 */
#include "tracing/tracing.h"

#include <string.h>

#include "healthcode/healthcode.h"
#include "lib/util.h"
#include "store/store.h"

#include "lib/banned.h"

#define CASE_FACT_SQL                                                                           \
	"SELECT person_id, id, classification, created_at, coalesce(released_at, 0),"          \
	" coalesce(onset_at, first_positive_at) FROM cases "
#define CONTACT_FACT_SQL                                                                        \
	"SELECT c.person_id, c.case_id, c.degree, c.exposure_at, c.found_at,"                  \
	" coalesce(c.via_person, 0), c.household, coalesce(v.name, '')"                       \
	" FROM contacts c"                                                                     \
	" LEFT JOIN venue_keys k ON k.id = c.venue_id LEFT JOIN venues v ON v.code = k.code "

static enum fk_status rows_fail(sqlite3 *db, struct fk_err *err, const char *what)
{
	return fk_fail(err, FK_EDB, "%s: %s", what, sqlite3_errmsg(db));
}

/* Fills fact x from a case row. */
static void case_fact(sqlite3_stmt *st, struct hc_fact *x)
{
	enum case_class cls = CASE_CONFIRMED;
	case_class_parse((const char *)sqlite3_column_text(st, 2), &cls);
	x->ref = sqlite3_column_int64(st, 1);
	x->level = (uint8_t)cls;
	x->start = sqlite3_column_int64(st, 3);
	int64_t released = sqlite3_column_int64(st, 4);
	x->end = released ? released : HC_NEVER;
	x->t0 = sqlite3_column_int64(st, 5);
	fk_strlcpy(x->text, case_class_name(cls), sizeof(x->text));
}

static void contact_fact(sqlite3_stmt *st, struct hc_fact *x)
{
	x->ref = sqlite3_column_int64(st, 1);
	x->level = (uint8_t)sqlite3_column_int(st, 2);
	x->t0 = sqlite3_column_int64(st, 3);
	x->start = sqlite3_column_int64(st, 4);
	x->t1 = sqlite3_column_int64(st, 5);
	x->flags = (uint8_t)(sqlite3_column_int(st, 6) ? 1 : 0);
	x->end = HC_NEVER;
	/* evidence: the venue, or the household */
	const char *venue = (const char *)sqlite3_column_text(st, 7);
	fk_strlcpy(x->text, x->flags ? "同户" : (venue ? venue : ""), sizeof(x->text));
}

enum fk_status tracing_code_facts(sqlite3 *db, struct hc_facts *f, struct fk_err *err)
{
	enum fk_status s = hc_fill_rows(db, CASE_FACT_SQL "WHERE person_id = ?1", f->person_id, FACT_CASE,
			       case_fact, f, NULL, err);
	if (!s)
		s = hc_fill_rows(db, CONTACT_FACT_SQL "WHERE c.person_id = ?1", f->person_id, FACT_CONTACT,
			contact_fact, f, NULL, err);
	return s;
}

enum fk_status tracing_code_facts_all(sqlite3 *db, int64_t since, struct hc_bulk *b,
				      struct fk_err *err)
{
	/* cases still under treatment or released after since; contacts
	 * found in the last 60 days (no policy keeps a contact longer) */
	enum fk_status s = hc_fill_rows(db, CASE_FACT_SQL "WHERE released_at IS NULL OR released_at > ?1",
			       since, FACT_CASE, case_fact, NULL, b, err);
	if (!s)
		s = hc_fill_rows(db, CONTACT_FACT_SQL "WHERE c.exposure_at > ?1 - 60 * 86400", since,
			FACT_CONTACT, contact_fact, NULL, b, err);
	return s;
}

enum fk_status tracing_contacts_record(sqlite3 *wdb, const struct case_rec *c,
				       const struct contact_set *close,
				       const struct contact_set *secondary, int64_t found_at,
				       struct fk_err *err)
{
	static const char sql[] =
		"INSERT INTO contacts(person_id, case_id, degree, exposure_at, via_person,"
		" venue_id, household, found_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
		" ON CONFLICT(person_id, case_id) DO UPDATE SET"
		" degree = min(degree, excluded.degree),"
		" exposure_at = min(exposure_at, excluded.exposure_at)";
	sqlite3_stmt *st = store_prepare(wdb, sql, err);
	if (!st)
		return FK_EDB;
	enum fk_status s = FK_OK;
	const struct contact_set *sets[2] = {close, secondary};
	for (int d = 0; d < 2 && !s; d++) {
		if (!sets[d])
			continue;
		for (size_t i = 0; i < sets[d]->n; i++) {
			const struct contact *x = &sets[d]->v[i];
			sqlite3_bind_int64(st, 1, x->person_id);
			sqlite3_bind_int64(st, 2, c->id);
			sqlite3_bind_int(st, 3, d + 1);
			sqlite3_bind_int64(st, 4, x->exposure);
			if (x->via)
				sqlite3_bind_int64(st, 5, x->via);
			else
				sqlite3_bind_null(st, 5);
			if (x->kind == EVIDENCE_VENUE)
				sqlite3_bind_int64(st, 6, x->venue_id);
			else
				sqlite3_bind_null(st, 6);
			sqlite3_bind_int(st, 7, x->kind == EVIDENCE_HOUSEHOLD);
			sqlite3_bind_int64(st, 8, found_at);
			if (sqlite3_step(st) != SQLITE_DONE) {
				s = rows_fail(wdb, err, "recording contacts");
				break;
			}
			sqlite3_reset(st);
		}
	}
	sqlite3_finalize(st);
	return s;
}

/* Rows per write transaction when recording contacts in the server: the
 * writer is let go between chunks so scans keep committing. */
#define RECORD_CHUNK 20000

enum fk_status tracing_record_case_contacts(struct contact_index *ix, sqlite3 *db,
					    const struct case_rec *c,
					    const struct tracing_params *p, int64_t now,
					    bool server, size_t *recorded, struct fk_err *err)
{
	struct contact_set close = {0}, sec = {0};
	enum fk_status s = tracing_contacts(ix, db, c, p, now, &close, p->secondary ? &sec : NULL,
					    err);
	*recorded = 0;
	if (s)
		goto out;
	const struct contact_set *sets[2] = {&close, &sec};
	for (int d = 0; d < 2 && !s; d++) {
		for (size_t off = 0; off < sets[d]->n && !s; off += RECORD_CHUNK) {
			size_t n = sets[d]->n - off < RECORD_CHUNK ? sets[d]->n - off : RECORD_CHUNK;
			struct contact_set slice = {sets[d]->v + off, n};
			sqlite3 *w = server ? store_writer_lock() : db;
			if (!w)
				s = fk_fail(err, FK_EDB, "database unavailable");
			else if (!(s = store_begin(w, err))) {
				s = tracing_contacts_record(w, c, d ? NULL : &slice, d ? &slice : NULL,
							    now, err);
				if (s)
					store_rollback(w);
				else
					s = store_commit(w, err);
			}
			if (server)
				store_writer_unlock();
			if (!s)
				*recorded += n;
		}
	}
	/* the codes of everyone concerned */
	if (close.n + sec.n > 2000) {
		healthcode_all_changed();
	} else {
		for (size_t i = 0; i < close.n; i++)
			healthcode_person_changed(close.v[i].person_id);
		for (size_t i = 0; i < sec.n; i++)
			healthcode_person_changed(sec.v[i].person_id);
	}
	healthcode_person_changed(c->person_id);
out:
	contact_set_release(&close);
	contact_set_release(&sec);
	return s;
}
