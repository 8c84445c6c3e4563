/* Faults a user meets, tried as a user would: Ctrl-C or SIGTERM in the middle
 * of a run, a cell that never ends, the fixture server dying, absurd limits,
 * broken result files. Every case must end promptly with its promised exit
 * status and keep what was measured. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Starts `concbench ARGS...` (NULL-terminated) with stdout and stderr to /dev/null. */
static pid_t start(char *const argv[])
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		execv(CONCBENCH_BIN, argv);
		_exit(127);
	}
	return pid;
}

/* Waits up to limit_s for pid; returns its exit status, or fails the test. */
static int finish(pid_t pid, double limit_s)
{
	double t0 = now_s();
	int status;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_s() - t0 > limit_s) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			cr_assert_fail("concbench did not end within %.0f s", limit_s);
		}
		usleep(20000);
	}
	cr_assert(WIFEXITED(status), "concbench died of signal %d", WTERMSIG(status));
	return WEXITSTATUS(status);
}

static json_t *load(const char *path)
{
	json_error_t e;
	json_t *doc = json_load_file(path, 0, &e);
	cr_assert_not_null(doc, "%s is not a whole JSON file: %s (line %d)", path, e.text, e.line);
	return doc;
}

static size_t measured_cells(json_t *doc)
{
	size_t n = 0, i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "results"), i, c) n +=
	    json_array_size(json_object_get(c, "samples")) > 0;
	return n;
}

static void interrupt_with(int sig, int want_status, const char *want_name)
{
	char out[] = "/tmp/concbench-int-XXXXXX.json";
	close(mkstemps(out, 5));
	unlink(out);
	char *argv[] = {"concbench", "run", "-w", "sleep", "-s", "serial,threads",
	                "-n",        "1,2", "-r", "40",    "-p", "sleep.ms=5",
	                "-o",        out,   NULL};
	pid_t pid = start(argv);
	/* let some repetitions finish and a file be written */
	for (int i = 0; i < 200 && access(out, F_OK) != 0; i++)
		usleep(50000);
	usleep(300000);
	cr_assert_eq(kill(pid, sig), 0);
	int status = finish(pid, 30);
	cr_assert_eq(status, want_status, "exit status %d after %s", status, want_name);
	json_t *doc = load(out);
	cr_assert(json_is_true(json_object_get(doc, "interrupted")));
	cr_assert_str_eq(json_string_value(json_object_get(doc, "interrupted_by")), want_name);
	cr_assert(json_is_false(json_object_get(doc, "complete")));
	cr_assert_gt(measured_cells(doc), 0, "the cells measured before the signal were lost");
	json_decref(doc);
	unlink(out);
}

Test(faults, ctrl_c_keeps_the_cells_measured_so_far, .timeout = 60)
{
	interrupt_with(SIGINT, 128 + SIGINT, "SIGINT");
}

Test(faults, sigterm_keeps_the_cells_measured_so_far, .timeout = 60)
{
	interrupt_with(SIGTERM, 128 + SIGTERM, "SIGTERM");
}

Test(faults, a_cell_past_its_timeout_is_recorded_and_the_run_stops, .timeout = 60)
{
	char out[] = "/tmp/concbench-timeout-XXXXXX.json";
	close(mkstemps(out, 5));
	char *argv[] = {"concbench",
	                "run",
	                "-w",
	                "sleep",
	                "-s",
	                "serial",
	                "-r",
	                "1",
	                "--warmup",
	                "0",
	                "-p",
	                "sleep.tasks=1",
	                "-p",
	                "sleep.ms=20000",
	                "--cell-timeout",
	                "1",
	                "-o",
	                out,
	                NULL};
	double t0 = now_s();
	int status = finish(start(argv), 30);
	cr_assert_eq(status, 124);
	cr_assert_lt(now_s() - t0, 10.0, "the timeout did not stop the run");
	json_t *doc = load(out);
	json_t *cell = json_array_get(json_object_get(doc, "results"), 0);
	const char *err = json_string_value(json_object_get(cell, "error"));
	cr_assert(err != NULL && strstr(err, "timed out") != NULL, "error: %s", err ? err : "none");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "interrupted_by")), "cell-timeout");
	json_decref(doc);
	unlink(out);
}

