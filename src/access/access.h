/* access.h — users, roles scoped to a region subtree, passwords, sessions,
 * masking of identifiers, login throttling, and the hash-chained audit log.
 *
 * Scope: every user has a scope, a region code stored at its natural length
 * (see store/schema.h) or "" for the whole system.  Region codes nest by
 * prefix, so "in scope" is a prefix test (access_scope_contains) and an SQL
 * range  code >= scope AND code < scope || ':'  (':' sorts after '9').
 * Out-of-scope records are reported as not found, never as forbidden, so
 * their existence is not revealed.
 */
#ifndef FK_ACCESS_H
#define FK_ACCESS_H

#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

enum role {
	ROLE_ADMIN = 0,  /* manages users; sees no health data unmasked */
	ROLE_COMMAND,    /* 指挥部: whole picture of its scope */
	ROLE_TRACER,     /* 流调: contacts, needs identities */
	ROLE_ISOLATION,  /* 转运隔离 */
	ROLE_TESTER,     /* 核酸检测组 */
	ROLE_LAB,        /* 实验室: tubes and results only */
	ROLE_GRID,       /* 网格员: persons of own grid */
	ROLE_SENTINEL,   /* 哨点: pharmacy, clinic */
	ROLE_VENUE,      /* 场所 */
	ROLE_CHECKPOINT, /* 卡口 */
	ROLE_CITIZEN,    /* 市民: bound to one person (users.person_id) */
	ROLE_COUNT
};

enum perm {
	PERM_READ_REGIONS = 1 << 0, /* region tree and counts */
	PERM_READ_PERSONS = 1 << 1, /* person search and records (masked) */
	PERM_UNMASK = 1 << 2,       /* full ID number and phone (audited) */
	PERM_MANAGE_USERS = 1 << 3, /* create users */
	PERM_READ_VENUES = 1 << 4,
	PERM_READ_AUDIT = 1 << 5,
	PERM_TRACE = 1 << 6,       /* cases, contacts, chains, trajectories */
	PERM_SCAN = 1 << 7,        /* post venue scans */
	PERM_READ_ALERTS = 1 << 8, /* fever and other alerts of the scope */
	PERM_READ_CODES = 1 << 9,  /* a person's health code with its rules */
	/* health roles: request and approve code overrides, decide appeals */
	PERM_CODE_OVERRIDE = 1 << 10,
	PERM_CHECKPOINT = 1 << 11, /* record arrivals and their decision */
	PERM_POLICY = 1 << 12,     /* switch the policy in force */
	PERM_CLEAR_ALERTS = 1 << 13, /* clear a fever alert after follow-up */
	/* testing: campaigns, sites, coverage, missing lists, tasks of the scope */
	PERM_READ_TESTING = 1 << 14,
	PERM_MANAGE_TESTING = 1 << 15, /* launch and close campaigns, add sites */
	PERM_SAMPLE = 1 << 16,         /* bind tubes, register samples */
	PERM_RESULTS = 1 << 17,        /* post a tube's lab result */
	/* control: orders, isolation sites and rooms, the board, tasks and
	 * timelines of the scope */
	PERM_READ_CONTROL = 1 << 18,
	/* confirm, cancel, extend and release orders early; designate and
	 * confirm risk areas; the five responsible people */
	PERM_MANAGE_CONTROL = 1 << 19,
	PERM_ISOLATION = 1 << 20, /* isolation sites, rooms, staff, assignment, transfer */
	PERM_CHECKS = 1 << 21,    /* record temperature and symptom checks under an order */
};
/* A health role may approve code overrides and decide appeals. */
bool role_is_health(enum role r);

const char *role_name(enum role r);       /* "grid", never NULL */
const char *role_label_zh(enum role r);   /* "网格员" */
bool role_parse(const char *s, enum role *out);
unsigned role_perms(enum role r);

#define USERNAME_MAX 64
#define SCOPE_MAX 16
#define TOKEN_HEX_LEN 64 /* 256-bit token as hex */
#define SESSION_TTL_SECONDS (12 * 3600)

struct user {
	int64_t id;
	char username[USERNAME_MAX + 1];
	enum role role;
	char scope[SCOPE_MAX + 1];
	/* the password was set by someone else: until its owner changes it,
	 * a session may only read /me, change the password or log out */
	bool must_change_password;
	/* ROLE_CITIZEN: the persons.id the account speaks for (its scope is
	 * that person's grid); 0 for every other role */
	int64_t person_id;
};

