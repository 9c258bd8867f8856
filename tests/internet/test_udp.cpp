// UDP ports end to end, on every backend: binding and addresses, the
// protocol's start and stop, writes and their errors, connected mode,
// broadcast, multicast on the loopback interface, truncation, batches.
// Covers twisted/internet/test/test_udp.py and twisted/test/test_udp.py
// (see docs/conformance.md).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "datagram_helpers.hpp"
#include "internet/datagram/datagram_port.hpp"
#include "iterate_until.hpp"
#include "process_helpers.hpp"
#include "reactor_test.hpp"
#include "twisted/internet/reactor_udp.hpp"
#include "twisted/logger/log_event.hpp"

namespace twisted::test {
namespace {

class UDPTest : public ReactorTest {
 protected:
  std::shared_ptr<DatagramRecorder> server = std::make_shared<DatagramRecorder>();
  std::shared_ptr<DatagramRecorder> client = std::make_shared<DatagramRecorder>();

  std::shared_ptr<IUDPTransport> listen(const std::shared_ptr<DatagramRecorder>& p,
                                        std::string interface = "127.0.0.1",
                                        std::size_t maxPacketSize = 8192) {
    return reactor->listenUDP(0, p, std::move(interface), maxPacketSize);
  }
  // Stops `port` and turns the reactor until its Deferred has fired.
  void stop(const std::shared_ptr<IListeningPort>& port) { stopAndWait(*reactor, port); }
  void waitFor(const std::shared_ptr<DatagramRecorder>& p, std::size_t n, const char* what) {
    ASSERT_TRUE(iterateUntil(
        *reactor, [&] { return p->packets.size() >= n; }, what));
  }
  static int deadPort() { return freePort(SOCK_DGRAM); }
  // Grows `port`'s receive batch (it starts at one datagram) by sending it
  // a burst, then forgets what the burst delivered.
  void growBatch(const std::shared_ptr<IUDPTransport>& port, DatagramRecorder& p) {
    for (int i = 0; i < 64; ++i) port->write("warm-up", port->getHost());
    ASSERT_TRUE(iterateUntil(
        *reactor, [&] { return p.packets.size() >= 64; }, "the warm-up"));
    ASSERT_GE(dynamic_cast<detail::DatagramPort&>(*port).batchSize(), 8u);
    p.packets.clear();
  }
  static std::uint16_t port16(const std::shared_ptr<IUDPTransport>& p) {
    return static_cast<std::uint16_t>(portOf(p->getHost()));
  }
};

// ---- starting, stopping, addresses ---------------------------------------------------------

// test_oldAddress, test_getHost: the bound address, of type UDP.
TEST_P(UDPTest, GetHostIsTheBoundAddressOfTypeUDP) {
  auto port = listen(server);
  auto host = std::get<IPv4Address>(port->getHost());
  EXPECT_EQ(host.type, Transport::UDP);
  EXPECT_EQ(host.host, "127.0.0.1");
  EXPECT_GT(host.port, 0);
  EXPECT_EQ(port->getHost(), server->transport->getHost());
  stop(port);
  // And a port number asked for is the one getHost() gives.
  // (A number found free can be taken by another test at once: try again.)
  int number = 0;
  std::shared_ptr<IUDPTransport> fixed;
  for (int attempt = 0; !fixed && attempt < 20; ++attempt) {
    number = freePort(SOCK_DGRAM);
    try {
      fixed = reactor->listenUDP(number, server, "127.0.0.1");
    } catch (const error::CannotListenError&) {
    }
  }
  ASSERT_TRUE(fixed);
  EXPECT_EQ(fixed->getHost(),
            Address(IPv4Address{Transport::UDP, "127.0.0.1", static_cast<std::uint16_t>(number)}));
  stop(fixed);
}

// A second stopListening while the first's close is pending fires when
// that close completes (the protocol stopped), not at once.
TEST_P(UDPTest, ASecondStopListeningFiresWhenTheCloseCompletes) {
  auto port = listen(server);
  int fired = 0;
  int stoppedWhenFired = -1;
  port->stopListening().addCallback([&] { ++fired; });
  port->stopListening().addCallback([&] {
    ++fired;
    stoppedWhenFired = server->stopped;
  });
  EXPECT_EQ(fired, 0) << "the second Deferred fired before the close";
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return fired == 2; }, "both Deferreds"));
  EXPECT_EQ(stoppedWhenFired, 1);
}

