/* The fixture HTTP server: the real binary (`concbench serve`) driven by
 * libcurl, and the managed-server API that `concbench run` uses. Every wait
 * has a deadline; a server left behind by a failed test dies with the test
 * process (PR_SET_PDEATHSIG). */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <hwloc.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/content.h"
#include "fixture/serve.h"

#ifndef CONCBENCH_BIN
#error "the Makefile passes CONCBENCH_BIN"
#endif

#define MAX_ARGS 16

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Waits up to timeout_s for pid; true once reaped. */
static bool wait_exit(pid_t pid, double timeout_s, int *status)
{
	double deadline = now_s() + timeout_s;
	for (;;) {
		pid_t got = waitpid(pid, status, WNOHANG);
		if (got == pid)
			return true;
		if (got < 0 && errno != EINTR)
			return false;
		if (now_s() >= deadline)
			return false;
		sleep_ms(5);
	}
}

/* Reads what fd has until EOF or timeout_s (appending to buf). */
static void read_all(int fd, char *buf, size_t len, double timeout_s)
{
	size_t have = strlen(buf);
	double deadline = now_s() + timeout_s;
	while (have + 1 < len) {
		int left = (int)((deadline - now_s()) * 1000);
		if (left <= 0)
			break;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, left) <= 0)
			break;
		ssize_t n = read(fd, buf + have, len - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	buf[have] = '\0';
}

/* ---- the server binary --------------------------------------------------- */

struct server {
	pid_t pid;
	int port;
	char url[96];
	int err_fd; /* its stderr */
};

static pid_t spawn(char *const argv[], int *out_fd, int *err_fd)
{
	int out[2], err[2];
	cr_assert(pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execv(CONCBENCH_BIN, argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	*out_fd = out[0];
	*err_fd = err[0];
	return pid;
}

/* Starts `concbench serve --port 0 [extra...]` and reads its listening line. */
static void server_start(struct server *s, const char *extra, ...)
{
	char *argv[MAX_ARGS] = {"concbench", "serve", "--port", "0"};
	int argc = 4;
	va_list ap;
	va_start(ap, extra);
	for (const char *a = extra; a != NULL && argc < MAX_ARGS - 1; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;

	int out_fd;
	memset(s, 0, sizeof(*s));
	s->pid = spawn(argv, &out_fd, &s->err_fd);
	char line[256] = "";
	double deadline = now_s() + 10;
	while (strchr(line, '\n') == NULL && now_s() < deadline)
		read_all(out_fd, line, sizeof(line), 0.05);
	close(out_fd);
	char host[64];
	int port = 0;
	cr_assert(sscanf(line, "listening on http://%63[^:]:%d", host, &port) == 2,
	          "the server printed '%s'", line);
	cr_assert(port > 0 && port < 65536);
	s->port = port;
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", port);
}

/* SIGTERM; the exit status, or -1 when it had to be killed. */
static int server_stop(struct server *s)
{
	int status = 0, rc = -1;
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		if (wait_exit(s->pid, 5, &status))
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		else {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &status, 0);
		}
		s->pid = 0;
	}
	return rc;
}

static void server_close(struct server *s)
{
	server_stop(s);
	if (s->err_fd > 0)
		close(s->err_fd);
	s->err_fd = -1;
}

/* Runs the binary to completion (10 s at most); its status and stderr. */
static int run_binary(char *const argv[], char *err, size_t errlen)
{
	int out_fd, err_fd;
	pid_t pid = spawn(argv, &out_fd, &err_fd);
	err[0] = '\0';
	read_all(err_fd, err, errlen, 10);
	int status = 0;
	bool done = wait_exit(pid, 10, &status);
	if (!done) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	close(out_fd);
	close(err_fd);
	cr_assert(done, "concbench %s %s did not exit", argv[1], argv[2] ? argv[2] : "");
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- the client ---------------------------------------------------------- */

struct fetch {
	CURLcode rc;
	long status;
	curl_off_t content_length;
	size_t bytes;
	uint64_t hash;
	double seconds;
	long connects;
	char body[512];
	struct content_hash h;
	char errbuf[CURL_ERROR_SIZE];
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetch *f = arg;
	size_t n = size * nmemb;
	if (f->bytes < sizeof(f->body) - 1) {
		size_t take =
		    n < sizeof(f->body) - 1 - f->bytes ? n : sizeof(f->body) - 1 - f->bytes;
		memcpy(f->body + f->bytes, data, take);
		f->body[f->bytes + take] = '\0';
	}
	content_hash_update(&f->h, data, n);
	f->bytes += n;
	return n;
}

static void fetch_prepare(CURL *c, struct fetch *f, const char *url)
{
	memset(f, 0, sizeof(*f));
	content_hash_init(&f->h);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, f->errbuf);
}

static void fetch_finish(CURL *c, struct fetch *f)
{
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &f->content_length);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &f->connects);
	curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &f->seconds);
	f->hash = content_hash_final(&f->h);
}

