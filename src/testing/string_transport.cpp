#include "twisted/testing/string_transport.hpp"

#include <stdexcept>

#include "twisted/internet/error.hpp"

namespace twisted::testing {

StringTransport::StringTransport(Address host, Address peer)
    : host_(std::move(host)), peer_(std::move(peer)) {}

void StringTransport::write(std::string_view data) {
  io_.append(data);
}

void StringTransport::writeSequence(std::span<const std::string_view> data) {
  for (std::string_view piece : data) io_.append(piece);
}

void StringTransport::loseConnection() {
  disconnecting_ = true;
}

void StringTransport::abortConnection() {
  aborted_ = true;
  disconnecting_ = true;
}

void StringTransport::setWriteBufferLimits(std::size_t high, std::size_t low, bool) {
  if (low > high) throw std::invalid_argument("setWriteBufferLimits: low water above high water");
  highWater_ = high;
  lowWater_ = low;
}

void StringTransport::registerProducer(std::shared_ptr<IProducer> producer, bool streaming) {
  if (producer_) throw std::logic_error("registerProducer: a producer is already registered");
  producer_ = std::move(producer);
  streaming_ = streaming;
}

void StringTransport::unregisterProducer() {
  if (!producer_) throw std::logic_error("unregisterProducer: no producer is registered");
  producer_.reset();
  streaming_ = false;
}

void StringTransport::pauseProducing() {
  if (producerState_ == ProducerState::Stopped)
    throw std::logic_error("pauseProducing after stopProducing");
  producerState_ = ProducerState::Paused;
}

void StringTransport::resumeProducing() {
  if (producerState_ == ProducerState::Stopped)
    throw std::logic_error("resumeProducing after stopProducing");
  producerState_ = ProducerState::Producing;
}

void StringTransport::stopProducing() {
  producerState_ = ProducerState::Stopped;
}

namespace {
void disconnect(std::weak_ptr<Protocol>& weak, const Failure& why) {
  if (std::shared_ptr<Protocol> p = weak.lock(); p && p->connected) {
    p->connected = false;
    weak.reset();
    p->connectionLost(why);
  }
}
}  // namespace

void StringTransportWithDisconnection::loseConnection() {
  bool first = !disconnecting_;
  StringTransport::loseConnection();
  if (first) disconnect(protocol, Failure::of(error::ConnectionDone()));
}

void StringTransportWithDisconnection::abortConnection() {
  bool first = !aborted_;
  StringTransport::abortConnection();
  if (first) disconnect(protocol, Failure::of(error::ConnectionAborted()));
}

std::shared_ptr<StringTransportWithDisconnection> connect(
    const std::shared_ptr<Protocol>& protocol) {
  auto transport = std::make_shared<StringTransportWithDisconnection>();
  transport->protocol = protocol;
  protocol->makeConnection(transport);
  return transport;
}

}  // namespace twisted::testing
