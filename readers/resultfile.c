/* Reading result files back: the loader and checks shared by `report` and
 * `compare`, and the rank test `compare` judges differences with. */
#include "readers/resultfile.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

double rf_num(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *rf_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

const char *rf_str_or(json_t *obj, const char *key, const char *dflt)
{
	const char *s = rf_str(obj, key);
	return s != NULL ? s : dflt;
}

static int load_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* err gets one line: a control byte (in a file's name, say) becomes '?'. */
static int load_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (char *c = err; errlen > 0 && *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return -1;
}

static const char *type_name(json_t *v)
{
	switch (v == NULL ? -1 : (int)json_typeof(v)) {
	case -1:
		return "missing";
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* The URL of the server `run` started for workload, if it did: it names an
 * ephemeral port, so it is no part of what the cell measured. */
static const char *managed_url(json_t *doc, const char *workload)
{
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(doc, "servers"), i, s)
	{
		const char *w = rf_str(s, "workload");
		if (w != NULL && strcmp(w, workload) == 0 &&
		    json_is_true(json_object_get(s, "managed")))
			return rf_str(s, "url");
	}
	return NULL;
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void append(char **buf, size_t *len, size_t *cap, const char *text)
{
	size_t n = strlen(text);
	if (*len + n + 1 > *cap) {
		size_t want = (*len + n + 1) * 2;
		char *p = realloc(*buf, want);
		if (p == NULL)
			return;
		*buf = p;
		*cap = want;
	}
	memcpy(*buf + *len, text, n + 1);
	*len += n;
}

static void value_text(json_t *v, char *out, size_t len)
{
	if (json_is_string(v))
		snprintf(out, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, len, "%.9g", json_real_value(v));
	else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
		snprintf(out, len, "%s", s ? s : "?");
		free(s);
	}
}

/* The cell's parameters as "key=value,..." sorted by key. */
static char *params_text(json_t *params, const char *skip_url)
{
	size_t n = json_object_size(params), k = 0, len = 0, cap = 0;
	const char **keys = calloc(n + 1, sizeof(*keys));
	char *buf = NULL;
	const char *key;
	json_t *v;
	append(&buf, &len, &cap, "");
	if (keys == NULL)
		return buf;
	json_object_foreach(params, key, v)
	{
		if (skip_url != NULL && json_is_string(v) &&
		    strcmp(json_string_value(v), skip_url) == 0)
			continue;
		keys[k++] = key;
	}
	qsort(keys, k, sizeof(*keys), compare_keys);
	for (size_t i = 0; i < k; i++) {
		char value[512];
		value_text(json_object_get(params, keys[i]), value, sizeof(value));
		if (i > 0)
			append(&buf, &len, &cap, ",");
		append(&buf, &len, &cap, keys[i]);
		append(&buf, &len, &cap, "=");
		append(&buf, &len, &cap, value);
	}
	free(keys);
	return buf;
}

/* An interval [lo, hi] of numbers (or nulls). */
static int read_interval(json_t *a, double *lo, double *hi)
{
	*lo = *hi = NAN;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) != 2)
		return -1;
	json_t *l = json_array_get(a, 0), *h = json_array_get(a, 1);
	if ((!json_is_number(l) && !json_is_null(l)) || (!json_is_number(h) && !json_is_null(h)))
		return -1;
	*lo = json_is_number(l) ? json_number_value(l) : NAN;
	*hi = json_is_number(h) ? json_number_value(h) : NAN;
	return 0;
}

static bool number_or_null(json_t *v)
{
	return v == NULL || json_is_number(v) || json_is_null(v);
}

/* The cell's wall time (median, its interval) and speedup (and its interval). */
static int read_cell_figures(struct rf_cell *cell, json_t *c, const char *p, size_t i, char *err,
                             size_t errlen)
{
	json_t *wall = json_object_get(c, "wall_s");
	if (wall != NULL && !json_is_object(wall) && !json_is_null(wall))
		return load_error(err, errlen, "%s: results[%zu].wall_s is %s, not an object", p, i,
		                  type_name(wall));
	if (!number_or_null(json_object_get(wall, "median")))
		return load_error(err, errlen, "%s: results[%zu].wall_s.median is %s, not a number",
		                  p, i, type_name(json_object_get(wall, "median")));
	cell->median = rf_num(wall, "median");
	if (read_interval(json_object_get(wall, "ci95"), &cell->ci_lo, &cell->ci_hi) != 0)
		return load_error(err, errlen, "%s: results[%zu].wall_s.ci95 is not [low, high]", p,
		                  i);
	if (!number_or_null(json_object_get(c, "speedup_vs_serial")))
		return load_error(err, errlen,
		                  "%s: results[%zu].speedup_vs_serial is %s, not a number", p, i,
		                  type_name(json_object_get(c, "speedup_vs_serial")));
	cell->speedup = rf_num(c, "speedup_vs_serial");
	if (read_interval(json_object_get(c, "speedup_ci95"), &cell->speedup_lo,
	                  &cell->speedup_hi) != 0)
		return load_error(err, errlen, "%s: results[%zu].speedup_ci95 is not [low, high]",
		                  p, i);
	return 0;
}

/* The finite wall_s of each of the cell's samples. */
static int read_cell_samples(struct rf_cell *cell, json_t *c, const char *p, size_t i, char *err,
                             size_t errlen)
{
	json_t *samples = json_object_get(c, "samples");
	if (samples != NULL && !json_is_array(samples) && !json_is_null(samples))
		return load_error(err, errlen, "%s: results[%zu].samples is %s, not an array", p, i,
		                  type_name(samples));
	cell->samples = calloc(json_array_size(samples) + 1, sizeof(double));
	if (cell->samples == NULL)
		return load_error(err, errlen, "%s: out of memory", p);
	size_t k;
	json_t *s;
	json_array_foreach(samples, k, s)
	{
		if (!json_is_object(s) || !number_or_null(json_object_get(s, "wall_s")))
			return load_error(
			    err, errlen,
			    "%s: results[%zu].samples[%zu] is not an object with a number "
			    "wall_s",
			    p, i, k);
		double w = rf_num(s, "wall_s");
		if (isfinite(w))
			cell->samples[cell->n_samples++] = w;
	}
	return 0;
}

static int read_cell(struct result_file *rf, size_t i, json_t *c, char *err, size_t errlen)
{
	struct rf_cell *cell = &rf->cells[i];
	const char *p = rf->path;
	cell->json = c;
	cell->index = i;
	if (!json_is_object(c))
		return load_error(err, errlen, "%s: results[%zu] is %s, not an object", p, i,
		                  type_name(c));
	static const char *const strings[] = {"workload", "strategy"};
	for (size_t k = 0; k < 2; k++)
		if (!json_is_string(json_object_get(c, strings[k])))
			return load_error(err, errlen, "%s: results[%zu].%s is %s, not a string", p,
			                  i, strings[k], type_name(json_object_get(c, strings[k])));
	cell->workload = rf_str(c, "workload");
	cell->strategy = rf_str(c, "strategy");
	cell->kind = rf_str(c, "kind") ? rf_str(c, "kind") : "";
	json_t *workers = json_object_get(c, "workers");
	if (!json_is_integer(workers) || json_integer_value(workers) < 1 ||
	    json_integer_value(workers) > 100000000)
		return load_error(err, errlen,
		                  "%s: results[%zu].workers is %s, not a positive integer", p, i,
		                  json_is_integer(workers) ? "out of range" : type_name(workers));
	cell->workers = (int)json_integer_value(workers);
	json_t *params = json_object_get(c, "params");
	if (params != NULL && !json_is_object(params) && !json_is_null(params))
		return load_error(err, errlen, "%s: results[%zu].params is %s, not an object", p, i,
		                  type_name(params));
	cell->params = params_text(params, managed_url(rf->doc, cell->workload));
	cell->params_len = strlen(cell->params);
	json_t *sp = json_object_get(c, "strategy_params");
	if (sp != NULL && !json_is_object(sp) && !json_is_null(sp))
		return load_error(err, errlen,
		                  "%s: results[%zu].strategy_params is %s, not an object", p, i,
		                  type_name(sp));
	cell->strategy_params = params_text(sp, NULL);
	json_t *ballast = json_object_get(c, "ballast_mb");
	if (json_is_integer(ballast) && json_integer_value(ballast) != 0) {
		char *with = NULL;
		if (asprintf(&with, "%s%sballast_mb=%lld", cell->params,
		             cell->params_len ? "," : "",
		             (long long)json_integer_value(ballast)) < 0)
			return load_error(err, errlen, "%s: out of memory", p);
		free(cell->params);
		cell->params = with;
	}
	json_t *error = json_object_get(c, "error");
	if (error != NULL && !json_is_null(error) && !json_is_string(error))
		return load_error(err, errlen, "%s: results[%zu].error is %s, not a string or null",
		                  p, i, type_name(error));
	cell->error = json_string_value(error);
	if (read_cell_figures(cell, c, p, i, err, errlen) != 0 ||
	    read_cell_samples(cell, c, p, i, err, errlen) != 0)
		return -1;
	cell->ok = cell->error == NULL && !json_is_false(json_object_get(c, "checksum_ok")) &&
	           isfinite(cell->median) && cell->median > 0;
	return 0;
}

/* A count read as a number: 0 ("unknown") when it is absent, negative, or too
 * large to be one (converting 1e300 to a long is undefined behaviour). */
static long count_or_zero(double v)
{
	return isfinite(v) && v >= 0 && v <= 1e15 ? (long)v : 0;
}

static int index_cells(struct result_file *rf);

static int check_document(struct result_file *rf, char *err, size_t errlen)
{
	json_t *doc = rf->doc;
	const char *p = rf->path;
	if (!json_is_object(doc))
		return load_error(err, errlen, "%s: not a concbench result (the top level is %s)",
		                  p, type_name(doc));
	json_t *version = json_object_get(doc, "schema_version");
	if (version == NULL)
		return load_error(err, errlen, "%s: not a concbench result (no schema_version)", p);
	if (!json_is_integer(version))
		return load_error(err, errlen, "%s: schema_version is %s, not an integer", p,
		                  type_name(version));
	if (json_integer_value(version) != RESULT_SCHEMA_VERSION)
		return load_error(err, errlen,
		                  "%s: schema_version %lld; this concbench reads version %d only",
		                  p, (long long)json_integer_value(version), RESULT_SCHEMA_VERSION);
	json_t *results = json_object_get(doc, "results");
	if (!json_is_array(results))
		return load_error(err, errlen, "%s: results is %s, not an array", p,
		                  type_name(results));
	json_t *machine = json_object_get(doc, "machine");
	if (!json_is_object(machine))
		return load_error(err, errlen, "%s: machine is %s, not an object", p,
		                  type_name(machine));
	json_t *config = json_object_get(doc, "config");
	if (config != NULL && !json_is_object(config))
		return load_error(err, errlen, "%s: config is %s, not an object", p,
		                  type_name(config));
	rf->hostname = rf_str(machine, "hostname") ? rf_str(machine, "hostname") : "unknown host";
	rf->cpu_model = rf_str(machine, "cpu_model") ? rf_str(machine, "cpu_model") : "unknown CPU";
	rf->created_at = rf_str(doc, "created_at") ? rf_str(doc, "created_at") : "";
	rf->cores = count_or_zero(rf_num(json_object_get(machine, "topology"), "cores"));
	rf->switch_interval_us = count_or_zero(rf_num(config, "switch_interval_us"));

	rf->n_cells = json_array_size(results);
	rf->cells = calloc(rf->n_cells + 1, sizeof(*rf->cells));
	if (rf->cells == NULL)
		return load_error(err, errlen, "%s: out of memory", p);
	for (size_t i = 0; i < rf->n_cells; i++)
		if (read_cell(rf, i, json_array_get(results, i), err, errlen) != 0)
			return -1;
	if (index_cells(rf) != 0)
		return load_error(err, errlen, "%s: out of memory", p);
	return 0;
}

/* Text from a result file ends up on a terminal and in markdown: a control
 * character (an escape sequence in a hostname, a newline in an error) becomes
 * '?', in every string of the document, before anything reads it. */
/* The length of the terminal-unsafe character at s (n bytes left), 0 for a
 * safe one: a C0 control or DEL (1 byte), a C1 control U+0080..U+009F (the
 * UTF-8 C2 80..C2 9F; U+009B is CSI), or a line or paragraph separator
 * U+2028/U+2029 (E2 80 A8/A9). */
static size_t unsafe_at(const unsigned char *s, size_t n)
{
	if (s[0] < 0x20 || s[0] == 0x7f)
		return 1;
	if (n >= 2 && s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
		return 2;
	if (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9))
		return 3;
	return 0;
}

static bool has_unsafe(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (unsafe_at(s + i, n - i) != 0)
			return true;
	return false;
}

static void defang_strings(json_t *v)
{
	if (json_is_string(v)) {
		const unsigned char *s = (const unsigned char *)json_string_value(v);
		size_t n = json_string_length(v);
		if (!has_unsafe(s, n))
			return;
		char *copy = malloc(n + 1);
		if (copy == NULL)
			return;
		size_t out = 0;
		for (size_t i = 0; i < n;) {
			size_t k = unsafe_at(s + i, n - i);
			copy[out++] = k != 0 ? '?' : (char)s[i];
			i += k != 0 ? k : 1;
		}
		copy[out] = '\0';
		json_string_setn(v, copy, out);
		free(copy);
	} else if (json_is_object(v)) {
		const char *key;
		json_t *item;
		json_object_foreach(v, key, item) defang_strings(item);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *item;
		json_array_foreach(v, i, item) defang_strings(item);
	}
}

int result_file_load_buffer(const char *name, const char *data, size_t len, struct result_file *rf,
                            char *err, size_t errlen)
{
	memset(rf, 0, sizeof(*rf));
	rf->path = strdup(name);
	if (rf->path == NULL)
		return load_error(err, errlen, "%s: out of memory", name);
	json_error_t e;
	rf->doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &e);
	if (rf->doc == NULL) {
		/* jansson quotes the bytes near the error, which may be anything:
		 * printable ASCII only, not half a UTF-8 character or an escape. */
		for (char *c = e.text; *c != '\0'; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
				*c = '?';
		load_error(err, errlen, "%s:%d:%d: %s", name, e.line, e.column, e.text);
		result_file_free(rf);
		return -1;
	}
	defang_strings(rf->doc);
	if (check_document(rf, err, errlen) != 0) {
		result_file_free(rf);
		return -1;
	}
	return 0;
}

#define DEFAULT_INPUT_CAP_MB 256

/* The most bytes a reader takes in: CONCBENCH_MAX_INPUT_MB, else 256 MiB
 * (a default-suite file is under 1 MiB; a 100,000-repetition sweep some
 * tens). Without one, `report /dev/zero` grew past 3 GB before failing. */
static int input_cap(size_t *cap, char *err, size_t errlen)
{
	const char *env = getenv("CONCBENCH_MAX_INPUT_MB");
	if (env == NULL || *env == '\0') {
		*cap = (size_t)DEFAULT_INPUT_CAP_MB << 20;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long mb = strtoull(env, &end, 10);
	if (errno != 0 || *end != '\0' || env[0] < '0' || env[0] > '9' || mb < 1 ||
	    mb > (SIZE_MAX >> 21))
		return load_error(
		    err, errlen,
		    "CONCBENCH_MAX_INPUT_MB='%s' is not a whole number of MiB from 1 to %zu", env,
		    (size_t)(SIZE_MAX >> 21));
	*cap = (size_t)mb << 20;
	return 0;
}

static int over_cap(const char *path, size_t cap, char *err, size_t errlen)
{
	return load_error(
	    err, errlen,
	    "%s: larger than the readers' cap of %zu MiB (set CONCBENCH_MAX_INPUT_MB to "
	    "read it)",
	    path, cap >> 20);
}

/* Reads all of f, or fails once it holds more than cap bytes: a pipe or a
 * device has no size to check first. */
static char *read_capped(FILE *f, const char *path, size_t cap, size_t *lenp, char *err,
                         size_t errlen)
{
	char *data = NULL;
	size_t len = 0, room = 0;
	for (;;) {
		if (room - len < 65536) {
			size_t want = room ? room * 2 : 1 << 20;
			if (want > cap + 1)
				want = cap + 1; /* room for one byte past the cap, no more */
			char *p = realloc(data, want);
			if (p == NULL) {
				free(data);
				load_error(err, errlen, "%s: out of memory", path);
				return NULL;
			}
			data = p;
			room = want;
		}
		size_t ask = room - len;
		if (ask > cap + 1 - len)
			ask = cap + 1 - len; /* one byte past the cap is enough to know */
		size_t n = fread(data + len, 1, ask, f);
		len += n;
		if (len > cap) {
			free(data);
			over_cap(path, cap, err, errlen);
			return NULL;
		}
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		int e = errno;
		free(data);
		load_error(err, errlen, "%s: cannot read: %s", path, strerror(e));
		return NULL;
	}
	*lenp = len;
	return data;
}

int result_file_load(const char *path, struct result_file *rf, char *err, size_t errlen)
{
	memset(rf, 0, sizeof(*rf));
	size_t cap = 0;
	if (input_cap(&cap, err, errlen) != 0)
		return -1;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return load_error(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	/* A regular file's size is known: refuse it before reading a byte. */
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (uintmax_t)st.st_size > cap) {
		fclose(f);
		return over_cap(path, cap, err, errlen);
	}
	/* Read to the end (the file may be a pipe), then parse from memory. */
	size_t len = 0;
	char *data = read_capped(f, path, cap, &len, err, errlen);
	fclose(f);
	if (data == NULL)
		return -1;
	int rc = result_file_load_buffer(path, data, len, rf, err, errlen);
	free(data);
	return rc;
}

void result_file_free(struct result_file *rf)
{
	for (size_t i = 0; rf->cells != NULL && i < rf->n_cells; i++) {
		free(rf->cells[i].params);
		free(rf->cells[i].strategy_params);
		free(rf->cells[i].samples);
	}
	free(rf->cells);
	free(rf->by_cell);
	free(rf->by_group);
	json_decref(rf->doc);
	free(rf->path);
	memset(rf, 0, sizeof(*rf));
}

/* ---- finding cells: two sorted indexes instead of scans ---------------------
 * A file of 50,000 cells made `report` and `compare` quadratic; each lookup
 * now is a binary search in rf->by_cell (workload, params, strategy, workers,
 * file order), and a group's cells (same workload and params) are a run of
 * rf->by_group (workload, params, file order). */

struct cell_key {
	const char *workload, *params;
	size_t params_len;
	const char *strategy; /* NULL: any */
	int workers;          /* INT_MIN: any */
};

static int cmp_params(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	return c != 0 ? c : (alen > blen) - (alen < blen);
}

static int cmp_group(const struct rf_cell *a, const struct rf_cell *b)
{
	int c = strcmp(a->workload, b->workload);
	return c != 0 ? c : strcmp(a->params, b->params);
}

static int cmp_by_group(const void *pa, const void *pb)
{
	const struct rf_cell *a = *(const struct rf_cell *const *)pa;
	const struct rf_cell *b = *(const struct rf_cell *const *)pb;
	int c = cmp_group(a, b);
	return c != 0 ? c : (a->index > b->index) - (a->index < b->index);
}

static int cmp_by_cell(const void *pa, const void *pb)
{
	const struct rf_cell *a = *(const struct rf_cell *const *)pa;
	const struct rf_cell *b = *(const struct rf_cell *const *)pb;
	int c = cmp_group(a, b);
	if (c == 0)
		c = strcmp(a->strategy, b->strategy);
	if (c == 0)
		c = (a->workers > b->workers) - (a->workers < b->workers);
	return c != 0 ? c : (a->index > b->index) - (a->index < b->index);
}

/* The cell against the key, a wildcard comparing equal. */
static int cmp_key(const struct rf_cell *c, const struct cell_key *k)
{
	int r = strcmp(c->workload, k->workload);
	if (r == 0)
		r = cmp_params(c->params, strlen(c->params), k->params, k->params_len);
	if (r == 0 && k->strategy != NULL)
		r = strcmp(c->strategy, k->strategy);
	if (r == 0 && k->workers != INT_MIN)
		r = (c->workers > k->workers) - (c->workers < k->workers);
	return r;
}

/* The first cell of rf->by_cell matching k, or NULL. */
static const struct rf_cell *find_first(const struct result_file *rf, const struct cell_key *k)
{
	size_t lo = 0, hi = rf->n_cells;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_key(rf->by_cell[mid], k) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < rf->n_cells && cmp_key(rf->by_cell[lo], k) == 0 ? rf->by_cell[lo] : NULL;
}

static int index_cells(struct result_file *rf)
{
	size_t n = rf->n_cells;
	rf->by_cell = malloc((n + 1) * sizeof(*rf->by_cell));
	rf->by_group = malloc((n + 1) * sizeof(*rf->by_group));
	if (rf->by_cell == NULL || rf->by_group == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		rf->by_cell[i] = rf->by_group[i] = &rf->cells[i];
	qsort(rf->by_cell, n, sizeof(*rf->by_cell), cmp_by_cell);
	qsort(rf->by_group, n, sizeof(*rf->by_group), cmp_by_group);
	for (size_t i = 0; i < n; i++) {
		rf->by_group[i]->group_pos = i;
		bool first = i == 0 || cmp_group(rf->by_group[i - 1], rf->by_group[i]) != 0;
		rf->by_group[i]->group_first = first ? i : rf->by_group[i - 1]->group_first;
	}
	for (size_t i = n; i-- > 0;) {
		bool last = i + 1 == n || cmp_group(rf->by_group[i], rf->by_group[i + 1]) != 0;
		rf->by_group[i]->group_end = last ? i + 1 : rf->by_group[i + 1]->group_end;
	}
	return 0;
}

const struct rf_cell *const *result_file_group(const struct result_file *rf,
                                               const struct rf_cell *c, size_t *n)
{
	*n = c->group_end - c->group_first;
	return (const struct rf_cell *const *)rf->by_group + c->group_first;
}

const struct rf_cell *result_file_find(const struct result_file *rf, const struct rf_cell *like,
                                       const char *strategy, int workers)
{
	struct cell_key k = {like->workload, like->params, strlen(like->params), strategy, workers};
	return find_first(rf, &k);
}

const struct rf_cell *result_file_match(const struct result_file *rf, const struct rf_cell *like)
{
	return result_file_find(rf, like, like->strategy, like->workers);
}

/* The serial cell with the same ballast, else the one without (as `run`
 * takes speedups). */
const struct rf_cell *result_file_serial(const struct result_file *rf, const struct rf_cell *c)
{
	const struct rf_cell *s = result_file_find(rf, c, "serial", INT_MIN);
	if (s != NULL)
		return s;
	struct cell_key k = {c->workload, c->params, c->params_len, "serial", INT_MIN};
	return find_first(rf, &k);
}

bool result_files_same_machine(const struct result_file *a, const struct result_file *b, char *why,
                               size_t len)
{
	if (strcmp(a->hostname, b->hostname) != 0)
		snprintf(why, len, "hostnames differ (%s, %s)", a->hostname, b->hostname);
	else if (strcmp(a->cpu_model, b->cpu_model) != 0)
		snprintf(why, len, "CPU models differ (%s, %s)", a->cpu_model, b->cpu_model);
	else if (a->cores != b->cores)
		snprintf(why, len, "core counts differ (%ld, %ld)", a->cores, b->cores);
	else {
		if (len > 0)
			why[0] = '\0';
		return true;
	}
	return false;
}

void result_file_machine_label(const struct result_file *rf, char *buf, size_t len)
{
	if (rf->cores > 0)
		snprintf(buf, len, "%s (%s, %ld core%s)", rf->hostname, rf->cpu_model, rf->cores,
		         rf->cores == 1 ? "" : "s");
	else
		snprintf(buf, len, "%s (%s)", rf->hostname, rf->cpu_model);
}

/* ---- text ------------------------------------------------------------- */

/* The "key=value" items of params that other lacks, comma-separated. */
void rf_params_difference(const char *params, const char *other, char *out, size_t len)
{
	char *copy = strdup(params), *save = NULL;
	size_t used = 0;
	out[0] = '\0';
	for (char *item = copy ? strtok_r(copy, ",", &save) : NULL; item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(item);
		bool present = false;
		for (const char *p = other; (p = strstr(p, item)) != NULL; p += n)
			present |= (p == other || p[-1] == ',') && (p[n] == ',' || p[n] == '\0');
		if (!present && used + n + 2 < len)
			used +=
			    (size_t)snprintf(out + used, len - used, "%s%s", used ? "," : "", item);
	}
	free(copy);
	if (out[0] == '\0')
		snprintf(out, len, "%s", params);
}

void rf_fmt_duration(double s, char *buf, size_t len)
{
	static const struct {
		double scale;
		const char *unit;
	} units[] = {{1, "s"}, {1e-3, "ms"}, {1e-6, "us"}, {1e-9, "ns"}};
	if (!isfinite(s)) {
		snprintf(buf, len, "-");
		return;
	}
	size_t u = 0;
	while (u + 1 < sizeof(units) / sizeof(units[0]) && fabs(s) < units[u].scale)
		u++;
	double v = s / units[u].scale;
	/* 99.95 ms would print as 100.0: round first, then pick the decimals */
	int decimals = fabs(v) >= 99.95 ? 0 : fabs(v) >= 9.995 ? 1 : 2;
	snprintf(buf, len, "%.*f %s", decimals, v, units[u].unit);
}

void rf_table_init(struct rf_table *t, size_t cols, const char *align)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	t->align = align;
}

void rf_table_row(struct rf_table *t, const char *const *cells)
{
	if (t->rows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **p = realloc(t->text, cap * t->cols * sizeof(*p));
		if (p == NULL)
			return;
		t->text = p;
		t->cap = cap;
	}
	for (size_t c = 0; c < t->cols; c++)
		t->text[t->rows * t->cols + c] = strdup(cells[c] ? cells[c] : "");
	t->rows++;
}

void rf_table_free(struct rf_table *t)
{
	for (size_t i = 0; i < t->rows * t->cols; i++)
		free(t->text[i]);
	free(t->text);
	memset(t, 0, sizeof(*t));
}

/* Columns of UTF-8 text as a terminal shows them (no wide characters here). */
static size_t display_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

void rf_print_markdown(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", out);
		else if (*s == '\n' || *s == '\r')
			fputc(' ', out);
		else
			fputc(*s, out);
	}
}

void rf_table_print(const struct rf_table *t, FILE *out, bool markdown, int indent)
{
	size_t width[t->cols + 1];
	for (size_t c = 0; c < t->cols; c++) {
		width[c] = 0;
		for (size_t r = 0; r < t->rows; r++) {
			size_t w = display_width(t->text[r * t->cols + c]);
			width[c] = w > width[c] ? w : width[c];
		}
	}
	for (size_t r = 0; r < t->rows; r++) {
		if (markdown) {
			fputs("|", out);
			for (size_t c = 0; c < t->cols; c++) {
				fputs(" ", out);
				rf_print_markdown(out, t->text[r * t->cols + c]);
				fputs(" |", out);
			}
			fputs("\n", out);
			if (r == 0) {
				fputs("|", out);
				for (size_t c = 0; c < t->cols; c++)
					fputs(t->align[c] == 'r' ? "---:|" : ":---|", out);
				fputs("\n", out);
			}
			continue;
		}
		fprintf(out, "%*s", indent, "");
		size_t cols = t->cols; /* no trailing blanks for empty cells at the end */
		while (cols > 1 && t->text[r * t->cols + cols - 1][0] == '\0')
			cols--;
		for (size_t c = 0; c < cols; c++) {
			const char *s = t->text[r * t->cols + c];
			size_t pad = width[c] - display_width(s);
			bool last = c + 1 == cols;
			if (t->align[c] == 'r')
				fprintf(out, "%*s%s", (int)pad, "", s);
			else
				fprintf(out, "%s%*s", s, last ? 0 : (int)pad, "");
			fputs(last ? "\n" : "  ", out);
		}
	}
}

/* ---- Mann-Whitney U ---------------------------------------------------- */

/* Exact when there are no ties and C(na+nb, na) stays well inside a double's
 * exact range of counts; beyond that the normal approximation is good. */
#define EXACT_MAX_N 60

double mann_whitney_min_p(size_t na, size_t nb)
{
	if (na == 0 || nb == 0)
		return 1;
	double c = 1; /* C(na+nb, na) */
	for (size_t i = 1; i <= na; i++)
		c = c * (double)(nb + i) / (double)i;
	return fmin(1, 2 / c);
}

/* The counts of U = 0 .. m*n over all C(m+n, m) orderings without ties: the
 * coefficients of the Gaussian binomial [m+n choose m]_q, built as
 * prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i). */
static double *u_distribution(size_t m, size_t n)
{
	size_t top = m * n;
	double *c = calloc(top + 1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c[0] = 1;
	size_t deg = 0;
	for (size_t i = 1; i <= m; i++) {
		size_t step = n + i, high = deg + step < top ? deg + step : top;
		/* multiply by (1 - q^step), from the top down */
		for (size_t k = high; k >= step; k--)
			c[k] -= c[k - step];
		deg += n; /* the quotient by (1 - q^i) has degree deg + n */
		/* divide by (1 - q^i): c[k] += c[k - i] in increasing k */
		for (size_t k = i; k <= deg; k++)
			c[k] += c[k - i];
		/* the division is exact: what lies above the quotient's degree is gone */
		for (size_t k = deg + 1; k <= high; k++)
			c[k] = 0;
	}
	return c;
}

struct ranked {
	double v;
	bool from_a;
};

static int cmp_ranked(const void *a, const void *b)
{
	double x = ((const struct ranked *)a)->v, y = ((const struct ranked *)b)->v;
	return (x > y) - (x < y);
}

/* U of a (pairs where a beats b, ties counting one half) from a's rank sum in
 * the pooled, sorted samples, with midranks for ties: O(n log n), where
 * counting the pairs took 10^10 steps for two cells of 100,000 samples. The
 * sum of t^3 - t over the groups of ties goes to *tie_sum. Returns -1 when
 * out of memory. */
static double u_of_a(const double *a, size_t na, const double *b, size_t nb, double *tie_sum)
{
	size_t n = na + nb;
	struct ranked *pool = malloc(n * sizeof(*pool));
	if (pool == NULL)
		return -1;
	for (size_t i = 0; i < na; i++)
		pool[i] = (struct ranked){a[i], true};
	for (size_t i = 0; i < nb; i++)
		pool[na + i] = (struct ranked){b[i], false};
	qsort(pool, n, sizeof(*pool), cmp_ranked);
	double rank_sum = 0;
	*tie_sum = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i, in_a = 0;
		for (; j < n && pool[j].v == pool[i].v; j++)
			in_a += pool[j].from_a;
		double t = (double)(j - i), midrank = (double)(i + 1 + j) / 2;
		rank_sum += midrank * (double)in_a;
		*tie_sum += t * t * t - t;
		i = j;
	}
	free(pool);
	return rank_sum - (double)na * ((double)na + 1) / 2;
}

double mann_whitney_p(const double *a, size_t na, const double *b, size_t nb)
{
	if (na == 0 || nb == 0)
		return 1;
	size_t n = na + nb;
	double tie_sum;
	double ua = u_of_a(a, na, b, nb, &tie_sum);
	if (ua < 0)
		return 1;

	double mn = (double)na * (double)nb;
	double u = fmin(ua, mn - ua);
	if (tie_sum == 0 && n <= EXACT_MAX_N) {
		double *dist = u_distribution(na, nb);
		if (dist != NULL) {
			double total = 0, below = 0;
			for (size_t k = 0; k <= na * nb; k++) {
				total += dist[k];
				if ((double)k <= u)
					below += dist[k];
			}
			free(dist);
			return fmin(1, 2 * below / total);
		}
	}
	double nn = (double)n;
	double var = mn / 12 * ((nn + 1) - tie_sum / (nn * (nn - 1)));
	if (var <= 0)
		return 1;
	double z = (mn / 2 - u - 0.5) / sqrt(var);
	if (z <= 0)
		return 1;
	return fmin(1, erfc(z / sqrt(2)));
}
