// The PROXY protocol against the real HAProxy (Debian's haproxy 2.6,
// /usr/sbin/haproxy), on every backend: `twist echo --listen haproxy:tcp:0`
// behind send-proxy and send-proxy-v2, and an in-process
// serverFromString("haproxy:tcp:0") server whose getPeer() must be the
// client's own address. Skipped where haproxy is not installed.
//
// No port is guessed: haproxy's frontends are UNIX sockets in a scratch
// directory, or TCP sockets this test binds to port 0 and haproxy inherits
// (bind fd@N); the servers' ports come from their own listening sockets.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "iterate_until.hpp"
#include "process_helpers.hpp"
#include "reactor_test.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/protocol.hpp"

namespace twisted::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kHAProxy = "/usr/sbin/haproxy";
const std::string kTwist = TWIST_PATH;
// How long a step may take on a loaded machine: a bound, never a verdict.
constexpr int kWaitMs = 60000;

bool haveHAProxy() {
  return ::access(kHAProxy.c_str(), X_OK) == 0;
}

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "twisted-haproxy-XXXXXX").string();
    if (::mkdtemp(tmpl.data())) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string path(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// One frontend passing its connections to one server, with the PROXY
// header `sendProxy` asks for.
std::string proxy(const std::string& name, const std::string& bind, const std::string& server,
                  const std::string& sendProxy) {
  return "frontend " + name + "\n  bind " + bind + "\n  default_backend " + name + "\n" +
         "backend " + name + "\n  server " + name + " " + server + " " + sendProxy + "\n";
}

const std::string kDefaults =
    "global\n  maxconn 64\n"
    "defaults\n  mode tcp\n  timeout connect 60s\n  timeout client 60s\n  timeout server 60s\n";

// haproxy in the foreground (-db) on a generated configuration; what it
// prints on stderr is kept for the failure messages.
class HAProxy {
 public:
  HAProxy(const ScratchDir& dir, const std::string& config)
      : config_(dir.path("haproxy.cfg")), log_(dir.path("haproxy.log")) {
    std::ofstream(config_) << kDefaults << config;
    program_ = std::make_unique<BackgroundProgram>(std::vector<std::string>{
        "/bin/sh", "-c", "exec " + kHAProxy + " -db -f " + config_ + " 2>" + log_});
  }
  bool running() { return !program_->exitStatus(); }
  std::string log() const {
    std::ifstream in(log_);
    std::stringstream text;
    text << in.rdbuf();
    std::ifstream cfg(config_);
    text << "\n--- " << config_ << ":\n" << cfg.rdbuf();
    return text.str();
  }

 private:
  std::string config_;
  std::string log_;
  std::unique_ptr<BackgroundProgram> program_;
};

// A blocking connection to the UNIX socket haproxy listens on, once it
// does; -1 if haproxy exited or never listened.
int connectUnix(const std::string& path, HAProxy& haproxy) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kWaitMs);
  while (std::chrono::steady_clock::now() < deadline && haproxy.running()) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    SocketAddress sa = toSocketAddress(UNIXAddress{path});
    if (::connect(fd, sa.get(), sa.length) == 0) return fd;
    ::close(fd);
    std::this_thread::sleep_for(10ms);
  }
  return -1;
}

// A listening socket on 127.0.0.1 that haproxy inherits (not close-on-exec)
// and uses as its frontend with "bind fd@N"; `port` is where it listens.
Fd inheritableListener(int& port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(fd.get(), 16) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return Fd();
  }
  port = ntohs(addr.sin_port);
  return fd;
}

// ---- twist echo behind haproxy ------------------------------------------------------

class HAProxyTwistTest : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Backends, HAProxyTwistTest,
                         ::testing::Values("select", "poll", "epoll", "iouring"),
                         [](const auto& info) { return info.param; });

