/* server.c — fangkong serve: libmicrohttpd with its internal epoll thread
 * pool, the route table and the dispatcher.
 *
 * Design note.
 * - Every request gets a struct conn_ctx on the first access-handler call,
 *   freed in the completed callback; it owns the request body and the
 *   response buffer (memory by lifetime).
 * - The dispatcher decides, in this order, before a handler runs: route
 *   (404, or 405 with Allow when the path matches another method), overload
 *   shedding of optional routes (503 + Retry-After), declared body size
 *   (413 before reading), UTF-8 of path and query (400), session (401),
 *   initial password still to be changed (403 password_change_required,
 *   except on routes flagged ROUTE_BEFORE_PASSWORD_CHANGE), content type
 *   of JSON bodies (415), permission (403).  Body bytes past
 *   the limit are drained, never stored.
 * - Reads of personal data are audited before the answer leaves; if the
 *   audit record cannot be written the answer becomes a 503 (http_audit).
 * - Readers use store_reader() (one read-only connection per pool thread);
 *   writes go through store_writer_lock().  Handlers never hold the writer
 *   across network I/O: MHD sends the response after the handler returns.
 * - SIGTERM/SIGINT: the main thread waits in sigwait(), quiesces the
 *   daemon (no new connections; needs MHD_USE_ITC), waits up to 10 s for
 *   requests in flight to finish, then stops it.
 */
#include "healthcode/healthcode.h"
#include "http/http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkins/checkins.h"
#include "http/http_int.h"
#include "lib/textenc.h"
#include "lib/util.h"
#include "registry/registry.h"
#include "store/store.h"
#include "testing/testing.h"
#include "control/control.h"
#include "tracing/tracing.h"

#include "lib/banned.h"

#define MAX_INFLIGHT 512 /* above this, optional routes are shed */
#define DEFAULT_SHED_CONNECTIONS 256
/* Scan handlers block until their group commit is on disk, so the pool
 * bounds how many scans share one fsync: 2 threads gave ~800 durable
 * scans/s from 64 connections on 2 cores, 32 threads several thousand
 * (bench/scans.sh). */
#define DEFAULT_THREADS 32
#define FK_STR_THREADS "32"
#define PATH_MAX_LEN 1024

static void healthz(struct http_req *req);
static void metrics_get(struct http_req *req);

static const struct http_route core_routes[] = {
	{"GET", "/healthz", healthz, ROUTE_PUBLIC, 0, 0},
	{"GET", "/metrics", metrics_get, ROUTE_PUBLIC | ROUTE_OPTIONAL, 0, 0},
};

/* The merged route table, built once at start. */
static const struct http_route *routes[METRICS_MAX_ROUTES];
static const char *route_names[METRICS_MAX_ROUTES];
static size_t nroutes;
static size_t slot_static, slot_unmatched;
static char *web_root;
static _Atomic int inflight;
/* more open connections than this: optional routes answer 503 */
static int64_t shed_connections = DEFAULT_SHED_CONNECTIONS;

struct conn_ctx {
	struct http_req req;
	const struct http_route *route;
	size_t slot;
	struct strbuf body;
	size_t max_body;
	bool too_big;
	double start;
	struct user user;
	char pathbuf[PATH_MAX_LEN];
	char allow[64];
};

/* ---------- responses ---------- */

void http_json(struct http_req *req, int status, const char *json)
{
	req->status = status;
	strbuf_reset(&req->out);
	strbuf_addstr(&req->out, json);
	req->content_type = "application/json; charset=utf-8";
}

static const char *status_code_name(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "conflict";
	case 413: return "payload_too_large";
	case 415: return "unsupported_media_type";
	case 422: return "unprocessable";
	case 429: return "too_many_requests";
	case 503: return "unavailable";
	default: return "internal";
	}
}

