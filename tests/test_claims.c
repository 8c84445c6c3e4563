/* The claims' verdict logic on hand-made result documents: every verdict is
 * reached from intervals, never from one point. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readers/claims.h"

static json_t *doc_pinned(int cores, const char *pin, json_t *cells)
{
	return json_pack("{s:i, s:{s:{s:i}}, s:{s:i, s:s}, s:o}", "schema_version", 1, "machine",
	                 "topology", "cores", cores, "config", "switch_interval_us", 5000, "pin",
	                 pin, "results", cells);
}

static json_t *doc_with(int cores, json_t *cells)
{
	return doc_pinned(cores, "core", cells);
}

/* A healthy cell of 5 repetitions whose speedup is `speedup` with the 95%
 * interval [lo, hi] and wall-time CV `cv`. */
static json_t *cell_iv(const char *workload, const char *kind, const char *strategy, int workers,
                       double speedup, double lo, double hi, double cv, int release_gil)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:f, s:[f,f], s:{s:i, s:f}, s:{s:i}, s:b, s:n, "
	                 "s:i, s:i}",
	                 "workload", workload, "kind", kind, "strategy", strategy, "workers",
	                 workers, "speedup_vs_serial", speedup, "speedup_ci95", lo, hi, "wall_s",
	                 "n", 5, "cv", cv, "params", "release_gil", release_gil, "checksum_ok", 1,
	                 "error", "tasks", 64, "ballast_mb", 0);
}

/* A tight cell: the interval 3% either side of the figure. */
static json_t *cell(const char *workload, const char *kind, const char *strategy, int workers,
                    double speedup, int release_gil)
{
	return cell_iv(workload, kind, strategy, workers, speedup, speedup * 0.97, speedup * 1.03,
	               0.03, release_gil);
}

static json_t *claim_of(json_t *claims, const char *id)
{
	json_t *c;
	size_t i;
	json_array_foreach(claims, i, c) if (strcmp(json_string_value(json_object_get(c, "id")),
	                                            id) == 0) return c;
	return NULL;
}

/* Claim id's `key` (of its "on_python" verdict when python), copied into buf. */
static const char *copy_field(json_t *doc, const char *id, bool python, const char *key, char *buf,
                              size_t len)
{
	json_t *claims = claims_evaluate(doc);
	json_t *c = claim_of(claims, id);
	if (python && c != NULL)
		c = json_object_get(c, "on_python");
	buf[0] = '\0';
	if (c != NULL)
		snprintf(buf, len, "%s", json_string_value(json_object_get(c, key)));
	json_decref(claims);
	return buf;
}

static const char *verdict_of(json_t *doc, const char *id)
{
	static char verdict[32];
	return copy_field(doc, id, false, "verdict", verdict, sizeof(verdict));
}

/* The claim's reason, copied out. */
static const char *reason_of(json_t *doc, const char *id)
{
	static char reason[1024];
	return copy_field(doc, id, false, "reason", reason, sizeof(reason));
}

Test(claims, every_claim_has_a_verdict_even_on_an_empty_run)
{
	json_t *doc = doc_with(2, json_array());
	json_t *claims = claims_evaluate(doc);
	cr_assert_eq(json_array_size(claims), 9);
	json_t *c;
	size_t i;
	json_array_foreach(claims, i, c)
	{
		cr_assert_str_eq(json_string_value(json_object_get(c, "verdict")), "not-measured");
		cr_assert(strlen(json_string_value(json_object_get(c, "reason"))) > 0);
	}
	json_decref(claims);
	json_decref(doc);
}

