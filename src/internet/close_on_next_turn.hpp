// What every port's stopListening returns: a Deferred fired on the next
// turn of the loop with the outcome of closing (Twisted closes a port in a
// callLater(0), so that stopListening never calls back into its caller).
// Internal.
#pragma once

#include <optional>
#include <utility>

#include "twisted/internet/deferred.hpp"
#include "twisted/internet/reactor.hpp"
#include "twisted/python/failure.hpp"
#include "twisted/python/unique_function.hpp"

namespace twisted::detail {

/// Runs `close` on the next turn; the Deferred fails with the failure it
/// returns, or succeeds.
inline Deferred<void> closeOnNextTurn(Reactor& reactor,
                                      UniqueFunction<std::optional<Failure>()> close) {
  Deferred<void> done;
  reactor.callLater(0, [close = std::move(close), done]() mutable {
    if (std::optional<Failure> failed = close()) {
      done.errback(std::move(*failed));
    } else {
      done.callback();
    }
  });
  return done;
}

}  // namespace twisted::detail
