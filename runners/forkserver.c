/* forkserver: workers forked by a small server process
 * (ProcessPoolExecutor(mp_context=get_context('forkserver')), the default on
 * Linux since Python 3.14). `run` starts the server at its very beginning
 * (runner_ops.start_early), before any workload is set up and before the
 * parent holds any ballast, so that the workers it forks inherit none of the
 * parent's heap and their start-up does not grow with it. Each worker sets
 * the workload up again from its parameters, as a Python child of the fork
 * server re-imports the module, and joins the pool (runners/pool.c).
 *
 * The protocol, over a Unix socket pair: the parent sends one request per
 * worker with its descriptors (SCM_RIGHTS: the worker's result pipe, start
 * pipe, the task queue, the trace, the workload's shared ones, and a status
 * pipe); the server forks the worker, answers with its pid, and, when it
 * reaps the worker, writes its wait status into the status pipe, which is how
 * the parent learns of a worker it is not the parent of. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/atomic_file.h"
#include "runners/pool.h"

#define MAX_FDS 16

/* The parent's end of the socket to its server, and the server's pid. */
static int server_sock = -1;
static pid_t server_pid = -1;

struct request {
	int n_fds; /* the last of them is the status pipe */
};

struct server_child {
	pid_t pid;
	int status_fd;
};

/* ---- the server
 * ---------------------------------------------------------------------------------- */

static int receive_request(int sock, int *fds, int *n)
{
	struct request rq;
	char control[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	struct iovec iov = {.iov_base = &rq, .iov_len = sizeof(rq)};
	struct msghdr msg = {.msg_iov = &iov,
	                     .msg_iovlen = 1,
	                     .msg_control = control,
	                     .msg_controllen = sizeof(control)};
	ssize_t k;
	while ((k = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (k != (ssize_t)sizeof(rq))
		return -1; /* the parent has gone, or closed its end */
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (c == NULL || c->cmsg_type != SCM_RIGHTS)
		return -1;
	*n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
	memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)*n);
	return *n == rq.n_fds && *n >= 2 ? 0 : -1;
}

/* In the new worker: its descriptors at POOL_FD_RESULT on, nothing else open
 * but the standard three. */
static _Noreturn void become_worker(const int *fds, int n, hwloc_topology_t topology)
{
	int staged[MAX_FDS];
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	for (int k = 0; k < n; k++)
		if ((staged[k] = fcntl(fds[k], F_DUPFD, 512)) < 0)
			_exit(7);
	for (int k = 0; k < n; k++)
		if (dup2(staged[k], POOL_FD_RESULT + k) < 0)
			_exit(7);
	close_range((unsigned)(POOL_FD_RESULT + n), ~0u, 0);
	pool_fresh_worker_main(topology);
}

static void serve_one(int sock, struct server_child **kids, size_t *n_kids, size_t *cap,
                      hwloc_topology_t topology, int sfd)
{
	int fds[MAX_FDS], n = 0;
	if (receive_request(sock, fds, &n) != 0)
		_exit(0);
	int status_fd = fds[n - 1];
	pid_t pid = fork();
	if (pid == 0) {
		/* The worker keeps nothing of the server's but the topology. */
		free(*kids);
		*kids = NULL;
		close(sock);
		close(sfd);
		close(status_fd);
		become_worker(fds, n - 1, topology);
	}
	for (int k = 0; k < n - 1; k++)
		close(fds[k]);
	if (pid > 0 && *n_kids == *cap) {
		size_t grown = *cap ? 2 * *cap : 16;
		struct server_child *g = realloc(*kids, grown * sizeof(*g));
		if (g == NULL) {
			kill(pid, SIGKILL);
			pid = -1;
		} else {
			*kids = g;
			*cap = grown;
		}
	}
	if (pid > 0)
		(*kids)[(*n_kids)++] = (struct server_child){.pid = pid, .status_fd = status_fd};
	else
		close(status_fd);
	int answer = pid > 0 ? (int)pid : -errno;
	if (write_all(sock, &answer, sizeof(answer)) != 0)
		_exit(0);
}

/* Every worker that has ended: its status to the parent, through its pipe. */
static void reap_children(struct server_child *kids, size_t *n_kids)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t k = 0; k < *n_kids; k++) {
			if (kids[k].pid != pid)
				continue;
			write_all(kids[k].status_fd, &status, sizeof(status));
			close(kids[k].status_fd);
			kids[k] = kids[--*n_kids];
			break;
		}
	}
}

