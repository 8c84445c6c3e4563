/* serve_run: the fixture HTTP server itself. One thread, one epoll set that
 * watches libmicrohttpd's own epoll fd and a signalfd; the delays and the rate
 * pacing are deadlines in a binary heap (one per suspended connection at most)
 * whose earliest entry bounds the epoll_wait timeout, so a waiting request
 * costs no file descriptor beyond its socket and no thread. */
#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "content.h"

#define BODY_BLOCK (64 * 1024) /* the content reader's buffer, at most */
#define CONN_MEMORY                                                                                \
	(16 * 1024)    /* libmicrohttpd's pool per connection (default 32 KiB):                    \
	                * 10,000 connections hold about 180 MB instead of 340 */
#define FD_RESERVE  64 /* descriptors kept for everything but connections */
#define LOG_CAP     20 /* libmicrohttpd messages printed before the rest are dropped */
#define HEAP_NONE   SIZE_MAX
#define RATE_QUANTA 100 /* a paced body wakes about this many times a second */

struct server;

/* One HTTP request; lives from the access handler's first call to MHD's
 * request-completed notification. */
struct request {
	struct server *srv;
	struct MHD_Connection *conn;
	struct serve_request_spec spec; /* what it asks for, or why it is refused */
	bool started;                   /* the access handler has seen it */
	bool responded;
	bool delayed; /* the delay has been waited (or is being waited) */
	bool suspended;
	int64_t deadline_ns; /* when the armed timer fires */
	size_t heap_index;   /* HEAP_NONE: no timer armed */
	int64_t body_start_ns;
};

/* One TCP connection, on a deadline queue until its request's headers are all
 * in: slowloris clients trickling a byte a second each reset the idle timer
 * and held every connection slot. */
struct conn_queue;

struct conn_state {
	struct server *srv;
	struct MHD_Connection *conn;
	struct conn_state *prev, *next; /* in the queue `on` */
	struct conn_queue *on;          /* NULL: no deadline armed */
	int64_t deadline_ns;
};

/* Deadlines armed with the same delay fall due in the order they were armed,
 * so each queue is a FIFO whose head is the earliest: O(1) to arm, to
 * disarm and to find the next one. */
struct conn_queue {
	struct conn_state *head, *tail;
};

struct server {
	struct MHD_Daemon *daemon;
	int64_t first_request_ns; /* a new connection's deadline for its first request */
	int64_t next_request_ns;  /* after a request: the idle timeout plus the above */
	struct conn_queue first, next;
	bool quiet;
	bool stopping;
	struct request **heap; /* min-heap on deadline_ns */
	size_t heap_len, heap_cap;
	unsigned log_count;
	uint64_t requests, status_2xx, status_other, resets, truncated, body_bytes;
	/* refusals: more than SERVE_MAX_PARAMS parameters, a control byte in the
	 * target, headers not all in before the deadline */
	uint64_t refused_params, refused_control, timed_out;
	unsigned closed; /* connections closed during the last MHD_run */
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the timer heap ---------------------------------------------------- */

static void heap_set(struct server *srv, size_t i, struct request *r)
{
	srv->heap[i] = r;
	r->heap_index = i;
}

static void heap_up(struct server *srv, size_t i)
{
	struct request *r = srv->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (srv->heap[parent]->deadline_ns <= r->deadline_ns)
			break;
		heap_set(srv, i, srv->heap[parent]);
		i = parent;
	}
	heap_set(srv, i, r);
}

static void heap_down(struct server *srv, size_t i)
{
	struct request *r = srv->heap[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= srv->heap_len)
			break;
		if (child + 1 < srv->heap_len &&
		    srv->heap[child + 1]->deadline_ns < srv->heap[child]->deadline_ns)
			child++;
		if (r->deadline_ns <= srv->heap[child]->deadline_ns)
			break;
		heap_set(srv, i, srv->heap[child]);
		i = child;
	}
	heap_set(srv, i, r);
}

