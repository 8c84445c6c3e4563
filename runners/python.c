/* The py-* strategies' interpreter: started per cell, talked to over two
 * pipes in py/driver.py's line protocol, parsed back into the run's results.
 *
 * The interpreter is forked and exec'd on a cell's first run, pinned to the
 * cell's CPUs and in a process group of its own (a ^C stops the run between
 * repetitions, not inside the interpreter); it dies with us (PDEATHSIG). Its
 * start-up, from fork to "ready", is recorded apart from the run, which the
 * driver times around the executor's whole life. A missing interpreter, a
 * Python exception or a killed interpreter fails the run with one line. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runners/python.h"

#define DEFAULT_PYTHON  "/usr/bin/python3"
#define FALLBACK_PYTHON "python3"

const struct param_def python_params[] = {
    PARAM_TEXT_DEF("python", "",
                   "the interpreter (e.g. pypy3); empty: /usr/bin/python3, else python3"),
    PARAM_INT_DEF("switch_interval_us", 5000, 5000, 1, 1000000,
                  "sys.setswitchinterval, in microseconds (CPython's default: 5000)"),
    PARAM_END,
};

/* One option for every py-* strategy: --python pypy3. */
const struct runner_alias python_aliases[] = {
    {.option = "python",
     .key = "python",
     .arg = "PATH",
     .help = "the interpreter of the py-* strategies (e.g. pypy3)"},
    {.option = NULL},
};

struct interpreter {
	const struct workload *w;
	char executor[16];
	int workers;
	char python[PARAM_TEXT_MAX];
	int64_t switch_us;
	pid_t pid;
	FILE *to, *from;
	double startup_s;
	char implementation[32], version[32];
	int gil;
	double switch_interval_s;
	struct interpreter *next;
};

static struct interpreter *interpreters;

const char *python_interpreter(const char *param, char *buf, size_t len)
{
	if (param != NULL && param[0] != '\0')
		snprintf(buf, len, "%s", param);
	else
		snprintf(buf, len, "%s",
		         access(DEFAULT_PYTHON, X_OK) == 0 ? DEFAULT_PYTHON : FALLBACK_PYTHON);
	return buf;
}

/* py/driver.py beside the binary's folder (build/concbench: ../py), or under
 * the current directory; CONCBENCH_PY names another folder. */
static int driver_path(char *out, size_t len)
{
	const char *env = getenv("CONCBENCH_PY");
	char exe[PATH_MAX];
	ssize_t n;
	if (env != NULL && env[0] != '\0') {
		snprintf(out, len, "%s/driver.py", env);
		return access(out, R_OK);
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		for (int up = 0; up < 2; up++) {
			char *slash = strrchr(exe, '/');
			if (slash != NULL)
				*slash = '\0';
		}
		snprintf(out, len, "%.*s/py/driver.py", (int)(len - 16), exe);
		if (access(out, R_OK) == 0)
			return 0;
	}
	snprintf(out, len, "py/driver.py");
	return access(out, R_OK);
}

static bool on_path(const char *name)
{
	if (strchr(name, '/') != NULL)
		return access(name, X_OK) == 0;
	const char *path = getenv("PATH");
	char dir[PATH_MAX];
	while (path != NULL && *path != '\0') {
		size_t k = strcspn(path, ":");
		snprintf(dir, sizeof(dir), "%.*s/%s", (int)k, path, name);
		if (access(dir, X_OK) == 0)
			return true;
		path += k + (path[k] == ':');
	}
	return false;
}

bool python_available(void)
{
	char python[PARAM_TEXT_MAX], driver[PATH_MAX];
	return on_path(python_interpreter(NULL, python, sizeof(python))) &&
	       driver_path(driver, sizeof(driver)) == 0;
}

/* ---- starting one --------------------------------------------------------------- */

static void pin_to(const struct run_spec *spec, int n)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	bool any = false;
	for (int k = 0; k < n; k++)
		if (spec->cpus[k] >= 0) {
			CPU_SET(spec->cpus[k], &set);
			any = true;
		}
	if (any)
		sched_setaffinity(0, sizeof(set), &set);
}

