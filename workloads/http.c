/* http: N GETs of S bytes from an HTTP server, each answered after D ms.
 *
 * By default the server is the fixture (`concbench serve`, started by `run`):
 * a body is bytes [0, S) of content stream `seed`, so every body is verified
 * against a hash computed once in set-up. With --url the workload downloads
 * one URL from someone else's server and verifies what the user vouches for
 * (the size, a SHA-256), or says that it verified nothing.
 *
 * Blocking runners use one curl easy handle per worker thread, kept for the
 * run, so connections are reused (keep-alive), like a requests.Session per
 * thread. The gil releases the lock for the transfer and takes it back for
 * every received chunk, which it hashes, as Python turns bytes into objects.
 * The event loop drives curl's multi-socket API from its own epoll instance. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "lib/content.h"
#include "lib/loop.h"
#include "workloads/twin.h"
#include "workloads/workload.h"

static const char *const fault_names[] = {"none", "500", "404", "reset", "truncate", NULL};

static const struct param_def http_params[] = {
    PARAM_INT_DEF("requests", 64, 24, 1, 1000000, "number of GET requests"),
    PARAM_INT_DEF("size", 65536, 16384, 0, 1LL << 30, "bytes in each response body"),
    PARAM_INT_DEF("delay_ms", 15, 5, 0, 60000, "the server's delay before each response"),
    PARAM_INT_DEF("rate", 0, 0, 0, 1LL << 40, "pace each body at this many bytes/s (0: at once)"),
    PARAM_INT_DEF("seed", 1, 1, 0, 1LL << 62, "content seed of the bodies"),
    PARAM_INT_DEF("timeout_ms", 30000, 30000, 1, 3600000, "give up on a request after this long"),
    PARAM_CHOICE_HOOK_DEF("fault", 0, 0, fault_names, 5,
                          "have the fixture server fail requests: 500, 404, reset, truncate"),
    PARAM_INT_HOOK_DEF("fault_every", 1, 1, 1, 1000000, "the fault hits every k-th request"),
    PARAM_TEXT_DEF("url", "", "server base URL (run sets it; --url names an external one)"),
    PARAM_TEXT_DEF("sha256", "", "with --url: the body's expected SHA-256, in hex"),
    PARAM_END,
};

struct http_loop;

struct http_state {
	uint64_t requests, size, delay_ms, rate, seed, timeout_ms, fault_every;
	const char *fault; /* NULL for none */
	char base[PARAM_TEXT_MAX];
	bool external;   /* --url: not the fixture */
	bool check_size; /* external, and the user gave http.size */
	bool has_sha256;
	unsigned char sha256[32];
	/* With http.sha256: one body fetched and checked against the digest in
	 * set-up, so that each body of the run is checked byte for byte against
	 * it (a comparison, not a hash per body). NULL: hash each body. */
	unsigned char *reference;
	size_t reference_len;
	uint64_t expected_hash;  /* fixture: the content hash of every body */
	struct http_loop *bound; /* the event loop's multi handle, while a loop lives */
};

/* ---- one response body ------------------------------------------------------ */

struct body {
	const struct http_state *st;
	struct task_ctx *ctx; /* the lock's hooks; NULL on the event loop */
	struct content_hash hash;
	EVP_MD_CTX *sha;
	uint64_t bytes;
	bool too_long;
	bool differs; /* from the reference body */
};

static void body_begin(struct body *b, const struct http_state *st, struct task_ctx *ctx)
{
	b->st = st;
	b->ctx = ctx;
	b->bytes = 0;
	b->too_long = false;
	b->differs = false;
	content_hash_init(&b->hash);
	if (st->has_sha256 && st->reference == NULL) {
		if (b->sha == NULL)
			b->sha = EVP_MD_CTX_new();
		if (b->sha != NULL)
			EVP_DigestInit_ex(b->sha, EVP_sha256(), NULL);
	}
}

static void body_end(struct body *b)
{
	EVP_MD_CTX_free(b->sha);
	b->sha = NULL;
}

static size_t body_write(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n;
	if (!b->st->external && b->bytes + len > b->st->size) {
		b->too_long = true;
		return 0; /* curl stops the transfer with a write error */
	}
	/* The bytes become "objects" with the lock held; the wait for the next
	 * chunk happens without it. */
	task_io_end(b->ctx);
	content_hash_update(&b->hash, data, len);
	if (b->st->reference != NULL)
		b->differs = b->differs || b->bytes + len > b->st->reference_len ||
		             memcmp(b->st->reference + b->bytes, data, len) != 0;
	else if (b->sha != NULL)
		EVP_DigestUpdate(b->sha, data, len);
	b->bytes += len;
	task_io_begin(b->ctx);
	return len;
}

