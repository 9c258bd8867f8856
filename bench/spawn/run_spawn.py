#!/usr/bin/env python3
"""The child-process benchmark (issue 22): every stack starts and reaps
/bin/true, one child in flight, as many as it can in a bounded time, then
copies 1 MiB each way through /bin/cat (every byte checked); interleaved
rounds, medians, ratios against the hand-written limit (posix_spawn +
pidfd_open + epoll). Driver and children are pinned to one core.

  run_spawn.py BIN_DIR [--rounds 5] [--seconds 3] [--smoke]

Peers: limit, limit-closing (the limit doing what spawnProcess must: every
descriptor above 2 closed in the child, its signal mask and dispositions
reset; "x closing" compares with it), limit-vfork (limit-closing's request
made with vfork, as spawnProcess makes it), forkexec (fork/execve/waitpid), libuv (uv_spawn),
twisted-cpp (spawnProcess; the child inherits 0, 1 and 2 as the limit's
does; "twisted-cpp pipes" gives it Twisted's default three pipes), Twisted
(reactor.spawnProcess) and Python's subprocess.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
TRUE_PEERS = ["limit", "limit-closing", "limit-vfork", "forkexec", "libuv", "twisted-cpp", "twisted-cpp pipes",
              "Twisted", "subprocess"]
CAT_PEERS = ["limit", "libuv", "twisted-cpp", "Twisted", "subprocess"]


def command(bin_dir, peer, mode, count, seconds):
    tail = [mode, "--count", str(count), "--seconds", str(seconds)]
    if peer in ("Twisted", "subprocess"):
        name = "twisted" if peer == "Twisted" else "subprocess"
        return [PY, os.path.join(HERE, "spawn_python.py"), name] + tail
    exe = os.path.join(bin_dir, "spawn_bench")
    if peer == "twisted-cpp pipes":
        return [exe, "twisted-cpp"] + tail + ["--pipes"]
    return [exe, peer] + tail


def run(bin_dir, peer, mode, count, seconds):
    cmd = ["taskset", "-c", "1"] + command(bin_dir, peer, mode, count, seconds)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds * 20 + 60)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin_dir")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--smoke", action="store_true", help="a few children each, to see it runs")
    a = ap.parse_args()
    count_true, count_cat = (20, 3) if a.smoke else (100000, 100000)
    seconds = 0.5 if a.smoke else a.seconds
    rounds = 1 if a.smoke else a.rounds
    results = {}
    for _ in range(rounds):
        for peer in TRUE_PEERS:
            results.setdefault(("true", peer), []).append(run(a.bin_dir, peer, "true", count_true, seconds))
        for peer in CAT_PEERS:
            results.setdefault(("cat", peer), []).append(run(a.bin_dir, peer, "cat", count_cat, seconds))

    def med(mode, peer, f):
        return statistics.median(f(r) for r in results[(mode, peer)])

    rate = lambda r: r["children"] / r["seconds"]
    parent = lambda r: r["parent_cpu"] / r["children"] * 1000
    child = lambda r: r["child_cpu"] / r["children"] * 1000
    mibps = lambda r: r["bytes_each_way"] / r["seconds"] / (1 << 20)
    print("| /bin/true | children/s | x limit | parent CPU ms/child | x limit | x closing "
          "| child CPU ms/child |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    lr, lp = med("true", "limit", rate), med("true", "limit", parent)
    cp = med("true", "limit-closing", parent)
    for peer in TRUE_PEERS:
        r, p, c = med("true", peer, rate), med("true", peer, parent), med("true", peer, child)
        print(f"| {peer} | {r:,.0f} | {r / lr:.2f} | {p:.4f} | {p / lp:.2f} | {p / cp:.2f} "
              f"| {c:.3f} |")
    print()
    print("| 1 MiB through /bin/cat | MiB/s each way | x limit | parent CPU ms/child |")
    print("| --- | --- | --- | --- |")
    lm = med("cat", "limit", mibps)
    for peer in CAT_PEERS:
        m, p = med("cat", peer, mibps), med("cat", peer, parent)
        print(f"| {peer} | {m:,.0f} | {m / lm:.2f} | {p:.4f} |")


if __name__ == "__main__":
    sys.exit(main())
