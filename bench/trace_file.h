/* `run --trace FILE`: which cells are traced (--trace-cells), and the trace
 * file, in Chrome's Trace Event Format (docs/trace.md): one pid per traced
 * cell, one tid per lane of its runner (runners/trace.h). */
#ifndef CONCBENCH_TRACE_FILE_H
#define CONCBENCH_TRACE_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "runners/runner.h"
#include "lib/trace.h"
#include "workloads/workload.h"

#define TRACE_FILTER_MAX 32

/* One item of --trace-cells: parts separated by '/', each a workload, a
 * strategy or a worker count, in any order; a part left out matches any. */
struct trace_filter_item {
	const struct workload_ops *workload;
	const struct runner_ops *runner;
	int workers; /* 0: any */
};

struct trace_filter {
	struct trace_filter_item item[TRACE_FILTER_MAX];
	int n; /* 0: every cell */
};

/* Parse "primes/gil/2,threads,mixed/gil". 0, or -1 with one line in err. */
int trace_filter_parse(const char *text, struct trace_filter *f, char *err, size_t errlen);
bool trace_filter_matches(const struct trace_filter *f, const struct workload_ops *w,
                          const struct runner_ops *r, int workers);

/* What the file says about one traced cell beside its events. */
struct trace_cell_info {
	const char *label; /* "primes gil n=2" */
	const char *workload, *strategy;
	int workers;
	int repetition;         /* 1-based: which counted repetition was traced */
	double forced_switches; /* the cell's gil counter for that repetition, NAN if none */
};

/* The whole file, built up cell by cell after each traced run. */
struct trace_doc {
	json_t *events;
	json_t *cells;
	int next_pid;
	bool has_base;
	uint64_t base_ns; /* ts 0: the start of the first traced cell */
};

void trace_doc_init(struct trace_doc *d);
void trace_doc_free(struct trace_doc *d);
/* Append one traced run's events as a new pid (sorts each lane in place). */
void trace_doc_add(struct trace_doc *d, const struct trace_cell_info *cell, struct trace *t);
/* Write the file atomically. 0, or -1 with err. */
int trace_doc_write(const struct trace_doc *d, const char *path, char *err, size_t errlen);

#endif
