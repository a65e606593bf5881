/* helpers.c — small pieces every domain's handlers share (see http.h). */
#include <inttypes.h>
#include <string.h>

#include "http/http.h"
#include "store/store.h"

#include "lib/banned.h"

const char *http_col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

sqlite3 *http_reader(struct http_req *req)
{
	sqlite3 *db = store_reader();
	if (!db)
		http_error(req, 503, NULL, "database unavailable");
	return db;
}

json_t *http_body_object(struct http_req *req)
{
	json_error_t jerr;
	json_t *o;
	if (!req->body || !req->body_len) {
		http_error(req, 400, NULL, "send a JSON object in the body");
		return NULL;
	}
	o = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		http_error(req, 400, NULL, "body is not valid JSON: %s (line %d)", jerr.text,
			   jerr.line);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		http_error(req, 400, NULL, "body must be a JSON object");
		return NULL;
	}
	return o;
}

bool http_member_str(struct http_req *req, json_t *o, const char *key, const char **out)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		http_error(req, 400, NULL, "'%s' must be a string", key);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

bool http_member_int(struct http_req *req, json_t *o, const char *key, int64_t min, int64_t max,
		     int64_t *out, bool *given)
{
	json_t *v = json_object_get(o, key);
	*given = false;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		http_error(req, 400, NULL, "'%s' must be an integer from %" PRId64 " to %" PRId64,
			   key, min, max);
		return false;
	}
	*out = json_integer_value(v);
	*given = true;
	return true;
}

void http_page_close(struct strbuf *o, bool more, const char *last)
{
	strbuf_addstr(o, "],\"next_cursor\":");
	if (more) {
		char cur[128];
		http_cursor_encode(last, cur, sizeof(cur));
		strbuf_add_json_str(o, cur);
	} else {
		strbuf_addstr(o, "null");
	}
	strbuf_addch(o, '}');
}

void http_page_finish(struct http_req *req, struct strbuf *o, bool more, const char *last,
		      const char *action, const char *what, int n, const char *ids)
{
	struct strbuf detail = STRBUF_INIT;
	http_page_close(o, more, last);
	http_json(req, 200, o->buf);
	strbuf_addf(&detail, "%d %s: %s", n, what, ids);
	http_audit(req, action, req->user->scope[0] ? req->user->scope : "all", detail.buf);
	strbuf_release(&detail);
}
