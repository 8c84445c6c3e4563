#include "lib/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A short write leaves errno as it was, which once named a stale ENOENT
 * where the disk was full: say ENOSPC instead. */
int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t k = write(fd, p + done, len - done);
		if (k > 0)
			done += (size_t)k;
		else if (k == 0) {
			errno = ENOSPC;
			return -1;
		} else if (errno != EINTR)
			return -1;
	}
	return 0;
}

int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t k = read(fd, p + done, len - done);
		if (k > 0)
			done += (size_t)k;
		else if (k == 0) {
			errno = EPIPE;
			return -1;
		} else if (errno != EINTR)
			return -1;
	}
	return 0;
}

int open_temporary(const char *dir, char *tmp, size_t tmplen, bool *named)
{
	*named = false;
	int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	int n = snprintf(tmp, tmplen, "%s/.concbench-XXXXXX", dir);
	if (n < 0 || (size_t)n >= tmplen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkstemp(tmp);
	if (fd >= 0) {
		*named = true;
		fchmod(fd, 0644);
	}
	return fd;
}

/* Gives the unnamed file fd a unique name in dir (linkat through
 * /proc/self/fd, which needs no privilege, unlike AT_EMPTY_PATH), so that
 * rename can put it in place: linkat cannot replace an existing name. */
static int name_temporary(int fd, const char *dir, char *tmp, size_t tmplen)
{
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	for (int attempt = 0; attempt < 100; attempt++) {
		int n = snprintf(tmp, tmplen, "%s/.concbench-%ld-%d", dir, (long)getpid(), attempt);
		if (n < 0 || (size_t)n >= tmplen) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

void dir_of(const char *path, char *dir, size_t len)
{
	char copy[PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(dir, len, "%s", dirname(copy));
}

int atomic_write_file(const char *path, const void *data, size_t len)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 32];
	dir_of(path, dir, sizeof(dir));
	bool named;
	int fd = open_temporary(dir, tmp, sizeof(tmp), &named);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, data, len);
	if (rc == 0 && fsync(fd) != 0)
		rc = -1;
	if (rc == 0 && !named) {
		rc = name_temporary(fd, dir, tmp, sizeof(tmp));
		named = rc == 0;
	}
	int saved = errno;
	if (close(fd) != 0 && rc == 0) {
		rc = -1;
		saved = errno;
	}
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = -1;
		saved = errno;
	}
	if (rc != 0 && named)
		unlink(tmp);
	errno = saved;
	return rc;
}
