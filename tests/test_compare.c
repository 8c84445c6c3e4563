/* compare, and the Mann-Whitney U test it judges with, on hand-made result
 * files (tests/fixtures/). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "readers/resultfile.h"

#include "tests/support.h"

/* ---- Mann-Whitney U ------------------------------------------------------ */

Test(compare, mann_whitney_exact_small_samples)
{
	double a[] = {1, 2, 3, 4, 5}, b[] = {6, 7, 8, 9, 10};
	/* fully separated 5 against 5: the smallest two-sided p, 2 / C(10, 5) */
	cr_assert_float_eq(mann_whitney_p(a, 5, b, 5), 2.0 / 252, 1e-12);
	cr_assert_float_eq(mann_whitney_p(b, 5, a, 5), 2.0 / 252, 1e-12);
	cr_assert_float_eq(mann_whitney_min_p(5, 5), 2.0 / 252, 1e-12);
	/* 3 against 3 can never go below 0.1 */
	cr_assert_float_eq(mann_whitney_p(a, 3, b, 3), 0.1, 1e-12);
	cr_assert_float_eq(mann_whitney_min_p(3, 3), 0.1, 1e-12);
	/* one pair out of order: U = 1, P(U <= 1) = 2/252 */
	double c[] = {1, 2, 3, 4, 7}, d[] = {6, 8, 9, 10, 11};
	cr_assert_float_eq(mann_whitney_p(c, 5, d, 5), 4.0 / 252, 1e-12);
	/* interleaved: no evidence */
	double e[] = {1, 3, 5, 7, 9}, f[] = {2, 4, 6, 8, 10};
	cr_assert(mann_whitney_p(e, 5, f, 5) > 0.5);
	/* U = 7 of 25 for 5 against 5: P(U <= 7) = 39/252 */
	double g[] = {0.5, 0.7, 0.9, 1.1, 1.3}, h[] = {0.65, 0.91, 1.17, 1.43, 1.69};
	cr_assert_float_eq(mann_whitney_p(g, 5, h, 5), 78.0 / 252, 1e-12);
	/* unequal sizes: 4 against 6 separated, 2 / C(10, 4) */
	double k[] = {1, 2, 3, 4}, l[] = {5, 6, 7, 8, 9, 10};
	cr_assert_float_eq(mann_whitney_p(k, 4, l, 6), 2.0 / 210, 1e-12);
}

Test(compare, mann_whitney_ties_and_large_samples)
{
	double same[] = {1, 1, 1, 1, 1};
	cr_assert_float_eq(mann_whitney_p(same, 5, same, 5), 1.0, 1e-12);
	double a[] = {1, 2, 2, 3, 4}, b[] = {2, 5, 6, 6, 7};
	double p = mann_whitney_p(a, 5, b, 5); /* ties: the normal approximation */
	cr_assert(p > 0.01 && p < 0.1, "p = %g", p);
	cr_assert_float_eq(mann_whitney_p(a, 0, b, 5), 1.0, 1e-12);
	/* 40 against 40, shifted: tiny p; the same samples: p = 1 */
	double x[40], y[40];
	for (int i = 0; i < 40; i++) {
		x[i] = 1 + i * 0.01;
		y[i] = 1.5 + i * 0.01;
	}
	cr_assert(mann_whitney_p(x, 40, y, 40) < 1e-6);
	cr_assert_float_eq(mann_whitney_p(x, 40, x, 40), 1.0, 1e-9);
}

/* ---- compare ---------------------------------------------------------------- */

/* The text table's row for a cell, as one line (static storage). */
static const char *find_row(const char *out, const char *workload, const char *strategy,
                            int workers)
{
	static char line[1024];
	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *eol = strchr(p, '\n');
		snprintf(line, sizeof(line), "%.*s", eol ? (int)(eol - p) : (int)strlen(p), p);
		char w[64], s[64];
		int n;
		if (sscanf(line, " %63s %63s %d", w, s, &n) == 3 && strcmp(w, workload) == 0 &&
		    strcmp(s, strategy) == 0 && n == workers)
			return line;
	}
	cr_assert_fail("no row %s %s %d in:\n%s", workload, strategy, workers, out);
	return NULL;
}

