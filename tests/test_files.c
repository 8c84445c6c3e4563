/* Tests for the files workload (workloads/files.c, files_async.c): the data
 * set's generation and reuse, the page cache modes checked with mincore, every
 * strategy's checksum, both event-loop backends, and every error the workload
 * reports. The data lives in a fresh directory under /var/tmp (a disk, not
 * tmpfs, wherever that holds), removed after each test. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <liburing.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/content.h"
#include "workloads/files_async.h"
#include "bench/placement.h"
#include "runners/runner.h"
#include "workloads/workload.h"

#include "tests/support.h"

#define COUNT 8
#define SIZE  (256 * 1024)
#define BS    (64 * 1024)

static char dir[128];

/* ---- the directory ------------------------------------------------------------ */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	chmod(path, 0700); /* a chmod 000 file must still go */
	remove(path);
	return 0;
}

static void remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/var/tmp/concbench-test-files-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
}

static void drop_dir(void)
{
	if (dir[0] != '\0')
		remove_tree(dir);
}

static bool is_tmpfs(const char *path)
{
	struct statfs sf;
	return statfs(path, &sf) == 0 && (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC);
}

static void skip_cold_on_tmpfs(void)
{
	if (is_tmpfs(dir))
		cr_skip_test("%s is on tmpfs: pages there cannot be evicted, nothing to verify",
		             dir);
}

static void file_path(size_t k, char *out, size_t len)
{
	char name[FILES_NAME_LEN];
	files_name(k, name);
	snprintf(out, len, "%s/%s", dir, name);
}

static void path_in_dir(const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", dir, name);
}

/* ---- the workload --------------------------------------------------------------- */

struct opts {
	const char *dir;
	int count;
	long size, bs;
	const char *cache, *backend;
	long seed;
};

static struct opts defaults(void)
{
	return (struct opts){.dir = dir,
	                     .count = COUNT,
	                     .size = SIZE,
	                     .bs = BS,
	                     .cache = "warm",
	                     .backend = "auto",
	                     .seed = 1};
}

static void set_param(struct workload *w, const char *key, const char *value)
{
	char err[256] = "";
	cr_assert_eq(params_set(&w->params, key, value, err, sizeof(err)), 0, "%s=%s: %s", key,
	             value, err);
}

static void set_int(struct workload *w, const char *key, long v)
{
	char text[32];
	snprintf(text, sizeof(text), "%ld", v);
	set_param(w, key, text);
}

/* Sets the workload up; returns setup's status with its error in err. */
static int files_open(struct workload *w, struct opts o, char *err, size_t errlen)
{
	memset(w, 0, sizeof(*w));
	w->ops = workload_find("files");
	cr_assert_not_null(w->ops, "the files workload is not registered");
	params_init(&w->params, w->ops->params, 0);
	set_param(w, "dir", o.dir);
	set_int(w, "count", o.count);
	set_int(w, "size", o.size);
	set_int(w, "bs", o.bs);
	set_param(w, "cache", o.cache);
	set_param(w, "backend", o.backend);
	set_int(w, "seed", o.seed);
	err[0] = '\0';
	return w->ops->setup(w, err, errlen);
}

static void files_open_ok(struct workload *w, struct opts o)
{
	char err[512];
	cr_assert_eq(files_open(w, o, err, sizeof(err)), 0, "setup: %s", err);
	cr_assert_eq(w->ops->task_count(w), (size_t)o.count);
}

static void files_close(struct workload *w)
{
	w->ops->teardown(w);
	cr_assert_null(w->state);
}

/* The fact called name: its number, or its text in text (when given). */
static bool fact(const struct workload *w, const char *name, double *value, char *text, size_t len)
{
	struct workload_fact f[WORKLOAD_FACTS_MAX];
	int n = w->ops->facts(w, f, WORKLOAD_FACTS_MAX);
	for (int i = 0; i < n; i++) {
		if (strcmp(f[i].name, name) != 0)
			continue;
		if (value != NULL)
			*value = f[i].value;
		if (text != NULL)
			snprintf(text, len, "%s", f[i].text);
		return true;
	}
	return false;
}