Test(claims, processes_parallel_confirmed_refuted_inconclusive)
{
	json_t *doc = doc_with(2, json_pack("[o]", cell("primes", "cpu", "processes", 2, 1.9, 0)));
	cr_assert_str_eq(verdict_of(doc, "cpu-processes-parallel"), "confirmed");
	json_decref(doc);
	doc = doc_with(2, json_pack("[o]", cell("primes", "cpu", "processes", 2, 1.02, 0)));
	cr_assert_str_eq(verdict_of(doc, "cpu-processes-parallel"), "refuted");
	json_decref(doc);
	doc = doc_with(2, json_pack("[o]", cell("primes", "cpu", "processes", 2, 1.3, 0)));
	cr_assert_str_eq(verdict_of(doc, "cpu-processes-parallel"), "inconclusive");
	json_decref(doc);
}

/* The case of the issue: a point of 1.06x, but an interval up to 1.9x. */
Test(claims, a_wide_interval_is_inconclusive_and_says_what_it_straddled)
{
	json_t *doc = doc_with(
	    2, json_pack("[o]", cell_iv("primes", "cpu", "gil", 2, 1.06, 1.05, 1.90, 0.218, 1)));
	cr_assert_str_eq(verdict_of(doc, "release-gil-threads-useful"), "inconclusive");
	const char *why = reason_of(doc, "release-gil-threads-useful");
	cr_assert_not_null(strstr(why, "[1.05, 1.90] straddles 1.10x and 1.50x"), "%s", why);
	json_decref(doc);
	/* The same point with a tight interval refutes. */
	doc = doc_with(2, json_pack("[o]", cell("primes", "cpu", "gil", 2, 1.06, 1)));
	cr_assert_str_eq(verdict_of(doc, "release-gil-threads-useful"), "refuted");
	json_decref(doc);
}

/* "1.10x <= 1.10x" from cells with a CV of 10-19% is not a confirmation. */
Test(claims, a_point_on_the_threshold_with_a_wide_interval_is_not_confirmed)
{
	json_t *doc = doc_with(
	    2, json_pack("[o]", cell_iv("triad", "cpu", "epoll", 2, 1.10, 0.93, 1.31, 0.19, 0)));
	cr_assert_str_eq(verdict_of(doc, "cpu-eventloop-no-speedup"), "inconclusive");
	json_decref(doc);
}

Test(claims, one_allowed_core_makes_parallel_claims_not_measurable)
{
	static const char *ids[] = {"cpu-processes-parallel", "cpu-gil-no-speedup",
	                            "release-gil-threads-useful", "cpu-eventloop-no-speedup"};
	json_t *doc =
	    doc_with(1, json_pack("[o,o,o,o]", cell("primes", "cpu", "processes", 2, 1.0, 0),
	                          cell("primes", "cpu", "gil", 2, 1.0, 0),
	                          cell("primes", "cpu", "gil", 2, 1.0, 1),
	                          cell("primes", "cpu", "epoll", 2, 1.0, 0)));
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		cr_assert_str_eq(verdict_of(doc, ids[i]), "not-measurable", "%s", ids[i]);
		cr_assert_not_null(strstr(reason_of(doc, ids[i]), "1 core"), "%s", ids[i]);
	}
	json_decref(doc);
}

Test(claims, pin_single_makes_parallelism_not_measurable_never_refuted)
{
	json_t *doc = doc_pinned(2, "single",
	                         json_pack("[o]", cell("primes", "cpu", "processes", 2, 1.0, 0)));
	cr_assert_str_eq(verdict_of(doc, "cpu-processes-parallel"), "not-measurable");
	cr_assert_not_null(strstr(reason_of(doc, "cpu-processes-parallel"), "--pin single"));
	json_decref(doc);
}

Test(claims, event_loop_gains_nothing_on_cpu_work)
{
	json_t *doc = doc_with(2, json_pack("[o]", cell("primes", "cpu", "epoll", 2, 1.0, 0)));
	cr_assert_str_eq(verdict_of(doc, "cpu-eventloop-no-speedup"), "confirmed");
	json_decref(doc);
	doc = doc_with(2, json_pack("[o]", cell("primes", "cpu", "epoll", 2, 1.8, 0)));
	cr_assert_str_eq(verdict_of(doc, "cpu-eventloop-no-speedup"), "refuted");
	json_decref(doc);
}

