#!/usr/bin/python3
"""The work of bench/deferred.cpp, done by Twisted itself (Debian's
python3-twisted). Prints Google Benchmark-style JSON (median of `reps`)."""
import json
import statistics
import sys
import time

from twisted.internet.defer import Deferred, ensureDeferred, succeed

AWAITS = 1_000_000


def chain10():
    d = Deferred()
    for _ in range(10):
        d.addCallback(lambda v: v + 1)
    out = []
    d.addCallback(out.append)
    d.callback(0)
    assert out == [10]


async def await_fired():
    total = 0
    for i in range(AWAITS):
        total += await succeed(i)
    return total


def run_await_fired():
    out = []
    ensureDeferred(await_fired()).addCallback(out.append)
    assert out == [AWAITS * (AWAITS - 1) // 2]


def measure(fn, iterations):
    start = time.process_time()
    for _ in range(iterations):
        fn()
    return (time.process_time() - start) / iterations


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    rows = []
    for name, fn, iterations, unit, scale in (
        ("Chain10/twisted_python", chain10, 50_000, "ns", 1e9),
        ("AwaitFired/twisted_python", run_await_fired, 1, "ms", 1e3),
    ):
        times = [measure(fn, iterations) * scale for _ in range(reps)]
        median = statistics.median(times)
        rows.append({"run_name": name, "aggregate_name": "median", "cpu_time": median,
                     "real_time": median, "time_unit": unit})
    json.dump({"benchmarks": rows}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