static double fact_value(const struct workload *w, const char *name)
{
	double v = NAN;
	cr_assert(fact(w, name, &v, NULL, 0), "no fact %s", name);
	return v;
}

static void fact_text_is(const struct workload *w, const char *name, const char *want)
{
	char text[64] = "";
	cr_assert(fact(w, name, NULL, text, sizeof(text)), "no fact %s", name);
	cr_assert_str_eq(text, want, "fact %s", name);
}

/* The hash each file must have, from the content generator alone. */
static uint64_t independent_checksum(int count, long size, long seed)
{
	uint64_t sum = 0;
	for (int k = 0; k < count; k++) {
		uint64_t h = content_expected_hash(files_file_seed((uint64_t)seed, (size_t)k),
		                                   (uint64_t)size);
		sum = checksum_combine(sum, checksum_mix((uint64_t)k ^ h));
	}
	return sum;
}

/* ---- running it ------------------------------------------------------------------- */

struct outcome {
	int rc;
	struct run_result r;
};

/* before_run, then one run under the named strategy, as the driver does. */
static struct outcome run_once(struct workload *w, const char *strategy, int workers)
{
	const struct runner_ops *runner = runner_find(strategy);
	hwloc_topology_t topology;
	struct placement_plan plan;
	struct param_values options; /* the strategy's parameters, at their defaults */
	struct outcome out;
	char err[256] = "";
	int threads = runner->single_thread ? 1 : workers;