Test(claims, gil_claims_read_only_their_own_cells)
{
	/* A released-lock gil cell must not count for claim 1, nor a held-lock one for 7. */
	json_t *doc = doc_with(2, json_pack("[o,o]", cell("primes", "cpu", "gil", 2, 1.01, 0),
	                                    cell("primes", "cpu", "gil", 2, 1.9, 1)));
	cr_assert_str_eq(verdict_of(doc, "cpu-gil-no-speedup"), "confirmed");
	cr_assert_str_eq(verdict_of(doc, "release-gil-threads-useful"), "confirmed");
	json_decref(doc);
	doc = doc_with(2, json_pack("[o]", cell("sleep", "io", "gil", 8, 7.5, 0)));
	cr_assert_str_eq(verdict_of(doc, "io-gil-overlaps"), "confirmed");
	cr_assert_str_eq(verdict_of(doc, "cpu-gil-no-speedup"), "not-measured");
	json_decref(doc);
}

Test(claims, failed_cells_are_not_evidence)
{
	json_t *bad = cell("primes", "cpu", "processes", 2, 1.9, 0);
	json_object_set_new(bad, "error", json_string("worker 1 killed by signal 9"));
	json_t *doc = doc_with(2, json_pack("[o]", bad));
	cr_assert_str_eq(verdict_of(doc, "cpu-processes-parallel"), "not-measured");
	json_decref(doc);
	/* A wrong checksum neither. */
	bad = cell("primes", "cpu", "processes", 2, 1.9, 0);
	json_object_set_new(bad, "checksum_ok", json_false());
	doc = doc_with(2, json_pack("[o]", bad));
	cr_assert_str_eq(verdict_of(doc, "cpu-processes-parallel"), "not-measured");
	json_decref(doc);
}

Test(claims, too_few_repetitions_are_not_evidence)
{
	json_t *c = cell("primes", "cpu", "processes", 2, 1.9, 0);
	json_object_set_new(json_object_get(c, "wall_s"), "n", json_integer(3));
	json_t *doc = doc_with(2, json_pack("[o]", c));
	cr_assert_str_eq(verdict_of(doc, "cpu-processes-parallel"), "not-measured");
	cr_assert_not_null(strstr(reason_of(doc, "cpu-processes-parallel"), "no cell could speak"));
	json_decref(doc);
}

Test(claims, every_cell_speaks_and_disagreement_is_inconclusive)
{
	/* Two tight cells on opposite sides. */
	json_t *doc = doc_with(2, json_pack("[o,o]", cell("primes", "cpu", "processes", 2, 1.9, 0),
	                                    cell("mandelbrot", "cpu", "processes", 2, 1.0, 0)));
	cr_assert_str_eq(verdict_of(doc, "cpu-processes-parallel"), "inconclusive");
	cr_assert_not_null(strstr(reason_of(doc, "cpu-processes-parallel"), "disagree"));
	json_decref(doc);
	/* Two that confirm: both named. */
	doc = doc_with(2, json_pack("[o,o]", cell("primes", "cpu", "processes", 2, 1.9, 0),
	                            cell("mandelbrot", "cpu", "processes", 2, 1.8, 0)));
	cr_assert_str_eq(verdict_of(doc, "cpu-processes-parallel"), "confirmed");
	const char *why = reason_of(doc, "cpu-processes-parallel");
	cr_assert_not_null(strstr(why, "2 of 2 cells confirm"), "%s", why);
	cr_assert_not_null(strstr(why, "mandelbrot processes n=2"), "%s", why);
	json_decref(doc);
}

