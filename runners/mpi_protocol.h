/* What runners/mpi.c (in `concbench`, which never initialises MPI) and its
 * driver, build/concbench-mpi (bench/mpi_ranks.c, the MPI singleton or the
 * process `mpirun` launched), say to each other over two pipes; and what the
 * driver and its ranks say over MPI. docs/mpi.md tells the whole story. */
#ifndef CONCBENCH_MPI_PROTOCOL_H
#define CONCBENCH_MPI_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/params.h"
#include "workloads/workload.h"

/* The driver reads its jobs from this descriptor and writes its events to the next. */
#define MPI_DRIVER_JOB_FD   3
#define MPI_DRIVER_EVENT_FD 4

#define MPI_MAX_WORKERS 256
#define MPI_HOST_MAX    64
#define MPI_SPEC_MAX    (PARAM_MAX * (48 + PARAM_TEXT_MAX) + 64)

/* The workload as a rank sets it up: its name on the first line, "#user=BITS"
 * (param_values.set_by_user) on the second, then one KEY=VALUE line per
 * parameter, as params_set_internal reads them. A rank
 * keeps the workload it last set up while the text stays the same. */
struct mpi_job {
	int workers;
	int cpus[MPI_MAX_WORKERS]; /* OS index of the PU per rank on the driver's host, -1: none */
	size_t tasks;
	char hostfile[PARAM_TEXT_MAX]; /* MPI_Info "add-hostfile" for the spawn, "" for none */
	double spawn_timeout_s;
	/* Under mpirun this process's binding is mpirun's (often one core), and
	 * so is the plan made from it: then every rank pins itself instead, to
	 * the core of its host its place among that host's ranks names, as ranks
	 * on other hosts always do. */
	int ranks_place_themselves;
	char spec[MPI_SPEC_MAX];
};

enum mpi_event_kind {
	MPI_EV_WORKER, /* a rank is ready: its pid, host and start-up */
	MPI_EV_ASSIGN, /* the driver handed task to rank */
	MPI_EV_RESULT, /* rank finished task; result and observed cpu */
	MPI_EV_FAIL,   /* the run cannot go on: text says why, in one line */
	MPI_EV_DONE,   /* every task came back; spawned, spawn_s */
};

/* One write each, under PIPE_BUF, so an event arrives whole or not at all. */
struct mpi_event {
	enum mpi_event_kind kind;
	int rank;
	size_t task;
	int pid;
	int cpu;          /* planned (WORKER) or observed (RESULT) PU, -1 unknown */
	int pinned;       /* RESULT: the PU the rank pinned itself to, -1 none */
	double startup_s; /* WORKER: from the spawn call to the rank's first task */
	int spawned;      /* DONE: 1 when this run spawned the ranks, 0 when they were warm */
	double spawn_s;   /* DONE: how long the ranks' spawn took, when it happened */
	char host[MPI_HOST_MAX];
	struct task_result result;
	char text[256];
};

/* Tags between the driver and its ranks. */
enum mpi_tag {
	MPI_TAG_HELLO = 1, /* rank -> driver: struct mpi_hello */
	MPI_TAG_JOB,       /* driver -> rank: the spec text, then a line "cpu=N": the PU to
	                    * pin to, -1 none, or -2-K: the K-th core of the rank's host */
	MPI_TAG_TASK,      /* driver -> rank: the task index (uint64) */
	MPI_TAG_RESULT,    /* rank -> driver: struct mpi_result */
	MPI_TAG_SETUP_ERR, /* rank -> driver: the workload's setup error, as text */
	MPI_TAG_EXIT,      /* driver -> rank: leave */
	MPI_TAG_BEAT,      /* rank -> driver: still running its task (empty) */
};

/* While a rank runs a task it says so every MPI_BEAT_S; a rank that has said
 * nothing for MPI_BEAT_TIMEOUT_S while holding a task is taken for lost (the
 * only sign of a rank on another host that died, or of one that hangs). */
#define MPI_BEAT_S         0.5
#define MPI_BEAT_TIMEOUT_S 5.0

struct mpi_hello {
	int pid;
	int beats; /* 1: it has MPI_THREAD_MULTIPLE, and so a heartbeat */
	char host[MPI_HOST_MAX];
};

struct mpi_result {
	uint64_t task;
	int cpu;
	int pinned;
	struct task_result result;
};

#endif
