/* The task-size sweep (tasksweep.h). Each point is one task count: its task
 * size is serial's median wall time over the count (measured, so it means
 * the same on every machine), and each strategy's figures are its cell's. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "readers/resultfile.h"
#include "readers/tasksweep.h"

bool task_sweep_variant(const char *variant)
{
	return strncmp(variant, TASK_SWEEP_VARIANT, strlen(TASK_SWEEP_VARIANT)) == 0;
}

static bool is_sweep_cell(json_t *c)
{
	return task_sweep_variant(rf_str_or(c, "variant", ""));
}

static bool cell_usable(json_t *c)
{
	return json_is_null(json_object_get(c, "error")) &&
	       json_is_true(json_object_get(c, "checksum_ok"));
}

static double ci_end(json_t *c, int end)
{
	json_t *e = json_array_get(json_object_get(c, "speedup_ci95"), (size_t)end);
	return json_is_number(e) ? json_number_value(e) : NAN;
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

/* One point per task count: {tasks, task_s, workers, strategies: {name: {...}}}. */
static json_t *point_for(json_t *results, const char *variant, const char *workload)
{
	json_t *strategies = json_object(), *c;
	size_t i;
	double task_s = NAN;
	long tasks = 0, workers = 0;
	json_array_foreach(results, i, c)
	{
		if (strcmp(rf_str_or(c, "variant", ""), variant) != 0 ||
		    strcmp(rf_str_or(c, "workload", ""), workload) != 0 || !cell_usable(c))
			continue;
		const char *s = rf_str_or(c, "strategy", "");
		tasks = (long)json_integer_value(
		    json_object_get(json_object_get(c, "params"), "tasks"));
		if (strcmp(s, "serial") == 0) {
			double wall = rf_num(json_object_get(c, "wall_s"), "median");
			task_s = tasks > 0 ? wall / (double)tasks : NAN;
		} else {
			workers = (long)json_integer_value(json_object_get(c, "workers"));
		}
		json_object_set_new(strategies, s,
		                    json_pack("{s:o, s:[o,o], s:o}", "speedup",
		                              num_or_null(rf_num(c, "speedup_vs_serial")),
		                              "speedup_ci95", num_or_null(ci_end(c, 0)),
		                              num_or_null(ci_end(c, 1)), "efficiency",
		                              num_or_null(rf_num(c, "efficiency"))));
	}
	if (!isfinite(task_s) || json_object_size(strategies) < 2) {
		json_decref(strategies);
		return NULL;
	}
	return json_pack("{s:I, s:f, s:I, s:o}", "tasks", (json_int_t)tasks, "task_s", task_s,
	                 "workers", (json_int_t)workers, "strategies", strategies);
}

