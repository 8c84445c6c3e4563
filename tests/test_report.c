/* report and the result-file loader, on hand-made result files
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

#include "readers/resultfile.h"

#include "tests/support.h"

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
		json_t *doc = load_json(FIXTURE_A);
		json_t *cell = json_array_get(json_object_get(doc, "results"), 3);
		json_object_set_new(cell, bad[i].path,
		                    json_loads(bad[i].json, JSON_DECODE_ANY, NULL));
		const char *p = tmp_path("bad.json");
		save_json(doc, p);
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
		cr_assert_eq(fields[i], 26, "record %d has %d fields", i, fields[i]);
	output_free(&o);
}

/* One CSV row per sample, one for a cell without samples. */
static size_t csv_rows_for(const char *path)
{
	json_t *doc = load_json(path);
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

/* The fields of one CSV line (no quoted commas in the columns looked at). */
static int csv_split(char *line, char **field, int max)
{
	int n = 0;
	bool quoted = false;
	field[n++] = line;
	for (char *p = line; *p && n < max; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == ',' && !quoted) {
			*p = '\0';
			field[n++] = p + 1;
		}
	}
	return n;
}

Test(report, csv_of_two_machines_names_the_machine_on_every_row)
{
	go_to_root();
	struct output o = sh("%s report " FIXTURE_A " " FIXTURE_BIG " --format csv", CONCBENCH_BIN);
	cr_assert_eq(o.status, 0, "%s", o.err);
	/* one header, then every row of both files */
	cr_assert_eq(strstr(o.out + 1, "workload,kind,"), NULL, "a second header");
	size_t rows = 0, lab = 0, big = 0;
	char *save = NULL;
	for (char *line = strtok_r(o.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[64];
		int n = csv_split(line, f, 64);
		cr_assert_eq(n, 26, "%d fields", n);
		if (rows++ == 0) {
			cr_assert_str_eq(f[18], "host");
			cr_assert_str_eq(f[20], "cores");
			cr_assert_str_eq(f[23], "latency_p50_s");
			continue;
		}
		if (strcmp(f[18], "lab-a") == 0) {
			lab++;
			cr_assert_str_eq(f[20], "4");
			cr_assert_str_eq(f[21], "0-3");
		} else {
			cr_assert_str_eq(f[18], "big-64", "row %zu: host '%s'", rows, f[18]);
			cr_assert_str_eq(f[20], "64");
			cr_assert_str_eq(f[21], "0-127");
			cr_assert_str_eq(f[22], "core");
			big++;
			if (strcmp(f[0], "sleep") == 0)
				cr_assert_str_eq(f[23], "0.0101", "the latency p50");
		}
	}
	cr_assert_eq(lab, csv_rows_for(FIXTURE_A));
	cr_assert_eq(big, csv_rows_for(FIXTURE_BIG));
	output_free(&o);
}

Test(report, markdown_of_two_machines_merges_them)
{
	go_to_root();
	struct output o =
	    sh("%s report " FIXTURE_A " " FIXTURE_BIG " --format markdown", CONCBENCH_BIN);
	cr_assert_eq(o.status, 0, "%s", o.err);
	/* each file's own report, then the two side by side */
	cr_assert_not_null(strstr(o.out, "lab-a"), "%s", o.out);
	cr_assert_not_null(strstr(o.out, "big-64"), "%s", o.out);
	const char *side = strstr(o.out, "## The 2 files side by side");
	cr_assert_not_null(side, "%s", o.out);
	cr_assert_not_null(strstr(side, "differs from #1: "), "%s", side);
	cr_assert_not_null(strstr(side, "| primes | threads | 3.96x @4 | 57.60x @64 |"), "%s",
	                   side);
	cr_assert_not_null(strstr(side, "| primes | threads @4 (3.96x) | threads @64 (57.60x) |"),
	                   "%s", side);
	output_free(&o);
	o = sh("%s report " FIXTURE_A " " FIXTURE_BIG " --format github-action-benchmark",
	       CONCBENCH_BIN);
	cr_assert_eq(o.status, 2, "one file at a time: %s", o.out);
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
	json_t *doc = load_json(path);
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

	/* compare: the file against itself, and against a copy with every cell
	 * 30% slower (sleep's waits: steady even on a busy machine); one cell of
	 * them, 5 samples against 5, would not survive the correction for the
	 * file's many cells */
	struct output o = sh("%s compare %s %s --threshold 10", CONCBENCH_BIN, path, path);
	cr_assert_eq(o.status, 0, "%s%s", o.out, o.err);
	cr_assert_not_null(strstr(o.out, "same machine"));
	output_free(&o);
	char slower[300];
	snprintf(slower, sizeof(slower), "%s.slower.json", path);
	json_t *doc = load_json(path);
	scale_all(doc, 1.3);
	save_json(doc, slower);
	json_decref(doc);
	/* --regressions: judged even when this shared machine was busy (load at or
	 * above its PUs), which compare would otherwise decline */
	o = sh("%s compare %s %s --threshold 10 --regressions", CONCBENCH_BIN, path, slower);
	unlink(slower);
	cr_assert_eq(o.status, 1, "%s%s", o.out, o.err);
	cr_assert_not_null(strstr(o.out, "regression in NEW: sleep threads n=2 is 30.0% slower"),
	                   "%s", o.out);
	output_free(&o);
}

/* A strategy's own parameters ride on its cells as strategy_params: the loader
 * reads them apart from the workload's, so cells still group and match, and
 * report shows them under the group. */
Test(report, strategy_params_are_read_and_shown, .init = make_tmpdir, .fini = remove_tmpdir)
{
	json_t *doc = load_json(FIXTURE_A);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "strategy")), "gil") == 0)
			json_object_set_new(c, "strategy_params",
			                    json_pack("{s:i, s:i}", "switch_interval_us", 500,
			                              "force_switching", 1));
	}
	save_json(doc, tmp_path("sp.json"));
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

