/* Tests for bench/cli.c: `concbench run`'s command line, parsed without side effects. */
#include <criterion/criterion.h>
#include <string.h>

#include "bench/cli.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static size_t count_workloads(void)
{
	size_t n = 0;

	for (const struct workload_ops *const *w = workload_table(); *w; w++)
		n++;
	return n;
}

/* Can run here (mpi needs Open MPI) and is compiled, not interpreted. */
static bool runner_in_all(const struct runner_ops *r)
{
	return !r->interpreted && (r->unavailable == NULL || r->unavailable() == NULL);
}

/* What -s all selects: the compiled strategies that can run here, in registry order. */
static size_t count_runners(void)
{
	size_t n = 0;

	for (const struct runner_ops *const *r = runner_table(); *r; r++)
		n += runner_in_all(*r);
	return n;
}

/* Without -s: those, and the interpreted ones whose interpreter is here. */
static size_t count_default_runners(void)
{
	size_t n = count_runners();
	for (const struct runner_ops *const *r = runner_table(); *r; r++)
		n += (*r)->interpreted && (*r)->available != NULL && (*r)->available();
	return n;
}

/* The k-th of those, in registry order. */
static const struct runner_ops *available_runner(int k)
{
	for (const struct runner_ops *const *r = runner_table(); *r; r++)
		if (runner_in_all(*r) && k-- == 0)
			return *r;
	return NULL;
}

/* Parses argv (argv[0] must be "run") and expects CLI_OK. */
static void parse_ok(int argc, char **argv, struct run_config *cfg)
{
	char err[256] = "";

	cr_assert_eq(run_config_parse(argc, argv, cfg, err, sizeof(err)), CLI_OK, "%s", err);
	cr_assert_str_empty(err);
}

/* Parses argv, expects CLI_ERROR and an error line that contains `needle`. */
static void parse_fails(int argc, char **argv, const char *needle)
{
	struct run_config cfg;
	char err[256] = "";

	cr_assert_eq(run_config_parse(argc, argv, &cfg, err, sizeof(err)), CLI_ERROR,
	             "argv[1] '%s' was accepted", argc > 1 ? argv[1] : "");
	cr_assert_str_not_empty(err, "no error text");
	cr_assert_null(strchr(err, '\n'), "the error is one line: '%s'", err);
	cr_assert_not_null(strstr(err, needle), "error '%s' does not mention '%s'", err, needle);
}

Test(cli, defaults)
{
	char *argv[] = {"run"};
	struct run_config cfg;

	parse_ok(ARGC(argv), argv, &cfg);
	cr_assert_eq(cfg.reps, 5);
	cr_assert_eq(cfg.warmup, 1);
	cr_assert_eq(cfg.pin, PIN_CORE);
	cr_assert_eq(cfg.switch_interval_us, 5000);
	cr_assert_eq(cfg.n_workers, 0, "no -n means the default sweep");
	cr_assert_eq(cfg.quick, false);
	cr_assert_eq(cfg.quiet, false);
	cr_assert_eq(cfg.n_overrides, 0);
	cr_assert_str_empty(cfg.output);
	cr_assert_eq((size_t)cfg.n_workloads, count_workloads());
	cr_assert_eq((size_t)cfg.n_strategies, count_default_runners());
	for (int i = 0; i < cfg.n_workloads; i++)
		cr_assert_eq(cfg.workloads[i], workload_table()[i]);
	for (int i = 0; i < (int)count_runners(); i++)
		cr_assert_eq(cfg.strategies[i], available_runner(i));
	for (int i = (int)count_runners(); i < cfg.n_strategies; i++)
		cr_assert(cfg.strategies[i]->interpreted, "%s", cfg.strategies[i]->name);
}

