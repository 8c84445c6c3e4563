/* Tests for bench/stats.c: every expected value is worked out by hand below. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/stats.h"

#define EPS 1e-12

/* Exact-enough binomial coverage for small n, computed independently of the
 * implementation (iterative products, no lgamma): 1 - 2 * P(K <= j-1),
 * K ~ Binomial(n, 1/2). Fine in double while 2^n and C(n, i) are < 2^64. */
static double coverage_small(unsigned n, unsigned j)
{
	double c = 1.0, cdf = 0.0;

	for (unsigned i = 0; i < j; i++) {
		cdf += c;
		c = c * (double)(n - i) / (double)(i + 1);
	}
	return 1.0 - 2.0 * cdf / ldexp(1.0, (int)n);
}

/* 1, 2, ..., n shuffled deterministically, so value == 1-based rank once sorted. */
static void ranks_shuffled(double *x, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		x[i] = (double)((i * 7u) % n + 1); /* 7 is coprime to the n used here */
}

Test(stats, summarize_skewed_five)
{
	const double x[] = {4, 100, 1, 3, 2};
	struct summary s;

	summarize(x, 5, &s);
	cr_assert_eq(s.n, 5);
	cr_assert_float_eq(s.median, 3.0, EPS);
	cr_assert_float_eq(s.mean, 22.0, EPS); /* (1+2+3+4+100)/5 = 110/5 */
	cr_assert_float_eq(s.min, 1.0, EPS);
	cr_assert_float_eq(s.max, 100.0, EPS);
	/* |x - 3| = 1,97,2,0,1 -> sorted 0,1,1,2,97 -> median 1 */
	cr_assert_float_eq(s.mad, 1.0, EPS);
	/* deviations from 22: -21,-20,-19,-18,78; squares 441+400+361+324+6084 = 7610; /(5-1) */
	double sd = sqrt((21.0 * 21 + 20 * 20 + 19 * 19 + 18 * 18 + 78 * 78) / 4.0);
	cr_assert_float_eq(sd, sqrt(1902.5), EPS);
	cr_assert_float_eq(s.stddev, sd, EPS);
	cr_assert_float_eq(s.cv, sd / 22.0, EPS);
}

Test(stats, summarize_even_length)
{
	const double x[] = {4, 1, 3, 2};
	struct summary s;

	summarize(x, 4, &s);
	cr_assert_float_eq(s.median, 2.5, EPS); /* (2+3)/2 */
	cr_assert_float_eq(s.mean, 2.5, EPS);
	/* |x - 2.5| = 1.5,1.5,0.5,0.5 -> sorted 0.5,0.5,1.5,1.5 -> (0.5+1.5)/2 */
	cr_assert_float_eq(s.mad, 1.0, EPS);
	/* squares 2.25+0.25+0.25+2.25 = 5, /(4-1) */
	cr_assert_float_eq(s.stddev, sqrt(5.0 / 3.0), EPS);
}

Test(stats, summarize_single)
{
	const double x[] = {7.5};
	struct summary s;

	summarize(x, 1, &s);
	cr_assert_eq(s.n, 1);
	cr_assert_float_eq(s.median, 7.5, EPS);
	cr_assert_float_eq(s.mean, 7.5, EPS);
	cr_assert_float_eq(s.min, 7.5, EPS);
	cr_assert_float_eq(s.max, 7.5, EPS);
	cr_assert_float_eq(s.stddev, 0.0, EPS);
	cr_assert_float_eq(s.mad, 0.0, EPS);
	cr_assert(isnan(s.cv), "cv needs n >= 2");
	cr_assert_float_eq(s.ci_lo, 7.5, EPS);
	cr_assert_float_eq(s.ci_hi, 7.5, EPS);
	cr_assert_float_eq(s.ci_level, 0.0, EPS); /* one point covers nothing: 1 - 2*(1/2) */
}