	cr_assert_not_null(runner, "no strategy %s", strategy);
	params_init(&options, runner->params, 0);
	cr_assert_eq(topology_open(&topology, NULL, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(placement_plan_make(topology, PIN_NONE, threads, &plan, err, sizeof(err)), 0,
	             "%s", err);
	struct run_spec spec = {.workload = w,
	                        .workers = workers,
	                        .topology = topology,
	                        .cpus = plan.cpus,
	                        .params = &options};
	cr_assert_eq(run_result_init(&out.r, w->ops->task_count(w), threads), 0);
	w->ops->before_run(w);
	out.rc = runner->run(&spec, &out.r);
	run_result_finish(&out.r);
	placement_plan_free(&plan);
	hwloc_topology_destroy(topology);
	return out;
}

static void expect_success(struct workload *w, const char *strategy, int workers)
{
	uint64_t want;
	cr_assert(w->ops->expected_checksum(w, &want));
	struct outcome o = run_once(w, strategy, workers);
	size_t count = w->ops->task_count(w);
	uint64_t size = (uint64_t)param_get(&w->params, "size");

	cr_assert_eq(o.rc, 0, "%s: %s", strategy, o.r.error);
	cr_assert_eq(o.r.tasks_failed, 0, "%s: %s", strategy, o.r.error);
	cr_assert_eq(o.r.tasks_done, count, "%s", strategy);
	cr_assert_eq(o.r.checksum, want, "%s: checksum %#llx, want %#llx", strategy,
	             (unsigned long long)o.r.checksum, (unsigned long long)want);
	cr_assert_eq(o.r.items, count, "%s: %llu files", strategy, (unsigned long long)o.r.items);
	cr_assert_eq(o.r.bytes, count * size, "%s: %llu bytes", strategy,
	             (unsigned long long)o.r.bytes);
	run_result_free(&o.r);
}

/* The run goes on to the end; `failing` tasks fail, each with `needle` in its
 * error, and every other task still reads its file correctly. */
static void expect_task_errors(struct workload *w, const char *strategy, int workers,
                               size_t failing, const char *needle)
{
	struct outcome o = run_once(w, strategy, workers);
	size_t count = w->ops->task_count(w);

	cr_assert_eq(o.r.tasks_done, count, "%s: every task ends", strategy);
	cr_assert_eq(o.r.tasks_failed, failing, "%s: %zu failed (%s)", strategy, o.r.tasks_failed,
	             o.r.error);
	cr_assert_not_null(strstr(o.r.error, needle), "%s: the error \"%s\" lacks \"%s\"", strategy,
	                   o.r.error, needle);
	for (size_t i = 0; i < count; i++) {
		const struct task_result *t = &o.r.task[i];
		cr_assert(t->done, "%s: task %zu not done", strategy, i);
		if (t->failed)
			cr_assert_not_null(strstr(t->error, needle), "%s: task %zu: %s", strategy,
			                   i, t->error);
		else
			cr_assert_eq(t->items, 1, "%s: task %zu", strategy, i);
	}
	run_result_free(&o.r);
}

/* Every strategy, and the loop with each backend forced. */
static void for_each_way(void (*check)(struct workload *, const char *, int, void *), struct opts o,
                         void *arg)
{
	static const char *const backends[] = {"io_uring", "threadpool"};
	struct workload w;
	const char *const *strategies = strategy_names();
	for (int s = 0; strategies[s] != NULL; s++) {
		files_open_ok(&w, o);
		check(&w, strategies[s], 2, arg);
		files_close(&w);
	}
	for (int b = 0; b < 2; b++) {
		o.backend = backends[b];
		files_open_ok(&w, o);
		check(&w, "epoll", 3, arg);
		files_close(&w);
	}
}

static bool io_uring_usable(void)
{
	struct io_uring ring;
	if (io_uring_queue_init(4, &ring, 0) != 0)
		return false;
	io_uring_queue_exit(&ring);
	return true;
}

/* ---- mincore, independently of the workload --------------------------------------- */

static double resident_fraction(const char *path)
{
	struct stat sb;
	int fd = open(path, O_RDONLY);
	cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(fstat(fd, &sb), 0);
	size_t page = (size_t)sysconf(_SC_PAGESIZE), pages = ((size_t)sb.st_size + page - 1) / page;
	void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	cr_assert_neq(m, MAP_FAILED);
	unsigned char *vec = calloc(pages, 1);
	cr_assert_eq(mincore(m, (size_t)sb.st_size, vec), 0, "mincore: %s", strerror(errno));
	size_t resident = 0;
	for (size_t i = 0; i < pages; i++)
		resident += vec[i] & 1;
	free(vec);
	munmap(m, (size_t)sb.st_size);
	return (double)resident / (double)pages;
}

/* ---- generation and reuse ------------------------------------------------------------ */

TestSuite(files, .init = make_dir, .fini = drop_dir, .timeout = 120);

Test(files, generates_the_data_set_with_known_hashes)
{
	struct workload w;
	struct stat sb;
	char path[PATH_MAX];
	uint64_t want;

	files_open_ok(&w, defaults());
	for (int k = 0; k < COUNT; k++) {
		file_path((size_t)k, path, sizeof(path));
		cr_assert_eq(stat(path, &sb), 0, "%s: %s", path, strerror(errno));
		cr_assert_eq(sb.st_size, SIZE, "%s", path);
	}
	path_in_dir("MANIFEST", path, sizeof(path));
	cr_assert_eq(stat(path, &sb), 0, "no manifest");
	path_in_dir("MANIFEST.tmp", path, sizeof(path));
	cr_assert_neq(stat(path, &sb), 0, "the manifest's temporary file is left behind");
	cr_assert(w.ops->expected_checksum(&w, &want));
	cr_assert_eq(want, independent_checksum(COUNT, SIZE, 1),
	             "the manifest's hashes are not the generator's");
	uint64_t items;
	cr_assert(w.ops->expected_items(&w, &items));
	cr_assert_eq(items, COUNT);
	cr_assert_str_eq(w.ops->items_name, "files");
	files_close(&w);
}

Test(files, reuses_the_data_set_while_the_manifest_matches)
{
	struct workload w;
	struct stat before[COUNT + 1], after[COUNT + 1];
	char path[PATH_MAX];

	files_open_ok(&w, defaults());
	files_close(&w);
	for (int k = 0; k <= COUNT; k++) {
		if (k < COUNT)
			file_path((size_t)k, path, sizeof(path));
		else
			path_in_dir("MANIFEST", path, sizeof(path));
		cr_assert_eq(stat(path, &before[k]), 0);
	}
	usleep(20000); /* a rewrite would move the mtimes on */
	struct opts o = defaults();
	o.bs = 4096; /* the block size is not part of the data set */
	o.cache = "cold";
	files_open_ok(&w, o);
	files_close(&w);
	for (int k = 0; k <= COUNT; k++) {
		if (k < COUNT)
			file_path((size_t)k, path, sizeof(path));
		else
			path_in_dir("MANIFEST", path, sizeof(path));
		cr_assert_eq(stat(path, &after[k]), 0);
		cr_assert_eq(after[k].st_ino, before[k].st_ino, "%s was replaced", path);
		cr_assert_eq(after[k].st_mtim.tv_sec, before[k].st_mtim.tv_sec, "%s rewritten",
		             path);
		cr_assert_eq(after[k].st_mtim.tv_nsec, before[k].st_mtim.tv_nsec, "%s rewritten",
		             path);
	}
}

static void mtime_of(size_t k, struct timespec *out)
{
	char path[PATH_MAX];
	struct stat sb;
	file_path(k, path, sizeof(path));
	cr_assert_eq(stat(path, &sb), 0, "%s: %s", path, strerror(errno));
	*out = sb.st_mtim;
}

static bool same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

Test(files, regenerates_when_the_manifest_does_not_match)
{
	struct workload w;
	struct timespec t0, t1;
	char path[PATH_MAX];
	uint64_t want;

	files_open_ok(&w, defaults());
	files_close(&w);
	mtime_of(0, &t0);
	usleep(20000);

	/* Another seed: new content, new hashes. */
	struct opts o = defaults();
	o.seed = 2;
	files_open_ok(&w, o);
	cr_assert(w.ops->expected_checksum(&w, &want));
	cr_assert_eq(want, independent_checksum(COUNT, SIZE, 2));
	expect_success(&w, "serial", 1);
	files_close(&w);
	mtime_of(0, &t1);
	cr_assert_not(same_time(t0, t1), "a new seed did not rewrite the files");

	/* Fewer files: the ones beyond the count go. */
	o.count = COUNT / 2;
	files_open_ok(&w, o);
	expect_success(&w, "serial", 1);
	files_close(&w);
	file_path(COUNT - 1, path, sizeof(path));
	cr_assert_neq(access(path, F_OK), 0, "%s outlived a smaller data set", path);

	/* A damaged manifest (a half-written set) is never trusted. */
	path_in_dir("MANIFEST", path, sizeof(path));
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("concbench-files 1\ncount 4\nsize 2", f);
	fclose(f);
	mtime_of(0, &t0);
	usleep(20000);
	files_open_ok(&w, o);
	expect_success(&w, "serial", 1);
	files_close(&w);
	mtime_of(0, &t1);
	cr_assert_not(same_time(t0, t1), "a truncated manifest was trusted");

	/* No manifest at all: the same. */
	cr_assert_eq(unlink(path), 0);
	usleep(20000);
	files_open_ok(&w, o);
	files_close(&w);
	mtime_of(0, &t0);
	cr_assert_not(same_time(t0, t1), "files without a manifest were trusted");
}

Test(files, default_directory_is_created)
{
	char sub[PATH_MAX], cwd[PATH_MAX];
	struct workload w;
	char err[512];
	struct stat sb;

	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	cr_assert_eq(chdir(dir), 0);
	memset(&w, 0, sizeof(w));
	w.ops = workload_find("files");
	params_init(&w.params, w.ops->params, 1);
	set_int(&w, "count", 2);
	set_int(&w, "size", 4096);
	cr_assert_eq(w.ops->setup(&w, err, sizeof(err)), 0, "setup: %s", err);
	snprintf(sub, sizeof(sub), "%s/results/data/files/MANIFEST", dir);
	cr_assert_eq(stat(sub, &sb), 0, "the default directory was not made");
	files_close(&w);
	cr_assert_eq(chdir(cwd), 0);
}

/* ---- every strategy's checksum ------------------------------------------------------------ */

static void check_success(struct workload *w, const char *strategy, int workers, void *arg)
{
	const char *cache = arg;
	char backend[64] = "";
	expect_success(w, strategy, workers);
	cr_assert(fact(w, "backend", NULL, backend, sizeof(backend)));
	if (strcmp(strategy, "epoll") != 0)
		cr_assert_str_eq(backend, "read", "%s", strategy);
	else
		cr_assert(strcmp(backend, "io_uring") == 0 || strcmp(backend, "threadpool") == 0,
		          "epoll used %s", backend);
	fact_text_is(w, "cache", cache);
	double resident = fact_value(w, "cache_resident_fraction");
	if (strcmp(cache, "cold") == 0)
		cr_assert_leq(resident, 0.01, "%s: %.3f resident after eviction", strategy,
		              resident);
	else
		cr_assert_eq(resident, 1.0, "%s: %.3f resident after warming", strategy, resident);
}

Test(files, every_strategy_reads_warm_files_right)
{
	for_each_way(check_success, defaults(), "warm");
}

Test(files, every_strategy_reads_cold_files_right)
{
	skip_cold_on_tmpfs();
	struct opts o = defaults();
	o.cache = "cold";
	for_each_way(check_success, o, "cold");
}

Test(files, odd_sizes_and_blocks_read_right)
{
	struct opts o = defaults();
	o.size = 100003; /* no multiple of a page, a stripe or the block */
	o.bs = 12800;
	o.count = 5;
	for_each_way(check_success, o, "warm");
}

Test(files, epoll_backends_forced)
{
	static const char *const backends[] = {"io_uring", "threadpool"};
	static const int in_flight[] = {1, 4, 16};
	struct workload w;
	if (!io_uring_usable())
		cr_skip_test("io_uring cannot be set up here; the thread pool is tested elsewhere");
	for (int b = 0; b < 2; b++) {
		for (int c = 0; c < 2; c++) {
			struct opts o = defaults();
			o.backend = backends[b];
			o.cache = c == 0 ? "warm" : "cold";
			if (c == 1 && is_tmpfs(dir))
				continue;
			files_open_ok(&w, o);
			for (int n = 0; n < 3; n++) {
				expect_success(&w, "epoll", in_flight[n]);
				fact_text_is(&w, "backend", backends[b]);
				cr_assert_not(fact(&w, "backend_fallback", NULL, NULL, 0),
				              "a forced backend has no fallback");
			}
			/* A blocking run afterwards reports read() again. */
			expect_success(&w, "serial", 1);
			fact_text_is(&w, "backend", "read");
			files_close(&w);
		}
	}
}

/* io_uring_setup refused, as a seccomp profile (Docker's, say) refuses it. */
static void refuse_io_uring(void)
{
	struct sock_filter filter[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};
	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0, "%s", strerror(errno));
	cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0, "seccomp: %s",
	             strerror(errno));
}

