"""files: read N files in B-byte blocks and check each against its digest.

open(path, 'rb') and read() in a loop, as a Python program reads a file; each
file's SHA-256 (hashlib, in C) is checked against the digest the C side
computed from the generated content, and the file then contributes the C
content hash of the manifest. On asyncio the read runs in a thread
(asyncio.to_thread), which is what asyncio itself offers for files."""

import asyncio
import hashlib

from checksum import mix
from workloads import TaskResult, digests, failed


class Workload:
    def __init__(self, params, inputs):
        self.block = int(params["bs"])
        self.files = digests(inputs, "file")
        self.count = int(params["count"])

    def task_count(self):
        return self.count

    def run_task(self, k):
        size, want, content_hash, path = self.files[k]
        sha = hashlib.sha256()
        got = 0
        try:
            with open(path, "rb", buffering=0) as f:
                while block := f.read(self.block):
                    sha.update(block)
                    got += len(block)
        except OSError as e:
            return failed(f"{path}: {e.strerror}")
        if got != size:
            return failed(f"{path}: {got} bytes, the manifest says {size}", bytes=got)
        if sha.hexdigest() != want:
            return failed(f"{path}: its SHA-256 differs from the generated content's",
                          bytes=got)
        return TaskResult(mix(k ^ content_hash), items=1, bytes=got)

    async def run_task_async(self, k):
        return await asyncio.to_thread(self.run_task, k)