/* In the child, between fork and exec: only plain system calls. */
static void exec_interpreter(const struct run_spec *spec, int threads, const char *python,
                             const char *driver, int in, int out)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setpgid(0, 0);
	dup2(in, STDIN_FILENO);
	dup2(out, STDOUT_FILENO);
	pin_to(spec, threads);
	setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
	execlp(python, python, driver, (char *)NULL);
	char line[PARAM_TEXT_MAX + 128];
	int n = snprintf(line, sizeof(line), "error cannot start the interpreter '%s': %s\n",
	                 python, strerror(errno));
	if (write(STDOUT_FILENO, line, (size_t)n) < 0)
		_exit(126);
	_exit(127);
}

static void send_params(FILE *to, const struct workload *w)
{
	for (const struct param_def *d = w->params.defs; d->key != NULL; d++) {
		if (d->type == PARAM_INT)
			fprintf(to, "param %s %" PRId64 "\n", d->key,
			        param_get(&w->params, d->key));
		else
			fprintf(to, "param %s %s\n", d->key, param_get_text(&w->params, d->key));
	}
}

/* Why the interpreter is gone: reaped, in one line. */
static void describe_exit(pid_t pid, char *buf, size_t len)
{
	int status = 0;
	if (waitpid(pid, &status, 0) != pid)
		snprintf(buf, len, "the interpreter is gone: %s", strerror(errno));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "the interpreter was killed by signal %d (%s)", WTERMSIG(status),
		         strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "the interpreter exited with status %d without answering",
		         WEXITSTATUS(status));
}

static void interpreter_end(struct interpreter *p, bool reaped)
{
	if (p->to != NULL) {
		fputs("quit\n", p->to);
		fclose(p->to);
	}
	if (p->from != NULL)
		fclose(p->from);
	if (!reaped && p->pid > 0) {
		/* the driver exits at "quit"; one stuck in a task is ended */
		for (int k = 0; k < 200 && waitpid(p->pid, NULL, WNOHANG) == 0; k++)
			usleep(10000);
		if (kill(p->pid, 0) == 0) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
		}
	}
	free(p);
}

/* Reads one line into *line (without its newline); false at the end. */
static bool read_line(struct interpreter *p, char **line, size_t *cap)
{
	ssize_t n = getline(line, cap, p->from);
	if (n <= 0)
		return false;
	if ((*line)[n - 1] == '\n')
		(*line)[n - 1] = '\0';
	return true;
}

static int parse_ready(struct interpreter *p, const char *line, char *err, size_t errlen)
{
	if (strncmp(line, "error ", 6) == 0) {
		snprintf(err, errlen, "%s", line + 6);
		return -1;
	}
	if (sscanf(line, "ready %31s %31s %d %lf", p->implementation, p->version, &p->gil,
	           &p->switch_interval_s) != 4) {
		snprintf(err, errlen, "the interpreter answered '%.80s', not 'ready'", line);
		return -1;
	}
	return 0;
}

