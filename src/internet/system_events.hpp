// The three-phase system events behind addSystemEventTrigger. Not installed.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "twisted/internet/system_event.hpp"
#include "twisted/python/unique_function.hpp"

namespace twisted {
class Reactor;
}

namespace twisted::detail {

class SystemEvents;

/// Shared by the copies of one EventHold. When the last copy goes, the
/// event resumes on the reactor thread (through callFromThread, since a
/// hold may be released on any thread).
struct EventHoldState {
  std::mutex mutex;
  SystemEvents* owner = nullptr;  // null once the firing no longer waits
  std::string event;
  std::uint64_t firing = 0;
  ~EventHoldState();
};

class SystemEvents {
 public:
  using Trigger = UniqueFunction<void(EventHold)>;

  explicit SystemEvents(Reactor& reactor) : reactor_(reactor) {}
  ~SystemEvents() { detachHolds(); }
  /// Outstanding holds stop pointing here: releasing one later does nothing.
  /// The reactor calls this first thing in its destructor, before the queue
  /// a released hold would post to is gone.
  void detachHolds();

  TriggerId add(Phase phase, std::string event, Trigger trigger);
  void remove(TriggerId id);
  /// Runs "before"; then, once no hold is left, "during" and "after".
  void fire(const std::string& event);
  /// Called (on the reactor thread) when the last hold of a firing goes.
  void resume(const std::string& event, std::uint64_t firing);
  Reactor& reactorForHolds() { return reactor_; }

 private:
  struct Entry {
    TriggerId id;
    Trigger fn;
  };
  struct Event {
    std::vector<Entry> phases[3];
    bool firingBefore = false;
    std::uint64_t firing = 0;
    std::weak_ptr<EventHoldState> hold;
  };
  void runPhase(Event& e, Phase phase, const EventHold& hold);
  void finish(const std::string& name);
  static void compact(Event& e);

  Reactor& reactor_;
  std::map<std::string, Event> events_;
  std::map<TriggerId, std::pair<std::string, Phase>> index_;
  TriggerId nextId_ = 1;
  std::uint64_t nextFiring_ = 1;
  int active_ = 0;  // phases running now; lists are compacted only at 0
};

}  // namespace twisted::detail