enum user_create_flags {
	/* the creator knows the password (an admin or the CLI chose or saw
	 * it): the owner must change it at first login */
	USER_MUST_CHANGE_PASSWORD = 1 << 0,
};

/* True if region_code lies in scope's subtree ("" contains everything). */
bool access_scope_contains(const char *scope, const char *region_code);
/* Writes the exclusive upper bound of scope's code range (scope + ":"). */
void access_scope_upper(const char *scope, char *out, size_t size);

/* argon2id (libsodium, interactive limits). out receives the encoded hash. */
enum fk_status password_hash(const char *password, char out[crypto_pwhash_STRBYTES],
			     struct fk_err *err);
bool password_verify(const char *encoded, const char *password);
/* A random printable password of len characters (len < size). */
void password_random(char *out, size_t size, size_t len);
/* Policy for chosen passwords: at least 10 characters. */
bool password_acceptable(const char *password);

/* Creates a user; the scope region must exist (or be "" for the bootstrap
 * admin).  flags: enum user_create_flags.  Audited as actor created_by.
 * FK_ECONFLICT if the name is taken, FK_EINVAL for a bad name, role, scope
 * or weak password. */
enum fk_status user_create(sqlite3 *wdb, const char *username, const char *password,
			   enum role role, const char *scope, unsigned flags,
			   const char *created_by, const char *origin, struct user *out,
			   struct fk_err *err);
/* As user_create, for any role: a citizen account (ROLE_CITIZEN) must name
 * the person it speaks for by person_id_number, and its scope becomes that
 * person's grid (scope must then be NULL, "" or that grid); every other
 * role must pass person_id_number NULL.  FK_EINVAL also when the person is
 * unknown or their grid lies outside within_scope (the creator's scope; NULL
 * = no limit), with one message for both so a creator cannot probe for
 * persons outside its scope. */
enum fk_status user_create_person(sqlite3 *wdb, const char *username, const char *password,
				  enum role role, const char *scope,
				  const char *person_id_number, const char *within_scope,
				  unsigned flags, const char *created_by, const char *origin,
				  struct user *out, struct fk_err *err);

/* Changing one's own password, in three steps so a server can run the two
 * slow argon2id steps without holding the single writer:
 * password_change_acceptable: FK_EINVAL (with the reason) when the new
 *   password is weak or equal to the old one; reads nothing.
 * user_password_check: verifies the user's current password on any
 *   connection.  FK_EAUTH if wrong (or the user is gone or disabled);
 *   verified_hash receives the stored hash that matched.
 * user_password_store: in one transaction replaces verified_hash by
 *   new_hash (FK_ECONFLICT if the password changed meanwhile), clears
 *   must_change_password, ends the user's sessions except keep_token's
 *   (all of them when keep_token is NULL) and audits
 *   "user.password_change". */
enum fk_status password_change_acceptable(const char *old_password, const char *new_password,
					  struct fk_err *err);
enum fk_status user_password_check(sqlite3 *db, int64_t user_id, const char *password,
				   char verified_hash[crypto_pwhash_STRBYTES],
				   struct fk_err *err);
enum fk_status user_password_store(sqlite3 *wdb, const struct user *u,
				   const char *verified_hash, const char *new_hash,
				   const char *keep_token, const char *origin, struct fk_err *err);
/* All three steps on one connection (CLI, tests). */
enum fk_status user_password_change(sqlite3 *wdb, const struct user *u,
				    const char *old_password, const char *new_password,
				    const char *keep_token, const char *origin, struct fk_err *err);
enum fk_status user_get_by_name(sqlite3 *db, const char *username, struct user *out,
				struct fk_err *err);

/* Verifies credentials and creates a session.  token_out receives
 * TOKEN_HEX_LEN hex characters + NUL; only its hash is stored.
 * FK_EAUTH on bad credentials (same message for unknown user and wrong
 * password).  Audited. */
enum fk_status session_login(sqlite3 *wdb, const char *username, const char *password,
			     const char *origin, char token_out[TOKEN_HEX_LEN + 1],
			     int64_t *expires_at, struct user *user, struct fk_err *err);
/* Looks up a live session. FK_EAUTH if unknown or expired.  On the
 * server's reader (db == store_reader()) answers from an in-process cache
 * of a few seconds (see session.c); never call it holding the writer. */
