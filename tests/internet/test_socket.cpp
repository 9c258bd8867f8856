// Adopted sockets (IReactorSocket) end to end, on every backend: a
// listening TCP, IPv6 or UNIX socket made by the test served by
// adoptStreamPort, a connected one by adoptStreamConnection, a UDP one by
// adoptDatagramPort; the caller's descriptor left open and still usable
// after the port stops; every wrong descriptor refused with a typed error
// before anything is built. Covers twisted/internet/test/test_socket.py and
// the adoption parts of test_tcp.py, test_unix.py and test_udp.py (see
// docs/conformance.md).
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "datagram_helpers.hpp"
#include "iterate_until.hpp"
#include "process_helpers.hpp"
#include "reactor_test.hpp"
#include "tcp_helpers.hpp"
#include "temp_dir.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/reactor_socket.hpp"
#include "twisted/internet/reactor_unix.hpp"
#include "twisted/testing/deferred.hpp"

namespace twisted::test {
namespace {

// A socket of `family` and `type` bound to the loopback (or `path`), port 0,
// listening if it is a stream; blocking, as most programs leave theirs.
Fd boundSocket(int family, int type, const std::string& path = {}) {
  Fd fd(::socket(family, type | SOCK_CLOEXEC, 0));
  EXPECT_GE(fd.get(), 0);
  Address at = family == AF_INET    ? Address(IPv4Address{Transport::TCP, "127.0.0.1", 0})
               : family == AF_INET6 ? Address(IPv6Address{Transport::TCP, "::1", 0})
                                    : Address(UNIXAddress{path});
  SocketAddress sa = toSocketAddress(at);
  EXPECT_EQ(::bind(fd.get(), sa.get(), sa.length), 0) << std::strerror(errno);
  if (type == SOCK_STREAM) {
    EXPECT_EQ(::listen(fd.get(), 16), 0);
  }
  return fd;
}

Address localOf(const Fd& fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  EXPECT_EQ(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len), 0);
  return fromSocketAddress(reinterpret_cast<sockaddr*>(&ss), len);
}

// A blocking client socket connected to `to`.
Fd connectedTo(const Address& to) {
  int family = std::holds_alternative<IPv4Address>(to)   ? AF_INET
               : std::holds_alternative<IPv6Address>(to) ? AF_INET6
                                                         : AF_UNIX;
  Fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  SocketAddress sa = toSocketAddress(to);
  EXPECT_EQ(::connect(fd.get(), sa.get(), sa.length), 0) << std::strerror(errno);
  return fd;
}

bool isOpen(int fd) {
  return ::fcntl(fd, F_GETFD) >= 0;
}

// Waits (bounded, generously) until `fd` is readable: a connection to
// accept, a datagram to read. Never what a test decides by.
bool readable(const Fd& fd) {
  pollfd p{fd.get(), POLLIN, 0};
  return ::poll(&p, 1, 60'000) == 1;
}

class ReactorSocketTest : public ReactorTest {
 protected:
  TemporaryDirectory tmp{"twisted-adopt"};
  std::shared_ptr<RecordingFactory> factory = std::make_shared<RecordingFactory>();

  // Every protocol the factory builds echoes.
  void echo() {
    factory->setup = [](ScriptedProtocol& p) {
      p.onData = [](ScriptedProtocol& self, std::string_view bytes) {
        self.transport->write(bytes);
      };
    };
  }
  // Sends `text` on the blocking `client` and turns the reactor until it
  // comes back.
  void expectEcho(const Fd& client, const std::string& text) {
    sendAll(client.get(), text);
    std::string back;
    ASSERT_TRUE(iterateUntil(
        *reactor,
        [&] {
          char buf[256];
          ssize_t n = ::recv(client.get(), buf, sizeof buf, MSG_DONTWAIT);
          if (n > 0) back.append(buf, static_cast<std::size_t>(n));
          return back.size() >= text.size();
        },
        "the echo"));
    EXPECT_EQ(back, text);
  }
  void closeAll() {
    for (auto& p : factory->protocols) {
      if (!p->closed) p->transport->loseConnection();
    }
    ASSERT_TRUE(iterateUntil(
        *reactor,
        [&] {
          for (auto& p : factory->protocols) {
            if (!p->closed) return false;
          }
          return true;
        },
        "every connection lost"));
  }
  // test_stopOnlyCloses: the caller's socket is not shut down: accept on
  // it is EAGAIN, not EINVAL.
  static void expectStillListening(const Fd& fd) {
    int flags = ::fcntl(fd.get(), F_GETFL);
    ASSERT_GE(flags, 0);
    EXPECT_NE(flags & O_NONBLOCK, 0) << "adopting makes the socket non-blocking";
    EXPECT_LT(::accept(fd.get(), nullptr, nullptr), 0);
    EXPECT_EQ(errno, EAGAIN);
  }
};

// AdoptStreamPortErrorsTestsBuilder.test_stopOnlyCloses, and the success
// cases test_tcp.py runs on adopted ports (TCPFDPortTestsBuilder): served
// as listenTCP would, for IPv4 and IPv6.
TEST_P(ReactorSocketTest, AnAdoptedTCPPortServesAndStoppingLeavesTheCallersSocketListening) {
  echo();
  for (int family : {AF_INET, AF_INET6}) {
    SCOPED_TRACE(family == AF_INET ? "AF_INET" : "AF_INET6");
    Fd socket = boundSocket(family, SOCK_STREAM);
    auto port = reactor->adoptStreamPort(socket.get(), family, factory);
    EXPECT_EQ(port->getHost(), localOf(socket));
    Fd client = connectedTo(localOf(socket));
    expectEcho(client, "adopted");
    EXPECT_EQ(factory->addresses.back(), localOf(client));
    closeAll();
    // Stopping closes the duplicate (and the EMFILE reserve the last port
    // lets go of), nothing else: the caller's socket stays open.
    int beforeStop = countOpenFds();
    stopAndWait(*reactor, port);
    EXPECT_EQ(countOpenFds(), beforeStop - 2) << "the duplicate and the reserve";
    EXPECT_TRUE(isOpen(socket.get()));
    expectStillListening(socket);
    // The caller's socket still takes connections.
    Fd late = connectedTo(localOf(socket));
    ASSERT_TRUE(readable(socket));
    Fd accepted(::accept4(socket.get(), nullptr, nullptr, SOCK_CLOEXEC));
    EXPECT_GE(accepted.get(), 0);
  }
  EXPECT_EQ(factory->started, 2);
  EXPECT_EQ(factory->stopped, 2);
}

// UNIXFDPortTestsBuilder: a UNIX port adopted; its file is not the port's,
// so it is still there after the stop (a listenUNIX port removes its own).
TEST_P(ReactorSocketTest, AnAdoptedUNIXPortServesAndLeavesTheFileItDidNotMake) {
  echo();
  std::string path = tmp.path() + "/s";
  Fd socket = boundSocket(AF_UNIX, SOCK_STREAM, path);
  auto port = reactor->adoptStreamPort(socket.get(), AF_UNIX, factory);
  EXPECT_EQ(port->getHost(), Address(UNIXAddress{path}));
  Fd client = connectedTo(UNIXAddress{path});
  expectEcho(client, "over a UNIX socket");
  closeAll();
  stopAndWait(*reactor, port);
  EXPECT_TRUE(std::filesystem::exists(path));
  expectStillListening(socket);
}

// Beyond Twisted (which would bind port "None"): an adopted port has
// nothing to bind again once stopped, and says so.
TEST_P(ReactorSocketTest, AnAdoptedPortCannotListenAgainOnceStopped) {
  Fd socket = boundSocket(AF_INET, SOCK_STREAM);
  auto port = reactor->adoptStreamPort(socket.get(), AF_INET, factory);
  stopAndWait(*reactor, port);
  auto stream = std::dynamic_pointer_cast<IListeningPort>(port);
  try {
    stream->startListening();
    ADD_FAILURE() << "no CannotListenError";
  } catch (const error::CannotListenError& e) {
    EXPECT_NE(std::string(e.what()).find("adopted"), std::string::npos) << e.what();
  }
  EXPECT_EQ(factory->started, 1);
}

// AdoptStreamPortErrorsTestsBuilder.test_invalidDescriptor and the same
// for the other two calls: a closed descriptor is EBADF, and nothing is
// started.
TEST_P(ReactorSocketTest, AClosedDescriptorIsCannotAdoptErrorWithEBADF) {
  int closed = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)).get();
  auto expectEBADF = [](auto call) {
    try {
      call();
      ADD_FAILURE() << "no CannotAdoptError";
    } catch (const error::CannotAdoptError& e) {
      EXPECT_EQ(e.socketError(), EBADF) << e.what();
    }
  };
  auto protocol = std::make_shared<DatagramRecorder>();
  expectEBADF([&] { reactor->adoptStreamPort(closed, AF_INET, factory); });
  expectEBADF([&] { reactor->adoptStreamConnection(closed, AF_INET, factory); });
  expectEBADF([&] { reactor->adoptDatagramPort(closed, AF_INET, protocol); });
  EXPECT_EQ(factory->started, 0);
  EXPECT_EQ(protocol->started, 0);
}

