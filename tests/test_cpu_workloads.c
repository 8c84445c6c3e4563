/* Tests for the CPU workloads mandelbrot and triad (workloads/mandelbrot.c,
 * workloads/triad.c): every strategy computes the known answer, the answer
 * checks catch a wrong one, mandelbrot's bands cost unevenly, triad reports
 * the bytes it moved, and running the kernels with the lock released changes
 * nothing in the answer. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench/placement.h"
#include "runners/runner.h"
#include "workloads/workload.h"

#include "tests/support.h"

/* mandelbrot's pixel hashes, computed once with workloads/mandelbrot.c (a
 * serial run) and kept here independently of its own table. */
#define MANDELBROT_DEFAULT_HASH       UINT64_C(0x2c11910b6bf22c6b) /* 1200x800, 64 bands, 1000 */
#define MANDELBROT_DEFAULT_ITERATIONS UINT64_C(182289196)
#define MANDELBROT_QUICK_HASH         UINT64_C(0x55783c84bc1718d3) /* 400x256, 32 bands, 300 */
#define MANDELBROT_QUICK_ITERATIONS   UINT64_C(6407366)
#define MANDELBROT_QUICK_BANDS        32

/* Small triad runs: arrays far inside the caches, and an element count that
 * is not a multiple of the kernel's chunk, so the tails are exercised. */
#define TRIAD_TASKS    "6"
#define TRIAD_ELEMENTS "100003"
#define TRIAD_PASSES   "3"

struct harness {
	hwloc_topology_t topology;
	struct placement_plan plan;
	struct param_values options; /* the strategy's parameters, at their defaults */
	struct run_spec spec;
	struct run_result result;
};

/* Opens workload `name` with its --quick parameters (or its defaults),
 * overridden by the KEY, VALUE pairs in kv (NULL-terminated). */
static void workload_open(struct workload *w, const char *name, int quick, const char *const *kv)
{
	char err[256] = "";

	memset(w, 0, sizeof(*w));
	w->ops = workload_find(name);
	cr_assert_not_null(w->ops, "workload %s is not registered", name);
	cr_assert_eq(w->ops->kind, WORKLOAD_CPU, "%s", name);
	cr_assert_null(w->ops->submit, "%s: a CPU workload runs inline on the loop", name);
	params_init(&w->params, w->ops->params, quick);
	for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2)
		cr_assert_eq(params_set(&w->params, kv[i], kv[i + 1], err, sizeof(err)), 0, "%s",
		             err);
	cr_assert_eq(w->ops->setup(w, err, sizeof(err)), 0, "%s: %s", name, err);
}

static void workload_close(struct workload *w)
{
	w->ops->teardown(w);
	cr_assert_null(w->state, "teardown leaves no state behind");
}

/* Runs w under strategy `name` with `workers`, unpinned; every task must have
 * run without failing. The caller closes h. */