Test(cli, full_command_line)
{
	char *argv[] = {"run", "-w", "primes", "-s", "serial,threads", "-n", "1,2,4",
	                "-r",  "3",  "--pin",  "pu", "--quick",        "-o", "/tmp/x.json"};
	struct run_config cfg;

	parse_ok(ARGC(argv), argv, &cfg);
	cr_assert_eq(cfg.n_workloads, 1);
	cr_assert_eq(cfg.workloads[0], workload_find("primes"));
	cr_assert_eq(cfg.n_strategies, 2);
	cr_assert_eq(cfg.strategies[0], runner_find("serial"));
	cr_assert_eq(cfg.strategies[1], runner_find("threads"));
	cr_assert_eq(cfg.n_workers, 3);
	cr_assert_eq(cfg.workers[0], 1);
	cr_assert_eq(cfg.workers[1], 2);
	cr_assert_eq(cfg.workers[2], 4);
	cr_assert_eq(cfg.reps, 3);
	cr_assert_eq(cfg.warmup, 1);
	cr_assert_eq(cfg.pin, PIN_PU);
	cr_assert(cfg.quick);
	cr_assert_str_eq(cfg.output, "/tmp/x.json");
}

Test(cli, long_options)
{
	char *argv[] = {"run",      "--workloads",
	                "primes",   "--strategies",
	                "epoll",    "--workers",
	                "3",        "--reps",
	                "7",        "--warmup",
	                "0",        "--pin",
	                "none",     "--switch-interval-us",
	                "100",      "--output",
	                "out.json", "--quiet",
	                "--seed",   "42",
	                "--param",  "primes.tasks=8"};
	struct run_config cfg;

	parse_ok(ARGC(argv), argv, &cfg);
	cr_assert_eq(cfg.n_workloads, 1);
	cr_assert_eq(cfg.n_strategies, 1);
	cr_assert_eq(cfg.strategies[0], runner_find("epoll"));
	cr_assert_eq(cfg.n_workers, 1);
	cr_assert_eq(cfg.workers[0], 3);
	cr_assert_eq(cfg.reps, 7);
	cr_assert_eq(cfg.warmup, 0);
	cr_assert_eq(cfg.pin, PIN_NONE);
	cr_assert_eq(cfg.switch_interval_us, 100);
	cr_assert_str_eq(cfg.output, "out.json");
	cr_assert(cfg.quiet);
	cr_assert_eq(cfg.seed, 42);
	/* --switch-interval-us is -p gil.switch_interval_us: an override too */
	cr_assert_eq(cfg.n_overrides, 2);
	cr_assert_eq(cfg.overrides[0].runner, runner_find("gil"));
	cr_assert_str_eq(cfg.overrides[0].key, "switch_interval_us");
	cr_assert_str_eq(cfg.overrides[0].value, "100");
	cr_assert_str_eq(cfg.overrides[1].key, "tasks");
	cr_assert_str_eq(cfg.overrides[1].value, "8");
	cr_assert_eq(cfg.overrides[1].workload, workload_find("primes"));
}

Test(cli, all_selects_every_workload_and_strategy)
{
	char *argv[] = {"run", "-w", "all", "-s", "all"};
	struct run_config cfg;

	parse_ok(ARGC(argv), argv, &cfg);
	cr_assert_eq((size_t)cfg.n_workloads, count_workloads());
	cr_assert_eq((size_t)cfg.n_strategies, count_runners());
	for (int i = 0; i < cfg.n_strategies; i++)
		cr_assert_eq(cfg.strategies[i], available_runner(i));
}

Test(cli, duplicates_collapse)
{
	char *argv[] = {"run", "-w", "primes,primes", "-s", "threads,serial,threads,all,serial"};
	struct run_config cfg;

	parse_ok(ARGC(argv), argv, &cfg);
	cr_assert_eq(cfg.n_workloads, 1);
	cr_assert_eq(cfg.workloads[0], workload_find("primes"));
	cr_assert_eq((size_t)cfg.n_strategies, count_runners(), "all plus repeats is still all");
	for (int i = 0; i < cfg.n_strategies; i++)
		for (int j = i + 1; j < cfg.n_strategies; j++)
			cr_assert_neq(cfg.strategies[i], cfg.strategies[j],
			              "strategies %d and %d are the same", i, j);
}

