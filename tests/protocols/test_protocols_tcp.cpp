// The protocol library over real sockets, on every backend: FileSender
// streaming a file through a TCP transport, and policies wrapping real
// connections (connection limits, idle timeouts, throttled reads).
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "../internet/tcp_helpers.hpp"
#include "twisted/protocols/basic.hpp"
#include "twisted/protocols/policies.hpp"
#include "twisted/protocols/wire.hpp"

namespace twisted::test {
namespace {

class ProtocolsOverTCPTest : public ReactorTest {
 protected:
  // Connects a ScriptedProtocol to `port`; `onLost` runs when it closes.
  std::shared_ptr<ScriptedProtocol> connect(IListeningPort& port,
                                            std::function<void(ScriptedProtocol&)> onLost) {
    auto client = std::make_shared<ScriptedProtocol>();
    client->onLost = [onLost](ScriptedProtocol& p, const Failure&) { onLost(p); };
    reactor->connectTCP("127.0.0.1", portOf(port),
                        std::make_shared<ClientFactory>([client] { return client; }));
    return client;
  }
};
TWISTED_ALL_BACKENDS(ProtocolsOverTCPTest);

TEST_P(ProtocolsOverTCPTest, FileSenderStreamsAFileThroughATransport) {
  // One file per process: ctest runs the three backends' cases at once, and
  // a shared name let one case remove or rewrite the file another streamed.
  std::string path =
      ::testing::TempDir() + "file_sender_tcp_" + std::to_string(::getpid()) + ".bin";
  std::string content;
  for (int i = 0; i < (4 << 20); ++i) content += static_cast<char>((i * 13) ^ (i >> 9));
  std::ofstream(path, std::ios::binary) << content;
  std::optional<std::string> lastByte;
  struct Sender : Protocol {
    std::string path;
    std::optional<std::string>* last;
    void connectionMade() override {
      auto sender = std::make_shared<basic::FileSender>();
      auto t = transport;
      sender->beginFileTransfer(std::filesystem::path(path), *transport)
          .addCallback([this, t](std::string last) {
            *this->last = last;
            t->loseConnection();
          });
    }
  };
  auto port = reactor->listenTCP(0, std::make_shared<Factory>([&] {
                                   auto s = std::make_shared<Sender>();
                                   s->path = path;
                                   s->last = &lastByte;
                                   return s;
                                 }),
                                 50, "127.0.0.1");
  auto client = connect(*port, [&](ScriptedProtocol&) {
    port->stopListening().addCallback([this] { reactor->stop(); });
  });
  runReactor(30);
  EXPECT_TRUE(client->data == content) << client->data.size() << " of " << content.size();
  EXPECT_EQ(lastByte, std::optional<std::string>(content.substr(content.size() - 1)));
  std::remove(path.c_str());
}

TEST_P(ProtocolsOverTCPTest, LimitTotalConnectionsClosesTheOneTooMany) {
  auto limited = std::make_shared<policies::LimitTotalConnectionsFactory>(
      Factory::forProtocol<wire::Echo>(), 1);
  auto port = reactor->listenTCP(0, limited, 50, "127.0.0.1");
  bool secondLost = false;
  std::shared_ptr<ScriptedProtocol> first;
  first = connect(*port, [&](ScriptedProtocol&) {
    port->stopListening().addCallback([this] { reactor->stop(); });
  });
  first->onMade = [](ScriptedProtocol& p) { p.transport->write("ping"); };
  first->onData = [&](ScriptedProtocol& p, std::string_view) {
    if (p.data != "ping") return;
    // Once the first is served (its echo is back: before, the order of
    // the second's refusal and the echo's arrival is the backend's), a
    // second connection is one too many.
    connect(*port, [&](ScriptedProtocol&) {
      secondLost = true;
      EXPECT_EQ(limited->connectionCount(), 1u);
      first->transport->loseConnection();
    });
  };
  runReactor();
  EXPECT_TRUE(secondLost);
  EXPECT_EQ(first->data, "ping");
  EXPECT_EQ(limited->connectionCount(), 0u);
}

TEST_P(ProtocolsOverTCPTest, TimeoutFactoryClosesAnIdleConnection) {
  auto timeouts =
      std::make_shared<policies::TimeoutFactory>(*reactor, Factory::forProtocol<wire::Echo>(), 0.2);
  auto port = reactor->listenTCP(0, timeouts, 50, "127.0.0.1");
  double lostAt = -1;
  double start = reactor->seconds();
  auto client = connect(*port, [&](ScriptedProtocol&) {
    lostAt = reactor->seconds() - start;
    port->stopListening().addCallback([this] { reactor->stop(); });
  });
  // Activity for a while keeps it open; then silence closes it.
  for (int i = 1; i <= 3; ++i) {
    reactor->callLater(0.1 * i, [client] {
      if (client->transport) client->transport->write("x");
    });
  }
  runReactor();
  EXPECT_EQ(client->data, "xxx");
  EXPECT_GT(lostAt, 0.45);
  EXPECT_LT(lostAt, 5.0);
}

TEST_P(ProtocolsOverTCPTest, TimeoutMixinTimesOutOnTheReactorTheTestMade) {
  // No timeoutClock and a plain factory: the protocol's timer runs on its
  // transport's clock, the test's own reactor (never defaultReactor, which
  // nobody runs: the connection would stay open until runReactor gives up).
  struct IdleSession : Protocol, policies::TimeoutMixin {
    void connectionMade() override { setTimeout(0.2); }
    void dataReceived(std::string_view data) override {
      resetTimeout();
      transport->write(data);
    }
    void connectionLost(const Failure&) override { setTimeout(std::nullopt); }
  };
  auto port = reactor->listenTCP(0, Factory::forProtocol<IdleSession>(), 50, "127.0.0.1");
  double lostAt = -1;
  double start = reactor->seconds();
  auto client = connect(*port, [&](ScriptedProtocol&) {
    lostAt = reactor->seconds() - start;
    port->stopListening().addCallback([this] { reactor->stop(); });
  });
  reactor->callLater(0.1, [client] {
    if (client->transport) client->transport->write("ping");  // resets the timer
  });
  runReactor();
  EXPECT_EQ(client->data, "ping");
  EXPECT_GT(lostAt, 0.25);
  EXPECT_LT(lostAt, 5.0);
}

TEST_P(ProtocolsOverTCPTest, ThrottlingFactoryPausesReadsOverTheLimit) {
  // 64 KiB/s read limit, checked once a second (as Twisted): a 256 KiB burst
  // is read at once, then at the check reads stop for 256/64 - 1 = 3 s, so
  // a byte sent at 1.5 s is read only at about 4 s.
  auto counting = std::make_shared<RecordingFactory>();
  double start = reactor->seconds();
  double markReadAt = -1;
  counting->setup = [&](ScriptedProtocol& p) {
    p.onData = [&](ScriptedProtocol& self, std::string_view data) {
      if (data.find('!') != std::string_view::npos) {
        markReadAt = reactor->seconds() - start;
        self.transport->loseConnection();
      }
    };
  };
  auto throttled =
      std::make_shared<policies::ThrottlingFactory>(*reactor, counting, SIZE_MAX, 64.0 * 1024);
  auto port = reactor->listenTCP(0, throttled, 50, "127.0.0.1");
  auto client = connect(*port, [&](ScriptedProtocol&) {
    port->stopListening().addCallback([this] { reactor->stop(); });
  });
  client->onMade = [](ScriptedProtocol& p) { p.transport->write(std::string(256 << 10, 't')); };
  reactor->callLater(1.5, [client] { client->transport->write("!"); });
  runReactor(30);
  ASSERT_EQ(counting->protocols.size(), 1u);
  EXPECT_EQ(counting->protocols[0]->data.size(), (256u << 10) + 1);
  EXPECT_GT(markReadAt, 3.5) << "reads were not paused after the check";
  EXPECT_LT(markReadAt, 10.0);
}

}  // namespace
}  // namespace twisted::test