Test(stats, summarize_empty_is_nan)
{
	struct summary s;

	memset(&s, 0, sizeof s);
	s.n = 99;
	summarize(NULL, 0, &s);
	cr_assert_eq(s.n, 0);
	const double f[] = {s.median, s.mean, s.stddev, s.min,   s.max,
	                    s.mad,    s.cv,   s.ci_lo,  s.ci_hi, s.ci_level};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		cr_assert(isnan(f[i]), "field %zu should be NAN, is %g", i, f[i]);
}

Test(stats, cv_nan_when_mean_zero)
{
	const double x[] = {-1, 1};
	struct summary s;

	summarize(x, 2, &s);
	cr_assert_float_eq(s.mean, 0.0, EPS);
	cr_assert_float_eq(s.stddev, sqrt(2.0), EPS); /* (1 + 1) / (2-1) = 2 */
	cr_assert(isnan(s.cv));
}

/* Field by field: bitwise equality is the claim, so no epsilon. */
static void assert_same_summary(const struct summary *a, const struct summary *b)
{
	cr_assert_eq(a->n, b->n);
	cr_assert(a->median == b->median && a->mean == b->mean && a->stddev == b->stddev);
	cr_assert(a->min == b->min && a->max == b->max && a->mad == b->mad && a->cv == b->cv);
	cr_assert(a->ci_lo == b->ci_lo && a->ci_hi == b->ci_hi && a->ci_level == b->ci_level);
}

Test(stats, order_independent)
{
	/* Values whose floating-point sum depends on the order of addition. */
	const double a[] = {0.1, 1e16, 0.3, -1e16, 0.7, 3.3, 2.9, 1.1};
	const double b[] = {3.3, -1e16, 2.9, 0.1, 1.1, 0.7, 1e16, 0.3};
	struct summary sa, sb;

	summarize(a, 8, &sa);
	summarize(b, 8, &sb);
	assert_same_summary(&sa, &sb);
}

Test(stats, input_not_modified)
{
	double x[] = {5, 3, 9, 1, 7};
	double before[5];
	struct summary s;

	memcpy(before, x, sizeof x);
	summarize(x, 5, &s);
	cr_assert(memcmp(x, before, sizeof x) == 0, "summarize reordered its input");
	(void)percentile(x, 5, 50);
	cr_assert(memcmp(x, before, sizeof x) == 0, "percentile reordered its input");
}

Test(stats, ci_n5_falls_back_to_min_max)
{
	const double x[] = {4, 100, 1, 3, 2};
	struct summary s;

	summarize(x, 5, &s);
	cr_assert_float_eq(s.ci_lo, 1.0, EPS);
	cr_assert_float_eq(s.ci_hi, 100.0, EPS);
	/* j = 1: 1 - 2 * C(5,0)/2^5 = 1 - 2/32 */
	cr_assert_float_eq(s.ci_level, 0.9375, EPS);
}

Test(stats, ci_n10_ranks_2_and_9)
{
	double x[10];
	struct summary s;

	ranks_shuffled(x, 10);
	summarize(x, 10, &s);
	cr_assert_float_eq(s.ci_lo, 2.0, EPS);
	cr_assert_float_eq(s.ci_hi, 9.0, EPS);
	/* j = 2: 1 - 2*(C(10,0)+C(10,1))/2^10 = 1 - 2*11/1024 */
	cr_assert_float_eq(s.ci_level, 0.978515625, EPS);
	/* j = 3 would give 1 - 2*(1+10+45)/1024 = 0.890625 < 0.95 */
	cr_assert_lt(coverage_small(10, 3), 0.95);
}

Test(stats, ci_n20_ranks_6_and_15)
{
	double x[20];
	struct summary s;

	ranks_shuffled(x, 20);
	summarize(x, 20, &s);
	cr_assert_float_eq(s.ci_lo, 6.0, EPS);
	cr_assert_float_eq(s.ci_hi, 15.0, EPS);
	/* P(K <= 5) = (1+20+190+1140+4845+15504)/2^20 = 21700/1048576 */
	double cov6 = 1.0 - 2.0 * 21700.0 / 1048576.0;
	cr_assert_float_eq(coverage_small(20, 6), cov6, EPS);
	cr_assert_float_eq(s.ci_level, cov6, EPS);
	cr_assert_float_eq(cov6, 0.95861, 1e-5);
	/* j = 7 adds C(20,6) = 38760: 1 - 2*60460/1048576 = 0.8847 < 0.95 */
	cr_assert_lt(coverage_small(20, 7), 0.95);
}

