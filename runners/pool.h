/* The worker-process pool that the three start methods share (processes:
 * fork, forkserver, spawn), as Python's ProcessPoolExecutor is one pool over
 * multiprocessing's start methods. Tasks are handed out through an atomic
 * counter in a shared memory file; every result comes back over the worker's
 * own pipe, as a pickle would. A worker that dies is reported with its signal
 * and the task it held; its pipe's end-of-file is what tells the parent, so
 * nothing waits forever. Placement, observed CPUs and each worker's start-up
 * are recorded alike whatever started the worker.
 *
 * A start method says how worker `id` comes to life and how its exit status
 * is learnt; the rest is the pool's. */
#ifndef CONCBENCH_POOL_H
#define CONCBENCH_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runners/runner.h"
#include "lib/params.h"

#define POOL_NO_TASK ((long)-1)

/* Lives in memory shared with the workers (a memory file, so that a worker
 * started afresh can map it too). */
struct pool_queue {
	atomic_size_t next;
	atomic_long current[]; /* the task each worker is running, POOL_NO_TASK between */
};

/* What the parent holds for one run of the pool. */
struct pool_run {
	const struct run_spec *spec;
	struct run_result *res;
	struct pool_queue *q;
	int queue_fd;
	size_t queue_len;
	double created; /* when the first worker was asked for: start-up counts from here */
	const struct pool_method *method;
	/* The read ends of the workers started so far, which a forked worker
	 * must close, or their end-of-file would wait for it too. */
	int *read_ends;
	int n_read_ends;
	void *method_state; /* the start method's own, per worker or per run */
};

struct pool_method {
	/* Starts worker id, whose results go to result_fd (the pipe's write end,
	 * which the parent closes afterwards). Its pid, or -1 with the run failed. */
	pid_t (*start)(struct pool_run *p, int id, int result_fd);
	/* After the worker's pipe has closed: its wait status, or -1 when it
	 * cannot be known (the run is then failed with why). */
	int (*reap)(struct pool_run *p, int id, pid_t pid);
	/* Optional: once per run, before the first start / after the last reap. */
	int (*begin)(struct pool_run *p);
	void (*end)(struct pool_run *p);
};

/* Run every task of spec->workload on spec->workers processes that method starts. */
int pool_run(const struct run_spec *spec, struct run_result *res, const struct pool_method *method);

/* ---- inside a worker ----------------------------------------------------------------------------
 */

/* A worker started afresh finds its descriptors here: its result pipe, the
 * pipe its start message comes on, the task queue, then the trace (when the
 * run is traced) and the workload's shared descriptors. */
enum { POOL_FD_RESULT = 3, POOL_FD_START = 4, POOL_FD_QUEUE = 5, POOL_FD_REST = 6 };

/* What a fresh worker is told before it starts: enough to set the workload up
 * again from its parameters and to join the pool. */
struct pool_start_message {
	char workload[64];
	struct param_values params; /* defs is the parent's pointer: set again */
	int id, cpu, workers;
	size_t tasks;
	double created;
	size_t queue_len;
	int trace_lanes; /* 0: not traced */
	size_t trace_events;
	int n_workload_fds;
};

/* The descriptors, parent side, a fresh worker must hold (in the order of the
 * enum above, from POOL_FD_RESULT on): how many, at most max. */
int pool_fresh_fds(const struct pool_run *p, int result_fd, int *fds, int max);
/* The start message for worker id. */
void pool_start_message(const struct pool_run *p, int id, struct pool_start_message *m);

/* A fresh worker's life, its descriptors in place: read the start message,
 * set the workload up, run tasks, report, exit. topology: the one to bind
 * with (a fork server's), NULL to load one (a spawned program). */
_Noreturn void pool_fresh_worker_main(hwloc_topology_t topology);

/* A forked worker's life (processes), the workload inherited set up. */
_Noreturn void pool_forked_worker_main(struct pool_run *p, int id, int fd);

#endif
