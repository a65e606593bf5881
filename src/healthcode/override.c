/* override.c — manual code overrides (placeholder until they land). */
#include "healthcode/healthcode.h"

#include "http/http.h"

#include "lib/banned.h"

const char *const hc_override_categories[] = {"data_error"};
const size_t hc_override_categories_len = 1;

bool hc_override_category_valid(const char *s)
{
	(void)s;
	return false;
}

enum fk_status override_code_facts(sqlite3 *db, struct hc_facts *f, struct fk_err *err)
{
	(void)db, (void)f, (void)err;
	return FK_OK;
}

enum fk_status override_code_facts_all(sqlite3 *db, int64_t since, struct hc_bulk *b,
				       struct fk_err *err)
{
	(void)db, (void)since, (void)b, (void)err;
	return FK_OK;
}

enum fk_status hc_person_overrides_json(sqlite3 *db, int64_t person_id, struct strbuf *o,
					struct fk_err *err)
{
	(void)db, (void)person_id, (void)err;
	strbuf_addstr(o, "\"overrides\":[]");
	return FK_OK;
}

const struct http_route override_routes[] = {{NULL, NULL, NULL, 0, 0, 0}};
const size_t override_routes_len = 0;
