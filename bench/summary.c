/* The table printed at the end of `concbench run`: per workload, each cell's
 * median and interval, its speedup over serial and its efficiency. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/run.h"

static void print_workload_header(const struct bench_workload *bw, FILE *out)
{
	const struct workload_ops *ops = bw->w.ops;
	fprintf(out, "\n%s%s%s (%s): %s\n", ops->name, bw->variant[0] ? ":" : "", bw->variant,
	        workload_kind_name(ops->kind), ops->description);
	if (bw->has_expected_items)
		fprintf(out, "  expected answer: %llu %s\n", (unsigned long long)bw->expected_items,
		        ops->items_name);
	fprintf(out, "  %-10s %7s %10s %23s %9s %10s  %s\n", "strategy", "workers", "median s",
	        "95% interval of median", "speedup", "efficiency", "checksum");
}

static double share_at_least(const struct pool *p, double threshold)
{
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++)
		k += p->v[i] >= threshold;
	return p->n > 0 ? (double)k / (double)p->n : NAN;
}

/* mixed: what the CPU work beside the I/O stream did to its round trips, as
 * the result file's convoy object has it (same bootstrap, same seed). */
static void print_convoy_line(const struct bench_run *run, const struct cell *c, FILE *out)
{
	double threshold = (double)run->cfg.switch_interval_us * 1e-6 / 2;
	struct ratio r =
	    bootstrap_ratio_of_means(c->stream_busy.v, c->stream_busy.n, c->stream_alone.v,
	                             c->stream_alone.n, 2000, run->cfg.seed);
	if (!isfinite(r.value)) {
		fprintf(out, "  %-10s %7s  round trips: %zu alone, %zu beside the CPU tasks\n", "",
		        "", c->stream_alone.n, c->stream_busy.n);
		return;
	}
	fprintf(out,
	        "  %-10s %7s  round trip beside the CPU tasks %.3gx the one alone [%.3g, %.3g]; "
	        "%.1f%% of them >= %.3g ms (alone %.1f%%)\n",
	        "", "", r.value, r.lo, r.hi, 100 * share_at_least(&c->stream_busy, threshold),
	        threshold * 1e3, 100 * share_at_least(&c->stream_alone, threshold));
}

#define EFFICIENCY_EXPLAINED 0.9 /* below it, a parallel cell says where its speedup went */

/* "the work took 1.21x serial's CPU time; the 2 cores were busy 94%": a
 * lock leaves cores idle, contention makes the same work cost more. */
static void print_cpu_line(const struct cell *c, FILE *out)
{
	if (cell_threads(c) < 2 || !isfinite(c->cores_busy) || !isfinite(c->cpu_vs_serial.value) ||
	    !(c->efficiency < EFFICIENCY_EXPLAINED))
		return;
	fprintf(out,
	        "  %-10s %7s  the same work took %.2fx serial's CPU time [%.2f, %.2f]; its cores "
	        "were busy %.0f%% of the run\n",
	        "", "", c->cpu_vs_serial.value, c->cpu_vs_serial.lo, c->cpu_vs_serial.hi,
	        100 * c->cores_busy);
}

static void print_cell(const struct bench_run *run, const struct cell *c, FILE *out)
{
	if (c->n_samples == 0) {
		fprintf(out, "  %-10s %7d  error: %s\n", c->runner->name, c->workers,
		        c->error[0] ? c->error : "not measured");
		return;
	}
	char interval[48], speedup[32] = "-", efficiency[32] = "-";
	snprintf(interval, sizeof(interval), "[%.4f, %.4f]", c->wall.ci_lo, c->wall.ci_hi);
	/* No serial cell in the run: no speedup to show, rather than "nanx". */
	if (isfinite(c->speedup.value)) {
		snprintf(speedup, sizeof(speedup), "%.2fx", c->speedup.value);
		snprintf(efficiency, sizeof(efficiency), "%.2f", c->efficiency);
	}
	fprintf(out, "  %-10s %7d %10.4f %23s %9s %10s  %s\n", c->runner->name, c->workers,
	        c->wall.median, interval, speedup, efficiency,
	        c->error[0] ? "ERROR" : (c->checksum_ok ? "ok" : "wrong"));
	if (c->error[0])
		fprintf(out, "  %-10s %7s  error: %s\n", "", "", c->error);
	if (c->ballast_mb > 0)
		fprintf(out,
		        "  %-10s %7s  with %d MiB held by the parent before its workers started\n",
		        "", "", c->ballast_mb);
	if (c->has_stream)
		print_convoy_line(run, c, out);
	print_cpu_line(c, out);
	for (int i = 0; i < c->n_warnings; i++)
		fprintf(out, "  %-10s %7s  warning: %s\n", "", "", c->warnings[i]);
}