/* The cell with n samples spread 1% either side of its median: enough for one
 * cell's change to survive the correction for the file's 38 comparisons
 * (5 against 5 can reach p 0.008 at best, which 38 tests make q 0.30). */
static void many_samples(json_t *cell, size_t n)
{
	double m = json_number_value(json_object_get(json_object_get(cell, "wall_s"), "median"));
	double v[64];
	json_t *samples = json_object_get(cell, "samples");
	while (json_array_size(samples) < n)
		json_array_append_new(samples, json_deep_copy(json_array_get(samples, 0)));
	for (size_t k = 0; k < n && k < 64; k++)
		v[k] = m * (0.99 + 0.02 * (double)k / (double)(n - 1));
	set_samples(cell, v, n);
}

/* FIXTURE_A with that cell given 12 samples, saved as name; its document. */
static json_t *base_with_many(const char *workload, const char *strategy, int workers,
                              const char *name)
{
	json_t *doc = load_json(FIXTURE_A);
	many_samples(find_cell(doc, workload, strategy, workers), 12);
	save_json(doc, tmp_path(name));
	return doc;
}

static struct output compare(const char *base, const char *other, const char *options)
{
	return sh("%s compare %s %s %s", CONCBENCH_BIN, base, other, options);
}

Test(compare, compare_unchanged_exits_0, .init = make_tmpdir, .fini = remove_tmpdir)
{
	json_t *doc = load_json(FIXTURE_A);
	save_json(doc, tmp_path("copy.json"));
	json_decref(doc);
	struct output o = compare(FIXTURE_A, tmp_path("copy.json"), "--threshold 10");
	cr_assert_eq(o.status, 0, "%s%s", o.out, o.err);
	cr_assert_not_null(strstr(o.out, "same machine: median wall times compared"));
	cr_assert_not_null(strstr(o.out, "geometric mean of NEW/BASE time over 38 cells: 1.000"),
	                   "%s", o.out);
	cr_assert_not_null(strstr(o.out, "0 regressions, 0 improvements beyond 10%"));
	output_free(&o);
}

Test(compare, compare_one_cell_30_percent_slower_exits_1, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	/* 5 against 5 samples: p 0.008, but q 0.30 over the file's 38 cells */
	json_t *doc = load_json(FIXTURE_A);
	scale_cell(find_cell(doc, "primes", "threads", 2), 1.3);
	save_json(doc, tmp_path("slower5.json"));
	json_decref(doc);
	struct output o = compare(FIXTURE_A, tmp_path("slower5.json"), "--threshold 10");
	cr_assert_eq(o.status, 0, "one cell of 38 at p 0.008 is no discovery: %s", o.out);
	const char *row = find_row(o.out, "primes", "threads", 2);
	cr_assert(strstr(row, "0.008  ~") &&
	              strstr(row, "q 0.30 after the correction for 38 cells"),
	          "%s", row);
	cr_assert_not_null(strstr(o.out, "Benjamini-Hochberg"), "%s", o.out);
	output_free(&o);

	/* 12 against 12: p 7e-7, q 3e-5, a regression */
	doc = base_with_many("primes", "threads", 2, "base.json");
	scale_cell(find_cell(doc, "primes", "threads", 2), 1.3);
	save_json(doc, tmp_path("slower.json"));
	json_decref(doc);
	o = compare(tmp_path("base.json"), tmp_path("slower.json"), "--threshold 10");
	cr_assert_eq(o.status, 1, "%s%s", o.out, o.err);
	cr_assert_not_null(strstr(o.out, "REGRESSION"));
	/* the ratio and its interval */
	cr_assert_not_null(strstr(o.out, "1.300 ["), "%s", o.out);
	cr_assert_not_null(strstr(o.out, "regression in NEW: primes threads n=2 is 30.0% slower "
	                                 "(U, p <0.001)"),
	                   "%s", o.out);
	output_free(&o);
	/* beyond a 40% threshold it is no regression: significant, but small */
	o = compare(tmp_path("base.json"), tmp_path("slower.json"), "--threshold 40");
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "slower"));
	output_free(&o);
	/* markdown, for pull requests: the same verdict and exit status */
	o = compare(tmp_path("base.json"), tmp_path("slower.json"),
	            "--threshold 10 --format markdown");
	cr_assert_eq(o.status, 1);
	cr_assert_not_null(strstr(o.out, "## concbench compare"));
	cr_assert_not_null(strstr(o.out, "| primes | threads | 2 | 252 ms | 328 ms | 1.300 ["),
	                   "%s", o.out);
	cr_assert_not_null(strstr(o.out, "- **regression** in NEW: primes threads n=2"));
	output_free(&o);
}

