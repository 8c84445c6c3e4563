/* build/concbench-mpi: the MPI side of the `mpi` strategy (runners/mpi.c).
 *
 * `concbench` never initialises MPI, so that the fork-based strategies never
 * fork a process that has (Open MPI does not support it). When an mpi cell
 * first runs, runners/mpi.c starts this program as its driver: the MPI
 * singleton, or under `mpirun -np 1 concbench ...` the rank mpirun's job
 * expects, since it inherits that environment. The driver spawns the ranks
 * (MPI_Comm_spawn of this program with "worker"), keeps them between runs as
 * an mpi4py MPIPoolExecutor keeps its workers, and hands the tasks out by
 * messages: each rank holds at most two tasks (one running, one queued, so a
 * rank never waits on a round trip; near the end only an idle rank gets one),
 * and each result that comes back buys its rank the next task. Every hand-out and result goes on to
 * concbench over a pipe, so that concbench knows which task each rank held if the driver dies.
 *
 * Nothing here waits for MPI without a deadline: Open MPI 4.1 reports no
 * error for a peer that died (a receive from it waits forever), so the driver
 * polls (MPI_Iprobe, MPI_Test), checks that each busy rank on its host is
 * still alive, and hears each busy rank's heartbeat (a thread of the rank's,
 * which is how a rank on another host shows it is there); a rank that died or
 * fell silent fails the run with its rank, host and task, and the driver then
 * exits, which takes its ranks with it. docs/mpi.md. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <hwloc.h>
#include <mpi.h>

#include "lib/atomic_file.h"
#include "lib/clock.h"
#include "runners/mpi_protocol.h"
#include "runners/runner.h"
#include "workloads/workload.h"

#define QUEUE_DEPTH 2 /* tasks a rank holds at once */

/* ---- shared ---- */

static void nap_us(long us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

static void host_name(char *out, size_t len)
{
	if (gethostname(out, len) != 0)
		snprintf(out, len, "unknown");
	out[len - 1] = '\0';
}

/* ---- the driver ---- */

struct rank_info {
	int pid;
	char host[MPI_HOST_MAX];
	double startup_s; /* -1 until its first task went out */
	bool beats;       /* it sends heartbeats while it runs a task */
	double heard;     /* when it last said something, on the driver's clock */
	int cpu;          /* the PU the plan gave it, -1 none */
	size_t queue[QUEUE_DEPTH];
	int queued;
};

struct pool {
	MPI_Comm inter;
	int n;
	char hostfile[PARAM_TEXT_MAX];
	double spawned_at, spawn_s;
	bool fresh; /* spawned for the run now going on */
	struct rank_info *rank;
};

#define MAX_POOLS 8
static struct pool pools[MAX_POOLS];
static int n_pools;
static char driver_host[MPI_HOST_MAX];

static int emit(const struct mpi_event *e)
{
	return write_all(MPI_DRIVER_EVENT_FD, e, sizeof(*e));
}

/* The ranks on this host, before the driver leaves without MPI_Finalize: as
 * a singleton its runtime daemon would take them down anyway, but under
 * mpirun they belong to mpirun's job, which would wait for them. (A rank on
 * another host notices nothing; docs/mpi.md.) */
static void kill_local_ranks(void)
{
	for (int i = 0; i < n_pools + 1 && i < MAX_POOLS; i++)
		for (int r = 0; pools[i].rank != NULL && r < pools[i].n; r++)
			if (pools[i].rank[r].pid > 0 &&
			    strcmp(pools[i].rank[r].host, driver_host) == 0)
				kill(pools[i].rank[r].pid, SIGKILL);
}

/* Says why the run cannot go on, and leaves: a driver that lost a rank has
 * messages in flight it can no longer account for. Exiting without
 * MPI_Finalize makes the runtime take the ranks down with it. */
static _Noreturn __attribute__((format(printf, 1, 2))) void fail(const char *fmt, ...)
{
	struct mpi_event e = {.kind = MPI_EV_FAIL};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e.text, sizeof(e.text), fmt, ap);
	va_end(ap);
	emit(&e);
	kill_local_ranks();
	_exit(1);
}

static void on_alarm(int sig)
{
	(void)sig;
	static const char why[] = "the ranks did not start within the spawn timeout";
	struct mpi_event e = {.kind = MPI_EV_FAIL};
	memcpy(e.text, why, sizeof(why));
	ssize_t k = write(MPI_DRIVER_EVENT_FD, &e, sizeof(e));
	(void)k;
	kill_local_ranks();
	_exit(1);
}

