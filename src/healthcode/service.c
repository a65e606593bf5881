/* service.c — the server's health codes (placeholder). */
#include "healthcode/healthcode.h"

#include "http/http.h"

#include "lib/banned.h"

enum fk_status healthcode_server_start(struct fk_err *err)
{
	(void)err;
	return FK_OK;
}

void healthcode_server_stop(void)
{
}

enum colour healthcode_colour_now(int64_t person_id, int64_t now, char *reason_zh,
				  size_t reason_size)
{
	(void)person_id, (void)now;
	if (reason_size)
		reason_zh[0] = 0;
	return COLOUR_GREEN;
}

void healthcode_person_changed(int64_t person_id)
{
	(void)person_id;
}

void healthcode_all_changed(void)
{
}

uint64_t healthcode_generation(int64_t person_id)
{
	(void)person_id;
	return 0;
}

const struct http_route healthcode_routes[] = {{NULL, NULL, NULL, 0, 0, 0}};
const size_t healthcode_routes_len = 0;
