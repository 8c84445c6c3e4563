/* The py-* strategies through the binary: every workload's Python twin gives
 * the C workload's checksum, the cells say which interpreter ran, a missing
 * interpreter fails its cell with one line while the others go on, and the
 * python-sizes variant holds the py-* cells. The twins' own tests are
 * py/tests (make test-python). Skipped where no python3 is installed. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "readers/fidelity.h"
#include "runners/runner.h"
#include "workloads/workload.h"
#include "tests/support.h"

static bool have_python(void)
{
	for (const struct runner_ops *const *r = runner_table(); *r; r++)
		if ((*r)->interpreted && (*r)->available != NULL)
			return (*r)->available();
	return false;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

Test(python, every_workload_gives_the_c_checksum, .init = make_tmpdir, .fini = remove_tmpdir,
     .timeout = 240)
{
	if (!have_python())
		cr_skip_test("no python3 here");
	char args[1024], err[4096];
	struct output made = sh("mkdir -p %s", tmp_path("files"));
	cr_assert_eq(made.status, 0);
	output_free(&made);
	snprintf(args, sizeof(args),
	         "run -w primes,mandelbrot,triad,sleep,mixed,http,files -s serial,py-threads -n 2 "
	         "-r 1 --warmup 0 --quick --quiet -p files.count=4 -p files.size=65536 "
	         "-p files.dir=%s -o %s",
	         tmp_path("files"), tmp_path("r.json"));
	int rc = run_concbench_for(220, args, err, sizeof(err));
	cr_assert_eq(rc, 0, "run exited %d: %s", rc, err);
	json_t *doc = load_json(tmp_path("r.json")), *c;
	size_t i, py = 0;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		const char *strategy = str(c, "strategy");
		cr_assert(json_is_true(json_object_get(c, "checksum_ok")), "%s %s: %s",
		          str(c, "workload"), strategy, str(c, "error"));
		if (strcmp(strategy, "py-threads") != 0)
			continue;
		py++;
		json_t *python = json_object_get(c, "python");
		cr_assert(json_is_object(python), "%s: no python record", str(c, "workload"));
		cr_assert(strlen(str(python, "implementation")) > 0);
		cr_assert(strncmp(str(python, "version"), "3.", 2) == 0);
		cr_assert(json_number_value(json_object_get(python, "startup_s")) > 0);
		/* verified against the C side's own answer, not merely agreed */
		json_t *answer = json_object_get(c, "answer");
		if (strcmp(str(c, "workload"), "mandelbrot") == 0)
			cr_assert(json_is_integer(json_object_get(answer, "expected")),
			          "mandelbrot's python sizes have a known answer");
	}
	cr_assert_eq(py, 7, "one py-threads cell per workload");
	json_decref(doc);
}

Test(python, a_missing_interpreter_fails_one_cell, .init = make_tmpdir, .fini = remove_tmpdir,
     .timeout = 120)
{
	if (!have_python())
		cr_skip_test("no python3 here");
	char args[512], err[4096];
	snprintf(args, sizeof(args),
	         "run -w primes -s serial,py-serial,py-threads -n 2 -r 1 --warmup 0 --quick "
	         "--quiet -p py-threads.python=/nonexistent/python3 -o %s",
	         tmp_path("r.json"));
	int rc = run_concbench_for(100, args, err, sizeof(err));
	cr_assert_eq(rc, 1, "a failed cell makes the exit status 1, not %d: %s", rc, err);
	json_t *doc = load_json(tmp_path("r.json")), *c;
	size_t i, failed = 0;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		const char *error = str(c, "error");
		if (strcmp(str(c, "strategy"), "py-threads") == 0) {
			failed++;
			cr_assert(
			    strstr(error, "cannot start the interpreter '/nonexistent/python3'"),
			    "%s", error);
			cr_assert_null(strchr(error, '\n'), "one line: %s", error);
		} else {
			cr_assert_str_empty(error, "%s: %s", str(c, "strategy"), error);
		}
	}
	cr_assert_eq(failed, 1);
	json_decref(doc);
}

/* A budget calibrates every cell first, py-* ones by running them whole: the
 * interpreters started then hold the calibration's fixture server address,
 * and the run's own server is another. The run's py-* cells must start
 * their interpreters afresh and download from the server that is up. */
Test(python, a_calibrated_run_gives_py_cells_the_servers_address, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 120)
{
	if (!have_python())
		cr_skip_test("no python3 here");
	char args[512], err[4096];
	snprintf(args, sizeof(args),
	         "run -w http -s serial,py-threads -n 2 -r 1 --warmup 0 --quick --budget 100 "
	         "--quiet -o %s",
	         tmp_path("r.json"));
	int rc = run_concbench_for(100, args, err, sizeof(err));
	cr_assert_eq(rc, 0, "run exited %d: %s", rc, err);
	json_t *doc = load_json(tmp_path("r.json")), *c;
	size_t i, py = 0;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		cr_assert_str_empty(str(c, "error"), "%s: %s", str(c, "strategy"), str(c, "error"));
		py += strcmp(str(c, "strategy"), "py-threads") == 0;
	}
	cr_assert_eq(py, 1);
	cr_assert(json_is_true(json_object_get(
	              json_object_get(json_object_get(doc, "config"), "plan"), "calibrated")),
	          "the budget made the run calibrate");
	json_decref(doc);
}

