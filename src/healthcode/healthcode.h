/* healthcode.h — the colour engine, signed code tokens, overrides and
 * appeals.
 *
 * Colour.  A rule turns facts (facts.h) into an interval [start, end) in
 * which it gives the person a colour, with a reason (zh-CN and English)
 * and its evidence.  The code at time T is the most severe colour of the
 * rules active at T (start <= T < end); an approved override active at T
 * replaces it (and is shown as such).  No colour exists without a rule.
 *
 * Rules (colours from the policy's [colours] section; d(x) = x days in
 * seconds; "order cover" of a contact found at s = the earliest max(o.start,
 * s) over the person's orders o with o.end > s, HC_NEVER when none):
 *   case       FACT_CASE: [start, end)                         colour_case
 *   order      FACT_ORDER central or home isolation: [start, end)
 *                                                        colour_isolation
 *              FACT_ORDER home monitoring: [start, end)
 *                                                  colour_home_monitoring
 *   close      FACT_CONTACT level 1: [s, min(t0 + d(close.days), cover))
 *              with s = its start (when found)               colour_close
 *   secondary  FACT_CONTACT level 2, only when the policy identifies
 *              secondary contacts: as close with secondary.days
 *                                                        colour_secondary
 *   fever      FACT_FEVER: [start, end)                      colour_fever
 *   pool       FACT_TEST pool_positive: [start, the start of the first
 *              negative single-tube (not FACT_POOLED) result sampled after
 *              it (t0 > its t0), else HC_NEVER)       colour_pool_positive
 *   arrival    FACT_ARRIVAL whose origin lay in a high (medium) risk area
 *              at some time in [arrived - d(arrival_lookback_days),
 *              arrived]: [arrived, arrived + d(arrival_high.days))
 *              colour_arrival_high (medium: arrival_medium, colour_
 *              arrival_medium; only when the policy has a medium level;
 *              no rule when the days are 0)
 *   periodic   occupation listed in [periodic] with interval n: active at
 *              T iff no FACT_TEST other than invalid has t0 in
 *              (T - d(n), T]; intervals [t0_i + d(n), t0_i+1), the last
 *              one open, and [INT64_MIN, t0_1) before the first test
 *                                                 colour_periodic_overdue
 *   resident   the person's grid lies in a high (medium) risk area:
 *              [area start, area end)   colour_resident_high (_medium;
 *              medium only when the policy has a medium level)
 *   override   FACT_OVERRIDE: [start, end); replaces the colour; of
 *              several active, the one with the latest start decides
 */
#ifndef FK_HEALTHCODE_H
#define FK_HEALTHCODE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "healthcode/facts.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "policy/policy.h"

enum hc_rule {
	HC_RULE_CASE = 0,
	HC_RULE_ORDER,
	HC_RULE_CLOSE,
	HC_RULE_SECONDARY,
	HC_RULE_FEVER,
	HC_RULE_POOL,
	HC_RULE_ARRIVAL,
	HC_RULE_PERIODIC,
	HC_RULE_RESIDENT,
	HC_RULE_OVERRIDE,
	HC_RULE_COUNT
};
const char *hc_rule_name(enum hc_rule r); /* "case", "order", ... */

#define HC_MAX_HITS 32

/* One rule's interval.  fact: index into the person's facts (SIZE_MAX for
 * resident and periodic-without-a-test); area: the risk area (resident,
 * arrival) or NULL. */
struct hc_hit {
	enum hc_rule rule;
	enum colour colour;
	int64_t start, end; /* start INT64_MIN: since before any record */
	size_t fact;
	const struct hc_area *area;
};

struct hc_result {
	int64_t at;
	enum colour colour;
	bool overridden;     /* an override decided the colour */
	enum colour computed; /* the colour the rules give, override or not */
	int64_t next_change; /* the next time the colour could change (HC_NEVER) */
	struct hc_hit hits[HC_MAX_HITS]; /* the rules active at `at`: an override
					  * first (the latest), then most severe first */
	size_t nhits;
	bool truncated; /* more than HC_MAX_HITS were active */
	char policy_version[64];
};

/* Evaluates f (and the risk areas a) under p at time at.  Pure: reads
 * nothing else. */
