/* report, compare, the plots and the JSON Schema, on hand-made result files
 * (tests/fixtures/) and on a real run of the binary. */
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

#include "resultfile.h"

#include "support.h"

#define FIXTURE_A "tests/fixtures/result-lab-a.json"
#define FIXTURE_B "tests/fixtures/result-lab-b.json"
#define BAD_JSON  "tests/fixtures/bad-syntax.json"
#define WRONG_VER "tests/fixtures/wrong-version.json"
#define SCHEMA    "schema/result.schema.json"

/* ---- helpers ------------------------------------------------------------ */

/* The tests run from the repository root (make test); else from the root
 * that holds BUILD/concbench. */
static void go_to_root(void)
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

static json_t *load(const char *path)
{
	json_error_t e;
	json_t *doc = json_load_file(path, 0, &e);
	cr_assert_not_null(doc, "%s:%d:%d: %s", path, e.line, e.column, e.text);
	return doc;
}

static char tmpdir[64];

static void make_tmpdir(void)
{
	go_to_root();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/concbench-report-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
	if (tmpdir[0]) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		cr_assert_eq(system(cmd), 0);
	}
}

static const char *tmp_path(const char *name)
{
	static char paths[8][256];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, 256, "%s/%s", tmpdir, name);
	return p;
}

static void save(json_t *doc, const char *path)
{
	cr_assert_eq(json_dump_file(doc, path, JSON_INDENT(1) | JSON_REAL_PRECISION(12)), 0);
}

static json_t *find_cell(json_t *doc, const char *workload, const char *strategy, int workers)
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
static void set_samples(json_t *cell, const double *v, size_t n)
{
	json_t *samples = json_object_get(cell, "samples");
	cr_assert_eq(json_array_size(samples), n);
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
static void scale_cell(json_t *cell, double factor)
{
	json_t *samples = json_object_get(cell, "samples");
	double v[64];
	size_t n = json_array_size(samples);
	for (size_t i = 0; i < n; i++)
		v[i] = json_number_value(json_object_get(json_array_get(samples, i), "wall_s")) *
		       factor;
	set_samples(cell, v, n);
}

static void scale_all(json_t *doc, double factor)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "results"), i,
	                   c) if (json_array_size(json_object_get(c, "samples")) > 0)
	    scale_cell(c, factor);
}

/* ---- a real run, shared by the tests that need one ----------------------- */

static char real_path[256];

/* primes, sleep, mixed, http and files under every strategy at 1 and 2
 * workers, 5 repetitions (the default: the U test reaches p < 0.05 even with
 * an outlier or two). */
static const char *real_result(void)
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

static void remove_real(void)
{
	if (real_path[0])
		unlink(real_path);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf /tmp/concbench-report-files-%d", (int)getpid());
	cr_assert_eq(system(cmd), 0);
}

/* ---- Mann-Whitney U ------------------------------------------------------ */

Test(report, mann_whitney_exact_small_samples)
{
	double a[] = {1, 2, 3, 4, 5}, b[] = {6, 7, 8, 9, 10};
	/* fully separated 5 against 5: the smallest two-sided p, 2 / C(10, 5) */
	cr_assert_float_eq(mann_whitney_p(a, 5, b, 5), 2.0 / 252, 1e-12);
	cr_assert_float_eq(mann_whitney_p(b, 5, a, 5), 2.0 / 252, 1e-12);
	cr_assert_float_eq(mann_whitney_min_p(5, 5), 2.0 / 252, 1e-12);
	/* 3 against 3 can never go below 0.1 */
	cr_assert_float_eq(mann_whitney_p(a, 3, b, 3), 0.1, 1e-12);
	cr_assert_float_eq(mann_whitney_min_p(3, 3), 0.1, 1e-12);
	/* one pair out of order: U = 1, P(U <= 1) = 2/252 */
	double c[] = {1, 2, 3, 4, 7}, d[] = {6, 8, 9, 10, 11};
	cr_assert_float_eq(mann_whitney_p(c, 5, d, 5), 4.0 / 252, 1e-12);
	/* interleaved: no evidence */
	double e[] = {1, 3, 5, 7, 9}, f[] = {2, 4, 6, 8, 10};
	cr_assert(mann_whitney_p(e, 5, f, 5) > 0.5);
	/* U = 7 of 25 for 5 against 5: P(U <= 7) = 39/252 */
	double g[] = {0.5, 0.7, 0.9, 1.1, 1.3}, h[] = {0.65, 0.91, 1.17, 1.43, 1.69};
	cr_assert_float_eq(mann_whitney_p(g, 5, h, 5), 78.0 / 252, 1e-12);
	/* unequal sizes: 4 against 6 separated, 2 / C(10, 4) */
	double k[] = {1, 2, 3, 4}, l[] = {5, 6, 7, 8, 9, 10};
	cr_assert_float_eq(mann_whitney_p(k, 4, l, 6), 2.0 / 210, 1e-12);
}

