/* What the test files share: running the binary under test through the shell
 * and capturing what it printed, reading a file back, and the strategies as
 * the registry has them (so a strategy is tested the day it is registered). */
#ifndef CONCBENCH_TESTS_SUPPORT_H
#define CONCBENCH_TESTS_SUPPORT_H

#include <jansson.h>
#include <stddef.h>

#ifndef CONCBENCH_BIN
#error "the Makefile passes CONCBENCH_BIN"
#endif

struct output {
	int status;      /* the exit status; -1 when it ended by a signal */
	char *out, *err; /* what it wrote on stdout and stderr, malloc'd, never NULL */
};

/* Runs a shell command line (printf format) and captures stdout and stderr. */
struct output sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void output_free(struct output *o);

/* `CONCBENCH_BIN ARGS` (under `timeout timeout_s` unless 0); its exit status,
 * and the start of its stderr in err when err is not NULL. */
int run_concbench_for(int timeout_s, const char *args, char *err, size_t errlen);

/* A whole file as a NUL-terminated string (malloc'd; "" when unreadable). */
char *slurp(const char *path);

/* The registered strategies' names, NULL-terminated, in registry order. */
const char *const *strategy_names(void);
size_t strategy_count(void);

#endif
