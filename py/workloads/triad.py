"""triad: STREAM's triad a = b + 3c over per-task NumPy arrays, several passes.

NumPy runs each pass in C with the GIL released, which is the point: this is
where threads help CPython. The array is checked with hashlib's SHA-256 (also
run without the GIL) against the digest the C side computed from the formula,
and then contributes the C content hash that digest stands for, so the run's
checksum is the C workload's."""

import hashlib

import numpy as np

from checksum import mix
from workloads import TaskResult, digests, failed

SCALAR = 3.0


def inputs_of(task, n):
    j = np.arange(n, dtype=np.uint64)
    b = ((j + np.uint64(task)) & np.uint64(1023)).astype(np.float64)
    c = 0.25 * ((j * np.uint64(7) + np.uint64(task * 13)) & np.uint64(511)).astype(np.float64)
    return b, c


class Workload:
    def __init__(self, params, inputs):
        self.tasks = int(params["tasks"])
        self.elements = int(params["elements"])
        self.passes = int(params["passes"])
        self.fault_element = int(params["fault_element"])
        self.expected = digests(inputs, "task")

    def task_count(self):
        return self.tasks

    def run_task(self, i):
        b, c = inputs_of(i, self.elements)
        for _ in range(self.passes):
            a = b + SCALAR * c
        if i == 0 and 0 <= self.fault_element < self.elements:
            a[self.fault_element] += 1.0
        digest = hashlib.sha256(a).hexdigest()
        moved = 3 * 8 * self.elements * self.passes
        if i not in self.expected:
            return failed(f"triad task {i}: the C side sent no digest for it")
        _, want, content_hash = self.expected[i]
        if digest != want:
            return failed(f"triad task {i}: the array's SHA-256 differs from the formula's")
        return TaskResult(mix(content_hash ^ mix(i)), items=self.elements * self.passes,
                          bytes=moved)

    async def run_task_async(self, i):
        return self.run_task(i)