Test(report, mann_whitney_ties_and_large_samples)
{
	double same[] = {1, 1, 1, 1, 1};
	cr_assert_float_eq(mann_whitney_p(same, 5, same, 5), 1.0, 1e-12);
	double a[] = {1, 2, 2, 3, 4}, b[] = {2, 5, 6, 6, 7};
	double p = mann_whitney_p(a, 5, b, 5); /* ties: the normal approximation */
	cr_assert(p > 0.01 && p < 0.1, "p = %g", p);
	cr_assert_float_eq(mann_whitney_p(a, 0, b, 5), 1.0, 1e-12);
	/* 40 against 40, shifted: tiny p; the same samples: p = 1 */
	double x[40], y[40];
	for (int i = 0; i < 40; i++) {
		x[i] = 1 + i * 0.01;
		y[i] = 1.5 + i * 0.01;
	}
	cr_assert(mann_whitney_p(x, 40, y, 40) < 1e-6);
	cr_assert_float_eq(mann_whitney_p(x, 40, x, 40), 1.0, 1e-9);
}

/* ---- the reader ------------------------------------------------------------ */

Test(report, loader_reads_the_fixture_and_names_bad_files)
{
	go_to_root();
	struct result_file rf;
	char err[1024];
	cr_assert_eq(result_file_load(FIXTURE_A, &rf, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(rf.hostname, "lab-a");
	cr_assert_eq(rf.cores, 4);
	cr_assert_eq(rf.switch_interval_us, 5000);
	cr_assert_eq(rf.n_cells, 39);
	const struct rf_cell *c = &rf.cells[0];
	cr_assert_str_eq(c->workload, "primes");
	cr_assert_str_eq(c->params, "limit=5000000,release_gil=0,tasks=32");
	cr_assert_eq(c->n_samples, 5);
	cr_assert(c->ok);
	size_t errors = 0;
	for (size_t i = 0; i < rf.n_cells; i++)
		errors += rf.cells[i].error != NULL;
	cr_assert_eq(errors, 1);
	result_file_free(&rf);

	cr_assert_neq(result_file_load(BAD_JSON, &rf, err, sizeof(err)), 0);
	cr_assert(strncmp(err, BAD_JSON ":5:57: ", strlen(BAD_JSON ":5:57: ")) == 0, "%s", err);
	cr_assert_neq(result_file_load(WRONG_VER, &rf, err, sizeof(err)), 0);
	cr_assert_not_null(strstr(err, "schema_version 2"), "%s", err);
	cr_assert_neq(result_file_load("tests/fixtures/none.json", &rf, err, sizeof(err)), 0);
	cr_assert_not_null(strstr(err, "cannot open"), "%s", err);
}

Test(report, loader_checks_the_shape, .init = make_tmpdir, .fini = remove_tmpdir)
{
	static const struct {
		const char *path; /* a field of results[3] */
		const char *json;
		const char *message;
	} bad[] = {
	    {"strategy", "7", "results[3].strategy is a number, not a string"},
	    {"workers", "\"2\"", "results[3].workers is a string, not a positive integer"},
	    {"workers", "0", "results[3].workers is out of range, not a positive integer"},
	    {"wall_s", "[1]", "results[3].wall_s is an array, not an object"},
	    {"samples", "{}", "results[3].samples is an object, not an array"},
	    {"error", "false", "results[3].error is a boolean, not a string or null"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *doc = load(FIXTURE_A);
		json_t *cell = json_array_get(json_object_get(doc, "results"), 3);
		json_object_set_new(cell, bad[i].path,
		                    json_loads(bad[i].json, JSON_DECODE_ANY, NULL));
		const char *p = tmp_path("bad.json");
		save(doc, p);
		json_decref(doc);
		struct output o = sh("%s report %s", CONCBENCH_BIN, p);
		cr_assert_eq(o.status, 2, "%s: exit %d", bad[i].message, o.status);
		cr_assert_not_null(strstr(o.err, bad[i].message), "want '%s' in: %s",
		                   bad[i].message, o.err);
		output_free(&o);
	}
	struct output o = sh("echo '[1, 2]' > %s && %s report %s", tmp_path("array.json"),
	                     CONCBENCH_BIN, tmp_path("array.json"));
	cr_assert_eq(o.status, 2);
	cr_assert_not_null(strstr(o.err, "not a concbench result"), "%s", o.err);
	output_free(&o);
}

/* ---- report ---------------------------------------------------------------- */

Test(report, text_on_the_fixture)
{
	go_to_root();
	struct output o = sh("%s report " FIXTURE_A, CONCBENCH_BIN);
	cr_assert_eq(o.status, 0, "%s", o.err);
	const char *want[] = {
	    "machine: lab-a (Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz, 4 cores)",
	    "5 repetitions after 1 warm-up, pin core, switch interval 5000 us",
	    "primes (cpu): limit=5000000,release_gil=0,tasks=32",
	    "workers",
	    "126 ms \u00b11.4% 3.96x", /* threads at 4 workers */
	    "latency p50 / p99 of the I/O stream's round trips",
	    "5.10 ms / 15.0 ms", /* gil's round trip: one switch interval */
	    "error: processes n=4: worker 3 killed by signal 9",
	    "claims (the seed article's",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_not_null(strstr(o.out, want[i]), "no '%s' in:\n%s", want[i], o.out);
	/* a table: the header names the strategies in the file's order */
	const char *header = strstr(o.out, "workers");
	cr_assert_not_null(header);
	const char *s = strstr(header, "serial"), *g = strstr(header, "gil"),
	           *t = strstr(header, "threads"), *p = strstr(header, "processes"),
	           *e = strstr(header, "epoll");
	cr_assert(s && g && t && p && e && s < g && g < t && t < p && p < e);
	/* CPU workloads get no latency table */
	const char *primes = strstr(o.out, "primes (cpu)"), *sleep = strstr(o.out, "sleep (io)");
	const char *lat = strstr(primes, "latency p50");
	cr_assert(lat > sleep, "a latency table for primes");
	output_free(&o);
}

Test(report, markdown_on_the_fixture)
{
	go_to_root();
	struct output o = sh("%s report " FIXTURE_A " --format markdown", CONCBENCH_BIN);
	cr_assert_eq(o.status, 0, "%s", o.err);
	const char *want[] = {
	    "## concbench results: lab-a",
	    "### primes (cpu)",
	    "| workers | serial | gil | threads | processes | epoll |",
	    "|---:|---:|---:|---:|---:|---:|",
	    "| 4 | - | 515 ms \u00b11.4% 0.97x | 126 ms \u00b11.4% 3.96x |",
	    "- **error** processes n=4: worker 3 killed",
	    "| # | verdict | claim | why |",
	    "| 2 | confirmed | With a CPU-bound thread running",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_not_null(strstr(o.out, want[i]), "no '%s' in:\n%s", want[i], o.out);
	output_free(&o);
}

/* Fields per CSV record, quotes honoured; -1 when a quote is left open. */
static int csv_records(const char *s, int *fields_per_record, int max_records)
{
	int records = 0, fields = 1;
	bool quoted = false;
	for (; *s; s++) {
		if (quoted) {
			if (*s == '"' && s[1] == '"')
				s++;
			else if (*s == '"')
				quoted = false;
		} else if (*s == '"')
			quoted = true;
		else if (*s == ',')
			fields++;
		else if (*s == '\n') {
			if (records < max_records)
				fields_per_record[records] = fields;
			records++;
			fields = 1;
		}
	}
	return quoted ? -1 : records;
}

static void check_csv(const char *path, size_t want_rows)
{
	struct output o = sh("%s report %s --format csv", CONCBENCH_BIN, path);
	cr_assert_eq(o.status, 0, "%s", o.err);
	cr_assert(strncmp(o.out, "workload,kind,params,strategy,workers,sample,wall_s,", 52) == 0,
	          "%.200s", o.out);
	static int fields[4096];
	int n = csv_records(o.out, fields, 4096);
	cr_assert_eq(n, (int)want_rows + 1, "%d records for %zu rows", n, want_rows);
	for (int i = 0; i < n && i < 4096; i++)
		cr_assert_eq(fields[i], 18, "record %d has %d fields", i, fields[i]);
	output_free(&o);
}

/* One CSV row per sample, one for a cell without samples. */
static size_t csv_rows_for(const char *path)
{
	json_t *doc = load(path);
	size_t i, rows = 0;
	json_t *c;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		size_t n = json_array_size(json_object_get(c, "samples"));
		rows += n > 0 ? n : 1;
	}
	json_decref(doc);
	return rows;
}

Test(report, csv_on_the_fixture)
{
	go_to_root();
	check_csv(FIXTURE_A, csv_rows_for(FIXTURE_A));
	struct output o = sh("%s report " FIXTURE_A " --format csv", CONCBENCH_BIN);
	cr_assert_not_null(strstr(o.out, "primes,cpu,\"limit=5000000,release_gil=0,tasks=32\","
	                                 "threads,2,1,0.2525,"),
	                   "%.600s", o.out);
	/* the failed cell: one row, no sample, no statistics, its error */
	const char *failed = "mixed,mixed,\"cpu_tasks=24,limit=1500000,roundtrips=500\",processes,4"
	                     ",,,,,,,,,,,,false,worker 3 killed by signal 9";
	cr_assert_not_null(strstr(o.out, failed), "no '%s' in:\n%s", failed, o.out);
	output_free(&o);
}

static void check_gab(const char *path)
{
	struct output o = sh("%s report %s --format github-action-benchmark", CONCBENCH_BIN, path);
	cr_assert_eq(o.status, 0, "%s", o.err);
	json_error_t e;
	json_t *entries = json_loads(o.out, 0, &e);
	cr_assert_not_null(entries, "not JSON: %s", e.text);
	cr_assert(json_is_array(entries));
	json_t *doc = load(path);
	size_t healthy = 0, i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "results"), i, c) healthy +=
	    json_is_null(json_object_get(c, "error")) &&
	    json_is_true(json_object_get(c, "checksum_ok"));
	cr_assert_eq(json_array_size(entries), healthy);
	json_array_foreach(entries, i, c)
	{
		const char *name = json_string_value(json_object_get(c, "name"));
		cr_assert_not_null(name);
		cr_assert_str_eq(json_string_value(json_object_get(c, "unit")), "s");
		cr_assert(json_is_number(json_object_get(c, "value")));
		cr_assert(json_number_value(json_object_get(c, "value")) > 0);
		cr_assert(json_is_string(json_object_get(c, "range")));
		cr_assert(json_is_string(json_object_get(c, "extra")));
		for (size_t k = 0; k < i; k++)
			cr_assert_str_neq(
			    name,
			    json_string_value(json_object_get(json_array_get(entries, k), "name")),
			    "two entries named %s", name);
		/* WORKLOAD/STRATEGY/n=WORKERS and the cell's median */
		char workload[64], strategy[64];
		int workers;
		cr_assert_eq(sscanf(name, "%63[^/]/%63[^/]/n=%d", workload, strategy, &workers), 3,
		             "%s", name);
		json_t *cell = find_cell(doc, workload, strategy, workers);
		cr_assert_float_eq(
		    json_number_value(json_object_get(c, "value")),
		    json_number_value(json_object_get(json_object_get(cell, "wall_s"), "median")),
		    1e-9);
	}
	json_decref(doc);
	json_decref(entries);
	output_free(&o);
}

Test(report, github_action_benchmark_on_the_fixture)
{
	go_to_root();
	check_gab(FIXTURE_A);
	struct output o =
	    sh("%s report " FIXTURE_A " --format github-action-benchmark", CONCBENCH_BIN);
	cr_assert_not_null(strstr(o.out, "\"name\": \"primes/threads/n=2\""));
	cr_assert_not_null(strstr(o.err, "leaving out mixed/processes/n=4"), "%s", o.err);
	output_free(&o);
}

static struct output validate(const char *path);

/* One real run (it takes a while) for the schema, every format and compare. */
Test(report, a_real_run_follows_the_schema_and_reports_and_compares, .timeout = 240,
     .fini = remove_real)
{
	go_to_root();
	const char *path = real_result();
	struct output v = validate(path);
	cr_assert_eq(v.status, 0, "the real result does not follow " SCHEMA ":\n%s%s", v.out,
	             v.err);
	output_free(&v);
	const char *formats[] = {"text", "markdown"};
	for (size_t i = 0; i < 2; i++) {
		struct output o = sh("%s report %s --format %s", CONCBENCH_BIN, path, formats[i]);
		cr_assert_eq(o.status, 0, "%s: %s", formats[i], o.err);
		const char *want[] = {"primes (cpu)", "sleep (io)", "mixed (mixed)", "http (io)",
		                      "files (io)",   "threads",    "processes"};
		for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
			cr_assert_not_null(strstr(o.out, want[k]), "%s: no '%s'", formats[i],
			                   want[k]);
		/* the managed server's ephemeral URL is no parameter of the cell */
		cr_assert_null(strstr(o.out, "url=http://127.0.0.1"), "%s", formats[i]);
		output_free(&o);
	}
	check_csv(path, csv_rows_for(path));
	check_gab(path);

	/* compare: the file against itself, and against a copy with one cell
	 * 30% slower (sleep's waits: steady even on a busy machine) */
	struct output o = sh("%s compare %s %s --threshold 10", CONCBENCH_BIN, path, path);
	cr_assert_eq(o.status, 0, "%s%s", o.out, o.err);
	cr_assert_not_null(strstr(o.out, "same machine"));
	output_free(&o);
	char slower[300];
	snprintf(slower, sizeof(slower), "%s.slower.json", path);
	json_t *doc = load(path);
	scale_cell(find_cell(doc, "sleep", "threads", 2), 1.3);
	save(doc, slower);
	json_decref(doc);
	o = sh("%s compare %s %s --threshold 10", CONCBENCH_BIN, path, slower);
	unlink(slower);
	cr_assert_eq(o.status, 1, "%s%s", o.out, o.err);
	cr_assert_not_null(strstr(o.out, "regression in NEW: sleep threads n=2 is 30.0% slower"),
	                   "%s", o.out);
	output_free(&o);
}

/* ---- compare ---------------------------------------------------------------- */

/* The text table's row for a cell, as one line (static storage). */
static const char *find_row(const char *out, const char *workload, const char *strategy,
                            int workers)
{
	static char line[1024];
	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *eol = strchr(p, '\n');
		snprintf(line, sizeof(line), "%.*s", eol ? (int)(eol - p) : (int)strlen(p), p);
		char w[64], s[64];
		int n;
		if (sscanf(line, " %63s %63s %d", w, s, &n) == 3 && strcmp(w, workload) == 0 &&
		    strcmp(s, strategy) == 0 && n == workers)
			return line;
	}
	cr_assert_fail("no row %s %s %d in:\n%s", workload, strategy, workers, out);
	return NULL;
}

static struct output compare(const char *base, const char *other, const char *options)
{
	return sh("%s compare %s %s %s", CONCBENCH_BIN, base, other, options);
}

Test(report, compare_unchanged_exits_0, .init = make_tmpdir, .fini = remove_tmpdir)
{
	json_t *doc = load(FIXTURE_A);
	save(doc, tmp_path("copy.json"));
	json_decref(doc);
	struct output o = compare(FIXTURE_A, tmp_path("copy.json"), "--threshold 10");
	cr_assert_eq(o.status, 0, "%s%s", o.out, o.err);
	cr_assert_not_null(strstr(o.out, "same machine: median wall times compared"));
	cr_assert_not_null(strstr(o.out, "geometric mean of NEW/BASE time over 38 cells: 1.000"),
	                   "%s", o.out);
	cr_assert_not_null(strstr(o.out, "0 regressions, 0 improvements beyond 10%"));
	output_free(&o);
}

Test(report, compare_one_cell_30_percent_slower_exits_1, .init = make_tmpdir, .fini = remove_tmpdir)
{
	json_t *doc = load(FIXTURE_A);
	scale_cell(find_cell(doc, "primes", "threads", 2), 1.3);
	save(doc, tmp_path("slower.json"));
	json_decref(doc);
	struct output o = compare(FIXTURE_A, tmp_path("slower.json"), "--threshold 10");
	cr_assert_eq(o.status, 1, "%s%s", o.out, o.err);
	cr_assert_not_null(strstr(o.out, "REGRESSION"));
	/* the ratio, its interval, the exact p of 5 against 5 separated samples */
	cr_assert_not_null(strstr(o.out, "1.300 ["), "%s", o.out);
	cr_assert_not_null(strstr(o.out, "0.008"), "%s", o.out);
	cr_assert_not_null(strstr(o.out, "regression in NEW: primes threads n=2 is 30.0% slower "
	                                 "(U, p 0.008)"),
	                   "%s", o.out);
	output_free(&o);
	/* beyond a 40% threshold it is no regression: significant, but small */
	o = compare(FIXTURE_A, tmp_path("slower.json"), "--threshold 40");
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "slower"));
	output_free(&o);
	/* markdown, for pull requests: the same verdict and exit status */
	o = compare(FIXTURE_A, tmp_path("slower.json"), "--threshold 10 --format markdown");
	cr_assert_eq(o.status, 1);
	cr_assert_not_null(strstr(o.out, "## concbench compare"));
	cr_assert_not_null(strstr(o.out, "| primes | threads | 2 | 252 ms | 328 ms | 1.300 ["),
	                   "%s", o.out);
	cr_assert_not_null(strstr(o.out, "- **regression** in NEW: primes threads n=2"));
	output_free(&o);
}

