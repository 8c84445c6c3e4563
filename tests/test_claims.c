/* The claims' verdict logic on hand-made result documents. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "claims.h"

static json_t *doc_with(int cores, json_t *cells)
{
	return json_pack("{s:i, s:{s:{s:i}}, s:{s:i}, s:o}", "schema_version", 1, "machine",
	                 "topology", "cores", cores, "config", "switch_interval_us", 5000,
	                 "results", cells);
}

static json_t *cell(const char *workload, const char *kind, const char *strategy, int workers,
                    double speedup, int release_gil)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:f, s:{s:i}, s:b, s:n, s:i}", "workload", workload,
	                 "kind", kind, "strategy", strategy, "workers", workers,
	                 "speedup_vs_serial", speedup, "params", "release_gil", release_gil,
	                 "checksum_ok", 1, "error", "tasks", 64);
}

static const char *verdict_of(json_t *doc, const char *id)
{
	json_t *claims = claims_evaluate(doc), *c;
	size_t i;
	static char verdict[32];
	verdict[0] = '\0';
	json_array_foreach(claims, i,
	                   c) if (strcmp(json_string_value(json_object_get(c, "id")), id) == 0)
	    snprintf(verdict, sizeof(verdict), "%s",
	             json_string_value(json_object_get(c, "verdict")));
	json_decref(claims);
	return verdict;
}

Test(claims, every_claim_has_a_verdict_even_on_an_empty_run)
{
	json_t *doc = doc_with(2, json_array());
	json_t *claims = claims_evaluate(doc);
	cr_assert_eq(json_array_size(claims), 8);
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
	/* One core: parallelism cannot show, whatever the figure. */
	doc = doc_with(1, json_pack("[o]", cell("primes", "cpu", "processes", 2, 1.0, 0)));
	cr_assert_str_eq(verdict_of(doc, "cpu-processes-parallel"), "inconclusive");
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
}

Test(claims, convoy_judged_against_the_switch_interval)
{
	json_t *mixed = cell("mixed", "mixed", "gil", 2, 1.0, 0);
	json_object_set_new(mixed, "latency_s", json_pack("{s:f}", "p50", 0.0051));
	json_t *doc = doc_with(2, json_pack("[o]", mixed));
	cr_assert_str_eq(verdict_of(doc, "gil-convoy"), "confirmed");
	json_decref(doc);
	mixed = cell("mixed", "mixed", "gil", 2, 1.0, 0);
	json_object_set_new(mixed, "latency_s", json_pack("{s:f}", "p50", 0.00005));
	doc = doc_with(2, json_pack("[o]", mixed));
	cr_assert_str_eq(verdict_of(doc, "gil-convoy"), "refuted");
	json_decref(doc);
}

/* ---- claims 4 and 6: pairs of strategies ------------------------------------- */

static json_t *io_cell(const char *strategy, int workers, double startup_s, long rss_kib,
                       double cpu_s, double wall_s)
{
	json_t *c =
	    json_pack("{s:s, s:s, s:s, s:i, s:f, s:{s:i}, s:b, s:n, s:i}", "workload", "http",
	              "kind", "io", "strategy", strategy, "workers", workers, "speedup_vs_serial",
	              4.0, "params", "size", 65536, "checksum_ok", 1, "error", "tasks", 256);
	json_t *startup = json_array(), *samples = json_array();
	for (int i = 0; i < workers && i < 64; i++)
		json_array_append_new(startup, json_real(startup_s));
	for (int r = 0; r < 3; r++)
		json_array_append_new(samples, json_pack("{s:f, s:f, s:f, s:I}", "wall_s", wall_s,
		                                         "user_s", cpu_s, "sys_s", 0.0,
		                                         "max_rss_kib", (json_int_t)rss_kib));
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

Test(claims, event_loop_lighter_uses_added_memory_and_the_widest_count)
{
	/* threads add 64 KiB per request, the loop 8: confirmed */
	json_t *doc =
	    doc_with(2, json_pack("[o,o,o,o]", io_cell("threads", 32, 0, 12000 + 32 * 64, 0.1, 0.2),
	                          io_cell("threads", 1000, 0, 12000 + 1000 * 64, 0.5, 0.3),
	                          io_cell("epoll", 32, 0, 12000 + 32 * 8, 0.1, 0.2),
	                          io_cell("epoll", 1000, 0, 12000 + 1000 * 8, 0.3, 0.3)));
	cr_assert_str_eq(verdict_of(doc, "eventloop-lighter"), "confirmed");
	json_decref(doc);
	/* the loop costs as much per request: refuted */
	doc =
	    doc_with(2, json_pack("[o,o,o,o]", io_cell("threads", 32, 0, 12000 + 32 * 8, 0.1, 0.2),
	                          io_cell("threads", 1000, 0, 12000 + 1000 * 8, 0.5, 0.3),
	                          io_cell("epoll", 32, 0, 12000 + 32 * 10, 0.1, 0.2),
	                          io_cell("epoll", 1000, 0, 12000 + 1000 * 10, 0.3, 0.3)));
	cr_assert_str_eq(verdict_of(doc, "eventloop-lighter"), "refuted");
	json_decref(doc);
	/* no epoll cell: not measured */
	doc = doc_with(2, json_pack("[o]", io_cell("threads", 32, 0, 20000, 0.1, 0.2)));
	cr_assert_str_eq(verdict_of(doc, "eventloop-lighter"), "not-measured");
	json_decref(doc);
}

Test(claims, processes_heavier_reads_the_parent_memory_sweep)
{
	json_t *t0 = io_cell("threads", 2, 0.00005, 20000, 0.2, 0.2);
	json_t *p0 = io_cell("processes", 2, 0.001, 60000, 0.3, 0.21);
	json_t *t1 = io_cell("threads", 2, 0.00005, 1068000, 0.2, 0.2);
	json_t *p1 = io_cell("processes", 2, 0.030, 1100000, 0.3, 0.25);
	json_object_set_new(t1, "ballast_mb", json_integer(1024));
	json_object_set_new(p1, "ballast_mb", json_integer(1024));
	json_t *doc = doc_with(2, json_pack("[o,o,o,o]", t0, p0, t1, p1));
	json_t *claims = claims_evaluate(doc), *c;
	size_t i;
	bool seen = false;
	json_array_foreach(claims, i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "id")), "processes-heavier") != 0)
			continue;
		seen = true;
		json_t *m = json_object_get(
		    json_object_get(json_object_get(c, "evidence"), "thresholds"), "measured");
		cr_assert_str_eq(json_string_value(json_object_get(c, "verdict")), "confirmed");
		cr_assert_eq(json_integer_value(json_object_get(m, "startup_ballast_mb")), 1024);
		cr_assert_float_eq(
		    json_real_value(json_object_get(m, "startup_growth_with_ballast")), 30.0, 1e-9);
		cr_assert_not_null(
		    strstr(json_string_value(json_object_get(c, "reason")), "1024 MiB"));
	}
	cr_assert(seen);
	json_decref(claims);
	json_decref(doc);
}

