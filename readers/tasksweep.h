/* The task-size sweep read back from a result document: the same total work
 * cut into more, smaller tasks (cells whose variant is "task_size:tasks=N",
 * bench/suite.c), each strategy's speedup and efficiency against the measured
 * task size, and the crossover: the task size below which each process start
 * method falls under half of threads' speedup. */
#ifndef CONCBENCH_TASKSWEEP_H
#define CONCBENCH_TASKSWEEP_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

/* The variant prefix that marks a sweep's cells. */
#define TASK_SWEEP_VARIANT "task_size:"

/* Whether a workload variant's name is one of the sweep's. */
bool task_sweep_variant(const char *variant);
/* Processes lose at a task size where their speedup is wholly under this
 * share of threads'. */
#define TASK_SWEEP_SHARE 0.5

/* The sweep's object for the result file ("task_size_sweep"), or NULL when
 * the document holds no sweep. */
json_t *task_sweep_evaluate(json_t *doc);

/* The table `run` prints at its end: efficiency per task size and strategy,
 * and each start method's crossover. Nothing when sweep is NULL. */
void task_sweep_print(json_t *sweep, FILE *out);

#endif
