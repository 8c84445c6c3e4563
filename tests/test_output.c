/* The output path (issue 20): run writes its result only over a regular file
 * or a new name, leaves no temporary behind, and a save that fails mid-run
 * stops the run with one line, exit status 3 and the last whole file kept. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support.h"

#define EXIT_SAVE_FAILED 3 /* bench/run.h */

TestSuite(output, .init = make_tmpdir, .fini = remove_tmpdir, .timeout = 120);

/* Runs the binary with argv in a child whose file-size limit is fsize
 * (RLIM_INFINITY for none), stderr into errfile; returns the exit status. */
static int run_limited(char *const argv[], rlim_t fsize, const char *errfile)
{
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int null = open("/dev/null", O_WRONLY);
		if (fd < 0 || null < 0 || dup2(fd, STDERR_FILENO) < 0 ||
		    dup2(null, STDOUT_FILENO) < 0)
			_exit(99);
		/* with SIGXFSZ ignored, a write past the limit fails with EFBIG */
		signal(SIGXFSZ, SIG_IGN);
		struct rlimit rl = {.rlim_cur = fsize, .rlim_max = fsize};
		if (fsize != RLIM_INFINITY && setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(98);
		execv(CONCBENCH_BIN, argv);
		_exit(97);
	}
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

static int count_lines(const char *text)
{
	int n = 0;
	for (const char *p = text; *p; p++)
		n += *p == '\n';
	return n;
}

/* A one-repetition sleep run writing to out; the exit status, stderr in err. */
static int quick_run(const char *out, char *err, size_t errlen)
{
	char errfile[PATH_MAX];
	snprintf(errfile, sizeof(errfile), "%s.stderr", tmpdir);
	char *argv[] = {CONCBENCH_BIN, "run", "-w",      "sleep",   "-s", "serial",    "-n", "1",
	                "-r",          "1",   "--quick", "--quiet", "-o", (char *)out, NULL};
	int rc = run_limited(argv, RLIM_INFINITY, errfile);
	read_text(errfile, err, errlen);
	unlink(errfile);
	return rc;
}

static void assert_refused(const char *path, const char *kind, mode_t type)
{
	char err[4096];
	int rc = quick_run(path, err, sizeof(err));
	cr_assert_eq(rc, 2, "-o %s exited %d: %s", path, rc, err);
	cr_assert_not_null(strstr(err, kind), "-o %s said: %s", path, err);
	cr_assert_eq(count_lines(err), 1, "-o %s said more than one line: %s", path, err);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & S_IFMT, type, "%s was replaced", path);
}