void http_error(struct http_req *req, int status, const char *code, const char *fmt, ...)
{
	struct strbuf msg = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	req->status = status;
	strbuf_reset(&req->out);
	strbuf_addstr(&req->out, "{\"error\":{\"code\":");
	strbuf_add_json_str(&req->out, code ? code : status_code_name(status));
	strbuf_addstr(&req->out, ",\"message\":");
	strbuf_add_json_str(&req->out, msg.buf);
	strbuf_addstr(&req->out, "}}");
	req->content_type = "application/json; charset=utf-8";
	if (status == 503 && !req->retry_after)
		req->retry_after = "1";
	strbuf_release(&msg);
}

void http_fail(struct http_req *req, enum fk_status st, const struct fk_err *err)
{
	const char *m = err ? err->msg : "";
	switch (st) {
	case FK_OK: return;
	case FK_EINVAL: http_error(req, 422, NULL, "%s", m); return;
	case FK_ENOTFOUND: http_error(req, 404, NULL, "%s", m); return;
	case FK_EAUTH: http_error(req, 401, NULL, "%s", m); return;
	case FK_EFORBIDDEN: http_error(req, 403, NULL, "%s", m); return;
	case FK_ECONFLICT: http_error(req, 409, NULL, "%s", m); return;
	case FK_ETOOBIG: http_error(req, 413, NULL, "%s", m); return;
	case FK_ETHROTTLE: http_error(req, 429, NULL, "%s", m); return;
	default:
		/* the detail may name files or SQL: log it, do not send it */
		fprintf(stderr, "fangkong: %s %s: %s\n", req->method, req->path, m);
		http_error(req, 500, NULL, "internal error");
		return;
	}
}

