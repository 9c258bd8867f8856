#!/usr/bin/python3
"""The work of bench/protocols.cpp, done by Twisted itself (Debian's
python3-twisted): 1 MiB of 64-byte messages in 16 KiB chunks through
LineReceiver, Int32StringReceiver and NetstringReceiver. Prints Google
Benchmark-style JSON (median of `reps`)."""
import json
import statistics
import sys
import time

from twisted.protocols import basic

TOTAL, CHUNK, MESSAGE = 1 << 20, 16 << 10, 64


def repeat(message):
    out = b""
    while len(out) < TOTAL:
        out += message
    return out


class Lines(basic.LineReceiver):
    def lineReceived(self, line):
        self.count += 1


class Int32(basic.Int32StringReceiver):
    def stringReceived(self, s):
        self.count += 1


class Netstring(basic.NetstringReceiver):
    def stringReceived(self, s):
        self.count += 1


def run(cls, wire):
    start = time.process_time()
    p = cls()
    p.count = 0
    if isinstance(p, basic.NetstringReceiver):
        p.makeConnection(None)  # sets up its parser state
    for i in range(0, len(wire), CHUNK):
        p.dataReceived(wire[i:i + CHUNK])
    assert p.count > 0
    return time.process_time() - start


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    cases = (
        ("LineReceiver64B", Lines, repeat(b"l" * (MESSAGE - 2) + b"\r\n")),
        ("Int32String64B", Int32, repeat(b"\0\0\0\x3c" + b"s" * (MESSAGE - 4))),
        ("Netstring64B", Netstring, repeat(b"60:" + b"n" * (MESSAGE - 4) + b",")),
    )
    rows = []
    for name, cls, wire in cases:
        t = statistics.median(run(cls, wire) for _ in range(reps))
        rows.append({"run_name": name + "/twisted_python", "aggregate_name": "median",
                     "cpu_time": t * 1e6, "real_time": t * 1e6, "time_unit": "us"})
    json.dump({"benchmarks": rows}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
