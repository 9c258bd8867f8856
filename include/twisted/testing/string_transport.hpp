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
// and producer registration, for the test to inspect. setFull(true) makes it
// a socket that takes nothing, to test flow control: writes queue,
// writeBufferSize() grows, a streaming producer is paused past the
// high-water mark and resumed when the test drains the queue:
//
//   transport->setFull(true);
//   transport->registerProducer(producer, true);
//   ... the protocol writes 100 KiB ...   // producer paused (64 KiB mark)
//   transport->drain();                   // producer resumed
#pragma once

#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "twisted/internet/address.hpp"
#include "twisted/internet/protocol.hpp"
#include "twisted/internet/transport.hpp"

namespace twisted::testing {

/// A TCP transport for tests that sends nothing: it records what is written, close requests
/// and producer registration for the test to inspect (Twisted's StringTransport).
class StringTransport : public ITCPTransport {
 public:
  /// `host` and `peer` are what getHost/getPeer answer (Twisted's defaults:
  /// 10.0.0.1:12345 and 192.168.1.1:54321).
  explicit StringTransport(Address host = IPv4Address{Transport::TCP, "10.0.0.1", 12345},
                           Address peer = IPv4Address{Transport::TCP, "192.168.1.1", 54321});

  /// Everything written so far, in order (sent or still queued).
  const std::string& value() const { return io_; }
  /// Forgets what was written. The test has taken it all: the queue
  /// (writeBufferSize) is empty afterwards, as after drain().
  void clear();

  void write(std::string_view data) override;
  void writeSequence(std::span<const std::string_view> data) override;
  /// Records the listed pieces in order, as the span overload does.
  using ITransport::writeSequence;
  /// Records the request (disconnecting() becomes true); nothing else.
  void loseConnection() override;
  /// Records the request (aborted() becomes true).
  void abortConnection() override;
  void loseWriteConnection() override { writeDisconnected_ = true; }
  Address getPeer() const override { return peer_; }
  Address getHost() const override { return host_; }
  /// The value last given to setTcpNoDelay; false at first.
  bool getTcpNoDelay() const override { return noDelay_; }
  /// Records `enabled` for getTcpNoDelay; there is no socket to change.
  void setTcpNoDelay(bool enabled) override { noDelay_ = enabled; }
  /// The value last given to setTcpKeepAlive; false at first.
  bool getTcpKeepAlive() const override { return keepAlive_; }
  /// Records `enabled` for getTcpKeepAlive; there is no socket to change.
  void setTcpKeepAlive(bool enabled) override { keepAlive_ = enabled; }

  // ---- flow control, as a TCP transport's -------------------------------------------
  //
  // By default the socket takes everything at once: writeBufferSize() is 0.
  // setFull(true) makes it a socket whose send buffer is full: what is
  // written stays queued, writeBufferSize() grows, and past the high-water
  // mark a registered streaming producer is paused (and reading too, when
  // setWriteBufferLimits asked for it). The test plays the peer reading:
  // drain() or clear() empties the queue, and once it is down to the
  // low-water mark the producer (and reading) resume.

  /// With `full`, writes are queued until drained; without, everything
  /// queued goes at once (and the producer resumes).
  void setFull(bool full);
  /// Whether writes are being queued (see setFull).
  bool full() const { return full_; }
  /// The peer reads up to `n` queued bytes: they leave the queue (value()
  /// keeps them). Returns how many left.
  std::size_t drain(std::size_t n = std::numeric_limits<std::size_t>::max());
  /// The queued bytes: the last writeBufferSize() bytes of value().
  std::string_view queued() const { return std::string_view(io_).substr(io_.size() - queued_); }
  /// Bytes written and not yet taken (drain, clear); always 0 unless full().
  std::size_t writeBufferSize() const override { return queued_; }
  /// As TCP: when the queue is above `high`, pause a streaming producer
  /// (and reading, if `pauseReading`); resume both at `low` or below.
  /// @throws std::invalid_argument if low > high.
  void setWriteBufferLimits(std::size_t high, std::size_t low, bool pauseReading = true) override;
  /// The high-water mark in bytes (64 KiB unless setWriteBufferLimits changed it).
  std::size_t highWater() const { return highWater_; }
  /// The low-water mark in bytes (16 KiB unless setWriteBufferLimits changed it).
  std::size_t lowWater() const { return lowWater_; }
  /// True while reading is paused because the queue passed the high-water
  /// mark (and setWriteBufferLimits's pauseReading is on, the default).
  bool readingPausedByBuffer() const { return readPausedByBuffer_; }
  /// True while this transport has paused the registered streaming
  /// producer because the queue passed the high-water mark.
  bool producerPausedByBuffer() const { return producerPaused_; }

