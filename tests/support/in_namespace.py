#!/usr/bin/env python3
"""Runs a test command in namespaces of its own, so that it may change what
it sees of the system without touching the machine's:

  in_namespace.py [--hosts FILE] [--link-local ADDR] [--veth] -- COMMAND...

--hosts FILE      a mount namespace in which FILE is /etc/hosts; the command
                  gets TWISTED_TEST_HOSTS=FILE.
--link-local ADDR a network namespace whose loopback is up and also has the
                  link-local IPv6 address ADDR (fe80::...); the command gets
                  TWISTED_TEST_LINK_LOCAL=ADDR%lo.
--veth            a network namespace (the command's, loopback up) joined by
                  a veth pair to a second one, the peer, so that what one
                  end sends reaches the other as if from another host (a
                  multicast datagram sent with loopback off reaches the
                  peer's members, not the sender's). Each end is up, with
                  an IPv4 and an IPv6 address and a link-local IPv6 address
                  usable at once; the peer namespace is a file the command
                  can setns(2) into. The command gets
                    TWISTED_TEST_VETH            its end's interface name
                    TWISTED_TEST_VETH_IPV4       its end's IPv4 address
                    TWISTED_TEST_VETH_IPV6       its end's IPv6 address
                    TWISTED_TEST_VETH_LINK_LOCAL its end's link-local IPv6 address
                    TWISTED_TEST_VETH_PEER       the peer end's interface name
                    TWISTED_TEST_VETH_PEER_IPV4  the peer end's IPv4 address
                    TWISTED_TEST_VETH_PEER_IPV6  the peer end's IPv6 address
                    TWISTED_TEST_VETH_PEER_NETNS the peer namespace's file

Exits 77 (ctest's SKIP_RETURN_CODE) when namespaces cannot be made here.
"""
import ctypes
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
MARK = "TWISTED_IN_NAMESPACE"
VETH_DIR = "TWISTED_IN_NAMESPACE_VETH_DIR"
CLONE_NEWNET = 0x40000000

# The two ends: (interface, IPv4, IPv6, link-local IPv6), in documentation
# ranges (the namespaces see no other network).
HOST_END = ("veth-host", "192.0.2.1", "2001:db8::1", "fe80::1")
PEER_END = ("veth-peer", "192.0.2.2", "2001:db8::2", "fe80::2")


def main():
    args = sys.argv[1:]
    if "--" not in args:
        sys.exit(__doc__)
    split = args.index("--")
    opts, command = args[:split], args[split + 1:]
    hosts = link_local = None
    veth = False
    while opts:
        name = opts.pop(0)
        if name == "--veth":
            veth = True
        elif name == "--hosts" and opts:
            hosts = os.path.abspath(opts.pop(0))
        elif name == "--link-local" and opts:
            link_local = opts.pop(0)
        else:
            sys.exit("in_namespace.py: unknown option " + name)

    if os.environ.get(MARK) != "1":
        flags = ["-r"] if os.geteuid() != 0 else []
        flags += ["-m"] if hosts or veth else []
        flags += ["-n"] if link_local or veth else []
        unshare = ["unshare"] + flags
        try:
            probe = subprocess.run(unshare + ["true"], capture_output=True)
        except FileNotFoundError:
            probe = None
        if probe is None or probe.returncode != 0:
            why = probe.stderr.decode().strip() if probe else "no unshare"
            print("SKIP: cannot make the namespaces here (%s)" % why)
            sys.exit(SKIP)
        env = dict(os.environ, **{MARK: "1"})
        again = unshare + [sys.executable, os.path.abspath(__file__)] + sys.argv[1:]
        if not veth:
            os.execvpe(unshare[0], again, env)
        # The peer namespace's file is bound (in the command's mount
        # namespace) on a directory made here, removed when it is done.
        env[VETH_DIR] = tempfile.mkdtemp(prefix="twisted-veth-")
        try:
            sys.exit(subprocess.run(again, env=env).returncode)
        finally:
            shutil.rmtree(env[VETH_DIR], ignore_errors=True)

    env = dict(os.environ)
    if hosts:
        subprocess.run(["mount", "--bind", hosts, "/etc/hosts"], check=True)
        env["TWISTED_TEST_HOSTS"] = hosts
    if link_local:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        # nodad: usable at once, not "tentative" for a second.
        subprocess.run(["ip", "-6", "addr", "add", link_local + "/64", "dev", "lo", "nodad"],
                       check=True)
        env["TWISTED_TEST_LINK_LOCAL"] = link_local + "%lo"
    if veth:
        env.update(make_veth(os.environ[VETH_DIR]))
    os.execvpe(command[0], command, env)


