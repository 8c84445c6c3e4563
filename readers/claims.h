/* The seed article's claims, judged from the cells of one result document. */
#ifndef CONCBENCH_CLAIMS_H
#define CONCBENCH_CLAIMS_H

#include <jansson.h>

/* The claims[] array for doc: one verdict per claim, each naming the cells and
 * thresholds it used ("confirmed", "refuted", "inconclusive", "not-measured"). */
json_t *claims_evaluate(json_t *doc);

#include <stdio.h>

/* The verdicts as the end of `run` and `claims FILE` print them. */
void claims_print(json_t *claims, FILE *out);
/* The verdicts a run's summary shows: the claims measured on the simulation
 * or the interpreter in full, the others named in one line that points to
 * `concbench claims FILE`; one line alone when none was measured. */
void claims_print_measured(json_t *claims, const char *file, FILE *out);

/* `concbench claims FILE`. */
int cmd_claims(int argc, char **argv);

#endif
