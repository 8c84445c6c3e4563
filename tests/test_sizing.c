/* Sizes that follow the machine, the calibration's estimates and the time
 * budget (bench/sizing.c), and the progress lines off a terminal. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"

#include "tests/support.h"

#define SYNTHETIC_64 "HWLOC_SYNTHETIC='pack:2 core:32 pu:2' "

static json_int_t param_of(json_t *cell, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(cell, "params"), key));
}

/* The python sizes keep their work on a big machine: mandelbrot's small image
 * gets at most one band per row, triad no more arrays of the least length
 * than its memory makes, so that an interpreted run stays under a second. */
Test(sizing, python_sizes_keep_their_work_on_64_cores, .init = make_tmpdir, .fini = remove_tmpdir,
     .timeout = 120)
{
	if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0)
		cr_skip_test("no python3 with numpy here");
	struct output o = sh(SYNTHETIC_64 "%s run -w mandelbrot,triad -s py-serial -n 1,64 -r 1 "
	                                  "--warmup 0 --quick --quiet -o %s",
	                     CONCBENCH_BIN, tmp_path("py.json"));
	cr_assert_eq(o.status, 0, "%s", o.err);
	output_free(&o);
	json_t *doc = load_json(tmp_path("py.json"));
	json_t *m = find_cell(doc, "mandelbrot", "py-serial", 1);
	json_t *t = find_cell(doc, "triad", "py-serial", 1);
	cr_assert_not_null(m);
	cr_assert_not_null(t);
	/* --quick's python sizes: a 80x48 image in 16 bands, 4 arrays of 262144 */
	cr_assert_eq(param_of(m, "height"), 48, "the image did not grow");
	cr_assert_eq(param_of(m, "bands"), 48, "one band per row, short of 512");
	cr_assert_eq(param_of(t, "elements"), 262144);
	cr_assert_eq(param_of(t, "tasks"), 4, "no more arrays than the memory makes");
	json_decref(doc);
}

Test(sizing, cpu_workloads_get_8_tasks_per_worker_and_keep_the_users_sizes, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 120)
{
	/* 64 workers on a synthetic 64-core machine; triad's arrays and primes'
	 * tasks set by hand, which the sizing leaves alone */
	struct output o = sh(SYNTHETIC_64 "%s run -w primes,mandelbrot,triad -s serial,threads "
	                                  "-n 1,64 -r 1 --warmup 0 --quick --quiet "
	                                  "-p triad.elements=65536 -o %s",
	                     CONCBENCH_BIN, tmp_path("sized.json"));
	cr_assert_eq(o.status, 0, "%s", o.err);
	output_free(&o);
	json_t *doc = load_json(tmp_path("sized.json"));
	static const char *const cpu[] = {"primes", "mandelbrot", "triad"};
	for (size_t i = 0; i < 3; i++) {
		json_t *one = find_cell(doc, cpu[i], "serial", 1),
		       *many = find_cell(doc, cpu[i], "threads", 64);
		json_int_t tasks = json_integer_value(json_object_get(many, "tasks"));
		cr_assert_geq(tasks, 512, "%s: %lld tasks at n=64", cpu[i], (long long)tasks);
		/* one size for every worker count of the workload: strong scaling */
		cr_assert(
		    json_equal(json_object_get(one, "params"), json_object_get(many, "params")),
		    "%s", cpu[i]);
		cr_assert_eq(json_integer_value(
		                 json_object_get(json_object_get(many, "sizing"), "min_tasks")),
		             512);
		cr_assert(json_is_true(json_object_get(many, "checksum_ok")), "%s", cpu[i]);
	}
	cr_assert_eq(param_of(find_cell(doc, "triad", "threads", 64), "elements"), 65536);
	/* mandelbrot: a band is a row at least, so the image grew to 512 rows */
	cr_assert_geq(param_of(find_cell(doc, "mandelbrot", "threads", 64), "height"), 512);
	json_decref(doc);

	o = sh("%s run -w primes -s threads -n 64 -r 1 --warmup 0 --quick --quiet "
	       "-p primes.tasks=100 -o %s",
	       CONCBENCH_BIN, tmp_path("explicit.json"));
	cr_assert_eq(o.status, 0, "%s", o.err);
	output_free(&o);
	doc = load_json(tmp_path("explicit.json"));
	cr_assert_eq(param_of(find_cell(doc, "primes", "threads", 64), "tasks"), 100, "-p wins");
	json_decref(doc);
}