static uint64_t request_checksum(size_t i, uint64_t body_hash)
{
	return checksum_mix(body_hash ^ checksum_mix((uint64_t)i));
}

static bool body_sha_matches(struct body *b)
{
	unsigned char got[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (b->sha == NULL || EVP_DigestFinal_ex(b->sha, got, &len) != 1 || len != 32)
		return false;
	return memcmp(got, b->st->sha256, 32) == 0;
}

static void task_error(struct task_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void task_error(struct task_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	r->failed = true;
	vsnprintf(r->error, sizeof(r->error), fmt, ap);
	va_end(ap);
}

/* Turn a finished transfer into the task's result, checking everything the
 * body can be checked against. */
static struct task_result finish_request(struct body *b, size_t i, CURL *h, CURLcode rc,
                                         const char *errbuf)
{
	const struct http_state *st = b->st;
	struct task_result r;
	long connects = 0;
	memset(&r, 0, sizeof(r));
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
	r.connects = (uint32_t)connects;
	r.bytes = b->bytes;
	uint64_t hash = content_hash_final(&b->hash);

	if (b->too_long)
		task_error(&r,
		           "request %zu: the body is longer than the %" PRIu64 " bytes asked for",
		           i, st->size);
	else if (rc != CURLE_OK)
		task_error(&r, "request %zu: %s%s%s", i, curl_easy_strerror(rc),
		           errbuf[0] ? ": " : "", errbuf);
	else if ((!st->external || st->check_size) && b->bytes != st->size)
		task_error(&r, "request %zu: the body has %" PRIu64 " bytes, not %" PRIu64, i,
		           b->bytes, st->size);
	else if (!st->external && hash != st->expected_hash)
		task_error(&r, "request %zu: the body does not match content seed %" PRIu64, i,
		           st->seed);
	else if (st->reference != NULL && (b->differs || b->bytes != st->reference_len))
		task_error(&r,
		           "request %zu: the body differs from the one whose SHA-256 (http.sha256) "
		           "set-up checked",
		           i);
	else if (st->has_sha256 && st->reference == NULL && !body_sha_matches(b))
		task_error(
		    &r, "request %zu: the body's SHA-256 is not the one given in http.sha256", i);
	if (!r.failed) {
		r.items = 1;
		r.checksum = request_checksum(i, hash);
	}
	return r;
}

/* ---- the easy handle: options common to both ways of running ---------------- */

static void request_url(const struct http_state *st, char *url, size_t len)
{
	if (st->external) {
		snprintf(url, len, "%s", st->base);
		return;
	}
	int n = snprintf(url, len, "%s/bytes?size=%" PRIu64 "&delay_ms=%" PRIu64 "&seed=%" PRIu64,
	                 st->base, st->size, st->delay_ms, st->seed);
	if (st->rate > 0 && n > 0 && (size_t)n < len)
		n += snprintf(url + n, len - (size_t)n, "&rate=%" PRIu64, st->rate);
	(void)n;
}

static void configure_easy(CURL *h, const struct http_state *st, const char *url, struct body *b,
                           char *errbuf)
{
	errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)st->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)(st->timeout_ms < 10000 ? st->timeout_ms : 10000));
	/* The server is on loopback and a benchmark goes to it directly: no proxy,
	 * and no look through the environment for one on every request. */
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
}

/* The fixture fails the requests the user asked to fail, by their index. */
static void fault_url(const struct http_state *st, size_t i, char *url, size_t len)
{
	request_url(st, url, len);
	if (st->fault != NULL && !st->external && i % st->fault_every == 0) {
		size_t used = strlen(url);
		snprintf(url + used, len - used, "&fault=%s", st->fault);
	}
}

/* ---- blocking runners: one easy handle per worker thread -------------------- */

/* A handle belongs to one thread, one process and one run: a forked child
 * must not touch its parent's connection, and each run starts cold, as a
 * new pool would. */
struct easy_slot {
	CURL *h;
	pid_t pid;
	unsigned generation;
};

static pthread_key_t slot_key;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;
static atomic_uint run_generation;

static void slot_release(void *p)
{
	struct easy_slot *s = p;
	if (s->h != NULL && s->pid == getpid())
		curl_easy_cleanup(s->h);
	free(s);
}

