/* Workload parameters: declared by each workload, overridden with -p WORKLOAD.KEY=VALUE. */
#ifndef CONCBENCH_PARAMS_H
#define CONCBENCH_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#define PARAM_MAX 16

struct param_def {
	const char *key;
	int64_t def;   /* default */
	int64_t quick; /* default under --quick */
	int64_t min;
	int64_t max;
	const char *help;
};

struct param_values {
	const struct param_def *defs;
	int64_t value[PARAM_MAX];
	unsigned set_by_user; /* bit i: value[i] came from -p */
};

void params_init(struct param_values *pv, const struct param_def *defs, int quick);
const struct param_def *params_find(const struct param_def *defs, const char *key, int *index);
int64_t param_get(const struct param_values *pv, const char *key);
/* Parse and range-check VALUE for KEY. 0, or -1 with a one-line reason in err. */
int params_set(struct param_values *pv, const char *key, const char *value, char *err,
               size_t errlen);
size_t params_count(const struct param_def *defs);

#endif