static _Noreturn void server_main(int sock)
{
	/* The server lives as long as the parent, and a Ctrl-C meant for the
	 * run (which finishes its cell first) is not for it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int sfd = signalfd(-1, &chld, SFD_CLOEXEC);
	/* What the server preloads, as Python's preloads modules: the machine's
	 * topology, which every worker binds with. */
	hwloc_topology_t topology = NULL;
	if (hwloc_topology_init(&topology) != 0 || hwloc_topology_load(topology) != 0)
		topology = NULL;
	struct server_child *kids = NULL;
	size_t n_kids = 0, cap = 0;
	for (;;) {
		struct pollfd pfd[2] = {{.fd = sock, .events = POLLIN},
		                        {.fd = sfd, .events = POLLIN}};
		if (poll(pfd, sfd >= 0 ? 2 : 1, sfd >= 0 ? -1 : 100) < 0 && errno != EINTR)
			_exit(1);
		if (pfd[1].revents != 0) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) < 0 && errno != EAGAIN && errno != EINTR)
				_exit(1);
		}
		reap_children(kids, &n_kids);
		if (pfd[0].revents != 0)
			serve_one(sock, &kids, &n_kids, &cap, topology, sfd);
	}
}

/* ---- the parent's side
 * ---------------------------------------------------------------------------- */

