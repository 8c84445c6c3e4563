/* End to end: the real binary runs every strategy, and the result file it
 * writes is read back and held to the design's contract. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runners/runner.h"
#include "tests/support.h"

/* Runs the binary with args through the shell; returns its exit status and
 * fills stderr_text when asked. */
static int run_concbench(const char *args, char *stderr_text, size_t len)
{
	return run_concbench_for(0, args, stderr_text, len);
}

static json_t *load(const char *path)
{
	json_error_t e;
	json_t *doc = json_load_file(path, 0, &e);
	cr_assert_not_null(doc, "%s: %s (line %d)", path, e.text, e.line);
	return doc;
}

static void assert_keys(json_t *obj, const char *what, const char *const *keys)
{
	cr_assert(json_is_object(obj), "%s is not an object", what);
	for (const char *const *k = keys; *k; k++)
		cr_assert_not_null(json_object_get(obj, *k), "%s lacks \"%s\"", what, *k);
}

/* A cell carries its strategy's counters and parameters where the strategy
 * keeps some, and no other strategy's: no "gil": null on a threads cell. */
static void assert_strategy_fields(json_t *c, const char *strategy)
{
	const struct runner_ops *own = runner_find(strategy);
	cr_assert_not_null(own, "%s is not registered", strategy);
	for (const struct runner_ops *const *r = runner_table(); *r; r++)
		if (*r != own && (*r)->stats_key != NULL &&
		    (own->stats_key == NULL || strcmp((*r)->stats_key, own->stats_key) != 0))
			cr_assert_null(json_object_get(c, (*r)->stats_key), "%s cell has \"%s\"",
			               strategy, (*r)->stats_key);
	json_t *sp = json_object_get(c, "strategy_params");
	if (own->params == NULL) {
		cr_assert_null(sp, "%s has no parameters, yet its cell has some", strategy);
		return;
	}
	cr_assert(json_is_object(sp), "%s cell without its strategy_params", strategy);
	for (const struct param_def *d = own->params; d->key; d++)
		cr_assert_not_null(json_object_get(sp, d->key), "%s cell lacks %s.%s", strategy,
		                   strategy, d->key);
}

static json_t *quick_result;
static char quick_path[] = "/tmp/concbench-it-XXXXXX.json";

/* One quick run shared by the field checks: -n 1,2 over all four strategies. */
static void run_quick_once(void)
{
	if (quick_result != NULL)
		return;
	int fd = mkstemps(quick_path, 5);
	cr_assert(fd >= 0);
	close(fd);
	char args[512], err[4096];
	snprintf(
	    args, sizeof(args),
	    "run -w primes -s serial,threads,processes,epoll -n 1,2 -r 2 --quick --quiet -o %s",
	    quick_path);
	int rc = run_concbench(args, err, sizeof(err));
	cr_assert_eq(rc, 0, "run exited %d: %s", rc, err);
	quick_result = load(quick_path);
}

