/* The default suite: what `run` adds to the plain matrix when -w is not given,
 * so that every claim (readers/claims.c) has the cells it is judged on: the
 * in-flight sweep of the I/O workloads (8 and 32 tasks, for claims 3, 4 and 6),
 * the release_gil variant (claim 7) and the parent-memory sweep (claim 4). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <malloc.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench/run.h"
#include "readers/tasksweep.h"

/* The worker counts of one workload: the run's sweep, and for I/O workloads
 * under the default sweep also 8 and 32 tasks in flight, where waiting, not
 * cores, sets the pace. */
int suite_workload_sweep(const struct bench_run *run, const struct bench_workload *bw, int *out)
{
	if (bw->workers_only > 0) {
		out[0] = bw->workers_only;
		return 1;
	}
	int n = run->n_sweep;
	memcpy(out, run->sweep, sizeof(int) * (size_t)n);
	if (run->cfg.n_workers > 0 || bw->w.ops->kind != WORKLOAD_IO)
		return n;
	/* An I/O pool with one worker is the serial loop again (serial's cell is
	 * that point of the curve), and no claim reads it: the default suite's
	 * time goes to the counts in flight instead. */
	if (run->cfg.default_suite && n > 1 && out[0] == 1) {
		memmove(out, out + 1, sizeof(int) * (size_t)(n - 1));
		n--;
	}
	static const int in_flight[] = {8, 32};
	for (size_t k = 0; k < sizeof(in_flight) / sizeof(in_flight[0]); k++)
		if (in_flight[k] > out[n - 1] && n < CLI_MAX_LIST)
			out[n++] = in_flight[k];
	return n;
}

/* The default suite's parent-memory sweep: threads and the process start methods at the core
 * count on the first I/O workload, with the parent holding 256 MiB and 1 GiB
 * (64 and 256 MiB under --quick),
 * which is what fork has to copy the page tables of (claim 4). */
int suite_add_ballast_sweep(struct bench_run *run, char *err, size_t errlen)
{
	static const int full[] = {256, 1024}, quick[] = {64, 256};
	const int *ballast = run->cfg.quick ? quick : full;
	/* Every process start method, so that claim 4 shows fork's start-up grow
	 * with the parent's memory and forkserver's and spawn's not. */
	const struct runner_ops *pair[] = {runner_find("threads"), runner_find("processes"),
	                                   runner_find("forkserver"), runner_find("spawn")};
	struct bench_workload *io = NULL;
	for (int i = 0; i < run->n_workloads && io == NULL; i++)
		if (run->workloads[i].w.ops->kind == WORKLOAD_IO && run->workloads[i].n_only == 0)
			io = &run->workloads[i];
	if (io == NULL || !run->cfg.default_suite || run->cfg.n_ballast > 0)
		return 0;
	for (size_t p = 0; p < sizeof(pair) / sizeof(pair[0]); p++) {
		bool chosen = false;
		for (int si = 0; si < run->cfg.n_strategies; si++)
			chosen |= run->cfg.strategies[si] == pair[p];
		for (size_t b = 0; chosen && b < 2; b++)
			if (matrix_add_cell(run, io, pair[p], run->sweep[run->n_sweep - 1],
			                    ballast[b], err, errlen) != 0)
				return -1;
	}
	return 0;
}

/* The default suite runs the first CPU workload that can release the lock a
 * second time with release_gil=1, under serial (its baseline) and gil: the
 * NumPy case of claim 7. */
void suite_add_release_gil_variant(struct bench_run *run)
{
	const struct runner_ops *want[] = {runner_find("serial"), runner_find("gil")};
	for (int i = 0; i < run->cfg.n_workloads; i++) {
		const struct workload_ops *ops = run->cfg.workloads[i];
		char why[160];
		if (ops->kind != WORKLOAD_CPU ||
		    params_find(ops->params, "release_gil", NULL) == NULL)
			continue;
		struct bench_workload *v = &run->workloads[run->n_workloads];
		v->w.ops = ops;
		params_init(&v->w.params, ops->params, run->cfg.quick);
		if (apply_overrides(&run->cfg, ops, &v->w.params, why, sizeof(why)) != 0)
			return;
		sizing_apply(run, v);
		if (params_set_internal(&v->w.params, "release_gil", "1", why, sizeof(why)) != 0)
			return;
		snprintf(v->variant, sizeof(v->variant), "release_gil=1");
		for (int si = 0; si < run->cfg.n_strategies; si++)
			for (size_t k = 0; k < 2; k++)
				if (run->cfg.strategies[si] == want[k])
					v->only[v->n_only++] = want[k];
		if (v->n_only == 2)
			run->n_workloads++;
		else
			memset(v, 0, sizeof(*v));
		return;
	}
}

/* ---- the task-size sweep ----------------------------------------------------- */

