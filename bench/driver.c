/* `concbench run`: set up each workload, run its cells (one warm-up each, then
 * the repetitions with the cells shuffled anew in every repetition), check
 * every run's checksum, and keep the result file up to date as it goes. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <malloc.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "readers/claims.h"
#include "bench/run.h"

/* ---- one measured run ---------------------------------------------------- */

static double tv_seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

/* Peak RSS is a lifetime figure; clear_refs "5" resets it (Linux 4.0+) so
 * that each run's own peak can be read from VmHWM. */
static void reset_peak_rss(void)
{
	/* Memory an earlier cell freed but the allocator kept would count as
	 * this cell's peak (and be copied into every forked worker): give it
	 * back first. */
	malloc_trim(0);
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (f != NULL) {
		fputs("5", f);
		fclose(f);
	}
}

static void usage_delta(const struct rusage *a, const struct rusage *b, struct sample *s)
{
	s->user_s += tv_seconds(b->ru_utime) - tv_seconds(a->ru_utime);
	s->sys_s += tv_seconds(b->ru_stime) - tv_seconds(a->ru_stime);
	s->ctx_voluntary += b->ru_nvcsw - a->ru_nvcsw;
	s->ctx_involuntary += b->ru_nivcsw - a->ru_nivcsw;
}

/* The parent's memory before its workers start, as a Python program's heap
 * would be: touched page by page, and kept off transparent huge pages (an
 * interpreter's arenas are small pages), so that fork has every page-table
 * entry to copy. NULL for none or on failure. */
static void *touch_ballast(size_t len)
{
	if (len == 0)
		return NULL;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_NOHUGEPAGE);
	long page = sysconf(_SC_PAGESIZE);
	for (size_t off = 0; off < len; off += (size_t)page)
		p[off] = 1;
	return p;
}

/* All CPUs' time from /proc/stat's first line, to tell "faster" from "burns
 * more CPU": the share left idle while a cell ran. */
struct cpu_times {
	unsigned long long idle, steal, total;
};

static void read_cpu_times(struct cpu_times *t)
{
	unsigned long long v[10] = {0};
	FILE *f = fopen("/proc/stat", "re");
	t->idle = t->steal = t->total = 0;
	if (f == NULL)
		return;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
	               &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	/* guest time (8, 9) is already counted in user and nice */
	for (int i = 0; i < n && i < 8; i++)
		t->total += v[i];
	t->idle = v[3] + v[4]; /* idle and iowait */
	t->steal = v[7];       /* taken by the hypervisor for other guests */
}

static double share_of(unsigned long long part, const struct cpu_times *a,
                       const struct cpu_times *b)
{
	if (b->total <= a->total)
		return NAN; /* under one clock tick: too short to tell */
	return (double)part / (double)(b->total - a->total);
}

/* Runs the cell once. Returns 0 with the sample and the run's result, or -1
 * with the cell's error set (the result is then freed). */
static int measure_once(struct bench_run *run, struct cell *c, struct sample *s,
                        struct run_result *rr)
{
	struct workload *w = &c->bw->w;
	struct param_values strategy;
	strategy_params(&run->cfg, c->runner, &strategy);
	struct run_spec spec = {.workload = w,
	                        .workers = c->workers,
	                        .topology = run->topology,
	                        .cpus = c->plan.cpus,
	                        .params = &strategy,
	                        .trace = c->trace};
	struct rusage self0, kids0, self1, kids1;

	if (run_result_init(rr, w->ops->task_count(w), cell_threads(c)) != 0) {
		snprintf(c->error, sizeof(c->error), "out of memory for the run's results");
		return -1;
	}
	memset(s, 0, sizeof(*s));
	if (w->ops->before_run != NULL)
		w->ops->before_run(w);
	reset_peak_rss();
	size_t ballast_len = (size_t)c->ballast_mb << 20;
	void *ballast = touch_ballast(ballast_len);
	if (ballast_len > 0 && ballast == NULL) {
		snprintf(c->error, sizeof(c->error), "cannot hold %d MiB of ballast: %s",
		         c->ballast_mb, strerror(errno));
		run_result_free(rr);
		return -1;
	}
	struct cpu_times cpu0, cpu1;
	read_cpu_times(&cpu0);
	getrusage(RUSAGE_SELF, &self0);
	getrusage(RUSAGE_CHILDREN, &kids0);
	double t0 = monotonic_now();
	int rc = c->runner->run(&spec, rr);
	double t1 = monotonic_now();
	getrusage(RUSAGE_SELF, &self1);
	getrusage(RUSAGE_CHILDREN, &kids1);
	read_cpu_times(&cpu1);
	if (ballast != NULL)
		munmap(ballast, ballast_len);

	s->wall_s = t1 - t0;
	s->idle_share = share_of(cpu1.idle - cpu0.idle, &cpu0, &cpu1);
	s->steal_share = share_of(cpu1.steal - cpu0.steal, &cpu0, &cpu1);
	usage_delta(&self0, &self1, s);
	usage_delta(&kids0, &kids1, s);
	s->max_rss_kib = proc_status_kib("VmHWM") + rr->children_max_rss_kib;
	run_result_finish(rr);
	if (rc != 0 || rr->failed || rr->tasks_failed > 0) {
		c->tasks = rr->tasks_total;
		c->tasks_failed = rr->tasks_failed;
		snprintf(c->error, sizeof(c->error), "%s",
		         rr->error[0] ? rr->error : "the runner failed without saying why");
		run_result_free(rr);
		return -1;
	}
	return 0;
}

