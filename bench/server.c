/* Where the fixture server runs: a workload that downloads from it gets one of
 * its own, on the PUs no worker of its cells is pinned to. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <malloc.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench/run.h"

/* The allowed PUs that no cell of this workload is pinned to: where the
 * fixture server can run without taking a core from the workers. The topology
 * holds only the PUs this process may use (taskset, cpuset, numactl), so the
 * server stays inside them; where none is spare it is left unpinned and
 * inherits the process's own binding, which is that same set. */
static int spare_pus(const struct bench_run *run, const struct bench_workload *bw, int *out,
                     int max)
{
	hwloc_bitmap_t spare = hwloc_bitmap_dup(hwloc_topology_get_allowed_cpuset(run->topology));
	int n = 0, pu;
	for (int i = 0; i < run->n_cells && spare != NULL; i++) {
		const struct cell *c = &run->cells[i];
		if (c->bw != bw)
			continue;
		for (int k = 0; k < c->plan.workers; k++) {
			if (c->plan.cpus[k] < 0) { /* unpinned workers may run anywhere */
				hwloc_bitmap_zero(spare);
				break;
			}
			hwloc_bitmap_clr(spare, (unsigned)c->plan.cpus[k]);
		}
	}
	if (spare == NULL)
		return 0;
	hwloc_bitmap_foreach_begin(pu, spare)
	{
		if (n < max)
			out[n++] = pu;
	}
	hwloc_bitmap_foreach_end();
	hwloc_bitmap_free(spare);
	return n;
}

/* A workload that downloads from the fixture gets a server of its own on a
 * loopback port, unless the user pointed it elsewhere with --url. */
int start_fixture_server(struct bench_run *run, struct bench_workload *bw)
{
	struct workload *w = &bw->w;
	const char *key = w->ops->server_url_param;
	int cpus[64];
	if (key == NULL || params_find(w->params.defs, key, NULL) == NULL ||
	    param_set_by_user(&w->params, key))
		return 0;
	int n = spare_pus(run, bw, cpus, 64);
	if (managed_server_start(run->topology, cpus, n, &bw->server, bw->error,
	                         sizeof(bw->error)) != 0)
		return -1;
	bw->has_server = true;
	bw->server_record = bw->server;
	if (!run->cfg.quiet)
		fprintf(stderr, "%s: fixture server at %s, %s\n", w->ops->name, bw->server.url,
		        n > 0 ? "pinned to PUs the workers do not use"
		              : "unpinned (no PU is free of workers)");
	return params_set_internal(&w->params, key, bw->server.url, bw->error, sizeof(bw->error));
}

void stop_fixture_server(struct bench_workload *bw)
{
	if (bw->has_server)
		managed_server_stop(&bw->server);
	bw->has_server = false;
}
