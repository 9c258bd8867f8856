#!/usr/bin/python3
"""The real Twisted as a datagram peer for twisted-cpp's interop tests.

Both sides send and check the same numbered datagrams: datagram i of a run
tagged TAG is "TAG:i:" followed by pattern bytes (twisted_peer.py's) up to
SIZES[i % len(SIZES)] bytes in all. A sender keeps at most WINDOW datagrams
(and WINDOW_BYTES bytes, or one datagram) unanswered, so that no receive
queue can overflow, and checks every answer byte for byte; a datagram that
does not carry the tag is someone else's and is ignored.

  udp-echo --host H --count N --tag T
        listenUDP(0) on H; prints "PORT <n>"; echoes every datagram to its
        sender and checks it; done after N of them
  udp-send --host H --port P --count N --tag T [--connected]
        sends N datagrams to H:P (with --connected, through
        transport.connect and write(data)), checks the echoes
  mcast-member --group G --count N --tag T [--port P] [--multiple]
        listenMulticast(P, or 0) (--multiple: listenMultiple), joins G on
        127.0.0.1, then prints "PORT <n>"; echoes each group datagram to its
        sender (unicast) and checks it; done after N
  mcast-send --group G --port P --count N --tag T
        sends N datagrams to G:P, leaving by 127.0.0.1; checks the echoes
  unix-echo --path A --count N --tag T
        listenUNIXDatagram(A); prints "PORT 0"; echoes as udp-echo
  unix-send --path A --bind B --count N --tag T [--connected]
        from a port bound to B (with --connected, connectUNIXDatagram(A,
        bindAddress=B); else listenUNIXDatagram(B) and write(data, A)) sends
        N datagrams to A and checks the echoes

A UNIX name "@name" is the abstract name "\\0name". Every mode prints one
result line ("OK <n>" or "BAD ...") and exits 0 only on success, within
DEADLINE seconds.
"""
import argparse
import sys

from twisted.internet import protocol, reactor

from twisted_peer import pattern

SIZES = (64, 512, 1472, 1473, 8192, 8193, 32768, 65507)
WINDOW = 8
WINDOW_BYTES = 64 * 1024
MAX_PACKET = 65536
DEADLINE = 45  # below the C++ side's 60 s bound, so that this side says what is missing

result = []  # the one verdict
tallies = []  # every Tally, for the deadline's line


def finish(line):
    if result:
        return
    print(line, flush=True)
    result.append(0 if line.startswith("OK") else 1)
    if reactor.running:
        reactor.stop()
    else:
        reactor.callWhenRunning(reactor.stop)


def datagram(tag, i):
    head = b"%s:%d:" % (tag, i)
    return head + pattern(i * 1009, SIZES[i % len(SIZES)] - len(head))


def numbered(tag, data):
    """The number of one of our datagrams, None for someone else's."""
    parts = data.split(b":", 2)
    if len(parts) < 3 or parts[0] != tag or not parts[1].isdigit():
        return None
    return int(parts[1])


class Tally:
    """Which of the N datagrams arrived, each exactly once and intact."""

    def __init__(self, tag, count):
        self.tag, self.count = tag, count
        self.seen = set()
        self.foreign = 0
        tallies.append(self)

    def check(self, data):
        """The datagram's number if it is one of ours and intact."""
        i = numbered(self.tag, data)
        if i is None:
            self.foreign += 1
            return None
        if i >= self.count or data != datagram(self.tag, i):
            finish("BAD datagram %d: %d bytes, not the %d expected" % (
                i, len(data), len(datagram(self.tag, i)) if i < self.count else -1))
            return None
        if i in self.seen:
            finish("BAD datagram %d arrived twice" % i)
            return None
        self.seen.add(i)
        return i

    def complete(self):
        return len(self.seen) == self.count

    def missing(self):
        gone = sorted(set(range(self.count)) - self.seen)
        return "got %d of %d (first missing %s; %d foreign)" % (
            len(self.seen), self.count, gone[0] if gone else "-", self.foreign)


class Sender:
    """Sends the N datagrams through send(data), a window at a time, and
    checks the echoes."""

    def __init__(self, tag, count, send):
        self.tally = Tally(tag, count)
        self.send = send
        self.next = 0
        self.unanswered = {}

    def pump(self):
        while self.next < self.tally.count and len(self.unanswered) < WINDOW:
            data = datagram(self.tally.tag, self.next)
            waiting = sum(self.unanswered.values())
            if self.unanswered and waiting + len(data) > WINDOW_BYTES:
                return
            self.unanswered[self.next] = len(data)
            self.send(data)
            self.next += 1

    def answered(self, data):
        i = self.tally.check(data)
        if i is None:
            return
        self.unanswered.pop(i, None)
        if self.tally.complete():
            finish("OK %d" % self.tally.count)
        else:
            self.pump()


