import unittest

from checksum import MASK, combine, mix
from workloads import mandelbrot, primes


class ChecksumTest(unittest.TestCase):
    def test_mix_is_splitmix64s_finaliser(self):
        # splitmix64 seeded with 0: its first output is mix(0)
        self.assertEqual(mix(0), 0xE220A8397B1DCDAF)

    def test_combine_wraps_at_64_bits(self):
        self.assertEqual(combine(MASK, 2), 1)

    def test_primes_counts_a_range(self):
        self.assertEqual(primes.count_primes(0, 100), 25)
        self.assertEqual(primes.task_range(10, 3, 2), (6, 10))

    def test_mandelbrot_escape_counts(self):
        self.assertEqual(mandelbrot.escape_count(0.0, 0.0, 50), 50)  # inside
        self.assertEqual(mandelbrot.escape_count(2.0, 2.0, 50), 1)


if __name__ == "__main__":
    unittest.main()