TEST_P(HAProxyTwistTest, EchoesThroughSendProxyAndSendProxyV2) {
  if (!haveHAProxy()) GTEST_SKIP() << kHAProxy << " is not installed (tools/install-deps test)";
  ScratchDir dir;
  BackgroundProgram twist(
      {kTwist, "--reactor", GetParam(), "echo", "--listen", "haproxy:tcp:0:interface=127.0.0.1"},
      true);
  std::string line = twist.waitForLine("starting on", kWaitMs);
  ASSERT_NE(line, "") << "twist did not start";
  EXPECT_NE(line.find("(PROXY) starting on"), std::string::npos) << line;
  std::string server = "127.0.0.1:" + std::to_string(portFromLine(line));
  // Behind a UNIX frontend HAProxy has no client address to give: it sends
  // v1 UNKNOWN and a v2 LOCAL header, both of which must be accepted.
  HAProxy haproxy(dir, proxy("v1", "unix@" + dir.path("v1.sock"), server, "send-proxy") +
                           proxy("v2", "unix@" + dir.path("v2.sock"), server, "send-proxy-v2"));
  for (std::string name : {"v1", "v2"}) {
    int fd = connectUnix(dir.path(name + ".sock"), haproxy);
    ASSERT_GE(fd, 0) << haproxy.log();
    // Less than any socket buffer on the way, so that writing it all
    // before reading cannot block.
    std::string message;
    for (int i = 0; message.size() < 32 * 1024; ++i)
      message += name + " line " + std::to_string(i) + "\n";
    sendAll(fd, message);
    EXPECT_EQ(readExactly(fd, message.size(), kWaitMs), message) << name << "\n" << haproxy.log();
    ::close(fd);
  }
  // Straight to twist, without a header: closed, and the reason logged.
  int direct = connectTo(portFromLine(line));
  ASSERT_GE(direct, 0);
  sendAll(direct, "hello\r\n");
  EXPECT_EQ(readToEof(direct, kWaitMs), std::optional<std::string>(""));
  ::close(direct);
  EXPECT_NE(twist.waitForLine("does not start with a PROXY protocol header", kWaitMs), "");
}

// Beyond one machine's cores: several twist processes (each a reactor per
// core) behind one HAProxy that balances over them, each told the client
// by the PROXY protocol (docs/haproxy.md, "Several twist processes").
TEST_P(HAProxyTwistTest, BalancesOverTwoTwistProcessesOfTwoWorkersEach) {
  if (!haveHAProxy()) GTEST_SKIP() << kHAProxy << " is not installed (tools/install-deps test)";
  ScratchDir dir;
  std::vector<std::unique_ptr<BackgroundProgram>> twists;
  std::string servers;
  for (std::string name : {"a", "b"}) {
    auto twist = std::make_unique<BackgroundProgram>(
        std::vector<std::string>{kTwist, "--reactor", GetParam(), "--workers", "2", "echo",
                                 "--listen", "haproxy:tcp:0:interface=127.0.0.1"},
        true);
    std::string line = twist->waitForLine("starting on", kWaitMs);
    ASSERT_NE(line, "") << "twist " << name << " did not start";
    ASSERT_NE(twist->waitForLine("running on 2 workers", kWaitMs), "") << name;
    servers += "  server " + name + " 127.0.0.1:" + std::to_string(portFromLine(line)) +
               " send-proxy-v2\n";
    twists.push_back(std::move(twist));
  }
  std::vector<std::size_t> idle;
  for (auto& t : twists) idle.push_back(openFdCount(t->pid()));
  HAProxy haproxy(dir, "frontend lb\n  bind unix@" + dir.path("lb.sock") +
                           "\n  default_backend twists\nbackend twists\n  balance roundrobin\n" +
                           servers);
  constexpr int kClients = 8;
  std::vector<int> clients;
  for (int i = 0; i < kClients; ++i) {
    int fd = connectUnix(dir.path("lb.sock"), haproxy);
    ASSERT_GE(fd, 0) << haproxy.log();
    std::string message = "client " + std::to_string(i) + "\n";
    sendAll(fd, message);
    EXPECT_EQ(readExactly(fd, message.size(), kWaitMs), message) << haproxy.log();
    clients.push_back(fd);
  }
  // Each connection is open in one twist or the other, and each has some.
  std::size_t total = 0;
  for (std::size_t i = 0; i < twists.size(); ++i) {
    auto held = static_cast<long>(openFdCount(twists[i]->pid())) - static_cast<long>(idle[i]);
    EXPECT_GE(held, 1) << "twist " << i << " was given none";
    total += static_cast<std::size_t>(std::max(held, 0L));
  }
  EXPECT_EQ(total, static_cast<std::size_t>(kClients)) << haproxy.log();
  for (int fd : clients) ::close(fd);
  for (auto& t : twists) EXPECT_EQ(t->stop(), 0);
}