/* One request on handle c (kept for reuse). */
static void fetch_on(CURL *c, const struct server *s, const char *path, struct fetch *f)
{
	char url[512];
	snprintf(url, sizeof(url), "%s%s", s->url, path);
	fetch_prepare(c, f, url);
	f->rc = curl_easy_perform(c);
	fetch_finish(c, f);
}

static void fetch(const struct server *s, const char *path, struct fetch *f)
{
	CURL *c = curl_easy_init();
	cr_assert_not_null(c);
	fetch_on(c, s, path, f);
	curl_easy_cleanup(c);
}

/* Runs n handles through one multi handle; false if they were not all done
 * within timeout_s. */
static bool multi_run(CURLM *m, double timeout_s)
{
	double deadline = now_s() + timeout_s;
	int running = 1;
	while (running > 0) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			return false;
		if (running == 0)
			break;
		if (now_s() >= deadline)
			return false;
		curl_multi_poll(m, NULL, 0, 50, NULL);
	}
	return true;
}

static void assert_one_line(const struct fetch *f)
{
	size_t len = strlen(f->body);
	cr_assert(len > 1, "an empty reason");
	cr_assert(f->body[len - 1] == '\n' && strchr(f->body, '\n') == f->body + len - 1,
	          "not one line: '%s'", f->body);
}

static void setup(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void teardown(void)
{
	curl_global_cleanup();
}

TestSuite(serve, .init = setup, .fini = teardown, .timeout = 60);

/* ---- bodies -------------------------------------------------------------- */

Test(serve, bodies_are_the_content_stream_of_the_seed)
{
	static const uint64_t sizes[] = {0, 1, 7, 65536, 1048576 + 3};
	static const uint64_t seeds[] = {0, 1, 42, 18446744073709551615ull};
	struct server s;
	server_start(&s, "--quiet", NULL);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (size_t j = 0; j < sizeof(seeds) / sizeof(seeds[0]); j++) {
			char path[128];
			snprintf(path, sizeof(path), "/bytes?size=%" PRIu64 "&seed=%" PRIu64,
			         sizes[i], seeds[j]);
			struct fetch f;
			fetch(&s, path, &f);
			cr_assert_eq(f.rc, CURLE_OK, "%s: %s", path, f.errbuf);
			cr_assert_eq(f.status, 200, "%s", path);
			cr_assert_eq(f.content_length, (curl_off_t)sizes[i], "%s", path);
			cr_assert_eq(f.bytes, sizes[i], "%s", path);
			cr_assert_eq(f.hash, content_expected_hash(seeds[j], sizes[i]),
			             "%s: the body is not stream %" PRIu64, path, seeds[j]);
		}
	}
	cr_assert_eq(server_stop(&s), 0);
	server_close(&s);
}

Test(serve, defaults_are_an_empty_body)
{
	struct server s;
	server_start(&s, "--quiet", NULL);
	struct fetch f;
	fetch(&s, "/bytes", &f);
	cr_assert_eq(f.rc, CURLE_OK, "%s", f.errbuf);
	cr_assert_eq(f.status, 200);
	cr_assert_eq(f.bytes, 0);
	server_close(&s);
}

