/* Every strategy, in the order results show them. Adding one is a new file in
 * runners/ and one line here. */
#include <stddef.h>
#include <string.h>

#include "runner.h"

extern const struct runner_ops serial_runner;
extern const struct runner_ops gil_runner;
extern const struct runner_ops threads_runner;
extern const struct runner_ops processes_runner;
extern const struct runner_ops epoll_runner;

static const struct runner_ops *const runners[] = {
    &serial_runner, &gil_runner, &threads_runner, &processes_runner, &epoll_runner, NULL,
};

const struct runner_ops *const *runner_table(void)
{
	return runners;
}

const struct runner_ops *runner_find(const char *name)
{
	for (size_t i = 0; runners[i] != NULL; i++)
		if (strcmp(runners[i]->name, name) == 0)
			return runners[i];
	return NULL;
}