Test(report, compare_small_slowdowns_improvements_and_noise_exit_0, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	/* everything 5% slower: significant, within the 10% threshold */
	json_t *doc = load(FIXTURE_A);
	scale_all(doc, 1.05);
	save(doc, tmp_path("five.json"));
	json_decref(doc);
	struct output o = compare(FIXTURE_A, tmp_path("five.json"), "--threshold 10");
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "geometric mean of NEW/BASE time over 38 cells: 1.050"),
	                   "%s", o.out);
	output_free(&o);
	/* but beyond a 3% threshold */
	o = compare(FIXTURE_A, tmp_path("five.json"), "--threshold 3");
	cr_assert_eq(o.status, 1, "%s", o.out);
	output_free(&o);

	/* one cell 30% faster: an improvement, exit 0 */
	doc = load(FIXTURE_A);
	scale_cell(find_cell(doc, "sleep", "epoll", 4), 0.7);
	save(doc, tmp_path("faster.json"));
	json_decref(doc);
	o = compare(FIXTURE_A, tmp_path("faster.json"), "--threshold 10");
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "improved"));
	cr_assert_not_null(strstr(o.out, "0 regressions, 1 improvement beyond 10%"), "%s", o.out);
	output_free(&o);

	/* noise: every cell's samples reshuffled and jittered by up to 2% */
	doc = load(FIXTURE_A);
	size_t i;
	json_t *c;
	static const double jitter[] = {1.02, 0.985, 1.0, 0.99, 1.015};
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		json_t *samples = json_object_get(c, "samples");
		size_t n = json_array_size(samples);
		if (n == 0)
			continue;
		double v[64];
		for (size_t k = 0; k < n; k++)
			v[k] = json_number_value(json_object_get(
			           json_array_get(samples, (k + i) % n), "wall_s")) *
			       jitter[(k + 2 * i) % 5];
		set_samples(c, v, n);
	}
	save(doc, tmp_path("noise.json"));
	json_decref(doc);
	o = compare(FIXTURE_A, tmp_path("noise.json"), "--threshold 10");
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "0 regressions, 0 improvements"), "%s", o.out);
	output_free(&o);

	/* 30% slower but within wide, overlapping samples: not significant */
	doc = load(FIXTURE_A);
	json_t *cell = find_cell(doc, "primes", "threads", 2);
	double wide[] = {0.15, 0.21, 0.27, 0.33, 0.39};
	set_samples(cell, wide, 5);
	save(doc, tmp_path("wide.json"));
	scale_cell(cell, 1.3);
	save(doc, tmp_path("wide-slower.json"));
	json_decref(doc);
	o = compare(tmp_path("wide.json"), tmp_path("wide-slower.json"), "--threshold 10");
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "0.310"), "p = 78/252: %s", o.out);
	output_free(&o);
}

