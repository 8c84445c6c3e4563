/* The per-worker trace buffers (trace.h): set up before the run, read after. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/trace.h"

static size_t trace_heads_len(int lanes)
{
	return (size_t)lanes * sizeof(struct trace_buffer);
}

static size_t trace_mapping_len(int lanes, size_t events)
{
	return trace_heads_len(lanes) + (size_t)lanes * events * sizeof(struct trace_event);
}

/* Lane i's events in a mapping laid out by trace_open. */
static struct trace_event *trace_lane_events(void *mapping, int lanes, size_t events, int i)
{
	struct trace_event *ev = (struct trace_event *)((char *)mapping + trace_heads_len(lanes));
	return ev + (size_t)i * events;
}

int trace_open(struct trace *t, int lanes, size_t events)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (lanes < 1 || events < 1) {
		errno = EINVAL;
		return -1;
	}
	size_t len = trace_mapping_len(lanes, events);
	/* Shared, so that a forked worker's events land where the parent reads
	 * them, and in a memory file, so that a worker started afresh can map
	 * them too; touched now, so that no page fault lands in the timed region. */
	int fd = memfd_create("concbench-trace", MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)len) != 0) {
		close(fd);
		return -1;
	}
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		close(fd);
		return -1;
	}
	memset(m, 0, len);
	t->fd = fd;
	t->mapping = m;
	t->mapping_len = len;
	t->lanes = lanes;
	t->cap = events;
	t->lane = m;
	for (int i = 0; i < lanes; i++)
		t->lane[i] = (struct trace_buffer){.cap = events,
		                                   .ev = trace_lane_events(m, lanes, events, i)};
	return 0;
}

void trace_close(struct trace *t)
{
	if (t->mapping != NULL)
		munmap(t->mapping, t->mapping_len);
	if (t->fd >= 0)
		close(t->fd);
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}

int trace_attach(struct trace *t, int fd, int lanes, size_t events)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	size_t len = trace_mapping_len(lanes, events);
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -1;
	/* The heads' event pointers are the parent's addresses: the worker
	 * records through copies that point into its own view of the events. */
	t->lane = calloc((size_t)lanes, sizeof(*t->lane));
	if (t->lane == NULL) {
		munmap(m, len);
		return -1;
	}
	t->shared_lane = m;
	for (int i = 0; i < lanes; i++) {
		t->lane[i] = t->shared_lane[i];
		t->lane[i].ev = trace_lane_events(m, lanes, events, i);
	}
	t->mapping = m;
	t->mapping_len = len;
	t->lanes = lanes;
	t->cap = events;
	return 0;
}

void trace_detach(struct trace *t)
{
	for (int i = 0; t->shared_lane != NULL && i < t->lanes; i++) {
		t->shared_lane[i].n = t->lane[i].n;
		t->shared_lane[i].dropped = t->lane[i].dropped;
	}
	free(t->lane);
	if (t->mapping != NULL)
		munmap(t->mapping, t->mapping_len);
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}

int trace_lanes_for(int workers)
{
	return 2 * workers + 1;
}

struct trace_buffer *trace_name_lane(struct trace *t, int i, const char *fmt, ...)
{
	struct trace_buffer *b = trace_lane(t, i);
	if (b == NULL)
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->name, sizeof(b->name), fmt, ap);
	va_end(ap);
	return b;
}

uint64_t trace_dropped(const struct trace *t)
{
	uint64_t d = 0;
	for (int i = 0; i < t->lanes; i++)
		d += t->lane[i].dropped;
	return d;
}

size_t trace_events(const struct trace *t)
{
	size_t n = 0;
	for (int i = 0; i < t->lanes; i++)
		n += t->lane[i].n;
	return n;
}

void trace_io_begin(struct trace_buffer *b)
{
	if (b != NULL)
		b->io_began_ns = trace_now();
}

void trace_io_end(struct trace_buffer *b)
{
	if (b == NULL || b->io_began_ns == 0)
		return;
	trace_record(b, TRACE_IO, b->io_began_ns, trace_now(), 0);
	b->io_began_ns = 0;
}