  /// As TCP: a streaming producer must be an IPushProducer, a pull
  /// producer an IPullProducer; a streaming producer registered while the
  /// queue is above the high-water mark is paused at once. Pull producers
  /// are not driven: the test calls their resumeProducing.
  /// @throws std::invalid_argument for nullptr; std::logic_error if one is
  ///   already registered, or it lacks the interface `streaming` asks for.
  void registerProducer(std::shared_ptr<IProducer> producer, bool streaming) override;
  /// @throws std::logic_error if no producer is registered.
  void unregisterProducer() override;

  /// "producing", "paused" or "stopped": what the protocol asked of this
  /// transport as a producer of incoming data.
  enum class ProducerState { Producing, Paused, Stopped };
  /// Records the request: producerState() becomes Paused.
  /// @throws std::logic_error after stopProducing.
  void pauseProducing() override;
  /// Records the request: producerState() becomes Producing.
  /// @throws std::logic_error after stopProducing.
  void resumeProducing() override;
  void stopProducing() override;
  /// What the protocol last asked: Producing at first, then per the calls above.
  ProducerState producerState() const { return producerState_; }

  /// What the transport's clock() answers (for TimeoutMixin): null unless
  /// set, with setClock or testing::connect(protocol, clock).
  IReactorTime* clock() const override { return clock_; }
  /// Sets what clock() answers; null for none.
  void setClock(IReactorTime* clock) { clock_ = clock; }

  bool disconnecting() const override { return disconnecting_; }
  /// True once abortConnection has been called.
  bool aborted() const { return aborted_; }
  /// True once loseWriteConnection has been called.
  bool writeDisconnected() const { return writeDisconnected_; }
  /// The registered producer; null if none.
  const std::shared_ptr<IProducer>& producer() const { return producer_; }
  /// Whether the registered producer was registered as streaming (a push producer).
  bool streaming() const { return streaming_; }

 protected:
  /// Called when the queue has just been emptied (by drain, clear or
  /// setFull(false)), after the producer was resumed.
  virtual void writeBufferDrained() {}
  /// Forgets the producer and returns it (for a subclass that stops it).
  std::shared_ptr<IProducer> releaseProducer();
  /// Empties the queue without resuming anything (a closed connection).
  void discardQueue() { queued_ = 0; }

  /// Everything written, what value() returns.
  std::string io_;
  /// Set by loseConnection and abortConnection; what disconnecting() returns.
  bool disconnecting_ = false;
  /// Set by abortConnection; what aborted() returns.
  bool aborted_ = false;
  /// Set by loseWriteConnection; what writeDisconnected() returns.
  bool writeDisconnected_ = false;

 private:
  void bufferGrew();
  void bufferShrank();
  void taken(std::size_t n);

  Address host_;
  Address peer_;
  bool noDelay_ = false;
  bool keepAlive_ = false;
  bool full_ = false;
  std::size_t queued_ = 0;
  std::size_t highWater_ = 64 * 1024;
  std::size_t lowWater_ = 16 * 1024;
  bool pauseReadingWhenFull_ = true;
  bool readPausedByBuffer_ = false;
  bool producerPaused_ = false;
  std::shared_ptr<IProducer> producer_;
  bool streaming_ = false;
  ProducerState producerState_ = ProducerState::Producing;
  IReactorTime* clock_ = nullptr;
};

/// A StringTransport whose loseConnection/abortConnection really end the
/// connection: the protocol gets connectionLost (ConnectionDone or
/// ConnectionAborted) at once (Twisted's StringTransportWithDisconnection).
/// While full() with bytes queued, loseConnection waits, as TCP does, until
/// they are drained.
class StringTransportWithDisconnection : public StringTransport {
 public:
  using StringTransport::StringTransport;
  /// The protocol to tell; set by the test (or by connect()).
  std::weak_ptr<Protocol> protocol;
  void loseConnection() override;
  void abortConnection() override;

 protected:
  void writeBufferDrained() override;

 private:
  bool closePending_ = false;
};

/// Connects `protocol` to a new StringTransportWithDisconnection and
/// returns the transport.
std::shared_ptr<StringTransportWithDisconnection> connect(
    const std::shared_ptr<Protocol>& protocol);
/// The same, with `clock` as the transport's clock() (set before
/// connectionMade runs, so a TimeoutMixin started there uses it).
std::shared_ptr<StringTransportWithDisconnection> connect(const std::shared_ptr<Protocol>& protocol,
                                                          IReactorTime& clock);

}  // namespace twisted::testing
