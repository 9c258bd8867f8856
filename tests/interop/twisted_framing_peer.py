#!/usr/bin/python3
"""The real Twisted's framing protocols as peers for twisted-cpp's tests.

  twisted_framing_peer.py server KIND        answers each message with the
                                             message reversed; "QUIT" closes
  twisted_framing_peer.py client KIND PORT   sends MESSAGES (all in one write,
                                             then one by one), expects each
                                             back reversed, sends "QUIT"

KIND is line (basic.LineReceiver, CRLF), int32 (basic.Int32StringReceiver)
or netstring (basic.NetstringReceiver). A server prints "PORT <n>" first.
Each prints one result line ("OK ..." or "BAD ...") and exits 0 only on
success, under a 30 s deadline.
"""
import sys

from twisted.internet import reactor
from twisted.internet.protocol import ClientFactory, Factory
from twisted.protocols import basic

LINE_MESSAGES = [b"hello", b"", b"x" * 1000, b"tab\there", bytes(range(14, 127))]
BINARY_MESSAGES = LINE_MESSAGES + [bytes(range(256)), b"\r\n,:0", b"y" * 70000]


def kind_class(kind):
    if kind == "line":
        return basic.LineReceiver, "lineReceived", "sendLine", LINE_MESSAGES
    if kind == "int32":
        return basic.Int32StringReceiver, "stringReceived", "sendString", BINARY_MESSAGES
    if kind == "netstring":
        return basic.NetstringReceiver, "stringReceived", "sendString", BINARY_MESSAGES
    raise SystemExit("unknown kind " + kind)


def finish(verdict):
    print(verdict, flush=True)
    result.append(verdict)
    if reactor.running:
        reactor.stop()


result = []


def server(kind):
    base, receive, send, _ = kind_class(kind)

    def received(self, message):
        if message == b"QUIT":
            self.transport.loseConnection()
            finish("OK served %d" % self.count)
            return
        self.count += 1
        getattr(self, send)(message[::-1])

    proto = type("Reverser", (base,), {receive: received, "count": 0, "MAX_LENGTH": 100000})
    port = reactor.listenTCP(0, Factory.forProtocol(proto), interface="127.0.0.1")
    print("PORT %d" % port.getHost().port, flush=True)


def client(kind, port):
    base, receive, send, messages = kind_class(kind)
    expected = [m[::-1] for m in messages] * 2

    def connectionMade(self):
        sender = getattr(self, send)
        # First all at once (one write), then one by one.
        saved = self.transport.write
        chunks = []
        self.transport.write = chunks.append
        for m in messages:
            sender(m)
        self.transport.write = saved
        self.transport.write(b"".join(chunks))
        for m in messages:
            sender(m)

    def received(self, message):
        self.got.append(message)
        if len(self.got) == len(expected):
            if self.got == expected:
                getattr(self, send)(b"QUIT")
                finish("OK %d" % len(self.got))
            else:
                finish("BAD replies differ")

    proto = type("Checker", (base,), {"connectionMade": connectionMade, receive: received,
                                      "got": None, "MAX_LENGTH": 100000})

    class F(ClientFactory):
        def buildProtocol(self, addr):
            p = proto()
            p.got = []
            return p

        def clientConnectionFailed(self, connector, reason):
            finish("BAD connect " + str(reason.value))

    reactor.connectTCP("127.0.0.1", port, F())


def main():
    mode, kind = sys.argv[1], sys.argv[2]
    if mode == "server":
        server(kind)
    else:
        client(kind, int(sys.argv[3]))
    reactor.callLater(30, finish, "BAD timeout")
    reactor.run()
    sys.exit(0 if result and result[0].startswith("OK") else 1)


if __name__ == "__main__":
    main()
