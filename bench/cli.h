/* `concbench run`'s command line, parsed into a run_config without side effects
 * so that parsing and its errors can be tested on their own. */
#ifndef CONCBENCH_CLI_H
#define CONCBENCH_CLI_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "bench/placement.h"
#include "runners/runner.h"
#include "bench/trace_file.h"
#include "workloads/workload.h"

#define CLI_MAX_LIST               64
#define CLI_MAX_OVERRIDES          64
#define CLI_MAX_WORKERS            100000
#define CLI_MAX_BALLAST_MB         (64 * 1024)
#define CLI_DEFAULT_CELL_TIMEOUT_S 600

/* -p NAME.KEY=VALUE, for a workload or a strategy (one of the two is set). */
struct param_override {
	const struct workload_ops *workload;
	const struct runner_ops *runner;
	const char *owner; /* the workload's or the strategy's name */
	char key[64];
	char value[PARAM_TEXT_MAX];
};

/* The default suite's time budget in seconds. make bench stays under ten
 * minutes with its build and plots (about 25 s) and with what a run takes
 * beyond its plan (2 to 17% on the 2-core VMs: its bookkeeping, a shared
 * machine's slower minutes; README, "Sizes that follow the machine"). */
#define CLI_DEFAULT_BUDGET_S 460

struct run_config {
	const struct workload_ops *workloads[CLI_MAX_LIST];
	int n_workloads;
	const struct runner_ops *strategies[CLI_MAX_LIST];
	int n_strategies;
	int workers[CLI_MAX_LIST]; /* n_workers == 0: the default sweep */
	int n_workers;
	/* -w not given: the default suite, which adds the cells every claim needs
	 * (a release_gil variant, a parent-memory sweep) to the plain matrix. */
	bool default_suite;
	int ballast_mb[CLI_MAX_LIST]; /* --ballast-mb; n_ballast == 0: none given */
	int n_ballast;
	int reps;
	int warmup;
	enum pin_policy pin;
	/* The switch interval of the strategy that has one (runner_ops'
	 * switch_interval_param) after -p: the convoy's yardstick. 0 when none. */
	unsigned switch_interval_us;
	bool quick;
	bool quiet;
	bool list_cells;   /* print the cells that would run, and stop */
	bool task_sweep;   /* --task-sweep: the task-size sweep beyond the default suite */
	bool no_estimate;  /* --list-cells without the calibration and estimates */
	bool reps_given;   /* -r was given: the budget may not lower it */
	bool warmup_given; /* --warmup was given: the same */
	/* --budget: plan the run to take at most this long (bench/sizing.c); 0:
	 * no budget. budget_given: the user asked, which also calibrates. */
	double budget_s;
	bool budget_given;
	int cell_timeout_s; /* a single run longer than this stops the whole run */
	uint64_t seed;
	char output[PATH_MAX]; /* empty: results/<host>-<UTC time>.json */
	/* --trace FILE: the last counted repetition of each cell the filter
	 * (--trace-cells) names is traced into FILE; empty: no tracing. */
	char trace_path[PATH_MAX];
	struct trace_filter trace_cells;
	size_t trace_events; /* per lane (--trace-buffer, hidden: for the tests) */
	struct param_override overrides[CLI_MAX_OVERRIDES];
	int n_overrides;
};

enum cli_status { CLI_OK = 0, CLI_HELP = 1, CLI_ERROR = -1 };

/* Parse `run`'s arguments (argv[0] is "run"). On CLI_ERROR, err holds one line
 * naming the problem. */
enum cli_status run_config_parse(int argc, char **argv, struct run_config *cfg, char *err,
                                 size_t errlen);
void run_usage(FILE *out);

/* 1, 2, 4, ... up to `cores`, and `cores` itself. */
int default_worker_sweep(int cores, int *out, int max);

/* Apply the config's -p overrides that concern workload ops to pv. */
int apply_overrides(const struct run_config *cfg, const struct workload_ops *ops,
                    struct param_values *pv, char *err, size_t errlen);

/* A strategy's parameters for this run: its defaults (--quick's under --quick)
 * with the -p overrides applied (checked at parse time, so this cannot fail). */
void strategy_params(const struct run_config *cfg, const struct runner_ops *r,
                     struct param_values *pv);

#endif
