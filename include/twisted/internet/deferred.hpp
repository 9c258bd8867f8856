// Deferred<T>: a result that is not there yet, as Twisted's defer.Deferred.
//
//   Deferred<int> d;
//   d.addCallback([](int n) { return std::to_string(n); })   // now a Deferred<std::string>
//    .addCallback([](std::string s) { fmt(s); })             // Deferred<void>
//    .addErrback([](const Failure& f) { log(f); });
//   d.callback(42);
//
// A Deferred<T> is a handle: copies refer to the same chain. The chain runs
// callbacks while the result is a value and errbacks while it is a Failure;
// a callback that throws switches to errbacks, an errback that returns a
// value switches back. A callback may return another Deferred<U>: the chain
// waits for it and goes on with its result. Result types are checked at
// compile time. A callback that changes the type to another value makes the
// old handle stale: discarding the Deferred it returns is a compile-time
// warning ([[nodiscard]]), and adding a callback through the stale handle
// anyway (you kept `d` above and then added to it) throws std::logic_error.
//
// Deferreds are single-threaded: use one on its reactor's thread only.
// Lifetime: the chain lives while any handle, pending step, or waiting
// Deferred refers to it. When the last goes and the result is an unhandled
// failure, it is logged at once ("Unhandled error in Deferred").
#pragma once

#include <concepts>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include "twisted/python/source_location.hpp"

#include "twisted/internet/deferred_state.hpp"
#include "twisted/internet/error.hpp"
#include "twisted/internet/interfaces.hpp"
#include "twisted/internet/outcome.hpp"

namespace twisted {

template <class T>
class Deferred;

namespace detail {
template <class R>
struct UnwrapDeferred {
  using type = R;
  static constexpr bool isDeferred = false;
};
template <class U>
struct UnwrapDeferred<Deferred<U>> {
  using type = U;
  static constexpr bool isDeferred = true;
};
template <class R>
using Unwrapped = typename UnwrapDeferred<std::remove_cvref_t<R>>::type;
template <class R>
inline constexpr bool isDeferred = UnwrapDeferred<std::remove_cvref_t<R>>::isDeferred;

// What a callback of a Deferred<T> is called with: T, or nothing for void.
// Checked by concepts before any result type is formed, so that a callback
// of the wrong type gets addCallback's own message first, with g++ and clang.
template <class F, class T>
struct InvocableWith : std::is_invocable<F&, T&&> {};
template <class F>
struct InvocableWith<F, void> : std::is_invocable<F&> {};
template <class F, class T>
struct CallbackResult {
  using type = std::remove_cvref_t<std::invoke_result_t<F&, T&&>>;
};
template <class F>
struct CallbackResult<F, void> {
  using type = std::remove_cvref_t<std::invoke_result_t<F&>>;
};
template <class F, class T>
concept CallbackFor = InvocableWith<F, T>::value;
// A step whose result changes the chain's type to another value type U
// (not T, not void): only the Deferred<U> it returns takes more steps, so
// discarding that return is a mistake the compiler reports ([[nodiscard]]).
// A step returning nothing ends the chain's value: that is how nearly every
// chain ends, so it stays discardable (docs/deferred.md, "Chains").
template <class U, class T>
concept ChangesToAnotherValue = !std::same_as<U, T> && !std::is_void_v<U>;
template <class F, class T>
concept CallbackToAnotherValue =
    CallbackFor<F, T> && ChangesToAnotherValue<Unwrapped<typename CallbackResult<F, T>::type>, T>;
template <class F, class T>
concept BothFor = std::is_invocable_v<F&, Outcome<T> &&>;
template <class F, class T>
concept BothToAnotherValue =
    BothFor<F, T> && ChangesToAnotherValue<Unwrapped<std::invoke_result_t<F&, Outcome<T> &&>>, T>;

template <class T>
DeferredRef& stateOf(Deferred<T>& d);

/// Runs `invoke` and puts what it produced into `s`: a value, nothing
/// (void), a Failure (an errback passing the failure on), or a Deferred to
/// chain to. An exception becomes the Failure.
template <class Invoke>
void storeResult(DeferredState& s, Invoke&& invoke) {
  using R = std::remove_cvref_t<decltype(invoke())>;
  try {
    if constexpr (isDeferred<R>) {
      R inner = invoke();
      chain(s, stateOf(inner));
    } else if constexpr (std::is_void_v<R>) {
      invoke();
      s.value.reset();
    } else if constexpr (std::is_same_v<R, Failure>) {
      Failure f = invoke();
      s.value.reset();
      s.failure = std::move(f);
    } else {
      s.value.emplace<R>(invoke());
    }
  } catch (...) {
    s.value.reset();
    s.failure = Failure::current();
  }
}
}  // namespace detail

/// Twisted's Deferred: a result (a T, or a Failure) that is not there yet,
/// with a chain of callbacks and errbacks run when it arrives. A handle:
/// copies share the chain. See the file comment and docs/deferred.md.
template <class T>
class Deferred {
  static_assert(!std::is_reference_v<T>, "Deferred<T>: T must be a value type, not a reference");
  static_assert(!std::is_same_v<T, Failure>,
                "Deferred<Failure> is not allowed: failures travel as the errback path");

