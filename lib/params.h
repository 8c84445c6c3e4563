/* Workload parameters: declared by each workload, overridden with -p WORKLOAD.KEY=VALUE. */
#ifndef CONCBENCH_PARAMS_H
#define CONCBENCH_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PARAM_MAX      16
#define PARAM_TEXT_MAX 256

/* Integers are the norm; a text parameter holds a path or a URL, and a choice
 * parameter one of a few names (stored as its index, so it stays a number). */
enum param_type { PARAM_INT = 0, PARAM_TEXT, PARAM_CHOICE };

struct param_def {
	const char *key;
	int64_t def;   /* default (a choice's index) */
	int64_t quick; /* default under --quick */
	int64_t min;
	int64_t max;
	const char *help;
	enum param_type type;
	const char *text_def;       /* PARAM_TEXT: the default text */
	const char *const *choices; /* PARAM_CHOICE: the names, NULL-terminated */
	/* A fault the tests inject (a corrupt element, a failing server): the
	 * result records its default as the value when off (config.
	 * fault_hooks_off), and the report's headings leave it out at that value,
	 * since a reader of the workload's sizes learns nothing from it. The
	 * cells' params keep it, so that cells match across versions. */
	bool hook;
};

/* Table entries: designated, so that the text and choice fields may be left out. */
#define PARAM_INT_DEF(k, d, q, lo, hi, h)                                                          \
	{                                                                                          \
		.key = (k), .def = (d), .quick = (q), .min = (lo), .max = (hi), .help = (h)        \
	}
#define PARAM_INT_HOOK_DEF(k, d, q, lo, hi, h)                                                     \
	{                                                                                          \
		.key = (k), .def = (d), .quick = (q), .min = (lo), .max = (hi), .help = (h),       \
		.hook = true                                                                       \
	}
#define PARAM_TEXT_DEF(k, dflt, h)                                                                 \
	{                                                                                          \
		.key = (k), .max = PARAM_TEXT_MAX - 1, .help = (h), .type = PARAM_TEXT,            \
		.text_def = (dflt)                                                                 \
	}
/* choices: a NULL-terminated array of names; d and q index it. */
#define PARAM_CHOICE_DEF(k, d, q, names, n, h)                                                     \
	{                                                                                          \
		.key = (k), .def = (d), .quick = (q), .max = (n)-1, .help = (h),                   \
		.type = PARAM_CHOICE, .choices = (names)                                           \
	}
#define PARAM_CHOICE_HOOK_DEF(k, d, q, names, n, h)                                                \
	{                                                                                          \
		.key = (k), .def = (d), .quick = (q), .max = (n)-1, .help = (h),                   \
		.type = PARAM_CHOICE, .choices = (names), .hook = true                             \
	}
#define PARAM_END                                                                                  \
	{                                                                                          \
		.key = NULL                                                                        \
	}

struct param_values {
	const struct param_def *defs;
	int64_t value[PARAM_MAX];
	char text[PARAM_MAX][PARAM_TEXT_MAX]; /* PARAM_TEXT values; a choice's name */
	unsigned set_by_user;                 /* bit i: value[i] came from -p */
};

void params_init(struct param_values *pv, const struct param_def *defs, int quick);
const struct param_def *params_find(const struct param_def *defs, const char *key, int *index);
int64_t param_get(const struct param_values *pv, const char *key);
/* Whether -p gave KEY (false for a key the workload does not declare). */
bool param_set_by_user(const struct param_values *pv, const char *key);
/* A text parameter's value, or a choice parameter's name. */
const char *param_get_text(const struct param_values *pv, const char *key);
/* Set a parameter as the program (not the user) decides, e.g. the managed
 * server's URL; same checks as params_set, and set_by_user stays clear. */
int params_set_internal(struct param_values *pv, const char *key, const char *value, char *err,
                        size_t errlen);
/* Parse and range-check VALUE for KEY. 0, or -1 with a one-line reason in err. */
int params_set(struct param_values *pv, const char *key, const char *value, char *err,
               size_t errlen);
size_t params_count(const struct param_def *defs);
/* The automatic sizing's setter (workload_ops.resize): sets integer KEY to
 * value, clamped to its range, unless -p set it; whether it did. */
bool params_resize_int(struct param_values *pv, const char *key, int64_t value);

#endif
