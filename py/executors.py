"""One executor per strategy: how a Python programmer runs a list of tasks.

Each takes the workload and the worker count, runs every task once and
returns the per-task results (in task order) and the memory its child
processes added (KiB, 0 without children). Pool creation and shutdown are
part of the executor's life, as they are in the C strategies."""

import asyncio
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial

from workloads import failed


def timed(workload, i):
    t0 = time.perf_counter()
    try:
        result = workload.run_task(i)
    except Exception as e:  # the cell fails with this line; the run goes on
        result = failed(f"task {i}: {type(e).__name__}: {e}")
    return result._replace(latency_s=time.perf_counter() - t0)


def run_serial(workload, workers):
    return [timed(workload, i) for i in range(workload.task_count())], 0


def run_threads(workload, workers):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(partial(timed, workload), range(workload.task_count()))), 0


def status_kib(field):
    """A "kB" line of /proc/self/status (VmRSS, VmHWM); 0 where there is none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


# The workload a forked worker runs: set before the pool forks, so every worker
# inherits it (the fork context's way of sharing set-up).
_workload = None


def timed_in_worker(i):
    return timed(_workload, i), os.getpid(), status_kib("VmHWM")


def _leave_with_driver(driver_pid):
    """A pool worker's initializer: exit when the driver is gone.

    A worker forked from the driver holds both ends of the pool's queues, so it
    never reads end-of-file when concbench kills the driver; without this it
    would wait for its next task for ever."""

    def watch():
        while os.getppid() == driver_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def run_processes(workload, workers):
    global _workload
    _workload = workload
    inherited = status_kib("VmRSS")
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_leave_with_driver,
                             initargs=(os.getpid(),)) as pool:
        done = list(pool.map(timed_in_worker, range(workload.task_count())))
    peaks = {}
    for _, pid, peak in done:
        peaks[pid] = max(peaks.get(pid, 0), peak)
    added = sum(max(0, peak - inherited) for peak in peaks.values())
    return [result for result, _, _ in done], added


def run_asyncio(workload, workers):
    """Every task a coroutine, `workers` of them in flight at once."""

    async def one(i, limit):
        async with limit:
            t0 = time.perf_counter()
            try:
                result = await workload.run_task_async(i)
            except Exception as e:
                result = failed(f"task {i}: {type(e).__name__}: {e}")
            return result._replace(latency_s=time.perf_counter() - t0)

    async def main():
        limit = asyncio.Semaphore(workers)
        try:
            return await asyncio.gather(*(one(i, limit) for i in range(workload.task_count())))
        finally:
            close = getattr(workload, "close_async", None)
            if close is not None:
                await close()

    return list(asyncio.run(main())), 0


EXECUTORS = {
    "serial": run_serial,
    "threads": run_threads,
    "processes": run_processes,
    "asyncio": run_asyncio,
}
