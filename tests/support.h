/* What the test files share: running the binary under test through the shell
 * and capturing what it printed, reading a file back, and the strategies as
 * the registry has them (so a strategy is tested the day it is registered). */
#ifndef CONCBENCH_TESTS_SUPPORT_H
#define CONCBENCH_TESTS_SUPPORT_H

#include <jansson.h>
#include <stddef.h>

#ifndef CONCBENCH_BIN
#error "the Makefile passes CONCBENCH_BIN"
#endif

struct output {
	int status;      /* the exit status; -1 when it ended by a signal */
	char *out, *err; /* what it wrote on stdout and stderr, malloc'd, never NULL */
};

/* Runs a shell command line (printf format) and captures stdout and stderr. */
struct output sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void output_free(struct output *o);

/* `CONCBENCH_BIN ARGS` (under `timeout timeout_s` unless 0); its exit status,
 * and the start of its stderr in err when err is not NULL. */
int run_concbench_for(int timeout_s, const char *args, char *err, size_t errlen);
/* `CONCBENCH_BIN run RUN_ARGS --quiet -o PATH` (under `timeout timeout_s` unless 0),
 * asserted to exit 0; its result file, read back. */
json_t *run_to_json(int timeout_s, const char *run_args, const char *path);

/* A whole file as a NUL-terminated string (malloc'd; "" when unreadable). */
char *slurp(const char *path);
/* /proc/PID/stat read into buf, and the text after the command name's closing
 * parenthesis (the name may hold spaces and parentheses): " STATE PPID ...".
 * NULL when it cannot be read. */
const char *proc_stat_fields(int pid, char *buf, size_t len);

/* The registered compiled strategies' names (what -s all runs; the py-* ones
 * have tests of their own), NULL-terminated, in registry order. */
const char *const *strategy_names(void);
size_t strategy_count(void);

/* ---- result files, for the readers' tests (report, compare, schema, plot) */

#define FIXTURE_A "tests/fixtures/result-lab-a.json"
#define FIXTURE_B "tests/fixtures/result-lab-b.json"
/* a 64-core machine with 2 NUMA nodes, 1 to 64 workers, primes and sleep only */
#define FIXTURE_BIG "tests/fixtures/result-big-64.json"
#define BAD_JSON    "tests/fixtures/bad-syntax.json"
#define WRONG_VER   "tests/fixtures/wrong-version.json"
#define SCHEMA      "schema/result.schema.json"

/* To the repository root (make test runs there; else from BUILD/concbench's). */
void go_to_root(void);
/* A whole JSON file, asserted to parse; and one written back. */
json_t *load_json(const char *path);
void save_json(json_t *doc, const char *path);
/* A scratch folder for one test (.init / .fini), and a path in it (static storage,
 * eight in turn). */
extern char tmpdir[64]; /* the folder, "" before make_tmpdir */
void make_tmpdir(void);
void remove_tmpdir(void);
const char *tmp_path(const char *name);
/* The cell of doc with these, asserted to exist. */
json_t *find_cell(json_t *doc, const char *workload, const char *strategy, int workers);
/* The cell's samples' wall times and the statistics that summarise them, as
 * `run` would have written them; scaled by factor, for one cell or all. */
void set_samples(json_t *cell, const double *v, size_t n);
void scale_cell(json_t *cell, double factor);
void scale_all(json_t *doc, double factor);
/* A real run's result file, made once per test process; remove_real (.fini) removes it. */
const char *real_result(void);
void remove_real(void);
/* Debian's jsonschema validator on path against SCHEMA. */
struct output validate(const char *path);

#endif
