"""sleep: N waits of D ms each, pure latency."""

import asyncio
import time

from checksum import mix
from workloads import TaskResult


class Workload:
    def __init__(self, params, inputs):
        self.tasks = int(params["tasks"])
        self.seconds = int(params["ms"]) / 1000

    def task_count(self):
        return self.tasks

    def run_task(self, i):
        time.sleep(self.seconds)
        return TaskResult(mix(i), items=1)

    async def run_task_async(self, i):
        await asyncio.sleep(self.seconds)
        return TaskResult(mix(i), items=1)
