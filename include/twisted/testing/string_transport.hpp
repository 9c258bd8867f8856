// In-memory transports for unit-testing protocols without sockets, as
// Twisted's twisted.internet.testing.StringTransport.
//
//   auto transport = std::make_shared<twisted::testing::StringTransport>();
//   auto proto = std::make_shared<MyProtocol>();
//   proto->makeConnection(transport);
//   proto->dataReceived("PING\r\n");
//   EXPECT_EQ(transport->value(), "PONG\r\n");
//
// Nothing is sent anywhere: writes are recorded, and so are close requests
// and producer registration, for the test to inspect.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "twisted/internet/address.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted/internet/transport.hpp"

namespace twisted::testing {

class StringTransport : public ITCPTransport {
 public:
  /// `host` and `peer` are what getHost/getPeer answer (Twisted's defaults:
  /// 10.0.0.1:12345 and 192.168.1.1:54321).
  explicit StringTransport(Address host = IPv4Address{Transport::TCP, "10.0.0.1", 12345},
                           Address peer = IPv4Address{Transport::TCP, "192.168.1.1", 54321});

  /// Everything written so far, in order.
  const std::string& value() const { return io_; }
  /// Forgets what was written.
  void clear() { io_.clear(); }

  void write(std::string_view data) override;
  void writeSequence(std::span<const std::string_view> data) override;
  using ITransport::writeSequence;
  /// Records the request (disconnecting() becomes true); nothing else.
  void loseConnection() override;
  /// Records the request (aborted() becomes true).
  void abortConnection() override;
  void loseWriteConnection() override { writeDisconnected_ = true; }
  Address getPeer() const override { return peer_; }
  Address getHost() const override { return host_; }
  bool getTcpNoDelay() const override { return noDelay_; }
  void setTcpNoDelay(bool enabled) override { noDelay_ = enabled; }
  bool getTcpKeepAlive() const override { return keepAlive_; }
  void setTcpKeepAlive(bool enabled) override { keepAlive_ = enabled; }
  void setWriteBufferLimits(std::size_t high, std::size_t low, bool pauseReading = true) override;
  /// Always 0: everything counts as sent at once.
  std::size_t writeBufferSize() const override { return 0; }

  void registerProducer(std::shared_ptr<IProducer> producer, bool streaming) override;
  void unregisterProducer() override;

  /// "producing", "paused" or "stopped": what the protocol asked of this
  /// transport as a producer of incoming data.
  enum class ProducerState { Producing, Paused, Stopped };
  void pauseProducing() override;
  void resumeProducing() override;
  void stopProducing() override;
  ProducerState producerState() const { return producerState_; }

  bool disconnecting() const override { return disconnecting_; }
  bool aborted() const { return aborted_; }
  bool writeDisconnected() const { return writeDisconnected_; }
  const std::shared_ptr<IProducer>& producer() const { return producer_; }
  bool streaming() const { return streaming_; }
  std::size_t highWater() const { return highWater_; }
  std::size_t lowWater() const { return lowWater_; }

 protected:
  std::string io_;
  bool disconnecting_ = false;
  bool aborted_ = false;
  bool writeDisconnected_ = false;

 private:
  Address host_;
  Address peer_;
  bool noDelay_ = false;
  bool keepAlive_ = false;
  std::size_t highWater_ = 64 * 1024;
  std::size_t lowWater_ = 16 * 1024;
  std::shared_ptr<IProducer> producer_;
  bool streaming_ = false;
  ProducerState producerState_ = ProducerState::Producing;
};

/// A StringTransport whose loseConnection/abortConnection really end the
/// connection: the protocol gets connectionLost (ConnectionDone or
/// ConnectionAborted) at once (Twisted's StringTransportWithDisconnection).
class StringTransportWithDisconnection : public StringTransport {
 public:
  using StringTransport::StringTransport;
  /// The protocol to tell; set by the test (or by connect()).
  std::weak_ptr<Protocol> protocol;
  void loseConnection() override;
  void abortConnection() override;
};

/// Connects `protocol` to a new StringTransportWithDisconnection and
/// returns the transport.
std::shared_ptr<StringTransportWithDisconnection> connect(
    const std::shared_ptr<Protocol>& protocol);

}  // namespace twisted::testing
