/* mpi: N MPI ranks, on this host or on the hosts of a hostfile, that take the
 * tasks by messages from a driver rank (mpi4py.futures.MPIPoolExecutor).
 *
 * This file runs inside `concbench` and never touches MPI: the fork-based
 * strategies may fork this process whatever the order of the cells, and Open
 * MPI does not survive a fork. The first mpi run starts build/concbench-mpi
 * (bench/mpi_ranks.c) beside the binary as the driver, over two pipes; the
 * driver spawns the ranks and keeps them (one pool per worker count) until
 * the workload's cells are over (mpi_release), as an executor is kept, so a
 * cell's spawn is paid by its first run (the warm-up) and recorded as every
 * rank's start-up. Every hand-out
 * and result comes through the pipes, so a rank that dies or a driver that
 * dies fails the run with the rank, host and task, and the next mpi run starts
 * a new driver. docs/mpi.md tells how to run it across hosts. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/atomic_file.h"
#include "runners/mpi_protocol.h"
#include "runners/runner.h"

enum { P_HOSTFILE, P_SPAWN_TIMEOUT, P_STALL_TIMEOUT };

static const struct param_def mpi_params[] = {
    PARAM_TEXT_DEF("hostfile", "", "Open MPI hostfile: spawn the ranks on its hosts (docs/mpi.md)"),
    PARAM_INT_DEF("spawn_timeout_s", 60, 60, 1, 3600, "give up on a spawn after this long"),
    PARAM_INT_DEF("stall_timeout_s", 0, 0, 0, 86400,
                  "fail the run when the driver says nothing for this long (0: never)"),
    PARAM_END,
};

#define HELPER_NAME "concbench-mpi"

struct driver {
	pid_t pid;
	int job_fd, event_fd;
	char log[PATH_MAX];
};

static struct driver driver = {.pid = -1, .job_fd = -1, .event_fd = -1};

/* Under mpirun the driver takes the place in mpirun's job of the rank mpirun
 * started, and that place cannot be taken twice (a second MPI_Init aborts):
 * once a driver is lost, the run's later mpi cells fail at once. */
static bool driver_lost_under_mpirun;

static bool helper_path(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return false;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash == NULL)
		return false;
	*slash = '\0';
	if ((size_t)snprintf(out, len, "%.*s/%s", (int)(len - sizeof(HELPER_NAME) - 1), self,
	                     HELPER_NAME) >= len)
		return false;
	return access(out, X_OK) == 0;
}

static const char *mpi_unavailable(void)
{
	/* the tests' way to see the unavailable path where Open MPI is */
	if (getenv("CONCBENCH_MPI_UNAVAILABLE") != NULL)
		return "CONCBENCH_MPI_UNAVAILABLE is set";
#ifndef HAVE_MPI
	return "built without Open MPI (pkg-config ompi-c found nothing; make deps installs "
	       "libopenmpi-dev, or this is a sanitizer build)";
#else
	static char why[PATH_MAX + 64];
	char path[PATH_MAX];
	if (!helper_path(path, sizeof(path))) {
		snprintf(why, sizeof(why), "%s is missing beside the binary (make builds it)",
		         HELPER_NAME);
		return why;
	}
	return NULL;
#endif
}

/* What a rank cannot run: the ranks set the workload up themselves, from its
 * parameters, wherever they are; the figures a workload reports beyond its
 * tasks must then not depend on state the run leaves in this process. */
static const char *mpi_cannot_run(const struct workload_ops *ops)
{
	if (ops->stream_samples != NULL)
		return "its I/O stream runs beside the tasks in the process that starts the run";
	if (ops->host_local)
		return "its data set lives on the host that wrote it, and a rank elsewhere would "
		       "read its own copy or none";
	return NULL;
}

/* The workload as the ranks set it up: name, which parameters the user set,
 * then KEY=VALUE per parameter. */
