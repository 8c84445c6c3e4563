/* The runner interface: one strategy per file in runners/, one line each in
 * runners/registry.c. A runner owns scheduling only: no workload knowledge and
 * no JSON. */
#ifndef CONCBENCH_RUNNER_H
#define CONCBENCH_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hwloc.h>

#include "lib/clock.h"
#include "lib/trace.h"
#include "workloads/workload.h"

struct trace;

struct run_spec {
	struct workload *workload;
	int workers;
	hwloc_topology_t topology;
	const int *cpus; /* OS index of the PU for each worker, -1 for unpinned */
	/* The strategy's own parameters (runner_ops.params) as -p NAME.KEY=VALUE
	 * left them; NULL: the defaults. Read them with run_spec_param. */
	const struct param_values *params;
	/* Non-NULL for the repetition `run --trace` records (trace.h): the
	 * runner names the lanes it uses and its workers record into them. */
	struct trace *trace;
};

struct worker_record {
	int planned_cpu;
	int observed_cpu; /* where the worker last ran, -1 when unknown */
	double startup_s; /* from the worker's creation to the start of its first task */
	size_t tasks;
	char host[64]; /* where it ran, for strategies whose workers may be elsewhere (mpi); "" here
	                */
};

/* A strategy's own counters (the gil's), by name: runners stay free of JSON. */
#define RUN_STATS_MAX 64
struct run_stat {
	char name[48];
	double value;
	char text[64]; /* a word instead of a number when not empty (run_result_note) */
};

struct run_result {
	struct task_result *task; /* indexed by task; runners fill these in */
	size_t tasks_total;
	/* Folded from task[] by run_result_finish: */
	uint64_t checksum;
	uint64_t items;
	uint64_t bytes;
	size_t tasks_done;
	size_t tasks_failed;
	struct worker_record *worker; /* malloc'd, workers long */
	int workers;
	/* Summed over forked workers (0 for threads): each child's peak RSS less
	 * what it had inherited at fork, i.e. the memory the worker added. */
	long children_max_rss_kib;
	struct run_stat stat[RUN_STATS_MAX];
	int n_stats;
	bool failed;     /* the run as a whole failed: its figures are void */
	char error[256]; /* the first error, task or run */
	/* Set by a runner that times its own run (the py-* strategies, whose
	 * interpreter starts before the timed region and outlives it): these
	 * figures replace what measure_once takes around runner_ops.run. */
	bool own_usage;
	double own_wall_s, own_user_s, own_sys_s;
	long own_ctx_voluntary, own_ctx_involuntary;
	/* A stream's round trips that the runner measured itself (mixed under a
	 * py-* strategy), malloc'd; has_stream: these replace the workload's
	 * stream_samples. */
	bool has_stream;
	double *stream_alone, *stream_busy;
	size_t n_stream_alone, n_stream_busy;
};

/* A spelling of -p STRATEGY.KEY=VALUE that `run` accepts as an option of its
 * own (kept from before strategies had parameters), e.g. --switch-interval-us. */
struct runner_alias {
	const char *option; /* the long option, without "--"; NULL ends the table */
	const char *key;    /* the parameter it sets */
	const char *value;  /* NULL: the option takes the value; else the value it sets */
	const char *help;   /* `run --help`'s line: "--OPTION[ ARG]" and this */
	const char *arg;    /* the argument's name in that line ("US"), when it takes one */
};

