/* How close the simulation is to the interpreter it stands for, from one
 * result document: for each workload and worker count, the speedup of a
 * compiled strategy (over serial) beside its Python counterpart's (over
 * py-serial), and their difference with an interval that pairs the
 * pessimistic ends of the two speedups' intervals; and the mixed workload's
 * convoy, simulated and real. The compiled cell at the python sizes is
 * preferred (the default suite runs serial and gil there: equal work); the
 * one at the C sizes stands in otherwise, and the entry says which. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "readers/fidelity.h"
#include "readers/resultfile.h"

static const struct {
	const char *simulated, *real;
} pairs[] = {
    {"gil", "py-threads"},
    {"processes", "py-processes"},
    {"epoll", "py-asyncio"},
};

static double at(json_t *a, size_t i)
{
	json_t *v = json_array_get(a, i);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static json_t *num(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

static bool healthy(json_t *c)
{
	return json_is_null(json_object_get(c, "error"));
}

static bool ok(json_t *c)
{
	return healthy(c) && json_is_number(json_object_get(c, "speedup_vs_serial"));
}

static bool has_convoy(json_t *c)
{
	return healthy(c) && json_is_object(json_object_get(c, "convoy"));
}

static bool is(json_t *c, const char *strategy)
{
	return strcmp(rf_str_or(c, "strategy", ""), strategy) == 0;
}

static bool same_cell_place(json_t *a, json_t *b)
{
	return strcmp(rf_str_or(a, "workload", ""), rf_str_or(b, "workload", "")) == 0 &&
	       json_integer_value(json_object_get(a, "workers")) ==
	           json_integer_value(json_object_get(b, "workers")) &&
	       json_integer_value(json_object_get(a, "ballast_mb")) ==
	           json_integer_value(json_object_get(b, "ballast_mb"));
}

/* Equal work: the same task list, whichever variant it ran in. */
static bool same_params(json_t *a, json_t *b)
{
	return json_equal(json_object_get(a, "params"), json_object_get(b, "params"));
}

/* Both hold the lock the same way: NumPy's twin (release_gil=1) is not
 * compared with a simulated kernel that keeps the lock. */
static bool same_lock_use(json_t *a, json_t *b)
{
	json_t *ra = json_object_get(json_object_get(a, "params"), "release_gil");
	json_t *rb = json_object_get(json_object_get(b, "params"), "release_gil");
	return json_equal(ra, rb) || ra == NULL || rb == NULL;
}

/* The simulated partner of a real cell: same workload and workers, at the same
 * parameters where there is one, else at the workload's own (C) sizes; usable:
 * ok or has_convoy. */
static json_t *partner_of(json_t *results, json_t *real, const char *strategy,
                          bool (*usable)(json_t *))
{
	json_t *c, *fallback = NULL;
	size_t i;
	json_array_foreach(results, i, c)
	{
		if (!usable(c) || !is(c, strategy) || !same_cell_place(c, real) ||
		    !same_lock_use(c, real))
			continue;
		if (same_params(c, real))
			return c;
		if (json_is_null(json_object_get(c, "variant")) && fallback == NULL)
			fallback = c;
	}
	return fallback;
}

static json_t *speedup_json(json_t *c)
{
	json_t *ci = json_object_get(c, "speedup_ci95");
	return json_pack("{s:s, s:o, s:o, s:[o,o]}", "strategy", rf_str_or(c, "strategy", ""),
	                 "variant", json_deep_copy(json_object_get(c, "variant")), "speedup",
	                 num(rf_num(c, "speedup_vs_serial")), "ci95", num(at(ci, 0)),
	                 num(at(ci, 1)));
}

static json_t *comparison_json(json_t *sim, json_t *real)
{
	json_t *sci = json_object_get(sim, "speedup_ci95"),
	       *rci = json_object_get(real, "speedup_ci95");
	double d = rf_num(real, "speedup_vs_serial") - rf_num(sim, "speedup_vs_serial");
	double lo = at(rci, 0) - at(sci, 1), hi = at(rci, 1) - at(sci, 0);
	return json_pack("{s:s, s:I, s:b, s:o, s:o, s:{s:o, s:[o,o], s:s}}", "workload",
	                 rf_str_or(real, "workload", ""), "workers",
	                 json_integer_value(json_object_get(real, "workers")), "equal_work",
	                 same_params(sim, real), "simulated", speedup_json(sim), "real",
	                 speedup_json(real), "difference", "value", num(d), "ci95", num(lo),
	                 num(hi), "verdict",
	                 !isfinite(lo) || !isfinite(hi) ? "unknown"
	                 : lo > 0                       ? "real faster"
	                 : hi < 0                       ? "real slower"
	                                                : "within noise");
}

static json_t *convoy_side(json_t *c)
{
	json_t *convoy = json_object_get(c, "convoy");
	json_t *busy = json_object_get(convoy, "busy");
	json_t *slow = json_object_get(convoy, "slowdown");
	json_t *sci = json_object_get(busy, "share_ci95"), *wci = json_object_get(slow, "ci95");
	return json_pack("{s:s, s:o, s:[o,o], s:o, s:[o,o], s:o}", "strategy",
	                 rf_str_or(c, "strategy", ""), "share_at_half_interval",
	                 num(rf_num(busy, "share_over_threshold")), "share_ci95", num(at(sci, 0)),
	                 num(at(sci, 1)), "slowdown", num(rf_num(slow, "value")), "slowdown_ci95",
	                 num(at(wci, 0)), num(at(wci, 1)), "threshold_s",
	                 num(rf_num(convoy, "threshold_s")));
}

