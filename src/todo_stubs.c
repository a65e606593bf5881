/* Temporary weak definitions so the tree links while modules land.
 * Every real definition overrides these; this file is removed when the
 * foundation is complete. */
#include <stdio.h>
#include "access/access.h"
#include "http/http.h"
#include "registry/registry.h"

#define STUB_CMD(f) __attribute__((weak)) int f(int argc, char **argv) { (void)argc; (void)argv; fputs("not built yet\n", stderr); return 1; }
STUB_CMD(cmd_init)
STUB_CMD(cmd_gen)
STUB_CMD(cmd_import)
STUB_CMD(cmd_serve)
STUB_CMD(cmd_user)
STUB_CMD(cmd_audit)