struct runner_ops {
	const char *name;
	const char *description;
	const char *python_analogue;
	/* Runs on one thread whatever the worker count: serial always has one
	 * worker; the loop's "workers" are tasks in flight, not cores. */
	bool single_worker;
	bool single_thread;
	/* The result-file key under which this strategy's run_stat counters go
	 * ("gil"); NULL when it keeps none. */
	const char *stats_key;
	/* Parameters, as a workload's are (workloads/params.h): set with
	 * -p NAME.KEY=VALUE, listed by `concbench list`, written into each of the
	 * strategy's cells as "strategy_params". NULL when it has none. */
	const struct param_def *params;
	const struct runner_alias *aliases; /* NULL or ended by an entry with option NULL */
	/* The parameter, in microseconds, that is the strategy's switch interval,
	 * if it has one: the run's config records it as switch_interval_us, and
	 * the mixed workload's convoy is measured against half of it. */
	const char *switch_interval_param;
	/* Runs the tasks in an interpreter of its own (the py-* strategies,
	 * runners/python.c): at the workload's python sizes, on a variant of
	 * its own (bench/python_suite.c), and not part of `-s all`. */
	bool interpreted;
	/* NULL, or whether the strategy can run here (its interpreter found), so
	 * that the default suite includes it only where it can. */
	bool (*available)(void);
	/* NULL, or: the cells of workload w are over, let go of what the
	 * runner kept between its runs (the interpreters). */
	void (*release)(const struct workload *w);
	/* NULL, or: make ready what the runner keeps between its runs for this
	 * spec (mpi's driver and its pool of ranks for the worker count), called
	 * before each run's clock starts, so that no repetition pays for it,
	 * counted or warm-up, with or without a warm-up run. A no-op when it is
	 * ready. 0, or -1 with err (the cell fails with it). */
	int (*prepare)(const struct run_spec *spec, char *err, size_t errlen);
	/* 0 when the run completed (tasks may still have failed, see tasks_failed);
	 * -1 when it could not, with result->error set. */
	int (*run)(const struct run_spec *spec, struct run_result *result);
	/* Optional: `run` calls start_early for each strategy it will measure
	 * at its very beginning, before any workload is set up or any ballast
	 * held (the forkserver's server starts there), and stop_late at its end.
	 * 0, or -1 with err. */
	int (*start_early)(char *err, size_t errlen);
	void (*stop_late)(void);
	/* NULL when the strategy can run here; else why not, in one line (mpi
	 * without Open MPI). NULL hook: always available. `list` shows the
	 * reason, `-s NAME` fails with it, `-s all` leaves the strategy out. */
	const char *(*unavailable)(void);
	/* NULL when it runs this workload; else why not (the matrix leaves the
	 * cell out and says so). NULL hook: it runs every workload. */
	const char *(*cannot_run)(const struct workload_ops *ops);
	/* Its workers are another program (build/concbench-mpi), not this
	 * process's threads or forks: the in-process tests that walk every
	 * strategy leave it to its own tests (tests/test_mpi.c). */
	bool separate_binary;
	/* The default suite runs it on the CPU workloads at the core count only
	 * (a pool of ranks per worker count costs a spawn each). */
	bool suite_cpu_at_cores;
	/* Its workers set the workload up again from its name and parameters
	 * (forkserver, spawn, mpi; the interpreted ones too), so they run the
	 * workload's own tasks, not a view of some of them: the calibration
	 * (bench/sizing.c) measures such a cell whole. */
	bool fresh_workers;
	/* Its workers are not this process's children (the forkserver's server
	 * forks them; Open MPI's daemon spawns the ranks), so getrusage here
	 * cannot count their CPU time: the cells say nothing of it
	 * (cpu_vs_serial, cores_busy) rather than a near-zero figure. */
	bool workers_cpu_unseen;
};

/* The registry (runners/registry.c). */
const struct runner_ops *const *runner_table(void);
const struct runner_ops *runner_find(const char *name);
/* The workload's cells are over (or its calibration is): every strategy lets
 * go of what it kept between runs of w (the py-* interpreters, which hold the
 * parameters they were started with, a fixture server's address among them). */
void runners_release(const struct workload *w);

/* A strategy parameter for this run: spec->params' value, or the default in
 * defs when spec has none. */
int64_t run_spec_param(const struct run_spec *spec, const struct param_def *defs, const char *key);

/* runners/trace_task.c: tasks on a traced run's timeline (lib/trace.h). */
struct trace_buffer;
/* Task hooks that only record I/O sections, for the strategies with no lock
 * (their ctx->lock_state is then the worker's trace buffer); a tracing
 * strategy's own hooks call trace_io_begin/trace_io_end. */
extern const struct task_hooks trace_io_hooks;

/* run_timed_task, recorded as a task event into b (NULL: not recorded). */
struct task_result trace_timed_task(const struct workload *w, size_t i, struct task_ctx *ctx,
                                    struct trace_buffer *b);

/* Shared by the runners (runners/common.c). */
int run_result_init(struct run_result *r, size_t tasks, int workers);
void run_result_free(struct run_result *r);
/* Fold task[] into the totals; a task that never ran or failed makes the
 * first such error the run's error. */
void run_result_finish(struct run_result *r);
/* Record a named counter; names beyond RUN_STATS_MAX are dropped. */
void run_result_stat(struct run_result *r, const char *name, double value);
/* A counter's value, NAN when the run did not record it. */
double run_result_stat_get(const struct run_result *r, const char *name);
/* Record a named word (an interpreter's implementation, its version). */
void run_result_note(struct run_result *r, const char *name, const char *text);
void run_result_fail(struct run_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Run task i with ctx, timing it into its latency and marking it done. */
struct task_result run_timed_task(const struct workload *w, size_t i, struct task_ctx *ctx);
/* A "kB" line of /proc/self/status ("VmRSS", "VmHWM"), -1 when unreadable. */
long proc_status_kib(const char *field);

/* Start `workers` threads, thread i running fn(args + i * arg_size), and join
 * them all. Returns how many started; a failed pthread_create fails the run
 * (the threads already started drain the queue, but the figures are void). */
int thread_pool_run(int workers, void *(*fn)(void *), void *args, size_t arg_size,
                    struct run_result *res);

/* Pin the calling thread to PU os index cpu (-1: leave it alone). */
int worker_bind(hwloc_topology_t topology, int cpu);
/* For runners that work on the caller's thread: remember its binding, and put it back. */
hwloc_bitmap_t thread_binding_save(hwloc_topology_t topology);
void thread_binding_restore(hwloc_topology_t topology, hwloc_bitmap_t saved);
/* The OS index of the PU the calling thread last ran on, -1 when unknown. */
int worker_observe_cpu(hwloc_topology_t topology);

#endif
