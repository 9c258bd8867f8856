// End-to-end: the demo echo server as a real process over real sockets,
// shut down by SIGTERM with exit status 0.
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "process_helpers.hpp"

namespace {

using namespace twisted::test;

class EchoServerProcess : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    server_.emplace(std::vector<std::string>{ECHO_SERVER_PATH, "--port", std::to_string(port_),
                                             "--reactor", GetParam()});
    ASSERT_GT(server_->pid(), 0);
  }
  int stopAndWait() { return server_->stop(); }

  int port_ = freePort();
  std::optional<BackgroundProgram> server_;
};

TEST_P(EchoServerProcess, EchoesAndStopsCleanlyOnSigterm) {
  int a = connectTo(port_);
  ASSERT_GE(a, 0);
  int b = connectTo(port_);
  ASSERT_GE(b, 0);
  ASSERT_EQ(::write(a, "hello\n", 6), 6);
  ASSERT_EQ(::write(b, "world\n", 6), 6);
  EXPECT_EQ(readExactly(a, 6), "hello\n");
  EXPECT_EQ(readExactly(b, 6), "world\n");

  // 4 MiB in one go: the server stops reading while the client is not
  // reading its echo, and everything still arrives intact.
  std::string big(4 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  std::thread writer([&] {
    std::size_t off = 0;
    while (off < big.size()) {
      ssize_t n = ::write(a, big.data() + off, big.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
  });
  std::string echoed = readExactly(a, big.size());
  writer.join();
  EXPECT_TRUE(echoed == big) << "got " << echoed.size() << " bytes";

  ::close(a);
  ::close(b);
  EXPECT_EQ(stopAndWait(), 0);
}

TEST_P(EchoServerProcess, PortInUseExitsWithStatus1) {
  int a = connectTo(port_);  // the first server is up
  ASSERT_GE(a, 0);
  ::close(a);
  ProgramResult second =
      runProgram({ECHO_SERVER_PATH, "--port", std::to_string(port_), "--reactor", GetParam()});
  EXPECT_EQ(second.status, 1) << second.err;
  EXPECT_EQ(stopAndWait(), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, EchoServerProcess,
                         ::testing::Values("select", "poll", "epoll", "iouring"),
                         [](const auto& info) { return info.param; });

}  // namespace