static int heap_push(struct server *srv, struct request *r)
{
	if (srv->heap_len == srv->heap_cap) {
		size_t cap = srv->heap_cap ? srv->heap_cap * 2 : 1024;
		struct request **heap = realloc(srv->heap, cap * sizeof(*heap));
		if (heap == NULL)
			return -1;
		srv->heap = heap;
		srv->heap_cap = cap;
	}
	heap_set(srv, srv->heap_len++, r);
	heap_up(srv, r->heap_index);
	return 0;
}

static void heap_remove(struct server *srv, struct request *r)
{
	size_t i = r->heap_index;
	if (i == HEAP_NONE)
		return;
	r->heap_index = HEAP_NONE;
	struct request *last = srv->heap[--srv->heap_len];
	if (i == srv->heap_len)
		return;
	heap_set(srv, i, last);
	heap_up(srv, i);
	heap_down(srv, last->heap_index);
}

/* Suspend the request's connection until `deadline`; callable only from the
 * access handler or the content reader, as libmicrohttpd requires. */
static int suspend_until(struct request *r, int64_t deadline)
{
	r->deadline_ns = deadline;
	if (heap_push(r->srv, r) != 0)
		return -1;
	r->suspended = true;
	MHD_suspend_connection(r->conn);
	return 0;
}

static void resume(struct request *r)
{
	heap_remove(r->srv, r);
	if (r->suspended) {
		r->suspended = false;
		MHD_resume_connection(r->conn);
	}
}

/* Resumes every connection whose deadline has passed; true when any was. */
static bool fire_timers(struct server *srv, int64_t now)
{
	bool any = false;
	while (srv->heap_len > 0 && srv->heap[0]->deadline_ns <= now) {
		resume(srv->heap[0]);
		any = true;
	}
	return any;
}

/* ---- parsing ----------------------------------------------------------- */

/* Digits only, no sign, no space, no overflow. */
static bool parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (s == NULL || *s == '\0')
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* A copy fit for a one-line message: every byte but printable ASCII becomes
 * '?' (control bytes, and bytes over 0x7f, which a decoded %XX makes into
 * invalid UTF-8 or a Unicode line break such as U+0085), long text is cut. */
static const char *printable(char *dst, size_t len, const char *src)
{
	size_t i = 0;
	if (src == NULL)
		src = "";
	for (; src[i] != '\0' && i + 1 < len; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c < 0x20 || c > 0x7e) ? '?' : (char)c;
	}
	dst[i] = '\0';
	if (src[i] != '\0' && len > 4)
		memcpy(dst + len - 4, "...", 4);
	return dst;
}

static void reject(struct serve_request_spec *q, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reject(struct serve_request_spec *q, int status, const char *fmt, ...)
{
	if (q->bad_status != 0)
		return; /* the first problem is the one reported */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q->reason, sizeof(q->reason), fmt, ap);
	va_end(ap);
	q->bad_status = status;
}

enum param { P_SIZE, P_DELAY, P_SEED, P_RATE, P_FAULT, P_COUNT };
static const char *const param_names[P_COUNT] = {"size", "delay_ms", "seed", "rate", "fault"};

