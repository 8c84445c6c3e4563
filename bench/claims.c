/* Each claim is a rule over the cells of one result document: which cells it
 * reads, the thresholds it applies, and a verdict with the evidence. Working
 * on the JSON (not on live cells) makes every verdict reproducible from the
 * file alone, which is what `concbench claims FILE` does. */
#include "claims.h"
#include "resultfile.h"
#include "stats.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Speedups at or under this are "no gain"; at or over REAL_GAIN they are a gain. */
#define NO_GAIN        1.10
#define REAL_GAIN      1.30
#define PARALLEL_SHARE 0.75 /* of min(workers, cores): "true parallelism" */
#define IO_OVERLAP     0.50 /* of min(workers, tasks): waits overlap */
#define CONVOY_LO      0.5  /* round trip over the switch interval */
#define CONVOY_HI      2.0
#define CONVOY_NONE    0.2

struct claim_ctx {
	json_t *doc;
	long cores;
	double interval_s;
};

struct verdict {
	const char *verdict;
	char reason[640];
	json_t *cells;      /* evidence: the cells used */
	json_t *thresholds; /* evidence: the bounds applied */
};

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static double dbl(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static bool cell_ok(json_t *c)
{
	return json_is_null(json_object_get(c, "error")) &&
	       json_is_true(json_object_get(c, "checksum_ok"));
}

static long param(json_t *c, const char *key)
{
	json_t *v = json_object_get(json_object_get(c, "params"), key);
	return json_is_integer(v) ? (long)json_integer_value(v) : 0;
}

static json_t *cell_ref(json_t *c)
{
	return json_pack("{s:s, s:s, s:I, s:o, s:O}", "workload", str(c, "workload"), "strategy",
	                 str(c, "strategy"), "workers",
	                 json_integer_value(json_object_get(c, "workers")), "speedup_vs_serial",
	                 isfinite(dbl(c, "speedup_vs_serial"))
	                     ? json_real(dbl(c, "speedup_vs_serial"))
	                     : json_null(),
	                 "params", json_object_get(c, "params"));
}

typedef bool (*cell_filter)(json_t *cell);

/* The healthy cell with the largest speedup among those the filter accepts
 * (with at least two workers): the strongest case for a gain. */
static json_t *best_cell(const struct claim_ctx *cx, cell_filter keep)
{
	json_t *best = NULL, *c;
	size_t i;
	json_array_foreach(json_object_get(cx->doc, "results"), i, c)
	{
		if (!cell_ok(c) || !keep(c) ||
		    json_integer_value(json_object_get(c, "workers")) < 2)
			continue;
		if (best == NULL || dbl(c, "speedup_vs_serial") > dbl(best, "speedup_vs_serial"))
			best = c;
	}
	return best;
}

static bool is_kind(json_t *c, const char *kind)
{
	return strcmp(str(c, "kind"), kind) == 0;
}

static bool is_strategy(json_t *c, const char *s)
{
	return strcmp(str(c, "strategy"), s) == 0;
}

static bool cpu_gil(json_t *c)
{
	return is_kind(c, "cpu") && is_strategy(c, "gil") && param(c, "release_gil") == 0;
}
static bool cpu_gil_released(json_t *c)
{
	return is_kind(c, "cpu") && is_strategy(c, "gil") && param(c, "release_gil") == 1;
}
static bool cpu_processes(json_t *c)
{
	return is_kind(c, "cpu") && is_strategy(c, "processes") && param(c, "release_gil") == 0;
}
static bool cpu_epoll(json_t *c)
{
	return is_kind(c, "cpu") && is_strategy(c, "epoll");
}
static bool io_gil(json_t *c)
{
	return is_kind(c, "io") && is_strategy(c, "gil");
}
static bool mixed_gil(json_t *c)
{
	return is_kind(c, "mixed") && is_strategy(c, "gil");
}

static void set(struct verdict *v, const char *verdict, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set(struct verdict *v, const char *verdict, const char *fmt, ...)
{
	va_list ap;
	v->verdict = verdict;
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
}

static int usable_cores(const struct claim_ctx *cx, json_t *c)
{
	long w = (long)json_integer_value(json_object_get(c, "workers"));
	return (int)(w < cx->cores ? w : cx->cores);
}

/* "No gain" claims (1 and 5): confirmed at or under NO_GAIN, refuted at or
 * over REAL_GAIN. On one core nothing gains, so the test says nothing. */
static void judge_no_gain(const struct claim_ctx *cx, json_t *c, struct verdict *v)
{
	double s = dbl(c, "speedup_vs_serial");
	json_object_set_new(v->thresholds, "confirmed_if_speedup_at_most", json_real(NO_GAIN));
	json_object_set_new(v->thresholds, "refuted_if_speedup_at_least", json_real(REAL_GAIN));
	if (cx->cores < 2)
		set(v, "inconclusive", "only %ld core: no strategy could gain", cx->cores);
	else if (s <= NO_GAIN)
		set(v, "confirmed", "best speedup %.2fx <= %.2fx", s, NO_GAIN);
	else if (s >= REAL_GAIN)
		set(v, "refuted", "speedup %.2fx >= %.2fx", s, REAL_GAIN);
	else
		set(v, "inconclusive", "speedup %.2fx lies between %.2fx and %.2fx", s, NO_GAIN,
		    REAL_GAIN);
}

/* "Parallel" claims (2 and 7): confirmed when the speedup reaches
 * PARALLEL_SHARE of the usable cores, refuted at or under NO_GAIN. */
static void judge_parallel(const struct claim_ctx *cx, json_t *c, struct verdict *v)
{
	double s = dbl(c, "speedup_vs_serial");
	double want = PARALLEL_SHARE * usable_cores(cx, c);
	json_object_set_new(v->thresholds, "confirmed_if_speedup_at_least", json_real(want));
	json_object_set_new(v->thresholds, "refuted_if_speedup_at_most", json_real(NO_GAIN));
	if (cx->cores < 2)
		set(v, "inconclusive", "only %ld core: parallelism cannot show", cx->cores);
	else if (s >= want)
		set(v, "confirmed", "speedup %.2fx >= %.2fx", s, want);
	else if (s <= NO_GAIN)
		set(v, "refuted", "speedup %.2fx <= %.2fx", s, NO_GAIN);
	else
		set(v, "inconclusive", "speedup %.2fx short of %.2fx", s, want);
}

static void judge_io_overlap(const struct claim_ctx *cx, json_t *c, struct verdict *v)
{
	(void)cx;
	double s = dbl(c, "speedup_vs_serial");
	double tasks = dbl(c, "tasks");
	double w = (double)json_integer_value(json_object_get(c, "workers"));
	double want = IO_OVERLAP * fmin(w, isfinite(tasks) ? tasks : w);
	json_object_set_new(v->thresholds, "confirmed_if_speedup_at_least", json_real(want));
	json_object_set_new(v->thresholds, "refuted_if_speedup_at_most", json_real(NO_GAIN));
	if (s >= want)
		set(v, "confirmed", "waits overlap: speedup %.2fx >= %.2fx", s, want);
	else if (s <= NO_GAIN)
		set(v, "refuted", "no overlap: speedup %.2fx <= %.2fx", s, NO_GAIN);
	else
		set(v, "inconclusive", "speedup %.2fx short of %.2fx", s, want);
}

static void judge_convoy(const struct claim_ctx *cx, json_t *c, struct verdict *v)
{
	double p50 = dbl(json_object_get(c, "latency_s"), "p50");
	double ratio = p50 / cx->interval_s;
	json_object_set_new(v->thresholds, "confirmed_if_p50_over_interval_within",
	                    json_pack("[f,f]", CONVOY_LO, CONVOY_HI));
	json_object_set_new(v->thresholds, "refuted_if_p50_over_interval_under",
	                    json_real(CONVOY_NONE));
	if (!isfinite(ratio))
		set(v, "inconclusive", "no round-trip latency in the cell");
	else if (ratio >= CONVOY_LO && ratio <= CONVOY_HI)
		set(v, "confirmed", "round trip p50 = %.2f x the switch interval (%.0f us)", ratio,
		    cx->interval_s * 1e6);
	else if (ratio < CONVOY_NONE)
		set(v, "refuted", "round trip p50 = %.2f x the switch interval (%.0f us)", ratio,
		    cx->interval_s * 1e6);
	else
		set(v, "inconclusive", "round trip p50 = %.2f x the switch interval (%.0f us)",
		    ratio, cx->interval_s * 1e6);
}

/* ---- claims that compare two strategies' cells (4 and 6) -------------------- */

static double median_of_samples(json_t *c, const char *field)
{
	double v[256];
	size_t i, n = 0;
	json_t *s;
	json_array_foreach(json_object_get(c, "samples"), i, s)
	{
		double x = 0;
		if (strcmp(field, "cpu_s") == 0)
			x = dbl(s, "user_s") + dbl(s, "sys_s");
		else
			x = dbl(s, field);
		if (isfinite(x) && n < 256)
			v[n++] = x;
	}
	return percentile(v, n, 50); /* NAN when there are none */
}

static double mean_startup_s(json_t *c)
{
	json_t *a = json_object_get(json_object_get(c, "placement"), "worker_startup_s"), *x;
	double sum = 0;
	size_t i, n = 0;
	json_array_foreach(a, i, x) if (json_is_number(x))
	{
		sum += json_number_value(x);
		n++;
	}
	return n > 0 ? sum / (double)n : NAN;
}

static long workers_of(json_t *c)
{
	return (long)json_integer_value(json_object_get(c, "workers"));
}

static long ballast_of(json_t *c)
{
	return (long)json_integer_value(json_object_get(c, "ballast_mb"));
}

/* Same parameters, and the same memory in the parent. */
static bool same_params(json_t *a, json_t *b)
{
	return json_equal(json_object_get(a, "params"), json_object_get(b, "params")) &&
	       ballast_of(a) == ballast_of(b);
}

/* The healthy cell of `strategy` that matches `like` in workload, params and
 * workers. */
static json_t *partner(const struct claim_ctx *cx, json_t *like, const char *strategy)
{
	json_t *c;
	size_t i;
	json_array_foreach(json_object_get(cx->doc, "results"), i, c)
	{
		if (cell_ok(c) && is_strategy(c, strategy) &&
		    strcmp(str(c, "workload"), str(like, "workload")) == 0 &&
		    workers_of(c) == workers_of(like) && same_params(c, like))
			return c;
	}
	return NULL;
}

/* Cells of a workload that opens connections (http) are the claims' first
 * evidence for I/O; then the one with more tasks in flight. */
static bool better_io_evidence(json_t *c, json_t *than)
{
	bool net_c = json_object_get(c, "connections") != NULL;
	bool net_t = json_object_get(than, "connections") != NULL;
	if (net_c != net_t)
		return net_c;
	return workers_of(c) > workers_of(than);
}

/* The pair (processes, threads) with the most workers, among io cells when
 * io_only. */
static json_t *widest_pair(const struct claim_ctx *cx, bool io_only, json_t **threads)
{
	json_t *best = NULL, *c;
	size_t i;
	json_array_foreach(json_object_get(cx->doc, "results"), i, c)
	{
		if (!cell_ok(c) || !is_strategy(c, "processes") || workers_of(c) < 2 ||
		    (io_only && !is_kind(c, "io")))
			continue;
		json_t *t = partner(cx, c, "threads");
		if (t != NULL && (best == NULL || (io_only ? better_io_evidence(c, best)
		                                           : workers_of(c) > workers_of(best)))) {
			best = c;
			*threads = t;
		}
	}
	return best;
}

/* The processes cell with the most ballast that has a threads cell beside it,
 * and the same processes cell without ballast: how start-up grows with the
 * parent's memory, which is what fork copies the page tables of. */
static json_t *ballast_pair(const struct claim_ctx *cx, json_t **threads, json_t **unloaded)
{
	json_t *best = NULL, *c;
	size_t i;
	json_array_foreach(json_object_get(cx->doc, "results"), i, c)
	{
		if (!cell_ok(c) || !is_strategy(c, "processes") || ballast_of(c) <= 0)
			continue;
		json_t *t = partner(cx, c, "threads");
		if (t != NULL && (best == NULL || ballast_of(c) > ballast_of(best))) {
			best = c;
			*threads = t;
		}
	}
	*unloaded = NULL;
	json_array_foreach(json_object_get(cx->doc, "results"), i, c)
	{
		if (best != NULL && cell_ok(c) && is_strategy(c, "processes") &&
		    ballast_of(c) == 0 && strcmp(str(c, "workload"), str(best, "workload")) == 0 &&
		    workers_of(c) == workers_of(best) &&
		    json_equal(json_object_get(c, "params"), json_object_get(best, "params")))
			*unloaded = c;
	}
	return best;
}

#define HEAVIER 1.30 /* a ratio at or over this is "heavier" */
#define LIGHTER 1.10 /* at or under this, no meaningful difference */

static void judge_processes_heavier(const struct claim_ctx *cx, struct verdict *v)
{
	json_t *st = NULL, *it = NULL, *unloaded = NULL;
	/* Start-up from the parent-memory sweep where there is one. */
	json_t *sp = ballast_pair(cx, &st, &unloaded);
	if (sp == NULL)
		sp = widest_pair(cx, false, &st);
	json_t *ip = widest_pair(cx, true, &it);
	json_object_set_new(v->thresholds, "heavier_if_ratio_at_least", json_real(HEAVIER));
	json_object_set_new(v->thresholds, "no_difference_if_ratio_at_most", json_real(LIGHTER));
	if (sp == NULL || ip == NULL) {
		set(v, "not-measured",
		    "needs an io workload (http or sleep) under -s threads,processes with the same "
		    "-n of 2 or more");
		return;
	}
	json_array_append_new(v->cells, cell_ref(sp));
	json_array_append_new(v->cells, cell_ref(st));
	if (ip != sp) {
		json_array_append_new(v->cells, cell_ref(ip));
		json_array_append_new(v->cells, cell_ref(it));
	}
	if (unloaded != NULL)
		json_array_append_new(v->cells, cell_ref(unloaded));
	double start = mean_startup_s(sp) / mean_startup_s(st);
	double growth = unloaded != NULL ? mean_startup_s(sp) / mean_startup_s(unloaded) : NAN;
	char sweep[160] = "";
	if (unloaded != NULL)
		snprintf(sweep, sizeof(sweep),
		         " (with %ld MiB in the parent: fork start-up %.2f ms, %.1fx its %.2f ms "
		         "with none)",
		         ballast_of(sp), 1e3 * mean_startup_s(sp), growth,
		         1e3 * mean_startup_s(unloaded));
	double rss = median_of_samples(ip, "max_rss_kib") / median_of_samples(it, "max_rss_kib");
	double cpu = median_of_samples(ip, "cpu_s") / median_of_samples(it, "cpu_s");
	double wall = median_of_samples(ip, "wall_s") / median_of_samples(it, "wall_s");
	json_object_set_new(v->thresholds, "measured",
	                    json_pack("{s:f, s:f, s:f, s:f, s:I, s:o}", "startup_ratio", start,
	                              "io_peak_rss_ratio", rss, "io_cpu_time_ratio", cpu,
	                              "io_wall_ratio", wall, "startup_ballast_mb",
	                              (json_int_t)ballast_of(sp), "startup_growth_with_ballast",
	                              isfinite(growth) ? json_real(growth) : json_null()));
	bool start_heavier = start >= HEAVIER;
	bool io_heavier = rss >= HEAVIER || cpu >= HEAVIER || wall >= HEAVIER;
	const char *fmt = "start-up %.1fx a thread's%s; for %s at n=%ld: peak RSS %.2fx, CPU "
	                  "time %.2fx, wall %.2fx those of threads";
	if (!isfinite(start) || !isfinite(rss) || !isfinite(cpu))
		set(v, "inconclusive", "the cells lack start-up or sample figures");
	else if (start_heavier && io_heavier)
		set(v, "confirmed", fmt, start, sweep, str(ip, "workload"), workers_of(ip), rss,
		    cpu, wall);
	else if (start <= LIGHTER && rss <= LIGHTER && cpu <= LIGHTER && wall <= LIGHTER)
		set(v, "refuted", fmt, start, sweep, str(ip, "workload"), workers_of(ip), rss, cpu,
		    wall);
	else
		set(v, "inconclusive", fmt, start, sweep, str(ip, "workload"), workers_of(ip), rss,
		    cpu, wall);
}

/* The most tasks in flight that `strategy` completed on io workload w, and
 * whether it failed at a larger count. */
static long widest_completed(const struct claim_ctx *cx, const char *w, const char *strategy,
                             long *failed_at)
{
	json_t *c;
	size_t i;
	long best = 0;
	*failed_at = 0;
	json_array_foreach(json_object_get(cx->doc, "results"), i, c)
	{
		if (!is_strategy(c, strategy) || strcmp(str(c, "workload"), w) != 0)
			continue;
		if (cell_ok(c) && workers_of(c) > best)
			best = workers_of(c);
		if (!cell_ok(c) && workers_of(c) > *failed_at)
			*failed_at = workers_of(c);
	}
	return best;
}

/* Memory per task in flight: the slope between the narrowest and the widest
 * healthy cells of a strategy when there are two, so that the process's
 * fixed size does not count; else the peak over the count. */
static double memory_per_task_kib(const struct claim_ctx *cx, json_t *like, const char *strategy,
                                  bool *slope)
{
	json_t *lo = NULL, *hi = NULL, *c;
	size_t i;
	json_array_foreach(json_object_get(cx->doc, "results"), i, c)
	{
		if (!cell_ok(c) || !is_strategy(c, strategy) ||
		    strcmp(str(c, "workload"), str(like, "workload")) != 0 || !same_params(c, like))
			continue;
		if (lo == NULL || workers_of(c) < workers_of(lo))
			lo = c;
		if (hi == NULL || workers_of(c) > workers_of(hi))
			hi = c;
	}
	if (hi == NULL)
		return NAN;
	double rhi = median_of_samples(hi, "max_rss_kib");
	*slope = workers_of(hi) - workers_of(lo) >= 8;
	if (*slope)
		return (rhi - median_of_samples(lo, "max_rss_kib")) /
		       (double)(workers_of(hi) - workers_of(lo));
	return rhi / (double)workers_of(hi);
}

static void judge_eventloop_lighter(const struct claim_ctx *cx, struct verdict *v)
{
	/* The widest io cell the loop completed, with a threads cell beside it. */
	json_t *loop = NULL, *c;
	size_t i;
	json_array_foreach(json_object_get(cx->doc, "results"), i, c)
	{
		if (cell_ok(c) && is_strategy(c, "epoll") && is_kind(c, "io") &&
		    partner(cx, c, "threads") != NULL && workers_of(c) >= 2 &&
		    (loop == NULL || better_io_evidence(c, loop)))
			loop = c;
	}
	json_object_set_new(v->thresholds, "lighter_if_memory_ratio_at_least", json_real(HEAVIER));
	if (loop == NULL) {
		set(v, "not-measured",
		    "needs an io workload (http) under -s threads,epoll with the same -n of 2 or "
		    "more");
		return;
	}
	json_t *threads = partner(cx, loop, "threads");
	json_array_append_new(v->cells, cell_ref(loop));
	json_array_append_new(v->cells, cell_ref(threads));
	bool slope_l = false, slope_t = false;
	double mem_l = memory_per_task_kib(cx, loop, "epoll", &slope_l);
	double mem_t = memory_per_task_kib(cx, loop, "threads", &slope_t);
	double ratio = mem_t / fmax(mem_l, 1.0); /* under 1 KiB per task counts as 1 KiB */
	long t_fail, l_fail;
	long l_max = widest_completed(cx, str(loop, "workload"), "epoll", &l_fail);
	long t_max = widest_completed(cx, str(loop, "workload"), "threads", &t_fail);
	json_object_set_new(v->thresholds, "measured",
	                    json_pack("{s:f, s:f, s:b, s:I, s:I, s:I}", "epoll_kib_per_task", mem_l,
	                              "threads_kib_per_task", mem_t, "marginal", slope_l && slope_t,
	                              "epoll_widest_completed", (json_int_t)l_max,
	                              "threads_widest_completed", (json_int_t)t_max,
	                              "threads_failed_at", (json_int_t)t_fail));
	bool scales = l_max >= t_max;
	const char *fmt = "%s per task in flight: epoll %.0f KiB, threads %.0f KiB (%.2fx); "
	                  "widest completed: epoll %ld, threads %ld%s";
	char failed[64] = "";
	if (t_fail > t_max)
		snprintf(failed, sizeof(failed), " (threads failed at %ld)", t_fail);
	const char *how = slope_l && slope_t ? "added memory" : "peak memory";
	if (!isfinite(ratio))
		set(v, "inconclusive", "the cells lack memory figures");
	else if (ratio >= HEAVIER && scales)
		set(v, "confirmed", fmt, how, mem_l, mem_t, ratio, l_max, t_max, failed);
	else if (ratio <= 1.0 / LIGHTER || l_max < t_max)
		set(v, "refuted", fmt, how, mem_l, mem_t, ratio, l_max, t_max, failed);
	else
		set(v, "inconclusive", fmt, how, mem_l, mem_t, ratio, l_max, t_max, failed);
}

struct claim_rule {
	const char *id;
	const char *statement;
	cell_filter cells;
	void (*judge)(const struct claim_ctx *cx, json_t *cell, struct verdict *v);
	const char *needs; /* what a run must include for the claim to be measured */
	/* For claims that compare strategies: finds its own cells. */
	void (*judge_run)(const struct claim_ctx *cx, struct verdict *v);
};

static const struct claim_rule rules[] = {
    {"cpu-gil-no-speedup", "CPU-bound work gains nothing from threads under a GIL.", cpu_gil,
     judge_no_gain, "a cpu workload under -s gil with -n 2 or more", NULL},
    {"cpu-processes-parallel", "Processes give true parallelism for CPU-bound work.", cpu_processes,
     judge_parallel, "a cpu workload under -s processes with -n 2 or more", NULL},
    {"io-gil-overlaps",
     "Threads under a GIL still overlap I/O, because the lock is released while waiting.", io_gil,
     judge_io_overlap, "an io workload (e.g. sleep) under -s gil with -n 2 or more", NULL},
    {"processes-heavier",
     "Processes are heavier: their start-up costs more than a thread's, and for I/O they are "
     "less efficient.",
     NULL, NULL, NULL, judge_processes_heavier},
    {"cpu-eventloop-no-speedup",
     "The event loop runs on one core: CPU-bound work gains nothing from it.", cpu_epoll,
     judge_no_gain, "a cpu workload under -s epoll with -n 2 or more", NULL},
    {"eventloop-lighter",
     "The event loop uses less memory per concurrent task and scales to more concurrent tasks "
     "than threads.",
     NULL, NULL, NULL, judge_eventloop_lighter},
    {"release-gil-threads-useful",
     "C code that releases the GIL (NumPy-style) makes threads useful for CPU work again.",
     cpu_gil_released, judge_parallel,
     "a cpu workload under -s gil with -p WORKLOAD.release_gil=1 and -n 2 or more", NULL},
    {"gil-convoy",
     "With a CPU-bound thread running, an I/O-bound thread under the GIL waits about one "
     "switch interval per blocking call (the convoy effect).",
     mixed_gil, judge_convoy, "the mixed workload under -s gil with -n 2", NULL},
};

static json_t *evaluate_rule(const struct claim_ctx *cx, const struct claim_rule *r)
{
	struct verdict v = {.cells = json_array(), .thresholds = json_object()};
	json_t *cell = r->cells != NULL ? best_cell(cx, r->cells) : NULL;
	if (r->judge_run != NULL) {
		r->judge_run(cx, &v);
	} else if (cell == NULL) {
		v.verdict = "not-measured";
		snprintf(v.reason, sizeof(v.reason), "needs %s", r->needs);
	} else {
		json_array_append_new(v.cells, cell_ref(cell));
		r->judge(cx, cell, &v);
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:o, s:o}}", "id", r->id, "statement",
	                 r->statement, "verdict", v.verdict, "reason", v.reason, "evidence",
	                 "cells", v.cells, "thresholds", v.thresholds);
}

