/* Tests for the simulated interpreter lock (runners/gil.c) and the gil
 * strategy (runners/gil_pool.c): the behaviours docs/gil.md lists at its end,
 * each with its bounds (from the design the lock was built to).
 *
 * Timing tests run on a shared, noisy machine: each measures, and measures
 * again once if the first try misses, before failing; one whose CPUs went to
 * other work meanwhile (another process, the host's steal: other_work) checks
 * what holds on any machine and skips judging its times, saying so. The latency tests need
 * two allowed CPUs and skip, saying so, on one. Behaviour 11 (release_gil) waits
 * for the workload parameter and is not tested here yet. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/cpu_times.h"
#include "runners/gil.h"
#include "runners/runner.h"
#include "workloads/workload.h"

extern const struct runner_ops gil_runner;
extern const struct runner_ops serial_runner;
extern const struct runner_ops threads_runner;

#define INTERVAL_US 5000u
#define INTERVAL_S  (INTERVAL_US * 1e-6)

/* ---------- helpers ---------- */

static int allowed_cpus(void)
{
	cpu_set_t set;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) < online)
		return CPU_COUNT(&set);
	return (int)online;
}

#define NEED_TWO_CPUS()                                                                            \
	do {                                                                                       \
		if (allowed_cpus() < 2)                                                            \
			cr_skip_test("needs 2 allowed CPUs (this machine allows %d)",              \
			             allowed_cpus());                                              \
	} while (0)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Under ThreadSanitizer every access is instrumented and threads run far
 * slower and less in parallel: there the tests run their threads for the race
 * detector, and skip judging times. */
#if defined(__SANITIZE_THREAD__)
#define TIMING_JUDGED false
#else
#define TIMING_JUDGED true
#endif

