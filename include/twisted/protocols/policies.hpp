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
  /// Wraps `wrapped` for `factory`, which must be a ThrottlingFactory.
  ThrottlingProtocol(WrappingFactory& factory, std::shared_ptr<Protocol> wrapped);
  void write(std::string_view data) override;
  void writeSequence(std::span<const std::string_view> data) override;
  using ProtocolWrapper::writeSequence;
  void dataReceived(std::string_view data) override;
  void registerProducer(std::shared_ptr<IProducer> producer, bool streaming) override;
  void unregisterProducer() override;

  /// Stops reading from the peer (pauses the real transport).
  void throttleReads();
  /// Resumes reading from the peer (resumes the real transport).
  void unthrottleReads();
  /// Pauses the registered streaming producer, if any.
  void throttleWrites();
  /// Resumes the registered streaming producer, if any.
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
  /// Wraps `wrapped`, allowing `maxConnectionCount` connections and reading or writing
  /// `readLimit` or `writeLimit` bytes per second (unset: no limit); checks run on `clock`.
  ThrottlingFactory(IReactorTime& clock, std::shared_ptr<Factory> wrapped,
                    std::size_t maxConnectionCount = SIZE_MAX,
                    std::optional<double> readLimit = std::nullopt,
                    std::optional<double> writeLimit = std::nullopt);
  ~ThrottlingFactory() override;

  /// Connections beyond this many are refused.
  std::size_t maxConnectionCount;
  /// Bytes per second all connections may read; unset: no limit.
  std::optional<double> readLimit;
  /// Bytes per second all connections may write; unset: no limit.
  std::optional<double> writeLimit;

  /// How many connections are open (or being made) now.
  std::size_t connectionCount() const { return connectionCount_; }
  /// Bytes read by all connections since the last read check.
  std::uint64_t readThisSecond() const { return readThisSecond_; }
  /// Bytes written by all connections since the last write check.
  std::uint64_t writtenThisSecond() const { return writtenThisSecond_; }
  /// Counts `n` bytes read (the wrappers call it).
  void registerRead(std::size_t n) { readThisSecond_ += n; }
  /// Counts `n` bytes written (the wrappers call it).
  void registerWritten(std::size_t n) { writtenThisSecond_ += n; }

  /// The once-a-second read check: throttles reads if readLimit was exceeded, then resets
  /// the count and schedules the next check (public for tests, as in Twisted).
  void checkReadBandwidth();
  /// The once-a-second write check, as checkReadBandwidth but for writeLimit.
  void checkWriteBandwidth();
  /// Stops every open connection reading (ThrottlingProtocol::throttleReads).
  void throttleReads();
  /// Lets every open connection read again.
  void unthrottleReads();
  /// Pauses the streaming producer of every open connection.
  void throttleWrites();
  /// Resumes the streaming producer of every open connection.
  void unthrottleWrites();

  std::shared_ptr<Protocol> buildProtocol(const Address& addr) override;
  std::shared_ptr<ProtocolWrapper> wrapProtocol(std::shared_ptr<Protocol> wrapped,
                                                const Address& addr) override;
  /// Forgets the connection; when none is left, cancels the pending checks.
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
  /// Wraps `wrapped`, allowing at most `connectionLimit` open connections (unset: any number).
  LimitTotalConnectionsFactory(std::shared_ptr<Factory> wrapped,
                               std::optional<std::size_t> connectionLimit);
  /// The most connections open at once; unset: no limit.
  std::optional<std::size_t> connectionLimit;
  /// Makes the protocol given to connections over the limit; if empty they are refused.
  Factory::ProtocolMaker overflowProtocol;
  /// How many connections are open now (overflow ones included).
  std::size_t connectionCount() const { return connectionCount_; }

  std::shared_ptr<Protocol> buildProtocol(const Address& addr) override;
  void registerProtocol(ProtocolWrapper& p) override;
  /// Forgets the connection and counts it as closed.
  void unregisterProtocol(ProtocolWrapper& p) override;

 private:
  std::size_t connectionCount_ = 0;
};

/// Twisted's LimitConnectionsByPeer: at most `maxConnectionsPerPeer` open
/// connections from each peer host; more are closed at once.
class LimitConnectionsByPeer : public WrappingFactory {
 public:
  /// Wraps `wrapped`, allowing `maxConnectionsPerPeer` open connections per peer host.
  LimitConnectionsByPeer(std::shared_ptr<Factory> wrapped, std::size_t maxConnectionsPerPeer = 5);
  /// The most connections open at once from one peer host.
  std::size_t maxConnectionsPerPeer;
  /// Open connections per peer host.
  const std::map<std::string, std::size_t>& peerConnections() const { return peers_; }

  std::shared_ptr<Protocol> buildProtocol(const Address& addr) override;
  /// Forgets the connection and takes it off its peer host's count.
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
  /// Wraps `wrapped` for `factory` and starts a `timeoutPeriod`-second timer on `clock`
  /// (unset: none), which must outlive this wrapper.
  TimeoutProtocol(WrappingFactory& factory, std::shared_ptr<Protocol> wrapped, IReactorTime& clock,
                  std::optional<double> timeoutPeriod);
  ~TimeoutProtocol() override;
  /// Cancels any timer and starts one for `period` seconds (unset: no timeout).
  void setTimeout(std::optional<double> period);
  /// Cancels the timer, if any, and clears the period.
  void cancelTimeout();
  /// Restarts the timer for the full period; nothing if no timer is running.
  void resetTimeout();
  /// The default closes the connection.
  virtual void timeoutFunc() { loseConnection(); }
  void write(std::string_view data) override;
  void writeSequence(std::span<const std::string_view> data) override;
  using ProtocolWrapper::writeSequence;
  void dataReceived(std::string_view data) override;
  void connectionLost(const Failure& reason) override;
  /// The current period in seconds; unset if there is no timeout.
  std::optional<double> timeoutPeriod() const { return period_; }

 private:
  IReactorTime& clock_;
  std::optional<double> period_;
  std::optional<DelayedCall> call_;
};

/// Twisted's TimeoutFactory (default: 30 minutes).
class TimeoutFactory : public WrappingFactory {
 public:
  /// Wraps `wrapped` so that each connection idle for `timeoutPeriod` seconds, as timed
  /// by `clock`, is closed.
  TimeoutFactory(IReactorTime& clock, std::shared_ptr<Factory> wrapped,
                 double timeoutPeriod = 30 * 60);
  /// The idle period, in seconds, given to each new connection.
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
  /// Wraps `wrapped`, logging each connection's traffic to "<logfilePrefix>-<n>", with data
  /// longer than `lengthLimit` elided (unset: never).
  TrafficLoggingFactory(std::shared_ptr<Factory> wrapped, std::string logfilePrefix,
                        std::optional<std::size_t> lengthLimit = std::nullopt);
  /// The start of each log file's name; "-<n>" is appended.
  std::string logfilePrefix;
  /// Longer data is cut and marked "<... elided>"; unset: logged whole.
  std::optional<std::size_t> lengthLimit;
  /// Numbers the next connection 1 again (its file overwrites "<prefix>-1").
  void resetCounter() { counter_ = 0; }
  std::shared_ptr<ProtocolWrapper> wrapProtocol(std::shared_ptr<Protocol> wrapped,
                                                const Address& addr) override;

 private:
  int counter_ = 0;
};

/// Python's repr of a byte string (b'ab\\r\\n' for the bytes a, b, CR, LF), as the traffic logs
/// show data.
std::string bytesRepr(std::string_view data);

}  // namespace twisted::policies
