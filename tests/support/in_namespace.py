#!/usr/bin/env python3
"""Runs a test command in namespaces of its own, so that it may change what
it sees of the system without touching the machine's:

  in_namespace.py [--hosts FILE] [--link-local ADDR] -- COMMAND...

--hosts FILE      a mount namespace in which FILE is /etc/hosts; the command
                  gets TWISTED_TEST_HOSTS=FILE.
--link-local ADDR a network namespace whose loopback is up and also has the
                  link-local IPv6 address ADDR (fe80::...); the command gets
                  TWISTED_TEST_LINK_LOCAL=ADDR%lo.

Exits 77 (ctest's SKIP_RETURN_CODE) when namespaces cannot be made here.
"""
import os
import subprocess
import sys

SKIP = 77
MARK = "TWISTED_IN_NAMESPACE"


def main():
    args = sys.argv[1:]
    if "--" not in args:
        sys.exit(__doc__)
    split = args.index("--")
    opts, command = args[:split], args[split + 1:]
    hosts = link_local = None
    while opts:
        name, value = opts[0], opts[1]
        opts = opts[2:]
        if name == "--hosts":
            hosts = os.path.abspath(value)
        elif name == "--link-local":
            link_local = value
        else:
            sys.exit("in_namespace.py: unknown option " + name)

    if os.environ.get(MARK) != "1":
        flags = ["-r"] if os.geteuid() != 0 else []
        flags += ["-m"] if hosts else []
        flags += ["-n"] if link_local else []
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
        os.execvpe(unshare[0], unshare + [sys.executable, os.path.abspath(__file__)] +
                   sys.argv[1:], env)

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
    os.execvpe(command[0], command, env)


if __name__ == "__main__":
    main()