/* The "estimated: M:SS" or "N.NN s" total of --list-cells, in seconds. */
static double estimated_total(const char *out)
{
	const char *e = strstr(out, "estimated: ");
	cr_assert_not_null(e, "%s", out);
	double a, b;
	if (sscanf(e, "estimated: %lf:%lf", &a, &b) == 2)
		return a * 60 + b;
	cr_assert_eq(sscanf(e, "estimated: %lf s", &a), 1, "%s", e);
	return a;
}

Test(sizing, list_cells_estimates_each_cell_and_the_run_lands_near_it, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 180)
{
	const char *args = "-w primes,sleep -s serial,threads -n 1,2 -r 3 --quick";
	double ratio = NAN;
	/* timing on a shared machine: one retry, and a generous band */
	for (int attempt = 0; attempt < 2; attempt++) {
		struct output o = sh("%s run %s --list-cells", CONCBENCH_BIN, args);
		cr_assert_eq(o.status, 0, "%s", o.err);
		cr_assert_not_null(strstr(o.out, "primes threads 2 0  "), "%s", o.out);
		cr_assert_not_null(strstr(o.out, "(4 runs of "), "%s", o.out);
		double estimate = estimated_total(o.out);
		output_free(&o);
		double t0 = monotonic_now();
		o = sh("%s run %s --quiet -o %s", CONCBENCH_BIN, args, tmp_path("timed.json"));
		double real = monotonic_now() - t0;
		cr_assert_eq(o.status, 0, "%s", o.err);
		output_free(&o);
		ratio = real / estimate;
		if (ratio > 0.4 && ratio < 2.5)
			break;
	}
	cr_assert(ratio > 0.4 && ratio < 2.5, "the run took %.2f times the estimate", ratio);
}

/* An interpreter starts once per cell (runners/python.c keeps it between
 * runs): the plan charges its start-up once, not once per repetition, as
 * the calibration's whole run of the cell would have it. */
Test(sizing, an_interpreters_start_up_is_planned_once_per_cell, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 120)
{
	json_t *doc = run_to_json(0,
	                          "-w primes -s serial,py-serial -n 1 -r 2 --warmup 0 --quick "
	                          "--budget 600",
	                          tmp_path("once.json"));
	json_t *serial = find_cell(doc, "primes", "serial", 1);
	json_t *py = find_cell(doc, "primes", "py-serial", 1);
	cr_assert_gt(json_number_value(json_object_get(serial, "estimated_run_s")), 0);
	cr_assert_null(json_object_get(serial, "estimated_once_s"),
	               "serial keeps nothing between runs");
	double run = json_number_value(json_object_get(py, "estimated_run_s"));
	json_t *once = json_object_get(py, "estimated_once_s");
	cr_assert_gt(run, 0, "py-serial: no estimate");
	/* the interpreter's start-up (tens of ms) against a quick run's executor
	 * (a few ms of primes below 30000) */
	cr_assert(json_is_number(once), "py-serial: no start-up planned once");
	cr_assert_gt(json_number_value(once), run, "py-serial: start-up %.4f s, run %.4f s",
	             json_number_value(once), run);
	json_decref(doc);
}

/* The file says how long the whole command took beside what the plan
 * estimated: the calibration, and at least the measured runs. */
Test(sizing, the_plan_records_what_the_run_took_beside_its_estimate, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 120)
{
	json_t *doc = run_to_json(0, "-w sleep -s serial -n 1 -r 2 --warmup 0 --quick --budget 600",
	                          tmp_path("took.json"));
	json_t *plan = json_object_get(json_object_get(doc, "config"), "plan");
	double took = json_number_value(json_object_get(plan, "took_s"));
	double calibration = json_number_value(json_object_get(plan, "calibration_s"));
	double measured = 0;
	json_t *cell = json_array_get(json_object_get(doc, "results"), 0);
	json_t *s;
	size_t i;
	json_array_foreach(json_object_get(cell, "samples"), i, s) measured +=
	    json_number_value(json_object_get(s, "wall_s"));
	cr_assert(json_is_number(json_object_get(plan, "estimate_s")), "no estimate");
	cr_assert_gt(measured, 0, "no samples");
	cr_assert_geq(took, calibration + measured, "took %.3f s, calibration %.3f s, runs %.3f s",
	              took, calibration, measured);
	json_decref(doc);
}

