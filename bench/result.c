/* The result file (docs/architecture.md, "The result file"): built with jansson,
 * non-finite numbers written as null, written to an unnamed temporary file
 * (O_TMPFILE) that is linked and renamed into place, so that a crash never
 * leaves half a file, a stray temporary, nor clobbers an older result. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/atomic_file.h"
#include "readers/claims.h"
#include "readers/tasksweep.h"
#include "readers/fidelity.h"
#include "bench/run.h"

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *int_array(const int *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static json_t *summary_json(const struct summary *s)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:[o,o], s:o, s:I}", "median",
	                 num(s->median), "mean", num(s->mean), "stddev", num(s->stddev), "min",
	                 num(s->min), "max", num(s->max), "mad", num(s->mad), "cv", num(s->cv),
	                 "ci95", num(s->ci_lo), num(s->ci_hi), "ci_level", num(s->ci_level), "n",
	                 (json_int_t)s->n);
}

static json_t *sample_json(const struct sample *s)
{
	return json_pack("{s:o, s:o, s:o, s:I, s:I, s:I, s:o, s:o}", "wall_s", num(s->wall_s),
	                 "user_s", num(s->user_s), "sys_s", num(s->sys_s), "max_rss_kib",
	                 (json_int_t)s->max_rss_kib, "ctx_voluntary", (json_int_t)s->ctx_voluntary,
	                 "ctx_involuntary", (json_int_t)s->ctx_involuntary, "idle_share",
	                 num(s->idle_share), "steal_share", num(s->steal_share));
}

static double idle_of(const struct sample *s)
{
	return s->idle_share;
}

/* A workload's or a strategy's parameters: {"key": value, ...}. */
static json_t *params_json(const struct param_values *pv)
{
	json_t *o = json_object();
	for (size_t i = 0; i < params_count(pv->defs); i++) {
		const struct param_def *d = &pv->defs[i];
		json_object_set_new(o, d->key,
		                    d->type == PARAM_INT ? json_integer(pv->value[i])
		                                         : json_string(pv->text[i]));
	}
	return o;
}

/* The cell's strategy's own parameters, kept apart from the workload's
 * "params" (which cells of every strategy share, and the claims match on). */
static void add_strategy_params(json_t *o, const struct cell *c, const struct run_config *cfg)
{
	if (params_count(c->runner->params) == 0)
		return;
	struct param_values pv;
	strategy_params(cfg, c->runner, &pv);
	json_object_set_new(o, "strategy_params", params_json(&pv));
}

/* Where a strategy's workers may run on other hosts (mpi), each worker's host
 * and PU there, and how many ran on each host. */
static void add_worker_hosts(json_t *o, const struct cell *c)
{
	if (c->n_last_workers == 0 || c->last_workers[0].host[0] == '\0')
		return;
	json_t *hosts = json_array(), *count = json_object(), *pinned = json_array();
	for (int i = 0; i < c->n_last_workers; i++) {
		const char *h = c->last_workers[i].host;
		json_array_append_new(hosts, json_string(h));
		json_t *n = json_object_get(count, h);
		json_object_set_new(count, h, json_integer(n ? json_integer_value(n) + 1 : 1));
		json_array_append_new(pinned, json_integer(c->last_workers[i].planned_cpu));
	}
	json_object_set_new(o, "hosts", hosts);
	json_object_set_new(o, "host_workers", count);
	json_object_set_new(o, "pinned_cpus", pinned);
}

static json_t *placement_json(const struct cell *c)
{
	json_t *observed = json_array();
	json_t *startup = json_array();
	for (int i = 0; i < c->n_last_workers; i++) {
		json_array_append_new(observed, json_integer(c->last_workers[i].observed_cpu));
		json_array_append_new(startup, num(c->last_workers[i].startup_s));
	}
	json_t *pooled = json_array();
	for (size_t i = 0; i < c->startups.n; i++)
		json_array_append_new(pooled, num(c->startups.v[i]));
	json_t *o = json_pack("{s:s, s:o, s:o, s:b, s:i, s:o, s:o}", "policy",
	                      pin_policy_name(c->plan.policy), "cpus",
	                      int_array(c->plan.cpus, c->plan.workers), "observed_cpus", observed,
	                      "wrapped", c->plan.wrapped, "targets", c->plan.targets,
	                      "worker_startup_s", startup, "worker_startup_all_s", pooled);
	add_worker_hosts(o, c);
	return o;
}

