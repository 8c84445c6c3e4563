/* `concbench report FILE`: a result file as tables a person reads (text,
 * markdown), as rows a spreadsheet reads (csv), or as the JSON that the
 * github-action-benchmark action tracks across commits. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readers/claims.h"
#include "readers/machines.h"
#include "readers/fidelity.h"
#include "readers/resultfile.h"

enum format { FMT_TEXT, FMT_MARKDOWN, FMT_CSV, FMT_GAB };

static const char *const format_names[] = {"text", "markdown", "csv", "github-action-benchmark"};

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: concbench report FILE [FILE...]\n"
	    "                        [--format text|markdown|csv|github-action-benchmark]\n"
	    "\n"
	    "Several files (from several machines, say): text and markdown report each in\n"
	    "turn, then side by side (what differs between the runs, each file's serial\n"
	    "times, best speedups and where, winners and scaling curves; compare --help);\n"
	    "csv puts every file's rows under one header, each row naming its machine.\n"
	    "\n"
	    "  text      per workload, a table with the strategies as columns and the worker\n"
	    "            counts as rows: median wall time, +- half its 95%% interval (as %% of\n"
	    "            the median) and the speedup over serial; latency percentiles for I/O\n"
	    "            workloads; errors, warnings and the claims' verdicts (the default)\n"
	    "  markdown  the same tables in GitHub markdown (job summaries, pull requests)\n"
	    "  csv       one row per cell and sample, with the cell's statistics, its\n"
	    "            machine (host, CPU model, cores, allowed PUs), the pin policy and\n"
	    "            the latency percentiles (p50, p90, p99)\n"
	    "  github-action-benchmark\n"
	    "            the customSmallerIsBetter JSON: one entry per healthy cell, named\n"
	    "            WORKLOAD/STRATEGY/n=WORKERS, value = median wall time in s\n"
	    "\n"
	    "Exit status 2 when the file cannot be read or is not a version-1 result.\n");
}

/* ---- formatting helpers ------------------------------------------------ */

/* "51.9 ms ±0.5% 1.94x": the cell as the tables show it. */
static void fmt_cell(const struct rf_cell *c, char *buf, size_t len)
{
	if (c->error != NULL) {
		snprintf(buf, len, "error");
		return;
	}
	if (!isfinite(c->median) || c->median <= 0) {
		snprintf(buf, len, "not measured"); /* not "-1.00 s" */
		return;
	}
	char t[32], pm[32] = "", sp[32] = "";
	rf_fmt_duration(c->median, t, sizeof(t));
	if (isfinite(c->ci_lo) && isfinite(c->ci_hi) && c->median > 0)
		snprintf(pm, sizeof(pm), " \u00b1%.1f%%",
		         (c->ci_hi - c->ci_lo) / 2 / c->median * 100);
	if (isfinite(c->speedup))
		snprintf(sp, sizeof(sp), " %.2fx", c->speedup);
	snprintf(buf, len, "%s%s%s%s", t, pm, sp,
	         json_is_false(json_object_get(c->json, "checksum_ok")) ? " WRONG" : "");
}

/* "10.3 / 13.5 ms" (p50 / p99) */
static void fmt_latency(const struct rf_cell *c, char *buf, size_t len)
{
	json_t *lat = json_object_get(c->json, "latency_s");
	double p50 = rf_num(lat, "p50"), p99 = rf_num(lat, "p99");
	if (!isfinite(p50) || !isfinite(p99)) {
		snprintf(buf, len, "-");
		return;
	}
	char a[32], b[32];
	rf_fmt_duration(p50, a, sizeof(a));
	rf_fmt_duration(p99, b, sizeof(b));
	snprintf(buf, len, "%s / %s", a, b);
}

/* "1.21x, 94%": the cell's CPU time over serial's, and its cores kept busy
 * (the run's cpu_vs_serial and cores_busy) */
static void fmt_cpu(const struct rf_cell *c, char *buf, size_t len)
{
	double ratio = rf_num(c->json, "cpu_vs_serial"), busy = rf_num(c->json, "cores_busy");
	if (!isfinite(ratio) || !isfinite(busy)) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf, len, "%.2fx, %.0f%%", ratio, 100 * busy);
}

/* ---- the file's cells in groups --------------------------------------- */

struct group {
	const struct rf_cell *first; /* the group's workload and params */
	const char **strategies;     /* in the file's order, those with a cell here */
	size_t n_strategies;
	int *workers; /* ascending */
	size_t n_workers;
	bool has_latency;
	bool has_cpu; /* cpu_vs_serial on a parallel cell (files from before: none) */
};

struct layout {
	const char **strategies; /* every strategy, config.strategies first */
	size_t n_strategies;
	struct group *groups;
	size_t n_groups;
};

