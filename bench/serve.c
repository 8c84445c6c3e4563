/* `concbench serve`'s command line, and the managed server: the fixture server
 * forked as a child of `concbench run`, bound to its own PUs, stopped at the end.
 * The server itself is in serve_http.c. */
#include "serve.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MANAGED_READY_TIMEOUT_MS 10000
#define MANAGED_PROBE_TIMEOUT_MS 10000
#define MANAGED_STOP_TIMEOUT_MS  5000

static void serve_usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: concbench serve [options]   the fixture HTTP server, in the foreground\n"
	    "      --port P                TCP port; 0 picks a free one (default 0)\n"
	    "      --bind ADDR             address to listen on (default 127.0.0.1; anything\n"
	    "                              but loopback gets a warning)\n"
	    "      --connection-limit N    concurrent connections (default %u, lowered to fit\n"
	    "                              the open-file limit)\n"
	    "      --idle-timeout S        close a connection idle this long (default %u s)\n"
	    "      --request-timeout S     close a connection whose request headers are not\n"
	    "                              all in this long after it opened, or after its\n"
	    "                              previous request plus the idle timeout (default %u s)\n"
	    "      --quiet                 no notices and no statistics at exit\n"
	    "  -h, --help                  this text\n\n"
	    "It prints 'listening on http://ADDR:PORT' once listening, and serves until\n"
	    "SIGINT or SIGTERM:\n"
	    "  GET /bytes?size=N&delay_ms=D&seed=S[&rate=R][&fault=F]\n"
	    "    after D ms, 200 with the N bytes of content stream S (defaults 0);\n"
	    "    rate=R paces the body at R bytes/s; fault=500|404|reset|truncate injects a\n"
	    "    fault; size over 1 GiB, delay_ms over 60000, anything unknown or malformed\n"
	    "    gets 400 with the reason, as do more than 32 parameters and a control byte\n"
	    "    (even percent-encoded) in the path or a value.\n",
	    SERVE_DEFAULT_CONN_LIMIT, SERVE_DEFAULT_IDLE_TIMEOUT, SERVE_DEFAULT_REQUEST_TIMEOUT);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "concbench serve: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (see concbench serve --help)\n");
	va_end(ap);
	return 2;
}

static bool parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	if (s == NULL || *s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return false;
	}
	if (v < min)
		return false;
	*out = v;
	return true;
}

int cmd_serve(int argc, char **argv)
{
	struct serve_options opt = {.ready_fd = -1};
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			serve_usage(stdout);
			return 0;
		}
		if (strcmp(arg, "--quiet") == 0) {
			opt.quiet = true;
			continue;
		}
		/* --name VALUE or --name=VALUE */
		char name[32];
		const char *value = NULL;
		const char *eq = strchr(arg, '=');
		size_t len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		if (len >= sizeof(name))
			return usage_error("unknown option '%s'", arg);
		memcpy(name, arg, len);
		name[len] = '\0';
		if (strcmp(name, "--port") != 0 && strcmp(name, "--bind") != 0 &&
		    strcmp(name, "--connection-limit") != 0 &&
		    strcmp(name, "--idle-timeout") != 0 && strcmp(name, "--request-timeout") != 0)
			return usage_error("unknown option '%s'", arg);
		if (eq != NULL)
			value = eq + 1;
		else if (i + 1 < argc)
			value = argv[++i];
		else
			return usage_error("option '%s' needs a value", name);

		unsigned long v;
		if (strcmp(name, "--bind") == 0) {
			if (*value == '\0')
				return usage_error("--bind needs an address");
			opt.bind = value;
		} else if (strcmp(name, "--port") == 0) {
			if (!parse_ulong(value, 0, 65535, &v))
				return usage_error("--port '%s' is not a port number (0..65535)",
				                   value);
			opt.port = (int)v;
		} else if (strcmp(name, "--connection-limit") == 0) {
			if (!parse_ulong(value, 1, 1000000, &v))
				return usage_error(
				    "--connection-limit '%s' is not a count in 1..1000000", value);
			opt.connection_limit = (unsigned)v;
		} else if (strcmp(name, "--request-timeout") == 0) {
			if (!parse_ulong(value, 1, 86400, &v))
				return usage_error(
				    "--request-timeout '%s' is not a number of seconds in 1..86400",
				    value);
			opt.request_timeout_s = (unsigned)v;
		} else {
			if (!parse_ulong(value, 1, 86400, &v))
				return usage_error(
				    "--idle-timeout '%s' is not a number of seconds in 1..86400",
				    value);
			opt.idle_timeout_s = (unsigned)v;
		}
	}
	return serve_run(&opt) == 0 ? 0 : 1;
}

