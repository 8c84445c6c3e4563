/* Where workers run: a plan of PUs computed from the hwloc topology. */
#ifndef CONCBENCH_PLACEMENT_H
#define CONCBENCH_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>

#include <hwloc.h>
#include <jansson.h>

enum pin_policy { PIN_CORE, PIN_PU, PIN_SINGLE, PIN_NONE };

struct placement_plan {
	enum pin_policy policy;
	int workers;
	int *cpus;    /* OS index of the PU per worker; -1 for every worker under PIN_NONE */
	int targets;  /* distinct PUs the policy spreads over (cores for core, PUs for pu, 1 for
	                 single) */
	bool wrapped; /* more workers than targets: the plan reuses PUs */
};

/* "core" | "pu" | "single" | "none"; returns -1 for anything else. */
int pin_policy_parse(const char *name, enum pin_policy *out);
const char *pin_policy_name(enum pin_policy policy);

/* Load the machine's topology (synthetic == NULL) or a synthetic one such as
 * "pack:2 core:4 pu:2". The machine's is restricted to the PUs this process
 * may use: cgroup cpusets (hwloc's allowed set) and the process's CPU binding
 * (taskset, numactl --physcpubind). */
int topology_open(hwloc_topology_t *out, const char *synthetic, char *err, size_t errlen);

/* 0, or -1 with a one-line reason (e.g. no allowed PU). */
int placement_plan_make(hwloc_topology_t topology, enum pin_policy policy, int workers,
                        struct placement_plan *out, char *err, size_t errlen);
void placement_plan_free(struct placement_plan *plan);

/* Counts used for the default worker sweep and the result file. */
int topology_cores(hwloc_topology_t topology);
int topology_pus(hwloc_topology_t topology);

/* The design's "machine.topology" object: packages, numa_nodes, cores, pus,
 * caches [{level, type, size_kib, count}], synthetic description. */
json_t *topology_to_json(hwloc_topology_t topology);
/* The OS indexes of the allowed PUs, as a JSON array. */
json_t *topology_allowed_pus_json(hwloc_topology_t topology);
/* The online CPUs (this machine's, from sysfs; a synthetic topology's PUs),
 * which may be more than the allowed ones. The caller frees the set. */
hwloc_bitmap_t topology_online_cpuset(hwloc_topology_t topology);
json_t *topology_online_pus_json(hwloc_topology_t topology);
/* True when some online CPU is not allowed to this process. */
bool topology_is_restricted(hwloc_topology_t topology);
/* Where the process is restricted, writes one sentence naming both sets and
 * returns 1; else 0. */
int topology_restriction_note(hwloc_topology_t topology, char *buf, size_t len);
bool topology_has_smt(hwloc_topology_t topology);

/* `concbench topology [--json] [--synthetic DESC] [-n WORKERS] [--pin POLICY]`. */
/* A cpuset as hwloc's list syntax ("0-3,8"). */
void cpuset_list(hwloc_const_bitmap_t set, char *buf, size_t len);

/* bench/topology.c */
int cmd_topology(int argc, char **argv);

#endif
