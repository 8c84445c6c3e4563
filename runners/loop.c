#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define LOOP_MAX_EVENTS 64

struct watch {
	int fd;
	loop_fd_fn fn;
	void *arg;
	struct watch *next;
};

struct call {
	loop_call_fn fn;
	void *arg;
};

struct call_queue {
	struct call *items;
	size_t len, cap;
};

struct loop_timer {
	int fd;
	loop_call_fn fn;
	void *arg;
	struct loop_timer *prev, *next; /* armed timers, so loop_free can release them */
};

struct loop {
	int epfd;
	int wakefd;
	bool stopping;
	struct watch *watches; /* few at a time: a list keeps it simple */
	struct watch *dead;    /* unwatched during a batch; freed once the batch is over */
	struct loop_timer *timers;
	struct call_queue soon;
	pthread_mutex_t posted_mu;
	struct call_queue posted;
	struct call_queue on_free; /* run by loop_free, first thing */
	int concurrency;
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

static struct watch *find_watch(struct loop *loop, int fd, struct watch ***link)
{
	struct watch **pp = &loop->watches;
	for (; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->fd == fd) {
			if (link != NULL)
				*link = pp;
			return *pp;
		}
	}
	return NULL;
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

static void free_watches(struct watch *w)
{
	while (w != NULL) {
		struct watch *next = w->next;
		free(w);
		w = next;
	}
}

struct loop *loop_new(void)
{
	struct loop *loop = calloc(1, sizeof(*loop));
	if (loop == NULL)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&loop->posted_mu, NULL);
	if (loop->epfd < 0 || loop->wakefd < 0 ||
	    loop_watch(loop, loop->wakefd, EPOLLIN, drain_posted, NULL) != 0) {
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
	while (loop->timers != NULL)
		loop_timer_cancel(loop, loop->timers);
	free_watches(loop->watches);
	free_watches(loop->dead);
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->wakefd >= 0)
		close(loop->wakefd);
	free(loop->soon.items);
	free(loop->posted.items);
	pthread_mutex_destroy(&loop->posted_mu);
	free(loop);
}

int loop_watch(struct loop *loop, int fd, uint32_t events, loop_fd_fn fn, void *arg)
{
	struct watch *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -1;
	struct epoll_event ev = {.events = events, .data.ptr = w};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		free(w);
		return -1;
	}
	*w = (struct watch){.fd = fd, .fn = fn, .arg = arg, .next = loop->watches};
	loop->watches = w;
	return 0;
}

int loop_rewatch(struct loop *loop, int fd, uint32_t events)
{
	struct watch *w = find_watch(loop, fd, NULL);
	if (w == NULL) {
		errno = ENOENT;
		return -1;
	}
	struct epoll_event ev = {.events = events, .data.ptr = w};
	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev);
}

int loop_unwatch(struct loop *loop, int fd)
{
	struct watch **link;
	struct watch *w = find_watch(loop, fd, &link);
	if (w != NULL) {
		*link = w->next;
		w->fd = -1; /* an event for it later in this batch is dropped */
		w->next = loop->dead;
		loop->dead = w;
	}
	if (epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL) != 0 && errno != EBADF &&
	    errno != ENOENT)
		return -1;
	return 0;
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

static void timer_fired(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)fd;
	(void)events;
	struct loop_timer *t = arg;
	loop_call_fn fn = t->fn;
	void *fn_arg = t->arg;
	loop_timer_cancel(loop, t);
	fn(loop, fn_arg);
}

struct loop_timer *loop_timer_start(struct loop *loop, uint64_t ns, loop_call_fn fn, void *arg)
{
	struct loop_timer *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	t->fn = fn;
	t->arg = arg;
	/* An all-zero it_value would disarm the timer: 1 ns means "now". */
	if (ns == 0)
		ns = 1;
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)(ns / 1000000000u),
	                                      .tv_nsec = (long)(ns % 1000000000u)}};
	if (t->fd < 0 || timerfd_settime(t->fd, 0, &its, NULL) != 0 ||
	    loop_watch(loop, t->fd, EPOLLIN, timer_fired, t) != 0) {
		if (t->fd >= 0)
			close(t->fd);
		free(t);
		return NULL;
	}
	t->next = loop->timers;
	if (loop->timers != NULL)
		loop->timers->prev = t;
	loop->timers = t;
	return t;
}

void loop_timer_cancel(struct loop *loop, struct loop_timer *timer)
{
	if (timer == NULL)
		return;
	if (timer->prev != NULL)
		timer->prev->next = timer->next;
	else
		loop->timers = timer->next;
	if (timer->next != NULL)
		timer->next->prev = timer->prev;
	loop_unwatch(loop, timer->fd);
	close(timer->fd);
	free(timer);
}

void loop_stop(struct loop *loop)
{
	loop->stopping = true;
}

static void run_soon_calls(struct loop *loop)
{
	/* Calls queued by these calls wait for the next turn, as asyncio does. */
	struct call_queue q = loop->soon;
	memset(&loop->soon, 0, sizeof(loop->soon));
	for (size_t i = 0; i < q.len; i++)
		q.items[i].fn(loop, q.items[i].arg);
	free(q.items);
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
		for (int i = 0; i < n && !loop->stopping; i++) {
			struct watch *w = ev[i].data.ptr;
			if (w->fd >= 0)
				w->fn(loop, w->fd, ev[i].events, w->arg);
		}
		free_watches(loop->dead);
		loop->dead = NULL;
	}
	return 0;
}
