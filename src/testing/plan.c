/* plan.c — capacity planning for a testing round (Dorfman's model). */
#include "testing/testing_int.h"

#include <stdio.h>

#include "http/http.h"

#include "lib/banned.h"

const struct http_route plan_routes[] = {
	{NULL, NULL, NULL, 0, 0, 0},
};
const size_t plan_routes_len = 0;

double dorfman_tests_per_person(int k, double p)
{
	(void)k;
	(void)p;
	return 1.0;
}

int dorfman_best_pool(double p, int kmax)
{
	(void)p;
	(void)kmax;
	return 1;
}

int cmd_plan_testing(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("fangkong plan-testing: not built yet\n", stderr);
	return 1;
}