/* The managed fixture server is a child of the run: find it and kill it. */
static pid_t child_of(pid_t parent)
{
	char path[64], text[256] = "";
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", parent, parent);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return n > 0 ? (pid_t)atoi(text) : -1;
}

Test(faults, a_dead_fixture_server_fails_its_cells_without_a_hang, .timeout = 90)
{
	char out[] = "/tmp/concbench-deadsrv-XXXXXX.json";
	close(mkstemps(out, 5));
	char *argv[] = {"concbench", "run",
	                "-w",        "http",
	                "-s",        "serial,threads,epoll",
	                "-n",        "4",
	                "-r",        "3",
	                "--warmup",  "0",
	                "-p",        "http.requests=200",
	                "-p",        "http.delay_ms=20",
	                "-p",        "http.timeout_ms=2000",
	                "-o",        out,
	                NULL};
	pid_t pid = start(argv);
	pid_t server = -1;
	for (int i = 0; i < 200 && server <= 0; i++) {
		usleep(20000);
		server = child_of(pid);
	}
	cr_assert_gt(server, 0, "no fixture server under the run");
	usleep(500000);
	cr_assert_eq(kill(server, SIGKILL), 0);
	int status = finish(pid, 60);
	cr_assert_eq(status, 1, "exit status %d: a failed cell must make it 1", status);
	json_t *doc = load(out);
	json_t *c;
	size_t i, failed = 0;
	json_array_foreach(json_object_get(doc, "results"), i, c) failed +=
	    json_is_string(json_object_get(c, "error"));
	cr_assert_gt(failed, 0);
	json_decref(doc);
	unlink(out);
}

static int run_shell(const char *args, char *err, size_t len)
{
	return run_concbench_for(60, args, err, len);
}

Test(faults, absurd_sizes_and_counts_are_refused_before_anything_starts)
{
	static const struct {
		const char *args, *needle;
	} cases[] = {
	    {"run -w primes -n 1000000", "100000"},
	    {"run -w http -p http.size=1000000000000000", "http.size"},
	    {"run -w files -p files.size=1000000000000000", "files.size"},
	    {"run -w sleep --ballast-mb 1000000", "65536"},
	    {"run -w sleep --cell-timeout 0", "--cell-timeout"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[1024];
		double t0 = now_s();
		cr_assert_eq(run_shell(cases[i].args, err, sizeof(err)), 2, "%s", cases[i].args);
		cr_assert_not_null(strstr(err, cases[i].needle), "%s: %s", cases[i].args, err);
		cr_assert_lt(now_s() - t0, 2.0, "%s started something", cases[i].args);
	}
}

Test(faults, a_broken_result_file_gets_one_line_with_where)
{
	char bad[] = "/tmp/concbench-bad-XXXXXX.json", err[1024];
	static const char *const bodies[] = {
	    "{\"schema_version\": 1, \"results\": [",     /* truncated */
	    "this is not JSON\n",                         /* not JSON */
	    "{\"schema_version\": 7, \"results\": []}\n", /* another version */
	};
	for (size_t i = 0; i < 3; i++) {
		int fd = mkstemps(bad, 5);
		cr_assert(write(fd, bodies[i], strlen(bodies[i])) > 0);
		close(fd);
		char args[128];
		snprintf(args, sizeof(args), "claims %s", bad);
		cr_assert_eq(run_shell(args, err, sizeof(err)), 2, "%s", bodies[i]);
		cr_assert_not_null(strstr(err, bad), "the message does not name the file: %s", err);
		cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "not one line: %s", err);
		unlink(bad);
		snprintf(bad, sizeof(bad), "/tmp/concbench-bad-XXXXXX.json");
	}
}