int fidelity_interpreter(json_t *doc, char *buf, size_t len)
{
	json_t *c;
	size_t i;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		json_t *py = json_object_get(c, "python");
		if (json_is_object(py)) {
			snprintf(buf, len, "%s %s", rf_str_or(py, "implementation", "Python"),
			         rf_str_or(py, "version", ""));
			return 1;
		}
	}
	snprintf(buf, len, "Python");
	return 0;
}

json_t *fidelity_evaluate(json_t *doc)
{
	json_t *results = json_object_get(doc, "results");
	json_t *speedups = json_array(), *convoys = json_array(), *c;
	char interpreter[80];
	size_t i;
	int any = fidelity_interpreter(doc, interpreter, sizeof(interpreter));
	json_array_foreach(results, i, c)
	{
		for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
			if (!is(c, pairs[k].real))
				continue;
			json_t *sim = ok(c) ? partner_of(results, c, pairs[k].simulated, ok) : NULL;
			if (sim != NULL)
				json_array_append_new(speedups, comparison_json(sim, c));
			sim = has_convoy(c) ? partner_of(results, c, pairs[k].simulated, has_convoy)
			                    : NULL;
			if (sim != NULL)
				json_array_append_new(
				    convoys,
				    json_pack("{s:s, s:I, s:b, s:o, s:o}", "workload",
				              rf_str_or(c, "workload", ""), "workers",
				              json_integer_value(json_object_get(c, "workers")),
				              "equal_work", same_params(sim, c), "simulated",
				              convoy_side(sim), "real", convoy_side(c)));
		}
	}
	return json_pack("{s:o, s:o, s:o, s:s}", "interpreter",
	                 any ? json_string(interpreter) : json_null(), "speedups", speedups,
	                 "convoy", convoys, "method",
	                 "speedups over serial (compiled) and over py-serial (interpreted); the "
	                 "difference's interval pairs the pessimistic ends of the two intervals");
}

static void fmt_speedup(json_t *side, char *buf, size_t len)
{
	json_t *ci = json_object_get(side, "ci95");
	snprintf(buf, len, "%s %.2fx [%.2f, %.2f]", rf_str_or(side, "strategy", ""),
	         rf_num(side, "speedup"), at(ci, 0), at(ci, 1));
}

static void fmt_convoy(json_t *side, char *buf, size_t len)
{
	json_t *sci = json_object_get(side, "share_ci95"),
	       *wci = json_object_get(side, "slowdown_ci95");
	snprintf(buf, len, "%s %.0f%% [%.0f, %.0f], %.1fx [%.1f, %.1f]",
	         rf_str_or(side, "strategy", ""), 100 * rf_num(side, "share_at_half_interval"),
	         100 * at(sci, 0), 100 * at(sci, 1), rf_num(side, "slowdown"), at(wci, 0),
	         at(wci, 1));
}

void fidelity_print(json_t *fidelity, FILE *out)
{
	json_t *speedups = json_object_get(fidelity, "speedups");
	json_t *convoys = json_object_get(fidelity, "convoy"), *e;
	size_t i;
	if (json_array_size(speedups) == 0 && json_array_size(convoys) == 0)
		return;
	fprintf(out,
	        "\nfidelity: the simulation against %s (speedup over serial, over py-serial; "
	        "95%% intervals):\n",
	        rf_str_or(fidelity, "interpreter", "Python"));
	struct rf_table t;
	rf_table_init(&t, 5, "lrlll");
	const char *head[] = {"workload", "workers", "simulated", "real", "real - simulated"};
	rf_table_row(&t, head);
	json_array_foreach(speedups, i, e)
	{
		char w[64], n[16], s[80], r[80], d[96];
		json_t *diff = json_object_get(e, "difference"),
		       *ci = json_object_get(diff, "ci95");
		snprintf(w, sizeof(w), "%s%s", rf_str_or(e, "workload", ""),
		         json_is_true(json_object_get(e, "equal_work")) ? "" : " (C sizes)");
		snprintf(n, sizeof(n), "%lld",
		         (long long)json_integer_value(json_object_get(e, "workers")));
		fmt_speedup(json_object_get(e, "simulated"), s, sizeof(s));
		fmt_speedup(json_object_get(e, "real"), r, sizeof(r));
		snprintf(d, sizeof(d), "%+.2f [%+.2f, %+.2f] %s", rf_num(diff, "value"), at(ci, 0),
		         at(ci, 1), rf_str_or(diff, "verdict", ""));
		const char *row[] = {w, n, s, r, d};
		rf_table_row(&t, row);
	}
	if (json_array_size(speedups) > 0)
		rf_table_print(&t, out, false, 2);
	rf_table_free(&t);
	json_array_foreach(convoys, i, e)
	{
		char s[96], r[96];
		fmt_convoy(json_object_get(e, "simulated"), s, sizeof(s));
		fmt_convoy(json_object_get(e, "real"), r, sizeof(r));
		fprintf(out,
		        "  convoy, %s%s n=%lld (round trips at half an interval or more, slowdown "
		        "over alone): simulated %s; real %s\n",
		        rf_str_or(e, "workload", ""),
		        json_is_true(json_object_get(e, "equal_work")) ? "" : " (C sizes)",
		        (long long)json_integer_value(json_object_get(e, "workers")), s, r);
	}
}
