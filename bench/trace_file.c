/* The --trace-cells filter and the trace file (trace_file.h). Everything here
 * runs after a traced run has ended, outside the timed region. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runners/gil.h"
#include "bench/run.h"
#include "bench/trace_file.h"

/* ---- the filter ----------------------------------------------------------- */

static int parse_workers_part(const char *part, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(part, &end, 10);
	if (errno != 0 || end == part || *end != '\0' || v < 1 || v > CLI_MAX_WORKERS)
		return -1;
	*out = (int)v;
	return 0;
}

/* One part of an item: whichever of the three it names. */
static int parse_part(const char *part, struct trace_filter_item *it, const char *item, char *err,
                      size_t errlen)
{
	const struct workload_ops *w = workload_find(part);
	const struct runner_ops *r = runner_find(part);
	if (w != NULL && it->workload == NULL)
		it->workload = w;
	else if (r != NULL && it->runner == NULL)
		it->runner = r;
	else if (w == NULL && r == NULL && it->workers == 0 &&
	         parse_workers_part(part, &it->workers) == 0)
		;
	else {
		snprintf(err, errlen,
		         "--trace-cells: '%s' in '%s' is not a workload, a strategy or a worker "
		         "count, or repeats one (e.g. primes/gil/2,threads)",
		         part, item);
		return -1;
	}
	return 0;
}

static int parse_item(char *item, struct trace_filter_item *it, char *err, size_t errlen)
{
	char copy[256];
	snprintf(copy, sizeof(copy), "%s", item);
	memset(it, 0, sizeof(*it));
	for (char *rest = item, *part; (part = strsep(&rest, "/")) != NULL;) {
		if (part[0] == '\0') {
			snprintf(err, errlen, "--trace-cells: empty part in '%s'", copy);
			return -1;
		}
		if (parse_part(part, it, copy, err, errlen) != 0)
			return -1;
	}
	return 0;
}

int trace_filter_parse(const char *text, struct trace_filter *f, char *err, size_t errlen)
{
	char buf[1024];
	memset(f, 0, sizeof(*f));
	if (strlen(text) >= sizeof(buf) || text[0] == '\0') {
		snprintf(err, errlen, "--trace-cells: unusable filter '%s'", text);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	for (char *rest = buf, *item; (item = strsep(&rest, ",")) != NULL;) {
		if (item[0] == '\0' || f->n == TRACE_FILTER_MAX) {
			snprintf(err, errlen, "--trace-cells: %s in '%s'",
			         item[0] == '\0' ? "empty item" : "too many items", text);
			return -1;
		}
		if (parse_item(item, &f->item[f->n++], err, errlen) != 0)
			return -1;
	}
	return 0;
}

static bool item_matches(const struct trace_filter_item *it, const struct workload_ops *w,
                         const struct runner_ops *r, int workers)
{
	return (it->workload == NULL || it->workload == w) &&
	       (it->runner == NULL || it->runner == r) &&
	       (it->workers == 0 || it->workers == workers);
}

bool trace_filter_matches(const struct trace_filter *f, const struct workload_ops *w,
                          const struct runner_ops *r, int workers)
{
	if (f->n == 0)
		return true;
	for (int i = 0; i < f->n; i++)
		if (item_matches(&f->item[i], w, r, workers))
			return true;
	return false;
}

/* ---- the file --------------------------------------------------------------- */

void trace_doc_init(struct trace_doc *d)
{
	memset(d, 0, sizeof(*d));
	d->events = json_array();
	d->cells = json_array();
	d->next_pid = 1;
}

void trace_doc_free(struct trace_doc *d)
{
	json_decref(d->events);
	json_decref(d->cells);
	memset(d, 0, sizeof(*d));
}

static const char *const kind_category[TRACE_KINDS] = {
    [TRACE_TASK] = "task",
    [TRACE_HOLD] = "gil.hold",
    [TRACE_WAIT] = "gil.wait",
    [TRACE_IO] = "io",
    [TRACE_LOOP] = "loop",
    [TRACE_FORCED] = "gil.switch",
    [TRACE_DROP_REQUEST] = "gil.switch",
};

/* Microseconds since the file's base, to the nanosecond. */
static json_t *micros(uint64_t ns, uint64_t base)
{
	double rel = ns >= base ? (double)(ns - base) : -(double)(base - ns);
	return json_real(rel / 1000.0);
}

/* A wait's reason; GIL_REASONS marks the forced-switch handshake (gil.c). */
static const char *wait_reason(const struct trace_event *e)
{
	return e->arg == GIL_REASONS ? "handshake" : gil_reason_name((enum gil_reason)e->arg);
}

static json_t *event_args(const struct trace_event *e)
{
	switch (e->kind) {
	case TRACE_TASK:
		return json_pack("{s:I}", "task", (json_int_t)e->arg);
	case TRACE_WAIT:
		return json_pack("{s:s}", "reason", wait_reason(e));
	case TRACE_LOOP:
		return json_pack("{s:s}", "source", e->arg == TRACE_LOOP_FD ? "fd" : "soon");
	case TRACE_DROP_REQUEST:
		return json_pack("{s:I}", "holder", (json_int_t)e->arg);
	}
	return json_object();
}

static const char *event_name(const struct trace_event *e)
{
	static const char *const name[TRACE_KINDS] = {
	    [TRACE_TASK] = "task",
	    [TRACE_HOLD] = "hold",
	    [TRACE_WAIT] = "wait",
	    [TRACE_IO] = "io",
	    [TRACE_LOOP] = "callback",
	    [TRACE_FORCED] = "forced switch",
	    [TRACE_DROP_REQUEST] = "drop request",
	};
	if (e->kind == TRACE_WAIT)
		return wait_reason(e);
	return e->kind < TRACE_KINDS ? name[e->kind] : "unknown";
}

static bool is_instant(const struct trace_event *e)
{
	return e->kind == TRACE_FORCED || e->kind == TRACE_DROP_REQUEST;
}

static json_t *event_json(const struct trace_event *e, int pid, int tid, uint64_t base)
{
	const char *cat = e->kind < TRACE_KINDS ? kind_category[e->kind] : "unknown";
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:i, s:i, s:o}", "name", event_name(e), "cat",
	                      cat, "ph", is_instant(e) ? "i" : "X", "ts", micros(e->start_ns, base),
	                      "pid", pid, "tid", tid, "args", event_args(e));
	if (is_instant(e))
		json_object_set_new(o, "s", json_string("t"));
	else
		json_object_set_new(o, "dur",
		                    json_real((double)(e->end_ns - e->start_ns) / 1000.0));
	return o;
}