#define BOOTSTRAP_RESAMPLES 2000
#define BOOTSTRAP_METHOD                                                                           \
	"percentile bootstrap, 2000 resamples of the round trips, each phase resampled on its own"
/* The convoy histogram: log-spaced bins, HIST_PER_OCTAVE to an octave, from
 * HIST_LO_S over HIST_OCTAVES octaves (1 us to 16.8 s); a value outside falls
 * into the first or the last bin. */
#define HIST_LO_S       1e-6
#define HIST_PER_OCTAVE 4
#define HIST_OCTAVES    24
#define HIST_BINS       (HIST_PER_OCTAVE * HIST_OCTAVES)

/* p50, p90, p99 and max of n figures into o, from one sort. */
static void add_percentiles(json_t *o, const double *v, size_t n)
{
	static const double ps[] = {50, 90, 99, 100};
	static const char *const names[] = {"p50", "p90", "p99", "max"};
	double q[4];
	percentiles(v, n, ps, q, 4);
	for (size_t i = 0; i < 4; i++)
		json_object_set_new(o, names[i], num(q[i]));
}

/* The percentiles of n figures and their count; "of" says what they are. */
static json_t *percentiles_json(const double *v, size_t n, const char *of)
{
	json_t *o = json_object();
	add_percentiles(o, v, n);
	json_object_set_new(o, "n", json_integer((json_int_t)n));
	if (of != NULL)
		json_object_set_new(o, "of", json_string(of));
	return o;
}

static json_t *latency_json(const struct cell *c)
{
	if (c->has_stream)
		return c->stream_busy.n > 0
		           ? percentiles_json(c->stream_busy.v, c->stream_busy.n,
		                              "the I/O stream's round trips beside the CPU tasks")
		           : json_null();
	if (c->n_latencies == 0)
		return json_null();
	return percentiles_json(c->latencies, c->n_latencies, NULL);
}

static size_t count_at_least(const struct pool *p, double threshold)
{
	size_t k = 0;
	for (size_t i = 0; i < p->n; i++)
		k += p->v[i] >= threshold;
	return k;
}

/* One phase's round trips: percentiles, and the share that waited half a
 * switch interval or more (what the convoy costs, which a median hides). */
static json_t *convoy_phase_json(const struct pool *p, double threshold)
{
	json_t *o = json_pack("{s:I}", "n", (json_int_t)p->n);
	static const char *const figures[] = {
	    "mean", "p50", "p90", "p99", "max", "share_over_threshold", "share_ci95"};
	if (p->n == 0) {
		for (size_t i = 0; i < sizeof(figures) / sizeof(figures[0]); i++)
			json_object_set_new(o, figures[i], json_null());
		return o;
	}
	size_t over = count_at_least(p, threshold);
	struct interval ci = wilson_interval(over, p->n);
	json_object_set_new(o, "mean", num(mean_of(p->v, p->n)));
	add_percentiles(o, p->v, p->n);
	json_object_set_new(o, "share_over_threshold", num((double)over / (double)p->n));
	json_object_set_new(o, "share_ci95", json_pack("[o,o]", num(ci.lo), num(ci.hi)));
	return o;
}

static json_t *slowdown_json(const struct cell *c, uint64_t seed)
{
	const struct pool *busy = &c->stream_busy, *alone = &c->stream_alone;
	struct ratio r = bootstrap_ratio_of_means(busy->v, busy->n, alone->v, alone->n,
	                                          BOOTSTRAP_RESAMPLES, seed);
	if (!isfinite(r.value))
		return json_null();
	return json_pack("{s:o, s:[o,o], s:s}", "value", num(r.value), "ci95", num(r.lo), num(r.hi),
	                 "method", BOOTSTRAP_METHOD);
}

static int histogram_bin(double v)
{
	double octaves = v > HIST_LO_S ? log2(v / HIST_LO_S) : 0.0;
	int bin = (int)floor(octaves * HIST_PER_OCTAVE);
	return bin < 0 ? 0 : bin >= HIST_BINS ? HIST_BINS - 1 : bin;
}

static void histogram_count(const struct pool *p, int *counts)
{
	for (size_t i = 0; i < p->n; i++)
		counts[histogram_bin(p->v[i])]++;
}

