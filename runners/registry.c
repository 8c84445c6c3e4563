/* Every strategy, in the order results show them. Adding one is a new file in
 * runners/ and one line in STRATEGIES below (docs/architecture.md). */
#include <stddef.h>
#include <string.h>

#include "runners/runner.h"

/* The table: one line per strategy, NAME for the struct runner_ops NAME_runner
 * that runners/NAME.c defines. */
#define STRATEGIES(X)                                                                              \
	X(serial)                                                                                  \
	X(gil)                                                                                     \
	X(threads)                                                                                 \
	X(processes)                                                                               \
	X(forkserver)                                                                              \
	X(spawn)                                                                                   \
	X(epoll)                                                                                   \
	X(mpi)                                                                                     \
	X(py_serial)                                                                               \
	X(py_threads)                                                                              \
	X(py_processes)                                                                            \
	X(py_asyncio)

#define DECLARE(name) extern const struct runner_ops name##_runner;
#define ENTRY(name)   &name##_runner,

STRATEGIES(DECLARE)

static const struct runner_ops *const runners[] = {STRATEGIES(ENTRY) NULL};

const struct runner_ops *const *runner_table(void)
{
	return runners;
}

void runners_release(const struct workload *w)
{
	for (size_t i = 0; runners[i] != NULL; i++)
		if (runners[i]->release != NULL)
			runners[i]->release(w);
}

const struct runner_ops *runner_find(const char *name)
{
	for (size_t i = 0; runners[i] != NULL; i++)
		if (strcmp(runners[i]->name, name) == 0)
			return runners[i];
	return NULL;
}
