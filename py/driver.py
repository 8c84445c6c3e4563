"""The interpreter's side of concbench's py-* strategies (runners/python.c).

The C side writes a request on stdin, one "KEY VALUE" line each, ended by
"start":

    workload primes
    param limit 200000            (every parameter of the workload)
    input task 0 SIZE SHA HASH    (what the twin checks its bytes against)
    executor threads 2
    switch_interval_us 5000
    start

The driver sets the workload up and answers "ready IMPLEMENTATION VERSION
GIL SWITCH_INTERVAL_S", or "error MESSAGE". Then each "run" line runs the
executor once, timed around its whole life, and answers with one line per
task, the stream's round trips (mixed), the usage, and "end":

    task I CHECKSUM ITEMS BYTES LATENCY_S CONNECTS [ERROR]
    stream alone|busy S S S ...
    usage WALL_S USER_S SYS_S MAX_RSS_KIB VOLUNTARY INVOLUNTARY
    end

"quit" or the end of stdin ends it."""

import platform
import resource
import sys
import time

import executors
import workloads


def read_request(lines):
    request = {"params": {}, "inputs": {}}
    for line in lines:
        key, _, value = line.rstrip("\n").partition(" ")
        if key == "start":
            return request
        if key == "param":
            name, _, text = value.partition(" ")
            request["params"][name] = text
        elif key == "input":
            name, _, text = value.partition(" ")
            request["inputs"].setdefault(name, []).append(text)
        elif key == "executor":
            kind, workers = value.split()
            request["executor"], request["workers"] = kind, int(workers)
        else:
            request[key] = value
    raise EOFError("the request ended before 'start'")


def gil_enabled():
    is_enabled = getattr(sys, "_is_gil_enabled", None)  # 3.13's free-threaded builds
    return is_enabled() if is_enabled is not None else True


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def run_once(workload, executor, workers, out):
    run = executors.EXECUTORS[executor]
    before_run = getattr(workload, "before_run", None)
    if before_run is not None:
        before_run(executor)
    reset_peak_rss()
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    results, children_kib = run(workload, workers)
    wall = time.perf_counter() - t0
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)

    def spent(field):
        return (getattr(self1, field) - getattr(self0, field) +
                getattr(kids1, field) - getattr(kids0, field))

    for i, r in enumerate(results):
        error = " " + " ".join(r.error.split()) if r.error else ""
        out.write(f"task {i} {r.checksum:x} {r.items} {r.bytes} {r.latency_s!r} "
                  f"{r.connects}{error}\n")
        for phase, samples in zip(("alone", "busy"), r.samples):
            out.write(f"stream {phase} " + " ".join(map(repr, samples)) + "\n")
    peak = executors.status_kib("VmHWM") + children_kib
    out.write(f"usage {wall!r} {spent('ru_utime')!r} {spent('ru_stime')!r} {peak} "
              f"{spent('ru_nvcsw')} {spent('ru_nivcsw')}\nend\n")
    out.flush()


def main():
    try:
        request = read_request(sys.stdin)
        if request.get("executor") not in executors.EXECUTORS:
            raise ValueError(f"no executor {request.get('executor')!r}")
        sys.setswitchinterval(int(request.get("switch_interval_us", 5000)) / 1e6)
        workload = workloads.load(request["workload"], request["params"], request["inputs"])
    except Exception as e:
        print(f"error {type(e).__name__}: {' '.join(str(e).split())}", flush=True)
        return 1
    print(f"ready {platform.python_implementation()} {platform.python_version()} "
          f"{int(gil_enabled())} {sys.getswitchinterval()!r}", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        if command == "run":
            try:
                run_once(workload, request["executor"], request["workers"], sys.stdout)
            except Exception as e:
                print(f"error {type(e).__name__}: {' '.join(str(e).split())}", flush=True)
    close = getattr(workload, "close", None)
    if close is not None:
        close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
