// The producer registered with a pipe writer's owner (a child's stdin for a
// Process, stdout for StandardIO): Twisted's FileDescriptor producer rules
// over a ChildWriter's queue. A push producer is paused past the high-water
// mark and resumed at the low one; a pull producer is asked for more each
// time the queue empties, and on the next turn after a write the pipe took
// whole (no queue then empties to ask it). Internal; docs/architecture.md,
// "Child processes".
#pragma once

#include <cstddef>
#include <memory>

#include "pipes.hpp"
#include "twisted/internet/delayed_call.hpp"
#include "twisted/internet/transport.hpp"

namespace twisted {
class Reactor;
}

namespace twisted::process {

class ProducerSlot {
 public:
  explicit ProducerSlot(Reactor& reactor) : reactor_(reactor) {}
  ProducerSlot(const ProducerSlot&) = delete;
  ProducerSlot& operator=(const ProducerSlot&) = delete;

  /// IConsumer::registerProducer for the queue of `writer`; nullptr (the
  /// end is over) stops `producer` at once.
  /// @throws std::logic_error if one is registered already, or `producer`
  ///   lacks the interface `streaming` asks for.
  void registerProducer(std::shared_ptr<IProducer> producer, bool streaming,
                        std::shared_ptr<ChildWriter> writer);
  /// Forgets the producer (does not stop it).
  void unregisterProducer();
  /// After each write to the writer.
  void wrote();
  /// From PipeOwner::pipeQueueShrank of the writer.
  void shrank(std::size_t queued);
  /// The writer's end: the producer is stopped (an exception from it is
  /// logged) and let go.
  void ended();
  void setLimits(std::size_t high, std::size_t low) {
    high_ = high;
    low_ = low;
  }

 private:
  Reactor& reactor_;
  std::shared_ptr<IProducer> producer_;
  std::weak_ptr<ChildWriter> writer_;
  bool streaming_ = false;
  bool paused_ = false;
  DelayedCall pullLater_;
  std::shared_ptr<bool> alive_;   // pullLater_'s sign that this slot lives
  std::size_t high_ = 64 * 1024;  // Twisted's bufferSize
  std::size_t low_ = 16 * 1024;
};

}  // namespace twisted::process