static void make_slot_key(void)
{
	pthread_key_create(&slot_key, slot_release);
}

static CURL *thread_easy(void)
{
	pthread_once(&slot_once, make_slot_key);
	struct easy_slot *s = pthread_getspecific(slot_key);
	if (s != NULL && s->pid != getpid()) {
		free(s); /* the parent's, copied by fork: leave its connection alone */
		s = NULL;
	}
	if (s != NULL && s->generation != atomic_load(&run_generation)) {
		curl_easy_cleanup(s->h);
		s->h = NULL;
	}
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return NULL;
		pthread_setspecific(slot_key, s);
	}
	if (s->h == NULL) {
		s->h = curl_easy_init();
		s->pid = getpid();
		s->generation = atomic_load(&run_generation);
	}
	return s->h;
}

static void release_thread_easy(void)
{
	pthread_once(&slot_once, make_slot_key);
	struct easy_slot *s = pthread_getspecific(slot_key);
	if (s != NULL) {
		pthread_setspecific(slot_key, NULL);
		slot_release(s);
	}
}

static struct task_result http_run_task(const struct workload *w, size_t i, struct task_ctx *ctx)
{
	const struct http_state *st = w->state;
	char url[PARAM_TEXT_MAX + 160], errbuf[CURL_ERROR_SIZE];
	struct body b = {0};
	CURL *h = thread_easy();
	if (h == NULL) {
		struct task_result r;
		memset(&r, 0, sizeof(r));
		task_error(&r, "request %zu: cannot create a curl handle", i);
		return r;
	}
	fault_url(st, i, url, sizeof(url));
	body_begin(&b, st, ctx);
	configure_easy(h, st, url, &b, errbuf);
	task_io_begin(ctx);
	CURLcode rc = curl_easy_perform(h);
	task_io_end(ctx);
	struct task_result r = finish_request(&b, i, h, rc, errbuf);
	body_end(&b);
	return r;
}

/* ---- the event loop: curl's multi-socket API on the loop's epoll ------------ */

struct xfer {
	struct http_loop *hl;
	CURL *easy;
	size_t task;
	task_done_fn done;
	void *arg;
	struct body body;
	char url[PARAM_TEXT_MAX + 160];
	char errbuf[CURL_ERROR_SIZE];
	struct xfer *prev, *next; /* on the active list, or next on the idle list */
};

struct http_loop {
	struct http_state *st;
	struct loop *loop;
	CURLM *multi;
	struct loop_timer *timer;
	bool soon_wanted, soon_queued; /* curl asked for "now": the loop's next turn */
	struct xfer *active;           /* in flight, so that a loop freed early can cancel them */
	struct xfer *idle;             /* finished, their easy handles kept for the next request */
	size_t in_flight;              /* on the active list or the queue */
	struct xfer *queued, *queued_tail; /* submitted, not yet handed to curl (add_queued) */
	size_t burst;                      /* handed to curl since it last ran its timers */
	bool add_queued_soon;
	size_t submitted;  /* requests started on this loop */
	long sockets_open; /* curl's sockets, counted by its open and close callbacks */
};

/* A transfer off the active list or the queue, on the idle one for the next
 * request: no longer in flight. */
static void park_xfer(struct http_loop *hl, struct xfer *x)
{
	x->next = hl->idle;
	hl->idle = x;
	hl->in_flight--;
}

/* The request of a transfer that never started, reported failed. */
static void fail_unstarted(const struct xfer *x, const char *why)
{
	struct task_result r;
	memset(&r, 0, sizeof(r));
	task_error(&r, "request %zu: %s", x->task, why);
	x->done(x->arg, x->task, r);
}

static void reap_transfers(struct http_loop *hl)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(hl->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURL *e = m->easy_handle;
		CURLcode rc = m->data.result;
		struct xfer *x = NULL;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(hl->multi, e);
		struct task_result r = finish_request(&x->body, x->task, e, rc, x->errbuf);
		if (x->prev != NULL)
			x->prev->next = x->next;
		else
			hl->active = x->next;
		if (x->next != NULL)
			x->next->prev = x->prev;
		x->prev = NULL;
		park_xfer(hl, x);
		/* done may submit the next request: the multi handle is free to take it */
		x->done(x->arg, x->task, r);
	}
}

static void socket_ready(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	struct http_loop *hl = arg;
	int flags = 0, running;
	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(hl->multi, fd, flags, &running);
	hl->burst = 0; /* curl runs the transfers due on every call */
	reap_transfers(hl);
}

