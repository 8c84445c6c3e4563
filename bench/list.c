/* `concbench list`: what can be run, and with which parameters. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "run.h"

int cmd_list(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		printf("usage: concbench list\n");
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "concbench list: unexpected argument '%s'\n", argv[1]);
		return 2;
	}
	printf(
	    "workloads (-w; parameters with -p WORKLOAD.KEY=VALUE; default, --quick default):\n");
	for (const struct workload_ops *const *w = workload_table(); *w; w++) {
		printf("  %-10s %-5s %s\n", (*w)->name, workload_kind_name((*w)->kind),
		       (*w)->description);
		for (const struct param_def *p = (*w)->params; p && p->key; p++)
			printf("      %s.%-14s %-10" PRId64 " %-10" PRId64 " %s\n", (*w)->name,
			       p->key, p->def, p->quick, p->help);
	}
	printf("\nstrategies (-s):\n");
	for (const struct runner_ops *const *r = runner_table(); *r; r++)
		printf("  %-10s %-46s like %s\n", (*r)->name, (*r)->description,
		       (*r)->python_analogue);
	return 0;
}
