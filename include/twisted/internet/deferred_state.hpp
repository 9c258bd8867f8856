// Internal: the untyped state behind every Deferred<T> handle.
//
// The chain itself is untyped (Twisted's is too): a list of steps that each
// read the current result (a value in a ResultBox, or a Failure) and replace
// it. Typed Deferred<T> handles know, at compile time, which type the box
// holds at their end of the chain. See docs/deferred.md.
#pragma once

#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <source_location>
#include <vector>

#include "twisted/internet/result_box.hpp"
#include "twisted/python/failure.hpp"
#include "twisted/python/unique_function.hpp"

namespace twisted::detail {

/// A per-type address: compared at run time to catch a stale handle.
template <class T>
struct TypeTag {
  static constexpr char id = 0;
};
template <class T>
constexpr const void* typeId() {
  return &TypeTag<T>::id;
}

struct DeferredState : std::enable_shared_from_this<DeferredState> {
  using Step = UniqueFunction<void(DeferredState&)>;

  DeferredState(const void* type, std::source_location where) noexcept
      : headType(type), tailType(type), createdAt(where) {}
  /// Reports a failure nobody handled ("Unhandled error in Deferred").
  ~DeferredState();
  DeferredState(const DeferredState&) = delete;
  DeferredState& operator=(const DeferredState&) = delete;

  std::vector<Step> steps;
  std::size_t nextStep = 0;
  ResultBox value;
  std::optional<Failure> failure;

  bool called = false;
  bool running = false;   // inside runCallbacks for this state
  bool consumed = false;  // the result went to another Deferred or a co_await
  bool suppressAlreadyCalled = false;
  int paused = 0;

  std::shared_ptr<DeferredState> chainedTo;  // the outer Deferred waiting on us
  std::weak_ptr<DeferredState> waitingOn;    // the inner one we wait on (for cancel)
  UniqueFunction<void()> canceller;

  const void* headType;  // the type callback() takes
  const void* tailType;  // the type the last step produces
  std::source_location createdAt;
  std::optional<std::source_location> firedAt;

  /// True when the result is there and nothing is pending: a co_await or a
  /// chaining can take it at once.
  bool hasFinalResult() const noexcept {
    return called && !consumed && paused == 0 && !running && nextStep >= steps.size();
  }
};

/// Runs the pending steps of `state`, then of every Deferred that was
/// waiting on it, in a loop (no recursion however deep the chain is).
void runCallbacks(DeferredState& state);
/// Marks `state` fired and runs its steps; AlreadyCalledError if fired.
void fire(DeferredState& state, std::source_location where);
/// Twisted's Deferred.cancel, on the untyped state.
void cancel(DeferredState& state);
/// A step returned `inner`: take its result now if it has one, else pause
/// `outer` until it does.
void chain(DeferredState& outer, const std::shared_ptr<DeferredState>& inner);
/// Hands the result of a finished `from` over to `to` (value or failure).
void takeResult(DeferredState& to, DeferredState& from);

/// Resumes coroutines without growing the stack: a resumption requested
/// while another is running is queued and run by the outermost one.
void resumeCoroutine(std::coroutine_handle<> handle);

/// Twisted's Deferred.debug / setDebugging: when on, unhandled-error
/// reports say where the Deferred was created and fired.
void setDebugging(bool on);
bool getDebugging();

}  // namespace twisted::detail
