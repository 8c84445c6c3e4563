/* The worker-process pool of the three start methods (pool.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runners/pool.h"
#include "lib/atomic_file.h"
#include "lib/trace.h"

enum message_kind { MSG_TASK, MSG_DONE, MSG_SETUP_FAILED };

/* One write per message, under PIPE_BUF, so a message arrives whole or not at all. */
struct message {
	enum message_kind kind;
	size_t task;
	union {
		struct task_result result; /* MSG_TASK; MSG_SETUP_FAILED: error says why */
		struct {
			struct worker_record record;
			long max_rss_kib;
		} done;
	} u;
};
_Static_assert(sizeof(struct message) <= PIPE_BUF, "a message must be one atomic pipe write");

struct child {
	pid_t pid;
	int fd; /* read end of its pipe, -1 once closed */
	size_t have;
	bool finished;     /* its MSG_DONE arrived */
	bool setup_failed; /* its MSG_SETUP_FAILED arrived */
	struct message buf;
};

/* ---- the worker's side
 * ---------------------------------------------------------------------------
 */

struct pool_worker {
	const struct workload *w;
	hwloc_topology_t topology;
	struct pool_queue *q;
	size_t tasks;
	int id, cpu, fd;
	double created;
	struct trace_buffer *tb;
	/* What the worker's RSS held before it did anything of its own: a forked
	 * worker's pages shared with the parent, which summed over the workers
	 * would count the parent N times; 0 for a fresh one, all of whose
	 * memory is its own, as a spawned interpreter's is. */
	long inherited_kib;
};

/* Takes tasks until none are left, sends each result and then the worker's
 * record; the exit status. */
static int worker_loop(const struct pool_worker *pw)
{
	struct task_ctx ctx = {
	    .hooks = pw->tb ? &trace_io_hooks : NULL, .lock_state = pw->tb, .worker = pw->id};
	struct message m;
	memset(&m, 0, sizeof(m));
	worker_bind(pw->topology, pw->cpu);
	m.u.done.record.planned_cpu = pw->cpu;
	m.u.done.record.startup_s = monotonic_now() - pw->created;
	for (;;) {
		size_t i = atomic_fetch_add(&pw->q->next, 1);
		if (i >= pw->tasks)
			break;
		atomic_store(&pw->q->current[pw->id], (long)i);
		struct message t = {.kind = MSG_TASK, .task = i};
		t.u.result = trace_timed_task(pw->w, i, &ctx, pw->tb);
		if (write_all(pw->fd, &t, sizeof(t)) != 0)
			return 3;
		atomic_store(&pw->q->current[pw->id], POOL_NO_TASK);
		m.u.done.record.tasks++;
	}
	m.kind = MSG_DONE;
	m.u.done.record.observed_cpu = worker_observe_cpu(pw->topology);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	m.u.done.max_rss_kib = pw->inherited_kib >= 0 && ru.ru_maxrss > pw->inherited_kib
	                           ? ru.ru_maxrss - pw->inherited_kib
	                           : 0;
	return write_all(pw->fd, &m, sizeof(m)) != 0 ? 3 : 0;
}

void pool_forked_worker_main(struct pool_run *p, int id, int fd)
{
	const struct run_spec *spec = p->spec;
	struct pool_worker pw = {
	    .w = spec->workload,
	    .topology = spec->topology,
	    .q = p->q,
	    .tasks = p->res->tasks_total,
	    .id = id,
	    .cpu = spec->cpus[id],
	    .fd = fd,
	    .created = p->created,
	    /* The trace's buffers are shared: the parent reads them after the run. */
	    .tb = trace_lane(spec->trace, id),
	    .inherited_kib = proc_status_kib("VmRSS"),
	};
	_exit(worker_loop(&pw));
}

static _Noreturn void report_setup_failure(const char *why)
{
	struct message m;
	memset(&m, 0, sizeof(m));
	m.kind = MSG_SETUP_FAILED;
	snprintf(m.u.result.error, sizeof(m.u.result.error), "%s", why);
	write_all(POOL_FD_RESULT, &m, sizeof(m));
	_exit(4);
}

static hwloc_topology_t load_topology(void)
{
	hwloc_topology_t t;
	if (hwloc_topology_init(&t) != 0)
		return NULL;
	if (hwloc_topology_load(t) != 0) {
		hwloc_topology_destroy(t);
		return NULL;
	}
	return t;
}

