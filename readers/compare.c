/* `concbench compare BASE.json NEW.json [MORE.json...]`: cell by cell (same
 * workload, parameters, strategy and workers), how much slower or faster each
 * later file is than the first, whether the difference is more than noise
 * (Mann-Whitney U on the samples), and the geometric mean over all cells.
 * Times from two machines are not comparable; speedups over each file's own
 * serial cell are, so across machines those are compared instead. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readers/machines.h"
#include "readers/resultfile.h"
#include "lib/stats.h"

#define ALPHA             0.05
#define DEFAULT_THRESHOLD 10.0

enum basis { BY_AUTO, BY_TIME, BY_SPEEDUP };

enum verdict { V_NONE, V_SAME, V_SLOWER, V_FASTER, V_REGRESSION, V_IMPROVED };

static const char *const verdict_text[] = {"", "~", "slower", "faster", "REGRESSION", "improved"};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: concbench compare BASE.json NEW.json [MORE.json...] [--threshold PCT]\n"
	        "                         [--format text|markdown] [--by auto|time|speedup]\n"
	        "                         [--regressions]\n"
	        "\n"
	        "Matches the cells of each file with BASE's by workload, parameters, strategy and\n"
	        "workers, and shows for each: NEW/BASE, the ratio of the median wall times with\n"
	        "its interval (from the two medians' 95%% intervals), the two-sided p-value of a\n"
	        "Mann-Whitney U test on the samples (exact for small samples without ties), and a\n"
	        "verdict; then the geometric mean of the ratios over all matched cells.\n"
	        "\n"
	        "When the machines differ (hostname, CPU model or core count) or the runs were\n"
	        "configured otherwise (pin policy, quick sizes, reps, warm-up, switch interval,\n"
	        "tool version, allowed PUs), the header says what differs and the files are\n"
	        "shown side by side instead, nothing judged a regression: per file the serial\n"
	        "time of each workload, each strategy's best speedup and at which worker count,\n"
	        "the winner of each workload and the scaling curves over each file's own\n"
	        "worker counts; cells measured in one file only are shown too. Exit status 0.\n"
	        "  --regressions     judge them anyway: the cells both have, by their speedups\n"
	        "                    over each file's serial cell across machines (BASE speedup\n"
	        "                    / NEW speedup; above 1, NEW gains less), by time on one\n"
	        "                    machine; --by time or --by speedup forces one or the other\n"
	        "\n"
	        "On one machine and configuration, the p-values of all cells of a file are\n"
	        "corrected for multiple comparisons (Benjamini-Hochberg, false discovery rate\n"
	        "%.2f), and a change must also exceed the threshold (the minimum effect size).\n"
	        "A file whose run began on a busy machine (load average at or above its PUs)\n"
	        "has its changes shown as slower or faster, none judged a regression, unless\n"
	        "--regressions.\n",
	        ALPHA);
	fprintf(out,
	        "\n"
	        "  --threshold PCT   a regression is NEW slower than BASE by more than PCT%%\n"
	        "                    (default %.0f) AND significant: q < %.2f (the p-value after\n"
	        "                    the correction); with too few samples for the test to ever\n"
	        "                    reach that (3 against 3), the two intervals of the median\n"
	        "                    must not overlap and the ratio's whole interval must lie\n"
	        "                    beyond the threshold instead; a cell\n"
	        "                    whose samples do not match its median (a hand-edited file)\n"
	        "                    is judged on the medians alone\n"
	        "  --format markdown for pull-request comments and job summaries\n"
	        "\n"
	        "With more than two files, one column per file, each compared with BASE.\n"
	        "Exit status: 0 no significant regression beyond the threshold, 1 at least one,\n"
	        "2 unusable input (an unreadable or invalid file, no cell in common).\n",
	        DEFAULT_THRESHOLD, ALPHA);
}

struct options {
	double threshold; /* a fraction: 0.10 for 10% */
	bool markdown;
	enum basis by;
	bool regressions; /* --regressions: judge across machines and configurations too */
};

/* One cell of BASE against its match in another file. */
struct comparison {
	const struct rf_cell *base, *other;
	enum verdict verdict;
	double base_value, other_value; /* medians (s) or speedups */
	double r, r_lo, r_hi;           /* relative time, above 1 = slower */
	double p;                       /* NAN when not computed */
	double q;                       /* p after the Benjamini-Hochberg correction */
	bool usable;                    /* the samples are those of the medians */
	const char *test;               /* "U", "intervals", "medians" */
	char note[160];
};

/* Whether the cell's samples are the ones its median summarises. */
static bool samples_match(const struct rf_cell *c)
{
	double median = median_of(c->samples, c->n_samples);
	return c->n_samples >= 2 && fabs(median - c->median) <= 1e-6 * fabs(c->median) + 1e-12;
}

