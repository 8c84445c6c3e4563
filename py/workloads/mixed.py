"""mixed: CPU tasks beside one I/O stream of socket round trips (the convoy).

Task 0 is the stream: 64-byte round trips to an echo process forked at set-up,
first alone while the CPU tasks wait on an Event, then beside them while CPU
work remains. Tasks 1..cpu_tasks count primes, as the primes workload does.
Under threads this is Beazley's convoy: every recv() gives up the GIL, and
getting it back waits for the CPU thread's switch interval."""

import asyncio
import multiprocessing
import os
import socket
import threading
import time

from checksum import mix
from workloads import TaskResult, failed
from workloads.primes import count_primes, range_checksum, task_range

MESSAGE_BYTES = 64
WAIT_S = 10.0
STREAM_OK = 0x5EED5EED5EED5EED


def message(n):
    return b"".join(mix(n * 8 + i).to_bytes(8, "little") for i in range(0, MESSAGE_BYTES, 8))


def echo_forever(sock):
    while data := sock.recv(4096):
        sock.sendall(data)


class Counter:
    """CPU tasks done, for threads (a lock) or processes (a shared Value)."""

    def __init__(self, value=None):
        self.value = value
        self.count = 0
        self.lock = threading.Lock()

    def add(self):
        if self.value is not None:
            with self.value.get_lock():
                self.value.value += 1
        else:
            with self.lock:
                self.count += 1

    def get(self):
        return self.value.value if self.value is not None else self.count


class Workload:
    def __init__(self, params, inputs):
        self.roundtrips = int(params["roundtrips"])
        self.alone_roundtrips = int(params["alone_roundtrips"])
        self.cpu_tasks = int(params["cpu_tasks"])
        self.limit = int(params["limit"])
        self.sock, peer = socket.socketpair()
        self.peer = os.fork()
        if self.peer == 0:
            self.sock.close()
            echo_forever(peer)
            os._exit(0)
        peer.close()
        self.before_run("threads")

    def task_count(self):
        return self.cpu_tasks + 1

    def before_run(self, executor):
        """The gate and the count, made before the workers so that forked ones share them."""
        if executor == "processes":
            ctx = multiprocessing.get_context("fork")
            self.gate, self.done = ctx.Event(), Counter(ctx.Value("i", 0))
        elif executor == "asyncio":
            self.gate, self.done = None, Counter()  # the Event is made in the loop
        else:
            self.gate, self.done = threading.Event(), Counter()
        if self.alone_roundtrips == 0 and self.gate is not None:
            self.gate.set()

    def goes_on(self, n):
        if n < self.alone_roundtrips:
            return True
        return n < self.alone_roundtrips + self.roundtrips and self.done.get() < self.cpu_tasks

    def stream_result(self, n, alone, busy, error):
        figures = dict(bytes=2 * MESSAGE_BYTES * n, samples=(alone, busy))
        if error:
            return failed(error, **figures)
        return TaskResult(STREAM_OK, **figures)

    def cpu_range(self, i):
        count = count_primes(*task_range(self.limit, self.cpu_tasks, i - 1))
        self.done.add()
        return TaskResult(range_checksum(i, count), items=count)

    # ---- blocking: threads, processes, the serial loop ----

    def round_trip(self, msg):
        self.sock.sendall(msg)
        echo = b""
        while len(echo) < MESSAGE_BYTES:
            chunk = self.sock.recv(MESSAGE_BYTES - len(echo))
            if not chunk:
                raise ConnectionResetError("the echo peer closed the socket")
            echo += chunk
        return echo

    def run_stream(self):
        alone, busy, error, n = [], [], "", 0
        self.sock.settimeout(WAIT_S)
        while not error:
            if n == self.alone_roundtrips:
                self.gate.set()
            if not self.goes_on(n):
                break
            msg = message(n)
            t0 = time.perf_counter()
            try:
                echo = self.round_trip(msg)
            except OSError as e:
                echo, error = None, f"round trip {n} to the echo peer: {e}"
            (alone if n < self.alone_roundtrips else busy).append(time.perf_counter() - t0)
            if echo is not None and echo != msg:
                error = f"round trip {n} to the echo peer: the echo differs from the message"
            n += 1
        self.gate.set()
        return self.stream_result(n, alone, busy, error)

    def run_task(self, i):
        if i == 0:
            return self.run_stream()
        if not self.gate.is_set() and not self.gate.wait(WAIT_S):
            return failed(f"waited {WAIT_S:.0f} s for the I/O stream's alone stretch to end")
        return self.cpu_range(i)

    # ---- asyncio: the stream a coroutine, CPU tasks blocking the loop ----

    async def run_stream_async(self):
        loop = asyncio.get_running_loop()
        alone, busy, error, n = [], [], "", 0
        self.sock.setblocking(False)
        try:
            while not error:
                if n == self.alone_roundtrips:
                    self.gate.set()
                if not self.goes_on(n):
                    break
                msg = message(n)
                t0 = time.perf_counter()
                try:
                    await loop.sock_sendall(self.sock, msg)
                    echo = b""
                    while len(echo) < MESSAGE_BYTES:
                        chunk = await asyncio.wait_for(
                            loop.sock_recv(self.sock, MESSAGE_BYTES - len(echo)), WAIT_S)
                        if not chunk:
                            raise ConnectionResetError("the echo peer closed the socket")
                        echo += chunk
                except (OSError, asyncio.TimeoutError) as e:
                    echo, error = None, f"round trip {n} to the echo peer: {e!r}"
                (alone if n < self.alone_roundtrips else busy).append(time.perf_counter() - t0)
                if echo is not None and echo != msg:
                    error = f"round trip {n}: the echo differs from the message"
                n += 1
        finally:
            self.sock.setblocking(True)
            self.gate.set()
        return self.stream_result(n, alone, busy, error)

    async def run_task_async(self, i):
        if self.gate is None:
            self.gate = asyncio.Event()
            if self.alone_roundtrips == 0:
                self.gate.set()
        if i == 0:
            return await self.run_stream_async()
        try:
            await asyncio.wait_for(self.gate.wait(), WAIT_S)
        except asyncio.TimeoutError:
            return failed(f"waited {WAIT_S:.0f} s for the I/O stream's alone stretch to end")
        return self.cpu_range(i)

    def close(self):
        self.sock.close()
        os.waitpid(self.peer, 0)
