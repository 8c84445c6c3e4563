/* Tests for runners/loop.c: the small epoll event loop. Every test has a
 * timeout, so a loop that never wakes fails instead of hanging the suite. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "lib/loop.h"

#define LOOP_TEST(name) Test(loop, name, .timeout = 10)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static struct loop *new_loop(void)
{
	struct loop *loop = loop_new();

	cr_assert_not_null(loop, "loop_new: %s", strerror(errno));
	return loop;
}

/* A log of which callbacks ran, in order. */
struct trace {
	int seen[16];
	int n;
	double at[16];
	struct loop *loop;
};

struct step {
	struct trace *trace;
	int id;
	bool stop;            /* stop the loop after recording */
	struct step *requeue; /* call_soon this one from inside the callback */
};

static void record(struct loop *loop, void *arg)
{
	struct step *s = arg;
	struct trace *t = s->trace;

	if (t->n < 16) {
		t->at[t->n] = now_s();
		t->seen[t->n++] = s->id;
	}
	if (s->requeue != NULL)
		cr_assert_eq(loop_call_soon(loop, record, s->requeue), 0);
	if (s->stop)
		loop_stop(loop);
}

static void stop_cb(struct loop *loop, void *arg)
{
	(void)arg;
	loop_stop(loop);
}

LOOP_TEST(call_soon_runs_in_order_and_stop_ends_run)
{
	struct loop *loop = new_loop();
	struct trace t = {.loop = loop};
	struct step s[3] = {{&t, 1, false, NULL}, {&t, 2, false, NULL}, {&t, 3, true, NULL}};

	for (int i = 0; i < 3; i++)
		cr_assert_eq(loop_call_soon(loop, record, &s[i]), 0);
	cr_assert_eq(t.n, 0, "loop_call_soon ran a callback before the loop did");
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(t.n, 3);
	cr_assert_eq(t.seen[0], 1);
	cr_assert_eq(t.seen[1], 2);
	cr_assert_eq(t.seen[2], 3);
	loop_free(loop);
}

/* A call queued by a callback waits for the next turn: it runs after every
 * call that was already queued, as asyncio's call_soon does. */
LOOP_TEST(call_soon_from_a_callback_waits_for_the_next_turn)
{
	struct loop *loop = new_loop();
	struct trace t = {.loop = loop};
	struct step late = {&t, 9, true, NULL};
	struct step first = {&t, 1, false, &late};
	struct step second = {&t, 2, false, NULL};

	cr_assert_eq(loop_call_soon(loop, record, &first), 0);
	cr_assert_eq(loop_call_soon(loop, record, &second), 0);
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(t.n, 3);
	cr_assert_eq(t.seen[0], 1);
	cr_assert_eq(t.seen[1], 2);
	cr_assert_eq(t.seen[2], 9);
	loop_free(loop);
}

/* A stopped loop can run again, and runs what was queued since. */
LOOP_TEST(run_again_after_stop)
{
	struct loop *loop = new_loop();
	struct trace t = {.loop = loop};
	struct step a = {&t, 1, true, NULL};
	struct step b = {&t, 2, true, NULL};

	cr_assert_eq(loop_call_soon(loop, record, &a), 0);
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(t.n, 1);
	cr_assert_eq(loop_call_soon(loop, record, &b), 0);
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(t.n, 2);
	cr_assert_eq(t.seen[1], 2);
	loop_free(loop);
}

LOOP_TEST(timer_fires_after_its_delay)
{
	struct loop *loop = new_loop();
	struct trace t = {.loop = loop};
	struct step s = {&t, 1, true, NULL};
	double t0 = now_s();

	cr_assert_not_null(loop_timer_start(loop, 20 * 1000000ull, record, &s));
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(t.n, 1);
	double elapsed = t.at[0] - t0;
	cr_assert_geq(elapsed, 0.019, "a 20 ms timer fired after %.6f s", elapsed);
	cr_assert_lt(elapsed, 0.5, "a 20 ms timer fired after %.6f s", elapsed);
	loop_free(loop);
}