/* Criterion runs every test in a process of its own, so the filter ends with this test. */
Test(files, auto_falls_back_to_the_thread_pool_without_io_uring)
{
	struct workload w;
	struct io_uring ring;
	char why[64] = "";

	refuse_io_uring();
	cr_assert_eq(io_uring_queue_init(4, &ring, 0), -EPERM,
	             "the seccomp filter did not refuse io_uring_setup");
	struct opts o = defaults();
	files_open_ok(&w, o);
	expect_success(&w, "epoll", 3);
	fact_text_is(&w, "backend", "threadpool");
	cr_assert(fact(&w, "backend_fallback", NULL, why, sizeof(why)));
	cr_assert_str_eq(why, "io_uring_queue_init: Operation not permitted");
	files_close(&w);

	/* Forced, it is an error in every task, and nothing else breaks. */
	o.backend = "io_uring";
	files_open_ok(&w, o);
	expect_task_errors(&w, "epoll", 3, COUNT,
	                   "files.backend=io_uring: io_uring_queue_init: Operation not permitted");
	expect_success(&w, "threads", 2);
	o.backend = "threadpool";
	files_close(&w);
	files_open_ok(&w, o);
	expect_success(&w, "epoll", 3);
	fact_text_is(&w, "backend", "threadpool");
	files_close(&w);
}

