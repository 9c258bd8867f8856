#!/usr/bin/env python3
"""Starts a command the way systemd's socket activation does: the sockets
are made here, placed at descriptors 3, 4, ... and the command is exec'd
(keeping this process's pid) with LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES.

  socket_activate.py SOCKET... -- COMMAND...

SOCKET is NAME=KIND with KIND one of
  inet     a TCP socket listening on 127.0.0.1, any port
  inet6    a TCP socket listening on ::1, any port
  unix     a UNIX stream socket listening in a new temporary directory
  udp      a UDP socket bound to 127.0.0.1, any port
The command gets each socket's address in TWISTED_TEST_SOCKET_<NAME>
("127.0.0.1:PORT", "[::1]:PORT", the path).
"""
import os
import socket
import sys
import tempfile


def make(kind, directory):
    if kind == "inet":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
    elif kind == "inet6":
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
    elif kind == "unix":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(os.path.join(directory, "activated.sock"))
    elif kind == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
    else:
        sys.exit("socket_activate.py: unknown socket kind " + kind)
    if s.type == socket.SOCK_STREAM:
        s.listen(16)
    name = s.getsockname()
    if kind == "inet":
        where = "%s:%d" % name
    elif kind == "inet6":
        where = "[%s]:%d" % name[:2]
    elif kind == "udp":
        where = "%s:%d" % name
    else:
        where = name
    return s, where


def main():
    args = sys.argv[1:]
    if "--" not in args:
        sys.exit(__doc__)
    split = args.index("--")
    specs, command = args[:split], args[split + 1:]
    directory = tempfile.mkdtemp(prefix="twisted-activate-")
    made = []
    names = []
    for spec in specs:
        name, _, kind = spec.partition("=")
        s, where = make(kind, directory)
        made.append(s)
        names.append(name)
        os.environ["TWISTED_TEST_SOCKET_" + name.upper()] = where
    # Sockets first move above the range they are going to, so that
    # placing one at 3 + i never overwrites another not yet placed.
    high = [os.dup(s.fileno()) for s in made]
    for s in made:
        s.close()
    for i, fd in enumerate(high):
        os.dup2(fd, 3 + i, inheritable=True)
        os.close(fd)
    os.environ["LISTEN_PID"] = str(os.getpid())
    os.environ["LISTEN_FDS"] = str(len(made))
    os.environ["LISTEN_FDNAMES"] = ":".join(names)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