// AdoptStreamPortErrorsTestsBuilder.test_invalidAddressFamily,
// AdoptStreamConnectionErrorsTestsBuilder.test_invalidAddressFamily,
// AdoptDatagramPortErrorsTestsBuilder.test_invalidAddressFamily: an
// arbitrary family is UnsupportedAddressFamily; so is AF_UNIX for a
// datagram port, as in Twisted.
TEST_P(ReactorSocketTest, AFamilyTheCallDoesNotServeIsUnsupportedAddressFamily) {
  constexpr int kArbitrary = (1 << 16) + 7;
  Fd listening = boundSocket(AF_INET, SOCK_STREAM);
  Fd datagram = boundSocket(AF_INET, SOCK_DGRAM);
  auto protocol = std::make_shared<DatagramRecorder>();
  EXPECT_THROW(reactor->adoptStreamPort(listening.get(), kArbitrary, factory),
               error::UnsupportedAddressFamily);
  EXPECT_THROW(reactor->adoptStreamConnection(listening.get(), kArbitrary, factory),
               error::UnsupportedAddressFamily);
  EXPECT_THROW(reactor->adoptDatagramPort(datagram.get(), kArbitrary, protocol),
               error::UnsupportedAddressFamily);
  auto [a, b] = socketPair();
  EXPECT_THROW(reactor->adoptDatagramPort(a.get(), AF_UNIX, protocol),
               error::UnsupportedAddressFamily);
  EXPECT_EQ(factory->started, 0);
  EXPECT_EQ(protocol->started, 0);
}

