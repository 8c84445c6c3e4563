/* The simulated interpreter lock: the protocol of docs/gil.md, on pthreads.
 *
 * Lock order: mutex, then switch_mutex. The handshake takes switch_mutex alone. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "runners/gil.h"
#include "lib/trace.h"

const char *gil_reason_name(enum gil_reason why)
{
	switch (why) {
	case GIL_START:
		return "start";
	case GIL_AFTER_IO:
		return "after_io";
	case GIL_AFTER_FORCED_DROP:
		return "after_forced_drop";
	case GIL_AFTER_QUEUE:
		return "after_queue";
	case GIL_REASONS:
		break;
	}
	return "unknown";
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct timespec deadline_after_us(unsigned us)
{
	uint64_t at = now_ns() + (uint64_t)us * 1000u;
	return (struct timespec){.tv_sec = (time_t)(at / 1000000000u),
	                         .tv_nsec = (long)(at % 1000000000u)};
}

/* --- histograms --- */

static unsigned floor_log2(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

static size_t hist_index(uint64_t ns)
{
	if (ns < GIL_HIST_SUB)
		return (size_t)ns;
	unsigned e = floor_log2(ns);
	if (e >= GIL_HIST_OCTAVES)
		return GIL_HIST_BUCKETS - 1;
	uint64_t sub = (ns >> (e - GIL_HIST_SUB_BITS)) & (GIL_HIST_SUB - 1);
	return (size_t)(e - GIL_HIST_SUB_BITS + 1) * GIL_HIST_SUB + (size_t)sub;
}

/* The middle of bucket i: the value a percentile falling in it reports. */
static uint64_t hist_bucket_mid(size_t i)
{
	if (i < GIL_HIST_SUB)
		return i;
	unsigned e = (unsigned)(i / GIL_HIST_SUB) + GIL_HIST_SUB_BITS - 1;
	uint64_t sub = i % GIL_HIST_SUB;
	uint64_t width = 1ull << (e - GIL_HIST_SUB_BITS);
	return (GIL_HIST_SUB + sub) * width + width / 2;
}

static void hist_record(struct gil_histogram *h, uint64_t ns)
{
	h->count++;
	h->total_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
	h->bucket[hist_index(ns)]++;
}

static void hist_add(struct gil_histogram *into, const struct gil_histogram *h)
{
	into->count += h->count;
	into->total_ns += h->total_ns;
	if (h->max_ns > into->max_ns)
		into->max_ns = h->max_ns;
	for (size_t i = 0; i < GIL_HIST_BUCKETS; i++)
		into->bucket[i] += h->bucket[i];
}

/* The value at quantile q (0..1], never above the recorded maximum. */
static double hist_quantile_s(const struct gil_histogram *h, double q)
{
	if (h->count == 0)
		return 0.0;
	uint64_t rank = (uint64_t)(q * (double)h->count + 0.999999);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (size_t i = 0; i < GIL_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= rank) {
			uint64_t v = hist_bucket_mid(i);
			return (double)(v < h->max_ns ? v : h->max_ns) * 1e-9;
		}
	}
	return (double)h->max_ns * 1e-9;
}

static struct gil_wait_summary hist_summary(const struct gil_histogram *h)
{
	struct gil_wait_summary s = {
	    .count = h->count,
	    .total_s = (double)h->total_ns * 1e-9,
	    .max_s = (double)h->max_ns * 1e-9,
	    .p50_s = hist_quantile_s(h, 0.50),
	    .p90_s = hist_quantile_s(h, 0.90),
	    .p99_s = hist_quantile_s(h, 0.99),
	};
	s.mean_s = h->count ? s.total_s / (double)h->count : 0.0;
	return s;
}

/* --- the lock --- */

int gil_init(struct gil *g, unsigned interval_us, bool force_switching)
{
	memset(g, 0, sizeof(*g));
	g->interval_us = interval_us ? interval_us : GIL_DEFAULT_INTERVAL_US;
	g->force_switching = force_switching;
	pthread_condattr_t attr;
	int err = pthread_condattr_init(&attr);
	if (err != 0)
		return err;
	/* Absolute deadlines on the monotonic clock: a wall-clock step must not
	 * stretch or cut short a switch interval. */
	err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (err == 0)
		err = pthread_mutex_init(&g->mutex, NULL);
	if (err == 0)
		err = pthread_cond_init(&g->cond, &attr);
	if (err == 0)
		err = pthread_mutex_init(&g->switch_mutex, NULL);
	if (err == 0)
		err = pthread_cond_init(&g->switch_cond, &attr);
	pthread_condattr_destroy(&attr);
	return err;
}

