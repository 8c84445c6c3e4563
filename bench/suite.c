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

/* The worker counts of one workload: the run's sweep, and for I/O workloads
 * under the default sweep also 8 and 32 tasks in flight, where waiting, not
 * cores, sets the pace. */
int suite_workload_sweep(const struct bench_run *run, const struct bench_workload *bw, int *out)
{
	int n = run->n_sweep;
	memcpy(out, run->sweep, sizeof(int) * (size_t)n);
	if (run->cfg.n_workers > 0 || bw->w.ops->kind != WORKLOAD_IO)
		return n;
	static const int in_flight[] = {8, 32};
	for (size_t k = 0; k < sizeof(in_flight) / sizeof(in_flight[0]); k++)
		if (in_flight[k] > out[n - 1] && n < CLI_MAX_LIST)
			out[n++] = in_flight[k];
	return n;
}

/* The default suite's parent-memory sweep: threads and processes at the core
 * count on the first I/O workload, with the parent holding 256 MiB and 1 GiB
 * (64 and 256 MiB under --quick),
 * which is what fork has to copy the page tables of (claim 4). */
int suite_add_ballast_sweep(struct bench_run *run, char *err, size_t errlen)
{
	static const int full[] = {256, 1024}, quick[] = {64, 256};
	const int *ballast = run->cfg.quick ? quick : full;
	const struct runner_ops *pair[] = {runner_find("threads"), runner_find("processes")};
	struct bench_workload *io = NULL;
	for (int i = 0; i < run->n_workloads && io == NULL; i++)
		if (run->workloads[i].w.ops->kind == WORKLOAD_IO && run->workloads[i].n_only == 0)
			io = &run->workloads[i];
	if (io == NULL || !run->cfg.default_suite || run->cfg.n_ballast > 0)
		return 0;
	for (size_t p = 0; p < 2; p++) {
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
