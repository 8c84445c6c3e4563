/* Summary statistics of repeated measurements. Pure functions, no I/O. */
#ifndef CONCBENCH_STATS_H
#define CONCBENCH_STATS_H

#include <stddef.h>

struct summary {
	size_t n;
	double median, mean, stddev, min, max;
	double mad;          /* median absolute deviation from the median (unscaled) */
	double cv;           /* stddev / mean; NAN when mean is 0 or n < 2 */
	double ci_lo, ci_hi; /* distribution-free interval for the median (order statistics) */
	double ci_level;     /* the interval's actual coverage (>= 0.95 where n allows) */
};

/* Summarise n samples (the input is not modified). n == 0 gives all-NAN fields. */
void summarize(const double *samples, size_t n, struct summary *out);

/* Linear-interpolated percentile p in [0, 100] of n samples (not modified). NAN for n == 0. */
double percentile(const double *samples, size_t n, double p);

/* Speedup of `cell` over `base` as the ratio of medians base/cell, and its
 * interval from the two medians' intervals (conservative: lo = base.lo/cell.hi). */
struct ratio {
	double value, lo, hi;
};
struct ratio speedup_of(const struct summary *base, const struct summary *cell);

#endif
