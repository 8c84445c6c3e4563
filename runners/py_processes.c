/* py-processes: a ProcessPoolExecutor of N forked processes, in a real Python interpreter
 * (py/executors.py's run_processes, the workload's twin in py/workloads/). */
#include "runners/python.h"
#include "runners/runner.h"

static int py_processes_run(const struct run_spec *spec, struct run_result *res)
{
	return python_run(spec, res, "processes");
}

const struct runner_ops py_processes_runner = {
    .name = "py-processes",
    .description = "a ProcessPoolExecutor of N forked processes, in the Python interpreter",
    .python_analogue = "ProcessPoolExecutor(N, mp_context=get_context('fork')).map(...)",
    .stats_key = "python",
    .params = python_params,
    .aliases = python_aliases,
    .interpreted = true,
    .available = python_available,
    .release = python_release,
    .run = py_processes_run,
};
