/* tracing.h — the contact engine: an in-memory spatio-temporal index of
 * check-ins, cases, close and secondary contacts with their evidence, and
 * transmission chains.
 *
 * Exact meanings (DESIGN.md, "Exact meanings"):
 *   infectious window of case C: [onset - D, isolated_at or now], where the
 *     start is first_positive - D when there is no onset; both ends
 *     included.
 *   close contact of C: any P != C with a check-in at venue v at time t
 *     such that C has a check-in at v at time c inside the window and
 *     |t - c| <= W; and every member of C's household.  Exposure = the
 *     earliest such t; household: the window start.  A household member who
 *     also met C at a venue gets the earlier of the two.
 *   secondary contact: any Q, not C and not a close contact, who is a close
 *     contact of some close contact P by the same rule, counting P's
 *     check-ins in [P's exposure, P's isolation or now]; household members
 *     of P get P's exposure, even when that interval is empty (they shared
 *     P's home during the exposure, as C's household shares C's window).  Exposure = the earliest over all P; `via`
 *     names the P that gives it (the smallest person id on a tie).
 *   W = window_s, D = infectious_s (policy; defaults 30 min and 2 days).
 */
#ifndef FK_TRACING_H
#define FK_TRACING_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct tracing_params {
	int64_t window_s;     /* W, seconds (policy window_minutes * 60) */
	int64_t infectious_s; /* D, seconds (policy infectious_days_before) */
	bool secondary;       /* policy may switch secondary contacts off */
};
/* The policy in force (policy_current()): window_minutes,
 * infectious_days_before, secondary_contacts; without one, 30 minutes, 2
 * days and secondary contacts on. */
void tracing_params_default(struct tracing_params *p);

/* ---- the index (index.c) ---- */
struct contact_index;

/* Builds an index of the check-ins with t in [t_from, t_to] (INT64_MIN /
 * INT64_MAX for all) read from db.  progress: print progress to stderr.
 * Caller frees with contact_index_free(). */
enum fk_status contact_index_load(sqlite3 *db, int64_t t_from, int64_t t_to, bool progress,
				  struct contact_index **out, struct fk_err *err);
void contact_index_free(struct contact_index *ix);

struct ix_scan {
	int64_t t;
	uint32_t venue_id;
	uint32_t person_id;
};
/* Adds scans (any order; ones already present are skipped).  Takes the
 * index's write lock; safe against concurrent queries.  Returns FK_ENOMEM
 * only when memory runs out (the index then misses those scans). */
enum fk_status contact_index_add(struct contact_index *ix, const struct ix_scan *s, size_t n);
/* The highest checkin_batches.id whose rows were in the database when the
 * load began: batches after it may be missing and are replayed by the
 * caller through contact_index_add (which skips rows already present). */
int64_t contact_index_loaded_batch(const struct contact_index *ix);
/* Rebuilds ix's base from db (every check-in) and swaps it in under the
 * write lock, keeping scans added meanwhile: the way to take in a large
 * import, which would be slow to insert into the sorted tails.  Queries
 * wait only for the swap, not the load. */
enum fk_status contact_index_reload(struct contact_index *ix, sqlite3 *db, struct fk_err *err);
/* Scans added since the base was built (they live in the tails). */
uint64_t contact_index_tail_scans(struct contact_index *ix);
/* True if the index holds exactly this scan. */
bool contact_index_has(struct contact_index *ix, const struct ix_scan *s);

struct contact_index_stats {
	uint64_t scans;
	uint64_t bytes; /* heap held by the index */
	uint32_t persons, venues; /* id range covered */
};
void contact_index_stats(struct contact_index *ix, struct contact_index_stats *out);

/* A person's check-ins with t in [from, to], time order; *out is malloc'd
 * (caller frees), *n its length. */
enum fk_status contact_index_person_scans(struct contact_index *ix, uint32_t person_id,
					  int64_t from, int64_t to, struct ix_scan **out,
					  size_t *n);

/* The index a running server keeps current (NULL outside the server).
 * tracing_server_start loads it from the server's store. */
struct contact_index *tracing_index(void);
enum fk_status tracing_server_start(struct fk_err *err);
void tracing_server_stop(void);

/* ---- cases (cases.c) ---- */
enum case_class { CASE_CONFIRMED, CASE_ASYMPTOMATIC, CASE_SUSPECTED };

struct case_rec {
	int64_t id;
	int64_t person_id;
	enum case_class cls;
	int64_t onset_at;          /* 0 when unknown */
	int64_t first_positive_at; /* 0 when unknown */
	int64_t isolated_at;       /* 0 when not yet isolated */
	int64_t chain_id;
	int64_t created_at;
	char found_where[128];
};
const char *case_class_name(enum case_class c);
bool case_class_parse(const char *s, enum case_class *out);