class PeerNamespace:
    """`with PeerNamespace(path):` runs its body in the peer's network
    namespace (the sockets it makes are the peer's)."""

    def __init__(self, path):
        self.path = path
        self.libc = ctypes.CDLL(None, use_errno=True)

    def enter(self, fd, what):
        if self.libc.setns(fd, CLONE_NEWNET) != 0:
            sys.exit("in_namespace.py: setns %s: %s" % (what, os.strerror(ctypes.get_errno())))

    def __enter__(self):
        self.own = os.open("/proc/self/ns/net", os.O_RDONLY)
        other = os.open(self.path, os.O_RDONLY)
        self.enter(other, self.path)
        os.close(other)

    def __exit__(self, *exc):
        self.enter(self.own, "back")
        os.close(self.own)


def wait_until_ready(peer_ns, here, peer):
    """Returns once the pair carries what the tests send: the kernel turns
    a new link's carrier on (and drops what is sent before), then adds each
    end's IPv6 multicast route (without which a group's datagrams are
    dropped on arrival), a moment after both ends are up. Each is waited
    for by its condition; exits 1 if one is still missing after 30 s."""
    deadline = time.monotonic() + 30

    def until(done, what):
        while not done():
            if time.monotonic() > deadline:
                sys.exit("in_namespace.py: the veth pair has no %s after 30 s" % what)
            time.sleep(0.01)

    def udp(address):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((address, 0))
        return s

    with PeerNamespace(peer_ns):
        peer_socket = udp(peer[1])
    here_socket = udp(here[1])
    for sender, receiver in ((here_socket, peer_socket), (peer_socket, here_socket)):
        def arrived():
            sender.sendto(b"probe", receiver.getsockname())
            return bool(select.select([receiver], [], [], 0.01)[0])
        until(arrived, "carrier")
    here_socket.close()
    peer_socket.close()

    def multicast_route(*prefix):
        def present():
            shown = subprocess.run(list(prefix) + ["ip", "-6", "route", "show", "table", "local"],
                                   capture_output=True).stdout.decode()
            return "multicast ff00::/8" in shown
        return present

    until(multicast_route(), "IPv6 multicast route on " + here[0])
    until(multicast_route("nsenter", "--net=" + peer_ns), "IPv6 multicast route on " + peer[0])


def make_veth(directory):
    """Makes the peer namespace and the veth pair; the command's variables.
    Exits 77 if this kernel or container cannot."""
    # A private tmpfs (only this mount namespace sees it) holds the peer
    # namespace's file.
    peer_ns = os.path.join(directory, "peer")
    here, peer = HOST_END, PEER_END

    def run(*command):
        done = subprocess.run(command, capture_output=True)
        if done.returncode != 0:
            print("SKIP: cannot make the veth pair here (%s: %s)" %
                  (" ".join(command), done.stderr.decode().strip()))
            sys.exit(SKIP)

    def in_peer(*command):
        run("nsenter", "--net=" + peer_ns, *command)

    run("mount", "-t", "tmpfs", "twisted-veth", directory)
    open(peer_ns, "w").close()
    run("unshare", "--net=" + peer_ns, "true")
    run("ip", "link", "set", "lo", "up")
    run("ip", "link", "add", here[0], "type", "veth", "peer", "name", peer[0], "netns", peer_ns)
    for (name, ipv4, ipv6, link_local), call in ((here, run), (peer, in_peer)):
        # No address of its own making: the fixed link-local one is used at
        # once (nodad), never "tentative".
        call("ip", "link", "set", name, "addrgenmode", "none")
        call("ip", "addr", "add", ipv4 + "/24", "dev", name)
        call("ip", "-6", "addr", "add", ipv6 + "/64", "dev", name, "nodad")
        call("ip", "-6", "addr", "add", link_local + "/64", "dev", name, "nodad")
        call("ip", "link", "set", name, "up")
    wait_until_ready(peer_ns, here, peer)
    return {
        "TWISTED_TEST_VETH": here[0],
        "TWISTED_TEST_VETH_IPV4": here[1],
        "TWISTED_TEST_VETH_IPV6": here[2],
        "TWISTED_TEST_VETH_LINK_LOCAL": here[3],
        "TWISTED_TEST_VETH_PEER": peer[0],
        "TWISTED_TEST_VETH_PEER_IPV4": peer[1],
        "TWISTED_TEST_VETH_PEER_IPV6": peer[2],
        "TWISTED_TEST_VETH_PEER_NETNS": peer_ns,
    }


if __name__ == "__main__":
    main()
