/* Result files side by side (readers/machines.c): what differs between their
 * runs, and per file the serial times, best speedups, winners and scaling
 * curves, for `compare` across machines or configurations and `report` of
 * several files. */
#ifndef CONCBENCH_MACHINES_H
#define CONCBENCH_MACHINES_H

#include <stdbool.h>
#include <stdio.h>

#include "readers/resultfile.h"

/* How b's run was configured otherwise than a's (pin policy, quick sizes,
 * reps, warm-up, switch interval, tool version, allowed PUs), "; "-separated;
 * empty when alike. */
void rf_config_differences(const struct result_file *a, const struct result_file *b, char *buf,
                           size_t len);

/* The four side-by-side tables of n files, as text or markdown. */
void rf_side_by_side(FILE *out, const struct result_file *files, int n, bool markdown);

#endif
