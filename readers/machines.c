/* Result files side by side, for `compare` across machines or configurations
 * and `report` given several files: what differs between their runs, and per
 * file the serial time of each workload, each strategy's best speedup over
 * its own serial cell and at which worker count, the winner of each workload,
 * and the scaling curves over each file's own worker counts. Nothing here is
 * judged a regression: times from two machines, or from two configurations,
 * answer "which strategy, by how much, here", not "slower than before".
 *
 * Cells are matched by workload, variant and ballast, not by parameters: the
 * sizes follow the machine (bench/sizing.c), so a server's primes has more
 * tasks than a laptop's; where the sizes differ the table says so. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readers/machines.h"

/* ---- what differs between two runs ----------------------------------------- */

static void json_text(json_t *v, char *buf, size_t len)
{
	char *s = v == NULL ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	snprintf(buf, len, "%s", s ? s : "absent");
	free(s);
}

static void add_difference(char *buf, size_t len, const char *name, json_t *a, json_t *b)
{
	char ta[96], tb[96];
	if (json_equal(a, b) || (a == NULL && b == NULL))
		return;
	json_text(a, ta, sizeof(ta));
	json_text(b, tb, sizeof(tb));
	size_t used = strlen(buf);
	snprintf(buf + used, len - used, "%s%s %s vs %s", used ? "; " : "", name, ta, tb);
}

void rf_config_differences(const struct result_file *a, const struct result_file *b, char *buf,
                           size_t len)
{
	static const char *const config_keys[][2] = {
	    {"pin", "pin policy"},
	    {"quick", "quick sizes"},
	    {"reps", "reps"},
	    {"warmup", "warm-up runs"},
	    {"switch_interval_us", "switch interval (us)"},
	};
	json_t *ca = json_object_get(a->doc, "config"), *cb = json_object_get(b->doc, "config");
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++)
		add_difference(buf, len, config_keys[i][1], json_object_get(ca, config_keys[i][0]),
		               json_object_get(cb, config_keys[i][0]));
	add_difference(buf, len, "tool version",
	               json_object_get(json_object_get(a->doc, "tool"), "version"),
	               json_object_get(json_object_get(b->doc, "tool"), "version"));
	/* another machine's PUs are another set anyway; on one, taskset and cpusets count */
	if (strcmp(a->hostname, b->hostname) == 0)
		add_difference(buf, len, "allowed PUs",
		               json_object_get(json_object_get(a->doc, "machine"), "allowed_pus"),
		               json_object_get(json_object_get(b->doc, "machine"), "allowed_pus"));
}

/* ---- the groups: workload, variant, ballast, across the files ------------- */

static void group_key(const struct rf_cell *c, char *buf, size_t len)
{
	const char *variant = rf_str(c->json, "variant");
	double ballast = rf_num(c->json, "ballast_mb");
	int k =
	    snprintf(buf, len, "%s%s%s", c->workload, variant ? ":" : "", variant ? variant : "");
	if (isfinite(ballast) && ballast > 0 && k > 0 && (size_t)k < len)
		snprintf(buf + k, len - (size_t)k, " ballast=%.0fM", ballast);
}

struct names {
	char **v;
	size_t n;
};

static void names_add(struct names *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], name) == 0)
			return;
	char **grown = realloc(s->v, (s->n + 1) * sizeof(*grown));
	if (grown == NULL)
		return;
	s->v = grown;
	s->v[s->n] = strdup(name);
	if (s->v[s->n] != NULL)
		s->n++;
}

