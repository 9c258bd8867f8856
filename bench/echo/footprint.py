#!/usr/bin/env python3
"""What one echoed message touches: instructions, cache lines and pages.

  footprint.py BIN_DIR [--servers twisted-cpp,raw-epoll,...] [--messages 300]

Runs each native echo server under `valgrind --tool=lackey --trace-mem=yes`,
sends it MESSAGES 64-byte messages over one connection (the load client in
epoll mode), and cuts the trace into messages at an instruction executed
exactly once per message. For one message late in the run (steady state) it
prints the user-space instructions and the distinct 64-byte lines and 4 KiB
pages of code and of data it touched.

Why count them: at one connection a message wakes the server after the other
work on its core has run, so each line and page it touches is likely a cache
or TLB miss, and those misses cost more than the instructions
(docs/performance.md, "Pages and lines per message"). Kernel work is not
traced; the counts are exact and repeatable where CPU time is not.
"""
import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_echo import NATIVE, free_port, server_cmd  # noqa: E402


def trace(bin_dir, name, messages):
    port = free_port()
    log = tempfile.NamedTemporaryFile(suffix=".lackey", delete=False).name
    srv = subprocess.Popen(["valgrind", "--tool=lackey", "--trace-mem=yes", "--log-file=" + log,
                            *server_cmd(bin_dir, name, port)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        if srv.stdout.readline().strip() != "READY":
            raise RuntimeError(name + " did not start under valgrind")
        cl = subprocess.run([os.path.join(bin_dir, "echo_load_client"), "--port", str(port),
                             "--conns", "1", "--size", "64", "--mode", "epoll", "--warmup", "0",
                             "--seconds", "120", "--messages", str(messages)],
                            capture_output=True, text=True, timeout=300)
        if cl.returncode != 0:
            raise RuntimeError("load client failed against " + name)
        time.sleep(0.2)
    finally:
        srv.terminate()
        srv.wait(timeout=60)
    return log


def one_message(log, messages):
    """The accesses of one steady-state message: ('I' or 'D', address) pairs."""
    records = []
    counts = collections.Counter()
    with open(log) as f:
        for line in f:
            if line.startswith("=="):
                continue
            parts = line.split()
            if len(parts) != 2 or parts[0] not in ("I", "L", "S", "M"):
                continue
            addr = int(parts[1].split(",")[0], 16)
            kind = "I" if parts[0] == "I" else "D"
            records.append((kind, addr))
            if kind == "I":
                counts[addr] += 1
    os.unlink(log)
    # An instruction run once per message (the warm-up messages included):
    # its executions cut the trace into messages.
    near = collections.Counter(n for n in counts.values() if abs(n - messages) <= 3)
    if not near:
        raise RuntimeError("no instruction runs once per message")
    per_message = near.most_common(1)[0][0]
    marker = min(a for a, n in counts.items() if n == per_message)
    at = [i for i, (k, a) in enumerate(records) if k == "I" and a == marker]
    return records[at[-20]:at[-19]]


def summarize(accesses):
    code = {a for k, a in accesses if k == "I"}
    data = {a for k, a in accesses if k == "D"}
    return dict(instructions=sum(1 for k, _ in accesses if k == "I"),
                code_lines=len({a >> 6 for a in code}), data_lines=len({a >> 6 for a in data}),
                code_pages=len({a >> 12 for a in code}), data_pages=len({a >> 12 for a in data}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin_dir")
    ap.add_argument("--servers", default=",".join(NATIVE))
    ap.add_argument("--messages", type=int, default=300)
    opts = ap.parse_args()
    print("one echoed message at 1 connection (valgrind lackey; user space only)")
    print("| server | instructions | cache lines: code + data | pages: code + data |")
    print("| --- | ---: | ---: | ---: |")
    for name in opts.servers.split(","):
        s = summarize(one_message(trace(opts.bin_dir, name, opts.messages), opts.messages))
        print("| %s | %d | %d + %d = %d | %d + %d = %d |" % (
            name, s["instructions"], s["code_lines"], s["data_lines"],
            s["code_lines"] + s["data_lines"], s["code_pages"], s["data_pages"],
            s["code_pages"] + s["data_pages"]))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
