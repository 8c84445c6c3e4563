/* epoll: one thread, one event loop, N tasks in flight (asyncio's selector loop).
 * An I/O workload submits its task to the loop and is called back when done;
 * a CPU workload has no submit, so its task runs inline in a loop callback and
 * blocks the loop, exactly as a CPU-bound coroutine blocks asyncio. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "runner.h"

struct pending {
	struct epoll_run *er;
	size_t task;
	double started;
};

struct epoll_run {
	const struct run_spec *spec;
	struct run_result *res;
	struct loop *loop;
	size_t next, in_flight, finished;
	struct pending *pending; /* one per task */
	struct task_ctx ctx;
};

static void start_more(struct epoll_run *er);

/* The completion callback handed to submit; also ends inline tasks. */
static void task_finished(void *arg, size_t task, struct task_result result)
{
	struct epoll_run *er = arg;
	if (task < er->res->tasks_total) {
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
		*p = (struct pending){.er = er, .task = i, .started = monotonic_now()};
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
	if (er.loop == NULL || er.pending == NULL) {
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
