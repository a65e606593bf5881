/* orders.c — orders: proposal from the traced contacts, bulk
 * confirmation, activation, ends, events, the case hook, and their API
 * and CLI.  (Being written: the functions below are placeholders.) */
#include "control/control_int.h"

#include <stdio.h>
#include <string.h>

#include "http/http.h"
#include "lib/util.h"

#include "lib/banned.h"

const struct http_route order_routes[] = {
	{NULL, NULL, NULL, 0, 0, 0},
};
const size_t order_routes_len = 0;

static const char *const category_names[] = {"case", "close", "secondary", "arrival", "other"};

const char *order_category_name(enum order_category c)
{
	return (unsigned)c < FK_ARRAY_LEN(category_names) ? category_names[c] : "other";
}

bool order_category_parse(const char *s, enum order_category *out)
{
	for (size_t i = 0; s && i < FK_ARRAY_LEN(category_names); i++)
		if (!strcmp(s, category_names[i])) {
			*out = (enum order_category)i;
			return true;
		}
	return false;
}

enum fk_status order_insert(sqlite3 *wdb, const struct policy *p, const struct order_new *o,
			    int64_t now, const char *actor, int64_t *id,
			    struct control_changes *ch, struct fk_err *err)
{
	(void)wdb, (void)p, (void)o, (void)now, (void)actor, (void)ch;
	*id = 0;
	return fk_fail(err, FK_EINVAL, "orders are not built yet");
}

enum fk_status order_activate(sqlite3 *wdb, const struct policy *p, int64_t order_id,
			      int64_t now, const char *actor, struct control_changes *ch,
			      struct fk_err *err)
{
	(void)wdb, (void)p, (void)order_id, (void)now, (void)actor, (void)ch;
	return fk_fail(err, FK_EINVAL, "orders are not built yet");
}

enum fk_status order_end(sqlite3 *wdb, int64_t order_id, int64_t at, const char *reason,
			 const char *actor, const char *detail, struct control_changes *ch,
			 struct fk_err *err)
{
	(void)wdb, (void)order_id, (void)at, (void)reason, (void)actor, (void)detail, (void)ch;
	return fk_fail(err, FK_EINVAL, "orders are not built yet");
}

enum fk_status order_event(sqlite3 *wdb, int64_t order_id, int64_t at, const char *kind,
			   const char *actor, const char *detail, struct fk_err *err)
{
	(void)wdb, (void)order_id, (void)at, (void)kind, (void)actor, (void)detail, (void)err;
	return FK_OK;
}

enum fk_status control_propose(sqlite3 *wdb, const struct policy *p, int64_t case_id,
			       int64_t now, const char *actor, size_t *proposed, size_t *skipped,
			       struct control_changes *ch, struct fk_err *err)
{
	(void)wdb, (void)p, (void)case_id, (void)now, (void)actor, (void)ch, (void)err;
	if (proposed)
		*proposed = 0;
	if (skipped)
		*skipped = 0;
	return FK_OK;
}

enum fk_status control_case_added(sqlite3 *db, const struct case_rec *c, int64_t now,
				  bool server, const char *actor, size_t *proposed,
				  struct fk_err *err)
{
	(void)db, (void)c, (void)now, (void)server, (void)actor, (void)err;
	if (proposed)
		*proposed = 0;
	return FK_OK;
}

int cmd_orders(int argc, char **argv)
{
	(void)argc, (void)argv;
	fputs("fangkong orders: not built yet\n", stderr);
	return 1;
}