static int curl_socket_changed(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	(void)e;
	struct http_loop *hl = userp;
	/* curl lets go of a connection's socket after every transfer, and takes
	 * it back for the next one on the same connection: parking it keeps the
	 * kernel's registration, which would otherwise be deleted and made anew
	 * (two epoll_ctl calls per request). */
	if (what == CURL_POLL_REMOVE)
		return loop_park(hl->loop, s) == 0 ? 0 : -1;
	uint32_t events =
	    ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
	if (socketp != NULL)
		return loop_rewatch(hl->loop, s, events) == 0 ? 0 : -1;
	/* A descriptor number curl reuses before its REMOVE reached us is
	 * already watched: take it over rather than fail the transfer. */
	if (loop_watch(hl->loop, s, events, socket_ready, hl) != 0 &&
	    (errno != EEXIST || loop_rewatch(hl->loop, s, events) != 0))
		return -1;
	curl_multi_assign(hl->multi, s, hl);
	return 0;
}

static void curl_timer_due(struct loop *loop, void *arg)
{
	(void)loop;
	struct http_loop *hl = arg;
	int running;
	hl->timer = NULL;
	curl_multi_socket_action(hl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	hl->burst = 0; /* curl has started the ones handed to it */
	reap_transfers(hl);
}

static void curl_soon_due(struct loop *loop, void *arg)
{
	struct http_loop *hl = arg;
	hl->soon_queued = false;
	if (hl->soon_wanted) {
		hl->soon_wanted = false;
		curl_timer_due(loop, hl);
	}
}

static int curl_timer_changed(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	struct http_loop *hl = userp;
	if (hl->timer != NULL) {
		loop_timer_cancel(hl->loop, hl->timer);
		hl->timer = NULL;
	}
	hl->soon_wanted = false;
	if (timeout_ms < 0)
		return 0;
	/* curl asks for 0 on every new request: a call on the loop's next turn
	 * costs no system call, where a timer would. */
	if (timeout_ms == 0) {
		hl->soon_wanted = true;
		if (!hl->soon_queued && loop_call_soon(hl->loop, curl_soon_due, hl) != 0)
			return -1;
		hl->soon_queued = true;
		return 0;
	}
	hl->timer = loop_timer_start(hl->loop, (uint64_t)timeout_ms * 1000000u, curl_timer_due, hl);
	return hl->timer != NULL ? 0 : -1;
}

/* Every socket curl opens and closes passes through here, so that the loop
 * never takes a new socket for a parked one with the same number, and so that
 * the count of open connections is known (see want_fresh_connection). */
static curl_socket_t http_open_socket(void *clientp, curlsocktype purpose,
                                      struct curl_sockaddr *addr)
{
	struct http_loop *hl = clientp;
	(void)purpose;
	curl_socket_t s = socket(addr->family, addr->socktype, addr->protocol);
	if (s != CURL_SOCKET_BAD) {
		loop_forget(hl->loop, s);
		hl->sockets_open++;
	}
	return s;
}

static int http_close_socket(void *clientp, curl_socket_t s)
{
	struct http_loop *hl = clientp;
	loop_forget(hl->loop, s);
	hl->sockets_open--;
	return close(s);
}

/* libcurl 7.88 looks for a connection to reuse by walking every connection to
 * the host, busy ones included, on every new request: at 10,000 in flight
 * that walk is most of the client's time. Where every open connection is
 * taken (each transfer in flight holds or is about to take one), the walk
 * cannot find one, and a fresh connection is asked for outright. A socket
 * closed behind the callbacks' back only makes this count high, which costs
 * a walk, never a wrong transfer. */
static bool want_fresh_connection(const struct http_loop *hl)
{
	return hl->sockets_open <= (long)hl->in_flight;
}

/* And when a transfer finishes, curl walks the connections again to find the
 * one it left behind, unless it closed it: at 10,000 in flight, each of the
 * 10,000 walks passes thousands. So a connection that no request still to
 * come can take is closed when its transfer ends (the loop's teardown would
 * close it, inside the timed run, anyway). The loop keeps its concurrency in
 * flight: the requests left when this one finishes are those left now less
 * the free places filled meanwhile. Where none is left, nothing can take the
 * connection; where some are, it is kept, even if the transfers ahead of it
 * may take them all, since a connection closed too early costs a connect,
 * where one kept too long costs only a walk. */
static bool keep_connection(const struct http_loop *hl)
{
	uint64_t c = (uint64_t)loop_concurrency(hl->loop);
	uint64_t left = hl->st->requests > hl->submitted ? hl->st->requests - hl->submitted : 0;
	uint64_t free_places = c > hl->in_flight ? c - hl->in_flight : 0;
	return left > free_places;
}

static void free_xfer(struct xfer *x)
{
	curl_easy_cleanup(x->easy);
	body_end(&x->body);
	free(x);
}

/* Called by loop_free while the loop is still whole: the multi handle
 * unwatches its sockets on the way out. */
static void unbind_loop(struct loop *loop, void *arg)
{
	(void)loop;
	struct http_loop *hl = arg;
	while (hl->active != NULL) {
		struct xfer *x = hl->active;
		hl->active = x->next;
		curl_multi_remove_handle(hl->multi, x->easy);
		free_xfer(x);
	}
	while (hl->idle != NULL) {
		struct xfer *x = hl->idle;
		hl->idle = x->next;
		free_xfer(x);
	}
	while (hl->queued != NULL) {
		struct xfer *x = hl->queued;
		hl->queued = x->next;
		free_xfer(x);
	}
	curl_multi_cleanup(hl->multi);
	if (hl->timer != NULL)
		loop_timer_cancel(hl->loop, hl->timer);
	hl->st->bound = NULL;
	free(hl);
}

static struct http_loop *bind_loop(struct http_state *st, struct loop *loop)
{
	struct http_loop *hl = calloc(1, sizeof(*hl));
	if (hl == NULL)
		return NULL;
	hl->st = st;
	hl->loop = loop;
	hl->multi = curl_multi_init();
	if (hl->multi == NULL || loop_on_free(loop, unbind_loop, hl) != 0) {
		curl_multi_cleanup(hl->multi);
		free(hl);
		return NULL;
	}
	/* Every request in flight keeps its connection for the next one. */
	curl_multi_setopt(hl->multi, CURLMOPT_MAXCONNECTS, (long)loop_concurrency(loop));
	curl_multi_setopt(hl->multi, CURLMOPT_SOCKETFUNCTION, curl_socket_changed);
	curl_multi_setopt(hl->multi, CURLMOPT_SOCKETDATA, hl);
	curl_multi_setopt(hl->multi, CURLMOPT_TIMERFUNCTION, curl_timer_changed);
	curl_multi_setopt(hl->multi, CURLMOPT_TIMERDATA, hl);
	st->bound = hl;
	return hl;
}

static struct xfer *take_xfer(struct http_loop *hl)
{
	struct xfer *x = hl->idle;
	if (x != NULL) {
		hl->idle = x->next;
		return x;
	}
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->easy = curl_easy_init();
	if (x->easy == NULL) {
		free(x);
		return NULL;
	}
	return x;
}

/* Hand a transfer to curl: on the active list, in the multi handle. */
static int start_xfer(struct http_loop *hl, struct xfer *x)
{
	x->prev = NULL;
	x->next = hl->active;
	if (hl->active != NULL)
		hl->active->prev = x;
	hl->active = x;
	if (curl_multi_add_handle(hl->multi, x->easy) != CURLM_OK) {
		hl->active = x->next;
		if (x->next != NULL)
			x->next->prev = NULL;
		park_xfer(hl, x);
		errno = ENOMEM;
		return -1;
	}
	hl->burst++;
	return 0;
}

static void queue_xfer(struct http_loop *hl, struct xfer *x)
{
	x->prev = NULL;
	x->next = NULL;
	if (hl->queued_tail != NULL)
		hl->queued_tail->next = x;
	else
		hl->queued = x;
	hl->queued_tail = x;
}

/* curl starts every transfer handed to it in one call, connects and all: ten
 * thousand submitted at once made one 2-second stretch of connects before the
 * first request went out, while the server on the other core waited. Handed
 * over ADD_BURST at a time, one batch per turn of the loop, the requests of
 * the first go out (and the server answers them) while the later ones
 * connect. A task's latency still counts from its submission. */
#define ADD_BURST 256

/* The transfer just queued, back on the idle list: its submission failed,
 * and the caller reports the task, so nothing may start it later. */
static void unqueue_last(struct http_loop *hl, struct xfer *x)
{
	struct xfer *before = NULL;
	for (struct xfer *q = hl->queued; q != x; q = q->next)
		before = q;
	if (before != NULL)
		before->next = NULL;
	else
		hl->queued = NULL;
	hl->queued_tail = before;
	park_xfer(hl, x);
	hl->submitted--;
}

/* No later turn of the loop can start the queued transfers (the loop could
 * not take the call): each fails now rather than waiting for ever. The queue
 * is taken whole first, since done may submit again. */
static void fail_queued(struct http_loop *hl)
{
	struct xfer *x = hl->queued;
	hl->queued = hl->queued_tail = NULL;
	while (x != NULL) {
		struct xfer *next = x->next;
		park_xfer(hl, x);
		fail_unstarted(x, "the loop could not schedule its start");
		x = next;
	}
}

static void add_queued(struct loop *loop, void *arg)
{
	struct http_loop *hl = arg;
	hl->add_queued_soon = false;
	/* A turn since the last batch: curl's own call for it came first. */
	hl->burst = 0;
	while (hl->queued != NULL && hl->burst < ADD_BURST) {
		struct xfer *x = hl->queued;
		hl->queued = x->next;
		if (hl->queued == NULL)
			hl->queued_tail = NULL;
		if (start_xfer(hl, x) != 0)
			fail_unstarted(x, "curl refused the transfer");
	}
	if (hl->queued == NULL || hl->add_queued_soon)
		return;
	if (loop_call_soon(loop, add_queued, hl) == 0)
		hl->add_queued_soon = true;
	else
		fail_queued(hl);
}

static int http_submit(const struct workload *w, size_t i, struct loop *loop, task_done_fn done,
                       void *arg)
{
	struct http_state *st = w->state;
	struct http_loop *hl =
	    st->bound != NULL && st->bound->loop == loop ? st->bound : bind_loop(st, loop);
	if (hl == NULL)
		return -1;
	struct xfer *x = take_xfer(hl);
	if (x == NULL)
		return -1;
	x->hl = hl;
	x->task = i;
	x->done = done;
	x->arg = arg;
	fault_url(st, i, x->url, sizeof(x->url));
	body_begin(&x->body, st, NULL);
	configure_easy(x->easy, st, x->url, &x->body, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETFUNCTION, http_open_socket);
	curl_easy_setopt(x->easy, CURLOPT_OPENSOCKETDATA, hl);
	curl_easy_setopt(x->easy, CURLOPT_CLOSESOCKETFUNCTION, http_close_socket);
	curl_easy_setopt(x->easy, CURLOPT_CLOSESOCKETDATA, hl);
	curl_easy_setopt(x->easy, CURLOPT_FRESH_CONNECT, want_fresh_connection(hl) ? 1L : 0L);
	hl->submitted++;
	hl->in_flight++;
	curl_easy_setopt(x->easy, CURLOPT_FORBID_REUSE, keep_connection(hl) ? 0L : 1L);
	if (hl->queued == NULL && hl->burst < ADD_BURST)
		return start_xfer(hl, x);
	queue_xfer(hl, x);
	if (hl->add_queued_soon)
		return 0;
	if (loop_call_soon(hl->loop, add_queued, hl) != 0) {
		unqueue_last(hl, x);
		return -1;
	}
	hl->add_queued_soon = true;
	return 0;
}

/* ---- set-up ------------------------------------------------------------------- */

static int parse_sha256(const char *hex, unsigned char out[32])
{
	if (strlen(hex) != 64)
		return -1;
	for (int k = 0; k < 32; k++) {
		unsigned v;
		if (sscanf(hex + 2 * k, "%2x", &v) != 1 ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * k]) ||
		    !strchr("0123456789abcdefABCDEF", hex[2 * k + 1]))
			return -1;
		out[k] = (unsigned char)v;
	}
	return 0;
}

