#include "lib/params.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t params_count(const struct param_def *defs)
{
	size_t n = 0;
	while (defs != NULL && defs[n].key != NULL)
		n++;
	return n;
}

void params_init(struct param_values *pv, const struct param_def *defs, int quick)
{
	memset(pv, 0, sizeof(*pv));
	pv->defs = defs;
	for (size_t i = 0; i < params_count(defs) && i < PARAM_MAX; i++) {
		pv->value[i] = quick ? defs[i].quick : defs[i].def;
		if (defs[i].type == PARAM_TEXT && defs[i].text_def != NULL)
			snprintf(pv->text[i], sizeof(pv->text[i]), "%s", defs[i].text_def);
		else if (defs[i].type == PARAM_CHOICE)
			snprintf(pv->text[i], sizeof(pv->text[i]), "%s",
			         defs[i].choices[pv->value[i]]);
	}
}

const struct param_def *params_find(const struct param_def *defs, const char *key, int *index)
{
	for (size_t i = 0; i < params_count(defs); i++) {
		if (strcmp(defs[i].key, key) == 0) {
			if (index != NULL)
				*index = (int)i;
			return &defs[i];
		}
	}
	return NULL;
}

int64_t param_get(const struct param_values *pv, const char *key)
{
	int i;
	if (params_find(pv->defs, key, &i) == NULL) {
		/* A workload asking for a key it did not declare is a programming error. */
		fprintf(stderr, "concbench: internal error: undeclared parameter '%s'\n", key);
		abort();
	}
	return pv->value[i];
}

bool param_set_by_user(const struct param_values *pv, const char *key)
{
	int i;
	return params_find(pv->defs, key, &i) != NULL && (pv->set_by_user & (1u << i));
}

const char *param_get_text(const struct param_values *pv, const char *key)
{
	int i;
	if (params_find(pv->defs, key, &i) == NULL || pv->defs[i].type == PARAM_INT) {
		fprintf(stderr, "concbench: internal error: '%s' is not a text parameter\n", key);
		abort();
	}
	return pv->text[i];
}

/* Accepts plain integers with an optional binary suffix (k, M, G), as fio does. */
static int parse_scaled_int(const char *text, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (errno != 0 || end == text)
		return -1;
	int64_t scale = 1;
	if (*end == 'k' || *end == 'K')
		scale = 1024;
	else if (*end == 'm' || *end == 'M')
		scale = 1024 * 1024;
	else if (*end == 'g' || *end == 'G')
		scale = 1024 * 1024 * 1024;
	if (scale != 1)
		end++;
	if (*end != '\0')
		return -1;
	if (v > INT64_MAX / scale || v < INT64_MIN / scale)
		return -1;
	*out = (int64_t)v * scale;
	return 0;
}

static int set_text(struct param_values *pv, int i, const char *value, char *err, size_t errlen)
{
	const struct param_def *def = &pv->defs[i];
	if (strlen(value) >= sizeof(pv->text[i])) {
		snprintf(err, errlen, "parameter '%s' is longer than %d characters", def->key,
		         PARAM_TEXT_MAX - 1);
		return -1;
	}
	snprintf(pv->text[i], sizeof(pv->text[i]), "%s", value);
	pv->value[i] = (int64_t)strlen(value);
	return 0;
}

static int set_choice(struct param_values *pv, int i, const char *value, char *err, size_t errlen)
{
	const struct param_def *def = &pv->defs[i];
	char names[256] = "";
	for (int64_t c = 0; def->choices[c] != NULL; c++) {
		if (strcmp(def->choices[c], value) == 0) {
			pv->value[i] = c;
			snprintf(pv->text[i], sizeof(pv->text[i]), "%s", value);
			return 0;
		}
		size_t used = strlen(names);
		snprintf(names + used, sizeof(names) - used, "%s%s", c ? ", " : "",
		         def->choices[c]);
	}
	snprintf(err, errlen, "parameter '%s' must be one of %s, not '%s'", def->key, names, value);
	return -1;
}

static int set_value(struct param_values *pv, const char *key, const char *value, char *err,
                     size_t errlen, int *index)
{
	int i;
	const struct param_def *def = params_find(pv->defs, key, &i);
	if (def == NULL) {
		snprintf(err, errlen, "unknown parameter '%s'", key);
		return -1;
	}
	*index = i;
	if (def->type == PARAM_TEXT)
		return set_text(pv, i, value, err, errlen);
	if (def->type == PARAM_CHOICE)
		return set_choice(pv, i, value, err, errlen);
	int64_t v;
	if (parse_scaled_int(value, &v) != 0) {
		snprintf(err, errlen, "parameter '%s' needs an integer, not '%s'", key, value);
		return -1;
	}
	if (v < def->min || v > def->max) {
		snprintf(err, errlen,
		         "parameter '%s' must lie in [%" PRId64 ", %" PRId64 "], not %s", key,
		         def->min, def->max, value);
		return -1;
	}
	pv->value[i] = v;
	return 0;
}

int params_set(struct param_values *pv, const char *key, const char *value, char *err,
               size_t errlen)
{
	int i;
	if (set_value(pv, key, value, err, errlen, &i) != 0)
		return -1;
	pv->set_by_user |= 1u << i;
	return 0;
}

int params_set_internal(struct param_values *pv, const char *key, const char *value, char *err,
                        size_t errlen)
{
	int i;
	return set_value(pv, key, value, err, errlen, &i);
}

bool params_resize_int(struct param_values *pv, const char *key, int64_t value)
{
	int i;
	const struct param_def *d = params_find(pv->defs, key, &i);
	if (d == NULL || d->type != PARAM_INT || (pv->set_by_user & (1u << i)))
		return false;
	if (value < d->min)
		value = d->min;
	if (value > d->max)
		value = d->max;
	pv->value[i] = value;
	return true;
}
