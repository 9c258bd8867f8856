// ReconnectingClientFactory: exponential back-off with jitter.
#include <algorithm>
#include <random>

#include "twisted/internet/error.hpp"
#include "twisted/internet/reconnecting.hpp"

namespace twisted {

ReconnectingClientFactory::ReconnectingClientFactory(IReactorTime& clock, ProtocolMaker maker)
    : ClientFactory(std::move(maker)), clock_(clock), delay_(initialDelay) {}

ReconnectingClientFactory::~ReconnectingClientFactory() {
  if (callID_ && callID_->active()) callID_->cancel();
}

void ReconnectingClientFactory::clientConnectionFailed(IConnector& connector, const Failure&) {
  if (!continueTrying_) return;
  connector_ = connector.weak_from_this();
  retry(connector);
}

void ReconnectingClientFactory::clientConnectionLost(IConnector& connector, const Failure&) {
  if (!continueTrying_) return;
  connector_ = connector.weak_from_this();
  retry(connector);
}

void ReconnectingClientFactory::retry(IConnector& connector) {
  if (!continueTrying_) return;
  ++retries_;
  if (maxRetries && retries_ > *maxRetries) return;  // give up
  delay_ = std::min(delay_ * factor, maxDelay);
  if (jitter > 0) {
    std::normal_distribution<double> spread(delay_, delay_ * jitter);
    delay_ = spread(random_);
  }
  // The callable owns the connector, so a connector the user no longer holds
  // still comes back; it dies once the retry runs or is cancelled.
  std::shared_ptr<IConnector> again = connector.shared_from_this();
  callID_ = clock_.callLater(std::max(delay_, 0.0), [this, again] {
    callID_.reset();
    again->connect();
  });
}

void ReconnectingClientFactory::stopTrying() {
  if (callID_ && callID_->active()) callID_->cancel();
  callID_.reset();
  continueTrying_ = false;
  // An attempt in progress is stopped too (its failure is not retried).
  if (std::shared_ptr<IConnector> connector = connector_.lock()) {
    try {
      connector->stopConnecting();
    } catch (const error::NotConnectingError&) {
    }
  }
}

void ReconnectingClientFactory::resetDelay() {
  delay_ = initialDelay;
  retries_ = 0;
  continueTrying_ = true;
}

}  // namespace twisted
