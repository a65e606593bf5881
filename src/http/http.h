/* http.h — the server core: route table, dispatcher checks, responses,
 * paging cursors, metrics.  Domains register routes as table rows; the
 * dispatcher checks method, authentication, permission, body size and
 * content type before any handler runs, so handlers stay short.
 */
#ifndef FK_HTTP_H
#define FK_HTTP_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access/access.h"
#include "lib/err.h"
#include "lib/strbuf.h"

#define HTTP_MAX_PARAMS 4
#define HTTP_BODY_DEFAULT_MAX (64 * 1024)
#define HTTP_PAGE_DEFAULT 50
#define HTTP_PAGE_MAX 1000

enum route_flags {
	ROUTE_PUBLIC = 1 << 0,    /* no session needed */
	ROUTE_JSON_BODY = 1 << 1, /* body must be application/json */
	ROUTE_OPTIONAL = 1 << 2,  /* optional work: shed first under overload */
	/* open to a session whose password must still be changed (the user
	 * has no other route until then: 403 password_change_required) */
	ROUTE_BEFORE_PASSWORD_CHANGE = 1 << 3,
};

struct http_req {
	const char *method;
	const char *path; /* without the query string */
	void *conn;       /* struct MHD_Connection * */
	const char *body; /* NUL-terminated; NULL when empty */
	size_t body_len;
	const struct user *user; /* NULL on public routes */
	const char *token;       /* bearer token of the session, if any */
	char origin[64];         /* client address */
	const char *params[HTTP_MAX_PARAMS]; /* {x} segments of the route, in order */
	/* response, filled by the handler */
	int status;
	struct strbuf out;
	const char *content_type;
	const char *retry_after;
	const char *cache_control; /* NULL: "no-store" (API answers hold personal data) */
	const char *allow; /* Allow header of a 405 */
};

typedef void (*http_handler)(struct http_req *req);

struct http_route {
	const char *method;
	const char *pattern; /* "/api/v1/persons/{id}" */
	http_handler fn;
	unsigned flags; /* enum route_flags */
	unsigned perms; /* enum perm bits required (all of them) */
	size_t max_body; /* 0 = HTTP_BODY_DEFAULT_MAX */
};

/* Query-string parameter, or NULL. */
const char *http_query(struct http_req *req, const char *name);
/* Sets a JSON body (takes a copy) and status. */
void http_json(struct http_req *req, int status, const char *json);
/* {"error":{"code":code,"message":...}} with status. */
void http_error(struct http_req *req, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Maps a status and err to an HTTP error response. */
void http_fail(struct http_req *req, enum fk_status st, const struct fk_err *err);
/* Reads limit (default HTTP_PAGE_DEFAULT, 1..HTTP_PAGE_MAX) and cursor
 * (opaque; decodes to the last key seen, an integer or a string).  On a bad
 * value answers 400 and returns false. */
bool http_page_params(struct http_req *req, int *limit, char *after, size_t after_size);
/* Encodes key as an opaque cursor string (base64url) into out. */
void http_cursor_encode(const char *key, char *out, size_t size);
bool http_cursor_decode(const char *cursor, char *out, size_t size);
/* Appends an audit record for this request (actor = user, origin =
 * client).  Call it after building a response that holds personal data:
 * when the record cannot be written it replaces the response with a 503
 * (fail closed) and returns false. */
bool http_audit(struct http_req *req, const char *action, const char *object,
		const char *detail);

/* ---- shared by the domains' handlers (helpers.c) ---- */
/* Text of column i, "" for NULL. */
const char *http_col(sqlite3_stmt *st, int i);
/* The thread's reader; NULL after answering 503 when there is none. */
sqlite3 *http_reader(struct http_req *req);
/* The body as a JSON object (duplicate keys refused); NULL after answering
 * 400.  Caller json_decref()s it. */
json_t *http_body_object(struct http_req *req);
/* Member key as a string: *out NULL when absent or null; false after
 * answering 400 when it is another type or holds a NUL byte. */
bool http_member_str(struct http_req *req, json_t *o, const char *key, const char **out);
/* Member key as an integer in [min, max]: *given false when absent or
 * null; false after answering 400 when it is another type or out of range. */
bool http_member_int(struct http_req *req, json_t *o, const char *key, int64_t min, int64_t max,
		     int64_t *out, bool *given);
/* Ends a list page that o began with {"items":[ and filled with its
 * items: appends ],"next_cursor": (the cursor of last, the key of the
 * page's last item, when more rows follow; else null) and the closing }. */
void http_page_close(struct strbuf *o, bool more, const char *last);
/* http_page_close, then answers 200 with o and audits action on the user's
 * scope ("all" when unscoped) with the detail "N what: ids" (ids: the
 * listed items' ids, comma separated). */
void http_page_finish(struct http_req *req, struct strbuf *o, bool more, const char *last,
		      const char *action, const char *what, int n, const char *ids);

/* Route tables contributed by domains (defined in each domain's http file). */
extern const struct http_route registry_routes[];
extern const size_t registry_routes_len;
extern const struct http_route access_routes[];
extern const size_t access_routes_len;
extern const struct http_route checkins_routes[];
extern const size_t checkins_routes_len;
extern const struct http_route tracing_routes[];
extern const size_t tracing_routes_len;
extern const struct http_route healthcode_routes[]; /* healthcode/service.c */
extern const size_t healthcode_routes_len;
extern const struct http_route token_routes[]; /* healthcode/token.c */
extern const size_t token_routes_len;
extern const struct http_route override_routes[]; /* healthcode/override.c */
extern const size_t override_routes_len;
extern const struct http_route appeal_routes[]; /* healthcode/appeal.c */
extern const size_t appeal_routes_len;
extern const struct http_route checkpoint_routes[]; /* checkins/checkpoint.c */
extern const size_t checkpoint_routes_len;
extern const struct http_route campaign_routes[]; /* testing/campaign.c */
extern const size_t campaign_routes_len;
extern const struct http_route sample_routes[]; /* testing/sample.c */
extern const size_t sample_routes_len;
extern const struct http_route result_routes[]; /* testing/result.c */
extern const size_t result_routes_len;
extern const struct http_route coverage_routes[]; /* testing/coverage.c */
extern const size_t coverage_routes_len;
extern const struct http_route plan_routes[]; /* testing/plan.c */
extern const size_t plan_routes_len;
extern const struct http_route order_routes[]; /* control/orders.c */
extern const size_t order_routes_len;
extern const struct http_route isolation_routes[]; /* control/sites.c */
extern const size_t isolation_routes_len;
extern const struct http_route home_routes[]; /* control/home.c */
extern const size_t home_routes_len;
extern const struct http_route risk_routes[]; /* control/risk.c */
extern const size_t risk_routes_len;
extern const struct http_route targets_routes[]; /* control/targets.c */
extern const size_t targets_routes_len;

int cmd_serve(int argc, char **argv);

#endif