static void run_under(struct harness *h, const char *name, struct workload *w, int workers)
{
	const struct runner_ops *runner = runner_find(name);
	char err[256] = "";

	cr_assert_not_null(runner, "runner %s is not registered", name);
	int threads = runner->single_thread ? 1 : workers;
	memset(h, 0, sizeof(*h));
	cr_assert_eq(topology_open(&h->topology, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(
	    placement_plan_make(h->topology, PIN_NONE, threads, &h->plan, err, sizeof(err)), 0,
	    "%s", err);
	params_init(&h->options, runner->params, 0);
	h->spec = (struct run_spec){.workload = w,
	                            .workers = workers,
	                            .topology = h->topology,
	                            .cpus = h->plan.cpus,
	                            .params = &h->options};
	size_t tasks = w->ops->task_count(w);
	cr_assert_eq(run_result_init(&h->result, tasks, threads), 0);

	struct run_result *r = &h->result;
	cr_assert_eq(runner->run(&h->spec, r), 0, "%s: %s", name, r->error);
	run_result_finish(r);
	cr_assert_not(r->failed, "%s: %s", name, r->error);
	cr_assert_eq(r->tasks_done, tasks, "%s", name);
	cr_assert_eq(r->tasks_failed, 0, "%s: %s", name, r->error);
}

static void harness_close(struct harness *h)
{
	run_result_free(&h->result);
	placement_plan_free(&h->plan);
	hwloc_topology_destroy(h->topology);
}

/* The run's answer must be the workload's expected one. */
static void assert_expected(const struct workload *w, const struct run_result *r, const char *name)
{
	uint64_t want, items;

	cr_assert(w->ops->expected_checksum(w, &want), "%s: no expected checksum", name);
	cr_assert_eq(r->checksum, want, "%s: checksum %#llx, want %#llx", name,
	             (unsigned long long)r->checksum, (unsigned long long)want);
	cr_assert(w->ops->expected_items(w, &items), "%s: no expected %s", name,
	          w->ops->items_name);
	cr_assert_eq(r->items, items, "%s: %llu %s, want %llu", name, (unsigned long long)r->items,
	             w->ops->items_name, (unsigned long long)items);
}

/* mandelbrot */

static void mandelbrot_quick_under(const char *strategy, const char *release_gil)
{
	const char *const kv[] = {"release_gil", release_gil, NULL};
	struct workload w;
	struct harness h;
	uint64_t want;

	workload_open(&w, "mandelbrot", 1, kv);
	cr_assert_eq(w.ops->task_count(&w), MANDELBROT_QUICK_BANDS);
	cr_assert(w.ops->expected_checksum(&w, &want));
	cr_assert_eq(want, MANDELBROT_QUICK_HASH, "the workload's table disagrees with the test");
	run_under(&h, strategy, &w, 2);
	assert_expected(&w, &h.result, strategy);
	cr_assert_eq(h.result.checksum, MANDELBROT_QUICK_HASH, "%s", strategy);
	cr_assert_eq(h.result.items, MANDELBROT_QUICK_ITERATIONS, "%s", strategy);
	cr_assert_eq(h.result.bytes, 0, "%s", strategy);
	if (strcmp(strategy, "gil") == 0 && strcmp(release_gil, "1") == 0)
		cr_assert_geq(run_result_stat_get(&h.result, "voluntary_releases"),
		              MANDELBROT_QUICK_BANDS, "every band releases the lock");
	harness_close(&h);
	workload_close(&w);
}

Test(cpuwork, mandelbrot_serial, .timeout = 60)
{
	mandelbrot_quick_under("serial", "0");
}

Test(cpuwork, mandelbrot_gil, .timeout = 60)
{
	mandelbrot_quick_under("gil", "0");
}

Test(cpuwork, mandelbrot_threads, .timeout = 60)
{
	mandelbrot_quick_under("threads", "0");
}

Test(cpuwork, mandelbrot_processes, .timeout = 60)
{
	mandelbrot_quick_under("processes", "0");
}

Test(cpuwork, mandelbrot_epoll, .timeout = 60)
{
	mandelbrot_quick_under("epoll", "0");
}

Test(cpuwork, mandelbrot_release_gil_same_answer, .timeout = 60)
{
	for (size_t s = 0; s < strategy_count(); s++)
		mandelbrot_quick_under(strategy_names()[s], "1");
}

/* The default set's hash, from a full run (two threads, to halve the time). */
Test(cpuwork, mandelbrot_default_hash, .timeout = 120)
{
	struct workload w;
	struct harness h;
	uint64_t want;

	workload_open(&w, "mandelbrot", 0, NULL);
	cr_assert(w.ops->expected_checksum(&w, &want));
	cr_assert_eq(want, MANDELBROT_DEFAULT_HASH, "the workload's table disagrees with the test");
	run_under(&h, "threads", &w, 2);
	cr_assert_eq(h.result.checksum, MANDELBROT_DEFAULT_HASH, "checksum %#llx",
	             (unsigned long long)h.result.checksum);
	cr_assert_eq(h.result.items, MANDELBROT_DEFAULT_ITERATIONS);
	harness_close(&h);
	workload_close(&w);
}

/* Bands through the middle of the set cost far more than bands along the edge. */
Test(cpuwork, mandelbrot_bands_cost_unevenly, .timeout = 60)
{
	struct workload w;
	struct harness h;

	workload_open(&w, "mandelbrot", 1, NULL);
	run_under(&h, "serial", &w, 1);
	uint64_t items_min = UINT64_MAX, items_max = 0;
	double lat_min = INFINITY, lat_max = 0.0;
	for (size_t i = 0; i < h.result.tasks_total; i++) {
		const struct task_result *t = &h.result.task[i];
		items_min = t->items < items_min ? t->items : items_min;
		items_max = t->items > items_max ? t->items : items_max;
		lat_min = t->latency_s < lat_min ? t->latency_s : lat_min;
		lat_max = t->latency_s > lat_max ? t->latency_s : lat_max;
	}
	cr_assert_gt(items_max, 3 * items_min, "iterations per band: min %llu, max %llu",
	             (unsigned long long)items_min, (unsigned long long)items_max);
	cr_assert_gt(lat_max, 3.0 * lat_min, "band time: min %g s, max %g s", lat_min, lat_max);
	/* The view is symmetric about the real axis: so are the band costs,
	 * and the middle bands cost the most. */
	size_t n = h.result.tasks_total;
	cr_assert_eq(h.result.task[0].items, h.result.task[n - 1].items);
	cr_assert_eq(h.result.task[n / 2 - 1].items, h.result.task[n / 2].items);
	cr_assert_gt(h.result.task[n / 2].items, 10 * h.result.task[0].items);
	harness_close(&h);
	workload_close(&w);
}

/* Parameters outside the table: no expected answer, but every strategy agrees. */
Test(cpuwork, mandelbrot_unknown_parameters_agree, .timeout = 60)
{
	const char *const kv[] = {"width", "160", "height", "100", "bands", "7", NULL};
	uint64_t first = 0, unused;

	for (size_t s = 0; s < strategy_count(); s++) {
		struct workload w;
		struct harness h;

		workload_open(&w, "mandelbrot", 1, kv);
		cr_assert_not(w.ops->expected_checksum(&w, &unused), "not a known parameter set");
		cr_assert_not(w.ops->expected_items(&w, &unused));
		run_under(&h, strategy_names()[s], &w, 2);
		if (s == 0)
			first = h.result.checksum;
		cr_assert_eq(h.result.checksum, first, "%s disagrees with serial",
		             strategy_names()[s]);
		cr_assert_neq(h.result.checksum, MANDELBROT_QUICK_HASH);
		harness_close(&h);
		workload_close(&w);
	}
}

/* A band's checksum depends on which band it is: two runs that differ only in
 * how the rows are cut into bands give different answers. */
Test(cpuwork, mandelbrot_band_index_is_mixed_in)
{
	struct workload w;
	struct task_ctx ctx = {.hooks = NULL};

	workload_open(&w, "mandelbrot", 1, NULL);
	size_t n = w.ops->task_count(&w);
	struct task_result top = w.ops->run_task(&w, 0, &ctx);
	struct task_result bottom = w.ops->run_task(&w, n - 1, &ctx);
	cr_assert_eq(top.items, bottom.items, "mirror-image bands count the same");
	cr_assert_neq(top.checksum, bottom.checksum, "but land on different checksums");
	workload_close(&w);
}

Test(cpuwork, mandelbrot_rejects_more_bands_than_rows)
{
	struct workload w;
	char err[256] = "";

	memset(&w, 0, sizeof(w));
	w.ops = workload_find("mandelbrot");
	params_init(&w.params, w.ops->params, 1);
	cr_assert_eq(params_set(&w.params, "height", "10", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(params_set(&w.params, "bands", "11", err, sizeof(err)), 0, "%s", err);
	cr_assert_neq(w.ops->setup(&w, err, sizeof(err)), 0);
	cr_assert(strstr(err, "bands") != NULL, "%s", err);
	cr_assert_null(w.state);
}

/* triad */

static const char *const triad_small[] = {"tasks",  TRIAD_TASKS,  "elements", TRIAD_ELEMENTS,
                                          "passes", TRIAD_PASSES, NULL};

static void triad_small_under(const char *strategy, const char *release_gil)
{
	const char *const kv[] = {"tasks",        TRIAD_TASKS, "elements",
	                          TRIAD_ELEMENTS, "passes",    TRIAD_PASSES,
	                          "release_gil",  release_gil, NULL};
	struct workload w;
	struct harness h;

	workload_open(&w, "triad", 1, kv);
	run_under(&h, strategy, &w, 2);
	assert_expected(&w, &h.result, strategy);
	uint64_t tasks = 6, elements = 100003, passes = 3;
	cr_assert_eq(h.result.bytes, 3 * sizeof(double) * elements * passes * tasks,
	             "%s: %llu bytes", strategy, (unsigned long long)h.result.bytes);
	for (size_t i = 0; i < h.result.tasks_total; i++)
		cr_assert_eq(h.result.task[i].bytes, 3 * sizeof(double) * elements * passes);
	if (strcmp(strategy, "gil") == 0 && strcmp(release_gil, "1") == 0)
		cr_assert_geq(run_result_stat_get(&h.result, "voluntary_releases"), tasks,
		              "every task releases the lock");
	harness_close(&h);
	workload_close(&w);
}

Test(cpuwork, triad_serial, .timeout = 60)
{
	triad_small_under("serial", "0");
}

Test(cpuwork, triad_gil, .timeout = 60)
{
	triad_small_under("gil", "0");
}

Test(cpuwork, triad_threads, .timeout = 60)
{
	triad_small_under("threads", "0");
}

Test(cpuwork, triad_processes, .timeout = 60)
{
	triad_small_under("processes", "0");
}

Test(cpuwork, triad_epoll, .timeout = 60)
{
	triad_small_under("epoll", "0");
}

Test(cpuwork, triad_release_gil_same_answer, .timeout = 60)
{
	for (size_t s = 0; s < strategy_count(); s++)
		triad_small_under(strategy_names()[s], "1");
}

/* The --quick set: arrays larger than the caches, huge pages where allowed. */
Test(cpuwork, triad_quick_set, .timeout = 60)
{
	struct workload w;
	struct harness h;

	workload_open(&w, "triad", 1, NULL);
	run_under(&h, "processes", &w, 2);
	assert_expected(&w, &h.result, "processes");
	cr_assert_gt(h.result.bytes, 0);
	harness_close(&h);
	workload_close(&w);
}

/* The check itself: one element of one task off by one, and the run's
 * checksum no longer matches, wherever the element is. */
Test(cpuwork, triad_checksum_sees_one_element, .timeout = 60)
{
	static const char *const where[] = {"0", "1", "255", "256", "50000", "100002"};
	uint64_t want = 0, clean = 0;

	for (size_t k = 0; k <= sizeof(where) / sizeof(where[0]); k++) {
		const char *fault = k == 0 ? "-1" : where[k - 1];
		const char *const kv[] = {"tasks",         TRIAD_TASKS, "elements",
		                          TRIAD_ELEMENTS,  "passes",    TRIAD_PASSES,
		                          "fault_element", fault,       NULL};
		struct workload w;
		struct harness h;

		workload_open(&w, "triad", 1, kv);
		cr_assert(w.ops->expected_checksum(&w, &want));
		run_under(&h, "serial", &w, 1);
		if (k == 0) {
			clean = h.result.checksum;
			cr_assert_eq(clean, want, "the clean run matches");
		} else {
			cr_assert_neq(h.result.checksum, want, "element %s changed, unseen", fault);
			cr_assert_neq(h.result.checksum, clean);
		}
		harness_close(&h);
		workload_close(&w);
	}
}

/* Each task's answer depends on its index: the inputs differ per task and the
 * index is mixed in, so results landing on the wrong task change the sum. */
Test(cpuwork, triad_tasks_differ)
{
	struct workload w;
	struct task_ctx ctx = {.hooks = NULL};

	workload_open(&w, "triad", 1, triad_small);
	struct task_result r0 = w.ops->run_task(&w, 0, &ctx);
	struct task_result r1 = w.ops->run_task(&w, 1, &ctx);
	struct task_result r0_again = w.ops->run_task(&w, 0, &ctx);
	cr_assert_not(r0.failed, "%s", r0.error);
	cr_assert_neq(r0.checksum, r1.checksum);
	cr_assert_eq(r0.checksum, r0_again.checksum, "a task's answer is deterministic");
	workload_close(&w);
}

/* The default set is sized to leave the last-level cache: 3 arrays of doubles
 * per task over 64 MiB, beyond any L3 of a laptop or a small VM. */
Test(cpuwork, triad_default_arrays_leave_the_cache)
{
	struct workload w;

	workload_open(&w, "triad", 0, NULL);
	int64_t elements = param_get(&w.params, "elements");
	cr_assert_gt(3 * 8 * elements, INT64_C(64) << 20, "%lld elements", (long long)elements);
	cr_assert_geq(param_get(&w.params, "passes"), 5);
	workload_close(&w);
}
