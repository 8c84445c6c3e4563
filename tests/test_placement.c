/* Placement plans against synthetic topologies: binding to a synthetic
 * topology is a no-op, so these check the plan, never the binding. */
#include <criterion/criterion.h>

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/placement.h"

#include "tests/support.h"

#define TWO_PACKAGES "pack:2 core:4 pu:2"
/* core L#0 holds P#0 and P#4, core L#1 holds P#1 and P#5, ... */
#define INTERLEAVED "pack:1 core:4 pu:2(indexes=0,4,1,5,2,6,3,7)"

static hwloc_topology_t open_synthetic(const char *desc)
{
	hwloc_topology_t topology;
	char err[256] = "";

	cr_assert_eq(topology_open(&topology, desc, err, sizeof(err)), 0, "%s: %s", desc, err);
	return topology;
}

static struct placement_plan make_plan(hwloc_topology_t topology, enum pin_policy policy,
                                       int workers)
{
	struct placement_plan plan;
	char err[256] = "";

	cr_assert_eq(placement_plan_make(topology, policy, workers, &plan, err, sizeof(err)), 0,
	             "%s", err);
	cr_assert_eq(plan.workers, workers);
	cr_assert_eq(plan.policy, policy);
	return plan;
}

static hwloc_obj_t pu_obj(hwloc_topology_t topology, int os_index)
{
	hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(topology, (unsigned)os_index);

	cr_assert_not_null(pu, "PU %d is not in the topology", os_index);
	return pu;
}

/* The PU's object of this type; a PU stands for its core where there is no core level. */
static hwloc_obj_t enclosing(hwloc_topology_t topology, int os_index, hwloc_obj_type_t type)
{
	hwloc_obj_t pu = pu_obj(topology, os_index);
	hwloc_obj_t obj;

	if (type == HWLOC_OBJ_CORE && hwloc_get_type_depth(topology, HWLOC_OBJ_CORE) < 0)
		return pu;
	obj = hwloc_get_ancestor_obj_by_type(topology, type, pu);

	cr_assert_not_null(obj, "PU %d has no %s", os_index, hwloc_obj_type_string(type));
	return obj;
}

/* No two of the first n workers share an object of this type. */
static void assert_distinct(hwloc_topology_t topology, const struct placement_plan *plan, int n,
                            hwloc_obj_type_t type)
{
	for (int i = 0; i < n; i++) {
		hwloc_obj_t a = enclosing(topology, plan->cpus[i], type);

		for (int j = i + 1; j < n; j++)
			cr_assert_neq(a, enclosing(topology, plan->cpus[j], type),
			              "workers %d and %d share %s %u (PUs %d and %d)", i, j,
			              hwloc_obj_type_string(type), a->logical_index, plan->cpus[i],
			              plan->cpus[j]);
	}
}

static void assert_distinct_pus(const struct placement_plan *plan)
{
	for (int i = 0; i < plan->workers; i++) {
		cr_assert_geq(plan->cpus[i], 0, "worker %d is unpinned", i);
		for (int j = i + 1; j < plan->workers; j++)
			cr_assert_neq(plan->cpus[i], plan->cpus[j], "workers %d and %d share PU %d",
			              i, j, plan->cpus[i]);
	}
}

TestSuite(placement);

Test(placement, counts_cores_and_pus)
{
	hwloc_topology_t topology = open_synthetic(TWO_PACKAGES);

	cr_expect_eq(topology_cores(topology), 8);
	cr_expect_eq(topology_pus(topology), 16);
	cr_expect(topology_has_smt(topology));
	hwloc_topology_destroy(topology);
}

Test(placement, no_smt_without_siblings)
{
	hwloc_topology_t topology = open_synthetic("pack:2 core:2 pu:1");

	cr_expect_not(topology_has_smt(topology));
	hwloc_topology_destroy(topology);
}

