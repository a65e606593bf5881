/* cli.c — fangkong case add, fangkong trace. */
#include <stdio.h>

#include "tracing/tracing.h"

#include "lib/banned.h"

int cmd_case(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("fangkong case: not built yet\n", stderr);
	return 1;
}

int cmd_trace(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("fangkong trace: not built yet\n", stderr);
	return 1;
}
