/* What the result file says about the machine and the tool that measured it. */
#include <math.h>
#include <stdio.h>
#include <string.h>
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