LOOP_TEST(zero_timer_fires_on_the_next_turn)
{
	struct loop *loop = new_loop();
	struct trace t = {.loop = loop};
	struct step s = {&t, 1, true, NULL};

	cr_assert_not_null(loop_timer_start(loop, 0, record, &s));
	cr_assert_eq(t.n, 0);
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(t.n, 1);
	loop_free(loop);
}

LOOP_TEST(timers_fire_in_deadline_order)
{
	struct loop *loop = new_loop();
	struct trace t = {.loop = loop};
	struct step late = {&t, 30, true, NULL};
	struct step early = {&t, 10, false, NULL};
	double t0 = now_s();

	/* Armed late first, so that arming order cannot explain the result. */
	cr_assert_not_null(loop_timer_start(loop, 60 * 1000000ull, record, &late));
	cr_assert_not_null(loop_timer_start(loop, 10 * 1000000ull, record, &early));
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(t.n, 2);
	cr_assert_eq(t.seen[0], 10);
	cr_assert_eq(t.seen[1], 30);
	cr_assert_geq(t.at[1] - t0, 0.059);
	cr_assert_leq(t.at[0], t.at[1]);
	loop_free(loop);
}

LOOP_TEST(cancelled_timer_does_not_fire)
{
	struct loop *loop = new_loop();
	struct trace t = {.loop = loop};
	struct step cancelled = {&t, 1, false, NULL};
	struct step stopper = {&t, 2, true, NULL};
	struct loop_timer *timer = loop_timer_start(loop, 10 * 1000000ull, record, &cancelled);

	cr_assert_not_null(timer);
	cr_assert_not_null(loop_timer_start(loop, 50 * 1000000ull, record, &stopper));
	loop_timer_cancel(loop, timer);
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(t.n, 1, "the cancelled timer fired");
	cr_assert_eq(t.seen[0], 2);
	loop_free(loop);
}

/* Two timers due in the same epoll batch, each cancelling the other when it
 * fires: exactly one may run, and the cancelled one's event later in the
 * batch must be dropped, not dispatched to freed memory. */
struct rival {
	struct rival *peer;
	struct loop_timer *self;
	int *fired;
};

static void rival_fired(struct loop *loop, void *arg)
{
	struct rival *r = arg;

	(*r->fired)++;
	/* This timer is spent (and freed) once it fires; its peer is still armed. */
	loop_timer_cancel(loop, r->peer->self);
	r->peer->self = NULL;
	r->self = NULL;
	cr_assert_not_null(loop_timer_start(loop, 30 * 1000000ull, stop_cb, NULL));
}

LOOP_TEST(timer_cancelled_in_the_same_batch_does_not_fire)
{
	struct loop *loop = new_loop();
	int fired = 0;
	struct rival a = {.fired = &fired}, b = {.fired = &fired};

	a.peer = &b;
	b.peer = &a;
	a.self = loop_timer_start(loop, 1000000ull, rival_fired, &a);
	b.self = loop_timer_start(loop, 1000000ull, rival_fired, &b);
	cr_assert_not_null(a.self);
	cr_assert_not_null(b.self);
	sleep_ms(20); /* both are due before the first epoll_wait */
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(fired, 1, "%d timers fired; the cancelled one must not", fired);
	loop_free(loop);
}

struct pipe_watch {
	int fds[2];
	int calls;
	uint32_t events;
	char byte;
};

static void pipe_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct pipe_watch *p = arg;

	p->calls++;
	p->events = events;
	cr_assert_eq(fd, p->fds[0]);
	cr_assert_eq(read(fd, &p->byte, 1), 1);
	loop_stop(loop);
}

static void *write_later(void *arg)
{
	struct pipe_watch *p = arg;

	sleep_ms(20);
	if (write(p->fds[1], "x", 1) != 1)
		return (void *)1;
	return NULL;
}

