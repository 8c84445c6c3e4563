/* The mpi strategy (runners/mpi.c, bench/mpi_ranks.c) through the binary: its
 * ranks are another program, so it is tested end to end. It agrees with
 * serial on every workload it runs, records where each rank ran; a rank
 * killed mid-cell, or one that stops answering, fails that cell naming the
 * rank, host and task, and the run goes on; without Open MPI it is listed as unavailable and -s mpi
 * is one line and exit 2; a spawn that cannot start is one line. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "runners/runner.h"
#include "tests/support.h"

static bool mpi_here(void)
{
	const struct runner_ops *r = runner_find("mpi");
	cr_assert_not_null(r, "mpi is registered");
	return r->unavailable == NULL || r->unavailable() == NULL;
}

static void skip_without_mpi(void)
{
	if (!mpi_here())
		cr_skip_test("mpi is unavailable here: %s", runner_find("mpi")->unavailable());
}

static const char *cell_error(json_t *c)
{
	const char *e = json_string_value(json_object_get(c, "error"));
	return e ? e : "";
}

/* Every rank's host is recorded, the counts per host add up, and each rank
 * reports the PU it ran on. */
static void assert_hosts(json_t *c, int workers)
{
	json_t *pl = json_object_get(c, "placement");
	json_t *hosts = json_object_get(pl, "hosts"), *count = json_object_get(pl, "host_workers");
	json_t *observed = json_object_get(pl, "observed_cpus");
	cr_assert_eq(json_array_size(hosts), (size_t)workers, "one host per rank");
	char me[64] = "";
	gethostname(me, sizeof(me));
	json_int_t total = 0;
	const char *h;
	json_t *n;
	json_object_foreach(count, h, n) total += json_integer_value(n);
	cr_assert_eq(total, workers, "host_workers adds up to the ranks");
	for (int i = 0; i < workers; i++) {
		cr_assert_str_eq(json_string_value(json_array_get(hosts, i)), me,
		                 "a singleton spawns on this host");
		cr_assert_geq(json_integer_value(json_array_get(observed, i)), 0,
		              "rank %d's CPU observed", i);
	}
	json_t *startup = json_object_get(pl, "worker_startup_s");
	cr_assert_gt(json_number_value(json_array_get(startup, 0)), 0, "start-up recorded");
}

/* run_to_json into a fresh file (path: a mkstemps template ending ".json"). */
static json_t *run_to_file(int timeout_s, const char *run_args, char *path)
{
	int fd = mkstemps(path, 5);
	cr_assert(fd >= 0);
	close(fd);
	return run_to_json(timeout_s, run_args, path);
}

Test(mpi, agrees_with_serial_on_every_workload_it_runs, .timeout = 240)
{
	skip_without_mpi();
	char path[] = "/tmp/concbench-mpi-XXXXXX.json";
	json_t *doc = run_to_file(200,
	                          "-w primes,mandelbrot,triad,sleep,http -s serial,mpi -n 2 -r 1 "
	                          "--warmup 0 --quick -p triad.elements=262144",
	                          path);
	static const char *const workloads[] = {"primes", "mandelbrot", "triad", "sleep", "http"};
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		json_t *serial = find_cell(doc, workloads[i], "serial", 1);
		json_t *mpi = find_cell(doc, workloads[i], "mpi", 2);
		cr_assert(json_is_true(json_object_get(mpi, "checksum_ok")), "%s: %s", workloads[i],
		          cell_error(mpi));
		cr_assert_str_eq(json_string_value(json_object_get(mpi, "checksum")),
		                 json_string_value(json_object_get(serial, "checksum")),
		                 "%s: mpi and serial agree", workloads[i]);
		assert_hosts(mpi, 2);
		cr_assert(json_is_object(json_object_get(mpi, "mpi")), "%s: its counters",
		          workloads[i]);
	}
	/* report shows where they ran */
	char me[64] = "", want[128];
	gethostname(me, sizeof(me));
	snprintf(want, sizeof(want), "mpi n=2 ran on: %s (2)", me);
	struct output o = sh("%s report %s", CONCBENCH_BIN, path);
	cr_assert_eq(o.status, 0, "%s", o.err);
	cr_assert_not_null(strstr(o.out, want), "report: %s", o.out);
	output_free(&o);
	json_decref(doc);
	unlink(path);
}

/* The spawn is paid before the clock starts (runner_ops.prepare), so that
 * without a warm-up run (make bench's budget drops them) the first counted
 * repetition is not a third of a second of MPI_Comm_spawn longer. */