static bool is_serial(const struct rf_cell *c)
{
	return strcmp(c->strategy, "serial") == 0;
}

/* The speedup of c over the serial cell of its own file, as `run` defines
 * it: the ratio of the medians, its interval from the two medians' intervals
 * (computed here, so that it always agrees with the times beside it). */
static double cell_speedup(const struct rf_cell *c, const struct rf_cell *serial, double *lo,
                           double *hi)
{
	struct summary base = {.median = serial->median,
	                       .ci_lo = serial->ci_lo,
	                       .ci_hi = serial->ci_hi},
	               cell = {.median = c->median, .ci_lo = c->ci_lo, .ci_hi = c->ci_hi};
	struct ratio r = speedup_of(&base, &cell);
	*lo = r.lo;
	*hi = r.hi;
	return r.value;
}

/* The verdict from whether the difference is significant and how large it is:
 * beyond the threshold (the minimum effect size) a regression or an
 * improvement; judged on the intervals, the ratio's whole interval must lie
 * beyond it. */
static void set_verdict(struct comparison *cmp, const struct options *o, bool significant)
{
	double up = 1 + o->threshold;
	bool intervals = strcmp(cmp->test, "intervals") == 0;
	if (!significant)
		cmp->verdict = V_SAME;
	else if (cmp->r > up && (!intervals || cmp->r_lo > up))
		cmp->verdict = V_REGRESSION;
	else if (cmp->r < 1 / up && (!intervals || cmp->r_hi < 1 / up))
		cmp->verdict = V_IMPROVED;
	else if (cmp->r > 1)
		cmp->verdict = cmp->usable ? V_SLOWER : V_SAME;
	else if (cmp->r < 1)
		cmp->verdict = cmp->usable ? V_FASTER : V_SAME;
	else
		cmp->verdict = V_SAME;
}

static void judge(struct comparison *cmp, const struct options *o, double *a, size_t na, double *b,
                  size_t nb, bool samples_usable, double base_lo, double base_hi, double other_lo,
                  double other_hi)
{
	bool significant;
	cmp->usable = samples_usable;
	cmp->p = samples_usable ? mann_whitney_p(a, na, b, nb) : NAN;
	cmp->q = cmp->p;
	if (!samples_usable) {
		cmp->test = "medians";
		significant = true;
		snprintf(cmp->note, sizeof(cmp->note), "samples missing: judged on the medians");
	} else if (mann_whitney_min_p(na, nb) < ALPHA) {
		cmp->test = "U";
		significant = cmp->p < ALPHA; /* until corrected (correct_p_values) */
	} else {
		cmp->test = "intervals";
		/* disjoint intervals of the median */
		significant = other_lo > base_hi || other_hi < base_lo;
		snprintf(cmp->note, sizeof(cmp->note), "intervals %s",
		         significant ? "disjoint" : "overlap");
	}
	set_verdict(cmp, o, significant);
}

static int cmp_by_p(const void *a, const void *b)
{
	const struct comparison *x = *(const struct comparison *const *)a,
	                        *y = *(const struct comparison *const *)b;
	return (x->p > y->p) - (x->p < y->p);
}

/* Benjamini-Hochberg over the U tests of one file against BASE: q of the
 * k-th smallest of m p-values is the least m p_(j) / j over j >= k; each of
 * them is judged again on q. */
static void correct_p_values(struct comparison *const *tests, size_t m, const struct options *o)
{
	struct comparison **sorted = malloc((m + 1) * sizeof(*sorted));
	if (sorted == NULL)
		return;
	memcpy(sorted, tests, m * sizeof(*sorted));
	qsort(sorted, m, sizeof(*sorted), cmp_by_p);
	double least = 1.0;
	for (size_t k = m; k-- > 0;) {
		double q = sorted[k]->p * (double)m / (double)(k + 1);
		least = q < least ? q : least;
		sorted[k]->q = least;
		set_verdict(sorted[k], o, least < ALPHA);
		if (sorted[k]->p < ALPHA && least >= ALPHA && sorted[k]->note[0] == '\0')
			snprintf(sorted[k]->note, sizeof(sorted[k]->note),
			         "q %.2f after the correction for %zu cells", least, m);
	}
	free(sorted);
}