static struct interpreter *interpreter_start(const struct run_spec *spec, int threads,
                                             const char *executor, const char *python,
                                             int64_t switch_us, char *err, size_t errlen)
{
	const struct workload *w = spec->workload;
	char driver[PATH_MAX];
	int in[2], out[2];
	if (driver_path(driver, sizeof(driver)) != 0) {
		snprintf(err, errlen, "cannot find py/driver.py (set CONCBENCH_PY to its folder)");
		return NULL;
	}
	struct interpreter *p = calloc(1, sizeof(*p));
	if (p == NULL || pipe2(in, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "cannot start the interpreter: %s", strerror(errno));
		free(p);
		return NULL;
	}
	if (pipe2(out, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "cannot start the interpreter: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		free(p);
		return NULL;
	}
	double t0 = monotonic_now();
	fflush(NULL);
	p->pid = fork();
	if (p->pid == 0)
		exec_interpreter(spec, threads, python, driver, in[0], out[1]);
	close(in[0]);
	close(out[1]);
	if (p->pid < 0) {
		snprintf(err, errlen, "fork of the interpreter: %s", strerror(errno));
		close(in[1]);
		close(out[0]);
		free(p);
		return NULL;
	}
	p->to = fdopen(in[1], "w");
	p->from = fdopen(out[0], "r");
	p->w = w;
	snprintf(p->executor, sizeof(p->executor), "%s", executor);
	snprintf(p->python, sizeof(p->python), "%s", python);
	p->workers = spec->workers;
	p->switch_us = switch_us;

	fprintf(p->to, "workload %s\n", w->ops->name);
	send_params(p->to, w);
	if (w->ops->python_inputs != NULL && w->ops->python_inputs(w, p->to, err, errlen) != 0) {
		interpreter_end(p, false);
		return NULL;
	}
	fprintf(p->to, "executor %s %d\nswitch_interval_us %" PRId64 "\nstart\n", executor,
	        spec->workers, switch_us);
	fflush(p->to);

	char *line = NULL;
	size_t cap = 0;
	int rc = -1;
	if (!read_line(p, &line, &cap))
		describe_exit(p->pid, err, errlen);
	else
		rc = parse_ready(p, line, err, errlen);
	free(line);
	p->startup_s = monotonic_now() - t0;
	if (rc != 0) {
		interpreter_end(p, false);
		return NULL;
	}
	p->next = interpreters;
	interpreters = p;
	return p;
}

static struct interpreter *interpreter_find(const struct workload *w, const char *executor,
                                            int workers, const char *python, int64_t switch_us)
{
	for (struct interpreter *p = interpreters; p != NULL; p = p->next)
		if (p->w == w && strcmp(p->executor, executor) == 0 && p->workers == workers &&
		    strcmp(p->python, python) == 0 && p->switch_us == switch_us)
			return p;
	return NULL;
}

static void interpreter_forget(struct interpreter *gone, bool reaped)
{
	for (struct interpreter **p = &interpreters; *p != NULL; p = &(*p)->next)
		if (*p == gone) {
			*p = gone->next;
			break;
		}
	interpreter_end(gone, reaped);
}

void python_release(const struct workload *w)
{
	for (struct interpreter **p = &interpreters; *p != NULL;) {
		struct interpreter *it = *p;
		if (w == NULL || it->w == w) {
			*p = it->next;
			interpreter_end(it, false);
		} else {
			p = &it->next;
		}
	}
}

/* ---- one run ---------------------------------------------------------------------- */

/* "task I CHECKSUM ITEMS BYTES LATENCY CONNECTS [ERROR]" */
static int parse_task(struct run_result *res, const char *line)
{
	size_t i;
	uint64_t checksum, items, bytes;
	double latency;
	unsigned connects;
	int used = 0;
	if (sscanf(line, "task %zu %" SCNx64 " %" SCNu64 " %" SCNu64 " %lf %u%n", &i, &checksum,
	           &items, &bytes, &latency, &connects, &used) != 6 ||
	    i >= res->tasks_total)
		return -1;
	struct task_result *t = &res->task[i];
	memset(t, 0, sizeof(*t));
	t->checksum = checksum;
	t->items = items;
	t->bytes = bytes;
	t->latency_s = latency;
	t->connects = connects;
	t->done = true;
	const char *error = line + used;
	while (*error == ' ')
		error++;
	if (*error != '\0') {
		t->failed = true;
		snprintf(t->error, sizeof(t->error), "%s", error);
	}
	return 0;
}

/* "stream alone|busy S S ..." */
static int parse_stream(struct run_result *res, const char *line)
{
	bool alone = strncmp(line, "stream alone", 12) == 0;
	const char *p = line + (alone ? 12 : 11);
	size_t n = 0, cap = 64;
	double *v = malloc(cap * sizeof(*v));
	char *end;
	if (v == NULL || (!alone && strncmp(line, "stream busy", 11) != 0)) {
		free(v);
		return -1;
	}
	for (double x = strtod(p, &end); end != p; x = strtod(p, &end)) {
		if (n == cap) {
			double *grown = realloc(v, 2 * cap * sizeof(*v));
			if (grown == NULL)
				break;
			v = grown;
			cap *= 2;
		}
		v[n++] = x;
		p = end;
	}
	res->has_stream = true;
	free(alone ? res->stream_alone : res->stream_busy);
	*(alone ? &res->stream_alone : &res->stream_busy) = v;
	*(alone ? &res->n_stream_alone : &res->n_stream_busy) = n;
	return 0;
}

static int parse_usage(struct run_result *res, const char *line)
{
	long rss;
	if (sscanf(line, "usage %lf %lf %lf %ld %ld %ld", &res->own_wall_s, &res->own_user_s,
	           &res->own_sys_s, &rss, &res->own_ctx_voluntary, &res->own_ctx_involuntary) != 6)
		return -1;
	res->own_usage = true;
	res->children_max_rss_kib = rss;
	return 0;
}

/* Reads the answer to "run" up to "end": 0, 1 when the interpreter is gone
 * (err says why), -1 on an error line or an answer out of protocol. */
static int read_answer(struct interpreter *p, struct run_result *res, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	int rc = 1;
	while (read_line(p, &line, &cap)) {
		int bad = 0;
		if (strcmp(line, "end") == 0) {
			rc = 0;
			break;
		}
		if (strncmp(line, "error ", 6) == 0) {
			snprintf(err, errlen, "%s", line + 6);
			rc = -1;
			break;
		}
		if (strncmp(line, "task ", 5) == 0)
			bad = parse_task(res, line);
		else if (strncmp(line, "stream ", 7) == 0)
			bad = parse_stream(res, line);
		else if (strncmp(line, "usage ", 6) == 0)
			bad = parse_usage(res, line);
		else
			bad = -1;
		if (bad != 0) {
			snprintf(err, errlen, "the interpreter answered '%.80s'", line);
			rc = -1;
			break;
		}
	}
	if (rc == 1)
		describe_exit(p->pid, err, errlen);
	free(line);
	return rc;
}

static void record_interpreter(struct run_result *res, const struct interpreter *p)
{
	run_result_note(res, "implementation", p->implementation);
	run_result_note(res, "version", p->version);
	run_result_note(res, "executable", p->python);
	run_result_note(res, "executor", p->executor);
	run_result_stat(res, "gil", p->gil);
	run_result_stat(res, "switch_interval_s", p->switch_interval_s);
	run_result_stat(res, "startup_s", p->startup_s);
}

static const char *spec_text(const struct run_spec *spec, const char *key)
{
	static struct param_values defaults;
	if (spec->params != NULL)
		return param_get_text(spec->params, key);
	params_init(&defaults, python_params, 0);
	return param_get_text(&defaults, key);
}

int python_run(const struct run_spec *spec, struct run_result *res, const char *executor)
{
	char python[PARAM_TEXT_MAX], err[240];
	python_interpreter(spec_text(spec, "python"), python, sizeof(python));
	int64_t switch_us = run_spec_param(spec, python_params, "switch_interval_us");
	signal(SIGPIPE, SIG_IGN); /* a dead interpreter is an error line, not our end */
	struct interpreter *p =
	    interpreter_find(spec->workload, executor, spec->workers, python, switch_us);
	if (p == NULL)
		p = interpreter_start(spec, res->workers, executor, python, switch_us, err,
		                      sizeof(err));
	if (p == NULL) {
		run_result_fail(res, "%s", err);
		return -1;
	}
	fputs("run\n", p->to);
	if (fflush(p->to) != 0) {
		describe_exit(p->pid, err, sizeof(err));
		interpreter_forget(p, true);
		run_result_fail(res, "%s", err);
		return -1;
	}
	int rc = read_answer(p, res, err, sizeof(err));
	if (rc != 0) {
		run_result_fail(res, "%s", err);
		if (rc == 1)
			interpreter_forget(p, true);
		return -1;
	}
	record_interpreter(res, p);
	for (int k = 0; k < res->workers; k++) /* the interpreter's, all of them */
		res->worker[k].planned_cpu = spec->cpus[k];
	return 0;
}
