/* The three process start methods (processes: fork, forkserver, spawn): every
 * workload under each with one checksum, a worker killed from outside
 * reported with its signal and task, and what sets them apart: fork's
 * start-up grows with the parent's memory, forkserver's does not. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support.h"
#include "readers/claims.h"
#include "workloads/workload.h"

static const char *const methods[] = {"processes", "forkserver", "spawn"};
#define N_METHODS (sizeof(methods) / sizeof(methods[0]))

static json_t *cell_of(json_t *doc, const char *workload, const char *strategy, int ballast)
{
	json_t *c;
	size_t i;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "workload")), workload) == 0 &&
		    strcmp(json_string_value(json_object_get(c, "strategy")), strategy) == 0 &&
		    json_integer_value(json_object_get(c, "ballast_mb")) == ballast &&
		    json_is_null(json_object_get(c, "variant")))
			return c;
	}
	return NULL;
}

Test(startmethods, every_workload_under_every_start_method_has_one_checksum, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 300)
{
	const char *res = tmp_path("all.json");
	struct output o = sh("timeout 280 %s run -w all -s serial,processes,forkserver,spawn -n 2 "
	                     "--quick -r 1 --warmup 0 -p triad.elements=262144 -p files.count=8 "
	                     "--quiet -o %s",
	                     CONCBENCH_BIN, res);
	cr_assert_eq(o.status, 0, "%s", o.err);
	output_free(&o);
	json_t *doc = load_json(res);
	for (const struct workload_ops *const *w = workload_table(); *w; w++) {
		json_t *serial = cell_of(doc, (*w)->name, "serial", 0);
		cr_assert_not_null(serial, "%s: no serial cell", (*w)->name);
		const char *want = json_string_value(json_object_get(serial, "checksum"));
		for (size_t m = 0; m < N_METHODS; m++) {
			json_t *c = cell_of(doc, (*w)->name, methods[m], 0);
			cr_assert_not_null(c, "%s %s: no cell", (*w)->name, methods[m]);
			cr_assert(json_is_null(json_object_get(c, "error")), "%s %s: %s",
			          (*w)->name, methods[m],
			          json_string_value(json_object_get(c, "error")));
			cr_assert_str_eq(json_string_value(json_object_get(c, "checksum")), want,
			                 "%s %s", (*w)->name, methods[m]);
			cr_assert_eq(json_array_size(json_object_get(
			                 json_object_get(c, "placement"), "worker_startup_s")),
			             2, "%s %s: a start-up per worker", (*w)->name, methods[m]);
		}
	}
	json_decref(doc);
}

/* ---- a worker killed from outside ----------------------------------------------------------- */

static pid_t parent_of(pid_t pid)
{
	char buf[512];
	const char *fields = proc_stat_fields((int)pid, buf, sizeof(buf));
	int ppid = -1;
	char state;
	if (fields == NULL || sscanf(fields, " %c %d", &state, &ppid) != 2)
		return -1;
	return (pid_t)ppid;
}

/* How far below root pid is: 1 for a child, 2 for a grandchild, 0 otherwise. */
static int depth_below(pid_t pid, pid_t root)
{
	for (int d = 1; d <= 3; d++) {
		pid = parent_of(pid);
		if (pid <= 1)
			return 0;
		if (pid == root)
			return d;
	}
	return 0;
}

/* A worker of the run with pid root: a child (fork, spawn) or, under
 * forkserver, a grandchild (the server's child); -1 when none is up yet. */
static pid_t find_worker(pid_t root, const char *method)
{
	int want = strcmp(method, "forkserver") == 0 ? 2 : 1;
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = -1;
	while (d != NULL && found < 0 && (e = readdir(d)) != NULL) {
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid > 0 && depth_below(pid, root) == want)
			found = pid;
	}
	if (d != NULL)
		closedir(d);
	return found;
}