/* ---- the page cache ------------------------------------------------------------------------ */

Test(files, cold_eviction_is_verified_with_mincore)
{
	struct workload w;
	char path[PATH_MAX];
	skip_cold_on_tmpfs();

	/* Warm first: everything resident. */
	files_open_ok(&w, defaults());
	w.ops->before_run(&w);
	cr_assert_eq(fact_value(&w, "cache_resident_fraction"), 1.0);
	fact_text_is(&w, "cache", "warm");
	for (int k = 0; k < COUNT; k++) {
		file_path((size_t)k, path, sizeof(path));
		cr_assert_eq(resident_fraction(path), 1.0, "%s not warm", path);
	}
	files_close(&w);

	/* Cold: before every run nothing is left, by our own count too. */
	struct opts o = defaults();
	o.cache = "cold";
	files_open_ok(&w, o);
	for (int rep = 0; rep < 2; rep++) {
		w.ops->before_run(&w);
		cr_assert_eq(fact_value(&w, "cache_resident_fraction"), 0.0, "rep %d", rep);
		fact_text_is(&w, "cache", "cold");
		for (int k = 0; k < COUNT; k++) {
			file_path((size_t)k, path, sizeof(path));
			cr_assert_eq(resident_fraction(path), 0.0, "%s still cached", path);
		}
		/* The run reads them back in: the next before_run must evict again. */
		expect_success(&w, "serial", 1);
		file_path(0, path, sizeof(path));
		cr_assert_gt(resident_fraction(path), 0.0, "the read left nothing cached");
	}
	files_close(&w);
}

