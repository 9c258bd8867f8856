// The check every IConsumer::registerProducer makes before it keeps a
// producer (the stream transports, the pipe ends' ProducerSlot, the test
// kit's StringTransport): one place for the rule and its messages.
#pragma once

#include <memory>
#include <stdexcept>

#include "twisted/internet/transport.hpp"

namespace twisted::detail {

/// @throws std::logic_error if `producer` (not null) lacks the interface
///   `streaming` asks for (IPushProducer when streaming, IPullProducer
///   when not).
inline void checkProducerKind(const std::shared_ptr<IProducer>& producer, bool streaming) {
  if (streaming ? dynamic_cast<IPushProducer*>(producer.get()) == nullptr
                : dynamic_cast<IPullProducer*>(producer.get()) == nullptr) {
    throw std::logic_error(streaming
                               ? "registerProducer: a streaming producer must be an IPushProducer"
                               : "registerProducer: a pull producer must be an IPullProducer");
  }
}

}  // namespace twisted::detail
