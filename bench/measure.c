/* One measured run of a cell: the rusage and /proc/stat figures around it,
 * the ballast the parent holds, the checksum and item checks, and what the
 * cell keeps of it (its samples, latencies, stream samples, counters). */
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

#include "bench/run.h"
#include "lib/cpu_times.h"

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

/* The share of all CPUs' time left idle while a cell ran tells "faster" from
 * "burns more CPU". */
static double share_of(unsigned long long part, const struct cpu_times *a,
                       const struct cpu_times *b)
{
	if (b->total <= a->total)
		return NAN; /* under one clock tick: too short to tell */
	return (double)part / (double)(b->total - a->total);
}

/* Runs the cell once. Returns 0 with the sample and the run's result, or -1
 * with the cell's error set (the result is then freed). */
int measure_once(struct bench_run *run, struct cell *c, struct sample *s, struct run_result *rr)
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
	if (c->runner->prepare != NULL &&
	    c->runner->prepare(&spec, c->error, sizeof(c->error)) != 0) {
		run_result_free(rr);
		return -1;
	}
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
	cpu_times_read(&cpu0);
	getrusage(RUSAGE_SELF, &self0);
	getrusage(RUSAGE_CHILDREN, &kids0);
	double t0 = monotonic_now();
	int rc = c->runner->run(&spec, rr);
	double t1 = monotonic_now();
	getrusage(RUSAGE_SELF, &self1);
	getrusage(RUSAGE_CHILDREN, &kids1);
	cpu_times_read(&cpu1);
	if (ballast != NULL)
		munmap(ballast, ballast_len);

	s->wall_s = t1 - t0;
	s->idle_share = share_of(cpu1.idle - cpu0.idle, &cpu0, &cpu1);
	s->steal_share = share_of(cpu1.steal - cpu0.steal, &cpu0, &cpu1);
	usage_delta(&self0, &self1, s);
	usage_delta(&kids0, &kids1, s);
	s->max_rss_kib = proc_status_kib("VmHWM") + rr->children_max_rss_kib;
	if (rr->own_usage) {
		/* an interpreter's executor, timed by the interpreter around its whole
		 * life: its start-up and our pipe traffic stay outside */
		s->wall_s = rr->own_wall_s;
		s->user_s = rr->own_user_s;
		s->sys_s = rr->own_sys_s;
		s->ctx_voluntary = rr->own_ctx_voluntary;
		s->ctx_involuntary = rr->own_ctx_involuntary;
	}
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
int verify_checksum(struct cell *c, const struct run_result *rr)
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
static void keep_stream_samples(struct cell *c, const struct run_result *rr)
{
	const struct workload *w = &c->bw->w;
	const double *alone, *busy;
	size_t n_alone, n_busy;
	if (rr->has_stream) { /* measured by the runner itself (py-*) */
		c->has_stream = true;
		pool_append(&c->stream_alone, rr->stream_alone, rr->n_stream_alone);
		pool_append(&c->stream_busy, rr->stream_busy, rr->n_stream_busy);
		return;
	}
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

void keep_run(struct cell *c, const struct sample *s, struct run_result *rr, bool counted)
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
		keep_stream_samples(c, rr);
		for (int k = 0; k < c->n_last_workers; k++)
			pool_append(&c->startups, &c->last_workers[k].startup_s, 1);
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