 public:
  /// The type of the value this Deferred fires with (void: none).
  using value_type = T;

  /// A new, unfired Deferred.
  explicit Deferred(SourceLocation where = SourceLocation::current())
      : state_(detail::DeferredState::make(detail::typeId<T>(), where)) {}

  /// A new Deferred whose cancel() calls `canceller` first (Twisted's
  /// Deferred(canceller)). If the canceller does not fire the Deferred, it
  /// fails with CancelledError.
  explicit Deferred(UniqueFunction<void(Deferred<T>&)> canceller,
                    SourceLocation where = SourceLocation::current())
      : Deferred(where) {
    state_->canceller = [c = std::move(canceller)](detail::DeferredState& s) mutable {
      Deferred<T> self{detail::DeferredRef(&s)};
      c(self);
    };
  }

  /// Fires with `value`. @throws error::AlreadyCalledError if already fired.
  template <class V = T>
  requires(!std::is_void_v<V>) void callback(std::type_identity_t<V> value,
                                             SourceLocation where = SourceLocation::current()) {
    checkHead();
    if (!mayFire()) return;
    state_->value.template emplace<T>(std::move(value));
    detail::fire(*state_, where);
  }
  /// Fires a Deferred<void>.
  template <class V = T>
  requires(std::is_void_v<V>) void callback(SourceLocation where = SourceLocation::current()) {
    checkHead();
    if (!mayFire()) return;
    detail::fire(*state_, where);
  }

  /// Fails with `failure`. @throws error::AlreadyCalledError if already fired.
  void errback(Failure failure, SourceLocation where = SourceLocation::current()) {
    if (!mayFire()) return;
    state_->failure = std::move(failure);
    detail::fire(*state_, where);
  }
  /// Fails with the exception `e` (errback(Failure::of(e))).
  template <class E>
  requires(!std::is_same_v<std::remove_cvref_t<E>, Failure>) void errback(
      E&& e, SourceLocation where = SourceLocation::current()) {
    errback(Failure::of(std::forward<E>(e)), where);
  }

  /// Adds a callback: `f(T)` (or `f()` for void) returning U, void or
  /// `Deferred<U>`. Returns the `Deferred<U>` for the rest of the chain; when U
  /// is T this is the same Deferred, so `d.addCallback(f); d.addCallback(g);`
  /// works as in Twisted. A callback returning nothing gives Deferred<void>.
  template <class F>
  requires(detail::CallbackFor<F, T> &&
           !detail::CallbackToAnotherValue<F, T>) auto addCallback(F f) {
    return addCallbackStep<detail::Unwrapped<typename detail::CallbackResult<F, T>::type>>(
        std::move(f));
  }
  /// A callback that changes the result to another value type U: only the
  /// returned `Deferred<U>` takes further callbacks (this handle is stale), so
  /// discarding it is a compile-time warning; chain on it:
  /// `d.addCallback(f).addCallback(g)`.
  template <class F>
  requires detail::CallbackToAnotherValue<F, T>
  [[nodiscard(
      "this callback changes the Deferred's result type: add the next callbacks to the "
      "Deferred that addCallback returns (the old handle is stale)")]] auto
  addCallback(F f) {
    return addCallbackStep<detail::Unwrapped<typename detail::CallbackResult<F, T>::type>>(
        std::move(f));
  }
  /// A callback that cannot take this Deferred's result: a compile error
  /// that says so (rather than one from deep inside the type traits).
  template <class F>
  requires(!detail::CallbackFor<F, T>) auto addCallback(F) {
    static_assert(detail::CallbackFor<F, T>,
                  "addCallback: the callback cannot be called with this Deferred's result type "
                  "(take T, T&& or const T&; for Deferred<void>, take nothing)");
  }