Test(claims, a_noisy_cell_cannot_outvote_a_tight_one)
{
	/* The noisy cell's interval lies wholly past the refuting threshold, but
	 * the tight cell confirms: the tight one decides. */
	json_t *doc =
	    doc_with(2, json_pack("[o,o]", cell("primes", "cpu", "gil", 2, 1.0, 0),
	                          cell_iv("mandelbrot", "cpu", "gil", 2, 1.6, 1.35, 1.9, 0.25, 0)));
	cr_assert_str_eq(verdict_of(doc, "cpu-gil-no-speedup"), "confirmed");
	cr_assert_not_null(
	    strstr(reason_of(doc, "cpu-gil-no-speedup"), "1 noisy cell not counted"));
	json_decref(doc);
	/* Alone, the noisy cell speaks. */
	doc = doc_with(
	    2, json_pack("[o]", cell_iv("mandelbrot", "cpu", "gil", 2, 1.6, 1.35, 1.9, 0.25, 0)));
	cr_assert_str_eq(verdict_of(doc, "cpu-gil-no-speedup"), "refuted");
	json_decref(doc);
}

Test(claims, a_workload_threads_cannot_scale_says_nothing_about_processes)
{
	/* triad capped by memory bandwidth: plain threads reach 1.1x, so the
	 * processes cell's 1.05x is no counter-example. */
	json_t *doc =
	    doc_with(2, json_pack("[o,o,o]", cell("primes", "cpu", "processes", 2, 1.9, 0),
	                          cell("triad", "cpu", "processes", 2, 1.05, 0),
	                          cell("triad", "cpu", "threads", 2, 1.1, 0)));
	cr_assert_str_eq(verdict_of(doc, "cpu-processes-parallel"), "confirmed");
	json_t *claims = claims_evaluate(doc);
	json_t *excluded = json_object_get(
	    json_object_get(claim_of(claims, "cpu-processes-parallel"), "evidence"), "excluded");
	cr_assert_eq(json_array_size(excluded), 1);
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(excluded, 0), "workload")), "triad");
	json_decref(claims);
	json_decref(doc);
}

/* A py-* cell: the same figures as cell(), at the python sizes, with the
 * interpreter that ran it. */
static json_t *py_cell(const char *workload, const char *strategy, int workers, double speedup)
{
	json_t *c = cell(workload, "cpu", strategy, workers, speedup, 0);
	json_object_set_new(c, "variant", json_string("python sizes"));
	json_object_set_new(
	    c, "python", json_pack("{s:s, s:s}", "implementation", "CPython", "version", "3.11"));
	return c;
}

static const char *python_verdict_of(json_t *doc, const char *id)
{
	static char verdict[32];
	return copy_field(doc, id, true, "verdict", verdict, sizeof(verdict));
}

/* On the interpreter, the ceiling a workload puts on parallel gain is read
 * from C's threads, never from py-threads, which the real lock holds under
 * any threshold: py-processes' 1.8x on primes is evidence, and triad's 1.05x
 * is still left out where C's threads cannot scale it either. */
Test(claims, processes_parallel_on_python_reads_the_ceiling_from_c_threads)
{
	json_t *doc =
	    doc_with(2, json_pack("[o,o,o,o,o,o]", cell("primes", "cpu", "threads", 2, 1.95, 0),
	                          cell("triad", "cpu", "threads", 2, 1.1, 0),
	                          py_cell("primes", "py-threads", 2, 0.9),
	                          py_cell("primes", "py-processes", 2, 1.8),
	                          py_cell("triad", "py-threads", 2, 1.0),
	                          py_cell("triad", "py-processes", 2, 1.05)));
	cr_assert_str_eq(python_verdict_of(doc, "cpu-processes-parallel"), "confirmed");
	json_t *claims = claims_evaluate(doc);
	json_t *py = json_object_get(claim_of(claims, "cpu-processes-parallel"), "on_python");
	json_t *excluded = json_object_get(json_object_get(py, "evidence"), "excluded");
	cr_assert_eq(json_array_size(excluded), 1, "triad only");
	cr_assert_str_eq(
	    json_string_value(json_object_get(json_array_get(excluded, 0), "workload")), "triad");
	json_decref(claims);
	json_decref(doc);
}