Test(sizing, the_budget_keeps_the_reps_and_drops_the_warm_up_and_says_so)
{
	struct output o = sh("%s run -w primes -s serial,gil,threads -n 1,2 --quick --budget 1 "
	                     "--list-cells",
	                     CONCBENCH_BIN);
	cr_assert_eq(o.status, 0, "%s", o.err);
	/* the claims need five repetitions of a cell: the budget never takes them */
	cr_assert_null(strstr(o.out, "repetitions instead"), "%s", o.out);
	cr_assert_not_null(strstr(o.out, "5 repetitions"), "%s", o.out);
	cr_assert_not_null(strstr(o.out, "budget: 1 s: no warm-up run"), "%s", o.out);
	/* -n given: the sweep stays; the plan says it is still over */
	cr_assert_not_null(strstr(o.out, "still over the budget"), "%s", o.out);
	cr_assert_not_null(strstr(o.out, "primes threads 2 0"), "%s", o.out);
	output_free(&o);
	o = sh("%s run -w primes -s serial,threads -n 1,2 --quick -r 5 --budget 1 --list-cells",
	       CONCBENCH_BIN);
	cr_assert_eq(o.status, 0, "%s", o.err);
	cr_assert_null(strstr(o.out, "repetitions instead"), "-r 5 was given: %s", o.out);
	cr_assert_not_null(strstr(o.out, "5 repetitions"), "%s", o.out);
	output_free(&o);
	o = sh("%s run -w primes --budget soon --list-cells", CONCBENCH_BIN);
	cr_assert_eq(o.status, 2);
	cr_assert_not_null(strstr(o.err, "--budget needs seconds"), "%s", o.err);
	output_free(&o);
}

/* After the warm-up runs, the budget drops two of the task-size sweep's six
 * sizes, the second and the second-to-last: the largest tasks, 1 ms, 100 us
 * and the smallest, where the crossover is looked for, stay. */
Test(sizing, the_budget_thins_the_task_size_sweep_after_the_warm_up, .timeout = 120)
{
	struct output o = sh("%s run -w primes -s serial,threads,processes --task-sweep --quick "
	                     "--budget 1 --list-cells",
	                     CONCBENCH_BIN);
	cr_assert_eq(o.status, 0, "%s", o.err);
	cr_assert_not_null(
	    strstr(o.out, "budget: 1 s: no warm-up run; the task-size sweep at 4 of its 6 sizes"),
	    "%s", o.out);
	static const char *const kept[] = {"tasks=2 ", "tasks=200 ", "tasks=2000 ",
	                                   "tasks=200000 "};
	static const char *const gone[] = {"tasks=20 ", "tasks=20000 "};
	for (size_t k = 0; k < 4; k++)
		cr_assert_not_null(strstr(o.out, kept[k]), "%s kept: %s", kept[k], o.out);
	for (size_t k = 0; k < 2; k++)
		cr_assert_null(strstr(o.out, gone[k]), "%s dropped: %s", gone[k], o.out);
	output_free(&o);
	/* within its budget, the sweep keeps every size */
	o = sh("%s run -w primes -s serial,threads,processes --task-sweep --quick --budget 3600 "
	       "--list-cells",
	       CONCBENCH_BIN);
	cr_assert_eq(o.status, 0, "%s", o.err);
	cr_assert_not_null(strstr(o.out, "tasks=20 "), "%s", o.out);
	cr_assert_not_null(strstr(o.out, "met as planned"), "%s", o.out);
	output_free(&o);
}

/* With nothing else to give (-n and --warmup given, no task-size sweep), a
 * plan over its budget runs less work: the sized CPU workloads' serial runs
 * held down, never below the floor, every strategy on the same smaller
 * work and its checksum; a size -p gave stays. */
