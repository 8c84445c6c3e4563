/* What a traced run records about tasks (lib/trace.h has the buffers): the
 * I/O hooks of the strategies with no lock, and a timed task as an event. */
#include "lib/trace.h"
#include "runners/runner.h"

/* A lock-free strategy's check points do nothing: only the I/O hooks record. */
static void hook_tick_nothing(struct task_ctx *ctx)
{
	(void)ctx;
}

static void hook_io_begin(struct task_ctx *ctx)
{
	trace_io_begin(ctx->lock_state);
}

static void hook_io_end(struct task_ctx *ctx)
{
	trace_io_end(ctx->lock_state);
}

const struct task_hooks trace_io_hooks = {
    .tick = hook_tick_nothing,
    .io_begin = hook_io_begin,
    .io_end = hook_io_end,
};

struct task_result trace_timed_task(const struct workload *w, size_t i, struct task_ctx *ctx,
                                    struct trace_buffer *b)
{
	if (b == NULL)
		return run_timed_task(w, i, ctx);
	uint64_t start = trace_now();
	struct task_result r = run_timed_task(w, i, ctx);
	trace_record(b, TRACE_TASK, start, trace_now(), (uint32_t)i);
	return r;
}
