/* policy.c — reading and checking policy files (placeholder until the
 * loader lands). */
#include "policy/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/banned.h"

enum fk_status policy_parse(const char *text, size_t len, const char *file, struct policy *out,
			    policy_diag_fn diag, void *ctx, struct fk_err *err)
{
	(void)text, (void)len, (void)out, (void)diag, (void)ctx;
	return fk_fail(err, FK_EINVAL, "%s: policy files are not read yet", file);
}

enum fk_status policy_load(const char *path, struct policy *out, char **text_out,
			   policy_diag_fn diag, void *ctx, struct fk_err *err)
{
	if (text_out)
		*text_out = NULL;
	return policy_parse("", 0, path, out, diag, ctx, err);
}

const char *policy_dir(void)
{
	return "policy";
}

bool policy_resolve(const char *arg, char *out, size_t size)
{
	int n = snprintf(out, size, "%s", arg && *arg ? arg : "policy/protocol-9.ini");
	return n > 0 && (size_t)n < size;
}

static struct policy *current;

const struct policy *policy_current(void)
{
	return __atomic_load_n(&current, __ATOMIC_ACQUIRE);
}

void policy_set_current(struct policy *p)
{
	__atomic_store_n(&current, p, __ATOMIC_RELEASE);
}

int cmd_policy(int argc, char **argv)
{
	(void)argc, (void)argv;
	fputs("fangkong policy: not available yet\n", stderr);
	return 1;
}
