#include <stdexcept>

#include "twisted/protocols/policies.hpp"

namespace twisted::policies {

// ---- TimeoutMixin ------------------------------------------------------------------------

namespace {
// timeoutClock, else the transport's, else the factory's: never a reactor
// the program may not be running.
IReactorTime& clockFor(TimeoutMixin& mixin) {
  if (mixin.timeoutClock) return *mixin.timeoutClock;
  if (auto* protocol = dynamic_cast<Protocol*>(&mixin)) {
    if (protocol->transport) {
      if (IReactorTime* clock = protocol->transport->clock()) return *clock;
    }
    if (protocol->factory) {
      if (IReactorTime* clock = protocol->factory->clock()) return *clock;
    }
  }
  throw std::logic_error(
      "TimeoutMixin::setTimeout: no clock to run the timeout on; set timeoutClock, or connect the "
      "protocol to a transport (or build it with a factory) whose clock() is not null");
}
}  // namespace

TimeoutMixin::~TimeoutMixin() {
  if (timeoutCall_ && timeoutCall_->active()) timeoutCall_->cancel();
}

std::optional<double> TimeoutMixin::setTimeout(std::optional<double> period) {
  std::optional<double> previous = timeOut_;
  if (timeoutCall_ && timeoutCall_->active()) {
    if (period) {
      timeoutCall_->reset(*period);
    } else {
      timeoutCall_->cancel();
      timeoutCall_.reset();
    }
  } else if (period) {
    // Throws (changing nothing) when there is no clock.
    timeoutCall_ = clockFor(*this).callLater(*period, [this] {
      timeoutCall_.reset();
      timeoutConnection();
    });
  }
  timeOut_ = period;
  return previous;
}

void TimeoutMixin::resetTimeout() {
  if (timeoutCall_ && timeoutCall_->active() && timeOut_) timeoutCall_->reset(*timeOut_);
}

void TimeoutMixin::timeoutConnection() {
  if (auto* protocol = dynamic_cast<Protocol*>(this); protocol && protocol->transport) {
    protocol->transport->loseConnection();
  }
}

// ---- TimeoutProtocol / TimeoutFactory ------------------------------------------------------

TimeoutProtocol::TimeoutProtocol(WrappingFactory& factory, std::shared_ptr<Protocol> wrapped,
                                 IReactorTime& clock, std::optional<double> timeoutPeriod)
    : ProtocolWrapper(factory, std::move(wrapped)), clock_(clock) {
  setTimeout(timeoutPeriod);
}

TimeoutProtocol::~TimeoutProtocol() {
  cancelTimeout();
}

void TimeoutProtocol::setTimeout(std::optional<double> period) {
  cancelTimeout();
  period_ = period;
  // The call refers to this wrapper; connectionLost and the destructor
  // cancel it.
  if (period) {
    call_ = clock_.callLater(*period, [this] {
      call_.reset();
      timeoutFunc();
    });
  }
}

void TimeoutProtocol::cancelTimeout() {
  period_.reset();
  if (call_ && call_->active()) call_->cancel();
  call_.reset();
}

void TimeoutProtocol::resetTimeout() {
  if (call_ && call_->active() && period_) call_->reset(*period_);
}

void TimeoutProtocol::write(std::string_view data) {
  resetTimeout();
  ProtocolWrapper::write(data);
}

void TimeoutProtocol::writeSequence(std::span<const std::string_view> data) {
  resetTimeout();
  ProtocolWrapper::writeSequence(data);
}

void TimeoutProtocol::dataReceived(std::string_view data) {
  resetTimeout();
  ProtocolWrapper::dataReceived(data);
}

void TimeoutProtocol::connectionLost(const Failure& reason) {
  cancelTimeout();
  ProtocolWrapper::connectionLost(reason);
}

TimeoutFactory::TimeoutFactory(IReactorTime& clock, std::shared_ptr<Factory> wrapped,
                               double timeoutPeriod)
    : WrappingFactory(std::move(wrapped)), timeoutPeriod(timeoutPeriod), clock_(clock) {}

std::shared_ptr<ProtocolWrapper> TimeoutFactory::wrapProtocol(std::shared_ptr<Protocol> wrapped,
                                                              const Address& addr) {
  (void)addr;
  return makeWrapper<TimeoutProtocol>(std::move(wrapped), clock_, timeoutPeriod);
}

}  // namespace twisted::policies