Test(mpi, no_repetition_pays_for_the_spawn, .timeout = 120)
{
	skip_without_mpi();
	char path[] = "/tmp/concbench-mpi-XXXXXX.json";
	json_t *doc =
	    run_to_file(100, "-w primes -s serial,mpi -n 2 -r 3 --warmup 0 --quick", path);
	json_t *mpi = find_cell(doc, "primes", "mpi", 2);
	cr_assert(json_is_true(json_object_get(mpi, "checksum_ok")), "%s", cell_error(mpi));
	json_t *samples = json_object_get(mpi, "samples");
	cr_assert_eq(json_array_size(samples), 3);
	double first = json_number_value(json_object_get(json_array_get(samples, 0), "wall_s"));
	double median =
	    json_number_value(json_object_get(json_object_get(mpi, "wall_s"), "median"));
	json_t *counters = json_object_get(mpi, "mpi");
	double spawn = json_number_value(json_object_get(counters, "spawn_s"));
	cr_assert_gt(spawn, 0, "the spawn's time is recorded");
	cr_assert_eq(json_number_value(json_object_get(counters, "spawned")), 0,
	             "no counted run spawned");
	cr_assert_lt(first, median + spawn / 2, "first run %.3f s, median %.3f s, spawn %.3f s",
	             first, median, spawn);
	assert_hosts(mpi, 2);
	json_decref(doc);
	unlink(path);
}

/* A rank of the run with pid `run`: the driver's runtime daemon leaves the
 * process tree, so the ranks are told by the CONCBENCH_MPI_RUN=pid that
 * runners/mpi.c puts in their environment. */
static bool belongs_to(pid_t p, pid_t run)
{
	char path[64], want[48];
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)p);
	snprintf(want, sizeof(want), "CONCBENCH_MPI_RUN=%d", (int)run);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	char var[4096];
	bool found = false;
	size_t n = 0;
	for (int ch; !found && (ch = fgetc(f)) != EOF;) {
		if (ch != '\0' && n < sizeof(var) - 1) {
			var[n++] = (char)ch;
			continue;
		}
		var[n] = '\0';
		found = strcmp(var, want) == 0;
		n = 0;
	}
	fclose(f);
	return found;
}

static pid_t find_rank_of(pid_t run)
{
	struct output o = sh("pgrep -f 'concbench-mpi worker'");
	pid_t found = -1;
	for (char *save = NULL, *line = strtok_r(o.out, "\n", &save); line && found < 0;
	     line = strtok_r(NULL, "\n", &save)) {
		pid_t p = (pid_t)atoi(line);
		if (belongs_to(p, run))
			found = p;
	}
	output_free(&o);
	return found;
}

