/* appeal.c — appeals against a colour (placeholder until they land). */
#include "healthcode/healthcode.h"

#include "http/http.h"

#include "lib/banned.h"

enum fk_status hc_person_appeals_json(sqlite3 *db, int64_t person_id, struct strbuf *o,
				      struct fk_err *err)
{
	(void)db, (void)person_id, (void)err;
	strbuf_addstr(o, "\"appeals\":[]");
	return FK_OK;
}

const struct http_route appeal_routes[] = {{NULL, NULL, NULL, 0, 0, 0}};
const size_t appeal_routes_len = 0;
