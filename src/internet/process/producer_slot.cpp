// ProducerSlot: a pipe writer's producer (producer_slot.hpp).
#include "producer_slot.hpp"

#include <stdexcept>

#include "../producer_kind.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted::process {

namespace {
const logger::Logger& log() {
  static const logger::Logger instance("twisted.internet.process");
  return instance;
}
}  // namespace

void ProducerSlot::registerProducer(std::shared_ptr<IProducer> producer, bool streaming,
                                    std::shared_ptr<ChildWriter> writer) {
  if (!producer) throw std::invalid_argument("registerProducer(nullptr)");
  if (producer_) throw std::logic_error("registerProducer: a producer is already registered");
  detail::checkProducerKind(producer, streaming);
  if (!writer || !writer->open()) {
    // Nothing will ever be consumed (Twisted stops a producer registered
    // after the close).
    producer->stopProducing();
    return;
  }
  producer_ = std::move(producer);
  writer_ = writer;
  streaming_ = streaming;
  paused_ = false;
  if (!streaming) {
    auto keep = producer_;  // it may unregister itself
    dynamic_cast<IPullProducer&>(*keep).resumeProducing();
  }
}

void ProducerSlot::unregisterProducer() {
  auto old = std::move(producer_);  // (its destructor may call back)
  paused_ = false;
  if (pullLater_.active()) pullLater_.cancel();
}

void ProducerSlot::wrote() {
  if (!producer_) return;  // (every write of a pipe or stdio comes here)
  auto writer = writer_.lock();
  if (!writer) return;
  if (streaming_) {
    if (!paused_ && writer->queued() > high_) {
      paused_ = true;
      auto keep = producer_;
      dynamic_cast<IPushProducer&>(*keep).pauseProducing();
    }
    return;
  }
  if (writer->queued() != 0 || pullLater_.active()) return;
  if (!alive_) alive_ = std::make_shared<bool>(true);  // made only for a pull producer
  pullLater_ = reactor_.callLater(0, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;  // its owner has gone
    auto now = writer_.lock();
    if (!producer_ || streaming_ || !now || now->queued() != 0) return;
    auto keep = producer_;
    dynamic_cast<IPullProducer&>(*keep).resumeProducing();
  });
}

void ProducerSlot::shrank(std::size_t queued) {
  if (!producer_) return;
  auto keep = producer_;  // it may unregister itself
  if (streaming_) {
    if (paused_ && queued <= low_) {
      paused_ = false;
      dynamic_cast<IPushProducer&>(*keep).resumeProducing();
    }
  } else if (queued == 0) {
    dynamic_cast<IPullProducer&>(*keep).resumeProducing();
  }
}

void ProducerSlot::ended() {
  if (pullLater_.active()) pullLater_.cancel();
  if (!producer_) return;
  auto producer = std::move(producer_);
  paused_ = false;
  try {
    producer->stopProducing();
  } catch (...) {
    // The end goes on (processEnded, connectionLost) whatever the producer does.
    log().failure("Unhandled error in a producer's stopProducing", Failure::current());
  }
}

}  // namespace twisted::process