void gil_destroy(struct gil *g)
{
	pthread_cond_destroy(&g->switch_cond);
	pthread_mutex_destroy(&g->switch_mutex);
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->mutex);
}

void gil_thread_init(struct gil_thread *t, struct gil *g, int id)
{
	memset(t, 0, sizeof(*t));
	atomic_init(&t->drop_request, 0);
	t->gil = g;
	t->id = id;
}

/* Ask the holder to drop the lock at its next check point. Counted only when
 * the request is new: several waiters may time out on the same holder. */
static void request_drop(struct gil_thread *holder, struct gil_thread *asker)
{
	if (atomic_exchange_explicit(&holder->drop_request, 1, memory_order_relaxed) == 0) {
		asker->stats.drop_requests++;
		trace_instant(asker->trace, TRACE_DROP_REQUEST, (uint32_t)holder->id);
	}
}

/* One timed wait of a full interval, with g->mutex held. Only a timeout with
 * the same holder still in place earns a drop request: any other wake-up
 * (signal, spurious, a hand-off to a third thread) means the caller starts a
 * fresh interval, as CPython does. */
static void wait_one_interval(struct gil *g, struct gil_thread *t)
{
	uint64_t seen = g->switch_number;
	struct timespec deadline = deadline_after_us(g->interval_us);
	int rc = pthread_cond_timedwait(&g->cond, &g->mutex, &deadline);
	if (rc == ETIMEDOUT && g->locked && g->switch_number == seen)
		request_drop(g->last_holder, t);
}

/* Mark the lock held by t, with g->mutex held. */
static void take(struct gil *g, struct gil_thread *t)
{
	g->locked = true;
	if (g->last_holder != t) {
		pthread_mutex_lock(&g->switch_mutex);
		g->last_holder = t;
		g->switch_number++;
		/* Wakes a releaser waiting in the handshake for exactly this. */
		pthread_cond_broadcast(&g->switch_cond);
		pthread_mutex_unlock(&g->switch_mutex);
	}
	t->switch_at_take = g->switch_number;
	/* A request aimed at an earlier slice of this thread is answered. */
	atomic_store_explicit(&t->drop_request, 0, memory_order_relaxed);
}

void gil_acquire(struct gil_thread *t, enum gil_reason why)
{
	struct gil *g = t->gil;
	int saved_errno = errno;
	uint64_t start = now_ns();

	pthread_mutex_lock(&g->mutex);
	while (g->locked)
		wait_one_interval(g, t);
	take(g, t);
	pthread_mutex_unlock(&g->mutex);

	t->acquired_ns = now_ns();
	hist_record(&t->stats.wait[why], t->acquired_ns - start);
	trace_record(t->trace, TRACE_WAIT, start, t->acquired_ns, (uint32_t)why);
	errno = saved_errno;
}

/* Mark the lock free and wake one waiter; returns the hand-off to complete. */
static struct gil_handoff drop(struct gil_thread *t)
{
	struct gil *g = t->gil;
	/* Stamped before the lock is marked free, as acquired_ns is after it was
	 * taken: two threads' traced holds never overlap. */
	uint64_t released = now_ns();
	hist_record(&t->stats.hold, released - t->acquired_ns);
	trace_record(t->trace, TRACE_HOLD, t->acquired_ns, released, 0);

	pthread_mutex_lock(&g->mutex);
	g->locked = false;
	struct gil_handoff h = {
	    .pending = g->force_switching &&
	               atomic_load_explicit(&t->drop_request, memory_order_relaxed) != 0,
	    .switch_number = g->switch_number,
	};
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->mutex);
	return h;
}

/* The handshake. A pending drop request means a waiter is in gil_acquire, and
 * a waiter leaves only by taking the lock, so switch_number will move; testing
 * it under switch_mutex, which the taker holds while bumping it and
 * signalling, leaves no window for a lost wake-up. */
static void wait_for_switch(struct gil_thread *t, struct gil_handoff h)
{
	struct gil *g = t->gil;
	uint64_t start = now_ns();
	pthread_mutex_lock(&g->switch_mutex);
	while (g->switch_number == h.switch_number)
		pthread_cond_wait(&g->switch_cond, &g->switch_mutex);
	pthread_mutex_unlock(&g->switch_mutex);
	uint64_t end = now_ns();
	hist_record(&t->stats.handshake, end - start);
	/* A wait too, for the lock to pass on: traced as one with no reason of
	 * the four (the trace calls it the handshake). */
	trace_record(t->trace, TRACE_WAIT, start, end, GIL_REASONS);
}

