/* sample.c — tubes, the sampling service (scanner API, group commit) and
 * `fangkong import samples`. */
#include "testing/testing_int.h"

#include <stdio.h>

#include "http/http.h"

#include "lib/banned.h"

const struct http_route sample_routes[] = {
	{NULL, NULL, NULL, 0, 0, 0},
};
const size_t sample_routes_len = 0;

enum fk_status testing_server_start(struct fk_err *err)
{
	(void)err;
	return FK_OK;
}

void testing_server_stop(void)
{
}

int import_samples_cli(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("fangkong import samples: not built yet\n", stderr);
	return 1;
}
