#include "tests/support.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "runners/runner.h"

const char *proc_stat_fields(int pid, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "re");
	if (f == NULL || len == 0) {
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	size_t n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *close_paren = strrchr(buf, ')');
	return close_paren != NULL ? close_paren + 1 : NULL;
}

char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return strdup("");
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = calloc((size_t)(n > 0 ? n : 0) + 1, 1);
	size_t got = n > 0 ? fread(s, 1, (size_t)n, f) : 0;
	s[got] = '\0';
	fclose(f);
	return s;
}

struct output sh(const char *fmt, ...)
{
	char cmd[8192], outf[] = "/tmp/concbench-test-out-XXXXXX",
	                errf[] = "/tmp/concbench-test-err-XXXXXX";
	int fo = mkstemp(outf), fe = mkstemp(errf);
	cr_assert(fo >= 0 && fe >= 0);
	close(fo);
	close(fe);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof(cmd) - 64, fmt, ap);
	va_end(ap);
	cr_assert(n > 0 && (size_t)n < sizeof(cmd) - 64);
	char full[8400];
	snprintf(full, sizeof(full), "%s >%s 2>%s", cmd, outf, errf);
	int st = system(full);
	struct output o = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(outf), slurp(errf)};
	unlink(outf);
	unlink(errf);
	return o;
}

void output_free(struct output *o)
{
	free(o->out);
	free(o->err);
	o->out = o->err = NULL;
}

int run_concbench_for(int timeout_s, const char *args, char *err, size_t errlen)
{
	char prefix[32] = "";
	if (timeout_s > 0)
		snprintf(prefix, sizeof(prefix), "timeout %d ", timeout_s);
	struct output o = sh("%s%s %s", prefix, CONCBENCH_BIN, args);
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", o.err);
	int status = o.status;
	output_free(&o);
	return status;
}

json_t *run_to_json(int timeout_s, const char *run_args, const char *path)
{
	char args[1024], err[4096];
	snprintf(args, sizeof(args), "run %s --quiet -o %s", run_args, path);
	int rc = run_concbench_for(timeout_s, args, err, sizeof(err));
	cr_assert_eq(rc, 0, "run %s exited %d: %s", run_args, rc, err);
	return load_json(path);
}

const char *const *strategy_names(void)
{
	static const char *names[64];
	size_t n = 0;
	/* the strategies this process can run itself: mpi's ranks are another
	 * program, which tests/test_mpi.c runs through the binary */
	for (const struct runner_ops *const *r = runner_table(); *r && n < 63; r++)
		/* as -s all; mpi: tests/test_mpi.c; py-*: tests/test_python.c, py/tests */
		if (!(*r)->separate_binary && !(*r)->interpreted)
			names[n++] = (*r)->name;
	names[n] = NULL;
	return names;
}

size_t strategy_count(void)
{
	size_t n = 0;
	while (strategy_names()[n] != NULL)
		n++;
	return n;
}

/* ---- result files, for the readers' tests -------------------------------- */

/* The tests run from the repository root (make test); else from the root
 * that holds BUILD/concbench. */
void go_to_root(void)
{
	if (access(SCHEMA, R_OK) == 0)
		return;
	char root[4096];
	snprintf(root, sizeof(root), "%s", CONCBENCH_BIN);
	for (int i = 0; i < 2; i++) {
		char *slash = strrchr(root, '/');
		if (slash != NULL)
			*slash = '\0';
	}
	cr_assert_eq(chdir(root), 0, "cannot find the repository root from %s", CONCBENCH_BIN);
	cr_assert_eq(access(SCHEMA, R_OK), 0, "no %s under %s", SCHEMA, root);
}

json_t *load_json(const char *path)
{
	json_error_t e;
	json_t *doc = json_load_file(path, 0, &e);
	cr_assert_not_null(doc, "%s:%d:%d: %s", path, e.line, e.column, e.text);
	return doc;
}

char tmpdir[64];

void make_tmpdir(void)
{
	go_to_root();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/concbench-report-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

void remove_tmpdir(void)
{
	if (tmpdir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		cr_assert_eq(system(cmd), 0);
	}
}

const char *tmp_path(const char *name)
{
	static char paths[8][256];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, 256, "%s/%s", tmpdir, name);
	return p;
}

