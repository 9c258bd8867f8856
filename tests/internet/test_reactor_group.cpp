// ReactorGroup: workers on their own threads serving one address with
// SO_REUSEPORT or one shared socket, each connection owned by the worker
// that accepted it, one factory shared, a stop that ends every worker's
// connections, the TCP ports of shareTCPPorts. On every backend; label
// threads (TSan).
#include "twisted/internet/reactor_group.hpp"

#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
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

// Each test's janitor (made first: it counts the descriptors open before
// the test), what the workers' protocols saw, and the factory they share.
class GroupTest : public ::testing::TestWithParam<Backend> {
 protected:
  testing::Janitor janitor;
  Tally tally;
  std::shared_ptr<TallyFactory> factory = std::make_shared<TallyFactory>(tally);
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

// Stops the group `server` runs, waits for it, and checks nothing is left.
void stopAndCheck(ReactorGroup& group, std::thread& server, const testing::Janitor& janitor) {
  group.stop();
  server.join();
  expectNothingLeft(janitor, group);
}

// Every client's connection made and lost, each on its worker's thread.
void expectEachServedOnItsWorker(const Tally& tally, int clients) {
  EXPECT_EQ(tally.made.load(), clients);
  EXPECT_EQ(tally.lost.load(), clients);
  EXPECT_EQ(tally.onAnotherThread.load(), 0) << "a connection stays on its worker's thread";
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

// Connects `count` clients to `port`, each sending "hello" and closing once
// it has the echo; returns how many were echoed.
int echoClients(Backend backend, int port, int count) {
  Reactor client(backend);
  int echoed = 0, closed = 0;
  for (int i = 0; i < count; ++i) {
    auto c = std::make_shared<Client>();
    c->onEcho = [&](Client& self) {
      ++echoed;
      self.transport->loseConnection();
    };
    c->onLost = [&](Client&) {
      if (++closed == count) client.stop();
    };
    client.connectTCP(
        "127.0.0.1", port,
        std::make_shared<ClientFactory>([c]() -> std::shared_ptr<Protocol> { return c; }));
  }
  runBounded(client);
  return echoed;
}

TEST_P(GroupTest, EveryConnectionIsServedOnTheWorkerThatAcceptedIt) {
  constexpr int kClients = 64;
  {
    ReactorGroup group(2, GetParam());
    auto ports = group.listenTCP(0, factory, 128, "127.0.0.1");
    ASSERT_EQ(ports.size(), 2u);
    EXPECT_EQ(portOf(ports[0]), portOf(ports[1])) << "one address, a socket per worker";
    EXPECT_EQ(factory->numPorts(), 2);
    std::thread server([&] { group.run(false); });

    EXPECT_EQ(echoClients(GetParam(), portOf(ports[0]), kClients), kClients);
    stopAndCheck(group, server, janitor);
  }
  EXPECT_EQ(janitor.leakedFds(), std::vector<std::string>{});
  EXPECT_EQ(tally.built.load(), kClients);
  expectEachServedOnItsWorker(tally, kClients);
  EXPECT_EQ(tally.perThread.size(), 2u) << "the kernel spread 64 connections over both workers";
  EXPECT_EQ(tally.starts.load(), 1) << "a shared factory starts once";
  EXPECT_EQ(tally.stops.load(), 1) << "and stops once, when the last worker stops listening";
  EXPECT_EQ(factory->numPorts(), 0);
}

TEST_P(GroupTest, StopEndsEveryWorkersConnectionsWithConnectionLost) {
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
  // A socket without SO_REUSEPORT holds the port: the group cannot join it.
  int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(holder, 1), 0);
  socklen_t n = sizeof a;
  ::getsockname(holder, reinterpret_cast<sockaddr*>(&a), &n);
  {
    ReactorGroup group(2, GetParam());
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

TEST_P(GroupTest, ASharedSocketIsAcceptedByAWorkerThatIsFree) {
  constexpr int kClients = 32;
  std::thread::id busyThread;
  {
    ReactorGroup group(2, GetParam());
    auto ports =
        group.listenTCP(0, factory, 128, "127.0.0.1", ReactorGroup::ListenMode::SharedSocket);
    ASSERT_EQ(ports.size(), 2u);
    EXPECT_EQ(portOf(ports[0]), portOf(ports[1])) << "one socket";
    // Worker 0 is kept busy (inside a call, not waiting) until every client
    // has its echo: with one shared socket the free worker takes them all,
    // where SO_REUSEPORT would leave about half in the busy one's queue.
    std::mutex mutex;
    std::condition_variable cv;
    bool release = false;
    group.worker(0).callFromThread([&] {
      busyThread = std::this_thread::get_id();
      std::unique_lock lock(mutex);
      cv.wait_for(lock, std::chrono::seconds(120), [&] { return release; });
    });
    std::thread server([&] { group.run(false); });
    EXPECT_EQ(echoClients(GetParam(), portOf(ports[0]), kClients), kClients);
    {
      std::lock_guard lock(mutex);
      release = true;
    }
    cv.notify_all();
    stopAndCheck(group, server, janitor);
  }
  EXPECT_EQ(janitor.leakedFds(), std::vector<std::string>{});
  expectEachServedOnItsWorker(tally, kClients);
  EXPECT_EQ(tally.perThread.size(), 1u);
  EXPECT_EQ(tally.perThread.count(busyThread), 0u) << "the busy worker accepted none";
  EXPECT_EQ(tally.starts.load(), 1);
  EXPECT_EQ(tally.stops.load(), 1);
}

// The events mask (hex) that /proc/self/fdinfo shows for `fd` in each epoll
// instance of this process that watches it.
std::vector<unsigned> epollMasksOf(int fd) {
  std::vector<unsigned> masks;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (ec || target.string() != "anon_inode:[eventpoll]") continue;
    std::ifstream info("/proc/self/fdinfo/" + entry.path().filename().string());
    for (std::string line; std::getline(info, line);) {
      int tfd = -1;
      unsigned events = 0;
      if (std::sscanf(line.c_str(), "tfd: %d events: %x", &tfd, &events) == 2 && tfd == fd) {
        masks.push_back(events);
      }
    }
  }
  return masks;
}

TEST(ReactorGroupEpoll, ASharedSocketWakesOneWorkerPerConnection) {
  ReactorGroup group(2, Backend::Epoll);
  auto factory = Factory::forProtocol<Protocol>();
  auto shared =
      group.listenTCP(0, factory, 50, "127.0.0.1", ReactorGroup::ListenMode::SharedSocket);
  for (const auto& port : shared) {
    int fd = std::dynamic_pointer_cast<IFileDescriptor>(port)->fileno();
    auto masks = epollMasksOf(fd);
    ASSERT_EQ(masks.size(), 1u) << "fd " << fd;
    EXPECT_NE(masks[0] & EPOLLEXCLUSIVE, 0u) << std::hex << masks[0];
    EXPECT_NE(masks[0] & EPOLLIN, 0u) << std::hex << masks[0];
  }
  auto own = group.listenTCP(0, factory, 50, "127.0.0.1");  // ReusePort: no one else waits
  for (const auto& port : own) {
    auto masks = epollMasksOf(std::dynamic_pointer_cast<IFileDescriptor>(port)->fileno());
    ASSERT_EQ(masks.size(), 1u);
    EXPECT_EQ(masks[0] & EPOLLEXCLUSIVE, 0u) << std::hex << masks[0];
  }
  for (auto& p : shared) p->stopListening();
  for (auto& p : own) p->stopListening();
}

TEST_P(GroupTest, SharedTCPPortsGiveEveryWorkerThePortsOfTheFirst) {
  constexpr int kClients = 64;
  {
    ReactorGroup group(3, GetParam());
    group.shareTCPPorts();
    // What a service made on each worker does: listen on tcp:0 twice.
    std::vector<std::vector<int>> numbers(3);
    for (int w = 0; w < group.size(); ++w) {
      for (int rank = 0; rank < 2; ++rank) {
        numbers[w].push_back(portOf(group.worker(w).listenTCP(0, factory, 128, "127.0.0.1")));
      }
    }
    EXPECT_NE(numbers[0][0], numbers[0][1]) << "two ports";
    EXPECT_EQ(numbers[1], numbers[0]) << "rank by rank, worker 0's numbers";
    EXPECT_EQ(numbers[2], numbers[0]);
    std::thread server([&] { group.run(false); });
    EXPECT_EQ(echoClients(GetParam(), numbers[0][1], kClients), kClients);
    stopAndCheck(group, server, janitor);
  }
  EXPECT_EQ(janitor.leakedFds(), std::vector<std::string>{});
  expectEachServedOnItsWorker(tally, kClients);
  EXPECT_EQ(tally.perThread.size(), 3u) << "the kernel spread 64 connections over 3 workers";
  EXPECT_EQ(tally.starts.load(), 1);
  EXPECT_EQ(tally.stops.load(), 1);
}

TEST_P(GroupTest, SharedTCPPortsRefuseAPortZeroTheFirstWorkerHasNotBound) {
  ReactorGroup group(2, GetParam());
  group.shareTCPPorts();
  auto factory = Factory::forProtocol<Protocol>();
  try {
    group.worker(1).listenTCP(0, factory, 50, "127.0.0.1");
    ADD_FAILURE() << "a port 0 with no number to agree on was bound";
  } catch (const error::CannotListenError& e) {
    EXPECT_NE(std::string(e.what()).find("listen on the first worker first"), std::string::npos)
        << e.what();
  }
  auto first = group.worker(0).listenTCP(0, factory, 50, "127.0.0.1");
  auto fixed = group.worker(1).listenTCP(portOf(first), factory, 50, "127.0.0.1");
  EXPECT_EQ(portOf(fixed), portOf(first)) << "a port number given is bound as given";
  first->stopListening();
  fixed->stopListening();
}

TEST_P(GroupTest, RunBlocksSigtermOnEveryThreadButTheCallers) {
  ReactorGroup group(3, GetParam());
  std::atomic<int> blocked{0}, told{0};
  for (int i = 1; i < group.size(); ++i) {
    group.worker(i).callWhenRunning([&] {
      sigset_t mask;
      ::pthread_sigmask(SIG_BLOCK, nullptr, &mask);
      if (sigismember(&mask, SIGTERM) && sigismember(&mask, SIGINT)) ++blocked;
      if (++told == group.size() - 1) group.stop();
    });
  }
  bool callerBlocked = true;
  group.worker(0).callWhenRunning([&] {
    sigset_t mask;
    ::pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    callerBlocked = sigismember(&mask, SIGTERM);
  });
  group.run(true);
  EXPECT_EQ(blocked.load(), group.size() - 1) << "the other workers leave signals to the caller";
  EXPECT_FALSE(callerBlocked);
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