static void mpi_error_text(int rc, char *out, size_t len)
{
	char s[MPI_MAX_ERROR_STRING];
	int n = 0;
	if (MPI_Error_string(rc, s, &n) != MPI_SUCCESS)
		snprintf(s, sizeof(s), "MPI error %d", rc);
	snprintf(out, len, "%.*s", (int)(len > 0 ? len - 1 : 0), s);
}

/* Whether a rank still runs: only ranks on the driver's host can be checked
 * this way; a rank elsewhere counts as alive. */
static bool rank_alive(const struct rank_info *r)
{
	if (strcmp(r->host, driver_host) != 0 || r->pid <= 0)
		return true;
	return kill(r->pid, 0) == 0 || errno != ESRCH;
}

static const char *held_text(const struct rank_info *r, char *buf, size_t len)
{
	if (r->queued == 0)
		snprintf(buf, len, "between tasks");
	else
		snprintf(buf, len, "while running task %zu", r->queue[0]);
	return buf;
}

static _Noreturn void fail_dead_rank(const struct pool *p, int rank)
{
	char held[48];
	const struct rank_info *r = &p->rank[rank];
	fail("rank %d (pid %d) on host %s died %s", rank, r->pid, r->host,
	     held_text(r, held, sizeof(held)));
}

/* A non-blocking send completed under watch: a rank that dies meanwhile
 * fails the run instead of hanging it. */
static void send_watched(struct pool *p, int rank, const void *buf, int len, int tag)
{
	MPI_Request req;
	int rc = MPI_Isend(buf, len, MPI_BYTE, rank, tag, p->inter, &req);
	if (rc != MPI_SUCCESS) {
		char why[128];
		mpi_error_text(rc, why, sizeof(why));
		fail("sending to rank %d on host %s: %s", rank, p->rank[rank].host, why);
	}
	for (long spins = 0;; spins++) {
		int done = 0;
		MPI_Test(&req, &done, MPI_STATUS_IGNORE);
		if (done)
			return;
		if (spins % 200 == 199 && !rank_alive(&p->rank[rank]))
			fail_dead_rank(p, rank);
		nap_us(100);
	}
}

static void wait_hellos(struct pool *p, double deadline)
{
	for (int got = 0; got < p->n;) {
		int flag = 0;
		MPI_Status st;
		MPI_Iprobe(MPI_ANY_SOURCE, MPI_TAG_HELLO, p->inter, &flag, &st);
		if (!flag) {
			if (monotonic_now() > deadline)
				fail("%d of %d ranks said hello before the spawn timeout", got,
				     p->n);
			nap_us(200);
			continue;
		}
		struct mpi_hello h;
		MPI_Recv(&h, sizeof(h), MPI_BYTE, st.MPI_SOURCE, MPI_TAG_HELLO, p->inter,
		         MPI_STATUS_IGNORE);
		struct rank_info *r = &p->rank[st.MPI_SOURCE];
		r->pid = h.pid;
		r->beats = h.beats != 0;
		memcpy(r->host, h.host, sizeof(r->host));
		r->host[sizeof(r->host) - 1] = '\0';
		got++;
	}
}

static struct pool *pool_spawn(const struct mpi_job *job, const char *self)
{
	if (n_pools == MAX_POOLS)
		fail("more than %d different worker counts in one run", MAX_POOLS);
	struct pool *p = &pools[n_pools];
	memset(p, 0, sizeof(*p));
	p->n = job->workers;
	snprintf(p->hostfile, sizeof(p->hostfile), "%s", job->hostfile);
	p->rank = calloc((size_t)p->n, sizeof(*p->rank));
	int *codes = calloc((size_t)p->n, sizeof(*codes));
	if (p->rank == NULL || codes == NULL)
		fail("out of memory for %d ranks", p->n);
	for (int i = 0; i < p->n; i++)
		p->rank[i].startup_s = -1;