Test(files, cold_is_refused_on_tmpfs)
{
	static const char *const candidates[] = {"/dev/shm", "/run", "/tmp", NULL};
	char tdir[PATH_MAX] = "";
	for (int i = 0; candidates[i] != NULL && tdir[0] == '\0'; i++) {
		if (!is_tmpfs(candidates[i]))
			continue;
		snprintf(tdir, sizeof(tdir), "%s/concbench-test-files-XXXXXX", candidates[i]);
		if (mkdtemp(tdir) == NULL)
			tdir[0] = '\0';
	}
	if (tdir[0] == '\0')
		cr_skip_test("no writable tmpfs here (/dev/shm, /run, /tmp) to refuse");
	struct workload w;
	char err[512];
	struct opts o = defaults();
	o.dir = tdir;
	o.cache = "cold";
	int rc = files_open(&w, o, err, sizeof(err));
	char manifest[PATH_MAX + 16];
	snprintf(manifest, sizeof(manifest), "%s/MANIFEST", tdir);
	bool wrote = access(manifest, F_OK) == 0;
	/* Warm is fine there. */
	o.cache = "warm";
	o.count = 2;
	o.size = 4096;
	char err2[512];
	int rc2 = files_open(&w, o, err2, sizeof(err2));
	if (rc2 == 0)
		files_close(&w);
	remove_tree(tdir);
	cr_assert_eq(rc, -1, "cold on tmpfs was accepted");
	cr_assert_not_null(strstr(err, "tmpfs"), "%s", err);
	cr_assert_not_null(strstr(err, "--param files.dir="), "%s", err);
	cr_assert_not(wrote, "the refusal came after generating");
	cr_assert_eq(rc2, 0, "warm on tmpfs: %s", err2);
}

/* ---- errors -----------------------------------------------------------------------------------
 */

Test(files, missing_directory_is_a_setup_error)
{
	struct workload w;
	char err[512], missing[PATH_MAX + 8];
	snprintf(missing, sizeof(missing), "%s/nope", dir);
	struct opts o = defaults();
	o.dir = missing;
	cr_assert_eq(files_open(&w, o, err, sizeof(err)), -1);
	cr_assert_null(w.state, "a failed setup keeps no state");
	cr_assert_not_null(strstr(err, missing), "%s", err);
	cr_assert_not_null(strstr(err, "No such file or directory"), "%s", err);
	cr_assert_eq(access(missing, F_OK), -1, "a named directory is not made behind the user");
}

