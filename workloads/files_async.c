/* The files workload on the event loop. epoll refuses regular files (EPERM),
 * so the reads go elsewhere and only their completions come back through the
 * loop, as in libuv and asyncio:
 *
 * - io_uring (liburing): one ring per loop, as deep as the loop keeps tasks in
 *   flight, its completions waking the loop through an eventfd registered with
 *   the ring and watched by the loop. Each task is an IORING_OP_OPENAT, then
 *   IORING_OP_READs of files.bs bytes one after another; the SQEs prepared
 *   while completions are handled go to the kernel in one io_uring_submit.
 * - a thread pool (libuv's four threads, asyncio's run_in_executor): blocking
 *   open() and pread() calls, each completion posted back to the loop with
 *   loop_call_threadsafe (the loop's eventfd).
 *
 * Either way every block is hashed on the loop thread, as a coroutine handles
 * what it awaited. The backend is bound to a loop on its first submit and
 * released by the loop's on_free hook; the loop is new for every run. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <liburing.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "workloads/files_async.h"
#include "lib/loop.h"

#define POOL_THREADS 4    /* libuv's default pool size */
#define RING_MAX     4096 /* SQ entries at most; the kernel allows 32768 */

enum job_op { JOB_OPEN, JOB_READ };

/* One task in flight: a file being opened or read. */
struct job {
	struct files_async *fa;
	size_t task;
	task_done_fn done;
	void *arg;
	enum job_op op;
	int fd;
	uint64_t offset; /* bytes read so far */
	struct content_hash hash;
	uint8_t *buf;
	int res;                    /* thread pool: the blocking call's result, -errno on failure */
	bool failing;               /* its failure is queued for the next turn */
	bool zombie;                /* failed with the ring; its memory waits for the ring to go */
	struct job *prev, *next;    /* the binding's live jobs */
	struct job *qnext;          /* the pool's queue */
	char error[TASK_ERROR_LEN]; /* a failure not tied to one call */
	char path[PATH_MAX];
};

struct files_async {
	struct files_async_slot *slot;
	const struct files_set *set;
	struct loop *loop;
	enum files_backend backend; /* IO_URING or THREADPOOL once bound */
	char dead[TASK_ERROR_LEN];  /* why no backend could be set up; "" when one was */
	struct job *live;

	/* io_uring */
	struct io_uring ring;
	bool ring_open;
	int efd;
	bool pumping;         /* handling completions: prepared SQEs wait for the pump's submit */
	bool flush_queued;    /* a pump is queued with loop_call_soon */
	unsigned unsubmitted; /* SQEs prepared, not yet handed to the kernel */
	unsigned submitted;   /* SQEs the kernel has, completions not yet seen */
	bool broken;
	int broken_err;

	/* the thread pool */
	pthread_t threads[POOL_THREADS];
	int n_threads;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool pool_init, stopping;
	struct job *qhead, *qtail;
};

static void queue_op(struct job *job);

/* ---- jobs ---------------------------------------------------------------------- */

static struct job *job_new(struct files_async *fa, size_t task, task_done_fn done, void *arg)
{
	struct job *job = calloc(1, sizeof(*job));
	if (job == NULL)
		return NULL;
	*job = (struct job){.fa = fa, .task = task, .done = done, .arg = arg, .fd = -1};
	if (posix_memalign((void **)&job->buf, 4096, (size_t)fa->set->bs) != 0) {
		free(job);
		errno = ENOMEM;
		return NULL;
	}
	if (files_path(fa->set, task, job->path, sizeof(job->path)) != 0)
		snprintf(job->error, sizeof(job->error), "file %zu: %s", task, strerror(errno));
	content_hash_init(&job->hash);
	job->next = fa->live;
	if (fa->live != NULL)
		fa->live->prev = job;
	fa->live = job;
	return job;
}

static void job_free(struct job *job)
{
	struct files_async *fa = job->fa;
	if (job->prev != NULL)
		job->prev->next = job->next;
	else
		fa->live = job->next;
	if (job->next != NULL)
		job->next->prev = job->prev;
	if (job->fd >= 0)
		close(job->fd);
	free(job->buf);
	free(job);
}

/* The task is over: its result goes to the runner. A zombie keeps its memory
 * until the ring is gone, since the kernel may still write into its buffer. */
static void job_finish(struct job *job, const char *op, int err)
{
	struct task_result r;
	if (job->error[0] != '\0') {
		memset(&r, 0, sizeof(r));
		r.failed = true;
		r.bytes = job->offset;
		memcpy(r.error, job->error, sizeof(r.error));
	} else {
		r = files_task_result(job->fa->set, job->task, job->offset, &job->hash, op, err);
	}
	task_done_fn done = job->done;
	void *arg = job->arg;
	size_t task = job->task;
	if (job->fd >= 0) {
		close(job->fd);
		job->fd = -1;
	}
	if (!job->zombie)
		job_free(job);
	done(arg, task, r);
}

