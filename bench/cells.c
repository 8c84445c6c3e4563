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

static double wall_of(const struct sample *s)
{
	return s->wall_s;
}

static double cpu_of(const struct sample *s)
{
	return s->user_s + s->sys_s;
}

/* The cores a cell's threads can keep busy at once: its threads, at most the
 * places its plan spreads them over. */
static int cell_cores(const struct cell *c)
{
	int threads = cell_threads(c);
	return c->plan.targets > 0 && c->plan.targets < threads ? c->plan.targets : threads;
}

static void summarize_cpu(const struct cell *c, struct summary *out)
{
	double v[c->n_samples > 0 ? c->n_samples : 1];
	for (int i = 0; i < c->n_samples; i++)
		v[i] = cpu_of(&c->samples[i]);
	summarize(v, (size_t)c->n_samples, out);
}

/* Below this share of serial's wall time spent on a CPU, serial mostly waits
 * (sleep, I/O) and CPU time says nothing about the work. */
#define SERIAL_BUSY_MIN 0.5

/* cpu_vs_serial and cores_busy (bench/run.h): the two reasons a speedup
 * falls short of the cores, told apart. Under a lock the cores sit idle;
 * with contention for a shared cache, memory or a core's execution units,
 * or a pool's own work, the same tasks cost more CPU time. */
static void cpu_breakdown(const struct cell *base, struct cell *c)
{
	c->cpu_vs_serial = (struct ratio){NAN, NAN, NAN};
	c->cores_busy = NAN;
	if (c->n_samples == 0 || c->bw->w.ops->kind != WORKLOAD_CPU ||
	    c->runner->workers_cpu_unseen)
		return;
	double busy[c->n_samples];
	size_t n = 0;
	for (int i = 0; i < c->n_samples; i++) {
		const struct sample *s = &c->samples[i];
		if (s->wall_s > 0)
			busy[n++] = cpu_of(s) / (s->wall_s * cell_cores(c));
	}
	c->cores_busy = median_of(busy, n);
	if (base == NULL || base->n_samples == 0 ||
	    sample_median(base, cpu_of) < SERIAL_BUSY_MIN * sample_median(base, wall_of))
		return;
	struct summary cpu, base_cpu;
	summarize_cpu(c, &cpu);
	summarize_cpu(base, &base_cpu);
	c->cpu_vs_serial = speedup_of(&cpu, &base_cpu);
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
	cpu_breakdown(base, c);
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