Test(serve, keep_alive_reuses_the_connection)
{
	struct server s;
	server_start(&s, "--quiet", NULL);
	CURL *c = curl_easy_init();
	const char *paths[] = {"/bytes?size=1000&seed=1", "/bytes?size=2000&seed=2&delay_ms=20",
	                       "/bytes?size=12x", "/bytes?size=70000&seed=3"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct fetch f;
		fetch_on(c, &s, paths[i], &f);
		cr_assert_eq(f.rc, CURLE_OK, "%s: %s", paths[i], f.errbuf);
		cr_assert_eq(f.connects, i == 0 ? 1 : 0,
		             "request %zu (%s) opened %ld connections: no keep-alive", i, paths[i],
		             f.connects);
	}
	curl_easy_cleanup(c);
	server_close(&s);
}

Test(serve, head_answers_the_largest_size_without_a_body)
{
	struct server s;
	server_start(&s, "--quiet", NULL);
	CURL *c = curl_easy_init();
	struct fetch f;
	char url[128];
	snprintf(url, sizeof(url), "%s/bytes?size=1073741824", s.url);
	fetch_prepare(c, &f, url);
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	f.rc = curl_easy_perform(c);
	fetch_finish(c, &f);
	cr_assert_eq(f.rc, CURLE_OK, "%s", f.errbuf);
	cr_assert_eq(f.status, 200);
	cr_assert_eq(f.content_length, (curl_off_t)1073741824);
	curl_easy_cleanup(c);
	server_close(&s);
}

/* ---- limits and malformed requests --------------------------------------- */

Test(serve, limits_and_malformed_requests_are_400_with_a_reason)
{
	static const struct {
		const char *path;
		const char *needle; /* in the reason */
	} cases[] = {
	    {"/bytes?size=1073741825", "size"}, {"/bytes?delay_ms=60001", "delay_ms"},
	    {"/nothing-here", "path"},          {"/", "path"},
	    {"/bytes?colour=red", "colour"},    {"/bytes?size=12x", "size"},
	    {"/bytes?size=-1", "size"},         {"/bytes?size=+1", "size"},
	    {"/bytes?size=", "size"},           {"/bytes?size", "size"},
	    {"/bytes?size=1%20", "size"},       {"/bytes?seed=18446744073709551616", "seed"},
	    {"/bytes?size=1&size=2", "twice"},  {"/bytes?fault=explode", "fault"},
	    {"/bytes?rate=abc", "rate"},        {"/bytes?size=1073741824&rate=1", "rate"},
	};
	struct server s;
	server_start(&s, "--quiet", NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fetch f;
		fetch(&s, cases[i].path, &f);
		cr_assert_eq(f.rc, CURLE_OK, "%s: %s", cases[i].path, f.errbuf);
		cr_assert_eq(f.status, 400, "%s answered %ld", cases[i].path, f.status);
		assert_one_line(&f);
		cr_assert_not_null(strstr(f.body, cases[i].needle),
		                   "%s: the reason '%s' lacks '%s'", cases[i].path, f.body,
		                   cases[i].needle);
	}
	/* the limits themselves are allowed */
	struct fetch f;
	fetch(&s, "/bytes?delay_ms=0&size=3&seed=0", &f);
	cr_assert_eq(f.status, 200);
	cr_assert_eq(server_stop(&s), 0);
	server_close(&s);
}

Test(serve, a_method_other_than_get_is_405)
{
	struct server s;
	server_start(&s, "--quiet", NULL);
	CURL *c = curl_easy_init();
	struct fetch f;
	char url[128];
	snprintf(url, sizeof(url), "%s/bytes?size=10", s.url);
	fetch_prepare(c, &f, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "hello");
	f.rc = curl_easy_perform(c);
	fetch_finish(c, &f);
	cr_assert_eq(f.rc, CURLE_OK, "%s", f.errbuf);
	cr_assert_eq(f.status, 405);
	assert_one_line(&f);
	curl_easy_cleanup(c);
	server_close(&s);
}

/* ---- faults -------------------------------------------------------------- */

Test(serve, faults_500_and_404_answer_that_status)
{
	struct server s;
	server_start(&s, "--quiet", NULL);
	struct fetch f;
	fetch(&s, "/bytes?size=100&fault=500", &f);
	cr_assert_eq(f.rc, CURLE_OK);
	cr_assert_eq(f.status, 500);
	assert_one_line(&f);
	fetch(&s, "/bytes?size=100&fault=404&delay_ms=50", &f);
	cr_assert_eq(f.rc, CURLE_OK);
	cr_assert_eq(f.status, 404);
	cr_assert_geq(f.seconds, 0.045, "the fault came before the delay");
	assert_one_line(&f);
	server_close(&s);
}