	MPI_Info info = MPI_INFO_NULL;
	if (job->hostfile[0] != '\0') {
		MPI_Info_create(&info);
		MPI_Info_set(info, "add-hostfile", job->hostfile);
	}
	char *argv[] = {"worker", NULL};
	p->spawned_at = monotonic_now();
	/* MPI_Comm_spawn has no timeout of its own, and a host that does not
	 * answer can hold it for long: the alarm turns that into one line. */
	alarm((unsigned)(job->spawn_timeout_s + 0.999));
	int rc = MPI_Comm_spawn(self, argv, p->n, info, 0, MPI_COMM_SELF, &p->inter, codes);
	if (info != MPI_INFO_NULL)
		MPI_Info_free(&info);
	if (rc != MPI_SUCCESS) {
		char why[160];
		mpi_error_text(rc, why, sizeof(why));
		fail("cannot spawn %d ranks: %s (more slots: a hostfile, or oversubscription; "
		     "docs/mpi.md)",
		     p->n, why);
	}
	MPI_Comm_set_errhandler(p->inter, MPI_ERRORS_RETURN);
	wait_hellos(p, p->spawned_at + job->spawn_timeout_s);
	alarm(0);
	p->spawn_s = monotonic_now() - p->spawned_at;
	p->fresh = true;
	free(codes);
	n_pools++;
	return p;
}

static struct pool *pool_for(const struct mpi_job *job, const char *self)
{
	for (int i = 0; i < n_pools; i++)
		if (pools[i].n == job->workers && strcmp(pools[i].hostfile, job->hostfile) == 0) {
			pools[i].fresh = false;
			return &pools[i];
		}
	return pool_spawn(job, self);
}

static void hand_out(struct pool *p, int rank, size_t task)
{
	struct rank_info *r = &p->rank[rank];
	uint64_t t = task;
	if (r->startup_s < 0)
		r->startup_s = monotonic_now() - p->spawned_at;
	if (r->queued == 0)
		r->heard = monotonic_now();
	r->queue[r->queued++] = task;
	struct mpi_event e = {.kind = MPI_EV_ASSIGN, .rank = rank, .task = task};
	emit(&e);
	send_watched(p, rank, &t, sizeof(t), MPI_TAG_TASK);
}

static void send_jobs(struct pool *p, const struct mpi_job *job)
{
	static char text[MPI_SPEC_MAX + 32];
	for (int i = 0; i < p->n; i++) {
		/* Only ranks on the driver's host share the plan's topology, so
		 * only they take its PU; the others take a core of their host by
		 * their place among its ranks. */
		int on_host = 0;
		for (int k = 0; k < i; k++)
			on_host += strcmp(p->rank[k].host, p->rank[i].host) == 0;
		bool here = strcmp(p->rank[i].host, driver_host) == 0;
		/* --pin none: no PU in the plan, and none anywhere */
		int cpu = job->cpus[i] < 0                       ? -1
		          : here && !job->ranks_place_themselves ? job->cpus[i]
		                                                 : -2 - on_host;
		int len = snprintf(text, sizeof(text), "%s\ndriver=%d@%s\ncpu=%d", job->spec,
		                   (int)getpid(), driver_host, cpu);
		send_watched(p, i, text, len + 1, MPI_TAG_JOB);
		p->rank[i].cpu = cpu >= 0 ? cpu : -1;
	}
}

/* Who the ranks are, once each has its first task (its start-up is then known). */
static void emit_workers(const struct pool *p)
{
	for (int i = 0; i < p->n; i++) {
		struct mpi_event e = {.kind = MPI_EV_WORKER,
		                      .rank = i,
		                      .pid = p->rank[i].pid,
		                      .cpu = p->rank[i].cpu,
		                      .startup_s = p->rank[i].startup_s};
		memcpy(e.host, p->rank[i].host, sizeof(e.host));
		if (e.startup_s < 0)
			e.startup_s = -1;
		emit(&e);
	}
}

static void take_result(struct pool *p, const MPI_Status *st)
{
	struct mpi_result m;
	struct rank_info *r = &p->rank[st->MPI_SOURCE];
	MPI_Recv(&m, sizeof(m), MPI_BYTE, st->MPI_SOURCE, MPI_TAG_RESULT, p->inter,
	         MPI_STATUS_IGNORE);
	if (r->queued == 0 || r->queue[0] != m.task)
		fail("rank %d on host %s answered task %" PRIu64 ", which it did not hold",
		     st->MPI_SOURCE, r->host, m.task);
	memmove(r->queue, r->queue + 1, sizeof(r->queue[0]) * (size_t)(--r->queued));
	r->heard = monotonic_now();
	struct mpi_event e = {.kind = MPI_EV_RESULT,
	                      .rank = st->MPI_SOURCE,
	                      .task = (size_t)m.task,
	                      .cpu = m.cpu,
	                      .pinned = m.pinned,
	                      .result = m.result};
	emit(&e);
}

