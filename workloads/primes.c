/* primes: count primes below a bound by trial division over disjoint ranges.
 *
 * The expected answer comes from an independent algorithm (a sieve run in
 * setup, outside the timed region), so a strategy that loses, repeats or
 * miscounts a range is caught. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workloads/primes_kernel.h"
#include "workloads/workload.h"

static const struct param_def primes_params[] = {
    PARAM_INT_DEF("limit", PRIMES_DEFAULT_LIMIT, 1000000, 2, 2000000000,
                  "count primes below this bound"),
    PARAM_INT_DEF("tasks", PRIMES_DEFAULT_TASKS, 32, 1, 1000000, "number of equal-width ranges"),
    PARAM_INT_DEF("release_gil", 0, 0, 0, 1,
                  "1: run the kernel with the lock released, as NumPy does"),
    PARAM_END,
};

struct primes_state {
	uint64_t limit, tasks;
	bool release_gil;
	uint64_t expected_checksum;
	uint64_t expected_count;
};

/* Sieve of Eratosthenes, one byte per odd number. */
static unsigned char *sieve_odd_composites(uint64_t limit)
{
	uint64_t half = limit / 2 + 1;
	unsigned char *composite = calloc(half, 1);
	if (composite == NULL)
		return NULL;
	for (uint64_t p = 3; p * p < limit; p += 2)
		if (!composite[p / 2])
			for (uint64_t m = p * p; m < limit; m += 2 * p)
				composite[m / 2] = 1;
	return composite;
}

static bool sieve_is_prime(const unsigned char *composite, uint64_t n)
{
	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	return !composite[n / 2];
}

int primes_expected(uint64_t limit, uint64_t tasks, uint64_t first_task, uint64_t *checksum,
                    uint64_t *count, char *err, size_t errlen)
{
	unsigned char *composite = sieve_odd_composites(limit);
	if (composite == NULL) {
		snprintf(err, errlen, "out of memory for the sieve up to %llu",
		         (unsigned long long)limit);
		return -1;
	}
	*checksum = 0;
	*count = 0;
	for (uint64_t t = 0; t < tasks; t++) {
		uint32_t lo, hi;
		primes_task_range(limit, tasks, t, &lo, &hi);
		uint64_t in_range = 0;
		for (uint64_t n = lo; n < hi; n++)
			in_range += sieve_is_prime(composite, n);
		*count += in_range;
		*checksum =
		    checksum_combine(*checksum, primes_task_checksum(first_task + t, in_range));
	}
	free(composite);
	return 0;
}

static int primes_setup(struct workload *w, char *err, size_t errlen)
{
	struct primes_state *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->limit = (uint64_t)param_get(&w->params, "limit");
	st->tasks = (uint64_t)param_get(&w->params, "tasks");
	st->release_gil = param_get(&w->params, "release_gil") != 0;
	if (st->tasks > st->limit) {
		snprintf(err, errlen, "primes.tasks (%llu) exceeds primes.limit (%llu)",
		         (unsigned long long)st->tasks, (unsigned long long)st->limit);
		free(st);
		return -1;
	}
	if (primes_expected(st->limit, st->tasks, 0, &st->expected_checksum, &st->expected_count,
	                    err, errlen) != 0) {
		free(st);
		return -1;
	}
	w->state = st;
	return 0;
}

/* A fresh worker needs the ranges, not the sieve that checks their answer. */
static int primes_setup_worker(struct workload *w, const int *fds, int n_fds, char *err,
                               size_t errlen)
{
	(void)fds;
	(void)n_fds;
	struct primes_state *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->limit = (uint64_t)param_get(&w->params, "limit");
	st->tasks = (uint64_t)param_get(&w->params, "tasks");
	st->release_gil = param_get(&w->params, "release_gil") != 0;
	w->state = st;
	return 0;
}

static void primes_teardown(struct workload *w)
{
	free(w->state);
	w->state = NULL;
}

static size_t primes_task_count(const struct workload *w)
{
	const struct primes_state *st = w->state;
	return (size_t)st->tasks;
}

static struct task_result primes_run_task(const struct workload *w, size_t i, struct task_ctx *ctx)
{
	const struct primes_state *st = w->state;
	uint32_t lo, hi;
	primes_task_range(st->limit, st->tasks, i, &lo, &hi);
	uint64_t count;
	if (st->release_gil) {
		/* Like a C extension's long loop between Py_BEGIN/END_ALLOW_THREADS:
		 * no check points while the lock is not held. */
		task_io_begin(ctx);
		count = primes_count_range(lo, hi, NULL);
		task_io_end(ctx);
	} else {
		count = primes_count_range(lo, hi, ctx);
	}
	struct task_result r;
	memset(&r, 0, sizeof(r));
	r.checksum = primes_task_checksum(i, count);
	r.items = count;
	return r;
}

static bool primes_expected_checksum(const struct workload *w, uint64_t *out)
{
	const struct primes_state *st = w->state;
	*out = st->expected_checksum;
	return true;
}

static bool primes_expected_items(const struct workload *w, uint64_t *out)
{
	const struct primes_state *st = w->state;
	*out = st->expected_count;
	return true;
}

/* More, narrower ranges for more workers; more work by a higher bound, whose
 * trial divisions cost about limit^1.5 in all (sqrt(n) divisors per prime). */
static void primes_resize(struct workload *w, uint64_t min_tasks, double grow)
{
	int64_t limit = param_get(&w->params, "limit");
	/* trial division costs about sqrt(n) per prime: work grows as limit^1.5 */
	if (grow != WORKLOAD_KEEP_WORK && grow != 1.0)
		params_resize_int(&w->params, "limit",
		                  (int64_t)((double)limit * pow(grow, 2.0 / 3.0)));
	limit = param_get(&w->params, "limit");
	int64_t tasks = param_get(&w->params, "tasks");
	if ((int64_t)min_tasks > tasks)
		params_resize_int(&w->params, "tasks",
		                  (int64_t)min_tasks < limit ? (int64_t)min_tasks : limit);
}

const struct workload_ops primes_workload = {
    .name = "primes",
    .kind = WORKLOAD_CPU,
    .description = "count primes below a bound by trial division (integer ALU)",
    .params = primes_params,
    .setup = primes_setup,
    .teardown = primes_teardown,
    .task_count = primes_task_count,
    .run_task = primes_run_task,
    .submit = NULL,
    .expected_checksum = primes_expected_checksum,
    .expected_items = primes_expected_items,
    .items_name = "primes",
    .setup_worker = primes_setup_worker,
    .resize = primes_resize,
    .python_sizes = "limit=400000,tasks=32",
    .python_quick_sizes = "limit=30000,tasks=16",
};