/* A wrong checksum makes the run an error, not a result. */
static int verify_checksum(struct cell *c, const struct run_result *rr)
{
	const struct bench_workload *bw = c->bw;
	if (bw->has_expected_checksum && rr->checksum != bw->expected_checksum) {
		snprintf(c->error, sizeof(c->error),
		         "checksum mismatch: got 0x%016" PRIx64 ", expected 0x%016" PRIx64,
		         rr->checksum, bw->expected_checksum);
		c->checksum_ok = false;
		return -1;
	}
	if (!bw->has_expected_checksum && bw->first_cell != NULL &&
	    rr->checksum != bw->first_checksum) {
		snprintf(c->error, sizeof(c->error),
		         "checksum mismatch: got 0x%016" PRIx64
		         ", but %s with %d workers got 0x%016" PRIx64,
		         rr->checksum, bw->first_cell->runner->name, bw->first_cell->workers,
		         bw->first_checksum);
		c->checksum_ok = false;
		return -1;
	}
	if (bw->has_expected_items && rr->items != bw->expected_items) {
		snprintf(c->error, sizeof(c->error),
		         "wrong answer: %" PRIu64 " %s, expected %" PRIu64, rr->items,
		         bw->w.ops->items_name, bw->expected_items);
		c->checksum_ok = false;
		return -1;
	}
	if (bw->first_cell == NULL) {
		c->bw->first_cell = c;
		c->bw->first_checksum = rr->checksum;
	}
	c->checksum_ok = true;
	return 0;
}

static void pool_append(struct pool *p, const double *v, size_t n)
{
	if (n == 0)
		return;
	double *grown = realloc(p->v, (p->n + n) * sizeof(*grown));
	if (grown == NULL)
		return; /* out of memory: the pool keeps what it had */
	memcpy(grown + p->n, v, n * sizeof(*grown));
	p->v = grown;
	p->n += n;
}

/* The I/O stream's round trips of the run that just ended (mixed), pooled
 * into the cell: the workload keeps them in shared memory until its next run. */
static void keep_stream_samples(struct cell *c)
{
	const struct workload *w = &c->bw->w;
	const double *alone, *busy;
	size_t n_alone, n_busy;
	if (w->ops->stream_samples == NULL)
		return;
	c->has_stream = true;
	w->ops->stream_samples(w, &alone, &n_alone, &busy, &n_busy);
	pool_append(&c->stream_alone, alone, n_alone);
	pool_append(&c->stream_busy, busy, n_busy);
}

static void keep_workload_facts(struct cell *c, const struct run_result *rr)
{
	const struct workload *w = &c->bw->w;
	c->connections = 0;
	for (size_t i = 0; i < rr->tasks_total; i++)
		c->connections += rr->task[i].connects;
	c->n_facts = w->ops->facts != NULL ? w->ops->facts(w, c->facts, WORKLOAD_FACTS_MAX) : 0;
}

static void keep_run(struct cell *c, const struct sample *s, struct run_result *rr, bool counted)
{
	c->checksum = rr->checksum;
	c->tasks = rr->tasks_total;
	c->items = rr->items;
	c->bytes = rr->bytes;
	c->measured_any = true;
	free(c->last_workers);
	c->last_workers = rr->worker;
	c->n_last_workers = rr->workers;
	rr->worker = NULL;
	if (counted) {
		keep_stream_samples(c);
		memcpy(c->stat, rr->stat, sizeof(c->stat));
		c->n_stats = rr->n_stats;
		keep_workload_facts(c, rr);
		c->samples[c->n_samples++] = *s;
		double *lat =
		    realloc(c->latencies, (c->n_latencies + rr->tasks_total) * sizeof(*lat));
		if (lat != NULL) {
			for (size_t i = 0; i < rr->tasks_total; i++)
				lat[c->n_latencies + i] = rr->task[i].latency_s;
			c->latencies = lat;
			c->n_latencies += rr->tasks_total;
		}
	}
	run_result_free(rr);
}

static void format_duration(double s, char *buf, size_t len)
{
	long t = isfinite(s) && s > 0 ? (long)(s + 0.5) : 0;
	if (t >= 3600)
		snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

static void cell_label(const struct cell *c, char *buf, size_t len)
{
	int k = snprintf(buf, len, "%s%s%s %s n=%d", c->bw->w.ops->name,
	                 c->bw->variant[0] ? ":" : "", c->bw->variant, c->runner->name, c->workers);
	if (c->ballast_mb > 0 && k > 0 && (size_t)k < len)
		snprintf(buf + k, len - (size_t)k, " ballast=%dM", c->ballast_mb);
}

/* On a terminal, one line rewritten after every run: the cell, the
 * repetition, the time so far and an estimate of what is left. */
static void show_live_line(struct bench_run *run, const struct cell *c, const char *phase)
{
	char label[128], elapsed[32], eta[32];
	double spent = monotonic_now() - run->started_mono;
	double per_run = run->runs_done > 0 ? spent / run->runs_done : NAN;
	cell_label(c, label, sizeof(label));
	format_duration(spent, elapsed, sizeof(elapsed));
	format_duration(per_run * (run->total_runs - run->runs_done), eta, sizeof(eta));
	fprintf(stderr, "\r\033[K[%d/%d] %s, %s  elapsed %s  ETA %s", run->runs_done,
	        run->total_runs, label, phase, elapsed, eta);
	fflush(stderr);
}

/* A line that stays: a failed cell, or (off a terminal) a finished one. */
static void show_cell_line(struct bench_run *run, const struct cell *c)
{
	char label[128];
	cell_label(c, label, sizeof(label));
	if (run->live_progress)
		fprintf(stderr, "\r\033[K");
	if (c->error[0] != '\0')
		fprintf(stderr, "%s: error: %s\n", label, c->error);
	else
		fprintf(stderr, "%s: median %.4f s over %d runs\n", label, c->wall.median,
		        c->n_samples);
}

static void progress(struct bench_run *run, const struct cell *c, const char *phase,
                     bool failed_now, bool cell_done)
{
	run->runs_done++;
	if (run->cfg.quiet)
		return;
	if (failed_now || (cell_done && !run->live_progress))
		show_cell_line(run, c);
	if (run->live_progress)
		show_live_line(run, c, phase);
}

/* ---- stopping early: Ctrl-C, SIGTERM, a cell that never ends ------------------
 * The first SIGINT or SIGTERM lets the run in flight end, drops it (a worker
 * the signal reached may have died with it), writes what was measured with
 * "interrupted": true and exits 128 + the signal; a second one exits at once,
 * leaving the file as last written (it is always whole). */

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	if (stop_signal != 0)
		_exit(128 + sig);
	stop_signal = sig;
}