static void job_fail_now(struct loop *loop, void *arg)
{
	(void)loop;
	job_finish(arg, NULL, 0);
}

/* Fails the task on the loop's next turn, so that submit never calls back
 * into the runner that called it. */
static void job_fail_later(struct job *job, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void job_fail_later(struct job *job, const char *fmt, ...)
{
	va_list ap;
	job->failing = true;
	va_start(ap, fmt);
	vsnprintf(job->error, sizeof(job->error), fmt, ap);
	va_end(ap);
	if (loop_call_soon(job->fa->loop, job_fail_now, job) != 0)
		job_finish(job, NULL, 0);
}

/* One step of the task, on the loop thread: res is the call's result. */
static void job_step(struct job *job, int res)
{
	if (job->zombie)
		return;
	if (job->op == JOB_OPEN) {
		if (res < 0) {
			job_finish(job, "open", -res);
			return;
		}
		job->fd = res;
		job->op = JOB_READ;
		queue_op(job);
		return;
	}
	if (res == -EINTR || res == -EAGAIN) {
		queue_op(job);
	} else if (res < 0) {
		job_finish(job, "read", -res);
	} else if (res == 0) {
		job_finish(job, NULL, 0);
	} else {
		content_hash_update(&job->hash, job->buf, (size_t)res);
		job->offset += (uint64_t)res;
		queue_op(job);
	}
}

/* ---- io_uring -------------------------------------------------------------------- */

static void uring_pump(struct files_async *fa);

static void uring_pump_soon(struct loop *loop, void *arg)
{
	(void)loop;
	struct files_async *fa = arg;
	fa->flush_queued = false;
	uring_pump(fa);
}

static void uring_flush_soon(struct files_async *fa)
{
	if (fa->flush_queued)
		return;
	if (loop_call_soon(fa->loop, uring_pump_soon, fa) == 0)
		fa->flush_queued = true;
}

/* The ring failed for good: every live task fails with it. Their memory stays
 * (zombies) until unbind has seen the completions the kernel still owes. */
static void uring_break(struct files_async *fa, int err)
{
	fa->broken = true;
	fa->broken_err = err;
	for (struct job *job = fa->live; job != NULL; job = job->next) {
		if (job->zombie || job->failing)
			continue;
		job->zombie = true;
		job_fail_later(job, "%s: io_uring_submit: %s", job->path, strerror(err));
	}
}

/* Hands the prepared SQEs to the kernel: 0 when all went, -1 when some wait
 * for a later turn or the ring broke. */
static int uring_flush(struct files_async *fa)
{
	while (fa->unsubmitted > 0 && !fa->broken) {
		int ret = io_uring_submit(&fa->ring);
		if (ret > 0) {
			unsigned n =
			    (unsigned)ret < fa->unsubmitted ? (unsigned)ret : fa->unsubmitted;
			fa->unsubmitted -= n;
			fa->submitted += (unsigned)ret;
		} else if (ret == -EINTR) {
			continue;
		} else if (ret == 0 || ret == -EAGAIN || ret == -EBUSY) {
			uring_flush_soon(fa); /* the kernel is short of room: try again next turn */
			return -1;
		} else {
			uring_break(fa, -ret);
			return -1;
		}
	}
	return fa->unsubmitted == 0 ? 0 : -1;
}

/* Handles every completion there is, submits what that prepared, and goes on
 * while the submit completes more (a warm read completes inline). */
static void uring_pump(struct files_async *fa)
{
	struct io_uring_cqe *cqe;
	fa->pumping = true;
	for (;;) {
		while (io_uring_peek_cqe(&fa->ring, &cqe) == 0) {
			struct job *job = io_uring_cqe_get_data(cqe);
			int res = cqe->res;
			io_uring_cqe_seen(&fa->ring, cqe);
			fa->submitted--;
			job_step(job, res);
		}
		if (fa->unsubmitted == 0 || fa->broken || uring_flush(fa) != 0)
			break;
	}
	fa->pumping = false;
}

static void uring_ready(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)events;
	uint64_t count;
	while (read(fd, &count, sizeof(count)) < 0 && errno == EINTR)
		;
	uring_pump(arg);
}

