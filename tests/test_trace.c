/* `run --trace`: the real binary's trace file, held to Chrome's Trace Event
 * Format (required fields, events nested and ordered per thread) and to what
 * the run measured: under gil no two holds overlap, and the forced-switch
 * instants are the cell's own counter. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runners/runner.h"
#include "tests/support.h"

/* Nanosecond timestamps written as microseconds: what ts + dur may be off by,
 * under a nanosecond, so that a real overlap still shows. */
#define TS_SLACK_US 0.0005

#define MAX_STACK 64

static json_t *traced_run(const char *args, const char *result_path, const char *trace_path)
{
	char cmd[1024], err[4096];
	snprintf(cmd, sizeof(cmd), "run %s --quick --quiet --warmup 0 -o %s --trace %s", args,
	         result_path, trace_path);
	int rc = run_concbench_for(300, cmd, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s exited %d: %s", cmd, rc, err);
	return load_json(trace_path);
}

static void assert_event_fields(json_t *e, size_t i)
{
	const char *ph = json_string_value(json_object_get(e, "ph"));
	cr_assert(json_is_string(json_object_get(e, "name")), "event %zu has no name", i);
	cr_assert_not_null(ph, "event %zu has no ph", i);
	cr_assert(json_is_integer(json_object_get(e, "pid")), "event %zu has no pid", i);
	cr_assert(json_is_integer(json_object_get(e, "tid")), "event %zu has no tid", i);
	if (strcmp(ph, "M") == 0) {
		cr_assert(
		    json_is_string(json_object_get(json_object_get(e, "args"), "name")) ||
		        json_is_integer(json_object_get(json_object_get(e, "args"), "sort_index")),
		    "metadata event %zu without its args", i);
		return;
	}
	cr_assert(strcmp(ph, "X") == 0 || strcmp(ph, "i") == 0, "event %zu: phase %s", i, ph);
	cr_assert(json_is_number(json_object_get(e, "ts")), "event %zu has no ts", i);
	cr_assert(json_is_string(json_object_get(e, "cat")), "event %zu has no category", i);
	if (strcmp(ph, "X") == 0)
		cr_assert(json_number_value(json_object_get(e, "dur")) >= 0,
		          "complete event %zu without a duration", i);
}

/* The required fields of every event, and the file's frame. */
static void assert_trace_format(json_t *doc)
{
	json_t *events = json_object_get(doc, "traceEvents");
	cr_assert(json_is_array(events), "no traceEvents array");
	cr_assert_str_eq(json_string_value(json_object_get(doc, "displayTimeUnit")), "ms");
	cr_assert_gt(json_array_size(events), 0);
	size_t i;
	json_t *e;
	json_array_foreach(events, i, e) assert_event_fields(e, i);
}

static bool is_phase(json_t *e, const char *ph)
{
	return strcmp(json_string_value(json_object_get(e, "ph")), ph) == 0;
}

static double ts_of(json_t *e)
{
	return json_number_value(json_object_get(e, "ts"));
}

static double end_of(json_t *e)
{
	return ts_of(e) + json_number_value(json_object_get(e, "dur"));
}

/* One thread's complete events: in order of start, each inside the one
 * still open before it or after it has ended (a stack, as the viewer draws). */
static void assert_thread_nests(json_t *events, json_int_t pid, json_int_t tid)
{
	double open_end[MAX_STACK], last_ts = -INFINITY;
	int depth = 0;
	size_t i;
	json_t *e;
	json_array_foreach(events, i, e)
	{
		if (!is_phase(e, "X") || json_integer_value(json_object_get(e, "pid")) != pid ||
		    json_integer_value(json_object_get(e, "tid")) != tid)
			continue;
		double ts = ts_of(e), end = end_of(e);
		cr_assert_geq(ts, last_ts, "pid %lld tid %lld: event %zu out of order", pid, tid,
		              i);
		last_ts = ts;
		while (depth > 0 && open_end[depth - 1] <= ts + TS_SLACK_US)
			depth--;
		if (depth > 0)
			cr_assert_leq(end, open_end[depth - 1] + TS_SLACK_US,
			              "pid %lld tid %lld: event %zu overlaps its parent", pid, tid,
			              i);
		cr_assert_lt(depth, MAX_STACK);
		open_end[depth++] = end;
	}
}

static void assert_every_thread_nests(json_t *doc)
{
	json_t *events = json_object_get(doc, "traceEvents");
	size_t i;
	json_t *e;
	json_array_foreach(events, i, e)
	{
		const char *name = json_string_value(json_object_get(e, "name"));
		if (is_phase(e, "M") && strcmp(name, "thread_name") == 0)
			assert_thread_nests(events, json_integer_value(json_object_get(e, "pid")),
			                    json_integer_value(json_object_get(e, "tid")));
	}
}

static size_t count_where(json_t *doc, json_int_t pid, const char *ph, const char *cat,
                          const char *name)
{
	size_t i, n = 0;
	json_t *e;
	json_array_foreach(json_object_get(doc, "traceEvents"), i, e)
	{
		const char *c = json_string_value(json_object_get(e, "cat"));
		n += json_integer_value(json_object_get(e, "pid")) == pid && is_phase(e, ph) &&
		     (cat == NULL || (c != NULL && strcmp(c, cat) == 0)) &&
		     (name == NULL ||
		      strcmp(json_string_value(json_object_get(e, "name")), name) == 0);
	}
	return n;
}

static int by_ts(const void *a, const void *b)
{
	double x = ts_of(*(json_t *const *)a), y = ts_of(*(json_t *const *)b);
	return x < y ? -1 : x > y;
}

/* The lock's invariant, read off the trace: one holder at a time. */
static void assert_holds_never_overlap(json_t *doc, json_int_t pid)
{
	size_t n = count_where(doc, pid, "X", "gil.hold", NULL), k = 0, i;
	cr_assert_gt(n, 0, "pid %lld has no holds", pid);
	json_t **hold = calloc(n, sizeof(*hold)), *e;
	json_array_foreach(json_object_get(doc, "traceEvents"), i, e)
	{
		const char *c = json_string_value(json_object_get(e, "cat"));
		if (json_integer_value(json_object_get(e, "pid")) == pid && c != NULL &&
		    strcmp(c, "gil.hold") == 0)
			hold[k++] = e;
	}
	qsort(hold, n, sizeof(*hold), by_ts);
	for (size_t j = 1; j < n; j++)
		cr_assert_geq(ts_of(hold[j]) + TS_SLACK_US, end_of(hold[j - 1]),
		              "pid %lld: a hold at %.3f us starts before the one at %.3f us ends "
		              "(%.3f)",
		              pid, ts_of(hold[j]), ts_of(hold[j - 1]), end_of(hold[j - 1]));
	free(hold);
}

/* The file's record of the traced cell of workload and strategy. */
static json_t *traced_cell(json_t *doc, const char *workload, const char *strategy)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(doc, "otherData"), "concbench_cells"), i,
	                   c)
	{
		if (strcmp(json_string_value(json_object_get(c, "workload")), workload) == 0 &&
		    strcmp(json_string_value(json_object_get(c, "strategy")), strategy) == 0)
			return c;
	}
	cr_assert_fail("the trace has no %s %s cell", workload, strategy);
	return NULL;
}

