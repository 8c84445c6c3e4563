/* `concbench run`: set up each workload, run its cells (one warm-up each, then
 * the repetitions with the cells shuffled anew in every repetition), check
 * every run's checksum, and keep the result file up to date as it goes. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <malloc.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "readers/claims.h"
#include "readers/tasksweep.h"
#include "readers/fidelity.h"
#include "bench/run.h"

static bool stopping(void)
{
	return stop_signal_received() != 0 || save_has_failed();
}

static int timed_measure(struct bench_run *run, struct cell *c, struct sample *s,
                         struct run_result *rr)
{
	watchdog_arm(run, c);
	int rc = measure_once(run, c, s, rr);
	watchdog_disarm();
	return rc;
}

/* One of the strategy's counters of the latest counted run, NAN if none. */
static double cell_stat(const struct cell *c, const char *name)
{
	for (int i = 0; i < c->n_stats; i++)
		if (strcmp(c->stat[i].name, name) == 0)
			return c->stat[i].value;
	return NAN;
}

/* --trace: the last counted repetition of a cell the filter names is traced
 * (its figures are counted and the cell says which it was). The buffers are
 * set up here, before the run's clock starts. */
static void trace_begin_if_chosen(struct bench_run *run, struct cell *c, bool counted)
{
	const struct run_config *cfg = &run->cfg;
	if (!counted || cfg->trace_path[0] == '\0' || c->n_samples != cfg->reps - 1 ||
	    !trace_filter_matches(&cfg->trace_cells, c->bw->w.ops, c->runner, c->workers))
		return;
	c->trace = malloc(sizeof(*c->trace));
	if (c->trace != NULL &&
	    trace_open(c->trace, trace_lanes_for(c->workers), cfg->trace_events) == 0)
		return;
	fprintf(stderr, "concbench run: cannot trace %s %s n=%d: %s\n", c->bw->w.ops->name,
	        c->runner->name, c->workers, strerror(errno));
	free(c->trace);
	c->trace = NULL;
}

/* After the traced run: its events into the trace file's document when the
 * run counted, and the buffers freed either way. */
static void trace_end(struct bench_run *run, struct cell *c, bool kept)
{
	char label[128];
	if (c->trace == NULL)
		return;
	if (kept) {
		cell_label(c, label, sizeof(label));
		struct trace_cell_info info = {
		    .label = label,
		    .workload = c->bw->w.ops->name,
		    .strategy = c->runner->name,
		    .workers = c->workers,
		    .repetition = c->n_samples,
		    .forced_switches = cell_stat(c, "forced_switches"),
		};
		c->traced_repetition = c->n_samples;
		c->trace_events = trace_events(c->trace);
		c->trace_dropped = trace_dropped(c->trace);
		trace_doc_add(&run->trace_doc, &info, c->trace);
	}
	trace_close(c->trace);
	free(c->trace);
	c->trace = NULL;
}

static void run_cell_once(struct bench_run *run, struct cell *c, bool counted, const char *phase)
{
	struct sample s;
	struct run_result rr;
	if (c->error[0] != '\0' || stopping()) {
		run->runs_done++; /* a failed cell stays failed: later runs would not compare */
		return;
	}
	memset(&rr, 0, sizeof(rr));
	trace_begin_if_chosen(run, c, counted);
	int rc = timed_measure(run, c, &s, &rr);
	if (stopping()) {
		/* the signal may have reached the workers too: this run is not evidence */
		c->error[0] = '\0';
		if (rr.task != NULL)
			run_result_free(&rr);
		trace_end(run, c, false);
		watchdog_release();
		return;
	}
	if (rc != 0 || verify_checksum(c, &rr) != 0) {
		if (rr.task != NULL)
			run_result_free(&rr);
		trace_end(run, c, false);
		watchdog_release();
		progress(run, c, phase, true, true);
		return;
	}
	keep_run(c, &s, &rr, counted);
	trace_end(run, c, true);
	watchdog_release();
	bool done = counted && c->n_samples == run->cfg.reps;
	if (done)
		cell_summarize(run, c);
	progress(run, c, phase, false, done);
}

