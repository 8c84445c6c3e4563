/* Each claim is a rule over the cells of one result document: which cells can
 * speak to it, the figure it reads from each (with that figure's 95% interval),
 * the thresholds it applies, and a verdict with the evidence. Working on the
 * JSON (not on live cells) makes every verdict reproducible from the file
 * alone, which is what `concbench claims FILE` does.
 *
 * A verdict follows from intervals, never from one point: a cell confirms
 * only when its whole interval lies on the confirming side of the claim's
 * threshold, refutes only when its whole interval lies past the refuting one,
 * and says nothing otherwise. A claim is confirmed when some counted cell
 * confirms and none refutes, refuted the other way round, and inconclusive
 * when its cells disagree or none is decisive. A noisy cell (CV over 10%)
 * counts only when no tight cell is decisive, so it cannot outvote one.
 *
 * The cells the claims need beyond the plain matrix (a release_gil variant,
 * the in-flight sweep, the parent-memory sweep) are the default suite's:
 * bench/suite.c, which names the strategies they are judged on. */
#include "readers/claims.h"
#include "readers/resultfile.h"
#include "readers/tasksweep.h"
#include "lib/stats.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Speedups at or under this are "no gain"; at or over REAL_GAIN they are a gain. */
#define NO_GAIN        1.10
#define REAL_GAIN      1.30
#define PARALLEL_SHARE 0.75 /* of min(workers, cores): "true parallelism" */
#define IO_OVERLAP     0.50 /* of min(workers, tasks): waits overlap */
#define NOISY_CV       0.10 /* a cell's wall-time CV over this makes it noisy */
/* Fewer repetitions than this give no interval worth the name: the median's
 * distribution-free interval at n = 5 is [min, max] and covers 93.75%. */
#define MIN_SAMPLES 5
/* The convoy (claim 8): confirmed when at least CONVOY_SHARE of the round
 * trips beside CPU work wait half a switch interval or more, and the stream
 * is at least CONVOY_SLOWDOWN times slower than alone. Real CPython 3.11 on a
 * 2-core VM showed 15% to 56% of round trips at half an interval and a mean
 * 11x to 54x slower: a tenth of the calls paying an interval is already a
 * stream several times slower, while a race won now and then stays under a
 * few percent. Refuted when the stream is within CONVOY_NONE of alone and the
 * share stays under CONVOY_SHARE. */
#define CONVOY_SHARE       0.10
#define CONVOY_SLOWDOWN    5.0
#define CONVOY_NONE        2.0
#define CONVOY_MIN_TRIPS   20   /* round trips per phase for an interval */
#define HEAVIER            1.30 /* a ratio at or over this is "heavier" */
#define LIGHTER            1.10 /* at or under this, no meaningful difference */
#define SLOPE_MIN_SPREAD   8    /* in-flight counts this far apart give memory per task */
#define REASON_CELLS_SHOWN 3    /* cells a reason names before "and N more" */

struct claim_ctx {
	json_t *doc;
	long cores;         /* of the machine the run was allowed to use */
	bool pinned_single; /* --pin single: every worker on one PU */
};

struct verdict {
	const char *verdict;
	char reason[720];
	json_t *cells;      /* evidence: the cells judged, each with its figure */
	json_t *excluded;   /* evidence: cells that could not speak, and why */
	json_t *thresholds; /* evidence: the bounds applied */
};

/* An estimate and its 95% interval. */
struct estimate {
	double value, lo, hi;
};

enum side { SIDE_NEITHER, SIDE_CONFIRMS, SIDE_REFUTES };

/* One cell's say in a claim. */
struct judged {
	json_t *cell;
	struct estimate fig;
	double confirm, refute; /* the thresholds this cell was held to */
	enum side side;
	bool noisy;
	bool counted;
};

/* ---- reading cells ---------------------------------------------------------- */

