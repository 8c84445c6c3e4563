/* The JSON Schema of result files (schema/result.schema.json) against the
 * fixtures and files that break the contract. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support.h"

/* ---- the JSON Schema -------------------------------------------------------- */

Test(schema, schema_accepts_the_fixtures)
{
	go_to_root();
	const char *files[] = {FIXTURE_A, FIXTURE_B};
	for (size_t i = 0; i < 2; i++) {
		struct output o = validate(files[i]);
		cr_assert_eq(o.status, 0, "%s does not follow " SCHEMA ":\n%s%s", files[i], o.out,
		             o.err);
		output_free(&o);
	}
}

Test(schema, schema_rejects_what_breaks_the_contract, .init = make_tmpdir, .fini = remove_tmpdir)
{
	static const struct {
		const char *field, *json, *message;
	} bad[] = {
	    {"workers", "\"2\"", "$.results[3].workers: '2' is not of type 'integer'"},
	    {"kind", "\"gpu\"", "$.results[3].kind: 'gpu' is not one of"},
	    {"samples", "[{\"wall_s\": 1}]", "$.results[3].samples[0]: 'user_s' is a required"},
	    {"speedup_ci95", "[1]", "$.results[3].speedup_ci95"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *doc = load_json(FIXTURE_A);
		json_object_set_new(json_array_get(json_object_get(doc, "results"), 3),
		                    bad[i].field, json_loads(bad[i].json, JSON_DECODE_ANY, NULL));
		save_json(doc, tmp_path("bad.json"));
		json_decref(doc);
		struct output o = validate(tmp_path("bad.json"));
		cr_assert_neq(o.status, 0, "accepted %s = %s", bad[i].field, bad[i].json);
		cr_assert_not_null(strstr(o.err, bad[i].message), "want '%s' in:\n%s%s",
		                   bad[i].message, o.out, o.err);
		output_free(&o);
	}
	/* a missing core field, the version, and unknown fields (welcome) */
	json_t *doc = load_json(FIXTURE_A);
	json_object_del(doc, "machine");
	save_json(doc, tmp_path("no-machine.json"));
	json_decref(doc);
	struct output o = validate(tmp_path("no-machine.json"));
	cr_assert_neq(o.status, 0);
	/* the validator writes its findings to stderr */
	cr_assert_not_null(strstr(o.err, "$: 'machine' is a required property"), "%s", o.err);
	output_free(&o);
	o = validate(WRONG_VER);
	cr_assert_neq(o.status, 0);
	output_free(&o);
	doc = load_json(FIXTURE_A);
	json_object_set_new(doc, "summary", json_pack("{s:s}", "best", "threads"));
	json_object_set_new(json_array_get(json_object_get(doc, "results"), 0), "ballast_mb",
	                    json_integer(64));
	save_json(doc, tmp_path("more.json"));
	json_decref(doc);
	o = validate(tmp_path("more.json"));
	cr_assert_eq(o.status, 0, "unknown fields must be allowed: %s", o.out);
	output_free(&o);
}
