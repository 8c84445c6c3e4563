#include "lib/loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/trace.h"

#define LOOP_MAX_EVENTS 64

/* A watch lives in a slot indexed by its descriptor. The kernel's registration
 * carries the descriptor and the slot's generation, so an event that was
 * queued for a registration since ended (unwatched or forgotten within the
 * batch) is told apart and dropped, with no pointer to chase. */
enum watch_state { WATCH_FREE, WATCH_ACTIVE, WATCH_PARKED };

struct watch {
	loop_fd_fn fn;
	void *arg;
	uint32_t events; /* what the kernel registration asks for */
	uint32_t gen;    /* bumped whenever the registration ends */
	enum watch_state state;
};

struct call {
	loop_call_fn fn;
	void *arg;
};

struct call_queue {
	struct call *items;
	size_t len, cap;
};

/* Timers live in a binary min-heap on their deadline behind one timerfd, so
 * ten thousand sleeping tasks cost ten thousand small structs, not ten
 * thousand descriptors. */
struct loop_timer {
	uint64_t deadline_ns; /* CLOCK_MONOTONIC */
	size_t slot;          /* index in the heap */
	loop_call_fn fn;
	void *arg;
};

struct loop {
	int epfd;
	int wakefd;
	bool stopping;
	struct watch *by_fd; /* indexed by descriptor: lookups stay O(1) at 10k sockets */
	int n_by_fd;
	int timerfd;
	uint64_t armed_ns; /* the timerfd's deadline, 0 when disarmed */
	struct loop_timer **heap;
	size_t n_timers, cap_timers;
	struct call_queue soon;
	pthread_mutex_t posted_mu;
	struct call_queue posted;
	struct call_queue on_free; /* run by loop_free, first thing */
	int concurrency;
	struct trace_buffer *trace; /* NULL unless the run is traced */
};

static int queue_push(struct call_queue *q, loop_call_fn fn, void *arg)
{
	if (q->len == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 16;
		struct call *items = realloc(q->items, cap * sizeof(*items));
		if (items == NULL)
			return -1;
		q->items = items;
		q->cap = cap;
	}
	q->items[q->len++] = (struct call){fn, arg};
	return 0;
}

static struct watch *find_slot(struct loop *loop, int fd)
{
	return fd >= 0 && fd < loop->n_by_fd ? &loop->by_fd[fd] : NULL;
}

static uint64_t watch_data(int fd, const struct watch *w)
{
	return (uint64_t)w->gen << 32 | (uint32_t)fd;
}

/* The slot's registration is over (the descriptor was unwatched or closed):
 * events already queued for it carry the old generation and are dropped. */
static void end_watch(struct watch *w)
{
	w->state = WATCH_FREE;
	w->fn = NULL;
	w->arg = NULL;
	w->gen++;
}

static int make_room_for_fd(struct loop *loop, int fd)
{
	if (fd < loop->n_by_fd)
		return 0;
	int n = loop->n_by_fd ? loop->n_by_fd : 64;
	while (n <= fd)
		n *= 2;
	struct watch *grown = realloc(loop->by_fd, (size_t)n * sizeof(*grown));
	if (grown == NULL)
		return -1;
	memset(grown + loop->n_by_fd, 0, (size_t)(n - loop->n_by_fd) * sizeof(*grown));
	loop->by_fd = grown;
	loop->n_by_fd = n;
	return 0;
}

static void drain_posted(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)events;
	(void)arg;
	uint64_t count;
	while (read(fd, &count, sizeof(count)) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&loop->posted_mu);
	struct call_queue q = loop->posted;
	memset(&loop->posted, 0, sizeof(loop->posted));
	pthread_mutex_unlock(&loop->posted_mu);
	for (size_t i = 0; i < q.len; i++)
		q.items[i].fn(loop, q.items[i].arg);
	free(q.items);
}

static void timers_due(struct loop *loop, int fd, uint32_t events, void *arg);

struct loop *loop_new(void)
{
	struct loop *loop = calloc(1, sizeof(*loop));
	if (loop == NULL)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	loop->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	pthread_mutex_init(&loop->posted_mu, NULL);
	if (loop->epfd < 0 || loop->wakefd < 0 || loop->timerfd < 0 ||
	    loop_watch(loop, loop->wakefd, EPOLLIN, drain_posted, NULL) != 0 ||
	    loop_watch(loop, loop->timerfd, EPOLLIN, timers_due, NULL) != 0) {
		loop_free(loop);
		return NULL;
	}
	return loop;
}

void loop_free(struct loop *loop)
{
	if (loop == NULL)
		return;
	for (size_t i = 0; i < loop->on_free.len; i++)
		loop->on_free.items[i].fn(loop, loop->on_free.items[i].arg);
	free(loop->on_free.items);
	for (size_t i = 0; i < loop->n_timers; i++)
		free(loop->heap[i]);
	free(loop->heap);
	free(loop->by_fd);
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->wakefd >= 0)
		close(loop->wakefd);
	if (loop->timerfd >= 0)
		close(loop->timerfd);
	free(loop->soon.items);
	free(loop->posted.items);
	pthread_mutex_destroy(&loop->posted_mu);
	free(loop);
}