/* Both phases on the same bins, trimmed to the span where either has a count. */
static json_t *histogram_json(const struct cell *c)
{
	int alone[HIST_BINS] = {0}, busy[HIST_BINS] = {0};
	histogram_count(&c->stream_alone, alone);
	histogram_count(&c->stream_busy, busy);
	int first = 0, last = HIST_BINS - 1;
	while (first < HIST_BINS && alone[first] == 0 && busy[first] == 0)
		first++;
	while (last >= first && alone[last] == 0 && busy[last] == 0)
		last--;
	json_t *edges = json_array(), *a = json_array(), *b = json_array();
	for (int i = first; i <= last + 1 && last >= first; i++)
		json_array_append_new(edges,
		                      json_real(HIST_LO_S * exp2((double)i / HIST_PER_OCTAVE)));
	for (int i = first; i <= last; i++) {
		json_array_append_new(a, json_integer(alone[i]));
		json_array_append_new(b, json_integer(busy[i]));
	}
	return json_pack("{s:o, s:o, s:o}", "edges_s", edges, "alone", a, "busy", b);
}

/* The I/O stream's round trips alone and beside the CPU tasks (mixed). */
static json_t *convoy_json(const struct cell *c, const struct run_config *cfg)
{
	double interval = (double)cfg->switch_interval_us * 1e-6, threshold = interval / 2;
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "interval_s", num(interval),
	                 "threshold_s", num(threshold), "alone",
	                 convoy_phase_json(&c->stream_alone, threshold), "busy",
	                 convoy_phase_json(&c->stream_busy, threshold), "slowdown",
	                 slowdown_json(c, cfg->seed), "histogram", histogram_json(c));
}

/* The latency and convoy objects, from the memo (matrix_add_cell makes one
 * with every cell) while the pools have not grown since it was made; copies,
 * so that a document may be changed. */
static size_t pooled_figures(const struct cell *c)
{
	return 1 + c->n_latencies + c->stream_alone.n + c->stream_busy.n;
}

static json_t *memo_copy(const struct cell *c, const struct run_config *cfg, bool convoy)
{
	struct figures_memo *m = c->memo;
	if (m->made_at != pooled_figures(c)) {
		json_decref(m->latency);
		json_decref(m->convoy);
		m->latency = latency_json(c);
		m->convoy = c->has_stream ? convoy_json(c, cfg) : NULL;
		m->made_at = pooled_figures(c);
	}
	json_t *o = convoy ? m->convoy : m->latency;
	return o != NULL ? json_deep_copy(o) : json_null();
}

void cell_memo_free(struct cell *c)
{
	if (c->memo != NULL) {
		json_decref(c->memo->latency);
		json_decref(c->memo->convoy);
	}
	free(c->memo);
	c->memo = NULL;
}

static json_t *checksum_json(const struct cell *c)
{
	return c->measured_any ? json_sprintf("0x%016" PRIx64, c->checksum) : json_null();
}

static json_t *answer_json(const struct cell *c)
{
	const struct bench_workload *bw = c->bw;
	return json_pack(
	    "{s:s, s:o, s:o}", "unit", bw->w.ops->items_name, "value",
	    c->measured_any ? json_integer((json_int_t)c->items) : json_null(), "expected",
	    bw->has_expected_items ? json_integer((json_int_t)bw->expected_items) : json_null());
}

/* The strategy's counters from the latest counted repetition. */
static json_t *strategy_stats_json(const struct cell *c)
{
	json_t *o = json_object();
	for (int i = 0; i < c->n_stats; i++)
		json_object_set_new(o, c->stat[i].name,
		                    c->stat[i].text[0] ? json_string(c->stat[i].text)
		                                       : num(c->stat[i].value));
	json_object_set_new(o, "from", json_string("the latest counted repetition"));
	return o;
}

static double peak_rss_of(const struct sample *s)
{
	return (double)s->max_rss_kib;
}

/* Bytes and connections for the workloads that move data; and, for the loop
 * and the pools alike, the peak memory per task in flight, which is what
 * "an event loop is lighter than threads" is about. */
static void add_io_figures(json_t *o, const struct cell *c)
{
	if (c->bytes > 0) {
		json_object_set_new(o, "bytes", json_integer((json_int_t)c->bytes));
		json_object_set_new(o, "mb_per_s", num((double)c->bytes / c->wall.median / 1e6));
	}
	if (c->bw->w.ops->kind == WORKLOAD_CPU)
		return;
	if (c->bw->w.ops->server_url_param != NULL)
		json_object_set_new(o, "connections", json_integer((json_int_t)c->connections));
	json_object_set_new(o, "peak_rss_per_in_flight_kib",
	                    num(sample_median(c, peak_rss_of) / (double)c->workers));
}

