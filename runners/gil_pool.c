/* gil: a pool of N pthreads sharing one simulated interpreter lock
 * (ThreadPoolExecutor on CPython). The pool is threads.c's, plus a thread
 * state per worker: the task's check points and I/O hooks drive the lock. */
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "runners/gil.h"
#include "runners/runner.h"
#include "lib/trace.h"

struct gil_pool {
	const struct run_spec *spec;
	struct run_result *res;
	struct gil lock;
	struct gil_thread *thread; /* one per worker, cache-line aligned */
	atomic_size_t next;
	double created; /* when the pool started creating its workers */
};

struct gil_worker_arg {
	struct gil_pool *pool;
	int id;
};

static void export_wait(struct run_result *r, const char *prefix, const struct gil_wait_summary *w)
{
	static const char *const field[] = {"count", "total_s", "mean_s", "max_s",
	                                    "p50_s", "p90_s",   "p99_s"};
	const double value[] = {(double)w->count, w->total_s, w->mean_s, w->max_s,
	                        w->p50_s,         w->p90_s,   w->p99_s};
	char name[48];
	for (size_t i = 0; i < sizeof(value) / sizeof(value[0]); i++) {
		snprintf(name, sizeof(name), "%s_%s", prefix, field[i]);
		run_result_stat(r, name, value[i]);
	}
}

/* The counters docs/gil.md lists, flattened into the result's "gil" object. */
static void export_gil_stats(const struct gil_stats *s, struct run_result *r)
{
	char name[48];
	run_result_stat(r, "interval_us", s->interval_us);
	run_result_stat(r, "force_switching", s->force_switching);
	run_result_stat(r, "threads", s->threads);
	run_result_stat(r, "acquisitions", (double)s->acquisitions);
	for (int why = 0; why < GIL_REASONS; why++) {
		snprintf(name, sizeof(name), "acquisitions_%s", gil_reason_name(why));
		run_result_stat(r, name, (double)s->acquisitions_by[why]);
	}
	run_result_stat(r, "forced_switches", (double)s->forced_switches);
	run_result_stat(r, "forced_handed_over", (double)s->forced_handed_over);
	run_result_stat(r, "voluntary_releases", (double)s->voluntary_releases);
	run_result_stat(r, "drop_requests", (double)s->drop_requests);
	run_result_stat(r, "switches", (double)s->switches);
	export_wait(r, "wait", &s->wait);
	snprintf(name, sizeof(name), "wait_%s", gil_reason_name(GIL_AFTER_IO));
	export_wait(r, name, &s->wait_by[GIL_AFTER_IO]);
	snprintf(name, sizeof(name), "wait_%s", gil_reason_name(GIL_AFTER_FORCED_DROP));
	export_wait(r, name, &s->wait_by[GIL_AFTER_FORCED_DROP]);
	run_result_stat(r, "hold_total_s", s->hold_total_s);
	run_result_stat(r, "hold_max_s", s->hold_max_s);
	run_result_stat(r, "forced_slice_median_s", s->forced_slice_median_s);
	run_result_stat(r, "handshakes", (double)s->handshakes);
	run_result_stat(r, "handshake_total_s", s->handshake_total_s);
	run_result_stat(r, "handshake_max_s", s->handshake_max_s);
	run_result_stat(r, "utilisation", s->utilisation);
}

static void hook_tick(struct task_ctx *ctx)
{
	gil_tick(ctx->lock_state);
}

/* The I/O section is traced inside the released stretch, so that the hold,
 * the I/O and the wait after it follow one another without overlapping. */
static void hook_io_begin(struct task_ctx *ctx)
{
	struct gil_thread *t = ctx->lock_state;
	gil_release(t);
	trace_io_begin(t->trace);
}

static void hook_io_end(struct task_ctx *ctx)
{
	struct gil_thread *t = ctx->lock_state;
	trace_io_end(t->trace);
	gil_acquire(t, GIL_AFTER_IO);
}

static const struct task_hooks gil_hooks = {
    .tick = hook_tick,
    .io_begin = hook_io_begin,
    .io_end = hook_io_end,
};

/* The next task's index, taken with the lock released, as queue.get() releases
 * it; the thread's last release (the queue is empty) skips the handshake. */
static size_t next_task_unlocked(struct gil_pool *pool, struct gil_thread *t)
{
	struct gil_handoff h = gil_release_begin(t);
	size_t i = atomic_fetch_add_explicit(&pool->next, 1, memory_order_relaxed);
	if (i >= pool->res->tasks_total)
		return i;
	gil_release_complete(t, h);
	gil_acquire(t, GIL_AFTER_QUEUE);
	return i;
}