/* One query parameter into q; false (with q's reason set) when it is bad. */
static bool parse_argument(struct serve_request_spec *q, unsigned *seen, const char *key,
                           const char *value)
{
	char k[48], v[48];
	int p = 0;
	while (p < P_COUNT && strcmp(key, param_names[p]) != 0)
		p++;
	if (p == P_COUNT) {
		reject(q, 400, "unknown parameter '%s' (known: size, delay_ms, seed, rate, fault)",
		       printable(k, sizeof(k), key));
		return false;
	}
	if (*seen & (1u << p)) {
		reject(q, 400, "parameter '%s' is given twice", key);
		return false;
	}
	*seen |= 1u << p;
	if (value == NULL || *value == '\0') {
		reject(q, 400, "parameter '%s' needs a value", key);
		return false;
	}
	if (p == P_FAULT) {
		static const struct {
			const char *name;
			enum serve_fault fault;
		} faults[] = {{"500", SERVE_FAULT_500},
		              {"404", SERVE_FAULT_404},
		              {"reset", SERVE_FAULT_RESET},
		              {"truncate", SERVE_FAULT_TRUNCATE}};
		for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
			if (strcmp(value, faults[i].name) == 0) {
				q->fault = faults[i].fault;
				return true;
			}
		}
		reject(q, 400, "unknown fault '%s' (known: 500, 404, reset, truncate)",
		       printable(v, sizeof(v), value));
		return false;
	}
	uint64_t n;
	if (!parse_u64(value, &n)) {
		reject(q, 400, "%s=%s is not a non-negative decimal integer", key,
		       printable(v, sizeof(v), value));
		return false;
	}
	switch (p) {
	case P_SIZE:
		if (n > SERVE_MAX_SIZE) {
			reject(q, 400, "size %" PRIu64 " is over the limit of %llu bytes (1 GiB)",
			       n, SERVE_MAX_SIZE);
			return false;
		}
		q->size = n;
		break;
	case P_DELAY:
		if (n > SERVE_MAX_DELAY_MS) {
			reject(q, 400, "delay_ms %" PRIu64 " is over the limit of %u ms", n,
			       SERVE_MAX_DELAY_MS);
			return false;
		}
		q->delay_ms = n;
		break;
	case P_SEED:
		q->seed = n;
		break;
	case P_RATE:
		q->rate = n;
		break;
	}
	return true;
}

int serve_parse_request(const char *method, const char *path, const char *const *keys,
                        const char *const *values, size_t n, struct serve_request_spec *out)
{
	struct serve_request_spec *q = out;
	char u[96];
	memset(q, 0, sizeof(*q));
	if (method == NULL || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)) {
		reject(q, 405, "method %s is not allowed: only GET (and HEAD)",
		       printable(u, sizeof(u), method));
		return q->bad_status;
	}
	if (path == NULL || strcmp(path, "/bytes") != 0) {
		reject(q, 400, "unknown path '%s' (the only path is /bytes)",
		       printable(u, sizeof(u), path));
		return q->bad_status;
	}
	if (n > SERVE_MAX_PARAMS) {
		reject(q, 400, "too many parameters (more than %d)", SERVE_MAX_PARAMS);
		return q->bad_status;
	}
	unsigned seen = 0;
	for (size_t i = 0; i < n; i++)
		if (!parse_argument(q, &seen, keys[i] != NULL ? keys[i] : "", values[i]))
			return q->bad_status;
	if (q->rate > 0 && q->size / q->rate >= SERVE_MAX_PACED_S)
		reject(q, 400,
		       "size %" PRIu64 " at rate %" PRIu64
		       " bytes/s would take over the limit of %u s",
		       q->size, q->rate, SERVE_MAX_PACED_S);
	return q->bad_status;
}

/* The query parameters as libmicrohttpd decoded them; one more than the limit
 * at most, so that too many can be told. */
struct arguments {
	const char *keys[SERVE_MAX_PARAMS + 1], *values[SERVE_MAX_PARAMS + 1];
	size_t n;
};

static enum MHD_Result collect_argument(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
	(void)kind;
	struct arguments *a = cls;
	if (a->n == SERVE_MAX_PARAMS + 1)
		return MHD_NO;
	a->keys[a->n] = key;
	a->values[a->n] = value;
	a->n++;
	return MHD_YES;
}

/* The arguments live in the connection's memory, which outlives this call. */
static void parse_request(struct request *r, const char *url, const char *method)
{
	struct arguments a = {.n = 0};
	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_argument, &a);
	serve_parse_request(method, url, a.keys, a.values, a.n, &r->spec);
}

/* ---- responses --------------------------------------------------------- */

static enum MHD_Result queue_text(struct request *r, int status, const char *line)
{
	char body[300];
	int n = snprintf(body, sizeof(body), "%s\n", line);
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	r->srv->status_other++;
	return ret;
}