static int register_fd(struct loop *loop, int fd, int op, struct watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.u64 = watch_data(fd, w)};
	if (epoll_ctl(loop->epfd, op, fd, &ev) != 0)
		return -1;
	w->events = events;
	return 0;
}

/* A parked descriptor is still registered: asking again costs a system call
 * only where the events differ, and the registration is made anew where the
 * number now names another file (ENOENT: the parked one was closed). */
static int unpark(struct loop *loop, int fd, struct watch *w, uint32_t events)
{
	if (events != w->events && register_fd(loop, fd, EPOLL_CTL_MOD, w, events) != 0) {
		if (errno != ENOENT)
			return -1;
		w->gen++;
		if (register_fd(loop, fd, EPOLL_CTL_ADD, w, events) != 0)
			return -1;
	}
	w->state = WATCH_ACTIVE;
	return 0;
}

int loop_watch(struct loop *loop, int fd, uint32_t events, loop_fd_fn fn, void *arg)
{
	if (fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (make_room_for_fd(loop, fd) != 0)
		return -1;
	struct watch *w = &loop->by_fd[fd];
	if (w->state == WATCH_ACTIVE) {
		errno = EEXIST;
		return -1;
	}
	int rc = w->state == WATCH_PARKED ? unpark(loop, fd, w, events)
	                                  : register_fd(loop, fd, EPOLL_CTL_ADD, w, events);
	if (rc != 0) {
		if (w->state == WATCH_PARKED)
			end_watch(w);
		return -1;
	}
	w->state = WATCH_ACTIVE;
	w->fn = fn;
	w->arg = arg;
	return 0;
}

int loop_rewatch(struct loop *loop, int fd, uint32_t events)
{
	struct watch *w = find_slot(loop, fd);
	if (w == NULL || w->state != WATCH_ACTIVE) {
		errno = ENOENT;
		return -1;
	}
	if (events == w->events)
		return 0;
	return register_fd(loop, fd, EPOLL_CTL_MOD, w, events);
}

int loop_unwatch(struct loop *loop, int fd)
{
	struct watch *w = find_slot(loop, fd);
	if (w != NULL && w->state != WATCH_FREE)
		end_watch(w);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) != 0 && errno != EBADF &&
	    errno != ENOENT)
		return -1;
	return 0;
}

int loop_park(struct loop *loop, int fd)
{
	struct watch *w = find_slot(loop, fd);
	if (w != NULL && w->state == WATCH_ACTIVE) {
		w->state = WATCH_PARKED;
		w->fn = NULL;
		w->arg = NULL;
	}
	return 0;
}

void loop_forget(struct loop *loop, int fd)
{
	struct watch *w = find_slot(loop, fd);
	if (w != NULL && w->state != WATCH_FREE)
		end_watch(w);
}

int loop_call_soon(struct loop *loop, loop_call_fn fn, void *arg)
{
	return queue_push(&loop->soon, fn, arg);
}

void loop_set_concurrency(struct loop *loop, int tasks)
{
	loop->concurrency = tasks;
}

int loop_concurrency(const struct loop *loop)
{
	return loop->concurrency > 0 ? loop->concurrency : 1;
}

int loop_on_free(struct loop *loop, loop_call_fn fn, void *arg)
{
	return queue_push(&loop->on_free, fn, arg);
}

