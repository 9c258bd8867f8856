#include "twisted/logger/logger.hpp"
#include "twisted/protocols/policies.hpp"

namespace twisted::policies {

namespace {

const logger::Logger& log() {
  static const logger::Logger instance("twisted.protocols.policies");
  return instance;
}

void cancel(std::optional<DelayedCall>& call) {
  if (call && call->active()) call->cancel();
  call.reset();
}

}  // namespace

// ---- ThrottlingProtocol -------------------------------------------------------------

ThrottlingProtocol::ThrottlingProtocol(WrappingFactory& factory, std::shared_ptr<Protocol> wrapped)
    : ProtocolWrapper(factory, std::move(wrapped)) {}

ThrottlingFactory& ThrottlingProtocol::throttling() const {
  return static_cast<ThrottlingFactory&>(wrappingFactory());
}

void ThrottlingProtocol::write(std::string_view data) {
  throttling().registerWritten(data.size());
  ProtocolWrapper::write(data);
}

void ThrottlingProtocol::writeSequence(std::span<const std::string_view> data) {
  std::size_t n = 0;
  for (auto piece : data) n += piece.size();
  throttling().registerWritten(n);
  ProtocolWrapper::writeSequence(data);
}

void ThrottlingProtocol::dataReceived(std::string_view data) {
  throttling().registerRead(data.size());
  ProtocolWrapper::dataReceived(data);
}

void ThrottlingProtocol::registerProducer(std::shared_ptr<IProducer> producer, bool streaming) {
  producer_ = std::dynamic_pointer_cast<IPushProducer>(producer);
  ProtocolWrapper::registerProducer(std::move(producer), streaming);
}

void ThrottlingProtocol::unregisterProducer() {
  producer_.reset();
  ProtocolWrapper::unregisterProducer();
}

void ThrottlingProtocol::throttleReads() {
  if (transport) transport->pauseProducing();
}

void ThrottlingProtocol::unthrottleReads() {
  if (transport) transport->resumeProducing();
}

void ThrottlingProtocol::throttleWrites() {
  if (auto p = producer_.lock()) p->pauseProducing();
}

void ThrottlingProtocol::unthrottleWrites() {
  if (auto p = producer_.lock()) p->resumeProducing();
}

// ---- ThrottlingFactory ------------------------------------------------------------------

ThrottlingFactory::ThrottlingFactory(IReactorTime& clock, std::shared_ptr<Factory> wrapped,
                                     std::size_t maxConnectionCount,
                                     std::optional<double> readLimit,
                                     std::optional<double> writeLimit)
    : WrappingFactory(std::move(wrapped)),
      maxConnectionCount(maxConnectionCount),
      readLimit(readLimit),
      writeLimit(writeLimit),
      clock_(clock) {}

ThrottlingFactory::~ThrottlingFactory() {
  cancelCalls();
}

void ThrottlingFactory::checkReadBandwidth() {
  if (readLimit && static_cast<double>(readThisSecond_) > *readLimit) {
    throttleReads();
    double throttleTime = static_cast<double>(readThisSecond_) / *readLimit - 1.0;
    cancel(unthrottleReadsID_);
    unthrottleReadsID_ = clock_.callLater(throttleTime, [this] { unthrottleReads(); });
  }
  readThisSecond_ = 0;
  checkReadID_ = clock_.callLater(1, [this] { checkReadBandwidth(); });
}

void ThrottlingFactory::checkWriteBandwidth() {
  if (writeLimit && static_cast<double>(writtenThisSecond_) > *writeLimit) {
    throttleWrites();
    double throttleTime = static_cast<double>(writtenThisSecond_) / *writeLimit - 1.0;
    cancel(unthrottleWritesID_);
    unthrottleWritesID_ = clock_.callLater(throttleTime, [this] { unthrottleWrites(); });
  }
  writtenThisSecond_ = 0;
  checkWriteID_ = clock_.callLater(1, [this] { checkWriteBandwidth(); });
}

// The wrappers are ThrottlingProtocols (wrapProtocol makes nothing else).
void ThrottlingFactory::throttleReads() {
  log().info("Throttling reads on {factory}", {{"factory", logPrefix()}});
  for (ProtocolWrapper* p : protocols()) static_cast<ThrottlingProtocol*>(p)->throttleReads();
}

void ThrottlingFactory::unthrottleReads() {
  unthrottleReadsID_.reset();
  log().info("Stopped throttling reads on {factory}", {{"factory", logPrefix()}});
  for (ProtocolWrapper* p : protocols()) static_cast<ThrottlingProtocol*>(p)->unthrottleReads();
}

void ThrottlingFactory::throttleWrites() {
  log().info("Throttling writes on {factory}", {{"factory", logPrefix()}});
  for (ProtocolWrapper* p : protocols()) static_cast<ThrottlingProtocol*>(p)->throttleWrites();
}

void ThrottlingFactory::unthrottleWrites() {
  unthrottleWritesID_.reset();
  log().info("Stopped throttling writes on {factory}", {{"factory", logPrefix()}});
  for (ProtocolWrapper* p : protocols()) static_cast<ThrottlingProtocol*>(p)->unthrottleWrites();
}

std::shared_ptr<Protocol> ThrottlingFactory::buildProtocol(const Address& addr) {
  if (connectionCount_ == 0) {
    if (readLimit && !checkReadID_) checkReadBandwidth();
    if (writeLimit && !checkWriteID_) checkWriteBandwidth();
  }
  if (connectionCount_ >= maxConnectionCount) {
    log().info("Max connection count ({max}) reached: refusing {peer}",
               {{"max", static_cast<long>(maxConnectionCount)}, {"peer", toString(addr)}});
    return nullptr;
  }
  ++connectionCount_;
  auto p = WrappingFactory::buildProtocol(addr);
  if (!p) --connectionCount_;  // the wrapped factory refused
  return p;
}

std::shared_ptr<ProtocolWrapper> ThrottlingFactory::wrapProtocol(std::shared_ptr<Protocol> wrapped,
                                                                 const Address& addr) {
  (void)addr;
  return makeWrapper<ThrottlingProtocol>(std::move(wrapped));
}

void ThrottlingFactory::unregisterProtocol(ProtocolWrapper& p) {
  WrappingFactory::unregisterProtocol(p);
  if (connectionCount_ > 0) --connectionCount_;
  if (connectionCount_ == 0) cancelCalls();
}

void ThrottlingFactory::cancelCalls() {
  cancel(checkReadID_);
  cancel(unthrottleReadsID_);
  cancel(checkWriteID_);
  cancel(unthrottleWritesID_);
}

}  // namespace twisted::policies
