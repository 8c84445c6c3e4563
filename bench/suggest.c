/* "did you mean": the known name nearest to a mistyped one, by the optimal
 * string alignment distance (Levenshtein with swaps of neighbours, the
 * commonest typo). Names are short, so the quadratic table is small. */
#include "bench/suggest.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define SUGGEST_MAX_LEN 64

static int min3(int a, int b, int c)
{
	int m = a < b ? a : b;
	return m < c ? m : c;
}

int edit_distance(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	if (n > SUGGEST_MAX_LEN || m > SUGGEST_MAX_LEN)
		return (int)(n > m ? n : m);
	int d[SUGGEST_MAX_LEN + 1][SUGGEST_MAX_LEN + 1];
	for (size_t i = 0; i <= n; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			int cost = a[i - 1] != b[j - 1];
			d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < d[i][j])
				d[i][j] = d[i - 2][j - 2] + 1;
		}
	return d[n][m];
}

const char *nearest_name(const char *typed, const char *const *candidates, size_t n)
{
	int limit = (int)strlen(typed) / 3;
	limit = limit < 1 ? 1 : limit > 3 ? 3 : limit;
	const char *best = NULL;
	int best_d = limit + 1;
	bool tie = false;
	for (size_t i = 0; i < n; i++) {
		int d = edit_distance(typed, candidates[i]);
		if (d < best_d) {
			best = candidates[i];
			best_d = d;
			tie = false;
		} else if (d == best_d && best != NULL && strcmp(best, candidates[i]) != 0) {
			tie = true;
		}
	}
	return tie ? NULL : best;
}

void did_you_mean(char *buf, size_t len, const char *typed, const char *const *candidates, size_t n)
{
	const char *near = nearest_name(typed, candidates, n);
	if (near != NULL)
		snprintf(buf, len, " (did you mean '%s'?)", near);
	else if (len > 0)
		buf[0] = '\0';
}
