/* What the result file says about the machine and the tool that measured it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench/run.h"

#ifndef CONCBENCH_VERSION
#define CONCBENCH_VERSION "unknown"
#endif
#ifndef CONCBENCH_GIT_COMMIT
#define CONCBENCH_GIT_COMMIT "unknown"
#endif
#ifndef CONCBENCH_CFLAGS
#define CONCBENCH_CFLAGS ""
#endif

static json_t *json_number_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

void machine_hostname(char *buf, size_t len)
{
	if (gethostname(buf, len) != 0 || buf[0] == '\0')
		snprintf(buf, len, "unknown-host");
	buf[len - 1] = '\0';
	/* The name ends up in a file name. */
	for (char *p = buf; *p; p++)
		if (*p == '/')
			*p = '_';
}

static void read_cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	snprintf(buf, len, "unknown");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
			snprintf(buf, len, "%s", colon + 2);
			buf[strcspn(buf, "\n")] = '\0';
			break;
		}
	}
	if (f != NULL)
		fclose(f);
}

const char *machine_governor(char *buf, size_t len)
{
	FILE *f = fopen("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "r");
	if (f == NULL)
		return NULL;
	const char *got = fgets(buf, (int)len, f);
	fclose(f);
	if (got == NULL)
		return NULL;
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

json_t *machine_to_json(hwloc_topology_t topology, const double load_avg[3])
{
	char host[256], model[256], gov[64];
	struct utsname u;
	machine_hostname(host, sizeof(host));
	read_cpu_model(model, sizeof(model));
	json_t *kernel = uname(&u) == 0 ? json_sprintf("%s %s %s", u.sysname, u.release, u.machine)
	                                : json_null();
	const char *g = machine_governor(gov, sizeof(gov));
	json_t *loads = json_array();
	for (int i = 0; i < 3; i++)
		json_array_append_new(loads, json_number_or_null(load_avg[i]));
	/* "topology" is the allowed machine (topology_open restricts it), the one
	 * the run could use; online_pus and restricted say what it was cut from. */
	return json_pack(
	    "{s:s, s:o, s:s, s:o, s:o, s:o, s:b, s:o, s:o, s:b, s:i}", "hostname", host, "kernel",
	    kernel, "cpu_model", model, "topology", topology_to_json(topology), "allowed_pus",
	    topology_allowed_pus_json(topology), "online_pus", topology_online_pus_json(topology),
	    "restricted", topology_is_restricted(topology), "load_avg", loads, "governor",
	    g ? json_string(g) : json_null(), "smt", topology_has_smt(topology), "online_cpus",
	    (int)sysconf(_SC_NPROCESSORS_ONLN));
}

json_t *tool_to_json(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", "concbench", "version",
	                 CONCBENCH_VERSION, "git_commit", CONCBENCH_GIT_COMMIT, "compiler",
	                 "gcc-compatible " __VERSION__, "cflags",
	                 "-std=c11 -Wall -Wextra -Werror " CONCBENCH_CFLAGS);
}

/* ---- warnings about the machine, said before the run ------------------- */

/* Each request in flight holds a socket (two with a local server), so the
 * soft descriptor limit goes up to the hard one; a sweep that needs more
 * than even that is said so before it starts. */
static void raise_descriptor_limit(struct bench_run *run)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = {.rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl = want;
	}
	run->nofile_limit = rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
	int widest = 0;
	for (int i = 0; i < run->n_cells; i++)
		if (run->cells[i].bw->w.ops->server_url_param != NULL &&
		    run->cells[i].workers > widest)
			widest = run->cells[i].workers;
	if (run->nofile_limit >= 0 && widest + 64 > run->nofile_limit &&
	    run->n_warnings < (int)(sizeof(run->warnings) / sizeof(run->warnings[0])))
		snprintf(
		    run->warnings[run->n_warnings++], sizeof(run->warnings[0]),
		    "%d requests in flight need about %d file descriptors, but RLIMIT_NOFILE's "
		    "hard limit is %ld: raise it (ulimit -Hn) or expect EMFILE",
		    widest, widest + 64, run->nofile_limit);
}

void note_machine_warnings(struct bench_run *run)
{
	raise_descriptor_limit(run);
	int pus = topology_pus(run->topology);
	char gov[64];
	if (getloadavg(run->load_avg, 3) != 3)
		run->load_avg[0] = run->load_avg[1] = run->load_avg[2] = NAN;
	if (run->load_avg[0] > 0.5 * pus)
		snprintf(run->warnings[run->n_warnings++], sizeof(run->warnings[0]),
		         "load average %.2f on %d PUs before the run: other work may skew the "
		         "figures",
		         run->load_avg[0], pus);
	if (machine_governor(gov, sizeof(gov)) != NULL && strcmp(gov, "performance") != 0)
		snprintf(run->warnings[run->n_warnings++], sizeof(run->warnings[0]),
		         "CPU frequency governor is '%s', not 'performance': clocks may vary", gov);
	if (topology_has_smt(run->topology))
		snprintf(
		    run->warnings[run->n_warnings++], sizeof(run->warnings[0]),
		    "SMT is on: with --pin pu, or more workers than cores, two workers share a "
		    "core's units");
	/* the topology is already cut to the allowed set: say from what */
	if (topology_restriction_note(run->topology, run->warnings[run->n_warnings],
	                              sizeof(run->warnings[0])))
		run->n_warnings++;
	for (int i = 0; i < run->n_warnings && !run->cfg.quiet; i++)
		fprintf(stderr, "warning: %s\n", run->warnings[i]);
}