Test(report, compare_judges_an_edited_median_without_its_samples, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	json_t *doc = load(FIXTURE_A);
	json_t *wall = json_object_get(find_cell(doc, "primes", "threads", 2), "wall_s");
	json_object_set_new(wall, "median",
	                    json_real(json_number_value(json_object_get(wall, "median")) * 1.3));
	save(doc, tmp_path("median.json"));
	json_decref(doc);
	struct output o = compare(FIXTURE_A, tmp_path("median.json"), "--threshold 10");
	cr_assert_eq(o.status, 1, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "judged on the medians"), "%s", o.out);
	output_free(&o);
}

Test(report, compare_three_samples_use_the_intervals, .init = make_tmpdir, .fini = remove_tmpdir)
{
	/* 3 against 3: the U test cannot reach 0.05, disjoint intervals decide */
	json_t *doc = load(FIXTURE_A);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		json_t *samples = json_object_get(c, "samples");
		if (json_array_size(samples) == 0)
			continue;
		double v[3];
		for (size_t k = 0; k < 3; k++)
			v[k] = json_number_value(
			    json_object_get(json_array_get(samples, k), "wall_s"));
		json_array_remove(samples, 4);
		json_array_remove(samples, 3);
		set_samples(c, v, 3);
	}
	save(doc, tmp_path("three.json"));
	scale_cell(find_cell(doc, "primes", "threads", 2), 1.3);
	save(doc, tmp_path("three-slower.json"));
	json_decref(doc);
	struct output o =
	    compare(tmp_path("three.json"), tmp_path("three-slower.json"), "--threshold 10");
	cr_assert_eq(o.status, 1, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "intervals disjoint"));
	cr_assert_not_null(strstr(o.out, "too few samples for the U test"));
	output_free(&o);
	o = compare(tmp_path("three.json"), tmp_path("three.json"), "--threshold 10");
	cr_assert_eq(o.status, 0, "%s", o.out);
	output_free(&o);
}

