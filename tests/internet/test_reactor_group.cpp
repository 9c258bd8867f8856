// ReactorGroup: workers on their own threads serving one address with
// SO_REUSEPORT, each connection owned by the worker that accepted it, one
// factory shared, a stop that ends every worker's connections. On every
// backend; label threads (TSan).
#include "twisted/internet/reactor_group.hpp"

#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "reactor_test.hpp"
#include "twisted/internet/task.hpp"
#include "twisted/logger/logger.hpp"
#include "twisted/testing/janitor.hpp"

namespace twisted::test {
namespace {

class GroupTest : public ::testing::TestWithParam<Backend> {};

// Counts, under threads, what the workers' protocols saw.
struct Tally {
  std::atomic<int> built{0}, made{0}, lost{0}, onAnotherThread{0};
  std::atomic<int> starts{0}, stops{0};
  std::mutex mutex;
  std::map<std::thread::id, int> perThread;
};

class TallyEcho : public Protocol {
 public:
  TallyEcho(Tally& tally, std::thread::id builtOn) : tally_(tally), builtOn_(builtOn) {}
  void connectionMade() override {
    if (std::this_thread::get_id() != builtOn_) ++tally_.onAnotherThread;
    {
      std::lock_guard lock(tally_.mutex);
      ++tally_.perThread[builtOn_];
    }
    ++tally_.made;
  }
  void dataReceived(std::string_view data) override {
    if (std::this_thread::get_id() != builtOn_) ++tally_.onAnotherThread;
    transport->write(data);
  }
  void connectionLost(const Failure&) override {
    if (std::this_thread::get_id() != builtOn_) ++tally_.onAnotherThread;
    ++tally_.lost;
  }

 private:
  Tally& tally_;
  std::thread::id builtOn_;
};

// One factory for every worker: buildProtocol on whichever thread asks.
class TallyFactory : public Factory {
 public:
  explicit TallyFactory(Tally& tally) : tally_(tally) {}
  std::shared_ptr<Protocol> buildProtocol(const Address&) override {
    ++tally_.built;
    return std::make_shared<TallyEcho>(tally_, std::this_thread::get_id());
  }
  void startFactory() override { ++tally_.starts; }
  void stopFactory() override { ++tally_.stops; }

