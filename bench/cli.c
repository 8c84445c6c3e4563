#include "bench/cli.h"
#include "bench/suggest.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPT_WARMUP       1000
#define OPT_PIN          1001
#define OPT_QUICK        1003
#define OPT_QUIET        1004
#define OPT_SEED         1005
#define OPT_URL          1007
#define OPT_BALLAST      1008
#define OPT_LIST_CELLS   1009
#define OPT_CELL_TIMEOUT 1010
#define OPT_TRACE        1011
#define OPT_TRACE_CELLS  1012
#define OPT_TRACE_BUFFER 1013
#define OPT_TASK_SWEEP   1050
#define OPT_BUDGET       1051
#define OPT_NO_ESTIMATE  1052
#define OPT_ALIAS        1100 /* + the alias's index in alias_list() */
#define MAX_ALIASES      32

/* The strategies' aliases (runner_ops.aliases), in registry order. */
struct alias_ref {
	const struct runner_ops *runner;
	const struct runner_alias *alias;
};

static int alias_list(struct alias_ref *out, int max)
{
	int n = 0;
	for (const struct runner_ops *const *r = runner_table(); *r; r++)
		for (const struct runner_alias *a = (*r)->aliases; a && a->option && n < max; a++)
			out[n++] = (struct alias_ref){.runner = *r, .alias = a};
	return n;
}

void run_usage(FILE *out)
{
	fprintf(out,
	        "usage: concbench run [options]\n"
	        "  -w, --workloads LIST        comma-separated workloads, or all (default all)\n"
	        "  -s, --strategies LIST       comma-separated strategies, or all (the compiled\n"
	        "                              ones; default: all, and py-* where python3 is)\n"
	        "  -n, --workers LIST          worker counts (default 1, 2, 4, ... up to the "
	        "cores)\n"
	        "  -r, --reps N                counted repetitions per cell (default 5)\n"
	        "      --warmup N              uncounted runs per cell first (default 1)\n"
	        "      --pin POLICY            core | pu | single | none (default core)\n");
	struct alias_ref aliases[MAX_ALIASES];
	int n = alias_list(aliases, MAX_ALIASES);
	for (int i = 0; i < n; i++) {
		const struct runner_alias *a = aliases[i].alias;
		char spelling[64];
		if (i > 0 && a == aliases[i - 1].alias)
			continue; /* shared by several strategies (--python): said once */
		snprintf(spelling, sizeof(spelling), "--%s%s%s", a->option, a->arg ? " " : "",
		         a->arg ? a->arg : "");
		bool shared = i + 1 < n && aliases[i + 1].alias == a;
		fprintf(out, "      %-23s %s (-p %s.%s%s%s%s)\n", spelling, a->help,
		        shared ? "STRATEGY" : aliases[i].runner->name, a->key, a->value ? "=" : "",
		        a->value ? a->value : "", shared ? " for each" : "");
	}
	fprintf(
	    out,
	    "  -p, --param NAME.KEY=VALUE  a workload's or a strategy's parameter (`concbench "
	    "list`)\n"
	    "      --quick                 small sizes, for smoke tests\n"
	    "      --seed N                seed of the shuffled cell order (default 1)\n"
	    "      --ballast-mb LIST       the parent touches this much memory before its workers\n"
	    "                              start (fork copies its page tables): e.g. 0,256,1024\n"
	    "      --list-cells            print the cells this run would measure, each with its\n"
	    "                              estimated time from a short calibration, and stop\n"
	    "      --no-estimate           with --list-cells: the cells alone, no calibration\n"
	    "      --budget S              plan the run to take at most S seconds: a sparser\n"
	    "                              worker sweep (unless -n), then no warm-up (unless\n"
	    "                              --warmup); never fewer than the -r repetitions\n"
	    "                              (default 460 for the default suite, 0: no budget)\n"
	    "      --task-sweep            also cut the first CPU workload into tasks of 100 ms\n"
	    "                              down to 1 us (the default suite does): where do\n"
	    "                              processes fall behind threads?\n"
	    "      --cell-timeout S        a run of one cell that takes longer than S seconds is\n"
	    "                              recorded as timed out and the run stops (default 600)\n"
	    "      --url URL               download from this server instead of starting the\n"
	    "                              fixture server (http workload)\n"
	    "  -o, --output FILE           result file (default results/<host>-<UTC time>.json)\n"
	    "      --trace FILE            per-worker timelines of each cell's last counted\n"
	    "                              repetition, as Chrome Trace Event Format JSON\n"
	    "      --trace-cells FILTER    trace only these cells: items like primes/gil/2,\n"
	    "                              threads or mixed/gil, comma-separated (default all)\n"
	    "      --quiet                 no progress on stderr\n"
	    "  -h, --help                  this text\n");
}