// Beyond Twisted, which trusts the caller: a descriptor that is not what
// the call says is refused at the call, naming why, and nothing leaks.
TEST_P(ReactorSocketTest, ADescriptorOfTheWrongKindIsRefusedSayingWhy) {
  Fd listening = boundSocket(AF_INET, SOCK_STREAM);
  Fd datagram = boundSocket(AF_INET, SOCK_DGRAM);
  Fd unbound(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  auto [readEnd, writeEnd] = pipePair();
  auto protocol = std::make_shared<DatagramRecorder>();
  int fds = countOpenFds();
  auto expectRefused = [](auto call, int err, const char* says) {
    try {
      call();
      ADD_FAILURE() << "no CannotAdoptError";
    } catch (const error::CannotAdoptError& e) {
      EXPECT_EQ(e.socketError(), err) << e.what();
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  expectRefused([&] { reactor->adoptStreamPort(listening.get(), AF_INET6, factory); }, EINVAL,
                "AF_INET socket, not AF_INET6");
  expectRefused([&] { reactor->adoptStreamPort(datagram.get(), AF_INET, factory); }, EINVAL,
                "datagram socket");
  expectRefused([&] { reactor->adoptStreamPort(unbound.get(), AF_INET, factory); }, EINVAL,
                "not listening");
  expectRefused([&] { reactor->adoptStreamConnection(listening.get(), AF_INET, factory); }, EINVAL,
                "listening socket");
  expectRefused([&] { reactor->adoptDatagramPort(listening.get(), AF_INET, protocol); }, EINVAL,
                "stream socket");
  expectRefused([&] { reactor->adoptStreamPort(readEnd.get(), AF_INET, factory); }, ENOTSOCK,
                "not a socket");
  EXPECT_EQ(countOpenFds(), fds);
  EXPECT_EQ(factory->started, 0);
  EXPECT_TRUE(factory->protocols.empty());
}

// AdoptStreamConnectionTestsBuilder (test_tcp.py): a connection accepted
// elsewhere, served as if accepted here; the factory gets the peer's
// address and is not started (it is the caller's).
TEST_P(ReactorSocketTest, AnAdoptedTCPConnectionIsServedAndTheCallerMayCloseItsDescriptor) {
  echo();
  Fd listening = boundSocket(AF_INET, SOCK_STREAM);
  Fd client = connectedTo(localOf(listening));
  Fd accepted(::accept4(listening.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_GE(accepted.get(), 0);
  reactor->adoptStreamConnection(accepted.get(), AF_INET, factory);
  accepted.reset();  // the reactor has its own
  ASSERT_EQ(factory->protocols.size(), 1u);
  EXPECT_TRUE(factory->protocols[0]->made);
  EXPECT_EQ(factory->addresses[0], localOf(client));
  EXPECT_EQ(factory->protocols[0]->transport->getPeer(), localOf(client));
  EXPECT_EQ(factory->started, 0);
  expectEcho(client, "adopted connection");
  client.reset();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return factory->protocols[0]->closed; }, "connectionLost"));
  EXPECT_TRUE(factory->protocols[0]->closedReason->check<error::ConnectionDone>());
  EXPECT_EQ(factory->protocols[0]->lostCalls, 1);
}

// UNIXAdoptStreamConnectionTestsBuilder.test_buildProtocolReturnsNone:
// nothing is served and the duplicate is closed; then the same socket pair
// adopted by a factory that builds a protocol carries bytes both ways.
TEST_P(ReactorSocketTest, AnAdoptedUNIXConnectionIsRefusedByANullProtocolOrServed) {
  auto [mine, theirs] = socketPair();
  factory->refuse = true;
  int fds = countOpenFds();
  reactor->adoptStreamConnection(mine.get(), AF_UNIX, factory);
  EXPECT_EQ(countOpenFds(), fds) << "the duplicate is closed";
  EXPECT_TRUE(isOpen(mine.get()));
  ASSERT_EQ(factory->addresses.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<UNIXAddress>(factory->addresses[0]));

  factory->refuse = false;
  echo();
  reactor->adoptStreamConnection(mine.get(), AF_UNIX, factory);
  ASSERT_EQ(factory->protocols.size(), 1u);
  EXPECT_EQ(factory->protocols[0]->transport->getPeer(), Address(UNIXAddress{}));
  ::fcntl(theirs.get(), F_SETFL, ::fcntl(theirs.get(), F_GETFL) & ~O_NONBLOCK);
  expectEcho(theirs, "through a socket pair");
  closeAll();
}

// Beyond Twisted: a connectionMade that throws reaches the caller, and the
// connection is aborted, reported once.
TEST_P(ReactorSocketTest, AThrowingConnectionMadeReachesTheCallerAndAbortsTheConnection) {
  factory->setup = [](ScriptedProtocol& p) {
    p.onMade = [](ScriptedProtocol&) { throw std::runtime_error("no thanks"); };
  };
  auto [mine, theirs] = socketPair();
  EXPECT_THROW(reactor->adoptStreamConnection(mine.get(), AF_UNIX, factory), std::runtime_error);
  ASSERT_EQ(factory->protocols.size(), 1u);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return factory->protocols[0]->closed; }, "connectionLost"));
  EXPECT_TRUE(factory->protocols[0]->closedReason->check<error::ConnectionAborted>());
  EXPECT_EQ(factory->protocols[0]->lostCalls, 1);
}

