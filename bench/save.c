/* Keeping the result file up to date as the run goes: a save after every
 * repetition, and what happens when one fails (a full disk, a quota). */
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

/* A save that failed (a full disk, a quota): every later save would fail the
 * same way, so what is measured from then on could not be kept. The run
 * stops, the file on disk stays the last whole version, and the exit status
 * is EXIT_SAVE_FAILED. Set by the main thread or the watchdog. */
static volatile sig_atomic_t save_failed;
static char save_error[512];
static int saves_done;

/* Writes the result file as it stands; returns the document (the caller
 * owns it) so the end of the run can print the claims it holds. After one
 * failed save no more are tried: the failure is said once, at the end. */
json_t *save_progress(struct bench_run *run)
{
	char err[512];
	json_t *doc = bench_run_to_json(run);
	if (save_failed)
		return doc;
	if (doc == NULL)
		snprintf(err, sizeof(err), "out of memory");
	if (doc == NULL || write_json_atomically(doc, run->output, err, sizeof(err)) != 0) {
		snprintf(save_error, sizeof(save_error), "%s", err);
		save_failed = 1;
	} else
		saves_done++;
	return doc;
}

/* The one line a failed save gets: the cause, and what the file holds. */
void report_failed_save(const struct bench_run *run)
{
	if (saves_done == 0)
		fprintf(stderr,
		        "concbench run: cannot write %s: %s; the run stopped and no result file "
		        "was written\n",
		        run->output, save_error);
	else
		fprintf(stderr,
		        "concbench run: cannot write %s: %s; the run stopped, and the file holds "
		        "its last whole save (%d)\n",
		        run->output, save_error, saves_done);
}

bool save_has_failed(void)
{
	return save_failed != 0;
}
