/* Sizes that follow the machine, and a time budget.
 *
 * Before a workload is set up, sizing_apply gives it at least 8 tasks per
 * worker at the run's largest worker count (its resize op decides how: more,
 * smaller tasks, the same total work), so that on a 64-core machine a curve is
 * not cut off by the workload. All cells of a workload share its parameters:
 * every worker count runs the same work per repetition (strong scaling).
 *
 * sizing_plan then calibrates (for --list-cells, and for a run with a budget,
 * which the default suite has): each workload is set up once, and each cell is
 * run once through its own strategy on a sample of its tasks (every k-th one,
 * so that the sample spans uneven tasks) and once on as many empty tasks as it
 * has workers (the pool's start-up and join). A cell's run is then estimated
 * as that start-up plus the sample's work scaled to all tasks. Where a CPU
 * cell plans more threads than this process has CPUs (a synthetic topology,
 * or n above the cores), the sample measured here on fewer cores is projected:
 * the speedup the sample showed on the CPUs there are, as a share of the ideal
 * (0 under a lock, 1 for free threads), carried to the cores the plan spreads
 * over. Nothing here knows a strategy by name.
 *
 * The calibration also grows a CPU workload's work where a pool's start-up
 * would be more than a twentieth of a run at the largest worker count (20
 * times the start-up at ideal speedup), up to SERIAL_CAP_S of serial work so
 * that the lock-bound cells stay affordable; what was aimed at and reached is
 * recorded in each cell ("sizing").
 *
 * With a budget, a plan over it keeps its repetitions (the claims need five
 * of each cell) and gets a sparser worker sweep first (not when -n gave one;
 * down to 1, 2 and the cores), then no warm-up run (unless --warmup gave
 * one), then two of the task-size sweep's six sizes, then only 2 and the
 * cores beside serial, then work from the sized CPU workloads whose serial
 * runs are longest (none below SERIAL_FLOOR_S: a slow machine's triad gets
 * fewer passes), and the result and stderr say which. */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/run.h"
#include "readers/tasksweep.h"

#define TASKS_PER_WORKER 8
#define STARTUP_MULTIPLE 20.0
#define SERIAL_CAP_S     1.0
#define SAMPLE_SHARE     16 /* a CPU cell's sample: 1/16 of its tasks, or more */
/* The budget shrinks no serial run below this: shorter runs are thrown off
 * by a shared machine's scheduling more than they gain. */
#define SERIAL_FLOOR_S 0.3

int sizing_max_workers(const struct bench_run *run)
{
	int m = 1;
	for (int i = 0; i < run->n_sweep; i++)
		if (run->sweep[i] > m)
			m = run->sweep[i];
	return m;
}

static bool resizable(const struct workload *w)
{
	return w->ops->resize != NULL && w->ops->kind == WORKLOAD_CPU;
}

static uint64_t tasks_wanted(const struct bench_run *run)
{
	return (uint64_t)TASKS_PER_WORKER * (uint64_t)sizing_max_workers(run);
}

void sizing_apply(const struct bench_run *run, struct bench_workload *bw)
{
	struct workload *w = &bw->w;
	bw->grow = bw->kept = 1.0;
	if (!resizable(w))
		return;
	bw->autosized = true;
	bw->min_tasks = tasks_wanted(run);
	w->ops->resize(w, bw->min_tasks, 1.0);
}

void sizing_apply_tasks(const struct bench_run *run, struct bench_workload *bw)
{
	if (resizable(&bw->w))
		bw->w.ops->resize(&bw->w, tasks_wanted(run), WORKLOAD_KEEP_WORK);
}

/* ---- a view of a workload: a sample of its tasks, or empty ones ---------- */

struct view {
	struct workload_ops ops;
	const struct workload *inner;
	size_t count, stride;
	bool empty;
};

struct view_call {
	task_done_fn done;
	void *arg;
	size_t index;
};

static size_t view_task_count(const struct workload *w)
{
	return ((const struct view *)w->state)->count;
}

static void view_before_run(struct workload *w)
{
	struct view *v = w->state;
	if (!v->empty && v->inner->ops->before_run != NULL)
		v->inner->ops->before_run((struct workload *)v->inner);
}

static struct task_result view_run_task(const struct workload *w, size_t i, struct task_ctx *ctx)
{
	const struct view *v = w->state;
	struct task_result r;
	if (!v->empty)
		return v->inner->ops->run_task(v->inner, i * v->stride, ctx);
	memset(&r, 0, sizeof(r));
	return r;
}

/* The inner workload reports its own task index: the runner expects the view's. */
static void view_done(void *arg, size_t task, struct task_result result)
{
	struct view_call call = *(struct view_call *)arg;
	(void)task;
	free(arg);
	call.done(call.arg, call.index, result);
}

