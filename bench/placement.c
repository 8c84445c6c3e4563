/* Where workers run: hwloc topology loading and placement plans (the
 * `concbench topology` command that shows both is bench/topology.c). */
#include "bench/placement.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const policy_names[] = {
    [PIN_CORE] = "core",
    [PIN_PU] = "pu",
    [PIN_SINGLE] = "single",
    [PIN_NONE] = "none",
};

#define POLICY_COUNT (sizeof(policy_names) / sizeof(policy_names[0]))

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt,
                                                          ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int pin_policy_parse(const char *name, enum pin_policy *out)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < POLICY_COUNT; i++) {
		if (strcmp(name, policy_names[i]) == 0) {
			*out = (enum pin_policy)i;
			return 0;
		}
	}
	return -1;
}

const char *pin_policy_name(enum pin_policy policy)
{
	if ((size_t)policy >= POLICY_COUNT)
		return "unknown";
	return policy_names[policy];
}

/* ---- loading ---- */

/* hwloc's allowed set follows cgroup cpusets but not the process's own
 * affinity (taskset, numactl --physcpubind, sched_setaffinity by a parent), so
 * a run under `taskset -c 0` would otherwise plan on, and bind workers to, PUs
 * the user withheld. Dropping every PU outside the binding makes the topology
 * the machine this process was given: counts, the default sweep, plans and the
 * fixture server's PUs all follow. CPU-less objects go too, so that the
 * description shows no package or NUMA node the process cannot run on. A
 * topology that is not this system's (synthetic, XML) has no binding to honour. */
static int restrict_to_process_binding(hwloc_topology_t topology, char *err, size_t errlen)
{
	hwloc_bitmap_t bound;
	int rc = 0;

	if (!hwloc_topology_is_thissystem(topology))
		return 0;
	bound = hwloc_bitmap_alloc();
	if (bound == NULL) {
		set_err(err, errlen, "out of memory reading the CPU binding");
		return -1;
	}
	/* where the binding cannot be read, the allowed set is all there is to go on */
	if (hwloc_get_cpubind(topology, bound, HWLOC_CPUBIND_PROCESS) == 0) {
		hwloc_bitmap_and(bound, bound, hwloc_topology_get_allowed_cpuset(topology));
		if (hwloc_bitmap_iszero(bound)) {
			set_err(err, errlen,
			        "this process is bound to no PU that the machine allows it");
			rc = -1;
		} else if (!hwloc_bitmap_isequal(bound,
		                                 hwloc_topology_get_allowed_cpuset(topology)) &&
		           hwloc_topology_restrict(topology, bound,
		                                   HWLOC_RESTRICT_FLAG_REMOVE_CPULESS) != 0) {
			set_err(err, errlen,
			        "hwloc: cannot restrict the topology to the CPU binding: %s",
			        strerror(errno));
			rc = -1;
		}
	}
	hwloc_bitmap_free(bound);
	return rc;
}

#define SYNTHETIC_MAX_OBJECTS 65536 /* at the deepest level; hwloc holds each */

/* The number of objects at the deepest level of a synthetic description
 * ("pack:1000 core:1000 pu:1000" is 10^9): the product of each level's
 * count, the digits after its "type:" (or the token itself), saturating. */
static unsigned long long synthetic_leaves(const char *desc)
{
	unsigned long long leaves = 1;
	for (const char *p = desc; *p != '\0';) {
		while (*p == ' ' || *p == '\t')
			p++;
		const char *end = p + strcspn(p, " \t");
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *digits = colon != NULL ? colon + 1 : p;
		if (digits < end && *digits >= '0' && *digits <= '9') {
			unsigned long long count = strtoull(digits, NULL, 10);
			leaves =
			    count != 0 && leaves > ULLONG_MAX / count ? ULLONG_MAX : leaves * count;
		}
		p = end;
	}
	return leaves;
}

