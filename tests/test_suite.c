/* The default suite as `make bench` runs it: which cells it measures (the
 * in-flight sweep of I/O workloads, the release_gil variant, the
 * parent-memory sweep), the progress lines, the summary table, and the
 * figures every cell carries (idle CPU share, ballast). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CONCBENCH_BIN
#error "the Makefile passes CONCBENCH_BIN"
#endif

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *text = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return text;
}

/* Runs `concbench ARGS`; returns the exit status, stdout and stderr (freed by the caller). */
static int run(const char *args, char **out, char **err)
{
	char o[] = "/tmp/concbench-suite-out-XXXXXX", e[] = "/tmp/concbench-suite-err-XXXXXX";
	char cmd[2048];
	close(mkstemp(o));
	close(mkstemp(e));
	snprintf(cmd, sizeof(cmd), "timeout 300 %s %s >%s 2>%s", CONCBENCH_BIN, args, o, e);
	int status = system(cmd);
	*out = slurp(o);
	*err = slurp(e);
	unlink(o);
	unlink(e);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int count_lines_with(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static int cores(void)
{
	char *out, *err;
	cr_assert_eq(run("topology --json", &out, &err), 0);
	json_error_t e;
	json_t *t = json_loads(out, 0, &e);
	cr_assert_not_null(t, "%s", e.text);
	json_t *c = json_object_get(t, "cores");
	if (c == NULL)
		c = json_object_get(json_object_get(t, "topology"), "cores");
	int n = (int)json_integer_value(c);
	json_decref(t);
	free(out);
	free(err);
	cr_assert_gt(n, 0);
	return n;
}

Test(suite, the_default_suite_has_every_cell_the_claims_need)
{
	char *out, *err, line[128];
	cr_assert_eq(run("run --list-cells --no-estimate", &out, &err), 0, "%s", err);
	int n = cores();
	/* I/O workloads also run with 8 and 32 tasks in flight; CPU ones do not. */
	cr_assert(strstr(out, "sleep epoll 32 0\n") && strstr(out, "http threads 8 0\n") &&
	              strstr(out, "files gil 32 0\n"),
	          "%s", out);
	cr_assert_null(strstr(out, "primes threads 32 0\n"), "a CPU workload at 32 workers");
	/* claim 7: primes again with the lock released, under serial and gil only */
	cr_assert_not_null(strstr(out, "primes:release_gil=1 serial 1 0\n"), "%s", out);
	snprintf(line, sizeof(line), "primes:release_gil=1 gil %d 0\n", n);
	cr_assert_not_null(strstr(out, line), "%s", out);
	cr_assert_null(strstr(out, "primes:release_gil=1 threads"));
	/* claim 4: threads and processes at the core count with 256 MiB and 1 GiB in the parent */
	static const char *const strategies[] = {"threads", "processes"};
	static const int ballast[] = {256, 1024};
	for (int s = 0; s < 2; s++)
		for (int b = 0; b < 2; b++) {
			snprintf(line, sizeof(line), "sleep %s %d %d\n", strategies[s], n,
			         ballast[b]);
			cr_assert_not_null(strstr(out, line), "no '%s' in\n%s", line, out);
		}
	free(out);
	free(err);
}

Test(suite, a_chosen_workload_runs_the_plain_matrix)
{
	char *out, *err;
	cr_assert_eq(
	    run("run -w primes -s serial,threads -n 1,2 --list-cells --no-estimate", &out, &err),
	    0);
	cr_assert_str_eq(out, "primes serial 1 0\nprimes threads 1 0\nprimes threads 2 0\n");
	free(out);
	free(err);
	cr_assert_eq(run("run -w sleep -s serial,processes -n 2 --ballast-mb 0,64 --list-cells "
	                 "--no-estimate",
	                 &out, &err),
	             0);
	cr_assert_str_eq(out, "sleep serial 1 0\nsleep processes 2 0\n"
	                      "sleep serial 1 64\nsleep processes 2 64\n");
	free(out);
	free(err);
}

Test(suite, bad_ballast_is_refused_with_one_line)
{
	static const char *const bad[] = {"-1", "abc", "70000", "1,,2", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *out, *err, args[128];
		snprintf(args, sizeof(args), "run -w sleep --ballast-mb '%s' --list-cells", bad[i]);
		cr_assert_eq(run(args, &out, &err), 2, "--ballast-mb '%s' was accepted", bad[i]);
		cr_assert_not_null(strstr(err, "--ballast-mb"), "%s", err);
		cr_assert_eq(count_lines_with(err, "\n"), 1, "more than one line: %s", err);
		free(out);
		free(err);
	}
}

static json_t *cell(json_t *doc, const char *strategy, int workers, int ballast)
{
	json_t *c;
	size_t i;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "strategy")), strategy) == 0 &&
		    json_integer_value(json_object_get(c, "workers")) == workers &&
		    json_integer_value(json_object_get(c, "ballast_mb")) == ballast)
			return c;
	}
	return NULL;
}

