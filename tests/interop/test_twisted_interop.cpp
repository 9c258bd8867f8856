// Interop with the real Twisted (Debian's python3-twisted, run by
// /usr/bin/python3 from twisted_peer.py): a Twisted client against our
// server and our client against Twisted servers, with half-close and
// 64 MiB checked byte for byte in both directions, on every backend.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "our_peer.hpp"
#include "reactor_test.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted_peer.hpp"

namespace twisted::test {
namespace {

class TwistedInteropTest : public ReactorTest {
 protected:
  std::shared_ptr<OurPeer> peer;

  // Connects an OurPeer to a Twisted server on `port`; runs until it is lost.
  void connectAndRun(int port, OurPeer::Mode mode) {
    peer = std::make_shared<OurPeer>(mode);
    peer->onLost = [this] { reactor->stop(); };
    auto factory = std::make_shared<ClientFactory>([p = peer] { return p; });
    reactor->connectTCP("127.0.0.1", port, factory, 10);
    runReactor(60);
  }
};

TEST_P(TwistedInteropTest, TwistedClientEchoes64MiBThroughOurServerWithHalfClose) {
  peer = std::make_shared<OurPeer>(OurPeer::Mode::Echo);
  std::shared_ptr<IListeningPort> port =
      reactor->listenTCP(0, std::make_shared<Factory>([p = peer] { return p; }), 50, "127.0.0.1");
  peer->onLost = [&] { port->stopListening().addCallback([this] { reactor->stop(); }); };
  Address host = port->getHost();
  TwistedPeer twisted(
      {"client", "echo", std::to_string(std::get<IPv4Address>(host).port), std::to_string(kBig)});
  runReactor(60);
  EXPECT_EQ(twisted.line(), "OK " + std::to_string(kBig)) << "Twisted got the echo intact";
  EXPECT_EQ(twisted.wait(), 0);
  EXPECT_TRUE(peer->readLost) << "Twisted's loseWriteConnection reached readConnectionLost";
  ASSERT_TRUE(peer->lost);
  EXPECT_TRUE(peer->lost->check<error::ConnectionDone>()) << peer->lost->brief();
}

TEST_P(TwistedInteropTest, OurClientSends64MiBToATwistedServerAndHalfCloses) {
  TwistedPeer twisted({"server", "sink"});
  int port = twisted.port();
  ASSERT_GT(port, 0) << "python3-twisted missing? (tools/install-deps test)";
  connectAndRun(port, OurPeer::Mode::SendAndKeep);
  EXPECT_EQ(peer->kept, "OK " + std::to_string(kBig) + "\n")
      << "Twisted read our 64 MiB intact and answered after our half-close";
  EXPECT_TRUE(peer->writeLost);
  EXPECT_TRUE(peer->readLost);
  ASSERT_TRUE(peer->lost);
  EXPECT_TRUE(peer->lost->check<error::ConnectionDone>()) << peer->lost->brief();
  EXPECT_EQ(twisted.line(), "OK " + std::to_string(kBig));
  EXPECT_EQ(twisted.wait(), 0);
}

TEST_P(TwistedInteropTest, OurClientReceives64MiBFromATwistedServer) {
  TwistedPeer twisted({"server", "source", std::to_string(kBig)});
  int port = twisted.port();
  ASSERT_GT(port, 0) << "python3-twisted missing? (tools/install-deps test)";
  connectAndRun(port, OurPeer::Mode::Check);
  EXPECT_EQ(peer->checker.count, kBig);
  EXPECT_FALSE(peer->checker.badAt) << "first wrong byte at " << *peer->checker.badAt;
  ASSERT_TRUE(peer->lost);
  EXPECT_TRUE(peer->lost->check<error::ConnectionDone>()) << peer->lost->brief();
  EXPECT_EQ(twisted.line(), "OK " + std::to_string(kBig));
  EXPECT_EQ(twisted.wait(), 0);
}

TEST_P(TwistedInteropTest, OurClientEchoes64MiBThroughATwistedServerWithHalfClose) {
  TwistedPeer twisted({"server", "echo"});
  int port = twisted.port();
  ASSERT_GT(port, 0) << "python3-twisted missing? (tools/install-deps test)";
  connectAndRun(port, OurPeer::Mode::SendAndCheck);
  EXPECT_EQ(peer->checker.count, kBig);
  EXPECT_FALSE(peer->checker.badAt) << "first wrong byte at " << *peer->checker.badAt;
  EXPECT_TRUE(peer->writeLost);
  ASSERT_TRUE(peer->lost);
  EXPECT_TRUE(peer->lost->check<error::ConnectionDone>()) << peer->lost->brief();
  EXPECT_EQ(twisted.line(), "OK echo");
  EXPECT_EQ(twisted.wait(), 0);
}

// ---- over UNIX sockets, with each side's lock file read by the other --------------------

class TwistedUNIXInteropTest : public TwistedInteropTest {
 protected:
  void SetUp() override {
    TwistedInteropTest::SetUp();
    dir_ = "/tmp/twisted-interop-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_.data()), nullptr);
    path = dir_ + "/s";
  }
  void TearDown() override {
    TwistedInteropTest::TearDown();
    ::unlink((path + ".lock").c_str());
    ::unlink(path.c_str());
    ::rmdir(dir_.c_str());
  }
  std::string path;