/* The CPU seconds process pid has used, 0 when it cannot be read. */
static double rank_cpu_s(pid_t pid)
{
	char buf[1024];
	const char *fields = proc_stat_fields((int)pid, buf, sizeof(buf));
	unsigned long utime = 0, stime = 0;
	if (fields == NULL || sscanf(fields, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	                             &utime, &stime) != 2)
		return 0;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Runs primes and sleep under mpi, sends sig to one rank during primes, and
 * checks what the cell says (naming the rank's pid, host, task and `how`) and
 * that the run went on; returns the seconds from the signal to the run's end. */
static double lose_a_rank(int sig, const char *how)
{
	char path[] = "/tmp/concbench-mpik-XXXXXX.json";
	int fd = mkstemps(path, 5);
	cr_assert(fd >= 0);
	close(fd);
	char limit[] = "primes.limit=60000000";
	pid_t run = fork();
	cr_assert(run >= 0);
	if (run == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execl(CONCBENCH_BIN, CONCBENCH_BIN, "run", "-w", "primes,sleep", "-s", "mpi", "-n",
		      "2", "-r", "1", "--warmup", "0", "--quick", "-p", limit, "--seed", "3",
		      "--quiet", "-o", path, (char *)NULL);
		_exit(127);
	}
	/* The primes cell runs for seconds on 2 ranks; one of them is killed
	 * once it has one. */
	pid_t victim = -1;
	for (int i = 0; i < 600 && victim < 0; i++) {
		usleep(50000);
		victim = find_rank_of(run);
	}
	cr_assert_gt(victim, 0, "no rank appeared");
	/* into its tasks: a rank that has taken a second of CPU is computing
	 * (its MPI start-up and the job before the clock come first, and take
	 * less) */
	for (int i = 0; i < 600 && rank_cpu_s(victim) < 1.0; i++)
		usleep(50000);
	double killed = monotonic_now();
	kill(victim, sig);
	int status = 0;
	cr_assert_eq(waitpid(run, &status, 0), run);
	double took = monotonic_now() - killed;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1, "a failed cell exits 1, status %d",
	          status);
	json_t *doc = load_json(path);
	json_t *primes = find_cell(doc, "primes", "mpi", 2);
	const char *e = cell_error(primes);
	char pidtext[32];
	snprintf(pidtext, sizeof(pidtext), "(pid %d)", (int)victim);
	char me[64] = "";
	gethostname(me, sizeof(me));
	cr_assert(strstr(e, "rank ") && strstr(e, pidtext) && strstr(e, "task ") && strstr(e, me) &&
	              strstr(e, how),
	          "the error names the rank, its host and task: %s", e);
	/* The run went on: the other cell was measured all the same. */
	json_t *sleep_cell = find_cell(doc, "sleep", "mpi", 2);
	cr_assert(json_is_true(json_object_get(sleep_cell, "checksum_ok")), "sleep: %s",
	          cell_error(sleep_cell));
	json_decref(doc);
	unlink(path);
	return took;
}

Test(mpi, a_killed_rank_fails_its_cell_naming_rank_host_and_task, .timeout = 180)
{
	skip_without_mpi();
	/* 10 s for the loss to show, and the rest of the run (a fresh spawn and
	 * the sleep cell, about a second) besides. */
	double took = lose_a_rank(SIGKILL, "died while running task");
	cr_assert_lt(took, 12.0, "%.1f s from the kill to the run's end", took);
}

/* A rank that is alive but silent (stopped, hung, or on another host that went
 * down) is found by its missing heartbeat. */
Test(mpi, a_rank_that_stops_answering_fails_its_cell_by_its_heartbeat, .timeout = 180)
{
	skip_without_mpi();
	double took = lose_a_rank(SIGSTOP, "stopped answering");
	cr_assert_lt(took, 12.0, "%.1f s from the stop to the run's end", took);
}

Test(mpi, a_spawn_that_cannot_start_is_one_line)
{
	skip_without_mpi();
	/* More ranks than this host has slots (one per core, by Open MPI's
	 * default), and oversubscription refused. */
	int n = (int)sysconf(_SC_NPROCESSORS_ONLN) + 1;
	struct output o =
	    sh("OMPI_MCA_rmaps_base_oversubscribe=0 %s run -w sleep -s mpi -n %d -r 1 "
	       "--warmup 0 --quick --quiet -o /tmp/concbench-mpi-spawn.json",
	       CONCBENCH_BIN, n);
	cr_assert_eq(o.status, 1, "a failed cell exits 1: %s", o.err);
	json_t *doc = load_json("/tmp/concbench-mpi-spawn.json");
	const char *e = cell_error(find_cell(doc, "sleep", "mpi", n));
	char want[64];
	snprintf(want, sizeof(want), "cannot spawn %d ranks", n);
	cr_assert(strstr(e, want) != NULL, "%s", e);
	cr_assert_null(strchr(e, '\n'), "one line: %s", e);
	json_decref(doc);
	unlink("/tmp/concbench-mpi-spawn.json");
	output_free(&o);
}

Test(mpi, unavailable_is_listed_with_its_reason_and_refused)
{
	struct output l = sh("CONCBENCH_MPI_UNAVAILABLE=1 %s list", CONCBENCH_BIN);
	cr_assert_eq(l.status, 0);
	cr_assert_not_null(strstr(l.out, "unavailable: CONCBENCH_MPI_UNAVAILABLE is set"), "%s",
	                   l.out);
	struct output r =
	    sh("CONCBENCH_MPI_UNAVAILABLE=1 %s run -w primes -s mpi --quick", CONCBENCH_BIN);
	cr_assert_eq(r.status, 2, "exit 2: %s", r.err);
	cr_assert_not_null(strstr(r.err, "strategy 'mpi' is unavailable"), "%s", r.err);
	cr_assert_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
	/* -s all (the default) runs the others */
	struct output a =
	    sh("CONCBENCH_MPI_UNAVAILABLE=1 %s run -w primes --list-cells --quick", CONCBENCH_BIN);
	cr_assert_eq(a.status, 0, "%s", a.err);
	cr_assert_null(strstr(a.out, " mpi "), "%s", a.out);
	cr_assert_not_null(strstr(a.out, " serial "), "%s", a.out);
	output_free(&l);
	output_free(&r);
	output_free(&a);
}

Test(mpi, leaves_out_the_workloads_it_cannot_run)
{
	skip_without_mpi();
	struct output o = sh("%s run -w files,mixed,primes -s serial,mpi -n 2 --list-cells --quick",
	                     CONCBENCH_BIN);
	cr_assert_eq(o.status, 0, "%s", o.err);
	cr_assert_not_null(strstr(o.err, "mpi leaves out files"), "%s", o.err);
	cr_assert_not_null(strstr(o.err, "mpi leaves out mixed"), "%s", o.err);
	cr_assert_not_null(strstr(o.out, "primes mpi 2"), "%s", o.out);
	cr_assert_null(strstr(o.out, "files mpi"), "%s", o.out);
	struct output none = sh("%s run -w files -s mpi -n 2 --quick", CONCBENCH_BIN);
	cr_assert_eq(none.status, 2, "no cell at all is a usage error: %s", none.err);
	cr_assert_not_null(strstr(none.err, "no cell to run"), "%s", none.err);
	output_free(&o);
	output_free(&none);
}
