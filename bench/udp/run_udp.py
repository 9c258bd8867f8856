#!/usr/bin/env python3
"""The UDP echo benchmark: twisted-cpp beside each peer, under one load
client, in the same run, in interleaved rounds; medians and ratios.

  run_udp.py BIN_DIR [--rounds 3] [--seconds 2] [--warmup 0.5]
                     [--cases 1x64,64x64,1x1400,64x1400] [--servers ...]
                     [--solo] [--window W] [--baseline OLD_BUILD/udp_server_twisted]
                     [--callgrind] [--json OUT]

Side by side (the default): ours and one peer run at the same time, both
pinned to core 1, under one client on core 0 whose flows alternate between
the two; each server's CPU time (user + system) is read from
/proc/PID/schedstat at the edges of the client's measured window, and the
client counts each server's echoes. Whatever the machine does in that
window it does to both, so the ratio holds still where back-to-back runs
swing. --solo runs each server alone instead (interleaved), for its own
packets per CPU-second. --callgrind counts user-space instructions per
datagram with valgrind (two runs differenced, so start-up cancels out).
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# The echo bench's server handling, CPU reading and callgrind runs, shared.
sys.path.insert(0, os.path.join(HERE, "..", "echo"))
from run_echo import Server, callgrind_difference, cpu_ns, print_instructions  # noqa: E402

# flows per server, datagram size, and each flow's window of outstanding
# datagrams: 64 per server in all, which the server's default receive
# buffer (208 KiB) holds at 1,400 B, so the kernel drops none.
CASES = {
    "1x64": dict(flows=1, size=64, window=64, label="1 sender x 64 B"),
    "64x64": dict(flows=64, size=64, window=1, label="64 senders x 64 B"),
    "1x1400": dict(flows=1, size=1400, window=64, label="1 sender x 1,400 B"),
    "64x1400": dict(flows=64, size=1400, window=1, label="64 senders x 1,400 B"),
}
SERVERS = ["twisted-cpp", "raw", "libuv", "asio"]
BASELINE = {}
WINDOW = {}  # --window: every case's window per flow, instead of its own


def server_cmd(bin_dir, name, port):
    if name == "baseline":
        return [BASELINE["path"], str(port)]
    exe = "udp_server_" + ("twisted" if name == "twisted-cpp" else name)
    return [os.path.join(bin_dir, exe), str(port)]


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def client(bin_dir, ports, case, args):
    c = CASES[case]
    cmd = ["taskset", "-c", "0", os.path.join(bin_dir, "udp_load_client"),
           "--port", ",".join(map(str, ports)), "--flows", str(c["flows"] * len(ports)),
           "--size", str(c["size"]), "--window", str(WINDOW.get("flow", c["window"])),
           *map(str, args)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


def measure(bin_dir, names, case, opts):
    """The servers `names` at once under one client: per server, packets
    and CPU seconds over the client's measured window."""
    ports = free_ports(len(names))
    srvs = []
    try:
        for name, port in zip(names, ports):
            srvs.append(Server(server_cmd(bin_dir, name, port)))
        cl = client(bin_dir, ports, case, ["--warmup", opts.warmup, "--seconds", opts.seconds])
        if cl.stdout.readline().strip() != "START":
            raise RuntimeError("load client failed against " + ",".join(names))
        cpu0 = [cpu_ns(s.pid) for s in srvs]
        result = json.loads(cl.stdout.readline())
        cpu1 = [cpu_ns(s.pid) for s in srvs]
        cl.wait(timeout=60)
    finally:
        for s in srvs:
            s.stop()
    return [dict(packets=result["per_port"][i], cpu_s=(cpu1[i] - cpu0[i]) / 1e9,
                 seconds=result["seconds"], lost=result["lost"], sent=result["sent"])
            for i in range(len(names))]


def per_cpu_s(run):
    return run["packets"] / run["cpu_s"] if run["cpu_s"] else 0.0