static void path_in_dir(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

Test(output, a_device_node_is_refused_and_stays_a_device)
{
	char path[PATH_MAX];
	path_in_dir(path, sizeof(path), "null");
	if (mknod(path, S_IFCHR | 0666, makedev(1, 3)) != 0)
		cr_skip_test("cannot make a device node here (not root?)");
	assert_refused(path, "character device", S_IFCHR);
}

Test(output, a_fifo_a_socket_a_directory_and_a_symlink_to_a_device_are_refused)
{
	char fifo[PATH_MAX], sock[PATH_MAX], sub[PATH_MAX], link[PATH_MAX];
	path_in_dir(fifo, sizeof(fifo), "fifo");
	cr_assert_eq(mkfifo(fifo, 0644), 0);
	assert_refused(fifo, "FIFO", S_IFIFO);

	path_in_dir(sock, sizeof(sock), "sock");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	cr_assert(strlen(sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_refused(sock, "socket", S_IFSOCK);
	close(fd);

	path_in_dir(sub, sizeof(sub), "sub");
	cr_assert_eq(mkdir(sub, 0755), 0);
	assert_refused(sub, "directory", S_IFDIR);

	path_in_dir(link, sizeof(link), "to-null");
	cr_assert_eq(symlink("/dev/null", link), 0);
	assert_refused(link, "character device", S_IFCHR);
	struct stat st;
	cr_assert_eq(lstat(link, &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "the symlink was replaced");
}

/* Names in tmpdir starting with prefix. */
static int count_entries(const char *prefix)
{
	DIR *d = opendir(tmpdir);
	cr_assert_not_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

Test(output, a_regular_file_is_replaced_and_no_temporary_is_left)
{
	char path[PATH_MAX], err[4096];
	path_in_dir(path, sizeof(path), "old.json");
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("{\"old\": true}\n", f);
	fclose(f);
	int rc = quick_run(path, err, sizeof(err));
	cr_assert_eq(rc, 0, "run exited %d: %s", rc, err);
	json_error_t e;
	json_t *doc = json_load_file(path, 0, &e);
	cr_assert_not_null(doc, "%s", e.text);
	cr_assert_null(json_object_get(doc, "old"));
	json_decref(doc);
	cr_assert_eq(count_entries(".concbench"), 0, "a temporary was left in %s", tmpdir);
}

/* Every cell of the file at path holds the same number of samples (whole
 * repetitions only), fewer than reps; returns that number. */
static size_t assert_whole_repetitions(const char *path, size_t reps)
{
	json_error_t e;
	json_t *doc = json_load_file(path, 0, &e);
	cr_assert_not_null(doc, "the file left is not whole: %s", e.text);
	json_t *results = json_object_get(doc, "results");
	cr_assert(json_array_size(results) > 0);
	size_t first = json_array_size(json_object_get(json_array_get(results, 0), "samples"));
	for (size_t i = 0; i < json_array_size(results); i++)
		cr_assert_eq(
		    json_array_size(json_object_get(json_array_get(results, i), "samples")), first,
		    "cell %zu holds a part of a repetition", i);
	cr_assert(first > 0 && first < reps, "%zu samples of %zu", first, reps);
	json_decref(doc);
	return first;
}

/* Many cheap repetitions of nine cells, a save after each, into out under
 * fsize: the file outgrows a megabyte within a few hundred repetitions. */
static int long_sleep_run(const char *out, rlim_t fsize, char *err, size_t errlen)
{
	char errfile[PATH_MAX];
	snprintf(errfile, sizeof(errfile), "%s.stderr", tmpdir);
	char *argv[] = {CONCBENCH_BIN, "run",
	                "-w",          "sleep",
	                "-s",          "serial,threads",
	                "-n",          "1,2,3,4,5,6,7,8",
	                "-r",          "1500",
	                "--warmup",    "0",
	                "-p",          "sleep.ms=0",
	                "-p",          "sleep.tasks=1",
	                "--quiet",     "-o",
	                (char *)out,   NULL};
	int rc = run_limited(argv, fsize, errfile);
	read_text(errfile, err, errlen);
	unlink(errfile);
	return rc;
}

static void assert_one_save_failure(const char *err, const char *cause)
{
	cr_assert_not_null(strstr(err, cause), "the message does not name %s: %s", cause, err);
	const char *first = strstr(err, "cannot write");
	cr_assert_not_null(first, "%s", err);
	cr_assert_null(strstr(first + 1, "cannot write"), "the failure was said twice: %s", err);
}

Test(output, a_disk_that_fills_mid_run_stops_it_with_status_3, .timeout = 180)
{
	char small[PATH_MAX], path[PATH_MAX + 16], err[65536];
	path_in_dir(small, sizeof(small), "small");
	cr_assert_eq(mkdir(small, 0755), 0);
	if (mount("tmpfs", small, "tmpfs", 0, "size=1200k") != 0)
		cr_skip_test("cannot mount a tmpfs here (not root?)");
	snprintf(path, sizeof(path), "%s/big.json", small);
	int rc = long_sleep_run(path, RLIM_INFINITY, err, sizeof(err));
	assert_whole_repetitions(path, 1500);
	umount2(small, MNT_DETACH);
	cr_assert_eq(rc, EXIT_SAVE_FAILED, "exited %d: %s", rc, err);
	assert_one_save_failure(err, "No space left on device");
}

Test(output, a_file_size_limit_mid_run_stops_it_with_status_3, .timeout = 180)
{
	char path[PATH_MAX], err[65536];
	path_in_dir(path, sizeof(path), "big.json");
	/* above the 1 MiB room run checks for before measuring */
	int rc = long_sleep_run(path, 1100 * 1024, err, sizeof(err));
	cr_assert_eq(rc, EXIT_SAVE_FAILED, "exited %d: %s", rc, err);
	assert_one_save_failure(err, "File too large");
	assert_whole_repetitions(path, 1500);
	cr_assert_eq(count_entries(".concbench"), 0, "a temporary was left in %s", tmpdir);
}