// test_getHostIPv6.
TEST_P(UDPTest, GetHostOfAnIPv6PortIsAnIPv6Address) {
  auto port = listen(server, "::1");
  auto host = std::get<IPv6Address>(port->getHost());
  EXPECT_EQ(host.host, "::1");
  EXPECT_EQ(host.type, Transport::UDP);
  stop(port);
}

// test_invalidInterface: a host name is not an interface.
TEST_P(UDPTest, AHostNameAsInterfaceIsAnInvalidAddress) {
  EXPECT_THROW(reactor->listenUDP(0, server, "example.com"), error::InvalidAddressError);
  EXPECT_EQ(server->started, 0);
}

// test_bindError: a port in use is CannotListenError, at once.
TEST_P(UDPTest, BindingAPortInUseIsCannotListenError) {
  auto port = listen(server);
  auto other = std::make_shared<DatagramRecorder>();
  try {
    reactor->listenUDP(portOf(port->getHost()), other, "127.0.0.1");
    ADD_FAILURE() << "no CannotListenError";
  } catch (const error::CannotListenError& e) {
    EXPECT_EQ(e.socketError(), EADDRINUSE);
  }
  EXPECT_EQ(other->started, 0);
  stop(port);
}

// test_startStop: startProtocol on listening; stopProtocol before the
// Deferred of stopListening fires.
TEST_P(UDPTest, StopProtocolRunsBeforeStopListeningFires) {
  auto port = listen(server);
  EXPECT_EQ(server->started, 1);
  EXPECT_EQ(server->stopped, 0);
  int stoppedWhenFired = -1;
  bool fired = false;
  port->stopListening().addCallback([&] {
    stoppedWhenFired = server->stopped;
    fired = true;
  });
  EXPECT_EQ(server->stopped, 0);  // not inside the call
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return fired; }, "the stop"));
  EXPECT_EQ(stoppedWhenFired, 1);
  // A second stop is a no-op that fires at once.
  bool again = false;
  port->stopListening().addCallback([&] { again = true; });
  EXPECT_TRUE(again);
}

// test_rebind: the same protocol listens again after a stop, on a new
// port and on the same port object, and is started each time.
TEST_P(UDPTest, TheSameProtocolListensAgainAfterAStop) {
  auto port = listen(server);
  stop(port);
  auto second = listen(server);
  EXPECT_EQ(server->started, 2);
  stop(second);
  second->startListening();
  EXPECT_EQ(server->started, 3);
  stop(second);
  EXPECT_EQ(server->stopped, 3);
}

// test_stopProtocolScheduling: stopListening inside startProtocol stops
// the protocol later, not inside startProtocol.
TEST_P(UDPTest, StopListeningInsideStartProtocolStopsLater) {
  bool stoppedInStart = false;
  bool inStart = false;
  Deferred<void> stopped;
  server->onStart = [&](DatagramRecorder& self) {
    inStart = true;
    stopped = self.transport->stopListening();
    inStart = false;
  };
  server->onStop = [&](DatagramRecorder&) { stoppedInStart = inStart; };
  auto port = listen(server);
  bool fired = false;
  stopped.addCallback([&] { fired = true; });
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return fired; }, "the stop"));
  EXPECT_EQ(server->stopped, 1);
  EXPECT_FALSE(stoppedInStart);
}