/* The same total work (LIMIT) cut into more and more tasks, each a tenth the
 * size of the last: about 100 ms down to about 10 us a task where serial
 * primes below 5 million takes half a second, and one step further, to about
 * 1 us, where a pool that sends each result over a pipe (as Python's does)
 * pays more for the sending than for the task; smaller under --quick. The
 * sizes the readers report are measured (serial's median over the count). */
static const long sweep_tasks_full[SUITE_TASK_SIZES] = {6, 60, 600, 6000, 60000, 600000};
static const long sweep_tasks_quick[SUITE_TASK_SIZES] = {2, 20, 200, 2000, 20000, 200000};
#define SWEEP_LIMIT_FULL  "5000000"
#define SWEEP_LIMIT_QUICK "1000000"

/* The first chosen CPU workload whose work is a bound cut into ranges. */
static const struct workload_ops *task_sweep_workload(const struct bench_run *run)
{
	for (int i = 0; i < run->cfg.n_workloads; i++) {
		const struct workload_ops *ops = run->cfg.workloads[i];
		if (ops->kind == WORKLOAD_CPU && params_find(ops->params, "tasks", NULL) != NULL &&
		    params_find(ops->params, "limit", NULL) != NULL)
			return ops;
	}
	return NULL;
}

/* Serial (the baseline), threads and every process start method, of those chosen. */
static int task_sweep_strategies(const struct bench_run *run, const struct runner_ops **out)
{
	static const char *const names[] = {"serial", "threads", "processes", "forkserver",
	                                    "spawn"};
	int n = 0;
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		for (int si = 0; si < run->cfg.n_strategies; si++)
			if (run->cfg.strategies[si] == runner_find(names[k]))
				out[n++] = run->cfg.strategies[si];
	return n;
}

static bool add_task_size_variant(struct bench_run *run, const struct workload_ops *ops, long tasks,
                                  const struct runner_ops *const *want, int n_want)
{
	struct bench_workload *v = &run->workloads[run->n_workloads];
	char why[160], count[24];
	memset(v, 0, sizeof(*v));
	v->w.ops = ops;
	params_init(&v->w.params, ops->params, run->cfg.quick);
	snprintf(count, sizeof(count), "%ld", tasks);
	if (apply_overrides(&run->cfg, ops, &v->w.params, why, sizeof(why)) != 0 ||
	    (!param_set_by_user(&v->w.params, "limit") &&
	     params_set_internal(&v->w.params, "limit",
	                         run->cfg.quick ? SWEEP_LIMIT_QUICK : SWEEP_LIMIT_FULL, why,
	                         sizeof(why)) != 0) ||
	    tasks > param_get(&v->w.params, "limit") ||
	    params_set_internal(&v->w.params, "tasks", count, why, sizeof(why)) != 0) {
		memset(v, 0, sizeof(*v));
		return false;
	}
	snprintf(v->variant, sizeof(v->variant), TASK_SWEEP_VARIANT "tasks=%ld", tasks);
	for (int k = 0; k < n_want; k++)
		v->only[v->n_only++] = want[k];
	v->workers_only = run->sweep[run->n_sweep - 1];
	run->n_workloads++;
	return true;
}

/* The default suite (and run --task-sweep) measures the first CPU workload
 * cut into tasks of every size under serial, threads and the process start
 * methods at the core count: the article's "for shorter-running tasks ...
 * multiprocessing lower performance than multithreaded", and where that
 * starts (readers/tasksweep.c). Left out when -p sets the task count. */
void suite_add_task_size_sweep(struct bench_run *run)
{
	const struct workload_ops *ops = task_sweep_workload(run);
	const struct runner_ops *want[8];
	int n_want = task_sweep_strategies(run, want);
	if (ops == NULL || n_want < 3 || want[0] != runner_find("serial") ||
	    want[1] != runner_find("threads"))
		return;
	struct param_values user;
	char why[160];
	params_init(&user, ops->params, run->cfg.quick);
	if (apply_overrides(&run->cfg, ops, &user, why, sizeof(why)) != 0 ||
	    param_set_by_user(&user, "tasks"))
		return;
	const long *tasks = run->cfg.quick ? sweep_tasks_quick : sweep_tasks_full;
	for (int k = 0; k < SUITE_TASK_SIZES; k++)
		add_task_size_variant(run, ops, tasks[k], want, n_want);
}

/* The default suite runs a strategy with suite_cpu_at_cores (mpi) on the CPU
 * workloads at the core count only: each worker count is a pool of ranks to
 * spawn, and the CPU workloads at the core count are where it has a case. */
bool suite_leaves_out(const struct bench_run *run, const struct bench_workload *bw,
                      const struct runner_ops *r, int workers)
{
	if (!run->cfg.default_suite || !r->suite_cpu_at_cores)
		return false;
	return bw->w.ops->kind != WORKLOAD_CPU || workers != run->sweep[run->n_sweep - 1];
}