static int view_submit(const struct workload *w, size_t i, struct loop *loop, task_done_fn done,
                       void *arg)
{
	const struct view *v = w->state;
	struct view_call *call = malloc(sizeof(*call));
	if (call == NULL)
		return -1;
	*call = (struct view_call){.done = done, .arg = arg, .index = i};
	int rc = v->inner->ops->submit(v->inner, i * v->stride, loop, view_done, call);
	if (rc != 0)
		free(call);
	return rc;
}

static void view_open(struct view *v, struct bench_workload *into, const struct workload *inner,
                      size_t count, bool empty)
{
	size_t tasks = inner->ops->task_count(inner);
	memset(v, 0, sizeof(*v));
	memset(into, 0, sizeof(*into));
	v->ops = *inner->ops;
	v->ops.task_count = view_task_count;
	v->ops.before_run = view_before_run;
	v->ops.run_task = view_run_task;
	v->ops.submit = empty || inner->ops->submit == NULL ? NULL : view_submit;
	v->ops.facts = NULL;
	v->ops.stream_samples = NULL;
	v->inner = inner;
	v->empty = empty;
	v->count = count;
	v->stride = !empty && count > 0 ? tasks / count : 1;
	if (v->stride < 1)
		v->stride = 1;
	into->w.ops = &v->ops;
	into->w.params = inner->params;
	into->w.state = v;
}

/* ---- measuring ------------------------------------------------------------ */

/* One run of cell c's strategy, workers and plan on bw's workload: the timed
 * run's wall time, and *whole the time around it (ballast, resets); NAN when
 * it failed. */
static double run_on(struct bench_run *run, const struct cell *c, struct bench_workload *bw,
                     double *whole)
{
	struct cell tmp = *c;
	struct sample s;
	struct run_result rr;
	int unpinned[CLI_MAX_WORKERS > 4096 ? 4096 : CLI_MAX_WORKERS];
	/* A synthetic topology's PUs are not this machine's: measured here, the
	 * workers go where the kernel puts them. */
	if (!hwloc_topology_is_thissystem(run->topology) &&
	    c->plan.workers <= (int)(sizeof(unpinned) / sizeof(unpinned[0]))) {
		for (int i = 0; i < c->plan.workers; i++)
			unpinned[i] = -1;
		tmp.plan.cpus = unpinned;
	}
	tmp.bw = bw;
	tmp.trace = NULL;
	tmp.error[0] = '\0';
	memset(&rr, 0, sizeof(rr));
	double t0 = monotonic_now();
	int rc = measure_once(run, &tmp, &s, &rr);
	*whole = monotonic_now() - t0;
	if (rc != 0)
		return NAN;
	run_result_free(&rr);
	return s.wall_s;
}

/* The pool's start-up and join: the cell's strategy on empty tasks, one per
 * worker. */
static double startup_of(struct bench_run *run, const struct cell *c)
{
	struct view v;
	struct bench_workload vbw;
	double best = INFINITY, whole;
	view_open(&v, &vbw, &c->bw->w, (size_t)c->workers, true);
	for (int k = 0; k < 1; k++) {
		double t = run_on(run, c, &vbw, &whole);
		if (isfinite(t) && t < best)
			best = t;
	}
	return isfinite(best) ? best : 0.0;
}

/* Tasks in a CPU cell's sample: a 16th of them, at least 4 per CPU here. */
static size_t cpu_sample_tasks(size_t tasks, int cpus)
{
	size_t k = (tasks + SAMPLE_SHARE - 1) / SAMPLE_SHARE;
	if (k < (size_t)(4 * cpus))
		k = (size_t)(4 * cpus);
	return k < tasks ? k : tasks;
}

/* The sample's tasks run inline, one after another: its serial time. */
static double serial_sample_s(struct bench_workload *bw, size_t k)
{
	struct view v;
	struct bench_workload vbw;
	view_open(&v, &vbw, &bw->w, k, false);
	double best = INFINITY;
	for (int rep = 0; rep < 2; rep++) {
		if (bw->w.ops->before_run != NULL)
			bw->w.ops->before_run(&bw->w);
		double t0 = monotonic_now();
		for (size_t i = 0; i < k; i++)
			(void)view_run_task(&vbw.w, i, NULL);
		double t = monotonic_now() - t0;
		best = t < best ? t : best;
	}
	return best;
}

static int cpus_here(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 1;
	int n = CPU_COUNT(&set);
	return n > 0 ? n : 1;
}

/* The serial sample of bw's tasks (k of them, their time serial_k) and from
 * it the workload's whole serial run (s). */
static double serial_estimate_s(struct bench_workload *bw, size_t *k, double *serial_k)
{
	size_t tasks = bw->w.ops->task_count(&bw->w);
	*k = cpu_sample_tasks(tasks, cpus_here());
	*serial_k = serial_sample_s(bw, *k);
	return *serial_k * (double)tasks / (double)*k;
}

/* Its workers set the workload up again themselves (runner_ops.fresh_workers,
 * and every interpreted strategy), so they run the workload's own tasks. */
static bool starts_afresh(const struct runner_ops *r)
{
	return r->fresh_workers || r->interpreted;
}

