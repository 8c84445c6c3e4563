/* Per-cell figures derived from the samples: statistics, speedup over the
 * workload's serial cell, efficiency, throughput and warnings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/run.h"

#define CV_WARN        0.10
#define SHORT_SAMPLE_S 0.005
#define STEAL_WARN     0.05 /* of all CPUs' time, median over the repetitions */

double sample_median(const struct cell *c, double (*field)(const struct sample *))
{
	double v[c->n_samples > 0 ? c->n_samples : 1];
	size_t n = 0;
	for (int i = 0; i < c->n_samples; i++) {
		double x = field(&c->samples[i]);
		if (isfinite(x))
			v[n++] = x;
	}
	return median_of(v, n);
}

static double steal_of(const struct sample *s)
{
	return s->steal_share;
}

/* The serial cell a cell's speedup is measured against: same workload, and
 * the same ballast where serial ran with it, else none; py-serial for the
 * interpreted strategies. */
const struct cell *serial_cell_of(const struct bench_run *run, const struct cell *of)
{
	const struct cell *fallback = NULL;
	for (int i = 0; i < run->n_cells; i++) {
		const struct cell *c = &run->cells[i];
		if (c->bw != of->bw || !c->runner->single_worker) /* serial: the one baseline */
			continue;
		if (c->runner->interpreted != of->runner->interpreted) /* py-serial for py-* */
			continue;
		if (c->ballast_mb == of->ballast_mb)
			return c;
		if (c->ballast_mb == 0)
			fallback = c;
	}
	return fallback;
}

static void warn(struct cell *c, const char *fmt, double a, double b)
{
	if (c->n_warnings < (int)(sizeof(c->warnings) / sizeof(c->warnings[0])))
		snprintf(c->warnings[c->n_warnings++], sizeof(c->warnings[0]), fmt, a, b);
}

int cell_threads(const struct cell *c)
{
	return c->runner->single_thread ? 1 : c->workers;
}

void cell_summarize(struct bench_run *run, struct cell *c)
{
	double *wall = calloc((size_t)c->n_samples + 1, sizeof(*wall));
	double shortest = INFINITY;
	for (int i = 0; wall != NULL && i < c->n_samples; i++) {
		wall[i] = c->samples[i].wall_s;
		shortest = fmin(shortest, wall[i]);
	}
	summarize(wall, wall ? (size_t)c->n_samples : 0, &c->wall);
	free(wall);

	const struct cell *base = serial_cell_of(run, c);
	c->speedup = (struct ratio){NAN, NAN, NAN};
	if (base != NULL && base->n_samples > 0 && c->n_samples > 0)
		c->speedup = speedup_of(&base->wall, &c->wall);
	c->efficiency = c->speedup.value / cell_threads(c);
	c->throughput = c->n_samples > 0 ? (double)c->tasks / c->wall.median : NAN;

	c->n_warnings = 0;
	if (c->n_samples >= 2 && c->wall.cv > CV_WARN)
		warn(c, "wall-time CV %.1f%% exceeds %.0f%%: the machine is noisy",
		     100 * c->wall.cv, 100 * CV_WARN);
	if (shortest < SHORT_SAMPLE_S)
		warn(c, "a sample took %.2f ms, under %.0f ms: timer and start-up noise dominate",
		     1e3 * shortest, 1e3 * SHORT_SAMPLE_S);
	double steal = sample_median(c, steal_of);
	if (steal > STEAL_WARN)
		warn(c,
		     "the hypervisor took %.0f%% of the CPUs' time during the runs (steal): "
		     "speedups and latencies here understate the machine",
		     100 * steal, 0.0);
	/* More workers than tasks: the extra ones sit idle, and the efficiency
	 * (speedup per worker) counts them. */
	if (c->tasks > 0 && (size_t)cell_threads(c) > c->tasks && !c->runner->single_worker)
		warn(c,
		     "%.0f workers for %.0f tasks: the extra ones have nothing to do, and the "
		     "efficiency counts them (raise the task count with -p)",
		     cell_threads(c), (double)c->tasks);
	/* For I/O, more tasks in flight than cores is the point, not a caveat. */
	if (c->plan.wrapped && c->plan.policy != PIN_SINGLE && c->bw->w.ops->kind != WORKLOAD_IO)
		warn(c, "%.0f workers over %.0f places: placement wrapped around", c->workers,
		     c->plan.targets);
}