/* ---- claims 4 and 6: pairs of strategies ------------------------------------- */

/* An io cell of 5 repetitions whose figures vary by +-2% around the given
 * ones, with every worker's start-up near startup_s. */
static json_t *io_cell(const char *strategy, int workers, double startup_s, long rss_kib,
                       double cpu_s, double wall_s)
{
	json_t *c = json_pack(
	    "{s:s, s:s, s:s, s:i, s:f, s:[f,f], s:{s:i, s:f}, s:{s:i}, s:b, s:n, s:i, "
	    "s:i}",
	    "workload", "http", "kind", "io", "strategy", strategy, "workers", workers,
	    "speedup_vs_serial", 4.0, "speedup_ci95", 3.9, 4.1, "wall_s", "n", 5, "cv", 0.02,
	    "params", "size", 65536, "checksum_ok", 1, "error", "tasks", 256, "ballast_mb", 0);
	json_t *startup = json_array(), *samples = json_array();
	for (int i = 0; i < workers && i < 64; i++)
		json_array_append_new(startup, json_real(startup_s * (1 + 0.01 * (i % 5 - 2))));
	for (int r = 0; r < 5; r++) {
		double f = 1 + 0.01 * (r - 2);
		json_array_append_new(samples,
		                      json_pack("{s:f, s:f, s:f, s:I}", "wall_s", wall_s * f,
		                                "user_s", cpu_s * f, "sys_s", 0.0, "max_rss_kib",
		                                (json_int_t)(rss_kib * f)));
	}
	json_object_set_new(c, "placement", json_pack("{s:o}", "worker_startup_s", startup));
	json_object_set_new(c, "samples", samples);
	return c;
}

Test(claims, processes_heavier_needs_both_startup_and_io_cost)
{
	/* fork start-up 20x a thread's, 3x the memory: confirmed */
	json_t *doc =
	    doc_with(2, json_pack("[o,o]", io_cell("threads", 32, 0.00005, 20000, 0.2, 0.2),
	                          io_cell("processes", 32, 0.001, 60000, 0.3, 0.21)));
	cr_assert_str_eq(verdict_of(doc, "processes-heavier"), "confirmed");
	json_decref(doc);
	/* the same cost on every count: refuted */
	doc = doc_with(2, json_pack("[o,o]", io_cell("threads", 32, 0.001, 20000, 0.2, 0.2),
	                            io_cell("processes", 32, 0.001, 20000, 0.2, 0.2)));
	cr_assert_str_eq(verdict_of(doc, "processes-heavier"), "refuted");
	json_decref(doc);
	/* slower to start but no heavier at I/O: inconclusive */
	doc = doc_with(2, json_pack("[o,o]", io_cell("threads", 32, 0.00005, 20000, 0.2, 0.2),
	                            io_cell("processes", 32, 0.001, 21000, 0.2, 0.2)));
	cr_assert_str_eq(verdict_of(doc, "processes-heavier"), "inconclusive");
	json_decref(doc);
	/* no threads cell at the same count: not measured */
	doc = doc_with(2, json_pack("[o,o]", io_cell("threads", 8, 0.00005, 20000, 0.2, 0.2),
	                            io_cell("processes", 32, 0.001, 60000, 0.3, 0.2)));
	cr_assert_str_eq(verdict_of(doc, "processes-heavier"), "not-measured");
	json_decref(doc);
}

Test(claims, processes_heavier_from_too_few_workers_is_inconclusive)
{
	/* Two workers give two start-ups: no interval. */
	json_t *doc =
	    doc_with(2, json_pack("[o,o]", io_cell("threads", 2, 0.00005, 20000, 0.2, 0.2),
	                          io_cell("processes", 2, 0.001, 60000, 0.3, 0.21)));
	cr_assert_str_eq(verdict_of(doc, "processes-heavier"), "inconclusive");
	json_decref(doc);
}