static double dbl_at(json_t *a, size_t i)
{
	json_t *v = json_array_get(a, i);
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

static long workers_of(json_t *c)
{
	return (long)json_integer_value(json_object_get(c, "workers"));
}

static long ballast_of(json_t *c)
{
	return (long)json_integer_value(json_object_get(c, "ballast_mb"));
}

static long repetitions_of(json_t *c)
{
	return (long)json_integer_value(json_object_get(json_object_get(c, "wall_s"), "n"));
}

static double cv_of(json_t *c)
{
	return rf_num(json_object_get(c, "wall_s"), "cv");
}

static bool is_kind(json_t *c, const char *kind)
{
	return strcmp(rf_str_or(c, "kind", ""), kind) == 0;
}

/* ---- judged twice: on the simulation and on the interpreter ------------------- */

/* Every claim is judged on the compiled strategies, then again with each
 * replaced by the Python strategy it stands for (py-*, runners/python.c):
 * while judging_python is set, a rule that asks for "gil" reads py-threads'
 * cells. One result document, one evaluation at a time. */
static bool judging_python;

static const struct {
	const char *compiled, *python;
} python_twin[] = {
    {"serial", "py-serial"},       {"gil", "py-threads"},   {"threads", "py-threads"},
    {"processes", "py-processes"}, {"epoll", "py-asyncio"},
};

static const char *as_judged(const char *s)
{
	for (size_t k = 0; judging_python && k < sizeof(python_twin) / sizeof(python_twin[0]); k++)
		if (strcmp(python_twin[k].compiled, s) == 0)
			return python_twin[k].python;
	return s;
}

static bool is_strategy(json_t *c, const char *s)
{
	return strcmp(rf_str_or(c, "strategy", ""), as_judged(s)) == 0;
}

static bool same_workload(json_t *a, json_t *b)
{
	return strcmp(rf_str_or(a, "workload", ""), rf_str_or(b, "workload", "")) == 0;
}

/* Same parameters, and the same memory in the parent. */
static bool same_params(json_t *a, json_t *b)
{
	return json_equal(json_object_get(a, "params"), json_object_get(b, "params")) &&
	       ballast_of(a) == ballast_of(b);
}

static json_t *results(const struct claim_ctx *cx)
{
	return json_object_get(cx->doc, "results");
}

/* The healthy cell of `strategy` that matches `like` in workload, workers
 * (any worker count when workers is 0) and the parent's memory, and in
 * params when same_sizes; else the plain matrix cell (no variant). */
static json_t *find_partner(const struct claim_ctx *cx, json_t *like, const char *strategy,
                            long workers, bool same_sizes)
{
	json_t *c;
	size_t i;
	json_array_foreach(results(cx), i, c)
	{
		if (cell_ok(c) && is_strategy(c, strategy) && same_workload(c, like) &&
		    (workers == 0 || workers_of(c) == workers) &&
		    (same_sizes ? same_params(c, like)
		                : ballast_of(c) == ballast_of(like) &&
		                      rf_str_or(c, "variant", "")[0] == '\0'))
			return c;
	}
	return NULL;
}

/* The partner at the same parameters. */
static json_t *partner(const struct claim_ctx *cx, json_t *like, const char *strategy, long workers)
{
	return find_partner(cx, like, strategy, workers, true);
}

static struct estimate speedup_interval(json_t *c)
{
	json_t *ci = json_object_get(c, "speedup_ci95");
	return (struct estimate){rf_num(c, "speedup_vs_serial"), dbl_at(ci, 0), dbl_at(ci, 1)};
}

static bool interval_known(struct estimate iv)
{
	return isfinite(iv.value) && isfinite(iv.lo) && isfinite(iv.hi);
}

/* A cell is noisy when its own wall time or its serial base's varies by more
 * than NOISY_CV: its speedup's interval is then wide, and it may still speak,
 * but not over a tight cell. */
static bool noisy(const struct claim_ctx *cx, json_t *c)
{
	json_t *base = partner(cx, c, "serial", 0);
	return cv_of(c) > NOISY_CV || (base != NULL && cv_of(base) > NOISY_CV);
}

/* ---- evidence ---------------------------------------------------------------- */

static json_t *cell_ref(json_t *c)
{
	return json_pack("{s:s, s:s, s:I, s:O, s:I}", "workload", rf_str_or(c, "workload", ""),
	                 "strategy", rf_str_or(c, "strategy", ""), "workers",
	                 (json_int_t)workers_of(c), "params", json_object_get(c, "params"),
	                 "ballast_mb", (json_int_t)ballast_of(c));
}

static json_t *num(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static const char *side_name(enum side s)
{
	return s == SIDE_CONFIRMS ? "confirms" : s == SIDE_REFUTES ? "refutes" : "neither";
}

static void add_judged(struct verdict *v, const struct judged *j, const char *figure)
{
	json_t *ref = cell_ref(j->cell);
	json_object_set_new(ref, "figure",
	                    json_pack("{s:s, s:o, s:[o,o]}", "name", figure, "value",
	                              num(j->fig.value), "ci95", num(j->fig.lo), num(j->fig.hi)));
	json_object_set_new(ref, "side", json_string(side_name(j->side)));
	json_object_set_new(ref, "noisy", json_boolean(j->noisy));
	json_object_set_new(ref, "counted", json_boolean(j->counted));
	json_array_append_new(v->cells, ref);
}

static void exclude(struct verdict *v, json_t *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void exclude(struct verdict *v, json_t *c, const char *fmt, ...)
{
	char why[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	json_t *ref = cell_ref(c);
	json_object_set_new(ref, "why", json_string(why));
	json_array_append_new(v->excluded, ref);
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

/* Appends to a reason already begun. */
static void append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	if (used + 1 >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static void cell_label(json_t *c, char *buf, size_t len)
{
	const char *variant = rf_str_or(c, "variant", "");
	snprintf(buf, len, "%s%s%s %s n=%ld", rf_str_or(c, "workload", ""), variant[0] ? ":" : "",
	         variant, rf_str_or(c, "strategy", ""), workers_of(c));
	if (ballast_of(c) > 0)
		append(buf, len, " ballast=%ldM", ballast_of(c));
}

/* "primes gil n=2: 1.02x [0.95, 1.08]" */
static void describe(const struct judged *j, const char *unit, char *buf, size_t len)
{
	char label[96];
	cell_label(j->cell, label, sizeof(label));
	snprintf(buf, len, "%s: %.2f%s [%.2f, %.2f]", label, j->fig.value, unit, j->fig.lo,
	         j->fig.hi);
}

/* ---- judging one figure against two thresholds ------------------------------ */

/* For a claim that a figure stays low ("no gain"), confirm_below is true: the
 * cell confirms when its interval lies at or under `confirm` and refutes when
 * it lies at or over `refute`. The other way round for a claim that the
 * figure is high. */
static enum side side_of(struct estimate iv, double confirm, double refute, bool confirm_below)
{
	if (confirm_below) {
		if (iv.hi <= confirm)
			return SIDE_CONFIRMS;
		if (iv.lo >= refute)
			return SIDE_REFUTES;
	} else {
		if (iv.lo >= confirm)
			return SIDE_CONFIRMS;
		if (iv.hi <= refute)
			return SIDE_REFUTES;
	}
	return SIDE_NEITHER;
}

/* Which cells count: the tight ones when any tight cell is decisive, else all. */
static void choose_counted(struct judged *j, size_t n)
{
	bool tight_decisive = false;
	for (size_t i = 0; i < n; i++)
		if (!j[i].noisy && j[i].side != SIDE_NEITHER)
			tight_decisive = true;
	for (size_t i = 0; i < n; i++)
		j[i].counted = !tight_decisive || !j[i].noisy;
}

/* Names up to REASON_CELLS_SHOWN counted cells on `side`, with the threshold
 * each was held to. */
static void name_cells(char *buf, size_t len, const struct judged *j, size_t n, enum side side,
                       bool confirm_below, const char *unit)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		if (!j[i].counted || j[i].side != side || ++total > REASON_CELLS_SHOWN)
			continue;
		char d[160];
		describe(&j[i], unit, d, sizeof(d));
		bool below = (side == SIDE_CONFIRMS) == confirm_below;
		double t = side == SIDE_CONFIRMS ? j[i].confirm : j[i].refute;
		append(buf, len, "%s%s %s %.2f%s", total > 1 ? "; " : "", d, below ? "<=" : ">=", t,
		       unit);
	}
	if (total > REASON_CELLS_SHOWN)
		append(buf, len, "; and %zu more", total - REASON_CELLS_SHOWN);
}

/* Where an interval stands against two thresholds: "straddles 1.10x and
 * 1.50x", "straddles 1.10x" or "lies between 1.10x and 1.50x". Figures are
 * multiplied by scale for printing (100 for a share in %). */
static void straddled(char *buf, size_t len, struct estimate e, double ta, double tb, double scale,
                      const char *unit)
{
	double t1 = fmin(ta, tb), t2 = fmax(ta, tb);
	bool over1 = e.lo <= t1 && e.hi >= t1;
	bool over2 = e.lo <= t2 && e.hi >= t2;
	if (over1 && over2)
		append(buf, len, "straddles %.2f%s and %.2f%s", scale * t1, unit, scale * t2, unit);
	else if (over1 || over2)
		append(buf, len, "straddles %.2f%s", scale * (over1 ? t1 : t2), unit);
	else
		append(buf, len, "lies between %.2f%s and %.2f%s", scale * t1, unit, scale * t2,
		       unit);
}

/* The first counted cell whose interval straddles a threshold: which interval
 * straddled which. */
static void name_straddler(char *buf, size_t len, const struct judged *j, size_t n,
                           const char *unit)
{
	for (size_t i = 0; i < n; i++) {
		if (!j[i].counted || j[i].side != SIDE_NEITHER)
			continue;
		char d[160];
		describe(&j[i], unit, d, sizeof(d));
		append(buf, len, "%s ", d);
		straddled(buf, len, j[i].fig, j[i].confirm, j[i].refute, 1, unit);
		return;
	}
}

static size_t count_side(const struct judged *j, size_t n, enum side side)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += j[i].counted && j[i].side == side;
	return k;
}

static size_t count_noisy_left_out(const struct judged *j, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += !j[i].counted;
	return k;
}

/* The verdict from the judged cells, with a reason that names them. */
static void combine(struct verdict *v, struct judged *j, size_t n, bool confirm_below,
                    const char *figure, const char *unit)
{
	choose_counted(j, n);
	for (size_t i = 0; i < n; i++)
		add_judged(v, &j[i], figure);
	size_t yes = count_side(j, n, SIDE_CONFIRMS), no = count_side(j, n, SIDE_REFUTES);
	size_t counted = n - count_noisy_left_out(j, n);
	char why[sizeof(v->reason)] = "";
	if (yes > 0 && no == 0) {
		snprintf(why, sizeof(why), "%zu of %zu cells confirm, none refutes: ", yes,
		         counted);
		name_cells(why, sizeof(why), j, n, SIDE_CONFIRMS, confirm_below, unit);
		v->verdict = "confirmed";
	} else if (no > 0 && yes == 0) {
		snprintf(why, sizeof(why), "%zu of %zu cells refute, none confirms: ", no, counted);
		name_cells(why, sizeof(why), j, n, SIDE_REFUTES, confirm_below, unit);
		v->verdict = "refuted";
	} else if (yes > 0) {
		snprintf(why, sizeof(why), "the cells disagree: ");
		name_cells(why, sizeof(why), j, n, SIDE_CONFIRMS, confirm_below, unit);
		append(why, sizeof(why), " confirm%s, but ", yes == 1 ? "s" : "");
		name_cells(why, sizeof(why), j, n, SIDE_REFUTES, confirm_below, unit);
		append(why, sizeof(why), " refute%s", no == 1 ? "s" : "");
		v->verdict = "inconclusive";
	} else {
		snprintf(why, sizeof(why), "no interval is decisive (%zu cell%s): ", counted,
		         counted == 1 ? "" : "s");
		name_straddler(why, sizeof(why), j, n, unit);
		append(why, sizeof(why), "; more repetitions (-r) narrow the intervals");
		v->verdict = "inconclusive";
	}
	size_t left_out = count_noisy_left_out(j, n);
	if (left_out > 0)
		append(why, sizeof(why), " (%zu noisy cell%s not counted beside tight ones)",
		       left_out, left_out == 1 ? "" : "s");
	snprintf(v->reason, sizeof(v->reason), "%s", why);
}

/* ---- what the machine and the run allow ------------------------------------ */

/* Parallelism needs two cores the run may use, and workers spread over them. */
static bool parallelism_measurable(const struct claim_ctx *cx, struct verdict *v)
{
	if (cx->pinned_single) {
		set(v, "not-measurable",
		    "--pin single puts every worker on one PU: parallelism cannot show");
		return false;
	}
	if (cx->cores < 2) {
		set(v, "not-measurable",
		    "the run was allowed %ld core: parallelism cannot show (taskset, cpuset or "
		    "a one-core machine)",
		    cx->cores);
		return false;
	}
	return true;
}

static int usable_cores(const struct claim_ctx *cx, json_t *c)
{
	long w = workers_of(c);
	return (int)(w < cx->cores ? w : cx->cores);
}

/* ---- claims judged on speedups (1, 2, 3, 5, 7) ------------------------------ */

typedef bool (*cell_filter)(json_t *cell);

struct speedup_claim {
	cell_filter keep;
	bool confirm_below;  /* a "no gain" claim */
	bool needs_parallel; /* not measurable on one core or under --pin single */
	/* The thresholds for one cell. */
	void (*thresholds)(const struct claim_ctx *cx, json_t *c, double *confirm, double *refute);
};

static void no_gain_thresholds(const struct claim_ctx *cx, json_t *c, double *confirm,
                               double *refute)
{
	(void)cx;
	(void)c;
	*confirm = NO_GAIN;
	*refute = REAL_GAIN;
}

static void parallel_thresholds(const struct claim_ctx *cx, json_t *c, double *confirm,
                                double *refute)
{
	*confirm = PARALLEL_SHARE * usable_cores(cx, c);
	*refute = NO_GAIN;
}

static void overlap_thresholds(const struct claim_ctx *cx, json_t *c, double *confirm,
                               double *refute)
{
	(void)cx;
	double tasks = rf_num(c, "tasks");
	double w = (double)workers_of(c);
	*confirm = IO_OVERLAP * fmin(w, isfinite(tasks) ? tasks : w);
	*refute = NO_GAIN;
}

/* The figure that would show the strategy gaining: a workload that plain
 * threads (no lock, same workers) cannot bring there on this machine (triad
 * capped by memory bandwidth, warm file reads by the copy) says nothing about
 * the strategy either way. */
static double gain_ceiling_needed(const struct speedup_claim *k, double confirm, double refute)
{
	return k->confirm_below ? refute : confirm;
}

/* The cell that shows how far the workload itself lets cell c's workers gain:
 * compiled threads without a lock, same workload and workers. On the
 * interpreter "threads" would read py-threads, which the real GIL caps, and
 * would exclude every cell; the ceiling is the machine's and the workload's,
 * so it is read from C's threads, at the same sizes when the run has them,
 * else at C's sizes. */
static json_t *ceiling_of(const struct claim_ctx *cx, json_t *c)
{
	bool was = judging_python;
	judging_python = false;
	json_t *t = partner(cx, c, "threads", workers_of(c));
	if (t == NULL && was)
		t = find_partner(cx, c, "threads", workers_of(c), false);
	judging_python = was;
	return t;
}

/* Why cell c cannot speak to the claim, or NULL when it can. */
static const char *cannot_speak(const struct claim_ctx *cx, const struct speedup_claim *k,
                                json_t *c, double confirm, double refute, char *buf, size_t len)
{
	if (repetitions_of(c) < MIN_SAMPLES) {
		snprintf(buf, len, "%ld repetitions: too few for an interval (at least %d)",
		         repetitions_of(c), MIN_SAMPLES);
		return buf;
	}
	if (!interval_known(speedup_interval(c))) {
		snprintf(buf, len, "no speedup interval (no serial cell to compare with)");
		return buf;
	}
	json_t *t = is_strategy(c, "threads") ? NULL : ceiling_of(cx, c);
	double needed = gain_ceiling_needed(k, confirm, refute);
	struct estimate tiv = t != NULL ? speedup_interval(t) : (struct estimate){NAN, NAN, NAN};
	if (t != NULL && repetitions_of(t) >= MIN_SAMPLES && interval_known(tiv) &&
	    tiv.hi < needed) {
		snprintf(buf, len,
		         "even threads without a lock reach only %.2fx [%.2f, %.2f] < %.2fx here: "
		         "the workload cannot show it",
		         tiv.value, tiv.lo, tiv.hi, needed);
		return buf;
	}
	return NULL;
}

static void judge_speedup_claim(const struct claim_ctx *cx, const struct speedup_claim *k,
                                const char *needs, struct verdict *v)
{
	json_t *c;
	size_t i, n = 0;
	struct judged *j = calloc(json_array_size(results(cx)) + 1, sizeof(*j));
	bool any = false;
	if (j == NULL) {
		set(v, "inconclusive", "out of memory");
		return;
	}
	json_array_foreach(results(cx), i, c)
	{
		if (!cell_ok(c) || !k->keep(c) || workers_of(c) < 2)
			continue;
		any = true;
		double confirm, refute;
		char why[200];
		k->thresholds(cx, c, &confirm, &refute);
		if (cannot_speak(cx, k, c, confirm, refute, why, sizeof(why)) != NULL) {
			exclude(v, c, "%s", why);
			continue;
		}
		struct estimate iv = speedup_interval(c);
		j[n++] = (struct judged){.cell = c,
		                         .fig = iv,
		                         .confirm = confirm,
		                         .refute = refute,
		                         .side = side_of(iv, confirm, refute, k->confirm_below),
		                         .noisy = noisy(cx, c)};
	}
	json_object_set_new(v->thresholds, "method",
	                    json_string("speedup's 95% interval (speedup_ci95) against each "
	                                "threshold; noisy cells (CV > 10%) count only when no "
	                                "tight cell is decisive"));
	if (!any)
		set(v, "not-measured", "needs %s", needs);
	else if (n == 0)
		set(v, "not-measured",
		    "no cell could speak to it (see evidence.excluded): needs %s", needs);
	else
		combine(v, j, n, k->confirm_below, "speedup_vs_serial", "x");
	free(j);
}

static bool cpu_gil(json_t *c)
{
	return is_kind(c, "cpu") && is_strategy(c, "gil") && param(c, "release_gil") == 0;
}
static bool cpu_gil_released(json_t *c)
{
	return is_kind(c, "cpu") && is_strategy(c, "gil") && param(c, "release_gil") == 1;
}
/* The task-size sweep's cells cut the work into tasks too small to tell
 * parallelism from the pool's overhead: claim 9's, not claim 2's. */
static bool in_task_sweep(json_t *c)
{
	return task_sweep_variant(rf_str_or(c, "variant", ""));
}
static bool cpu_processes(json_t *c)
{
	return is_kind(c, "cpu") && is_strategy(c, "processes") && param(c, "release_gil") == 0 &&
	       !in_task_sweep(c);
}
static bool cpu_epoll(json_t *c)
{
	return is_kind(c, "cpu") && is_strategy(c, "epoll");
}
static bool io_gil(json_t *c)
{
	return is_kind(c, "io") && is_strategy(c, "gil");
}

static const struct speedup_claim gil_no_gain = {cpu_gil, true, true, no_gain_thresholds};
static const struct speedup_claim processes_parallel = {cpu_processes, false, true,
                                                        parallel_thresholds};
static const struct speedup_claim gil_overlaps_io = {io_gil, false, false, overlap_thresholds};
static const struct speedup_claim loop_no_gain = {cpu_epoll, true, true, no_gain_thresholds};
static const struct speedup_claim released_parallel = {cpu_gil_released, false, true,
                                                       parallel_thresholds};

static void judge_with(const struct claim_ctx *cx, const struct speedup_claim *k, const char *needs,
                       struct verdict *v)
{
	if (k->confirm_below) {
		json_object_set_new(v->thresholds, "confirmed_if_speedup_interval_at_most",
		                    json_real(NO_GAIN));
		json_object_set_new(v->thresholds, "refuted_if_speedup_interval_at_least",
		                    json_real(REAL_GAIN));
	} else {
		json_object_set_new(v->thresholds, "confirmed_if_speedup_interval_at_least",
		                    json_string(k->thresholds == parallel_thresholds
		                                    ? "0.75 x min(workers, cores)"
		                                    : "0.5 x min(workers, tasks)"));
		json_object_set_new(v->thresholds, "refuted_if_speedup_interval_at_most",
		                    json_real(NO_GAIN));
	}
	if (k->needs_parallel && !parallelism_measurable(cx, v))
		return;
	judge_speedup_claim(cx, k, needs, v);
}

static void judge_gil_no_gain(const struct claim_ctx *cx, struct verdict *v)
{
	judge_with(cx, &gil_no_gain, "a cpu workload under -s gil with -n 2 or more", v);
}
static void judge_processes_parallel(const struct claim_ctx *cx, struct verdict *v)
{
	judge_with(cx, &processes_parallel, "a cpu workload under -s processes with -n 2 or more",
	           v);
}
static void judge_gil_overlaps(const struct claim_ctx *cx, struct verdict *v)
{
	judge_with(cx, &gil_overlaps_io,
	           "an io workload (e.g. sleep) under -s gil with -n 2 or more", v);
}
static void judge_loop_no_gain(const struct claim_ctx *cx, struct verdict *v)
{
	judge_with(cx, &loop_no_gain, "a cpu workload under -s epoll with -n 2 or more", v);
}
static void judge_released_parallel(const struct claim_ctx *cx, struct verdict *v)
{
	judge_with(cx, &released_parallel,
	           "a cpu workload under -s gil with -p WORKLOAD.release_gil=1 and -n 2 or more",
	           v);
}

/* ---- ratios of two cells' figures (claims 4 and 6) -------------------------- */

/* The median of a figure over a JSON array of numbers, with the median's
 * distribution-free interval. */
static bool summary_of_array(json_t *a, const char *field, struct summary *out)
{
	size_t n = json_array_size(a), k = 0, i;
	double *x = calloc(n + 1, sizeof(*x));
	json_t *e;
	if (x == NULL) {
		summarize(NULL, 0, out); /* all NAN: no figure */
		return false;
	}
	json_array_foreach(a, i, e)
	{
		double v;
		if (field == NULL)
			v = json_is_number(e) ? json_number_value(e) : NAN;
		else if (strcmp(field, "cpu_s") == 0)
			v = rf_num(e, "user_s") + rf_num(e, "sys_s");
		else
			v = rf_num(e, field);
		if (isfinite(v))
			x[k++] = v;
	}
	summarize(x, k, out);
	free(x);
	return k >= MIN_SAMPLES;
}

static bool sample_summary(json_t *c, const char *field, struct summary *out)
{
	return summary_of_array(json_object_get(c, "samples"), field, out);
}

/* Every counted repetition's start-ups where the file has them, else the
 * latest repetition's. */
static bool startup_summary(json_t *c, struct summary *out)
{
	json_t *placement = json_object_get(c, "placement");
	json_t *all = json_object_get(placement, "worker_startup_all_s");
	if (json_array_size(all) > 0)
		return summary_of_array(all, NULL, out);
	return summary_of_array(json_object_get(placement, "worker_startup_s"), NULL, out);
}

/* a's median over b's, with the interval that pairs the pessimistic ends of
 * the two medians' intervals: the same construction as speedup_ci95. */
static struct estimate ratio_of(const struct summary *a, const struct summary *b)
{
	struct ratio r = speedup_of(a, b); /* speedup_of(base, cell) is base over cell */
	return (struct estimate){r.value, r.lo, r.hi};
}

static json_t *interval_json(struct estimate iv)
{
	return json_pack("{s:o, s:[o,o]}", "value", num(iv.value), "ci95", num(iv.lo), num(iv.hi));
}

/* The pair (processes, threads) with the most workers, among io cells when
 * io_only. */
static bool better_io_evidence(json_t *c, json_t *than)
{
	bool net_c = json_object_get(c, "connections") != NULL;
	bool net_t = json_object_get(than, "connections") != NULL;
	if (net_c != net_t)
		return net_c;
	return workers_of(c) > workers_of(than);
}

static json_t *widest_pair(const struct claim_ctx *cx, bool io_only, json_t **threads)
{
	json_t *best = NULL, *c;
	size_t i;
	json_array_foreach(results(cx), i, c)
	{
		if (!cell_ok(c) || !is_strategy(c, "processes") || workers_of(c) < 2 ||
		    ballast_of(c) != 0 || (io_only && !is_kind(c, "io")))
			continue;
		json_t *t = partner(cx, c, "threads", workers_of(c));
		if (t != NULL && (best == NULL || (io_only ? better_io_evidence(c, best)
		                                           : workers_of(c) > workers_of(best)))) {
			best = c;
			*threads = t;
		}
	}
	return best;
}

/* The strategy's cell with the most memory in the parent and the same cell
 * without: how a start method's start-up grows with the parent's memory. */
static json_t *ballast_pair_of(const struct claim_ctx *cx, const char *strategy, json_t **unloaded)
{
	json_t *best = NULL, *c;
	size_t i;
	*unloaded = NULL;
	json_array_foreach(results(cx), i, c)
	{
		if (cell_ok(c) && is_strategy(c, strategy) && ballast_of(c) > 0 &&
		    (best == NULL || ballast_of(c) > ballast_of(best)))
			best = c;
	}
	json_array_foreach(results(cx), i, c)
	{
		if (best != NULL && cell_ok(c) && is_strategy(c, strategy) && ballast_of(c) == 0 &&
		    same_workload(c, best) && workers_of(c) == workers_of(best) &&
		    json_equal(json_object_get(c, "params"), json_object_get(best, "params")))
			*unloaded = c;
	}
	return *unloaded != NULL ? best : NULL;
}

/* The processes cell with the most memory in the parent and the same cell
 * without: how fork's start-up grows with what it copies the page tables of. */
static json_t *ballast_pair(const struct claim_ctx *cx, json_t **unloaded)
{
	return ballast_pair_of(cx, "processes", unloaded);
}

/* "with 256 MiB in the parent, fork start-up 11.2 ms, 9.5x [8.1, 12.0] its
 * 1.18 ms with none" */
static void describe_ballast_growth(const struct claim_ctx *cx, struct verdict *v, char *buf,
                                    size_t len)
{
	json_t *unloaded, *loaded = ballast_pair(cx, &unloaded);
	struct summary sl, su;
	buf[0] = '\0';
	if (loaded == NULL)
		return;
	startup_summary(loaded, &sl);
	startup_summary(unloaded, &su);
	struct estimate g = ratio_of(&sl, &su);
	json_array_append_new(v->cells, cell_ref(loaded));
	json_array_append_new(v->cells, cell_ref(unloaded));
	json_t *m = json_object_get(v->thresholds, "measured");
	json_object_set_new(m, "startup_ballast_mb", json_integer((json_int_t)ballast_of(loaded)));
	json_object_set_new(m, "startup_growth_with_ballast", interval_json(g));
	snprintf(buf, len,
	         "; with %ld MiB in the parent, fork start-up %.2f ms, %.1fx [%.1f, %.1f] its "
	         "%.2f ms with none",
	         ballast_of(loaded), 1e3 * sl.median, g.value, g.lo, g.hi, 1e3 * su.median);
}

/* ---- claim 4: the start methods against the parent's memory ------------------ */

#define START_FLAT 2.0 /* start-up that grows less than this with the ballast stays flat */

struct start_method_figure {
	const char *strategy, *python; /* the cells' strategy, what Python calls it */
	struct summary with, without;
	struct estimate growth;
	bool known;
	const char *shape; /* "grows", "flat" or "unclear" */
};

static void start_method_figure(const struct claim_ctx *cx, struct verdict *v,
                                struct start_method_figure *f)
{
	json_t *unloaded, *loaded = ballast_pair_of(cx, f->strategy, &unloaded);
	f->known = false;
	f->shape = "unclear";
	if (loaded == NULL)
		return;
	bool known_l = startup_summary(loaded, &f->with);
	bool known_u = startup_summary(unloaded, &f->without);
	f->growth = ratio_of(&f->with, &f->without);
	f->known = known_l && known_u && interval_known(f->growth);
	if (f->known && f->growth.lo >= START_FLAT)
		f->shape = "grows";
	else if (f->known && f->growth.hi <= START_FLAT)
		f->shape = "flat";
	json_t *m = json_object_get(v->thresholds, "measured");
	json_t *methods = json_object_get(m, "start_methods");
	if (methods == NULL) {
		methods = json_object();
		json_object_set_new(m, "start_methods", methods);
	}
	json_object_set_new(methods, f->strategy,
	                    json_pack("{s:s, s:I, s:o, s:o, s:o, s:s}", "python", f->python,
	                              "ballast_mb", (json_int_t)ballast_of(loaded),
	                              "startup_s_with", num(f->with.median), "startup_s_without",
	                              num(f->without.median), "growth", interval_json(f->growth),
	                              "shape", f->shape));
	json_array_append_new(v->cells, cell_ref(loaded));
	json_array_append_new(v->cells, cell_ref(unloaded));
}

/* "; start-up with 1024 MiB in the parent: fork 30.5 ms, 24x [18, 40] its
 * figure without (grows), forkserver 1.2 ms, 1.0x [0.9, 1.2] (flat), ..." and
 * whether spawn's fixed cost (without ballast) is wholly above the others'. */
static void describe_start_methods(const struct claim_ctx *cx, struct verdict *v, char *why,
                                   size_t len)
{
	struct start_method_figure f[] = {{.strategy = "processes", .python = "fork"},
	                                  {.strategy = "forkserver", .python = "forkserver"},
	                                  {.strategy = "spawn", .python = "spawn"}};
	size_t n = sizeof(f) / sizeof(f[0]);
	bool any = false;
	for (size_t k = 0; k < n; k++) {
		start_method_figure(cx, v, &f[k]);
		if (!f[k].known)
			continue;
		append(why, len, "%s %s %.2f ms, %.1fx [%.1f, %.1f] (%s)",
		       any ? "," : "; start-up against the parent's memory:", f[k].python,
		       1e3 * f[k].with.median, f[k].growth.value, f[k].growth.lo, f[k].growth.hi,
		       f[k].shape);
		any = true;
	}
	if (!f[0].known || !f[1].known || !f[2].known)
		return;
	bool highest =
	    f[2].without.ci_lo > f[0].without.ci_hi && f[2].without.ci_lo > f[1].without.ci_hi;
	json_object_set_new(json_object_get(v->thresholds, "measured"), "spawn_fixed_cost_highest",
	                    json_boolean(highest));
	append(why, len, "; spawn's fixed cost %.2f ms %s", 1e3 * f[2].without.median,
	       highest ? "the highest" : "not wholly above fork's and forkserver's");
}

/* One ratio of the processes cell's figure over the threads cell's. */
struct heavier_figure {
	const char *name;
	struct estimate iv;
	bool known;
};

static struct heavier_figure io_ratio(json_t *p, json_t *t, const char *field, const char *name)
{
	struct summary sp, st;
	struct heavier_figure f = {.name = name};
	/* Both read before either is judged, so that neither summary is left unset. */
	bool known_p = sample_summary(p, field, &sp);
	bool known_t = sample_summary(t, field, &st);
	f.known = known_p && known_t;
	f.iv = ratio_of(&sp, &st);
	f.known = f.known && interval_known(f.iv);
	return f;
}

static void judge_processes_heavier(const struct claim_ctx *cx, struct verdict *v)
{
	json_t *st = NULL, *it = NULL;
	json_t *sp = widest_pair(cx, false, &st);
	json_t *ip = widest_pair(cx, true, &it);
	json_object_set_new(v->thresholds, "heavier_if_ratio_interval_at_least",
	                    json_real(HEAVIER));
	json_object_set_new(v->thresholds, "no_difference_if_ratio_interval_at_most",
	                    json_real(LIGHTER));
	json_object_set_new(v->thresholds, "method",
	                    json_string("ratios of medians, with intervals that pair the "
	                                "pessimistic ends of the two medians' 95% intervals"));
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
	struct summary ssp, sst;
	struct heavier_figure f[4] = {{.name = "start-up"},
	                              io_ratio(ip, it, "max_rss_kib", "peak RSS"),
	                              io_ratio(ip, it, "cpu_s", "CPU time"),
	                              io_ratio(ip, it, "wall_s", "wall")};
	bool known_p = startup_summary(sp, &ssp);
	bool known_t = startup_summary(st, &sst);
	f[0].known = known_p && known_t;
	f[0].iv = ratio_of(&ssp, &sst);
	f[0].known = f[0].known && interval_known(f[0].iv);
	json_object_set_new(
	    v->thresholds, "measured",
	    json_pack("{s:o, s:o, s:o, s:o}", "startup_ratio", interval_json(f[0].iv),
	              "io_peak_rss_ratio", interval_json(f[1].iv), "io_cpu_time_ratio",
	              interval_json(f[2].iv), "io_wall_ratio", interval_json(f[3].iv)));
	char sweep[200];
	describe_ballast_growth(cx, v, sweep, sizeof(sweep));
	if (!f[0].known || !f[1].known || !f[2].known) {
		set(v, "inconclusive",
		    "the cells lack start-up or sample figures for an interval (at least %d "
		    "workers and %d repetitions)",
		    MIN_SAMPLES, MIN_SAMPLES);
		return;
	}
	bool start_heavier = f[0].iv.lo >= HEAVIER;
	bool start_same = f[0].iv.hi <= LIGHTER;
	bool io_heavier = false, io_same = true;
	for (int k = 1; k < 4; k++) {
		io_heavier = io_heavier || (f[k].known && f[k].iv.lo >= HEAVIER);
		io_same = io_same && f[k].known && f[k].iv.hi <= LIGHTER;
	}
	char why[sizeof(v->reason)];
	snprintf(why, sizeof(why),
	         "start-up %.1fx [%.1f, %.1f] a thread's (n=%ld)%s; for %s at n=%ld:",
	         f[0].iv.value, f[0].iv.lo, f[0].iv.hi, workers_of(sp), sweep,
	         rf_str_or(ip, "workload", ""), workers_of(ip));
	for (int k = 1; k < 4; k++)
		append(why, sizeof(why), "%s %s %.2fx [%.2f, %.2f]", k > 1 ? "," : "", f[k].name,
		       f[k].iv.value, f[k].iv.lo, f[k].iv.hi);
	append(why, sizeof(why), " those of threads");
	describe_start_methods(cx, v, why, sizeof(why));
	if (start_heavier && io_heavier)
		set(v, "confirmed", "%s", why);
	else if (start_same && io_same)
		set(v, "refuted", "%s", why);
	else
		set(v, "inconclusive",
		    "%s (heavier needs start-up and one I/O figure wholly >= "
		    "%.2fx; no difference needs all wholly <= %.2fx)",
		    why, HEAVIER, LIGHTER);
}

/* The most tasks in flight that `strategy` completed on io workload w, and
 * whether it failed at a larger count. */
static long widest_completed(const struct claim_ctx *cx, json_t *like, const char *strategy,
                             long *failed_at)
{
	json_t *c;
	size_t i;
	long best = 0;
	*failed_at = 0;
	json_array_foreach(results(cx), i, c)
	{
		if (!is_strategy(c, strategy) || !same_workload(c, like))
			continue;
		if (cell_ok(c) && workers_of(c) > best)
			best = workers_of(c);
		if (!cell_ok(c) && workers_of(c) > *failed_at)
			*failed_at = workers_of(c);
	}
	return best;
}

/* Memory added per task in flight: the slope of peak RSS between the narrowest
 * and the widest healthy cells of a strategy, so that the process's fixed size
 * does not count. The interval pairs the ends of the two medians' intervals.
 * False when the cells are too close in count or too few in repetitions. */
static bool memory_per_task_kib(const struct claim_ctx *cx, json_t *like, const char *strategy,
                                struct estimate *out)
{
	json_t *lo = NULL, *hi = NULL, *c;
	size_t i;
	json_array_foreach(results(cx), i, c)
	{
		if (!cell_ok(c) || !is_strategy(c, strategy) || !same_workload(c, like) ||
		    !same_params(c, like))
			continue;
		if (lo == NULL || workers_of(c) < workers_of(lo))
			lo = c;
		if (hi == NULL || workers_of(c) > workers_of(hi))
			hi = c;
	}
	struct summary sl, sh;
	if (hi == NULL || workers_of(hi) - workers_of(lo) < SLOPE_MIN_SPREAD ||
	    !sample_summary(lo, "max_rss_kib", &sl) || !sample_summary(hi, "max_rss_kib", &sh))
		return false;
	double spread = (double)(workers_of(hi) - workers_of(lo));
	*out = (struct estimate){(sh.median - sl.median) / spread, (sh.ci_lo - sl.ci_hi) / spread,
	                         (sh.ci_hi - sl.ci_lo) / spread};
	return true;
}

/* threads' memory per task over the loop's; under 1 KiB per task counts as
 * 1 KiB, so that a loop adding nothing measurable does not divide by zero. */
static struct estimate memory_ratio(struct estimate t, struct estimate l)
{
	return (struct estimate){t.value / fmax(l.value, 1.0), t.lo / fmax(l.hi, 1.0),
	                         t.hi / fmax(l.lo, 1.0)};
}

static void judge_eventloop_lighter(const struct claim_ctx *cx, struct verdict *v)
{
	/* The widest io cell the loop completed, with a threads cell beside it. */
	json_t *loop = NULL, *c;
	size_t i;
	json_array_foreach(results(cx), i, c)
	{
		if (cell_ok(c) && is_strategy(c, "epoll") && is_kind(c, "io") &&
		    partner(cx, c, "threads", workers_of(c)) != NULL && workers_of(c) >= 2 &&
		    (loop == NULL || better_io_evidence(c, loop)))
			loop = c;
	}
	json_object_set_new(v->thresholds, "lighter_if_ratio_interval_at_least",
	                    json_real(HEAVIER));
	json_object_set_new(v->thresholds, "refuted_if_ratio_interval_at_most",
	                    json_real(1.0 / LIGHTER));
	if (loop == NULL) {
		set(v, "not-measured",
		    "needs an io workload (http) under -s threads,epoll with the same -n of 2 or "
		    "more");
		return;
	}
	json_t *threads = partner(cx, loop, "threads", workers_of(loop));
	json_array_append_new(v->cells, cell_ref(loop));
	json_array_append_new(v->cells, cell_ref(threads));
	struct estimate ml, mt;
	if (!memory_per_task_kib(cx, loop, "epoll", &ml) ||
	    !memory_per_task_kib(cx, loop, "threads", &mt)) {
		set(v, "not-measured",
		    "memory per task in flight needs %s cells of both strategies at two in-flight "
		    "counts %d or more apart, each with %d repetitions or more",
		    rf_str_or(loop, "workload", ""), SLOPE_MIN_SPREAD, MIN_SAMPLES);
		return;
	}
	struct estimate r = memory_ratio(mt, ml);
	long t_fail, l_fail;
	long l_max = widest_completed(cx, loop, "epoll", &l_fail);
	long t_max = widest_completed(cx, loop, "threads", &t_fail);
	json_object_set_new(v->thresholds, "measured",
	                    json_pack("{s:o, s:o, s:o, s:I, s:I, s:I}", "epoll_kib_per_task",
	                              interval_json(ml), "threads_kib_per_task", interval_json(mt),
	                              "ratio", interval_json(r), "epoll_widest_completed",
	                              (json_int_t)l_max, "threads_widest_completed",
	                              (json_int_t)t_max, "threads_failed_at", (json_int_t)t_fail));
	char why[sizeof(v->reason)];
	snprintf(why, sizeof(why),
	         "memory added per task in flight (%s): epoll %.1f KiB [%.1f, %.1f], threads %.1f "
	         "KiB [%.1f, %.1f], threads over epoll %.2fx [%.2f, %.2f]; widest completed: "
	         "epoll %ld, threads %ld",
	         rf_str_or(loop, "workload", ""), ml.value, ml.lo, ml.hi, mt.value, mt.lo, mt.hi,
	         r.value, r.lo, r.hi, l_max, t_max);
	if (t_fail > t_max)
		append(why, sizeof(why), " (threads failed at %ld)", t_fail);
	if (r.lo >= HEAVIER && l_max >= t_max)
		set(v, "confirmed", "%s", why);
	else if (r.hi <= 1.0 / LIGHTER || l_max < t_max)
		set(v, "refuted", "%s", why);
	else {
		append(why, sizeof(why), ": the ratio's interval ");
		straddled(why, sizeof(why), r, 1.0 / LIGHTER, HEAVIER, 1, "x");
		set(v, "inconclusive", "%s", why);
	}
}

/* ---- the convoy (claim 8) ------------------------------------------------------ */

static bool mixed_gil(json_t *c)
{
	return is_kind(c, "mixed") && is_strategy(c, "gil") && workers_of(c) >= 2;
}

static struct estimate convoy_share(json_t *busy)
{
	json_t *ci = json_object_get(busy, "share_ci95");
	return (struct estimate){rf_num(busy, "share_over_threshold"), dbl_at(ci, 0),
	                         dbl_at(ci, 1)};
}

static struct estimate convoy_slowdown(json_t *convoy)
{
	json_t *s = json_object_get(convoy, "slowdown");
	json_t *ci = json_object_get(s, "ci95");
	return (struct estimate){rf_num(s, "value"), dbl_at(ci, 0), dbl_at(ci, 1)};
}

/* Both phases timed with enough round trips for an interval. */
static bool convoy_measured(json_t *convoy)
{
	return rf_num(json_object_get(convoy, "alone"), "n") >= CONVOY_MIN_TRIPS &&
	       rf_num(json_object_get(convoy, "busy"), "n") >= CONVOY_MIN_TRIPS &&
	       interval_known(convoy_slowdown(convoy)) &&
	       interval_known(convoy_share(json_object_get(convoy, "busy")));
}

static enum side convoy_side(struct estimate share, struct estimate slow)
{
	if (share.lo >= CONVOY_SHARE && slow.lo >= CONVOY_SLOWDOWN)
		return SIDE_CONFIRMS;
	if (slow.hi <= CONVOY_NONE && share.hi < CONVOY_SHARE)
		return SIDE_REFUTES;
	return SIDE_NEITHER;
}

static void describe_convoy(json_t *c, struct estimate share, struct estimate slow, enum side side,
                            char *buf, size_t len)
{
	char label[96];
	cell_label(c, label, sizeof(label));
	snprintf(buf, len,
	         "%s: %.0f%% [%.0f, %.0f] of round trips waited half an interval or more, "
	         "%.1fx [%.1f, %.1f] slower than alone",
	         label, 100 * share.value, 100 * share.lo, 100 * share.hi, slow.value, slow.lo,
	         slow.hi);
	if (side != SIDE_NEITHER)
		return;
	if (share.lo < CONVOY_SHARE && share.hi >= CONVOY_SHARE) {
		append(buf, len, "; the share's interval straddles %.0f%%", 100 * CONVOY_SHARE);
		return;
	}
	append(buf, len, "; the slowdown's interval ");
	straddled(buf, len, slow, CONVOY_NONE, CONVOY_SLOWDOWN, 1, "x");
}

static void judge_convoy(const struct claim_ctx *cx, struct verdict *v)
{
	json_t *c;
	size_t i, yes = 0, no = 0, n = 0;
	char first[3][320] = {"", "", ""}; /* the first cell on each side */
	json_object_set_new(v->thresholds, "confirmed_if_share_interval_at_least",
	                    json_real(CONVOY_SHARE));
	json_object_set_new(v->thresholds, "and_slowdown_interval_at_least",
	                    json_real(CONVOY_SLOWDOWN));
	json_object_set_new(v->thresholds, "refuted_if_slowdown_interval_at_most",
	                    json_real(CONVOY_NONE));
	json_object_set_new(v->thresholds, "and_share_interval_under", json_real(CONVOY_SHARE));
	json_object_set_new(v->thresholds, "share_of",
	                    json_string("round trips beside CPU work that took at least half a "
	                                "switch interval (Wilson 95% interval)"));
	json_array_foreach(results(cx), i, c)
	{
		if (!cell_ok(c) || !mixed_gil(c))
			continue;
		json_t *convoy = json_object_get(c, "convoy");
		if (!convoy_measured(convoy)) {
			exclude(v, c, "fewer than %d round trips alone or beside CPU work",
			        CONVOY_MIN_TRIPS);
			continue;
		}
		struct estimate share = convoy_share(json_object_get(convoy, "busy"));
		struct estimate slow = convoy_slowdown(convoy);
		enum side s = convoy_side(share, slow);
		json_t *ref = cell_ref(c);
		json_object_set_new(ref, "busy_share", interval_json(share));
		json_object_set_new(ref, "slowdown", interval_json(slow));
		json_object_set_new(ref, "side", json_string(side_name(s)));
		json_array_append_new(v->cells, ref);
		n++;
		yes += s == SIDE_CONFIRMS;
		no += s == SIDE_REFUTES;
		if (first[s][0] == '\0')
			describe_convoy(c, share, slow, s, first[s], sizeof(first[s]));
	}
	if (n == 0)
		set(v, "not-measured", "needs the mixed workload under -s gil with -n 2 or more%s",
		    json_array_size(v->excluded) > 0 ? " and enough round trips in both phases"
		                                     : "");
	else if (yes > 0 && no == 0)
		set(v, "confirmed", "%zu of %zu cells: %s", yes, n, first[SIDE_CONFIRMS]);
	else if (no > 0 && yes == 0)
		set(v, "refuted", "%zu of %zu cells: %s", no, n, first[SIDE_REFUTES]);
	else if (yes > 0)
		set(v, "inconclusive", "the cells disagree: %s; but %s", first[SIDE_CONFIRMS],
		    first[SIDE_REFUTES]);
	else
		set(v, "inconclusive", "%s", first[SIDE_NEITHER]);
}

/* ---- the task size below which processes lose (readers/tasksweep.c) --------- */

/* The article: "for shorter-running tasks ... the overhead of multiprocessing
 * will result in lower performance compared to multithreaded solutions".
 * Judged at the sweep's smallest task size: confirmed when every start method
 * measured there has a speedup interval wholly under threads', refuted when
 * fork's lies wholly within NO_GAIN of threads' high end or above (no loss
 * worth the name), inconclusive between; the crossover of each method goes
 * into the reason. */
static void judge_short_tasks(const struct claim_ctx *cx, struct verdict *v)
{
	if (judging_python) {
		set(v, "not-measured",
		    "the task-size sweep runs the compiled strategies only (serial, threads and "
		    "the process start methods)");
		return;
	}
	json_t *sweep = json_object_get(cx->doc, "task_size_sweep");
	json_t *own = NULL;
	if (sweep == NULL)
		sweep = own = task_sweep_evaluate(cx->doc);
	json_t *points = json_object_get(sweep, "points");
	size_t n = json_array_size(points);
	json_t *smallest = n > 0 ? json_array_get(points, n - 1) : NULL;
	json_t *s = json_object_get(smallest, "strategies");
	json_object_set_new(v->thresholds, "method",
	                    json_string("at the smallest task size, each start method's speedup "
	                                "95% interval against threads'"));
	if (smallest == NULL || json_object_get(s, "threads") == NULL ||
	    json_object_get(s, "processes") == NULL || n < 2) {
		set(v, "not-measured",
		    "needs the task-size sweep (the default suite, or run --task-sweep) under "
		    "serial, threads and processes");
		json_decref(own);
		return;
	}
	if ((long)json_integer_value(json_object_get(smallest, "workers")) < 2) {
		set(v, "not-measured", "needs the task-size sweep at -n 2 or more");
		json_decref(own);
		return;
	}
	json_t *t_ci = json_object_get(json_object_get(s, "threads"), "speedup_ci95");
	double t_lo = json_number_value(json_array_get(t_ci, 0));
	double t_hi = json_number_value(json_array_get(t_ci, 1));
	static const char *const methods[] = {"processes", "forkserver", "spawn"};
	bool all_lower = true, fork_not_lower = false;
	char why[sizeof(v->reason)];
	snprintf(why, sizeof(why), "at %.3g us tasks (%s, n=%lld), speedup: threads %.2fx",
	         1e6 * rf_num(smallest, "task_s"), rf_str_or(sweep, "workload", ""),
	         (long long)json_integer_value(json_object_get(smallest, "workers")),
	         rf_num(json_object_get(s, "threads"), "speedup"));
	for (size_t k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
		json_t *m = json_object_get(s, methods[k]);
		if (m == NULL)
			continue;
		json_t *ci = json_object_get(m, "speedup_ci95");
		double lo = json_number_value(json_array_get(ci, 0));
		double hi = json_number_value(json_array_get(ci, 1));
		bool known = json_is_number(json_array_get(ci, 0)) &&
		             json_is_number(json_array_get(ci, 1)) &&
		             json_is_number(json_array_get(t_ci, 0)) &&
		             json_is_number(json_array_get(t_ci, 1));
		all_lower = all_lower && known && hi < t_lo;
		if (k == 0)
			fork_not_lower = known && lo >= t_hi / NO_GAIN;
		json_t *x = json_object_get(json_object_get(sweep, "crossover"), methods[k]);
		append(why, sizeof(why), ", %s %.2fx [%.2f, %.2f]", methods[k],
		       rf_num(m, "speedup"), lo, hi);
		if (strcmp(rf_str_or(x, "status", ""), "found") == 0)
			append(why, sizeof(why),
			       " (under half of threads' from %.3g us tasks down)",
			       1e6 * rf_num(x, "under_at_task_s"));
		else if (strcmp(rf_str_or(x, "status", ""), "every-size") == 0)
			append(why, sizeof(why), " (under half of threads' at every size)");
		else
			append(why, sizeof(why), " (never under half of threads')");
	}
	json_object_set_new(v->thresholds, "share_of_threads", json_real(TASK_SWEEP_SHARE));
	json_object_set(v->thresholds, "smallest_task_size", smallest);
	json_object_set(v->thresholds, "crossover", json_object_get(sweep, "crossover"));
	if (all_lower)
		set(v, "confirmed", "%s: every start method under threads", why);
	else if (fork_not_lower)
		set(v, "refuted", "%s: fork no slower than threads", why);
	else
		set(v, "inconclusive", "%s: the intervals overlap", why);
	json_decref(own);
}

/* ---- the interpreter's claims: compiled against interpreted ---------------------- */

#define FAR_FASTER 10.0 /* compiled over interpreted: "far faster" at this or more */
#define NOT_FAR    3.0  /* at or under this, refuted */
#define NEAR_C     0.75 /* py-processes' speedup over processes': "close" */
#define FAR_FROM_C 0.50 /* at or under this, refuted */

/* "CPython 3.11.2" from the first cell a py-* strategy ran; false when none did. */
static bool claims_python_interpreter(json_t *doc, char *buf, size_t len)
{
	json_t *c;
	size_t i;
	json_array_foreach(results(&(struct claim_ctx){.doc = doc}), i, c)
	{
		json_t *py = json_object_get(c, "python");
		if (json_is_object(py)) {
			snprintf(buf, len, "%s %s", rf_str_or(py, "implementation", "Python"),
			         rf_str_or(py, "version", ""));
			return true;
		}
	}
	return false;
}

/* Same workload, sizes and workers: a compiled cell's interpreted twin. */
static json_t *equal_work_twin(const struct claim_ctx *cx, json_t *like, const char *strategy)
{
	json_t *c;
	size_t i;
	json_array_foreach(results(cx), i, c)
	{
		if (cell_ok(c) && strcmp(rf_str_or(c, "strategy", ""), strategy) == 0 &&
		    same_workload(c, like) && same_params(c, like) &&
		    workers_of(c) == workers_of(like))
			return c;
	}
	return NULL;
}

/* Tallies one cell's side into a verdict over several, as the convoy does. */
struct tally {
	size_t yes, no, n;
	char first[3][320];
};

static void tally_add(struct verdict *v, struct tally *t, json_t *c, struct estimate e, enum side s,
                      const char *figure, const char *what)
{
	json_t *ref = cell_ref(c);
	json_object_set_new(ref, figure, interval_json(e));
	json_object_set_new(ref, "side", json_string(side_name(s)));
	json_array_append_new(v->cells, ref);
	t->n++;
	t->yes += s == SIDE_CONFIRMS;
	t->no += s == SIDE_REFUTES;
	if (t->first[s][0] == '\0')
		snprintf(t->first[s], sizeof(t->first[s]), "%s", what);
}

static void tally_verdict(struct verdict *v, const struct tally *t, const char *needs)
{
	if (t->n == 0)
		set(v, "not-measured", "needs %s", needs);
	else if (t->yes > 0 && t->no == 0)
		set(v, "confirmed", "%zu of %zu: %s", t->yes, t->n, t->first[SIDE_CONFIRMS]);
	else if (t->no > 0 && t->yes == 0)
		set(v, "refuted", "%zu of %zu: %s", t->no, t->n, t->first[SIDE_REFUTES]);
	else if (t->yes > 0)
		set(v, "inconclusive", "the cells disagree: %s; but %s", t->first[SIDE_CONFIRMS],
		    t->first[SIDE_REFUTES]);
	else
		set(v, "inconclusive", "%s", t->first[SIDE_NEITHER]);
}

/* serial against py-serial at the same sizes, on cpu workloads whose Python
 * twin is interpreted (not NumPy's compiled loops: release_gil=1). */
static void judge_compiled_faster(const struct claim_ctx *cx, struct verdict *v)
{
	json_t *c;
	size_t i;
	struct tally t = {0};
	json_object_set_new(v->thresholds, "confirmed_if_ratio_interval_at_least",
	                    json_real(FAR_FASTER));
	json_object_set_new(v->thresholds, "refuted_if_ratio_interval_at_most", json_real(NOT_FAR));
	json_array_foreach(results(cx), i, c)
	{
		if (!cell_ok(c) || !is_kind(c, "cpu") ||
		    strcmp(rf_str_or(c, "strategy", ""), "serial"))
			continue;
		json_t *py = equal_work_twin(cx, c, "py-serial");
		struct summary sc, sp;
		if (py == NULL)
			continue;
		if (param(c, "release_gil") == 1) {
			exclude(v, py, "NumPy's loops are compiled code too");
			continue;
		}
		if (!sample_summary(c, "wall_s", &sc) || !sample_summary(py, "wall_s", &sp)) {
			exclude(v, py, "fewer than %d repetitions", MIN_SAMPLES);
			continue;
		}
		struct estimate r = ratio_of(&sp, &sc); /* py-serial's time over serial's */
		enum side s = r.lo >= FAR_FASTER ? SIDE_CONFIRMS
		              : r.hi <= NOT_FAR  ? SIDE_REFUTES
		                                 : SIDE_NEITHER;
		char what[320];
		snprintf(what, sizeof(what), "%s: C's loop %.0fx [%.0f, %.0f] faster than Python's",
		         rf_str_or(c, "workload", ""), r.value, r.lo, r.hi);
		tally_add(v, &t, py, r, s, "compiled_over_interpreted", what);
	}
	tally_verdict(v, &t,
	              "a cpu workload under serial and py-serial at the same sizes (the default "
	              "suite runs serial at the python sizes)");
}

/* py-processes' speedup over processes' at the same workers and workload. */
static void judge_processes_near_c(const struct claim_ctx *cx, struct verdict *v)
{
	json_t *c;
	size_t i;
	struct tally t = {0};
	json_object_set_new(v->thresholds, "confirmed_if_ratio_interval_at_least",
	                    json_real(NEAR_C));
	json_object_set_new(v->thresholds, "refuted_if_ratio_interval_at_most",
	                    json_real(FAR_FROM_C));
	if (!parallelism_measurable(cx, v))
		return;
	json_array_foreach(results(cx), i, c)
	{
		if (!cell_ok(c) || !is_kind(c, "cpu") || workers_of(c) < 2 ||
		    strcmp(rf_str_or(c, "strategy", ""), "py-processes") != 0)
			continue;
		json_t *cc = NULL, *o;
		size_t k;
		json_array_foreach(results(cx), k, o)
		{
			if (cell_ok(o) && strcmp(rf_str_or(o, "strategy", ""), "processes") == 0 &&
			    same_workload(o, c) && workers_of(o) == workers_of(c) &&
			    (cc == NULL || same_params(o, c)))
				cc = o;
		}
		struct estimate py = speedup_interval(c), sim;
		if (cc == NULL || !interval_known(py) ||
		    !interval_known(sim = speedup_interval(cc))) {
			exclude(v, c,
			        "no processes cell of the same workload and workers beside it");
			continue;
		}
		struct estimate r = {py.value / sim.value, py.lo / sim.hi, py.hi / sim.lo};
		enum side s = r.lo >= NEAR_C       ? SIDE_CONFIRMS
		              : r.hi <= FAR_FROM_C ? SIDE_REFUTES
		                                   : SIDE_NEITHER;
		char what[320];
		snprintf(what, sizeof(what),
		         "%s n=%ld: py-processes %.2fx [%.2f, %.2f], processes %.2fx [%.2f, %.2f]: "
		         "%.0f%% [%.0f, %.0f] of C's",
		         rf_str_or(c, "workload", ""), workers_of(c), py.value, py.lo, py.hi,
		         sim.value, sim.lo, sim.hi, 100 * r.value, 100 * r.lo, 100 * r.hi);
		tally_add(v, &t, c, r, s, "python_over_c_speedup", what);
	}
	tally_verdict(v, &t, "a cpu workload under processes and py-processes with -n 2 or more");
}

/* ---- the table of claims --------------------------------------------------- */

struct claim_rule {
	const char *id;
	const char *statement;
	void (*judge)(const struct claim_ctx *cx, struct verdict *v);
};

static const struct claim_rule rules[] = {
    {"cpu-gil-no-speedup", "CPU-bound work gains nothing from threads under a GIL.",
     judge_gil_no_gain},
    {"cpu-processes-parallel", "Processes give true parallelism for CPU-bound work.",
     judge_processes_parallel},
    {"io-gil-overlaps",
     "Threads under a GIL still overlap I/O, because the lock is released while waiting.",
     judge_gil_overlaps},
    {"processes-heavier",
     "Processes are heavier: their start-up costs more than a thread's, and for I/O they are "
     "less efficient.",
     judge_processes_heavier},
    {"cpu-eventloop-no-speedup",
     "The event loop runs on one core: CPU-bound work gains nothing from it.", judge_loop_no_gain},
    {"eventloop-lighter",
     "The event loop uses less memory per concurrent task and scales to more concurrent tasks "
     "than threads.",
     judge_eventloop_lighter},
    {"release-gil-threads-useful",
     "C code that releases the GIL (NumPy-style) makes threads useful for CPU work again.",
     judge_released_parallel},
    {"gil-convoy",
     "With a CPU-bound thread running, an I/O-bound thread under the GIL waits about one "
     "switch interval per blocking call (the convoy effect).",
     judge_convoy},
    {"short-tasks-processes-lose",
     "For shorter-running tasks, the overhead of multiprocessing makes it slower than "
     "multithreading.",
     judge_short_tasks},
};

/* The interpreter's own claims, judged once across compiled and interpreted
 * cells, where a py-* cell ran. */
static const struct claim_rule python_rules[] = {
    {"compiled-faster",
     "Compiled code is far faster than the interpreter on the same task (C's serial loop "
     "against Python's, equal work).",
     judge_compiled_faster},
    {"python-processes-near-c",
     "With enough computation per task, processes bring Python close to C's parallel "
     "speedup.",
     judge_processes_near_c},
};

static json_t *evaluate_rule(const struct claim_ctx *cx, const struct claim_rule *r)
{
	struct verdict v = {.verdict = "inconclusive",
	                    .cells = json_array(),
	                    .excluded = json_array(),
	                    .thresholds = json_object()};
	r->judge(cx, &v);
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:o, s:o, s:o}}", "id", r->id, "statement",
	                 r->statement, "verdict", v.verdict, "reason", v.reason, "evidence",
	                 "cells", v.cells, "excluded", v.excluded, "thresholds", v.thresholds);
}