/* ---- the managed server ------------------------------------------------ */

static int64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int managed_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int managed_error(char *err, size_t errlen, const char *fmt, ...)
{
	if (err != NULL && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Waits up to timeout_ms for pid; true once reaped (status filled). */
static bool reap_within(pid_t pid, long timeout_ms, int *status)
{
	int64_t deadline = ms_now() + timeout_ms;
	for (;;) {
		pid_t got = waitpid(pid, status, WNOHANG);
		if (got == pid || (got < 0 && errno == ECHILD))
			return true;
		if (got < 0 && errno != EINTR)
			return true;
		if (ms_now() >= deadline)
			return false;
		sleep_ms(5);
	}
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status),
		         strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "stopped (status 0x%x)", (unsigned)status);
}

/* The child: never returns. */
static void managed_child(pid_t parent, int ready_fd, hwloc_topology_t topology, const int *cpus,
                          int n_cpus)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		_exit(1); /* the parent is already gone */
	/* Keep stdin/stdout off the parent's (its report goes there), keep
	 * stderr, and let go of every other descriptor the parent had open, so
	 * that no pipe of the parent's stays open in here. */
	int w = ready_fd;
	if (w != 3) {
		if (dup2(w, 3) < 0)
			_exit(1);
		w = 3;
	}
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, STDIN_FILENO);
		dup2(nul, STDOUT_FILENO);
	}
	bool closed = false;
#ifdef SYS_close_range
	closed = syscall(SYS_close_range, 4u, ~0u, 0u) == 0;
#endif
	if (!closed) {
		struct rlimit rl;
		long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1u << 20
		               ? (long)rl.rlim_cur
		               : 1 << 16;
		for (long fd = 4; fd < max; fd++)
			close((int)fd);
	}
	fcntl(w, F_SETFD, FD_CLOEXEC);
	if (topology != NULL && n_cpus > 0) {
		hwloc_bitmap_t set = hwloc_bitmap_alloc();
		for (int i = 0; i < n_cpus; i++)
			hwloc_bitmap_set(set, (unsigned)cpus[i]);
		if (hwloc_set_cpubind(topology, set, HWLOC_CPUBIND_PROCESS) != 0) {
			dprintf(w, "error: cannot bind the fixture server to its PUs: %s\n",
			        strerror(errno));
			_exit(1);
		}
		hwloc_bitmap_free(set);
	}
	struct serve_options opt = {.bind = "127.0.0.1", .port = 0, .ready_fd = w, .quiet = true};
	_exit(serve_run(&opt) == 0 ? 0 : 1);
}