Test(integration, result_file_has_every_field_of_the_design, .timeout = 120)
{
	static const char *const top[] = {"schema_version", "tool",     "created_at",
	                                  "machine",        "config",   "results",
	                                  "claims",         "warnings", NULL};
	static const char *const tool[] = {"name",     "version", "git_commit",
	                                   "compiler", "cflags",  NULL};
	static const char *const machine[] = {"hostname",    "kernel",     "cpu_model",  "topology",
	                                      "allowed_pus", "online_pus", "restricted", "load_avg",
	                                      "governor",    "smt",        NULL};
	static const char *const topology[] = {"packages", "numa_nodes", "cores", "pus",
	                                       "caches",   "synthetic",  NULL};
	static const char *const config[] = {"reps", "warmup", "pin", "switch_interval_us",
	                                     "seed", NULL};
	static const char *const cell[] = {"workload",     "kind",        "params",
	                                   "strategy",     "workers",     "placement",
	                                   "checksum",     "checksum_ok", "error",
	                                   "samples",      "wall_s",      "speedup_vs_serial",
	                                   "speedup_ci95", "efficiency",  "throughput",
	                                   "latency_s",    "warnings",    NULL};
	static const char *const placement[] = {"policy", "cpus", "observed_cpus", NULL};
	static const char *const sample[] = {
	    "wall_s", "user_s", "sys_s", "max_rss_kib", "ctx_voluntary", "ctx_involuntary", NULL};
	static const char *const wall[] = {"median", "mean", "stddev", "min", "max",
	                                   "mad",    "cv",   "ci95",   "n",   NULL};
	run_quick_once();
	json_t *doc = quick_result;
	assert_keys(doc, "result", top);
	cr_assert_eq(json_integer_value(json_object_get(doc, "schema_version")), 1);
	assert_keys(json_object_get(doc, "tool"), "tool", tool);
	assert_keys(json_object_get(doc, "machine"), "machine", machine);
	assert_keys(json_object_get(json_object_get(doc, "machine"), "topology"), "topology",
	            topology);
	assert_keys(json_object_get(doc, "config"), "config", config);
	json_t *results = json_object_get(doc, "results");
	/* serial once, the three others at 1 and 2 workers */
	cr_assert_eq(json_array_size(results), 7);
	size_t i;
	json_t *c;
	json_array_foreach(results, i, c)
	{
		assert_keys(c, "cell", cell);
		assert_keys(json_object_get(c, "placement"), "placement", placement);
		assert_strategy_fields(c, json_string_value(json_object_get(c, "strategy")));
		assert_keys(json_object_get(c, "wall_s"), "wall_s", wall);
		json_t *samples = json_object_get(c, "samples");
		cr_assert_eq(json_array_size(samples), 2, "two counted repetitions");
		assert_keys(json_array_get(samples, 0), "sample", sample);
		cr_assert(json_real_value(json_object_get(json_array_get(samples, 0), "wall_s")) >
		          0);
	}
}

Test(integration, one_checksum_and_the_right_prime_count_everywhere, .timeout = 120)
{
	run_quick_once();
	json_t *results = json_object_get(quick_result, "results");
	const char *first = NULL;
	size_t i;
	json_t *c;
	json_array_foreach(results, i, c)
	{
		const char *sum = json_string_value(json_object_get(c, "checksum"));
		cr_assert_not_null(sum);
		cr_assert(json_is_true(json_object_get(c, "checksum_ok")), "%s: checksum not ok",
		          json_string_value(json_object_get(c, "strategy")));
		cr_assert(json_is_null(json_object_get(c, "error")));
		if (first == NULL)
			first = sum;
		cr_assert_str_eq(sum, first, "checksums differ across strategies");
		/* pi(10^6) = 78498, the --quick bound */
		json_t *answer = json_object_get(c, "answer");
		cr_assert_eq(json_integer_value(json_object_get(answer, "value")), 78498);
	}
}

Test(integration, workers_report_where_they_ran, .timeout = 120)
{
	run_quick_once();
	json_t *results = json_object_get(quick_result, "results");
	long cores = json_integer_value(json_object_get(
	    json_object_get(json_object_get(quick_result, "machine"), "topology"), "cores"));
	size_t i;
	json_t *c;
	json_array_foreach(results, i, c)
	{
		const char *strategy = json_string_value(json_object_get(c, "strategy"));
		json_t *observed =
		    json_object_get(json_object_get(c, "placement"), "observed_cpus");
		json_t *planned = json_object_get(json_object_get(c, "placement"), "cpus");
		cr_assert_eq(json_array_size(observed), json_array_size(planned));
		bool pool = strcmp(strategy, "threads") == 0 || strcmp(strategy, "processes") == 0;
		if (pool && json_integer_value(json_object_get(c, "workers")) == 2 && cores >= 2) {
			/* --pin core on a machine with two cores: the workers cannot share one */
			json_int_t a = json_integer_value(json_array_get(observed, 0));
			json_int_t b = json_integer_value(json_array_get(observed, 1));
			cr_assert(a >= 0 && b >= 0 && a != b, "%s observed cpus %lld and %lld",
			          strategy, (long long)a, (long long)b);
			cr_assert_eq(a, json_integer_value(json_array_get(planned, 0)));
			cr_assert_eq(b, json_integer_value(json_array_get(planned, 1)));
		}
	}
}