/* The best (highest speedup) healthy cell of one strategy for one workload,
 * without ballast. */
static const struct cell *best_of(const struct bench_run *run, const struct bench_workload *bw,
                                  const struct runner_ops *r)
{
	const struct cell *best = NULL;
	for (int i = 0; i < run->n_cells; i++) {
		const struct cell *c = &run->cells[i];
		if (c->bw != bw || c->runner != r || c->ballast_mb != 0 || c->error[0] != '\0' ||
		    c->n_samples == 0 || !isfinite(c->speedup.value))
			continue;
		if (best == NULL || c->speedup.value > best->speedup.value)
			best = c;
	}
	return best;
}

#define TIE 0.05 /* best speedups this close share the win */

static void print_winner(const struct bench_run *run, const struct bench_workload *bw,
                         const struct cell *const *best, FILE *out)
{
	const struct cell *top = NULL;
	for (int si = 0; si < run->cfg.n_strategies; si++)
		if (best[si] != NULL &&
		    (top == NULL || best[si]->speedup.value > top->speedup.value))
			top = best[si];
	if (top == NULL) {
		fprintf(out, "  (no healthy cell)\n");
		return;
	}
	fprintf(out, "  %s", top->runner->name);
	for (int si = 0; si < run->cfg.n_strategies; si++)
		if (best[si] != NULL && best[si] != top &&
		    best[si]->speedup.value >= (1 - TIE) * top->speedup.value)
			fprintf(out, " ~ %s", best[si]->runner->name);
	(void)bw;
	fprintf(out, "\n");
}

/* Per workload: each strategy's best speedup over serial and where it got it,
 * and the winner (strategies within 5% of the best share it). */
static void print_best_table(const struct bench_run *run, FILE *out)
{
	fprintf(
	    out,
	    "\nbest speedup over serial per strategy (at that many workers), and the winner:\n");
	fprintf(out, "  %-24s", "workload");
	for (int si = 0; si < run->cfg.n_strategies; si++)
		fprintf(out, " %-12s", run->cfg.strategies[si]->name);
	fprintf(out, "  winner\n");
	for (int wi = 0; wi < run->n_workloads; wi++) {
		const struct bench_workload *bw = &run->workloads[wi];
		const struct cell *best[CLI_MAX_LIST] = {0};
		if (bw->dropped)
			continue;
		char name[160];
		snprintf(name, sizeof(name), "%s%s%s", bw->w.ops->name, bw->variant[0] ? ":" : "",
		         bw->variant);
		fprintf(out, "  %-24s", name);
		for (int si = 0; si < run->cfg.n_strategies; si++) {
			char cell[32] = "-";
			best[si] = best_of(run, bw, run->cfg.strategies[si]);
			if (best[si] != NULL)
				snprintf(cell, sizeof(cell), "%.2fx @%d", best[si]->speedup.value,
				         best[si]->workers);
			fprintf(out, " %-12s", cell);
		}
		print_winner(run, bw, best, out);
	}
}

void print_summary(const struct bench_run *run, FILE *out)
{
	fprintf(out,
	        "\nmedian s: wall time of the run, median of the repetitions; speedup: serial's "
	        "median over this one;\nefficiency: speedup per thread used (epoll and serial "
	        "use one); checksum ok: the answer was verified.\n");
	for (int wi = 0; wi < run->n_workloads; wi++) {
		const struct bench_workload *bw = &run->workloads[wi];
		if (bw->dropped)
			continue;
		print_workload_header(bw, out);
		for (int i = 0; i < run->n_cells; i++)
			if (run->cells[i].bw == bw)
				print_cell(run, &run->cells[i], out);
	}
	print_best_table(run, out);
	for (int i = 0; i < run->n_warnings; i++)
		fprintf(out, "\nwarning: %s\n", run->warnings[i]);
}
