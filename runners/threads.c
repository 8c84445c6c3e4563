/* threads: a pool of N pthreads with no lock between them, taking tasks from a
 * shared atomic counter (free-threaded CPython 3.13t, or plain C). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "runners/runner.h"
#include "lib/trace.h"

struct pool {
	const struct run_spec *spec;
	struct run_result *res;
	atomic_size_t next;
	double created; /* when the pool started creating its workers */
};

struct worker_arg {
	struct pool *pool;
	int id;
};

static void *pool_worker(void *p)
{
	struct worker_arg *a = p;
	struct pool *pool = a->pool;
	struct worker_record *rec = &pool->res->worker[a->id];
	struct trace_buffer *tb = trace_lane(pool->spec->trace, a->id);
	/* Traced, the I/O hooks record the worker's I/O sections; else none. */
	struct task_ctx ctx = {
	    .hooks = tb ? &trace_io_hooks : NULL, .lock_state = tb, .worker = a->id};

	worker_bind(pool->spec->topology, pool->spec->cpus[a->id]);
	rec->planned_cpu = pool->spec->cpus[a->id];
	rec->startup_s = monotonic_now() - pool->created;
	for (;;) {
		size_t i = atomic_fetch_add_explicit(&pool->next, 1, memory_order_relaxed);
		if (i >= pool->res->tasks_total)
			break;
		/* Each task writes only its own slot: no lock, no false sharing to speak of. */
		pool->res->task[i] = trace_timed_task(pool->spec->workload, i, &ctx, tb);
		rec->tasks++;
	}
	rec->observed_cpu = worker_observe_cpu(pool->spec->topology);
	return NULL;
}

static int threads_run(const struct run_spec *spec, struct run_result *res)
{
	struct pool pool = {.spec = spec, .res = res, .created = monotonic_now()};
	atomic_init(&pool.next, 0);
	struct worker_arg *arg = calloc((size_t)spec->workers, sizeof(*arg));
	if (arg == NULL) {
		run_result_fail(res, "out of memory for %d threads", spec->workers);
		return -1;
	}
	for (int w = 0; w < spec->workers; w++) {
		arg[w] = (struct worker_arg){.pool = &pool, .id = w};
		trace_name_lane(spec->trace, w, "worker %d", w);
	}
	int started = thread_pool_run(spec->workers, pool_worker, arg, sizeof(*arg), res);
	free(arg);
	return started == spec->workers ? 0 : -1;
}

const struct runner_ops threads_runner = {
    .name = "threads",
    .description = "a pool of N pthreads, no lock",
    .python_analogue = "free-threaded 3.13t, or C",
    .run = threads_run,
};