static int setup_workload(struct bench_run *run, struct bench_workload *bw)
{
	struct workload *w = &bw->w;
	if (start_fixture_server(run, bw) != 0)
		return -1;
	if (w->ops->setup(w, bw->error, sizeof(bw->error)) != 0)
		return -1;
	bw->has_expected_checksum = w->ops->expected_checksum != NULL &&
	                            w->ops->expected_checksum(w, &bw->expected_checksum);
	bw->has_expected_items =
	    w->ops->expected_items != NULL && w->ops->expected_items(w, &bw->expected_items);
	bw->ready = true;
	return 0;
}

static void run_workload_cells(struct bench_run *run, struct bench_workload *bw, uint64_t *rng)
{
	struct cell **order = calloc((size_t)run->n_cells, sizeof(*order));
	int n = 0;
	if (order == NULL)
		return;
	for (int i = 0; i < run->n_cells; i++)
		if (run->cells[i].bw == bw)
			order[n++] = &run->cells[i];
	for (int k = 0; k < run->cfg.warmup; k++)
		for (int i = 0; i < n; i++)
			run_cell_once(run, order[i], false, "warm-up");
	for (int rep = 0; rep < run->cfg.reps && !stopping(); rep++) {
		char phase[32];
		snprintf(phase, sizeof(phase), "rep %d/%d", rep + 1, run->cfg.reps);
		shuffle_cells(order, n, rng);
		for (int i = 0; i < n; i++)
			run_cell_once(run, order[i], true, phase);
		for (int i = 0; i < n; i++)
			cell_summarize(run, order[i]);
		json_decref(save_progress(run));
	}
	free(order);
}

static void fail_workload_cells(struct bench_run *run, struct bench_workload *bw)
{
	for (int i = 0; i < run->n_cells; i++)
		if (run->cells[i].bw == bw)
			snprintf(run->cells[i].error, sizeof(run->cells[i].error), "setup: %s",
			         bw->error);
}

/* ---- set-up and tear-down of the whole run ---------------------------------- */

/* results/<host>-<UTC time>.json, the time in ISO 8601 basic form (no colons,
 * which artifact stores and some file systems refuse); a suffix keeps two
 * runs in the same second from overwriting each other. */
