/* The task-size sweep read back from hand-made result documents: the points
 * (task size measured from serial), each start method's crossover, and the
 * claim on the article's short-task statement; and the sweep's cells in the
 * default suite. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "readers/claims.h"
#include "readers/tasksweep.h"
#include "tests/support.h"

/* A sweep cell: `tasks` tasks under strategy, its speedup in [lo, hi]. */
static json_t *sweep_cell(const char *strategy, long tasks, double wall, double speedup, double lo,
                          double hi)
{
	char variant[64];
	int workers = strcmp(strategy, "serial") == 0 ? 1 : 2;
	snprintf(variant, sizeof(variant), "task_size:tasks=%ld", tasks);
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:{s:I, s:I}, s:{s:f}, s:f, s:[f,f], s:f, "
	                 "s:n, s:b, s:i}",
	                 "workload", "primes", "kind", "cpu", "variant", variant, "strategy",
	                 strategy, "workers", workers, "params", "tasks", (json_int_t)tasks,
	                 "limit", (json_int_t)5000000, "wall_s", "median", wall,
	                 "speedup_vs_serial", speedup, "speedup_ci95", lo, hi, "efficiency",
	                 speedup / workers, "error", "checksum_ok", 1, "ballast_mb", 0);
}

/* Serial takes 1 s at every count; threads keep 1.9x; processes' speedup at
 * each of the four counts is given (tight intervals, 3% either side). */
static json_t *sweep_doc(const double *processes, const double *spawn)
{
	static const long tasks[] = {10, 1000, 10000, 100000};
	json_t *cells = json_array();
	for (size_t k = 0; k < 4; k++) {
		double p = processes[k];
		json_array_append_new(cells, sweep_cell("serial", tasks[k], 1.0, 1.0, 1.0, 1.0));
		json_array_append_new(cells,
		                      sweep_cell("threads", tasks[k], 0.53, 1.9, 1.85, 1.95));
		json_array_append_new(
		    cells, sweep_cell("processes", tasks[k], 1.0 / p, p, p * 0.97, p * 1.03));
		if (spawn != NULL)
			json_array_append_new(cells, sweep_cell("spawn", tasks[k], 1.0 / spawn[k],
			                                        spawn[k], spawn[k] * 0.97,
			                                        spawn[k] * 1.03));
	}
	return json_pack("{s:i, s:{s:{s:i}}, s:{s:s}, s:o}", "schema_version", 1, "machine",
	                 "topology", "cores", 2, "config", "pin", "core", "results", cells);
}

static json_t *claim_of(json_t *claims, const char *id)
{
	json_t *c;
	size_t i;
	json_array_foreach(claims, i, c) if (strcmp(json_string_value(json_object_get(c, "id")),
	                                            id) == 0) return c;
	return NULL;
}

static char verdict[32], reason[1024];

static void judge(json_t *doc)
{
	json_t *claims = claims_evaluate(doc);
	json_t *c = claim_of(claims, "short-tasks-processes-lose");
	cr_assert_not_null(c);
	snprintf(verdict, sizeof(verdict), "%s", json_string_value(json_object_get(c, "verdict")));
	snprintf(reason, sizeof(reason), "%s", json_string_value(json_object_get(c, "reason")));
	json_decref(claims);
}

Test(tasksweep, points_are_ordered_by_the_task_size_serial_measured)
{
	static const double p[] = {1.9, 1.8, 1.5, 0.6};
	json_t *doc = sweep_doc(p, NULL);
	json_t *sweep = task_sweep_evaluate(doc);
	cr_assert_not_null(sweep);
	cr_assert_str_eq(json_string_value(json_object_get(sweep, "workload")), "primes");
	json_t *points = json_object_get(sweep, "points");
	cr_assert_eq(json_array_size(points), 4);
	double last = INFINITY;
	for (size_t k = 0; k < 4; k++) {
		json_t *pt = json_array_get(points, k);
		double s = json_number_value(json_object_get(pt, "task_s"));
		cr_assert_lt(s, last, "point %zu out of order", k);
		last = s;
	}
	/* 1 s of serial work in 10 tasks: 100 ms a task; in 100000: 10 us. */
	cr_assert_float_eq(json_number_value(json_object_get(json_array_get(points, 0), "task_s")),
	                   0.1, 1e-9);
	cr_assert_float_eq(json_number_value(json_object_get(json_array_get(points, 3), "task_s")),
	                   1e-5, 1e-12);
	json_t *eff = json_object_get(
	    json_object_get(json_object_get(json_array_get(points, 3), "strategies"), "processes"),
	    "efficiency");
	cr_assert_float_eq(json_number_value(eff), 0.3, 1e-9);
	json_decref(sweep);
	json_decref(doc);
}

Test(tasksweep, the_crossover_is_where_processes_fall_under_half_of_threads)
{
	/* Half of threads' low end is 0.925: 1.5 is over, 0.6 and 0.5 under. */
	static const double p[] = {1.9, 1.5, 0.6, 0.5};
	json_t *doc = sweep_doc(p, NULL);
	json_t *sweep = task_sweep_evaluate(doc);
	json_t *x = json_object_get(json_object_get(sweep, "crossover"), "processes");
	cr_assert_str_eq(json_string_value(json_object_get(x, "status")), "found");
	cr_assert_float_eq(json_number_value(json_object_get(x, "under_at_task_s")), 1e-4, 1e-12);
	cr_assert_float_eq(json_number_value(json_object_get(x, "not_under_at_task_s")), 1e-3,
	                   1e-12);
	cr_assert(json_is_true(json_object_get(x, "sharp")));
	json_decref(sweep);
	json_decref(doc);
}