Test(integration, speedups_come_from_the_serial_cell, .timeout = 120)
{
	run_quick_once();
	json_t *results = json_object_get(quick_result, "results");
	size_t i;
	json_t *c;
	double serial_median = 0;
	json_array_foreach(results, i,
	                   c) if (strcmp(json_string_value(json_object_get(c, "strategy")),
	                                 "serial") == 0) serial_median =
	    json_real_value(json_object_get(json_object_get(c, "wall_s"), "median"));
	cr_assert(serial_median > 0);
	json_array_foreach(results, i, c)
	{
		double median =
		    json_real_value(json_object_get(json_object_get(c, "wall_s"), "median"));
		double speedup = json_real_value(json_object_get(c, "speedup_vs_serial"));
		cr_assert_float_eq(speedup, serial_median / median, 1e-6);
	}
}

/* The two reasons a speedup falls short, read back: CPU time over serial's
 * and the cores kept busy, which multiply back to about the speedup. */
Test(integration, cpu_time_and_busy_cores_account_for_the_speedup, .timeout = 120)
{
	run_quick_once();
	json_t *results = json_object_get(quick_result, "results");
	size_t i;
	json_t *c;
	json_array_foreach(results, i, c)
	{
		const char *strategy = json_string_value(json_object_get(c, "strategy"));
		json_int_t workers = json_integer_value(json_object_get(c, "workers"));
		double ratio = json_number_value(json_object_get(c, "cpu_vs_serial"));
		double busy = json_number_value(json_object_get(c, "cores_busy"));
		double speedup = json_number_value(json_object_get(c, "speedup_vs_serial"));
		json_t *ci = json_object_get(c, "cpu_vs_serial_ci95");
		cr_assert(json_is_real(json_object_get(c, "cpu_vs_serial")),
		          "%s n=%lld: no CPU ratio", strategy, (long long)workers);
		cr_assert(ratio > 0.5 && ratio < 3, "%s n=%lld: CPU time %.2fx serial's", strategy,
		          (long long)workers, ratio);
		cr_assert(json_number_value(json_array_get(ci, 0)) <= ratio &&
		              ratio <= json_number_value(json_array_get(ci, 1)),
		          "%s n=%lld: %.2f outside its interval", strategy, (long long)workers,
		          ratio);
		cr_assert(busy > 0.2 && busy < 1.3, "%s n=%lld: cores busy %.2f", strategy,
		          (long long)workers, busy);
		if (strcmp(strategy, "serial") == 0)
			cr_assert_float_eq(ratio, 1.0, 1e-9);
		/* epoll is one thread: one core, kept busy by the CPU tasks */
		int cores = strcmp(strategy, "epoll") == 0 ? 1 : (int)workers;
		double accounted = cores * busy / ratio;
		cr_assert(accounted > speedup / 1.6 && accounted < speedup * 1.6,
		          "%s n=%lld: %d cores x %.2f busy / %.2f CPU = %.2f, speedup %.2f",
		          strategy, (long long)workers, cores, busy, ratio, accounted, speedup);
	}
}

/* Under the lock the cores sit idle and the work costs what it did: the
 * summary says so. Sleep, whose serial cell waits, has no CPU ratio, nor
 * has forkserver, whose workers are its server's children, not ours. */
Test(integration, the_lock_leaves_cores_idle_rather_than_costing_cpu, .timeout = 120)
{
	char path[] = "/tmp/concbench-cpu-XXXXXX.json";
	int fd = mkstemps(path, 5);
	cr_assert(fd >= 0);
	close(fd);
	struct output o =
	    sh("%s run -w primes,sleep -s serial,gil,forkserver -n 2 -r 3 --quick -o %s",
	       CONCBENCH_BIN, path);
	cr_assert_eq(o.status, 0, "run exited %d: %s", o.status, o.err);
	cr_assert_not_null(strstr(o.out, "serial's CPU time"), "no CPU line in: %s", o.out);
	json_t *doc = load(path);
	size_t i;
	json_t *c;
	int gil_cells = 0;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		const char *workload = json_string_value(json_object_get(c, "workload"));
		const char *strategy = json_string_value(json_object_get(c, "strategy"));
		if (strcmp(workload, "sleep") == 0 || strcmp(strategy, "forkserver") == 0) {
			cr_assert(json_is_null(json_object_get(c, "cpu_vs_serial")),
			          "%s %s has a CPU ratio", workload, strategy);
			continue;
		}
		if (strcmp(strategy, "gil") != 0)
			continue;
		gil_cells++;
		double busy = json_number_value(json_object_get(c, "cores_busy"));
		double ratio = json_number_value(json_object_get(c, "cpu_vs_serial"));
		cr_assert(busy < 0.8, "gil n=2 kept its cores %.0f%% busy", 100 * busy);
		cr_assert(ratio > 0.6 && ratio < 1.6, "gil's work cost %.2fx serial's CPU", ratio);
	}
	cr_assert_eq(gil_cells, 1);
	json_decref(doc);
	output_free(&o);
	unlink(path);
}

