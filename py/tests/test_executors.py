"""The executors on a workload of their own: every task once, in task order,
an exception a failed task (not a dead driver), and the driver's protocol."""

import io
import unittest

import driver
import executors
from workloads import TaskResult


class Squares:
    def __init__(self, n, bad=None):
        self.n, self.bad = n, bad

    def task_count(self):
        return self.n

    def run_task(self, i):
        if i == self.bad:
            raise ZeroDivisionError("division by zero")
        return TaskResult(i * i, items=1)

    async def run_task_async(self, i):
        return self.run_task(i)


class Executors(unittest.TestCase):
    def test_every_task_once_in_order(self):
        for name, run in executors.EXECUTORS.items():
            with self.subTest(executor=name):
                results, _ = run(Squares(20), 3)
                self.assertEqual([r.checksum for r in results], [i * i for i in range(20)])
                self.assertTrue(all(r.latency_s >= 0 and not r.error for r in results))

    def test_an_exception_fails_its_task(self):
        for name, run in executors.EXECUTORS.items():
            with self.subTest(executor=name):
                results, _ = run(Squares(5, bad=2), 2)
                self.assertEqual(results[2].error,
                                 "task 2: ZeroDivisionError: division by zero")
                self.assertEqual([r.error for r in results].count(""), 4)


class Protocol(unittest.TestCase):
    def test_the_request_is_read_up_to_start(self):
        lines = io.StringIO("workload primes\nparam limit 100\nparam url \ninput task 0 8 ab 1f\n"
                            "executor threads 4\nswitch_interval_us 500\nstart\nrun\n")
        request = driver.read_request(lines)
        self.assertEqual(request["workload"], "primes")
        self.assertEqual(request["params"], {"limit": "100", "url": ""})
        self.assertEqual(request["inputs"], {"task": ["0 8 ab 1f"]})
        self.assertEqual((request["executor"], request["workers"]), ("threads", 4))
        self.assertEqual(lines.readline(), "run\n")

    def test_a_request_without_start_is_an_error(self):
        with self.assertRaises(EOFError):
            driver.read_request(io.StringIO("workload primes\n"))

    def test_one_run_answers_each_task_and_ends(self):
        out = io.StringIO()
        driver.run_once(Squares(3, bad=1), "serial", 1, out)
        lines = out.getvalue().splitlines()
        self.assertEqual([l.split()[:3] for l in lines[:3]],
                         [["task", "0", "0"], ["task", "1", "0"], ["task", "2", "4"]])
        self.assertTrue(lines[1].endswith("task 1: ZeroDivisionError: division by zero"))
        self.assertTrue(lines[3].startswith("usage "))
        self.assertEqual(lines[4], "end")


if __name__ == "__main__":
    unittest.main()