def count_instructions(bin_dir, name, case, m1=20000, m2=100000):
    """User-space instructions per datagram: two callgrind runs, differenced."""
    def drive(port, m):
        # No loss timer: under valgrind an echo may take long.
        cl = client(bin_dir, [port], case, ["--warmup", 0, "--seconds", 600, "--packets", m,
                                            "--loss-ms", 600000])
        cl.stdout.readline()
        json.loads(cl.stdout.readline())
        cl.wait(timeout=600)

    return callgrind_difference(lambda port: server_cmd(bin_dir, name, port),
                                lambda: free_ports(1)[0], drive, m1, m2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin_dir")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2)
    ap.add_argument("--warmup", type=float, default=0.5)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--solo", action="store_true", help="each server alone, not side by side")
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--window", type=int, help="each flow's window, for every case")
    ap.add_argument("--json")
    ap.add_argument("--baseline", metavar="SERVER_BINARY",
                    help="an earlier build of udp_server_twisted, compared as the peer 'baseline'")
    opts = ap.parse_args()
    if opts.window:
        WINDOW["flow"] = opts.window
    cases = opts.cases.split(",")
    servers = opts.servers.split(",")
    if opts.baseline:
        BASELINE["path"] = os.path.abspath(opts.baseline)
        servers.append("baseline")
    peers = [s for s in servers if s != "twisted-cpp"]

    # runs[case][server]: a list of per-round results; pairs[case][peer]:
    # a list of (ours, peer) results of one side-by-side window.
    runs = {case: {s: [] for s in servers} for case in cases}
    pairs = {case: {p: [] for p in peers} for case in cases}
    for r in range(opts.rounds):
        for case in cases:
            if opts.solo:
                order = servers[r % len(servers):] + servers[:r % len(servers)]  # interleave
                for s in order:
                    runs[case][s].append(measure(opts.bin_dir, [s], case, opts)[0])
                    print(".", end="", flush=True, file=sys.stderr)
                continue
            for p in peers:  # which server gets the first flow alternates
                names = ["twisted-cpp", p] if r % 2 == 0 else [p, "twisted-cpp"]
                res = dict(zip(names, measure(opts.bin_dir, names, case, opts)))
                pairs[case][p].append((res["twisted-cpp"], res[p]))
                print(".", end="", flush=True, file=sys.stderr)
    print(file=sys.stderr)

    report = {"mode": "solo" if opts.solo else "side by side", "rounds": opts.rounds, "cases": {}}
    for case in cases if opts.rounds > 0 else []:  # --rounds 0: instruction counts only
        rows = {}
        for p in (servers if opts.solo else peers):
            if opts.solo:
                mine, theirs = runs[case]["twisted-cpp"], runs[case][p]
            else:
                mine, theirs = [o for o, _ in pairs[case][p]], [t for _, t in pairs[case][p]]
            ratios = sorted(per_cpu_s(o) / per_cpu_s(t) for o, t in zip(mine, theirs))
            rows[p] = dict(
                ratio=statistics.median(ratios), ratio_min=ratios[0], ratio_max=ratios[-1],
                ours_per_cpu_s=statistics.median(map(per_cpu_s, mine)),
                peer_per_cpu_s=statistics.median(map(per_cpu_s, theirs)),
                peer_per_s=statistics.median(t["packets"] / t["seconds"] for t in theirs),
                lost=sum(t["lost"] for t in theirs + mine),
                sent=sum(t["sent"] for t in theirs + mine))
        report["cases"][case] = rows
        print_case(case, rows, opts.solo)
    if opts.rounds > 0:
        print_summary(report["cases"], peers)

    if opts.callgrind:
        report["instructions"] = {}
        for case in ("1x64", "64x64", "1x1400"):
            if case in cases:
                report["instructions"][case] = {
                    s: count_instructions(opts.bin_dir, s, case) for s in servers}
                print_instructions(case, report["instructions"][case], "datagram",
                                   CASES[case]["label"])
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(report, f, indent=1)


def print_case(case, rows, solo):
    print("\n%s (%s, median of rounds)" % (CASES[case]["label"], "alone" if solo else "side by side"))
    print("| peer | peer packets/s | packets per CPU-s: ours | peer | ours / peer (median, range) "
          "| lost |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for p, m in rows.items():
        if solo and p == "twisted-cpp":
            continue
        print("| %s | %.0f | %.0f | %.0f | %.3fx (%.3f-%.3f) | %.2g%% |" % (
            p, m["peer_per_s"], m["ours_per_cpu_s"], m["peer_per_cpu_s"], m["ratio"],
            m["ratio_min"], m["ratio_max"], 100.0 * m["lost"] / m["sent"] if m["sent"] else 0))


def print_summary(table, peers):
    print("\nratio of twisted-cpp to each peer, packets per server-CPU-second (median, range)")
    print("| case | " + " | ".join("vs " + p for p in peers) + " |")
    print("| --- | " + " | ".join("---:" for _ in peers) + " |")
    for case, rows in table.items():
        print("| %s | %s |" % (CASES[case]["label"], " | ".join(
            "%.3fx (%.2f-%.2f)" % (rows[p]["ratio"], rows[p]["ratio_min"], rows[p]["ratio_max"])
            for p in peers)))


if __name__ == "__main__":
    main()
