"""Every workload's Python twin gives the C workload's checksum at --quick
sizes, under every executor; the cells record the interpreter; mixed
reports its convoy."""

import unittest

from tests.support import FixtureServer, cells, concbench_run

EXECUTORS = "py-serial,py-threads,py-processes,py-asyncio"


class AgainstC(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc, cls.doc = concbench_run(
            "-w", "primes,mandelbrot,triad,sleep,mixed,http,files",
            "-s", "serial," + EXECUTORS, "-n", "2", "-r", "1", "--warmup", "0", "--quick",
            "-p", "files.count=8", "-p", "files.size=262144")

    def test_every_cell_passes(self):
        failed = [(c["workload"], c["strategy"], c["error"]) for c in self.doc["results"]
                  if c["error"] is not None]
        self.assertEqual(failed, [], self.proc.stderr)

    def test_checksum_equals_c_at_the_same_sizes(self):
        for workload in "primes", "mandelbrot", "triad", "sleep", "mixed", "http", "files":
            with self.subTest(workload=workload):
                py = [c for c in cells(self.doc, workload=workload)
                      if c["strategy"].startswith("py-")]
                self.assertEqual(len(py), 4)
                for c in py:
                    self.assertTrue(c["checksum_ok"], c)
                    self.assertIsNotNone(c["answer"]["expected"] or c["checksum"])
                # one checksum per workload and size
                self.assertEqual(len({c["checksum"] for c in py}), 1)
                twins = [c for c in cells(self.doc, workload=workload, strategy="serial")
                         if c["params"] == py[0]["params"]]
                for c in twins:
                    self.assertEqual(c["checksum"], py[0]["checksum"])

    def test_cells_record_the_interpreter(self):
        for c in self.doc["results"]:
            if c["strategy"].startswith("py-"):
                python = c["python"]
                self.assertIn(python["implementation"], ("CPython", "PyPy"))
                self.assertRegex(python["version"], r"^3\.\d+")
                self.assertIn(python["gil"], (0, 1))
                self.assertGreater(python["switch_interval_s"], 0)
                self.assertGreater(python["startup_s"], 0)
                self.assertGreater(c["samples"][0]["wall_s"], 0)
                self.assertGreater(c["samples"][0]["max_rss_kib"], 0)

    def test_mixed_reports_the_convoy(self):
        for c in cells(self.doc, workload="mixed"):
            if c["strategy"].startswith("py-"):
                convoy = c["convoy"]
                self.assertGreater(convoy["alone"]["n"], 0)
                self.assertIsNotNone(convoy["busy"]["share_over_threshold"]
                                     if convoy["busy"]["n"] else 0)

    def test_fidelity_section_pairs_the_strategies(self):
        # serial only here: no simulated partner, so no comparisons, but the section is there
        self.assertIn("fidelity", self.doc)
        self.assertIn("speedups", self.doc["fidelity"])


class Failures(unittest.TestCase):
    def test_a_missing_interpreter_fails_its_cells_and_the_run_goes_on(self):
        proc, doc = concbench_run("-w", "primes", "-s", "serial,py-serial,py-threads", "-n", "2",
                                  "-r", "1", "--warmup", "0", "--quick",
                                  "-p", "py-threads.python=/nonexistent/python")
        self.assertEqual(proc.returncode, 1)
        by = {c["strategy"]: c for c in doc["results"]}
        self.assertIsNone(by["serial"]["error"])
        self.assertIsNone(by["py-serial"]["error"])
        self.assertIn("cannot start the interpreter '/nonexistent/python'",
                      by["py-threads"]["error"])
        self.assertNotIn("\n", by["py-threads"]["error"])

    def test_an_exception_at_set_up_fails_the_cell_with_one_line(self):
        # run checks --url itself before measuring, so it must answer
        with FixtureServer() as server:
            proc, doc = concbench_run("-w", "http", "-s", "py-serial", "-r", "1", "--warmup",
                                      "0", "--quick", "--url", server.url + "bytes?size=1024")
        self.assertEqual(proc.returncode, 1)
        error = doc["results"][0]["error"]
        self.assertEqual(error, "ValueError: the py-* strategies download from the fixture "
                                "server only (not from --url)")

    def test_a_wrong_answer_fails_the_cell(self):
        proc, doc = concbench_run("-w", "triad", "-s", "py-serial", "-r", "1", "--warmup", "0",
                                  "--quick", "-p", "triad.fault_element=5")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("SHA-256 differs", doc["results"][0]["error"])

    def test_a_killed_interpreter_fails_the_cell(self):
        # the sleep twin waits 60 s per task; the cell timeout ends the whole run,
        # so kill the interpreter from a watcher instead: SIGKILL on its process group
        import os
        import signal
        import subprocess
        import threading
        import time

        from tests.support import CONCBENCH, ROOT
        if not os.access(CONCBENCH, os.X_OK):
            self.skipTest("build/concbench is not built")
        import json
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "r.json")
            run = subprocess.Popen([CONCBENCH, "run", "--quiet", "-w", "sleep", "-s",
                                    "py-serial", "-r", "1", "--warmup", "0",
                                    "-p", "sleep.tasks=1", "-p", "sleep.ms=20000", "-o", out],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

            def kill_the_interpreter():
                for _ in range(200):
                    time.sleep(0.05)
                    kids = subprocess.run(["pgrep", "-P", str(run.pid)], capture_output=True,
                                          text=True).stdout.split()
                    if kids:
                        os.kill(int(kids[0]), signal.SIGKILL)
                        return

            threading.Thread(target=kill_the_interpreter).start()
            run.communicate(timeout=60)
            with open(out) as f:
                doc = json.load(f)
        self.assertEqual(run.returncode, 1)
        self.assertIn("killed by signal 9", doc["results"][0]["error"])


if __name__ == "__main__":
    unittest.main()


class OtherInterpreters(unittest.TestCase):
    def test_pypy_runs_the_same_work_and_says_so(self):
        import shutil
        if shutil.which("pypy3") is None:
            self.skipTest("no pypy3 here")
        proc, doc = concbench_run("-w", "primes,mandelbrot", "-s", "py-serial,py-threads",
                                  "-n", "2", "-r", "1", "--warmup", "0", "--quick",
                                  "--python", "pypy3")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for c in doc["results"]:
            self.assertEqual(c["python"]["implementation"], "PyPy")
            self.assertEqual(c["python"]["executable"], "pypy3")
            self.assertTrue(c["checksum_ok"])
