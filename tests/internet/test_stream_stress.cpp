// 2,000 connections through one reactor, a third of them ending normally, a
// third half-closing, a third reset by the client: every byte of a
// connection that was not reset comes back, every connection is lost
// exactly once on each side, nothing is left open. Over TCP and UNIX
// sockets, on poll, epoll and iouring (select cannot watch descriptors past
// FD_SETSIZE, which 2,000 connections of both ends need).
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "reactor_test.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor_unix.hpp"

namespace twisted::test {
namespace {

constexpr int kConnections = 2000;
constexpr int kInFlight = 400;  // clients connecting or connected at once

enum class Ending { Normal, HalfClose, Reset };

Ending endingOf(int id) {
  return static_cast<Ending>(id % 3);
}

// Each client's bytes: its own, of a size between 1 B and 24 KiB (more than
// one read, and than one socket buffer's first write, for the larger ones).
std::string payloadOf(int id) {
  std::size_t size = 1 + static_cast<std::size_t>((id * 7919) % (24 * 1024));
  std::string p(size, '\0');
  std::uint32_t x = static_cast<std::uint32_t>(id) * 2654435761u + 1;
  for (auto& c : p) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return p;
}

void halfClose(ITransport& transport) {
  if (auto* tcp = dynamic_cast<ITCPTransport*>(&transport)) {
    tcp->loseWriteConnection();
  } else {
    dynamic_cast<IUNIXTransport&>(transport).loseWriteConnection();
  }
}

struct Tally {
  int serverMade = 0;
  int serverLost = 0;
  int serverLostTwice = 0;
  int started = 0;
  int finished = 0;
  int intact = 0;    // normal and half-closed clients that got all their bytes back
  int expected = 0;  // how many should have
  int cleanEnds = 0;
  std::vector<std::string> problems;
};

// Echoes; a peer's half-close is answered by closing once the echo is sent.
class StressEcho : public Protocol, public IHalfCloseableProtocol {
 public:
  explicit StressEcho(Tally& tally) : tally_(tally) {}
  void connectionMade() override { ++tally_.serverMade; }
  void dataReceived(std::string_view data) override { transport->write(data); }
  void readConnectionLost() override { transport->loseConnection(); }
  void writeConnectionLost() override {}
  void connectionLost(const Failure&) override {
    if (lost_++) ++tally_.serverLostTwice;
    ++tally_.serverLost;
  }

 private:
  Tally& tally_;
  int lost_ = 0;
};

class StressClient : public Protocol, public IHalfCloseableProtocol {
 public:
  StressClient(Tally& tally, int id, std::function<void()> done)
      : tally_(tally), id_(id), payload_(payloadOf(id)), done_(std::move(done)) {}
  void connectionMade() override {
    transport->write(payload_);
    if (endingOf(id_) == Ending::HalfClose) halfClose(*transport);
  }
  void dataReceived(std::string_view data) override {
    got_ += data;
    if (endingOf(id_) == Ending::Reset) {
      // The server has this connection (it echoed): reset it mid-stream.
      if (!aborted_) {
        aborted_ = true;
        transport->abortConnection();
      }
      return;
    }
    if (got_.size() > payload_.size()) {
      problem("more bytes back than sent");
    } else if (endingOf(id_) == Ending::Normal && got_.size() == payload_.size()) {
      transport->loseConnection();
    }
  }
  // The server's close after our half-close: both directions are shut, and
  // (as in Twisted) a half-closeable protocol closes the connection itself.
  void readConnectionLost() override { transport->loseConnection(); }
  void writeConnectionLost() override {}
  void connectionLost(const Failure& reason) override {
    if (lost_++) {
      problem("connectionLost twice");
      return;
    }
    if (endingOf(id_) != Ending::Reset) {
      ++tally_.expected;
      if (got_ == payload_) {
        ++tally_.intact;
      } else {
        problem("got " + std::to_string(got_.size()) + " of " + std::to_string(payload_.size()) +
                " bytes back");
      }
      if (reason.check<error::ConnectionDone>()) {
        ++tally_.cleanEnds;
      } else {
        problem("ended by " + reason.brief());
      }
    }
    ++tally_.finished;
    done_();
  }

 private:
  void problem(const std::string& what) {
    if (tally_.problems.size() < 20) {
      tally_.problems.push_back("client " + std::to_string(id_) + ": " + what);
    }
  }

