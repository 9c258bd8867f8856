#!/usr/bin/python3
"""Twisted's TLS echo server (the real one, Debian's python3-twisted 22.4 on
pyOpenSSL), on the epoll reactor, with TCP_NODELAY as the other servers.
  server_twisted.py PORT CERT_PEM KEY_PEM [--no-tickets]
(127.0.0.1, backlog 1024; TLS 1.2 minimum; SIGTERM exits 0)

Sessions, in Twisted 22.4's CertificateOptions (_sslverify.py):
- enableSessions: True sets SESS_CACHE_SERVER (OpenSSL's default: a server
  session cache, so TLS 1.2 session IDs resume); False, Twisted's default,
  sets SESS_CACHE_OFF.
- enableSessionTickets: False, Twisted's default, sets OP_NO_TICKET; True
  leaves it clear, so TLS 1.2 tickets and TLS 1.3 stateless tickets are used.
By default this server turns both on, OpenSSL's own default behaviour, so a
client can resume as with the other peers. --no-tickets leaves both at
Twisted's defaults. Twisted has no num_tickets setting, so a TLS 1.3 server
then still sends OpenSSL's two post-handshake tickets, stateful ones (made
so by OP_NO_TICKET) naming sessions that the disabled cache never stored:
every handshake is still a full one, which is what the flag is for, but the
tickets are written and sent, unlike the other peers' --no-tickets.
"""
import re
import sys

from twisted.internet import epollreactor

epollreactor.install()

from twisted.internet import protocol, reactor, ssl  # noqa: E402


class Echo(protocol.Protocol):
    def connectionMade(self):
        # The TLS transport passes this on to the TCP connection below it.
        self.transport.setTcpNoDelay(True)

    def dataReceived(self, data):
        self.transport.write(data)


def certificateOptions(certPath, keyPath, sessions):
    # CERT_PEM holds the server's certificate and then the rest of its chain;
    # Twisted takes them apart (as its own endpoint parser does).
    with open(certPath, "rb") as f:
        pems = re.findall(
            rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", f.read(), re.DOTALL
        )
    with open(keyPath, "rb") as f:
        server = ssl.PrivateCertificate.loadPEM(pems[0] + b"\n" + f.read())
    return ssl.CertificateOptions(
        privateKey=server.privateKey.original,
        certificate=server.original,
        extraCertChain=[ssl.Certificate.loadPEM(pem).original for pem in pems[1:]],
        raiseMinimumTo=ssl.TLSVersion.TLSv1_2,
        enableSessions=sessions,
        enableSessionTickets=sessions,
    )


if len(sys.argv) not in (4, 5) or sys.argv[4:] not in ([], ["--no-tickets"]):
    sys.exit("usage: server_twisted.py PORT CERT_PEM KEY_PEM [--no-tickets]")
options = certificateOptions(sys.argv[2], sys.argv[3], sessions=len(sys.argv) == 4)
reactor.listenSSL(int(sys.argv[1]), protocol.Factory.forProtocol(Echo), options, backlog=1024,
                  interface="127.0.0.1")
print("READY", flush=True)
reactor.run()
