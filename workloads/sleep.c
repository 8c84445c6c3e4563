/* sleep: N waits of D ms each, pure latency (asyncio.sleep / time.sleep).
 * Blocking runners sleep between the I/O hooks, so a lock is released while
 * waiting; the event loop arms a timer instead. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/loop.h"
#include "workloads/workload.h"

static const struct param_def sleep_params[] = {
    PARAM_INT_DEF("tasks", 64, 16, 1, 1000000, "number of waits"),
    PARAM_INT_DEF("ms", 10, 5, 0, 60000, "length of each wait in milliseconds"),
    PARAM_END,
};

struct sleep_state {
	uint64_t tasks, ms;
};

/* Every completed wait contributes a hash of its index, so a lost or doubled
 * wait changes the checksum. */
static uint64_t wait_checksum(size_t i)
{
	return checksum_mix((uint64_t)i);
}

static int sleep_setup(struct workload *w, char *err, size_t errlen)
{
	struct sleep_state *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->tasks = (uint64_t)param_get(&w->params, "tasks");
	st->ms = (uint64_t)param_get(&w->params, "ms");
	w->state = st;
	return 0;
}

static void sleep_teardown(struct workload *w)
{
	free(w->state);
	w->state = NULL;
}

static size_t sleep_task_count(const struct workload *w)
{
	const struct sleep_state *st = w->state;
	return (size_t)st->tasks;
}

static struct task_result completed_wait(size_t i)
{
	struct task_result r;
	memset(&r, 0, sizeof(r));
	r.checksum = wait_checksum(i);
	r.items = 1;
	return r;
}

static struct task_result sleep_run_task(const struct workload *w, size_t i, struct task_ctx *ctx)
{
	const struct sleep_state *st = w->state;
	struct timespec left = {.tv_sec = (time_t)(st->ms / 1000),
	                        .tv_nsec = (long)(st->ms % 1000) * 1000000L};
	task_io_begin(ctx);
	while (nanosleep(&left, &left) != 0 && errno == EINTR)
		;
	task_io_end(ctx);
	return completed_wait(i);
}

struct sleep_wait {
	task_done_fn done;
	void *arg;
	size_t task;
};

static void wait_over(struct loop *loop, void *p)
{
	(void)loop;
	struct sleep_wait *sw = p;
	struct sleep_wait copy = *sw;
	free(sw);
	copy.done(copy.arg, copy.task, completed_wait(copy.task));
}

static int sleep_submit(const struct workload *w, size_t i, struct loop *loop, task_done_fn done,
                        void *arg)
{
	const struct sleep_state *st = w->state;
	struct sleep_wait *sw = malloc(sizeof(*sw));
	if (sw == NULL)
		return -1;
	*sw = (struct sleep_wait){.done = done, .arg = arg, .task = i};
	if (loop_timer_start(loop, st->ms * 1000000u, wait_over, sw) == NULL) {
		free(sw);
		return -1;
	}
	return 0;
}

static bool sleep_expected_checksum(const struct workload *w, uint64_t *out)
{
	const struct sleep_state *st = w->state;
	uint64_t sum = 0;
	for (size_t i = 0; i < st->tasks; i++)
		sum = checksum_combine(sum, wait_checksum(i));
	*out = sum;
	return true;
}

static bool sleep_expected_items(const struct workload *w, uint64_t *out)
{
	const struct sleep_state *st = w->state;
	*out = st->tasks;
	return true;
}

const struct workload_ops sleep_workload = {
    .name = "sleep",
    .kind = WORKLOAD_IO,
    .description = "N waits of D ms each: pure latency (asyncio.sleep)",
    .params = sleep_params,
    .setup = sleep_setup,
    .teardown = sleep_teardown,
    .task_count = sleep_task_count,
    .run_task = sleep_run_task,
    .submit = sleep_submit,
    .expected_checksum = sleep_expected_checksum,
    .expected_items = sleep_expected_items,
    .items_name = "waits",
};