Test(placement, counts_pus_as_cores_without_a_core_level)
{
	hwloc_topology_t topology = open_synthetic("pack:2 pu:3");
	struct placement_plan plan;

	cr_expect_eq(topology_cores(topology), 6);
	plan = make_plan(topology, PIN_CORE, 6);
	cr_expect_not(plan.wrapped);
	assert_distinct_pus(&plan);
	placement_plan_free(&plan);
	hwloc_topology_destroy(topology);
}

Test(placement, core_two_workers_land_on_different_packages)
{
	hwloc_topology_t topology = open_synthetic(TWO_PACKAGES);
	struct placement_plan plan = make_plan(topology, PIN_CORE, 2);

	cr_expect_eq(plan.targets, 8);
	cr_expect_not(plan.wrapped);
	assert_distinct(topology, &plan, 2, HWLOC_OBJ_PACKAGE);
	placement_plan_free(&plan);
	hwloc_topology_destroy(topology);
}

Test(placement, core_one_worker_per_core)
{
	hwloc_topology_t topology = open_synthetic(TWO_PACKAGES);
	struct placement_plan plan = make_plan(topology, PIN_CORE, 8);

	cr_expect_not(plan.wrapped);
	assert_distinct(topology, &plan, 8, HWLOC_OBJ_CORE);
	placement_plan_free(&plan);
	hwloc_topology_destroy(topology);
}

Test(placement, core_more_workers_than_cores_wrap)
{
	hwloc_topology_t topology = open_synthetic(TWO_PACKAGES);
	struct placement_plan plan = make_plan(topology, PIN_CORE, 9);

	cr_expect(plan.wrapped);
	cr_expect_eq(plan.targets, 8);
	assert_distinct(topology, &plan, 8, HWLOC_OBJ_CORE);
	cr_expect_eq(plan.cpus[8], plan.cpus[0]);
	placement_plan_free(&plan);
	hwloc_topology_destroy(topology);
}

Test(placement, core_uses_one_pu_per_core_with_interleaved_indexes)
{
	hwloc_topology_t topology = open_synthetic(INTERLEAVED);
	struct placement_plan plan = make_plan(topology, PIN_CORE, 4);
	bool seen[8] = {false};

	cr_expect(topology_has_smt(topology));
	cr_assert_not_null(enclosing(topology, 4, HWLOC_OBJ_CORE));
	cr_assert_eq(enclosing(topology, 0, HWLOC_OBJ_CORE), enclosing(topology, 4, HWLOC_OBJ_CORE),
	             "the synthetic description did not interleave the indexes");
	assert_distinct(topology, &plan, 4, HWLOC_OBJ_CORE);
	for (int i = 0; i < 4; i++) {
		cr_assert(plan.cpus[i] >= 0 && plan.cpus[i] < 8, "PU %d", plan.cpus[i]);
		seen[plan.cpus[i]] = true;
	}
	for (int pu = 0; pu < 4; pu++)
		cr_expect(seen[pu], "PU %d (first of core %d) is unused", pu, pu);
	cr_expect_not(seen[0] && seen[4], "PU 0 and its sibling PU 4 are both used");
	placement_plan_free(&plan);
	hwloc_topology_destroy(topology);
}

/* hwloc_distrib weighs subtrees by PU count: a core that kept both SMT
 * siblings would get two workers and, once singlified, one PU for both. */
Test(placement, core_spreads_over_cores_of_uneven_width)
{
	hwloc_topology_t topology = open_synthetic("pack:1 core:3 pu:2");
	hwloc_bitmap_t keep = hwloc_bitmap_alloc();
	struct placement_plan plan;

	/* cores {0,1}, {2}, {4}: as if a cgroup withheld two siblings */
	hwloc_bitmap_set(keep, 0);
	hwloc_bitmap_set(keep, 1);
	hwloc_bitmap_set(keep, 2);
	hwloc_bitmap_set(keep, 4);
	cr_assert_eq(hwloc_topology_restrict(topology, keep, 0), 0);
	hwloc_bitmap_free(keep);
	cr_assert_eq(topology_cores(topology), 3);

	plan = make_plan(topology, PIN_CORE, 3);
	cr_expect_not(plan.wrapped);
	assert_distinct_pus(&plan);
	assert_distinct(topology, &plan, 3, HWLOC_OBJ_CORE);
	placement_plan_free(&plan);

	plan = make_plan(topology, PIN_PU, 3);
	assert_distinct(topology, &plan, 3, HWLOC_OBJ_CORE);
	placement_plan_free(&plan);
	hwloc_topology_destroy(topology);
}

