/* Writing a file so that a reader, or a crash, never sees half of it: the
 * bytes go to an unnamed temporary file beside the destination, are synced,
 * and the file is renamed over the destination in one step. */
#ifndef CONCBENCH_ATOMIC_FILE_H
#define CONCBENCH_ATOMIC_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* All len bytes to fd, or -1 with errno from the write that failed (ENOSPC
 * for a write that wrote nothing); EINTR is retried. */
int write_all(int fd, const void *buf, size_t len);
/* All len bytes from fd, or -1 (errno from the read, or EPIPE for an end of
 * file before them); EINTR is retried. */
int read_all(int fd, void *buf, size_t len);

/* An unnamed file in dir (O_TMPFILE), which nothing is left of if the process
 * dies before it is named; where the file system lacks O_TMPFILE, a named
 * mkstemp file (its name in tmp, *named set) instead. The fd, or -1 with errno. */
int open_temporary(const char *dir, char *tmp, size_t tmplen, bool *named);

/* len bytes at data into path, through a temporary in path's folder: synced,
 * then renamed over path. 0, or -1 with errno (nothing is left behind, and
 * path keeps what it held). */
int atomic_write_file(const char *path, const void *data, size_t len);

/* The folder part of path ("." for a bare name). */
void dir_of(const char *path, char *dir, size_t len);

#endif
