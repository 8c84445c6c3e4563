/* Stopping early: SIGINT and SIGTERM, and the watchdog that ends a run whose
 * cell outlives --cell-timeout. */
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

/* ---- stopping early: Ctrl-C, SIGTERM, a cell that never ends ------------------
 * The first SIGINT or SIGTERM lets the run in flight end, drops it (a worker
 * the signal reached may have died with it), writes what was measured with
 * "interrupted": true and exits 128 + the signal; a second one exits at once,
 * leaving the file as last written (it is always whole). */

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	if (stop_signal != 0)
		_exit(128 + sig);
	stop_signal = sig;
}

void catch_stop_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* A run that outlives --cell-timeout cannot be stopped from outside (threads
 * cannot be cancelled safely), so the watchdog records the cell as timed out,
 * writes the file and ends the process; forked workers and the fixture server
 * die with it (parent-death signal). */
struct watchdog {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct bench_run *run;
	struct cell *cell; /* the cell whose run is in flight, NULL between runs */
	double deadline;   /* CLOCK_MONOTONIC seconds */
	bool quit;
};

static struct watchdog the_watchdog = {.mu = PTHREAD_MUTEX_INITIALIZER,
                                       .cv = PTHREAD_COND_INITIALIZER};

static void *watch_runs(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&the_watchdog.mu);
	while (!the_watchdog.quit) {
		if (the_watchdog.cell == NULL) {
			pthread_cond_wait(&the_watchdog.cv, &the_watchdog.mu);
			continue;
		}
		struct timespec until = {
		    .tv_sec = (time_t)the_watchdog.deadline,
		    .tv_nsec =
		        (long)((the_watchdog.deadline - floor(the_watchdog.deadline)) * 1e9)};
		if (pthread_cond_timedwait(&the_watchdog.cv, &the_watchdog.mu, &until) !=
		        ETIMEDOUT ||
		    the_watchdog.cell == NULL || monotonic_now() < the_watchdog.deadline)
			continue;
		struct cell *c = the_watchdog.cell;
		struct bench_run *run = the_watchdog.run;
		snprintf(
		    c->error, sizeof(c->error),
		    "timed out: one run took longer than %d s (--cell-timeout); the run stopped "
		    "here",
		    run->cfg.cell_timeout_s);
		snprintf(run->interrupted_by, sizeof(run->interrupted_by), "cell-timeout");
		json_decref(save_progress(run));
		if (save_has_failed())
			report_failed_save(run);
		fprintf(stderr,
		        "\nconcbench run: %s %s n=%d: %s; cells measured so far are in %s\n",
		        c->bw->w.ops->name, c->runner->name, c->workers, c->error, run->output);
		_exit(124);
	}
	pthread_mutex_unlock(&the_watchdog.mu);
	return NULL;
}

/* The deadline is on CLOCK_MONOTONIC, and so must the condition's waits be:
 * with the default (realtime) clock every wait would end at once and the
 * watchdog would spin a CPU away from the cells it watches. */
int watchdog_start(pthread_t *tid)
{
	pthread_condattr_t attr;
	if (pthread_condattr_init(&attr) != 0 ||
	    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&the_watchdog.cv, &attr) != 0)
		return -1;
	pthread_condattr_destroy(&attr);
	return pthread_create(tid, NULL, watch_runs, NULL);
}

void watchdog_arm(struct bench_run *run, struct cell *c)
{
	pthread_mutex_lock(&the_watchdog.mu);
	the_watchdog.run = run;
	the_watchdog.cell = c;
	the_watchdog.deadline = monotonic_now() + run->cfg.cell_timeout_s;
	pthread_cond_signal(&the_watchdog.cv);
	pthread_mutex_unlock(&the_watchdog.mu);
}

/* Returns with the watchdog's lock held, so that the cell is not written
 * while the watchdog reads it; watchdog_release lets go. */
void watchdog_disarm(void)
{
	pthread_mutex_lock(&the_watchdog.mu);
	the_watchdog.cell = NULL;
}

void watchdog_release(void)
{
	pthread_cond_signal(&the_watchdog.cv);
	pthread_mutex_unlock(&the_watchdog.mu);
}

int stop_signal_received(void)
{
	return stop_signal;
}

void watchdog_stop(pthread_t tid)
{
	pthread_mutex_lock(&the_watchdog.mu);
	the_watchdog.quit = true;
	pthread_cond_signal(&the_watchdog.cv);
	pthread_mutex_unlock(&the_watchdog.mu);
	pthread_join(tid, NULL);
}
