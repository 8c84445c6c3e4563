/* spawn: each worker is a fresh execution of this very program
 * (ProcessPoolExecutor(mp_context=get_context('spawn'))): posix_spawn of
 * /proc/self/exe in a hidden worker mode, which sets the workload up again from
 * its parameters, as a spawned Python child re-imports the module, and then
 * joins the pool (runners/pool.c): tasks from the shared queue, results back
 * over its pipe. It inherits nothing of the parent's memory, so its start-up
 * does not grow with it; it pays exec, loading and set-up every time instead.
 *
 * The worker mode is recognised before main() runs (a constructor), so that
 * every program that links the runners (concbench, the test binaries) can be
 * its own worker. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/atomic_file.h"
#include "runners/pool.h"

extern char **environ;

/* argv[1] of a spawned worker; no command of concbench's looks like it. */
#define WORKER_MODE "__concbench-spawned-worker"

/* Above any descriptor the parent would otherwise hand to posix_spawn's
 * dup2s, so that none is overwritten before it is read. */
#define STAGING_FD 512

static __attribute__((constructor)) void run_as_spawned_worker(int argc, char **argv)
{
	if (argc < 2 || argv == NULL || strcmp(argv[1], WORKER_MODE) != 0)
		return;
	/* Ends with the process that spawned it (checked once the death signal
	 * is armed, in case the parent went first). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (argc >= 3 && getppid() != (pid_t)strtol(argv[2], NULL, 10))
		_exit(6);
	pool_fresh_worker_main(NULL);
}

/* The program's own file: /proc/self/exe names the very file this process
 * runs, even after a rebuild replaced the path (whose new program would not
 * speak this one's protocol). Under valgrind, which runs the program from its
 * own binary, that would be valgrind's tool: the path it reports serves then. */
static const char *self_path(char *buf, size_t len)
{
	char real[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", real, sizeof(real) - 1);
	bool valgrind = getenv("VALGRIND_LIB") != NULL || getenv("LD_PRELOAD") != NULL;
	if (n > 0 && valgrind) {
		real[n] = '\0';
		snprintf(buf, len, "%s", real);
		return buf;
	}
	snprintf(buf, len, "/proc/self/exe");
	return buf;
}

struct spawn_state {
	char exe[PATH_MAX];
};

static int spawn_begin(struct pool_run *p)
{
	static struct spawn_state st;
	self_path(st.exe, sizeof(st.exe));
	p->method_state = &st;
	return 0;
}

/* The worker's descriptors at POOL_FD_RESULT, POOL_FD_RESULT + 1, ...: each
 * staged high first, then put in place in the child, the rest closed. */
static int place_fds(posix_spawn_file_actions_t *fa, const int *fds, int n, int *staged)
{
	for (int k = 0; k < n; k++) {
		staged[k] = fcntl(fds[k], F_DUPFD_CLOEXEC, STAGING_FD);
		if (staged[k] < 0)
			return -1;
	}
	for (int k = 0; k < n; k++)
		if (posix_spawn_file_actions_adddup2(fa, staged[k], POOL_FD_RESULT + k) != 0)
			return -1;
	return posix_spawn_file_actions_addclosefrom_np(fa, POOL_FD_RESULT + n);
}

static pid_t spawn_start(struct pool_run *p, int id, int result_fd)
{
	const struct spawn_state *st = p->method_state;
	int fds[16], staged[16], start_pipe[2];
	int n = pool_fresh_fds(p, result_fd, fds, 16);
	pid_t pid = -1;
	if (n < 0 || pipe2(start_pipe, O_CLOEXEC) != 0) {
		run_result_fail(p->res, "pipe for worker %d: %s", id, strerror(errno));
		return -1;
	}
	fds[POOL_FD_START - POOL_FD_RESULT] = start_pipe[0];
	for (int k = 0; k < n; k++)
		staged[k] = -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	char parent[24];
	snprintf(parent, sizeof(parent), "%d", (int)getpid());
	char *argv[] = {(char *)st->exe, WORKER_MODE, parent, NULL};
	int err = place_fds(&fa, fds, n, staged) != 0 ? errno : 0;
	if (err == 0)
		err = posix_spawn(&pid, st->exe, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	for (int k = 0; k < n; k++)
		if (staged[k] >= 0)
			close(staged[k]);
	close(start_pipe[0]);
	if (err != 0) {
		run_result_fail(p->res, "posix_spawn of %s for worker %d: %s", st->exe, id,
		                strerror(err));
		close(start_pipe[1]);
		return -1;
	}
	/* The message fits in the pipe: the worker reads it when it is ready. */
	struct pool_start_message m;
	pool_start_message(p, id, &m);
	if (write_all(start_pipe[1], &m, sizeof(m)) != 0)
		run_result_fail(p->res, "the start message to worker %d: %s", id, strerror(errno));
	close(start_pipe[1]);
	return pid;
}

static int spawn_reap(struct pool_run *p, int id, pid_t pid)
{
	(void)p;
	(void)id;
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

static const struct pool_method spawn_method = {
    .start = spawn_start, .reap = spawn_reap, .begin = spawn_begin};

static int spawn_run(const struct run_spec *spec, struct run_result *res)
{
	return pool_run(spec, res, &spawn_method);
}

const struct runner_ops spawn_runner = {
    .name = "spawn",
    .description = "N worker processes, each a fresh run of this program that sets the "
                   "workload up again",
    .python_analogue = "ProcessPoolExecutor(mp_context=get_context('spawn'))",
    .run = spawn_run,
    .fresh_workers = true,
};
