"""primes: count the primes below a bound by trial division, one range per task."""

from checksum import mix
from workloads import TaskResult


def is_prime(n):
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    d = 3
    while d <= n // d:
        if n % d == 0:
            return False
        d += 2
    return True


def task_range(limit, tasks, i):
    """Task i of `tasks` covers [lo, hi) of [0, limit): equal widths."""
    return limit * i // tasks, limit * (i + 1) // tasks


def count_primes(lo, hi):
    return sum(1 for n in range(lo, hi) if is_prime(n))


def range_checksum(task, count):
    return mix((task << 32) ^ count)


class Workload:
    def __init__(self, params, inputs):
        self.limit = int(params["limit"])
        self.tasks = int(params["tasks"])

    def task_count(self):
        return self.tasks

    def run_task(self, i):
        count = count_primes(*task_range(self.limit, self.tasks, i))
        return TaskResult(range_checksum(i, count), items=count)

    async def run_task_async(self, i):
        return self.run_task(i)
