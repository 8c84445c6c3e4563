/* The http workload end to end: the real binary against its own fixture
 * server under every strategy, every failure the issue names, and a static
 * file served by nginx through --url. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/content.h"

#include "tests/support.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs `concbench run ARGS -o FILE` with a deadline; returns its exit status
 * and the result document (NULL when none was written). */
static int run_http(const char *args, json_t **doc, char *err, size_t errlen)
{
	char out[] = "/tmp/concbench-http-XXXXXX.json", cmd[4096];
	int fd = mkstemps(out, 5);
	cr_assert(fd >= 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "run %s --quiet -o %s", args, out);
	int status = run_concbench_for(120, cmd, err, errlen);
	json_error_t e;
	*doc = json_load_file(out, 0, &e);
	unlink(out);
	return status;
}

static json_t *cell_of(json_t *doc, const char *strategy)
{
	json_t *c;
	size_t i;
	json_array_foreach(json_object_get(doc, "results"), i, c)
	{
		if (strcmp(json_string_value(json_object_get(c, "strategy")), strategy) == 0)
			return c;
	}
	return NULL;
}

Test(http, every_strategy_downloads_and_verifies_the_same_bodies, .timeout = 180)
{
	json_t *doc;
	char err[4096];
	int rc = run_http("-w http -s all -n 4 -r 1 --warmup 0 -p http.requests=24 "
	                  "-p http.size=10000 -p http.delay_ms=5",
	                  &doc, err, sizeof(err));
	cr_assert_eq(rc, 0, "run exited %d: %s", rc, err);
	cr_assert_not_null(doc);
	const char *checksum = NULL;
	for (const char *const *s = strategy_names(); *s; s++) {
		json_t *c = cell_of(doc, *s);
		cr_assert_not_null(c, "no %s cell", *s);
		cr_assert(json_is_true(json_object_get(c, "checksum_ok")), "%s: %s", *s,
		          json_string_value(json_object_get(c, "error")));
		const char *cs = json_string_value(json_object_get(c, "checksum"));
		if (checksum == NULL)
			checksum = cs;
		cr_assert_str_eq(cs, checksum, "%s's checksum differs", *s);
		cr_assert_eq(json_integer_value(json_object_get(c, "bytes")), 24 * 10000, "%s", *s);
		json_int_t conns = json_integer_value(json_object_get(c, "connections"));
		/* keep-alive: at most one connection per worker (serial: one in all) */
		cr_assert(conns >= 1 && conns <= 4, "%s opened %lld connections", *s,
		          (long long)conns);
		cr_assert_str_eq(json_string_value(json_object_get(c, "body_verification")),
		                 "fixture content");
	}
	json_t *server = json_array_get(json_object_get(doc, "servers"), 0);
	cr_assert(json_is_true(json_object_get(server, "managed")));
	cr_assert_not_null(
	    strstr(json_string_value(json_object_get(server, "url")), "http://127.0.0.1:"));
	json_decref(doc);
}

/* A failure in some requests: the cell records how many and the first error,
 * the other strategies still run, and the exit status says something failed. */
static void expect_failures(const char *extra, const char *needle, int failed, int requests)
{
	char args[1024], err[4096];
	json_t *doc;
	/* run refuses a -p key given twice: no delay unless extra sets one */
	snprintf(args, sizeof(args),
	         "-w http -s all -n 2 -r 1 --warmup 0 "
	         "-p http.requests=%d -p http.size=5000 %s %s",
	         requests, strstr(extra, "http.delay_ms") ? "" : "-p http.delay_ms=0", extra);
	double t0 = now_s();
	int rc = run_http(args, &doc, err, sizeof(err));
	cr_assert_lt(now_s() - t0, 60.0, "%s took too long", extra);
	cr_assert_eq(rc, 1, "%s: exit %d, wanted 1: %s", extra, rc, err);
	cr_assert_not_null(doc, "%s: no result file", extra);
	for (const char *const *s = strategy_names(); *s; s++) {
		json_t *c = cell_of(doc, *s);
		cr_assert_not_null(c, "%s: no %s cell", extra, *s);
		const char *e = json_string_value(json_object_get(c, "error"));
		cr_assert_not_null(e, "%s: %s has no error", extra, *s);
		cr_assert_not_null(strstr(e, needle), "%s: %s's error '%s' lacks '%s'", extra, *s,
		                   e, needle);
		if (failed > 0)
			cr_assert_eq(
			    json_integer_value(json_object_get(c, "tasks_failed")), failed,
			    "%s: %s failed %lld requests", extra, *s,
			    (long long)json_integer_value(json_object_get(c, "tasks_failed")));
	}
	json_decref(doc);
}