enum fk_status session_lookup(sqlite3 *db, const char *token, struct user *out,
			      struct fk_err *err);
enum fk_status session_logout(sqlite3 *wdb, const char *token, const char *origin,
			      struct fk_err *err);
/* Deletes user_id's sessions except keep_token's (all when NULL), inside
 * the caller's transaction.  *ended (may be NULL) receives how many. */
enum fk_status session_end_others(sqlite3 *wdb, int64_t user_id, const char *keep_token,
				  int *ended, struct fk_err *err);
/* Drops user_id's cached sessions at once; for a change to the account
 * (disabled, role or scope) made on the writer, called inside its
 * transaction.  Logout and session_end_others do this themselves. */
void session_cache_forget_user(int64_t user_id);
/* The two halves of session_login, so a server can run the slow argon2id
 * check on a reader without holding the single writer.
 * credentials_check only reads: FK_EAUTH on bad credentials (unknown user,
 * wrong password and disabled account take the same time and message); it
 * writes no audit record, the caller audits "session.login_failed".
 * session_create stores the session and audits "session.login". */
enum fk_status credentials_check(sqlite3 *db, const char *username, const char *password,
				 struct user *out, struct fk_err *err);
enum fk_status session_create(sqlite3 *wdb, const struct user *user, const char *origin,
			      char token_out[TOKEN_HEX_LEN + 1], int64_t *expires_at,
			      struct fk_err *err);
/* Audits a failed login as "session.login_failed" (actor "-", object the
 * name tried when it could be a user name).  Reports to stderr if the
 * record cannot be written; never fails the caller. */
void login_audit_failure(sqlite3 *wdb, const char *username, const char *origin);

/* Login throttling, in memory, keyed by username and by origin: after 5
 * failures for a name (30 from an address) within 15 minutes further
 * attempts are refused for the rest of that window.  Returns true (and *retry_after seconds) when refused. */
bool login_throttled(const char *username, const char *origin, int64_t now, int *retry_after);
void login_record_failure(const char *username, const char *origin, int64_t now);
void login_record_success(const char *username, const char *origin);
/* The login path: checks and, when not refused, reserves the attempt as a
 * failure in one step (so concurrent guesses cannot pass the check
 * together).  Returns true (and *retry_after) when refused.  After a
 * successful login call login_attempt_succeeded(); a failed one needs no
 * further call.  Limits: 5 per user name, 30 per address, per 15 minutes. */
bool login_attempt_begin(const char *username, const char *origin, int64_t now,
			 int *retry_after);
void login_attempt_succeeded(const char *username, const char *origin);
void login_throttle_reset(void);

/* Masking: "610902199001011234" -> "610902********123X"-style (first 6 and
 * last 4 kept); phone "13912345678" -> "139****5678". out >= 32 bytes. */
void mask_id_number(const char *in, char *out, size_t size);
void mask_phone(const char *in, char *out, size_t size);
/* Masks a personal name (UTF-8) keeping its first and, from three
 * characters on, its last character: "张三" -> "张*", "张小明" -> "张*明",
 * "欧阳小明" -> "欧**明".  Invalid UTF-8 or a name too long for out is
 * starred entirely.  out >= 4 * (characters) + 1 bytes; 256 is plenty. */
void mask_name(const char *in, char *out, size_t size);

/* Appends one record to the audit log inside the caller's transaction or
 * its own.  hash = BLAKE2b-256(prev_hash || seq || at || actor || action ||
 * object || detail || origin), each field length-prefixed. */
enum fk_status audit_append(sqlite3 *wdb, const char *actor, const char *action,
			    const char *object, const char *detail, const char *origin,
			    struct fk_err *err);
/* Re-computes the chain.  FK_OK if intact; otherwise FK_EINVAL with err
 * naming the first bad seq and what is wrong (altered, inserted, deleted).
 * *rows receives the number of rows checked. */
enum fk_status audit_verify(sqlite3 *db, int64_t *rows, struct fk_err *err);

/* CLI commands (argv[0] is the subcommand name). Return exit codes. */
int cmd_user(int argc, char **argv);
int cmd_audit(int argc, char **argv);
/* fangkong init: create and migrate the database and, when it has no
 * users, the first admin with a random password printed once and written
 * to DB.admin-password (mode 0600).  That password is shown only to whoever
 * ran init, so unlike accounts created by someone else it need not be
 * changed at first login. */
int cmd_init(int argc, char **argv);

#endif
