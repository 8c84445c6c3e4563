/* Per-worker timelines of one run (`run --trace`): what each worker did and
 * when, for Chrome's Trace Event Format (docs/trace.md).
 *
 * A run that is traced gets one struct trace; each worker records only into
 * its own struct trace_buffer, so recording takes no lock. The buffers are
 * preallocated in MAP_SHARED memory before any worker starts, so forked
 * workers (processes) write where the parent reads them after the run, and the
 * hot path never allocates, locks or enters the kernel: the clock is
 * CLOCK_MONOTONIC through the vDSO. A full buffer counts what it drops and
 * never blocks. A runner given no trace passes NULL buffers, and every
 * recording function then returns at its first branch. */
#ifndef CONCBENCH_TRACE_H
#define CONCBENCH_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TRACE_DEFAULT_EVENTS 32768 /* per lane: 1 MiB at 32 bytes an event */

enum trace_kind {
	TRACE_TASK,         /* a task, start to end (arg: the task's index) */
	TRACE_HOLD,         /* the gil held (arg: unused) */
	TRACE_WAIT,         /* waiting for the gil (arg: enum gil_reason; GIL_REASONS: the
	                     * forced-switch handshake, waiting for the lock to pass on) */
	TRACE_IO,           /* between task_io_begin and task_io_end */
	TRACE_LOOP,         /* one event-loop callback (arg: enum trace_loop_source) */
	TRACE_FORCED,       /* instant: the holder answered a drop request at a tick */
	TRACE_DROP_REQUEST, /* instant: a waiter asked the holder to drop the lock */
	TRACE_KINDS
};

enum trace_loop_source { TRACE_LOOP_SOON, TRACE_LOOP_FD };

struct trace_event {
	uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC; equal for an instant */
	uint32_t kind;             /* enum trace_kind */
	uint32_t arg;
	uint64_t pad; /* 32 bytes: two events a cache line */
};

/* One worker's buffer, alone on its cache lines: written by that worker only. */
struct trace_buffer {
	_Alignas(64) size_t n, cap;
	uint64_t dropped;
	uint64_t io_began_ns; /* the open I/O section's start, 0 when none */
	struct trace_event *ev;
	/* What the lane shows ("worker 0", "worker 0 tasks"), set by the runner
	 * before its workers start; a lane left unnamed is not written. */
	char name[48];
};

/* The run's buffers: `lanes` of them, each `cap` events long. A runner uses
 * lanes 0 .. workers-1 for its workers (the lock's events under gil, the loop
 * under epoll) and workers .. 2 * workers for a second track where the first
 * would not nest: the gil's tasks (a thread keeps the lock across a task's
 * end), the loop's tasks in flight. */
struct trace {
	int lanes;
	size_t cap;
	struct trace_buffer *lane; /* into the mapping below */
	void *mapping;
	size_t mapping_len;
	/* The memory file behind the mapping, so that a worker started afresh
	 * (forkserver, spawn) can map it too (trace_attach); -1 when none. */
	int fd;
	/* In an attached worker: the lanes' heads in the shared mapping, where
	 * trace_detach writes back what the worker's own copies (lane) counted. */
	struct trace_buffer *shared_lane;
};

static inline uint64_t trace_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void trace_record(struct trace_buffer *b, enum trace_kind kind, uint64_t start_ns,
                                uint64_t end_ns, uint32_t arg)
{
	if (b == NULL)
		return;
	if (b->n == b->cap) {
		b->dropped++;
		return;
	}
	b->ev[b->n++] = (struct trace_event){
	    .start_ns = start_ns, .end_ns = end_ns, .kind = (uint32_t)kind, .arg = arg};
}

static inline void trace_instant(struct trace_buffer *b, enum trace_kind kind, uint32_t arg)
{
	if (b != NULL)
		trace_record(b, kind, trace_now(), 0, arg);
}

/* Lane i's buffer, NULL when the run is not traced. */
static inline struct trace_buffer *trace_lane(struct trace *t, int i)
{
	return t != NULL && i < t->lanes ? &t->lane[i] : NULL;
}

/* Buffers for `lanes` workers of `events` each, in shared memory. 0, or -1
 * with errno. */
int trace_open(struct trace *t, int lanes, size_t events);
void trace_close(struct trace *t);
/* In a worker started afresh: map the buffers of a trace opened by the parent
 * (its fd, lanes and events per lane), with lane copies whose event pointers
 * hold at this process's address. 0, or -1 with errno. */
int trace_attach(struct trace *t, int fd, int lanes, size_t events);
/* Write the attached lanes' counts back where the parent reads them, and unmap. */
void trace_detach(struct trace *t);
/* The lanes a run of `workers` workers may use (see above). */
int trace_lanes_for(int workers);
/* Name lane i (printf-style); its buffer, or NULL when the run is not traced. */
struct trace_buffer *trace_name_lane(struct trace *t, int i, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t trace_dropped(const struct trace *t);
size_t trace_events(const struct trace *t);

void trace_io_begin(struct trace_buffer *b);
void trace_io_end(struct trace_buffer *b);

#endif