static void uring_queue(struct job *job)
{
	struct files_async *fa = job->fa;
	if (fa->broken) {
		job_fail_later(job, "%s: io_uring_submit: %s", job->path, strerror(fa->broken_err));
		return;
	}
	struct io_uring_sqe *sqe = io_uring_get_sqe(&fa->ring);
	if (sqe == NULL && uring_flush(fa) == 0)
		sqe = io_uring_get_sqe(&fa->ring);
	if (sqe == NULL) {
		job_fail_later(job, "%s: the io_uring submission queue is full", job->path);
		return;
	}
	if (job->op == JOB_OPEN)
		io_uring_prep_openat(sqe, AT_FDCWD, job->path, O_RDONLY | O_CLOEXEC, 0);
	else
		io_uring_prep_read(sqe, job->fd, job->buf, (unsigned)fa->set->bs, job->offset);
	io_uring_sqe_set_data(sqe, job);
	fa->unsubmitted++;
	if (!fa->pumping)
		uring_flush_soon(fa); /* the tasks started in this turn go in one submit */
}

static int uring_open(struct files_async *fa, char *why, size_t len)
{
	int conc = loop_concurrency(fa->loop);
	unsigned entries = conc < 1 ? 1 : conc > RING_MAX ? RING_MAX : (unsigned)conc;
	int rc = io_uring_queue_init(entries, &fa->ring, 0);
	if (rc < 0) {
		snprintf(why, len, "io_uring_queue_init: %s", strerror(-rc));
		return -1;
	}
	fa->ring_open = true;
	struct io_uring_probe *probe = io_uring_get_probe_ring(&fa->ring);
	bool ops = probe != NULL && io_uring_opcode_supported(probe, IORING_OP_OPENAT) &&
	           io_uring_opcode_supported(probe, IORING_OP_READ);
	if (probe != NULL)
		io_uring_free_probe(probe);
	if (!ops) {
		snprintf(why, len, "io_uring lacks OPENAT or READ");
		return -1;
	}
	fa->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fa->efd < 0) {
		snprintf(why, len, "eventfd: %s", strerror(errno));
		return -1;
	}
	rc = io_uring_register_eventfd(&fa->ring, fa->efd);
	if (rc < 0) {
		snprintf(why, len, "io_uring register_eventfd: %s", strerror(-rc));
		return -1;
	}
	if (loop_watch(fa->loop, fa->efd, EPOLLIN, uring_ready, fa) != 0) {
		snprintf(why, len, "epoll_ctl: %s", strerror(errno));
		io_uring_unregister_eventfd(&fa->ring);
		return -1;
	}
	return 0;
}

static void uring_close(struct files_async *fa)
{
	struct io_uring_cqe *cqe;
	/* Whatever the kernel still holds writes into our buffers: wait for it. */
	while (fa->ring_open && fa->submitted > 0 && io_uring_wait_cqe(&fa->ring, &cqe) == 0) {
		io_uring_cqe_seen(&fa->ring, cqe);
		fa->submitted--;
	}
	if (fa->efd >= 0) {
		loop_unwatch(fa->loop, fa->efd);
		close(fa->efd);
		fa->efd = -1;
	}
	if (fa->ring_open)
		io_uring_queue_exit(&fa->ring);
	fa->ring_open = false;
}

/* ---- the thread pool ---------------------------------------------------------------- */

static void pool_done(struct loop *loop, void *arg)
{
	(void)loop;
	struct job *job = arg;
	job_step(job, job->res);
}

static int blocking_call(struct job *job, const struct files_set *set)
{
	for (;;) {
		ssize_t n = job->op == JOB_OPEN
		                ? open(job->path, O_RDONLY | O_CLOEXEC)
		                : pread(job->fd, job->buf, (size_t)set->bs, (off_t)job->offset);
		if (n >= 0)
			return (int)n;
		if (errno != EINTR)
			return -errno;
	}
}

static void *pool_main(void *arg)
{
	struct files_async *fa = arg;
	pthread_mutex_lock(&fa->mu);
	for (;;) {
		while (fa->qhead == NULL && !fa->stopping)
			pthread_cond_wait(&fa->cv, &fa->mu);
		struct job *job = fa->qhead;
		if (job == NULL)
			break;
		fa->qhead = job->qnext;
		if (fa->qhead == NULL)
			fa->qtail = NULL;
		pthread_mutex_unlock(&fa->mu);
		job->res = blocking_call(job, fa->set);
		/* Queued under the loop's mutex and the loop woken through its eventfd;
		 * it can only fail for want of memory, and then the task is lost. */
		loop_call_threadsafe(fa->loop, pool_done, job);
		pthread_mutex_lock(&fa->mu);
	}
	pthread_mutex_unlock(&fa->mu);
	return NULL;
}

