#!/usr/bin/python3
"""The real Twisted as a peer for twisted-cpp's interop tests.

  twisted_peer.py server echo            echo; half-close aware (echoes, then closes)
  twisted_peer.py server sink            reads until the peer half-closes, checks the
                                         bytes against the pattern, answers
                                         "OK <n>" or "BAD <n> <offset>", closes
  twisted_peer.py server source N        sends N pattern bytes, then closes
  twisted_peer.py client echo PORT N     sends N pattern bytes, half-closes, expects
                                         them back byte for byte, then EOF

  twisted_peer.py --unix PATH server fds N   receives N descriptors (pipes' read ends),
                                         answers each with what it reads from it
                                         ("<text>\n"), then closes
  twisted_peer.py --unix PATH client sendfds N   sends N pipes' read ends, each with
                                         one byte, each pipe holding "pipe <i>"; then
                                         waits for the peer to close

  --tls DIR [--mtls] [--alpn P1,P2] (first): the same over TLS
  (pyOpenSSL), with DIR's key.pem and cert.pem (a server's, or a client's
  under --mtls) and ca.pem (what a client verifies "localhost" against, or
  a server requires client certificates from under --mtls). Over TLS a
  "client echo" does not half-close (Twisted's TLS cannot): it closes once
  the echo is complete. Each side prints "TLS <version> ALPN <protocol|none>
  PEER <common name|none>" when its handshake completes.

  --unix PATH (first): the same over a UNIX socket at PATH: a server listens
  with wantPID (a lock file beside it) and prints "PORT 0"; a client
  connects with checkPID (it refuses a path no live server locks) and
  ignores PORT.

A server prints "PORT <n>" on its first line. Every mode prints one result
line ("OK ..." or "BAD ...") and exits 0 only on success; all run under a
60 s deadline.
"""
import os
import sys

from twisted.internet import error, protocol, reactor
from twisted.internet.interfaces import (
    IFileDescriptorReceiver,
    IHalfCloseableProtocol,
    IHandshakeListener,
)
from zope.interface import implementer

BLOCK = bytes((i * 7919 + 13) % 256 for i in range(65521))  # a prime length


def pattern(offset, length):
    """Bytes [offset, offset + length) of the endless pattern."""
    out = bytearray()
    while length > 0:
        start = offset % len(BLOCK)
        piece = BLOCK[start:start + length]
        out += piece
        offset += len(piece)
        length -= len(piece)
    return bytes(out)


class Checker:
    """Compares a stream with the pattern as it arrives."""

    def __init__(self):
        self.count = 0
        self.bad_at = None

    def feed(self, data):
        if self.bad_at is None and data != pattern(self.count, len(data)):
            expected = pattern(self.count, len(data))
            for i, (a, b) in enumerate(zip(data, expected)):
                if a != b:
                    self.bad_at = self.count + i
                    break
        self.count += len(data)

    def verdict(self, expected=None):
        if self.bad_at is not None:
            return "BAD %d %d" % (self.count, self.bad_at)
        if expected is not None and self.count != expected:
            return "BAD %d length" % self.count
        return "OK %d" % self.count


def finish(line):
    print(line, flush=True)
    result[0] = 0 if line.startswith("OK") else 1
    if reactor.running:
        reactor.stop()


result = [1]


@implementer(IHalfCloseableProtocol)
class Echo(protocol.Protocol):
    def dataReceived(self, data):
        self.transport.write(data)

    def readConnectionLost(self):
        self.transport.loseConnection()

    def writeConnectionLost(self):
        pass

    def connectionLost(self, reason):
        finish("OK echo")


@implementer(IHalfCloseableProtocol)
class Sink(protocol.Protocol):
    def connectionMade(self):
        self.checker = Checker()

    def dataReceived(self, data):
        self.checker.feed(data)

    def readConnectionLost(self):
        self.verdict = self.checker.verdict()
        self.transport.write(self.verdict.encode() + b"\n")
        self.transport.loseConnection()

    def writeConnectionLost(self):
        pass

    def connectionLost(self, reason):
        finish(getattr(self, "verdict", "BAD no half-close"))


class PatternProducer(protocol.Protocol):
    """Streams `total` pattern bytes as a pull producer, then calls done()."""

    def __init__(self, total):
        self.total = total
        self.sent = 0

    def connectionMade(self):
        self.transport.registerProducer(self, False)

    def resumeProducing(self):
        if self.sent >= self.total:
            self.transport.unregisterProducer()
            self.done()
            return
        n = min(256 * 1024, self.total - self.sent)
        self.transport.write(pattern(self.sent, n))
        self.sent += n

    def stopProducing(self):
        pass


class Source(PatternProducer):
    """Sends N pattern bytes, then closes."""

    def done(self):
        self.transport.loseConnection()

    def connectionLost(self, reason):
        ok = self.sent == self.total and reason.check(error.ConnectionDone)
        finish("OK %d" % self.sent if ok else "BAD %d %s" % (self.sent, reason.value))


@implementer(IHalfCloseableProtocol)
class EchoClient(PatternProducer):
    """Sends N pattern bytes, half-closes, checks the echo."""

    def __init__(self, total):
        PatternProducer.__init__(self, total)
        self.checker = Checker()

    def done(self):
        self.transport.loseWriteConnection()

    def dataReceived(self, data):
        self.checker.feed(data)

    def readConnectionLost(self):
        self.transport.loseConnection()

    def writeConnectionLost(self):
        pass

    def connectionLost(self, reason):
        finish(self.checker.verdict(self.total))