void pool_fresh_worker_main(hwloc_topology_t topology)
{
	struct pool_start_message in;
	char why[TASK_ERROR_LEN];
	if (read_all(POOL_FD_START, &in, sizeof(in)) != 0)
		_exit(5); /* the parent went before it told us anything */
	close(POOL_FD_START);
	in.workload[sizeof(in.workload) - 1] = '\0';
	const struct workload_ops *ops = workload_find(in.workload);
	if (ops == NULL || in.n_workload_fds > WORKLOAD_SHARED_FDS_MAX) {
		snprintf(why, sizeof(why), "no workload '%s' here", in.workload);
		report_setup_failure(why);
	}
	struct workload w = {.ops = ops, .params = in.params};
	w.params.defs = ops->params;
	int fds[WORKLOAD_SHARED_FDS_MAX];
	int first = POOL_FD_REST + (in.trace_lanes > 0);
	for (int k = 0; k < in.n_workload_fds; k++)
		fds[k] = first + k;
	int rc = ops->setup_worker != NULL
	             ? ops->setup_worker(&w, fds, in.n_workload_fds, why, sizeof(why))
	             : ops->setup(&w, why, sizeof(why));
	if (rc != 0)
		report_setup_failure(why);
	struct pool_queue *q =
	    mmap(NULL, in.queue_len, PROT_READ | PROT_WRITE, MAP_SHARED, POOL_FD_QUEUE, 0);
	if (q == MAP_FAILED)
		report_setup_failure("cannot map the task queue");
	struct trace trace;
	bool traced = in.trace_lanes > 0 &&
	              trace_attach(&trace, POOL_FD_REST, in.trace_lanes, in.trace_events) == 0;
	if (topology == NULL)
		topology = load_topology();
	struct pool_worker pw = {
	    .w = &w,
	    .topology = topology,
	    .q = q,
	    .tasks = in.tasks,
	    .id = in.id,
	    .cpu = in.cpu,
	    .fd = POOL_FD_RESULT,
	    .created = in.created,
	    .tb = traced ? trace_lane(&trace, in.id) : NULL,
	    .inherited_kib = 0,
	};
	rc = worker_loop(&pw);
	if (traced)
		trace_detach(&trace);
	_exit(rc);
}

int pool_fresh_fds(const struct pool_run *p, int result_fd, int *fds, int max)
{
	const struct run_spec *spec = p->spec;
	const struct workload *w = spec->workload;
	int n = 0;
	if (max < POOL_FD_REST - POOL_FD_RESULT + 1 + 1 + WORKLOAD_SHARED_FDS_MAX)
		return -1;
	fds[n++] = result_fd;
	fds[n++] = -1; /* the start pipe: the method's own */
	fds[n++] = p->queue_fd;
	if (spec->trace != NULL)
		fds[n++] = spec->trace->fd;
	if (w->ops->shared_fds != NULL)
		n += w->ops->shared_fds(w, fds + n, WORKLOAD_SHARED_FDS_MAX);
	return n;
}

void pool_start_message(const struct pool_run *p, int id, struct pool_start_message *m)
{
	const struct run_spec *spec = p->spec;
	const struct workload *w = spec->workload;
	int wfds[WORKLOAD_SHARED_FDS_MAX];
	memset(m, 0, sizeof(*m));
	snprintf(m->workload, sizeof(m->workload), "%s", w->ops->name);
	m->params = w->params;
	m->id = id;
	m->cpu = spec->cpus[id];
	m->workers = spec->workers;
	m->tasks = p->res->tasks_total;
	m->created = p->created;
	m->queue_len = p->queue_len;
	if (spec->trace != NULL) {
		m->trace_lanes = spec->trace->lanes;
		m->trace_events = spec->trace->cap;
	}
	m->n_workload_fds =
	    w->ops->shared_fds != NULL ? w->ops->shared_fds(w, wfds, WORKLOAD_SHARED_FDS_MAX) : 0;
}

/* ---- the parent's side
 * ---------------------------------------------------------------------------
 */

static void accept_message(struct run_result *res, int id, struct child *c)
{
	const struct message *m = &c->buf;
	if (m->kind == MSG_TASK && m->task < res->tasks_total) {
		res->task[m->task] = m->u.result;
	} else if (m->kind == MSG_DONE) {
		res->worker[id] = m->u.done.record;
		res->children_max_rss_kib += m->u.done.max_rss_kib;
		c->finished = true;
	} else if (m->kind == MSG_SETUP_FAILED) {
		c->setup_failed = true;
		run_result_fail(res, "worker %d (pid %d) could not set the workload up: %.160s", id,
		                (int)c->pid, m->u.result.error);
	}
}

/* Reads what is there; returns false at end of file or error. */
static bool drain_child(struct run_result *res, int id, struct child *c)
{
	for (;;) {
		ssize_t k = read(c->fd, (char *)&c->buf + c->have, sizeof(c->buf) - c->have);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return true;
		if (k <= 0)
			return false;
		c->have += (size_t)k;
		if (c->have == sizeof(c->buf)) {
			accept_message(res, id, c);
			c->have = 0;
		}
	}
}

static void report_exit(struct run_result *res, int id, const struct child *c, int status,
                        long task)
{
	char held[48] = "between tasks";
	if (task != POOL_NO_TASK)
		snprintf(held, sizeof(held), "while running task %ld", task);
	if (status < 0 || c->setup_failed)
		return; /* the method or the worker said why */
	if (WIFSIGNALED(status))
		run_result_fail(res, "worker %d (pid %d) killed by signal %d (SIG%s) %s", id,
		                (int)c->pid, WTERMSIG(status), sigabbrev_np(WTERMSIG(status)),
		                held);
	else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		run_result_fail(res, "worker %d (pid %d) exited with status %d %s", id, (int)c->pid,
		                WEXITSTATUS(status), held);
	else if (!c->finished)
		run_result_fail(res, "worker %d (pid %d) closed its pipe without finishing", id,
		                (int)c->pid);
}

