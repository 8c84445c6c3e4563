/* scripts/plot on the fixtures: the charts it draws and the input it refuses. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support.h"

/* ---- the plots -------------------------------------------------------------- */

static void check_png(const char *path)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "no %s", path);
	unsigned char sig[8];
	size_t n = fread(sig, 1, 8, f);
	fclose(f);
	static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	cr_assert(n == 8 && memcmp(sig, png, 8) == 0, "%s is not a PNG", path);
	struct stat st;
	cr_assert(stat(path, &st) == 0 && st.st_size > 2000, "%s is too small", path);
}

static void check_svg(const char *path, const char *const *series)
{
	char *svg = slurp(path);
	cr_assert_not_null(strstr(svg, "<svg"), "%s is not an SVG", path);
	for (const char *const *s = series; *s; s++) {
		char text[128];
		snprintf(text, sizeof(text), ">%s</text>", *s);
		cr_assert_not_null(strstr(svg, text), "%s has no series '%s'", path, *s);
	}
	free(svg);
}

Test(plot, machines_chart_draws_each_machines_own_sweep, .timeout = 120, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	/* a 4-core machine (1 to 4 workers), a 64-core one (1 to 64, primes with
	 * more tasks), and lab-a again: the same name twice is told apart */
	struct output o =
	    sh("cp " FIXTURE_A " %s/again.json && scripts/plot -o %s --name all " FIXTURE_A
	       " " FIXTURE_BIG " %s/again.json",
	       tmpdir, tmpdir, tmpdir);
	cr_assert_eq(o.status, 0, "scripts/plot exited %d:\n%s%s", o.status, o.out, o.err);
	output_free(&o);
	char path[512];
	snprintf(path, sizeof(path), "%s/all/primes-machines.svg", tmpdir);
	char *svg = slurp(path);
	cr_assert_not_null(strstr(svg, ">threads: big-64, 64 cores, pin core</text>"), "%s", path);
	cr_assert_not_null(
	    strstr(svg, ">threads: lab-a, 4 cores, pin core (#1, 2026-01-10T09:00:00Z)</text>"),
	    "%s", path);
	cr_assert_not_null(
	    strstr(svg, ">threads: lab-a, 4 cores, pin core (#3, 2026-01-10T09:00:00Z)</text>"),
	    "%s", path);
	/* the 64-core curve reaches its own 64 workers */
	cr_assert_not_null(strstr(svg, "> 64</text>"), "%s", path);
	free(svg);
}

Test(plot, plots_render_from_the_fixtures, .timeout = 120, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	struct output o = sh("scripts/plot -o %s " FIXTURE_A " " FIXTURE_B, tmpdir);
	cr_assert_eq(o.status, 0, "scripts/plot exited %d:\n%s%s", o.status, o.out, o.err);
	output_free(&o);
	static const char *const strategies[] = {"serial",    "gil",   "threads",
	                                         "processes", "epoll", NULL};
	static const char *const lines[] = {
	    "gil", "threads", "processes", "epoll", "ideal: speedup = workers", NULL};
	static const char *const percentiles[] = {"p50", "p90", "p99", NULL};
	static const char *const convoy[] = {"gil (n=4)", "threads (n=4)", "one switch interval",
	                                     NULL};
	static const struct {
		const char *file;
		const char *const *series;
	} want[] = {
	    {"result-lab-a/primes-times", strategies},
	    {"result-lab-a/primes-speedup", lines},
	    {"result-lab-a/sleep-times", strategies},
	    {"result-lab-a/sleep-speedup", lines},
	    {"result-lab-a/sleep-latency", percentiles},
	    {"result-lab-a/mixed-times", strategies},
	    {"result-lab-a/mixed-speedup", lines},
	    {"result-lab-a/mixed-latency", percentiles},
	    {"result-lab-a/convoy", convoy},
	    {"result-lab-b/primes-times", strategies},
	    {"result-lab-b/convoy", convoy},
	    {"result-lab-a--vs--result-lab-b/primes-machines", NULL},
	    {"result-lab-a--vs--result-lab-b/sleep-machines", NULL},
	    {"result-lab-a--vs--result-lab-b/mixed-machines", NULL},
	    {"result-lab-a--vs--result-lab-b/convoy", convoy},
	};
	/* each machine's own curve per strategy, named by host, cores and pin policy */
	static const char *const machines[] = {"threads: lab-a, 4 cores, pin core",
	                                       "threads: lab-b, 2 cores, pin core",
	                                       "gil: lab-b, 2 cores, pin core", NULL};
	char svgs[8192] = "";
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s.svg", tmpdir, want[i].file);
		check_svg(path, want[i].series ? want[i].series : machines);
		strncat(svgs, " ", sizeof(svgs) - strlen(svgs) - 1);
		strncat(svgs, path, sizeof(svgs) - strlen(svgs) - 1);
		snprintf(path, sizeof(path), "%s/%s.png", tmpdir, want[i].file);
		check_png(path);
	}
	/* well-formed XML, by a real parser */
	o = sh("python3 -c 'import sys, xml.etree.ElementTree as E; [E.parse(f) for f in "
	       "sys.argv[1:]]' %s",
	       svgs);
	cr_assert_eq(o.status, 0, "an SVG does not parse: %s", o.err);
	output_free(&o);
	/* the titles say what, where and in which unit */
	char path[512];
	snprintf(path, sizeof(path), "%s/result-lab-a/primes-times.svg", tmpdir);
	char *svg = slurp(path);
	cr_assert_not_null(strstr(svg, "primes (cpu): median wall time per strategy and worker "
	                               "count"));
	cr_assert_not_null(strstr(svg, "median wall time (ms)"));
	cr_assert_not_null(strstr(svg, "workers (threads or processes"));
	free(svg);
	snprintf(path, sizeof(path), "%s/result-lab-a/convoy.svg", tmpdir);
	svg = slurp(path);
	cr_assert_not_null(strstr(svg, "one switch interval in this file (5 ms)"));
	free(svg);
}

