"""The Python twins of concbench's workloads, one module per workload.

Each module defines a class `Workload(params, inputs)`: set up outside the
timed region, then `run_task(i)` runs task i to completion and returns a
`TaskResult`. An I/O workload also has `async run_task_async(i)`, what an
asyncio program would await; a CPU workload's coroutine runs the task inline,
blocking the loop, as a CPU-bound coroutine does.
"""

import importlib
from typing import NamedTuple


class TaskResult(NamedTuple):
    checksum: int
    items: int = 0
    bytes: int = 0
    latency_s: float = 0.0
    error: str = ""
    connects: int = 0
    samples: tuple = ()  # mixed's stream: (alone, busy) round trips in seconds


def failed(message, **figures):
    """A task whose answer is wrong or missing: the cell fails with the message."""
    return TaskResult(0, error=message, **figures)


def digests(inputs, key):
    """The C side's per-task values for what Python checks with a digest of its
    own: {task: (size, sha256 hex, content hash)} from lines "KEY I SIZE SHA HASH [PATH]"."""
    out = {}
    for line in inputs.get(key, []):
        fields = line.split(maxsplit=4)
        out[int(fields[0])] = (int(fields[1]), fields[2], int(fields[3], 16)) + tuple(fields[4:])
    return out


def load(name, params, inputs):
    module = importlib.import_module("workloads." + name)
    return module.Workload(params, inputs)