Test(http, a_500_fails_its_requests_and_the_run_goes_on, .timeout = 120)
{
	expect_failures("-p http.fault=500 -p http.fault_every=4", "500", 2, 8);
}

Test(http, a_404_is_an_error, .timeout = 120)
{
	expect_failures("-p http.fault=404 -p http.fault_every=3", "404", 3, 8);
}

Test(http, a_reset_connection_is_an_error, .timeout = 120)
{
	expect_failures("-p http.fault=reset -p http.fault_every=4", "request", 2, 8);
}

Test(http, a_truncated_body_is_an_error, .timeout = 120)
{
	expect_failures("-p http.fault=truncate -p http.fault_every=4", "request", 2, 8);
}

Test(http, a_slow_server_times_out, .timeout = 120)
{
	expect_failures("-p http.delay_ms=3000 -p http.timeout_ms=300", "imeout", 2, 2);
}

static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
	close(s);
	return ntohs(a.sin_port);
}

/* A --url nobody answers is found before anything is measured: one line,
 * exit 2, no result written. */
Test(http, a_refused_url_is_refused_before_anything_runs, .timeout = 120)
{
	char args[256], err[4096];
	json_t *doc;
	snprintf(args, sizeof(args),
	         "-w http -s all -n 2 -r 1 --warmup 0 --url http://127.0.0.1:%d/", free_port());
	int rc = run_http(args, &doc, err, sizeof(err));
	cr_assert_eq(rc, 2, "exit %d, wanted 2: %s", rc, err);
	cr_assert_not_null(strstr(err, "--url http://127.0.0.1:"), "%s", err);
	cr_assert_not_null(strstr(err, "onnect"), "%s", err);
	cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "more than one line: %s", err);
	cr_assert_null(doc, "a result file was written");
}

Test(http, a_url_that_is_not_http_is_refused_before_anything_runs)
{
	json_t *doc;
	char err[4096];
	int rc = run_http("-w http -s serial --url ftp://127.0.0.1/x", &doc, err, sizeof(err));
	cr_assert_eq(rc, 2, "exit %d: %s", rc, err);
	cr_assert_not_null(strstr(err, "--url"), "%s", err);
	json_decref(doc);
}

/* ---- nginx from Debian serving a static file through --url ------------------ */

struct nginx {
	pid_t pid;
	char dir[64];
	int port;
};

static void write_file(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(text, 1, n, f), n);
	fclose(f);
}

static const char *nginx_binary(void)
{
	static const char *const places[] = {"/usr/sbin/nginx", "/usr/bin/nginx", NULL};
	for (const char *const *p = places; *p; p++)
		if (access(*p, X_OK) == 0)
			return *p;
	return NULL;
}

static bool port_answers(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(s);
	return ok;
}