static double mean_startup(json_t *c)
{
	json_t *a = json_object_get(json_object_get(c, "placement"), "worker_startup_s"), *x;
	double sum = 0;
	size_t i;
	json_array_foreach(a, i, x) sum += json_number_value(x);
	return json_array_size(a) ? sum / (double)json_array_size(a) : 0;
}

/* Fork copies the parent's page tables: a child of a parent holding 512 MiB
 * takes longer to reach its first task. Retried once: the machine is shared. */
static bool startup_grows_with_ballast(void)
{
	char *out, *err;
	char path[] = "/tmp/concbench-ballast-XXXXXX.json", args[512];
	close(mkstemps(path, 5));
	snprintf(args, sizeof(args),
	         "run -w sleep -s serial,threads,processes -n 2 --ballast-mb 0,512 -r 3 --warmup 1 "
	         "--quick --quiet -o %s",
	         path);
	cr_assert_eq(run(args, &out, &err), 0, "%s", err);
	json_error_t e;
	json_t *doc = json_load_file(path, 0, &e);
	cr_assert_not_null(doc);
	json_t *p0 = cell(doc, "processes", 2, 0), *p512 = cell(doc, "processes", 2, 512);
	json_t *t512 = cell(doc, "threads", 2, 512);
	cr_assert(p0 && p512 && t512);
	cr_assert_eq(json_integer_value(json_object_get(p512, "ballast_mb")), 512);
	bool grew = mean_startup(p512) > 2 * mean_startup(p0) &&
	            mean_startup(p512) > 2 * mean_startup(t512);
	if (!grew)
		cr_log_warn("fork start-up: %.3f ms with 512 MiB, %.3f ms without, threads %.3f ms",
		            1e3 * mean_startup(p512), 1e3 * mean_startup(p0),
		            1e3 * mean_startup(t512));
	json_decref(doc);
	unlink(path);
	free(out);
	free(err);
	return grew;
}

Test(suite, fork_start_up_grows_with_the_parents_memory, .timeout = 120)
{
	cr_assert(startup_grows_with_ballast() || startup_grows_with_ballast());
}

Test(suite, progress_summary_and_idle_share, .timeout = 120)
{
	char *out, *err;
	char path[] = "/tmp/concbench-suite-XXXXXX.json", args[512];
	close(mkstemps(path, 5));
	snprintf(args, sizeof(args),
	         "run -w sleep -s serial,threads,epoll -n 1,2 -r 2 --warmup 0 --quick -o %s", path);
	cr_assert_eq(run(args, &out, &err), 0, "%s", err);
	/* off a terminal: one line per finished cell, no carriage returns */
	cr_assert_eq(count_lines_with(err, ": median "), 5, "%s", err);
	cr_assert_null(strchr(err, '\r'));
	/* the summary: each strategy's best speedup and where, and a winner */
	const char *table = strstr(out, "best speedup over serial per strategy");
	cr_assert_not_null(table, "%s", out);
	const char *row = strstr(table, "\n  sleep ");
	cr_assert_not_null(row, "%s", table);
	cr_assert_not_null(strstr(row, "x @2"), "%s", row);
	json_error_t e;
	json_t *doc = json_load_file(path, 0, &e);
	json_t *c;
	size_t i;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		double idle = json_number_value(json_object_get(c, "idle_cpu_share"));
		cr_assert(idle >= 0 && idle <= 1, "idle share %f", idle);
		cr_assert(json_is_number(json_object_get(
		    json_array_get(json_object_get(c, "samples"), 0), "idle_share")));
	}
	json_decref(doc);
	free(out);
	free(err);
	/* --quiet: nothing on stderr */
	snprintf(args, sizeof(args), "run -w sleep -s serial -r 1 --warmup 0 --quick --quiet -o %s",
	         path);
	cr_assert_eq(run(args, &out, &err), 0);
	cr_assert_str_eq(err, "");
	unlink(path);
	free(out);
	free(err);
}