static int workload_spec(const struct workload *w, char *out, size_t len)
{
	/* which values the user gave: a workload's checks may depend on it
	 * (http's sha256 applies only with a URL of the user's) */
	size_t used =
	    (size_t)snprintf(out, len, "%s\n#user=%u", w->ops->name, w->params.set_by_user);
	for (size_t i = 0; i < params_count(w->params.defs) && used < len; i++) {
		const struct param_def *d = &w->params.defs[i];
		if (d->type == PARAM_INT)
			used += (size_t)snprintf(out + used, len - used, "\n%s=%lld", d->key,
			                         (long long)w->params.value[i]);
		else
			used += (size_t)snprintf(out + used, len - used, "\n%s=%s", d->key,
			                         w->params.text[i]);
	}
	return used < len ? 0 : -1;
}

static bool under_mpirun(void)
{
	return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMIX_RANK") != NULL;
}

/* Open MPI's settings for the driver, unless the user chose otherwise: root
 * may run it (CI runs as root); a singleton has only this host's cores as
 * slots, and the cell's worker count is the user's, as for every other
 * strategy; a rank that dies must not take the others down before concbench
 * can say which it was; and on one host, the loopback only. Under mpirun the
 * mapping is mpirun's: its --oversubscribe and --hostfile decide. */
static void driver_environment(const char *hostfile)
{
	if (geteuid() == 0) {
		setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 0);
		setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 0);
	}
	setenv("OMPI_MCA_orte_abort_on_non_zero_status", "0", 0);
	/* which concbench a driver, its daemon and its ranks belong to (the
	 * daemon leaves the process tree; the environment goes with it) */
	char pid[24];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("CONCBENCH_MPI_RUN", pid, 1);
	if (under_mpirun())
		return;
	setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 0);
	if (hostfile[0] == '\0') {
		setenv("OMPI_MCA_btl_tcp_if_include", "lo", 0);
		setenv("OMPI_MCA_oob_tcp_if_include", "lo", 0);
	}
}

static void driver_forget(void)
{
	if (driver.pid >= 0 && under_mpirun())
		driver_lost_under_mpirun = true;
	if (driver.job_fd >= 0)
		close(driver.job_fd);
	if (driver.event_fd >= 0)
		close(driver.event_fd);
	driver.job_fd = driver.event_fd = -1;
	driver.pid = -1;
}

