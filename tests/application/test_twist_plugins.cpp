// The built-in twist plugins build their services on any reactor that
// endpoints can use (an EndpointReactor), not only on Reactor: here a
// testing::MemoryReactor, which records what they listen on and connect to.
#include <gtest/gtest.h>

#include "twisted/application/twist.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/testing/memory_reactor.hpp"
#include "twisted/testing/string_transport.hpp"

namespace twisted::test {
namespace {

using application::builtinPlugins;
using application::PluginOptions;

PluginOptions optionsFor(application::ServiceMaker& maker) {
  PluginOptions options;
  for (const auto& option : maker.options()) options.set(option.name, option.defaults);
  options.set("listen", {"tcp:8123:interface=127.0.0.1"});
  if (maker.tapname() == "portforward") options.set("dest", {"tcp:127.0.0.1:9999"});
  return options;
}

TEST(TwistPlugins, EveryBuiltinPluginRunsOnAMemoryReactor) {
  for (const auto& maker : builtinPlugins()) {
    testing::MemoryReactor reactor;
    auto service = maker->makeService(reactor, optionsFor(*maker));
    service->startService();
    ASSERT_EQ(reactor.tcpServers.size(), 1u) << maker->tapname();
    EXPECT_EQ(reactor.tcpServers[0].port, 8123) << maker->tapname();
    EXPECT_EQ(reactor.tcpServers[0].interface, "127.0.0.1") << maker->tapname();
    service->stopService();
  }
}

TEST(TwistPlugins, PortforwardConnectsThroughTheReactorItWasGiven) {
  for (const auto& maker : builtinPlugins()) {
    if (maker->tapname() != "portforward") continue;
    testing::MemoryReactor reactor;
    auto service = maker->makeService(reactor, optionsFor(*maker));
    service->startService();
    ASSERT_EQ(reactor.tcpServers.size(), 1u);
    // A client arrives: the proxy connects to the destination on this reactor.
    auto proxy = reactor.tcpServers[0].factory->buildProtocol(
        IPv4Address{Transport::TCP, "127.0.0.1", 40000});
    ASSERT_TRUE(proxy);
    auto transport = std::make_shared<testing::StringTransport>();
    proxy->makeConnection(transport);
    ASSERT_EQ(reactor.tcpClients.size(), 1u);
    EXPECT_EQ(reactor.tcpClients[0].host, "127.0.0.1");
    EXPECT_EQ(reactor.tcpClients[0].port, 9999);
    proxy->connectionLost(Failure::of(error::ConnectionDone()));
    service->stopService();
    return;
  }
  FAIL() << "no portforward plugin";
}

}  // namespace
}  // namespace twisted::test
