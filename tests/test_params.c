/* Tests for workloads/params.c and the two registries (workloads/registry.c,
 * runners/registry.c). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "lib/params.h"
#include "runners/runner.h"
#include "workloads/workload.h"

/* Test-only definitions, so that the expected values do not depend on a real
 * workload's defaults. */
static const struct param_def defs[] = {
    PARAM_INT_DEF("size", 1000, 10, 1, INT64_C(1) << 40, "bytes"),
    PARAM_INT_DEF("count", 64, 8, 1, 100, "how many"),
    PARAM_INT_DEF("delay", 0, 0, -5, 5, "may be negative"),
    PARAM_END,
};

Test(params, count)
{
	cr_assert_eq(params_count(defs), 3);
	cr_assert_eq(params_count(NULL), 0);
}

Test(params, init_default_values)
{
	struct param_values pv;

	memset(&pv, 0xff, sizeof(pv));
	params_init(&pv, defs, 0);
	cr_assert_eq(pv.defs, defs);
	cr_assert_eq(param_get(&pv, "size"), 1000);
	cr_assert_eq(param_get(&pv, "count"), 64);
	cr_assert_eq(param_get(&pv, "delay"), 0);
	cr_assert_eq(pv.set_by_user, 0);
}

Test(params, init_quick_values)
{
	struct param_values pv;

	params_init(&pv, defs, 1);
	cr_assert_eq(param_get(&pv, "size"), 10);
	cr_assert_eq(param_get(&pv, "count"), 8);
	cr_assert_eq(pv.set_by_user, 0);
}

Test(params, find)
{
	int i = -1;

	cr_assert_eq(params_find(defs, "count", &i), &defs[1]);
	cr_assert_eq(i, 1);
	cr_assert_eq(params_find(defs, "size", NULL), &defs[0]);
	cr_assert_null(params_find(defs, "nope", &i));
	cr_assert_null(params_find(defs, "", NULL));
}

/* Sets key to text, expects success and the value. */
static void set_ok(struct param_values *pv, const char *key, const char *text, int64_t want)
{
	char err[256] = "";

	cr_assert_eq(params_set(pv, key, text, err, sizeof(err)), 0, "%s=%s: %s", key, text, err);
	cr_assert_eq(param_get(pv, key), want, "%s=%s gave %lld, want %lld", key, text,
	             (long long)param_get(pv, key), (long long)want);
}

/* Sets key to text, expects failure with a reason that names `needle`, and
 * the old value untouched. */
static void set_fails(struct param_values *pv, const char *key, const char *text,
                      const char *needle)
{
	char err[256] = "";
	int64_t before = param_get(pv, key);
	unsigned bits = pv->set_by_user;

	cr_assert_eq(params_set(pv, key, text, err, sizeof(err)), -1, "%s=%s was accepted", key,
	             text);
	cr_assert_str_not_empty(err);
	cr_assert_not_null(strstr(err, needle), "error '%s' does not mention '%s'", err, needle);
	cr_assert_eq(param_get(pv, key), before, "a rejected value changed %s", key);
	cr_assert_eq(pv->set_by_user, bits, "a rejected value marked %s as set", key);
}

Test(params, set_plain)
{
	struct param_values pv;

	params_init(&pv, defs, 0);
	set_ok(&pv, "size", "12345", 12345);
	set_ok(&pv, "delay", "-5", -5);
	set_ok(&pv, "delay", "5", 5);
	set_ok(&pv, "count", "1", 1);
	set_ok(&pv, "count", "100", 100);
}

Test(params, set_binary_suffixes)
{
	struct param_values pv;

	params_init(&pv, defs, 0);
	set_ok(&pv, "size", "4k", 4096);
	set_ok(&pv, "size", "4K", 4096);
	set_ok(&pv, "size", "2M", 2 * 1024 * 1024);
	set_ok(&pv, "size", "2m", 2 * 1024 * 1024);
	set_ok(&pv, "size", "3G", INT64_C(3) * 1024 * 1024 * 1024);
}

Test(params, set_rejects_out_of_range)
{
	struct param_values pv;

	params_init(&pv, defs, 0);
	set_fails(&pv, "count", "0", "count");
	set_fails(&pv, "count", "101", "101");
	set_fails(&pv, "delay", "-6", "[-5, 5]");
	set_fails(&pv, "count", "1k", "count");  /* 1024 > 100 */
	set_fails(&pv, "size", "2048G", "size"); /* 2^41 > 2^40 */
}

Test(params, set_rejects_junk)
{
	struct param_values pv;

	params_init(&pv, defs, 0);
	set_fails(&pv, "count", "12abc", "12abc");
	set_fails(&pv, "count", "4kk", "4kk");
	set_fails(&pv, "count", "abc", "abc");
	set_fails(&pv, "count", "", "count");
	set_fails(&pv, "count", "k", "count");
	set_fails(&pv, "count", "1.5", "1.5");
	set_fails(&pv, "count", "4 ", "count");
}

Test(params, set_rejects_overflow)
{
	struct param_values pv;

	params_init(&pv, defs, 0);
	set_fails(&pv, "size", "99999999999999999999", "99999999999999999999");
	set_fails(&pv, "size", "-99999999999999999999", "size");
	/* Fits in int64 unscaled, overflows once scaled. */
	set_fails(&pv, "size", "9223372036854775807k", "size");
	set_fails(&pv, "size", "9000000000000G", "size");
}

Test(params, set_unknown_key)
{
	struct param_values pv;
	char err[256] = "";

	params_init(&pv, defs, 0);
	cr_assert_eq(params_set(&pv, "nokey", "1", err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "nokey"), "%s", err);
	cr_assert_eq(pv.set_by_user, 0);
}

