#!/usr/bin/env python3
"""`twist` over real sockets, as a new user runs it.

  twist_network.py TWIST readme  The README's first example, exactly:
      `twist echo --listen tcp:8000 --listen tcp6:8000`, in a network
      namespace of its own (so port 8000 and the wildcard addresses are this
      test's alone), with net.ipv6.bindv6only = 0 as on stock Debian: both
      ports listen, each family is echoed, SIGTERM exits 0.
  twist_network.py TWIST burst [N] [ENDPOINT]  N clients (default 4000)
      connect at once to `twist echo --listen ENDPOINT` (default
      tcp:0:interface=127.0.0.1), while twist is stopped (SIGSTOP), so that
      all of them wait in its listen queue at once; then it continues. Every
      one is echoed, and the kernel counted no listen-queue overflow or drop
      (/proc/net/netstat ListenOverflows, ListenDrops), which is what a
      backlog smaller than the burst costs: each refused SYN waits a second or
      more to be sent again. In a network namespace of its own where one can
      be made (the counters are then this test's alone). N is capped at
      net.core.somaxconn.

Every wait is for a condition, bounded by a generous limit; none decides by
the clock. Exit status 77 means "skipped" (no network namespace here).
"""
import errno
import fcntl
import os
import resource
import select
import selectors
import signal
import socket
import struct
import subprocess
import sys
import time

LIMIT = 120.0  # seconds: a bound for a loaded machine, never a verdict
SKIP = 77


def fail(message):
    print("FAIL: " + message, flush=True)
    sys.exit(1)