static bool has_name(const char **names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static const struct rf_cell *find_cell(const struct result_file *rf, const struct group *g,
                                       const char *strategy, int workers)
{
	return result_file_find(rf, g->first, strategy, workers);
}

/* The group's worker counts, ascending, each once. */
static int collect_workers(struct group *g, const struct rf_cell *const *cells, size_t n)
{
	g->workers = calloc(n + 1, sizeof(int));
	if (g->workers == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		g->workers[i] = cells[i]->workers;
	qsort(g->workers, n, sizeof(int), cmp_int);
	for (size_t i = 0; i < n; i++)
		if (g->n_workers == 0 || g->workers[g->n_workers - 1] != g->workers[i])
			g->workers[g->n_workers++] = g->workers[i];
	return 0;
}

/* The strategies with a cell in the group, in the layout's order. */
static int collect_strategies(const struct layout *l, struct group *g,
                              const struct rf_cell *const *cells, size_t n)
{
	g->strategies = calloc(l->n_strategies + 1, sizeof(char *));
	if (g->strategies == NULL)
		return -1;
	for (size_t j = 0; j < l->n_strategies; j++)
		for (size_t i = 0; i < n; i++)
			if (strcmp(cells[i]->strategy, l->strategies[j]) == 0) {
				g->strategies[g->n_strategies++] = l->strategies[j];
				break;
			}
	return 0;
}

/* Groups in the order their first cell appears; each group's cells come
 * from the file's index, so the layout is built in near-linear time. */
static int layout_build(const struct result_file *rf, struct layout *l)
{
	memset(l, 0, sizeof(*l));
	size_t n = rf->n_cells;
	json_t *configured = json_object_get(json_object_get(rf->doc, "config"), "strategies");
	l->strategies = calloc(n + json_array_size(configured) + 1, sizeof(char *));
	l->groups = calloc(n + 1, sizeof(*l->groups));
	if (l->strategies == NULL || l->groups == NULL)
		return -1;
	size_t i;
	json_t *s;
	json_array_foreach(configured, i,
	                   s) if (json_is_string(s) &&
	                          !has_name(l->strategies, l->n_strategies, json_string_value(s)))
	    l->strategies[l->n_strategies++] = json_string_value(s);
	for (i = 0; i < n; i++)
		if (!has_name(l->strategies, l->n_strategies, rf->cells[i].strategy))
			l->strategies[l->n_strategies++] = rf->cells[i].strategy;

	for (i = 0; i < n; i++) {
		const struct rf_cell *c = &rf->cells[i];
		size_t m;
		const struct rf_cell *const *cells = result_file_group(rf, c, &m);
		if (cells[0] != c)
			continue; /* not the group's first cell: the group is laid out */
		struct group *g = &l->groups[l->n_groups++];
		g->first = c;
		if (collect_workers(g, cells, m) != 0 || collect_strategies(l, g, cells, m) != 0)
			return -1;
		for (size_t k = 0; k < m; k++) {
			json_t *cj = cells[k]->json;
			/* CPU cells time their tasks too; the percentiles mean something for I/O */
			if (strcmp(cells[k]->kind, "cpu") != 0 &&
			    isfinite(rf_num(json_object_get(cj, "latency_s"), "p50")))
				g->has_latency = true;
			if (json_integer_value(json_object_get(cj, "workers")) > 1 &&
			    isfinite(rf_num(cj, "cpu_vs_serial")))
				g->has_cpu = true;
		}
	}
	return 0;
}

static void layout_free(struct layout *l)
{
	for (size_t k = 0; k < l->n_groups; k++) {
		free(l->groups[k].strategies);
		free(l->groups[k].workers);
	}
	free(l->groups);
	free(l->strategies);
}

/* ---- text and markdown ------------------------------------------------- */

typedef void (*cell_formatter)(const struct rf_cell *c, char *buf, size_t len);

/* The group's table: a header row, then one row per worker count. */
static void group_table(FILE *out, const struct result_file *rf, const struct group *g,
                        cell_formatter f, bool markdown)
{
	struct rf_table t;
	char align[g->n_strategies + 2];
	memset(align, 'r', sizeof(align) - 1);
	align[sizeof(align) - 1] = '\0';
	rf_table_init(&t, g->n_strategies + 1, align);
	const char *row[g->n_strategies + 1];
	char text[g->n_strategies + 1][96];
	row[0] = "workers";
	for (size_t s = 0; s < g->n_strategies; s++)
		row[s + 1] = g->strategies[s];
	rf_table_row(&t, row);
	for (size_t r = 0; r < g->n_workers; r++) {
		snprintf(text[0], sizeof(text[0]), "%d", g->workers[r]);
		row[0] = text[0];
		for (size_t s = 0; s < g->n_strategies; s++) {
			const struct rf_cell *c = find_cell(rf, g, g->strategies[s], g->workers[r]);
			if (c == NULL)
				snprintf(text[s + 1], sizeof(text[s + 1]), "-");
			else
				f(c, text[s + 1], sizeof(text[s + 1]));
			row[s + 1] = text[s + 1];
		}
		rf_table_row(&t, row);
	}
	rf_table_print(&t, out, markdown, 2);
	rf_table_free(&t);
}

/* ---- the convoy (mixed): the stream alone and beside the CPU tasks ------ */

static bool group_has_convoy(const struct result_file *rf, const struct group *g)
{
	size_t n;
	const struct rf_cell *const *cells = result_file_group(rf, g->first, &n);
	for (size_t i = 0; i < n; i++)
		if (json_is_object(json_object_get(cells[i]->json, "convoy")))
			return true;
	return false;
}

static void fmt_duration_or_dash(json_t *o, const char *key, char *buf, size_t len)
{
	double v = rf_num(o, key);
	if (isfinite(v))
		rf_fmt_duration(v, buf, len);
	else
		snprintf(buf, len, "-");
}

/* "58.6% [54.3, 62.7]" */
static void fmt_share(json_t *phase, char *buf, size_t len)
{
	double share = rf_num(phase, "share_over_threshold");
	json_t *ci = json_object_get(phase, "share_ci95");
	double lo = json_number_value(json_array_get(ci, 0));
	double hi = json_number_value(json_array_get(ci, 1));
	if (!isfinite(share))
		snprintf(buf, len, "-");
	else if (json_array_size(ci) == 2 && json_is_number(json_array_get(ci, 0)))
		snprintf(buf, len, "%.1f%% [%.1f, %.1f]", 100 * share, 100 * lo, 100 * hi);
	else
		snprintf(buf, len, "%.1f%%", 100 * share);
}

#define CONVOY_COLS 10

static void convoy_phase_row(struct rf_table *t, const struct rf_cell *c, json_t *convoy,
                             const char *phase, bool first)
{
	json_t *o = json_object_get(convoy, phase);
	static const char *const keys[] = {"mean", "p50", "p90", "p99", "max"};
	char text[CONVOY_COLS][48];
	const char *row[CONVOY_COLS];
	snprintf(text[0], sizeof(text[0]), "%s", first ? c->strategy : "");
	snprintf(text[1], sizeof(text[1]), first ? "%d" : "%.0d", first ? c->workers : 0);
	snprintf(text[2], sizeof(text[2]), "%s", phase);
	snprintf(text[3], sizeof(text[3]), "%.0f", rf_num(o, "n"));
	for (size_t k = 0; k < 5; k++)
		fmt_duration_or_dash(o, keys[k], text[4 + k], sizeof(text[4 + k]));
	fmt_share(o, text[9], sizeof(text[9]));
	for (size_t k = 0; k < CONVOY_COLS; k++)
		row[k] = text[k];
	rf_table_row(t, row);
}

/* "314x [287, 341]", or "-" without both phases */
static void fmt_slowdown(json_t *convoy, char *buf, size_t len)
{
	json_t *sd = json_object_get(convoy, "slowdown");
	json_t *ci = json_object_get(sd, "ci95");
	double v = rf_num(sd, "value");
	if (!isfinite(v)) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf, len, "%.3gx [%.3g, %.3g]", v, json_number_value(json_array_get(ci, 0)),
	         json_number_value(json_array_get(ci, 1)));
}

static void convoy_table(FILE *out, const struct result_file *rf, const struct group *g,
                         bool markdown)
{
	struct rf_table t;
	rf_table_init(&t, CONVOY_COLS, "lrlrrrrrrr");
	const char *header[CONVOY_COLS] = {"strategy", "workers", "phase", "n",   "mean",
	                                   "p50",      "p90",     "p99",   "max", "share"};
	rf_table_row(&t, header);
	size_t n_group;
	const struct rf_cell *const *cells = result_file_group(rf, g->first, &n_group);
	for (size_t i = 0; i < n_group; i++) {
		const struct rf_cell *c = cells[i];
		json_t *convoy = json_object_get(c->json, "convoy");
		if (!json_is_object(convoy))
			continue;
		char slowdown[64];
		fmt_slowdown(convoy, slowdown, sizeof(slowdown));
		convoy_phase_row(&t, c, convoy, "alone", true);
		convoy_phase_row(&t, c, convoy, "busy", false);
		const char *row[CONVOY_COLS] = {"", "", "slowdown", slowdown};
		rf_table_row(&t, row);
	}
	rf_table_print(&t, out, markdown, 2);
	rf_table_free(&t);
}

/* One phase's histogram as a row of characters, one per bin, darker the more
 * round trips fell there (relative to the phase's fullest bin); a bin with
 * any at all is never blank. */
static void histogram_line(json_t *counts, char *buf, size_t len)
{
	static const char shades[] = " .:-=+*#%@";
	const int darkest = (int)sizeof(shades) - 2;
	double most = 0;
	size_t n = json_array_size(counts), k = 0;
	for (size_t i = 0; i < n; i++)
		most = fmax(most, json_number_value(json_array_get(counts, i)));
	for (size_t i = 0; i < n && k + 1 < len; i++) {
		double v = json_number_value(json_array_get(counts, i));
		int level = v > 0 ? (int)ceil(v / most * darkest) : 0;
		buf[k++] = shades[level];
	}
	buf[k] = '\0';
}

static void convoy_histograms(FILE *out, const struct result_file *rf, const struct group *g,
                              bool markdown)
{
	fprintf(out, markdown ? "\nRound trips per bin (4 per octave, darker: more of that "
	                        "phase's round trips):\n\n```\n"
	                      : "  round trips per bin (4 per octave, darker: more of that "
	                        "phase's round trips)\n");
	size_t n_group;
	const struct rf_cell *const *cells = result_file_group(rf, g->first, &n_group);
	for (size_t i = 0; i < n_group; i++) {
		const struct rf_cell *c = cells[i];
		json_t *h = json_object_get(json_object_get(c->json, "convoy"), "histogram");
		json_t *edges = json_object_get(h, "edges_s");
		if (json_array_size(edges) < 2)
			continue;
		char lo[32], hi[32], alone[128], busy[128], label[64];
		rf_fmt_duration(json_number_value(json_array_get(edges, 0)), lo, sizeof(lo));
		rf_fmt_duration(
		    json_number_value(json_array_get(edges, json_array_size(edges) - 1)), hi,
		    sizeof(hi));
		histogram_line(json_object_get(h, "alone"), alone, sizeof(alone));
		histogram_line(json_object_get(h, "busy"), busy, sizeof(busy));
		snprintf(label, sizeof(label), "%s n=%d", c->strategy, c->workers);
		fprintf(out, "    %-14s alone |%s|\n", label, alone);
		fprintf(out, "    %-14s busy  |%s|  %s .. %s\n", "", busy, lo, hi);
	}
	if (markdown)
		fputs("```\n", out);
}

static void print_convoy(FILE *out, const struct result_file *rf, const struct group *g,
                         bool markdown)
{
	if (!group_has_convoy(rf, g))
		return;
	double threshold = NAN;
	size_t n;
	const struct rf_cell *const *cells = result_file_group(rf, g->first, &n);
	for (size_t i = 0; i < n && !isfinite(threshold); i++)
		threshold = rf_num(json_object_get(cells[i]->json, "convoy"), "threshold_s");
	char th[32] = "half a switch interval";
	if (isfinite(threshold))
		rf_fmt_duration(threshold, th, sizeof(th));
	fprintf(out,
	        markdown ? "\nThe I/O stream's round trips alone (the CPU tasks waiting) and busy "
	                   "(beside them); share: at %s (half a switch interval) or more, with "
	                   "its 95%% interval; slowdown: mean busy over mean alone:\n\n"
	                 : "  the I/O stream's round trips alone (the CPU tasks waiting) and busy "
	                   "(beside them);\n  share: at %s (half a switch interval) or more, "
	                   "[95%% interval]; slowdown: mean busy / mean alone\n",
	        th);
	convoy_table(out, rf, g, markdown);
	convoy_histograms(out, rf, g, markdown);
}

static void print_header(FILE *out, const struct result_file *rf, bool markdown)
{
	char machine[512];
	result_file_machine_label(rf, machine, sizeof(machine));
	json_t *tool = json_object_get(rf->doc, "tool");
	json_t *cfg = json_object_get(rf->doc, "config");
	const char *kernel = rf_str(json_object_get(rf->doc, "machine"), "kernel");
	double reps = rf_num(cfg, "reps"), warmup = rf_num(cfg, "warmup");
	char config[512];
	snprintf(config, sizeof(config),
	         "%s%.0f repetitions after %.0f warm-up%s, pin %s, "
	         "switch interval %ld us%s",
	         isfinite(reps) ? "" : "? ", isfinite(reps) ? reps : 0,
	         isfinite(warmup) ? warmup : 0, warmup == 1 ? "" : "s",
	         rf_str(cfg, "pin") ? rf_str(cfg, "pin") : "?", rf->switch_interval_us,
	         json_is_true(json_object_get(cfg, "quick")) ? ", quick sizes (--quick)" : "");
	const char *version = rf_str(tool, "version"), *commit = rf_str(tool, "git_commit");
	if (markdown) {
		fprintf(out, "## concbench results: %s\n\n", machine);
		fprintf(out, "- file: `%s`, created %s by concbench %s (%s)\n", rf->path,
		        rf->created_at, version ? version : "?", commit ? commit : "?");
		if (kernel)
			fprintf(out, "- kernel: %s\n", kernel);
		fprintf(out, "- %s\n", config);
		if (json_is_false(json_object_get(rf->doc, "complete")))
			fprintf(out,
			        "- **incomplete run**: the cells measured before it stopped\n");
		fprintf(
		    out,
		    "\nEach table: median wall time, \u00b1 half its 95%% interval as %% of the "
		    "median, and the speedup over serial; strategies as columns, workers as "
		    "rows.\n");
		return;
	}
	fprintf(out, "%s\n", rf->path);
	fprintf(out, "  machine: %s%s%s\n", machine, kernel ? ", " : "", kernel ? kernel : "");
	fprintf(out, "  created %s by concbench %s (%s)\n", rf->created_at, version ? version : "?",
	        commit ? commit : "?");
	fprintf(out, "  %s\n", config);
	if (json_is_false(json_object_get(rf->doc, "complete")))
		fprintf(out, "  incomplete run: the cells measured before it stopped\n");
}

static void print_notes(FILE *out, const struct result_file *rf, const struct group *g,
                        bool markdown)
{
	size_t n_group;
	const struct rf_cell *const *cells = result_file_group(rf, g->first, &n_group);
	for (size_t i = 0; i < n_group; i++) {
		const struct rf_cell *c = cells[i];
		if (c->error != NULL)
			fprintf(out,
			        markdown ? "- **error** %s n=%d: %s\n" : "  error: %s n=%d: %s\n",
			        c->strategy, c->workers, c->error);
		size_t k;
		json_t *w;
		json_array_foreach(json_object_get(c->json, "warnings"), k,
		                   w) if (json_is_string(w))
		    fprintf(out, markdown ? "- warning %s n=%d: %s\n" : "  warning: %s n=%d: %s\n",
		            c->strategy, c->workers, json_string_value(w));
	}
}

/* Each strategy's own parameters, where it has some (they are the same in
 * every cell of a run, so the group's first cell of the strategy says them). */
/* Whether item ("key=value", n bytes) is one of the workload's fault hooks
 * at its value when off, as the run recorded them (config.fault_hooks_off;
 * a file from before shows them all). */
static bool hook_off(json_t *doc, const char *workload, const char *item, size_t n)
{
	const char *eq = memchr(item, '=', n);
	json_t *hooks = json_object_get(
	    json_object_get(json_object_get(doc, "config"), "fault_hooks_off"), workload);
	if (eq == NULL || !json_is_object(hooks))
		return false;
	char key[128], off[128];
	snprintf(key, sizeof(key), "%.*s", (int)(eq - item), item);
	json_t *v = json_object_get(hooks, key);
	if (json_is_integer(v))
		snprintf(off, sizeof(off), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_string(v))
		snprintf(off, sizeof(off), "%s", json_string_value(v));
	else
		return false;
	return strlen(off) == (size_t)(item + n - eq - 1) && strncmp(off, eq + 1, strlen(off)) == 0;
}

/* The parameters as a heading shows them: "key=value,...", less those with
 * no value (an unset text such as sha256=) and the fault hooks that are off,
 * which say nothing. */
static void params_shown(json_t *doc, const char *workload, const char *params, char *out,
                         size_t len)
{
	size_t used = 0;
	out[0] = '\0';
	for (const char *item = params; *item;) {
		size_t n = strcspn(item, ",");
		bool empty = (n > 0 && item[n - 1] == '=') || hook_off(doc, workload, item, n);
		if (!empty && n > 0 && used + n + 2 < len) {
			used += (size_t)snprintf(out + used, len - used, "%s%.*s", used ? "," : "",
			                         (int)n, item);
		}
		item += n;
		if (*item == ',')
			item++;
	}
}

static void print_strategy_params(FILE *out, const struct result_file *rf, const struct group *g,
                                  bool markdown)
{
	size_t m;
	const struct rf_cell *const *cells = result_file_group(rf, g->first, &m);
	for (size_t s = 0; s < g->n_strategies; s++) {
		for (size_t i = 0; i < m; i++) {
			const struct rf_cell *c = cells[i];
			if (strcmp(c->strategy, g->strategies[s]) != 0)
				continue;
			if (c->strategy_params != NULL && c->strategy_params[0] != '\0')
				fprintf(out,
				        markdown ? "- %s parameters: `%s`\n"
				                 : "  %s parameters: %s\n",
				        c->strategy, c->strategy_params);
			break;
		}
	}
}

/* Where each cell's workers ran, for strategies whose workers may run on
 * other hosts (mpi): the hosts with their worker counts, from the per-worker
 * "hosts" (values, which the loader makes safe to print, unlike keys). */
static void print_hosts(FILE *out, const struct result_file *rf, const struct group *g,
                        bool markdown)
{
	size_t m;
	const struct rf_cell *const *cells = result_file_group(rf, g->first, &m);
	for (size_t i = 0; i < m; i++) {
		json_t *hosts =
		    json_object_get(json_object_get(cells[i]->json, "placement"), "hosts");
		size_t n = json_array_size(hosts);
		if (n == 0)
			continue;
		fprintf(out, markdown ? "- %s n=%d ran on" : "  %s n=%d ran on", cells[i]->strategy,
		        cells[i]->workers);
		for (size_t k = 0; k < n; k++) {
			const char *h = json_string_value(json_array_get(hosts, k));
			bool seen = false;
			for (size_t j = 0; j < k && !seen; j++)
				seen = h && json_string_value(json_array_get(hosts, j)) &&
				       strcmp(h, json_string_value(json_array_get(hosts, j))) == 0;
			if (h == NULL || seen)
				continue;
			size_t count = 0;
			for (size_t j = k; j < n; j++)
				count +=
				    json_string_value(json_array_get(hosts, j)) &&
				    strcmp(h, json_string_value(json_array_get(hosts, j))) == 0;
			fprintf(out, "%s %s (%zu)", k == 0 ? ":" : ",", h, count);
		}
		fputs("\n", out);
	}
}

static void print_claims_markdown(FILE *out, json_t *claims)
{
	if (json_array_size(claims) == 0)
		return;
	fprintf(out, "\n### The seed article's claims on this machine\n\n");
	fprintf(out, "| # | verdict | claim | why |\n|---:|---|---|---|\n");
	size_t i;
	json_t *c;
	json_array_foreach(claims, i, c)
	{
		fprintf(out, "| %zu | %s | ", i + 1,
		        rf_str(c, "verdict") ? rf_str(c, "verdict") : "?");
		rf_print_markdown(out, rf_str(c, "statement") ? rf_str(c, "statement") : "");
		fputs(" | ", out);
		rf_print_markdown(out, rf_str(c, "reason") ? rf_str(c, "reason") : "");
		fputs(" |\n", out);
	}
}

static int report_tables(FILE *out, const struct result_file *rf, bool markdown)
{
	struct layout l;
	if (layout_build(rf, &l) != 0) {
		layout_free(&l);
		return -1;
	}
	print_header(out, rf, markdown);
	char shown[2048];
	if (rf->n_cells == 0)
		fprintf(out, markdown ? "\nNo cells were measured.\n" : "\n  no cells measured\n");
	for (size_t k = 0; k < l.n_groups; k++) {
		const struct group *g = &l.groups[k];
		const char *kind = g->first->kind[0] ? g->first->kind : "?";
		if (markdown) {
			fprintf(out, "\n### %s (%s)\n\n", g->first->workload, kind);
			params_shown(rf->doc, g->first->workload, g->first->params, shown,
			             sizeof(shown));
			if (shown[0])
				fprintf(out, "Parameters: `%s`\n\n", shown);
		} else {
			params_shown(rf->doc, g->first->workload, g->first->params, shown,
			             sizeof(shown));
			fprintf(out, "\n%s (%s)%s%s\n", g->first->workload, kind,
			        shown[0] ? ": " : "", shown);
			fprintf(out, "  median wall time \u00b1 half its 95%% interval (%% of the "
			             "median), speedup over serial\n");
		}
		group_table(out, rf, g, fmt_cell, markdown);
		if (g->has_latency) {
			const char *of = rf_str(json_object_get(g->first->json, "latency_s"), "of");
			if (markdown)
				fprintf(out, "\nLatency p50 / p99%s%s:\n\n", of ? " of " : "",
				        of ? of : " per task");
			else
				fprintf(out, "  latency p50 / p99%s%s\n", of ? " of " : "",
				        of ? of : " per task");
			group_table(out, rf, g, fmt_latency, markdown);
		}
		if (g->has_cpu) {
			fputs(markdown
			          ? "\nCPU time over serial's for the same work, and the share of "
			            "the cores kept busy:\n\n"
			          : "  CPU time over serial's for the same work, cores kept busy\n",
			      out);
			group_table(out, rf, g, fmt_cpu, markdown);
		}
		print_convoy(out, rf, g, markdown);
		if (markdown)
			fputs("\n", out);
		print_strategy_params(out, rf, g, markdown);
		print_hosts(out, rf, g, markdown);
		print_notes(out, rf, g, markdown);
	}
	json_t *claims = json_object_get(rf->doc, "claims");
	if (!markdown) /* the simulation against the interpreter, where py-* cells ran */
		fidelity_print(json_object_get(rf->doc, "fidelity"), out);
	if (markdown)
		print_claims_markdown(out, claims);
	else if (json_array_size(claims) > 0)
		claims_print(claims, out);
	size_t i;
	json_t *w;
	json_array_foreach(json_object_get(rf->doc, "warnings"), i, w) if (json_is_string(w))
	    fprintf(out, markdown ? "\n- warning: %s\n" : "\nwarning: %s\n", json_string_value(w));
	layout_free(&l);
	return 0;
}

/* ---- csv ---------------------------------------------------------------- */

static void csv_field(FILE *out, const char *s, bool last)
{
	if (s == NULL)
		s = "";
	if (strpbrk(s, ",\"\r\n") != NULL) {
		fputc('"', out);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', out);
			fputc(*s, out);
		}
		fputc('"', out);
	} else
		fputs(s, out);
	fputs(last ? "\n" : ",", out);
}