Test(serve, fault_reset_resets_the_connection)
{
	struct server s;
	server_start(&s, "--quiet", NULL);
	struct fetch f;
	fetch(&s, "/bytes?size=100&fault=reset", &f);
	cr_assert(f.rc == CURLE_RECV_ERROR || f.rc == CURLE_GOT_NOTHING, "curl said %d (%s)", f.rc,
	          f.errbuf);
	cr_assert_eq(f.bytes, 0);
	/* a reset, not an orderly close: the reader gets ECONNRESET, not EOF */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s.port)};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	const char req[] = "GET /bytes?size=10&fault=reset&delay_ms=20 HTTP/1.1\r\nHost: x\r\n\r\n";
	cr_assert_eq(write(fd, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf), 0);
	int e = errno;
	close(fd);
	cr_assert(n < 0 && e == ECONNRESET, "recv gave %zd (%s), not ECONNRESET", n,
	          n < 0 ? strerror(e) : "data or EOF");
	/* and the server goes on */
	fetch(&s, "/bytes?size=5", &f);
	cr_assert_eq(f.status, 200);
	cr_assert_eq(server_stop(&s), 0);
	server_close(&s);
}

Test(serve, fault_truncate_closes_after_about_half)
{
	struct server s;
	server_start(&s, "--quiet", NULL);
	struct fetch f;
	fetch(&s, "/bytes?size=1000000&seed=9&fault=truncate", &f);
	cr_assert_eq(f.rc, CURLE_PARTIAL_FILE, "curl said %d (%s)", f.rc, f.errbuf);
	cr_assert_eq(f.content_length, 1000000);
	cr_assert(f.bytes >= 400000 && f.bytes <= 600000, "%zu bytes came", f.bytes);
	/* what did come is the right prefix */
	cr_assert_eq(f.hash, content_expected_hash(9, f.bytes));
	server_close(&s);
}

/* ---- time: delay, rate, concurrency -------------------------------------- */

Test(serve, the_delay_is_waited)
{
	struct server s;
	server_start(&s, "--quiet", NULL);
	struct fetch f;
	fetch(&s, "/bytes?size=10&delay_ms=300&seed=5", &f);
	cr_assert_eq(f.status, 200);
	cr_assert_eq(f.hash, content_expected_hash(5, 10));
	cr_assert(f.seconds >= 0.29 && f.seconds < 2.0, "took %.3f s", f.seconds);
	server_close(&s);
}

Test(serve, rate_paces_the_body)
{
	struct server s;
	server_start(&s, "--quiet", NULL);
	struct fetch f;
	fetch(&s, "/bytes?size=200000&rate=1000000&seed=4", &f);
	cr_assert_eq(f.rc, CURLE_OK, "%s", f.errbuf);
	cr_assert_eq(f.bytes, 200000);
	cr_assert_eq(f.hash, content_expected_hash(4, 200000));
	cr_assert(f.seconds >= 0.15 && f.seconds < 2.0, "200000 bytes at 1 MB/s took %.3f s",
	          f.seconds);
	/* unpaced, the same body is quick */
	fetch(&s, "/bytes?size=200000&seed=4", &f);
	cr_assert_lt(f.seconds, 0.15);
	server_close(&s);
}