def start_twist(twist, args):
    proc = subprocess.Popen([twist] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.pending = b""  # read but not yet split into lines
    return proc


def wait_for_lines(proc, needle, count):
    """The first `count` stdout lines of `proc` that contain `needle`.

    Reads the pipe's descriptor itself: a buffered readline() could hold a
    second line while select() waits on the empty pipe."""
    found = []
    deadline = time.monotonic() + LIMIT
    fd = proc.stdout.fileno()
    while len(found) < count:
        while b"\n" in proc.pending and len(found) < count:
            line, proc.pending = proc.pending.split(b"\n", 1)
            line = line.decode(errors="replace")
            print("twist: " + line, flush=True)
            if needle in line:
                found.append(line)
        if len(found) == count:
            break
        if time.monotonic() > deadline:
            fail("twist did not log %d '%s' lines (got %r)" % (count, needle, found))
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            fail("twist exited (%s) before listening: %s" %
                 (proc.wait(), proc.stderr.read().decode(errors="replace")))
        proc.pending += chunk
    return found


def stop_twist(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        status = proc.wait(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("twist did not exit after SIGTERM")
    if status != 0:
        fail("twist exited with %d after SIGTERM: %s" %
             (status, proc.stderr.read().decode(errors="replace")))


def echo_once(family, host, port, payload):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(LIMIT)
        s.connect((host, port))
        s.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        if got != payload:
            fail("%s:%d echoed %r for %r" % (host, port, got, payload))


def bring_loopback_up():
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sh14x", b"lo", 0)
        flags = struct.unpack("16sh14x", fcntl.ioctl(s, SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sh14x", b"lo", flags | IFF_UP))


def enter_netns(required):
    """Re-runs this script (same arguments) in a new network namespace with
    its loopback up. Returns False (staying here) when none can be made and
    it is not `required`; exits with SKIP when it is."""
    if os.environ.get("TWIST_IN_NETNS") == "1":
        bring_loopback_up()
        return True
    unshare = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
    try:
        probe = subprocess.run(unshare + ["true"], capture_output=True)
    except FileNotFoundError:
        probe = None
    if probe is None or probe.returncode != 0:
        why = probe.stderr.decode().strip() if probe else "no unshare"
        if required:
            print("SKIP: cannot make a network namespace here (%s)" % why)
            sys.exit(SKIP)
        print("note: no network namespace (%s): running in this one" % why)
        return False
    env = dict(os.environ, TWIST_IN_NETNS="1")
    os.execvpe(unshare[0], unshare + [sys.executable, os.path.abspath(__file__)] + sys.argv[1:],
               env)


def readme(twist):
    enter_netns(required=True)
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError as e:
        print("SKIP: no IPv6 here (%s)" % e)
        sys.exit(SKIP)
    # Stock Debian's value: an IPv6 wildcard socket also claims IPv4 unless
    # twist makes it IPv6-only. A new namespace starts with the default (0).
    with open("/proc/sys/net/ipv6/bindv6only") as f:
        if f.read().strip() != "0":
            fail("this namespace has net.ipv6.bindv6only != 0: the test would prove nothing")
    proc = start_twist(twist, ["echo", "--listen", "tcp:8000", "--listen", "tcp6:8000"])
    try:
        lines = wait_for_lines(proc, "starting on", 2)
        if not any("0.0.0.0:8000" in l for l in lines) or not any("[::]:8000" in l for l in lines):
            fail("expected 0.0.0.0:8000 and [::]:8000 in %r" % lines)
        echo_once(socket.AF_INET, "127.0.0.1", 8000, b"hello over IPv4\r\n")
        echo_once(socket.AF_INET6, "::1", 8000, b"hello over IPv6\r\n")
    finally:
        if proc.poll() is None:
            stop_twist(proc)
    print("README command: both families listen on port 8000 and echo; SIGTERM exits 0")


def listen_queue_losses():
    """ListenOverflows + ListenDrops from /proc/net/netstat (this namespace's)."""
    with open("/proc/net/netstat") as f:
        lines = f.read().splitlines()
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], map(int, values.split()[1:])))
            return table.get("ListenOverflows", 0) + table.get("ListenDrops", 0)
    fail("no TcpExt counters in /proc/net/netstat")


def wait_until_stopped(pid):
    deadline = time.monotonic() + LIMIT
    while time.monotonic() < deadline:
        with open("/proc/%d/stat" % pid) as f:
            if f.read().rsplit(")", 1)[1].split()[0] in ("T", "t"):
                return
        time.sleep(0.01)
    fail("twist did not stop on SIGSTOP")


def somaxconn():
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            return int(f.read())
    except OSError:
        return socket.SOMAXCONN


def burst(twist, n, endpoint):
    enter_netns(required=False)
    n = min(n, somaxconn())
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = n + 64
    if hard != resource.RLIM_INFINITY and hard < need:
        print("SKIP: the descriptor limit (%d) is below %d" % (hard, need))
        sys.exit(SKIP)
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))  # twist inherits it
    proc = start_twist(twist, ["echo", "--listen", endpoint])
    socks = []
    try:
        line = wait_for_lines(proc, "starting on", 1)[0]
        port = int(line.split("starting on 127.0.0.1:")[1].split()[0])
        payload = b"burst\r\n"
        sel = selectors.DefaultSelector()
        losses_before = listen_queue_losses()
        # All at once, with nothing accepted meanwhile: the listen queue must
        # hold the whole burst.
        os.kill(proc.pid, signal.SIGSTOP)
        wait_until_stopped(proc.pid)
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex(("127.0.0.1", port))
            if err not in (0, errno.EINPROGRESS):
                fail("connect: %s" % os.strerror(err))
            socks.append(s)
            sel.register(s, selectors.EVENT_WRITE, [b""])
        os.kill(proc.pid, signal.SIGCONT)
        pending = n
        deadline = time.monotonic() + LIMIT
        while pending:
            if time.monotonic() > deadline:
                fail("%d of %d clients not echoed within %d s" % (pending, n, LIMIT))
            for key, events in sel.select(timeout=1.0):
                s, got = key.fileobj, key.data
                if events & selectors.EVENT_WRITE:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        fail("a client failed to connect: %s" % os.strerror(err))
                    try:
                        s.send(payload)
                    except OSError as e:
                        fail("a client could not send (%s)" % e)
                    sel.modify(s, selectors.EVENT_READ, got)
                    continue
                try:
                    chunk = s.recv(4096)
                except OSError as e:
                    fail("a client was cut off (%s)" % e)
                if not chunk:
                    fail("twist closed a client before echoing")
                got[0] += chunk
                if len(got[0]) >= len(payload):
                    if got[0] != payload:
                        fail("echoed %r" % got[0])
                    sel.unregister(s)
                    pending -= 1
        lost = listen_queue_losses() - losses_before
        if lost:
            fail("the listen queue overflowed %d times for a burst of %d clients" % (lost, n))
    finally:
        for s in socks:
            s.close()
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)  # in case it failed while stopped
            stop_twist(proc)
    print("burst: %d clients connected at once, all echoed, no listen-queue overflow" % n)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    twist, mode = sys.argv[1], sys.argv[2]
    if mode == "readme":
        readme(twist)
    elif mode == "burst":
        n = int(sys.argv[3]) if len(sys.argv) > 3 else 4000
        burst(twist, n, sys.argv[4] if len(sys.argv) > 4 else "tcp:0:interface=127.0.0.1")
    else:
        fail("unknown mode " + mode)


if __name__ == "__main__":
    main()