/* Every single-cell claim reaches each of its verdicts on a hand-made cell. */
struct single_case {
	const char *id;
	const char *workload, *kind, *strategy;
	int workers;
	double speedup;
	int release_gil;
	double p50; /* mixed only; 0 leaves latency out */
	const char *verdict;
};

static const struct single_case single_cases[] = {
    {"cpu-gil-no-speedup", "primes", "cpu", "gil", 2, 1.0, 0, 0, "confirmed"},
    {"cpu-gil-no-speedup", "primes", "cpu", "gil", 2, 1.8, 0, 0, "refuted"},
    {"cpu-gil-no-speedup", "primes", "cpu", "gil", 2, 1.2, 0, 0, "inconclusive"},
    {"io-gil-overlaps", "sleep", "io", "gil", 8, 7.0, 0, 0, "confirmed"},
    {"io-gil-overlaps", "sleep", "io", "gil", 8, 1.0, 0, 0, "refuted"},
    {"io-gil-overlaps", "sleep", "io", "gil", 8, 2.0, 0, 0, "inconclusive"},
    {"cpu-eventloop-no-speedup", "primes", "cpu", "epoll", 2, 1.2, 0, 0, "inconclusive"},
    {"release-gil-threads-useful", "primes", "cpu", "gil", 2, 1.9, 1, 0, "confirmed"},
    {"release-gil-threads-useful", "primes", "cpu", "gil", 2, 1.0, 1, 0, "refuted"},
    {"release-gil-threads-useful", "primes", "cpu", "gil", 2, 1.3, 1, 0, "inconclusive"},
    {"gil-convoy", "mixed", "mixed", "gil", 2, 1.0, 0, 0.0015, "inconclusive"},
};

Test(claims, each_single_cell_claim_reaches_each_verdict)
{
	for (size_t i = 0; i < sizeof(single_cases) / sizeof(single_cases[0]); i++) {
		const struct single_case *k = &single_cases[i];
		json_t *c =
		    cell(k->workload, k->kind, k->strategy, k->workers, k->speedup, k->release_gil);
		if (k->p50 > 0)
			json_object_set_new(c, "latency_s", json_pack("{s:f}", "p50", k->p50));
		json_t *doc = doc_with(2, json_pack("[o]", c));
		cr_assert_str_eq(verdict_of(doc, k->id), k->verdict, "case %zu (%s, speedup %.2f)",
		                 i, k->id, k->speedup);
		json_decref(doc);
	}
}

Test(claims, event_loop_lighter_inconclusive_when_memory_is_close)
{
	json_t *doc =
	    doc_with(2, json_pack("[o,o,o,o]", io_cell("threads", 32, 0, 12000 + 32 * 11, 0.1, 0.2),
	                          io_cell("threads", 1000, 0, 12000 + 1000 * 11, 0.5, 0.3),
	                          io_cell("epoll", 32, 0, 12000 + 32 * 10, 0.1, 0.2),
	                          io_cell("epoll", 1000, 0, 12000 + 1000 * 10, 0.3, 0.3)));
	cr_assert_str_eq(verdict_of(doc, "eventloop-lighter"), "inconclusive");
	json_decref(doc);
}
