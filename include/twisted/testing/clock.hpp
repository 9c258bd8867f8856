// Clock: a fake IReactorTime for tests, as Twisted's task.Clock.
//
// Time stands still until the test moves it. Code written against
// IReactorTime& (timeouts, retries, LoopingCall) can be tested without
// sleeping and without a real reactor:
//
//   twisted::testing::Clock clock;
//   bool fired = false;
//   clock.callLater(5, [&] { fired = true; });
//   clock.advance(4.9);   // fired == false
//   clock.advance(0.1);   // fired == true
#pragma once

#include <initializer_list>
#include <memory>
#include <vector>

#include "twisted/internet/interfaces.hpp"

namespace twisted::detail {
class TimerQueue;
}

namespace twisted::testing {

/// A fake IReactorTime whose time moves only when advance() or pump() is called, so that
/// timed code can be tested without sleeping.
class Clock final : public IReactorTime {
 public:
  Clock();
  ~Clock() override;
  Clock(const Clock&) = delete;
  Clock& operator=(const Clock&) = delete;

  /// The fake current time: 0 until advanced.
  double seconds() const override;
  /// @throws std::invalid_argument for a negative or NaN delay.
  DelayedCall callLater(double delay, UniqueFunction<void()> f) override;
  std::vector<DelayedCall> getDelayedCalls() const override;

  /// Moves time forward by `amount` seconds and runs every call now due, in
  /// time order (ties in scheduling order), including calls those calls
  /// schedule if they are due too. An exception from a call propagates to
  /// the caller of advance(); the remaining due calls stay scheduled.
  /// @throws std::invalid_argument for a negative amount.
  void advance(double amount);
  /// advance() by each amount in turn.
  void pump(std::initializer_list<double> timings);
  /// advance() by each amount of `timings` in turn.
  void pump(const std::vector<double>& timings);

 private:
  double now_ = 0;
  std::unique_ptr<twisted::detail::TimerQueue> calls_;
};

}  // namespace twisted::testing
