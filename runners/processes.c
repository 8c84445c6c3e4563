/* processes: N forked worker processes (ProcessPoolExecutor / multiprocessing.Pool
 * with fork). Each worker is a copy of the parent as it stands, its set-up
 * workload and whatever else its heap holds, so its start-up grows with the
 * parent's memory (the page tables fork copies). The pool itself, the task
 * hand-out and the dead-worker report, is the one every start method shares
 * (runners/pool.c). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runners/pool.h"

static pid_t fork_start(struct pool_run *p, int id, int result_fd)
{
	pid_t pid = fork();
	if (pid < 0) {
		run_result_fail(p->res, "fork for worker %d: %s", id, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* A worker never outlives the run that forked it (the driver may
		 * end the process when a cell times out). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* The child keeps only its own write end. */
		for (int k = 0; k < p->n_read_ends; k++)
			close(p->read_ends[k]);
		pool_forked_worker_main(p, id, result_fd);
	}
	return pid;
}

static int wait_status(struct pool_run *p, int id, pid_t pid)
{
	(void)p;
	(void)id;
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

static const struct pool_method fork_method = {.start = fork_start, .reap = wait_status};

static int processes_run(const struct run_spec *spec, struct run_result *res)
{
	return pool_run(spec, res, &fork_method);
}

const struct runner_ops processes_runner = {
    .name = "processes",
    .description = "N pre-forked worker processes, results back over pipes",
    .python_analogue = "ProcessPoolExecutor / multiprocessing.Pool (fork)",
    .run = processes_run,
};