  /// Adds an errback: `f(const Failure&)` returning T (recovers), void (for
  /// Deferred<void>), Deferred<T>, or a Failure (stays failed). Throwing
  /// also keeps the chain failed, with the new exception.
  template <class F>
  Deferred<T> addErrback(F f) {
    static_assert(std::is_invocable_v<F&, const Failure&>,
                  "addErrback: the errback must take (const Failure&)");
    if constexpr (std::is_invocable_v<F&, const Failure&>) {
      using R = std::remove_cvref_t<std::invoke_result_t<F&, const Failure&>>;
      static_assert(std::is_same_v<R, Failure> || std::is_same_v<detail::Unwrapped<R>, T>,
                    "addErrback: the errback must return the Deferred's type T (or void for "
                    "Deferred<void>), a Deferred<T>, or a Failure");
      checkTail();
      addStep([f = std::move(f)](detail::DeferredState& s) mutable {
        if (!s.failure) return;
        Failure failure = std::move(*s.failure);
        s.failure.reset();
        detail::storeResult(s, [&]() -> R { return f(failure); });
      });
    }
    return *this;
  }

  /// Adds `f(Outcome<T>)`, called with the value or the failure, returning
  /// T, void or Deferred of either: the Deferred for the rest of the chain.
  template <class F>
  requires(detail::BothFor<F, T> && !detail::BothToAnotherValue<F, T>) auto addBoth(F f) {
    return addBothStep(std::move(f));
  }
  /// addBoth with a callable that changes the result to another value type:
  /// chain on the Deferred it returns (the old handle is stale).
  template <class F>
  requires detail::BothToAnotherValue<F, T>
  [[nodiscard(
      "this callable changes the Deferred's result type: add the next callbacks to the "
      "Deferred that addBoth returns (the old handle is stale)")]] auto
  addBoth(F f) {
    return addBothStep(std::move(f));
  }
  /// A callable that cannot take Outcome<T>: a compile error that says so.
  template <class F>
  requires(!detail::BothFor<F, T>) auto addBoth(F) {
    static_assert(detail::BothFor<F, T>,
                  "addBoth: the callable must take Outcome<T> (the value or the Failure)");
  }

  /// A callback and an errback as one step: the errback does not see a
  /// failure raised by this callback (Twisted's addCallbacks). Returns the
  /// Deferred for the rest of the chain.
  template <class F, class E>
  requires(!detail::CallbackToAnotherValue<F, T>) auto addCallbacks(F f, E e) {
    return addCallbacksStep(std::move(f), std::move(e));
  }
  /// addCallbacks whose callback changes the result to another value type:
  /// chain on the Deferred it returns (the old handle is stale).
  template <class F, class E>
  requires detail::CallbackToAnotherValue<F, T>
  [[nodiscard(
      "these callbacks change the Deferred's result type: add the next callbacks to the "
      "Deferred that addCallbacks returns (the old handle is stale)")]] auto
  addCallbacks(F f, E e) {
    return addCallbacksStep(std::move(f), std::move(e));
  }

  /// Fails the Deferred with error::TimeoutError if it has not fired within
  /// `seconds` on `clock` (Twisted's addTimeout): it is cancelled, and the
  /// CancelledError that produces is turned into a TimeoutError.
  Deferred<T> addTimeout(double seconds, IReactorTime& clock) {
    checkTail();
    auto timedOut = std::make_shared<bool>(false);
    // The pending call holds the Deferred, as in Twisted (the reactor holds
    // the DelayedCall that holds it); firing cancels the call.
    DelayedCall call = clock.callLater(seconds, [s = state_, timedOut] {
      *timedOut = true;
      detail::cancel(*s);
    });
    addStep([call, timedOut, seconds](detail::DeferredState& s) mutable {
      if (call.active()) call.cancel();
      if (*timedOut && s.failure && s.failure->template check<error::CancelledError>()) {
        char detail[64];
        std::snprintf(detail, sizeof detail, "no result after %g s", seconds);
        s.failure = Failure::of(error::TimeoutError(detail));
      }
    });
    return *this;
  }

  /// Stops the chain from running until unpause(); results wait.
  void pause() { ++state_->paused; }
  /// Undoes one pause(); the last one runs the waiting result through the chain.
  void unpause() {
    if (state_->paused == 0) return;
    if (--state_->paused == 0 && state_->called) detail::runCallbacks(*state_);
  }

  /// Twisted's cancel(): an unfired Deferred calls its canceller and, unless
  /// that fired it, fails with CancelledError; one waiting on a chained
  /// Deferred cancels that one; a fired one is left alone.
  void cancel() { detail::cancel(*state_); }

  /// True once callback() or errback() has been called.
  bool called() const noexcept { return state_->called; }
  /// True while paused (pause() more often than unpause()).
  bool paused() const noexcept { return state_->paused > 0; }

  /// Handles are equal when they refer to the same chain.
  friend bool operator==(const Deferred& a, const Deferred& b) noexcept {
    return a.state_ == b.state_;
  }

