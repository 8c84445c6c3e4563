/* epoll: one thread, one event loop, N tasks in flight (asyncio's selector loop).
 * An I/O workload submits its task to the loop and is called back when done;
 * a CPU workload has no submit, so its task runs inline in a loop callback and
 * blocks the loop, exactly as a CPU-bound coroutine blocks asyncio. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/loop.h"
#include "runners/runner.h"
#include "lib/trace.h"

struct pending {
	struct epoll_run *er;
	size_t task;
	double started;
	int slot;          /* traced: the in-flight lane the task is drawn on */
	uint64_t began_ns; /* traced: when it started */
};

struct epoll_run {
	const struct run_spec *spec;
	struct run_result *res;
	struct loop *loop;
	size_t next, in_flight, finished;
	struct pending *pending; /* one per task */
	struct task_ctx ctx;
	/* Traced only: tasks in flight overlap on the loop's one thread, so each
	 * is drawn on a lane of its own, the lowest free one (trace.h). */
	struct trace *trace;
	int *free_slots, n_free;
};

static void start_more(struct epoll_run *er);

static void trace_task_start(struct epoll_run *er, struct pending *p)
{
	if (er->trace == NULL || er->n_free == 0)
		return;
	p->slot = er->free_slots[--er->n_free];
	p->began_ns = trace_now();
}

static void trace_task_end(struct epoll_run *er, struct pending *p)
{
	if (er->trace == NULL || p->slot < 0)
		return;
	trace_record(trace_lane(er->trace, 1 + p->slot), TRACE_TASK, p->began_ns, trace_now(),
	             (uint32_t)p->task);
	er->free_slots[er->n_free++] = p->slot;
	p->slot = -1;
}

/* Lane 0 is the loop's callbacks, lanes 1.. the slots; the free list is
 * popped from the end, so it holds the slots in falling order. */
static int trace_slots_init(struct epoll_run *er)
{
	struct trace *t = er->spec->trace;
	if (t == NULL)
		return 0;
	er->free_slots = calloc((size_t)er->spec->workers, sizeof(*er->free_slots));
	if (er->free_slots == NULL)
		return -1;
	er->trace = t;
	loop_set_trace(er->loop, trace_name_lane(t, 0, "event loop"));
	for (int k = 0; k < er->spec->workers; k++) {
		trace_name_lane(t, 1 + k, "in flight %d", k);
		er->free_slots[er->n_free++] = er->spec->workers - 1 - k;
	}
	return 0;
}

/* The completion callback handed to submit; also ends inline tasks. */
static void task_finished(void *arg, size_t task, struct task_result result)
{
	struct epoll_run *er = arg;
	if (task < er->res->tasks_total) {
		trace_task_end(er, &er->pending[task]);
		result.latency_s = monotonic_now() - er->pending[task].started;
		result.done = true;
		er->res->task[task] = result;
	}
	er->in_flight--;
	er->finished++;
	if (er->finished == er->res->tasks_total)
		loop_stop(er->loop);
	else
		start_more(er);
}

static void run_inline(struct loop *loop, void *arg)
{
	(void)loop;
	struct pending *p = arg;
	const struct workload *w = p->er->spec->workload;
	task_finished(p->er, p->task, w->ops->run_task(w, p->task, &p->er->ctx));
}

static void fail_task(struct epoll_run *er, size_t i, const char *what)
{
	struct task_result r;
	memset(&r, 0, sizeof(r));
	r.failed = true;
	snprintf(r.error, sizeof(r.error), "%s: %s", what, strerror(errno));
	task_finished(er, i, r);
}

static void start_more(struct epoll_run *er)
{
	const struct workload *w = er->spec->workload;
	while (er->in_flight < (size_t)er->spec->workers && er->next < er->res->tasks_total) {
		size_t i = er->next++;
		struct pending *p = &er->pending[i];
		*p = (struct pending){.er = er, .task = i, .started = monotonic_now(), .slot = -1};
		trace_task_start(er, p);
		er->in_flight++;
		int rc = w->ops->submit != NULL ? w->ops->submit(w, i, er->loop, task_finished, er)
		                                : loop_call_soon(er->loop, run_inline, p);
		if (rc != 0)
			fail_task(er, i, "cannot start task");
	}
}

static int epoll_run(const struct run_spec *spec, struct run_result *res)
{
	struct epoll_run er = {.spec = spec, .res = res, .ctx = {.worker = 0}};
	hwloc_bitmap_t saved = thread_binding_save(spec->topology);
	double created = monotonic_now();
	int rc = 0;

	worker_bind(spec->topology, spec->cpus[0]);
	er.loop = loop_new();
	er.pending = calloc(res->tasks_total ? res->tasks_total : 1, sizeof(*er.pending));
	if (er.loop == NULL || er.pending == NULL || trace_slots_init(&er) != 0) {
		run_result_fail(res, "cannot create the event loop: %s", strerror(errno));
		rc = -1;
		goto out;
	}
	loop_set_concurrency(er.loop, spec->workers);
	res->worker[0].planned_cpu = spec->cpus[0];
	res->worker[0].startup_s = monotonic_now() - created;
	if (res->tasks_total > 0) {
		start_more(&er);
		if (loop_run(er.loop) != 0) {
			run_result_fail(res, "epoll_wait: %s", strerror(errno));
			rc = -1;
		}
	}
	res->worker[0].tasks = er.finished;
	res->worker[0].observed_cpu = worker_observe_cpu(spec->topology);
out:
	loop_free(er.loop);
	free(er.pending);
	free(er.free_slots);
	thread_binding_restore(spec->topology, saved);
	return rc;
}

const struct runner_ops epoll_runner = {
    .name = "epoll",
    .description = "one thread, one epoll loop, N tasks in flight",
    .python_analogue = "asyncio (selector event loop)",
    .single_thread = true,
    .run = epoll_run,
};