static void add_workload_facts(json_t *o, const struct cell *c)
{
	for (int i = 0; i < c->n_facts; i++) {
		const struct workload_fact *f = &c->facts[i];
		json_object_set_new(o, f->name, f->text[0] ? json_string(f->text) : num(f->value));
	}
}

static json_t *cell_json(const struct cell *c, const struct run_config *cfg)
{
	const struct workload *w = &c->bw->w;
	json_t *samples = json_array();
	json_t *warnings = json_array();
	for (int i = 0; i < c->n_samples; i++)
		json_array_append_new(samples, sample_json(&c->samples[i]));
	for (int i = 0; i < c->n_warnings; i++)
		json_array_append_new(warnings, json_string(c->warnings[i]));
	json_t *o = json_pack(
	    "{s:s, s:s, s:o, s:s, s:i, s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:[o,o], s:o}",
	    "workload", w->ops->name, "kind", workload_kind_name(w->ops->kind), "params",
	    params_json(&w->params), "strategy", c->runner->name, "workers", c->workers,
	    "placement", placement_json(c), "checksum", checksum_json(c), "checksum_ok",
	    c->measured_any && c->checksum_ok && c->error[0] == '\0', "error",
	    c->error[0] ? json_string(c->error) : json_null(), "samples", samples, "wall_s",
	    summary_json(&c->wall), "speedup_vs_serial", num(c->speedup.value), "speedup_ci95",
	    num(c->speedup.lo), num(c->speedup.hi), "efficiency", num(c->efficiency));
	json_object_set_new(
	    o, "throughput",
	    json_pack("{s:o, s:s}", "value", num(c->throughput), "unit", "tasks/s"));
	json_object_set_new(o, "cpu_vs_serial", num(c->cpu_vs_serial.value));
	json_object_set_new(o, "cpu_vs_serial_ci95",
	                    json_pack("[o,o]", num(c->cpu_vs_serial.lo), num(c->cpu_vs_serial.hi)));
	json_object_set_new(o, "cores_busy", num(c->cores_busy));
	json_object_set_new(o, "latency_s", memo_copy(c, cfg, false));
	if (c->has_stream)
		json_object_set_new(o, "convoy", memo_copy(c, cfg, true));
	json_object_set_new(o, "answer", answer_json(c));
	json_object_set_new(o, "tasks", json_integer((json_int_t)c->tasks));
	json_object_set_new(o, "sizing", sizing_workload_json(c->bw));
	if (c->est_run_s > 0)
		json_object_set_new(o, "estimated_run_s", num(c->est_run_s));
	if (c->est_once_s > 0)
		json_object_set_new(o, "estimated_once_s", num(c->est_once_s));
	json_object_set_new(o, "tasks_failed", json_integer((json_int_t)c->tasks_failed));
	json_object_set_new(o, "variant",
	                    c->bw->variant[0] ? json_string(c->bw->variant) : json_null());
	json_object_set_new(o, "ballast_mb", json_integer(c->ballast_mb));
	if (c->traced_repetition > 0) /* --trace: which counted repetition was traced */
		json_object_set_new(o, "trace",
		                    json_pack("{s:i, s:I, s:I}", "repetition", c->traced_repetition,
		                              "events", (json_int_t)c->trace_events, "dropped",
		                              (json_int_t)c->trace_dropped));
	json_object_set_new(o, "idle_cpu_share", num(sample_median(c, idle_of)));
	add_io_figures(o, c);
	add_workload_facts(o, c);
	add_strategy_params(o, c, cfg);
	if (c->runner->stats_key != NULL && c->n_stats > 0)
		json_object_set_new(o, c->runner->stats_key, strategy_stats_json(c));
	json_object_set_new(o, "warnings", warnings);
	return o;
}

static json_t *names_json(const struct bench_run *run)
{
	json_t *w = json_array(), *s = json_array();
	for (int i = 0; i < run->cfg.n_workloads; i++)
		json_array_append_new(w, json_string(run->cfg.workloads[i]->name));
	for (int i = 0; i < run->cfg.n_strategies; i++)
		json_array_append_new(s, json_string(run->cfg.strategies[i]->name));
	return json_pack("{s:o, s:o}", "workloads", w, "strategies", s);
}