static void take_setup_error(struct pool *p, const MPI_Status *st)
{
	char why[256] = "";
	int n = 0;
	MPI_Get_count(st, MPI_BYTE, &n);
	if (n > (int)sizeof(why) - 1)
		n = (int)sizeof(why) - 1;
	MPI_Recv(why, n, MPI_BYTE, st->MPI_SOURCE, MPI_TAG_SETUP_ERR, p->inter, MPI_STATUS_IGNORE);
	why[n] = '\0';
	fail("rank %d on host %s could not set the workload up: %s", st->MPI_SOURCE,
	     p->rank[st->MPI_SOURCE].host, why);
}

static void take_beat(struct pool *p, const MPI_Status *st)
{
	MPI_Recv(NULL, 0, MPI_BYTE, st->MPI_SOURCE, MPI_TAG_BEAT, p->inter, MPI_STATUS_IGNORE);
	p->rank[st->MPI_SOURCE].heard = monotonic_now();
}

/* Any message but the ones a loop takes ends the job: a rank's set-up error
 * with its reason, anything else as unexpected. */
static _Noreturn void fail_on_message(struct pool *p, const MPI_Status *st)
{
	if (st->MPI_TAG == MPI_TAG_SETUP_ERR)
		take_setup_error(p, st);
	fail("rank %d sent an unexpected message (tag %d)", st->MPI_SOURCE, st->MPI_TAG);
}

/* A job of no tasks comes before a run's clock starts (mpi_prepare): it
 * returns once every rank has taken it (its set-up done, or failed), so that
 * ranks napping between runs are awake when the clock starts. */
static bool took_job(const struct rank_info *r, double sent)
{
	return r->heard >= sent; /* a beat since (take_beat stamps heard) */
}

static bool all_took_job(const struct pool *p, double sent)
{
	for (int i = 0; i < p->n; i++)
		if (!took_job(&p->rank[i], sent))
			return false;
	return true;
}

static void wait_until_ready(struct pool *p)
{
	double since = monotonic_now();
	while (!all_took_job(p, since)) {
		int flag = 0;
		MPI_Status st;
		MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, p->inter, &flag, &st);
		if (flag && st.MPI_TAG == MPI_TAG_BEAT) {
			take_beat(p, &st);
			continue;
		}
		if (flag)
			fail_on_message(p, &st);
		for (int i = 0; i < p->n && monotonic_now() - since > MPI_BEAT_TIMEOUT_S; i++)
			if (!took_job(&p->rank[i], since))
				fail("rank %d (pid %d) on host %s did not take its job within %.0f "
				     "s",
				     i, p->rank[i].pid, p->rank[i].host, MPI_BEAT_TIMEOUT_S);
		nap_us(100);
	}
}

static void check_busy_ranks(const struct pool *p)
{
	double now = monotonic_now();
	for (int i = 0; i < p->n; i++) {
		const struct rank_info *r = &p->rank[i];
		if (r->queued == 0)
			continue;
		if (!rank_alive(r))
			fail_dead_rank(p, i);
		if (r->beats && now - r->heard > MPI_BEAT_TIMEOUT_S) {
			char held[48];
			fail("rank %d (pid %d) on host %s stopped answering (no heartbeat for "
			     "%.0f s) %s",
			     i, r->pid, r->host, MPI_BEAT_TIMEOUT_S,
			     held_text(r, held, sizeof(held)));
		}
	}
}

/* A second task queued behind a rank's running one saves it a round trip, but
 * near the end it is a task that an idle rank could have run (uneven tasks,
 * like mandelbrot's bands): with no more tasks left than ranks, only an idle
 * rank gets one. */
static bool plenty_left(const struct pool *p, const struct mpi_job *job, size_t next)
{
	return job->tasks - next > (size_t)p->n;
}