Test(placement, pu_uses_every_pu)
{
	hwloc_topology_t topology = open_synthetic(TWO_PACKAGES);
	struct placement_plan plan = make_plan(topology, PIN_PU, 16);

	cr_expect_eq(plan.targets, 16);
	cr_expect_not(plan.wrapped);
	assert_distinct_pus(&plan);
	placement_plan_free(&plan);
	hwloc_topology_destroy(topology);
}

Test(placement, pu_two_workers_land_on_different_packages)
{
	hwloc_topology_t topology = open_synthetic(TWO_PACKAGES);
	struct placement_plan plan = make_plan(topology, PIN_PU, 2);

	assert_distinct(topology, &plan, 2, HWLOC_OBJ_PACKAGE);
	placement_plan_free(&plan);
	hwloc_topology_destroy(topology);
}

Test(placement, pu_fills_cores_before_siblings)
{
	hwloc_topology_t topology = open_synthetic(INTERLEAVED);
	struct placement_plan plan = make_plan(topology, PIN_PU, 4);

	assert_distinct(topology, &plan, 4, HWLOC_OBJ_CORE);
	placement_plan_free(&plan);
	hwloc_topology_destroy(topology);
}

Test(placement, pu_more_workers_than_pus_wrap)
{
	hwloc_topology_t topology = open_synthetic(TWO_PACKAGES);
	struct placement_plan plan = make_plan(topology, PIN_PU, 17);

	cr_expect(plan.wrapped);
	cr_expect_eq(plan.cpus[16], plan.cpus[0]);
	placement_plan_free(&plan);
	hwloc_topology_destroy(topology);
}

Test(placement, single_puts_everyone_on_the_first_pu)
{
	hwloc_topology_t topology = open_synthetic(INTERLEAVED);
	struct placement_plan plan = make_plan(topology, PIN_SINGLE, 5);

	cr_expect_eq(plan.targets, 1);
	for (int i = 0; i < plan.workers; i++)
		cr_expect_eq(plan.cpus[i], 0, "worker %d on PU %d", i, plan.cpus[i]);
	placement_plan_free(&plan);
	hwloc_topology_destroy(topology);
}

Test(placement, none_leaves_every_worker_unpinned)
{
	hwloc_topology_t topology = open_synthetic(TWO_PACKAGES);
	struct placement_plan plan = make_plan(topology, PIN_NONE, 20);

	cr_expect_eq(plan.targets, 16);
	cr_expect_not(plan.wrapped);
	for (int i = 0; i < plan.workers; i++)
		cr_expect_eq(plan.cpus[i], -1, "worker %d on PU %d", i, plan.cpus[i]);
	placement_plan_free(&plan);
	hwloc_topology_destroy(topology);
}

Test(placement, rejects_fewer_than_one_worker)
{
	hwloc_topology_t topology = open_synthetic(TWO_PACKAGES);
	struct placement_plan plan = {.cpus = NULL};
	char err[256] = "";

	cr_expect_eq(placement_plan_make(topology, PIN_CORE, 0, &plan, err, sizeof(err)), -1);
	cr_expect_neq(err[0], '\0', "no reason given");
	cr_expect_eq(placement_plan_make(topology, PIN_PU, -3, &plan, err, sizeof(err)), -1);
	cr_expect_null(plan.cpus);
	hwloc_topology_destroy(topology);
}

