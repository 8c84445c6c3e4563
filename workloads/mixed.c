/* mixed: CPU tasks beside one I/O stream, to measure what the CPU work does to
 * the stream's latency (the convoy effect, Beazley 2010).
 *
 * Task 0 is the stream: round trips of a small message over a Unix socket to an
 * echo peer, a process forked at set-up that runs outside any lock. Each round
 * trip is one blocking call (send and receive in one released section, as a C
 * client library's request is), so under the gil its latency is what the
 * re-acquire costs. The stream first runs mixed.alone_roundtrips round trips
 * alone while the CPU tasks wait at a gate (blocked, the lock released, as a
 * Python thread in threading.Event.wait() is), then opens the gate and runs
 * while CPU tasks remain (up to mixed.roundtrips): the same run measures the
 * round trip without and with CPU work beside it. The rest are primes ranges
 * with check points. Each round trip's latency goes into arrays the driver
 * reads after the run (stream_samples), so nothing is summarised inside the
 * timed region. The counter, the gate and the arrays live in MAP_SHARED memory
 * so that they work across forked workers too. */
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/loop.h"
#include "workloads/primes_kernel.h"
#include "workloads/workload.h"

#define MESSAGE_BYTES 64
#define WAIT_MS       10000 /* no round trip waits longer than this */
#define GATE_WAIT_S   10.0  /* nor a CPU task for the stream's alone stretch */

static const struct param_def mixed_params[] = {
    PARAM_INT_DEF("roundtrips", 2000, 500, 1, 1000000,
                  "most round trips of the I/O stream beside the CPU tasks"),
    PARAM_INT_DEF("alone_roundtrips", 300, 150, 0, 1000000,
                  "round trips of the I/O stream alone, before the CPU tasks start"),
    PARAM_INT_DEF("cpu_tasks", 48, 24, 1, 100000, "primes ranges beside the stream"),
    PARAM_INT_DEF("limit", 4000000, 1500000, 2, 2000000000,
                  "primes below this bound, split in cpu_tasks"),
    PARAM_END,
};

struct shared_progress {
	atomic_uint cpu_done; /* CPU tasks finished in this run */
	/* 0 while the stream runs alone, 1 once the CPU tasks may start; a futex
	 * word, shared (not FUTEX_PRIVATE) because forked workers wait on it. */
	atomic_uint gate;
	atomic_size_t n_alone, n_busy; /* round trips written to the arrays below */
};

_Static_assert(sizeof(atomic_uint) == sizeof(uint32_t), "the gate is a futex word");

struct cpu_step;

struct mixed_state {
	uint64_t roundtrips, alone_roundtrips, cpu_tasks, limit;
	int fd;        /* our end of the socket to the echo peer */
	int shm_fd[3]; /* the memory files behind progress, alone and busy */
	pid_t peer;    /* the echo process */
	struct shared_progress *progress;
	/* Each round trip's latency in seconds, MAP_SHARED like progress. */
	double *alone, *busy;
	/* epoll only: CPU steps that found the gate closed, run when it opens. */
	struct cpu_step *parked;
	struct loop *parked_on;
	uint64_t expected_checksum, expected_count;
};

static const uint64_t STREAM_OK = 0x5eed5eed5eed5eedull;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the echo peer ---------------------------------------------------------- */

static void echo_forever(int fd)
{
	char buf[4096];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		for (ssize_t off = 0; off < n;) {
			ssize_t k = write(fd, buf + off, (size_t)(n - off));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				_exit(0);
			off += k;
		}
	}
}

static int start_echo_peer(struct mixed_state *st, char *err, size_t errlen)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork of the echo peer: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the run */
		close(sv[0]);
		echo_forever(sv[1]);
	}
	close(sv[1]);
	st->fd = sv[0];
	st->peer = pid;
	return 0;
}

/* ---- one round trip ------------------------------------------------------------ */