static void assert_usage_error(const char *args, const char *needle)
{
	char err[4096];
	int rc = run_concbench(args, err, sizeof(err));
	cr_assert_eq(rc, 2, "`%s` exited %d, not 2", args, rc);
	cr_assert_not_null(strstr(err, needle), "`%s` said \"%s\", not naming \"%s\"", args, err,
	                   needle);
	/* One clear line. */
	char *nl = strchr(err, '\n');
	cr_assert(nl != NULL && nl[1] == '\0', "`%s` printed more than one line: %s", args, err);
}

Test(integration, bad_input_gets_one_line_and_status_2, .timeout = 60)
{
	assert_usage_error("run -w nosuch -o /tmp/concbench-never.json", "nosuch");
	assert_usage_error("run -s nosuch -o /tmp/concbench-never.json", "nosuch");
	assert_usage_error("run -n 0 -o /tmp/concbench-never.json", "'0'");
	assert_usage_error("run -n two -o /tmp/concbench-never.json", "'two'");
	assert_usage_error("run -p primes.nokey=3 -o /tmp/concbench-never.json", "primes.nokey");
	assert_usage_error("run -o /nonexistent-dir/r.json", "/nonexistent-dir");
	assert_usage_error("frobnicate", "frobnicate");
	assert_usage_error("topology --pin sideways", "sideways");
	struct stat st;
	cr_assert_neq(stat("/tmp/concbench-never.json", &st), 0, "a failed run wrote a file");
}

Test(integration, a_failed_run_leaves_an_older_result_alone, .timeout = 60)
{
	char path[] = "/tmp/concbench-keep-XXXXXX.json";
	int fd = mkstemps(path, 5);
	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, "{\"old\": true}\n", 14), 14);
	close(fd);
	char args[256];
	snprintf(args, sizeof(args), "run -w primes -n 0 -o %s", path);
	cr_assert_eq(run_concbench(args, NULL, 0), 2);
	json_t *doc = load(path);
	cr_assert(json_is_true(json_object_get(doc, "old")));
	json_decref(doc);
	unlink(path);
}

Test(integration, list_and_topology_answer, .timeout = 60)
{
	cr_assert_eq(run_concbench("list", NULL, 0), 0);
	cr_assert_eq(run_concbench("topology", NULL, 0), 0);
	cr_assert_eq(run_concbench("topology --json", NULL, 0), 0);
	cr_assert_eq(run_concbench("run --help", NULL, 0), 0);
	cr_assert_eq(run_concbench("--help", NULL, 0), 0);
}

