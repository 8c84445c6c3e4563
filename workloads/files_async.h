/* Private to the files workload: what files.c (the data set, the blocking
 * reads, the page cache) and files_async.c (the event loop's two backends,
 * io_uring and a thread pool) share. Nothing outside workloads/files*.c and
 * tests/test_files.c includes it. */
#ifndef CONCBENCH_FILES_ASYNC_H
#define CONCBENCH_FILES_ASYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/content.h"
#include "workloads/workload.h"

struct loop;

/* The data set as the manifest describes it; read-only while a run goes on. */
struct files_set {
	char dir[PARAM_TEXT_MAX];
	size_t count;
	uint64_t size;  /* bytes per file */
	uint64_t bs;    /* bytes per read */
	uint64_t *hash; /* content hash of each file, from the manifest */
};

/* The file of task k, e.g. "f000003.dat", and its path under the directory. */
#define FILES_NAME_LEN 16
void files_name(size_t k, char out[FILES_NAME_LEN]);
/* 0, or -1 (ENAMETOOLONG) when the path does not fit. */
int files_path(const struct files_set *set, size_t k, char *out, size_t len);

/* The content stream of file k: the data set's seed mixed with the index. */
uint64_t files_file_seed(uint64_t seed, size_t k);

/* A finished read of file k as a task result: `bytes` read into hash `h`, or
 * the failed call `op` with errno `err` (err 0: the read went through, so the
 * length and the hash are checked against the manifest). */
struct task_result files_task_result(const struct files_set *set, size_t k, uint64_t bytes,
                                     const struct content_hash *h, const char *op, int err);

/* ---- the event loop's backends (files_async.c) ----------------------------- */

enum files_backend { FILES_BACKEND_AUTO, FILES_BACKEND_IO_URING, FILES_BACKEND_THREADPOOL };

/* What the workload keeps of its binding to the current loop: set up on the
 * first submit that names a new loop, released by the loop's on_free hook. */
struct files_async;
struct files_async_slot {
	enum files_backend want;
	struct loop *loop; /* the loop the backend is bound to, NULL between runs */
	struct files_async *fa;
	const char *used;  /* "io_uring" or "threadpool" once bound; NULL before */
	char fallback[48]; /* why auto did not get io_uring ("" when it did) */
};

/* Reads file i on the loop without blocking it; done(arg, i, result) on the
 * loop thread when the read is over. 0, or -1 with errno. */
int files_async_submit(struct files_async_slot *slot, const struct files_set *set, size_t i,
                       struct loop *loop, task_done_fn done, void *arg);

#endif
