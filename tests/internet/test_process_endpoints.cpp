// ProcessEndpoint, StandardIOEndpoint ("stdio:"), and `twist --listen
// stdio:` served as inetd serves (a socket), on a pipe and on a terminal,
// on every backend.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "collecting_process.hpp"
#include "iterate_until.hpp"
#include "reactor_test.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/process_endpoints.hpp"
#include "twisted/internet/reactor_process.hpp"
#include "twisted/internet/stdio.hpp"

namespace twisted::test {
namespace {

class Recording : public Protocol {
 public:
  std::string received;
  std::optional<Failure> lost;
  void dataReceived(std::string_view data) override { received.append(data); }
  void connectionLost(const Failure& reason) override { lost = reason; }
};

class ProcessEndpointTest : public ReactorTest {
 protected:
  std::shared_ptr<Recording> connect(ProcessEndpoint& endpoint) {
    auto factory = Factory::forProtocol<Recording>();
    std::shared_ptr<Protocol> got;
    endpoint.connect(factory).addCallback([&](std::shared_ptr<Protocol> p) { got = p; });
    EXPECT_TRUE(got) << "connect fires at once with the protocol";
    return std::dynamic_pointer_cast<Recording>(got);
  }
  void waitLost(const Recording& p) {
    ASSERT_TRUE(iterateUntil(
        *reactor, [&] { return p.lost.has_value(); }, "connectionLost"));
  }
};

// ProcessEndpointsTests.test_endpoint / test_processEnded...: the
// protocol's transport is the child's stdin and stdout; an exit with 0 is
// ConnectionDone; the addresses are PipeAddress; the child is reachable.
TEST_P(ProcessEndpointTest, TheConnectionIsTheChildsStdinAndStdout) {
  ProcessEndpoint endpoint(*reactor, "/bin/cat", {"cat"});
  EXPECT_EQ(endpoint.describe(), "process:/bin/cat");
  auto p = connect(endpoint);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->transport->getPeer(), Address(PipeAddress{}));
  auto& transport = dynamic_cast<ProcessEndpointTransport&>(*p->transport);
  EXPECT_TRUE(transport.process()->pid().has_value());
  p->transport->write("through cat");
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return p->received == "through cat"; }, "the echo"));
  p->transport->loseConnection();  // closes its stdin: cat exits with 0
  waitLost(*p);
  EXPECT_TRUE(p->lost->check<error::ConnectionDone>()) << p->lost->brief();
  EXPECT_FALSE(p->lost->check<error::ProcessDone>()) << "ConnectionDone itself, as in Twisted";
}

// A child that exits with a code, or cannot be run.
TEST_P(ProcessEndpointTest, AnExitCodeIsTheReasonAndAnUnrunnableChildFailsConnect) {
  ProcessEndpoint failing(*reactor, "/bin/sh", {"sh", "-c", "exit 4"});
  auto p = connect(failing);
  ASSERT_TRUE(p);
  waitLost(*p);
  ASSERT_TRUE(p->lost->check<error::ProcessTerminated>()) << p->lost->brief();
  ProcessEndpoint missing(*reactor, "/nonexistent/program", {"x"});
  std::optional<Failure> failed;
  missing.connect(Factory::forProtocol<Recording>())
      .addBoth([&](Outcome<std::shared_ptr<Protocol>> o) {
        if (!o.succeeded()) failed = o.failure();
      });
  ASSERT_TRUE(failed);
  EXPECT_TRUE(failed->check<error::ProcessSpawnError>()) << failed->brief();
}

// errFlag: what the child writes to stderr is logged (Log, the default),
// or dropped (Drop); never dataReceived.
TEST_P(ProcessEndpointTest, StderrIsLoggedOrDropped) {
  LogCapture logs;
  for (auto flag : {StandardErrorBehavior::Log, StandardErrorBehavior::Drop}) {
    ProcessEndpoint endpoint(*reactor, "/bin/sh", {"sh", "-c", "echo out; echo oops >&2"},
                             Environment{}, {}, {}, {}, false, {}, flag);
    auto p = connect(endpoint);
    ASSERT_TRUE(p);
    waitLost(*p);
    EXPECT_EQ(p->received, "out\n");
  }
  int logged = 0;
  for (const auto& e : logs.events()) {
    if (e.format.find("wrote stderr") != std::string::npos) ++logged;
  }
  EXPECT_EQ(logged, 1);
}