void save_json(json_t *doc, const char *path)
{
	cr_assert_eq(json_dump_file(doc, path, JSON_INDENT(1) | JSON_REAL_PRECISION(12)), 0);
}

json_t *find_cell(json_t *doc, const char *workload, const char *strategy, int workers)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "workload")), workload) == 0 &&
		    strcmp(json_string_value(json_object_get(c, "strategy")), strategy) == 0 &&
		    json_integer_value(json_object_get(c, "workers")) == workers)
			return c;
	}
	cr_assert_fail("no cell %s/%s/n=%d", workload, strategy, workers);
	return NULL;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Sets the cell's samples' wall times and the statistics that summarise them,
 * as `run` would have written them. */
void set_samples(json_t *cell, const double *v, size_t n)
{
	json_t *samples = json_object_get(cell, "samples");
	cr_assert_eq(json_array_size(samples), n);
	cr_assert_leq(n, 64);
	if (n == 0) /* a cell that failed before its first sample: nothing to set */
		return;
	double sorted[64], sum = 0;
	for (size_t i = 0; i < n; i++) {
		json_object_set_new(json_array_get(samples, i), "wall_s", json_real(v[i]));
		sorted[i] = v[i];
		sum += v[i];
	}
	qsort(sorted, n, sizeof(double), cmp_d);
	double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
	json_t *wall = json_object_get(cell, "wall_s");
	json_object_set_new(wall, "median", json_real(median));
	json_object_set_new(wall, "mean", json_real(sum / (double)n));
	json_object_set_new(wall, "min", json_real(sorted[0]));
	json_object_set_new(wall, "max", json_real(sorted[n - 1]));
	json_object_set_new(wall, "ci95", json_pack("[f,f]", sorted[0], sorted[n - 1]));
}

/* Every sample of the cell (and so its statistics) times factor. */
void scale_cell(json_t *cell, double factor)
{
	json_t *samples = json_object_get(cell, "samples");
	double v[64];
	size_t n = json_array_size(samples);
	for (size_t i = 0; i < n; i++)
		v[i] = json_number_value(json_object_get(json_array_get(samples, i), "wall_s")) *
		       factor;
	set_samples(cell, v, n);
}

void scale_all(json_t *doc, double factor)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "results"), i,
	                   c) if (json_array_size(json_object_get(c, "samples")) > 0)
	    scale_cell(c, factor);
}

static char real_path[256];

/* primes, sleep, mixed, http and files under every strategy at 1 and 2
 * workers, 5 repetitions (the default: the U test reaches p < 0.05 even with
 * an outlier or two). */
const char *real_result(void)
{
	if (real_path[0] && access(real_path, R_OK) == 0)
		return real_path;
	snprintf(real_path, sizeof(real_path), "/tmp/concbench-report-real-%d.json", (int)getpid());
	struct output o = sh("mkdir -p /tmp/concbench-report-files-%d && "
	                     "%s run -w primes,sleep,mixed,http,files -s all -n 1,2 -r 5 --quick "
	                     "--quiet -p http.requests=8 -p files.count=4 -p files.size=65536 "
	                     "-p files.dir=/tmp/concbench-report-files-%d -o %s",
	                     (int)getpid(), CONCBENCH_BIN, (int)getpid(), real_path);
	cr_assert_eq(o.status, 0, "the real run exited %d: %s", o.status, o.err);
	output_free(&o);
	return real_path;
}

void remove_real(void)
{
	if (real_path[0])
		unlink(real_path);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf /tmp/concbench-report-files-%d", (int)getpid());
	cr_assert_eq(system(cmd), 0);
}

/* Debian's python3-jsonschema: /usr/bin/jsonschema (a pip one earlier in PATH
 * is not the Debian package). */
static const char *validator(void)
{
	if (access("/usr/bin/jsonschema", X_OK) == 0)
		return "/usr/bin/jsonschema";
	struct output o = sh("command -v jsonschema");
	bool found = o.status == 0;
	output_free(&o);
	cr_assert(found, "no jsonschema validator: install python3-jsonschema (make deps)");
	return "jsonschema";
}

struct output validate(const char *path)
{
	return sh("%s -F '{error.json_path}: {error.message}\n' -i %s " SCHEMA, validator(), path);
}
