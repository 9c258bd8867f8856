// twisted.protocols.policies in one include: wrappers that add a policy to
// any factory's protocols without changing them.
//
//   // At most 100 connections, 10 per peer host, idle ones closed after 5 min,
//   // and reads throttled to 1 MB/s overall:
//   auto f = std::make_shared<ThrottlingFactory>(reactor,
//       std::make_shared<LimitConnectionsByPeer>(
//           std::make_shared<TimeoutFactory>(reactor, echoFactory, 300), 10),
//       100, 1'000'000);
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "twisted/internet/delayed_call.hpp"
#include "twisted/internet/interfaces.hpp"
#include "twisted/protocols/protocol_wrapper.hpp"

namespace twisted::policies {

// ---- ThrottlingFactory -------------------------------------------------------------

class ThrottlingFactory;

/// Twisted's ThrottlingProtocol: counts the bytes its connection moves.
class ThrottlingProtocol : public ProtocolWrapper {
 public:
  ThrottlingProtocol(WrappingFactory& factory, std::shared_ptr<Protocol> wrapped);
  void write(std::string_view data) override;
  void writeSequence(std::span<const std::string_view> data) override;
  using ProtocolWrapper::writeSequence;
  void dataReceived(std::string_view data) override;
  void registerProducer(std::shared_ptr<IProducer> producer, bool streaming) override;
  void unregisterProducer() override;

  /// Stops reading from the peer (pauses the real transport).
  void throttleReads();
  void unthrottleReads();
  /// Pauses the registered streaming producer, if any.
  void throttleWrites();
  void unthrottleWrites();

 private:
  ThrottlingFactory& throttling() const;
  std::weak_ptr<IPushProducer> producer_;
};

/// Twisted's ThrottlingFactory: limits how many connections are open at
/// once (the others are refused: closed at once) and how many bytes all of
/// them read and write per second. Each second the totals are checked; over
/// the limit, reads (or the streaming producers feeding writes) are paused
/// for as long as the excess would take at the limit. Writes are throttled
/// only through a registered streaming producer, as in Twisted.
class ThrottlingFactory : public WrappingFactory {
 public:
  ThrottlingFactory(IReactorTime& clock, std::shared_ptr<Factory> wrapped,
                    std::size_t maxConnectionCount = SIZE_MAX,
                    std::optional<double> readLimit = std::nullopt,
                    std::optional<double> writeLimit = std::nullopt);
  ~ThrottlingFactory() override;

  std::size_t maxConnectionCount;
  std::optional<double> readLimit;   // bytes per second
  std::optional<double> writeLimit;  // bytes per second

  std::size_t connectionCount() const { return connectionCount_; }
  std::uint64_t readThisSecond() const { return readThisSecond_; }
  std::uint64_t writtenThisSecond() const { return writtenThisSecond_; }
  void registerRead(std::size_t n) { readThisSecond_ += n; }
  void registerWritten(std::size_t n) { writtenThisSecond_ += n; }

  /// The once-a-second checks (public for tests, as in Twisted).
  void checkReadBandwidth();
  void checkWriteBandwidth();
  void throttleReads();
  void unthrottleReads();
  void throttleWrites();
  void unthrottleWrites();

  std::shared_ptr<Protocol> buildProtocol(const Address& addr) override;
  std::shared_ptr<ProtocolWrapper> wrapProtocol(std::shared_ptr<Protocol> wrapped,
                                                const Address& addr) override;
  void unregisterProtocol(ProtocolWrapper& p) override;
  IReactorTime* clock() const override { return &clock_; }

 private:
  void cancelCalls();

  IReactorTime& clock_;
  std::size_t connectionCount_ = 0;
  std::uint64_t readThisSecond_ = 0;
  std::uint64_t writtenThisSecond_ = 0;
  std::optional<DelayedCall> checkReadID_, unthrottleReadsID_;
  std::optional<DelayedCall> checkWriteID_, unthrottleWritesID_;
};

// ---- connection limits ---------------------------------------------------------------

/// Twisted's LimitTotalConnectionsFactory: at most `connectionLimit` open
/// connections. Beyond it, a connection gets `overflowProtocol` if one is
/// set (to say "busy" politely), else it is closed at once.
class LimitTotalConnectionsFactory : public WrappingFactory {
 public:
  LimitTotalConnectionsFactory(std::shared_ptr<Factory> wrapped,
                               std::optional<std::size_t> connectionLimit);
  std::optional<std::size_t> connectionLimit;
  Factory::ProtocolMaker overflowProtocol;
  std::size_t connectionCount() const { return connectionCount_; }

  std::shared_ptr<Protocol> buildProtocol(const Address& addr) override;
  void registerProtocol(ProtocolWrapper& p) override;
  void unregisterProtocol(ProtocolWrapper& p) override;

 private:
  std::size_t connectionCount_ = 0;
};

/// Twisted's LimitConnectionsByPeer: at most `maxConnectionsPerPeer` open
/// connections from each peer host; more are closed at once.
class LimitConnectionsByPeer : public WrappingFactory {
 public:
  LimitConnectionsByPeer(std::shared_ptr<Factory> wrapped, std::size_t maxConnectionsPerPeer = 5);
  std::size_t maxConnectionsPerPeer;
  /// Open connections per peer host.
  const std::map<std::string, std::size_t>& peerConnections() const { return peers_; }