 private:
  std::string dir_;
};

// Twisted's connectUNIX(checkPID=True) accepts our wantPID lock, and 64 MiB
// go through our server and back, with half-close.
TEST_P(TwistedUNIXInteropTest, TwistedClientEchoes64MiBThroughOurUNIXServer) {
  peer = std::make_shared<OurPeer>(OurPeer::Mode::Echo);
  std::shared_ptr<IListeningPort> port = reactor->listenUNIX(
      path, std::make_shared<Factory>([p = peer] { return p; }), 50, 0600, /*wantPID=*/true);
  peer->onLost = [&] { port->stopListening().addCallback([this] { reactor->stop(); }); };
  TwistedPeer twisted({"--unix", path, "client", "echo", "0", std::to_string(kBig)});
  runReactor(60);
  EXPECT_EQ(twisted.line(), "OK " + std::to_string(kBig)) << "Twisted got the echo intact";
  EXPECT_EQ(twisted.wait(), 0);
  EXPECT_TRUE(peer->readLost);
  ASSERT_TRUE(peer->lost);
  EXPECT_TRUE(peer->lost->check<error::ConnectionDone>()) << peer->lost->brief();
}

// Our connectUNIX(checkPID) accepts Twisted's wantPID lock, and 64 MiB go
// through Twisted's UNIX echo server and back.
TEST_P(TwistedUNIXInteropTest, OurClientEchoes64MiBThroughATwistedUNIXServer) {
  TwistedPeer twisted({"--unix", path, "server", "echo"});
  ASSERT_EQ(twisted.port(), 0) << "python3-twisted missing? (tools/install-deps test)";
  peer = std::make_shared<OurPeer>(OurPeer::Mode::SendAndCheck);
  peer->onLost = [this] { reactor->stop(); };
  struct Once : ClientFactory {
    Once(std::shared_ptr<OurPeer> p, Reactor& r) : ClientFactory([p] { return p; }), reactor(r) {}
    void clientConnectionFailed(IConnector&, const Failure& f) override {
      ADD_FAILURE() << "Twisted's lock or socket refused: " << f.brief();
      reactor.stop();
    }
    Reactor& reactor;
  };
  auto factory = std::make_shared<Once>(peer, *reactor);
  reactor->connectUNIX(path, factory, 10, /*checkPID=*/true);
  runReactor(60);
  EXPECT_EQ(peer->checker.count, kBig);
  EXPECT_FALSE(peer->checker.badAt) << "first wrong byte at " << *peer->checker.badAt;
  EXPECT_TRUE(peer->writeLost);
  ASSERT_TRUE(peer->lost);
  EXPECT_TRUE(peer->lost->check<error::ConnectionDone>()) << peer->lost->brief();
  EXPECT_EQ(twisted.line(), "OK echo");
  EXPECT_EQ(twisted.wait(), 0);
}

// Descriptors both ways: what each pipe holds proves the right one arrived.
constexpr int kDescriptors = 20;

// Our client sends pipes' read ends ("ours <i>" in each) to a Twisted
// IFileDescriptorReceiver, which reads each and answers with its text.
TEST_P(TwistedUNIXInteropTest, TwistedReadsTheDescriptorsOurClientSends) {
  struct Sender : Protocol {
    std::string answers;
    std::function<void()> onLost;
    void connectionMade() override {
      auto& t = dynamic_cast<IUNIXTransport&>(*transport);
      for (int i = 0; i < kDescriptors; ++i) {
        int p[2];
        if (::pipe2(p, O_CLOEXEC) != 0) return;
        std::string text = "ours " + std::to_string(i);
        if (::write(p[1], text.data(), text.size()) < 0) ADD_FAILURE() << "pipe write";
        ::close(p[1]);
        t.sendFileDescriptor(p[0]);  // duplicated at once: ours to close now
        ::close(p[0]);
        transport->write("x");
      }
    }
    void dataReceived(std::string_view data) override { answers.append(data); }
    void connectionLost(const Failure&) override { onLost(); }
  };
  TwistedPeer twisted({"--unix", path, "server", "fds", std::to_string(kDescriptors)});
  ASSERT_EQ(twisted.port(), 0) << "python3-twisted missing? (tools/install-deps test)";
  auto sender = std::make_shared<Sender>();
  sender->onLost = [this] { reactor->stop(); };
  reactor->connectUNIX(path, std::make_shared<ClientFactory>([sender] { return sender; }));
  runReactor(60);
  std::string expected;
  for (int i = 0; i < kDescriptors; ++i) expected += "ours " + std::to_string(i) + "\n";
  EXPECT_EQ(sender->answers, expected);
  EXPECT_EQ(twisted.line(), "OK " + std::to_string(kDescriptors));
  EXPECT_EQ(twisted.wait(), 0);
}

// A Twisted client sends pipes' read ends ("pipe <i>"); our
// IFileDescriptorReceiver reads each.
TEST_P(TwistedUNIXInteropTest, WeReadTheDescriptorsATwistedClientSends) {
  struct Reader : Protocol, IFileDescriptorReceiver {
    std::vector<std::string> texts;
    std::function<void()> onLost;
    void fileDescriptorReceived(int fd) override {
      char buf[64];
      ssize_t n = ::read(fd, buf, sizeof buf);
      texts.emplace_back(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
      ::close(fd);
      if (texts.size() == kDescriptors) transport->loseConnection();
    }
    void connectionLost(const Failure&) override { onLost(); }
  };
  auto reader = std::make_shared<Reader>();
  std::shared_ptr<IListeningPort> port =
      reactor->listenUNIX(path, std::make_shared<Factory>([reader] { return reader; }));
  reader->onLost = [&] { port->stopListening().addCallback([this] { reactor->stop(); }); };
  TwistedPeer twisted({"--unix", path, "client", "sendfds", std::to_string(kDescriptors)});
  runReactor(60);
  ASSERT_EQ(reader->texts.size(), static_cast<std::size_t>(kDescriptors));
  for (int i = 0; i < kDescriptors; ++i) EXPECT_EQ(reader->texts[i], "pipe " + std::to_string(i));
  EXPECT_EQ(twisted.line(), "OK sent " + std::to_string(kDescriptors));
  EXPECT_EQ(twisted.wait(), 0);
}

}  // namespace

TWISTED_ALL_BACKENDS(TwistedInteropTest);
TWISTED_ALL_BACKENDS(TwistedUNIXInteropTest);

}  // namespace twisted::test