static void compare_times(struct comparison *cmp, const struct options *o)
{
	const struct rf_cell *b = cmp->base, *n = cmp->other;
	cmp->base_value = b->median;
	cmp->other_value = n->median;
	cmp->r = n->median / b->median;
	cmp->r_lo = n->ci_lo / b->ci_hi;
	cmp->r_hi = n->ci_hi / b->ci_lo;
	bool usable = samples_match(b) && samples_match(n);
	/* A file whose samples say something else than its median was edited or
	 * damaged: the two views are both ratios of medians, and the one that
	 * differs more from 1 is judged, so that neither hides a change. */
	double rs = median_of(n->samples, n->n_samples) / median_of(b->samples, b->n_samples);
	if (!usable && isfinite(rs) && rs > 0 && fabs(log(rs)) > fabs(log(cmp->r))) {
		cmp->r = rs;
		cmp->base_value = median_of(b->samples, b->n_samples);
		cmp->other_value = median_of(n->samples, n->n_samples);
	}
	judge(cmp, o, b->samples, b->n_samples, n->samples, n->n_samples, usable, b->ci_lo,
	      b->ci_hi, n->ci_lo, n->ci_hi);
	if (!usable)
		snprintf(cmp->note, sizeof(cmp->note),
		         "samples and median disagree (an edited file?): judged on the medians");
}

/* Per-sample speedups: the file's serial median over each sample. */
static double *speedup_samples(const struct rf_cell *c, const struct rf_cell *serial)
{
	double *v = calloc(c->n_samples + 1, sizeof(*v));
	for (size_t i = 0; v != NULL && i < c->n_samples; i++)
		v[i] = serial->median / c->samples[i];
	return v;
}

static void compare_speedups(struct comparison *cmp, const struct options *o,
                             const struct result_file *base, const struct result_file *other)
{
	const struct rf_cell *b = cmp->base, *n = cmp->other;
	const struct rf_cell *bs = result_file_serial(base, b), *ns = result_file_serial(other, n);
	if (bs == NULL || ns == NULL || !bs->ok || !ns->ok) {
		cmp->verdict = V_NONE;
		snprintf(cmp->note, sizeof(cmp->note), "no serial cell to take a speedup from");
		return;
	}
	double b_lo, b_hi, n_lo, n_hi;
	cmp->base_value = cell_speedup(b, bs, &b_lo, &b_hi);
	cmp->other_value = cell_speedup(n, ns, &n_lo, &n_hi);
	cmp->r = cmp->base_value / cmp->other_value;
	cmp->r_lo = b_lo / n_hi;
	cmp->r_hi = b_hi / n_lo;
	double *sb = speedup_samples(b, bs), *sn = speedup_samples(n, ns);
	bool usable = sb != NULL && sn != NULL && samples_match(b) && samples_match(n);
	judge(cmp, o, sb, b->n_samples, sn, n->n_samples, usable, b_lo, b_hi, n_lo, n_hi);
	free(sb);
	free(sn);
}

static void compare_cell(struct comparison *cmp, const struct options *o, bool by_speedup,
                         const struct result_file *base, const struct result_file *other)
{
	cmp->p = cmp->r = cmp->r_lo = cmp->r_hi = NAN;
	cmp->base_value = cmp->other_value = NAN;
	cmp->verdict = V_NONE;
	cmp->test = "";
	cmp->note[0] = '\0';
	if (cmp->other == NULL) {
		snprintf(cmp->note, sizeof(cmp->note), "not in this file");
		return;
	}
	if (!cmp->base->ok || !cmp->other->ok) {
		const struct rf_cell *bad = !cmp->base->ok ? cmp->base : cmp->other;
		snprintf(cmp->note, sizeof(cmp->note), "%s: %s",
		         !cmp->base->ok ? "BASE" : "this file",
		         bad->error ? bad->error : "no usable median");
		return;
	}
	if (by_speedup) {
		if (is_serial(cmp->base)) {
			cmp->base_value = cmp->other_value = 1;
			snprintf(cmp->note, sizeof(cmp->note), "each file's baseline");
			return;
		}
		compare_speedups(cmp, o, base, other);
	} else
		compare_times(cmp, o);
}

/* ---- output ------------------------------------------------------------- */

static void fmt_value(double v, bool speedup, char *buf, size_t len)
{
	if (!isfinite(v))
		snprintf(buf, len, "-");
	else if (speedup)
		snprintf(buf, len, "%.2fx", v);
	else
		rf_fmt_duration(v, buf, len);
}

static void fmt_p(double p, char *buf, size_t len)
{
	if (!isfinite(p))
		snprintf(buf, len, "-");
	else if (p < 0.001)
		snprintf(buf, len, "<0.001");
	else
		snprintf(buf, len, "%.3f", p);
}

static void fmt_ratio(const struct comparison *c, char *buf, size_t len, bool with_interval)
{
	if (!isfinite(c->r))
		snprintf(buf, len, "-");
	else if (with_interval && isfinite(c->r_lo) && isfinite(c->r_hi))
		snprintf(buf, len, "%.3f [%.3f, %.3f]", c->r, c->r_lo, c->r_hi);
	else
		snprintf(buf, len, "%.3f", c->r);
}