int topology_open(hwloc_topology_t *out, const char *synthetic, char *err, size_t errlen)
{
	/* hwloc allocates every object first: 10^9 PUs ate 6 GB before failing */
	if (synthetic != NULL && synthetic_leaves(synthetic) > SYNTHETIC_MAX_OBJECTS) {
		set_err(err, errlen,
		        "synthetic topology '%s' has more than %d PUs, the most concbench plans",
		        synthetic, SYNTHETIC_MAX_OBJECTS);
		return -1;
	}

	hwloc_topology_t topology;

	if (hwloc_topology_init(&topology) != 0) {
		set_err(err, errlen, "hwloc: cannot initialise a topology: %s", strerror(errno));
		return -1;
	}
	/* hwloc 2 filters instruction caches out by default; the machine
	 * description should show them where the hardware reports them. */
	hwloc_topology_set_icache_types_filter(topology, HWLOC_TYPE_FILTER_KEEP_ALL);
	if (synthetic != NULL && hwloc_topology_set_synthetic(topology, synthetic) != 0) {
		set_err(err, errlen, "invalid synthetic topology '%s'", synthetic);
		hwloc_topology_destroy(topology);
		return -1;
	}
	if (hwloc_topology_load(topology) != 0) {
		set_err(err, errlen, "hwloc: cannot load the topology: %s", strerror(errno));
		hwloc_topology_destroy(topology);
		return -1;
	}
	if (restrict_to_process_binding(topology, err, errlen) != 0) {
		hwloc_topology_destroy(topology);
		return -1;
	}
	*out = topology;
	return 0;
}

/* ---- the allowed and the online sets ---- */

/* glibc's _SC_NPROCESSORS_ONLN reads this file too, so the set agrees with
 * machine.online_cpus. */
#define ONLINE_CPUS_PATH "/sys/devices/system/cpu/online"

static int read_online_cpus(hwloc_bitmap_t out)
{
	FILE *f = fopen(ONLINE_CPUS_PATH, "re");
	char line[4096];
	bool got;

	if (f == NULL)
		return -1;
	got = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	if (!got)
		return -1;
	line[strcspn(line, "\n")] = '\0';
	if (hwloc_bitmap_list_sscanf(out, line) != 0 || hwloc_bitmap_iszero(out))
		return -1;
	return 0;
}

hwloc_bitmap_t topology_online_cpuset(hwloc_topology_t topology)
{
	hwloc_bitmap_t online = hwloc_bitmap_alloc();

	if (online == NULL)
		return NULL;
	if (!hwloc_topology_is_thissystem(topology)) /* a made-up machine is all online */
		hwloc_bitmap_copy(online, hwloc_topology_get_complete_cpuset(topology));
	else if (read_online_cpus(online) != 0)
		/* Unknown without sysfs: the allowed set stands in, claiming no
		 * restriction rather than a false one (restricting the topology
		 * shrank hwloc's complete set too). */
		hwloc_bitmap_copy(online, hwloc_topology_get_allowed_cpuset(topology));
	return online;
}

bool topology_is_restricted(hwloc_topology_t topology)
{
	hwloc_bitmap_t online = topology_online_cpuset(topology);
	bool restricted;

	if (online == NULL)
		return false;
	restricted = !hwloc_bitmap_isincluded(online, hwloc_topology_get_allowed_cpuset(topology));
	hwloc_bitmap_free(online);
	return restricted;
}

/* "0,2" or "0-3"; "(unknown)" when even that cannot be printed. */
void cpuset_list(hwloc_const_bitmap_t set, char *buf, size_t len)
{
	if (hwloc_bitmap_list_snprintf(buf, len, set) < 0)
		snprintf(buf, len, "(unknown)");
}

int topology_restriction_note(hwloc_topology_t topology, char *buf, size_t len)
{
	hwloc_bitmap_t online = topology_online_cpuset(topology);
	hwloc_const_bitmap_t allowed = hwloc_topology_get_allowed_cpuset(topology);
	char allowed_list[256], online_list[256];
	int cores = topology_cores(topology);

	if (online == NULL || hwloc_bitmap_isincluded(online, allowed)) {
		hwloc_bitmap_free(online);
		return 0;
	}
	cpuset_list(allowed, allowed_list, sizeof(allowed_list));
	cpuset_list(online, online_list, sizeof(online_list));
	snprintf(buf, len,
	         "this process may use PUs %s of the %d online (%s) (taskset, cpuset or "
	         "numactl): the machine is planned on %d core%s",
	         allowed_list, hwloc_bitmap_weight(online), online_list, cores,
	         cores == 1 ? "" : "s");
	hwloc_bitmap_free(online);
	return 1;
}

/* ---- counting ---- */

/* Some topologies (synthetic ones, a few VMs) have no core level; there every
 * PU stands for a core. */