// test_startedListeningLogMessage, test_connectionLostLogMessage: Twisted's
// two lines, naming the protocol and the real port.
TEST_P(UDPTest, LogsTheStartAndTheCloseWithTheRealPort) {
  server->prefix = "Crazy Protocol";
  auto port = listen(server);
  int n = portOf(port->getHost());
  stop(port);
  std::vector<std::string> lines;
  for (const auto& e : logs->events()) lines.push_back(logger::formatEvent(e));
  EXPECT_NE(
      std::find(lines.begin(), lines.end(), "Crazy Protocol starting on " + std::to_string(n)),
      lines.end());
  EXPECT_NE(std::find(lines.begin(), lines.end(), "(UDP Port " + std::to_string(n) + " Closed)"),
            lines.end());
}

// test_logPrefix: the port's prefix is the protocol's, with "(UDP)".
TEST_P(UDPTest, LogPrefixIsTheProtocolsWithUDP) {
  server->prefix = "Custom Datagrams";
  auto port = listen(server);
  EXPECT_EQ(std::dynamic_pointer_cast<IFileDescriptor>(port)->logPrefix(),
            "Custom Datagrams (UDP)");
  stop(port);
}

// ---- sending and receiving -----------------------------------------------------------------

// test_sendPackets: unconnected and connected writes both ways; a
// connected port may name its peer or not; senders' addresses arrive.
TEST_P(UDPTest, PacketsBothWaysConnectedAndNot) {
  auto serverPort = listen(server);
  auto clientPort = listen(client);
  clientPort->connect("127.0.0.1", port16(serverPort));
  Address clientAddr = clientPort->getHost();
  Address serverAddr = serverPort->getHost();
  serverPort->write("hello", clientAddr);
  clientPort->write("a");
  clientPort->write("b", serverAddr);
  clientPort->write("c", "127.0.0.1", port16(serverPort));
  waitFor(server, 3, "three datagrams at the server");
  waitFor(client, 1, "one at the client");
  ASSERT_EQ(server->packets.size(), 3u);
  EXPECT_EQ(server->packets[0], std::make_pair(std::string("a"), clientAddr));
  EXPECT_EQ(server->packets[1], std::make_pair(std::string("b"), clientAddr));
  EXPECT_EQ(server->packets[2], std::make_pair(std::string("c"), clientAddr));
  EXPECT_EQ(client->packets[0], std::make_pair(std::string("hello"), serverAddr));
  // A connected port writes only to its peer.
  EXPECT_THROW(clientPort->write("x", "127.0.0.1", 9), error::InvalidAddressError);
  stop(serverPort);
  stop(clientPort);
}

// test_writeSequence: the parts arrive as one datagram.
TEST_P(UDPTest, WriteSequenceIsOneDatagram) {
  auto port = listen(server);
  std::vector<std::string_view> parts{"some", "bytes", "to", "write"};
  port->writeSequence(parts, port->getHost());
  waitFor(server, 1, "the datagram");
  EXPECT_EQ(server->packets[0].first, "somebytestowrite");
  stop(port);
}

// test_writeToIPv6Interface, test_connectedWriteToIPv6Interface.
TEST_P(UDPTest, IPv6WritesConnectedAndNot) {
  auto serverPort = listen(server, "::1");
  auto clientPort = listen(client, "::1");
  clientPort->write("spam", "::1", port16(serverPort));
  waitFor(server, 1, "the unconnected datagram");
  EXPECT_EQ(server->packets[0], std::make_pair(std::string("spam"), clientPort->getHost()));
  clientPort->connect("::1", port16(serverPort));
  clientPort->write("eggs");
  waitFor(server, 2, "the connected datagram");
  EXPECT_EQ(server->packets[1], std::make_pair(std::string("eggs"), clientPort->getHost()));
  stop(serverPort);
  stop(clientPort);
}