static int read_params(struct http_state *st, const struct workload *w, char *err, size_t errlen)
{
	const struct param_values *pv = &w->params;
	st->requests = (uint64_t)param_get(pv, "requests");
	st->size = (uint64_t)param_get(pv, "size");
	st->delay_ms = (uint64_t)param_get(pv, "delay_ms");
	st->rate = (uint64_t)param_get(pv, "rate");
	st->seed = (uint64_t)param_get(pv, "seed");
	st->timeout_ms = (uint64_t)param_get(pv, "timeout_ms");
	st->fault_every = (uint64_t)param_get(pv, "fault_every");
	st->fault = param_get(pv, "fault") == 0 ? NULL : param_get_text(pv, "fault");
	snprintf(st->base, sizeof(st->base), "%s", param_get_text(pv, "url"));
	/* The user's URL is downloaded as it is; ours is the fixture's base. */
	st->external = param_set_by_user(pv, "url");
	st->check_size = st->external && param_set_by_user(pv, "size");
	size_t n = strlen(st->base);
	while (!st->external && n > 0 && st->base[n - 1] == '/')
		st->base[--n] = '\0';
	if (n == 0) {
		snprintf(err, errlen,
		         "no server to download from: http.url is empty (`concbench run` starts "
		         "one; --url names another)");
		return -1;
	}
	const char *sha = param_get_text(pv, "sha256");
	if (sha[0] != '\0') {
		if (!st->external) {
			snprintf(err, errlen, "http.sha256 only applies with --url");
			return -1;
		}
		if (parse_sha256(sha, st->sha256) != 0) {
			snprintf(err, errlen, "http.sha256 needs 64 hex digits, not '%s'", sha);
			return -1;
		}
		st->has_sha256 = true;
	}
	if (st->external && (st->fault != NULL || st->rate > 0 ||
	                     (param_set_by_user(pv, "delay_ms") && st->delay_ms > 0))) {
		snprintf(err, errlen,
		         "http.fault, http.rate and http.delay_ms ask the fixture server; an "
		         "external --url cannot honour them");
		return -1;
	}
	return 0;
}

