/* What the py-* strategies share (runners/python.c): a real Python
 * interpreter per cell running py/driver.py, the workload's twin in
 * py/workloads/, under one of py/executors.py's executors. The interpreter
 * starts on the cell's first run (its start-up recorded on its own, outside
 * the timed region), stays for the cell's other runs, and ends when the
 * workload's cells are over (runner_ops.release). */
#ifndef CONCBENCH_PYTHON_H
#define CONCBENCH_PYTHON_H

#include <stdbool.h>

#include "runners/runner.h"

/* The strategies' parameters: python (the interpreter; empty: /usr/bin/python3
 * where it exists, else python3 on PATH) and switch_interval_us. */
extern const struct param_def python_params[];
/* --python PATH: the interpreter of all of them. */
extern const struct runner_alias python_aliases[];

/* Run every task of spec->workload once under py/executors.py's `executor`
 * ("serial", "threads", "processes", "asyncio") with spec->workers workers. */
int python_run(const struct run_spec *spec, struct run_result *res, const char *executor);

/* End the interpreters of workload w (all of them for NULL). */
void python_release(const struct workload *w);

/* Whether the default interpreter can be started here. */
bool python_available(void);

/* The interpreter the parameters name, resolved as python_params says. */
const char *python_interpreter(const char *param, char *buf, size_t len);

#endif
