/* The readers' bounds (issue 20): report, compare and claims refuse input
 * over CONCBENCH_MAX_INPUT_MB before reading it all, and stay near-linear in
 * cells and samples, on files generated here. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support.h"

TestSuite(readers, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 240);

struct outcome {
	int status;
	double seconds;
	long max_rss_kib;
	char err[1024];
};

/* Runs the binary with argv (cap: CONCBENCH_MAX_INPUT_MB, NULL to leave it
 * unset), stdout dropped; the status, wall time, peak RSS and stderr. */
static struct outcome run_reader(char *const argv[], const char *cap)
{
	struct outcome o = {0};
	char errfile[PATH_MAX];
	snprintf(errfile, sizeof(errfile), "%s/stderr", tmpdir);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int null = open("/dev/null", O_WRONLY);
		if (fd < 0 || null < 0 || dup2(fd, 2) < 0 || dup2(null, 1) < 0)
			_exit(99);
		if (cap != NULL)
			setenv("CONCBENCH_MAX_INPUT_MB", cap, 1);
		else
			unsetenv("CONCBENCH_MAX_INPUT_MB");
		execv(CONCBENCH_BIN, argv);
		_exit(97);
	}
	int st;
	struct rusage ru;
	cr_assert_eq(wait4(pid, &st, 0, &ru), pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	o.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	o.seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
	o.max_rss_kib = ru.ru_maxrss;
	FILE *f = fopen(errfile, "r");
	if (f != NULL) {
		size_t n = fread(o.err, 1, sizeof(o.err) - 1, f);
		o.err[n] = '\0';
		fclose(f);
	}
	return o;
}

static json_t *sample_array(size_t n, double base, unsigned *rng)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		*rng = *rng * 1103515245u + 12345u;
		double w = base * (1 + 0.05 * (double)(*rng >> 8) / (double)(1u << 24));
		json_array_append_new(a, json_pack("{s:f}", "wall_s", w));
	}
	return a;
}

static json_t *cell(const char *strategy, int workers, int param, double median, size_t n_samples,
                    unsigned *rng)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:{s:i}, s:o, s:{s:f, s:[f, f]}, s:n}", "workload",
	                 "sleep", "kind", "io", "strategy", strategy, "workers", workers, "params",
	                 "ms", param, "samples", sample_array(n_samples, median, rng), "wall_s",
	                 "median", median, "ci95", median * 0.99, median * 1.01, "error");
}

/* A version-1 result of groups x (serial n=1, threads n=2) cells, every group
 * with its own parameters, each cell with n_samples samples; written to path. */
static void write_result(const char *path, size_t groups, size_t n_samples, double scale)
{
	unsigned rng = 12345;
	json_t *results = json_array();
	for (size_t g = 0; g < groups; g++) {
		json_array_append_new(results,
		                      cell("serial", 1, (int)g + 1, 0.1 * scale, n_samples, &rng));
		json_array_append_new(
		    results, cell("threads", 2, (int)g + 1, 0.05 * scale, n_samples, &rng));
	}
	json_t *doc =
	    json_pack("{s:i, s:s, s:{s:s, s:s, s:{s:i}}, s:{s:[s, s]}, s:o}", "schema_version", 1,
	              "created_at", "2026-12-01T00:00:00Z", "machine", "hostname", "gen",
	              "cpu_model", "gen", "topology", "cores", 2, "config", "strategies", "serial",
	              "threads", "results", results);
	cr_assert_not_null(doc);
	cr_assert_eq(json_dump_file(doc, path, JSON_COMPACT), 0);
	json_decref(doc);
}

Test(readers, a_regular_file_over_the_cap_is_refused_before_reading)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/big.json", tmpdir);
	write_result(path, 2000, 2, 1); /* a few MiB */
	char *argv[] = {CONCBENCH_BIN, "report", path, NULL};
	struct outcome o = run_reader(argv, "1");
	cr_assert_eq(o.status, 2, "exited %d: %s", o.status, o.err);
	cr_assert_not_null(strstr(o.err, "cap of 1 MiB"), "%s", o.err);
	cr_assert_not_null(strstr(o.err, "CONCBENCH_MAX_INPUT_MB"), "%s", o.err);
	/* refused from its size: the process never held the file */
	cr_assert_lt(o.max_rss_kib, 64 * 1024, "%ld KiB", o.max_rss_kib);
	o = run_reader(argv, NULL);
	cr_assert_eq(o.status, 0, "under the default cap it reads: %s", o.err);
}

