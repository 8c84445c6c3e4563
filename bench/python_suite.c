/* The py-* cells' own variant of each workload: the workload at its python
 * sizes (workload_ops.python_sizes), so that interpreted code takes under a
 * second where C takes a few milliseconds. The interpreted strategies run
 * there and nowhere else; the default suite runs serial and gil there too, so
 * that compiled against interpreted and the simulated lock against CPython's
 * are measured on equal work. A workload without python sizes keeps its py-*
 * cells beside the others, where speedups are still over py-serial. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/run.h"

static bool chosen(const struct run_config *cfg, const struct runner_ops *r)
{
	for (int i = 0; i < cfg->n_strategies; i++)
		if (cfg->strategies[i] == r)
			return true;
	return false;
}

/* "KEY=VALUE,KEY=VALUE" onto pv. */
static int apply_sizes(struct param_values *pv, const char *sizes, char *err, size_t errlen)
{
	char buf[256], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", sizes);
	for (char *kv = strtok_r(buf, ",", &save); kv != NULL; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "python sizes '%s': '%s' is not KEY=VALUE", sizes,
			         kv);
			return -1;
		}
		*eq = '\0';
		if (params_set_internal(pv, kv, eq + 1, err, errlen) != 0)
			return -1;
	}
	return 0;
}

static bool any_interpreted(const struct run_config *cfg)
{
	for (int i = 0; i < cfg->n_strategies; i++)
		if (cfg->strategies[i]->interpreted)
			return true;
	return false;
}

/* The variant's strategies: the interpreted ones, and serial and gil in the
 * default suite; the workload itself keeps the compiled ones (matrix.c). */
static void variant_strategies(const struct run_config *cfg, struct bench_workload *v)
{
	const struct runner_ops *twins[] = {runner_find("serial"), runner_find("gil")};
	for (int i = 0; i < cfg->n_strategies; i++)
		if (cfg->strategies[i]->interpreted)
			v->only[v->n_only++] = cfg->strategies[i];
	for (size_t k = 0; cfg->default_suite && k < 2; k++)
		if (twins[k] != NULL && chosen(cfg, twins[k]) && v->n_only < CLI_MAX_LIST)
			v->only[v->n_only++] = twins[k];
}

int suite_add_python_variants(struct bench_run *run, char *err, size_t errlen)
{
	const struct run_config *cfg = &run->cfg;
	int n = run->n_workloads;
	if (!any_interpreted(cfg))
		return 0;
	for (int i = 0; i < n; i++) {
		struct bench_workload *base = &run->workloads[i];
		const struct workload_ops *ops = base->w.ops;
		const char *sizes = cfg->quick ? ops->python_quick_sizes : ops->python_sizes;
		if (base->variant[0] != '\0' || sizes == NULL)
			continue;
		struct bench_workload *v = &run->workloads[run->n_workloads];
		memset(v, 0, sizeof(*v));
		v->w.ops = ops;
		params_init(&v->w.params, ops->params, cfg->quick);
		if (apply_sizes(&v->w.params, sizes, err, errlen) != 0 ||
		    apply_overrides(cfg, ops, &v->w.params, err, errlen) != 0)
			return -1;
		sizing_apply_tasks(run, v);
		if ((ops->check != NULL && ops->check(&v->w, err, errlen) != 0))
			return -1;
		snprintf(v->variant, sizeof(v->variant), "python sizes");
		variant_strategies(cfg, v);
		base->has_python_variant = true;
		run->n_workloads++;
	}
	return 0;
}
