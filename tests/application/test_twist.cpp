// End-to-end tests of the `twist` program: every plugin over real sockets,
// the port discovered from the log (tcp:0), error exits, clean shutdown, and
// bounded memory against slow or absent readers (Twisted's
// twisted/test/test_strports.py and the portforward tests, plus what the
// `twist` issue names). Every test that opens a socket runs on each reactor
// backend (TwistOnBackend, `--reactor select|poll|epoll`); only the usage and
// help tests run once.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "twist_program.hpp"
#include "twisted/protocols/wire.hpp"

namespace {

using twisted::test::BackgroundProgram;
using twisted::test::connectTo;
using twisted::test::kTwist;
using twisted::test::openFdCount;
using twisted::test::portFromLine;
using twisted::test::readExactly;
using twisted::test::readToEof;
using twisted::test::runProgram;
using twisted::test::sendAll;
using twisted::test::Twist;
using twisted::test::TwistOnBackend;
using namespace std::chrono_literals;

// Peak resident memory of a process, in KiB.
long peakRssKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmHWM:")) return std::stol(line.substr(6));
  }
  return -1;
}

// A usage error: status 2 and one line on stderr, starting "twist: ".
void expectUsageError(std::vector<std::string> args) {
  std::string shown;
  for (const auto& a : args) shown += a + " ";
  args.insert(args.begin(), kTwist);
  auto r = runProgram(args);
  EXPECT_EQ(r.status, 2) << shown << r.err;
  EXPECT_TRUE(r.err.starts_with("twist: ")) << shown << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << shown << r.err;
}

// A TCP socket listening on 127.0.0.1 at a port the kernel picks (put in
// `port`), without close-on-exec; -1 if it cannot be made.
int listenOnLoopback(int& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 16) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  port = ntohs(addr.sin_port);
  return fd;
}

INSTANTIATE_TEST_SUITE_P(Backends, TwistOnBackend,
                         ::testing::Values("select", "poll", "epoll", "iouring"),
                         [](const auto& info) { return info.param; });

// ---- command line and exit status ---------------------------------------------------

TEST(Twist, HelpListsThePluginsAndTheirOptions) {
  auto top = runProgram({kTwist, "--help"});
  EXPECT_EQ(top.status, 0);
  for (const char* plugin : {"echo", "discard", "chargen", "daytime", "qotd", "portforward"}) {
    EXPECT_NE(top.out.find(plugin), std::string::npos) << plugin;
  }
  EXPECT_NE(top.out.find("--reactor"), std::string::npos);
  EXPECT_NE(top.out.find("--log-format"), std::string::npos);
  auto echo = runProgram({kTwist, "echo", "--help"});
  EXPECT_EQ(echo.status, 0);
  EXPECT_NE(echo.out.find("--listen ENDPOINT"), std::string::npos) << echo.out;
  EXPECT_NE(echo.out.find("tcp:8000"), std::string::npos) << echo.out;
  auto forward = runProgram({kTwist, "portforward", "--help"});
  EXPECT_NE(forward.out.find("--dest CLIENT_ENDPOINT"), std::string::npos) << forward.out;
}

TEST(Twist, BadUsageIsOneLineOnStderrAndStatus2) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"nope"},
      {"echo", "--bogus"},
      {"echo", "--listen", "tcp:xx"},
      {"echo", "--listen", "udp:53"},
      {"--reactor", "kqueue", "echo"},
      {"--log-format", "xml", "echo"},
      {"portforward", "--listen", "tcp:0"},
      {"portforward", "--listen", "tcp:0", "--dest", "tcp:onlyhost"},
      {"qotd", "--quote", "a", "--quote", "b"},
      {"--log-file", "/nonexistent/dir/log", "echo", "--listen", "tcp:0"},
      {"--workers", "0", "echo", "--listen", "tcp:0"},
      {"--workers", "two", "echo", "--listen", "tcp:0"},
      {"echo", "--workers", "-1", "--listen", "tcp:0"},
      {"--workers", "2", "echo", "--listen", "stdio:"},
  };
  for (const auto& args : cases) expectUsageError(args);
}

