/* The run matrix: what `concbench run` measures and keeps, shared by the
 * driver (driver.c), the result file (result.c) and the summary (summary.c). */
#ifndef CONCBENCH_RUN_H
#define CONCBENCH_RUN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <hwloc.h>
#include <jansson.h>

#include "bench/cli.h"
#include "bench/placement.h"
#include "fixture/serve.h"
#include "runners/runner.h"
#include "lib/stats.h"
#include "workloads/workload.h"

struct sample {
	double wall_s, user_s, sys_s;
	double idle_share;  /* of all CPUs' time during the run, from /proc/stat */
	double steal_share; /* of the same, taken by the hypervisor for other guests */
	long max_rss_kib;
	long ctx_voluntary, ctx_involuntary;
};

/* Values pooled over a cell's counted repetitions. */
struct pool {
	double *v;
	size_t n;
};

/* A cell's pooled figures as JSON (bench/result.c), which take sorting every
 * latency and resampling every round trip: a run saves its whole document
 * after each round of repetitions, so a cell's are made again only once it
 * has gained figures. */
struct figures_memo {
	size_t made_at; /* the pools' sizes when made, summed; 0: never made */
	json_t *latency, *convoy;
};

struct cell {
	struct bench_workload *bw;
	const struct runner_ops *runner;
	int workers;
	int ballast_mb; /* memory the parent touched before the workers started */
	struct placement_plan plan;

	struct sample *samples; /* counted repetitions measured so far */
	int n_samples;
	double *latencies; /* per task over the counted repetitions */
	size_t n_latencies;
	/* An I/O stream's round trips (mixed), pooled over the counted
	 * repetitions: alone, then beside the CPU tasks (busy). */
	bool has_stream;
	struct pool stream_alone, stream_busy;
	/* Every worker's start-up over the counted repetitions, so that a
	 * cell of few workers still gives the median an interval. */
	struct pool startups;
	struct figures_memo *memo;           /* made with the cell, freed with it */
	struct worker_record *last_workers;  /* from the latest run */
	struct run_stat stat[RUN_STATS_MAX]; /* the strategy's counters, latest counted run */
	int n_stats;
	int n_last_workers;
	uint64_t checksum, items, bytes;
	uint64_t connections; /* opened by the latest counted run's tasks */
	struct workload_fact facts[WORKLOAD_FACTS_MAX]; /* the workload's, latest counted run */
	int n_facts;
	size_t tasks;        /* in the workload, recorded while it was set up */
	size_t tasks_failed; /* in the run that failed the cell */
	bool measured_any;
	bool checksum_ok;
	/* --trace: the buffers of the repetition in flight, when it is traced;
	 * then which counted repetition that was (1-based, 0: none) and what
	 * its trace held. */
	struct trace *trace;
	int traced_repetition;
	size_t trace_events;
	uint64_t trace_dropped;
	char error[320]; /* empty while the cell is healthy */

	/* bench/sizing.c: one run's estimated time (s, the run and what surrounds
	 * it), from the calibration; 0 when not calibrated. */
	double est_run_s;
	/* and what the cell pays once, in its first run (what its runner keeps
	 * between runs: an interpreter, a pool of MPI ranks), 0 for none */
	double est_once_s;
	/* and the part of est_run_s that does not follow the workload's work
	 * (the pool's start-up and join, what surrounds the run): what stays
	 * when the budget shrinks the work */
	double est_start_s;
	/* and, on the cell that projects others of its strategy onto more cores
	 * than there are here, the share of the ideal speedup it reached: made
	 * once (est_efficiency_known), read by every projected cell */
	double est_efficiency;
	bool est_efficiency_known;

	/* Filled in by cell_summarize. */
	struct summary wall;
	struct ratio speedup;
	double efficiency;
	/* Where a parallel cell's speedup went (cpu workloads): its CPU time
	 * (user + system, children included) over serial's for the same work,
	 * and the share of its cores' time it kept busy; the speedup is about
	 * cores x cores_busy / cpu_vs_serial. NAN where serial mostly waits. */
	struct ratio cpu_vs_serial;
	double cores_busy;
	double throughput; /* tasks per second at the median */
	char warnings[4][160];
	int n_warnings;
};