static void run_job(const struct mpi_job *job, const char *self)
{
	struct pool *p = pool_for(job, self);
	send_jobs(p, job);
	/* A job of no tasks makes the pool ready before a run's clock starts
	 * (runners/mpi.c, mpi_prepare): its ranks' start-up ends here, ready for
	 * a task, rather than at the first task of a run that comes later. */
	if (job->tasks == 0)
		wait_until_ready(p);
	for (int i = 0; job->tasks == 0 && i < p->n; i++)
		if (p->rank[i].startup_s < 0)
			p->rank[i].startup_s = monotonic_now() - p->spawned_at;
	size_t next = 0, back = 0;
	for (int d = 0; d < QUEUE_DEPTH; d++)
		for (int i = 0;
		     i < p->n && next < job->tasks && (d == 0 || plenty_left(p, job, next)); i++)
			hand_out(p, i, next++);
	emit_workers(p);
	double checked = monotonic_now();
	while (back < job->tasks) {
		int flag = 0;
		MPI_Status st;
		MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, p->inter, &flag, &st);
		if (flag && st.MPI_TAG == MPI_TAG_RESULT) {
			take_result(p, &st);
			back++;
			if (next < job->tasks &&
			    (p->rank[st.MPI_SOURCE].queued == 0 || plenty_left(p, job, next)))
				hand_out(p, st.MPI_SOURCE, next++);
			continue;
		}
		if (flag && st.MPI_TAG == MPI_TAG_BEAT) {
			take_beat(p, &st);
			continue;
		}
		if (flag)
			fail_on_message(p, &st);
		double now = monotonic_now();
		if (now - checked > 0.02) {
			check_busy_ranks(p);
			checked = now;
		}
		/* each rank holds a second task meanwhile, so the nap costs none of
		 * them time, and this process little CPU */
		nap_us(250);
	}
	struct mpi_event e = {.kind = MPI_EV_DONE, .spawned = p->fresh, .spawn_s = p->spawn_s};
	emit(&e);
}

static int read_job(struct mpi_job *job)
{
	char *c = (char *)job;
	size_t have = 0;
	while (have < sizeof(*job)) {
		ssize_t k = read(MPI_DRIVER_JOB_FD, c + have, sizeof(*job) - have);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		have += (size_t)k;
	}
	job->spec[sizeof(job->spec) - 1] = '\0';
	job->hostfile[sizeof(job->hostfile) - 1] = '\0';
	return 0;
}

/* concbench closed its end: let every rank go, as an executor's shutdown does. */
static void shut_down(void)
{
	alarm(10);
	for (int i = 0; i < n_pools; i++) {
		for (int r = 0; r < pools[i].n; r++)
			send_watched(&pools[i], r, "", 0, MPI_TAG_EXIT);
		MPI_Comm_disconnect(&pools[i].inter);
		free(pools[i].rank);
	}
	MPI_Finalize();
}

static int driver_main(int argc, char **argv)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		fprintf(stderr, "concbench-mpi: cannot read /proc/self/exe\n");
		return 1;
	}
	self[n] = '\0';
	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	host_name(driver_host, sizeof(driver_host));
	MPI_Init(&argc, &argv);
	/* Errors come back as codes, so a failed spawn is one line, not an abort. */
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
	static struct mpi_job job;
	while (read_job(&job) == 0) {
		if (job.workers < 1 || job.workers > MPI_MAX_WORKERS)
			fail("a job for %d ranks", job.workers);
		run_job(&job, self);
	}
	shut_down();
	return 0;
}

/* ---- a rank ---- */

struct rank_state {
	MPI_Comm parent;
	atomic_bool busy; /* running a task: the heartbeat thread speaks */
	atomic_bool leaving;
	int rank;
	pid_t orted;
	hwloc_topology_t topology;
	struct workload w;
	bool ready;
	int pinned;
	pid_t driver; /* the driver's pid when it runs on this host, else -1 */
	char spec[MPI_SPEC_MAX];
};

/* Waits for the driver's next message, spinning a little first (the next task
 * is usually already on its way) and then sleeping longer and longer, so that
 * an idle pool costs next to nothing: each look is a pass of Open MPI's
 * progress engine, and when the naps grew by counted looks (seconds of 100 us
 * naps) two idle ranks took 0.12 to 0.24 CPU-seconds a second each from the
 * cells measured beside them. The naps now grow with the time waited, to
 * IDLE_NAP_US; the job of no tasks that mpi_prepare sends before each run's
 * clock starts wakes them, so that no run pays for a nap. */