static ssize_t body_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct request *r = cls;
	struct server *srv = r->srv;
	if (srv->stopping)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	uint64_t end = r->spec.fault == SERVE_FAULT_TRUNCATE ? r->spec.size / 2 : r->spec.size;
	if (pos >= end) {
		if (r->spec.fault == SERVE_FAULT_TRUNCATE)
			srv->truncated++;
		return r->spec.fault == SERVE_FAULT_TRUNCATE ? MHD_CONTENT_READER_END_WITH_ERROR
		                                             : MHD_CONTENT_READER_END_OF_STREAM;
	}
	uint64_t n = end - pos < max ? end - pos : max;
	if (r->spec.rate > 0) {
		/* The schedule is absolute (rate x time since the body began), so a late
		 * wake-up is made up by the next slice and the mean rate holds. */
		int64_t now = now_ns();
		double allowed = (double)(now - r->body_start_ns) * 1e-9 * (double)r->spec.rate;
		if (allowed < (double)pos + 1.0) {
			uint64_t quantum = r->spec.rate / RATE_QUANTA;
			if (quantum < 1)
				quantum = 1;
			if (quantum > n)
				quantum = n;
			double at = (double)(pos + quantum) / (double)r->spec.rate * 1e9;
			if (suspend_until(r, r->body_start_ns + (int64_t)at + 1) != 0)
				return MHD_CONTENT_READER_END_WITH_ERROR;
			return 0; /* called again once resumed */
		}
		if ((double)(pos + n) > allowed)
			n = (uint64_t)allowed - pos;
	}
	content_fill(r->spec.seed, pos, buf, (size_t)n);
	srv->body_bytes += n;
	return (ssize_t)n;
}

static enum MHD_Result respond(struct request *r)
{
	struct server *srv = r->srv;
	r->responded = true;
	srv->requests++;
	if (r->spec.bad_status != 0)
		return queue_text(r, r->spec.bad_status, r->spec.reason);
	switch (r->spec.fault) {
	case SERVE_FAULT_500:
		return queue_text(r, 500, "injected fault: 500 Internal Server Error");
	case SERVE_FAULT_404:
		return queue_text(r, 404, "injected fault: 404 Not Found");
	case SERVE_FAULT_RESET: {
		/* libmicrohttpd shuts the socket down for writing (a FIN) before it
		 * closes it, so a zero linger time alone would reset the connection only
		 * after an orderly end. Connecting a TCP socket to AF_UNSPEC disconnects
		 * it on Linux, sending RST at once; the linger covers other kernels. */
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci != NULL) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};
			setsockopt(ci->connect_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			struct sockaddr unspec = {.sa_family = AF_UNSPEC};
			(void)connect(ci->connect_fd, &unspec, sizeof(unspec));
		}
		srv->resets++;
		return MHD_NO; /* libmicrohttpd closes the connection */
	}
	case SERVE_FAULT_NONE:
	case SERVE_FAULT_TRUNCATE:
		break;
	}
	struct MHD_Response *resp;
	if (r->spec.size == 0) {
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	} else {
		size_t block = r->spec.size < BODY_BLOCK ? (size_t)r->spec.size : BODY_BLOCK;
		resp = MHD_create_response_from_callback(r->spec.size, block, body_reader, r, NULL);
	}
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
	r->body_start_ns = now_ns();
	enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	srv->status_2xx++;
	return ret;
}

/* ---- what libmicrohttpd must not parse: too many parameters, control bytes */

static size_t count_parameters(const char *query)
{
	size_t n = 1;
	for (; *query != '\0'; query++)
		n += *query == '&';
	return n;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Whether the raw target holds a control byte, as itself or percent-encoded:
 * a decoded %00 cut "size=1%00abc" to "1" and "/bytes%00junk" to "/bytes". */
static bool has_control_byte(const char *target)
{
	for (const char *p = target; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c == 0x7f)
			return true;
		if (c == '%' && hex_value(p[1]) >= 0 && hex_value(p[2]) >= 0) {
			int v = hex_value(p[1]) * 16 + hex_value(p[2]);
			if (v < 0x20 || v == 0x7f)
				return true;
		}
	}
	return false;
}

static struct request *request_new(struct server *srv, struct MHD_Connection *conn)
{
	struct request *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->srv = srv;
	r->conn = conn;
	r->heap_index = HEAP_NONE;
	return r;
}

