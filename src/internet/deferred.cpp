// The untyped engine under Deferred<T>: running chains, chaining, cancel,
// the coroutine trampoline, and reports of unhandled failures.
#include <atomic>
#include <string>
#include <vector>

#include "twisted/internet/deferred.hpp"
#include "twisted/logger/logger.hpp"

namespace twisted::detail {

namespace {
std::atomic<bool> g_debugging{false};

const logger::Logger& log() {
  static const logger::Logger instance("twisted.internet.defer");
  return instance;
}

std::string where(const std::source_location& loc) {
  return std::string(loc.file_name()) + ":" + std::to_string(loc.line()) + " in " +
         loc.function_name();
}
}  // namespace

void setDebugging(bool on) {
  g_debugging = on;
}
bool getDebugging() {
  return g_debugging;
}

DeferredState::~DeferredState() {
  if (!failure) return;
  // Deterministic: the last reference just went, so nobody can handle it.
  if (g_debugging) {
    log().failure(
        "Unhandled error in Deferred (created at {created}; fired at {fired})", *failure,
        {{"created", where(createdAt)}, {"fired", firedAt ? where(*firedAt) : std::string("-")}},
        logger::LogLevel::critical);
  } else {
    log().failure("Unhandled error in Deferred", *failure, {}, logger::LogLevel::critical);
  }
}

void takeResult(DeferredState& to, DeferredState& from) {
  to.value.moveFrom(from.value);
  to.failure = std::move(from.failure);
  from.failure.reset();
  from.consumed = true;
}

void fire(DeferredState& state, std::source_location at) {
  state.called = true;
  if (g_debugging) state.firedAt = at;
  runCallbacks(state);
}

// Twisted's _runCallbacks: a local list of Deferreds to run. When one whose
// result another was waiting for finishes, the waiting one is appended to
// the list rather than run from inside this one's frame.
void runCallbacks(DeferredState& start) {
  if (start.running || start.paused > 0) return;  // the running loop will see new steps
  std::vector<std::shared_ptr<DeferredState>> work{start.shared_from_this()};
  while (!work.empty()) {
    std::shared_ptr<DeferredState> current = work.back();
    DeferredState& s = *current;
    if (s.running) {
      work.pop_back();
      continue;
    }
    s.running = true;
    while (s.nextStep < s.steps.size() && s.paused == 0) {
      // Moved out: a step may add steps, which may reallocate the list.
      DeferredState::Step step = std::move(s.steps[s.nextStep++]);
      step(s);  // steps catch user exceptions themselves
    }
    s.running = false;
    if (s.paused > 0) {  // waiting on an inner Deferred, or paused by the user
      work.pop_back();
      continue;
    }
    s.steps.clear();
    s.nextStep = 0;
    work.pop_back();
    if (s.chainedTo) {
      std::shared_ptr<DeferredState> outer = std::move(s.chainedTo);
      s.chainedTo.reset();
      takeResult(*outer, s);
      outer->waitingOn.reset();
      if (--outer->paused == 0) work.push_back(std::move(outer));
    }
  }
}

void chain(DeferredState& outer, const std::shared_ptr<DeferredState>& inner) {
  if (inner.get() == &outer) {
    outer.failure = Failure::of(std::logic_error("a callback returned its own Deferred"));
    return;
  }
  if (inner->consumed) {
    outer.failure =
        Failure::of(std::logic_error("a callback returned a Deferred whose result was taken"));
    return;
  }
  if (inner->hasFinalResult()) {
    takeResult(outer, *inner);
    return;
  }
  if (inner->chainedTo) {
    outer.failure = Failure::of(
        std::logic_error("a callback returned a Deferred another callback already returned"));
    return;
  }
  ++outer.paused;
  outer.waitingOn = inner;
  inner->chainedTo = outer.shared_from_this();
  inner->tailType = nullptr;  // its result now belongs to `outer`
}

void cancel(DeferredState& state) {
  std::shared_ptr<DeferredState> keep = state.shared_from_this();
  if (!state.called) {
    UniqueFunction<void()> canceller = std::move(state.canceller);
    state.canceller = nullptr;
    if (canceller) {
      canceller();
    } else {
      // Without a canceller, the producer will still fire it later: eat that.
      state.suppressAlreadyCalled = true;
    }
    if (!state.called) {
      state.failure = Failure::of(error::CancelledError());
      fire(state, std::source_location::current());
    }
  } else if (auto inner = state.waitingOn.lock()) {
    cancel(*inner);
  }
}

namespace {
struct Trampoline {
  bool active = false;
  std::vector<std::coroutine_handle<>> queue;
};
thread_local Trampoline t_trampoline;
}  // namespace

void resumeCoroutine(std::coroutine_handle<> handle) {
  Trampoline& t = t_trampoline;
  if (t.active) {
    t.queue.push_back(handle);
    return;
  }
  t.active = true;
  handle.resume();
  for (std::size_t i = 0; i < t.queue.size(); ++i) t.queue[i].resume();
  t.queue.clear();
  t.active = false;
}

}  // namespace twisted::detail
