/* mandelbrot: escape-time counts over a fixed view of the set, one task per
 * band of rows (floating point, uneven task cost).
 *
 * The view spans the whole set, so a band through the middle runs most of its
 * pixels to max_iter while a band along the top or bottom edge escapes within
 * a few iterations: the tasks cost very unevenly, which is what dynamic
 * hand-out absorbs and a static split would not.
 *
 * The answer is a hash of every pixel's escape count. There is no independent
 * algorithm to check it against, so the hashes of the default and the --quick
 * parameter sets were computed once with this code and are kept in a table
 * (and in tests/test_cpu_workloads.c); for other parameters every strategy
 * must agree with the first one run. The arithmetic is plain double, with
 * every product in its own statement so that no compiler fuses a multiply and
 * an add: the counts are bit-identical across strategies, optimisation levels
 * and sanitizer builds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workloads/workload.h"

static const struct param_def mandelbrot_params[] = {
    PARAM_INT_DEF("width", 1200, 400, 1, 100000, "pixels per row"),
    PARAM_INT_DEF("height", 800, 256, 1, 100000, "rows"),
    PARAM_INT_DEF("bands", 64, 32, 1, 100000, "tasks: bands of height/bands rows each"),
    PARAM_INT_DEF("max_iter", 1000, 300, 1, 1000000, "iterations before a pixel counts as inside"),
    PARAM_INT_DEF("release_gil", 0, 0, 0, 1,
                  "1: run the kernel with the lock released, as NumPy does"),
    PARAM_END,
};

/* The view: real part [-2.5, 1.0], imaginary part centred on 0 with square
 * pixels (+-1.17 at the default 3:2 aspect), pixel centres sampled. */
#define VIEW_RE_MIN   (-2.5)
#define VIEW_RE_WIDTH 3.5

/* Hashes of known parameter sets, computed once with this code (serial run). */
struct mandelbrot_known {
	int64_t width, height, bands, max_iter;
	uint64_t checksum;
	uint64_t iterations;
};

static const struct mandelbrot_known known[] = {
    {1200, 800, 64, 1000, UINT64_C(0x2c11910b6bf22c6b), UINT64_C(182289196)}, /* the defaults */
    {400, 256, 32, 300, UINT64_C(0x55783c84bc1718d3), UINT64_C(6407366)},     /* --quick */
    /* the python sizes and their --quick (python_sizes below), for the py-* cells */
    {360, 240, 30, 250, UINT64_C(0x150a84b0b105e2f3), UINT64_C(4398058)},
    {80, 48, 16, 100, UINT64_C(0x7a7df91d19cc0746), UINT64_C(96062)},
};

struct mandelbrot_state {
	uint32_t width, height, bands, max_iter;
	bool release_gil;
	double dx, half_height;
};

static int mandelbrot_check(const struct workload *w, char *err, size_t errlen)
{
	int64_t height = param_get(&w->params, "height");
	int64_t bands = param_get(&w->params, "bands");
	if (bands > height) {
		snprintf(err, errlen, "mandelbrot.bands (%lld) exceeds mandelbrot.height (%lld)",
		         (long long)bands, (long long)height);
		return -1;
	}
	return 0;
}

static int mandelbrot_setup(struct workload *w, char *err, size_t errlen)
{
	int64_t width = param_get(&w->params, "width");
	int64_t height = param_get(&w->params, "height");
	int64_t bands = param_get(&w->params, "bands");

	if (mandelbrot_check(w, err, errlen) != 0)
		return -1;
	struct mandelbrot_state *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->width = (uint32_t)width;
	st->height = (uint32_t)height;
	st->bands = (uint32_t)bands;
	st->max_iter = (uint32_t)param_get(&w->params, "max_iter");
	st->release_gil = param_get(&w->params, "release_gil") != 0;
	st->dx = VIEW_RE_WIDTH / (double)st->width;
	st->half_height = 0.5 * (double)st->height;
	w->state = st;
	return 0;
}

static void mandelbrot_teardown(struct workload *w)
{
	free(w->state);
	w->state = NULL;
}

static size_t mandelbrot_task_count(const struct workload *w)
{
	const struct mandelbrot_state *st = w->state;
	return st->bands;
}

/* Iterations of z = z^2 + c from z = 0 before |z| > 2, at most max_iter. */
static inline uint32_t escape_count(double cr, double ci, uint32_t max_iter)
{
	double zr = 0.0, zi = 0.0;
	uint32_t n = 0;

	while (n < max_iter) {
		double zr2 = zr * zr;
		double zi2 = zi * zi;
		if (zr2 + zi2 > 4.0)
			break;
		double zri = zr * zi;
		zi = zri + zri + ci;
		zr = zr2 - zi2 + cr;
		n++;
	}
	return n;
}

/* Band b covers rows [height * b / bands, height * (b + 1) / bands). The
 * check point is per pixel: a pixel costs from a few nanoseconds (outside the
 * set) to about a microsecond (inside), a few hundred on average. The hash is
 * FNV-1a over the counts in row-major order. */
