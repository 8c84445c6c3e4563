/* "did you mean": the known name nearest to a mistyped one. */
#ifndef CONCBENCH_SUGGEST_H
#define CONCBENCH_SUGGEST_H

#include <stddef.h>

/* Edits (insert, delete, substitute, swap two neighbours) from a to b. */
int edit_distance(const char *a, const char *b);

/* The candidate nearest to typed, if it is near enough to be a typo of it (a
 * third of its length in edits, at least one, at most three); NULL if none is,
 * or if two are equally near. */
const char *nearest_name(const char *typed, const char *const *candidates, size_t n);

/* " (did you mean 'NAME'?)" into buf when nearest_name finds one, else "". */
void did_you_mean(char *buf, size_t len, const char *typed, const char *const *candidates,
                  size_t n);

#endif
