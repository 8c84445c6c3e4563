/* The run matrix: the cells of every workload under every strategy and worker
 * count, and the order they run in (shuffled anew each repetition). */
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

static uint64_t next_random(uint64_t *state)
{
	/* xorshift64*: enough to shuffle a few dozen cells reproducibly from --seed. */
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

void shuffle_cells(struct cell **order, int n, uint64_t *rng)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(next_random(rng) % (uint64_t)(i + 1));
		struct cell *t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
}

int matrix_add_cell(struct bench_run *run, struct bench_workload *bw, const struct runner_ops *r,
                    int workers, int ballast_mb, char *err, size_t errlen)
{
	struct cell *c = &run->cells[run->n_cells];
	memset(c, 0, sizeof(*c));
	c->bw = bw;
	c->runner = r;
	c->workers = workers;
	c->ballast_mb = ballast_mb;
	c->samples = calloc((size_t)run->cfg.reps, sizeof(*c->samples));
	c->memo = calloc(1, sizeof(*c->memo));
	if (c->samples == NULL || c->memo == NULL ||
	    placement_plan_make(run->topology, run->cfg.pin, cell_threads(c), &c->plan, err,
	                        errlen) != 0)
		return -1;
	run->n_cells++;
	return 0;
}

static bool strategy_allowed(const struct bench_workload *bw, const struct runner_ops *r)
{
	if (r->interpreted && bw->has_python_variant)
		return false;
	if (bw->n_only == 0)
		return true;
	for (int i = 0; i < bw->n_only; i++)
		if (bw->only[i] == r)
			return true;
	return false;
}

/* A strategy that cannot run a workload (mpi and files) leaves its cells out,
 * and says so once. */
static bool strategy_runs(const struct bench_run *run, const struct bench_workload *bw,
                          const struct runner_ops *r, int ballast_index)
{
	const char *why = r->cannot_run != NULL ? r->cannot_run(bw->w.ops) : NULL;
	/* the default suite's choice, not the user's: docs/mpi.md lists them */
	if (why != NULL && ballast_index == 0 && !run->cfg.quiet && !run->cfg.default_suite)
		fprintf(stderr, "note: %s leaves out %s: %s\n", r->name, bw->w.ops->name, why);
	return why == NULL;
}

/* serial runs once per workload and ballast with one worker: it is the baseline. */
static int build_workload_cells(struct bench_run *run, struct bench_workload *bw, char *err,
                                size_t errlen)
{
	int sweep[CLI_MAX_LIST];
	int n_sweep = suite_workload_sweep(run, bw, sweep);
	int zero = 0;
	const int *ballast = run->cfg.n_ballast > 0 ? run->cfg.ballast_mb : &zero;
	int n_ballast = run->cfg.n_ballast > 0 ? run->cfg.n_ballast : 1;
	for (int bi = 0; bi < n_ballast; bi++) {
		for (int si = 0; si < run->cfg.n_strategies; si++) {
			const struct runner_ops *r = run->cfg.strategies[si];
			bool one = r->single_worker;
			if (!strategy_allowed(bw, r) || !strategy_runs(run, bw, r, bi))
				continue;
			for (int k = 0; k < (one ? 1 : n_sweep); k++)
				if (!suite_leaves_out(run, bw, r, sweep[k]) &&
				    matrix_add_cell(run, bw, r, one ? 1 : sweep[k], ballast[bi],
				                    err, errlen) != 0)
					return -1;
		}
	}
	return 0;
}

int build_cells(struct bench_run *run, char *err, size_t errlen)
{
	size_t per_workload = (size_t)run->cfg.n_strategies * (size_t)(run->n_sweep + 2) *
	                      (size_t)(run->cfg.n_ballast > 0 ? run->cfg.n_ballast : 1);
	/* + the ballast sweep's cells (suite.c) */
	run->cells = calloc((size_t)run->n_workloads * per_workload + 16, sizeof(*run->cells));
	if (run->cells == NULL) {
		snprintf(err, errlen, "out of memory for the cells");
		return -1;
	}
	for (int wi = 0; wi < run->n_workloads; wi++)
		if (!run->workloads[wi].dropped &&
		    build_workload_cells(run, &run->workloads[wi], err, errlen) != 0)
			return -1;
	if (run->n_cells == 0) {
		/* every strategy chosen left every workload chosen out */
		snprintf(err, errlen,
		         "no cell to run: the strategies chosen run none of the "
		         "workloads chosen (see the notes above)");
		return -1;
	}
	return suite_add_ballast_sweep(run, err, errlen);
}