static int core_depth(hwloc_topology_t topology)
{
	int depth = hwloc_get_type_depth(topology, HWLOC_OBJ_CORE);

	if (depth < 0)
		return hwloc_get_type_depth(topology, HWLOC_OBJ_PU);
	return depth;
}

int topology_cores(hwloc_topology_t topology)
{
	return (int)hwloc_get_nbobjs_by_depth(topology, core_depth(topology));
}

int topology_pus(hwloc_topology_t topology)
{
	return hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_PU);
}

bool topology_has_smt(hwloc_topology_t topology)
{
	hwloc_obj_t core = NULL;

	while ((core = hwloc_get_next_obj_by_type(topology, HWLOC_OBJ_CORE, core)) != NULL) {
		if (hwloc_bitmap_weight(core->cpuset) > 1)
			return true;
	}
	return false;
}

/* ---- placement ---- */

/* Spread n workers with hwloc_distrib down to `until` and give each the first
 * PU of its set. Callers keep n within the number of objects at `until` so the
 * sets are disjoint and the PUs distinct. */
static int distrib_first_pus(hwloc_topology_t topology, int n, int until, int *cpus, char *err,
                             size_t errlen)
{
	hwloc_obj_t root = hwloc_get_root_obj(topology);
	hwloc_bitmap_t *sets = calloc((size_t)n, sizeof(*sets));
	int rc = 0;

	if (sets == NULL) {
		set_err(err, errlen, "out of memory planning %d workers", n);
		return -1;
	}
	if (hwloc_distrib(topology, &root, 1, sets, (unsigned)n, until, 0) != 0) {
		set_err(err, errlen, "hwloc_distrib failed: %s", strerror(errno));
		rc = -1;
	}
	for (int i = 0; i < n; i++) {
		if (rc == 0 && sets[i] == NULL) {
			set_err(err, errlen, "out of memory planning %d workers", n);
			rc = -1;
		}
		if (rc == 0) {
			hwloc_bitmap_singlify(sets[i]);
			cpus[i] = hwloc_bitmap_first(sets[i]);
		}
		hwloc_bitmap_free(sets[i]);
	}
	free(sets);
	return rc;
}

/* The first allowed PU of every core, or every PU where there is no core level. */
static hwloc_bitmap_t first_pu_of_each_core(hwloc_topology_t topology)
{
	int depth = core_depth(topology);
	int cores = (int)hwloc_get_nbobjs_by_depth(topology, depth);
	hwloc_bitmap_t set = hwloc_bitmap_alloc();

	if (set == NULL)
		return NULL;
	for (int i = 0; i < cores; i++) {
		hwloc_obj_t core = hwloc_get_obj_by_depth(topology, depth, (unsigned)i);
		int pu = hwloc_bitmap_first(core->cpuset);

		if (pu >= 0 && hwloc_bitmap_set(set, (unsigned)pu) != 0) {
			hwloc_bitmap_free(set);
			return NULL;
		}
	}
	return set;
}

/* hwloc_distrib weighs a subtree by its PUs, so where cores differ in PU count
 * (hybrid CPUs, a cgroup that withholds some SMT siblings) it hands a 2-PU core
 * two workers and singlify then makes them share one PU. Distributing over a
 * copy that keeps one PU per core makes every core weigh the same. */
static int spread_over_cores(hwloc_topology_t topology, int n, int *cpus, char *err, size_t errlen)
{
	hwloc_topology_t copy;
	hwloc_bitmap_t keep;
	int rc;

	if (!topology_has_smt(topology))
		return distrib_first_pus(topology, n, core_depth(topology), cpus, err, errlen);
	keep = first_pu_of_each_core(topology);
	if (keep == NULL) {
		set_err(err, errlen, "out of memory planning %d workers", n);
		return -1;
	}
	if (hwloc_topology_dup(&copy, topology) != 0) {
		set_err(err, errlen, "hwloc: cannot copy the topology: %s", strerror(errno));
		hwloc_bitmap_free(keep);
		return -1;
	}
	rc = hwloc_topology_restrict(copy, keep, 0);
	if (rc != 0)
		set_err(err, errlen, "hwloc: cannot restrict the topology: %s", strerror(errno));
	else
		rc = distrib_first_pus(copy, n, core_depth(copy), cpus, err, errlen);
	hwloc_topology_destroy(copy);
	hwloc_bitmap_free(keep);
	return rc;
}

