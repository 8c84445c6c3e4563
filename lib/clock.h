/* The clock every timing in concbench reads: CLOCK_MONOTONIC, which no
 * wall-clock step moves. */
#ifndef CONCBENCH_CLOCK_H
#define CONCBENCH_CLOCK_H

/* Seconds since an arbitrary start, on CLOCK_MONOTONIC. */
double monotonic_now(void);

#endif