int serve_check_target(const char *target, struct serve_request_spec *out)
{
	memset(out, 0, sizeof(*out));
	const char *query = strchr(target, '?');
	if (has_control_byte(target))
		reject(out, 400, "a control byte in the request target (even %%-encoded)");
	else if (query != NULL && count_parameters(query + 1) > SERVE_MAX_PARAMS)
		reject(out, 400, "too many parameters (more than %d)", SERVE_MAX_PARAMS);
	return out->bad_status;
}

/* libmicrohttpd calls this with the raw target before it parses the query
 * into its connection pool; 232 parameters exhausted the 16 KiB pool and the
 * request was never answered. A target refused here has its query cut off in
 * place (the buffer is libmicrohttpd's own read buffer, and it finds the '?'
 * before this call), so nothing is parsed and the access handler answers 400
 * from the request made here, which becomes *con_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct server *srv = cls;
	struct request *r = request_new(srv, conn);
	if (r == NULL)
		return NULL;
	if (serve_check_target(uri, &r->spec) == 0)
		return r;
	if (strstr(r->spec.reason, "control byte") != NULL)
		srv->refused_control++;
	else
		srv->refused_params++;
	char *query = strchr(uri, '?');
	if (query != NULL)
		query[1] = '\0';
	return r;
}

/* ---- the deadline for a whole request ------------------------------------ */

static void disarm(struct conn_state *cs)
{
	struct conn_queue *q = cs->on;
	if (q == NULL)
		return;
	if (cs->prev != NULL)
		cs->prev->next = cs->next;
	else
		q->head = cs->next;
	if (cs->next != NULL)
		cs->next->prev = cs->prev;
	else
		q->tail = cs->prev;
	cs->prev = cs->next = NULL;
	cs->on = NULL;
}

/* first: the deadline of a new connection's first request, else of the next
 * request on a kept-alive one. */
static void arm(struct conn_state *cs, bool first)
{
	struct conn_queue *q = first ? &cs->srv->first : &cs->srv->next;
	disarm(cs);
	cs->deadline_ns = now_ns() + (first ? cs->srv->first_request_ns : cs->srv->next_request_ns);
	cs->prev = q->tail;
	cs->next = NULL;
	if (q->tail != NULL)
		q->tail->next = cs;
	else
		q->head = cs;
	q->tail = cs;
	cs->on = q;
}

static struct conn_state *conn_state_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	struct server *srv = cls;
	struct conn_state *cs = *socket_context;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		cs = calloc(1, sizeof(*cs));
		if (cs == NULL)
			return; /* no deadline for this one; the idle timeout still holds */
		cs->srv = srv;
		cs->conn = conn;
		*socket_context = cs;
		arm(cs, true);
		return;
	}
	srv->closed++;
	if (cs != NULL) {
		disarm(cs);
		free(cs);
		*socket_context = NULL;
	}
}

/* Shuts down the connections past their deadline; libmicrohttpd then sees
 * the end of the stream and closes them. */
static void expire_queue(struct conn_queue *q, int64_t now)
{
	while (q->head != NULL && q->head->deadline_ns <= now) {
		struct conn_state *cs = q->head;
		disarm(cs);
		cs->srv->timed_out++;
		const union MHD_ConnectionInfo *ci =
		    MHD_get_connection_info(cs->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci != NULL)
			shutdown(ci->connect_fd, SHUT_RDWR);
	}
}