// ---- an in-process server behind haproxy ----------------------------------------------

// Answers each connection with the addresses it sees: "peer|host\n".
class AddressReporter : public Protocol {
 public:
  explicit AddressReporter(int* lost) : lost_(lost) {}
  void connectionMade() override {
    transport->write(toString(transport->getPeer()) + "|" + toString(transport->getHost()) + "\n");
  }
  void connectionLost(const Failure&) override { ++*lost_; }

 private:
  int* lost_;
};

// Records its own addresses and the answer, then closes.
class AddressAsker : public Protocol {
 public:
  std::optional<Address> host, peer;
  std::string answer;
  bool lost = false;
  void connectionMade() override {
    host = transport->getHost();
    peer = transport->getPeer();
  }
  void dataReceived(std::string_view data) override {
    answer += data;
    if (answer.find('\n') != std::string::npos) transport->loseConnection();
  }
  void connectionLost(const Failure&) override { lost = true; }
};

class HAProxyServerTest : public ReactorTest {};
TWISTED_ALL_BACKENDS(HAProxyServerTest);

TEST_P(HAProxyServerTest, ThePeerIsTheClientBehindHAProxy) {
  if (!haveHAProxy()) GTEST_SKIP() << kHAProxy << " is not installed (tools/install-deps test)";
  ScratchDir dir;
  int serverLost = 0;
  std::shared_ptr<IListeningPort> port;
  serverFromString(*reactor, "haproxy:tcp:0:interface=127.0.0.1")
      ->listen(std::make_shared<Factory>(
          [&serverLost] { return std::make_shared<AddressReporter>(&serverLost); }))
      .addCallback([&port](std::shared_ptr<IListeningPort> p) { port = std::move(p); });
  ASSERT_TRUE(port);
  std::string server = "127.0.0.1:" + std::to_string(std::get<IPv4Address>(port->getHost()).port);
  int v1Port = 0, v2Port = 0;
  Fd v1 = inheritableListener(v1Port), v2 = inheritableListener(v2Port);
  ASSERT_GE(v1.get(), 0);
  ASSERT_GE(v2.get(), 0);
  // crc32c adds a TLV to each v2 header, which the parser must skip.
  HAProxy haproxy(dir, proxy("v1", "fd@" + std::to_string(v1.get()), server, "send-proxy") +
                           proxy("v2", "fd@" + std::to_string(v2.get()), server,
                                 "send-proxy-v2 proxy-v2-options crc32c"));

  std::vector<std::shared_ptr<AddressAsker>> clients;
  for (int front : {v1Port, v2Port}) {
    reactor->connectTCP("127.0.0.1", front, std::make_shared<ClientFactory>([&clients] {
                          clients.push_back(std::make_shared<AddressAsker>());
                          return clients.back();
                        }));
  }
  ASSERT_TRUE(iterateUntil(
      *reactor,
      [&] {
        return !haproxy.running() ||
               (clients.size() == 2 && clients[0]->lost && clients[1]->lost && serverLost == 2);
      },
      "both answers, and every connection closed"))
      << haproxy.log();
  ASSERT_TRUE(haproxy.running()) << haproxy.log();
  for (const auto& client : clients) {
    ASSERT_TRUE(client->host && client->peer);
    // The server's peer is the client itself, not haproxy; its host is the
    // frontend the client connected to.
    EXPECT_EQ(client->answer, toString(*client->host) + "|" + toString(*client->peer) + "\n")
        << haproxy.log();
  }
  bool stopped = false;
  port->stopListening().addCallback([&stopped] { stopped = true; });
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return stopped; }, "the port to stop"));
}

}  // namespace
}  // namespace twisted::test