/* Infectious window of c under p at `now`. */
void case_window(const struct case_rec *c, const struct tracing_params *p, int64_t now,
		 int64_t *from, int64_t *to);

enum fk_status case_get(sqlite3 *db, int64_t case_id, struct case_rec *out, struct fk_err *err);
enum fk_status case_get_by_person(sqlite3 *db, int64_t person_id, struct case_rec *out,
				  struct fk_err *err);

/* Adds a case (c->id, chain_id and created_at are filled in) with the links
 * found beforehand by case_links_find (links[i] with from_case or to_case 0
 * mean the new case), merges the linked chains, and audits "case.add", all
 * in one transaction on wdb (the caller holds the writer).  FK_ECONFLICT
 * when the person already is a case, FK_ENOTFOUND for an unknown person,
 * FK_EINVAL for bad times. */
struct chain_link;
enum fk_status case_add(sqlite3 *wdb, const struct tracing_params *p, struct case_rec *c,
			const struct chain_link *links, size_t nlinks, const char *actor,
			const char *origin, int64_t now, struct fk_err *err);

/* ---- contacts (contacts.c) ---- */
enum evidence_kind { EVIDENCE_VENUE = 0, EVIDENCE_HOUSEHOLD = 1 };

struct contact {
	uint32_t person_id;
	uint32_t via;          /* secondary: the close contact it came through; 0 */
	int64_t exposure;      /* exposure time */
	enum evidence_kind kind;
	uint32_t venue_id;     /* EVIDENCE_VENUE: where */
	int64_t t_contact;     /* this person's scan time there */
	int64_t t_source;      /* the case's (or via's) scan time there */
};

struct contact_set {
	struct contact *v; /* sorted by (exposure, person_id) */
	size_t n;
};
void contact_set_release(struct contact_set *s);

/* Computes the close contacts (and, when secondary is not NULL and
 * p->secondary, the secondary contacts) of case c at `now`.  db gives
 * household members and isolation times (a reader is enough).  The sets
 * are filled (caller releases them). */
enum fk_status tracing_contacts(struct contact_index *ix, sqlite3 *db, const struct case_rec *c,
				const struct tracing_params *p, int64_t now,
				struct contact_set *close, struct contact_set *secondary,
				struct fk_err *err);

/* Whether `person` is a close (*degree 1) or secondary (*degree 2) contact
 * of case c, with the same exposure and evidence as tracing_contacts;
 * *degree 0 when neither.  Costs c's close set plus the person's own
 * scans, not c's whole secondary set. */
enum fk_status tracing_contact_of(struct contact_index *ix, sqlite3 *db, const struct case_rec *c,
				  const struct tracing_params *p, int64_t now, uint32_t person,
				  struct contact *out, int *degree, struct fk_err *err);

/* Records the contacts of case c (either set may be NULL) in table
 * contacts, found at found_at, inside the caller's transaction on wdb: a
 * (person, case) row already there keeps its first found_at and takes the
 * earlier exposure and the closer degree.  The health code reads them. */
enum fk_status tracing_contacts_record(sqlite3 *wdb, const struct case_rec *c,
				       const struct contact_set *close,
				       const struct contact_set *secondary, int64_t found_at,
				       struct fk_err *err);

/* Computes case c's contacts (secondary ones when p says so) and records
 * them (tracing_contacts_record), found at now; in the server (server
 * true) in chunks, each under the writer lock, on db a reader; outside it
 * db is the only writer.  Then tells the health code whose code changed.
 * *recorded receives the rows written. */
enum fk_status tracing_record_case_contacts(struct contact_index *ix, sqlite3 *db,
					    const struct case_rec *c,
					    const struct tracing_params *p, int64_t now,
					    bool server, size_t *recorded, struct fk_err *err);

/* ---- chains ---- */
struct chain_link {
	int64_t from_case, to_case; /* 0: the case being added */
	int degree;
	struct contact ev; /* evidence; ev.person_id = to_case's person */
};

/* Links a case about to be added (c->id 0) to the cases already stored:
 * E -> new when the new case's person is E's close or secondary contact,
 * new -> E when E's person is one of the new case's contacts but not the
 * other way round.  Reads only (a reader connection is enough), so the
 * writer is not held while it runs.  *links is malloc'd (caller frees). */
enum fk_status case_links_find(sqlite3 *db, struct contact_index *ix,
			       const struct tracing_params *p, const struct case_rec *c,
			       int64_t now, struct chain_link **links, size_t *nlinks,
			       struct fk_err *err);

/* ---- CLI (cli.c) ---- */
int cmd_case(int argc, char **argv);  /* fangkong case add ... */
int cmd_trace(int argc, char **argv); /* fangkong trace --case ... */

#endif
