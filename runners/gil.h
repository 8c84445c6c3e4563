/* The simulated interpreter lock (docs/gil.md): CPython's "new GIL" restated for
 * pthreads. One struct gil is the lock; each thread that may hold it owns one
 * struct gil_thread (the thread state), with its own drop-request word and its
 * own statistics, summed by gil_collect once the threads are done. */
#ifndef CONCBENCH_GIL_H
#define CONCBENCH_GIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GIL_DEFAULT_INTERVAL_US 5000u /* sys.getswitchinterval() == 0.005 */

/* Why a thread takes the lock: the wait's reason, so that the convoy figure
 * (after I/O) is not blurred by the others. */
enum gil_reason {
	GIL_START,             /* a thread's first acquisition */
	GIL_AFTER_IO,          /* Py_END_ALLOW_THREADS after a blocking call */
	GIL_AFTER_FORCED_DROP, /* taking it back after answering a drop request */
	GIL_AFTER_QUEUE,       /* the pool's wait for the next task (queue.get) */
	GIL_REASONS
};

const char *gil_reason_name(enum gil_reason why);

/* Log-linear histogram of durations in nanoseconds: 16 linear steps per power
 * of two, so a percentile read back from it is within about 3%. Fixed size, so
 * recording never allocates. */
#define GIL_HIST_SUB_BITS 4
#define GIL_HIST_SUB      (1u << GIL_HIST_SUB_BITS)
#define GIL_HIST_OCTAVES  41 /* up to 2^41 ns, about 36 minutes */
#define GIL_HIST_BUCKETS  ((GIL_HIST_OCTAVES - GIL_HIST_SUB_BITS + 1) * GIL_HIST_SUB)

struct gil_histogram {
	uint64_t count;
	uint64_t total_ns;
	uint64_t max_ns;
	uint64_t bucket[GIL_HIST_BUCKETS];
};

/* One thread's counters: written only by that thread, read after it ends. */
struct gil_thread_stats {
	struct gil_histogram wait[GIL_REASONS]; /* acquisitions and their waits, by reason */
	struct gil_histogram hold;              /* every slice, however it ended */
	struct gil_histogram forced_slice;      /* slices that ended in a forced drop */
	struct gil_histogram handshake;         /* waits for another thread to take over */
	uint64_t forced_switches;               /* releases answering a drop request at a tick */
	uint64_t forced_handed_over;            /* ... after which another thread held it */
	uint64_t voluntary_releases;            /* I/O, the queue wait, the final release */
	uint64_t drop_requests;                 /* requests this thread issued while waiting */
};

struct gil;
struct trace_buffer;

struct gil_thread {
	/* Set by a waiter, read by the holder at every tick: alone on its cache
	 * line so that the hot relaxed load never shares it with counters. */
	_Alignas(64) atomic_uint drop_request;
	_Alignas(64) struct gil *gil;
	int id;
	uint64_t acquired_ns;       /* when the current slice began */
	uint64_t switch_at_take;    /* the lock's switch_number when this thread took it */
	struct trace_buffer *trace; /* NULL unless the run is traced (trace.h) */
	struct gil_thread_stats stats;
};

struct gil {
	pthread_mutex_t mutex; /* guards everything below but the switch handshake */
	pthread_cond_t cond;   /* waiters for the lock; CLOCK_MONOTONIC */
	bool locked;
	struct gil_thread *last_holder; /* the holder while locked */
	/* Bumped when the lock passes to a different thread. Written with both
	 * mutexes held, so it may be read under either. */
	uint64_t switch_number;
	/* The forced-switch handshake: a thread answering a drop request waits
	 * here until someone else has taken the lock. */
	pthread_mutex_t switch_mutex;
	pthread_cond_t switch_cond;
	unsigned interval_us;
	bool force_switching;
};

/* interval_us 0 means the default. 0, or an errno value. */
int gil_init(struct gil *g, unsigned interval_us, bool force_switching);
void gil_destroy(struct gil *g);
void gil_thread_init(struct gil_thread *t, struct gil *g, int id);

/* Take the lock by the full protocol (timed waits, drop requests). errno is
 * preserved. */
void gil_acquire(struct gil_thread *t, enum gil_reason why);

/* A voluntary release (Py_BEGIN_ALLOW_THREADS). If a drop request is pending,
 * the release answers it: with force_switching, wait until another thread has
 * taken the lock. errno is preserved. */
void gil_release(struct gil_thread *t);
/* A thread's last release: it will not compete again, so no handshake. */
void gil_release_final(struct gil_thread *t);

/* gil_release in two halves, for a caller that learns only after releasing
 * whether that release was its last (the pool's wait for the next task):
 * complete the hand-off, or drop it when the thread is finished. */
struct gil_handoff {
	bool pending;           /* the release answered a drop request */
	uint64_t switch_number; /* the lock's switch_number at the release */
};
struct gil_handoff gil_release_begin(struct gil_thread *t);
void gil_release_complete(struct gil_thread *t, struct gil_handoff h);

/* The slow path of gil_tick: drop the lock (forced, with the handshake) and
 * take it back by the full protocol. */
void gil_yield(struct gil_thread *t);

/* The check point, at every back-edge of a kernel: one relaxed load. */
static inline void gil_tick(struct gil_thread *t)
{
	if (__builtin_expect(atomic_load_explicit(&t->drop_request, memory_order_relaxed) != 0, 0))
		gil_yield(t);
}

/* The summed statistics (the "gil" object of a result, docs/gil.md). Times in seconds. */
struct gil_wait_summary {
	uint64_t count;
	double total_s, mean_s, max_s;
	double p50_s, p90_s, p99_s;
};

struct gil_stats {
	unsigned interval_us;
	bool force_switching;
	int threads;
	double wall_s;
	uint64_t acquisitions; /* all reasons */
	uint64_t acquisitions_by[GIL_REASONS];
	uint64_t forced_switches;
	uint64_t forced_handed_over; /* forced drops after which another thread held the lock */
	uint64_t voluntary_releases;
	uint64_t drop_requests;
	uint64_t switches;                            /* hand-offs: the lock's switch_number */
	struct gil_wait_summary wait;                 /* every acquisition */
	struct gil_wait_summary wait_by[GIL_REASONS]; /* after I/O is the convoy figure */
	double hold_total_s, hold_max_s;
	double forced_slice_median_s;
	double handshake_total_s, handshake_max_s;
	uint64_t handshakes;
	double utilisation; /* total hold / wall */
};

/* Sum the threads' counters into out, once they have all stopped. */
void gil_collect(const struct gil *g, const struct gil_thread *threads, size_t n, double wall_s,
                 struct gil_stats *out);
/* One thread's total hold time, in seconds (its share of the lock). */
double gil_thread_hold_s(const struct gil_thread *t);

#endif