static void csv_num(FILE *out, double v, bool last)
{
	char buf[64] = "";
	if (isfinite(v))
		snprintf(buf, sizeof(buf), "%.9g", v);
	csv_field(out, buf, last);
}

static const char *const csv_sample_fields[] = {"wall_s",      "user_s",        "sys_s",
                                                "max_rss_kib", "ctx_voluntary", "ctx_involuntary"};
#define N_SAMPLE_FIELDS (sizeof(csv_sample_fields) / sizeof(csv_sample_fields[0]))

/* The row's machine: host, CPU model, cores, allowed PUs ("0-3,8"), pin policy. */
static void csv_machine(FILE *out, const struct result_file *rf)
{
	char buf[1024] = "", num[32];
	csv_field(out, rf->hostname, false);
	csv_field(out, rf->cpu_model, false);
	snprintf(num, sizeof(num), "%ld", rf->cores);
	csv_field(out, rf->cores > 0 ? num : "", false);
	json_t *pus = json_object_get(json_object_get(rf->doc, "machine"), "allowed_pus");
	size_t i, used = 0, n = json_array_size(pus);
	for (i = 0; i < n && used + 24 < sizeof(buf); i++) {
		json_int_t first = json_integer_value(json_array_get(pus, i)), last = first;
		while (i + 1 < n && json_integer_value(json_array_get(pus, i + 1)) == last + 1)
			last = json_integer_value(json_array_get(pus, ++i));
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%lld", used ? "," : "",
		                         (long long)first);
		if (last != first)
			used += (size_t)snprintf(buf + used, sizeof(buf) - used, "-%lld",
			                         (long long)last);
	}
	csv_field(out, buf, false);
	csv_field(out, rf_str(json_object_get(rf->doc, "config"), "pin"), false);
}