Test(compare, compare_small_slowdowns_improvements_and_noise_exit_0, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	/* everything 5% slower: significant, within the 10% threshold */
	json_t *doc = load_json(FIXTURE_A);
	scale_all(doc, 1.05);
	save_json(doc, tmp_path("five.json"));
	json_decref(doc);
	struct output o = compare(FIXTURE_A, tmp_path("five.json"), "--threshold 10");
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "geometric mean of NEW/BASE time over 38 cells: 1.050"),
	                   "%s", o.out);
	output_free(&o);
	/* but beyond a 3% threshold */
	o = compare(FIXTURE_A, tmp_path("five.json"), "--threshold 3");
	cr_assert_eq(o.status, 1, "%s", o.out);
	output_free(&o);

	/* one cell 30% faster: an improvement, exit 0 */
	doc = base_with_many("sleep", "epoll", 4, "base.json");
	scale_cell(find_cell(doc, "sleep", "epoll", 4), 0.7);
	save_json(doc, tmp_path("faster.json"));
	json_decref(doc);
	o = compare(tmp_path("base.json"), tmp_path("faster.json"), "--threshold 10");
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "improved"));
	cr_assert_not_null(strstr(o.out, "0 regressions, 1 improvement beyond 10%"), "%s", o.out);
	output_free(&o);

	/* noise: every cell's samples reshuffled and jittered by up to 2% */
	doc = load_json(FIXTURE_A);
	size_t i;
	json_t *c;
	static const double jitter[] = {1.02, 0.985, 1.0, 0.99, 1.015};
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		json_t *samples = json_object_get(c, "samples");
		size_t n = json_array_size(samples);
		if (n == 0)
			continue;
		double v[64];
		for (size_t k = 0; k < n; k++)
			v[k] = json_number_value(json_object_get(
			           json_array_get(samples, (k + i) % n), "wall_s")) *
			       jitter[(k + 2 * i) % 5];
		set_samples(c, v, n);
	}
	save_json(doc, tmp_path("noise.json"));
	json_decref(doc);
	o = compare(FIXTURE_A, tmp_path("noise.json"), "--threshold 10");
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "0 regressions, 0 improvements"), "%s", o.out);
	output_free(&o);

	/* 30% slower but within wide, overlapping samples: not significant */
	doc = load_json(FIXTURE_A);
	json_t *cell = find_cell(doc, "primes", "threads", 2);
	double wide[] = {0.15, 0.21, 0.27, 0.33, 0.39};
	set_samples(cell, wide, 5);
	save_json(doc, tmp_path("wide.json"));
	scale_cell(cell, 1.3);
	save_json(doc, tmp_path("wide-slower.json"));
	json_decref(doc);
	o = compare(tmp_path("wide.json"), tmp_path("wide-slower.json"), "--threshold 10");
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "0.310"), "p = 78/252: %s", o.out);
	output_free(&o);
}

Test(compare, compare_judges_an_edited_median_without_its_samples, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	json_t *doc = load_json(FIXTURE_A);
	json_t *wall = json_object_get(find_cell(doc, "primes", "threads", 2), "wall_s");
	json_object_set_new(wall, "median",
	                    json_real(json_number_value(json_object_get(wall, "median")) * 1.3));
	save_json(doc, tmp_path("median.json"));
	json_decref(doc);
	struct output o = compare(FIXTURE_A, tmp_path("median.json"), "--threshold 10");
	cr_assert_eq(o.status, 1, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "judged on the medians"), "%s", o.out);
	output_free(&o);
}