static void sleep_us(unsigned us)
{
	struct timespec ts = {.tv_sec = us / 1000000u, .tv_nsec = (long)(us % 1000000u) * 1000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* What the machine gave to anything but this process while a test measured:
 * its CPUs' busy and stolen time (/proc/stat) less the process's own, in CPUs.
 * Timing bounds hold on free CPUs; a test that finds them taken (another
 * process, or the host stealing the VM's time) says so and skips judging its
 * times, after its retry. */
struct other_work {
	double busy0, cpu0, t0;
};

static double process_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* All CPUs' time not idle, stolen included, in seconds; NAN if unreadable. */
static double machine_busy_s(void)
{
	struct cpu_times t;
	cpu_times_read(&t);
	if (t.total == 0)
		return NAN;
	return (double)(t.total - t.idle) / (double)sysconf(_SC_CLK_TCK);
}

static struct other_work other_work_start(void)
{
	return (struct other_work){machine_busy_s(), process_cpu_s(), now_s()};
}

/* CPUs' worth of other work since start; NAN when /proc/stat is unreadable. */
static double other_work_cpus(const struct other_work *w)
{
	double cpu = process_cpu_s() - w->cpu0, wall = now_s() - w->t0;
	return wall > 0 ? (machine_busy_s() - w->busy0 - cpu) / wall : NAN;
}

/* More than this much of a CPU elsewhere and times are not judged; unknown
 * counts as free, so the bounds are judged. */
#define OTHER_WORK_MAX 0.15
#define CPUS_TAKEN(x)  ((x) > OTHER_WORK_MAX)

/* A few hundred nanoseconds of work between check points, like one bytecode
 * loop iteration. */
static void burn(void)
{
	/* per thread: some tests burn beside threads that hold no lock */
	static _Thread_local volatile unsigned sink;
	unsigned x = sink;
	for (int i = 0; i < 64; i++)
		x = x * 1103515245u + 12345u;
	sink = x;
}

static void spawn(pthread_t *tid, void *(*fn)(void *), void *arg)
{
	cr_assert_eq(pthread_create(tid, NULL, fn, arg), 0, "pthread_create");
}

/* One lock and n thread states, used directly by the test's own threads. */
struct rig {
	struct gil lock;
	struct gil_thread *t;
	int n;
};

static void rig_open(struct rig *r, int n, unsigned interval_us, bool force)
{
	cr_assert_eq(gil_init(&r->lock, interval_us, force), 0);
	r->n = n;
	r->t = aligned_alloc(_Alignof(struct gil_thread), (size_t)n * sizeof(struct gil_thread));
	cr_assert_not_null(r->t);
	for (int i = 0; i < n; i++)
		gil_thread_init(&r->t[i], &r->lock, i);
}

static void rig_close(struct rig *r)
{
	gil_destroy(&r->lock);
	free(r->t);
}

static struct gil_stats rig_stats(const struct rig *r, double wall)
{
	struct gil_stats s;
	gil_collect(&r->lock, r->t, (size_t)r->n, wall, &s);
	return s;
}

/* A CPU-bound thread under the lock: ticks until stop is set, or for a fixed
 * number of iterations when iterations is not 0. */
struct cpu_arg {
	struct gil_thread *t; /* NULL: the same work with no lock at all */
	atomic_bool *stop;
	uint64_t iterations;
};

static bool cpu_should_stop(const struct cpu_arg *a, uint64_t i)
{
	if (a->iterations != 0)
		return i >= a->iterations;
	return atomic_load_explicit(a->stop, memory_order_relaxed);
}

static void *cpu_thread(void *p)
{
	struct cpu_arg *a = p;
	if (a->t != NULL)
		gil_acquire(a->t, GIL_START);
	for (uint64_t i = 0; !cpu_should_stop(a, i); i++) {
		if (a->t != NULL)
			gil_tick(a->t);
		burn();
	}
	if (a->t != NULL)
		gil_release_final(a->t);
	return NULL;
}

/* An I/O stream under the lock: `calls` short sleeps through release/acquire,
 * with a little work holding the lock after each, as Python would parse the
 * reply. */
struct io_arg {
	struct gil_thread *t;
	int calls;
	unsigned sleep_us;
};

static void *io_thread(void *p)
{
	struct io_arg *a = p;
	gil_acquire(a->t, GIL_START);
	for (int c = 0; c < a->calls; c++) {
		gil_release(a->t);
		sleep_us(a->sleep_us);
		gil_acquire(a->t, GIL_AFTER_IO);
		for (int k = 0; k < 20; k++) {
			gil_tick(a->t);
			burn();
		}
	}
	gil_release_final(a->t);
	return NULL;
}

/* Run `cpus` CPU threads for `seconds` on states t[0..cpus) of r; the wall time. */
static double run_cpu_threads_for(struct rig *r, int cpus, double seconds)
{
	pthread_t tid[8];
	struct cpu_arg arg[8];
	atomic_bool stop = false;
	double t0 = now_s();
	for (int i = 0; i < cpus; i++) {
		arg[i] = (struct cpu_arg){.t = &r->t[i], .stop = &stop};
		spawn(&tid[i], cpu_thread, &arg[i]);
	}
	sleep_us((unsigned)(seconds * 1e6));
	atomic_store(&stop, true);
	for (int i = 0; i < cpus; i++)
		pthread_join(tid[i], NULL);
	return now_s() - t0;
}

/* Run `threads` CPU threads that share `iterations` of work; the wall time. */
static double run_fixed_work(unsigned interval_us, int threads, uint64_t iterations,
                             uint64_t *forced_switches)
{
	struct rig r;
	pthread_t tid[8];
	struct cpu_arg arg[8];
	rig_open(&r, threads, interval_us, true);
	double t0 = now_s();
	for (int i = 0; i < threads; i++) {
		arg[i] =
		    (struct cpu_arg){.t = &r.t[i], .iterations = iterations / (uint64_t)threads};
		spawn(&tid[i], cpu_thread, &arg[i]);
	}
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	double wall = now_s() - t0;
	if (forced_switches != NULL)
		*forced_switches = rig_stats(&r, wall).forced_switches;
	rig_close(&r);
	return wall;
}

/* ---------- 1. mutual exclusion ---------- */

#define MX_THREADS  8
#define MX_OPS      1000000
#define MX_IO_EVERY 1000

struct mx_arg {
	struct gil_thread *t;
	pthread_barrier_t *go;
	atomic_int *inside;
	long *shared; /* plain: only the lock protects it */
	int max_seen;
};

static void mx_enter(struct mx_arg *a)
{
	int v = atomic_fetch_add(a->inside, 1) + 1;
	if (v > a->max_seen)
		a->max_seen = v;
}

static void mx_leave(struct mx_arg *a)
{
	atomic_fetch_sub(a->inside, 1);
}

/* Every operation leaves the critical section around its check point or its
 * blocking call and re-enters it after, so a second holder shows as 2. */
static void *mx_thread(void *p)
{
	struct mx_arg *a = p;
	pthread_barrier_wait(a->go);
	gil_acquire(a->t, GIL_START);
	mx_enter(a);
	for (int op = 1; op <= MX_OPS / MX_THREADS; op++) {
		burn();
		(*a->shared)++;
		mx_leave(a);
		if (op % MX_IO_EVERY == 0) {
			gil_release(a->t);
			gil_acquire(a->t, GIL_AFTER_IO);
		} else {
			gil_tick(a->t);
		}
		mx_enter(a);
	}
	mx_leave(a);
	gil_release_final(a->t);
	return NULL;
}

Test(gil, mutual_exclusion, .timeout = 60)
{
	struct rig r;
	pthread_t tid[MX_THREADS];
	struct mx_arg arg[MX_THREADS];
	atomic_int inside = 0;
	long shared = 0;
	pthread_barrier_t go;

	/* A short interval, so that forced drops happen by the thousand. */
	rig_open(&r, MX_THREADS, 20, true);
	pthread_barrier_init(&go, NULL, MX_THREADS);
	double t0 = now_s();
	for (int i = 0; i < MX_THREADS; i++) {
		arg[i] =
		    (struct mx_arg){.t = &r.t[i], .go = &go, .inside = &inside, .shared = &shared};
		spawn(&tid[i], mx_thread, &arg[i]);
	}
	for (int i = 0; i < MX_THREADS; i++)
		pthread_join(tid[i], NULL);
	struct gil_stats s = rig_stats(&r, now_s() - t0);
	rig_close(&r);
	pthread_barrier_destroy(&go);

	for (int i = 0; i < MX_THREADS; i++)
		cr_assert_eq(arg[i].max_seen, 1, "thread %d saw %d holders at once", i,
		             arg[i].max_seen);
	cr_assert_eq(shared, (long)(MX_OPS / MX_THREADS) * MX_THREADS, "lost updates: %ld", shared);
	cr_assert_gt(s.forced_switches, 0, "the tick path was never exercised");
	cr_assert_gt(s.acquisitions_by[GIL_AFTER_IO], 0);
	cr_log_info("mutual exclusion: %llu forced switches, %llu hand-offs in %.2f s",
	            (unsigned long long)s.forced_switches, (unsigned long long)s.switches,
	            s.wall_s);
}

/* ---------- 2. one thread ---------- */

static struct gil_stats one_thread_run(void)
{
	struct rig r;
	rig_open(&r, 1, INTERVAL_US, true);
	double t0 = now_s();
	gil_acquire(&r.t[0], GIL_START);
	for (int i = 1; now_s() - t0 < 0.1; i++) {
		gil_tick(&r.t[0]);
		burn();
		if (i % 2000 == 0) {
			gil_release(&r.t[0]);
			sleep_us(50);
			gil_acquire(&r.t[0], GIL_AFTER_IO);
		}
	}
	gil_release_final(&r.t[0]);
	struct gil_stats s = rig_stats(&r, now_s() - t0);
	rig_close(&r);
	return s;
}

Test(gil, one_thread_never_waits, .timeout = 10)
{
	struct gil_stats s = one_thread_run();
	if (s.wait.max_s >= 0.2 * INTERVAL_S)
		s = one_thread_run();
	cr_assert_eq(s.drop_requests, 0);
	cr_assert_eq(s.forced_switches, 0);
	cr_assert_eq(s.handshakes, 0);
	cr_assert_eq(s.switches, 1, "the only hand-off is the first acquisition");
	cr_assert_gt(s.acquisitions_by[GIL_AFTER_IO], 10);
	cr_assert_lt(s.wait.max_s, 0.2 * INTERVAL_S, "max wait %.6f s", s.wait.max_s);
	cr_log_info("one thread: %llu acquisitions, mean wait %.2f us, max %.2f us",
	            (unsigned long long)s.acquisitions, s.wait.mean_s * 1e6, s.wait.max_s * 1e6);
}

/* ---------- 3. CPU-bound speedup (gil_runner on primes) ---------- */

struct primes_rig {
	struct workload w;
	uint64_t want;
};

static void primes_rig_open(struct primes_rig *p)
{
	char err[256] = "";
	memset(p, 0, sizeof(*p));
	p->w.ops = workload_find("primes");
	cr_assert_not_null(p->w.ops);
	params_init(&p->w.params, p->w.ops->params, 0);
	cr_assert_eq(params_set(&p->w.params, "limit", "2000000", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(params_set(&p->w.params, "tasks", "32", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p->w.ops->setup(&p->w, err, sizeof(err)), 0, "%s", err);
	cr_assert(p->w.ops->expected_checksum(&p->w, &p->want));
}

/* The counters a run left, kept after its result is freed: only stat and
 * n_stats are filled in, which is all run_result_stat_get reads. */
struct kept_stats {
	struct run_result counters;
};

static double kept(const struct kept_stats *k, const char *name)
{
	double v = run_result_stat_get(&k->counters, name);
	cr_assert_not(isnan(v), "the run recorded no \"%s\"", name);
	return v;
}

/* One run of runner on w with `workers`, checked; its wall time. Its
 * counters are copied into keep when given. */
static double timed_run(const struct runner_ops *runner, struct workload *w, int workers,
                        uint64_t want_checksum, struct kept_stats *keep)
{
	int cpus[16];
	struct param_values opt;
	char err[200], interval[32];
	snprintf(interval, sizeof(interval), "%u", INTERVAL_US);
	params_init(&opt, runner->params, 0);
	if (params_find(runner->params, "switch_interval_us", NULL) != NULL)
		cr_assert_eq(params_set(&opt, "switch_interval_us", interval, err, sizeof(err)), 0,
		             "%s", err);
	struct run_result res;
	for (int i = 0; i < 16; i++)
		cpus[i] = -1;
	struct run_spec spec = {
	    .workload = w, .workers = workers, .topology = NULL, .cpus = cpus, .params = &opt};
	int records = runner->single_thread ? 1 : workers;
	cr_assert_eq(run_result_init(&res, w->ops->task_count(w), records), 0);
	double t0 = now_s();
	cr_assert_eq(runner->run(&spec, &res), 0, "%s: %s", runner->name, res.error);
	double wall = now_s() - t0;
	run_result_finish(&res);
	cr_assert_not(res.failed, "%s: %s", runner->name, res.error);
	if (want_checksum != 0)
		cr_assert_eq(res.checksum, want_checksum, "%s: wrong checksum", runner->name);
	if (keep != NULL) {
		memset(&keep->counters, 0, sizeof(keep->counters));
		memcpy(keep->counters.stat, res.stat, sizeof(res.stat));
		keep->counters.n_stats = res.n_stats;
	}
	run_result_free(&res);
	return wall;
}

struct speedups {
	double serial_s, gil2, gil4, threads2;
	double others; /* other work on the CPUs meanwhile (other_work) */
	struct kept_stats gil4_stats;
};

static struct speedups measure_speedups(struct primes_rig *p)
{
	struct speedups s;
	struct other_work watch = other_work_start();
	s.serial_s = timed_run(&serial_runner, &p->w, 1, p->want, NULL);
	s.gil2 = s.serial_s / timed_run(&gil_runner, &p->w, 2, p->want, NULL);
	s.gil4 = s.serial_s / timed_run(&gil_runner, &p->w, 4, p->want, &s.gil4_stats);
	s.threads2 = s.serial_s / timed_run(&threads_runner, &p->w, 2, p->want, NULL);
	s.others = other_work_cpus(&watch);
	return s;
}

static bool gil_speedup_ok(double x)
{
	return x <= 1.05 && x >= 0.6;
}

static bool speedups_ok(const struct speedups *s, bool two_cpus)
{
	return gil_speedup_ok(s->gil2) && gil_speedup_ok(s->gil4) &&
	       (!two_cpus || s->threads2 >= 1.6);
}

Test(gil, cpu_bound_no_speedup, .timeout = 60)
{
	struct primes_rig p;
	bool two_cpus = allowed_cpus() >= 2;
	primes_rig_open(&p);
	struct speedups s = measure_speedups(&p);
	if (!speedups_ok(&s, two_cpus))
		s = measure_speedups(&p);
	const struct kept_stats *g = &s.gil4_stats;
	p.w.ops->teardown(&p.w);

	cr_log_info(
	    "primes 2M/32: serial %.3f s; speedup gil x2 %.2f, gil x4 %.2f, threads x2 %.2f; other "
	    "work took %.2f CPUs",
	    s.serial_s, s.gil2, s.gil4, s.threads2, s.others);
	cr_assert_eq(kept(g, "threads"), 4);
	cr_assert_gt(kept(g, "forced_switches"), 0);
	cr_assert_gt(kept(g, "utilisation"), 0.8, "utilisation %.2f", kept(g, "utilisation"));
	cr_assert_leq(kept(g, "utilisation"), 1.01, "utilisation %.2f", kept(g, "utilisation"));
	cr_assert(gil_speedup_ok(s.gil2), "gil x2 speedup %.2f outside [0.6, 1.05]", s.gil2);
	cr_assert(gil_speedup_ok(s.gil4), "gil x4 speedup %.2f outside [0.6, 1.05]", s.gil4);
	if (!two_cpus)
		cr_skip_test("threads x2 >= 1.6 needs 2 allowed CPUs (this machine allows %d)",
		             allowed_cpus());
	if (!TIMING_JUDGED)
		cr_skip_test("speedups are not judged under ThreadSanitizer");
	if (CPUS_TAKEN(s.others))
		cr_skip_test("threads x2 %.2f not judged: other work took %.2f of the CPUs (the "
		             "host's steal included)",
		             s.threads2, s.others);
	cr_assert_geq(s.threads2, 1.6, "threads x2 speedup %.2f", s.threads2);
}

/* ---------- 4. time slicing ---------- */

/* The lock forces a switch once the OS has run the timed-out waiter and then
 * the holder again to see its request. On free CPUs that is microseconds after
 * the interval; with another process runnable, or the host stealing the VM's
 * CPUs, the waiter waits for the kernel's next tick (milliseconds) and the
 * slices stretch with it (other_work, above). */
struct slicing {
	struct gil_stats s;
	double share[2];
	double others; /* CPUs' worth of time that went to other work during the run */
};

static struct slicing slicing_run(unsigned interval_us, double seconds)
{
	struct rig r;
	struct slicing out;
	rig_open(&r, 2, interval_us, true);
	struct other_work watch = other_work_start();
	double wall = run_cpu_threads_for(&r, 2, seconds);
	out.others = other_work_cpus(&watch);
	out.s = rig_stats(&r, wall);
	for (int i = 0; i < 2; i++)
		out.share[i] = gil_thread_hold_s(&r.t[i]) / wall;
	rig_close(&r);
	return out;
}

/* CPUs this busy with other work leave the interval unjudgeable (above). */
static bool cpus_free(const struct slicing *a, const struct slicing *b)
{
	return !CPUS_TAKEN(a->others) && !CPUS_TAKEN(b->others);
}

/* What holds on any machine: no slice ends before its interval, both threads
 * get their turns, and a shorter interval switches more often. */
static bool slicing_sound(const struct slicing *a, const struct slicing *b, double interval_s)
{
	return a->s.forced_slice_median_s >= 0.8 * interval_s && a->share[0] >= 0.35 &&
	       a->share[0] <= 0.65 && a->share[1] >= 0.35 && a->share[1] <= 0.65 &&
	       b->s.forced_switches > a->s.forced_switches;
}

/* On free CPUs: a switch about every interval, slices of about one, and twice
 * the switches at half the interval. */
static bool slicing_timed(const struct slicing *a, const struct slicing *b, double interval_s)
{
	double per_interval = (double)a->s.forced_switches / (a->s.wall_s / interval_s);
	double slice = a->s.forced_slice_median_s / interval_s;
	double ratio = (double)b->s.forced_switches / (double)a->s.forced_switches;
	return per_interval >= 0.5 && per_interval <= 1.5 && slice <= 2.0 && ratio >= 1.4 &&
	       ratio <= 2.6;
}

static bool slicing_ok(const struct slicing *a, const struct slicing *b, double interval_s)
{
	return slicing_sound(a, b, interval_s) &&
	       (!cpus_free(a, b) || slicing_timed(a, b, interval_s));
}

Test(gil, time_slicing, .timeout = 30)
{
	NEED_TWO_CPUS();
	struct slicing a = slicing_run(INTERVAL_US, 0.4);
	struct slicing b = slicing_run(INTERVAL_US / 2, 0.4);
	if (!slicing_ok(&a, &b, INTERVAL_S)) {
		a = slicing_run(INTERVAL_US, 0.4);
		b = slicing_run(INTERVAL_US / 2, 0.4);
	}
	double per_interval = (double)a.s.forced_switches / (a.s.wall_s / INTERVAL_S);
	double slice = a.s.forced_slice_median_s / INTERVAL_S;
	double ratio = (double)b.s.forced_switches / (double)a.s.forced_switches;
	cr_log_info("time slicing: %llu forced switches in %.3f s = %.2f x wall/interval; median "
	            "slice %.2f x interval; shares %.2f / %.2f; halving the interval: x%.2f; "
	            "other work took %.2f and %.2f CPUs",
	            (unsigned long long)a.s.forced_switches, a.s.wall_s, per_interval, slice,
	            a.share[0], a.share[1], ratio, a.others, b.others);
	cr_assert(slice >= 0.8, "median forced slice %.2f x interval", slice);
	for (int i = 0; i < 2; i++)
		cr_assert(a.share[i] >= 0.35 && a.share[i] <= 0.65, "thread %d holds %.2f", i,
		          a.share[i]);
	cr_assert_gt(b.s.forced_switches, a.s.forced_switches,
	             "half the interval, no more switches");
	if (!cpus_free(&a, &b))
		cr_skip_test(
		    "other work took %.2f and %.2f of the CPUs (the host's steal included): "
		    "the interval's timing is not judged",
		    a.others, b.others);
	cr_assert(per_interval >= 0.5 && per_interval <= 1.5,
	          "forced switches %.2f x wall/interval", per_interval);
	cr_assert(slice <= 2.0, "median forced slice %.2f x interval", slice);
	cr_assert(ratio >= 1.4 && ratio <= 2.6, "halving the interval multiplied switches by %.2f",
	          ratio);
}

/* ---------- 5. the convoy effect ---------- */

enum convoy_cpu { CONVOY_NONE, CONVOY_GIL, CONVOY_NO_LOCK };

/* Mean wait to re-take the lock after a blocking call, in intervals of
 * INTERVAL_S, for an I/O stream beside `cpus` CPU threads. */
static double convoy_per_call(unsigned interval_us, int cpus, enum convoy_cpu kind, int calls)
{
	struct rig r;
	pthread_t tid[4], io;
	struct cpu_arg arg[4];
	atomic_bool stop = false;
	rig_open(&r, cpus + 1, interval_us, true);
	for (int i = 0; i < cpus; i++) {
		arg[i] =
		    (struct cpu_arg){.t = kind == CONVOY_GIL ? &r.t[i + 1] : NULL, .stop = &stop};
		spawn(&tid[i], cpu_thread, &arg[i]);
	}
	sleep_us(2000); /* let the CPU threads settle in */
	struct io_arg ia = {.t = &r.t[0], .calls = calls, .sleep_us = 200};
	double t0 = now_s();
	spawn(&io, io_thread, &ia);
	pthread_join(io, NULL);
	double wall = now_s() - t0;
	atomic_store(&stop, true);
	for (int i = 0; i < cpus; i++)
		pthread_join(tid[i], NULL);
	struct gil_stats s = rig_stats(&r, wall);
	rig_close(&r);
	cr_assert_eq(s.wait_by[GIL_AFTER_IO].count, (uint64_t)calls);
	return s.wait_by[GIL_AFTER_IO].mean_s / INTERVAL_S;
}

struct convoy {
	double alone, one_cpu, two_cpu, short_interval, no_lock;
};

static struct convoy convoy_measure(void)
{
	struct convoy c = {
	    .alone = convoy_per_call(INTERVAL_US, 0, CONVOY_NONE, 200),
	    .one_cpu = convoy_per_call(INTERVAL_US, 1, CONVOY_GIL, 50),
	    .two_cpu = convoy_per_call(INTERVAL_US, 2, CONVOY_GIL, 40),
	    .short_interval = convoy_per_call(100, 1, CONVOY_GIL, 200),
	    .no_lock = convoy_per_call(INTERVAL_US, 1, CONVOY_NO_LOCK, 200),
	};
	return c;
}

/* A second CPU thread competes with the I/O thread for each forced drop, so
 * the wait grows (2.8 intervals against 1.0 here). Under TSan the threads run
 * too slowly for that race to be fair (1.0 to 1.7 there), so only the plain
 * build judges it; TSan still runs the case for its races. */
static bool two_cpu_ok(const struct convoy *c)
{
	return !TIMING_JUDGED || c->two_cpu > c->one_cpu;
}

static bool convoy_ok(const struct convoy *c)
{
	return c->alone < 0.2 && c->one_cpu >= 0.5 && c->one_cpu <= 2.0 && two_cpu_ok(c) &&
	       c->short_interval < 0.25 * c->one_cpu && c->no_lock < 0.2;
}

Test(gil, convoy_effect, .timeout = 30)
{
	NEED_TWO_CPUS();
	struct convoy c = convoy_measure();
	if (!convoy_ok(&c))
		c = convoy_measure();
	cr_log_info("convoy, wait per blocking call in 5 ms intervals: alone %.3f, beside one CPU "
	            "thread %.2f, beside two %.2f, at a 100 us interval %.3f, CPU thread with no "
	            "lock %.3f",
	            c.alone, c.one_cpu, c.two_cpu, c.short_interval, c.no_lock);
	cr_assert_lt(c.alone, 0.2, "alone: %.3f interval per call", c.alone);
	cr_assert(c.one_cpu >= 0.5 && c.one_cpu <= 2.0, "one CPU thread: %.2f interval per call",
	          c.one_cpu);
	cr_assert(two_cpu_ok(&c), "two CPU threads: %.2f, one: %.2f", c.two_cpu, c.one_cpu);
	cr_assert_lt(c.short_interval, 0.25 * c.one_cpu, "100 us interval: %.3f", c.short_interval);
	cr_assert_lt(c.no_lock, 0.2, "CPU work outside the lock: %.3f", c.no_lock);
}

/* ---------- 6. no preemption without check points ---------- */

struct section_arg {
	struct gil_thread *t;
	atomic_bool *held;
};

static void *section_holder(void *p)
{
	struct section_arg *a = p;
	gil_acquire(a->t, GIL_START);
	atomic_store(a->held, true);
	double t0 = now_s();
	while (now_s() - t0 < 0.05)
		burn(); /* one long C call: no check point */
	gil_release_final(a->t);
	return NULL;
}

Test(gil, no_preemption_without_check_points, .timeout = 10)
{
	struct rig r;
	pthread_t holder;
	atomic_bool held = false;
	rig_open(&r, 2, INTERVAL_US, true);
	struct section_arg a = {.t = &r.t[0], .held = &held};
	spawn(&holder, section_holder, &a);
	while (!atomic_load(&held))
		sched_yield();
	double t0 = now_s();
	gil_acquire(&r.t[1], GIL_START);
	double waited = now_s() - t0;
	gil_release_final(&r.t[1]);
	pthread_join(holder, NULL);
	struct gil_stats s = rig_stats(&r, 0);
	rig_close(&r);
	cr_log_info("no preemption: the waiter waited %.1f ms behind a 50 ms section",
	            waited * 1e3);
	cr_assert_geq(waited, 0.045, "waited only %.1f ms", waited * 1e3);
	cr_assert_geq(s.drop_requests, 1, "the waiter asked, and was not heard");
	cr_assert_eq(s.forced_switches, 0);
}

/* ---------- 7. waiting in I/O overlaps (gil_runner) ---------- */

#define SLEEP_TASKS 8
#define SLEEPS      10
#define SLEEP_US    10000

static const struct param_def no_params[] = {PARAM_END};

static size_t sleepy_task_count(const struct workload *w)
{
	(void)w;
	return SLEEP_TASKS;
}

/* Ten 10 ms sleeps through the I/O hooks; the blocking call's errno must
 * survive the re-acquisition (behaviour 10, through the strategy). */
static struct task_result sleepy_run_task(const struct workload *w, size_t i, struct task_ctx *ctx)
{
	struct task_result r;
	(void)w;
	memset(&r, 0, sizeof(r));
	for (int k = 0; k < SLEEPS; k++) {
		task_io_begin(ctx);
		sleep_us(SLEEP_US);
		errno = ETIMEDOUT;
		task_io_end(ctx);
		if (errno != ETIMEDOUT) {
			r.failed = true;
			snprintf(r.error, sizeof(r.error), "errno %d after io_end", errno);
		}
	}
	r.checksum = i + 1;
	r.items = 1;
	return r;
}

static const struct workload_ops sleepy_workload = {
    .name = "sleepy",
    .kind = WORKLOAD_IO,
    .description = "test only: ten 10 ms sleeps per task through the I/O hooks",
    .params = no_params,
    .task_count = sleepy_task_count,
    .run_task = sleepy_run_task,
};

Test(gil, io_waits_overlap, .timeout = 10)
{
	struct workload w = {.ops = &sleepy_workload};
	uint64_t want = SLEEP_TASKS * (SLEEP_TASKS + 1) / 2;
	params_init(&w.params, no_params, 0);
	struct kept_stats k;
	double wall = timed_run(&gil_runner, &w, SLEEP_TASKS, want, &k);
	if (wall >= 0.15)
		wall = timed_run(&gil_runner, &w, SLEEP_TASKS, want, &k);
	cr_log_info("I/O overlap: 8 tasks x 10 x 10 ms sleeps in %.1f ms under gil", wall * 1e3);
	cr_assert_lt(wall, 0.15, "took %.1f ms", wall * 1e3);
	cr_assert_eq(kept(&k, "acquisitions_after_io"), SLEEP_TASKS * SLEEPS);
	cr_assert_lt(kept(&k, "utilisation"), 0.5, "the lock was held %.0f%% of the time",
	             kept(&k, "utilisation") * 100);
}

/* ---------- 8. the handshake ---------- */

static struct gil_stats handshake_run(bool force)
{
	struct rig r;
	rig_open(&r, 2, 1000, force);
	double wall = run_cpu_threads_for(&r, 2, 0.3);
	struct gil_stats s = rig_stats(&r, wall);
	rig_close(&r);
	return s;
}

static double handed_over(const struct gil_stats *s)
{
	return s->forced_switches ? (double)s->forced_handed_over / (double)s->forced_switches : 0;
}

Test(gil, forced_release_hands_over, .timeout = 10)
{
	struct gil_stats on = handshake_run(true);
	struct gil_stats off = handshake_run(false);
	cr_log_info("handshake: another thread took the lock after %.1f%% of %llu forced drops "
	            "(%.1f%% of %llu with force_switching off)",
	            100 * handed_over(&on), (unsigned long long)on.forced_switches,
	            100 * handed_over(&off), (unsigned long long)off.forced_switches);
	cr_assert_geq(on.forced_switches, 20, "only %llu forced switches",
	              (unsigned long long)on.forced_switches);
	cr_assert_geq(handed_over(&on), 0.95, "handed over in %.1f%%", 100 * handed_over(&on));
	cr_assert_eq(on.handshakes, on.forced_switches, "every forced drop waits for the taker");
	cr_assert_eq(off.handshakes, 0, "no handshake when force_switching is off");
}

/* ---------- 9. tiny intervals cost ---------- */

/* Asked for 1 us, the waiter's timed wait really lasts the kernel's timer slack
 * (about 50 us), as it would in CPython: each switch then costs a wake-up
 * while nobody holds the lock, a few percent of the work. The fastest of three
 * interleaved runs of each is compared, as noise only ever adds time. */
#define TINY_WORK 2000000u
#define TINY_RUNS 3

struct tiny {
	double two_slow, two_fast, one_slow, one_fast; /* the fastest run of each */
	uint64_t switches_slow, switches_fast;         /* two threads, the last runs */
	double others;                                 /* other work meanwhile (other_work) */
};

static double fastest(double best, double t)
{
	return best == 0 || t < best ? t : best;
}

static struct tiny tiny_measure(void)
{
	struct tiny t = {0};
	struct other_work watch = other_work_start();
	for (int k = 0; k < TINY_RUNS; k++) {
		t.two_slow = fastest(t.two_slow,
		                     run_fixed_work(INTERVAL_US, 2, TINY_WORK, &t.switches_slow));
		t.two_fast = fastest(t.two_fast, run_fixed_work(1, 2, TINY_WORK, &t.switches_fast));
		t.one_slow = fastest(t.one_slow, run_fixed_work(INTERVAL_US, 1, TINY_WORK, NULL));
		t.one_fast = fastest(t.one_fast, run_fixed_work(1, 1, TINY_WORK, NULL));
	}
	t.others = other_work_cpus(&watch);
	return t;
}

/* At 1 us the count of forced switches is bounded by what one hand-off costs,
 * not by the interval: about fifty times the 5 ms count on an idle machine,
 * a few times under AddressSanitizer on a loaded one. */
#define TINY_SWITCH_FACTOR 3

static bool tiny_ok(const struct tiny *t)
{
	double one = t->one_fast / t->one_slow;
	return t->switches_fast > TINY_SWITCH_FACTOR * t->switches_slow &&
	       t->two_fast > 1.01 * t->two_slow && one >= 0.9 && one <= 1.1;
}

Test(gil, tiny_intervals_cost, .timeout = 30)
{
	/* On one CPU the waiter cannot run to time out while the holder spins: the
	 * scheduler's slice, not the interval, decides when drop requests come. */
	NEED_TWO_CPUS();
	struct tiny t = tiny_measure();
	if (!tiny_ok(&t))
		t = tiny_measure();
	double one = t.one_fast / t.one_slow;
	cr_log_info("tiny intervals: two threads %.1f ms at 1 us (%llu forced switches) vs %.1f ms "
	            "at 5 ms (%llu): x%.3f; one thread x%.3f; other work took %.2f CPUs",
	            t.two_fast * 1e3, (unsigned long long)t.switches_fast, t.two_slow * 1e3,
	            (unsigned long long)t.switches_slow, t.two_fast / t.two_slow, one, t.others);
	if (!TIMING_JUDGED)
		cr_skip_test("switch counts and times are not judged under ThreadSanitizer");
	if (CPUS_TAKEN(t.others))
		cr_skip_test("switch counts and times not judged: other work took %.2f of the CPUs "
		             "(the host's steal included)",
		             t.others);
	cr_assert_gt(t.switches_fast, TINY_SWITCH_FACTOR * t.switches_slow,
	             "switches: %llu at 1 us, %llu at 5 ms", (unsigned long long)t.switches_fast,
	             (unsigned long long)t.switches_slow);
	cr_assert_gt(t.two_fast, 1.01 * t.two_slow, "two threads: %.1f ms at 1 us, %.1f ms at 5 ms",
	             t.two_fast * 1e3, t.two_slow * 1e3);
	cr_assert(one >= 0.9 && one <= 1.1, "one thread: x%.3f at 1 us", one);
}

/* ---------- 10. errno ---------- */

Test(gil, errno_survives_io_end, .timeout = 10)
{
	struct rig r;
	pthread_t cpu;
	atomic_bool stop = false;
	static const int codes[] = {EAGAIN, EINTR, ECONNRESET, ETIMEDOUT, EILSEQ};
	rig_open(&r, 2, 1000, true);
	gil_acquire(&r.t[0], GIL_START);
	struct cpu_arg ca = {.t = &r.t[1], .stop = &stop};
	spawn(&cpu, cpu_thread, &ca); /* waits for the lock, and takes it at each release */
	for (int k = 0; k < 20; k++) {
		int code = codes[k % 5];
		errno = code;
		gil_release(&r.t[0]);
		cr_assert_eq(errno, code, "io_begin changed errno to %d", errno);
		sleep_us(100);
		errno = code; /* what the blocking call left */
		gil_acquire(&r.t[0], GIL_AFTER_IO);
		cr_assert_eq(errno, code, "io_end changed errno from %d to %d", code, errno);
	}
	gil_release_final(&r.t[0]);
	atomic_store(&stop, true);
	pthread_join(cpu, NULL);
	struct gil_stats s = rig_stats(&r, 0);
	rig_close(&r);
	/* The re-acquisitions really waited (timed out, asked for a drop), which is
	 * what could have clobbered errno. */
	cr_assert_gt(s.wait_by[GIL_AFTER_IO].mean_s, 0.0005, "mean wait %.6f s",
	             s.wait_by[GIL_AFTER_IO].mean_s);
	cr_assert_gt(s.drop_requests, 0);
}

/* ---------- 11. release_gil: a kernel that releases the lock scales ---------- */

static double release_gil_speedup(struct primes_rig *p, double *others)
{
	struct other_work watch = other_work_start();
	double serial = timed_run(&serial_runner, &p->w, 1, p->want, NULL);
	double s = serial / timed_run(&gil_runner, &p->w, 2, p->want, NULL);
	*others = other_work_cpus(&watch);
	return s;
}

Test(gil, release_gil_makes_threads_useful, .timeout = 60)
{
	struct primes_rig p;
	char err[256];
	if (allowed_cpus() < 2)
		cr_skip_test("needs 2 allowed CPUs (this machine allows %d)", allowed_cpus());
	primes_rig_open(&p);
	p.w.ops->teardown(&p.w);
	cr_assert_eq(params_set(&p.w.params, "release_gil", "1", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.w.ops->setup(&p.w, err, sizeof(err)), 0, "%s", err);
	double others, s = release_gil_speedup(&p, &others);
	if (s < 1.6)
		s = release_gil_speedup(&p, &others);
	p.w.ops->teardown(&p.w);
	cr_log_info("primes with release_gil=1: gil x2 speedup %.2f; other work took %.2f CPUs", s,
	            others);
	if (!TIMING_JUDGED)
		cr_skip_test("speedups are not judged under ThreadSanitizer");
	if (CPUS_TAKEN(others))
		cr_skip_test("gil x2 %.2f not judged: other work took %.2f of the CPUs (the host's "
		             "steal included)",
		             s, others);
	cr_assert_geq(s, 1.6, "gil x2 speedup with the lock released: %.2f < 1.6", s);
}