// AdoptDatagramPortErrorsTestsBuilder.test_stopOnlyCloses, and the UDP
// port tests run on an adopted socket (UDPFDServerTestsBuilder): an
// adopted UDP socket receives and answers as listenUDP's would, and is a
// multicast transport too.
TEST_P(ReactorSocketTest, AnAdoptedUDPPortReceivesAndAnswersAndStoppingLeavesTheCallersSocket) {
  Fd socket = boundSocket(AF_INET, SOCK_DGRAM);
  Address at = localOf(socket);
  auto protocol = std::make_shared<DatagramRecorder>();
  protocol->onDatagram = [](DatagramRecorder& self, std::string_view d, const Address& from) {
    self.transport->write(d, from);
  };
  auto port = reactor->adoptDatagramPort(socket.get(), AF_INET, protocol);
  EXPECT_EQ(protocol->started, 1);
  EXPECT_EQ(port->getHost(), Address(IPv4Address{Transport::UDP, "127.0.0.1",
                                                 static_cast<std::uint16_t>(portOf(at))}));
  EXPECT_NE(std::dynamic_pointer_cast<IMulticastTransport>(port), nullptr);
  Fd sender = boundSocket(AF_INET, SOCK_DGRAM);
  SocketAddress to = toSocketAddress(at);
  ASSERT_EQ(::sendto(sender.get(), "ping", 4, 0, to.get(), to.length), 4);
  char buf[16];
  std::string back;
  ASSERT_TRUE(iterateUntil(
      *reactor,
      [&] {
        ssize_t n = ::recv(sender.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) back.assign(buf, static_cast<std::size_t>(n));
        return !back.empty();
      },
      "the answer"));
  EXPECT_EQ(back, "ping");
  ASSERT_EQ(protocol->packets.size(), 1u);
  EXPECT_EQ(portOf(protocol->packets[0].second), portOf(localOf(sender)));
  stopAndWait(*reactor, port);
  EXPECT_EQ(protocol->stopped, 1);
  EXPECT_LT(::recv(socket.get(), buf, 1, MSG_DONTWAIT), 0);
  EXPECT_EQ(errno, EAGAIN) << "the caller's socket is not shut down";
  // And it still receives.
  ASSERT_EQ(::sendto(sender.get(), "again", 5, 0, to.get(), to.length), 5);
  ASSERT_TRUE(readable(socket));
  EXPECT_EQ(::recv(socket.get(), buf, sizeof buf, MSG_DONTWAIT), 5);
}