static void killed_worker_is_reported(const char *method)
{
	const char *res = tmp_path("killed.json");
	pid_t run = fork();
	cr_assert_geq(run, 0);
	if (run == 0) {
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		execl(CONCBENCH_BIN, CONCBENCH_BIN, "run", "-w", "sleep", "-s", method, "-n", "2",
		      "-p", "sleep.tasks=4", "-p", "sleep.ms=700", "-r", "1", "--warmup", "0",
		      "--quiet", "-o", res, (char *)NULL);
		_exit(127);
	}
	pid_t worker = -1;
	for (int k = 0; k < 400 && worker < 0; k++) {
		usleep(25000);
		worker = find_worker(run, method);
	}
	cr_assert_gt(worker, 0, "%s: no worker appeared", method);
	usleep(300000); /* into its first task */
	cr_assert_eq(kill(worker, SIGKILL), 0);
	int status;
	cr_assert_eq(waitpid(run, &status, 0), run);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "%s: exit status %d", method,
	          status);
	json_t *doc = load_json(res);
	json_t *c = cell_of(doc, "sleep", method, 0);
	const char *error = json_string_value(json_object_get(c, "error"));
	cr_assert_not_null(error, "%s: the cell has no error", method);
	cr_assert_not_null(strstr(error, "SIGKILL"), "%s: %s", method, error);
	cr_assert_not_null(strstr(error, "while running task"), "%s: %s", method, error);
	json_decref(doc);
}

Test(startmethods, a_killed_worker_is_reported_with_its_signal_and_task, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 120)
{
	for (size_t m = 0; m < N_METHODS; m++)
		killed_worker_is_reported(methods[m]);
}

/* ---- start-up against the parent's memory -----------------------------------------------------
 */

static double median_startup(json_t *c)
{
	json_t *placement = json_object_get(c, "placement");
	json_t *a = json_object_get(placement, "worker_startup_all_s"), *x;
	size_t n = json_array_size(a), i, k = 0;
	double *v = calloc(n + 1, sizeof(*v));
	json_array_foreach(a, i, x) v[k++] = json_number_value(x);
	for (size_t p = 1; p < k; p++) /* insertion sort: a few dozen values */
		for (size_t q = p; q > 0 && v[q - 1] > v[q]; q--) {
			double t = v[q];
			v[q] = v[q - 1];
			v[q - 1] = t;
		}
	double m = k == 0 ? 0 : k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
	free(v);
	return m;
}

/* fork's start-up with 512 MiB in the parent at least twice its start-up
 * without; forkserver's less than twice its own (it forks from a server
 * started before the ballast); generous bounds for a shared machine. */
static bool forkserver_stays_flat_where_fork_grows(void)
{
	const char *res = tmp_path("ballast.json");
	struct output o = sh("timeout 200 %s run -w sleep -s processes,forkserver -n 2 "
	                     "--ballast-mb 0,512 -r 3 --warmup 1 --quick --quiet -o %s",
	                     CONCBENCH_BIN, res);
	cr_assert_eq(o.status, 0, "%s", o.err);
	output_free(&o);
	json_t *doc = load_json(res);
	double f0 = median_startup(cell_of(doc, "sleep", "processes", 0));
	double f1 = median_startup(cell_of(doc, "sleep", "processes", 512));
	double s0 = median_startup(cell_of(doc, "sleep", "forkserver", 0));
	double s1 = median_startup(cell_of(doc, "sleep", "forkserver", 512));
	json_decref(doc);
	bool ok = f1 > 2 * f0 && s1 < 2 * s0 + 0.002 && f1 > s1;
	if (!ok)
		cr_log_warn("start-up, 0 and 512 MiB: fork %.3f and %.3f ms, forkserver %.3f and "
		            "%.3f ms",
		            1e3 * f0, 1e3 * f1, 1e3 * s0, 1e3 * s1);
	return ok;
}

Test(startmethods, forkserver_start_up_stays_flat_where_fork_grows, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 300)
{
	cr_assert(forkserver_stays_flat_where_fork_grows() ||
	          forkserver_stays_flat_where_fork_grows());
}