/* Distinct cores a cell's threads would run on under its plan. */
static int lanes_planned(const struct cell *c)
{
	int threads = cell_threads(c);
	if (c->plan.policy == PIN_NONE || c->plan.targets <= 0)
		return threads;
	return threads < c->plan.targets ? threads : c->plan.targets;
}

/* The sample's time under cell c (the lower of `tries` runs), NAN when it failed. */
static double sample_run(struct bench_run *run, const struct cell *c, size_t k, double *whole)
{
	struct view v;
	struct bench_workload vbw;
	double best = NAN, w;
	*whole = NAN;
	view_open(&v, &vbw, &c->bw->w, k, false);
	for (int i = 0; i < 2; i++) {
		double t = run_on(run, c, &vbw, &w);
		if (isfinite(t) && !(t >= best)) {
			best = t;
			*whole = w;
		}
		/* a second try only where one is short enough to be thrown off */
		if (!isfinite(t) || t > 0.05 || c->bw->w.ops->kind == WORKLOAD_IO)
			break;
	}
	return best;
}

/* How much of the ideal speedup the strategy reached on this workload with as
 * many threads as there are CPUs here (0 under a lock, 1 for free threads):
 * from its cell with the most threads that fit, on the sample. */
static double efficiency_here(struct bench_run *run, const struct cell *of, size_t k,
                              double serial_k, int here)
{
	struct cell *ref = NULL;
	for (int i = 0; i < run->n_cells; i++) {
		struct cell *c = &run->cells[i];
		if (c->bw == of->bw && c->runner == of->runner && c->ballast_mb == 0 &&
		    cell_threads(c) <= here && (ref == NULL || cell_threads(c) > cell_threads(ref)))
			ref = c;
	}
	if (ref == NULL || cell_threads(ref) < 2 || serial_k <= 0)
		return 0;
	/* measured once, for all the cells projected from ref */
	if (ref->est_efficiency_known)
		return ref->est_efficiency;
	double whole, start = startup_of(run, ref), t = sample_run(run, ref, k, &whole);
	double e = 0;
	if (isfinite(t)) {
		double speedup = serial_k / (t - start > t * 0.05 ? t - start : t * 0.05);
		e = (speedup - 1.0) / (double)(cell_threads(ref) - 1);
		e = e < 0 ? 0 : e > 1 ? 1 : e;
	}
	ref->est_efficiency = e;
	ref->est_efficiency_known = true;
	return e;
}

/* One cell's estimated run. A CPU cell with more threads than there are CPUs
 * here, planned on more cores than there are here, is projected (the top of
 * the file); a cell that needs all its tasks (a stream beside them) or whose
 * workers set the workload up afresh (runner_ops.fresh_workers, interpreted)
 * is run whole once; every other is its sample's time, scaled to all its
 * tasks. */
static void estimate_cell(struct bench_run *run, struct cell *c, size_t k_cpu, double serial_k)
{
	struct bench_workload *bw = c->bw;
	const struct workload *w = &bw->w;
	size_t tasks = w->ops->task_count(w);
	double whole, start, t = NAN, work;
	int here = cpus_here();
	bool cpu = w->ops->kind != WORKLOAD_IO;
	bool whole_cell = w->ops->stream_samples != NULL || starts_afresh(c->runner);
	c->tasks = tasks;
	size_t k = cpu ? k_cpu : tasks / 8;
	if (!cpu && k < (size_t)c->workers)
		k = (size_t)c->workers;
	k = k > tasks ? tasks : k == 0 ? 1 : k;
	if (whole_cell && cell_threads(c) > here && lanes_planned(c) > here) {
		/* measured here it would be the cell with the most threads that fit */
		c->est_run_s = c->est_once_s = c->est_start_s = 0;
		for (int i = 0; i < run->n_cells; i++) {
			const struct cell *o = &run->cells[i];
			if (o->bw == bw && o->runner == c->runner && o->ballast_mb == 0 &&
			    cell_threads(o) <= here && o->est_run_s > c->est_run_s) {
				c->est_run_s = o->est_run_s;
				c->est_once_s = o->est_once_s;
				c->est_start_s = o->est_start_s;
			}
		}
		return;
	}
	if (whole_cell) {
		/* the stream's phases need every task, and workers that set the
		 * workload up afresh run its own tasks: the cell as it is */
		t = run_on(run, c, bw, &whole);
		c->est_run_s = isfinite(t) ? whole : 0;
		/* its start-up is inside the run, told from the work by nothing
		 * here: all of it follows the work */
		c->est_start_s = 0;
		/* what the runner keeps between runs (runner_ops.release: an
		 * interpreter, MPI's ranks) the calibration started afresh, and
		 * the cell's first run starts once, not every run */
		if (isfinite(t) && c->runner->release != NULL) {
			c->est_once_s = whole - t;
			c->est_run_s = t;
		}
		return;
	}
	start = startup_of(run, c);
	if (cpu && cell_threads(c) > here && lanes_planned(c) > here) {
		double e = efficiency_here(run, c, k, serial_k, here);
		work = serial_k / (1.0 + e * (double)(lanes_planned(c) - 1));
		whole = t = 0;
	} else {
		t = sample_run(run, c, k, &whole);
		if (!isfinite(t)) {
			c->est_run_s = c->est_start_s = 0;
			return;
		}
		work = t - start > t * 0.05 ? t - start : t * 0.05;
	}
	c->est_start_s = start + (whole - t);
	c->est_run_s = c->est_start_s + work * (double)tasks / (double)k;
	if (getenv("CONCBENCH_SIZING_DEBUG") != NULL)
		fprintf(stderr,
		        "sizing: %s %s n=%d: start %.4f, sample %zu/%zu %.4f s, serial %.4f s, "
		        "run %.4f s\n",
		        w->ops->name, c->runner->name, c->workers, start, k, tasks, t, serial_k,
		        c->est_run_s);
}