/* Waits up to `patience` seconds for the driver to leave, then kills it. */
static int driver_reap(double patience)
{
	int status = 0;
	for (double waited = 0; waited < patience; waited += 0.01) {
		pid_t got = waitpid(driver.pid, &status, WNOHANG);
		if (got == driver.pid || (got < 0 && errno != EINTR))
			return status;
		usleep(10000);
	}
	/* its process group: the driver and the runtime daemon it started */
	kill(-driver.pid, SIGKILL);
	kill(driver.pid, SIGKILL);
	while (waitpid(driver.pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

static void driver_stop(double patience)
{
	if (driver.pid < 0)
		return;
	close(driver.job_fd);
	driver.job_fd = -1;
	driver_reap(patience);
	driver_forget();
}

static void driver_stop_at_exit(void)
{
	/* concbench's own exit: the driver lets its ranks go (MPI_Finalize). */
	driver_stop(10.0);
}

/* A workload's cells (or its calibration) are over: the driver and its ranks
 * leave. Idle ranks still wake every 2 ms to probe for a message (Open MPI's
 * blocking receive would spin), and pools kept for every worker count of
 * every workload would add up, on a 64-core machine, to over a hundred
 * processes waking beside every other strategy's cells. The next mpi run
 * spawns again (in its warm-up). Under mpirun the driver is the job's one
 * rank and cannot be started twice: it stays. */
static void mpi_release(const struct workload *w)
{
	(void)w;
	if (!under_mpirun())
		driver_stop(10.0);
}

static void exec_driver(const char *path, int job_r, int event_w, const char *log)
{
	setpgid(0, 0);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	int devnull = open("/dev/null", O_RDONLY);
	if (devnull >= 0)
		dup2(devnull, STDIN_FILENO);
	/* Above the two numbers first, so that neither dup2 lands on the other's
	 * source (nor is a no-op that would leave close-on-exec set). */
	int j = fcntl(job_r, F_DUPFD, 10), e = fcntl(event_w, F_DUPFD, 10);
	if (j < 0 || e < 0 || dup2(j, MPI_DRIVER_JOB_FD) < 0 || dup2(e, MPI_DRIVER_EVENT_FD) < 0)
		_exit(127);
	char *argv[] = {(char *)HELPER_NAME, "driver", NULL};
	execv(path, argv);
	_exit(127);
}

static int driver_start(const char *hostfile, struct run_result *res)
{
	static bool registered;
	char path[PATH_MAX];
	if (driver_lost_under_mpirun) {
		run_result_fail(res,
		                "mpi: under mpirun the driver joins mpirun's job once, and it was "
		                "lost in an earlier cell; run the rest under a new mpirun");
		return -1;
	}
	if (!helper_path(path, sizeof(path))) {
		run_result_fail(res, "mpi: %s is missing beside the binary", HELPER_NAME);
		return -1;
	}
	int job[2], event[2];
	if (pipe2(job, O_CLOEXEC) != 0 || pipe2(event, O_CLOEXEC) != 0) {
		run_result_fail(res, "mpi: pipes for the driver: %s", strerror(errno));
		return -1;
	}
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(driver.log, sizeof(driver.log), "%s/concbench-mpi-%d.log", tmp, (int)getpid());
	/* Set here, not in the child: setenv after fork is not safe beside threads. */
	driver_environment(hostfile);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		run_result_fail(res, "mpi: fork for the driver: %s", strerror(errno));
		close(job[0]);
		close(job[1]);
		close(event[0]);
		close(event[1]);
		return -1;
	}
	if (pid == 0)
		exec_driver(path, job[0], event[1], driver.log);
	close(job[0]);
	close(event[1]);
	driver = (struct driver){.pid = pid, .job_fd = job[1], .event_fd = event[0]};
	snprintf(driver.log, sizeof(driver.log), "%s/concbench-mpi-%d.log", tmp, (int)getpid());
	if (!registered) {
		atexit(driver_stop_at_exit);
		registered = true;
	}
	return 0;
}

/* What the run has seen of each rank, for the messages when one is lost. */
struct rank_view {
	int pid;
	char host[MPI_HOST_MAX];
	long held; /* the task it runs (the oldest it was handed), -1 none */
	long queued;
	uint64_t traced_to; /* where its lane's last task ended (run --trace) */
};

struct run_state {
	struct run_result *res;
	struct trace *trace; /* run --trace: each rank's tasks, as they came back */
	struct rank_view *rank;
	int workers;
	size_t back;
	bool done;
};

static void take_event(struct run_state *s, const struct mpi_event *e)
{
	struct run_result *res = s->res;
	if (e->kind != MPI_EV_FAIL && e->kind != MPI_EV_DONE &&
	    (e->rank < 0 || e->rank >= s->workers))
		return;
	struct rank_view *r =
	    e->kind == MPI_EV_FAIL || e->kind == MPI_EV_DONE ? NULL : &s->rank[e->rank];
	switch (e->kind) {
	case MPI_EV_WORKER:
		r->pid = e->pid;
		memcpy(r->host, e->host, sizeof(r->host));
		r->host[sizeof(r->host) - 1] = '\0';
		res->worker[e->rank].planned_cpu = e->cpu;
		res->worker[e->rank].startup_s = e->startup_s;
		snprintf(res->worker[e->rank].host, sizeof(res->worker[e->rank].host), "%s",
		         r->host);
		trace_name_lane(s->trace, e->rank, "rank %d on %s (mpi)", e->rank, r->host);
		break;
	case MPI_EV_ASSIGN:
		if (r->held < 0)
			r->held = (long)e->task;
		else
			r->queued = (long)e->task;
		break;
	case MPI_EV_RESULT:
		if (e->task < res->tasks_total) {
			res->task[e->task] = e->result;
			s->back++;
			/* On this host's clock: the task ended about when its result
			 * arrived (the rank's clock may be another host's), and began
			 * no earlier than the rank's previous one ended. */
			uint64_t end = trace_now();
			uint64_t took = (uint64_t)(e->result.latency_s * 1e9);
			uint64_t start = took < end ? end - took : 0;
			if (start < r->traced_to)
				start = r->traced_to;
			trace_record(trace_lane(s->trace, e->rank), TRACE_TASK, start, end,
			             (uint32_t)e->task);
			r->traced_to = end;
		}
		res->worker[e->rank].tasks++;
		res->worker[e->rank].observed_cpu = e->cpu;
		res->worker[e->rank].planned_cpu = e->pinned;
		r->held = r->queued;
		r->queued = -1;
		break;
	case MPI_EV_FAIL:
		run_result_fail(res, "mpi: %s", e->text);
		s->done = true;
		break;
	case MPI_EV_DONE:
		run_result_stat(res, "spawned", e->spawned);
		run_result_stat(res, "spawn_s", e->spawn_s);
		s->done = true;
		break;
	}
}

static void describe_exit(int status, char *out, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(out, len, "killed by signal %d (SIG%s)", WTERMSIG(status),
		         sigabbrev_np(WTERMSIG(status)));
	else
		snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
}

/* The driver went away without a word: what each rank held is all we know. */
static void fail_driver_gone(struct run_state *s, const char *how)
{
	char held[160] = "";
	for (int i = 0; i < s->workers && strlen(held) < sizeof(held) - 48; i++)
		if (s->rank[i].held >= 0)
			snprintf(held + strlen(held), sizeof(held) - strlen(held),
			         "%s rank %d on %s held task %ld", held[0] ? ";" : ":", i,
			         s->rank[i].host, s->rank[i].held);
	run_result_fail(s->res, "mpi: the driver (pid %d) %s%s (Open MPI's messages: %s)",
	                (int)driver.pid, how, held, driver.log);
}

static void collect(struct run_state *s, double stall_s)
{
	struct mpi_event e;
	size_t have = 0;
	double quiet_since = monotonic_now();
	while (!s->done) {
		struct pollfd pfd = {.fd = driver.event_fd, .events = POLLIN};
		int n = poll(&pfd, 1, 200);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			if (stall_s > 0 && monotonic_now() - quiet_since > stall_s) {
				char how[64];
				snprintf(how, sizeof(how), "said nothing for %.0f s", stall_s);
				fail_driver_gone(s, how);
				return;
			}
			continue;
		}
		ssize_t k = read(driver.event_fd, (char *)&e + have, sizeof(e) - have);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int status = driver_reap(2.0);
			char how[64];
			describe_exit(status, how, sizeof(how));
			fail_driver_gone(s, how);
			driver_forget();
			return;
		}
		quiet_since = monotonic_now();
		have += (size_t)k;
		if (have == sizeof(e)) {
			take_event(s, &e);
			have = 0;
		}
	}
}