Test(params, set_by_user_bits)
{
	struct param_values pv;

	params_init(&pv, defs, 0);
	set_ok(&pv, "count", "7", 7);
	cr_assert_eq(pv.set_by_user, 1u << 1);
	set_ok(&pv, "delay", "1", 1);
	cr_assert_eq(pv.set_by_user, (1u << 1) | (1u << 2));
	cr_assert_eq(param_get(&pv, "size"), 1000, "an unset key keeps its default");
	params_init(&pv, defs, 0);
	cr_assert_eq(pv.set_by_user, 0, "init clears the bits");
	cr_assert_eq(param_get(&pv, "count"), 64);
}

Test(params, undeclared_key_aborts, .signal = SIGABRT, .init = cr_redirect_stderr)
{
	struct param_values pv;

	params_init(&pv, defs, 0);
	param_get(&pv, "undeclared");
}

Test(params, primes_defaults_lie_in_range)
{
	const struct workload_ops *primes = workload_find("primes");
	struct param_values d, q;

	cr_assert_not_null(primes);
	params_init(&d, primes->params, 0);
	params_init(&q, primes->params, 1);
	cr_assert_gt(param_get(&d, "limit"), param_get(&q, "limit"), "--quick shrinks the run");
	for (size_t i = 0; i < params_count(primes->params); i++) {
		const struct param_def *p = &primes->params[i];

		cr_assert_geq(p->def, p->min, "%s", p->key);
		cr_assert_leq(p->def, p->max, "%s", p->key);
		cr_assert_geq(p->quick, p->min, "%s", p->key);
		cr_assert_leq(p->quick, p->max, "%s", p->key);
	}
}

/* The workload registry. */

Test(params, workload_find)
{
	const struct workload_ops *w = workload_find("primes");

	cr_assert_not_null(w);
	cr_assert_str_eq(w->name, "primes");
	cr_assert_eq(w->kind, WORKLOAD_CPU);
	cr_assert_null(workload_find("nope"));
	cr_assert_null(workload_find(""));
	cr_assert_null(workload_find("prime"), "no prefix matching");
	cr_assert_null(workload_find("PRIMES"), "names are case-sensitive");
}

Test(params, workload_table_is_complete)
{
	size_t n = 0;

	for (const struct workload_ops *const *p = workload_table(); *p; p++, n++) {
		const struct workload_ops *w = *p;

		cr_assert_not_null(w->name);
		cr_assert_str_not_empty(w->name);
		cr_assert_not_null(w->description, "%s", w->name);
		cr_assert_str_not_empty(w->description, "%s", w->name);
		cr_assert_not_null(w->params, "%s", w->name);
		cr_assert_leq(params_count(w->params), PARAM_MAX, "%s", w->name);
		cr_assert_not_null(w->setup, "%s", w->name);
		cr_assert_not_null(w->teardown, "%s", w->name);
		cr_assert_not_null(w->task_count, "%s", w->name);
		cr_assert_not_null(w->run_task, "%s", w->name);
		cr_assert(w->submit != NULL || w->kind == WORKLOAD_CPU,
		          "%s: an io or mixed workload needs submit", w->name);
		cr_assert_eq(workload_find(w->name), w, "%s", w->name);
		cr_assert_str_neq(workload_kind_name(w->kind), "unknown", "%s", w->name);
		for (const struct workload_ops *const *q = p + 1; *q; q++)
			cr_assert_str_neq(w->name, (*q)->name, "workload name %s twice", w->name);
	}
	cr_assert_geq(n, 1);
}

Test(params, workload_kind_names)
{
	cr_assert_str_eq(workload_kind_name(WORKLOAD_CPU), "cpu");
	cr_assert_str_eq(workload_kind_name(WORKLOAD_IO), "io");
	cr_assert_str_eq(workload_kind_name(WORKLOAD_MIXED), "mixed");
}

/* The runner registry. */

Test(params, runner_find)
{
	static const char *const names[] = {"serial", "gil", "threads", "processes", "epoll"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct runner_ops *r = runner_find(names[i]);

		cr_assert_not_null(r, "%s is not registered", names[i]);
		cr_assert_str_eq(r->name, names[i]);
	}

	cr_assert_null(runner_find("nope"));
	cr_assert_null(runner_find(""));
}

Test(params, runner_table_is_complete)
{
	size_t n = 0;

	for (const struct runner_ops *const *p = runner_table(); *p; p++, n++) {
		const struct runner_ops *r = *p;

		cr_assert_not_null(r->name);
		cr_assert_str_not_empty(r->name);
		cr_assert_not_null(r->description, "%s", r->name);
		cr_assert_str_not_empty(r->description, "%s", r->name);
		cr_assert_not_null(r->python_analogue, "%s", r->name);
		cr_assert_str_not_empty(r->python_analogue, "%s", r->name);
		cr_assert_not_null(r->run, "%s", r->name);
		cr_assert(!r->single_worker || r->single_thread,
		          "%s: one worker implies one thread", r->name);
		cr_assert_eq(runner_find(r->name), r, "%s", r->name);
		for (const struct runner_ops *const *q = p + 1; *q; q++)
			cr_assert_str_neq(r->name, (*q)->name, "runner name %s twice", r->name);
	}
	cr_assert_geq(n, 4);
}

Test(params, runner_flags)
{
	cr_assert(runner_find("serial")->single_worker);
	cr_assert(runner_find("serial")->single_thread);
	cr_assert(runner_find("epoll")->single_thread);
	cr_assert_not(runner_find("epoll")->single_worker,
	              "the loop's workers are tasks in flight");
	cr_assert_not(runner_find("threads")->single_thread);
	cr_assert_not(runner_find("processes")->single_thread);
}