Test(trace, every_strategy_writes_valid_nested_timelines, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 300)
{
	const char *res = tmp_path("r.json"), *tr = tmp_path("t.json");
	json_t *doc = traced_run("-w primes,mixed -s all -n 2 -r 1", res, tr);
	assert_trace_format(doc);
	assert_every_thread_nests(doc);
	json_t *result = load_json(res);
	for (const char *const *s = strategy_names(); *s; s++) {
		for (int w = 0; w < 2; w++) {
			const char *workload = w == 0 ? "primes" : "mixed";
			json_t *tc = traced_cell(doc, workload, *s);
			json_int_t pid = json_integer_value(json_object_get(tc, "pid"));
			cr_assert_gt(count_where(doc, pid, "X", "task", NULL), 0,
			             "%s %s: no task events", workload, *s);
			json_t *cell =
			    find_cell(result, workload, *s, runner_find(*s)->single_worker ? 1 : 2);
			cr_assert_eq(json_integer_value(json_object_get(
			                 json_object_get(cell, "trace"), "repetition")),
			             1);
		}
	}
	/* Under epoll the loop's callbacks, under processes the forked workers'
	 * tasks, under gil the waits with their reasons. */
	json_int_t loop =
	    json_integer_value(json_object_get(traced_cell(doc, "mixed", "epoll"), "pid"));
	cr_assert_gt(count_where(doc, loop, "X", "loop", NULL), 0);
	json_int_t gil =
	    json_integer_value(json_object_get(traced_cell(doc, "mixed", "gil"), "pid"));
	cr_assert_gt(count_where(doc, gil, "X", "gil.wait", "after_io"), 0);
	cr_assert_gt(count_where(doc, gil, "X", "io", NULL), 0);
	json_decref(result);
	json_decref(doc);
}

