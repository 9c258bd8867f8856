#include "twisted/testing/clock.hpp"

#include <stdexcept>

#include "../internet/timer_queue.hpp"

namespace twisted::testing {

Clock::Clock() : calls_(std::make_unique<detail::TimerQueue>()) {
  calls_->setTimeSource([](const void* self) { return static_cast<const Clock*>(self)->now_; },
                        this);
}

Clock::~Clock() = default;

double Clock::seconds() const {
  return now_;
}

DelayedCall Clock::callLater(double delay, UniqueFunction<void()> f) {
  if (!(delay >= 0)) throw std::invalid_argument("callLater needs a delay >= 0 seconds");
  return calls_->schedule(now_ + delay, std::move(f));
}

std::vector<DelayedCall> Clock::getDelayedCalls() const {
  return calls_->pending();
}

void Clock::advance(double amount) {
  if (!(amount >= 0)) throw std::invalid_argument("Clock::advance needs an amount >= 0");
  now_ += amount;
  calls_->runDue(now_, /*batch=*/false, /*onError=*/nullptr);
}

void Clock::pump(std::initializer_list<double> timings) {
  for (double t : timings) advance(t);
}

void Clock::pump(const std::vector<double>& timings) {
  for (double t : timings) advance(t);
}

}  // namespace twisted::testing