static void catch_stop_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* A save that failed (a full disk, a quota): every later save would fail the
 * same way, so what is measured from then on could not be kept. The run
 * stops, the file on disk stays the last whole version, and the exit status
 * is EXIT_SAVE_FAILED. Set by the main thread or the watchdog. */
static volatile sig_atomic_t save_failed;
static char save_error[512];
static int saves_done;

static bool stopping(void)
{
	return stop_signal != 0 || save_failed;
}

/* A run that outlives --cell-timeout cannot be stopped from outside (threads
 * cannot be cancelled safely), so the watchdog records the cell as timed out,
 * writes the file and ends the process; forked workers and the fixture server
 * die with it (parent-death signal). */
struct watchdog {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct bench_run *run;
	struct cell *cell; /* the cell whose run is in flight, NULL between runs */
	double deadline;   /* CLOCK_MONOTONIC seconds */
	bool quit;
};

static struct watchdog the_watchdog = {.mu = PTHREAD_MUTEX_INITIALIZER,
                                       .cv = PTHREAD_COND_INITIALIZER};

static json_t *save_progress(struct bench_run *run);
static void report_failed_save(const struct bench_run *run);

static void *watch_runs(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&the_watchdog.mu);
	while (!the_watchdog.quit) {
		if (the_watchdog.cell == NULL) {
			pthread_cond_wait(&the_watchdog.cv, &the_watchdog.mu);
			continue;
		}
		struct timespec until = {
		    .tv_sec = (time_t)the_watchdog.deadline,
		    .tv_nsec =
		        (long)((the_watchdog.deadline - floor(the_watchdog.deadline)) * 1e9)};
		if (pthread_cond_timedwait(&the_watchdog.cv, &the_watchdog.mu, &until) !=
		        ETIMEDOUT ||
		    the_watchdog.cell == NULL || monotonic_now() < the_watchdog.deadline)
			continue;
		struct cell *c = the_watchdog.cell;
		struct bench_run *run = the_watchdog.run;
		snprintf(
		    c->error, sizeof(c->error),
		    "timed out: one run took longer than %d s (--cell-timeout); the run stopped "
		    "here",
		    run->cfg.cell_timeout_s);
		snprintf(run->interrupted_by, sizeof(run->interrupted_by), "cell-timeout");
		json_decref(save_progress(run));
		if (save_failed)
			report_failed_save(run);
		fprintf(stderr,
		        "\nconcbench run: %s %s n=%d: %s; cells measured so far are in %s\n",
		        c->bw->w.ops->name, c->runner->name, c->workers, c->error, run->output);
		_exit(124);
	}
	pthread_mutex_unlock(&the_watchdog.mu);
	return NULL;
}

/* The deadline is on CLOCK_MONOTONIC, and so must the condition's waits be:
 * with the default (realtime) clock every wait would end at once and the
 * watchdog would spin a CPU away from the cells it watches. */
static int watchdog_start(pthread_t *tid)
{
	pthread_condattr_t attr;
	if (pthread_condattr_init(&attr) != 0 ||
	    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&the_watchdog.cv, &attr) != 0)
		return -1;
	pthread_condattr_destroy(&attr);
	return pthread_create(tid, NULL, watch_runs, NULL);
}

static void watchdog_arm(struct bench_run *run, struct cell *c)
{
	pthread_mutex_lock(&the_watchdog.mu);
	the_watchdog.run = run;
	the_watchdog.cell = c;
	the_watchdog.deadline = monotonic_now() + run->cfg.cell_timeout_s;
	pthread_cond_signal(&the_watchdog.cv);
	pthread_mutex_unlock(&the_watchdog.mu);
}

/* Returns with the watchdog's lock held, so that the cell is not written
 * while the watchdog reads it; watchdog_release lets go. */
static void watchdog_disarm(void)
{
	pthread_mutex_lock(&the_watchdog.mu);
	the_watchdog.cell = NULL;
}

static void watchdog_release(void)
{
	pthread_cond_signal(&the_watchdog.cv);
	pthread_mutex_unlock(&the_watchdog.mu);
}

static int timed_measure(struct bench_run *run, struct cell *c, struct sample *s,
                         struct run_result *rr)
{
	watchdog_arm(run, c);
	int rc = measure_once(run, c, s, rr);
	watchdog_disarm();
	return rc;
}

