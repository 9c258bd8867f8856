// ProcessEndpoint, StandardIOEndpoint ("stdio:"), and `twist --listen
// stdio:` served as inetd serves (a socket), on a pipe and on a terminal,
// on every backend.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>

#include "collecting_process.hpp"
#include "iterate_until.hpp"
#include "reactor_test.hpp"
#include "temp_dir.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/internet/process_endpoints.hpp"
#include "twisted/internet/reactor_process.hpp"
#include "twisted/internet/stdio.hpp"
#include "twisted/logger/log_event.hpp"

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
// WrappedIProtocolTests.test_logStderr, test_stderrSkip, test_stdout: each
// flag on its own run; the logged event names the executable, the
// protocol and the bytes.
TEST_P(ProcessEndpointTest, StderrIsLoggedOrDropped) {
  for (auto flag : {StandardErrorBehavior::Log, StandardErrorBehavior::Drop}) {
    SCOPED_TRACE(flag == StandardErrorBehavior::Log ? "Log" : "Drop");
    LogCapture logs;
    ProcessEndpoint endpoint(*reactor, "/bin/sh", {"sh", "-c", "echo out; echo oops >&2"},
                             Environment{}, {}, {}, {}, false, {}, flag);
    auto p = connect(endpoint);
    ASSERT_TRUE(p);
    waitLost(*p);
    EXPECT_EQ(p->received, "out\n");
    std::vector<std::string> logged;
    for (const auto& e : logs.events()) {
      if (e.format.find("wrote stderr") != std::string::npos)
        logged.push_back(logger::formatEvent(e));
    }
    if (flag == StandardErrorBehavior::Drop) {
      EXPECT_TRUE(logged.empty());
      continue;
    }
    ASSERT_EQ(logged.size(), 1u);
    for (const std::string& part :
         {std::string("/bin/sh"), std::string("oops\n"), p->logPrefix()}) {
      EXPECT_NE(logged[0].find(part), std::string::npos) << logged[0] << " lacks " << part;
    }
  }
}

// A factory that keeps the address it builds for.
class AddressFactory : public Factory {
 public:
  std::vector<Address> addresses;
  std::shared_ptr<Protocol> buildProtocol(const Address& addr) override {
    addresses.push_back(addr);
    return std::make_shared<Recording>();
  }
};

// ProcessEndpointsTests.test_processAddress, StandardIOEndpointsTests.test_protocolCreation:
// both endpoints build their protocol for a PipeAddress.
TEST_P(ProcessEndpointTest, BothEndpointsBuildForAPipeAddress) {
  auto factory = std::make_shared<AddressFactory>();
  ProcessEndpoint endpoint(*reactor, "/bin/true", {"true"});
  std::shared_ptr<Protocol> got;
  endpoint.connect(factory).addCallback([&](std::shared_ptr<Protocol> p) { got = p; });
  ASSERT_TRUE(got);
  waitLost(static_cast<Recording&>(*got));
  auto [inRead, inWrite] = pipePair();
  auto [outRead, outWrite] = pipePair();
  StandardIOEndpoint stdio(*reactor, inRead.get(), outWrite.get());
  std::shared_ptr<IListeningPort> port;
  stdio.listen(factory).addCallback([&](std::shared_ptr<IListeningPort> p) { port = p; });
  ASSERT_TRUE(port);
  ASSERT_EQ(factory->addresses.size(), 2u);
  EXPECT_EQ(factory->addresses[0], Address(PipeAddress{}));
  EXPECT_EQ(factory->addresses[1], Address(PipeAddress{}));
  bool stopped = false;
  port->stopListening().addBoth([&](Outcome<void>) { stopped = true; });
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return stopped; }, "stopListening"));
}