Test(startmethods, list_names_each_start_method_with_its_python_context, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 120)
{
	/* The python analogues name the start method, and every start method is
	 * a strategy of its own in `list`. */
	struct output o = sh("%s list", CONCBENCH_BIN);
	cr_assert_eq(o.status, 0);
	cr_assert_not_null(strstr(o.out, "get_context('forkserver')"), "%s", o.out);
	cr_assert_not_null(strstr(o.out, "get_context('spawn')"), "%s", o.out);
	output_free(&o);
}

/* ---- claim 4 on hand-made cells ------------------------------------------------------------ */

/* An http cell of 8 workers whose start-ups sit within 2% of startup_s. */
static json_t *io_cell(const char *strategy, int ballast, double startup_s)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:i, s:f, s:[f,f], s:{s:i, s:f}, s:{s:i}, s:b, "
	                      "s:n, s:i, s:i}",
	                      "workload", "http", "kind", "io", "strategy", strategy, "workers", 8,
	                      "speedup_vs_serial", 4.0, "speedup_ci95", 3.9, 4.1, "wall_s", "n", 5,
	                      "cv", 0.02, "params", "size", 65536, "checksum_ok", 1, "error",
	                      "tasks", 256, "ballast_mb", ballast);
	json_t *startup = json_array(), *samples = json_array();
	for (int i = 0; i < 8; i++)
		json_array_append_new(startup, json_real(startup_s * (1 + 0.01 * (i % 5 - 2))));
	for (int r = 0; r < 5; r++)
		json_array_append_new(samples, json_pack("{s:f, s:f, s:f, s:I}", "wall_s", 0.2,
		                                         "user_s", 0.2, "sys_s", 0.0, "max_rss_kib",
		                                         (json_int_t)20000));
	json_object_set_new(c, "placement", json_pack("{s:o}", "worker_startup_all_s", startup));
	json_object_set_new(c, "samples", samples);
	return c;
}

Test(startmethods, claim_4_reports_each_start_method_against_the_parents_memory)
{
	json_t *cells = json_array();
	json_array_append_new(cells, io_cell("threads", 0, 0.00005));
	json_array_append_new(cells, io_cell("processes", 0, 0.001));
	json_array_append_new(cells, io_cell("processes", 1024, 0.030));
	json_array_append_new(cells, io_cell("forkserver", 0, 0.0012));
	json_array_append_new(cells, io_cell("forkserver", 1024, 0.0013));
	json_array_append_new(cells, io_cell("spawn", 0, 0.020));
	json_array_append_new(cells, io_cell("spawn", 1024, 0.021));
	json_t *doc = json_pack("{s:i, s:{s:{s:i}}, s:{s:s}, s:o}", "schema_version", 1, "machine",
	                        "topology", "cores", 2, "config", "pin", "core", "results", cells);
	json_t *claims = claims_evaluate(doc), *c, *claim = NULL;
	size_t i;
	json_array_foreach(claims, i, c) if (strcmp(json_string_value(json_object_get(c, "id")),
	                                            "processes-heavier") == 0) claim = c;
	cr_assert_not_null(claim);
	json_t *m = json_object_get(
	    json_object_get(json_object_get(claim, "evidence"), "thresholds"), "measured");
	json_t *methods = json_object_get(m, "start_methods");
	static const char *const shape[][2] = {
	    {"processes", "grows"}, {"forkserver", "flat"}, {"spawn", "flat"}};
	for (size_t k = 0; k < 3; k++)
		cr_assert_str_eq(json_string_value(json_object_get(
		                     json_object_get(methods, shape[k][0]), "shape")),
		                 shape[k][1], "%s", shape[k][0]);
	cr_assert(json_is_true(json_object_get(m, "spawn_fixed_cost_highest")));
	const char *reason = json_string_value(json_object_get(claim, "reason"));
	cr_assert_not_null(strstr(reason, "forkserver 1.29 ms"), "%s", reason);
	cr_assert_not_null(strstr(reason, "the highest"), "%s", reason);
	json_decref(claims);
	json_decref(doc);
}