  Tally& tally_;
  int id_;
  std::string payload_;
  std::string got_;
  bool aborted_ = false;
  int lost_ = 0;
  std::function<void()> done_;
};

// Tells of a connection that could not be made.
class StressClientFactory : public ClientFactory {
 public:
  using ClientFactory::ClientFactory;
  std::function<void(const Failure&)> onFailed;
  void clientConnectionFailed(IConnector&, const Failure& reason) override { onFailed(reason); }
};

class StreamStressTest : public ReactorTest {
 protected:
  void SetUp() override {
    // Both ends of 400 connections and the test's own: raise the soft
    // limit towards the hard one if it is low.
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < 4096 && limit.rlim_max >= 4096) {
      limit.rlim_cur = 4096;
      ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < 2 * kInFlight + 256) GTEST_SKIP() << "too few descriptors allowed";
    ReactorTest::SetUp();
  }

  // Runs every client against `connect` (which starts one connection with
  // the given factory), kInFlight at a time, then checks the tally.
  void stress(const std::function<void(std::shared_ptr<ClientFactory>)>& connect) {
    std::function<void()> startOne = [&] {
      int id = tally_.started++;
      auto factory = std::make_shared<StressClientFactory>([&, id]() -> std::shared_ptr<Protocol> {
        return std::make_shared<StressClient>(tally_, id, [&] {
          if (tally_.started < kConnections) {
            startOne();
          } else if (tally_.finished == kConnections) {
            reactor->stop();
          }
        });
      });
      factory->onFailed = [&, id](const Failure& reason) {
        tally_.problems.push_back("client " + std::to_string(id) + " failed: " + reason.brief());
        ++tally_.finished;
        if (tally_.finished == kConnections) reactor->stop();
      };
      connect(factory);
    };
    reactor->callWhenRunning([&] {
      for (int i = 0; i < kInFlight; ++i) startOne();
    });
    runReactor(300);  // a bound for a loaded machine (ASan, 2 cores)
    EXPECT_EQ(tally_.problems, std::vector<std::string>{});
    EXPECT_EQ(tally_.finished, kConnections);
    EXPECT_EQ(tally_.serverMade, kConnections) << "every connection was accepted";
    EXPECT_EQ(tally_.expected, kConnections - kConnections / 3);
    EXPECT_EQ(tally_.intact, tally_.expected) << "nothing lost on a connection not reset";
    EXPECT_EQ(tally_.cleanEnds, tally_.expected);
    // The server's ends close after the clients' (a reset is read on the
    // next turn): give them turns until every one is lost.
    for (int turn = 0; turn < 100000 && tally_.serverLost < kConnections; ++turn) {
      reactor->iterate(0.001);
    }
    EXPECT_EQ(tally_.serverLost, kConnections) << "each server side lost its connection";
    EXPECT_EQ(tally_.serverLostTwice, 0) << "and only once";
  }

  std::shared_ptr<Factory> serverFactory() {
    return std::make_shared<Factory>(
        [this]() -> std::shared_ptr<Protocol> { return std::make_shared<StressEcho>(tally_); });
  }

  Tally tally_;
};

TEST_P(StreamStressTest, TwoThousandTCPConnectionsWithResetsAndHalfClosesLoseNothing) {
  auto port = reactor->listenTCP(0, serverFactory(), 1024, "127.0.0.1");
  int number = std::get<IPv4Address>(port->getHost()).port;
  stress([&](std::shared_ptr<ClientFactory> f) { reactor->connectTCP("127.0.0.1", number, f); });
  port->stopListening();
}

TEST_P(StreamStressTest, TwoThousandUNIXConnectionsWithResetsAndHalfClosesLoseNothing) {
  std::string path = std::string("\0twisted-stress-", 16) + std::to_string(::getpid());
  auto port = reactor->listenUNIX(path, serverFactory(), 1024);
  stress([&](std::shared_ptr<ClientFactory> f) { reactor->connectUNIX(path, f); });
  port->stopListening();
}

INSTANTIATE_TEST_SUITE_P(Backends, StreamStressTest,
                         ::testing::Values(Backend::Poll, Backend::Epoll, Backend::IoUring),
                         backendParamName);

}  // namespace
}  // namespace twisted::test