Test(tasksweep, a_straddling_point_is_no_crossover_and_never_under_is_not_reached)
{
	/* 0.93 +- 3% straddles 0.925..0.975: the smallest point is not under. */
	static const double p[] = {1.9, 1.8, 1.5, 0.93};
	static const double s[] = {1.9, 1.8, 1.7, 1.6};
	json_t *doc = sweep_doc(p, s);
	json_t *sweep = task_sweep_evaluate(doc);
	json_t *cross = json_object_get(sweep, "crossover");
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(cross, "processes"), "status")),
	    "not-reached");
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(cross, "spawn"), "status")),
	    "not-reached");
	cr_assert_null(json_object_get(cross, "forkserver"), "no forkserver cells, no crossover");
	json_decref(sweep);
	json_decref(doc);
}

Test(tasksweep, no_sweep_cells_no_sweep)
{
	json_t *doc = json_pack("{s:i, s:[]}", "schema_version", 1, "results");
	cr_assert_null(task_sweep_evaluate(doc));
	judge(doc);
	cr_assert_str_eq(verdict, "not-measured");
	json_decref(doc);
}

Test(tasksweep, the_claim_is_confirmed_when_every_start_method_loses_on_short_tasks)
{
	static const double p[] = {1.9, 1.8, 1.5, 0.6}, s[] = {1.9, 1.7, 1.0, 0.3};
	json_t *doc = sweep_doc(p, s);
	judge(doc);
	cr_assert_str_eq(verdict, "confirmed", "%s", reason);
	cr_assert_not_null(strstr(reason, "processes 0.60x"), "%s", reason);
	cr_assert_not_null(strstr(reason, "from 10 us tasks down"), "%s", reason);
	json_decref(doc);
}

Test(tasksweep, the_claim_is_refuted_when_fork_keeps_up_and_inconclusive_between)
{
	static const double keeps_up[] = {1.9, 1.9, 1.9, 1.92};
	json_t *doc = sweep_doc(keeps_up, NULL);
	judge(doc);
	cr_assert_str_eq(verdict, "refuted", "%s", reason);
	json_decref(doc);
	/* 1.80 +- 3% reaches into threads' [1.85, 1.95] but not all the way to
	 * 1.95 / 1.10: neither. */
	static const double close[] = {1.9, 1.9, 1.9, 1.80};
	doc = sweep_doc(close, NULL);
	judge(doc);
	cr_assert_str_eq(verdict, "inconclusive", "%s", reason);
	json_decref(doc);
}

/* A line of text that starts with prefix and ends with suffix. */
static bool has_line(const char *text, const char *prefix, const char *suffix)
{
	for (const char *p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p)) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len >= strlen(prefix) + strlen(suffix) &&
		    strncmp(p, prefix, strlen(prefix)) == 0 &&
		    strncmp(p + len - strlen(suffix), suffix, strlen(suffix)) == 0)
			return true;
	}
	return false;
}

Test(tasksweep, the_default_suite_and_task_sweep_add_the_cells)
{
	struct output o = sh("%s run --list-cells --no-estimate", CONCBENCH_BIN);
	cr_assert_eq(o.status, 0, "%s", o.err);
	static const char *const want[] = {"serial", "threads", "processes", "forkserver", "spawn"};
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		char line[128];
		snprintf(line, sizeof(line), "primes:task_size:tasks=60000 %s ", want[k]);
		cr_assert_not_null(strstr(o.out, line), "no %s in the sweep:\n%s", want[k], o.out);
		snprintf(line, sizeof(line), "primes:task_size:tasks=6 %s ", want[k]);
		cr_assert_not_null(strstr(o.out, line), "no %s in the sweep:\n%s", want[k], o.out);
	}
	/* The parent-memory sweep covers every start method. */
	cr_assert(has_line(o.out, "sleep forkserver ", " 1024"), "%s", o.out);
	cr_assert(has_line(o.out, "sleep spawn ", " 1024"), "%s", o.out);
	output_free(&o);
	o = sh(
	    "%s run -w primes -s serial,threads,spawn --task-sweep -n 2 --list-cells --no-estimate",
	    CONCBENCH_BIN);
	cr_assert_eq(o.status, 0, "%s", o.err);
	cr_assert_not_null(strstr(o.out, "primes:task_size:tasks=600 spawn 2 0"), "%s", o.out);
	cr_assert_null(strstr(o.out, "task_size:tasks=600 threads 1 "), "one worker count:\n%s",
	               o.out);
	output_free(&o);
	/* A task count the user chose leaves the sweep out. */
	o = sh("%s run -w primes --task-sweep -p primes.tasks=8 -n 2 --list-cells --no-estimate",
	       CONCBENCH_BIN);
	cr_assert_eq(o.status, 0, "%s", o.err);
	cr_assert_null(strstr(o.out, "task_size"), "%s", o.out);
	output_free(&o);
}

Test(tasksweep, the_sweep_cells_say_nothing_about_claim_2)
{
	/* Processes at 1.0x on the sweep's smallest tasks is the pool's overhead,
	 * not a lack of parallelism. */
	static const double p[] = {1.0, 1.0, 1.0, 1.0};
	json_t *doc = sweep_doc(p, NULL);
	json_t *claims = claims_evaluate(doc);
	json_t *c = claim_of(claims, "cpu-processes-parallel");
	cr_assert_str_eq(json_string_value(json_object_get(c, "verdict")), "not-measured", "%s",
	                 json_string_value(json_object_get(c, "reason")));
	json_decref(claims);
	json_decref(doc);
}