struct bench_workload {
	struct workload w;
	/* A variant of a workload run beside it in the default suite (e.g.
	 * "release_gil=1"), under the strategies listed only. */
	char variant[64];
	const struct runner_ops *only[CLI_MAX_LIST];
	int n_only;
	/* > 0: a variant measured at this worker count only (the task-size
	 * sweep's, at the core count); 0: the run's sweep. */
	int workers_only;
	bool has_python_variant; /* its py-* cells run on that variant (python_suite.c) */
	/* left out by the budget (sizing.c: every other size of the task-size
	 * sweep): no cells, no set-up */
	bool dropped;
	bool ready; /* set up successfully */
	char error[256];
	uint64_t expected_checksum;
	bool has_expected_checksum;
	uint64_t expected_items;
	bool has_expected_items;
	/* Without an expected checksum, every strategy must agree with the first. */
	uint64_t first_checksum;
	const struct cell *first_cell;
	struct managed_server server; /* started for it when it downloads from the fixture */
	bool has_server;
	struct managed_server server_record; /* where it ran, kept after it stopped */
	/* bench/sizing.c: sized for the machine (its resize ran on the defaults):
	 * at least min_tasks tasks, the work grown `grow` times to reach `aim_s`
	 * of serial work (20 start-ups of aim_strategy's pool at aim_workers),
	 * serial_s the calibration's serial estimate, setup_s its set-up and
	 * teardown_s its tear-down. A
	 * suite variant that sets its own sizes (params_set_internal) from a copy
	 * of a sized workload clears autosized, or the calibration may grow it. */
	bool autosized;
	uint64_t min_tasks;
	double grow, aim_s, serial_s, setup_s, teardown_s;
	/* resized by the budget, and the share of its work that left it as
	 * measured (bench/sizing.c; 1: untouched) */
	bool resized_by_budget;
	double kept;
	const struct runner_ops *aim_strategy;
	int aim_workers;
	double aim_startup_s;
};

struct bench_run {
	struct run_config cfg;
	hwloc_topology_t topology;
	struct bench_workload *workloads;
	int n_workloads;
	struct cell *cells;
	int n_cells;
	int sweep[CLI_MAX_LIST];
	int n_sweep;
	int total_runs, runs_done; /* for the progress line */
	double began_mono;   /* cmd_run's start: the elapsed time shown counts the calibration */
	double started_mono; /* the first cell's: the pace against the estimates counts from it */
	bool live_progress;  /* stderr is a terminal: one line, rewritten */
	time_t started;
	char created_at[32];
	char output[PATH_MAX];
	double load_avg[3];
	long nofile_limit; /* RLIMIT_NOFILE after raising the soft limit */
	/* Why the run stopped early: "SIGINT", "SIGTERM", "cell-timeout"; empty
	 * when it ran to the end. */
	char interrupted_by[32];
	char warnings[8][400];
	int n_warnings;
	bool finished;
	struct trace_doc trace_doc; /* --trace: the traced cells so far */
	/* bench/sizing.c: the calibration, the estimate and the budget's choices. */
	bool calibrated;
	double calibration_s, estimate_s;
	int planned_reps, default_sweep_points;
	char budget_note[320];
	int cells_done; /* for the progress line: cells finished or failed */
};

void cell_summarize(struct bench_run *run, struct cell *c);
/* Threads the cell's strategy runs on: its workers, or 1 for single-threaded strategies. */
int cell_threads(const struct cell *c);
/* The median over the cell's samples of one figure, its NAN values left out. */
double sample_median(const struct cell *c, double (*field)(const struct sample *));
const struct cell *serial_cell_of(const struct bench_run *run, const struct cell *of);

/* result.c */
json_t *bench_run_to_json(const struct bench_run *run);
void cell_memo_free(struct cell *c);
/* run exits with this when a save failed mid-run (README, "exit status") */
#define EXIT_SAVE_FAILED 3

/* Write to a temporary file beside path and rename it over path, which must
 * be a regular file or absent. 0, or -1 with err. */
int write_json_atomically(json_t *doc, const char *path, char *err, size_t errlen);
/* The same with json_dumps flags of the caller's (the trace's timestamps need
 * more than the result file's nine digits). */
int write_json_atomically_as(json_t *doc, const char *path, size_t flags, char *err, size_t errlen);
/* Fail now, before measuring, if the file cannot be written. */
int check_output_writable(const char *path, char *err, size_t errlen);

/* save.c: writes the result file as it stands (the caller owns the
 * document); after a failed save it tries no more, and save_has_failed says
 * so; report_failed_save says the cause and what the file holds. */
json_t *save_progress(struct bench_run *run);
bool save_has_failed(void);
void report_failed_save(const struct bench_run *run);