/* ---- growing the work where start-up demands it -------------------------- */

static struct cell *cell_at(struct bench_run *run, const struct bench_workload *bw,
                            const struct runner_ops *r, int workers)
{
	for (int i = 0; i < run->n_cells; i++) {
		struct cell *c = &run->cells[i];
		if (c->bw == bw && c->runner == r && c->workers == workers && c->ballast_mb == 0)
			return c;
	}
	return NULL;
}

/* The serial work a run at the largest worker count needs to last 20 pool
 * start-ups, at ideal speedup, over every strategy with a pool. */
static double work_aimed_at(struct bench_run *run, struct bench_workload *bw)
{
	int n = sizing_max_workers(run);
	double aim = 0;
	for (int si = 0; si < run->cfg.n_strategies; si++) {
		const struct runner_ops *r = run->cfg.strategies[si];
		struct cell *c =
		    r->single_worker || r->single_thread ? NULL : cell_at(run, bw, r, n);
		/* workers started afresh (spawned ranks, interpreters) on more CPUs
		 * than there are here are not what the planned machine would start:
		 * 64 MPI ranks spawned on 2 cores take seconds and slow every
		 * sample measured beside them */
		if (c == NULL || (cell_threads(c) > cpus_here() && starts_afresh(r)))
			continue;
		double start = startup_of(run, c);
		int lanes = n < c->plan.targets ? n : c->plan.targets;
		double need = STARTUP_MULTIPLE * start * (double)lanes;
		if (need > aim) {
			aim = need;
			bw->aim_strategy = r;
			bw->aim_workers = n;
			bw->aim_startup_s = start;
		}
	}
	return aim;
}

static int setup_for_calibration(struct bench_run *run, struct bench_workload *bw, char *err,
                                 size_t errlen)
{
	double t0 = monotonic_now();
	if (start_fixture_server(run, bw) != 0 ||
	    bw->w.ops->setup(&bw->w, bw->error, sizeof(bw->error)) != 0) {
		snprintf(err, errlen, "calibration: %s: set-up failed: %s", bw->w.ops->name,
		         bw->error);
		stop_fixture_server(bw);
		return -1;
	}
	bw->setup_s = monotonic_now() - t0;
	return 0;
}

static void teardown_after_calibration(struct bench_workload *bw)
{
	double t0 = monotonic_now();
	runners_release(&bw->w);
	bw->w.ops->teardown(&bw->w);
	stop_fixture_server(bw);
	bw->has_server = false;
	bw->first_cell = NULL;
	bw->teardown_s = monotonic_now() - t0;
}

static int calibrate_workload(struct bench_run *run, struct bench_workload *bw, char *err,
                              size_t errlen)
{
	/* A set-up that fails fails its cells when the run gets there (the run
	 * goes on); here its cells are left unestimated. */
	if (setup_for_calibration(run, bw, err, errlen) != 0) {
		fprintf(stderr, "concbench run: %s: not estimated: %s\n", bw->w.ops->name, err);
		err[0] = '\0';
		return 0;
	}
	const struct workload *w = &bw->w;
	size_t k = cpu_sample_tasks(w->ops->task_count(w), cpus_here());
	double serial_k = 0, serial_s = 0;
	if (w->ops->kind != WORKLOAD_IO)
		serial_s = serial_estimate_s(bw, &k, &serial_k);
	if (bw->autosized) {
		bw->serial_s = serial_s;
		bw->aim_s = work_aimed_at(run, bw);
		double reach = bw->aim_s < SERIAL_CAP_S ? bw->aim_s : SERIAL_CAP_S;
		if (bw->serial_s > 0 && reach > 1.1 * bw->serial_s) {
			bw->grow = reach / bw->serial_s;
			teardown_after_calibration(bw);
			bw->w.ops->resize(&bw->w, bw->min_tasks, bw->grow);
			if (setup_for_calibration(run, bw, err, errlen) != 0) {
				fprintf(stderr, "concbench run: %s: not estimated: %s\n",
				        bw->w.ops->name, err);
				err[0] = '\0';
				return 0;
			}
			bw->serial_s = serial_estimate_s(bw, &k, &serial_k);
		}
	}
	for (int i = 0; i < run->n_cells && !stop_signal_received(); i++)
		if (run->cells[i].bw == bw)
			estimate_cell(run, &run->cells[i], k, serial_k);
	teardown_after_calibration(bw);
	return 0;
}

