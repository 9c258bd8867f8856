// UNIX datagram sockets end to end, on every backend: the socket file's
// mode and removal, abstract names, a bound and a connected port talking,
// failures to connect, a peer that goes away, and the send queue when the
// receiver does not read (a UNIX datagram sender, unlike UDP, is told).
// Covers the datagram parts of twisted/internet/test/test_unix.py and
// twisted/test/test_unix.py (see docs/conformance.md).
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "datagram_helpers.hpp"
#include "internet/datagram/datagram_port.hpp"
#include "iterate_until.hpp"
#include "reactor_test.hpp"
#include "temp_dir.hpp"
#include "twisted/internet/reactor_unix_datagram.hpp"

namespace twisted::test {
namespace {

namespace fs = std::filesystem;

class UNIXDatagramTest : public ReactorTest {
 protected:
  std::shared_ptr<DatagramRecorder> server = std::make_shared<DatagramRecorder>();
  std::shared_ptr<ConnectedDatagramRecorder> client = std::make_shared<ConnectedDatagramRecorder>();
  TemporaryDirectory tmp{"twisted-dgram"};
  const std::string dir = tmp.path();

  std::string path(const char* name = "s") const { return dir + "/" + name; }
  void stop(const std::shared_ptr<IListeningPort>& port) { stopAndWait(*reactor, port); }
  static mode_t modeOf(const std::string& p) {
    struct stat st {};
    return ::lstat(p.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
  }
  // A datagram socket bound to `p` that the test reads by hand (or not).
  static Fd rawSocketAt(const std::string& p) {
    Fd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    SocketAddress sa = toSocketAddress(UNIXAddress{p});
    EXPECT_EQ(::bind(fd.get(), sa.get(), sa.length), 0);
    return fd;
  }
};

// UNIXDatagramTestsBuilder.test_listenMode: the file has exactly `mode`;
// beyond Twisted, it is removed when the port stops.
TEST_P(UNIXDatagramTest, TheSocketFileHasTheModeAndIsRemovedOnStop) {
  auto port = reactor->listenUNIXDatagram(path(), server, 8192, 0600);
  EXPECT_EQ(modeOf(path()), 0600u);
  EXPECT_EQ(port->getHost(), Address(UNIXAddress{path()}));
  EXPECT_EQ(server->started, 1);
  stop(port);
  EXPECT_EQ(server->stopped, 1);
  EXPECT_FALSE(fs::exists(path()));
}

// UNIXDatagramTestsBuilder.test_listenOnLinuxAbstractNamespace.
TEST_P(UNIXDatagramTest, ListensOnAnAbstractName) {
  std::string name = std::string(1, '\0') + "twisted-dgram-" + fs::path(dir).filename().string();
  auto port = reactor->listenUNIXDatagram(name, server);
  EXPECT_EQ(port->getHost(), Address(UNIXAddress{name}));
  stop(port);
}

// DatagramUnixSocketTests.test_cannotListen: a path in use is refused.
TEST_P(UNIXDatagramTest, APathInUseIsCannotListenError) {
  auto port = reactor->listenUNIXDatagram(path(), server);
  auto other = std::make_shared<DatagramRecorder>();
  try {
    reactor->listenUNIXDatagram(path(), other);
    ADD_FAILURE() << "no CannotListenError";
  } catch (const error::CannotListenError& e) {
    EXPECT_EQ(e.socketError(), EADDRINUSE);
  }
  EXPECT_EQ(other->started, 0);
  stop(port);
  EXPECT_THROW(reactor->listenUNIXDatagram("", other), error::CannotListenError);
}

// DatagramUnixSocketTests.test_exchange: a connected client bound to its
// own path and a server answer each other; the server sees the client's
// name.
TEST_P(UNIXDatagramTest, AConnectedClientAndAServerExchange) {
  server->onDatagram = [](DatagramRecorder& self, std::string_view, const Address& from) {
    self.transport->write("hello", from);
  };
  auto port = reactor->listenUNIXDatagram(path(), server);
  auto peer = reactor->connectUNIXDatagram(path(), client, 8192, 0600, path("c"));
  ASSERT_TRUE(client->failed.empty());
  EXPECT_EQ(client->started, 1);
  EXPECT_EQ(peer->getPeer(), Address(UNIXAddress{path()}));
  EXPECT_EQ(peer->getHost(), Address(UNIXAddress{path("c")}));
  EXPECT_EQ(modeOf(path("c")), 0600u);
  peer->write("hi");
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !client->packets.empty(); }, "the answer"));
  ASSERT_EQ(server->packets.size(), 1u);
  EXPECT_EQ(server->packets[0], std::make_pair(std::string("hi"), Address(UNIXAddress{path("c")})));
  EXPECT_EQ(client->packets[0], "hello");
  stop(peer);
  stop(port);
  EXPECT_EQ(client->stopped, 1);
  EXPECT_FALSE(fs::exists(path("c")));
}

