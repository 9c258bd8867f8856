// StreamConnector: the states of a client connection attempt, as Twisted's
// base.BaseConnector (disconnected -> connecting -> connected).
#include "stream_connector.hpp"

#include <stdexcept>
#include <string>

#include "../build_protocol.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/reactor.hpp"

namespace twisted::detail {

StreamConnector::StreamConnector(Reactor& reactor, std::shared_ptr<ClientFactory> factory,
                                 double timeout)
    : reactor_(reactor), factory_(std::move(factory)), timeout_(timeout) {}

void StreamConnector::connect() {
  if (state_ != State::Disconnected) {
    throw std::logic_error("can't connect in this state: the connector is already " +
                           std::string(state_ == State::Connecting ? "connecting" : "connected"));
  }
  state_ = State::Connecting;
  if (!factoryStarted_) {
    factory_->doStart();
    factoryStarted_ = true;
  }
  transport_ = makeTransport();
  std::shared_ptr<ConnectingTransport> transport = transport_;
  transport->begin();
  if (timeout_ > 0) {
    timeoutID_ = reactor_.callLater(timeout_, [transport] {
      transport->failIfNotConnected(
          Failure::of(error::TimeoutError("connection attempt timed out")));
    });
  }
  factory_->startedConnecting(*this);
}

void StreamConnector::stopConnecting() {
  if (state_ != State::Connecting) throw error::NotConnectingError();
  state_ = State::Disconnected;
  std::shared_ptr<ConnectingTransport> transport = std::move(transport_);
  if (transport) transport->failIfNotConnected(Failure::of(error::UserError()));
}

void StreamConnector::disconnect() {
  if (state_ == State::Connecting) {
    stopConnecting();
  } else if (state_ == State::Connected && transport_) {
    transport_->loseConnection();
  }
}

void StreamConnector::cancelTimeout() {
  if (timeoutID_ && timeoutID_->active()) timeoutID_->cancel();
  timeoutID_.reset();
}

std::shared_ptr<Protocol> StreamConnector::buildProtocol(const Address& addr) {
  state_ = State::Connected;
  cancelTimeout();
  return twisted::detail::buildProtocol(*factory_, addr);
}

void StreamConnector::connectionFailed(const Failure& reason) {
  cancelTimeout();
  std::shared_ptr<ConnectingTransport> done = std::move(transport_);
  state_ = State::Disconnected;
  factory_->clientConnectionFailed(*this, reason);
  if (state_ == State::Disconnected && factoryStarted_) {
    // The factory did not call connect() again.
    factory_->doStop();
    factoryStarted_ = false;
  }
}

void StreamConnector::connectionLost(const Failure& reason) {
  std::shared_ptr<ConnectingTransport> done = std::move(transport_);
  state_ = State::Disconnected;
  factory_->clientConnectionLost(*this, reason);
  if (state_ == State::Disconnected && factoryStarted_) {
    factory_->doStop();
    factoryStarted_ = false;
  }
}

}  // namespace twisted::detail
