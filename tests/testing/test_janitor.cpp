// The janitor users get (twisted/testing/janitor.hpp): what a test left
// behind on a reactor, a clock, or in the process's file descriptors.
#include "twisted/testing/janitor.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "twisted/internet/protocol.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/testing/clock.hpp"

namespace twisted::testing {
namespace {

bool mentions(const std::vector<std::string>& lines, const std::string& text) {
  for (const std::string& line : lines) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

// The seconds a "... due in S s" line gives (-1 if none): the time left
// depends on how long the test took, so tests bound it rather than match it.
double dueIn(const std::vector<std::string>& lines) {
  const std::string key = "due in ";
  for (const std::string& line : lines) {
    if (auto at = line.find(key); at != std::string::npos) {
      return std::stod(line.substr(at + key.size()));
    }
  }
  return -1;
}

class PipeReader : public IReadDescriptor {
 public:
  explicit PipeReader(int fd) : fd_(fd) {}
  int fileno() const override { return fd_; }
  IOResult doRead() override { return std::nullopt; }
  void connectionLost(const Failure&) override {}
  std::string logPrefix() const override { return "PipeReader"; }

 private:
  int fd_;
};

TEST(Janitor, ACleanReactorLeavesNothing) {
  Janitor janitor;
  auto reactor = Reactor::create();
  EXPECT_EQ(janitor.reactorLeftovers(*reactor), std::vector<std::string>{});
  reactor.reset();
  EXPECT_EQ(janitor.leakedFds(), std::vector<std::string>{});
}

TEST(Janitor, ReportsDescriptorsCallsAndPortsLeftOnAReactor) {
  Janitor janitor;
  auto reactor = Reactor::create();
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  auto reader = std::make_shared<PipeReader>(fds[0]);
  reactor->addReader(reader);
  DelayedCall call = reactor->callLater(5, [] {});
  auto port = reactor->listenTCP(0, std::make_shared<Factory>(), 50, "127.0.0.1");

  std::vector<std::string> left = janitor.reactorLeftovers(*reactor);
  EXPECT_TRUE(mentions(left, "2 readers still registered")) << ::testing::PrintToString(left);
  EXPECT_TRUE(mentions(left, "PipeReader (fd " + std::to_string(fds[0]) + ")"));
  EXPECT_TRUE(mentions(left, "1 delayed call still pending, due in "));
  EXPECT_GT(dueIn(left), 0);  // 5 s, less what the test took so far
  EXPECT_LE(dueIn(left), 5);
  EXPECT_TRUE(mentions(left, "1 connection or port still open"));
  EXPECT_EQ(left.size(), 3u);

  reactor->removeReader(*reader);
  call.cancel();
  port->stopListening();
  reactor->iterate();  // the port finishes closing on the next turn
  EXPECT_EQ(janitor.reactorLeftovers(*reactor), std::vector<std::string>{});

  reactor.reset();
  std::vector<std::string> leaked = janitor.leakedFds();
  ASSERT_EQ(leaked.size(), 1u) << ::testing::PrintToString(leaked);
  EXPECT_TRUE(mentions(
      leaked, "2 file descriptors left open by the test: " + std::to_string(fds[0]) + " (pipe:["));
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_EQ(janitor.leakedFds(), std::vector<std::string>{});
}

TEST(Janitor, ReportsDescriptorsClosedThatWereOpenBefore) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  Janitor janitor;
  ::close(fds[1]);
  std::vector<std::string> leaked = janitor.leakedFds();
  EXPECT_TRUE(mentions(
      leaked, "1 file descriptor open before the test and closed by it: " + std::to_string(fds[1])))
      << ::testing::PrintToString(leaked);
  ::close(fds[0]);
}

TEST(Janitor, ReportsPendingCallsOfAClock) {
  Janitor janitor;
  Clock clock;
  clock.callLater(2, [] {});
  clock.callLater(1, [] {});
  EXPECT_EQ(janitor.pendingCalls(clock),
            std::vector<std::string>{"2 delayed calls still pending, due in 1 s; 2 s"});
  clock.advance(2);
  EXPECT_EQ(janitor.pendingCalls(clock), std::vector<std::string>{});
}

TEST(Janitor, CountsOpenFds) {
  int before = countOpenFds();
  ASSERT_GT(before, 2);  // at least stdin, stdout, stderr
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  EXPECT_EQ(countOpenFds(), before + 2);
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_EQ(countOpenFds(), before);
}

}  // namespace
}  // namespace twisted::testing