// ProcessEndpointsTests.test_constructorDefaults, test_constructorNonDefaults,
// test_spawnProcess: what the endpoint is given reaches spawnProcess. By
// default an empty environment, this process's directory, pipes; else the
// args (args[0] the name), env, path, childFDs, a PTY, and (root) a user.
TEST_P(ProcessEndpointTest, WhatTheEndpointIsGivenReachesTheChild) {
  ::setenv("TWISTED_ENDPOINT_TEST", "inherited", 1);
  ProcessEndpoint defaults(
      *reactor, "/bin/sh",
      {"sh", "-c", "echo \"[$TWISTED_ENDPOINT_TEST]\"; pwd -P; [ -t 0 ] && echo tty; exit 0"});
  auto d = connect(defaults);
  ASSERT_TRUE(d);
  waitLost(*d);
  EXPECT_EQ(d->received, "[]\n" + std::filesystem::canonical(".").string() + "\n");
  ::unsetenv("TWISTED_ENDPOINT_TEST");

  TemporaryDirectory tmp{"twisted-endpoint-args"};
  auto [sideRead, sideWrite] = pipePair();
  ProcessEndpoint given(*reactor, "/bin/sh",
                        {"sh", "-c", "echo \"$0:$1:$FOO\"; pwd -P; echo extra >&3", "name", "arg1"},
                        Environment{{"FOO", "bar"}}, tmp.path(), {}, {}, false,
                        ChildFDs{{0, "w"}, {1, "r"}, {2, "r"}, {3, sideWrite.get()}});
  auto g = connect(given);
  ASSERT_TRUE(g);
  waitLost(*g);
  EXPECT_EQ(g->received,
            "name:arg1:bar\n" + std::filesystem::canonical(tmp.path()).string() + "\n");
  char buf[16];
  ssize_t n = ::read(sideRead.get(), buf, sizeof buf);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "extra\n");

  ProcessEndpoint onPty(*reactor, "/bin/sh", {"sh", "-c", "[ -t 0 ] && echo tty"}, Environment{},
                        {}, {}, {}, /*usePTY=*/true);
  auto t = connect(onPty);
  ASSERT_TRUE(t);
  waitLost(*t);
  EXPECT_EQ(t->received, "tty\r\n");

  if (::geteuid() != 0) return;  // switching users needs root
  ProcessEndpoint asNobody(*reactor, "/bin/sh", {"sh", "-c", "id -u; id -g"}, Environment{}, {},
                           65534, 65534);
  auto u = connect(asNobody);
  ASSERT_TRUE(u);
  waitLost(*u);
  EXPECT_EQ(u->received, "65534\n65534\n");
}

// A push producer that writes chunks until paused, up to a total.
class ChunkPusher : public IPushProducer {
 public:
  explicit ChunkPusher(ITransport& transport) : transport_(transport) {}
  void pauseProducing() override { paused = true; }
  void resumeProducing() override { paused = false; }
  void stopProducing() override { stopped = true; }
  void pump(std::size_t total) {
    while (!paused && !stopped && sent < total) {
      transport_.write(std::string(16384, 'c'));
      sent += 16384;
    }
  }
  bool paused = false, stopped = false;
  std::size_t sent = 0;

 private:
  ITransport& transport_;
};

class OnePull : public IPullProducer {
 public:
  explicit OnePull(ITransport& transport) : transport_(transport) {}
  void resumeProducing() override {
    ++calls;
    transport_.write("pulled");
    transport_.unregisterProducer();
  }
  void stopProducing() override {}
  int calls = 0;

 private:
  ITransport& transport_;
};

// ProcessEndpointTransportTests.test_writeSequence, test_getHost,
// test_pauseProducing, test_resumeProducing, test_stopProducing,
// test_registerProducer, test_unregisterProducer: the endpoint's transport
// passes each to the child: writeSequence to stdin; pausing stops reading
// its stdout; a producer is the child's stdin's (a push producer paused by
// a child that cannot write its output, a pull producer asked, and let go
// once unregistered); stopProducing loses the connection.
TEST_P(ProcessEndpointTest, TheTransportPassesEachCallToTheChild) {
  ProcessEndpoint endpoint(*reactor, "/bin/cat", {"cat"});
  auto p = connect(endpoint);
  ASSERT_TRUE(p);
  ITransport& transport = *p->transport;
  EXPECT_EQ(transport.getHost(), Address(PipeAddress{}));
  transport.writeSequence({"test1", "test2", "test3"});
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return p->received == "test1test2test3"; }, "the sequence back"));

  transport.pauseProducing();
  transport.write("held");
  for (int i = 0; i < 20; ++i) reactor->iterate(0.001);
  EXPECT_EQ(p->received, "test1test2test3") << "nothing read while paused";
  // cat blocks on its full stdout, so stops reading: the producer is paused.
  auto pusher = std::make_shared<ChunkPusher>(transport);
  transport.registerProducer(pusher, true);
  constexpr std::size_t kTotal = 8 << 20;
  ASSERT_TRUE(iterateUntil(
      *reactor,
      [&] {
        pusher->pump(kTotal);
        return pusher->paused;
      },
      "the producer paused"));
  EXPECT_LT(pusher->sent, kTotal);
  transport.resumeProducing();
  ASSERT_TRUE(iterateUntil(
      *reactor,
      [&] {
        pusher->pump(kTotal);
        return pusher->sent == kTotal && p->received.size() == 15 + 4 + kTotal;
      },
      "everything through cat"));
  std::weak_ptr<ChunkPusher> weakPusher = pusher;
  transport.unregisterProducer();
  pusher.reset();
  EXPECT_TRUE(weakPusher.expired()) << "let go once unregistered";

  auto puller = std::make_shared<OnePull>(transport);
  transport.registerProducer(puller, false);
  EXPECT_EQ(puller->calls, 1);
  ASSERT_TRUE(iterateUntil(
      *reactor, [&] { return p->received.ends_with("pulled"); }, "the pulled bytes"));

  transport.stopProducing();
  EXPECT_TRUE(transport.disconnecting());
  waitLost(*p);
  EXPECT_TRUE(p->lost->check<error::ConnectionDone>()) << p->lost->brief();
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