// test_writingToHostnameRaisesInvalidAddressError,
// test_writingToIPv6OnIPv4RaisesInvalidAddressError,
// test_writingToIPv4OnIPv6RaisesInvalidAddressError,
// test_connectingToHostnameRaisesInvalidAddressError, test_badConnect.
TEST_P(UDPTest, AddressesOfTheWrongKindAreInvalid) {
  auto v4 = listen(server);
  auto v6 = listen(client, "::1");
  EXPECT_THROW(v4->write("spam", "example.invalid", 1), error::InvalidAddressError);
  EXPECT_THROW(v4->write("spam", "::1", 1), error::InvalidAddressError);
  EXPECT_THROW(v6->write("spam", "127.0.0.1", 1), error::InvalidAddressError);
  EXPECT_THROW(v6->write("spam", "<broadcast>", 1), error::InvalidAddressError);
  EXPECT_THROW(v4->write("spam", UNIXAddress{"/x"}), error::InvalidAddressError);
  EXPECT_THROW(v4->connect("example.invalid", 1), error::InvalidAddressError);
  EXPECT_THROW(v4->connect("localhost", 80), error::InvalidAddressError);
  EXPECT_THROW(v4->write("no peer"), std::logic_error);
  v4->connect("127.0.0.1", 80);
  EXPECT_THROW(v4->connect("127.0.0.1", 80), std::logic_error);
  stop(v4);
  stop(v6);
}

// test_connectionRefused: a connected port whose peer is gone hears of it;
// an unconnected one does not.
TEST_P(UDPTest, AConnectedPortHearsThatItsPeerIsGone) {
  int dead = deadPort();
  auto clientPort = listen(client);
  auto serverPort = listen(server);
  clientPort->connect("127.0.0.1", static_cast<std::uint16_t>(dead));
  serverPort->write("0", "127.0.0.1", static_cast<std::uint16_t>(dead));
  // Each write may bring back "port unreachable"; the next read or write
  // reports it.
  ASSERT_TRUE(iterateUntil(
      *reactor,
      [&] {
        if (client->refused == 0) clientPort->write("x");
        return client->refused > 0;
      },
      "connectionRefused"));
  // With IP_RECVERR the kernel reports "port unreachable" to an
  // unconnected socket too (once as its error, and in its error queue):
  // it is not connectionRefused (Twisted's rule), the port goes on, and
  // the error queue is emptied rather than keeping the socket in POLLERR
  // (a reactor that only read would turn without end).
  int fd = std::dynamic_pointer_cast<IFileDescriptor>(serverPort)->fileno();
  int on = 1;
  ASSERT_EQ(::setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on), 0);
  serverPort->write("1", "127.0.0.1", static_cast<std::uint16_t>(dead));
  serverPort->write("after", serverPort->getHost());
  waitFor(server, 1, "the datagram after the refused one");
  EXPECT_EQ(server->packets[0].first, "after");
  ASSERT_TRUE(iterateUntil(
      *reactor,
      [&] {
        pollfd p{fd, POLLIN, 0};
        return ::poll(&p, 1, 0) == 0;
      },
      "the error queue emptied"));
  reactor->iterate(0);
  EXPECT_EQ(server->refused, 0);
  stop(clientPort);
  stop(serverPort);
}

// test_datagramReceivedError: a handler that throws is logged, and the
// port goes on delivering.
TEST_P(UDPTest, AThrowingHandlerIsLoggedAndThePortGoesOn) {
  server->onDatagram = [](DatagramRecorder&, std::string_view d, const Address&) {
    if (d == "bad") throw std::runtime_error("Application code is very buggy!");
  };
  auto port = listen(server);
  port->write("bad", port->getHost());
  port->write("bad", port->getHost());
  port->write("good", port->getHost());
  waitFor(server, 3, "three datagrams");
  EXPECT_EQ(server->packets[2].first, "good");
  EXPECT_EQ(logs->flushErrors<std::runtime_error>(), 2u);
  EXPECT_TRUE(dynamic_cast<detail::DatagramPort&>(*port).listening());
  stop(port);
}

// testShutdownFromDatagramReceived: stopping the port from inside
// datagramReceived, with more datagrams in the batch, delivers no more and
// does not spin.
TEST_P(UDPTest, StoppingInsideDatagramReceivedDeliversNoMore) {
  Deferred<void> stopped;
  bool fired = false;
  auto port = listen(server);
  // A batch of several, so that the stop lands inside one.
  growBatch(port, *server);
  server->onDatagram = [&](DatagramRecorder& self, std::string_view, const Address&) {
    if (self.packets.size() == 1) {
      stopped = self.transport->stopListening();
      stopped.addCallback([&] { fired = true; });
    }
  };
  for (int i = 0; i < 10; ++i) port->write(std::string(64, '\0'), port->getHost());
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return fired; }, "the stop"));
  EXPECT_EQ(server->packets.size(), 1u);
}

