// `twist` as a new user meets it: --version, common options after the plugin
// name, TWISTED_REACTOR, a program of one's own named in its messages, and
// systemd's readiness protocol (Type=notify, NOTIFY_SOCKET) spoken directly.
// Tests that open a socket run on each reactor backend.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "process_helpers.hpp"
#include "twisted/application/twist.hpp"

namespace {

using twisted::test::BackgroundProgram;
using twisted::test::connectTo;
using twisted::test::portFromLine;
using twisted::test::runProgram;
using twisted::test::ScopedEnv;

const std::string kTwist = TWIST_PATH;

class TwistCli : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Backends, TwistCli,
                         ::testing::Values("select", "poll", "epoll", "iouring"),
                         [](const auto& info) { return info.param; });

TEST(TwistCliOnce, VersionNamesTheProgramAndTheVersion) {
  auto r = runProgram({kTwist, "--version"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with("twist (twisted-cpp) ")) << r.out;
  EXPECT_NE(r.out.find('.'), std::string::npos) << r.out;
}

TEST_P(TwistCli, CommonOptionsMayFollowThePluginName) {
  BackgroundProgram twist(
      {kTwist, "echo", "--reactor", GetParam(), "--listen", "tcp:0:interface=127.0.0.1"}, true);
  std::string running = twist.waitForLine("running on the", 60000);
  EXPECT_NE(running.find("on the " + GetParam() + " reactor"), std::string::npos) << running;
  EXPECT_EQ(twist.stop(), 0);
}

TEST_P(TwistCli, TwistedReactorPicksTheBackendAndTheOptionWins) {
  ScopedEnv env("TWISTED_REACTOR", GetParam());
  {
    BackgroundProgram twist({kTwist, "echo", "--listen", "tcp:0:interface=127.0.0.1"}, true);
    std::string running = twist.waitForLine("running on the", 60000);
    EXPECT_NE(running.find("on the " + GetParam() + " reactor"), std::string::npos) << running;
    EXPECT_EQ(twist.stop(), 0);
  }
  std::string other = GetParam() == "poll" ? "select" : "poll";
  BackgroundProgram twist(
      {kTwist, "--reactor", other, "echo", "--listen", "tcp:0:interface=127.0.0.1"}, true);
  std::string running = twist.waitForLine("running on the", 60000);
  EXPECT_NE(running.find("on the " + other + " reactor"), std::string::npos) << running;
  EXPECT_EQ(twist.stop(), 0);
}

TEST(TwistCliOnce, AnUnknownTwistedReactorIsAUsageError) {
  ScopedEnv env("TWISTED_REACTOR", "kqueue");
  auto r = runProgram({kTwist, "echo", "--listen", "tcp:0:interface=127.0.0.1"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("TWISTED_REACTOR='kqueue' is not a reactor"), std::string::npos) << r.err;
  // The option wins, and help and version need no reactor at all.
  EXPECT_EQ(runProgram({kTwist, "--help"}).status, 0);
  EXPECT_EQ(runProgram({kTwist, "--version"}).status, 0);
  BackgroundProgram twist(
      {kTwist, "echo", "--reactor", "poll", "--listen", "tcp:0:interface=127.0.0.1"}, true);
  EXPECT_NE(twist.waitForLine("running on the poll reactor", 60000), "");
  EXPECT_EQ(twist.stop(), 0);
}

TEST(TwistCliOnce, AProgramWithItsOwnPluginsNamesItselfInItsMessages) {
  const char* unknown[] = {"/opt/bin/myserver", "nope"};
  ::testing::internal::CaptureStderr();
  int status = twisted::application::runTwist(2, unknown);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(status, 2);
  EXPECT_TRUE(err.starts_with("myserver: error: unknown plugin 'nope'")) << err;
  EXPECT_NE(err.find("'myserver --help'"), std::string::npos) << err;

  const char* help[] = {"myserver", "--help"};
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(twisted::application::runTwist(2, help), 0);
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("Usage: myserver"), std::string::npos) << out;
  EXPECT_EQ(out.find("twist "), std::string::npos) << out;

  const char* version[] = {"myserver", "--version"};
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(twisted::application::runTwist(2, version), 0);
  EXPECT_TRUE(::testing::internal::GetCapturedStdout().starts_with("myserver (twisted-cpp) "));
}

// ---- systemd's notification socket ----------------------------------------------------

// A datagram socket standing in for systemd's: a path, or an abstract name.
class NotifySocket {
 public:
  explicit NotifySocket(bool abstract) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string id = "twisted-notify-" + std::to_string(::getpid()) + "-" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : id) c = c == '/' ? '_' : c;
    if (abstract) {
      name_ = "@" + id;
    } else {
      name_ = std::string(::testing::TempDir()) + id;
      path_ = name_;
      ::unlink(path_.c_str());
    }
    std::memcpy(address.sun_path, name_.data(), name_.size());
    if (abstract) address.sun_path[0] = '\0';
    socklen_t length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name_.size());
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) == 0;
  }
  ~NotifySocket() {
    ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  bool bound() const { return bound_; }
  const std::string& name() const { return name_; }
  // The next datagram, waiting up to `timeoutMs` (a bound, not a verdict).
  std::string next(int timeoutMs = 60000) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeoutMs) != 1) return "";
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
  std::string name_;
  std::string path_;
};

void expectReadyThenStopping(const std::string& backend, bool abstract) {
  NotifySocket systemd(abstract);
  ASSERT_TRUE(systemd.bound()) << systemd.name() << ": " << std::strerror(errno);
  ScopedEnv env("NOTIFY_SOCKET", systemd.name());
  BackgroundProgram twist({kTwist, "--reactor", backend, "echo", "--listen",
                           "tcp:0:interface=127.0.0.1", "--listen", "tcp6:0:interface=\\:\\:1"},
                          true);
  std::string ready = systemd.next();
  EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready;
  // READY came after every port listens: both accept now.
  int v4 = portFromLine(twist.waitForLine("starting on 127.0.0.1:", 60000));
  ASSERT_GT(v4, 0);
  int fd = connectTo(v4);
  EXPECT_GE(fd, 0);
  if (fd >= 0) ::close(fd);
  EXPECT_NE(twist.waitForLine("starting on [::1]:", 60000), "");
  ::kill(twist.pid(), SIGTERM);
  std::string stopping = systemd.next();
  EXPECT_EQ(stopping, "STOPPING=1");
  EXPECT_EQ(twist.stop(0), 0);  // signal 0: only wait for the exit
}

TEST_P(TwistCli, TellsSystemdWhenReadyAndWhenStopping) {
  expectReadyThenStopping(GetParam(), false);
}

TEST_P(TwistCli, TellsSystemdThroughAnAbstractSocket) {
  expectReadyThenStopping(GetParam(), true);
}

TEST(TwistCliOnce, AnUnreachableNotifySocketIsLoggedAndDoesNotStopTheService) {
  ScopedEnv env("NOTIFY_SOCKET", "/nonexistent/notify.sock");
  BackgroundProgram twist({kTwist, "echo", "--listen", "tcp:0:interface=127.0.0.1"}, true);
  EXPECT_NE(twist.waitForLine("cannot notify systemd", 60000), "");
  EXPECT_EQ(twist.stop(), 0);
}

}  // namespace
