/* Tests for the small commands and the messages a new user meets first:
 * `concbench version`, `list`'s columns, "did you mean" (bench/suggest.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "bench/cli.h"
#include "bench/suggest.h"
#include "tests/support.h"

Test(commands, version_names_the_version_and_the_commit_it_was_built_from)
{
	go_to_root();
	struct output head = sh("git rev-parse --short=12 HEAD 2>/dev/null");
	const char *spellings[] = {"version", "-V", "--version"};
	char first[512] = "";
	for (size_t i = 0; i < 3; i++) {
		struct output o = sh("%s %s", CONCBENCH_BIN, spellings[i]);
		cr_assert_eq(o.status, 0, "%s: exit %d: %s", spellings[i], o.status, o.err);
		cr_assert_eq(strncmp(o.out, "concbench 0.1.0 (commit ", 24), 0, "%s", o.out);
		if (head.status == 0 && head.out[0] != '\0') {
			/* the commit the tree is at: make rebuilds machine.o when it changes */
			head.out[strcspn(head.out, "\n")] = '\0';
			cr_assert_eq(strncmp(o.out + 24, head.out, strlen(head.out)), 0,
			             "%s says another commit than %s", o.out, head.out);
		}
		if (i == 0)
			snprintf(first, sizeof(first), "%s", o.out);
		cr_assert_str_eq(o.out, first, "%s prints otherwise than version", spellings[i]);
		output_free(&o);
	}
	output_free(&head);
}

Test(commands, version_of_a_tarball_comes_from_its_commit_file)
{
	go_to_root();
	/* scripts/git-commit outside any git checkout: .commit, as git archive
	 * writes it, or "unknown" while it still holds the placeholder. */
	struct output o =
	    sh("(d=$(mktemp -d) && mkdir -p $d/scripts && cp scripts/git-commit $d/scripts/ "
	       "&& printf '%%s\\n' '$Format:%%h$' >$d/.commit "
	       "&& GIT_DIR=/nonexistent $d/scripts/git-commit "
	       "&& echo 0123abcd >$d/.commit && GIT_DIR=/nonexistent $d/scripts/git-commit; "
	       "s=$?; rm -rf $d; exit $s)");
	cr_assert_eq(o.status, 0, "%s", o.err);
	cr_assert_str_eq(o.out, "unknown\n0123abcd\n");
	output_free(&o);
}

/* Every parameter line's default starts in the same column, and every
 * strategy's Python analogue too, whatever the names' lengths. */
Test(commands, list_lines_up_its_columns)
{
	struct output o = sh("%s list", CONCBENCH_BIN);
	cr_assert_eq(o.status, 0, "%s", o.err);
	int param_col = -1, like_col = -1, params = 0, strategies = 0;
	bool in_strategies = false;
	for (char *line = strtok(o.out, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "strategies", 10) == 0)
			in_strategies = true;
		/* a strategy's "unavailable: why" line (mpi in a sanitizer build) is no parameter
		 */
		if (strncmp(line, "      unavailable: ", 19) == 0)
			continue;
		if (strncmp(line, "      ", 6) == 0) {
			const char *name_end = strchr(line + 6, ' ');
			cr_assert_not_null(name_end, "%s", line);
			int col = (int)(name_end - line + strspn(name_end, " "));
			if (param_col < 0)
				param_col = col;
			cr_assert_eq(col, param_col, "misaligned: '%s'", line);
			params++;
		} else if (in_strategies && strncmp(line, "  ", 2) == 0) {
			const char *like = strstr(line, "  like ");
			cr_assert_not_null(like, "%s", line);
			int col = (int)(like - line);
			if (like_col < 0)
				like_col = col;
			cr_assert_eq(col, like_col, "misaligned: '%s'", line);
			strategies++;
		}
	}
	cr_assert_gt(params, 10);
	size_t registered = 0; /* list shows them all, unavailable and interpreted too */
	for (const struct runner_ops *const *r = runner_table(); *r; r++)
		registered++;
	cr_assert_eq((size_t)strategies, registered);
	output_free(&o);
}

Test(commands, edit_distance_counts_typos)
{
	cr_assert_eq(edit_distance("requests", "requests"), 0);
	cr_assert_eq(edit_distance("requsts", "requests"), 1);
	cr_assert_eq(edit_distance("reqeusts", "requests"), 1, "a swap of neighbours is one edit");
	cr_assert_eq(edit_distance("", "abc"), 3);
	cr_assert_eq(edit_distance("kitten", "sitting"), 3);
}

Test(commands, nearest_name_only_for_a_near_miss)
{
	const char *names[] = {"primes", "mandelbrot", "sleep", "http"};
	cr_assert_str_eq(nearest_name("primse", names, 4), "primes");
	cr_assert_str_eq(nearest_name("htp", names, 4), "http");
	cr_assert_null(nearest_name("zzz", names, 4));
	cr_assert_null(nearest_name("", names, 4));
}

static void parse_fails_with(int argc, char **argv, const char *needle)
{
	struct run_config cfg;
	char err[512] = "";
	cr_assert_eq(run_config_parse(argc, argv, &cfg, err, sizeof(err)), CLI_ERROR);
	cr_assert_null(strchr(err, '\n'), "one line: '%s'", err);
	cr_assert_not_null(strstr(err, needle), "'%s' lacks '%s'", err, needle);
}

Test(commands, a_mistyped_name_gets_a_did_you_mean)
{
	char *key[] = {"run", "-p", "http.requsts=5"};
	parse_fails_with(3, key, "did you mean 'requests'?");
	char *owner[] = {"run", "-p", "htp.requests=5"};
	parse_fails_with(3, owner, "did you mean 'http'?");
	char *workload[] = {"run", "-w", "primse"};
	parse_fails_with(3, workload, "did you mean 'primes'?");
	char *strategy[] = {"run", "-s", "thread"};
	parse_fails_with(3, strategy, "did you mean 'threads'?");
	char *far[] = {"run", "-p", "http.zzz=1"};
	struct run_config cfg;
	char err[512] = "";
	cr_assert_eq(run_config_parse(3, far, &cfg, err, sizeof(err)), CLI_ERROR);
	cr_assert_null(strstr(err, "did you mean"), "a guess for nothing near: %s", err);
}
