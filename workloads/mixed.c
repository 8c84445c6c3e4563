/* mixed: CPU tasks beside one I/O stream, to measure what the CPU work does to
 * the stream's latency (the convoy effect, Beazley 2010).
 *
 * Task 0 is the stream: round trips of a small message over a Unix socket to an
 * echo peer, a process forked at set-up that runs outside any lock. Each round
 * trip is one blocking call (send and receive in one released section, as a C
 * client library's request is), so under the gil its latency is what the
 * re-acquire costs. The stream runs while CPU tasks remain (up to
 * mixed.roundtrips), so every round trip it times has CPU work beside it; the
 * rest are primes ranges with check points. The shared counter lives in
 * MAP_SHARED memory so that it works across forked workers too. */
#include <errno.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "primes_kernel.h"
#include "stats.h"
#include "workload.h"

#define MESSAGE_BYTES 64
#define WAIT_MS       10000 /* no round trip waits longer than this */

static const struct param_def mixed_params[] = {
    PARAM_INT_DEF("roundtrips", 2000, 500, 1, 1000000, "most round trips of the I/O stream"),
    PARAM_INT_DEF("cpu_tasks", 48, 24, 1, 100000, "primes ranges beside the stream"),
    PARAM_INT_DEF("limit", 4000000, 1500000, 2, 2000000000,
                  "primes below this bound, split in cpu_tasks"),
    PARAM_END,
};

struct shared_progress {
	atomic_uint cpu_done; /* CPU tasks finished in this run */
};

struct mixed_state {
	uint64_t roundtrips, cpu_tasks, limit;
	int fd;     /* our end of the socket to the echo peer */
	pid_t peer; /* the echo process */
	struct shared_progress *progress;
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

static void summarize_latencies(const double *lat, size_t n, struct latency_summary *out)
{
	out->n = (uint32_t)n;
	out->p50 = percentile(lat, n, 50);
	out->p90 = percentile(lat, n, 90);
	out->p99 = percentile(lat, n, 99);
	out->max = percentile(lat, n, 100);
}

static struct task_result stream_result(const double *lat, size_t n, const char *error)
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
	summarize_latencies(lat, n, &r.io_latency);
	return r;
}

static struct task_result run_stream(const struct mixed_state *st, struct task_ctx *ctx)
{
	double *lat = calloc((size_t)st->roundtrips, sizeof(*lat));
	char msg[MESSAGE_BYTES], echo[MESSAGE_BYTES], why[TASK_ERROR_LEN] = "";
	size_t n = 0;
	if (lat == NULL)
		return stream_result(NULL, 0, "out of memory for the round trips");
	/* Round 0 always runs: the stream is measured even when nothing is beside it. */
	for (; n < st->roundtrips && (n == 0 || cpu_work_remains(st)); n++) {
		fill_message(msg, n);
		double t0 = now_s();
		task_io_begin(ctx);
		int rc = send_and_receive(st->fd, msg, echo);
		int saved = errno;
		task_io_end(ctx);
		lat[n] = now_s() - t0;
		if (rc != 0 || memcmp(msg, echo, MESSAGE_BYTES) != 0) {
			snprintf(why, sizeof(why), "round trip %zu to the echo peer: %s", n,
			         rc != 0 ? strerror(saved) : "the echo differs from the message");
			break;
		}
	}
	struct task_result r = stream_result(lat, n, why[0] ? why : NULL);
	free(lat);
	return r;
}

/* ---- the CPU tasks ------------------------------------------------------------ */

static struct task_result run_cpu(const struct mixed_state *st, size_t i, struct task_ctx *ctx)
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

static struct task_result mixed_run_task(const struct workload *w, size_t i, struct task_ctx *ctx)
{
	const struct mixed_state *st = w->state;
	return i == 0 ? run_stream(st, ctx) : run_cpu(st, i, ctx);
}

/* ---- the stream as a coroutine on the event loop --------------------------------- */