Test(files, a_file_in_place_of_the_directory_is_a_setup_error)
{
	struct workload w;
	char err[512], plain[PATH_MAX + 8];
	snprintf(plain, sizeof(plain), "%s/plain", dir);
	FILE *f = fopen(plain, "w");
	cr_assert_not_null(f);
	fclose(f);
	struct opts o = defaults();
	o.dir = plain;
	cr_assert_eq(files_open(&w, o, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "Not a directory"), "%s", err);
}

static void check_gone(struct workload *w, const char *strategy, int workers, void *arg)
{
	(void)arg;
	remove_tree(dir);
	expect_task_errors(w, strategy, workers, COUNT, "is gone");
	cr_assert(isnan(fact_value(w, "cache_resident_fraction")), "nothing to measure");
	cr_assert_eq(mkdir(dir, 0700), 0);
}

Test(files, directory_gone_at_run_time_is_a_cell_error)
{
	/* Each way sets up anew (regenerating into the recreated directory) and then
	 * loses the directory between setup and run. */
	for_each_way(check_gone, defaults(), NULL);
	struct opts o = defaults();
	o.cache = "cold";
	if (!is_tmpfs(dir))
		for_each_way(check_gone, o, NULL);
}

static void check_unreadable(struct workload *w, const char *strategy, int workers, void *arg)
{
	char path[PATH_MAX];
	const char *needle = arg;
	file_path(3, path, sizeof(path));
	if (geteuid() == 0) {
		/* root reads through chmod 000: a directory in the file's place fails read(). */
		cr_assert_eq(unlink(path), 0);
		cr_assert_eq(mkdir(path, 0700), 0);
	} else {
		cr_assert_eq(chmod(path, 0), 0);
	}
	expect_task_errors(w, strategy, workers, 1, needle);
	expect_task_errors(w, strategy, workers, 1, "f000003.dat");
	if (geteuid() == 0)
		cr_assert_eq(rmdir(path), 0);
	else
		cr_assert_eq(chmod(path, 0644), 0);
	/* Regenerated by the next setup: the manifest names a file that is gone. */
	char manifest[PATH_MAX];
	path_in_dir("MANIFEST", manifest, sizeof(manifest));
	unlink(manifest);
}

Test(files, unreadable_file_is_a_cell_error)
{
	const char *needle = geteuid() == 0 ? "read: Is a directory" : "open: Permission denied";
	if (geteuid() == 0)
		cr_log_info("running as root, which reads through chmod 000: a directory stands in "
		            "for the unreadable file");
	for_each_way(check_unreadable, defaults(), (void *)needle);
}

static void check_short(struct workload *w, const char *strategy, int workers, void *arg)
{
	(void)arg;
	char path[PATH_MAX];
	file_path(2, path, sizeof(path));
	cr_assert_eq(truncate(path, SIZE / 2 + 5), 0);
	expect_task_errors(w, strategy, workers, 1,
	                   "f000002.dat: short file: 131077 bytes, the manifest says 262144");
}

Test(files, short_file_is_a_cell_error)
{
	/* The manifest still matches, so the short file is kept: a damaged data set
	 * is reported, never silently mended. */
	for_each_way(check_short, defaults(), NULL);
}

static void check_corrupt(struct workload *w, const char *strategy, int workers, void *arg)
{
	(void)arg;
	char path[PATH_MAX];
	file_path(5, path, sizeof(path));
	int fd = open(path, O_RDWR);
	cr_assert(fd >= 0);
	unsigned char b;
	cr_assert_eq(pread(fd, &b, 1, 1000), 1);
	b ^= 0x40;
	cr_assert_eq(pwrite(fd, &b, 1, 1000), 1);
	close(fd);
	expect_task_errors(w, strategy, workers, 1, "differs from the manifest");
	/* Put it back for the next way. */
	fd = open(path, O_RDWR);
	b ^= 0x40;
	cr_assert_eq(pwrite(fd, &b, 1, 1000), 1);
	close(fd);
}

Test(files, corrupted_file_is_a_cell_error)
{
	for_each_way(check_corrupt, defaults(), NULL);
}

