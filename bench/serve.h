/* The fixture HTTP server (`concbench serve`) and the managed server that
 * `concbench run` starts for the http workload.
 *
 * One thread drives libmicrohttpd in its external epoll mode; a request's
 * delay and its rate pacing suspend the connection and resume it from a timer,
 * so ten thousand waiting requests cost ten thousand sockets and nothing else.
 *
 *   GET /bytes?size=N&delay_ms=D&seed=S[&rate=R][&fault=F]
 *
 * answers, after D ms, 200 with Content-Length N and bytes [0, N) of content
 * stream S (workloads/content.h). size, delay_ms and seed default to 0; rate
 * (bytes per second, 0: unpaced) paces the body; fault is one of 500, 404,
 * reset (the TCP connection is reset) or truncate (the headers promise N bytes,
 * the connection closes after N/2). Anything else, or more than the limits
 * below, is answered 400 with a one-line reason; a method other than GET or
 * HEAD, 405. */
#ifndef CONCBENCH_SERVE_H
#define CONCBENCH_SERVE_H

#include <hwloc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SERVE_MAX_SIZE             (1ull << 30) /* bytes in one body */
#define SERVE_MAX_DELAY_MS         60000u
#define SERVE_MAX_PACED_S          600u /* size / rate may not exceed this */
#define SERVE_DEFAULT_CONN_LIMIT   20000u
#define SERVE_DEFAULT_IDLE_TIMEOUT 60u
#define SERVE_LISTEN_BACKLOG       16384u
#define SERVE_MAX_PARAMS           32 /* query parameters in one request */
/* seconds a connection has to deliver a whole request's headers */
#define SERVE_DEFAULT_REQUEST_TIMEOUT 5u

enum serve_fault {
	SERVE_FAULT_NONE,
	SERVE_FAULT_500,
	SERVE_FAULT_404,
	SERVE_FAULT_RESET,
	SERVE_FAULT_TRUNCATE
};

/* What one request asks for, or why it is refused. */
struct serve_request_spec {
	uint64_t size, delay_ms, seed, rate;
	enum serve_fault fault;
	int bad_status;   /* 0, or 400 / 405 */
	char reason[256]; /* with a bad_status: one printable ASCII line, else "" */
};

/* Validates a request: the method, the (decoded) path and n decoded query
 * parameters (values[i] NULL for a key without '='). Pure: no I/O, no
 * allocation. Fills out (zeroed first) and returns out->bad_status: 405 for a
 * method other than GET or HEAD; 400 for another path, more than
 * SERVE_MAX_PARAMS parameters, an unknown, repeated or empty parameter, a
 * number that is not plain decimal, or a value over the limits above; the
 * first problem found is the reason. */
int serve_parse_request(const char *method, const char *path, const char *const *keys,
                        const char *const *values, size_t n, struct serve_request_spec *out);

/* Checks the raw request target (before any %XX decoding) for what must be
 * refused before libmicrohttpd parses it: a control byte, raw or
 * percent-encoded (a decoded %00 would cut a value short), and more than
 * SERVE_MAX_PARAMS query parameters (which exhaust its connection pool).
 * Pure. Fills out (zeroed first); returns 0 or 400. */
int serve_check_target(const char *target, struct serve_request_spec *out);

struct serve_options {
	const char *bind;           /* NULL: "127.0.0.1" */
	int port;                   /* 0: an ephemeral port */
	unsigned connection_limit;  /* 0: the default */
	unsigned idle_timeout_s;    /* 0: the default */
	unsigned request_timeout_s; /* 0: the default */
	int ready_fd;               /* -1, or write "PORT\n" there once listening */
	bool quiet;
};
/* Serve until SIGINT/SIGTERM. 0 after a clean stop, 1 after an error (printed on
 * stderr; when ready_fd is set and the server never listened, the error goes to
 * ready_fd instead as one line "error: REASON\n"). Prints "listening on
 * http://ADDR:PORT" on stdout once listening. */
int serve_run(const struct serve_options *opt);
int cmd_serve(int argc, char **argv);

struct managed_server {
	pid_t pid;
	int port;
	char url[80]; /* "http://127.0.0.1:PORT" (no trailing slash) */
	int cpus[64]; /* PUs it was bound to (OS indexes) */
	int n_cpus;   /* 0: not bound */
};
/* Fork a child running serve_run on 127.0.0.1, port 0, quiet; bind it to the given PUs
 * (hwloc, when n_cpus > 0; topology may be NULL meaning unbound); the child asks
 * prctl(PR_SET_PDEATHSIG, SIGTERM) so it never outlives the parent; read its port from a pipe
 * (timeout 10 s), then wait until it answers a real HTTP request (GET /bytes?size=1, with a
 * short timeout, retried for up to 10 s). 0, or -1 with a one-line reason in err (child reaped). */
int managed_server_start(hwloc_topology_t topology, const int *cpus, int n_cpus,
                         struct managed_server *ms, char *err, size_t errlen);
/* SIGTERM, wait up to 5 s, then SIGKILL; always reaps. Safe on a zeroed struct. */
void managed_server_stop(struct managed_server *ms);

#endif
