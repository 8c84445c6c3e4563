/* All CPUs' time from /proc/stat's first line, in clock ticks: how much of
 * the machine was idle, or taken by the hypervisor, while something ran. */
#ifndef CONCBENCH_CPU_TIMES_H
#define CONCBENCH_CPU_TIMES_H

struct cpu_times {
	unsigned long long idle, steal, total;
};

/* All zero when /proc/stat cannot be read. */
void cpu_times_read(struct cpu_times *t);

#endif