  std::shared_ptr<Protocol> buildProtocol(const Address& addr) override;
  void unregisterProtocol(ProtocolWrapper& p) override;

 private:
  std::map<std::string, std::size_t> peers_;
};

// ---- timeouts ----------------------------------------------------------------------

/// Twisted's TimeoutMixin, for a protocol: calls timeoutConnection (which
/// by default closes the connection) once no resetTimeout has happened for
/// the period given to setTimeout.
///
/// The timer runs on `timeoutClock` if set, else on the clock of the
/// protocol's transport (ITransport::clock(): its reactor), else on its
/// factory's (Factory::clock()). Twisted uses the global reactor; nothing
/// here does: with no clock to be found setTimeout throws, rather than
/// schedule a timeout that a reactor nobody runs would never fire.
///
///   class Session : public Protocol, public TimeoutMixin {
///     void connectionMade() override { setTimeout(60); }
///     void dataReceived(std::string_view d) override { resetTimeout(); ... }
///     void connectionLost(const Failure&) override { setTimeout(std::nullopt); }
///   };
class TimeoutMixin {
 public:
  virtual ~TimeoutMixin();
  /// Where the timer runs, when set (a testing::Clock in tests); otherwise
  /// the transport's clock, else the factory's.
  IReactorTime* timeoutClock = nullptr;

  /// Sets the period (nothing: no timeout) and restarts the timer; returns
  /// the previous period.
  /// @throws std::logic_error if a timer is to be started and no clock is
  ///   found (timeoutClock unset, and neither the transport nor the factory
  ///   of the Protocol this is mixed into has one).
  std::optional<double> setTimeout(std::optional<double> period);
  /// Restarts the timer (call on activity).
  void resetTimeout();
  /// The current period.
  std::optional<double> timeOut() const { return timeOut_; }
  /// The time ran out. The default closes the connection of the Protocol
  /// this is mixed into.
  virtual void timeoutConnection();

 private:
  std::optional<double> timeOut_;
  std::optional<DelayedCall> timeoutCall_;
};

/// Twisted's TimeoutProtocol: closes a connection idle (nothing read or
/// written) for `timeoutPeriod` seconds.
class TimeoutProtocol : public ProtocolWrapper {
 public:
  TimeoutProtocol(WrappingFactory& factory, std::shared_ptr<Protocol> wrapped, IReactorTime& clock,
                  std::optional<double> timeoutPeriod);
  ~TimeoutProtocol() override;
  void setTimeout(std::optional<double> period);
  void cancelTimeout();
  void resetTimeout();
  /// The default closes the connection.
  virtual void timeoutFunc() { loseConnection(); }
  void write(std::string_view data) override;
  void writeSequence(std::span<const std::string_view> data) override;
  using ProtocolWrapper::writeSequence;
  void dataReceived(std::string_view data) override;
  void connectionLost(const Failure& reason) override;
  std::optional<double> timeoutPeriod() const { return period_; }

 private:
  IReactorTime& clock_;
  std::optional<double> period_;
  std::optional<DelayedCall> call_;
};

/// Twisted's TimeoutFactory (default: 30 minutes).
class TimeoutFactory : public WrappingFactory {
 public:
  TimeoutFactory(IReactorTime& clock, std::shared_ptr<Factory> wrapped,
                 double timeoutPeriod = 30 * 60);
  double timeoutPeriod;
  std::shared_ptr<ProtocolWrapper> wrapProtocol(std::shared_ptr<Protocol> wrapped,
                                                const Address& addr) override;
  IReactorTime* clock() const override { return &clock_; }

 private:
  IReactorTime& clock_;
};

// ---- traffic logging --------------------------------------------------------------------

/// Twisted's TrafficLoggingFactory: writes what each connection receives
/// and sends to the file "<prefix>-<n>" (n counts connections from 1), one
/// line per event: "*" when connected, "C n: b'...'" received, "S n: b'...'"
/// sent, "SV n: [...]" gathered sends, "S n: *" for loseConnection and
/// "C n: <reason>" when lost. Data longer than lengthLimit is elided.
class TrafficLoggingFactory : public WrappingFactory {
 public:
  TrafficLoggingFactory(std::shared_ptr<Factory> wrapped, std::string logfilePrefix,
                        std::optional<std::size_t> lengthLimit = std::nullopt);
  std::string logfilePrefix;
  std::optional<std::size_t> lengthLimit;
  void resetCounter() { counter_ = 0; }
  std::shared_ptr<ProtocolWrapper> wrapProtocol(std::shared_ptr<Protocol> wrapped,
                                                const Address& addr) override;

 private:
  int counter_ = 0;
};

/// Python's repr of a byte string (b'ab\r\n'), as the traffic logs show data.
std::string bytesRepr(std::string_view data);

}  // namespace twisted::policies
