/* py-threads: a concurrent.futures.ThreadPoolExecutor of N threads, in a real Python interpreter
 * (py/executors.py's run_threads, the workload's twin in py/workloads/). */
#include "runners/python.h"
#include "runners/runner.h"

static int py_threads_run(const struct run_spec *spec, struct run_result *res)
{
	return python_run(spec, res, "threads");
}

const struct runner_ops py_threads_runner = {
    .name = "py-threads",
    .description =
        "a concurrent.futures.ThreadPoolExecutor of N threads, in the Python interpreter",
    .python_analogue = "ThreadPoolExecutor(max_workers=N).map(run_task, range(n))",
    .stats_key = "python",
    .params = python_params,
    .aliases = python_aliases,
    .interpreted = true,
    .available = python_available,
    .release = python_release,
    .run = py_threads_run,
};
