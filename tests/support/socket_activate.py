#!/usr/bin/env python3
"""Starts a command the way systemd's socket activation does: the sockets
are made here, placed at descriptors 3, 4, ... of a child that execs the
command with LISTEN_PID (its own pid), LISTEN_FDS and LISTEN_FDNAMES. This
process waits for it, removes what it made and exits with its status.

  socket_activate.py SOCKET... -- COMMAND...

SOCKET is NAME=KIND with KIND one of
  inet     a TCP socket listening on 127.0.0.1, any port
  inet6    a TCP socket listening on ::1, any port
  unix     a UNIX stream socket listening in a new temporary directory
  udp      a UDP socket bound to 127.0.0.1, any port
The command gets each socket's address in TWISTED_TEST_SOCKET_<NAME>
("127.0.0.1:PORT", "[::1]:PORT", the path). Exits 77 (ctest's
SKIP_RETURN_CODE) when a socket cannot be made here (no IPv6).
"""
import os
import shutil
import socket
import sys
import tempfile

SKIP = 77


def make(kind, directory):
    family = {"inet": socket.AF_INET, "inet6": socket.AF_INET6, "unix": socket.AF_UNIX,
              "udp": socket.AF_INET}.get(kind)
    if family is None:
        sys.exit("socket_activate.py: unknown socket kind " + kind)
    s = socket.socket(family, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
    address = {"inet": ("127.0.0.1", 0), "inet6": ("::1", 0), "udp": ("127.0.0.1", 0),
               "unix": os.path.join(directory, "activated.sock")}[kind]
    try:
        s.bind(address)
    except OSError as e:
        print("socket_activate.py: cannot bind %s: %s" % (kind, e), file=sys.stderr)
        sys.exit(SKIP)
    if kind != "udp":
        s.listen(16)
    name = s.getsockname()
    if kind == "unix":
        return s, name
    host = "[%s]" % name[0] if kind == "inet6" else name[0]
    return s, "%s:%d" % (host, name[1])


def main():
    args = sys.argv[1:]
    if "--" not in args:
        sys.exit(__doc__)
    split = args.index("--")
    specs, command = args[:split], args[split + 1:]
    directory = tempfile.mkdtemp(prefix="twisted-activate-")
    try:
        made, names = [], []
        for spec in specs:
            name, _, kind = spec.partition("=")
            s, where = make(kind, directory)
            made.append(s)
            names.append(name)
            os.environ["TWISTED_TEST_SOCKET_" + name.upper()] = where
        pid = os.fork()
        if pid == 0:
            # Copies above the range first (every socket made is open, so
            # they land at 3 + len(made) or higher): placing one at 3 + i
            # then never overwrites another not yet placed.
            high = [os.dup(s.fileno()) for s in made]
            for i, fd in enumerate(high):
                os.dup2(fd, 3 + i, inheritable=True)
            for fd in high:
                os.close(fd)
            os.environ["LISTEN_PID"] = str(os.getpid())
            os.environ["LISTEN_FDS"] = str(len(made))
            os.environ["LISTEN_FDNAMES"] = ":".join(names)
            try:
                os.execv(command[0], command)
            finally:
                os._exit(127)
        for s in made:
            s.close()
        _, status = os.waitpid(pid, 0)
        sys.exit(os.waitstatus_to_exitcode(status))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