 private:
  Tally& tally_;
};

// A client that sends `hello` and counts its echo and its end.
class Client : public Protocol {
 public:
  std::function<void(Client&)> onEcho, onLost;
  std::string got;
  void connectionMade() override { transport->write("hello"); }
  void dataReceived(std::string_view data) override {
    got += data;
    if (got == "hello" && onEcho) onEcho(*this);
  }
  void connectionLost(const Failure&) override {
    if (onLost) onLost(*this);
  }
};

int portOf(const std::shared_ptr<IListeningPort>& port) {
  return std::get<IPv4Address>(port->getHost()).port;
}

// Nothing left on any worker once the group has run (no port, connection,
// timer or descriptor).
void expectNothingLeft(const testing::Janitor& janitor, ReactorGroup& group) {
  for (int i = 0; i < group.size(); ++i) {
    EXPECT_EQ(janitor.reactorLeftovers(group.worker(i)), std::vector<std::string>{})
        << ReactorGroup::workerName(i);
  }
}

// Runs `reactor` until it stops, failing the test after a generous bound.
void runBounded(Reactor& reactor, double bound = 60) {
  bool timedOut = false;
  auto guard = reactor.callLater(bound, [&] {
    timedOut = true;
    reactor.stop();
  });
  reactor.run(false);
  if (guard.active()) guard.cancel();
  EXPECT_FALSE(timedOut) << "not done within " << bound << " s";
}

TEST_P(GroupTest, EveryConnectionIsServedOnTheWorkerThatAcceptedIt) {
  testing::Janitor janitor;
  Tally tally;
  auto factory = std::make_shared<TallyFactory>(tally);
  constexpr int kClients = 64;
  {
    ReactorGroup group(2, GetParam());
    auto ports = group.listenTCP(0, factory, 128, "127.0.0.1");
    ASSERT_EQ(ports.size(), 2u);
    EXPECT_EQ(portOf(ports[0]), portOf(ports[1])) << "one address, a socket per worker";
    EXPECT_EQ(factory->numPorts(), 2);
    std::thread server([&] { group.run(false); });

    Reactor client(GetParam());
    int echoed = 0, closed = 0;
    for (int i = 0; i < kClients; ++i) {
      auto c = std::make_shared<Client>();
      c->onEcho = [&](Client& self) {
        ++echoed;
        self.transport->loseConnection();
      };
      c->onLost = [&](Client&) {
        if (++closed == kClients) client.stop();
      };
      client.connectTCP(
          "127.0.0.1", portOf(ports[0]),
          std::make_shared<ClientFactory>([c]() -> std::shared_ptr<Protocol> { return c; }));
    }
    runBounded(client);
    EXPECT_EQ(echoed, kClients);
    group.stop();
    server.join();
    expectNothingLeft(janitor, group);
  }
  EXPECT_EQ(janitor.leakedFds(), std::vector<std::string>{});
  EXPECT_EQ(tally.built.load(), kClients);
  EXPECT_EQ(tally.made.load(), kClients);
  EXPECT_EQ(tally.lost.load(), kClients);
  EXPECT_EQ(tally.onAnotherThread.load(), 0) << "a connection stays on its worker's thread";
  EXPECT_EQ(tally.perThread.size(), 2u) << "the kernel spread 64 connections over both workers";
  EXPECT_EQ(tally.starts.load(), 1) << "a shared factory starts once";
  EXPECT_EQ(tally.stops.load(), 1) << "and stops once, when the last worker stops listening";
  EXPECT_EQ(factory->numPorts(), 0);
}

TEST_P(GroupTest, StopEndsEveryWorkersConnectionsWithConnectionLost) {
  testing::Janitor janitor;
  Tally tally;
  auto factory = std::make_shared<TallyFactory>(tally);
  constexpr int kClients = 20;
  int lost = 0;
  {
    ReactorGroup group(2, GetParam());
    auto ports = group.listenTCP(0, factory, 128, "127.0.0.1");
    std::thread server([&] { group.run(false); });
    Reactor client(GetParam());
    for (int i = 0; i < kClients; ++i) {
      auto c = std::make_shared<Client>();
      c->onLost = [&](Client&) {
        if (++lost == kClients) client.stop();
      };
      client.connectTCP(
          "127.0.0.1", portOf(ports[0]),
          std::make_shared<ClientFactory>([c]() -> std::shared_ptr<Protocol> { return c; }));
    }
    // Once every connection is made on the workers, stop the group from here.
    task::LoopingCall watch(client, [&] {
      if (tally.made.load() == kClients) {
        group.stop();
        watch.stop();
      }
    });
    watch.start(0.01);
    runBounded(client);
    server.join();
    expectNothingLeft(janitor, group);
    EXPECT_EQ(janitor.reactorLeftovers(client), std::vector<std::string>{});
  }
  EXPECT_EQ(janitor.leakedFds(), std::vector<std::string>{});
  EXPECT_EQ(lost, kClients) << "each client saw its connection end";
  EXPECT_EQ(tally.lost.load(), kClients) << "each worker ended its own with connectionLost";
  EXPECT_EQ(tally.onAnotherThread.load(), 0);
}

TEST_P(GroupTest, AStopBeforeRunEndsTheRunAtOnce) {
  ReactorGroup group(3, GetParam());
  std::atomic<int> started{0};
  for (int i = 0; i < group.size(); ++i) group.worker(i).callWhenRunning([&] { ++started; });
  group.stop();
  group.run(false);  // returns: every worker runs one turn and stops
  EXPECT_EQ(started.load(), group.size()) << "each worker ran, then stopped";
  for (int i = 0; i < group.size(); ++i) EXPECT_FALSE(group.worker(i).running());
}

TEST_P(GroupTest, EachWorkersLogLinesNameIt) {
  LogCapture logs;
  ReactorGroup group(2, GetParam());
  logger::Logger log("test.group");
  std::atomic<int> told{0};
  for (int i = 0; i < group.size(); ++i) {
    group.worker(i).callWhenRunning([&, i] {
      log.info("worker {n} running", {{"n", i}});
      if (++told == group.size()) group.stop();
    });
  }
  group.run(false);
  std::set<std::string> systems;
  for (const auto& e : logs.events()) {
    if (e.logNamespace == "test.group") systems.insert(e.system);
  }
  EXPECT_EQ(systems, (std::set<std::string>{"worker-1", "worker-2"}));
  EXPECT_EQ(logger::threadLogSystem(), "") << "the caller's own name is given back";
}

TEST_P(GroupTest, AnAddressInUseIsCannotListenErrorAndLeavesNothingOpen) {
  testing::Janitor janitor;
  // A socket without SO_REUSEPORT holds the port: the group cannot join it.
  int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(holder, 1), 0);
  socklen_t n = sizeof a;
  ::getsockname(holder, reinterpret_cast<sockaddr*>(&a), &n);
  Tally tally;
  {
    ReactorGroup group(2, GetParam());
    auto factory = std::make_shared<TallyFactory>(tally);
    try {
      group.listenTCP(ntohs(a.sin_port), factory, 50, "127.0.0.1");
      ADD_FAILURE() << "listened on a port another socket holds";
    } catch (const error::CannotListenError& e) {
      EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
    }
    EXPECT_THROW(group.listenTCP(0, factory, 50, "not-an-address"), error::CannotListenError);
    EXPECT_EQ(factory->numPorts(), 0);
  }
  ::close(holder);
  EXPECT_EQ(janitor.leakedFds(), std::vector<std::string>{});
}

TEST(ReactorGroupTest, AvailableCoresIsThisProcesssAffinity) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
  EXPECT_EQ(ReactorGroup::availableCores(), CPU_COUNT(&set));
  EXPECT_THROW(ReactorGroup(0), std::invalid_argument);
}

TWISTED_ALL_BACKENDS(GroupTest);

}  // namespace
}  // namespace twisted::test