/* The same rule on the interpreter's cells, as the claim's "on_python". */
static void add_python_verdict(const struct claim_ctx *cx, const struct claim_rule *r,
                               json_t *claim, const char *interpreter)
{
	judging_python = true;
	json_t *py = evaluate_rule(cx, r);
	judging_python = false;
	json_object_del(py, "id");
	json_object_del(py, "statement");
	json_object_set_new(py, "interpreter", json_string(interpreter));
	json_object_set_new(claim, "on_python", py);
}

json_t *claims_evaluate(json_t *doc)
{
	struct claim_ctx cx = {.doc = doc};
	json_t *topo = json_object_get(json_object_get(doc, "machine"), "topology");
	json_t *config = json_object_get(doc, "config");
	cx.cores = (long)json_integer_value(json_object_get(topo, "cores"));
	cx.pinned_single = strcmp(rf_str_or(config, "pin", ""), "single") == 0;
	char interpreter[80];
	bool python = claims_python_interpreter(doc, interpreter, sizeof(interpreter));
	json_t *out = json_array();
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		json_t *claim = evaluate_rule(&cx, &rules[i]);
		if (python)
			add_python_verdict(&cx, &rules[i], claim, interpreter);
		json_array_append_new(out, claim);
	}
	for (size_t i = 0; python && i < sizeof(python_rules) / sizeof(python_rules[0]); i++)
		json_array_append_new(out, evaluate_rule(&cx, &python_rules[i]));
	return out;
}

