/* processes: N forked worker processes (ProcessPoolExecutor / multiprocessing.Pool
 * with fork). Tasks are handed out through an atomic counter in MAP_SHARED
 * memory; every result comes back over the worker's own pipe, as a pickle
 * would. A worker that dies is reported with its signal and the task it held;
 * its pipe's end-of-file is what tells the parent, so nothing waits forever. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runners/runner.h"
#include "lib/trace.h"

#define NO_TASK ((long)-1)

/* Lives in memory shared with the children. */
struct shared_queue {
	atomic_size_t next;
	atomic_long current[]; /* the task each worker is running, NO_TASK between tasks */
};

enum message_kind { MSG_TASK, MSG_DONE };

/* One write per message, under PIPE_BUF, so a message arrives whole or not at all. */
struct message {
	enum message_kind kind;
	size_t task;
	union {
		struct task_result result;
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
	bool finished; /* its MSG_DONE arrived */
	struct message buf;
};

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t k = write(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

static void child_main(const struct run_spec *spec, struct shared_queue *q, size_t tasks, int id,
                       int fd, double created)
{
	/* The trace's buffers are MAP_SHARED: the parent reads them after the run. */
	struct trace_buffer *tb = trace_lane(spec->trace, id);
	struct task_ctx ctx = {
	    .hooks = tb ? &trace_io_hooks : NULL, .lock_state = tb, .worker = id};
	struct message m;
	memset(&m, 0, sizeof(m));
	/* A forked child's RSS starts with every page it shares with the parent;
	 * summing those over children would count the parent N times. What a
	 * worker costs is what it adds. */
	long inherited_kib = proc_status_kib("VmRSS");
	worker_bind(spec->topology, spec->cpus[id]);
	m.u.done.record.planned_cpu = spec->cpus[id];
	m.u.done.record.startup_s = monotonic_now() - created;
	for (;;) {
		size_t i = atomic_fetch_add(&q->next, 1);
		if (i >= tasks)
			break;
		atomic_store(&q->current[id], (long)i);
		struct message t = {.kind = MSG_TASK, .task = i};
		t.u.result = trace_timed_task(spec->workload, i, &ctx, tb);
		if (write_all(fd, &t, sizeof(t)) != 0)
			_exit(3);
		atomic_store(&q->current[id], NO_TASK);
		m.u.done.record.tasks++;
	}
	m.kind = MSG_DONE;
	m.u.done.record.observed_cpu = worker_observe_cpu(spec->topology);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	m.u.done.max_rss_kib =
	    inherited_kib >= 0 && ru.ru_maxrss > inherited_kib ? ru.ru_maxrss - inherited_kib : 0;
	if (write_all(fd, &m, sizeof(m)) != 0)
		_exit(3);
	_exit(0);
}

static void accept_message(struct run_result *res, int id, struct child *c)
{
	const struct message *m = &c->buf;
	if (m->kind == MSG_TASK && m->task < res->tasks_total) {
		res->task[m->task] = m->u.result;
	} else if (m->kind == MSG_DONE) {
		res->worker[id] = m->u.done.record;
		res->children_max_rss_kib += m->u.done.max_rss_kib;
		c->finished = true;
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
	if (task != NO_TASK)
		snprintf(held, sizeof(held), "while running task %ld", task);
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

static void reap_child(struct run_result *res, int id, struct child *c, struct shared_queue *q)
{
	int status = 0;
	close(c->fd);
	c->fd = -1;
	while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
		;
	report_exit(res, id, c, status, atomic_load(&q->current[id]));
}

static int fork_workers(const struct run_spec *spec, struct shared_queue *q, struct child *kids,
                        struct run_result *res, double created)
{
	for (int id = 0; id < spec->workers; id++) {
		int fds[2];
		if (pipe2(fds, O_CLOEXEC) != 0) {
			run_result_fail(res, "pipe for worker %d: %s", id, strerror(errno));
			return id;
		}
		pid_t pid = fork();
		if (pid < 0) {
			run_result_fail(res, "fork for worker %d: %s", id, strerror(errno));
			close(fds[0]);
			close(fds[1]);
			return id;
		}
		if (pid == 0) {
			/* A worker never outlives the run that forked it (the driver may
			 * end the process when a cell times out). */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			/* The child keeps only its own write end. */
			for (int k = 0; k < id; k++)
				close(kids[k].fd);
			close(fds[0]);
			child_main(spec, q, res->tasks_total, id, fds[1], created);
		}
		close(fds[1]);
		fcntl(fds[0], F_SETFL, O_NONBLOCK);
		kids[id] = (struct child){.pid = pid, .fd = fds[0]};
	}
	return spec->workers;
}

/* When the parent can no longer listen, no worker may outlive the run. */
static void stop_all(struct run_result *res, struct child *kids, int n, struct shared_queue *q)
{
	for (int id = 0; id < n; id++) {
		if (kids[id].fd < 0)
			continue;
		kill(kids[id].pid, SIGKILL);
		reap_child(res, id, &kids[id], q);
	}
}

/* Reads every worker's messages until all pipes close, reaping each worker as
 * its pipe closes. pfd has room for n entries. */
static void collect(struct run_result *res, struct child *kids, int n, struct shared_queue *q,
                    struct pollfd *pfd)
{
	int open_pipes = n;
	while (open_pipes > 0) {
		for (int id = 0; id < n; id++)
			pfd[id] = (struct pollfd){.fd = kids[id].fd, .events = POLLIN};
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			run_result_fail(res, "poll on the workers' pipes: %s", strerror(errno));
			stop_all(res, kids, n, q);
			return;
		}
		for (int id = 0; id < n; id++) {
			if (kids[id].fd < 0 || pfd[id].revents == 0)
				continue;
			if (!drain_child(res, id, &kids[id])) {
				reap_child(res, id, &kids[id], q);
				open_pipes--;
			}
		}
	}
}

static int processes_run(const struct run_spec *spec, struct run_result *res)
{
	size_t qsize = sizeof(struct shared_queue) + (size_t)spec->workers * sizeof(atomic_long);
	struct shared_queue *q =
	    mmap(NULL, qsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct child *kids = calloc((size_t)spec->workers, sizeof(*kids));
	struct pollfd *pfd = calloc((size_t)spec->workers, sizeof(*pfd));
	if (q == MAP_FAILED || kids == NULL || pfd == NULL) {
		run_result_fail(res, "cannot allocate the shared task queue");
		free(kids);
		free(pfd);
		if (q != MAP_FAILED)
			munmap(q, qsize);
		return -1;
	}
	atomic_init(&q->next, 0);
	for (int id = 0; id < spec->workers; id++) {
		atomic_init(&q->current[id], NO_TASK);
		trace_name_lane(spec->trace, id, "worker %d (process)", id);
	}

	/* Buffered output would be duplicated by every child that flushes it. */
	fflush(NULL);
	double created = monotonic_now();
	int forked = fork_workers(spec, q, kids, res, created);
	collect(res, kids, forked, q, pfd);

	free(kids);
	free(pfd);
	munmap(q, qsize);
	return forked == spec->workers ? 0 : -1;
}

const struct runner_ops processes_runner = {
    .name = "processes",
    .description = "N pre-forked worker processes, results back over pipes",
    .python_analogue = "ProcessPoolExecutor / multiprocessing.Pool (fork)",
    .run = processes_run,
};