static int by_task_size_descending(const void *a, const void *b)
{
	double x = rf_num(*(json_t *const *)a, "task_s");
	double y = rf_num(*(json_t *const *)b, "task_s");
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Where method stands against threads at one point: "under" when its
 * speedup interval lies wholly under SHARE of threads', "over" when wholly
 * at or above it, "unclear" when the intervals straddle it or are missing. */
static const char *standing(json_t *point, const char *method)
{
	json_t *s = json_object_get(point, "strategies");
	json_t *m = json_object_get(s, method), *t = json_object_get(s, "threads");
	if (m == NULL || t == NULL)
		return NULL;
	json_t *mci = json_object_get(m, "speedup_ci95"), *tci = json_object_get(t, "speedup_ci95");
	double m_lo = json_number_value(json_array_get(mci, 0));
	double m_hi = json_number_value(json_array_get(mci, 1));
	double t_lo = json_number_value(json_array_get(tci, 0));
	double t_hi = json_number_value(json_array_get(tci, 1));
	if (!json_is_number(json_array_get(mci, 1)) || !json_is_number(json_array_get(tci, 0)))
		return "unclear";
	if (m_hi < TASK_SWEEP_SHARE * t_lo)
		return "under";
	if (json_is_number(json_array_get(mci, 0)) && json_is_number(json_array_get(tci, 1)) &&
	    m_lo >= TASK_SWEEP_SHARE * t_hi)
		return "over";
	return "unclear";
}

/* The crossover of one start method over points sorted by task size, largest
 * first: the largest task size from which on down it is under at every
 * point. "found" when a larger point was over; "every-size" when it is under
 * at them all; "not-reached" when even the smallest is not under. */
static json_t *crossover_of(json_t *points, const char *method)
{
	size_t n = json_array_size(points), first_under = n;
	bool any = false;
	for (size_t k = n; k-- > 0;) {
		const char *st = standing(json_array_get(points, k), method);
		if (st == NULL)
			continue;
		any = true;
		if (strcmp(st, "under") != 0)
			break;
		first_under = k;
	}
	if (!any)
		return NULL;
	json_t *standings = json_array();
	for (size_t k = 0; k < n; k++) {
		const char *st = standing(json_array_get(points, k), method);
		json_array_append_new(standings, st ? json_string(st) : json_null());
	}
	const char *status = first_under == n   ? "not-reached"
	                     : first_under == 0 ? "every-size"
	                                        : "found";
	double below =
	    first_under < n ? rf_num(json_array_get(points, first_under), "task_s") : NAN;
	double above = first_under > 0 && first_under < n
	                   ? rf_num(json_array_get(points, first_under - 1), "task_s")
	                   : NAN;
	bool sharp = first_under > 0 && first_under < n &&
	             strcmp(standing(json_array_get(points, first_under - 1), method), "over") == 0;
	return json_pack("{s:s, s:o, s:o, s:b, s:o}", "status", status, "under_at_task_s",
	                 num_or_null(below), "not_under_at_task_s", num_or_null(above), "sharp",
	                 sharp, "standing", standings);
}

/* The first workload that has sweep cells. */
static const char *sweep_workload(json_t *results)
{
	json_t *c;
	size_t i;
	json_array_foreach(results, i, c) if (is_sweep_cell(c)) return rf_str_or(c, "workload", "");
	return NULL;
}

json_t *task_sweep_evaluate(json_t *doc)
{
	json_t *results = json_object_get(doc, "results"), *c;
	const char *workload = sweep_workload(results);
	if (workload == NULL)
		return NULL;
	json_t *seen = json_object(), *points_v = json_array();
	size_t i;
	json_array_foreach(results, i, c)
	{
		const char *variant = rf_str_or(c, "variant", "");
		if (!is_sweep_cell(c) || strcmp(rf_str_or(c, "workload", ""), workload) != 0 ||
		    json_object_get(seen, variant) != NULL)
			continue;
		json_object_set_new(seen, variant, json_true());
		json_t *p = point_for(results, variant, workload);
		if (p != NULL)
			json_array_append_new(points_v, p);
	}
	json_decref(seen);
	size_t n = json_array_size(points_v);
	json_t **sorted = calloc(n + 1, sizeof(*sorted));
	json_t *points = json_array();
	for (size_t k = 0; sorted != NULL && k < n; k++)
		sorted[k] = json_array_get(points_v, k);
	if (sorted != NULL)
		qsort(sorted, n, sizeof(*sorted), by_task_size_descending);
	for (size_t k = 0; sorted != NULL && k < n; k++)
		json_array_append(points, sorted[k]);
	free(sorted);
	json_decref(points_v);
	json_t *crossover = json_object();
	static const char *const methods[] = {"processes", "forkserver", "spawn"};
	for (size_t k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
		json_t *x = crossover_of(points, methods[k]);
		if (x != NULL)
			json_object_set_new(crossover, methods[k], x);
	}
	return json_pack("{s:s, s:o, s:f, s:s, s:o}", "workload", workload, "points", points,
	                 "share_of_threads", TASK_SWEEP_SHARE, "method",
	                 "task size: serial's median wall time over the task count; a start "
	                 "method is under at a size when its speedup's 95% interval lies "
	                 "wholly under share_of_threads times the low end of threads'",
	                 "crossover", crossover);
}

/* ---- printing ---------------------------------------------------------------- */

static void fmt_task_size(double s, char *buf, size_t len)
{
	if (!isfinite(s))
		snprintf(buf, len, "-");
	else if (s >= 1e-3)
		snprintf(buf, len, "%.3g ms", s * 1e3);
	else
		snprintf(buf, len, "%.3g us", s * 1e6);
}

static void print_crossover(json_t *crossover, FILE *out)
{
	const char *name;
	json_t *x;
	json_object_foreach(crossover, name, x)
	{
		char below[32], above[32];
		const char *status = rf_str_or(x, "status", "");
		fmt_task_size(rf_num(x, "under_at_task_s"), below, sizeof(below));
		fmt_task_size(rf_num(x, "not_under_at_task_s"), above, sizeof(above));
		if (strcmp(status, "found") == 0)
			fprintf(out,
			        "  %-10s under half of threads' speedup at %s tasks and below "
			        "(not at %s%s)\n",
			        name, below, above,
			        json_is_true(json_object_get(x, "sharp"))
			            ? ""
			            : ", though unclear there");
		else if (strcmp(status, "every-size") == 0)
			fprintf(out,
			        "  %-10s under half of threads' speedup at every task size, "
			        "down from %s\n",
			        name, below);
		else
			fprintf(out,
			        "  %-10s not under half of threads' speedup at any size "
			        "measured\n",
			        name);
	}
}

void task_sweep_print(json_t *sweep, FILE *out)
{
	static const char *const cols[] = {"threads", "processes", "forkserver", "spawn"};
	json_t *points = json_object_get(sweep, "points"), *p;
	size_t i;
	if (sweep == NULL || json_array_size(points) == 0)
		return;
	fprintf(out, "\ntask-size sweep (%s, the same work in more, smaller tasks): efficiency\n",
	        rf_str_or(sweep, "workload", ""));
	fprintf(out, "  %-10s %7s", "task size", "tasks");
	for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++)
		fprintf(out, " %11s", cols[k]);
	fputc('\n', out);
	json_array_foreach(points, i, p)
	{
		char size[32];
		fmt_task_size(rf_num(p, "task_s"), size, sizeof(size));
		fprintf(out, "  %-10s %7lld", size,
		        (long long)json_integer_value(json_object_get(p, "tasks")));
		for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
			json_t *s = json_object_get(json_object_get(p, "strategies"), cols[k]);
			double e = s != NULL ? rf_num(s, "efficiency") : NAN;
			if (isfinite(e))
				fprintf(out, " %11.2f", e);
			else
				fprintf(out, " %11s", "-");
		}
		fputc('\n', out);
	}
	print_crossover(json_object_get(sweep, "crossover"), out);
}