// ---- between processes ------------------------------------------------------------

// A parent hands a listening socket to a child over a UNIX socket
// (sendFileDescriptor); the child (adopting_child) adopts it and serves;
// the parent, which has closed its own copy, is answered by the child.
TEST_P(ReactorSocketTest, AChildServesAListeningSocketItsParentSentIt) {
  Fd listening = boundSocket(AF_INET, SOCK_STREAM);
  Address at = localOf(listening);
  std::string path = tmp.path() + "/handover";
  auto parent = std::make_shared<RecordingFactory>();
  std::string said;
  parent->setup = [&](ScriptedProtocol& p) {
    p.onMade = [&](ScriptedProtocol& self) {
      dynamic_cast<IUNIXTransport&>(*self.transport).sendFileDescriptor(listening.get());
      self.transport->write("x");  // a descriptor travels with a byte
    };
    p.onData = [&](ScriptedProtocol&, std::string_view bytes) { said.append(bytes); };
  };
  auto port = reactor->listenUNIX(path, parent);
  BackgroundProgram child({ADOPTING_CHILD_PATH, path});
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return said.find('\n') != std::string::npos; }, "the child serving"));
  EXPECT_EQ(said, "serving " + std::to_string(portOf(at)) + "\n");
  listening.reset();  // from here only the child has the socket
  Fd client = connectedTo(at);
  sendAll(client.get(), "served by the child");
  EXPECT_EQ(readExactly(client.get(), 19), "served by the child");
  // The parent ends the handover connection: the child stops and exits 0.
  parent->protocols.at(0)->transport->loseConnection();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return parent->protocols.at(0)->closed; }, "the handover closed"));
  EXPECT_EQ(child.stop(0), 0);
  stopAndWait(*reactor, port);
}

// ---- AdoptedStreamServerEndpoint --------------------------------------------------

// AdoptedStreamServerEndpointTests.test_endpointListenSuccess,
// test_descriptionNonBlocking, test_descriptorClosed, test_singleUse: the
// endpoint adopts its descriptor (made non-blocking), closes it, serves,
// and refuses a second listen with AlreadyListened.
TEST_P(ReactorSocketTest, AnAdoptedEndpointListensOnceAndClosesItsDescriptor) {
  echo();
  Fd socket = boundSocket(AF_INET, SOCK_STREAM);
  Address at = localOf(socket);
  // A second descriptor for the same open file description, to look at
  // its flags once the endpoint has closed its own.
  Fd watch(::fcntl(socket.get(), F_DUPFD_CLOEXEC, 0));
  AdoptedStreamServerEndpoint endpoint(*reactor, socket.get(), AF_INET);
  std::shared_ptr<IListeningPort> port = testing::successResultOf(endpoint.listen(factory));
  ASSERT_TRUE(port);
  EXPECT_FALSE(isOpen(socket.get())) << "the endpoint closes the descriptor it adopted";
  socket.release();
  EXPECT_NE(::fcntl(watch.get(), F_GETFL) & O_NONBLOCK, 0);
  EXPECT_EQ(port->getHost(), at);
  Fd client = connectedTo(at);
  expectEcho(client, "through the endpoint");
  EXPECT_TRUE(testing::failureResultOf(endpoint.listen(factory)).check<error::AlreadyListened>());
  closeAll();
  stopAndWait(*reactor, port);
}

// AdoptedStreamServerEndpointTests.test_endpointListenFailure: a
// descriptor that cannot be adopted fails the Deferred, and is left open.
TEST_P(ReactorSocketTest, AnAdoptedEndpointThatCannotAdoptFailsItsDeferred) {
  Fd datagram = boundSocket(AF_INET, SOCK_DGRAM);
  AdoptedStreamServerEndpoint endpoint(*reactor, datagram.get(), AF_INET);
  EXPECT_TRUE(testing::failureResultOf(endpoint.listen(factory)).check<error::CannotAdoptError>());
  EXPECT_TRUE(isOpen(datagram.get()));
  EXPECT_EQ(factory->started, 0);
}

TWISTED_ALL_BACKENDS(ReactorSocketTest);

}  // namespace
}  // namespace twisted::test
