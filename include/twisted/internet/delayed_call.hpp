// DelayedCall: the handle callLater returns, as Twisted's base.DelayedCall.
#pragma once

#include <cstdint>

#include "twisted/python/thread_check.hpp"
#include "twisted/python/unique_function.hpp"

namespace twisted {

namespace detail {
class TimerQueue;

/// Shared by the timer heap and every DelayedCall handle; see
/// docs/architecture.md. The count is not atomic: reactor thread only.
struct DelayedCallNode {
  enum class State : std::uint8_t { Pending, Called, Cancelled };
  std::uint32_t refs = 0;
  State state = State::Pending;
  double time = 0;
  std::uint64_t seq = 0;
  TimerQueue* queue = nullptr;  // null once the queue is gone
  UniqueFunction<void()> fn;

  static void ref(DelayedCallNode* n) noexcept {
    if constexpr (kThreadChecks) checkCallThread(*n);
    ++n->refs;
  }
  static void unref(DelayedCallNode* n) noexcept {
    if constexpr (kThreadChecks) checkCallThread(*n);
    if (--n->refs == 0) delete n;
  }
  /// Aborts if the node's reactor is running on another thread
  /// (thread_check.hpp; debug builds).
  static void checkCallThread(const DelayedCallNode& n) noexcept;
};
}  // namespace detail

/// A call scheduled with IReactorTime::callLater.
///
/// A handle is cheap to copy; all copies refer to the same call. Use it only
/// on the reactor's thread. Dropping every handle does not cancel the call.
class DelayedCall {
 public:
  /// An empty handle, referring to no call.
  DelayedCall() noexcept = default;
  /// A handle to the call `node` (null: empty); the reactor's timer queue makes these.
  explicit DelayedCall(detail::DelayedCallNode* node) noexcept : node_(node) {
    if (node_) detail::DelayedCallNode::ref(node_);
  }
  /// Another handle to the same call as `other`.
  DelayedCall(const DelayedCall& other) noexcept : DelayedCall(other.node_) {}
  /// Takes over `other`'s call, leaving `other` empty.
  DelayedCall(DelayedCall&& other) noexcept : node_(other.node_) { other.node_ = nullptr; }
  /// Makes this handle refer to `other`'s call (copy or move).
  DelayedCall& operator=(DelayedCall other) noexcept {
    std::swap(node_, other.node_);
    return *this;
  }
  ~DelayedCall() {
    if (node_) detail::DelayedCallNode::unref(node_);
  }

  /// The time (in the reactor's seconds()) at which the call will run.
  double getTime() const;

  /// Stops the call from running and destroys its callable now.
  /// @throws error::AlreadyCancelled, error::AlreadyCalled
  void cancel();

  /// Reschedules the call to run `secondsFromNow` seconds from now.
  /// @throws error::AlreadyCancelled, error::AlreadyCalled
  void reset(double secondsFromNow);

  /// Postpones the call by `secondsLater` seconds (negative brings it nearer).
  /// @throws error::AlreadyCancelled, error::AlreadyCalled
  void delay(double secondsLater);

  /// True while the call has neither run nor been cancelled.
  bool active() const noexcept;
  /// True once cancel() succeeded (or the reactor was destroyed first).
  bool cancelled() const noexcept;
  /// True from the moment the call starts running.
  bool called() const noexcept;

  /// True if the handle refers to a call at all (even one that ran or was cancelled).
  explicit operator bool() const noexcept { return node_ != nullptr; }
  /// True if both handles refer to the same call (or both are empty).
  friend bool operator==(const DelayedCall& a, const DelayedCall& b) noexcept {
    return a.node_ == b.node_;
  }

 private:
  detail::DelayedCallNode& checkedPending() const;

  detail::DelayedCallNode* node_ = nullptr;
};

}  // namespace twisted