static void print_claim(size_t number, json_t *c, FILE *out)
{
	fprintf(out, "  %zu. %-14s %s\n", number, rf_str_or(c, "verdict", ""),
	        rf_str_or(c, "statement", ""));
	json_t *py = json_object_get(c, "on_python");
	if (json_is_object(py)) {
		fprintf(out, "     %17s on the simulation: %s \u00b7 on %s: %s\n", "",
		        rf_str_or(c, "verdict", ""), rf_str_or(py, "interpreter", ""),
		        rf_str_or(py, "verdict", ""));
		fprintf(out, "     %17s simulation: %s\n", "", rf_str_or(c, "reason", ""));
		fprintf(out, "     %17s %s: %s\n", "", rf_str_or(py, "interpreter", ""),
		        rf_str_or(py, "reason", ""));
		return;
	}
	fprintf(out, "     %17s %s\n", "", rf_str_or(c, "reason", ""));
}

static const char *claims_heading =
    "\nclaims (the seed article's, judged on this machine from 95% intervals):\n";

void claims_print(json_t *claims, FILE *out)
{
	size_t i;
	json_t *c;
	fputs(claims_heading, out);
	json_array_foreach(claims, i, c) print_claim(i + 1, c, out);
}

/* Measured on the simulation or on the interpreter. */
static bool claim_measured(json_t *c)
{
	json_t *py = json_object_get(c, "on_python");
	return strcmp(rf_str_or(c, "verdict", "not-measured"), "not-measured") != 0 ||
	       (json_is_object(py) &&
	        strcmp(rf_str_or(py, "verdict", "not-measured"), "not-measured") != 0);
}

void claims_print_measured(json_t *claims, const char *file, FILE *out)
{
	size_t i, measured = 0;
	json_t *c;
	json_array_foreach(claims, i, c) measured += claim_measured(c);
	if (measured == 0) {
		fprintf(out,
		        "\nclaims: this run measures none of the %zu (`concbench claims %s` says "
		        "what each needs; the default suite measures them all)\n",
		        json_array_size(claims), file);
		return;
	}
	fputs(claims_heading, out);
	json_array_foreach(claims, i, c) if (claim_measured(c)) print_claim(i + 1, c, out);
	if (measured == json_array_size(claims))
		return;
	fprintf(out, "  not measured by this run:");
	json_array_foreach(claims, i, c) if (!claim_measured(c)) fprintf(out, " %zu", i + 1);
	fprintf(out, " (`concbench claims %s` says what each needs)\n", file);
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