LOOP_TEST(watch_fires_when_another_thread_writes)
{
	struct loop *loop = new_loop();
	struct pipe_watch p = {0};
	pthread_t writer;
	void *ret;

	cr_assert_eq(pipe(p.fds), 0);
	cr_assert_eq(loop_watch(loop, p.fds[0], EPOLLIN, pipe_readable, &p), 0);
	cr_assert_eq(pthread_create(&writer, NULL, write_later, &p), 0);
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(pthread_join(writer, &ret), 0);
	cr_assert_null(ret, "the writer thread failed");
	cr_assert_eq(p.calls, 1);
	cr_assert(p.events & EPOLLIN);
	cr_assert_eq(p.byte, 'x');
	cr_assert_eq(loop_unwatch(loop, p.fds[0]), 0);
	close(p.fds[0]);
	close(p.fds[1]);
	loop_free(loop);
}

static void never_called(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	int *calls = arg;

	(*calls)++;
}

LOOP_TEST(unwatched_fd_does_not_fire)
{
	struct loop *loop = new_loop();
	int fds[2], calls = 0;

	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(write(fds[1], "x", 1), 1); /* readable from the start */
	cr_assert_eq(loop_watch(loop, fds[0], EPOLLIN, never_called, &calls), 0);
	cr_assert_eq(loop_unwatch(loop, fds[0]), 0);
	cr_assert_not_null(loop_timer_start(loop, 20 * 1000000ull, stop_cb, NULL));
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(calls, 0);
	close(fds[0]);
	close(fds[1]);
	loop_free(loop);
}

LOOP_TEST(rewatch)
{
	struct loop *loop = new_loop();
	int fds[2], calls = 0;

	cr_assert_eq(pipe(fds), 0);
	int rc = loop_rewatch(loop, fds[1], EPOLLOUT);
	int e = errno;

	cr_assert_eq(rc, -1, "rewatch of an unwatched fd");
	cr_assert_eq(e, ENOENT);
	/* The write end is always writable: watched for EPOLLOUT it would fire;
	 * rewatched for EPOLLIN it never does. */
	cr_assert_eq(loop_watch(loop, fds[1], EPOLLOUT, never_called, &calls), 0);
	cr_assert_eq(loop_rewatch(loop, fds[1], EPOLLIN), 0);
	cr_assert_not_null(loop_timer_start(loop, 20 * 1000000ull, stop_cb, NULL));
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(calls, 0);
	cr_assert_eq(loop_unwatch(loop, fds[1]), 0);
	close(fds[0]);
	close(fds[1]);
	loop_free(loop);
}

LOOP_TEST(watch_twice_fails)
{
	struct loop *loop = new_loop();
	int fds[2], calls = 0;

	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(loop_watch(loop, fds[0], EPOLLIN, never_called, &calls), 0);
	int rc = loop_watch(loop, fds[0], EPOLLIN, never_called, &calls);
	int e = errno;

	cr_assert_eq(rc, -1, "the same fd watched twice");
	cr_assert_eq(e, EEXIST);
	cr_assert_eq(loop_unwatch(loop, fds[0]), 0);
	close(fds[0]);
	close(fds[1]);
	loop_free(loop);
}

LOOP_TEST(unwatch_of_a_closed_fd_is_tolerated)
{
	struct loop *loop = new_loop();
	int fds[2], calls = 0;

	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(loop_watch(loop, fds[0], EPOLLIN, never_called, &calls), 0);
	close(fds[0]);
	cr_assert_eq(loop_unwatch(loop, fds[0]), 0, "unwatch of a closed fd: %s", strerror(errno));
	/* ... and of one that was never watched at all. */
	cr_assert_eq(loop_unwatch(loop, fds[1]), 0, "unwatch of an unwatched fd: %s",
	             strerror(errno));
	close(fds[1]);
	loop_free(loop);
}

/* Parked, a descriptor calls nobody back, and watched again it does: with no
 * data waiting it keeps its registration (no system call); with data that
 * came while it was parked, the registration was let go and is made anew. */