/* "primes", or for a later parameter set of the same workload in BASE
 * (or one measured with ballast) what differs: "primes [release_gil=1]". */
static void workload_label(const struct result_file *base, const struct rf_cell *c, char *buf,
                           size_t len)
{
	const struct rf_cell *first = NULL;
	for (size_t i = 0; i < base->n_cells && first == NULL; i++)
		if (strcmp(base->cells[i].workload, c->workload) == 0)
			first = &base->cells[i];
	if (first == NULL || strcmp(first->params, c->params) == 0) {
		snprintf(buf, len, "%s", c->workload);
		return;
	}
	char diff[400];
	rf_params_difference(c->params, first->params, diff, sizeof(diff));
	snprintf(buf, len, "%s [%s]", c->workload, diff);
}

static void print_regression(FILE *f, bool md, const char *name, const struct result_file *base,
                             const struct comparison *c, bool by_speedup)
{
	char p[16], wl[512], what[160];
	fmt_p(c->p, p, sizeof(p));
	workload_label(base, c->base, wl, sizeof(wl));
	if (by_speedup)
		snprintf(what, sizeof(what), "gains %.1f%% less (speedup %.2fx, was %.2fx)",
		         (1 - 1 / c->r) * 100, c->other_value, c->base_value);
	else
		snprintf(what, sizeof(what), "is %.1f%% slower", (c->r - 1) * 100);
	fprintf(f,
	        md ? "- **regression** in %s: %s %s n=%d %s (%s, p %s)\n"
	           : "  regression in %s: %s %s n=%d %s (%s, p %s)\n",
	        name, wl, c->base->strategy, c->base->workers, what, c->test, p);
}

struct outcome {
	size_t matched, regressions, improvements;
	double log_sum; /* over the cells with a ratio */
	size_t n_log;
};

/* Everything one `compare` works on. */
struct session {
	struct options o;
	struct result_file *files; /* files[0] is BASE */
	int n_files;
	size_t n_other, n_rows;    /* n_files - 1; BASE's cells */
	bool same, by_speedup, md; /* one machine; what is compared; markdown */
	char why[512];             /* how the machines differ */
	char (*config_diff)[512];  /* per other file: how its run was configured otherwise */
	bool configs_differ;
	char busy[256];         /* which file's machine was busy before its run; "" when none */
	struct comparison *cmp; /* n_rows x n_other */
	struct outcome *out;    /* per other file */
};

/* Whether a file's run began on a busy machine: a load average at or above
 * its PUs, which `run` warns of; then which, in s->busy. */
static void note_busy(struct session *s)
{
	for (int i = 0; i < s->n_files; i++) {
		const struct result_file *rf = &s->files[i];
		json_t *m = json_object_get(rf->doc, "machine");
		json_t *first = json_array_get(json_object_get(m, "load_avg"), 0);
		size_t pus = json_array_size(json_object_get(m, "allowed_pus"));
		double load = json_is_number(first) ? json_number_value(first) : NAN;
		if (!isfinite(load) || pus == 0 || load < (double)pus)
			continue;
		size_t used = strlen(s->busy);
		snprintf(s->busy + used, sizeof(s->busy) - used,
		         "%s%s load average %.2f on %zu PUs", used ? "; " : "",
		         i == 0            ? "BASE"
		         : s->n_files == 2 ? "NEW"
		                           : rf->path,
		         load, pus);
	}
}

/* On a busy machine a change is reported as slower or faster, never as a
 * regression or an improvement, and the counts follow. */
static void unjudge(struct session *s)
{
	for (size_t k = 0; k < s->n_rows * s->n_other; k++) {
		if (s->cmp[k].verdict == V_REGRESSION)
			s->cmp[k].verdict = V_SLOWER;
		if (s->cmp[k].verdict == V_IMPROVED)
			s->cmp[k].verdict = V_FASTER;
	}
	for (size_t j = 0; j < s->n_other; j++)
		s->out[j].regressions = s->out[j].improvements = 0;
}

