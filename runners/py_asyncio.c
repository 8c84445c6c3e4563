/* py-asyncio: asyncio, N coroutines in flight (CPU tasks block the loop), in a real Python
 * interpreter (py/executors.py's run_asyncio, the workload's twin in py/workloads/). */
#include "runners/python.h"
#include "runners/runner.h"

static int py_asyncio_run(const struct run_spec *spec, struct run_result *res)
{
	return python_run(spec, res, "asyncio");
}

const struct runner_ops py_asyncio_runner = {
    .name = "py-asyncio",
    .description =
        "asyncio, N coroutines in flight (CPU tasks block the loop), in the Python interpreter",
    .python_analogue = "asyncio.run(gather(*coroutines)) under a Semaphore(N)",
    .single_thread = true,
    .stats_key = "python",
    .params = python_params,
    .aliases = python_aliases,
    .interpreted = true,
    .available = python_available,
    .release = python_release,
    .run = py_asyncio_run,
};
