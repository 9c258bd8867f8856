// Endpoints driven by MemoryReactor and a fake clock: the timing of happy
// eyeballs, cancellation and what reaches connectTCP, without sockets.
#include <gtest/gtest.h>

#include "endpoint_helpers.hpp"
#include "twisted/internet/client_creator.hpp"
#include "twisted/internet/endpoints.hpp"
#include "twisted/testing/deferred.hpp"
#include "twisted/testing/memory_reactor.hpp"
#include "twisted/testing/string_transport.hpp"

namespace twisted::test {
namespace {

using testing::failureResultOf;
using testing::hasNoResult;
using testing::successResultOf;

IPv4Address v4(const char* host) {
  return IPv4Address{Transport::TCP, host, 0};
}
IPv6Address v6(const char* host) {
  return IPv6Address{Transport::TCP, host, 0};
}

class HostnameEndpointTest : public ::testing::Test {
 protected:
  testing::MemoryReactor reactor;
  TableResolver resolver;
  std::shared_ptr<Factory> factory = Factory::forProtocol<Protocol>();

  HostnameEndpointTest() {
    resolver.table["dual.test"] = {v6("::1"), v6("::2"), v4("127.0.0.1"), v4("127.0.0.2")};
  }
  HostnameEndpoint endpoint(double timeout = 30) {
    return HostnameEndpoint(reactor, reactor, resolver, "dual.test", 80, timeout);
  }
  std::vector<std::string> attemptedHosts() const {
    std::vector<std::string> out;
    for (const auto& c : reactor.tcpClients) out.push_back(c.host);
    return out;
  }
  // Plays attempt `i` connecting: the protocol is built and connected to a
  // StringTransport.
  std::shared_ptr<testing::StringTransport> connectAttempt(std::size_t i) {
    auto proto = reactor.tcpClients.at(i).factory->buildProtocol(v4("10.0.0.2"));
    auto transport = std::make_shared<testing::StringTransport>();
    if (proto) proto->makeConnection(transport);
    return proto ? transport : nullptr;
  }
};

TEST_F(HostnameEndpointTest, InterleavesFamiliesStartingWithTheFirst) {
  auto order = HostnameEndpoint::interleave(
      {v4("1.1.1.1"), v6("::a"), v4("2.2.2.2"), v4("3.3.3.3"), v6("::b")});
  std::vector<std::string> hosts;
  for (auto& a : order) {
    hosts.push_back(std::visit(
        [](auto& x) -> std::string {
          if constexpr (requires { x.host; }) return x.host;
          return {};
        },
        a));
  }
  EXPECT_EQ(hosts, (std::vector<std::string>{"1.1.1.1", "::a", "2.2.2.2", "::b", "3.3.3.3"}));
}

TEST_F(HostnameEndpointTest, LooksUpEveryFamilyAndGivesEachAttemptAHeadStart) {
  auto ep = endpoint();
  auto d = ep.connect(factory);
  ASSERT_EQ(resolver.families, std::vector<AddressFamily>{AddressFamily::Any});
  EXPECT_EQ(attemptedHosts(), std::vector<std::string>{"::1"});
  reactor.clock().advance(0.29);
  EXPECT_EQ(attemptedHosts().size(), 1u) << "the first attempt has 0.3 s to itself";
  reactor.clock().advance(0.02);
  EXPECT_EQ(attemptedHosts(), (std::vector<std::string>{"::1", "127.0.0.1"}));
  EXPECT_EQ(reactor.tcpClients[1].port, 80);
  EXPECT_EQ(reactor.tcpClients[1].timeout, 0) << "the endpoint's own timer bounds the attempts";
  EXPECT_TRUE(hasNoResult(d));
}

TEST_F(HostnameEndpointTest, AFailedAttemptStartsTheNextAtOnce) {
  auto ep = endpoint();
  auto d = ep.connect(factory);
  reactor.connectors.at(0)->failConnection(Failure::of(error::ConnectionRefusedError()));
  EXPECT_EQ(attemptedHosts(), (std::vector<std::string>{"::1", "127.0.0.1"}));
  EXPECT_TRUE(hasNoResult(d));
}

TEST_F(HostnameEndpointTest, TheFirstToConnectWinsAndTheOthersAreAbandoned) {
  auto ep = endpoint();
  auto d = ep.connect(factory);
  reactor.clock().advance(0.3);
  reactor.clock().advance(0.3);
  ASSERT_EQ(attemptedHosts().size(), 3u);
  auto transport = connectAttempt(1);
  ASSERT_TRUE(transport);
  std::shared_ptr<Protocol> proto = successResultOf(d);
  EXPECT_EQ(proto->transport, transport);
  EXPECT_TRUE(reactor.connectors[0]->stoppedConnecting);
  EXPECT_FALSE(reactor.connectors[1]->stoppedConnecting);
  EXPECT_TRUE(reactor.connectors[2]->stoppedConnecting);
  EXPECT_TRUE(reactor.getDelayedCalls().empty()) << "no timer left behind";
  reactor.clock().advance(10);
  EXPECT_EQ(attemptedHosts().size(), 3u) << "no attempt after the winner";
  EXPECT_FALSE(connectAttempt(0)) << "a loser that connects late is refused";
}

TEST_F(HostnameEndpointTest, WhenEveryAttemptFailsTheLastReasonIsReported) {
  auto ep = endpoint();
  auto d = ep.connect(factory);
  for (std::size_t i = 0; i < 4; ++i) {
    ASSERT_EQ(attemptedHosts().size(), i + 1);
    reactor.connectors[i]->failConnection(i == 3 ? Failure::of(error::NoRouteError("last"))
                                                 : Failure::of(error::ConnectionRefusedError()));
  }
  Failure f = failureResultOf(d);
  EXPECT_TRUE(f.check<error::NoRouteError>()) << f.getErrorMessage();
  EXPECT_TRUE(reactor.getDelayedCalls().empty());
}

TEST_F(HostnameEndpointTest, TheTimeoutCoversTheWholeConnect) {
  auto ep = endpoint(/*timeout=*/1);
  auto d = ep.connect(factory);
  reactor.clock().advance(0.3);
  reactor.clock().advance(0.3);
  EXPECT_TRUE(hasNoResult(d));
  reactor.clock().advance(0.4);
  Failure f = failureResultOf(d);
  EXPECT_TRUE(f.check<error::TimeoutError>()) << f.getErrorMessage();
  for (auto& c : reactor.connectors) EXPECT_TRUE(c->stoppedConnecting);
  EXPECT_TRUE(reactor.getDelayedCalls().empty());
}

TEST_F(HostnameEndpointTest, CancelAbandonsEveryAttempt) {
  auto ep = endpoint();
  auto d = ep.connect(factory);
  reactor.clock().advance(0.3);
  d.cancel();
  Failure f = failureResultOf(d);
  EXPECT_TRUE(f.check<error::ConnectingCancelledError>());
  EXPECT_NE(f.getErrorMessage().find("dual.test:80"), std::string::npos) << f.getErrorMessage();
  for (auto& c : reactor.connectors) EXPECT_TRUE(c->stoppedConnecting);
  EXPECT_TRUE(reactor.getDelayedCalls().empty());
}

TEST_F(HostnameEndpointTest, CancelDuringTheLookupAbandonsIt) {
  resolver.hang = {"dual.test"};
  auto ep = endpoint();
  auto d = ep.connect(factory);
  d.cancel();
  EXPECT_TRUE(failureResultOf(d).check<error::CancelledError>());
  EXPECT_EQ(resolver.cancelled, 1);
  EXPECT_TRUE(reactor.tcpClients.empty());
}

// ---- TCP4ClientEndpoint and ClientCreator on MemoryReactor ----------------------

TEST(ClientEndpointMemoryTest, PassesItsArgumentsToConnectTCP) {
  testing::MemoryReactor reactor;
  TCP4ClientEndpoint ep(reactor, "example.com", 8080, 7, BindAddress{"127.0.0.2", 0});
  auto d = ep.connect(Factory::forProtocol<Protocol>());
  ASSERT_EQ(reactor.tcpClients.size(), 1u);
  EXPECT_EQ(reactor.tcpClients[0].host, "example.com");
  EXPECT_EQ(reactor.tcpClients[0].port, 8080);
  EXPECT_EQ(reactor.tcpClients[0].timeout, 7);
  ASSERT_TRUE(reactor.tcpClients[0].bindAddress);
  EXPECT_EQ(reactor.tcpClients[0].bindAddress->host, "127.0.0.2");
  reactor.connectors[0]->failConnection(Failure::of(error::TimeoutError()));
  EXPECT_TRUE(failureResultOf(d).check<error::TimeoutError>());
}

class Named : public Protocol {
 public:
  explicit Named(std::string name) : name(std::move(name)) {}
  std::string name;
};

TEST(ClientCreatorMemoryTest, FiresWithTheTypedProtocolOnceConnected) {
  testing::MemoryReactor reactor;
  ClientCreator<Named> creator(reactor, std::string("n1"));
  auto d = creator.connectTCP("10.0.0.1", 25, 5);
  ASSERT_EQ(reactor.tcpClients.size(), 1u);
  EXPECT_EQ(reactor.tcpClients[0].timeout, 5);
  EXPECT_TRUE(hasNoResult(d));
  auto proto = reactor.tcpClients[0].factory->buildProtocol(v4("10.0.0.1"));
  EXPECT_TRUE(hasNoResult(d)) << "not before connectionMade";
  proto->makeConnection(std::make_shared<testing::StringTransport>());
  std::shared_ptr<Named> named = successResultOf(d);
  EXPECT_EQ(named->name, "n1");
  EXPECT_TRUE(named->connected);
}

TEST(ClientCreatorMemoryTest, CancelWhileConnectingStopsTheConnector) {
  testing::MemoryReactor reactor;
  ClientCreator<Named> creator(reactor, std::string("n"));
  auto d = creator.connectTCP("10.0.0.1", 25);
  reactor.tcpClients[0].factory->startedConnecting(*reactor.connectors[0]);
  d.cancel();
  EXPECT_TRUE(reactor.connectors[0]->stoppedConnecting);
  EXPECT_TRUE(failureResultOf(d).check<error::CancelledError>());
  EXPECT_FALSE(reactor.tcpClients[0].factory->buildProtocol(v4("10.0.0.1")))
      << "a connection that completes after the cancel is refused";
}

}  // namespace
}  // namespace twisted::test
