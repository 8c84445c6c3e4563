"""What the tests share: the C binary, run on the same parameters, is the
reference every Python twin's checksum must equal."""

import json
import os
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# make test-python names the binary it built (build-asan/ under make asan)
CONCBENCH = os.environ.get("CONCBENCH_BIN") or os.path.join(ROOT, "build", "concbench")


def concbench_run(*args):
    """`concbench run ARGS -o FILE`: its exit status and the result document."""
    if not os.access(CONCBENCH, os.X_OK):
        raise unittest.SkipTest("build/concbench is not built (make)")
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        proc = subprocess.run([CONCBENCH, "run", "--quiet", "-o", out, *args],
                              capture_output=True, text=True, timeout=300, cwd=ROOT)
        with open(out) as f:
            return proc, json.load(f)


class FixtureServer:
    """`concbench serve` on a free loopback port, for as long as the with block."""

    def __enter__(self):
        if not os.access(CONCBENCH, os.X_OK):
            raise unittest.SkipTest("build/concbench is not built (make)")
        self.proc = subprocess.Popen([CONCBENCH, "serve", "--port", "0", "--quiet"],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # "listening on http://127.0.0.1:PORT"
        self.url = line.split()[-1] + "/"
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


def cells(doc, **match):
    return [c for c in doc["results"] if all(c.get(k) == v for k, v in match.items())]