@implementer(IFileDescriptorReceiver)
class DescriptorReader(protocol.Protocol):
    """Reads what each received descriptor holds and sends it back."""

    def __init__(self, total):
        self.total = total
        self.count = 0

    def fileDescriptorReceived(self, fd):
        text = os.read(fd, 100)
        os.close(fd)
        self.transport.write(text + b"\n")
        self.count += 1
        if self.count == self.total:
            self.transport.loseConnection()

    def connectionLost(self, reason):
        finish("OK %d" % self.count if self.count == self.total else "BAD %d" % self.count)


class DescriptorSender(protocol.Protocol):
    """Sends `total` pipes' read ends, each holding "pipe <i>"."""

    def __init__(self, total):
        self.total = total
        self.sent = []

    def connectionMade(self):
        for i in range(self.total):
            r, w = os.pipe()
            os.write(w, b"pipe %d" % i)
            os.close(w)
            self.transport.sendFileDescriptor(r)
            self.transport.write(b"x")
            self.sent.append(r)  # Twisted sends our own: closed once the peer is done

    def connectionLost(self, reason):
        for r in self.sent:
            os.close(r)
        finish("OK sent %d" % self.total)


@implementer(IHandshakeListener)
class TLSReport:
    """Prints what the handshake negotiated (mixed into a protocol)."""

    def handshakeCompleted(self):
        version = self.transport.getHandle().get_protocol_version_name()
        alpn = self.transport.negotiatedProtocol
        peer = self.transport.getPeerCertificate()
        print(
            "TLS %s ALPN %s PEER %s"
            % (
                version,
                alpn.decode() if alpn else "none",
                peer.get_subject().CN if peer is not None else "none",
            ),
            flush=True,
        )


class TLSEchoClient(EchoClient):
    """EchoClient over TLS: closes once the echo is complete."""

    def done(self):
        pass

    def dataReceived(self, data):
        EchoClient.dataReceived(self, data)
        if self.checker.count >= self.total:
            self.transport.loseConnection()


def reporting(cls):
    return implementer(IHandshakeListener)(type("TLS" + cls.__name__, (TLSReport, cls), {}))


def tls_options(spec, server):
    """The pyOpenSSL context factory for --tls DIR and its companions."""
    from twisted.internet import ssl

    def read(name):
        with open(os.path.join(spec["dir"], name), "rb") as f:
            return f.read()

    ca = ssl.Certificate.loadPEM(read("ca.pem"))
    mine = ssl.PrivateCertificate.loadPEM(read("key.pem") + read("cert.pem"))
    alpn = [p.encode() for p in spec["alpn"]] or None
    extra = {}
    if server:
        if spec["mtls"]:
            extra["trustRoot"] = ca
        return ssl.CertificateOptions(
            privateKey=mine.privateKey.original,
            certificate=mine.original,
            acceptableProtocols=alpn,
            **extra
        )
    return ssl.optionsForClientTLS(
        "localhost",
        trustRoot=ca,
        clientCertificate=mine if spec["mtls"] else None,
        acceptableProtocols=alpn,
        extraCertificateOptions=extra,
    )


class OneShotClientFactory(protocol.ClientFactory):
    def __init__(self, proto):
        self.proto = proto

    def buildProtocol(self, addr):
        return self.proto

    def clientConnectionFailed(self, connector, reason):
        finish("BAD connect %s" % reason.value)


def main(argv):
    unix = None
    if len(argv) > 2 and argv[1] == "--unix":
        unix = argv[2]
        argv = argv[:1] + argv[3:]
    tls = None
    while len(argv) > 2 and argv[1] in ("--tls", "--mtls", "--alpn"):
        tls = tls or {"dir": None, "mtls": False, "alpn": []}
        flag = argv[1]
        if flag == "--mtls":
            tls["mtls"] = True
            argv = argv[:1] + argv[2:]
        else:
            value = argv[2]
            argv = argv[:1] + argv[3:]
            if flag == "--tls":
                tls["dir"] = value
            else:
                tls["alpn"] = value.split(",")
    role, mode = argv[1], argv[2]
    if role == "server":
        wrap = reporting if tls else (lambda cls: cls)
        if mode == "echo":
            factory = protocol.Factory.forProtocol(wrap(Echo))
        elif mode == "sink":
            factory = protocol.Factory.forProtocol(Sink)
        elif mode == "source":
            total = int(argv[3])
            factory = protocol.Factory.forProtocol(lambda: wrap(Source)(total))
        elif mode == "fds":
            total = int(argv[3])
            factory = protocol.Factory.forProtocol(lambda: DescriptorReader(total))
        else:
            raise SystemExit("unknown server mode " + mode)
        if tls:
            port = reactor.listenSSL(0, factory, tls_options(tls, True), interface="127.0.0.1")
            print("PORT %d" % port.getHost().port, flush=True)
        elif unix:
            reactor.listenUNIX(unix, factory, wantPID=True)
            print("PORT 0", flush=True)
        else:
            port = reactor.listenTCP(0, factory, interface="127.0.0.1")
            print("PORT %d" % port.getHost().port, flush=True)
    elif role == "client" and mode == "echo":
        port, total = int(argv[3]), int(argv[4])
        client = OneShotClientFactory(reporting(TLSEchoClient)(total) if tls else EchoClient(total))
        if tls:
            reactor.connectSSL("127.0.0.1", port, client, tls_options(tls, False))
        elif unix:
            reactor.connectUNIX(unix, client, checkPID=True)
        else:
            reactor.connectTCP("127.0.0.1", port, client)
    elif role == "client" and mode == "sendfds" and unix:
        client = OneShotClientFactory(DescriptorSender(int(argv[3])))
        reactor.connectUNIX(unix, client)
    else:
        raise SystemExit("usage: twisted_peer.py server|client MODE ...")
    reactor.callLater(60, finish, "BAD deadline")
    reactor.run()
    return result[0]


if __name__ == "__main__":
    sys.exit(main(sys.argv))