#define IDLE_NAP_US 50000
static long nap_after(double waited_s)
{
	return waited_s < 0.002 ? 0 : waited_s < 0.05 ? 100 : waited_s < 1.0 ? 2000 : IDLE_NAP_US;
}

static void wait_message(struct rank_state *s, MPI_Status *st)
{
	double since = monotonic_now();
	for (long spins = 0;; spins++) {
		int flag = 0;
		MPI_Iprobe(0, MPI_ANY_TAG, s->parent, &flag, st);
		if (flag)
			return;
		if (getppid() != s->orted)
			_exit(2); /* the runtime that started it is gone */
		long nap = nap_after(monotonic_now() - since);
		/* Under mpirun the runtime outlives a driver that died: a rank on
		 * the driver's host leaves with it. */
		if ((nap >= 2000 || spins % 256 == 255) && s->driver > 0 &&
		    kill(s->driver, 0) != 0 && errno == ESRCH)
			_exit(2);
		if (nap > 0)
			nap_us(nap);
	}
}

static void drop_workload(struct rank_state *s)
{
	if (s->ready)
		s->w.ops->teardown(&s->w);
	s->ready = false;
	s->spec[0] = '\0';
}

static int set_up(struct rank_state *s, char *text, char *err, size_t errlen)
{
	char *save = NULL;
	char *name = strtok_r(text, "\n", &save);
	const struct workload_ops *ops = name ? workload_find(name) : NULL;
	if (ops == NULL) {
		snprintf(err, errlen, "unknown workload '%s'", name ? name : "");
		return -1;
	}
	memset(&s->w, 0, sizeof(s->w));
	s->w.ops = ops;
	params_init(&s->w.params, ops->params, 0);
	unsigned by_user = 0;
	for (char *line; (line = strtok_r(NULL, "\n", &save)) != NULL;) {
		if (sscanf(line, "#user=%u", &by_user) == 1)
			continue;
		char *eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		if (params_set_internal(&s->w.params, line, eq + 1, err, errlen) != 0)
			return -1;
	}
	s->w.params.set_by_user = by_user;
	return ops->setup(&s->w, err, errlen);
}

/* cpu as the driver sent it: a PU, -1 for none, or -2-K for the K-th core of
 * this host (wrapping). Returns the PU pinned to, -1 for none. */
static int pin_rank(hwloc_topology_t topology, int cpu)
{
	if (cpu <= -2) {
		int cores = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_CORE);
		hwloc_obj_t core =
		    cores > 0 ? hwloc_get_obj_by_type(topology, HWLOC_OBJ_CORE, (-2 - cpu) % cores)
		              : NULL;
		cpu = core != NULL ? hwloc_bitmap_first(core->cpuset) : -1;
	}
	if (cpu < 0)
		return -1;
	/* mpirun may have bound this rank to one core already: the process,
	 * not only the thread, must move. */
	hwloc_bitmap_t set = hwloc_bitmap_alloc();
	hwloc_bitmap_only(set, (unsigned)cpu);
	int rc = hwloc_set_cpubind(topology, set, HWLOC_CPUBIND_PROCESS);
	hwloc_bitmap_free(set);
	return rc == 0 ? cpu : -1;
}

static void take_job(struct rank_state *s, const MPI_Status *st)
{
	static char text[MPI_SPEC_MAX + 32];
	int n = 0;
	MPI_Get_count(st, MPI_BYTE, &n);
	if (n < 1 || n > (int)sizeof(text))
		n = (int)sizeof(text);
	MPI_Recv(text, n, MPI_BYTE, 0, MPI_TAG_JOB, s->parent, MPI_STATUS_IGNORE);
	text[n - 1] = '\0';
	char *cpu_line = strrchr(text, '\n');
	int cpu = -1;
	if (cpu_line != NULL) {
		sscanf(cpu_line, "\ncpu=%d", &cpu);
		*cpu_line = '\0';
	}
	char *driver_line = strrchr(text, '\n'), host[MPI_HOST_MAX] = "", me[MPI_HOST_MAX];
	int pid = -1;
	if (driver_line != NULL && sscanf(driver_line, "\ndriver=%d@%63s", &pid, host) == 2) {
		*driver_line = '\0';
		host_name(me, sizeof(me));
		s->driver = strcmp(host, me) == 0 ? pid : -1;
	}
	if (!s->ready || strcmp(text, s->spec) != 0) {
		drop_workload(s);
		char copy[MPI_SPEC_MAX + 32], err[200] = "";
		snprintf(copy, sizeof(copy), "%s", text);
		if (set_up(s, copy, err, sizeof(err)) != 0) {
			MPI_Send(err, (int)strlen(err), MPI_BYTE, 0, MPI_TAG_SETUP_ERR, s->parent);
			return;
		}
		s->ready = true;
		snprintf(s->spec, sizeof(s->spec), "%.*s", (int)sizeof(s->spec) - 1, text);
	}
	if (s->w.ops->before_run != NULL)
		s->w.ops->before_run(&s->w);
	s->pinned = pin_rank(s->topology, cpu);
	/* taken: the driver of a job of no tasks waits for this (a beat, which
	 * a job with tasks takes as one) */
	MPI_Send(NULL, 0, MPI_BYTE, 0, MPI_TAG_BEAT, s->parent);
}