/* The issue's own check: primes and mixed under gil and threads at n=2. */
Test(trace, gil_holds_never_overlap_and_forced_switches_match, .init = make_tmpdir,
     .fini = remove_tmpdir, .timeout = 300)
{
	const char *res = tmp_path("r.json"), *tr = tmp_path("t.json");
	json_t *doc = traced_run("-w primes,mixed -s gil,threads -n 2 -r 2", res, tr);
	json_t *result = load_json(res);
	struct output v = validate(res); /* the traced cells' "trace" objects too */
	cr_assert_eq(v.status, 0, "%s does not follow the schema:\n%s%s", res, v.out, v.err);
	output_free(&v);
	assert_trace_format(doc);
	assert_every_thread_nests(doc);
	for (int w = 0; w < 2; w++) {
		const char *workload = w == 0 ? "primes" : "mixed";
		json_t *tc = traced_cell(doc, workload, "gil");
		json_int_t pid = json_integer_value(json_object_get(tc, "pid"));
		assert_holds_never_overlap(doc, pid);
		json_t *cell = find_cell(result, workload, "gil", 2);
		json_t *trace = json_object_get(cell, "trace");
		/* The cell's gil counters are its latest counted repetition's: that one is traced.
		 */
		cr_assert_eq(json_integer_value(json_object_get(trace, "repetition")), 2);
		cr_assert_eq(json_integer_value(json_object_get(trace, "dropped")), 0);
		double counter = json_number_value(
		    json_object_get(json_object_get(cell, "gil"), "forced_switches"));
		size_t instants = count_where(doc, pid, "i", NULL, "forced switch");
		cr_assert_eq((double)instants, counter,
		             "%s gil: %zu forced-switch instants, counter %g", workload, instants,
		             counter);
	}
	json_decref(result);
	json_decref(doc);
}

Test(trace, a_full_buffer_drops_counts_and_stays_valid, .init = make_tmpdir, .fini = remove_tmpdir,
     .timeout = 300)
{
	const char *res = tmp_path("r.json"), *tr = tmp_path("t.json");
	json_t *doc = traced_run("-w mixed -s gil -n 2 -r 1 --trace-buffer 16", res, tr);
	assert_trace_format(doc);
	assert_every_thread_nests(doc);
	json_t *tc = traced_cell(doc, "mixed", "gil");
	cr_assert_gt(json_integer_value(json_object_get(tc, "dropped")), 0);
	cr_assert_leq(json_integer_value(json_object_get(tc, "events")), 16 * 5);
	json_t *result = load_json(res);
	json_t *trace = json_object_get(find_cell(result, "mixed", "gil", 2), "trace");
	cr_assert_gt(json_integer_value(json_object_get(trace, "dropped")), 0);
	json_decref(result);
	json_decref(doc);
}

