// succeed, fail, maybeDeferred, DeferredList, gatherResults, race.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "twisted/internet/deferred.hpp"

namespace twisted {

/// A Deferred already fired with `value`.
template <class T>
Deferred<T> succeed(T value) {
  Deferred<T> d;
  d.callback(std::move(value));
  return d;
}
/// A Deferred<void> that has already succeeded.
inline Deferred<void> succeed() {
  Deferred<void> d;
  d.callback();
  return d;
}

/// A Deferred already failed with `failure`.
template <class T>
Deferred<T> fail(Failure failure) {
  Deferred<T> d;
  d.errback(std::move(failure));
  return d;
}

/// Calls `f` now and gives its outcome as a Deferred: the Deferred it
/// returned, or one fired with its value, or failed with what it threw.
template <class F>
auto maybeDeferred(F&& f) {
  using R = std::remove_cvref_t<std::invoke_result_t<F&>>;
  using U = detail::Unwrapped<R>;
  try {
    if constexpr (detail::isDeferred<R>) {
      return f();
    } else if constexpr (std::is_void_v<R>) {
      f();
      return succeed();
    } else {
      return succeed<U>(f());
    }
  } catch (...) {
    return fail<U>(Failure::current());
  }
}

/// The failure of a DeferredList with fireOnOneErrback, or of
/// gatherResults: which Deferred failed first, and how.
class FirstError : public error::Error {
 public:
  /// Wraps `subFailure`, the failure of the Deferred at position `index`.
  FirstError(Failure subFailure, std::size_t index)
      : error::Error("FirstError[#" + std::to_string(index) + ", " + subFailure.brief() + "]"),
        subFailure(std::move(subFailure)),
        index(index) {}
  Failure subFailure;  ///< How the first failing Deferred failed.
  std::size_t index;   ///< The position of that Deferred in the list given.
};

/// The failure of race() when every Deferred failed.
class FailureGroup : public error::Error {
 public:
  /// Wraps the failures of all the Deferreds.
  explicit FailureGroup(std::vector<Failure> failures)
      : error::Error("every Deferred of the race failed"), failures(std::move(failures)) {}
  std::vector<Failure> failures;  ///< Each Deferred's failure, in the order they failed.
};

/// How DeferredList() treats the failures of the Deferreds it is given.
struct DeferredListOptions {
  /// Fail (with FirstError) as soon as one Deferred fails.
  bool fireOnOneErrback = false;
  /// Handle the failures of the Deferreds given: they are not reported as
  /// unhandled. Without it they stay failed in their own chains.
  bool consumeErrors = false;
};

namespace detail {
/// Logs an exception that a canceller threw while a list was being
/// cancelled ("Exception raised from user supplied canceller").
void logCancellerFailure(const Failure& failure);
/// Cancels every Deferred of `deferreds` not fired yet; one whose canceller
/// throws is logged and the others are cancelled all the same (Twisted's
/// DeferredList canceller).
template <class T>
void cancelPending(std::vector<Deferred<T>>& deferreds) {
  for (auto& d : deferreds) {
    if (d.called()) continue;
    try {
      d.cancel();
    } catch (...) {
      logCancellerFailure(Failure::current());
    }
  }
}
/// Appends a step that observes `d`'s outcome; the chain goes on as a
/// Deferred<void> (or stays failed unless `consume`).
template <class T, class F>
void observe(Deferred<T>& d, bool consume, F onOutcome) {
  DeferredRef& s = stateOf(d);
  if (s->consumed || s->tailType != typeId<T>()) {
    throw std::logic_error("DeferredList: a Deferred handle is stale or already consumed");
  }
  s->tailType = typeId<void>();
  s->steps.push_back([consume, f = std::move(onOutcome)](DeferredState& st) mutable {
    if (st.failure) {
      Failure failure = *st.failure;
      if (consume) st.failure.reset();
      f(Outcome<T>(std::move(failure)));
    } else if constexpr (std::is_void_v<T>) {
      f(Outcome<T>());
    } else {
      f(Outcome<T>(st.value.template take<T>()));
    }
  });
  if (s->called && s->paused == 0) runCallbacks(*s);
}
}  // namespace detail

/// Waits for every Deferred and fires with their outcomes, in the order
/// given (Twisted's DeferredList; each Outcome holds the value or failure).
/// cancel() on the result cancels the Deferreds not yet fired.
template <class T>
Deferred<std::vector<Outcome<T>>> DeferredList(std::vector<Deferred<T>> deferreds,
                                               DeferredListOptions options = {}) {
  struct State {
    std::vector<std::optional<Outcome<T>>> results;
    std::size_t remaining;
    Deferred<std::vector<Outcome<T>>> out;
  };
  auto st = std::make_shared<State>();
  // Cancelling the list cancels every Deferred still running (Twisted's
  // DeferredList canceller); the list then fires with their outcomes.
  st->out = Deferred<std::vector<Outcome<T>>>(
      [inputs = deferreds](Deferred<std::vector<Outcome<T>>>&) mutable {
        detail::cancelPending(inputs);
      });
  st->results.resize(deferreds.size());
  st->remaining = deferreds.size();
  auto finish = [](State& s) {
    std::vector<Outcome<T>> all;
    all.reserve(s.results.size());
    for (auto& r : s.results) all.push_back(std::move(*r));
    s.out.callback(std::move(all));
  };
  if (deferreds.empty()) finish(*st);
  for (std::size_t i = 0; i < deferreds.size(); ++i) {
    detail::observe(deferreds[i], options.consumeErrors, [st, i, options, finish](Outcome<T> o) {
      if (st->out.called()) return;
      if (!o.succeeded() && options.fireOnOneErrback) {
        st->out.errback(Failure::of(FirstError(o.failure(), i)));
        return;
      }
      st->results[i].emplace(std::move(o));
      if (--st->remaining == 0) finish(*st);
    });
  }
  return st->out;
}

/// Fires with every value, in order, or fails with FirstError as soon as
/// one fails (Twisted's gatherResults).
template <class T>
requires(!std::is_void_v<T>) Deferred<std::vector<T>> gatherResults(
    std::vector<Deferred<T>> deferreds, bool consumeErrors = false) {
  return DeferredList(std::move(deferreds),
                      {.fireOnOneErrback = true, .consumeErrors = consumeErrors})
      .addCallback([](std::vector<Outcome<T>> outcomes) {
        std::vector<T> values;
        values.reserve(outcomes.size());
        for (auto& o : outcomes) values.push_back(std::move(o).value());
        return values;
      });
}
/// gatherResults of Deferred<void>s: fires (with nothing) when all have
/// succeeded, or fails with FirstError as soon as one fails.
inline Deferred<void> gatherResults(std::vector<Deferred<void>> deferreds,
                                    bool consumeErrors = false) {
  return DeferredList(std::move(deferreds),
                      {.fireOnOneErrback = true, .consumeErrors = consumeErrors})
      .addCallback([](std::vector<Outcome<void>>) {});
}

namespace detail {
/// The first success among `deferreds`, as (index, value); `cancelOthers`
/// cancels the rest once one wins. Fails with FailureGroup if all fail.
template <class T>
Deferred<std::pair<std::size_t, T>> firstSuccess(std::vector<Deferred<T>> deferreds,
                                                 bool cancelOthers, bool consumeErrors) {
  struct State {
    std::vector<Deferred<T>> all;
    std::vector<Failure> failures;
    std::size_t remaining;
    bool won = false;
  };
  auto st = std::make_shared<State>();
  st->all = deferreds;
  st->remaining = deferreds.size();
  // A copy: an input whose canceller calls back wins, and the winner takes
  // `st->all` away while the loop is still walking it.
  Deferred<std::pair<std::size_t, T>> out([st](auto&) {
    std::vector<Deferred<T>> pending = st->all;
    cancelPending(pending);
  });
  if (deferreds.empty()) out.errback(FailureGroup({}));
  for (std::size_t i = 0; i < deferreds.size(); ++i) {
    observe(deferreds[i], consumeErrors, [st, i, out, cancelOthers](Outcome<T> o) mutable {
      --st->remaining;
      if (st->won) return;
      if (o.succeeded()) {
        st->won = true;
        std::vector<Deferred<T>> others = std::move(st->all);
        st->all.clear();
        if (!out.called()) out.callback(std::make_pair(i, std::move(o).value()));
        if (cancelOthers) {
          for (std::size_t j = 0; j < others.size(); ++j) {
            if (j != i && !others[j].called()) others[j].cancel();
          }
        }
        return;
      }
      st->failures.push_back(o.failure());
      if (st->remaining == 0 && !out.called()) out.errback(FailureGroup(std::move(st->failures)));
    });
  }
  return out;
}
}  // namespace detail

/// Tag for DeferredList's fireOnOneCallback form.
struct FireOnOneCallback {};
/// Pass as DeferredList's second argument for the fireOnOneCallback form.
inline constexpr FireOnOneCallback fireOnOneCallback{};

/// Twisted's DeferredList(ds, fireOnOneCallback=True): fires as soon as one
/// Deferred succeeds, with (index, value) (Twisted gives (result, index));
/// the others go on. If none succeeds it fails with FailureGroup (where
/// Twisted would fire with the list of failures). cancel() cancels those
/// still running.
template <class T>
requires(!std::is_void_v<T>) Deferred<std::pair<std::size_t, T>> DeferredList(
    std::vector<Deferred<T>> deferreds, FireOnOneCallback, bool consumeErrors = false) {
  return detail::firstSuccess(std::move(deferreds), /*cancelOthers=*/false, consumeErrors);
}

/// Fires with (index, value) of the first Deferred to succeed and cancels
/// the others (Twisted's race). Fails with FailureGroup if all of them fail.
template <class T>
requires(!std::is_void_v<T>) Deferred<std::pair<std::size_t, T>> race(
    std::vector<Deferred<T>> deferreds) {
  return detail::firstSuccess(std::move(deferreds), /*cancelOthers=*/true, /*consumeErrors=*/true);
}

}  // namespace twisted