/* Reads one line from fd within timeout_ms; its length, 0 at EOF, -1 on timeout. */
static int read_line(int fd, char *buf, size_t len, long timeout_ms)
{
	size_t have = 0;
	int64_t deadline = ms_now() + timeout_ms;
	while (have + 1 < len) {
		int64_t left = deadline - ms_now();
		if (left <= 0)
			return -1;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int n = poll(&p, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -1 : 0;
		ssize_t got = read(fd, buf + have, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		if (buf[have] == '\n')
			break;
		have++;
	}
	buf[have] = '\0';
	return (int)have;
}

static size_t count_body(char *data, size_t size, size_t nmemb, void *arg)
{
	(void)data;
	*(size_t *)arg += size * nmemb;
	return size * nmemb;
}

/* One GET /bytes?size=1 with a short timeout; true when it answered 200 and 1 byte. */
static bool probe(const char *url, char *why, size_t whylen)
{
	char target[128];
	snprintf(target, sizeof(target), "%s/bytes?size=1", url);
	CURL *c = curl_easy_init();
	if (c == NULL) {
		snprintf(why, whylen, "curl_easy_init failed");
		return false;
	}
	size_t got = 0;
	long status = 0;
	curl_easy_setopt(c, CURLOPT_URL, target);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 1000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, count_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
		return false;
	}
	if (status != 200 || got != 1) {
		snprintf(why, whylen, "it answered status %ld with %zu bytes", status, got);
		return false;
	}
	return true;
}

int managed_server_start(hwloc_topology_t topology, const int *cpus, int n_cpus,
                         struct managed_server *ms, char *err, size_t errlen)
{
	memset(ms, 0, sizeof(*ms));
	if (n_cpus < 0 || n_cpus > (int)(sizeof(ms->cpus) / sizeof(ms->cpus[0])) ||
	    (n_cpus > 0 && cpus == NULL))
		return managed_error(err, errlen, "fixture server: %d PUs is not a valid binding",
		                     n_cpus);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return managed_error(err, errlen, "fixture server: pipe: %s", strerror(errno));
	pid_t parent = getpid();
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pfd[0]);
		close(pfd[1]);
		return managed_error(err, errlen, "fixture server: fork: %s", strerror(e));
	}
	if (pid == 0) {
		close(pfd[0]);
		managed_child(parent, pfd[1], topology, cpus, n_cpus);
	}
	close(pfd[1]);
	ms->pid = pid;
	if (topology != NULL && n_cpus > 0) {
		memcpy(ms->cpus, cpus, (size_t)n_cpus * sizeof(int));
		ms->n_cpus = n_cpus;
	}

	char line[512];
	int n = read_line(pfd[0], line, sizeof(line), MANAGED_READY_TIMEOUT_MS);
	close(pfd[0]);
	long port = 0;
	char *end = NULL;
	if (n > 0)
		port = strtol(line, &end, 10);
	if (n <= 0 || end == line || *end != '\0' || port <= 0 || port > 65535) {
		char reason[600];
		if (n < 0) {
			snprintf(reason, sizeof(reason), "it did not say its port within %d s",
			         MANAGED_READY_TIMEOUT_MS / 1000);
		} else if (n > 0 && strncmp(line, "error: ", 7) == 0) {
			snprintf(reason, sizeof(reason), "%s", line + 7);
		} else if (n > 0) {
			snprintf(reason, sizeof(reason), "it said '%s' instead of its port", line);
		} else {
			int status = 0;
			char how[96] = "exited";
			if (reap_within(pid, 1000, &status)) {
				describe_status(status, how, sizeof(how));
				ms->pid = 0;
			}
			snprintf(reason, sizeof(reason), "it %s before listening", how);
		}
		managed_server_stop(ms);
		return managed_error(err, errlen, "fixture server: %s", reason);
	}
	ms->port = (int)port;
	snprintf(ms->url, sizeof(ms->url), "http://127.0.0.1:%d", ms->port);

	/* Listening is not answering: wait for one real request to succeed. */
	char why[256] = "no answer";
	int64_t deadline = ms_now() + MANAGED_PROBE_TIMEOUT_MS;
	for (;;) {
		if (probe(ms->url, why, sizeof(why)))
			return 0;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			char how[96];
			describe_status(status, how, sizeof(how));
			ms->pid = 0;
			managed_server_stop(ms);
			return managed_error(err, errlen, "fixture server at port %ld %s", port,
			                     how);
		}
		if (ms_now() >= deadline)
			break;
		sleep_ms(20);
	}
	managed_server_stop(ms);
	return managed_error(err, errlen,
	                     "fixture server at port %ld did not answer GET /bytes?size=1 "
	                     "within %d s (%s)",
	                     port, MANAGED_PROBE_TIMEOUT_MS / 1000, why);
}

void managed_server_stop(struct managed_server *ms)
{
	if (ms == NULL)
		return;
	if (ms->pid > 0) {
		int status;
		kill(ms->pid, SIGTERM);
		if (!reap_within(ms->pid, MANAGED_STOP_TIMEOUT_MS, &status)) {
			kill(ms->pid, SIGKILL);
			while (waitpid(ms->pid, &status, 0) < 0 && errno == EINTR)
				;
		}
	}
	memset(ms, 0, sizeof(*ms));
}