LOOP_TEST(parked_fd_is_quiet_and_watched_again_fires)
{
	struct loop *loop = new_loop();
	struct pipe_watch p = {0};
	int calls = 0;

	cr_assert_eq(pipe(p.fds), 0);
	cr_assert_eq(loop_watch(loop, p.fds[0], EPOLLIN, never_called, &calls), 0);
	cr_assert_eq(loop_park(loop, p.fds[0]), 0);
	cr_assert_eq(write(p.fds[1], "x", 1), 1);
	cr_assert_not_null(loop_timer_start(loop, 20 * 1000000ull, stop_cb, NULL));
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(calls, 0, "a parked descriptor called back");

	cr_assert_eq(loop_watch(loop, p.fds[0], EPOLLIN, pipe_readable, &p), 0);
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(p.calls, 1);
	cr_assert_eq(p.byte, 'x');

	/* Parked with nothing to read, then watched again before any data. */
	cr_assert_eq(loop_park(loop, p.fds[0]), 0);
	cr_assert_eq(loop_watch(loop, p.fds[0], EPOLLIN, pipe_readable, &p), 0);
	pthread_t writer;
	cr_assert_eq(pthread_create(&writer, NULL, write_later, &p), 0);
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(pthread_join(writer, NULL), 0);
	cr_assert_eq(p.calls, 2);
	cr_assert_eq(loop_unwatch(loop, p.fds[0]), 0);
	close(p.fds[0]);
	close(p.fds[1]);
	loop_free(loop);
}

/* A parked descriptor that closes and whose number goes to a new file: after
 * loop_forget the new one is registered, and fires. */
LOOP_TEST(forgotten_number_serves_the_new_file)
{
	struct loop *loop = new_loop();
	struct pipe_watch p = {0};
	int old[2], calls = 0;

	cr_assert_eq(pipe(old), 0);
	cr_assert_eq(loop_watch(loop, old[0], EPOLLIN, never_called, &calls), 0);
	cr_assert_eq(loop_park(loop, old[0]), 0);
	loop_forget(loop, old[0]);
	close(old[0]);
	close(old[1]);
	cr_assert_eq(pipe(p.fds), 0);
	cr_assert_eq(p.fds[0], old[0], "the new pipe did not take the old number");
	cr_assert_eq(loop_watch(loop, p.fds[0], EPOLLIN, pipe_readable, &p), 0);
	cr_assert_eq(write(p.fds[1], "y", 1), 1);
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(p.calls, 1);
	cr_assert_eq(p.byte, 'y');
	cr_assert_eq(calls, 0);
	cr_assert_eq(loop_unwatch(loop, p.fds[0]), 0);
	close(p.fds[0]);
	close(p.fds[1]);
	loop_free(loop);
}

struct posted {
	struct loop *loop;
	pthread_t loop_thread;
	bool ran_on_loop_thread;
	int calls;
	double posted_at, ran_at;
};

static void posted_cb(struct loop *loop, void *arg)
{
	struct posted *p = arg;

	p->calls++;
	p->ran_at = now_s();
	p->ran_on_loop_thread = pthread_equal(pthread_self(), p->loop_thread);
	loop_stop(loop);
}

static void *post_later(void *arg)
{
	struct posted *p = arg;

	sleep_ms(50); /* long enough for the loop to block in epoll_wait */
	p->posted_at = now_s();
	if (loop_call_threadsafe(p->loop, posted_cb, p) != 0)
		return (void *)1;
	return NULL;
}

LOOP_TEST(call_threadsafe_wakes_a_blocked_loop)
{
	struct loop *loop = new_loop();
	struct posted p = {.loop = loop, .loop_thread = pthread_self()};
	pthread_t poster;
	void *ret;

	/* Nothing else is watched or armed: the loop blocks with no timeout. */
	cr_assert_eq(pthread_create(&poster, NULL, post_later, &p), 0);
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(pthread_join(poster, &ret), 0);
	cr_assert_null(ret, "loop_call_threadsafe failed");
	cr_assert_eq(p.calls, 1);
	cr_assert(p.ran_on_loop_thread, "the posted call ran on the poster's thread");
	cr_assert_geq(p.ran_at, p.posted_at);
	cr_assert_lt(p.ran_at - p.posted_at, 0.5);
	loop_free(loop);
}

struct counter {
	int calls;
	int stop_at;
};

static void count_cb(struct loop *loop, void *arg)
{
	struct counter *c = arg;

	if (++c->calls == c->stop_at)
		loop_stop(loop);
}

