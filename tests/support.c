#include "support.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "runner.h"

char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return strdup("");
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = calloc((size_t)(n > 0 ? n : 0) + 1, 1);
	size_t got = n > 0 ? fread(s, 1, (size_t)n, f) : 0;
	s[got] = '\0';
	fclose(f);
	return s;
}

struct output sh(const char *fmt, ...)
{
	char cmd[8192], outf[] = "/tmp/concbench-test-out-XXXXXX",
	                errf[] = "/tmp/concbench-test-err-XXXXXX";
	int fo = mkstemp(outf), fe = mkstemp(errf);
	cr_assert(fo >= 0 && fe >= 0);
	close(fo);
	close(fe);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(cmd, sizeof(cmd) - 64, fmt, ap);
	va_end(ap);
	cr_assert(n > 0 && (size_t)n < sizeof(cmd) - 64);
	char full[8400];
	snprintf(full, sizeof(full), "%s >%s 2>%s", cmd, outf, errf);
	int st = system(full);
	struct output o = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(outf), slurp(errf)};
	unlink(outf);
	unlink(errf);
	return o;
}

void output_free(struct output *o)
{
	free(o->out);
	free(o->err);
	o->out = o->err = NULL;
}

int run_concbench_for(int timeout_s, const char *args, char *err, size_t errlen)
{
	char prefix[32] = "";
	if (timeout_s > 0)
		snprintf(prefix, sizeof(prefix), "timeout %d ", timeout_s);
	struct output o = sh("%s%s %s", prefix, CONCBENCH_BIN, args);
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", o.err);
	int status = o.status;
	output_free(&o);
	return status;
}

const char *const *strategy_names(void)
{
	static const char *names[64];
	size_t n = 0;
	for (const struct runner_ops *const *r = runner_table(); *r && n < 63; r++)
		names[n++] = (*r)->name;
	names[n] = NULL;
	return names;
}

size_t strategy_count(void)
{
	size_t n = 0;
	while (runner_table()[n] != NULL)
		n++;
	return n;
}
