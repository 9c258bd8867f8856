#!/usr/bin/env python3
"""The echo benchmark: every server against the same load client, in the
same run, in interleaved rounds; medians and ratios.

  run_echo.py BIN_DIR [--rounds 3] [--seconds 3] [--warmup 1] [--client uring|epoll]
                      [--cases c1,c100,c1000,c10x16k,r1,...,s1,s100,s1000,s10x16k,idle10k]
                      [--servers ...] [--ours twisted-cpp|twisted-cpp-iouring]
                      [--baseline OLD_BUILD/echo_server_twisted]
                      [--syscalls] [--callgrind] [--json OUT]

Servers run pinned to core 1 and the client to core 0 (taskset). A server's
CPU time is read from /proc/PID/schedstat (user + system, in ns) at the
start and the end of the client's measured window, so CPU per message is
exact where wall time is noisy. The side-by-side cases (s*) run ours and
one peer at the same time on core 1 under one paced client and compare
their CPU over the same window. --syscalls counts system calls per message
with `strace -c -f`; --callgrind counts user-space instructions per message
with valgrind (the difference of two runs, so start-up cancels out).

twisted-cpp-iouring, twisted-cpp-poll and twisted-cpp-select are ours on
those backends (not in the default list but iouring); --ours twisted-cpp-iouring
makes it the one every ratio (and every side-by-side pair) is taken against,
in place of ours on epoll. Beyond the default
list, twisted-cpp-1w and twisted-cpp-2w are ours as a ReactorGroup of 1 or
2 workers (epoll), which may run on cores 0 and 1, the client's core too:
compare those two with each other, not with the servers pinned to core 1.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

CASES = {
    "c1": dict(conns=1, size=64, label="1 conn x 64 B"),
    "c100": dict(conns=100, size=64, label="100 conns x 64 B"),
    "c1000": dict(conns=1000, size=64, label="1000 conns x 64 B"),
    "c10x16k": dict(conns=10, size=16384, label="10 conns x 16 KiB"),
    "idle10k": dict(idle=10000, label="10,000 idle conns"),
    # The same at a fixed offered load (paced epoll client), below every
    # server's saturation: CPU per message compared at equal load, where the
    # kernel batches alike for everyone.
    "r1": dict(conns=1, size=64, rate=5000, label="1 conn x 64 B at 5,000 msgs/s"),
    "r100": dict(conns=100, size=64, rate=10000, label="100 conns x 64 B at 10,000 msgs/s"),
    "r1000": dict(conns=1000, size=64, rate=10000, label="1000 conns x 64 B at 10,000 msgs/s"),
    "r10x16k": dict(conns=10, size=16384, rate=2000, label="10 conns x 16 KiB at 2,000 msgs/s"),
    # Side by side: ours and one peer run at the same time on the same core,
    # each given the same paced load by one client (connections alternate
    # between the two), and their CPU is read over the same window. Whatever
    # the machine does in that window (steal, frequency, other tenants) it
    # does to both, so the ratio is steady where back-to-back runs swing.
    "s1": dict(conns=1, size=64, rate=5000, pair=True,
               label="side by side: 1 conn x 64 B at 5,000 msgs/s each"),
    "s100": dict(conns=100, size=64, rate=10000, pair=True,
                 label="side by side: 100 conns x 64 B at 10,000 msgs/s each"),
    "s1000": dict(conns=1000, size=64, rate=10000, pair=True,
                  label="side by side: 1000 conns x 64 B at 10,000 msgs/s each"),
    "s10x16k": dict(conns=10, size=16384, rate=2000, pair=True,
                    label="side by side: 10 conns x 16 KiB at 2,000 msgs/s each"),
}
SERVERS = ["twisted-cpp", "twisted-cpp-iouring", "raw-epoll", "raw-uring", "asio", "libuv", "libevent",
           "twisted"]
NATIVE = ["twisted-cpp", "twisted-cpp-iouring", "twisted-cpp-poll", "twisted-cpp-select", "raw-epoll", "raw-uring", "asio", "libuv", "libevent"]


# --baseline: another build of our own server (an earlier commit's), run as
# the peer named "baseline", to measure a change side by side.
BASELINE = {}
# The server the ratios are "ours / peer" for (--ours).
OURS = ["twisted-cpp"]


def server_cmd(bin_dir, name, port):
    if name == "baseline":
        return [BASELINE["path"], str(port)]
    if name == "twisted":
        return ["/usr/bin/python3", os.path.join(HERE, "server_twisted.py"), str(port)]
    if name in ("twisted-cpp-iouring", "twisted-cpp-poll", "twisted-cpp-select"):  # ours on another backend
        return [os.path.join(bin_dir, "echo_server_twisted"), str(port), name.rsplit("-", 1)[1]]
    if name in ("twisted-cpp-1w", "twisted-cpp-2w"):  # a ReactorGroup of 1 or 2 workers
        return [os.path.join(bin_dir, "echo_server_twisted"), str(port), "epoll", name[-2]]
    return [os.path.join(bin_dir, "echo_server_" + name.replace("-", "_").replace("twisted_cpp", "twisted")), str(port)]


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_ns(pid):
    """CPU time of every thread of `pid`, in ns (schedstat's first field)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
            total += int(f.read().split()[0])
    return total


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# Servers that may use every core (a ReactorGroup): pinned to cores 0 and 1,
# the client's core too, so compare them with each other (the 1-worker
# group beside the 2-worker one), not with the servers pinned to core 1.
ALL_CORES = ("twisted-cpp-1w", "twisted-cpp-2w")


class Server:
    def __init__(self, cmd, wrap=(), cores="1"):
        self.proc = subprocess.Popen(["taskset", "-c", cores, *wrap, *cmd], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "READY":
            raise RuntimeError("server %s did not start" % cmd[0])
        self.pid = self.proc.pid
        self.target = self.pid
        if wrap and wrap[0] == "strace":  # the server is strace's child
            with open("/proc/%d/task/%d/children" % (self.pid, self.pid)) as f:
                self.target = int(f.read().split()[0])

    def stop(self):
        # To the server itself: strace would not pass it on. Under strace or
        # valgrind, the server exits cleanly and the tool writes its report.
        os.kill(self.target, signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def client(bin_dir, port, args):
    return subprocess.Popen(["taskset", "-c", "0", os.path.join(bin_dir, "echo_load_client"),
                             "--port", str(port), *map(str, args)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def run_load(bin_dir, name, case, opts):
    port = free_port()
    srv = Server(server_cmd(bin_dir, name, port), cores="0,1" if name in ALL_CORES else "1")
    try:
        c = CASES[case]
        if "idle" in c:
            before = rss_kib(srv.pid)
            cl = client(bin_dir, port, ["--idle", c["idle"]])
            if cl.stdout.readline().strip() != "READY":
                raise RuntimeError("idle client failed")
            time.sleep(0.2)
            after = rss_kib(srv.pid)
            cl.stdin.close()
            cl.wait(timeout=60)
            return dict(bytes_per_conn=(after - before) * 1024.0 / c["idle"])
        paced = ["--rate", c["rate"]] if "rate" in c else []
        cl = client(bin_dir, port, ["--conns", c["conns"], "--size", c["size"], "--mode",
                                    "epoll" if paced else opts.client, "--warmup", opts.warmup,
                                    "--seconds", opts.seconds, *paced])
        if cl.stdout.readline().strip() != "START":
            raise RuntimeError("load client failed against " + name)
        cpu0 = cpu_ns(srv.pid)
        result = json.loads(cl.stdout.readline())
        cpu1 = cpu_ns(srv.pid)
        cl.wait(timeout=60)
        n = result["messages"]
        secs = result["seconds"]
        cpu = (cpu1 - cpu0) / 1e9
        return dict(msgs_per_s=n / secs, mib_per_s=n * c["size"] / secs / 2**20,
                    p50_us=result["p50_us"], p99_us=result["p99_us"],
                    cpu_us_per_msg=cpu * 1e6 / n, msgs_per_cpu_s=n / cpu if cpu else 0)
    finally:
        srv.stop()


def run_pair(bin_dir, peer, case, opts, ours_first):
    """Ours and `peer` at once, on core 1, under one paced client."""
    c = CASES[case]
    names = [OURS[0], peer] if ours_first else [peer, OURS[0]]
    ports = [free_port(), free_port()]
    while ports[1] == ports[0]:
        ports[1] = free_port()
    srvs = []
    try:
        for name, port in zip(names, ports):
            srvs.append(Server(server_cmd(bin_dir, name, port)))
        cl = client(bin_dir, ",".join(map(str, ports)),
                    ["--conns", 2 * c["conns"], "--size", c["size"], "--mode", "epoll",
                     "--warmup", opts.warmup, "--seconds", opts.seconds, "--rate", 2 * c["rate"]])
        if cl.stdout.readline().strip() != "START":
            raise RuntimeError("load client failed against " + peer)
        cpu0 = [cpu_ns(s.pid) for s in srvs]
        result = json.loads(cl.stdout.readline())
        cpu1 = [cpu_ns(s.pid) for s in srvs]
        cl.wait(timeout=60)
    finally:
        for s in srvs:
            s.stop()
    us = {}
    for i, name in enumerate(names):
        us[name] = (cpu1[i] - cpu0[i]) / 1e3 / result["per_port"][i]
    # ours / peer in messages per CPU-second: above 1, ours spends less.
    return dict(ours_us=us[OURS[0]], peer_us=us[peer], ratio=us[peer] / us[OURS[0]],
                msgs_per_s=result["messages"] / result["seconds"] / 2)


def count_syscalls(bin_dir, name, case, opts, messages=20000):
    """System calls per echoed message, by name (strace -c -f)."""
    c = CASES[case]
    port = free_port()
    with tempfile.NamedTemporaryFile(suffix=".strace", delete=False) as f:
        out = f.name
    srv = Server(server_cmd(bin_dir, name, port), wrap=("strace", "-c", "-f", "-o", out))
    try:
        cl = client(bin_dir, port, ["--conns", c["conns"], "--size", c["size"], "--mode",
                                    opts.client, "--warmup", 0, "--seconds", 120,
                                    "--messages", messages])
        cl.stdout.readline()
        n = json.loads(cl.stdout.readline())["messages"]
        cl.wait(timeout=120)
    finally:
        srv.stop()
    calls = {}
    with open(out) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and re.match(r"^[\d.]+$", parts[0]) and parts[-1] != "total":
                calls[parts[-1]] = int(parts[3])
    os.unlink(out)
    return {k: v / n for k, v in calls.items() if v / n >= 0.005}


def callgrind_difference(cmd_for_port, new_port, drive, m1, m2):
    """User-space instructions per unit of work: the server (cmd_for_port(port))
    under callgrind while drive(port, m) makes it do m1 units, then m2, the
    two totals differenced so that start-up cancels out."""
    totals = []
    for m in (m1, m2):
        port = new_port()
        out = os.path.join(tempfile.mkdtemp(), "callgrind.out")  # callgrind creates it
        srv = Server(cmd_for_port(port),
                     wrap=("valgrind", "--tool=callgrind", "--callgrind-out-file=" + out))
        try:
            drive(port, m)
        finally:
            srv.stop()
        with open(out) as f:
            total = next(int(line.split()[1]) for line in f if line.startswith(("summary:", "totals:")))
        os.unlink(out)
        os.rmdir(os.path.dirname(out))
        totals.append(total)
    return (totals[1] - totals[0]) / (m2 - m1)


def count_instructions(bin_dir, name, case, opts, m1=5000, m2=25000):
    """User-space instructions per message: two callgrind runs, differenced."""
    c = CASES[case]

    def drive(port, m):
        cl = client(bin_dir, port, ["--conns", c["conns"], "--size", c["size"], "--mode",
                                    opts.client, "--warmup", 0, "--seconds", 600,
                                    "--messages", m])
        cl.stdout.readline()
        json.loads(cl.stdout.readline())
        cl.wait(timeout=600)

    return callgrind_difference(lambda port: server_cmd(bin_dir, name, port), free_port, drive,
                                m1, m2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin_dir")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--client", default="uring", choices=["uring", "epoll"])
    ap.add_argument("--cases", default="c1,c100,c1000,c10x16k,r1,r100,r1000,r10x16k,s1,s100,s1000,s10x16k,idle10k")
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--syscalls", action="store_true")
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--baseline", metavar="SERVER_BINARY",
                    help="an earlier build of echo_server_twisted, compared as the peer 'baseline'")
    ap.add_argument("--ours", default="twisted-cpp")
    opts = ap.parse_args()
    OURS[0] = opts.ours
    cases = opts.cases.split(",")
    servers = opts.servers.split(",")
    if opts.baseline:
        BASELINE["path"] = os.path.abspath(opts.baseline)
        servers.append("baseline")

    pair_cases = [case for case in cases if CASES[case].get("pair")]
    cases = [case for case in cases if not CASES[case].get("pair")]
    peers = [s for s in servers if s != OURS[0]]
    results = {case: {s: [] for s in servers} for case in cases}
    pairs = {case: {p: [] for p in peers} for case in pair_cases}
    for r in range(opts.rounds):
        for case in cases:
            order = servers[r % len(servers):] + servers[:r % len(servers)]  # interleave
            for s in order:
                results[case][s].append(run_load(opts.bin_dir, s, case, opts))
                print(".", end="", flush=True, file=sys.stderr)
        for case in pair_cases:
            for p in peers:  # which server gets the first connection alternates
                pairs[case][p].append(run_pair(opts.bin_dir, p, case, opts, r % 2 == 0))
                print(".", end="", flush=True, file=sys.stderr)
    print(file=sys.stderr)

    report = {"client": opts.client, "rounds": opts.rounds, "cases": {}}
    for case in pair_cases:
        report["cases"][case] = {}
        for p in peers:
            runs = pairs[case][p]
            ratios = sorted(run["ratio"] for run in runs)
            report["cases"][case][p] = dict(
                ratio=statistics.median(ratios), ratio_min=ratios[0], ratio_max=ratios[-1],
                ours_us=statistics.median(run["ours_us"] for run in runs),
                peer_us=statistics.median(run["peer_us"] for run in runs),
                msgs_per_s=statistics.median(run["msgs_per_s"] for run in runs))
        print_pair_case(case, report["cases"][case])
    for case in cases:
        med = {}
        for s in servers:
            runs = results[case][s]
            med[s] = {k: statistics.median(run[k] for run in runs) for k in runs[0]}
            if OURS[0] in results[case] and "msgs_per_cpu_s" in runs[0]:
                # Paired: ours / peer within each round (run back to back), so
                # slow drifts of the machine cancel; the median and the range.
                ratios = sorted(o["msgs_per_cpu_s"] / r["msgs_per_cpu_s"]
                                for o, r in zip(results[case][OURS[0]], runs))
                med[s]["paired_ratio"] = statistics.median(ratios)
                med[s]["paired_min"], med[s]["paired_max"] = ratios[0], ratios[-1]
        report["cases"][case] = med
        print_case(case, med)

    if opts.syscalls:
        report["syscalls"] = {}
        for case in ("c1", "c100"):
            report["syscalls"][case] = {s: count_syscalls(opts.bin_dir, s, case, opts) for s in servers}
            print_syscalls(case, report["syscalls"][case])
    if opts.callgrind:
        report["instructions"] = {}
        for case in ("c1", "c100"):
            report["instructions"][case] = {
                s: count_instructions(opts.bin_dir, s, case, opts) for s in servers if s in NATIVE}
            print_instructions(case, report["instructions"][case])
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(report, f, indent=1)


def print_case(case, med):
    c = CASES[case]
    ours = med.get(OURS[0])
    print("\n%s (median of rounds)" % c["label"])
    if "idle" in c:
        print("| server | bytes per idle conn | ours / peer |")
        print("| --- | ---: | ---: |")
        for s, m in med.items():
            ratio = "" if s == OURS[0] or not ours else "%.2fx" % (
                ours["bytes_per_conn"] / m["bytes_per_conn"] if m["bytes_per_conn"] else 0)
            print("| %s | %.0f | %s |" % (s, m["bytes_per_conn"], ratio))
        return
    print("| server | msgs/s | MiB/s | p50 us | p99 us | server CPU us/msg "
          "| msgs per CPU-s: ours / peer (paired median, range) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for s, m in med.items():
        ratio = "" if s == OURS[0] or not ours else "%.3fx (%.2f-%.2f)" % (
            m["paired_ratio"], m["paired_min"], m["paired_max"])
        print("| %s | %.0f | %.1f | %.1f | %.1f | %.3f | %s |" % (
            s, m["msgs_per_s"], m["mib_per_s"], m["p50_us"], m["p99_us"], m["cpu_us_per_msg"], ratio))


def print_pair_case(case, table):
    print("\n%s (median of rounds)" % CASES[case]["label"])
    print("| peer | msgs/s each | ours CPU us/msg | peer CPU us/msg "
          "| msgs per CPU-s: ours / peer (median, range) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for p, m in table.items():
        print("| %s | %.0f | %.3f | %.3f | %.3fx (%.3f-%.3f) |" % (
            p, m["msgs_per_s"], m["ours_us"], m["peer_us"], m["ratio"], m["ratio_min"], m["ratio_max"]))


def print_syscalls(case, table):
    names = sorted({k for row in table.values() for k in row})
    print("\nsystem calls per echoed message, %s (strace -c -f)" % CASES[case]["label"])
    print("| server | total | " + " | ".join(names) + " |")
    print("| --- | ---: | " + " | ".join("---:" for _ in names) + " |")
    for s, row in table.items():
        print("| %s | %.2f | %s |" % (s, sum(row.values()), " | ".join(
            "%.2f" % row.get(n, 0) for n in names)))


def print_instructions(case, table, unit="message", label=None):
    ours = table.get(OURS[0])
    print("\nuser-space instructions per %s, %s (callgrind)" % (unit, label or CASES[case]["label"]))
    print("| server | instructions/%s | peer / ours |" % unit)
    print("| --- | ---: | ---: |")
    for s, n in table.items():
        print("| %s | %.0f | %s |" % (s, n, "" if s == OURS[0] else "%.2fx" % (n / ours)))


if __name__ == "__main__":
    main()
