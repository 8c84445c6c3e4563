/* The table printed at the end of `concbench run`: per workload, each cell's
 * median and interval, its speedup over serial and its efficiency. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

static void print_workload_header(const struct bench_workload *bw, FILE *out)
{
	const struct workload_ops *ops = bw->w.ops;
	fprintf(out, "\n%s (%s): %s\n", ops->name, workload_kind_name(ops->kind), ops->description);
	if (bw->has_expected_items)
		fprintf(out, "  expected answer: %llu %s\n", (unsigned long long)bw->expected_items,
		        ops->items_name);
	fprintf(out, "  %-10s %7s %10s %23s %9s %10s  %s\n", "strategy", "workers", "median s",
	        "95% interval of median", "speedup", "efficiency", "checksum");
}

static void print_cell(const struct cell *c, FILE *out)
{
	if (c->n_samples == 0) {
		fprintf(out, "  %-10s %7d  error: %s\n", c->runner->name, c->workers,
		        c->error[0] ? c->error : "not measured");
		return;
	}
	char interval[48];
	snprintf(interval, sizeof(interval), "[%.4f, %.4f]", c->wall.ci_lo, c->wall.ci_hi);
	fprintf(out, "  %-10s %7d %10.4f %23s %8.2fx %10.2f  %s\n", c->runner->name, c->workers,
	        c->wall.median, interval, c->speedup.value, c->efficiency,
	        c->error[0] ? "ERROR" : (c->checksum_ok ? "ok" : "wrong"));
	if (c->error[0])
		fprintf(out, "  %-10s %7s  error: %s\n", "", "", c->error);
	for (int i = 0; i < c->n_warnings; i++)
		fprintf(out, "  %-10s %7s  warning: %s\n", "", "", c->warnings[i]);
}

void print_summary(const struct bench_run *run, FILE *out)
{
	for (int wi = 0; wi < run->n_workloads; wi++) {
		const struct bench_workload *bw = &run->workloads[wi];
		print_workload_header(bw, out);
		for (int i = 0; i < run->n_cells; i++)
			if (run->cells[i].bw == bw)
				print_cell(&run->cells[i], out);
	}
	for (int i = 0; i < run->n_warnings; i++)
		fprintf(out, "\nwarning: %s\n", run->warnings[i]);
}
