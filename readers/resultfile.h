/* Reading result files back (docs/architecture.md, "The result file"): one careful
 * loader for `report` and `compare`. It checks the version and the shape the
 * two commands rely on, names the problem with FILE:LINE:COLUMN for bad JSON
 * and FILE: results[i]: ... for a bad cell, and ignores fields it does not
 * know, as the contract asks of every consumer. */
#ifndef CONCBENCH_RESULTFILE_H
#define CONCBENCH_RESULTFILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define RESULT_SCHEMA_VERSION 1

/* One cell of a result file, with what report and compare read from it. */
struct rf_cell {
	json_t *json; /* borrowed from the document */
	size_t index; /* position in results[] */
	const char *workload, *kind, *strategy;
	int workers;
	/* "key=value,..." sorted by key, without a managed server's URL; with
	 * ",ballast_mb=N" for a cell measured with ballast, which is another cell */
	char *params;
	size_t params_len; /* the length without the ballast */
	/* The strategy's own parameters (the cell's "strategy_params"), in the
	 * same form; "" for a strategy that has none. Not part of params: cells of
	 * every strategy share those, and match on them. */
	char *strategy_params;
	const char *error;   /* the cell's error text, NULL when there is none */
	bool ok;             /* no error, checksum not wrong, a finite positive median */
	double median;       /* wall_s.median (NAN when absent) */
	double ci_lo, ci_hi; /* wall_s.ci95 (NAN when absent) */
	double speedup, speedup_lo, speedup_hi; /* speedup_vs_serial and its interval */
	double *samples;                        /* the finite wall_s of each sample */
	size_t n_samples;
	/* its group (same workload and params) is by_group[group_first..group_end) */
	size_t group_first, group_end, group_pos;
};

struct result_file {
	char *path;
	json_t *doc;
	const char *hostname, *cpu_model, *created_at;
	long cores;              /* machine.topology.cores, 0 when unknown */
	long switch_interval_us; /* config.switch_interval_us, 0 when unknown */
	struct rf_cell *cells;
	size_t n_cells;
	struct rf_cell **by_cell;  /* by workload, params, strategy, workers, position */
	struct rf_cell **by_group; /* by workload, params, position */
};

/* Loads and checks path. On failure returns -1 with err set to one line,
 * "PATH:LINE:COLUMN: reason" for JSON that does not parse and "PATH: reason"
 * for a file that is not a version-1 result; rf is then empty. */
int result_file_load(const char *path, struct result_file *rf, char *err, size_t errlen);
/* The same for a document already in memory: len bytes at data (no NUL
 * needed), named `name` in messages and in rf->path. */
int result_file_load_buffer(const char *name, const char *data, size_t len, struct result_file *rf,
                            char *err, size_t errlen);
void result_file_free(struct result_file *rf);

/* The cell of rf with the same workload, parameters, strategy and workers as
 * like (from another file), or NULL. */
const struct rf_cell *result_file_match(const struct result_file *rf, const struct rf_cell *like);

/* The cell of rf with like's workload and parameters, the strategy and
 * workers given (INT_MIN: any, the fewest first), or NULL. */
const struct rf_cell *result_file_find(const struct result_file *rf, const struct rf_cell *like,
                                       const char *strategy, int workers);

/* The cells of c's group in rf (same workload and parameters, c among them),
 * in file order; *n of them. */
const struct rf_cell *const *result_file_group(const struct result_file *rf,
                                               const struct rf_cell *c, size_t *n);

/* The serial cell of c's workload and parameters in rf, or NULL. */
const struct rf_cell *result_file_serial(const struct result_file *rf, const struct rf_cell *c);

/* Whether a and b were measured on the same machine (hostname, CPU model and
 * core count); when not, why names the first difference. */
bool result_files_same_machine(const struct result_file *a, const struct result_file *b, char *why,
                               size_t len);

/* "host (CPU model, N cores)" */
void result_file_machine_label(const struct result_file *rf, char *buf, size_t len);

/* Small readers of optional fields: NAN or NULL when absent or of another type. */
double rf_num(json_t *obj, const char *key);
const char *rf_str(json_t *obj, const char *key);
/* rf_str, or dflt where the field is absent or not a string. */
const char *rf_str_or(json_t *obj, const char *key, const char *dflt);

/* Two-sided p-value of the Mann-Whitney U test of a against b: exact when
 * there are no ties and the samples are small, else the normal approximation
 * with tie and continuity corrections. 1 when either side is empty. */
double mann_whitney_p(const double *a, size_t na, const double *b, size_t nb);

/* The smallest two-sided p the exact test can give for these sizes
 * (2 / C(na+nb, na)): at or above alpha the test cannot find anything. */
double mann_whitney_min_p(size_t na, size_t nb);

/* The "key=value" items of params (an rf_cell's) that other lacks,
 * comma-separated; all of params when other has them all. */
void rf_params_difference(const char *params, const char *other, char *out, size_t len);

/* A duration with three significant digits in the unit that suits it: "51.9 ms". */
void rf_fmt_duration(double seconds, char *buf, size_t len);

/* A table of text for the terminal (columns padded) or GitHub markdown. */
struct rf_table {
	size_t cols, rows, cap;
	char **text;       /* rows * cols strings */
	const char *align; /* per column: 'l' or 'r' */
};
void rf_table_init(struct rf_table *t, size_t cols, const char *align);
/* Appends a row of cols strings (NULL for an empty cell). */
void rf_table_row(struct rf_table *t, const char *const *cells);
/* The first row is the header; text gets `indent` spaces before each line. */
void rf_table_print(const struct rf_table *t, FILE *out, bool markdown, int indent);
void rf_table_free(struct rf_table *t);
/* Text for one markdown table cell or line: pipes escaped, newlines as spaces. */
void rf_print_markdown(FILE *out, const char *s);

/* `concbench report FILE [--format ...]` */
int cmd_report(int argc, char **argv);

/* `concbench compare BASE.json NEW.json [MORE.json...] [--threshold PCT] [--format ...]` */
int cmd_compare(int argc, char **argv);

#endif