Test(files, disk_full_is_refused_before_generating)
{
	struct workload w;
	char err[512], path[PATH_MAX];
	struct opts o = defaults();
	o.count = 100000;
	o.size = 1L << 40; /* 100000 TiB: no disk here holds that */
	cr_assert_eq(files_open(&w, o, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "No space left on device"), "%s", err);
	cr_assert_not_null(strstr(err, "free"), "%s", err);
	file_path(0, path, sizeof(path));
	cr_assert_neq(access(path, F_OK), 0, "a file was written before the refusal");
}

Test(files, write_failure_while_generating_leaves_nothing_trusted)
{
	char path[PATH_MAX], err[512];
	struct workload w;
	/* A file-size limit makes write() fail part-way, as a full disk does. */
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct rlimit lim = {.rlim_cur = 100 * 1024, .rlim_max = RLIM_INFINITY};
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
			_exit(3);
		int rc = files_open(&w, defaults(), err, sizeof(err));
		if (rc == 0)
			_exit(4);
		_exit(strstr(err, "writing f000000.dat: File too large") != NULL ? 0 : 5);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "the child died (signal %d)", WTERMSIG(status));
	cr_assert_eq(WEXITSTATUS(status), 0, "status %d: the error was not the write's",
	             WEXITSTATUS(status));
	path_in_dir("MANIFEST", path, sizeof(path));
	cr_assert_neq(access(path, F_OK), 0, "a manifest vouches for a failed generation");
	file_path(0, path, sizeof(path));
	cr_assert_neq(access(path, F_OK), 0, "the half-written file is left behind");
	/* And the next setup, with room, generates the set afresh. */
	files_open_ok(&w, defaults());
	expect_success(&w, "serial", 1);
	files_close(&w);
}

/* ---- the real binary ----------------------------------------------------------------------------
 */

static json_t *run_binary(const char *cache, char out[256], size_t outlen)
{
	char args[1024], err[1024];
	snprintf(out, outlen, "%s/result-%s.json", dir, cache);
	snprintf(args, sizeof(args),
	         "run -w files -s all -n 2 -r 2 --warmup 1 "
	         "--quiet -p files.dir=%s -p files.count=%d -p files.size=%d -p files.cache=%s "
	         "-o %s",
	         dir, COUNT, SIZE, cache, out);
	int status = run_concbench_for(0, args, err, sizeof(err));
	cr_assert_eq(status, 0, "%s: exit status %d: %s", args, status, err);
	json_error_t e;
	json_t *doc = json_load_file(out, 0, &e);
	cr_assert_not_null(doc, "%s: %s", out, e.text);
	return doc;
}

static void check_binary(const char *cache)
{
	char out[256];
	json_t *doc = run_binary(cache, out, sizeof(out));
	json_t *results = json_object_get(doc, "results"), *c;
	size_t i;
	const char *checksum = NULL;
	cr_assert_eq(json_array_size(results), strategy_count(), "one cell per strategy");
	json_array_foreach(results, i, c)
	{
		const char *s = json_string_value(json_object_get(c, "strategy"));
		cr_assert(json_is_null(json_object_get(c, "error")), "%s: %s", s,
		          json_string_value(json_object_get(c, "error")));
		cr_assert(json_is_true(json_object_get(c, "checksum_ok")), "%s", s);
		const char *sum = json_string_value(json_object_get(c, "checksum"));
		if (checksum == NULL)
			checksum = sum;
		cr_assert_str_eq(sum, checksum, "%s: one checksum across all strategies", s);
		cr_assert_str_eq(json_string_value(json_object_get(c, "cache")), cache, "%s", s);
		double resident = json_number_value(json_object_get(c, "cache_resident_fraction"));
		cr_assert_eq(resident, strcmp(cache, "cold") == 0 ? 0.0 : 1.0, "%s: %g resident", s,
		             resident);
		const char *backend = json_string_value(json_object_get(c, "backend"));
		cr_assert_not_null(backend, "%s: no backend", s);
		if (strcmp(s, "epoll") != 0)
			cr_assert_str_eq(backend, "read", "%s", s);
	}
	json_decref(doc);
}

Test(files, binary_runs_every_strategy_warm)
{
	check_binary("warm");
}

Test(files, binary_runs_every_strategy_cold)
{
	skip_cold_on_tmpfs();
	check_binary("cold");
}