/* The milliseconds to the earliest connection deadline, -1 for none. */
static int64_t next_deadline_ms(const struct server *srv, int64_t now)
{
	int64_t best = -1;
	const struct conn_state *heads[] = {srv->first.head, srv->next.head};
	for (size_t i = 0; i < 2; i++) {
		if (heads[i] == NULL)
			continue;
		int64_t left = heads[i]->deadline_ns - now;
		int64_t ms = left <= 0 ? 0 : (left + 999999) / 1000000;
		if (best < 0 || ms < best)
			best = ms;
	}
	return best;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
	(void)version;
	(void)upload_data;
	struct server *srv = cls;
	struct request *r = *con_cls;
	if (srv->stopping)
		return MHD_NO;
	if (r == NULL || !r->started) {
		/* The first call: headers only. A response queued now would make
		 * libmicrohttpd stop reading and close the connection after it, so
		 * only a refused method (whose body we do not want) is answered here. */
		if (r == NULL && (r = request_new(srv, conn)) == NULL)
			return MHD_NO;
		r->started = true;
		*con_cls = r;
		struct conn_state *cs = conn_state_of(conn);
		if (cs != NULL)
			disarm(cs); /* the headers are all in */
		if (r->spec.bad_status == 0)
			parse_request(r, url, method);
		if (r->spec.bad_status == MHD_HTTP_METHOD_NOT_ALLOWED)
			return respond(r);
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		*upload_data_size = 0; /* a body on a GET: read and dropped */
		return MHD_YES;
	}
	if (r->responded || r->suspended)
		return MHD_YES;
	if (r->spec.bad_status == 0 && r->spec.delay_ms > 0 && !r->delayed) {
		/* Resumed by fire_timers, libmicrohttpd calls again and we answer. */
		r->delayed = true;
		if (suspend_until(r, now_ns() + (int64_t)r->spec.delay_ms * 1000000) != 0)
			return MHD_NO;
		return MHD_YES;
	}
	return respond(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)toe;
	struct server *srv = cls;
	struct request *r = *con_cls;
	struct conn_state *cs = conn_state_of(conn);
	if (cs != NULL && !srv->stopping)
		arm(cs, false); /* the next request on this connection has its deadline */
	if (r == NULL)
		return;
	heap_remove(r->srv, r);
	free(r);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct server *srv = cls;
	if (srv->quiet || srv->log_count > LOG_CAP)
		return;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* What clients and injected faults cause all the time is not news. */
	static const char *const routine[] = {"Application reported internal error",
	                                      "application reported error generating data",
	                                      "socket is no longer available",
	                                      "forcibly closed by remote peer",
	                                      "Connection reset by peer",
	                                      "detected connection closure"};
	for (size_t i = 0; i < sizeof(routine) / sizeof(routine[0]); i++)
		if (strstr(msg, routine[i]) != NULL)
			return;
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	if (srv->log_count++ == LOG_CAP) {
		fprintf(stderr, "concbench serve: further libmicrohttpd messages not shown\n");
		return;
	}
	fprintf(stderr, "concbench serve: libmicrohttpd: %s\n", msg);
}

/* ---- serve_run --------------------------------------------------------- */

static int serve_error(const struct serve_options *opt, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int serve_error(const struct serve_options *opt, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (opt->ready_fd >= 0)
		dprintf(opt->ready_fd, "error: %s\n", msg);
	else
		fprintf(stderr, "concbench serve: %s\n", msg);
	return 1;
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

/* Raise the soft open-file limit to the hard one and fit the connection limit
 * under it. */
static unsigned fit_connection_limit(unsigned want, bool quiet)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return want;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit raised = {.rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			rl.rlim_cur = rl.rlim_max;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)want + FD_RESERVE)
		return want;
	unsigned fit = rl.rlim_cur > 2 * FD_RESERVE ? (unsigned)(rl.rlim_cur - FD_RESERVE) : 16;
	if (!quiet)
		fprintf(stderr,
		        "concbench serve: the open-file limit is %llu, so the connection limit is "
		        "%u instead of %u\n",
		        (unsigned long long)rl.rlim_cur, fit, want);
	return fit;
}

static void print_stats(const struct server *srv, double seconds)
{
	fprintf(stderr,
	        "concbench serve: stopped after %.1f s: %" PRIu64 " requests (%" PRIu64
	        " answered 200, %" PRIu64 " other statuses, %" PRIu64 " resets, %" PRIu64
	        " truncated), %" PRIu64 " body bytes sent; refused: %" PRIu64
	        " with too many parameters, %" PRIu64 " with control bytes, %" PRIu64
	        " connections whose request was not in within the deadline\n",
	        seconds, srv->requests, srv->status_2xx, srv->status_other, srv->resets,
	        srv->truncated, srv->body_bytes, srv->refused_params, srv->refused_control,
	        srv->timed_out);
}

/* Resume every suspended connection (libmicrohttpd must not be stopped with
 * any) and stop the daemon. */