const char *http_query(struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

void http_cursor_encode(const char *key, char *out, size_t size)
{
	size_t n = strlen(key);
	if (sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) > size) {
		out[0] = '\0';
		return;
	}
	sodium_bin2base64(out, size, (const unsigned char *)key, n,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool http_cursor_decode(const char *cursor, char *out, size_t size)
{
	size_t n = 0;
	/* libsodium 1.0.18 decodes any byte >= 0x80 as '_': accept only the
	 * base64url alphabet so one cursor has one spelling */
	if (strspn(cursor, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") !=
	    strlen(cursor))
		return false;
	if (size < 2 || sodium_base642bin((unsigned char *)out, size - 1, cursor, strlen(cursor),
					  NULL, &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		return false;
	out[n] = '\0';
	if (strlen(out) != n || n == 0)
		return false;
	return true;
}

bool http_page_params(struct http_req *req, int *limit, char *after, size_t after_size)
{
	const char *l = http_query(req, "limit");
	const char *c = http_query(req, "cursor");
	int64_t v = HTTP_PAGE_DEFAULT;
	if (l && !fk_parse_i64(l, 1, HTTP_PAGE_MAX, &v)) {
		http_error(req, 400, NULL, "limit must be an integer from 1 to %d", HTTP_PAGE_MAX);
		return false;
	}
	*limit = (int)v;
	after[0] = '\0';
	if (c && *c && !http_cursor_decode(c, after, after_size)) {
		http_error(req, 400, NULL, "cursor is not valid");
		return false;
	}
	return true;
}

bool http_audit(struct http_req *req, const char *action, const char *object, const char *detail)
{
	struct fk_err err;
	sqlite3 *w = store_writer_lock();
	enum fk_status st = audit_append(w, req->user ? req->user->username : "-", action, object,
					 detail ? detail : "", req->origin, &err);
	store_writer_unlock();
	if (!st)
		return true;
	/* fail closed: personal data never leaves without its audit record */
	fprintf(stderr, "fangkong: cannot write audit record: %s\n", err.msg);
	http_error(req, 503, NULL, "audit log unavailable; retry shortly");
	return false;
}

/* ---------- core handlers ---------- */

static void healthz(struct http_req *req)
{
	sqlite3 *db = store_reader();
	if (!db || store_query_int(db, "SELECT 1", 0) != 1) {
		http_error(req, 503, NULL, "database unavailable");
		return;
	}
	http_json(req, 200, "{\"status\":\"ok\"}");
}

static int64_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

static void metrics_get(struct http_req *req)
{
	sqlite3 *db = store_reader();
	int64_t persons = db ? store_query_int(db, "SELECT count(*) FROM persons", 0) : 0;
	const char *p = store_server_path();
	struct strbuf wal = STRBUF_INIT;
	strbuf_addf(&wal, "%s-wal", p);
	int64_t bytes = file_size(p) + file_size(wal.buf);
	strbuf_release(&wal);
	strbuf_reset(&req->out);
	metrics_render(&req->out, persons, bytes);
	req->status = 200;
	req->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

/* ---------- routing ---------- */

/* Matches path against pattern; fills params (pointers into buf, a copy of
 * path whose '/' separators are replaced by NULs). */
static bool route_match(const char *pattern, const char *path, char *buf, size_t bufsize,
			const char **params)
{
	if (!fk_strlcpy(buf, path, bufsize))
		return false;
	const char *p = pattern;
	char *s = buf;
	int np = 0;
	while (*p && *s) {
		if (*p == '{') {
			const char *pe = strchr(p, '}');
			char *se = strchr(s, '/');
			if (!pe || np >= HTTP_MAX_PARAMS)
				return false;
			if (se == s)
				return false; /* empty segment */
			params[np++] = s;
			p = pe + 1;
			if (se) {
				*se = '\0';
				s = se + 1;
				if (*p != '/')
					return false;
				p++;
			} else {
				s += strlen(s);
			}
			continue;
		}
		if (*p != *s)
			return false;
		p++;
		s++;
	}
	for (int i = np; i < HTTP_MAX_PARAMS; i++)
		params[i] = NULL;
	return *p == '\0' && *s == '\0';
}

static const struct http_route *route_find(const char *method, const char *path, char *buf,
					   size_t bufsize, const char **params, size_t *slot,
					   struct strbuf *allow)
{
	for (size_t i = 0; i < nroutes; i++) {
		if (!route_match(routes[i]->pattern, path, buf, bufsize, params))
			continue;
		if (!strcmp(routes[i]->method, method) ||
		    (!strcmp(method, "HEAD") && !strcmp(routes[i]->method, "GET"))) {
			*slot = i;
			return routes[i];
		}
		if (allow->len)
			strbuf_addstr(allow, ", ");
		strbuf_addstr(allow, routes[i]->method);
	}
	return NULL;
}

static void add_routes(const struct http_route *table, size_t n)
{
	for (size_t i = 0; i < n && nroutes < METRICS_MAX_ROUTES - 2; i++) {
		routes[nroutes] = &table[i];
		route_names[nroutes] = table[i].pattern;
		nroutes++;
	}
}

/* ---------- static files ---------- */

static const char *mime_of(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".json", "application/json; charset=utf-8"},
		{".ico", "image/x-icon"},
		{".txt", "text/plain; charset=utf-8"},
	};
	const char *dot = strrchr(path, '.');
	if (dot)
		for (size_t i = 0; i < FK_ARRAY_LEN(types); i++)
			if (!strcmp(dot, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

static bool safe_static_path(const char *url)
{
	if (url[0] != '/' || strstr(url, "..") || strstr(url, "//") || strchr(url, '\\'))
		return false;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p < 0x20)
			return false;
	return true;
}

/* Queues the file for url and returns true (*ret = MHD's answer), or
 * writes a 404 into ctx->req and returns false. */
static bool serve_static(struct MHD_Connection *conn, struct conn_ctx *ctx, const char *url,
			 enum MHD_Result *ret)
{
	struct strbuf path = STRBUF_INIT;
	struct MHD_Response *resp = NULL;
	int fd = -1;
	struct stat st;

	if (!web_root || !safe_static_path(url))
		goto not_found;
	strbuf_addstr(&path, web_root);
	strbuf_addstr(&path, url);
	if (url[strlen(url) - 1] == '/')
		strbuf_addstr(&path, "index.html");
	fd = open(path.buf, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode))
		goto not_found;
	resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!resp)
		goto not_found;
	fd = -1; /* owned by resp */
	MHD_add_response_header(resp, "Content-Type", mime_of(path.buf));
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	ctx->req.status = 200;
	*ret = MHD_queue_response(conn, 200, resp);
	MHD_destroy_response(resp);
	strbuf_release(&path);
	return true;
not_found:
	if (fd >= 0)
		close(fd);
	strbuf_release(&path);
	http_error(&ctx->req, 404, NULL, "no such page '%s'", url);
	return false;
}

/* ---------- the dispatcher ---------- */

static enum MHD_Result send_req(struct MHD_Connection *conn, struct http_req *req)
{
	if (!req->status)
		http_error(req, 500, NULL, "handler produced no response");
	size_t len;
	bool empty = req->status == 204;
	char *body = strbuf_detach(&req->out, &len);
	struct MHD_Response *resp;
	if (empty) {
		free(body);
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	}
	if (!resp) {
		if (!empty)
			free(body);
		return MHD_NO;
	}
	if (!empty && req->content_type)
		MHD_add_response_header(resp, "Content-Type", req->content_type);
	MHD_add_response_header(resp, "Cache-Control",
				req->cache_control ? req->cache_control : "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (req->retry_after)
		MHD_add_response_header(resp, "Retry-After", req->retry_after);
	if (req->allow)
		MHD_add_response_header(resp, "Allow", req->allow);
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)req->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void client_origin(struct MHD_Connection *conn, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	fk_strlcpy(out, "-", size);
	if (!ci || !ci->client_addr)
		return;
	if (ci->client_addr->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ci->client_addr;
		inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)size);
	} else if (ci->client_addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ci->client_addr;
		inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)size);
	}
}

static bool authenticate(struct MHD_Connection *conn, struct conn_ctx *ctx)
{
	struct http_req *req = &ctx->req;
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (!h || strncmp(h, "Bearer ", 7) != 0 || !h[7]) {
		http_error(req, 401, NULL, "log in first (missing bearer token)");
		return false;
	}
	struct fk_err err;
	sqlite3 *db = store_reader();
	if (!db) {
		http_error(req, 503, NULL, "database unavailable");
		return false;
	}
	enum fk_status st = session_lookup(db, h + 7, &ctx->user, &err);
	if (st == FK_EAUTH) {
		http_error(req, 401, NULL, "session expired or unknown; log in again");
		return false;
	}
	if (st) {
		http_fail(req, st, &err);
		return false;
	}
	req->user = &ctx->user;
	req->token = h + 7;
	return true;
}

static bool is_json(const char *ct)
{
	if (!ct)
		return false;
	size_t n = strlen("application/json");
	return strncasecmp(ct, "application/json", n) == 0 && (ct[n] == '\0' || ct[n] == ';');
}

/* MHD iterator: clears *ok when a query name or value is not UTF-8. */
static enum MHD_Result arg_utf8(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	(void)kind;
	bool *ok = cls;
	if (!text_utf8_valid(key, strlen(key), NULL) ||
	    (value && !text_utf8_valid(value, strlen(value), NULL))) {
		*ok = false;
		return MHD_NO;
	}
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	(void)cls;
	(void)version;
	struct conn_ctx *ctx = *con_cls;
	if (!ctx) {
		ctx = fk_xcalloc(1, sizeof(*ctx));
		*con_cls = ctx;
		ctx->start = fk_mono();
		strbuf_init(&ctx->body);
		strbuf_init(&ctx->req.out);
		ctx->req.method = method;
		ctx->req.path = url;
		ctx->req.conn = conn;
		ctx->max_body = HTTP_BODY_DEFAULT_MAX;
		atomic_fetch_add(&inflight, 1);
		client_origin(conn, ctx->req.origin, sizeof(ctx->req.origin));

		/* every text we echo or store must be UTF-8: refuse other bytes */
		bool utf8 = text_utf8_valid(url, strlen(url), NULL);
		if (utf8)
			MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, arg_utf8, &utf8);
		if (!utf8) {
			ctx->slot = slot_unmatched;
			http_error(&ctx->req, 400, NULL, "the path or query is not valid UTF-8");
			return MHD_YES;
		}
		struct strbuf allow = STRBUF_INIT;
		ctx->route = route_find(method, url, ctx->pathbuf, sizeof(ctx->pathbuf),
					ctx->req.params, &ctx->slot, &allow);
		if (!ctx->route) {
			ctx->slot = slot_unmatched;
			if (allow.len) {
				http_error(&ctx->req, 405, NULL, "method %s not allowed on '%s' (allowed: %s)",
					   method, url, allow.buf);
				fk_strlcpy(ctx->allow, allow.buf, sizeof(ctx->allow));
				ctx->req.allow = ctx->allow;
			} else if (strncmp(url, "/api/", 5) && (!strcmp(method, "GET") ||
								!strcmp(method, "HEAD"))) {
				ctx->slot = slot_static;
			} else {
				http_error(&ctx->req, 404, NULL, "no such endpoint '%s %s'", method, url);
			}
			strbuf_release(&allow);
			return MHD_YES;
		}
		strbuf_release(&allow);
		ctx->max_body = ctx->route->max_body ? ctx->route->max_body : HTTP_BODY_DEFAULT_MAX;
		/* a surge shows as open connections waiting for the request
		 * threads (in flight never exceeds the threads): optional work
		 * yields to code display and scans */
		if ((ctx->route->flags & ROUTE_OPTIONAL) &&
		    (atomic_load(&inflight) > MAX_INFLIGHT ||
		     metrics_open_connections() > shed_connections)) {
			ctx->req.retry_after = "2";
			http_error(&ctx->req, 503, NULL, "server busy; optional work is shed, retry shortly");
			return MHD_YES;
		}
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		int64_t n;
		if (cl && fk_parse_i64(cl, 0, INT64_MAX, &n) && (uint64_t)n > ctx->max_body) {
			ctx->too_big = true;
			http_error(&ctx->req, 413, NULL, "request body over %zu bytes", ctx->max_body);
		}
		return MHD_YES;
	}

	if (*upload_size) {
		if (!ctx->too_big && !ctx->req.status) {
			if (ctx->body.len + *upload_size > ctx->max_body) {
				ctx->too_big = true;
				strbuf_release(&ctx->body);
				http_error(&ctx->req, 413, NULL, "request body over %zu bytes",
					   ctx->max_body);
			} else {
				strbuf_add(&ctx->body, upload, *upload_size);
			}
		}
		*upload_size = 0; /* consumed (or drained) */
		return MHD_YES;
	}

	/* the whole request is here */
	if (ctx->slot == slot_static && !ctx->req.status) {
		enum MHD_Result ret;
		if (serve_static(conn, ctx, url, &ret))
			return ret;
		return send_req(conn, &ctx->req);
	}
	if (ctx->req.status)
		return send_req(conn, &ctx->req);

	struct http_req *req = &ctx->req;
	const struct http_route *r = ctx->route;
	req->body = ctx->body.len ? ctx->body.buf : NULL;
	req->body_len = ctx->body.len;
	if (!(r->flags & ROUTE_PUBLIC) && !authenticate(conn, ctx))
		return send_req(conn, req);
	if (req->user && req->user->must_change_password &&
	    !(r->flags & ROUTE_BEFORE_PASSWORD_CHANGE)) {
		http_error(req, 403, "password_change_required",
			   "change the initial password first (POST /api/v1/me/password): it was "
			   "set by someone else");
		return send_req(conn, req);
	}
	if (r->flags & ROUTE_JSON_BODY) {
		const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
		if (!is_json(ct)) {
			http_error(req, 415, NULL, "send the body as application/json");
			return send_req(conn, req);
		}
	}
	if (r->perms && req->user && (role_perms(req->user->role) & r->perms) != r->perms) {
		http_error(req, 403, NULL, "role '%s' may not do this", role_name(req->user->role));
		return send_req(conn, req);
	}
	r->fn(req);
	return send_req(conn, req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	struct conn_ctx *ctx = *con_cls;
	if (!ctx)
		return;
	metrics_observe(ctx->slot, ctx->req.status ? ctx->req.status : 500,
			fk_mono() - ctx->start);
	atomic_fetch_sub(&inflight, 1);
	strbuf_release(&ctx->body);
	strbuf_release(&ctx->req.out);
	free(ctx);
	*con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	(void)conn;
	(void)socket_context;
	metrics_conn_delta(toe == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
}

/* ---------- the command ---------- */

static void serve_usage(FILE *f)
{
	fputs("usage: fangkong serve [--db FILE] [--listen 127.0.0.1:8080] [--web DIR]\n"
	      "                      [--threads N] [--policy FILE|NAME] [--shed-connections N]\n"
	      "Serves the web pages and the API until SIGTERM or SIGINT.\n"
	      "--policy     the control protocol in force: a policy file or a shipped name\n"
	      "             (protocol-8, protocol-9, protocol-9-20).  Default: the policy the\n"
	      "             database last ran under, else protocol-9.  See docs/policy.md.\n"
	      "--shed-connections N  with more connections open than N (default 256),\n"
	      "             optional routes (dashboards, exports, /metrics) answer 503 with\n"
	      "             Retry-After, so code display and scans keep the threads.\n"
	      "--threads N  request threads, 1..64 (default " FK_STR_THREADS ").  A scan's thread\n"
	      "             waits until the scan is on disk, and the scans waiting together\n"
	      "             share one commit: more threads, bigger commits.  See\n"
	      "             docs/operations.md.\n",
	      f);
}

static bool parse_listen(const char *s, struct sockaddr_in *addr)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	int64_t port;
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return false;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (!fk_parse_i64(colon + 1, 1, 65535, &port))
		return false;
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_port = htons((uint16_t)port);
	if (!strcmp(host, "localhost"))
		fk_strlcpy(host, "127.0.0.1", sizeof(host));
	return inet_pton(AF_INET, host, &addr->sin_addr) == 1;
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},  {"listen", required_argument, NULL, 'l'},
		{"web", required_argument, NULL, 'w'}, {"threads", required_argument, NULL, 't'},
		{"policy", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
		{"shed-connections", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	const char *dbflag = NULL, *listen = "127.0.0.1:8080", *web = "web", *policy = NULL;
	int64_t threads = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dbflag = optarg; break;
		case 'l': listen = optarg; break;
		case 'w': web = optarg; break;
		case 'p': policy = optarg; break;
		case 's':
			if (!fk_parse_i64(optarg, 1, 1000000, &shed_connections)) {
				fprintf(stderr, "fangkong serve: --shed-connections must be 1..1000000\n");
				return 2;
			}
			break;
		case 't':
			if (!fk_parse_i64(optarg, 1, 64, &threads)) {
				fprintf(stderr, "fangkong serve: --threads must be 1..64\n");
				return 2;
			}
			break;
		case 'h': serve_usage(stdout); return 0;
		default: serve_usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fangkong serve: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	struct sockaddr_in addr;
	if (!parse_listen(listen, &addr)) {
		fprintf(stderr, "fangkong serve: --listen '%s' is not HOST:PORT (IPv4)\n", listen);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "fangkong serve: cannot initialise libsodium\n");
		return 1;
	}
	const char *path = store_default_path(dbflag);
	struct fk_err err;
	if (access(path, F_OK) != 0) {
		fprintf(stderr, "fangkong serve: database '%s' does not exist (run 'fangkong init')\n",
			path);
		return 1;
	}
	if (store_server_init(path, &err)) {
		fprintf(stderr, "fangkong serve: %s\n", err.msg);
		return 1;
	}
	/* an import killed mid-way commits batches but not their roll-ups:
	 * rebuild them once so every figure served is exact (0.3 s at 3M) */
	sqlite3 *w = store_writer_lock();
	enum fk_status rs = registry_stats_refresh(w, &err);
	store_writer_unlock();
	if (rs) {
		fprintf(stderr, "fangkong serve: %s\n", err.msg);
		store_shutdown();
		return 1;
	}
	/* the policy first: a bad file stops the start before the slow parts */
	if (healthcode_server_start(policy, &err)) {
		fprintf(stderr, "fangkong serve: %s\n", err.msg);
		healthcode_server_stop();
		store_shutdown();
		return policy ? 2 : 1;
	}
	if (tracing_server_start(&err)) {
		fprintf(stderr, "fangkong serve: %s\n", err.msg);
		healthcode_server_stop();
		store_shutdown();
		return 1;
	}
	/* after the index: the committer adds every scan to it */
	if (scan_service_start(&err)) {
		fprintf(stderr, "fangkong serve: %s\n", err.msg);
		tracing_server_stop();
		healthcode_server_stop();
		store_shutdown();
		return 1;
	}
	if (testing_server_start(&err)) {
		fprintf(stderr, "fangkong serve: %s\n", err.msg);
		scan_service_stop();
		tracing_server_stop();
		healthcode_server_stop();
		store_shutdown();
		return 1;
	}
	/* the control loop's tick (release, queue, checks, risk areas) */
	if (control_server_start(&err)) {
		fprintf(stderr, "fangkong serve: %s\n", err.msg);
		testing_server_stop();
		scan_service_stop();
		tracing_server_stop();
		healthcode_server_stop();
		store_shutdown();
		return 1;
	}
	char *real = realpath(web, NULL);
	web_root = real;
	if (!real)
		fprintf(stderr, "fangkong serve: web directory '%s' not found; serving the API only\n",
			web);

	nroutes = 0;
	add_routes(core_routes, FK_ARRAY_LEN(core_routes));
	add_routes(access_routes, access_routes_len);
	add_routes(registry_routes, registry_routes_len);
	add_routes(checkins_routes, checkins_routes_len);
	add_routes(tracing_routes, tracing_routes_len);
	add_routes(healthcode_routes, healthcode_routes_len);
	add_routes(token_routes, token_routes_len);
	add_routes(override_routes, override_routes_len);
	add_routes(appeal_routes, appeal_routes_len);
	add_routes(checkpoint_routes, checkpoint_routes_len);
	add_routes(campaign_routes, campaign_routes_len);
	add_routes(sample_routes, sample_routes_len);
	add_routes(result_routes, result_routes_len);
	add_routes(coverage_routes, coverage_routes_len);
	add_routes(plan_routes, plan_routes_len);
	add_routes(order_routes, order_routes_len);
	add_routes(isolation_routes, isolation_routes_len);
	add_routes(home_routes, home_routes_len);
	add_routes(risk_routes, risk_routes_len);
	add_routes(targets_routes, targets_routes_len);
	/* metric slots past the routes: not routes, never matched */
	slot_static = nroutes;
	route_names[slot_static] = "static";
	slot_unmatched = nroutes + 1;
	route_names[slot_unmatched] = "unmatched";
	metrics_init(route_names, nroutes + 2);

	if (!threads)
		threads = DEFAULT_THREADS;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by MHD's threads */
	signal(SIGPIPE, SIG_IGN);

	/* ITC lets MHD_quiesce_daemon wake the pool threads on SIGTERM */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL))
		flags |= MHD_USE_EPOLL;
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, ntohs(addr.sin_port), NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR,
		(struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_NOTIFY_CONNECTION,
		on_connection, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "fangkong serve: cannot listen on %s (in use?)\n", listen);
		control_server_stop();
		testing_server_stop();
		scan_service_stop();
		tracing_server_stop();
		healthcode_server_stop();
		store_shutdown();
		free(real);
		return 1;
	}
	printf("fangkong: serving http://%s (database '%s', %lld threads)\n", listen, path,
	       (long long)threads);
	fflush(stdout);
	int sig = 0;
	sigwait(&set, &sig);
	fprintf(stderr, "fangkong: %s received, finishing requests\n",
		sig == SIGTERM ? "SIGTERM" : "SIGINT");
	MHD_socket lsock = MHD_quiesce_daemon(d); /* no new connections */
	if (lsock != MHD_INVALID_SOCKET)
		close(lsock);
	/* let requests in flight finish, for at most 10 seconds */
	for (int i = 0; i < 1000 && atomic_load(&inflight) > 0; i++)
		usleep(10000);
	MHD_stop_daemon(d);
	control_server_stop();
	testing_server_stop(); /* commits the samples queued */
	scan_service_stop(); /* commits what is queued, before the index goes */
	tracing_server_stop();
	healthcode_server_stop();
	store_shutdown();
	free(real);
	web_root = NULL;
	fprintf(stderr, "fangkong: stopped\n");
	return 0;
}