static void csv_row(FILE *out, const struct result_file *rf, const struct rf_cell *c,
                    json_t *sample, size_t index)
{
	char buf[32];
	csv_field(out, c->workload, false);
	csv_field(out, c->kind, false);
	csv_field(out, c->params, false);
	csv_field(out, c->strategy, false);
	snprintf(buf, sizeof(buf), "%d", c->workers);
	csv_field(out, buf, false);
	if (sample != NULL)
		snprintf(buf, sizeof(buf), "%zu", index + 1);
	else
		buf[0] = '\0';
	csv_field(out, buf, false);
	for (size_t f = 0; f < N_SAMPLE_FIELDS; f++)
		csv_num(out, rf_num(sample, csv_sample_fields[f]), false);
	csv_num(out, c->median, false);
	csv_num(out, c->ci_lo, false);
	csv_num(out, c->ci_hi, false);
	csv_num(out, c->speedup, false);
	json_t *ok = json_object_get(c->json, "checksum_ok");
	csv_field(out, json_is_true(ok) ? "true" : json_is_false(ok) ? "false" : "", false);
	csv_field(out, c->error, false);
	csv_machine(out, rf);
	json_t *lat = json_object_get(c->json, "latency_s");
	csv_num(out, rf_num(lat, "p50"), false);
	csv_num(out, rf_num(lat, "p90"), false);
	csv_num(out, rf_num(lat, "p99"), true);
}