static const char *hostfile_of(const struct run_spec *spec)
{
	return spec->params && spec->params->defs == mpi_params ? spec->params->text[P_HOSTFILE]
	                                                        : "";
}

/* One job on the driver's ranks: res->tasks_total tasks of spec's workload
 * (0: none, the pool only). The driver is started first when there is none. */
static int run_job_for(const struct run_spec *spec, struct run_result *res)
{
	static struct mpi_job job;
	memset(&job, 0, sizeof(job));
	job.workers = spec->workers;
	job.tasks = res->tasks_total;
	job.spawn_timeout_s = (double)run_spec_param(spec, mpi_params, "spawn_timeout_s");
	job.ranks_place_themselves = under_mpirun();
	snprintf(job.hostfile, sizeof(job.hostfile), "%s", hostfile_of(spec));
	for (int i = 0; i < spec->workers; i++)
		job.cpus[i] = spec->cpus != NULL ? spec->cpus[i] : -1;
	if (workload_spec(spec->workload, job.spec, sizeof(job.spec)) != 0) {
		run_result_fail(res, "mpi: the workload's parameters do not fit one message");
		return -1;
	}
	if (driver.pid < 0 && driver_start(job.hostfile, res) != 0)
		return -1;

	struct run_state s = {.res = res, .trace = spec->trace, .workers = spec->workers};
	s.rank = calloc((size_t)spec->workers, sizeof(*s.rank));
	if (s.rank == NULL) {
		run_result_fail(res, "mpi: out of memory");
		return -1;
	}
	for (int i = 0; i < spec->workers; i++)
		s.rank[i] = (struct rank_view){.pid = -1, .held = -1, .queued = -1};
	if (write_all(driver.job_fd, &job, sizeof(job)) != 0) {
		int status = driver_reap(2.0);
		char how[64];
		describe_exit(status, how, sizeof(how));
		fail_driver_gone(&s, how);
		driver_forget();
	} else {
		collect(&s, (double)run_spec_param(spec, mpi_params, "stall_timeout_s"));
	}
	/* A driver that failed leaves: reap it, so the next run starts afresh. */
	if (res->failed && driver.pid >= 0)
		driver_stop(2.0);
	free(s.rank);
	return res->failed ? -1 : 0;
}