Test(integration, io_and_mixed_workloads_under_every_strategy, .timeout = 180)
{
	char path[] = "/tmp/concbench-mixed-XXXXXX.json", args[512], err[4096];
	int fd = mkstemps(path, 5);
	cr_assert(fd >= 0);
	close(fd);
	snprintf(args, sizeof(args), "run -w sleep,mixed -s all -n 2 -r 1 --quick --quiet -o %s",
	         path);
	int rc = run_concbench(args, err, sizeof(err));
	cr_assert_eq(rc, 0, "run exited %d: %s", rc, err);
	json_t *doc = load(path);
	json_t *results = json_object_get(doc, "results"), *c;
	size_t i;
	/* every strategy that can run here, on each workload it runs */
	size_t cells = 0;
	static const char *const both[] = {"sleep", "mixed"};
	for (const struct runner_ops *const *r = runner_table(); *r; r++)
		for (size_t k = 0; k < 2; k++)
			cells += !(*r)->interpreted && /* as -s all */
			         ((*r)->unavailable == NULL || (*r)->unavailable() == NULL) &&
			         ((*r)->cannot_run == NULL ||
			          (*r)->cannot_run(workload_find(both[k])) == NULL);
	cr_assert_eq(json_array_size(results), cells, "2 workloads x every strategy");
	json_array_foreach(results, i, c)
	{
		const char *strategy = json_string_value(json_object_get(c, "strategy"));
		const char *workload = json_string_value(json_object_get(c, "workload"));
		cr_assert(json_is_true(json_object_get(c, "checksum_ok")), "%s/%s: %s", workload,
		          strategy, json_string_value(json_object_get(c, "error")));
		json_t *gil = json_object_get(c, "gil");
		if (strcmp(strategy, "gil") == 0) {
			cr_assert(json_is_object(gil), "%s gil cell without its counters",
			          workload);
			cr_assert(json_number_value(json_object_get(gil, "acquisitions")) > 0);
		}
		assert_strategy_fields(c, strategy);
		if (strcmp(workload, "mixed") == 0) {
			json_t *lat = json_object_get(c, "latency_s");
			cr_assert(json_integer_value(json_object_get(lat, "n")) > 0,
			          "%s: no round trips timed", strategy);
			cr_assert(json_number_value(json_object_get(lat, "p50")) > 0);
		}
	}
	json_decref(doc);
	unlink(path);
}

/* ---- the convoy: the I/O stream alone and beside the CPU tasks (mixed) ---- */

/* mixed under gil and threads at n=2; the document, or NULL when the run failed. */
static json_t *run_convoy(void)
{
	char path[] = "/tmp/concbench-convoy-XXXXXX.json", args[512], err[4096];
	int fd = mkstemps(path, 5);
	cr_assert(fd >= 0);
	close(fd);
	snprintf(args, sizeof(args), "run -w mixed -s gil,threads -n 2 -r 3 --quick --quiet -o %s",
	         path);
	int rc = run_concbench(args, err, sizeof(err));
	json_t *doc = rc == 0 ? load(path) : NULL;
	unlink(path);
	cr_assert_eq(rc, 0, "run exited %d: %s", rc, err);
	return doc;
}

static json_t *convoy_of(json_t *doc, const char *strategy)
{
	json_t *results = json_object_get(doc, "results"), *c;
	size_t i;
	json_array_foreach(results, i,
	                   c) if (strcmp(json_string_value(json_object_get(c, "strategy")),
	                                 strategy) == 0) return json_object_get(c, "convoy");
	cr_assert_fail("no %s cell", strategy);
	return NULL;
}

static double field(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(json_is_number(v), "%s is not a number", key);
	return json_number_value(v);
}

static void assert_phase(json_t *convoy, const char *strategy, const char *phase)
{
	json_t *p = json_object_get(convoy, phase);
	cr_assert(json_is_object(p), "%s: no convoy.%s", strategy, phase);
	cr_assert(field(p, "n") > 0, "%s: no round trips %s", strategy, phase);
	double mean = field(p, "mean"), share = field(p, "share_over_threshold");
	cr_assert(isfinite(mean) && mean > 0, "%s %s: mean %g", strategy, phase, mean);
	cr_assert(share >= 0 && share <= 1, "%s %s: share %g", strategy, phase, share);
	json_t *ci = json_object_get(p, "share_ci95");
	double lo = json_number_value(json_array_get(ci, 0));
	double hi = json_number_value(json_array_get(ci, 1));
	cr_assert(lo >= 0 && lo <= share && share <= hi && hi <= 1, "%s %s: share %g in [%g, %g]",
	          strategy, phase, share, lo, hi);
}