// An unnamed sender (no bindAddress) can send; its address is empty.
TEST_P(UNIXDatagramTest, AnUnnamedSendersAddressIsEmpty) {
  auto port = reactor->listenUNIXDatagram(path(), server);
  auto peer = reactor->connectUNIXDatagram(path(), client);
  std::vector<std::string_view> parts{"one ", "datagram"};
  peer->writeSequence(parts);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return !server->packets.empty(); }, "the datagram"));
  EXPECT_EQ(server->packets[0],
            std::make_pair(std::string("one datagram"), Address(UNIXAddress{""})));
  stop(peer);
  stop(port);
}

// ConnectedDatagramPort.connectionFailed: no such path, a path nobody has
// bound: the protocol's connectionFailed, typed, and the port is closed.
TEST_P(UNIXDatagramTest, AFailedConnectIsConnectionFailed) {
  auto peer = reactor->connectUNIXDatagram(path("missing"), client);
  ASSERT_EQ(client->failed.size(), 1u);
  EXPECT_TRUE(client->failed[0].check<error::ConnectError>());
  EXPECT_EQ(client->started, 0);
  { Fd stale = rawSocketAt(path("stale")); }  // closed: the file stays, nobody is bound
  auto second = std::make_shared<ConnectedDatagramRecorder>();
  reactor->connectUNIXDatagram(path("stale"), second);
  ASSERT_EQ(second->failed.size(), 1u);
  EXPECT_TRUE(second->failed[0].check<error::ConnectionRefusedError>());
  // A bind address in use fails the same way, and leaves the file alone.
  auto port = reactor->listenUNIXDatagram(path(), server);
  auto third = std::make_shared<ConnectedDatagramRecorder>();
  reactor->connectUNIXDatagram(path(), third, 8192, 0666, path());
  ASSERT_EQ(third->failed.size(), 1u);
  EXPECT_TRUE(third->failed[0].check<error::CannotListenError>());
  EXPECT_TRUE(fs::exists(path()));
  stop(port);
}

// Beyond Twisted (which drops it silently): a datagram to a path nobody is
// bound to is the caller's typed error.
TEST_P(UNIXDatagramTest, AWriteToAPathNobodyIsBoundToIsTyped) {
  auto port = reactor->listenUNIXDatagram(path(), server);
  { Fd stale = rawSocketAt(path("stale")); }  // closed: the file stays
  try {
    port->write("anyone?", UNIXAddress{path("stale")});
    ADD_FAILURE() << "no DatagramSendError";
  } catch (const error::DatagramSendError& e) {
    EXPECT_EQ(e.socketError(), ECONNREFUSED);
  }
  stop(port);
}

// A connected port whose peer went away hears of it (ECONNREFUSED).
TEST_P(UNIXDatagramTest, AConnectedPortHearsThatItsPeerIsGone) {
  auto port = reactor->listenUNIXDatagram(path(), server);
  auto peer = reactor->connectUNIXDatagram(path(), client);
  stop(port);
  peer->write("anyone?");
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return client->refused > 0; }, "connectionRefused"));
  stop(peer);
}

// Beyond Twisted (which drops the datagram): while the receiver does not
// read, what the kernel cannot take waits in the port's queue, in order;
// past its bound, write throws DatagramBufferFullError; once the receiver
// reads, everything arrives.
TEST_P(UNIXDatagramTest, DatagramsWaitWhileTheReceiverDoesNotRead) {
  Fd receiver = rawSocketAt(path("r"));
  auto peer = reactor->connectUNIXDatagram(path("r"), client);
  auto& shared = dynamic_cast<detail::DatagramPort&>(*peer);
  int written = 0;
  for (int i = 0; i < 5000; ++i) {
    try {
      peer->write(std::to_string(i));
      ++written;
    } catch (const error::DatagramBufferFullError&) {
      break;
    }
  }
  EXPECT_LT(written, 5000);
  EXPECT_EQ(shared.queued(), detail::DatagramPort::kMaxQueuedDatagrams);
  std::vector<std::string> got;
  ASSERT_TRUE(iterateUntil(
      *reactor,
      [&] {
        char buf[64];
        for (ssize_t n; (n = ::recv(receiver.get(), buf, sizeof buf, 0)) >= 0;) {
          got.emplace_back(buf, static_cast<std::size_t>(n));
        }
        return static_cast<int>(got.size()) == written;
      },
      "every datagram written"));
  for (int i = 0; i < written; ++i) ASSERT_EQ(got[static_cast<std::size_t>(i)], std::to_string(i));
  EXPECT_EQ(shared.queued(), 0u);
  stop(peer);
}

TWISTED_ALL_BACKENDS(UNIXDatagramTest);

}  // namespace
}  // namespace twisted::test
