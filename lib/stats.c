/* Summary statistics of repeated measurements. Pure functions, no I/O. */
#include "lib/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The coverage the median's interval aims for. */
#define CI_TARGET 0.95
/* ln 2, spelled out because M_LN2 is not part of C11. */
#define LN2 0.69314718055994530942

/* Total order for qsort: NaNs sort last so that the comparator stays consistent
 * (a plain a < b comparison is not a valid ordering once a NaN is present). */
static int cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	if (isnan(a) || isnan(b))
		return isnan(a) - isnan(b);
	return (a > b) - (a < b);
}

/* A sorted heap copy, so callers' arrays stay untouched; NULL when malloc fails. */
static double *sorted_copy(const double *samples, size_t n)
{
	double *s = malloc(n * sizeof *s);

	if (!s)
		return NULL;
	memcpy(s, samples, n * sizeof *s);
	qsort(s, n, sizeof *s, cmp_double);
	return s;
}

/* Median of an already sorted array of n >= 1 values. */
static double sorted_median(const double *s, size_t n)
{
	if (n % 2)
		return s[n / 2];
	return (s[n / 2 - 1] + s[n / 2]) / 2.0;
}

/* P(K = i) for K ~ Binomial(n, 1/2), in log space because 2^-n and C(n, i)
 * leave the range of double long before n reaches 10000. */
static double binom_half_pmf(size_t n, size_t i)
{
	double logc = lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1);

	return exp(logc - (double)n * LN2);
}

/* Coverage of [x_(j), x_(n+1-j)] given cdf = P(K <= j-1). */
static double coverage(double cdf)
{
	return 1.0 - 2.0 * cdf;
}

/* Pick the largest rank j (1-based) whose symmetric interval [x_(j), x_(n+1-j)]
 * still covers the median with probability >= CI_TARGET; falls back to j = 1
 * when even [min, max] is short of it. Stores that interval's coverage. */
static size_t median_ci_rank(size_t n, double *level)
{
	size_t j = 1;
	double cdf = binom_half_pmf(n, 0);

	/* Widening j by one adds P(K = j) to the tail below; stop before the
	 * interval would collapse past the middle (j <= n+1-j). */
	while (2 * (j + 1) <= n + 1) {
		double next = cdf + binom_half_pmf(n, j);

		if (coverage(next) < CI_TARGET)
			break;
		cdf = next;
		j++;
	}
	*level = coverage(cdf);
	return j;
}

static void fill_nan(struct summary *out, size_t n)
{
	out->n = n;
	out->median = out->mean = out->stddev = out->min = out->max = NAN;
	out->mad = out->cv = out->ci_lo = out->ci_hi = out->ci_level = NAN;
}

/* Mean and sample stddev, two-pass for accuracy. Summing the sorted values makes
 * the result independent of the input order, bit for bit. */
static void moments(const double *s, size_t n, struct summary *out)
{
	double sum = 0.0, ss = 0.0;

	for (size_t i = 0; i < n; i++)
		sum += s[i];
	out->mean = sum / (double)n;
	for (size_t i = 0; i < n; i++)
		ss += (s[i] - out->mean) * (s[i] - out->mean);
	out->stddev = n > 1 ? sqrt(ss / (double)(n - 1)) : 0.0;
	out->cv = (n < 2 || out->mean == 0.0) ? NAN : out->stddev / out->mean;
}

/* MAD: overwrites the sorted buffer with |x - median|, so call it last. */
static double mad_in_place(double *s, size_t n, double median)
{
	for (size_t i = 0; i < n; i++)
		s[i] = fabs(s[i] - median);
	qsort(s, n, sizeof *s, cmp_double);
	return sorted_median(s, n);
}