/* Returns -1 to go on (with *first the index of BASE in argv), else the exit status. */
static int parse_options(int argc, char **argv, struct options *o, int *first)
{
	static const struct option options[] = {
	    {"threshold", required_argument, NULL, 't'},
	    {"format", required_argument, NULL, 'f'},
	    {"by", required_argument, NULL, 'b'},
	    {"regressions", no_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	optind = 1;
	opterr = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, "t:f:h", options, NULL)) != -1) {
		char *end;
		double v;
		switch (opt) {
		case 't':
			v = strtod(optarg, &end);
			if (end != optarg && *end == '%')
				end++;
			if (end == optarg || *end != '\0' || !isfinite(v) || v < 0 || v > 10000) {
				fprintf(stderr,
				        "concbench compare: --threshold needs a percentage "
				        "from 0 to 10000, not '%s'\n",
				        optarg);
				return 2;
			}
			o->threshold = v / 100;
			break;
		case 'f':
			if (strcmp(optarg, "markdown") != 0 && strcmp(optarg, "text") != 0) {
				fprintf(stderr,
				        "concbench compare: unknown format '%s' (text, markdown)\n",
				        optarg);
				return 2;
			}
			o->markdown = strcmp(optarg, "markdown") == 0;
			break;
		case 'b':
			if (strcmp(optarg, "auto") == 0)
				o->by = BY_AUTO;
			else if (strcmp(optarg, "time") == 0)
				o->by = BY_TIME;
			else if (strcmp(optarg, "speedup") == 0)
				o->by = BY_SPEEDUP;
			else {
				fprintf(stderr,
				        "concbench compare: --by takes auto, time or speedup, "
				        "not '%s'\n",
				        optarg);
				return 2;
			}
			break;
		case 'R':
			o->regressions = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "concbench compare: unknown option or missing value '%s'\n",
			        argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind < 2) {
		fprintf(stderr,
		        "concbench compare: needs two result files or more (BASE.json "
		        "NEW.json), got %d\n",
		        argc - optind);
		usage(stderr);
		return 2;
	}
	*first = optind;
	return -1;
}

/* Every cell of BASE against each other file; false when nothing matched. */
static bool compare_all(struct session *s)
{
	const struct result_file *base = &s->files[0];
	bool any = false;
	for (size_t r = 0; r < s->n_rows; r++)
		for (size_t j = 0; j < s->n_other; j++) {
			struct comparison *c = &s->cmp[r * s->n_other + j];
			struct outcome *out = &s->out[j];
			c->base = &base->cells[r];
			c->other = result_file_match(&s->files[j + 1], c->base);
			compare_cell(c, &s->o, s->by_speedup, base, &s->files[j + 1]);
			if (c->other != NULL) {
				out->matched++;
				any = true;
			}
			if (isfinite(c->r) && c->r > 0 && c->verdict != V_NONE) {
				out->log_sum += log(c->r);
				out->n_log++;
			}
		}
	struct comparison **tests = calloc(s->n_rows + 1, sizeof(*tests));
	for (size_t j = 0; tests != NULL && j < s->n_other; j++) {
		size_t m = 0;
		for (size_t r = 0; r < s->n_rows; r++) {
			struct comparison *c = &s->cmp[r * s->n_other + j];
			if (c->verdict != V_NONE && strcmp(c->test, "U") == 0 && isfinite(c->p))
				tests[m++] = c;
		}
		correct_p_values(tests, m, &s->o);
		for (size_t r = 0; r < s->n_rows; r++) {
			const struct comparison *c = &s->cmp[r * s->n_other + j];
			s->out[j].regressions += c->verdict == V_REGRESSION;
			s->out[j].improvements += c->verdict == V_IMPROVED;
		}
	}
	free(tests);
	return any;
}

/* What differs between the machines and the runs' configurations, and what
 * that means for the comparison. */
static void print_differences(const struct session *s, FILE *f)
{
	bool md = s->md;
	if (!s->same)
		fprintf(f, md ? "**Different machines**: %s.\n\n" : "  different machines: %s\n",
		        s->why);
	for (size_t j = 0; j < s->n_other; j++)
		if (s->config_diff[j][0] != '\0')
			fprintf(f,
			        md ? "**Different configuration** of %s: %s.\n\n"
			           : "  different configuration of %s: %s\n",
			        s->n_files == 2 ? "NEW" : s->files[j + 1].path, s->config_diff[j]);
	if ((!s->same || s->configs_differ) && !s->o.regressions)
		fprintf(
		    f,
		    md ? "Times from different machines or configurations answer *which strategy, "
		         "by how much, there*, not *slower than before*: the files side by side, "
		         "nothing judged a regression (`--regressions` judges anyway).\n"
		       : "  times from different machines or configurations answer \"which "
		         "strategy, by how much, there\",\n  not \"slower than before\": the "
		         "files side by side, nothing judged a regression\n  (--regressions judges "
		         "anyway)\n");
}