static void pool_queue(struct job *job)
{
	struct files_async *fa = job->fa;
	job->qnext = NULL;
	pthread_mutex_lock(&fa->mu);
	if (fa->qtail != NULL)
		fa->qtail->qnext = job;
	else
		fa->qhead = job;
	fa->qtail = job;
	pthread_cond_signal(&fa->cv);
	pthread_mutex_unlock(&fa->mu);
}

/* As many threads as tasks in flight, up to libuv's four. They inherit the
 * loop thread's placement, as an executor's threads share the process's. */
static int pool_open(struct files_async *fa, char *why, size_t len)
{
	int want = loop_concurrency(fa->loop);
	if (want > POOL_THREADS)
		want = POOL_THREADS;
	pthread_mutex_init(&fa->mu, NULL);
	pthread_cond_init(&fa->cv, NULL);
	fa->pool_init = true;
	for (int i = 0; i < want; i++) {
		int rc = pthread_create(&fa->threads[i], NULL, pool_main, fa);
		if (rc != 0) {
			if (fa->n_threads == 0) {
				snprintf(why, len, "pthread_create: %s", strerror(rc));
				return -1;
			}
			break;
		}
		fa->n_threads++;
	}
	return 0;
}

static void pool_close(struct files_async *fa)
{
	if (!fa->pool_init)
		return;
	pthread_mutex_lock(&fa->mu);
	fa->stopping = true;
	pthread_cond_broadcast(&fa->cv);
	pthread_mutex_unlock(&fa->mu);
	for (int i = 0; i < fa->n_threads; i++)
		pthread_join(fa->threads[i], NULL);
	pthread_cond_destroy(&fa->cv);
	pthread_mutex_destroy(&fa->mu);
	fa->pool_init = false;
}

/* ---- binding to a loop ---------------------------------------------------------------- */

static void queue_op(struct job *job)
{
	if (job->fa->backend == FILES_BACKEND_IO_URING)
		uring_queue(job);
	else
		pool_queue(job);
}

/* The loop's on_free hook: nothing of ours outlives the loop. */
static void unbind(struct loop *loop, void *arg)
{
	(void)loop;
	struct files_async *fa = arg;
	pool_close(fa);
	uring_close(fa);
	while (fa->live != NULL)
		job_free(fa->live);
	if (fa->slot->fa == fa) {
		fa->slot->fa = NULL;
		fa->slot->loop = NULL;
	}
	free(fa);
}

static int bind_loop(struct files_async_slot *slot, const struct files_set *set, struct loop *loop)
{
	char why[sizeof(slot->fallback)] = "";
	struct files_async *fa = calloc(1, sizeof(*fa));
	if (fa == NULL)
		return -1;
	*fa = (struct files_async){.slot = slot, .set = set, .loop = loop, .efd = -1};
	slot->fallback[0] = '\0';
	if (slot->want != FILES_BACKEND_THREADPOOL) {
		if (uring_open(fa, why, sizeof(why)) == 0) {
			fa->backend = FILES_BACKEND_IO_URING;
			slot->used = "io_uring";
		} else {
			uring_close(fa);
			if (slot->want == FILES_BACKEND_IO_URING) {
				snprintf(fa->dead, sizeof(fa->dead), "files.backend=io_uring: %s",
				         why);
				slot->used = "io_uring";
			} else {
				snprintf(slot->fallback, sizeof(slot->fallback), "%s", why);
			}
		}
	}
	if (fa->backend != FILES_BACKEND_IO_URING && fa->dead[0] == '\0') {
		slot->used = "threadpool";
		if (pool_open(fa, why, sizeof(why)) == 0)
			fa->backend = FILES_BACKEND_THREADPOOL;
		else
			snprintf(fa->dead, sizeof(fa->dead), "files.backend=threadpool: %s", why);
	}
	if (loop_on_free(loop, unbind, fa) != 0) {
		int saved = errno;
		pool_close(fa);
		uring_close(fa);
		free(fa);
		errno = saved;
		return -1;
	}
	slot->loop = loop;
	slot->fa = fa;
	return 0;
}

int files_async_submit(struct files_async_slot *slot, const struct files_set *set, size_t i,
                       struct loop *loop, task_done_fn done, void *arg)
{
	if (slot->loop != loop && bind_loop(slot, set, loop) != 0)
		return -1;
	struct files_async *fa = slot->fa;
	struct job *job = job_new(fa, i, done, arg);
	if (job == NULL)
		return -1;
	if (fa->dead[0] != '\0')
		job_fail_later(job, "%s", fa->dead);
	else if (job->error[0] != '\0')
		job_fail_later(job, "%s", job->error);
	else
		queue_op(job);
	return 0;
}