static void *gil_pool_worker(void *p)
{
	struct gil_worker_arg *a = p;
	struct gil_pool *pool = a->pool;
	struct worker_record *rec = &pool->res->worker[a->id];
	struct gil_thread *t = &pool->thread[a->id];
	struct task_ctx ctx = {.hooks = &gil_hooks, .lock_state = t, .worker = a->id};
	/* A thread keeps the lock across a task's end, so its tasks go on a lane
	 * of their own, where they nest (trace.h). */
	struct trace_buffer *tasks = trace_lane(pool->spec->trace, pool->spec->workers + a->id);

	worker_bind(pool->spec->topology, pool->spec->cpus[a->id]);
	rec->planned_cpu = pool->spec->cpus[a->id];
	/* A new Python thread holds the lock before it runs any bytecode. */
	gil_acquire(t, GIL_START);
	rec->startup_s = monotonic_now() - pool->created;
	for (;;) {
		size_t i = next_task_unlocked(pool, t);
		if (i >= pool->res->tasks_total)
			break;
		pool->res->task[i] = trace_timed_task(pool->spec->workload, i, &ctx, tasks);
		rec->tasks++;
	}
	rec->observed_cpu = worker_observe_cpu(pool->spec->topology);
	return NULL;
}

static struct gil_thread *alloc_thread_states(int workers)
{
	/* struct gil_thread is 64-byte aligned, so its size is a multiple of 64. */
	size_t size = (size_t)workers * sizeof(struct gil_thread);
	return aligned_alloc(_Alignof(struct gil_thread), size);
}

/* The lock's two settings (docs/gil.md); the old options stay as aliases. */
static const struct param_def gil_params[] = {
    PARAM_INT_DEF("switch_interval_us", 5000, 5000, 1, 10000000,
                  "how long a holder keeps the lock while others wait (sys.setswitchinterval)"),
    PARAM_INT_DEF("force_switching", 1, 1, 0, 1,
                  "1: a dropped lock goes to a waiter (the forced-switch handshake); 0: off"),
    PARAM_END,
};

static const struct runner_alias gil_aliases[] = {
    {.option = "switch-interval-us",
     .key = "switch_interval_us",
     .arg = "US",
     .help = "the gil strategy's switch interval (default 5000)"},
    {.option = "gil-no-force-switch",
     .key = "force_switching",
     .value = "0",
     .help = "the gil without the forced-switch handshake (ablation)"},
    {.option = NULL},
};

static int gil_pool_run(const struct run_spec *spec, struct run_result *res)
{
	unsigned interval = (unsigned)run_spec_param(spec, gil_params, "switch_interval_us");
	bool force = run_spec_param(spec, gil_params, "force_switching") != 0;
	struct gil_pool pool = {.spec = spec, .res = res};

	struct gil_worker_arg *arg = calloc((size_t)spec->workers, sizeof(*arg));
	int started = 0, rc = -1;

	atomic_init(&pool.next, 0);
	pool.thread = alloc_thread_states(spec->workers);
	if (arg == NULL || pool.thread == NULL) {
		run_result_fail(res, "out of memory for %d threads", spec->workers);
		goto out;
	}
	int err = gil_init(&pool.lock, interval, force);
	if (err != 0) {
		run_result_fail(res, "gil_init: %s", strerror(err));
		goto out;
	}
	for (int w = 0; w < spec->workers; w++) {
		gil_thread_init(&pool.thread[w], &pool.lock, w);
		pool.thread[w].trace = trace_name_lane(spec->trace, w, "worker %d", w);
		trace_name_lane(spec->trace, spec->workers + w, "worker %d tasks", w);
	}

	pool.created = monotonic_now();
	for (int w = 0; w < spec->workers; w++)
		arg[w] = (struct gil_worker_arg){.pool = &pool, .id = w};
	started = thread_pool_run(spec->workers, gil_pool_worker, arg, sizeof(*arg), res);
	double wall = monotonic_now() - pool.created;

	struct gil_stats stats;
	gil_collect(&pool.lock, pool.thread, (size_t)started, wall, &stats);
	export_gil_stats(&stats, res);
	gil_destroy(&pool.lock);
	rc = started == spec->workers ? 0 : -1;
out:
	free(pool.thread);

	free(arg);
	return rc;
}

const struct runner_ops gil_runner = {
    .name = "gil",
    .description = "a pool of N pthreads sharing one simulated interpreter lock",
    .python_analogue = "ThreadPoolExecutor on CPython",
    .stats_key = "gil",
    .params = gil_params,
    .aliases = gil_aliases,
    .switch_interval_param = "switch_interval_us",
    .run = gil_pool_run,
};