/* One of the strategy's counters of the latest counted run, NAN if none. */
static double cell_stat(const struct cell *c, const char *name)
{
	for (int i = 0; i < c->n_stats; i++)
		if (strcmp(c->stat[i].name, name) == 0)
			return c->stat[i].value;
	return NAN;
}

/* --trace: the last counted repetition of a cell the filter names is traced
 * (its figures are counted and the cell says which it was). The buffers are
 * set up here, before the run's clock starts. */
static void trace_begin_if_chosen(struct bench_run *run, struct cell *c, bool counted)
{
	const struct run_config *cfg = &run->cfg;
	if (!counted || cfg->trace_path[0] == '\0' || c->n_samples != cfg->reps - 1 ||
	    !trace_filter_matches(&cfg->trace_cells, c->bw->w.ops, c->runner, c->workers))
		return;
	c->trace = malloc(sizeof(*c->trace));
	if (c->trace != NULL &&
	    trace_open(c->trace, trace_lanes_for(c->workers), cfg->trace_events) == 0)
		return;
	fprintf(stderr, "concbench run: cannot trace %s %s n=%d: %s\n", c->bw->w.ops->name,
	        c->runner->name, c->workers, strerror(errno));
	free(c->trace);
	c->trace = NULL;
}

/* After the traced run: its events into the trace file's document when the
 * run counted, and the buffers freed either way. */
static void trace_end(struct bench_run *run, struct cell *c, bool kept)
{
	char label[128];
	if (c->trace == NULL)
		return;
	if (kept) {
		cell_label(c, label, sizeof(label));
		struct trace_cell_info info = {
		    .label = label,
		    .workload = c->bw->w.ops->name,
		    .strategy = c->runner->name,
		    .workers = c->workers,
		    .repetition = c->n_samples,
		    .forced_switches = cell_stat(c, "forced_switches"),
		};
		c->traced_repetition = c->n_samples;
		c->trace_events = trace_events(c->trace);
		c->trace_dropped = trace_dropped(c->trace);
		trace_doc_add(&run->trace_doc, &info, c->trace);
	}
	trace_close(c->trace);
	free(c->trace);
	c->trace = NULL;
}

static void run_cell_once(struct bench_run *run, struct cell *c, bool counted, const char *phase)
{
	struct sample s;
	struct run_result rr;
	if (c->error[0] != '\0' || stopping()) {
		run->runs_done++; /* a failed cell stays failed: later runs would not compare */
		return;
	}
	memset(&rr, 0, sizeof(rr));
	trace_begin_if_chosen(run, c, counted);
	int rc = timed_measure(run, c, &s, &rr);
	if (stopping()) {
		/* the signal may have reached the workers too: this run is not evidence */
		c->error[0] = '\0';
		if (rr.task != NULL)
			run_result_free(&rr);
		trace_end(run, c, false);
		watchdog_release();
		return;
	}
	if (rc != 0 || verify_checksum(c, &rr) != 0) {
		if (rr.task != NULL)
			run_result_free(&rr);
		trace_end(run, c, false);
		watchdog_release();
		progress(run, c, phase, true, true);
		return;
	}
	keep_run(c, &s, &rr, counted);
	trace_end(run, c, true);
	watchdog_release();
	bool done = counted && c->n_samples == run->cfg.reps;
	if (done)
		cell_summarize(run, c);
	progress(run, c, phase, false, done);
}

/* ---- the matrix ------------------------------------------------------------ */

static uint64_t next_random(uint64_t *state)
{
	/* xorshift64*: enough to shuffle a few dozen cells reproducibly from --seed. */
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static void shuffle(struct cell **order, int n, uint64_t *rng)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(next_random(rng) % (uint64_t)(i + 1));
		struct cell *t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
}

static int add_cell(struct bench_run *run, struct bench_workload *bw, const struct runner_ops *r,
                    int workers, int ballast_mb, char *err, size_t errlen)
{
	struct cell *c = &run->cells[run->n_cells];
	memset(c, 0, sizeof(*c));
	c->bw = bw;
	c->runner = r;
	c->workers = workers;
	c->ballast_mb = ballast_mb;
	c->samples = calloc((size_t)run->cfg.reps, sizeof(*c->samples));
	if (c->samples == NULL || placement_plan_make(run->topology, run->cfg.pin, cell_threads(c),
	                                              &c->plan, err, errlen) != 0)
		return -1;
	run->n_cells++;
	return 0;
}

/* The worker counts of one workload: the run's sweep, and for I/O workloads
 * under the default sweep also 8 and 32 tasks in flight, where waiting, not
 * cores, sets the pace. */
static int workload_sweep(const struct bench_run *run, const struct bench_workload *bw, int *out)
{
	int n = run->n_sweep;
	memcpy(out, run->sweep, sizeof(int) * (size_t)n);
	if (run->cfg.n_workers > 0 || bw->w.ops->kind != WORKLOAD_IO)
		return n;
	static const int in_flight[] = {8, 32};
	for (size_t k = 0; k < sizeof(in_flight) / sizeof(in_flight[0]); k++)
		if (in_flight[k] > out[n - 1] && n < CLI_MAX_LIST)
			out[n++] = in_flight[k];
	return n;
}

static bool strategy_allowed(const struct bench_workload *bw, const struct runner_ops *r)
{
	if (bw->n_only == 0)
		return true;
	for (int i = 0; i < bw->n_only; i++)
		if (bw->only[i] == r)
			return true;
	return false;
}