static struct task_result mandelbrot_band(const struct mandelbrot_state *st, size_t band,
                                          struct task_ctx *ctx)
{
	uint32_t row_lo = (uint32_t)((uint64_t)st->height * band / st->bands);
	uint32_t row_hi = (uint32_t)((uint64_t)st->height * (band + 1) / st->bands);
	uint64_t hash = 0xcbf29ce484222325ull, iterations = 0;

	for (uint32_t row = row_lo; row < row_hi; row++) {
		double rowc = (double)row + 0.5 - st->half_height;
		double ci = rowc * st->dx; /* exactly mirrored about the real axis */
		for (uint32_t col = 0; col < st->width; col++) {
			task_tick(ctx);
			double colc = (double)col + 0.5;
			double xoff = colc * st->dx;
			double cr = VIEW_RE_MIN + xoff;
			uint32_t n = escape_count(cr, ci, st->max_iter);
			iterations += n;
			hash = (hash ^ n) * 0x100000001b3ull;
		}
	}
	struct task_result r;
	memset(&r, 0, sizeof(r));
	r.checksum = checksum_mix(hash ^ checksum_mix((uint64_t)band));
	r.items = iterations;
	return r;
}

static struct task_result mandelbrot_run_task(const struct workload *w, size_t i,
                                              struct task_ctx *ctx)
{
	const struct mandelbrot_state *st = w->state;
	struct task_result r;

	if (st->release_gil) {
		/* A C extension's loop between Py_BEGIN/END_ALLOW_THREADS: no
		 * check points while the lock is not held. */
		task_io_begin(ctx);
		r = mandelbrot_band(st, i, NULL);
		task_io_end(ctx);
	} else {
		r = mandelbrot_band(st, i, ctx);
	}
	return r;
}

static const struct mandelbrot_known *find_known(const struct mandelbrot_state *st)
{
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
		if (known[k].width == st->width && known[k].height == st->height &&
		    known[k].bands == st->bands && known[k].max_iter == st->max_iter)
			return &known[k];
	return NULL;
}

static bool mandelbrot_expected_checksum(const struct workload *w, uint64_t *out)
{
	const struct mandelbrot_known *k = find_known(w->state);
	if (k == NULL)
		return false;
	*out = k->checksum;
	return true;
}

static bool mandelbrot_expected_items(const struct workload *w, uint64_t *out)
{
	const struct mandelbrot_known *k = find_known(w->state);
	if (k == NULL)
		return false;
	*out = k->iterations;
	return true;
}

/* More, thinner bands for more workers (a band is at least one row, so the
 * image grows taller, and wider with it, when there are more bands than
 * rows); more work by more pixels, the view unchanged. Sizes other than the
 * two known ones have no expected checksum: the strategies must then agree
 * with the first cell measured. */
static void mandelbrot_resize(struct workload *w, uint64_t min_tasks, double grow)
{
	int64_t width = param_get(&w->params, "width"), height = param_get(&w->params, "height");
	int64_t bands = param_get(&w->params, "bands");
	double side = grow != WORKLOAD_KEEP_WORK ? sqrt(grow) : 1.0;
	/* a band is at least a row: the same image has at most `height` bands */
	if (grow == WORKLOAD_KEEP_WORK && (double)min_tasks > (double)height)
		min_tasks = (uint64_t)height;
	/* a smaller image keeps a row for each of its bands */
	double least = (double)(min_tasks > (uint64_t)bands ? min_tasks : (uint64_t)bands);
	if ((double)height * side < least)
		side = least / (double)height;
	if (side != 1.0 &&
	    params_resize_int(&w->params, "height", (int64_t)ceil((double)height * side)))
		params_resize_int(&w->params, "width", (int64_t)ceil((double)width * side));
	height = param_get(&w->params, "height");
	if ((int64_t)min_tasks > param_get(&w->params, "bands"))
		params_resize_int(&w->params, "bands",
		                  (int64_t)min_tasks < height ? (int64_t)min_tasks : height);
}

const struct workload_ops mandelbrot_workload = {
    .name = "mandelbrot",
    .kind = WORKLOAD_CPU,
    .description = "escape-time counts of the Mandelbrot set by bands of rows (floating point, "
                   "uneven task cost)",
    .params = mandelbrot_params,
    .check = mandelbrot_check,
    .setup = mandelbrot_setup,
    .teardown = mandelbrot_teardown,
    .task_count = mandelbrot_task_count,
    .run_task = mandelbrot_run_task,
    .submit = NULL,
    .expected_checksum = mandelbrot_expected_checksum,
    .expected_items = mandelbrot_expected_items,
    .items_name = "iterations",
    .resize = mandelbrot_resize,
    .python_sizes = "width=360,height=240,bands=30,max_iter=250",
    .python_quick_sizes = "width=80,height=48,bands=16,max_iter=100",
};