json_t *claims_evaluate(json_t *doc)
{
	struct claim_ctx cx = {.doc = doc};
	json_t *topo = json_object_get(json_object_get(doc, "machine"), "topology");
	cx.cores = (long)json_integer_value(json_object_get(topo, "cores"));
	cx.interval_s = dbl(json_object_get(doc, "config"), "switch_interval_us") * 1e-6;
	json_t *out = json_array();
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		json_array_append_new(out, evaluate_rule(&cx, &rules[i]));
	return out;
}

void claims_print(json_t *claims, FILE *out)
{
	size_t i;
	json_t *c;
	fprintf(out, "\nclaims (the seed article's, judged on this machine):\n");
	json_array_foreach(claims, i, c)
	{
		fprintf(out, "  %zu. %-13s %s\n", i + 1, str(c, "verdict"), str(c, "statement"));
		fprintf(out, "     %16s %s\n", "", str(c, "reason"));
	}
}

int cmd_claims(int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		fprintf(argc == 2 ? stdout : stderr, "usage: concbench claims FILE\n");
		return argc == 2 ? 0 : 2;
	}
	/* The loader `report` and `compare` use: the same checks, and bad JSON
	 * named as FILE:LINE:COLUMN. */
	struct result_file rf;
	char err[1024];
	if (result_file_load(argv[1], &rf, err, sizeof(err)) != 0) {
		fprintf(stderr, "concbench claims: %s\n", err);
		return 2;
	}
	json_t *claims = claims_evaluate(rf.doc);
	claims_print(claims, stdout);
	json_decref(claims);
	result_file_free(&rf);
	return 0;
}
