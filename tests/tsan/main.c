/* The runner for the threaded tests under ThreadSanitizer (see criterion.h
 * beside it): every registered test in a child process with a deadline,
 * "N passed, N failed" at the end, exit status 1 when any failed or TSan
 * reported a race (TSAN_OPTIONS exitcode makes the child fail). */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_TESTS      256
#define TEST_TIMEOUT_S 300
#define SKIPPED_STATUS 77

struct shim_test {
	const char *suite, *name;
	void (*fn)(void);
};

static struct shim_test tests[MAX_TESTS];
static int n_tests;

void shim_register(const char *suite, const char *name, void (*fn)(void))
{
	if (n_tests < MAX_TESTS)
		tests[n_tests++] = (struct shim_test){suite, name, fn};
}

void shim_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	fprintf(stderr, "%s:%d: assertion failed: %s", file, line, expr);
	if (fmt[1] != '\0') { /* fmt is " " followed by the test's message */
		va_list ap;
		va_start(ap, fmt);
		fputc(':', stderr);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	}
	fputc('\n', stderr);
	_exit(1);
}

void shim_skip(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("skipped: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(SKIPPED_STATUS);
}

static int run_one(const struct shim_test *t)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		alarm(TEST_TIMEOUT_S);
		t->fn();
		exit(0); /* exit, not _exit: TSan reports at exit */
	}
	int status;
	while (waitpid(pid, &status, 0) < 0)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == SKIPPED_STATUS)
		return 1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL; /* a suite name */
	int passed = 0, failed = 0, skipped = 0;
	for (int i = 0; i < n_tests; i++) {
		if (only != NULL && strcmp(tests[i].suite, only) != 0)
			continue;
		int rc = run_one(&tests[i]);
		printf("[%s] %s::%s\n",
		       rc == 0  ? "PASS"
		       : rc > 0 ? "SKIP"
		                : "FAIL",
		       tests[i].suite, tests[i].name);
		fflush(stdout);
		passed += rc == 0;
		skipped += rc > 0;
		failed += rc < 0;
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed > 0 ? 1 : 0;
}