static void fill_message(char *msg, uint64_t round)
{
	for (int i = 0; i < MESSAGE_BYTES; i += 8) {
		uint64_t v = checksum_mix(round * 8 + (uint64_t)i);
		memcpy(msg + i, &v, 8);
	}
}

static int wait_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int rc;
	while ((rc = poll(&p, 1, WAIT_MS)) < 0 && errno == EINTR)
		;
	return rc == 1 ? 0 : -1;
}

/* Sends the message and reads the echo; -1 with errno on failure (ETIMEDOUT
 * when the peer does not answer in time). */
static int send_and_receive(int fd, const char *msg, char *echo)
{
	if (send(fd, msg, MESSAGE_BYTES, MSG_NOSIGNAL) != MESSAGE_BYTES)
		return -1;
	for (size_t got = 0; got < MESSAGE_BYTES;) {
		if (wait_readable(fd) != 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		ssize_t n = recv(fd, echo + got, MESSAGE_BYTES - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ECONNRESET;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

/* ---- the stream ------------------------------------------------------------------ */

static bool cpu_work_remains(const struct mixed_state *st)
{
	return atomic_load_explicit(&st->progress->cpu_done, memory_order_relaxed) < st->cpu_tasks;
}

/* ---- the gate ------------------------------------------------------------------ */

static uint32_t *gate_word(const struct mixed_state *st)
{
	return (uint32_t *)&st->progress->gate;
}

static bool gate_is_open(const struct mixed_state *st)
{
	return atomic_load_explicit(&st->progress->gate, memory_order_acquire) != 0;
}

/* Opening twice is harmless: every exit of the stream opens it. */
static void open_gate(const struct mixed_state *st)
{
	atomic_store_explicit(&st->progress->gate, 1, memory_order_release);
	syscall(SYS_futex, gate_word(st), FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

/* Blocks until the stream opens the gate, or GATE_WAIT_S passes (false): a
 * stream that never started must not hang the run. */
static bool wait_for_gate(const struct mixed_state *st)
{
	double deadline = now_s() + GATE_WAIT_S;
	while (!gate_is_open(st)) {
		double left = deadline - now_s();
		if (left <= 0)
			return false;
		struct timespec ts = {.tv_sec = (time_t)left,
		                      .tv_nsec = (long)((left - (double)(time_t)left) * 1e9)};
		/* EAGAIN (already open), EINTR and ETIMEDOUT all mean: look again. */
		syscall(SYS_futex, gate_word(st), FUTEX_WAIT, 0, &ts, NULL, 0);
	}
	return true;
}

/* ---- the stream ------------------------------------------------------------------ */

/* Where round trip n of the run goes: the alone stretch first, then the busy one. */
static void record_round_trip(const struct mixed_state *st, size_t n, double latency)
{
	struct shared_progress *p = st->progress;
	if (n < st->alone_roundtrips) {
		st->alone[n] = latency;
		atomic_store_explicit(&p->n_alone, n + 1, memory_order_relaxed);
	} else {
		size_t k = n - (size_t)st->alone_roundtrips;
		st->busy[k] = latency;
		atomic_store_explicit(&p->n_busy, k + 1, memory_order_relaxed);
	}
}

/* Whether the stream goes on after n round trips: all of the alone stretch,
 * then while CPU work remains. */
static bool stream_goes_on(const struct mixed_state *st, size_t n)
{
	if (n < st->alone_roundtrips)
		return true;
	return n < st->alone_roundtrips + st->roundtrips && cpu_work_remains(st);
}

static struct task_result stream_result(size_t n, const char *error)
{
	struct task_result r;
	memset(&r, 0, sizeof(r));
	if (error != NULL) {
		r.failed = true;
		snprintf(r.error, sizeof(r.error), "%s", error);
	} else {
		r.checksum = STREAM_OK;
	}
	r.bytes = 2 * MESSAGE_BYTES * (uint64_t)n;
	return r;
}

static struct task_result run_stream(const struct mixed_state *st, struct task_ctx *ctx)
{
	char msg[MESSAGE_BYTES], echo[MESSAGE_BYTES], why[TASK_ERROR_LEN] = "";
	size_t n = 0;
	for (; why[0] == '\0'; n++) {
		if (n == st->alone_roundtrips)
			open_gate(st);
		if (!stream_goes_on(st, n))
			break;
		fill_message(msg, n);
		double t0 = now_s();
		task_io_begin(ctx);
		int rc = send_and_receive(st->fd, msg, echo);
		int saved = errno;
		task_io_end(ctx);
		record_round_trip(st, n, now_s() - t0);
		if (rc != 0 || memcmp(msg, echo, MESSAGE_BYTES) != 0)
			snprintf(why, sizeof(why), "round trip %zu to the echo peer: %s", n,
			         rc != 0 ? strerror(saved) : "the echo differs from the message");
	}
	open_gate(st); /* a failed stream must not keep the CPU tasks waiting */
	return stream_result(n, why[0] ? why : NULL);
}

/* ---- the CPU tasks ------------------------------------------------------------ */

static struct task_result cpu_range(const struct mixed_state *st, size_t i, struct task_ctx *ctx)
{
	uint32_t lo, hi;
	primes_task_range(st->limit, st->cpu_tasks, i - 1, &lo, &hi);
	struct task_result r;
	memset(&r, 0, sizeof(r));
	r.items = primes_count_range(lo, hi, ctx);
	r.checksum = primes_task_checksum(i, r.items);
	atomic_fetch_add(&st->progress->cpu_done, 1);
	return r;
}

/* A CPU task first waits, blocked and with the lock released, for the stream's
 * alone stretch to end. */
static struct task_result run_cpu(const struct mixed_state *st, size_t i, struct task_ctx *ctx)
{
	/* Only a closed gate releases the lock: Event.wait() on an event already
	 * set returns without dropping the GIL, and a release at every task's start
	 * would hand the I/O thread a turn CPython does not give it. */
	bool opened = gate_is_open(st);
	if (!opened) {
		task_io_begin(ctx);
		opened = wait_for_gate(st);
		task_io_end(ctx);
	}
	if (!opened) {
		struct task_result r;
		memset(&r, 0, sizeof(r));
		r.failed = true;
		snprintf(r.error, sizeof(r.error),
		         "waited %.0f s for the I/O stream's alone stretch to end", GATE_WAIT_S);
		return r;
	}
	return cpu_range(st, i, ctx);
}

static struct task_result mixed_run_task(const struct workload *w, size_t i, struct task_ctx *ctx)
{
	const struct mixed_state *st = w->state;
	return i == 0 ? run_stream(st, ctx) : run_cpu(st, i, ctx);
}

/* ---- the stream as a coroutine on the event loop --------------------------------- */

struct stream_coroutine {
	struct mixed_state *st;
	struct loop *loop;
	task_done_fn done;
	void *arg;
	size_t n, got;
	double started;
	char msg[MESSAGE_BYTES], echo[MESSAGE_BYTES];
};

struct cpu_step {
	const struct mixed_state *st;
	size_t task;
	task_done_fn done;
	void *arg;
	struct cpu_step *next; /* while parked */
};

/* A CPU task runs whole in one loop turn and blocks the loop meanwhile, as a
 * CPU-bound coroutine blocks asyncio; the stream is served between turns. One
 * that finds the gate closed parks (the loop must not block on the gate: the
 * stream that opens it runs on this very loop) until the stream releases it. */
static void cpu_step_run(struct loop *loop, void *p)
{
	struct cpu_step *step = p;
	struct mixed_state *st = (struct mixed_state *)step->st;
	if (!gate_is_open(st)) {
		step->next = st->parked;
		st->parked = step;
		st->parked_on = loop;
		return;
	}
	struct cpu_step s = *step;
	free(step);
	s.done(s.arg, s.task, cpu_range(s.st, s.task, NULL));
}

static void fail_step(struct cpu_step *step, const char *why)
{
	struct cpu_step s = *step;
	free(step);
	struct task_result r;
	memset(&r, 0, sizeof(r));
	r.failed = true;
	snprintf(r.error, sizeof(r.error), "%s", why);
	s.done(s.arg, s.task, r);
}

/* Opens the gate and schedules the parked steps on the loop's next turns. */
static void release_parked_steps(struct mixed_state *st)
{
	open_gate(st);
	while (st->parked != NULL) {
		struct cpu_step *step = st->parked;
		st->parked = step->next;
		if (loop_call_soon(st->parked_on, cpu_step_run, step) != 0)
			fail_step(step, "cannot schedule a parked CPU step");
	}
}

static void stream_finish(struct stream_coroutine *co, const char *error)
{
	loop_unwatch(co->loop, co->st->fd);
	release_parked_steps(co->st);
	struct task_result r = stream_result(co->n, error);
	task_done_fn done = co->done;
	void *arg = co->arg;
	free(co);
	done(arg, 0, r);
}

static int stream_send(struct stream_coroutine *co)
{
	fill_message(co->msg, co->n);
	co->got = 0;
	co->started = now_s();
	return send(co->st->fd, co->msg, MESSAGE_BYTES, MSG_NOSIGNAL | MSG_DONTWAIT) ==
	               MESSAGE_BYTES
	           ? 0
	           : -1;
}

/* After a round trip: open the gate at the end of the alone stretch, then
 * send the next message or end. */
static void stream_next(struct stream_coroutine *co)
{
	char why[TASK_ERROR_LEN];
	if (co->n == co->st->alone_roundtrips)
		release_parked_steps(co->st);
	if (!stream_goes_on(co->st, co->n)) {
		stream_finish(co, NULL);
	} else if (stream_send(co) != 0) {
		snprintf(why, sizeof(why), "send to the echo peer: %s", strerror(errno));
		stream_finish(co, why);
	}
}

static void stream_readable(struct loop *loop, int fd, uint32_t events, void *p)
{
	(void)loop;
	(void)events;
	struct stream_coroutine *co = p;
	char why[TASK_ERROR_LEN];
	ssize_t k = recv(fd, co->echo + co->got, MESSAGE_BYTES - co->got, MSG_DONTWAIT);
	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (k <= 0) {
		snprintf(why, sizeof(why), "round trip %zu to the echo peer: %s", co->n,
		         k == 0 ? "connection closed" : strerror(errno));
		stream_finish(co, why);
		return;
	}
	co->got += (size_t)k;
	if (co->got < MESSAGE_BYTES)
		return;
	record_round_trip(co->st, co->n, now_s() - co->started);
	co->n++;
	if (memcmp(co->msg, co->echo, MESSAGE_BYTES) != 0) {
		snprintf(why, sizeof(why), "round trip %zu: the echo differs", co->n - 1);
		stream_finish(co, why);
	} else {
		stream_next(co);
	}
}

static int submit_cpu_step(struct mixed_state *st, size_t i, struct loop *loop, task_done_fn done,
                           void *arg)
{
	struct cpu_step *s = malloc(sizeof(*s));
	if (s == NULL)
		return -1;
	*s = (struct cpu_step){.st = st, .task = i, .done = done, .arg = arg};
	if (loop_call_soon(loop, cpu_step_run, s) != 0) {
		free(s);
		return -1;
	}
	return 0;
}

static int submit_stream(struct mixed_state *st, struct loop *loop, task_done_fn done, void *arg)
{
	struct stream_coroutine *co = calloc(1, sizeof(*co));
	if (co == NULL)
		return -1;
	*co = (struct stream_coroutine){.st = st, .loop = loop, .done = done, .arg = arg};
	if (loop_watch(loop, st->fd, EPOLLIN, stream_readable, co) != 0) {
		free(co);
		return -1;
	}
	if (st->alone_roundtrips == 0)
		release_parked_steps(st);
	if (!stream_goes_on(st, 0)) {
		stream_finish(co, NULL);
		return 0;
	}
	if (stream_send(co) != 0) {
		loop_unwatch(loop, st->fd);
		release_parked_steps(st);
		free(co);
		return -1;
	}
	return 0;
}

static int mixed_submit(const struct workload *w, size_t i, struct loop *loop, task_done_fn done,
                        void *arg)
{
	struct mixed_state *st = w->state;
	return i == 0 ? submit_stream(st, loop, done, arg)
	              : submit_cpu_step(st, i, loop, done, arg);
}

/* ---- set-up ------------------------------------------------------------------------ */

/* The CPU tasks are 1..cpu_tasks; the stream adds STREAM_OK when it succeeds. */
static int compute_expected(struct mixed_state *st, char *err, size_t errlen)
{
	if (primes_expected(st->limit, st->cpu_tasks, 1, &st->expected_checksum,
	                    &st->expected_count, err, errlen) != 0)
		return -1;
	st->expected_checksum = checksum_combine(st->expected_checksum, STREAM_OK);
	return 0;
}

static void stop_echo_peer(struct mixed_state *st)
{
	if (st->fd >= 0)
		close(st->fd); /* the peer reads end-of-file and exits */
	st->fd = -1;
	if (st->peer > 0) {
		int status;
		while (waitpid(st->peer, &status, 0) < 0 && errno == EINTR)
			;
	}
	st->peer = 0;
}

static size_t round_trips_bytes(uint64_t n)
{
	return (size_t)(n > 0 ? n : 1) * sizeof(double);
}

static void *map_shared_fd(size_t bytes, int fd, char *err, size_t errlen)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "mmap of %zu bytes: %s", bytes, strerror(errno));
		return NULL;
	}
	return p;
}

/* Shared memory, inherited by forked workers, in a memory file so that a
 * fresh worker (forkserver, spawn) can map it too; NULL with err set. */
static void *map_shared(size_t bytes, int *fd, char *err, size_t errlen)
{
	*fd = memfd_create("concbench-mixed", MFD_CLOEXEC);
	if (*fd < 0 || ftruncate(*fd, (off_t)bytes) != 0) {
		snprintf(err, errlen, "memory file of %zu bytes: %s", bytes, strerror(errno));
		return NULL;
	}
	return map_shared_fd(bytes, *fd, err, errlen);
}

static void unmap_shared(void *p, size_t bytes, int fd)
{
	if (p != NULL)
		munmap(p, bytes);
	if (fd >= 0)
		close(fd);
}

static void mixed_teardown(struct workload *w)
{
	struct mixed_state *st = w->state;
	if (st == NULL)
		return;
	stop_echo_peer(st);
	unmap_shared(st->progress, sizeof(*st->progress), st->shm_fd[0]);
	unmap_shared(st->alone, round_trips_bytes(st->alone_roundtrips), st->shm_fd[1]);
	unmap_shared(st->busy, round_trips_bytes(st->roundtrips), st->shm_fd[2]);
	free(st);
	w->state = NULL;
}

static void read_sizes(struct mixed_state *st, const struct workload *w)
{
	st->fd = -1;
	for (int k = 0; k < 3; k++)
		st->shm_fd[k] = -1;
	st->roundtrips = (uint64_t)param_get(&w->params, "roundtrips");
	st->alone_roundtrips = (uint64_t)param_get(&w->params, "alone_roundtrips");
	st->cpu_tasks = (uint64_t)param_get(&w->params, "cpu_tasks");
	st->limit = (uint64_t)param_get(&w->params, "limit");
}

static int mixed_setup(struct workload *w, char *err, size_t errlen)
{
	struct mixed_state *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	read_sizes(st, w);
	w->state = st;
	if (st->cpu_tasks > st->limit) {
		snprintf(err, errlen, "mixed.cpu_tasks exceeds mixed.limit");
		mixed_teardown(w);
		return -1;
	}
	st->progress = map_shared(sizeof(*st->progress), &st->shm_fd[0], err, errlen);
	if (st->progress != NULL)
		st->alone = map_shared(round_trips_bytes(st->alone_roundtrips), &st->shm_fd[1], err,
		                       errlen);
	if (st->alone != NULL)
		st->busy =
		    map_shared(round_trips_bytes(st->roundtrips), &st->shm_fd[2], err, errlen);
	if (st->busy == NULL) {
		mixed_teardown(w);
		return -1;
	}
	if (compute_expected(st, err, errlen) != 0 || start_echo_peer(st, err, errlen) != 0) {
		mixed_teardown(w);
		return -1;
	}
	return 0;
}

/* A fresh worker shares the parent's counter, gate and arrays, and its
 * socket to the echo peer (which stays the parent's to stop). */
static int mixed_shared_fds(const struct workload *w, int *fds, int max)
{
	const struct mixed_state *st = w->state;
	if (max < 4)
		return 0;
	for (int k = 0; k < 3; k++)
		fds[k] = st->shm_fd[k];
	fds[3] = st->fd;
	return 4;
}

static int mixed_setup_worker(struct workload *w, const int *fds, int n_fds, char *err,
                              size_t errlen)
{
	struct mixed_state *st = calloc(1, sizeof(*st));
	if (st == NULL || n_fds != 4) {
		free(st);
		snprintf(err, errlen, "mixed: a worker needs the parent's 4 descriptors, got %d",
		         n_fds);
		return -1;
	}
	read_sizes(st, w);
	w->state = st;
	st->progress = map_shared_fd(sizeof(*st->progress), fds[0], err, errlen);
	st->alone = map_shared_fd(round_trips_bytes(st->alone_roundtrips), fds[1], err, errlen);
	st->busy = map_shared_fd(round_trips_bytes(st->roundtrips), fds[2], err, errlen);
	st->fd = fds[3];
	return st->progress != NULL && st->alone != NULL && st->busy != NULL ? 0 : -1;
}

static void mixed_before_run(struct workload *w)
{
	struct mixed_state *st = w->state;
	atomic_store(&st->progress->cpu_done, 0);
	atomic_store(&st->progress->gate, st->alone_roundtrips == 0);
	atomic_store(&st->progress->n_alone, 0);
	atomic_store(&st->progress->n_busy, 0);
	st->parked = NULL;
	st->parked_on = NULL;
}

/* The latest run's round trips, read after it ended (its workers are gone). */
static size_t mixed_stream_samples(const struct workload *w, const double **alone, size_t *n_alone,
                                   const double **busy, size_t *n_busy)
{
	const struct mixed_state *st = w->state;
	*alone = st->alone;
	*busy = st->busy;
	*n_alone = atomic_load(&st->progress->n_alone);
	*n_busy = atomic_load(&st->progress->n_busy);
	return *n_alone + *n_busy;
}

static size_t mixed_task_count(const struct workload *w)
{
	const struct mixed_state *st = w->state;
	return (size_t)st->cpu_tasks + 1;
}

static bool mixed_expected_checksum(const struct workload *w, uint64_t *out)
{
	const struct mixed_state *st = w->state;
	*out = st->expected_checksum;
	return true;
}

static bool mixed_expected_items(const struct workload *w, uint64_t *out)
{
	const struct mixed_state *st = w->state;
	*out = st->expected_count;
	return true;
}

const struct workload_ops mixed_workload = {
    .name = "mixed",
    .kind = WORKLOAD_MIXED,
    .description = "primes ranges beside one I/O stream of socket round trips (the convoy)",
    .params = mixed_params,
    .setup = mixed_setup,
    .teardown = mixed_teardown,
    .task_count = mixed_task_count,
    .before_run = mixed_before_run,
    .run_task = mixed_run_task,
    .submit = mixed_submit,
    .expected_checksum = mixed_expected_checksum,
    .expected_items = mixed_expected_items,
    .stream_samples = mixed_stream_samples,
    .items_name = "primes",
    .setup_worker = mixed_setup_worker,
    .shared_fds = mixed_shared_fds,
    .python_sizes = "limit=300000,cpu_tasks=24",
    .python_quick_sizes = "limit=60000,cpu_tasks=12",
};