static void report_csv(FILE *out, const struct result_file *rf, bool header)
{
	if (header) {
		fputs("workload,kind,params,strategy,workers,sample,", out);
		for (size_t f = 0; f < N_SAMPLE_FIELDS; f++)
			fprintf(out, "%s,", csv_sample_fields[f]);
		fputs("median_s,ci95_lo_s,ci95_hi_s,speedup_vs_serial,checksum_ok,error,host,"
		      "cpu_model,cores,allowed_pus,pin,latency_p50_s,latency_p90_s,latency_p99_s\n",
		      out);
	}
	for (size_t i = 0; i < rf->n_cells; i++) {
		const struct rf_cell *c = &rf->cells[i];
		json_t *samples = json_object_get(c->json, "samples");
		if (json_array_size(samples) == 0)
			csv_row(out, rf, c, NULL, 0);
		size_t k;
		json_t *s;
		json_array_foreach(samples, k, s) csv_row(out, rf, c, s, k);
	}
}

/* ---- github-action-benchmark -------------------------------------------- */

static int report_gab(FILE *out, const struct result_file *rf)
{
	json_t *entries = json_array();
	char machine[512];
	result_file_machine_label(rf, machine, sizeof(machine));
	for (size_t i = 0; i < rf->n_cells; i++) {
		const struct rf_cell *c = &rf->cells[i];
		if (!c->ok) {
			fprintf(stderr, "concbench report: %s: leaving out %s/%s/n=%d: %s\n",
			        rf->path, c->workload, c->strategy, c->workers,
			        c->error ? c->error : "no usable median");
			continue;
		}
		/* The same name twice (a workload run with other parameters or with
		 * ballast) would mix two series: the first keeps the plain name, the
		 * later ones add what differs, "primes/gil/n=2 [release_gil=1]". */
		const struct rf_cell *first = NULL;
		for (size_t k = 0; k < i && first == NULL; k++)
			if (rf->cells[k].ok && strcmp(rf->cells[k].workload, c->workload) == 0 &&
			    strcmp(rf->cells[k].strategy, c->strategy) == 0 &&
			    rf->cells[k].workers == c->workers)
				first = &rf->cells[k];
		char name[1024], range[64] = "", extra[2048], diff[512] = "";
		if (first != NULL)
			rf_params_difference(c->params, first->params, diff, sizeof(diff));
		snprintf(name, sizeof(name), "%s/%s/n=%d%s%s%s", c->workload, c->strategy,
		         c->workers, first ? " [" : "", first ? diff : "", first ? "]" : "");
		if (isfinite(c->ci_lo) && isfinite(c->ci_hi))
			snprintf(range, sizeof(range), "\u00b1 %.3g", (c->ci_hi - c->ci_lo) / 2);
		snprintf(extra, sizeof(extra),
		         "median of %zu samples, 95%% interval [%.6g, %.6g] s; speedup over "
		         "serial %.3gx; %s; params %s",
		         c->n_samples, c->ci_lo, c->ci_hi, c->speedup, machine, c->params);
		json_t *e =
		    json_pack("{s:s, s:s, s:f}", "name", name, "unit", "s", "value", c->median);
		if (range[0])
			json_object_set_new(e, "range", json_string(range));
		json_object_set_new(e, "extra", json_string(extra));
		json_array_append_new(entries, e);
	}
	int rc = json_dumpf(entries, out, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
	fputs("\n", out);
	json_decref(entries);
	return rc;
}

/* ---- several files ---------------------------------------------------------- */

/* After each file's own report: how the runs differ from the first, and the
 * files side by side. */
static void report_side_by_side(FILE *out, const struct result_file *files, int n, bool markdown)
{
	fprintf(out,
	        markdown ? "\n---\n\n## The %d files side by side\n\n"
	                 : "\nthe %d files side by side\n",
	        n);
	for (int i = 0; i < n; i++) {
		char machine[600], diff[1024] = "", why[512];
		result_file_machine_label(&files[i], machine, sizeof(machine));
		if (i > 0) {
			rf_config_differences(&files[0], &files[i], diff, sizeof(diff));
			if (!result_files_same_machine(&files[0], &files[i], why, sizeof(why)))
				snprintf(diff + strlen(diff), sizeof(diff) - strlen(diff), "%s%s",
				         diff[0] ? "; " : "", why);
		}
		if (markdown) {
			fprintf(out, "- #%d `%s`: ", i + 1, files[i].path);
			rf_print_markdown(out, machine);
			if (diff[0]) {
				fputs("; differs from #1: ", out);
				rf_print_markdown(out, diff);
			}
			fputs("\n", out);
		} else
			fprintf(out, "  #%d %s: %s%s%s\n", i + 1, files[i].path, machine,
			        diff[0] ? "\n     differs from #1: " : "", diff);
	}
	rf_side_by_side(out, files, n, markdown);
}

/* ---- the command -------------------------------------------------------- */

int cmd_report(int argc, char **argv)
{
	enum format format = FMT_TEXT;
	static const struct option options[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	optind = 1;
	opterr = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "f:h", options, NULL)) != -1) {
		switch (opt) {
		case 'f': {
			bool found = false;
			for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
				if (strcmp(optarg, format_names[i]) == 0) {
					format = (enum format)i;
					found = true;
				}
			if (!found) {
				fprintf(
				    stderr,
				    "concbench report: unknown format '%s' (text, markdown, csv, "
				    "github-action-benchmark)\n",
				    optarg);
				return 2;
			}
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "concbench report: unknown option or missing value '%s'\n",
			        argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	int n = argc - optind;
	if (n < 1 || (n > 1 && format == FMT_GAB)) {
		fprintf(stderr, "concbench report: %s\n",
		        n < 1 ? "which result file? (concbench report FILE)"
		              : "github-action-benchmark takes one result file at a time");
		usage(stderr);
		return 2;
	}
	struct result_file *files = calloc((size_t)n, sizeof(*files));
	char err[1024];
	if (files == NULL)
		return 2;
	for (int i = 0; i < n; i++)
		if (result_file_load(argv[optind + i], &files[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "concbench report: %s\n", err);
			for (int k = 0; k < i; k++)
				result_file_free(&files[k]);
			free(files);
			return 2;
		}
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		switch (format) {
		case FMT_TEXT:
		case FMT_MARKDOWN:
			if (i > 0)
				fputs(format == FMT_MARKDOWN ? "\n---\n\n" : "\n", stdout);
			rc = report_tables(stdout, &files[i], format == FMT_MARKDOWN);
			break;
		case FMT_CSV:
			report_csv(stdout, &files[i], i == 0);
			break;
		case FMT_GAB:
			rc = report_gab(stdout, &files[i]);
			break;
		}
	}
	if (rc == 0 && n > 1 && format != FMT_CSV)
		report_side_by_side(stdout, files, n, format == FMT_MARKDOWN);
	for (int i = 0; i < n; i++)
		result_file_free(&files[i]);
	free(files);
	if (fflush(stdout) != 0 || rc != 0) {
		fprintf(stderr, "concbench report: could not write the report\n");
		return 1;
	}
	return 0;
}
