/* cli.c — fangkong code (placeholder). */
#include "healthcode/healthcode.h"

#include <stdio.h>

#include "lib/banned.h"

int cmd_code(int argc, char **argv)
{
	(void)argc, (void)argv;
	fputs("fangkong code: not available yet\n", stderr);
	return 1;
}
