"""Child-process interop with the real Twisted (issue 22).

  twisted_process_peer.py spawn TWIST N   Twisted's reactor.spawnProcess runs
      `TWIST echo --listen stdio:`, writes N bytes of the shared pattern to
      its stdin, closes it, and checks every byte comes back, that stdout
      then ends, and that twist exits with 0. Prints "OK" or "FAIL why".
  twisted_process_peer.py child           Twisted's StandardIO echoes stdin to
      stdout, writes "ready" to stderr, and at stdin's end exits with 3.
"""
import sys

from zope.interface import implementer

from twisted.internet import interfaces, protocol, reactor, stdio

BLOCK_LEN = 65521
BLOCK = bytes((i * 7919 + 13) % 256 for i in range(BLOCK_LEN))


def pattern(n):
    out = BLOCK * (n // BLOCK_LEN + 1)
    return out[:n]


class Driver(protocol.ProcessProtocol):
    def __init__(self, expected):
        self.expected = expected
        self.received = []
        self.events = []
        self.result = None

    def connectionMade(self):
        self.transport.write(self.expected)
        self.transport.closeStdin()

    def outReceived(self, data):
        self.received.append(data)

    def outConnectionLost(self):
        self.events.append("out lost")

    def processEnded(self, reason):
        got = b"".join(self.received)
        code = reason.value.exitCode
        if got != self.expected:
            self.result = "FAIL got %d bytes, %s" % (len(got), "differ" if len(got) == len(self.expected) else "short")
        elif code != 0:
            self.result = "FAIL exit code %r" % (code,)
        elif "out lost" not in self.events:
            self.result = "FAIL stdout never ended"
        else:
            self.result = "OK"
        reactor.stop()


@implementer(interfaces.IHalfCloseableProtocol)
class Echo(protocol.Protocol):
    # Half-closeable: at stdin's end Twisted would otherwise drop the
    # connection with what is not yet written.
    def readConnectionLost(self):
        self.transport.loseConnection()

    def writeConnectionLost(self):
        pass

    def connectionMade(self):
        sys.stderr.write("ready\n")
        sys.stderr.flush()

    def dataReceived(self, data):
        self.transport.write(data)

    def connectionLost(self, reason):
        reactor.stop()


def main():
    if sys.argv[1] == "spawn":
        twist, n = sys.argv[2], int(sys.argv[3])
        driver = Driver(pattern(n))
        reactor.spawnProcess(driver, twist, [twist, "echo", "--listen", "stdio:"], env=None)
        guard = reactor.callLater(120, reactor.stop)
        reactor.run()
        if guard.active():
            guard.cancel()
        print(driver.result or "FAIL timed out")
        return
    stdio.StandardIO(Echo())
    reactor.run()
    sys.exit(3)


main()