// test_allowBroadcast, test_NoWarningOnBroadcast: off by default; a
// broadcast is refused (EACCES, typed) until allowed, then delivered.
TEST_P(UDPTest, BroadcastNeedsToBeAllowed) {
  auto port = reactor->listenUDP(0, server, "");  // every IPv4 address: receives broadcasts
  EXPECT_FALSE(port->getBroadcastAllowed());
  try {
    port->write("all", "127.255.255.255", port16(port));
    ADD_FAILURE() << "a broadcast without permission was sent";
  } catch (const error::DatagramSendError& e) {
    EXPECT_EQ(e.socketError(), EACCES);
  }
  port->setBroadcastAllowed(true);
  EXPECT_TRUE(port->getBroadcastAllowed());
  port->write("all", "127.255.255.255", port16(port));
  waitFor(server, 1, "the broadcast");
  EXPECT_EQ(server->packets[0].first, "all");
  // "<broadcast>" is Twisted's name for the limited broadcast address. Sent
  // from a port bound to 127.0.0.1, which the kernel routes by the loopback
  // only (no datagram reaches a real network), to the port above.
  auto local = std::make_shared<DatagramRecorder>();
  auto loopbackOnly = listen(local, "127.0.0.1");
  loopbackOnly->setBroadcastAllowed(true);
  loopbackOnly->write("to all", "<broadcast>", port16(port));
  waitFor(server, 2, "the limited broadcast");
  EXPECT_EQ(server->packets[1].first, "to all");
  stop(loopbackOnly);
  stop(port);
}

// Beyond Twisted: a datagram longer than maxPacketSize is reported with
// its real size, never delivered cut; one of exactly maxPacketSize and an
// empty one are delivered whole.
TEST_P(UDPTest, LongerThanMaxPacketSizeIsReportedNotCut) {
  auto port = listen(server, "127.0.0.1", 100);
  port->write(std::string(100, 'a'), port->getHost());
  port->write(std::string(101, 'b'), port->getHost());
  port->write("", port->getHost());
  port->write(std::string(5000, 'c'), port->getHost());
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return server->packets.size() + server->truncatedDatagrams.size() >= 4; },
      "four datagrams"));
  ASSERT_EQ(server->packets.size(), 2u);
  EXPECT_EQ(server->packets[0].first, std::string(100, 'a'));
  EXPECT_EQ(server->packets[1].first, "");
  ASSERT_EQ(server->truncatedDatagrams.size(), 2u);
  EXPECT_EQ(server->truncatedDatagrams[0].first, 101u);
  EXPECT_EQ(server->truncatedDatagrams[1].first, 5000u);
  EXPECT_EQ(server->truncatedDatagrams[0].second, port->getHost());
  stop(port);
}

// Beyond Twisted: a datagram no UDP socket can carry is refused before any
// system call, typed.
TEST_P(UDPTest, ADatagramTooLongForUDPIsMessageLengthError) {
  auto port = listen(server);
  EXPECT_THROW(port->write(std::string(65508, 'x'), port->getHost()), error::MessageLengthError);
  EXPECT_NO_THROW(port->write(std::string(65507, 'x'), port->getHost()));
  stop(port);
}

// Beyond Twisted: what a handler writes is sent with the batch (every
// answer arrives, in order), and the batch grows while the socket keeps
// it full.
TEST_P(UDPTest, AnswersWrittenInABatchAllArriveInOrder) {
  constexpr int kCount = 100;
  server->onDatagram = [](DatagramRecorder& self, std::string_view d, const Address& from) {
    self.transport->write(d, from);
  };
  auto serverPort = listen(server);
  auto clientPort = listen(client);
  for (int i = 0; i < kCount; ++i) clientPort->write(std::to_string(i), serverPort->getHost());
  // Loopback drops nothing below the receive buffer's size: 100 short
  // datagrams (about 1 KiB each, as the kernel counts) fit the default.
  waitFor(client, kCount, "every answer");
  for (int i = 0; i < kCount; ++i) EXPECT_EQ(client->packets[i].first, std::to_string(i));
  auto* shared = dynamic_cast<detail::DatagramPort*>(serverPort.get());
  ASSERT_NE(shared, nullptr);
  EXPECT_GT(shared->batchSize(), 1u);
  stop(serverPort);
  stop(clientPort);
}