/* ---- the budget ------------------------------------------------------------- */

static double plan_total(const struct bench_run *run, int reps)
{
	double total = run->calibration_s;
	for (int i = 0; i < run->n_workloads; i++)
		if (!run->workloads[i].dropped)
			total += run->workloads[i].setup_s + run->workloads[i].teardown_s;
	for (int i = 0; i < run->n_cells; i++)
		total +=
		    run->cells[i].est_once_s + run->cells[i].est_run_s * (run->cfg.warmup + reps);
	return total;
}

double sizing_remaining_s(const struct bench_run *run)
{
	if (!run->calibrated)
		return NAN;
	double left = 0;
	for (int i = 0; i < run->n_cells; i++) {
		const struct cell *c = &run->cells[i];
		int runs = run->cfg.warmup + run->cfg.reps;
		int done =
		    c->error[0] ? runs : c->n_samples + (c->measured_any ? run->cfg.warmup : 0);
		if (done < runs)
			left += c->est_run_s * (runs - done) + (done == 0 ? c->est_once_s : 0);
	}
	return left;
}

/* A sparser sweep: the first two counts and the last, and from the last down
 * every (level + 1)-th. */
static int thin_sweep(const int *in, int n, int level, int *out)
{
	int m = 0;
	for (int i = 0; i < n; i++) {
		/* level 4: 2 workers and the core count (serial keeps its one) */
		bool keep = level >= 4 ? i == 1 || i == n - 1
		                       : i < 2 || i == n - 1 || (n - 1 - i) % (level + 1) == 0;
		if (keep)
			out[m++] = in[i];
	}
	return m;
}

static void free_cells(struct bench_run *run)
{
	for (int i = 0; i < run->n_cells; i++) {
		placement_plan_free(&run->cells[i].plan);
		free(run->cells[i].samples);
		cell_memo_free(&run->cells[i]);
	}
	free(run->cells);
	run->cells = NULL;
	run->n_cells = 0;
}

/* The cells again over a sparser sweep, each keeping its estimate. */
static int rebuild_cells(struct bench_run *run, const int *sweep, int n, char *err, size_t errlen)
{
	struct cell *old = run->cells;
	int n_old = run->n_cells;
	run->cells = NULL;
	run->n_cells = 0;
	memcpy(run->sweep, sweep, sizeof(int) * (size_t)n);
	run->n_sweep = n;
	int rc = build_cells(run, err, errlen);
	for (int i = 0; rc == 0 && i < run->n_cells; i++)
		for (int j = 0; j < n_old; j++)
			if (old[j].bw == run->cells[i].bw &&
			    old[j].runner == run->cells[i].runner &&
			    old[j].workers == run->cells[i].workers &&
			    old[j].ballast_mb == run->cells[i].ballast_mb) {
				run->cells[i].est_run_s = old[j].est_run_s;
				run->cells[i].est_once_s = old[j].est_once_s;
				run->cells[i].est_start_s = old[j].est_start_s;
				run->cells[i].tasks = old[j].tasks;
			}
	struct bench_run gone = {.cells = old, .n_cells = n_old};
	free_cells(&gone);
	return rc;
}

static void note_choice(struct bench_run *run, const char *text)
{
	size_t used = strlen(run->budget_note);
	snprintf(run->budget_note + used, sizeof(run->budget_note) - used, "%s%s", used ? "; " : "",
	         text);
}

/* Sparser sweeps, levels from..to (3: the first two counts and the last; 4:
 * the second and the last),
 * while the plan is over the budget and -n gave no sweep. */
static int thin_until_within(struct bench_run *run, double budget, int from, int to, char *err,
                             size_t errlen)
{
	char text[200];
	for (int level = from; level <= to && run->cfg.n_workers == 0 &&
	                       plan_total(run, run->cfg.reps) > budget && run->n_sweep > 2;
	     level++) {
		int sweep[CLI_MAX_LIST], full[CLI_MAX_LIST];
		int n_full =
		    default_worker_sweep(topology_cores(run->topology), full, CLI_MAX_LIST);
		int n = thin_sweep(full, n_full, level == 3 ? n_full : level, sweep);
		if (n >= run->n_sweep)
			continue;
		if (rebuild_cells(run, sweep, n, err, errlen) != 0)
			return -1;
		char *prior = strstr(run->budget_note, "; workers ");
		if (prior != NULL)
			*prior = '\0';
		else if (strncmp(run->budget_note, "workers ", 8) == 0)
			run->budget_note[0] = '\0';
		int k = snprintf(text, sizeof(text), "workers");
		for (int i = 0; i < n && k > 0 && (size_t)k < sizeof(text); i++)
			k += snprintf(text + k, sizeof(text) - (size_t)k, "%s%d", i ? "," : " ",
			              sweep[i]);
		note_choice(run, text);
	}
	return 0;
}