int loop_call_threadsafe(struct loop *loop, loop_call_fn fn, void *arg)
{
	pthread_mutex_lock(&loop->posted_mu);
	int rc = queue_push(&loop->posted, fn, arg);
	pthread_mutex_unlock(&loop->posted_mu);
	uint64_t one = 1;
	if (rc == 0 && write(loop->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -1;
	return rc;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool earlier(const struct loop_timer *a, const struct loop_timer *b)
{
	return a->deadline_ns < b->deadline_ns;
}

static void heap_place(struct loop *loop, size_t i, struct loop_timer *t)
{
	loop->heap[i] = t;
	t->slot = i;
}

static void sift_up(struct loop *loop, size_t i)
{
	struct loop_timer *t = loop->heap[i];
	while (i > 0 && earlier(t, loop->heap[(i - 1) / 2])) {
		heap_place(loop, i, loop->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_place(loop, i, t);
}

static void sift_down(struct loop *loop, size_t i)
{
	struct loop_timer *t = loop->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= loop->n_timers)
			break;
		if (c + 1 < loop->n_timers && earlier(loop->heap[c + 1], loop->heap[c]))
			c++;
		if (!earlier(loop->heap[c], t))
			break;
		heap_place(loop, i, loop->heap[c]);
		i = c;
	}
	heap_place(loop, i, t);
}

static void heap_remove(struct loop *loop, struct loop_timer *t)
{
	size_t i = t->slot;
	struct loop_timer *last = loop->heap[--loop->n_timers];
	if (last == t)
		return;
	heap_place(loop, i, last);
	sift_down(loop, i);
	sift_up(loop, last->slot);
}

/* Arm the one timerfd for the earliest deadline, or disarm it. */
static void arm_timerfd(struct loop *loop)
{
	struct itimerspec its = {0};
	loop->armed_ns = 0;
	if (loop->n_timers > 0) {
		uint64_t d = loop->heap[0]->deadline_ns;
		its.it_value.tv_sec = (time_t)(d / 1000000000u);
		its.it_value.tv_nsec = (long)(d % 1000000000u);
		loop->armed_ns = d;
	}
	timerfd_settime(loop->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void timers_due(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)events;
	(void)arg;
	uint64_t expirations;
	while (read(fd, &expirations, sizeof(expirations)) < 0 && errno == EINTR)
		;
	uint64_t now = now_ns();
	/* A callback may arm or cancel timers: take them one at a time off the top. */
	while (loop->n_timers > 0 && loop->heap[0]->deadline_ns <= now) {
		struct loop_timer *t = loop->heap[0];
		heap_remove(loop, t);
		loop_call_fn fn = t->fn;
		void *fn_arg = t->arg;
		free(t);
		fn(loop, fn_arg);
	}
	arm_timerfd(loop);
}

struct loop_timer *loop_timer_start(struct loop *loop, uint64_t ns, loop_call_fn fn, void *arg)
{
	if (loop->n_timers == loop->cap_timers) {
		size_t cap = loop->cap_timers ? loop->cap_timers * 2 : 64;
		struct loop_timer **heap = realloc(loop->heap, cap * sizeof(*heap));
		if (heap == NULL)
			return NULL;
		loop->heap = heap;
		loop->cap_timers = cap;
	}
	struct loop_timer *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	*t = (struct loop_timer){.deadline_ns = now_ns() + ns, .fn = fn, .arg = arg};
	loop->heap[loop->n_timers++] = t;
	sift_up(loop, loop->n_timers - 1);
	/* Only an earlier deadline needs a system call: a later one is picked up
	 * when the armed one fires (a client such as curl pushes its timeout
	 * back on every request, and would otherwise pay a syscall each time). */
	if (loop->armed_ns == 0 || t->deadline_ns < loop->armed_ns)
		arm_timerfd(loop);
	return t;
}

/* A cancelled timer that was the earliest leaves the timerfd armed early: the
 * wake-up then finds nothing due and re-arms, which is cheaper than re-arming
 * on every cancel. */
void loop_timer_cancel(struct loop *loop, struct loop_timer *timer)
{
	if (timer == NULL)
		return;
	heap_remove(loop, timer);
	free(timer);
}

void loop_stop(struct loop *loop)
{
	loop->stopping = true;
}

/* A traced loop records each callback it ran, from `began` to now. */
static void trace_callback_end(struct loop *loop, uint64_t began, enum trace_loop_source from)
{
	if (loop->trace != NULL)
		trace_record(loop->trace, TRACE_LOOP, began, trace_now(), (uint32_t)from);
}

static void run_soon_calls(struct loop *loop)
{
	/* Calls queued by these calls wait for the next turn, as asyncio does. */
	struct call_queue q = loop->soon;
	memset(&loop->soon, 0, sizeof(loop->soon));
	for (size_t i = 0; i < q.len; i++) {
		uint64_t began = loop->trace ? trace_now() : 0;
		q.items[i].fn(loop, q.items[i].arg);
		trace_callback_end(loop, began, TRACE_LOOP_SOON);
	}
	free(q.items);
}

void loop_set_trace(struct loop *loop, struct trace_buffer *b)
{
	loop->trace = b;
}

/* An event for a registration that has since ended is dropped; one for a
 * parked descriptor (an idle connection the server closed, say) ends the
 * registration that parking kept, so that it does not fire again. */
static void dispatch(struct loop *loop, const struct epoll_event *e)
{
	int fd = (int)(uint32_t)e->data.u64;
	struct watch *w = find_slot(loop, fd);
	if (w == NULL || w->gen != (uint32_t)(e->data.u64 >> 32) || w->state == WATCH_FREE)
		return;
	if (w->state == WATCH_PARKED) {
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		end_watch(w);
		return;
	}
	uint64_t began = loop->trace ? trace_now() : 0;
	w->fn(loop, fd, e->events, w->arg);
	trace_callback_end(loop, began, TRACE_LOOP_FD);
}

int loop_run(struct loop *loop)
{
	struct epoll_event ev[LOOP_MAX_EVENTS];
	loop->stopping = false;
	while (!loop->stopping) {
		run_soon_calls(loop);
		if (loop->stopping)
			break;
		int timeout = loop->soon.len > 0 ? 0 : -1;
		int n = epoll_wait(loop->epfd, ev, LOOP_MAX_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (int i = 0; i < n && !loop->stopping; i++)
			dispatch(loop, &ev[i]);
	}
	return 0;
}
