/* poster.c — venue posters: QR code, name, code and address. */
#include <stdio.h>

#include "checkins/checkins.h"

#include "lib/banned.h"

int cmd_export(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs("fangkong export: not built yet\n", stderr);
	return 1;
}