/* The task-size sweep less its second and second-to-last sizes (of 100 ms
 * to 1 us tasks: 10 ms and 10 us go, 100 ms, 1 ms, 100 us and the smallest,
 * where the crossover is looked for, stay): their cells dropped with their
 * workloads, the plan rebuilt. 0 when it was thinned, 1 when there was
 * nothing to thin, -1 on error. */
static int thin_task_sweep(struct bench_run *run, char *err, size_t errlen)
{
	int sizes = 0, kept = 0, k = 0;
	for (int i = 0; i < run->n_workloads; i++)
		sizes += task_sweep_variant(run->workloads[i].variant);
	if (sizes < 4)
		return 1;
	for (int i = 0; i < run->n_workloads; i++) {
		struct bench_workload *bw = &run->workloads[i];
		if (!task_sweep_variant(bw->variant))
			continue;
		bw->dropped = k == 1 || k == sizes - 2;
		kept += !bw->dropped;
		k++;
	}
	int sweep[CLI_MAX_LIST];
	memcpy(sweep, run->sweep, sizeof(int) * (size_t)run->n_sweep);
	if (rebuild_cells(run, sweep, run->n_sweep, err, errlen) != 0)
		return -1;
	char text[64];
	snprintf(text, sizeof(text), "the task-size sweep at %d of its %d sizes", kept, sizes);
	note_choice(run, text);
	return 0;
}

/* ---- less work per run, the budget's last resort ----------------------- */

/* A sized CPU workload whose serial run was measured. */
static bool shrinkable(const struct bench_workload *bw)
{
	return bw->autosized && !bw->dropped && bw->serial_s > 0;
}

/* The share of its work bw keeps when serial runs are held to cap seconds,
 * never below the floor. The pools' start-ups (sizing.aim) are not a floor:
 * spawned workers and MPI ranks ask for more than SERIAL_CAP_S already, and
 * a run that shows their start-up is what that machine and budget give. */
static double share_kept(const struct bench_workload *bw, double cap)
{
	double to = cap > SERIAL_FLOOR_S ? cap : SERIAL_FLOOR_S;
	return to < bw->serial_s ? to / bw->serial_s : 1.0;
}

/* The plan's seconds that follow bw's work: its cells' runs less what
 * surrounds them. */
static double work_planned_s(const struct bench_run *run, const struct bench_workload *bw)
{
	double s = 0;
	for (int i = 0; i < run->n_cells; i++) {
		const struct cell *c = &run->cells[i];
		if (c->bw == bw && c->est_run_s > c->est_start_s)
			s += (c->est_run_s - c->est_start_s) * (run->cfg.warmup + run->cfg.reps);
	}
	return s;
}

static double saved_under_cap(const struct bench_run *run, double cap)
{
	double saved = 0;
	for (int i = 0; i < run->n_workloads; i++)
		if (shrinkable(&run->workloads[i]))
			saved += work_planned_s(run, &run->workloads[i]) *
			         (1.0 - share_kept(&run->workloads[i], cap));
	return saved;
}

/* The serial sample of bw as its parameters are now, set up afresh: its
 * serial estimate (s), NAN when the set-up failed. */
static double serial_again(struct bench_run *run, struct bench_workload *bw)
{
	char err[256];
	if (setup_for_calibration(run, bw, err, sizeof(err)) != 0)
		return NAN;
	size_t k;
	double serial_k, s = serial_estimate_s(bw, &k, &serial_k);
	teardown_after_calibration(bw);
	return s;
}

/* bw resized to about `share` of its work, its cells' estimates scaled by
 * its serial runs measured again before and after: the sizes round (triad's passes are whole)
 * and not all work follows them (triad's first touch of its arrays is the
 * same at any number of passes), so the share asked is not the share got.
 * The share got; 1 when nothing moved (a size -p gave). */
static double shrink_workload(struct bench_run *run, struct bench_workload *bw, double share)
{
	struct param_values before = bw->w.params;
	bw->w.ops->resize(&bw->w, bw->min_tasks, share);
	if (memcmp(before.value, bw->w.params.value, sizeof(before.value)) == 0)
		return 1.0;
	/* the old sizes and the new measured back to back, not the new against
	 * the calibration's: a shared machine's speed drifts in between (once
	 * mandelbrot's came out 0.23x for 0.41x of its pixels) */
	struct param_values after = bw->w.params;
	bw->w.params = before;
	double was = serial_again(run, bw);
	bw->w.params = after;
	double now = serial_again(run, bw), got = now / was;
	/* a set-up that failed fails the cells in the run: the share asked; a
	 * measure above the old one (noise) plans no less work than before */
	if (!isfinite(got) || got <= 0)
		got = share;
	else if (got > 1.0)
		got = 1.0;
	bw->resized_by_budget = true;
	bw->grow *= got;
	bw->kept *= got;
	bw->serial_s *= got;
	for (int i = 0; i < run->n_cells; i++) {
		struct cell *c = &run->cells[i];
		if (c->bw == bw)
			c->est_run_s = c->est_start_s + (c->est_run_s - c->est_start_s) * got;
	}
	return got;
}