static void default_output_path(struct bench_run *run)
{
	char host[128], stamp[32];
	struct tm tm;
	machine_hostname(host, sizeof(host));
	gmtime_r(&run->started, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(run->output, sizeof(run->output), "results/%s-%s.json", host, stamp);
	for (int k = 2; access(run->output, F_OK) == 0 && k < 1000; k++)
		snprintf(run->output, sizeof(run->output), "results/%s-%s-%d.json", host, stamp, k);
}

static void stamp_time(struct bench_run *run)
{
	struct tm tm;
	run->started = time(NULL);
	gmtime_r(&run->started, &tm);
	strftime(run->created_at, sizeof(run->created_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* --trace: the file must be writable before anything is measured; an item of
 * --trace-cells that names no cell of this run is worth a warning. */
static int check_trace_request(struct bench_run *run, char *err, size_t errlen)
{
	const struct run_config *cfg = &run->cfg;
	char why[400];
	if (cfg->trace_path[0] == '\0')
		return 0;
	if (check_output_writable(cfg->trace_path, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "--trace %.200s: %.280s", cfg->trace_path, why);
		return -1;
	}
	for (int k = 0; k < cfg->trace_cells.n; k++) {
		struct trace_filter one = {.n = 1, .item = {cfg->trace_cells.item[k]}};
		bool any = false;
		for (int i = 0; i < run->n_cells && !any; i++)
			any = trace_filter_matches(&one, run->cells[i].bw->w.ops,
			                           run->cells[i].runner, run->cells[i].workers);
		/* Not an error: `make bench` names its cells whatever BENCH_ARGS selects. */
		if (!any &&
		    run->n_warnings < (int)(sizeof(run->warnings) / sizeof(run->warnings[0])))
			snprintf(
			    run->warnings[run->n_warnings++], sizeof(run->warnings[0]),
			    "--trace-cells: item %d names no cell of this run: nothing is traced "
			    "for it",
			    k + 1);
	}
	trace_doc_init(&run->trace_doc);
	return 0;
}

static int prepare(struct bench_run *run, char *err, size_t errlen)
{
	stamp_time(run);
	if (run->cfg.output[0] != '\0')
		snprintf(run->output, sizeof(run->output), "%s", run->cfg.output);
	else
		default_output_path(run);
	if (check_output_writable(run->output, err, errlen) != 0)
		return -1;
	if (topology_open(&run->topology, NULL, err, errlen) != 0)
		return -1;
	if (run->cfg.n_workers > 0) {
		memcpy(run->sweep, run->cfg.workers, sizeof(run->sweep));
		run->n_sweep = run->cfg.n_workers;
	} else {
		run->n_sweep =
		    default_worker_sweep(topology_cores(run->topology), run->sweep, CLI_MAX_LIST);
	}
	run->n_workloads = run->cfg.n_workloads;
	/* + the suite's variants: release_gil=1, the task-size sweep, and a
	 * python-sizes variant of each */
	run->workloads =
	    calloc(2 * (size_t)run->n_workloads + 1 + SUITE_TASK_SIZES, sizeof(*run->workloads));
	if (run->workloads == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < run->n_workloads; i++) {
		struct workload *w = &run->workloads[i].w;
		w->ops = run->cfg.workloads[i];
		params_init(&w->params, w->ops->params, run->cfg.quick);
		if (apply_overrides(&run->cfg, w->ops, &w->params, err, errlen) != 0)
			return -1;
		sizing_apply(run, &run->workloads[i]);
		if (w->ops->check != NULL && w->ops->check(w, err, errlen) != 0)
			return -1;
	}
	if (run->cfg.default_suite)
		suite_add_release_gil_variant(run);
	if (run->cfg.default_suite || run->cfg.task_sweep)
		suite_add_task_size_sweep(run);
	if (suite_add_python_variants(run, err, errlen) != 0)
		return -1;
	if (build_cells(run, err, errlen) != 0)
		return -1;
	if (check_trace_request(run, err, errlen) != 0)
		return -1;
	/* the estimates, and the budget's choices, before anything is measured */
	bool estimate = run->cfg.list_cells ? !run->cfg.no_estimate : run->cfg.budget_s > 0;
	return estimate ? sizing_plan(run, err, errlen) : 0;
}

/* The strategies that start something at the very beginning of the run
 * (forkserver's server), before any workload is set up or ballast held. */
static int start_strategies_early(const struct bench_run *run, char *err, size_t errlen)
{
	for (int si = 0; si < run->cfg.n_strategies; si++) {
		const struct runner_ops *r = run->cfg.strategies[si];
		if (r->start_early != NULL && r->start_early(err, errlen) != 0)
			return -1;
	}
	return 0;
}

static void stop_strategies(const struct bench_run *run)
{
	for (int si = 0; si < run->cfg.n_strategies; si++)
		if (run->cfg.strategies[si]->stop_late != NULL)
			run->cfg.strategies[si]->stop_late();
}

static void release(struct bench_run *run)
{
	stop_strategies(run);
	for (int i = 0; i < run->n_cells; i++) {
		struct cell *c = &run->cells[i];
		placement_plan_free(&c->plan);
		free(c->samples);
		free(c->latencies);
		free(c->stream_alone.v);
		free(c->stream_busy.v);
		free(c->startups.v);
		free(c->last_workers);
		cell_memo_free(c);
	}
	free(run->cells);
	free(run->workloads);
	trace_doc_free(&run->trace_doc);
	if (run->topology != NULL)
		hwloc_topology_destroy(run->topology);
}

static int count_failed_cells(const struct bench_run *run)
{
	int failed = 0;
	for (int i = 0; i < run->n_cells; i++)
		failed += run->cells[i].error[0] != '\0';
	return failed;
}

/* --list-cells: one line per cell, "workload[:variant] strategy workers ballast_mb". */
static void print_cell_list(const struct bench_run *run, FILE *out)
{
	for (int i = 0; i < run->n_cells; i++) {
		const struct cell *c = &run->cells[i];
		fprintf(out, "%s%s%s %s %d %d\n", c->bw->w.ops->name, c->bw->variant[0] ? ":" : "",
		        c->bw->variant, c->runner->name, c->workers, c->ballast_mb);
	}
}

/* --trace: the file, written once the run is over. */
static void write_trace_file(struct bench_run *run)
{
	char err[512];
	size_t events = 0;
	uint64_t dropped = 0;
	int cells = 0;
	if (run->cfg.trace_path[0] == '\0')
		return;
	for (int i = 0; i < run->n_cells; i++) {
		const struct cell *c = &run->cells[i];
		cells += c->traced_repetition > 0;
		events += c->trace_events;
		dropped += c->trace_dropped;
	}
	if (trace_doc_write(&run->trace_doc, run->cfg.trace_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "concbench run: cannot write the trace %s: %s\n",
		        run->cfg.trace_path, err);
		return;
	}
	if (!run->cfg.quiet)
		fprintf(stderr, "trace file: %s (%d cells, %zu events, %" PRIu64 " dropped)\n",
		        run->cfg.trace_path, cells, events, dropped);
}

static void run_workloads(struct bench_run *run)
{
	uint64_t rng = run->cfg.seed;
	for (int i = 0; i < run->n_workloads && !stopping(); i++) {
		struct bench_workload *bw = &run->workloads[i];
		if (bw->dropped)
			continue;
		if (setup_workload(run, bw) != 0) {
			fprintf(stderr, "concbench run: %s: set-up failed: %s\n", bw->w.ops->name,
			        bw->error);
			fail_workload_cells(run, bw);
			stop_fixture_server(bw);
			json_decref(save_progress(run));
			continue;
		}
		run_workload_cells(run, bw, &rng);
		runners_release(&bw->w);
		bw->w.ops->teardown(&bw->w);
		stop_fixture_server(bw);
	}
}

/* The end of the run: the last save, the summary and the claims, and the exit
 * status (1 when a cell failed, 128 + the signal when one stopped it). */
static int finish(struct bench_run *run)
{
	for (int i = 0; i < run->n_cells; i++)
		cell_summarize(run, &run->cells[i]);
	json_t *doc = save_progress(run);
	write_trace_file(run);
	/* Each cell's warnings are said once, under its row in the summary. */
	print_summary(run, stdout);
	if (doc != NULL) {
		task_sweep_print(json_object_get(doc, "task_size_sweep"), stdout);
		fidelity_print(json_object_get(doc, "fidelity"), stdout);
		claims_print_measured(json_object_get(doc, "claims"), run->output, stdout);
	}
	json_decref(doc);
	if (save_has_failed()) {
		report_failed_save(run);
		release(run);
		return EXIT_SAVE_FAILED;
	}
	printf("\nresult file: %s\n", run->output);

	int failed = count_failed_cells(run);
	if (failed > 0)
		fprintf(stderr, "concbench run: %d cell%s failed (see \"error\" in %s)\n", failed,
		        failed == 1 ? "" : "s", run->output);
	int sig = stop_signal_received();
	if (sig != 0)
		fprintf(stderr,
		        "concbench run: interrupted by %s; the cells measured so far are in %s\n",
		        run->interrupted_by, run->output);
	release(run);
	return sig != 0 ? 128 + sig : failed > 0 ? 1 : 0;
}

int cmd_run(int argc, char **argv)
{
	static struct bench_run run; /* large; static keeps it off the stack */
	char err[512];
	memset(&run, 0, sizeof(run));
	run.began_mono = monotonic_now();

	enum cli_status st = run_config_parse(argc, argv, &run.cfg, err, sizeof(err));
	if (st == CLI_HELP) {
		run_usage(stdout);
		return 0;
	}
	if (st == CLI_ERROR || prepare(&run, err, sizeof(err)) != 0) {
		fprintf(stderr, "concbench run: %s\n", err);
		release(&run);
		return 2;
	}
	if (run.cfg.list_cells) {
		if (run.calibrated)
			sizing_print_cells(&run, stdout);
		else
			print_cell_list(&run, stdout);
		release(&run);
		return 0;
	}
	if (start_strategies_early(&run, err, sizeof(err)) != 0) {
		fprintf(stderr, "concbench run: %s\n", err);
		release(&run);
		return 1;
	}
	note_machine_warnings(&run);
	run.total_runs = run.n_cells * (run.cfg.warmup + run.cfg.reps);
	run.started_mono = monotonic_now();
	run.live_progress = isatty(STDERR_FILENO);

	catch_stop_signals();
	pthread_t watcher;
	bool watching = watchdog_start(&watcher) == 0;
	run_workloads(&run);
	if (watching) {
		watchdog_stop(watcher);
	}
	if (stop_signal_received() != 0)
		snprintf(run.interrupted_by, sizeof(run.interrupted_by), "%s",
		         stop_signal_received() == SIGINT ? "SIGINT" : "SIGTERM");
	run.finished = !stopping();
	if (run.live_progress && !run.cfg.quiet)
		fprintf(stderr, "\r\033[K");
	return finish(&run);
}
