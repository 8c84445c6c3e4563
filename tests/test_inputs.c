/* The smaller items of issue 20: what is knowable before measuring is refused
 * then, with one line and exit 2, and what a result file holds reaches the
 * terminal defanged and honest. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support.h"

/* Runs `concbench ARGS` through the shell; the status, stdout and stderr
 * (each cut to len). */
static int run_shell(const char *args, char *out, char *err, size_t len)
{
	struct output o = sh("%s %s", CONCBENCH_BIN, args);
	snprintf(out, len, "%s", o.out);
	snprintf(err, len, "%s", o.err);
	int status = o.status;
	output_free(&o);
	return status;
}

/* Exit 2 within a few seconds, before measuring, one line naming needle. */
static void assert_refused_up_front(const char *args, const char *needle)
{
	static char out[65536], err[65536];
	time_t t0 = time(NULL);
	int rc = run_shell(args, out, err, sizeof(out));
	cr_assert_eq(rc, 2, "`%s` exited %d: %s", args, rc, err);
	cr_assert_lt(time(NULL) - t0, 10, "`%s` ran before refusing", args);
	cr_assert_not_null(strstr(err, needle), "`%s` said: %s", args, err);
	char *nl = strchr(err, '\n');
	cr_assert(nl != NULL && nl[1] == '\0', "`%s` said more than one line: %s", args, err);
}

Test(inputs, what_set_up_would_refuse_is_refused_before_measuring, .timeout = 120)
{
	const char *o = "-s serial -r 1 --quick --quiet -o /tmp/concbench-inputs-never.json";
	char args[512];
	/* 2^32 elements, the parameter's limit, need 96 GiB a task */
	double ram_gib =
	    (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE) / (1 << 30);
	snprintf(args, sizeof(args), "run -w triad -p triad.elements=4294967296 %s", o);
	if (ram_gib < 95)
		assert_refused_up_front(args, "machine's");
	snprintf(args, sizeof(args),
	         "run -w mandelbrot -p mandelbrot.bands=5000 -p mandelbrot.height=100 %s", o);
	assert_refused_up_front(args, "exceeds mandelbrot.height");
	snprintf(args, sizeof(args), "run -w files -p files.dir=/proc %s", o);
	assert_refused_up_front(args, "no storage");
	snprintf(args, sizeof(args), "run -w http -p http.sha256=xyz %s", o);
	assert_refused_up_front(args, "64 hex digits");
	cr_assert_neq(access("/tmp/concbench-inputs-never.json", F_OK), 0, "a file was written");
}

Test(inputs, blanks_in_numbers_and_a_repeated_parameter_are_refused, .timeout = 60)
{
	const char *o = "-r 1 --quick --quiet -o /tmp/concbench-inputs-never.json";
	char args[512];
	snprintf(args, sizeof(args), "run -w sleep -s serial -n ' 2' %s", o);
	assert_refused_up_front(args, "' 2'");
	snprintf(args, sizeof(args), "run -w sleep -s serial -n '+2' %s", o);
	assert_refused_up_front(args, "'+2'");
	snprintf(args, sizeof(args), "run -w sleep -s serial -p sleep.ms=1 -p sleep.ms=2 %s", o);
	assert_refused_up_front(args, "given twice");
}

Test(inputs, a_huge_synthetic_topology_is_refused_before_hwloc_builds_it, .timeout = 60)
{
	assert_refused_up_front("topology --synthetic 'pack:1000 core:1000 pu:1000'",
	                        "more than 65536 PUs");
	static char out[65536], err[65536];
	cr_assert_eq(run_shell("topology --synthetic 'pack:2 core:4 pu:2'", out, err, sizeof(out)),
	             0, "%s", err);
}

/* A result whose hostname holds C1 controls and Unicode line breaks, and
 * whose one cell has no measurement (median -1). */
static void write_hostile_result(const char *path)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("{\"schema_version\": 1, \"created_at\": \"x\", \"machine\": {\"hostname\": "
	      "\"a\\u009b31mb\\u0085c\\u2028d\\u2029e\\u001bf\", \"cpu_model\": \"m\"}, "
	      "\"results\": [{\"workload\": \"sleep\", \"kind\": \"io\", \"strategy\": "
	      "\"serial\", \"workers\": 1, \"params\": {}, \"wall_s\": {\"median\": -1}, "
	      "\"samples\": []}]}\n",
	      f);
	fclose(f);
}

Test(inputs, report_defangs_c1_and_line_separators_and_names_unmeasured_cells, .timeout = 60)
{
	char path[] = "/tmp/concbench-inputs-hostile-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	close(fd);
	write_hostile_result(path);
	char args[256];
	snprintf(args, sizeof(args), "report %s", path);
	static char out[65536], err[65536];
	int rc = run_shell(args, out, err, sizeof(out));
	unlink(path);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_not_null(strstr(out, "a?31mb?c?d?e?f"), "%s", out);
	static const char *const bad[] = {"\xc2\x9b", "\xc2\x85", "\xe2\x80\xa8", "\xe2\x80\xa9",
	                                  "\x1b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_null(strstr(out, bad[i]), "unsafe character %zu reached the output", i);
	cr_assert_not_null(strstr(out, "not measured"), "%s", out);
	cr_assert_null(strstr(out, "-1.00 s"), "%s", out);
}
