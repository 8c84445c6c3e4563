/* The per-worker trace buffers (trace.h): set up before the run, read after. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "lib/trace.h"

int trace_open(struct trace *t, int lanes, size_t events)
{
	memset(t, 0, sizeof(*t));
	if (lanes < 1 || events < 1) {
		errno = EINVAL;
		return -1;
	}
	size_t heads = (size_t)lanes * sizeof(struct trace_buffer);
	size_t len = heads + (size_t)lanes * events * sizeof(struct trace_event);
	/* Shared, so that a forked worker's events land where the parent reads
	 * them; touched now, so that no page fault lands in the timed region. */
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return -1;
	memset(m, 0, len);
	t->mapping = m;
	t->mapping_len = len;
	t->lanes = lanes;
	t->cap = events;
	t->lane = m;
	struct trace_event *ev = (struct trace_event *)((char *)m + heads);
	for (int i = 0; i < lanes; i++)
		t->lane[i] = (struct trace_buffer){.cap = events, .ev = ev + (size_t)i * events};
	return 0;
}

void trace_close(struct trace *t)
{
	if (t->mapping != NULL)
		munmap(t->mapping, t->mapping_len);
	memset(t, 0, sizeof(*t));
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
