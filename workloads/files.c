/* files: read N generated files of S bytes in B-byte blocks, hashing every
 * block, with the page cache warm or cold (what `open(p, 'rb').read()` in a
 * loop, a thread pool, a process pool or aiofiles costs).
 *
 * The data set lives in files.dir, next to a MANIFEST (count, size, seed and
 * each file's hash) that is written last, so that a half-generated set is
 * never trusted; setup reuses the files while the manifest matches the
 * parameters and regenerates them when it does not. Each task reads one file
 * with read() in files.bs blocks (under the gil the lock is released around
 * each read and held while hashing, as a Python caller holds it while it
 * handles the bytes), checks its length and hash against the manifest, and
 * contributes checksum_mix(k ^ hash). On the event loop the same reads go
 * through io_uring or a small thread pool (files_async.c).
 *
 * Cache modes, set up in before_run, outside the timed region: warm reads the
 * files once beforehand; cold fdatasyncs each file and drops it with
 * posix_fadvise(POSIX_FADV_DONTNEED) before every run. Either way the share of
 * the data set's pages resident just before the run is measured with mincore
 * and reported (`cache_resident_fraction`), and `cache` says "cold" only when
 * eviction really left (almost) nothing behind. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "workloads/files_async.h"
#include "lib/atomic_file.h"
#include "lib/loop.h"
#include "workloads/twin.h"
#include "workloads/workload.h"

#define KIB (INT64_C(1) << 10)
#define MIB (INT64_C(1) << 20)

#define MANIFEST_NAME    "MANIFEST"
#define MANIFEST_VERSION 1
#define GENERATE_CHUNK   ((size_t)(1 << 20))
/* Above this share of pages still resident after eviction, a cold run is not
 * cold, and the cell says warm. */
#define COLD_RESIDENT_MAX 0.01

static const char *const cache_names[] = {"warm", "cold", NULL};
static const char *const backend_names[] = {"auto", "io_uring", "threadpool", NULL};

static const struct param_def files_params[] = {
    PARAM_INT_DEF("count", 128, 32, 1, 100000, "number of files (one task each)"),
    PARAM_INT_DEF("size", 4 * MIB, 4 * MIB, 1, INT64_C(1) << 40, "bytes per file"),
    PARAM_INT_DEF("bs", 128 * KIB, 128 * KIB, 512, 64 * MIB, "bytes per read() call"),
    PARAM_CHOICE_DEF("cache", 0, 0, cache_names, 2,
                     "warm: files read once beforehand; cold: evicted before every run"),
    PARAM_CHOICE_DEF("backend", 0, 0, backend_names, 3,
                     "epoll's file I/O: io_uring, a thread pool, or auto (io_uring if it can)"),
    PARAM_TEXT_DEF("dir", "results/data/files",
                   "where the data set lives (created and reused; not tmpfs for cold)"),
    PARAM_INT_DEF("seed", 1, 1, 0, INT64_MAX, "content seed of the data set"),
    PARAM_END,
};

struct files_state {
	struct files_set set;
	uint64_t seed;
	bool cold;
	uint64_t expected_checksum;
	/* The latest run, set by before_run and submit. */
	double resident; /* share of the data set's pages in the page cache, NAN if unknown */
	bool evicted;    /* cold asked for, and the cache really was cold */
	bool submitted;  /* the latest run went through submit (the event loop) */
	struct files_async_slot async;
	/* The hashes again, in a memory file that a fresh worker (forkserver,
	 * spawn) reads them from, as a spawned Python child is handed its data:
	 * it must not set the data set up again. -1 in a worker. */
	int hash_fd;
	char (*sha256)[TWIN_SHA256_HEX]; /* each file's, for the Python twin; made once */
};

/* ---- names, seeds, results --------------------------------------------------- */

void files_name(size_t k, char out[FILES_NAME_LEN])
{
	snprintf(out, FILES_NAME_LEN, "f%06zu.dat", k % 1000000);
}