static void nginx_start(struct nginx *n, const char *body, size_t len)
{
	const char *bin = nginx_binary();
	if (bin == NULL)
		cr_skip_test("nginx is not installed (make deps installs it)");
	snprintf(n->dir, sizeof(n->dir), "/tmp/concbench-nginx-XXXXXX");
	cr_assert_not_null(mkdtemp(n->dir));
	chmod(n->dir, 0755); /* nginx's workers may run as another user */
	char path[256], conf[2048];
	snprintf(path, sizeof(path), "%s/www", n->dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/www/body.bin", n->dir);
	write_file(path, body, len);
	chmod(path, 0644);
	n->port = free_port();
	int k = snprintf(conf, sizeof(conf),
	                 "worker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log;\n"
	                 "events { worker_connections 256; }\n"
	                 "http {\n access_log off;\n client_body_temp_path %s/tmp;\n"
	                 " proxy_temp_path %s/tmp;\n fastcgi_temp_path %s/tmp;\n"
	                 " uwsgi_temp_path %s/tmp;\n scgi_temp_path %s/tmp;\n"
	                 " server { listen 127.0.0.1:%d; root %s/www; }\n}\n",
	                 n->dir, n->dir, n->dir, n->dir, n->dir, n->dir, n->dir, n->port, n->dir);
	snprintf(path, sizeof(path), "%s/nginx.conf", n->dir);
	write_file(path, conf, (size_t)k);
	n->pid = fork();
	cr_assert(n->pid >= 0);
	if (n->pid == 0) {
		execl(bin, bin, "-q", "-p", n->dir, "-c", path, "-g", "daemon off;", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && !port_answers(n->port); i++)
		usleep(50000);
	cr_assert(port_answers(n->port), "nginx did not start on port %d", n->port);
}

static void nginx_stop(struct nginx *n)
{
	int status;
	kill(n->pid, SIGTERM);
	for (int i = 0; i < 100 && waitpid(n->pid, &status, WNOHANG) == 0; i++)
		usleep(50000);
	kill(n->pid, SIGKILL);
	waitpid(n->pid, &status, WNOHANG);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", n->dir);
	cr_assert_eq(system(cmd), 0);
}

static void sha256_hex(const void *data, size_t n, char hex[65])
{
	unsigned char md[32];
	unsigned int len = 0;
	EVP_Digest(data, n, md, &len, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

Test(http, nginx_serves_a_static_file_through_url, .timeout = 180)
{
	enum { SIZE = 100003 };
	static char body[SIZE];
	content_fill(9, 0, body, SIZE);
	char hex[65], args[1024], err[4096];
	sha256_hex(body, SIZE, hex);
	struct nginx n;
	nginx_start(&n, body, SIZE);

	json_t *doc;
	snprintf(args, sizeof(args),
	         "-w http -s all -n 3 -r 1 --warmup 0 "
	         "--url http://127.0.0.1:%d/body.bin -p http.requests=12 -p http.size=%d "
	         "-p http.sha256=%s",
	         n.port, SIZE, hex);
	int rc = run_http(args, &doc, err, sizeof(err));
	const char *checksum = NULL;
	for (const char *const *s = strategy_names(); rc == 0 && *s; s++) {
		json_t *c = cell_of(doc, *s);
		cr_assert(json_is_true(json_object_get(c, "checksum_ok")), "%s: %s", *s,
		          json_string_value(json_object_get(c, "error")));
		const char *cs = json_string_value(json_object_get(c, "checksum"));
		checksum = checksum ? checksum : cs;
		cr_assert_str_eq(cs, checksum, "%s's checksum differs", *s);
		cr_assert_str_eq(json_string_value(json_object_get(c, "body_verification")),
		                 "sha256 and size");
	}
	json_t *server = json_array_get(json_object_get(doc, "servers"), 0);
	cr_assert(rc != 0 || json_is_false(json_object_get(server, "managed")));
	json_decref(doc);

	/* The wrong hash is caught before anything is measured, and says which
	 * check failed. */
	hex[0] = hex[0] == '0' ? '1' : '0';
	snprintf(args, sizeof(args),
	         "-w http -s serial,epoll -n 2 -r 1 --warmup 0 --url http://127.0.0.1:%d/body.bin "
	         "-p http.requests=2 -p http.sha256=%s",
	         n.port, hex);
	json_t *bad;
	char err_bad[4096];
	int rc_bad = run_http(args, &bad, err_bad, sizeof(err_bad));
	nginx_stop(&n);
	cr_assert_eq(rc, 0, "run against nginx exited %d: %s", rc, err);
	cr_assert_eq(rc_bad, 2, "exit %d: %s", rc_bad, err_bad);
	cr_assert_not_null(strstr(err_bad, "SHA-256"), "error: %s", err_bad);
	cr_assert_null(bad, "a result file was written");
}