Test(cli, duplicate_strategies_keep_first_order)
{
	char *argv[] = {"run", "-s", "threads,serial,threads"};
	struct run_config cfg;

	parse_ok(ARGC(argv), argv, &cfg);
	cr_assert_eq(cfg.n_strategies, 2);
	cr_assert_eq(cfg.strategies[0], runner_find("threads"));
	cr_assert_eq(cfg.strategies[1], runner_find("serial"));
}

Test(cli, pin_policies)
{
	static const struct {
		const char *name;
		enum pin_policy policy;
	} cases[] = {
	    {"core", PIN_CORE}, {"pu", PIN_PU}, {"single", PIN_SINGLE}, {"none", PIN_NONE}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[] = {"run", "--pin", (char *)cases[i].name};
		struct run_config cfg;

		parse_ok(ARGC(argv), argv, &cfg);
		cr_assert_eq(cfg.pin, cases[i].policy, "--pin %s", cases[i].name);
	}
}

Test(cli, unknown_workload)
{
	char *argv[] = {"run", "-w", "primes,nosuchload"};

	parse_fails(ARGC(argv), argv, "nosuchload");
	parse_fails(ARGC(argv), argv, "workload");
}

Test(cli, unknown_strategy_named)
{
	char *argv[] = {"run", "-s", "gil,greenlets"};

	parse_fails(ARGC(argv), argv, "'greenlets'");
	parse_fails(ARGC(argv), argv, "strategy");
}

Test(cli, gil_options)
{
	char *argv[] = {"run", "-s", "gil", "--switch-interval-us", "500", "--gil-no-force-switch"};
	struct run_config cfg;
	char err[256];

	cr_assert_eq(run_config_parse(ARGC(argv), argv, &cfg, err, sizeof(err)), CLI_OK, "%s", err);
	cr_assert_eq(cfg.n_strategies, 1);
	cr_assert_eq(cfg.strategies[0], runner_find("gil"));
	cr_assert_eq(cfg.switch_interval_us, 500);
	struct param_values pv;
	strategy_params(&cfg, runner_find("gil"), &pv);
	cr_assert_eq(param_get(&pv, "switch_interval_us"), 500);
	cr_assert_eq(param_get(&pv, "force_switching"), 0, "--gil-no-force-switch turns it off");
}

/* The aliases are spellings of -p: the same settings, by either route. */
Test(cli, gil_options_as_params)
{
	char *argv[] = {
	    "run", "-s", "gil", "-p", "gil.switch_interval_us=500", "-p", "gil.force_switching=0"};
	struct run_config cfg;
	char err[256];

	cr_assert_eq(run_config_parse(ARGC(argv), argv, &cfg, err, sizeof(err)), CLI_OK, "%s", err);
	cr_assert_eq(cfg.switch_interval_us, 500);
	struct param_values pv;
	strategy_params(&cfg, runner_find("gil"), &pv);
	cr_assert_eq(param_get(&pv, "switch_interval_us"), 500);
	cr_assert_eq(param_get(&pv, "force_switching"), 0);
	cr_assert_eq(cfg.overrides[0].runner, runner_find("gil"));
	cr_assert_null(cfg.overrides[0].workload);
	cr_assert_str_eq(cfg.overrides[0].owner, "gil");
}

Test(cli, strategy_param_bogus)
{
	char *argv1[] = {"run", "-p", "gil.nokey=1"};
	char *argv2[] = {"run", "-p", "gil.force_switching=2"};
	char *argv3[] = {"run", "-p", "threads.switch_interval_us=5"};

	parse_fails(ARGC(argv1), argv1, "gil.nokey");
	parse_fails(ARGC(argv2), argv2, "force_switching");
	parse_fails(ARGC(argv3), argv3, "threads.switch_interval_us");
}

/* Strategy parameters share -p with workloads: no name may be both. */
Test(cli, no_strategy_shares_a_workload_name)
{
	for (const struct runner_ops *const *r = runner_table(); *r; r++)
		cr_assert_null(workload_find((*r)->name), "%s is a workload and a strategy",
		               (*r)->name);
}

