#!/usr/bin/python3
"""Twisted's echo server (the real one, Debian's python3-twisted), on the
epoll reactor, with TCP_NODELAY as the other servers.
  server_twisted.py PORT      (127.0.0.1, backlog 1024; SIGTERM exits 0)"""
import sys

from twisted.internet import epollreactor

epollreactor.install()

from twisted.internet import protocol, reactor  # noqa: E402


class Echo(protocol.Protocol):
    def connectionMade(self):
        self.transport.setTcpNoDelay(True)

    def dataReceived(self, data):
        self.transport.write(data)


reactor.listenTCP(int(sys.argv[1]), protocol.Factory.forProtocol(Echo), backlog=1024,
                  interface="127.0.0.1")
print("READY", flush=True)
reactor.run()
