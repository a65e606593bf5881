/* mapfile.h — a whole input file mapped read-only, for importers. */
#ifndef FK_LIB_MAPFILE_H
#define FK_LIB_MAPFILE_H

#include <stddef.h>

#include "lib/err.h"

struct fk_mapfile {
	const char *data; /* the bytes; "" for an empty file */
	size_t len;
	void *map; /* private: the mapping, or MAP_FAILED */
	int fd;
};

/* Maps path (a regular file) for sequential reading.  FK_EIO naming the
 * file when it cannot be opened, is not a regular file or cannot be
 * mapped.  Release with fk_mapfile_close() in every case (it accepts a
 * map that failed to open). */
enum fk_status fk_mapfile_open(struct fk_mapfile *m, const char *path, struct fk_err *err);
void fk_mapfile_close(struct fk_mapfile *m);

#endif