/* Cross-check the chosen rank against the independent small-n computation. */
Test(stats, ci_rank_is_largest_qualifying_up_to_60)
{
	double x[60];
	struct summary s;

	for (unsigned n = 2; n <= 60; n++) {
		unsigned j = 1;

		while (2 * (j + 1) <= n + 1 && coverage_small(n, j + 1) >= 0.95)
			j++;
		for (unsigned i = 0; i < n; i++)
			x[i] = (double)(n - i); /* descending, value == rank */
		summarize(x, n, &s);
		cr_assert_float_eq(s.ci_lo, (double)j, EPS, "n=%u", n);
		cr_assert_float_eq(s.ci_hi, (double)(n + 1 - j), EPS, "n=%u", n);
		cr_assert_float_eq(s.ci_level, coverage_small(n, j), 1e-9, "n=%u", n);
		if (n >= 6) /* [min, max] reaches 1 - 2/64 > 0.95 from n = 6 */
			cr_assert_geq(s.ci_level, 0.95, "n=%u", n);
	}
}

/* Large n must not overflow: 2^-10000 and C(10000, 5000) are far outside double. */
Test(stats, ci_large_n)
{
	enum { N = 10000 };
	static double x[N];
	struct summary s;

	ranks_shuffled(x, N);
	summarize(x, N, &s);
	cr_assert(isfinite(s.ci_level));
	cr_assert_geq(s.ci_level, 0.95);
	/* one more rank moves the level by about 2*pmf near the bound, ~0.0023 */
	cr_assert_lt(s.ci_level, 0.953);
	cr_assert_float_eq(s.ci_lo + s.ci_hi, (double)(N + 1), EPS, "ranks are symmetric");
	/* normal approximation: j ~ n/2 - 1.96*sqrt(n)/2 = 5000 - 98 = 4902 */
	cr_assert_geq(s.ci_lo, 4895.0);
	cr_assert_leq(s.ci_lo, 4905.0);
}

Test(stats, percentile_linear)
{
	const double x[] = {40, 10, 30, 20};

	cr_assert_float_eq(percentile(x, 4, 0), 10.0, EPS);
	cr_assert_float_eq(percentile(x, 4, 50), 25.0, EPS);  /* rank 1.5: 20 + .5*10 */
	cr_assert_float_eq(percentile(x, 4, 90), 37.0, 1e-9); /* rank 2.7: 30 + .7*10 */
	cr_assert_float_eq(percentile(x, 4, 100), 40.0, EPS);
	cr_assert_float_eq(percentile(x, 4, 25), 17.5, EPS); /* rank 0.75: 10 + .75*10 */
}

Test(stats, percentile_edges)
{
	const double x[] = {40, 10, 30, 20};
	const double one[] = {3.0};

	cr_assert_float_eq(percentile(x, 4, -5), 10.0, EPS, "p clamps to 0");
	cr_assert_float_eq(percentile(x, 4, 150), 40.0, EPS, "p clamps to 100");
	cr_assert_float_eq(percentile(one, 1, 73), 3.0, EPS);
	cr_assert(isnan(percentile(NULL, 0, 50)));
	cr_assert(isnan(percentile(x, 4, NAN)));
}

/* The order statistics worked out the plain way, by sorting: NaNs last. */
static int by_value_nan_last(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;
	if (isnan(a) || isnan(b))
		return isnan(a) - isnan(b);
	return (a > b) - (a < b);
}

static double linear_percentile_of_sorted(const double *s, size_t n, double p)
{
	double rank = p / 100.0 * (double)(n - 1);
	size_t lo = (size_t)floor(rank), hi = lo + 1 < n ? lo + 1 : n - 1;
	return s[lo] + (rank - (double)lo) * (s[hi] - s[lo]);
}