/* serial runs once per workload and ballast with one worker: it is the baseline. */
static int build_workload_cells(struct bench_run *run, struct bench_workload *bw, char *err,
                                size_t errlen)
{
	int sweep[CLI_MAX_LIST];
	int n_sweep = workload_sweep(run, bw, sweep);
	int zero = 0;
	const int *ballast = run->cfg.n_ballast > 0 ? run->cfg.ballast_mb : &zero;
	int n_ballast = run->cfg.n_ballast > 0 ? run->cfg.n_ballast : 1;
	for (int bi = 0; bi < n_ballast; bi++) {
		for (int si = 0; si < run->cfg.n_strategies; si++) {
			const struct runner_ops *r = run->cfg.strategies[si];
			bool one = r->single_worker;
			if (!strategy_allowed(bw, r))
				continue;
			for (int k = 0; k < (one ? 1 : n_sweep); k++)
				if (add_cell(run, bw, r, one ? 1 : sweep[k], ballast[bi], err,
				             errlen) != 0)
					return -1;
		}
	}
	return 0;
}

/* The default suite's parent-memory sweep: threads and processes at the core
 * count on the first I/O workload, with the parent holding 256 MiB and 1 GiB
 * (64 and 256 MiB under --quick),
 * which is what fork has to copy the page tables of (claim 4). */
static int add_ballast_sweep(struct bench_run *run, char *err, size_t errlen)
{
	static const int full[] = {256, 1024}, quick[] = {64, 256};
	const int *ballast = run->cfg.quick ? quick : full;
	const struct runner_ops *pair[] = {runner_find("threads"), runner_find("processes")};
	struct bench_workload *io = NULL;
	for (int i = 0; i < run->n_workloads && io == NULL; i++)
		if (run->workloads[i].w.ops->kind == WORKLOAD_IO && run->workloads[i].n_only == 0)
			io = &run->workloads[i];
	if (io == NULL || !run->cfg.default_suite || run->cfg.n_ballast > 0)
		return 0;
	for (size_t p = 0; p < 2; p++) {
		bool chosen = false;
		for (int si = 0; si < run->cfg.n_strategies; si++)
			chosen |= run->cfg.strategies[si] == pair[p];
		for (size_t b = 0; chosen && b < 2; b++)
			if (add_cell(run, io, pair[p], run->sweep[run->n_sweep - 1], ballast[b],
			             err, errlen) != 0)
				return -1;
	}
	return 0;
}

static int build_cells(struct bench_run *run, char *err, size_t errlen)
{
	size_t per_workload = (size_t)run->cfg.n_strategies * (size_t)(run->n_sweep + 2) *
	                      (size_t)(run->cfg.n_ballast > 0 ? run->cfg.n_ballast : 1);
	run->cells = calloc((size_t)run->n_workloads * per_workload + 8, sizeof(*run->cells));
	if (run->cells == NULL) {
		snprintf(err, errlen, "out of memory for the cells");
		return -1;
	}
	for (int wi = 0; wi < run->n_workloads; wi++)
		if (build_workload_cells(run, &run->workloads[wi], err, errlen) != 0)
			return -1;
	return add_ballast_sweep(run, err, errlen);
}

/* The allowed PUs that no cell of this workload is pinned to: where the
 * fixture server can run without taking a core from the workers. The topology
 * holds only the PUs this process may use (taskset, cpuset, numactl), so the
 * server stays inside them; where none is spare it is left unpinned and
 * inherits the process's own binding, which is that same set. */
static int spare_pus(const struct bench_run *run, const struct bench_workload *bw, int *out,
                     int max)
{
	hwloc_bitmap_t spare = hwloc_bitmap_dup(hwloc_topology_get_allowed_cpuset(run->topology));
	int n = 0, pu;
	for (int i = 0; i < run->n_cells && spare != NULL; i++) {
		const struct cell *c = &run->cells[i];
		if (c->bw != bw)
			continue;
		for (int k = 0; k < c->plan.workers; k++) {
			if (c->plan.cpus[k] < 0) { /* unpinned workers may run anywhere */
				hwloc_bitmap_zero(spare);
				break;
			}
			hwloc_bitmap_clr(spare, (unsigned)c->plan.cpus[k]);
		}
	}
	if (spare == NULL)
		return 0;
	hwloc_bitmap_foreach_begin(pu, spare)
	{
		if (n < max)
			out[n++] = pu;
	}
	hwloc_bitmap_foreach_end();
	hwloc_bitmap_free(spare);
	return n;
}

/* A workload that downloads from the fixture gets a server of its own on a
 * loopback port, unless the user pointed it elsewhere with --url. */
static int start_fixture_server(struct bench_run *run, struct bench_workload *bw)
{
	struct workload *w = &bw->w;
	const char *key = w->ops->server_url_param;
	int cpus[64];
	if (key == NULL || params_find(w->params.defs, key, NULL) == NULL ||
	    param_set_by_user(&w->params, key))
		return 0;
	int n = spare_pus(run, bw, cpus, 64);
	if (managed_server_start(run->topology, cpus, n, &bw->server, bw->error,
	                         sizeof(bw->error)) != 0)
		return -1;
	bw->has_server = true;
	bw->server_record = bw->server;
	if (!run->cfg.quiet)
		fprintf(stderr, "%s: fixture server at %s, %s\n", w->ops->name, bw->server.url,
		        n > 0 ? "pinned to PUs the workers do not use"
		              : "unpinned (no PU is free of workers)");
	return params_set_internal(&w->params, key, bw->server.url, bw->error, sizeof(bw->error));
}

static void stop_fixture_server(struct bench_workload *bw)
{
	if (bw->has_server)
		managed_server_stop(&bw->server);
	bw->has_server = false;
}