/* Every alias a strategy declares is in `run --help` and parses. */
Test(cli, strategy_aliases_are_documented_and_parse)
{
	char buf[8192] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");
	run_usage(f);
	fclose(f);
	for (const struct runner_ops *const *r = runner_table(); *r; r++)
		for (const struct runner_alias *a = (*r)->aliases; a && a->option; a++) {
			char opt[80];
			snprintf(opt, sizeof(opt), "--%s", a->option);
			cr_assert_not_null(strstr(buf, opt), "%s is not in run --help", opt);
			cr_assert_not_null(params_find((*r)->params, a->key, NULL),
			                   "%s sets an undeclared %s.%s", opt, (*r)->name, a->key);
		}
}

Test(cli, workers_zero)
{
	char *argv[] = {"run", "-n", "0"};

	parse_fails(ARGC(argv), argv, "'0'");
}

Test(cli, workers_negative)
{
	char *argv[] = {"run", "-n", "-3"};

	parse_fails(ARGC(argv), argv, "-3");
}

Test(cli, workers_not_a_number)
{
	char *argv[] = {"run", "-n", "abc"};

	parse_fails(ARGC(argv), argv, "abc");
}

Test(cli, workers_trailing_junk)
{
	char *argv[] = {"run", "-n", "2x"};

	parse_fails(ARGC(argv), argv, "2x");
}

Test(cli, workers_too_many)
{
	char *argv[] = {"run", "-n", "100001"};

	parse_fails(ARGC(argv), argv, "100001");
}

Test(cli, workers_empty_item)
{
	char *argv[] = {"run", "-n", "2,,"};

	parse_fails(ARGC(argv), argv, "-n");
}

Test(cli, workers_empty_item_in_the_middle)
{
	char *argv[] = {"run", "-n", "1,,2"};

	parse_fails(ARGC(argv), argv, "-n");
}

Test(cli, workers_empty_list)
{
	char *argv[] = {"run", "-n", ""};

	parse_fails(ARGC(argv), argv, "-n");
}

Test(cli, workloads_only_commas)
{
	char *argv[] = {"run", "-w", ","};

	parse_fails(ARGC(argv), argv, "-w");
}

Test(cli, reps_zero)
{
	char *argv[] = {"run", "-r", "0"};

	parse_fails(ARGC(argv), argv, "--reps");
	parse_fails(ARGC(argv), argv, "'0'");
}

Test(cli, warmup_negative)
{
	char *argv[] = {"run", "--warmup", "-1"};

	parse_fails(ARGC(argv), argv, "--warmup");
}

Test(cli, switch_interval_zero)
{
	char *argv[] = {"run", "--switch-interval-us", "0"};

	parse_fails(ARGC(argv), argv, "--switch-interval-us");
}

Test(cli, pin_bogus)
{
	char *argv[] = {"run", "--pin", "bogus"};

	parse_fails(ARGC(argv), argv, "bogus");
	parse_fails(ARGC(argv), argv, "--pin");
}

Test(cli, param_without_dot)
{
	char *argv[] = {"run", "-p", "limit=5"};

	parse_fails(ARGC(argv), argv, "WORKLOAD.KEY=VALUE");
	parse_fails(ARGC(argv), argv, "limit=5");
}

Test(cli, param_without_equals)
{
	char *argv[] = {"run", "-p", "primes.limit"};

	parse_fails(ARGC(argv), argv, "WORKLOAD.KEY=VALUE");
}

Test(cli, param_unknown_key)
{
	char *argv[] = {"run", "-p", "primes.nokey=1"};

	parse_fails(ARGC(argv), argv, "primes.nokey");
}

Test(cli, param_unknown_workload)
{
	char *argv[] = {"run", "-p", "nowl.limit=1"};

	parse_fails(ARGC(argv), argv, "'nowl'");
}

Test(cli, param_not_a_number)
{
	char *argv[] = {"run", "-p", "primes.limit=abc"};

	parse_fails(ARGC(argv), argv, "abc");
	parse_fails(ARGC(argv), argv, "limit");
}