/* One request to the user's --url before anything is measured, through the
 * same client code and checks as the run's, so that a server that is not
 * there, answers 404 or sends another body is one line before the run, not an
 * error in every cell after it. */
static int preflight_url(const struct workload *w, char *err, size_t errlen)
{
	struct http_state st = {0};
	if (read_params(&st, w, err, errlen) != 0)
		return -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init failed");
		return -1;
	}
	CURL *h = curl_easy_init();
	int rc = -1;
	if (h == NULL) {
		snprintf(err, errlen, "cannot create a curl handle");
	} else {
		char url[PARAM_TEXT_MAX + 160], errbuf[CURL_ERROR_SIZE];
		struct body b = {0};
		request_url(&st, url, sizeof(url));
		body_begin(&b, &st, NULL);
		configure_easy(h, &st, url, &b, errbuf);
		struct task_result r = finish_request(&b, 0, h, curl_easy_perform(h), errbuf);
		body_end(&b);
		curl_easy_cleanup(h);
		const char *why = strncmp(r.error, "request 0: ", 11) == 0 ? r.error + 11 : r.error;
		if (r.failed)
			snprintf(err, errlen, "--url %s: %s", st.base, why);
		rc = r.failed ? -1 : 0;
	}
	curl_global_cleanup();
	return rc;
}