/* measure.c: one run of the cell (0, or -1 with the cell's error set and the
 * result freed); its checks; what the cell keeps of a good run. */
int measure_once(struct bench_run *run, struct cell *c, struct sample *s, struct run_result *rr);
int verify_checksum(struct cell *c, const struct run_result *rr);
void keep_run(struct cell *c, const struct sample *s, struct run_result *rr, bool counted);

/* progress.c: one run done (failed_now: it failed the cell; cell_done: its last). */
void progress(struct bench_run *run, const struct cell *c, const char *phase, bool failed_now,
              bool cell_done);
/* "workload[:variant] strategy n=N" */
void cell_label(const struct cell *c, char *buf, size_t len);

/* watchdog.c: SIGINT and SIGTERM let the run in flight end, then stop; the
 * watchdog ends the process when a run outlives --cell-timeout. */
void catch_stop_signals(void);
int stop_signal_received(void); /* the first stop signal, 0 before one */
int watchdog_start(pthread_t *tid);
void watchdog_arm(struct bench_run *run, struct cell *c);
/* Returns holding the watchdog's lock, so that the cell is not written while the
 * watchdog reads it; watchdog_release lets go. */
void watchdog_disarm(void);
void watchdog_release(void);
void watchdog_stop(pthread_t tid);

/* matrix.c */
int build_cells(struct bench_run *run, char *err, size_t errlen);
int matrix_add_cell(struct bench_run *run, struct bench_workload *bw, const struct runner_ops *r,
                    int workers, int ballast_mb, char *err, size_t errlen);
void shuffle_cells(struct cell **order, int n, uint64_t *rng);

/* suite.c: the default suite's cells beyond the plain matrix. */
int suite_workload_sweep(const struct bench_run *run, const struct bench_workload *bw, int *out);
int suite_add_ballast_sweep(struct bench_run *run, char *err, size_t errlen);
bool suite_leaves_out(const struct bench_run *run, const struct bench_workload *bw,
                      const struct runner_ops *r, int workers);
void suite_add_release_gil_variant(struct bench_run *run);
/* The task-size sweep's variants (at most SUITE_TASK_SIZES): the same total
 * work cut into more, smaller tasks (readers/tasksweep.c reads them back). */
#define SUITE_TASK_SIZES 6
void suite_add_task_size_sweep(struct bench_run *run);

/* sizing.c: the sizes that follow the machine, the calibration, the budget. */
int sizing_max_workers(const struct bench_run *run);
/* The run's sizing of a workload before its set-up: at least 8 tasks per
 * worker at the run's largest worker count, on the parameters -p left. */
void sizing_apply(const struct bench_run *run, struct bench_workload *bw);
/* A variant with sizes of its own (the python sizes): as many tasks per worker
 * as sizing_apply gives, or as many as the same work allows where a task has
 * a least size (WORKLOAD_KEEP_WORK); the calibration never grows it. */
void sizing_apply_tasks(const struct bench_run *run, struct bench_workload *bw);
/* Calibrate every cell (and grow the CPU workloads' work where pool start-up
 * demands it), then fit the run into cfg.budget_s. 0, or -1 with err. */
int sizing_plan(struct bench_run *run, char *err, size_t errlen);
/* --list-cells with the estimates. */
void sizing_print_cells(const struct bench_run *run, FILE *out);
/* Seconds of the plan left: the estimated runs not yet done. */
double sizing_remaining_s(const struct bench_run *run);
json_t *sizing_to_json(const struct bench_run *run);
json_t *sizing_workload_json(const struct bench_workload *bw);
/* python_suite.c: the workloads' python-sizes variants for the py-* cells. */
int suite_add_python_variants(struct bench_run *run, char *err, size_t errlen);

/* server.c */
int start_fixture_server(struct bench_run *run, struct bench_workload *bw);
void stop_fixture_server(struct bench_workload *bw);

/* machine.c */
json_t *machine_to_json(hwloc_topology_t topology, const double load_avg[3]);
json_t *tool_to_json(void);
void machine_hostname(char *buf, size_t len);
/* The scaling governor of the first allowed CPU, or NULL where there is none (VMs). */
const char *machine_governor(char *buf, size_t len);
/* Raise RLIMIT_NOFILE, read the load; warn about what may skew the figures. */
void note_machine_warnings(struct bench_run *run);

/* summary.c */
void print_summary(const struct bench_run *run, FILE *out);

/* driver.c */
int cmd_run(int argc, char **argv);

/* list.c */
int cmd_list(int argc, char **argv);

#endif