static int forkserver_start_early(char *err, size_t errlen)
{
	int sv[2];
	if (server_sock >= 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		snprintf(err, errlen, "the fork server's socket: %s", strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork of the fork server: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		server_main(sv[1]);
	}
	close(sv[1]);
	server_sock = sv[0];
	server_pid = pid;
	return 0;
}

static void forkserver_stop(void)
{
	if (server_sock < 0)
		return;
	/* It keeps nothing worth a goodbye; a forked worker of another strategy
	 * may still hold the socket, so end-of-file alone might not reach it. */
	close(server_sock);
	server_sock = -1;
	kill(server_pid, SIGKILL);
	while (waitpid(server_pid, NULL, 0) < 0 && errno == EINTR)
		;
	server_pid = -1;
}

static int send_request(const int *fds, int n)
{
	struct request rq = {.n_fds = n};
	char control[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	memset(control, 0, sizeof(control));
	struct iovec iov = {.iov_base = &rq, .iov_len = sizeof(rq)};
	struct msghdr msg = {.msg_iov = &iov,
	                     .msg_iovlen = 1,
	                     .msg_control = control,
	                     .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
	ssize_t k;
	while ((k = sendmsg(server_sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return k == (ssize_t)sizeof(rq) ? 0 : -1;
}

static int read_answer(int fd, int *out)
{
	ssize_t k;
	while ((k = read(fd, out, sizeof(*out))) < 0 && errno == EINTR)
		;
	return k == (ssize_t)sizeof(*out) ? 0 : -1;
}

/* The read ends of the status pipes, one per worker of the run. */
struct forkserver_run {
	int *status_fd;
};

static int forkserver_begin(struct pool_run *p)
{
	char err[256];
	/* Outside `run` (a test that calls the runner) nothing started the
	 * server early: it starts now, with what the caller holds. */
	if (server_sock < 0 && forkserver_start_early(err, sizeof(err)) != 0) {
		run_result_fail(p->res, "%s", err);
		return -1;
	}
	struct forkserver_run *fr = calloc(1, sizeof(*fr));
	if (fr != NULL)
		fr->status_fd = calloc((size_t)p->spec->workers, sizeof(int));
	if (fr == NULL || fr->status_fd == NULL) {
		free(fr);
		run_result_fail(p->res, "out of memory");
		return -1;
	}
	for (int id = 0; id < p->spec->workers; id++)
		fr->status_fd[id] = -1;
	p->method_state = fr;
	return 0;
}

static void forkserver_end(struct pool_run *p)
{
	struct forkserver_run *fr = p->method_state;
	for (int id = 0; id < p->spec->workers; id++)
		if (fr->status_fd[id] >= 0)
			close(fr->status_fd[id]);
	free(fr->status_fd);
	free(fr);
}

static pid_t forkserver_worker_start(struct pool_run *p, int id, int result_fd)
{
	struct forkserver_run *fr = p->method_state;
	int fds[MAX_FDS], start_pipe[2] = {-1, -1}, status_pipe[2] = {-1, -1};
	int n = pool_fresh_fds(p, result_fd, fds, MAX_FDS - 1);
	int answer = 0;
	if (n < 0 || pipe2(start_pipe, O_CLOEXEC) != 0 || pipe2(status_pipe, O_CLOEXEC) != 0) {
		run_result_fail(p->res, "pipes for worker %d: %s", id, strerror(errno));
		answer = -1;
	} else {
		fds[POOL_FD_START - POOL_FD_RESULT] = start_pipe[0];
		fds[n++] = status_pipe[1];
		if (send_request(fds, n) != 0 || read_answer(server_sock, &answer) != 0) {
			run_result_fail(p->res, "the fork server (pid %d) is gone",
			                (int)server_pid);
			answer = -1;
		} else if (answer < 0) {
			run_result_fail(p->res, "the fork server's fork for worker %d: %s", id,
			                strerror(-answer));
		}
	}
	if (start_pipe[0] >= 0)
		close(start_pipe[0]);
	if (status_pipe[1] >= 0)
		close(status_pipe[1]);
	if (answer > 0) {
		struct pool_start_message m;
		pool_start_message(p, id, &m);
		if (write_all(start_pipe[1], &m, sizeof(m)) != 0)
			run_result_fail(p->res, "the start message to worker %d: %s", id,
			                strerror(errno));
		fr->status_fd[id] = status_pipe[0];
	} else if (status_pipe[0] >= 0) {
		close(status_pipe[0]);
	}
	if (start_pipe[1] >= 0)
		close(start_pipe[1]);
	return answer > 0 ? (pid_t)answer : -1;
}

static int forkserver_reap(struct pool_run *p, int id, pid_t pid)
{
	struct forkserver_run *fr = p->method_state;
	int status = 0;
	if (read_answer(fr->status_fd[id], &status) != 0) {
		run_result_fail(p->res,
		                "worker %d (pid %d): the fork server (pid %d) died before "
		                "it could say how the worker ended",
		                id, (int)pid, (int)server_pid);
		status = -1;
	}
	close(fr->status_fd[id]);
	fr->status_fd[id] = -1;
	return status;
}

static const struct pool_method forkserver_method = {
    .start = forkserver_worker_start,
    .reap = forkserver_reap,
    .begin = forkserver_begin,
    .end = forkserver_end,
};

static int forkserver_run(const struct run_spec *spec, struct run_result *res)
{
	return pool_run(spec, res, &forkserver_method);
}

const struct runner_ops forkserver_runner = {
    .name = "forkserver",
    .description = "N worker processes forked by a server started before the set-up",
    .python_analogue = "ProcessPoolExecutor(mp_context=get_context('forkserver'))",
    .run = forkserver_run,
    .start_early = forkserver_start_early,
    .stop_late = forkserver_stop,
    .fresh_workers = true,
    .workers_cpu_unseen = true,
};