Test(cli, param_below_min)
{
	char *argv[] = {"run", "-p", "primes.limit=1"};

	parse_fails(ARGC(argv), argv, "limit");
	parse_fails(ARGC(argv), argv, "[2,");
}

Test(cli, param_accepted_and_recorded)
{
	char *argv[] = {"run", "-p", "primes.limit=4k", "-p", "primes.tasks=3"};
	struct run_config cfg;

	parse_ok(ARGC(argv), argv, &cfg);
	cr_assert_eq(cfg.n_overrides, 2);
	cr_assert_str_eq(cfg.overrides[0].key, "limit");
	cr_assert_str_eq(cfg.overrides[0].value, "4k");
	cr_assert_str_eq(cfg.overrides[1].key, "tasks");
	cr_assert_str_eq(cfg.overrides[1].value, "3");
}

Test(cli, unknown_long_option)
{
	char *argv[] = {"run", "--frobnicate"};

	parse_fails(ARGC(argv), argv, "--frobnicate");
}

Test(cli, unknown_short_option)
{
	char *argv[] = {"run", "-Z"};

	parse_fails(ARGC(argv), argv, "-Z");
}

Test(cli, missing_option_value)
{
	char *argv[] = {"run", "-n"};

	parse_fails(ARGC(argv), argv, "-n");
	parse_fails(ARGC(argv), argv, "value");
}

Test(cli, missing_long_option_value)
{
	char *argv[] = {"run", "-r", "2", "--pin"};

	parse_fails(ARGC(argv), argv, "--pin");
}

Test(cli, stray_positional_argument)
{
	char *argv[] = {"run", "-r", "2", "primes"};

	parse_fails(ARGC(argv), argv, "'primes'");
}

Test(cli, help)
{
	char *argv_long[] = {"run", "--help"};
	char *argv_short[] = {"run", "-w", "primes", "-h"};
	struct run_config cfg;
	char err[256] = "";

	cr_assert_eq(run_config_parse(ARGC(argv_long), argv_long, &cfg, err, sizeof(err)),
	             CLI_HELP);
	cr_assert_eq(run_config_parse(ARGC(argv_short), argv_short, &cfg, err, sizeof(err)),
	             CLI_HELP);
}

Test(cli, usage_lists_the_options)
{
	char buf[4096] = "";
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	cr_assert_not_null(f);
	run_usage(f);
	fclose(f);
	cr_assert_not_null(strstr(buf, "usage: concbench run"));
	cr_assert_not_null(strstr(buf, "--pin"));
	cr_assert_not_null(strstr(buf, "--quick"));
}

/* getopt keeps its position in globals: a second parse must start over. */
Test(cli, parse_twice_in_one_process)
{
	char *first[] = {"run", "-r", "3", "-n", "2"};
	char *second[] = {"run", "-r", "4", "-w", "primes", "-n", "1,8"};
	char *third[] = {"run", "--pin", "bogus"};
	char *fourth[] = {"run"};
	struct run_config cfg;

	parse_ok(ARGC(first), first, &cfg);
	cr_assert_eq(cfg.reps, 3);
	cr_assert_eq(cfg.n_workers, 1);
	parse_ok(ARGC(second), second, &cfg);
	cr_assert_eq(cfg.reps, 4);
	cr_assert_eq(cfg.n_workers, 2);
	cr_assert_eq(cfg.workers[1], 8);
	parse_fails(ARGC(third), third, "bogus");
	parse_ok(ARGC(fourth), fourth, &cfg);
	cr_assert_eq(cfg.reps, 5, "defaults come back after earlier parses");
	cr_assert_eq(cfg.n_workers, 0);
}

static void check_sweep(int cores, const int *want, int n_want)
{
	int out[CLI_MAX_LIST];
	int n = default_worker_sweep(cores, out, CLI_MAX_LIST);

	cr_assert_eq(n, n_want, "sweep(%d) has %d entries, want %d", cores, n, n_want);
	for (int i = 0; i < n; i++)
		cr_assert_eq(out[i], want[i], "sweep(%d)[%d] = %d, want %d", cores, i, out[i],
		             want[i]);
}