/* threads and the loop at 32 and 1000 requests in flight, each adding the
 * given KiB per request to a 12000 KiB process. */
static json_t *memory_sweep_doc(int threads_kib, int epoll_kib)
{
	return doc_with(
	    2, json_pack("[o,o,o,o]", io_cell("threads", 32, 0, 12000 + 32 * threads_kib, 0.1, 0.2),
	                 io_cell("threads", 1000, 0, 12000 + 1000 * threads_kib, 0.5, 0.3),
	                 io_cell("epoll", 32, 0, 12000 + 32 * epoll_kib, 0.1, 0.2),
	                 io_cell("epoll", 1000, 0, 12000 + 1000 * epoll_kib, 0.3, 0.3)));
}

Test(claims, event_loop_lighter_uses_added_memory_and_the_widest_count)
{
	/* threads add 64 KiB per request, the loop 8: confirmed */
	json_t *doc = memory_sweep_doc(64, 8);
	cr_assert_str_eq(verdict_of(doc, "eventloop-lighter"), "confirmed");
	json_decref(doc);
	/* the loop costs more per request: refuted */
	doc = memory_sweep_doc(8, 20);
	cr_assert_str_eq(verdict_of(doc, "eventloop-lighter"), "refuted");
	json_decref(doc);
	/* no epoll cell: not measured */
	doc = doc_with(2, json_pack("[o]", io_cell("threads", 32, 0, 20000, 0.1, 0.2)));
	cr_assert_str_eq(verdict_of(doc, "eventloop-lighter"), "not-measured");
	json_decref(doc);
}

/* The case: in-flight counts 1 and 2 cannot measure memory per task. */
Test(claims, event_loop_lighter_not_measured_without_a_spread_of_counts)
{
	json_t *doc = doc_with(2, json_pack("[o,o,o,o]", io_cell("threads", 1, 0, 12000, 0.1, 0.2),
	                                    io_cell("threads", 2, 0, 11990, 0.1, 0.2),
	                                    io_cell("epoll", 1, 0, 12000, 0.1, 0.2),
	                                    io_cell("epoll", 2, 0, 12000, 0.1, 0.2)));
	cr_assert_str_eq(verdict_of(doc, "eventloop-lighter"), "not-measured");
	json_decref(doc);
}

Test(claims, event_loop_lighter_inconclusive_when_memory_is_close)
{
	json_t *doc = memory_sweep_doc(11, 10);
	cr_assert_str_eq(verdict_of(doc, "eventloop-lighter"), "inconclusive");
	json_decref(doc);
}

Test(claims, processes_heavier_reads_the_parent_memory_sweep)
{
	json_t *t0 = io_cell("threads", 8, 0.00005, 20000, 0.2, 0.2);
	json_t *p0 = io_cell("processes", 8, 0.001, 60000, 0.3, 0.21);
	json_t *t1 = io_cell("threads", 8, 0.00005, 1068000, 0.2, 0.2);
	json_t *p1 = io_cell("processes", 8, 0.030, 1100000, 0.3, 0.25);
	json_object_set_new(t1, "ballast_mb", json_integer(1024));
	json_object_set_new(p1, "ballast_mb", json_integer(1024));
	json_t *doc = doc_with(2, json_pack("[o,o,o,o]", t0, p0, t1, p1));
	json_t *claims = claims_evaluate(doc);
	json_t *c = claim_of(claims, "processes-heavier");
	cr_assert_not_null(c);
	json_t *m = json_object_get(json_object_get(json_object_get(c, "evidence"), "thresholds"),
	                            "measured");
	cr_assert_str_eq(json_string_value(json_object_get(c, "verdict")), "confirmed");
	cr_assert_eq(json_integer_value(json_object_get(m, "startup_ballast_mb")), 1024);
	json_t *growth = json_object_get(m, "startup_growth_with_ballast");
	cr_assert_float_eq(json_real_value(json_object_get(growth, "value")), 30.0, 1e-9);
	json_t *ci = json_object_get(growth, "ci95");
	cr_assert(json_real_value(json_array_get(ci, 0)) <= 30.0 &&
	          json_real_value(json_array_get(ci, 1)) >= 30.0);
	cr_assert_not_null(strstr(json_string_value(json_object_get(c, "reason")), "1024 MiB"));
	json_decref(claims);
	json_decref(doc);
}

