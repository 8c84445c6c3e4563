/* `concbench topology`: what hwloc sees (packages, cores, PUs, caches, the
 * allowed set) and where the workers of a given count and --pin would go. */
#include "bench/placement.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A worker count beyond this is a typo, not an experiment. */
#define TOPOLOGY_MAX_WORKERS 65536

/* ---- `concbench topology` ---- */

struct topology_args {
	bool json;
	const char *synthetic;
	int workers; /* 0: one per core */
	enum pin_policy policy;
};

static void topology_usage(FILE *out)
{
	fputs("usage: concbench topology [--json] [--synthetic DESC] [-n WORKERS] [--pin POLICY]\n"
	      "\n"
	      "What hwloc sees on this machine, cut to the PUs this process may use (taskset,\n"
	      "cpuset, numactl), and where the workers of a run would be placed.\n"
	      "\n"
	      "  --json             one JSON object instead of text\n"
	      "  --synthetic DESC   a made-up topology instead of this machine's, e.g.\n"
	      "                     \"pack:2 core:4 pu:2\"\n"
	      "  -n, --workers N    how many workers to place (default: one per core)\n"
	      "  --pin POLICY       core (default), pu, single or none\n"
	      "  -h, --help         this text\n",
	      out);
}

__attribute__((format(printf, 1, 2))) static void topology_complain(const char *fmt, ...)
{
	va_list ap;

	fputs("concbench topology: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int parse_worker_count(const char *text, int *out)
{
	char *end;
	long value;

	errno = 0;
	value = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || value < 1 || value > TOPOLOGY_MAX_WORKERS)
		return -1;
	*out = (int)value;
	return 0;
}

static void complain_about_option(char **argv, int code)
{
	const char *arg = argv[optind - 1];

	if (code == ':' && optopt != 0 && strncmp(arg, "--", 2) != 0)
		topology_complain("option '-%c' needs a value", optopt);
	else if (code == ':')
		topology_complain("option '%s' needs a value", arg);
	else if (optopt != 0 && strncmp(arg, "--", 2) != 0)
		topology_complain("unknown option '-%c'", optopt);
	else
		topology_complain("unknown option '%s'", arg);
}

/* 0: run; 1: help was printed; -1: bad input, already reported. */
static int parse_topology_args(int argc, char **argv, struct topology_args *args)
{
	static const struct option options[] = {
	    {"json", no_argument, NULL, 'j'},          {"synthetic", required_argument, NULL, 's'},
	    {"workers", required_argument, NULL, 'n'}, {"pin", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	int c;

	*args = (struct topology_args){.policy = PIN_CORE};
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hn:", options, NULL)) != -1) {
		switch (c) {
		case 'j':
			args->json = true;
			break;
		case 's':
			args->synthetic = optarg;
			break;
		case 'n':
			if (parse_worker_count(optarg, &args->workers) != 0) {
				topology_complain("-n needs a worker count from 1 to %d, got '%s'",
				                  TOPOLOGY_MAX_WORKERS, optarg);
				return -1;
			}
			break;
		case 'p':
			if (pin_policy_parse(optarg, &args->policy) != 0) {
				topology_complain(
				    "unknown --pin policy '%s' (core, pu, single or none)", optarg);
				return -1;
			}
			break;
		case 'h':
			topology_usage(stdout);
			return 1;
		default:
			complain_about_option(argv, c);
			return -1;
		}
	}
	if (optind < argc) {
		topology_complain("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

static void print_size_kib(json_int_t kib)
{
	if (kib >= 1024 && kib % 1024 == 0)
		printf("%lld MiB", (long long)(kib / 1024));
	else
		printf("%lld KiB", (long long)kib);
}

static const char *cache_suffix(const char *type)
{
	if (strcmp(type, "data") == 0)
		return "d";
	if (strcmp(type, "instruction") == 0)
		return "i";
	return "";
}

static void print_caches(json_t *caches)
{
	size_t i;
	json_t *entry;

	printf("caches:      ");
	if (json_array_size(caches) == 0)
		printf("none reported");
	json_array_foreach(caches, i, entry)
	{
		json_t *size = json_object_get(entry, "size_kib");

		printf("%sL%lld%s ", i > 0 ? ", " : "",
		       (long long)json_integer_value(json_object_get(entry, "level")),
		       cache_suffix(json_string_value(json_object_get(entry, "type"))));
		if (json_is_integer(size))
			print_size_kib(json_integer_value(size));
		else
			printf("(size unknown)");
		printf(" x%lld", (long long)json_integer_value(json_object_get(entry, "count")));
	}
	putchar('\n');
}

/* The online set too where this process may use fewer: it explains why the
 * counts above are smaller than the machine. */
static void print_allowed_pus(hwloc_topology_t topology)
{
	hwloc_const_bitmap_t allowed = hwloc_topology_get_allowed_cpuset(topology);
	hwloc_bitmap_t online = topology_online_cpuset(topology);
	char list[256];

	cpuset_list(allowed, list, sizeof(list));
	printf("allowed PUs: %s\n", list);
	if (online != NULL && !hwloc_bitmap_isincluded(online, allowed)) {
		cpuset_list(online, list, sizeof(list));
		printf("online PUs:  %s (taskset, cpuset or numactl keeps this process off the "
		       "rest)\n",
		       list);
	}
	hwloc_bitmap_free(online);
}

static void print_plan(const struct placement_plan *plan)
{
	printf("placement (--pin %s, %d worker%s): ", pin_policy_name(plan->policy), plan->workers,
	       plan->workers == 1 ? "" : "s");
	for (int i = 0; i < plan->workers; i++) {
		printf("%sworker %d -> ", i > 0 ? ", " : "", i);
		if (plan->cpus[i] < 0)
			printf("any PU");
		else
			printf("PU %d", plan->cpus[i]);
	}
	putchar('\n');
	if (plan->wrapped)
		printf("(wrapped: %d workers over %d PU%s)\n", plan->workers, plan->targets,
		       plan->targets == 1 ? "" : "s");
}

/* Each NUMA node's PUs, where there are several: the plan spreads workers over them. */
static void print_numa_nodes(hwloc_topology_t topology)
{
	int n = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_NUMANODE);
	for (int i = 0; n > 1 && i < n; i++) {
		hwloc_obj_t node = hwloc_get_obj_by_type(topology, HWLOC_OBJ_NUMANODE, i);
		char pus[256];
		hwloc_bitmap_list_snprintf(pus, sizeof(pus), node->cpuset);
		printf("  node %u:    PUs %s\n", node->os_index, pus);
	}
}

static int print_topology_text(hwloc_topology_t topology, const struct placement_plan *plan)
{
	json_t *desc = topology_to_json(topology);
	json_t *synthetic;

	if (desc == NULL)
		return -1;
	printf("packages:    %lld\n",
	       (long long)json_integer_value(json_object_get(desc, "packages")));
	printf("NUMA nodes:  %lld\n",
	       (long long)json_integer_value(json_object_get(desc, "numa_nodes")));
	print_numa_nodes(topology);
	printf("cores:       %d\n", topology_cores(topology));
	printf("PUs:         %d\n", topology_pus(topology));
	printf("SMT:         %s\n", topology_has_smt(topology) ? "yes" : "no");
	print_caches(json_object_get(desc, "caches"));
	print_allowed_pus(topology);
	synthetic = json_object_get(desc, "synthetic");
	if (json_is_string(synthetic))
		printf("synthetic:   %s\n", json_string_value(synthetic));
	print_plan(plan);
	json_decref(desc);
	return 0;
}

static json_t *plan_json(const struct placement_plan *plan)
{
	json_t *cpus = json_array();

	for (int i = 0; cpus != NULL && i < plan->workers; i++) {
		if (json_array_append_new(cpus, json_integer(plan->cpus[i])) != 0) {
			json_decref(cpus);
			return NULL;
		}
	}
	return json_pack("{s:s, s:i, s:o, s:b, s:i}", "policy", pin_policy_name(plan->policy),
	                 "workers", plan->workers, "cpus", cpus, "wrapped", plan->wrapped,
	                 "targets", plan->targets);
}

static int print_topology_json(hwloc_topology_t topology, const struct placement_plan *plan)
{
	json_t *doc = json_pack(
	    "{s:o, s:o, s:o, s:b, s:b, s:o}", "topology", topology_to_json(topology), "allowed_pus",
	    topology_allowed_pus_json(topology), "online_pus", topology_online_pus_json(topology),
	    "restricted", topology_is_restricted(topology), "smt", topology_has_smt(topology),
	    "placement", plan_json(plan));
	char *text;

	if (doc == NULL)
		return -1;
	text = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	if (text == NULL)
		return -1;
	puts(text);
	free(text);
	return 0;
}

int cmd_topology(int argc, char **argv)
{
	struct topology_args args;
	struct placement_plan plan;
	hwloc_topology_t topology;
	char err[256];
	int rc;

	rc = parse_topology_args(argc, argv, &args);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	if (topology_open(&topology, args.synthetic, err, sizeof(err)) != 0) {
		topology_complain("%s", err);
		/* a bad description is the user's input; a machine that will not load is not */
		return args.synthetic != NULL ? 2 : 1;
	}
	if (args.workers == 0)
		args.workers = topology_cores(topology);
	if (placement_plan_make(topology, args.policy, args.workers, &plan, err, sizeof(err)) !=
	    0) {
		topology_complain("%s", err);
		hwloc_topology_destroy(topology);
		return 1;
	}
	rc =
	    args.json ? print_topology_json(topology, &plan) : print_topology_text(topology, &plan);
	if (rc != 0)
		topology_complain("out of memory describing the topology");
	placement_plan_free(&plan);
	hwloc_topology_destroy(topology);
	return rc != 0 ? 1 : 0;
}