Test(cli, default_worker_sweep)
{
	check_sweep(1, (const int[]){1}, 1);
	check_sweep(2, (const int[]){1, 2}, 2);
	check_sweep(3, (const int[]){1, 2, 3}, 3);
	check_sweep(6, (const int[]){1, 2, 4, 6}, 4);
	check_sweep(8, (const int[]){1, 2, 4, 8}, 4);
	check_sweep(12, (const int[]){1, 2, 4, 8, 12}, 5);
}

Test(cli, default_worker_sweep_respects_max)
{
	int out[3] = {0};
	int n = default_worker_sweep(64, out, 3);

	cr_assert_leq(n, 3);
	cr_assert_eq(out[n - 1], 64, "the core count itself is always last");
}

Test(cli, apply_overrides_touches_only_the_named_workload)
{
	static const struct param_def other_defs[] = {
	    PARAM_INT_DEF("limit", 10, 5, 1, 1000, "same key name, another workload"),
	    PARAM_END,
	};
	static const struct workload_ops other = {.name = "other", .params = other_defs};
	const struct workload_ops *primes = workload_find("primes");
	char *argv[] = {"run", "-p", "primes.limit=1234", "-p", "primes.tasks=7"};
	struct run_config cfg;
	struct param_values pv, ov;
	char err[256] = "";
	int limit_i, tasks_i;

	cr_assert_not_null(primes);
	parse_ok(ARGC(argv), argv, &cfg);

	params_init(&pv, primes->params, 0);
	cr_assert_eq(apply_overrides(&cfg, primes, &pv, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(param_get(&pv, "limit"), 1234);
	cr_assert_eq(param_get(&pv, "tasks"), 7);
	cr_assert_not_null(params_find(primes->params, "limit", &limit_i));
	cr_assert_not_null(params_find(primes->params, "tasks", &tasks_i));
	cr_assert(pv.set_by_user & (1u << limit_i));
	cr_assert(pv.set_by_user & (1u << tasks_i));

	params_init(&ov, other_defs, 0);
	cr_assert_eq(apply_overrides(&cfg, &other, &ov, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(param_get(&ov, "limit"), 10, "another workload's 'limit' was changed");
	cr_assert_eq(ov.set_by_user, 0);
}

Test(cli, apply_overrides_without_any_leaves_defaults)
{
	const struct workload_ops *primes = workload_find("primes");
	char *argv[] = {"run"};
	struct run_config cfg;
	struct param_values pv;
	char err[256] = "";

	parse_ok(ARGC(argv), argv, &cfg);
	params_init(&pv, primes->params, 1);
	cr_assert_eq(apply_overrides(&cfg, primes, &pv, err, sizeof(err)), 0);
	cr_assert_eq(param_get(&pv, "limit"), params_find(primes->params, "limit", NULL)->quick);
	cr_assert_eq(pv.set_by_user, 0);
}

Test(cli, url_sets_the_server_parameter_of_downloading_workloads)
{
	char *argv[] = {"run", "--url", "http://127.0.0.1:8080/file.bin"};
	struct run_config cfg;
	char err[256];
	cr_assert_eq(run_config_parse(ARGC(argv), argv, &cfg, err, sizeof(err)), CLI_OK, "%s", err);
	int found = 0;
	for (int i = 0; i < cfg.n_overrides; i++)
		if (strcmp(cfg.overrides[i].key, cfg.overrides[i].workload->server_url_param) ==
		    0) {
			cr_assert_str_eq(cfg.overrides[i].value, "http://127.0.0.1:8080/file.bin");
			found++;
		}
	cr_assert_eq(found, 1, "one workload downloads from a server");
}

Test(cli, url_must_be_http)
{
	char *argv[] = {"run", "--url", "file:///etc/passwd"};
	parse_fails(ARGC(argv), argv, "--url");
}