struct gil_handoff gil_release_begin(struct gil_thread *t)
{
	int saved_errno = errno;
	t->stats.voluntary_releases++;
	struct gil_handoff h = drop(t);
	errno = saved_errno;
	return h;
}

void gil_release_complete(struct gil_thread *t, struct gil_handoff h)
{
	if (!h.pending)
		return;
	int saved_errno = errno;
	wait_for_switch(t, h);
	errno = saved_errno;
}

void gil_release(struct gil_thread *t)
{
	gil_release_complete(t, gil_release_begin(t));
}

void gil_release_final(struct gil_thread *t)
{
	(void)gil_release_begin(t);
}

void gil_yield(struct gil_thread *t)
{
	int saved_errno = errno;
	uint64_t forced = now_ns();
	hist_record(&t->stats.forced_slice, forced - t->acquired_ns);
	t->stats.forced_switches++;
	trace_record(t->trace, TRACE_FORCED, forced, forced, 0);
	struct gil_handoff h = drop(t);
	if (h.pending)
		wait_for_switch(t, h);
	gil_acquire(t, GIL_AFTER_FORCED_DROP);
	/* The lock came back to this thread with switch_number unchanged only if
	 * nobody else held it in between. */
	if (t->switch_at_take != h.switch_number)
		t->stats.forced_handed_over++;
	errno = saved_errno;
}

/* --- statistics --- */

/* One histogram, summed over the threads: the one at byte offset off in
 * struct gil_thread_stats. */
static void sum_histogram(const struct gil_thread *threads, size_t n, size_t off,
                          struct gil_histogram *into)
{
	memset(into, 0, sizeof(*into));
	for (size_t i = 0; i < n; i++)
		hist_add(into,
		         (const struct gil_histogram *)((const char *)&threads[i].stats + off));
}

#define HIST_OFFSET(field) offsetof(struct gil_thread_stats, field)
#define WAIT_OFFSET(r)     (HIST_OFFSET(wait) + (size_t)(r) * sizeof(struct gil_histogram))

static void collect_counters(const struct gil_thread *threads, size_t n, struct gil_stats *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct gil_thread_stats *s = &threads[i].stats;
		out->forced_switches += s->forced_switches;
		out->forced_handed_over += s->forced_handed_over;
		out->voluntary_releases += s->voluntary_releases;
		out->drop_requests += s->drop_requests;
	}
}

void gil_collect(const struct gil *g, const struct gil_thread *threads, size_t n, double wall_s,
                 struct gil_stats *out)
{
	struct gil_histogram h, all_waits; /* a few KiB each: fine on any thread's stack */

	memset(out, 0, sizeof(*out));
	out->interval_us = g->interval_us;
	out->force_switching = g->force_switching;
	out->threads = (int)n;
	out->wall_s = wall_s;
	out->switches = g->switch_number;
	collect_counters(threads, n, out);

	memset(&all_waits, 0, sizeof(all_waits));
	for (int r = 0; r < GIL_REASONS; r++) {
		sum_histogram(threads, n, WAIT_OFFSET(r), &h);
		out->acquisitions_by[r] = h.count;
		out->wait_by[r] = hist_summary(&h);
		hist_add(&all_waits, &h);
	}
	out->acquisitions = all_waits.count;
	out->wait = hist_summary(&all_waits);

	sum_histogram(threads, n, HIST_OFFSET(hold), &h);
	out->hold_total_s = (double)h.total_ns * 1e-9;
	out->hold_max_s = (double)h.max_ns * 1e-9;
	out->utilisation = wall_s > 0 ? out->hold_total_s / wall_s : 0.0;

	sum_histogram(threads, n, HIST_OFFSET(forced_slice), &h);
	out->forced_slice_median_s = hist_quantile_s(&h, 0.5);

	sum_histogram(threads, n, HIST_OFFSET(handshake), &h);
	out->handshakes = h.count;
	out->handshake_total_s = (double)h.total_ns * 1e-9;
	out->handshake_max_s = (double)h.max_ns * 1e-9;
}

double gil_thread_hold_s(const struct gil_thread *t)
{
	return (double)t->stats.hold.total_ns * 1e-9;
}
