/* `concbench list`: what can be run, and with which parameters. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bench/run.h"

static void print_param(const char *owner, const struct param_def *p)
{
	if (p->type == PARAM_INT) {
		printf("      %s.%-14s %-10" PRId64 " %-10" PRId64 " %s\n", owner, p->key, p->def,
		       p->quick, p->help);
	} else if (p->type == PARAM_TEXT) {
		printf("      %s.%-14s %-21s %s\n", owner, p->key,
		       p->text_def && *p->text_def ? p->text_def : "(none)", p->help);
	} else {
		printf("      %s.%-14s %-10s %-10s %s\n", owner, p->key, p->choices[p->def],
		       p->choices[p->quick], p->help);
	}
}

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
			print_param((*w)->name, p);
	}
	printf("\nstrategies (-s; parameters with -p STRATEGY.KEY=VALUE; default, --quick "
	       "default):\n");
	for (const struct runner_ops *const *r = runner_table(); *r; r++) {
		printf("  %-10s %-46s like %s\n", (*r)->name, (*r)->description,
		       (*r)->python_analogue);
		const char *why = (*r)->unavailable != NULL ? (*r)->unavailable() : NULL;
		if (why != NULL)
			printf("      unavailable: %s\n", why);
		for (const struct param_def *p = (*r)->params; p && p->key; p++)
			print_param((*r)->name, p);
	}
	return 0;
}
