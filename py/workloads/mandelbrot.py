"""mandelbrot: escape-time counts over a fixed view, one band of rows per task.

Every product and sum is its own float operation in the order the C kernel
does them, so the counts (and the hash) are bit for bit the C workload's."""

from checksum import MASK, mix
from workloads import TaskResult

VIEW_RE_MIN = -2.5
VIEW_RE_WIDTH = 3.5
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


def escape_count(cr, ci, max_iter):
    zr = zi = 0.0
    n = 0
    while n < max_iter:
        zr2 = zr * zr
        zi2 = zi * zi
        if zr2 + zi2 > 4.0:
            break
        zri = zr * zi
        zi = zri + zri + ci
        zr = zr2 - zi2 + cr
        n += 1
    return n


class Workload:
    def __init__(self, params, inputs):
        self.width = int(params["width"])
        self.height = int(params["height"])
        self.bands = int(params["bands"])
        self.max_iter = int(params["max_iter"])
        self.dx = VIEW_RE_WIDTH / self.width
        self.half_height = 0.5 * self.height

    def task_count(self):
        return self.bands

    def run_task(self, band):
        rows = range(self.height * band // self.bands, self.height * (band + 1) // self.bands)
        hash_, iterations = FNV_OFFSET, 0
        for row in rows:
            ci = (row + 0.5 - self.half_height) * self.dx
            for col in range(self.width):
                n = escape_count(VIEW_RE_MIN + (col + 0.5) * self.dx, ci, self.max_iter)
                iterations += n
                hash_ = ((hash_ ^ n) * FNV_PRIME) & MASK
        return TaskResult(mix(hash_ ^ mix(band)), items=iterations)

    async def run_task_async(self, i):
        return self.run_task(i)