static bool same_double(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

/* percentiles selects the ranks it needs instead of sorting: on arrays of
 * every size up to 300, sorted, reversed, with runs of equal values and with
 * NaNs, each of its figures is the one a sort gives, bit for bit. */
Test(stats, percentiles_are_those_of_a_sort)
{
	static const double ps[] = {50, 90, 99, 100, 0, 25, 50, 12.5};
	double x[300], sorted[300], got[8];
	uint64_t state = 42;
	for (size_t n = 1; n <= 300; n++) {
		for (int kind = 0; kind < 5; kind++) {
			for (size_t i = 0; i < n; i++) {
				state = state * 6364136223846793005u + 1442695040888963407u;
				unsigned r = (unsigned)(state >> 33);
				x[i] = kind == 0   ? (double)(r % 1000) / 7.0
				       : kind == 1 ? (double)i
				       : kind == 2 ? (double)(n - i)
				       : kind == 3 ? (double)(r % 3)
				                   : (r % 5 == 0 ? NAN : (double)(r % 50));
			}
			memcpy(sorted, x, n * sizeof x[0]);
			qsort(sorted, n, sizeof sorted[0], by_value_nan_last);
			percentiles(x, n, ps, got, sizeof ps / sizeof ps[0]);
			for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
				double want = linear_percentile_of_sorted(sorted, n, ps[k]);
				cr_assert(same_double(got[k], want),
				          "n=%zu kind %d p%.1f: %.17g, a sort gives %.17g", n, kind,
				          ps[k], got[k], want);
			}
		}
	}
}

static struct summary with_median(double median, double lo, double hi)
{
	struct summary s;

	memset(&s, 0, sizeof s);
	s.n = 5;
	s.median = median;
	s.ci_lo = lo;
	s.ci_hi = hi;
	return s;
}

Test(stats, speedup_ratio_and_bounds)
{
	struct summary base = with_median(2.0, 1.5, 2.5);
	struct summary cell = with_median(1.0, 0.8, 1.25);
	struct ratio r = speedup_of(&base, &cell);

	cr_assert_float_eq(r.value, 2.0, EPS); /* 2.0 / 1.0 */
	cr_assert_float_eq(r.lo, 1.2, EPS);    /* 1.5 / 1.25: slowest base over slowest cell */
	cr_assert_float_eq(r.hi, 3.125, EPS);  /* 2.5 / 0.8 */
	cr_assert(r.lo <= r.value && r.value <= r.hi);
}

Test(stats, speedup_nan_propagation)
{
	struct summary base = with_median(2.0, 1.5, 2.5);
	struct summary cell = with_median(1.0, 0.8, 1.25);
	struct summary b2 = base, c2 = cell, empty;
	struct ratio r;

	b2.median = NAN;
	r = speedup_of(&b2, &cell);
	cr_assert(isnan(r.value));
	cr_assert_float_eq(r.lo, 1.2, EPS, "other fields unaffected");

	c2.median = 0.0;
	c2.ci_lo = 0.0;
	r = speedup_of(&base, &c2);
	cr_assert(isnan(r.value), "zero divisor");
	cr_assert(isnan(r.hi), "zero ci_lo divisor");
	cr_assert_float_eq(r.lo, 1.2, EPS);

	c2 = cell;
	c2.ci_hi = INFINITY;
	r = speedup_of(&base, &c2);
	cr_assert(isnan(r.lo), "infinite input");

	summarize(NULL, 0, &empty);
	r = speedup_of(&empty, &cell);
	cr_assert(isnan(r.value) && isnan(r.lo) && isnan(r.hi));
}

/* Wilson score intervals from the textbook formula (z = 1.959964), e.g.
 * Newcombe 1998, table I: 0/10 gives [0, 0.2775]. */
