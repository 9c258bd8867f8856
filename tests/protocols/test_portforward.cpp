// ProxyFactory / ProxyServer / ProxyClient over real sockets on every
// backend (twisted/test/test_protocols.py PortforwardingTests, plus
// half-close, refusal and back-pressure).
#include "../internet/tcp_helpers.hpp"
#include "twisted/internet/defer_helpers.hpp"
#include "twisted/protocols/portforward.hpp"

namespace twisted::test {
namespace {

class HalfCloseClient : public ScriptedProtocol, public IHalfCloseableProtocol {
 public:
  void readConnectionLost() override { transport->loseConnection(); }
  void writeConnectionLost() override {}
};

// An upstream that answers "<data>" with "<data>" and, once its client
// half-closes, sends "bye" and closes.
class UpstreamEcho : public ScriptedProtocol, public IHalfCloseableProtocol {
 public:
  void dataReceived(std::string_view data) override {
    ScriptedProtocol::dataReceived(data);
    transport->write(data);
  }
  void readConnectionLost() override {
    transport->write("bye");
    transport->loseConnection();
  }
  void writeConnectionLost() override {}
};

class RecordingProxyFactory : public portforward::ProxyFactory {
 public:
  using ProxyFactory::ProxyFactory;
  std::shared_ptr<Protocol> buildProtocol(const Address& addr) override {
    auto p = ProxyFactory::buildProtocol(addr);
    servers.push_back(std::dynamic_pointer_cast<portforward::ProxyServer>(p));
    return p;
  }
  std::vector<std::shared_ptr<portforward::ProxyServer>> servers;
};

class PortforwardTest : public ReactorTest {
 protected:
  std::shared_ptr<IListeningPort> listenUpstream(std::function<std::shared_ptr<Protocol>()> make) {
    return reactor->listenTCP(0, std::make_shared<Factory>(std::move(make)), 50, "127.0.0.1");
  }
  void stopAll(std::vector<std::shared_ptr<IListeningPort>> ports) {
    std::vector<Deferred<void>> stopping;
    for (auto& p : ports) stopping.push_back(p->stopListening());
    gatherResults(std::move(stopping)).addCallback([this] { reactor->stop(); });
  }
};
TWISTED_ALL_BACKENDS(PortforwardTest);

TEST_P(PortforwardTest, ForwardsBothWaysAndPassesTheHalfCloseOn) {
  auto upstream = listenUpstream([] { return std::make_shared<UpstreamEcho>(); });
  auto proxies = std::make_shared<RecordingProxyFactory>(*reactor, "127.0.0.1", portOf(*upstream));
  auto proxy = reactor->listenTCP(0, proxies, 50, "127.0.0.1");

  auto client = std::make_shared<HalfCloseClient>();
  client->onMade = [](ScriptedProtocol& p) {
    p.transport->write("hello, ");
    p.transport->write("upstream");
    dynamic_cast<ITCPTransport&>(*p.transport).loseWriteConnection();
  };
  std::optional<Failure> reason;
  client->onLost = [&](ScriptedProtocol&, const Failure& why) {
    reason = why;
    stopAll({upstream, proxy});
  };
  auto factory = std::make_shared<ClientFactory>([client] { return client; });
  reactor->connectTCP("127.0.0.1", portOf(*proxy), factory);
  runReactor();
  EXPECT_EQ(client->data, "hello, upstreambye");
  ASSERT_TRUE(reason.has_value());
  EXPECT_TRUE(reason->check<error::ConnectionDone>()) << reason->brief();
  ASSERT_EQ(proxies->servers.size(), 1u);
  EXPECT_EQ(proxies->servers[0]->peer(), nullptr) << "the two sides still hold each other";
}

TEST_P(PortforwardTest, ARefusedDestinationClosesTheAcceptedConnection) {
  auto closed = reactor->listenTCP(0, std::make_shared<Factory>(), 50, "127.0.0.1");
  int closedPort = portOf(*closed);
  closed->stopListening();
  auto proxy = reactor->listenTCP(
      0, std::make_shared<portforward::ProxyFactory>(*reactor, "127.0.0.1", closedPort), 50,
      "127.0.0.1");
  auto client = std::make_shared<ScriptedProtocol>();
  std::optional<Failure> reason;
  client->onLost = [&](ScriptedProtocol&, const Failure& why) {
    reason = why;
    stopAll({proxy});
  };
  reactor->connectTCP("127.0.0.1", portOf(*proxy),
                      std::make_shared<ClientFactory>([client] { return client; }));
  runReactor();
  ASSERT_TRUE(reason.has_value());
  EXPECT_TRUE(reason->check<error::ConnectionDone>()) << reason->brief();
  EXPECT_EQ(logs->flushMessages("Unable to connect"), 1u);
}

TEST_P(PortforwardTest, ASlowDestinationPausesTheClientSide) {
  // The upstream reads nothing until told; the client sends 8 MiB. The
  // proxy must stop reading from the client instead of buffering it all.
  std::shared_ptr<ScriptedProtocol> up;
  auto upstream = listenUpstream([&up] {
    up = std::make_shared<ScriptedProtocol>();
    up->onMade = [](ScriptedProtocol& p) { p.transport->pauseProducing(); };
    return up;
  });
  auto proxies = std::make_shared<RecordingProxyFactory>(*reactor, "127.0.0.1", portOf(*upstream));
  auto proxy = reactor->listenTCP(0, proxies, 50, "127.0.0.1");
  constexpr std::size_t kTotal = 8 << 20;
  auto client = std::make_shared<ScriptedProtocol>();
  client->onMade = [](ScriptedProtocol& p) { p.transport->write(std::string(kTotal, 'z')); };
  reactor->connectTCP("127.0.0.1", portOf(*proxy),
                      std::make_shared<ClientFactory>([client] { return client; }));
  std::size_t proxyBuffered = 0;
  reactor->callLater(1.0, [&] {
    ASSERT_EQ(proxies->servers.size(), 1u);
    auto& server = *proxies->servers[0];
    ASSERT_NE(server.peer(), nullptr);
    proxyBuffered =
        server.peer()->transport->writeBufferSize() + server.transport->writeBufferSize();
    up->transport->resumeProducing();  // now let everything through
  });
  std::size_t received = 0;
  auto check = std::make_shared<std::function<void()>>();
  *check = [&, check] {
    received = up ? up->data.size() : 0;
    if (received >= kTotal) {
      client->transport->loseConnection();
      stopAll({upstream, proxy});
      return;
    }
    reactor->callLater(0.05, *check);
  };
  reactor->callLater(1.1, *check);
  runReactor(30);
  *check = nullptr;
  EXPECT_LE(proxyBuffered, std::size_t{1} << 20)
      << "the proxy buffered what the destination did not read";
  EXPECT_EQ(received, kTotal);
}

}  // namespace
}  // namespace twisted::test