// StandardIOEndpointsTests.test_protocolCreation / test_address: listen
// serves one protocol on the given descriptors; stopListening loses the
// connection and fires after its connectionLost. serverFromString knows
// "stdio:" and nothing after it.
TEST_P(ProcessEndpointTest, StandardIOEndpointServesOneConnection) {
  auto [inRead, inWrite] = pipePair();
  auto [a, b] = socketPair();
  StandardIOEndpoint endpoint(*reactor, inRead.get(), a.get());
  auto p = std::make_shared<Recording>();
  auto factory = std::make_shared<Factory>([p] { return p; });
  std::shared_ptr<IListeningPort> port;
  endpoint.listen(factory).addCallback([&](std::shared_ptr<IListeningPort> p) { port = p; });
  ASSERT_TRUE(port);
  EXPECT_EQ(port->getHost(), Address(PipeAddress{}));
  auto stdio = std::dynamic_pointer_cast<StandardIOPort>(port);
  ASSERT_TRUE(stdio);
  EXPECT_EQ(p->transport, std::static_pointer_cast<ITransport>(stdio->transport()));
  sendByte(inWrite, 'q');
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return p->received == "q"; }, "the byte"));
  bool stopped = false;
  port->stopListening().addCallback([&] { stopped = true; });
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return stopped; }, "stopListening"));
  EXPECT_TRUE(p->lost && p->lost->check<error::ConnectionDone>());
  char c;
  EXPECT_EQ(::read(b.get(), &c, 1), 0) << "the peer reads the end";
  EXPECT_TRUE(std::dynamic_pointer_cast<StandardIOEndpoint>(serverFromString(*reactor, "stdio:")));
  EXPECT_THROW(serverFromString(*reactor, "stdio:3"), error::InvalidEndpointDescription);
}

// `twist echo --listen stdio:` as inetd runs a service: its stdin and
// stdout are one socket. It echoes, and at the socket's end (the peer shut
// its side) flushes and exits with 0; its log lines went to stderr, not to
// the connection.
TEST_P(ProcessEndpointTest, TwistServesStdioOnASocketAndExitsWithZeroAtItsEnd) {
  auto [mine, theirs] = socketPair();
  ::fcntl(mine.get(), F_SETFL, 0);
  auto child = std::make_shared<CollectingProcess>();
  reactor->spawnProcess(child, TWIST_PATH, {"twist", "echo", "--listen", "stdio:"}, std::nullopt,
                        {}, {}, {}, false,
                        ChildFDs{{0, theirs.get()}, {1, theirs.get()}, {2, "r"}});
  theirs.reset();
  std::string data(1 << 20, 'e');
  std::thread writer([&] {
    std::string_view rest = data;
    while (!rest.empty()) {
      ssize_t n = ::send(mine.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
      if (n <= 0) break;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    ::shutdown(mine.get(), SHUT_WR);
  });
  std::string echoed;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(mine.get(), buf, sizeof buf)) > 0)
    echoed.append(buf, static_cast<std::size_t>(n));
  writer.join();
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return child->ended.has_value(); }, "twist's exit", 0.01, 120));
  EXPECT_TRUE(child->ended->check<error::ProcessDone>()) << child->ended->brief() << child->err;
  EXPECT_EQ(echoed.size(), data.size());
  EXPECT_TRUE(echoed == data);
  EXPECT_NE(child->err.find("twist echo running"), std::string::npos) << child->err;
}

// On a terminal: a line typed comes back (after the terminal's own echo),
// and the end-of-file character ends twist, with 0.
TEST_P(ProcessEndpointTest, TwistServesStdioOnATerminal) {
  auto child = std::make_shared<CollectingProcess>();
  auto transport = reactor->spawnProcess(
      child, TWIST_PATH, {"twist", "echo", "--listen", "stdio:", "--log-file", "/dev/null"},
      std::nullopt, {}, {}, {}, /*usePTY=*/true);
  transport->write("ping\n");
  // The terminal echoes "ping", then twist does: two of them.
  ASSERT_TRUE(iterateUntil(
      *reactor,
      [&] {
        auto first = child->out.find("ping");
        return first != std::string::npos &&
               child->out.find("ping", first + 4) != std::string::npos;
      },
      "the echo", 0.01, 60));
  transport->write("\x04");  // VEOF at the start of a line: read() gives 0
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return child->ended.has_value(); }, "twist's exit", 0.01, 60));
  EXPECT_TRUE(child->ended->check<error::ProcessDone>()) << child->ended->brief() << child->out;
}

TWISTED_ALL_BACKENDS(ProcessEndpointTest);

}  // namespace
}  // namespace twisted::test