Test(stats, wilson_known_values)
{
	struct interval none = wilson_interval(0, 10);
	struct interval half = wilson_interval(5, 10);
	struct interval all = wilson_interval(10, 10);

	cr_assert_float_eq(none.lo, 0.0, 1e-9);
	cr_assert_float_eq(none.hi, 0.277532800, 1e-8);
	cr_assert_float_eq(half.lo, 0.236593091, 1e-8);
	cr_assert_float_eq(half.hi, 0.763406909, 1e-8);
	cr_assert_float_eq(all.lo, 0.722467200, 1e-8);
	cr_assert_float_eq(all.hi, 1.0, 1e-9);
}

Test(stats, wilson_no_trials_is_nan)
{
	struct interval r = wilson_interval(0, 0);

	cr_assert(isnan(r.lo) && isnan(r.hi));
	r = wilson_interval(3, 2);
	cr_assert(isnan(r.lo) && isnan(r.hi), "more successes than trials");
}

Test(stats, mean_of_values)
{
	const double v[] = {1.0, 2.0, 6.0};

	cr_assert_float_eq(mean_of(v, 3), 3.0, EPS);
	cr_assert(isnan(mean_of(v, 0)));
}

Test(stats, bootstrap_identical_constants_give_one)
{
	double a[50], b[80];

	for (size_t i = 0; i < 50; i++)
		a[i] = 0.3;
	for (size_t i = 0; i < 80; i++)
		b[i] = 0.3;
	struct ratio r = bootstrap_ratio_of_means(a, 50, b, 80, 2000, 1);
	cr_assert_float_eq(r.value, 1.0, EPS);
	cr_assert_float_eq(r.lo, 1.0, EPS);
	cr_assert_float_eq(r.hi, 1.0, EPS);
}

/* The same spread of values, one sample three times the other: the interval
 * holds 3, brackets the point estimate, and is reproducible from the seed. */
Test(stats, bootstrap_factor_inside_interval)
{
	double den[200], num[300];

	for (size_t i = 0; i < 200; i++)
		den[i] = 1.0 + (double)((i * 37) % 200) / 100.0;
	for (size_t i = 0; i < 300; i++)
		num[i] = 3.0 * (1.0 + (double)((i * 41) % 300) / 150.0);
	struct ratio r = bootstrap_ratio_of_means(num, 300, den, 200, 2000, 42);
	struct ratio again = bootstrap_ratio_of_means(num, 300, den, 200, 2000, 42);

	cr_assert_float_eq(r.value, 3.0 * (1.0 + 299.0 / 300.0) / (1.0 + 199.0 / 200.0), 1e-9);
	cr_assert(r.lo < 3.0 && 3.0 < r.hi, "[%g, %g] should hold 3", r.lo, r.hi);
	cr_assert(r.lo <= r.value && r.value <= r.hi);
	cr_assert(r.hi - r.lo < 0.6, "[%g, %g] is too wide for 500 values", r.lo, r.hi);
	cr_assert(r.lo == again.lo && r.hi == again.hi, "same seed, same interval");
}

Test(stats, bootstrap_empty_or_zero_mean_is_nan)
{
	const double v[] = {1.0, 2.0}, zero[] = {0.0, 0.0};
	struct ratio r = bootstrap_ratio_of_means(v, 2, v, 0, 2000, 1);

	cr_assert(isnan(r.value) && isnan(r.lo) && isnan(r.hi));
	r = bootstrap_ratio_of_means(v, 2, zero, 2, 2000, 1);
	cr_assert(isnan(r.value), "a zero denominator mean");
}

/* One median: median_of is the one summarize reports. */
Test(stats, median_of_is_the_summary_median)
{
	const double odd[] = {5, 1, 4, 2, 3}, even[] = {0.4, 0.1, 0.3, 0.2};
	struct summary s;

	summarize(odd, 5, &s);
	cr_assert_eq(median_of(odd, 5), s.median);
	cr_assert_eq(median_of(odd, 5), 3);
	summarize(even, 4, &s);
	cr_assert_eq(median_of(even, 4), s.median);
	cr_assert(isnan(median_of(odd, 0)));
	cr_assert_eq(odd[0], 5, "the input is not sorted in place");
}
