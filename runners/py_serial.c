/* py-serial: the tasks one after another, in a real Python interpreter
 * (py/executors.py's run_serial, the workload's twin in py/workloads/). */
#include "runners/python.h"
#include "runners/runner.h"

static int py_serial_run(const struct run_spec *spec, struct run_result *res)
{
	return python_run(spec, res, "serial");
}

const struct runner_ops py_serial_runner = {
    .name = "py-serial",
    .description = "the tasks one after another, in the Python interpreter",
    .python_analogue = "for i in range(n): run_task(i)",
    .single_worker = true,
    .single_thread = true,
    .stats_key = "python",
    .params = python_params,
    .aliases = python_aliases,
    .interpreted = true,
    .available = python_available,
    .release = python_release,
    .run = py_serial_run,
};
