"""bench/spawn's Python peers, with spawn_bench's arguments and JSON line:
  spawn_python.py twisted|subprocess true|cat [--count N] [--seconds S]
twisted: Twisted's reactor.spawnProcess (its default pipes), the next child
started from processEnded; subprocess: Python's subprocess.run.
"""
import json
import resource
import subprocess
import sys
import time

CAT_BYTES = 1 << 20
CAT_INPUT = bytes((i * 7919 + 13) % 251 for i in range(CAT_BYTES))


def cpu(who):
    u = resource.getrusage(who)
    return u.ru_utime + u.ru_stime


def run_twisted(mode, count, deadline):
    from twisted.internet import protocol, reactor

    state = {"started": 0, "done": 0}

    class Child(protocol.ProcessProtocol):
        def __init__(self):
            self.back = []

        def connectionMade(self):
            if mode == "cat":
                self.transport.write(CAT_INPUT)
                self.transport.closeStdin()

        def outReceived(self, data):
            self.back.append(data)

        def processEnded(self, reason):
            if mode == "cat" and b"".join(self.back) != CAT_INPUT:
                raise SystemExit("twisted cat: bytes differ")
            state["done"] += 1
            if state["started"] < count and time.monotonic() < deadline:
                start()
            else:
                reactor.stop()

    def start():
        state["started"] += 1
        exe = "/bin/true" if mode == "true" else "/bin/cat"
        reactor.spawnProcess(Child(), exe, [exe], env={})

    reactor.callWhenRunning(start)
    reactor.run()  # its SIGCHLD handler reaps the children
    return state["done"]


def run_subprocess(mode, count, deadline):
    done = 0
    while done < count and time.monotonic() < deadline:
        if mode == "true":
            subprocess.run(["/bin/true"], check=True)
        else:
            out = subprocess.run(["/bin/cat"], input=CAT_INPUT, stdout=subprocess.PIPE, check=True)
            if out.stdout != CAT_INPUT:
                raise SystemExit("subprocess cat: bytes differ")
        done += 1
    return done


def main():
    peer, mode = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    count = int(args[args.index("--count") + 1]) if "--count" in args else 2000
    seconds = float(args[args.index("--seconds") + 1]) if "--seconds" in args else 3
    cpu0, child0, t0 = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN), time.monotonic()
    run = run_twisted if peer == "twisted" else run_subprocess
    n = run(mode, count, t0 + seconds)
    wall = time.monotonic() - t0
    print(json.dumps({
        "peer": peer, "mode": mode, "children": n, "seconds": wall,
        "parent_cpu": cpu(resource.RUSAGE_SELF) - cpu0,
        "child_cpu": cpu(resource.RUSAGE_CHILDREN) - child0,
        "bytes_each_way": CAT_BYTES * n if mode == "cat" else 0,
    }))


main()
