/* access_int.h — internal to access/. */
#ifndef FK_ACCESS_INT_H
#define FK_ACCESS_INT_H

#include <sqlite3.h>
#include <stdbool.h>

#include "access/access.h"

/* Fills out from a row whose columns 0..3 are id, username, role, scope,
 * column must_change_col is must_change_password and column person_col
 * is person_id (NULL for accounts that are not citizens).  False if the
 * stored role is unknown (out->role is then unspecified). */
bool user_from_row(sqlite3_stmt *q, int must_change_col, int person_col, struct user *out);

#endif