static int setup_workload(struct bench_run *run, struct bench_workload *bw)
{
	struct workload *w = &bw->w;
	if (start_fixture_server(run, bw) != 0)
		return -1;
	if (w->ops->setup(w, bw->error, sizeof(bw->error)) != 0)
		return -1;
	bw->has_expected_checksum = w->ops->expected_checksum != NULL &&
	                            w->ops->expected_checksum(w, &bw->expected_checksum);
	bw->has_expected_items =
	    w->ops->expected_items != NULL && w->ops->expected_items(w, &bw->expected_items);
	bw->ready = true;
	(void)run;
	return 0;
}

/* Writes the result file as it stands; returns the document (the caller
 * owns it) so the end of the run can print the claims it holds. After one
 * failed save no more are tried: the failure is said once, at the end. */
static json_t *save_progress(struct bench_run *run)
{
	char err[512];
	json_t *doc = bench_run_to_json(run);
	if (save_failed)
		return doc;
	if (doc == NULL)
		snprintf(err, sizeof(err), "out of memory");
	if (doc == NULL || write_json_atomically(doc, run->output, err, sizeof(err)) != 0) {
		snprintf(save_error, sizeof(save_error), "%s", err);
		save_failed = 1;
	} else
		saves_done++;
	return doc;
}

/* The one line a failed save gets: the cause, and what the file holds. */
static void report_failed_save(const struct bench_run *run)
{
	if (saves_done == 0)
		fprintf(stderr,
		        "concbench run: cannot write %s: %s; the run stopped and no result file "
		        "was written\n",
		        run->output, save_error);
	else
		fprintf(stderr,
		        "concbench run: cannot write %s: %s; the run stopped, and the file holds "
		        "its last whole save (%d)\n",
		        run->output, save_error, saves_done);
}

static void run_workload_cells(struct bench_run *run, struct bench_workload *bw, uint64_t *rng)
{
	struct cell **order = calloc((size_t)run->n_cells, sizeof(*order));
	int n = 0;
	if (order == NULL)
		return;
	for (int i = 0; i < run->n_cells; i++)
		if (run->cells[i].bw == bw)
			order[n++] = &run->cells[i];
	for (int k = 0; k < run->cfg.warmup; k++)
		for (int i = 0; i < n; i++)
			run_cell_once(run, order[i], false, "warm-up");
	for (int rep = 0; rep < run->cfg.reps && !stopping(); rep++) {
		char phase[32];
		snprintf(phase, sizeof(phase), "rep %d/%d", rep + 1, run->cfg.reps);
		shuffle(order, n, rng);
		for (int i = 0; i < n; i++)
			run_cell_once(run, order[i], true, phase);
		for (int i = 0; i < n; i++)
			cell_summarize(run, order[i]);
		json_decref(save_progress(run));
	}
	free(order);
}

static void fail_workload_cells(struct bench_run *run, struct bench_workload *bw)
{
	for (int i = 0; i < run->n_cells; i++)
		if (run->cells[i].bw == bw)
			snprintf(run->cells[i].error, sizeof(run->cells[i].error), "setup: %s",
			         bw->error);
}

/* ---- set-up and tear-down of the whole run ---------------------------------- */

/* results/<host>-<UTC time>.json, the time in ISO 8601 basic form (no colons,
 * which artifact stores and some file systems refuse); a suffix keeps two
 * runs in the same second from overwriting each other. */