Test(serve, two_hundred_delayed_requests_overlap)
{
	enum { N = 200 };
	struct server s;
	server_start(&s, "--quiet", NULL);
	CURLM *m = curl_multi_init();
	CURL *easy[N];
	static struct fetch f[N];
	for (int i = 0; i < N; i++) {
		char url[160];
		snprintf(url, sizeof(url), "%s/bytes?size=%d&delay_ms=200&seed=%d", s.url, 100 + i,
		         i);
		easy[i] = curl_easy_init();
		fetch_prepare(easy[i], &f[i], url);
		curl_multi_add_handle(m, easy[i]);
	}
	double t0 = now_s();
	bool done = multi_run(m, 10);
	double took = now_s() - t0;
	cr_assert(done, "the requests were not done in 10 s");
	int ok = 0;
	for (int i = 0; i < N; i++) {
		fetch_finish(easy[i], &f[i]);
		if (f[i].status == 200 && f[i].bytes == (size_t)(100 + i) &&
		    f[i].hash == content_expected_hash((uint64_t)i, (uint64_t)(100 + i)))
			ok++;
		curl_multi_remove_handle(m, easy[i]);
		curl_easy_cleanup(easy[i]);
	}
	curl_multi_cleanup(m);
	cr_assert_eq(ok, N, "%d of %d requests came back right", ok, N);
	cr_assert(took >= 0.19 && took < 2.0, "%d requests of 200 ms took %.3f s", N, took);
	server_close(&s);
}

Test(serve, sigterm_with_suspended_requests_stops_cleanly)
{
	enum { N = 20 };
	struct server s;
	server_start(&s, "--quiet", NULL);
	CURLM *m = curl_multi_init();
	CURL *easy[N];
	static struct fetch f[N];
	for (int i = 0; i < N; i++) {
		char url[160];
		snprintf(url, sizeof(url), "%s/bytes?size=10&delay_ms=10000", s.url);
		easy[i] = curl_easy_init();
		fetch_prepare(easy[i], &f[i], url);
		curl_multi_add_handle(m, easy[i]);
	}
	/* let the requests arrive and be suspended */
	multi_run(m, 0.4);
	double t0 = now_s();
	kill(s.pid, SIGTERM);
	int status = 0;
	bool gone = wait_exit(s.pid, 2, &status);
	double took = now_s() - t0;
	if (gone)
		s.pid = 0;
	cr_assert(gone, "the server did not stop within 2 s of SIGTERM");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the server ended with 0x%x",
	          (unsigned)status);
	cr_assert_lt(took, 2.0);
	/* the clients see their connections end, not a 200 */
	multi_run(m, 5);
	for (int i = 0; i < N; i++) {
		fetch_finish(easy[i], &f[i]);
		cr_assert_neq(f[i].status, 200);
		curl_multi_remove_handle(m, easy[i]);
		curl_easy_cleanup(easy[i]);
	}
	curl_multi_cleanup(m);
	server_close(&s);
}

/* ---- the command line ---------------------------------------------------- */

Test(serve, stats_are_printed_at_exit_unless_quiet)
{
	struct server s;
	server_start(&s, NULL);
	struct fetch f;
	fetch(&s, "/bytes?size=1234", &f);
	cr_assert_eq(f.status, 200);
	cr_assert_eq(server_stop(&s), 0);
	char err[4096] = "";
	read_all(s.err_fd, err, sizeof(err), 2);
	cr_assert_not_null(strstr(err, "1 requests"), "stderr: %s", err);
	cr_assert_not_null(strstr(err, "1234 body bytes"), "stderr: %s", err);
	server_close(&s);
}

Test(serve, a_non_loopback_bind_gets_a_warning)
{
	struct server s;
	server_start(&s, "--quiet", "--bind", "0.0.0.0", NULL);
	struct fetch f;
	fetch(&s, "/bytes?size=3", &f); /* 0.0.0.0 answers on loopback too */
	cr_assert_eq(f.status, 200);
	server_stop(&s);
	char err[4096] = "";
	read_all(s.err_fd, err, sizeof(err), 2);
	cr_assert_not_null(strstr(err, "WARNING"), "stderr: %s", err);
	cr_assert_not_null(strstr(err, "0.0.0.0"), "stderr: %s", err);
	server_close(&s);

	/* and loopback gets none */
	server_start(&s, "--quiet", "--bind", "127.0.0.1", NULL);
	server_stop(&s);
	err[0] = '\0';
	read_all(s.err_fd, err, sizeof(err), 2);
	cr_assert_null(strstr(err, "WARNING"), "stderr: %s", err);
	server_close(&s);
}