static void take_task(struct rank_state *s)
{
	uint64_t i = 0;
	MPI_Recv(&i, sizeof(i), MPI_BYTE, 0, MPI_TAG_TASK, s->parent, MPI_STATUS_IGNORE);
	if (!s->ready)
		return; /* its setup failed, and the driver has given up */
	struct task_ctx ctx = {.worker = s->rank};
	struct mpi_result m = {.task = i};
	atomic_store(&s->busy, true);
	m.result = run_timed_task(&s->w, (size_t)i, &ctx);
	atomic_store(&s->busy, false);
	m.cpu = worker_observe_cpu(s->topology);
	m.pinned = s->pinned;
	MPI_Send(&m, sizeof(m), MPI_BYTE, 0, MPI_TAG_RESULT, s->parent);
}

/* While the main thread runs a task, says so every MPI_BEAT_S: a task may
 * run for long, and the driver must tell that from a rank that is gone. */
static void *heartbeat(void *arg)
{
	struct rank_state *s = arg;
	while (!atomic_load(&s->leaving)) {
		nap_us((long)(MPI_BEAT_S * 1e6));
		if (atomic_load(&s->busy))
			MPI_Send(NULL, 0, MPI_BYTE, 0, MPI_TAG_BEAT, s->parent);
	}
	return NULL;
}

static int worker_main(int argc, char **argv)
{
	static struct rank_state s;
	s.orted = getppid();
	s.driver = -1;
	/* A rank never outlives the runtime daemon that started it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int provided = MPI_THREAD_SINGLE;
	MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
	MPI_Comm_get_parent(&s.parent);
	if (s.parent == MPI_COMM_NULL) {
		fprintf(stderr, "concbench-mpi worker: not started by MPI_Comm_spawn\n");
		MPI_Finalize();
		return 2;
	}
	MPI_Comm_set_errhandler(s.parent, MPI_ERRORS_RETURN);
	MPI_Comm_rank(s.parent, &s.rank);
	hwloc_topology_init(&s.topology);
	hwloc_topology_load(s.topology);
	pthread_t beater;
	bool beats =
	    provided == MPI_THREAD_MULTIPLE && pthread_create(&beater, NULL, heartbeat, &s) == 0;
	struct mpi_hello h = {.pid = (int)getpid(), .beats = beats};
	host_name(h.host, sizeof(h.host));
	MPI_Send(&h, sizeof(h), MPI_BYTE, 0, MPI_TAG_HELLO, s.parent);
	for (;;) {
		MPI_Status st;
		wait_message(&s, &st);
		if (st.MPI_TAG == MPI_TAG_JOB)
			take_job(&s, &st);
		else if (st.MPI_TAG == MPI_TAG_TASK)
			take_task(&s);
		else {
			MPI_Recv(NULL, 0, MPI_BYTE, 0, st.MPI_TAG, s.parent, MPI_STATUS_IGNORE);
			break;
		}
	}
	atomic_store(&s.leaving, true);
	if (beats)
		pthread_join(beater, NULL);
	drop_workload(&s);
	hwloc_topology_destroy(s.topology);
	MPI_Comm_disconnect(&s.parent);
	MPI_Finalize();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "driver") == 0)
		return driver_main(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "worker") == 0)
		return worker_main(argc, argv);
	fprintf(stderr, "usage: concbench-mpi driver|worker (started by concbench's mpi "
	                "strategy, not by hand; docs/mpi.md)\n");
	return 2;
}