static void shut_down(struct server *srv)
{
	srv->stopping = true;
	while (srv->heap_len > 0)
		resume(srv->heap[0]);
	MHD_run(srv->daemon); /* lets the resumed ones see `stopping` and close */
	MHD_stop_daemon(srv->daemon);
	srv->daemon = NULL;
}

/* MHD_run, again while it closed connections: at the connection limit
 * libmicrohttpd leaves the listening socket out of its epoll set, and puts it
 * back only on a run after the one that freed a slot; without that run the
 * loop slept with new clients waiting in the backlog until some other event. */
static int run_daemon(struct server *srv)
{
	for (int round = 0; round < 4; round++) {
		srv->closed = 0;
		if (MHD_run(srv->daemon) != MHD_YES)
			return -1;
		if (srv->closed == 0)
			break;
	}
	return 0;
}

static int event_loop(struct server *srv, int sigfd)
{
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL) {
		fprintf(stderr, "concbench serve: libmicrohttpd has no epoll descriptor\n");
		return 1;
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev_mhd = {.events = EPOLLIN, .data.u32 = 1};
	struct epoll_event ev_sig = {.events = EPOLLIN, .data.u32 = 2};
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, info->epoll_fd, &ev_mhd) != 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, sigfd, &ev_sig) != 0) {
		fprintf(stderr, "concbench serve: epoll: %s\n", strerror(errno));
		if (ep >= 0)
			close(ep);
		return 1;
	}
	int rc = 0;
	for (;;) {
		fire_timers(srv, now_ns());
		expire_queue(&srv->first, now_ns());
		expire_queue(&srv->next, now_ns());
		if (run_daemon(srv) != 0) {
			fprintf(stderr, "concbench serve: libmicrohttpd failed to run\n");
			rc = 1;
			break;
		}
		/* The wait ends at the earlier of libmicrohttpd's own timeout and the
		 * first deadline in the heap (rounded up to whole milliseconds). */
		int64_t timeout = -1;
		MHD_UNSIGNED_LONG_LONG mhd_ms;
		if (MHD_get_timeout(srv->daemon, &mhd_ms) == MHD_YES)
			timeout = mhd_ms > INT_MAX ? INT_MAX : (int64_t)mhd_ms;
		if (srv->heap_len > 0) {
			int64_t left = srv->heap[0]->deadline_ns - now_ns();
			int64_t ms = left <= 0 ? 0 : (left + 999999) / 1000000;
			if (timeout < 0 || ms < timeout)
				timeout = ms;
		}
		int64_t conn_ms = next_deadline_ms(srv, now_ns());
		if (conn_ms >= 0 && (timeout < 0 || conn_ms < timeout))
			timeout = conn_ms;
		struct epoll_event ev[4];
		int n = epoll_wait(ep, ev, 4, (int)timeout);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "concbench serve: epoll_wait: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		bool stop = false;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u32 != 2)
				continue;
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				stop = true;
		}
		if (stop)
			break;
	}
	close(ep);
	return rc;
}

