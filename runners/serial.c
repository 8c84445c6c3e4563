/* serial: the tasks one after another on the calling thread, the baseline every
 * speedup is measured against (a plain for-loop in Python). */
#include "runners/runner.h"
#include "lib/trace.h"

static int serial_run(const struct run_spec *spec, struct run_result *res)
{
	const struct workload *w = spec->workload;
	struct trace_buffer *tb = trace_name_lane(spec->trace, 0, "worker 0");
	struct task_ctx ctx = {.hooks = tb ? &trace_io_hooks : NULL, .lock_state = tb, .worker = 0};
	hwloc_bitmap_t saved = thread_binding_save(spec->topology);
	double created = monotonic_now();

	worker_bind(spec->topology, spec->cpus[0]);
	res->worker[0].planned_cpu = spec->cpus[0];
	res->worker[0].startup_s = monotonic_now() - created;
	for (size_t i = 0; i < res->tasks_total; i++)
		res->task[i] = trace_timed_task(w, i, &ctx, tb);
	res->worker[0].tasks = res->tasks_total;
	res->worker[0].observed_cpu = worker_observe_cpu(spec->topology);

	thread_binding_restore(spec->topology, saved);
	return 0;
}

const struct runner_ops serial_runner = {
    .name = "serial",
    .description = "the tasks one after another on the main thread",
    .python_analogue = "a plain for-loop",
    .single_worker = true,
    .single_thread = true,
    .run = serial_run,
};
