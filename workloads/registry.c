/* Every workload, in the order `list` and the default suite show them.
 * Adding one is a new file in workloads/ and one line here. */
#include <stddef.h>
#include <string.h>

#include "workload.h"

extern const struct workload_ops primes_workload;
extern const struct workload_ops mandelbrot_workload;
extern const struct workload_ops triad_workload;
extern const struct workload_ops sleep_workload;
extern const struct workload_ops mixed_workload;
extern const struct workload_ops files_workload;
extern const struct workload_ops http_workload;

static const struct workload_ops *const workloads[] = {
    &primes_workload, &mandelbrot_workload, &triad_workload, &sleep_workload,
    &mixed_workload,  &files_workload,      &http_workload,  NULL,
};

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
