/* mapfile.c — see mapfile.h. */
#include "lib/mapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/banned.h"

enum fk_status fk_mapfile_open(struct fk_mapfile *m, const char *path, struct fk_err *err)
{
	struct stat sb;
	m->data = "";
	m->len = 0;
	m->map = MAP_FAILED;
	m->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (m->fd < 0)
		return fk_fail(err, FK_EIO, "cannot open '%s': %s", path, strerror(errno));
	if (fstat(m->fd, &sb) || !S_ISREG(sb.st_mode))
		return fk_fail(err, FK_EIO, "cannot read '%s': not a regular file", path);
	m->len = (size_t)sb.st_size;
	if (!m->len)
		return FK_OK;
	m->map = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, m->fd, 0);
	if (m->map == MAP_FAILED) {
		m->len = 0;
		return fk_fail(err, FK_EIO, "cannot map '%s': %s", path, strerror(errno));
	}
	madvise(m->map, m->len, MADV_SEQUENTIAL);
	m->data = m->map;
	return FK_OK;
}

void fk_mapfile_close(struct fk_mapfile *m)
{
	if (m->map != MAP_FAILED)
		munmap(m->map, m->len);
	m->map = MAP_FAILED;
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}