/* By start; of two that start together the longer first, so that a parent
 * precedes what it holds. */
static int by_start(const void *a, const void *b)
{
	const struct trace_event *x = a, *y = b;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	uint64_t dx = x->end_ns - x->start_ns, dy = y->end_ns - y->start_ns;
	return dx > dy ? -1 : dx < dy;
}

static json_t *metadata(const char *what, int pid, int tid, const char *name)
{
	return json_pack("{s:s, s:s, s:i, s:i, s:{s:s}}", "name", what, "ph", "M", "pid", pid,
	                 "tid", tid, "args", "name", name);
}

static uint64_t earliest_start(const struct trace *t)
{
	uint64_t first = UINT64_MAX;
	for (int i = 0; i < t->lanes; i++)
		for (size_t k = 0; k < t->lane[i].n; k++)
			if (t->lane[i].ev[k].start_ns < first)
				first = t->lane[i].ev[k].start_ns;
	return first;
}

static void add_lane(struct trace_doc *d, int pid, int tid, struct trace_buffer *b)
{
	json_array_append_new(d->events, metadata("thread_name", pid, tid, b->name));
	json_array_append_new(d->events, json_pack("{s:s, s:s, s:i, s:i, s:{s:i}}", "name",
	                                           "thread_sort_index", "ph", "M", "pid", pid,
	                                           "tid", tid, "args", "sort_index", tid));
	qsort(b->ev, b->n, sizeof(*b->ev), by_start);
	for (size_t k = 0; k < b->n; k++)
		json_array_append_new(d->events, event_json(&b->ev[k], pid, tid, d->base_ns));
}

static size_t count_kind(const struct trace *t, enum trace_kind kind)
{
	size_t n = 0;
	for (int i = 0; i < t->lanes; i++)
		for (size_t k = 0; k < t->lane[i].n; k++)
			n += t->lane[i].ev[k].kind == (uint32_t)kind;
	return n;
}

static json_t *cell_summary(const struct trace_cell_info *c, const struct trace *t, int pid)
{
	json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:i, s:i, s:I, s:I, s:I}", "pid", pid, "cell",
	                      c->label, "workload", c->workload, "strategy", c->strategy, "workers",
	                      c->workers, "repetition", c->repetition, "events",
	                      (json_int_t)trace_events(t), "dropped", (json_int_t)trace_dropped(t),
	                      "forced_switch_instants", (json_int_t)count_kind(t, TRACE_FORCED));
	if (isfinite(c->forced_switches))
		json_object_set_new(o, "gil_forced_switches",
		                    json_integer((json_int_t)c->forced_switches));
	return o;
}

void trace_doc_add(struct trace_doc *d, const struct trace_cell_info *cell, struct trace *t)
{
	int pid = d->next_pid++;
	uint64_t first = earliest_start(t);
	if (!d->has_base && first != UINT64_MAX) {
		d->base_ns = first;
		d->has_base = true;
	}
	json_array_append_new(d->events, metadata("process_name", pid, 0, cell->label));
	json_array_append_new(d->events, json_pack("{s:s, s:s, s:i, s:i, s:{s:i}}", "name",
	                                           "process_sort_index", "ph", "M", "pid", pid,
	                                           "tid", 0, "args", "sort_index", pid));
	for (int i = 0; i < t->lanes; i++)
		if (t->lane[i].name[0] != '\0')
			add_lane(d, pid, i, &t->lane[i]);
	json_array_append_new(d->cells, cell_summary(cell, t, pid));
}

int trace_doc_write(const struct trace_doc *d, const char *path, char *err, size_t errlen)
{
	json_t *doc = json_pack("{s:O, s:s, s:{s:O}}", "traceEvents", d->events, "displayTimeUnit",
	                        "ms", "otherData", "concbench_cells", d->cells);
	if (doc == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Nanoseconds written as microseconds an hour into the run need 13
	 * digits, more than the result file's nine: rounded to those, an event's
	 * end could land past its parent's. Compact: the events are many. */
	int rc = write_json_atomically_as(doc, path, JSON_COMPACT | JSON_REAL_PRECISION(15), err,
	                                  errlen);
	json_decref(doc);
	return rc;
}
