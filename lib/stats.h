/* Summary statistics of repeated measurements. Pure functions, no I/O. */
#ifndef CONCBENCH_STATS_H
#define CONCBENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

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

/* The median of n samples (not modified), as summarize computes it; NAN for n == 0. */
double median_of(const double *samples, size_t n);

/* Linear-interpolated percentile p in [0, 100] of n samples (not modified). NAN for n == 0. */
double percentile(const double *samples, size_t n, double p);

/* The k percentiles p[0..k-1] of n samples into out, from one copy. */
void percentiles(const double *samples, size_t n, const double *p, double *out, size_t k);

/* Speedup of `cell` over `base` as the ratio of medians base/cell, and its
 * interval from the two medians' intervals (conservative: lo = base.lo/cell.hi). */
struct ratio {
	double value, lo, hi;
};
struct ratio speedup_of(const struct summary *base, const struct summary *cell);

/* Arithmetic mean of n values; NAN for n == 0. */
double mean_of(const double *v, size_t n);

struct interval {
	double lo, hi;
};

/* Wilson score 95% interval for a share of k successes in n trials (good at
 * shares near 0 and 1, where the normal approximation is not); NAN for n == 0. */
struct interval wilson_interval(size_t k, size_t n);

/* mean(num) / mean(den) and its percentile bootstrap 95% interval: each
 * sample resampled on its own with replacement, `resamples` times, the ratio
 * of the resampled means' 2.5th and 97.5th percentiles. Deterministic for a
 * given seed. NANs when either sample is empty or a mean is not positive. */
struct ratio bootstrap_ratio_of_means(const double *num, size_t n_num, const double *den,
                                      size_t n_den, int resamples, uint64_t seed);

#endif