/* A full disk: refused before measuring, and the older result beside it kept
 * as it was. Needs a small tmpfs, which only root may mount. */
Test(faults, a_full_output_disk_is_refused_before_measuring_and_old_results_stay, .timeout = 60)
{
	char dir[] = "/tmp/concbench-full-XXXXXX", cmd[256], old[300], args[400], err[1024];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=256k tmpfs %s 2>/dev/null", dir);
	if (system(cmd) != 0) {
		rmdir(dir);
		cr_skip_test("cannot mount a small tmpfs here (needs root): not tested");
	}
	snprintf(old, sizeof(old), "%s/older.json", dir);
	FILE *f = fopen(old, "w");
	cr_assert_not_null(f);
	fputs("{\"schema_version\": 1, \"results\": []}\n", f);
	fclose(f);
	snprintf(args, sizeof(args), "run -w sleep -s serial --quick -o %s/new.json", dir);
	double t0 = now_s();
	int status = run_shell(args, err, sizeof(err));
	char older[128] = "";
	f = fopen(old, "r");
	if (f != NULL) {
		size_t n = fread(older, 1, sizeof(older) - 1, f);
		older[n] = '\0';
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd), "umount %s", dir);
	cr_assert_eq(system(cmd), 0);
	rmdir(dir);
	cr_assert_eq(status, 2, "exit %d: %s", status, err);
	cr_assert_not_null(strstr(err, "no room"), "%s", err);
	cr_assert_lt(now_s() - t0, 5.0, "it measured before refusing");
	cr_assert_str_eq(older, "{\"schema_version\": 1, \"results\": []}\n");
}

/* Text from a result file reaches a terminal: no escape sequence or line break
 * from a hostname may pass through report. */
Test(faults, report_prints_no_control_characters_from_the_file)
{
	char path[] = "/tmp/concbench-evil-XXXXXX.json", cmd[256];
	int fd = mkstemps(path, 5);
	const char *doc =
	    "{\"schema_version\": 1, \"machine\": {\"hostname\": \"evil\\u001b[2J\\nhost\", "
	    "\"cpu_model\": \"x\", \"topology\": {\"cores\": 2}}, \"config\": {}, \"results\": "
	    "[]}\n";
	cr_assert(write(fd, doc, strlen(doc)) > 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s report %s 2>&1", CONCBENCH_BIN, path);
	FILE *p = popen(cmd, "r");
	char out[8192];
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	unlink(path);
	cr_assert_null(strchr(out, '\033'), "an escape reached the terminal:\n%s", out);
	cr_assert_not_null(strstr(out, "evil?[2J?host"), "%s", out);
}

/* The watchdog behind --cell-timeout must sleep, not spin: a run that only
 * waits uses next to no CPU, the driver's own threads included. */
Test(faults, the_cell_watchdog_costs_no_cpu, .timeout = 60)
{
	char out[] = "/tmp/concbench-idle-XXXXXX.json";
	close(mkstemps(out, 5));
	char *argv[] = {"concbench", "run",         "-w",       "sleep", "-s", "serial",
	                "-r",        "2",           "--warmup", "0",     "-p", "sleep.tasks=10",
	                "-p",        "sleep.ms=50", "-o",       out,     NULL};
	cr_assert_eq(finish(start(argv), 30), 0);
	json_t *doc = load(out);
	json_t *s;
	size_t i;
	json_array_foreach(
	    json_object_get(json_array_get(json_object_get(doc, "results"), 0), "samples"), i, s)
	{
		double wall = json_number_value(json_object_get(s, "wall_s"));
		double cpu = json_number_value(json_object_get(s, "user_s")) +
		             json_number_value(json_object_get(s, "sys_s"));
		cr_assert_lt(cpu, 0.2 * wall, "%.3f s of CPU in a %.3f s run that only sleeps", cpu,
		             wall);
	}
	json_decref(doc);
	unlink(out);
}