/* Over the budget with nothing else to give, the sized CPU workloads' serial
 * runs held to the highest cap that fits: the longest ones lose work first,
 * none below SERIAL_FLOOR_S. How many workloads it shrank. */
static int shrink_to_budget(struct bench_run *run, double budget)
{
	double excess = plan_total(run, run->cfg.reps) - budget, top = 0;
	for (int i = 0; i < run->n_workloads; i++)
		if (shrinkable(&run->workloads[i]) && run->workloads[i].serial_s > top)
			top = run->workloads[i].serial_s;
	if (excess <= 0 || saved_under_cap(run, 0) <= 0)
		return 0;
	/* what a cap saves falls as the cap rises: the highest that saves enough */
	double lo = 0, hi = top;
	for (int i = 0; i < 50; i++) {
		double mid = (lo + hi) / 2;
		if (saved_under_cap(run, mid) >= excess)
			lo = mid;
		else
			hi = mid;
	}
	int shrunk = 0;
	for (int i = 0; i < run->n_workloads; i++) {
		struct bench_workload *bw = &run->workloads[i];
		double share = shrinkable(bw) ? share_kept(bw, lo) : 1.0;
		/* a size -p gave does not move */
		shrunk += share < 1.0 && shrink_workload(run, bw, share) < 1.0;
	}
	return shrunk;
}

/* "less work per run: triad 0.48x ...", for what the budget shrank. */
static void note_shrunk(struct bench_run *run)
{
	char text[200];
	int k = snprintf(text, sizeof(text), "less work per run:"), shrunk = 0;
	for (int i = 0; i < run->n_workloads; i++) {
		const struct bench_workload *bw = &run->workloads[i];
		if (!bw->resized_by_budget)
			continue;
		shrunk++;
		if (k > 0 && (size_t)k < sizeof(text))
			k += snprintf(text + k, sizeof(text) - (size_t)k, " %s%s%s %.2fx",
			              bw->w.ops->name, bw->variant[0] ? ":" : "", bw->variant,
			              bw->kept);
	}
	if (shrunk > 0)
		note_choice(run, text);
}

/* The budget never takes repetitions: a cell under five is no evidence for
 * the claims (readers/claims.c), so a run over its budget loses worker counts
 * first, then its warm-up runs, then two of the task-size sweep's sizes,
 * then all but 2 and the core count, then work from its longest CPU runs. */
static int fit_budget(struct bench_run *run, char *err, size_t errlen)
{
	double budget = run->cfg.budget_s;
	if (budget <= 0 || plan_total(run, run->cfg.reps) <= budget)
		return 0;
	if (thin_until_within(run, budget, 1, 3, err, errlen) != 0)
		return -1;
	if (!run->cfg.warmup_given && run->cfg.warmup > 0 &&
	    plan_total(run, run->cfg.reps) > budget) {
		run->cfg.warmup = 0;
		note_choice(run, "no warm-up run");
	}
	if (plan_total(run, run->cfg.reps) > budget && thin_task_sweep(run, err, errlen) < 0)
		return -1;
	if (thin_until_within(run, budget, 4, 4, err, errlen) != 0)
		return -1;
	/* again where the sizes' rounding kept more work than the cap asked */
	for (int pass = 0; pass < 3 && plan_total(run, run->cfg.reps) > budget; pass++)
		if (shrink_to_budget(run, budget) == 0)
			break;
	note_shrunk(run);
	if (plan_total(run, run->cfg.reps) > budget)
		note_choice(run, "still over the budget");
	return 0;
}

int sizing_plan(struct bench_run *run, char *err, size_t errlen)
{
	double t0 = monotonic_now();
	run->default_sweep_points = run->n_sweep;
	run->planned_reps = run->cfg.reps;
	for (int i = 0; i < run->n_workloads && !stop_signal_received(); i++) {
		double w0 = monotonic_now();
		if (calibrate_workload(run, &run->workloads[i], err, errlen) != 0)
			return -1;
		if (getenv("CONCBENCH_SIZING_DEBUG") != NULL)
			fprintf(stderr, "sizing: calibrated %s%s%s in %.1f s\n",
			        run->workloads[i].w.ops->name,
			        run->workloads[i].variant[0] ? ":" : "", run->workloads[i].variant,
			        monotonic_now() - w0);
	}
	/* all of it, the calibration's own set-ups and tear-downs too: the run
	 * repeats them (setup_s, teardown_s), which the plan adds */
	run->calibration_s = monotonic_now() - t0;
	run->calibrated = true;
	if (fit_budget(run, err, errlen) != 0)
		return -1;
	run->estimate_s = plan_total(run, run->cfg.reps);
	if (run->budget_note[0] != '\0' &&
	    run->n_warnings < (int)(sizeof(run->warnings) / sizeof(run->warnings[0])))
		snprintf(run->warnings[run->n_warnings++], sizeof(run->warnings[0]),
		         "to fit the budget of %.0f s: %.320s (estimated %.0f s)",
		         run->cfg.budget_s, run->budget_note, run->estimate_s);
	return 0;
}