void summarize(const double *samples, size_t n, struct summary *out)
{
	double *s;
	size_t j;

	fill_nan(out, 0);
	if (n == 0)
		return;
	s = sorted_copy(samples, n);
	if (!s) {
		/* Out of memory: keep n so the caller sees data existed but no statistics. */
		fill_nan(out, n);
		return;
	}
	out->n = n;
	out->min = s[0];
	out->max = s[n - 1];
	out->median = sorted_median(s, n);
	moments(s, n, out);
	j = median_ci_rank(n, &out->ci_level);
	out->ci_lo = s[j - 1];
	out->ci_hi = s[n - j];
	out->mad = mad_in_place(s, n, out->median);
	free(s);
}

/* The ranks numpy's "linear" method reads for percentile p of n >= 1 values:
 * the two around p's rank on a 0-based scale spanning [0, n-1]. */
static void ranks_of(size_t n, double p, size_t *lo, size_t *hi, double *frac)
{
	p = fmin(fmax(p, 0.0), 100.0);
	double rank = p / 100.0 * (double)(n - 1);
	*lo = (size_t)floor(rank);
	*hi = *lo + 1 < n ? *lo + 1 : n - 1;
	*frac = rank - (double)*lo;
}

/* Percentile p of n >= 1 values sorted, or selected at p's ranks. */
static double sorted_percentile(const double *s, size_t n, double p)
{
	size_t lo, hi;
	double frac;
	if (isnan(p))
		return NAN;
	ranks_of(n, p, &lo, &hi, &frac);
	return s[lo] + frac * (s[hi] - s[lo]);
}

double percentile(const double *samples, size_t n, double p)
{
	double v;
	percentiles(samples, n, &p, &v, 1);
	return v;
}

static void swap_doubles(double *a, double *b)
{
	double t = *a;
	*a = *b;
	*b = t;
}

/* Reorders a[lo, hi) so that a[k] holds the value a sort would put there,
 * nothing after it smaller and nothing before it larger (Hoare's selection,
 * median-of-three pivots; the order is cmp_double's, NaNs last). */
static void select_rank(double *a, ptrdiff_t lo, ptrdiff_t hi, ptrdiff_t k)
{
	while (hi - lo > 1) {
		ptrdiff_t mid = lo + (hi - lo) / 2, last = hi - 1;
		if (cmp_double(&a[mid], &a[lo]) < 0)
			swap_doubles(&a[mid], &a[lo]);
		if (cmp_double(&a[last], &a[mid]) < 0) {
			swap_doubles(&a[last], &a[mid]);
			if (cmp_double(&a[mid], &a[lo]) < 0)
				swap_doubles(&a[mid], &a[lo]);
		}
		double pivot = a[mid];
		ptrdiff_t i = lo, j = last;
		while (i <= j) {
			while (cmp_double(&a[i], &pivot) < 0)
				i++;
			while (cmp_double(&a[j], &pivot) > 0)
				j--;
			if (i <= j)
				swap_doubles(&a[i++], &a[j--]);
		}
		/* a[lo, j] <= pivot <= a[i, hi), and what lies between equals it */
		if (k <= j)
			hi = j + 1;
		else if (k >= i)
			lo = i;
		else
			return;
	}
}

static int cmp_size(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	return (a > b) - (a < b);
}

#define SELECT_MAX_P 8 /* more percentiles than this at once: one sort instead */

/* A copy of the samples in which the ranks the k percentiles read hold what a
 * sort would put there: each rank selected in turn, in ascending order, from
 * what lies above the last one (more than SELECT_MAX_P: sorted). A run of the
 * default suite keeps millions of task latencies per cell and saves them
 * after every repetition, where a sort cost seconds in all. */
static double *selected_copy(const double *samples, size_t n, const double *p, size_t k)
{
	if (k > SELECT_MAX_P)
		return sorted_copy(samples, n);
	double *s = malloc(n * sizeof *s);
	size_t ranks[2 * SELECT_MAX_P], m = 0;
	if (s == NULL)
		return NULL;
	memcpy(s, samples, n * sizeof *s);
	for (size_t i = 0; i < k; i++) {
		double frac;
		if (!isnan(p[i])) {
			ranks_of(n, p[i], &ranks[m], &ranks[m + 1], &frac);
			m += 2;
		}
	}
	qsort(ranks, m, sizeof ranks[0], cmp_size);
	for (size_t i = 0; i < m; i++)
		if (i == 0 || ranks[i] != ranks[i - 1])
			select_rank(s, i == 0 ? 0 : (ptrdiff_t)ranks[i - 1] + 1, (ptrdiff_t)n,
			            (ptrdiff_t)ranks[i]);
	return s;
}