int files_path(const struct files_set *set, size_t k, char *out, size_t len)
{
	char name[FILES_NAME_LEN];
	files_name(k, name);
	int n = snprintf(out, len, "%s/%s", set->dir, name);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int dir_path(const char *dir, const char *name, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

uint64_t files_file_seed(uint64_t seed, size_t k)
{
	return checksum_mix(seed * 0x9e3779b97f4a7c15ull + (uint64_t)k);
}

static uint64_t file_checksum(size_t k, uint64_t hash)
{
	return checksum_mix((uint64_t)k ^ hash);
}

/* A path short enough for a task's error: a long directory keeps its tail. */
#define SHORT_PATH_LEN 80
static void short_path(const struct files_set *set, const char *name, char out[SHORT_PATH_LEN])
{
	enum { KEEP = SHORT_PATH_LEN - FILES_NAME_LEN - 8 };
	const char *d = set->dir, *prefix = "";
	size_t dlen = strlen(d);
	if (dlen > KEEP) {
		d += dlen - KEEP;
		prefix = "...";
	}
	snprintf(out, SHORT_PATH_LEN, "%s%.*s%s%.*s", prefix, (int)KEEP, d, name[0] ? "/" : "",
	         FILES_NAME_LEN, name);
}

struct task_result files_task_result(const struct files_set *set, size_t k, uint64_t bytes,
                                     const struct content_hash *h, const char *op, int err)
{
	struct task_result r;
	char name[FILES_NAME_LEN], path[SHORT_PATH_LEN];
	struct stat sb;
	memset(&r, 0, sizeof(r));
	r.bytes = bytes;
	files_name(k, name);
	short_path(set, name, path);
	if (op != NULL) {
		r.failed = true;
		if (err == ENOENT && stat(set->dir, &sb) != 0) {
			int gone = errno;
			short_path(set, "", path);
			snprintf(r.error, sizeof(r.error), "files.dir %s is gone: %s", path,
			         strerror(gone));
		} else {
			snprintf(r.error, sizeof(r.error), "%s: %s: %s", path, op, strerror(err));
		}
		return r;
	}
	if (bytes != set->size) {
		r.failed = true;
		snprintf(r.error, sizeof(r.error),
		         "%s: %s: %" PRIu64 " bytes, the manifest says %" PRIu64, path,
		         bytes < set->size ? "short file" : "long file", bytes, set->size);
		return r;
	}
	uint64_t hash = content_hash_final(h);
	if (hash != set->hash[k]) {
		r.failed = true;
		snprintf(r.error, sizeof(r.error),
		         "%s: content hash %016" PRIx64 " differs from the manifest's %016" PRIx64,
		         path, hash, set->hash[k]);
		return r;
	}
	r.checksum = file_checksum(k, hash);
	r.items = 1;
	return r;
}

/* ---- the manifest ----------------------------------------------------------------- */

/* True when the manifest in the directory describes this data set; it then
 * fills set->hash from it. */
static bool manifest_matches(struct files_state *st)
{
	char path[PATH_MAX], name[FILES_NAME_LEN], got[32];
	unsigned version;
	uint64_t count, size, seed;
	bool ok = false;
	if (dir_path(st->set.dir, MANIFEST_NAME, path, sizeof(path)) != 0)
		return false;
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return false;
	if (fscanf(f, "concbench-files %u count %" SCNu64 " size %" SCNu64 " seed %" SCNu64,
	           &version, &count, &size, &seed) != 4 ||
	    version != MANIFEST_VERSION || count != st->set.count || size != st->set.size ||
	    seed != st->seed)
		goto out;
	for (size_t k = 0; k < st->set.count; k++) {
		files_name(k, name);
		if (fscanf(f, "%31s %" SCNx64, got, &st->set.hash[k]) != 2 ||
		    strcmp(got, name) != 0)
			goto out;
	}
	ok = fscanf(f, "%31s", got) == 1 && strcmp(got, "end") == 0;
out:
	fclose(f);
	return ok;
}

static int write_manifest(const struct files_state *st, char *err, size_t errlen)
{
	char path[PATH_MAX], name[FILES_NAME_LEN];
	if (dir_path(st->set.dir, MANIFEST_NAME, path, sizeof(path)) != 0) {
		snprintf(err, errlen, "files.dir %s: %s", st->set.dir, strerror(ENAMETOOLONG));
		return -1;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL) {
		snprintf(err, errlen, "files.dir %s: the manifest: %s", st->set.dir,
		         strerror(errno));
		return -1;
	}
	fprintf(f, "concbench-files %u\ncount %zu\nsize %" PRIu64 "\nseed %" PRIu64 "\n",
	        MANIFEST_VERSION, st->set.count, st->set.size, st->seed);
	for (size_t k = 0; k < st->set.count; k++) {
		files_name(k, name);
		fprintf(f, "%s %016" PRIx64 "\n", name, st->set.hash[k]);
	}
	fprintf(f, "end\n");
	int rc = fclose(f) == 0 && text != NULL ? atomic_write_file(path, text, len) : -1;
	int saved = errno;
	free(text);
	if (rc != 0) {
		snprintf(err, errlen, "files.dir %s: writing the manifest: %s", st->set.dir,
		         strerror(saved));
		return -1;
	}
	int dfd = open(st->set.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* ---- generation ---------------------------------------------------------------------- */

static void format_mib(char *out, size_t len, uint64_t bytes)
{
	snprintf(out, len, "%.1f MiB", (double)bytes / (double)MIB);
}

/* Refuses up front when the file system cannot hold what is left to write. */
static int check_free_space(const struct files_state *st, char *err, size_t errlen)
{
	struct statvfs vfs;
	char path[PATH_MAX], need_s[32], have_s[32];
	uint64_t need = 0;
	if (statvfs(st->set.dir, &vfs) != 0) {
		snprintf(err, errlen, "files.dir %s: %s", st->set.dir, strerror(errno));
		return -1;
	}
	for (size_t k = 0; k < st->set.count; k++) {
		struct stat sb;
		uint64_t have = 0;
		if (files_path(&st->set, k, path, sizeof(path)) == 0 && stat(path, &sb) == 0 &&
		    S_ISREG(sb.st_mode))
			have = (uint64_t)sb.st_size;
		need += have < st->set.size ? st->set.size - have : 0;
	}
	/* -p files.dir=/proc said "No space left ... 0.0 MiB free": name the cause */
	if (need > 0 && (vfs.f_flag & ST_RDONLY) != 0) {
		snprintf(err, errlen, "files.dir %s is on a read-only file system", st->set.dir);
		return -1;
	}
	if (need > 0 && vfs.f_blocks == 0) {
		snprintf(err, errlen,
		         "files.dir %s is on a file system with no storage (like /proc or /sys): "
		         "the data set cannot be written there",
		         st->set.dir);
		return -1;
	}
	uint64_t avail = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
	/* Leave room for the file system's own blocks: 1% and 1 MiB. */
	if (need + need / 100 + (uint64_t)MIB > avail) {
		format_mib(need_s, sizeof(need_s), need);
		format_mib(have_s, sizeof(have_s), avail);
		snprintf(err, errlen,
		         "files.dir %s: %s: the data set needs %s more, %s free (lower "
		         "files.count or files.size, or use --param files.dir=DIR elsewhere)",
		         st->set.dir, strerror(ENOSPC), need_s, have_s);
		return -1;
	}
	return 0;
}

static int generate_file(struct files_state *st, size_t k, uint8_t *buf, char *err, size_t errlen)
{
	char path[PATH_MAX], name[FILES_NAME_LEN];
	const char *what = "creating";
	uint64_t seed = files_file_seed(st->seed, k);
	struct content_hash h;
	int fd = -1;

	files_name(k, name);
	content_hash_init(&h);
	if (files_path(&st->set, k, path, sizeof(path)) != 0)
		goto fail;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	what = "writing";
	for (uint64_t off = 0; off < st->set.size; off += GENERATE_CHUNK) {
		size_t n = st->set.size - off < GENERATE_CHUNK ? (size_t)(st->set.size - off)
		                                               : GENERATE_CHUNK;
		content_fill(seed, off, buf, n);
		content_hash_update(&h, buf, n);
		if (write_all(fd, buf, n) != 0)
			goto fail;
	}
	/* Flushed now, so that a full disk shows here and cold runs start clean. */
	if (fdatasync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	st->set.hash[k] = content_hash_final(&h);
	return 0;
fail:;
	int saved = errno;
	if (fd >= 0) {
		close(fd);
		unlink(path); /* no half-written file is left to look like data */
	}
	snprintf(err, errlen, "files.dir %s: %s %s: %s", st->set.dir, what, name, strerror(saved));
	return -1;
}

/* Our own names beyond the count, from an earlier, larger data set. */
static void remove_stale_files(const struct files_state *st)
{
	DIR *d = opendir(st->set.dir);
	struct dirent *e;
	char path[PATH_MAX];
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name;
		size_t len = strlen(n);
		if (len != 11 || n[0] != 'f' || strcmp(n + 7, ".dat") != 0 ||
		    strspn(n + 1, "0123456789") != 6)
			continue;
		if (strtoul(n + 1, NULL, 10) >= st->set.count &&
		    dir_path(st->set.dir, n, path, sizeof(path)) == 0)
			unlink(path);
	}
	closedir(d);
}

static int generate(struct files_state *st, char *err, size_t errlen)
{
	char manifest[PATH_MAX];
	/* The old manifest goes first: until the new one is written, nothing here is trusted. */
	if (dir_path(st->set.dir, MANIFEST_NAME, manifest, sizeof(manifest)) != 0 ||
	    (unlink(manifest) != 0 && errno != ENOENT)) {
		snprintf(err, errlen, "files.dir %s: cannot replace the manifest: %s", st->set.dir,
		         strerror(errno));
		return -1;
	}
	if (check_free_space(st, err, errlen) != 0)
		return -1;
	uint8_t *buf = malloc(GENERATE_CHUNK);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = 0;
	for (size_t k = 0; k < st->set.count && rc == 0; k++)
		rc = generate_file(st, k, buf, err, errlen);
	free(buf);
	if (rc != 0)
		return -1;
	remove_stale_files(st);
	return write_manifest(st, err, errlen);
}

/* ---- the page cache --------------------------------------------------------------------- */

/* The share of the data set's pages in the page cache, by mincore over a
 * mapping of each file (which faults nothing in); NAN when no file could be
 * looked at. */
static double measure_resident(const struct files_set *set)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	enum { VEC = 16384 };
	unsigned char vec[VEC];
	char path[PATH_MAX];
	uint64_t pages = 0, resident = 0;
	bool any = false;

	for (size_t k = 0; k < set->count; k++) {
		struct stat sb;
		if (files_path(set, k, path, sizeof(path)) != 0)
			continue;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			close(fd);
			continue;
		}
		size_t len = (size_t)sb.st_size;
		any = true;
		if (len == 0) {
			close(fd);
			continue;
		}
		uint8_t *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		close(fd);
		if (m == MAP_FAILED)
			continue;
		for (size_t off = 0; off < len; off += (size_t)VEC * page) {
			size_t chunk =
			    len - off < (size_t)VEC * page ? len - off : (size_t)VEC * page;
			size_t n = (chunk + page - 1) / page;
			if (mincore(m + off, chunk, vec) != 0)
				break;
			pages += n;
			for (size_t i = 0; i < n; i++)
				resident += vec[i] & 1;
		}
		munmap(m, len);
	}
	if (!any)
		return NAN;
	return pages > 0 ? (double)resident / (double)pages : 0.0;
}

static void evict(const struct files_set *set)
{
	char path[PATH_MAX];
	for (size_t k = 0; k < set->count; k++) {
		if (files_path(set, k, path, sizeof(path)) != 0)
			continue;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* Dirty pages cannot be dropped: write them back first. */
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
}

/* Reads every file once, so that a warm run finds it in the page cache. */
static void warm_up(const struct files_set *set)
{
	char path[PATH_MAX];
	uint8_t *buf = malloc(GENERATE_CHUNK);
	if (buf == NULL)
		return;
	for (size_t k = 0; k < set->count; k++) {
		if (files_path(set, k, path, sizeof(path)) != 0)
			continue;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n;
		while ((n = read(fd, buf, GENERATE_CHUNK)) > 0 || (n < 0 && errno == EINTR))
			;
		close(fd);
	}
	free(buf);
}

static bool on_tmpfs(const char *dir)
{
	struct statfs sf;
	return statfs(dir, &sf) == 0 && (sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC);
}

/* ---- set-up ------------------------------------------------------------------------------- */

static int mkdir_parents(const char *dir)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* The default directory is made on demand; one the user names must exist. */
static int prepare_dir(const struct workload *w, const char *dir, char *err, size_t errlen)
{
	struct stat sb;
	if (dir[0] == '\0') {
		snprintf(err, errlen, "files.dir is empty");
		return -1;
	}
	if (!param_set_by_user(&w->params, "dir") && mkdir_parents(dir) != 0) {
		snprintf(err, errlen, "files.dir %s: cannot create it: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &sb) != 0) {
		int saved = errno;
		snprintf(err, errlen, "files.dir %s: %s%s", dir, strerror(saved),
		         saved == ENOENT ? " (a directory named with --param files.dir= must exist)"
		                         : "");
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "files.dir %s: %s", dir, strerror(ENOTDIR));
		return -1;
	}
	return 0;
}

/* The hashes into a memory file for fresh workers (files_setup_worker). */
static int publish_hashes(struct files_state *st, char *err, size_t errlen)
{
	size_t len = st->set.count * sizeof(*st->set.hash);
	st->hash_fd = memfd_create("concbench-files-hashes", MFD_CLOEXEC);
	if (st->hash_fd < 0 || pwrite(st->hash_fd, st->set.hash, len, 0) != (ssize_t)len) {
		snprintf(err, errlen, "memory file for the hashes: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void files_teardown(struct workload *w)
{
	struct files_state *st = w->state;
	if (st == NULL)
		return;
	if (st->hash_fd >= 0)
		close(st->hash_fd);
	free(st->set.hash);
	free(st->sha256);
	free(st);
	w->state = NULL;
}

/* A folder that exists but cannot hold files is knowable before measuring;
 * the space the data set needs is checked at set-up, with the files there. */
/* For the Python twin: each file's path, size, SHA-256 (of the generated
 * content, which the manifest's hash vouches the file holds) and hash. The
 * digests are made on the first interpreter's request and kept. */
static int files_python_inputs(const struct workload *w, FILE *out, char *err, size_t errlen)
{
	struct files_state *st = w->state;
	char path[PATH_MAX];
	if (st->sha256 == NULL) {
		st->sha256 = calloc(st->set.count, sizeof(*st->sha256));
		for (size_t k = 0; st->sha256 != NULL && k < st->set.count; k++)
			if (twin_content_sha256(files_file_seed(st->seed, k), st->set.size,
			                        st->sha256[k]) != 0) {
				free(st->sha256);
				st->sha256 = NULL;
			}
		if (st->sha256 == NULL) {
			snprintf(err, errlen, "no SHA-256 of the files' content");
			return -1;
		}
	}
	for (size_t k = 0; k < st->set.count; k++) {
		if (files_path(&st->set, k, path, sizeof(path)) != 0) {
			snprintf(err, errlen, "files.dir: %s", strerror(errno));
			return -1;
		}
		fprintf(out, "input file %zu %" PRIu64 " %s %" PRIx64 " %s\n", k, st->set.size,
		        st->sha256[k], st->set.hash[k], path);
	}
	return 0;
}

static int files_check(const struct workload *w, char *err, size_t errlen)
{
	const char *dir = param_get_text(&w->params, "dir");
	struct statvfs vfs;
	if (statvfs(dir, &vfs) != 0)
		return 0; /* a missing folder is set-up's to create or refuse */
	if ((vfs.f_flag & ST_RDONLY) != 0 || vfs.f_blocks == 0) {
		snprintf(err, errlen, "files.dir %s is on a %s", dir,
		         vfs.f_blocks == 0 ? "file system with no storage (like /proc or /sys)"
		                           : "read-only file system");
		return -1;
	}
	return 0;
}

/* The state both set-ups start from: the parameters read, the hashes'
 * array allocated (and zero); NULL with err when memory ran out. */
static struct files_state *files_state_of(struct workload *w, char *err, size_t errlen)
{
	struct files_state *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->state = st;
	st->hash_fd = -1;
	st->set.count = (size_t)param_get(&w->params, "count");
	st->set.size = (uint64_t)param_get(&w->params, "size");
	st->set.bs = (uint64_t)param_get(&w->params, "bs");
	st->seed = (uint64_t)param_get(&w->params, "seed");
	st->cold = param_get(&w->params, "cache") == 1;
	st->resident = NAN;
	snprintf(st->set.dir, sizeof(st->set.dir), "%s", param_get_text(&w->params, "dir"));
	st->set.hash = calloc(st->set.count, sizeof(*st->set.hash));
	if (st->set.hash == NULL) {
		snprintf(err, errlen, "out of memory");
		files_teardown(w);
		return NULL;
	}
	return st;
}

static int files_setup(struct workload *w, char *err, size_t errlen)
{
	struct files_state *st = files_state_of(w, err, errlen);
	if (st == NULL)
		return -1;
	st->async.want = (enum files_backend)param_get(&w->params, "backend");
	if (prepare_dir(w, st->set.dir, err, errlen) != 0)
		goto fail;
	if (st->cold && on_tmpfs(st->set.dir)) {
		snprintf(
		    err, errlen,
		    "files.dir %s is on tmpfs, whose pages cannot be evicted: files.cache=cold "
		    "needs a disk-backed directory: --param files.dir=DIR",
		    st->set.dir);
		goto fail;
	}
	if (!manifest_matches(st) && generate(st, err, errlen) != 0)
		goto fail;
	for (size_t k = 0; k < st->set.count; k++)
		st->expected_checksum =
		    checksum_combine(st->expected_checksum, file_checksum(k, st->set.hash[k]));
	if (!st->cold)
		warm_up(&st->set);
	if (publish_hashes(st, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	files_teardown(w);
	return -1;
}

static int files_shared_fds(const struct workload *w, int *fds, int max)
{
	const struct files_state *st = w->state;
	if (max < 1)
		return 0;
	fds[0] = st->hash_fd;
	return 1;
}

/* A fresh worker: the parameters and the parent's hashes, nothing on disk
 * touched, so that what happened to the files since shows in the tasks. */
static int files_setup_worker(struct workload *w, const int *fds, int n_fds, char *err,
                              size_t errlen)
{
	struct files_state *st = files_state_of(w, err, errlen);
	if (st == NULL)
		return -1;
	size_t len = st->set.count * sizeof(*st->set.hash);
	if (n_fds != 1 || pread(fds[0], st->set.hash, len, 0) != (ssize_t)len) {
		snprintf(err, errlen, "files: cannot read the parent's hashes");
		files_teardown(w);
		return -1;
	}
	return 0;
}

static void files_before_run(struct workload *w)
{
	struct files_state *st = w->state;
	st->submitted = false;
	if (st->cold) {
		evict(&st->set);
		st->resident = measure_resident(&st->set);
		if (st->resident > 0) { /* pages in flight may have been skipped: once more */
			evict(&st->set);
			st->resident = measure_resident(&st->set);
		}
		st->evicted = st->resident <= COLD_RESIDENT_MAX;
	} else {
		st->resident = measure_resident(&st->set);
		if (st->resident < 1.0) { /* memory pressure took some: read them in again */
			warm_up(&st->set);
			st->resident = measure_resident(&st->set);
		}
		st->evicted = false;
	}
}

/* ---- the reads ------------------------------------------------------------------------------- */

static struct task_result files_run_task(const struct workload *w, size_t i, struct task_ctx *ctx)
{
	const struct files_state *st = w->state;
	const struct files_set *set = &st->set;
	char path[PATH_MAX];
	struct content_hash h;
	uint64_t bytes = 0;
	uint8_t *buf = NULL;
	const char *op = NULL;
	int err = 0, fd = -1;

	content_hash_init(&h);
	if (files_path(set, i, path, sizeof(path)) != 0)
		return files_task_result(set, i, 0, NULL, "open", errno);
	if (posix_memalign((void **)&buf, 4096, (size_t)set->bs) != 0)
		return files_task_result(set, i, 0, NULL, "buffer", ENOMEM);
	task_io_begin(ctx);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	err = errno;
	task_io_end(ctx);
	if (fd < 0) {
		op = "open";
		goto out;
	}
	for (;;) {
		task_io_begin(ctx);
		ssize_t n = read(fd, buf, (size_t)set->bs);
		err = errno;
		task_io_end(ctx);
		if (n < 0 && err == EINTR)
			continue;
		if (n < 0) {
			op = "read";
			break;
		}
		if (n == 0)
			break;
		/* The bytes are handled with the lock held, as Python handles them. */
		content_hash_update(&h, buf, (size_t)n);
		bytes += (uint64_t)n;
	}
	close(fd);
out:
	free(buf);
	return files_task_result(set, i, bytes, &h, op, err);
}

static int files_submit(const struct workload *w, size_t i, struct loop *loop, task_done_fn done,
                        void *arg)
{
	struct files_state *st = w->state;
	st->submitted = true;
	return files_async_submit(&st->async, &st->set, i, loop, done, arg);
}

/* ---- answers and facts --------------------------------------------------------------------------
 */

static size_t files_task_count(const struct workload *w)
{
	const struct files_state *st = w->state;
	return st->set.count;
}

static bool files_expected_checksum(const struct workload *w, uint64_t *out)
{
	const struct files_state *st = w->state;
	*out = st->expected_checksum;
	return true;
}

static bool files_expected_items(const struct workload *w, uint64_t *out)
{
	const struct files_state *st = w->state;
	*out = st->set.count;
	return true;
}

static void fact_number(struct workload_fact *f, const char *name, double value)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->value = value;
}

static void fact_text(struct workload_fact *f, const char *name, const char *text)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->text, sizeof(f->text), "%s", text);
}

static int files_facts(const struct workload *w, struct workload_fact *out, int max)
{
	const struct files_state *st = w->state;
	struct workload_fact f[4];
	int n = 0;
	fact_number(&f[n++], "cache_resident_fraction", st->resident);
	fact_text(&f[n++], "cache", st->evicted ? "cold" : "warm");
	const char *backend = "read";
	if (st->submitted && st->async.used != NULL)
		backend = st->async.used;
	fact_text(&f[n++], "backend", backend);
	if (st->submitted && st->async.fallback[0] != '\0')
		fact_text(&f[n++], "backend_fallback", st->async.fallback);
	if (n > max)
		n = max;
	memcpy(out, f, (size_t)n * sizeof(*f));
	return n;
}

const struct workload_ops files_workload = {
    .name = "files",
    .kind = WORKLOAD_IO,
    .description = "read N generated files in B-byte blocks, hashing each, page cache warm or cold",
    .params = files_params,
    .check = files_check,
    .setup = files_setup,
    .teardown = files_teardown,
    .task_count = files_task_count,
    .before_run = files_before_run,
    .run_task = files_run_task,
    .submit = files_submit,
    .expected_checksum = files_expected_checksum,
    .expected_items = files_expected_items,
    .items_name = "files",
    .facts = files_facts,
    .setup_worker = files_setup_worker,
    .shared_fds = files_shared_fds,
    .host_local = true,
    .python_inputs = files_python_inputs,
};