/* The digest's form is knowable before the run, and so is whether the user's
 * --url answers; the managed server's URL is filled in later, so the rest is
 * set-up's to judge. */
static int http_check(const struct workload *w, char *err, size_t errlen)
{
	const char *sha = param_get_text(&w->params, "sha256");
	unsigned char digest[32];
	if (sha[0] != '\0' && parse_sha256(sha, digest) != 0) {
		snprintf(err, errlen, "http.sha256 needs 64 hex digits, not '%s'", sha);
		return -1;
	}
	if (param_set_by_user(&w->params, "url"))
		return preflight_url(w, err, errlen);
	return 0;
}

/* The reference body: kept up to this size; a larger one is hashed per body. */
#define REFERENCE_MAX (16u << 20)

struct reference_buf {
	unsigned char *data;
	size_t len, cap;
	bool too_big;
};

static size_t keep_reference(char *data, size_t size, size_t n, void *arg)
{
	struct reference_buf *rb = arg;
	size_t len = size * n;
	if (rb->too_big || rb->len + len > REFERENCE_MAX) {
		rb->too_big = true;
		return len;
	}
	if (rb->len + len > rb->cap) {
		size_t cap = rb->cap ? rb->cap : 65536;
		while (cap < rb->len + len)
			cap *= 2;
		unsigned char *grown = realloc(rb->data, cap);
		if (grown == NULL) {
			rb->too_big = true;
			return len;
		}
		rb->data = grown;
		rb->cap = cap;
	}
	memcpy(rb->data + rb->len, data, len);
	rb->len += len;
	return len;
}

static bool digest_is(const unsigned char *data, size_t len, const unsigned char want[32])
{
	unsigned char got[EVP_MAX_MD_SIZE];
	unsigned int got_len = 0;
	return EVP_Digest(data, len, got, &got_len, EVP_sha256(), NULL) == 1 && got_len == 32 &&
	       memcmp(got, want, 32) == 0;
}