/* ---- claim 8: the convoy as a distribution ---------------------------------- */

static json_t *phase(int n, double mean, double share, double share_lo, double share_hi)
{
	return json_pack("{s:i, s:f, s:f, s:[f,f]}", "n", n, "mean", mean, "share_over_threshold",
	                 share, "share_ci95", share_lo, share_hi);
}

static json_t *mixed_cell(const char *strategy, int busy_n, double share, double share_lo,
                          double share_hi, double slow, double slow_lo, double slow_hi)
{
	json_t *c = cell("mixed", "mixed", strategy, 2, 1.0, 0);
	json_object_set_new(c, "convoy",
	                    json_pack("{s:f, s:f, s:o, s:o, s:{s:f, s:[f,f]}}", "interval_s", 0.005,
	                              "threshold_s", 0.0025, "alone",
	                              phase(300, 3e-5, 0.0, 0.0, 0.01), "busy",
	                              phase(busy_n, 3e-5 * slow, share, share_lo, share_hi),
	                              "slowdown", "value", slow, "ci95", slow_lo, slow_hi));
	return c;
}

Test(claims, convoy_confirmed_on_share_and_slowdown_not_on_the_median)
{
	/* The bimodal case of the issue: the median round trip is fast, but 30%
	 * of them wait half an interval and the mean is 40x alone. */
	json_t *m = mixed_cell("gil", 120, 0.30, 0.22, 0.39, 40, 28, 55);
	json_object_set_new(m, "latency_s", json_pack("{s:f}", "p50", 0.000044));
	json_t *doc = doc_with(2, json_pack("[o]", m));
	cr_assert_str_eq(verdict_of(doc, "gil-convoy"), "confirmed");
	cr_assert_not_null(strstr(reason_of(doc, "gil-convoy"), "30%"));
	json_decref(doc);
}

Test(claims, convoy_refuted_when_beside_cpu_is_as_fast_as_alone)
{
	json_t *doc =
	    doc_with(2, json_pack("[o]", mixed_cell("gil", 400, 0.0, 0.0, 0.01, 1.1, 1.0, 1.3)));
	cr_assert_str_eq(verdict_of(doc, "gil-convoy"), "refuted");
	json_decref(doc);
}

Test(claims, convoy_inconclusive_when_the_share_interval_straddles)
{
	json_t *doc =
	    doc_with(2, json_pack("[o]", mixed_cell("gil", 40, 0.12, 0.05, 0.26, 9, 3, 20)));
	cr_assert_str_eq(verdict_of(doc, "gil-convoy"), "inconclusive");
	json_decref(doc);
}

Test(claims, convoy_reads_gil_cells_only_with_enough_round_trips)
{
	/* threads' small slowdown says nothing about the gil's convoy */
	json_t *doc = doc_with(
	    2, json_pack("[o]", mixed_cell("threads", 400, 0.0, 0.0, 0.01, 1.1, 1.0, 1.3)));
	cr_assert_str_eq(verdict_of(doc, "gil-convoy"), "not-measured");
	json_decref(doc);
	doc = doc_with(2, json_pack("[o]", mixed_cell("gil", 5, 0.4, 0.1, 0.8, 40, 10, 60)));
	cr_assert_str_eq(verdict_of(doc, "gil-convoy"), "not-measured");
	json_decref(doc);
}