static void reap_child(struct pool_run *p, int id, struct child *c)
{
	close(c->fd);
	c->fd = -1;
	int status = p->method->reap(p, id, c->pid);
	report_exit(p->res, id, c, status, atomic_load(&p->q->current[id]));
}

/* When the parent can no longer listen, no worker may outlive the run. */
static void stop_all(struct pool_run *p, struct child *kids, int n)
{
	for (int id = 0; id < n; id++) {
		if (kids[id].fd < 0)
			continue;
		kill(kids[id].pid, SIGKILL);
		reap_child(p, id, &kids[id]);
	}
}

/* Reads every worker's messages until all pipes close, reaping each worker as
 * its pipe closes. pfd has room for n entries. */
static void collect(struct pool_run *p, struct child *kids, int n, struct pollfd *pfd)
{
	int open_pipes = n;
	while (open_pipes > 0) {
		for (int id = 0; id < n; id++)
			pfd[id] = (struct pollfd){.fd = kids[id].fd, .events = POLLIN};
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			run_result_fail(p->res, "poll on the workers' pipes: %s", strerror(errno));
			stop_all(p, kids, n);
			return;
		}
		for (int id = 0; id < n; id++) {
			if (kids[id].fd < 0 || pfd[id].revents == 0)
				continue;
			if (!drain_child(p->res, id, &kids[id])) {
				reap_child(p, id, &kids[id]);
				open_pipes--;
			}
		}
	}
}

static int start_workers(struct pool_run *p, struct child *kids)
{
	for (int id = 0; id < p->spec->workers; id++) {
		int fds[2];
		if (pipe2(fds, O_CLOEXEC) != 0) {
			run_result_fail(p->res, "pipe for worker %d: %s", id, strerror(errno));
			return id;
		}
		pid_t pid = p->method->start(p, id, fds[1]);
		close(fds[1]);
		if (pid < 0) {
			close(fds[0]);
			return id;
		}
		fcntl(fds[0], F_SETFL, O_NONBLOCK);
		kids[id] = (struct child){.pid = pid, .fd = fds[0]};
		p->read_ends[p->n_read_ends++] = fds[0];
	}
	return p->spec->workers;
}

static int open_queue(struct pool_run *p, int workers)
{
	p->queue_len = sizeof(struct pool_queue) + (size_t)workers * sizeof(atomic_long);
	p->queue_fd = memfd_create("concbench-queue", MFD_CLOEXEC);
	if (p->queue_fd < 0 || ftruncate(p->queue_fd, (off_t)p->queue_len) != 0)
		return -1;
	p->q = mmap(NULL, p->queue_len, PROT_READ | PROT_WRITE, MAP_SHARED, p->queue_fd, 0);
	if (p->q == MAP_FAILED) {
		p->q = NULL;
		return -1;
	}
	atomic_init(&p->q->next, 0);
	for (int id = 0; id < workers; id++)
		atomic_init(&p->q->current[id], POOL_NO_TASK);
	return 0;
}

static void close_queue(struct pool_run *p)
{
	if (p->q != NULL)
		munmap(p->q, p->queue_len);
	if (p->queue_fd >= 0)
		close(p->queue_fd);
}

int pool_run(const struct run_spec *spec, struct run_result *res, const struct pool_method *method)
{
	struct pool_run p = {.spec = spec, .res = res, .method = method, .queue_fd = -1};
	struct child *kids = calloc((size_t)spec->workers, sizeof(*kids));
	struct pollfd *pfd = calloc((size_t)spec->workers, sizeof(*pfd));
	p.read_ends = calloc((size_t)spec->workers, sizeof(*p.read_ends));
	if (kids == NULL || pfd == NULL || p.read_ends == NULL ||
	    open_queue(&p, spec->workers) != 0) {
		run_result_fail(res, "cannot allocate the shared task queue: %s", strerror(errno));
		free(kids);
		free(pfd);
		free(p.read_ends);
		close_queue(&p);
		return -1;
	}
	for (int id = 0; id < spec->workers; id++)
		trace_name_lane(spec->trace, id, "worker %d (process)", id);
	int started = 0;
	if (method->begin == NULL || method->begin(&p) == 0) {
		/* Buffered output would be duplicated by every child that flushes it. */
		fflush(NULL);
		p.created = monotonic_now();
		started = start_workers(&p, kids);
		collect(&p, kids, started, pfd);
		if (method->end != NULL)
			method->end(&p);
	}
	free(kids);
	free(pfd);
	free(p.read_ends);
	close_queue(&p);
	return started == spec->workers ? 0 : -1;
}