void hc_evaluate(const struct policy *p, const struct hc_facts *f, const struct hc_areas *a,
		 int64_t at, struct hc_result *out);

/* The reason of a hit in zh-CN and English, and its evidence summary, e.g.
 * "密切接触者(病例 #12 于 2022-06-01 10:00 在某超市)". */
void hc_hit_reason(const struct policy *p, const struct hc_facts *f, const struct hc_hit *h,
		   char *zh, size_t zh_size, char *en, size_t en_size);
void hc_hit_evidence(const struct hc_facts *f, const struct hc_hit *h, char *out, size_t size);

/* Reads one person's facts from db through every provider (person_id,
 * grid and occupation are filled from persons).  FK_ENOTFOUND for an
 * unknown person. */
enum fk_status hc_load_person(sqlite3 *db, int64_t person_id, struct hc_facts *f,
			      struct fk_err *err);

/* hc_load_person + the risk areas + hc_evaluate at `at` under p, in one
 * call (f and a are filled; the caller releases them). */
enum fk_status hc_person_code(sqlite3 *db, const struct policy *p, int64_t person_id, int64_t at,
			      struct hc_facts *f, struct hc_areas *a, struct hc_result *r,
			      struct fk_err *err);

/* The result as JSON members (no braces): "colour", "colour_zh", "at",
 * "next_change", "overridden", "policy_version", "rules":[{rule, colour,
 * reason_zh, reason_en, evidence, start, end}]. */
void hc_result_json(const struct policy *p, const struct hc_facts *f, const struct hc_result *r,
		    struct strbuf *o);

/* ---- whole-city colours (state.c) ----
 * The colours of every person, computed from bulk facts and swapped in
 * whole, so readers never wait for a recompute. */
struct hc_city;
struct hc_city_stats {
	uint64_t persons, green, yellow, red;
	uint64_t with_facts; /* persons with at least one fact, area or key occupation */
	double load_ms, eval_ms;
};
/* Computes every person's colour at `at` under p from db. */
enum fk_status hc_city_compute(sqlite3 *db, const struct policy *p, int64_t at,
			       struct hc_city **out, struct hc_city_stats *stats,
			       struct fk_err *err);
void hc_city_free(struct hc_city *c);
/* Appends to table code_changes, in one transaction on wdb, a row for
 * every person whose colour or top rule in c differs from prev (NULL: from
 * green with no rule), at c's time with c's policy version.  *n receives
 * the rows written. */
enum fk_status hc_city_record_changes(sqlite3 *wdb, const struct hc_city *prev,
				      const struct hc_city *c, uint64_t *n, struct fk_err *err);
/* A person's colour in c (GREEN for an id c does not know); *rule
 * receives the most severe rule (HC_RULE_COUNT when none). */
enum colour hc_city_colour(const struct hc_city *c, int64_t person_id, enum hc_rule *rule,
			   int64_t *next_change);

/* ---- the server's colours (service.c) ---- */
/* Selects the policy (policy_arg: --policy, or NULL: the one recorded in
 * the database, else protocol-9), records it, starts the token keys, the
 * first whole-city colours and the recompute thread. */
enum fk_status healthcode_server_start(const char *policy_arg, struct fk_err *err);
void healthcode_server_stop(void);
/* The person's colour now, and the short reason (zh-CN) shown at a scan:
 * from the whole-city colours when they are current for this person,
 * otherwise evaluated from the database on the calling thread's reader. */
enum colour healthcode_colour_now(int64_t person_id, int64_t now, char *reason_zh,
				  size_t reason_size);
/* Something changed for one person (an override, an appeal outcome, a
 * fever alert, a case...): drops their cached answers at once. */
void healthcode_person_changed(int64_t person_id);
/* Something changed for many (a policy switch, a risk area, a batch of
 * results): drops every cached answer and schedules a recompute. */
void healthcode_all_changed(void);
/* Generation of everything cached for person_id: changes whenever one of
 * the two calls above concerns them. */
uint64_t healthcode_generation(int64_t person_id);