// Beyond Twisted: answers outnumbering a batch's datagrams (the send queue
// grows while it holds some, its oldest not at its start) arrive in the
// order written.
TEST_P(UDPTest, SeveralAnswersToEachDatagramArriveInOrder) {
  constexpr int kCount = 40;
  auto serverPort = listen(server);
  auto clientPort = listen(client);
  growBatch(serverPort, *server);
  server->onDatagram = [](DatagramRecorder& self, std::string_view d, const Address& from) {
    for (char c : std::string("abc")) self.transport->write(std::string(d) + c, from);
  };
  for (int i = 0; i < kCount; ++i) clientPort->write(std::to_string(i), serverPort->getHost());
  waitFor(client, 3 * kCount, "every answer");
  for (int i = 0; i < 3 * kCount; ++i) {
    EXPECT_EQ(client->packets[i].first, std::to_string(i / 3) + "abc"[i % 3]);
  }
  stop(serverPort);
  stop(clientPort);
}

// Beyond Twisted: more senders than the port's address cache first holds
// (it grows): each is named by its own address, and an answer reaches it,
// whether written with the Address datagramReceived gave or later with a
// copy of it.
TEST_P(UDPTest, ManySendersEachGetTheirOwnAnswers) {
  constexpr int kSenders = 80;
  std::vector<Address> seen;
  server->onDatagram = [&seen](DatagramRecorder& self, std::string_view d, const Address& from) {
    self.transport->write(d, from);
    seen.push_back(from);
  };
  auto serverPort = listen(server);
  std::vector<std::shared_ptr<DatagramRecorder>> clients;
  std::vector<std::shared_ptr<IUDPTransport>> ports;
  for (int i = 0; i < kSenders; ++i) {
    clients.push_back(std::make_shared<DatagramRecorder>());
    ports.push_back(listen(clients.back()));
  }
  auto everyClientHas = [&](std::size_t n) {
    return std::all_of(clients.begin(), clients.end(),
                       [n](const auto& c) { return c->packets.size() >= n; });
  };
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kSenders; ++i) ports[i]->write(std::to_string(i), serverPort->getHost());
  }
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return everyClientHas(2); }, "every answer"));
  ASSERT_EQ(server->packets.size(), 2u * kSenders);
  for (auto& [d, from] : server->packets) EXPECT_EQ(from, ports[std::stoi(d)]->getHost());
  for (int i = 0; i < kSenders; ++i) {
    EXPECT_EQ(clients[i]->packets[0].first, std::to_string(i));
    EXPECT_EQ(clients[i]->packets[1].first, std::to_string(i));
  }
  // Outside a batch, to the copies: the first round's senders in turn.
  for (int i = 0; i < kSenders; ++i) serverPort->write("bye", seen[i]);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return everyClientHas(3); }, "every goodbye"));
  for (int i = 0; i < kSenders; ++i) EXPECT_EQ(clients[i]->packets[2].first, "bye");
  // All at once: each stop's Deferred fires on the next turn.
  std::size_t closed = 0;
  for (auto& p : ports) p->stopListening().addBoth([&](Outcome<void>) { ++closed; });
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return closed == ports.size(); }, "every sender's close"));
  stop(serverPort);
}

