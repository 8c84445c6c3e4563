/* The rooms' rules (docs/architecture.md): which folders' headers each folder
 * may include, read from the sources themselves. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/support.h"

/* Each room and the rooms it may include from, itself first. */
static const struct {
	const char *room;
	const char *may[6];
} rules[] = {
    {"lib", {"lib"}},
    {"workloads", {"workloads", "lib"}},
    {"runners", {"runners", "workloads", "lib"}},
    {"readers", {"readers", "lib"}},
    {"fixture", {"fixture", "lib"}},
};

static bool allowed(size_t r, const char *inc)
{
	for (size_t k = 0; k < 6 && rules[r].may[k] != NULL; k++) {
		size_t n = strlen(rules[r].may[k]);
		if (strncmp(inc, rules[r].may[k], n) == 0 && inc[n] == '/')
			return true;
	}
	return false;
}

/* The project's includes of one file ("x/y.h" in quotes); each is checked. */
static int check_file(size_t r, const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	char line[512];
	int seen = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char inc[256];
		if (sscanf(line, " #include \"%255[^\"]\"", inc) != 1)
			continue;
		seen++;
		cr_expect(strchr(inc, '/') != NULL, "%s includes \"%s\" without its folder", path,
		          inc);
		cr_expect(allowed(r, inc), "%s (in %s/) includes %s", path, rules[r].room, inc);
	}
	fclose(f);
	return seen;
}

Test(layout, each_room_includes_only_what_it_may)
{
	go_to_root();
	int files = 0;
	for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
		DIR *d = opendir(rules[r].room);
		cr_assert_not_null(d, "no folder %s/", rules[r].room);
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			size_t n = strlen(e->d_name);
			if (n < 3 || e->d_name[n - 2] != '.' ||
			    (e->d_name[n - 1] != 'c' && e->d_name[n - 1] != 'h'))
				continue;
			char path[512];
			snprintf(path, sizeof(path), "%s/%s", rules[r].room, e->d_name);
			check_file(r, path);
			files++;
		}
		closedir(d);
	}
	cr_assert_gt(files, 20, "only %d files read", files);
}