/* The files, their machines, and what is compared. */
static void print_header(const struct session *s, FILE *f)
{
	bool md = s->md;
	if (md)
		fprintf(f, "## concbench compare\n\n| | file | machine | created |\n"
		           "|---|---|---|---|\n");
	else
		fprintf(f, "concbench compare\n");
	for (int i = 0; i < s->n_files; i++) {
		const struct result_file *rf = &s->files[i];
		char label[16], machine[600];
		if (i == 0)
			snprintf(label, sizeof(label), "BASE");
		else if (s->n_files == 2)
			snprintf(label, sizeof(label), "NEW");
		else
			snprintf(label, sizeof(label), "#%d", i);
		result_file_machine_label(rf, machine, sizeof(machine));
		/* a busy machine explains many a difference */
		json_t *load = json_object_get(json_object_get(rf->doc, "machine"), "load_avg");
		if (json_is_number(json_array_get(load, 0))) {
			size_t used = strlen(machine);
			snprintf(machine + used, sizeof(machine) - used, ", load average %.2f",
			         json_number_value(json_array_get(load, 0)));
		}
		if (md) {
			fprintf(f, "| %s | `%s` | ", label, rf->path);
			rf_print_markdown(f, machine);
			fprintf(f, " | %s |\n", rf->created_at);
		} else
			fprintf(f, "  %-5s %s: %s, %s\n", label, rf->path, machine, rf->created_at);
	}
	const char *other = s->n_files == 2 ? "NEW" : "the file's";
	fputs(md ? "\n" : "", f);
	print_differences(s, f);
	if (!s->o.regressions && (!s->same || s->configs_differ))
		return;
	if (!s->same)
		fprintf(f,
		        md ? "**The machines differ** (%s): times are not comparable, so each "
		             "cell's speedup over its own file's serial cell is compared "
		             "(BASE speedup / %s speedup; above 1, it gains less there).\n\n"
		           : "  the machines differ (%s): times are not comparable, so each "
		             "cell's speedup\n  over its own file's serial cell is compared "
		             "(BASE speedup / %s speedup; above 1, it gains less there)\n",
		        s->why, other);
	else if (s->by_speedup)
		fprintf(f,
		        md ? "Speedups over each file's serial cell compared (--by speedup).\n\n"
		           : "  speedups over each file's serial cell compared (--by speedup)\n");
	if (!s->by_speedup)
		fprintf(f,
		        md ? "%s: median wall times compared (%s / BASE; above 1 = slower).\n\n"
		           : "  %s: median wall times compared (%s / BASE; above 1 = slower)\n",
		        s->same ? (md ? "Same machine" : "same machine")
		                : "--by time, across machines",
		        s->n_files == 2 ? "NEW" : "file");
	fprintf(f,
	        md ? "A **regression** is slower by more than %g%% (the minimum effect size) with "
	             "q < %.2f: Mann-Whitney U on the samples, the p-values of each file's cells "
	             "corrected for multiple comparisons (Benjamini-Hochberg).\n\n"
	           : "  a regression: slower by more than %g%% (the minimum effect size) with q < "
	             "%.2f: Mann-Whitney U\n  on the samples, the p-values of each file's cells "
	             "corrected for multiple\n  comparisons (Benjamini-Hochberg)\n\n",
	        s->o.threshold * 100, ALPHA);
}

/* BASE's value of row r: its median, or its speedup; "error" for a failed cell. */
static void base_value(const struct session *s, size_t r, char *buf, size_t len)
{
	const struct rf_cell *b = &s->files[0].cells[r];
	const struct comparison *c0 = &s->cmp[r * s->n_other];
	if (!b->ok)
		snprintf(buf, len, "error");
	else
		fmt_value(s->by_speedup ? c0->base_value : b->median, s->by_speedup, buf, len);
}

/* Two files: values, ratio with its interval, p, verdict and a note per cell. */
static void table_two(const struct session *s, FILE *f)
{
	struct rf_table t;
	bool notes = false; /* the notes' column only where there is a note */
	for (size_t r = 0; r < s->n_rows; r++)
		notes |= s->cmp[r].note[0] != '\0';
	rf_table_init(&t, notes ? 9 : 8, "llrrrrrll");
	bool sp = s->by_speedup;
	const char *head[] = {"workload",
	                      "strategy",
	                      "workers",
	                      sp ? "BASE speedup" : "BASE",
	                      sp ? "NEW speedup" : "NEW",
	                      sp ? "BASE/NEW [interval]" : "NEW/BASE [interval]",
	                      "p",
	                      "verdict",
	                      "note"};
	rf_table_row(&t, head);
	for (size_t r = 0; r < s->n_rows; r++) {
		const struct comparison *c = &s->cmp[r];
		char wl[512], workers[16], bv[32], nv[32], ratio[96], p[16];
		workload_label(&s->files[0], c->base, wl, sizeof(wl));
		snprintf(workers, sizeof(workers), "%d", c->base->workers);
		base_value(s, r, bv, sizeof(bv));
		fmt_value(c->other_value, sp, nv, sizeof(nv));
		if (c->other != NULL && !c->other->ok)
			snprintf(nv, sizeof(nv), "error");
		fmt_ratio(c, ratio, sizeof(ratio), true);
		fmt_p(c->p, p, sizeof(p));
		const char *row[] = {wl, c->base->strategy,        workers, bv, nv, ratio,
		                     p,  verdict_text[c->verdict], c->note};
		rf_table_row(&t, row);
	}
	rf_table_print(&t, f, s->md, 2);
	rf_table_free(&t);
}

