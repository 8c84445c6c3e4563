/* concbench: which concurrency strategy wins for this work, on this machine? */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "readers/claims.h"
#include "bench/placement.h"
#include "readers/resultfile.h"
#include "bench/run.h"
#include "fixture/serve.h"

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
    {"run", cmd_run, "measure workloads under strategies, write a JSON result"},
    {"list", cmd_list, "workloads, strategies, parameters and their defaults"},
    {"topology", cmd_topology, "what hwloc sees and where workers would be placed"},
    {"claims", cmd_claims, "the seed article's claims and their verdicts on a result file"},
    {"report", cmd_report, "a result file as text, markdown, CSV or benchmark-action JSON"},
    {"compare", cmd_compare, "compare result files cell by cell: ratios, p-values, regressions"},
    {"serve", cmd_serve, "the fixture HTTP server, in the foreground"},
    {NULL, NULL, NULL},
};

/* `concbench version`, -V, --version: what a bug report needs to name the build. */
static int print_version(void)
{
	json_t *tool = tool_to_json();
	printf("concbench %s (commit %s; %s; cflags %s)\n",
	       json_string_value(json_object_get(tool, "version")),
	       json_string_value(json_object_get(tool, "git_commit")),
	       json_string_value(json_object_get(tool, "compiler")),
	       json_string_value(json_object_get(tool, "cflags")));
	json_decref(tool);
	return 0;
}

static bool is_version_request(const char *arg)
{
	return strcmp(arg, "version") == 0 || strcmp(arg, "-V") == 0 ||
	       strcmp(arg, "--version") == 0;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: concbench COMMAND [options]   (concbench COMMAND --help for more)\n\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fprintf(out, "  %-10s %s\n", "version",
	        "the version and the commit it was built from (-V)");
	fprintf(out, "\nexample: concbench run -w primes -s serial,threads,processes,epoll -n 2\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (is_version_request(argv[1]))
		return print_version();
	for (const struct command *c = commands; c->name; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c->fn(argc - 1, argv + 1);
	fprintf(stderr,
	        "concbench: unknown command '%s' (try: run, list, topology, claims, report, "
	        "compare, serve, version, --help)\n",
	        argv[1]);
	return 2;
}