/* The figures are there and hang together; returns the slowdown. */
static double assert_convoy(json_t *doc, const char *strategy)
{
	json_t *convoy = convoy_of(doc, strategy);
	cr_assert(json_is_object(convoy), "%s: no convoy object", strategy);
	cr_assert_float_eq(field(convoy, "threshold_s"), field(convoy, "interval_s") / 2, 1e-12);
	assert_phase(convoy, strategy, "alone");
	assert_phase(convoy, strategy, "busy");
	json_t *sd = json_object_get(convoy, "slowdown");
	double v = field(sd, "value");
	json_t *ci = json_object_get(sd, "ci95");
	double lo = json_number_value(json_array_get(ci, 0));
	double hi = json_number_value(json_array_get(ci, 1));
	cr_assert(lo <= v && v <= hi, "%s: slowdown %g outside [%g, %g]", strategy, v, lo, hi);
	json_t *h = json_object_get(convoy, "histogram");
	cr_assert_eq(json_array_size(json_object_get(h, "edges_s")),
	             json_array_size(json_object_get(h, "busy")) + 1);
	return v;
}

Test(integration, mixed_reports_the_stream_alone_and_busy, .timeout = 180)
{
	json_t *doc = run_convoy();
	assert_convoy(doc, "gil");
	double threads = assert_convoy(doc, "threads");
	if (threads >= 5) { /* a noisy machine: one more try */
		cr_log_warn("threads' slowdown %.2fx, running again", threads);
		json_decref(doc);
		doc = run_convoy();
		threads = assert_convoy(doc, "threads");
	}
	cr_assert(threads < 5, "threads slow the stream %.2fx: without a lock they should not",
	          threads);
	json_decref(doc);
}

/* Under the gil the stream beside a CPU thread waits for the lock, often a
 * whole switch interval; alone it never does. */
Test(integration, gil_busy_round_trips_wait_half_an_interval_more_often, .timeout = 180)
{
	json_t *doc = run_convoy();
	json_t *convoy = convoy_of(doc, "gil");
	double busy = field(json_object_get(convoy, "busy"), "share_over_threshold");
	double alone = field(json_object_get(convoy, "alone"), "share_over_threshold");
	cr_assert(busy > alone, "gil: %.3f of busy round trips at half an interval, %.3f alone",
	          busy, alone);
	json_decref(doc);
}

/* -p gil.switch_interval_us=500 and the old --switch-interval-us 500 are one
 * setting: the lock runs at 500 us, the convoy is measured against it, and
 * the config and the cell record it. */
static json_t *run_mixed_gil(const char *how)
{
	char path[] = "/tmp/concbench-it-sp-XXXXXX.json", args[512], err[4096];
	int fd = mkstemps(path, 5);
	cr_assert(fd >= 0);
	close(fd);
	snprintf(args, sizeof(args),
	         "run -w mixed -s gil -n 2 -r 1 --warmup 0 --quick --quiet %s -o %s", how, path);
	int rc = run_concbench(args, err, sizeof(err));
	cr_assert_eq(rc, 0, "run %s exited %d: %s", how, rc, err);
	json_t *doc = load(path);
	unlink(path);
	return doc;
}

Test(integration, strategy_params_and_their_aliases_agree, .timeout = 120)
{
	static const char *const hows[] = {"-p gil.switch_interval_us=500 -p gil.force_switching=0",
	                                   "--switch-interval-us 500 --gil-no-force-switch"};
	for (size_t k = 0; k < 2; k++) {
		json_t *doc = run_mixed_gil(hows[k]);
		json_t *cfg = json_object_get(doc, "config");
		cr_assert_eq(json_integer_value(json_object_get(cfg, "switch_interval_us")), 500,
		             "%s", hows[k]);
		json_t *c = json_array_get(json_object_get(doc, "results"), 0);
		json_t *sp = json_object_get(c, "strategy_params");
		cr_assert_eq(json_integer_value(json_object_get(sp, "switch_interval_us")), 500);
		cr_assert_eq(json_integer_value(json_object_get(sp, "force_switching")), 0);
		json_t *gil = json_object_get(c, "gil");
		cr_assert_eq(json_number_value(json_object_get(gil, "interval_us")), 500, "%s",
		             hows[k]);
		cr_assert_eq(json_number_value(json_object_get(gil, "force_switching")), 0);
		cr_assert_float_eq(field(json_object_get(c, "convoy"), "interval_s"), 500e-6,
		                   1e-12);
		cr_assert_null(json_object_get(json_object_get(c, "params"), "switch_interval_us"),
		               "the workload's params stay the workload's");
		json_decref(doc);
	}
}
