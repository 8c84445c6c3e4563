/* `concbench list`: what can be run, and with which parameters. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bench/run.h"

/* The columns are as wide as their widest entry, over every workload and
 * strategy, so that they line up whatever a new one is called. */
struct list_widths {
	int name;    /* "owner.key" */
	int value;   /* a default, or a --quick default */
	int summary; /* a strategy's description */
};

static void param_value_text(const struct param_def *p, int64_t v, char *buf, size_t len)
{
	if (p->type == PARAM_INT)
		snprintf(buf, len, "%" PRId64, v);
	else if (p->type == PARAM_CHOICE)
		snprintf(buf, len, "%s", p->choices[v]);
	else
		snprintf(buf, len, "%s", p->text_def && *p->text_def ? p->text_def : "(none)");
}

static int max_int(int a, int b)
{
	return a > b ? a : b;
}

static void widen_for_params(struct list_widths *lw, const char *owner, const struct param_def *p)
{
	char buf[PARAM_TEXT_MAX];
	for (; p && p->key; p++) {
		lw->name = max_int(lw->name, (int)(strlen(owner) + 1 + strlen(p->key)));
		param_value_text(p, p->def, buf, sizeof(buf));
		if (p->type == PARAM_TEXT) { /* a text default spans both value columns */
			lw->value = max_int(lw->value, ((int)strlen(buf) - 1) / 2);
			continue;
		}
		lw->value = max_int(lw->value, (int)strlen(buf));
		param_value_text(p, p->quick, buf, sizeof(buf));
		lw->value = max_int(lw->value, (int)strlen(buf));
	}
}

static struct list_widths measure_widths(void)
{
	struct list_widths lw = {.name = 0, .value = 7, .summary = 0};
	for (const struct workload_ops *const *w = workload_table(); *w; w++)
		widen_for_params(&lw, (*w)->name, (*w)->params);
	for (const struct runner_ops *const *r = runner_table(); *r; r++) {
		widen_for_params(&lw, (*r)->name, (*r)->params);
		lw.summary = max_int(lw.summary, (int)strlen((*r)->description));
	}
	return lw;
}

static void print_param(const struct list_widths *lw, const char *owner, const struct param_def *p)
{
	char name[256], def[PARAM_TEXT_MAX], quick[PARAM_TEXT_MAX];
	snprintf(name, sizeof(name), "%s.%s", owner, p->key);
	param_value_text(p, p->def, def, sizeof(def));
	if (p->type == PARAM_TEXT) {
		printf("      %-*s  %-*s  %s\n", lw->name, name, 2 * lw->value + 2, def, p->help);
		return;
	}
	param_value_text(p, p->quick, quick, sizeof(quick));
	printf("      %-*s  %-*s  %-*s  %s\n", lw->name, name, lw->value, def, lw->value, quick,
	       p->help);
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
	struct list_widths lw = measure_widths();
	printf(
	    "workloads (-w; parameters with -p WORKLOAD.KEY=VALUE; default, --quick default):\n");
	for (const struct workload_ops *const *w = workload_table(); *w; w++) {
		printf("  %-10s %-5s %s\n", (*w)->name, workload_kind_name((*w)->kind),
		       (*w)->description);
		for (const struct param_def *p = (*w)->params; p && p->key; p++)
			print_param(&lw, (*w)->name, p);
	}
	printf("\nstrategies (-s; parameters with -p STRATEGY.KEY=VALUE; default, --quick "
	       "default):\n");
	int name_w = 10;
	for (const struct runner_ops *const *r = runner_table(); *r; r++)
		if ((int)strlen((*r)->name) > name_w)
			name_w = (int)strlen((*r)->name);
	for (const struct runner_ops *const *r = runner_table(); *r; r++) {
		printf("  %-*s %-*s  like %s\n", name_w, (*r)->name, lw.summary, (*r)->description,
		       (*r)->python_analogue);
		const char *why = (*r)->unavailable != NULL ? (*r)->unavailable() : NULL;
		if (why != NULL)
			printf("      unavailable: %s\n", why);
		for (const struct param_def *p = (*r)->params; p && p->key; p++)
			print_param(&lw, (*r)->name, p);
	}
	return 0;
}
