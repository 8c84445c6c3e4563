/* The workload interface: a deterministic list of tasks that every strategy runs.
 *
 * A workload fills in one struct workload_ops and adds a line to the table in
 * workloads/registry.c. Runners only ever see this header (and loop.h). */
#ifndef CONCBENCH_WORKLOAD_H
#define CONCBENCH_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/checksum.h"
#include "lib/params.h"

struct loop;
struct task_ctx;

/* The lock's check points. A runner with no lock leaves ctx->hooks NULL, so a
 * hook costs the kernel one predictable, never-taken branch. */
struct task_hooks {
	void (*tick)(struct task_ctx *ctx);
	void (*io_begin)(struct task_ctx *ctx);
	void (*io_end)(struct task_ctx *ctx);
};

struct task_ctx {
	const struct task_hooks *hooks;
	void *lock_state; /* the runner's per-worker lock state, opaque here */
	int worker;       /* which worker runs the task, 0-based */
};

static inline void task_tick(struct task_ctx *ctx)
{
	if (__builtin_expect(ctx != NULL && ctx->hooks != NULL, 0))
		ctx->hooks->tick(ctx);
}

static inline void task_io_begin(struct task_ctx *ctx)
{
	if (ctx != NULL && ctx->hooks != NULL)
		ctx->hooks->io_begin(ctx);
}

static inline void task_io_end(struct task_ctx *ctx)
{
	if (ctx != NULL && ctx->hooks != NULL)
		ctx->hooks->io_end(ctx);
}

#define TASK_ERROR_LEN 160

/* Fixed size and pointer-free so that it can travel over a pipe from a forked
 * worker unchanged. */
struct task_result {
	uint64_t checksum; /* this task's contribution; combined by addition */
	uint64_t items;    /* the workload's natural count: primes found, requests made */
	uint64_t bytes;    /* bytes moved (I/O workloads) */
	double latency_s;  /* filled in by the runner around run_task/submit */
	bool done;         /* set by the runner: the task ran (failed or not) */
	uint32_t connects; /* network connections the task opened (http) */
	bool failed;
	char error[TASK_ERROR_LEN];
};

enum workload_kind { WORKLOAD_CPU, WORKLOAD_IO, WORKLOAD_MIXED };

/* Something a workload reports about its latest run beyond the tasks' own
 * figures (the page-cache share resident before a cold read, the I/O backend
 * used): a number, or a word when text is not empty. */
#define WORKLOAD_FACTS_MAX 8
struct workload_fact {
	char name[48];
	double value;
	char text[48];
};

struct workload;

typedef void (*task_done_fn)(void *arg, size_t task, struct task_result result);

/* resize's grow for sizes that must keep their work (the python sizes, whose
 * interpreted runs are sized to last under a second). */
#define WORKLOAD_KEEP_WORK 0.0

struct workload_ops {
	const char *name;
	enum workload_kind kind;
	const char *description;
	const struct param_def *params; /* terminated by an entry with key NULL */

	/* Outside the timed region. Return 0, or -1 with a one-line reason in err. */
	int (*setup)(struct workload *w, char *err, size_t errlen);
	void (*teardown)(struct workload *w);

	size_t (*task_count)(const struct workload *w);

	/* Outside the timed region, before every run: reset per-run state. May be NULL. */
	void (*before_run)(struct workload *w);

	/* Run task i to completion, blocking; call the ctx hooks as the kernel goes. */
	struct task_result (*run_task)(const struct workload *w, size_t i, struct task_ctx *ctx);

	/* Start task i on the event loop without blocking and call done when it
	 * ends. NULL for CPU workloads: the loop then runs run_task inline. */
	int (*submit)(const struct workload *w, size_t i, struct loop *loop, task_done_fn done,
	              void *arg);

	/* Checks what the parameters' own ranges cannot (one against another, a
	 * format, the machine's memory) before anything is measured: 0, or -1
	 * with err. NULL when the ranges are enough. Must not allocate state. */
	int (*check)(const struct workload *w, char *err, size_t errlen);