Test(placement, parses_policy_names)
{
	static const char *const names[] = {"core", "pu", "single", "none"};
	static const enum pin_policy policies[] = {PIN_CORE, PIN_PU, PIN_SINGLE, PIN_NONE};
	enum pin_policy p;

	for (size_t i = 0; i < 4; i++) {
		p = (enum pin_policy) - 1;
		cr_expect_eq(pin_policy_parse(names[i], &p), 0, "%s", names[i]);
		cr_expect_eq(p, policies[i], "%s", names[i]);
		cr_expect_str_eq(pin_policy_name(policies[i]), names[i]);
	}
	cr_expect_eq(pin_policy_parse("Core", &p), -1);
	cr_expect_eq(pin_policy_parse("cores", &p), -1);
	cr_expect_eq(pin_policy_parse("", &p), -1);
	cr_expect_eq(pin_policy_parse(NULL, &p), -1);
}

Test(placement, rejects_a_bad_synthetic_description)
{
	hwloc_topology_t topology;
	char err[256] = "";

	cr_expect_eq(topology_open(&topology, "pack:two core:x", err, sizeof(err)), -1);
	cr_expect_not_null(strstr(err, "pack:two core:x"), "reason: %s", err);
}

Test(placement, describes_the_topology_in_json)
{
	hwloc_topology_t topology = open_synthetic(TWO_PACKAGES);
	json_t *desc = topology_to_json(topology);
	json_t *synthetic;

	cr_assert_not_null(desc);
	cr_expect_eq(json_integer_value(json_object_get(desc, "packages")), 2);
	cr_expect_eq(json_integer_value(json_object_get(desc, "numa_nodes")), 1);
	cr_expect_eq(json_integer_value(json_object_get(desc, "cores")), 8);
	cr_expect_eq(json_integer_value(json_object_get(desc, "pus")), 16);
	cr_expect(json_is_array(json_object_get(desc, "caches")));
	synthetic = json_object_get(desc, "synthetic");
	cr_assert(json_is_string(synthetic));
	cr_expect_not_null(strstr(json_string_value(synthetic), "Core:4"), "%s",
	                   json_string_value(synthetic));
	json_decref(desc);
	hwloc_topology_destroy(topology);
}

Test(placement, groups_caches_by_level_and_type)
{
	hwloc_topology_t topology =
	    open_synthetic("pack:2 l3:1(size=16MiB) l2:4(size=1MiB) l1d:1(size=32KiB) core:1 pu:2");
	json_t *desc = topology_to_json(topology);
	json_t *caches = json_object_get(desc, "caches");
	json_t *l2;

	cr_assert_eq(json_array_size(caches), 3, "caches: %zu entries", json_array_size(caches));
	l2 = json_array_get(caches, 1);
	cr_expect_eq(json_integer_value(json_object_get(l2, "level")), 2);
	cr_expect_str_eq(json_string_value(json_object_get(l2, "type")), "unified");
	cr_expect_eq(json_integer_value(json_object_get(l2, "size_kib")), 1024);
	cr_expect_eq(json_integer_value(json_object_get(l2, "count")), 8);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(caches, 0), "type")),
	                 "data");
	cr_expect_eq(json_integer_value(json_object_get(json_array_get(caches, 2), "count")), 2);
	json_decref(desc);
	hwloc_topology_destroy(topology);
}

Test(placement, lists_allowed_pus)
{
	hwloc_topology_t topology = open_synthetic(INTERLEAVED);
	json_t *pus = topology_allowed_pus_json(topology);

	cr_assert_eq(json_array_size(pus), 8);
	for (size_t i = 0; i < 8; i++)
		cr_expect_eq(json_integer_value(json_array_get(pus, i)), (json_int_t)i);
	json_decref(pus);
	hwloc_topology_destroy(topology);
}