Test(plot, plot_refuses_bad_input, .init = make_tmpdir, .fini = remove_tmpdir)
{
	struct output o = sh("scripts/plot -o %s " BAD_JSON, tmpdir);
	cr_assert_eq(o.status, 2, "%s", o.err);
	cr_assert_not_null(strstr(o.err, BAD_JSON ":5:"), "%s", o.err);
	output_free(&o);
	o = sh("scripts/plot -o %s " WRONG_VER, tmpdir);
	cr_assert_eq(o.status, 2, "%s", o.err);
	output_free(&o);
	o = sh("scripts/plot -o %s", tmpdir);
	cr_assert_eq(o.status, 2, "%s", o.err);
	output_free(&o);
}

/* The ballast sweep is one chart of start-up against the parent's memory, not
 * a set of charts per ballast size; and plot names the folder, not each file,
 * unless --list asks. */
Test(plot, ballast_sweep_is_one_chart_of_start_up, .timeout = 120, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	go_to_root();
	json_t *doc = load_json(FIXTURE_A);
	json_t *results = json_object_get(doc, "results");
	json_t *base = NULL, *c;
	size_t i;
	json_array_foreach(results, i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "strategy")), "processes") == 0 &&
		    base == NULL)
			base = c;
	}
	cr_assert_not_null(base, "the fixture has no processes cell");
	const double startup_s[] = {0.004, 0.012, 0.050};
	const int mib[] = {0, 64, 256};
	for (int k = 0; k < 3; k++) {
		json_t *cell = k == 0 ? base : json_deep_copy(base);
		json_t *placement = json_object_get(cell, "placement");
		if (!json_is_object(placement)) {
			placement = json_object();
			json_object_set_new(cell, "placement", placement);
		}
		json_object_set_new(placement, "worker_startup_s",
		                    json_pack("[f, f]", startup_s[k], startup_s[k] * 1.5));
		if (k > 0) {
			json_object_set_new(cell, "ballast_mb", json_integer(mib[k]));
			json_array_append_new(results, cell);
		}
	}
	char workload[64];
	snprintf(workload, sizeof(workload), "%s",
	         json_string_value(json_object_get(base, "workload")));
	save_json(doc, tmp_path("ballast.json"));
	json_decref(doc);
	struct output o = sh("scripts/plot -o %s %s", tmpdir, tmp_path("ballast.json"));
	cr_assert_eq(o.status, 0, "scripts/plot exited %d:\n%s%s", o.status, o.out, o.err);
	cr_assert_not_null(strstr(o.out, "plot: "), "%s", o.out);
	cr_assert_null(strstr(o.out, ".svg"), "each file named without --list: %s", o.out);
	output_free(&o);
	char path[512];
	snprintf(path, sizeof(path), "%s/ballast/ballast-startup.svg", tmpdir);
	char *svg = slurp(path);
	cr_assert_not_null(strstr(svg, "<svg"), "no %s", path);
	cr_assert_not_null(strstr(svg, "processes n="), "%s has no processes line", path);
	free(svg);
	snprintf(path, sizeof(path), "%s/ballast/%s-ballast_mb=64-times.svg", tmpdir, workload);
	struct stat st;
	cr_assert_neq(stat(path, &st), 0, "a per-ballast chart was drawn: %s", path);
}