Test(serve, bad_options_are_one_line_and_exit_2)
{
	static const char *const cases[][3] = {
	    {"--port", "70000", NULL},      {"--port", "x", NULL},
	    {"--bogus", NULL, NULL},        {"--connection-limit", "0", NULL},
	    {"--idle-timeout", "-1", NULL}, {"--bind", NULL, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[6] = {"concbench", "serve", (char *)cases[i][0], (char *)cases[i][1],
		                 NULL};
		char err[1024];
		int rc = run_binary(argv, err, sizeof(err));
		cr_assert_eq(rc, 2, "serve %s %s exited %d: %s", cases[i][0],
		             cases[i][1] ? cases[i][1] : "", rc, err);
		cr_assert_not_null(strstr(err, "concbench serve: "), "%s", err);
		cr_assert(strchr(err, '\n') == err + strlen(err) - 1, "not one line: %s", err);
	}
	char *help[] = {"concbench", "serve", "--help", NULL};
	char err[1024];
	cr_assert_eq(run_binary(help, err, sizeof(err)), 0);
}

Test(serve, a_port_in_use_is_an_error)
{
	struct server s;
	server_start(&s, "--quiet", NULL);
	char port[16];
	snprintf(port, sizeof(port), "%d", s.port);
	char *argv[] = {"concbench", "serve", "--port", port, "--quiet", NULL};
	char err[1024];
	cr_assert_eq(run_binary(argv, err, sizeof(err)), 1, "%s", err);
	cr_assert_not_null(strstr(err, "cannot listen"), "%s", err);
	server_close(&s);
}

/* ---- the managed server -------------------------------------------------- */

Test(serve, managed_server_starts_answers_and_stops)
{
	struct managed_server ms;
	char err[256] = "";
	int rc = managed_server_start(NULL, NULL, 0, &ms, err, sizeof(err));
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_gt(ms.pid, 0);
	cr_assert(ms.port > 0 && ms.port < 65536);
	char want[80];
	snprintf(want, sizeof(want), "http://127.0.0.1:%d", ms.port);
	cr_assert_str_eq(ms.url, want);
	cr_assert_eq(ms.n_cpus, 0);

	struct server view = {.port = ms.port};
	snprintf(view.url, sizeof(view.url), "%s", ms.url);
	struct fetch f;
	fetch(&view, "/bytes?size=4096&seed=77", &f);
	cr_assert_eq(f.status, 200);
	cr_assert_eq(f.hash, content_expected_hash(77, 4096));

	pid_t pid = ms.pid;
	managed_server_stop(&ms);
	cr_assert_eq(ms.pid, 0);
	cr_assert(kill(pid, 0) != 0 && errno == ESRCH, "the child is still there");
	managed_server_stop(&ms); /* twice is harmless */
}

Test(serve, managed_server_stop_is_safe_on_a_zeroed_struct)
{
	struct managed_server ms;
	memset(&ms, 0, sizeof(ms));
	managed_server_stop(&ms);
	cr_assert_eq(ms.pid, 0);
}

Test(serve, managed_server_is_bound_to_its_pus)
{
	hwloc_topology_t topo;
	cr_assert_eq(hwloc_topology_init(&topo), 0);
	cr_assert_eq(hwloc_topology_load(topo), 0);
	cpu_set_t mine;
	CPU_ZERO(&mine);
	cr_assert_eq(sched_getaffinity(0, sizeof(mine), &mine), 0);
	int cpu = -1;
	for (int i = CPU_SETSIZE - 1; i >= 0; i--)
		if (CPU_ISSET(i, &mine)) {
			cpu = i;
			break;
		}
	cr_assert_geq(cpu, 0);

	struct managed_server ms;
	char err[256] = "";
	cr_assert_eq(managed_server_start(topo, &cpu, 1, &ms, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ms.n_cpus, 1);
	cr_assert_eq(ms.cpus[0], cpu);
	cpu_set_t theirs;
	CPU_ZERO(&theirs);
	cr_assert_eq(sched_getaffinity(ms.pid, sizeof(theirs), &theirs), 0);
	cr_assert_eq(CPU_COUNT(&theirs), 1);
	cr_assert(CPU_ISSET(cpu, &theirs));
	managed_server_stop(&ms);
	hwloc_topology_destroy(topo);
}

Test(serve, managed_server_dies_with_its_parent)
{
	/* A middle process starts the server and dies without stopping it; as
	 * subreaper, this process inherits the orphan and can reap it. */
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t mid = fork();
	cr_assert_geq(mid, 0);
	if (mid == 0) {
		close(p[0]);
		struct managed_server ms;
		char err[256];
		if (managed_server_start(NULL, NULL, 0, &ms, err, sizeof(err)) != 0)
			_exit(1);
		dprintf(p[1], "%d\n", (int)ms.pid);
		_exit(0);
	}
	close(p[1]);
	char line[32] = "";
	read_all(p[0], line, sizeof(line), 15);
	close(p[0]);
	int status;
	cr_assert(wait_exit(mid, 15, &status));
	int child = atoi(line);
	cr_assert_gt(child, 0, "the middle process said '%s'", line);
	bool gone = wait_exit(child, 5, &status);
	if (!gone) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
	}
	cr_assert(gone, "the orphaned server %d is still running", child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	          "the orphan stopped with 0x%x, not cleanly", (unsigned)status);
}

/* ---- refusals over raw sockets (issue 20) ---------------------------------- */

static int connect_loopback(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
	return fd;
}

/* Sends request whole on a new connection and reads the answer for up to
 * timeout_s; the status (0 for none), the answer in buf, the seconds taken. */
static int raw_request(const struct server *s, const char *request, char *buf, size_t len,
                       double timeout_s, double *seconds)
{
	int fd = connect_loopback(s->port);
	double t0 = now_s();
	size_t n = strlen(request), done = 0;
	while (done < n) {
		ssize_t k = send(fd, request + done, n - done, MSG_NOSIGNAL);
		if (k <= 0)
			break; /* a server that refuses early may close while we send */
		done += (size_t)k;
	}
	buf[0] = '\0';
	read_all(fd, buf, len, timeout_s);
	*seconds = now_s() - t0;
	close(fd);
	int status = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		status = 0;
	return status;
}

/* "GET /bytes?size=1&size=1&... HTTP/1.1" with n parameters. */
static char *many_parameters(size_t n)
{
	size_t cap = 64 + n * 8;
	char *req = malloc(cap);
	cr_assert_not_null(req);
	size_t at = (size_t)snprintf(req, cap, "GET /bytes?");
	for (size_t i = 0; i < n; i++)
		at += (size_t)snprintf(req + at, cap - at, "%sseed=1", i ? "&" : "");
	snprintf(req + at, cap - at, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	return req;
}

Test(serve, too_many_parameters_get_400_within_a_second)
{
	struct server s;
	server_start(&s, "--quiet", NULL);
	static const size_t counts[] = {33, 231, 232, 300, 1000};
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		char *req = many_parameters(counts[i]), buf[4096];
		double took;
		int status = raw_request(&s, req, buf, sizeof(buf), 3, &took);
		free(req);
		cr_assert(status >= 400 && status < 500, "%zu parameters: '%.80s'", counts[i], buf);
		cr_assert_lt(took, 1.0, "%zu parameters took %.2f s", counts[i], took);
		if (counts[i] <= 300)
			cr_assert_eq(status, 400, "%zu parameters: %d", counts[i], status);
		if (status == 400)
			cr_assert_not_null(strstr(buf, "too many parameters"), "%s", buf);
	}
	/* the server still answers */
	struct fetch f;
	fetch(&s, "/bytes?size=3", &f);
	cr_assert_eq(f.status, 200);
	server_close(&s);
}

Test(serve, control_bytes_in_the_path_or_a_value_get_400)
{
	struct server s;
	server_start(&s, "--quiet", NULL);
	static const char *const targets[] = {"/bytes?size=1%00abc", "/bytes%00junk?size=2",
	                                      "/bytes?size=%7f",     "/bytes?seed=1%0d%0aX: y",
	                                      "/bytes?size=1%1F",    "/by%0Ates?size=1"};
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		char req[256], buf[4096];
		snprintf(req, sizeof(req),
		         "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", targets[i]);
		double took;
		int status = raw_request(&s, req, buf, sizeof(buf), 3, &took);
		cr_assert_eq(status, 400, "%s: '%.80s'", targets[i], buf);
		cr_assert_not_null(strstr(buf, "control byte"), "%s: %s", targets[i], buf);
	}
	char buf[4096];
	double took;
	cr_assert_eq(raw_request(&s,
	                         "GET /bytes?size=2%30 HTTP/1.1\r\nHost: x\r\nConnection: "
	                         "close\r\n\r\n",
	                         buf, sizeof(buf), 3, &took),
	             200, "a printable %%-escape is fine: %s", buf);
	server_close(&s);
}