/* SMT siblings are used only once every core has a worker. */
static int spread_over_pus(hwloc_topology_t topology, int n, int *cpus, char *err, size_t errlen)
{
	if (n <= topology_cores(topology))
		return spread_over_cores(topology, n, cpus, err, errlen);
	return distrib_first_pus(topology, n, hwloc_get_type_depth(topology, HWLOC_OBJ_PU), cpus,
	                         err, errlen);
}

static int first_allowed_pu(hwloc_topology_t topology)
{
	return hwloc_bitmap_first(hwloc_topology_get_allowed_cpuset(topology));
}

static int policy_targets(hwloc_topology_t topology, enum pin_policy policy)
{
	switch (policy) {
	case PIN_CORE:
		return topology_cores(topology);
	case PIN_SINGLE:
		return 1;
	case PIN_PU:
	case PIN_NONE:
		break;
	}
	return topology_pus(topology);
}

/* Fill cpus[0..n) for n <= targets. */
static int plan_distinct(hwloc_topology_t topology, enum pin_policy policy, int n, int *cpus,
                         char *err, size_t errlen)
{
	switch (policy) {
	case PIN_CORE:
		return spread_over_cores(topology, n, cpus, err, errlen);
	case PIN_PU:
		return spread_over_pus(topology, n, cpus, err, errlen);
	case PIN_SINGLE:
		cpus[0] = first_allowed_pu(topology);
		return 0;
	case PIN_NONE:
		break;
	}
	for (int i = 0; i < n; i++)
		cpus[i] = -1;
	return 0;
}

int placement_plan_make(hwloc_topology_t topology, enum pin_policy policy, int workers,
                        struct placement_plan *out, char *err, size_t errlen)
{
	int targets, distinct;
	int *cpus;

	if (workers < 1) {
		set_err(err, errlen, "the worker count must be at least 1, got %d", workers);
		return -1;
	}
	if ((size_t)policy >= POLICY_COUNT) {
		set_err(err, errlen, "unknown placement policy %d", (int)policy);
		return -1;
	}
	if (first_allowed_pu(topology) < 0) {
		set_err(err, errlen, "no PU is allowed for this process");
		return -1;
	}
	targets = policy_targets(topology, policy);
	if (targets < 1) {
		set_err(err, errlen, "the topology has no %s to place workers on",
		        policy == PIN_CORE ? "core" : "PU");
		return -1;
	}
	cpus = malloc((size_t)workers * sizeof(*cpus));
	if (cpus == NULL) {
		set_err(err, errlen, "out of memory planning %d workers", workers);
		return -1;
	}
	distinct = workers < targets ? workers : targets;
	if (plan_distinct(topology, policy, distinct, cpus, err, errlen) != 0) {
		free(cpus);
		return -1;
	}
	for (int i = distinct; i < workers; i++)
		cpus[i] = cpus[i % targets];
	*out = (struct placement_plan){
	    .policy = policy,
	    .workers = workers,
	    .cpus = cpus,
	    .targets = targets,
	    /* unpinned workers share nothing the plan chose */
	    .wrapped = policy != PIN_NONE && workers > targets,
	};
	return 0;
}

void placement_plan_free(struct placement_plan *plan)
{
	if (plan == NULL)
		return;
	free(plan->cpus);
	plan->cpus = NULL;
}

/* ---- JSON ---- */

static const char *cache_type_name(hwloc_obj_cache_type_t type)
{
	switch (type) {
	case HWLOC_OBJ_CACHE_DATA:
		return "data";
	case HWLOC_OBJ_CACHE_INSTRUCTION:
		return "instruction";
	case HWLOC_OBJ_CACHE_UNIFIED:
		break;
	}
	return "unified";
}

static json_t *cache_size_json(hwloc_uint64_t bytes)
{
	/* hwloc reports 0 when the size is unknown */
	if (bytes == 0)
		return json_null();
	return json_integer((json_int_t)(bytes / 1024));
}

static json_t *find_cache_entry(json_t *caches, unsigned level, const char *type, json_t *size)
{
	size_t i;
	json_t *entry;

	json_array_foreach(caches, i, entry)
	{
		if (json_integer_value(json_object_get(entry, "level")) == (json_int_t)level &&
		    strcmp(json_string_value(json_object_get(entry, "type")), type) == 0 &&
		    json_equal(json_object_get(entry, "size_kib"), size))
			return entry;
	}
	return NULL;
}