Test(report, compare_across_machines_uses_speedups, .init = make_tmpdir, .fini = remove_tmpdir)
{
	/* lab-b: another CPU with 2 cores and 0.8 times the serial time */
	struct output o = compare(FIXTURE_A, FIXTURE_B, "");
	cr_assert_not_null(strstr(o.out, "the machines differ (hostnames differ (lab-a, lab-b))"),
	                   "%s", o.out);
	cr_assert_not_null(strstr(o.out, "BASE speedup"));
	cr_assert_not_null(strstr(o.out, "each file's baseline"));
	/* threads at 4 workers: 3.96x on 4 cores, 1.98x on 2 */
	const char *row = find_row(o.out, "primes", "threads", 4);
	cr_assert_not_null(strstr(row, "3.96x"), "%s", row);
	cr_assert_not_null(strstr(row, "1.98x"), "%s", row);
	cr_assert_not_null(strstr(row, "REGRESSION"), "%s", row);
	cr_assert_eq(o.status, 1, "4 workers on 2 cores gain less: %s", o.out);
	output_free(&o);

	/* a copy on another host: speedups unchanged, exit 0; one speedup
	 * 30% lower, exit 1 */
	json_t *doc = load(FIXTURE_A);
	json_object_set_new(json_object_get(doc, "machine"), "hostname", json_string("lab-c"));
	scale_all(doc, 0.5); /* a faster machine: every time halved */
	save(doc, tmp_path("other-host.json"));
	scale_cell(find_cell(doc, "sleep", "threads", 2), 1.3);
	save(doc, tmp_path("other-host-slower.json"));
	json_decref(doc);
	o = compare(FIXTURE_A, tmp_path("other-host.json"), "--threshold 10");
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "geometric mean of BASE/NEW speedup over 35 cells: 1.000"),
	                   "%s", o.out);
	output_free(&o);
	o = compare(FIXTURE_A, tmp_path("other-host-slower.json"), "--threshold 10");
	cr_assert_eq(o.status, 1, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "regression in NEW: sleep threads n=2"), "%s", o.out);
	output_free(&o);
	/* --by time compares the times anyway: everything twice as fast */
	o = compare(FIXTURE_A, tmp_path("other-host.json"), "--by time");
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "38 cells: 0.500"), "%s", o.out);
	output_free(&o);
}