int serve_run(const struct serve_options *opt)
{
	const char *bind_addr = opt->bind != NULL ? opt->bind : "127.0.0.1";
	unsigned limit = opt->connection_limit ? opt->connection_limit : SERVE_DEFAULT_CONN_LIMIT;
	unsigned idle = opt->idle_timeout_s ? opt->idle_timeout_s : SERVE_DEFAULT_IDLE_TIMEOUT;
	if (opt->port < 0 || opt->port > 65535)
		return serve_error(opt, "port %d is not in 0..65535", opt->port);

	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *ai = NULL;
	/* A numeric address first: no name service in a forked child unless needed. */
	hints.ai_flags |= AI_NUMERICHOST;
	int gai = getaddrinfo(bind_addr, NULL, &hints, &ai);
	if (gai == EAI_NONAME) {
		hints.ai_flags &= ~AI_NUMERICHOST;
		gai = getaddrinfo(bind_addr, NULL, &hints, &ai);
	}
	if (gai != 0)
		return serve_error(opt, "cannot bind to '%s': %s", bind_addr, gai_strerror(gai));
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	struct sockaddr *sa = (struct sockaddr *)&ss;
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)opt->port);
	else if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)opt->port);
	else
		return serve_error(opt, "cannot bind to '%s': not an IPv4 or IPv6 address",
		                   bind_addr);
	char host[INET6_ADDRSTRLEN];
	if (getnameinfo(sa, sizeof(ss), host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(host, sizeof(host), "%s", bind_addr);
	if (!is_loopback(sa))
		fprintf(stderr,
		        "concbench serve: WARNING: %s is not a loopback address: anyone who can "
		        "reach this machine can make this server send up to 1 GiB per request; "
		        "bind 127.0.0.1 unless you mean it\n",
		        host);

	limit = fit_connection_limit(limit, opt->quiet);

	/* Signals arrive through a signalfd: block them, and undo any SIG_IGN
	 * inherited from a parent, which would drop them before they are queued. */
	struct sigaction dfl = {.sa_handler = SIG_DFL}, old_int, old_term,
	                 ign = {.sa_handler = SIG_IGN};
	struct sigaction old_pipe;
	sigaction(SIGPIPE, &ign, &old_pipe);
	sigaction(SIGINT, &dfl, &old_int);
	sigaction(SIGTERM, &dfl, &old_term);
	sigset_t stop_set, old_mask;
	sigemptyset(&stop_set);
	sigaddset(&stop_set, SIGINT);
	sigaddset(&stop_set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_set, &old_mask);
	int sigfd = signalfd(-1, &stop_set, SFD_CLOEXEC | SFD_NONBLOCK);
	int rc = 1;
	unsigned request_s =
	    opt->request_timeout_s ? opt->request_timeout_s : SERVE_DEFAULT_REQUEST_TIMEOUT;
	struct server srv = {.quiet = opt->quiet,
	                     .first_request_ns = (int64_t)request_s * 1000000000,
	                     .next_request_ns = ((int64_t)idle + request_s) * 1000000000};
	if (sigfd < 0) {
		rc = serve_error(opt, "signalfd: %s", strerror(errno));
		goto out;
	}

	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (sa->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	errno = 0;
	srv.daemon = MHD_start_daemon(
	    flags, (uint16_t)opt->port, NULL, NULL, on_access, &srv, MHD_OPTION_EXTERNAL_LOGGER,
	    on_mhd_log, &srv, MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_CONNECTION_LIMIT, limit,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY, MHD_OPTION_CONNECTION_TIMEOUT,
	    idle, MHD_OPTION_LISTEN_BACKLOG_SIZE, SERVE_LISTEN_BACKLOG, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, &srv, MHD_OPTION_URI_LOG_CALLBACK, on_uri, &srv,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, &srv, MHD_OPTION_END);
	if (srv.daemon == NULL) {
		rc = serve_error(opt, "cannot listen on %s port %d%s%s", host, opt->port,
		                 errno ? ": " : "", errno ? strerror(errno) : "");
		goto out;
	}
	const union MHD_DaemonInfo *pi = MHD_get_daemon_info(srv.daemon, MHD_DAEMON_INFO_BIND_PORT);
	int port = pi != NULL ? pi->port : opt->port;
	if (port <= 0) {
		rc = serve_error(opt, "cannot tell which port libmicrohttpd listens on");
		MHD_stop_daemon(srv.daemon);
		goto out;
	}
	bool v6 = sa->sa_family == AF_INET6;
	printf("listening on http://%s%s%s:%d\n", v6 ? "[" : "", host, v6 ? "]" : "", port);
	fflush(stdout);
	if (opt->ready_fd >= 0)
		dprintf(opt->ready_fd, "%d\n", port);

	int64_t start = now_ns();
	rc = event_loop(&srv, sigfd);
	shut_down(&srv);
	if (!opt->quiet)
		print_stats(&srv, (double)(now_ns() - start) * 1e-9);

out:
	free(srv.heap);
	if (sigfd >= 0) {
		/* A second signal that came during the shutdown is consumed here, not
		 * delivered (fatally) when the old mask comes back. */
		struct signalfd_siginfo si;
		while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			;
		close(sigfd);
	}
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	return rc;
}