/* ---- signed code tokens (token.c) ----
 * Payload (HC_TOKEN_PAYLOAD bytes, big-endian): version 1 (1 byte), key id
 * (2), pseudonymous person id (8: keyed BLAKE2b of the person id under the
 * server's pseudonym key), colour (1), issued (4, Unix seconds), expires
 * (4).  Token = payload || Ed25519 signature (64), written as "FK1:C:" +
 * RFC 4648 base32 without padding (QR alphanumeric characters only).
 * Keys live in table code_keys; the newest key that is neither retired nor
 * revoked signs; a revoked key's tokens fail verification. */
#define HC_TOKEN_PAYLOAD 20
#define HC_TOKEN_MAX 160
#define HC_TOKEN_PREFIX "FK1:C:"

struct hc_token {
	unsigned kid;
	uint8_t pseudonym[8];
	enum colour colour;
	int64_t issued, expires;
};
/* Signs a token for person_id with colour, valid [now, now + minutes).
 * Uses the server's signing key (token_server_start) or, outside the
 * server, the newest usable key in db (created when there is none and db
 * is writable). */
enum fk_status hc_token_issue(sqlite3 *db, int64_t person_id, enum colour colour, int64_t now,
			      int minutes, char out[HC_TOKEN_MAX], struct hc_token *tok,
			      struct fk_err *err);
/* Verifies a token against the public keys in db at `now`: FK_EINVAL for
 * a malformed or truncated token; FK_EFORBIDDEN for a bad signature, an
 * unknown or revoked key id, or an expired token, with err saying which
 * (*tok is filled whenever the signature held, so a caller can show an
 * expired token's colour as expired).  FK_OK: valid at now. */
enum fk_status hc_token_verify(sqlite3 *db, const char *token, int64_t now, struct hc_token *tok,
			       struct fk_err *err);
enum fk_status token_server_start(struct fk_err *err);
void token_server_stop(void);
/* The pseudonymous id of a person (8 bytes as 16 hex characters). */
enum fk_status hc_pseudonym(sqlite3 *db, int64_t person_id, char out[17], struct fk_err *err);
/* A QR code of text (error correction level M, 4-module quiet zone) as
 * SVG text, or as PNG bytes with `scale` pixels a module, appended to sb. */
enum fk_status hc_qr_svg(const char *text, struct strbuf *sb, struct fk_err *err);
enum fk_status hc_qr_png(const char *text, int scale, struct strbuf *sb, struct fk_err *err);

/* ---- overrides and appeals (override.c, appeal.c) ---- */
/* Reason categories of an override (a fixed list; free text comes on top). */
extern const char *const hc_override_categories[];
extern const size_t hc_override_categories_len;
bool hc_override_category_valid(const char *s);
/* Appends JSON arrays "overrides":[...] and "appeals":[...] (members,
 * no braces) for person_id, as the person sees them. */
enum fk_status hc_person_overrides_json(sqlite3 *db, int64_t person_id, struct strbuf *o,
					struct fk_err *err);
enum fk_status hc_person_appeals_json(sqlite3 *db, int64_t person_id, struct strbuf *o,
				      struct fk_err *err);

/* ---- the policy a database runs under (policy_db.c) ----
 * arg (a --policy value: a file or a shipped name) when given; else the
 * policy last recorded in db (meta 'policy_version', its text in table
 * policies), so a restart keeps an admin's switch; else the shipped
 * protocol-9.  *out is malloc'd; *text_out (may be NULL) receives the
 * file's bytes. */
enum fk_status hc_policy_select(sqlite3 *db, const char *arg, struct policy **out,
				char **text_out, struct fk_err *err);
/* Records p (its text) as the policy in force in db, audited as `action`
 * ("policy.start", "policy.switch") by actor, in one transaction. */
enum fk_status hc_policy_record(sqlite3 *wdb, const struct policy *p, const char *text,
				const char *action, const char *actor, const char *origin,
				struct fk_err *err);

/* ---- CLI ---- */
int cmd_code(int argc, char **argv);   /* fangkong code --person ID [--at T] [--policy F] [--json] */
int cmd_verify(int argc, char **argv); /* fangkong verify TOKEN */
int cmd_keys(int argc, char **argv);   /* fangkong keys list|rotate|revoke KID */

#endif
