/* The simulation's fidelity: the compiled strategies that stand for a Python
 * one against the real interpreter's cells of the same result document (gil
 * against py-threads, processes against py-processes, epoll against
 * py-asyncio, and the convoy of gil against py-threads'). */
#ifndef CONCBENCH_FIDELITY_H
#define CONCBENCH_FIDELITY_H

#include <jansson.h>
#include <stdio.h>

/* The "fidelity" object of the result file, from its cells. */
json_t *fidelity_evaluate(json_t *doc);

/* The table at the end of `run` (nothing when no py-* cell spoke). */
void fidelity_print(json_t *fidelity, FILE *out);

/* "CPython 3.11.2", from the doc's first py-* cell; false when there is none. */
int fidelity_interpreter(json_t *doc, char *buf, size_t len);

#endif