  /// Internal: a handle on an existing state.
  explicit Deferred(detail::DeferredRef state) noexcept : state_(std::move(state)) {}

 private:
  template <class>
  friend class Deferred;
  friend detail::DeferredRef& detail::stateOf<T>(Deferred<T>&);

  static Outcome<T> takeOutcome(detail::DeferredState& s) {
    if (s.failure) {
      Failure failure = std::move(*s.failure);
      s.failure.reset();
      return Outcome<T>(std::move(failure));
    }
    if constexpr (std::is_void_v<T>) {
      return Outcome<T>();
    } else {
      return Outcome<T>(s.value.template take<T>());
    }
  }

  bool mayFire() {
    if (!state_->called) return true;
    if (state_->suppressAlreadyCalled) {  // the fire that a cancel() made moot
      state_->suppressAlreadyCalled = false;
      return false;
    }
    throw error::AlreadyCalledError();
  }
  void checkHead() const {
    if (state_->headType != detail::typeId<T>()) {
      throw std::logic_error(
          "callback() through a Deferred handle of the wrong type: fire the "
          "handle the Deferred was created as");
    }
  }
  void checkTail() const {
    if (state_->consumed) {
      throw std::logic_error(
          "this Deferred's result was handed to another Deferred or a "
          "co_await; add callbacks there");
    }
    if (state_->tailType != detail::typeId<T>()) {
      throw std::logic_error(
          "stale Deferred handle: the chain's result type has changed; add "
          "callbacks through the handle the last addCallback returned");
    }
  }
  void addStep(detail::DeferredState::Step step) {
    if (state_->steps.capacity() == 0) detail::DeferredState::takeStepBuffer(state_->steps);
    state_->steps.push_back(std::move(step));
    if (state_->called && state_->paused == 0) detail::runCallbacks(*state_);
  }
  template <class F, class E>
  auto addCallbacksStep(F f, E e) {
    static_assert(detail::CallbackFor<F, T>,
                  "addCallbacks: the callback cannot be called with this Deferred's result type");
    static_assert(std::is_invocable_v<E&, const Failure&>,
                  "addCallbacks: the errback must take (const Failure&)");
    if constexpr (detail::CallbackFor<F, T> && std::is_invocable_v<E&, const Failure&>) {
      using R = typename detail::CallbackResult<F, T>::type;
      using RE = std::remove_cvref_t<std::invoke_result_t<E&, const Failure&>>;
      using U = detail::Unwrapped<R>;
      static_assert(std::is_same_v<RE, Failure> || std::is_same_v<detail::Unwrapped<RE>, U>,
                    "addCallbacks: the errback must produce the callback's result type (or a "
                    "Failure)");
      checkTail();
      addStep([f = std::move(f), e = std::move(e)](detail::DeferredState& s) mutable {
        if (s.failure) {
          Failure failure = std::move(*s.failure);
          s.failure.reset();
          detail::storeResult(s, [&]() -> RE { return e(failure); });
        } else if constexpr (std::is_void_v<T>) {
          detail::storeResult(s, [&]() -> R { return f(); });
        } else {
          detail::storeResult(s, [&]() -> R { return f(s.value.template take<T>()); });
        }
      });
      return retype<U>();
    }
  }
  template <class U, class F>
  Deferred<U> addCallbackStep(F f) {
    using R = typename detail::CallbackResult<F, T>::type;
    checkTail();
    addStep([f = std::move(f)](detail::DeferredState& s) mutable {
      if (s.failure) return;
      if constexpr (std::is_void_v<T>) {
        detail::storeResult(s, [&]() -> R { return f(); });
      } else {
        detail::storeResult(s, [&]() -> R { return f(s.value.template take<T>()); });
      }
    });
    return retype<U>();
  }
  template <class F>
  auto addBothStep(F f) {
    using R = std::remove_cvref_t<std::invoke_result_t<F&, Outcome<T>&&>>;
    using U = detail::Unwrapped<R>;
    checkTail();
    addStep([f = std::move(f)](detail::DeferredState& s) mutable {
      detail::storeResult(s, [&]() -> R { return f(takeOutcome(s)); });
    });
    return retype<U>();
  }
  template <class U>
  Deferred<U> retype() {
    state_->tailType = detail::typeId<U>();
    return Deferred<U>(state_);
  }

  detail::DeferredRef state_;
};

namespace detail {
template <class T>
DeferredRef& stateOf(Deferred<T>& d) {
  return d.state_;
}
}  // namespace detail

}  // namespace twisted

#include "twisted/internet/deferred_coroutine.hpp"  // IWYU pragma: export
