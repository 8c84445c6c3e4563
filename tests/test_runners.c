/* Tests for the runners (runners/): every registered strategy runs the
 * primes workload in-process and must get the known answer; the processes
 * runner must report a worker that dies instead of waiting for it. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "bench/placement.h"
#include "runners/runner.h"
#include "workloads/workload.h"

#define PRIMES_LIMIT        "200000"
#define PRIMES_TASKS        16
#define PRIMES_BELOW_200000 17984 /* pi(200000) */

/* What a test needs to call runner->run: the topology, the plan, the spec. */
struct harness {
	hwloc_topology_t topology;
	struct placement_plan plan;
	struct param_values options; /* the strategy's parameters, at their defaults */
	struct run_spec spec;
	struct run_result result;
};

/* How many worker records and planned CPUs a runner uses for `workers`: one
 * for the runners that work on one thread (as the driver's cell_threads). */
static int threads_of(const struct runner_ops *r, int workers)
{
	return r->single_thread ? 1 : workers;
}

static void harness_open(struct harness *h, const struct runner_ops *runner, struct workload *w,
                         int workers, enum pin_policy policy)
{
	char err[256] = "";
	int threads = threads_of(runner, workers);

	memset(h, 0, sizeof(*h));
	cr_assert_eq(topology_open(&h->topology, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(placement_plan_make(h->topology, policy, threads, &h->plan, err, sizeof(err)),
	             0, "%s", err);
	params_init(&h->options, runner->params, 0);
	h->spec = (struct run_spec){.workload = w,
	                            .workers = workers,
	                            .topology = h->topology,
	                            .cpus = h->plan.cpus,
	                            .params = &h->options};
	cr_assert_eq(run_result_init(&h->result, w->ops->task_count(w), threads), 0);
}

static void harness_close(struct harness *h)
{
	run_result_free(&h->result);
	placement_plan_free(&h->plan);
	hwloc_topology_destroy(h->topology);
}

static void primes_open(struct workload *w)
{
	char err[256] = "";

	memset(w, 0, sizeof(*w));
	w->ops = workload_find("primes");
	cr_assert_not_null(w->ops);
	params_init(&w->params, w->ops->params, 1);
	cr_assert_eq(params_set(&w->params, "limit", PRIMES_LIMIT, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(params_set(&w->params, "tasks", "16", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(w->ops->setup(w, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(w->ops->task_count(w), PRIMES_TASKS);
}

static void run_primes(const char *name, int workers, enum pin_policy policy)
{
	const struct runner_ops *runner = runner_find(name);
	struct workload w;
	struct harness h;
	uint64_t want_checksum, want_items;

	cr_assert_not_null(runner, "runner %s is not registered", name);
	primes_open(&w);
	cr_assert(w.ops->expected_checksum(&w, &want_checksum));
	cr_assert(w.ops->expected_items(&w, &want_items));
	cr_assert_eq(want_items, PRIMES_BELOW_200000, "the sieve's count is off");
	harness_open(&h, runner, &w, workers, policy);

	struct run_result *r = &h.result;
	cr_assert_eq(runner->run(&h.spec, r), 0, "%s: %s", name, r->error);
	run_result_finish(r);

	cr_assert_not(r->failed, "%s: %s", name, r->error);
	cr_assert_str_empty(r->error, "%s", name);
	cr_assert_eq(r->tasks_total, PRIMES_TASKS);
	cr_assert_eq(r->tasks_done, PRIMES_TASKS, "%s", name);
	cr_assert_eq(r->tasks_failed, 0, "%s", name);
	cr_assert_eq(r->checksum, want_checksum, "%s: checksum %#llx, want %#llx", name,
	             (unsigned long long)r->checksum, (unsigned long long)want_checksum);
	cr_assert_eq(r->items, PRIMES_BELOW_200000, "%s: %llu primes", name,
	             (unsigned long long)r->items);
	for (size_t i = 0; i < r->tasks_total; i++) {
		cr_assert(r->task[i].done, "%s: task %zu not done", name, i);
		cr_assert_not(r->task[i].failed, "%s: task %zu: %s", name, i, r->task[i].error);
		cr_assert_geq(r->task[i].latency_s, 0.0, "%s: task %zu", name, i);
	}

	int records = threads_of(runner, workers);
	size_t sum = 0;

	cr_assert_eq(r->workers, records);
	for (int k = 0; k < records; k++) {
		const struct worker_record *rec = &r->worker[k];

		sum += rec->tasks;
		cr_assert_eq(rec->planned_cpu, h.plan.cpus[k], "%s: worker %d", name, k);
		cr_assert_geq(rec->startup_s, 0.0, "%s: worker %d", name, k);
		cr_assert_geq(rec->observed_cpu, -1, "%s: worker %d", name, k);
		if (policy == PIN_NONE)
			cr_assert_eq(rec->planned_cpu, -1, "%s: worker %d", name, k);
	}
	cr_assert_eq(sum, PRIMES_TASKS, "%s: the worker records count %zu tasks", name, sum);
	if (strcmp(name, "processes") == 0)
		cr_assert_gt(r->children_max_rss_kib, 0, "the children's peak RSS is missing");
	else
		cr_assert_eq(r->children_max_rss_kib, 0, "%s has no children", name);

	harness_close(&h);
	w.ops->teardown(&w);
	cr_assert_null(w.state, "teardown leaves no state behind");
}

Test(runners, serial_primes_unpinned, .timeout = 60)
{
	run_primes("serial", 1, PIN_NONE);
}

Test(runners, serial_primes_pinned, .timeout = 60)
{
	run_primes("serial", 1, PIN_CORE);
}

Test(runners, threads_primes_unpinned, .timeout = 60)
{
	run_primes("threads", 2, PIN_NONE);
}

Test(runners, threads_primes_pinned, .timeout = 60)
{
	run_primes("threads", 2, PIN_CORE);
}

Test(runners, threads_more_workers_than_tasks, .timeout = 60)
{
	run_primes("threads", 24, PIN_NONE);
}

Test(runners, processes_primes_unpinned, .timeout = 60)
{
	run_primes("processes", 2, PIN_NONE);
}

Test(runners, processes_primes_pinned, .timeout = 60)
{
	run_primes("processes", 2, PIN_CORE);
}

Test(runners, processes_more_workers_than_tasks, .timeout = 60)
{
	run_primes("processes", 20, PIN_NONE);
}

Test(runners, epoll_primes_unpinned, .timeout = 60)
{
	run_primes("epoll", 2, PIN_NONE);
}

Test(runners, epoll_primes_pinned, .timeout = 60)
{
	run_primes("epoll", 2, PIN_CORE);
}

Test(runners, epoll_one_task_in_flight, .timeout = 60)
{
	run_primes("epoll", 1, PIN_NONE);
}

/* Test-only workloads. Each task contributes (i + 1) * 1000003 to the checksum
 * and one item; the fault, where there is one, happens only in a forked child:
 * the parent's pid is saved before the run. */

#define FAULT_TASKS 8

enum fault { FAULT_NONE, FAULT_SIGKILL, FAULT_EXIT7, FAULT_ALL_SIGKILL, FAULT_REPORT };

static pid_t parent_pid;
static enum fault fault;

static const struct param_def no_params[] = {PARAM_END};

static int fault_setup(struct workload *w, char *err, size_t errlen)
{
	(void)w;
	(void)err;
	(void)errlen;
	return 0;
}

static void fault_teardown(struct workload *w)
{
	(void)w;
}

static size_t fault_task_count(const struct workload *w)
{
	(void)w;
	return FAULT_TASKS;
}

static uint64_t fault_task_checksum(size_t i)
{
	return (uint64_t)(i + 1) * 1000003u;
}

static struct task_result fault_run_task(const struct workload *w, size_t i, struct task_ctx *ctx)
{
	(void)w;
	(void)ctx;
	struct task_result r;
	bool in_child = getpid() != parent_pid;

	memset(&r, 0, sizeof(r));
	if (in_child && fault == FAULT_SIGKILL && i == 5)
		raise(SIGKILL);
	if (in_child && fault == FAULT_EXIT7 && i == 3)
		_exit(7);
	if (in_child && fault == FAULT_ALL_SIGKILL)
		raise(SIGKILL);
	if (fault == FAULT_REPORT && i == 3) {
		r.failed = true;
		snprintf(r.error, sizeof(r.error), "the disk is on fire");
		return r;
	}
	r.checksum = fault_task_checksum(i);
	r.items = 1;
	return r;
}

static bool fault_expected_checksum(const struct workload *w, uint64_t *out)
{
	(void)w;
	*out = 0;
	for (size_t i = 0; i < FAULT_TASKS; i++)
		*out = checksum_combine(*out, fault_task_checksum(i));
	return true;
}

static const struct workload_ops crash_workload = {
    .name = "crash",
    .kind = WORKLOAD_CPU,
    .description = "test only: a task that kills its worker process",
    .params = no_params,
    .setup = fault_setup,
    .teardown = fault_teardown,
    .task_count = fault_task_count,
    .run_task = fault_run_task,
    .submit = NULL,
    .expected_checksum = fault_expected_checksum,
    .expected_items = NULL,
    .items_name = "tasks",
};

/* Runs the crash workload under `name` with `workers` workers and the given
 * fault; returns the finished result in h (the caller closes h). */
static int run_fault(struct harness *h, const char *name, int workers, enum fault f,
                     struct workload *w)
{
	const struct runner_ops *runner = runner_find(name);
	char err[256] = "";

	cr_assert_not_null(runner, "runner %s is not registered", name);
	memset(w, 0, sizeof(*w));
	w->ops = &crash_workload;
	params_init(&w->params, w->ops->params, 0);
	cr_assert_eq(w->ops->setup(w, err, sizeof(err)), 0);
	fault = f;
	parent_pid = getpid();
	harness_open(h, runner, w, workers, PIN_NONE);
	int rc = runner->run(&h->spec, &h->result);
	run_result_finish(&h->result);
	return rc;
}

static void assert_error_mentions(const struct run_result *r, const char *needle)
{
	cr_assert_not_null(strstr(r->error, needle), "error '%s' does not mention '%s'", r->error,
	                   needle);
}

/* The guard works: outside a forked child the crash workload is harmless. */
Test(runners, crash_workload_is_harmless_in_process, .timeout = 20)
{
	struct harness h;
	struct workload w;
	uint64_t want;

	cr_assert_eq(run_fault(&h, "threads", 2, FAULT_SIGKILL, &w), 0);
	cr_assert_not(h.result.failed, "%s", h.result.error);
	cr_assert_eq(h.result.tasks_done, FAULT_TASKS);
	cr_assert(fault_expected_checksum(&w, &want));
	cr_assert_eq(h.result.checksum, want);
	harness_close(&h);
}

Test(runners, processes_without_fault, .timeout = 20)
{
	struct harness h;
	struct workload w;
	uint64_t want;

	cr_assert_eq(run_fault(&h, "processes", 2, FAULT_NONE, &w), 0, "%s", h.result.error);
	cr_assert_not(h.result.failed, "%s", h.result.error);
	cr_assert_eq(h.result.tasks_done, FAULT_TASKS);
	cr_assert_eq(h.result.items, FAULT_TASKS);
	cr_assert(fault_expected_checksum(&w, &want));
	cr_assert_eq(h.result.checksum, want);
	harness_close(&h);
}

Test(runners, processes_reports_a_worker_killed_by_a_signal, .timeout = 20)
{
	struct harness h;
	struct workload w;
	const struct run_result *r = &h.result;

	run_fault(&h, "processes", 2, FAULT_SIGKILL, &w);
	cr_assert(r->failed, "a worker died and the run did not fail");
	assert_error_mentions(r, "signal 9");
	assert_error_mentions(r, "SIGKILL");
	assert_error_mentions(r, "task 5");
	cr_assert_not(r->task[5].done, "task 5 died with its worker");
	/* The surviving worker drains the queue: nothing else is lost. */
	cr_assert_eq(r->tasks_done, FAULT_TASKS - 1);
	for (size_t i = 0; i < FAULT_TASKS; i++)
		if (i != 5)
			cr_assert(r->task[i].done, "task %zu", i);
	harness_close(&h);
}

Test(runners, processes_reports_a_worker_that_exits, .timeout = 20)
{
	struct harness h;
	struct workload w;
	const struct run_result *r = &h.result;

	run_fault(&h, "processes", 2, FAULT_EXIT7, &w);
	cr_assert(r->failed, "a worker exited and the run did not fail");
	assert_error_mentions(r, "status 7");
	assert_error_mentions(r, "task 3");
	cr_assert_not(r->task[3].done);
	cr_assert_eq(r->tasks_done, FAULT_TASKS - 1);
	harness_close(&h);
}

/* Every worker dies on its first task: the run still returns, with nothing done. */
Test(runners, processes_survives_every_worker_dying, .timeout = 20)
{
	struct harness h;
	struct workload w;
	const struct run_result *r = &h.result;

	run_fault(&h, "processes", 2, FAULT_ALL_SIGKILL, &w);
	cr_assert(r->failed);
	assert_error_mentions(r, "SIGKILL");
	cr_assert_eq(r->tasks_done, 0);
	harness_close(&h);
}

/* A task that reports its own failure: the run completes, counts one failed
 * task, and carries its text, whichever strategy ran it. */
static void reported_failure(const char *name, int workers)
{
	struct harness h;
	struct workload w;
	const struct run_result *r = &h.result;

	cr_assert_eq(run_fault(&h, name, workers, FAULT_REPORT, &w), 0, "%s: %s", name, r->error);
	cr_assert_eq(r->tasks_done, FAULT_TASKS, "%s", name);
	cr_assert_eq(r->tasks_failed, 1, "%s", name);
	cr_assert(r->task[3].failed, "%s", name);
	cr_assert_eq(r->items, FAULT_TASKS - 1, "%s", name);
	assert_error_mentions(r, "the disk is on fire");
	assert_error_mentions(r, "task 3");
	harness_close(&h);
}

Test(runners, threads_reports_a_failed_task, .timeout = 20)
{
	reported_failure("threads", 2);
}

Test(runners, serial_reports_a_failed_task, .timeout = 20)
{
	reported_failure("serial", 1);
}

Test(runners, processes_reports_a_failed_task, .timeout = 20)
{
	reported_failure("processes", 2);
}

Test(runners, epoll_reports_a_failed_task, .timeout = 20)
{
	reported_failure("epoll", 2);
}

Test(runners, result_finish_flags_a_task_that_never_ran)
{
	struct run_result r;

	cr_assert_eq(run_result_init(&r, 3, 1), 0);
	cr_assert_eq(r.worker[0].observed_cpu, -1);
	r.task[0] = (struct task_result){.checksum = 5, .items = 2, .bytes = 7, .done = true};
	r.task[2] = (struct task_result){.checksum = 6, .items = 1, .done = true};
	run_result_finish(&r);
	cr_assert(r.failed);
	cr_assert_not_null(strstr(r.error, "task 1"), "%s", r.error);
	cr_assert_eq(r.tasks_done, 2);
	cr_assert_eq(r.checksum, 11);
	cr_assert_eq(r.items, 3);
	cr_assert_eq(r.bytes, 7);
	run_result_free(&r);
	cr_assert_null(r.task);
}

Test(runners, result_fail_keeps_the_first_error)
{
	struct run_result r;

	cr_assert_eq(run_result_init(&r, 1, 1), 0);
	run_result_fail(&r, "first %d", 1);
	run_result_fail(&r, "second %d", 2);
	cr_assert(r.failed);
	cr_assert_str_eq(r.error, "first 1");
	run_result_free(&r);
}