/* Why spec cannot run on ranks here, or NULL. */
static const char *cannot_run_spec(const struct run_spec *spec, char *buf, size_t len)
{
	const char *why = mpi_unavailable();
	if (why != NULL) {
		snprintf(buf, len, "mpi is unavailable: %s", why);
		return buf;
	}
	why = mpi_cannot_run(spec->workload->ops);
	if (why != NULL) {
		snprintf(buf, len, "mpi does not run %s: %s", spec->workload->ops->name, why);
		return buf;
	}
	if (spec->workers > MPI_MAX_WORKERS) {
		snprintf(buf, len, "mpi: at most %d ranks", MPI_MAX_WORKERS);
		return buf;
	}
	return NULL;
}

/* The driver and the cell's pool of ranks, spawned by a job of no tasks
 * before the clock starts: a Python program creates its MPIPoolExecutor
 * once and keeps it, and the spawn (a third of a second here, seconds on
 * many hosts) would otherwise land on whichever run came first, a counted
 * one when the budget drops the warm-up runs. */
static int mpi_prepare(const struct run_spec *spec, char *err, size_t errlen)
{
	char why[256];
	if (cannot_run_spec(spec, why, sizeof(why)) != NULL)
		return 0; /* the run fails the cell with it */
	/* a ready pool still gets its job of no tasks: its ranks nap between
	 * runs (bench/mpi_ranks.c, wait_message), and this wakes them before the
	 * clock starts */
	struct run_spec quiet = *spec;
	quiet.trace = NULL; /* the traced run names its lanes itself */
	struct run_result res;
	if (run_result_init(&res, 0, spec->workers) != 0) {
		snprintf(err, errlen, "mpi: out of memory");
		return -1;
	}
	int rc = run_job_for(&quiet, &res);
	if (rc != 0)
		snprintf(err, errlen, "%s", res.error[0] ? res.error : "mpi: the spawn failed");
	run_result_free(&res);
	return rc;
}

static int mpi_run(const struct run_spec *spec, struct run_result *res)
{
	char why[256];
	if (cannot_run_spec(spec, why, sizeof(why)) != NULL) {
		run_result_fail(res, "%s", why);
		return -1;
	}
	return run_job_for(spec, res);
}

const struct runner_ops mpi_runner = {
    .name = "mpi",
    .description = "N MPI ranks (Open MPI) on this or other hosts, tasks by messages",
    .python_analogue = "mpi4py.futures.MPIPoolExecutor",
    .stats_key = "mpi",
    .params = mpi_params,
    .unavailable = mpi_unavailable,
    .cannot_run = mpi_cannot_run,
    .separate_binary = true,
    .suite_cpu_at_cores = true,
    .fresh_workers = true,
    .workers_cpu_unseen = true,
    .prepare = mpi_prepare,
    .run = mpi_run,
    .release = mpi_release,
};
