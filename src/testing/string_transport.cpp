#include "twisted/testing/string_transport.hpp"

#include <stdexcept>
#include <utility>

#include "../internet/producer_kind.hpp"
#include "twisted/internet/error.hpp"

namespace twisted::testing {

StringTransport::StringTransport(Address host, Address peer)
    : host_(std::move(host)), peer_(std::move(peer)) {}

void StringTransport::clear() {
  io_.clear();
  taken(queued_);
}

void StringTransport::write(std::string_view data) {
  io_.append(data);
  if (full_) {
    queued_ += data.size();
    bufferGrew();
  }
}

void StringTransport::writeSequence(std::span<const std::string_view> data) {
  std::size_t before = io_.size();
  for (std::string_view piece : data) io_.append(piece);
  if (full_) {
    queued_ += io_.size() - before;
    bufferGrew();
  }
}

void StringTransport::loseConnection() {
  disconnecting_ = true;
}

void StringTransport::abortConnection() {
  aborted_ = true;
  disconnecting_ = true;
}

// ---- flow control: what tcp::Connection does, with the test as the socket ----------------

void StringTransport::setFull(bool full) {
  full_ = full;
  if (!full) taken(queued_);
}

std::size_t StringTransport::drain(std::size_t n) {
  std::size_t k = n < queued_ ? n : queued_;
  taken(k);
  return k;
}

void StringTransport::taken(std::size_t n) {
  if (queued_ == 0) return;
  queued_ -= n;
  bufferShrank();
  if (queued_ == 0) writeBufferDrained();
}

void StringTransport::setWriteBufferLimits(std::size_t high, std::size_t low, bool pauseReading) {
  if (low > high) throw std::invalid_argument("setWriteBufferLimits: low water above high water");
  highWater_ = high;
  lowWater_ = low;
  pauseReadingWhenFull_ = pauseReading;
  bufferGrew();
  bufferShrank();
}

void StringTransport::bufferGrew() {
  if (queued_ <= highWater_) return;
  if (producer_ && streaming_ && !producerPaused_) {
    producerPaused_ = true;
    std::shared_ptr<IProducer> keep = producer_;
    dynamic_cast<IPushProducer&>(*keep).pauseProducing();
  }
  if (pauseReadingWhenFull_) readPausedByBuffer_ = true;
}

void StringTransport::bufferShrank() {
  if (queued_ > lowWater_) return;
  readPausedByBuffer_ = false;
  if (producer_ && streaming_ && producerPaused_) {
    producerPaused_ = false;
    std::shared_ptr<IProducer> keep = producer_;
    dynamic_cast<IPushProducer&>(*keep).resumeProducing();
  }
}

void StringTransport::registerProducer(std::shared_ptr<IProducer> producer, bool streaming) {
  if (!producer) throw std::invalid_argument("registerProducer(nullptr)");
  if (producer_) throw std::logic_error("registerProducer: a producer is already registered");
  detail::checkProducerKind(producer, streaming);
  producer_ = std::move(producer);
  streaming_ = streaming;
  producerPaused_ = false;
  if (streaming && queued_ > highWater_) {
    producerPaused_ = true;
    std::shared_ptr<IProducer> keep = producer_;
    dynamic_cast<IPushProducer&>(*keep).pauseProducing();
  }
}

void StringTransport::unregisterProducer() {
  if (!producer_) throw std::logic_error("unregisterProducer: no producer is registered");
  producer_.reset();
  streaming_ = false;
  producerPaused_ = false;
}

std::shared_ptr<IProducer> StringTransport::releaseProducer() {
  streaming_ = false;
  producerPaused_ = false;
  return std::move(producer_);
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
  if (!first) return;
  if (writeBufferSize() > 0) {
    closePending_ = true;  // as TCP: after what is queued has gone
  } else {
    disconnect(protocol, Failure::of(error::ConnectionDone()));
  }
}

void StringTransportWithDisconnection::writeBufferDrained() {
  if (std::exchange(closePending_, false))
    disconnect(protocol, Failure::of(error::ConnectionDone()));
}

void StringTransportWithDisconnection::abortConnection() {
  bool first = !aborted_;
  StringTransport::abortConnection();
  if (!first) return;
  closePending_ = false;
  discardQueue();  // an abort drops what is queued
  disconnect(protocol, Failure::of(error::ConnectionAborted()));
}

std::shared_ptr<StringTransportWithDisconnection> connect(
    const std::shared_ptr<Protocol>& protocol) {
  auto transport = std::make_shared<StringTransportWithDisconnection>();
  transport->protocol = protocol;
  protocol->makeConnection(transport);
  return transport;
}

std::shared_ptr<StringTransportWithDisconnection> connect(const std::shared_ptr<Protocol>& protocol,
                                                          IReactorTime& clock) {
  auto transport = std::make_shared<StringTransportWithDisconnection>();
  transport->protocol = protocol;
  transport->setClock(&clock);
  protocol->makeConnection(transport);
  return transport;
}

}  // namespace twisted::testing