Test(serve, long_lines_and_headers_get_a_4xx)
{
	struct server s;
	server_start(&s, "--quiet", NULL);
	size_t big = 40000;
	char *req = malloc(big + 256), buf[4096];
	cr_assert_not_null(req);
	/* a request line longer than the connection's memory */
	int at = snprintf(req, 256, "GET /bytes?size=");
	memset(req + at, '1', big);
	snprintf(req + at + big, 256, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	double took;
	int status = raw_request(&s, req, buf, sizeof(buf), 3, &took);
	cr_assert(status == 414 || status == 431 || status == 400, "a long line: '%.80s'", buf);
	cr_assert_lt(took, 1.0);
	/* one header longer than that */
	at = snprintf(req, 256, "GET /bytes?size=1 HTTP/1.1\r\nHost: x\r\nX-Long: ");
	memset(req + at, 'a', big);
	snprintf(req + at + big, 256, "\r\nConnection: close\r\n\r\n");
	status = raw_request(&s, req, buf, sizeof(buf), 3, &took);
	cr_assert(status == 431 || status == 400 || status == 414, "a long header: '%.80s'", buf);
	cr_assert_lt(took, 1.0);
	free(req);
	server_close(&s);
}

/* Slowloris: every slot held by a client trickling its headers a byte at a
 * time. The deadline frees them, a new client is answered, and the stats
 * line counts them. */
Test(serve, connections_that_trickle_are_closed_at_the_request_deadline)
{
	struct server s;
	server_start(&s, "--connection-limit", "4", "--idle-timeout", "30", "--request-timeout",
	             "1", NULL);
	int slow[4];
	for (int i = 0; i < 4; i++) {
		slow[i] = connect_loopback(s.port);
		cr_assert_eq(send(slow[i], "GET /bytes", 10, MSG_NOSIGNAL), 10);
	}
	/* a byte every 100 ms for 3 s: never a whole request */
	bool closed[4] = {false};
	for (int tick = 0; tick < 30; tick++) {
		sleep_ms(100);
		for (int i = 0; i < 4; i++)
			if (!closed[i] && send(slow[i], "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != 1)
				closed[i] = true;
	}
	char buf[4096];
	double took;
	int status =
	    raw_request(&s, "GET /bytes?size=5 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	                buf, sizeof(buf), 5, &took);
	cr_assert_eq(status, 200, "a new client was not answered: '%.80s'", buf);
	for (int i = 0; i < 4; i++) {
		char rest[64] = "";
		read_all(slow[i], rest, sizeof(rest), 0.5); /* EOF: the server closed it */
		close(slow[i]);
	}
	cr_assert_eq(server_stop(&s), 0);
	char err[4096] = "";
	read_all(s.err_fd, err, sizeof(err), 2);
	cr_assert_not_null(strstr(err, "4 connections whose request was not in"), "stderr: %s",
	                   err);
	server_close(&s);
}

Test(serve, the_stats_line_counts_each_refusal)
{
	struct server s;
	server_start(&s, NULL);
	char *req = many_parameters(300), buf[4096];
	double took;
	cr_assert_eq(raw_request(&s, req, buf, sizeof(buf), 3, &took), 400);
	free(req);
	cr_assert_eq(raw_request(&s,
	                         "GET /bytes?size=1%00 HTTP/1.1\r\nHost: x\r\nConnection: "
	                         "close\r\n\r\n",
	                         buf, sizeof(buf), 3, &took),
	             400);
	cr_assert_eq(server_stop(&s), 0);
	char err[4096] = "";
	read_all(s.err_fd, err, sizeof(err), 2);
	cr_assert_not_null(strstr(err, "1 with too many parameters"), "stderr: %s", err);
	cr_assert_not_null(strstr(err, "1 with control bytes"), "stderr: %s", err);
	server_close(&s);
}
