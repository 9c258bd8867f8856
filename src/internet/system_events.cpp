#include "system_events.hpp"

#include <algorithm>
#include <stdexcept>

#include "twisted/internet/reactor.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted::detail {

namespace {
const logger::Logger& log() {
  static const logger::Logger instance("twisted.internet.base");
  return instance;
}
}  // namespace

EventHoldState::~EventHoldState() {
  std::lock_guard lock(mutex);
  if (owner) {
    SystemEvents* events = owner;
    events->reactorForHolds().callFromThread(
        [events, name = event, id = firing] { events->resume(name, id); });
  }
}

void SystemEvents::detachHolds() {
  for (auto& [name, e] : events_) {
    if (auto state = e.hold.lock()) {
      std::lock_guard lock(state->mutex);
      state->owner = nullptr;
    }
  }
}

TriggerId SystemEvents::add(Phase phase, std::string event, Trigger trigger) {
  TriggerId id = nextId_++;
  events_[event].phases[static_cast<int>(phase)].push_back(Entry{id, std::move(trigger)});
  index_.emplace(id, std::make_pair(std::move(event), phase));
  return id;
}

void SystemEvents::remove(TriggerId id) {
  auto it = index_.find(id);
  if (it == index_.end()) throw std::invalid_argument("no such system event trigger");
  const std::string name = it->second.first;
  auto& list = events_[name].phases[static_cast<int>(it->second.second)];
  for (Entry& entry : list) {
    if (entry.id == id) {
      // Marked, not erased: a phase may be running over this list.
      entry.id = 0;
      entry.fn = nullptr;
    }
  }
  index_.erase(it);
  if (active_ == 0) compact(events_[name]);
}

void SystemEvents::compact(Event& e) {
  for (auto& list : e.phases) {
    list.erase(std::remove_if(list.begin(), list.end(), [](const Entry& x) { return x.id == 0; }),
               list.end());
  }
}

void SystemEvents::runPhase(Event& e, Phase phase, const EventHold& hold) {
  auto& list = e.phases[static_cast<int>(phase)];
  ++active_;
  // By index: triggers added while the phase runs run too (as Twisted).
  for (std::size_t i = 0; i < list.size(); ++i) {
    TriggerId id = list[i].id;
    if (id == 0 || !list[i].fn) continue;
    // Moved out while it runs: adding a trigger may reallocate the list.
    Trigger fn = std::move(list[i].fn);
    try {
      fn(hold);
    } catch (...) {
      log().failure("Unhandled error in a system event trigger", Failure::current(), {},
                    logger::LogLevel::error);
    }
    if (list[i].id == id) list[i].fn = std::move(fn);
  }
  --active_;
}

void SystemEvents::fire(const std::string& name) {
  Event& e = events_[name];    // std::map: the reference survives insertions
  if (e.firingBefore) return;  // already waiting on holds: one firing at a time
  e.firingBefore = true;
  e.firing = nextFiring_++;
  auto state = std::make_shared<EventHoldState>();
  state->event = name;
  state->firing = e.firing;
  state->owner = this;
  e.hold = state;
  runPhase(e, Phase::Before, EventHold(state));
  if (state.use_count() == 1) {
    // Nobody kept a hold (no copy can appear now): go on synchronously.
    {
      std::lock_guard lock(state->mutex);
      state->owner = nullptr;
    }
    state.reset();
    finish(name);
  }
  // Otherwise the last hold released calls resume() on the reactor thread.
}

void SystemEvents::resume(const std::string& name, std::uint64_t firing) {
  auto it = events_.find(name);
  if (it == events_.end() || !it->second.firingBefore || it->second.firing != firing) return;
  finish(name);
}

void SystemEvents::finish(const std::string& name) {
  Event& e = events_[name];
  e.firingBefore = false;
  runPhase(e, Phase::During, EventHold());
  runPhase(e, Phase::After, EventHold());
  if (active_ == 0) compact(e);
}

}  // namespace twisted::detail