Test(compare, compare_three_samples_use_the_intervals, .init = make_tmpdir, .fini = remove_tmpdir)
{
	/* 3 against 3: the U test cannot reach 0.05, disjoint intervals decide */
	json_t *doc = load_json(FIXTURE_A);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		json_t *samples = json_object_get(c, "samples");
		if (json_array_size(samples) == 0)
			continue;
		double v[3];
		for (size_t k = 0; k < 3; k++)
			v[k] = json_number_value(
			    json_object_get(json_array_get(samples, k), "wall_s"));
		json_array_remove(samples, 4);
		json_array_remove(samples, 3);
		set_samples(c, v, 3);
	}
	save_json(doc, tmp_path("three.json"));
	scale_cell(find_cell(doc, "primes", "threads", 2), 1.3);
	save_json(doc, tmp_path("three-slower.json"));
	json_decref(doc);
	struct output o =
	    compare(tmp_path("three.json"), tmp_path("three-slower.json"), "--threshold 10");
	cr_assert_eq(o.status, 1, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "intervals disjoint"));
	cr_assert_not_null(strstr(o.out, "too few samples for the U test"));
	output_free(&o);
	o = compare(tmp_path("three.json"), tmp_path("three.json"), "--threshold 10");
	cr_assert_eq(o.status, 0, "%s", o.out);
	output_free(&o);
}

/* The row of a side-by-side table that starts with these words, as one line. */
static const char *side_row(const char *out, const char *first, const char *second)
{
	static char line[1024];
	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		const char *eol = strchr(p, '\n');
		snprintf(line, sizeof(line), "%.*s", eol ? (int)(eol - p) : (int)strlen(p), p);
		char a[64], b[64];
		if (sscanf(line, " %63s %63s", a, b) == 2 && strcmp(a, first) == 0 &&
		    strcmp(b, second) == 0)
			return line;
	}
	cr_assert_fail("no row '%s %s' in:\n%s", first, second, out);
	return NULL;
}

Test(compare, compare_across_machines_shows_them_side_by_side, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	/* lab-b: another CPU with 2 cores, 0.8 times the serial time, another
	 * switch interval */
	struct output o = compare(FIXTURE_A, FIXTURE_B, "");
	cr_assert_eq(o.status, 0, "across machines nothing is a regression: %s", o.out);
	cr_assert_not_null(strstr(o.out, "different machines: hostnames differ (lab-a, lab-b)"),
	                   "%s", o.out);
	cr_assert_not_null(strstr(o.out, "different configuration of NEW: switch interval (us) "
	                                 "5000 vs 1000"),
	                   "%s", o.out);
	cr_assert_null(strstr(o.out, "REGRESSION"), "%s", o.out);
	cr_assert_null(strstr(o.out, "improved"), "%s", o.out);
	cr_assert_null(strstr(o.out, "geometric mean"), "no mean across machines: %s", o.out);
	/* per machine: serial times and their ratio, best speedups and where, winners */
	cr_assert_not_null(strstr(side_row(o.out, "primes", "500"), "400 ms    0.800"), "%s",
	                   o.out);
	const char *best = side_row(o.out, "primes", "threads");
	cr_assert_not_null(strstr(best, "3.96x @4"), "%s", best);
	cr_assert_not_null(strstr(best, "1.98x @2"), "%s", best);
	cr_assert_not_null(strstr(o.out, "threads @4 (3.96x)"), "%s", o.out);
	cr_assert_not_null(strstr(o.out, "threads @2 (1.98x)"), "%s", o.out);
	output_free(&o);

	/* --regressions judges anyway, by the speedups: one cell 30% lower with
	 * 12 samples a side survives the correction */
	json_t *doc = base_with_many("sleep", "threads", 2, "base.json");
	json_object_set_new(json_object_get(doc, "machine"), "hostname", json_string("lab-c"));
	scale_all(doc, 0.5); /* a faster machine: every time halved */
	save_json(doc, tmp_path("other-host.json"));
	scale_cell(find_cell(doc, "sleep", "threads", 2), 1.3);
	save_json(doc, tmp_path("other-host-slower.json"));
	json_decref(doc);
	o = compare(tmp_path("base.json"), tmp_path("other-host.json"), "--regressions");
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "geometric mean of BASE/NEW speedup over 35 cells: 1.000"),
	                   "%s", o.out);
	output_free(&o);
	o = compare(tmp_path("base.json"), tmp_path("other-host-slower.json"), "");
	cr_assert_eq(o.status, 0, "%s", o.out);
	output_free(&o);
	o = compare(tmp_path("base.json"), tmp_path("other-host-slower.json"), "--regressions");
	cr_assert_eq(o.status, 1, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "regression in NEW: sleep threads n=2"), "%s", o.out);
	output_free(&o);
	/* --by time compares the times anyway: everything twice as fast */
	o = compare(tmp_path("base.json"), tmp_path("other-host.json"), "--regressions --by time");
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "38 cells: 0.500"), "%s", o.out);
	output_free(&o);
}