	/* The run's expected checksum where the workload knows it; false otherwise. */
	bool (*expected_checksum)(const struct workload *w, uint64_t *out);

	/* The expected total of task_result.items (e.g. the prime count); false if unknown. */
	bool (*expected_items)(const struct workload *w, uint64_t *out);
	const char *items_name; /* what items count, e.g. "primes" */

	/* Facts about the run that just ended, read outside the timed region.
	 * Returns how many it wrote. May be NULL. */
	int (*facts)(const struct workload *w, struct workload_fact *out, int max);

	/* Non-NULL for a workload that downloads from the fixture HTTP server: the
	 * text parameter into which `run` puts the base URL of the server it
	 * starts, unless the user named one (--url). */
	const char *server_url_param;

	/* Its data lives on the host that set it up (files): a strategy whose
	 * workers may run on other hosts (mpi) leaves it out. */
	bool host_local;

	/* Non-NULL for a workload with an I/O stream (mixed): the latest run's
	 * round trip latencies in seconds, those timed with nothing beside the
	 * stream (alone) and those beside the CPU tasks (busy), in the order they
	 * ran. Read after the run ended, outside the timed region; the arrays stay
	 * the workload's and are valid until its next run or teardown. Returns
	 * *n_alone + *n_busy. */
	size_t (*stream_samples)(const struct workload *w, const double **alone, size_t *n_alone,
	                         const double **busy, size_t *n_busy);

	/* A worker process started afresh (the forkserver and spawn strategies)
	 * sets the workload up again from its parameters, as a spawned Python
	 * child re-imports its module. setup_worker, where given, does only what
	 * run_task needs there (no expected answers, no data generated again),
	 * reaching what the parent's set-up shares through the descriptors
	 * shared_fds named, in the same order; NULL: setup serves. */
	int (*setup_worker)(struct workload *w, const int *fds, int n_fds, char *err,
	                    size_t errlen);
	/* The descriptors of the parent's set-up that a fresh worker needs
	 * (shared memory, a socket), at most max; how many. NULL: none. */
	int (*shared_fds)(const struct workload *w, int *fds, int max);
	/* The automatic sizing (bench/sizing.c), before setup: at least min_tasks
	 * tasks, and about `grow` times the total work of the current parameters
	 * (below 1: less work, never fewer than min_tasks tasks),
	 * touching only those -p did not set (params_resize_int). A workload
	 * whose tasks have a least size (triad's arrays, mandelbrot's rows) grows
	 * the work to reach min_tasks; with grow == WORKLOAD_KEEP_WORK it stops
	 * short of min_tasks instead, at the most tasks the same work allows.
	 * NULL for a workload whose size does not follow the machine. */
	void (*resize)(struct workload *w, uint64_t min_tasks, double grow);
	/* The workload's Python twin (py/workloads/NAME.py), run by the py-*
	 * strategies (runners/python.c). python_sizes, python_quick_sizes:
	 * "KEY=VALUE,..." the interpreted cells run at (so that py-serial takes
	 * well under a second), NULL for the C sizes. python_inputs: after
	 * setup, the values the twin checks its bytes against (digests the
	 * interpreter computes in C, so that every byte is verified), as lines
	 * "input KEY VALUE..." of the driver's request (py/driver.py); 0, or -1
	 * with err. NULL when the twin needs none. */
	const char *python_sizes, *python_quick_sizes;
	int (*python_inputs)(const struct workload *w, FILE *out, char *err, size_t errlen);
};

/* The most descriptors a workload shares with fresh workers (shared_fds). */
#define WORKLOAD_SHARED_FDS_MAX 4

struct workload {
	const struct workload_ops *ops;
	struct param_values params;
	void *state; /* owned by the workload between setup and teardown */
};

/* The registry (workloads/registry.c). */
const struct workload_ops *const *workload_table(void);
const struct workload_ops *workload_find(const char *name);
const char *workload_kind_name(enum workload_kind kind);

#endif