/* Every registered strategy's parameters as this run set them, by strategy. */
static json_t *strategies_params_json(const struct run_config *cfg)
{
	json_t *o = json_object();
	for (const struct runner_ops *const *r = runner_table(); *r; r++) {
		if (params_count((*r)->params) == 0)
			continue;
		struct param_values pv;
		strategy_params(cfg, *r, &pv);
		json_object_set_new(o, (*r)->name, params_json(&pv));
	}
	return o;
}

/* Each workload's fault hooks (lib/params.h) at their values when off, so
 * that a reader leaves them out of what it shows: {"triad":
 * {"fault_element": -1}, ...}. */
static json_t *fault_hooks_json(const struct bench_run *run)
{
	json_t *o = json_object();
	for (int i = 0; i < run->n_workloads; i++) {
		const struct workload_ops *ops = run->workloads[i].w.ops;
		json_t *hooks = json_object();
		for (const struct param_def *d = ops->params; d != NULL && d->key != NULL; d++)
			if (d->hook)
				json_object_set_new(hooks, d->key,
				                    d->type == PARAM_CHOICE
				                        ? json_string(d->choices[d->def])
				                        : json_integer((json_int_t)d->def));
		if (json_object_size(hooks) > 0)
			json_object_set_new(o, ops->name, hooks);
		else
			json_decref(hooks);
	}
	return o;
}

static json_t *config_json(const struct bench_run *run)
{
	const struct run_config *cfg = &run->cfg;
	json_t *o =
	    json_pack("{s:i, s:i, s:s, s:I, s:b, s:o}", "reps", cfg->reps, "warmup", cfg->warmup,
	              "pin", pin_policy_name(cfg->pin), "seed", (json_int_t)cfg->seed, "quick",
	              cfg->quick, "workers", int_array(run->sweep, run->n_sweep));
	if (cfg->switch_interval_us > 0)
		json_object_set_new(o, "switch_interval_us",
		                    json_integer((json_int_t)cfg->switch_interval_us));
	json_t *names = names_json(run);
	json_object_update(o, names);
	json_decref(names);
	json_t *overrides = json_array();
	for (int i = 0; i < cfg->n_overrides; i++)
		json_array_append_new(overrides,
		                      json_sprintf("%s.%s=%s", cfg->overrides[i].owner,
		                                   cfg->overrides[i].key, cfg->overrides[i].value));
	json_object_set_new(o, "param_overrides", overrides);
	json_object_set_new(o, "strategy_params", strategies_params_json(cfg));
	json_object_set_new(o, "default_suite", json_boolean(cfg->default_suite));
	json_object_set_new(o, "cell_timeout_s", json_integer(cfg->cell_timeout_s));
	json_object_set_new(o, "ballast_mb", int_array(cfg->ballast_mb, cfg->n_ballast));
	json_object_set_new(o, "plan", sizing_to_json(run));
	json_object_set_new(o, "fault_hooks_off", fault_hooks_json(run));
	/* Each worker maps and first touches its memory after it is pinned (triad's
	 * arrays in the task), so the kernel's default policy puts it on the
	 * worker's NUMA node; concbench sets no other binding. */
	json_object_set_new(o, "memory_binding",
	                    json_string(cfg->pin == PIN_NONE ? "first-touch, workers unpinned"
	                                                     : "first-touch after pinning "
	                                                       "(the worker's NUMA node)"));
	return o;
}

