// End-to-end: the TCP examples as real processes over real sockets (echo
// client against the echo server, ClientCreator's failures and
// cancellation, the chat server relaying lines and stopping cleanly), each
// on every reactor backend: the examples pick theirs from TWISTED_REACTOR.
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>

#include "process_helpers.hpp"

namespace {

using namespace twisted::test;

class TCPExamplesTest : public ::testing::TestWithParam<std::string> {
 protected:
  // Every program started from here on inherits the environment.
  ScopedEnv backend{"TWISTED_REACTOR", GetParam()};
  void SetUp() override { ASSERT_STREQ(std::getenv("TWISTED_REACTOR"), GetParam().c_str()); }
  int port = freePort();
  std::string portText = std::to_string(port);
};
INSTANTIATE_TEST_SUITE_P(Backends, TCPExamplesTest,
                         ::testing::Values("select", "poll", "epoll", "iouring"),
                         [](const auto& info) { return info.param; });

TEST_P(TCPExamplesTest, EchoClientGetsItsMessagesBack) {
  BackgroundProgram server({ECHO_SERVER_PATH, "--port", portText}, true);
  // The backend came from TWISTED_REACTOR.
  EXPECT_NE(server.waitForLine("(" + GetParam() + " reactor)"), "");
  int probe = connectTo(port);  // wait until it listens
  ASSERT_GE(probe, 0);
  ::close(probe);
  ProgramResult r = runProgram(
      {ECHO_CLIENT_PATH, "--connect", "tcp:127.0.0.1:" + portText, "first line", "second line"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "first line\nsecond line\n");
  EXPECT_EQ(server.stop(), 0);
}

TEST_P(TCPExamplesTest, EchoClientReportsRefusalAndBadEndpoints) {
  ProgramResult r = runProgram({ECHO_CLIENT_PATH, "--connect", "tcp:127.0.0.1:" + portText});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
  r = runProgram({ECHO_CLIENT_PATH, "--connect", "tcp:127.0.0.1:notaport"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("port 'notaport'"), std::string::npos) << r.err;
}

TEST_P(TCPExamplesTest, ClientCreatorConnectsOrSaysWhyNot) {
  ProgramResult refused = runProgram({CLIENT_CREATOR_PATH, "--port", portText});
  EXPECT_EQ(refused.status, 1);
  EXPECT_NE(refused.err.find("refused"), std::string::npos) << refused.err;

  BackgroundProgram server({ECHO_SERVER_PATH, "--port", portText});
  int probe = connectTo(port);
  ASSERT_GE(probe, 0);
  ::close(probe);
  ProgramResult ok = runProgram({CLIENT_CREATOR_PATH, "--port", portText, "--timeout", "5"});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(ok.out, "hello\r\n");
  // Cancelled on the first turn, before the handshake can complete.
  ProgramResult cancelled =
      runProgram({CLIENT_CREATOR_PATH, "--port", portText, "--cancel-after", "0"});
  EXPECT_EQ(cancelled.status, 1);
  EXPECT_NE(cancelled.err.find("cancelled"), std::string::npos) << cancelled.err;
  EXPECT_EQ(server.stop(), 0);
}

TEST_P(TCPExamplesTest, ChatServerRelaysLinesToTheOthersAndStopsCleanly) {
  BackgroundProgram server(
      {CHAT_SERVER_PATH, "--listen", "tcp:" + portText + ":interface=127.0.0.1"});
  int alice = connectTo(port);
  ASSERT_GE(alice, 0);
  int bob = connectTo(port);
  ASSERT_GE(bob, 0);
  // Alice sees Bob join; then Bob's line reaches Alice, not Bob.
  std::string line;
  for (int i = 0; i < 100 && line.find("joined\n") == std::string::npos; ++i) {
    line += readExactly(alice, 1);
  }
  EXPECT_NE(line.find("* 127.0.0.1:"), std::string::npos) << line;
  ASSERT_EQ(::write(bob, "hi all\n", 7), 7);
  std::string relayed;
  for (int i = 0; i < 200 && relayed.find("hi all\n") == std::string::npos; ++i) {
    relayed += readExactly(alice, 1);
  }
  EXPECT_NE(relayed.find("> hi all\n"), std::string::npos) << relayed;
  pollfd p{bob, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 100), 0) << "the sender does not get its own line";
  ::close(alice);
  ::close(bob);
  EXPECT_EQ(server.stop(), 0);
}

TEST_P(TCPExamplesTest, ChatServerClosesAClientWhoseLineIsTooLong) {
  BackgroundProgram server(
      {CHAT_SERVER_PATH, "--listen", "tcp:" + portText + ":interface=127.0.0.1"});
  int mallory = connectTo(port);
  ASSERT_GE(mallory, 0);
  std::string huge(5000, 'm');  // over the 4096-byte line limit, no newline
  ASSERT_EQ(::write(mallory, huge.data(), huge.size()), static_cast<ssize_t>(huge.size()));
  EXPECT_EQ(readToEof(mallory), std::optional<std::string>("* line too long, goodbye\n"));
  ::close(mallory);
  EXPECT_EQ(server.stop(), 0);
}

TEST_P(TCPExamplesTest, ChatServerExitsWith1WhenThePortIsTaken) {
  BackgroundProgram first(
      {CHAT_SERVER_PATH, "--listen", "tcp:" + portText + ":interface=127.0.0.1"});
  int probe = connectTo(port);
  ASSERT_GE(probe, 0);
  ::close(probe);
  ProgramResult second =
      runProgram({CHAT_SERVER_PATH, "--listen", "tcp:" + portText + ":interface=127.0.0.1"});
  EXPECT_EQ(second.status, 1);
  EXPECT_NE(second.err.find(portText), std::string::npos) << second.err;
  ProgramResult bad = runProgram({CHAT_SERVER_PATH, "--listen", "tcp:port=x"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(first.stop(), 0);
}

}  // namespace