Test(readers, an_endless_device_stops_at_the_cap)
{
	static const char *const cmds[] = {"report", "claims"};
	for (size_t i = 0; i < 2; i++) {
		char *argv[] = {CONCBENCH_BIN, (char *)cmds[i], "/dev/zero", NULL};
		struct outcome o = run_reader(argv, "8");
		cr_assert_eq(o.status, 2, "%s exited %d: %s", cmds[i], o.status, o.err);
		cr_assert_not_null(strstr(o.err, "cap of 8 MiB"), "%s", o.err);
		cr_assert_lt(o.max_rss_kib, 96 * 1024, "%s held %ld KiB", cmds[i], o.max_rss_kib);
	}
	char *argv[] = {CONCBENCH_BIN, "report", "/dev/zero", NULL};
	struct outcome o = run_reader(argv, NULL);
	cr_assert_eq(o.status, 2);
	cr_assert_not_null(strstr(o.err, "cap of 256 MiB"), "the default cap: %s", o.err);
	/* 256 MiB read and refused (ASan's allocator roughly triples that);
	 * without a cap the read of /dev/zero never ends */
	cr_assert_lt(o.max_rss_kib, 1024 * 1024, "%ld KiB", o.max_rss_kib);
}

Test(readers, a_bad_cap_is_one_line_and_status_2)
{
	static const char *const bad[] = {"x", "0", "-5", "1.5", " 3", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[] = {CONCBENCH_BIN, "report", "/dev/null", NULL};
		struct outcome o = run_reader(argv, bad[i]);
		cr_assert_eq(o.status, 2, "'%s' exited %d", bad[i], o.status);
		cr_assert_not_null(strstr(o.err, "CONCBENCH_MAX_INPUT_MB"), "%s", o.err);
		cr_assert_eq(strchr(o.err, '\n'), o.err + strlen(o.err) - 1, "%s", o.err);
	}
}

/* 50,000 cells of distinct parameters: quadratic grouping took minutes. */
Test(readers, fifty_thousand_cells_are_read_in_near_linear_time)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/cells.json", tmpdir);
	write_result(path, 25000, 3, 1);
	static const char *const cmds[] = {"report", "claims", "compare"};
	for (size_t i = 0; i < 3; i++) {
		char *argv[] = {CONCBENCH_BIN, (char *)cmds[i], path, i == 2 ? path : NULL, NULL};
		struct outcome o = run_reader(argv, NULL);
		cr_assert_eq(o.status, 0, "%s exited %d: %s", cmds[i], o.status, o.err);
		cr_assert_lt(o.seconds, 20, "%s took %.1f s", cmds[i], o.seconds);
		cr_assert_lt(o.max_rss_kib, 1024 * 1024, "%s held %ld KiB", cmds[i], o.max_rss_kib);
	}
}

/* run -r allows 100,000 samples; the sort and the U test were quadratic. */
Test(readers, compare_of_a_hundred_thousand_samples_per_cell_is_quick)
{
	char base[PATH_MAX], slower[PATH_MAX];
	snprintf(base, sizeof(base), "%s/base.json", tmpdir);
	snprintf(slower, sizeof(slower), "%s/slower.json", tmpdir);
	write_result(base, 1, 100000, 1);
	write_result(slower, 1, 100000, 1.2);
	char *argv[] = {CONCBENCH_BIN, "compare", base, slower, NULL};
	struct outcome o = run_reader(argv, NULL);
	cr_assert_eq(o.status, 1, "a 20%% slowdown is a regression: exited %d: %s", o.status,
	             o.err);
	cr_assert_lt(o.seconds, 10, "two cells took %.1f s", o.seconds);
}
