/* triad: STREAM's triad, a = b + s * c, over per-task arrays much larger than
 * the last-level cache, several passes (memory-bandwidth bound).
 *
 * Each task maps its own three arrays, fills b and c from (task, index), runs
 * the passes, hashes a and unmaps them: nothing writable is shared between
 * workers (forked ones included), and the first touch of fresh pages costs the
 * same under every strategy. The arrays are asked for as transparent huge
 * pages where the kernel allows them, so that first touch is a zeroing pass
 * rather than tens of thousands of page faults, and the passes measure the
 * memory, not the page-fault path.
 *
 * bytes follows STREAM's convention: 24 bytes per element per pass (two reads,
 * one write; the write-allocate read is not counted), so `run` reports MB/s.
 *
 * b and c hold small integers and quarters, so every a[j] is exact and the
 * expected hash is computed from the formula (outside the timed region)
 * without the arrays. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/content.h"
#include "workloads/twin.h"
#include "workloads/workload.h"

#define TRIAD_SCALAR 3.0
/* Elements between check points: 256 x 24 bytes, a few hundred ns at memory speed. */
#define TRIAD_CHUNK 256
/* Gap between the arrays, so that a[j], b[j] and c[j] do not share a 4 KiB
 * page offset (which would alias in the load/store unit and the cache sets). */
#define TRIAD_STAGGER 136 /* doubles: 1088 bytes */

static const struct param_def triad_params[] = {
    PARAM_INT_DEF("tasks", 16, 4, 1, 100000, "number of tasks, each with its own arrays"),
    PARAM_INT_DEF("elements", 4194304, 2097152, 1, INT64_C(1) << 32,
                  "doubles per array per task (3 arrays: 96 MiB per task by default)"),
    PARAM_INT_DEF("passes", 10, 4, 1, 100000, "triad passes over the arrays per task"),
    PARAM_INT_DEF("release_gil", 0, 0, 0, 1,
                  "1: run the kernel with the lock released, as NumPy does"),
    PARAM_INT_HOOK_DEF("fault_element", -1, -1, -1, INT64_C(1) << 32,
                       "for tests: corrupt this element of task 0's result, so the check must "
                       "fail (-1: none)"),
    PARAM_END,
};

struct triad_state {
	uint64_t tasks, elements, passes;
	int64_t fault_element;
	bool release_gil;
	bool have_expected;
	uint64_t expected;
};

/* One task maps three arrays of `elements` doubles: more than the machine's
 * memory fails only when the first task runs (4e9 elements ran 30 s before
 * "cannot map 96000002176 bytes"), so it is refused before measuring. */
static int triad_check(const struct workload *w, char *err, size_t errlen)
{
	uint64_t elements = (uint64_t)param_get(&w->params, "elements");
	uint64_t need = (3 * elements + 2 * TRIAD_STAGGER) * sizeof(double);
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	if (pages <= 0 || page <= 0)
		return 0;
	uint64_t ram = (uint64_t)pages * (uint64_t)page;
	if (need > ram) {
		snprintf(err, errlen,
		         "triad.elements=%" PRIu64 " needs %.1f GiB per task, more than the "
		         "machine's %.1f GiB of memory",
		         elements, (double)need / (1u << 30), (double)ram / (1u << 30));
		return -1;
	}
	return 0;
}

static int triad_setup(struct workload *w, char *err, size_t errlen)
{
	struct triad_state *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->tasks = (uint64_t)param_get(&w->params, "tasks");
	st->elements = (uint64_t)param_get(&w->params, "elements");
	st->passes = (uint64_t)param_get(&w->params, "passes");
	st->release_gil = param_get(&w->params, "release_gil") != 0;
	st->fault_element = param_get(&w->params, "fault_element");
	w->state = st;
	return 0;
}

static void triad_teardown(struct workload *w)
{
	free(w->state);
	w->state = NULL;
}

static size_t triad_task_count(const struct workload *w)
{
	const struct triad_state *st = w->state;
	return (size_t)st->tasks;
}

/* The inputs: exact small values that differ from task to task. */
static inline double triad_b(uint64_t task, uint64_t j)
{
	return (double)(uint32_t)((j + task) & 1023u);
}

static inline double triad_c(uint64_t task, uint64_t j)
{
	return 0.25 * (double)(uint32_t)((j * 7u + task * 13u) & 511u);
}