class Echo(protocol.DatagramProtocol):
    """Echoes every datagram to its sender; checks ours."""

    def __init__(self, tag, count):
        self.tally = Tally(tag, count)

    def datagramReceived(self, data, addr):
        self.transport.write(data, addr)
        if self.tally.check(data) is not None and self.tally.complete():
            finish("OK %d" % self.tally.count)


class SendingPort(protocol.DatagramProtocol):
    """An unconnected port that sends to `to`, or a connected one."""

    def __init__(self, tag, count, to, connected=False):
        self.to, self.connected = to, connected
        self.sender = Sender(tag, count, self.write)

    def write(self, data):
        if self.connected:
            self.transport.write(data)
        else:
            self.transport.write(data, self.to)

    def startProtocol(self):
        if self.connected:
            self.transport.connect(*self.to)

    def datagramReceived(self, data, addr):
        self.sender.answered(data)

    def connectionRefused(self):
        finish("BAD connection refused")


class ConnectedSender(protocol.ConnectedDatagramProtocol):
    def __init__(self, tag, count):
        self.sender = Sender(tag, count, lambda data: self.transport.write(data))

    def startProtocol(self):
        self.sender.pump()

    def datagramReceived(self, data):
        self.sender.answered(data)

    def connectionFailed(self, reason):
        finish("BAD connect %s" % reason.value)

    def connectionRefused(self):
        finish("BAD connection refused")


def unixName(name):
    return "\0" + name[1:] if name.startswith("@") else name


def start(args):
    tag, count = args.tag.encode(), args.count
    if args.mode == "udp-echo":
        port = reactor.listenUDP(0, Echo(tag, count), interface=args.host,
                                 maxPacketSize=MAX_PACKET)
        print("PORT %d" % port.getHost().port, flush=True)
    elif args.mode == "udp-send":
        proto = SendingPort(tag, count, (args.host, args.port), args.connected)
        reactor.listenUDP(0, proto, interface=args.host, maxPacketSize=MAX_PACKET)
        proto.sender.pump()
    elif args.mode == "mcast-member":
        port = reactor.listenMulticast(args.port, Echo(tag, count), maxPacketSize=MAX_PACKET,
                                       listenMultiple=args.multiple)
        joined = port.joinGroup(args.group, "127.0.0.1")
        joined.addCallback(lambda _: print("PORT %d" % port.getHost().port, flush=True))
        joined.addErrback(lambda f: finish("BAD join %s" % f.value))
    elif args.mode == "mcast-send":
        proto = SendingPort(tag, count, (args.group, args.port))
        port = reactor.listenMulticast(0, proto, maxPacketSize=MAX_PACKET)
        chosen = port.setOutgoingInterface("127.0.0.1")
        chosen.addCallback(lambda _: proto.sender.pump())
        chosen.addErrback(lambda f: finish("BAD interface %s" % f.value))
    elif args.mode == "unix-echo":
        reactor.listenUNIXDatagram(unixName(args.path), Echo(tag, count),
                                   maxPacketSize=MAX_PACKET)
        print("PORT 0", flush=True)
    elif args.mode == "unix-send" and args.connected:
        reactor.connectUNIXDatagram(unixName(args.path), ConnectedSender(tag, count),
                                    maxPacketSize=MAX_PACKET, bindAddress=unixName(args.bind))
    elif args.mode == "unix-send":
        proto = SendingPort(tag, count, unixName(args.path))
        reactor.listenUNIXDatagram(unixName(args.bind), proto, maxPacketSize=MAX_PACKET)
        proto.sender.pump()
    else:
        raise SystemExit("unknown mode " + args.mode)


def main(argv):
    parser = argparse.ArgumentParser(description="the datagram interop peer")
    parser.add_argument("mode")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--group")
    parser.add_argument("--path")
    parser.add_argument("--bind")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--connected", action="store_true")
    parser.add_argument("--multiple", action="store_true")
    args = parser.parse_args(argv[1:])
    start(args)
    reactor.callLater(DEADLINE, lambda: finish(
        "BAD deadline: " + "; ".join(t.missing() for t in tallies)))
    reactor.run()
    return result[0] if result else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
