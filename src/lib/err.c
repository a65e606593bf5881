#include "lib/err.h"

#include <stdarg.h>
#include <stdio.h>

#include "lib/banned.h"

enum fk_status fk_fail(struct fk_err *err, enum fk_status status, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
		err->status = status;
	}
	return status;
}

const char *fk_status_name(enum fk_status status)
{
	switch (status) {
	case FK_OK: return "ok";
	case FK_EINVAL: return "invalid";
	case FK_ENOTFOUND: return "not_found";
	case FK_EAUTH: return "unauthorized";
	case FK_EFORBIDDEN: return "forbidden";
	case FK_ECONFLICT: return "conflict";
	case FK_ETOOBIG: return "too_large";
	case FK_ETHROTTLE: return "too_many_requests";
	case FK_EDB: return "database";
	case FK_EIO: return "io";
	case FK_ENOMEM: return "out_of_memory";
	case FK_EREJECTED: return "rejected";
	}
	return "unknown";
}