static inline double triad_a(uint64_t task, uint64_t j)
{
	double sc = TRIAD_SCALAR * triad_c(task, j);
	return triad_b(task, j) + sc;
}

static uint64_t task_checksum(uint64_t task, uint64_t array_hash)
{
	return checksum_mix(array_hash ^ checksum_mix(task));
}

static void triad_pass(double *restrict a, const double *restrict b, const double *restrict c,
                       size_t n, struct task_ctx *ctx)
{
	for (size_t lo = 0; lo < n; lo += TRIAD_CHUNK) {
		size_t hi = n - lo < TRIAD_CHUNK ? n : lo + TRIAD_CHUNK;
		for (size_t j = lo; j < hi; j++) {
			double sc = TRIAD_SCALAR * c[j];
			a[j] = b[j] + sc;
		}
		task_tick(ctx);
	}
}

static void triad_fill(double *restrict b, double *restrict c, uint64_t task, size_t n,
                       struct task_ctx *ctx)
{
	for (size_t lo = 0; lo < n; lo += TRIAD_CHUNK) {
		size_t hi = n - lo < TRIAD_CHUNK ? n : lo + TRIAD_CHUNK;
		for (size_t j = lo; j < hi; j++) {
			b[j] = triad_b(task, j);
			c[j] = triad_c(task, j);
		}
		task_tick(ctx);
	}
}

static struct task_result triad_run_task(const struct workload *w, size_t i, struct task_ctx *ctx)
{
	const struct triad_state *st = w->state;
	struct task_result r;
	size_t n = (size_t)st->elements;
	size_t len = (3 * n + 2 * TRIAD_STAGGER) * sizeof(double);

	memset(&r, 0, sizeof(r));
	void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		r.failed = true;
		snprintf(r.error, sizeof(r.error), "triad task %zu: cannot map %zu bytes", i, len);
		return r;
	}
	(void)madvise(mem, len, MADV_HUGEPAGE); /* a hint; fine where refused */
	double *a = mem;
	double *b = a + n + TRIAD_STAGGER;
	double *c = b + n + TRIAD_STAGGER;

	struct task_ctx *kctx = ctx;
	if (st->release_gil) {
		/* A C extension's loops between Py_BEGIN/END_ALLOW_THREADS: no
		 * check points while the lock is not held. */
		task_io_begin(ctx);
		kctx = NULL;
	}
	triad_fill(b, c, i, n, kctx);
	for (uint64_t p = 0; p < st->passes; p++)
		triad_pass(a, b, c, n, kctx);
	if (i == 0 && st->fault_element >= 0 && (uint64_t)st->fault_element < n)
		a[st->fault_element] += 1.0;
	uint64_t hash = content_hash_buffer(a, n * sizeof(double));
	if (st->release_gil)
		task_io_end(ctx);
	munmap(mem, len);

	r.checksum = task_checksum(i, hash);
	r.items = (uint64_t)n * st->passes;
	r.bytes = 3 * sizeof(double) * (uint64_t)n * st->passes;
	return r;
}

/* The hash every task's a must have, generated from the formula in slices. */
static bool triad_expected_checksum(const struct workload *w, uint64_t *out)
{
	struct triad_state *st = w->state;
	enum { SLICE = 4096 };

	if (!st->have_expected) {
		double *slice = malloc(SLICE * sizeof(double));
		if (slice == NULL)
			return false;
		uint64_t sum = 0;
		for (uint64_t t = 0; t < st->tasks; t++) {
			struct content_hash h;
			content_hash_init(&h);
			for (uint64_t lo = 0; lo < st->elements; lo += SLICE) {
				uint64_t m = st->elements - lo < SLICE ? st->elements - lo : SLICE;
				for (uint64_t j = 0; j < m; j++)
					slice[j] = triad_a(t, lo + j);
				content_hash_update(&h, slice, m * sizeof(double));
			}
			sum = checksum_combine(sum, task_checksum(t, content_hash_final(&h)));
		}
		free(slice);
		st->expected = sum;
		st->have_expected = true;
	}
	*out = st->expected;
	return true;
}

static bool triad_expected_items(const struct workload *w, uint64_t *out)
{
	const struct triad_state *st = w->state;
	*out = st->tasks * st->elements * st->passes;
	return true;
}