Test(compare, compare_of_a_4_core_and_a_64_core_machine_keeps_each_sweep)
{
	/* big-64: 64 cores, 1 to 64 workers, primes sized to 512 tasks */
	struct output o = compare(FIXTURE_A, FIXTURE_BIG, "--format markdown");
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert_not_null(
	    strstr(o.out, "**Different machines**: hostnames differ (lab-a, big-64)"), "%s", o.out);
	cr_assert_null(strstr(o.out, "REGRESSION"));
	/* the server's best cells, at n=64, which lab-a never ran */
	cr_assert_not_null(strstr(o.out, "| primes | threads | 3.96x @4 | 57.60x @64 |"), "%s",
	                   o.out);
	cr_assert_not_null(strstr(o.out, "| primes | threads | 64 | - | 57.60x (n/cores 1) |"),
	                   "%s", o.out);
	/* and lab-a's cells that big-64 lacks */
	cr_assert_not_null(strstr(o.out, "| mixed | threads | 4 | 4.00x (n/cores 1) | - |"), "%s",
	                   o.out);
	cr_assert_not_null(strstr(o.out, "| primes | epoll | 1.00x @1 | - |"), "%s", o.out);
	/* the sizes follow the machines: said beside the serial times */
	cr_assert_not_null(strstr(o.out, "0.700 (sizes differ: tasks=512)"), "%s", o.out);
	output_free(&o);
}

Test(compare, compare_of_another_configuration_names_it_and_exits_0, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	/* lab-b again, measured under taskset -c 0 with --pin single: one core */
	json_t *doc = load_json(FIXTURE_B);
	json_t *config = json_object_get(doc, "config");
	json_object_set_new(config, "pin", json_string("single"));
	json_object_set_new(config, "reps", json_integer(3));
	json_object_set_new(json_object_get(doc, "machine"), "allowed_pus", json_pack("[i]", 0));
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		int n = (int)json_integer_value(json_object_get(c, "workers"));
		if (strcmp(json_string_value(json_object_get(c, "strategy")), "serial") != 0 &&
		    strcmp(json_string_value(json_object_get(c, "kind")), "io") != 0 && n > 1)
			scale_cell(c, (double)n); /* n workers on one PU: no speedup */
	}
	save_json(doc, tmp_path("single.json"));
	json_decref(doc);
	struct output o = compare(FIXTURE_B, tmp_path("single.json"), "");
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "different configuration of NEW: pin policy \"core\" vs "
	                                 "\"single\"; reps 5 vs 3; allowed PUs [0,1] vs [0]"),
	                   "%s", o.out);
	cr_assert_null(strstr(o.out, "REGRESSION"), "%s", o.out);
	cr_assert_null(strstr(o.out, "same machine: median wall times compared"), "%s", o.out);
	const char *best = side_row(o.out, "primes", "threads");
	cr_assert_not_null(strstr(best, "1.98x @2"), "%s", best);
	cr_assert_not_null(strstr(o.out, "pin single"), "%s", o.out);
	output_free(&o);
}

Test(compare, two_identical_runs_of_many_noisy_cells_exit_0, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	/* Two runs of the same code on one machine, 38 cells, 5 samples each,
	 * each sample redrawn with up to 8% noise: uncorrected, some cells would
	 * reach p < 0.05 by chance; corrected, none is a regression. */
	for (unsigned seed = 1; seed <= 10; seed++) {
		json_t *doc = load_json(FIXTURE_A);
		size_t i;
		json_t *c;
		unsigned x = seed * 2654435761u;
		json_array_foreach(json_object_get(doc, "results"), i, c)
		{
			json_t *samples = json_object_get(c, "samples");
			size_t n = json_array_size(samples);
			double v[64];
			for (size_t k = 0; k < n; k++) {
				x = x * 1103515245u + 12345u;
				double noise =
				    1.0 + 0.08 * ((double)(x >> 8 & 0xffff) / 65535.0 - 0.5);
				v[k] = json_number_value(
				           json_object_get(json_array_get(samples, k), "wall_s")) *
				       noise;
			}
			if (n > 0)
				set_samples(c, v, n);
		}
		save_json(doc, tmp_path("again.json"));
		json_decref(doc);
		struct output o = compare(FIXTURE_A, tmp_path("again.json"), "");
		cr_assert_eq(o.status, 0, "seed %u: %s", seed, o.out);
		output_free(&o);
	}
}

