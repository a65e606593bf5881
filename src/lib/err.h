/* err.h — the one error convention.
 *
 * Functions that act return enum fk_status (FK_OK == 0) and, on failure,
 * write a lower-case message quoting its subject into a struct fk_err the
 * caller owns.  Predicates return bool.  http/ maps a status to an HTTP
 * status and a JSON error body in one place (http_status_of()).
 */
#ifndef FK_ERR_H
#define FK_ERR_H

#include <stddef.h>

enum fk_status {
	FK_OK = 0,
	FK_EINVAL,     /* bad input: 400 / 422 / exit 2 */
	FK_ENOTFOUND,  /* 404 */
	FK_EAUTH,      /* not logged in or bad credentials: 401 */
	FK_EFORBIDDEN, /* role may not do this: 403 */
	FK_ECONFLICT,  /* 409 */
	FK_ETOOBIG,    /* 413 */
	FK_ETHROTTLE,  /* 429 */
	FK_EDB,        /* database failure: 500 */
	FK_EIO,        /* file or network failure: 500 */
	FK_ENOMEM,     /* allocation failure: 500 */
	FK_EREJECTED,  /* import finished but rows were rejected: exit 3 */
};

#define FK_ERR_MAX 512

struct fk_err {
	enum fk_status status;
	char msg[FK_ERR_MAX];
};

/* Sets err (if not NULL) and returns status; printf-style message. */
enum fk_status fk_fail(struct fk_err *err, enum fk_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Short machine name of a status, e.g. "not_found". Never NULL. */
const char *fk_status_name(enum fk_status status);

#endif
