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
#include <vector>
#include "twisted/python/source_location.hpp"

#include "twisted/internet/result_box.hpp"
#include "twisted/python/failure.hpp"
#include "twisted/python/thread_check.hpp"
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

struct DeferredState;

/// A counted reference to a DeferredState. The count is not atomic:
/// Deferreds belong to one thread (deferToThread only moves handles across).
class DeferredRef {
 public:
  DeferredRef() noexcept = default;
  explicit DeferredRef(DeferredState* p) noexcept;
  DeferredRef(const DeferredRef& o) noexcept : DeferredRef(o.p_) {}
  DeferredRef(DeferredRef&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  DeferredRef& operator=(DeferredRef o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~DeferredRef();
  DeferredState* get() const noexcept { return p_; }
  DeferredState* operator->() const noexcept { return p_; }
  DeferredState& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  void reset() noexcept { DeferredRef().swap(*this); }
  void swap(DeferredRef& o) noexcept { std::swap(p_, o.p_); }
  friend bool operator==(const DeferredRef& a, const DeferredRef& b) noexcept {
    return a.p_ == b.p_;
  }

 private:
  DeferredState* p_ = nullptr;
};

struct DeferredState {
  using Step = UniqueFunction<void(DeferredState&)>;

  DeferredState(const void* type, SourceLocation where) noexcept
      : headType(type), tailType(type), createdAt(where) {}
  static DeferredRef make(const void* type, SourceLocation where) {
    return DeferredRef(new DeferredState(type, where));
  }
  // Recycled through a per-thread free list: short-lived Deferreds (one per
  // succeed() or co_await) would otherwise cost a malloc and a free each.
  static void* operator new(std::size_t size);
  /// Gives `steps` a recycled buffer (or a fresh one with room for a few).
  static void takeStepBuffer(std::vector<Step>& steps);
  static void operator delete(void* p, std::size_t size) noexcept;
  /// Reports a failure nobody handled ("Unhandled error in Deferred").
  ~DeferredState();
  DeferredState(const DeferredState&) = delete;
  DeferredState& operator=(const DeferredState&) = delete;

  std::uint32_t refs = 0;
  // Set by a canceller that has arranged for the result itself (a
  // coroutine's: what the coroutine does with the CancelledError decides
  // it), so cancel() does not fail the Deferred. In the hole after `refs`.
  bool cancellerDecides = false;
  std::vector<Step> steps;
  std::size_t nextStep = 0;
  ResultBox value;
  std::optional<Failure> failure;

  bool called = false;
  bool running = false;   // inside runCallbacks for this state
  bool consumed = false;  // the result went to another Deferred or a co_await
  bool suppressAlreadyCalled = false;
  int paused = 0;

  DeferredRef chainedTo;               // the outer Deferred waiting on us
  DeferredState* waitingOn = nullptr;  // the inner one we wait on (for cancel);
                                       // it clears this if it dies first
  UniqueFunction<void(DeferredState&)> canceller;

  pthread_t owner = loopOwner();  // the loop thread that made it, if any (thread_check.hpp)
  const void* headType;           // the type callback() takes
  const void* tailType;           // the type the last step produces
  SourceLocation createdAt;
  std::optional<SourceLocation> firedAt;

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
void fire(DeferredState& state, SourceLocation where);
/// Twisted's Deferred.cancel, on the untyped state.
void cancel(DeferredState& state);
/// A step returned `inner`: take its result now if it has one, else pause
/// `outer` until it does.
void chain(DeferredState& outer, const DeferredRef& inner);
/// Hands the result of a finished `from` over to `to` (value or failure).
void takeResult(DeferredState& to, DeferredState& from);

inline DeferredRef::DeferredRef(DeferredState* p) noexcept : p_(p) {
  if (p_) {
    checkThread(p_->owner, "a Deferred");
    ++p_->refs;
  }
}
/// Deletes a state whose count reached zero. Out of line on purpose: it
/// keeps GCC 12's -Wuse-after-free from pairing the delete with later,
/// unrelated uses of the (reassigned) pointer in inlined callers.
void destroyState(DeferredState* state) noexcept;

inline DeferredRef::~DeferredRef() {
  if (p_) {
    checkThread(p_->owner, "a Deferred");
    if (--p_->refs == 0) destroyState(p_);
  }
}

/// Resumes coroutines without growing the stack: a resumption requested
/// while another is running is queued and run by the outermost one.
void resumeCoroutine(std::coroutine_handle<> handle);

/// Twisted's Deferred.debug / setDebugging: when on, unhandled-error
/// reports say where the Deferred was created and fired.
void setDebugging(bool on);
bool getDebugging();

}  // namespace twisted::detail