Test(compare, compare_more_files_one_column_each, .init = make_tmpdir, .fini = remove_tmpdir)
{
	json_t *doc = base_with_many("primes", "gil", 2, "base.json");
	save_json(doc, tmp_path("same.json"));
	scale_cell(find_cell(doc, "primes", "gil", 2), 1.3);
	save_json(doc, tmp_path("slower.json"));
	json_decref(doc);
	struct output o = sh("%s compare %s %s %s", CONCBENCH_BIN, tmp_path("base.json"),
	                     tmp_path("same.json"), tmp_path("slower.json"));
	cr_assert_eq(o.status, 1, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "#1"));
	cr_assert_not_null(strstr(o.out, "#2"));
	/* the gil row: unchanged in #1, a regression in #2 */
	const char *line = find_row(o.out, "primes", "gil", 2);
	cr_assert_not_null(strstr(line, "1.000 p=1.000 ~"), "%s", line);
	cr_assert_not_null(strstr(line, "1.300 p=<0.001 REGRESSION"), "%s", line);
	output_free(&o);
}

Test(compare, compare_unusable_input_exits_2, .init = make_tmpdir, .fini = remove_tmpdir)
{
	struct output o = compare(FIXTURE_A, BAD_JSON, "");
	cr_assert_eq(o.status, 2);
	cr_assert_not_null(strstr(o.err, BAD_JSON ":5:57:"), "%s", o.err);
	output_free(&o);
	o = compare(WRONG_VER, FIXTURE_A, "");
	cr_assert_eq(o.status, 2);
	output_free(&o);
	o = sh("%s compare " FIXTURE_A, CONCBENCH_BIN);
	cr_assert_eq(o.status, 2);
	output_free(&o);
	o = compare(FIXTURE_A, FIXTURE_A, "--threshold ten");
	cr_assert_eq(o.status, 2);
	cr_assert_not_null(strstr(o.err, "--threshold needs a percentage"));
	output_free(&o);
	/* nothing in common */
	json_t *doc = load_json(FIXTURE_A);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	    json_object_set_new(c, "workload", json_string("other"));
	save_json(doc, tmp_path("other.json"));
	json_decref(doc);
	o = compare(FIXTURE_A, tmp_path("other.json"), "");
	cr_assert_eq(o.status, 2);
	cr_assert_not_null(strstr(o.err, "nothing to compare"), "%s", o.err);
	output_free(&o);
}

Test(compare, compare_on_a_busy_machine_says_so_and_judges_nothing, .init = make_tmpdir,
     .fini = remove_tmpdir)
{
	/* NEW began with a load average of 9 on lab-a's 4 PUs: other work's time is in it */
	json_t *doc = base_with_many("primes", "threads", 2, "base.json");
	json_object_set_new(json_object_get(doc, "machine"), "load_avg",
	                    json_pack("[f,f,f]", 9.0, 8.0, 7.0));
	scale_cell(find_cell(doc, "primes", "threads", 2), 2.0);
	save_json(doc, tmp_path("busy.json"));
	json_decref(doc);
	struct output o = compare(tmp_path("base.json"), tmp_path("busy.json"), "");
	cr_assert_eq(o.status, 0, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "the machine was busy: NEW load average 9.00 on 4 PUs"),
	                   "%s", o.out);
	cr_assert_null(strstr(o.out, "REGRESSION"), "%s", o.out);
	cr_assert_not_null(strstr(find_row(o.out, "primes", "threads", 2), "slower"), "%s", o.out);
	output_free(&o);
	o = compare(tmp_path("base.json"), tmp_path("busy.json"), "--regressions");
	cr_assert_eq(o.status, 1, "%s", o.out);
	cr_assert_not_null(strstr(o.out, "regression in NEW: primes threads n=2"), "%s", o.out);
	output_free(&o);
}