/* More files: BASE's value, then one column per file: ratio, p, verdict. */
static int table_many(const struct session *s, FILE *f)
{
	size_t cols = (size_t)s->n_files + 3;
	char *align = calloc(cols + 1, 1);
	const char **row = calloc(cols, sizeof(char *));
	char(*text)[96] = calloc(cols, sizeof(*text));
	if (align == NULL || row == NULL || text == NULL) {
		free(align);
		free(row);
		free(text);
		return -1;
	}
	memset(align, 'r', cols);
	align[0] = align[1] = 'l';
	struct rf_table t;
	rf_table_init(&t, cols, align);
	row[0] = "workload";
	row[1] = "strategy";
	row[2] = "workers";
	row[3] = s->by_speedup ? "BASE speedup" : "BASE";
	for (size_t j = 0; j < s->n_other; j++) {
		snprintf(text[4 + j], sizeof(text[0]), "#%zu", j + 1);
		row[4 + j] = text[4 + j];
	}
	rf_table_row(&t, row);
	for (size_t r = 0; r < s->n_rows; r++) {
		const struct rf_cell *b = &s->files[0].cells[r];
		workload_label(&s->files[0], b, text[0], sizeof(text[0]));
		snprintf(text[2], sizeof(text[0]), "%d", b->workers);
		base_value(s, r, text[3], sizeof(text[0]));
		row[0] = text[0];
		row[1] = b->strategy;
		row[2] = text[2];
		row[3] = text[3];
		for (size_t j = 0; j < s->n_other; j++) {
			const struct comparison *c = &s->cmp[r * s->n_other + j];
			char p[16];
			if (c->other == NULL)
				snprintf(text[4 + j], sizeof(text[0]), "missing");
			else if (!isfinite(c->r))
				snprintf(text[4 + j], sizeof(text[0]), "%s",
				         c->other->ok ? (b->ok ? "baseline" : "-") : "error");
			else {
				fmt_p(c->p, p, sizeof(p));
				snprintf(text[4 + j], sizeof(text[0]), "%.3f p=%s %s", c->r, p,
				         verdict_text[c->verdict]);
			}
			row[4 + j] = text[4 + j];
		}
		rf_table_row(&t, row);
	}
	rf_table_print(&t, f, s->md, 2);
	rf_table_free(&t);
	free(align);
	free(row);
	free(text);
	return 0;
}

/* How the cells were judged, the geometric means, the regressions; returns
 * whether there is one. */
static bool print_outcome(const struct session *s, FILE *f)
{
	bool md = s->md, regression = false;
	const struct result_file *base = &s->files[0];
	size_t by_intervals = 0, by_medians = 0;
	for (size_t k = 0; k < s->n_rows * s->n_other; k++) {
		by_intervals += strcmp(s->cmp[k].test, "intervals") == 0;
		by_medians += strcmp(s->cmp[k].test, "medians") == 0;
	}
	fputs("\n", f);
	if (by_intervals > 0)
		fprintf(f,
		        md ? "- %zu cells have too few samples for the U test to reach p < %.2f (3 "
		             "against 3 cannot): there a difference counts when the two intervals "
		             "of the median are disjoint\n"
		           : "  %zu cells have too few samples for the U test to reach p < %.2f (3 "
		             "against 3\n  cannot): there a difference counts when the two "
		             "intervals of the median are disjoint\n",
		        by_intervals, ALPHA);
	if (by_medians > 0)
		fprintf(f,
		        md ? "- %zu cells have samples that are missing or not those of their "
		             "median (an edited file?): judged on the medians and the threshold "
		             "alone\n"
		           : "  %zu cells have samples that are missing or not those of their "
		             "median\n  (an edited file?): judged on the medians and the threshold "
		             "alone\n",
		        by_medians);
	for (size_t j = 0; j < s->n_other; j++) {
		const struct result_file *other = &s->files[j + 1];
		const struct outcome *out = &s->out[j];
		const char *name = s->n_files == 2 ? "NEW" : other->path;
		double gm = out->n_log > 0 ? exp(out->log_sum / (double)out->n_log) : NAN;
		fprintf(f,
		        md ? "- %s: geometric mean of %s over %zu cells: **%.3f**"
		           : "  %s: geometric mean of %s over %zu cells: %.3f",
		        name, s->by_speedup ? "BASE/NEW speedup" : "NEW/BASE time", out->n_log, gm);
		if (isfinite(gm))
			fprintf(f, " (%s%.1f%%)", gm >= 1 ? "+" : "", (gm - 1) * 100);
		fprintf(f, "; %zu regression%s, %zu improvement%s beyond %g%%\n", out->regressions,
		        out->regressions == 1 ? "" : "s", out->improvements,
		        out->improvements == 1 ? "" : "s", s->o.threshold * 100);
		size_t only_base = base->n_cells - out->matched, only_other = 0;
		for (size_t k = 0; k < other->n_cells; k++)
			only_other += result_file_match(base, &other->cells[k]) == NULL;
		if (only_base > 0 || only_other > 0)
			fprintf(f,
			        md ? "- %s: %zu cells only in BASE, %zu only in this file\n"
			           : "  %s: %zu cells only in BASE, %zu only in this file\n",
			        name, only_base, only_other);
		for (size_t r = 0; r < s->n_rows; r++) {
			const struct comparison *c = &s->cmp[r * s->n_other + j];
			if (c->verdict == V_REGRESSION) {
				print_regression(f, md, name, base, c, s->by_speedup);
				regression = true;
			}
		}
	}
	return regression;
}