Test(report, compare_more_files_one_column_each, .init = make_tmpdir, .fini = remove_tmpdir)
{
	json_t *doc = load(FIXTURE_A);
	save(doc, tmp_path("same.json"));
	scale_cell(find_cell(doc, "primes", "gil", 2), 1.3);
	save(doc, tmp_path("slower.json"));
	json_decref(doc);
	struct output o = sh("%s compare %s %s %s", CONCBENCH_BIN, FIXTURE_A, tmp_path("same.json"),
	                     tmp_path("slower.json"));
	cr_assert_eq(o.status, 1, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "#1"));
	cr_assert_not_null(strstr(o.out, "#2"));
	/* the gil row: unchanged in #1, a regression in #2 */
	const char *line = find_row(o.out, "primes", "gil", 2);
	cr_assert_not_null(strstr(line, "1.000 p=1.000 ~"), "%s", line);
	cr_assert_not_null(strstr(line, "1.300 p=0.008 REGRESSION"), "%s", line);
	output_free(&o);
}

Test(report, compare_unusable_input_exits_2, .init = make_tmpdir, .fini = remove_tmpdir)
{
	struct output o = compare(FIXTURE_A, BAD_JSON, "");
	cr_assert_eq(o.status, 2);
	cr_assert_not_null(strstr(o.err, BAD_JSON ":5:57:"), "%s", o.err);
	output_free(&o);
	o = compare(WRONG_VER, FIXTURE_A, "");
	cr_assert_eq(o.status, 2);
	output_free(&o);
	o = sh("%s compare " FIXTURE_A, CONCBENCH_BIN);
	cr_assert_eq(o.status, 2);
	output_free(&o);
	o = compare(FIXTURE_A, FIXTURE_A, "--threshold ten");
	cr_assert_eq(o.status, 2);
	cr_assert_not_null(strstr(o.err, "--threshold needs a percentage"));
	output_free(&o);
	/* nothing in common */
	json_t *doc = load(FIXTURE_A);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	    json_object_set_new(c, "workload", json_string("other"));
	save(doc, tmp_path("other.json"));
	json_decref(doc);
	o = compare(FIXTURE_A, tmp_path("other.json"), "");
	cr_assert_eq(o.status, 2);
	cr_assert_not_null(strstr(o.err, "nothing to compare"), "%s", o.err);
	output_free(&o);
}

