/* A small single-threaded event loop on epoll, in the spirit of Redis's ae.c:
 * watch file descriptors, arm one-shot timers (timerfd), run callbacks soon,
 * and be woken from another thread through an eventfd. The one runner header a
 * workload may include. */
#ifndef CONCBENCH_LOOP_H
#define CONCBENCH_LOOP_H

#include <stdint.h>

struct loop;
struct loop_timer;

typedef void (*loop_fd_fn)(struct loop *loop, int fd, uint32_t events, void *arg);
typedef void (*loop_call_fn)(struct loop *loop, void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *loop);

/* Watch fd for EPOLLIN/EPOLLOUT/... (level-triggered). 0, or -1 with errno. */
int loop_watch(struct loop *loop, int fd, uint32_t events, loop_fd_fn fn, void *arg);
int loop_rewatch(struct loop *loop, int fd, uint32_t events);
/* Tolerates an fd that is already gone (EBADF/ENOENT), as libcurl's callbacks need. */
int loop_unwatch(struct loop *loop, int fd);
/* Stop calling back for fd but keep its kernel registration, for a descriptor
 * likely to be watched again soon (an HTTP client's idle keep-alive
 * connection): the next loop_watch of fd costs no system call where it asks
 * for the same events, and one (not two) where it asks for others. An event
 * that arrives while fd is parked ends the registration instead. The caller
 * must loop_forget(fd) when fd closes, or at the latest when a new descriptor
 * is given that number (a closed file's registration goes with it, and the
 * loop must not take the new file for the parked one). */
int loop_park(struct loop *loop, int fd);
/* fd is closing, or is a new file: drop whatever the loop remembers of that
 * number, without a system call. Not for a descriptor that stays open. */
void loop_forget(struct loop *loop, int fd);

/* Run fn on the loop's next turn; loop thread only. */
int loop_call_soon(struct loop *loop, loop_call_fn fn, void *arg);
/* The same from any thread: queued under a mutex, the loop woken by its eventfd. */
int loop_call_threadsafe(struct loop *loop, loop_call_fn fn, void *arg);

/* One-shot timer after `ns` nanoseconds (0 fires on the next turn). */
struct loop_timer *loop_timer_start(struct loop *loop, uint64_t ns, loop_call_fn fn, void *arg);
void loop_timer_cancel(struct loop *loop, struct loop_timer *timer);

/* Call fn(loop, arg) from loop_free before the loop lets go of anything, so
 * that a client bound to this loop (a curl multi handle) can unwatch its
 * sockets and free itself while the loop is still whole. Loop thread only. */
int loop_on_free(struct loop *loop, loop_call_fn fn, void *arg);

/* How many tasks the loop's owner keeps in flight at once (the epoll
 * strategy's worker count), so that a workload can size what it binds to the
 * loop (an io_uring queue, a connection cache). 1 until set. */
void loop_set_concurrency(struct loop *loop, int tasks);
int loop_concurrency(const struct loop *loop);

/* Record every callback the loop runs into b (trace.h); NULL: none. */
struct trace_buffer;
void loop_set_trace(struct loop *loop, struct trace_buffer *b);

/* Run until loop_stop; 0, or -1 with errno when epoll_wait fails. */
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);

#endif
