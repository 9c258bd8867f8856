#!/usr/bin/env python3
"""The TLS benchmark: every TLS echo server against the same load client,
in the same run, in interleaved rounds; medians and ratios to the raw
OpenSSL + epoll loop (the limit).

  run_tls.py BIN_DIR [--rounds 3] [--seconds 3] [--warmup 1]
                     [--cases hs1,hs16,hs16t,hs16rsa,resume16,e100x64,e10x16k]
                     [--servers twisted-cpp,raw-openssl,asio,twisted] [--json OUT]

Servers run pinned to core 1 and the client to core 0 (taskset); a
server's CPU time is read from /proc/PID/schedstat at the start and the end
of the client's measured window, and each case reports operations (full
handshakes, resumed handshakes, echoed messages) per server-CPU-second.
Certificates (ECDSA P-256 and RSA 2048, from a throwaway CA) are made by
`openssl req` in a temporary directory for each run.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "echo"))
from run_echo import Server, cpu_ns, free_port  # noqa: E402


# tickets: whether servers issue session tickets in this case. Full
# handshakes are compared without (each ticket is work a full handshake
# pays for a later resumption) and once with, to show that cost.
CASES = {
    "hs1": dict(mode="handshake", conns=1, key="ec", tickets=False,
                label="full TLS 1.3 handshakes, ECDSA P-256, 1 at a time, no tickets"),
    "hs16": dict(mode="handshake", conns=16, key="ec", tickets=False,
                 label="full TLS 1.3 handshakes, ECDSA P-256, 16 at a time, no tickets"),
    "hs16t": dict(mode="handshake", conns=16, key="ec", tickets=True,
                  label="full TLS 1.3 handshakes, ECDSA P-256, 16 at a time, tickets issued"),
    "hs16rsa": dict(mode="handshake", conns=16, key="rsa", tickets=False,
                    label="full TLS 1.3 handshakes, RSA 2048, 16 at a time, no tickets"),
    "resume16": dict(mode="resume", conns=16, key="ec", tickets=True,
                     label="resumed TLS 1.3 handshakes (tickets), 16 at a time"),
    "e100x64": dict(mode="echo", conns=100, size=64, key="ec", tickets=False,
                    label="echo over TLS 1.3, 100 conns x 64 B"),
    "e10x16k": dict(mode="echo", conns=10, size=16384, key="ec", tickets=False,
                    label="echo over TLS 1.3, 10 conns x 16 KiB (one record each)"),
}
SERVERS = ["twisted-cpp", "raw-openssl", "asio", "twisted"]
LIMIT = "raw-openssl"


def make_certificates(directory):
    """A CA, and a localhost certificate of each key type signed by it."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    ca_key, ca_cert = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.pem")
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-subj", "/CN=bench CA", "-keyout", ca_key, "-out", ca_cert, "-days", "2")
    ext = os.path.join(directory, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    files = {}
    for kind, newkey in (("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                         ("rsa", ["-newkey", "rsa:2048"])):
        key = os.path.join(directory, kind + ".key")
        csr = os.path.join(directory, kind + ".csr")
        cert = os.path.join(directory, kind + ".pem")
        run("req", *newkey, "-nodes", "-subj", "/CN=localhost", "-keyout", key, "-out", csr)
        run("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
            "-days", "2", "-extfile", ext, "-out", cert)
        files[kind] = (cert, key)
    return ca_cert, files


def server_cmd(bin_dir, name, port, cert, key, tickets):
    extra = [] if tickets else ["--no-tickets"]
    if name == "twisted":
        # The real Twisted, run by Debian's python3 beside the other servers.
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "server_twisted.py")
        return ["/usr/bin/python3", script, str(port), cert, key, *extra]
    binary = {"twisted-cpp": "tls_server_twisted", "raw-openssl": "tls_server_raw_openssl",
              "asio": "tls_server_asio"}[name]
    return [os.path.join(bin_dir, binary), str(port), cert, key, *extra]


def run_case(bin_dir, name, case, opts, ca, certs):
    c = CASES[case]
    cert, key = certs[c["key"]]
    port = free_port()
    srv = Server(server_cmd(bin_dir, name, port, cert, key, c["tickets"]))
    try:
        args = ["--port", port, "--mode", c["mode"], "--conns", c["conns"], "--warmup",
                opts.warmup, "--seconds", opts.seconds, "--ca", ca]
        if "size" in c:
            args += ["--size", c["size"]]
        cl = subprocess.Popen(["taskset", "-c", "0", os.path.join(bin_dir, "tls_load_client"),
                               *map(str, args)], stdout=subprocess.PIPE, text=True)
        try:
            line = ""
            while line.strip() != "START":  # READY first, then START
                line = cl.stdout.readline()
                if not line:
                    raise RuntimeError("load client failed against " + name)
            cpu0 = cpu_ns(srv.pid)
            result = json.loads(cl.stdout.readline())
            cpu1 = cpu_ns(srv.pid)
            cl.wait(timeout=60)
        finally:
            if cl.poll() is None:
                cl.kill()
                cl.wait()
        if cl.returncode != 0:
            raise RuntimeError("load client exited %d against %s" % (cl.returncode, name))
        if c["mode"] == "resume" and result["resumed"] < result["count"] * 0.99:
            raise RuntimeError("%s resumed only %d of %d" % (name, result["resumed"],
                                                              result["count"]))
        cpu = (cpu1 - cpu0) / 1e9
        n = result["count"]
        return dict(ops_per_s=n / result["seconds"], ops_per_cpu_s=n / cpu if cpu else 0,
                    cpu_us_per_op=cpu * 1e6 / n if n else 0,
                    mib_per_cpu_s=result.get("bytes", 0) / 2**20 / cpu if cpu else 0)
    finally:
        srv.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin_dir")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--json")
    opts = ap.parse_args()
    cases = opts.cases.split(",")
    servers = opts.servers.split(",")
    results = {case: {s: [] for s in servers} for case in cases}
    with tempfile.TemporaryDirectory() as tmp:
        ca, certs = make_certificates(tmp)
        for r in range(opts.rounds):
            for case in cases:
                # Each round in another order, so no server always goes first.
                order = servers[r % len(servers):] + servers[:r % len(servers)]
                for s in order:
                    results[case][s].append(run_case(opts.bin_dir, s, case, opts, ca, certs))
                print("round %d: %s done" % (r + 1, case), file=sys.stderr, flush=True)
    report = {"rounds": opts.rounds, "seconds": opts.seconds, "cases": {}}
    for case in cases:
        med = {}
        for s in servers:
            runs = results[case][s]
            med[s] = {k: statistics.median(run[k] for run in runs) for k in runs[0]}
            if LIMIT in servers:
                # Per round (run back to back): the server / the raw loop.
                ratios = sorted(a["ops_per_cpu_s"] / b["ops_per_cpu_s"]
                                for a, b in zip(runs, results[case][LIMIT]))
                med[s]["ratio"] = statistics.median(ratios)
                med[s]["ratio_min"], med[s]["ratio_max"] = ratios[0], ratios[-1]
        report["cases"][case] = med
        print_case(case, med)
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(report, f, indent=1)


def print_case(case, med):
    c = CASES[case]
    echo = c["mode"] == "echo"
    unit = "msgs" if echo else "handshakes"
    print("\n%s (median of rounds)" % c["label"])
    print("| server | %s/s | %s per server-CPU-s | %sserver CPU us each "
          "| per CPU-s / raw loop (median, range) |" % (unit, unit, "MiB per CPU-s | " if echo else ""))
    print("| --- | ---: | ---: | %s---: | ---: |" % ("---: | " if echo else ""))
    for s, m in med.items():
        ratio = "%.3fx (%.2f-%.2f)" % (m["ratio"], m["ratio_min"], m["ratio_max"]) \
            if "ratio" in m else ""
        mib = "%.0f | " % m["mib_per_cpu_s"] if echo else ""
        print("| %s | %.0f | %.0f | %s%.1f | %s |" % (s, m["ops_per_s"], m["ops_per_cpu_s"], mib,
                                                      m["cpu_us_per_op"], ratio))


if __name__ == "__main__":
    main()