TEST(Twist, WorkersUsageErrorsSayWhatIsWrong) {
  auto zero = runProgram({kTwist, "--workers", "0", "echo", "--listen", "tcp:0"});
  EXPECT_EQ(zero.status, 2);
  EXPECT_NE(zero.err.find("--workers: '0' is not a number of workers"), std::string::npos)
      << zero.err;
  auto stdio = runProgram({kTwist, "--workers", "2", "echo", "--listen", "stdio:"});
  EXPECT_EQ(stdio.status, 2);
  EXPECT_NE(stdio.err.find("cannot run with --workers 2"), std::string::npos) << stdio.err;
}

// The reactor runs and the bind fails: a usage error all the same.
TEST_P(TwistOnBackend, ANonLocalInterfaceIsAUsageError) {
  expectUsageError(on({"echo", "--listen", "tcp:0:interface=192.0.2.1"}));
}

TEST_P(TwistOnBackend, PortInUseIsStatus1NamingTheAddress) {
  int listening = 0;
  int fd = listenOnLoopback(listening);
  ASSERT_GE(fd, 0);
  std::string port = std::to_string(listening);
  auto r =
      runProgram(Twist::withPath(on({"echo", "--listen", "tcp:" + port + ":interface=127.0.0.1"})));
  ::close(fd);
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("127.0.0.1:" + port), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// ---- the plugins ----------------------------------------------------------------------

TEST_P(TwistOnBackend, EchoAnswersAndShutsDownCleanlyOnSigterm) {
  Twist twist({"--reactor", GetParam(), "echo", "--listen", "tcp:0:interface=127.0.0.1"});
  ASSERT_GT(twist.port, 0) << twist.line;
  int fd = connectTo(twist.port);
  ASSERT_GE(fd, 0);
  sendAll(fd, "hello twist\r\n");
  EXPECT_EQ(readExactly(fd, 13), "hello twist\r\n");
  // SIGTERM with a connection open: the port closes, the connection gets
  // connectionLost (the client reads end-of-file), the exit status is 0.
  EXPECT_EQ(twist.program.stop(), 0);
  EXPECT_EQ(readToEof(fd), std::optional<std::string>(""));
  ::close(fd);
}

TEST_P(TwistOnBackend, WorkersServeEveryConnectionAndStopCleanlyOnSigterm) {
  Twist twist(on({"--workers", "2", "echo", "--listen", "tcp:0:interface=127.0.0.1", "--listen",
                  "tcp:0:interface=127.0.0.1"}));
  // Each worker's two ports, in order, each line naming its worker: the
  // second worker's tcp:0 ports are the first one's numbers.
  std::vector<std::string> starts{twist.line};
  for (int i = 0; i < 3; ++i) starts.push_back(twist.program.waitForLine("starting on"));
  ASSERT_EQ(starts.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NE(starts[i].find(i < 2 ? "[worker-1]" : "[worker-2]"), std::string::npos) << starts[i];
  }
  std::vector<int> ports;
  for (const auto& line : starts) ports.push_back(portFromLine(line));
  EXPECT_NE(ports[0], ports[1]);
  EXPECT_EQ(ports[2], ports[0]);
  EXPECT_EQ(ports[3], ports[1]);
  std::string running = twist.program.waitForLine("running on 2 workers");
  ASSERT_NE(running, "") << "every worker started its service";
  EXPECT_NE(running.find("each on the " + GetParam() + " reactor"), std::string::npos) << running;

  pid_t pid = twist.program.pid();
  std::size_t idle = openFdCount(pid);
  constexpr int kClients = 40;
  std::vector<int> clients;
  for (int i = 0; i < kClients; ++i) {
    int fd = connectTo(ports[i % 2]);
    ASSERT_GE(fd, 0);
    clients.push_back(fd);
  }
  for (int i = 0; i < kClients; ++i) {
    std::string message = "client " + std::to_string(i) + "\n";
    sendAll(clients[i], message);
    EXPECT_EQ(readExactly(clients[i], message.size()), message);
  }
  EXPECT_GE(openFdCount(pid), idle + kClients) << "every connection is open in twist";
  for (int fd : clients) ::close(fd);
  // Every worker closes its connections: twist is back to its idle count.
  // A bound for a loaded machine, not a verdict: the count is the condition.
  for (int i = 0; i < 6000 && openFdCount(pid) != idle; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(openFdCount(pid), idle) << "no descriptor left behind";

  // SIGTERM reaches the main thread: both workers stop listening and exit 0.
  EXPECT_EQ(twist.program.stop(), 0);
  std::vector<std::string> closed{
      twist.program.waitForLine("Closed)"), twist.program.waitForLine("Closed)"),
      twist.program.waitForLine("Closed)"), twist.program.waitForLine("Closed)")};
  int perWorker[2] = {0, 0};
  for (const auto& line : closed) {
    if (line.find("[worker-1]") != std::string::npos) ++perWorker[0];
    if (line.find("[worker-2]") != std::string::npos) ++perWorker[1];
  }
  EXPECT_EQ(perWorker[0], 2) << "worker 1 closed its two ports";
  EXPECT_EQ(perWorker[1], 2) << "worker 2 closed its two ports";
  EXPECT_NE(twist.program.waitForLine("Main loop terminated"), "");
}

TEST_P(TwistOnBackend, WorkersCannotShareAUNIXPortAndSaySo) {
  std::string path = ::testing::TempDir() + "twist-workers-" + std::to_string(::getpid()) + ".sock";
  std::filesystem::remove(path);
  auto r = runProgram(Twist::withPath(on({"--workers", "2", "echo", "--listen", "unix:" + path})));
  // The first worker's port holds the path's lock (Twisted's lockfile=1).
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("worker-2: Could not listen: " + path), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("held by live process"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(std::filesystem::exists(path))
      << "the first worker's socket is removed on the way out";
}

TEST_P(TwistOnBackend, DiscardReadsAndSendsNothing) {
  Twist twist({"--reactor", GetParam(), "discard", "--listen", "tcp:0:interface=127.0.0.1"});
  int fd = connectTo(twist.port);
  ASSERT_GE(fd, 0);
  sendAll(fd, std::string(100000, 'x'));
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 200), 0) << "discard sent something back";
  EXPECT_EQ(twist.program.stop(), 0);
  ::close(fd);
}

TEST_P(TwistOnBackend, ChargenSendsTheRfc864Pattern) {
  Twist twist({"--reactor", GetParam(), "chargen", "--listen", "tcp:0:interface=127.0.0.1"});
  int fd = connectTo(twist.port);
  ASSERT_GE(fd, 0);
  std::string got = readExactly(fd, 200 * 74);  // may read a little more
  ASSERT_GE(got.size(), 200u * 74u);
  for (std::size_t n = 0; n < 200; ++n) {
    ASSERT_EQ(got.substr(n * 74, 74), twisted::wire::Chargen::line(n)) << n;
  }
  ::close(fd);
  EXPECT_EQ(twist.program.stop(), 0);
}

TEST_P(TwistOnBackend, DaytimeAndQotdAnswerAndClose) {
  Twist daytime({"--reactor", GetParam(), "daytime", "--listen", "tcp:0:interface=127.0.0.1"});
  int fd = connectTo(daytime.port);
  std::string when = readToEof(fd).value_or("no end-of-file");
  ::close(fd);
  ASSERT_EQ(when.size(), 26u) << when;
  EXPECT_TRUE(when.ends_with("\r\n"));
  EXPECT_EQ(daytime.program.stop(), 0);

  Twist qotd({"--reactor", GetParam(), "qotd", "--listen", "tcp:0:interface=127.0.0.1", "--quote",
              "Errors should never pass silently."});
  fd = connectTo(qotd.port);
  EXPECT_EQ(readToEof(fd), std::optional<std::string>("Errors should never pass silently.\r\n"));
  ::close(fd);
  EXPECT_EQ(qotd.program.stop(SIGINT), 0);  // Ctrl-C stops it as cleanly as SIGTERM
}

TEST_P(TwistOnBackend, ListensOnEveryEndpointGivenIncludingIPv6) {
  Twist twist(on(
      {"echo", "--listen", "tcp:0:interface=127.0.0.1", "--listen", "tcp6:0:interface=\\:\\:1"}));
  std::string second = twist.program.waitForLine("starting on [::1]:");
  ASSERT_FALSE(second.empty());
  int fd6 = ::socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  addr.sin6_port = htons(static_cast<std::uint16_t>(portFromLine(second)));
  ASSERT_EQ(::connect(fd6, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  sendAll(fd6, "six");
  EXPECT_EQ(readExactly(fd6, 3), "six");
  int fd4 = connectTo(twist.port);
  sendAll(fd4, "four");
  EXPECT_EQ(readExactly(fd4, 4), "four");
  ::close(fd6);
  ::close(fd4);
  EXPECT_EQ(twist.program.stop(), 0);
}

TEST_P(TwistOnBackend, JsonLogsToAFileNameThePort) {
  std::string path = ::testing::TempDir() + "twist_json_" + GetParam() + ".log";
  std::remove(path.c_str());
  BackgroundProgram twist(Twist::withPath(on({"--log-format", "json", "--log-file", path, "echo",
                                              "--listen", "tcp:0:interface=127.0.0.1"})));
  std::string line;
  for (int i = 0; i < 500 && line.empty(); ++i) {
    std::this_thread::sleep_for(10ms);
    std::ifstream in(path);
    for (std::string l; std::getline(in, l);) {
      if (l.find("starting on") != std::string::npos) line = l;
    }
  }
  ASSERT_FALSE(line.empty());
  EXPECT_TRUE(line.starts_with("{\"log_time\":")) << line;
  auto at = line.find("\"port\":");
  ASSERT_NE(at, std::string::npos) << line;
  int port = std::stoi(line.substr(at + 7));
  int fd = connectTo(port);
  sendAll(fd, "json");
  EXPECT_EQ(readExactly(fd, 4), "json");
  ::close(fd);
  EXPECT_EQ(twist.stop(), 0);
  std::remove(path.c_str());
}

TEST_P(TwistOnBackend, LogLevelFiltersWhatIsWritten) {
  int port = twisted::test::freePort();
  BackgroundProgram quiet(
      Twist::withPath(on({"--log-level", "warn", "echo", "--listen",
                          "tcp:" + std::to_string(port) + ":interface=127.0.0.1"})),
      true);
  int fd = connectTo(port);  // it is up (and would have logged by now)
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_EQ(quiet.waitForLine("starting on", 300), "") << "an info line got through";
  EXPECT_EQ(quiet.stop(), 0);
  BackgroundProgram chatty(
      Twist::withPath(on({"--log-level", "debug", "echo", "--listen", "tcp:0"})), true);
  EXPECT_NE(chatty.waitForLine("starting on"), "");
  EXPECT_EQ(chatty.stop(), 0);
}

// ---- bounded memory ------------------------------------------------------------------

TEST_P(TwistOnBackend, EchoStaysBoundedAgainstAClientThatNeverReads) {
  Twist twist(on({"echo", "--listen", "tcp:0:interface=127.0.0.1"}));
  long baseline = peakRssKiB(twist.program.pid());
  int fd = connectTo(twist.port);
  ASSERT_GE(fd, 0);
  ::fcntl(fd, F_SETFL, O_NONBLOCK);
  // Send for up to 3 s, never reading; the server stops reading once its
  // write buffer is full, so the sends soon stop being accepted.
  std::string chunk(1 << 16, 'e');
  std::size_t sent = 0;
  auto deadline = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < deadline && sent < (std::size_t{256} << 20)) {
    ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else {
      std::this_thread::sleep_for(5ms);
    }
  }
  long peak = peakRssKiB(twist.program.pid());
  EXPECT_LT(sent, std::size_t{64} << 20) << "the server kept reading";
  // Growth, not the total: a sanitizer build starts far bigger.
  EXPECT_LT(peak - baseline, 16 * 1024)
      << "peak RSS grew from " << baseline << " to " << peak << " KiB after " << sent << " bytes";
  ::close(fd);
  EXPECT_EQ(twist.program.stop(), 0);
}

TEST_P(TwistOnBackend, PortforwardCarries64MiBThroughASlowReaderInBoundedMemory) {
  Twist upstream(on({"echo", "--listen", "tcp:0:interface=127.0.0.1"}));
  ASSERT_GT(upstream.port, 0);
  Twist forward(on({"portforward", "--listen", "tcp:0:interface=127.0.0.1", "--dest",
                    "tcp:127.0.0.1:" + std::to_string(upstream.port)}));
  ASSERT_GT(forward.port, 0);
  long baseline = peakRssKiB(forward.program.pid());
  int fd = connectTo(forward.port);
  ASSERT_GE(fd, 0);
  constexpr std::size_t kTotal = std::size_t{64} << 20;
  auto byteAt = [](std::size_t i) { return static_cast<char>((i * 31 + i / 4093) & 0xff); };
  std::thread writer([&] {
    std::string chunk(1 << 16, '\0');
    for (std::size_t off = 0; off < kTotal; off += chunk.size()) {
      for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = byteAt(off + i);
      sendAll(fd, chunk);
    }
    ::shutdown(fd, SHUT_WR);  // the half-close travels through to the echo server
  });
  // The slow reader: 64 KiB at a time with a pause, checking every byte.
  std::size_t got = 0;
  bool same = true;
  char buf[1 << 16];
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (got < kTotal && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) break;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n && same; ++i) same = buf[i] == byteAt(got + i);
    got += static_cast<std::size_t>(n);
    if ((got / sizeof buf) % 4 == 0) std::this_thread::sleep_for(1ms);
  }
  writer.join();
  EXPECT_EQ(got, kTotal);
  EXPECT_TRUE(same) << "the bytes changed on the way";
  // After the echo server has sent everything back and closed, so do we.
  EXPECT_EQ(readToEof(fd), std::optional<std::string>(""));
  long peak = peakRssKiB(forward.program.pid());
  EXPECT_LT(peak - baseline, 16 * 1024)
      << "portforward grew from " << baseline << " to " << peak << " KiB carrying 64 MiB";
  ::close(fd);
  EXPECT_EQ(forward.program.stop(), 0);
  EXPECT_EQ(upstream.program.stop(), 0);
}

