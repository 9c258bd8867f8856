// C++20 coroutines over Deferred: the modern inlineCallbacks.
//
//   Deferred<std::string> fetch(Client& c) {
//     co_await c.connect();                          // a failure is thrown here
//     std::string greeting = co_await c.readLine();
//     co_return greeting;                            // fires the returned Deferred
//   }
//
// A function returning Deferred<T> may be a coroutine. It runs at once up to
// its first co_await of an unfired Deferred; `co_await d` on a fired one does
// not suspend. An exception escaping the body fails the returned Deferred.
// Cancelling the returned Deferred cancels the Deferred it is waiting on
// (the CancelledError is thrown at that co_await) and leaves the result to
// the coroutine, as Twisted does: uncaught, the CancelledError fails it;
// caught, the coroutine goes on and its co_return is the result. Resumptions are run by a
// trampoline, so a million coroutines awaiting one another in a line do not
// grow the stack.
#pragma once

#include <coroutine>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "twisted/internet/deferred.hpp"

namespace twisted {
namespace detail {

// Owns a suspended coroutine until it is resumed. If the Deferred it waits
// on is destroyed unfired, the coroutine's frame is destroyed with it (its
// own Deferred then never fires, as in Twisted). Caveat: a coroutine that
// keeps a copy of the awaited Deferred in its frame (a by-value parameter)
// keeps it alive itself; if the producer drops it unfired, the two keep
// each other (see docs/deferred.md).
class SuspendedCoroutine {
 public:
  explicit SuspendedCoroutine(std::coroutine_handle<> h) : h_(h) {}
  SuspendedCoroutine(SuspendedCoroutine&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  SuspendedCoroutine& operator=(SuspendedCoroutine&&) = delete;
  ~SuspendedCoroutine() {
    if (h_) h_.destroy();
  }
  void resume() { resumeCoroutine(std::exchange(h_, {})); }

 private:
  std::coroutine_handle<> h_;
};

template <class T>
class PromiseBase {
 public:
  PromiseBase() { armCanceller(); }
  ~PromiseBase() {
    // A frame destroyed before finishing must not leave a canceller that
    // points into it.
    if (!deferred_.called()) detail::stateOf(deferred_)->canceller = nullptr;
  }
  PromiseBase(const PromiseBase&) = delete;
  PromiseBase& operator=(const PromiseBase&) = delete;

  Deferred<T> get_return_object() { return deferred_; }
  std::suspend_never initial_suspend() noexcept { return {}; }
  std::suspend_never final_suspend() noexcept { return {}; }
  void unhandled_exception() {
    if (!deferred_.called()) deferred_.errback(Failure::current());
  }

  // What the coroutine waits on now. It cannot dangle: if that Deferred
  // dies unfired, it destroys this coroutine frame (SuspendedCoroutine).
  DeferredState* awaiting = nullptr;

 protected:
  // Cancelling the coroutine's Deferred cancels what it awaits, and the
  // coroutine decides the result, as Twisted's inlineCallbacks: the
  // CancelledError is thrown at its co_await, and what it returns or throws
  // then is the result. The canceller stays armed for the next wait. Not
  // suspended (cancelled from inside its own body), it is simply cancelled.
  void armCanceller() {
    detail::stateOf(deferred_)->canceller = [this](DeferredState& s) {
      if (!awaiting) return;
      s.cancellerDecides = true;
      armCanceller();
      detail::cancel(*awaiting);
    };
  }

  Deferred<T> deferred_;
};

template <class T>
class DeferredPromise : public PromiseBase<T> {
 public:
  template <class V>
  void return_value(V&& value) {
    // Fired already only if it was cancelled and the body went on anyway.
    if (!this->deferred_.called()) this->deferred_.callback(std::forward<V>(value));
  }
};

template <>
class DeferredPromise<void> : public PromiseBase<void> {
 public:
  void return_void() {
    if (!deferred_.called()) deferred_.callback();
  }
};

template <class U>
class DeferredAwaiter {
 public:
  explicit DeferredAwaiter(Deferred<U> d) : state_(std::move(stateOf(d))) {}

  bool await_ready() {
    if (!state_->hasFinalResult()) return false;
    take(*state_);
    return true;
  }

  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    if (state_->refs == 1) {
      // Nothing else refers to this Deferred, so nothing can ever fire it:
      // waiting would hang forever. Resume at once with a clear error.
      orphaned_ = true;
      return false;
    }
    if constexpr (std::is_base_of_v<PromiseBase<typename DeferredPromiseValue<P>::type>, P>) {
      h.promise().awaiting = state_.get();
      promiseAwaiting_ = &h.promise().awaiting;
    }
    // The step holds the frame, the frame holds this awaiter; the awaiter
    // drops its reference to the state so the state can die unfired.
    DeferredRef state = std::move(state_);
    state->tailType = nullptr;  // nothing may be chained after an await
    state->steps.push_back([this, suspended = SuspendedCoroutine(h)](DeferredState& s) mutable {
      take(s);
      suspended.resume();
    });
    if (state->called && state->paused == 0) runCallbacks(*state);
    return true;
  }

  U await_resume() {
    if (promiseAwaiting_) *promiseAwaiting_ = nullptr;
    if (orphaned_) {
      throw std::logic_error(
          "co_await on an unfired Deferred that nothing else refers to: "
          "it can never fire");
    }
    if (failure_) failure_->raiseException();
    if constexpr (!std::is_void_v<U>) return value_.template take<U>();
  }

 private:
  template <class P>
  struct DeferredPromiseValue {
    using type = void;
  };
  template <class V>
  struct DeferredPromiseValue<DeferredPromise<V>> {
    using type = V;
  };

  void take(DeferredState& s) {
    if (s.failure) {
      failure_ = std::move(s.failure);
      s.failure.reset();
    } else {
      value_.moveFrom(s.value);
    }
    s.consumed = true;
  }

  DeferredRef state_;
  DeferredState** promiseAwaiting_ = nullptr;
  bool orphaned_ = false;
  ResultBox value_;
  std::optional<Failure> failure_;
};

}  // namespace detail

/// `co_await d` inside any coroutine: the value, or the failure thrown.
template <class U>
detail::DeferredAwaiter<U> operator co_await(Deferred<U> d) {
  return detail::DeferredAwaiter<U>(std::move(d));
}

}  // namespace twisted

/// @cond INTERNAL
// Makes a function returning Deferred<T> a coroutine (promise in detail).
template <class T, class... Args>
struct std::coroutine_traits<twisted::Deferred<T>, Args...> {
  using promise_type = twisted::detail::DeferredPromise<T>;
};
/// @endcond
