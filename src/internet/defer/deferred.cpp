// The untyped engine under Deferred<T>: running chains, chaining, cancel,
// the coroutine trampoline, and reports of unhandled failures.
#include <atomic>
#include <string>
#include <utility>
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

std::string where(const SourceLocation& loc) {
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

void recycleStepBuffer(std::vector<DeferredState::Step>& steps) noexcept;

DeferredState::~DeferredState() {
  if (chainedTo && chainedTo->waitingOn == this) chainedTo->waitingOn = nullptr;
  recycleStepBuffer(steps);
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

void destroyState(DeferredState* state) noexcept {
  delete state;
}

namespace {
// A bounded cache of freed state blocks for this thread. A block freed on
// another thread simply joins that thread's cache: blocks are plain memory.
// Off under AddressSanitizer, which could not see a use-after-free of a
// recycled block.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kCacheStates = false;
#else
constexpr bool kCacheStates = true;
#endif

// 0: not built yet, 1: alive, 2: destroyed (thread exit). Trivially
// destructible, so it can be read after the cache itself is gone (a static
// Deferred destroyed at process exit).
thread_local int t_cacheState = 0;

struct StateCache {
  static constexpr std::size_t kMax = 1024;
  static constexpr std::size_t kMaxSteps = 64;  // larger buffers are freed
  std::vector<void*> blocks;
  std::vector<std::vector<DeferredState::Step>> stepBuffers;
  StateCache() {
    blocks.reserve(kMax);
    stepBuffers.reserve(kMax);
    t_cacheState = 1;
  }
  ~StateCache() {
    t_cacheState = 2;
    for (void* b : blocks) ::operator delete(b);
  }
};

StateCache* cache() {
  if (!kCacheStates || t_cacheState == 2) return nullptr;
  thread_local StateCache instance;
  return &instance;
}
}  // namespace

void DeferredState::takeStepBuffer(std::vector<Step>& steps) {
  StateCache* c = cache();
  if (c && !c->stepBuffers.empty()) {
    steps.swap(c->stepBuffers.back());
    c->stepBuffers.pop_back();
  } else {
    steps.reserve(4);
  }
}

void recycleStepBuffer(std::vector<DeferredState::Step>& steps) noexcept {
  StateCache* c = cache();
  if (!c || steps.capacity() == 0 || steps.capacity() > StateCache::kMaxSteps ||
      c->stepBuffers.size() >= StateCache::kMax) {
    return;
  }
  steps.clear();
  c->stepBuffers.push_back(std::move(steps));
}

void* DeferredState::operator new(std::size_t size) {
  StateCache* c = cache();
  if (c && size == sizeof(DeferredState) && !c->blocks.empty()) {
    void* b = c->blocks.back();
    c->blocks.pop_back();
    return b;
  }
  return ::operator new(size);
}

void DeferredState::operator delete(void* p, std::size_t size) noexcept {
  StateCache* c = cache();
  if (c && size == sizeof(DeferredState) && c->blocks.size() < StateCache::kMax) {
    c->blocks.push_back(p);
    return;
  }
  ::operator delete(p);
}

void takeResult(DeferredState& to, DeferredState& from) {
  to.value.moveFrom(from.value);
  to.failure = std::move(from.failure);
  from.failure.reset();
  from.consumed = true;
}

void fire(DeferredState& state, SourceLocation at) {
  checkThread(state.owner, "a Deferred");
  state.called = true;
  state.canceller = nullptr;  // moot now; frees its captures (and cycles)
  if (g_debugging) state.firedAt = at;
  runCallbacks(state);
}

// Twisted's _runCallbacks: when a Deferred whose result another was waiting
// for finishes, the loop moves on to the waiting one instead of running it
// from inside this one's frame, so chain depth never becomes stack depth.
void runCallbacks(DeferredState& start) {
  if (start.running || start.paused > 0) return;  // the running loop will see new steps
  // Fast path: nothing to run and nobody waiting (a fired, unobserved
  // Deferred, as from succeed()): no work list at all.
  if (start.nextStep >= start.steps.size() && !start.chainedTo) return;
  // Each pass runs one Deferred and hands its result to at most one waiting
  // outer Deferred, so "the list" is a single reference: no allocation.
  DeferredRef current(&start);
  while (current) {
    DeferredState& s = *current;
    if (s.running) break;
    s.running = true;
    while (s.nextStep < s.steps.size() && s.paused == 0) {
      // Moved out: a step may add steps, which may reallocate the list.
      DeferredState::Step step = std::move(s.steps[s.nextStep++]);
      step(s);  // steps catch user exceptions themselves
    }
    s.running = false;
    if (s.paused > 0) break;  // waiting on an inner Deferred, or paused by the user
    s.steps.clear();
    s.nextStep = 0;
    if (!s.chainedTo) break;
    DeferredRef outer = std::move(s.chainedTo);
    takeResult(*outer, s);
    outer->waitingOn = nullptr;
    if (--outer->paused > 0) break;
    current = std::move(outer);
  }
}

void chain(DeferredState& outer, const DeferredRef& inner) {
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
  outer.waitingOn = inner.get();
  inner->chainedTo = DeferredRef(&outer);
  inner->tailType = nullptr;  // its result now belongs to `outer`
}

void logCancellerFailure(const Failure& failure) {
  log().failure("Exception raised from user supplied canceller", failure);
}

void cancel(DeferredState& state) {
  DeferredRef keep(&state);
  if (!state.called) {
    UniqueFunction<void(DeferredState&)> canceller = std::move(state.canceller);
    state.canceller = nullptr;
    if (canceller) {
      canceller(state);
    } else {
      // Without a canceller, the producer will still fire it later: eat that.
      state.suppressAlreadyCalled = true;
    }
    if (std::exchange(state.cancellerDecides, false)) return;
    if (!state.called) {
      state.failure = Failure::of(error::CancelledError());
      fire(state, SourceLocation::current());
    }
  } else if (state.waitingOn) {
    cancel(*state.waitingOn);
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