void percentiles(const double *samples, size_t n, const double *p, double *out, size_t k)
{
	double *s = n > 0 ? selected_copy(samples, n, p, k) : NULL;
	for (size_t i = 0; i < k; i++)
		out[i] = s != NULL ? sorted_percentile(s, n, p[i]) : NAN;
	free(s);
}

/* a / b, or NAN when the inputs cannot give a meaningful ratio. */
double median_of(const double *samples, size_t n)
{
	if (n == 0)
		return NAN;
	double *s = sorted_copy(samples, n);
	if (s == NULL)
		return NAN;
	double m = sorted_median(s, n);
	free(s);
	return m;
}

static double safe_ratio(double a, double b)
{
	if (!isfinite(a) || !isfinite(b) || b == 0.0)
		return NAN;
	return a / b;
}

struct ratio speedup_of(const struct summary *base, const struct summary *cell)
{
	struct ratio r = {NAN, NAN, NAN};

	if (!base || !cell)
		return r;
	r.value = safe_ratio(base->median, cell->median);
	/* Conservative: pair the pessimistic ends of both intervals. */
	r.lo = safe_ratio(base->ci_lo, cell->ci_hi);
	r.hi = safe_ratio(base->ci_hi, cell->ci_lo);
	return r;
}

double mean_of(const double *v, size_t n)
{
	double sum = 0.0;

	if (n == 0)
		return NAN;
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	return sum / (double)n;
}

/* The standard normal's 97.5th percentile. */
#define Z95 1.959963984540054

struct interval wilson_interval(size_t k, size_t n)
{
	struct interval r = {NAN, NAN};

	if (n == 0 || k > n)
		return r;
	double nn = (double)n, p = (double)k / nn, z2 = Z95 * Z95;
	double denom = 1.0 + z2 / nn;
	double centre = (p + z2 / (2.0 * nn)) / denom;
	double half = Z95 / denom * sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn));
	r.lo = fmax(0.0, centre - half);
	r.hi = fmin(1.0, centre + half);
	return r;
}

/* splitmix64: small, fast and good enough to pick resampling indices. */
static uint64_t splitmix_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The mean of n draws with replacement from v (n < 2^32: the index is the
 * high half of a 32x32-bit product, Lemire's multiply-shift). */
static double resampled_mean(const double *v, size_t n, uint64_t *state)
{
	double sum = 0.0;

	for (size_t i = 0; i < n; i++) {
		uint64_t pick = ((splitmix_next(state) >> 32) * (uint64_t)n) >> 32;
		sum += v[pick];
	}
	return sum / (double)n;
}

struct ratio bootstrap_ratio_of_means(const double *num, size_t n_num, const double *den,
                                      size_t n_den, int resamples, uint64_t seed)
{
	struct ratio r = {NAN, NAN, NAN};
	double mean_num = mean_of(num, n_num), mean_den = mean_of(den, n_den);

	if (n_num == 0 || n_den == 0 || n_num > UINT32_MAX || n_den > UINT32_MAX ||
	    !(mean_num > 0.0) || !(mean_den > 0.0) || resamples < 1)
		return r;
	r.value = mean_num / mean_den;
	double *ratios = malloc((size_t)resamples * sizeof *ratios);
	if (!ratios)
		return r;
	uint64_t state = seed;
	for (int i = 0; i < resamples; i++) {
		double a = resampled_mean(num, n_num, &state);
		double b = resampled_mean(den, n_den, &state);
		ratios[i] = b > 0.0 ? a / b : INFINITY;
	}
	r.lo = percentile(ratios, (size_t)resamples, 2.5);
	r.hi = percentile(ratios, (size_t)resamples, 97.5);
	free(ratios);
	return r;
}
