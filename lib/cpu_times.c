#include <stdio.h>

#include "lib/cpu_times.h"

void cpu_times_read(struct cpu_times *t)
{
	unsigned long long v[10] = {0};
	FILE *f = fopen("/proc/stat", "re");
	t->idle = t->steal = t->total = 0;
	if (f == NULL)
		return;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
	               &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	/* guest time (8, 9) is already counted in user and nice */
	for (int i = 0; i < n && i < 8; i++)
		t->total += v[i];
	t->idle = v[3] + v[4]; /* idle and iowait */
	t->steal = v[7];       /* taken by the hypervisor for other guests */
}
