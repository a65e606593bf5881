/* hc_int.h — pieces the health-code handlers (override.c, appeal.c) share:
 * JSON members for times and users, the database-failure answer and the
 * blank-text test.  Defined in override.c; used only inside src/healthcode. */
#ifndef FK_HC_INT_H
#define FK_HC_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http.h"
#include "lib/strbuf.h"

/* ,"key":"ISO time" or ,"key":null when t is 0 */
void hc_time_member(struct strbuf *o, const char *key, int64_t t);
/* ,"key":{"username",["role",]"role_zh"} or ,"key":null when username is "" */
void hc_user_member(struct strbuf *o, const char *key, const char *username, const char *role,
		    bool with_role);
/* Answers 500 (FK_EDB) "what: <sqlite message>" ("no connection" when db is NULL). */
void hc_db_fail(struct http_req *req, sqlite3 *db, const char *what);
/* The query parameter "status" (NULL when absent or empty) in *out: one
 * of the n names of allowed, else false after answering 400 "status must
 * be a, b or c". */
bool hc_status_param(struct http_req *req, const char *const *allowed, size_t n,
		     const char **out);
/* True when s holds only spaces, tabs and line ends (or nothing). */
bool hc_blank(const char *s);

#endif
