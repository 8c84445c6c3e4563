/* A small stand-in for Criterion's assertions and test registration, so that
 * the threaded tests (the GIL's behaviours, the runners, the event loop) can be
 * built with ThreadSanitizer: Criterion itself cannot start under TSan (its
 * inheritable arena fails to map). Only what those tests use is here; each
 * test runs in a child process, as under Criterion. */
#ifndef CONCBENCH_TSAN_CRITERION_SHIM_H
#define CONCBENCH_TSAN_CRITERION_SHIM_H

#include <stdio.h>
#include <string.h>

void shim_register(const char *suite, const char *name, void (*fn)(void));
void shim_fail(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 4, 5)));
void shim_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Test(suite, name, .timeout = ...): the options are Criterion's; the runner
 * applies one timeout to every test. */
#define Test(suite, name, ...)                                                                     \
	static void shim_test_##suite##_##name(void);                                              \
	__attribute__((constructor)) static void shim_register_##suite##_##name(void)              \
	{                                                                                          \
		shim_register(#suite, #name, shim_test_##suite##_##name);                          \
	}                                                                                          \
	static void shim_test_##suite##_##name(void)

/* The message, when given, is a string literal and its arguments. */
#define cr_assert(cond, ...)                                                                       \
	do {                                                                                       \
		if (!(cond))                                                                       \
			shim_fail(__FILE__, __LINE__, #cond, " " __VA_ARGS__);                     \
	} while (0)
#define cr_assert_not(cond, ...)    cr_assert(!(cond), __VA_ARGS__)
#define cr_assert_eq(a, b, ...)     cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_neq(a, b, ...)    cr_assert((a) != (b), __VA_ARGS__)
#define cr_assert_lt(a, b, ...)     cr_assert((a) < (b), __VA_ARGS__)
#define cr_assert_leq(a, b, ...)    cr_assert((a) <= (b), __VA_ARGS__)
#define cr_assert_gt(a, b, ...)     cr_assert((a) > (b), __VA_ARGS__)
#define cr_assert_geq(a, b, ...)    cr_assert((a) >= (b), __VA_ARGS__)
#define cr_assert_null(p, ...)      cr_assert((p) == NULL, __VA_ARGS__)
#define cr_assert_not_null(p, ...)  cr_assert((p) != NULL, __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) cr_assert(strcmp((a), (b)) == 0, __VA_ARGS__)
#define cr_assert_str_empty(a, ...) cr_assert((a)[0] == '\0', __VA_ARGS__)
#define cr_assert_fail(...)         shim_fail(__FILE__, __LINE__, "failed", " " __VA_ARGS__)
#define cr_log_info(...)            (fprintf(stderr, "[info] " __VA_ARGS__), fputc('\n', stderr))
#define cr_log_warn(...)            (fprintf(stderr, "[warn] " __VA_ARGS__), fputc('\n', stderr))
#define cr_skip_test(...)           shim_skip(" " __VA_ARGS__)

#endif