static int parse_int(const char *text, long min, long max, long *out)
{
	char *end;
	/* strtol skips leading blanks and takes a '+': "-n ' 2'" ran silently */
	const char *digits = text[0] == '-' ? text + 1 : text;
	if (digits[0] < '0' || digits[0] > '9')
		return -1;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Splits a comma-separated list in place; calls fn on each item. strsep, not
 * strtok: "2,,4" and "2," hold an empty item, which is an error, not a skip. */
static int for_each_item(char *list, int (*fn)(const char *item, void *ctx), void *ctx)
{
	for (char *rest = list, *tok; (tok = strsep(&rest, ",")) != NULL;)
		if (tok[0] == '\0' || fn(tok, ctx) != 0)
			return -1;
	return 0;
}

struct list_ctx {
	struct run_config *cfg;
	char *err;
	size_t errlen;
};

static void names_of_workloads(char *buf, size_t len)
{
	buf[0] = '\0';
	for (const struct workload_ops *const *w = workload_table(); *w; w++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
		         w == workload_table() ? "" : ", ", (*w)->name);
}

static void names_of_strategies(char *buf, size_t len)
{
	buf[0] = '\0';
	for (const struct runner_ops *const *r = runner_table(); *r; r++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
		         r == runner_table() ? "" : ", ", (*r)->name);
}

/* Every workload's and strategy's name (with_workloads, with_strategies), for
 * a "did you mean". */
static size_t owner_names(const char **out, size_t max, bool with_workloads, bool with_strategies)
{
	size_t n = 0;
	for (const struct workload_ops *const *w = workload_table(); with_workloads && *w; w++)
		if (n < max)
			out[n++] = (*w)->name;
	for (const struct runner_ops *const *r = runner_table(); with_strategies && *r; r++)
		if (n < max)
			out[n++] = (*r)->name;
	return n;
}

static void suggest_owner(char *buf, size_t len, const char *typed, bool workloads, bool strategies)
{
	const char *names[64];
	size_t n = owner_names(names, sizeof(names) / sizeof(names[0]), workloads, strategies);
	did_you_mean(buf, len, typed, names, n);
}

static void suggest_key(char *buf, size_t len, const char *typed, const struct param_def *defs)
{
	const char *keys[PARAM_MAX];
	size_t n = 0;
	for (const struct param_def *d = defs; d && d->key && n < PARAM_MAX; d++)
		keys[n++] = d->key;
	did_you_mean(buf, len, typed, keys, n);
}

static int add_workload(const char *name, void *p)
{
	struct list_ctx *c = p;
	char known[256];
	if (strcmp(name, "all") == 0) {
		c->cfg->n_workloads = 0;
		for (const struct workload_ops *const *w = workload_table(); *w; w++)
			c->cfg->workloads[c->cfg->n_workloads++] = *w;
		return 0;
	}
	const struct workload_ops *w = workload_find(name);
	if (w == NULL) {
		char hint[96];
		suggest_owner(hint, sizeof(hint), name, true, false);
		names_of_workloads(known, sizeof(known));
		snprintf(c->err, c->errlen, "unknown workload '%s'%s (known: %s)", name, hint,
		         known);
		return -1;
	}
	for (int i = 0; i < c->cfg->n_workloads; i++)
		if (c->cfg->workloads[i] == w)
			return 0;
	if (c->cfg->n_workloads == CLI_MAX_LIST) {
		snprintf(c->err, c->errlen, "too many workloads");
		return -1;
	}
	c->cfg->workloads[c->cfg->n_workloads++] = w;
	return 0;
}

static int add_strategy(const char *name, void *p)
{
	struct list_ctx *c = p;
	char known[256];
	if (strcmp(name, "all") == 0) {
		/* the compiled ones that can run here (`concbench list` shows the
		 * others and why); py-* are named, or the default suite's */
		c->cfg->n_strategies = 0;
		for (const struct runner_ops *const *r = runner_table(); *r; r++)
			if (!(*r)->interpreted &&
			    ((*r)->unavailable == NULL || (*r)->unavailable() == NULL))
				c->cfg->strategies[c->cfg->n_strategies++] = *r;
		return 0;
	}
	const struct runner_ops *r = runner_find(name);
	if (r == NULL) {
		char hint[96];
		suggest_owner(hint, sizeof(hint), name, false, true);
		names_of_strategies(known, sizeof(known));
		snprintf(c->err, c->errlen, "unknown strategy '%s'%s (known: %s)", name, hint,
		         known);
		return -1;
	}
	const char *why = r->unavailable != NULL ? r->unavailable() : NULL;
	if (why != NULL) {
		snprintf(c->err, c->errlen, "strategy '%s' is unavailable: %s", name, why);
		return -1;
	}
	for (int i = 0; i < c->cfg->n_strategies; i++)
		if (c->cfg->strategies[i] == r)
			return 0;
	if (c->cfg->n_strategies == CLI_MAX_LIST) {
		snprintf(c->err, c->errlen, "too many strategies");
		return -1;
	}
	c->cfg->strategies[c->cfg->n_strategies++] = r;
	return 0;
}

/* Without -s: the interpreted strategies too, where their interpreter is here. */
static void add_available_interpreted(struct run_config *cfg)
{
	for (const struct runner_ops *const *r = runner_table(); *r; r++)
		if ((*r)->interpreted && ((*r)->available == NULL || (*r)->available()) &&
		    cfg->n_strategies < CLI_MAX_LIST)
			cfg->strategies[cfg->n_strategies++] = *r;
}

static int add_workers(const char *text, void *p)
{
	struct list_ctx *c = p;
	long v;
	if (parse_int(text, 1, CLI_MAX_WORKERS, &v) != 0) {
		snprintf(c->err, c->errlen, "worker count '%s' is not a whole number from 1 to %d",
		         text, CLI_MAX_WORKERS);
		return -1;
	}
	if (c->cfg->n_workers == CLI_MAX_LIST) {
		snprintf(c->err, c->errlen, "too many worker counts (at most %d)", CLI_MAX_LIST);
		return -1;
	}
	c->cfg->workers[c->cfg->n_workers++] = (int)v;
	return 0;
}

/* "-p primes.limit=1000" or "-p gil.switch_interval_us=500": the workload or
 * strategy must exist and declare the key, and the value must parse and lie in
 * range, all checked now rather than mid-run. `as` is how the user spelled it,
 * for the messages ("-p ..." or an alias). */
static int add_override(struct run_config *cfg, const char *text, const char *as, char *err,
                        size_t errlen)
{
	const char *dot = strchr(text, '.');
	const char *eq = strchr(text, '=');
	if (dot == NULL || eq == NULL || dot > eq || dot == text || eq == dot + 1) {
		snprintf(err, errlen, "-p needs WORKLOAD.KEY=VALUE or STRATEGY.KEY=VALUE, not '%s'",
		         text);
		return -1;
	}
	char wname[64];
	snprintf(wname, sizeof(wname), "%.*s", (int)(dot - text), text);
	const struct workload_ops *w = workload_find(wname);
	const struct runner_ops *r = w == NULL ? runner_find(wname) : NULL;
	if (w == NULL && r == NULL) {
		char hint[96];
		suggest_owner(hint, sizeof(hint), wname, true, true);
		snprintf(err, errlen, "unknown workload or strategy '%s' in -p %s%s", wname, text,
		         hint);
		return -1;
	}
	const struct param_def *defs = w != NULL ? w->params : r->params;
	if (cfg->n_overrides == CLI_MAX_OVERRIDES) {
		snprintf(err, errlen, "too many -p options (at most %d)", CLI_MAX_OVERRIDES);
		return -1;
	}
	struct param_override *o = &cfg->overrides[cfg->n_overrides];
	o->workload = w;
	o->runner = r;
	o->owner = w != NULL ? w->name : r->name;
	snprintf(o->key, sizeof(o->key), "%.*s", (int)(eq - dot - 1), dot + 1);
	/* the later one silently won: say so instead */
	for (int i = 0; i < cfg->n_overrides; i++)
		if (cfg->overrides[i].workload == w && cfg->overrides[i].runner == r &&
		    strcmp(cfg->overrides[i].key, o->key) == 0) {
			snprintf(err, errlen, "-p %s.%s is given twice (or by --url and -p)", wname,
			         o->key);
			return -1;
		}
	if (strlen(eq + 1) >= sizeof(o->value)) {
		snprintf(err, errlen, "-p %.*s: the value is longer than %zu characters",
		         (int)(eq - text), text, sizeof(o->value) - 1);
		return -1;
	}
	snprintf(o->value, sizeof(o->value), "%s", eq + 1);
	if (params_find(defs, o->key, NULL) == NULL) {
		char hint[96];
		suggest_key(hint, sizeof(hint), o->key, defs);
		snprintf(err, errlen, "unknown parameter '%s.%s'%s (see `concbench list`)", wname,
		         o->key, hint);
		return -1;
	}
	struct param_values scratch;
	char why[200];
	params_init(&scratch, defs, 0);
	if (params_set(&scratch, o->key, o->value, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", as, why);
		return -1;
	}
	cfg->n_overrides++;
	return 0;
}

/* --ballast-mb 0,256,1024: megabytes the parent touches before its workers
 * start, one set of cells per value. */
static int parse_ballast(struct run_config *cfg, const char *text, char *err, size_t errlen)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", text);
	cfg->n_ballast = 0;
	for (char *item = buf, *next; item != NULL && *text != '\0'; item = next) {
		next = strchr(item, ',');
		if (next != NULL)
			*next++ = '\0';
		long v;
		if (parse_int(item, 0, CLI_MAX_BALLAST_MB, &v) != 0) {
			snprintf(err, errlen, "--ballast-mb needs megabytes from 0 to %d, not '%s'",
			         CLI_MAX_BALLAST_MB, item);
			return -1;
		}
		if (cfg->n_ballast == CLI_MAX_LIST) {
			snprintf(err, errlen, "--ballast-mb: at most %d values", CLI_MAX_LIST);
			return -1;
		}
		cfg->ballast_mb[cfg->n_ballast++] = (int)v;
	}
	if (cfg->n_ballast == 0) {
		snprintf(err, errlen, "--ballast-mb needs a list of megabytes, not '%s'", text);
		return -1;
	}
	return 0;
}

/* --url URL is -p W.KEY=URL for every workload that downloads from a server. */
static int add_url_overrides(struct run_config *cfg, const char *url, char *err, size_t errlen)
{
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		snprintf(err, errlen, "--url needs an http:// or https:// URL, not '%s'", url);
		return -1;
	}
	for (const struct workload_ops *const *w = workload_table(); *w != NULL; w++) {
		if ((*w)->server_url_param == NULL)
			continue;
		char text[PARAM_TEXT_MAX + 128];
		snprintf(text, sizeof(text), "%s.%s=%s", (*w)->name, (*w)->server_url_param, url);
		if (add_override(cfg, text, text, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/* --switch-interval-us 500 is -p gil.switch_interval_us=500. */
static int add_alias_override(struct run_config *cfg, const struct alias_ref *a, const char *arg,
                              char *err, size_t errlen)
{
	const char *value = a->alias->value ? a->alias->value : arg;
	char text[PARAM_TEXT_MAX + 128], as[PARAM_TEXT_MAX + 64];
	snprintf(text, sizeof(text), "%s.%s=%s", a->runner->name, a->alias->key, value);
	snprintf(as, sizeof(as), "--%s%s%s", a->alias->option, a->alias->value ? "" : " ",
	         a->alias->value ? "" : arg);
	return add_override(cfg, text, as, err, errlen);
}

int apply_overrides(const struct run_config *cfg, const struct workload_ops *ops,
                    struct param_values *pv, char *err, size_t errlen)
{
	for (int i = 0; i < cfg->n_overrides; i++)
		if (cfg->overrides[i].workload == ops &&
		    params_set(pv, cfg->overrides[i].key, cfg->overrides[i].value, err, errlen) !=
		        0)
			return -1;
	return 0;
}

void strategy_params(const struct run_config *cfg, const struct runner_ops *r,
                     struct param_values *pv)
{
	char err[200];
	params_init(pv, r->params, cfg->quick);
	for (int i = 0; i < cfg->n_overrides; i++)
		if (cfg->overrides[i].runner == r)
			(void)params_set(pv, cfg->overrides[i].key, cfg->overrides[i].value, err,
			                 sizeof(err));
}

/* The switch interval the convoy is measured against: the parameter a
 * strategy names as its switch interval, as -p left it. */
static unsigned switch_interval_of(const struct run_config *cfg)
{
	for (const struct runner_ops *const *r = runner_table(); *r; r++) {
		if ((*r)->switch_interval_param == NULL)
			continue;
		struct param_values pv;
		strategy_params(cfg, *r, &pv);
		return (unsigned)param_get(&pv, (*r)->switch_interval_param);
	}
	return 0;
}

int default_worker_sweep(int cores, int *out, int max)
{
	int n = 0;
	if (cores < 1)
		cores = 1;
	for (int w = 1; w < cores && n < max - 1; w *= 2)
		out[n++] = w;
	out[n++] = cores;
	return n;
}

static void config_defaults(struct run_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->reps = 5;
	cfg->warmup = 1;
	cfg->pin = PIN_CORE;
	cfg->seed = 1;
	cfg->cell_timeout_s = CLI_DEFAULT_CELL_TIMEOUT_S;
	cfg->trace_events = TRACE_DEFAULT_EVENTS;
}

static enum cli_status bad(char *err, size_t errlen, const char *fmt, const char *arg)
{
	snprintf(err, errlen, fmt, arg);
	return CLI_ERROR;
}

/* -w, -s, -n: a list that replaces what an earlier one gave. */
static enum cli_status parse_list(int opt, const char *arg, struct run_config *cfg, char *err,
                                  size_t errlen)
{
	struct list_ctx lc = {.cfg = cfg, .err = err, .errlen = errlen};
	char listbuf[1024];
	snprintf(listbuf, sizeof(listbuf), "%s", arg);
	if (opt == 'w')
		cfg->n_workloads = 0;
	if (opt == 's')
		cfg->n_strategies = 0;
	if (opt == 'n')
		cfg->n_workers = 0;
	if (for_each_item(listbuf,
	                  opt == 'w'   ? add_workload
	                  : opt == 's' ? add_strategy
	                               : add_workers,
	                  &lc) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "empty item in the list for -%c: '%s'", opt, arg);
		return CLI_ERROR;
	}
	return CLI_OK;
}

/* -r, --warmup, --seed, --cell-timeout: a whole number in range. */
static enum cli_status parse_number(int opt, const char *arg, struct run_config *cfg, char *err,
                                    size_t errlen)
{
	long v;
	switch (opt) {
	case 'r':
		if (parse_int(arg, 1, 100000, &v) != 0)
			return bad(err, errlen,
			           "--reps needs a whole number from 1 to 100000, not '%s'", arg);
		cfg->reps = (int)v;
		cfg->reps_given = true;
		break;
	case OPT_WARMUP:
		if (parse_int(arg, 0, 1000, &v) != 0)
			return bad(err, errlen,
			           "--warmup needs a whole number from 0 to 1000, not '%s'", arg);
		cfg->warmup = (int)v;
		cfg->warmup_given = true;
		break;
	case OPT_SEED:
		if (parse_int(arg, 0, LONG_MAX, &v) != 0)
			return bad(err, errlen, "--seed needs a whole number, not '%s'", arg);
		cfg->seed = (uint64_t)v;
		break;
	case OPT_CELL_TIMEOUT:
		if (parse_int(arg, 1, 86400, &v) != 0)
			return bad(err, errlen,
			           "--cell-timeout needs seconds from 1 to 86400, not '%s'", arg);
		cfg->cell_timeout_s = (int)v;
		break;
	}
	return CLI_OK;
}

/* --trace FILE, --trace-cells FILTER, --trace-buffer EVENTS (hidden). */
static enum cli_status parse_trace_option(int opt, const char *arg, struct run_config *cfg,
                                          char *err, size_t errlen)
{
	long v;
	switch (opt) {
	case OPT_TRACE:
		if (arg[0] == '\0' || strlen(arg) >= sizeof(cfg->trace_path))
			return bad(err, errlen, "unusable --trace path '%s'", arg);
		snprintf(cfg->trace_path, sizeof(cfg->trace_path), "%s", arg);
		break;
	case OPT_TRACE_CELLS:
		if (trace_filter_parse(arg, &cfg->trace_cells, err, errlen) != 0)
			return CLI_ERROR;
		break;
	case OPT_TRACE_BUFFER:
		if (parse_int(arg, 1, 1L << 24, &v) != 0)
			return bad(
			    err, errlen,
			    "--trace-buffer needs events per worker from 1 to 16777216, not '%s'",
			    arg);
		cfg->trace_events = (size_t)v;
		break;
	}
	return CLI_OK;
}

#define N_FIXED_OPTIONS 22

/* The fixed options, then the strategies' aliases (OPT_ALIAS + i), then the
 * terminator; returns how many aliases there are. */
static int build_options(struct option *options, struct alias_ref *aliases)
{
	static const struct option fixed[] = {
	    {"workloads", required_argument, NULL, 'w'},
	    {"strategies", required_argument, NULL, 's'},
	    {"workers", required_argument, NULL, 'n'},
	    {"reps", required_argument, NULL, 'r'},
	    {"warmup", required_argument, NULL, OPT_WARMUP},
	    {"pin", required_argument, NULL, OPT_PIN},
	    {"param", required_argument, NULL, 'p'},
	    {"quick", no_argument, NULL, OPT_QUICK},
	    {"quiet", no_argument, NULL, OPT_QUIET},
	    {"seed", required_argument, NULL, OPT_SEED},
	    {"url", required_argument, NULL, OPT_URL},
	    {"ballast-mb", required_argument, NULL, OPT_BALLAST},
	    {"list-cells", no_argument, NULL, OPT_LIST_CELLS},
	    {"cell-timeout", required_argument, NULL, OPT_CELL_TIMEOUT},
	    {"output", required_argument, NULL, 'o'},
	    {"trace", required_argument, NULL, OPT_TRACE},
	    {"trace-cells", required_argument, NULL, OPT_TRACE_CELLS},
	    {"trace-buffer", required_argument, NULL, OPT_TRACE_BUFFER},
	    {"help", no_argument, NULL, 'h'},
	    {"task-sweep", no_argument, NULL, OPT_TASK_SWEEP},
	    {"budget", required_argument, NULL, OPT_BUDGET},
	    {"no-estimate", no_argument, NULL, OPT_NO_ESTIMATE},
	};
	size_t n_fixed = sizeof(fixed) / sizeof(fixed[0]);
	_Static_assert(sizeof(fixed) / sizeof(fixed[0]) == N_FIXED_OPTIONS, "N_FIXED_OPTIONS");
	int n_aliases = alias_list(aliases, MAX_ALIASES);
	memcpy(options, fixed, sizeof(fixed));
	for (int i = 0; i < n_aliases; i++)
		options[n_fixed + (size_t)i] = (struct option){
		    aliases[i].alias->option,
		    aliases[i].alias->value ? no_argument : required_argument, NULL, OPT_ALIAS + i};
	options[n_fixed + (size_t)n_aliases] = (struct option){NULL, 0, NULL, 0};
	return n_aliases;
}

/* One option getopt_long returned; CLI_OK to go on. */
static enum cli_status parse_option(int opt, char **argv, struct run_config *cfg,
                                    const struct alias_ref *aliases, int n_aliases, char *err,
                                    size_t errlen)
{
	char as[PARAM_TEXT_MAX + 64];
	switch (opt) {
	case 'w':
	case 's':
	case 'n':
		return parse_list(opt, optarg, cfg, err, errlen);
	case 'r':
	case OPT_WARMUP:
	case OPT_SEED:
	case OPT_CELL_TIMEOUT:
		return parse_number(opt, optarg, cfg, err, errlen);
	case OPT_PIN:
		if (pin_policy_parse(optarg, &cfg->pin) != 0)
			return bad(err, errlen,
			           "unknown --pin policy '%s' (core, pu, single or none)", optarg);
		return CLI_OK;
	case 'p':
		snprintf(as, sizeof(as), "-p %s", optarg);
		return add_override(cfg, optarg, as, err, errlen) != 0 ? CLI_ERROR : CLI_OK;
	case OPT_QUICK:
		cfg->quick = true;
		return CLI_OK;
	case OPT_QUIET:
		cfg->quiet = true;
		return CLI_OK;
	case OPT_LIST_CELLS:
		cfg->list_cells = true;
		return CLI_OK;
	case OPT_TASK_SWEEP:
		cfg->task_sweep = true;
		return CLI_OK;
	case OPT_NO_ESTIMATE:
		cfg->no_estimate = true;
		return CLI_OK;
	case OPT_BUDGET: {
		long v;
		if (parse_int(optarg, 0, 864000, &v) != 0)
			return bad(err, errlen, "--budget needs seconds from 0 to 864000, not '%s'",
			           optarg);
		cfg->budget_s = (double)v;
		cfg->budget_given = true;
		return CLI_OK;
	}
	case OPT_BALLAST:
		return parse_ballast(cfg, optarg, err, errlen) != 0 ? CLI_ERROR : CLI_OK;
	case OPT_URL:
		return add_url_overrides(cfg, optarg, err, errlen) != 0 ? CLI_ERROR : CLI_OK;
	case 'o':
		if (optarg[0] == '\0' || strlen(optarg) >= sizeof(cfg->output))
			return bad(err, errlen, "unusable output path '%s'", optarg);
		snprintf(cfg->output, sizeof(cfg->output), "%s", optarg);
		return CLI_OK;
	case OPT_TRACE:
	case OPT_TRACE_CELLS:
	case OPT_TRACE_BUFFER:
		return parse_trace_option(opt, optarg, cfg, err, errlen);
	case 'h':
		return CLI_HELP;
	case ':':
		return bad(err, errlen, "option '%s' needs a value", argv[optind - 1]);
	}
	if (opt >= OPT_ALIAS && opt < OPT_ALIAS + n_aliases) {
		/* An option several strategies share (--python) sets it for each. */
		const char *name = aliases[opt - OPT_ALIAS].alias->option;
		for (int i = opt - OPT_ALIAS; i < n_aliases; i++)
			if (strcmp(aliases[i].alias->option, name) == 0 &&
			    add_alias_override(cfg, &aliases[i], optarg, err, errlen) != 0)
				return CLI_ERROR;
		return CLI_OK;
	}
	return bad(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
}

enum cli_status run_config_parse(int argc, char **argv, struct run_config *cfg, char *err,
                                 size_t errlen)
{
	struct option options[N_FIXED_OPTIONS + MAX_ALIASES + 1];
	struct alias_ref aliases[MAX_ALIASES];
	int n_aliases = build_options(options, aliases);
	struct list_ctx lc = {.cfg = cfg, .err = err, .errlen = errlen};
	int opt;

	config_defaults(cfg);
	err[0] = '\0';
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":w:s:n:r:p:o:h", options, NULL)) != -1) {
		enum cli_status st = parse_option(opt, argv, cfg, aliases, n_aliases, err, errlen);
		if (st != CLI_OK)
			return st;
	}
	if (optind < argc)
		return bad(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);
	if (cfg->trace_cells.n > 0 && cfg->trace_path[0] == '\0')
		return bad(err, errlen, "%s needs --trace FILE", "--trace-cells");
	if (cfg->n_workloads == 0) {
		cfg->default_suite = true;
		add_workload("all", &lc);
	}
	/* make bench fits in ten minutes with its set-up (bench/sizing.c) */
	if (!cfg->budget_given && cfg->default_suite && !cfg->quick)
		cfg->budget_s = CLI_DEFAULT_BUDGET_S;
	if (cfg->n_strategies == 0) {
		add_strategy("all", &lc);
		add_available_interpreted(cfg);
	}
	cfg->switch_interval_us = switch_interval_of(cfg);
	return CLI_OK;
}
