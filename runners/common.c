/* What every runner shares: result bookkeeping, task timing, binding. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runners/runner.h"

int run_result_init(struct run_result *r, size_t tasks, int workers)
{
	memset(r, 0, sizeof(*r));
	r->tasks_total = tasks;
	r->workers = workers;
	r->task = calloc(tasks ? tasks : 1, sizeof(*r->task));
	r->worker = calloc((size_t)workers, sizeof(*r->worker));
	if (r->task == NULL || r->worker == NULL) {
		run_result_free(r);
		return -1;
	}
	for (int w = 0; w < workers; w++)
		r->worker[w].observed_cpu = -1;
	return 0;
}

void run_result_free(struct run_result *r)
{
	free(r->task);
	free(r->worker);
	free(r->stream_alone);
	free(r->stream_busy);
	r->task = NULL;
	r->worker = NULL;
	r->stream_alone = r->stream_busy = NULL;
}

void run_result_fail(struct run_result *r, const char *fmt, ...)
{
	if (r->failed)
		return; /* the first error is the one worth reading */
	r->failed = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
}

void run_result_finish(struct run_result *r)
{
	r->checksum = r->items = r->bytes = 0;
	r->tasks_done = r->tasks_failed = 0;
	for (size_t i = 0; i < r->tasks_total; i++) {
		const struct task_result *t = &r->task[i];
		if (!t->done) {
			run_result_fail(r, "task %zu never completed", i);
			continue;
		}
		r->tasks_done++;
		r->checksum = checksum_combine(r->checksum, t->checksum);
		r->items += t->items;
		r->bytes += t->bytes;
		if (t->failed) {
			r->tasks_failed++;
			if (r->error[0] == '\0')
				snprintf(r->error, sizeof(r->error), "task %zu: %s", i, t->error);
		}
	}
}

void run_result_stat(struct run_result *r, const char *name, double value)
{
	if (r->n_stats == RUN_STATS_MAX)
		return;
	struct run_stat *s = &r->stat[r->n_stats++];
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->value = value;
}

void run_result_note(struct run_result *r, const char *name, const char *text)
{
	if (r->n_stats == RUN_STATS_MAX)
		return;
	struct run_stat *s = &r->stat[r->n_stats++];
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->text, sizeof(s->text), "%s", text[0] ? text : "?");
	s->value = NAN;
}

double run_result_stat_get(const struct run_result *r, const char *name)
{
	for (int i = 0; i < r->n_stats; i++)
		if (strcmp(r->stat[i].name, name) == 0)
			return r->stat[i].value;
	return NAN;
}

struct task_result run_timed_task(const struct workload *w, size_t i, struct task_ctx *ctx)
{
	double t0 = monotonic_now();
	struct task_result t = w->ops->run_task(w, i, ctx);
	t.latency_s = monotonic_now() - t0;
	t.done = true;
	return t;
}

int thread_pool_run(int workers, void *(*fn)(void *), void *args, size_t arg_size,
                    struct run_result *res)
{
	pthread_t *tid = calloc((size_t)workers, sizeof(*tid));
	int started = 0;
	if (tid == NULL) {
		run_result_fail(res, "out of memory for %d threads", workers);
		return 0;
	}
	for (; started < workers; started++) {
		int err = pthread_create(&tid[started], NULL, fn,
		                         (char *)args + (size_t)started * arg_size);
		if (err != 0) {
			run_result_fail(res, "pthread_create for worker %d: %s", started,
			                strerror(err));
			break;
		}
	}
	for (int w = 0; w < started; w++)
		pthread_join(tid[w], NULL);
	free(tid);
	return started;
}

int worker_bind(hwloc_topology_t topology, int cpu)
{
	if (cpu < 0 || topology == NULL)
		return 0;
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	hwloc_bitmap_only(set, (unsigned)cpu);
	int rc = hwloc_set_cpubind(topology, set, HWLOC_CPUBIND_THREAD);
	hwloc_bitmap_free(set);
	return rc;
}

int worker_observe_cpu(hwloc_topology_t topology)
{
	if (topology == NULL)
		return -1;
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	int cpu = -1;
	if (hwloc_get_last_cpu_location(topology, set, HWLOC_CPUBIND_THREAD) == 0)
		cpu = hwloc_bitmap_first(set);
	hwloc_bitmap_free(set);
	return cpu;
}

hwloc_bitmap_t thread_binding_save(hwloc_topology_t topology)
{
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	if (topology == NULL || hwloc_get_cpubind(topology, set, HWLOC_CPUBIND_THREAD) != 0) {
		hwloc_bitmap_free(set);
		return NULL;
	}
	return set;
}

void thread_binding_restore(hwloc_topology_t topology, hwloc_bitmap_t saved)
{
	if (saved == NULL)
		return;
	hwloc_set_cpubind(topology, saved, HWLOC_CPUBIND_THREAD);
	hwloc_bitmap_free(saved);
}

long proc_status_kib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	size_t len = strlen(field);
	long kib = -1;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, field, len) == 0 && line[len] == ':' &&
		    sscanf(line + len + 1, "%ld", &kib) == 1)
			break;
	}
	if (f != NULL)
		fclose(f);
	return kib;
}

int64_t run_spec_param(const struct run_spec *spec, const struct param_def *defs, const char *key)
{
	if (spec->params != NULL)
		return param_get(spec->params, key);
	struct param_values defaults;
	params_init(&defaults, defs, 0);
	return param_get(&defaults, key);
}