static int count_cache(json_t *caches, hwloc_obj_t cache)
{
	const char *type = cache_type_name(cache->attr->cache.type);
	json_t *size = cache_size_json(cache->attr->cache.size);
	json_t *entry = find_cache_entry(caches, cache->attr->cache.depth, type, size);

	if (entry != NULL) {
		json_t *count = json_object_get(entry, "count");

		json_decref(size);
		return json_integer_set(count, json_integer_value(count) + 1);
	}
	entry = json_pack("{s:I, s:s, s:o, s:i}", "level", (json_int_t)cache->attr->cache.depth,
	                  "type", type, "size_kib", size, "count", 1);
	return json_array_append_new(caches, entry);
}

/* One entry per level, type and size: the same as one per level and type
 * except on hybrid CPUs, whose core kinds differ in cache sizes. */
static json_t *caches_json(hwloc_topology_t topology)
{
	static const hwloc_obj_type_t types[] = {
	    HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L1ICACHE, HWLOC_OBJ_L2CACHE, HWLOC_OBJ_L2ICACHE,
	    HWLOC_OBJ_L3CACHE, HWLOC_OBJ_L3ICACHE, HWLOC_OBJ_L4CACHE, HWLOC_OBJ_L5CACHE,
	};
	json_t *caches = json_array();

	for (size_t t = 0; caches != NULL && t < sizeof(types) / sizeof(types[0]); t++) {
		hwloc_obj_t cache = NULL;

		while ((cache = hwloc_get_next_obj_by_type(topology, types[t], cache)) != NULL) {
			if (count_cache(caches, cache) != 0) {
				json_decref(caches);
				return NULL;
			}
		}
	}
	return caches;
}

/* The shape only (no sizes, no OS indexes, no memory), so that it stays one
 * short line; null when hwloc cannot describe an asymmetric machine this way. */
static json_t *synthetic_json(hwloc_topology_t topology)
{
	const unsigned long flags = HWLOC_TOPOLOGY_EXPORT_SYNTHETIC_FLAG_NO_ATTRS |
	                            HWLOC_TOPOLOGY_EXPORT_SYNTHETIC_FLAG_IGNORE_MEMORY;
	size_t size = 1024;

	for (;;) {
		char *buf = malloc(size);
		int len;
		json_t *out;

		if (buf == NULL)
			return json_null();
		len = hwloc_topology_export_synthetic(topology, buf, size, flags);
		if (len < 0) {
			free(buf);
			return json_null();
		}
		if ((size_t)len < size) {
			out = json_string(buf);
			free(buf);
			return out != NULL ? out : json_null();
		}
		free(buf);
		size = (size_t)len + 1;
	}
}

json_t *topology_to_json(hwloc_topology_t topology)
{
	json_t *caches = caches_json(topology);

	if (caches == NULL)
		return NULL;
	return json_pack("{s:i, s:i, s:i, s:i, s:o, s:o}", "packages",
	                 hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_PACKAGE), "numa_nodes",
	                 hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_NUMANODE), "cores",
	                 topology_cores(topology), "pus", topology_pus(topology), "caches", caches,
	                 "synthetic", synthetic_json(topology));
}

static json_t *cpuset_json(hwloc_const_cpuset_t set)
{
	json_t *pus = json_array();
	int pu;

	if (pus == NULL)
		return NULL;
	for (pu = hwloc_bitmap_first(set); pu >= 0; pu = hwloc_bitmap_next(set, pu)) {
		if (json_array_append_new(pus, json_integer(pu)) != 0) {
			json_decref(pus);
			return NULL;
		}
	}
	return pus;
}

json_t *topology_allowed_pus_json(hwloc_topology_t topology)
{
	return cpuset_json(hwloc_topology_get_allowed_cpuset(topology));
}

json_t *topology_online_pus_json(hwloc_topology_t topology)
{
	hwloc_bitmap_t online = topology_online_cpuset(topology);
	json_t *pus;

	if (online == NULL)
		return NULL;
	pus = cpuset_json(online);
	hwloc_bitmap_free(online);
	return pus;
}