// Beyond Twisted: a kernel refusal of an answer written inside a batch is
// the protocol's writeFailed, typed; outside a batch the caller's.
TEST_P(UDPTest, ARefusedAnswerInABatchIsWriteFailed) {
  server->onDatagram = [](DatagramRecorder& self, std::string_view, const Address&) {
    self.transport->write("to all", IPv4Address{Transport::UDP, "127.255.255.255", 9});
  };
  auto port = listen(server);
  port->write("go", port->getHost());
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !server->writeFailures.empty(); }, "writeFailed"));
  ASSERT_TRUE(server->writeFailures[0].check<error::DatagramSendError>());
  try {
    server->writeFailures[0].raiseException();
  } catch (const error::DatagramSendError& e) {
    EXPECT_EQ(e.socketError(), EACCES);
  }
  stop(port);
}

// A writeFailed that throws is logged; the port goes on sending what its
// handlers write.
TEST_P(UDPTest, AThrowingWriteFailedIsLoggedAndThePortGoesOn) {
  server->onDatagram = [](DatagramRecorder& self, std::string_view d, const Address& from) {
    if (d == "go") {
      self.transport->write("to all", IPv4Address{Transport::UDP, "127.255.255.255", 9});
    } else {
      self.transport->write(d, from);
    }
  };
  server->onWriteFailed = [](DatagramRecorder&, const Failure&) {
    throw std::runtime_error("writeFailed is buggy");
  };
  auto serverPort = listen(server);
  auto clientPort = listen(client);
  clientPort->write("go", serverPort->getHost());
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !server->writeFailures.empty(); }, "writeFailed"));
  clientPort->write("echo", serverPort->getHost());
  waitFor(client, 1, "the echo after the failure");
  EXPECT_EQ(client->packets[0].first, "echo");
  EXPECT_EQ(logs->flushErrors<std::runtime_error>(), 1u);
  stop(serverPort);
  stop(clientPort);
}

// Answers queued behind a refused one keep their bytes, even when
// writeFailed turns the reactor (which must not read into the batch they
// came from).
TEST_P(UDPTest, AnswersBehindARefusedOneSurviveANestedIteration) {
  auto serverPort = listen(server);
  auto clientPort = listen(client);
  growBatch(serverPort, *server);
  server->onDatagram = [](DatagramRecorder& self, std::string_view d, const Address& from) {
    if (d == "go") {
      self.transport->write("to all", IPv4Address{Transport::UDP, "127.255.255.255", 9});
    } else {
      self.transport->write(d, from);
    }
  };
  server->onWriteFailed = [this](DatagramRecorder&, const Failure&) { reactor->iterate(0); };
  // What the nested turn could read into the batch's buffers.
  for (int i = 0; i < 8; ++i) clientPort->write(std::string(100, 'x'), serverPort->getHost());
  clientPort->write("go", serverPort->getHost());
  clientPort->write("first answer", serverPort->getHost());
  clientPort->write("second answer", serverPort->getHost());
  for (int i = 0; i < 8; ++i) clientPort->write(std::string(100, 'y'), serverPort->getHost());
  waitFor(client, 18, "every answer");
  std::vector<std::string> got;
  for (auto& [d, from] : client->packets) got.push_back(d);
  EXPECT_NE(std::find(got.begin(), got.end(), "first answer"), got.end());
  EXPECT_NE(std::find(got.begin(), got.end(), "second answer"), got.end());
  stop(serverPort);
  stop(clientPort);
}

// A startProtocol that throws fails listenUDP, leaves the protocol to be
// started again, and keeps nothing alive.
TEST_P(UDPTest, AThrowingStartProtocolLeavesTheProtocolUsable) {
  bool fail = true;
  server->onStart = [&](DatagramRecorder&) {
    if (fail) throw std::runtime_error("not now");
  };
  EXPECT_THROW(listen(server), std::runtime_error);
  EXPECT_EQ(server->numPorts, 0);
  std::weak_ptr<IDatagramTransport> dead = server->transport;
  server->transport.reset();
  EXPECT_TRUE(dead.expired());
  fail = false;
  auto port = listen(server);
  EXPECT_EQ(server->started, 2);
  EXPECT_EQ(server->numPorts, 1);
  stop(port);
  EXPECT_EQ(server->stopped, 1);
}

// ---- multicast on the loopback interface ---------------------------------------------------

