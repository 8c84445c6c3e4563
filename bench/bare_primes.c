/* The primes kernel alone: no harness, no runner, no hooks (the NULL context
 * folds the check point away). Its median is the reference that the `serial`
 * cell of `concbench run -w primes` is compared with to read off the harness's
 * overhead; see the README. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "workloads/primes_kernel.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static long parse_positive(const char *flag, const char *text)
{
	char *end;
	long v = strtol(text, &end, 10);
	if (*text == '\0' || *end != '\0' || v < 1) {
		fprintf(stderr, "bare-primes: %s needs a positive integer, not '%s'\n", flag, text);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	long limit = PRIMES_DEFAULT_LIMIT, tasks = PRIMES_DEFAULT_TASKS, reps = 5;
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--limit") == 0)
			limit = parse_positive("--limit", argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--tasks") == 0)
			tasks = parse_positive("--tasks", argv[++i]);
		else if (i + 1 < argc && strcmp(argv[i], "--reps") == 0)
			reps = parse_positive("--reps", argv[++i]);
		else {
			fprintf(stderr, "usage: bare-primes [--limit N] [--tasks N] [--reps N]\n");
			return 2;
		}
	}
	double *wall = calloc((size_t)reps + 1, sizeof(*wall));
	uint64_t count = 0;
	/* Rep 0 is the warm-up, as in `concbench run`. */
	for (long r = 0; r <= reps; r++) {
		double t0 = now_s();
		count = 0;
		for (long t = 0; t < tasks; t++) {
			uint32_t lo, hi;
			primes_task_range((uint64_t)limit, (uint64_t)tasks, (uint64_t)t, &lo, &hi);
			count += primes_count_range(lo, hi, NULL);
		}
		wall[r] = now_s() - t0;
	}
	qsort(wall + 1, (size_t)reps, sizeof(*wall), cmp_double);
	double median = reps % 2 ? wall[1 + reps / 2] : (wall[reps / 2] + wall[1 + reps / 2]) / 2;
	printf("bare primes kernel: limit %ld, %ld tasks, %llu primes, median %.6f s over %ld reps "
	       "(min %.6f, max %.6f)\n",
	       limit, tasks, (unsigned long long)count, median, reps, wall[1], wall[reps]);
	free(wall);
	return 0;
}