Test(sizing, the_budget_runs_less_work_when_nothing_else_is_left, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 120)
{
	json_t *doc =
	    run_to_json(0, "-w primes -s serial,threads -n 1,2 -r 2 --warmup 0 --budget 1",
	                tmp_path("shrunk.json"));
	json_t *serial = find_cell(doc, "primes", "serial", 1);
	json_t *threads = find_cell(doc, "primes", "threads", 2);
	cr_assert_not_null(serial);
	cr_assert_not_null(threads);
	json_t *sizing = json_object_get(serial, "sizing");
	double kept = json_number_value(json_object_get(sizing, "kept_by_budget"));
	double floor_s = json_number_value(json_object_get(sizing, "serial_floor_s"));
	double serial_s = json_number_value(json_object_get(sizing, "serial_estimate_s"));
	cr_assert(kept > 0 && kept < 1, "kept %.3f of the work", kept);
	cr_assert_gt(floor_s, 0);
	/* the share asked rounds to whole parameters: not far under the floor */
	cr_assert_geq(serial_s, 0.8 * floor_s, "serial %.3f s under the floor %.3f s", serial_s,
	              floor_s);
	cr_assert_lt(param_of(serial, "limit"), 5000000, "the default limit was kept");
	cr_assert_eq(param_of(serial, "limit"), param_of(threads, "limit"), "unequal work");
	cr_assert(json_is_true(json_object_get(serial, "checksum_ok")));
	cr_assert(json_is_true(json_object_get(threads, "checksum_ok")));
	const char *choices = json_string_value(
	    json_object_get(json_object_get(json_object_get(doc, "config"), "plan"), "choices"));
	cr_assert_not_null(choices);
	cr_assert_not_null(strstr(choices, "less work per run: primes 0."), "%s", choices);
	json_decref(doc);
	/* the user's limit is the user's: the plan stays over instead */
	struct output o = sh("%s run -w primes -s serial,threads -n 1,2 --warmup 0 --budget 1 "
	                     "-p primes.limit=5000000 --list-cells",
	                     CONCBENCH_BIN);
	cr_assert_eq(o.status, 0, "%s", o.err);
	cr_assert_null(strstr(o.out, "less work"), "%s", o.out);
	cr_assert_not_null(strstr(o.out, "still over the budget"), "%s", o.out);
	output_free(&o);
}

Test(sizing, a_synthetic_64_core_machine_is_planned_within_the_budget, .timeout = 120)
{
	/* the CPU workloads under the in-process strategies and the suite's
	 * budget (the whole suite's calibration takes minutes here, its fresh
	 * workers and interpreters measured whole; `run --list-cells` shows it) */
	struct output o = sh(SYNTHETIC_64 "%s run -w primes,mandelbrot,triad "
	                                  "-s serial,gil,threads,processes,epoll --budget 570 "
	                                  "--list-cells",
	                     CONCBENCH_BIN);
	cr_assert_eq(o.status, 0, "%s", o.err);
	cr_assert_lt(estimated_total(o.out), 600, "%s", o.out);
	/* every CPU cell at n=64 has 512 tasks or more */
	size_t at64 = 0;
	for (const char *p = o.out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		char w[64], s[64];
		int n, ballast;
		size_t tasks;
		const char *t = strstr(p, "; ");
		if (sscanf(p, "%63s %63s %d %d", w, s, &n, &ballast) != 4 || n != 64 || t == NULL ||
		    (strncmp(w, "primes", 6) != 0 && strcmp(w, "mandelbrot") != 0 &&
		     strcmp(w, "triad") != 0))
			continue;
		cr_assert_eq(sscanf(t, "; %zu tasks", &tasks), 1, "%.100s", p);
		cr_assert_geq(tasks, 512, "%.100s", p);
		at64++;
	}
	cr_assert_geq(at64, 12, "%s", o.out);
	output_free(&o);
}

Test(sizing, progress_off_a_terminal_counts_cells_with_elapsed_and_eta, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	struct output o = sh("%s run -w sleep -s serial,threads -n 1,2 -r 2 --quick -o %s",
	                     CONCBENCH_BIN, tmp_path("progress.json"));
	cr_assert_eq(o.status, 0, "%s", o.err);
	cr_assert_not_null(strstr(o.err, "[1/3] "), "%s", o.err);
	cr_assert_not_null(strstr(o.err, "[3/3] "), "%s", o.err);
	cr_assert_not_null(strstr(o.err, ", ETA 0:"), "%s", o.err);
	cr_assert_not_null(strstr(o.err, "; elapsed 0:"), "%s", o.err);
	output_free(&o);
}
