// Twisted's ReconnectingClientFactory: a ClientFactory that reconnects
// with exponential back-off.
#pragma once

#include <memory>
#include <optional>
#include <random>

#include "twisted/internet/delayed_call.hpp"
#include "twisted/internet/interfaces.hpp"
#include "twisted/internet/protocol.hpp"

namespace twisted {

/// Twisted's ReconnectingClientFactory: reconnects after a failed or lost
/// connection, waiting longer each time (exponential back-off with jitter,
/// capped at maxDelay) until a connection is made (resetDelay) or
/// maxRetries is reached or stopTrying is called.
class ReconnectingClientFactory : public ClientFactory {
 public:
  /// `clock` schedules the retries (the reactor, or a testing::Clock).
  explicit ReconnectingClientFactory(IReactorTime& clock, ProtocolMaker maker = {});
  /// The clock given to the constructor.
  IReactorTime* clock() const override { return &clock_; }
  ~ReconnectingClientFactory() override;

  /// The longest wait between attempts, in seconds (before jitter).
  double maxDelay = 3600;
  /// The delay the back-off starts from, in seconds; resetDelay() returns to it
  /// (a change made after construction takes effect at the next resetDelay()).
  double initialDelay = 1.0;
  /// Each retry waits `factor` times longer than the last (e, as Twisted).
  double factor = 2.7182818284590451;
  /// The delay is drawn from a normal distribution of this relative spread.
  double jitter = 0.11962656472;
  /// Give up after this many attempts (none: never).
  std::optional<int> maxRetries;

  /// Schedules another connect() on `connector` after the current delay.
  void retry(IConnector& connector);
  /// Stops reconnecting (cancels a pending retry).
  void stopTrying();
  /// Call after a successful connection: back to initialDelay.
  void resetDelay();

  /// The current delay in seconds: the wait of the last retry scheduled.
  double delay() const { return delay_; }
  /// How many times retry() ran since construction or the last resetDelay().
  int retries() const { return retries_; }
  /// False once stopTrying() has been called (until resetDelay()).
  bool continueTrying() const { return continueTrying_; }
  /// The pending retry, if any.
  const std::optional<DelayedCall>& callID() const { return callID_; }
  /// Seeds the jitter for reproducible tests.
  void seed(unsigned value) { random_.seed(value); }

  void clientConnectionFailed(IConnector& connector, const Failure& reason) override;
  void clientConnectionLost(IConnector& connector, const Failure& reason) override;

 private:
  IReactorTime& clock_;
  double delay_;
  int retries_ = 0;
  bool continueTrying_ = true;
  // The pending retry; its callable holds the connector (shared), so a
  // connector whose handle the user dropped still reconnects.
  std::optional<DelayedCall> callID_;
  std::weak_ptr<IConnector> connector_;  // the last one retried, for stopTrying
  std::mt19937 random_{std::random_device{}()};
};

}  // namespace twisted
