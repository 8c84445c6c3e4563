/* How a run's checksum is made: each task's figures mixed into one word,
 * the words added up (so the order the tasks ran in does not matter). */
#ifndef CONCBENCH_CHECKSUM_H
#define CONCBENCH_CHECKSUM_H

#include <stdint.h>

/* splitmix64's finaliser: turns a task's index and figures into one well-mixed
 * word, so that a result landing on the wrong task changes the checksum. */
static inline uint64_t checksum_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline uint64_t checksum_combine(uint64_t acc, uint64_t task)
{
	return acc + task;
}

#endif
