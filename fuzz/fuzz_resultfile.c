/* libFuzzer target: the result-file reader behind `report`, `compare` and
 * `claims` (result_file_load_buffer), and then what those commands compute
 * from a file it accepts: matching cells, the serial cell, machine labels,
 * parameter differences, durations, the rank test, every claim's verdict.
 *
 * Beyond the sanitizers it checks the loader's promises (resultfile.h): a
 * refusal is one line of printable text naming the file and leaves rf empty;
 * an accepted file has every cell filled in. Seeds: fuzz/corpus/resultfile/;
 * `make fuzz` runs it (build-fuzz/fuzz-resultfile CORPUS_DIR by hand). */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "readers/claims.h"
#include "readers/resultfile.h"

#define NAME "fuzz.json"

#define check(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_resultfile: %s: ", #cond);                           \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* One line a terminal shows as it is. The name is ASCII, so the whole
 * message must be: nothing from the document may come through raw. */
static int one_printable_line(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static void check_cell(const struct result_file *rf, const struct rf_cell *c, size_t i)
{
	check(c->index == i && c->json != NULL, "cell %zu", i);
	check(c->workload != NULL && c->strategy != NULL && c->kind != NULL, "cell %zu", i);
	check(c->workers >= 1, "cell %zu: %d workers", i, c->workers);
	check(c->params != NULL && c->params_len <= strlen(c->params), "cell %zu", i);
	check(c->n_samples <= json_array_size(json_object_get(c->json, "samples")), "cell %zu", i);
	for (size_t k = 0; k < c->n_samples; k++)
		check(isfinite(c->samples[k]), "cell %zu sample %zu", i, k);
	check(!c->ok || (isfinite(c->median) && c->median > 0), "cell %zu", i);
	/* report and compare look cells up by these */
	const struct rf_cell *m = result_file_match(rf, c);
	check(m != NULL && m->index <= i, "cell %zu does not match itself", i);
	const struct rf_cell *s = result_file_serial(rf, c);
	check(s == NULL || strcmp(s->strategy, "serial") == 0, "cell %zu", i);
	char buf[48];
	rf_fmt_duration(c->median, buf, sizeof(buf));
	check(strlen(buf) < sizeof(buf), "duration");
	const struct rf_cell *other = &rf->cells[(i + 1) % rf->n_cells];
	char diff[40];
	rf_params_difference(c->params, other->params, diff, sizeof(diff));
	check(strlen(diff) < sizeof(diff), "difference");
	/* the rank test (quadratic: bounded for larger -max_len) */
	size_t na = c->n_samples < 400 ? c->n_samples : 400;
	size_t nb = other->n_samples < 400 ? other->n_samples : 400;
	double p = mann_whitney_p(c->samples, na, other->samples, nb);
	check(p >= 0 && p <= 1, "p = %g for %zu against %zu samples", p, na, nb);
	double pmin = mann_whitney_min_p(na, nb);
	check(pmin > 0 && pmin <= 1, "min p = %g", pmin);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	if (sink == NULL)
		sink = fopen("/dev/null", "w");
	struct result_file rf;
	char err[1024] = "";
	if (result_file_load_buffer(NAME, (const char *)data, size, &rf, err, sizeof(err)) != 0) {
		check(strncmp(err, NAME ":", strlen(NAME) + 1) == 0, "'%s' does not name the file",
		      err);
		check(one_printable_line(err), "not one printable line: '%s'", err);
		check(rf.doc == NULL && rf.cells == NULL && rf.path == NULL, "rf is not empty");
		return 0;
	}
	check(rf.doc != NULL && strcmp(rf.path, NAME) == 0, "path");
	check(rf.hostname != NULL && rf.cpu_model != NULL && rf.created_at != NULL, "machine");
	check(rf.n_cells == json_array_size(json_object_get(rf.doc, "results")), "cells");
	for (size_t i = 0; i < rf.n_cells; i++)
		check_cell(&rf, &rf.cells[i], i);
	char label[256], why[256];
	result_file_machine_label(&rf, label, sizeof(label));
	check(result_files_same_machine(&rf, &rf, why, sizeof(why)), "%s", why);

	json_t *claims = claims_evaluate(rf.doc);
	/* the nine claims, and the interpreter's two where a py-* cell ran */
	check(json_array_size(claims) == 9 || json_array_size(claims) == 11, "%zu claims",
	      json_array_size(claims));
	size_t i;
	json_t *c;
	json_array_foreach(claims, i, c)
	{
		check(json_is_string(json_object_get(c, "verdict")), "claim %zu has no verdict", i);
		check(json_is_string(json_object_get(c, "reason")), "claim %zu has no reason", i);
	}
	if (sink != NULL)
		claims_print(claims, sink);
	json_decref(claims);
	result_file_free(&rf);
	return 0;
}