/* One GET of the user's URL, outside the timed runs; its body becomes the
 * reference if its SHA-256 is the one given. One that is not (the server
 * changed since the check) is no reference, and each body is then hashed
 * and fails as it would have. */
static void fetch_reference(struct http_state *st)
{
	struct reference_buf rb = {0};
	char errbuf[CURL_ERROR_SIZE];
	CURL *h = curl_easy_init();
	if (h == NULL)
		return;
	configure_easy(h, st, st->base, NULL, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, keep_reference);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &rb);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_cleanup(h);
	if (rc == CURLE_OK && !rb.too_big && digest_is(rb.data, rb.len, st->sha256)) {
		st->reference = rb.data;
		st->reference_len = rb.len;
		return;
	}
	free(rb.data);
}

static int http_setup(struct workload *w, char *err, size_t errlen)
{
	struct http_state *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (read_params(st, w, err, errlen) != 0) {
		free(st);
		return -1;
	}
	/* Before any worker thread or fork, as libcurl asks; a write to a closed
	 * connection must be an error, not a signal. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "curl_global_init failed");
		free(st);
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!st->external)
		st->expected_hash = content_expected_hash(st->seed, st->size);
	if (st->external && st->has_sha256)
		fetch_reference(st);
	w->state = st;
	return 0;
}

static void http_teardown(struct workload *w)
{
	release_thread_easy();
	struct http_state *st = w->state;
	free(st->reference);
	free(st);
	w->state = NULL;
	curl_global_cleanup();
}

static void http_before_run(struct workload *w)
{
	(void)w;
	atomic_fetch_add(&run_generation, 1);
	/* The calling thread (serial's, and the one that forks) starts the run
	 * without a handle, so none is copied into a forked worker. */
	release_thread_easy();
}

static size_t http_task_count(const struct workload *w)
{
	const struct http_state *st = w->state;
	return (size_t)st->requests;
}

static bool http_expected_checksum(const struct workload *w, uint64_t *out)
{
	const struct http_state *st = w->state;
	if (st->external)
		return false; /* the body is the server's; the strategies must still agree */
	uint64_t sum = 0;
	for (size_t i = 0; i < st->requests; i++)
		sum = checksum_combine(sum, request_checksum(i, st->expected_hash));
	*out = sum;
	return true;
}

static bool http_expected_items(const struct workload *w, uint64_t *out)
{
	const struct http_state *st = w->state;
	*out = st->requests;
	return true;
}

static int http_facts(const struct workload *w, struct workload_fact *out, int max)
{
	const struct http_state *st = w->state;
	if (max < 1)
		return 0;
	const char *how = !st->external                      ? "fixture content"
	                  : st->has_sha256 && st->check_size ? "sha256 and size"
	                  : st->has_sha256                   ? "sha256"
	                  : st->check_size                   ? "size only"
	                                                     : "not verified";
	memset(&out[0], 0, sizeof(out[0]));
	snprintf(out[0].name, sizeof(out[0].name), "body_verification");
	snprintf(out[0].text, sizeof(out[0].text), "%s", how);
	return 1;
}

/* For the Python twin: every fixture body is the same bytes, checked with
 * hashlib's SHA-256; nothing for --url, whose bodies the twin cannot know. */
static int http_python_inputs(const struct workload *w, FILE *out, char *err, size_t errlen)
{
	const struct http_state *st = w->state;
	char hex[TWIN_SHA256_HEX];
	if (st->external)
		return 0;
	if (twin_content_sha256(st->seed, st->size, hex) != 0) {
		snprintf(err, errlen, "no SHA-256 of the body from OpenSSL");
		return -1;
	}
	fprintf(out, "input body_sha256 %s\ninput body_hash %" PRIx64 "\n", hex, st->expected_hash);
	return 0;
}

const struct workload_ops http_workload = {
    .name = "http",
    .kind = WORKLOAD_IO,
    .description = "N GETs of S bytes from an HTTP server: the loopback fixture, answering after D "
                   "ms, or the one --url names",
    .params = http_params,
    .check = http_check,
    .setup = http_setup,
    .teardown = http_teardown,
    .task_count = http_task_count,
    .before_run = http_before_run,
    .run_task = http_run_task,
    .submit = http_submit,
    .expected_checksum = http_expected_checksum,
    .expected_items = http_expected_items,
    .items_name = "requests",
    .facts = http_facts,
    .server_url_param = "url",
    .python_inputs = http_python_inputs,
};
