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
__attribute__((weak)) const struct http_route access_routes[1];
__attribute__((weak)) const size_t access_routes_len = 0;
#include <stdlib.h>
#define STUB_ABORT(name) do { fputs("not built yet: " #name "\n", stderr); abort(); } while (0)
__attribute__((weak)) bool access_scope_contains(const char *s, const char *r) { (void)s; (void)r; STUB_ABORT(access_scope_contains); }
__attribute__((weak)) void access_scope_upper(const char *s, char *o, size_t n) { (void)s; (void)o; (void)n; STUB_ABORT(access_scope_upper); }
__attribute__((weak)) void mask_id_number(const char *i, char *o, size_t n) { (void)i; (void)o; (void)n; STUB_ABORT(mask_id_number); }
__attribute__((weak)) void mask_phone(const char *i, char *o, size_t n) { (void)i; (void)o; (void)n; STUB_ABORT(mask_phone); }
__attribute__((weak)) enum fk_status audit_append(sqlite3 *w, const char *a, const char *b, const char *c, const char *d, const char *e, struct fk_err *err) { (void)w; (void)a; (void)b; (void)c; (void)d; (void)e; (void)err; STUB_ABORT(audit_append); }
__attribute__((weak)) enum fk_status session_lookup(sqlite3 *db, const char *t, struct user *u, struct fk_err *err) { (void)db; (void)t; (void)u; (void)err; STUB_ABORT(session_lookup); }
__attribute__((weak)) unsigned role_perms(enum role r) { (void)r; STUB_ABORT(role_perms); }
__attribute__((weak)) const char *role_name(enum role r) { (void)r; STUB_ABORT(role_name); }
__attribute__((weak)) size_t region_len_of_level(int l) { (void)l; STUB_ABORT(region_len_of_level); }
__attribute__((weak)) int region_level_of_len(size_t l) { (void)l; STUB_ABORT(region_level_of_len); }