class MulticastTest : public UDPTest {
 protected:
  static constexpr const char* kGroup = "225.0.0.250";
  std::shared_ptr<IMulticastTransport> listenGroup(const std::shared_ptr<DatagramRecorder>& p,
                                                   int port = 0, bool multiple = false) {
    auto m = reactor->listenMulticast(port, p, "", 8192, multiple);
    // The loopback interface: the only one every test machine has.
    expectFires(m->setOutgoingInterface("127.0.0.1"));
    return m;
  }
  void expectFires(Deferred<void> d) { ASSERT_TRUE(fires(*reactor, std::move(d))); }
  void join(const std::shared_ptr<IMulticastTransport>& m) {
    expectFires(m->joinGroup(kGroup, "127.0.0.1"));
  }
};

// testTTL.
TEST_P(MulticastTest, TTLDefaultsToOneAndCanBeSet) {
  auto m = listenGroup(server);
  EXPECT_EQ(m->getTTL(), 1);
  m->setTTL(2);
  EXPECT_EQ(m->getTTL(), 2);
  EXPECT_THROW(m->setTTL(256), std::invalid_argument);
  stop(m);
}

// test_interface.
TEST_P(MulticastTest, TheOutgoingInterfaceCanBeSet) {
  auto m = reactor->listenMulticast(0, server);
  EXPECT_EQ(m->getOutgoingInterface(), "0.0.0.0");
  expectFires(m->setOutgoingInterface("127.0.0.1"));
  EXPECT_EQ(m->getOutgoingInterface(), "127.0.0.1");
  stop(m);
}

// test_joinLeave.
TEST_P(MulticastTest, JoinThenLeave) {
  auto m = listenGroup(server);
  join(m);
  expectFires(m->leaveGroup(kGroup, "127.0.0.1"));
  stop(m);
}

// test_joinFailure: a unicast address is no group.
TEST_P(MulticastTest, JoiningAUnicastAddressFails) {
  auto m = listenGroup(server);
  bool failedWithJoinError = false;
  m->joinGroup("127.0.0.1").addErrback([&](const Failure& f) {
    failedWithJoinError = f.check<error::MulticastJoinError>();
  });
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return failedWithJoinError; }, "MulticastJoinError"));
  stop(m);
}

// test_multicast, test_loopback: a member receives what is sent to the
// group from its own host while loopback is on (the default). That turning
// it off stops the copy is shown where the datagram leaves by another
// interface than lo (which hands everything back anyway): VethMulticastTest
// in test_namespaced.cpp.
TEST_P(MulticastTest, AMemberReceivesTheGroupsDatagrams) {
  auto member = listenGroup(server);
  auto sender = listenGroup(client);
  join(member);
  EXPECT_TRUE(sender->getLoopbackMode());
  sender->write("hello world", kGroup, port16(member));
  waitFor(server, 1, "the group's datagram");
  EXPECT_EQ(server->packets[0].first, "hello world");
  EXPECT_EQ(portOf(server->packets[0].second), portOf(sender->getHost()));
  sender->setLoopbackMode(false);
  EXPECT_FALSE(sender->getLoopbackMode());
  sender->setLoopbackMode(true);
  EXPECT_TRUE(sender->getLoopbackMode());
  stop(member);
  stop(sender);
}

// test_multiListen: with listenMultiple, two ports share one port number
// and each receives the group's datagrams.
TEST_P(MulticastTest, TwoPortsShareAPortAndBothReceive) {
  auto second = std::make_shared<DatagramRecorder>();
  auto first = listenGroup(server, 0, true);
  auto other = listenGroup(second, portOf(first->getHost()), true);
  join(first);
  join(other);
  first->write("hello world", kGroup, port16(first));
  waitFor(server, 1, "the first port's copy");
  waitFor(second, 1, "the second port's copy");
  EXPECT_EQ(second->packets[0].first, "hello world");
  stop(first);
  stop(other);
}

TWISTED_ALL_BACKENDS(UDPTest);
TWISTED_ALL_BACKENDS(MulticastTest);

}  // namespace
}  // namespace twisted::test
