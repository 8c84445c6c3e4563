"""How a run's checksum is made, as lib/checksum.h makes it: each task's
figures mixed into one 64-bit word, the words added up modulo 2**64."""

MASK = (1 << 64) - 1


def mix(x):
    """splitmix64's finaliser, so that a result on the wrong task changes the sum."""
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def combine(acc, task):
    return (acc + task) & MASK