Test(trace, the_filter_picks_the_cells, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 300)
{
	const char *res = tmp_path("r.json"), *tr = tmp_path("t.json");
	json_t *doc =
	    /* mixed names no cell of this run: a warning, not an error */
	    traced_run("-w primes -s gil,threads -n 1,2 -r 1 --trace-cells gil/2,mixed", res, tr);
	json_t *cells = json_object_get(json_object_get(doc, "otherData"), "concbench_cells");
	cr_assert_eq(json_array_size(cells), 1);
	json_t *result = load_json(res);
	cr_assert_not_null(json_object_get(find_cell(result, "primes", "gil", 2), "trace"));
	cr_assert_null(json_object_get(find_cell(result, "primes", "gil", 1), "trace"));
	cr_assert_null(json_object_get(find_cell(result, "primes", "threads", 2), "trace"));
	json_decref(result);
	json_decref(doc);
}

/* Bad input is one line and exit 2, before anything is measured. */
static void assert_refused(const char *args, const char *says)
{
	char cmd[512], err[4096];
	snprintf(cmd, sizeof(cmd), "run -w primes -s gil -n 2 -r 1 --quick --quiet -o %s %s",
	         tmp_path("r.json"), args);
	/* ARGS's "T" stands for a writable trace path in the scratch folder. */
	char *t = strstr(cmd, " T");
	if (t != NULL && (t[2] == ' ' || t[2] == '\0')) {
		char tail[256];
		snprintf(tail, sizeof(tail), "%s", t + 2);
		snprintf(t, sizeof(cmd) - (size_t)(t - cmd), " %s%s", tmp_path("t.json"), tail);
	}
	int rc = run_concbench_for(60, cmd, err, sizeof(err));
	cr_assert_eq(rc, 2, "%s exited %d: %s", args, rc, err);
	cr_assert_not_null(strstr(err, says), "%s: stderr lacks '%s': %s", args, says, err);
	cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "more than one line: %s", err);
}

Test(trace, bad_paths_and_filters_exit_2, .init = make_tmpdir, .fini = remove_tmpdir)
{
	assert_refused("--trace /nonexistent-dir/t.json", "--trace /nonexistent-dir/t.json");
	assert_refused("--trace T --trace-cells nosuch", "'nosuch'");
	assert_refused("--trace T --trace-cells primes/gil/gil", "repeats");
	assert_refused("--trace-cells gil", "needs --trace FILE");
	assert_refused("--trace T --trace-buffer 0", "--trace-buffer");
}

/* scripts/plot on a trace: a timeline per traced cell, in both formats, its
 * legend naming what the lanes show. */
static void assert_timeline(const char *dir, const char *chart, const char *const *series)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/t/%s.png", dir, chart);
	char *png = slurp(path);
	cr_assert(strncmp(png, "\x89PNG", 4) == 0, "%s is not a PNG", path);
	free(png);
	snprintf(path, sizeof(path), "%s/t/%s.svg", dir, chart);
	char *svg = slurp(path);
	for (const char *const *s = series; *s; s++) {
		char text[128];
		snprintf(text, sizeof(text), ">%s</text>", *s);
		cr_assert_not_null(strstr(svg, text), "%s has no '%s'", path, *s);
	}
	free(svg);
}

Test(trace, plot_draws_a_timeline_per_cell, .init = make_tmpdir, .fini = remove_tmpdir,
     .timeout = 300)
{
	const char *res = tmp_path("r.json"), *tr = tmp_path("t.json");
	json_decref(traced_run("-w primes,mixed -s gil,threads -n 2 -r 1", res, tr));
	struct output o = sh("scripts/plot -o %s --trace %s", tmpdir, tr);
	cr_assert_eq(o.status, 0, "scripts/plot exited %d:\n%s%s", o.status, o.out, o.err);
	output_free(&o);
	static const char *const gil_mixed[] = {"holding the gil",
	                                        "waiting for the gil",
	                                        "in I/O",
	                                        "forced switch",
	                                        "worker 0",
	                                        "worker 1",
	                                        NULL};
	static const char *const threads[] = {"running", "worker 0", "worker 1", NULL};
	assert_timeline(tmpdir, "timeline-mixed-gil-n=2", gil_mixed);
	assert_timeline(tmpdir, "timeline-primes-threads-n=2", threads);
	assert_timeline(tmpdir, "timeline-primes-gil-n=2", threads + 1);
}