Test(placement, plans_one_worker_per_core_on_this_machine)
{
	hwloc_topology_t topology;
	struct placement_plan plan;
	char err[256] = "";
	int cores;

	cr_assert_eq(topology_open(&topology, NULL, err, sizeof(err)), 0, "%s", err);
	cores = topology_cores(topology);
	cr_assert_geq(cores, 1);
	cr_expect_geq(topology_pus(topology), cores);
	plan = make_plan(topology, PIN_CORE, cores);
	cr_expect_not(plan.wrapped);
	assert_distinct(topology, &plan, cores, HWLOC_OBJ_CORE);
	for (int i = 0; i < cores; i++)
		cr_expect(hwloc_bitmap_isset(hwloc_topology_get_allowed_cpuset(topology),
		                             (unsigned)plan.cpus[i]),
		          "worker %d on PU %d, which is not allowed", i, plan.cpus[i]);
	placement_plan_free(&plan);
	hwloc_topology_destroy(topology);
}

/* ---- the CPUs the user allows: the real binary under taskset ---- */

/* The taskset tests' run: small enough to take a fraction of a second; the
 * plan is what they check, not the figures. */
#define TASKSET_RUN "run -w primes -s serial,threads -r 3 -p primes.limit=200000 --quick --warmup 0"

struct taskset_output {
	int status;
	char text[8192]; /* what the kept streams printed */
};

/* The first CPU this test may run on: taskset may only narrow what the test
 * itself was given. Skips the test where one CPU is all there is, or where
 * there is no taskset to narrow with. */
static int one_cpu_or_skip(void)
{
	cpu_set_t mine;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		cr_skip_test("one online CPU: nothing for taskset to withhold");
	if (system("command -v taskset >/dev/null 2>&1") != 0)
		cr_skip_test("no taskset (util-linux) to restrict the binary with");
	cr_assert_eq(sched_getaffinity(0, sizeof(mine), &mine), 0);
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &mine))
			return cpu;
	cr_assert_fail("this test may run on no CPU");
	return -1;
}

/* `taskset -c CPU concbench ARGS`, keeping stderr, and stdout too when asked:
 * a run's warnings go to stderr, its summary to stdout; `topology` prints on
 * stdout. */
static struct taskset_output run_under_taskset(int cpu, const char *args, bool keep_stdout)
{
	struct taskset_output out = {.status = -1};
	struct output o = sh("taskset -c %d %s %s", cpu, CONCBENCH_BIN, args);
	out.status = o.status;
	snprintf(out.text, sizeof(out.text), "%s%s", keep_stdout ? o.out : "", o.err);
	output_free(&o);
	return out;
}

/* Runs TASKSET_RUN plus extra on one CPU and returns the result file. */
static json_t *taskset_run(int cpu, const char *extra, struct taskset_output *out)
{
	char path[] = "/tmp/concbench-taskset-XXXXXX.json", args[1024];
	int fd = mkstemps(path, 5);
	json_error_t e;
	json_t *doc;

	cr_assert(fd >= 0);
	close(fd);
	snprintf(args, sizeof(args), TASKSET_RUN " %s -o %s", extra, path);
	*out = run_under_taskset(cpu, args, false);
	cr_assert_eq(out->status, 0, "run exited %d: %s", out->status, out->text);
	doc = json_load_file(path, 0, &e);
	unlink(path);
	cr_assert_not_null(doc, "%s: %s", path, e.text);
	return doc;
}

/* The one-line warning that names the allowed set, from the file. */
static const char *restriction_warning(json_t *doc, int cpu)
{
	char allowed[64];
	size_t i;
	json_t *w;

	snprintf(allowed, sizeof(allowed), "may use PUs %d of the ", cpu);
	json_array_foreach(json_object_get(doc, "warnings"), i, w)
	{
		if (strstr(json_string_value(w), allowed) != NULL)
			return json_string_value(w);
	}
	return NULL;
}

static void assert_cpu_list(json_t *list, int cpu, const char *what)
{
	size_t i;
	json_t *v;

	cr_assert(json_is_array(list) && json_array_size(list) > 0, "%s is no list", what);
	json_array_foreach(list, i, v)
	{
		cr_assert_eq(json_integer_value(v), cpu, "%s[%zu] is %lld, not PU %d", what, i,
		             (long long)json_integer_value(v), cpu);
	}
}