/* ---- the JSON Schema -------------------------------------------------------- */

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

static struct output validate(const char *path)
{
	return sh("%s -F '{error.json_path}: {error.message}\n' -i %s " SCHEMA, validator(), path);
}

Test(report, schema_accepts_the_fixtures)
{
	go_to_root();
	const char *files[] = {FIXTURE_A, FIXTURE_B};
	for (size_t i = 0; i < 2; i++) {
		struct output o = validate(files[i]);
		cr_assert_eq(o.status, 0, "%s does not follow " SCHEMA ":\n%s%s", files[i], o.out,
		             o.err);
		output_free(&o);
	}
}

Test(report, schema_rejects_what_breaks_the_contract, .init = make_tmpdir, .fini = remove_tmpdir)
{
	static const struct {
		const char *field, *json, *message;
	} bad[] = {
	    {"workers", "\"2\"", "$.results[3].workers: '2' is not of type 'integer'"},
	    {"kind", "\"gpu\"", "$.results[3].kind: 'gpu' is not one of"},
	    {"samples", "[{\"wall_s\": 1}]", "$.results[3].samples[0]: 'user_s' is a required"},
	    {"speedup_ci95", "[1]", "$.results[3].speedup_ci95"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *doc = load(FIXTURE_A);
		json_object_set_new(json_array_get(json_object_get(doc, "results"), 3),
		                    bad[i].field, json_loads(bad[i].json, JSON_DECODE_ANY, NULL));
		save(doc, tmp_path("bad.json"));
		json_decref(doc);
		struct output o = validate(tmp_path("bad.json"));
		cr_assert_neq(o.status, 0, "accepted %s = %s", bad[i].field, bad[i].json);
		cr_assert_not_null(strstr(o.err, bad[i].message), "want '%s' in:\n%s%s",
		                   bad[i].message, o.out, o.err);
		output_free(&o);
	}
	/* a missing core field, the version, and unknown fields (welcome) */
	json_t *doc = load(FIXTURE_A);
	json_object_del(doc, "machine");
	save(doc, tmp_path("no-machine.json"));
	json_decref(doc);
	struct output o = validate(tmp_path("no-machine.json"));
	cr_assert_neq(o.status, 0);
	/* the validator writes its findings to stderr */
	cr_assert_not_null(strstr(o.err, "$: 'machine' is a required property"), "%s", o.err);
	output_free(&o);
	o = validate(WRONG_VER);
	cr_assert_neq(o.status, 0);
	output_free(&o);
	doc = load(FIXTURE_A);
	json_object_set_new(doc, "summary", json_pack("{s:s}", "best", "threads"));
	json_object_set_new(json_array_get(json_object_get(doc, "results"), 0), "ballast_mb",
	                    json_integer(64));
	save(doc, tmp_path("more.json"));
	json_decref(doc);
	o = validate(tmp_path("more.json"));
	cr_assert_eq(o.status, 0, "unknown fields must be allowed: %s", o.out);
	output_free(&o);
}

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

Test(report, plots_render_from_the_fixtures, .timeout = 120, .init = make_tmpdir,
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
	static const char *const machines[] = {
	    "lab-a (Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz, 4 cores), 2026-01-10T09:00:00Z",
	    "lab-b (AMD EPYC 7763 64-Core Processor, 2 cores), 2026-01-11T09:00:00Z", NULL};
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

Test(report, plot_refuses_bad_input, .init = make_tmpdir, .fini = remove_tmpdir)
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

/* A strategy's own parameters ride on its cells as strategy_params: the loader
 * reads them apart from the workload's, so cells still group and match, and
 * report shows them under the group. */
Test(report, strategy_params_are_read_and_shown, .init = make_tmpdir, .fini = remove_tmpdir)
{
	json_t *doc = load(FIXTURE_A);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "strategy")), "gil") == 0)
			json_object_set_new(c, "strategy_params",
			                    json_pack("{s:i, s:i}", "switch_interval_us", 500,
			                              "force_switching", 1));
	}
	save(doc, tmp_path("sp.json"));
	json_decref(doc);

	struct result_file rf;
	char err[512];
	cr_assert_eq(result_file_load(tmp_path("sp.json"), &rf, err, sizeof(err)), 0, "%s", err);
	size_t gil_cells = 0;
	for (size_t k = 0; k < rf.n_cells; k++) {
		const struct rf_cell *cell = &rf.cells[k];
		if (strcmp(cell->strategy, "gil") == 0) {
			gil_cells++;
			cr_assert_str_eq(cell->strategy_params,
			                 "force_switching=1,switch_interval_us=500");
			const struct rf_cell *serial = result_file_serial(&rf, cell);
			cr_assert_not_null(serial, "a gil cell still finds its serial base");
		} else {
			cr_assert_str_eq(cell->strategy_params, "");
		}
	}
	cr_assert(gil_cells > 0);
	result_file_free(&rf);

	struct output o = sh("%s report %s", CONCBENCH_BIN, tmp_path("sp.json"));
	cr_assert_eq(o.status, 0, "%s", o.err);
	cr_assert_not_null(
	    strstr(o.out, "gil parameters: force_switching=1,switch_interval_us=500"), "%s", o.out);
	output_free(&o);
	o = sh("%s report %s --format markdown", CONCBENCH_BIN, tmp_path("sp.json"));
	cr_assert_not_null(
	    strstr(o.out, "- gil parameters: `force_switching=1,switch_interval_us=500`"), "%s",
	    o.out);
	output_free(&o);
}