/* Where each downloading workload's server was: ours (and on which PUs) or the user's. */
static json_t *servers_json(const struct bench_run *run)
{
	json_t *a = json_array();
	for (int i = 0; i < run->n_workloads; i++) {
		const struct bench_workload *bw = &run->workloads[i];
		const char *key = bw->w.ops->server_url_param;
		if (key == NULL)
			continue;
		json_t *o = json_pack("{s:s, s:s, s:b}", "workload", bw->w.ops->name, "url",
		                      param_get_text(&bw->w.params, key), "managed",
		                      bw->server_record.port > 0);
		if (bw->server_record.port > 0)
			json_object_set_new(
			    o, "cpus", int_array(bw->server_record.cpus, bw->server_record.n_cpus));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *bench_run_to_json(const struct bench_run *run)
{
	json_t *results = json_array();
	json_t *warnings = json_array();
	for (int i = 0; i < run->n_cells; i++)
		if (run->cells[i].measured_any || run->cells[i].error[0] != '\0')
			json_array_append_new(results, cell_json(&run->cells[i], &run->cfg));
	for (int i = 0; i < run->n_warnings; i++)
		json_array_append_new(warnings, json_string(run->warnings[i]));
	json_t *doc =
	    json_pack("{s:i, s:o, s:s, s:o, s:o, s:o, s:o, s:b}", "schema_version", 1, "tool",
	              tool_to_json(), "created_at", run->created_at, "machine",
	              machine_to_json(run->topology, run->load_avg), "config", config_json(run),
	              "results", results, "warnings", warnings, "complete", run->finished);
	if (doc != NULL) {
		json_object_set_new(doc, "servers", servers_json(run));
		json_object_set_new(doc, "interrupted",
		                    json_boolean(run->interrupted_by[0] != '\0'));
		json_object_set_new(doc, "interrupted_by",
		                    run->interrupted_by[0] ? json_string(run->interrupted_by)
		                                           : json_null());
		json_object_set_new(json_object_get(doc, "config"), "nofile_limit",
		                    json_integer(run->nofile_limit));
		json_t *sweep = task_sweep_evaluate(doc);
		if (sweep != NULL)
			json_object_set_new(doc, "task_size_sweep", sweep);
		json_object_set_new(doc, "claims", claims_evaluate(doc));
		json_object_set_new(doc, "fidelity", fidelity_evaluate(doc));
	}
	return doc;
}

#define RESULT_ROOM_BLOCKS 16 /* 1 MiB, more than the default suite's file */

static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/* The result is renamed into place, which replaces whatever the name holds:
 * as root, `-o /dev/null` once turned the null device into a regular file.
 * So only a regular file (a symlink is followed) or nothing may be there. */
static int refuse_non_regular(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) != 0 || S_ISREG(st.st_mode))
		return 0;
	snprintf(err, errlen,
	         "output path %s is %s: concbench writes its result only over a regular file "
	         "or a new name",
	         path, file_kind(st.st_mode));
	return -1;
}

int check_output_writable(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX], probe[PATH_MAX + 32];
	dir_of(path, dir, sizeof(dir));
	/* The default folder is ours to create; a folder the user named must exist. */
	if (strcmp(dir, "results") == 0)
		mkdir(dir, 0777);
	if (refuse_non_regular(path, err, errlen) != 0)
		return -1;
	bool named;
	int fd = open_temporary(dir, probe, sizeof(probe), &named);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write the result file in %s: %s", dir,
		         strerror(errno));
		return -1;
	}
	/* A full disk still lets an empty file be created: write as much as a
	 * result file of a large run takes, and keep it only if it all lands. */
	static const char block[64 * 1024];
	int rc = 0;
	for (int i = 0; i < RESULT_ROOM_BLOCKS && rc == 0; i++)
		rc = write_all(fd, block, sizeof(block));
	if (rc == 0 && fsync(fd) != 0)
		rc = -1;
	int saved = errno;
	close(fd);
	if (named)
		unlink(probe);
	if (rc != 0) {
		snprintf(err, errlen, "no room for the result file in %s: %s", dir,
		         strerror(saved));
		return -1;
	}
	return 0;
}

int write_json_atomically(json_t *doc, const char *path, char *err, size_t errlen)
{
	return write_json_atomically_as(doc, path, JSON_INDENT(2) | JSON_REAL_PRECISION(9), err,
	                                errlen);
}

int write_json_atomically_as(json_t *doc, const char *path, size_t flags, char *err, size_t errlen)
{
	if (refuse_non_regular(path, err, errlen) != 0)
		return -1;
	/* The document in one buffer and a few large writes: json_dumpfd writes
	 * token by token, a system call each, which made every save of a large
	 * run cost a noticeable fraction of a second. */
	char *text = json_dumps(doc, flags);
	if (text == NULL) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -1;
	}
	size_t len = strlen(text);
	text[len] = '\n'; /* json_dumps' NUL becomes the final newline */
	int rc = atomic_write_file(path, text, len + 1);
	int saved = errno;
	free(text);
	if (rc != 0)
		snprintf(err, errlen, "%s", strerror(saved));
	return rc;
}