struct stream_coroutine {
	const struct mixed_state *st;
	struct loop *loop;
	task_done_fn done;
	void *arg;
	double *lat;
	size_t n, got;
	double started;
	char msg[MESSAGE_BYTES], echo[MESSAGE_BYTES];
};

static void stream_finish(struct stream_coroutine *co, const char *error)
{
	loop_unwatch(co->loop, co->st->fd);
	struct task_result r = stream_result(co->lat, co->n, error);
	task_done_fn done = co->done;
	void *arg = co->arg;
	free(co->lat);
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
	co->lat[co->n++] = now_s() - co->started;
	if (memcmp(co->msg, co->echo, MESSAGE_BYTES) != 0) {
		snprintf(why, sizeof(why), "round trip %zu: the echo differs", co->n - 1);
		stream_finish(co, why);
	} else if (co->n == co->st->roundtrips || !cpu_work_remains(co->st)) {
		stream_finish(co, NULL);
	} else if (stream_send(co) != 0) {
		snprintf(why, sizeof(why), "send to the echo peer: %s", strerror(errno));
		stream_finish(co, why);
	}
}

struct cpu_step {
	const struct mixed_state *st;
	size_t task;
	task_done_fn done;
	void *arg;
};

/* A CPU task runs whole in one loop turn and blocks the loop meanwhile, as a
 * CPU-bound coroutine blocks asyncio; the stream is served between turns. */
static void cpu_step_run(struct loop *loop, void *p)
{
	(void)loop;
	struct cpu_step s = *(struct cpu_step *)p;
	free(p);
	s.done(s.arg, s.task, run_cpu(s.st, s.task, NULL));
}

static int mixed_submit(const struct workload *w, size_t i, struct loop *loop, task_done_fn done,
                        void *arg)
{
	const struct mixed_state *st = w->state;
	if (i != 0) {
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
	struct stream_coroutine *co = calloc(1, sizeof(*co));
	if (co == NULL)
		return -1;
	*co = (struct stream_coroutine){.st = st, .loop = loop, .done = done, .arg = arg};
	co->lat = calloc((size_t)st->roundtrips, sizeof(*co->lat));
	if (co->lat == NULL || loop_watch(loop, st->fd, EPOLLIN, stream_readable, co) != 0) {
		free(co->lat);
		free(co);
		return -1;
	}
	if (stream_send(co) != 0) {
		loop_unwatch(loop, st->fd);
		free(co->lat);
		free(co);
		return -1;
	}
	return 0;
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

static void mixed_teardown(struct workload *w)
{
	struct mixed_state *st = w->state;
	if (st == NULL)
		return;
	stop_echo_peer(st);
	if (st->progress != NULL)
		munmap(st->progress, sizeof(*st->progress));
	free(st);
	w->state = NULL;
}

static int mixed_setup(struct workload *w, char *err, size_t errlen)
{
	struct mixed_state *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->fd = -1;
	st->roundtrips = (uint64_t)param_get(&w->params, "roundtrips");
	st->cpu_tasks = (uint64_t)param_get(&w->params, "cpu_tasks");
	st->limit = (uint64_t)param_get(&w->params, "limit");
	w->state = st;
	if (st->cpu_tasks > st->limit) {
		snprintf(err, errlen, "mixed.cpu_tasks exceeds mixed.limit");
		mixed_teardown(w);
		return -1;
	}
	st->progress = mmap(NULL, sizeof(*st->progress), PROT_READ | PROT_WRITE,
	                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st->progress == MAP_FAILED) {
		st->progress = NULL;
		snprintf(err, errlen, "mmap: %s", strerror(errno));
		mixed_teardown(w);
		return -1;
	}
	if (compute_expected(st, err, errlen) != 0 || start_echo_peer(st, err, errlen) != 0) {
		mixed_teardown(w);
		return -1;
	}
	return 0;
}

static void mixed_before_run(struct workload *w)
{
	struct mixed_state *st = w->state;
	atomic_store(&st->progress->cpu_done, 0);
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
    .items_name = "primes",
};