// UNIX sockets in --listen and --dest (issue 18's example): an echo server
// on a socket file, and a TCP port forwarded to it.
TEST_P(TwistOnBackend, EchoOnAUNIXSocketBehindAPortforward) {
  std::string dir = (std::filesystem::temp_directory_path() / "twist-unix-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  std::string sock = dir + "/echo.sock";
  Twist upstream(on({"echo", "--listen", "unix:" + sock + ":mode=600"}));
  EXPECT_NE(upstream.line.find(sock), std::string::npos) << upstream.line;
  struct stat st {};
  ASSERT_EQ(::stat(sock.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Twist forward(
      on({"portforward", "--listen", "tcp:0:interface=127.0.0.1", "--dest", "unix:path=" + sock}));
  int fd = connectTo(forward.port);
  ASSERT_GE(fd, 0);
  sendAll(fd, "over a unix socket\n");
  EXPECT_EQ(readExactly(fd, 19), "over a unix socket\n");
  ::close(fd);
  EXPECT_EQ(forward.program.stop(), 0);
  EXPECT_EQ(upstream.program.stop(), 0);
  EXPECT_NE(::stat(sock.c_str(), &st), 0) << "the socket file is removed at exit";
  std::filesystem::remove_all(dir);
}

// Socket activation as systemd does it: the parent binds and listens, and
// the program it execs finds the socket at descriptor 3 with LISTEN_PID
// (its own pid: the shell execs twist, keeping it) and LISTEN_FDS.
TEST_P(TwistOnBackend, ServesTheSocketSocketActivationPasses) {
  int port = 0;
  int listening = listenOnLoopback(port);  // inherited: no close-on-exec
  ASSERT_GE(listening, 0);
  // Above 3, so that the shell's "3<&N N<&-" moves it rather than closes it.
  int high = ::fcntl(listening, F_DUPFD, 10);
  ::close(listening);
  listening = high;
  std::string fd = std::to_string(listening);
  BackgroundProgram twist(
      {"/bin/bash", "-c",
       "export LISTEN_PID=$$ LISTEN_FDS=1 LISTEN_FDNAMES=echo; exec \"$0\" --reactor " +
           GetParam() + " echo --listen systemd:domain=INET:name=echo 3<&" + fd + " " + fd + "<&-",
       kTwist},
      true);
  ::close(listening);  // only twist has it now
  std::string line = twist.waitForLine("starting on");
  EXPECT_EQ(portFromLine(line), port) << line;
  int client = connectTo(port);
  ASSERT_GE(client, 0);
  sendAll(client, "activated\n");
  EXPECT_EQ(readExactly(client, 10), "activated\n");
  ::close(client);
  EXPECT_EQ(twist.stop(), 0);
}

TEST_P(TwistOnBackend, PortforwardToAClosedPortClosesTheClient) {
  int closed = twisted::test::freePort();
  Twist forward(on({"portforward", "--listen", "tcp:0:interface=127.0.0.1", "--dest",
                    "tcp:127.0.0.1:" + std::to_string(closed)}));
  int fd = connectTo(forward.port);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(readToEof(fd), std::optional<std::string>(""));  // closed: destination refused
  ::close(fd);
  EXPECT_FALSE(forward.program.waitForLine("Unable to connect").empty());
  EXPECT_EQ(forward.program.stop(), 0);
}

}  // namespace