/* Every single-cell claim reaches each of its verdicts on a tight hand-made cell. */
struct single_case {
	const char *id;
	const char *workload, *kind, *strategy;
	int workers;
	double speedup;
	int release_gil;
	const char *verdict;
};

static const struct single_case single_cases[] = {
    {"cpu-gil-no-speedup", "primes", "cpu", "gil", 2, 1.0, 0, "confirmed"},
    {"cpu-gil-no-speedup", "primes", "cpu", "gil", 2, 1.8, 0, "refuted"},
    {"cpu-gil-no-speedup", "primes", "cpu", "gil", 2, 1.2, 0, "inconclusive"},
    {"io-gil-overlaps", "sleep", "io", "gil", 8, 7.0, 0, "confirmed"},
    {"io-gil-overlaps", "sleep", "io", "gil", 8, 1.0, 0, "refuted"},
    {"io-gil-overlaps", "sleep", "io", "gil", 8, 2.0, 0, "inconclusive"},
    {"cpu-eventloop-no-speedup", "primes", "cpu", "epoll", 2, 1.2, 0, "inconclusive"},
    {"release-gil-threads-useful", "primes", "cpu", "gil", 2, 1.9, 1, "confirmed"},
    {"release-gil-threads-useful", "primes", "cpu", "gil", 2, 1.0, 1, "refuted"},
    {"release-gil-threads-useful", "primes", "cpu", "gil", 2, 1.3, 1, "inconclusive"},
};

Test(claims, each_single_cell_claim_reaches_each_verdict)
{
	for (size_t i = 0; i < sizeof(single_cases) / sizeof(single_cases[0]); i++) {
		const struct single_case *k = &single_cases[i];
		json_t *c =
		    cell(k->workload, k->kind, k->strategy, k->workers, k->speedup, k->release_gil);
		json_t *doc = doc_with(2, json_pack("[o]", c));
		cr_assert_str_eq(verdict_of(doc, k->id), k->verdict, "case %zu (%s, speedup %.2f)",
		                 i, k->id, k->speedup);
		json_decref(doc);
	}
}

/* What a run's summary prints of doc's claims (for a file r.json), malloc'd. */
static char *summary_of(json_t *doc)
{
	json_t *claims = claims_evaluate(doc);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	cr_assert_not_null(out);
	claims_print_measured(claims, "r.json", out);
	fclose(out);
	json_decref(claims);
	return text;
}

/* The run's summary: a measured claim in full, with its number; the rest in
 * one line that names them and says where to read what each needs. A claim
 * measured on the interpreter alone counts as measured. */
Test(claims, the_summary_shows_measured_claims_and_names_the_rest)
{
	json_t *doc = doc_with(2, json_pack("[o,o]", cell("primes", "cpu", "processes", 2, 1.9, 0),
	                                    py_cell("primes", "py-threads", 2, 0.9)));
	char *text = summary_of(doc);
	cr_assert(strstr(text, "  2. confirmed") != NULL, "claim 2 in full: %s", text);
	cr_assert(strstr(text, "  1. ") != NULL, "claim 1, measured on CPython only: %s", text);
	cr_assert(strstr(text, "  3. ") == NULL, "claim 3 is not measured: %s", text);
	cr_assert(strstr(text, "not measured by this run: 3 4 5 6 7 8 9") != NULL, "%s", text);
	cr_assert(strstr(text, "`concbench claims r.json`") != NULL, "%s", text);
	free(text);
	json_decref(doc);
}

Test(claims, the_summary_says_in_one_line_when_nothing_was_measured)
{
	json_t *doc = doc_with(2, json_array());
	char *text = summary_of(doc);
	cr_assert(strstr(text, "this run measures none of the 9") != NULL, "%s", text);
	cr_assert(strchr(text + 1, '\n') == text + strlen(text) - 1, "one line: %s", text);
	free(text);
	json_decref(doc);
}