struct flood {
	struct loop *loop;
	struct counter *counter;
	int n;
};

static void *post_many(void *arg)
{
	struct flood *f = arg;

	for (int i = 0; i < f->n; i++)
		if (loop_call_threadsafe(f->loop, count_cb, f->counter) != 0)
			return (void *)1;
	return NULL;
}

/* Many posts from two threads, some coalesced into one eventfd wake-up: none lost. */
LOOP_TEST(call_threadsafe_loses_nothing)
{
	struct loop *loop = new_loop();
	struct counter c = {.stop_at = 2000};
	struct flood f = {.loop = loop, .counter = &c, .n = 1000};
	pthread_t a, b;
	void *ra, *rb;

	cr_assert_eq(pthread_create(&a, NULL, post_many, &f), 0);
	cr_assert_eq(pthread_create(&b, NULL, post_many, &f), 0);
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(pthread_join(a, &ra), 0);
	cr_assert_eq(pthread_join(b, &rb), 0);
	cr_assert_null(ra);
	cr_assert_null(rb);
	cr_assert_eq(c.calls, 2000);
	loop_free(loop);
}

/* ---- scale: ten thousand timers and a free hook ---------------------------- */

struct ordered {
	int fired;
	long last_deadline_us;
	bool out_of_order;
	int total;
};

struct ordered_timer {
	struct ordered *o;
	long deadline_us;
};

static void ordered_fired(struct loop *loop, void *arg)
{
	struct ordered_timer *t = arg;
	/* 1 ms of slack: the armed time is read just before the timer reads its own
	 * clock, and a preempted test thread can fall between the two */
	if (t->deadline_us + 1000 < t->o->last_deadline_us)
		t->o->out_of_order = true;
	if (t->deadline_us > t->o->last_deadline_us)
		t->o->last_deadline_us = t->deadline_us;
	if (++t->o->fired == t->o->total)
		loop_stop(loop);
}

static int open_descriptors(void)
{
	int n = 0;
	for (int fd = 0; fd < 65536; fd++)
		n += fcntl(fd, F_GETFD) != -1;
	return n;
}

Test(loop, ten_thousand_timers_fire_in_order_on_one_descriptor)
{
	enum { N = 10000 };
	static struct ordered_timer timers[N];
	struct ordered o = {.total = N};
	struct loop *loop = new_loop();
	int before = open_descriptors();
	struct loop_timer *cancelled = NULL;
	double base = now_s();
	for (int i = 0; i < N; i++) {
		/* delays spread over 0-50 ms in a scrambled order; the deadline is
		 * counted from when the timer was armed (the loop over N takes time) */
		long delay_us = (i * 7919L) % 50000;
		long armed_us = (long)((now_s() - base) * 1e6);
		timers[i] = (struct ordered_timer){.o = &o, .deadline_us = armed_us + delay_us};
		struct loop_timer *t =
		    loop_timer_start(loop, (uint64_t)delay_us * 1000, ordered_fired, &timers[i]);
		cr_assert_not_null(t);
		if (i == 1234)
			cancelled = t;
	}
	cr_assert_eq(open_descriptors(), before, "timers must not cost a descriptor each");
	loop_timer_cancel(loop, cancelled);
	o.total = N - 1;
	double t0 = now_s();
	cr_assert_eq(loop_run(loop), 0);
	cr_assert_eq(o.fired, N - 1);
	cr_assert_not(o.out_of_order, "a later deadline fired before an earlier one");
	cr_assert_lt(now_s() - t0, 5.0);
	loop_free(loop);
}

static void count_free(struct loop *loop, void *arg)
{
	(void)loop;
	++*(int *)arg;
}

Test(loop, free_hooks_run_once_while_the_loop_is_whole)
{
	int calls = 0;
	struct loop *loop = new_loop();
	cr_assert_eq(loop_on_free(loop, count_free, &calls), 0);
	cr_assert_eq(loop_on_free(loop, count_free, &calls), 0);
	loop_set_concurrency(loop, 32);
	cr_assert_eq(loop_concurrency(loop), 32);
	loop_free(loop);
	cr_assert_eq(calls, 2);
}