/* A fault hook that is off (triad.fault_element=-1) says nothing about the
 * workload: the report's heading leaves it out, while the cell's params keep
 * it (cells match across versions); set by hand, the heading shows it. */
Test(report, fault_hooks_that_are_off_stay_out_of_headings, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 120)
{
	struct output o = sh("%s run -w triad -s serial -n 1 -r 1 --warmup 0 --quick --quiet -o %s",
	                     CONCBENCH_BIN, tmp_path("off.json"));
	cr_assert_eq(o.status, 0, "%s", o.err);
	output_free(&o);
	json_t *doc = load_json(tmp_path("off.json"));
	json_t *params =
	    json_object_get(json_array_get(json_object_get(doc, "results"), 0), "params");
	cr_assert_eq(json_integer_value(json_object_get(params, "fault_element")), -1);
	json_decref(doc);
	o = sh("%s report %s", CONCBENCH_BIN, tmp_path("off.json"));
	cr_assert_eq(o.status, 0, "%s", o.err);
	cr_assert_not_null(strstr(o.out, "triad (cpu): elements="), "%s", o.out);
	cr_assert_null(strstr(o.out, "fault_element"), "%s", o.out);
	output_free(&o);

	o = sh("%s run -w triad -s serial -n 1 -r 1 --warmup 0 --quick --quiet "
	       "-p triad.fault_element=5 -o %s",
	       CONCBENCH_BIN, tmp_path("on.json"));
	cr_assert_eq(o.status, 1, "the corrupt element fails the cell: %s", o.err);
	output_free(&o);
	o = sh("%s report %s", CONCBENCH_BIN, tmp_path("on.json"));
	cr_assert_not_null(strstr(o.out, "fault_element=5"), "%s", o.out);
	output_free(&o);
}

/* Where a speedup went, as a table: each parallel cell's CPU time over
 * serial's and its cores kept busy; files from before have no such table. */
Test(report, shows_cpu_time_and_busy_cores_where_the_file_has_them, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 120)
{
	json_t *doc = run_to_json(0, "-w primes -s serial,gil -n 2 -r 2 --warmup 0 --quick",
	                          tmp_path("cpu.json"));
	json_t *gil = find_cell(doc, "primes", "gil", 2);
	char want[64];
	snprintf(want, sizeof(want), "%.2fx, %.0f%%",
	         json_number_value(json_object_get(gil, "cpu_vs_serial")),
	         100 * json_number_value(json_object_get(gil, "cores_busy")));
	json_decref(doc);
	struct output o = sh("%s report %s", CONCBENCH_BIN, tmp_path("cpu.json"));
	cr_assert_eq(o.status, 0, "%s", o.err);
	cr_assert_not_null(strstr(o.out, "CPU time over serial's for the same work"), "%s", o.out);
	cr_assert_not_null(strstr(o.out, want), "no \"%s\" in: %s", want, o.out);
	output_free(&o);
	o = sh("%s report %s", CONCBENCH_BIN, FIXTURE_A);
	cr_assert_eq(o.status, 0, "%s", o.err);
	cr_assert_null(strstr(o.out, "CPU time over serial's"), "%s", o.out);
	output_free(&o);
}
