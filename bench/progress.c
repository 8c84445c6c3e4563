/* The progress line of `concbench run` on stderr: rewritten in place on a
 * terminal, one line per finished or failed cell otherwise. */
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

static void format_duration(double s, char *buf, size_t len)
{
	long t = isfinite(s) && s > 0 ? (long)(s + 0.5) : 0;
	if (t >= 3600)
		snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

void cell_label(const struct cell *c, char *buf, size_t len)
{
	int k = snprintf(buf, len, "%s%s%s %s n=%d", c->bw->w.ops->name,
	                 c->bw->variant[0] ? ":" : "", c->bw->variant, c->runner->name, c->workers);
	if (c->ballast_mb > 0 && k > 0 && (size_t)k < len)
		snprintf(buf + k, len - (size_t)k, " ballast=%dM", c->ballast_mb);
}

/* What is left: the calibration's estimate of the runs not done, corrected
 * by how the runs done so far compared with theirs; without a calibration,
 * the mean run so far times the runs left. */
static double eta_s(const struct bench_run *run, double spent)
{
	double left = sizing_remaining_s(run);
	if (!isfinite(left)) {
		double per_run = run->runs_done > 0 ? spent / run->runs_done : NAN;
		return per_run * (run->total_runs - run->runs_done);
	}
	double all = 0;
	for (int i = 0; i < run->n_cells; i++)
		all += run->cells[i].est_once_s +
		       run->cells[i].est_run_s * (run->cfg.warmup + run->cfg.reps);
	double done = all - left;
	double pace = done > 0 && spent > 0 ? spent / done : 1.0;
	pace = pace < 0.5 ? 0.5 : pace > 2.0 ? 2.0 : pace;
	return left * pace;
}

/* On a terminal, one line rewritten after every run: the cell, the
 * repetition, the time so far and an estimate of what is left. */
static void show_live_line(struct bench_run *run, const struct cell *c, const char *phase)
{
	char label[128], elapsed[32], eta[32];
	double now = monotonic_now();
	cell_label(c, label, sizeof(label));
	format_duration(now - run->began_mono, elapsed, sizeof(elapsed));
	format_duration(eta_s(run, now - run->started_mono), eta, sizeof(eta));
	fprintf(stderr, "\r\033[K[%d/%d] %s, %s  elapsed %s  ETA %s", run->runs_done,
	        run->total_runs, label, phase, elapsed, eta);
	fflush(stderr);
}

/* A line that stays: a failed cell, or (off a terminal, as in CI logs) a
 * finished one, in the order they finish: k/N cells, the time so far and
 * what is left. */
static void show_cell_line(struct bench_run *run, const struct cell *c)
{
	char label[128], elapsed[32], eta[32], where[96];
	double now = monotonic_now();
	cell_label(c, label, sizeof(label));
	format_duration(now - run->began_mono, elapsed, sizeof(elapsed));
	format_duration(eta_s(run, now - run->started_mono), eta, sizeof(eta));
	snprintf(where, sizeof(where), "[%d/%d] ", run->cells_done, run->n_cells);
	if (run->live_progress)
		fprintf(stderr, "\r\033[K");
	if (c->error[0] != '\0')
		fprintf(stderr, "%s%s: error: %s\n", where, label, c->error);
	else
		fprintf(stderr, "%s%s: median %.4f s over %d runs; elapsed %s, ETA %s\n", where,
		        label, c->wall.median, c->n_samples, elapsed, eta);
}

void progress(struct bench_run *run, const struct cell *c, const char *phase, bool failed_now,
              bool cell_done)
{
	run->runs_done++;
	if (failed_now || cell_done)
		run->cells_done++;
	if (run->cfg.quiet)
		return;
	if (failed_now || (cell_done && !run->live_progress))
		show_cell_line(run, c);
	if (run->live_progress)
		show_live_line(run, c, phase);
}