/* Arrays of a task stay at least this long (6 MiB for the three), past a
 * core's share of the last-level cache on the machines this suite is for
 * (2 to 4 MiB per core on 64- to 96-core servers), when more tasks split the
 * work. Not longer: the arrays are first-touched afresh in every run, and 512
 * tasks of 24 MiB were 12 GiB of page faults per run, most of a run's time. */
#define TRIAD_MIN_ELEMENTS (1u << 18)

/* More tasks for more workers, with the same total traffic: shorter arrays
 * down to TRIAD_MIN_ELEMENTS, then fewer passes (at least one, so the total
 * may grow); more work by more passes, less by fewer (at least one). */
static void triad_resize(struct workload *w, uint64_t min_tasks, double grow)
{
	double tasks = (double)param_get(&w->params, "tasks");
	double elements = (double)param_get(&w->params, "elements");
	double passes = (double)param_get(&w->params, "passes");
	double total = tasks * elements * passes * (grow != WORKLOAD_KEEP_WORK ? grow : 1.0);
	if (grow == WORKLOAD_KEEP_WORK) {
		/* arrays of the least length, as many passes: the most tasks the same
		 * memory and traffic make */
		double most = tasks * elements / (double)TRIAD_MIN_ELEMENTS;
		if ((double)min_tasks > most)
			min_tasks = (uint64_t)(most > tasks ? most : tasks);
	}
	if ((double)min_tasks > tasks &&
	    params_resize_int(&w->params, "tasks", (int64_t)min_tasks)) {
		tasks = (double)min_tasks;
		double shorter = total / (tasks * passes);
		if (shorter < elements)
			params_resize_int(
			    &w->params, "elements",
			    (int64_t)(shorter > TRIAD_MIN_ELEMENTS
			                  ? shorter
			                  : (elements < TRIAD_MIN_ELEMENTS ? elements
			                                                   : TRIAD_MIN_ELEMENTS)));
	}
	elements = (double)param_get(&w->params, "elements");
	double want = total / (tasks * elements);
	params_resize_int(&w->params, "passes", (int64_t)(want < 1.0 ? 1.0 : want + 0.5));
}

/* For the Python twin: each task's array as the formula gives it, as its
 * SHA-256 (NumPy's array is checked with hashlib) and its content hash. */
static int triad_python_inputs(const struct workload *w, FILE *out, char *err, size_t errlen)
{
	const struct triad_state *st = w->state;
	enum { SLICE = 4096 };
	double slice[SLICE];
	for (uint64_t t = 0; t < st->tasks; t++) {
		struct content_hash h;
		struct twin_sha256 *sha = twin_sha256_begin();
		char hex[TWIN_SHA256_HEX];
		if (sha == NULL) {
			snprintf(err, errlen, "no SHA-256 from OpenSSL");
			return -1;
		}
		content_hash_init(&h);
		for (uint64_t lo = 0; lo < st->elements; lo += SLICE) {
			uint64_t m = st->elements - lo < SLICE ? st->elements - lo : SLICE;
			for (uint64_t j = 0; j < m; j++)
				slice[j] = triad_a(t, lo + j);
			content_hash_update(&h, slice, m * sizeof(double));
			twin_sha256_update(sha, slice, m * sizeof(double));
		}
		if (twin_sha256_end(sha, hex) != 0) {
			snprintf(err, errlen, "no SHA-256 from OpenSSL");
			return -1;
		}
		fprintf(out, "input task %" PRIu64 " %" PRIu64 " %s %" PRIx64 "\n", t,
		        st->elements * sizeof(double), hex, content_hash_final(&h));
	}
	return 0;
}

const struct workload_ops triad_workload = {
    .name = "triad",
    .kind = WORKLOAD_CPU,
    .description = "STREAM triad a = b + 3c over per-task arrays larger than the last-level "
                   "cache (memory bandwidth)",
    .params = triad_params,
    .check = triad_check,
    .setup = triad_setup,
    .teardown = triad_teardown,
    .task_count = triad_task_count,
    .run_task = triad_run_task,
    .submit = NULL,
    .expected_checksum = triad_expected_checksum,
    .expected_items = triad_expected_items,
    .items_name = "elements updated",
    .resize = triad_resize,
    /* NumPy releases the lock, so the twin's simulated peer is release_gil=1 */
    .python_sizes = "tasks=8,elements=2097152,passes=5,release_gil=1",
    .python_quick_sizes = "tasks=4,elements=262144,passes=2,release_gil=1",
    .python_inputs = triad_python_inputs,
};