int cmd_compare(int argc, char **argv)
{
	struct session s = {.o = {DEFAULT_THRESHOLD / 100, false, BY_AUTO}};
	int first, rc = parse_options(argc, argv, &s.o, &first);
	if (rc >= 0)
		return rc;
	rc = 2;
	s.md = s.o.markdown;
	s.n_files = argc - first;
	s.files = calloc((size_t)s.n_files, sizeof(*s.files));
	if (s.files == NULL)
		return 2;
	char err[1024];
	for (int i = 0; i < s.n_files; i++)
		if (result_file_load(argv[first + i], &s.files[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "concbench compare: %s\n", err);
			goto done;
		}
	/* Times, unless a machine differs (or the user says). */
	s.same = true;
	for (int i = 1; i < s.n_files && s.same; i++)
		s.same = result_files_same_machine(&s.files[0], &s.files[i], s.why, sizeof(s.why));
	s.n_other = (size_t)s.n_files - 1;
	s.config_diff = calloc((size_t)s.n_files, sizeof(*s.config_diff));
	if (s.config_diff == NULL)
		goto done;
	for (int i = 1; i < s.n_files; i++) {
		rf_config_differences(&s.files[0], &s.files[i], s.config_diff[i - 1],
		                      sizeof(s.config_diff[0]));
		s.configs_differ |= s.config_diff[i - 1][0] != '\0';
	}
	if ((!s.same || s.configs_differ) && !s.o.regressions) {
		print_header(&s, stdout);
		rf_side_by_side(stdout, s.files, s.n_files, s.md);
		rc = fflush(stdout) != 0 ? 2 : 0;
		goto done;
	}
	s.by_speedup = s.o.by == BY_SPEEDUP || (s.o.by == BY_AUTO && !s.same);
	s.n_other = (size_t)s.n_files - 1;
	s.n_rows = s.files[0].n_cells;
	note_busy(&s);
	s.cmp = calloc(s.n_rows * s.n_other + 1, sizeof(*s.cmp));
	s.out = calloc(s.n_other, sizeof(*s.out));
	if (s.cmp == NULL || s.out == NULL)
		goto done;
	if (!compare_all(&s)) {
		fprintf(stderr,
		        "concbench compare: no cell of %s matches one of %s (same workload, "
		        "parameters, strategy and workers): nothing to compare\n",
		        s.n_files == 2 ? s.files[1].path : "the other files", s.files[0].path);
		goto done;
	}
	if (s.busy[0] != '\0' && !s.o.regressions)
		unjudge(&s);
	print_header(&s, stdout);
	if (s.busy[0] != '\0')
		fprintf(stdout,
		        s.md ? "**The machine was busy**: %s. Its times carry other work's, so "
		               "nothing is judged a regression%s.\n\n"
		             : "  the machine was busy: %s;\n  its times carry other work's, so "
		               "nothing is judged a regression%s\n\n",
		        s.busy,
		        s.o.regressions ? " unless asked (--regressions: judged anyway)"
		                        : " (--regressions judges anyway)");
	if (s.n_files == 2)
		table_two(&s, stdout);
	else if (table_many(&s, stdout) != 0)
		goto done;
	rc = print_outcome(&s, stdout) ? 1 : 0;
	if (fflush(stdout) != 0) {
		fprintf(stderr, "concbench compare: could not write the comparison\n");
		rc = 2;
	}
done:
	free(s.config_diff);
	free(s.cmp);
	free(s.out);
	for (int i = 0; i < s.n_files; i++)
		result_file_free(&s.files[i]);
	free(s.files);
	return rc;
}