/* ---- output ------------------------------------------------------------------ */

static void fmt_time(double s, char *buf, size_t len)
{
	long t = (long)(s + 0.5);
	if (s < 10)
		snprintf(buf, len, "%.2f s", s);
	else
		snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

void sizing_print_cells(const struct bench_run *run, FILE *out)
{
	int runs = run->cfg.warmup + run->cfg.reps;
	double cells = 0, setup = 0;
	for (int i = 0; i < run->n_cells; i++) {
		const struct cell *c = &run->cells[i];
		char each[32], all[32];
		fmt_time(c->est_run_s, each, sizeof(each));
		fmt_time(c->est_once_s + c->est_run_s * runs, all, sizeof(all));
		fprintf(out, "%s%s%s %s %d %d  %s (%d runs of %s; %zu tasks)\n", c->bw->w.ops->name,
		        c->bw->variant[0] ? ":" : "", c->bw->variant, c->runner->name, c->workers,
		        c->ballast_mb, all, runs, each, c->tasks);
		cells += c->est_once_s + c->est_run_s * runs;
	}
	for (int i = 0; i < run->n_workloads; i++)
		if (!run->workloads[i].dropped)
			setup += run->workloads[i].setup_s + run->workloads[i].teardown_s;
	char total[32];
	fmt_time(run->estimate_s, total, sizeof(total));
	fprintf(out,
	        "estimated: %s for %d cells (%.0f s measuring, %.0f s of set-ups and tear-downs, "
	        "%.0f s of calibration), %d repetitions and %d warm-up per cell\n",
	        total, run->n_cells, cells, setup, run->calibration_s, run->cfg.reps,
	        run->cfg.warmup);
	if (run->cfg.budget_s > 0)
		fprintf(out, "budget: %.0f s%s%s\n", run->cfg.budget_s,
		        run->budget_note[0] ? ": " : ", met as planned",
		        run->budget_note[0] ? run->budget_note : "");
}

json_t *sizing_workload_json(const struct bench_workload *bw)
{
	if (!bw->autosized)
		return json_null();
	json_t *o =
	    json_pack("{s:I, s:f}", "min_tasks", (json_int_t)bw->min_tasks, "grow", bw->grow);
	if (bw->aim_strategy != NULL) {
		json_object_set_new(o, "aim",
		                    json_pack("{s:s, s:i, s:f, s:f, s:f}", "strategy",
		                              bw->aim_strategy->name, "workers", bw->aim_workers,
		                              "startup_s", bw->aim_startup_s, "serial_work_s",
		                              bw->aim_s, "multiple", STARTUP_MULTIPLE));
		json_object_set_new(o, "serial_estimate_s", json_real(bw->serial_s));
		json_object_set_new(o, "serial_cap_s", json_real(SERIAL_CAP_S));
	}
	if (bw->resized_by_budget) {
		json_object_set_new(o, "kept_by_budget", json_real(bw->kept));
		json_object_set_new(o, "serial_floor_s", json_real(SERIAL_FLOOR_S));
	}
	json_object_set_new(o, "rule",
	                    json_string("at least 8 tasks per worker at the run's largest worker "
	                                "count; work grown until a run there lasts 20 pool "
	                                "start-ups at ideal speedup, up to the serial cap; "
	                                "shrunk where the budget had nothing else to give, "
	                                "the longest serial runs first, down to the floor"));
	return o;
}

/* took_s: the whole command up to its last save, beside the estimate, so
 * that a file says how far the plan was off (null until the run ends). */
json_t *sizing_to_json(const struct bench_run *run)
{
	json_t *took = run->finished ? json_real(monotonic_now() - run->began_mono) : json_null();
	if (!run->calibrated)
		return json_pack("{s:b, s:f, s:o}", "calibrated", 0, "budget_s", run->cfg.budget_s,
		                 "took_s", took);
	return json_pack("{s:b, s:f, s:f, s:f, s:i, s:i, s:s, s:o}", "calibrated", 1, "budget_s",
	                 run->cfg.budget_s, "estimate_s", run->estimate_s, "calibration_s",
	                 run->calibration_s, "reps", run->cfg.reps, "planned_reps",
	                 run->planned_reps, "choices",
	                 run->budget_note[0] ? run->budget_note : "none", "took_s", took);
}
