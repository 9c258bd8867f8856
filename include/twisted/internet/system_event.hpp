// System event triggers: the phases of Twisted's addSystemEventTrigger.
#pragma once

#include <cstdint>
#include <memory>

namespace twisted {

/// When a trigger runs relative to the event it is attached to.
enum class Phase { Before, During, After };

/// Returned by addSystemEventTrigger, for removeSystemEventTrigger.
using TriggerId = std::uint64_t;

namespace detail {
struct EventHoldState;
}

/// Given to a "before" trigger that asks for it: while any copy of the hold
/// is alive, the event waits (the reactor keeps serving I/O and timers) and
/// its "during" and "after" phases have not run. This is how shutdown waits
/// for asynchronous cleanup; a trigger returning a Deferred (twisted/defer)
/// is adapted to a hold released when the Deferred fires. A hold may be
/// released on any thread. Holds given to "during"/"after" triggers hold
/// nothing.
class EventHold {
 public:
  /// A hold that holds nothing (what "during" and "after" triggers get).
  EventHold() = default;
  /// A hold on the pending event `state`; the reactor makes these.
  explicit EventHold(std::shared_ptr<detail::EventHoldState> state) : state_(std::move(state)) {}
  /// Releases this copy now (same as destroying it).
  void release() { state_.reset(); }

 private:
  std::shared_ptr<detail::EventHoldState> state_;
};

}  // namespace twisted
