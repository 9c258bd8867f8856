// tcp::Connector: the states of a client connection attempt, as Twisted's
// base.BaseConnector (disconnected -> connecting -> connected).
#include <stdexcept>

#include "../build_protocol.hpp"
#include "socket.hpp"
#include "tcp.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/pool.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted::tcp {

Connector::Connector(Reactor& reactor, std::string host, int port,
                     std::shared_ptr<ClientFactory> factory, double timeout,
                     std::optional<BindAddress> bindAddress)
    : reactor_(reactor),
      host_(std::move(host)),
      port_(port),
      factory_(std::move(factory)),
      timeout_(timeout),
      bindAddress_(std::move(bindAddress)) {}

void Connector::connect() {
  if (state_ != State::Disconnected) {
    throw std::logic_error("can't connect in this state: the connector is already " +
                           std::string(state_ == State::Connecting ? "connecting" : "connected"));
  }
  state_ = State::Connecting;
  if (!factoryStarted_) {
    factory_->doStart();
    factoryStarted_ = true;
  }
  auto self = std::static_pointer_cast<Connector>(shared_from_this());
  transport_ = makePooled<Client>(twisted::detail::transportHost(reactor_), self);
  std::shared_ptr<Client> transport = transport_;
  transport->begin();
  if (timeout_ > 0) {
    timeoutID_ = reactor_.callLater(timeout_, [transport] {
      transport->failIfNotConnected(
          Failure::of(error::TimeoutError("connection attempt timed out")));
    });
  }
  factory_->startedConnecting(*this);
}

void Connector::stopConnecting() {
  if (state_ != State::Connecting) throw error::NotConnectingError();
  state_ = State::Disconnected;
  std::shared_ptr<Client> transport = std::move(transport_);
  if (transport) transport->failIfNotConnected(Failure::of(error::UserError()));
}

void Connector::disconnect() {
  if (state_ == State::Connecting) {
    stopConnecting();
  } else if (state_ == State::Connected && transport_) {
    transport_->loseConnection();
  }
}

void Connector::cancelTimeout() {
  if (timeoutID_ && timeoutID_->active()) timeoutID_->cancel();
  timeoutID_.reset();
}

std::shared_ptr<Protocol> Connector::buildProtocol(const Address& addr) {
  state_ = State::Connected;
  cancelTimeout();
  return twisted::detail::buildProtocol(*factory_, addr);
}

void Connector::connectionFailed(const Failure& reason) {
  cancelTimeout();
  std::shared_ptr<Client> done = std::move(transport_);
  state_ = State::Disconnected;
  factory_->clientConnectionFailed(*this, reason);
  if (state_ == State::Disconnected && factoryStarted_) {
    // The factory did not call connect() again.
    factory_->doStop();
    factoryStarted_ = false;
  }
}

void Connector::connectionLost(const Failure& reason) {
  std::shared_ptr<Client> done = std::move(transport_);
  state_ = State::Disconnected;
  factory_->clientConnectionLost(*this, reason);
  if (state_ == State::Disconnected && factoryStarted_) {
    factory_->doStop();
    factoryStarted_ = false;
  }
}

Address Connector::getDestination() const {
  if (std::optional<Address> literal = detail::literalAddress(host_, port_)) return *literal;
  return IPv4Address{Transport::TCP, host_, static_cast<std::uint16_t>(port_)};
}

}  // namespace twisted::tcp
