/* Every workload, in the order `list` and the default suite show them.
 * Adding one is a new file in workloads/ and one line in WORKLOADS below
 * (docs/architecture.md). */
#include <stddef.h>
#include <string.h>

#include "workloads/workload.h"

/* The table: one line per workload, NAME for the struct workload_ops
 * NAME_workload that workloads/NAME.c defines. */
#define WORKLOADS(X)                                                                               \
	X(primes)                                                                                  \
	X(mandelbrot)                                                                              \
	X(triad)                                                                                   \
	X(sleep)                                                                                   \
	X(mixed)                                                                                   \
	X(files)                                                                                   \
	X(http)

#define DECLARE(name) extern const struct workload_ops name##_workload;
#define ENTRY(name)   &name##_workload,

WORKLOADS(DECLARE)

static const struct workload_ops *const workloads[] = {WORKLOADS(ENTRY) NULL};

const struct workload_ops *const *workload_table(void)
{
	return workloads;
}

const struct workload_ops *workload_find(const char *name)
{
	for (size_t i = 0; workloads[i] != NULL; i++)
		if (strcmp(workloads[i]->name, name) == 0)
			return workloads[i];
	return NULL;
}

const char *workload_kind_name(enum workload_kind kind)
{
	switch (kind) {
	case WORKLOAD_CPU:
		return "cpu";
	case WORKLOAD_IO:
		return "io";
	case WORKLOAD_MIXED:
		return "mixed";
	}
	return "unknown";
}