Test(python, py_cells_run_on_the_python_sizes_and_all_leaves_them_out)
{
	struct output o =
	    sh("%s run -w primes,sleep -s all,py-serial -n 2 --list-cells --no-estimate",
	       CONCBENCH_BIN);
	cr_assert_eq(o.status, 0, "%s", o.err);
	cr_assert(strstr(o.out, "primes:python sizes py-serial 1 0\n") != NULL, "%s", o.out);
	cr_assert(strstr(o.out, "primes py-serial") == NULL, "%s", o.out);
	cr_assert(strstr(o.out, "sleep py-serial 1 0\n") != NULL, "no python sizes: %s", o.out);
	cr_assert(strstr(o.out, "primes:python sizes gil") == NULL,
	          "serial and gil join the python sizes only in the default suite: %s", o.out);
	output_free(&o);
	o = sh("%s run -w primes -s all -n 2 --list-cells --no-estimate", CONCBENCH_BIN);
	cr_assert(strstr(o.out, "py-") == NULL, "-s all is the compiled strategies: %s", o.out);
	output_free(&o);
}

/* A workload is added with its Python twin (docs/architecture.md). */
Test(python, every_workload_has_a_twin)
{
	go_to_root();
	for (const struct workload_ops *const *w = workload_table(); *w; w++) {
		char path[128];
		snprintf(path, sizeof(path), "py/workloads/%s.py", (*w)->name);
		cr_expect_eq(access(path, R_OK), 0, "%s has no Python twin (%s)", (*w)->name, path);
	}
}

/* gil against py-threads on mixed: both cells report the convoy, and the
 * fidelity section puts the two side by side. */
Test(python, fidelity_holds_the_convoy_simulated_and_real, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 120)
{
	if (!have_python())
		cr_skip_test("no python3 here");
	char args[512], err[4096];
	snprintf(args, sizeof(args),
	         "run -w mixed -s gil,py-threads -n 2 -r 1 --warmup 0 --quick --quiet -o %s",
	         tmp_path("r.json"));
	int rc = run_concbench_for(100, args, err, sizeof(err));
	cr_assert_eq(rc, 0, "run exited %d: %s", rc, err);
	json_t *doc = load_json(tmp_path("r.json"));
	json_t *convoy = json_object_get(json_object_get(doc, "fidelity"), "convoy");
	cr_assert_eq(json_array_size(convoy), 1, "one gil/py-threads pair");
	json_t *e = json_array_get(convoy, 0);
	const char *sides[] = {"simulated", "real"};
	for (size_t k = 0; k < 2; k++) {
		json_t *side = json_object_get(e, sides[k]);
		cr_assert(json_is_number(json_object_get(side, "share_at_half_interval")), "%s",
		          sides[k]);
		cr_assert(json_is_number(json_object_get(side, "slowdown")), "%s", sides[k]);
	}
	cr_assert_str_eq(str(json_object_get(e, "real"), "strategy"), "py-threads");
	json_t *claims = json_object_get(doc, "claims"), *c;
	size_t i;
	json_array_foreach(claims, i, c)
	{
		if (strcmp(str(c, "id"), "gil-convoy") == 0)
			cr_assert(json_is_object(json_object_get(c, "on_python")),
			          "the convoy claim is judged on CPython too");
	}
	json_decref(doc);
}

static json_t *speedup_cell(const char *strategy, const char *variant, double s, double lo,
                            double hi)
{
	return json_pack("{s:s, s:s, s:i, s:i, s:o, s:o, s:{s:i}, s:f, s:[f,f]}", "workload",
	                 "primes", "strategy", strategy, "workers", 2, "ballast_mb", 0, "error",
	                 json_null(), "variant", variant ? json_string(variant) : json_null(),
	                 "params", "limit", variant ? 400000 : 5000000, "speedup_vs_serial", s,
	                 "speedup_ci95", lo, hi);
}

/* The difference's interval pairs the pessimistic ends; equal work wins over
 * the C sizes; a twin without a partner is left out. */
Test(python, fidelity_pairs_and_differences)
{
	json_t *results = json_array();
	json_array_append_new(results, speedup_cell("gil", NULL, 0.97, 0.95, 0.99));
	json_array_append_new(results, speedup_cell("gil", "python sizes", 0.96, 0.94, 0.98));
	json_array_append_new(results,
	                      speedup_cell("py-threads", "python sizes", 0.86, 0.83, 0.89));
	json_array_append_new(results, speedup_cell("py-processes", "python sizes", 1.8, 1.7, 1.9));
	json_t *doc = json_pack("{s:o}", "results", results);
	json_t *f = fidelity_evaluate(doc);
	json_t *speedups = json_object_get(f, "speedups");
	cr_assert_eq(json_array_size(speedups), 1, "py-processes has no processes cell beside it");
	json_t *e = json_array_get(speedups, 0);
	cr_assert(json_is_true(json_object_get(e, "equal_work")));
	json_t *sim = json_object_get(e, "simulated"), *diff = json_object_get(e, "difference");
	cr_assert_float_eq(json_number_value(json_object_get(sim, "speedup")), 0.96, 1e-9);
	cr_assert_float_eq(json_number_value(json_object_get(diff, "value")), -0.10, 1e-9);
	json_t *ci = json_object_get(diff, "ci95");
	cr_assert_float_eq(json_number_value(json_array_get(ci, 0)), 0.83 - 0.98, 1e-9);
	cr_assert_float_eq(json_number_value(json_array_get(ci, 1)), 0.89 - 0.94, 1e-9);
	cr_assert_str_eq(str(diff, "verdict"), "real slower");
	json_decref(f);
	json_decref(doc);
}