static void names_free(struct names *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

static const struct rf_cell *cell_of(const struct result_file *rf, const char *group,
                                     const char *strategy, int workers)
{
	char key[256];
	for (size_t i = 0; i < rf->n_cells; i++) {
		const struct rf_cell *c = &rf->cells[i];
		if (strcmp(c->strategy, strategy) != 0 ||
		    (workers != INT_MIN && c->workers != workers))
			continue;
		group_key(c, key, sizeof(key));
		if (strcmp(key, group) == 0)
			return c;
	}
	return NULL;
}

/* The file's serial cell of a group: its serial strategy's, or the
 * single-worker cell that every speedup in the file is over. */
static const struct rf_cell *serial_of(const struct result_file *rf, const char *group)
{
	char key[256];
	for (size_t i = 0; i < rf->n_cells; i++) {
		const struct rf_cell *c = &rf->cells[i];
		group_key(c, key, sizeof(key));
		if (strcmp(key, group) == 0) {
			const struct rf_cell *s = result_file_serial(rf, c);
			if (s != NULL)
				return s;
		}
	}
	return NULL;
}

/* The cell's speedup over its own file's serial cell, NAN when there is none. */
static double speedup_of_cell(const struct result_file *rf, const struct rf_cell *c,
                              const char *group)
{
	const struct rf_cell *s = serial_of(rf, group);
	if (c == NULL || !c->ok || s == NULL || !s->ok)
		return NAN;
	return s->median / c->median;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* ---- the tables ------------------------------------------------------------------ */

struct side {
	const struct result_file *files;
	int n;
	bool md;
	struct names groups;
	FILE *out;
};

static void file_heading(const struct result_file *rf, int i, char *buf, size_t len)
{
	const char *pin = rf_str(json_object_get(rf->doc, "config"), "pin");
	snprintf(buf, len, "#%d %s, %ld core%s%s%s", i + 1, rf->hostname, rf->cores,
	         rf->cores == 1 ? "" : "s", pin ? ", pin " : "", pin ? pin : "");
}

static void heading(const struct side *s, const char *title)
{
	fprintf(s->out, s->md ? "\n### %s\n\n" : "\n  %s\n", title);
}

static void print_table(const struct side *s, struct rf_table *t)
{
	rf_table_print(t, s->out, s->md, 2);
	rf_table_free(t);
}

/* The header row: the leading columns, then one per file. */
static void file_columns(const struct side *s, const char **row, size_t lead, char (*text)[128])
{
	for (int i = 0; i < s->n; i++) {
		file_heading(&s->files[i], i, text[i], 128);
		row[lead + (size_t)i] = text[i];
	}
}

static void serial_table(const struct side *s)
{
	size_t cols = 1 + (size_t)s->n + (size_t)(s->n - 1);
	char align[64], (*text)[128] = calloc(cols, sizeof(*text));
	const char **row = calloc(cols, sizeof(*row));
	if (text == NULL || row == NULL || cols >= sizeof(align))
		goto out;
	memset(align, 'r', cols);
	align[0] = 'l';
	align[cols] = '\0';
	struct rf_table t;
	rf_table_init(&t, cols, align);
	row[0] = "workload";
	file_columns(s, row, 1, text);
	for (int i = 1; i < s->n; i++) {
		snprintf(text[s->n + i - 1], 128, "#%d / #1", i + 1);
		row[s->n + i] = text[s->n + i - 1];
	}
	rf_table_row(&t, row);
	for (size_t g = 0; g < s->groups.n; g++) {
		const char *group = s->groups.v[g];
		const struct rf_cell *base = serial_of(&s->files[0], group);
		row[0] = group;
		for (int i = 0; i < s->n; i++) {
			const struct rf_cell *c = serial_of(&s->files[i], group);
			if (c == NULL || !c->ok)
				snprintf(text[i], 128, "%s", c == NULL ? "-" : "error");
			else
				rf_fmt_duration(c->median, text[i], 128);
			row[1 + i] = text[i];
			if (i == 0)
				continue;
			char *r = text[s->n + i - 1], diff[96] = "";
			if (c != NULL && base != NULL && strcmp(c->params, base->params) != 0)
				rf_params_difference(c->params, base->params, diff, sizeof(diff));
			if (c != NULL && base != NULL && c->ok && base->ok)
				snprintf(r, 128, "%.3f%s%s%s", c->median / base->median,
				         diff[0] ? " (sizes differ: " : "", diff,
				         diff[0] ? ")" : "");
			else
				snprintf(r, 128, "-");
			row[s->n + i] = r;
		}
		rf_table_row(&t, row);
	}
	heading(s,
	        "serial time of each workload (the ratio: per-core speed, below 1 faster than #1)");
	print_table(s, &t);
out:
	free(text);
	free(row);
}

/* The strategy's best speedup in the file for the group, and at which n. */
static double best_of(const struct result_file *rf, const char *group, const char *strategy,
                      int *at)
{
	double best = NAN;
	char key[256];
	*at = 0;
	for (size_t i = 0; i < rf->n_cells; i++) {
		const struct rf_cell *c = &rf->cells[i];
		if (strcmp(c->strategy, strategy) != 0)
			continue;
		group_key(c, key, sizeof(key));
		double sp = strcmp(key, group) == 0 ? speedup_of_cell(rf, c, group) : NAN;
		if (isfinite(sp) && !(sp <= best)) {
			best = sp;
			*at = c->workers;
		}
	}
	return best;
}

static void strategies_of(const struct side *s, const char *group, struct names *out)
{
	char key[256];
	for (int i = 0; i < s->n; i++)
		for (size_t k = 0; k < s->files[i].n_cells; k++) {
			group_key(&s->files[i].cells[k], key, sizeof(key));
			if (strcmp(key, group) == 0)
				names_add(out, s->files[i].cells[k].strategy);
		}
}

static void best_table(const struct side *s)
{
	size_t cols = 2 + (size_t)s->n;
	char align[64], (*text)[128] = calloc(cols + (size_t)s->n, sizeof(*text));
	const char **row = calloc(cols, sizeof(*row));
	if (text == NULL || row == NULL || cols >= sizeof(align))
		goto out;
	memset(align, 'r', cols);
	align[0] = align[1] = 'l';
	align[cols] = '\0';
	struct rf_table t;
	rf_table_init(&t, cols, align);
	row[0] = "workload";
	row[1] = "strategy";
	file_columns(s, row, 2, text);
	rf_table_row(&t, row);
	for (size_t g = 0; g < s->groups.n; g++) {
		struct names st = {0};
		strategies_of(s, s->groups.v[g], &st);
		for (size_t k = 0; k < st.n; k++) {
			row[0] = s->groups.v[g];
			row[1] = st.v[k];
			for (int i = 0; i < s->n; i++) {
				int at;
				double b = best_of(&s->files[i], s->groups.v[g], st.v[k], &at);
				char *cell = text[s->n + i];
				if (isfinite(b))
					snprintf(cell, 128, "%.2fx @%d", b, at);
				else
					snprintf(cell, 128, "-");
				row[2 + i] = cell;
			}
			rf_table_row(&t, row);
		}
		names_free(&st);
	}
	heading(s, "best speedup over the file's own serial cell, @ at which worker count");
	print_table(s, &t);
out:
	free(text);
	free(row);
}

static void winner_table(const struct side *s)
{
	size_t cols = 1 + (size_t)s->n;
	char align[64], (*text)[128] = calloc(cols + (size_t)s->n, sizeof(*text));
	const char **row = calloc(cols, sizeof(*row));
	if (text == NULL || row == NULL || cols >= sizeof(align))
		goto out;
	memset(align, 'l', cols);
	align[cols] = '\0';
	struct rf_table t;
	rf_table_init(&t, cols, align);
	row[0] = "workload";
	file_columns(s, row, 1, text);
	rf_table_row(&t, row);
	for (size_t g = 0; g < s->groups.n; g++) {
		row[0] = s->groups.v[g];
		for (int i = 0; i < s->n; i++) {
			const struct result_file *rf = &s->files[i];
			const struct rf_cell *win = NULL;
			char key[256];
			for (size_t k = 0; k < rf->n_cells; k++) {
				const struct rf_cell *c = &rf->cells[k];
				group_key(c, key, sizeof(key));
				if (strcmp(key, s->groups.v[g]) == 0 && c->ok &&
				    (win == NULL || c->median < win->median))
					win = c;
			}
			char *cell = text[s->n + i];
			if (win == NULL) {
				snprintf(cell, 128, "-");
				row[1 + i] = cell;
				continue;
			}
			int k = snprintf(cell, 128, "%s @%d (%.2fx)", win->strategy, win->workers,
			                 speedup_of_cell(rf, win, s->groups.v[g]));
			/* a strategy whose best interval reaches the winner's is no loser */
			struct names tied = {0};
			for (size_t j = 0; j < rf->n_cells; j++) {
				const struct rf_cell *c = &rf->cells[j];
				group_key(c, key, sizeof(key));
				if (strcmp(key, s->groups.v[g]) == 0 && c->ok &&
				    strcmp(c->strategy, win->strategy) != 0 && isfinite(c->ci_lo) &&
				    isfinite(win->ci_hi) && c->ci_lo <= win->ci_hi)
					names_add(&tied, c->strategy);
			}
			for (size_t j = 0; j < tied.n && k > 0 && k < 128; j++)
				k += snprintf(cell + k, 128 - (size_t)k, "%s%s", j ? ", " : " ~ ",
				              tied.v[j]);
			names_free(&tied);
			row[1 + i] = cell;
		}
		rf_table_row(&t, row);
	}
	heading(s, "the winner: the fastest cell of each workload, @ its worker count (speedup); "
	           "~ the strategies whose 95% interval reaches it");
	print_table(s, &t);
out:
	free(text);
	free(row);
}

/* Worker counts of a group and strategy in any file, ascending. */
static size_t workers_of(const struct side *s, const char *group, const char *strategy, int *out,
                         size_t max)
{
	size_t n = 0;
	char key[256];
	for (int i = 0; i < s->n; i++)
		for (size_t k = 0; k < s->files[i].n_cells; k++) {
			const struct rf_cell *c = &s->files[i].cells[k];
			group_key(c, key, sizeof(key));
			if (strcmp(key, group) != 0 || strcmp(c->strategy, strategy) != 0)
				continue;
			bool seen = false;
			for (size_t j = 0; j < n; j++)
				seen |= out[j] == c->workers;
			if (!seen && n < max)
				out[n++] = c->workers;
		}
	qsort(out, n, sizeof(*out), cmp_int);
	return n;
}

static void curve_rows(const struct side *s, struct rf_table *t, const char *group,
                       const char *strategy, const char **row, char (*text)[128])
{
	int workers[256];
	size_t n = workers_of(s, group, strategy, workers, 256);
	for (size_t w = 0; w < n; w++) {
		snprintf(text[0], 128, "%d", workers[w]);
		row[0] = group;
		row[1] = strategy;
		row[2] = text[0];
		for (int i = 0; i < s->n; i++) {
			const struct result_file *rf = &s->files[i];
			const struct rf_cell *c = cell_of(rf, group, strategy, workers[w]);
			double sp = speedup_of_cell(rf, c, group);
			char *cell = text[1 + i];
			if (c == NULL)
				snprintf(cell, 128, "-");
			else if (!isfinite(sp))
				snprintf(cell, 128, "%s", c->ok ? "no serial" : "error");
			else if (rf->cores > 0)
				snprintf(cell, 128, "%.2fx (n/cores %.2g)", sp,
				         (double)workers[w] / (double)rf->cores);
			else
				snprintf(cell, 128, "%.2fx", sp);
			row[3 + i] = cell;
		}
		rf_table_row(t, row);
	}
}

static void curves_table(const struct side *s)
{
	size_t cols = 3 + (size_t)s->n;
	char align[64], (*text)[128] = calloc(cols + (size_t)s->n + 1, sizeof(*text));
	const char **row = calloc(cols, sizeof(*row));
	if (text == NULL || row == NULL || cols >= sizeof(align))
		goto out;
	memset(align, 'r', cols);
	align[0] = align[1] = 'l';
	align[cols] = '\0';
	struct rf_table t;
	rf_table_init(&t, cols, align);
	row[0] = "workload";
	row[1] = "strategy";
	row[2] = "workers";
	file_columns(s, row, 3, text + cols);
	rf_table_row(&t, row);
	for (size_t g = 0; g < s->groups.n; g++) {
		struct names st = {0};
		strategies_of(s, s->groups.v[g], &st);
		for (size_t k = 0; k < st.n; k++)
			curve_rows(s, &t, s->groups.v[g], st.v[k], row, text);
		names_free(&st);
	}
	heading(s, "scaling: speedup over the file's own serial cell at each of its worker counts "
	           "(n/cores: the workers per core of that machine; -: not measured there)");
	print_table(s, &t);
out:
	free(text);
	free(row);
}

void rf_side_by_side(FILE *out, const struct result_file *files, int n, bool markdown)
{
	struct side s = {.files = files, .n = n, .md = markdown, .out = out};
	char key[256];
	for (int i = 0; i < n; i++)
		for (size_t k = 0; k < files[i].n_cells; k++) {
			group_key(&files[i].cells[k], key, sizeof(key));
			names_add(&s.groups, key);
		}
	serial_table(&s);
	best_table(&s);
	winner_table(&s);
	curves_table(&s);
	names_free(&s.groups);
}
