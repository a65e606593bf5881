/* result.c — lab results per tube and what they set off: member results,
 * retest and resample tasks, case candidates; `fangkong import results`. */
#include "testing/testing_int.h"

#include <stdio.h>

#include "http/http.h"

#include "lib/banned.h"

const struct http_route result_routes[] = {
	{NULL, NULL, NULL, 0, 0, 0},
};
const size_t result_routes_len = 0;

int import_results_cli(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("fangkong import results: not built yet\n", stderr);
	return 1;
}