Test(placement, a_taskset_mask_is_the_machine, .timeout = 120)
{
	int cpu = one_cpu_or_skip();
	struct taskset_output out;
	json_t *doc = taskset_run(cpu, "", &out);
	json_t *machine = json_object_get(doc, "machine");
	json_t *workers = json_object_get(json_object_get(doc, "config"), "workers");
	const char *warning = restriction_warning(doc, cpu);
	size_t i;
	json_t *cell;

	cr_assert_eq(json_array_size(workers), 1, "the default sweep has %zu counts",
	             json_array_size(workers));
	cr_expect_eq(json_integer_value(json_array_get(workers, 0)), 1);
	cr_assert_not_null(warning, "no warning names the mask: %s", out.text);
	cr_expect_not_null(strstr(out.text, warning), "not on stderr: %s\nstderr: %s", warning,
	                   out.text);
	cr_expect(json_is_true(json_object_get(machine, "restricted")));
	assert_cpu_list(json_object_get(machine, "allowed_pus"), cpu, "machine.allowed_pus");
	cr_expect_geq(json_array_size(json_object_get(machine, "online_pus")), 2);
	cr_expect_eq(
	    json_integer_value(json_object_get(json_object_get(machine, "topology"), "cores")), 1,
	    "machine.topology describes the allowed machine");
	json_array_foreach(json_object_get(doc, "results"), i, cell)
	{
		cr_expect_eq(json_integer_value(json_object_get(cell, "workers")), 1);
		assert_cpu_list(json_object_get(json_object_get(cell, "placement"), "cpus"), cpu,
		                "placement.cpus");
	}
	json_decref(doc);
}

Test(placement, two_workers_on_one_allowed_pu_wrap, .timeout = 120)
{
	int cpu = one_cpu_or_skip();
	struct taskset_output out;
	json_t *doc = taskset_run(cpu, "-n 2", &out);
	json_t *threads = NULL;
	size_t i;
	json_t *cell;

	json_array_foreach(json_object_get(doc, "results"), i, cell)
	{
		if (strcmp(json_string_value(json_object_get(cell, "strategy")), "threads") == 0)
			threads = cell;
	}
	cr_assert_not_null(threads, "no threads cell");
	cr_expect_eq(json_integer_value(json_object_get(threads, "workers")), 2);
	json_t *placement = json_object_get(threads, "placement");
	assert_cpu_list(json_object_get(placement, "cpus"), cpu, "placement.cpus");
	cr_expect(json_is_true(json_object_get(placement, "wrapped")), "the plan did not wrap");
	assert_cpu_list(json_object_get(placement, "observed_cpus"), cpu,
	                "placement.observed_cpus");
	json_decref(doc);
}

Test(placement, topology_shows_the_allowed_and_the_online_pus, .timeout = 30)
{
	int cpu = one_cpu_or_skip();
	char want[64];
	struct taskset_output out = run_under_taskset(cpu, "topology", true);

	cr_assert_eq(out.status, 0, "%s", out.text);
	snprintf(want, sizeof(want), "allowed PUs: %d\n", cpu);
	cr_expect_not_null(strstr(out.text, want), "%s", out.text);
	cr_expect_not_null(strstr(out.text, "online PUs:"), "%s", out.text);
	cr_expect_not_null(strstr(out.text, "cores:       1\n"), "%s", out.text);
}

/* A made-up machine has no binding to honour, whatever this process's mask. */
Test(placement, a_synthetic_topology_ignores_the_mask, .timeout = 30)
{
	int cpu = one_cpu_or_skip();
	struct taskset_output out =
	    run_under_taskset(cpu, "topology --synthetic 'pack:1 core:4 pu:1'", true);

	cr_assert_eq(out.status, 0, "%s", out.text);
	cr_expect_not_null(strstr(out.text, "allowed PUs: 0-3\n"), "%s", out.text);
	cr_expect_null(strstr(out.text, "online PUs:"), "%s", out.text);
	cr_expect_not_null(strstr(out.text, "worker 3 -> PU 3"), "%s", out.text);
}
