// Services (twisted/application/test/test_service.py and the
// StreamServerEndpointService parts of test_internet.py).
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <vector>

#include "reactor_test.hpp"
#include "twisted/application/internet.hpp"
#include "twisted/application/service.hpp"
#include "twisted/testing/deferred.hpp"

namespace twisted::test {
namespace {

using application::MultiService;
using application::Service;
using application::StreamServerEndpointService;

class Recorded : public Service {
 public:
  Recorded(std::string n, std::vector<std::string>& log, bool failToStart = false)
      : log_(log), fail_(failToStart) {
    name = std::move(n);
  }
  void startService() override {
    if (fail_) throw std::runtime_error("cannot start " + name);
    Service::startService();
    log_.push_back("start " + name);
  }
  Deferred<void> stopService() override {
    log_.push_back("stop " + name);
    return Service::stopService();
  }

 private:
  std::vector<std::string>& log_;
  bool fail_;
};

TEST(MultiService, StartsInOrderAndStopsInReverse) {
  std::vector<std::string> log;
  MultiService top;
  top.addService(std::make_shared<Recorded>("a", log));
  top.addService(std::make_shared<Recorded>("b", log));
  top.startService();
  EXPECT_TRUE(top.running());
  top.addService(std::make_shared<Recorded>("c", log));  // started at once
  EXPECT_NE(top.getServiceNamed("b"), nullptr);
  EXPECT_EQ(top.getServiceNamed("z"), nullptr);
  auto stopped = top.stopService();
  EXPECT_TRUE(stopped.called());
  EXPECT_EQ(log, (std::vector<std::string>{"start a", "start b", "start c", "stop c", "stop b",
                                           "stop a"}));
  EXPECT_FALSE(top.running());
}

TEST(MultiService, AFailedStartStopsWhatHadStarted) {
  std::vector<std::string> log;
  MultiService top;
  top.addService(std::make_shared<Recorded>("a", log));
  top.addService(std::make_shared<Recorded>("bad", log, true));
  top.addService(std::make_shared<Recorded>("c", log));
  EXPECT_THROW(top.startService(), std::runtime_error);
  EXPECT_EQ(log, (std::vector<std::string>{"start a", "stop a"}));
  EXPECT_FALSE(top.running());
}

TEST(MultiService, RemoveServiceStopsIt) {
  std::vector<std::string> log;
  MultiService top;
  auto a = std::make_shared<Recorded>("a", log);
  top.addService(a);
  top.startService();
  EXPECT_TRUE(top.removeService(a).called());
  EXPECT_FALSE(a->running());
  EXPECT_TRUE(top.services().empty());
}

class EndpointServiceTest : public ReactorTest {};
TWISTED_ALL_BACKENDS(EndpointServiceTest);

TEST_P(EndpointServiceTest, ListensWhileRunningAndStopsListening) {
  auto service = std::make_shared<StreamServerEndpointService>(
      serverFromString(*reactor, "tcp:0:interface=127.0.0.1"), std::make_shared<Factory>());
  service->startService();
  ASSERT_NE(service->port(), nullptr);
  auto port = service->port();
  EXPECT_TRUE(service->running());
  bool stopped = false;
  service->stopService().addCallback([&] {
    stopped = true;
    reactor->stop();
  });
  runReactor();
  EXPECT_TRUE(stopped);
  EXPECT_FALSE(service->running());
  EXPECT_EQ(service->port(), nullptr);
}

TEST_P(EndpointServiceTest, StrportsServiceParsesTheDescription) {
  // Twisted's test_strports: service(description, factory) listens there.
  auto service = application::strports::service(*reactor, "tcp:0:interface=127.0.0.1",
                                                std::make_shared<Factory>());
  service->startService();
  ASSERT_NE(service->port(), nullptr);
  EXPECT_EQ(std::get<IPv4Address>(service->port()->getHost()).host, "127.0.0.1");
  service->stopService().addCallback([this] { reactor->stop(); });
  runReactor();
  EXPECT_THROW(application::strports::service(*reactor, "tcp:", std::make_shared<Factory>()),
               error::InvalidEndpointDescription);
}

TEST_P(EndpointServiceTest, AnAddressInUseIsThrownWithItsErrno) {
  auto first = reactor->listenTCP(0, std::make_shared<Factory>(), 50, "127.0.0.1");
  Address host = first->getHost();
  int port = std::get<IPv4Address>(host).port;
  StreamServerEndpointService service(
      serverFromString(*reactor, "tcp:" + std::to_string(port) + ":interface=127.0.0.1"),
      std::make_shared<Factory>());
  try {
    service.startService();
    FAIL() << "no exception";
  } catch (const error::CannotListenError& e) {
    EXPECT_EQ(e.socketError(), EADDRINUSE);
    EXPECT_NE(std::string(e.what()).find(std::to_string(port)), std::string::npos);
  }
  EXPECT_FALSE(service.running());
  // Without raiseSynchronously the failure is kept (and logged).
  service.raiseSynchronously = false;
  service.startService();
  ASSERT_TRUE(service.listenFailure().has_value());
  EXPECT_TRUE(service.listenFailure()->check<error::CannotListenError>());
  EXPECT_EQ(logs->flushErrors<error::CannotListenError>(), 1u);
  first->stopListening().addCallback([this] { reactor->stop(); });
  runReactor();
}

}  // namespace
}  // namespace twisted::test
