// Shared pieces of the TCP tests: recording protocols and factories.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "internet/tcp/tcp.hpp"
#include "port_of.hpp"
#include "reactor_test.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted/testing/accumulating_protocol.hpp"

namespace twisted::test {

/// A protocol whose callbacks each test sets with lambdas, recording
/// everything.
class ScriptedProtocol : public testing::AccumulatingProtocol {
 public:
  std::function<void(ScriptedProtocol&)> onMade;
  std::function<void(ScriptedProtocol&, std::string_view)> onData;
  std::function<void(ScriptedProtocol&, const Failure&)> onLost;
  int lostCalls = 0;

  void connectionMade() override {
    testing::AccumulatingProtocol::connectionMade();
    if (onMade) onMade(*this);
  }
  void dataReceived(std::string_view bytes) override {
    testing::AccumulatingProtocol::dataReceived(bytes);
    if (onData) onData(*this, bytes);
  }
  void connectionLost(const Failure& reason) override {
    ++lostCalls;
    testing::AccumulatingProtocol::connectionLost(reason);
    if (onLost) onLost(*this, reason);
  }
};

/// A server factory that keeps every protocol it built and counts starts
/// and stops.
class RecordingFactory : public ClientFactory {
 public:
  std::function<void(ScriptedProtocol&)> setup;  // applied to each new protocol
  std::vector<std::shared_ptr<ScriptedProtocol>> protocols;
  std::vector<Address> addresses;
  int started = 0;
  int stopped = 0;
  bool refuse = false;
  // Client side.
  int startedConnectingCalls = 0;
  std::vector<Failure> failed;
  std::vector<Failure> lost;
  std::function<void(IConnector&, const Failure&)> onFailed;
  std::function<void(IConnector&, const Failure&)> onLost;
  std::function<void()> onStop;  // after stopFactory's count (may throw)

  std::shared_ptr<Protocol> buildProtocol(const Address& addr) override {
    addresses.push_back(addr);
    if (refuse) return nullptr;
    auto p = std::make_shared<ScriptedProtocol>();
    p->factory = this;
    if (setup) setup(*p);
    protocols.push_back(p);
    return p;
  }
  void startFactory() override { ++started; }
  void stopFactory() override {
    ++stopped;
    if (onStop) onStop();
  }
  void startedConnecting(IConnector&) override { ++startedConnectingCalls; }
  void clientConnectionFailed(IConnector& c, const Failure& reason) override {
    failed.push_back(reason);
    if (onFailed) onFailed(c, reason);
  }
  void clientConnectionLost(IConnector& c, const Failure& reason) override {
    lost.push_back(reason);
    if (onLost) onLost(c, reason);
  }
};

/// A half-closeable ScriptedProtocol that records both half-closes.
class HalfCloseProtocol : public ScriptedProtocol, public IHalfCloseableProtocol {
 public:
  bool readLost = false;
  bool writeLost = false;
  std::function<void(HalfCloseProtocol&)> onReadLost;
  std::function<void(HalfCloseProtocol&)> onWriteLost;
  void readConnectionLost() override {
    readLost = true;
    if (onReadLost) onReadLost(*this);
  }
  void writeConnectionLost() override {
    writeLost = true;
    if (onWriteLost) onWriteLost(*this);
  }
};

/// A push producer that counts what it is told.
class PushProducer : public IPushProducer {
 public:
  int paused = 0, resumed = 0, stopped = 0;
  bool running = true;
  std::function<void()> onResume;  // optional: produce again
  void pauseProducing() override {
    ++paused;
    running = false;
  }
  void resumeProducing() override {
    ++resumed;
    running = true;
    if (onResume) onResume();
  }
  void stopProducing() override { ++stopped; }
};

/// A pull producer whose resumeProducing each test sets.
class PullProducer : public IPullProducer {
 public:
  std::function<void()> onResume;
  int stopped = 0;
  void resumeProducing() override { onResume(); }
  void stopProducing() override { ++stopped; }
};

}  // namespace twisted::test