static void default_output_path(struct bench_run *run)
{
	char host[128], stamp[32];
	struct tm tm;
	machine_hostname(host, sizeof(host));
	gmtime_r(&run->started, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(run->output, sizeof(run->output), "results/%s-%s.json", host, stamp);
	for (int k = 2; access(run->output, F_OK) == 0 && k < 1000; k++)
		snprintf(run->output, sizeof(run->output), "results/%s-%s-%d.json", host, stamp, k);
}

static void stamp_time(struct bench_run *run)
{
	struct tm tm;
	run->started = time(NULL);
	gmtime_r(&run->started, &tm);
	strftime(run->created_at, sizeof(run->created_at), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Each request in flight holds a socket (two with a local server), so the
 * soft descriptor limit goes up to the hard one; a sweep that needs more
 * than even that is said so before it starts. */
static void raise_descriptor_limit(struct bench_run *run)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = {.rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
	}
	run->nofile_limit = rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
	int widest = 0;
	for (int i = 0; i < run->n_cells; i++)
		if (run->cells[i].bw->w.ops->server_url_param != NULL &&
		    run->cells[i].workers > widest)
			widest = run->cells[i].workers;
	if (run->nofile_limit >= 0 && widest + 64 > run->nofile_limit &&
	    run->n_warnings < (int)(sizeof(run->warnings) / sizeof(run->warnings[0])))
		snprintf(
		    run->warnings[run->n_warnings++], sizeof(run->warnings[0]),
		    "%d requests in flight need about %d file descriptors, but RLIMIT_NOFILE's "
		    "hard limit is %ld: raise it (ulimit -Hn) or expect EMFILE",
		    widest, widest + 64, run->nofile_limit);
}

static void note_machine_warnings(struct bench_run *run)
{
	raise_descriptor_limit(run);
	int pus = topology_pus(run->topology);
	char gov[64];
	if (getloadavg(run->load_avg, 3) != 3)
		run->load_avg[0] = run->load_avg[1] = run->load_avg[2] = NAN;
	if (run->load_avg[0] > 0.5 * pus)
		snprintf(run->warnings[run->n_warnings++], sizeof(run->warnings[0]),
		         "load average %.2f on %d PUs before the run: other work may skew the "
		         "figures",
		         run->load_avg[0], pus);
	if (machine_governor(gov, sizeof(gov)) != NULL && strcmp(gov, "performance") != 0)
		snprintf(run->warnings[run->n_warnings++], sizeof(run->warnings[0]),
		         "CPU frequency governor is '%s', not 'performance': clocks may vary", gov);
	if (topology_has_smt(run->topology))
		snprintf(
		    run->warnings[run->n_warnings++], sizeof(run->warnings[0]),
		    "SMT is on: with --pin pu, or more workers than cores, two workers share a "
		    "core's units");
	/* the topology is already cut to the allowed set: say from what */
	if (topology_restriction_note(run->topology, run->warnings[run->n_warnings],
	                              sizeof(run->warnings[0])))
		run->n_warnings++;
	for (int i = 0; i < run->n_warnings && !run->cfg.quiet; i++)
		fprintf(stderr, "warning: %s\n", run->warnings[i]);
}

/* The default suite runs the first CPU workload that can release the lock a
 * second time with release_gil=1, under serial (its baseline) and gil: the
 * NumPy case of claim 7. */
static void add_release_gil_variant(struct bench_run *run)
{
	const struct runner_ops *want[] = {runner_find("serial"), runner_find("gil")};
	for (int i = 0; i < run->cfg.n_workloads; i++) {
		const struct workload_ops *ops = run->cfg.workloads[i];
		char why[160];
		if (ops->kind != WORKLOAD_CPU ||
		    params_find(ops->params, "release_gil", NULL) == NULL)
			continue;
		struct bench_workload *v = &run->workloads[run->n_workloads];
		v->w.ops = ops;
		params_init(&v->w.params, ops->params, run->cfg.quick);
		if (apply_overrides(&run->cfg, ops, &v->w.params, why, sizeof(why)) != 0 ||
		    params_set_internal(&v->w.params, "release_gil", "1", why, sizeof(why)) != 0)
			return;
		snprintf(v->variant, sizeof(v->variant), "release_gil=1");
		for (int si = 0; si < run->cfg.n_strategies; si++)
			for (size_t k = 0; k < 2; k++)
				if (run->cfg.strategies[si] == want[k])
					v->only[v->n_only++] = want[k];
		if (v->n_only == 2)
			run->n_workloads++;
		else
			memset(v, 0, sizeof(*v));
		return;
	}
}

/* --trace: the file must be writable before anything is measured; an item of
 * --trace-cells that names no cell of this run is worth a warning. */
static int check_trace_request(struct bench_run *run, char *err, size_t errlen)
{
	const struct run_config *cfg = &run->cfg;
	char why[400];
	if (cfg->trace_path[0] == '\0')
		return 0;
	if (check_output_writable(cfg->trace_path, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "--trace %.200s: %.280s", cfg->trace_path, why);
		return -1;
	}
	for (int k = 0; k < cfg->trace_cells.n; k++) {
		struct trace_filter one = {.n = 1, .item = {cfg->trace_cells.item[k]}};
		bool any = false;
		for (int i = 0; i < run->n_cells && !any; i++)
			any = trace_filter_matches(&one, run->cells[i].bw->w.ops,
			                           run->cells[i].runner, run->cells[i].workers);
		/* Not an error: `make bench` names its cells whatever BENCH_ARGS selects. */
		if (!any &&
		    run->n_warnings < (int)(sizeof(run->warnings) / sizeof(run->warnings[0])))
			snprintf(
			    run->warnings[run->n_warnings++], sizeof(run->warnings[0]),
			    "--trace-cells: item %d names no cell of this run: nothing is traced "
			    "for it",
			    k + 1);
	}
	trace_doc_init(&run->trace_doc);
	return 0;
}

static int prepare(struct bench_run *run, char *err, size_t errlen)
{
	stamp_time(run);
	if (run->cfg.output[0] != '\0')
		snprintf(run->output, sizeof(run->output), "%s", run->cfg.output);
	else
		default_output_path(run);
	if (check_output_writable(run->output, err, errlen) != 0)
		return -1;
	if (topology_open(&run->topology, NULL, err, errlen) != 0)
		return -1;
	if (run->cfg.n_workers > 0) {
		memcpy(run->sweep, run->cfg.workers, sizeof(run->sweep));
		run->n_sweep = run->cfg.n_workers;
	} else {
		run->n_sweep =
		    default_worker_sweep(topology_cores(run->topology), run->sweep, CLI_MAX_LIST);
	}
	run->n_workloads = run->cfg.n_workloads;
	run->workloads = calloc((size_t)run->n_workloads + 1, sizeof(*run->workloads));
	if (run->workloads == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < run->n_workloads; i++) {
		struct workload *w = &run->workloads[i].w;
		w->ops = run->cfg.workloads[i];
		params_init(&w->params, w->ops->params, run->cfg.quick);
		if (apply_overrides(&run->cfg, w->ops, &w->params, err, errlen) != 0)
			return -1;
		if (w->ops->check != NULL && w->ops->check(w, err, errlen) != 0)
			return -1;
	}
	if (run->cfg.default_suite)
		add_release_gil_variant(run);
	if (build_cells(run, err, errlen) != 0)
		return -1;
	return check_trace_request(run, err, errlen);
}

static void release(struct bench_run *run)
{
	for (int i = 0; i < run->n_cells; i++) {
		struct cell *c = &run->cells[i];
		placement_plan_free(&c->plan);
		free(c->samples);
		free(c->latencies);
		free(c->stream_alone.v);
		free(c->stream_busy.v);
		free(c->last_workers);
	}
	free(run->cells);
	free(run->workloads);
	trace_doc_free(&run->trace_doc);
	if (run->topology != NULL)
		hwloc_topology_destroy(run->topology);
}

static void report_cell_warnings(const struct bench_run *run)
{
	for (int i = 0; i < run->n_cells && !run->cfg.quiet; i++) {
		const struct cell *c = &run->cells[i];
		for (int k = 0; k < c->n_warnings; k++)
			fprintf(stderr, "warning: %s %s n=%d: %s\n", c->bw->w.ops->name,
			        c->runner->name, c->workers, c->warnings[k]);
	}
}

static int count_failed_cells(const struct bench_run *run)
{
	int failed = 0;
	for (int i = 0; i < run->n_cells; i++)
		failed += run->cells[i].error[0] != '\0';
	return failed;
}

/* --list-cells: one line per cell, "workload[:variant] strategy workers ballast_mb". */
static void print_cell_list(const struct bench_run *run, FILE *out)
{
	for (int i = 0; i < run->n_cells; i++) {
		const struct cell *c = &run->cells[i];
		fprintf(out, "%s%s%s %s %d %d\n", c->bw->w.ops->name, c->bw->variant[0] ? ":" : "",
		        c->bw->variant, c->runner->name, c->workers, c->ballast_mb);
	}
}

/* --trace: the file, written once the run is over. */
static void write_trace_file(struct bench_run *run)
{
	char err[512];
	size_t events = 0;
	uint64_t dropped = 0;
	int cells = 0;
	if (run->cfg.trace_path[0] == '\0')
		return;
	for (int i = 0; i < run->n_cells; i++) {
		const struct cell *c = &run->cells[i];
		cells += c->traced_repetition > 0;
		events += c->trace_events;
		dropped += c->trace_dropped;
	}
	if (trace_doc_write(&run->trace_doc, run->cfg.trace_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "concbench run: cannot write the trace %s: %s\n",
		        run->cfg.trace_path, err);
		return;
	}
	if (!run->cfg.quiet)
		fprintf(stderr, "trace file: %s (%d cells, %zu events, %" PRIu64 " dropped)\n",
		        run->cfg.trace_path, cells, events, dropped);
}

int cmd_run(int argc, char **argv)
{
	static struct bench_run run; /* large; static keeps it off the stack */
	char err[512];
	memset(&run, 0, sizeof(run));

	enum cli_status st = run_config_parse(argc, argv, &run.cfg, err, sizeof(err));
	if (st == CLI_HELP) {
		run_usage(stdout);
		return 0;
	}
	if (st == CLI_ERROR || prepare(&run, err, sizeof(err)) != 0) {
		fprintf(stderr, "concbench run: %s\n", err);
		release(&run);
		return 2;
	}
	if (run.cfg.list_cells) {
		print_cell_list(&run, stdout);
		release(&run);
		return 0;
	}
	note_machine_warnings(&run);
	run.total_runs = run.n_cells * (run.cfg.warmup + run.cfg.reps);
	run.started_mono = monotonic_now();
	run.live_progress = isatty(STDERR_FILENO);

	catch_stop_signals();
	pthread_t watcher;
	bool watching = watchdog_start(&watcher) == 0;
	uint64_t rng = run.cfg.seed;
	for (int i = 0; i < run.n_workloads && !stopping(); i++) {
		struct bench_workload *bw = &run.workloads[i];
		if (setup_workload(&run, bw) != 0) {
			fprintf(stderr, "concbench run: %s: set-up failed: %s\n", bw->w.ops->name,
			        bw->error);
			fail_workload_cells(&run, bw);
			stop_fixture_server(bw);
			json_decref(save_progress(&run));
			continue;
		}
		run_workload_cells(&run, bw, &rng);
		bw->w.ops->teardown(&bw->w);
		stop_fixture_server(bw);
	}
	if (watching) {
		pthread_mutex_lock(&the_watchdog.mu);
		the_watchdog.quit = true;
		pthread_cond_signal(&the_watchdog.cv);
		pthread_mutex_unlock(&the_watchdog.mu);
		pthread_join(watcher, NULL);
	}
	if (stop_signal != 0)
		snprintf(run.interrupted_by, sizeof(run.interrupted_by), "%s",
		         stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
	run.finished = !stopping();
	if (run.live_progress && !run.cfg.quiet)
		fprintf(stderr, "\r\033[K");
	for (int i = 0; i < run.n_cells; i++)
		cell_summarize(&run, &run.cells[i]);
	json_t *doc = save_progress(&run);
	write_trace_file(&run);
	report_cell_warnings(&run);
	print_summary(&run, stdout);
	if (doc != NULL)
		claims_print(json_object_get(doc, "claims"), stdout);
	json_decref(doc);
	if (save_failed) {
		report_failed_save(&run);
		release(&run);
		return EXIT_SAVE_FAILED;
	}
	printf("\nresult file: %s\n", run.output);

	int failed = count_failed_cells(&run);
	if (failed > 0)
		fprintf(stderr, "concbench run: %d cell%s failed (see \"error\" in %s)\n", failed,
		        failed == 1 ? "" : "s", run.output);
	int sig = stop_signal;
	if (sig != 0)
		fprintf(stderr,
		        "concbench run: interrupted by %s; the cells measured so far are in %s\n",
		        run.interrupted_by, run.output);
	release(&run);
	return sig != 0 ? 128 + sig : failed > 0 ? 1 : 0;
}
