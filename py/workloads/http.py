"""http: N GETs of S bytes from the fixture server.

Blocking strategies use http.client with one keep-alive connection per thread
(what a requests.Session per thread amounts to); asyncio uses its own streams
with a pool of keep-alive connections, as the standard library offers no
HTTP client for it. Each body is hashed as it arrives (hashlib's SHA-256, in
C) and checked against the digest the C side computed for the fixture's
content; it then contributes the C content hash, as the C workload does."""

import asyncio
import hashlib
import http.client
import threading
from urllib.parse import urlsplit

from checksum import mix
from workloads import TaskResult, failed

CHUNK = 65536


class Workload:
    def __init__(self, params, inputs):
        if "body_sha256" not in inputs:
            raise ValueError("the py-* strategies download from the fixture server only "
                             "(not from --url)")
        url = urlsplit(params["url"])
        self.host, self.port = url.hostname, url.port or 80
        self.path = (f"{url.path.rstrip('/')}/bytes?size={params['size']}"
                     f"&delay_ms={params['delay_ms']}&seed={params['seed']}")
        if int(params["rate"]) > 0:
            self.path += f"&rate={params['rate']}"
        if params["fault"] != "none":
            self.path += f"&fault={params['fault']}&fault_every={params['fault_every']}"
        self.requests = int(params["requests"])
        self.size = int(params["size"])
        self.timeout = int(params["timeout_ms"]) / 1000
        self.sha256 = inputs["body_sha256"][0]
        self.body_hash = int(inputs["body_hash"][0], 16)
        self.local = threading.local()
        self.idle = []  # asyncio's keep-alive connections, (reader, writer)

    def task_count(self):
        return self.requests

    def result(self, i, got, digest, connects):
        if got != self.size:
            return failed(f"request {i}: the body has {got} bytes, not {self.size}",
                          bytes=got, connects=connects)
        if digest != self.sha256:
            return failed(f"request {i}: the body does not match the fixture's content",
                          bytes=got, connects=connects)
        return TaskResult(mix(self.body_hash ^ mix(i)), items=1, bytes=got, connects=connects)

    # ---- blocking: http.client, one connection per thread ----

    def connection(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.host, self.port,
                                                                timeout=self.timeout)
            conn.connect()
            return conn, 1
        return conn, 0

    def run_task(self, i):
        connects = 0
        try:
            conn, connects = self.connection()
            conn.request("GET", self.path)
            response = conn.getresponse()
            sha = hashlib.sha256()
            got = 0
            while chunk := response.read(CHUNK):
                sha.update(chunk)
                got += len(chunk)
            if response.status != 200:
                raise http.client.HTTPException(f"HTTP {response.status} {response.reason}")
        except (OSError, http.client.HTTPException) as e:
            self.local.conn = None
            return failed(f"request {i}: {e}", connects=connects)
        return self.result(i, got, sha.hexdigest(), connects)

    # ---- asyncio: streams, a pool of keep-alive connections ----

    async def run_task_async(self, i):
        connects = 0
        try:
            if self.idle:
                reader, writer = self.idle.pop()
            else:
                reader, writer = await asyncio.open_connection(self.host, self.port)
                connects = 1
            got, digest = await asyncio.wait_for(self.get(reader, writer), self.timeout)
        except (OSError, asyncio.TimeoutError, ValueError) as e:
            return failed(f"request {i}: {e or type(e).__name__}", connects=connects)
        self.idle.append((reader, writer))
        return self.result(i, got, digest, connects)

    async def get(self, reader, writer):
        writer.write(f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n"
                     .encode())
        status = (await reader.readline()).split(maxsplit=2)
        length = None
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(status) < 2 or status[1] != b"200" or length is None:
            raise ValueError(f"HTTP {b' '.join(status[1:]).decode(errors='replace').strip()}")
        sha = hashlib.sha256()
        got = 0
        while got < length:
            chunk = await reader.read(min(CHUNK, length - got))
            if not chunk:
                break
            sha.update(chunk)
            got += len(chunk)
        return got, sha.hexdigest()

    async def close_async(self):
        while self.idle:
            _, writer = self.idle.pop()
            writer.close()
