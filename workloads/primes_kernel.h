/* The primes kernel: trial division, integer ALU only.
 *
 * It lives in a header so that the workload and the bare-kernel benchmark
 * (bench/bare_primes.c) compile the very same loop; the bare one passes a NULL
 * context and the check point folds away, which is what "harness overhead" is
 * measured against. */
#ifndef CONCBENCH_PRIMES_KERNEL_H
#define CONCBENCH_PRIMES_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "workloads/workload.h"

#define PRIMES_DEFAULT_LIMIT 5000000
#define PRIMES_DEFAULT_TASKS 64

static inline bool primes_is_prime(uint32_t n)
{
	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	for (uint32_t d = 3; d <= n / d; d += 2)
		if (n % d == 0)
			return false;
	return true;
}

/* Task i of `tasks` covers [lo, hi) of [0, limit): equal widths, so later
 * tasks cost more (larger divisors), an imbalance dynamic hand-out absorbs. */
static inline void primes_task_range(uint64_t limit, uint64_t tasks, uint64_t i, uint32_t *lo,
                                     uint32_t *hi)
{
	*lo = (uint32_t)(limit * i / tasks);
	*hi = (uint32_t)(limit * (i + 1) / tasks);
}

/* A range's contribution to the checksum: its index and its count, mixed. */
static inline uint64_t primes_task_checksum(uint64_t task, uint64_t count)
{
	return checksum_mix((task << 32) ^ count);
}

/* The answer every strategy must reproduce for [0, limit) split in `tasks`
 * ranges, range t contributing as task first_task + t: from a sieve, an
 * algorithm independent of the kernel (workloads/primes.c). 0, or -1 with a
 * one-line reason in err. */
int primes_expected(uint64_t limit, uint64_t tasks, uint64_t first_task, uint64_t *checksum,
                    uint64_t *count, char *err, size_t errlen);

/* The loop back-edge per candidate is the check point: a candidate costs a few
 * hundred nanoseconds on average, like a bytecode loop iteration. */
static inline uint64_t primes_count_range(uint32_t lo, uint32_t hi, struct task_ctx *ctx)
{
	uint64_t count = 0;
	for (uint32_t n = lo; n < hi; n++) {
		task_tick(ctx);
		count += primes_is_prime(n);
	}
	return count;
}

#endif
