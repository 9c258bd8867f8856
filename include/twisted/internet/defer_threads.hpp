// deferToThread: blocking work in the reactor's thread pool, its result
// delivered as a Deferred on the reactor thread.
#pragma once

#include <optional>
#include <type_traits>
#include <utility>

#include "twisted/internet/deferred.hpp"
#include "twisted/internet/interfaces.hpp"

namespace twisted {

/// Runs `f` in `reactor`'s thread pool; the returned Deferred fires (on the
/// reactor thread, through callFromThread) with its value, or fails with
/// what it threw. `f` must not touch Deferreds: it runs on another thread.
template <class F>
auto deferToThread(IReactorThreads& reactor, F f) {
  using U = std::remove_cvref_t<std::invoke_result_t<F&>>;
  static_assert(!detail::isDeferred<U>,
                "deferToThread: the function runs on a worker thread "
                "and must return a plain value, not a Deferred");
  Deferred<U> d;
  // The worker only moves `d` along; the Deferred's state is touched on the
  // reactor thread alone.
  reactor.callInThread([&reactor, d, f = std::move(f)]() mutable {
    std::optional<Outcome<U>> out;
    try {
      if constexpr (std::is_void_v<U>) {
        f();
        out.emplace();
      } else {
        out.emplace(f());
      }
    } catch (...) {
      out.emplace(Failure::current());
    }
    reactor.callFromThread([d = std::move(d), out = std::move(out)]() mutable {
      if (!out->succeeded()) {
        d.errback(out->failure());
      } else if constexpr (std::is_void_v<U>) {
        d.callback();
      } else {
        d.callback(std::move(*out).value());
      }
    });
  });
  return d;
}

}  // namespace twisted
